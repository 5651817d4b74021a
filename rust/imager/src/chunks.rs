//! Local image storage by chunks. An image is stored as its *manifest* (its size, and
//! the chunks it is made of with where each goes; the rest reads as zeros) and every
//! chunk once, in a file named by its BLAKE3 digest, however many images hold it. Two
//! hotspots that differ in their name and SSID share all but a few chunks (the base's
//! partitions, the catalog content): storing an order's image then writes those few,
//! on any filesystem, and a worker's upload refers to the others instead of sending
//! them (the sparse upload's reference records, `nixspot_imager_worker::sparse`).
//!
//! Every chunk's digest was computed here as its bytes arrived (a worker's word is never
//! taken for it). The store counts the images holding each chunk (and the uploads and
//! downloads using it) in memory, from the manifests on disk when it opens; a chunk
//! nobody holds any more is deleted. The storage folder belongs to one server process.
//!
//! Layout under the storage folder: `chunks/ab/abcd…` (the chunk files, by the first two
//! hex digits of their digest), and `KEY.manifest` for the image stored at `KEY`.

use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use nixspot_imager_worker::sparse::Digest;
use serde::{Deserialize, Serialize};

/// The folder of the chunk files in the storage folder.
const CHUNKS: &str = "chunks";
/// What a manifest's file name ends with (after the image's key).
const MANIFEST: &str = ".manifest";
/// What files being written end with, until renamed into place.
const PARTIAL: &str = ".partial";

/// Chunk store errors.
#[derive(Debug, thiserror::Error)]
pub enum ChunkError {
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A manifest is not one.
    #[error("{path}: not an image manifest: {reason}")]
    Manifest {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ChunkError + '_ {
    move |source| ChunkError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// One chunk of an image: `len` bytes at `offset` are the chunk named `digest`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placed {
    /// Where it goes in the image.
    pub offset: u64,
    /// Its length.
    pub len: u64,
    /// Its BLAKE3 digest.
    pub digest: Digest,
}

/// An image in local storage: its size and its chunks, by increasing offset, none
/// overlapping; the bytes outside them are zeros.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// The image's length in bytes.
    pub size: u64,
    /// Its chunks.
    pub chunks: Vec<Placed>,
}

/// A manifest as stored: JSON, each chunk `[offset, length, "hex digest"]`.
#[derive(Serialize, Deserialize)]
struct StoredManifest {
    size: u64,
    chunks: Vec<(u64, u64, String)>,
}

impl Manifest {
    fn to_json(&self) -> Vec<u8> {
        let stored = StoredManifest {
            size: self.size,
            chunks: self
                .chunks
                .iter()
                .map(|c| (c.offset, c.len, hex::encode(c.digest)))
                .collect(),
        };
        serde_json::to_vec(&stored).unwrap_or_default()
    }

    fn from_json(path: &Path, bytes: &[u8]) -> Result<Manifest, ChunkError> {
        let bad = |reason: String| ChunkError::Manifest {
            path: path.to_path_buf(),
            reason,
        };
        let stored: StoredManifest =
            serde_json::from_slice(bytes).map_err(|e| bad(e.to_string()))?;
        let mut chunks = Vec::with_capacity(stored.chunks.len());
        let mut end = 0;
        for (i, (offset, len, digest)) in stored.chunks.into_iter().enumerate() {
            let digest: Digest = hex::decode(&digest)
                .ok()
                .and_then(|d| d.try_into().ok())
                .ok_or_else(|| bad(format!("chunks[{i}]: {digest:?} is not a digest")))?;
            let past = offset.checked_add(len).filter(|e| *e <= stored.size);
            if offset < end || past.is_none() || len == 0 {
                return Err(bad(format!(
                    "chunks[{i}]: {len} bytes at {offset} overlap another chunk or pass the \
                     image's end ({} bytes)",
                    stored.size
                )));
            }
            end = offset + len;
            chunks.push(Placed {
                offset,
                len,
                digest,
            });
        }
        Ok(Manifest {
            size: stored.size,
            chunks,
        })
    }
}

/// How many hold a chunk (images, uploads and downloads in progress), and its length.
#[derive(Debug, Clone, Copy)]
struct Count {
    len: u64,
    holders: u64,
}

/// The chunk files of a storage folder and who holds each.
#[derive(Debug)]
pub struct ChunkStore {
    /// The storage folder.
    dir: PathBuf,
    counts: Mutex<HashMap<Digest, Count>>,
}

