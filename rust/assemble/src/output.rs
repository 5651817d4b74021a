//! Output safety: images are built in a temporary file next to the output and renamed
//! into place only when complete; on failure (or a signal, see
//! [`remove_partial_outputs`]) the partial file is removed.

use crate::error::AssembleError;
use nixspot_fs::sparse;
use sha2::{Digest, Sha256};
use std::cell::Cell;
use std::fs::File;
use std::io::{self, Write};
use std::os::unix::fs::{FileExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Mutex};

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
        // A fresh name, created exclusively: the output's directory may be shared, and a
        // symlink planted at a predictable name would be followed.
        let temp = tempfile::Builder::new()
            .prefix(&format!(".{}.partial-", name.to_string_lossy()))
            .permissions(std::fs::Permissions::from_mode(0o644))
            .tempfile_in(&dir)
            .map_err(|e| out_err(format!("cannot create a file in {}: {e}", dir.display())))?
            .into_temp_path()
            .keep()
            .map_err(|e| out_err(format!("cannot keep {}: {e}", e.path.display())))?;
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

/// Hashes an image on another thread while it is being written: the writer announces,
/// in increasing order, offsets up to which the file is final, and the thread hashes
/// each newly final range (holes from memory, data from the page cache in place). The
/// sha256 is that of the whole file, as if read sequentially once it is complete; when
/// the writer writes front to back and announces as it goes, the hash follows right
/// behind it and the file is read once, while its pages are still cached.
pub struct BackgroundHasher {
    path: PathBuf,
    ready: Option<mpsc::Sender<u64>>,
    /// The last offset sent to the thread, and the last one announced.
    sent: Cell<u64>,
    announced: Cell<u64>,
    worker: std::thread::JoinHandle<io::Result<String>>,
}

/// Announcements closer than this to the last one sent wait for the next: a writer of
/// many small files announces often, and each wake-up of the thread costs system calls.
const ANNOUNCE_STEP: u64 = 4 << 20;

impl BackgroundHasher {
    /// Starts hashing `path` (nothing is read before [`BackgroundHasher::final_up_to`]).
    pub fn start(path: &Path) -> Result<Self, AssembleError> {
        let file = File::open(path).map_err(AssembleError::io(path))?;
        let (ready, announced) = mpsc::channel::<u64>();
        let worker = std::thread::spawn(move || -> io::Result<String> {
            let mut hasher = Sha256::new();
            let mut buf = vec![0u8; HASH_CHUNK];
            let mut done = 0u64;
            while let Ok(mut end) = announced.recv() {
                // Behind the writer: take every announcement waiting, hash up to the last.
                while let Ok(later) = announced.try_recv() {
                    end = end.max(later);
                }
                if end > done {
                    hash_range(&file, done, end, &mut hasher, &mut buf)?;
                    done = end;
                }
            }
            Ok(hasher
                .finalize()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect())
        });
        Ok(BackgroundHasher {
            path: path.to_path_buf(),
            ready: Some(ready),
            sent: Cell::new(0),
            announced: Cell::new(0),
            worker,
        })
    }

    /// Declares bytes `[0, end)` final: nothing will write them again.
    pub fn final_up_to(&self, end: u64) {
        self.announced.set(self.announced.get().max(end));
        if end >= self.sent.get().saturating_add(ANNOUNCE_STEP) {
            self.send(end);
        }
    }

    fn send(&self, end: u64) {
        if let Some(ready) = &self.ready {
            // A send fails only when the thread stopped on an error, which `finish` reports.
            let _ = ready.send(end);
            self.sent.set(end);
        }
    }

    /// Waits for the hash of everything declared final.
    pub fn finish(mut self) -> Result<String, AssembleError> {
        if self.announced.get() > self.sent.get() {
            self.send(self.announced.get());
        }
        drop(self.ready.take());
        match self.worker.join() {
            Ok(result) => result.map_err(AssembleError::io(&self.path)),
            Err(_) => Err(AssembleError::io(&self.path)(io::Error::other(
                "the hashing thread panicked",
            ))),
        }
    }
}

/// Read size of [`BackgroundHasher`].
const HASH_CHUNK: usize = 4 << 20;

/// Feeds `[start, end)` of `file` to `hasher`: holes as zeros without reading them.
fn hash_range(
    file: &File,
    start: u64,
    end: u64,
    hasher: &mut Sha256,
    buf: &mut [u8],
) -> io::Result<()> {
    static ZEROS: [u8; 64 << 10] = [0; 64 << 10];
    let zeros = |mut n: u64, hasher: &mut Sha256| {
        while n > 0 {
            let k = n.min(ZEROS.len() as u64) as usize;
            hasher.update(&ZEROS[..k]);
            n -= k as u64;
        }
    };
    let mut pos = start;
    for range in sparse::data_ranges(file, start, end)? {
        zeros(range.offset - pos, hasher);
        let stop = range.offset + range.len;
        pos = range.offset;
        while pos < stop {
            let window = (stop - pos).min(HASH_WINDOW);
            if !hash_mapped(file, pos, window, hasher) {
                let k = window.min(buf.len() as u64) as usize;
                file.read_exact_at(&mut buf[..k], pos)?;
                hasher.update(&buf[..k]);
                pos += k as u64;
                continue;
            }
            pos += window;
        }
    }
    zeros(end.saturating_sub(pos), hasher);
    Ok(())
}

