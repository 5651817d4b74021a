//! The superblock and group descriptors.

use super::bytes::{put, r16, r32, r8, w16, w32, w64};
use super::csum;

/// ext4 magic.
pub const MAGIC: u16 = 0xEF53;

/// `s_feature_compat`: has_journal.
pub const COMPAT_HAS_JOURNAL: u32 = 0x4;
/// `s_feature_compat`: ext_attr.
pub const COMPAT_EXT_ATTR: u32 = 0x8;
/// `s_feature_compat`: dir_index.
pub const COMPAT_DIR_INDEX: u32 = 0x20;
/// `s_feature_incompat`: filetype.
pub const INCOMPAT_FILETYPE: u32 = 0x2;
/// `s_feature_incompat`: needs_recovery.
pub const INCOMPAT_RECOVER: u32 = 0x4;
/// `s_feature_incompat`: extents.
pub const INCOMPAT_EXTENTS: u32 = 0x40;
/// `s_feature_incompat`: 64bit.
pub const INCOMPAT_64BIT: u32 = 0x80;
/// `s_feature_incompat`: flex_bg.
pub const INCOMPAT_FLEX_BG: u32 = 0x200;
/// `s_feature_incompat`: inline_data.
pub const INCOMPAT_INLINE_DATA: u32 = 0x8000;
/// `s_feature_ro_compat`: sparse_super.
pub const RO_SPARSE_SUPER: u32 = 0x1;
/// `s_feature_ro_compat`: large_file.
pub const RO_LARGE_FILE: u32 = 0x2;
/// `s_feature_ro_compat`: huge_file.
pub const RO_HUGE_FILE: u32 = 0x8;
/// `s_feature_ro_compat`: dir_nlink.
pub const RO_DIR_NLINK: u32 = 0x20;
/// `s_feature_ro_compat`: extra_isize.
pub const RO_EXTRA_ISIZE: u32 = 0x40;
/// `s_feature_ro_compat`: metadata_csum.
pub const RO_METADATA_CSUM: u32 = 0x400;

/// The superblock fields nixspot sets or reads.
#[derive(Debug, Clone, Default)]
pub struct Superblock {
    /// Total inodes.
    pub inodes_count: u32,
    /// Total blocks.
    pub blocks_count: u64,
    /// Blocks reserved for root.
    pub r_blocks_count: u64,
    /// Free blocks.
    pub free_blocks: u64,
    /// Free inodes.
    pub free_inodes: u32,
    /// First data block (0 for 4 KiB blocks).
    pub first_data_block: u32,
    /// log2(block size) - 10.
    pub log_block_size: u32,
    /// Blocks per group.
    pub blocks_per_group: u32,
    /// Inodes per group.
    pub inodes_per_group: u32,
    /// Creation / last write / last check time.
    pub time: u32,
    /// Inode size.
    pub inode_size: u16,
    /// Group holding this copy.
    pub block_group_nr: u16,
    /// Compatible features.
    pub compat: u32,
    /// Incompatible features.
    pub incompat: u32,
    /// Read-only-compatible features.
    pub ro_compat: u32,
    /// Filesystem UUID.
    pub uuid: [u8; 16],
    /// Volume label (up to 16 bytes).
    pub label: [u8; 16],
    /// Journal inode.
    pub journal_inum: u32,
    /// Directory hash seed.
    pub hash_seed: [u32; 4],
    /// Descriptor size.
    pub desc_size: u16,
    /// Backup of the journal inode's `i_block`, size high and size.
    pub jnl_blocks: [u32; 17],
    /// log2(groups per flex group).
    pub log_groups_per_flex: u8,
    /// First non-reserved inode.
    pub first_ino: u32,
    /// `s_flags`.
    pub flags: u32,
    /// `s_checksum_seed` (valid only with the csum_seed feature).
    pub checksum_seed: u32,
}

/// `s_feature_incompat`: csum_seed.
pub const INCOMPAT_CSUM_SEED: u32 = 0x2000;

