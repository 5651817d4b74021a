//! Writing an image to a card (or a file standing in for one) and verifying it by
//! reading it back.
//!
//! A block device is opened with `O_EXCL`, so the kernel itself refuses while any of its
//! partitions is mounted or another program holds it, and the descriptor stays open until
//! verification ends, so a desktop's automounter cannot mount the new partitions
//! half-way. Every byte is written, zeros included (a card's unwritten blocks hold
//! whatever was there before), in 4 MiB blocks from a 4096-aligned buffer with
//! `O_DIRECT` where the device accepts it (the progress then follows the card, not the
//! page cache). Verification reads through `O_DIRECT`, or after `posix_fadvise(DONTNEED)`
//! where `O_DIRECT` is refused, so the page cache cannot answer for the card.

use crate::devices::BlockDevice;
use crate::error::FlashError;
use crate::progress::{Phase, Progress};
use crate::source::{read_up_to, Image, ImageSize};
use sha2::{Digest, Sha256};
use std::fs::{File, OpenOptions};
use std::io::{self, Seek, SeekFrom};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

/// Bytes per write and per verified block.
pub const BLOCK: usize = 4 << 20;
/// Buffer, offset and length alignment for `O_DIRECT` (a multiple of every logical block
/// size in use: 512 and 4096).
const ALIGN: usize = 4096;
/// Without `O_DIRECT`, data is pushed to the device this often so the page cache does not
/// swallow gigabytes and the progress stays honest.
const SYNC_EVERY: u64 = 256 << 20;

/// Where the image goes.
#[derive(Debug, Clone)]
pub enum Target {
    /// A whole block device that passed the checks.
    Device {
        /// The path given (`/dev/sdb`, `/dev/disk/by-id/...`).
        path: PathBuf,
        /// The device as checked.
        device: BlockDevice,
    },
    /// A regular file standing in for a card: created or truncated, then written.
    File(PathBuf),
}

impl Target {
    /// The path written.
    pub fn path(&self) -> &Path {
        match self {
            Target::Device { path, .. } | Target::File(path) => path,
        }
    }
}

/// Resolves the DEVICE argument into a [`Target`]: a whole block device the policy
/// accepts (else [`FlashError::Refused`] with every reason, or
/// [`FlashError::Partition`]), or a regular file.
pub fn target(
    roots: &crate::Roots,
    path: &Path,
    policy: crate::Policy,
) -> Result<Target, FlashError> {
    match crate::devices::resolve(roots, path, policy)? {
        crate::Resolved::File => Ok(Target::File(path.to_path_buf())),
        crate::Resolved::Device(device) if device.is_candidate() => Ok(Target::Device {
            path: path.to_path_buf(),
            device,
        }),
        crate::Resolved::Device(device) => Err(FlashError::Refused {
            path: path.to_path_buf(),
            name: device.name,
            reasons: device.exclusions,
        }),
    }
}

/// A test hook run between writing and verifying, with the target's path.
pub type VerifyHook<'a> = dyn Fn(&Path) -> io::Result<()> + 'a;

/// How to flash.
pub struct Options<'a> {
    /// Read back and compare after writing.
    pub verify: bool,
    /// Where progress goes.
    pub progress: &'a dyn Progress,
    /// Set (by a signal handler) to stop between blocks with [`FlashError::Interrupted`].
    pub cancel: Option<&'a AtomicBool>,
    /// Called with the target's path between writing and verifying. For tests: it lets
    /// them damage the card to prove verification notices.
    pub before_verify: Option<&'a VerifyHook<'a>>,
}

/// What was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The image's decompressed size.
    pub bytes: u64,
    /// sha256 of the decompressed image (hex).
    pub sha256: String,
    /// Whether the card was read back and matched.
    pub verified: bool,
}

