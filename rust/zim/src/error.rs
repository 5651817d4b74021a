//! Errors of the ZIM reader.

use std::io;

/// Everything that can go wrong while reading a ZIM archive.
///
/// `file` is the archive's path (or `<memory>`), so a message alone tells which file is
/// broken; `offset` is the byte position in the archive where the problem was found.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading the underlying file failed.
    #[error("{file}: read error at byte {offset}: {source}")]
    Io {
        /// The archive.
        file: String,
        /// Where the read started.
        offset: u64,
        /// The operating system's error.
        source: io::Error,
    },
    /// The archive's bytes do not follow the ZIM format.
    #[error("{file}: invalid ZIM: {message} (at byte {offset})")]
    Format {
        /// The archive.
        file: String,
        /// Where the problem was found.
        offset: u64,
        /// What was expected and what was found.
        message: String,
    },
    /// The archive uses a feature this reader does not implement (e.g. bzip2 clusters).
    #[error("{file}: unsupported ZIM feature: {message}")]
    Unsupported {
        /// The archive.
        file: String,
        /// What is unsupported.
        message: String,
    },
    /// A size read from the archive exceeds a configured [`crate::Limits`] value.
    #[error("{file}: {what} is {size} bytes, more than the limit of {limit} bytes")]
    TooLarge {
        /// The archive.
        file: String,
        /// What was too large.
        what: String,
        /// Its size (or the size reached when the limit tripped).
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// No entry has this path.
    #[error("{file}: no entry {path:?}")]
    NotFound {
        /// The archive.
        file: String,
        /// The path looked up.
        path: String,
    },
    /// Following redirects did not reach content within the limit (a cycle, usually).
    #[error("{file}: entry {path:?} does not resolve to content within {limit} redirects")]
    RedirectLoop {
        /// The archive.
        file: String,
        /// The entry the resolution started from.
        path: String,
        /// The redirect limit.
        limit: u32,
    },
    /// The entry exists but holds no data (a deleted entry or a link target).
    #[error("{file}: entry {path:?} has no content")]
    NoContent {
        /// The archive.
        file: String,
        /// The entry.
        path: String,
    },
    /// The MD5 stored at the end of the archive does not match its contents.
    #[error("{file}: MD5 checksum mismatch: stored {expected}, computed {actual}")]
    ChecksumMismatch {
        /// The archive.
        file: String,
        /// The stored checksum (hex).
        expected: String,
        /// The computed checksum (hex).
        actual: String,
    },
}

/// Result type of this crate.
pub type Result<T> = std::result::Result<T, Error>;
