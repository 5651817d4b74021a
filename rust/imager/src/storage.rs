//! Where images go: a local directory, where each image is stored as the chunks it is
//! made of, each chunk once however many images hold it ([`ChunkStore`]; served with
//! Range requests), or an S3-compatible bucket (downloads are 302 redirects to
//! presigned, expiring URLs). Uploads stream into storage while being checked — a plain
//! upload against its sha256, a worker's sparse upload against its records' checksums —
//! and are refused on a mismatch or a wrong length, leaving nothing behind.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::chunks::{ChunkError, ChunkStore, Holds, Manifest, Placed};
use axum::body::Bytes;
use futures_util::{Stream, StreamExt as _};
use nixspot_imager_worker::sparse;
use sha2::{Digest as _, Sha256};
use tokio::io::AsyncWriteExt as _;

/// Image storage.
#[derive(Debug, Clone)]
pub enum Storage {
    /// A directory: images as manifests of chunks, the chunks stored once.
    Local {
        /// The directory.
        dir: PathBuf,
        /// Its chunks, which uploads may also refer to.
        chunks: Arc<ChunkStore>,
    },
    /// An S3-compatible bucket.
    S3 {
        /// The store.
        store: Arc<object_store::aws::AmazonS3>,
        /// `s3://BUCKET`, for messages.
        bucket: String,
    },
}

/// Storage errors.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The `--storage` value is not understood.
    #[error("--storage {spec}: {reason}")]
    Spec {
        /// The value.
        spec: String,
        /// Why.
        reason: String,
    },
    /// Reading or writing failed.
    #[error("{0}")]
    Io(String),
    /// The upload is not what the worker said it is.
    #[error("{0}")]
    Mismatch(String),
    /// The upload refers to a chunk this storage does not hold (any more): the worker
    /// should send its bytes.
    #[error("{0}")]
    ChunkGone(String),
}

impl Storage {
    /// `DIR` or `s3://BUCKET?endpoint=URL&region=R` (credentials from the usual
    /// `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY` environment variables).
    pub fn parse(spec: &str) -> Result<Storage, StorageError> {
        let Some(rest) = spec.strip_prefix("s3://") else {
            return Storage::local(PathBuf::from(spec));
        };
        let bad = |reason: String| StorageError::Spec {
            spec: spec.to_string(),
            reason,
        };
        let url = url::Url::parse(spec).map_err(|e| bad(e.to_string()))?;
        let bucket = url
            .host_str()
            .filter(|b| !b.is_empty())
            .ok_or_else(|| bad(format!("no bucket name in {rest:?}")))?
            .to_string();
        let mut builder = object_store::aws::AmazonS3Builder::from_env().with_bucket_name(&bucket);
        for (key, value) in url.query_pairs() {
            builder = match key.as_ref() {
                "endpoint" => builder
                    .with_endpoint(value.as_ref())
                    .with_allow_http(value.starts_with("http://"))
                    .with_virtual_hosted_style_request(false),
                "region" => builder.with_region(value.as_ref()),
                other => {
                    return Err(bad(format!(
                        "unknown parameter {other:?} (expected endpoint, region)"
                    )))
                }
            };
        }
        let store = builder.build().map_err(|e| bad(e.to_string()))?;
        Ok(Storage::S3 {
            store: Arc::new(store),
            bucket: format!("s3://{bucket}"),
        })
    }

    /// Images in the directory `dir` (created if missing; its chunks are counted,
    /// which reads every image's manifest: blocking).
    pub fn local(dir: PathBuf) -> Result<Storage, StorageError> {
        let chunks = ChunkStore::open(&dir)?;
        Ok(Storage::Local {
            dir,
            chunks: Arc::new(chunks),
        })
    }

    /// The chunks of stored images that uploads may refer to (local storage only).
    pub fn chunks(&self) -> Option<&Arc<ChunkStore>> {
        match self {
            Storage::Local { chunks, .. } => Some(chunks),
            Storage::S3 { .. } => None,
        }
    }

