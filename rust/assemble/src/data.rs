//! The tree of the new data partition: the base image's `/data` content, then the
//! recipe's files, OCI archives and `image.yaml`, later entries replacing earlier ones
//! at the same path (as writing them over a mounted partition would).

use crate::error::AssembleError;
use nixspot_archive::{self as archive, Format};
use nixspot_fetch::Fetched;
use nixspot_fs::ext4::{Entry, EntryKind, FileData, Meta};
use nixspot_recipe::{Recipe, Via};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The data partition's content, keyed by path inside the partition.
#[derive(Debug, Default)]
pub struct DataTree {
    entries: BTreeMap<PathBuf, Entry>,
    /// Bytes of regular-file content added by the recipe (for the summary).
    pub recipe_bytes: u64,
}

impl DataTree {
    /// Starts from the entries of the base image's data partition.
    pub fn from_base(entries: Vec<Entry>) -> Self {
        let mut tree = DataTree::default();
        for entry in entries {
            tree.insert(entry);
        }
        tree
    }

    /// Adds or replaces one entry; replacing a directory by a file drops the
    /// directory's content.
    pub fn insert(&mut self, entry: Entry) {
        let path = normalise(&entry.path);
        if !matches!(entry.kind, EntryKind::Dir) {
            let stale: Vec<PathBuf> = self
                .entries
                .range(path.clone()..)
                .take_while(|(p, _)| p.starts_with(&path))
                .map(|(p, _)| p.clone())
                .collect();
            for p in stale {
                self.entries.remove(&p);
            }
        }
        self.entries.insert(path.clone(), Entry { path, ..entry });
    }

    /// The entries, sorted by path.
    pub fn into_entries(self) -> Vec<Entry> {
        self.entries.into_values().collect()
    }

    /// Sum of the regular file sizes in the tree.
    pub fn content_bytes(&self) -> u64 {
        self.entries
            .values()
            .map(|e| match &e.kind {
                EntryKind::File(FileData::Bytes(b)) => b.len() as u64,
                EntryKind::File(FileData::Ranges { size, .. }) => *size,
                EntryKind::File(FileData::Host(p)) => {
                    std::fs::metadata(p).map(|m| m.len()).unwrap_or(0)
                }
                _ => 0,
            })
            .sum()
    }
}

fn normalise(path: &Path) -> PathBuf {
    path.components()
        .filter(|c| matches!(c, std::path::Component::Normal(_)))
        .collect()
}

/// The path inside the data partition for a recipe target (`/data/x/y` → `x/y`).
pub fn data_relative(to: &str) -> Option<PathBuf> {
    let rest = to.strip_prefix("/data")?;
    if !(rest.is_empty() || rest.starts_with('/')) {
        return None;
    }
    let rel = normalise(Path::new(rest));
    Some(rel)
}

/// The archive format of a `via`; `None` for content copied as is.
fn archive_format(via: Via) -> Option<Format> {
    match via {
        Via::Direct | Via::Base64 => None,
        Via::Tar => Some(Format::Tar),
        Via::Gztar => Some(Format::Gztar),
        Via::Bztar => Some(Format::Bztar),
        Via::Xztar => Some(Format::Xztar),
        Via::Zip => Some(Format::Zip),
    }
}

/// Adds everything the recipe puts on the data partition.
pub fn add_recipe_content(
    tree: &mut DataTree,
    recipe: &Recipe,
    recipe_text: &str,
    fetched: &Fetched,
    timestamp: i64,
    scratch_dir: &Path,
) -> Result<(), AssembleError> {
    let file_meta = Meta {
        mtime: timestamp,
        ..Meta::new(0o644)
    };
    for archive in &fetched.oci {
        let Some(rel) = data_relative(&archive.target) else {
            continue;
        };
        tree.recipe_bytes += archive.filesize;
        tree.insert(Entry {
            path: rel,
            kind: EntryKind::File(FileData::Host(archive.path.clone())),
            meta: file_meta.clone(),
        });
    }
    for (index, file) in recipe.files.iter().enumerate() {
        let rel = data_relative(&file.to).ok_or_else(|| {
            AssembleError::Size(format!(
                "files[{index}].to: '{}' is not under /data",
                file.to
            ))
        })?;
        let local = fetched.files.get(index).and_then(|f| f.as_ref());
        if let Some(format) = archive_format(file.via) {
            let source = match (local, file.inline_bytes()) {
                (Some(content), _) => content.path.clone(),
                (None, Some(bytes)) => {
                    let path = scratch_dir.join(format!("inline-archive-{index}"));
                    std::fs::write(&path, bytes).map_err(AssembleError::io(&path))?;
                    path
                }
                (None, None) => continue,
            };
            let expanded = archive::expand(&source, format, &rel, scratch_dir)?;
            tree.recipe_bytes += expanded.content_size;
            for mut entry in expanded.entries {
                if entry.meta.mtime == 0 {
                    entry.meta.mtime = timestamp;
                }
                tree.insert(entry);
            }
            continue;
        }
        let data = match (local, file.via) {
            (Some(content), _) => FileData::Host(content.path.clone()),
            (None, Via::Base64 | Via::Direct) => match file.inline_bytes() {
                Some(bytes) => FileData::Bytes(bytes),
                None => continue,
            },
            (None, _) => continue,
        };
        tree.recipe_bytes += match &data {
            FileData::Bytes(b) => b.len() as u64,
            FileData::Host(p) => std::fs::metadata(p).map(|m| m.len()).unwrap_or(0),
            FileData::Ranges { size, .. } => *size,
        };
        tree.insert(Entry {
            path: rel,
            kind: EntryKind::File(data),
            meta: file_meta.clone(),
        });
    }
    if recipe.write_config {
        tree.insert(Entry {
            path: PathBuf::from("image.yaml"),
            kind: EntryKind::File(FileData::Bytes(recipe_text.as_bytes().to_vec())),
            // The recipe holds the WiFi passphrase and service passwords: root only.
            meta: Meta {
                mode: 0o600,
                ..file_meta
            },
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str) -> Entry {
        Entry {
            path: PathBuf::from(path),
            kind: EntryKind::File(FileData::Bytes(b"x".to_vec())),
            meta: Meta::new(0o644),
        }
    }

    #[test]
    fn targets_must_be_under_data() {
        assert_eq!(data_relative("/data/a/b"), Some(PathBuf::from("a/b")));
        assert_eq!(data_relative("/data"), Some(PathBuf::new()));
        assert_eq!(data_relative("/database/x"), None);
        assert_eq!(data_relative("/etc/x"), None);
    }

    #[test]
    fn later_entries_replace_earlier_ones_and_their_subtrees() {
        let mut tree = DataTree::default();
        tree.insert(file("a/b/c"));
        tree.insert(file("a/bb"));
        tree.insert(file("/a/b"));
        let paths: Vec<PathBuf> = tree.into_entries().into_iter().map(|e| e.path).collect();
        assert_eq!(paths, vec![PathBuf::from("a/b"), PathBuf::from("a/bb")]);
    }
}
