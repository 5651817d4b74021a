//! The flake, verified offline with Debian's Nix 2.8: its pure outputs evaluate to the
//! same JSON under real Nix and nixspot-eval, the template evaluates, and the image
//! derivation (`lib.mkHotspotImage`, built by real `nix-build` with the cargo-built
//! nixspot as its builder and the ZIM download served from a local path) produces the
//! very bytes `nixspot build` produces. Parts that need nixpkgs (the nixspot package,
//! the dev shell, the formatter, the checks that use `runCommand`) are not exercised:
//! nixpkgs cannot be fetched here.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use support::*;

const REPO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
const ZIM: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/fixtures/zim/withns_wikibooks_be_all_nopic_2017-02.zim"
);
const ZIM_URL: &str = "https://github.com/openzim/zim-testing-suite/raw/v0.5/data/withns/wikibooks_be_all_nopic_2017-02.zim";
const BASE_URL: &str = "https://drive.offspot.it/base/offspot-base-arm64-1.2.0.img";

fn repo() -> PathBuf {
    Path::new(REPO).canonicalize().expect("repository path")
}

/// The flake's outputs with stand-in inputs: `self` is the outputs, `nixpkgs` throws.
fn outputs_expr() -> String {
    format!(
        r#"(let flake = import {repo}/flake.nix;
              self = flake.outputs {{ self = self // {{ outPath = {repo}; }};
                                      nixpkgs = throw "nixpkgs is not available offline"; }};
          in self)"#,
        repo = repo().display()
    )
}

fn nix_eval(expr: &str) -> String {
    let out = run(nixspot_testkit::nix("nix-instantiate")
        .args(["--eval", "--strict", "--json", "-E", expr])
        .current_dir(repo()));
    assert!(
        out.status.success(),
        "nix-instantiate failed:\n{}",
        text(&out)
    );
    String::from_utf8_lossy(&out.stdout).trim_end().to_string()
}

fn nixspot_eval(expr: &str) -> String {
    let out = run(nixspot()
        .args(["eval", "--strict", "--json", "-E", expr])
        .current_dir(repo()));
    assert!(out.status.success(), "nixspot eval failed:\n{}", text(&out));
    String::from_utf8_lossy(&out.stdout).trim_end().to_string()
}

#[test]
fn pure_outputs_are_identical_under_real_nix_and_nixspot_eval() {
    let outputs = outputs_expr();
    let names = nix_eval(&format!("builtins.attrNames {outputs}.hotspots"));
    assert!(names.contains("hotspot-demo"), "{names}");
    assert_eq!(
        names,
        nixspot_eval(&format!("builtins.attrNames {outputs}.hotspots"))
    );
    let listing = format!(
        "{{ outputs = builtins.attrNames {o}; lib = builtins.attrNames {o}.lib; \
           templates = builtins.attrNames {o}.templates; modules = builtins.length {o}.hotspotModules; }}",
        o = outputs
    );
    assert_eq!(nix_eval(&listing), nixspot_eval(&listing));
    let names: Vec<String> = serde_json::from_str(&names).expect("names");
    for name in names {
        let expr = format!("{outputs}.hotspots.{name:?}.recipe");
        let real = nix_eval(&expr);
        assert!(real.contains("\"base\""), "{name}: {real}");
        assert_eq!(real, nixspot_eval(&expr), "hotspots.{name}.recipe differs");
    }
}

#[test]
fn the_template_instantiates_and_evaluates() {
    let dir = tempfile::tempdir().expect("tempdir");
    for file in ["flake.nix", "hotspot.nix"] {
        std::fs::copy(
            repo().join("templates/default").join(file),
            dir.path().join(file),
        )
        .expect("copying the template");
    }
    let expr = format!(
        "((import {dir}/flake.nix).outputs {{ self = {{}}; nixspot = {outputs}; }})\
         .hotspots.my-hotspot.config.build.recipe",
        dir = dir.path().display(),
        outputs = outputs_expr()
    );
    let real = nix_eval(&expr);
    assert!(real.contains("welcome.txt"), "{real}");
    assert_eq!(real, nixspot_eval(&expr));
}

/// A cache directory under `dir` holding the demo's ZIM, imported from the fixtures.
fn cache_with_zim(dir: &Path) -> PathBuf {
    let cache = dir.join("cache");
    let add = run(nixspot()
        .args(["cache", "add", "--cache-dir"])
        .arg(&cache)
        .arg(ZIM));
    assert!(add.status.success(), "{}", text(&add));
    seed_base_debs(&cache);
    cache
}

