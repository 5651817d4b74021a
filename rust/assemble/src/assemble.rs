//! From a recipe and its fetched content to an image file: copy the base's partition
//! table and untouched partitions, write a new ext4 data partition, put `offspot.yaml`
//! into the boot partition — into a temporary file renamed into place only at the end.

use crate::data::{add_recipe_content, DataTree};
use crate::error::AssembleError;
use crate::output::{self, PartialOutput};
use nixspot_fetch::Fetched;
use nixspot_fs::ext4::{Ext4Options, Ext4Reader, Ext4Writer, Size};
use nixspot_fs::partition::{self, Partition, Table, TableKind};
use nixspot_fs::{fat, sparse};
use nixspot_recipe::{OutputSize, Recipe};
use sha2::{Digest, Sha256};
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

/// Alignment of the image size (Raspberry Pi OS aligns partitions to 4 MiB).
const SIZE_ALIGN: u64 = 4 << 20;
/// Headroom added to the data partition's minimum when `output.size` is `auto`, like
/// image-creator's 10 %.
const AUTO_MARGIN_PERCENT: u32 = 10;
/// One inode per this many bytes of the data partition (mke2fs's default).
const DATA_BYTES_PER_INODE: u64 = 16384;

/// How to assemble.
#[derive(Debug, Clone)]
pub struct AssembleOptions {
    /// The image to write.
    pub output: PathBuf,
    /// Scratch space for expanded archives (default: next to the output).
    pub build_dir: Option<PathBuf>,
    /// Keep a failed image instead of deleting it (`-K`).
    pub keep: bool,
    /// Replace an existing output (`-X`).
    pub overwrite: bool,
    /// Refuse images larger than this (`--max-size`).
    pub max_size: Option<u64>,
    /// Timestamp of every file and filesystem (SOURCE_DATE_EPOCH).
    pub timestamp: i64,
    /// Have the image on disk (fsync) before it is renamed into place. An Imager
    /// worker's image is scratch, read back from the page cache by its upload and
    /// deleted right after: with `false` its bytes need never reach the worker's disk.
    pub durable: bool,
}

/// What was built (or, for a size check, would be).
#[derive(Debug, Clone)]
pub struct Summary {
    /// Image size in bytes.
    pub image_size: u64,
    /// The smallest size the recipe fits in.
    pub min_size: u64,
    /// Partitions of the output.
    pub partitions: Vec<Partition>,
    /// Bytes of content the recipe adds to the data partition.
    pub recipe_bytes: u64,
    /// Bytes of file content on the data partition.
    pub data_bytes: u64,
    /// Free bytes left on the data partition.
    pub data_free: u64,
    /// sha256 of the image (empty for a size check).
    pub sha256: String,
}

/// The parts of a base image that assembly uses.
struct BaseLayout {
    path: PathBuf,
    table: Table,
    boot: Partition,
    data: Partition,
}

fn base_layout(path: &Path) -> Result<BaseLayout, AssembleError> {
    let base_err = |message: String| AssembleError::Base {
        path: path.to_path_buf(),
        message,
    };
    let table = partition::read_table(path).map_err(|e| base_err(e.to_string()))?;
    if table.kind != TableKind::Mbr {
        return Err(base_err(
            "has a GPT partition table; offspot base images use MBR".into(),
        ));
    }
    if table.partitions.len() < 2 {
        return Err(base_err(format!(
            "has {} partition(s); expected a boot partition, a root partition and a data \
             partition last",
            table.partitions.len()
        )));
    }
    let boot = table
        .get(1)
        .cloned()
        .ok_or_else(|| base_err("has no partition 1 (boot)".into()))?;
    if !matches!(boot.mbr_type, Some(0x0b | 0x0c | 0x0e)) {
        return Err(base_err(format!(
            "partition 1 has type {:#04x}; expected FAT32 (0x0c)",
            boot.mbr_type.unwrap_or(0)
        )));
    }
    let data = table
        .partitions
        .iter()
        .max_by_key(|p| p.start)
        .cloned()
        .ok_or_else(|| base_err("has no data partition".into()))?;
    if data.number == 1 {
        return Err(base_err("its last partition is the boot partition".into()));
    }
    Ok(BaseLayout {
        path: path.to_path_buf(),
        table,
        boot,
        data,
    })
}