impl ChunkStore {
    /// The store of the storage folder `dir` (created if missing): every manifest read
    /// and its chunks counted; then chunk files no manifest names (an upload cut short
    /// by a crash) and half-written files are deleted (blocking).
    pub fn open(dir: &Path) -> Result<ChunkStore, ChunkError> {
        let store = ChunkStore {
            dir: dir.to_path_buf(),
            counts: Mutex::default(),
        };
        std::fs::create_dir_all(store.dir.join(CHUNKS)).map_err(io(&store.dir))?;
        let mut counts = HashMap::new();
        for path in files_under(dir, &store.dir.join(CHUNKS))? {
            let name = path.to_string_lossy();
            let earlier_upload = path
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(".upload-"));
            if name.ends_with(PARTIAL) || earlier_upload {
                // Half-written.
                let _ = std::fs::remove_file(&path);
            } else if name.ends_with(".img") {
                // A whole image, as earlier versions stored them.
                store.import(&path, &mut counts)?;
            } else if name.ends_with(MANIFEST) {
                let bytes = std::fs::read(&path).map_err(io(&path))?;
                count_holders(&mut counts, &Manifest::from_json(&path, &bytes)?.chunks);
            }
        }
        let chunks = store.dir.join(CHUNKS);
        for path in files_under(&chunks, Path::new(""))? {
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            let counted = hex::decode(name)
                .ok()
                .and_then(|d| Digest::try_from(d).ok())
                .is_some_and(|d| counts.contains_key(&d));
            if !counted {
                let _ = std::fs::remove_file(&path);
            }
        }
        *store.lock() = counts;
        Ok(store)
    }

    /// Stores the whole image file `path` (as earlier versions kept images) as chunks
    /// and a manifest, then deletes it; `counts` gets its chunks.
    fn import(&self, path: &Path, counts: &mut HashMap<Digest, Count>) -> Result<(), ChunkError> {
        use std::io::Read as _;
        let key = path
            .strip_prefix(&self.dir)
            .map_err(|_| ChunkError::Manifest {
                path: path.to_path_buf(),
                reason: "not in the storage folder".into(),
            })?
            .to_string_lossy()
            .into_owned();
        let mut file = std::fs::File::open(path).map_err(io(path))?;
        let mut chunks = Vec::new();
        let mut offset = 0;
        let mut buffer = vec![0; nixspot_imager_worker::sparse::CHUNK as usize];
        loop {
            let mut filled = 0;
            while filled < buffer.len() {
                match file.read(&mut buffer[filled..]).map_err(io(path))? {
                    0 => break,
                    n => filled += n,
                }
            }
            if filled == 0 {
                break;
            }
            let bytes = &buffer[..filled];
            if bytes.iter().any(|b| *b != 0) {
                let digest = nixspot_imager_worker::sparse::digest(bytes);
                // Counted below, from the manifest, like every image's.
                self.write_chunk(&digest, bytes)?;
                chunks.push(Placed {
                    offset,
                    len: filled as u64,
                    digest,
                });
            }
            offset += filled as u64;
        }
        let written: Vec<Digest> = chunks.iter().map(|c| c.digest).collect();
        self.sync_folders(&written)?;
        count_holders(counts, &chunks);
        let manifest = Manifest {
            size: offset,
            chunks,
        };
        self.write_manifest(&key, &manifest)?;
        std::fs::remove_file(path).map_err(io(path))
    }

    /// The file of the chunk named `digest`.
    pub fn path(&self, digest: &Digest) -> PathBuf {
        let name = hex::encode(digest);
        self.dir.join(CHUNKS).join(&name[..2]).join(name)
    }

    /// The manifest file of the image stored at `key`.
    pub fn manifest_path(&self, key: &str) -> PathBuf {
        self.dir.join(format!("{key}{MANIFEST}"))
    }

    /// Which of `digests` are held, as their indices.
    pub fn held_indices(&self, digests: &[Digest]) -> Vec<usize> {
        let counts = self.lock();
        digests
            .iter()
            .enumerate()
            .filter(|(_, d)| counts.contains_key(*d))
            .map(|(i, _)| i)
            .collect()
    }

    /// Holds the chunk named `digest` of `len` bytes, if it is stored: it stays until
    /// [`ChunkStore::release`]d (blocking: its file is looked at).
    pub fn hold(&self, digest: &Digest, len: u64) -> bool {
        let mut counts = self.lock();
        match counts.get_mut(digest) {
            // Its file removed behind the store's back: as good as gone.
            Some(count) if count.len == len && self.path(digest).is_file() => {
                count.holders += 1;
                true
            }
            _ => false,
        }
    }

    /// Stores `bytes` as the chunk named `digest` (computed by the caller from these
    /// bytes) and holds it; its file is written, durably, only if the store does not
    /// hold the chunk already. Returns whether a file was written (its folder must be
    /// synced before an image names it: [`ChunkStore::sync_folders`]). Blocking.
    pub fn store(&self, digest: &Digest, bytes: &[u8]) -> Result<bool, ChunkError> {
        let len = bytes.len() as u64;
        if self.hold(digest, len) {
            return Ok(false);
        }
        let partial = self.write_partial(digest, bytes)?;
        // Renamed under the lock: a release deleting the chunk's last file meanwhile
        // happens before (then this file is the chunk's) or after (then it counts this
        // holder and keeps the file).
        let path = self.path(digest);
        let mut counts = self.lock();
        std::fs::rename(&partial, &path).map_err(io(&path))?;
        let count = counts.entry(*digest).or_insert(Count { len, holders: 0 });
        count.len = len;
        count.holders += 1;
        Ok(true)
    }

    /// Writes `bytes` as the chunk named `digest`, not counted (blocking).
    fn write_chunk(&self, digest: &Digest, bytes: &[u8]) -> Result<(), ChunkError> {
        let partial = self.write_partial(digest, bytes)?;
        let path = self.path(digest);
        std::fs::rename(&partial, &path).map_err(io(&path))
    }

    /// `bytes` written durably beside the chunk named `digest`, under a name of its own:
    /// two uploads may bring the same new chunk at once.
    fn write_partial(&self, digest: &Digest, bytes: &[u8]) -> Result<PathBuf, ChunkError> {
        let path = self.path(digest);
        let partial = partial_path(&path.with_extension(crate::random_token(4)));
        let write = || -> std::io::Result<()> {
            if let Some(folder) = path.parent() {
                std::fs::create_dir_all(folder)?;
            }
            let file = std::fs::File::create(&partial)?;
            // Zero blocks stay holes.
            nixspot_fs::sparse::write_nonzero_at(&file, 0, bytes)?;
            file.set_len(bytes.len() as u64)?;
            file.sync_data()
        };
        match write() {
            Ok(()) => Ok(partial),
            Err(e) => {
                let _ = std::fs::remove_file(&partial);
                Err(io(&path)(e))
            }
        }
    }

    /// Syncs the folders of the chunks `written` (new files) so their names are on
    /// disk too (blocking).
    pub fn sync_folders(&self, written: &[Digest]) -> Result<(), ChunkError> {
        let mut folders: Vec<PathBuf> = written
            .iter()
            .filter_map(|d| self.path(d).parent().map(Path::to_path_buf))
            .collect();
        folders.sort();
        folders.dedup();
        if !folders.is_empty() {
            // A new folder's name is in this one.
            folders.push(self.dir.join(CHUNKS));
        }
        for folder in folders {
            sync_folder(&folder)?;
        }
        Ok(())
    }

    /// Lets go of one hold on each of `digests`; a chunk nobody holds any more is
    /// deleted (blocking).
    pub fn release<'a>(&self, digests: impl IntoIterator<Item = &'a Digest>) {
        let mut counts = self.lock();
        for digest in digests {
            let Some(count) = counts.get_mut(digest) else {
                continue;
            };
            count.holders = count.holders.saturating_sub(1);
            if count.holders == 0 {
                counts.remove(digest);
                let _ = std::fs::remove_file(self.path(digest));
            }
        }
    }

    /// The manifest of the image stored at `key`, `None` if there is none (blocking).
    pub fn read_manifest(&self, key: &str) -> Result<Option<Manifest>, ChunkError> {
        let path = self.manifest_path(key);
        match std::fs::read(&path) {
            Ok(bytes) => Manifest::from_json(&path, &bytes).map(Some),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io(&path)(e)),
        }
    }

    /// Writes the manifest of the image stored at `key`, durably, its chunks being held
    /// and on disk already (blocking).
    pub fn write_manifest(&self, key: &str, manifest: &Manifest) -> Result<(), ChunkError> {
        let path = self.manifest_path(key);
        let partial = partial_path(&path);
        let folder = path.parent().unwrap_or(&self.dir).to_path_buf();
        let write = || -> std::io::Result<()> {
            std::fs::create_dir_all(&folder)?;
            let mut file = std::fs::File::create(&partial)?;
            file.write_all(&manifest.to_json())?;
            file.sync_all()?;
            std::fs::rename(&partial, &path)
        };
        if let Err(e) = write() {
            let _ = std::fs::remove_file(&partial);
            return Err(io(&path)(e));
        }
        sync_folder(&folder)
    }

    /// Deletes the image stored at `key` (its manifest, then its chunks nobody else
    /// holds); a missing image is not an error (blocking).
    pub fn delete(&self, key: &str) -> Result<(), ChunkError> {
        let Some(manifest) = self.read_manifest(key)? else {
            return Ok(());
        };
        let path = self.manifest_path(key);
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(io(&path)(e)),
        }
        // The order's folder, if empty now.
        if let Some(folder) = path.parent().filter(|f| *f != self.dir) {
            let _ = std::fs::remove_dir(folder);
        }
        self.release(manifest.chunks.iter().map(|c| &c.digest));
        Ok(())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Digest, Count>> {
        // A panic elsewhere while holding it leaves a map that is still whole.
        self.counts.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Counts an image holding `chunks`.
fn count_holders(counts: &mut HashMap<Digest, Count>, chunks: &[Placed]) {
    for chunk in chunks {
        let count = counts.entry(chunk.digest).or_insert(Count {
            len: chunk.len,
            holders: 0,
        });
        count.holders += 1;
    }
}

/// The name `path` has while it is being written.
fn partial_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(PARTIAL);
    path.with_file_name(name)
}

