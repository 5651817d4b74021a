//! The worker's side of the Imager's worker protocol: `claim`, `heartbeat`, the image
//! upload and `fail`, each one HTTP request with the worker's bearer token. One call is
//! one attempt; retrying is the caller's decision ([`ClientError::is_retryable`]).

use crate::sparse;
use futures_util::{StreamExt as _, TryStreamExt as _};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// One job, as `POST /api/v1/worker/claim` hands it out.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Job {
    /// The job's id (the path segment of its other endpoints).
    pub id: String,
    /// The order it builds.
    pub order: String,
    /// How long the lease lasts without a heartbeat.
    pub lease_seconds: u64,
    /// The image's file stem.
    pub name: String,
    /// The hotspot module (`module.nix`).
    pub module: String,
    /// Its lock file (`module.lock.json`); `null` for none.
    #[serde(default)]
    pub lock: serde_json::Value,
}

#[derive(Deserialize)]
struct Claimed {
    job: Job,
}

#[derive(Serialize)]
struct ClaimRequest<'a> {
    worker: &'a str,
}

#[derive(Serialize)]
struct HeartbeatRequest<'a> {
    step: &'a str,
    progress: Option<f64>,
}

#[derive(Deserialize)]
struct Lease {
    lease_seconds: u64,
}

#[derive(Serialize)]
struct FailRequest<'a> {
    error: &'a str,
}

/// The server's error body.
#[derive(Deserialize)]
struct ApiError {
    error: String,
    #[serde(default)]
    option: Option<String>,
}

/// What went wrong with one request.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server could not be reached, or the connection broke.
    #[error("{method} {url}: {source}")]
    Transport {
        /// HTTP method.
        method: &'static str,
        /// The URL asked.
        url: String,
        /// The cause.
        #[source]
        source: reqwest::Error,
    },
    /// The server no longer holds the job for this worker (`409`): its lease was lost
    /// or the order cancelled.
    #[error("{method} {url}: the job is no longer this worker's (409 Conflict): {message}")]
    Lost {
        /// HTTP method.
        method: &'static str,
        /// The URL asked.
        url: String,
        /// The server's message.
        message: String,
    },
    /// Any other answer than the protocol's.
    #[error("{method} {url}: {status}: {message}")]
    Status {
        /// HTTP method.
        method: &'static str,
        /// The URL asked.
        url: String,
        /// The status received.
        status: reqwest::StatusCode,
        /// The server's message (its JSON `error`, or the body's start).
        message: String,
    },
    /// A success status with a body that is not the protocol's.
    #[error("{method} {url}: unexpected answer ({expected}): {message}")]
    Protocol {
        /// HTTP method.
        method: &'static str,
        /// The URL asked.
        url: String,
        /// What the protocol says comes back.
        expected: &'static str,
        /// What was wrong.
        message: String,
    },
    /// The image to upload could not be read.
    #[error("reading {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The configured server URL cannot have the API's paths appended.
    #[error("the server URL {0} cannot be a base for the API's paths (expected http(s)://HOST[:PORT][/PREFIX])")]
    BadServerUrl(String),
}

impl ClientError {
    /// Whether trying again later may succeed: the server unreachable or restarting
    /// (connection errors, timeouts, 5xx, 408, 429). `409`, `401`, `403`, `422` and
    /// other refusals are answers and stay the same.
    pub fn is_retryable(&self) -> bool {
        match self {
            ClientError::Transport { .. } => true,
            ClientError::Status { status, .. } => {
                status.is_server_error()
                    || *status == reqwest::StatusCode::REQUEST_TIMEOUT
                    || *status == reqwest::StatusCode::TOO_MANY_REQUESTS
            }
            _ => false,
        }
    }

    /// Whether the server refused the worker's token: no retry will help, the worker
    /// must be given another token.
    pub fn is_unauthorized(&self) -> bool {
        matches!(self, ClientError::Status { status, .. }
            if *status == reqwest::StatusCode::UNAUTHORIZED || *status == reqwest::StatusCode::FORBIDDEN)
    }
}

/// A connection to one Imager server as one worker.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: reqwest::Url,
    token: String,
}

/// Longest wait for the answer to a small JSON request (claim, heartbeat, fail). The
/// upload has no overall limit (images are gigabytes), only the connect timeout.
const JSON_TIMEOUT: Duration = Duration::from_secs(30);

