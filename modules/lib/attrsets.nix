# Attribute-set helpers with the names and semantics of nixpkgs' lib.attrsets.
{ lists }:
rec {
  inherit (builtins) attrNames attrValues hasAttr getAttr mapAttrs removeAttrs listToAttrs
    intersectAttrs catAttrs zipAttrsWith;
  nameValuePair = name: value: { inherit name value; };
  filterAttrs = pred: set:
    builtins.listToAttrs (builtins.concatMap
      (name: let v = set.${name}; in if pred name v then [ (nameValuePair name v) ] else [ ])
      (builtins.attrNames set));
  mapAttrs' = f: set: builtins.listToAttrs (map (attr: f attr set.${attr}) (builtins.attrNames set));
  mapAttrsToList = f: attrs: map (name: f name attrs.${name}) (builtins.attrNames attrs);
  attrsToList = mapAttrsToList nameValuePair;
  genAttrs = names: f: builtins.listToAttrs (map (n: nameValuePair n (f n)) names);
  optionalAttrs = cond: as: if cond then as else { };
  attrByPath = attrPath: default: e:
    let attr = builtins.head attrPath; in
    if attrPath == [ ] then e
    else if e ? ${attr} then attrByPath (builtins.tail attrPath) default e.${attr}
    else default;
  hasAttrByPath = attrPath: e:
    let attr = builtins.head attrPath; in
    if attrPath == [ ] then true
    else if e ? ${attr} then hasAttrByPath (builtins.tail attrPath) e.${attr}
    else false;
  getAttrFromPath = attrPath: set:
    attrByPath attrPath (throw "cannot find attribute `${builtins.concatStringsSep "." attrPath}'") set;
  setAttrByPath = attrPath: value:
    if attrPath == [ ] then value
    else { ${builtins.head attrPath} = setAttrByPath (builtins.tail attrPath) value; };
  zipAttrs = builtins.zipAttrsWith (name: values: values);
  foldAttrs = op: nul: list_of_attrs:
    builtins.foldl'
      (a: n: a // builtins.mapAttrs (name: v: op v (a.${name} or nul)) n)
      { }
      (lists.reverseList list_of_attrs);
  recursiveUpdateUntil = pred: lhs: rhs:
    let
      f = attrPath: builtins.zipAttrsWith (n: values:
        let here = attrPath ++ [ n ]; in
        if builtins.length values == 1
          || pred here (builtins.elemAt values 1) (builtins.head values)
        then builtins.head values
        else f here values);
    in
    f [ ] [ rhs lhs ];
  recursiveUpdate = recursiveUpdateUntil (path: lhs: rhs: !(builtins.isAttrs lhs && builtins.isAttrs rhs));
  isDerivation = value: builtins.isAttrs value && (value.type or null) == "derivation";
  collect = pred: attrs:
    if pred attrs then [ attrs ]
    else if builtins.isAttrs attrs then builtins.concatMap (collect pred) (builtins.attrValues attrs)
    else [ ];
}