    /// The image stored at `key` in a local storage, its chunks held until it is
    /// dropped (so it can be read to the end even if it expires meanwhile); `None` if
    /// there is no such image. S3 storage has no local images.
    pub async fn open_local(&self, key: &str) -> Result<Option<LocalImage>, StorageError> {
        let Storage::Local { chunks, .. } = self else {
            return Err(StorageError::Io(format!(
                "{key}: not in local storage (S3 images are downloaded by their link)"
            )));
        };
        let chunks = Arc::clone(chunks);
        let key = key.to_string();
        blocking(move || {
            let Some(manifest) = chunks.read_manifest(&key)? else {
                return Ok(None);
            };
            let holds = Holds::new(Arc::clone(&chunks));
            for chunk in &manifest.chunks {
                if !chunks.hold(&chunk.digest, chunk.len) {
                    return Err(StorageError::Io(format!(
                        "{}: chunk {} is missing from storage",
                        chunks.manifest_path(&key).display(),
                        hex::encode(chunk.digest)
                    )));
                }
                holds.push(chunk.digest);
            }
            Ok(Some(LocalImage { manifest, holds }))
        })
        .await
    }

    /// A presigned GET URL valid `ttl` (S3 only).
    pub async fn presigned(
        &self,
        key: &str,
        ttl: Duration,
    ) -> Result<Option<String>, StorageError> {
        use object_store::signer::Signer as _;
        match self {
            Storage::Local { .. } => Ok(None),
            Storage::S3 { store, bucket } => store
                .signed_url(
                    axum::http::Method::GET,
                    &object_store::path::Path::from(key),
                    ttl,
                )
                .await
                .map(|u| Some(u.to_string()))
                .map_err(|e| {
                    StorageError::Io(format!("{bucket}/{key}: cannot sign a download link: {e}"))
                }),
        }
    }

    /// Deletes `key` (a missing object is not an error). A local image's chunks go
    /// too, unless another image (or a download in progress) holds them.
    pub async fn delete(&self, key: &str) -> Result<(), StorageError> {
        match self {
            Storage::Local { chunks, .. } => {
                let chunks = Arc::clone(chunks);
                let key = key.to_string();
                blocking(move || Ok(chunks.delete(&key)?)).await
            }
            Storage::S3 { store, bucket } => {
                use object_store::ObjectStore as _;
                match store.delete(&object_store::path::Path::from(key)).await {
                    Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
                    Err(e) => Err(StorageError::Io(format!("{bucket}/{key}: {e}"))),
                }
            }
        }
    }

    /// Streams `body` into `key`, hashing it; keeps it only if it has `length` bytes
    /// (when known) and the sha256 `sha256`. Returns the size.
    pub async fn put<S, E>(
        &self,
        key: &str,
        mut body: S,
        length: Option<u64>,
        sha256: &str,
    ) -> Result<u64, StorageError>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        let mut sink = Sink::open(self, key);
        let mut hasher = Sha256::new();
        let mut counted = Counted::new(length);
        let hashed: Result<String, StorageError> = async {
            while let Some(chunk) = body.next().await {
                let chunk = counted.chunk(chunk)?;
                hasher.update(&chunk);
                sink.write(chunk).await?;
            }
            counted.end()?;
            Ok(hex::encode(hasher.finalize_reset()))
        }
        .await;
        let checked = hashed.and_then(|actual| {
            if actual.eq_ignore_ascii_case(sha256) {
                Ok(())
            } else {
                Err(StorageError::Mismatch(format!(
                    "the upload's sha256 is {actual}, X-Image-Sha256 said {sha256}"
                )))
            }
        });
        let size = counted.received;
        sink.end(checked, size).await?;
        Ok(size)
    }

    /// Streams a worker's sparse upload (`body`, [`nixspot_imager_worker::sparse`]) of
    /// an image of `size` bytes into `key`: in local storage, the chunks its data
    /// records bring are stored (unless held already) and the chunks it refers to are
    /// held, and its manifest names them all; in S3, the bytes are written where they
    /// go, with zeros between them (S3 objects have no holes, and lend no chunks). Kept
    /// only if every record's CRC-32C holds and the body is `length` bytes (when known):
    /// the stored bytes are then exactly those the worker read from its image, whose
    /// sha256 its build computed as it wrote them. The image is not hashed again here:
    /// that would cost a sha256 over the whole image, holes included, for every order
    /// (more than the build itself takes), to learn what the checksums already say.
    pub async fn put_sparse<S, E>(
        &self,
        key: &str,
        mut body: S,
        length: Option<u64>,
        size: u64,
    ) -> Result<u64, StorageError>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        let mut sink = Sink::open(self, key);
        let mut decoder = sparse::Decoder::new(size);
        let mut counted = Counted::new(length);
        let received: Result<(), StorageError> = async {
            while let Some(chunk) = body.next().await {
                let chunk = counted.chunk(chunk)?;
                let pieces = decoder
                    .feed(&chunk)
                    .map_err(|e| StorageError::Mismatch(e.to_string()))?;
                for piece in pieces {
                    match piece {
                        sparse::Piece::Data { offset, bytes } => {
                            sink.write_at(offset, chunk.slice(bytes)).await?;
                        }
                        sparse::Piece::Chunk {
                            offset,
                            len,
                            digest,
                        } => sink.chunk_ended(offset, len, digest).await?,
                        sparse::Piece::Reference {
                            offset,
                            len,
                            digest,
                        } => sink.refer(offset, len, digest)?,
                    }
                }
            }
            decoder
                .finish()
                .map_err(|e| StorageError::Mismatch(e.to_string()))?;
            counted.end()
        }
        .await;
        sink.end(received, size).await?;
        Ok(size)
    }
}

