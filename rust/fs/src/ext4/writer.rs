//! The ext4 writer: collects entries, plans inodes, blocks and directories in memory,
//! computes the metadata, then writes every region once, in block order.

use std::collections::BTreeMap;
use std::fs::File;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Component, Path, PathBuf};

use super::dir::{Child, Layout};
use super::extent::{self, Extent};
use super::inode::{self, mode, Inode, FL_EXTENTS, FL_INDEX};
use super::layout::{self, Allocator, Geometry, BLOCKS_PER_GROUP, BLOCK_SIZE, INODE_SIZE};
use super::superblock::{self as sb, GroupDesc, Superblock};
use super::{
    csum, journal, xattr, Entry, EntryKind, Ext4Options, FileData, Meta, Size, SourceRange,
};
use crate::error::{Error, Result};
use crate::sparse;

const ROOT_INO: u32 = 2;
const JOURNAL_INO: u32 = 8;
const LPF_INO: u32 = 11;
const FIRST_INO: u32 = 11;
const LPF_BLOCKS: usize = 4;

#[derive(Debug)]
enum Kind {
    Dir(BTreeMap<Vec<u8>, u32>),
    File(FileData),
    Symlink(Vec<u8>),
    HardLink(PathBuf),
    Chr(u32, u32),
    Blk(u32, u32),
    Fifo,
    Sock,
}

#[derive(Debug)]
struct Node {
    name: Vec<u8>,
    parent: u32,
    kind: Kind,
    meta: Meta,
    explicit: bool,
}

/// Collects entries for a new ext4 filesystem. Build with [`Ext4Writer::new`], feed with
/// [`Ext4Writer::add`], then [`Ext4Writer::plan`] and [`Ext4Plan::write`].
#[derive(Debug)]
pub struct Ext4Writer {
    opts: Ext4Options,
    nodes: Vec<Node>,
}

fn components(path: &Path) -> Result<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    for c in path.components() {
        match c {
            Component::RootDir | Component::CurDir => {}
            Component::Normal(n) => {
                let n = n.as_bytes();
                if n.len() > 255 {
                    return Err(invalid(path, "a name is longer than 255 bytes"));
                }
                // `/` cannot reach here (it separates components); NUL can, from archives.
                if n.contains(&0) {
                    return Err(invalid(path, "a name contains a NUL byte"));
                }
                out.push(n.to_vec());
            }
            Component::ParentDir | Component::Prefix(_) => {
                return Err(invalid(path, "`..` is not allowed"))
            }
        }
    }
    Ok(out)
}

fn invalid(path: &Path, reason: &str) -> Error {
    Error::InvalidEntry {
        path: path.display().to_string(),
        reason: reason.into(),
    }
}

impl Ext4Writer {
    /// Starts an empty filesystem (only the root directory, mode 0755, owner 0:0).
    pub fn new(opts: Ext4Options) -> Self {
        let mut meta = Meta::new(0o755);
        meta.mtime = opts.timestamp;
        Ext4Writer {
            nodes: vec![Node {
                name: Vec::new(),
                parent: 0,
                kind: Kind::Dir(BTreeMap::new()),
                meta,
                explicit: false,
            }],
            opts,
        }
    }

    /// Adds one entry. Missing parent directories are created (0755, 0:0, the options'
    /// timestamp) and take the metadata of a later explicit entry for the same path.
    pub fn add(&mut self, e: Entry) -> Result<()> {
        let comps = components(&e.path)?;
        for x in &e.meta.xattrs {
            if xattr::split_name(&x.name).is_none() || x.name.len() > 255 {
                return Err(invalid(&e.path, "unsupported xattr namespace"));
            }
        }
        match &e.kind {
            EntryKind::Symlink(t) if t.is_empty() || t.len() >= BLOCK_SIZE as usize => {
                return Err(invalid(&e.path, "symlink target must be 1..4095 bytes"))
            }
            _ => {}
        }
        let Some((last, parents)) = comps.split_last() else {
            if !matches!(e.kind, EntryKind::Dir) {
                return Err(invalid(&e.path, "the root must be a directory"));
            }
            let root = &mut self.nodes[0];
            if root.explicit {
                return Err(invalid(&e.path, "duplicate entry"));
            }
            root.meta = e.meta;
            root.explicit = true;
            return Ok(());
        };
        let mut cur = 0u32;
        for p in parents {
            cur = match self.child(cur, p) {
                Some(c) if matches!(self.nodes[c as usize].kind, Kind::Dir(_)) => c,
                Some(_) => return Err(invalid(&e.path, "a parent is not a directory")),
                None => {
                    let mut meta = Meta::new(0o755);
                    meta.mtime = self.opts.timestamp;
                    self.insert(cur, p.clone(), Kind::Dir(BTreeMap::new()), meta, false)
                }
            };
        }
        if let Some(existing) = self.child(cur, last) {
            let n = &mut self.nodes[existing as usize];
            if !n.explicit && matches!(n.kind, Kind::Dir(_)) && matches!(e.kind, EntryKind::Dir) {
                n.meta = e.meta;
                n.explicit = true;
                return Ok(());
            }
            return Err(invalid(&e.path, "duplicate entry"));
        }
        let kind = match e.kind {
            EntryKind::Dir => Kind::Dir(BTreeMap::new()),
            EntryKind::File(d) => Kind::File(d),
            EntryKind::Symlink(t) => Kind::Symlink(t),
            EntryKind::HardLink(t) => Kind::HardLink(t),
            EntryKind::CharDevice { major, minor } => Kind::Chr(major, minor),
            EntryKind::BlockDevice { major, minor } => Kind::Blk(major, minor),
            EntryKind::Fifo => Kind::Fifo,
            EntryKind::Socket => Kind::Sock,
        };
        self.insert(cur, last.clone(), kind, e.meta, true);
        Ok(())
    }

