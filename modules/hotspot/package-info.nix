# The dashboard card of a package (ZIM, files package, app): the options every kind of
# package shares. `c` is the package's catalog entry, which gives the defaults ({ } for
# none).
lib: c:
let
  inherit (lib) mkOption types optionalAttrs;
in
{
  title = mkOption {
    type = types.str;
    description = "Title shown on the dashboard card.";
    example = "Wikipedia";
  } // optionalAttrs (c ? title) { default = c.title; };
  description = mkOption {
    type = types.str;
    default = c.description or "";
    description = "Description shown on the dashboard card.";
  };
  languages = mkOption {
    type = types.listOf (types.strMatching "[a-z]{3}");
    default = c.languages or [ ];
    example = [ "eng" ];
    description = "ISO 639-3 language codes.";
  };
  tags = mkOption {
    type = types.listOf types.str;
    default = c.tags or [ ];
    example = [ "wikipedia" "_category:wikipedia" ];
    description = "Dashboard tags; `_category:X` sets the category, other `_…` tags are hidden.";
  };
  icon = mkOption {
    type = types.str;
    default = "";
    example = "iVBORw0KGgo…";
    description = "Base64 PNG icon (48×48) for the dashboard card; empty for none. (offspot's builder downloads icons at build time; nixspot keeps builds offline.)";
  };
}