/// A seed for filesystem UUIDs and hash seeds: the recipe as pinned plus the content
/// hashes, so a different recipe or different content gives different identifiers.
fn seed(recipe: &Recipe, fetched: &Fetched) -> Vec<u8> {
    let mut h = Sha256::new();
    h.update(recipe.to_json().as_bytes());
    h.update(fetched.base.sha256.as_bytes());
    for file in fetched.files.iter().flatten() {
        h.update(file.sha256.as_bytes());
    }
    for oci in &fetched.oci {
        h.update(oci.sha256.as_bytes());
    }
    h.finalize().to_vec()
}

fn round_up(n: u64, align: u64) -> u64 {
    n.div_ceil(align) * align
}

/// A plan: everything decided, nothing written yet.
pub struct Plan {
    base: BaseLayout,
    writer: Ext4Writer,
    opts: Ext4Options,
    summary: Summary,
    offspot_yaml: Option<Vec<u8>>,
}

impl Plan {
    /// The sizes and partitions that [`Plan::write`] will produce.
    pub fn summary(&self) -> &Summary {
        &self.summary
    }
}

/// Reads the base image, lays out the data partition and computes sizes.
pub fn plan(
    recipe: &Recipe,
    recipe_text: &str,
    fetched: &Fetched,
    opts: &AssembleOptions,
    scratch_dir: &Path,
) -> Result<Plan, AssembleError> {
    let base = base_layout(&fetched.base.path)?;
    let reader =
        Ext4Reader::open(&base.path, base.data.start).map_err(|e| AssembleError::Base {
            path: base.path.clone(),
            message: format!("data partition {}: {e}", base.data.number),
        })?;
    let label = reader.label();
    let base_entries = reader
        .entries()?
        .into_iter()
        .filter(|e| !e.path.as_os_str().is_empty() && e.path != Path::new("lost+found"))
        .map(|e| e.into_entry())
        .collect();
    let mut tree = DataTree::from_base(base_entries);
    add_recipe_content(
        &mut tree,
        recipe,
        recipe_text,
        fetched,
        opts.timestamp,
        scratch_dir,
    )?;
    let recipe_bytes = tree.recipe_bytes;
    let data_bytes = tree.content_bytes();

    let seed = seed(recipe, fetched);
    let mut ext4_opts = Ext4Options {
        size: Size::Minimal {
            margin_bytes: 0,
            margin_percent: AUTO_MARGIN_PERCENT,
        },
        seed,
        label: if label.is_empty() {
            "data".into()
        } else {
            label
        },
        timestamp: opts.timestamp,
        // Content is added on the device (ZIM manager, uploads) after the partition
        // grows to the card: inodes as dense as mke2fs makes them, since an ext4 keeps
        // its inodes per group when it grows.
        bytes_per_inode: Some(DATA_BYTES_PER_INODE),
        ..Ext4Options::default()
    };
    let entries = tree.into_entries();
    let min_plan = build_writer(&ext4_opts, &entries)?.plan()?;
    let base_size = std::fs::metadata(&base.path)
        .map_err(AssembleError::io(&base.path))?
        .len();
    let min_size = round_up(
        (base.data.start + min_plan.size_bytes()).max(base_size),
        SIZE_ALIGN,
    );
    let image_size = match &recipe.output.size {
        OutputSize::Auto => min_size,
        OutputSize::Fixed(size) => {
            let size = size.bytes();
            if size < min_size {
                return Err(AssembleError::Size(format!(
                    "output.size is {size} bytes but the content needs at least {min_size} \
                     bytes ({} MiB)",
                    min_size.div_ceil(1 << 20)
                )));
            }
            size / 512 * 512
        }
    };
    if let Some(max) = opts.max_size {
        if image_size > max {
            return Err(AssembleError::Size(format!(
                "the image would be {image_size} bytes, more than --max-size {max}"
            )));
        }
    }
    let data_size = image_size - base.data.start;
    ext4_opts.size = Size::Exact(data_size);
    let writer = build_writer(&ext4_opts, &entries)?;
    let data_used = min_plan.used_blocks() * nixspot_fs::ext4::BLOCK_SIZE;
    let mut partitions = base.table.partitions.clone();
    if let Some(last) = partitions.iter_mut().find(|p| p.number == base.data.number) {
        last.size = data_size;
    }
    let offspot_yaml = recipe
        .offspot
        .as_ref()
        .map(|v| serde_yaml::to_string(v).unwrap_or_default().into_bytes());
    Ok(Plan {
        summary: Summary {
            image_size,
            min_size,
            partitions,
            recipe_bytes,
            data_bytes,
            data_free: data_size.saturating_sub(data_used),
            sha256: String::new(),
        },
        base,
        writer,
        opts: ext4_opts,
        offspot_yaml,
    })
}