    fn child(&self, dir: u32, name: &[u8]) -> Option<u32> {
        match &self.nodes.get(dir as usize)?.kind {
            Kind::Dir(c) => c.get(name).copied(),
            _ => None,
        }
    }

    fn insert(
        &mut self,
        parent: u32,
        name: Vec<u8>,
        kind: Kind,
        meta: Meta,
        explicit: bool,
    ) -> u32 {
        let id = self.nodes.len() as u32;
        if let Kind::Dir(c) = &mut self.nodes[parent as usize].kind {
            c.insert(name.clone(), id);
        }
        self.nodes.push(Node {
            name,
            parent,
            kind,
            meta,
            explicit,
        });
        id
    }

    fn resolve(&self, path: &Path) -> Option<u32> {
        let mut cur = 0;
        for c in components(path).ok()? {
            cur = self.child(cur, &c)?;
        }
        Some(cur)
    }

    /// Lays out the filesystem: inode numbers, block allocation, size. Reads only the
    /// metadata (and hole maps) of host files.
    pub fn plan(mut self) -> Result<Ext4Plan> {
        // lost+found: the given one (empty, a directory) or a fresh 0700 one.
        let lpf = match self.child(0, b"lost+found") {
            Some(id) => match &self.nodes[id as usize].kind {
                Kind::Dir(c) if c.is_empty() => id,
                _ => {
                    return Err(invalid(
                        Path::new("lost+found"),
                        "must be an empty directory",
                    ))
                }
            },
            None => {
                let mut meta = Meta::new(0o700);
                meta.mtime = self.opts.timestamp;
                self.insert(
                    0,
                    b"lost+found".to_vec(),
                    Kind::Dir(BTreeMap::new()),
                    meta,
                    true,
                )
            }
        };
        let n = self.nodes.len();
        // canonical node of every node (hard links point at their target)
        let mut canon: Vec<u32> = (0..n as u32).collect();
        for (id, slot) in canon.iter_mut().enumerate() {
            if let Kind::HardLink(t) = &self.nodes[id].kind {
                let cur;
                let mut target = t.clone();
                let mut hops = 0;
                loop {
                    let Some(tid) = self.resolve(&target) else {
                        return Err(invalid(
                            &self.path_of(id as u32),
                            "hard link target missing",
                        ));
                    };
                    match &self.nodes[tid as usize].kind {
                        Kind::HardLink(next) if hops < 40 => {
                            target = next.clone();
                            hops += 1;
                        }
                        Kind::Dir(_) | Kind::HardLink(_) => {
                            return Err(invalid(
                                &self.path_of(id as u32),
                                "hard link to a directory or a link loop",
                            ))
                        }
                        _ => {
                            cur = tid;
                            break;
                        }
                    }
                }
                *slot = cur;
            }
        }
        // inode numbers: root 2, lost+found 11, then depth-first in name order
        let mut ino_of = vec![0u32; n];
        ino_of[0] = ROOT_INO;
        ino_of[lpf as usize] = LPF_INO;
        let mut next = FIRST_INO + 1;
        let mut stack = vec![0u32];
        let mut order: Vec<u32> = Vec::new();
        while let Some(id) = stack.pop() {
            if let Kind::Dir(children) = &self.nodes[id as usize].kind {
                for &c in children.values().rev() {
                    stack.push(c);
                }
            }
            if id == 0 || id == lpf || canon[id as usize] != id {
                continue;
            }
            ino_of[id as usize] = next;
            next += 1;
            order.push(id);
        }
        let max_ino = next - 1;
        let mut nlink = vec![0u32; n];
        for id in 1..n {
            let c = canon[id] as usize;
            if let Kind::Dir(_) = self.nodes[id].kind {
                nlink[id] += 2;
                nlink[self.nodes[id].parent as usize] += 1;
            } else {
                nlink[c] += 1;
            }
        }
        nlink[0] += 2;
        for (id, n) in nlink.iter().enumerate() {
            if *n > 65000 && !matches!(self.nodes[id].kind, Kind::Dir(_)) {
                return Err(invalid(
                    &self.path_of(id as u32),
                    "more than 65000 hard links",
                ));
            }
        }
        let hash_seed = self.hash_seed();
        // per-inode block needs, in inode order (lost+found first, then the rest)
        let mut inodes: Vec<PInode> = Vec::with_capacity(order.len() + 2);
        let push = |this: &Self, id: u32| -> Result<PInode> {
            let node = &this.nodes[id as usize];
            let mut p = PInode {
                node: id,
                ino: ino_of[id as usize],
                nlink: nlink[id as usize],
                size: 0,
                segs: Vec::new(),
                copies: Vec::new(),
                extents: Vec::new(),
                tree: Vec::new(),
                xattr_block: None,
                xblock: false,
            };
            match &node.kind {
                Kind::Dir(children) => {
                    let kids = this.children_of(children, &canon, &ino_of);
                    let min = if id == lpf { LPF_BLOCKS } else { 1 };
                    let l = Layout::new(&kids, &hash_seed, min)?;
                    p.size = l.blocks() as u64 * BLOCK_SIZE;
                    p.segs.push((0, l.blocks() as u64));
                }
                Kind::File(d) => this.plan_file(id, d, &mut p)?,
                Kind::Symlink(t) => {
                    p.size = t.len() as u64;
                    if t.len() >= 60 {
                        p.segs.push((0, 1));
                    }
                }
                _ => {}
            }
            let attrs = sorted_attrs(&node.meta);
            if !xattr::fits_in_inode(&attrs) {
                if !xattr::fits_in_block(&attrs) {
                    return Err(invalid(&this.path_of(id), "xattrs do not fit in one block"));
                }
                p.xblock = true;
            }
            Ok(p)
        };
        inodes.push(push(&self, 0)?);
        inodes.push(push(&self, lpf)?);
        for &id in &order {
            inodes.push(push(&self, id)?);
        }
        // geometry: grow until everything fits
        let opts = &self.opts;
        let data_blocks: u64 = inodes
            .iter()
            .map(|p| p.segs.iter().map(|s| s.1).sum::<u64>())
            .sum();
        let mut blocks = match opts.size {
            Size::Exact(bytes) => bytes / BLOCK_SIZE,
            // a lower bound (data + the smallest journal): the loop below grows it
            Size::Minimal { .. } => data_blocks + 1024 + 16,
        };
        let mut tries = 0;
        let (geo, journal, end) = loop {
            tries += 1;
            blocks = normalize_blocks(blocks, matches!(opts.size, Size::Exact(_)));
            let want_inodes = {
                let base = u64::from(max_ino) + u64::from(opts.extra_inodes);
                match opts.bytes_per_inode {
                    Some(bpi) if bpi > 0 => base.max(blocks * BLOCK_SIZE / bpi),
                    _ => base,
                }
            };
            let Some(geo) = Geometry::new(blocks, want_inodes) else {
                if matches!(opts.size, Size::Minimal { .. }) && tries < 20 {
                    // at most 32768 inodes per group: add groups
                    blocks = want_inodes.div_ceil(BLOCKS_PER_GROUP) * BLOCKS_PER_GROUP;
                    continue;
                }
                return Err(Error::TooSmall {
                    what: "inode table".into(),
                    needed: want_inodes,
                    available: blocks.div_ceil(BLOCKS_PER_GROUP) * BLOCKS_PER_GROUP,
                });
            };
            if geo.inodes() > u64::from(u32::MAX) {
                return Err(Error::Spec(format!("{} inodes exceed 2^32", geo.inodes())));
            }
            let jblocks = opts
                .journal_blocks
                .unwrap_or_else(|| layout::default_journal_blocks(blocks));
            let (journal, end) = allocate(&geo, jblocks, &mut inodes);
            let reserve = blocks * u64::from(opts.reserved_percent) / 100;
            match opts.size {
                Size::Exact(bytes) => {
                    if end > blocks {
                        return Err(Error::TooSmall {
                            what: "ext4 filesystem".into(),
                            needed: end * BLOCK_SIZE,
                            available: bytes,
                        });
                    }
                    break (geo, journal, end);
                }
                Size::Minimal {
                    margin_bytes,
                    margin_percent,
                } => {
                    let want = end
                        + end * u64::from(margin_percent) / 100
                        + margin_bytes.div_ceil(BLOCK_SIZE)
                        + reserve;
                    if want <= blocks || tries > 20 {
                        break (geo, journal, end);
                    }
                    blocks = want;
                }
            }
        };
        Ok(Ext4Plan {
            writer: self,
            geo,
            journal,
            end,
            inodes,
            canon,
            ino_of,
            max_ino,
            hash_seed,
        })
    }