/// Bytes mapped at once by [`hash_mapped`].
const HASH_WINDOW: u64 = 16 << 20;

/// Feeds `[offset, offset+len)` of `file` to `hasher` through a read-only mapping, so
/// the page cache is hashed in place instead of being copied out first. Returns false
/// (nothing hashed) when the range cannot be mapped; the caller then reads it.
fn hash_mapped(file: &File, offset: u64, len: u64, hasher: &mut Sha256) -> bool {
    if len == 0 {
        return true;
    }
    // The file is the partial image only this process writes; this range is final.
    match nixspot_fs::sparse::map_readonly(file, offset, len) {
        Some(map) => {
            hash_prefetched(&map, hasher);
            true
        }
        None => false,
    }
}

/// Bytes hashed at a time by [`hash_prefetched`], while the next ones are fetched.
const PREFETCH_STEP: usize = 4 << 10;

/// `hasher.update(bytes)` for bytes not in the CPU's caches (the page cache of an image
/// being written): each 4 KiB is asked for from memory while the previous one is hashed.
/// The SHA instructions consume bytes faster than the hardware prefetcher brings them in:
/// on the project's 2-vCPU test machine, hashing a 512 MiB buffer ran at 1.2–1.3 GB/s
/// without and 1.6–1.7 GB/s with (BENCHMARKS.md, Assembly).
fn hash_prefetched(bytes: &[u8], hasher: &mut Sha256) {
    let mut steps = bytes.chunks(PREFETCH_STEP).peekable();
    while let Some(step) = steps.next() {
        if let Some(next) = steps.peek() {
            prefetch(next);
        }
        hasher.update(step);
    }
}

/// Asks the CPU to bring `bytes` into its caches, without waiting for them.
#[inline]
fn prefetch(bytes: &[u8]) {
    #[cfg(target_arch = "x86_64")]
    for line in bytes.chunks(64) {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        // SAFETY: SSE is part of x86_64; a prefetch reads nothing and cannot fault.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(line.as_ptr().cast()) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = bytes;
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
    fn prefetched_hashing_gives_the_plain_hash_at_every_step_edge() {
        let step = PREFETCH_STEP;
        let bytes: Vec<u8> = (0..5 * step + 7).map(|i| (i % 253) as u8).collect();
        let edges = [step - 1, step, step + 1, 2 * step, bytes.len()];
        for len in [0, 1, 63, 64].into_iter().chain(edges) {
            let mut prefetched = Sha256::new();
            hash_prefetched(&bytes[..len], &mut prefetched);
            assert_eq!(
                prefetched.finalize(),
                Sha256::digest(&bytes[..len]),
                "{len} bytes"
            );
        }
    }

    #[test]
    fn the_partial_output_is_a_new_file_never_a_planted_path() {
        let dir = tempfile::tempdir().expect("tempdir");
        let victim = dir.path().join("victim");
        std::fs::write(&victim, b"precious").expect("victim");
        // The name the partial file used to have, planted as a link to the victim.
        let planted = dir
            .path()
            .join(format!(".out.img.partial-{}", std::process::id()));
        std::os::unix::fs::symlink(&victim, &planted).expect("symlink");
        let target = dir.path().join("out.img");
        let partial = PartialOutput::create(&target, false, false).expect("create");
        assert_ne!(partial.path(), planted);
        let meta = std::fs::symlink_metadata(partial.path()).expect("partial");
        assert!(meta.is_file(), "a new regular file");
        std::fs::write(partial.path(), b"image").expect("write");
        assert_eq!(std::fs::read(&victim).expect("victim"), b"precious");
        partial.commit().expect("commit");
        assert_eq!(std::fs::read(&target).expect("output"), b"image");
        assert_eq!(std::fs::read(&victim).expect("victim"), b"precious");
    }

    #[test]
    fn background_hash_equals_the_hash_of_the_finished_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("sparse.img");
        let file = File::create(&path).expect("create");
        file.set_len(40 << 20).expect("set_len");
        file.write_all_at(b"head", 0).expect("write");
        let hasher = BackgroundHasher::start(&path).expect("start");
        hasher.final_up_to(8 << 20);
        // Written after the first part was declared final, across a hole, to the end.
        let pattern: Vec<u8> = (0..(9 << 20)).map(|i| (i % 251) as u8).collect();
        file.write_all_at(&pattern, 20 << 20).expect("write");
        file.write_all_at(b"tail", (40 << 20) - 4).expect("write");
        // An announcement in the middle of a page: the next range starts unaligned.
        hasher.final_up_to((20 << 20) + 12_345);
        hasher.final_up_to(40 << 20);
        let got = hasher.finish().expect("finish");
        let (want, len) = nixspot_fetch::hash::sha256_file(&path).expect("sha256");
        assert_eq!(len, 40 << 20);
        assert_eq!(got, want);
    }

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
