//! Expansion of recipe archives (`tar`, `gztar`, `bztar`, `xztar`, `zip`) into ext4
//! entries, with image-creator's safety rules.
//!
//! Nothing is extracted file by file: an uncompressed tar is referenced in place (each
//! member's bytes are a range of the tar), a compressed tar is first decompressed into one
//! scratch file, and zip members are decompressed back to back into one scratch blob. The
//! ext4 writer then copies those ranges straight into the image.

use nixspot_fs::ext4::{Entry, EntryKind, FileData, Meta, SourceRange};
use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::FileExt;
use std::path::{Component, Path, PathBuf};

/// Names image-creator deletes after expanding an archive (OS clutter).
const CLUTTER: &[&str] = &["__MACOSX", ".DS_Store", "Thumbs.db", "desktop.ini"];

/// Links followed while resolving one link target before giving up (Linux's limit).
const MAX_LINK_HOPS: u32 = 40;

/// The longest symlink target ext4 (and Linux) takes.
const MAX_LINK_LEN: usize = 4095;

// File type bits of a Unix mode, as zip's external attributes carry them.
const S_IFMT: u32 = 0o170_000;
const S_IFSOCK: u32 = 0o140_000;
const S_IFLNK: u32 = 0o120_000;
const S_IFBLK: u32 = 0o060_000;
const S_IFDIR: u32 = 0o040_000;
const S_IFCHR: u32 = 0o020_000;
const S_IFIFO: u32 = 0o010_000;

/// An archive format, as recipes name them in `via`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `tar`: an uncompressed tar.
    Tar,
    /// `gztar`: a gzip-compressed tar.
    Gztar,
    /// `bztar`: a bzip2-compressed tar.
    Bztar,
    /// `xztar`: an xz-compressed tar.
    Xztar,
    /// `zip`.
    Zip,
}

