//! Pinning a package closure: which indexes were read and, per package, the exact
//! `.deb` (URL, sha256, size). The lock file is sorted JSON with a format number.

use std::collections::BTreeMap;
use std::fmt::Display;
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::index::{self, PackageIndex};
use crate::resolve::{self, ResolveOptions};

/// The lock file format this crate writes and reads.
pub const LOCK_FORMAT: u32 = 1;

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
}

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
    /// Debian bookworm for arm64 from deb.debian.org: main and non-free-firmware of
    /// bookworm, bookworm-updates and bookworm-security; nothing excluded.
    pub fn bookworm_arm64() -> MirrorConfig {
        let comps = || vec!["main".to_string(), "non-free-firmware".to_string()];
        MirrorConfig {
            architecture: "arm64".to_string(),
            sources: vec![
                SourceConfig {
                    url: "http://deb.debian.org/debian".to_string(),
                    suite: "bookworm".to_string(),
                    components: comps(),
                },
                SourceConfig {
                    url: "http://deb.debian.org/debian".to_string(),
                    suite: "bookworm-updates".to_string(),
                    components: comps(),
                },
                SourceConfig {
                    url: "http://deb.debian.org/debian-security".to_string(),
                    suite: "bookworm-security".to_string(),
                    components: comps(),
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
    /// URL of the InRelease file that listed it (signature not verified).
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
    /// Always [`LOCK_FORMAT`].
    pub format: u32,
    /// Debian architecture.
    pub architecture: String,
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
        if lock.format != LOCK_FORMAT {
            return Err(bad(format!(
                "format: expected {LOCK_FORMAT}, found {}",
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

    /// Total size of all pinned `.deb`s.
    pub fn total_size(&self) -> u64 {
        self.packages.values().map(|p| p.size).sum()
    }
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

/// Downloads (through `fetch`) every configured index, verifying each against its
/// InRelease `SHA256` entry, and returns them with the parsed packages.
pub fn fetch_indexes<F, E>(
    config: &MirrorConfig,
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
        let release = index::parse_release(&text, &release_url)?;
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

/// Resolves `requested` against the mirror and pins the closure.
pub fn lock<F, E>(config: &MirrorConfig, requested: &[String], fetch: &mut F) -> Result<Lock>
where
    F: FnMut(&str) -> std::result::Result<Vec<u8>, E>,
    E: Display,
{
    let (indexes, index) = fetch_indexes(config, fetch)?;
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
                },
            )
        })
        .collect();
    Ok(Lock {
        format: LOCK_FORMAT,
        architecture: config.architecture.clone(),
        requested,
        exclude,
        indexes,
        packages,
    })
}
