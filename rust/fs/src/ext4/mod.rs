//! ext4: a from-scratch, deterministic writer ([`Ext4Writer`]) and a reader
//! ([`Ext4Reader`]) sharing the same on-disk structures.
//!
//! The writer takes a stream of [`Entry`] values (files from host paths, byte buffers or
//! ranges of another file, directories, symlinks, hard links, devices, FIFOs, sockets),
//! plans the whole filesystem in memory (metadata only, never file contents), computes
//! every metadata block, then writes each region once, front to back: metadata from
//! memory, file data cloned or copied with `copy_file_range`, zero blocks left as holes
//! ([`Ext4Plan::write_in_order`] tells a follower, e.g. a hasher, how far it is final).

mod bytes;
mod csum;
mod dir;
mod extent;
mod htree;
mod inode;
mod journal;
mod layout;
pub use layout::default_journal_blocks;
mod reader;
mod superblock;
mod writer;
mod xattr;

pub use layout::BLOCK_SIZE;
pub use reader::{Ext4Reader, ReadEntry};
pub use writer::{host_tree_entries, Ext4Plan, Ext4Summary, Ext4Writer, HostTreeOptions};

use std::path::PathBuf;

/// One extended attribute, with its full name (`user.x`, `security.capability`,
/// `trusted.x`, `system.posix_acl_access` in ext4's on-disk ACL format).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Xattr {
    /// Full name including the namespace prefix.
    pub name: Vec<u8>,
    /// Raw value.
    pub value: Vec<u8>,
}

/// Ownership, permissions, time and xattrs of an entry: always taken from the entry,
/// never from the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Meta {
    /// Permission bits including setuid/setgid/sticky (`0o7777` mask; type bits ignored).
    pub mode: u16,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Modification time in seconds since the epoch; also used for atime, ctime, crtime.
    pub mtime: i64,
    /// Extended attributes (any order; stored sorted).
    pub xattrs: Vec<Xattr>,
}

impl Meta {
    /// Metadata with the given mode, root ownership, time 0 and no xattrs.
    pub fn new(mode: u16) -> Self {
        Meta {
            mode,
            uid: 0,
            gid: 0,
            mtime: 0,
            xattrs: Vec::new(),
        }
    }
}

/// A range of a source file that holds file data: bytes
/// `[file_offset, file_offset+len)` of the new file come from `source_offset` in the source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SourceRange {
    /// Offset in the file being written.
    pub file_offset: u64,
    /// Offset in the source file.
    pub source_offset: u64,
    /// Length in bytes.
    pub len: u64,
}

/// Where a regular file's contents come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileData {
    /// A host file, copied with its holes preserved.
    Host(PathBuf),
    /// Bytes in memory (small generated files).
    Bytes(Vec<u8>),
    /// Explicit data ranges of a source file (e.g. extents of a file inside another
    /// image, from [`Ext4Reader`]); everything else is a hole.
    Ranges {
        /// The source file.
        source: PathBuf,
        /// File size (may exceed the last range: trailing hole).
        size: u64,
        /// Data ranges, sorted by `file_offset`, non-overlapping.
        ranges: Vec<SourceRange>,
    },
}

/// What an entry is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryKind {
    /// A directory (parents that are never given explicitly are created with mode 0755,
    /// owner 0:0 and the options' timestamp).
    Dir,
    /// A regular file.
    File(FileData),
    /// A symbolic link to the given target (1..=4095 bytes); its mode is always 0777.
    Symlink(Vec<u8>),
    /// A hard link to another non-directory entry, by its path (the link's own `meta` is
    /// ignored: it shares the target's inode).
    HardLink(PathBuf),
    /// A character device.
    CharDevice {
        /// Major number.
        major: u32,
        /// Minor number.
        minor: u32,
    },
    /// A block device.
    BlockDevice {
        /// Major number.
        major: u32,
        /// Minor number.
        minor: u32,
    },
    /// A named pipe.
    Fifo,
    /// A unix socket.
    Socket,
}

/// One filesystem entry, at a relative path (`a/b/c`; a leading `/` or `./` is ignored;
/// the empty path or `/` is the root directory).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Path inside the filesystem.
    pub path: PathBuf,
    /// Kind and content.
    pub kind: EntryKind,
    /// Ownership, mode, time, xattrs.
    pub meta: Meta,
}

/// How big the filesystem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Size {
    /// Exactly this many bytes (rounded down to whole blocks); an error if the content
    /// does not fit.
    Exact(u64),
    /// The smallest size that holds the content, plus `margin_bytes`, plus
    /// `margin_percent` of the content (room for growth before first-boot resizing).
    Minimal {
        /// Extra bytes.
        margin_bytes: u64,
        /// Extra percentage of the needed size.
        margin_percent: u32,
    },
}

/// Options of a new ext4 filesystem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ext4Options {
    /// Size policy.
    pub size: Size,
    /// Seed from which the UUID and directory hash seed are derived.
    pub seed: Vec<u8>,
    /// Volume label (at most 16 bytes).
    pub label: String,
    /// Creation / write time of the filesystem (SOURCE_DATE_EPOCH), and the time of
    /// implicitly created directories.
    pub timestamp: i64,
    /// Percentage of blocks reserved for root (mke2fs default: 5).
    pub reserved_percent: u32,
    /// Free inodes to provide beyond the entries' needs.
    pub extra_inodes: u32,
    /// If set, provide at least one inode per this many bytes (like mke2fs `-i`).
    pub bytes_per_inode: Option<u64>,
    /// Journal size in blocks (default: as mke2fs for the filesystem size).
    pub journal_blocks: Option<u64>,
}

impl Default for Ext4Options {
    fn default() -> Self {
        Ext4Options {
            size: Size::Minimal {
                margin_bytes: 0,
                margin_percent: 0,
            },
            seed: Vec::new(),
            label: String::new(),
            timestamp: 0,
            reserved_percent: 5,
            extra_inodes: 64,
            bytes_per_inode: None,
            journal_blocks: None,
        }
    }
}
