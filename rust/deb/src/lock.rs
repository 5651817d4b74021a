//! Pinning a package closure: which indexes were read and, per package, the exact
//! `.deb` (URL, sha256, size, and where snapshot.debian.org keeps it once the mirror's
//! pool drops it). The lock file is sorted JSON with a format number.
//!
//! Metadata is trusted only through the chain that starts at the pinned keys: each
//! `InRelease` must carry a valid signature by a key of the [`Keyring`] (and must not
//! be past its `Valid-Until`), each `Packages` index must match the size and sha256 that
//! the signed text lists, and each pinned `.deb` keeps the sha256 its index lists.

use std::collections::BTreeMap;
use std::fmt::Display;
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::index::{self, PackageIndex};
use crate::resolve::{self, ResolveOptions};
use crate::signature::{self, Keyring};

/// The lock file format this crate writes. Format 1 (no snapshot fields) is still read.
pub const LOCK_FORMAT: u32 = 2;

/// How long after the newest `Date` of the Release files read the lock's snapshot time
/// lies. snapshot.debian.org serves the archive as its last import at or before a
/// time; imports run every 6 hours, and dak keeps an unreferenced file in the pool for
/// 36 hours ("stay of execution"). Every pinned `.deb` was referenced from its Release
/// `Date` until the lock was written (at or after the newest `Date`), so the last import
/// before newest `Date` + 24 h ran after each package's Release was published and
/// before the pool could have dropped it: the package is in that import. (The plain
/// `Date` would give the import *before* the newest dinstall run, which lacks what that
/// run added.)
pub const SNAPSHOT_DELAY_SECS: i64 = 24 * 60 * 60;

/// What locking trusts: the keys Release files must be signed by, and the time their
/// signatures, keys and `Valid-Until` are checked at (seconds since 1970).
#[derive(Debug, Clone, Copy)]
pub struct Trust<'k> {
    /// Keys allowed to sign `InRelease`.
    pub keyring: &'k Keyring,
    /// The present time (the caller's clock; only checked against, never written).
    pub now: u64,
}

/// One apt source: `deb URL SUITE COMPONENTS…`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    /// Mirror root, e.g. `http://deb.debian.org/debian` (no trailing slash needed).
    pub url: String,
    /// Suite (`bookworm`, `bookworm-updates`, `bookworm-security`).
    pub suite: String,
    /// Components (`main`, `non-free-firmware`).
    pub components: Vec<String>,
    /// snapshot.debian.org archive root for this mirror (e.g.
    /// `https://snapshot.debian.org/archive/debian`); the lock then records, for each
    /// package from this source, `<snapshot>/<lock snapshot time>/<Filename>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<String>,
}

/// snapshot.debian.org's copy of the `debian` archive.
pub const SNAPSHOT_DEBIAN: &str = "https://snapshot.debian.org/archive/debian";
/// snapshot.debian.org's copy of the `debian-security` archive.
pub const SNAPSHOT_DEBIAN_SECURITY: &str = "https://snapshot.debian.org/archive/debian-security";

/// Where to look for packages, for which architecture, and what to leave out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MirrorConfig {
    /// Debian architecture (`arm64`).
    pub architecture: String,
    /// Sources in order of preference (equal versions are taken from the first).
    pub sources: Vec<SourceConfig>,
    /// Package names never installed (see [`ResolveOptions::exclude`]).
    pub exclude: Vec<String>,
}

impl MirrorConfig {
    /// Debian bookworm for arm64 from deb.debian.org over HTTPS: main and
    /// non-free-firmware of bookworm, bookworm-updates and bookworm-security, with their
    /// snapshot.debian.org archives; nothing excluded.
    pub fn bookworm_arm64() -> MirrorConfig {
        let comps = || vec!["main".to_string(), "non-free-firmware".to_string()];
        MirrorConfig {
            architecture: "arm64".to_string(),
            sources: vec![
                SourceConfig {
                    url: "https://deb.debian.org/debian".to_string(),
                    suite: "bookworm".to_string(),
                    components: comps(),
                    snapshot: Some(SNAPSHOT_DEBIAN.to_string()),
                },
                SourceConfig {
                    url: "https://deb.debian.org/debian".to_string(),
                    suite: "bookworm-updates".to_string(),
                    components: comps(),
                    snapshot: Some(SNAPSHOT_DEBIAN.to_string()),
                },
                SourceConfig {
                    url: "https://deb.debian.org/debian-security".to_string(),
                    suite: "bookworm-security".to_string(),
                    components: comps(),
                    snapshot: Some(SNAPSHOT_DEBIAN_SECURITY.to_string()),
                },
            ],
            exclude: Vec::new(),
        }
    }
}

