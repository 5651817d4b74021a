//! The one error type of the crate.

/// Everything that can go wrong while reading, caching or querying the catalog.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// A package ident that is not `NAME`, `NAME:FLAVOUR` or `PUBLISHER:NAME:FLAVOUR`.
    #[error("invalid package ident {ident:?}: {reason} (expected NAME, NAME:FLAVOUR or PUBLISHER:NAME:FLAVOUR)")]
    Ident {
        /// The ident as given.
        ident: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The catalog server could not be reached or answered with an error status.
    #[error("{url}: {reason}")]
    Http {
        /// The URL requested.
        url: String,
        /// The transport error or the HTTP status.
        reason: String,
    },
    /// The server was unreachable and there is no cached copy to fall back on.
    #[error("catalog {url} is unreachable ({reason}) and there is no cached copy in {cache}")]
    Unreachable {
        /// The catalog URL.
        url: String,
        /// Why it could not be read.
        reason: String,
        /// Where a cached copy was looked for.
        cache: String,
    },
    /// `offline` was requested and no cached copy exists.
    #[error("offline and no cached copy of catalog {url} in {cache} (run `nixspot catalog update` while online)")]
    NoCachedCopy {
        /// The catalog URL.
        url: String,
        /// Where a cached copy was looked for.
        cache: String,
    },
    /// The response is not a well-formed OPDS feed, or breaks one of the parser's limits.
    #[error("{url}: malformed catalog at byte {position}: {reason}")]
    Malformed {
        /// The URL (or file) the feed came from.
        url: String,
        /// Byte offset in the response where the problem was found.
        position: u64,
        /// What was expected and what was found.
        reason: String,
    },
    /// No catalog entry matches a package ident (and version).
    #[error("{ident}{version}: not in catalog {catalog}{hint}",
        version = version.as_ref().map(|v| format!(" version {v}")).unwrap_or_default(),
        hint = hint(closest, flavours))]
    NotFound {
        /// The ident looked up (canonical form).
        ident: String,
        /// The version asked for, if any.
        version: Option<String>,
        /// The catalog URL.
        catalog: String,
        /// The names closest to the one asked for.
        closest: Vec<String>,
        /// Flavours available for this very name (when the name exists).
        flavours: Vec<String>,
    },
    /// A name without a flavour matches several flavours.
    #[error("{ident}: ambiguous in catalog {catalog}, it has flavours {flavours}; write NAME:FLAVOUR (NAME: for no flavour)",
        flavours = flavours.join(", "))]
    Ambiguous {
        /// The ident looked up.
        ident: String,
        /// The catalog URL.
        catalog: String,
        /// The flavours available.
        flavours: Vec<String>,
    },
    /// A checksum file (`.sha256` / `.meta4`) is missing, malformed or inconsistent.
    #[error("{url}: {reason}")]
    Checksum {
        /// The checksum file URL.
        url: String,
        /// What is wrong.
        reason: String,
    },
    /// Reading or writing the cached copy failed.
    #[error("{path}: {source}")]
    Io {
        /// The file involved.
        path: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The cached copy cannot be read back.
    #[error("{path}: corrupt cached catalog: {reason} (run `nixspot catalog update`)")]
    CorruptCache {
        /// The cache file.
        path: String,
        /// What is wrong.
        reason: String,
    },
}

fn hint(closest: &[String], flavours: &[String]) -> String {
    let mut out = String::new();
    if !flavours.is_empty() {
        out.push_str("; flavours of this name: ");
        out.push_str(&flavours.join(", "));
    }
    if !closest.is_empty() {
        out.push_str("; closest names: ");
        out.push_str(&closest.join(", "));
    }
    out
}

impl CatalogError {
    /// True when the catalog could not be read at all (no network and no cached copy):
    /// the CLI maps it to exit code 4.
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            CatalogError::Unreachable { .. } | CatalogError::NoCachedCopy { .. }
        )
    }
}
