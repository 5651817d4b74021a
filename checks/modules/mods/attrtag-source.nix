# An attrTag type shared by the attrTag fixtures: a content source given by URL, local
# path or tags.
lib:
let inherit (lib) mkOption types; in
types.attrTag {
  url = mkOption { type = types.str; };
  local = mkOption { type = types.submodule { options.path = mkOption { type = types.str; }; options.copy = mkOption { type = types.bool; default = false; }; }; };
  tags = mkOption { type = types.listOf types.str; };
}