impl Client {
    /// A client for the server at `server` (e.g. `http://127.0.0.1:8080`, or with a
    /// path prefix when the server sits behind a reverse proxy) with bearer `token`.
    pub fn new(server: &str, token: &str) -> Result<Client, ClientError> {
        let bad = || ClientError::BadServerUrl(server.to_string());
        let base = reqwest::Url::parse(server).map_err(|_| bad())?;
        if !matches!(base.scheme(), "http" | "https") || base.cannot_be_a_base() {
            return Err(bad());
        }
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .user_agent(concat!("nixspot-imager-worker/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|source| ClientError::Transport {
                method: "-",
                url: server.to_string(),
                source,
            })?;
        Ok(Client {
            http,
            base,
            token: token.to_string(),
        })
    }

    /// The URL of API path `segments` under the server's base.
    fn url(&self, segments: &[&str]) -> reqwest::Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty()
                .extend(["api", "v1", "worker"])
                .extend(segments);
        }
        url
    }

    /// `POST /api/v1/worker/claim`: the next job, or `None` when none is queued.
    pub async fn claim(&self, worker: &str) -> Result<Option<Job>, ClientError> {
        let url = self.url(&["claim"]);
        let response = self
            .send("POST", &url, |r| {
                r.json(&ClaimRequest { worker }).timeout(JSON_TIMEOUT)
            })
            .await?;
        if response.status() == reqwest::StatusCode::NO_CONTENT {
            return Ok(None);
        }
        let claimed: Claimed = read_json("POST", &url, response, "{\"job\": {…}}").await?;
        Ok(Some(claimed.job))
    }

    /// `POST /api/v1/worker/jobs/{id}/heartbeat`: reports the build step and renews the
    /// lease; returns the lease's new length.
    pub async fn heartbeat(
        &self,
        job: &str,
        step: &str,
        progress: Option<f64>,
    ) -> Result<Duration, ClientError> {
        let url = self.url(&["jobs", job, "heartbeat"]);
        // JSON has no NaN: a progress that is not a fraction is sent as unknown.
        let progress = progress
            .filter(|p| p.is_finite())
            .map(|p| p.clamp(0.0, 1.0));
        let response = self
            .send("POST", &url, |r| {
                r.json(&HeartbeatRequest { step, progress })
                    .timeout(JSON_TIMEOUT)
            })
            .await?;
        let lease: Lease = read_json("POST", &url, response, "{\"lease_seconds\": N}").await?;
        Ok(Duration::from_secs(lease.lease_seconds))
    }

    /// `PUT /api/v1/worker/jobs/{id}/image`: streams the image at `path` (`size`
    /// bytes, `sha256`) from disk as a sparse upload ([`crate::sparse`]): its data
    /// ranges only, the holes (most of an image) are not sent, and the chunks the server
    /// already holds (asked with `POST …/chunks`) go as references to them. `sent` is
    /// how far into the image the upload got.
    pub async fn upload(
        &self,
        job: &str,
        path: &Path,
        size: u64,
        sha256: &str,
        sent: Arc<AtomicU64>,
    ) -> Result<Uploaded, ClientError> {
        let io = |source| ClientError::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = Arc::new(std::fs::File::open(path).map_err(io)?);
        let mut chunks = Vec::new();
        for range in nixspot_fs::sparse::data_ranges(&file, 0, size).map_err(io)? {
            chunks.extend(sparse::chunks(range.offset, range.len));
        }
        let digests = digest_chunks(Arc::clone(&file), chunks.clone())
            .await
            .map_err(io)?;
        let held = self.held_chunks(job, &digests).await?;
        let records: Vec<Record> = chunks
            .iter()
            .zip(&digests)
            .zip(held)
            .map(|((&(offset, len), digest), held)| Record {
                offset,
                len,
                reference: held.then_some(*digest),
            })
            .collect();
        match self
            .put_image(job, &file, size, sha256, records.clone(), Arc::clone(&sent))
            .await
        {
            // A chunk the server named went away since (its image expired, or another
            // server behind the same address answered): send every byte.
            Err(ClientError::Status { status, .. })
                if status == reqwest::StatusCode::PRECONDITION_FAILED =>
            {
                let records: Vec<Record> = records
                    .into_iter()
                    .map(|r| Record {
                        reference: None,
                        ..r
                    })
                    .collect();
                self.put_image(job, &file, size, sha256, records.clone(), sent)
                    .await?;
                Ok(Uploaded::of(&records))
            }
            done => done.map(|()| Uploaded::of(&records)),
        }
    }

    /// `POST /api/v1/worker/jobs/{id}/chunks`: which of the chunks named by `digests`
    /// the server holds (asked in batches, the answers in the same order).
    async fn held_chunks(
        &self,
        job: &str,
        digests: &[sparse::Digest],
    ) -> Result<Vec<bool>, ClientError> {
        let url = self.url(&["jobs", job, "chunks"]);
        let mut held = vec![false; digests.len()];
        for (batch, names) in digests.chunks(CHUNKS_ASKED).enumerate() {
            let request = ChunksRequest {
                digests: names.iter().map(hex_digest).collect(),
            };
            let response = self
                .send("POST", &url, |r| r.json(&request).timeout(JSON_TIMEOUT))
                .await?;
            let answer: HeldChunks =
                read_json("POST", &url, response, "{\"held\": [INDEX, …]}").await?;
            // Indices outside the batch are the server's mistake: ignored.
            for index in answer.held.into_iter().filter(|i| *i < names.len()) {
                held[batch * CHUNKS_ASKED + index] = true;
            }
        }
        Ok(held)
    }

    /// Sends the upload's `records`: data read from `file`, or references.
    async fn put_image(
        &self,
        job: &str,
        file: &Arc<std::fs::File>,
        size: u64,
        sha256: &str,
        records: Vec<Record>,
        sent: Arc<AtomicU64>,
    ) -> Result<(), ClientError> {
        let url = self.url(&["jobs", job, "image"]);
        let length: u64 = records
            .iter()
            .map(|r| sparse::RECORD_HEADER + r.payload_len())
            .sum();
        sent.store(0, Ordering::Relaxed);
        let file = Arc::clone(file);
        // A few records are read ahead while earlier ones are on the wire.
        let stream = futures_util::stream::iter(records)
            .map(move |record| read_record(Arc::clone(&file), record))
            .buffered(READ_AHEAD)
            .inspect_ok(move |(record, _)| {
                sent.store(record.offset + record.len, Ordering::Relaxed);
            })
            .map_ok(|(_, bytes)| bytes);
        let body = reqwest::Body::wrap_stream(stream);
        self.send("PUT", &url, |r| {
            // An explicit length: the server refuses a body that is not the records'
            // size, and a stream alone would be sent chunked.
            r.header(reqwest::header::CONTENT_LENGTH, length)
                .header(reqwest::header::CONTENT_TYPE, sparse::CONTENT_TYPE)
                .header(sparse::SIZE_HEADER, size)
                .header("X-Image-Sha256", sha256)
                .body(body)
        })
        .await?;
        Ok(())
    }

    /// `POST /api/v1/worker/jobs/{id}/fail`: the build failed with `error`.
    pub async fn fail(&self, job: &str, error: &str) -> Result<(), ClientError> {
        let url = self.url(&["jobs", job, "fail"]);
        self.send("POST", &url, |r| {
            r.json(&FailRequest { error }).timeout(JSON_TIMEOUT)
        })
        .await?;
        Ok(())
    }

    /// Sends one request with the token; any status but 2xx becomes an error.
    async fn send(
        &self,
        method: &'static str,
        url: &reqwest::Url,
        build: impl FnOnce(reqwest::RequestBuilder) -> reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, ClientError> {
        let request = match method {
            "PUT" => self.http.put(url.clone()),
            _ => self.http.post(url.clone()),
        };
        let response = build(request.bearer_auth(&self.token))
            .send()
            .await
            .map_err(transport(method, url))?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let message = error_message(response).await;
        let url = url.to_string();
        Err(if status == reqwest::StatusCode::CONFLICT {
            ClientError::Lost {
                method,
                url,
                message,
            }
        } else {
            ClientError::Status {
                method,
                url,
                status,
                message,
            }
        })
    }
}

