//! The crate's single error type: every message names the input (file, URL, package,
//! field) and, where it applies, the expected and the actual value.

use std::path::PathBuf;

/// Errors from parsing, resolving, locking, unpacking and generating Debian data.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A deb822 document (Packages, Release, control) is malformed.
    #[error("{source_name}:{line}: {message}")]
    Syntax {
        /// File name or URL the text came from.
        source_name: String,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A mandatory field is missing or has a bad value in a stanza.
    #[error("{source_name}:{line}: package {package:?}: field {field}: {message}")]
    Field {
        /// File name or URL the stanza came from.
        source_name: String,
        /// 1-based line where the stanza starts.
        line: usize,
        /// Package name, or "" when unknown.
        package: String,
        /// Field name.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// A Debian version string is invalid.
    #[error("invalid version {input:?}: {message}")]
    Version {
        /// The version text.
        input: String,
        /// What is wrong.
        message: String,
    },
    /// A dependency field (Depends, Provides, …) is invalid.
    #[error("invalid relation {input:?}: {message}")]
    Relation {
        /// The field value.
        input: String,
        /// What is wrong.
        message: String,
    },
    /// Dependency resolution failed.
    #[error("{0}")]
    Resolve(#[from] crate::resolve::ResolveError),
    /// The caller's fetch function failed.
    #[error("fetching {url}: {message}")]
    Fetch {
        /// URL asked for.
        url: String,
        /// The fetcher's message.
        message: String,
    },
    /// Downloaded or read bytes do not match the pinned digest or size.
    #[error("{what}: expected {expected}, got {actual}")]
    Mismatch {
        /// What was checked (URL and property).
        what: String,
        /// Pinned value.
        expected: String,
        /// Observed value.
        actual: String,
    },
    /// The Release file does not list something we need.
    #[error("{release_url}: {message}")]
    Release {
        /// URL of the InRelease file.
        release_url: String,
        /// What is missing or wrong.
        message: String,
    },
    /// A Release file's OpenPGP signature is missing, malformed, or not by a valid
    /// pinned key.
    #[error("{source_name}: {message}")]
    Signature {
        /// URL of the InRelease file.
        source_name: String,
        /// What each signature was and why none is accepted.
        message: String,
    },
    /// The pinned public keys cannot be used.
    #[error("{source_name}: {message}")]
    Keyring {
        /// The key file.
        source_name: String,
        /// What is wrong.
        message: String,
    },
    /// Decompression failed.
    #[error("decompressing {what}: {message}")]
    Decompress {
        /// What was decompressed.
        what: String,
        /// Decoder message.
        message: String,
    },
    /// A lock file is not valid JSON or not a valid lock.
    #[error("{path}:{line}:{column}: {message}")]
    LockJson {
        /// Lock file path (or a label for in-memory text).
        path: String,
        /// 1-based line of the problem (0 when not positional).
        line: usize,
        /// 1-based column of the problem (0 when not positional).
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// A `.deb` (ar container, control or data member) is malformed.
    #[error("{what}: {message}")]
    Deb {
        /// Which archive / member.
        what: String,
        /// What is wrong.
        message: String,
    },
    /// A path in a package would escape the root or is otherwise unusable.
    #[error("unsafe path {path:?} in {what}: {message}")]
    UnsafePath {
        /// The path as found in the archive.
        path: String,
        /// Which archive / package.
        what: String,
        /// Why it is rejected.
        message: String,
    },
    /// A kernel module could not be read.
    #[error("kernel module {path}: {message}")]
    Module {
        /// Module path relative to the modules directory.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// Declared users, groups or alternatives are inconsistent.
    #[error("{0}")]
    Config(String),
    /// An I/O error with the file or stream it happened on.
    #[error("{context}: {source}")]
    Io {
        /// The file or stream.
        context: String,
        /// The underlying error.
        source: std::io::Error,
    },
}

impl Error {
    /// Wraps an I/O error with the file it happened on.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            context: path.into().display().to_string(),
            source,
        }
    }
}

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
