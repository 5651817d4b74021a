let m = import ./lib/modules.nix; in (m.evalModules { modules = [ { options.port = m.mkOption { type = m.types.int; }; } { config.port = "eighty"; } ]; }).config
