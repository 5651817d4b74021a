//! Errors of the VM test driver. Every error raised while the machine runs names the step
//! (the helper call, e.g. ``succeed(`uname -a`)``) that failed.

use std::path::PathBuf;

/// Result with the driver's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A host file could not be read or written.
    #[error("{path}: {error}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        error: std::io::Error,
    },
    /// The image's partition table or FAT boot partition could not be read.
    #[error("{}", with_path(path, error))]
    Fs {
        /// The image.
        path: PathBuf,
        /// The reader's error.
        error: nixspot_fs::Error,
    },
    /// The image lacks a file QEMU needs, or its boot configuration is unusable.
    #[error("{path}: {message}")]
    BootFiles {
        /// The image.
        path: PathBuf,
        /// What is missing or wrong.
        message: String,
    },
    /// QEMU could not be started, or exited before connecting its serial console.
    #[error("cannot start {program}: {message}")]
    Start {
        /// The QEMU binary.
        program: String,
        /// Why (with QEMU's own messages when it printed any).
        message: String,
    },
    /// A step did not finish in time.
    #[error("step `{step}`: timed out after {seconds:.1} s{detail}")]
    Timeout {
        /// The step.
        step: String,
        /// The time allowed (the step's own timeout or what was left of the global one).
        seconds: f64,
        /// Extra context (e.g. the last HTTP error), starting with `: ` when present.
        detail: String,
    },
    /// A guest command exited with an unexpected status.
    #[error("step `{step}`: command exited with status {status} (expected {expected}); output:\n{output}")]
    Command {
        /// The step.
        step: String,
        /// The command's exit status.
        status: i32,
        /// What was expected (`0` or `non-zero`).
        expected: &'static str,
        /// The command's output (stdout and stderr).
        output: String,
    },
    /// QEMU exited while a step was waiting for the guest.
    #[error("step `{step}`: QEMU exited ({status})")]
    QemuExited {
        /// The step.
        step: String,
        /// QEMU's exit status as text.
        status: String,
    },
    /// Any other failure of a step (bad framing, failed HTTP request, failed assertion).
    #[error("step `{step}`: {message}")]
    Step {
        /// The step.
        step: String,
        /// What failed.
        message: String,
    },
    /// `--check NAME` names no registered check.
    #[error("unknown check `{name}` (known checks: {known})")]
    UnknownCheck {
        /// The name given.
        name: String,
        /// The registered names, comma-separated.
        known: String,
    },
}

/// `error`, prefixed with `path` unless it already names it.
fn with_path(path: &std::path::Path, error: &nixspot_fs::Error) -> String {
    let text = error.to_string();
    let p = path.display().to_string();
    if text.contains(&p) {
        text
    } else {
        format!("{p}: {text}")
    }
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, error: std::io::Error) -> Error {
        Error::Io {
            path: path.into(),
            error,
        }
    }

    /// The step this error belongs to, when it happened while the machine ran.
    pub fn step(&self) -> Option<&str> {
        match self {
            Error::Timeout { step, .. }
            | Error::Command { step, .. }
            | Error::QemuExited { step, .. }
            | Error::Step { step, .. } => Some(step),
            _ => None,
        }
    }
}
