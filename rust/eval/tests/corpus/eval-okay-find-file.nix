let sp = [ { prefix = "nope"; path = ./lib; } { prefix = "c"; path = ./lib; } { path = ./lib/imported; } ]; in {
  missing = builtins.tryEval (builtins.findFile [ ] "nonexistent-xyz");
  missingImport = builtins.tryEval (import <nonexistent-xyz>);
  prefixed = builtins.findFile sp "c/value.nix" == ./lib/value.nix;
  bare = builtins.findFile sp "c" == ./lib;
  noPrefix = builtins.findFile sp "helper.nix" == ./lib/imported/helper.nix;
  notAPrefix = builtins.tryEval (builtins.findFile sp "cc/value.nix");
  corepkgs = toString (builtins.findFile [ ] "nix/fetchurl.nix");
  fetchurlArgs = builtins.functionArgs (import <nix/fetchurl.nix>);
}
