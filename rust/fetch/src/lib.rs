//! Content fetching for nixspot: verified parallel downloads, a content-addressed cache,
//! OCI image pulls into deterministic docker-archive tars, and lock files.
//!
//! The assembler's entry point is [`Fetcher::fetch_recipe`] (or its blocking twin): it
//! resolves and fetches everything a [`Recipe`] needs into the [`Cache`] and returns local
//! paths in [`Fetched`]. [`lock_from`] turns the result into a [`Lock`].

pub mod cache;
mod download;
pub mod hash;
pub mod mirror;
pub mod oci;
pub mod policy;
pub mod progress;
mod redirect;

pub use cache::Cache;
pub use download::Decoder;
pub use mirror::Mirror;
pub use progress::{Progress, ProgressMode};

use cache::UrlEntry;
use download::{Location, Spec};
use futures_util::StreamExt;
use nixspot_recipe::{ChecksumKind, HashAlgo, Lock, LockedFile, LockedOci, Recipe, Unpinned};
use policy::Kind;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Everything that can go wrong while fetching.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// A local file operation failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The disk holding the cache is full; the partial download was removed.
    #[error("no space left on device while writing {path} (downloading {url}); the partial file was removed")]
    DiskFull {
        /// The temp file.
        path: PathBuf,
        /// What was being downloaded.
        url: String,
    },
    /// Network failure after retries, or a request that cannot be made.
    #[error("{url}: {message}")]
    Http {
        /// The URL.
        url: String,
        /// What happened.
        message: String,
    },
    /// The server answered with an error status that is not retried.
    #[error("{url}: HTTP {status} {message}")]
    Status {
        /// The URL.
        url: String,
        /// The status code.
        status: u16,
        /// The reason phrase or the registry's error.
        message: String,
    },
    /// The content does not have the expected digest; nothing was cached.
    #[error("{url}: {algo} mismatch: expected {expected}, got {actual}; nothing was cached")]
    HashMismatch {
        /// The URL.
        url: String,
        /// The algorithm.
        algo: String,
        /// The expected digest.
        expected: String,
        /// The actual digest.
        actual: String,
    },
    /// The content does not have the expected size; nothing was cached.
    #[error("{url}: size mismatch: expected {expected} bytes, got {actual}; nothing was cached")]
    SizeMismatch {
        /// The URL.
        url: String,
        /// Expected bytes.
        expected: u64,
        /// Actual bytes.
        actual: u64,
    },
    /// A compressed base image could not be decompressed.
    #[error("{url}: cannot decompress: {message}")]
    Decompress {
        /// The URL.
        url: String,
        /// The decoder's error.
        message: String,
    },
    /// A MirrorBrain-style digest URL did not hold a digest.
    #[error("{url}: not a {algo} digest file: {message}")]
    DigestFile {
        /// The digest URL.
        url: String,
        /// The expected algorithm.
        algo: String,
        /// What was wrong.
        message: String,
    },
    /// `--locked` and some content is not pinned.
    #[error("--locked: {} not pinned (run `nixspot lock`):\n  {}", .0.len(), .0.iter().map(|u| u.to_string()).collect::<Vec<_>>().join("\n  "))]
    Unpinned(Vec<Unpinned>),
    /// `--offline` and the content is not in the cache.
    #[error("{what}: not in the cache and --offline forbids the network")]
    Offline {
        /// The URL or image reference.
        what: String,
    },
    /// The cache policy file is invalid.
    #[error("{0}")]
    Policy(String),
    /// The cache index is corrupt.
    #[error("{path}: corrupt cache index: {message}")]
    Index {
        /// The index file.
        path: PathBuf,
        /// The JSON error.
        message: String,
    },
    /// A file changed while it was being imported.
    #[error("{path}: changed while it was being imported; try again")]
    Changed {
        /// The file.
        path: PathBuf,
    },
    /// Registry protocol or image format problem.
    #[error("{reference}: {message}")]
    Oci {
        /// The image reference.
        reference: String,
        /// What went wrong.
        message: String,
    },
    /// Several downloads failed.
    #[error("{} downloads failed:\n  {}", .0.len(), .0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n  "))]
    Multiple(Vec<FetchError>),
}

