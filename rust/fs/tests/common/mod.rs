//! Shared helpers for the integration tests: real oracles (e2fsck, debugfs, …).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use nixspot_fs::ext4::{Entry, EntryKind, Ext4Options, Ext4Writer, FileData, Meta, Size};

/// Runs a required tool; panics (fails the test) if it is missing.
pub fn run(cmd: &str, args: &[&str]) -> (i32, String) {
    let out = Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{cmd} is required (apt: see .ci/install-deps): {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

/// Asserts `e2fsck -fn` finds nothing to fix.
pub fn e2fsck_clean(img: &Path) {
    let (rc, out) = run("e2fsck", &["-fn", img.to_str().unwrap()]);
    assert_eq!(rc, 0, "e2fsck -fn {} is not clean:\n{out}", img.display());
}

/// `debugfs -R CMD IMG` output.
pub fn debugfs(img: &Path, cmd: &str) -> String {
    let (rc, out) = run("debugfs", &["-R", cmd, img.to_str().unwrap()]);
    assert_eq!(rc, 0, "debugfs -R {cmd:?} failed:\n{out}");
    out
}

/// Test options: fixed seed and time, minimal size.
pub fn opts() -> Ext4Options {
    Ext4Options {
        seed: b"test-seed".to_vec(),
        label: "data".into(),
        timestamp: 1_700_000_000,
        size: Size::Minimal {
            margin_bytes: 0,
            margin_percent: 0,
        },
        ..Ext4Options::default()
    }
}

/// Writes `entries` into a fresh image `dir/name`.
pub fn build(dir: &Path, name: &str, entries: Vec<Entry>, opts: Ext4Options) -> PathBuf {
    let mut w = Ext4Writer::new(opts);
    for e in entries {
        w.add(e).unwrap();
    }
    let plan = w.plan().unwrap();
    let img = dir.join(name);
    let f = std::fs::File::create(&img).unwrap();
    plan.write(&f, 0).unwrap();
    img
}

/// A metadata value.
pub fn meta(mode: u16) -> Meta {
    Meta {
        mode,
        uid: 0,
        gid: 0,
        mtime: 1_600_000_000,
        xattrs: Vec::new(),
    }
}

/// A regular file entry from bytes.
pub fn file(path: &str, data: &[u8]) -> Entry {
    Entry {
        path: path.into(),
        kind: EntryKind::File(FileData::Bytes(data.to_vec())),
        meta: meta(0o644),
    }
}

/// A directory entry.
pub fn dir(path: &str) -> Entry {
    Entry {
        path: path.into(),
        kind: EntryKind::Dir,
        meta: meta(0o755),
    }
}

/// A symlink entry.
pub fn symlink(path: &str, target: &[u8]) -> Entry {
    Entry {
        path: path.into(),
        kind: EntryKind::Symlink(target.to_vec()),
        meta: meta(0o777),
    }
}
