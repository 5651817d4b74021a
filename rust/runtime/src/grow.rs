//! First-boot growth of the data partition (`nixspot-runtime grow-data`): while
//! `/data/master_fs` exists (offspot's marker of a freshly flashed card), the last
//! partition is extended to the end of the card in the MBR, the kernel is told its new
//! size, the mounted ext4 filesystem is resized online, and the marker is removed.
//!
//! Only the partition holding the data mount is touched, and only when it is the last
//! one on an MBR disk; anything unexpected leaves the card as it is and is reported.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

/// What went wrong.
#[derive(Debug, thiserror::Error)]
pub enum GrowError {
    /// A file or device could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The layout is not one this program grows.
    #[error("{0}")]
    Layout(String),
}

fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> GrowError {
    let path = path.into();
    move |source| GrowError::Io { path, source }
}

/// What [`grow_data`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grown {
    /// No marker: the card was grown at an earlier boot.
    AlreadyDone,
    /// The partition was grown (or already reached the end of the card).
    Grown {
        /// The partition device (`mmcblk0p3`).
        partition: String,
        /// Its size before, bytes.
        from: u64,
        /// Its size after, bytes.
        to: u64,
    },
}

/// The marker of a card not grown yet, relative to the data mount point.
pub const MARKER: &str = "master_fs";

/// Sysfs facts about one partition.
#[derive(Debug, Clone, PartialEq, Eq)]
struct PartitionInfo {
    name: String,
    disk: String,
    number: usize,
    start_sectors: u64,
    size_sectors: u64,
    disk_sectors: u64,
}

fn read_number(path: &Path) -> Result<u64, GrowError> {
    let text = std::fs::read_to_string(path).map_err(io(path))?;
    text.trim()
        .parse()
        .map_err(|_| GrowError::Layout(format!("{}: not a number: {text:?}", path.display())))
}

/// The block device mounted at `mount_point`, from a `/proc/self/mounts` text.
fn mounted_device(mounts: &str, mount_point: &str) -> Option<String> {
    // the last matching line: a later mount hides earlier ones
    mounts
        .lines()
        .rev()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            Some((f.next()?, f.next()?))
        })
        .find(|(_, m)| *m == mount_point)
        .map(|(d, _)| d.to_string())
}

fn partition_info(sys_block: &Path, device: &str) -> Result<PartitionInfo, GrowError> {
    let name = device.trim_start_matches("/dev/").to_string();
    let part_dir = sys_block.join(&name);
    if !part_dir.join("partition").exists() {
        return Err(GrowError::Layout(format!("{device} is not a partition")));
    }
    let number = read_number(&part_dir.join("partition"))? as usize;
    // /sys/class/block/<part> links to …/<disk>/<part>
    let real = std::fs::canonicalize(&part_dir).map_err(io(&part_dir))?;
    let disk = real
        .parent()
        .and_then(Path::file_name)
        .and_then(|n| n.to_str())
        .ok_or_else(|| GrowError::Layout(format!("{device}: no parent disk in sysfs")))?
        .to_string();
    Ok(PartitionInfo {
        number,
        start_sectors: read_number(&part_dir.join("start"))?,
        size_sectors: read_number(&part_dir.join("size"))?,
        disk_sectors: read_number(&sys_block.join(&disk).join("size"))?,
        name,
        disk,
    })
}

// <linux/blkpg.h>: tell the kernel a partition changed size while it is in use.
const BLKPG: libc::c_ulong = 0x1269;
const BLKPG_RESIZE_PARTITION: libc::c_int = 3;

#[repr(C)]
struct BlkpgPartition {
    start: libc::c_longlong,
    length: libc::c_longlong,
    pno: libc::c_int,
    devname: [libc::c_char; 64],
    volname: [libc::c_char; 64],
}

#[repr(C)]
struct BlkpgIoctlArg {
    op: libc::c_int,
    flags: libc::c_int,
    datalen: libc::c_int,
    data: *mut libc::c_void,
}

