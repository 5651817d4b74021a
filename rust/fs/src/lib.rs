//! nixspot-fs: rootless, deterministic disk image writers and readers.
//!
//! * [`partition`]: MBR and GPT tables (read, create from a spec, grow the last partition).
//! * [`fat`]: FAT32 format, write, read, and in-place edits of a boot partition.
//! * [`ext4`]: a from-scratch ext4 writer and a reader for carrying files over.
//! * [`sparse`]: hole-preserving copies (clones, `copy_file_range`; zero blocks stay holes).
//! * [`image`]: a whole MBR + FAT32 + ext4 image from a declarative spec.
//!
//! Nothing here needs root, loop devices or mounts, and nothing reads the clock or a
//! random source: the same inputs and seed give the same bytes.

#![deny(missing_docs)]

pub mod disk;
pub mod error;
pub mod ext4;
pub mod fat;
pub mod partition;
pub mod seed;
pub mod sparse;

pub use error::{Error, Result};
