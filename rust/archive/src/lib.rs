//! Expansion of recipe archives (`tar`, `gztar`, `bztar`, `xztar`, `zip`) into ext4
//! entries, with image-creator's safety rules.
//!
//! Nothing is extracted file by file: an uncompressed tar is referenced in place (each
//! member's bytes are a range of the tar), a compressed tar is first decompressed into one
//! scratch file, and zip members are decompressed back to back into one scratch blob. The
//! ext4 writer then copies those ranges straight into the image.

use nixspot_fs::ext4::{Entry, EntryKind, FileData, Meta, SourceRange};
use nixspot_recipe::Via;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Component, Path, PathBuf};

/// Names image-creator deletes after expanding an archive (OS clutter).
const CLUTTER: &[&str] = &["__MACOSX", ".DS_Store", "Thumbs.db", "desktop.ini"];

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
    /// A member would land outside the target directory.
    #[error("{archive}: member '{member}' {reason}; refusing to expand it")]
    Unsafe {
        /// The archive.
        archive: PathBuf,
        /// The member's name as stored.
        member: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A member type nixspot does not support.
    #[error("{archive}: member '{member}' is a {kind}, which cannot be expanded")]
    Unsupported {
        /// The archive.
        archive: PathBuf,
        /// The member's name.
        member: String,
        /// Its type.
        kind: &'static str,
    },
    /// `expand` was called with a `via` that is not an archive.
    #[error("'{0:?}' is not an archive format")]
    NotAnArchive(Via),
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
    via: Via,
    target: &Path,
    scratch_dir: &Path,
) -> Result<Expanded, ArchiveError> {
    let io_err = |source| ArchiveError::Io {
        archive: archive.to_path_buf(),
        source,
    };
    let open = || File::open(archive).map_err(io_err);
    match via {
        Via::Tar => expand_tar(archive, archive, target),
        Via::Gztar | Via::Bztar | Via::Xztar => {
            let input = BufReader::new(open()?);
            let decoder: Box<dyn Read> = match via {
                Via::Gztar => Box::new(flate2::read::MultiGzDecoder::new(input)),
                Via::Bztar => Box::new(bzip2::read::MultiBzDecoder::new(input)),
                _ => Box::new(xz2::read::XzDecoder::new_multi_decoder(input)),
            };
            let tar_path = scratch_path(scratch_dir, archive, "tar");
            copy_to_new_file(decoder, &tar_path).map_err(io_err)?;
            expand_tar(archive, &tar_path, target)
        }
        Via::Zip => expand_zip(archive, target, scratch_dir),
        other => Err(ArchiveError::NotAnArchive(other)),
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
    let unsafe_member = |reason| ArchiveError::Unsafe {
        archive: archive.to_path_buf(),
        member: name.to_string(),
        reason,
    };
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

/// Refuses a symlink whose target, resolved from the link's directory, leaves the
/// expansion directory.
fn check_link_target(
    archive: &Path,
    member: &str,
    link: &Path,
    target: &[u8],
) -> Result<(), ArchiveError> {
    let unsafe_member = |reason| ArchiveError::Unsafe {
        archive: archive.to_path_buf(),
        member: member.to_string(),
        reason,
    };
    if target.first() == Some(&b'/') {
        return Err(unsafe_member("is a link to an absolute path"));
    }
    let mut depth: i64 = link.components().count() as i64 - 1;
    for part in target.split(|b| *b == b'/') {
        match part {
            b"" | b"." => {}
            b".." => depth -= 1,
            _ => depth += 1,
        }
        if depth < 0 {
            return Err(unsafe_member("is a link that escapes the target directory"));
        }
    }
    Ok(())
}

fn meta_for(mode: u32, mtime: i64, is_dir: bool) -> Meta {
    let default = if is_dir { 0o755 } else { 0o644 };
    let mode = if mode & 0o7777 == 0 {
        default
    } else {
        mode & 0o7777
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
    let mut tar = tar::Archive::new(BufReader::new(file));
    let mut entries = Vec::new();
    let mut content_size = 0u64;
    for member in tar.entries().map_err(io_err)? {
        let member = member.map_err(io_err)?;
        let name = String::from_utf8_lossy(&member.path_bytes()).into_owned();
        let Some(rel) = member_path(archive, &name)? else {
            continue;
        };
        let header = member.header();
        let mode = header.mode().map_err(io_err)?;
        let mtime = header.mtime().map_err(io_err)? as i64;
        let entry_type = header.entry_type();
        let unsupported = |kind| ArchiveError::Unsupported {
            archive: archive.to_path_buf(),
            member: name.clone(),
            kind,
        };
        let kind = match entry_type {
            tar::EntryType::Directory => EntryKind::Dir,
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                let size = member.size();
                content_size += size;
                let ranges = if size == 0 {
                    Vec::new()
                } else {
                    vec![SourceRange {
                        file_offset: 0,
                        source_offset: member.raw_file_position(),
                        len: size,
                    }]
                };
                EntryKind::File(FileData::Ranges {
                    source: tar_path.to_path_buf(),
                    size,
                    ranges,
                })
            }
            tar::EntryType::Symlink => {
                let link = member
                    .link_name_bytes()
                    .ok_or_else(|| unsupported("symlink without a target"))?
                    .into_owned();
                check_link_target(archive, &name, &rel, &link)?;
                EntryKind::Symlink(link)
            }
            tar::EntryType::Link => {
                let link = member
                    .link_name_bytes()
                    .ok_or_else(|| unsupported("hard link without a target"))?;
                let link_name = String::from_utf8_lossy(&link).into_owned();
                match member_path(archive, &link_name)? {
                    Some(link_rel) => EntryKind::HardLink(target.join(link_rel)),
                    None => continue,
                }
            }
            tar::EntryType::Char | tar::EntryType::Block => {
                let major = header.device_major().map_err(io_err)?.unwrap_or(0);
                let minor = header.device_minor().map_err(io_err)?.unwrap_or(0);
                if entry_type == tar::EntryType::Char {
                    EntryKind::CharDevice { major, minor }
                } else {
                    EntryKind::BlockDevice { major, minor }
                }
            }
            tar::EntryType::Fifo => EntryKind::Fifo,
            tar::EntryType::GNUSparse => return Err(unsupported("GNU sparse file")),
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
    Ok(finish(entries, content_size))
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
        let is_symlink = unix_mode & 0o170000 == 0o120000;
        let kind = if member.is_dir() {
            EntryKind::Dir
        } else if is_symlink {
            let mut link = Vec::new();
            member.read_to_end(&mut link).map_err(io_err)?;
            check_link_target(archive, &name, &rel, &link)?;
            EntryKind::Symlink(link)
        } else {
            let size = io::copy(&mut member, &mut blob).map_err(io_err)?;
            content_size += size;
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
        };
        let is_dir = matches!(kind, EntryKind::Dir);
        entries.push(Entry {
            path: target.join(rel),
            kind,
            meta: meta_for(unix_mode, mtime, is_dir),
        });
    }
    blob.flush().map_err(io_err)?;
    Ok(finish(entries, content_size))
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

fn finish(mut entries: Vec<Entry>, content_size: u64) -> Expanded {
    entries.sort_by(|a, b| a.path.cmp(&b.path));
    // A later member with the same path replaces an earlier one, as extraction does.
    entries.reverse();
    entries.dedup_by(|later, earlier| later.path == earlier.path);
    entries.reverse();
    Expanded {
        entries,
        content_size,
    }
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
    fn escaping_links_are_refused() {
        let a = Path::new("a.tar");
        assert!(check_link_target(a, "m", Path::new("d/l"), b"../x").is_ok());
        assert!(check_link_target(a, "m", Path::new("d/l"), b"../../x").is_err());
        assert!(check_link_target(a, "m", Path::new("l"), b"/etc").is_err());
        assert!(check_link_target(a, "m", Path::new("l"), b"x/../y").is_ok());
    }

    #[test]
    fn zip_times_are_utc() {
        let t = zip::DateTime::from_date_and_time(2024, 2, 29, 12, 30, 10).unwrap();
        assert_eq!(zip_time_to_unix(&t), Some(1709209810));
    }
}
