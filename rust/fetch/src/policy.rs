//! The cache policy file (`<cache>/policy.yaml`), shaped like image-creator's.
//!
//! ```yaml
//! enabled: true
//! max_size: 10GiB        # 0 = unlimited
//! max_age: 30d           # s, m, h, d, w
//! eviction: lru          # lru | oldest | newest | largest | smallest
//! files:                 # same keys, plus filters; first matching filter wins
//!   filters: [{pattern: "\\.zim$", ignore: false}, {pattern: "nightly", ignore: true}]
//! oci_images: {enabled: true}
//! ```
//! An absent file means the defaults (as image-creator: no file is created).

use nixspot_recipe::Size;
use serde::Deserialize;
use std::path::Path;

/// Which entries to evict first when over `max_size`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Eviction {
    /// Least recently used first.
    #[default]
    Lru,
    /// Oldest added first.
    Oldest,
    /// Newest added first.
    Newest,
    /// Largest first.
    Largest,
    /// Smallest first.
    Smallest,
}

/// A `filters` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Filter {
    /// Case-insensitive regex matched against the URL or image reference.
    pub pattern: String,
    /// Matching entries are not kept in the cache.
    #[serde(default)]
    pub ignore: bool,
    /// A stricter age limit for matching entries.
    #[serde(default)]
    pub max_age: Option<String>,
    #[serde(skip)]
    regex: Option<regex::Regex>,
}

/// Limits shared by the top level and each kind.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Whether to keep entries at all (default true).
    #[serde(default)]
    pub enabled: Option<bool>,
    /// Total size limit; `0` = unlimited.
    #[serde(default)]
    pub max_size: Option<Size>,
    /// Age limit (`30d`, `4w`, `12h`).
    #[serde(default)]
    pub max_age: Option<String>,
    /// Eviction order when over `max_size`.
    #[serde(default)]
    pub eviction: Option<Eviction>,
    /// Per-source rules (kinds only).
    #[serde(default)]
    pub filters: Vec<Filter>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    enabled: Option<bool>,
    max_size: Option<Size>,
    max_age: Option<String>,
    eviction: Option<Eviction>,
    #[serde(default)]
    files: Limits,
    #[serde(default)]
    oci_images: Limits,
}

/// The whole policy.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Top-level limits (`filters` unused).
    pub all: Limits,
    /// Limits for downloaded files.
    pub files: Limits,
    /// Limits for OCI image archives.
    pub oci_images: Limits,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            all: Limits {
                max_size: Some(Size::Bytes(10 << 30)),
                ..Limits::default()
            },
            files: Limits::default(),
            oci_images: Limits::default(),
        }
    }
}

/// The kind of a cache entry, for per-kind policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A downloaded or imported file.
    File,
    /// An OCI image archive.
    Oci,
    /// A registry blob kept only while an archive is built.
    Blob,
}

/// Parses `30d`, `4w`, `12h`, `15m`, `90s` or plain seconds.
pub fn parse_duration(text: &str) -> Option<u64> {
    let t = text.trim();
    let (num, unit) = t.split_at(t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len()));
    let n: u64 = num.parse().ok()?;
    let mul = match unit.trim() {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86400,
        "w" => 7 * 86400,
        _ => return None,
    };
    n.checked_mul(mul)
}

