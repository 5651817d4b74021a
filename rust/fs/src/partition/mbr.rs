//! MBR tables with `mbrman`, plus a strict reader of the four primary entries.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use super::{Partition, Table, TableKind, TableSpec, SECTOR};
use crate::error::{Error, Result};

/// Parses the primary entries of an MBR sector (extended partitions are listed as such,
/// their logical partitions are not followed).
pub fn parse(sector: &[u8]) -> Result<Table> {
    if sector.len() < 512 || sector[510..512] != [0x55, 0xAA] {
        return Err(Error::corrupt("MBR", "boot signature 55 AA missing"));
    }
    let mut partitions = Vec::new();
    for i in 0..4usize {
        let e = &sector[446 + i * 16..446 + (i + 1) * 16];
        let sys = e[4];
        let lba = u32::from_le_bytes([e[8], e[9], e[10], e[11]]);
        let sectors = u32::from_le_bytes([e[12], e[13], e[14], e[15]]);
        if sys == 0 || sectors == 0 {
            continue;
        }
        partitions.push(Partition {
            number: i as u32 + 1,
            start: u64::from(lba) * SECTOR,
            size: u64::from(sectors) * SECTOR,
            mbr_type: Some(sys),
            gpt_type: None,
            guid: None,
            name: String::new(),
            bootable: e[0] == 0x80,
        });
    }
    Ok(Table {
        kind: TableKind::Mbr,
        partitions,
        disk_signature: Some(u32::from_le_bytes([
            sector[440],
            sector[441],
            sector[442],
            sector[443],
        ])),
        disk_guid: None,
    })
}

/// Reads the MBR of `f`.
pub fn read(f: &mut File, name: &Path) -> Result<Table> {
    let mut s = [0u8; 512];
    f.seek(SeekFrom::Start(0)).map_err(|e| Error::io(name, e))?;
    f.read_exact(&mut s).map_err(|e| Error::io(name, e))?;
    parse(&s)
}

fn entry(p: &Partition) -> Result<mbrman::MBRPartitionEntry> {
    let lba = u32::try_from(p.start / SECTOR)
        .map_err(|_| Error::Spec(format!("partition {} starts beyond 2 TiB", p.number)))?;
    let sectors = u32::try_from(p.size / SECTOR)
        .map_err(|_| Error::Spec(format!("partition {} is larger than 2 TiB", p.number)))?;
    Ok(mbrman::MBRPartitionEntry {
        boot: if p.bootable {
            mbrman::BOOT_ACTIVE
        } else {
            mbrman::BOOT_INACTIVE
        },
        first_chs: mbrman::CHS::empty(),
        sys: p.mbr_type.unwrap_or(0x83),
        last_chs: mbrman::CHS::empty(),
        starting_lba: lba,
        sectors,
    })
}

fn mbr_err(e: mbrman::Error) -> Error {
    Error::corrupt("MBR", e.to_string())
}

/// Writes a fresh MBR for `parts`.
pub fn write(image: &File, spec: &TableSpec, parts: &[Partition]) -> Result<()> {
    let sig = spec
        .mbr_disk_signature
        .unwrap_or_else(|| crate::seed::derive_u32(&spec.seed, "mbr-disk-signature"))
        .to_le_bytes();
    let mut f = image;
    let mut mbr = mbrman::MBR::new_from(&mut f, SECTOR as u32, sig).map_err(mbr_err)?;
    for p in parts {
        mbr[p.number as usize] = entry(p)?;
    }
    f.seek(SeekFrom::Start(0))?;
    mbr.write_into(&mut f).map_err(mbr_err)?;
    Ok(())
}

/// Extends the last partition (by start sector) to the end of the disk.
pub fn grow_last(f: &mut File, name: &Path) -> Result<Partition> {
    f.seek(SeekFrom::Start(0))?;
    let mut mbr = mbrman::MBR::read_from(f, SECTOR as u32).map_err(mbr_err)?;
    let disk_sectors = f.metadata().map_err(|e| Error::io(name, e))?.len() / SECTOR;
    let (idx, start) = mbr
        .iter()
        .filter(|(_, p)| p.is_used())
        .map(|(i, p)| (i, p.starting_lba))
        .max_by_key(|&(_, s)| s)
        .ok_or_else(|| Error::corrupt("MBR", format!("{}: no partitions", name.display())))?;
    let sectors = u32::try_from(disk_sectors - u64::from(start))
        .map_err(|_| Error::Spec("MBR cannot address beyond 2 TiB".into()))?;
    mbr[idx].sectors = sectors;
    f.seek(SeekFrom::Start(0))?;
    mbr.write_into(f).map_err(mbr_err)?;
    let t = read(f, name)?;
    t.get(idx as u32)
        .cloned()
        .ok_or_else(|| Error::corrupt("MBR", "grown partition vanished"))
}