    fn hash_seed(&self) -> [u32; 4] {
        let d = crate::seed::derive(&self.opts.seed, "ext4-hash-seed");
        [0, 4, 8, 12].map(|i| u32::from_le_bytes([d[i], d[i + 1], d[i + 2], d[i + 3]]))
    }

    fn children_of<'a>(
        &'a self,
        children: &'a BTreeMap<Vec<u8>, u32>,
        canon: &[u32],
        ino_of: &[u32],
    ) -> Vec<Child<'a>> {
        children
            .iter()
            .map(|(name, &c)| {
                let t = canon[c as usize];
                Child {
                    name,
                    ino: ino_of[t as usize],
                    ftype: ftype(&self.nodes[t as usize].kind),
                }
            })
            .collect()
    }

    fn path_of(&self, mut id: u32) -> PathBuf {
        let mut parts = Vec::new();
        while id != 0 {
            let n = &self.nodes[id as usize];
            parts.push(String::from_utf8_lossy(&n.name).into_owned());
            id = n.parent;
        }
        parts.reverse();
        PathBuf::from(parts.join("/"))
    }

    fn plan_file(&self, id: u32, d: &FileData, p: &mut PInode) -> Result<()> {
        let (size, copies) = match d {
            FileData::Bytes(b) => (
                b.len() as u64,
                vec![SourceRange {
                    file_offset: 0,
                    source_offset: 0,
                    len: b.len() as u64,
                }],
            ),
            FileData::Host(path) => {
                let md = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
                if !md.is_file() {
                    return Err(invalid(
                        &self.path_of(id),
                        "host source is not a regular file",
                    ));
                }
                let size = md.len();
                let ranges = if md.blocks() * 512 >= size {
                    vec![sparse::DataRange {
                        offset: 0,
                        len: size,
                    }]
                } else {
                    let f = File::open(path).map_err(|e| Error::io(path, e))?;
                    sparse::data_ranges(&f, 0, size).map_err(|e| Error::io(path, e))?
                };
                let copies = ranges
                    .into_iter()
                    .map(|r| SourceRange {
                        file_offset: r.offset,
                        source_offset: r.offset,
                        len: r.len,
                    })
                    .collect();
                (size, copies)
            }
            FileData::Ranges { size, ranges, .. } => {
                let mut last = 0;
                for r in ranges {
                    if r.file_offset < last || r.file_offset + r.len > *size {
                        return Err(invalid(
                            &self.path_of(id),
                            "ranges unsorted or past the size",
                        ));
                    }
                    last = r.file_offset + r.len;
                }
                (*size, ranges.clone())
            }
        };
        if size.div_ceil(BLOCK_SIZE) > u64::from(u32::MAX) {
            return Err(invalid(&self.path_of(id), "file larger than 16 TiB"));
        }
        p.size = size;
        for c in copies.iter().filter(|c| c.len > 0) {
            let s = c.file_offset / BLOCK_SIZE;
            let e = (c.file_offset + c.len).div_ceil(BLOCK_SIZE);
            match p.segs.last_mut() {
                Some((ls, ln)) if *ls + *ln >= s => *ln = (*ln).max(e - *ls),
                _ => p.segs.push((s, e - s)),
            }
        }
        p.copies = copies.into_iter().filter(|c| c.len > 0).collect();
        Ok(())
    }
}

