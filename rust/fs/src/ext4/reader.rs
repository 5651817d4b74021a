//! A small ext4 reader: lists the tree of an existing filesystem with full metadata
//! (mode, owner, time, xattrs, devices, hard links) and maps file contents to byte ranges
//! of the image, so files can be carried into a new filesystem without buffering them.
//!
//! `ext4-view` was considered and not used: its 0.5 API exposes no mtime, xattrs or
//! device numbers and reads whole files into memory, while carrying a base image's
//! multi-GiB files over must stream them (here: as byte ranges for `copy_file_range`).
//!
//! It is written for untrusted input: every block and inode number is bounds-checked,
//! directory cycles and extent-tree depth are limited, and errors are returned, never
//! panics.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use super::bytes::{r16, r32, r8};
use super::extent::{self, Node};
use super::inode::{self, mode, Inode, FL_EXTENTS, FL_INLINE_DATA};
use super::superblock::{self as sb, GroupDesc, Superblock};
use super::{xattr, EntryKind, FileData, Meta, SourceRange, Xattr};
use crate::error::{Error, Result};

const MAX_ENTRIES: usize = 10_000_000;

/// An open ext4 filesystem inside an image file.
#[derive(Debug)]
pub struct Ext4Reader {
    file: File,
    path: PathBuf,
    offset: u64,
    sb: Superblock,
    block_size: u64,
    descs: Vec<GroupDesc>,
}

/// One entry of an existing filesystem, as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadEntry {
    /// Path relative to the root.
    pub path: PathBuf,
    /// Inode number.
    pub ino: u32,
    /// Kind; regular files are [`FileData::Ranges`] over the image file, and later paths
    /// of a multiply-linked inode are [`EntryKind::HardLink`]s to the first path.
    pub kind: EntryKind,
    /// Metadata.
    pub meta: Meta,
    /// Size in bytes (files and symlinks).
    pub size: u64,
}

impl ReadEntry {
    /// Converts to a writer entry (same path, kind and metadata).
    pub fn into_entry(self) -> super::Entry {
        super::Entry {
            path: self.path,
            kind: self.kind,
            meta: self.meta,
        }
    }
}

fn bad(reason: impl Into<String>) -> Error {
    Error::corrupt("ext4 filesystem", reason)
}

impl Ext4Reader {
    /// Opens the filesystem starting at byte `offset` of `path`.
    pub fn open(path: &Path, offset: u64) -> Result<Self> {
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        let mut raw = vec![0u8; 1024];
        file.read_exact_at(&mut raw, offset + 1024)
            .map_err(|e| Error::io(path, e))?;
        let s = Superblock::decode(&raw).map_err(|r| Error::corrupt("ext4 superblock", r))?;
        if s.log_block_size > 6 {
            return Err(Error::corrupt(
                "ext4 superblock",
                format!("log_block_size {}", s.log_block_size),
            ));
        }
        let block_size = 1024u64 << s.log_block_size;
        let supported = sb::INCOMPAT_FILETYPE
            | sb::INCOMPAT_EXTENTS
            | sb::INCOMPAT_64BIT
            | sb::INCOMPAT_FLEX_BG
            | sb::INCOMPAT_CSUM_SEED
            | sb::INCOMPAT_INLINE_DATA
            | 0x10 // meta_bg (descriptor location differs; rejected below)
            | sb::INCOMPAT_RECOVER;
        if s.incompat & !supported != 0 || s.incompat & 0x10 != 0 {
            return Err(Error::corrupt(
                "ext4 superblock",
                format!(
                    "unsupported incompatible features {:#x}",
                    s.incompat & !(supported & !0x10)
                ),
            ));
        }
        if s.inodes_per_group == 0
            || s.blocks_per_group == 0
            || s.inode_size < 128
            || u64::from(s.inode_size) > block_size
            || !(s.desc_size == 32 || (s.desc_size >= 64 && u64::from(s.desc_size) <= block_size))
        {
            return Err(Error::corrupt("ext4 superblock", "inconsistent geometry"));
        }
        let groups = s
            .blocks_count
            .saturating_sub(u64::from(s.first_data_block))
            .div_ceil(u64::from(s.blocks_per_group));
        if groups == 0
            || groups > 1 << 24
            || groups * u64::from(s.inodes_per_group) < u64::from(s.inodes_count)
        {
            return Err(Error::corrupt(
                "ext4 superblock",
                format!("{groups} groups"),
            ));
        }
        let file_len = file.metadata().map_err(|e| Error::io(path, e))?.len();
        if s.blocks_count
            .checked_mul(block_size)
            .map_or(true, |b| b > file_len.saturating_sub(offset))
        {
            return Err(Error::corrupt(
                "ext4 superblock",
                format!(
                    "{} blocks of {block_size} bytes exceed the {file_len}-byte file",
                    s.blocks_count
                ),
            ));
        }
        let ds = usize::from(s.desc_size);
        let mut raw = vec![0u8; groups as usize * ds];
        let gdt = offset + (u64::from(s.first_data_block) + 1) * block_size;
        file.read_exact_at(&mut raw, gdt)
            .map_err(|e| Error::io(path, e))?;
        let descs = raw.chunks(ds).map(|c| GroupDesc::decode(c, ds)).collect();
        Ok(Ext4Reader {
            file,
            path: path.to_path_buf(),
            offset,
            sb: s,
            block_size,
            descs,
        })
    }