/// [`cache_with_zim`] plus `file`.
fn cache_with_zim_and(dir: &Path, file: &Path) -> PathBuf {
    let cache = cache_with_zim(dir);
    let add = run(nixspot()
        .args(["cache", "add", "--cache-dir"])
        .arg(&cache)
        .arg(file));
    assert!(add.status.success(), "{}", text(&add));
    cache
}

/// An offspot-shaped base image in `dir` standing in for an offspot release (pinned by
/// its sha256; Nix fetches it through a `urlMap` entry, nixspot finds it in the cache),
/// and the module settings that use it. For tests about something else than nixspot's
/// own base image, which needs Debian packages and arm64 device programs. A release
/// URL because the module system forces `hotspot.base.rootfsSize`'s default (which
/// throws for an unknown source) even when the option is defined.
fn file_base(dir: &Path) -> (PathBuf, String) {
    let base = dir.join("base.img");
    offspot_like_base(&base);
    let settings = format!(
        r#"hotspot.base = {{
    source = lib.mkForce "{BASE_URL}";
    sha256 = "{sha256}";
    providesInternalServices = true;
  }};
  hotspot.output.size = "128M";"#,
        sha256 = sha256_file(&base)
    );
    (base, settings)
}

/// `nixspot build TARGET -o OUTPUT --cache-dir CACHE --offline --quiet EXTRA…`.
fn build(
    target: impl AsRef<std::ffi::OsStr>,
    output: &Path,
    cache: &Path,
    extra: &[&str],
) -> std::process::Output {
    run(nixspot()
        .arg("build")
        .arg(target)
        .arg("-o")
        .arg(output)
        .arg("--cache-dir")
        .arg(cache)
        .args(["--offline", "--quiet"])
        .args(extra))
}

#[test]
fn build_accepts_flake_references() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cache = cache_with_zim(dir.path());
    let by_ref = dir.path().join("by-ref.img");
    let out = build(
        format!("{}#hotspot-demo", repo().display()),
        &by_ref,
        &cache,
        &[],
    );
    assert!(out.status.success(), "{}", text(&out));
    let by_file = dir.path().join("by-file.img");
    let out = build(
        repo().join("hotspots/hotspot-demo.nix"),
        &by_file,
        &cache,
        &[],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(sha256_file(&by_ref), sha256_file(&by_file));

    let missing = run(nixspot()
        .arg("build")
        .arg(format!("{}#no-such-hotspot", repo().display()))
        .arg("--cache-dir")
        .arg(&cache));
    assert!(!missing.status.success());
    assert!(
        text(&missing).contains("no-such-hotspot"),
        "{}",
        text(&missing)
    );
}

