//! The lock file: sha256 + size per URL, manifest digest + archive hash per OCI image.
//!
//! Format (version 1), JSON with sorted keys, 2-space indentation and a trailing newline:
//! `{"files": {"<url>": {"sha256", "size"}}, "oci": {"<ident as written>": {"archiveSha256",
//! "digest", "filesize", "fullsize"}}, "version": 1}`.

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
    /// Always [`LOCK_VERSION`].
    pub version: u32,
}

impl Default for Lock {
    fn default() -> Self {
        Lock {
            files: BTreeMap::new(),
            oci: BTreeMap::new(),
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
}