/// Why an archive could not be expanded.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    /// Reading or decompressing failed.
    #[error("{archive}: {source}")]
    Io {
        /// The archive.
        archive: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
    /// A zip archive is malformed.
    #[error("{archive}: invalid zip archive: {message}")]
    Zip {
        /// The archive.
        archive: PathBuf,
        /// What the zip reader said.
        message: String,
    },
    /// A member would land or point outside the target directory, or is something a
    /// data partition must not hold (device nodes, FIFOs, NUL in names).
    #[error("{archive}: member '{member}' {reason}; refusing to expand it")]
    Unsafe {
        /// The archive.
        archive: PathBuf,
        /// The member's name as stored (control characters escaped).
        member: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A member's header is inconsistent (e.g. a sparse map that does not fit).
    #[error("{archive}: member '{member}': {message}")]
    Invalid {
        /// The archive.
        archive: PathBuf,
        /// The member's name (control characters escaped).
        member: String,
        /// What is wrong.
        message: String,
    },
}

/// The entries of an expanded archive and their total size.
#[derive(Debug)]
pub struct Expanded {
    /// Entries with paths under the target directory, sorted by path.
    pub entries: Vec<Entry>,
    /// Sum of regular file sizes (image-creator's expanded size).
    pub content_size: u64,
}

/// Expands `archive` (of format `via`) into entries under `target` (a path inside the
/// filesystem, e.g. `contents/wikifundi`). Decompressed data goes to a new file in
/// `scratch_dir`, which must outlive the returned entries.
pub fn expand(
    archive: &Path,
    via: Format,
    target: &Path,
    scratch_dir: &Path,
) -> Result<Expanded, ArchiveError> {
    let io_err = |source| ArchiveError::Io {
        archive: archive.to_path_buf(),
        source,
    };
    let open = || File::open(archive).map_err(io_err);
    match via {
        Format::Tar => expand_tar(archive, archive, target),
        Format::Gztar | Format::Bztar | Format::Xztar => {
            let input = BufReader::new(open()?);
            let decoder: Box<dyn Read> = match via {
                Format::Gztar => Box::new(flate2::read::MultiGzDecoder::new(input)),
                Format::Bztar => Box::new(bzip2::read::MultiBzDecoder::new(input)),
                _ => Box::new(xz2::read::XzDecoder::new_multi_decoder(input)),
            };
            let tar_path = scratch_path(scratch_dir, archive, "tar");
            copy_to_new_file(decoder, &tar_path).map_err(io_err)?;
            expand_tar(archive, &tar_path, target)
        }
        Format::Zip => expand_zip(archive, target, scratch_dir),
    }
}

/// A scratch file name unique to this archive (its path hashed), so several archives
/// can be expanded into the same scratch directory.
fn scratch_path(scratch_dir: &Path, archive: &Path, ext: &str) -> PathBuf {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(archive.as_os_str().as_encoded_bytes());
    let name: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    scratch_dir.join(format!("expand-{name}.{ext}"))
}

fn copy_to_new_file(mut reader: impl Read, path: &Path) -> io::Result<u64> {
    let mut out = BufWriter::with_capacity(1 << 20, File::create(path)?);
    let n = io::copy(&mut reader, &mut out)?;
    out.flush()?;
    Ok(n)
}

/// Where a member goes: its normalised relative path, or `None` for clutter to drop.
fn member_path(archive: &Path, name: &str) -> Result<Option<PathBuf>, ArchiveError> {
    let unsafe_member = |reason| unsafe_member(archive, name, reason);
    // A NUL would end the name early in any C string holding it (e2fsck calls the
    // result illegal characters); a name cannot hold `/` once split into components.
    if name.contains('\0') {
        return Err(unsafe_member("has a NUL byte in its name"));
    }
    let mut out = PathBuf::new();
    for component in Path::new(name).components() {
        match component {
            Component::Normal(part) => {
                if CLUTTER.iter().any(|c| part == *c) || part.to_string_lossy().ends_with(".lnk") {
                    return Ok(None);
                }
                out.push(part);
            }
            Component::CurDir => {}
            Component::ParentDir => return Err(unsafe_member("contains '..'")),
            Component::RootDir | Component::Prefix(_) => {
                return Err(unsafe_member("has an absolute path"))
            }
        }
    }
    Ok(Some(out))
}

fn unsafe_member(archive: &Path, member: &str, reason: &'static str) -> ArchiveError {
    ArchiveError::Unsafe {
        archive: archive.to_path_buf(),
        member: member.escape_debug().to_string(),
        reason,
    }
}

fn invalid(archive: &Path, member: &str, message: impl Into<String>) -> ArchiveError {
    ArchiveError::Invalid {
        archive: archive.to_path_buf(),
        member: member.escape_debug().to_string(),
        message: message.into(),
    }
}

/// A symlink target as stored, checked on its own: the whole-tree check comes once
/// every member is known ([`check_links`]).
fn link_target(archive: &Path, member: &str, target: Vec<u8>) -> Result<Vec<u8>, ArchiveError> {
    if target.contains(&0) {
        return Err(unsafe_member(
            archive,
            member,
            "has a NUL byte in its link target",
        ));
    }
    if target.first() == Some(&b'/') {
        return Err(unsafe_member(
            archive,
            member,
            "is a link to an absolute path",
        ));
    }
    if target.is_empty() || target.len() > MAX_LINK_LEN {
        return Err(invalid(
            archive,
            member,
            format!(
                "link target of {} bytes (1 to {MAX_LINK_LEN} expected)",
                target.len()
            ),
        ));
    }
    Ok(target)
}

/// Permissions kept from an archive: never setuid or setgid (content is data, and
/// image-creator's device mounts it as such); no permission bits at all means default.
/// The mode an archive member gets in the image: its permission and sticky bits, never
/// setuid/setgid, and always readable by everyone (folders also searchable). The
/// device's services read content as their own unprivileged users (kiwix, caddy): a
/// `0600` member would be content that nothing serves.
fn meta_for(mode: u32, mtime: i64, is_dir: bool) -> Meta {
    let (default, readable) = if is_dir {
        (0o755, 0o555)
    } else {
        (0o644, 0o444)
    };
    let mode = match mode & 0o1777 {
        0 => default,
        kept => kept | readable,
    };
    Meta {
        mtime,
        ..Meta::new(mode as u16)
    }
}

fn expand_tar(archive: &Path, tar_path: &Path, target: &Path) -> Result<Expanded, ArchiveError> {
    let io_err = |source| ArchiveError::Io {
        archive: archive.to_path_buf(),
        source,
    };
    let file = File::open(tar_path).map_err(io_err)?;
    // A second handle for what the tar reader does not expose: old-GNU sparse extension
    // headers and PAX 1.0 sparse maps, read at their offsets.
    let raw = File::open(tar_path).map_err(io_err)?;
    let mut tar = tar::Archive::new(BufReader::new(file));
    let mut entries = Vec::new();
    let mut content_size = 0u64;
    for member in tar.entries().map_err(io_err)? {
        let mut member = member.map_err(io_err)?;
        let sparse_records = pax_sparse_records(&mut member).map_err(io_err)?;
        let raw_name = sparse_records
            .iter()
            .find(|(k, _)| k == "GNU.sparse.name")
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| member.path_bytes().into_owned());
        let name = String::from_utf8_lossy(&raw_name).into_owned();
        let Some(rel) = member_path(archive, &name)? else {
            continue;
        };
        let header = member.header();
        let mode = header.mode().map_err(io_err)?;
        let mtime = header.mtime().map_err(io_err)? as i64;
        let entry_type = header.entry_type();
        let file_data = |size: u64, ranges: Vec<SourceRange>| {
            EntryKind::File(FileData::Ranges {
                source: tar_path.to_path_buf(),
                size,
                ranges,
            })
        };
        let kind = match entry_type {
            tar::EntryType::Directory => EntryKind::Dir,
            tar::EntryType::Regular | tar::EntryType::Continuous if !sparse_records.is_empty() => {
                let stored = member.size();
                let (size, ranges) =
                    pax_sparse(&raw, member.raw_file_position(), stored, &sparse_records)
                        .map_err(|m| invalid(archive, &name, m))?;
                content_size = content_size.saturating_add(size);
                file_data(size, ranges)
            }
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                let size = member.size();
                content_size = content_size.saturating_add(size);
                let range = SourceRange {
                    file_offset: 0,
                    source_offset: member.raw_file_position(),
                    len: size,
                };
                file_data(size, if size == 0 { Vec::new() } else { vec![range] })
            }
            tar::EntryType::GNUSparse => {
                let (size, ranges) =
                    old_gnu_sparse(&raw, &member).map_err(|m| invalid(archive, &name, m))?;
                content_size = content_size.saturating_add(size);
                file_data(size, ranges)
            }
            tar::EntryType::Symlink => {
                let link = member
                    .link_name_bytes()
                    .ok_or_else(|| invalid(archive, &name, "symlink without a target"))?
                    .into_owned();
                EntryKind::Symlink(link_target(archive, &name, link)?)
            }
            tar::EntryType::Link => {
                let link = member
                    .link_name_bytes()
                    .ok_or_else(|| invalid(archive, &name, "hard link without a target"))?;
                let link_name = String::from_utf8_lossy(&link).into_owned();
                match member_path(archive, &link_name)? {
                    Some(link_rel) => EntryKind::HardLink(target.join(link_rel)),
                    None => continue,
                }
            }
            tar::EntryType::Char | tar::EntryType::Block => {
                return Err(unsafe_member(archive, &name, "is a device node"))
            }
            tar::EntryType::Fifo => return Err(unsafe_member(archive, &name, "is a FIFO")),
            // Metadata records (pax, GNU long names) are consumed by the tar reader.
            _ => continue,
        };
        let is_dir = matches!(kind, EntryKind::Dir);
        entries.push(Entry {
            path: target.join(rel),
            kind,
            meta: meta_for(mode, mtime, is_dir),
        });
    }
    finish(archive, target, entries, content_size)
}

