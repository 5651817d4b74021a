# The less common option types of nixpkgs' lib.types (exported by types.nix), with
# nixpkgs' check and merge rules.
lib:
let
  inherit (lib) options modules;
  inherit (lib.types) mkOptionType path;
  inherit (options) showOption showDefs;
in
rec {
  # nixpkgs' unique: like uniq, with the module author's `message` in the error.
  unique = { message }: elemType: mkOptionType {
    name = "unique";
    inherit (elemType) description check getSubOptions getSubModules;
    merge = loc: defs:
      if builtins.length defs == 1 then elemType.merge loc defs
      else throw "The option `${showOption loc}' is defined multiple times while it's expected to be unique.\n${message}\nDefinition values:\n${showDefs defs}\nUse `lib.mkForce value` or `lib.mkDefault value` to change the priority on any of these definitions.";
    substSubModules = m: unique { inherit message; } (elemType.substSubModules m);
    nestedTypes = { inherit elemType; };
  };

  # nixpkgs: an attribute set with exactly one attribute, whose name (the tag) picks
  # the option (`tags.<name>`, made by mkOption) that types and merges its value.
  attrTag = tags: attrTagWith { inherit tags; };
  attrTagWith = { tags }:
    let choices = builtins.concatStringsSep ", " (map options.showOptionPart (builtins.attrNames tags)); in
    mkOptionType {
      name = "attrTag";
      description = "attribute-tagged union";
      check = v: builtins.isAttrs v && builtins.length (builtins.attrNames v) == 1 && tags ? ${builtins.head (builtins.attrNames v)};
      merge = loc: defs:
        let
          tagOf = d: builtins.head (builtins.attrNames d.value);
          choice = tagOf (builtins.head defs);
          inner = map
            (d:
              if tagOf d != choice then
                throw "The option `${showOption loc}` is defined both as `${choice}` and `${tagOf d}`, in ${options.showFiles (map (x: x.file) defs)}."
              else { inherit (d) file; value = d.value.${choice}; })
            defs;
          opt = tags.${choice};
        in
        if tags ? ${choice} then {
          ${choice} = (modules.evalOptionValue (loc ++ [ choice ])
            (opt // { declarations = opt.declarations or [ (builtins.head defs).file ]; }) inner).value;
        }
        else throw "The option `${showOption loc}` is defined as ${options.showOptionPart choice}, but ${options.showOptionPart choice} is not among the valid choices (${choices}). Value ${choice} was defined in ${options.showFiles (map (x: x.file) defs)}.";
      getSubOptions = prefix: builtins.mapAttrs (n: o: o // { loc = prefix ++ [ n ]; declarations = o.declarations or [ ]; }) tags;
      nestedTypes = tags;
      typeMerge = other: null;
    };

  # nixpkgs: a function whose results (for the same argument) are merged by `elemType`.
  functionTo = elemType: mkOptionType {
    name = "functionTo";
    description = "function that evaluates to a(n) ${elemType.description}";
    check = builtins.isFunction;
    merge = loc: defs: arg:
      (modules.mergeDefinitions (loc ++ [ "<function body>" ]) elemType
        (map (d: { inherit (d) file; value = d.value arg; }) defs)).mergedValue;
    getSubOptions = prefix: elemType.getSubOptions (prefix ++ [ "<function body>" ]);
    getSubModules = elemType.getSubModules;
    substSubModules = m: functionTo (elemType.substSubModules m);
    nestedTypes = { inherit elemType; };
  };

  # nixpkgs: values of `coercedType` are turned into `finalType` by `coerceFunc`.
  coercedTo = coercedType: coerceFunc: finalType: mkOptionType {
    name = "coercedTo";
    description = "${finalType.description} or ${coercedType.description} convertible to it";
    check = x: (coercedType.check x && finalType.check (coerceFunc x)) || finalType.check x;
    merge = loc: defs:
      finalType.merge loc (map
        (d: d // { value = if finalType.check d.value then d.value else coerceFunc d.value; })
        defs);
    getSubOptions = finalType.getSubOptions;
    getSubModules = finalType.getSubModules;
    substSubModules = m: coercedTo coercedType coerceFunc (finalType.substSubModules m);
    nestedTypes = { inherit coercedType finalType; };
  };

  # nixpkgs: a module, kept unevaluated; the definitions merge into one module that
  # imports each of them (with its file), for use in another evaluation.
  deferredModule = deferredModuleWith { };
  deferredModuleWith = { staticModules ? [ ] }: mkOptionType {
    name = "deferredModule";
    description = "module";
    check = x: builtins.isAttrs x || builtins.isFunction x || path.check x;
    merge = loc: defs: {
      imports = staticModules
        ++ map (d: modules.setDefaultModuleLocation "${d.file}, via option ${showOption loc}" d.value) defs;
    };
    getSubModules = null;
    typeMerge = other:
      if (other.name or null) != "deferredModule" then null
      else deferredModuleWith { staticModules = staticModules ++ (other.staticModules or [ ]); };
    extra = { inherit staticModules; };
  };
}
