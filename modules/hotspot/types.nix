# Option types shared by the hotspot modules.
lib:
let
  inherit (lib) mkOption types;
in
rec {
  checksumAlgos = [ "sha-1" "sha-224" "sha-256" "sha-384" "sha-512" "md5" "adler32" ];
  vias = [ "direct" "base64" "bztar" "gztar" "tar" "xztar" "zip" ];

  # image-creator's `checksum: { algo, value, kind }`.
  checksum = types.submodule {
    options = {
      algo = mkOption {
        type = types.str;
        description = "Checksum algorithm, one of ${builtins.concatStringsSep ", " checksumAlgos} (aria2's names).";
        example = "sha-256";
      };
      value = mkOption {
        type = types.str;
        description = "The hex digest (`kind = \"digest\"`), or the URL of a MirrorBrain-style checksum file (`kind = \"url\"`).";
        example = "99465e14effc7f951e9c017b4b3cee91967eb49c556d9f4f0d674adbe80d78c2";
      };
      kind = mkOption {
        type = types.enum [ "digest" "url" ];
        default = "digest";
        description = "Whether `value` is the digest itself or a URL to fetch it from.";
      };
    };
  };

  # A size in bytes, or a human string like "8G" (image-creator's humanfriendly sizes).
  size = types.either types.ints.unsigned (types.strMatching "[0-9]+(\\.[0-9]+)? ?([kKMGTP]i?[bB]?|[bB])?");

  sha256 = types.strMatching "[0-9a-f]{64}";
}
