//! A deterministic `newc` cpio archive (the initramfs format the kernel unpacks),
//! gzip-compressed with a fixed header.

use std::io::Write;

/// What an archive member is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CpioKind {
    /// A directory.
    Dir,
    /// A regular file with its bytes.
    File(Vec<u8>),
    /// A symbolic link to the target.
    Symlink(String),
    /// A character device.
    Char {
        /// Major number.
        major: u32,
        /// Minor number.
        minor: u32,
    },
}

/// One member: path (relative, no leading `/`), kind and permission bits; owner root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CpioEntry {
    /// Path inside the archive.
    pub path: String,
    /// Kind and content.
    pub kind: CpioKind,
    /// Permission bits.
    pub mode: u32,
}

/// The numeric fields of a newc header that vary between members.
struct Head {
    ino: u32,
    mode: u32,
    nlink: u32,
    mtime: u32,
    size: u32,
    rdev: (u32, u32),
}

fn header(out: &mut Vec<u8>, h: Head, name: &str) {
    let namesize = name.len() as u32 + 1;
    let fields = [
        h.ino, h.mode, 0, 0, h.nlink, h.mtime, h.size, 0, 0, h.rdev.0, h.rdev.1, namesize, 0,
    ];
    out.extend_from_slice(b"070701");
    for f in fields {
        out.extend_from_slice(format!("{f:08X}").as_bytes());
    }
    out.extend_from_slice(name.as_bytes());
    out.push(0);
    pad4(out);
}

fn pad4(out: &mut Vec<u8>) {
    while !out.len().is_multiple_of(4) {
        out.push(0);
    }
}

/// The uncompressed archive: entries in the given order (callers sort them, parents
/// first), inode numbers counted from 1, every time `mtime`, then the trailer.
/// Members must be smaller than 4 GiB (newc's size field).
pub fn newc(entries: &[CpioEntry], mtime: u32) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        let perm = e.mode & 0o7777;
        let (mode, nlink, data, rdev): (u32, u32, &[u8], (u32, u32)) = match &e.kind {
            CpioKind::Dir => (0o040000 | perm, 2, &[], (0, 0)),
            CpioKind::File(data) => (0o100000 | perm, 1, data, (0, 0)),
            CpioKind::Symlink(t) => (0o120777, 1, t.as_bytes(), (0, 0)),
            CpioKind::Char { major, minor } => (0o020000 | perm, 1, &[], (*major, *minor)),
        };
        let head = Head {
            ino: i as u32 + 1,
            mode,
            nlink,
            mtime,
            size: data.len() as u32,
            rdev,
        };
        header(&mut out, head, &e.path);
        out.extend_from_slice(data);
        pad4(&mut out);
    }
    let trailer = Head {
        ino: 0,
        mode: 0,
        nlink: 1,
        mtime: 0,
        size: 0,
        rdev: (0, 0),
    };
    header(&mut out, trailer, "TRAILER!!!");
    out
}

/// gzip with no name and time 0 in its header, so equal input gives equal output.
pub fn gzip(data: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut enc = flate2::GzBuilder::new()
        .mtime(0)
        .write(Vec::new(), flate2::Compression::best());
    enc.write_all(data)?;
    enc.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpio_lists_members_like_gnu_cpio() {
        let entries = vec![
            CpioEntry {
                path: "bin".into(),
                kind: CpioKind::Dir,
                mode: 0o755,
            },
            CpioEntry {
                path: "bin/sh".into(),
                kind: CpioKind::Symlink("busybox".into()),
                mode: 0o777,
            },
            CpioEntry {
                path: "init".into(),
                kind: CpioKind::File(b"#!/bin/sh\n".to_vec()),
                mode: 0o755,
            },
            CpioEntry {
                path: "dev/console".into(),
                kind: CpioKind::Char { major: 5, minor: 1 },
                mode: 0o600,
            },
        ];
        let archive = newc(&entries, 1_700_000_000);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.cpio");
        std::fs::write(&path, &archive).unwrap();
        let out = std::process::Command::new("cpio")
            .args(["-itv", "--quiet", "-F"])
            .arg(&path)
            .output()
            .expect("cpio (GNU cpio) must be installed");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let listing = String::from_utf8_lossy(&out.stdout);
        let lines: Vec<&str> = listing.lines().collect();
        assert_eq!(lines.len(), 4, "{listing}");
        assert!(
            lines[0].starts_with("drwxr-xr-x") && lines[0].ends_with(" bin"),
            "{listing}"
        );
        assert!(
            lines[1].starts_with("lrwxrwxrwx") && lines[1].ends_with("bin/sh -> busybox"),
            "{listing}"
        );
        assert!(
            lines[2].starts_with("-rwxr-xr-x") && lines[2].ends_with(" init"),
            "{listing}"
        );
        assert!(lines[3].starts_with("crw-------"), "{listing}");
        let gz = gzip(&archive).unwrap();
        assert_eq!(gz, gzip(&archive).unwrap());
        let mut back = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gz[..]), &mut back).unwrap();
        assert_eq!(back, archive);
    }
}