/// An image in local storage, its chunks held while it is read.
#[derive(Debug)]
pub struct LocalImage {
    manifest: Manifest,
    holds: Holds,
}

/// Bytes read from a local image at a time.
const READ_STEP: u64 = 256 << 10;

impl LocalImage {
    /// Its length in bytes.
    pub fn size(&self) -> u64 {
        self.manifest.size
    }

    /// Its bytes in `range` (within its size), zeros where it has no chunk.
    pub fn read(self, range: Range<u64>) -> impl Stream<Item = std::io::Result<Bytes>> + Send {
        let image = Arc::new(self);
        futures_util::stream::try_unfold(range, move |range| {
            let image = Arc::clone(&image);
            async move {
                if range.start >= range.end {
                    return Ok(None);
                }
                let (bytes, next) = tokio::task::spawn_blocking(move || {
                    let bytes = image.piece(&range)?;
                    let next = range.start + bytes.len() as u64..range.end;
                    Ok::<_, std::io::Error>((bytes, next))
                })
                .await
                .map_err(std::io::Error::other)??;
                Ok(Some((bytes, next)))
            }
        })
    }

    /// The first bytes of `range` (not empty): from the chunk it starts in, or zeros up
    /// to the next chunk (blocking).
    fn piece(&self, range: &Range<u64>) -> std::io::Result<Bytes> {
        use std::os::unix::fs::FileExt as _;
        let chunks = &self.manifest.chunks;
        let at = range.start;
        // The first chunk ending after `at`.
        let i = chunks.partition_point(|c| c.offset + c.len <= at);
        match chunks.get(i) {
            Some(chunk) if chunk.offset <= at => {
                let end = range.end.min(chunk.offset + chunk.len).min(at + READ_STEP);
                let mut bytes = vec![0; (end - at) as usize];
                let path = self.holds.store().path(&chunk.digest);
                std::fs::File::open(&path)
                    .and_then(|f| f.read_exact_at(&mut bytes, at - chunk.offset))
                    .map_err(|e| {
                        std::io::Error::new(e.kind(), format!("{}: {e}", path.display()))
                    })?;
                Ok(Bytes::from(bytes))
            }
            next => {
                let hole_end = next.map_or(self.manifest.size, |c| c.offset);
                let end = range.end.min(hole_end).min(at + ZEROS.len() as u64);
                Ok(Bytes::from_static(&ZEROS[..(end - at) as usize]))
            }
        }
    }

    /// Writes the image into the new file `target`: chunks cloned or copied from the
    /// store (holes stay holes), synced (blocking).
    pub fn export(&self, target: &Path) -> std::io::Result<()> {
        let file = std::fs::File::options()
            .write(true)
            .create_new(true)
            .open(target)?;
        for chunk in &self.manifest.chunks {
            let source = std::fs::File::open(self.holds.store().path(&chunk.digest))?;
            nixspot_fs::sparse::copy_nonzero(&source, 0, &file, chunk.offset, chunk.len)?;
        }
        file.set_len(self.manifest.size)?;
        file.sync_all()
    }
}

/// `work` on the blocking pool.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, StorageError> + Send + 'static,
) -> Result<T, StorageError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| StorageError::Io(e.to_string()))?
}

impl From<ChunkError> for StorageError {
    fn from(e: ChunkError) -> StorageError {
        StorageError::Io(e.to_string())
    }
}

/// An upload's bytes as they arrive, against its Content-Length `length` (when known).
struct Counted {
    length: Option<u64>,
    received: u64,
}

impl Counted {
    fn new(length: Option<u64>) -> Counted {
        Counted {
            length,
            received: 0,
        }
    }

