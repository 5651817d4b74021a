//! Writing a hotspot image to an SD card safely (`nixspot flash`).
//!
//! - [`devices`]: which block devices exist and which may be written (whole, removable,
//!   unmounted, not the system disk, not swap, not under a device-mapper/md stack), read
//!   from sysfs/procfs under injectable [`Roots`];
//! - [`Image`]: the image, plain or compressed (zstd, xz, gzip), and what it records of
//!   its decompressed size;
//! - [`flash`]: the exclusive, unbuffered write of every byte, `fsync`, and the read-back
//!   comparison that names the first differing block;
//! - [`TermProgress`]: the `indicatif` progress bar on stderr.
//!
//! A regular file may stand in for a card: it is created or truncated, and only the size
//! check applies (its filesystem's free space).

pub mod devices;
mod error;
mod progress;
mod source;
mod write;

pub use devices::{list, resolve, BlockDevice, Exclusion, Policy, Resolved, Roots, Transport};
pub use error::FlashError;
pub use progress::{NoProgress, Phase, Progress, TermProgress};
pub use source::{Compression, Image, ImageSize};
pub use write::{capacity, check, flash, target, Options, Outcome, Target, VerifyHook, BLOCK};
