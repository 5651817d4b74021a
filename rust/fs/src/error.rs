//! Error type shared by every writer and reader of this crate.

use std::path::PathBuf;

/// Everything that can go wrong while reading or writing a disk image.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An I/O error on a named file.
    #[error("{path}: {source}")]
    Io {
        /// The file being read or written.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// An I/O error on the image being read or written (no path known at that level).
    #[error("image I/O: {0}")]
    ImageIo(#[from] std::io::Error),
    /// The entries given to a writer are inconsistent (duplicate path, missing link target, …).
    #[error("invalid entry {path:?}: {reason}")]
    InvalidEntry {
        /// The entry's path inside the filesystem.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The content does not fit in the requested size.
    #[error("{what} does not fit: needs {needed} bytes, {available} available")]
    TooSmall {
        /// What was being laid out.
        what: String,
        /// Bytes needed.
        needed: u64,
        /// Bytes available.
        available: u64,
    },
    /// An on-disk structure is corrupt or uses an unsupported feature.
    #[error("corrupt or unsupported {what}: {reason}")]
    Corrupt {
        /// The structure (e.g. "ext4 superblock").
        what: &'static str,
        /// Expected vs actual.
        reason: String,
    },
    /// A declarative spec is invalid.
    #[error("invalid spec: {0}")]
    Spec(String),
}

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Wraps an I/O error with the path it happened on.
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// Builds a [`Error::Corrupt`].
    pub(crate) fn corrupt(what: &'static str, reason: impl Into<String>) -> Self {
        Error::Corrupt {
            what,
            reason: reason.into(),
        }
    }
}