fn build_writer(
    opts: &Ext4Options,
    entries: &[nixspot_fs::ext4::Entry],
) -> Result<Ext4Writer, AssembleError> {
    let mut writer = Ext4Writer::new(opts.clone());
    for entry in entries {
        writer.add(entry.clone())?;
    }
    Ok(writer)
}

impl Plan {
    /// Writes the image to `opts.output` (through a temporary file) and returns the
    /// summary with the image's sha256.
    pub fn write(self, opts: &AssembleOptions) -> Result<Summary, AssembleError> {
        // The image is sparse: it needs the base's bytes before the data partition plus
        // the data partition's content (metadata is small next to the 10 % headroom).
        let needed = self.base.data.start + self.summary.data_bytes;
        output::check_free_space(&opts.output, needed)?;
        let partial = PartialOutput::create(&opts.output, opts.overwrite, opts.keep)?;
        let summary = self.write_into(partial.path(), opts.durable)?;
        partial.commit()?;
        Ok(summary)
    }

    fn write_into(self, path: &Path, durable: bool) -> Result<Summary, AssembleError> {
        let out = OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .map_err(AssembleError::io(path))?;
        let base = File::open(&self.base.path).map_err(AssembleError::io(&self.base.path))?;
        let data_start = self.base.data.start;
        // The image is written and hashed in one pass, front to back: the partition table
        // and the boot partition are edited below, so they are copied first; then the rest
        // of the base (the root partition) and the data partition are written in order,
        // each range hashed on the other core right after it is written (from the page
        // cache, holes from memory). The EBRs of logical partitions sit further on and
        // change too: with those, everything before the data partition is copied first.
        let boot_end = (self.base.boot.start + self.base.boot.size).min(data_start);
        let split = if self.base.table.partitions.iter().all(|p| p.number <= 4) {
            boot_end
        } else {
            data_start
        };
        sparse::copy_sparse(&base, 0, &out, 0, split).map_err(AssembleError::io(path))?;
        out.set_len(self.summary.image_size)
            .map_err(AssembleError::io(path))?;
        partition::grow_last_partition(path, self.summary.image_size)?;
        if let Some(yaml) = &self.offspot_yaml {
            fat::replace_file(
                &out,
                self.base.boot.start,
                self.base.boot.size,
                "offspot.yaml",
                yaml,
                self.opts.timestamp,
            )?;
        }
        let hasher = output::BackgroundHasher::start(path)?;
        hasher.final_up_to(split);
        sparse::copy_sparse_in_order(&base, split, &out, split, data_start - split, &mut |end| {
            hasher.final_up_to(end)
        })
        .map_err(AssembleError::io(path))?;
        let plan = self.writer.plan()?;
        plan.write_in_order(&out, data_start, &mut |end| hasher.final_up_to(end))?;
        hasher.final_up_to(self.summary.image_size);
        if durable {
            out.sync_all().map_err(AssembleError::io(path))?;
        }
        let mut summary = self.summary;
        summary.sha256 = hasher.finish()?;
        Ok(summary)
    }
}
