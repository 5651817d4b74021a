//! Kernel, device tree, initrd and command line read out of an image's FAT boot partition.
//!
//! QEMU's `raspi3b` and `raspi4b` ignore the VideoCore firmware, `config.txt` and
//! `cmdline.txt`, so the driver does the firmware's job: it follows `config.txt`
//! (`kernel=`, `initramfs`, `device_tree=`, `os_prefix=`, `cmdline=`, with the section
//! filters of the emulated [`Board`]) and falls back to the names Debian's
//! `raspi-firmware` writes (`vmlinuz-*`, `initrd.img-*`, the board's upstream device
//! tree, `cmdline.txt`). The files booted are thus the ones real hardware boots.

use std::fs::File;
use std::path::Path;

use nixspot_fs::fat::Fat;

use crate::error::{Error, Result};

/// The device tree of the emulated Pi 3 B.
pub const PI3B_DTB: &str = "bcm2837-rpi-3-b.dtb";
/// The device tree of the emulated Pi 4 B.
pub const PI4B_DTB: &str = "bcm2711-rpi-4-b.dtb";
/// The device tree of the Pi Zero 2 W (upstream name, as Debian's kernel ships it).
pub const ZERO2W_DTB: &str = "bcm2837-rpi-zero-2-w.dtb";

/// A Raspberry Pi model the driver boots: the QEMU machine that emulates it, the
/// `config.txt` section that applies to it and the device tree its firmware picks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Board {
    /// Raspberry Pi 3 Model B in QEMU's `raspi3b` (QEMU 7.2 has it).
    #[default]
    Raspi3b,
    /// Raspberry Pi 4 Model B in QEMU's `raspi4b` (QEMU 9 or later; Debian bookworm has
    /// it only in backports' QEMU 10).
    Raspi4b,
    /// Raspberry Pi Zero 2 W: QEMU has no such machine, but its SoC is the Pi 3's
    /// BCM2837, so `raspi3b` boots it with the Zero 2 W device tree (its WiFi SDIO slot
    /// is one more MMC host: the card is `mmcblk0` or `mmcblk1` by probe order).
    Zero2w,
}

impl Board {
    /// Every board, in the order `--machine` lists them.
    pub const ALL: [Board; 3] = [Board::Raspi3b, Board::Raspi4b, Board::Zero2w];

    /// The name `nixspot vm-test --machine` takes.
    pub fn name(self) -> &'static str {
        match self {
            Board::Raspi3b => "raspi3b",
            Board::Raspi4b => "raspi4b",
            Board::Zero2w => "zero2w",
        }
    }

    /// The board called `name` (see [`Board::name`]).
    pub fn from_name(name: &str) -> Option<Board> {
        Board::ALL.into_iter().find(|b| b.name() == name)
    }

    /// The QEMU machine (`-M`).
    pub fn qemu_machine(self) -> &'static str {
        match self {
            Board::Raspi3b | Board::Zero2w => "raspi3b",
            Board::Raspi4b => "raspi4b",
        }
    }

    /// The model filter of `config.txt` sections that applies to the board.
    pub fn config_filter(self) -> &'static str {
        match self {
            Board::Raspi3b => "pi3",
            Board::Raspi4b => "pi4",
            Board::Zero2w => "pi02",
        }
    }

    /// The device tree booted when `config.txt` names none (the firmware's choice with
    /// `upstream_kernel=1`).
    pub fn default_dtb(self) -> &'static str {
        match self {
            Board::Raspi3b => PI3B_DTB,
            Board::Raspi4b => PI4B_DTB,
            Board::Zero2w => ZERO2W_DTB,
        }
    }
}

impl std::fmt::Display for Board {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One file taken from the boot partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BootFile {
    /// Its path in the boot partition, as found there.
    pub name: String,
    /// Its bytes.
    pub data: Vec<u8>,
}

/// Everything QEMU needs to boot the image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BootFiles {
    /// Number of the boot partition (1-based).
    pub partition: u32,
    /// The kernel (`-kernel`).
    pub kernel: BootFile,
    /// The device tree (`-dtb`).
    pub dtb: BootFile,
    /// The initial ramdisk (`-initrd`), when the configuration names one.
    pub initrd: Option<BootFile>,
    /// The kernel command line (first line of `cmdline.txt`, trimmed; empty when absent).
    pub cmdline: String,
    /// `offspot.yaml`, the runtime's configuration, when the partition holds one.
    pub offspot_yaml: Option<String>,
}

