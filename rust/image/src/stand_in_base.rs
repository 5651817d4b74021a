//! A stand-in for nixspot's own base image (`base.source: "nixspot:base"`), generated
//! here with offspot's layout until the base image built from Debian packages lands:
//! MBR; p1 FAT32 `bootfs` with `config.txt` and `cmdline.txt`; p2 ext4 `rootfs`; p3 ext4
//! `data` holding `master_fs` (so a device grows the data partition on first boot),
//! `images/` and `contents/`. It boots nothing by itself, but it has exactly the shape
//! assembly and the image oracles check, and it is byte-reproducible.

use nixspot_fs::ext4::{Entry, EntryKind, FileData, Meta, Size};
use nixspot_fs::image::{create_image, ext4_options, FatData, ImageSpec, PartitionContent};
use nixspot_fs::partition::TableKind;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The recipe `base.source` that names nixspot's own base image.
pub const SOURCE: &str = "nixspot:base";

/// Bumped whenever the stand-in's content changes, so caches never mix versions.
pub const VERSION: u32 = 1;

/// Fixed timestamp of the stand-in (2024-01-01T00:00:00Z): it must not depend on the
/// recipe, so that every recipe shares one cached base.
const TIMESTAMP: i64 = 1_704_067_200;

fn file(path: &str, content: &str) -> Entry {
    Entry {
        path: PathBuf::from(path),
        kind: EntryKind::File(FileData::Bytes(content.as_bytes().to_vec())),
        meta: Meta {
            mtime: TIMESTAMP,
            ..Meta::new(0o644)
        },
    }
}

fn dir(path: &str) -> Entry {
    Entry {
        path: PathBuf::from(path),
        kind: EntryKind::Dir,
        meta: Meta {
            mtime: TIMESTAMP,
            ..Meta::new(0o755)
        },
    }
}

/// Writes the stand-in base image to `path` (replacing it).
pub fn write(path: &Path) -> Result<(), nixspot_fs::Error> {
    let seed = format!("nixspot-stand-in-base-v{VERSION}").into_bytes();
    let boot_files: BTreeMap<String, FatData> = [
        (
            "config.txt",
            "# nixspot stand-in base image\narm_64bit=1\nenable_uart=1\n",
        ),
        (
            "cmdline.txt",
            "console=serial0,115200 root=LABEL=rootfs rootfstype=ext4 rootwait\n",
        ),
    ]
    .into_iter()
    .map(|(name, text)| (name.to_string(), FatData::Bytes(text.as_bytes().to_vec())))
    .collect();
    let rootfs = vec![
        dir("etc"),
        file(
            "etc/os-release",
            "PRETTY_NAME=\"nixspot stand-in base\"\nID=nixspot\n",
        ),
        file("etc/hostname", "offspot-base\n"),
    ];
    let data = vec![file("master_fs", ""), dir("images"), dir("contents")];
    let minimal = Size::Minimal {
        margin_bytes: 4 << 20,
        margin_percent: 0,
    };
    let spec = ImageSpec {
        table: TableKind::Mbr,
        align: 4 << 20,
        seed: seed.clone(),
        timestamp: TIMESTAMP,
        partitions: vec![
            PartitionContent::Fat32 {
                size: 64 << 20,
                label: "bootfs".into(),
                files: boot_files,
            },
            PartitionContent::Ext4 {
                options: ext4_options(
                    "rootfs",
                    &[&seed[..], b"/rootfs"].concat(),
                    TIMESTAMP,
                    minimal,
                ),
                entries: rootfs,
            },
            PartitionContent::Ext4 {
                options: ext4_options("data", &[&seed[..], b"/data"].concat(), TIMESTAMP, minimal),
                entries: data,
            },
        ],
        bootable: None,
    };
    create_image(path, spec)?;
    Ok(())
}

/// The stand-in base image in `dir`, written there first if missing (through a
/// temporary file, so concurrent builds never see a partial image).
pub fn ensure_in(dir: &Path) -> Result<PathBuf, nixspot_fs::Error> {
    let path = dir.join(format!("nixspot-base-stand-in-v{VERSION}.img"));
    if path.is_file() {
        return Ok(path);
    }
    std::fs::create_dir_all(dir).map_err(|source| nixspot_fs::Error::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let temp = dir.join(format!(
        ".nixspot-base-stand-in-v{VERSION}.img.{}",
        std::process::id()
    ));
    write(&temp)?;
    std::fs::rename(&temp, &path).map_err(|source| nixspot_fs::Error::Io {
        path: path.clone(),
        source,
    })?;
    Ok(path)
}
