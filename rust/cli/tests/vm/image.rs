//! The test hotspot (`checks/vm/hotspot.nix`) built by `nixspot build` on nixspot's own
//! base image, offline: its ZIM, the base's `.deb`s and the phone's test-only packages
//! imported into a new cache first.

use crate::support::*;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

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
/// the tests share; the paths of their cached copies. Once per process: both tests
/// build the image at the same time.
fn client_debs() -> &'static [PathBuf] {
    static DEBS: OnceLock<Vec<PathBuf>> = OnceLock::new();
    DEBS.get_or_init(fetch_client_debs)
}

fn fetch_client_debs() -> Vec<PathBuf> {
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

/// The test hotspot's image, built offline from a new cache in `dir`.
pub fn build(dir: &Path) -> PathBuf {
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
