//! Block device discovery and the safety policy: which whole devices may be written.
//!
//! Everything is read from sysfs and procfs under injectable roots ([`Roots`]), so the
//! classification is tested over fake trees.
//!
//! The policy, in order:
//!
//! - only whole devices (`/sys/block/*`) are candidates: a partition is refused with the
//!   name of its whole device;
//! - a device is *removable* when its `removable` attribute is 1, or when its sysfs path
//!   goes through a USB device or an MMC host: USB SD readers and card-reader chips often
//!   report `removable=0`, yet a card is what they hold. The cost is that a USB hard disk
//!   is a candidate too (as in Raspberry Pi Imager), hence the confirmation showing model,
//!   vendor, size and serial. A built-in eMMC (an MMC device of type `MMC`, not `SD`) and
//!   its boot/RPMB areas are excluded even though they hang off an MMC host;
//! - loop devices are excluded unless [`Policy::allow_loop`] (for tests); other virtual
//!   devices (device-mapper, md, zram, ram) always;
//! - a device with no medium (size 0) or write-protected (`ro`, an SD card's lock switch)
//!   is excluded;
//! - a device is excluded when it or one of its partitions is mounted (matched by
//!   major:minor in `mountinfo`, and by the mount's source device for filesystems such as
//!   btrfs that report an anonymous device number), is an active swap (`/proc/swaps`), or
//!   is held by a device-mapper/md/LVM stack (`holders/`), mounted or not; a device holding
//!   `/`, `/boot` or `/usr` is called the system disk.

use crate::error::FlashError;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Component, Path, PathBuf};

/// Where sysfs, procfs and devtmpfs are: `/sys`, `/proc`, `/dev` on a real system, a
/// temporary tree in tests.
#[derive(Debug, Clone)]
pub struct Roots {
    /// sysfs (`/sys`).
    pub sys: PathBuf,
    /// procfs (`/proc`).
    pub proc: PathBuf,
    /// devtmpfs (`/dev`).
    pub dev: PathBuf,
}

impl Default for Roots {
    fn default() -> Self {
        Roots {
            sys: PathBuf::from("/sys"),
            proc: PathBuf::from("/proc"),
            dev: PathBuf::from("/dev"),
        }
    }
}

/// What the policy lets through beyond its defaults.
#[derive(Debug, Clone, Copy, Default)]
pub struct Policy {
    /// Accept loop devices as cards (the tests' stand-ins for SD cards).
    pub allow_loop: bool,
}

/// How a device is attached, from its sysfs path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transport {
    /// Behind a USB device (USB card readers and sticks).
    Usb,
    /// On an MMC/SD host; `kind` is the card's `type` attribute (`SD`, `MMC`, `SDIO`).
    Mmc {
        /// The card type the kernel reports.
        kind: Option<String>,
    },
    /// A loop device.
    Loop,
    /// Another virtual device (device-mapper, md, zram, ram, nbd).
    Virtual,
    /// NVMe.
    Nvme,
    /// SATA/PATA.
    Ata,
    /// virtio.
    Virtio,
    /// Anything else (SCSI, ...).
    Other,
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Transport::Usb => f.write_str("usb"),
            Transport::Mmc { kind: Some(k) } => write!(f, "mmc ({k})"),
            Transport::Mmc { kind: None } => f.write_str("mmc"),
            Transport::Loop => f.write_str("loop"),
            Transport::Virtual => f.write_str("virtual"),
            Transport::Nvme => f.write_str("nvme"),
            Transport::Ata => f.write_str("ata"),
            Transport::Virtio => f.write_str("virtio"),
            Transport::Other => f.write_str("other"),
        }
    }
}

/// A mount of the device or of one of its partitions (or of a device stacked on it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// The kernel name of the mounted block device (`sdb1`, `dm-0`).
    pub device: String,
    /// Where it is mounted.
    pub mount_point: String,
}

/// Why a device may not be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exclusion {
    /// A loop device, without [`Policy::allow_loop`].
    Loop,
    /// A virtual device (device-mapper, md, zram...).
    Virtual,
    /// A built-in eMMC or one of its boot/RPMB areas.
    Emmc,
    /// Neither `removable` nor behind USB or an MMC host.
    NotRemovable {
        /// How it is attached.
        transport: Transport,
    },
    /// Size 0: a reader without a card.
    NoMedium,
    /// Read-only (an SD card's lock switch, or a read-only device).
    ReadOnly,
    /// Holds `/`, `/boot` or `/usr`.
    SystemDisk {
        /// The system mount.
        mount: Mount,
    },
    /// It or a partition is mounted.
    Mounted {
        /// The mount.
        mount: Mount,
    },
    /// It or a partition is an active swap area.
    Swap {
        /// The swap device's kernel name.
        device: String,
    },
    /// Held by a stacked device (device-mapper, md, LVM).
    Held {
        /// The device on which the holder sits (this device or a partition).
        device: String,
        /// The holder's kernel name.
        holder: String,
    },
}