impl Superblock {
    /// Encodes the 1024-byte superblock with its checksum.
    pub fn encode(&self) -> [u8; 1024] {
        let mut b = [0u8; 1024];
        w32(&mut b, 0x00, self.inodes_count);
        w32(&mut b, 0x04, self.blocks_count as u32);
        w32(&mut b, 0x08, self.r_blocks_count as u32);
        w32(&mut b, 0x0C, self.free_blocks as u32);
        w32(&mut b, 0x10, self.free_inodes);
        w32(&mut b, 0x14, self.first_data_block);
        w32(&mut b, 0x18, self.log_block_size);
        w32(&mut b, 0x1C, self.log_block_size);
        w32(&mut b, 0x20, self.blocks_per_group);
        w32(&mut b, 0x24, self.blocks_per_group);
        w32(&mut b, 0x28, self.inodes_per_group);
        w32(&mut b, 0x30, self.time);
        w16(&mut b, 0x36, 0xFFFF);
        w16(&mut b, 0x38, MAGIC);
        w16(&mut b, 0x3A, 1);
        w16(&mut b, 0x3C, 1);
        w32(&mut b, 0x40, self.time);
        w32(&mut b, 0x4C, 1);
        w32(&mut b, 0x54, self.first_ino);
        w16(&mut b, 0x58, self.inode_size);
        w16(&mut b, 0x5A, self.block_group_nr);
        w32(&mut b, 0x5C, self.compat);
        w32(&mut b, 0x60, self.incompat);
        w32(&mut b, 0x64, self.ro_compat);
        put(&mut b, 0x68, &self.uuid);
        put(&mut b, 0x78, &self.label);
        w32(&mut b, 0xE0, self.journal_inum);
        for (i, s) in self.hash_seed.iter().enumerate() {
            w32(&mut b, 0xEC + i * 4, *s);
        }
        b[0xFC] = super::htree::HASH_HALF_MD4;
        b[0xFD] = 1; // s_jnl_backup_type: EXT3_JNL_BACKUP_BLOCKS
        w16(&mut b, 0xFE, self.desc_size);
        w32(&mut b, 0x100, 0x0C); // default mount options: user_xattr, acl
        w32(&mut b, 0x108, self.time);
        for (i, v) in self.jnl_blocks.iter().enumerate() {
            w32(&mut b, 0x10C + i * 4, *v);
        }
        w32(&mut b, 0x150, (self.blocks_count >> 32) as u32);
        w32(&mut b, 0x154, (self.r_blocks_count >> 32) as u32);
        w32(&mut b, 0x158, (self.free_blocks >> 32) as u32);
        w16(&mut b, 0x15C, super::inode::EXTRA_ISIZE);
        w16(&mut b, 0x15E, super::inode::EXTRA_ISIZE);
        w32(&mut b, 0x160, self.flags);
        b[0x174] = self.log_groups_per_flex;
        b[0x175] = 1; // crc32c
        w64(&mut b, 0x178, 0);
        let c = csum::raw(!0, &b[..0x3FC]);
        w32(&mut b, 0x3FC, c);
        b
    }

    /// Decodes a superblock, checking the magic and (with metadata_csum) the checksum.
    pub fn decode(b: &[u8]) -> Result<Superblock, String> {
        if b.len() < 1024 {
            return Err(format!("superblock is {} bytes, expected 1024", b.len()));
        }
        if r16(b, 0x38) != MAGIC {
            return Err(format!(
                "magic {:#06x}, expected {MAGIC:#06x}",
                r16(b, 0x38)
            ));
        }
        let ro_compat = r32(b, 0x64);
        if ro_compat & RO_METADATA_CSUM != 0 {
            let want = csum::raw(!0, &b[..0x3FC]);
            let got = r32(b, 0x3FC);
            if want != got {
                return Err(format!("checksum {got:#010x}, expected {want:#010x}"));
            }
        }
        let mut uuid = [0u8; 16];
        uuid.copy_from_slice(&b[0x68..0x78]);
        let mut label = [0u8; 16];
        label.copy_from_slice(&b[0x78..0x88]);
        let mut jnl_blocks = [0u32; 17];
        for (i, v) in jnl_blocks.iter_mut().enumerate() {
            *v = r32(b, 0x10C + i * 4);
        }
        let incompat = r32(b, 0x60);
        let rev_level = r32(b, 0x4C);
        Ok(Superblock {
            inodes_count: r32(b, 0),
            blocks_count: u64::from(r32(b, 4))
                | if incompat & INCOMPAT_64BIT != 0 {
                    u64::from(r32(b, 0x150)) << 32
                } else {
                    0
                },
            r_blocks_count: u64::from(r32(b, 8)),
            free_blocks: u64::from(r32(b, 0x0C)),
            free_inodes: r32(b, 0x10),
            first_data_block: r32(b, 0x14),
            log_block_size: r32(b, 0x18),
            blocks_per_group: r32(b, 0x20),
            inodes_per_group: r32(b, 0x28),
            time: r32(b, 0x30),
            inode_size: if rev_level == 0 { 128 } else { r16(b, 0x58) },
            block_group_nr: r16(b, 0x5A),
            compat: r32(b, 0x5C),
            incompat,
            ro_compat,
            uuid,
            label,
            journal_inum: r32(b, 0xE0),
            hash_seed: [r32(b, 0xEC), r32(b, 0xF0), r32(b, 0xF4), r32(b, 0xF8)],
            desc_size: if incompat & INCOMPAT_64BIT != 0 {
                r16(b, 0xFE)
            } else {
                32
            },
            jnl_blocks,
            log_groups_per_flex: r8(b, 0x174),
            first_ino: if rev_level == 0 { 11 } else { r32(b, 0x54) },
            flags: r32(b, 0x160),
            checksum_seed: r32(b, 0x270),
        })
    }
}