    /// Volume label.
    pub fn label(&self) -> String {
        let end = self.sb.label.iter().position(|&c| c == 0).unwrap_or(16);
        String::from_utf8_lossy(&self.sb.label[..end]).into_owned()
    }

    /// Filesystem UUID.
    pub fn uuid(&self) -> uuid::Uuid {
        uuid::Uuid::from_bytes(self.sb.uuid)
    }

    /// Filesystem size in bytes.
    pub fn size_bytes(&self) -> u64 {
        self.sb.blocks_count * self.block_size
    }

    /// Block size in bytes.
    pub fn block_size(&self) -> u64 {
        self.block_size
    }

    fn read_at(&self, buf: &mut [u8], pos: u64) -> Result<()> {
        self.file
            .read_exact_at(buf, self.offset + pos)
            .map_err(|e| Error::io(&self.path, e))
    }

    fn read_block(&self, blk: u64) -> Result<Vec<u8>> {
        if blk >= self.sb.blocks_count {
            return Err(bad(format!(
                "block {blk} beyond the end ({})",
                self.sb.blocks_count
            )));
        }
        let mut b = vec![0u8; self.block_size as usize];
        self.read_at(&mut b, blk * self.block_size)?;
        Ok(b)
    }

    /// Reads the raw bytes of inode `ino`.
    fn raw_inode(&self, ino: u32) -> Result<Vec<u8>> {
        if ino == 0 || ino > self.sb.inodes_count {
            return Err(bad(format!(
                "inode {ino} out of range 1..={}",
                self.sb.inodes_count
            )));
        }
        let g = (ino - 1) / self.sb.inodes_per_group;
        let idx = u64::from((ino - 1) % self.sb.inodes_per_group);
        let d = self
            .descs
            .get(g as usize)
            .ok_or_else(|| bad(format!("inode {ino}: group {g} missing")))?;
        let isz = u64::from(self.sb.inode_size);
        let pos = d
            .inode_table
            .checked_mul(self.block_size)
            .and_then(|p| p.checked_add(idx * isz))
            .ok_or_else(|| bad("inode table offset overflows"))?;
        if pos + isz > self.size_bytes() {
            return Err(bad(format!("inode {ino} lies beyond the filesystem")));
        }
        let mut b = vec![0u8; isz as usize];
        self.read_at(&mut b, pos)?;
        Ok(b)
    }

    /// Reads inode `ino` and its extended attributes.
    pub fn inode(&self, ino: u32) -> Result<(Inode, Vec<Xattr>)> {
        let raw = self.raw_inode(ino)?;
        let i = Inode::decode(&raw);
        let mut attrs = Vec::new();
        let extra = usize::from(r16(&raw, 0x80));
        let ib = 128 + extra;
        if raw.len() > 128 && ib + 4 <= raw.len() && r32(&raw, ib) == xattr::MAGIC {
            attrs.extend(xattr::parse_list(&raw, ib + 4, ib + 4));
        }
        if i.file_acl != 0 {
            let b = self.read_block(i.file_acl)?;
            if r32(&b, 0) == xattr::MAGIC {
                attrs.extend(xattr::parse_list(&b, 32, 0));
            }
        }
        let attrs = attrs
            .into_iter()
            .map(|(name, value)| Xattr { name, value })
            .collect();
        Ok((i, attrs))
    }

    /// The extents of an inode, in logical order.
    pub fn extents(&self, i: &Inode) -> Result<Vec<extent::Extent>> {
        if i.flags & FL_INLINE_DATA != 0 {
            return Err(bad("inline data is not supported"));
        }
        if i.flags & FL_EXTENTS == 0 {
            return Err(bad("block-mapped (non-extent) files are not supported"));
        }
        let mut out = Vec::new();
        // a corrupt tree may point many times at the same blocks: never read more tree
        // blocks than the filesystem has
        let mut budget = usize::try_from(self.sb.blocks_count)
            .unwrap_or(usize::MAX)
            .min(1_000_000);
        self.walk(&i.block, 6, &mut out, &mut budget)?;
        Ok(out)
    }

