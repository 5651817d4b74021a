//! The one error type of the crate: every variant names the file or device involved and,
//! where there is one, the expected and the actual value.

use crate::devices::Exclusion;
use std::path::PathBuf;

/// What went wrong while finding, checking, writing or verifying.
#[derive(Debug, thiserror::Error)]
pub enum FlashError {
    /// An I/O error on a named file or device.
    #[error("{path}: {action}: {source}")]
    Io {
        /// The file or device.
        path: PathBuf,
        /// What was being done ("reading", "opening for writing", ...).
        action: &'static str,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A sysfs or procfs file did not hold what the kernel writes there.
    #[error("{path}: unexpected content {content:?}: expected {expected}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What it held.
        content: String,
        /// What was expected.
        expected: &'static str,
    },
    /// The target is a partition: only whole devices are written.
    #[error(
        "{path} is partition {partition} of /dev/{whole}: an image is written to the whole \
         device, give /dev/{whole} (its partitions are replaced by the image's)"
    )]
    Partition {
        /// The path given.
        path: PathBuf,
        /// The partition's kernel name.
        partition: String,
        /// The whole device's kernel name.
        whole: String,
    },
    /// The target is a block device that the safety checks exclude.
    #[error("refusing to write {path} ({name}): {}", join_reasons(.reasons))]
    Refused {
        /// The path given.
        path: PathBuf,
        /// The device's kernel name.
        name: String,
        /// Every reason it is excluded.
        reasons: Vec<Exclusion>,
    },
    /// The target is neither a block device nor a regular file (or a path to create).
    #[error("{path} is {kind}: expected a whole block device (an SD card) or a regular file")]
    NotATarget {
        /// The path given.
        path: PathBuf,
        /// What it is.
        kind: &'static str,
    },
    /// A path under `/dev` that does not exist: creating a regular file there would only
    /// hide the typo.
    #[error("{path} does not exist (`nixspot flash --list` shows the cards that can be written)")]
    NoSuchDevice {
        /// The path given.
        path: PathBuf,
    },
    /// The image and the target are the same file.
    #[error("{path} is the image itself: give another file or a device")]
    SameFile {
        /// The path given.
        path: PathBuf,
    },
    /// The device at the path is no longer the device that was checked.
    #[error(
        "{path} changed since it was checked: it was {expected}, it is now {actual}; run the \
         command again"
    )]
    Changed {
        /// The device path.
        path: PathBuf,
        /// The device number checked (major:minor).
        expected: String,
        /// The device number opened.
        actual: String,
    },
    /// The device or file is busy: the kernel refused an exclusive open.
    #[error(
        "{path} is in use (the kernel refused exclusive access: a partition is mounted or a \
         program holds it); unmount its partitions and try again"
    )]
    Busy {
        /// The device.
        path: PathBuf,
    },
    /// The image does not fit.
    #[error(
        "the image does not fit {target}: it needs {needed} bytes{}, {target} has {capacity} \
         bytes{}",
        if *.at_least { " at least" } else { "" },
        if *.written > 0 { format!("; {} bytes were written: {} is incomplete", .written, .target.display()) } else { String::new() }
    )]
    TooSmall {
        /// The device or file.
        target: PathBuf,
        /// Bytes the image needs (a lower bound when `at_least`).
        needed: u64,
        /// Whether `needed` is a lower bound (a compressed image whose size is not
        /// recorded, counted while writing).
        at_least: bool,
        /// What the target holds (for a file: its filesystem's free space).
        capacity: u64,
        /// Bytes already written when it was found out.
        written: u64,
    },
    /// The image could not be read or decompressed.
    #[error("{path}: {message} at byte {offset} of the decompressed image: {source}")]
    Image {
        /// The image file.
        path: PathBuf,
        /// What failed.
        message: &'static str,
        /// Offset in the decompressed stream.
        offset: u64,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Writing the target failed part-way.
    #[error("writing {target} at offset {offset}: {source}; {target} is incomplete")]
    Write {
        /// The device or file.
        target: PathBuf,
        /// Where the failed write started.
        offset: u64,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Reading back ended before the image's end.
    #[error("verifying {target}: it ended at byte {offset}, before the image's {expected} bytes")]
    ShortReadBack {
        /// The device or file.
        target: PathBuf,
        /// Where it ended.
        offset: u64,
        /// The image's size.
        expected: u64,
    },
    /// The bytes read back differ from the image's.
    #[error(
        "verification failed: {target} differs from the image in the {len}-byte block at offset \
         {offset} ({offset:#x}): block sha256 {actual}, expected {expected} (image sha256 \
         {image_sha256}); the card was written but does not hold the image: flash it again, \
         and if it fails again the card is faulty or counterfeit"
    )]
    Mismatch {
        /// The device or file.
        target: PathBuf,
        /// Offset of the first differing block.
        offset: u64,
        /// Length of that block.
        len: u64,
        /// sha256 of the image's block.
        expected: String,
        /// sha256 of the bytes read back.
        actual: String,
        /// sha256 of the whole image.
        image_sha256: String,
    },
    /// Ctrl-C (or SIGTERM) while writing or verifying.
    #[error("interrupted {}", interrupted(.target, *.written, *.verifying))]
    Interrupted {
        /// The device or file.
        target: PathBuf,
        /// Bytes written (or verified) when it stopped.
        written: u64,
        /// Whether writing had finished and verification was under way.
        verifying: bool,
    },
}

fn join_reasons(list: &[Exclusion]) -> String {
    list.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

fn interrupted(target: &std::path::Path, written: u64, verifying: bool) -> String {
    if verifying {
        format!(
            "while verifying, after {written} bytes: {} was fully written but is not verified",
            target.display()
        )
    } else {
        format!(
            "after writing {written} bytes: {} is incomplete and will not boot; run nixspot \
             flash again",
            target.display()
        )
    }
}

impl FlashError {
    /// A closure turning an `io::Error` into [`FlashError::Io`] for `path`.
    pub(crate) fn io(
        path: &std::path::Path,
        action: &'static str,
    ) -> impl FnOnce(std::io::Error) -> FlashError {
        let path = path.to_path_buf();
        move |source| FlashError::Io {
            path,
            action,
            source,
        }
    }
}