// <linux/ext4.h>: EXT4_IOC_RESIZE_FS = _IOW('f', 16, __u64).
const EXT4_IOC_RESIZE_FS: libc::c_ulong = 0x4008_6610;

fn resize_partition_in_kernel(
    disk: &File,
    disk_path: &Path,
    p: &PartitionInfo,
    new_sectors: u64,
) -> Result<(), GrowError> {
    let mut part = BlkpgPartition {
        start: (p.start_sectors * 512) as libc::c_longlong,
        length: (new_sectors * 512) as libc::c_longlong,
        pno: p.number as libc::c_int,
        devname: [0; 64],
        volname: [0; 64],
    };
    let mut arg = BlkpgIoctlArg {
        op: BLKPG_RESIZE_PARTITION,
        flags: 0,
        datalen: std::mem::size_of::<BlkpgPartition>() as libc::c_int,
        data: (&mut part as *mut BlkpgPartition).cast(),
    };
    // SAFETY: BLKPG reads a blkpg_ioctl_arg whose data points at a blkpg_partition of
    // datalen bytes; both live until the call returns.
    let r = unsafe { libc::ioctl(disk.as_raw_fd(), BLKPG as _, &mut arg) };
    ioctl_result(r, disk_path)
}

/// An ioctl's return value as a result naming `path`.
fn ioctl_result(r: libc::c_int, path: &Path) -> Result<(), GrowError> {
    if r == 0 {
        return Ok(());
    }
    Err(GrowError::Io {
        path: path.to_path_buf(),
        source: std::io::Error::last_os_error(),
    })
}

fn resize_ext4_online(mount_point: &Path, new_blocks: u64) -> Result<(), GrowError> {
    let dir = File::open(mount_point).map_err(io(mount_point))?;
    let mut blocks: u64 = new_blocks;
    // SAFETY: EXT4_IOC_RESIZE_FS reads one u64 (the new block count) from the pointer.
    let r = unsafe { libc::ioctl(dir.as_raw_fd(), EXT4_IOC_RESIZE_FS as _, &mut blocks) };
    ioctl_result(r, mount_point)
}

/// The new size of `p` in sectors: up to the end of the disk, rounded down to whole
/// 4 KiB filesystem blocks; `None` when less than 1 MiB would be gained.
fn target_sectors(p: &PartitionInfo) -> Option<u64> {
    let available = p.disk_sectors.checked_sub(p.start_sectors)?;
    let target = available / 8 * 8;
    (target >= p.size_sectors + 2048).then_some(target)
}