    fn walk(
        &self,
        b: &[u8],
        max_depth: u16,
        out: &mut Vec<extent::Extent>,
        budget: &mut usize,
    ) -> Result<()> {
        let (depth, node) = extent::parse(b).ok_or_else(|| bad("bad extent header"))?;
        if depth >= max_depth {
            return Err(bad("extent tree too deep"));
        }
        match node {
            Node::Leaf(v) => {
                for (e, uninit) in v {
                    if u64::from(e.len) + e.physical > self.sb.blocks_count {
                        return Err(bad(format!(
                            "extent at block {} beyond the end",
                            e.physical
                        )));
                    }
                    // uninitialised extents read as zeros: leave them as holes
                    if !uninit {
                        out.push(e);
                    }
                }
            }
            Node::Index(children) => {
                for c in children {
                    *budget = budget
                        .checked_sub(1)
                        .ok_or_else(|| bad("extent tree too large"))?;
                    let blk = self.read_block(c)?;
                    self.walk(&blk, depth, out, budget)?;
                }
            }
        }
        Ok(())
    }

    /// Data ranges of a regular file: (offset in the file, offset in the image file, length).
    pub fn file_ranges(&self, i: &Inode) -> Result<Vec<SourceRange>> {
        let mut v = Vec::new();
        for e in self.extents(i)? {
            let fo = u64::from(e.logical) * self.block_size;
            if fo >= i.size {
                continue;
            }
            let len = (u64::from(e.len) * self.block_size).min(i.size - fo);
            v.push(SourceRange {
                file_offset: fo,
                source_offset: self.offset + e.physical * self.block_size,
                len,
            });
        }
        v.sort_by_key(|r| r.file_offset);
        for w in v.windows(2) {
            if w[0].file_offset + w[0].len > w[1].file_offset {
                return Err(bad("overlapping extents"));
            }
        }
        Ok(v)
    }

    /// Reads a whole file into memory (for small files such as configuration).
    pub fn read_file(&self, ino: u32) -> Result<Vec<u8>> {
        let (i, _) = self.inode(ino)?;
        if i.size > 1 << 30 {
            return Err(bad(format!(
                "inode {ino}: {} bytes is too large to read into memory",
                i.size
            )));
        }
        let mut out = vec![0u8; i.size as usize];
        for r in self.file_ranges(&i)? {
            let s = r.file_offset as usize;
            self.file
                .read_exact_at(&mut out[s..s + r.len as usize], r.source_offset)
                .map_err(|e| Error::io(&self.path, e))?;
        }
        Ok(out)
    }

    fn symlink_target(&self, i: &Inode) -> Result<Vec<u8>> {
        let len = i.size as usize;
        if len < 60 && i.flags & FL_EXTENTS == 0 && i.flags & FL_INLINE_DATA == 0 {
            return Ok(i.block[..len].to_vec());
        }
        if len >= self.block_size as usize {
            return Err(bad("symlink target longer than a block"));
        }
        let ex = self.extents(i)?;
        let e = ex
            .first()
            .ok_or_else(|| bad("slow symlink without a block"))?;
        let b = self.read_block(e.physical)?;
        Ok(b[..len].to_vec())
    }

    /// Lists a directory: (name, inode) pairs without `.` and `..`.
    pub fn read_dir(&self, i: &Inode) -> Result<Vec<(Vec<u8>, u32)>> {
        let mut budget = self.sb.blocks_count;
        self.read_dir_budget(i, &mut budget)
    }

    /// [`Self::read_dir`] reading at most `budget` blocks (shared across a whole walk, so
    /// corrupt directories sharing blocks cannot make it read more than the filesystem).
    fn read_dir_budget(&self, i: &Inode, budget: &mut u64) -> Result<Vec<(Vec<u8>, u32)>> {
        let bs = self.block_size as usize;
        let mut out = Vec::new();
        for e in self.extents(i)? {
            for k in 0..u64::from(e.len) {
                if (u64::from(e.logical) + k) * self.block_size >= i.size {
                    break;
                }
                *budget = budget
                    .checked_sub(1)
                    .ok_or_else(|| bad("directories hold more blocks than the filesystem"))?;
                let b = self.read_block(e.physical + k)?;
                let mut pos = 0usize;
                while pos + 8 <= bs {
                    let ino = r32(&b, pos);
                    let rec = usize::from(r16(&b, pos + 4));
                    let nlen = usize::from(r8(&b, pos + 6));
                    if rec < 8 || pos + rec > bs || nlen + 8 > rec {
                        return Err(bad(format!(
                            "bad directory entry at byte {pos} of block {}",
                            e.physical + k
                        )));
                    }
                    if ino != 0 {
                        let name = &b[pos + 8..pos + 8 + nlen];
                        if name != b"." && name != b".." && !name.is_empty() {
                            out.push((name.to_vec(), ino));
                            if out.len() > MAX_ENTRIES {
                                return Err(bad("too many directory entries"));
                            }
                        }
                    }
                    pos += rec;
                }
            }
        }
        Ok(out)
    }

