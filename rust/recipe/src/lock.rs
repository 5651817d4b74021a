//! The lock file: sha256 + size per URL, manifest digest + archive hash per OCI image.
//!
//! Format (version 1), JSON with sorted keys, 2-space indentation and a trailing newline:
//! `{"files": {"<url>": {"sha256", "size"}}, "oci": {"<ident as written>": {"archiveSha256",
//! "digest", "filesize", "fullsize"}}, "packages": {"<ident as written>": {…}}, "version": 1}`.
//! `packages` (catalog content, see [`LockedPackage`]) is left out when empty, so locks
//! without catalog content keep their bytes.

use crate::oci_ref::{is_sha256_digest, is_sha256_hex};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The only lock format version this crate reads and writes.
pub const LOCK_VERSION: u32 = 1;

/// A lock file. Field order is alphabetical so that serialisation has sorted keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lock {
    /// Pinned downloads, by URL as written in the recipe.
    #[serde(default)]
    pub files: BTreeMap<String, LockedFile>,
    /// Pinned OCI images, by `ident` as written in the recipe.
    #[serde(default)]
    pub oci: BTreeMap<String, LockedOci>,
    /// Catalog packages (`hotspot.zims.<name>.package`), by the ident as the module
    /// writes it: the module looks its entry up by that string, so evaluation stays pure.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub packages: BTreeMap<String, LockedPackage>,
    /// Always [`LOCK_VERSION`].
    pub version: u32,
}

impl Default for Lock {
    fn default() -> Self {
        Lock {
            files: BTreeMap::new(),
            oci: BTreeMap::new(),
            packages: BTreeMap::new(),
            version: LOCK_VERSION,
        }
    }
}

/// A pinned download: what the URL serves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockedFile {
    /// Lowercase hex sha256 of the bytes the URL serves.
    pub sha256: String,
    /// Their length.
    pub size: u64,
}

/// A pinned OCI image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockedOci {
    /// Lowercase hex sha256 of nixspot's deterministic docker-archive tar.
    #[serde(rename = "archiveSha256")]
    pub archive_sha256: String,
    /// `sha256:<hex>` of the linux/arm64 image manifest.
    pub digest: String,
    /// Size of the archive (image-creator's `filesize`).
    pub filesize: u64,
    /// Sum of the archive's member sizes (image-creator's `fullsize`).
    pub fullsize: u64,
}

/// A catalog package as the catalog described it when `nixspot lock` resolved it, with
/// the size and sha256 the MirrorBrain checksum files beside the download gave.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockedPackage {
    /// URL of the catalog that answered (e.g. `https://library.kiwix.org`).
    pub catalog: String,
    /// Content date, `YYYY-MM-DD` (the catalog's `updated`).
    pub date: String,
    /// The entry's summary.
    pub description: String,
    /// The entry's flavour (empty when none).
    pub flavour: String,
    /// Base64 PNG (48×48) of the entry's illustration; empty when it has none.
    pub icon: String,
    /// The catalog entry id (the ZIM's UUID).
    pub id: String,
    /// ISO 639-3 codes.
    pub languages: Vec<String>,
    /// The book name (`wikipedia_en_climate_change`).
    pub name: String,
    /// The entry's publisher (empty when none).
    pub publisher: String,
    /// Lowercase hex sha256 of the file (from `.sha256` or `.meta4`).
    pub sha256: String,
    /// Exact size in bytes (from `.meta4`, else `Content-Length`).
    pub size: u64,
    /// The entry's tags, as the catalog lists them.
    pub tags: Vec<String>,
    /// The entry's title.
    pub title: String,
    /// Download URL of the ZIM (the acquisition link without `.meta4`).
    pub url: String,
    /// The version the module asked for (`hotspot.zims.<name>.version`); null for the
    /// latest at lock time.
    pub version: Option<String>,
}

/// A lock file that cannot be read or used.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Reading failed.
    #[error("{path}: cannot read lock file: {source}")]
    Io {
        /// The lock file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The JSON is malformed or has the wrong shape.
    #[error("{path}:{line}:{column}: malformed lock file: {message}")]
    Syntax {
        /// The lock file.
        path: PathBuf,
        /// 1-based line of the problem.
        line: usize,
        /// 1-based column of the problem.
        column: usize,
        /// What serde_json reported.
        message: String,
    },
    /// Well-formed JSON with an invalid value.
    #[error("{path}: invalid lock file: {key}: {message}")]
    Invalid {
        /// The lock file.
        path: PathBuf,
        /// The key path, e.g. `files["https://…"].sha256`.
        key: String,
        /// What is wrong.
        message: String,
    },
}

