# Many derivations: a chain (each the input of the next), a fan-in over toFile sources
# and a fixed-output input, with values that start, end and are made of ATerm escapes.
let
  mk = i: dep: derivation {
    name = "chain${toString i}";
    system = "x86_64-linux";
    builder = "/bin/sh";
    args = [ "-c" "echo ${toString i} > $out" ];
    inherit dep;
    escapes = "\"${toString i}\\\n\t\r\"";
    onlyEscapes = "\\\\\"\"\n\n";
    outputs = if i / 7 * 7 == i then [ "out" "dev" ] else [ "out" ];
  };
  chain = builtins.foldl' (acc: i: acc ++ [ (mk i (if acc == [ ] then "" else builtins.elemAt acc (i - 1))) ]) [ ] (builtins.genList (i: i) 150);
  fixed = derivation {
    name = "fixed";
    system = "x86_64-linux";
    builder = "/bin/sh";
    outputHash = "sha256-ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=";
  };
  srcs = builtins.genList (i: builtins.toFile "src${toString i}" "source ${toString i}\n${if i > 0 then builtins.toFile "prev" (toString (i - 1)) else ""}") 40;
  fan = derivation {
    name = "fan";
    system = "x86_64-linux";
    builder = "/bin/sh";
    inherit srcs fixed;
    chain = builtins.filter (d: d ? dev) chain;
    devs = map (d: d.dev) (builtins.filter (d: d ? dev) chain);
    last = builtins.elemAt chain 149;
  };
in {
  chain = map (d: [ d.drvPath d.outPath ]) chain;
  inherit srcs;
  fan = [ fan.drvPath fan.outPath ];
  strict = builtins.derivationStrict { name = "s"; system = "x86_64-linux"; builder = "/bin/sh"; inherit fan; };
}