    /// Lists the whole tree below the root (excluding the root itself and `/lost+found`),
    /// directories before their contents, names sorted.
    pub fn entries(&self) -> Result<Vec<ReadEntry>> {
        let mut out = Vec::new();
        let mut first_path: BTreeMap<u32, PathBuf> = BTreeMap::new();
        let mut visited: BTreeSet<u32> = BTreeSet::new();
        let mut budget = self.sb.blocks_count;
        let mut stack: Vec<(PathBuf, u32)> = vec![(PathBuf::new(), 2)];
        while let Some((dpath, dino)) = stack.pop() {
            if !visited.insert(dino) {
                return Err(bad(format!("directory inode {dino} reached twice")));
            }
            let (di, _) = self.inode(dino)?;
            if di.mode & mode::TYPE != mode::DIR {
                return Err(bad(format!("inode {dino} is not a directory")));
            }
            let mut kids = self.read_dir_budget(&di, &mut budget)?;
            kids.sort();
            let mut subdirs = Vec::new();
            for (name, ino) in kids {
                if dino == 2 && name == b"lost+found" {
                    continue;
                }
                let path = dpath
                    .join(<std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(&name));
                let (i, xattrs) = self.inode(ino)?;
                let meta = Meta {
                    mode: i.mode & 0o7777,
                    uid: i.uid,
                    gid: i.gid,
                    mtime: i.mtime,
                    xattrs,
                };
                let kind = match i.mode & mode::TYPE {
                    mode::DIR => {
                        subdirs.push((path.clone(), ino));
                        EntryKind::Dir
                    }
                    _ if first_path.contains_key(&ino) => {
                        EntryKind::HardLink(first_path[&ino].clone())
                    }
                    mode::REG => EntryKind::File(FileData::Ranges {
                        source: self.path.clone(),
                        size: i.size,
                        ranges: self.file_ranges(&i)?,
                    }),
                    mode::LNK => EntryKind::Symlink(self.symlink_target(&i)?),
                    mode::CHR | mode::BLK => {
                        let (a, b) = (r32(&i.block, 0), r32(&i.block, 4));
                        let (major, minor) = if a != 0 {
                            ((a >> 8) & 0xff, a & 0xff)
                        } else {
                            ((b >> 8) & 0xfff, (b & 0xff) | ((b >> 12) & 0xfff00))
                        };
                        if i.mode & mode::TYPE == mode::CHR {
                            EntryKind::CharDevice { major, minor }
                        } else {
                            EntryKind::BlockDevice { major, minor }
                        }
                    }
                    mode::FIFO => EntryKind::Fifo,
                    mode::SOCK => EntryKind::Socket,
                    t => return Err(bad(format!("inode {ino}: unknown file type {t:#o}"))),
                };
                if !matches!(kind, EntryKind::Dir | EntryKind::HardLink(_)) && i.links > 1 {
                    first_path.insert(ino, path.clone());
                }
                out.push(ReadEntry {
                    path,
                    ino,
                    kind,
                    meta,
                    size: i.size,
                });
                if out.len() > MAX_ENTRIES {
                    return Err(bad("too many entries"));
                }
            }
            stack.extend(subdirs.into_iter().rev());
        }
        Ok(out)
    }

    /// Verifies the checksum of inode `ino` (metadata_csum filesystems).
    pub fn inode_checksum_ok(&self, ino: u32) -> Result<bool> {
        if self.sb.ro_compat & sb::RO_METADATA_CSUM == 0 {
            return Ok(true);
        }
        let mut raw = self.raw_inode(ino)?;
        let want = u32::from(r16(&raw, 0x7C)) | (u32::from(r16(&raw, 0x82)) << 16);
        let seed = if self.sb.incompat & sb::INCOMPAT_CSUM_SEED != 0 {
            self.sb.checksum_seed
        } else {
            super::csum::fs_seed(&self.sb.uuid)
        };
        let generation = r32(&raw, 0x64);
        inode::seal(&mut raw, super::csum::inode_seed(seed, ino, generation));
        let got = u32::from(r16(&raw, 0x7C)) | (u32::from(r16(&raw, 0x82)) << 16);
        Ok(want == got)
    }
}
