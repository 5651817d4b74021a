# nlohmann::json (Nix's JSON parser) accepts only well-formed UTF-8 in strings.
builtins.fromJSON (builtins.toJSON (builtins.substring 0 1 "é"))