impl Policy {
    /// Reads `path`, or the defaults when it does not exist.
    pub fn load(path: &Path) -> Result<Policy, String> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Policy::default()),
            Err(e) => return Err(format!("{}: {e}", path.display())),
        };
        let raw: RawPolicy = serde_yaml::from_str(&text)
            .map_err(|e| format!("{}: invalid cache policy: {e}", path.display()))?;
        let mut p = Policy {
            all: Limits {
                enabled: raw.enabled,
                max_size: Some(raw.max_size.unwrap_or(Size::Bytes(10 << 30))),
                max_age: raw.max_age,
                eviction: raw.eviction,
                filters: Vec::new(),
            },
            files: raw.files,
            oci_images: raw.oci_images,
        };
        for (name, l) in [
            ("", &mut p.all),
            ("files.", &mut p.files),
            ("oci_images.", &mut p.oci_images),
        ] {
            if let Some(a) = &l.max_age {
                parse_duration(a).ok_or_else(|| {
                    format!("{}: {name}max_age: invalid duration {a:?}", path.display())
                })?;
            }
            for (i, f) in l.filters.iter_mut().enumerate() {
                let re = regex::RegexBuilder::new(&f.pattern)
                    .case_insensitive(true)
                    .build()
                    .map_err(|e| format!("{}: {name}filters[{i}].pattern: {e}", path.display()))?;
                f.regex = Some(re);
                if let Some(a) = &f.max_age {
                    parse_duration(a).ok_or_else(|| {
                        format!(
                            "{}: {name}filters[{i}].max_age: invalid duration {a:?}",
                            path.display()
                        )
                    })?;
                }
            }
        }
        Ok(p)
    }

    fn kind(&self, kind: Kind) -> Option<&Limits> {
        match kind {
            Kind::File => Some(&self.files),
            Kind::Oci => Some(&self.oci_images),
            Kind::Blob => None,
        }
    }

    fn filter(&self, kind: Kind, source: &str) -> Option<&Filter> {
        self.kind(kind)?
            .filters
            .iter()
            .find(|f| f.regex.as_ref().is_some_and(|r| r.is_match(source)))
    }

    /// Whether content from `source` should stay in the cache after use.
    pub fn keeps(&self, kind: Kind, source: &str) -> bool {
        if kind == Kind::Blob || self.all.enabled == Some(false) {
            return false;
        }
        if self.kind(kind).and_then(|l| l.enabled) == Some(false) {
            return false;
        }
        !self.filter(kind, source).is_some_and(|f| f.ignore)
    }

    /// The age limit in seconds for an entry of `kind` from `source`.
    pub fn max_age(&self, kind: Kind, source: &str) -> Option<u64> {
        let filter = self.filter(kind, source).and_then(|f| f.max_age.as_deref());
        let kind_age = self.kind(kind).and_then(|l| l.max_age.as_deref());
        filter
            .or(kind_age)
            .or(self.all.max_age.as_deref())
            .and_then(parse_duration)
    }

    /// The size limit in bytes for a kind (`None` for the top level); 0 = unlimited.
    pub fn max_size(&self, kind: Option<Kind>) -> u64 {
        let l = match kind {
            Some(k) => self.kind(k),
            None => Some(&self.all),
        };
        l.and_then(|l| l.max_size.as_ref()).map_or(0, |s| s.bytes())
    }

    /// The eviction order for a kind (falls back to the top level).
    pub fn eviction(&self, kind: Option<Kind>) -> Eviction {
        kind.and_then(|k| self.kind(k))
            .and_then(|l| l.eviction)
            .or(self.all.eviction)
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("policy.yaml");
        assert_eq!(Policy::load(&p).unwrap().max_size(None), 10 << 30);
        std::fs::write(
            &p,
            "max_size: 1G\neviction: largest\nfiles:\n  max_age: 4w\n  filters:\n  \
             - {pattern: 'NIGHTLY', ignore: true}\n  - {pattern: '\\.zim$', max_age: 1d}\n\
             oci_images: {enabled: false}\n",
        )
        .unwrap();
        let pol = Policy::load(&p).unwrap();
        assert_eq!(pol.max_size(None), 1_000_000_000);
        assert_eq!(pol.eviction(Some(Kind::File)), Eviction::Largest);
        assert!(!pol.keeps(Kind::File, "https://x/nightly/a"));
        assert!(pol.keeps(Kind::File, "https://x/a.zim"));
        assert!(!pol.keeps(Kind::Oci, "ghcr.io/a/b:1"));
        assert_eq!(pol.max_age(Kind::File, "https://x/a.zim"), Some(86400));
        assert_eq!(pol.max_age(Kind::File, "https://x/a.txt"), Some(28 * 86400));
        std::fs::write(&p, "max_age: soon\n").unwrap();
        assert!(Policy::load(&p).unwrap_err().contains("max_age"));
        std::fs::write(&p, "files: {filters: [{pattern: '('}]}\n").unwrap();
        assert!(Policy::load(&p)
            .unwrap_err()
            .contains("files.filters[0].pattern"));
    }
}
