//! OpenPGP verification of clear-signed `InRelease` files against pinned archive keys.
//!
//! A Release file is only trusted when at least one of its signatures verifies against a
//! key of the [`Keyring`] (the primary key or a signing-capable subkey), that key is
//! neither expired nor revoked at the time given, and the signature itself has not
//! expired. Signatures by keys that are not in the keyring are ignored, as apt does:
//! Debian signs every Release file with several keys at once.

use pgp::composed::{CleartextSignedMessage, Deserializable, SignedPublicKey};
use pgp::packet::{Signature, SignatureType};
use pgp::types::{KeyDetails, Tag, Timestamp};

use crate::error::{Error, Result};

/// The pinned keys of Debian bookworm (archive, security archive and stable release
/// keys), exported from the `debian-archive-keyring` package; see `keys/README.md`.
pub const DEBIAN_BOOKWORM_KEYS: &str = include_str!("../keys/debian-archive-bookworm.asc");

/// Public keys that may sign Release files.
#[derive(Debug, Clone)]
pub struct Keyring {
    keys: Vec<SignedPublicKey>,
}

impl Keyring {
    /// Debian bookworm's archive keys, as pinned in this crate.
    pub fn debian_bookworm() -> Result<Keyring> {
        Keyring::from_armor(DEBIAN_BOOKWORM_KEYS, "keys/debian-archive-bookworm.asc")
    }

    /// Parses ASCII-armoured public keys (one armour block with one or more keys);
    /// `source_name` goes into errors. Only verified self-signatures are kept.
    pub fn from_armor(text: &str, source_name: &str) -> Result<Keyring> {
        Keyring::from_bytes(text.as_bytes(), source_name)
    }

    /// Parses public keys, ASCII-armoured or binary (as in `/usr/share/keyrings/*.gpg`
    /// and `gpg --export`); `source_name` goes into errors.
    pub fn from_bytes(bytes: &[u8], source_name: &str) -> Result<Keyring> {
        let bad = |message: String| Error::Keyring {
            source_name: source_name.to_string(),
            message,
        };
        let armoured = bytes.trim_ascii_start().starts_with(b"-----BEGIN PGP");
        let parsed = if armoured {
            SignedPublicKey::from_armor_many(bytes)
                .map(|(keys, _)| keys)
                .map_err(|e| bad(format!("not an armoured OpenPGP public key block: {e}")))?
        } else {
            SignedPublicKey::from_bytes_many(bytes)
                .map_err(|e| bad(format!("not OpenPGP public keys: {e}")))?
        };
        let mut keys = Vec::new();
        for key in parsed {
            let key = key.map_err(|e| bad(format!("unreadable public key: {e}")))?;
            let key = self_signed_only(key);
            if key.details.users.iter().all(|u| u.signatures.is_empty()) {
                return Err(bad(format!(
                    "key {}: no user ID carries a valid self-signature",
                    fingerprint(&key)
                )));
            }
            keys.push(key);
        }
        if keys.is_empty() {
            return Err(bad("no public key in the file".to_string()));
        }
        Ok(Keyring { keys })
    }

    /// Primary key fingerprints (upper-case hex), in file order.
    pub fn fingerprints(&self) -> Vec<String> {
        self.keys.iter().map(fingerprint).collect()
    }
}

/// Keeps only the signatures the key made over itself and that verify: certifications
/// by other keys (Debian's keys carry many) say nothing about validity here, and an
/// unverifiable self-signature must not set an expiry date or a signing capability.
fn self_signed_only(mut key: SignedPublicKey) -> SignedPublicKey {
    let primary = key.primary_key.clone();
    for user in &mut key.details.users {
        let id = user.id.clone();
        user.signatures
            .retain(|s| s.verify_certification(&primary, Tag::UserId, &id).is_ok());
    }
    key.details
        .direct_signatures
        .retain(|s| s.verify_key(&primary).is_ok());
    key.details
        .revocation_signatures
        .retain(|s| s.verify_key(&primary).is_ok());
    for sub in &mut key.public_subkeys {
        let subkey = sub.key.clone();
        sub.signatures.retain(|s| {
            s.verify_subkey_binding(&primary, &subkey).is_ok()
                && (!s.key_flags().sign()
                    || s.embedded_signature()
                        .is_some_and(|b| b.verify_primary_key_binding(&subkey, &primary).is_ok()))
        });
    }
    key
}

/// What [`verify_clearsigned`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The signed text (LF line ends), exactly what the signature covers.
    pub text: String,
    /// Fingerprint (upper-case hex) of the key or subkey whose signature verified.
    pub signer: String,
}

fn fingerprint(key: &impl KeyDetails) -> String {
    key.fingerprint().to_string().to_ascii_uppercase()
}

fn date(secs: u64) -> String {
    chrono::DateTime::from_timestamp(secs as i64, 0)
        .map(|d| d.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|| format!("{secs} s after 1970"))
}

