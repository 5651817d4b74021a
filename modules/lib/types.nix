# Option types: each is { name, description, check, merge, getSubOptions, getSubModules,
# nestedTypes, typeMerge }, with the check and merge rules of nixpkgs' lib.types.
lib:
let
  inherit (lib) lists strings attrsets options modules;
  inherit (options) mergeEqualOption mergeOneOption showOption showDefs getValues;

  isType = t: x: builtins.isAttrs x && (x._type or "") == t;

  mkOptionType =
    { name
    , description ? name
    , check ? (x: true)
    , merge ? mergeDefaultOption
    , getSubOptions ? (prefix: { })
    , getSubModules ? null
    , substSubModules ? null
    , nestedTypes ? { }
    , typeMerge ? null
    , extra ? { }
    }:
    let
      self = {
        _type = "option-type";
        inherit name description check merge getSubOptions getSubModules nestedTypes;
        # Types without submodules stay as they are.
        substSubModules = if substSubModules != null then substSubModules else m: self;
        # Plain types merge with themselves only; compound types override this.
        typeMerge =
          if typeMerge != null then typeMerge
          else other: if (other.name or null) == name && nestedTypes == { } && (other.description or null) == description then self else null;
      } // extra;
    in
    self;

  # nixpkgs' mergeDefaultOption, used by `unspecified`.
  mergeDefaultOption = loc: defs:
    let values = getValues defs; in
    if builtins.length values == 1 then builtins.head values
    else if builtins.all builtins.isFunction values then x: mergeDefaultOption loc (map (d: d // { value = d.value x; }) defs)
    else if builtins.all builtins.isList values then builtins.concatLists values
    else if builtins.all builtins.isAttrs values then builtins.foldl' (a: b: a // b) { } values
    else if builtins.all builtins.isBool values then builtins.any (x: x) values
    else if builtins.all builtins.isString values then builtins.concatStringsSep "" values
    else throw "Cannot merge definitions of `${showOption loc}'. Definition values:\n${showDefs defs}";

  showEnumValue = v:
    if builtins.isString v then builtins.toJSON v
    else if builtins.isBool v then (if v then "true" else "false")
    else builtins.toString v;

  # ints.s8 and friends: `range` values centred on 0.
  signed = bit: half: (between (0 - half) (half - 1)) // {
    name = "s${toString bit}";
    description = "${toString bit} bit signed integer; between ${toString (0 - half)} and ${toString (half - 1)} (both inclusive)";
  };

  between = lo: hi: mkOptionType {
    name = "intBetween";
    description = "integer between ${toString lo} and ${toString hi} (both inclusive)";
    check = x: builtins.isInt x && x >= lo && x <= hi;
    merge = mergeEqualOption;
  };

  # A definition of a submodule-typed option is itself a module (a function or path),
  # or, for `submodule`, an attribute set holding only config.
  defToModule = shorthandOnlyDefinesConfig: def:
    if shorthandOnlyDefinesConfig && builtins.isAttrs def.value
    then { _file = def.file; config = def.value; }
    else { _file = def.file; imports = [ def.value ]; };
in
rec {
  inherit mkOptionType isType mergeDefaultOption;

  # nixpkgs' addCheck: `t` that also requires `check'`.
  addCheck = t: check': t // { check = x: t.check x && check' x; };
  isOptionType = isType "option-type";

  unspecified = mkOptionType { name = "unspecified"; description = "unspecified value"; };

  raw = mkOptionType {
    name = "raw";
    description = "raw value";
    merge = mergeOneOption;
  };

  anything = mkOptionType {
    name = "anything";
    description = "anything";
    merge = loc: defs:
      let
        kind = v: if builtins.isAttrs v && (v ? outPath || (v.type or null) == "derivation") then "package" else builtins.typeOf v;
        first = kind (builtins.head defs).value;
        common = builtins.foldl'
          (k: def:
            if kind def.value == k then k
            else throw "The option `${showOption loc}' has conflicting option types in ${options.showFiles (map (d: d.file) defs)}")
          first
          defs;
      in
      if common == "set" then (attrsOf anything).merge loc defs
      else if common == "package" then mergeOneOption loc defs
      else if common == "lambda" then
        x: anything.merge (loc ++ [ "<function body>" ]) (map (d: d // { value = d.value x; }) defs)
      else mergeEqualOption loc defs;
  };

  bool = mkOptionType {
    name = "bool";
    description = "boolean";
    check = builtins.isBool;
    merge = mergeEqualOption;
  };

  # nixpkgs: a type as a value (for `_module.freeformType`); several definitions merge
  # as the same option declared with each of them would.
  optionType = mkOptionType {
    name = "optionType";
    description = "optionType";
    check = isOptionType;
    merge = loc: defs:
      (builtins.foldl'
        (acc: d:
          let m = acc.type.typeMerge d.value; in
          if m == null then
            throw "The option `${showOption loc}' has conflicting type definitions (`${acc.type.description}' and `${d.value.description}'), in ${options.showFiles [ acc.file d.file ]}."
          else { type = m; inherit (d) file; })
        { type = (builtins.head defs).value; inherit (builtins.head defs) file; }
        (builtins.tail defs)).type;
  };

  # nixpkgs >= 24.11: definitions merge with `or` instead of having to agree.
  boolByOr = mkOptionType {
    name = "boolByOr";
    description = "boolean (merged using or)";
    check = builtins.isBool;
    merge = loc: defs: builtins.any (d: d.value) defs;
  };

  int = mkOptionType {
    name = "int";
    description = "signed integer";
    check = builtins.isInt;
    merge = mergeEqualOption;
  };

  float = mkOptionType {
    name = "float";
    description = "floating point number";
    check = builtins.isFloat;
    merge = mergeEqualOption;
  };

  number = either int float;

  ints = {
    inherit between;
    unsigned = mkOptionType {
      name = "unsignedInt";
      description = "unsigned integer, meaning >=0";
      check = x: builtins.isInt x && x >= 0;
      merge = mergeEqualOption;
    };
    positive = mkOptionType {
      name = "positiveInt";
      description = "positive integer, meaning >0";
      check = x: builtins.isInt x && x > 0;
      merge = mergeEqualOption;
    };
    u8 = (between 0 255) // { name = "u8"; description = "8 bit unsigned integer; between 0 and 255 (both inclusive)"; };
    u16 = (between 0 65535) // { name = "u16"; description = "16 bit unsigned integer; between 0 and 65535 (both inclusive)"; };
    u32 = (between 0 4294967295) // { name = "u32"; description = "32 bit unsigned integer; between 0 and 4294967295 (both inclusive)"; };
    s8 = signed 8 128;
    s16 = signed 16 32768;
    s32 = signed 32 2147483648;
  };

  # nixpkgs' numbers: ints or floats with bounds.
  numbers = {
    between = lo: hi:
      if lo > hi then throw "numbers.between: lowest must be smaller than highest"
      else addCheck number (x: x >= lo && x <= hi) // {
        name = "numberBetween";
        description = "integer or floating point number between ${toString lo} and ${toString hi} (both inclusive)";
      };
    nonnegative = addCheck number (x: x >= 0) // {
      name = "numberNonnegative";
      description = "nonnegative integer or floating point number, meaning >=0";
    };
    positive = addCheck number (x: x > 0) // {
      name = "numberPositive";
      description = "positive integer or floating point number, meaning >0";
    };
  };

  port = ints.u16;

  str = mkOptionType {
    name = "str";
    description = "string";
    check = builtins.isString;
    merge = mergeEqualOption;
  };

  nonEmptyStr = mkOptionType {
    name = "nonEmptyStr";
    description = "non-empty string";
    check = x: builtins.isString x && builtins.match "[[:space:]]*" x == null;
    merge = mergeEqualOption;
  };

  separatedString = sep: mkOptionType {
    name = "separatedString";
    description = if sep == "" then "Concatenated string" else "strings concatenated with ${builtins.toJSON sep}";
    check = builtins.isString;
    merge = loc: defs: builtins.concatStringsSep sep (getValues defs);
  };

  lines = separatedString "\n";
  commas = separatedString ",";
  envVar = separatedString ":";

  # nixpkgs: one line, optionally ending with a newline.
  singleLineStr = strMatching "[^\n\r]*\n?" // {
    name = "singleLineStr";
    description = "(optionally newline-terminated) single-line string";
  };

  # nixpkgs: a field of /etc/passwd: no colon, no newline.
  passwdEntry = entryType: addCheck entryType (x: !(strings.hasInfix ":" x || strings.hasInfix "\n" x)) // {
    name = "passwdEntry ${entryType.name}";
    description = "${entryType.description}, not containing newlines or colons";
  };

  strMatching = pattern: mkOptionType {
    name = "strMatching ${builtins.toJSON pattern}";
    description = "string matching the pattern ${pattern}";
    check = x: builtins.isString x && builtins.match pattern x != null;
    merge = mergeEqualOption;
  };

  path = mkOptionType {
    name = "path";
    description = "path";
    check = x: builtins.isPath x || (builtins.isString x && strings.hasPrefix "/" x);
    merge = mergeEqualOption;
  };

  # nixpkgs: a path (or string) under the Nix store.
  pathInStore = mkOptionType {
    name = "pathInStore";
    description = "path in the Nix store";
    check = x:
      (builtins.isPath x || builtins.isString x || (builtins.isAttrs x && x ? outPath))
      && builtins.match "${builtins.storeDir}/[^.].*" (toString x) != null;
    merge = mergeEqualOption;
  };

  package = mkOptionType {
    name = "package";
    description = "package";
    check = x: attrsets.isDerivation x || builtins.isPath x || (builtins.isString x && strings.hasPrefix "/" x);
    merge = mergeOneOption;
  };

  attrs = mkOptionType {
    name = "attrs";
    description = "attribute set";
    check = builtins.isAttrs;
    merge = loc: builtins.foldl' (res: def: res // def.value) { };
  };

  enum = values: mkOptionType {
    name = "enum";
    description =
      if values == [ ] then "impossible (empty enum)"
      else if builtins.length values == 1 then "value ${showEnumValue (builtins.head values)} (singular enum)"
      else "one of ${builtins.concatStringsSep ", " (map showEnumValue values)}";
    check = x: builtins.elem x values;
    merge = mergeEqualOption;
    # nixpkgs: two declarations of an enum option allow the values of both.
    typeMerge = other:
      if (other.name or null) != "enum" then null
      else enum (lists.unique (values ++ other.functorValues));
    extra = { functorValues = values; };
  };

  listOf = elemType: mkOptionType {
    name = "listOf";
    description = "list of ${elemType.description}";
    check = builtins.isList;
    merge = loc: defs:
      map (x: x.value) (builtins.filter (x: x ? value) (builtins.concatLists (lists.imap1
        (n: def: lists.imap1
          (m: v:
            (modules.mergeDefinitions
              (loc ++ [ "[definition ${toString n}-entry ${toString m}]" ])
              elemType
              [{ inherit (def) file; value = v; }]).optionalValue)
          def.value)
        defs)));
    getSubOptions = prefix: elemType.getSubOptions (prefix ++ [ "*" ]);
    getSubModules = elemType.getSubModules;
    substSubModules = m: listOf (elemType.substSubModules m);
    nestedTypes = { inherit elemType; };
    typeMerge = other:
      if (other.name or null) != "listOf" then null
      else let m = elemType.typeMerge other.nestedTypes.elemType; in if m == null then null else listOf m;
  };

  nonEmptyListOf = elemType:
    let list = listOf elemType; in
    list // {
      description = "non-empty ${list.description}";
      check = x: builtins.isList x && x != [ ];
    };

  attrsOf = elemType: attrsOfWith false elemType;
  lazyAttrsOf = elemType: attrsOfWith true elemType;
  # nixpkgs >= 24.11: attrsOf and lazyAttrsOf by their arguments.
  attrsWith = { elemType, lazy ? false, placeholder ? "name" }: attrsOfWith lazy elemType;

  attrsOfWith = lazy: elemType: mkOptionType {
    name = if lazy then "lazyAttrsOf" else "attrsOf";
    description = (if lazy then "lazy attribute set of " else "attribute set of ") + elemType.description;
    check = builtins.isAttrs;
    merge = loc: defs:
      let
        pushed = builtins.concatMap
          (def: map (v: builtins.mapAttrs (n: x: { inherit (def) file; value = x; }) v)
            (modules.pushDownProperties def.file loc def.value))
          defs;
        merged = builtins.zipAttrsWith (name: ds: modules.mergeDefinitions (loc ++ [ name ]) elemType ds) pushed;
      in
      if lazy then builtins.mapAttrs (n: r: r.mergedValue) merged
      else builtins.mapAttrs (n: r: r.mergedValue) (attrsets.filterAttrs (n: r: r.isDefined) merged);
    getSubOptions = prefix: elemType.getSubOptions (prefix ++ [ "<name>" ]);
    getSubModules = elemType.getSubModules;
    substSubModules = m: attrsOfWith lazy (elemType.substSubModules m);
    nestedTypes = { inherit elemType; };
    typeMerge = other:
      if (other.name or null) != (if lazy then "lazyAttrsOf" else "attrsOf") then null
      else let m = elemType.typeMerge other.nestedTypes.elemType; in if m == null then null else attrsOfWith lazy m;
  };

  # One definition only; that one is merged by `elemType` (so submodules still work).
  uniq = elemType: mkOptionType {
    name = "uniq";
    inherit (elemType) description check getSubOptions getSubModules;
    merge = loc: defs: if builtins.length defs == 1 then elemType.merge loc defs else mergeOneOption loc defs;
    substSubModules = m: uniq (elemType.substSubModules m);
    nestedTypes = { inherit elemType; };
  };
  # The less common types live in their own file, which is only read when a module uses
  # one of them (parsing is most of the cost of loading this library).
  inherit (import ./types-extra.nix lib)
    unique attrTag attrTagWith functionTo coercedTo deferredModule deferredModuleWith;

  nullOr = elemType: mkOptionType {
    name = "nullOr";
    description = "null or ${elemType.description}";
    check = x: x == null || elemType.check x;
    merge = loc: defs:
      let nulls = builtins.filter (d: d.value == null) defs; in
      if builtins.length nulls == builtins.length defs then null
      else if nulls != [ ] then
        throw "The option `${showOption loc}' is defined both null and not null, in ${options.showFiles (map (d: d.file) defs)}. Definition values:\n${showDefs defs}"
      else elemType.merge loc defs;
    getSubOptions = elemType.getSubOptions;
    getSubModules = elemType.getSubModules;
    substSubModules = m: nullOr (elemType.substSubModules m);
    nestedTypes = { inherit elemType; };
    typeMerge = other:
      if (other.name or null) != "nullOr" then null
      else let m = elemType.typeMerge other.nestedTypes.elemType; in if m == null then null else nullOr m;
  };

  either = t1: t2: mkOptionType {
    name = "either";
    description = "${t1.description} or ${t2.description}";
    check = x: t1.check x || t2.check x;
    merge = loc: defs:
      if builtins.all (d: t1.check d.value) defs then t1.merge loc defs
      else if builtins.all (d: t2.check d.value) defs then t2.merge loc defs
      else mergeOneOption loc defs;
    nestedTypes = { left = t1; right = t2; };
    # nixpkgs: two `either` declarations merge side by side.
    typeMerge = other:
      if (other.name or null) != "either" then null
      else
        let
          l = t1.typeMerge other.nestedTypes.left;
          r = t2.typeMerge other.nestedTypes.right;
        in
        if l == null || r == null then null else either l r;
  };

  oneOf = ts:
    if ts == [ ] then throw "types.oneOf needs at least one type"
    else builtins.foldl' either (builtins.head ts) (builtins.tail ts);

  submodule = m: submoduleWith {
    modules = lists.toList m;
    shorthandOnlyDefinesConfig = true;
  };

  submoduleWith =
    { modules
    , specialArgs ? { }
    , shorthandOnlyDefinesConfig ? false
    , description ? null
    , class ? null
    }:
    let
      evalWith = loc: defModules:
        lib.modules.evalModules {
          modules = modules ++ defModules;
          specialArgs = { name = lists.last loc; } // specialArgs;
          prefix = loc;
          inherit class;
        };
    in
    mkOptionType {
      name = "submodule";
      description = if description != null then description else "submodule";
      check = x: builtins.isAttrs x || builtins.isFunction x || builtins.isPath x;
      merge = loc: defs: (evalWith loc (map (defToModule shorthandOnlyDefinesConfig) defs)).config;
      getSubOptions = prefix: builtins.removeAttrs (evalWith prefix [ ]).options [ "_module" ];
      getSubModules = modules;
      substSubModules = m: submoduleWith { modules = m; inherit specialArgs shorthandOnlyDefinesConfig description class; };
      typeMerge = other:
        if (other.name or null) != "submodule" || other.getSubModules == null then null
        else submoduleWith {
          modules = modules ++ other.getSubModules;
          specialArgs = specialArgs // (other.submoduleSpecialArgs or { });
          shorthandOnlyDefinesConfig = shorthandOnlyDefinesConfig && (other.shorthandOnlyDefinesConfig or true);
          inherit description class;
        };
      extra = { submoduleSpecialArgs = specialArgs; inherit shorthandOnlyDefinesConfig; };
    };
}
