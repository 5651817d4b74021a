//! Whole disk images from a declarative spec (partition table + FAT32 + ext4), and the
//! pieces the assembler combines when it starts from an existing base image.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::ext4::{Entry, Ext4Options, Ext4Plan, Ext4Writer, Size};
use crate::fat::{self, Fat, FatSpec};
use crate::partition::{self, Partition, PartitionSpec, PartitionType, TableKind, TableSpec};

/// Content of a file in a FAT partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FatData {
    /// Bytes in memory.
    Bytes(Vec<u8>),
    /// A host file (read when written).
    Host(PathBuf),
}

/// What goes into one partition.
#[derive(Debug, Clone)]
pub enum PartitionContent {
    /// A FAT32 filesystem with these files (paths with `/`, written in sorted order).
    Fat32 {
        /// Partition size in bytes.
        size: u64,
        /// Volume label (e.g. `bootfs`).
        label: String,
        /// Files by path.
        files: BTreeMap<String, FatData>,
    },
    /// An ext4 filesystem; its size comes from `options.size`.
    Ext4 {
        /// Filesystem options (label, seed, size, …).
        options: Ext4Options,
        /// Entries.
        entries: Vec<Entry>,
    },
    /// An empty (zero) partition of the given type.
    Raw {
        /// Size in bytes.
        size: u64,
        /// Type.
        kind: PartitionType,
    },
}

/// A whole image.
#[derive(Debug, Clone)]
pub struct ImageSpec {
    /// MBR or GPT.
    pub table: TableKind,
    /// Partition alignment in bytes (4 MiB like Raspberry Pi OS).
    pub align: u64,
    /// Seed for every identifier (disk signature, GUIDs, FAT serial).
    pub seed: Vec<u8>,
    /// SOURCE_DATE_EPOCH for FAT entries.
    pub timestamp: i64,
    /// Partitions in order (p1, p2, …).
    pub partitions: Vec<PartitionContent>,
    /// Index (0-based) of the bootable partition, if any.
    pub bootable: Option<usize>,
}

/// Creates `path` (replacing it) from `spec`; returns the partitions written.
pub fn create_image(path: &Path, spec: ImageSpec) -> Result<Vec<Partition>> {
    // plan ext4 partitions first: a minimal size is only known after planning
    let mut plans: Vec<Option<Ext4Plan>> = Vec::new();
    let mut specs = Vec::new();
    for (i, p) in spec.partitions.iter().enumerate() {
        let (size, kind, plan) = match p {
            PartitionContent::Fat32 { size, .. } => (*size, PartitionType::Fat32, None),
            PartitionContent::Raw { size, kind } => (*size, *kind, None),
            PartitionContent::Ext4 { options, entries } => {
                let mut w = Ext4Writer::new(options.clone());
                for e in entries {
                    w.add(e.clone())?;
                }
                let plan = w.plan()?;
                (plan.size_bytes(), PartitionType::Linux, Some(plan))
            }
        };
        plans.push(plan);
        specs.push(PartitionSpec {
            start: None,
            size: Some(size),
            kind,
            name: format!("p{}", i + 1),
            bootable: spec.bootable == Some(i),
        });
    }
    let tail = if spec.table == TableKind::Gpt {
        33 * 512
    } else {
        0
    };
    let mut table = TableSpec {
        kind: spec.table,
        disk_size: (u64::MAX / 2) / 512 * 512,
        align: spec.align,
        partitions: specs,
        seed: spec.seed.clone(),
        mbr_disk_signature: None,
    };
    let parts = partition::layout(&table)?;
    let end = parts.last().map_or(0, |p| p.start + p.size);
    table.disk_size = end + tail;
    let f = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)
        .map_err(|e| Error::io(path, e))?;
    let parts = partition::write_table(&f, &table)?;
    for ((content, part), plan) in spec.partitions.iter().zip(&parts).zip(&plans) {
        match (content, plan) {
            (PartitionContent::Fat32 { label, files, .. }, _) => {
                let fs = FatSpec {
                    label: label.clone(),
                    seed: spec.seed.clone(),
                    timestamp: spec.timestamp,
                    bytes_per_cluster: None,
                };
                fat::format(&f, part.start, part.size, &fs)?;
                let fat = Fat::open(&f, part.start, part.size, spec.timestamp)?;
                for (p, d) in files {
                    let data = match d {
                        FatData::Bytes(b) => b.clone(),
                        FatData::Host(h) => std::fs::read(h).map_err(|e| Error::io(h, e))?,
                    };
                    fat.write_file(p, &data)?;
                }
                fat.close()?;
            }
            (PartitionContent::Ext4 { .. }, Some(plan)) => {
                plan.write(&f, part.start)?;
            }
            _ => {}
        }
    }
    Ok(parts)
}

/// Copies partition `src_part` of `src` (holes preserved) to byte `dst_offset` of `dst`
/// (the assembler's "carry p1/p2 over from the base image").
pub fn copy_partition(src: &File, src_part: &Partition, dst: &File, dst_offset: u64) -> Result<()> {
    if dst.metadata()?.len() < dst_offset + src_part.size {
        dst.set_len(dst_offset + src_part.size)?;
    }
    crate::sparse::copy_sparse(src, src_part.start, dst, dst_offset, src_part.size)?;
    Ok(())
}

/// Options for an ext4 data partition of `bytes` (exact) with the given label and seed:
/// a convenience for the assembler.
pub fn ext4_options(label: &str, seed: &[u8], timestamp: i64, size: Size) -> Ext4Options {
    Ext4Options {
        size,
        seed: seed.to_vec(),
        label: label.into(),
        timestamp,
        ..Ext4Options::default()
    }
}
