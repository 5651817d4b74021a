//! Sparse-aware copying between files: data ranges are found with `SEEK_DATA`/`SEEK_HOLE`,
//! cloned with `FICLONERANGE` where the filesystem shares blocks between files (btrfs,
//! xfs), otherwise copied with `copy_file_range` (which also clones where it can), falling
//! back to plain positioned read/write when the kernel refuses (e.g. across filesystems).
//! Copies into a destination that already reads as zeros skip the source's all-zero
//! blocks, so they stay holes.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::os::unix::io::AsRawFd;

/// A range of bytes holding data (not a hole) in a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataRange {
    /// Byte offset of the range.
    pub offset: u64,
    /// Length in bytes.
    pub len: u64,
}

/// Lists the data ranges of `file` within `[start, end)`, in order. Filesystems that do not
/// support `SEEK_DATA` report the whole range as data, which is correct, only slower.
pub fn data_ranges(file: &File, start: u64, end: u64) -> io::Result<Vec<DataRange>> {
    let fd = file.as_raw_fd();
    let mut out = Vec::new();
    let mut pos = start;
    while pos < end {
        let Ok(off) = i64::try_from(pos) else { break };
        // SAFETY: lseek on a valid, owned file descriptor has no memory effects.
        let data = unsafe { libc::lseek(fd, off, libc::SEEK_DATA) };
        if data < 0 {
            let err = io::Error::last_os_error();
            match err.raw_os_error() {
                // No more data after `pos`: the rest is a hole.
                Some(libc::ENXIO) => break,
                Some(libc::EINVAL) | Some(libc::EOPNOTSUPP) => {
                    out.push(DataRange {
                        offset: pos,
                        len: end - pos,
                    });
                    break;
                }
                _ => return Err(err),
            }
        }
        let data = data as u64;
        if data >= end {
            break;
        }
        // SAFETY: as above.
        let hole = unsafe { libc::lseek(fd, data as i64, libc::SEEK_HOLE) };
        let hole = if hole < 0 {
            end
        } else {
            (hole as u64).min(end)
        };
        if hole <= data {
            break;
        }
        out.push(DataRange {
            offset: data,
            len: hole - data,
        });
        pos = hole;
    }
    Ok(out)
}

/// Copies `len` bytes from `src` at `src_off` to `dst` at `dst_off`, with `copy_file_range`
/// when the kernel allows it and positioned read/write otherwise.
pub fn copy_range(src: &File, src_off: u64, dst: &File, dst_off: u64, len: u64) -> io::Result<()> {
    let mut done = 0u64;
    #[cfg(target_os = "linux")]
    while done < len {
        let mut so = (src_off + done) as libc::loff_t;
        let mut d = (dst_off + done) as libc::loff_t;
        let chunk = ((len - done).min(1 << 30)) as usize;
        // SAFETY: both descriptors are valid for the duration of the call and the offset
        // pointers point to live locals.
        let n = unsafe {
            libc::copy_file_range(src.as_raw_fd(), &mut so, dst.as_raw_fd(), &mut d, chunk, 0)
        };
        if n < 0 {
            let err = io::Error::last_os_error();
            match err.raw_os_error() {
                Some(libc::EXDEV)
                | Some(libc::ENOSYS)
                | Some(libc::EOPNOTSUPP)
                | Some(libc::EINVAL)
                | Some(libc::EPERM) => break,
                Some(libc::EINTR) => continue,
                _ => return Err(err),
            }
        }
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "source ended at byte {} (expected {})",
                    src_off + done,
                    src_off + len
                ),
            ));
        }
        done += n as u64;
    }
    let mut buf = vec![0u8; (len - done).min(1 << 20) as usize];
    while done < len {
        let n = ((len - done) as usize).min(buf.len());
        let b = &mut buf[..n];
        src.read_exact_at(b, src_off + done)?;
        dst.write_all_at(b, dst_off + done)?;
        done += n as u64;
    }
    Ok(())
}

