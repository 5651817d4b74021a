//! OpenPGP verification of InRelease files: real Debian metadata against the pinned
//! keys, and `gpg`-signed test metadata with good, tampered, unknown and expired keys.

mod common;

use common::gpg::{Gpg, GPG_NOW};
use nixspot_deb::signature::{verify_clearsigned, Keyring};
use nixspot_deb::Error;

/// bookworm-security's InRelease as apt fetched it on 2026-12-04.
const REAL: &str = include_str!("data/bookworm-security-InRelease");
/// Its `Date`: Wed, 02 Dec 2026 23:13:43 UTC.
const REAL_DATE: u64 = 1_796_253_223;

const BODY: &str = "Origin: Test\nSuite: stable\nCodename: bookworm\n\
Date: Sat, 01 Jan 2024 00:00:00 UTC\nSHA256:\n \
0000000000000000000000000000000000000000000000000000000000000000 0 main/Packages\n";

fn refused(result: nixspot_deb::Result<nixspot_deb::signature::Verified>, needle: &str) {
    match result {
        Err(e @ Error::Signature { .. }) => {
            let msg = e.to_string();
            assert!(msg.contains(needle), "{needle:?} not in: {msg}");
        }
        other => panic!("expected a signature error containing {needle:?}, got {other:?}"),
    }
}

#[test]
fn the_pinned_keys_are_debians_bookworm_keys() {
    let ring = Keyring::debian_bookworm().unwrap();
    assert_eq!(
        ring.fingerprints(),
        [
            "B8B80B5B623EAB6AD8775C45B7C5D7D6350947F8",
            "05AB90340C0C5E797F44A8C8254CF3B5AEC0A8F0",
            "4D64FEC119C2029067D6E791F8D2585B8783D481",
        ]
    );
}

#[test]
fn real_debian_inrelease_verifies_against_the_pinned_keys() {
    let ring = Keyring::debian_bookworm().unwrap();
    let v = verify_clearsigned(REAL, &ring, REAL_DATE, "bookworm-security/InRelease").unwrap();
    // The bookworm security key's signing subkey (the bullseye key's signature, also
    // present, is by a key that is not pinned).
    assert_eq!(v.signer, "B0CAB9266E8C3929798B3EEEBDE6D2B9216EC7A8");
    assert!(v
        .text
        .starts_with("Origin: Debian\nLabel: Debian-Security\n"));
    assert!(!v.text.contains('\r'));
    assert!(!v.text.contains("PGP"));
}

#[test]
fn real_debian_inrelease_with_one_changed_digest_is_refused() {
    let ring = Keyring::debian_bookworm().unwrap();
    // Swap one hex digit in the SHA256 list: an attacker pointing apt at other indexes.
    let at = REAL.find("\nSHA256:\n ").unwrap() + 10;
    let mut bytes = REAL.as_bytes().to_vec();
    bytes[at] = if bytes[at] == b'0' { b'1' } else { b'0' };
    let tampered = String::from_utf8(bytes).unwrap();
    refused(
        verify_clearsigned(&tampered, &ring, REAL_DATE, "x"),
        "no valid signature by the pinned keys",
    );
}

#[test]
fn real_debian_inrelease_after_the_keys_expire_is_refused() {
    let ring = Keyring::debian_bookworm().unwrap();
    // 2031-02-01: every pinned bookworm key has expired.
    refused(
        verify_clearsigned(REAL, &ring, 1_927_584_000, "x"),
        "expired on 2031-01-19",
    );
}

#[test]
fn a_good_signature_by_a_signing_subkey_verifies() {
    let gpg = Gpg::new();
    let signer = gpg.key("Test Archive <archive@test>", "never", Some("never"));
    let ring = Keyring::from_armor(&gpg.export(&[]), "test.asc").unwrap();
    let signed = gpg.clearsign(&signer, BODY);
    let v = verify_clearsigned(&signed, &ring, GPG_NOW, "test").unwrap();
    assert_eq!(v.signer, signer);
    assert_eq!(v.text.trim_end(), BODY.trim_end());
}

#[test]
fn a_good_signature_by_a_primary_key_verifies_and_dashes_are_unescaped() {
    let gpg = Gpg::new();
    let signer = gpg.key("Test Archive <archive@test>", "never", None);
    let ring = Keyring::from_armor(&gpg.export(&[]), "test.asc").unwrap();
    let body = format!("{BODY}- dash line\n");
    let signed = gpg.clearsign(&signer, &body);
    assert!(signed.contains("\n- - dash line\n"));
    let v = verify_clearsigned(&signed, &ring, GPG_NOW, "test").unwrap();
    assert_eq!(v.text.trim_end(), body.trim_end());
}

#[test]
fn a_tampered_body_is_refused() {
    let gpg = Gpg::new();
    let signer = gpg.key("Test Archive <archive@test>", "never", Some("never"));
    let ring = Keyring::from_armor(&gpg.export(&[]), "test.asc").unwrap();
    let signed = gpg.clearsign(&signer, BODY);
    let tampered = signed.replace("Codename: bookworm", "Codename: bookwork");
    assert_ne!(tampered, signed);
    refused(
        verify_clearsigned(&tampered, &ring, GPG_NOW, "test"),
        "no key of the keyring verifies it",
    );
}

