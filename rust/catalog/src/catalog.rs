//! The loaded catalog and the questions nixspot asks it.

use crate::{CatalogError, Entry, PackageIdent};
use serde::Serialize;
use std::cmp::Ordering;
use std::collections::BTreeMap;

/// All entries of one catalog, with a lowercased search text per entry.
#[derive(Debug, Clone)]
pub struct Catalog {
    url: String,
    entries: Vec<Entry>,
    /// Lowercased `name title summary tags` of each entry, same order as `entries`.
    haystacks: Vec<String>,
}

/// A search: every field set must match (words: each one is a case-insensitive substring
/// of the entry's name, title, summary or tags).
#[derive(Debug, Clone, Default)]
pub struct Query {
    /// Words that must all occur.
    pub words: Vec<String>,
    /// ISO 639-3 code (or a comma-separated list, any of which matches).
    pub lang: Option<String>,
    /// Exact category.
    pub category: Option<String>,
    /// Exact flavour (`""` for entries without one).
    pub flavour: Option<String>,
    /// Largest catalog `length` in bytes.
    pub max_size: Option<u64>,
}

/// A language or category and how many entries have it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Count {
    /// The language code or category.
    pub value: String,
    /// Number of entries.
    pub count: usize,
}

/// Newest first by the spec's rule: `updated`, then `dc:issued`, then the file name's
/// date suffix; the id last so that the order never depends on the feed's order.
fn newest_first(a: &Entry, b: &Entry) -> Ordering {
    b.date
        .cmp(&a.date)
        .then_with(|| b.issued.cmp(&a.issued))
        .then_with(|| b.file_version().cmp(&a.file_version()))
        .then_with(|| a.id.cmp(&b.id))
}

impl Catalog {
    /// A catalog of `entries` read from `url`. Entries are ordered by name, flavour,
    /// publisher, then newest first.
    pub fn new(url: impl Into<String>, mut entries: Vec<Entry>) -> Catalog {
        entries.sort_by(|a, b| {
            (&a.name, &a.flavour, &a.publisher)
                .cmp(&(&b.name, &b.flavour, &b.publisher))
                .then_with(|| newest_first(a, b))
        });
        let haystacks = entries
            .iter()
            .map(|e| {
                let mut text =
                    String::with_capacity(e.name.len() + e.title.len() + e.summary.len() + 64);
                for part in [&e.name, &e.title, &e.summary] {
                    text.push_str(part);
                    text.push('\n');
                }
                for tag in &e.tags {
                    text.push_str(tag);
                    text.push('\n');
                }
                text.to_lowercase()
            })
            .collect();
        Catalog {
            url: url.into(),
            entries,
            haystacks,
        }
    }

    /// The catalog URL this copy came from.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Every entry, ordered as described in [`Catalog::new`].
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// Entries matching `query`, in catalog order.
    pub fn search(&self, query: &Query) -> Vec<&Entry> {
        let words: Vec<String> = query.words.iter().map(|w| w.to_lowercase()).collect();
        let finders: Vec<memchr::memmem::Finder<'_>> = words
            .iter()
            .filter(|w| !w.is_empty())
            .map(|w| memchr::memmem::Finder::new(w.as_bytes()))
            .collect();
        let langs: Option<Vec<&str>> = query.lang.as_deref().map(|l| {
            l.split(',')
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect()
        });
        self.entries
            .iter()
            .zip(&self.haystacks)
            .filter(|(e, haystack)| {
                query.max_size.is_none_or(|max| e.length <= max)
                    && query.flavour.as_deref().is_none_or(|f| e.flavour == f)
                    && query.category.as_deref().is_none_or(|c| e.category == c)
                    && langs.as_ref().is_none_or(|langs| {
                        e.languages
                            .iter()
                            .any(|l| langs.iter().any(|q| l.eq_ignore_ascii_case(q)))
                    })
                    && finders
                        .iter()
                        .all(|f| f.find(haystack.as_bytes()).is_some())
            })
            .map(|(e, _)| e)
            .collect()
    }

