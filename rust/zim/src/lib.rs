//! A pure-Rust reader for ZIM archives, the offline-content format of Kiwix.
//!
//! Format reference: <https://wiki.openzim.org/wiki/ZIM_file_format>. Supported: major
//! versions 5 and 6, the old namespaced layout (`A/`, `I/`, `M/`, `-/`) and the newer
//! `C` namespace layout (6.1+), uncompressed, xz and zstd clusters, extended (64-bit)
//! blob offsets, redirects, metadata, the main page and MD5 verification.
//!
//! The reader is built for hostile input: every position and size read from the file is
//! checked against the file size before use, allocations are bounded by the data that
//! is actually present or by [`Limits`], and redirect chains are cut after
//! [`Limits::max_redirects`] hops. Nothing is loaded eagerly beyond the header and the
//! MIME list, so opening a multi-GiB archive is cheap.
//!
//! ```no_run
//! let zim = nixspot_zim::Archive::open("wikipedia.zim")?;
//! let meta = zim.metadata_summary()?;
//! println!("{:?} has {} articles", meta.title, zim.article_count()?);
//! let page = zim.read("A/main.html")?;
//! # Ok::<(), nixspot_zim::Error>(())
//! ```

#![warn(missing_docs)]

mod error;
mod source;

use std::cmp::Ordering;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;

use md5::{Digest, Md5};

pub use error::{Error, Result};
pub use source::ReadAt;
use source::Section;

/// `ZIM\x04` read as a little-endian `u32`.
const MAGIC: u32 = 72_173_914;
/// Size of the fixed header.
const HEADER_LEN: u64 = 80;
/// A dirent's first read; most dirents (8–16 fixed bytes plus two short strings) fit.
const DIRENT_FIRST_READ: u64 = 512;
/// Hard cap on one directory entry, so a missing NUL cannot make us read the whole file.
const DIRENT_MAX: u64 = 64 * 1024;
/// Hard cap on the MIME type list.
const MIME_LIST_MAX: u64 = 1024 * 1024;
/// Mime index of a redirect entry.
const MIME_REDIRECT: u16 = 0xffff;
/// Mime index of a link-target entry (obsolete).
const MIME_LINK_TARGET: u16 = 0xfffe;
/// Mime index of a deleted entry (obsolete).
const MIME_DELETED: u16 = 0xfffd;

/// The fixed 80-byte header at the start of every ZIM archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// Major format version (5 or 6).
    pub major_version: u16,
    /// Minor format version; 6.1+ uses the `C` namespace layout.
    pub minor_version: u16,
    /// The archive's UUID.
    pub uuid: [u8; 16],
    /// Number of directory entries.
    pub entry_count: u32,
    /// Number of clusters.
    pub cluster_count: u32,
    /// Position of the URL-ordered pointer list (`entry_count` × u64).
    pub url_ptr_pos: u64,
    /// Position of the title-ordered index list (`entry_count` × u32).
    pub title_ptr_pos: u64,
    /// Position of the cluster pointer list (`cluster_count` × u64).
    pub cluster_ptr_pos: u64,
    /// Position of the MIME type list.
    pub mime_list_pos: u64,
    /// Index of the main page entry, if the header names one.
    pub main_page: Option<u32>,
    /// Index of the layout page entry (obsolete), if any.
    pub layout_page: Option<u32>,
    /// Position of the 16-byte MD5 checksum (always the last 16 bytes of the file).
    pub checksum_pos: u64,
}

/// How entries are organised into namespaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// Before 6.1: articles in `A`, images in `I`, metadata in `M`, layout in `-`.
    Namespaced,
    /// 6.1 and later: all user content in `C`, metadata in `M`, well-known entries in `W`.
    ContentNamespace,
}

/// The largest metadata value [`Archive::metadata`] returns: titles and descriptions are
/// a few hundred bytes, `LongDescription` 4000 characters at most.
pub const METADATA_MAX_BYTES: u64 = 64 << 10;

/// The largest illustration [`Archive::illustration`] returns (a 48 px PNG is a few KiB).
pub const ILLUSTRATION_MAX_BYTES: u64 = 1 << 20;

/// The most bytes decompressed to reach a metadata value or an illustration: libzim
/// writes clusters of about 2 MiB, so this leaves room while a hostile cluster costs
/// bounded work.
pub const METADATA_MAX_DECOMPRESSED: u64 = 32 << 20;

/// The most memory the xz decoder may take to read a metadata value or an
/// illustration ([`Limits::max_xz_dictionary`]): libzim compresses with xz's preset 9,
/// whose 64 MiB dictionary plus the decoder's state fit.
pub const METADATA_MAX_XZ_DICTIONARY: u64 = 72 << 20;

/// Safety limits applied to sizes read from the archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Largest blob (entry content) returned in memory.
    pub max_blob_size: u64,
    /// Largest number of decompressed bytes processed to reach one blob in a compressed
    /// cluster (offset table plus preceding blobs plus the blob).
    pub max_decompressed: u64,
    /// Largest LZMA2 dictionary accepted in xz clusters, in bytes.
    pub max_xz_dictionary: u64,
    /// Most redirects followed before giving up.
    pub max_redirects: u32,
}