    /// The next chunk of the body, counted: refused once there are more bytes than
    /// `length`.
    fn chunk<E: std::fmt::Display>(
        &mut self,
        chunk: Result<Bytes, E>,
    ) -> Result<Bytes, StorageError> {
        let chunk = chunk.map_err(|e| StorageError::Io(format!("reading the upload: {e}")))?;
        self.received += chunk.len() as u64;
        if self.length.is_some_and(|l| self.received > l) {
            return Err(StorageError::Mismatch(format!(
                "the upload is longer than its Content-Length ({} bytes)",
                self.length.unwrap_or(0)
            )));
        }
        Ok(chunk)
    }

    /// Refused unless the whole body had `length` bytes.
    fn end(&self) -> Result<(), StorageError> {
        match self.length.filter(|l| *l != self.received) {
            Some(expected) => Err(StorageError::Mismatch(format!(
                "the upload has {} bytes, its Content-Length said {expected}",
                self.received
            ))),
            None => Ok(()),
        }
    }
}

/// Zeros to send, from memory.
static ZEROS: [u8; 1 << 16] = [0; 1 << 16];

/// Chunks of an upload being written at once: their fsyncs overlap (one after the
/// other, the 611 chunks of a first upload took 8.5 s) and hold a few MiB.
const CHUNKS_IN_FLIGHT: usize = 8;

/// An image being stored in local storage: its chunks so far, held.
struct LocalUpload {
    key: String,
    /// The chunks stored or referred to.
    chunks: Vec<Placed>,
    /// The holds on them, let go of if the upload ends without its manifest.
    holds: Holds,
    /// The chunks whose files this upload wrote (their folders are synced at the end).
    written: Vec<sparse::Digest>,
    /// Chunks being stored: where each goes, its digest, whether its file is new (or
    /// nothing: a chunk of zeros).
    storing: tokio::task::JoinSet<Result<Option<(Placed, bool)>, StorageError>>,
    /// The bytes of the chunk being received, and where it starts.
    pending: Vec<u8>,
    pending_at: u64,
}

impl LocalUpload {
    /// Adds `bytes` at `offset` (right after the bytes pending, if any) to the chunk
    /// being received.
    fn add(&mut self, offset: u64, bytes: &[u8]) -> Result<(), StorageError> {
        if self.pending.is_empty() {
            self.pending_at = offset;
        } else if self.pending_at + self.pending.len() as u64 != offset {
            return Err(StorageError::Mismatch(format!(
                "bytes at {offset} do not follow the chunk at {} ({} bytes)",
                self.pending_at,
                self.pending.len()
            )));
        }
        self.pending.extend_from_slice(bytes);
        Ok(())
    }

    /// Stores the pending bytes as a chunk (named `digest` if known, else by their
    /// digest computed here), unless they are all zeros (a hole, when `skip_zeros`), on
    /// the blocking pool while the upload goes on.
    async fn store_pending(
        &mut self,
        digest: Option<sparse::Digest>,
        skip_zeros: bool,
    ) -> Result<(), StorageError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        while self.storing.len() >= CHUNKS_IN_FLIGHT {
            self.stored_one().await?;
        }
        let bytes = std::mem::replace(
            &mut self.pending,
            Vec::with_capacity(sparse::CHUNK as usize),
        );
        let offset = self.pending_at;
        let holds = self.holds.clone();
        self.storing.spawn_blocking(move || {
            if skip_zeros && bytes.iter().all(|b| *b == 0) {
                return Ok(None);
            }
            let digest = digest.unwrap_or_else(|| sparse::digest(&bytes));
            let written = holds.store().store(&digest, &bytes)?;
            // Held even if the upload is dropped meanwhile: let go of with the holds.
            holds.push(digest);
            let len = bytes.len() as u64;
            Ok(Some((
                Placed {
                    offset,
                    len,
                    digest,
                },
                written,
            )))
        });
        Ok(())
    }

    /// Waits for one of the chunks being stored.
    async fn stored_one(&mut self) -> Result<(), StorageError> {
        let Some(done) = self.storing.join_next().await else {
            return Ok(());
        };
        let stored = done.map_err(|e| StorageError::Io(e.to_string()))??;
        if let Some((placed, written)) = stored {
            if written {
                self.written.push(placed.digest);
            }
            self.chunks.push(placed);
        }
        Ok(())
    }

    /// `len` bytes at `offset` are the chunk named `digest`, which must be held.
    fn refer(&mut self, offset: u64, len: u64, digest: sparse::Digest) -> Result<(), StorageError> {
        if !self.holds.store().hold(&digest, len) {
            return Err(StorageError::ChunkGone(format!(
                "the upload refers to chunk {} ({len} bytes), which this server does not hold: send its bytes",
                hex::encode(digest)
            )));
        }
        self.holds.push(digest);
        self.chunks.push(Placed {
            offset,
            len,
            digest,
        });
        Ok(())
    }

    /// The image is whole: its chunks stored, their names synced, its manifest written.
    async fn commit(mut self, size: u64) -> Result<(), StorageError> {
        while !self.storing.is_empty() {
            self.stored_one().await?;
        }
        let LocalUpload {
            key,
            mut chunks,
            holds,
            written,
            ..
        } = self;
        chunks.sort_by_key(|c| c.offset);
        blocking(move || {
            let store = holds.store();
            store.sync_folders(&written)?;
            store.write_manifest(&key, &Manifest { size, chunks })?;
            holds.keep();
            Ok(())
        })
        .await
    }
}