/// The cargo-built nixspot at a path that carries the binary's hash, for derivations'
/// `nixspotExe`: a changed nixspot is then a new derivation (Nix would otherwise reuse
/// an older output).
fn nixspot_for_nix() -> PathBuf {
    let binary = std::fs::read(env!("CARGO_BIN_EXE_nixspot")).expect("binary");
    let bin_dir = std::env::temp_dir().join(format!("nixspot-{}", &sha256_bytes(&binary)[..16]));
    std::fs::create_dir_all(&bin_dir).expect("mkdir");
    let exe = bin_dir.join("nixspot");
    if !exe.exists() {
        // Write under another name first: a concurrent test may be running the binary.
        let partial = bin_dir.join(format!("nixspot.{}", std::process::id()));
        std::fs::write(&partial, &binary).expect("copy binary");
        std::fs::set_permissions(&partial, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        std::fs::rename(&partial, &exe).expect("rename binary");
    }
    exe
}

/// The device programs at a path that carries their hash, for `deviceBinaries` (same
/// reason as [`nixspot_for_nix`]).
fn device_binaries_for_nix() -> PathBuf {
    let source = device_binaries();
    let mut all = Vec::new();
    for p in nixspot_base::DEVICE_PROGRAMS {
        all.extend(std::fs::read(source.join(p)).expect("device program"));
    }
    let dir = std::env::temp_dir().join(format!("nixspot-device-{}", &sha256_bytes(&all)[..16]));
    if !dir.exists() {
        let partial =
            std::env::temp_dir().join(format!("nixspot-device.{}.partial", std::process::id()));
        std::fs::create_dir_all(&partial).expect("mkdir");
        for p in nixspot_base::DEVICE_PROGRAMS {
            std::fs::copy(source.join(p), partial.join(p)).expect("copy device program");
        }
        if std::fs::rename(&partial, &dir).is_err() {
            // another test won the race with the same content
            std::fs::remove_dir_all(&partial).expect("rm");
        }
    }
    dir
}

/// `urlMap` entries pointing the base image's `.deb` downloads at the test cache.
fn base_deb_url_map() -> String {
    let lock = nixspot_base::on_demand::embedded_lock().expect("embedded lock");
    lock.packages
        .values()
        .zip(base_debs())
        .map(|(p, path)| format!("\"{}\" = \"file://{}\";", p.url, path.display()))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Removes a `nix-build` result and its store path: each test run builds new images
/// (a new nixspot is a new derivation), which would otherwise pile up in the store.
fn forget(result: &Path) {
    let path = std::fs::read_link(result).expect("the result is a symlink");
    std::fs::remove_file(result).expect("removing the result link");
    let out = run(nixspot_testkit::nix("nix-store").arg("--delete").arg(&path));
    assert!(
        out.status.success(),
        "nix-store --delete failed:\n{}",
        text(&out)
    );
}

/// `nix-build -o RESULT -E EXPR` (no sandbox, no substituters: the test configuration
/// of `nixspot_testkit::nix`), asserting success.
fn nix_build(expr: &str, result: &Path) {
    let out = run(nixspot_testkit::nix("nix-build")
        .arg("-o")
        .arg(result)
        .args(["-E", expr]));
    assert!(out.status.success(), "nix-build failed:\n{}", text(&out));
}

#[test]
fn build_accepts_references_to_a_flake_made_from_the_template() {
    let dir = tempfile::tempdir().expect("tempdir");
    let flake = dir.path().join("my-flake");
    std::fs::create_dir_all(&flake).expect("mkdir");
    std::fs::copy(
        repo().join("templates/default/flake.nix"),
        flake.join("flake.nix"),
    )
    .expect("copying the template");
    let (base, base_settings) = file_base(dir.path());
    std::fs::write(
        flake.join("hotspot.nix"),
        format!(
            "{{ lib, ... }}: {{\n  imports = [ {repo}/hotspots/hotspot-demo.nix ];\n  {base_settings}\n}}\n",
            repo = repo().display()
        ),
    )
    .expect("module");
    let cache = cache_with_zim_and(dir.path(), &base);
    let by_ref = dir.path().join("by-ref.img");
    let out = build(
        format!("{}#my-hotspot", flake.display()),
        &by_ref,
        &cache,
        &["--locked"],
    );
    assert!(out.status.success(), "{}", text(&out));
    let by_file = dir.path().join("by-file.img");
    let out = build(flake.join("hotspot.nix"), &by_file, &cache, &["--locked"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(sha256_file(&by_ref), sha256_file(&by_file));
}

#[test]
fn the_flake_image_derivation_gives_the_bytes_of_nixspot_build() {
    let dir = tempfile::tempdir().expect("tempdir");
    let exe = nixspot_for_nix();
    let expr = format!(
        r#"{outputs}.lib.mkHotspotImage {{
             modules = [ {repo}/hotspots/hotspot-demo.nix ];
             nixspotExe = "{exe}";
             deviceBinaries = "{device}";
             name = "hotspot-demo";
             system = builtins.currentSystem;
             urlMap = {{ "{ZIM_URL}" = "file://{zim}"; {debs} }};
           }}"#,
        outputs = outputs_expr(),
        repo = repo().display(),
        exe = exe.display(),
        device = device_binaries_for_nix().display(),
        zim = Path::new(ZIM).canonicalize().expect("fixture").display(),
        debs = base_deb_url_map(),
    );
    let result = dir.path().join("result");
    nix_build(&expr, &result);
    let from_nix = result.join("hotspot-demo.img");

    let cache = cache_with_zim(dir.path());
    let direct = dir.path().join("direct.img");
    let out = build(
        repo().join("hotspots/hotspot-demo.nix"),
        &direct,
        &cache,
        &["--locked"],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        sha256_file(&from_nix),
        sha256_file(&direct),
        "the Nix-built image and `nixspot build` differ"
    );
    forget(&result);

    // An unpinned download makes evaluation fail, telling the user to lock.
    let unpinned = format!(
        r#"{outputs}.lib.mkHotspotImage {{
             modules = [ {repo}/hotspots/hotspot-demo.nix
                         {{ hotspot.zims.extra.url = "https://example.org/extra.zim"; }} ];
             nixspotExe = "/bin/false";
             deviceBinaries = "/nonexistent";
           }}"#,
        outputs = outputs_expr(),
        repo = repo().display(),
    );
    let out = run(nixspot_testkit::nix("nix-instantiate").args(["-E", &unpinned]));
    assert!(!out.status.success());
    assert!(text(&out).contains("nixspot lock"), "{}", text(&out));

    // nixspot's own base image needs the device programs: evaluation says so.
    let no_device = format!(
        r#"{outputs}.lib.mkHotspotImage {{
             modules = [ {repo}/hotspots/hotspot-demo.nix ];
             nixspotExe = "/bin/false";
           }}"#,
        outputs = outputs_expr(),
        repo = repo().display(),
    );
    let out = run(nixspot_testkit::nix("nix-instantiate").args(["-E", &no_device]));
    assert!(!out.status.success());
    assert!(text(&out).contains("deviceBinaries"), "{}", text(&out));
}