    /// Every version of `name` (of `flavour`, when given), newest first.
    pub fn versions(&self, name: &str, flavour: Option<&str>) -> Vec<&Entry> {
        let mut found: Vec<&Entry> = self
            .entries
            .iter()
            .filter(|e| e.name == name && flavour.is_none_or(|f| e.flavour == f))
            .collect();
        found.sort_by(|a, b| newest_first(a, b));
        found
    }

    /// The entry a package ident stands for: same name, same flavour, same publisher (when
    /// the ident has one), then the newest (spec §5); with `version`, the one whose date
    /// (`YYYY-MM-DD`), month (`YYYY-MM`) or file name suffix equals it.
    ///
    /// An ident without a flavour (`NAME`) resolves only when the name has a single
    /// flavour; otherwise the error lists them.
    pub fn resolve(
        &self,
        ident: &PackageIdent,
        version: Option<&str>,
    ) -> Result<&Entry, CatalogError> {
        let same_name: Vec<&Entry> = self.versions(&ident.name, None);
        let mut flavours: Vec<String> = same_name.iter().map(|e| e.flavour.clone()).collect();
        flavours.sort();
        flavours.dedup();
        let not_found = |flavours: Vec<String>| CatalogError::NotFound {
            ident: ident.to_string(),
            version: version.map(str::to_string),
            catalog: self.url.clone(),
            closest: if flavours.is_empty() {
                self.closest_names(&ident.name)
            } else {
                Vec::new()
            },
            flavours: flavours
                .into_iter()
                .map(|f| if f.is_empty() { "(none)".into() } else { f })
                .collect(),
        };
        let flavour = match (&ident.flavour, flavours.as_slice()) {
            (Some(f), _) => f.clone(),
            (None, [only]) => only.clone(),
            (None, []) => return Err(not_found(Vec::new())),
            (None, _) => {
                return Err(CatalogError::Ambiguous {
                    ident: ident.to_string(),
                    catalog: self.url.clone(),
                    flavours,
                })
            }
        };
        same_name
            .into_iter()
            .filter(|e| e.flavour == flavour)
            .filter(|e| ident.publisher.as_deref().is_none_or(|p| e.publisher == p))
            .find(|e| {
                version.is_none_or(|v| {
                    e.date == v
                        || (v.len() == 7 && e.date.starts_with(v))
                        || e.file_version() == Some(v)
                })
            })
            .ok_or_else(|| not_found(flavours))
    }

    /// Up to five catalog names closest to `name` (edit distance), best first.
    pub fn closest_names(&self, name: &str) -> Vec<String> {
        let mut names: Vec<&str> = self.entries.iter().map(|e| e.name.as_str()).collect();
        names.dedup();
        let mut scored: Vec<(f64, &str)> = names
            .into_iter()
            .map(|n| (strsim::normalized_damerau_levenshtein(name, n), n))
            .collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(b.1)));
        scored
            .into_iter()
            .take(5)
            .map(|(_, n)| n.to_string())
            .collect()
    }

    /// Languages (ISO 639-3) with their number of entries, by code.
    pub fn languages(&self) -> Vec<Count> {
        counts(self.entries.iter().flat_map(|e| e.languages.iter()))
    }

    /// Categories with their number of entries, by name (entries without one omitted).
    pub fn categories(&self) -> Vec<Count> {
        counts(
            self.entries
                .iter()
                .map(|e| &e.category)
                .filter(|c| !c.is_empty()),
        )
    }
}

fn counts<'a>(values: impl Iterator<Item = &'a String>) -> Vec<Count> {
    let mut map: BTreeMap<&str, usize> = BTreeMap::new();
    for v in values {
        *map.entry(v).or_default() += 1;
    }
    map.into_iter()
        .map(|(value, count)| Count {
            value: value.to_string(),
            count,
        })
        .collect()
}
