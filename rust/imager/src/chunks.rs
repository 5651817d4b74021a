//! The chunks of stored images that later uploads may refer to instead of sending
//! them again (the sparse upload's reference records, `nixspot_imager_worker::sparse`).
//! Most of an image is its base's partitions and catalog content that earlier images
//! had too: a worker on another machine then sends the few chunks that differ, and the
//! server copies the others from an image it stores (cloned where the filesystem
//! allows).
//!
//! The index is the server's memory of the uploads it received and checked itself (it
//! computed each chunk's digest as the bytes arrived, never taking a worker's word for
//! it). It lives as long as the process: after a restart, the next upload sends every
//! chunk again and refills it. Only local storage keeps chunks; an image's chunks are
//! forgotten before the image is deleted.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use nixspot_imager_worker::sparse::Digest;

/// The most chunks remembered, counting each image holding one (about 100 bytes each:
/// at most ~25 MiB of index); chunks past it are not lent to later uploads.
const MAX_CHUNKS: usize = 1 << 18;

/// Where a chunk's bytes are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    /// The storage key of the image holding it.
    pub key: Arc<str>,
    /// Where it starts in that image.
    pub offset: u64,
    /// Its length.
    pub len: u64,
}

/// The chunks of the images in storage, by digest.
#[derive(Debug, Default)]
pub struct ChunkIndex {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// Every image holding each chunk, oldest first: when one expires, the others
    /// still lend it.
    by_digest: HashMap<Digest, Vec<Held>>,
    /// The digests each image holds.
    by_key: HashMap<Arc<str>, Vec<Digest>>,
    /// Entries of `by_digest`, all images counted.
    entries: usize,
}

impl ChunkIndex {
    /// Where the chunk named `digest` is, if an image in storage holds it.
    pub fn held(&self, digest: &Digest) -> Option<Held> {
        self.lock()
            .by_digest
            .get(digest)
            .and_then(|holders| holders.first().cloned())
    }

    /// Which of `digests` are held, as their indices.
    pub fn held_indices(&self, digests: &[Digest]) -> Vec<usize> {
        let inner = self.lock();
        digests
            .iter()
            .enumerate()
            .filter(|(_, d)| inner.by_digest.contains_key(*d))
            .map(|(i, _)| i)
            .collect()
    }

    /// Remembers the chunks `(digest, offset, len)` of the image stored at `key`.
    pub fn add(&self, key: &str, chunks: impl IntoIterator<Item = (Digest, u64, u64)>) {
        let key: Arc<str> = Arc::from(key);
        let mut inner = self.lock();
        let mut holds = Vec::new();
        for (digest, offset, len) in chunks {
            if len == 0 || inner.entries >= MAX_CHUNKS {
                continue;
            }
            let holders = inner.by_digest.entry(digest).or_default();
            // The same bytes twice in one image: lent from their first place.
            if holders.last().is_some_and(|h| h.key == key) {
                continue;
            }
            holders.push(Held {
                key: Arc::clone(&key),
                offset,
                len,
            });
            holds.push(digest);
            inner.entries += 1;
        }
        if !holds.is_empty() {
            inner.by_key.entry(key).or_default().extend(holds);
        }
    }

    /// Forgets the chunks of the image at `key` (it is about to be deleted).
    pub fn forget(&self, key: &str) {
        let mut inner = self.lock();
        let Some(digests) = inner.by_key.remove(key) else {
            return;
        };
        for digest in digests {
            if let Some(holders) = inner.by_digest.get_mut(&digest) {
                holders.retain(|h| &*h.key != key);
                if holders.is_empty() {
                    inner.by_digest.remove(&digest);
                }
                inner.entries -= 1;
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding it cannot leave the maps half-changed in a way that
        // matters (a chunk at worst lent or not): go on with them.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chunk_is_lent_while_an_image_holds_it() {
        let index = ChunkIndex::default();
        let (a, b) = ([1u8; 32], [2u8; 32]);
        index.add(
            "one.img",
            [(a, 0, 10), (b, 10, 5), ([3; 32], 20, 0), (a, 30, 10)],
        );
        index.add("two.img", [(a, 100, 10)]);
        let first = Held {
            key: "one.img".into(),
            offset: 0,
            len: 10,
        };
        assert_eq!(index.held(&a), Some(first));
        // An empty chunk is never lent.
        assert_eq!(index.held_indices(&[b, [3; 32], a]), [0, 2]);
        // The first image expires: the second still lends what it holds.
        index.forget("one.img");
        assert_eq!(
            index.held(&a).map(|h| (h.key, h.offset)),
            Some(("two.img".into(), 100))
        );
        assert_eq!(index.held(&b), None);
        index.forget("two.img");
        assert_eq!(index.held(&a), None);
        assert_eq!(index.lock().entries, 0);
        assert!(index.lock().by_digest.is_empty() && index.lock().by_key.is_empty());
        index.forget("never.img");
    }
}