fn sorted_attrs(meta: &Meta) -> Vec<(u8, &[u8], &[u8])> {
    let mut v: Vec<(u8, &[u8], &[u8])> = meta
        .xattrs
        .iter()
        .filter_map(|x| xattr::split_name(&x.name).map(|(i, n)| (i, n, x.value.as_slice())))
        .collect();
    v.sort();
    v
}

fn ftype(k: &Kind) -> u8 {
    match k {
        Kind::File(_) | Kind::HardLink(_) => 1,
        Kind::Dir(_) => 2,
        Kind::Chr(..) => 3,
        Kind::Blk(..) => 4,
        Kind::Fifo => 5,
        Kind::Sock => 6,
        Kind::Symlink(_) => 7,
    }
}

/// Drops (exact sizes) or completes (minimal sizes) a last group too small to be useful.
fn normalize_blocks(blocks: u64, exact: bool) -> u64 {
    let blocks = blocks.max(2048);
    let groups = blocks.div_ceil(BLOCKS_PER_GROUP);
    let last_len = blocks - (groups - 1) * BLOCKS_PER_GROUP;
    let min_last = 256;
    if groups > 1 && last_len < min_last {
        if exact {
            (groups - 1) * BLOCKS_PER_GROUP
        } else {
            (groups - 1) * BLOCKS_PER_GROUP + min_last
        }
    } else {
        blocks
    }
}

/// Per-inode plan: block needs, then allocation.
#[derive(Debug)]
struct PInode {
    node: u32,
    ino: u32,
    nlink: u32,
    size: u64,
    /// Logical block segments `(first, count)` holding data.
    segs: Vec<(u64, u64)>,
    /// Byte ranges to copy from the source.
    copies: Vec<SourceRange>,
    extents: Vec<Extent>,
    tree: Vec<u64>,
    xattr_block: Option<u64>,
    /// Needs an external xattr block.
    xblock: bool,
}

/// Metadata placement of one allocation run.
#[derive(Debug, Clone)]
struct MetaPlace {
    block_bitmaps: u64,
    inode_bitmaps: u64,
    inode_tables: Vec<u64>,
}

#[derive(Debug, Clone)]
struct JournalPlace {
    blocks: u64,
    extents: Vec<Extent>,
    tree: Vec<u64>,
    meta: MetaPlace,
}

fn runs_to_extents(logical: u64, runs: Vec<(u64, u64)>, out: &mut Vec<Extent>) {
    let mut l = logical;
    for (s, n) in runs {
        out.push(Extent {
            logical: l as u32,
            physical: s,
            len: n as u16,
        });
        l += n;
    }
}

/// Allocates everything in write order; returns the journal placement and the end cursor.
fn allocate(geo: &Geometry, jblocks: u64, inodes: &mut [PInode]) -> (JournalPlace, u64) {
    let mut a = Allocator::new(geo);
    let block_bitmaps = a.alloc_contig(geo.groups);
    let inode_bitmaps = a.alloc_contig(geo.groups);
    let inode_tables = (0..geo.groups)
        .map(|_| a.alloc_contig(geo.itable_blocks()))
        .collect();
    let mut jext = Vec::new();
    runs_to_extents(0, a.alloc(jblocks), &mut jext);
    let jtree = a.alloc_list(extent::tree_blocks(jext.len()) as u64);
    for p in inodes.iter_mut() {
        p.extents.clear();
        for &(s, n) in &p.segs {
            runs_to_extents(s, a.alloc(n), &mut p.extents);
        }
        p.tree = a.alloc_list(extent::tree_blocks(p.extents.len()) as u64);
        p.xattr_block = if p.xblock {
            a.alloc_list(1).first().copied()
        } else {
            None
        };
    }
    (
        JournalPlace {
            blocks: jblocks,
            extents: jext,
            tree: jtree,
            meta: MetaPlace {
                block_bitmaps,
                inode_bitmaps,
                inode_tables,
            },
        },
        a.cursor(),
    )
}

/// A planned filesystem, ready to be written.
#[derive(Debug)]
pub struct Ext4Plan {
    writer: Ext4Writer,
    geo: Geometry,
    journal: JournalPlace,
    end: u64,
    inodes: Vec<PInode>,
    canon: Vec<u32>,
    ino_of: Vec<u32>,
    max_ino: u32,
    hash_seed: [u32; 4],
}

/// What was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ext4Summary {
    /// Filesystem size in bytes.
    pub size_bytes: u64,
    /// Blocks in use (metadata, journal, data).
    pub used_blocks: u64,
    /// Total inodes.
    pub inodes: u64,
    /// Inodes in use (including the reserved ones).
    pub used_inodes: u32,
    /// Filesystem UUID.
    pub uuid: String,
}

/// One region of the filesystem's bytes, at a byte offset from the partition's start.
#[derive(Debug)]
enum Piece {
    /// Bytes computed in memory (metadata, small files).
    Mem { at: u64, bytes: Vec<u8> },
    /// `len` bytes of inode `inode`'s source (index into the plan's inodes) from
    /// `source_offset`.
    Copy {
        at: u64,
        inode: usize,
        source_offset: u64,
        len: u64,
    },
}

impl Piece {
    fn at(&self) -> u64 {
        match self {
            Piece::Mem { at, .. } | Piece::Copy { at, .. } => *at,
        }
    }

    fn end(&self) -> u64 {
        match self {
            Piece::Mem { at, bytes } => at + bytes.len() as u64,
            Piece::Copy { at, len, .. } => at + len,
        }
    }
}

/// Largest positioned write of coalesced metadata, and the step in which file data is
/// copied and announced final (small enough that a follower hashing behind the writer
/// stays close, large enough that the calls cost nothing).
const WRITE_CHUNK: u64 = 8 << 20;

