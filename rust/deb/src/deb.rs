//! Streaming `.deb` unpacking: `debian-binary`, the control member (parsed whole: it
//! is small) and the data member as a stream of tar entries whose contents are read
//! one at a time, never buffered.

use std::collections::BTreeMap;
use std::io::{self, BufReader, Read};

use crate::ar::{ArReader, MemberReader};
use crate::deb822::{self, Stanza};
use crate::error::{Error, Result};

/// Largest control member file accepted (real ones are kilobytes).
const MAX_CONTROL_FILE: u64 = 16 << 20;

/// Maintainer scripts dpkg would run.
pub const MAINTAINER_SCRIPTS: [&str; 5] = ["preinst", "postinst", "prerm", "postrm", "config"];

/// Normalises an archive path to a relative path without `.` components
/// (`./usr/bin/x` → `usr/bin/x`, `/etc/x` → `etc/x`, `./` → ``); `..` is rejected.
pub fn normalize_path(raw: &str, what: &str) -> Result<String> {
    let mut parts = Vec::new();
    for comp in raw.split('/') {
        match comp {
            "" | "." => {}
            ".." => {
                return Err(Error::UnsafePath {
                    path: raw.to_string(),
                    what: what.to_string(),
                    message: "\"..\" components are not allowed".to_string(),
                })
            }
            c => parts.push(c),
        }
    }
    if raw.contains('\0') {
        return Err(Error::UnsafePath {
            path: raw.escape_default().to_string(),
            what: what.to_string(),
            message: "NUL byte in path".to_string(),
        });
    }
    Ok(parts.join("/"))
}

/// The parsed control member.
#[derive(Debug, Clone)]
pub struct ControlInfo {
    /// The `control` file.
    pub control: Stanza,
    /// `Package`
    pub package: String,
    /// `Version`
    pub version: String,
    /// `Architecture`
    pub architecture: String,
    /// Conffiles as normalised paths (`etc/x`), flags such as `remove-on-upgrade`
    /// dropped, in file order.
    pub conffiles: Vec<String>,
    /// Which of [`MAINTAINER_SCRIPTS`] the package ships, in that order.
    pub scripts: Vec<String>,
    /// Every regular file of the control member by name (`control`, `md5sums`,
    /// `postinst`, `triggers`, …).
    pub files: BTreeMap<String, Vec<u8>>,
}

impl ControlInfo {
    /// Whether the package ships the named maintainer script.
    pub fn has_script(&self, name: &str) -> bool {
        self.scripts.iter().any(|s| s == name)
    }
}

/// What a data entry is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryKind {
    /// Regular file; its bytes are read from the entry.
    File,
    /// Directory.
    Dir,
    /// Symbolic link with its target as stored (absolute or relative; not normalised).
    Symlink(String),
    /// Hard link to an earlier entry of the same archive (normalised path).
    Hardlink(String),
    /// Character device.
    Char {
        /// Major number.
        major: u32,
        /// Minor number.
        minor: u32,
    },
    /// Block device.
    Block {
        /// Major number.
        major: u32,
        /// Minor number.
        minor: u32,
    },
    /// Named pipe.
    Fifo,
}

/// Metadata of one data entry, as stored in the tar header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryMeta {
    /// Normalised path (`usr/bin/x`).
    pub path: String,
    /// Kind (and link target / device numbers).
    pub kind: EntryKind,
    /// Permission bits including setuid (0o4000), setgid (0o2000) and sticky (0o1000).
    pub mode: u32,
    /// Numeric owner.
    pub uid: u64,
    /// Numeric group.
    pub gid: u64,
    /// Owner name if stored (dpkg prefers it when the name exists in the image).
    pub user: Option<String>,
    /// Group name if stored.
    pub group: Option<String>,
    /// Modification time (seconds since the epoch).
    pub mtime: u64,
    /// Size of the file data (0 for everything but regular files).
    pub size: u64,
}

fn deb_err(what: &str, message: impl Into<String>) -> Error {
    Error::Deb {
        what: what.to_string(),
        message: message.into(),
    }
}

fn io_err(what: &str, e: io::Error) -> Error {
    Error::Io {
        context: what.to_string(),
        source: e,
    }
}

/// Wraps a member reader in the decompressor its name asks for.
fn decompressor<'r, R: Read + 'r>(name: &str, reader: R, what: &str) -> Result<Box<dyn Read + 'r>> {
    let reader = BufReader::with_capacity(64 << 10, reader);
    let ext = name
        .strip_prefix("control.tar")
        .or_else(|| name.strip_prefix("data.tar"))
        .unwrap_or("?");
    Ok(match ext {
        "" => Box::new(reader),
        ".gz" => Box::new(flate2::read::GzDecoder::new(reader)),
        ".xz" => Box::new(lzma_rust2::XzReader::new(reader, true)),
        ".zst" => Box::new(
            ruzstd::decoding::StreamingDecoder::new(reader)
                .map_err(|e| deb_err(what, format!("member {name}: zstd: {e}")))?,
        ),
        _ => {
            return Err(deb_err(
                what,
                format!("member {name}: unsupported compression (expected .tar, .tar.gz, .tar.xz or .tar.zst)"),
            ))
        }
    })
}

