# A tiny module system in the style of nixpkgs' lib/modules.nix: options with types,
# defaults and priorities, a fixed point over `config`, imports, and mkIf/mkMerge.
let
  lib = import ./default.nix;
  inherit (builtins) attrNames catAttrs concatMap filter foldl' isAttrs isFunction mapAttrs zipAttrsWith sort head length;
in rec {
  mkOption = { type ? types.anything, default ? null, description ? "" }:
    { _type = "option"; inherit type default description; };
  mkIf = condition: content: { _type = "if"; inherit condition content; };
  mkMerge = contents: { _type = "merge"; inherit contents; };
  mkOverride = priority: content: { _type = "override"; inherit priority content; };
  mkDefault = mkOverride 1000;
  mkForce = mkOverride 50;
  mkOrder = priority: content: { _type = "order"; inherit priority content; };
  mkBefore = mkOrder 500;
  mkAfter = mkOrder 1500;

  types = {
    anything = { name = "anything"; check = _: true; merge = defs: (lib.last defs).value; };
    int = { name = "int"; check = builtins.isInt; merge = defs: (lib.last defs).value; };
    str = { name = "str"; check = builtins.isString; merge = defs: (lib.last defs).value; };
    bool = { name = "bool"; check = builtins.isBool; merge = defs: (lib.last defs).value; };
    listOf = elemType: {
      name = "listOf";
      check = builtins.isList;
      merge = defs: concatMap (d: d.value) (sort (a: b: a.order < b.order) defs);
    };
    attrsOf = elemType: {
      name = "attrsOf";
      check = isAttrs;
      merge = defs: zipAttrsWith (n: vs: elemType.merge (map (v: { value = v; order = 1000; }) vs)) (map (d: d.value) defs);
    };
  };

  # Flattens mkIf / mkMerge / mkOverride / mkOrder into plain definitions with a priority.
  pushDown = def:
    let v = def.value; in
    if isAttrs v && v ? _type then
      if v._type == "if" then (if v.condition then pushDown (def // { value = v.content; }) else [ ])
      else if v._type == "merge" then concatMap (c: pushDown (def // { value = c; })) v.contents
      else if v._type == "override" then pushDown (def // { value = v.content; priority = v.priority; })
      else if v._type == "order" then pushDown (def // { value = v.content; order = v.priority; })
      else [ def ]
    else [ def ];

  collectModules = modules:
    concatMap (m: let imports = m.imports or [ ]; in collectModules imports ++ [ m ]) modules;

  evalModules = { modules }:
    let
      all = collectModules modules;
      applied = map (m: if isFunction m then m { inherit config; lib = lib // { inherit mkIf mkMerge mkDefault mkForce mkBefore mkAfter; }; } else m) all;
      options = foldl' (acc: m: acc // (m.options or { })) { } applied;
      defsFor = name:
        concatMap (m: if m ? config && m.config ? ${name} then pushDown { value = m.config.${name}; priority = 100; order = 1000; } else [ ]) applied;
      mergeOption = name: opt:
        let
          defs = defsFor name;
          best = foldl' (p: d: if d.priority < p then d.priority else p) 9999 defs;
          winning = filter (d: d.priority == best) defs;
        in
        if defs == [ ] then opt.default
        else
          let merged = opt.type.merge winning; in
          if opt.type.check merged then merged
          else throw "The option `${name}' has a value of the wrong type (expected ${opt.type.name}).";
      config = mapAttrs mergeOption options;
    in { inherit config options; };
}
