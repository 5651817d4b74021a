//! Read-only view of an image: partitions, the data partition's tree, `offspot.yaml`.

use crate::error::AssembleError;
use nixspot_fs::ext4::{EntryKind, Ext4Reader};
use nixspot_fs::fat::Fat;
use nixspot_fs::partition::{self, Partition, TableKind};
use std::fs::File;
use std::path::{Path, PathBuf};

/// One file or directory of the data partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataItem {
    /// Path inside the partition (shown as `/data/…` on the device).
    pub path: PathBuf,
    /// `d` directory, `f` file, `l` symlink, `o` other.
    pub kind: char,
    /// File size in bytes (0 for others).
    pub size: u64,
}

/// What `nixspot inspect` shows.
#[derive(Debug, Clone)]
pub struct Inspection {
    /// MBR or GPT.
    pub table_kind: TableKind,
    /// Partitions in number order.
    pub partitions: Vec<Partition>,
    /// The data partition's content (empty if the last partition is not ext4).
    pub data: Vec<DataItem>,
    /// `offspot.yaml` from the boot partition, if present.
    pub offspot_yaml: Option<String>,
}

/// Reads `image` without modifying it.
pub fn inspect(image: &Path) -> Result<Inspection, AssembleError> {
    let table = partition::read_table(image)?;
    let mut data = Vec::new();
    if let Some(last) = table.partitions.iter().max_by_key(|p| p.start) {
        if last.number != 1 {
            if let Ok(reader) = Ext4Reader::open(image, last.start) {
                for entry in reader.entries()? {
                    let kind = match entry.kind {
                        EntryKind::Dir => 'd',
                        EntryKind::File(_) => 'f',
                        EntryKind::Symlink(_) => 'l',
                        _ => 'o',
                    };
                    data.push(DataItem {
                        path: entry.path,
                        kind,
                        size: if kind == 'f' { entry.size } else { 0 },
                    });
                }
            }
        }
    }
    let file = File::open(image).map_err(AssembleError::io(image))?;
    let offspot_yaml = table.get(1).and_then(|boot| {
        let fat = Fat::open(&file, boot.start, boot.size, 0).ok()?;
        let bytes = fat.read_file("offspot.yaml").ok()?;
        Some(String::from_utf8_lossy(&bytes).into_owned())
    });
    data.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(Inspection {
        table_kind: table.kind,
        partitions: table.partitions,
        data,
        offspot_yaml,
    })
}