/// A Packages index that went into the lock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockedIndex {
    /// URL of the InRelease file that listed it (its signature verified when locked).
    pub release_url: String,
    /// Suite as configured.
    pub suite: String,
    /// `Codename` from the Release file.
    pub codename: String,
    /// `Date` from the Release file.
    pub date: String,
    /// Component.
    pub component: String,
    /// URL the index was downloaded from.
    pub url: String,
    /// sha256 of the downloaded (compressed) index.
    pub sha256: String,
    /// Size of the downloaded index.
    pub size: u64,
}

/// One pinned `.deb`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockedPackage {
    /// Version as in the index.
    pub version: String,
    /// `arm64` or `all`.
    pub architecture: String,
    /// Full download URL (mirror + `Filename`).
    pub url: String,
    /// sha256 of the `.deb`.
    pub sha256: String,
    /// Size of the `.deb` in bytes.
    pub size: u64,
    /// The same file on snapshot.debian.org at the lock's snapshot time, for when the
    /// mirror's pool no longer has it (absent for sources without a snapshot archive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot_url: Option<String>,
}

impl LockedPackage {
    /// Checks downloaded bytes against the pinned size and sha256.
    pub fn verify(&self, bytes: &[u8]) -> Result<()> {
        if bytes.len() as u64 != self.size {
            return Err(Error::Mismatch {
                what: format!("size of {}", self.url),
                expected: self.size.to_string(),
                actual: bytes.len().to_string(),
            });
        }
        let actual = hex::encode(Sha256::digest(bytes));
        if actual != self.sha256 {
            return Err(Error::Mismatch {
                what: format!("sha256 of {}", self.url),
                expected: self.sha256.clone(),
                actual,
            });
        }
        Ok(())
    }
}

/// A lock file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lock {
    /// [`LOCK_FORMAT`] (1 for locks written before snapshot URLs).
    pub format: u32,
    /// Debian architecture.
    pub architecture: String,
    /// snapshot.debian.org time (`YYYYMMDDTHHMMSSZ`) the packages' `snapshot_url`s use:
    /// the newest index `Date` plus [`SNAPSHOT_DELAY_SECS`] ("" in format 1).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub snapshot: String,
    /// Requested packages, sorted.
    pub requested: Vec<String>,
    /// Excluded packages, sorted.
    pub exclude: Vec<String>,
    /// Indexes read, in source order.
    pub indexes: Vec<LockedIndex>,
    /// The closure, by package name.
    pub packages: BTreeMap<String, LockedPackage>,
}