fn sync_folder(folder: &Path) -> Result<(), ChunkError> {
    std::fs::File::open(folder)
        .and_then(|f| f.sync_all())
        .map_err(io(folder))
}

/// The files under `dir`, except under `skip`, links not followed.
fn files_under(dir: &Path, skip: &Path) -> Result<Vec<PathBuf>, ChunkError> {
    let mut files = Vec::new();
    let mut folders = vec![dir.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).map_err(io(&folder))? {
            let entry = entry.map_err(io(&folder))?;
            let path = entry.path();
            let kind = entry.file_type().map_err(io(&path))?;
            if kind.is_dir() && path != skip {
                folders.push(path);
            } else if kind.is_file() {
                files.push(path);
            }
        }
    }
    Ok(files)
}

/// Holds on chunks, let go of when the last clone is dropped: an upload's, until its
/// manifest is written (then the image holds them), or a download's, until it ends.
/// Clones share the holds: an upload's chunk being written on another thread adds its
/// hold there, and it is let go of even if the upload was dropped meanwhile.
#[derive(Debug, Clone)]
pub struct Holds {
    shared: Arc<Held>,
}

#[derive(Debug)]
struct Held {
    store: Arc<ChunkStore>,
    digests: Mutex<Vec<Digest>>,
}

impl Holds {
    /// No holds yet on `store`'s chunks.
    pub fn new(store: Arc<ChunkStore>) -> Holds {
        Holds {
            shared: Arc::new(Held {
                store,
                digests: Mutex::default(),
            }),
        }
    }