/// Copies `[src_off, src_off+len)` of `src` to `dst_off` in `dst`, leaving holes and
/// all-zero blocks as holes (the destination range must read as zeros beforehand, e.g.
/// after [`zero_range`] or in a new file).
pub fn copy_sparse(src: &File, src_off: u64, dst: &File, dst_off: u64, len: u64) -> io::Result<()> {
    copy_sparse_in_order(src, src_off, dst, dst_off, len, &mut |_| {})
}

/// [`copy_sparse`], front to back, calling `on_final(end)` each time the destination is
/// complete up to byte `end` (every few MiB, and `dst_off + len` at the end), so that a
/// reader can follow right behind the copy.
pub fn copy_sparse_in_order(
    src: &File,
    src_off: u64,
    dst: &File,
    dst_off: u64,
    len: u64,
    on_final: &mut dyn FnMut(u64),
) -> io::Result<()> {
    for r in data_ranges(src, src_off, src_off + len)? {
        let at = dst_off + (r.offset - src_off);
        let mut n = 0;
        while n < r.len {
            let k = (r.len - n).min(SCAN_WINDOW);
            copy_nonzero(src, r.offset + n, dst, at + n, k)?;
            n += k;
            on_final(at + n);
        }
    }
    on_final(dst_off + len);
    Ok(())
}

/// Bytes of the source examined at once by [`copy_nonzero`].
const SCAN_WINDOW: u64 = 8 << 20;

/// Block size at which zeros become holes (the page size, and the block size of the usual
/// host filesystems).
pub const HOLE_BLOCK: u64 = 4096;

/// Smallest copy worth an attempt to clone (a refused attempt costs a system call).
const CLONE_MIN: u64 = 1 << 20;

/// Copies `len` bytes from `src` at `src_off` to `dst` at `dst_off`, where the
/// destination already reads as zeros: the range is cloned where the filesystem allows
/// (the blocks are shared, nothing is read); otherwise the source is examined through a
/// read-only mapping of its page cache and only its runs of non-zero bytes are copied, so
/// every destination block that would only receive zeros stays a hole.
pub fn copy_nonzero(
    src: &File,
    src_off: u64,
    dst: &File,
    dst_off: u64,
    len: u64,
) -> io::Result<()> {
    if clone_range(src, src_off, dst, dst_off, len) {
        return Ok(());
    }
    let mut pos = 0;
    while pos < len {
        let n = (len - pos).min(SCAN_WINDOW);
        let size = src.metadata()?.len();
        if src_off + pos + n > size {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("source ended at byte {size} (expected {})", src_off + len),
            ));
        }
        match map_readonly(src, src_off + pos, n) {
            Some(map) => {
                for r in nonzero_runs(&map, dst_off + pos) {
                    copy_range(
                        src,
                        src_off + pos + r.offset,
                        dst,
                        dst_off + pos + r.offset,
                        r.len,
                    )?;
                }
            }
            None => copy_range(src, src_off + pos, dst, dst_off + pos, n)?,
        }
        pos += n;
    }
    Ok(())
}

/// Writes `data` at `offset` of `file`, where the file already reads as zeros (new, or
/// extended), skipping the blocks of the [`HOLE_BLOCK`] grid that would only receive
/// zeros, so they stay holes.
pub fn write_nonzero_at(file: &File, offset: u64, data: &[u8]) -> io::Result<()> {
    use std::os::unix::fs::FileExt as _;
    for r in nonzero_runs(data, offset) {
        let start = r.offset as usize;
        file.write_all_at(&data[start..start + r.len as usize], offset + r.offset)?;
    }
    Ok(())
}

/// The runs of `bytes` (which go to byte `at` of the destination) holding a non-zero byte,
/// in pieces of the destination's [`HOLE_BLOCK`] grid, as offsets into `bytes`.
fn nonzero_runs(bytes: &[u8], at: u64) -> Vec<DataRange> {
    let mut runs: Vec<DataRange> = Vec::new();
    let mut i = 0usize;
    while i < bytes.len() {
        let to_grid = (HOLE_BLOCK - (at + i as u64) % HOLE_BLOCK) as usize;
        let end = (i + to_grid).min(bytes.len());
        if !is_zero(&bytes[i..end]) {
            match runs.last_mut() {
                Some(r) if r.offset + r.len == i as u64 => r.len += (end - i) as u64,
                _ => runs.push(DataRange {
                    offset: i as u64,
                    len: (end - i) as u64,
                }),
            }
        }
        i = end;
    }
    runs
}

