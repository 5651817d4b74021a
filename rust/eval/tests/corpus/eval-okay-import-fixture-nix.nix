(import ./fixtures/dir/b.nix).fromFixture
