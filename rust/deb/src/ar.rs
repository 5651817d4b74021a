//! A streaming reader for the `ar` archives that wrap `.deb` packages
//! (common format with optional GNU `/` name terminators; no symbol tables needed).

use std::io::{self, Read};

use crate::error::{Error, Result};

const MAGIC: &[u8; 8] = b"!<arch>\n";

/// Reads members one after the other without seeking.
pub struct ArReader<R: Read> {
    inner: R,
    what: String,
    /// Bytes of the current member not yet consumed.
    remaining: u64,
    /// A padding byte follows the current member (odd size).
    pad: bool,
    started: bool,
}

/// A member header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArMember {
    /// Member name without GNU's trailing `/`.
    pub name: String,
    /// Data size in bytes.
    pub size: u64,
}

impl<R: Read> ArReader<R> {
    /// Wraps a reader; `what` (e.g. the `.deb` file name) goes into errors.
    pub fn new(inner: R, what: &str) -> ArReader<R> {
        ArReader {
            inner,
            what: what.to_string(),
            remaining: 0,
            pad: false,
            started: false,
        }
    }

    fn err(&self, message: String) -> Error {
        Error::Deb {
            what: self.what.clone(),
            message,
        }
    }

    fn io(&self, e: io::Error) -> Error {
        Error::Io {
            context: self.what.clone(),
            source: e,
        }
    }

    /// Advances to the next member, skipping unread data of the current one; `None` at
    /// the end of the archive.
    pub fn next_member(&mut self) -> Result<Option<ArMember>> {
        if !self.started {
            let mut magic = [0u8; 8];
            self.inner.read_exact(&mut magic).map_err(|e| {
                if e.kind() == io::ErrorKind::UnexpectedEof {
                    self.err("too short for an ar archive".to_string())
                } else {
                    self.io(e)
                }
            })?;
            if &magic != MAGIC {
                return Err(self.err("not an ar archive (bad magic)".to_string()));
            }
            self.started = true;
        }
        let skip = self.remaining + u64::from(self.pad);
        let skipped =
            io::copy(&mut (&mut self.inner).take(skip), &mut io::sink()).map_err(|e| self.io(e))?;
        if skipped != skip {
            return Err(self.err("truncated member data".to_string()));
        }
        self.remaining = 0;
        self.pad = false;
        let mut header = [0u8; 60];
        let mut filled = 0;
        while filled < header.len() {
            let n = match self.inner.read(&mut header[filled..]) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(self.io(e)),
            };
            if n == 0 {
                if filled == 0 {
                    return Ok(None);
                }
                return Err(self.err("truncated member header".to_string()));
            }
            filled += n;
        }
        if &header[58..60] != b"`\n" {
            return Err(self.err("bad member header terminator".to_string()));
        }
        let field = |r: std::ops::Range<usize>| {
            String::from_utf8_lossy(header.get(r).unwrap_or(&[]))
                .trim_end()
                .to_string()
        };
        let raw_name = field(0..16);
        if raw_name.starts_with('/') && raw_name != "/" || raw_name.starts_with("#1/") {
            return Err(self.err(format!(
                "member {raw_name:?}: long-name tables are not used by .deb files"
            )));
        }
        let name = raw_name.strip_suffix('/').unwrap_or(&raw_name).to_string();
        let size_text = field(48..58);
        let size = size_text
            .parse::<u64>()
            .map_err(|_| self.err(format!("member {name:?}: bad size field {size_text:?}")))?;
        self.remaining = size;
        self.pad = size % 2 == 1;
        Ok(Some(ArMember { name, size }))
    }

    /// Gives up the archive, returning a reader of the current member's data only.
    pub fn into_member_reader(self) -> MemberReader<R> {
        MemberReader {
            what: self.what,
            inner: self.inner,
            remaining: self.remaining,
        }
    }
}

/// Reads the current member's data; a short archive is an error, not an early EOF.
impl<R: Read> Read for ArReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        read_limited(&mut self.inner, &mut self.remaining, buf)
    }
}

fn read_limited<R: Read>(inner: &mut R, remaining: &mut u64, buf: &mut [u8]) -> io::Result<usize> {
    if *remaining == 0 || buf.is_empty() {
        return Ok(0);
    }
    let want = usize::try_from(*remaining)
        .unwrap_or(usize::MAX)
        .min(buf.len());
    let n = inner.read(&mut buf[..want])?;
    if n == 0 {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "ar member data truncated",
        ));
    }
    *remaining -= n as u64;
    Ok(n)
}

/// The data of the last member an [`ArReader`] was positioned on, owning the input.
pub struct MemberReader<R: Read> {
    inner: R,
    what: String,
    remaining: u64,
}

impl<R: Read> MemberReader<R> {
    /// The archive name given to [`ArReader::new`].
    pub fn what(&self) -> &str {
        &self.what
    }
}

impl<R: Read> Read for MemberReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        read_limited(&mut self.inner, &mut self.remaining, buf)
    }
}