/// How many bytes `target` can take: the device's size, or for a file the free space of
/// its filesystem plus what the file itself occupies (it is truncated first).
pub fn capacity(target: &Target) -> Result<u64, FlashError> {
    match target {
        Target::Device { device, .. } => Ok(device.size),
        Target::File(path) => file_capacity(path),
    }
}

fn file_capacity(path: &Path) -> Result<u64, FlashError> {
    use std::os::unix::fs::MetadataExt;
    let existing = std::fs::metadata(path)
        .map(|m| m.blocks().saturating_mul(512))
        .unwrap_or(0);
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let stat = rustix::fs::statvfs(&dir)
        .map_err(|e| FlashError::io(&dir, "measuring the free space of")(e.into()))?;
    Ok(stat
        .f_bavail
        .saturating_mul(stat.f_frsize)
        .saturating_add(existing))
}

/// Fails with [`FlashError::TooSmall`] when what is known of the image's size exceeds
/// `target`'s capacity, and with [`FlashError::SameFile`] when the target is the image.
pub fn check(image: &Image, target: &Target) -> Result<(), FlashError> {
    if let Target::File(path) = target {
        use std::os::unix::fs::MetadataExt;
        if let Ok(meta) = std::fs::metadata(path) {
            if (meta.dev(), meta.ino()) == image.identity {
                return Err(FlashError::SameFile {
                    path: path.to_path_buf(),
                });
            }
        }
    }
    let capacity = capacity(target)?;
    if let Some(needed) = image.size.lower_bound() {
        if needed > capacity {
            return Err(FlashError::TooSmall {
                target: target.path().to_path_buf(),
                needed,
                at_least: !matches!(image.size, ImageSize::Exact(_)),
                capacity,
                written: 0,
            });
        }
    }
    Ok(())
}

/// Writes `image` to `target`, syncs, and (with `options.verify`) reads it back and
/// compares. A file target is removed again when anything fails: a half-written copy
/// would look like a good one.
pub fn flash(image: &Image, target: &Target, options: &Options<'_>) -> Result<Outcome, FlashError> {
    check(image, target)?;
    let result = flash_checked(image, target, options);
    options.progress.finish();
    if result.is_err() {
        if let Target::File(path) = target {
            let _ = std::fs::remove_file(path);
        }
    }
    result
}

fn flash_checked(
    image: &Image,
    target: &Target,
    options: &Options<'_>,
) -> Result<Outcome, FlashError> {
    let path = target.path();
    let capacity = capacity(target)?;
    let (file, direct) = match target {
        Target::Device { device, .. } => open_device(path, device)?,
        Target::File(path) => (
            OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .open(path)
                .map_err(FlashError::io(path, "creating"))?,
            false,
        ),
    };
    let mut direct = direct;
    let mut reader = image.reader()?;
    let mut buf = AlignedBuf::new(BLOCK);
    let mut whole = Sha256::new();
    let mut blocks: Vec<[u8; 32]> = Vec::new();
    let mut written = 0u64;
    let mut unsynced = 0u64;
    options
        .progress
        .phase(Phase::Writing, image.size.lower_bound());
    loop {
        if cancelled(options) {
            return Err(FlashError::Interrupted {
                target: path.to_path_buf(),
                written,
                verifying: false,
            });
        }
        let n = read_up_to(&mut reader, buf.as_mut()).map_err(|source| FlashError::Image {
            path: image.path.clone(),
            message: "reading",
            offset: written,
            source,
        })?;
        if n == 0 {
            break;
        }
        if written + n as u64 > capacity {
            return Err(FlashError::TooSmall {
                target: path.to_path_buf(),
                needed: written + n as u64,
                at_least: true,
                capacity,
                written,
            });
        }
        let data = &buf.as_mut()[..n];
        whole.update(data);
        blocks.push(Sha256::digest(data).into());
        write_block(&file, data, written, &mut direct).map_err(|source| FlashError::Write {
            target: path.to_path_buf(),
            offset: written,
            source,
        })?;
        written += n as u64;
        options.progress.advance(n as u64);
        if !direct {
            unsynced += n as u64;
            if unsynced >= SYNC_EVERY && matches!(target, Target::Device { .. }) {
                file.sync_data().map_err(|source| FlashError::Write {
                    target: path.to_path_buf(),
                    offset: written,
                    source,
                })?;
                unsynced = 0;
            }
        }
    }
    options.progress.phase(Phase::Syncing, None);
    file.sync_all().map_err(|source| FlashError::Write {
        target: path.to_path_buf(),
        offset: written,
        source,
    })?;
    let sha256 = hex(&whole.finalize());
    if !options.verify {
        return Ok(Outcome {
            bytes: written,
            sha256,
            verified: false,
        });
    }
    if let Some(hook) = options.before_verify {
        hook(path).map_err(FlashError::io(path, "running the pre-verification hook on"))?;
    }
    verify(path, &blocks, written, &sha256, options, &mut buf)?;
    // The exclusive descriptor is held until here (see the module's documentation).
    drop(file);
    Ok(Outcome {
        bytes: written,
        sha256,
        verified: true,
    })
}

