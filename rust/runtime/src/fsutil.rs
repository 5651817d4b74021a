//! Writes under the target root: atomic (temporary file, fsync, rename), and only when
//! the content changes, to spare the SD card.

use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// A file operation that failed; `path` is the path on the device.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {source}")]
pub struct FileError {
    /// The device path (without the root prefix).
    pub path: String,
    /// The OS error.
    pub source: std::io::Error,
}

/// The tree the runtime writes into (`/` on the device, a temporary folder in tests).
#[derive(Debug, Clone)]
pub struct Root(PathBuf);

impl Root {
    /// Uses `dir` as `/`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Root(dir.into())
    }

    /// The host path of device path `abs`.
    pub fn path(&self, abs: &str) -> PathBuf {
        self.0.join(abs.trim_start_matches('/'))
    }

    fn err(abs: &str) -> impl Fn(std::io::Error) -> FileError + '_ {
        move |source| FileError {
            path: abs.to_string(),
            source,
        }
    }

    /// Reads a text file; `None` when it does not exist.
    pub fn read(&self, abs: &str) -> Result<Option<String>, FileError> {
        match std::fs::read_to_string(self.path(abs)) {
            Ok(s) => Ok(Some(s)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Self::err(abs)(e)),
        }
    }

    /// Writes `contents` to `abs` with permissions `mode`, atomically; returns whether
    /// anything changed.
    pub fn write(&self, abs: &str, contents: &str, mode: u32) -> Result<bool, FileError> {
        self.write_owned(abs, contents, mode, None)
    }

    /// [`Root::write`], owned by `owner` (uid, gid) when given (else by the caller): the
    /// file gets its owner before it replaces the old one.
    pub fn write_owned(
        &self,
        abs: &str,
        contents: &str,
        mode: u32,
        owner: Option<(u32, u32)>,
    ) -> Result<bool, FileError> {
        let path = self.path(abs);
        let err = Self::err(abs);
        if let (Ok(old), Ok(meta)) = (std::fs::read(&path), std::fs::symlink_metadata(&path)) {
            if old == contents.as_bytes()
                && meta.permissions().mode() & 0o7777 == mode
                && owner.is_none_or(|o| o == (meta.uid(), meta.gid()))
            {
                return Ok(false);
            }
        }
        let dir = path.parent().unwrap_or(Path::new("/"));
        std::fs::create_dir_all(dir).map_err(&err)?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        let tmp = dir.join(format!(".{name}.nixspot-tmp"));
        let mut f = std::fs::File::create(&tmp).map_err(&err)?;
        f.write_all(contents.as_bytes()).map_err(&err)?;
        // FAT (the boot partition) has no Unix permissions: not an error there.
        let _ = f.set_permissions(std::fs::Permissions::from_mode(mode));
        if let Some((uid, gid)) = owner {
            std::os::unix::fs::fchown(&f, Some(uid), Some(gid)).map_err(&err)?;
        }
        f.sync_all().map_err(&err)?;
        drop(f);
        std::fs::rename(&tmp, &path).map_err(&err)?;
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(true)
    }

    /// Points symlink `abs` at `target` (replacing any file there); returns whether
    /// anything changed.
    pub fn symlink(&self, abs: &str, target: &str) -> Result<bool, FileError> {
        let path = self.path(abs);
        let err = Self::err(abs);
        if std::fs::read_link(&path).is_ok_and(|t| t == Path::new(target)) {
            return Ok(false);
        }
        let dir = path.parent().unwrap_or(Path::new("/"));
        std::fs::create_dir_all(dir).map_err(&err)?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        let tmp = dir.join(format!(".{name}.nixspot-tmp"));
        let _ = std::fs::remove_file(&tmp);
        std::os::unix::fs::symlink(target, &tmp).map_err(&err)?;
        std::fs::rename(&tmp, &path).map_err(&err)?;
        Ok(true)
    }

    /// Removes file or symlink `abs` if present; returns whether it existed.
    pub fn remove(&self, abs: &str) -> Result<bool, FileError> {
        match std::fs::remove_file(self.path(abs)) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(Self::err(abs)(e)),
        }
    }

    /// Makes `abs` a folder owned by `owner` (uid, gid) with permissions `mode`, and
    /// gives it everything inside (its service writes there). Missing parents are made
    /// as the caller's. Symbolic links are never followed: `abs` being one is an error,
    /// links inside change owner themselves. Returns whether anything changed.
    pub fn own_dir(&self, abs: &str, mode: u32, owner: (u32, u32)) -> Result<bool, FileError> {
        let path = self.path(abs);
        let err = Self::err(abs);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(&err)?;
        }
        match std::fs::create_dir(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => return Err(err(e)),
            _ => {}
        }
        let meta = std::fs::symlink_metadata(&path).map_err(&err)?;
        if !meta.is_dir() {
            return Err(err(std::io::Error::other(
                "expected a folder (not a symbolic link or a file)",
            )));
        }
        let mut changed = false;
        if meta.permissions().mode() & 0o7777 != mode {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).map_err(&err)?;
            changed = true;
        }
        // Depth-first without following links; a deep tree is bounded by PATH_MAX.
        let mut todo = vec![(path, meta)];
        while let Some((p, m)) = todo.pop() {
            if (m.uid(), m.gid()) != owner {
                std::os::unix::fs::lchown(&p, Some(owner.0), Some(owner.1)).map_err(&err)?;
                changed = true;
            }
            if m.is_dir() {
                for entry in std::fs::read_dir(&p).map_err(&err)? {
                    let entry = entry.map_err(&err)?;
                    let m = std::fs::symlink_metadata(entry.path()).map_err(&err)?;
                    todo.push((entry.path(), m));
                }
            }
        }
        Ok(changed)
    }

    /// Whether `abs` exists (following symlinks).
    pub fn exists(&self, abs: &str) -> bool {
        self.path(abs).exists()
    }
}

/// Quotes `s` for a POSIX shell (single quotes).
pub fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}