/// The member's `GNU.sparse.*` PAX records, in order (0.0 repeats its keys).
fn pax_sparse_records<R: Read>(
    member: &mut tar::Entry<'_, R>,
) -> io::Result<Vec<(String, Vec<u8>)>> {
    let mut records = Vec::new();
    if let Some(extensions) = member.pax_extensions()? {
        for extension in extensions {
            let extension = extension?;
            if let Ok(key) = extension.key() {
                if key.starts_with("GNU.sparse.") {
                    records.push((key.to_string(), extension.value_bytes().to_vec()));
                }
            }
        }
    }
    Ok(records)
}

fn number(text: &[u8]) -> Result<u64, String> {
    std::str::from_utf8(text)
        .ok()
        .map(str::trim)
        .and_then(|t| t.parse().ok())
        .ok_or_else(|| {
            format!(
                "sparse map: {:?} is not a number",
                String::from_utf8_lossy(text)
            )
        })
}

/// A PAX sparse member (GNU formats 0.0, 0.1 and 1.0) whose data starts at `start` and
/// is `stored` bytes long: its real size and data ranges.
fn pax_sparse(
    raw: &File,
    start: u64,
    stored: u64,
    records: &[(String, Vec<u8>)],
) -> Result<(u64, Vec<SourceRange>), String> {
    let get = |key: &str| records.iter().find(|(k, _)| k == key).map(|(_, v)| v);
    let version = (
        get("GNU.sparse.major").map(|v| number(v)).transpose()?,
        get("GNU.sparse.minor").map(|v| number(v)).transpose()?,
    );
    let real_size = get("GNU.sparse.realsize")
        .or_else(|| get("GNU.sparse.size"))
        .ok_or_else(|| "sparse member without GNU.sparse.realsize or GNU.sparse.size".to_string())
        .and_then(|v| number(v))?;
    let (map, data_start, data_len) = match version {
        (Some(1), Some(0)) => {
            let (map, map_len) = read_sparse_map(raw, start, stored)?;
            (map, start + map_len, stored - map_len)
        }
        (None, None) => match get("GNU.sparse.map") {
            // 0.1: `offset,size,offset,size,…`
            Some(text) => {
                let numbers = text
                    .split(|b| *b == b',')
                    .map(number)
                    .collect::<Result<Vec<u64>, String>>()?;
                if numbers.len() % 2 != 0 {
                    return Err("GNU.sparse.map has an odd count of numbers".into());
                }
                let map = numbers.chunks(2).map(|p| (p[0], p[1])).collect();
                (map, start, stored)
            }
            // 0.0: repeated `GNU.sparse.offset` and `GNU.sparse.numbytes` records.
            None => {
                let values = |key: &str| {
                    records
                        .iter()
                        .filter(|(k, _)| k == key)
                        .map(|(_, v)| number(v))
                        .collect::<Result<Vec<u64>, String>>()
                };
                let (offsets, sizes) =
                    (values("GNU.sparse.offset")?, values("GNU.sparse.numbytes")?);
                if offsets.len() != sizes.len() {
                    return Err(format!(
                        "{} GNU.sparse.offset records but {} GNU.sparse.numbytes",
                        offsets.len(),
                        sizes.len()
                    ));
                }
                (offsets.into_iter().zip(sizes).collect(), start, stored)
            }
        },
        (major, minor) => {
            return Err(format!(
                "GNU sparse format {}.{} is not supported (0.0, 0.1 and 1.0 are)",
                major.map_or("?".into(), |m| m.to_string()),
                minor.map_or("?".into(), |m| m.to_string())
            ))
        }
    };
    let ranges = sparse_ranges(&map, data_start, data_len, real_size)?;
    Ok((real_size, ranges))
}

