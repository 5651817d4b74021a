//! Locking against an in-memory mirror through the caller's fetch function, with
//! InRelease files signed by `gpg`.

mod common;

use std::collections::BTreeMap;

use common::gpg::{Gpg, GPG_NOW};
use nixspot_deb::lock::{lock, Lock, MirrorConfig, SourceConfig, Trust};
use nixspot_deb::signature::Keyring;
use nixspot_deb::Error;

struct Mirror {
    files: BTreeMap<String, Vec<u8>>,
    ring: Keyring,
}

const ROOT: &str = "http://mirror.test/debian";
const SNAPSHOT: &str = "http://snapshot.test/archive/debian";

/// The Release text (unsigned) listing `entries`.
fn release(entries: &[(&str, &[u8])], by_hash: bool, date: &str, extra: &str) -> String {
    let mut s = format!(
        "Suite: stable\nCodename: bookworm\nDate: {date}\n{extra}{}SHA256:\n",
        if by_hash {
            "Acquire-By-Hash: yes\n"
        } else {
            ""
        }
    );
    for (path, data) in entries {
        s.push_str(&format!(
            " {} {} {path}\n",
            common::sha256(data),
            data.len()
        ));
    }
    s
}

/// One signing key shared by the tests of this binary (gpg key generation is slow).
fn archive_key() -> &'static (Gpg, String) {
    static KEY: std::sync::OnceLock<(Gpg, String)> = std::sync::OnceLock::new();
    KEY.get_or_init(|| {
        let gpg = Gpg::new();
        let fpr = gpg.key("Test Archive <archive@test>", "never", Some("never"));
        (gpg, fpr)
    })
}

fn sign(text: &str) -> String {
    let (gpg, fpr) = archive_key();
    gpg.clearsign(fpr, text)
}

fn mirror(by_hash: bool) -> Mirror {
    mirror_with(by_hash, "")
}

/// The test mirror; `extra` goes into the bookworm Release (e.g. `Valid-Until`).
fn mirror_with(by_hash: bool, extra: &str) -> Mirror {
    let main = [
        common::stanza("app", "1", "Depends: lib (>= 1), fw"),
        common::stanza("lib", "1", ""),
        common::stanza("systemd", "252", ""),
    ]
    .concat();
    let updates = common::stanza("lib", "1.1", "Depends: systemd");
    let fw = common::stanza("fw", "2023", "");
    let main_xz = common::compress("xz", main.as_bytes());
    let fw_gz = common::compress("gz", fw.as_bytes());
    let upd_xz = common::compress("xz", updates.as_bytes());
    let mut files = BTreeMap::new();
    let d = format!("{ROOT}/dists");
    files.insert(
        format!("{d}/bookworm/InRelease"),
        sign(&release(
            &[
                ("main/binary-arm64/Packages.xz", &main_xz),
                ("non-free-firmware/binary-arm64/Packages.gz", &fw_gz),
            ],
            by_hash,
            "Thu, 01 Jan 2026 00:00:00 UTC",
            extra,
        ))
        .into_bytes(),
    );
    files.insert(
        format!("{d}/bookworm-updates/InRelease"),
        sign(&release(
            &[("main/binary-arm64/Packages.xz", &upd_xz)],
            by_hash,
            "Sat, 03 Jan 2026 06:00:00 UTC",
            "",
        ))
        .into_bytes(),
    );
    let put = |files: &mut BTreeMap<String, Vec<u8>>,
               suite: &str,
               comp: &str,
               name: &str,
               data: &[u8]| {
        let url = if by_hash {
            format!(
                "{d}/{suite}/{comp}/binary-arm64/by-hash/SHA256/{}",
                common::sha256(data)
            )
        } else {
            format!("{d}/{suite}/{comp}/binary-arm64/{name}")
        };
        files.insert(url, data.to_vec());
    };
    put(&mut files, "bookworm", "main", "Packages.xz", &main_xz);
    put(
        &mut files,
        "bookworm",
        "non-free-firmware",
        "Packages.gz",
        &fw_gz,
    );
    put(
        &mut files,
        "bookworm-updates",
        "main",
        "Packages.xz",
        &upd_xz,
    );
    let ring = Keyring::from_armor(&archive_key().0.export(&[]), "test.asc").unwrap();
    Mirror { files, ring }
}

fn config() -> MirrorConfig {
    let src = |suite: &str, comps: &[&str]| SourceConfig {
        url: format!("{ROOT}/"),
        suite: suite.to_string(),
        components: comps.iter().map(|s| s.to_string()).collect(),
        snapshot: Some(SNAPSHOT.to_string()),
    };
    MirrorConfig {
        architecture: "arm64".to_string(),
        sources: vec![
            src("bookworm", &["main", "non-free-firmware"]),
            src("bookworm-updates", &["main"]),
        ],
        exclude: vec!["systemd".to_string()],
    }
}

fn run(m: &Mirror, req: &[&str]) -> Result<Lock, Error> {
    let req: Vec<String> = req.iter().map(|s| s.to_string()).collect();
    let mut fetch = |url: &str| m.files.get(url).cloned().ok_or(format!("404 {url}"));
    let trust = Trust {
        keyring: &m.ring,
        now: GPG_NOW,
    };
    lock(&config(), &req, trust, &mut fetch)
}