/// One block group descriptor.
#[derive(Debug, Clone, Default)]
pub struct GroupDesc {
    /// Block bitmap location.
    pub block_bitmap: u64,
    /// Inode bitmap location.
    pub inode_bitmap: u64,
    /// First inode table block.
    pub inode_table: u64,
    /// Free blocks in the group.
    pub free_blocks: u32,
    /// Free inodes in the group.
    pub free_inodes: u32,
    /// Directories in the group.
    pub used_dirs: u32,
    /// `bg_flags`.
    pub flags: u16,
    /// Block bitmap checksum.
    pub block_bitmap_csum: u32,
    /// Inode bitmap checksum.
    pub inode_bitmap_csum: u32,
    /// Unused inodes at the end of the table.
    pub itable_unused: u32,
}

/// `bg_flags`: the inode table is zeroed.
pub const BG_INODE_ZEROED: u16 = 0x4;

impl GroupDesc {
    /// Encodes a 64-byte descriptor for group `g` with its checksum.
    pub fn encode(&self, g: u32, fs_seed: u32) -> [u8; 64] {
        let mut b = [0u8; 64];
        w32(&mut b, 0x00, self.block_bitmap as u32);
        w32(&mut b, 0x04, self.inode_bitmap as u32);
        w32(&mut b, 0x08, self.inode_table as u32);
        w16(&mut b, 0x0C, self.free_blocks as u16);
        w16(&mut b, 0x0E, self.free_inodes as u16);
        w16(&mut b, 0x10, self.used_dirs as u16);
        w16(&mut b, 0x12, self.flags);
        w16(&mut b, 0x18, self.block_bitmap_csum as u16);
        w16(&mut b, 0x1A, self.inode_bitmap_csum as u16);
        w16(&mut b, 0x1C, self.itable_unused as u16);
        w32(&mut b, 0x20, (self.block_bitmap >> 32) as u32);
        w32(&mut b, 0x24, (self.inode_bitmap >> 32) as u32);
        w32(&mut b, 0x28, (self.inode_table >> 32) as u32);
        w16(&mut b, 0x2C, (self.free_blocks >> 16) as u16);
        w16(&mut b, 0x2E, (self.free_inodes >> 16) as u16);
        w16(&mut b, 0x30, (self.used_dirs >> 16) as u16);
        w16(&mut b, 0x32, (self.itable_unused >> 16) as u16);
        w16(&mut b, 0x38, (self.block_bitmap_csum >> 16) as u16);
        w16(&mut b, 0x3A, (self.inode_bitmap_csum >> 16) as u16);
        let c = csum::raw(csum::raw(fs_seed, &g.to_le_bytes()), &b);
        w16(&mut b, 0x1E, c as u16);
        b
    }

    /// Decodes a descriptor of `size` bytes (32 without `64bit`).
    pub fn decode(b: &[u8], size: usize) -> GroupDesc {
        let hi = |o: usize| {
            if size >= 64 {
                u64::from(r32(b, o)) << 32
            } else {
                0
            }
        };
        GroupDesc {
            block_bitmap: u64::from(r32(b, 0)) | hi(0x20),
            inode_bitmap: u64::from(r32(b, 4)) | hi(0x24),
            inode_table: u64::from(r32(b, 8)) | hi(0x28),
            ..GroupDesc::default()
        }
    }
}
