builtins.split "(x)?(y)?" "ab"