/// What an upload sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Uploaded {
    /// Bytes of image data sent.
    pub sent: u64,
    /// Bytes of image data sent as references to chunks the server held.
    pub referred: u64,
}

impl Uploaded {
    fn of(records: &[Record]) -> Uploaded {
        let (referred, sent): (Vec<&Record>, Vec<&Record>) =
            records.iter().partition(|r| r.reference.is_some());
        let total = |records: Vec<&Record>| records.iter().map(|r| r.len).sum();
        Uploaded {
            sent: total(sent),
            referred: total(referred),
        }
    }
}

/// Records of a sparse upload read ahead of the one being sent.
const READ_AHEAD: usize = 4;

/// Digests asked about in one request (about 700 KB of JSON).
const CHUNKS_ASKED: usize = 10_000;

#[derive(Serialize)]
struct ChunksRequest {
    digests: Vec<String>,
}

#[derive(Deserialize)]
struct HeldChunks {
    held: Vec<usize>,
}

/// A digest as the chunks endpoint takes it.
fn hex_digest(digest: &sparse::Digest) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// One record of a sparse upload: `len` bytes at `offset`, sent as data or, when the
/// server holds the chunk, as a reference to it.
#[derive(Clone)]
struct Record {
    offset: u64,
    len: u64,
    reference: Option<sparse::Digest>,
}