/// Grows the partition mounted at `mount_point` (normally `/data`) to the end of its
/// card if the marker is there, then removes the marker.
pub fn grow_data(mount_point: &Path) -> Result<Grown, GrowError> {
    let marker = mount_point.join(MARKER);
    if !marker.exists() {
        return Ok(Grown::AlreadyDone);
    }
    let mounts = std::fs::read_to_string("/proc/self/mounts").map_err(io("/proc/self/mounts"))?;
    let mp = mount_point.to_string_lossy();
    let device = mounted_device(&mounts, &mp)
        .ok_or_else(|| GrowError::Layout(format!("nothing is mounted at {mp}")))?;
    let p = partition_info(Path::new("/sys/class/block"), &device)?;
    let from = p.size_sectors * 512;
    let Some(new_sectors) = target_sectors(&p) else {
        std::fs::remove_file(&marker).map_err(io(&marker))?;
        return Ok(Grown::Grown {
            partition: p.name,
            from,
            to: from,
        });
    };

    let disk_path = PathBuf::from("/dev").join(&p.disk);
    let mut disk = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&disk_path)
        .map_err(io(&disk_path))?;
    let mut mbr = mbrman::MBR::read_from(&mut disk, 512).map_err(|e| {
        GrowError::Layout(format!("{}: not an MBR disk ({e})", disk_path.display()))
    })?;
    let last = mbr
        .iter()
        .filter(|(_, e)| e.is_used())
        .max_by_key(|(_, e)| e.starting_lba)
        .map(|(i, e)| (i, e.starting_lba));
    match last {
        Some((i, lba)) if i == p.number && u64::from(lba) == p.start_sectors => {}
        _ => {
            return Err(GrowError::Layout(format!(
                "{device} (partition {}, sector {}) is not the last partition of {}",
                p.number,
                p.start_sectors,
                disk_path.display()
            )))
        }
    }
    let sectors = u32::try_from(new_sectors).map_err(|_| {
        GrowError::Layout(format!(
            "{}: an MBR partition cannot reach beyond 2 TiB",
            disk_path.display()
        ))
    })?;
    mbr[p.number].sectors = sectors;
    mbr.write_into(&mut disk)
        .map_err(|e| GrowError::Layout(format!("{}: writing the MBR: {e}", disk_path.display())))?;
    disk.sync_all().map_err(io(&disk_path))?;
    resize_partition_in_kernel(&disk, &disk_path, &p, new_sectors)?;
    resize_ext4_online(mount_point, new_sectors * 512 / 4096)?;
    std::fs::remove_file(&marker).map_err(io(&marker))?;
    Ok(Grown::Grown {
        partition: p.name,
        from,
        to: new_sectors * 512,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_data_mount_is_found() {
        let mounts =
            "/dev/root / ext4 rw 0 0\n/dev/mmcblk0p3 /data ext4 rw 0 0\nproc /proc proc rw 0 0\n";
        assert_eq!(
            mounted_device(mounts, "/data").as_deref(),
            Some("/dev/mmcblk0p3")
        );
        assert_eq!(mounted_device(mounts, "/srv"), None);
    }

    #[test]
    fn growth_reaches_the_end_in_whole_blocks_or_is_skipped() {
        let p = PartitionInfo {
            name: "mmcblk0p3".into(),
            disk: "mmcblk0".into(),
            number: 3,
            start_sectors: 2_000_001,
            size_sectors: 131_072,
            disk_sectors: 4_194_304,
        };
        let t = target_sectors(&p).unwrap();
        assert_eq!(t % 8, 0);
        assert!(p.start_sectors + t <= p.disk_sectors);
        assert!(p.start_sectors + t + 8 > p.disk_sectors);
        let full = PartitionInfo {
            size_sectors: 4_194_304 - 2_000_001 - 100,
            ..p.clone()
        };
        assert_eq!(target_sectors(&full), None);
        let beyond = PartitionInfo {
            start_sectors: 5_000_000,
            ..p
        };
        assert_eq!(target_sectors(&beyond), None);
    }

    #[test]
    fn without_the_marker_nothing_happens() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(grow_data(dir.path()).unwrap(), Grown::AlreadyDone);
    }

    #[test]
    fn sysfs_facts_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let disk = dir.path().join("devices/mmcblk0");
        let part = disk.join("mmcblk0p3");
        std::fs::create_dir_all(&part).unwrap();
        std::fs::write(disk.join("size"), "4194304\n").unwrap();
        std::fs::write(part.join("partition"), "3\n").unwrap();
        std::fs::write(part.join("start"), "2000001\n").unwrap();
        std::fs::write(part.join("size"), "131072\n").unwrap();
        let block = dir.path().join("block");
        std::fs::create_dir_all(&block).unwrap();
        std::os::unix::fs::symlink(&part, block.join("mmcblk0p3")).unwrap();
        std::os::unix::fs::symlink(&disk, block.join("mmcblk0")).unwrap();
        let info = partition_info(&block, "/dev/mmcblk0p3").unwrap();
        assert_eq!(
            info,
            PartitionInfo {
                name: "mmcblk0p3".into(),
                disk: "mmcblk0".into(),
                number: 3,
                start_sectors: 2_000_001,
                size_sectors: 131_072,
                disk_sectors: 4_194_304,
            }
        );
        assert!(partition_info(&block, "/dev/mmcblk0").is_err());
    }
}
