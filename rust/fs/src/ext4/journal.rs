//! The internal journal: an empty JBD2 journal (superblock v2, nothing to replay), so
//! the kernel mounts the filesystem as ordinary ext4.

use super::layout::BLOCK_SIZE;

/// JBD2 magic.
const MAGIC: u32 = 0xC03B_3998;
/// Block type of a v2 superblock.
const SUPERBLOCK_V2: u32 = 4;

/// The first journal block: a clean (`s_start` = 0) v2 superblock of `blocks` blocks.
pub fn superblock(blocks: u64, uuid: &[u8; 16]) -> Vec<u8> {
    let mut b = vec![0u8; BLOCK_SIZE as usize];
    let mut be = |o: usize, v: u32| b[o..o + 4].copy_from_slice(&v.to_be_bytes());
    be(0x0, MAGIC);
    be(0x4, SUPERBLOCK_V2);
    be(0xC, BLOCK_SIZE as u32);
    be(0x10, blocks as u32);
    be(0x14, 1); // s_first
    be(0x18, 1); // s_sequence
    be(0x40, 1); // s_nr_users
    b[0x30..0x40].copy_from_slice(uuid);
    b
}