#[test]
fn a_corrupted_signature_is_refused() {
    let gpg = Gpg::new();
    let signer = gpg.key("Test Archive <archive@test>", "never", None);
    let ring = Keyring::from_armor(&gpg.export(&[]), "test.asc").unwrap();
    let signed = gpg.clearsign(&signer, BODY);
    // Flip bits inside the signature's base64 (the line before the CRC line).
    let lines: Vec<&str> = signed.lines().collect();
    let crc = lines.iter().rposition(|l| l.starts_with('=')).unwrap();
    let mut sig_line = lines[crc - 1].to_string();
    let mid = sig_line.len() / 2;
    let c = sig_line.as_bytes()[mid];
    sig_line.replace_range(mid..mid + 1, if c == b'A' { "B" } else { "A" });
    let mut out: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    out[crc - 1] = sig_line;
    out.remove(crc); // the armour checksum would catch the change before OpenPGP does
    let bad = out.join("\n") + "\n";
    let err = verify_clearsigned(&bad, &ring, GPG_NOW, "test").unwrap_err();
    assert!(matches!(err, Error::Signature { .. }), "{err}");
}

#[test]
fn a_signature_by_an_unknown_key_is_refused() {
    let gpg = Gpg::new();
    let pinned = gpg.key("Pinned <pinned@test>", "never", None);
    let ring = Keyring::from_armor(&gpg.export(&[&pinned]), "pinned.asc").unwrap();
    let attacker = Gpg::new();
    let other = attacker.key("Attacker <evil@test>", "never", Some("never"));
    let signed = attacker.clearsign(&other, BODY);
    refused(
        verify_clearsigned(&signed, &ring, GPG_NOW, "test"),
        &format!("signature by {other}: no key of the keyring verifies it"),
    );
}

#[test]
fn a_signature_by_an_expired_key_is_refused() {
    let gpg = Gpg::new();
    // Made 2024-01-01, expires a day later; the signature is made within that day.
    let signer = gpg.key("Old Archive <old@test>", "2d", None);
    let ring = Keyring::from_armor(&gpg.export(&[]), "test.asc").unwrap();
    let signed = gpg.clearsign(&signer, BODY);
    refused(
        verify_clearsigned(&signed, &ring, GPG_NOW, "test"),
        &format!("signature by {signer}: key {signer} expired on 2024-01-03"),
    );
    // The same signature was acceptable while the key was valid.
    verify_clearsigned(&signed, &ring, 1_704_117_600, "test").unwrap();
}

#[test]
fn a_signature_by_an_expired_subkey_is_refused() {
    let gpg = Gpg::new();
    // The primary key never expires; its signing subkey does, after two days.
    let signer = gpg.key("Old Archive <old@test>", "never", Some("2d"));
    let ring = Keyring::from_armor(&gpg.export(&[]), "test.asc").unwrap();
    let signed = gpg.clearsign(&signer, BODY);
    let err = verify_clearsigned(&signed, &ring, GPG_NOW, "test")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(&format!(
            "signature by {signer}: subkey {signer} expired on 2024-01-03"
        )),
        "{err}"
    );
}

#[test]
fn unsigned_and_malformed_release_files_are_refused() {
    let ring = Keyring::debian_bookworm().unwrap();
    refused(
        verify_clearsigned(BODY, &ring, GPG_NOW, "plain"),
        "not an OpenPGP clear-signed message",
    );
    let fake = format!(
        "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\n{BODY}\
         -----BEGIN PGP SIGNATURE-----\n\nxx\n-----END PGP SIGNATURE-----\n"
    );
    refused(verify_clearsigned(&fake, &ring, GPG_NOW, "fake"), "fake: ");
}

#[test]
fn keyring_files_that_are_not_keys_are_refused() {
    for text in ["", "hello", "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nxx\n"] {
        let err = Keyring::from_armor(text, "bad.asc").unwrap_err();
        assert!(matches!(err, Error::Keyring { .. }), "{err}");
        assert!(err.to_string().starts_with("bad.asc: "), "{err}");
    }
}

#[test]
fn binary_keyrings_read_like_armoured_ones() {
    // Debian's own keyring files, as installed by debian-archive-keyring, are binary.
    let armoured = Keyring::debian_bookworm().unwrap();
    let gpg = Gpg::new();
    let signer = gpg.key("Test Archive <archive@test>", "never", Some("never"));
    let binary = gpg.export_binary();
    assert!(!binary.starts_with(b"-----"));
    let ring = Keyring::from_bytes(&binary, "test.gpg").unwrap();
    let signed = gpg.clearsign(&signer, BODY);
    verify_clearsigned(&signed, &ring, GPG_NOW, "test").unwrap();
    assert_eq!(armoured.fingerprints().len(), 3);
    let err = Keyring::from_bytes(b"\x99garbage", "bad.gpg").unwrap_err();
    assert!(err.to_string().starts_with("bad.gpg: "), "{err}");
}