/// The sparse map at the start of a PAX 1.0 sparse member's data (decimal numbers, one
/// a line: the count, then offset and size pairs; padded to 512 bytes) and its length.
fn read_sparse_map(raw: &File, start: u64, stored: u64) -> Result<(Vec<(u64, u64)>, u64), String> {
    let io = |e: io::Error| format!("reading the sparse map: {e}");
    let mut reader = BufReader::new(raw);
    reader.seek(SeekFrom::Start(start)).map_err(io)?;
    let mut reader = reader.take(stored);
    let mut consumed = 0u64;
    let mut next = |reader: &mut io::Take<BufReader<&File>>| -> Result<u64, String> {
        let mut line = Vec::new();
        // u64 has at most 20 digits: a longer line is not a number, however long it is.
        reader
            .by_ref()
            .take(22)
            .read_until(b'\n', &mut line)
            .map_err(io)?;
        if line.last() != Some(&b'\n') {
            return Err("sparse map: truncated or overlong line".into());
        }
        consumed += line.len() as u64;
        number(&line[..line.len() - 1])
    };
    let count = next(&mut reader)?;
    // Each pair takes at least four bytes ("0\n0\n"): a larger count cannot be real.
    if count > stored / 4 {
        return Err(format!("sparse map: {count} blocks in {stored} bytes"));
    }
    let mut map = Vec::with_capacity(count as usize);
    for _ in 0..count {
        let offset = next(&mut reader)?;
        let size = next(&mut reader)?;
        map.push((offset, size));
    }
    let map_len = consumed.div_ceil(512) * 512;
    if map_len > stored {
        return Err("sparse map longer than the member".into());
    }
    Ok((map, map_len))
}