/// Tuning and behaviour.
#[derive(Debug, Clone)]
pub struct Options {
    /// Downloads at once (default 4).
    pub concurrency: usize,
    /// Retries per download after a retryable failure (default 5).
    pub retries: u32,
    /// First backoff delay, doubled each retry (default 1 s).
    pub retry_base: Duration,
    /// TCP connect timeout (default 30 s).
    pub connect_timeout: Duration,
    /// Longest wait for a response or for the next bytes (default 60 s).
    pub read_timeout: Duration,
    /// Refuse anything unpinned.
    pub locked: bool,
    /// Never use the network: everything must be in the cache.
    pub offline: bool,
    /// Ask again for what is not pinned (URLs without sha256, images without digest)
    /// instead of reusing what the cache index remembers (`nixspot lock --update`).
    pub refresh: bool,
    /// Where relative local paths are resolved (the recipe's directory).
    pub base_dir: PathBuf,
    /// Registry credentials by host (`user`, `password`), for basic auth and tokens.
    pub registry_auth: BTreeMap<String, (String, String)>,
    /// Where to fetch from instead (URL and OCI reference prefixes); see [`mirror`].
    pub mirrors: Vec<Mirror>,
    /// Progress display.
    pub progress: ProgressMode,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            concurrency: 4,
            retries: 5,
            retry_base: Duration::from_secs(1),
            connect_timeout: Duration::from_secs(30),
            read_timeout: Duration::from_secs(60),
            locked: false,
            offline: false,
            refresh: false,
            base_dir: PathBuf::from("."),
            registry_auth: BTreeMap::new(),
            mirrors: Vec::new(),
            progress: ProgressMode::Auto,
        }
    }
}

/// Content in the cache, ready to be copied into an image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalContent {
    /// The URL as written in the recipe.
    pub url: String,
    /// Path of the (decompressed) content in the cache.
    pub path: PathBuf,
    /// sha256 of the content at `path`.
    pub sha256: String,
    /// Size of the content at `path`.
    pub size: u64,
    /// sha256 of what the URL serves (differs from `sha256` for `.xz`/`.gz`/`.zst` bases).
    pub source_sha256: String,
    /// Size of what the URL serves.
    pub source_size: u64,
}

/// A pulled OCI image as a docker-archive tar in the cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OciArchive {
    /// The reference as given.
    pub ident: String,
    /// Path of the archive in the cache.
    pub path: PathBuf,
    /// sha256 of the archive.
    pub sha256: String,
    /// The linux/arm64 manifest digest.
    pub digest: String,
    /// Archive size (image-creator's `filesize`).
    pub filesize: u64,
    /// Sum of member sizes (image-creator's `fullsize`).
    pub fullsize: u64,
    /// Where image-creator puts it: `/data/images/<sanitized name>.tar`.
    pub target: String,
}

/// Everything a recipe needs, fetched.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// The base image (decompressed).
    pub base: LocalContent,
    /// One per `recipe.files` entry: the content for `url` entries, `None` for inline.
    pub files: Vec<Option<LocalContent>>,
    /// One per `recipe.oci_images` entry.
    pub oci: Vec<OciArchive>,
}

/// Fetches recipes' content into a cache.
pub struct Fetcher {
    cache: Arc<Cache>,
    client: reqwest::Client,
    opts: Options,
    progress: Progress,
}

/// Where a URL or path points.
pub(crate) fn location(url: &str, base_dir: &Path) -> Location {
    if url.starts_with("http://") || url.starts_with("https://") {
        Location::Http(url.to_string())
    } else if let Some(rest) = url.strip_prefix("file://") {
        Location::Local(PathBuf::from(percent_decode(rest)))
    } else {
        Location::Local(base_dir.join(url))
    }
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// One URL to fetch.
#[derive(Debug, Clone)]
struct Item {
    url: String,
    sha256: Option<String>,
    checksum: Option<nixspot_recipe::Checksum>,
    size: Option<u64>,
    decoder: Decoder,
}

/// Refuses a recipe with unpinned content (for `--locked`).
pub fn check_locked(recipe: &Recipe) -> Result<(), FetchError> {
    let missing = recipe.unpinned();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(FetchError::Unpinned(missing))
    }
}