#[test]
fn locks_the_closure_with_urls_hashes_and_index_digests() {
    for by_hash in [false, true] {
        let m = mirror(by_hash);
        let l = run(&m, &["app"]).unwrap();
        assert_eq!(l.format, 2);
        assert_eq!(l.requested, ["app"]);
        assert_eq!(l.exclude, ["systemd"]);
        let names: Vec<&str> = l.packages.keys().map(String::as_str).collect();
        assert_eq!(names, ["app", "fw", "lib"]);
        // The newer lib from bookworm-updates wins; systemd is excluded.
        let lib = &l.packages["lib"];
        assert_eq!(lib.version, "1.1");
        assert_eq!(lib.url, format!("{ROOT}/pool/main/lib_1.1_arm64.deb"));
        assert_eq!(lib.sha256, common::sha256(b"pool/main/lib_1.1_arm64.deb"));
        assert_eq!(lib.size, 103);
        // The newest Release Date (bookworm-updates, 2026-01-03 06:00) plus a day.
        assert_eq!(l.snapshot, "20260104T060000Z");
        assert_eq!(
            lib.snapshot_url.as_deref(),
            Some(&*format!(
                "{SNAPSHOT}/20260104T060000Z/pool/main/lib_1.1_arm64.deb"
            ))
        );
        assert_eq!(l.total_size(), 103 + 103 + 102);
        assert_eq!(l.indexes.len(), 3);
        assert_eq!(l.indexes[1].component, "non-free-firmware");
        assert!(l.indexes[1].url.ends_with(if by_hash {
            &l.indexes[1].sha256
        } else {
            "Packages.gz"
        }));
        assert_eq!(l.indexes[0].codename, "bookworm");
        assert_eq!(
            l.indexes[0].sha256,
            common::sha256(&m.files[&l.indexes[0].url])
        );
    }
}

#[test]
fn lock_json_round_trips_and_is_stable() {
    let m = mirror(true);
    let a = run(&m, &["app", "lib", "app"]).unwrap();
    let b = run(&m, &["lib", "app"]).unwrap();
    assert_eq!(a.to_json(), b.to_json());
    let json = a.to_json();
    assert!(json.ends_with("}\n"));
    assert_eq!(Lock::from_json(&json, "x.lock").unwrap(), a);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("base.lock.json");
    std::fs::write(&path, &json).unwrap();
    assert_eq!(Lock::read(&path).unwrap(), a);
    // Packages are sorted by name in the JSON text.
    let app = json.find("\"app\": {").unwrap();
    let fw = json.find("\"fw\": {").unwrap();
    assert!(app < fw);
}

#[test]
fn bad_lock_json_names_file_and_position() {
    let m = mirror(false);
    let json = run(&m, &["app"]).unwrap().to_json();
    let cases = [
        (
            json.replacen("\"format\": 2", "\"format\": 3", 1),
            "format: expected 1 or 2, found 3",
        ),
        (
            json.replacen("\"version\": \"1\"", "\"version\": 1", 1),
            "base.lock:45:18: invalid type",
        ),
        (
            json.replacen(
                "\"architecture\": \"arm64\",",
                "\"architecture\": \"arm64\", \"extra\": 0,",
                1,
            ),
            "unknown field `extra`",
        ),
        (
            json.replacen(&common::sha256(b"pool/main/app_1_arm64.deb"), "ABC", 1),
            "packages.app.sha256",
        ),
        ("{".to_string(), "base.lock:1:1"),
    ];
    for (text, want) in cases {
        let err = Lock::from_json(&text, "base.lock").unwrap_err().to_string();
        assert!(err.starts_with("base.lock:"), "{err}");
        assert!(err.contains(want), "{err} lacks {want}");
    }
    let err = Lock::read(std::path::Path::new("/nonexistent/x.lock")).unwrap_err();
    assert!(err.to_string().contains("/nonexistent/x.lock"), "{err}");
}

#[test]
fn corrupted_or_missing_indexes_are_reported_with_urls() {
    let mut m = mirror(false);
    let url = format!("{ROOT}/dists/bookworm/main/binary-arm64/Packages.xz");
    let mut data = m.files[&url].clone();
    data[20] ^= 1;
    m.files.insert(url.clone(), data);
    let err = run(&m, &["app"]).unwrap_err().to_string();
    assert!(err.contains(&format!("sha256 of {url}")), "{err}");
    m.files.get_mut(&url).unwrap().push(0);
    let err = run(&m, &["app"]).unwrap_err().to_string();
    assert!(err.contains(&format!("size of {url}")), "{err}");
    m.files.remove(&url);
    let err = run(&m, &["app"]).unwrap_err().to_string();
    assert!(err.contains(&format!("fetching {url}: 404")), "{err}");
    let err = run(&mirror(false), &["ghost"]).unwrap_err().to_string();
    assert!(err.contains("ghost: no such package"), "{err}");
}

