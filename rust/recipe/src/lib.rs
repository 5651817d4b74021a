//! The typed image-creator recipe (`base`, `output`, `oci_images`, `files`, `write_config`,
//! `offspot`) and nixspot's lock file.
//!
//! Recipes are read from YAML or JSON with image-creator's rules (see
//! `spec/offspot-formats.md` §1.1); every error names the key path (`files[2].to`).
//! Serialisation is stable: keys in image-creator's order, sizes as written, the
//! `offspot` mapping preserved exactly (key order included).

mod lock;
mod oci_ref;
mod size;
pub mod sizing;

pub use lock::{
    is_language_code, Lock, LockError, LockedFile, LockedOci, LockedPackage, LOCK_VERSION,
};
pub use oci_ref::{is_sha256_digest, is_sha256_hex, OciRef, OciRefError};
pub use size::{parse_size, FileSize, OutputSize, Size};
pub use sizing::{SdCard, SizeEstimate, SD_CARDS};

use base64::Engine;
use serde::{Deserialize, Serialize, Serializer};
use std::collections::BTreeSet;
use std::path::Path;

/// Hash algorithms image-creator accepts in `checksum.algo`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum HashAlgo {
    /// SHA-1.
    Sha1,
    /// SHA-224.
    Sha224,
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
    /// MD5.
    Md5,
    /// Adler-32 (8 hex digits).
    Adler32,
}

impl HashAlgo {
    /// Parses `sha-256` (image-creator/aria2 spelling) or `sha256`.
    pub fn parse(name: &str) -> Option<HashAlgo> {
        Some(match name.to_ascii_lowercase().replace('-', "").as_str() {
            "sha1" => HashAlgo::Sha1,
            "sha224" => HashAlgo::Sha224,
            "sha256" => HashAlgo::Sha256,
            "sha384" => HashAlgo::Sha384,
            "sha512" => HashAlgo::Sha512,
            "md5" => HashAlgo::Md5,
            "adler32" => HashAlgo::Adler32,
            _ => return None,
        })
    }

    /// Length of the hex digest.
    pub fn hex_len(self) -> usize {
        match self {
            HashAlgo::Sha1 => 40,
            HashAlgo::Sha224 => 56,
            HashAlgo::Sha256 => 64,
            HashAlgo::Sha384 => 96,
            HashAlgo::Sha512 => 128,
            HashAlgo::Md5 => 32,
            HashAlgo::Adler32 => 8,
        }
    }

    /// image-creator's spelling (`sha-256`, `md5`, `adler32`).
    pub fn name(self) -> &'static str {
        match self {
            HashAlgo::Sha1 => "sha-1",
            HashAlgo::Sha224 => "sha-224",
            HashAlgo::Sha256 => "sha-256",
            HashAlgo::Sha384 => "sha-384",
            HashAlgo::Sha512 => "sha-512",
            HashAlgo::Md5 => "md5",
            HashAlgo::Adler32 => "adler32",
        }
    }
}

/// `checksum.kind`: the digest itself, or a URL whose body holds it (MirrorBrain style).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChecksumKind {
    /// `value` is the hex digest.
    #[default]
    Digest,
    /// `value` is a URL whose body is `<digest>[ name]`.
    Url,
}

/// A `checksum` mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checksum {
    /// The algorithm.
    pub algo: HashAlgo,
    /// `algo` as written (`sha256` or `sha-256`), kept for stable serialisation.
    pub algo_text: String,
    /// The hex digest or the digest URL.
    pub value: String,
    /// How to read `value`.
    pub kind: ChecksumKind,
}

impl Checksum {
    /// A sha256 digest checksum (a pin).
    pub fn sha256(hex: &str) -> Checksum {
        Checksum {
            algo: HashAlgo::Sha256,
            algo_text: "sha256".into(),
            value: hex.to_string(),
            kind: ChecksumKind::Digest,
        }
    }

