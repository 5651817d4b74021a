//! `nixspot build` on the demo hotspot: evaluated by nixspot's own evaluator, its ZIM
//! imported into the cache from the shared fixtures (no network), byte-reproducible
//! across directories, users, time zones and umasks, and clean under the oracles.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use support::*;

const ZIM: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/fixtures/zim/withns_wikibooks_be_all_nopic_2017-02.zim"
);
const DEMO: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../hotspots/hotspot-demo.nix"
);

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// A command run as the unprivileged `nobody` when the tests run as root (as in CI), so
/// that a build by another user is compared; as the current user otherwise.
fn as_other_user(program: &str) -> Command {
    if is_root() {
        let mut cmd = Command::new("runuser");
        cmd.args(["-u", "nobody", "--", program]);
        cmd
    } else {
        Command::new(program)
    }
}

/// A world-writable scratch directory (the `nobody` build writes there).
fn open_dir(parent: &Path, name: &str) -> PathBuf {
    let dir = parent.join(name);
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).expect("chmod");
    dir
}

fn build_demo(mut cmd: Command, work: &Path, tz: &str, umask: &str) -> PathBuf {
    let cache = work.join("cache");
    let output = work.join("demo.img");
    let script = format!(
        "umask {umask} && cd {work} && \"$0\" cache add --cache-dir {cache} {ZIM} {debs} >/dev/null && \
         \"$0\" build {DEMO} -o {output} --cache-dir {cache} --offline --locked --quiet",
        work = work.display(),
        cache = cache.display(),
        output = output.display(),
        debs = base_debs()
            .iter()
            .map(|d| d.display().to_string())
            .collect::<Vec<_>>()
            .join(" "),
    );
    let out = run(cmd
        .arg("-c")
        .arg(script)
        .arg(env!("CARGO_BIN_EXE_nixspot"))
        .env("TZ", tz)
        .env("NIXSPOT_DEVICE_BINARIES", device_binaries())
        .env("XDG_CACHE_HOME", work.join("xdg"))
        .env("HOME", work)
        .env_remove("SOURCE_DATE_EPOCH")
        .env_remove("NIXSPOT_MODULES"));
    assert!(out.status.success(), "demo build failed:\n{}", text(&out));
    output
}

#[test]
fn the_demo_builds_offline_reproducibly_and_passes_the_oracles() {
    let top = tempfile::tempdir().expect("tempdir");
    std::fs::set_permissions(top.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let first = build_demo(
        Command::new("sh"),
        &open_dir(top.path(), "first"),
        "UTC",
        "022",
    );
    let second = build_demo(
        as_other_user("sh"),
        &open_dir(top.path(), "second/elsewhere"),
        "Pacific/Auckland",
        "077",
    );
    assert_eq!(
        sha256_file(&first),
        sha256_file(&second),
        "the same recipe and inputs give the same image bytes"
    );

    let parts = sfdisk_partitions(&first);
    assert_eq!(parts.len(), 3);
    assert_e2fsck_clean(&first, parts[2].start);
    let zim = debugfs_cat(
        &first,
        parts[2].start,
        "/contents/zims/openZIM_wikibooks_be_all_nopic.zim",
    );
    assert_eq!(
        zim,
        std::fs::read(ZIM).expect("fixture"),
        "the ZIM is intact"
    );
    assert_eq!(debugfs_cat(&first, parts[2].start, "/master_fs"), b"");
    let yaml = fat_check_and_read(&first, parts[0], "offspot.yaml", top.path());
    let yaml = String::from_utf8_lossy(&yaml);
    assert!(yaml.contains("ssid: Kiwix Demo"), "{yaml}");
}