fn cancelled(options: &Options<'_>) -> bool {
    options.cancel.is_some_and(|c| c.load(Ordering::SeqCst))
}

/// Opens the checked device exclusively, preferring `O_DIRECT`, and makes sure the path
/// still names the device that was checked.
fn open_device(path: &Path, device: &BlockDevice) -> Result<(File, bool), FlashError> {
    let open = |direct: bool| {
        let flags = libc::O_EXCL | libc::O_CLOEXEC | if direct { libc::O_DIRECT } else { 0 };
        OpenOptions::new()
            .write(true)
            .custom_flags(flags)
            .open(path)
    };
    let (mut file, direct) = match open(true) {
        Ok(file) => (file, true),
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
            (open(false).map_err(|e| open_error(path, e))?, false)
        }
        Err(e) => return Err(open_error(path, e)),
    };
    let stat = rustix::fs::fstat(&file)
        .map_err(|e| FlashError::io(path, "reading the metadata of")(e.into()))?;
    let actual = (
        rustix::fs::major(stat.st_rdev),
        rustix::fs::minor(stat.st_rdev),
    );
    if actual != device.dev {
        return Err(FlashError::Changed {
            path: path.to_path_buf(),
            expected: format!("{}:{} ({})", device.dev.0, device.dev.1, device.name),
            actual: format!("{}:{}", actual.0, actual.1),
        });
    }
    let size = file
        .seek(SeekFrom::End(0))
        .map_err(FlashError::io(path, "measuring"))?;
    if size != device.size {
        return Err(FlashError::Changed {
            path: path.to_path_buf(),
            expected: format!("{} bytes", device.size),
            actual: format!("{size} bytes (was the card swapped?)"),
        });
    }
    Ok((file, direct))
}

fn open_error(path: &Path, e: io::Error) -> FlashError {
    if e.raw_os_error() == Some(libc::EBUSY) {
        FlashError::Busy {
            path: path.to_path_buf(),
        }
    } else {
        FlashError::io(path, "opening for writing")(e)
    }
}

/// Writes `data` at `offset`. With `O_DIRECT` only whole aligned blocks can be written:
/// an unaligned tail (the last block of an image whose size is not a multiple of 4096)
/// is written through the page cache after switching `O_DIRECT` off; the final `fsync`
/// covers it.
fn write_block(file: &File, data: &[u8], offset: u64, direct: &mut bool) -> io::Result<()> {
    if !*direct {
        return file.write_all_at(data, offset);
    }
    let aligned = data.len() - data.len() % ALIGN;
    file.write_all_at(&data[..aligned], offset)?;
    if aligned < data.len() {
        let flags = rustix::fs::fcntl_getfl(file)?;
        rustix::fs::fcntl_setfl(file, flags - rustix::fs::OFlags::DIRECT)?;
        *direct = false;
        file.write_all_at(&data[aligned..], offset + aligned as u64)?;
    }
    Ok(())
}