impl Limits {
    /// These limits, lowered for a read that needs at most `blob` bytes and
    /// [`METADATA_MAX_DECOMPRESSED`] bytes of cluster data.
    fn for_small_blob(&self, blob: u64) -> Limits {
        Limits {
            max_blob_size: self.max_blob_size.min(blob),
            max_decompressed: self.max_decompressed.min(METADATA_MAX_DECOMPRESSED),
            max_xz_dictionary: self.max_xz_dictionary.min(METADATA_MAX_XZ_DICTIONARY),
            max_redirects: self.max_redirects,
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_blob_size: 1 << 30,
            max_decompressed: 4 << 30,
            max_xz_dictionary: 256 << 20,
            max_redirects: 50,
        }
    }
}

/// What a directory entry points to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryKind {
    /// Data stored in blob `blob` of cluster `cluster`, of MIME type `mime_index`.
    Content {
        /// Index into [`Archive::mime_types`].
        mime_index: u16,
        /// Cluster number.
        cluster: u32,
        /// Blob number inside the cluster.
        blob: u32,
    },
    /// Another entry, by URL-order index.
    Redirect {
        /// Index of the target entry.
        target: u32,
    },
    /// An obsolete link-target entry (no data).
    LinkTarget,
    /// An obsolete deleted entry (no data).
    Deleted,
}

/// One directory entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Index in URL order.
    pub index: u32,
    /// Namespace character (`C`, `M`, `W`, `X`, or in old archives `A`, `I`, `-`, …).
    pub namespace: char,
    /// Path inside the namespace.
    pub path: String,
    /// Title; the path when the archive stores an empty title.
    pub title: String,
    /// What the entry points to.
    pub kind: EntryKind,
}

impl Entry {
    /// `<namespace>/<path>`, the form `zimdump` and old kiwix URLs use.
    pub fn full_path(&self) -> String {
        format!("{}/{}", self.namespace, self.path)
    }

    /// Whether the entry is a redirect.
    pub fn is_redirect(&self) -> bool {
        matches!(self.kind, EntryKind::Redirect { .. })
    }
}

/// The content of an entry, after redirects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// The content entry that was read (the redirect target, for a redirect).
    pub entry: Entry,
    /// Its MIME type.
    pub mime_type: String,
    /// Its bytes.
    pub data: Vec<u8>,
}

/// The metadata offspot's dashboard and catalog use (`M/<Name>` entries).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Metadata {
    /// `Title`.
    pub title: Option<String>,
    /// `Description`.
    pub description: Option<String>,
    /// `Language`: ISO 639-3 codes, comma-separated.
    pub language: Option<String>,
    /// `Creator`.
    pub creator: Option<String>,
    /// `Publisher`.
    pub publisher: Option<String>,
    /// `Name` (e.g. `wikipedia_en_all`).
    pub name: Option<String>,
    /// `Flavour` (e.g. `maxi`, `nopic`).
    pub flavour: Option<String>,
    /// `Tags`: semicolon-separated.
    pub tags: Option<String>,
    /// `Date` (`YYYY-MM-DD`).
    pub date: Option<String>,
    /// The 48×48 PNG illustration (`Illustration_48x48@1`, or an old archive's favicon).
    pub illustration_48: Option<Vec<u8>>,
}

impl Metadata {
    /// `Language` split on commas, trimmed, empty parts dropped.
    pub fn languages(&self) -> Vec<String> {
        split_list(self.language.as_deref(), ',')
    }

    /// `Tags` split on semicolons, trimmed, empty parts dropped.
    pub fn tag_list(&self) -> Vec<String> {
        split_list(self.tags.as_deref(), ';')
    }
}

fn split_list(value: Option<&str>, sep: char) -> Vec<String> {
    value
        .unwrap_or_default()
        .split(sep)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// An open ZIM archive.
#[derive(Debug)]
pub struct Archive<R: ReadAt = File> {
    src: R,
    name: String,
    size: u64,
    header: Header,
    mime_types: Vec<String>,
    limits: Limits,
}

impl Archive<File> {
    /// Opens the archive at `path` with default [`Limits`].
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let name = path.display().to_string();
        let file = File::open(path).map_err(|source| Error::Io {
            file: name.clone(),
            offset: 0,
            source,
        })?;
        Archive::from_source(file, name, Limits::default())
    }
}

impl<R: ReadAt> Archive<R> {
    /// Opens an archive from any [`ReadAt`] source; `name` appears in error messages.
    ///
    /// Checks the header, the positions of the pointer lists and the checksum, and reads
    /// the MIME type list.
    pub fn from_source(src: R, name: impl Into<String>, limits: Limits) -> Result<Self> {
        let name = name.into();
        let size = src.size().map_err(|source| Error::Io {
            file: name.clone(),
            offset: 0,
            source,
        })?;
        let mut archive = Archive {
            src,
            name,
            size,
            header: Header {
                major_version: 0,
                minor_version: 0,
                uuid: [0; 16],
                entry_count: 0,
                cluster_count: 0,
                url_ptr_pos: 0,
                title_ptr_pos: 0,
                cluster_ptr_pos: 0,
                mime_list_pos: 0,
                main_page: None,
                layout_page: None,
                checksum_pos: 0,
            },
            mime_types: Vec::new(),
            limits,
        };
        archive.header = archive.read_header()?;
        archive.mime_types = archive.read_mime_types()?;
        Ok(archive)
    }

