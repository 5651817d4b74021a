//! Assembly errors and their image-creator exit codes.

use std::path::PathBuf;

/// Why an image could not be assembled.
#[derive(Debug, thiserror::Error)]
pub enum AssembleError {
    /// The recipe is invalid (image-creator exit code 3).
    #[error(transparent)]
    Recipe(#[from] nixspot_recipe::RecipeError),
    /// Content could not be fetched (exit code 4).
    #[error(transparent)]
    Fetch(#[from] nixspot_fetch::FetchError),
    /// A recipe from an untrusted source names a local file (exit 3).
    #[error("{field}: '{url}' is a local path; a recipe from an untrusted source may only name http:// and https:// URLs")]
    LocalFile {
        /// The recipe field (`files[2].url`).
        field: String,
        /// Its value.
        url: String,
    },
    /// The output exists and `--overwrite` was not given, or cannot be written (exit 3).
    #[error("{path}: {message}")]
    Output {
        /// The output path.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The base image does not have offspot's layout (exit 3).
    #[error("base image {path}: {message}")]
    Base {
        /// The base image in the cache.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// The requested size is too small or too large (exit 1, as image-creator).
    #[error("{0}")]
    Size(String),
    /// Not enough free space where the build writes (exit 1).
    #[error("not enough free space in {path}: {needed} bytes needed, {available} available")]
    Space {
        /// The directory checked.
        path: PathBuf,
        /// Bytes needed.
        needed: u64,
        /// Bytes available.
        available: u64,
    },
    /// A recipe archive could not be expanded (exit 1).
    #[error(transparent)]
    Archive(#[from] nixspot_archive::ArchiveError),
    /// nixspot's own base image (`nixspot:base`) could not be built: exit 4 when its
    /// packages cannot be downloaded, 2 when the device programs are missing, else 1.
    #[error("nixspot:base: {0}")]
    NixspotBase(#[from] nixspot_base::Error),
    /// The filesystem writers failed (exit 1).
    #[error(transparent)]
    Fs(#[from] nixspot_fs::Error),
    /// Any other I/O failure (exit 1).
    #[error("{path}: {source}")]
    Io {
        /// The file involved.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

impl AssembleError {
    /// image-creator's exit code for this error: 3 input/output problems, 4 unreachable
    /// content, 1 anything else.
    pub fn exit_code(&self) -> u8 {
        match self {
            AssembleError::Recipe(_)
            | AssembleError::LocalFile { .. }
            | AssembleError::Output { .. }
            | AssembleError::Base { .. } => 3,
            AssembleError::Fetch(_)
            | AssembleError::NixspotBase(nixspot_base::Error::Download { .. })
            | AssembleError::NixspotBase(nixspot_base::Error::Fetch(_)) => 4,
            AssembleError::NixspotBase(nixspot_base::Error::DevicePrograms(_)) => 2,
            _ => 1,
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> AssembleError {
        let path = path.into();
        move |source| AssembleError::Io { path, source }
    }
}
