//! `nixspot base lock` and `nixspot base fetch` against a local stand-in for Debian's
//! mirror and snapshot archive: InRelease files signed by `gpg`, refused when the
//! signature is not by the keyring; `.deb`s fetched from snapshot.debian.org's URL when
//! the pool has dropped them.

mod support;

#[path = "../../deb/tests/common/gpg.rs"]
mod gpg;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use gpg::Gpg;
use support::HttpServer;

fn sha256(data: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The three packages a base description needs at least, as fake `.deb` bytes.
const DEBS: [(&str, &str); 3] = [
    (
        "busybox-static",
        "pool/main/b/busybox/busybox-static_1_arm64.deb",
    ),
    (
        "linux-image-1-arm64",
        "pool/main/l/linux/linux-image-1-arm64_1_arm64.deb",
    ),
    ("runit", "pool/main/r/runit/runit_1_arm64.deb"),
];

fn deb_bytes(name: &str) -> Vec<u8> {
    format!("not really a deb: {name}\n").into_bytes()
}

fn packages_index() -> String {
    DEBS.iter()
        .map(|(name, file)| {
            let data = deb_bytes(name);
            format!(
                "Package: {name}\nVersion: 1\nArchitecture: arm64\nFilename: {file}\n\
                 Size: {}\nSHA256: {}\n\n",
                data.len(),
                sha256(&data)
            )
        })
        .collect()
}

/// Routes of the stand-in: the mirror (with `release` as bookworm's InRelease) and,
/// when `pool` is false, no pool files (they were dropped); the snapshot archive
/// serves `snapshot_bytes(name)` under `/snapshot/debian/<time>/<Filename>`.
fn routes(
    release: &str,
    pool: bool,
    snapshot_time: &str,
    snapshot_bytes: impl Fn(&str) -> Vec<u8>,
) -> BTreeMap<String, Vec<u8>> {
    let mut r = BTreeMap::new();
    r.insert(
        "/debian/dists/bookworm/InRelease".to_string(),
        release.as_bytes().to_vec(),
    );
    r.insert(
        "/debian/dists/bookworm/main/binary-arm64/Packages".to_string(),
        packages_index().into_bytes(),
    );
    for (name, file) in DEBS {
        if pool {
            r.insert(format!("/debian/{file}"), deb_bytes(name));
        }
        r.insert(
            format!("/snapshot/debian/{snapshot_time}/{file}"),
            snapshot_bytes(name),
        );
    }
    r
}

fn release_text() -> String {
    let index = packages_index();
    format!(
        "Origin: Test\nSuite: stable\nCodename: bookworm\nDate: Thu, 01 Jan 2026 00:00:00 UTC\n\
         SHA256:\n {} {} main/binary-arm64/Packages\n",
        sha256(index.as_bytes()),
        index.len()
    )
}

/// A base description: the repository's own, with the mirror and packages replaced.
fn write_config(dir: &Path, base: &str) -> PathBuf {
    let images = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../base/base.nix");
    let path = dir.join("base.nix");
    std::fs::write(
        &path,
        format!(
            "(import {}) // {{\n  mirror = {{ architecture = \"arm64\"; exclude = [ ];\n    \
             sources = [ {{ url = \"{base}/debian\"; suite = \"bookworm\"; components = [ \"main\" ];\n      \
             snapshot = \"{base}/snapshot/debian\"; }} ]; }};\n  \
             packages = [ \"busybox-static\" \"linux-image-1-arm64\" \"runit\" ];\n  \
             kernel = \"linux-image-1-arm64\";\n}}\n",
            images.display()
        ),
    )
    .unwrap();
    path
}

fn nixspot(args: &[&str], dir: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_nixspot"))
        .args(args)
        .current_dir(dir)
        .env("HOME", dir)
        .env("XDG_CACHE_HOME", dir.join("xdg-cache"))
        .output()
        .unwrap()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Signs bookworm's Release with a fresh key; returns the signed text and the path of
/// a keyring file holding that key.
fn signed_release(dir: &Path) -> (String, PathBuf, Gpg) {
    let gpg = Gpg::new();
    let key = gpg.key("Test Archive <archive@test>", "never", Some("never"));
    let ring = dir.join("archive.asc");
    std::fs::write(&ring, gpg.export(&[])).unwrap();
    (gpg.clearsign(&key, &release_text()), ring, gpg)
}

#[test]
fn lock_pins_snapshot_urls_and_fetch_falls_back_to_them_when_the_pool_drops_a_package() {
    let dir = tempfile::tempdir().unwrap();
    let (release, ring, _gpg) = signed_release(dir.path());
    // Release Date 2026-01-01 00:00 + a day.
    let time = "20260102T000000Z";
    let server = HttpServer::start(routes(&release, true, time, deb_bytes));
    let config = write_config(dir.path(), &server.base);
    let lock = dir.path().join("base.lock.json");
    let ring_arg = ring.to_str().unwrap();
    let out = nixspot(
        &[
            "base",
            "lock",
            "base.nix",
            "--lock",
            "base.lock.json",
            "--keyring",
            ring_arg,
        ],
        dir.path(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&lock).unwrap()).unwrap();
    assert_eq!(json["format"], 2);
    assert_eq!(json["snapshot"], time);
    assert_eq!(
        json["packages"]["runit"]["snapshot_url"],
        format!(
            "{}/snapshot/debian/{time}/pool/main/r/runit/runit_1_arm64.deb",
            server.base
        )
    );
    assert_eq!(
        json["packages"]["runit"]["url"],
        format!("{}/debian/pool/main/r/runit/runit_1_arm64.deb", server.base)
    );

    // Months later the pool has dropped every package: the same lock still fetches.
    let gone = HttpServer::start(routes(&release, false, time, deb_bytes));
    let moved = std::fs::read_to_string(&lock)
        .unwrap()
        .replace(&server.base, &gone.base);
    std::fs::write(&lock, moved).unwrap();
    let cache = dir.path().join("cache");
    let out = nixspot(
        &[
            "base",
            "fetch",
            config.to_str().unwrap(),
            "--lock",
            "base.lock.json",
            "--cache-dir",
            "cache",
        ],
        dir.path(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let seen = gone.requests.lock().unwrap().clone();
    for (_, file) in DEBS {
        assert!(seen.contains(&format!("/debian/{file}")), "{seen:?}");
        assert!(
            seen.contains(&format!("/snapshot/debian/{time}/{file}")),
            "{seen:?}"
        );
    }
    // The cache holds the verified bytes (content-addressed by sha256).
    let cached: Vec<PathBuf> = walk(&cache);
    for (name, _) in DEBS {
        let want = deb_bytes(name);
        assert!(
            cached
                .iter()
                .any(|p| std::fs::read(p).ok().as_deref() == Some(&want[..])),
            "{name} not cached: {cached:?}"
        );
    }
}

#[test]
fn a_snapshot_serving_other_bytes_is_refused_and_nothing_is_cached() {
    let dir = tempfile::tempdir().unwrap();
    let (release, ring, _gpg) = signed_release(dir.path());
    let time = "20260102T000000Z";
    let server = HttpServer::start(routes(&release, true, time, deb_bytes));
    let config = write_config(dir.path(), &server.base);
    let ring_arg = ring.to_str().unwrap();
    let out = nixspot(
        &[
            "base",
            "lock",
            "base.nix",
            "--lock",
            "base.lock.json",
            "--keyring",
            ring_arg,
        ],
        dir.path(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let evil = HttpServer::start(routes(&release, false, time, |name| {
        let mut b = deb_bytes(name);
        b[0] ^= 1;
        b
    }));
    let lock = dir.path().join("base.lock.json");
    let moved = std::fs::read_to_string(&lock)
        .unwrap()
        .replace(&server.base, &evil.base);
    std::fs::write(&lock, moved).unwrap();
    let out = nixspot(
        &[
            "base",
            "fetch",
            config.to_str().unwrap(),
            "--lock",
            "base.lock.json",
            "--cache-dir",
            "cache",
        ],
        dir.path(),
    );
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("sha256 mismatch"), "{err}");
    assert!(err.contains("/snapshot/debian/"), "{err}");
    let cached: Vec<PathBuf> = walk(&dir.path().join("cache"));
    for p in &cached {
        let data = std::fs::read(p).unwrap_or_default();
        assert!(
            !data.starts_with(b"oot really a deb"),
            "{} was cached",
            p.display()
        );
    }
}

#[test]
fn lock_refuses_a_release_signed_by_another_key_and_keeps_the_old_lock() {
    let dir = tempfile::tempdir().unwrap();
    let (_, ring, _gpg) = signed_release(dir.path());
    let attacker = Gpg::new();
    let key = attacker.key("Mirror in the middle <mitm@test>", "never", None);
    let forged = attacker.clearsign(&key, &release_text());
    let server = HttpServer::start(routes(&forged, true, "x", deb_bytes));
    write_config(dir.path(), &server.base);
    let lock = dir.path().join("base.lock.json");
    std::fs::write(&lock, "previous lock\n").unwrap();
    let ring_arg = ring.to_str().unwrap();
    let out = nixspot(
        &[
            "base",
            "lock",
            "base.nix",
            "--lock",
            "base.lock.json",
            "--update",
            "--keyring",
            ring_arg,
        ],
        dir.path(),
    );
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains(&format!("{}/debian/dists/bookworm/InRelease", server.base)),
        "{err}"
    );
    assert!(
        err.contains(&format!("signature by {key}: no key of the keyring")),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&lock).unwrap(), "previous lock\n");
    // Without --keyring the pinned Debian keys apply, which did not sign it either.
    let out = nixspot(
        &["base", "lock", "base.nix", "--lock", "new.lock.json"],
        dir.path(),
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains(
            "no valid signature by the pinned keys (B8B80B5B623EAB6AD8775C45B7C5D7D6350947F8"
        ),
        "{}",
        stderr(&out)
    );
    assert!(!dir.path().join("new.lock.json").exists());
}

#[test]
fn lock_without_update_keeps_versions_and_adds_snapshot_urls_to_a_format_1_lock() {
    let dir = tempfile::tempdir().unwrap();
    let (release, ring, _gpg) = signed_release(dir.path());
    let time = "20260102T000000Z";
    let server = HttpServer::start(routes(&release, true, time, deb_bytes));
    write_config(dir.path(), &server.base);
    let ring_arg = ring.to_str().unwrap();
    let out = nixspot(
        &[
            "base",
            "lock",
            "base.nix",
            "--lock",
            "base.lock.json",
            "--keyring",
            ring_arg,
        ],
        dir.path(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let lock = dir.path().join("base.lock.json");
    let current = std::fs::read_to_string(&lock).unwrap();
    // The same lock as format 1 wrote it: no snapshot fields, plain http.
    let mut old: serde_json::Value = serde_json::from_str(&current).unwrap();
    old["format"] = 1.into();
    old.as_object_mut().unwrap().remove("snapshot");
    for p in old["packages"].as_object_mut().unwrap().values_mut() {
        p.as_object_mut().unwrap().remove("snapshot_url");
    }
    std::fs::write(&lock, serde_json::to_string_pretty(&old).unwrap() + "\n").unwrap();
    let requests_before = server.requests.lock().unwrap().len();
    let out = nixspot(
        &["base", "lock", "base.nix", "--lock", "base.lock.json"],
        dir.path(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("versions kept"), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(&lock).unwrap(), current);
    // No network: the refresh works from the lock alone.
    assert_eq!(server.requests.lock().unwrap().len(), requests_before);
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn the_committed_base_lock_has_the_snapshot_urls_its_description_gives() {
    // `nixspot base lock` without --update recomputes URLs and snapshot URLs from the
    // description alone: on the committed lock it must change nothing (and need no
    // network), so a hand edit or a stale field shows here.
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let committed = std::fs::read_to_string(repo.join("base/base.lock.json")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("base.lock.json");
    std::fs::write(&copy, &committed).unwrap();
    let config = repo.join("base/base.nix");
    let out = nixspot(
        &[
            "base",
            "lock",
            config.to_str().unwrap(),
            "--lock",
            copy.to_str().unwrap(),
        ],
        dir.path(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(&copy).unwrap(), committed);
    let json: serde_json::Value = serde_json::from_str(&committed).unwrap();
    assert_eq!(json["format"], 2);
    for (name, p) in json["packages"].as_object().unwrap() {
        let url = p["url"].as_str().unwrap();
        assert!(url.starts_with("https://deb.debian.org/"), "{name}: {url}");
        let snapshot = p["snapshot_url"].as_str().unwrap();
        let (archive, path) = url
            .strip_prefix("https://deb.debian.org/")
            .unwrap()
            .split_once('/')
            .unwrap();
        assert_eq!(
            snapshot,
            format!(
                "https://snapshot.debian.org/archive/{archive}/{}/{path}",
                json["snapshot"].as_str().unwrap()
            ),
            "{name}"
        );
    }
}
