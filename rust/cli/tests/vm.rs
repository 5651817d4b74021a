//! The VM checks (checks/vm/): the test hotspot `checks/vm/hotspot.nix` built by
//! `nixspot build` on nixspot's own base image (byte-reproducible: built twice from
//! separate caches), then booted in QEMU's raspi3b by `nixspot vm-test`, which runs
//! every check — boot, http, timeline, runtime, storage, portal, content, privileges, wifi,
//! captive, isolation, persistence — and prints the serial log of a failing step.

mod support;

use std::path::{Path, PathBuf};
use support::*;

const ZIM: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/fixtures/zim/withns_wikibooks_be_all_nopic_2017-02.zim"
);
const HOTSPOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../checks/vm/hotspot.nix");
/// The phone's tools (test-only packages, pinned like the base image's).
const CLIENT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../checks/vm/client.nix");
const CLIENT_LOCK: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../checks/vm/client.lock.json"
);
const BASE_LOCK: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../base/base.lock.json");

/// The test hotspot's phone packages (those of the client lock the base lacks), fetched
/// once like the base's `.deb`s (snapshot.debian.org fallback included) into the cache
/// the tests share; the paths of their cached copies.
fn client_debs() -> Vec<PathBuf> {
    let shared = target_dir().join("nixspot-test-cache/base-debs");
    let out = run(nixspot()
        .args(["base", "fetch"])
        .arg(CLIENT)
        .arg("--cache-dir")
        .arg(&shared));
    assert!(
        out.status.success(),
        "cannot download the phone's packages:\n{}",
        text(&out)
    );
    let read = |p: &str| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(p).expect("reading a lock")).expect("a lock")
    };
    let (client, base) = (read(CLIENT_LOCK), read(BASE_LOCK));
    let packages = client["packages"].as_object().expect("packages");
    let debs: Vec<PathBuf> = packages
        .iter()
        .filter(|(name, _)| base["packages"].get(name.as_str()).is_none())
        .map(|(_, p)| {
            let sha = p["sha256"].as_str().expect("sha256");
            shared.join("content").join(&sha[..2]).join(sha)
        })
        .collect();
    assert!(!debs.is_empty(), "the client lock adds no package");
    debs
}

fn build(dir: &Path) -> PathBuf {
    let cache = dir.join("cache");
    let out = run(nixspot()
        .args(["cache", "add", "--cache-dir"])
        .arg(&cache)
        .arg(ZIM));
    assert!(out.status.success(), "{}", text(&out));
    seed_base_debs(&cache);
    let out = run(nixspot()
        .args(["cache", "add", "--cache-dir"])
        .arg(&cache)
        .args(client_debs()));
    assert!(out.status.success(), "{}", text(&out));
    let image = dir.join("vm.img");
    let out = run(nixspot()
        .arg("build")
        .arg(HOTSPOT)
        .arg("-o")
        .arg(&image)
        .arg("--cache-dir")
        .arg(&cache)
        .args(["--offline", "--locked", "--quiet"]));
    assert!(out.status.success(), "build failed:\n{}", text(&out));
    image
}

#[test]
fn the_test_hotspot_is_reproducible_and_passes_every_vm_check() {
    let dir = tempfile::tempdir().expect("tempdir");
    let first = build(&dir.path().join("a"));
    let second = build(&dir.path().join("b"));
    assert_eq!(
        sha256_file(&first),
        sha256_file(&second),
        "two builds of the test hotspot differ"
    );
    std::fs::remove_file(&second).expect("rm");

    let out = run(nixspot().arg("vm-test").arg(&first).args([
        "--timeout",
        "2400",
        "--boot-timeout",
        "240",
    ]));
    let report = text(&out);
    eprintln!("{report}");
    assert!(out.status.success(), "the VM checks failed:\n{report}");
    for check in [
        "boot",
        "http",
        "timeline",
        "runtime",
        "storage",
        "portal",
        "content",
        "privileges",
        "wifi",
        "captive",
        "isolation",
        "persistence",
    ] {
        assert!(
            report
                .lines()
                .any(|l| l.starts_with(&format!("ok    {check} "))),
            "check {check} did not pass:\n{report}"
        );
    }
    // the test hotspot's deliberately invalid key is the only one kept
    assert!(
        report.contains("kept and reported: timezone\n")
            || report.contains("kept and reported: timezone\r"),
        "{report}"
    );
    assert!(report.contains("\"Wikibooks\""), "{report}");
}
