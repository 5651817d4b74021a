//! Directory blocks: linear blocks for small directories, hashed (htree) layouts for
//! directories that need more than one block, all with the metadata_csum tail.

use super::bytes::{put, w16, w32};
use super::csum;
use super::htree::{self, DxEntry, NODE_LIMIT, ROOT_LIMIT};
use super::layout::BLOCK_SIZE;
use crate::error::{Error, Result};

/// Bytes of a block usable by entries (the last 12 hold the checksum tail).
pub const USABLE: usize = BLOCK_SIZE as usize - 12;

/// One directory entry to lay out.
#[derive(Debug, Clone, Copy)]
pub struct Child<'a> {
    /// Entry name (1..=255 bytes, no `/` or NUL).
    pub name: &'a [u8],
    /// Inode number.
    pub ino: u32,
    /// `file_type` byte (1 regular … 7 symlink).
    pub ftype: u8,
}

/// Size of an entry with a name of `len` bytes.
pub fn rec_len(len: usize) -> usize {
    (8 + len + 3) & !3
}

/// How a directory's blocks are laid out.
#[derive(Debug)]
pub enum Layout<'a> {
    /// Plain blocks; each inner vector is one block's children (block 0 also has `.`/`..`).
    Linear(Vec<Vec<Child<'a>>>),
    /// Hashed: root, optional interior nodes, then leaves sorted by hash.
    Htree {
        /// Leaves, each with its entries and its index hash.
        leaves: Vec<(u32, Vec<Child<'a>>)>,
        /// Interior node count (0 when the root indexes leaves directly).
        nodes: usize,
    },
}

impl<'a> Layout<'a> {
    /// Lays out `children` (any order); at least `min_blocks` blocks for linear layouts.
    pub fn new(children: &[Child<'a>], seed: &[u32; 4], min_blocks: usize) -> Result<Self> {
        let mut blocks: Vec<Vec<Child<'a>>> = vec![Vec::new()];
        let mut used = 24;
        for c in children {
            let r = rec_len(c.name.len());
            if used + r > USABLE {
                blocks.push(Vec::new());
                used = 0;
            }
            used += r;
            if let Some(b) = blocks.last_mut() {
                b.push(*c);
            }
        }
        if blocks.len() == 1 {
            while blocks.len() < min_blocks {
                blocks.push(Vec::new());
            }
            return Ok(Layout::Linear(blocks));
        }
        let mut hashed: Vec<(u32, u32, Child<'a>)> = children
            .iter()
            .map(|c| {
                let (h, m) = htree::name_hash(c.name, seed);
                (h, m, *c)
            })
            .collect();
        hashed.sort_by(|a, b| (a.0, a.1, a.2.name).cmp(&(b.0, b.1, b.2.name)));
        let mut leaves: Vec<(u32, Vec<Child<'a>>)> = Vec::new();
        let mut used = USABLE;
        let mut last_hash: Option<u32> = None;
        for (h, _, c) in hashed {
            let r = rec_len(c.name.len());
            if used + r > USABLE {
                let collide = last_hash == Some(h);
                leaves.push((h | u32::from(collide), Vec::new()));
                used = 0;
            }
            used += r;
            last_hash = Some(h);
            if let Some(l) = leaves.last_mut() {
                l.1.push(c);
            }
        }
        let nodes = if leaves.len() <= ROOT_LIMIT {
            0
        } else {
            leaves.len().div_ceil(NODE_LIMIT)
        };
        if nodes > ROOT_LIMIT {
            return Err(Error::TooSmall {
                what: "directory index (two levels)".into(),
                needed: children.len() as u64,
                available: (ROOT_LIMIT * NODE_LIMIT * (USABLE / 12)) as u64,
            });
        }
        Ok(Layout::Htree { leaves, nodes })
    }

    /// Number of blocks.
    pub fn blocks(&self) -> usize {
        match self {
            Layout::Linear(b) => b.len(),
            Layout::Htree { leaves, nodes } => 1 + nodes + leaves.len(),
        }
    }

    /// Whether the directory needs the `INDEX` inode flag.
    pub fn is_htree(&self) -> bool {
        matches!(self, Layout::Htree { .. })
    }

    /// Renders block `i` for directory `ino` with parent `parent`.
    pub fn render(&self, i: usize, ino: u32, parent: u32, iseed: u32) -> Vec<u8> {
        match self {
            Layout::Linear(blocks) => {
                let children = blocks.get(i).map(Vec::as_slice).unwrap_or(&[]);
                let dots = if i == 0 { Some((ino, parent)) } else { None };
                leaf_block(dots, children, iseed)
            }
            Layout::Htree { leaves, nodes } => {
                let first_leaf = 1 + nodes;
                if i == 0 {
                    let entries: Vec<DxEntry> = if *nodes == 0 {
                        leaves
                            .iter()
                            .enumerate()
                            .map(|(j, l)| DxEntry {
                                hash: l.0,
                                block: (first_leaf + j) as u32,
                            })
                            .collect()
                    } else {
                        (0..*nodes)
                            .map(|n| DxEntry {
                                hash: leaves.get(n * NODE_LIMIT).map_or(0, |l| l.0),
                                block: (1 + n) as u32,
                            })
                            .collect()
                    };
                    let levels = u8::from(*nodes > 0);
                    htree::root_block(ino, parent, levels, &entries, iseed)
                } else if i < first_leaf {
                    let n = i - 1;
                    let lo = n * NODE_LIMIT;
                    let hi = (lo + NODE_LIMIT).min(leaves.len());
                    let entries: Vec<DxEntry> = (lo..hi)
                        .map(|j| DxEntry {
                            hash: leaves.get(j).map_or(0, |l| l.0),
                            block: (first_leaf + j) as u32,
                        })
                        .collect();
                    htree::node_block(&entries, iseed)
                } else {
                    let children = leaves.get(i - first_leaf).map_or(&[][..], |l| &l.1[..]);
                    leaf_block(None, children, iseed)
                }
            }
        }
    }
}

fn dirent(b: &mut [u8], at: usize, ino: u32, rec: usize, name: &[u8], ftype: u8) {
    w32(b, at, ino);
    w16(b, at + 4, rec as u16);
    if let Some(x) = b.get_mut(at + 6) {
        *x = name.len() as u8;
    }
    if let Some(x) = b.get_mut(at + 7) {
        *x = ftype;
    }
    put(b, at + 8, name);
}

/// A plain directory block with optional `.`/`..` and the checksum tail.
pub fn leaf_block(dots: Option<(u32, u32)>, children: &[Child<'_>], iseed: u32) -> Vec<u8> {
    let mut b = vec![0u8; BLOCK_SIZE as usize];
    let mut at = 0;
    let mut last: Option<(usize, usize)> = None;
    if let Some((ino, parent)) = dots {
        dirent(&mut b, 0, ino, 12, b".", 2);
        dirent(&mut b, 12, parent, 12, b"..", 2);
        last = Some((12, 12));
        at = 24;
    }
    for c in children {
        let r = rec_len(c.name.len());
        dirent(&mut b, at, c.ino, r, c.name, c.ftype);
        last = Some((at, r));
        at += r;
    }
    match last {
        Some((pos, _)) => w16(&mut b, pos + 4, (USABLE - pos) as u16),
        None => dirent(&mut b, 0, 0, USABLE, b"", 0),
    }
    // checksum tail: a fake entry (inode 0, rec_len 12, name_len 0, type 0xde)
    w16(&mut b, USABLE + 4, 12);
    b[USABLE + 7] = 0xde;
    let c = csum::raw(iseed, &b[..USABLE]);
    w32(&mut b, USABLE + 8, c);
    b
}
