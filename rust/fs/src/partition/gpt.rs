//! GPT tables with the `gpt` crate; GUIDs are derived from the spec's seed.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::Path;

use super::{Partition, Table, TableKind, TableSpec, SECTOR};
use crate::error::{Error, Result};

fn gpt_err(name: &Path, e: impl std::fmt::Display) -> Error {
    Error::corrupt("GPT", format!("{}: {e}", name.display()))
}

fn to_partition(n: u32, p: &gpt::partition::Partition) -> Partition {
    Partition {
        number: n,
        start: p.first_lba.saturating_mul(SECTOR),
        size: p
            .last_lba
            .saturating_sub(p.first_lba)
            .saturating_add(1)
            .saturating_mul(SECTOR),
        mbr_type: None,
        gpt_type: Some(p.part_type_guid.guid),
        guid: Some(p.part_guid),
        name: p.name.clone(),
        bootable: p.flags & 4 != 0,
    }
}

/// Reads the GPT of `f`.
pub fn read(f: &mut File, name: &Path) -> Result<Table> {
    let file = f.try_clone().map_err(|e| Error::io(name, e))?;
    let disk = gpt::GptConfig::new()
        .writable(false)
        .open_from_device(file)
        .map_err(|e| gpt_err(name, e))?;
    let partitions = disk
        .partitions()
        .iter()
        .filter(|(_, p)| p.is_used())
        .map(|(n, p)| to_partition(*n, p))
        .collect();
    Ok(Table {
        kind: TableKind::Gpt,
        partitions,
        disk_signature: None,
        disk_guid: Some(*disk.guid()),
    })
}

/// Writes a protective MBR and a fresh GPT for `parts`.
pub fn write(image: &File, spec: &TableSpec, parts: &[Partition]) -> Result<()> {
    let name = Path::new("<image>");
    let mut dev = image.try_clone()?;
    let sectors = spec.disk_size / SECTOR;
    let pmbr =
        gpt::mbr::ProtectiveMBR::with_lb_size(u32::try_from(sectors - 1).unwrap_or(u32::MAX));
    pmbr.overwrite_lba0(&mut dev)
        .map_err(|e| gpt_err(name, e))?;
    let guid = crate::seed::derive_uuid(&spec.seed, "gpt-disk");
    let mut disk = gpt::GptConfig::new()
        .writable(true)
        .logical_block_size(gpt::disk::LogicalBlockSize::Lb512)
        .change_partition_count(true)
        .create_from_device(dev, Some(guid))
        .map_err(|e| gpt_err(name, e))?;
    let mut map = BTreeMap::new();
    for p in parts {
        let ty = p.gpt_type.unwrap_or(uuid::Uuid::nil());
        map.insert(
            p.number,
            gpt::partition::Partition {
                part_type_guid: gpt::partition_types::Type {
                    guid: ty,
                    os: gpt::partition_types::OperatingSystem::None,
                },
                part_guid: p.guid.unwrap_or(uuid::Uuid::nil()),
                first_lba: p.start / SECTOR,
                last_lba: (p.start + p.size) / SECTOR - 1,
                flags: if p.bootable { 4 } else { 0 },
                name: p.name.clone(),
            },
        );
    }
    disk.update_partitions(map).map_err(|e| gpt_err(name, e))?;
    disk.write().map_err(|e| gpt_err(name, e))?;
    Ok(())
}

/// Moves the backup GPT to the new end of the disk and extends the last partition.
pub fn grow_last(f: File, name: &Path) -> Result<Partition> {
    let len = f.metadata().map_err(|e| Error::io(name, e))?.len();
    let mut dev = f.try_clone().map_err(|e| Error::io(name, e))?;
    let mut disk = gpt::GptConfig::new()
        .writable(true)
        .logical_block_size(gpt::disk::LogicalBlockSize::Lb512)
        .open_from_device(f)
        .map_err(|e| gpt_err(name, e))?;
    let mut parts = disk.partitions().clone();
    let last_usable = (len / SECTOR).saturating_sub(34);
    let (n, p) = parts
        .iter_mut()
        .filter(|(_, p)| p.is_used())
        .max_by_key(|(_, p)| p.first_lba)
        .ok_or_else(|| gpt_err(name, "no partitions"))?;
    p.last_lba = last_usable;
    let grown = to_partition(*n, p);
    disk.update_partitions(parts)
        .map_err(|e| gpt_err(name, e))?;
    disk.write().map_err(|e| gpt_err(name, e))?;
    let pmbr =
        gpt::mbr::ProtectiveMBR::with_lb_size(u32::try_from(len / SECTOR - 1).unwrap_or(u32::MAX));
    pmbr.overwrite_lba0(&mut dev)
        .map_err(|e| gpt_err(name, e))?;
    Ok(grown)
}
