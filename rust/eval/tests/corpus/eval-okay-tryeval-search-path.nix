{
  missing = builtins.tryEval <nonexistent-xyz>;
  missingSub = builtins.tryEval <nonexistent-xyz/foo.nix>;
  found = builtins.tryEval (builtins.typeOf <corpus>);
}
