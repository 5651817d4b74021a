//! Where images go: a local directory (served with Range requests) or an S3-compatible
//! bucket (downloads are 302 redirects to presigned, expiring URLs). Uploads stream into
//! storage while being checked — a plain upload against its sha256, a worker's sparse
//! upload against its records' checksums — and are refused on a mismatch or a wrong
//! length, leaving nothing behind.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::chunks::ChunkIndex;
use axum::body::Bytes;
use futures_util::{Stream, StreamExt as _};
use nixspot_imager_worker::sparse;
use sha2::{Digest as _, Sha256};
use tokio::io::AsyncWriteExt as _;

/// Image storage.
#[derive(Debug, Clone)]
pub enum Storage {
    /// A directory; keys are relative paths below it.
    Local {
        /// The directory.
        dir: PathBuf,
        /// The chunks of its images that uploads may refer to.
        chunks: Arc<ChunkIndex>,
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
            return Ok(Storage::local(PathBuf::from(spec)));
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

    /// Images in the directory `dir`.
    pub fn local(dir: PathBuf) -> Storage {
        Storage::Local {
            dir,
            chunks: Arc::default(),
        }
    }

    /// The chunks of stored images that uploads may refer to (local storage only).
    pub fn chunks(&self) -> Option<&ChunkIndex> {
        match self {
            Storage::Local { chunks, .. } => Some(chunks),
            Storage::S3 { .. } => None,
        }
    }

    /// The file of `key` in a local storage.
    pub fn local_path(&self, key: &str) -> Option<PathBuf> {
        match self {
            Storage::Local { dir, .. } => Some(dir.join(key)),
            Storage::S3 { .. } => None,
        }
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

    /// Deletes `key` (a missing object is not an error).
    pub async fn delete(&self, key: &str) -> Result<(), StorageError> {
        match self {
            Storage::Local { dir, chunks } => {
                // No upload may copy from it once the removal starts.
                chunks.forget(key);
                match tokio::fs::remove_file(dir.join(key)).await {
                    Ok(()) => {
                        // The order's folder, if empty now.
                        if let Some(parent) = dir.join(key).parent() {
                            let _ = tokio::fs::remove_dir(parent).await;
                        }
                        Ok(())
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                    Err(e) => Err(StorageError::Io(format!(
                        "{}: {e}",
                        dir.join(key).display()
                    ))),
                }
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
        let mut sink = Sink::open(self, key).await?;
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
        sink.end(checked).await?;
        Ok(counted.received)
    }
}

impl Storage {
    /// Streams a worker's sparse upload (`body`, [`nixspot_imager_worker::sparse`]) of
    /// an image of `size` bytes into `key`: its data ranges are written where they go,
    /// the chunks it refers to are copied from the stored images that hold them
    /// ([`ChunkIndex`]), and the rest is left as holes (S3 objects have none: zeros are
    /// sent there). Kept only if every record's CRC-32C holds and the body is `length`
    /// bytes (when known): the stored bytes are then exactly those the worker read from
    /// its image, whose sha256 its build computed as it wrote them. The image is not
    /// hashed again here: that would cost a sha256 over the whole image, holes
    /// included, for every order (more than the build itself takes), to learn what the
    /// checksums already say. Once stored, the chunks it brought are lent to later
    /// uploads.
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
        let mut sink = Sink::open(self, key).await?;
        let mut decoder = sparse::Decoder::new(size);
        let mut counted = Counted::new(length);
        // The chunks the image holds: sent, or copied from others.
        let mut brought = Vec::new();
        let mut sources = Sources::default();
        let received: Result<(), StorageError> = async {
            while let Some(chunk) = body.next().await {
                let chunk = counted.chunk(chunk)?;
                let pieces = decoder
                    .feed(&chunk)
                    .map_err(|e| StorageError::Mismatch(e.to_string()))?;
                for piece in pieces {
                    match piece {
                        sparse::Piece::Data { offset, bytes } => {
                            sink.skip_to(offset).await?;
                            sink.write(chunk.slice(bytes)).await?;
                        }
                        sparse::Piece::Chunk {
                            offset,
                            len,
                            digest,
                        } => brought.push((digest, offset, len)),
                        sparse::Piece::Reference {
                            offset,
                            len,
                            digest,
                        } => {
                            let (source, from) = sources.open(self, &digest, len).await?;
                            sink.skip_to(offset).await?;
                            sink.copy(source, from, len).await?;
                            // This image holds the chunk now too.
                            brought.push((digest, offset, len));
                        }
                    }
                }
            }
            decoder
                .finish()
                .map_err(|e| StorageError::Mismatch(e.to_string()))?;
            counted.end()?;
            sink.skip_to(size).await
        }
        .await;
        sink.end(received).await?;
        if let Some(chunks) = self.chunks() {
            chunks.add(key, brought);
        }
        Ok(size)
    }
}

/// The stored images an upload copies chunks from, each opened once.
#[derive(Default)]
struct Sources {
    open: std::collections::HashMap<Arc<str>, Arc<std::fs::File>>,
}

impl Sources {
    /// The image holding the chunk named `digest` (of `len` bytes), and where in it.
    async fn open(
        &mut self,
        storage: &Storage,
        digest: &sparse::Digest,
        len: u64,
    ) -> Result<(Arc<std::fs::File>, u64), StorageError> {
        let gone = || {
            StorageError::ChunkGone(format!(
                "the upload refers to chunk {} ({len} bytes), which this server does not hold: send its bytes",
                hex::encode(digest)
            ))
        };
        let held = storage
            .chunks()
            .and_then(|c| c.held(digest))
            .filter(|h| h.len == len)
            .ok_or_else(gone)?;
        if let Some(file) = self.open.get(&held.key) {
            return Ok((Arc::clone(file), held.offset));
        }
        let path = storage.local_path(&held.key).ok_or_else(gone)?;
        let file = match tokio::fs::File::open(&path).await {
            Ok(file) => Arc::new(file.into_std().await),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(gone()),
            Err(e) => return Err(StorageError::Io(format!("{}: {e}", path.display()))),
        };
        self.open.insert(held.key, Arc::clone(&file));
        Ok((file, held.offset))
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

/// Bytes written to a local image between two calls for its writeback.
const WRITEBACK_STEP: u64 = 64 << 20;

/// Chunks of an upload queued for its writer thread: enough to keep it busy, few enough
/// that an upload holds little memory (the HTTP server hands out chunks of at most
/// about 400 KiB: 64 of them made two uploads at once raise the server's peak RSS from
/// 27 to 64 MiB in the Imager benchmark).
const WRITES_QUEUED: usize = 8;

/// What the upload hands to a local image's writer thread.
enum Write {
    /// Bytes to write at this offset.
    At(u64, Bytes),
    /// Bytes to copy to this offset from another file: `(offset, source, from, len)`.
    Copy(u64, Arc<std::fs::File>, u64, u64),
    /// The upload is complete: the file is `size` bytes long; make it durable.
    Finish(u64),
}

/// A local image written on a thread of its own, fed through a bounded channel: the
/// upload goes on receiving while earlier bytes are written (one round trip to the
/// blocking pool per chunk of the body made the upload wait on each write in turn).
struct LocalWriter {
    writes: tokio::sync::mpsc::Sender<Write>,
    thread: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl LocalWriter {
    fn start(file: std::fs::File) -> LocalWriter {
        let (writes, mut received) = tokio::sync::mpsc::channel::<Write>(WRITES_QUEUED);
        let thread = tokio::task::spawn_blocking(move || {
            let mut written_back = 0;
            while let Some(write) = received.blocking_recv() {
                let end = match write {
                    Write::At(offset, data) => {
                        nixspot_fs::sparse::write_nonzero_at(&file, offset, &data)?;
                        offset + data.len() as u64
                    }
                    Write::Copy(offset, source, from, len) => {
                        // Cloned where the filesystem shares blocks, else copied in the
                        // kernel, its zero blocks left as holes.
                        nixspot_fs::sparse::copy_nonzero(&source, from, &file, offset, len)?;
                        offset + len
                    }
                    Write::Finish(size) => {
                        // A trailing run of zeros was skipped, not written.
                        file.set_len(size)?;
                        return file.sync_all();
                    }
                };
                if end >= written_back + WRITEBACK_STEP {
                    // The image must be on disk before the order is ready (the fsync
                    // above): start writing it out while the rest arrives, so the fsync
                    // waits for the tail only.
                    nixspot_fs::sparse::start_writeback(&file)?;
                    written_back = end;
                }
            }
            Ok(()) // abandoned: the caller removes the file
        });
        LocalWriter { writes, thread }
    }

    /// Queues `write` (bytes or a copy); an error is the thread's (it stopped on it).
    async fn queue(&mut self, write: Write) -> std::io::Result<()> {
        if self.writes.send(write).await.is_ok() {
            return Ok(());
        }
        Err(self.stopped().await)
    }

    /// Ends the file at `size` bytes and waits until it is on disk.
    async fn finish(mut self, size: u64) -> std::io::Result<()> {
        if self.writes.send(Write::Finish(size)).await.is_err() {
            return Err(self.stopped().await);
        }
        drop(self.writes);
        match self.thread.await {
            Ok(done) => done,
            Err(e) => Err(std::io::Error::other(e)),
        }
    }

    /// Why the thread stopped before the end.
    async fn stopped(&mut self) -> std::io::Error {
        match (&mut self.thread).await {
            Ok(Err(e)) => e,
            Ok(Ok(())) => std::io::Error::other("the image's writer stopped"),
            Err(e) => std::io::Error::other(e),
        }
    }
}

/// Queues `len` bytes for a local image's write position (`size`, moved past them),
/// as `write(offset)` makes them.
async fn queue_local(
    writer: &mut LocalWriter,
    partial: &Path,
    size: &mut u64,
    len: u64,
    write: impl FnOnce(u64) -> Write,
) -> Result<(), StorageError> {
    let offset = *size;
    *size += len;
    writer
        .queue(write(offset))
        .await
        .map_err(|e| StorageError::Io(format!("{}: {e}", partial.display())))
}

/// An object being written.
enum Sink {
    Local {
        writer: LocalWriter,
        partial: PathBuf,
        path: PathBuf,
        /// Bytes received so far (the file may end in a hole shorter than this).
        size: u64,
    },
    S3 {
        writer: Box<object_store::buffered::BufWriter>,
        what: String,
        /// Bytes written so far.
        written: u64,
    },
}

impl Sink {
    async fn open(storage: &Storage, key: &str) -> Result<Sink, StorageError> {
        match storage {
            Storage::Local { dir, .. } => {
                let path = dir.join(key);
                let parent = path.parent().unwrap_or(Path::new("."));
                tokio::fs::create_dir_all(parent)
                    .await
                    .map_err(|e| StorageError::Io(format!("{}: {e}", parent.display())))?;
                // A name of its own per upload: two uploads never write one file, and a
                // half-written image is never at the final path.
                let partial = parent.join(format!(".upload-{}", crate::random_token(8)));
                let file = tokio::fs::File::create(&partial)
                    .await
                    .map_err(|e| StorageError::Io(format!("{}: {e}", partial.display())))?;
                Ok(Sink::Local {
                    writer: LocalWriter::start(file.into_std().await),
                    partial,
                    path,
                    size: 0,
                })
            }
            Storage::S3 { store, bucket } => Ok(Sink::S3 {
                writer: Box::new(object_store::buffered::BufWriter::new(
                    store.clone(),
                    object_store::path::Path::from(key),
                )),
                what: format!("{bucket}/{key}"),
                written: 0,
            }),
        }
    }

    async fn write(&mut self, chunk: Bytes) -> Result<(), StorageError> {
        match self {
            Sink::Local {
                writer,
                partial,
                size,
                ..
            } => {
                let len = chunk.len() as u64;
                queue_local(writer, partial, size, len, |offset| {
                    Write::At(offset, chunk)
                })
                .await
            }
            Sink::S3 {
                writer,
                what,
                written,
            } => {
                *written += chunk.len() as u64;
                writer
                    .put(chunk)
                    .await
                    .map_err(|e| StorageError::Io(format!("{what}: {e}")))
            }
        }
    }

    /// Moves the write position forward to byte `offset` of the object, leaving a hole
    /// (a local file) or writing zeros (S3).
    async fn skip_to(&mut self, offset: u64) -> Result<(), StorageError> {
        match self {
            Sink::Local { size, .. } => {
                *size = (*size).max(offset);
                Ok(())
            }
            Sink::S3 {
                writer,
                what,
                written,
            } => {
                while *written < offset {
                    let n = (offset - *written).min(ZEROS.len() as u64) as usize;
                    writer
                        .put(Bytes::from_static(&ZEROS[..n]))
                        .await
                        .map_err(|e| StorageError::Io(format!("{what}: {e}")))?;
                    *written += n as u64;
                }
                Ok(())
            }
        }
    }

    /// Copies `len` bytes of a stored image (`source`, from byte `from`) to the write
    /// position (local storage only: S3 never lends chunks).
    async fn copy(
        &mut self,
        source: Arc<std::fs::File>,
        from: u64,
        len: u64,
    ) -> Result<(), StorageError> {
        match self {
            Sink::Local {
                writer,
                partial,
                size,
                ..
            } => {
                let copy = |offset| Write::Copy(offset, source, from, len);
                queue_local(writer, partial, size, len, copy).await
            }
            Sink::S3 { what, .. } => Err(StorageError::ChunkGone(format!(
                "{what}: S3 storage holds no chunks to refer to: send the bytes"
            ))),
        }
    }

    /// The end of an upload: the object is kept if it was `received` whole and
    /// checked, else removed.
    async fn end(self, received: Result<(), StorageError>) -> Result<(), StorageError> {
        match received {
            Ok(()) => self.commit().await,
            Err(e) => {
                self.abort().await;
                Err(e)
            }
        }
    }

    async fn commit(self) -> Result<(), StorageError> {
        match self {
            Sink::Local {
                writer,
                partial,
                path,
                size,
            } => {
                let done = async {
                    writer.finish(size).await?;
                    tokio::fs::rename(&partial, &path).await
                }
                .await;
                done.map_err(|e| {
                    let _ = std::fs::remove_file(&partial);
                    StorageError::Io(format!("{}: {e}", path.display()))
                })
            }
            Sink::S3 {
                mut writer, what, ..
            } => writer
                .shutdown()
                .await
                .map_err(|e| StorageError::Io(format!("{what}: {e}"))),
        }
    }

    async fn abort(self) {
        match self {
            Sink::Local {
                writer, partial, ..
            } => {
                // The thread ends when the channel closes; wait for it, so nothing
                // writes the file once it is removed.
                drop(writer.writes);
                let _ = writer.thread.await;
                let _ = tokio::fs::remove_file(&partial).await;
            }
            Sink::S3 { mut writer, .. } => {
                let _ = writer.abort().await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_stored_image_keeps_its_zeros_as_holes_and_its_bytes_exactly() {
        use std::os::unix::fs::MetadataExt as _;
        let dir = tempfile::tempdir().unwrap();
        let storage = Storage::local(dir.path().to_path_buf());
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
        let path = dir.path().join("img");
        assert!(
            std::fs::read(&path).unwrap() == image,
            "stored bytes differ"
        );
        let allocated = std::fs::metadata(&path).unwrap().blocks() * 512;
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
        assert_eq!(std::fs::read(dir.path().join("zeros")).unwrap(), zeros);
    }

    #[tokio::test]
    async fn a_sparse_upload_is_stored_with_holes_and_checked_against_its_checksums() {
        use std::os::unix::fs::MetadataExt as _;
        let dir = tempfile::tempdir().unwrap();
        let storage = Storage::local(dir.path().to_path_buf());
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
        let path = dir.path().join("img");
        assert!(
            std::fs::read(&path).unwrap() == image,
            "stored bytes differ"
        );
        let allocated = std::fs::metadata(&path).unwrap().blocks() * 512;
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
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left, ["img"], "nothing but the stored image is left");
    }

    #[tokio::test]
    async fn an_upload_refers_to_chunks_of_stored_images_while_they_are_stored() {
        let dir = tempfile::tempdir().unwrap();
        let storage = Storage::local(dir.path().to_path_buf());
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
        assert!(std::fs::read(dir.path().join("b.img")).unwrap() == expected);
        let index = storage.chunks().unwrap();
        let held = [sparse::digest(&base), sparse::digest(&config_a), [0; 32]];
        assert_eq!(index.held_indices(&held), [0, 1]);

        // The first image is deleted: the second still lends the base, not config A.
        storage.delete("a.img").await.unwrap();
        assert_eq!(index.held_indices(&held), [0]);
        put("c.img", vec![refer(0, &base)]).await.unwrap();
        assert!(std::fs::read(dir.path().join("c.img")).unwrap()[..chunk] == base[..]);
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
        // A chunk whose bytes were removed behind the index's back.
        std::fs::remove_file(dir.path().join("b.img")).unwrap();
        let refused = put("refused.img", vec![refer(0, &base)]).await;
        assert!(
            matches!(refused, Err(StorageError::ChunkGone(_))),
            "{refused:?}"
        );
        let mut left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        assert_eq!(left, ["c.img"]);
    }
}