/// An object being written.
enum Sink {
    Local(LocalUpload),
    S3 {
        writer: Box<object_store::buffered::BufWriter>,
        what: String,
        /// Bytes written so far.
        written: u64,
    },
}

impl Sink {
    fn open(storage: &Storage, key: &str) -> Sink {
        match storage {
            Storage::Local { chunks, .. } => Sink::Local(LocalUpload {
                key: key.to_string(),
                chunks: Vec::new(),
                holds: Holds::new(Arc::clone(chunks)),
                written: Vec::new(),
                storing: tokio::task::JoinSet::new(),
                pending: Vec::with_capacity(sparse::CHUNK as usize),
                pending_at: 0,
            }),
            Storage::S3 { store, bucket } => Sink::S3 {
                writer: Box::new(object_store::buffered::BufWriter::new(
                    store.clone(),
                    object_store::path::Path::from(key),
                )),
                what: format!("{bucket}/{key}"),
                written: 0,
            },
        }
    }

    /// The next bytes of a plain upload: local images are cut into chunks on the
    /// [`sparse::CHUNK`] grid, as workers cut theirs, chunks of zeros left as holes.
    async fn write(&mut self, mut chunk: Bytes) -> Result<(), StorageError> {
        match self {
            Sink::Local(upload) => {
                while !chunk.is_empty() {
                    let at = upload.pending_at + upload.pending.len() as u64;
                    let room = sparse::CHUNK - at % sparse::CHUNK;
                    let part = chunk.split_to(chunk.len().min(room as usize));
                    upload.add(at, &part)?;
                    if (at + part.len() as u64).is_multiple_of(sparse::CHUNK) {
                        upload.store_pending(None, true).await?;
                        upload.pending_at = at + part.len() as u64;
                    }
                }
                Ok(())
            }
            Sink::S3 { written, .. } => {
                let end = *written;
                self.write_at(end, chunk).await
            }
        }
    }

    /// Bytes of a sparse upload's data record, at `offset` (after everything so far).
    async fn write_at(&mut self, offset: u64, bytes: Bytes) -> Result<(), StorageError> {
        match self {
            Sink::Local(upload) => upload.add(offset, &bytes),
            Sink::S3 {
                writer,
                what,
                written,
            } => {
                // S3 objects have no holes: zeros up to the data.
                while *written < offset {
                    let n = (offset - *written).min(ZEROS.len() as u64) as usize;
                    writer
                        .put(Bytes::from_static(&ZEROS[..n]))
                        .await
                        .map_err(|e| StorageError::Io(format!("{what}: {e}")))?;
                    *written += n as u64;
                }
                *written += bytes.len() as u64;
                writer
                    .put(bytes)
                    .await
                    .map_err(|e| StorageError::Io(format!("{what}: {e}")))
            }
        }
    }

    /// A data record ended: its bytes are the chunk `digest` (computed by the decoder).
    async fn chunk_ended(
        &mut self,
        offset: u64,
        len: u64,
        digest: sparse::Digest,
    ) -> Result<(), StorageError> {
        match self {
            Sink::Local(upload) => {
                if upload.pending_at != offset || upload.pending.len() as u64 != len {
                    return Err(StorageError::Mismatch(format!(
                        "the chunk at {offset} ({len} bytes) is not the bytes received"
                    )));
                }
                upload.store_pending(Some(digest), false).await
            }
            Sink::S3 { .. } => Ok(()),
        }
    }

    /// A reference record: `len` bytes at `offset` are the held chunk `digest`.
    fn refer(&mut self, offset: u64, len: u64, digest: sparse::Digest) -> Result<(), StorageError> {
        match self {
            Sink::Local(upload) => upload.refer(offset, len, digest),
            Sink::S3 { what, .. } => Err(StorageError::ChunkGone(format!(
                "{what}: S3 storage holds no chunks to refer to: send the bytes"
            ))),
        }
    }