    /// The sha256 hex digest when this checksum pins content by sha256.
    pub fn pinned_sha256(&self) -> Option<&str> {
        (self.algo == HashAlgo::Sha256 && self.kind == ChecksumKind::Digest)
            .then_some(self.value.as_str())
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawChecksum {
    algo: String,
    value: String,
    #[serde(default)]
    kind: ChecksumKind,
}

impl Serialize for Checksum {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        RawChecksum {
            algo: self.algo_text.clone(),
            value: self.value.clone(),
            kind: self.kind,
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for Checksum {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Checksum, D::Error> {
        let raw = RawChecksum::deserialize(d)?;
        let algo = HashAlgo::parse(&raw.algo).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "unknown checksum algo {:?} (expected one of sha-1, sha-224, sha-256, \
                 sha-384, sha-512, md5, adler32)",
                raw.algo
            ))
        })?;
        Ok(Checksum {
            algo,
            algo_text: raw.algo,
            value: raw.value,
            kind: raw.kind,
        })
    }
}

/// `files[].via`: how the downloaded or inline content becomes files under `to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Via {
    /// Copied as is.
    #[default]
    Direct,
    /// `content` is base64 and is decoded.
    Base64,
    /// A `.tar.bz2` expanded into `to`.
    Bztar,
    /// A `.tar.gz` expanded into `to`.
    Gztar,
    /// A `.tar` expanded into `to`.
    Tar,
    /// A `.tar.xz` expanded into `to`.
    Xztar,
    /// A `.zip` expanded into `to`.
    Zip,
}

impl Via {
    /// Whether the content is an archive expanded into a directory.
    pub fn is_archive(self) -> bool {
        !matches!(self, Via::Direct | Via::Base64)
    }
}

/// `base`: the image everything is written into.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Base {
    /// An offspot base version (`1.4.2`), a URL (`https://`, `http://`, `file://`) or a path.
    pub source: String,
    /// Size of everything before the data partition.
    pub rootfs_size: Size,
    /// Optional checksum of what `source` serves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum: Option<Checksum>,
}

/// Where offspot publishes base images named by version.
pub const OFFSPOT_BASE_URL: &str = "https://drive.offspot.it/base";

/// Whether `source` is an offspot base version: `^\d\.\d\.\d[a-z0-9\-._]*`.
pub fn is_offspot_version(source: &str) -> bool {
    let b = source.as_bytes();
    b.len() >= 5
        && b[0].is_ascii_digit()
        && b[1] == b'.'
        && b[2].is_ascii_digit()
        && b[3] == b'.'
        && b[4].is_ascii_digit()
        && b[5..]
            .iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || b"-._".contains(c))
}

impl Base {
    /// The URL or path to download, and the checksum to verify it with. A version
    /// becomes offspot's URL with its md5 read from `<url>.md5` (overriding any given
    /// checksum, as image-creator does) unless a sha256 pin is given.
    pub fn resolved(&self) -> (String, Option<Checksum>) {
        if is_offspot_version(&self.source) {
            let url = format!("{OFFSPOT_BASE_URL}/offspot-base-arm64-{}.img", self.source);
            let pin = self
                .checksum
                .as_ref()
                .filter(|c| c.pinned_sha256().is_some())
                .cloned();
            let checksum = pin.unwrap_or_else(|| Checksum {
                algo: HashAlgo::Md5,
                algo_text: "md5".into(),
                value: format!("{url}.md5"),
                kind: ChecksumKind::Url,
            });
            (url, Some(checksum))
        } else {
            (self.source.clone(), self.checksum.clone())
        }
    }
}

/// `output`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Output {
    /// `auto` or a size.
    #[serde(default)]
    pub size: OutputSize,
    /// Accepted for compatibility; image-creator ignores it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compress: Option<bool>,
}

/// One `oci_images` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OciImage {
    /// The image reference; pinned when it ends with `@sha256:<digest>`.
    pub ident: String,
    /// Size of the exported archive, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filesize: Option<u64>,
    /// Size of the extracted image, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fullsize: Option<u64>,
    /// Unused by image-creator (images always come from the registry); kept.
    #[serde(default)]
    pub url: Option<String>,
}

/// One `files` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct File {
    /// Target path, under `/data`.
    pub to: String,
    /// Where the content comes from (exclusive with `content`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Inline content (exclusive with `url`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// How the content becomes files.
    #[serde(default)]
    pub via: Via,
    /// Size (for archives: the expanded size); `-1` = unknown.
    #[serde(default)]
    pub size: FileSize,
    /// Checksum of what `url` serves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum: Option<Checksum>,
}

