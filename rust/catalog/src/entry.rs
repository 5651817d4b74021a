//! One book of the catalog.

use serde::{Deserialize, Serialize};

/// A catalog entry (one ZIM file), with the fields nixspot uses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The ZIM's UUID (without `urn:uuid:`); one per file, a new version has a new one.
    pub id: String,
    /// The version-less book name, e.g. `wikipedia_en_climate_change`.
    pub name: String,
    /// The flavour (`nopic`, `maxi`, …); empty when none.
    pub flavour: String,
    /// The ZIM's title.
    pub title: String,
    /// The ZIM's description.
    pub summary: String,
    /// ISO 639-3 codes, in the catalog's order.
    pub languages: Vec<String>,
    /// The catalog category (`wikipedia`, `gutenberg`, …); may be empty.
    pub category: String,
    /// Tags, including private `_key:value` ones.
    pub tags: Vec<String>,
    /// The publisher (`openZIM`, `Kiwix`, …); may be empty.
    pub publisher: String,
    /// The creator; may be empty.
    pub author: String,
    /// The content date, `YYYY-MM-DD` (the entry's `updated`).
    pub date: String,
    /// `dc:issued` as `YYYY-MM-DD`, when present.
    pub issued: Option<String>,
    /// Number of articles.
    pub article_count: u64,
    /// Number of media files.
    pub media_count: u64,
    /// The catalog's size in bytes: floored to KiB, not the exact file size.
    pub length: u64,
    /// The ZIM download URL (the acquisition link with `.meta4` stripped).
    pub download_url: String,
    /// Absolute URL of the 48 px illustration.
    pub icon_url: Option<String>,
    /// Absolute URL of the content preview.
    pub html_url: Option<String>,
}

impl Entry {
    /// `NAME:FLAVOUR` (`NAME` when the entry has no flavour).
    pub fn ident(&self) -> String {
        if self.flavour.is_empty() {
            self.name.clone()
        } else {
            format!("{}:{}", self.name, self.flavour)
        }
    }

    /// The `YYYY-MM` (or `YYYY-MM-DD`) suffix of the download's file name, if any.
    pub fn file_version(&self) -> Option<&str> {
        let file = self.download_url.rsplit('/').next()?;
        let stem = file.strip_suffix(".zim")?;
        let (_, suffix) = stem.rsplit_once('_')?;
        let shaped = suffix.len() >= 7
            && suffix.bytes().all(|b| b.is_ascii_digit() || b == b'-')
            && suffix.as_bytes()[4] == b'-';
        shaped.then_some(suffix)
    }
}