#[test]
fn locked_package_verifies_downloads() {
    let l = run(&mirror(false), &["app"]).unwrap();
    let mut p = l.packages["fw"].clone();
    let data = b"a deb".to_vec();
    p.size = data.len() as u64;
    p.sha256 = common::sha256(&data);
    p.verify(&data).unwrap();
    let err = p.verify(b"a deb!").unwrap_err().to_string();
    assert!(err.contains("expected 5, got 6"), "{err}");
    let err = p.verify(b"a DEB").unwrap_err().to_string();
    assert!(err.contains(&format!("sha256 of {}", p.url)), "{err}");
}

#[test]
fn default_config_is_bookworm_arm64() {
    let c = MirrorConfig::bookworm_arm64();
    assert_eq!(c.architecture, "arm64");
    let suites: Vec<&str> = c.sources.iter().map(|s| s.suite.as_str()).collect();
    assert_eq!(
        suites,
        ["bookworm", "bookworm-updates", "bookworm-security"]
    );
    assert!(c.sources[2].url.ends_with("/debian-security"));
}

/// Replaces the bookworm InRelease of `m` with `text`.
fn put_release(m: &mut Mirror, text: String) {
    m.files.insert(
        format!("{ROOT}/dists/bookworm/InRelease"),
        text.into_bytes(),
    );
}

fn signed_body(m: &Mirror) -> String {
    let text = String::from_utf8(m.files[&format!("{ROOT}/dists/bookworm/InRelease")].clone());
    nixspot_deb::signature::verify_clearsigned(&text.unwrap(), &m.ring, GPG_NOW, "x")
        .unwrap()
        .text
}

fn signature_error(m: &Mirror) -> String {
    match run(m, &["app"]) {
        Err(e @ Error::Signature { .. }) => e.to_string(),
        other => panic!("expected a signature error, got {other:?}"),
    }
}

#[test]
fn an_unsigned_or_fake_signed_inrelease_is_refused() {
    let mut m = mirror(false);
    let body = signed_body(&m);
    put_release(&mut m, body.clone());
    let err = signature_error(&m);
    assert!(
        err.starts_with(&format!("{ROOT}/dists/bookworm/InRelease: ")),
        "{err}"
    );
    assert!(err.contains("not an OpenPGP clear-signed message"), "{err}");
    // The armour without a real signature (what the lock used to accept).
    put_release(
        &mut m,
        format!(
            "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\n{body}\
             -----BEGIN PGP SIGNATURE-----\n\nxx\n-----END PGP SIGNATURE-----\n"
        ),
    );
    signature_error(&m);
}

#[test]
fn an_inrelease_signed_by_another_key_is_refused() {
    let mut m = mirror(true);
    let body = signed_body(&m);
    let attacker = Gpg::new();
    let key = attacker.key("Mirror in the middle <mitm@test>", "never", None);
    put_release(&mut m, attacker.clearsign(&key, &body));
    let err = signature_error(&m);
    assert!(
        err.contains(&format!("signature by {key}: no key of the keyring")),
        "{err}"
    );
}

#[test]
fn a_packages_index_swapped_together_with_its_release_entry_is_refused() {
    // The attacker serves their own Packages and rewrites its digest in the InRelease,
    // keeping the archive's signature block: the signature no longer matches.
    let mut m = mirror(false);
    let evil = common::compress("xz", common::stanza("app", "9", "").as_bytes());
    let url = format!("{ROOT}/dists/bookworm/main/binary-arm64/Packages.xz");
    let old = m.files[&url].clone();
    m.files.insert(url, evil.clone());
    let signed = String::from_utf8(m.files[&format!("{ROOT}/dists/bookworm/InRelease")].clone())
        .unwrap()
        .replace(
            &format!("{} {}", common::sha256(&old), old.len()),
            &format!("{} {}", common::sha256(&evil), evil.len()),
        );
    put_release(&mut m, signed);
    let err = signature_error(&m);
    assert!(err.contains("no key of the keyring verifies it"), "{err}");
}

#[test]
fn a_release_past_its_valid_until_is_refused() {
    // GPG_NOW is 2025-01-01.
    let m = mirror_with(false, "Valid-Until: Tue, 31 Dec 2024 00:00:00 UTC\n");
    let err = run(&m, &["app"]).unwrap_err().to_string();
    assert!(
        err.contains("expired: Valid-Until Tue, 31 Dec 2024"),
        "{err}"
    );
    let m = mirror_with(false, "Valid-Until: Thu, 02 Jan 2025 00:00:00 UTC\n");
    run(&m, &["app"]).unwrap();
}

#[test]
fn a_format_1_lock_reads_and_gains_snapshot_urls_without_moving_versions() {
    let m = mirror(false);
    let current = run(&m, &["app"]).unwrap();
    let mut old = current.clone();
    old.format = 1;
    old.snapshot.clear();
    for p in old.packages.values_mut() {
        p.snapshot_url = None;
    }
    let json = old.to_json();
    assert!(!json.contains("snapshot"), "{json}");
    let mut read = Lock::from_json(&json, "old.lock").unwrap();
    assert_eq!(read, old);
    read.set_snapshots(&config()).unwrap();
    assert_eq!(read, current);
}