impl Lock {
    /// Reads a lock file; a missing file is an error (use [`Lock::load_or_default`]).
    pub fn load(path: &Path) -> Result<Lock, LockError> {
        let text = std::fs::read_to_string(path).map_err(|source| LockError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Lock::parse(&text, path)
    }

    /// Reads a lock file, or returns an empty lock when it does not exist.
    pub fn load_or_default(path: &Path) -> Result<Lock, LockError> {
        match std::fs::metadata(path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Lock::default()),
            _ => Lock::load(path),
        }
    }

    /// Parses lock JSON; `path` is only used in error messages.
    pub fn parse(text: &str, path: &Path) -> Result<Lock, LockError> {
        let lock: Lock = serde_json::from_str(text).map_err(|e| LockError::Syntax {
            path: path.to_path_buf(),
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        })?;
        let invalid = |key: String, message: String| LockError::Invalid {
            path: path.to_path_buf(),
            key,
            message,
        };
        if lock.version != LOCK_VERSION {
            return Err(invalid(
                "version".into(),
                format!("expected {LOCK_VERSION}, found {}", lock.version),
            ));
        }
        for (url, f) in &lock.files {
            if !is_sha256_hex(&f.sha256) {
                return Err(invalid(
                    format!("files[{url:?}].sha256"),
                    format!("expected 64 lowercase hex digits, found {:?}", f.sha256),
                ));
            }
        }
        for (ident, o) in &lock.oci {
            if !is_sha256_digest(&o.digest) {
                return Err(invalid(
                    format!("oci[{ident:?}].digest"),
                    format!("expected sha256:<64 hex digits>, found {:?}", o.digest),
                ));
            }
            if !is_sha256_hex(&o.archive_sha256) {
                return Err(invalid(
                    format!("oci[{ident:?}].archiveSha256"),
                    format!(
                        "expected 64 lowercase hex digits, found {:?}",
                        o.archive_sha256
                    ),
                ));
            }
        }
        for (ident, p) in &lock.packages {
            let key = |field: &str| format!("packages[{ident:?}].{field}");
            if !is_sha256_hex(&p.sha256) {
                return Err(invalid(
                    key("sha256"),
                    format!("expected 64 lowercase hex digits, found {:?}", p.sha256),
                ));
            }
            if !(p.url.starts_with("https://") || p.url.starts_with("http://")) {
                return Err(invalid(
                    key("url"),
                    format!("expected an http(s) URL, found {:?}", p.url),
                ));
            }
            if let Some(bad) = p.languages.iter().find(|l| !is_language_code(l)) {
                return Err(invalid(
                    key("languages"),
                    format!("expected ISO 639-3 codes (3 lowercase letters), found {bad:?}"),
                ));
            }
            if !is_date(&p.date) {
                return Err(invalid(
                    key("date"),
                    format!("expected YYYY-MM-DD, found {:?}", p.date),
                ));
            }
        }
        Ok(lock)
    }

    /// The canonical text: sorted keys, 2-space indentation, trailing newline.
    pub fn to_json_string(&self) -> String {
        // Struct fields are declared in sorted order and maps are BTreeMaps, so the
        // output is sorted without a post-pass.
        let mut s = serde_json::to_string_pretty(self).unwrap_or_default();
        s.push('\n');
        s
    }

    /// Writes the canonical text atomically (temp file in the same directory, rename).
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "lock".into());
        let tmp = dir.join(format!(".{name}.tmp{}", std::process::id()));
        std::fs::write(&tmp, self.to_json_string())?;
        std::fs::rename(&tmp, path).inspect_err(|_| {
            let _ = std::fs::remove_file(&tmp);
        })
    }
}

/// Three lowercase ASCII letters, as the module's `languages` option requires.
pub fn is_language_code(s: &str) -> bool {
    s.len() == 3 && s.bytes().all(|b| b.is_ascii_lowercase())
}

fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_sorted() {
        let mut lock = Lock::default();
        lock.files.insert(
            "https://b/x".into(),
            LockedFile {
                sha256: "b".repeat(64),
                size: 3,
            },
        );
        lock.files.insert(
            "https://a/x".into(),
            LockedFile {
                sha256: "a".repeat(64),
                size: 1,
            },
        );
        lock.oci.insert(
            "ghcr.io/x/y:1".into(),
            LockedOci {
                archive_sha256: "c".repeat(64),
                digest: format!("sha256:{}", "d".repeat(64)),
                filesize: 10,
                fullsize: 9,
            },
        );
        let text = lock.to_json_string();
        assert!(text.ends_with("}\n"));
        let a = text.find("https://a/x").unwrap();
        let b = text.find("https://b/x").unwrap();
        assert!(a < b);
        assert!(text.find("\"archiveSha256\"").unwrap() < text.find("\"digest\"").unwrap());
        assert!(text.find("\"files\"").unwrap() < text.find("\"version\"").unwrap());
        assert!(text.contains("\n  \"version\": 1\n"));
        assert_eq!(Lock::parse(&text, Path::new("x")).unwrap(), lock);
    }

    #[test]
    fn malformed_lock_has_position() {
        let err = Lock::parse(
            "{\n  \"version\": 1,\n  \"files\": {,}\n}",
            Path::new("/p/l.json"),
        )
        .unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("/p/l.json:3:"), "{msg}");
        let err = Lock::parse("{\"version\": 2}", Path::new("l.json")).unwrap_err();
        assert!(err.to_string().contains("version: expected 1, found 2"));
        let err = Lock::parse(
            "{\"version\": 1, \"files\": {\"u\": {\"sha256\": \"XY\", \"size\": 1}}}",
            Path::new("l.json"),
        )
        .unwrap_err();
        assert!(err.to_string().contains("files[\"u\"].sha256"), "{err}");
    }

    fn package() -> LockedPackage {
        LockedPackage {
            catalog: "http://127.0.0.1:1".into(),
            date: "2024-06-01".into(),
            description: "d".into(),
            flavour: "nopic".into(),
            icon: String::new(),
            id: "c7c060fc-336a-3558-26bc-e3a44bae57e9".into(),
            languages: vec!["eng".into()],
            name: "wikipedia_en_climate_change".into(),
            publisher: "openZIM".into(),
            sha256: "e".repeat(64),
            size: 42,
            tags: vec!["wikipedia".into()],
            title: "t".into(),
            url: "https://download.kiwix.org/zim/w.zim".into(),
            version: None,
        }
    }

    #[test]
    fn packages_round_trip_and_are_omitted_when_empty() {
        // A lock without packages keeps the bytes older nixspot wrote.
        assert!(!Lock::default().to_json_string().contains("packages"));
        let mut lock = Lock::default();
        lock.packages
            .insert("wikipedia_en_climate_change:nopic".into(), package());
        let text = lock.to_json_string();
        assert!(text.find("\"oci\"").unwrap() < text.find("\"packages\"").unwrap());
        assert!(text.find("\"packages\"").unwrap() < text.find("\"version\": 1").unwrap());
        assert!(text.contains("\"version\": null"), "{text}");
        assert_eq!(Lock::parse(&text, Path::new("x")).unwrap(), lock);
    }

    #[test]
    fn invalid_package_fields_are_named() {
        type Spoil = fn(&mut LockedPackage);
        let cases: [(&str, Spoil); 4] = [
            ("sha256", |p| p.sha256 = "abc".into()),
            ("url", |p| p.url = "file:///etc/passwd".into()),
            ("languages", |p| p.languages = vec!["fra,eng".into()]),
            ("date", |p| p.date = "2024-6-1".into()),
        ];
        for (field, spoil) in cases {
            let mut lock = Lock::default();
            let mut p = package();
            spoil(&mut p);
            lock.packages.insert("x:nopic".into(), p);
            let err = Lock::parse(&lock.to_json_string(), Path::new("l.json")).unwrap_err();
            assert!(
                err.to_string()
                    .contains(&format!("packages[\"x:nopic\"].{field}")),
                "{field}: {err}"
            );
        }
    }
}
