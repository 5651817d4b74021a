//! One verified download into a cache temp file: streaming hashes on a separate thread,
//! resume with `Range` after a cut, retries with exponential backoff, size checks and
//! on-the-fly decompression.

use crate::hash::Hasher;
use crate::progress::Task;
use crate::{FetchError, Options};
use futures_util::StreamExt;
use nixspot_recipe::HashAlgo;
use reqwest::header::{
    HeaderMap, HeaderValue, CONTENT_RANGE, ETAG, IF_RANGE, LAST_MODIFIED, RANGE, RETRY_AFTER,
};
use reqwest::StatusCode;
use sha2::Digest;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::sync::mpsc;

/// How the served bytes are decompressed before they are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decoder {
    /// Stored as served.
    None,
    /// `.xz` (lzma).
    Xz,
    /// `.gz`.
    Gz,
    /// `.zst`.
    Zst,
}

impl Decoder {
    /// The decoder implied by a URL or file name's suffix.
    pub fn for_name(name: &str) -> Decoder {
        let path = name.split(['?', '#']).next().unwrap_or(name);
        if path.ends_with(".xz") {
            Decoder::Xz
        } else if path.ends_with(".gz") {
            Decoder::Gz
        } else if path.ends_with(".zst") {
            Decoder::Zst
        } else {
            Decoder::None
        }
    }
}

/// Where bytes come from.
#[derive(Debug, Clone)]
pub enum Location {
    /// An http(s) URL.
    Http(String),
    /// A local file (`file://` URL or path).
    Local(PathBuf),
}

/// What to download and what to expect.
#[derive(Debug, Clone)]
pub struct Spec {
    /// The URL as written (for messages and the index).
    pub url: String,
    /// Where the bytes are.
    pub location: Location,
    /// Expected sha256 of the served bytes.
    pub sha256: Option<String>,
    /// Another expected digest of the served bytes.
    pub checksum: Option<(HashAlgo, String)>,
    /// Expected length of the served bytes.
    pub size: Option<u64>,
    /// Decompression applied before storing.
    pub decoder: Decoder,
    /// Extra request headers (registry authorization).
    pub headers: HeaderMap,
}

/// A verified download waiting in a temp file.
#[derive(Debug)]
pub struct Done {
    /// sha256 of the served bytes.
    pub raw_sha256: String,
    /// Their length.
    pub raw_size: u64,
    /// The extra digest, if one was asked for (algo name, hex).
    pub extra: Option<(String, String)>,
    /// sha256 of what was stored (equals `raw_sha256` without decoder).
    pub content_sha256: String,
    /// Length of what was stored.
    pub content_size: u64,
    /// The temp file holding it.
    pub tmp: PathBuf,
}

enum Msg {
    Data(bytes::Bytes),
    Restart,
}

struct HashWriter {
    inner: std::io::BufWriter<std::fs::File>,
    h: sha2::Sha256,
    n: u64,
}

impl Write for HashWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let k = self.inner.write(buf)?;
        self.h.update(&buf[..k]);
        self.n += k as u64;
        Ok(k)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

enum Out {
    Plain(std::io::BufWriter<std::fs::File>),
    Xz(Box<xz2::write::XzDecoder<HashWriter>>),
    Gz(Box<flate2::write::MultiGzDecoder<HashWriter>>),
    Zst(Box<zstd::stream::write::Decoder<'static, HashWriter>>),
}

struct Sink {
    path: PathBuf,
    decoder: Decoder,
    extra_algo: Option<HashAlgo>,
    raw: sha2::Sha256,
    extra: Option<Hasher>,
    raw_len: u64,
    out: Out,
}

const WRITE_BUF: usize = 1 << 20;

/// Bytes handed to the writer thread at a time.
const BATCH: usize = 256 << 10;

impl Sink {
    /// A sink writing `path` from scratch, or (`append`, plain downloads only) after
    /// the bytes already in it, which are hashed first.
    fn new(
        path: &Path,
        decoder: Decoder,
        extra_algo: Option<HashAlgo>,
        append: bool,
    ) -> std::io::Result<Sink> {
        let mut raw = sha2::Sha256::new();
        let mut extra = extra_algo.map(Hasher::new);
        let mut raw_len = 0u64;
        let file = if append && decoder == Decoder::None {
            use std::io::Read;
            let mut f = std::fs::File::open(path)?;
            let mut buf = vec![0u8; WRITE_BUF];
            loop {
                let k = f.read(&mut buf)?;
                if k == 0 {
                    break;
                }
                raw.update(&buf[..k]);
                if let Some(h) = &mut extra {
                    h.update(&buf[..k]);
                }
                raw_len += k as u64;
            }
            std::fs::OpenOptions::new().append(true).open(path)?
        } else {
            std::fs::File::create(path)?
        };
        let bw = std::io::BufWriter::with_capacity(WRITE_BUF, file);
        let hw = |inner| HashWriter {
            inner,
            h: sha2::Sha256::new(),
            n: 0,
        };
        let out = match decoder {
            Decoder::None => Out::Plain(bw),
            Decoder::Xz => Out::Xz(Box::new(xz2::write::XzDecoder::new_multi_decoder(hw(bw)))),
            Decoder::Gz => Out::Gz(Box::new(flate2::write::MultiGzDecoder::new(hw(bw)))),
            Decoder::Zst => Out::Zst(Box::new(zstd::stream::write::Decoder::new(hw(bw))?)),
        };
        Ok(Sink {
            path: path.to_path_buf(),
            decoder,
            extra_algo,
            raw,
            extra,
            raw_len,
            out,
        })
    }