    /// The store.
    pub fn store(&self) -> &Arc<ChunkStore> {
        &self.shared.store
    }

    /// Counts a hold taken on `digest`.
    pub fn push(&self, digest: Digest) {
        self.shared.lock().push(digest);
    }

    /// The holds now belong to an image's manifest: nothing is let go of.
    pub fn keep(self) {
        self.shared.lock().clear();
    }
}

impl Held {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Digest>> {
        self.digests.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        let digests = std::mem::take(&mut *self.lock());
        if !digests.is_empty() {
            self.store.release(&digests);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nixspot_imager_worker::sparse;

    fn files(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = files_under(dir, Path::new(""))
            .unwrap()
            .iter()
            .map(|p| p.strip_prefix(dir).unwrap().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_chunk_is_stored_once_and_deleted_when_nobody_holds_it() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(ChunkStore::open(dir.path()).unwrap());
        let (a, b) = (vec![5u8; 10_000], b"ssid=B".to_vec());
        let (da, db) = (sparse::digest(&a), sparse::digest(&b));
        assert!(store.store(&da, &a).unwrap(), "a new chunk is written");
        assert!(!store.store(&da, &a).unwrap(), "a held chunk is not");
        assert!(store.store(&db, &b).unwrap());
        assert_eq!(std::fs::read(store.path(&da)).unwrap(), a);
        assert_eq!(store.held_indices(&[db, [0; 32], da]), [0, 2]);
        assert!(store.hold(&da, 10_000));
        assert!(!store.hold(&da, 9_999), "held with another length");
        assert!(!store.hold(&[0; 32], 1), "never stored");
        // Three holds on a, one on b.
        store.release([&da, &da, &db]);
        assert!(store.path(&da).is_file());
        assert!(!store.path(&db).exists(), "b is nobody's");
        assert_eq!(store.held_indices(&[da, db]), [0]);
        store.release([&da]);
        assert!(!store.path(&da).exists());
        assert_eq!(store.held_indices(&[da, db]), [] as [usize; 0]);
        // A file removed behind the store's back is not held.
        assert!(store.store(&da, &a).unwrap());
        std::fs::remove_file(store.path(&da)).unwrap();
        assert!(!store.hold(&da, 10_000));
    }

    #[test]
    fn opening_counts_the_manifests_and_deletes_what_no_image_holds() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b, c) = (vec![1u8; 100], vec![2u8; 200], vec![3u8; 300]);
        let (da, db, dc) = (sparse::digest(&a), sparse::digest(&b), sparse::digest(&c));
        {
            let store = ChunkStore::open(dir.path()).unwrap();
            for (digest, bytes) in [(da, &a), (db, &b), (dc, &c)] {
                store.store(&digest, bytes).unwrap();
            }
            let placed = |offset, digest, len| Placed {
                offset,
                len,
                digest,
            };
            let one = Manifest {
                size: 1000,
                chunks: vec![placed(0, da, 100), placed(500, db, 200)],
            };
            let two = Manifest {
                size: 1000,
                chunks: vec![placed(0, da, 100)],
            };
            store.write_manifest("o1/one.img", &one).unwrap();
            store.write_manifest("o2/two.img", &two).unwrap();
            assert_eq!(store.read_manifest("o1/one.img").unwrap(), Some(one));
            // c: stored by an upload that never wrote its manifest (a crash).
            std::fs::write(dir.path().join("o3.partial"), b"half").unwrap();
        }
        let store = ChunkStore::open(dir.path()).unwrap();
        assert_eq!(store.held_indices(&[da, db, dc]), [0, 1]);
        assert!(!store.path(&dc).exists(), "c is deleted");
        // a is held by both images: deleting one keeps it.
        store.delete("o1/one.img").unwrap();
        assert!(store.path(&da).is_file() && !store.path(&db).exists());
        store.delete("o1/one.img").unwrap();
        store.delete("o2/two.img").unwrap();
        assert_eq!(files(dir.path()), [] as [String; 0], "nothing is left");
    }