/// The lock for `recipe` (as written, before any lock was applied) given what was
/// fetched for it.
pub fn lock_from(recipe: &Recipe, fetched: &Fetched) -> Lock {
    let mut lock = Lock::default();
    let (base_url, _) = recipe.base.resolved();
    lock.files.insert(
        base_url,
        LockedFile {
            sha256: fetched.base.source_sha256.clone(),
            size: fetched.base.source_size,
        },
    );
    for (f, c) in recipe.files.iter().zip(&fetched.files) {
        if let (Some(url), Some(c)) = (&f.url, c) {
            lock.files.insert(
                url.clone(),
                LockedFile {
                    sha256: c.source_sha256.clone(),
                    size: c.source_size,
                },
            );
        }
    }
    for (o, a) in recipe.oci_images.iter().zip(&fetched.oci) {
        lock.oci.insert(
            o.ident.clone(),
            LockedOci {
                archive_sha256: a.sha256.clone(),
                digest: a.digest.clone(),
                filesize: a.filesize,
                fullsize: a.fullsize,
            },
        );
    }
    lock
}

enum Job<'a> {
    Url(Item),
    Oci(usize, &'a str),
}

enum JobDone {
    Url(String, LocalContent),
    Oci(usize, OciArchive),
}

impl Fetcher {
    /// A fetcher using `cache` (opened with [`Cache::open`]).
    pub fn new(cache: Cache, opts: Options) -> Result<Fetcher, FetchError> {
        let client = reqwest::Client::builder()
            .connect_timeout(opts.connect_timeout)
            .redirect(redirect::policy())
            .user_agent(concat!("nixspot/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| FetchError::Http {
                url: String::new(),
                message: format!("cannot create the HTTP client: {e}"),
            })?;
        let progress = Progress::new(opts.progress);
        Ok(Fetcher {
            cache: Arc::new(cache),
            client,
            opts,
            progress,
        })
    }

    /// Sets [`Options::refresh`].
    pub fn set_refresh(&mut self, refresh: bool) {
        self.opts.refresh = refresh;
    }

    /// The cache in use.
    pub fn cache(&self) -> &Cache {
        &self.cache
    }

    /// The options it was made with.
    pub fn options(&self) -> &Options {
        &self.opts
    }

    /// Where to fetch `url` from (after [`Options::mirrors`]) and how to name it in
    /// messages: the URL itself, or the mirror's URL followed by the recipe's.
    fn source_of(&self, url: &str) -> (String, String) {
        let source = mirror::source(&self.opts.mirrors, url);
        let shown = if source == url {
            url.to_string()
        } else {
            format!("{source} (mirror of {url})")
        };
        (source, shown)
    }