impl File {
    /// The bytes of inline content: stripped as image-creator does, base64-decoded for
    /// `via: base64`. `None` for downloaded files or undecodable base64.
    pub fn inline_bytes(&self) -> Option<Vec<u8>> {
        let c = self.content.as_deref()?.trim();
        match self.via {
            Via::Base64 => base64::engine::general_purpose::STANDARD
                .decode(c.split_whitespace().collect::<String>())
                .ok(),
            _ => Some(c.as_bytes().to_vec()),
        }
    }

    /// The sha256 this entry is pinned to, with the exact size, if it is pinned.
    pub fn pin(&self) -> Option<(&str, u64)> {
        let sha = self.checksum.as_ref()?.pinned_sha256()?;
        if self.via.is_archive() {
            // For archives `size` is the expanded size, so the sha256 alone pins.
            return Some((sha, 0));
        }
        Some((sha, self.size.bytes()?))
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// A whole recipe.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recipe {
    /// The base image.
    pub base: Base,
    /// The output image.
    #[serde(default)]
    pub output: Output,
    /// Container images to pull into `/data/images`.
    #[serde(default)]
    pub oci_images: Vec<OciImage>,
    /// Files to place under `/data`.
    #[serde(default)]
    pub files: Vec<File>,
    /// Add the raw recipe as `/data/image.yaml`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub write_config: bool,
    /// Written unvalidated to `offspot.yaml` on the boot partition; kept exactly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offspot: Option<serde_yaml::Value>,
}

/// A recipe that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum RecipeError {
    /// Reading failed.
    #[error("{source_name}: cannot read recipe: {error}")]
    Io {
        /// The file.
        source_name: String,
        /// The I/O error.
        error: std::io::Error,
    },
    /// Syntax or type error, or a rule violation, at a key path.
    #[error("{source_name}: {key}: {message}")]
    Invalid {
        /// The file (or `<string>`).
        source_name: String,
        /// The key path, e.g. `files[3].checksum.algo` (`.` for the whole document).
        key: String,
        /// What is wrong, with expected and actual values.
        message: String,
    },
}

/// Something a `--locked` fetch refuses because it is not pinned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unpinned {
    /// The recipe key path (`files[2]`, `oci_images[0]`, `base`).
    pub key: String,
    /// The URL or image reference.
    pub what: String,
    /// What is missing (`sha256 checksum`, `exact size`, `@sha256 digest`).
    pub missing: String,
}

impl std::fmt::Display for Unpinned {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): no {}", self.key, self.what, self.missing)
    }
}

fn is_url_or_path(s: &str) -> bool {
    s.starts_with("http://") || s.starts_with("https://") || s.starts_with("file://") || {
        !s.is_empty() && !s.contains("://")
    }
}

