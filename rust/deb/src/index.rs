//! Packages indexes and Release files of a Debian mirror.

use std::collections::BTreeMap;
use std::io::Read;

use crate::deb822::{self, Stanza};
use crate::error::{Error, Result};
use crate::relation::{self, Alternatives, Relation};
use crate::version::Version;

/// `Multi-Arch` field values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MultiArch {
    /// Field absent or `no`.
    No,
    /// `same`
    Same,
    /// `foreign`
    Foreign,
    /// `allowed`
    Allowed,
}

/// One binary package stanza of a Packages index.
#[derive(Debug, Clone)]
pub struct Package {
    /// `Package`
    pub name: String,
    /// `Version`, parsed.
    pub version: Version,
    /// `Version` exactly as written (kept for lock files and URLs).
    pub version_text: String,
    /// `Architecture`
    pub architecture: String,
    /// `Depends`
    pub depends: Vec<Alternatives>,
    /// `Pre-Depends`
    pub pre_depends: Vec<Alternatives>,
    /// `Provides`
    pub provides: Vec<Relation>,
    /// `Filename`: path relative to the mirror root.
    pub filename: String,
    /// Mirror root the index came from ("" when parsed on its own); the download URL
    /// is this joined with `filename`.
    pub mirror: String,
    /// `Size` of the .deb in bytes.
    pub size: u64,
    /// `SHA256` of the .deb, lower-case hex.
    pub sha256: String,
    /// `Multi-Arch`
    pub multi_arch: MultiArch,
    /// `Priority` ("" when absent).
    pub priority: String,
    /// `Essential: yes`
    pub essential: bool,
    /// The whole stanza, for anything else.
    pub stanza: Stanza,
}

fn field_err(source_name: &str, st: &Stanza, pkg: &str, field: &str, message: String) -> Error {
    Error::Field {
        source_name: source_name.to_string(),
        line: st.line,
        package: pkg.to_string(),
        field: field.to_string(),
        message,
    }
}

impl Package {
    /// Builds a package from a Packages stanza; `source_name` goes into errors.
    pub fn from_stanza(st: Stanza, source_name: &str) -> Result<Package> {
        let required = |field: &str, pkg: &str| {
            st.get(field)
                .filter(|v| !v.is_empty())
                .ok_or_else(|| field_err(source_name, &st, pkg, field, "missing".to_string()))
        };
        let name = required("Package", "")?.to_string();
        let version_text = required("Version", &name)?.to_string();
        let version = Version::parse(&version_text)
            .map_err(|e| field_err(source_name, &st, &name, "Version", e.to_string()))?;
        let architecture = required("Architecture", &name)?.to_string();
        let rel = |field: &str| -> Result<Vec<Alternatives>> {
            match st.get(field) {
                Some(v) => relation::parse_depends(v)
                    .map_err(|e| field_err(source_name, &st, &name, field, e.to_string())),
                None => Ok(Vec::new()),
            }
        };
        let depends = rel("Depends")?;
        let pre_depends = rel("Pre-Depends")?;
        let provides = match st.get("Provides") {
            Some(v) => relation::parse_relation_list(v)
                .map_err(|e| field_err(source_name, &st, &name, "Provides", e.to_string()))?,
            None => Vec::new(),
        };
        let filename = required("Filename", &name)?.to_string();
        let size_text = required("Size", &name)?;
        let size = size_text.parse::<u64>().map_err(|_| {
            field_err(
                source_name,
                &st,
                &name,
                "Size",
                format!("expected a byte count, found {size_text:?}"),
            )
        })?;
        let sha256 = required("SHA256", &name)?.to_ascii_lowercase();
        if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(field_err(
                source_name,
                &st,
                &name,
                "SHA256",
                format!("expected 64 hex digits, found {sha256:?}"),
            ));
        }
        let multi_arch = match st.get("Multi-Arch").map(str::to_ascii_lowercase).as_deref() {
            None | Some("no") => MultiArch::No,
            Some("same") => MultiArch::Same,
            Some("foreign") => MultiArch::Foreign,
            Some("allowed") => MultiArch::Allowed,
            Some(other) => {
                return Err(field_err(
                    source_name,
                    &st,
                    &name,
                    "Multi-Arch",
                    format!("expected no, same, foreign or allowed, found {other:?}"),
                ))
            }
        };
        let priority = st.get("Priority").unwrap_or("").to_string();
        let essential = st
            .get("Essential")
            .is_some_and(|v| v.eq_ignore_ascii_case("yes"));
        Ok(Package {
            name,
            version,
            version_text,
            architecture,
            depends,
            pre_depends,
            provides,
            filename,
            mirror: String::new(),
            size,
            sha256,
            multi_arch,
            priority,
            essential,
            stanza: st,
        })
    }
}

