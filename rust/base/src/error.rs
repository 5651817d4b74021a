//! Errors of the base image build.

use std::path::PathBuf;

/// Everything that can go wrong.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The description could not be evaluated or has wrong fields.
    #[error("{path}: {message}")]
    Config {
        /// The `.nix` file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A local file operation failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// A download failed.
    #[error("{url}: {message}")]
    Download {
        /// The URL.
        url: String,
        /// What happened.
        message: String,
    },
    /// The cache failed.
    #[error(transparent)]
    Fetch(#[from] nixspot_fetch::FetchError),
    /// A package could not be resolved, read or installed.
    #[error(transparent)]
    Deb(#[from] nixspot_deb::Error),
    /// The image could not be written.
    #[error(transparent)]
    Fs(#[from] nixspot_fs::Error),
    /// nixspot's on-device programs are not where they are looked for.
    #[error("{0}")]
    DevicePrograms(String),
    /// The lock does not fit the description, or the packages lack something the
    /// image needs.
    #[error("{0}")]
    Content(String),
}

impl Error {
    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

/// Result with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
