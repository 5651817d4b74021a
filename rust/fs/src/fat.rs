//! FAT32 boot partitions with the `fatfs` crate: format a partition inside an image,
//! write files and directories (long names, sorted entries, timestamps from an explicit
//! epoch), read them back, and edit an existing boot partition in place.
//!
//! `fatfs` fits: it formats FAT32 with any 11-byte label (the lowercase `bootfs` of
//! Raspberry Pi OS is kept as is, in the boot sector and the root label entry), takes a
//! caller-provided `TimeProvider`, and writes entries in creation order, so sorting the
//! input sorts the directories. One shortfall of `fatfs` 0.3.6 (the latest release) is
//! worked around here: it puts a long-name entry before the `.` and `..` entries of a new
//! directory, which `fsck.vfat` rejects ("Expected a valid '.' entry in this slot"); the
//! [`Slice`] notes where `.` was written and [`Fat::create_dir_all`] moves `.`/`..` into
//! slots 0 and 1.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;
use std::rc::Rc;
use std::sync::Mutex;

use crate::error::{Error, Result};

/// A window `[start, start+len)` of an image file, seen as a whole disk by `fatfs`.
#[derive(Debug)]
pub struct Slice<'f> {
    file: &'f File,
    start: u64,
    len: u64,
    pos: u64,
    last_dot: Rc<Cell<Option<u64>>>,
}

impl<'f> Slice<'f> {
    /// A window of `len` bytes at `start` in `file`.
    pub fn new(file: &'f File, start: u64, len: u64) -> Self {
        Slice {
            file,
            start,
            len,
            pos: 0,
            last_dot: Rc::new(Cell::new(None)),
        }
    }
}

impl Read for Slice<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = (buf.len() as u64).min(self.len.saturating_sub(self.pos)) as usize;
        if n == 0 {
            return Ok(0);
        }
        let r = self.file.read_at(&mut buf[..n], self.start + self.pos)?;
        self.pos += r as u64;
        Ok(r)
    }
}

impl Write for Slice<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = (buf.len() as u64).min(self.len.saturating_sub(self.pos)) as usize;
        if n == 0 && !buf.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::WriteZero,
                "write past the end of the partition",
            ));
        }
        // fatfs serialises an entry field by field: the 11-byte name comes first
        if &buf[..n] == b".          " {
            self.last_dot.set(Some(self.pos));
        }
        self.file.write_all_at(&buf[..n], self.start + self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Seek for Slice<'_> {
    fn seek(&mut self, p: SeekFrom) -> io::Result<u64> {
        let new = match p {
            SeekFrom::Start(o) => Some(o),
            SeekFrom::End(o) => self.len.checked_add_signed(o),
            SeekFrom::Current(o) => self.pos.checked_add_signed(o),
        };
        match new {
            Some(n) if n <= self.len => {
                self.pos = n;
                Ok(n)
            }
            _ => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "seek outside the partition",
            )),
        }
    }
}

/// A fixed clock for `fatfs`: every timestamp it writes is this instant (UTC).
#[derive(Debug)]
struct FixedTime {
    date: fatfs::Date,
    time: fatfs::Time,
}

impl fatfs::TimeProvider for FixedTime {
    fn get_current_date(&self) -> fatfs::Date {
        self.date
    }
    fn get_current_date_time(&self) -> fatfs::DateTime {
        fatfs::DateTime {
            date: self.date,
            time: self.time,
        }
    }
}

/// `fatfs` wants a `&'static` provider: keep one per distinct epoch (a handful per
/// process), so concurrent builds with different epochs do not interfere.
fn time_provider(epoch: i64) -> &'static FixedTime {
    static PROVIDERS: Mutex<BTreeMap<i64, &'static FixedTime>> = Mutex::new(BTreeMap::new());
    let mut m = PROVIDERS.lock().unwrap_or_else(|p| p.into_inner());
    m.entry(epoch).or_insert_with(|| {
        let (y, mo, d, h, mi, s) = civil(epoch);
        Box::leak(Box::new(FixedTime {
            date: fatfs::Date {
                year: y,
                month: mo,
                day: d,
            },
            time: fatfs::Time {
                hour: h,
                min: mi,
                sec: s,
                millis: 0,
            },
        }))
    })
}