    /// Fetches everything `recipe` needs (base, `url` files, OCI images) concurrently
    /// and returns where each piece is in the cache.
    pub async fn fetch_recipe(&self, recipe: &Recipe) -> Result<Fetched, FetchError> {
        if self.opts.locked {
            check_locked(recipe)?;
        }
        let (base_url, base_ck) = recipe.base.resolved();
        let mut items: BTreeMap<String, Item> = BTreeMap::new();
        let base_item = Item {
            sha256: base_ck
                .as_ref()
                .and_then(|c| c.pinned_sha256())
                .map(str::to_string),
            checksum: base_ck,
            size: None,
            decoder: Decoder::for_name(&base_url),
            url: base_url.clone(),
        };
        items.insert(base_url.clone(), base_item);
        for f in &recipe.files {
            let Some(url) = &f.url else { continue };
            let item = Item {
                url: url.clone(),
                sha256: f
                    .checksum
                    .as_ref()
                    .and_then(|c| c.pinned_sha256())
                    .map(str::to_string),
                checksum: f.checksum.clone(),
                size: if f.via.is_archive() {
                    None
                } else {
                    f.size.bytes()
                },
                decoder: Decoder::None,
            };
            items.entry(url.clone()).or_insert(item);
        }
        // One index snapshot for all lookups, one index write at the end.
        self.cache.begin_batch();
        let index = self.cache.read_index()?;
        let index = &index;
        let mut jobs: Vec<Job<'_>> = items.into_values().map(Job::Url).collect();
        for (i, o) in recipe.oci_images.iter().enumerate() {
            jobs.push(Job::Oci(i, &o.ident));
        }
        let results: Vec<Result<JobDone, FetchError>> = futures_util::stream::iter(jobs)
            .map(|job| async move {
                match job {
                    Job::Url(item) => {
                        let c = self.fetch_item(&item, index).await?;
                        Ok(JobDone::Url(item.url, c))
                    }
                    Job::Oci(i, ident) => {
                        let a = oci::pull(self, ident, index).await?;
                        Ok(JobDone::Oci(i, a))
                    }
                }
            })
            .buffer_unordered(self.opts.concurrency.max(1))
            .collect()
            .await;
        self.progress.finish();
        self.cache.flush()?;
        let mut errors = Vec::new();
        let mut by_url = BTreeMap::new();
        let mut oci: Vec<Option<OciArchive>> = vec![None; recipe.oci_images.len()];
        for r in results {
            match r {
                Ok(JobDone::Url(u, c)) => {
                    by_url.insert(u, c);
                }
                Ok(JobDone::Oci(i, a)) => {
                    if let Some(slot) = oci.get_mut(i) {
                        *slot = Some(a);
                    }
                }
                Err(e) => errors.push(e),
            }
        }
        if errors.len() == 1 {
            if let Some(e) = errors.pop() {
                return Err(e);
            }
        }
        if !errors.is_empty() {
            return Err(FetchError::Multiple(errors));
        }
        let missing = || FetchError::Http {
            url: base_url.clone(),
            message: "internal: result missing".into(),
        };
        let base = by_url.get(&base_url).cloned().ok_or_else(missing)?;
        let files = recipe
            .files
            .iter()
            .map(|f| f.url.as_ref().and_then(|u| by_url.get(u).cloned()))
            .collect();
        let oci = oci
            .into_iter()
            .collect::<Option<Vec<_>>>()
            .ok_or_else(missing)?;
        Ok(Fetched { base, files, oci })
    }

    /// [`Fetcher::fetch_recipe`] on a private runtime, for synchronous callers.
    pub fn fetch_recipe_blocking(&self, recipe: &Recipe) -> Result<Fetched, FetchError> {
        block_on(self.fetch_recipe(recipe))
    }

    /// Pulls one OCI image (or takes it from the cache) and returns its deterministic
    /// archive: what [`Fetcher::fetch_recipe`] gives for the same reference.
    pub async fn fetch_oci(&self, ident: &str) -> Result<OciArchive, FetchError> {
        self.cache.begin_batch();
        let index = self.cache.read_index()?;
        let pulled = oci::pull(self, ident, &index).await;
        self.progress.finish();
        self.cache.flush()?;
        pulled
    }

    /// [`Fetcher::fetch_oci`] on a private runtime, for synchronous callers.
    pub fn fetch_oci_blocking(&self, ident: &str) -> Result<OciArchive, FetchError> {
        block_on(self.fetch_oci(ident))
    }