impl Lock {
    /// Serialises as pretty JSON with a final newline (keys in a fixed order).
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).unwrap_or_default();
        s.push('\n');
        s
    }

    /// Parses lock JSON; `path` names the file in errors (with line and column).
    pub fn from_json(text: &str, path: &str) -> Result<Lock> {
        let lock: Lock = serde_json::from_str(text).map_err(|e| Error::LockJson {
            path: path.to_string(),
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        })?;
        let bad = |message: String| Error::LockJson {
            path: path.to_string(),
            line: 0,
            column: 0,
            message,
        };
        if lock.format != LOCK_FORMAT && lock.format != 1 {
            return Err(bad(format!(
                "format: expected 1 or {LOCK_FORMAT}, found {}",
                lock.format
            )));
        }
        let is_sha =
            |s: &str| s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        for (name, p) in &lock.packages {
            if !is_sha(&p.sha256) {
                return Err(bad(format!(
                    "packages.{name}.sha256: expected 64 lower-case hex digits, found {:?}",
                    p.sha256
                )));
            }
            if p.url.is_empty() {
                return Err(bad(format!("packages.{name}.url: empty")));
            }
        }
        for (i, ix) in lock.indexes.iter().enumerate() {
            if !is_sha(&ix.sha256) {
                return Err(bad(format!(
                    "indexes[{i}].sha256: expected 64 lower-case hex digits, found {:?}",
                    ix.sha256
                )));
            }
        }
        Ok(lock)
    }

    /// Reads and parses a lock file.
    pub fn read(path: &Path) -> Result<Lock> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Lock::from_json(&text, &path.display().to_string())
    }

    /// Recomputes the snapshot time from the indexes' `Date`s, points each package's
    /// `url` at the configured source it comes from (matched without the scheme, so a
    /// mirror moved from `http` to `https` keeps its packages) and its `snapshot_url`
    /// at that source's snapshot archive, and sets the current format. No download, no
    /// version moves. Packages of no configured source, or of a source without
    /// `snapshot`, get no snapshot URL.
    pub fn set_snapshots(&mut self, config: &MirrorConfig) -> Result<()> {
        let mut newest = None;
        for ix in &self.indexes {
            let t = index::parse_date(&ix.date).ok_or_else(|| Error::Release {
                release_url: ix.release_url.clone(),
                message: format!(
                    "Date: expected an RFC 2822 date like \"Sat, 11 Jul 2026 10:16:37 UTC\", found {:?}",
                    ix.date
                ),
            })?;
            newest = newest.max(Some(t));
        }
        self.snapshot = match newest {
            Some(t) => snapshot_time(t + SNAPSHOT_DELAY_SECS)?,
            None => String::new(),
        };
        let schemeless = |u: &str| u.split_once("://").map_or(u, |(_, rest)| rest).to_string();
        for (name, p) in &mut self.packages {
            let url = schemeless(&p.url);
            let found = config.sources.iter().find_map(|s| {
                let root = schemeless(s.url.trim_end_matches('/'));
                let rest = url.strip_prefix(&root)?;
                rest.starts_with('/').then(|| (s, rest.to_string()))
            });
            p.snapshot_url = None;
            let Some((source, filename)) = found else {
                continue;
            };
            p.url = join_url(&source.url, &filename);
            if let Some(root) = &source.snapshot {
                if self.snapshot.is_empty() {
                    return Err(Error::Config(format!(
                        "packages.{name}: the lock lists no index Date to take the snapshot time from"
                    )));
                }
                p.snapshot_url = Some(join_url(&join_url(root, &self.snapshot), &filename));
            }
        }
        self.format = LOCK_FORMAT;
        Ok(())
    }

    /// Total size of all pinned `.deb`s.
    pub fn total_size(&self) -> u64 {
        self.packages.values().map(|p| p.size).sum()
    }
}

/// `YYYYMMDDTHHMMSSZ`, snapshot.debian.org's time format.
fn snapshot_time(secs: i64) -> Result<String> {
    chrono::DateTime::from_timestamp(secs, 0)
        .map(|d| d.format("%Y%m%dT%H%M%SZ").to_string())
        .ok_or_else(|| Error::Config(format!("snapshot time {secs}: out of range")))
}

fn join_url(base: &str, rest: &str) -> String {
    format!(
        "{}/{}",
        base.trim_end_matches('/'),
        rest.trim_start_matches('/')
    )
}

fn fetch_checked<F, E>(fetch: &mut F, url: &str) -> Result<Vec<u8>>
where
    F: FnMut(&str) -> std::result::Result<Vec<u8>, E>,
    E: Display,
{
    fetch(url).map_err(|e| Error::Fetch {
        url: url.to_string(),
        message: e.to_string(),
    })
}