    fn write(&mut self, data: &[u8]) -> std::io::Result<()> {
        self.raw.update(data);
        if let Some(h) = &mut self.extra {
            h.update(data);
        }
        self.raw_len += data.len() as u64;
        match &mut self.out {
            Out::Plain(w) => w.write_all(data),
            Out::Xz(w) => w.write_all(data),
            Out::Gz(w) => w.write_all(data),
            Out::Zst(w) => w.write_all(data),
        }
    }

    fn finish(self) -> std::io::Result<Done> {
        let raw_sha256 = hex::encode(self.raw.finalize());
        let extra = self
            .extra
            .zip(self.extra_algo)
            .map(|(h, a)| (a.name().to_string(), h.finish_hex()));
        let hw = match self.out {
            Out::Plain(mut w) => {
                w.flush()?;
                return Ok(Done {
                    content_sha256: raw_sha256.clone(),
                    content_size: self.raw_len,
                    raw_sha256,
                    raw_size: self.raw_len,
                    extra,
                    tmp: self.path,
                });
            }
            Out::Xz(mut w) => w.finish()?,
            Out::Gz(w) => w.finish()?,
            Out::Zst(mut w) => {
                w.flush()?;
                w.into_inner()
            }
        };
        let mut hw = hw;
        hw.flush()?;
        Ok(Done {
            raw_sha256,
            raw_size: self.raw_len,
            extra,
            content_sha256: hex::encode(hw.h.finalize()),
            content_size: hw.n,
            tmp: self.path,
        })
    }
}

fn run_sink(
    path: PathBuf,
    decoder: Decoder,
    extra: Option<HashAlgo>,
    append: bool,
    mut rx: mpsc::Receiver<Msg>,
) -> std::io::Result<Done> {
    let mut sink = Sink::new(&path, decoder, extra, append)?;
    while let Some(m) = rx.blocking_recv() {
        match m {
            Msg::Data(b) => sink.write(&b)?,
            Msg::Restart => sink = Sink::new(&path, sink.decoder, sink.extra_algo, false)?,
        }
    }
    sink.finish()
}

/// Why one attempt failed.
enum Attempt {
    /// Worth retrying (reset, timeout, 5xx, short body); with an optional wait.
    Retry(String, Option<Duration>),
    /// Final.
    Fatal(FetchError),
}

fn is_disk_full(e: &std::io::Error) -> bool {
    e.raw_os_error() == Some(libc::ENOSPC) || e.raw_os_error() == Some(libc::EDQUOT)
}

/// Maps a sink error (writing the temp file, decompressing) to a fetch error.
fn sink_error(url: &str, path: &Path, decoder: Decoder, e: std::io::Error) -> FetchError {
    if is_disk_full(&e) {
        FetchError::DiskFull {
            path: path.to_path_buf(),
            url: url.to_string(),
        }
    } else if decoder != Decoder::None
        && matches!(
            e.kind(),
            std::io::ErrorKind::InvalidData | std::io::ErrorKind::Other
        )
    {
        FetchError::Decompress {
            url: url.to_string(),
            message: e.to_string(),
        }
    } else {
        FetchError::Io {
            path: path.to_path_buf(),
            source: e,
        }
    }
}

/// What a resumable partial download remembers between runs (`<part>.json`).
#[derive(serde::Serialize, serde::Deserialize)]
struct PartMeta {
    url: String,
    validator: String,
}

/// Where a resumable download keeps its partial file, and its metadata.
#[derive(Debug, Clone)]
pub struct Resume {
    /// The metadata file (`url`, `ETag` or `Last-Modified`).
    pub meta: PathBuf,
}

/// Downloads `spec` to `tmp`, verified. On any error `tmp` is removed, except that a
/// resumable (`resume`) plain download cut by network trouble keeps its partial file
/// (in the cache's `tmp/`, never where finished content goes) for the next run.
pub async fn download(
    client: &reqwest::Client,
    opts: &Options,
    spec: &Spec,
    tmp: PathBuf,
    task: &Task,
    resume: Option<&Resume>,
) -> Result<Done, FetchError> {
    let resume = resume.filter(|_| spec.decoder == Decoder::None);
    let (start, validator) = resume
        .and_then(|r| std::fs::read(&r.meta).ok())
        .and_then(|b| serde_json::from_slice::<PartMeta>(&b).ok())
        .filter(|m| m.url == spec.url)
        .and_then(|m| {
            let len = std::fs::metadata(&tmp).ok()?.len();
            Some((len, HeaderValue::from_str(&m.validator).ok()))
        })
        .unwrap_or((0, None));
    let (tx, rx) = mpsc::channel::<Msg>(8);
    let p = tmp.clone();
    let extra = spec.checksum.as_ref().map(|(a, _)| *a);
    let decoder = spec.decoder;
    let sink = tokio::task::spawn_blocking(move || run_sink(p, decoder, extra, start > 0, rx));
    task.inc(start);
    let transfer = match &spec.location {
        Location::Http(url) => {
            let state = Transfer {
                offset: start,
                validator,
                meta: resume.map(|r| r.meta.clone()),
            };
            http_transfer(client, opts, spec, url, &tx, task, state).await
        }
        Location::Local(path) => local_transfer(spec, path, &tx, task).await,
    };
    drop(tx);
    let sunk = sink.await;
    let result = match (transfer, sunk) {
        (_, Ok(Err(e))) => Err(sink_error(&spec.url, &tmp, spec.decoder, e)),
        (_, Err(join)) => Err(FetchError::Http {
            url: spec.url.clone(),
            message: format!("writer task failed: {join}"),
        }),
        (Err(e), Ok(Ok(_))) => Err(e),
        (Ok(()), Ok(Ok(done))) => verify(spec, done),
    };
    let keep_part =
        resume.is_some_and(|r| r.meta.is_file()) && matches!(result, Err(FetchError::Http { .. }));
    if result.is_err() && !keep_part {
        let _ = std::fs::remove_file(&tmp);
    }
    if let (Some(r), false) = (resume, keep_part) {
        let _ = std::fs::remove_file(&r.meta);
    }
    result
}

/// Where an HTTP transfer starts.
struct Transfer {
    offset: u64,
    validator: Option<HeaderValue>,
    meta: Option<PathBuf>,
}

fn verify(spec: &Spec, done: Done) -> Result<Done, FetchError> {
    if let Some(size) = spec.size {
        if done.raw_size != size {
            return Err(FetchError::SizeMismatch {
                url: spec.url.clone(),
                expected: size,
                actual: done.raw_size,
            });
        }
    }
    if let Some(want) = &spec.sha256 {
        if !want.eq_ignore_ascii_case(&done.raw_sha256) {
            return Err(FetchError::HashMismatch {
                url: spec.url.clone(),
                algo: "sha256".into(),
                expected: want.to_ascii_lowercase(),
                actual: done.raw_sha256,
            });
        }
    }
    if let (Some((algo, want)), Some((_, got))) = (&spec.checksum, &done.extra) {
        if !want.eq_ignore_ascii_case(got) {
            return Err(FetchError::HashMismatch {
                url: spec.url.clone(),
                algo: algo.name().into(),
                expected: want.to_ascii_lowercase(),
                actual: got.clone(),
            });
        }
    }
    Ok(done)
}

async fn send(tx: &mpsc::Sender<Msg>, m: Msg, url: &str) -> Result<(), FetchError> {
    // A closed channel means the writer failed; its error is reported instead.
    tx.send(m).await.map_err(|_| FetchError::Http {
        url: url.to_string(),
        message: "writer stopped".into(),
    })
}

async fn local_transfer(
    spec: &Spec,
    path: &Path,
    tx: &mpsc::Sender<Msg>,
    task: &Task,
) -> Result<(), FetchError> {
    use tokio::io::AsyncReadExt;
    let io = |e| FetchError::Io {
        path: path.to_path_buf(),
        source: e,
    };
    let mut f = tokio::fs::File::open(path).await.map_err(io)?;
    if let Ok(m) = f.metadata().await {
        task.set_len(m.len());
    }
    loop {
        let mut buf = bytes::BytesMut::with_capacity(1 << 20);
        let n = f.read_buf(&mut buf).await.map_err(io)?;
        if n == 0 {
            return Ok(());
        }
        task.inc(n as u64);
        send(tx, Msg::Data(buf.freeze()), &spec.url).await?;
    }
}

fn backoff(opts: &Options, attempt: u32) -> Duration {
    let d = opts
        .retry_base
        .saturating_mul(1u32 << attempt.min(16).saturating_sub(1));
    d.min(Duration::from_secs(60))
}

fn retry_after(h: &HeaderMap) -> Option<Duration> {
    let secs: u64 = h.get(RETRY_AFTER)?.to_str().ok()?.trim().parse().ok()?;
    Some(Duration::from_secs(secs.min(300)))
}

async fn http_transfer(
    client: &reqwest::Client,
    opts: &Options,
    spec: &Spec,
    url: &str,
    tx: &mpsc::Sender<Msg>,
    task: &Task,
    state: Transfer,
) -> Result<(), FetchError> {
    let Transfer {
        mut offset,
        mut validator,
        meta,
    } = state;
    let mut failures = 0u32;
    let mut len_known = false;
    loop {
        let before = offset;
        let outcome = attempt(
            client,
            opts,
            spec,
            url,
            tx,
            task,
            &mut offset,
            &mut validator,
            &mut len_known,
            meta.as_deref(),
        )
        .await;
        let (why, wait) = match outcome {
            Ok(()) => return Ok(()),
            Err(Attempt::Fatal(e)) => return Err(e),
            Err(Attempt::Retry(why, wait)) => (why, wait),
        };
        // Progress resets the budget: a long download may be cut many times.
        if offset > before {
            failures = 0;
        }
        failures += 1;
        if failures > opts.retries {
            return Err(FetchError::Http {
                url: spec.url.clone(),
                message: format!("{why} (gave up after {} retries)", opts.retries),
            });
        }
        tokio::time::sleep(wait.unwrap_or_else(|| backoff(opts, failures))).await;
    }
}

#[allow(clippy::too_many_arguments)]
async fn attempt(
    client: &reqwest::Client,
    opts: &Options,
    spec: &Spec,
    url: &str,
    tx: &mpsc::Sender<Msg>,
    task: &Task,
    offset: &mut u64,
    validator: &mut Option<HeaderValue>,
    len_known: &mut bool,
    meta: Option<&Path>,
) -> Result<(), Attempt> {
    let mut req = client.get(url).headers(spec.headers.clone());
    if *offset > 0 {
        req = req.header(RANGE, format!("bytes={offset}-"));
        if let Some(v) = validator {
            req = req.header(IF_RANGE, v.clone());
        }
    }
    let resp = match tokio::time::timeout(opts.read_timeout, req.send()).await {
        Err(_) => {
            return Err(Attempt::Retry(
                "timed out waiting for a response".into(),
                None,
            ))
        }
        Ok(Err(e)) => {
            return Err(if e.is_connect() || e.is_timeout() || e.is_request() {
                Attempt::Retry(format!("request failed: {e}"), None)
            } else {
                Attempt::Fatal(FetchError::Http {
                    url: spec.url.clone(),
                    // With its causes: a refused redirect says why only there.
                    message: with_causes(&e),
                })
            });
        }
        Ok(Ok(r)) => r,
    };
    let status = resp.status();
    let fatal_status = |status: StatusCode| {
        Attempt::Fatal(FetchError::Status {
            url: spec.url.clone(),
            status: status.as_u16(),
            message: status.canonical_reason().unwrap_or("").to_string(),
        })
    };
    let mut expected_end: Option<u64> = None;
    match status {
        StatusCode::OK => {
            if *offset > 0 {
                // The server ignored the range (or the validator changed): start over.
                send(tx, Msg::Restart, &spec.url)
                    .await
                    .map_err(Attempt::Fatal)?;
                task.rewind(*offset);
                *offset = 0;
            }
            *validator = resp
                .headers()
                .get(ETAG)
                .or_else(|| resp.headers().get(LAST_MODIFIED))
                .cloned();
            // Remember the validator before any byte lands, so a later run can resume.
            if let (Some(m), Some(v)) = (meta, validator.as_ref().and_then(|v| v.to_str().ok())) {
                let pm = PartMeta {
                    url: spec.url.clone(),
                    validator: v.to_string(),
                };
                let _ = std::fs::write(m, serde_json::to_vec(&pm).unwrap_or_default());
            }
            if let Some(len) = resp.content_length() {
                if let Some(size) = spec.size {
                    if len != size {
                        return Err(Attempt::Fatal(FetchError::SizeMismatch {
                            url: spec.url.clone(),
                            expected: size,
                            actual: len,
                        }));
                    }
                }
                expected_end = Some(len);
                if !*len_known {
                    task.set_len(len);
                    *len_known = true;
                }
            }
        }
        StatusCode::PARTIAL_CONTENT => {
            let range = resp
                .headers()
                .get(CONTENT_RANGE)
                .and_then(|v| v.to_str().ok())
                .and_then(parse_content_range);
            match range {
                Some((start, total)) if start == *offset => expected_end = total,
                _ => {
                    send(tx, Msg::Restart, &spec.url)
                        .await
                        .map_err(Attempt::Fatal)?;
                    task.rewind(*offset);
                    *offset = 0;
                    *validator = None;
                    return Err(Attempt::Retry(
                        "server sent an unexpected range".into(),
                        None,
                    ));
                }
            }
        }
        StatusCode::TOO_MANY_REQUESTS => {
            let wait = retry_after(resp.headers());
            return Err(Attempt::Retry(
                "HTTP 429 Too Many Requests".into(),
                Some(wait.unwrap_or_else(|| backoff(opts, 1))),
            ));
        }
        StatusCode::REQUEST_TIMEOUT => return Err(Attempt::Retry("HTTP 408".into(), None)),
        s if s.is_server_error() => {
            return Err(Attempt::Retry(
                format!("HTTP {} {}", s.as_u16(), s.canonical_reason().unwrap_or("")),
                retry_after(resp.headers()),
            ))
        }
        s => return Err(fatal_status(s)),
    }
    let mut stream = resp.bytes_stream();
    // Small chunks are coalesced so the writer thread wakes once per BATCH bytes.
    let mut pending = bytes::BytesMut::new();
    let outcome = loop {
        match tokio::time::timeout(opts.read_timeout, stream.next()).await {
            Err(_) => {
                break Err(Attempt::Retry(
                    format!("no data for {}s", opts.read_timeout.as_secs()),
                    None,
                ))
            }
            Ok(None) => break Ok(()),
            Ok(Some(Err(e))) => break Err(Attempt::Retry(format!("connection broken: {e}"), None)),
            Ok(Some(Ok(chunk))) => {
                let n = chunk.len() as u64;
                if let Some(size) = spec.size {
                    if *offset + n > size {
                        break Err(Attempt::Fatal(FetchError::SizeMismatch {
                            url: spec.url.clone(),
                            expected: size,
                            actual: *offset + n,
                        }));
                    }
                }
                *offset += n;
                task.inc(n);
                if pending.is_empty() && chunk.len() >= BATCH {
                    send(tx, Msg::Data(chunk), &spec.url)
                        .await
                        .map_err(Attempt::Fatal)?;
                } else {
                    pending.extend_from_slice(&chunk);
                    if pending.len() >= BATCH {
                        send(tx, Msg::Data(pending.split().freeze()), &spec.url)
                            .await
                            .map_err(Attempt::Fatal)?;
                    }
                }
            }
        }
    };
    // Whatever arrived is valid data up to `offset`: hand it over before a retry.
    if !pending.is_empty() {
        send(tx, Msg::Data(pending.freeze()), &spec.url)
            .await
            .map_err(Attempt::Fatal)?;
    }
    outcome?;
    if let Some(end) = expected_end {
        if *offset < end {
            return Err(Attempt::Retry(
                format!("connection closed after {} of {end} bytes", *offset),
                None,
            ));
        }
    }
    Ok(())
}

/// Parses `bytes START-END/TOTAL` (TOTAL may be `*`).
fn parse_content_range(v: &str) -> Option<(u64, Option<u64>)> {
    let rest = v.trim().strip_prefix("bytes ")?;
    let (range, total) = rest.split_once('/')?;
    let (start, _) = range.split_once('-')?;
    Some((start.trim().parse().ok()?, total.trim().parse().ok()))
}

/// `e` followed by each of its causes, `: `-separated.
fn with_causes(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let text = c.to_string();
        // reqwest repeats some causes in its own message.
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        cause = c.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_range_and_decoders() {
        assert_eq!(parse_content_range("bytes 10-19/20"), Some((10, Some(20))));
        assert_eq!(parse_content_range("bytes 10-19/*"), Some((10, None)));
        assert_eq!(parse_content_range("items 1-2/3"), None);
        assert_eq!(Decoder::for_name("https://x/a.img.xz"), Decoder::Xz);
        assert_eq!(Decoder::for_name("https://x/a.img.gz?x=1"), Decoder::Gz);
        assert_eq!(Decoder::for_name("/p/a.img.zst"), Decoder::Zst);
        assert_eq!(Decoder::for_name("/p/a.img"), Decoder::None);
    }
}