    async fn fetch_digest_file(&self, url: &str, algo: HashAlgo) -> Result<String, FetchError> {
        let bad = |message: String| FetchError::DigestFile {
            url: url.to_string(),
            algo: algo.name().into(),
            message,
        };
        if self.opts.offline {
            return Err(FetchError::Offline {
                what: url.to_string(),
            });
        }
        let (source, shown) = self.source_of(url);
        let body = match location(&source, &self.opts.base_dir) {
            Location::Local(p) => {
                std::fs::read(&p).map_err(|e| FetchError::Io { path: p, source: e })?
            }
            Location::Http(u) => {
                let mut last = None;
                let mut got = None;
                for attempt in 0..=self.opts.retries {
                    match self.client.get(&u).send().await {
                        Ok(r) if r.status().is_success() => {
                            got = Some(r.bytes().await.map_err(|e| bad(e.to_string()))?);
                            break;
                        }
                        Ok(r) if r.status().is_server_error() => {
                            last = Some(format!("HTTP {}", r.status()))
                        }
                        Ok(r) => {
                            return Err(FetchError::Status {
                                url: shown,
                                status: r.status().as_u16(),
                                message: r.status().canonical_reason().unwrap_or("").into(),
                            })
                        }
                        Err(e) => last = Some(e.to_string()),
                    }
                    tokio::time::sleep(self.opts.retry_base * (1 << attempt.min(10))).await;
                }
                got.ok_or_else(|| FetchError::Http {
                    url: shown,
                    message: last.unwrap_or_default(),
                })?
                .to_vec()
            }
        };
        if body.len() > 2048 {
            return Err(bad(format!(
                "{} bytes (at most 2 KiB expected)",
                body.len()
            )));
        }
        let text = String::from_utf8_lossy(&body);
        let digest = text
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        let hex = digest.bytes().all(|b| b.is_ascii_hexdigit());
        if digest.len() != algo.hex_len() || !hex {
            // The body may be any file (a local path): only a hash-shaped token is shown.
            let shown = if hex && digest.len() <= 128 {
                format!("{digest:?}")
            } else {
                format!(
                    "({} characters, not all hex digits)",
                    digest.chars().count()
                )
            };
            return Err(bad(format!(
                "first word {shown} is not {} hex digits",
                algo.hex_len()
            )));
        }
        Ok(digest)
    }

    /// The expected non-sha256 digest of an item, resolving `kind: url`.
    async fn extra_digest(&self, item: &Item) -> Result<Option<(HashAlgo, String)>, FetchError> {
        let Some(c) = &item.checksum else {
            return Ok(None);
        };
        if c.pinned_sha256().is_some() {
            return Ok(None);
        }
        Ok(Some(match c.kind {
            ChecksumKind::Digest => (c.algo, c.value.to_ascii_lowercase()),
            ChecksumKind::Url => (c.algo, self.fetch_digest_file(&c.value, c.algo).await?),
        }))
    }

    fn local(
        &self,
        item: &Item,
        source_sha256: &str,
        source_size: u64,
        sha: &str,
    ) -> Option<LocalContent> {
        let path = self.cache.lookup(sha)?;
        let size = std::fs::metadata(&path).ok()?.len();
        Some(LocalContent {
            url: item.url.clone(),
            path,
            sha256: sha.to_string(),
            size,
            source_sha256: source_sha256.to_string(),
            source_size,
        })
    }

    /// Content already in the cache for `item`, without network.
    async fn cached(
        &self,
        item: &Item,
        index: &cache::Index,
    ) -> Result<Option<LocalContent>, FetchError> {
        if let Some(sha) = &item.sha256 {
            let sha = sha.to_ascii_lowercase();
            let raw_size = self
                .cache
                .lookup(&sha)
                .and_then(|p| std::fs::metadata(p).ok())
                .map(|m| m.len());
            let known_size = index
                .urls
                .values()
                .find(|u| u.sha256 == sha)
                .map(|u| u.size);
            if item.decoder == Decoder::None {
                if let Some(n) = raw_size {
                    if item.size.is_none_or(|s| s == n) {
                        return Ok(self.local(item, &sha, n, &sha));
                    }
                }
            } else if let Some(content) = index.decoded.get(&sha) {
                if let Some(n) = known_size.or(raw_size) {
                    if let Some(c) = self.local(item, &sha, n, content) {
                        return Ok(Some(c));
                    }
                }
            }
            if let (Some(_), Some(p)) = (raw_size, self.cache.lookup(&sha)) {
                // Imported compressed content: decompress it from the cache.
                let local = Item {
                    url: p.display().to_string(),
                    ..item.clone()
                };
                return self.download(&local, None, Some(&item.url)).await.map(Some);
            }
            return Ok(None);
        }
        if self.opts.refresh {
            return Ok(None);
        }
        let Some(u) = index.urls.get(&item.url) else {
            return Ok(None);
        };
        if item.size.is_some_and(|s| s != u.size) {
            return Ok(None);
        }
        let content = if item.decoder == Decoder::None {
            Some(u.sha256.clone())
        } else {
            index.decoded.get(&u.sha256).cloned()
        };
        let Some(content) = content else {
            return Ok(None);
        };
        if let Some((algo, want)) = self.extra_digest(item).await? {
            if u.digests.get(algo.name()) != Some(&want) {
                return Ok(None);
            }
        }
        Ok(self.local(item, &u.sha256, u.size, &content))
    }

