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
    let out = run(Command::new("nix-instantiate")
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
    cache
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
        repo().join("images/hotspot-demo.nix"),
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

#[test]
fn the_flake_image_derivation_gives_the_bytes_of_nixspot_build() {
    let dir = tempfile::tempdir().expect("tempdir");
    // The builder's path carries the binary's hash, so a changed nixspot is a new
    // derivation (Nix would otherwise reuse an older output).
    let binary = std::fs::read(env!("CARGO_BIN_EXE_nixspot")).expect("binary");
    let bin_dir = std::env::temp_dir().join(format!("nixspot-{}", &sha256_bytes(&binary)[..16]));
    std::fs::create_dir_all(&bin_dir).expect("mkdir");
    let exe = bin_dir.join("nixspot");
    if !exe.exists() {
        std::fs::write(&exe, &binary).expect("copy binary");
        std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    let expr = format!(
        r#"{outputs}.lib.mkHotspotImage {{
             modules = [ {repo}/images/hotspot-demo.nix ];
             nixspotExe = "{exe}";
             name = "hotspot-demo";
             system = builtins.currentSystem;
             urlMap = {{ "{ZIM_URL}" = "file://{zim}"; }};
           }}"#,
        outputs = outputs_expr(),
        repo = repo().display(),
        exe = exe.display(),
        zim = Path::new(ZIM).canonicalize().expect("fixture").display(),
    );
    let result = dir.path().join("result");
    let out = run(Command::new("nix-build")
        .args(["--option", "sandbox", "false", "-o"])
        .arg(&result)
        .args(["-E", &expr]));
    assert!(out.status.success(), "nix-build failed:\n{}", text(&out));
    let from_nix = result.join("hotspot-demo.img");

    let cache = cache_with_zim(dir.path());
    let direct = dir.path().join("direct.img");
    let out = build(
        repo().join("images/hotspot-demo.nix"),
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

    // An unpinned download makes evaluation fail, telling the user to lock.
    let unpinned = format!(
        r#"{outputs}.lib.mkHotspotImage {{
             modules = [ {repo}/images/hotspot-demo.nix
                         {{ hotspot.zims.extra.url = "https://example.org/extra.zim"; }} ];
             nixspotExe = "/bin/false";
           }}"#,
        outputs = outputs_expr(),
        repo = repo().display(),
    );
    let out = run(Command::new("nix-instantiate").args(["-E", &unpinned]));
    assert!(!out.status.success());
    assert!(text(&out).contains("nixspot lock"), "{}", text(&out));
}

fn sha256_bytes(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
