{
  description = "nixspot: Kiwix Hotspot images from declarative Nix modules";

  # Only the nixspot package, the checks that run programs, the dev shell and the
  # formatter need nixpkgs. `lib`, `hotspotModules`, `hotspots` and the image derivations'
  # logic are plain Nix (no nixpkgs), which is what CI verifies offline with Debian's Nix.
  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-24.05";

  outputs = { self, nixpkgs }:
    let
      nixspotModules = import ./modules;
      inherit (nixspotModules) evalHotspot;
      mkHotspotImage = import ./modules/image.nix { inherit evalHotspot; };

      systems = [ "x86_64-linux" "aarch64-linux" "x86_64-darwin" "aarch64-darwin" ];
      linuxSystems = [ "x86_64-linux" "aarch64-linux" ];
      genAttrs = names: f: builtins.listToAttrs (map (name: { inherit name; value = f name; }) names);
      forSystems = names: f: genAttrs names (system: f system nixpkgs.legacyPackages.${system});

      # Every hotspots/<name>.nix is a hotspot.
      hotspotNames =
        let
          files = builtins.attrNames (builtins.readDir ./hotspots);
          nixFiles = builtins.filter (f: builtins.match ".*\\.nix" f != null) files;
        in
        map (f: builtins.substring 0 (builtins.stringLength f - 4) f) nixFiles;

      hotspots = genAttrs hotspotNames (name:
        let evaluated = evalHotspot { modules = [ (./hotspots + "/${name}.nix") ]; };
        in {
          inherit (evaluated) options;
          config = evaluated.config.hotspot;
          recipe = evaluated.config.build.recipe;
          offspotConfig = evaluated.config.build.offspotConfig;
          dashboard = evaluated.config.build.dashboard;
        });

      # nixspot's on-device programs (runtime, portal, dashboard) as static arm64 binaries
      # in bin/, for nixspot's own base image (`base.source = "nixspot:base"`).
      nixspotDeviceFor = pkgs: pkgs.pkgsCross.aarch64-multiplatform-musl.pkgsStatic.rustPlatform.buildRustPackage {
        pname = "nixspot-device";
        version = "0.1.0";
        src = self;
        cargoLock.lockFile = ./Cargo.lock;
        cargoBuildFlags = [ "-p" "nixspot-runtime" "-p" "nixspot-portal" "-p" "nixspot-dashboard" ];
        doCheck = false;
        meta.description = "nixspot's on-device programs for Raspberry Pi hotspots (static aarch64)";
      };

      nixspotFor = pkgs: pkgs.rustPlatform.buildRustPackage {
        pname = "nixspot";
        version = "0.1.0";
        src = self;
        cargoLock.lockFile = ./Cargo.lock;
        cargoBuildFlags = [ "-p" "nixspot" ];
        # The test suite needs real Nix, e2fsprogs, QEMU, a registry…: run it with
        # `nix flake check` (checks below) or `cargo test` in the dev shell.
        doCheck = false;
        meta = {
          description = "Build Kiwix Hotspot images from declarative Nix modules";
          mainProgram = "nixspot";
          license = pkgs.lib.licenses.gpl3Plus;
        };
      };
    in
    {
      lib = {
        inherit evalHotspot;
        # mkHotspotImage { modules; nixspot; deviceBinaries ? null; name ? "hotspot";
        #   system ? …; urlMap ? { }; } (deviceBinaries: for `nixspot:base`):
        # files are `builtin:fetchurl` and OCI images `nixspot oci pull` fixed-output
        # derivations pinned by the hotspot's lock file (`hotspot.lockFile`).
        mkHotspotImage = args: mkHotspotImage args;
        inherit (nixspotModules) lib;
      };

      hotspotModules = nixspotModules.hotspotModules;
      inherit hotspots;

      packages = forSystems systems (system: pkgs:
        let
          nixspot = nixspotFor pkgs;
          nixspot-device = nixspotDeviceFor pkgs;
        in
        {
          inherit nixspot nixspot-device;
          default = nixspot;
        } // genAttrs (map (n: n) hotspotNames) (name: mkHotspotImage {
          inherit nixspot system name;
          deviceBinaries = "${nixspot-device}/bin";
          modules = [ (./hotspots + "/${name}.nix") ];
        }));

      apps = forSystems systems (system: pkgs: {
        default = {
          type = "app";
          program = "${self.packages.${system}.nixspot}/bin/nixspot";
        };
      });

      checks = forSystems linuxSystems (system: pkgs:
        let
          nixspot = self.packages.${system}.nixspot;
          golden = name: pkgs.runCommand "golden-${name}" { nativeBuildInputs = [ pkgs.jq ]; } ''
            jq -S . ${builtins.toFile "${name}.json" (builtins.toJSON hotspots.${name}.recipe)} > actual.json
            jq -S . ${./checks/golden + "/${name}.json"} > expected.json
            diff -u expected.json actual.json
            touch $out
          '';
        in
        genAttrs (map (n: "golden-${n}") hotspotNames) (check: golden (builtins.substring 7 1000 check))
        // {
          # The VM checks (checks/vm/): the test hotspot boots in QEMU (raspi3b) and passes
          # every `nixspot vm-test` check.
          vm = pkgs.runCommand "vm-checks" { } ''
            ${nixspot}/bin/nixspot vm-test ${mkHotspotImage {
              inherit nixspot system;
              name = "vm";
              deviceBinaries = "${self.packages.${system}.nixspot-device}/bin";
              modules = [ ./checks/vm/hotspot.nix ];
            }}/vm.img \
              --qemu ${pkgs.qemu}/bin/qemu-system-aarch64 --timeout 1200 --serial-log serial.log
            touch $out
          '';
          # Building the demo a second time (another derivation name, so Nix really
          # rebuilds it) must give the same bytes.
          reproducible = pkgs.runCommand "reproducible-hotspot-demo" { } ''
            cmp ${self.packages.${system}.hotspot-demo}/hotspot-demo.img \
              ${mkHotspotImage {
                inherit nixspot system;
                deviceBinaries = "${self.packages.${system}.nixspot-device}/bin";
                name = "hotspot-demo-rebuild";
                modules = [ ./hotspots/hotspot-demo.nix ];
              }}/hotspot-demo-rebuild.img
            touch $out
          '';
        });

      templates.default = {
        path = ./templates/default;
        description = "A hotspot flake that imports nixspot and defines one hotspot";
      };

      devShells = forSystems systems (system: pkgs: {
        default = pkgs.mkShell {
          packages = with pkgs; [ cargo rustc clippy rustfmt rust-analyzer nixpkgs-fmt ]
            ++ pkgs.lib.optionals pkgs.stdenv.isLinux [ e2fsprogs dosfstools mtools util-linux qemu caddy skopeo ];
        };
      });

      formatter = forSystems systems (system: pkgs: pkgs.nixpkgs-fmt);
    };
}