/// Whether every byte is zero; stops at the first non-zero 64-byte piece, so data costs
/// almost nothing to rule out.
pub fn is_zero(bytes: &[u8]) -> bool {
    let mut chunks = bytes.chunks_exact(64);
    chunks.all(|c| c.iter().fold(0u8, |a, &b| a | b) == 0)
        && chunks.remainder().iter().all(|&b| b == 0)
}

/// Maps `[offset, offset+len)` of `file` read-only and shared (its page cache, not a
/// copy); `None` when empty or when the kernel refuses. Not pre-faulted: a first touch
/// maps the cached pages around it in one fault, which costs less system time than
/// populating the mapping page by page (an assembly of 5 GB: 0.25 s less). The range must lie
/// within the file and nothing may truncate it while mapped (a read past the end of a
/// file faults): callers map only files this process writes, or check the size first.
pub fn map_readonly(file: &File, offset: u64, len: u64) -> Option<memmap2::Mmap> {
    if len == 0 {
        return None;
    }
    // SAFETY: see above — the mapped range exists and is not truncated while mapped.
    unsafe {
        memmap2::MmapOptions::new()
            .offset(offset)
            .len(usize::try_from(len).ok()?)
            .map(file)
    }
    .ok()
}

/// Shares `[src_off, src_off+len)` of `src` with `dst` at `dst_off` (`FICLONERANGE`:
/// btrfs, xfs and other reflink filesystems) when both offsets and the length are whole
/// blocks; false when the filesystem refuses or the range does not qualify.
fn clone_range(src: &File, src_off: u64, dst: &File, dst_off: u64, len: u64) -> bool {
    if len < CLONE_MIN || (src_off | dst_off | len) % HOLE_BLOCK != 0 {
        return false;
    }
    #[cfg(target_os = "linux")]
    {
        let arg = libc::file_clone_range {
            src_fd: i64::from(src.as_raw_fd()),
            src_offset: src_off,
            src_length: len,
            dest_offset: dst_off,
        };
        // SAFETY: FICLONERANGE reads the argument structure, which lives on the stack for
        // the call, and acts on two valid descriptors.
        let r = unsafe { libc::ioctl(dst.as_raw_fd(), libc::FICLONERANGE, &arg) };
        r == 0
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (src, dst);
        false
    }
}

/// Makes `[off, off+len)` of `file` read as zeros, growing the file if needed: punches a
/// hole over each data range where the filesystem supports it, writes zeros otherwise
/// (holes, e.g. the grown part of a new image, need nothing).
pub fn zero_range(file: &File, off: u64, len: u64) -> io::Result<()> {
    let end = off + len;
    let size = file.metadata()?.len();
    if size < end {
        file.set_len(end)?;
    }
    let punch_end = size.min(end);
    if punch_end <= off {
        return Ok(());
    }
    for r in data_ranges(file, off, punch_end)? {
        zero_data(file, r.offset, r.len)?;
    }
    Ok(())
}

fn zero_data(file: &File, off: u64, len: u64) -> io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: fallocate on a valid descriptor has no memory effects.
        let r = unsafe {
            libc::fallocate(
                file.as_raw_fd(),
                libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_KEEP_SIZE,
                off as libc::off_t,
                len as libc::off_t,
            )
        };
        if r == 0 {
            return Ok(());
        }
    }
    let zeros = vec![0u8; 1 << 20];
    let mut pos = off;
    while pos < off + len {
        let n = ((off + len - pos) as usize).min(zeros.len());
        file.write_all_at(&zeros[..n], pos)?;
        pos += n as u64;
    }
    Ok(())
}