/// The settings of `config.txt` that choose the files to boot (values as written).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BootConfig {
    /// `kernel=`.
    pub kernel: Option<String>,
    /// `initramfs FILE [followkernel]` (or the legacy `ramfsfile=`).
    pub initramfs: Option<String>,
    /// `device_tree=`.
    pub device_tree: Option<String>,
    /// `os_prefix=` (prepended to the kernel, initramfs and device tree names).
    pub os_prefix: String,
    /// `cmdline=` (default `cmdline.txt`).
    pub cmdline: Option<String>,
}

/// Model filters of `config.txt` sections; the emulated board matches only its own.
const MODEL_FILTERS: &[&str] = &[
    "pi0", "pi0w", "pi02", "pi1", "pi2", "pi3", "pi3+", "pi4", "pi400", "pi5", "pi500", "cm0",
    "cm4", "cm4s", "cm5",
];

/// Parses the settings of `config.txt` that apply to a Raspberry Pi 3 B.
pub fn parse_config_txt(text: &str) -> BootConfig {
    parse_config_txt_for(text, Board::Raspi3b)
}

/// Parses the settings of `config.txt` that apply to `board`.
///
/// Sections: `[all]` applies, the board's own filter ([`Board::config_filter`])
/// applies, other model filters, `[none]`, `[tryboot]` and `[board-type=…]` do not;
/// other conditional filters (`[HDMI:0]`, `[EDID=…]`, `[gpio…]`, `[0x…]`) leave the
/// current state unchanged.
pub fn parse_config_txt_for(text: &str, board: Board) -> BootConfig {
    let mut cfg = BootConfig::default();
    let mut active = true;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(filter) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            let filter = filter.trim().to_ascii_lowercase();
            if filter == "all" || filter == board.config_filter() {
                active = true;
            } else if filter == "none"
                || filter == "tryboot"
                || filter.starts_with("board-type")
                || MODEL_FILTERS.contains(&filter.as_str())
            {
                active = false;
            }
            continue;
        }
        if !active {
            continue;
        }
        if let Some(rest) = line.strip_prefix("initramfs") {
            if rest.starts_with(char::is_whitespace) {
                if let Some(file) = rest.split_whitespace().next() {
                    cfg.initramfs = Some(file.to_string());
                }
                continue;
            }
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let value = value.trim().to_string();
        match key.trim() {
            "kernel" => cfg.kernel = Some(value),
            "ramfsfile" => cfg.initramfs = Some(value),
            "device_tree" => cfg.device_tree = Some(value),
            "os_prefix" => cfg.os_prefix = value,
            "cmdline" => cfg.cmdline = Some(value),
            _ => {}
        }
    }
    cfg
}

/// The root directory listing of a FAT partition, for case-insensitive lookups (FAT and
/// the firmware ignore case).
struct Listing<'a, 'f> {
    fat: &'a Fat<'f>,
    image: &'a Path,
}

impl Listing<'_, '_> {
    /// The stored name of `path` (matched case-insensitively), if it is a file.
    fn find(&self, path: &str) -> Result<Option<String>> {
        let path = path.trim_start_matches('/');
        let (dir, base) = path.rsplit_once('/').unwrap_or(("", path));
        let entries = match self.fat.list(dir) {
            Ok(e) => e,
            // a missing directory (e.g. an os_prefix folder) just means a missing file
            Err(_) if !dir.is_empty() => return Ok(None),
            Err(error) => {
                return Err(Error::Fs {
                    path: self.image.to_path_buf(),
                    error,
                })
            }
        };
        Ok(entries
            .into_iter()
            .find(|e| !e.is_dir && e.name.eq_ignore_ascii_case(base))
            .map(|e| {
                if dir.is_empty() {
                    e.name
                } else {
                    format!("{dir}/{}", e.name)
                }
            }))
    }

