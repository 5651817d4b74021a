//! Filesystem geometry: block groups, where backup superblocks sit, and the sequential
//! block allocator used by the writer.

/// Block size used by the writer (the only size the reader needs to support too is read
/// from the superblock).
pub const BLOCK_SIZE: u64 = 4096;
/// Blocks (and clusters) per group: one bitmap block covers 8 × 4096 blocks.
pub const BLOCKS_PER_GROUP: u64 = 32768;
/// On-disk inode size (256: room for the extra fields and small xattrs).
pub const INODE_SIZE: u64 = 256;
/// Size of a group descriptor with the `64bit` feature.
pub const DESC_SIZE: u64 = 64;
/// Inodes per inode-table block.
pub const INODES_PER_BLOCK: u32 = (BLOCK_SIZE / INODE_SIZE) as u32;
/// Longest initialised extent.
pub const MAX_EXTENT_LEN: u64 = 32768;

/// Whether group `g` holds a superblock backup (`sparse_super`: 0, 1, powers of 3, 5, 7).
pub fn has_super(g: u64) -> bool {
    if g <= 1 {
        return true;
    }
    [3u64, 5, 7].iter().any(|&p| {
        let mut x = p;
        while x < g {
            x *= p;
        }
        x == g
    })
}

/// Block geometry of one filesystem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Geometry {
    /// Total blocks.
    pub blocks: u64,
    /// Number of block groups.
    pub groups: u64,
    /// Blocks holding the group descriptor table.
    pub gdt_blocks: u64,
    /// Inodes per group (multiple of 16).
    pub inodes_per_group: u32,
}

impl Geometry {
    /// Builds the geometry for `blocks` blocks and at least `inodes` inodes, or `None` if
    /// the inodes cannot fit (more than one bitmap block per group).
    pub fn new(blocks: u64, inodes: u64) -> Option<Geometry> {
        let groups = blocks.div_ceil(BLOCKS_PER_GROUP).max(1);
        let gdt_blocks = (groups * DESC_SIZE).div_ceil(BLOCK_SIZE);
        let per = inodes.div_ceil(groups).max(u64::from(INODES_PER_BLOCK));
        let per = per.div_ceil(u64::from(INODES_PER_BLOCK)) * u64::from(INODES_PER_BLOCK);
        if per > BLOCKS_PER_GROUP {
            return None;
        }
        Some(Geometry {
            blocks,
            groups,
            gdt_blocks,
            inodes_per_group: per as u32,
        })
    }

    /// Total inodes.
    pub fn inodes(&self) -> u64 {
        self.groups * u64::from(self.inodes_per_group)
    }

    /// Blocks of one group's inode table.
    pub fn itable_blocks(&self) -> u64 {
        u64::from(self.inodes_per_group / INODES_PER_BLOCK)
    }

    /// First block of group `g`.
    pub fn group_start(&self, g: u64) -> u64 {
        g * BLOCKS_PER_GROUP
    }

    /// Blocks in group `g` (the last one may be short).
    pub fn group_len(&self, g: u64) -> u64 {
        (self.blocks - self.group_start(g)).min(BLOCKS_PER_GROUP)
    }

    /// Blocks taken by the superblock copy and descriptor table at the start of group `g`.
    pub fn super_overhead(&self, g: u64) -> u64 {
        if has_super(g) {
            1 + self.gdt_blocks
        } else {
            0
        }
    }

    /// The reserved (superblock + descriptor) range starting at or after block `b`, if any.
    fn next_reserved(&self, b: u64) -> Option<(u64, u64)> {
        let mut g = b / BLOCKS_PER_GROUP;
        while g < self.groups {
            let start = self.group_start(g);
            let len = self.super_overhead(g);
            if len > 0 && start + len > b {
                return Some((start, start + len));
            }
            g += 1;
        }
        None
    }
}

/// Hands out blocks in increasing order, skipping superblock backups. Everything below
/// the cursor ends up in use, which makes the block bitmaps trivial to compute.
#[derive(Debug, Clone)]
pub struct Allocator<'g> {
    geo: &'g Geometry,
    cursor: u64,
}

impl<'g> Allocator<'g> {
    /// Starts right after group 0's superblock and descriptors.
    pub fn new(geo: &'g Geometry) -> Self {
        Allocator {
            geo,
            cursor: geo.super_overhead(0),
        }
    }

    /// The first block never handed out.
    pub fn cursor(&self) -> u64 {
        self.cursor
    }

    /// Allocates `n` blocks as runs `(start, len)`, split around reserved ranges and at
    /// the longest extent length. Never fails: the caller checks [`Self::cursor`] against
    /// the filesystem size at the end.
    pub fn alloc(&mut self, mut n: u64) -> Vec<(u64, u64)> {
        let mut runs: Vec<(u64, u64)> = Vec::new();
        while n > 0 {
            if let Some((rs, re)) = self.geo.next_reserved(self.cursor) {
                if rs <= self.cursor {
                    self.cursor = re;
                    continue;
                }
                let take = n.min(rs - self.cursor);
                self.push(&mut runs, take);
                n -= take;
            } else {
                self.push(&mut runs, n);
                n = 0;
            }
        }
        runs
    }

    fn push(&mut self, runs: &mut Vec<(u64, u64)>, mut take: u64) {
        while take > 0 {
            let t = take.min(MAX_EXTENT_LEN);
            match runs.last_mut() {
                Some((s, l)) if *s + *l == self.cursor && *l + t <= MAX_EXTENT_LEN => *l += t,
                _ => runs.push((self.cursor, t)),
            }
            self.cursor += t;
            take -= t;
        }
    }

    /// Allocates `n` contiguous blocks (inode tables and bitmaps must not be split).
    pub fn alloc_contig(&mut self, n: u64) -> u64 {
        loop {
            match self.geo.next_reserved(self.cursor) {
                Some((rs, re)) if rs <= self.cursor => self.cursor = re,
                Some((rs, re)) if rs < self.cursor + n => self.cursor = re,
                _ => break,
            }
        }
        let s = self.cursor;
        self.cursor += n;
        s
    }

    /// Allocates `n` blocks and lists them one by one.
    pub fn alloc_list(&mut self, n: u64) -> Vec<u64> {
        self.alloc(n)
            .into_iter()
            .flat_map(|(s, l)| s..s + l)
            .collect()
    }
}

/// The default journal size for a filesystem of `blocks` 4 KiB blocks (as mke2fs).
pub fn default_journal_blocks(blocks: u64) -> u64 {
    match blocks {
        0..=32767 => 1024,
        32768..=262_143 => 4096,
        262_144..=524_287 => 8192,
        524_288..=4_194_303 => 16384,
        4_194_304..=8_388_607 => 32768,
        8_388_608..=16_777_215 => 65536,
        16_777_216..=33_554_431 => 131_072,
        _ => 262_144,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backup_groups() {
        let v: Vec<u64> = (0..50).filter(|&g| has_super(g)).collect();
        assert_eq!(v, vec![0, 1, 3, 5, 7, 9, 25, 27, 49]);
    }

    #[test]
    fn allocator_skips_backups() {
        let geo = Geometry::new(BLOCKS_PER_GROUP * 3, 100).unwrap();
        let mut a = Allocator::new(&geo);
        assert_eq!(a.cursor(), 2);
        let runs = a.alloc(BLOCKS_PER_GROUP);
        // group 1 starts with a superblock backup + 1 descriptor block
        assert_eq!(
            runs,
            vec![(2, BLOCKS_PER_GROUP - 2), (BLOCKS_PER_GROUP + 2, 2)]
        );
    }
}
