//! NAR ("Nix ARchive") serialisation of a file, directory or symlink, as `nix-store
//! --dump` writes it. Output streams into any [`Write`] sink (typically a
//! [`Hasher`](super::hash::Hasher)); file contents are copied in chunks, never buffered
//! whole, so big files cost no memory.

use std::fs;
use std::io::{self, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use super::hash::{Hash, HashAlgo, Hasher};

/// The kind of a file system node, as Nix names it to `builtins.path` filters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind {
    /// A regular file.
    Regular,
    /// A directory.
    Directory,
    /// A symbolic link (never followed).
    Symlink,
    /// Anything else (socket, FIFO, device): a NAR cannot hold it.
    Unknown,
}

impl NodeKind {
    /// The kind of `path` itself (symlinks are not followed).
    pub fn of(path: &Path) -> io::Result<NodeKind> {
        Ok(Self::from_type(fs::symlink_metadata(path)?.file_type()))
    }

    fn from_type(t: fs::FileType) -> NodeKind {
        if t.is_symlink() {
            NodeKind::Symlink
        } else if t.is_dir() {
            NodeKind::Directory
        } else if t.is_file() {
            NodeKind::Regular
        } else {
            NodeKind::Unknown
        }
    }

    /// Nix's name: `regular`, `directory`, `symlink` or `unknown`.
    pub fn name(self) -> &'static str {
        match self {
            NodeKind::Regular => "regular",
            NodeKind::Directory => "directory",
            NodeKind::Symlink => "symlink",
            NodeKind::Unknown => "unknown",
        }
    }
}

/// Why a dump failed.
#[derive(Debug, thiserror::Error)]
pub enum DumpError<E> {
    /// Reading the file system failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file being read.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// The file has a type a NAR cannot hold.
    #[error("file '{}' has an unsupported type", .0.display())]
    Unsupported(PathBuf),
    /// The filter callback failed.
    #[error("{0}")]
    Filter(E),
}

/// Writes the NAR of `path` into `sink`.
pub fn dump<W: Write>(
    path: &Path,
    sink: &mut W,
) -> Result<(), DumpError<std::convert::Infallible>> {
    dump_filtered(path, sink, &mut |_, _| Ok(true))
}

/// Writes the NAR of `path` into `sink`, leaving out every entry below `path` for which
/// `filter(entry_path, kind)` says false (a left-out directory is left out whole),
/// like `builtins.path { filter = …; }`.
pub fn dump_filtered<W: Write, E>(
    path: &Path,
    sink: &mut W,
    filter: &mut dyn FnMut(&Path, NodeKind) -> Result<bool, E>,
) -> Result<(), DumpError<E>> {
    let io_err = |source| DumpError::Io {
        path: path.to_path_buf(),
        source,
    };
    write_str(sink, b"nix-archive-1").map_err(io_err)?;
    dump_node(path, sink, filter)
}