    #[test]
    fn images_stored_whole_by_earlier_versions_become_chunks() {
        let dir = tempfile::tempdir().unwrap();
        let chunk = nixspot_imager_worker::sparse::CHUNK as usize;
        let mut image = vec![0u8; 3 * chunk + 10];
        image[5..100].fill(1);
        image[3 * chunk + 2] = 9;
        std::fs::create_dir_all(dir.path().join("order")).unwrap();
        std::fs::write(dir.path().join("order/school-1.img"), &image).unwrap();
        std::fs::write(dir.path().join("order/.upload-abc"), b"half").unwrap();
        let store = ChunkStore::open(dir.path()).unwrap();
        assert_eq!(
            files(dir.path())
                .iter()
                .filter(|f| !f.starts_with("chunks/"))
                .collect::<Vec<_>>(),
            ["order/school-1.img.manifest"]
        );
        let manifest = store.read_manifest("order/school-1.img").unwrap().unwrap();
        assert_eq!(manifest.size, image.len() as u64);
        let placed: Vec<_> = manifest.chunks.iter().map(|c| (c.offset, c.len)).collect();
        assert_eq!(placed, [(0, chunk as u64), (3 * chunk as u64, 10)]);
        let mut read = vec![0u8; image.len()];
        for c in &manifest.chunks {
            let bytes = std::fs::read(store.path(&c.digest)).unwrap();
            read[c.offset as usize..][..bytes.len()].copy_from_slice(&bytes);
        }
        assert!(read == image);
        store.delete("order/school-1.img").unwrap();
        assert_eq!(files(dir.path()), [] as [String; 0]);
    }

    #[test]
    fn a_manifest_that_is_not_one_is_refused_naming_what_is_wrong() {
        let path = Path::new("o/x.img.manifest");
        let digest = hex::encode([7u8; 32]);
        for (text, expected) in [
            ("nonsense", "expected"),
            (r#"{"size": 10, "chunks": [[0, 5, "zz"]]}"#, "chunks[0]"),
            (
                &format!(r#"{{"size": 10, "chunks": [[0, 5, "{digest}"], [4, 2, "{digest}"]]}}"#),
                "chunks[1]",
            ),
            (
                &format!(r#"{{"size": 10, "chunks": [[8, 5, "{digest}"]]}}"#),
                "image's end",
            ),
            (
                &format!(
                    r#"{{"size": 10, "chunks": [[{}, 5, "{digest}"]]}}"#,
                    u64::MAX
                ),
                "image's end",
            ),
        ] {
            let e = Manifest::from_json(path, text.as_bytes()).unwrap_err();
            let message = e.to_string();
            assert!(
                message.contains(expected) && message.contains("x.img.manifest"),
                "{text}: {message}"
            );
        }
    }
}
