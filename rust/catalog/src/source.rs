//! Where the catalog comes from: the server, or the cached copy.

use crate::opds::{self, Limits};
use crate::{Catalog, CatalogError, Client, Entry};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

/// The catalog nixspot uses unless told otherwise.
pub const DEFAULT_URL: &str = "https://library.kiwix.org";

/// The environment variable that overrides [`DEFAULT_URL`].
pub const ENV_VAR: &str = "NIXSPOT_CATALOG";

/// At most this many pages, should a server cap `count=-1`.
const MAX_PAGES: usize = 10_000;

/// Which catalog to read and where its cached copy lives.
#[derive(Debug, Clone)]
pub struct CatalogSource {
    /// The catalog server's root URL (the part before `/catalog/v2/`).
    pub url: String,
    /// nixspot's cache directory; the copy goes to `<cache_dir>/catalog/`.
    pub cache_dir: PathBuf,
    /// Use the cached copy without asking the server.
    pub offline: bool,
}

/// What [`Catalog::load`] reports while it works.
#[derive(Debug)]
pub enum Event<'a> {
    /// A request is about to be sent.
    Request {
        /// The URL.
        url: &'a str,
    },
    /// The server said the cached copy is current.
    NotModified,
    /// A page was parsed.
    Parsed {
        /// Entries so far.
        entries: usize,
        /// Entries dropped so far (no name or no download link).
        skipped: usize,
    },
}

/// A loaded catalog, and why the cached copy was used instead of a fresh one, if it was.
#[derive(Debug)]
pub struct Loaded {
    /// The catalog.
    pub catalog: Catalog,
    /// `Some(reason)` when the server could not be asked (offline) or could not answer,
    /// and the cached copy was used.
    pub stale: Option<String>,
}

/// The cached copy: the parsed entries and the validators of the response.
#[derive(Serialize, Deserialize)]
struct Cached {
    url: String,
    etag: Option<String>,
    last_modified: Option<String>,
    entries: Vec<Entry>,
}

impl CatalogSource {
    /// The catalog URL: `flag` (`--catalog URL`), else `$NIXSPOT_CATALOG`, else
    /// [`DEFAULT_URL`].
    pub fn url_from(flag: Option<&str>) -> String {
        flag.map(str::to_string)
            .or_else(|| std::env::var(ENV_VAR).ok().filter(|v| !v.is_empty()))
            .unwrap_or_else(|| DEFAULT_URL.to_string())
    }

    /// The feed of all entries.
    pub fn entries_url(&self) -> String {
        format!(
            "{}/catalog/v2/entries?count=-1",
            self.url.trim_end_matches('/')
        )
    }

    /// The cached copy's file: one per catalog URL.
    pub fn cache_file(&self) -> PathBuf {
        let digest = Sha256::digest(self.url.trim_end_matches('/').as_bytes());
        let key: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
        self.cache_dir.join("catalog").join(format!("{key}.json"))
    }

    fn read_cache(&self) -> Result<Option<Cached>, CatalogError> {
        let path = self.cache_file();
        let file = match std::fs::File::open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(io(&path, source)),
        };
        let cached: Cached = serde_json::from_reader(BufReader::new(file)).map_err(|e| {
            CatalogError::CorruptCache {
                path: path.display().to_string(),
                reason: e.to_string(),
            }
        })?;
        Ok(Some(cached))
    }

    fn write_cache(&self, cached: &Cached) -> Result<(), CatalogError> {
        let path = self.cache_file();
        let dir = path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
        // Write then rename: a reader never sees half a copy.
        let temp = path.with_extension(format!("json.{}.tmp", std::process::id()));
        let write = || -> std::io::Result<()> {
            let mut out = BufWriter::new(std::fs::File::create(&temp)?);
            serde_json::to_writer(&mut out, cached)?;
            out.flush()?;
            out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
            std::fs::rename(&temp, &path)
        };
        write().map_err(|e| {
            let _ = std::fs::remove_file(&temp);
            io(&path, e)
        })
    }
}

fn io(path: &Path, source: std::io::Error) -> CatalogError {
    CatalogError::Io {
        path: path.display().to_string(),
        source,
    }
}