    /// The end of an upload of an image of `size` bytes: it is kept if it was
    /// `received` whole and checked, else removed.
    async fn end(
        mut self,
        received: Result<(), StorageError>,
        size: u64,
    ) -> Result<(), StorageError> {
        // The tail: a plain upload's last chunk (shorter than the grid) in local
        // storage, a sparse upload's trailing zeros in S3.
        let whole = match received {
            Ok(()) => {
                if let Sink::Local(upload) = &mut self {
                    upload.store_pending(None, true).await
                } else {
                    self.write_at(size, Bytes::new()).await
                }
            }
            Err(e) => Err(e),
        };
        match (whole, self) {
            (Ok(()), Sink::Local(upload)) => upload.commit(size).await,
            (
                Ok(()),
                Sink::S3 {
                    mut writer, what, ..
                },
            ) => writer
                .shutdown()
                .await
                .map_err(|e| StorageError::Io(format!("{what}: {e}"))),
            (Err(e), Sink::Local(mut upload)) => {
                // The chunks being stored finish first: then the upload's holds are
                // all let go of as it drops (an upload dropped mid-way lets go of the
                // last ones when they finish).
                upload.storing.shutdown().await;
                Err(e)
            }
            (Err(e), Sink::S3 { mut writer, .. }) => {
                let _ = writer.abort().await;
                Err(e)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The image at `key`, read back as a download reads it.
    async fn read_back(storage: &Storage, key: &str) -> Vec<u8> {
        let image = storage.open_local(key).await.unwrap().unwrap();
        let size = image.size();
        let parts: Vec<Bytes> = image.read(0..size).map(|b| b.unwrap()).collect().await;
        let bytes = parts.concat();
        assert_eq!(bytes.len() as u64, size);
        bytes
    }

    /// The files in `dir` that are not chunks, and the bytes allocated to chunks.
    fn stored(dir: &Path) -> (Vec<String>, u64) {
        use std::os::unix::fs::MetadataExt as _;
        let (mut others, mut allocated) = (Vec::new(), 0);
        let mut folders = vec![dir.to_path_buf()];
        while let Some(folder) = folders.pop() {
            for entry in std::fs::read_dir(folder).unwrap() {
                let path = entry.unwrap().path();
                let relative = path
                    .strip_prefix(dir)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                if path.is_dir() {
                    folders.push(path);
                } else if relative.starts_with("chunks/") {
                    allocated += std::fs::metadata(&path).unwrap().blocks() * 512;
                } else {
                    others.push(relative);
                }
            }
        }
        others.sort();
        (others, allocated)
    }

    #[tokio::test]
    async fn a_stored_image_keeps_its_zeros_as_holes_and_its_bytes_exactly() {
        let dir = tempfile::tempdir().unwrap();
        let storage = Storage::local(dir.path().to_path_buf()).unwrap();
        // 64 MiB: data at the start, in the middle (unaligned, across chunks) and a
        // few bytes at the very end; zeros elsewhere, in chunks of odd sizes.
        let mut image = vec![0u8; 64 << 20];
        image[..10_000].fill(7);
        image[(30 << 20) + 123..(30 << 20) + 70_000].fill(9);
        let last = image.len() - 3;
        image[last..].fill(1);
        let sha = hex::encode(Sha256::digest(&image));
        let chunks: Vec<Result<Bytes, std::io::Error>> = image
            .chunks(1_000_003)
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect();
        let size = storage
            .put(
                "img",
                futures_util::stream::iter(chunks),
                Some(image.len() as u64),
                &sha,
            )
            .await
            .unwrap();
        assert_eq!(size, image.len() as u64);
        assert!(
            read_back(&storage, "img").await == image,
            "stored bytes differ"
        );
        let (files, allocated) = stored(dir.path());
        assert_eq!(files, ["img.manifest"]);
        assert!(
            allocated < 4 << 20,
            "{allocated} bytes allocated for 64 MiB of mostly zeros"
        );

        // Trailing zeros: the file still has its full length.
        let zeros = vec![0u8; 5 << 20];
        let sha = hex::encode(Sha256::digest(&zeros));
        let one: Vec<Result<Bytes, std::io::Error>> = vec![Ok(Bytes::from(zeros.clone()))];
        storage
            .put("zeros", futures_util::stream::iter(one), None, &sha)
            .await
            .unwrap();
        assert_eq!(read_back(&storage, "zeros").await, zeros);
        // A range of an image, across a chunk's end and a hole.
        let image_read = storage.open_local("img").await.unwrap().unwrap();
        let range = (1 << 20) - 5..(30 << 20) + 200;
        let parts: Vec<Bytes> = image_read
            .read(range.clone())
            .map(|b| b.unwrap())
            .collect()
            .await;
        assert!(parts.concat() == image[range.start as usize..range.end as usize]);
    }

    #[tokio::test]
    async fn a_sparse_upload_is_stored_with_holes_and_checked_against_its_checksums() {
        let dir = tempfile::tempdir().unwrap();
        let storage = Storage::local(dir.path().to_path_buf()).unwrap();
        // 200 MiB: two data ranges (one across the upload's chunks, one of 100 MiB of
        // data with zero blocks in it: kept as holes, and long enough to be handed to the
        // disk while the rest arrives), holes elsewhere, a trailing one.
        let size: u64 = 200 << 20;
        let mut image = vec![0u8; size as usize];
        image[4096..10_000].fill(7);
        let big = (50 << 20) + 5..(150 << 20) + 5;
        image[big.clone()].fill(9);
        image[(100 << 20)..(101 << 20)].fill(0);
        let mut body = Vec::new();
        for (start, end) in [(4096, 10_000), (big.start, big.end)] {
            for at in (start..end).step_by(sparse::MAX_RECORD as usize) {
                let data = &image[at..end.min(at + sparse::MAX_RECORD as usize)];
                body.extend(sparse::record_header(at as u64, data));
                body.extend(data);
            }
        }
        let chunks = |body: &[u8]| -> Vec<Result<Bytes, std::io::Error>> {
            body.chunks(65_537)
                .map(|c| Ok(Bytes::copy_from_slice(c)))
                .collect()
        };
        let stored = storage
            .put_sparse(
                "img",
                futures_util::stream::iter(chunks(&body)),
                Some(body.len() as u64),
                size,
            )
            .await
            .unwrap();
        assert_eq!(stored, size);
        assert!(
            read_back(&storage, "img").await == image,
            "stored bytes differ"
        );
        let (_, allocated) = self::stored(dir.path());
        assert!(
            allocated < 100 << 20,
            "{allocated} bytes allocated: the zeros were written"
        );

        // Refused, leaving nothing: a byte changed on the way, a wrong Content-Length,
        // ranges that overlap or pass the image's end, a body cut inside a record.
        let mut corrupted = body.clone();
        let last = corrupted.len() - 1;
        corrupted[last] ^= 1;
        let record =
            |offset: u64, data: &[u8]| [&sparse::record_header(offset, data)[..], data].concat();
        let overlapping = [&body[..], &record(5000, &[1])].concat();
        let past_end = [&body[..], &record(size - 1, &[1, 2])].concat();
        let cut = &body[..body.len() - 1];
        for (what, body, length) in [
            ("corrupted", &corrupted[..], None),
            ("length", &body[..], Some(body.len() as u64 + 1)),
            ("overlap", &overlapping[..], None),
            ("past the end", &past_end[..], None),
            ("cut", cut, None),
        ] {
            let refused = storage
                .put_sparse(
                    "refused",
                    futures_util::stream::iter(chunks(body)),
                    length,
                    size,
                )
                .await;
            assert!(
                matches!(refused, Err(StorageError::Mismatch(_))),
                "{what}: {refused:?}"
            );
        }
        assert_eq!(
            self::stored(dir.path()),
            (vec!["img.manifest".to_string()], allocated),
            "nothing but the stored image is left"
        );
    }

    #[tokio::test]
    async fn an_upload_cut_short_leaves_none_of_its_chunks() {
        let dir = tempfile::tempdir().unwrap();
        let storage = Storage::local(dir.path().to_path_buf()).unwrap();
        let chunk = sparse::CHUNK as usize;
        // 20 chunks of their own (more than are stored at once), then the body fails.
        let records = (0..20u8).map(|i| {
            let data = vec![i + 1; chunk];
            let header = sparse::record_header(u64::from(i) * sparse::CHUNK, &data);
            Ok(Bytes::from([&header[..], &data].concat()))
        });
        let body: Vec<Result<Bytes, std::io::Error>> = records
            .chain([Err(std::io::Error::other("connection reset"))])
            .collect();
        let refused = storage
            .put_sparse("cut.img", futures_util::stream::iter(body), None, 64 << 20)
            .await;
        assert!(matches!(refused, Err(StorageError::Io(_))), "{refused:?}");
        assert_eq!(stored(dir.path()), (vec![], 0), "nothing is left");
        // A plain upload whose sha256 is not the one announced.
        let image: Vec<Result<Bytes, std::io::Error>> =
            vec![Ok(Bytes::from(vec![3u8; 5 * chunk + 7]))];
        let refused = storage
            .put("bad.img", futures_util::stream::iter(image), None, "00")
            .await;
        assert!(
            matches!(refused, Err(StorageError::Mismatch(_))),
            "{refused:?}"
        );
        assert_eq!(stored(dir.path()), (vec![], 0), "nothing is left");
    }

    #[tokio::test]
    async fn an_upload_refers_to_chunks_of_stored_images_while_they_are_stored() {
        let dir = tempfile::tempdir().unwrap();
        let storage = Storage::local(dir.path().to_path_buf()).unwrap();
        let size = 4 * sparse::CHUNK;
        let body_of = |records: &[Vec<u8>]| -> Vec<Result<Bytes, std::io::Error>> {
            let body = records.concat();
            body.chunks(100_003)
                .map(|c| Ok(Bytes::copy_from_slice(c)))
                .collect()
        };
        let data =
            |offset: u64, bytes: &[u8]| [&sparse::record_header(offset, bytes)[..], bytes].concat();
        let refer = |offset: u64, bytes: &[u8]| {
            sparse::reference_record(offset, bytes.len() as u64, &sparse::digest(bytes)).to_vec()
        };
        let put = |key: &'static str, records: Vec<Vec<u8>>| {
            let storage = storage.clone();
            let body = body_of(&records);
            async move {
                storage
                    .put_sparse(key, futures_util::stream::iter(body), None, size)
                    .await
            }
        };
        // The first image brings its chunks: a base and a configuration.
        let base = vec![5u8; sparse::CHUNK as usize];
        let config_a = b"ssid=A".to_vec();
        put(
            "a.img",
            vec![data(0, &base), data(2 * sparse::CHUNK, &config_a)],
        )
        .await
        .unwrap();
        // The second refers to the base (at another place) and brings its own config.
        let config_b = b"ssid=B".to_vec();
        put(
            "b.img",
            vec![
                refer(sparse::CHUNK, &base),
                data(3 * sparse::CHUNK, &config_b),
            ],
        )
        .await
        .unwrap();
        let mut expected = vec![0u8; size as usize];
        let chunk = sparse::CHUNK as usize;
        expected[chunk..2 * chunk].copy_from_slice(&base);
        expected[3 * chunk..3 * chunk + 6].copy_from_slice(&config_b);
        assert!(read_back(&storage, "b.img").await == expected);
        let index = storage.chunks().unwrap();
        let held = [sparse::digest(&base), sparse::digest(&config_a), [0; 32]];
        assert_eq!(index.held_indices(&held), [0, 1]);

        // The first image is deleted: the second still lends the base, not config A.
        storage.delete("a.img").await.unwrap();
        assert_eq!(index.held_indices(&held), [0]);
        put("c.img", vec![refer(0, &base)]).await.unwrap();
        assert!(read_back(&storage, "c.img").await[..chunk] == base[..]);
        // A chunk nobody holds, or held with another length: refused, nothing left.
        for (what, records) in [
            ("deleted", vec![refer(0, &config_a)]),
            ("never sent", vec![refer(0, b"unknown")]),
            (
                "other length",
                vec![sparse::reference_record(0, 10, &sparse::digest(&base)).to_vec()],
            ),
        ] {
            let refused = put("refused.img", records).await;
            assert!(
                matches!(refused, Err(StorageError::ChunkGone(_))),
                "{what}: {refused:?}"
            );
        }
        // An image being downloaded keeps its chunks when it is deleted.
        let reading = storage.open_local("b.img").await.unwrap().unwrap();
        storage.delete("b.img").await.unwrap();
        assert!(storage.open_local("b.img").await.unwrap().is_none());
        let parts: Vec<Bytes> = reading.read(0..size).map(|b| b.unwrap()).collect().await;
        assert!(parts.concat() == expected);
        // A chunk whose file was removed behind the store's back.
        std::fs::remove_file(index.path(&sparse::digest(&base))).unwrap();
        let refused = put("refused.img", vec![refer(0, &base)]).await;
        assert!(
            matches!(refused, Err(StorageError::ChunkGone(_))),
            "{refused:?}"
        );
        assert_eq!(self::stored(dir.path()).0, ["c.img.manifest"]);
    }
}
