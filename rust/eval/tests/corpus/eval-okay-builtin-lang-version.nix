[ builtins.langVersion (builtins.isString builtins.nixVersion) builtins.storeDir (builtins.isString builtins.currentSystem) ]