/// The source file open for the current inode.
struct OpenSource {
    inode: usize,
    file: File,
    path: PathBuf,
}

impl Ext4Plan {
    /// Size of the filesystem in bytes.
    pub fn size_bytes(&self) -> u64 {
        self.geo.blocks * BLOCK_SIZE
    }

    /// Blocks that hold data or metadata.
    pub fn used_blocks(&self) -> u64 {
        self.end + self.backup_blocks_after(self.end)
    }

    fn backup_blocks_after(&self, end: u64) -> u64 {
        (0..self.geo.groups)
            .filter(|&g| self.geo.group_start(g) >= end)
            .map(|g| self.geo.super_overhead(g))
            .sum()
    }

    fn uuid(&self) -> uuid::Uuid {
        crate::seed::derive_uuid(&self.writer.opts.seed, "ext4-uuid")
    }

    /// Writes the filesystem into `image` at byte `offset` (the file grows if needed).
    /// The range is first made to read as zeros, so whatever it held does not leak in.
    pub fn write(&self, image: &File, offset: u64) -> Result<Ext4Summary> {
        self.write_in_order(image, offset, &mut |_| {})
    }

    /// Like [`Ext4Plan::write`], and every byte is written once, in increasing offset
    /// order: all metadata is computed in memory first (the plan fixes every block), then
    /// the regions are written front to back, file data with `copy_file_range`. After each
    /// region (file data in steps of a few MiB) `on_final(end)` is called with the absolute
    /// offset in `image` below which the filesystem's bytes are final, ending with
    /// `offset + size_bytes()`: a reader such as a hasher can follow right behind the
    /// writer instead of re-reading the partition after it.
    pub fn write_in_order(
        &self,
        image: &File,
        offset: u64,
        on_final: &mut dyn FnMut(u64),
    ) -> Result<Ext4Summary> {
        let uuid = *self.uuid().as_bytes();
        let fs_seed = csum::fs_seed(&uuid);
        let (mut pieces, used_dirs) = self.inode_pieces(&uuid, fs_seed)?;
        let summary = self.group_metadata(&mut pieces, &uuid, fs_seed, &used_dirs)?;
        // Stable: pieces never overlap, so the order only matters for the check below.
        pieces.sort_by_key(Piece::at);
        sparse::zero_range(image, offset, self.size_bytes())?;
        let mut buf: Vec<u8> = Vec::new();
        let mut buf_at = 0u64;
        let mut source: Option<OpenSource> = None;
        let mut done = 0u64;
        for piece in &pieces {
            if piece.at() < done {
                return Err(Error::corrupt(
                    "ext4 plan",
                    format!("regions overlap at byte {}", piece.at()),
                ));
            }
            match piece {
                Piece::Mem { at, bytes } => {
                    if !buf.is_empty()
                        && (*at != buf_at + buf.len() as u64 || buf.len() as u64 >= WRITE_CHUNK)
                    {
                        image.write_all_at(&buf, offset + buf_at)?;
                        on_final(offset + buf_at + buf.len() as u64);
                        buf.clear();
                    }
                    if buf.is_empty() {
                        buf_at = *at;
                    }
                    buf.extend_from_slice(bytes);
                }
                Piece::Copy {
                    at,
                    inode,
                    source_offset,
                    len,
                } => {
                    if !buf.is_empty() {
                        image.write_all_at(&buf, offset + buf_at)?;
                        on_final(offset + buf_at + buf.len() as u64);
                        buf.clear();
                    }
                    if source.as_ref().map(|s| s.inode) != Some(*inode) {
                        source = Some(self.open_source(*inode)?);
                    }
                    let Some(src) = source.as_ref() else {
                        continue;
                    };
                    let mut n = 0;
                    while n < *len {
                        let k = (*len - n).min(WRITE_CHUNK);
                        sparse::copy_nonzero(
                            &src.file,
                            source_offset + n,
                            image,
                            offset + at + n,
                            k,
                        )
                        .map_err(|e| Error::io(&src.path, e))?;
                        n += k;
                        on_final(offset + at + n);
                    }
                }
            }
            done = piece.end();
        }
        if !buf.is_empty() {
            image.write_all_at(&buf, offset + buf_at)?;
        }
        on_final(offset + self.size_bytes());
        Ok(summary)
    }

    /// Opens the source of a host or ranges file, checking that a host file still has
    /// its planned size.
    fn open_source(&self, inode: usize) -> Result<OpenSource> {
        let p = &self.inodes[inode];
        let path = match &self.writer.nodes[p.node as usize].kind {
            Kind::File(FileData::Host(path))
            | Kind::File(FileData::Ranges { source: path, .. }) => path,
            _ => {
                return Err(Error::corrupt(
                    "ext4 plan",
                    "a copy from a file without a source",
                ))
            }
        };
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        if let Kind::File(FileData::Host(_)) = &self.writer.nodes[p.node as usize].kind {
            let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
            if len != p.size {
                return Err(Error::io(
                    path,
                    std::io::Error::other(format!(
                        "size changed while writing: planned {}, now {len}",
                        p.size
                    )),
                ));
            }
        }
        Ok(OpenSource {
            inode,
            file,
            path: path.clone(),
        })
    }