fn dump_node<W: Write, E>(
    path: &Path,
    sink: &mut W,
    filter: &mut dyn FnMut(&Path, NodeKind) -> Result<bool, E>,
) -> Result<(), DumpError<E>> {
    let io_err = |source| DumpError::Io {
        path: path.to_path_buf(),
        source,
    };
    let meta = fs::symlink_metadata(path).map_err(io_err)?;
    write_str(sink, b"(").map_err(io_err)?;
    match NodeKind::from_type(meta.file_type()) {
        NodeKind::Regular => {
            write_str(sink, b"type").map_err(io_err)?;
            write_str(sink, b"regular").map_err(io_err)?;
            if meta.permissions().mode() & 0o100 != 0 {
                write_str(sink, b"executable").map_err(io_err)?;
                write_str(sink, b"").map_err(io_err)?;
            }
            write_str(sink, b"contents").map_err(io_err)?;
            let file = fs::File::open(path).map_err(io_err)?;
            write_contents(file, meta.len(), sink).map_err(io_err)?;
        }
        NodeKind::Symlink => {
            let target = fs::read_link(path).map_err(io_err)?;
            write_str(sink, b"type").map_err(io_err)?;
            write_str(sink, b"symlink").map_err(io_err)?;
            write_str(sink, b"target").map_err(io_err)?;
            write_str(sink, target.as_os_str().as_bytes()).map_err(io_err)?;
        }
        NodeKind::Directory => {
            write_str(sink, b"type").map_err(io_err)?;
            write_str(sink, b"directory").map_err(io_err)?;
            let mut entries = Vec::new();
            for entry in fs::read_dir(path).map_err(io_err)? {
                let entry = entry.map_err(io_err)?;
                entries.push(entry.file_name());
            }
            // Nix orders entries by their bytes.
            entries.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
            for name in entries {
                let child = path.join(&name);
                let kind = NodeKind::of(&child).map_err(|source| DumpError::Io {
                    path: child.clone(),
                    source,
                })?;
                if !filter(&child, kind).map_err(DumpError::Filter)? {
                    continue;
                }
                write_str(sink, b"entry").map_err(io_err)?;
                write_str(sink, b"(").map_err(io_err)?;
                write_str(sink, b"name").map_err(io_err)?;
                write_str(sink, name.as_bytes()).map_err(io_err)?;
                write_str(sink, b"node").map_err(io_err)?;
                dump_node(&child, sink, filter)?;
                write_str(sink, b")").map_err(io_err)?;
            }
        }
        NodeKind::Unknown => return Err(DumpError::Unsupported(path.to_path_buf())),
    }
    write_str(sink, b")").map_err(io_err)
}

/// Copies exactly `len` bytes of `file` (a file that changes size meanwhile is an error:
/// the length is already written).
fn write_contents<W: Write>(file: fs::File, len: u64, sink: &mut W) -> io::Result<()> {
    sink.write_all(&len.to_le_bytes())?;
    let copied = io::copy(&mut file.take(len), sink)?;
    if copied != len {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            format!("the file shrank while being read ({copied} of {len} bytes)"),
        ));
    }
    write_padding(sink, len)
}

/// A NAR string: little-endian 64-bit length, bytes, zero padding to 8 bytes.
fn write_str<W: Write>(sink: &mut W, s: &[u8]) -> io::Result<()> {
    sink.write_all(&(s.len() as u64).to_le_bytes())?;
    sink.write_all(s)?;
    write_padding(sink, s.len() as u64)
}

fn write_padding<W: Write>(sink: &mut W, len: u64) -> io::Result<()> {
    let pad = ((8 - len % 8) % 8) as usize;
    sink.write_all(&[0u8; 8][..pad])
}