/// UTC civil time of a Unix epoch, clamped to FAT's 1980..=2107 range.
fn civil(epoch: i64) -> (u16, u16, u16, u16, u16, u16) {
    const MIN: i64 = 315_532_800; // 1980-01-01
    const MAX: i64 = 4_354_819_199; // 2107-12-31 23:59:59
    let t = epoch.clamp(MIN, MAX);
    let days = t.div_euclid(86_400);
    let secs = t.rem_euclid(86_400);
    // Howard Hinnant's days-to-civil
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (
        y as u16,
        m as u16,
        d as u16,
        (secs / 3600) as u16,
        (secs / 60 % 60) as u16,
        (secs % 60) as u16,
    )
}

/// Options of a new FAT32 filesystem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FatSpec {
    /// Volume label, at most 11 bytes, kept as given (Raspberry Pi OS: `bootfs`).
    pub label: String,
    /// Seed for the volume id (serial number).
    pub seed: Vec<u8>,
    /// Time of every entry (SOURCE_DATE_EPOCH).
    pub timestamp: i64,
    /// Cluster size in bytes (default: chosen by size, as `fatfs` does).
    pub bytes_per_cluster: Option<u32>,
}

fn label_bytes(label: &str) -> Result<[u8; 11]> {
    let b = label.as_bytes();
    if b.is_empty() || b.len() > 11 {
        return Err(Error::Spec(format!(
            "FAT label {label:?} must be 1..=11 bytes"
        )));
    }
    let mut out = [b' '; 11];
    out[..b.len()].copy_from_slice(b);
    Ok(out)
}

fn fat_err(what: &str, e: io::Error) -> Error {
    Error::corrupt("FAT filesystem", format!("{what}: {e}"))
}

/// Formats `[offset, offset+size)` of `image` as FAT32.
pub fn format(image: &File, offset: u64, size: u64, spec: &FatSpec) -> Result<()> {
    crate::sparse::zero_range(image, offset, size)?;
    let mut opts = fatfs::FormatVolumeOptions::new()
        .fat_type(fatfs::FatType::Fat32)
        .volume_label(label_bytes(&spec.label)?)
        .volume_id(crate::seed::derive_u32(&spec.seed, "fat-volume-id"));
    if let Some(c) = spec.bytes_per_cluster {
        opts = opts.bytes_per_cluster(c);
    }
    fatfs::format_volume(Slice::new(image, offset, size), opts).map_err(|e| fat_err("format", e))
}

/// A mounted FAT filesystem inside an image.
pub struct Fat<'f> {
    fs: fatfs::FileSystem<Slice<'f>>,
    image: &'f File,
    offset: u64,
    size: u64,
    last_dot: Rc<Cell<Option<u64>>>,
}

impl std::fmt::Debug for Fat<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fat").finish_non_exhaustive()
    }
}

/// One directory entry as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FatEntry {
    /// Long name.
    pub name: String,
    /// Directory?
    pub is_dir: bool,
    /// Size in bytes.
    pub size: u64,
}

impl<'f> Fat<'f> {
    /// Mounts the FAT filesystem at `[offset, offset+size)`; new entries get `timestamp`.
    /// The allocation table is checked for looping cluster chains first (`fatfs` would
    /// follow them forever).
    pub fn open(image: &'f File, offset: u64, size: u64, timestamp: i64) -> Result<Self> {
        check_chains(image, offset, size)?;
        let opts = fatfs::FsOptions::new()
            .update_accessed_date(false)
            .time_provider(time_provider(timestamp));
        let slice = Slice::new(image, offset, size);
        let last_dot = slice.last_dot.clone();
        let fs = fatfs::FileSystem::new(slice, opts).map_err(|e| fat_err("mount", e))?;
        Ok(Fat {
            fs,
            image,
            offset,
            size,
            last_dot,
        })
    }

    /// Volume label from the boot sector.
    pub fn label(&self) -> String {
        String::from_utf8_lossy(self.fs.volume_label_as_bytes()).into_owned()
    }

    /// Creates `path`'s directories (like `mkdir -p`).
    pub fn create_dir_all(&self, path: &str) -> Result<()> {
        let mut dir = self.fs.root_dir();
        for (depth, c) in path.split('/').filter(|c| !c.is_empty()).enumerate() {
            dir = match dir.open_dir(c) {
                Ok(d) => d,
                Err(_) => {
                    self.last_dot.set(None);
                    let d = dir.create_dir(c).map_err(|e| fat_err(path, e))?;
                    self.fix_dots(path, depth == 0)?;
                    d
                }
            };
        }
        Ok(())
    }

