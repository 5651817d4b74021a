//! Sparse-aware copying between files: data ranges are found with `SEEK_DATA`/`SEEK_HOLE`
//! and copied with `copy_file_range` (which clones on reflink-capable filesystems), falling
//! back to plain positioned read/write when the kernel refuses (e.g. across filesystems).

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

/// Copies `[src_off, src_off+len)` of `src` to `dst_off` in `dst`, leaving holes as holes
/// (the destination range must read as zeros beforehand, e.g. after [`zero_range`]).
pub fn copy_sparse(src: &File, src_off: u64, dst: &File, dst_off: u64, len: u64) -> io::Result<()> {
    for r in data_ranges(src, src_off, src_off + len)? {
        copy_range(src, r.offset, dst, dst_off + (r.offset - src_off), r.len)?;
    }
    Ok(())
}

/// Makes `[off, off+len)` of `file` read as zeros, growing the file if needed: punches a
/// hole where the filesystem supports it, writes zeros otherwise.
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
    #[cfg(target_os = "linux")]
    {
        // SAFETY: fallocate on a valid descriptor has no memory effects.
        let r = unsafe {
            libc::fallocate(
                file.as_raw_fd(),
                libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_KEEP_SIZE,
                off as libc::off_t,
                (punch_end - off) as libc::off_t,
            )
        };
        if r == 0 {
            return Ok(());
        }
    }
    let zeros = vec![0u8; 1 << 20];
    let mut pos = off;
    while pos < punch_end {
        let n = ((punch_end - pos) as usize).min(zeros.len());
        file.write_all_at(&zeros[..n], pos)?;
        pos += n as u64;
    }
    Ok(())
}