    /// Names of root files starting with `prefix` (case-insensitively), sorted.
    fn with_prefix(&self, prefix: &str) -> Result<Vec<String>> {
        let entries = self.fat.list("").map_err(|error| Error::Fs {
            path: self.image.to_path_buf(),
            error,
        })?;
        let mut names: Vec<String> = entries
            .into_iter()
            .filter(|e| {
                !e.is_dir
                    && e.name.len() > prefix.len()
                    && e.name.is_char_boundary(prefix.len())
                    && e.name[..prefix.len()].eq_ignore_ascii_case(prefix)
            })
            .map(|e| e.name)
            .collect();
        names.sort();
        Ok(names)
    }

    fn read(&self, name: &str) -> Result<BootFile> {
        let data = self.fat.read_file(name).map_err(|error| Error::Fs {
            path: self.image.to_path_buf(),
            error,
        })?;
        Ok(BootFile {
            name: name.to_string(),
            data,
        })
    }
}

/// Reads the boot files of `image` from its first FAT partition, as a Pi 3 B boots them.
pub fn read_boot_files(image: &Path) -> Result<BootFiles> {
    read_boot_files_for(image, Board::Raspi3b, None)
}

/// Reads the boot files of `image` from its first FAT partition, as `board` boots them;
/// `dtb`, when given, names the device tree instead of `config.txt` and the board's
/// default (the path in the partition, without `os_prefix`).
pub fn read_boot_files_for(image: &Path, board: Board, dtb: Option<&str>) -> Result<BootFiles> {
    let table = nixspot_fs::partition::read_table(image).map_err(|error| Error::Fs {
        path: image.to_path_buf(),
        error,
    })?;
    let file = File::open(image).map_err(|e| Error::io(image, e))?;
    let mut tried = Vec::new();
    for part in &table.partitions {
        match Fat::open(&file, part.start, part.size, 0) {
            Ok(fat) => return boot_files_from(&fat, part.number, image, board, dtb),
            Err(e) => tried.push(format!("p{}: {e}", part.number)),
        }
    }
    Err(Error::BootFiles {
        path: image.to_path_buf(),
        message: format!(
            "no FAT boot partition found among {} partitions ({})",
            table.partitions.len(),
            tried.join("; ")
        ),
    })
}

fn missing(image: &Path, what: &str, name: &str, why: &str) -> Error {
    Error::BootFiles {
        path: image.to_path_buf(),
        message: format!("{what} `{name}` ({why}) is not in the boot partition"),
    }
}