fn sha256_bytes(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A stand-in for nixpkgs, only for listing the flake's outputs offline: every package
/// is an attribute set shaped like a derivation (what `nix flake show` reads: `type`,
/// `name`, `meta.description`), none of which can be built.
const NIXPKGS_STANDIN: &str = r#"{
  outputs = { self }:
    let
      fake = name: { type = "derivation"; inherit name; outPath = "/nonexistent/${name}"; meta = { }; };
      pkgsFor = system: {
        lib = {
          licenses.gpl3Plus = { };
          optionals = cond: list: if cond then list else [ ];
        };
        stdenv.isLinux = builtins.match ".*-linux" system != null;
        rustPlatform.buildRustPackage = args: fake "${args.pname}-${args.version}" // { inherit (args) meta; };
        pkgsCross.aarch64-multiplatform-musl.pkgsStatic.rustPlatform.buildRustPackage =
          args: fake "${args.pname}-static-aarch64-unknown-linux-musl-${args.version}" // { inherit (args) meta; };
        runCommand = name: env: script: fake name;
        mkShell = args: fake "nix-shell";
        nixpkgs-fmt = fake "nixpkgs-fmt";
      };
      systems = [ "x86_64-linux" "aarch64-linux" "x86_64-darwin" "aarch64-darwin" ];
    in
    {
      legacyPackages = builtins.listToAttrs (map (system: { name = system; value = pkgsFor system; }) systems);
    };
}
"#;

/// Copies the repository's git-tracked files (what a flake built from the repository
/// sees) into `dest`.
fn copy_tracked_files(dest: &Path) {
    let out = run(Command::new("git")
        .args(["ls-files", "-z", "--cached"])
        .current_dir(repo()));
    assert!(out.status.success(), "git ls-files failed:\n{}", text(&out));
    let listing = String::from_utf8(out.stdout).expect("file names are UTF-8");
    for name in listing.split('\0').filter(|n| !n.is_empty()) {
        let from = repo().join(name);
        // A tracked file deleted in the working tree is not part of what is tested.
        if !from.is_file() {
            continue;
        }
        let to = dest.join(name);
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::copy(&from, &to).unwrap_or_else(|e| panic!("copying {name}: {e}"));
    }
}