/// An opened `.deb` positioned before its data member.
pub struct Deb<R: Read> {
    ar: ArReader<R>,
    what: String,
    control: ControlInfo,
}

impl<R: Read> Deb<R> {
    /// Reads `debian-binary` and the control member. `what` (file name or URL) goes
    /// into errors.
    pub fn open(reader: R, what: &str) -> Result<Deb<R>> {
        let mut ar = ArReader::new(reader, what);
        let first = ar
            .next_member()?
            .ok_or_else(|| deb_err(what, "empty ar archive"))?;
        if first.name != "debian-binary" {
            return Err(deb_err(
                what,
                format!(
                    "first member is {:?}, expected \"debian-binary\"",
                    first.name
                ),
            ));
        }
        let mut version = String::new();
        (&mut ar)
            .take(64)
            .read_to_string(&mut version)
            .map_err(|e| io_err(what, e))?;
        if !version.starts_with("2.") {
            return Err(deb_err(
                what,
                format!("debian-binary is {:?}, expected \"2.0\"", version.trim()),
            ));
        }
        let member = ar
            .next_member()?
            .ok_or_else(|| deb_err(what, "no control member"))?;
        if !member.name.starts_with("control.tar") {
            return Err(deb_err(
                what,
                format!("second member is {:?}, expected control.tar*", member.name),
            ));
        }
        let control = read_control(&mut ar, &member.name, what)?;
        Ok(Deb {
            ar,
            what: what.to_string(),
            control,
        })
    }

    /// The parsed control member.
    pub fn control(&self) -> &ControlInfo {
        &self.control
    }

    /// Moves to the data member (skipping any extra members dpkg ignores, whose names
    /// start with `_`) and returns it as a tar stream.
    pub fn into_data<'r>(mut self) -> Result<DataArchive<'r>>
    where
        R: 'r,
    {
        loop {
            let member = self
                .ar
                .next_member()?
                .ok_or_else(|| deb_err(&self.what, "no data member"))?;
            if member.name.starts_with('_') {
                continue;
            }
            if !member.name.starts_with("data.tar") {
                return Err(deb_err(
                    &self.what,
                    format!("unexpected member {:?}, expected data.tar*", member.name),
                ));
            }
            let reader: MemberReader<R> = self.ar.into_member_reader();
            let stream = decompressor(&member.name, reader, &self.what)?;
            return Ok(DataArchive {
                archive: tar::Archive::new(stream),
                what: format!("{} ({})", self.what, member.name),
            });
        }
    }
}

fn read_control<R: Read>(ar: &mut ArReader<R>, member: &str, what: &str) -> Result<ControlInfo> {
    let ctx = format!("{what} ({member})");
    let stream = decompressor(member, ar, what)?;
    let mut archive = tar::Archive::new(stream);
    let mut files = BTreeMap::new();
    for entry in archive.entries().map_err(|e| io_err(&ctx, e))? {
        let mut entry = entry.map_err(|e| io_err(&ctx, e))?;
        let raw = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let path = normalize_path(&raw, &ctx)?;
        if !matches!(
            entry.header().entry_type(),
            tar::EntryType::Regular | tar::EntryType::Continuous
        ) {
            continue;
        }
        if entry.size() > MAX_CONTROL_FILE {
            return Err(deb_err(
                &ctx,
                format!(
                    "{path}: {} bytes, more than a control file may have",
                    entry.size()
                ),
            ));
        }
        let mut data = Vec::new();
        entry
            .read_to_end(&mut data)
            .map_err(|e| io_err(&format!("{ctx}: {path}"), e))?;
        files.insert(path, data);
    }
    let control_text = files
        .get("control")
        .ok_or_else(|| deb_err(&ctx, "no control file"))?;
    let control_text = std::str::from_utf8(control_text)
        .map_err(|_| deb_err(&ctx, "control file is not UTF-8"))?;
    let source_name = format!("{ctx}: control");
    let control = deb822::parse(control_text, &source_name)?
        .into_iter()
        .next()
        .ok_or_else(|| deb_err(&ctx, "control file is empty"))?;
    let field = |name: &str| -> Result<String> {
        control
            .get(name)
            .map(str::to_string)
            .ok_or_else(|| Error::Field {
                source_name: source_name.clone(),
                line: control.line,
                package: control.get("Package").unwrap_or("").to_string(),
                field: name.to_string(),
                message: "missing".to_string(),
            })
    };
    let package = field("Package")?;
    let version = field("Version")?;
    let architecture = field("Architecture")?;
    let mut conffiles = Vec::new();
    if let Some(c) = files.get("conffiles") {
        let text = String::from_utf8_lossy(c);
        for line in text.lines() {
            // "path [flag…]"; paths have no spaces in practice.
            let Some(path) = line.split_whitespace().next() else {
                continue;
            };
            conffiles.push(normalize_path(path, &format!("{ctx}: conffiles"))?);
        }
    }
    let scripts = MAINTAINER_SCRIPTS
        .iter()
        .filter(|s| files.contains_key(**s))
        .map(|s| s.to_string())
        .collect();
    Ok(ControlInfo {
        control,
        package,
        version,
        architecture,
        conffiles,
        scripts,
        files,
    })
}