/// The NAR hash of `path` (what `nix-hash --type ALGO PATH` prints in base16).
pub fn nar_hash(path: &Path, algo: HashAlgo) -> Result<Hash, DumpError<std::convert::Infallible>> {
    let mut hasher = Hasher::new(algo);
    dump(path, &mut hasher)?;
    Ok(hasher.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tree with every kind of node NAR knows, and names that sort differently as
    /// bytes than as text might.
    fn sample_tree() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        fs::create_dir_all(root.join("sub/deeper")).unwrap();
        fs::create_dir_all(root.join("empty-dir")).unwrap();
        fs::write(root.join("a.txt"), "alpha\n").unwrap();
        fs::write(root.join("B.txt"), "upper-case sorts first\n").unwrap();
        fs::write(root.join("eight888"), "12345678").unwrap();
        fs::write(root.join("empty"), "").unwrap();
        fs::write(root.join("é-unicode"), "unicode name").unwrap();
        fs::write(root.join("sub/deeper/x"), vec![0u8, 1, 2, 255]).unwrap();
        let exe = root.join("run.sh");
        fs::write(&exe, "#!/bin/sh\n").unwrap();
        fs::set_permissions(&exe, fs::Permissions::from_mode(0o755)).unwrap();
        let ro = root.join("read-only");
        fs::write(&ro, "r").unwrap();
        fs::set_permissions(&ro, fs::Permissions::from_mode(0o444)).unwrap();
        std::os::unix::fs::symlink("a.txt", root.join("link")).unwrap();
        std::os::unix::fs::symlink("/does/not/exist", root.join("dangling")).unwrap();
        dir
    }

    fn nix_store_dump(path: &Path) -> Vec<u8> {
        let out = nixspot_testkit::nix("nix-store")
            .arg("--dump")
            .arg(path)
            .output()
            .expect("nix-store (Debian package nix-bin) is required by this test");
        assert!(out.status.success(), "nix-store --dump failed: {out:?}");
        out.stdout
    }

    fn nix_hash(path: &Path, args: &[&str]) -> String {
        let out = nixspot_testkit::nix("nix-hash")
            .args(args)
            .arg(path)
            .output()
            .expect("nix-hash (Debian package nix-bin) is required by this test");
        assert!(out.status.success(), "nix-hash failed: {out:?}");
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    }

    #[test]
    fn nar_bytes_equal_nix_store_dump() {
        let dir = sample_tree();
        for rel in [
            "root",
            "root/a.txt",
            "root/run.sh",
            "root/link",
            "root/empty",
            "root/sub",
        ] {
            let path = dir.path().join(rel);
            let mut ours = Vec::new();
            dump(&path, &mut ours).unwrap();
            assert_eq!(ours, nix_store_dump(&path), "NAR of {rel}");
        }
    }

    #[test]
    fn nar_hash_equals_nix_hash() {
        let dir = sample_tree();
        let root = dir.path().join("root");
        let h = nar_hash(&root, HashAlgo::Sha256).unwrap();
        assert_eq!(
            h.to_base32(),
            nix_hash(&root, &["--type", "sha256", "--base32"])
        );
        assert_eq!(h.to_base16(), nix_hash(&root, &["--type", "sha256"]));
        let h = nar_hash(&root, HashAlgo::Sha512).unwrap();
        assert_eq!(h.to_base16(), nix_hash(&root, &["--type", "sha512"]));
    }

    #[test]
    fn big_file_streams() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big");
        let chunk: Vec<u8> = (0..65_537u32).map(|i| (i % 251) as u8).collect();
        let mut f = fs::File::create(&path).unwrap();
        for _ in 0..50 {
            f.write_all(&chunk).unwrap();
        }
        drop(f);
        let h = nar_hash(&path, HashAlgo::Sha256).unwrap();
        assert_eq!(
            h.to_base32(),
            nix_hash(&path, &["--type", "sha256", "--base32"])
        );
    }

    #[test]
    fn filter_leaves_out_entries_and_subtrees() {
        let dir = sample_tree();
        let root = dir.path().join("root");
        let mut seen = Vec::new();
        let mut out = Vec::new();
        dump_filtered(&root, &mut out, &mut |p: &Path,
                                             k|
         -> Result<bool, String> {
            seen.push((
                p.file_name().unwrap().to_string_lossy().into_owned(),
                k.name(),
            ));
            Ok(k != NodeKind::Symlink && !p.ends_with("sub"))
        })
        .unwrap();
        assert!(seen.contains(&("link".into(), "symlink")));
        assert!(seen.contains(&("sub".into(), "directory")));
        assert!(
            !seen.iter().any(|(n, _)| n == "deeper"),
            "a left-out directory is not entered"
        );
        // The same bytes as dumping a copy without those entries.
        fs::remove_file(root.join("link")).unwrap();
        fs::remove_file(root.join("dangling")).unwrap();
        fs::remove_dir_all(root.join("sub")).unwrap();
        assert_eq!(out, nix_store_dump(&root));
    }

    #[test]
    fn filter_errors_and_missing_paths_are_reported() {
        let dir = sample_tree();
        let root = dir.path().join("root");
        let err = dump_filtered(
            &root,
            &mut io::sink(),
            &mut |_: &Path, _| -> Result<bool, String> { Err("filter failed".into()) },
        )
        .unwrap_err();
        assert_eq!(err.to_string(), "filter failed");
        let err = nar_hash(&dir.path().join("missing"), HashAlgo::Sha256).unwrap_err();
        assert!(err.to_string().contains("missing"), "{err}");
    }
}
