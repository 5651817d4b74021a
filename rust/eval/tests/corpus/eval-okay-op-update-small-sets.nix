# `//` over small sets (copied rather than layered) and over a chain that grows past
# them: names stay sorted, the right side wins, lookups see every layer.
let
  base = { a = 1; b = 2; c = 3; d = 4; e = 5; };
  chain = builtins.foldl' (acc: i: acc // { "k${toString i}" = i; a = i; }) base (builtins.genList (i: i) 40);
in
{
  names = builtins.attrNames (base // { f = 6; });
  one = base // { c = 30; f = 6; };
  empty = { } // base == base;
  same = (base // { a = 1; }) == base;
  chainNames = builtins.attrNames chain;
  chainA = chain.a;
  k3 = chain.k3;
  k39 = chain.k39;
  values = builtins.attrValues (chain // { b = "b"; });
}
