# New option names, with the renaming modules for the old ones.
{ lib, ... }:
let inherit (lib) mkOption types; in
{
  imports = [
    lib.assertionsModule
    (lib.mkRenamedOptionModule [ "old" "name" ] [ "new" "name" ])
    (lib.mkAliasOptionModule [ "alias" "port" ] [ "new" "port" ])
    (lib.mkRemovedOptionModule [ "old" "gone" ] "Use `new.name' instead.")
    (lib.mkChangedOptionModule [ "old" "size" ] [ "new" "sizeMiB" ] (config: config.old.size * 1024))
    (lib.mkMergedOptionModule [ [ "old" "host" ] [ "old" "domain" ] ] [ "new" "fqdn" ]
      (config: "${config.old.host}.${config.old.domain}"))
  ];
  options.new = {
    name = mkOption { type = types.str; default = "default-name"; };
    port = mkOption { type = types.port; default = 80; };
    sizeMiB = mkOption { type = types.int; default = 0; };
    fqdn = mkOption { type = types.str; default = "localhost"; };
  };
}