    /// Rewrites a new directory's first slots as `.`, `..` (fatfs wrote
    /// `[LFN][.][LFN][..]`), leaving the remaining two slots free. In a directory of the
    /// root, `..` must point at cluster 0 (fatfs writes the root's cluster).
    fn fix_dots(&self, path: &str, in_root: bool) -> Result<()> {
        let Some(dot) = self.last_dot.get() else {
            return Err(Error::corrupt(
                "FAT filesystem",
                format!("{path}: `.` entry not seen"),
            ));
        };
        let first = dot
            .checked_sub(32)
            .ok_or_else(|| Error::corrupt("FAT filesystem", format!("{path}: `.` at slot 0")))?;
        let mut slots = [0u8; 128];
        self.image.read_exact_at(&mut slots, self.offset + first)?;
        let (lfn1, dot_e, lfn2, dotdot) = (
            &slots[0..32],
            &slots[32..64],
            &slots[64..96],
            &slots[96..128],
        );
        if lfn1[11] != 0x0F || lfn2[11] != 0x0F || !dotdot.starts_with(b"..         ") {
            return Err(Error::corrupt(
                "FAT filesystem",
                format!("{path}: unexpected layout of a new directory"),
            ));
        }
        let mut fixed = [0u8; 128];
        fixed[0..32].copy_from_slice(dot_e);
        fixed[32..64].copy_from_slice(dotdot);
        if in_root {
            fixed[32 + 20..32 + 22].fill(0);
            fixed[32 + 26..32 + 28].fill(0);
        }
        self.image.write_all_at(&fixed, self.offset + first)?;
        Ok(())
    }

    /// Creates or replaces the file at `path` (parents are created).
    pub fn write_file(&self, path: &str, data: &[u8]) -> Result<()> {
        let path = path.trim_start_matches('/');
        if let Some((parent, _)) = path.rsplit_once('/') {
            self.create_dir_all(parent)?;
        }
        let root = self.fs.root_dir();
        let mut f = root.create_file(path).map_err(|e| fat_err(path, e))?;
        f.truncate().map_err(|e| fat_err(path, e))?;
        f.write_all(data).map_err(|e| fat_err(path, e))?;
        f.flush().map_err(|e| fat_err(path, e))
    }

    /// Reads the file at `path`.
    pub fn read_file(&self, path: &str) -> Result<Vec<u8>> {
        let path = path.trim_start_matches('/');
        let mut f = self
            .fs
            .root_dir()
            .open_file(path)
            .map_err(|e| fat_err(path, e))?;
        let len = f.seek(SeekFrom::End(0)).map_err(|e| fat_err(path, e))?;
        // a corrupt entry may claim more than the partition holds (cluster chains can loop)
        if len > self.size {
            return Err(Error::corrupt(
                "FAT filesystem",
                format!("{path}: {len} bytes in a {}-byte partition", self.size),
            ));
        }
        f.seek(SeekFrom::Start(0)).map_err(|e| fat_err(path, e))?;
        let mut v = Vec::with_capacity(len as usize);
        f.take(len)
            .read_to_end(&mut v)
            .map_err(|e| fat_err(path, e))?;
        Ok(v)
    }

    /// Lists a directory (`""` for the root), without `.`/`..` and the label entry.
    pub fn list(&self, path: &str) -> Result<Vec<FatEntry>> {
        let path = path.trim_matches('/');
        let root = self.fs.root_dir();
        let dir = if path.is_empty() {
            root
        } else {
            root.open_dir(path).map_err(|e| fat_err(path, e))?
        };
        // cluster chains of a corrupt directory may loop: never list more entries than the
        // partition could hold
        let cap = self.size / 32 + 2;
        let mut out = Vec::new();
        for (seen, e) in dir.iter().enumerate() {
            if seen as u64 > cap {
                return Err(Error::corrupt(
                    "FAT filesystem",
                    format!("{path}: directory chain loops"),
                ));
            }
            let e = e.map_err(|e| fat_err(path, e))?;
            let name = e.file_name();
            if name == "." || name == ".." {
                continue;
            }
            out.push(FatEntry {
                is_dir: e.is_dir(),
                size: e.len(),
                name,
            });
        }
        Ok(out)
    }

    /// Writes many files in sorted path order (so every directory is sorted).
    pub fn write_files(&self, files: &BTreeMap<String, Vec<u8>>) -> Result<()> {
        for (p, d) in files {
            self.write_file(p, d)?;
        }
        Ok(())
    }

    /// Flushes (with an up-to-date free-cluster count in FSInfo) and clears the dirty
    /// flags.
    pub fn close(self) -> Result<()> {
        self.fs
            .stats()
            .map_err(|e| fat_err("free cluster count", e))?;
        self.fs.unmount().map_err(|e| fat_err("unmount", e))
    }
}