    fn format_err(&self, offset: u64, message: impl Into<String>) -> Error {
        Error::Format {
            file: self.name.clone(),
            offset,
            message: message.into(),
        }
    }

    /// Reads `len` bytes at `offset`, refusing ranges outside the file before reading.
    fn read_bytes(&self, offset: u64, len: u64, what: &str) -> Result<Vec<u8>> {
        match offset.checked_add(len) {
            Some(end) if end <= self.size => {}
            _ => {
                return Err(self.format_err(
                    offset,
                    format!(
                        "{what} ({len} bytes at {offset}) lies outside the {}-byte file",
                        self.size
                    ),
                ))
            }
        }
        let len = usize::try_from(len).map_err(|_| self.format_err(offset, "size overflow"))?;
        let mut buf = vec![0; len];
        self.src
            .read_exact_at(&mut buf, offset)
            .map_err(|source| Error::Io {
                file: self.name.clone(),
                offset,
                source,
            })?;
        Ok(buf)
    }

    fn read_u32(&self, offset: u64, what: &str) -> Result<u32> {
        let b = self.read_bytes(offset, 4, what)?;
        Ok(le_u32(&b, 0))
    }

    fn read_u64(&self, offset: u64, what: &str) -> Result<u64> {
        let b = self.read_bytes(offset, 8, what)?;
        Ok(le_u64(&b, 0))
    }

    fn read_header(&self) -> Result<Header> {
        if self.size < HEADER_LEN {
            return Err(self.format_err(
                0,
                format!(
                    "file is {} bytes, smaller than the {HEADER_LEN}-byte header",
                    self.size
                ),
            ));
        }
        let b = self.read_bytes(0, HEADER_LEN, "header")?;
        let magic = le_u32(&b, 0);
        if magic != MAGIC {
            return Err(self.format_err(
                0,
                format!("magic number is {magic:#010x}, expected {MAGIC:#010x} (\"ZIM\\x04\")"),
            ));
        }
        let opt = |v: u32| (v != u32::MAX).then_some(v);
        let mut uuid = [0; 16];
        uuid.copy_from_slice(b.get(8..24).unwrap_or(&[0; 16]));
        let h = Header {
            major_version: le_u16(&b, 4),
            minor_version: le_u16(&b, 6),
            uuid,
            entry_count: le_u32(&b, 24),
            cluster_count: le_u32(&b, 28),
            url_ptr_pos: le_u64(&b, 32),
            title_ptr_pos: le_u64(&b, 40),
            cluster_ptr_pos: le_u64(&b, 48),
            mime_list_pos: le_u64(&b, 56),
            main_page: opt(le_u32(&b, 64)),
            layout_page: opt(le_u32(&b, 68)),
            checksum_pos: le_u64(&b, 72),
        };
        if !(5..=6).contains(&h.major_version) {
            return Err(Error::Unsupported {
                file: self.name.clone(),
                message: format!("major version {} (supported: 5 and 6)", h.major_version),
            });
        }
        // libzim requires the checksum to be the file's last 16 bytes; anything else means
        // a truncated or tampered file.
        if h.checksum_pos.checked_add(16) != Some(self.size) {
            return Err(self.format_err(
                72,
                format!(
                    "checksum position is {}, expected {} (file size - 16)",
                    h.checksum_pos,
                    self.size.saturating_sub(16)
                ),
            ));
        }
        if h.mime_list_pos < HEADER_LEN || h.mime_list_pos >= h.checksum_pos {
            return Err(self.format_err(
                56,
                format!(
                    "MIME list position {} is outside [{HEADER_LEN}, {})",
                    h.mime_list_pos, h.checksum_pos
                ),
            ));
        }
        self.check_table(
            32,
            "URL pointer list",
            h.url_ptr_pos,
            h.entry_count,
            8,
            h.checksum_pos,
        )?;
        self.check_table(
            48,
            "cluster pointer list",
            h.cluster_ptr_pos,
            h.cluster_count,
            8,
            h.checksum_pos,
        )?;
        Ok(h)
    }

    fn check_table(
        &self,
        field: u64,
        what: &str,
        pos: u64,
        count: u32,
        width: u64,
        end: u64,
    ) -> Result<()> {
        let table_end = u64::from(count)
            .checked_mul(width)
            .and_then(|len| len.checked_add(pos));
        match table_end {
            Some(e) if pos >= HEADER_LEN && e <= end => Ok(()),
            _ => Err(self.format_err(
                field,
                format!(
                    "{what} ({count} × {width} bytes at {pos}) is not inside the file's data \
                     (bytes {HEADER_LEN}..{end})"
                ),
            )),
        }
    }