/// An old-GNU sparse member (type `S`): its map is in the header and in extension
/// headers that follow it; the data follows them.
fn old_gnu_sparse<R: Read>(
    raw: &File,
    member: &tar::Entry<'_, R>,
) -> Result<(u64, Vec<SourceRange>), String> {
    let header = member.header();
    let gnu = header
        .as_gnu()
        .ok_or("sparse member without a GNU header")?;
    let block = |b: &tar::GnuSparseHeader| -> Result<Option<(u64, u64)>, String> {
        if b.is_empty() {
            return Ok(None);
        }
        let pair = (b.offset(), b.length());
        match pair {
            (Ok(o), Ok(l)) => Ok(Some((o, l))),
            _ => Err("unreadable sparse block".into()),
        }
    };
    let mut map = Vec::new();
    for b in &gnu.sparse {
        map.extend(block(b)?);
    }
    let mut data_start = member.raw_file_position();
    if gnu.is_extended() {
        let mut ext = tar::GnuExtSparseHeader::new();
        loop {
            raw.read_exact_at(ext.as_mut_bytes(), data_start)
                .map_err(|e| format!("reading a sparse extension header: {e}"))?;
            data_start += 512;
            for b in &ext.sparse {
                map.extend(block(b)?);
            }
            if !ext.is_extended() {
                break;
            }
        }
    }
    let real_size = gnu.real_size().map_err(|e| e.to_string())?;
    let stored = header.entry_size().map_err(|e| e.to_string())?;
    let ranges = sparse_ranges(&map, data_start, stored, real_size)?;
    Ok((real_size, ranges))
}

/// Turns a sparse map (offset and length of each data block in the file) into ranges of
/// the stored data, which holds the blocks back to back from `data_start`. Refuses maps
/// that go backwards or overlap, pass `real_size`, or need more than `stored` bytes.
fn sparse_ranges(
    map: &[(u64, u64)],
    data_start: u64,
    stored: u64,
    real_size: u64,
) -> Result<Vec<SourceRange>, String> {
    let mut ranges = Vec::new();
    let (mut end, mut used) = (0u64, 0u64);
    for &(offset, len) in map {
        if offset < end {
            return Err(format!(
                "sparse map: block at {offset} overlaps or precedes the one ending at {end}"
            ));
        }
        end = offset
            .checked_add(len)
            .filter(|e| *e <= real_size)
            .ok_or_else(|| {
                format!("sparse map: block {offset}+{len} passes the file size {real_size}")
            })?;
        let source_offset = data_start
            .checked_add(used)
            .ok_or("sparse map: offset overflow")?;
        used = used
            .checked_add(len)
            .filter(|u| *u <= stored)
            .ok_or_else(|| {
                format!("sparse map: blocks need more than the {stored} bytes stored")
            })?;
        if len > 0 {
            ranges.push(SourceRange {
                file_offset: offset,
                source_offset,
                len,
            });
        }
    }
    Ok(ranges)
}

