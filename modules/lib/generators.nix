# Deterministic text renderers for values written into the recipe (JSON is valid YAML).
lib:
let
  inherit (lib) lists;
in
rec {
  # Pretty JSON with `indent` spaces and sorted keys (builtins.toJSON's order), ending
  # without a newline. Strings and numbers are rendered by builtins.toJSON, so escaping
  # is exactly Nix's.
  toPrettyJSON = { indent ? 2 }: value:
    let
      pad = n: builtins.concatStringsSep "" (builtins.genList (_: " ") (n * indent));
      go = level: v:
        if builtins.isAttrs v && !(v ? outPath) then
          let names = builtins.attrNames v; in
          if names == [ ] then "{}"
          else "{\n" + builtins.concatStringsSep ",\n"
            (map (n: pad (level + 1) + builtins.toJSON n + ": " + go (level + 1) v.${n}) names)
            + "\n" + pad level + "}"
        else if builtins.isList v then
          if v == [ ] then "[]"
          else "[\n" + builtins.concatStringsSep ",\n" (map (x: pad (level + 1) + go (level + 1) x) v)
            + "\n" + pad level + "]"
        else builtins.toJSON v;
    in
    go 0 value;

  # JSON object whose keys keep the given order: a list of { name, value }.
  toOrderedJSON = { indent ? 4 }: pairs:
    let pad = builtins.concatStringsSep "" (builtins.genList (_: " ") indent); in
    "{\n" + builtins.concatStringsSep ",\n"
      (map (p: pad + builtins.toJSON p.name + ": " + builtins.toJSON p.value) pairs)
    + "\n}";

  # Standard base64 of a string's bytes.
  toBase64 = s:
    let
      alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
      chars = lib.strings.stringToCharacters
        " !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~";
      table = builtins.listToAttrs (lists.imap0 (i: c: { name = c; value = i + 32; }) chars)
        // { "\n" = 10; "\t" = 9; "\r" = 13; };
      byteOf = c: table.${c} or (throw "toBase64: only ASCII text is supported (got ${builtins.toJSON c})");
      bytes = map byteOf (lib.strings.stringToCharacters s);
      len = builtins.length bytes;
      at = i: if i < len then builtins.elemAt bytes i else 0;
      enc = i: builtins.substring i 1 alphabet;
      group = g:
        let
          b0 = at (g * 3);
          b1 = at (g * 3 + 1);
          b2 = at (g * 3 + 2);
          n = b0 * 65536 + b1 * 256 + b2;
          rem = len - g * 3;
        in
        enc (n / 262144) + enc (lib.trivial.mod (n / 4096) 64)
        + (if rem > 1 then enc (lib.trivial.mod (n / 64) 64) else "=")
        + (if rem > 2 then enc (lib.trivial.mod n 64) else "=");
    in
    builtins.concatStringsSep "" (builtins.genList group ((len + 2) / 3));
}
