//! Output safety: images are built in a temporary file next to the output and renamed
//! into place only when complete; on failure (or a signal, see
//! [`remove_partial_outputs`]) the partial file is removed.

use crate::error::AssembleError;
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Partial outputs alive in this process, removed by [`remove_partial_outputs`].
static PARTIAL: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

fn register(path: &Path) {
    if let Ok(mut list) = PARTIAL.lock() {
        list.push(path.to_path_buf());
    }
}

fn unregister(path: &Path) {
    if let Ok(mut list) = PARTIAL.lock() {
        list.retain(|p| p != path);
    }
}

/// Removes every partial output of this process. For signal handlers: after this, the
/// process should exit.
pub fn remove_partial_outputs() {
    if let Ok(list) = PARTIAL.lock() {
        for path in list.iter() {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// A temporary output file that becomes the real output on [`PartialOutput::commit`],
/// and is removed when dropped uncommitted (unless kept for debugging).
pub struct PartialOutput {
    temp: PathBuf,
    target: PathBuf,
    keep: bool,
    committed: bool,
}

impl PartialOutput {
    /// Checks the output location and creates the temporary file beside it.
    pub fn create(target: &Path, overwrite: bool, keep: bool) -> Result<Self, AssembleError> {
        let out_err = |message: String| AssembleError::Output {
            path: target.to_path_buf(),
            message,
        };
        if target.exists() && !overwrite {
            return Err(out_err(
                "already exists; pass --overwrite (-X) to replace it".into(),
            ));
        }
        let dir = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&dir)
            .map_err(|e| out_err(format!("cannot create directory {}: {e}", dir.display())))?;
        let name = target
            .file_name()
            .ok_or_else(|| out_err("is not a file name".into()))?;
        let temp = dir.join(format!(
            ".{}.partial-{}",
            name.to_string_lossy(),
            std::process::id()
        ));
        File::create(&temp)
            .map_err(|e| out_err(format!("cannot create {}: {e}", temp.display())))?;
        register(&temp);
        Ok(PartialOutput {
            temp,
            target: target.to_path_buf(),
            keep,
            committed: false,
        })
    }

    /// The temporary file to write.
    pub fn path(&self) -> &Path {
        &self.temp
    }

    /// Renames the temporary file to the output.
    pub fn commit(mut self) -> Result<(), AssembleError> {
        std::fs::rename(&self.temp, &self.target).map_err(AssembleError::io(&self.target))?;
        unregister(&self.temp);
        self.committed = true;
        Ok(())
    }
}

impl Drop for PartialOutput {
    fn drop(&mut self) {
        if self.committed {
            return;
        }
        unregister(&self.temp);
        if self.keep {
            let kept = self.target.with_extension("failed.img");
            let _ = std::fs::rename(&self.temp, kept);
        } else {
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}

/// Fails early, with the numbers, when the filesystem that will hold `target` has less
/// than `needed` bytes available to this user.
pub fn check_free_space(target: &Path, needed: u64) -> Result<(), AssembleError> {
    let dir = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    // The directory may not exist yet: measure its closest existing ancestor.
    let existing = dir
        .ancestors()
        .find(|p| p.is_dir())
        .unwrap_or(Path::new("."))
        .to_path_buf();
    let c_path = std::ffi::CString::new(existing.as_os_str().as_encoded_bytes()).map_err(|e| {
        AssembleError::io(&existing)(io::Error::new(io::ErrorKind::InvalidInput, e))
    })?;
    let mut stat = std::mem::MaybeUninit::<libc::statvfs>::zeroed();
    // SAFETY: c_path is a valid NUL-terminated string and stat points to writable memory.
    let rc = unsafe { libc::statvfs(c_path.as_ptr(), stat.as_mut_ptr()) };
    if rc != 0 {
        return Err(AssembleError::io(&existing)(io::Error::last_os_error()));
    }
    // SAFETY: statvfs returned 0, so it filled the structure.
    let stat = unsafe { stat.assume_init() };
    // The field types differ between platforms (u32 or u64).
    #[allow(clippy::useless_conversion)]
    let available = u64::from(stat.f_bavail).saturating_mul(u64::from(stat.f_frsize));
    if available < needed {
        return Err(AssembleError::Space {
            path: existing,
            needed,
            available,
        });
    }
    Ok(())
}

/// sha256 of a file, read sequentially.
pub fn sha256_file(path: &Path) -> Result<String, AssembleError> {
    let mut file = File::open(path).map_err(AssembleError::io(path))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf).map_err(AssembleError::io(path))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// Compression of the output image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// zstd (multithreaded), `.zst`.
    Zstd,
    /// xz, `.xz`.
    Xz,
    /// gzip, `.gz`.
    Gzip,
}

impl Compression {
    /// The file name extension, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            Compression::Zstd => "zst",
            Compression::Xz => "xz",
            Compression::Gzip => "gz",
        }
    }
}

/// Writes `image` compressed to `image.<ext>` (through a temporary file), returning the
/// compressed file's path. Compressors run with fixed settings and no timestamps or
/// names in headers, so the result is reproducible.
pub fn compress(image: &Path, how: Compression, overwrite: bool) -> Result<PathBuf, AssembleError> {
    let mut target = image.as_os_str().to_owned();
    target.push(".");
    target.push(how.extension());
    let target = PathBuf::from(target);
    let partial = PartialOutput::create(&target, overwrite, false)?;
    let write = || -> io::Result<()> {
        let mut input = io::BufReader::with_capacity(1 << 20, File::open(image)?);
        let out = io::BufWriter::with_capacity(1 << 20, File::create(partial.path())?);
        match how {
            Compression::Zstd => {
                let mut enc = zstd::stream::Encoder::new(out, 3)?;
                let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
                enc.multithread(threads as u32)?;
                io::copy(&mut input, &mut enc)?;
                enc.finish()?.flush()?;
            }
            Compression::Xz => {
                let mut enc = xz2::write::XzEncoder::new(out, 6);
                io::copy(&mut input, &mut enc)?;
                enc.finish()?.flush()?;
            }
            Compression::Gzip => {
                let mut enc = flate2::GzBuilder::new()
                    .mtime(0)
                    .write(out, flate2::Compression::default());
                io::copy(&mut input, &mut enc)?;
                enc.finish()?.flush()?;
            }
        }
        Ok(())
    };
    write().map_err(AssembleError::io(&target))?;
    partial.commit()?;
    Ok(target)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_space_is_checked_with_numbers_in_the_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let target = dir.path().join("not-yet/out.img");
        check_free_space(&target, 1).expect("one byte is available");
        let err = check_free_space(&target, u64::MAX).expect_err("nobody has 16 EiB");
        let text = err.to_string();
        assert!(text.contains(&u64::MAX.to_string()), "{text}");
        assert!(text.contains(&dir.path().display().to_string()), "{text}");
    }
}
