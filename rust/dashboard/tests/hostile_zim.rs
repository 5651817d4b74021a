//! Finding 11 (issue 19): a 39 KB ZIM whose title and description point to a 256 MiB
//! compressed blob made `nixspot-dashboard` peak at 5.8 GB and write a 1 GiB home.yaml
//! at every refresh. The real binary now runs it under a 256 MiB address-space limit
//! (`prlimit --as`): the ZIM is skipped with a warning, its neighbour is listed, and
//! home.yaml stays small.

#[path = "../../zim/tests/common/mod.rs"]
mod zimtest;

use std::path::PathBuf;
use std::process::Command;

const WIKIBOOKS: &str = "withns_wikibooks_be_all_nopic_2017-02.zim";

#[test]
fn metadata_bomb_is_skipped_within_bounded_memory() {
    let zims = tempfile::tempdir().unwrap();
    std::fs::write(zims.path().join("bomb.zim"), zimtest::hostile_zim()).unwrap();
    let real = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/fixtures/zim/"
    ))
    .join(WIKIBOOKS);
    std::fs::copy(real, zims.path().join(WIKIBOOKS)).unwrap();
    let work = tempfile::tempdir().unwrap();
    let config = work.path().join("home.yaml");
    // `timeout` only turns a hang into a failure: before the fix the binary ran out of
    // memory in the zstd decoder and could hang printing the backtrace.
    let out = Command::new("timeout")
        .arg("300")
        .arg("prlimit")
        .arg(format!("--as={}", 256u64 << 20))
        .arg(env!("CARGO_BIN_EXE_nixspot-dashboard"))
        .arg("discover")
        .arg("--config")
        .arg(&config)
        .arg("--zim-dir")
        .arg(zims.path())
        .env("RUST_BACKTRACE", "0")
        .output()
        .expect("timeout (coreutils) and prlimit (util-linux) must be installed");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{:?}: {stderr}", out.status);
    assert!(
        stderr.contains("bomb.zim") && stderr.contains("more than the limit of 65536 bytes"),
        "{stderr}"
    );
    let home = std::fs::read_to_string(&config).unwrap();
    assert!(home.len() < 16 * 1024, "home.yaml is {} bytes", home.len());
    assert!(home.contains(WIKIBOOKS), "{home}");
    assert!(!home.contains("bomb"), "{home}");
}