/// The data member as a tar stream.
pub struct DataArchive<'r> {
    archive: tar::Archive<Box<dyn Read + 'r>>,
    what: String,
}

impl<'r> DataArchive<'r> {
    /// Entries in archive order. The root directory entry (`./`) is skipped.
    pub fn entries(&mut self) -> Result<DataEntries<'_, 'r>> {
        let what = self.what.clone();
        let inner = self.archive.entries().map_err(|e| io_err(&what, e))?;
        Ok(DataEntries { inner, what })
    }
}

/// Iterator over data entries.
pub struct DataEntries<'a, 'r> {
    inner: tar::Entries<'a, Box<dyn Read + 'r>>,
    what: String,
}

/// One data entry: metadata plus, for regular files, its bytes through [`Read`].
pub struct DataEntry<'a, 'r> {
    /// Metadata from the tar header.
    pub meta: EntryMeta,
    entry: tar::Entry<'a, Box<dyn Read + 'r>>,
}

impl Read for DataEntry<'_, '_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.entry.read(buf)
    }
}

impl<'a, 'r> Iterator for DataEntries<'a, 'r> {
    type Item = Result<DataEntry<'a, 'r>>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let entry = match self.inner.next()? {
                Ok(e) => e,
                Err(e) => return Some(Err(io_err(&self.what, e))),
            };
            match meta_of(&entry, &self.what) {
                Ok(Some(meta)) => return Some(Ok(DataEntry { meta, entry })),
                Ok(None) => continue,
                Err(e) => return Some(Err(e)),
            }
        }
    }
}

fn utf8(bytes: &[u8], what: &str, label: &str) -> Result<String> {
    String::from_utf8(bytes.to_vec()).map_err(|_| Error::UnsafePath {
        path: String::from_utf8_lossy(bytes).into_owned(),
        what: what.to_string(),
        message: format!("{label} is not UTF-8"),
    })
}

fn meta_of<R: Read>(entry: &tar::Entry<'_, R>, what: &str) -> Result<Option<EntryMeta>> {
    let raw = utf8(&entry.path_bytes(), what, "path")?;
    let path = normalize_path(&raw, what)?;
    let h = entry.header();
    let hdr = |e: io::Error| deb_err(what, format!("{raw}: bad tar header: {e}"));
    let link = || -> Result<String> {
        let bytes = entry
            .link_name_bytes()
            .ok_or_else(|| deb_err(what, format!("{raw}: link without target")))?;
        let target = utf8(&bytes, what, "link target")?;
        if target.is_empty() || target.contains('\0') {
            return Err(deb_err(what, format!("{raw}: empty or NUL link target")));
        }
        Ok(target)
    };
    let dev = || -> Result<(u32, u32)> {
        Ok((
            h.device_major().map_err(hdr)?.unwrap_or(0),
            h.device_minor().map_err(hdr)?.unwrap_or(0),
        ))
    };
    let kind = match h.entry_type() {
        tar::EntryType::Regular | tar::EntryType::Continuous => EntryKind::File,
        tar::EntryType::Directory => EntryKind::Dir,
        tar::EntryType::Symlink => EntryKind::Symlink(link()?),
        tar::EntryType::Link => EntryKind::Hardlink(normalize_path(&link()?, what)?),
        tar::EntryType::Char => {
            let (major, minor) = dev()?;
            EntryKind::Char { major, minor }
        }
        tar::EntryType::Block => {
            let (major, minor) = dev()?;
            EntryKind::Block { major, minor }
        }
        tar::EntryType::Fifo => EntryKind::Fifo,
        other => {
            return Err(deb_err(
                what,
                format!("{raw}: unsupported tar entry type {other:?}"),
            ))
        }
    };
    if path.is_empty() {
        if kind == EntryKind::Dir {
            return Ok(None);
        }
        return Err(Error::UnsafePath {
            path: raw,
            what: what.to_string(),
            message: "only a directory may name the root".to_string(),
        });
    }
    let name = |b: Option<&[u8]>| {
        b.filter(|b| !b.is_empty())
            .map(|b| String::from_utf8_lossy(b).into_owned())
    };
    Ok(Some(EntryMeta {
        path,
        size: if kind == EntryKind::File {
            entry.size()
        } else {
            0
        },
        kind,
        mode: h.mode().map_err(hdr)? & 0o7777,
        uid: h.uid().map_err(hdr)?,
        gid: h.gid().map_err(hdr)?,
        user: name(h.username_bytes()),
        group: name(h.groupname_bytes()),
        mtime: h.mtime().map_err(hdr)?,
    }))
}
