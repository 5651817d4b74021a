//! Where images go: a local directory (served with Range requests) or an S3-compatible
//! bucket (downloads are 302 redirects to presigned, expiring URLs). Uploads stream into
//! storage while being hashed and are refused on a sha256 or length mismatch, leaving
//! nothing behind.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use futures_util::{Stream, StreamExt as _};
use nixspot_imager_worker::sparse;
use sha2::{Digest as _, Sha256};
use tokio::io::{AsyncSeekExt as _, AsyncWriteExt as _};

/// Image storage.
#[derive(Debug, Clone)]
pub enum Storage {
    /// A directory; keys are relative paths below it.
    Local(PathBuf),
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
}

impl Storage {
    /// `DIR` or `s3://BUCKET?endpoint=URL&region=R` (credentials from the usual
    /// `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY` environment variables).
    pub fn parse(spec: &str) -> Result<Storage, StorageError> {
        let Some(rest) = spec.strip_prefix("s3://") else {
            return Ok(Storage::Local(PathBuf::from(spec)));
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

    /// The file of `key` in a local storage.
    pub fn local_path(&self, key: &str) -> Option<PathBuf> {
        match self {
            Storage::Local(dir) => Some(dir.join(key)),
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
            Storage::Local(_) => Ok(None),
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
            Storage::Local(dir) => match tokio::fs::remove_file(dir.join(key)).await {
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
            },
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
        keep_if(sink, hashed, sha256).await?;
        Ok(counted.received)
    }
}

impl Storage {
    /// Streams a sparse upload (`body`, [`nixspot_imager_worker::sparse`]) of an image
    /// of `size` bytes into `key`: its data ranges are written where they go and the
    /// rest is left as holes (S3 objects have none: zeros are sent there). The sha256
    /// is computed in the same pass over exactly the bytes stored — each range as it
    /// arrives, the zeros between ranges from memory, in order — so the image is
    /// never read back, and the sha256 the server publishes is the stored image's:
    /// kept only if it is `sha256` and the body is `length` bytes (when known).
    pub async fn put_sparse<S, E>(
        &self,
        key: &str,
        mut body: S,
        length: Option<u64>,
        size: u64,
        sha256: &str,
    ) -> Result<u64, StorageError>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        let mut sink = Sink::open(self, key).await?;
        let mut hasher = ZeroHasher::default();
        let mut decoder = sparse::Decoder::new(size);
        let mut counted = Counted::new(length);
        let hashed: Result<String, StorageError> = async {
            while let Some(chunk) = body.next().await {
                let chunk = counted.chunk(chunk)?;
                let pieces = decoder
                    .feed(&chunk)
                    .map_err(|e| StorageError::Mismatch(e.to_string()))?;
                for piece in pieces {
                    hasher.zeros_to(piece.offset).await;
                    sink.skip_to(piece.offset).await?;
                    let data = chunk.slice(piece.bytes);
                    hasher.update(&data);
                    sink.write(data).await?;
                }
            }
            decoder
                .finish()
                .map_err(|e| StorageError::Mismatch(e.to_string()))?;
            counted.end()?;
            hasher.zeros_to(size).await;
            sink.skip_to(size).await?;
            Ok(hasher.finish().await)
        }
        .await;
        keep_if(sink, hashed, sha256).await?;
        Ok(size)
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

/// The end of every upload: `sink` is kept if the upload went well and its sha256
/// (`hashed`) is `sha256`, else removed.
async fn keep_if(
    sink: Sink,
    hashed: Result<String, StorageError>,
    sha256: &str,
) -> Result<(), StorageError> {
    let checked = hashed.and_then(|actual| {
        if actual.eq_ignore_ascii_case(sha256) {
            Ok(())
        } else {
            Err(StorageError::Mismatch(format!(
                "the upload's sha256 is {actual}, X-Image-Sha256 said {sha256}"
            )))
        }
    });
    match checked {
        Ok(()) => sink.commit().await,
        Err(e) => {
            sink.abort().await;
            Err(e)
        }
    }
}

/// Zeros to hash or send, from memory.
static ZEROS: [u8; 1 << 16] = [0; 1 << 16];

/// A sha256 of an image fed in order, its holes as runs of zeros. Long runs are hashed
/// on the blocking pool: a gigabyte of zeros is a second of CPU, too long to hold one
/// of the runtime's threads (other requests wait behind it).
#[derive(Default)]
struct ZeroHasher {
    hasher: Option<Sha256>,
    /// Bytes hashed so far.
    at: u64,
}

impl ZeroHasher {
    fn update(&mut self, data: &[u8]) {
        self.hasher.get_or_insert_with(Sha256::new).update(data);
        self.at += data.len() as u64;
    }

    /// Hashes zeros up to byte `end`.
    async fn zeros_to(&mut self, end: u64) {
        let count = end.saturating_sub(self.at);
        if count == 0 {
            return;
        }
        let mut hasher = self.hasher.take().unwrap_or_default();
        let hash = move || {
            let mut left = count;
            while left > 0 {
                let n = left.min(ZEROS.len() as u64) as usize;
                hasher.update(&ZEROS[..n]);
                left -= n as u64;
            }
            hasher
        };
        let hasher = if count < 1 << 20 {
            hash()
        } else {
            match tokio::task::spawn_blocking(hash).await {
                Ok(hasher) => hasher,
                // The blocking pool is shutting down: the server is stopping, and this
                // upload is refused below on its (now wrong) sha256.
                Err(_) => Sha256::new(),
            }
        };
        self.hasher = Some(hasher);
        self.at = end;
    }

    async fn finish(self) -> String {
        hex::encode(self.hasher.unwrap_or_default().finalize())
    }
}

/// Writes `chunk` at the end of what `file` has received (`size`), skipping its
/// all-zero blocks so they stay holes: an image is mostly the empty space of its
/// filesystems, and a stored image then takes the disk space of its data only (reads,
/// Range requests included, see zeros in the holes).
async fn write_sparse(
    file: &mut tokio::fs::File,
    chunk: &[u8],
    size: &mut u64,
) -> std::io::Result<()> {
    const BLOCK: usize = 4096;
    let mut written_to = *size; // where the file's cursor is
    let mut at = 0;
    while at < chunk.len() {
        let end = (at + BLOCK).min(chunk.len());
        let zeros = chunk[at..end].iter().all(|b| *b == 0);
        // Extend the run of blocks of the same kind.
        let mut run_end = end;
        while run_end < chunk.len() {
            let next = (run_end + BLOCK).min(chunk.len());
            if chunk[run_end..next].iter().all(|b| *b == 0) != zeros {
                break;
            }
            run_end = next;
        }
        if !zeros {
            let offset = *size + at as u64;
            if offset != written_to {
                file.seek(std::io::SeekFrom::Start(offset)).await?;
            }
            file.write_all(&chunk[at..run_end]).await?;
            written_to = *size + run_end as u64;
        }
        at = run_end;
    }
    *size += chunk.len() as u64;
    if written_to != *size {
        file.seek(std::io::SeekFrom::Start(*size)).await?;
    }
    Ok(())
}

/// An object being written.
enum Sink {
    Local {
        file: tokio::fs::File,
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
            Storage::Local(dir) => {
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
                    file,
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
                file,
                partial,
                size,
                ..
            } => write_sparse(file, &chunk, size)
                .await
                .map_err(|e| StorageError::Io(format!("{}: {e}", partial.display()))),
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
            Sink::Local {
                file,
                partial,
                size,
                ..
            } => {
                if offset > *size {
                    file.seek(std::io::SeekFrom::Start(offset))
                        .await
                        .map_err(|e| StorageError::Io(format!("{}: {e}", partial.display())))?;
                    *size = offset;
                }
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

    async fn commit(self) -> Result<(), StorageError> {
        match self {
            Sink::Local {
                mut file,
                partial,
                path,
                size,
            } => {
                let done = async {
                    file.flush().await?;
                    // A trailing run of zeros was skipped, not written.
                    file.set_len(size).await?;
                    file.sync_all().await?;
                    drop(file);
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
            Sink::Local { file, partial, .. } => {
                drop(file);
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
        let storage = Storage::Local(dir.path().to_path_buf());
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
    async fn a_sparse_upload_is_stored_with_holes_and_checked_against_its_sha256() {
        use std::os::unix::fs::MetadataExt as _;
        let dir = tempfile::tempdir().unwrap();
        let storage = Storage::Local(dir.path().to_path_buf());
        // 40 MiB: two data ranges (one across the upload's chunks), holes elsewhere,
        // including long ones (hashed on the blocking pool) and a trailing one.
        let size: u64 = 40 << 20;
        let mut image = vec![0u8; size as usize];
        image[4096..10_000].fill(7);
        image[(20 << 20) + 5..(20 << 20) + 300_000].fill(9);
        let sha = hex::encode(Sha256::digest(&image));
        let mut body = Vec::new();
        for (start, end) in [(4096, 10_000), ((20 << 20) + 5, (20 << 20) + 300_000)] {
            body.extend(sparse::record_header(start as u64, (end - start) as u64));
            body.extend(&image[start..end]);
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
                &sha,
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
        assert!(allocated < 2 << 20, "{allocated} bytes allocated");

        // Refused, leaving nothing: a wrong sha256, a wrong Content-Length, ranges
        // that overlap or pass the image's end, a body cut inside a record.
        let mut overlapping = body.clone();
        overlapping.extend(sparse::record_header(5000, 1));
        overlapping.push(1);
        let mut past_end = body.clone();
        past_end.extend(sparse::record_header(size - 1, 2));
        past_end.extend([1, 2]);
        let cut = &body[..body.len() - 1];
        let wrong_sha = "0".repeat(64);
        for (what, body, length, sha) in [
            ("sha256", &body[..], Some(body.len() as u64), &wrong_sha),
            ("length", &body[..], Some(body.len() as u64 + 1), &sha),
            ("overlap", &overlapping[..], None, &sha),
            ("past the end", &past_end[..], None, &sha),
            ("cut", cut, None, &sha),
        ] {
            let refused = storage
                .put_sparse(
                    "refused",
                    futures_util::stream::iter(chunks(body)),
                    length,
                    size,
                    sha,
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
}
