# The module system: evalModules and the definition properties (mkIf, mkMerge,
# mkOverride, mkOrder). Same API and merge semantics as nixpkgs' lib.modules, written
# here from scratch.
lib:
let
  inherit (lib) lists strings attrsets options types;
  inherit (options) showOption showValue showDefs isOption;

  # Top-level attributes a structured module (one with `config` or `options`) may have.
  structuredKeys = [ "_file" "key" "imports" "options" "config" "meta" "disabledModules" "_class" "freeformType" ];
  shorthandIgnored = [ "_file" "key" "imports" "meta" "disabledModules" "_class" "freeformType" ];
in
rec {
  mkIf = condition: content: { _type = "if"; inherit condition content; };
  mkMerge = contents: { _type = "merge"; inherit contents; };
  mkOverride = priority: content: { _type = "override"; inherit priority content; };
  mkOptionDefault = mkOverride 1500;
  mkDefault = mkOverride 1000;
  mkImageMediaOverride = mkOverride 60;
  mkForce = mkOverride 50;
  mkVMOverride = mkOverride 10;
  defaultOverridePriority = 100;
  mkOrder = priority: content: { _type = "order"; inherit priority content; };
  mkBefore = mkOrder 500;
  mkAfter = mkOrder 1500;
  defaultOrderPriority = 1000;
  # nixpkgs >= 25.05: a definition that carries its own file (shown in errors and in
  # `definitionsWithLocations`) instead of the defining module's.
  mkDefinition = { file, value }@args: args // { _type = "definition"; };

  # Aliases of definitions (nixpkgs' names): the definitions of `option` (an evaluated
  # option), wrapped by `wrap`, only when it is defined.
  mkAliasIfDef = option: mkIf (isOption option && option.isDefined);
  mkAliasAndWrapDefinitions = wrap: option: mkAliasIfDef option (wrap (mkMerge option.definitions));
  mkAliasDefinitions = mkAliasAndWrapDefinitions (x: x);
  # Same, keeping the priority of the definitions that won.
  mkAliasAndWrapDefsWithPriority = wrap: option:
    mkAliasIfDef option (wrap (mkMerge (map (mkOverride (option.highestPrio or defaultOverridePriority)) option.definitions)));
  # A module for a file location: errors name `file` for definitions of `m`.
  setDefaultModuleLocation = file: m: { _file = file; imports = [ m ]; };

  # Turns a module (path, function or attribute set) into
  # { _file, key, imports, options, config }.
  loadModule = args: class: file: key: m:
    if builtins.isPath m || (builtins.isString m && strings.hasPrefix "/" m) then
      let path = toString m; in
      normalizeModule args class path path (import m)
    else normalizeModule args class file key m;

  normalizeModule = args: class: file: key: m:
    if builtins.isFunction m then normalizeModule args class file key (applyModuleArgs args file m)
    else if builtins.isAttrs m then
      let
        file' = toString (m._file or file);
        key' = toString (m.key or key);
        # nixpkgs: a top-level `freeformType` is a definition of `_module.freeformType`.
        withFreeform = config:
          if m ? freeformType then mkMerge [ config { _module.freeformType = m.freeformType; } ] else config;
        common = {
          _file = file';
          key = key';
          imports = m.imports or [ ];
          disabledModules = m.disabledModules or [ ];
        };
      in
      # nixpkgs: a module that names its class (`_class`) is refused by an evaluation of
      # another class.
      if class != null && (m._class or null) != null && m._class != class then
        throw "The module `${file'}` (class: ${builtins.toJSON m._class}) cannot be imported into a module evaluation that expects class ${builtins.toJSON class}.\n\nHelp:\n- Ensure that you are importing the correct module.\n- Verify that the module's `_class`, ${builtins.toJSON m._class} matches the expected `class` ${builtins.toJSON class}.\n- If you are using a custom class, make sure it is correctly defined and used consistently across your modules."
      # nixpkgs: a module that is an mkIf or mkOverride is the config of a module.
      else if builtins.elem (m._type or "module") [ "if" "override" ] then normalizeModule args class file key { config = m; }
      else if (m._type or "module") != "module" then
        throw ("Could not load a value as a module, because it is of type ${builtins.toJSON m._type}"
          + (if file != "<unknown-file>" then ", in file `${file}'." else "")
          + (if m._type == "configuration" then " If you do intend to import this configuration, please only import the modules that make up the configuration." else ""))
      else if m ? config || m ? options then
        let bad = builtins.filter (n: !(builtins.elem n structuredKeys)) (builtins.attrNames m); in
        if bad != [ ] then
          throw "Module `${file'}' has an unsupported attribute `${builtins.head bad}'. This is caused by introducing a top-level `config' or `options' attribute. Add configuration attributes immediately on the top level instead, or move all of them (namely: ${builtins.concatStringsSep " " bad}) into the explicit `config' attribute."
        else common // {
          options = m.options or { };
          config = withFreeform (m.config or { });
        }
      else common // {
        options = { };
        config = withFreeform (builtins.removeAttrs m shorthandIgnored);
      }
    else if builtins.isList m then
      throw "Module imports can't be nested lists. Perhaps you meant to remove one level of lists? Definitions: \n${showDefs [ { inherit file; value = m; } ]}"
    else throw "The module `${file}' is not a function, an attribute set or a path; it is a ${builtins.typeOf m}.";

  # Calls a function module with the standard arguments, resolving any other argument it
  # names from `_module.args`.
  applyModuleArgs = args: file: f:
    let
      extra = builtins.mapAttrs
        (name: _:
          args.${name} or (args.config._module.args.${name} or
            (throw "The module `${file}' needs the argument `${name}', which is neither a special argument nor defined in `_module.args'.")))
        (builtins.functionArgs f);
    in
    f (args // extra);

  # The key a `disabledModules` item names (nixpkgs' rules): a string relative to
  # `modulesPath` unless absolute, a path, or an attribute set with a `key`.
  disabledKey = modulesPath: file: m:
    if builtins.isString m then
      if strings.hasPrefix "/" m then m else toString modulesPath + "/" + m
    else if builtins.isPath m then toString m
    else if builtins.isAttrs m && (m ? outPath || m ? __toString) then
      if m ? key && toString m.key != toString m then
        throw "Module `${file}` contains a disabledModules item that is an attribute set that can be converted to a string (${toString m}) but also has a `.key` attribute (${toString m.key}) with a different value. This makes it ambiguous which module should be disabled."
      else toString m
    else if builtins.isAttrs m && m ? key then toString m.key
    else if builtins.isAttrs m then
      throw "Module `${file}` contains a disabledModules item that is an attribute set, presumably a module, that does not have a `key` attribute. This means that the module system doesn't have any means to identify the module that should be disabled. Make sure that you've put the correct value in disabledModules: a string path relative to modulesPath, a path value, or an attribute set with a `key` attribute."
    else
      throw "Each disabledModules item must be a path, string, or a attribute set with a key attribute, or a value supported by toString. However, one of the disabledModules items in `${file}` is none of that, but is of type ${builtins.typeOf m}.";

  # Loads modules and their imports into a tree; every module is loaded, so that the
  # `disabledModules` of all of them are known before any is dropped.
  collectTree = args: class: modulesPath: file: keyPrefix: mods:
    lists.imap1
      (i: x:
        let
          m = loadModule args class file "${keyPrefix}:anon-${toString i}" x;
          children = collectTree args class modulesPath m._file m.key m.imports;
        in
        {
          module = m;
          inherit children;
          disabled = map (disabledKey modulesPath m._file) m.disabledModules
            ++ builtins.concatMap (c: c.disabled) children;
        })
      mods;

  # Depth-first collection of modules and their imports (module first, then its imports),
  # each key (file path, or position for inline modules) kept once, disabled ones (and
  # what only they import) left out.
  collectModules = args: class: modulesPath: file: keyPrefix: mods:
    let
      tree = collectTree args class modulesPath file keyPrefix mods;
      disabled = builtins.listToAttrs (map (k: { name = k; value = true; })
        (builtins.concatMap (n: n.disabled) tree));
      visit = acc: node:
        let m = node.module; in
        if acc.seen ? ${m.key} || disabled ? ${m.key} then acc
        else builtins.foldl' visit
          { seen = acc.seen // { ${m.key} = true; }; out = acc.out ++ [ m ]; }
          node.children;
    in
    (builtins.foldl' visit { seen = { }; out = [ ]; } tree).out;

  # The options every evaluation has.
  coreModule = {
    _file = toString ./modules.nix;
    key = "nixspot-lib-core";
    options._module = {
      args = options.mkOption {
        type = types.lazyAttrsOf types.raw;
        default = { };
        internal = true;
        description = "Arguments passed to every module function, in addition to `config`, `options`, `lib` and the special arguments.";
      };
      check = options.mkOption {
        type = types.bool;
        default = true;
        internal = true;
        description = "Whether definitions of undeclared options are an error.";
      };
      freeformType = options.mkOption {
        type = types.nullOr types.optionType;
        default = null;
        internal = true;
        description = "The type that merges every definition without a declared option; the result is merged with the declared options' values into `config`.";
      };
    };
  };

  evalModules =
    { modules
    , specialArgs ? { }
    , prefix ? [ ]
    , file ? "<unknown-file>"
    , class ? null
    }@evalArgs:
    let
      args = { inherit lib config options; } // specialArgs // { inherit config options; };
      collected = collectModules args class (specialArgs.modulesPath or "") file
        (if prefix == [ ] then "<root>" else showOption prefix)
        ([ coreModule ] ++ modules);
      merged = mergeLevel prefix
        (map (m: { file = m._file; options = m.options; }) collected)
        (map (m: { file = m._file; value = m.config; }) collected);
      declared = merged.config;
      freeformType = declared._module.freeformType;
      # nixpkgs: definitions without an option are merged by `_module.freeformType`,
      # and the declared options' values are laid over the result.
      freeformDefs = builtins.concatMap
        (u: map (d: { inherit (d) file; value = attrsets.setAttrByPath (lists.drop (builtins.length prefix) u.loc) d.value; }) u.defs)
        merged.unmatched;
      # `_module.freeformType` (a type: functions) is kept out of `config`, so that
      # configurations stay printable as JSON.
      declared' = declared // { _module = builtins.removeAttrs declared._module [ "freeformType" ]; };
      # Without undeclared definitions, `_module.freeformType` is not looked at: most
      # (sub)module evaluations are spared evaluating that option.
      config =
        if merged.unmatched == [ ] || freeformType == null then declared'
        else attrsets.recursiveUpdate (if freeformDefs == [ ] then { } else freeformType.merge prefix freeformDefs) declared';
      options = merged.options;
      unmatched =
        if merged.unmatched != [ ] && config._module.check && freeformType == null then merged.unmatched else [ ];
      # nixpkgs' hints when nothing at all is declared here.
      noOptionsHint =
        if builtins.attrNames options != [ "_module" ] then ""
        else if prefix == [ ] then "\n\nIt seems as if you're trying to declare an option by placing it into `config' rather than `options'!"
        else "\n\nHowever there are no options defined in `${showOption prefix}'. Are you sure you've declared your options properly? This can happen if you e.g. declared your options in `types.submodule' under `config' rather than `options'.";
      checkedConfig =
        if unmatched == [ ] then config
        else throw (unknownOptionMessage (builtins.head unmatched) + noOptionsHint);
    in
    {
      _type = "configuration";
      config = checkedConfig;
      inherit options class;
      _module = { inherit collected; };
      # nixpkgs: the same evaluation with more modules (and special arguments).
      extendModules = { modules ? [ ], specialArgs ? { }, prefix ? evalArgs.prefix or [ ] }:
        evalModules (evalArgs // {
          modules = evalArgs.modules ++ modules;
          specialArgs = (evalArgs.specialArgs or { }) // specialArgs;
          inherit prefix;
        });
      # A submodule type of these modules.
      type = types.submoduleWith { inherit modules specialArgs class; };
    };

  # nixpkgs' unknown-option error (lib/modules.nix, with the suggestions of
  # NixOS/nixpkgs#442263): the misspelt option's siblings within Levenshtein distance 2
  # (`lib.strings.levenshteinAtMost 2`), nearest first (`sortOn levenshtein`, stable, so
  # equally near names stay in attribute order), at most three, each shown with its
  # full path. `_module` is never suggested.
  unknownOptionMessage = u:
    let
      name = lists.last u.loc;
      siblings = builtins.filter (c: c != "_module") u.candidates;
      best = lists.take 3 (lists.sortOn (strings.levenshtein name)
        (builtins.filter (strings.levenshteinAtMost 2 name) siblings));
      parent = lists.init u.loc;
      suggestion =
        if best == [ ] then ""
        else "\n\nDid you mean ${builtins.concatStringsSep ", " (map (c: "`${showOption (parent ++ [ c ])}'") best)}?";
    in
    "The option `${showOption u.loc}' does not exist. Definition values:\n${showDefs u.defs}${suggestion}";

  # Splits definitions at a non-option level: mkMerge, mkIf and mkOverride around an
  # attribute set are pushed down onto each attribute, without forcing mkIf conditions.
  pushDownProperties = file: loc: cfg:
    if builtins.isAttrs cfg && (cfg._type or "") == "merge" then
      builtins.concatMap (pushDownProperties file loc) cfg.contents
    else if builtins.isAttrs cfg && (cfg._type or "") == "if" then
      map (builtins.mapAttrs (n: v: mkIf cfg.condition v)) (pushDownProperties file loc cfg.content)
    else if builtins.isAttrs cfg && (cfg._type or "") == "override" then
      map (builtins.mapAttrs (n: v: mkOverride cfg.priority v)) (pushDownProperties file loc cfg.content)
    else if builtins.isAttrs cfg then [ cfg ]
    else throw "The definition of `${showOption loc}' in `${file}' is ${showValue 2 cfg}, but `${showOption loc}' is a set of options, so it must be an attribute set.";

  # Merges option declarations and config definitions for one level of the option tree.
  # Returns { config, options, unmatched }.
  mergeLevel = loc: decls: defs:
    let
      declsByName = builtins.zipAttrsWith (n: vs: vs)
        (map (d:
          if builtins.isAttrs d.options && !(isOption d.options)
          then builtins.mapAttrs (n: v: { inherit (d) file; options = v; pos = builtins.unsafeGetAttrPos n d.options; }) d.options
          else throw "The `options' of `${d.file}' at `${showOption loc}' must be an attribute set of options.")
          decls);
      defsByName = builtins.zipAttrsWith (n: vs: vs)
        (builtins.concatMap
          (d: map (v: builtins.mapAttrs (n: x: { inherit (d) file; value = x; }) v)
            (pushDownProperties d.file loc d.value))
          defs);
      results = builtins.mapAttrs
        (name: ds:
          let
            here = loc ++ [ name ];
            defsHere = defsByName.${name} or [ ];
            optionDecls = builtins.filter (d: isOption d.options) ds;
          in
          if optionDecls == [ ] then
            let r = mergeLevel here ds defsHere; in
            { inherit (r) config options unmatched; }
          else if builtins.length optionDecls != builtins.length ds then
            let other = builtins.head (builtins.filter (d: !(isOption d.options)) ds); in
            throw "The option `${showOption here}' declared in `${(builtins.head optionDecls).file}' is also the prefix of options declared in `${other.file}'."
          else
            let opt = evalOptionValue here (mergeOptionDecls here optionDecls) defsHere; in
            { config = opt.value; options = opt; unmatched = [ ]; })
        declsByName;
      unmatchedHere = map
        (name: {
          loc = loc ++ [ name ];
          defs = defsByName.${name};
          candidates = builtins.attrNames declsByName;
        })
        (builtins.filter (name: !(declsByName ? ${name})) (builtins.attrNames defsByName));
    in
    {
      config = builtins.mapAttrs (n: r: r.config) results;
      options = builtins.mapAttrs (n: r: r.options) results;
      unmatched = unmatchedHere ++ builtins.concatMap (n: results.${n}.unmatched) (builtins.attrNames results);
    };

  # Several declarations of one option: allowed when their types merge (submodules
  # extended from several modules), as in nixpkgs.
  mergeOptionDecls = loc: decls:
    let
      first = builtins.head decls;
      mergeTwo = acc: d:
        let
          t1 = acc.opt.type or types.unspecified;
          t2 = d.options.type or types.unspecified;
          mergedType = if t1 ? typeMerge then t1.typeMerge t2 else null;
        in
        if mergedType == null || (acc.opt ? default && d.options ? default) then
          throw "The option `${showOption loc}' in `${d.file}' is already declared in ${options.showFiles acc.declarations}."
        else {
          opt = acc.opt // builtins.removeAttrs d.options [ "type" ] // { type = mergedType; }
            // (if acc.opt ? description && acc.opt.description != null then { inherit (acc.opt) description; } else { });
          declarations = acc.declarations ++ [ d.file ];
          declarationPositions = acc.declarationPositions ++ [ (position d) ];
        };
      # nixpkgs: where each declaration is, or its file alone when Nix does not know.
      position = d: if d.pos or null != null then d.pos else { file = d.file; line = null; column = null; };
      result = builtins.foldl' mergeTwo
        { opt = first.options; declarations = [ first.file ]; declarationPositions = [ (position first) ]; }
        (builtins.tail decls);
    in
    result.opt // { inherit (result) declarations declarationPositions; };

  evalOptionValue = loc: opt: defs:
    let
      declFile = builtins.head opt.declarations;
      declaredType = if (opt.type or null) == null then types.unspecified else opt.type;
      # Submodules declared inline report the file of the option that declares them.
      type =
        if declaredType.getSubModules or null == null then declaredType
        else declaredType.substSubModules
          (map (m: { _file = declFile; imports = [ m ]; }) declaredType.getSubModules);
      hasDefault = opt ? default;
      allDefs = (if hasDefault then [{ file = declFile; value = mkOptionDefault opt.default; }] else [ ]) ++ defs;
      res = mergeDefinitions loc type allDefs;
      mergedValue =
        if res.isDefined then res.mergedValue
        else throw "The option `${showOption loc}' (declared in ${options.showFiles opt.declarations}) is used but not defined.";
      # As in nixpkgs, `apply` gets the merged value lazily: an alias ignores it.
      value =
        if (opt.readOnly or null) == true && builtins.length defs > 1 then
          throw "The option `${showOption loc}' is read-only, but it is set multiple times. Definition values:\n${showDefs defs}"
        else if (opt.apply or null) != null then opt.apply mergedValue
        else mergedValue;
    in
    opt // {
      _type = "option";
      inherit loc type value;
      declarations = opt.declarations;
      isDefined = res.isDefined;
      files = lists.unique (map (d: d.file) res.defsFinal);
      definitions = map (d: d.value) res.defsFinal;
      definitionsWithLocations = res.defsFinal;
      highestPrio = res.highestPrio;
    };

  # Expands mkMerge / mkIf / mkOverride / mkOrder of one definition into a list of
  # { file, value, priority, order }.
  dischargeProperties = loc: file: value:
    let
      go = file: prio: order: v:
        if builtins.isAttrs v && (v._type or "") == "merge" then builtins.concatMap (go file prio order) v.contents
        else if builtins.isAttrs v && (v._type or "") == "definition" then go (toString v.file) prio order v.value
        else if builtins.isAttrs v && (v._type or "") == "if" then
          if !(builtins.isBool v.condition) then
            throw "The option `${showOption loc}' in `${file}': `mkIf' called with a non-Boolean condition (${showValue 1 v.condition}, a ${builtins.typeOf v.condition})."
          else if v.condition then go file prio order v.content
          else [ ]
        # An override's content is not looked at until its priority wins (as in nixpkgs):
        # an option's default may throw when a definition replaces it.
        else if builtins.isAttrs v && (v._type or "") == "override" then
          [{ inherit file order; value = v.content; priority = v.priority; overridden = true; }]
        else if builtins.isAttrs v && (v._type or "") == "order" then go file prio v.priority v.content
        else [{ inherit file; value = v; priority = prio; inherit order; }];
    in
    go file defaultOverridePriority defaultOrderPriority value;

  # The definitions inside an override that won, discharged with its priority.
  dischargeOverridden = loc: d:
    if d.overridden or false then
      map (x: x // { priority = d.priority; }) (dischargeProperties loc d.file d.value)
    else [ d ];

  mergeDefinitions = loc: type: defs:
    let
      discharged = builtins.concatMap (d: dischargeProperties loc d.file d.value) defs;
      highestPrio = builtins.foldl' (p: d: if d.priority < p then d.priority else p) 9999 discharged;
      kept = builtins.concatMap (dischargeOverridden loc)
        (builtins.filter (d: d.priority == highestPrio) discharged);
      sorted = builtins.sort (a: b: a.order < b.order) kept;
      defsFinal = map (d: { inherit (d) file value; }) sorted;
      checked = map
        (d:
          if type.check d.value then d
          else throw "A definition for option `${showOption loc}' is not of type `${type.description}'. Definition values:\n${showDefs [ d ]}")
        defsFinal;
      isDefined = defsFinal != [ ];
      mergedValue =
        if isDefined then type.merge loc checked
        else throw "The option `${showOption loc}' is used but not defined.";
    in
    {
      inherit defsFinal isDefined mergedValue highestPrio;
      optionalValue = if isDefined then { value = mergedValue; } else { };
    };

  # The renaming helpers live in their own file, which is only read when a module uses
  # one of them (parsing is most of the cost of loading this library).
  inherit (import ./rename.nix lib)
    mkRemovedOptionModule mkRenamedOptionModule mkRenamedOptionModuleWith
    mkAliasOptionModule mkAliasOptionModuleMD mkChangedOptionModule
    mkMergedOptionModule doRename;

  # Options as a flat list of documentation records (visible ones; internal ones are
  # marked `internal = true`, as nixpkgs' optionAttrSetToDocList does), descending into
  # submodules with `<name>` / `*` placeholders. The module system's own `_module`
  # options are left out.
  optionsToDocList = relativize: opts:
    let
      # The options of an internal option's submodules are internal too.
      walk = internal: o:
        if isOption o then
          let internal' = internal || (o.internal or null) == true; in
          if (o.visible or null) == false || builtins.elem "_module" o.loc then [ ]
          else [ (docRecord relativize internal' o) ] ++ (
            let sub = o.type.getSubOptions o.loc; in
            if sub == { } then [ ] else walk internal' sub)
        else if builtins.isAttrs o then builtins.concatMap (n: walk internal o.${n}) (builtins.attrNames o)
        else [ ];
    in
    walk false opts;

  docRecord = relativize: internal: o:
    let
      render = v:
        if builtins.isAttrs v && (v._type or "") == "literalExpression" then { _type = "literalExpression"; inherit (v) text; }
        else
          let r = builtins.tryEval (builtins.deepSeq (builtins.toJSON v) v); in
          if r.success then v else { _type = "literalExpression"; text = "<computed>"; };
    in
    {
      name = showOption o.loc;
      type = o.type.description;
      description = o.description or "";
      declarations = map relativize o.declarations;
      readOnly = (o.readOnly or null) == true;
    }
    // (if internal then { internal = true; } else { })
    // (if (o.defaultText or null) != null then { default = render o.defaultText; }
        else if o ? default then { default = render o.default; } else { })
    // (if (o.example or null) != null then { example = render o.example; } else { });
}
