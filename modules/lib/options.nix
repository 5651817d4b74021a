# Option declarations, option paths, and how definitions are shown in error messages.
lib:
let
  inherit (lib) lists trivial;
in
rec {
  isOption = x: builtins.isAttrs x && (x._type or "") == "option";

  # Declares an option. Every attribute is optional; `type` defaults to `unspecified`
  # (filled in by the module system, which knows `types`).
  mkOption =
    { default ? null
    , defaultText ? null
    , example ? null
    , description ? null
    , relatedPackages ? null
    , type ? null
    , apply ? null
    , internal ? null
    , visible ? null
    , readOnly ? null
    } @ attrs:
    attrs // { _type = "option"; };

  mkEnableOption = name: mkOption {
    default = false;
    example = true;
    description = "Whether to enable ${name}.";
    type = lib.types.bool;
  };

  # `a.b."c d"` for the list [ "a" "b" "c d" ].
  showOption = loc: builtins.concatStringsSep "." (map showOptionPart loc);
  showOptionPart = part:
    if builtins.match "[a-zA-Z_][a-zA-Z0-9_'-]*" part != null
      || part == "<name>" || part == "*"
    then part
    else builtins.toJSON part;

  showFiles = files: builtins.concatStringsSep ", " (map (f: "`${toString f}'") files);

  # A short, Nix-like rendering of a value for error messages. Never forces more than
  # `depth` levels and survives values that throw.
  showValue = depth: v:
    let
      t = builtins.typeOf v;
      safe = x:
        let r = builtins.tryEval x; in
        if r.success then showValue (depth - 1) r.value else "<error>";
    in
    if t == "string" then builtins.toJSON v
    else if t == "int" || t == "float" then builtins.toString v
    else if t == "bool" then trivial.boolToString v
    else if t == "null" then "null"
    else if t == "path" then builtins.toString v
    else if t == "lambda" then "<function>"
    else if t == "list" then
      if depth <= 0 then "[ ... ]"
      else "[ " + builtins.concatStringsSep " " (map safe (lists.take 10 v))
        + (if builtins.length v > 10 then " ... ]" else " ]")
    else if t == "set" then
      if (v.type or null) == "derivation" then "<derivation ${v.name or "?"}>"
      else if v ? _type && builtins.elem v._type [ "if" "merge" "override" "order" ] then
        "<${v._type}: mk${ { "if" = "If"; merge = "Merge"; override = "Override"; order = "Order"; }.${v._type} }>"
      else if depth <= 0 then "{ ... }"
      else
        let names = builtins.attrNames v; in
        "{ " + builtins.concatStringsSep " "
          (map (n: "${showOptionPart n} = ${safe v.${n}};") (lists.take 10 names))
        + (if builtins.length names > 10 then " ... }" else " }")
    else "<${t}>";

  showDefs = defs: builtins.concatStringsSep "\n"
    (map (def: "- In `${toString def.file}': ${showValue 3 def.value}") defs);

  mergeEqualOption = loc: defs:
    if defs == [ ] then throw "The option `${showOption loc}' has no definitions to merge."
    else
      let first = builtins.head defs; in
      builtins.foldl'
        (val: def:
          if def.value != first.value then
            throw "The option `${showOption loc}' has conflicting definition values:\n${showDefs [ first def ]}\nUse `lib.mkForce value` or `lib.mkDefault value` to change the priority on any of these definitions."
          else val)
        first.value
        (builtins.tail defs);

  mergeOneOption = loc: defs:
    if defs == [ ] then throw "The option `${showOption loc}' has no definitions to merge."
    else if builtins.length defs != 1 then
      throw "The unique option `${showOption loc}' is defined multiple times. Definition values:\n${showDefs defs}"
    else (builtins.head defs).value;

  getValues = map (x: x.value);
  getFiles = map (x: x.file);
}
