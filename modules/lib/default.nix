# nixspot's module-system library: nixpkgs' lib API (the parts modules use), written
# from scratch for Nix 2.8 builtins only.
let
  trivial = import ./trivial.nix { };
  lists = import ./lists.nix { };
  strings = import ./strings.nix { inherit lists; };
  attrsets = import ./attrsets.nix { inherit lists; };
  options = import ./options.nix lib;
  types = import ./types.nix lib;
  modules = import ./modules.nix lib;
  generators = import ./generators.nix lib;
  lib = trivial // lists // strings // attrsets // options // modules // generators // {
    inherit trivial lists strings attrsets options types modules generators;
    # nixpkgs exports these type constructors at the top level too.
    inherit (types) mkOptionType isType;
    # A module declaring `assertions` and `warnings`.
    assertionsModule = ./assertions.nix;
    # Returns `value` if every assertion holds (tracing the warnings), else throws one
    # error listing every failed assertion's message.
    checkAssertions = config: value:
      let failed = builtins.filter (a: !a.assertion) config.assertions; in
      if failed != [ ] then
        throw "Failed assertions:\n${builtins.concatStringsSep "\n" (map (a: "- ${a.message}") failed)}"
      else lists.foldr (w: v: builtins.trace "warning: ${w}" v) value config.warnings;
  };
in
lib