/// Parses a (decompressed) Packages index.
pub fn parse_packages(text: &str, source_name: &str) -> Result<Vec<Package>> {
    deb822::parse(text, source_name)?
        .into_iter()
        .map(|st| Package::from_stanza(st, source_name))
        .collect()
}

/// Decompresses an index according to its file name (`.xz`, `.gz`, or uncompressed).
pub fn decompress(bytes: &[u8], name: &str) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let derr = |e: std::io::Error| Error::Decompress {
        what: name.to_string(),
        message: e.to_string(),
    };
    if name.ends_with(".xz") {
        lzma_rust2::XzReader::new(bytes, true)
            .read_to_end(&mut out)
            .map_err(derr)?;
    } else if name.ends_with(".gz") {
        flate2::read::MultiGzDecoder::new(bytes)
            .read_to_end(&mut out)
            .map_err(derr)?;
    } else {
        out.extend_from_slice(bytes);
    }
    Ok(out)
}

/// One line of a Release file's `SHA256` list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseFile {
    /// Lower-case hex SHA-256.
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
}

/// The parts of a Release/InRelease file that locking needs.
#[derive(Debug, Clone)]
pub struct Release {
    /// `Suite` ("" when absent).
    pub suite: String,
    /// `Codename` ("" when absent).
    pub codename: String,
    /// `Date` ("" when absent).
    pub date: String,
    /// `Valid-Until` ("" when absent): after it, the file is a replay of stale metadata.
    pub valid_until: String,
    /// `Acquire-By-Hash: yes`: indexes can be fetched by their digest, which avoids
    /// racing a mirror update between InRelease and Packages.
    pub acquire_by_hash: bool,
    /// The `SHA256` list: path relative to `dists/SUITE/` → digest and size.
    pub sha256: BTreeMap<String, ReleaseFile>,
}

/// Seconds since 1970 of a Release file date (`Sat, 11 Jul 2026 10:16:37 UTC`, RFC 2822
/// with Debian's `UTC` zone name), or `None` when it is not one.
pub fn parse_date(text: &str) -> Option<i64> {
    let text = text.trim();
    let normalised = match text.strip_suffix(" UTC") {
        Some(head) => format!("{head} +0000"),
        None => text.to_string(),
    };
    chrono::DateTime::parse_from_rfc2822(&normalised)
        .ok()
        .map(|d| d.timestamp())
}