impl fmt::Display for Exclusion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Exclusion::Loop => f.write_str("a loop device, not a card"),
            Exclusion::Virtual => f.write_str("a virtual device (device-mapper, md, zram...)"),
            Exclusion::Emmc => f.write_str("a built-in eMMC (MMC type \"MMC\"), not an SD card"),
            Exclusion::NotRemovable { transport } => write!(
                f,
                "not removable (removable=0, attached by {transport}, not USB or an SD slot)"
            ),
            Exclusion::NoMedium => f.write_str("no medium (size 0: is a card inserted?)"),
            Exclusion::ReadOnly => f.write_str("read-only (is the card's lock switch on?)"),
            Exclusion::SystemDisk { mount } => write!(
                f,
                "the system disk: /dev/{} is mounted at {}",
                mount.device, mount.mount_point
            ),
            Exclusion::Mounted { mount } => write!(
                f,
                "/dev/{} is mounted at {} (unmount it first)",
                mount.device, mount.mount_point
            ),
            Exclusion::Swap { device } => write!(f, "/dev/{device} is an active swap area"),
            Exclusion::Held { device, holder } => write!(
                f,
                "/dev/{device} is held by {holder} (a device-mapper/LVM/md device on top of it)"
            ),
        }
    }
}

/// A whole block device and what the policy thinks of it.
#[derive(Debug, Clone)]
pub struct BlockDevice {
    /// Kernel name (`sdb`, `mmcblk0`, `loop3`).
    pub name: String,
    /// Device number (major, minor).
    pub dev: (u32, u32),
    /// Size in bytes.
    pub size: u64,
    /// Vendor, as the kernel reports it (trimmed).
    pub vendor: Option<String>,
    /// Model (trimmed).
    pub model: Option<String>,
    /// Serial number, when the kernel knows one.
    pub serial: Option<String>,
    /// The `removable` attribute.
    pub removable: bool,
    /// How it is attached.
    pub transport: Transport,
    /// Mounts on it, its partitions and devices stacked on them.
    pub mounts: Vec<Mount>,
    /// Every reason not to write it; empty for a candidate.
    pub exclusions: Vec<Exclusion>,
}

impl BlockDevice {
    /// Whether the policy lets it be written.
    pub fn is_candidate(&self) -> bool {
        self.exclusions.is_empty()
    }

    /// `/dev/NAME`.
    pub fn dev_path(&self) -> PathBuf {
        PathBuf::from("/dev").join(&self.name)
    }

    /// "vendor model", whichever are known.
    pub fn description(&self) -> String {
        let parts: Vec<&str> = [self.vendor.as_deref(), self.model.as_deref()]
            .into_iter()
            .flatten()
            .collect();
        if parts.is_empty() {
            "(no model)".into()
        } else {
            parts.join(" ")
        }
    }
}

/// Mounts and swaps of the running system, read once.
struct SystemState {
    /// Mount points by device number.
    mounts_by_dev: BTreeMap<(u32, u32), Vec<String>>,
    /// Mount points by source device name (for anonymous device numbers).
    mounts_by_name: BTreeMap<String, Vec<String>>,
    /// Kernel names of swap devices.
    swaps: Vec<String>,
}

/// Every whole block device, sorted by name, classified by `policy`.
pub fn list(roots: &Roots, policy: Policy) -> Result<Vec<BlockDevice>, FlashError> {
    let state = SystemState::read(roots)?;
    let dir = roots.sys.join("block");
    let mut names = Vec::new();
    for entry in std::fs::read_dir(&dir).map_err(FlashError::io(&dir, "listing"))? {
        let entry = entry.map_err(FlashError::io(&dir, "listing"))?;
        names.push(entry.file_name().to_string_lossy().into_owned());
    }
    names.sort();
    names
        .iter()
        .map(|name| classify(roots, &state, name, policy))
        .collect()
}

/// What a DEVICE argument resolved to.
#[derive(Debug, Clone)]
pub enum Resolved {
    /// A whole block device (classified: check [`BlockDevice::is_candidate`]).
    Device(BlockDevice),
    /// A regular file, or a path to create one at.
    File,
}

