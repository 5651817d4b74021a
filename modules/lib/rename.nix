# Modules that keep old option paths working (nixpkgs' mkRenamedOptionModule family),
# with nixpkgs' names, warnings and errors. The warnings go to the `warnings` option when
# one is declared (as `lib.assertionsModule` does), the errors to `assertions`.
lib:
let
  inherit (lib) attrsets types;
  inherit (lib.options) showOption;
  inherit (lib.modules) mkIf mkMerge mkAliasAndWrapDefsWithPriority mkAliasAndWrapDefinitions;
in
rec {
  # `from` was removed: defining it fails an assertion, reading it throws.
  mkRemovedOptionModule = optionName: replacementInstructions:
    { options, ... }: {
      options = attrsets.setAttrByPath optionName (lib.options.mkOption {
        visible = false;
        apply = x: throw "The option `${showOption optionName}' can no longer be used since it's been removed. ${replacementInstructions}";
      });
      config.assertions =
        let opt = attrsets.getAttrFromPath optionName options; in
        [{
          assertion = !opt.isDefined;
          message = ''
            The option definition `${showOption optionName}' in ${lib.options.showFiles opt.files} no longer has any effect; please remove it.
            ${replacementInstructions}
          '';
        }];
    };

  # `from` is now `to`: definitions of `from` become definitions of `to` (with their
  # priority) and a warning; reading `from` gives `to`.
  mkRenamedOptionModule = from: to: doRename {
    inherit from to;
    visible = false;
    warn = true;
    use = builtins.trace "Obsolete option `${showOption from}' is used. It was renamed to `${showOption to}'.";
  };

  # nixpkgs' release-aware variant; nixspot has no release, so it always warns.
  mkRenamedOptionModuleWith = { sinceRelease, from, to }: mkRenamedOptionModule from to;

  # `from` is another name for `to`, without a warning, and is documented.
  mkAliasOptionModule = from: to: doRename {
    inherit from to;
    visible = true;
    warn = false;
    use = x: x;
  };
  mkAliasOptionModuleMD = mkAliasOptionModule;

  # `from` changed type: `changeFn config` computes `to` from the old definitions.
  mkChangedOptionModule = from: to: changeFn: mkMergedOptionModule [ from ] to changeFn;

  # Several old options (`from`, a list of paths) are now `to`, computed by
  # `mergeFn config` when any of them is defined.
  mkMergedOptionModule = from: to: mergeFn:
    { config, options, ... }:
    let unset = "_mkMergedOptionModule"; in
    {
      options = builtins.foldl' attrsets.recursiveUpdate { }
        (map (path: attrsets.setAttrByPath path (lib.options.mkOption { visible = false; default = unset; })) from);
      config = {
        warnings = builtins.filter (x: x != "") (map
          (f:
            let
              val = attrsets.getAttrFromPath f config;
              opt = attrsets.getAttrFromPath f options;
            in
            if val != unset then
              "The option `${showOption f}' defined in ${lib.options.showFiles opt.files} has been changed to `${showOption to}' that has a different type. Please read `${showOption to}' documentation and update your configuration accordingly."
            else "")
          from);
      } // attrsets.setAttrByPath to (mkMerge
        (if builtins.any (f: attrsets.getAttrFromPath f config != unset) from then [ (mergeFn config) ] else [ ]));
    };

  # The module behind the renaming helpers (nixpkgs' `doRename`).
  doRename = { from, to, visible, warn, use, withPriority ? true, condition ? true }:
    { config, options, ... }:
    let
      fromOpt = attrsets.getAttrFromPath from options;
      toOf = attrsets.attrByPath to (throw "Renaming error: option `${showOption to}' does not exist.");
      toType = (attrsets.attrByPath to { } options).type or (types.submodule { });
    in
    {
      options = attrsets.setAttrByPath from (lib.options.mkOption {
        inherit visible;
        description = "Alias of `${showOption to}`.";
        apply = x: use (toOf config);
        type = toType;
      });
      config = mkIf condition (mkMerge [
        (if options ? warnings then {
          warnings = if warn && fromOpt.isDefined
            then [ "The option `${showOption from}' defined in ${lib.options.showFiles fromOpt.files} has been renamed to `${showOption to}'." ]
            else [ ];
        } else { })
        (if withPriority
         then mkAliasAndWrapDefsWithPriority (attrsets.setAttrByPath to) fromOpt
         else mkAliasAndWrapDefinitions (attrsets.setAttrByPath to) fromOpt)
      ]);
    };
}
