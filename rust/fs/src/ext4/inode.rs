//! The 256-byte on-disk inode: encoding for the writer, decoding for the reader.

use super::bytes::{r16, r32, w16, w32};
use super::csum;

/// `i_flags`: uses an extent tree.
pub const FL_EXTENTS: u32 = 0x0008_0000;
/// `i_flags`: hashed directory.
pub const FL_INDEX: u32 = 0x0000_1000;
/// `i_flags`: data stored inline (not produced by the writer; the reader rejects it).
pub const FL_INLINE_DATA: u32 = 0x1000_0000;
/// `i_extra_isize` written on every inode.
pub const EXTRA_ISIZE: u16 = 32;

/// File type bits of `i_mode`.
pub mod mode {
    /// Socket.
    pub const SOCK: u16 = 0o140000;
    /// Symbolic link.
    pub const LNK: u16 = 0o120000;
    /// Regular file.
    pub const REG: u16 = 0o100000;
    /// Block device.
    pub const BLK: u16 = 0o060000;
    /// Directory.
    pub const DIR: u16 = 0o040000;
    /// Character device.
    pub const CHR: u16 = 0o020000;
    /// FIFO.
    pub const FIFO: u16 = 0o010000;
    /// Mask of the type bits.
    pub const TYPE: u16 = 0o170000;
}

/// The fields of an inode that nixspot reads and writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inode {
    /// Type and permission bits.
    pub mode: u16,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Size in bytes.
    pub size: u64,
    /// Access/change/modification/creation time (seconds; nanoseconds are always 0).
    pub time: i64,
    /// Modification time as read (the reader reports it separately from `time`).
    pub mtime: i64,
    /// Hard link count.
    pub links: u16,
    /// Blocks in 512-byte units (or filesystem blocks with [`FL_HUGE_FILE`]).
    pub blocks_512: u64,
    /// `i_flags`.
    pub flags: u32,
    /// `i_block`: extent root, fast symlink target or device number.
    pub block: [u8; 60],
    /// External xattr block.
    pub file_acl: u64,
}

impl Default for Inode {
    fn default() -> Self {
        Inode {
            mode: 0,
            uid: 0,
            gid: 0,
            size: 0,
            time: 0,
            mtime: 0,
            links: 0,
            blocks_512: 0,
            flags: 0,
            block: [0; 60],
            file_acl: 0,
        }
    }
}

fn split_time(t: i64) -> (u32, u32) {
    let lo = t as i32;
    let epoch = ((t - i64::from(lo)) >> 32) & 3;
    (lo as u32, epoch as u32)
}

fn join_time(lo: u32, extra: u32) -> i64 {
    i64::from(lo as i32) + (i64::from(extra & 3) << 32)
}

impl Inode {
    /// Encodes into `b` (256 bytes, pre-zeroed or holding in-inode xattrs past 0xA0).
    pub fn encode(&self, b: &mut [u8]) {
        let (t, te) = split_time(self.time);
        let (m, me) = split_time(self.mtime);
        w16(b, 0x00, self.mode);
        w16(b, 0x02, self.uid as u16);
        w32(b, 0x04, self.size as u32);
        w32(b, 0x08, t);
        w32(b, 0x0C, t);
        w32(b, 0x10, m);
        w16(b, 0x18, self.gid as u16);
        w16(b, 0x1A, self.links);
        w32(b, 0x1C, self.blocks_512 as u32);
        w32(b, 0x20, self.flags);
        super::bytes::put(b, 0x28, &self.block);
        w32(b, 0x68, self.file_acl as u32);
        w32(b, 0x6C, (self.size >> 32) as u32);
        w16(b, 0x74, (self.blocks_512 >> 32) as u16);
        w16(b, 0x76, (self.file_acl >> 32) as u16);
        w16(b, 0x78, (self.uid >> 16) as u16);
        w16(b, 0x7A, (self.gid >> 16) as u16);
        w16(b, 0x80, EXTRA_ISIZE);
        w32(b, 0x84, te);
        w32(b, 0x88, me);
        w32(b, 0x8C, te);
        w32(b, 0x90, t);
        w32(b, 0x94, te);
    }

    /// Decodes from a raw inode (at least 128 bytes).
    pub fn decode(b: &[u8]) -> Inode {
        let extra = usize::from(r16(b, 0x80));
        let has = |field_end: usize| b.len() >= 128 + extra && 128 + extra >= field_end;
        let mut block = [0u8; 60];
        if let Some(s) = b.get(0x28..0x64) {
            block.copy_from_slice(s);
        }
        let me = if has(0x8C) { r32(b, 0x88) } else { 0 };
        let ce = if has(0x88) { r32(b, 0x84) } else { 0 };
        Inode {
            mode: r16(b, 0),
            uid: u32::from(r16(b, 2)) | (u32::from(r16(b, 0x78)) << 16),
            gid: u32::from(r16(b, 0x18)) | (u32::from(r16(b, 0x7A)) << 16),
            size: u64::from(r32(b, 4)) | (u64::from(r32(b, 0x6C)) << 32),
            time: join_time(r32(b, 0x0C), ce),
            mtime: join_time(r32(b, 0x10), me),
            links: r16(b, 0x1A),
            blocks_512: u64::from(r32(b, 0x1C)) | (u64::from(r16(b, 0x74)) << 32),
            flags: r32(b, 0x20),
            block,
            file_acl: u64::from(r32(b, 0x68)) | (u64::from(r16(b, 0x76)) << 32),
        }
    }
}

/// Stores the inode checksum (lo at 0x7C, hi at 0x82) computed with `iseed`.
pub fn seal(b: &mut [u8], iseed: u32) {
    w16(b, 0x7C, 0);
    w16(b, 0x82, 0);
    let c = csum::raw(iseed, b);
    w16(b, 0x7C, c as u16);
    w16(b, 0x82, (c >> 16) as u16);
}