fn corrupt(reason: impl Into<String>) -> Error {
    Error::corrupt("FAT filesystem", reason)
}

/// Reads the first allocation table and fails if any cluster chain loops or leaves the
/// volume, so that every chain `fatfs` follows ends.
fn check_chains(image: &File, offset: u64, size: u64) -> Result<()> {
    let mut bs = [0u8; 512];
    if size < 512 {
        return Err(corrupt(format!("partition of {size} bytes")));
    }
    image.read_exact_at(&mut bs, offset)?;
    let u16_at = |o: usize| u64::from(u16::from_le_bytes([bs[o], bs[o + 1]]));
    let u32_at = |o: usize| u64::from(u32::from_le_bytes([bs[o], bs[o + 1], bs[o + 2], bs[o + 3]]));
    let bps = u16_at(0x0B);
    let spc = u64::from(bs[0x0D]);
    let reserved = u16_at(0x0E);
    let fats = u64::from(bs[0x10]);
    let root_entries = u16_at(0x11);
    let total = match u16_at(0x13) {
        0 => u32_at(0x20),
        n => n,
    };
    let per_fat = match u16_at(0x16) {
        0 => u32_at(0x24),
        n => n,
    };
    if !(512..=4096).contains(&bps)
        || !bps.is_power_of_two()
        || spc == 0
        || !spc.is_power_of_two()
        || reserved == 0
        || fats == 0
        || per_fat == 0
    {
        return Err(corrupt("invalid boot sector geometry"));
    }
    let root_sectors = (root_entries * 32).div_ceil(bps);
    let data_start = reserved + fats * per_fat + root_sectors;
    if total <= data_start || total * bps > size {
        return Err(corrupt(format!(
            "{total} sectors of {bps} bytes do not fit in {size} bytes"
        )));
    }
    let clusters = (total - data_start) / spc;
    let bits = match clusters {
        0..=4084 => 12,
        4085..=65524 => 16,
        _ => 32,
    };
    let fat_bytes = (clusters + 2) * bits / 8 + 2;
    if fat_bytes > per_fat * bps {
        return Err(corrupt("allocation table too small for the cluster count"));
    }
    let mut fat = vec![0u8; fat_bytes as usize];
    image.read_exact_at(&mut fat, offset + reserved * bps)?;
    let next = |c: u64| -> Option<u64> {
        let v = match bits {
            12 => {
                let o = (c * 3 / 2) as usize;
                let w = u64::from(u16::from_le_bytes([fat[o], fat[o + 1]]));
                if c % 2 == 0 {
                    w & 0xFFF
                } else {
                    w >> 4
                }
            }
            16 => {
                let o = (c * 2) as usize;
                u64::from(u16::from_le_bytes([fat[o], fat[o + 1]]))
            }
            _ => {
                let o = (c * 4) as usize;
                u64::from(u32::from_le_bytes([
                    fat[o],
                    fat[o + 1],
                    fat[o + 2],
                    fat[o + 3],
                ])) & 0x0FFF_FFFF
            }
        };
        (2..clusters + 2).contains(&v).then_some(v)
    };
    // 0 = unvisited, 1 = on the current path, 2 = known to terminate
    let mut state = vec![0u8; (clusters + 2) as usize];
    let mut path = Vec::new();
    for start in 2..clusters + 2 {
        let mut c = start;
        loop {
            match state[c as usize] {
                2 => break,
                1 => return Err(corrupt(format!("cluster chain through {c} loops"))),
                _ => {}
            }
            state[c as usize] = 1;
            path.push(c);
            match next(c) {
                Some(n) => c = n,
                None => break,
            }
        }
        for p in path.drain(..) {
            state[p as usize] = 2;
        }
    }
    Ok(())
}

/// Adds or replaces one file (e.g. `offspot.yaml`) in the FAT partition at
/// `[offset, offset+size)` of an existing image, touching only the clusters, FAT entries,
/// directory entry and FSInfo sector involved.
pub fn replace_file(
    image: &File,
    offset: u64,
    size: u64,
    path: &str,
    data: &[u8],
    timestamp: i64,
) -> Result<()> {
    let fat = Fat::open(image, offset, size, timestamp)?;
    fat.write_file(path, data)?;
    fat.close()
}

#[cfg(test)]
mod tests {
    use super::civil;

    #[test]
    fn civil_dates() {
        assert_eq!(civil(0), (1980, 1, 1, 0, 0, 0));
        assert_eq!(civil(1_700_000_000), (2023, 11, 14, 22, 13, 20));
        assert_eq!(civil(951_782_400), (2000, 2, 29, 0, 0, 0));
    }
}