#[test]
fn nix_flake_show_lists_every_output_offline() {
    let dir = tempfile::tempdir().expect("tempdir");
    let flake = dir.path().join("flake");
    copy_tracked_files(&flake);
    let standin = dir.path().join("nixpkgs-standin");
    std::fs::create_dir_all(&standin).expect("mkdir");
    std::fs::write(standin.join("flake.nix"), NIXPKGS_STANDIN).expect("write stand-in");

    // Flake inputs are copied through Nix's fetcher cache: a fresh one per run.
    let out = run(nixspot_testkit::nix("nix")
        .env("XDG_CACHE_HOME", dir.path().join("cache"))
        .args([
            "flake",
            "show",
            "--json",
            "--offline",
            "--no-write-lock-file",
            "--override-input",
            "nixpkgs",
        ])
        .arg(format!("path:{}", standin.display()))
        .arg(format!("path:{}", flake.display())));
    assert!(
        out.status.success(),
        "nix flake show failed:\n{}",
        text(&out)
    );
    let shown: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON listing");

    let mut images: Vec<String> = std::fs::read_dir(flake.join("hotspots"))
        .expect("hotspots/")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter_map(|f| f.strip_suffix(".nix").map(str::to_string))
        .collect();
    images.sort();
    assert!(images.contains(&"hotspot-demo".to_string()), "{images:?}");

    let derivation = |path: &[&str]| {
        let node = path.iter().fold(&shown, |node, key| &node[*key]);
        assert_eq!(
            node["type"],
            "derivation",
            "{} is not listed as a derivation in:\n{shown:#}",
            path.join(".")
        );
    };
    let all = [
        "x86_64-linux",
        "aarch64-linux",
        "x86_64-darwin",
        "aarch64-darwin",
    ];
    for system in all {
        derivation(&["packages", system, "nixspot"]);
        derivation(&["packages", system, "nixspot-device"]);
        derivation(&["packages", system, "default"]);
        for image in &images {
            derivation(&["packages", system, image]);
        }
        assert_eq!(shown["apps"][system]["default"]["type"], "app", "{shown:#}");
        derivation(&["devShells", system, "default"]);
        derivation(&["formatter", system]);
    }
    for system in ["x86_64-linux", "aarch64-linux"] {
        for image in &images {
            derivation(&["checks", system, &format!("golden-{image}")]);
        }
        derivation(&["checks", system, "reproducible"]);
        derivation(&["checks", system, "vm"]);
    }
    for output in ["lib", "hotspotModules", "hotspots"] {
        assert!(
            shown.get(output).is_some(),
            "{output} missing in:\n{shown:#}"
        );
    }
    assert!(
        shown["templates"]["default"]["description"].is_string(),
        "{shown:#}"
    );
    assert_eq!(
        shown["packages"]["x86_64-linux"]["hotspot-demo"]["name"], "hotspot-demo",
        "{shown:#}"
    );
}

impl Registry {
    /// Pushes a one-layer linux/arm64 image as `test/hello:1.0` with `skopeo copy` from
    /// a `dir:` layout; returns its reference.
    fn push_test_image(&self, scratch: &Path) -> String {
        use std::io::Write;
        let mut layer = tar::Builder::new(Vec::new());
        let script = b"#!/bin/sh\necho hello from the registry\n";
        let mut header = tar::Header::new_ustar();
        header.set_size(script.len() as u64);
        header.set_mode(0o755);
        header.set_mtime(1);
        header.set_entry_type(tar::EntryType::Regular);
        layer
            .append_data(&mut header, "bin/hello", &script[..])
            .expect("layer tar");
        let layer = layer.into_inner().expect("layer tar");
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&layer).expect("gzip");
        let gz = gz.finish().expect("gzip");
        let digest = |data: &[u8]| format!("sha256:{}", sha256_bytes(data));
        let config = serde_json::to_vec(&serde_json::json!({
            "architecture": "arm64", "os": "linux", "variant": "v8",
            "config": {"Cmd": ["/bin/hello"]},
            "rootfs": {"type": "layers", "diff_ids": [digest(&layer)]},
        }))
        .expect("config");
        let manifest = serde_json::to_vec(&serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {"mediaType": "application/vnd.docker.container.image.v1+json",
                       "digest": digest(&config), "size": config.len()},
            "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                        "digest": digest(&gz), "size": gz.len()}],
        }))
        .expect("manifest");
        let layout = scratch.join("image-layout");
        std::fs::create_dir_all(&layout).expect("mkdir");
        for blob in [&gz, &config] {
            std::fs::write(layout.join(sha256_bytes(blob)), blob).expect("blob");
        }
        std::fs::write(layout.join("manifest.json"), &manifest).expect("manifest");
        std::fs::write(layout.join("version"), "Directory Transport Version: 1.1\n")
            .expect("version");
        let reference = format!("{}/test/hello:1.0", self.addr);
        let out = run(Command::new("skopeo")
            .args(["copy", "--insecure-policy", "--dest-tls-verify=false"])
            .arg(format!("dir:{}", layout.display()))
            .arg(format!("docker://{reference}")));
        assert!(out.status.success(), "skopeo copy failed:\n{}", text(&out));
        reference
    }
}

