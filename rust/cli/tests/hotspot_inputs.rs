//! Every command that loads a hotspot (`manifest`, `size`, `fetch`, `lock`, `build`)
//! accepts the same inputs through one library entry point: a module, a flake reference
//! (`PATH#NAME`, and `.#NAME` from the flake's directory) and a recipe file, with the
//! same result for the same hotspot.

mod support;

use std::path::{Path, PathBuf};
use support::*;

const REPO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
const ZIM: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/fixtures/zim/withns_wikibooks_be_all_nopic_2017-02.zim"
);

fn repo() -> PathBuf {
    Path::new(REPO).canonicalize().expect("repository path")
}

/// `nixspot ARGS…` run from the repository (so `.#NAME` names its flake), asserting
/// success; returns standard output.
fn ok(args: &[&std::ffi::OsStr]) -> String {
    let out = run(nixspot().args(args).current_dir(repo()));
    assert!(
        out.status.success(),
        "nixspot {args:?} failed:\n{}",
        text(&out)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn os(s: &str) -> &std::ffi::OsStr {
    s.as_ref()
}

#[test]
fn manifest_and_size_accept_flake_references_and_recipes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let module = repo().join("hotspots/hotspot-demo.nix");
    let by_file = ok(&[os("manifest"), os("--json"), module.as_os_str()]);
    assert!(by_file.contains("\"base\""), "{by_file}");
    let absolute = format!("{}#hotspot-demo", repo().display());
    for reference in [".#hotspot-demo", absolute.as_str()] {
        assert_eq!(
            ok(&[os("manifest"), os("--json"), os(reference)]),
            by_file,
            "manifest {reference}"
        );
    }
    // The YAML default too (image-creator's key order, whatever the input).
    assert_eq!(
        ok(&[os("manifest"), os(".#hotspot-demo")]),
        ok(&[os("manifest"), module.as_os_str()])
    );
    // A recipe as `manifest` printed it loads back to itself.
    let recipe = dir.path().join("demo.json");
    std::fs::write(&recipe, &by_file).expect("write recipe");
    assert_eq!(
        ok(&[os("manifest"), os("--json"), recipe.as_os_str()]),
        by_file
    );

    let size = ok(&[os("size"), os("--json"), module.as_os_str()]);
    assert!(size.contains("\"total\""), "{size}");
    assert_eq!(ok(&[os("size"), os("--json"), os(".#hotspot-demo")]), size);
    assert_eq!(ok(&[os("size"), os("--json"), recipe.as_os_str()]), size);

    // The evaluator flag is one for every input: real Nix gives the same recipe.
    let real_nix = run(nixspot_testkit::nix(env!("CARGO_BIN_EXE_nixspot"))
        .args(["manifest", "--json", "--evaluator", "nix", ".#hotspot-demo"])
        .current_dir(repo()));
    assert!(real_nix.status.success(), "{}", text(&real_nix));
    assert_eq!(String::from_utf8_lossy(&real_nix.stdout), by_file);

    let missing = run(nixspot()
        .args(["manifest", ".#no-such-hotspot"])
        .current_dir(repo()));
    assert!(!missing.status.success());
    assert!(
        text(&missing).contains("no-such-hotspot") && text(&missing).contains("hotspot-demo"),
        "{}",
        text(&missing)
    );
}

#[test]
fn fetch_lock_and_build_accept_flake_references() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cache = dir.path().join("cache");
    let add = run(nixspot()
        .args(["cache", "add", "--cache-dir"])
        .arg(&cache)
        .arg(ZIM));
    assert!(add.status.success(), "{}", text(&add));
    seed_base_debs(&cache);
    let cache = cache.as_os_str();

    let fetched = ok(&[
        os("fetch"),
        os(".#hotspot-demo"),
        os("--offline"),
        os("--cache-dir"),
        cache,
    ]);
    assert!(fetched.contains("99465e14effc7f95"), "{fetched}");

    // A flake's hotspots pin through `hotspot.lockFile`: `lock` needs to be told where.
    let unnamed = run(nixspot()
        .args(["lock", ".#hotspot-demo", "--quiet", "--cache-dir"])
        .arg(cache)
        .current_dir(repo()));
    assert!(!unnamed.status.success());
    assert!(text(&unnamed).contains("--lock"), "{}", text(&unnamed));
    let by_ref = dir.path().join("by-ref.lock.json");
    let by_file = dir.path().join("by-file.lock.json");
    let module = repo().join("hotspots/hotspot-demo.nix");
    for (target, lock) in [
        (os(".#hotspot-demo"), &by_ref),
        (module.as_os_str(), &by_file),
    ] {
        ok(&[
            os("lock"),
            target,
            os("--quiet"),
            os("--lock"),
            lock.as_os_str(),
            os("--cache-dir"),
            cache,
        ]);
    }
    let pins = std::fs::read_to_string(&by_ref).expect("lock written");
    assert!(pins.contains("99465e14effc7f95"), "{pins}");
    assert_eq!(
        pins,
        std::fs::read_to_string(&by_file).expect("lock written")
    );

    let checked = ok(&[
        os("build"),
        os(".#hotspot-demo"),
        os("-C"),
        os("--offline"),
        os("--quiet"),
        os("--cache-dir"),
        cache,
        os("-o"),
        dir.path().join("demo.img").as_os_str(),
    ]);
    assert!(!checked.is_empty(), "build -C printed nothing");
}
