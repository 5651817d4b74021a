//! Extent trees: up to four extents live in the inode; more get leaf blocks (340 extents
//! each) under index levels, each block with its checksum tail.

use super::bytes::{r16, r32, w16, w32};
use super::csum;
use super::layout::BLOCK_SIZE;

/// Extent header magic.
pub const MAGIC: u16 = 0xF30A;
/// Entries in the inode's `i_block`.
pub const ROOT_ENTRIES: usize = 4;
/// Entries in a tree block.
pub const BLOCK_ENTRIES: usize = (BLOCK_SIZE as usize - 12 - 4) / 12;

/// A mapped extent: `len` blocks from logical block `logical` stored at `physical`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Extent {
    /// First logical block in the file.
    pub logical: u32,
    /// First physical block in the filesystem.
    pub physical: u64,
    /// Number of blocks (1..=32768).
    pub len: u16,
}

/// Tree blocks needed per level for `n` extents, leaves first (empty when they fit in the
/// inode).
pub fn shape(n: usize) -> Vec<usize> {
    let mut levels = Vec::new();
    let mut count = n;
    while count > ROOT_ENTRIES {
        count = count.div_ceil(BLOCK_ENTRIES);
        levels.push(count);
    }
    levels
}

/// Total tree blocks for `n` extents.
pub fn tree_blocks(n: usize) -> usize {
    shape(n).iter().sum()
}

fn header(b: &mut [u8], at: usize, entries: usize, max: usize, depth: u16) {
    w16(b, at, MAGIC);
    w16(b, at + 2, entries as u16);
    w16(b, at + 4, max as u16);
    w16(b, at + 6, depth);
}

fn leaf_entry(b: &mut [u8], at: usize, e: &Extent) {
    w32(b, at, e.logical);
    w16(b, at + 4, e.len);
    w16(b, at + 6, (e.physical >> 32) as u16);
    w32(b, at + 8, e.physical as u32);
}

fn index_entry(b: &mut [u8], at: usize, logical: u32, child: u64) {
    w32(b, at, logical);
    w32(b, at + 4, child as u32);
    w16(b, at + 8, (child >> 32) as u16);
}

/// Builds the tree: returns the 60-byte `i_block` and the tree blocks `(block, bytes)`.
/// `blocks` are the physical blocks reserved for the tree (`tree_blocks(extents.len())`
/// of them), used leaves first.
pub fn build(extents: &[Extent], blocks: &[u64], iseed: u32) -> ([u8; 60], Vec<(u64, Vec<u8>)>) {
    let mut out = Vec::new();
    // (first logical block, child block) of the current level
    let mut level: Vec<(u32, Option<u64>)> = Vec::new();
    let mut depth = 0u16;
    let mut next = blocks.iter().copied();
    if extents.len() > ROOT_ENTRIES {
        for chunk in extents.chunks(BLOCK_ENTRIES) {
            let blk = next.next().unwrap_or(0);
            let mut b = vec![0u8; BLOCK_SIZE as usize];
            header(&mut b, 0, chunk.len(), BLOCK_ENTRIES, 0);
            for (i, e) in chunk.iter().enumerate() {
                leaf_entry(&mut b, 12 + i * 12, e);
            }
            seal(&mut b, iseed);
            level.push((chunk.first().map_or(0, |e| e.logical), Some(blk)));
            out.push((blk, b));
        }
        depth = 1;
        while level.len() > ROOT_ENTRIES {
            let mut up = Vec::new();
            for chunk in level.chunks(BLOCK_ENTRIES) {
                let blk = next.next().unwrap_or(0);
                let mut b = vec![0u8; BLOCK_SIZE as usize];
                header(&mut b, 0, chunk.len(), BLOCK_ENTRIES, depth);
                for (i, (l, c)) in chunk.iter().enumerate() {
                    index_entry(&mut b, 12 + i * 12, *l, c.unwrap_or(0));
                }
                seal(&mut b, iseed);
                up.push((chunk.first().map_or(0, |x| x.0), Some(blk)));
                out.push((blk, b));
            }
            level = up;
            depth += 1;
        }
    }
    let mut root = [0u8; 60];
    if depth == 0 {
        header(&mut root, 0, extents.len(), ROOT_ENTRIES, 0);
        for (i, e) in extents.iter().enumerate() {
            leaf_entry(&mut root, 12 + i * 12, e);
        }
    } else {
        header(&mut root, 0, level.len(), ROOT_ENTRIES, depth);
        for (i, (l, c)) in level.iter().enumerate() {
            index_entry(&mut root, 12 + i * 12, *l, c.unwrap_or(0));
        }
    }
    (root, out)
}

fn seal(b: &mut [u8], iseed: u32) {
    let end = 12 + BLOCK_ENTRIES * 12;
    let c = csum::raw(iseed, &b[..end]);
    w32(b, end, c);
}

/// A parsed tree node: either leaf extents or child block numbers.
#[derive(Debug)]
pub enum Node {
    /// Depth 0: extents (uninitialised ones flagged with `true`).
    Leaf(Vec<(Extent, bool)>),
    /// Depth > 0: child blocks.
    Index(Vec<u64>),
}

/// Parses a tree node (the inode's `i_block` or a tree block); `None` when malformed.
pub fn parse(b: &[u8]) -> Option<(u16, Node)> {
    if r16(b, 0) != MAGIC {
        return None;
    }
    let entries = usize::from(r16(b, 2));
    let max = usize::from(r16(b, 4));
    let depth = r16(b, 6);
    if entries > max || 12 + max * 12 > b.len() || depth > 5 {
        return None;
    }
    if depth == 0 {
        let v = (0..entries)
            .map(|i| {
                let at = 12 + i * 12;
                let raw_len = r16(b, at + 4);
                let (len, uninit) = if raw_len > 32768 {
                    (raw_len - 32768, true)
                } else {
                    (raw_len, false)
                };
                let physical = (u64::from(r16(b, at + 6)) << 32) | u64::from(r32(b, at + 8));
                (
                    Extent {
                        logical: r32(b, at),
                        physical,
                        len,
                    },
                    uninit,
                )
            })
            .collect();
        Some((0, Node::Leaf(v)))
    } else {
        let v = (0..entries)
            .map(|i| {
                let at = 12 + i * 12;
                (u64::from(r16(b, at + 8)) << 32) | u64::from(r32(b, at + 4))
            })
            .collect();
        Some((depth, Node::Index(v)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        assert!(shape(0).is_empty());
        assert!(shape(4).is_empty());
        assert_eq!(shape(5), vec![1]);
        assert_eq!(shape(340 * 4), vec![4]);
        assert_eq!(shape(340 * 4 + 1), vec![5, 1]);
    }

    #[test]
    fn build_and_parse_two_levels() {
        let ex: Vec<Extent> = (0..2000u32)
            .map(|i| Extent {
                logical: i * 2,
                physical: u64::from(i) * 3 + 100,
                len: 1,
            })
            .collect();
        let n = tree_blocks(ex.len());
        let blocks: Vec<u64> = (10..10 + n as u64).collect();
        let (root, tree) = build(&ex, &blocks, 7);
        assert_eq!(tree.len(), n);
        let (depth, node) = parse(&root).unwrap();
        assert_eq!(depth, 2);
        assert!(matches!(node, Node::Index(v) if v.len() == 1));
    }
}
