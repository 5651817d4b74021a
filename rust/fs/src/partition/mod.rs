//! Partition tables: MBR (Raspberry Pi 3 / Zero 2 boot ROMs need it) and GPT (Pi 4/5).
//! Read an existing table, create one from a [`TableSpec`], grow the last partition.
//! Identifiers (MBR disk signature, GPT disk and partition GUIDs) come from the spec's
//! seed, never from a random source.

mod gpt;
mod mbr;
mod spec;

pub use spec::{layout, PartitionSpec, PartitionType, TableKind, TableSpec};

use std::fs::File;
use std::path::Path;

use crate::error::{Error, Result};

/// Sector size used for every table.
pub const SECTOR: u64 = 512;

/// One partition of a table, in bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partition {
    /// 1-based partition number (`p1`, `p2`, …).
    pub number: u32,
    /// Byte offset of the first sector.
    pub start: u64,
    /// Size in bytes.
    pub size: u64,
    /// MBR system id (MBR tables).
    pub mbr_type: Option<u8>,
    /// GPT type GUID (GPT tables).
    pub gpt_type: Option<uuid::Uuid>,
    /// GPT partition GUID.
    pub guid: Option<uuid::Uuid>,
    /// GPT name (empty for MBR).
    pub name: String,
    /// MBR active flag / GPT legacy-BIOS-bootable attribute.
    pub bootable: bool,
}

/// A partition table as read from an image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    /// MBR or GPT.
    pub kind: TableKind,
    /// Partitions in number order.
    pub partitions: Vec<Partition>,
    /// MBR disk signature (MBR tables).
    pub disk_signature: Option<u32>,
    /// GPT disk GUID (GPT tables).
    pub disk_guid: Option<uuid::Uuid>,
}

impl Table {
    /// The partition with number `n`.
    pub fn get(&self, n: u32) -> Option<&Partition> {
        self.partitions.iter().find(|p| p.number == n)
    }
}

/// Reads the partition table of `image` (GPT when the MBR is protective).
pub fn read_table(image: &Path) -> Result<Table> {
    let mut f = File::open(image).map_err(|e| Error::io(image, e))?;
    read_table_from(&mut f, image)
}

/// Reads the partition table from an open file (`name` is used in errors).
pub fn read_table_from(f: &mut File, name: &Path) -> Result<Table> {
    let m = mbr::read(f, name)?;
    if m.partitions.iter().any(|p| p.mbr_type == Some(0xEE)) {
        return gpt::read(f, name);
    }
    Ok(m)
}

/// Writes a new table described by `spec` into `image` (which is grown to
/// `spec.disk_size`); returns the partitions with their offsets.
pub fn write_table(image: &File, spec: &TableSpec) -> Result<Vec<Partition>> {
    let parts = layout(spec)?;
    if image.metadata()?.len() < spec.disk_size {
        image.set_len(spec.disk_size)?;
    }
    match spec.kind {
        TableKind::Mbr => mbr::write(image, spec, &parts)?,
        TableKind::Gpt => gpt::write(image, spec, &parts)?,
    }
    Ok(parts)
}

/// Grows `image` to `new_size` bytes and extends its last partition to the end of the
/// disk (minus the GPT backup area); returns the grown partition.
pub fn grow_last_partition(image: &Path, new_size: u64) -> Result<Partition> {
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(image)
        .map_err(|e| Error::io(image, e))?;
    let t = read_table_from(&mut f, image)?;
    let old = f.metadata()?.len();
    if new_size < old {
        return Err(Error::Spec(format!(
            "{}: cannot shrink from {old} to {new_size} bytes",
            image.display()
        )));
    }
    f.set_len(new_size).map_err(|e| Error::io(image, e))?;
    match t.kind {
        TableKind::Mbr => mbr::grow_last(&mut f, image),
        TableKind::Gpt => gpt::grow_last(f, image),
    }
}