impl Record {
    /// Bytes after the record's header.
    fn payload_len(&self) -> u64 {
        match self.reference {
            Some(_) => sparse::DIGEST as u64,
            None => self.len,
        }
    }
}

/// The digest of each chunk of the image, read in one pass on a blocking thread.
async fn digest_chunks(
    file: Arc<std::fs::File>,
    chunks: Vec<(u64, u64)>,
) -> std::io::Result<Vec<sparse::Digest>> {
    tokio::task::spawn_blocking(move || {
        use std::os::unix::fs::FileExt as _;
        let mut buffer = vec![0u8; sparse::CHUNK as usize];
        chunks
            .iter()
            .map(|&(offset, len)| {
                let data = &mut buffer[..len as usize];
                file.read_exact_at(data, offset)?;
                Ok(sparse::digest(data))
            })
            .collect()
    })
    .await
    .map_err(std::io::Error::other)?
}

/// The bytes of `record`: header and data read from the image, or the reference.
async fn read_record(
    file: Arc<std::fs::File>,
    record: Record,
) -> std::io::Result<(Record, Vec<u8>)> {
    if let Some(digest) = &record.reference {
        let bytes = sparse::reference_record(record.offset, record.len, digest).to_vec();
        return Ok((record, bytes));
    }
    tokio::task::spawn_blocking(move || {
        use std::os::unix::fs::FileExt as _;
        let header = sparse::RECORD_HEADER as usize;
        let mut bytes = vec![0u8; header + record.len as usize];
        file.read_exact_at(&mut bytes[header..], record.offset)?;
        let (head, data) = bytes.split_at_mut(header);
        head.copy_from_slice(&sparse::record_header(record.offset, data));
        Ok((record, bytes))
    })
    .await
    .map_err(std::io::Error::other)?
}

/// Maps a failed send or read of `method url` to [`ClientError::Transport`] (the URL
/// once, in the message, not again in the source's).
fn transport<'a>(
    method: &'static str,
    url: &'a reqwest::Url,
) -> impl FnOnce(reqwest::Error) -> ClientError + 'a {
    move |source| ClientError::Transport {
        method,
        url: url.to_string(),
        source: source.without_url(),
    }
}

/// The message of an error answer: the JSON `error` (with its option), else the start
/// of the body as text.
async fn error_message(response: reqwest::Response) -> String {
    let body = response.bytes().await.unwrap_or_default();
    match serde_json::from_slice::<ApiError>(&body) {
        Ok(ApiError {
            error,
            option: Some(option),
        }) => format!("{error} (option {option})"),
        Ok(ApiError { error, .. }) => error,
        Err(_) => {
            let text = String::from_utf8_lossy(&body);
            let text: String = text.chars().take(300).collect();
            if text.trim().is_empty() {
                "(no message)".into()
            } else {
                text.trim().to_string()
            }
        }
    }
}

async fn read_json<T: serde::de::DeserializeOwned>(
    method: &'static str,
    url: &reqwest::Url,
    response: reqwest::Response,
    expected: &'static str,
) -> Result<T, ClientError> {
    let protocol = |message: String| ClientError::Protocol {
        method,
        url: url.to_string(),
        expected,
        message,
    };
    let body = response.bytes().await.map_err(transport(method, url))?;
    serde_json::from_slice(&body).map_err(|e| protocol(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_go_under_the_server_url_and_job_ids_are_one_segment() {
        let client = Client::new("http://127.0.0.1:8080/imager/", "t").unwrap();
        assert_eq!(
            client.url(&["jobs", "a/b?c", "heartbeat"]).as_str(),
            "http://127.0.0.1:8080/imager/api/v1/worker/jobs/a%2Fb%3Fc/heartbeat"
        );
        let client = Client::new("http://127.0.0.1:8080", "t").unwrap();
        assert_eq!(
            client.url(&["claim"]).as_str(),
            "http://127.0.0.1:8080/api/v1/worker/claim"
        );
    }

    #[test]
    fn only_http_server_urls_are_accepted() {
        for bad in ["127.0.0.1:8080", "file:///tmp/x", "mailto:a@b", ""] {
            assert!(
                matches!(Client::new(bad, "t"), Err(ClientError::BadServerUrl(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn jobs_parse_as_the_protocol_sends_them() {
        let text = r#"{"job": {"id": "j1", "order": "o1", "lease_seconds": 30, "name": "school",
            "module": "{ ... }: { }", "lock": {"version": 1}}}"#;
        let claimed: Claimed = serde_json::from_str(text).unwrap();
        assert_eq!(claimed.job.id, "j1");
        assert_eq!(claimed.job.lease_seconds, 30);
        assert_eq!(claimed.job.lock["version"], 1);
    }
}