/// Reads `len` bytes of `path` back, block by block, and compares them with the
/// image's block digests.
fn verify(
    path: &Path,
    blocks: &[[u8; 32]],
    len: u64,
    image_sha256: &str,
    options: &Options<'_>,
    buf: &mut AlignedBuf,
) -> Result<(), FlashError> {
    let (file, direct) = open_for_reading(path)?;
    options.progress.phase(Phase::Verifying, Some(len));
    let mut whole = Sha256::new();
    let mut offset = 0u64;
    for expected in blocks {
        if cancelled(options) {
            return Err(FlashError::Interrupted {
                target: path.to_path_buf(),
                written: offset,
                verifying: true,
            });
        }
        let want = (len - offset).min(BLOCK as u64) as usize;
        // O_DIRECT reads whole aligned blocks; the read may pass the image's end (never
        // the device's: a device's size is a multiple of its sector size).
        let ask = if direct {
            want.div_ceil(ALIGN) * ALIGN
        } else {
            want
        };
        let got = read_at_up_to(&file, &mut buf.as_mut()[..ask], offset)
            .map_err(FlashError::io(path, "reading back"))?;
        if got < want {
            return Err(FlashError::ShortReadBack {
                target: path.to_path_buf(),
                offset: offset + got as u64,
                expected: len,
            });
        }
        let data = &buf.as_mut()[..want];
        whole.update(data);
        let actual: [u8; 32] = Sha256::digest(data).into();
        if &actual != expected {
            return Err(FlashError::Mismatch {
                target: path.to_path_buf(),
                offset,
                len: want as u64,
                expected: hex(expected),
                actual: hex(&actual),
                image_sha256: image_sha256.to_string(),
            });
        }
        offset += want as u64;
        options.progress.advance(want as u64);
    }
    let read_back = hex(&whole.finalize());
    if read_back != image_sha256 {
        // Unreachable when every block matched; kept so the whole-image claim is checked
        // as stated rather than inferred.
        return Err(FlashError::Mismatch {
            target: path.to_path_buf(),
            offset: 0,
            len,
            expected: image_sha256.to_string(),
            actual: read_back,
            image_sha256: image_sha256.to_string(),
        });
    }
    Ok(())
}

/// Opens for reading past the page cache: `O_DIRECT`, else the cache's pages of the file
/// are dropped first (`posix_fadvise(DONTNEED)`, after the `fsync` made them clean).
fn open_for_reading(path: &Path) -> Result<(File, bool), FlashError> {
    let direct = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECT | libc::O_CLOEXEC)
        .open(path);
    match direct {
        Ok(file) => Ok((file, true)),
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
            let file = File::open(path).map_err(FlashError::io(path, "opening for reading"))?;
            rustix::fs::fadvise(&file, 0, None, rustix::fs::Advice::DontNeed)
                .map_err(|e| FlashError::io(path, "dropping the cached pages of")(e.into()))?;
            Ok((file, false))
        }
        Err(e) => Err(FlashError::io(path, "opening for reading")(e)),
    }
}

fn read_at_up_to(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read_at(&mut buf[filled..], offset + filled as u64) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// A heap buffer whose usable part starts on an [`ALIGN`] boundary, as `O_DIRECT` needs.
struct AlignedBuf {
    storage: Vec<u8>,
    start: usize,
    len: usize,
}

impl AlignedBuf {
    fn new(len: usize) -> Self {
        let storage = vec![0u8; len + ALIGN];
        // For byte pointers align_offset is always < ALIGN; min() keeps the slice in
        // bounds whatever it returns.
        let start = storage.as_ptr().align_offset(ALIGN).min(ALIGN);
        AlignedBuf {
            storage,
            start,
            len,
        }
    }

    fn as_mut(&mut self) -> &mut [u8] {
        &mut self.storage[self.start..self.start + self.len]
    }
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}