    /// Every inode's blocks (directories, symlinks, extent trees, xattr blocks, file data
    /// to copy), the journal and the inode tables, as pieces; and the directories per group.
    fn inode_pieces(&self, uuid: &[u8; 16], fs_seed: u32) -> Result<(Vec<Piece>, Vec<u32>)> {
        let geo = &self.geo;
        let opts = &self.writer.opts;
        let mut pieces = Vec::new();
        let block = |pieces: &mut Vec<Piece>, b: u64, bytes: Vec<u8>| {
            pieces.push(Piece::Mem {
                at: b * BLOCK_SIZE,
                bytes,
            })
        };
        // journal
        let j = &self.journal;
        if let Some(first) = j.extents.first() {
            block(
                &mut pieces,
                first.physical,
                journal::superblock(j.blocks, uuid),
            );
        }
        let jseed = csum::inode_seed(fs_seed, JOURNAL_INO, 0);
        let (jroot, jtree) = extent::build(&j.extents, &j.tree, jseed);
        for (b, data) in jtree {
            block(&mut pieces, b, data);
        }
        let mut table = InodeTables::new(geo);
        // reserved inodes
        for ino in 1..FIRST_INO {
            let mut raw = [0u8; INODE_SIZE as usize];
            if ino == JOURNAL_INO {
                let size = j.blocks * BLOCK_SIZE;
                Inode {
                    mode: mode::REG | 0o600,
                    size,
                    time: opts.timestamp,
                    mtime: opts.timestamp,
                    links: 1,
                    blocks_512: (j.blocks + j.tree.len() as u64) * (BLOCK_SIZE / 512),
                    flags: FL_EXTENTS,
                    block: jroot,
                    ..Inode::default()
                }
                .encode(&mut raw);
            } else if ino != ROOT_INO {
                Inode::default().encode(&mut raw);
            } else {
                continue;
            }
            inode::seal(&mut raw, csum::inode_seed(fs_seed, ino, 0));
            table.put(ino, &raw);
        }
        let mut used_dirs = vec![0u32; geo.groups as usize];
        let mut sorted: Vec<usize> = (0..self.inodes.len()).collect();
        sorted.sort_by_key(|&i| self.inodes[i].ino);
        for index in sorted {
            let p = &self.inodes[index];
            let node = &self.writer.nodes[p.node as usize];
            let iseed = csum::inode_seed(fs_seed, p.ino, 0);
            let mut ino = Inode {
                uid: node.meta.uid,
                gid: node.meta.gid,
                size: p.size,
                time: node.meta.mtime,
                mtime: node.meta.mtime,
                links: if p.nlink > 65000 { 1 } else { p.nlink as u16 },
                ..Inode::default()
            };
            let perm = node.meta.mode & 0o7777;
            let data_blocks: u64 = p.extents.iter().map(|e| u64::from(e.len)).sum();
            let mut extents_root = true;
            match &node.kind {
                Kind::Dir(children) => {
                    ino.mode = mode::DIR | perm;
                    used_dirs[((p.ino - 1) / geo.inodes_per_group) as usize] += 1;
                    let kids = self.writer.children_of(children, &self.canon, &self.ino_of);
                    let min = if p.ino == LPF_INO { LPF_BLOCKS } else { 1 };
                    let l = Layout::new(&kids, &self.hash_seed, min)?;
                    let parent = self.ino_of[node.parent as usize];
                    let mut i = 0usize;
                    for e in &p.extents {
                        for k in 0..u64::from(e.len) {
                            block(
                                &mut pieces,
                                e.physical + k,
                                l.render(i, p.ino, parent, iseed),
                            );
                            i += 1;
                        }
                    }
                    if l.is_htree() {
                        ino.flags |= FL_INDEX;
                    }
                }
                Kind::File(d) => {
                    ino.mode = mode::REG | perm;
                    self.data_pieces(index, d, &mut pieces)?;
                }
                Kind::Symlink(t) => {
                    ino.mode = mode::LNK | 0o777;
                    if t.len() < 60 {
                        extents_root = false;
                        ino.block[..t.len()].copy_from_slice(t);
                    } else if let Some(e) = p.extents.first() {
                        let mut b = vec![0u8; BLOCK_SIZE as usize];
                        b[..t.len()].copy_from_slice(t);
                        block(&mut pieces, e.physical, b);
                    }
                }
                Kind::Chr(ma, mi) | Kind::Blk(ma, mi) => {
                    ino.mode = if matches!(node.kind, Kind::Chr(..)) {
                        mode::CHR
                    } else {
                        mode::BLK
                    } | perm;
                    extents_root = false;
                    if *ma < 256 && *mi < 256 {
                        ino.block[0..4].copy_from_slice(&((ma << 8) | mi).to_le_bytes());
                    } else {
                        let v = (mi & 0xff) | (ma << 8) | ((mi & !0xff) << 12);
                        ino.block[4..8].copy_from_slice(&v.to_le_bytes());
                    }
                }
                Kind::Fifo => {
                    ino.mode = mode::FIFO | perm;
                    extents_root = false;
                }
                Kind::Sock => {
                    ino.mode = mode::SOCK | perm;
                    extents_root = false;
                }
                Kind::HardLink(_) => continue,
            }
            if extents_root {
                ino.flags |= FL_EXTENTS;
                let (root, tree) = extent::build(&p.extents, &p.tree, iseed);
                ino.block = root;
                for (b, data) in tree {
                    block(&mut pieces, b, data);
                }
            }
            let mut raw = [0u8; INODE_SIZE as usize];
            let attrs = sorted_attrs(&node.meta);
            let mut meta_blocks = p.tree.len() as u64;
            if !attrs.is_empty() {
                if xattr::fits_in_inode(&attrs) {
                    xattr::write_ibody(&mut raw, &attrs);
                } else if let Some(b) = p.xattr_block {
                    block(&mut pieces, b, xattr::block(&attrs, b, fs_seed));
                    ino.file_acl = b;
                    meta_blocks += 1;
                }
            }
            ino.blocks_512 = (data_blocks + meta_blocks) * (BLOCK_SIZE / 512);
            ino.encode(&mut raw);
            inode::seal(&mut raw, iseed);
            table.put(p.ino, &raw);
        }
        table.into_pieces(&j.meta.inode_tables, &mut pieces);
        Ok((pieces, used_dirs))
    }