#[test]
fn oci_images_are_fixed_output_pulls_and_the_image_matches_nixspot_build() {
    let registry = Registry::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let reference = registry.push_test_image(dir.path());
    let (base, base_settings) = file_base(dir.path());
    let module = dir.path().join("oci-demo.nix");
    let lock_file = dir.path().join("oci-demo.lock.json");
    std::fs::write(
        &module,
        format!(
            r#"{{ lib, ... }}: {{
  imports = [ {repo}/hotspots/hotspot-demo.nix ];
  {base_settings}
  hotspot.ociImages = [ {{ ident = "{reference}"; filesize = 1; fullsize = 1; }} ];
  hotspot.lockFile = if builtins.pathExists ./oci-demo.lock.json then ./oci-demo.lock.json else null;
}}
"#,
            repo = repo().display(),
        ),
    )
    .expect("module");
    let exe = nixspot_for_nix();
    let image_expr = format!(
        r#"{outputs}.lib.mkHotspotImage {{
             modules = [ {module} ];
             nixspotExe = "{exe}";
             name = "oci-demo";
             system = builtins.currentSystem;
             urlMap = {{
               "{ZIM_URL}" = "file://{zim}";
               "{BASE_URL}" = "file://{base}";
             }};
           }}"#,
        outputs = outputs_expr(),
        module = module.display(),
        base = base.display(),
        exe = exe.display(),
        zim = Path::new(ZIM).canonicalize().expect("fixture").display(),
    );

    // Not locked yet: evaluating the image derivation tells the user to lock.
    let out = run(nixspot_testkit::nix("nix-instantiate").args(["-E", &image_expr]));
    assert!(!out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("nixspot lock") && text(&out).contains(&reference),
        "{}",
        text(&out)
    );

    let cache = cache_with_zim_and(dir.path(), &base);
    let out = run(nixspot()
        .args(["lock", "--quiet", "--cache-dir"])
        .arg(&cache)
        .arg(&module));
    assert!(out.status.success(), "nixspot lock failed:\n{}", text(&out));
    let lock: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&lock_file).expect("lock file"))
            .expect("lock JSON");
    let pin = &lock["oci"][&reference];
    let archive_sha256 = pin["archiveSha256"].as_str().expect("archiveSha256");
    let pinned = format!("{reference}@{}", pin["digest"].as_str().expect("digest"));

    // The fixed-output pull gives the archive the lock pins (Nix checks the hash too).
    let archives = dir.path().join("archives");
    nix_build(&format!("({image_expr}).ociArchives"), &archives);
    let archive = std::fs::read_link(&archives).expect("result link");
    assert_eq!(sha256_file(&archive), archive_sha256);

    // `nixspot oci import` records what a pull records.
    let imported = dir.path().join("imported-cache");
    let out = run(nixspot()
        .args(["oci", "import", "--cache-dir"])
        .arg(&imported)
        .arg(format!("{pinned}={}", archive.display())));
    assert!(out.status.success(), "{}", text(&out));
    let index: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(imported.join("index.json")).expect("cache index"),
    )
    .expect("index JSON");
    assert_eq!(&index["oci"][&pinned], pin, "{index:#}");
    let out = run(nixspot()
        .args(["oci", "import", "--cache-dir"])
        .arg(&imported)
        .arg(format!("{pinned}={ZIM}")));
    assert!(!out.status.success());
    assert!(
        text(&out).contains("not a docker-archive"),
        "{}",
        text(&out)
    );
    let out = run(nixspot()
        .args(["oci", "pull", "--quiet", "-o"])
        .arg(dir.path().join("unpinned.tar"))
        .arg(&reference));
    assert!(!out.status.success());
    assert!(text(&out).contains("nixspot lock"), "{}", text(&out));

    // The Nix-built image (content from the fixed-output derivations only) is the
    // image `nixspot build` writes from its cache.
    let result = dir.path().join("result");
    nix_build(&image_expr, &result);
    let direct = dir.path().join("direct.img");
    let out = build(&module, &direct, &cache, &["--locked"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        sha256_file(&result.join("oci-demo.img")),
        sha256_file(&direct),
        "the Nix-built image and `nixspot build` differ"
    );
    forget(&result);
}