impl Recipe {
    /// Reads a recipe file: `.json` as JSON, anything else as YAML.
    pub fn load(path: &Path) -> Result<Recipe, RecipeError> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|error| RecipeError::Io {
            source_name: name.clone(),
            error,
        })?;
        if path.extension().is_some_and(|e| e == "json") {
            Recipe::from_json_str(&text, &name)
        } else {
            Recipe::from_yaml_str(&text, &name)
        }
    }

    /// Parses and validates YAML (anchors and aliases allowed).
    pub fn from_yaml_str(text: &str, source_name: &str) -> Result<Recipe, RecipeError> {
        let de = serde_yaml::Deserializer::from_str(text);
        let recipe: Recipe = serde_path_to_error::deserialize(de)
            .map_err(|e| parse_error(source_name, e.path().to_string(), e.inner()))?;
        recipe.validate(source_name)?;
        Ok(recipe)
    }

    /// Parses and validates JSON.
    pub fn from_json_str(text: &str, source_name: &str) -> Result<Recipe, RecipeError> {
        let mut de = serde_json::Deserializer::from_str(text);
        let recipe: Recipe = serde_path_to_error::deserialize(&mut de)
            .map_err(|e| parse_error(source_name, e.path().to_string(), e.inner()))?;
        recipe.validate(source_name)?;
        Ok(recipe)
    }

    /// Stable YAML.
    pub fn to_yaml(&self) -> String {
        serde_yaml::to_string(self).unwrap_or_default()
    }

    /// Stable JSON (2-space indentation, trailing newline).
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).unwrap_or_default();
        s.push('\n');
        s
    }

    /// Checks image-creator's rules; the error names the first offending key.
    pub fn validate(&self, source_name: &str) -> Result<(), RecipeError> {
        let bad = |key: String, message: String| {
            Err(RecipeError::Invalid {
                source_name: source_name.to_string(),
                key,
                message,
            })
        };
        let b = &self.base;
        if !is_offspot_version(&b.source) && !is_url_or_path(&b.source) {
            return bad(
                "base.source".into(),
                format!(
                    "expected an offspot version (1.4.2), an http(s)/file URL or a path, \
                     found {:?}",
                    b.source
                ),
            );
        }
        if let Some(c) = &b.checksum {
            check_checksum(c, "base.checksum", source_name)?;
        }
        let mut seen = BTreeSet::new();
        if self.write_config {
            seen.insert("/data/image.yaml".to_string());
        }
        for (i, f) in self.files.iter().enumerate() {
            let key = format!("files[{i}]");
            let to = normalize_target(&f.to).ok_or_else(|| RecipeError::Invalid {
                source_name: source_name.to_string(),
                key: format!("{key}.to"),
                message: format!(
                    "must be an absolute path under /data without '..', found {:?}",
                    f.to
                ),
            })?;
            if !seen.insert(to.clone()) {
                let why = if to == "/data/image.yaml" && self.write_config {
                    " (write_config adds /data/image.yaml)"
                } else {
                    ""
                };
                return bad(format!("{key}.to"), format!("duplicate target {to}{why}"));
            }
            match (&f.url, &f.content) {
                (Some(_), Some(_)) => {
                    return bad(
                        key,
                        "has both url and content (expected exactly one)".into(),
                    )
                }
                (None, None) => {
                    return bad(
                        key,
                        "has neither url nor content (expected exactly one)".into(),
                    )
                }
                (Some(url), None) => {
                    if !is_url_or_path(url) {
                        return bad(
                            format!("{key}.url"),
                            format!("expected an http(s)/file URL or a path, found {url:?}"),
                        );
                    }
                    if f.via == Via::Base64 {
                        return bad(
                            format!("{key}.via"),
                            "base64 applies to inline content only, not to a url".into(),
                        );
                    }
                }
                (None, Some(_)) => {
                    if f.via.is_archive() {
                        return bad(
                            format!("{key}.via"),
                            "archives must come from a url, not inline content".into(),
                        );
                    }
                    if f.inline_bytes().is_none() {
                        return bad(format!("{key}.content"), "is not valid base64".into());
                    }
                }
            }
            if let Some(c) = &f.checksum {
                check_checksum(c, &format!("{key}.checksum"), source_name)?;
            }
        }
        let mut idents = BTreeSet::new();
        for (i, o) in self.oci_images.iter().enumerate() {
            if let Err(e) = OciRef::parse(&o.ident) {
                return bad(format!("oci_images[{i}].ident"), e.to_string());
            }
            if !idents.insert(o.ident.as_str()) {
                return bad(
                    format!("oci_images[{i}].ident"),
                    format!("duplicate image {}", o.ident),
                );
            }
        }
        if let Some(o) = &self.offspot {
            if !o.is_mapping() {
                return bad("offspot".into(), "expected a mapping".into());
            }
            // Kept unvalidated, but it must survive JSON (the recipe's other form).
            if let Some(key) = non_string_key(o, "offspot") {
                return bad(key, "mapping keys must be strings".into());
            }
        }
        Ok(())
    }

    /// Fills pins from a lock: sha256 + size for each locked URL, `@digest` and sizes for
    /// each locked image. Existing sha256 pins are left alone (a conflict shows up as a
    /// hash mismatch at fetch time, naming both values).
    pub fn apply_lock(&mut self, lock: &Lock) {
        let (base_url, _) = self.base.resolved();
        if let Some(l) = lock.files.get(&base_url) {
            if self
                .base
                .checksum
                .as_ref()
                .and_then(|c| c.pinned_sha256())
                .is_none()
            {
                self.base.checksum = Some(Checksum::sha256(&l.sha256));
            }
        }
        for f in &mut self.files {
            let Some(l) = f.url.as_ref().and_then(|u| lock.files.get(u)) else {
                continue;
            };
            if f.checksum
                .as_ref()
                .and_then(|c| c.pinned_sha256())
                .is_none()
            {
                f.checksum = Some(Checksum::sha256(&l.sha256));
            }
            if !f.via.is_archive() && f.size.bytes().is_none() {
                f.size = FileSize::Known(Size::Bytes(l.size));
            }
        }
        for o in &mut self.oci_images {
            let Some(l) = lock.oci.get(&o.ident) else {
                continue;
            };
            if !o.ident.contains('@') {
                o.ident = format!("{}@{}", o.ident, l.digest);
            }
            o.filesize = Some(l.filesize);
            o.fullsize = Some(l.fullsize);
        }
    }

    /// Everything that is not pinned: URLs without a sha256 digest checksum (and, for
    /// direct files, an exact size), images without `@sha256:` digest. Inline content and
    /// local paths are not downloads and need no pin.
    pub fn unpinned(&self) -> Vec<Unpinned> {
        let mut out = Vec::new();
        let (base_url, checksum) = self.base.resolved();
        if checksum.as_ref().and_then(|c| c.pinned_sha256()).is_none() {
            out.push(Unpinned {
                key: "base".into(),
                what: base_url,
                missing: "sha256 checksum".into(),
            });
        }
        for (i, f) in self.files.iter().enumerate() {
            let Some(url) = &f.url else { continue };
            let sha = f.checksum.as_ref().and_then(|c| c.pinned_sha256());
            let missing = match (sha, f.via.is_archive() || f.size.bytes().is_some()) {
                (Some(_), true) => continue,
                (Some(_), false) => "exact size",
                (None, true) => "sha256 checksum",
                (None, false) => "sha256 checksum and exact size",
            };
            out.push(Unpinned {
                key: format!("files[{i}]"),
                what: url.clone(),
                missing: missing.into(),
            });
        }
        for (i, o) in self.oci_images.iter().enumerate() {
            if OciRef::parse(&o.ident).is_ok_and(|r| r.digest.is_some()) {
                continue;
            }
            out.push(Unpinned {
                key: format!("oci_images[{i}]"),
                what: o.ident.clone(),
                missing: "@sha256 digest".into(),
            });
        }
        out
    }
}