    fn read_mime_types(&self) -> Result<Vec<String>> {
        let h = &self.header;
        let start = h.mime_list_pos;
        // The list ends before whatever structure follows it; libzim relies on the same.
        let mut end = h.checksum_pos;
        let mut candidates = vec![h.url_ptr_pos, h.title_ptr_pos, h.cluster_ptr_pos];
        if h.cluster_count > 0 {
            candidates.push(self.read_u64(h.cluster_ptr_pos, "first cluster pointer")?);
        }
        for c in candidates {
            if c > start && c < end {
                end = c;
            }
        }
        let len = (end - start).min(MIME_LIST_MAX);
        let buf = self.read_bytes(start, len, "MIME type list")?;
        let mut types = Vec::new();
        let mut rest = buf.as_slice();
        loop {
            let Some(nul) = rest.iter().position(|&c| c == 0) else {
                return Err(self.format_err(
                    start,
                    format!("MIME type list has no terminating empty string within {len} bytes"),
                ));
            };
            let (s, tail) = rest.split_at(nul);
            if s.is_empty() {
                break;
            }
            let s = std::str::from_utf8(s).map_err(|_| {
                self.format_err(start, format!("MIME type {} is not UTF-8", types.len()))
            })?;
            types.push(s.to_owned());
            rest = tail.get(1..).unwrap_or_default();
        }
        Ok(types)
    }

    /// The header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The size of the archive in bytes.
    pub fn file_size(&self) -> u64 {
        self.size
    }

    /// The name used in error messages (the path for [`Archive::open`]).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The MIME types that content entries refer to by index.
    pub fn mime_types(&self) -> &[String] {
        &self.mime_types
    }

    /// Which namespace layout the archive uses (6.1+ is the `C` layout).
    pub fn layout(&self) -> Layout {
        if self.header.major_version >= 6 && self.header.minor_version >= 1 {
            Layout::ContentNamespace
        } else {
            Layout::Namespaced
        }
    }

    /// Number of directory entries.
    pub fn entry_count(&self) -> u32 {
        self.header.entry_count
    }

    /// The entry at `index` in URL order.
    pub fn entry(&self, index: u32) -> Result<Entry> {
        if index >= self.header.entry_count {
            return Err(self.format_err(
                32,
                format!(
                    "entry index {index} is out of range (archive has {} entries)",
                    self.header.entry_count
                ),
            ));
        }
        let ptr_at = self.header.url_ptr_pos + 8 * u64::from(index);
        let pos = self.read_u64(ptr_at, "URL pointer")?;
        self.read_dirent(index, pos)
    }

    /// The entry at `index` in title order.
    pub fn entry_by_title_index(&self, index: u32) -> Result<Entry> {
        let h = &self.header;
        if index >= h.entry_count {
            return Err(self.format_err(
                40,
                format!(
                    "title index {index} is out of range ({} entries)",
                    h.entry_count
                ),
            ));
        }
        self.check_table(
            40,
            "title pointer list",
            h.title_ptr_pos,
            h.entry_count,
            4,
            h.checksum_pos,
        )?;
        let url_index = self.read_u32(h.title_ptr_pos + 4 * u64::from(index), "title pointer")?;
        self.entry(url_index)
    }