    /// The pieces of one file's data: where each source range lands, extent by extent.
    fn data_pieces(&self, index: usize, d: &FileData, pieces: &mut Vec<Piece>) -> Result<()> {
        let p = &self.inodes[index];
        let mut ei = 0;
        for c in &p.copies {
            let (mut fo, end) = (c.file_offset, c.file_offset + c.len);
            while fo < end {
                while p
                    .extents
                    .get(ei)
                    .is_some_and(|e| (u64::from(e.logical) + u64::from(e.len)) * BLOCK_SIZE <= fo)
                {
                    ei += 1;
                }
                let Some(e) = p.extents.get(ei) else {
                    return Err(Error::corrupt(
                        "ext4 plan",
                        format!("no extent for offset {fo}"),
                    ));
                };
                let ext_start = u64::from(e.logical) * BLOCK_SIZE;
                let ext_end = ext_start + u64::from(e.len) * BLOCK_SIZE;
                let n = end.min(ext_end) - fo;
                let at = e.physical * BLOCK_SIZE + (fo - ext_start);
                let so = c.source_offset + (fo - c.file_offset);
                match d {
                    FileData::Bytes(b) => {
                        let slice = b.get(so as usize..(so + n) as usize).unwrap_or(&[]);
                        pieces.push(Piece::Mem {
                            at,
                            bytes: slice.to_vec(),
                        });
                    }
                    FileData::Host(_) | FileData::Ranges { .. } => pieces.push(Piece::Copy {
                        at,
                        inode: index,
                        source_offset: so,
                        len: n,
                    }),
                }
                fo += n;
            }
        }
        Ok(())
    }

    /// Block and inode bitmaps, and the superblock with the group descriptors at the
    /// start of every group that keeps a copy, as pieces; returns the summary.
    fn group_metadata(
        &self,
        pieces: &mut Vec<Piece>,
        uuid: &[u8; 16],
        fs_seed: u32,
        used_dirs: &[u32],
    ) -> Result<Ext4Summary> {
        let geo = &self.geo;
        let opts = &self.writer.opts;
        let ipg = geo.inodes_per_group;
        let m = &self.journal.meta;
        let mut label = [0u8; 16];
        let lb = opts.label.as_bytes();
        if lb.len() > 16 {
            return Err(Error::Spec(format!(
                "ext4 label {:?} is longer than 16 bytes",
                opts.label
            )));
        }
        label[..lb.len()].copy_from_slice(lb);
        let mut descs = Vec::with_capacity(geo.groups as usize);
        let mut free_blocks_total = 0u64;
        let mut bitmaps = Vec::with_capacity((geo.groups * BLOCK_SIZE) as usize);
        let mut ibitmaps = Vec::with_capacity((geo.groups * BLOCK_SIZE) as usize);
        for g in 0..geo.groups {
            let start = geo.group_start(g);
            let len = geo.group_len(g);
            let mut bm = vec![0u8; BLOCK_SIZE as usize];
            let over = geo.super_overhead(g);
            let mut free = 0u32;
            for i in 0..BLOCKS_PER_GROUP {
                let b = start + i;
                let used = i >= len || b < self.end || i < over;
                if used {
                    bm[(i / 8) as usize] |= 1 << (i % 8);
                } else {
                    free += 1;
                }
            }
            free_blocks_total += u64::from(free);
            let first = u64::from(g as u32) * u64::from(ipg) + 1;
            let used_inodes = (u64::from(self.max_ino) + 1)
                .saturating_sub(first)
                .min(u64::from(ipg)) as u32;
            let mut ib = vec![0u8; BLOCK_SIZE as usize];
            for i in 0..(BLOCK_SIZE * 8) as u32 {
                if i < used_inodes || i >= ipg {
                    ib[(i / 8) as usize] |= 1 << (i % 8);
                }
            }
            let d = GroupDesc {
                block_bitmap: m.block_bitmaps + g,
                inode_bitmap: m.inode_bitmaps + g,
                inode_table: m.inode_tables.get(g as usize).copied().unwrap_or(0),
                free_blocks: free,
                free_inodes: ipg - used_inodes,
                used_dirs: used_dirs.get(g as usize).copied().unwrap_or(0),
                flags: sb::BG_INODE_ZEROED,
                block_bitmap_csum: csum::raw(fs_seed, &bm),
                inode_bitmap_csum: csum::raw(fs_seed, &ib[..(ipg / 8) as usize]),
                itable_unused: ipg - used_inodes,
            };
            descs.extend_from_slice(&d.encode(g as u32, fs_seed));
            bitmaps.extend_from_slice(&bm);
            ibitmaps.extend_from_slice(&ib);
        }
        pieces.push(Piece::Mem {
            at: m.block_bitmaps * BLOCK_SIZE,
            bytes: bitmaps,
        });
        pieces.push(Piece::Mem {
            at: m.inode_bitmaps * BLOCK_SIZE,
            bytes: ibitmaps,
        });
        descs.resize((geo.gdt_blocks * BLOCK_SIZE) as usize, 0);
        let (jroot, _) = extent::build(&self.journal.extents, &self.journal.tree, 0);
        let mut jnl = [0u32; 17];
        for (i, w) in jnl.iter_mut().take(15).enumerate() {
            *w = u32::from_le_bytes([
                jroot[i * 4],
                jroot[i * 4 + 1],
                jroot[i * 4 + 2],
                jroot[i * 4 + 3],
            ]);
        }
        let jsize = self.journal.blocks * BLOCK_SIZE;
        jnl[15] = (jsize >> 32) as u32;
        jnl[16] = jsize as u32;
        let free_inodes = (geo.inodes() - u64::from(self.max_ino)) as u32;
        let mut s = Superblock {
            inodes_count: geo.inodes() as u32,
            blocks_count: geo.blocks,
            r_blocks_count: geo.blocks * u64::from(opts.reserved_percent) / 100,
            free_blocks: free_blocks_total,
            free_inodes,
            first_data_block: 0,
            log_block_size: 2,
            blocks_per_group: BLOCKS_PER_GROUP as u32,
            inodes_per_group: ipg,
            time: opts.timestamp as u32,
            inode_size: INODE_SIZE as u16,
            block_group_nr: 0,
            compat: sb::COMPAT_HAS_JOURNAL | sb::COMPAT_EXT_ATTR | sb::COMPAT_DIR_INDEX,
            incompat: sb::INCOMPAT_FILETYPE
                | sb::INCOMPAT_EXTENTS
                | sb::INCOMPAT_64BIT
                | sb::INCOMPAT_FLEX_BG,
            ro_compat: sb::RO_SPARSE_SUPER
                | sb::RO_LARGE_FILE
                | sb::RO_HUGE_FILE
                | sb::RO_DIR_NLINK
                | sb::RO_EXTRA_ISIZE
                | sb::RO_METADATA_CSUM,
            uuid: *uuid,
            label,
            journal_inum: JOURNAL_INO,
            hash_seed: self.hash_seed,
            desc_size: layout::DESC_SIZE as u16,
            jnl_blocks: jnl,
            log_groups_per_flex: 4,
            first_ino: FIRST_INO,
            flags: 0x2, // EXT2_FLAGS_UNSIGNED_HASH
            checksum_seed: 0,
        };
        for g in (0..geo.groups).filter(|&g| layout::has_super(g)) {
            s.block_group_nr = g as u16;
            let mut first = vec![0u8; BLOCK_SIZE as usize];
            let sbo = if g == 0 { 1024 } else { 0 };
            first[sbo..sbo + 1024].copy_from_slice(&s.encode());
            first.extend_from_slice(&descs);
            pieces.push(Piece::Mem {
                at: geo.group_start(g) * BLOCK_SIZE,
                bytes: first,
            });
        }
        Ok(Ext4Summary {
            size_bytes: self.size_bytes(),
            used_blocks: geo.blocks - free_blocks_total,
            inodes: geo.inodes(),
            used_inodes: self.max_ino,
            uuid: self.uuid().hyphenated().to_string(),
        })
    }
}