    async fn fetch_item(
        &self,
        item: &Item,
        index: &cache::Index,
    ) -> Result<LocalContent, FetchError> {
        if let Some(c) = self.cached(item, index).await? {
            self.cache.touch(&c.sha256, c.size, Kind::File, &item.url)?;
            return Ok(c);
        }
        let (source, _) = self.source_of(&item.url);
        let is_remote = matches!(location(&source, &self.opts.base_dir), Location::Http(_));
        if self.opts.offline && is_remote {
            return Err(FetchError::Offline {
                what: item.url.clone(),
            });
        }
        let extra = self.extra_digest(item).await?;
        self.download(item, extra, None).await
    }

    /// Downloads, verifies and commits one item. `index_url` overrides the URL recorded
    /// in the index (when decompressing imported content).
    async fn download(
        &self,
        item: &Item,
        extra: Option<(HashAlgo, String)>,
        index_url: Option<&str>,
    ) -> Result<LocalContent, FetchError> {
        // Content decompressed from the cache (`index_url`) is already local: no mirror.
        let (source, shown) = match index_url {
            Some(_) => (item.url.clone(), item.url.clone()),
            None => self.source_of(&item.url),
        };
        let spec = Spec {
            url: shown,
            location: location(&source, &self.opts.base_dir),
            sha256: item.sha256.clone(),
            checksum: extra,
            size: item.size,
            decoder: item.decoder,
            headers: Default::default(),
        };
        let task = self.progress.task(&item.url, item.size);
        // Plain HTTP downloads keep a per-URL partial file, locked by this process, so
        // a later run resumes it; if another process holds it, use a private temp file.
        let plain_http =
            matches!(spec.location, Location::Http(_)) && item.decoder == Decoder::None;
        let part = plain_http
            .then(|| self.cache.resumable_part(&item.url))
            .flatten();
        let (tmp, resume, _guard) = match part {
            Some((path, meta, guard)) => (path, Some(download::Resume { meta }), Some(guard)),
            None => (self.cache.temp_path(&item.url), None, None),
        };
        let done = download::download(&self.client, &self.opts, &spec, tmp, &task, resume.as_ref())
            .await?;
        let url = index_url.unwrap_or(&item.url).to_string();
        let path = self.cache.commit(
            &done.tmp,
            &done.content_sha256,
            done.content_size,
            Kind::File,
            &url,
        )?;
        let raw = done.raw_sha256.clone();
        let content = done.content_sha256.clone();
        let decoded = item.decoder != Decoder::None;
        let remote = matches!(spec.location, Location::Http(_)) || index_url.is_some();
        let url2 = url.clone();
        let (raw_size, extra) = (done.raw_size, done.extra.clone());
        self.cache.record(move |ix| {
            let url = url2;
            if remote {
                let e = ix.urls.entry(url.clone()).or_insert_with(|| UrlEntry {
                    sha256: raw.clone(),
                    size: raw_size,
                    digests: BTreeMap::new(),
                });
                if e.sha256 != raw {
                    *e = UrlEntry {
                        sha256: raw.clone(),
                        size: raw_size,
                        digests: BTreeMap::new(),
                    };
                }
                if let Some((a, h)) = &extra {
                    e.digests.insert(a.clone(), h.clone());
                }
            }
            if decoded {
                ix.decoded.insert(raw.clone(), content.clone());
            }
        })?;
        task.finish(&format!(
            "{} bytes, sha256 {}",
            done.content_size, done.content_sha256
        ));
        Ok(LocalContent {
            url: item.url.clone(),
            path,
            sha256: done.content_sha256,
            size: done.content_size,
            source_sha256: done.raw_sha256,
            source_size: done.raw_size,
        })
    }
}

/// Runs `work` to completion on a private multi-threaded runtime.
fn block_on<T>(
    work: impl std::future::Future<Output = Result<T, FetchError>>,
) -> Result<T, FetchError> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| FetchError::Io {
            path: PathBuf::from("<tokio runtime>"),
            source: e,
        })?;
    rt.block_on(work)
}
