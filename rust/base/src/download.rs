//! HTTP(S) downloads: whole small files into memory (the mirror's indexes, checked
//! against the signed InRelease by `nixspot-deb`) and pinned `.deb`s streamed into the
//! content-addressed cache, checked against the lock's size and sha256 before they are
//! committed. A `.deb` the mirror's pool no longer has (404/410) is fetched from the
//! snapshot.debian.org URL the lock records for it.

use std::io::Write;
use std::path::PathBuf;

use futures_util::StreamExt;
use nixspot_deb::lock::LockedPackage;
use nixspot_fetch::policy::Kind;
use nixspot_fetch::Cache;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// A blocking HTTP client (a private tokio runtime under reqwest).
pub struct Downloader {
    runtime: tokio::runtime::Runtime,
    client: reqwest::Client,
}

/// How one download attempt ended, when it did not succeed.
enum Failure {
    /// The server says the file is not there (HTTP 404 or 410): retrying is pointless,
    /// another source may have it.
    Gone(Error),
    /// Anything else (network, other HTTP status, a digest mismatch, the disk).
    Other(Error),
}

fn download_err(url: &str, message: impl std::fmt::Display) -> Error {
    Error::Download {
        url: url.to_string(),
        message: message.to_string(),
    }
}

impl Downloader {
    /// A client with connect and read timeouts.
    pub fn new() -> Result<Downloader> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::io("tokio runtime", e))?;
        let client = reqwest::Client::builder()
            .connect_timeout(std::time::Duration::from_secs(30))
            .read_timeout(std::time::Duration::from_secs(60))
            .build()
            .map_err(|e| download_err("(client)", e))?;
        Ok(Downloader { runtime, client })
    }

    /// GETs `url` into memory (for indexes); retries transient failures.
    pub fn get(&self, url: &str) -> Result<Vec<u8>> {
        let mut last = None;
        for attempt in 0..4u32 {
            if attempt > 0 {
                std::thread::sleep(std::time::Duration::from_secs(1 << attempt));
            }
            match self.runtime.block_on(self.get_once(url)) {
                Ok(b) => return Ok(b),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| download_err(url, "no attempt made")))
    }

    async fn get_once(&self, url: &str) -> Result<Vec<u8>> {
        let resp = self
            .client
            .get(url)
            .send()
            .await
            .map_err(|e| download_err(url, e))?;
        if !resp.status().is_success() {
            return Err(download_err(url, format!("HTTP {}", resp.status())));
        }
        let bytes = resp.bytes().await.map_err(|e| download_err(url, e))?;
        Ok(bytes.to_vec())
    }

    /// Makes sure the content with `sha256` and `size` is in `cache`, downloading it
    /// from `url` if needed; returns its path in the cache.
    pub fn ensure(&self, cache: &Cache, url: &str, sha256: &str, size: u64) -> Result<PathBuf> {
        self.ensure_from(cache, &[url], sha256, size)
    }

    /// Makes sure a locked `.deb` is in `cache`: from its pool URL, or, when the pool
    /// no longer has it (404/410), from its snapshot URL.
    pub fn ensure_package(&self, cache: &Cache, pinned: &LockedPackage) -> Result<PathBuf> {
        let mut urls = vec![pinned.url.as_str()];
        urls.extend(pinned.snapshot_url.as_deref());
        self.ensure_from(cache, &urls, &pinned.sha256, pinned.size)
    }

    /// Tries `urls` in order, moving on only when one is gone (404/410): any other
    /// failure, a digest mismatch included, is the answer.
    fn ensure_from(
        &self,
        cache: &Cache,
        urls: &[&str],
        sha256: &str,
        size: u64,
    ) -> Result<PathBuf> {
        if let Some(p) = cache.lookup(sha256) {
            return Ok(p);
        }
        let mut gone = Vec::new();
        for url in urls {
            match self.ensure_one(cache, url, sha256, size) {
                Ok(p) => return Ok(p),
                Err(Failure::Gone(e)) => gone.push(e.to_string()),
                Err(Failure::Other(e)) => return Err(e),
            }
        }
        Err(download_err(
            urls.first().copied().unwrap_or("(no URL)"),
            format!("not found at any of its URLs: {}", gone.join("; ")),
        ))
    }

    fn ensure_one(
        &self,
        cache: &Cache,
        url: &str,
        sha256: &str,
        size: u64,
    ) -> std::result::Result<PathBuf, Failure> {
        let mut last = None;
        for attempt in 0..4u32 {
            if attempt > 0 {
                std::thread::sleep(std::time::Duration::from_secs(1 << attempt));
            }
            let tmp = cache.temp_path(url);
            match self.runtime.block_on(self.stream_to(url, &tmp)) {
                Ok((digest, got)) => {
                    let mismatch = if got != size {
                        Some(format!("size mismatch: expected {size} bytes, got {got}"))
                    } else if digest != sha256 {
                        Some(format!("sha256 mismatch: expected {sha256}, got {digest}"))
                    } else {
                        None
                    };
                    if let Some(m) = mismatch {
                        let _ = std::fs::remove_file(&tmp);
                        return Err(Failure::Other(download_err(
                            url,
                            format!("{m}; nothing was cached"),
                        )));
                    }
                    return cache
                        .commit(&tmp, sha256, size, Kind::File, url)
                        .map_err(|e| Failure::Other(e.into()));
                }
                Err(Failure::Gone(e)) => {
                    let _ = std::fs::remove_file(&tmp);
                    return Err(Failure::Gone(e));
                }
                Err(Failure::Other(e)) => {
                    let _ = std::fs::remove_file(&tmp);
                    last = Some(e);
                }
            }
        }
        Err(Failure::Other(
            last.unwrap_or_else(|| download_err(url, "no attempt made")),
        ))
    }

    async fn stream_to(
        &self,
        url: &str,
        tmp: &std::path::Path,
    ) -> std::result::Result<(String, u64), Failure> {
        let other = |e: Error| Failure::Other(e);
        let resp = self
            .client
            .get(url)
            .send()
            .await
            .map_err(|e| other(download_err(url, e)))?;
        let status = resp.status();
        if status == reqwest::StatusCode::NOT_FOUND || status == reqwest::StatusCode::GONE {
            return Err(Failure::Gone(download_err(url, format!("HTTP {status}"))));
        }
        if !status.is_success() {
            return Err(other(download_err(url, format!("HTTP {status}"))));
        }
        let mut file = std::fs::File::create(tmp).map_err(|e| other(Error::io(tmp, e)))?;
        let mut hasher = Sha256::new();
        let mut total = 0u64;
        let mut stream = resp.bytes_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| other(download_err(url, e)))?;
            hasher.update(&chunk);
            total += chunk.len() as u64;
            file.write_all(&chunk)
                .map_err(|e| other(Error::io(tmp, e)))?;
        }
        file.sync_all().map_err(|e| other(Error::io(tmp, e)))?;
        Ok((hex::encode(hasher.finalize()), total))
    }
}