/// When the latest self-signature among `sigs` says the key made at `created` expires
/// (`None`: never). Self-signatures are already verified by [`Keyring::from_armor`].
fn expiry<'s>(created: Timestamp, sigs: impl Iterator<Item = &'s Signature>) -> Option<u64> {
    let latest = sigs.max_by_key(|s| s.created().map(Timestamp::as_secs))?;
    match latest.key_expiration_time() {
        Some(d) if d.as_secs() != 0 => Some(u64::from(created.as_secs()) + u64::from(d.as_secs())),
        _ => None,
    }
}

/// Why one (key, signature) pair is not acceptable at `now`, or `None` when it is.
fn key_problem(
    primary: &SignedPublicKey,
    subkey: Option<&pgp::composed::SignedPublicSubKey>,
    sig: &Signature,
    now: u64,
) -> Option<String> {
    if !primary.details.revocation_signatures.is_empty() {
        return Some(format!("key {} is revoked", fingerprint(primary)));
    }
    let self_sigs = primary
        .details
        .users
        .iter()
        .flat_map(|u| u.signatures.iter())
        .chain(primary.details.direct_signatures.iter());
    if let Some(end) = expiry(primary.primary_key.created_at(), self_sigs) {
        if now >= end {
            return Some(format!(
                "key {} expired on {}",
                fingerprint(primary),
                date(end)
            ));
        }
    }
    if let Some(sub) = subkey {
        if sub
            .signatures
            .iter()
            .any(|s| s.typ() == Some(SignatureType::SubkeyRevocation))
        {
            return Some(format!("subkey {} is revoked", fingerprint(&sub.key)));
        }
        let bindings = || {
            sub.signatures
                .iter()
                .filter(|s| s.typ() == Some(SignatureType::SubkeyBinding))
        };
        let latest = bindings().max_by_key(|s| s.created().map(Timestamp::as_secs));
        if !latest.is_some_and(|s| s.key_flags().sign()) {
            return Some(format!(
                "subkey {} is not certified for signing",
                fingerprint(&sub.key)
            ));
        }
        if let Some(end) = expiry(sub.key.created_at(), bindings()) {
            if now >= end {
                return Some(format!(
                    "subkey {} expired on {}",
                    fingerprint(&sub.key),
                    date(end)
                ));
            }
        }
    }
    let Some(created) = sig.created().map(|t| u64::from(t.as_secs())) else {
        return Some("the signature has no creation time".to_string());
    };
    if let Some(d) = sig.signature_expiration_time().filter(|d| d.as_secs() != 0) {
        let end = created + u64::from(d.as_secs());
        if now >= end {
            return Some(format!("the signature expired on {}", date(end)));
        }
    }
    None
}

/// Verifies a clear-signed `InRelease` against `keyring` at `now` (seconds since 1970)
/// and returns the signed text. `source_name` (a URL) goes into errors. An unsigned
/// text, a malformed signature, or no signature that verifies by a valid key of the
/// keyring is an [`Error::Signature`] that lists what each signature was.
pub fn verify_clearsigned(
    text: &str,
    keyring: &Keyring,
    now: u64,
    source_name: &str,
) -> Result<Verified> {
    let fail = |message: String| Error::Signature {
        source_name: source_name.to_string(),
        message,
    };
    if !text.starts_with("-----BEGIN PGP SIGNED MESSAGE-----") {
        return Err(fail(
            "not an OpenPGP clear-signed message (the file must start with \
             \"-----BEGIN PGP SIGNED MESSAGE-----\")"
                .to_string(),
        ));
    }
    let (message, _) = CleartextSignedMessage::from_string(text)
        .map_err(|e| fail(format!("malformed clear-signed message: {e}")))?;
    let signed = message.signed_text();
    let mut seen = Vec::new();
    for sig in message.signatures() {
        let issuers: Vec<String> = sig
            .issuer_fingerprint()
            .iter()
            .map(|f| f.to_string().to_ascii_uppercase())
            .chain(
                sig.issuer_key_id()
                    .iter()
                    .map(|k| k.to_string().to_ascii_uppercase()),
            )
            .collect();
        let mut outcome = None;
        for key in &keyring.keys {
            let found = if sig.verify(key, signed.as_bytes()).is_ok() {
                Some((fingerprint(key), None))
            } else {
                key.public_subkeys
                    .iter()
                    .find(|s| sig.verify(*s, signed.as_bytes()).is_ok())
                    .map(|s| (fingerprint(s), Some(s)))
            };
            let Some((signer, subkey)) = found else {
                continue;
            };
            match key_problem(key, subkey, sig, now) {
                None => {
                    return Ok(Verified {
                        text: signed.replace("\r\n", "\n"),
                        signer,
                    })
                }
                Some(problem) => outcome = Some(format!("signature by {signer}: {problem}")),
            }
            break;
        }
        let who = issuers.first().map_or("an unnamed key", String::as_str);
        seen.push(outcome.unwrap_or_else(|| {
            format!("signature by {who}: no key of the keyring verifies it (unknown key or bad signature)")
        }));
    }
    if seen.is_empty() {
        seen.push("no signature".to_string());
    }
    Err(fail(format!(
        "no valid signature by the pinned keys ({}); {}",
        keyring.fingerprints().join(", "),
        seen.join("; ")
    )))
}
