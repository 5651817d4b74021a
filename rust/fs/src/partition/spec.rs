//! Declarative partition-table specs and their layout.

use super::{Partition, SECTOR};
use crate::error::{Error, Result};

/// Which table to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableKind {
    /// DOS/MBR, primary partitions only.
    Mbr,
    /// GUID partition table with a protective MBR.
    Gpt,
}

/// What a partition holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartitionType {
    /// FAT32 with LBA addressing (MBR 0x0c; GPT basic data).
    Fat32,
    /// A Linux filesystem (MBR 0x83; GPT Linux filesystem data).
    Linux,
    /// Anything else.
    Other {
        /// MBR system id.
        mbr: u8,
        /// GPT type GUID.
        gpt: uuid::Uuid,
    },
}

impl PartitionType {
    /// MBR system id.
    pub fn mbr(self) -> u8 {
        match self {
            PartitionType::Fat32 => 0x0c,
            PartitionType::Linux => 0x83,
            PartitionType::Other { mbr, .. } => mbr,
        }
    }

    /// GPT type GUID.
    pub fn gpt(self) -> uuid::Uuid {
        match self {
            PartitionType::Fat32 => uuid::uuid!("EBD0A0A2-B9E5-4433-87C0-68B6B72699C7"),
            PartitionType::Linux => uuid::uuid!("0FC63DAF-8483-4772-8E79-3D69D8477DE4"),
            PartitionType::Other { gpt, .. } => gpt,
        }
    }
}

/// One partition of a spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionSpec {
    /// Start in bytes (e.g. to keep a base image's layout); `None` places the partition
    /// at the next aligned offset.
    pub start: Option<u64>,
    /// Size in bytes (rounded up to the alignment); `None` takes the rest of the disk
    /// (last partition only).
    pub size: Option<u64>,
    /// Type.
    pub kind: PartitionType,
    /// GPT partition name (ignored for MBR).
    pub name: String,
    /// Active / legacy-bootable flag.
    pub bootable: bool,
}

/// A whole table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableSpec {
    /// MBR or GPT.
    pub kind: TableKind,
    /// Disk size in bytes (multiple of 512).
    pub disk_size: u64,
    /// Start alignment in bytes (Raspberry Pi OS: 4 MiB); the first partition starts at
    /// the first aligned offset after the table.
    pub align: u64,
    /// Partitions, in order.
    pub partitions: Vec<PartitionSpec>,
    /// Seed for the disk signature / GUIDs.
    pub seed: Vec<u8>,
    /// MBR disk signature to keep (e.g. the base image's: Raspberry Pi OS refers to its
    /// partitions as `PARTUUID=<signature>-02`); derived from the seed when `None`.
    pub mbr_disk_signature: Option<u32>,
}

/// Computes the partitions' offsets and sizes.
pub fn layout(spec: &TableSpec) -> Result<Vec<Partition>> {
    if spec.align == 0 || spec.align % SECTOR != 0 {
        return Err(Error::Spec(format!(
            "alignment {} is not a multiple of 512",
            spec.align
        )));
    }
    if spec.disk_size % SECTOR != 0 {
        return Err(Error::Spec(format!(
            "disk size {} is not a multiple of 512",
            spec.disk_size
        )));
    }
    let max = match spec.kind {
        TableKind::Mbr => 4,
        TableKind::Gpt => 128,
    };
    if spec.partitions.is_empty() || spec.partitions.len() > max {
        return Err(Error::Spec(format!(
            "{} partitions (1..={max} supported)",
            spec.partitions.len()
        )));
    }
    // GPT keeps 33 sectors for its backup entries and header at the end
    let end = match spec.kind {
        TableKind::Mbr => spec.disk_size,
        TableKind::Gpt => spec.disk_size.saturating_sub(33 * SECTOR),
    };
    let mut out = Vec::new();
    let mut pos = spec.align.max(34 * SECTOR).div_ceil(spec.align) * spec.align;
    for (i, p) in spec.partitions.iter().enumerate() {
        if let Some(s) = p.start {
            if s < pos || s % SECTOR != 0 {
                return Err(Error::Spec(format!(
                    "partition {}: start {s} overlaps the previous partition or the table (next free: {pos}) or is not sector-aligned",
                    i + 1
                )));
            }
            pos = s;
        }
        let size = match p.size {
            Some(s) if s > 0 && p.start.is_some() => s.div_ceil(SECTOR) * SECTOR,
            Some(s) if s > 0 => s.div_ceil(spec.align) * spec.align,
            None if i + 1 == spec.partitions.len() => end.saturating_sub(pos) / SECTOR * SECTOR,
            _ => {
                return Err(Error::Spec(format!(
                    "partition {}: size missing or zero",
                    i + 1
                )))
            }
        };
        if size == 0 || pos + size > end {
            return Err(Error::Spec(format!(
                "partition {} ({size} bytes at {pos}) does not fit in a {}-byte disk",
                i + 1,
                spec.disk_size
            )));
        }
        if matches!(spec.kind, TableKind::Mbr) && (pos + size) / SECTOR > u64::from(u32::MAX) {
            return Err(Error::Spec("MBR cannot address beyond 2 TiB".into()));
        }
        let number = i as u32 + 1;
        let (mbr_type, gpt_type, guid) = match spec.kind {
            TableKind::Mbr => (Some(p.kind.mbr()), None, None),
            TableKind::Gpt => (
                None,
                Some(p.kind.gpt()),
                Some(crate::seed::derive_uuid(
                    &spec.seed,
                    &format!("gpt-partition-{number}"),
                )),
            ),
        };
        out.push(Partition {
            number,
            start: pos,
            size,
            mbr_type,
            gpt_type,
            guid,
            name: if spec.kind == TableKind::Gpt {
                p.name.clone()
            } else {
                String::new()
            },
            bootable: p.bootable,
        });
        pos = (pos + size).div_ceil(spec.align) * spec.align;
    }
    Ok(out)
}