    /// All entries in URL order, read lazily.
    pub fn entries(&self) -> impl Iterator<Item = Result<Entry>> + '_ {
        (0..self.header.entry_count).map(move |i| self.entry(i))
    }

    fn read_dirent(&self, index: u32, pos: u64) -> Result<Entry> {
        if pos < HEADER_LEN || pos >= self.header.checksum_pos {
            return Err(self.format_err(
                pos,
                format!("entry {index} points to {pos}, outside the file's data"),
            ));
        }
        let available = self.header.checksum_pos - pos;
        let mut len = available.min(DIRENT_FIRST_READ);
        loop {
            let buf = self.read_bytes(pos, len, "directory entry")?;
            match self.parse_dirent(index, pos, &buf)? {
                Some(entry) => return Ok(entry),
                None if len < available.min(DIRENT_MAX) => len = available.min(DIRENT_MAX),
                None => {
                    return Err(self.format_err(
                        pos,
                        format!("directory entry {index} is not terminated within {len} bytes"),
                    ))
                }
            }
        }
    }

    /// Parses a dirent from `buf`; `None` when `buf` is too short to hold all of it.
    fn parse_dirent(&self, index: u32, pos: u64, buf: &[u8]) -> Result<Option<Entry>> {
        let Some(fixed) = buf.get(..8) else {
            return Ok(None);
        };
        let mime = le_u16(fixed, 0);
        let param_len = usize::from(fixed.get(2).copied().unwrap_or(0));
        let namespace = char::from(fixed.get(3).copied().unwrap_or(0));
        let (kind, strings_at) = match mime {
            MIME_REDIRECT => match buf.get(8..12) {
                Some(b) => (
                    EntryKind::Redirect {
                        target: le_u32(b, 0),
                    },
                    12,
                ),
                None => return Ok(None),
            },
            MIME_LINK_TARGET => (EntryKind::LinkTarget, 8),
            MIME_DELETED => (EntryKind::Deleted, 8),
            mime_index => match buf.get(8..16) {
                Some(b) => (
                    EntryKind::Content {
                        mime_index,
                        cluster: le_u32(b, 0),
                        blob: le_u32(b, 4),
                    },
                    16,
                ),
                None => return Ok(None),
            },
        };
        let rest = buf.get(strings_at..).unwrap_or_default();
        let Some(path_end) = rest.iter().position(|&c| c == 0) else {
            return Ok(None);
        };
        let after_path = rest.get(path_end + 1..).unwrap_or_default();
        let Some(title_end) = after_path.iter().position(|&c| c == 0) else {
            return Ok(None);
        };
        if after_path.len() < title_end + 1 + param_len {
            return Ok(None);
        }
        let text = |bytes: &[u8], what: &str| {
            String::from_utf8(bytes.to_vec()).map_err(|_| {
                self.format_err(pos, format!("directory entry {index}: {what} is not UTF-8"))
            })
        };
        let path = text(rest.get(..path_end).unwrap_or_default(), "path")?;
        let title = text(after_path.get(..title_end).unwrap_or_default(), "title")?;
        let title = if title.is_empty() {
            path.clone()
        } else {
            title
        };
        Ok(Some(Entry {
            index,
            namespace,
            path,
            title,
            kind,
        }))
    }

    /// Index of the first entry whose (namespace, path) is not less than the given one.
    fn lower_bound(&self, namespace: u32, path: &[u8]) -> Result<u32> {
        let (mut lo, mut hi) = (0u32, self.header.entry_count);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let e = self.entry(mid)?;
            let ord = u32::from(e.namespace)
                .cmp(&namespace)
                .then_with(|| e.path.as_bytes().cmp(path));
            if ord == Ordering::Less {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        Ok(lo)
    }

    /// The entry with exactly this namespace and path, if any.
    pub fn find(&self, namespace: char, path: &str) -> Result<Option<Entry>> {
        let ns = u32::from(namespace);
        if ns > 0xff {
            return Ok(None);
        }
        let i = self.lower_bound(ns, path.as_bytes())?;
        if i >= self.header.entry_count {
            return Ok(None);
        }
        let e = self.entry(i)?;
        Ok((e.namespace == namespace && e.path == path).then_some(e))
    }

    /// The entry a reader-facing path names.
    ///
    /// In the `C` layout `path` is looked up in `C`; in the namespaced layout a bare path
    /// is looked up in `A`. Either way `N/rest` (a one-character namespace, as printed by
    /// `zimdump`) names an entry of another namespace explicitly.
    pub fn entry_by_path(&self, path: &str) -> Result<Option<Entry>> {
        let explicit = explicit_namespace(path);
        match self.layout() {
            Layout::ContentNamespace => {
                if let Some(e) = self.find('C', path)? {
                    return Ok(Some(e));
                }
                match explicit {
                    Some((ns, rest)) => self.find(ns, rest),
                    None => Ok(None),
                }
            }
            Layout::Namespaced => {
                if let Some((ns, rest)) = explicit {
                    if let Some(e) = self.find(ns, rest)? {
                        return Ok(Some(e));
                    }
                }
                self.find('A', path)
            }
        }
    }

    /// Follows redirects from `entry` to a content entry, at most
    /// [`Limits::max_redirects`] hops.
    pub fn resolve(&self, entry: Entry) -> Result<Entry> {
        let start = entry.full_path();
        let mut current = entry;
        for _ in 0..=self.limits.max_redirects {
            match current.kind {
                EntryKind::Content { .. } => return Ok(current),
                EntryKind::Redirect { target } => current = self.entry(target)?,
                EntryKind::LinkTarget | EntryKind::Deleted => {
                    return Err(Error::NoContent {
                        file: self.name.clone(),
                        path: current.full_path(),
                    })
                }
            }
        }
        Err(Error::RedirectLoop {
            file: self.name.clone(),
            path: start,
            limit: self.limits.max_redirects,
        })
    }

    /// The MIME type of a content entry.
    pub fn mime_type(&self, entry: &Entry) -> Result<&str> {
        match entry.kind {
            EntryKind::Content { mime_index, .. } => self
                .mime_types
                .get(usize::from(mime_index))
                .map(String::as_str)
                .ok_or_else(|| {
                    self.format_err(
                        self.header.mime_list_pos,
                        format!(
                            "entry {:?} has MIME index {mime_index}, but the list has {} types",
                            entry.full_path(),
                            self.mime_types.len()
                        ),
                    )
                }),
            _ => Err(Error::NoContent {
                file: self.name.clone(),
                path: entry.full_path(),
            }),
        }
    }

    /// The data and MIME type of `entry`, following redirects.
    pub fn read_entry(&self, entry: Entry) -> Result<Item> {
        let entry = self.resolve(entry)?;
        let mime_type = self.mime_type(&entry)?.to_owned();
        let EntryKind::Content { cluster, blob, .. } = entry.kind else {
            return Err(Error::NoContent {
                file: self.name.clone(),
                path: entry.full_path(),
            });
        };
        let data = self.read_blob(cluster, blob)?;
        Ok(Item {
            entry,
            mime_type,
            data,
        })
    }

    /// Reads the entry a reader-facing path names (see [`Archive::entry_by_path`]).
    pub fn read(&self, path: &str) -> Result<Item> {
        match self.entry_by_path(path)? {
            Some(e) => self.read_entry(e),
            None => Err(Error::NotFound {
                file: self.name.clone(),
                path: path.to_owned(),
            }),
        }
    }

    /// The data of `entry` (redirects followed) when it is at most `max` bytes and
    /// reached within [`METADATA_MAX_DECOMPRESSED`] bytes of its cluster; else
    /// [`Error::TooLarge`], found from the sizes actually decoded before the data is.
    fn read_small(&self, entry: Entry, max: u64) -> Result<Vec<u8>> {
        let entry = self.resolve(entry)?;
        let EntryKind::Content { cluster, blob, .. } = entry.kind else {
            return Err(Error::NoContent {
                file: self.name.clone(),
                path: entry.full_path(),
            });
        };
        let limits = self.limits.for_small_blob(max);
        self.blob(cluster, blob, true, &limits)
            .map(|(_, data)| data)
    }

    /// The raw value of metadata `M/<name>`, if present; values over
    /// [`METADATA_MAX_BYTES`] are an error.
    pub fn metadata(&self, name: &str) -> Result<Option<Vec<u8>>> {
        match self.find('M', name)? {
            Some(e) => Ok(Some(self.read_small(e, METADATA_MAX_BYTES)?)),
            None => Ok(None),
        }
    }

    /// Metadata `M/<name>` as text (invalid UTF-8 replaced), if present.
    pub fn metadata_text(&self, name: &str) -> Result<Option<String>> {
        Ok(self
            .metadata(name)?
            .map(|b| String::from_utf8_lossy(&b).into_owned()))
    }

    /// The square PNG illustration of `size` pixels (`M/Illustration_<s>x<s>@1`).
    ///
    /// For 48 px, archives of the namespaced layout that predate illustrations fall back
    /// to their favicon (`-/favicon`, then `I/favicon.png`), as libzim does. Images over
    /// [`ILLUSTRATION_MAX_BYTES`] are an error.
    pub fn illustration(&self, size: u32) -> Result<Option<Vec<u8>>> {
        if let Some(e) = self.find('M', &format!("Illustration_{size}x{size}@1"))? {
            return Ok(Some(self.read_small(e, ILLUSTRATION_MAX_BYTES)?));
        }
        if size == 48 && self.layout() == Layout::Namespaced {
            for (ns, path) in [('-', "favicon"), ('I', "favicon.png")] {
                if let Some(e) = self.find(ns, path)? {
                    return Ok(Some(self.read_small(e, ILLUSTRATION_MAX_BYTES)?));
                }
            }
        }
        Ok(None)
    }

    /// Reads the metadata offspot uses, in one call.
    pub fn metadata_summary(&self) -> Result<Metadata> {
        Ok(Metadata {
            title: self.metadata_text("Title")?,
            description: self.metadata_text("Description")?,
            language: self.metadata_text("Language")?,
            creator: self.metadata_text("Creator")?,
            publisher: self.metadata_text("Publisher")?,
            name: self.metadata_text("Name")?,
            flavour: self.metadata_text("Flavour")?,
            tags: self.metadata_text("Tags")?,
            date: self.metadata_text("Date")?,
            illustration_48: self.illustration(48)?,
        })
    }

    /// The main page, redirects resolved: the header's main page, else `W/mainPage`.
    pub fn main_page(&self) -> Result<Option<Entry>> {
        let entry = match self.header.main_page {
            Some(i) => Some(self.entry(i)?),
            None => self.find('W', "mainPage")?,
        };
        entry.map(|e| self.resolve(e)).transpose()
    }

    /// Number of articles, as libzim counts them: entries of namespace `A` in the
    /// namespaced layout; in the `C` layout the size of the front-article listing
    /// (`X/listing/titleOrdered/v1`), else the number of `C` entries.
    pub fn article_count(&self) -> Result<u64> {
        let count_ns = |ns: char| -> Result<u64> {
            let c = u32::from(ns);
            Ok(u64::from(
                self.lower_bound(c + 1, b"")? - self.lower_bound(c, b"")?,
            ))
        };
        match self.layout() {
            Layout::Namespaced => count_ns('A'),
            Layout::ContentNamespace => match self.find('X', "listing/titleOrdered/v1")? {
                Some(e) => {
                    let e = self.resolve(e)?;
                    match e.kind {
                        EntryKind::Content { cluster, blob, .. } => {
                            Ok(self.blob_size(cluster, blob)? / 4)
                        }
                        _ => count_ns('C'),
                    }
                }
                None => count_ns('C'),
            },
        }
    }

    fn cluster_info(&self, cluster: u32) -> Result<(u64, Compression, u64)> {
        if cluster >= self.header.cluster_count {
            return Err(self.format_err(
                48,
                format!(
                    "cluster {cluster} is out of range (archive has {} clusters)",
                    self.header.cluster_count
                ),
            ));
        }
        let pos = self.read_u64(
            self.header.cluster_ptr_pos + 8 * u64::from(cluster),
            "cluster pointer",
        )?;
        if pos < HEADER_LEN || pos >= self.header.checksum_pos {
            return Err(self.format_err(
                pos,
                format!("cluster {cluster} starts at {pos}, outside the file's data"),
            ));
        }
        let info = self.read_bytes(pos, 1, "cluster info byte")?;
        let info = info.first().copied().unwrap_or(0);
        let offset_size = if info & 0x10 != 0 { 8 } else { 4 };
        let compression = match info & 0x0f {
            0 | 1 => Compression::None,
            4 => Compression::Xz,
            5 => Compression::Zstd,
            2 | 3 => {
                return Err(Error::Unsupported {
                    file: self.name.clone(),
                    message: format!(
                        "cluster {cluster} at byte {pos} uses {} compression (obsolete)",
                        if info & 0x0f == 2 { "zlib" } else { "bzip2" }
                    ),
                })
            }
            other => {
                return Err(self.format_err(
                    pos,
                    format!("cluster {cluster} has unknown compression type {other}"),
                ))
            }
        };
        Ok((pos, compression, offset_size))
    }

    /// Reads blob `blob` of cluster `cluster`.
    pub fn read_blob(&self, cluster: u32, blob: u32) -> Result<Vec<u8>> {
        self.blob(cluster, blob, true, &self.limits)
            .map(|(_, data)| data)
    }

    /// The size of blob `blob` of cluster `cluster`, reading only the offset table.
    pub fn blob_size(&self, cluster: u32, blob: u32) -> Result<u64> {
        self.blob(cluster, blob, false, &self.limits)
            .map(|(size, _)| size)
    }

    fn blob(
        &self,
        cluster: u32,
        blob: u32,
        want_data: bool,
        limits: &Limits,
    ) -> Result<(u64, Vec<u8>)> {
        let (pos, compression, osz) = self.cluster_info(cluster)?;
        let data_pos = pos + 1;
        let ctx = BlobCtx {
            archive_name: &self.name,
            cluster,
            blob,
            pos,
            osz,
            limits,
            want_data,
        };
        match compression {
            Compression::None => self.uncompressed_blob(&ctx, data_pos),
            Compression::Zstd => {
                let section = Section {
                    src: &self.src,
                    pos: data_pos,
                    end: self.header.checksum_pos,
                };
                let mut rd = ruzstd::decoding::StreamingDecoder::new(BufReader::new(section))
                    .map_err(|e| {
                        self.format_err(pos, format!("cluster {cluster}: bad zstd frame: {e}"))
                    })?;
                ctx.extract(&mut rd)
            }
            Compression::Xz => {
                let section = Section {
                    src: &self.src,
                    pos: data_pos,
                    end: self.header.checksum_pos,
                };
                let mem_kb = u32::try_from(limits.max_xz_dictionary / 1024).unwrap_or(u32::MAX);
                let mut rd =
                    lzma_rust2::XzReader::new_mem_limit(BufReader::new(section), false, mem_kb);
                ctx.extract(&mut rd)
            }
        }
    }

    /// Blob lookup in an uncompressed cluster: three offsets read directly, so blob
    /// 100 000 of an image cluster costs no more than blob 0.
    fn uncompressed_blob(&self, ctx: &BlobCtx<'_>, data_pos: u64) -> Result<(u64, Vec<u8>)> {
        let data_len = self.header.checksum_pos - data_pos;
        let read_off = |i: u64| -> Result<u64> {
            let b = self.read_bytes(data_pos + i * ctx.osz, ctx.osz, "blob offset")?;
            Ok(le_u64(&b, 0))
        };
        let first = read_off(0)?;
        if first < ctx.osz || first % ctx.osz != 0 || first > data_len {
            return Err(ctx.err(format!(
                "first blob offset {first} is not a non-zero multiple of {} within the \
                 {data_len} bytes left in the file",
                ctx.osz
            )));
        }
        let blob = u64::from(ctx.blob);
        let blob_count = first / ctx.osz - 1;
        if blob >= blob_count {
            return Err(ctx.err(format!(
                "blob {blob} is out of range (cluster has {blob_count} blobs)"
            )));
        }
        let start = read_off(blob)?;
        let end = read_off(blob + 1)?;
        if start < first || end < start || end > data_len {
            return Err(ctx.err(format!(
                "blob {blob} spans offsets {start}..{end}, outside {first}..{data_len} (the \
                 cluster's data area)"
            )));
        }
        let size = end - start;
        if size > ctx.limits.max_blob_size {
            return Err(Error::TooLarge {
                file: self.name.clone(),
                what: format!("blob {blob} of cluster {}", ctx.cluster),
                size,
                limit: ctx.limits.max_blob_size,
            });
        }
        if !ctx.want_data {
            return Ok((size, Vec::new()));
        }
        Ok((size, self.read_bytes(data_pos + start, size, "blob")?))
    }

    /// The MD5 checksum stored in the archive's last 16 bytes.
    pub fn stored_checksum(&self) -> Result<[u8; 16]> {
        let b = self.read_bytes(self.header.checksum_pos, 16, "checksum")?;
        let mut sum = [0; 16];
        sum.copy_from_slice(&b);
        Ok(sum)
    }

    /// Computes the MD5 of everything before the checksum and compares it with the stored
    /// one; reads the whole file, in 1 MiB steps.
    pub fn verify_checksum(&self) -> Result<()> {
        let expected = self.stored_checksum()?;
        let mut md5 = Md5::new();
        let mut pos = 0;
        let end = self.header.checksum_pos;
        while pos < end {
            let n = (end - pos).min(1 << 20);
            md5.update(self.read_bytes(pos, n, "archive data")?);
            pos += n;
        }
        let actual: [u8; 16] = md5.finalize().into();
        if actual == expected {
            Ok(())
        } else {
            Err(Error::ChecksumMismatch {
                file: self.name.clone(),
                expected: hex(&expected),
                actual: hex(&actual),
            })
        }
    }
}