/// Parses a Release file, or the text of an InRelease file with its armour removed.
/// The signature is not checked here: [`crate::signature::verify_clearsigned`] does
/// that and gives the signed text to parse.
pub fn parse_release(text: &str, source_name: &str) -> Result<Release> {
    let body = deb822::strip_clearsign(text, source_name)?;
    let stanzas = deb822::parse(&body, source_name)?;
    let Some(st) = stanzas.first() else {
        return Err(Error::Syntax {
            source_name: source_name.to_string(),
            line: 1,
            message: "empty Release file".to_string(),
        });
    };
    let list = st.get("SHA256").ok_or_else(|| Error::Field {
        source_name: source_name.to_string(),
        line: st.line,
        package: String::new(),
        field: "SHA256".to_string(),
        message: "missing".to_string(),
    })?;
    let mut sha256 = BTreeMap::new();
    for (i, line) in list.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let parts: Vec<&str> = line.split_whitespace().collect();
        let bad = || Error::Field {
            source_name: source_name.to_string(),
            line: st.line,
            package: String::new(),
            field: "SHA256".to_string(),
            message: format!("entry {}: expected \"DIGEST SIZE PATH\", found {line:?}", i),
        };
        let [digest, size, path] = parts.as_slice() else {
            return Err(bad());
        };
        if digest.len() != 64 || !digest.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad());
        }
        let size = size.parse::<u64>().map_err(|_| bad())?;
        sha256.insert(
            path.to_string(),
            ReleaseFile {
                sha256: digest.to_ascii_lowercase(),
                size,
            },
        );
    }
    let get = |f: &str| st.get(f).unwrap_or("").to_string();
    Ok(Release {
        suite: get("Suite"),
        codename: get("Codename"),
        date: get("Date"),
        valid_until: get("Valid-Until"),
        acquire_by_hash: st
            .get("Acquire-By-Hash")
            .is_some_and(|v| v.eq_ignore_ascii_case("yes")),
        sha256,
    })
}

/// All packages of one architecture from several indexes, with name and Provides
/// lookups. The candidate for a name is its highest version; ties keep the first
/// index given (so list sources in order of preference).
#[derive(Debug, Clone, Default)]
pub struct PackageIndex {
    packages: Vec<Package>,
    by_name: BTreeMap<String, Vec<usize>>,
    providers: BTreeMap<String, Vec<usize>>,
}

impl PackageIndex {
    /// Builds the index from packages of `architecture` or `all`; others are ignored.
    pub fn new(packages: Vec<Package>, architecture: &str) -> PackageIndex {
        let packages: Vec<Package> = packages
            .into_iter()
            .filter(|p| p.architecture == architecture || p.architecture == "all")
            .collect();
        let mut by_name: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        let mut providers: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (i, p) in packages.iter().enumerate() {
            by_name.entry(p.name.clone()).or_default().push(i);
            for prov in &p.provides {
                let list = providers.entry(prov.name.clone()).or_default();
                if list.last() != Some(&i) {
                    list.push(i);
                }
            }
        }
        // Highest version first; the sort is stable so equal versions keep index order.
        for list in by_name.values_mut() {
            list.sort_by(|a, b| packages[*b].version.cmp(&packages[*a].version));
        }
        PackageIndex {
            packages,
            by_name,
            providers,
        }
    }

    /// Every version of `name`, highest first.
    pub fn versions<'s>(&'s self, name: &str) -> impl Iterator<Item = &'s Package> + 's {
        self.by_name
            .get(name)
            .into_iter()
            .flatten()
            .filter_map(|i| self.packages.get(*i))
    }

    /// The candidate (highest) version of `name`.
    pub fn candidate(&self, name: &str) -> Option<&Package> {
        self.versions(name).next()
    }

    /// Packages whose `Provides` names `name`, with the provided version if any, in
    /// index order.
    pub fn providers<'s, 'n>(
        &'s self,
        name: &'n str,
    ) -> impl Iterator<Item = (&'s Package, &'s Relation)> + 'n
    where
        's: 'n,
    {
        self.providers
            .get(name)
            .into_iter()
            .flatten()
            .filter_map(|i| self.packages.get(*i))
            .flat_map(move |p| {
                p.provides
                    .iter()
                    .filter(move |r| r.name == name)
                    .map(move |r| (p, r))
            })
    }

    /// Number of packages kept.
    pub fn len(&self) -> usize {
        self.packages.len()
    }

    /// Whether no package was kept.
    pub fn is_empty(&self) -> bool {
        self.packages.is_empty()
    }
}