impl Catalog {
    /// Loads the catalog of `source`: revalidates the cached copy with the server
    /// (`If-None-Match` / `If-Modified-Since`), fetches and caches a fresh one when it
    /// changed, and falls back to the cached copy (saying why in [`Loaded::stale`]) when
    /// offline or when the server cannot be reached, fails or sends a malformed feed.
    ///
    /// Without a cached copy, an unreachable server is [`CatalogError::Unreachable`] and
    /// offline use is [`CatalogError::NoCachedCopy`] (both [`CatalogError::is_unavailable`]).
    pub fn load(
        source: &CatalogSource,
        client: &Client,
        progress: &mut dyn FnMut(Event<'_>),
    ) -> Result<Loaded, CatalogError> {
        // An unreadable copy is as good as none: a fresh one replaces it.
        let (cached, cache_problem) = match source.read_cache() {
            Ok(cached) => (cached, None),
            Err(e) => (None, Some(e)),
        };
        let cache_name = source.cache_file().display().to_string();
        if source.offline {
            return match cached {
                Some(c) => Ok(Loaded {
                    catalog: Catalog::new(source.url.clone(), c.entries),
                    stale: Some("offline: using the cached copy".into()),
                }),
                None => Err(cache_problem.unwrap_or(CatalogError::NoCachedCopy {
                    url: source.url.clone(),
                    cache: cache_name,
                })),
            };
        }
        match fetch(source, client, cached.as_ref(), progress) {
            Ok(Some(fresh)) => {
                source.write_cache(&fresh)?;
                Ok(Loaded {
                    catalog: Catalog::new(source.url.clone(), fresh.entries),
                    stale: None,
                })
            }
            Ok(None) => {
                progress(Event::NotModified);
                // `fetch` sends validators, so can be answered 304, only with a copy.
                let cached = cached.ok_or_else(|| CatalogError::Http {
                    url: source.entries_url(),
                    reason: "HTTP status 304 to an unconditional request".into(),
                })?;
                Ok(Loaded {
                    catalog: Catalog::new(source.url.clone(), cached.entries),
                    stale: None,
                })
            }
            Err(error) => match cached {
                Some(c) => Ok(Loaded {
                    catalog: Catalog::new(source.url.clone(), c.entries),
                    stale: Some(format!("{error}; using the cached copy")),
                }),
                None => Err(match error {
                    CatalogError::Http { reason, .. } => CatalogError::Unreachable {
                        url: source.url.clone(),
                        reason,
                        cache: cache_name,
                    },
                    other => other,
                }),
            },
        }
    }
}

/// Fetches every page; `Ok(None)` when the server says the cached copy is current.
fn fetch(
    source: &CatalogSource,
    client: &Client,
    cached: Option<&Cached>,
    progress: &mut dyn FnMut(Event<'_>),
) -> Result<Option<Cached>, CatalogError> {
    let first_url = source.entries_url();
    let mut headers = Vec::new();
    if let Some(c) = cached.filter(|c| c.url == source.url) {
        if let Some(etag) = &c.etag {
            headers.push(("If-None-Match", etag.as_str()));
        }
        if let Some(modified) = &c.last_modified {
            headers.push(("If-Modified-Since", modified.as_str()));
        }
    }
    let limits = Limits::default();
    let mut result = Cached {
        url: source.url.clone(),
        etag: None,
        last_modified: None,
        entries: Vec::new(),
    };
    let mut seen = 0u64;
    let mut skipped = 0;
    for page in 0..MAX_PAGES {
        let url = if page == 0 {
            first_url.clone()
        } else {
            format!("{first_url}&start={seen}")
        };
        progress(Event::Request { url: &url });
        let response = client.get(&url, if page == 0 { &headers } else { &[] })?;
        if page == 0 && response.status == 304 && !headers.is_empty() {
            return Ok(None);
        }
        if !(200..300).contains(&response.status) {
            return Err(CatalogError::Http {
                url,
                reason: format!("HTTP status {}, expected 200", response.status),
            });
        }
        if page == 0 {
            result.etag = response.etag.clone();
            result.last_modified = response.last_modified.clone();
        }
        let feed = opds::parse(BufReader::new(response.body), &response.final_url, &limits)?;
        let on_page = (feed.entries.len() + feed.skipped) as u64;
        seen += on_page;
        skipped += feed.skipped;
        result.entries.extend(feed.entries);
        progress(Event::Parsed {
            entries: result.entries.len(),
            skipped,
        });
        // Page only if the server capped the answer (it ignored count=-1).
        if on_page == 0 || feed.total_results.is_none_or(|total| seen >= total) {
            return Ok(Some(result));
        }
    }
    Err(CatalogError::Malformed {
        url: first_url,
        position: 0,
        reason: format!("more than {MAX_PAGES} pages"),
    })
}