/// Downloads (through `fetch`) every configured `InRelease`, verifies its signature
/// against `trust`, then every index against the signed `SHA256` entry, and returns
/// them with the parsed packages.
pub fn fetch_indexes<F, E>(
    config: &MirrorConfig,
    trust: Trust<'_>,
    fetch: &mut F,
) -> Result<(Vec<LockedIndex>, PackageIndex)>
where
    F: FnMut(&str) -> std::result::Result<Vec<u8>, E>,
    E: Display,
{
    let mut locked = Vec::new();
    let mut packages = Vec::new();
    for source in &config.sources {
        let dist = join_url(&source.url, &format!("dists/{}", source.suite));
        let release_url = join_url(&dist, "InRelease");
        let bytes = fetch_checked(fetch, &release_url)?;
        let text = String::from_utf8(bytes).map_err(|_| Error::Release {
            release_url: release_url.clone(),
            message: "not UTF-8 text".to_string(),
        })?;
        let verified =
            signature::verify_clearsigned(&text, trust.keyring, trust.now, &release_url)?;
        let release = index::parse_release(&verified.text, &release_url)?;
        if index::parse_date(&release.date).is_none() {
            return Err(Error::Release {
                release_url: release_url.clone(),
                message: format!(
                    "Date: expected an RFC 2822 date like \"Sat, 11 Jul 2026 10:16:37 UTC\", found {:?}",
                    release.date
                ),
            });
        }
        if !release.valid_until.is_empty() {
            let until = index::parse_date(&release.valid_until).ok_or_else(|| Error::Release {
                release_url: release_url.clone(),
                message: format!(
                    "Valid-Until: not an RFC 2822 date: {:?}",
                    release.valid_until
                ),
            })?;
            if i64::try_from(trust.now).unwrap_or(i64::MAX) > until {
                return Err(Error::Release {
                    release_url: release_url.clone(),
                    message: format!(
                        "expired: Valid-Until {} is in the past (a stale or replayed Release file)",
                        release.valid_until
                    ),
                });
            }
        }
        for component in &source.components {
            let base = format!("{component}/binary-{}/Packages", config.architecture);
            let choice = [".xz", ".gz", ""].iter().find_map(|ext| {
                let path = format!("{base}{ext}");
                release.sha256.get(&path).map(|f| (path, f.clone()))
            });
            let Some((path, file)) = choice else {
                return Err(Error::Release {
                    release_url: release_url.clone(),
                    message: format!("no SHA256 entry for {base}(.xz|.gz)"),
                });
            };
            let url = if release.acquire_by_hash {
                let dir = path.rsplit_once('/').map_or("", |(d, _)| d);
                join_url(&dist, &format!("{dir}/by-hash/SHA256/{}", file.sha256))
            } else {
                join_url(&dist, &path)
            };
            let data = fetch_checked(fetch, &url)?;
            if data.len() as u64 != file.size {
                return Err(Error::Mismatch {
                    what: format!("size of {url} (listed in {release_url})"),
                    expected: file.size.to_string(),
                    actual: data.len().to_string(),
                });
            }
            let digest = hex::encode(Sha256::digest(&data));
            if digest != file.sha256 {
                return Err(Error::Mismatch {
                    what: format!("sha256 of {url} (listed in {release_url})"),
                    expected: file.sha256.clone(),
                    actual: digest,
                });
            }
            let plain = index::decompress(&data, &path)?;
            let text = String::from_utf8(plain).map_err(|_| Error::Decompress {
                what: url.clone(),
                message: "index is not UTF-8 text".to_string(),
            })?;
            let mut parsed = index::parse_packages(&text, &url)?;
            for p in &mut parsed {
                p.mirror = source.url.clone();
            }
            packages.extend(parsed);
            locked.push(LockedIndex {
                release_url: release_url.clone(),
                suite: source.suite.clone(),
                codename: release.codename.clone(),
                date: release.date.clone(),
                component: component.clone(),
                url,
                sha256: digest,
                size: data.len() as u64,
            });
        }
    }
    Ok((locked, PackageIndex::new(packages, &config.architecture)))
}

/// Resolves `requested` against the mirror (metadata verified against `trust`) and pins
/// the closure.
pub fn lock<F, E>(
    config: &MirrorConfig,
    requested: &[String],
    trust: Trust<'_>,
    fetch: &mut F,
) -> Result<Lock>
where
    F: FnMut(&str) -> std::result::Result<Vec<u8>, E>,
    E: Display,
{
    let (indexes, index) = fetch_indexes(config, trust, fetch)?;
    lock_with_index(config, requested, indexes, &index)
}

/// Like [`lock`], with indexes already fetched by [`fetch_indexes`].
pub fn lock_with_index(
    config: &MirrorConfig,
    requested: &[String],
    indexes: Vec<LockedIndex>,
    index: &PackageIndex,
) -> Result<Lock> {
    let mut requested: Vec<String> = requested.to_vec();
    requested.sort();
    requested.dedup();
    let mut exclude: Vec<String> = config.exclude.clone();
    exclude.sort();
    exclude.dedup();
    let options = ResolveOptions {
        exclude: exclude.iter().cloned().collect(),
    };
    let resolution = resolve::resolve(index, &requested, &options)?;
    let packages = resolution
        .packages
        .iter()
        .map(|p| {
            (
                p.name.clone(),
                LockedPackage {
                    version: p.version_text.clone(),
                    architecture: p.architecture.clone(),
                    url: if p.mirror.is_empty() {
                        p.filename.clone()
                    } else {
                        join_url(&p.mirror, &p.filename)
                    },
                    sha256: p.sha256.clone(),
                    size: p.size,
                    snapshot_url: None,
                },
            )
        })
        .collect();
    let mut lock = Lock {
        format: LOCK_FORMAT,
        architecture: config.architecture.clone(),
        snapshot: String::new(),
        requested,
        exclude,
        indexes,
        packages,
    };
    lock.set_snapshots(config)?;
    Ok(lock)
}