fn parse_error(source_name: &str, path: String, e: &dyn std::fmt::Display) -> RecipeError {
    RecipeError::Invalid {
        source_name: source_name.to_string(),
        key: path,
        message: e.to_string(),
    }
}

fn check_checksum(c: &Checksum, key: &str, source_name: &str) -> Result<(), RecipeError> {
    let bad = |message: String| RecipeError::Invalid {
        source_name: source_name.to_string(),
        key: format!("{key}.value"),
        message,
    };
    match c.kind {
        ChecksumKind::Digest => {
            let ok =
                c.value.len() == c.algo.hex_len() && c.value.bytes().all(|b| b.is_ascii_hexdigit());
            if !ok {
                return Err(bad(format!(
                    "expected {} hex digits for {}, found {:?}",
                    c.algo.hex_len(),
                    c.algo.name(),
                    c.value
                )));
            }
        }
        ChecksumKind::Url => {
            if !is_url_or_path(&c.value) {
                return Err(bad(format!(
                    "kind url expects a URL to the digest, found {:?}",
                    c.value
                )));
            }
        }
    }
    Ok(())
}

/// The path of the first mapping key that is not a string, if any.
fn non_string_key(v: &serde_yaml::Value, path: &str) -> Option<String> {
    match v {
        serde_yaml::Value::Mapping(m) => m.iter().find_map(|(k, v)| match k.as_str() {
            Some(k) => non_string_key(v, &format!("{path}.{k}")),
            None => Some(format!("{path}.{k:?}")),
        }),
        serde_yaml::Value::Sequence(s) => s
            .iter()
            .enumerate()
            .find_map(|(i, v)| non_string_key(v, &format!("{path}[{i}]"))),
        serde_yaml::Value::Tagged(t) => non_string_key(&t.value, path),
        _ => None,
    }
}

/// Normalises a target: absolute, under `/data`, no `.`/`..`, no empty components.
fn normalize_target(to: &str) -> Option<String> {
    let rest = to.strip_prefix("/data/")?;
    let parts: Vec<&str> = rest.split('/').filter(|p| !p.is_empty()).collect();
    if parts.is_empty() || parts.iter().any(|p| *p == "." || *p == "..") {
        return None;
    }
    Some(format!("/data/{}", parts.join("/")))
}

#[cfg(test)]
mod tests;
