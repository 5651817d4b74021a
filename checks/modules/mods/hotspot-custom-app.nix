# A custom app as a user module: its own option, and — when enabled — its compose
# service, its image, a seed file in its data folder, its dashboard card and its route
# on the reverse proxy, contributed to `hotspot.build` as the hotspot's own modules
# contribute theirs. It also overrides one file of the hotspot's
# own (by path, with mkForce) and adds an offspot.yaml key.
{ config, lib, ... }:
let
  cfg = config.hotspot;
  image = "ghcr.io/example/notes:1.0";
  dataDir = "/data/contents/notes";
in
{
  options.hotspot.notes = {
    enable = lib.mkEnableOption "the notes app at `notes.<fqdn>`";
    welcome = lib.mkOption {
      type = lib.types.str;
      default = "# Welcome\n";
      description = "The first note.";
    };
  };

  config = lib.mkIf cfg.notes.enable {
    hotspot.build = {
      services.notes = {
        inherit image;
        container_name = "notes";
        pull_policy = "never";
        restart = "unless-stopped";
        expose = [ "80" ];
        environment.BASE_URL = "http://notes.${cfg.fqdn}";
        volumes = [{ type = "bind"; source = dataDir; target = "/data"; read_only = false; }];
      };
      ociImages.${image} = { filesize = 1048576; fullsize = 3145728; };
      files."${dataDir}/welcome.md" = { content = cfg.notes.welcome; origin = "hotspot.notes.welcome"; };
      dashboardEntries = lib.mkAfter [{
        ident = "notes.example.org";
        kind = "app";
        title = "Notes";
        description = "Shared notes";
        languages = [ "eng" ];
        tags = [ "_category:tools" ];
        icon = "";
        url = "//notes.${cfg.fqdn}/";
      }];
      proxy.services = [ "notes" ];
      # One of the hotspot's own files, replaced by path.
      files."/data/etc/offspot.json".content = lib.mkForce (builtins.toJSON { name = "Notes hotspot"; });
      offspotConfig.notes = { enabled = true; };
    };
  };
}
