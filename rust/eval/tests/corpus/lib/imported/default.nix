# Imports a sibling relative to this file, not to the importer.
let helper = import ./helper.nix; in { fromDefault = helper.value * 2; inherit (helper) value; }