/// Resolves the DEVICE argument: a whole block device (classified), a regular file, or
/// a new file. A partition, a missing path under `/dev`, a directory or a character
/// device is an error.
pub fn resolve(roots: &Roots, path: &Path, policy: Policy) -> Result<Resolved, FlashError> {
    use std::os::unix::fs::FileTypeExt;
    let meta = match std::fs::metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            // A new file under /dev is a mistyped device name; /dev/shm is a tmpfs for
            // files.
            let under = |dir: &str| {
                path.starts_with(roots.dev.join(dir))
                    || path.starts_with(Path::new("/dev").join(dir))
            };
            if under("") && !under("shm") {
                return Err(FlashError::NoSuchDevice {
                    path: path.to_path_buf(),
                });
            }
            return Ok(Resolved::File);
        }
        Err(e) => return Err(FlashError::io(path, "reading the metadata of")(e)),
    };
    let kind = meta.file_type();
    if kind.is_file() {
        return Ok(Resolved::File);
    }
    if !kind.is_block_device() {
        let what = if kind.is_dir() {
            "a directory"
        } else if kind.is_char_device() {
            "a character device"
        } else {
            "neither a file nor a block device"
        };
        return Err(FlashError::NotATarget {
            path: path.to_path_buf(),
            kind: what,
        });
    }
    use std::os::unix::fs::MetadataExt;
    let rdev = meta.rdev();
    let dev = (rustix::fs::major(rdev), rustix::fs::minor(rdev));
    resolve_number(roots, path, dev, policy).map(Resolved::Device)
}

