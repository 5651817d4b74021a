//! Package idents: `NAME`, `NAME:FLAVOUR` and offspot's `PUBLISHER:NAME:FLAVOUR`.

use crate::CatalogError;
use std::fmt;

/// A ZIM package named by the catalog's book `name`, optionally a flavour and a publisher.
///
/// `flavour: None` (ident `NAME`) means "whatever flavour the catalog has, if only one";
/// `Some("")` (`NAME:` or offspot's `openZIM:grimgrains_en_all:`) means "no flavour".
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PackageIdent {
    /// The publisher (`openZIM`, `Kiwix`, …) when the ident has three parts.
    pub publisher: Option<String>,
    /// The version-less book name, e.g. `wikipedia_en_climate_change`.
    pub name: String,
    /// The flavour (`nopic`, `maxi`, …); `Some("")` for explicitly none.
    pub flavour: Option<String>,
}

impl PackageIdent {
    /// Parses `NAME`, `NAME:FLAVOUR` or `PUBLISHER:NAME:FLAVOUR` (split on `:` at most
    /// twice, as offspot does; the flavour may be empty).
    pub fn parse(ident: &str) -> Result<PackageIdent, CatalogError> {
        let bad = |reason: &str| CatalogError::Ident {
            ident: ident.to_string(),
            reason: reason.to_string(),
        };
        let parts: Vec<&str> = ident.splitn(3, ':').collect();
        let (publisher, name, flavour) = match parts.as_slice() {
            [name] => (None, *name, None),
            [name, flavour] => (None, *name, Some(*flavour)),
            [publisher, name, flavour] => {
                if publisher.is_empty() {
                    return Err(bad("empty publisher"));
                }
                (Some(*publisher), *name, Some(*flavour))
            }
            _ => return Err(bad("empty")),
        };
        if name.is_empty() {
            return Err(bad("empty name"));
        }
        for part in [Some(name), publisher, flavour].into_iter().flatten() {
            if let Some(c) = part
                .chars()
                .find(|c| c.is_whitespace() || c.is_control() || *c == ':' || *c == '/')
            {
                return Err(bad(&format!("character {c:?} is not allowed")));
            }
        }
        Ok(PackageIdent {
            publisher: publisher.map(str::to_string),
            name: name.to_string(),
            flavour: flavour.map(str::to_string),
        })
    }
}

impl fmt::Display for PackageIdent {
    /// The canonical form: `PUBLISHER:NAME:FLAVOUR` when a publisher is set, else
    /// `NAME:FLAVOUR` (`NAME:` for explicitly no flavour), else `NAME`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.publisher, &self.flavour) {
            (Some(p), flavour) => write!(
                f,
                "{p}:{}:{}",
                self.name,
                flavour.as_deref().unwrap_or_default()
            ),
            (None, Some(flavour)) => write!(f, "{}:{flavour}", self.name),
            (None, None) => f.write_str(&self.name),
        }
    }
}

impl std::str::FromStr for PackageIdent {
    type Err = CatalogError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PackageIdent::parse(s)
    }
}