fn boot_files_from(
    fat: &Fat<'_>,
    partition: u32,
    image: &Path,
    board: Board,
    dtb: Option<&str>,
) -> Result<BootFiles> {
    let listing = Listing { fat, image };
    let cfg = match listing.find("config.txt")? {
        Some(name) => {
            let bytes = listing.read(&name)?.data;
            parse_config_txt_for(&String::from_utf8_lossy(&bytes), board)
        }
        None => BootConfig::default(),
    };
    let prefix = cfg.os_prefix.as_str();

    let kernel_name = match &cfg.kernel {
        Some(k) => {
            let want = format!("{prefix}{k}");
            listing
                .find(&want)?
                .ok_or_else(|| missing(image, "kernel", &want, "config.txt kernel="))?
        }
        None => match listing.with_prefix("vmlinuz-")?.pop() {
            Some(k) => k,
            None => listing.find("kernel8.img")?.ok_or_else(|| {
                missing(
                    image,
                    "kernel",
                    "vmlinuz-* or kernel8.img",
                    "no kernel= in config.txt",
                )
            })?,
        },
    };

    let initrd_name = match &cfg.initramfs {
        Some(i) => {
            let want = format!("{prefix}{i}");
            Some(
                listing
                    .find(&want)?
                    .ok_or_else(|| missing(image, "initramfs", &want, "config.txt initramfs"))?,
            )
        }
        // Debian pairs vmlinuz-VERSION with initrd.img-VERSION
        None => match kernel_name
            .rsplit('/')
            .next()
            .and_then(|k| k.strip_prefix("vmlinuz-"))
        {
            Some(version) => listing.find(&format!("{prefix}initrd.img-{version}"))?,
            None => None,
        },
    };

    let dtb_name = match (dtb, &cfg.device_tree) {
        (Some(d), _) => listing
            .find(d)?
            .ok_or_else(|| missing(image, "device tree", d, "--dtb"))?,
        (None, Some(d)) => {
            let want = format!("{prefix}{d}");
            listing
                .find(&want)?
                .ok_or_else(|| missing(image, "device tree", &want, "config.txt device_tree="))?
        }
        (None, None) => {
            let want = format!("{prefix}{}", board.default_dtb());
            let why = format!("the {board} default");
            listing
                .find(&want)?
                .ok_or_else(|| missing(image, "device tree", &want, &why))?
        }
    };

    let cmdline_file = cfg.cmdline.as_deref().unwrap_or("cmdline.txt");
    let cmdline = match listing.find(cmdline_file)? {
        Some(name) => {
            let bytes = listing.read(&name)?.data;
            String::from_utf8_lossy(&bytes)
                .lines()
                .next()
                .unwrap_or("")
                .trim()
                .to_string()
        }
        None => String::new(),
    };
    let offspot_yaml = match listing.find("offspot.yaml")? {
        Some(name) => Some(String::from_utf8_lossy(&listing.read(&name)?.data).into_owned()),
        None => None,
    };

    Ok(BootFiles {
        partition,
        kernel: listing.read(&kernel_name)?,
        dtb: listing.read(&dtb_name)?,
        initrd: match initrd_name {
            Some(n) => Some(listing.read(&n)?),
            None => None,
        },
        cmdline,
        offspot_yaml,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debian_raspi_firmware_config() {
        let text = "# Do not modify this file!\n\
                    arm_64bit=1\nenable_uart=1\nupstream_kernel=1\n\n\
                    kernel=vmlinuz-6.1.0-50-arm64\n\
                    # For details on the initramfs directive, see\n\
                    initramfs initrd.img-6.1.0-50-arm64\n";
        let cfg = parse_config_txt(text);
        assert_eq!(cfg.kernel.as_deref(), Some("vmlinuz-6.1.0-50-arm64"));
        assert_eq!(cfg.initramfs.as_deref(), Some("initrd.img-6.1.0-50-arm64"));
        assert_eq!(cfg.device_tree, None);
        assert_eq!(cfg.os_prefix, "");
    }

    #[test]
    fn sections_follow_the_pi3_model() {
        let text = "kernel=a\n[pi4]\nkernel=pi4-kernel\ndevice_tree=x.dtb\n\
                    [pi3]\ninitramfs pi3.img followkernel\n[HDMI:0]\ncmdline=c.txt\n\
                    [none]\nkernel=never\n[all]\nos_prefix=os/\n[tryboot]\nkernel=t\n";
        let cfg = parse_config_txt(text);
        assert_eq!(cfg.kernel.as_deref(), Some("a"));
        assert_eq!(cfg.initramfs.as_deref(), Some("pi3.img"));
        assert_eq!(cfg.device_tree, None);
        assert_eq!(cfg.cmdline.as_deref(), Some("c.txt"));
        assert_eq!(cfg.os_prefix, "os/");
    }

    #[test]
    fn sections_follow_the_emulated_board() {
        let text = "device_tree=all.dtb\n[pi4]\ndevice_tree=pi4.dtb\n\
                    [pi02]\ndevice_tree=zero.dtb\n[pi3]\nkernel=pi3\n[all]\n";
        let dt = |b| parse_config_txt_for(text, b).device_tree;
        assert_eq!(dt(Board::Raspi3b).as_deref(), Some("all.dtb"));
        assert_eq!(dt(Board::Raspi4b).as_deref(), Some("pi4.dtb"));
        assert_eq!(dt(Board::Zero2w).as_deref(), Some("zero.dtb"));
        assert_eq!(parse_config_txt_for(text, Board::Raspi4b).kernel, None);
    }

    #[test]
    fn board_names_round_trip() {
        for b in Board::ALL {
            assert_eq!(Board::from_name(b.name()), Some(b));
        }
        assert_eq!(Board::from_name("raspi5"), None);
        assert_eq!(Board::Zero2w.qemu_machine(), "raspi3b");
        assert_eq!(Board::Raspi4b.default_dtb(), PI4B_DTB);
    }

    #[test]
    fn initramfs_needs_a_separator() {
        let cfg = parse_config_txt("initramfsx=1\nramfsfile=r.img\n");
        assert_eq!(cfg.initramfs.as_deref(), Some("r.img"));
    }
}