/// The whole device with number `dev`, classified; a partition is an error naming its
/// whole device.
pub fn resolve_number(
    roots: &Roots,
    path: &Path,
    dev: (u32, u32),
    policy: Policy,
) -> Result<BlockDevice, FlashError> {
    let link = roots
        .sys
        .join("dev/block")
        .join(format!("{}:{}", dev.0, dev.1));
    let real = std::fs::canonicalize(&link).map_err(FlashError::io(&link, "resolving"))?;
    let name = file_name(&real);
    if real.join("partition").exists() {
        let whole = real.parent().map(file_name).unwrap_or_default();
        return Err(FlashError::Partition {
            path: path.to_path_buf(),
            partition: name,
            whole,
        });
    }
    let state = SystemState::read(roots)?;
    classify(roots, &state, &name, policy)
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// A sysfs attribute, trimmed; `None` when absent or empty.
fn attr(path: &Path) -> Option<String> {
    let text = std::fs::read(path).ok()?;
    let text = String::from_utf8_lossy(&text).trim().to_string();
    (!text.is_empty()).then_some(text)
}

fn parse_dev(path: &Path) -> Result<(u32, u32), FlashError> {
    let text = attr(path).unwrap_or_default();
    parse_major_minor(&text).ok_or_else(|| FlashError::Malformed {
        path: path.to_path_buf(),
        content: text,
        expected: "MAJOR:MINOR",
    })
}

fn parse_major_minor(text: &str) -> Option<(u32, u32)> {
    let (major, minor) = text.split_once(':')?;
    Some((major.parse().ok()?, minor.parse().ok()?))
}

/// The transport, from the device's real sysfs path
/// (`/sys/devices/platform/.../usb1/1-1/.../block/sdb`).
fn transport(real: &Path, name: &str) -> Transport {
    let parts: Vec<String> = real
        .components()
        .filter_map(|c| match c {
            Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect();
    let has = |pred: &dyn Fn(&str) -> bool| parts.iter().any(|p| pred(p));
    if has(&|p| p == "virtual") {
        if name.starts_with("loop") {
            Transport::Loop
        } else {
            Transport::Virtual
        }
    } else if has(&|p| p.starts_with("usb")) {
        Transport::Usb
    } else if has(&|p| p == "mmc_host") {
        Transport::Mmc { kind: None }
    } else if has(&|p| p.starts_with("nvme")) {
        Transport::Nvme
    } else if has(&|p| p.starts_with("ata")) {
        Transport::Ata
    } else if has(&|p| p.starts_with("virtio")) {
        Transport::Virtio
    } else {
        Transport::Other
    }
}

/// The serial number: the SCSI/MMC device's own, else the USB device's above it.
fn serial(real: &Path) -> Option<String> {
    if let Some(serial) = attr(&real.join("device/serial")) {
        return Some(serial);
    }
    real.ancestors()
        .skip(1)
        .find(|dir| dir.join("idVendor").exists())
        .and_then(|usb| attr(&usb.join("serial")))
}

fn classify(
    roots: &Roots,
    state: &SystemState,
    name: &str,
    policy: Policy,
) -> Result<BlockDevice, FlashError> {
    let link = roots.sys.join("block").join(name);
    let real = std::fs::canonicalize(&link).map_err(FlashError::io(&link, "resolving"))?;
    let dev = parse_dev(&real.join("dev"))?;
    let size_path = real.join("size");
    let size_text = attr(&size_path).unwrap_or_default();
    let sectors: u64 = size_text.parse().map_err(|_| FlashError::Malformed {
        path: size_path.clone(),
        content: size_text.clone(),
        expected: "a number of 512-byte sectors",
    })?;
    let removable = attr(&real.join("removable")).as_deref() == Some("1");
    let read_only = attr(&real.join("ro")).as_deref() == Some("1");
    let mut transport = transport(&real, name);
    if let Transport::Mmc { kind } = &mut transport {
        *kind = attr(&real.join("device/type"));
    }
    // MMC cards name their model `name`; SCSI (USB included) devices `model`.
    let model = attr(&real.join("device/model")).or_else(|| match transport {
        Transport::Mmc { .. } => attr(&real.join("device/name")),
        _ => None,
    });
    // virtio and NVMe devices put a PCI vendor number there, which names nothing.
    let vendor = attr(&real.join("device/vendor")).filter(|v| !v.starts_with("0x"));

    let mut exclusions = Vec::new();
    match &transport {
        Transport::Loop if !policy.allow_loop => exclusions.push(Exclusion::Loop),
        Transport::Loop => {}
        Transport::Virtual => exclusions.push(Exclusion::Virtual),
        Transport::Mmc { kind } => {
            let emmc_area = name.contains("boot") || name.contains("rpmb");
            if kind.as_deref() == Some("MMC") || emmc_area {
                exclusions.push(Exclusion::Emmc);
            }
        }
        Transport::Usb => {}
        other if !removable => exclusions.push(Exclusion::NotRemovable {
            transport: other.clone(),
        }),
        _ => {}
    }
    if sectors == 0 {
        exclusions.push(Exclusion::NoMedium);
    }
    if read_only {
        exclusions.push(Exclusion::ReadOnly);
    }

    // The device itself and its partitions, each with what sits on it.
    let mut parts = vec![(name.to_string(), real.clone(), dev)];
    let mut entries: Vec<_> = std::fs::read_dir(&real)
        .map_err(FlashError::io(&real, "listing"))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.join("partition").exists())
        .collect();
    entries.sort();
    for part in entries {
        let part_dev = parse_dev(&part.join("dev"))?;
        parts.push((file_name(&part), part, part_dev));
    }
    let mut mounts = Vec::new();
    for (part_name, part_dir, part_dev) in &parts {
        state.mounts_of(part_name, *part_dev, &mut mounts);
        if state.swaps.iter().any(|s| s == part_name) {
            exclusions.push(Exclusion::Swap {
                device: part_name.clone(),
            });
        }
        for holder in list_names(&part_dir.join("holders")) {
            exclusions.push(Exclusion::Held {
                device: part_name.clone(),
                holder: holder.clone(),
            });
            stacked_mounts(roots, state, &holder, &mut mounts, 0);
        }
    }
    for mount in &mounts {
        let system = ["/", "/boot", "/usr"]
            .iter()
            .any(|m| mount.mount_point == *m || mount.mount_point.starts_with("/boot/"));
        exclusions.push(if system {
            Exclusion::SystemDisk {
                mount: mount.clone(),
            }
        } else {
            Exclusion::Mounted {
                mount: mount.clone(),
            }
        });
    }
    Ok(BlockDevice {
        name: name.to_string(),
        dev,
        size: sectors.saturating_mul(512),
        vendor,
        model,
        serial: serial(&real),
        removable,
        transport,
        mounts,
        exclusions,
    })
}

/// Mounts of a stacked device (`dm-0`) and of whatever is stacked on it in turn.
fn stacked_mounts(
    roots: &Roots,
    state: &SystemState,
    name: &str,
    mounts: &mut Vec<Mount>,
    depth: usize,
) {
    // sysfs holder links cannot form cycles; the bound only guards against a broken tree.
    if depth > 16 {
        return;
    }
    let dir = roots.sys.join("block").join(name);
    if let Ok(dev) = parse_dev(&dir.join("dev")) {
        state.mounts_of(name, dev, mounts);
    }
    for holder in list_names(&dir.join("holders")) {
        stacked_mounts(roots, state, &holder, mounts, depth + 1);
    }
}

fn list_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

impl SystemState {
    fn read(roots: &Roots) -> Result<Self, FlashError> {
        let mountinfo = roots.proc.join("self/mountinfo");
        let text = std::fs::read(&mountinfo).map_err(FlashError::io(&mountinfo, "reading"))?;
        let mut mounts_by_dev: BTreeMap<(u32, u32), Vec<String>> = BTreeMap::new();
        let mut mounts_by_name: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for line in String::from_utf8_lossy(&text).lines() {
            let Some(entry) = parse_mountinfo_line(line) else {
                continue;
            };
            if let Some(dev) = entry.dev {
                mounts_by_dev
                    .entry(dev)
                    .or_default()
                    .push(entry.mount_point.clone());
            }
            if let Some(name) = device_name(roots, &entry.source) {
                mounts_by_name
                    .entry(name)
                    .or_default()
                    .push(entry.mount_point);
            }
        }
        let swaps_path = roots.proc.join("swaps");
        // No /proc/swaps: a kernel without swap support, so no swap areas.
        let swaps_text = std::fs::read(&swaps_path).unwrap_or_default();
        let swaps = String::from_utf8_lossy(&swaps_text)
            .lines()
            .skip(1)
            .filter_map(|line| {
                let mut fields = line.split_whitespace();
                let file = unescape(fields.next()?);
                (fields.next()? == "partition").then_some(file)
            })
            .filter_map(|file| device_name(roots, &file))
            .collect();
        Ok(SystemState {
            mounts_by_dev,
            mounts_by_name,
            swaps,
        })
    }

    fn mounts_of(&self, name: &str, dev: (u32, u32), out: &mut Vec<Mount>) {
        let by_dev = self.mounts_by_dev.get(&dev).into_iter().flatten();
        let by_name = self.mounts_by_name.get(name).into_iter().flatten();
        for mount_point in by_dev.chain(by_name) {
            let mount = Mount {
                device: name.to_string(),
                mount_point: mount_point.clone(),
            };
            if !out.contains(&mount) {
                out.push(mount);
            }
        }
    }
}

struct MountEntry {
    dev: Option<(u32, u32)>,
    mount_point: String,
    source: String,
}

/// One `/proc/self/mountinfo` line: `ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS
/// [OPTIONAL...] - FSTYPE SOURCE SUPEROPTIONS`.
fn parse_mountinfo_line(line: &str) -> Option<MountEntry> {
    let mut fields = line.split(' ');
    let dev = parse_major_minor(fields.nth(2)?);
    let mount_point = unescape(fields.nth(1)?);
    let rest: Vec<&str> = fields.collect();
    let sep = rest.iter().position(|f| *f == "-")?;
    let source = unescape(rest.get(sep + 2)?);
    Some(MountEntry {
        dev,
        mount_point,
        source,
    })
}

/// Undoes the kernel's octal escapes (`\040` for a space) in mountinfo and swaps fields.
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' {
            if let Some(digits) = bytes.get(i + 1..i + 4) {
                if digits.iter().all(|b| (b'0'..=b'7').contains(b)) {
                    let value = digits
                        .iter()
                        .fold(0u32, |acc, b| acc * 8 + u32::from(b - b'0'));
                    if let Ok(byte) = u8::try_from(value) {
                        out.push(byte);
                        i += 4;
                        continue;
                    }
                }
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The kernel name of a `/dev/...` source (`/dev/mapper/vg-root` → `dm-0` through its
/// link); `None` for sources that are not device paths (`proc`, `tmpfs`, `overlay`).
fn device_name(roots: &Roots, source: &str) -> Option<String> {
    let rel = source.strip_prefix("/dev/")?;
    let path = roots.dev.join(rel);
    let real = std::fs::canonicalize(&path).unwrap_or(path);
    Some(file_name(&real)).filter(|n| !n.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unescapes_octal() {
        assert_eq!(unescape(r"/mnt/my\040card"), "/mnt/my card");
        assert_eq!(unescape(r"/a\134b"), r"/a\b");
        assert_eq!(unescape(r"/trailing\04"), r"/trailing\04");
        assert_eq!(unescape(r"\"), r"\");
    }

    #[test]
    fn parses_mountinfo() {
        let e = parse_mountinfo_line(
            "36 35 98:0 /mnt1 /mnt/a\\040b rw,noatime master:1 - ext3 /dev/root rw,errors=continue",
        )
        .expect("line");
        assert_eq!(e.dev, Some((98, 0)));
        assert_eq!(e.mount_point, "/mnt/a b");
        assert_eq!(e.source, "/dev/root");
        assert!(parse_mountinfo_line("garbage").is_none());
    }
}