fn expand_zip(archive: &Path, target: &Path, scratch_dir: &Path) -> Result<Expanded, ArchiveError> {
    let io_err = |source| ArchiveError::Io {
        archive: archive.to_path_buf(),
        source,
    };
    let zip_err = |e: zip::result::ZipError| ArchiveError::Zip {
        archive: archive.to_path_buf(),
        message: e.to_string(),
    };
    let file = File::open(archive).map_err(io_err)?;
    let mut zip = zip::ZipArchive::new(BufReader::new(file)).map_err(zip_err)?;
    let blob_path = scratch_path(scratch_dir, archive, "blob");
    let mut blob = BufWriter::with_capacity(1 << 20, File::create(&blob_path).map_err(io_err)?);
    let mut offset = 0u64;
    let mut entries = Vec::new();
    let mut content_size = 0u64;
    for index in 0..zip.len() {
        let mut member = zip.by_index(index).map_err(zip_err)?;
        let name = member.name().to_string();
        let Some(rel) = member_path(archive, &name)? else {
            continue;
        };
        if rel.as_os_str().is_empty() {
            continue;
        }
        let unix_mode = member.unix_mode().unwrap_or(0);
        let mtime = member
            .last_modified()
            .and_then(|t| zip_time_to_unix(&t))
            .unwrap_or(0);
        let kind = match unix_mode & S_IFMT {
            _ if member.is_dir() => EntryKind::Dir,
            S_IFDIR => EntryKind::Dir,
            S_IFLNK => {
                let mut link = Vec::new();
                // One byte more than a link may hold, to tell an overlong one.
                (&mut member)
                    .take(MAX_LINK_LEN as u64 + 1)
                    .read_to_end(&mut link)
                    .map_err(io_err)?;
                EntryKind::Symlink(link_target(archive, &name, link)?)
            }
            S_IFCHR | S_IFBLK => return Err(unsafe_member(archive, &name, "is a device node")),
            S_IFIFO => return Err(unsafe_member(archive, &name, "is a FIFO")),
            S_IFSOCK => return Err(unsafe_member(archive, &name, "is a socket")),
            _ => {
                let size = io::copy(&mut member, &mut blob).map_err(io_err)?;
                content_size = content_size.saturating_add(size);
                let ranges = if size == 0 {
                    Vec::new()
                } else {
                    vec![SourceRange {
                        file_offset: 0,
                        source_offset: offset,
                        len: size,
                    }]
                };
                offset += size;
                EntryKind::File(FileData::Ranges {
                    source: blob_path.clone(),
                    size,
                    ranges,
                })
            }
        };
        let is_dir = matches!(kind, EntryKind::Dir);
        entries.push(Entry {
            path: target.join(rel),
            kind,
            meta: meta_for(unix_mode, mtime, is_dir),
        });
    }
    blob.flush().map_err(io_err)?;
    finish(archive, target, entries, content_size)
}

/// Zip stores local time without a zone; like Python's zipfile we read it as UTC so the
/// result does not depend on the build machine's time zone.
fn zip_time_to_unix(t: &zip::DateTime) -> Option<i64> {
    let (y, m, d) = (t.year() as i64, t.month() as i64, t.day() as i64);
    if !(1..=12).contains(&m) || d < 1 {
        return None;
    }
    // Days from civil (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146097 + doe - 719468;
    Some(days * 86400 + t.hour() as i64 * 3600 + t.minute() as i64 * 60 + t.second() as i64)
}

fn finish(
    archive: &Path,
    target: &Path,
    mut entries: Vec<Entry>,
    content_size: u64,
) -> Result<Expanded, ArchiveError> {
    entries.sort_by(|a, b| a.path.cmp(&b.path));
    // A later member with the same path replaces an earlier one, as extraction does.
    entries.reverse();
    entries.dedup_by(|later, earlier| later.path == earlier.path);
    entries.reverse();
    check_links(archive, target, &entries)?;
    Ok(Expanded {
        entries,
        content_size,
    })
}

/// Why a link target cannot be kept.
enum LinkError {
    Leaves,
    TooManyHops,
}

/// Checks the expanded tree as the device will see it: no member under a symlink (it
/// would be written through the link), and every symlink, resolved component by
/// component through the other links of the tree, stays inside the target directory.
/// Checking the final tree, not member by member, catches chains whatever their order
/// in the archive.
fn check_links(archive: &Path, target: &Path, entries: &[Entry]) -> Result<(), ArchiveError> {
    let rel = |p: &Path| p.strip_prefix(target).unwrap_or(p).to_path_buf();
    let mut links: BTreeMap<PathBuf, &[u8]> = entries
        .iter()
        .filter_map(|e| match &e.kind {
            EntryKind::Symlink(t) => Some((rel(&e.path), t.as_slice())),
            _ => None,
        })
        .collect();
    if links.is_empty() {
        return Ok(());
    }
    // A hard link to a symlink shares its inode: the same text, read from where the hard
    // link is. Hard links to those hard links too, until nothing is added.
    loop {
        let added: Vec<(PathBuf, &[u8])> = entries
            .iter()
            .filter_map(|e| match &e.kind {
                EntryKind::HardLink(to) => {
                    let path = rel(&e.path);
                    let text = *links.get(&rel(to))?;
                    (!links.contains_key(&path)).then_some((path, text))
                }
                _ => None,
            })
            .collect();
        if added.is_empty() {
            break;
        }
        links.extend(added);
    }
    for entry in entries {
        let path = rel(&entry.path);
        let member = path.to_string_lossy();
        if path.ancestors().skip(1).any(|a| links.contains_key(a)) {
            return Err(unsafe_member(archive, &member, "lies under a link"));
        }
        if let Some(link) = links.get(&path) {
            let from = path.parent().unwrap_or(Path::new("")).to_path_buf();
            match resolve(&links, from, link, &mut 0) {
                Ok(_) => {}
                Err(LinkError::Leaves) => {
                    return Err(unsafe_member(
                        archive,
                        &member,
                        "is a link that leaves the target directory",
                    ))
                }
                Err(LinkError::TooManyHops) => {
                    return Err(unsafe_member(
                        archive,
                        &member,
                        "is a chain of links too long to follow",
                    ))
                }
            }
        }
    }
    Ok(())
}