/// The used part of every group's inode table, filled in any order.
struct InodeTables {
    ipg: u32,
    groups: Vec<Vec<u8>>,
}

impl InodeTables {
    fn new(geo: &Geometry) -> Self {
        InodeTables {
            ipg: geo.inodes_per_group,
            groups: vec![Vec::new(); geo.groups as usize],
        }
    }

    fn put(&mut self, ino: u32, raw: &[u8]) {
        let g = ((ino - 1) / self.ipg) as usize;
        let idx = ((ino - 1) % self.ipg) as usize * INODE_SIZE as usize;
        if let Some(buf) = self.groups.get_mut(g) {
            if buf.len() < idx + raw.len() {
                buf.resize(idx + raw.len(), 0);
            }
            buf[idx..idx + raw.len()].copy_from_slice(raw);
        }
    }

    fn into_pieces(self, tables: &[u64], pieces: &mut Vec<Piece>) {
        for (g, bytes) in self.groups.into_iter().enumerate() {
            if let (false, Some(t)) = (bytes.is_empty(), tables.get(g)) {
                pieces.push(Piece::Mem {
                    at: t * BLOCK_SIZE,
                    bytes,
                });
            }
        }
    }
}

/// Metadata policy for [`host_tree_entries`].
#[derive(Debug, Clone, Default)]
pub struct HostTreeOptions {
    /// Owner for every entry (default: the host's).
    pub uid: Option<u32>,
    /// Group for every entry (default: the host's).
    pub gid: Option<u32>,
    /// Time for every entry (default: the host's mtime).
    pub mtime: Option<i64>,
}

/// Lists a host directory tree as entries (sorted, hard links detected, no xattrs):
/// convenience for tests, examples and benchmarks. Metadata comes from the host unless
/// overridden by `opts`.
pub fn host_tree_entries(root: &Path, opts: &HostTreeOptions) -> Result<Vec<Entry>> {
    let mut out = Vec::new();
    let mut seen: BTreeMap<(u64, u64), PathBuf> = BTreeMap::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        let full = root.join(&rel);
        let md = std::fs::symlink_metadata(&full).map_err(|e| Error::io(&full, e))?;
        let meta = Meta {
            mode: (md.mode() & 0o7777) as u16,
            uid: opts.uid.unwrap_or(md.uid()),
            gid: opts.gid.unwrap_or(md.gid()),
            mtime: opts.mtime.unwrap_or(md.mtime()),
            xattrs: Vec::new(),
        };
        let ft = md.file_type();
        use std::os::unix::fs::FileTypeExt;
        let kind = if ft.is_dir() {
            let mut names: Vec<PathBuf> = std::fs::read_dir(&full)
                .map_err(|e| Error::io(&full, e))?
                .map(|d| d.map(|d| rel.join(d.file_name())))
                .collect::<std::io::Result<_>>()
                .map_err(|e| Error::io(&full, e))?;
            names.sort();
            stack.extend(names.into_iter().rev());
            EntryKind::Dir
        } else if md.nlink() > 1 && seen.contains_key(&(md.dev(), md.ino())) {
            EntryKind::HardLink(seen[&(md.dev(), md.ino())].clone())
        } else if ft.is_file() {
            if md.nlink() > 1 {
                seen.insert((md.dev(), md.ino()), rel.clone());
            }
            EntryKind::File(FileData::Host(full.clone()))
        } else if ft.is_symlink() {
            let t = std::fs::read_link(&full).map_err(|e| Error::io(&full, e))?;
            EntryKind::Symlink(t.as_os_str().as_bytes().to_vec())
        } else if ft.is_char_device() || ft.is_block_device() {
            let r = md.rdev();
            let (major, minor) = (libc::major(r), libc::minor(r));
            if ft.is_char_device() {
                EntryKind::CharDevice { major, minor }
            } else {
                EntryKind::BlockDevice { major, minor }
            }
        } else if ft.is_fifo() {
            EntryKind::Fifo
        } else {
            EntryKind::Socket
        };
        out.push(Entry {
            path: rel,
            kind,
            meta,
        });
    }
    Ok(out)
}