/// `N/rest` with a one-character namespace `N`.
fn explicit_namespace(path: &str) -> Option<(char, &str)> {
    let mut chars = path.chars();
    let ns = chars.next()?;
    let rest = chars.as_str().strip_prefix('/')?;
    Some((ns, rest))
}

#[derive(Debug, Clone, Copy)]
enum Compression {
    None,
    Xz,
    Zstd,
}

/// Everything needed to pull one blob out of a (decompressed) cluster stream.
struct BlobCtx<'a> {
    archive_name: &'a str,
    cluster: u32,
    blob: u32,
    pos: u64,
    osz: u64,
    limits: &'a Limits,
    want_data: bool,
}

impl BlobCtx<'_> {
    fn err(&self, message: String) -> Error {
        Error::Format {
            file: self.archive_name.to_owned(),
            offset: self.pos,
            message: format!("cluster {}: {message}", self.cluster),
        }
    }

    fn io_err(&self, e: io::Error, what: &str) -> Error {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            self.err(format!("data ends while reading {what}"))
        } else {
            self.err(format!("cannot decode {what}: {e}"))
        }
    }

    fn read_offset(&self, rd: &mut dyn Read) -> Result<u64> {
        let mut b = [0u8; 8];
        let slot = b.get_mut(..self.osz as usize).unwrap_or_default();
        rd.read_exact(slot)
            .map_err(|e| self.io_err(e, "the offset table"))?;
        Ok(le_u64(&b, 0))
    }

    /// Reads the offset table up to the blob, then (optionally) the blob, consuming the
    /// stream sequentially so compressed clusters are never held whole in memory.
    /// The stream is bounded by [`Limits::max_decompressed`].
    fn extract(&self, rd: &mut dyn Read) -> Result<(u64, Vec<u8>)> {
        let limit = self.limits.max_decompressed;
        let first = self.read_offset(rd)?;
        if first < self.osz || first % self.osz != 0 {
            return Err(self.err(format!(
                "first blob offset {first} is not a non-zero multiple of {}",
                self.osz
            )));
        }
        if first > limit {
            return Err(self.err(format!(
                "offset table of {first} bytes exceeds the {limit} bytes available"
            )));
        }
        let blob_count = first / self.osz - 1;
        let blob = u64::from(self.blob);
        if blob >= blob_count {
            return Err(self.err(format!(
                "blob {blob} is out of range (cluster has {blob_count} blobs)"
            )));
        }
        // Offsets 1..=blob+1, checking they never go backwards.
        let mut prev = first;
        let mut start = first;
        for i in 1..=blob + 1 {
            let off = self.read_offset(rd)?;
            if off < prev {
                return Err(self.err(format!(
                    "blob offset {i} is {off}, smaller than the previous offset {prev}"
                )));
            }
            // The blob's size, from offsets decoded (not trusted), before any of its
            // data is: a too large blob is refused without decompressing it.
            if i == blob + 1 && off - start > self.limits.max_blob_size {
                return Err(Error::TooLarge {
                    file: self.archive_name.to_owned(),
                    what: format!("blob {} of cluster {}", self.blob, self.cluster),
                    size: off - start,
                    limit: self.limits.max_blob_size,
                });
            }
            if off > limit {
                return Err(Error::TooLarge {
                    file: self.archive_name.to_owned(),
                    what: format!("cluster {} up to blob {}", self.cluster, i - 1),
                    size: off,
                    limit,
                });
            }
            if i == blob {
                start = off;
            }
            prev = off;
        }
        let end = prev;
        let size = end - start;
        if size > self.limits.max_blob_size {
            return Err(Error::TooLarge {
                file: self.archive_name.to_owned(),
                what: format!("blob {} of cluster {}", self.blob, self.cluster),
                size,
                limit: self.limits.max_blob_size,
            });
        }
        if !self.want_data {
            return Ok((size, Vec::new()));
        }
        let consumed = (blob + 2) * self.osz;
        let skip = start - consumed;
        let skipped = io::copy(&mut rd.take(skip), &mut io::sink())
            .map_err(|e| self.io_err(e, "the preceding blobs"))?;
        if skipped != skip {
            return Err(self.err(format!(
                "data ends at {} bytes, before blob {blob} at offset {start}",
                consumed + skipped
            )));
        }
        let mut data = Vec::new();
        rd.take(size)
            .read_to_end(&mut data)
            .map_err(|e| self.io_err(e, "the blob"))?;
        if data.len() as u64 != size {
            return Err(self.err(format!(
                "blob {blob} should be {size} bytes, the data ends after {}",
                data.len()
            )));
        }
        Ok((size, data))
    }
}

fn le_u16(b: &[u8], at: usize) -> u16 {
    let mut a = [0; 2];
    if let Some(s) = b.get(at..at + 2) {
        a.copy_from_slice(s);
    }
    u16::from_le_bytes(a)
}

fn le_u32(b: &[u8], at: usize) -> u32 {
    let mut a = [0; 4];
    if let Some(s) = b.get(at..at + 4) {
        a.copy_from_slice(s);
    }
    u32::from_le_bytes(a)
}

/// Reads a little-endian u64; shorter slices (4-byte offsets) are zero-extended.
fn le_u64(b: &[u8], at: usize) -> u64 {
    let mut a = [0; 8];
    let tail = b.get(at..).unwrap_or_default();
    let n = tail.len().min(8);
    if let (Some(dst), Some(src)) = (a.get_mut(..n), tail.get(..n)) {
        dst.copy_from_slice(src);
    }
    u64::from_le_bytes(a)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