/// Resolves `target` from directory `at` (relative to the target directory) the way
/// the kernel would, following the tree's links; fails if it goes above the top.
fn resolve(
    links: &BTreeMap<PathBuf, &[u8]>,
    mut at: PathBuf,
    target: &[u8],
    hops: &mut u32,
) -> Result<PathBuf, LinkError> {
    if target.first() == Some(&b'/') {
        return Err(LinkError::Leaves);
    }
    for part in target.split(|b| *b == b'/') {
        match part {
            b"" | b"." => {}
            b".." => {
                if !at.pop() {
                    return Err(LinkError::Leaves);
                }
            }
            name => {
                at.push(OsStr::from_bytes(name));
                if let Some(next) = links.get(&at) {
                    *hops += 1;
                    if *hops > MAX_LINK_HOPS {
                        return Err(LinkError::TooManyHops);
                    }
                    at.pop();
                    at = resolve(links, at, next, hops)?;
                }
            }
        }
    }
    Ok(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_paths_are_normalised_and_clutter_dropped() {
        let a = Path::new("a.tar");
        assert_eq!(member_path(a, "./x/y").unwrap(), Some(PathBuf::from("x/y")));
        assert_eq!(member_path(a, "__MACOSX/x/._y").unwrap(), None);
        assert_eq!(member_path(a, "dir/.DS_Store").unwrap(), None);
        assert!(member_path(a, "../etc/passwd").is_err());
        assert!(member_path(a, "/etc/passwd").is_err());
        assert!(member_path(a, "x/../../y").is_err());
    }

    #[test]
    fn links_resolve_through_the_tree() {
        let mut links: BTreeMap<PathBuf, &[u8]> = BTreeMap::new();
        let at = |p: &str| PathBuf::from(p);
        let ok = |links: &BTreeMap<PathBuf, &[u8]>, from: &str, t: &[u8]| {
            resolve(links, at(from), t, &mut 0).ok()
        };
        assert_eq!(ok(&links, "d", b"../x"), Some(at("x")));
        assert_eq!(ok(&links, "d", b"../../x"), None);
        assert_eq!(ok(&links, "", b"/etc"), None);
        assert_eq!(ok(&links, "", b"x/../y"), Some(at("y")));
        links.insert(at("a/b/c/d"), b"../../..");
        assert_eq!(ok(&links, "", b"a/b/c/d/x"), Some(at("x")));
        assert_eq!(ok(&links, "", b"a/b/c/d/.."), None);
        links.insert(at("loop"), b"loop");
        assert!(matches!(
            resolve(&links, at(""), b"loop", &mut 0),
            Err(LinkError::TooManyHops)
        ));
    }

    #[test]
    fn sparse_maps_must_fit() {
        let r = |map: &[(u64, u64)]| sparse_ranges(map, 512, 100, 1000);
        assert_eq!(
            r(&[(0, 10), (500, 20), (1000, 0)]).unwrap(),
            vec![
                SourceRange {
                    file_offset: 0,
                    source_offset: 512,
                    len: 10
                },
                SourceRange {
                    file_offset: 500,
                    source_offset: 522,
                    len: 20
                },
            ]
        );
        assert!(r(&[(0, 101)]).is_err(), "more than stored");
        assert!(r(&[(990, 20)]).is_err(), "past the size");
        assert!(r(&[(10, 5), (12, 1)]).is_err(), "overlap");
        assert!(r(&[(u64::MAX, 2)]).is_err(), "overflow");
    }

    #[test]
    fn zip_times_are_utc() {
        let t = zip::DateTime::from_date_and_time(2024, 2, 29, 12, 30, 10).unwrap();
        assert_eq!(zip_time_to_unix(&t), Some(1709209810));
    }
}
