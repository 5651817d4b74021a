//! The content-addressed cache.
//!
//! Layout under the cache root:
//! - `content/<aa>/<sha256>`: verified content, named by its sha256 (mode 0444 whatever
//!   the source's: no setuid, nothing writable);
//! - `tmp/`: downloads in progress (never looks complete: renamed only once verified);
//! - `index.json`: URL → content, OCI reference → archive, compressed → decompressed,
//!   and per-content metadata (kind, size, added, last used, uses, transient, and the
//!   integrity [`Stamp`] of the file when its hash was last checked: a hit whose file
//!   no longer has that stamp is re-hashed before use);
//! - `policy.yaml`: the optional policy ([`crate::policy`]);
//! - `.index.lock`: held exclusively while the index is read-modified-written;
//! - `.use.lock`: held shared by every process using the cache, exclusively by
//!   `gc`/`clear`, so eviction never removes content another process is about to use.

use crate::hash::sha256_file;
use crate::policy::{Eviction, Kind, Policy};
use crate::FetchError;
use fs4::fs_std::FileExt;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Per-content metadata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContentEntry {
    /// What it is.
    pub kind: Kind,
    /// Length in bytes.
    pub size: u64,
    /// Where it came from first (URL, image reference or imported path).
    pub source: String,
    /// Unix time it was added.
    pub added: u64,
    /// Unix time it was last used.
    pub last_used: u64,
    /// How many times it was used.
    pub uses: u64,
    /// Removed at the next `gc` whatever the limits (policy said not to keep it).
    #[serde(default)]
    pub transient: bool,
    /// The file as it was when its content last hashed to its name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stamp: Option<Stamp>,
}

/// What a content file looked like when it last hashed right. Any write to the file
/// changes its ctime (which no one can set back), so an equal stamp means the bytes
/// checked are the bytes there; a different one means hashing again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Stamp {
    /// Device of the file.
    pub dev: u64,
    /// Its inode.
    pub ino: u64,
    /// Its length.
    pub size: u64,
    /// Modification time (seconds, nanoseconds).
    pub mtime: (i64, i64),
    /// Status change time (seconds, nanoseconds).
    pub ctime: (i64, i64),
}

impl Stamp {
    /// The stamp of `meta`.
    pub fn of(meta: &std::fs::Metadata) -> Stamp {
        Stamp {
            dev: meta.dev(),
            ino: meta.ino(),
            size: meta.len(),
            mtime: (meta.mtime(), meta.mtime_nsec()),
            ctime: (meta.ctime(), meta.ctime_nsec()),
        }
    }
}

/// What a URL served.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UrlEntry {
    /// sha256 of the bytes the URL served.
    pub sha256: String,
    /// Their length.
    pub size: u64,
    /// Other digests of those bytes (algo name → hex), for non-sha256 checksums.
    #[serde(default)]
    pub digests: BTreeMap<String, String>,
}

/// A pulled OCI image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OciEntry {
    /// The linux/arm64 manifest digest.
    pub digest: String,
    /// sha256 of the archive (a content key).
    pub archive_sha256: String,
    /// Archive size.
    pub filesize: u64,
    /// Sum of member sizes.
    pub fullsize: u64,
}

/// `index.json`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Index {
    /// Content metadata by sha256.
    #[serde(default)]
    pub content: BTreeMap<String, ContentEntry>,
    /// URLs to what they served.
    #[serde(default)]
    pub urls: BTreeMap<String, UrlEntry>,
    /// Compressed content sha256 → decompressed content sha256.
    #[serde(default)]
    pub decoded: BTreeMap<String, String>,
    /// OCI references (as written) → archive.
    #[serde(default)]
    pub oci: BTreeMap<String, OciEntry>,
}

/// A deferred index change.
type IndexOp = Box<dyn FnOnce(&mut Index) + Send>;

/// A content-addressed cache directory.
pub struct Cache {
    root: PathBuf,
    policy: Policy,
    use_lock: Option<File>,
    /// Index changes waiting for [`Cache::flush`] while batching (one index write per
    /// run instead of one per file: the index is rewritten whole each time).
    pending: std::sync::Mutex<Option<Vec<IndexOp>>>,
    /// Stamps checked by this process (the index may not have them yet while batching).
    checked: std::sync::Mutex<BTreeMap<String, Stamp>>,
}

impl std::fmt::Debug for Cache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cache").field("root", &self.root).finish()
    }
}

static TMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Seconds since the Unix epoch (cache bookkeeping only; never in outputs).
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn io_err(path: &Path, e: std::io::Error) -> FetchError {
    FetchError::Io {
        path: path.to_path_buf(),
        source: e,
    }
}

/// The result of `cache verify`.
#[derive(Debug, Default)]
pub struct VerifyReport {
    /// Entries whose content hashed right.
    pub ok: usize,
    /// Entries removed because their content was missing or corrupt (sha256, reason).
    pub removed: Vec<(String, String)>,
}

/// The result of `cache gc`.
#[derive(Debug, Default)]
pub struct GcReport {
    /// Removed content (sha256, source, reason).
    pub removed: Vec<(String, String, String)>,
    /// Bytes freed.
    pub freed: u64,
}

/// The result of `cache add` for one file.
#[derive(Debug, Clone)]
pub struct Imported {
    /// sha256 of the file.
    pub sha256: String,
    /// Its size.
    pub size: u64,
    /// Whether it was already in the cache.
    pub already: bool,
}

impl Cache {
    /// The default root: `$XDG_CACHE_HOME/nixspot`, else `~/.cache/nixspot`.
    pub fn default_root() -> PathBuf {
        if let Some(x) = std::env::var_os("XDG_CACHE_HOME").filter(|x| !x.is_empty()) {
            return PathBuf::from(x).join("nixspot");
        }
        let home = std::env::var_os("HOME").unwrap_or_else(|| ".".into());
        PathBuf::from(home).join(".cache").join("nixspot")
    }

    /// Opens (creating) a cache for use: takes the shared use lock for its lifetime.
    pub fn open(root: &Path) -> Result<Cache, FetchError> {
        let mut c = Cache::open_unlocked(root)?;
        let f = c.lock_file(".use.lock")?;
        f.lock_shared()
            .map_err(|e| io_err(&root.join(".use.lock"), e))?;
        c.use_lock = Some(f);
        Ok(c)
    }

    /// Opens a cache for maintenance (`gc`, `clear`): takes the use lock exclusively,
    /// waiting for running fetches to finish.
    pub fn open_exclusive(root: &Path) -> Result<Cache, FetchError> {
        let mut c = Cache::open_unlocked(root)?;
        let f = c.lock_file(".use.lock")?;
        f.lock_exclusive()
            .map_err(|e| io_err(&root.join(".use.lock"), e))?;
        c.use_lock = Some(f);
        Ok(c)
    }

    fn open_unlocked(root: &Path) -> Result<Cache, FetchError> {
        for d in ["content", "tmp"] {
            let p = root.join(d);
            std::fs::create_dir_all(&p).map_err(|e| io_err(&p, e))?;
        }
        let policy = Policy::load(&root.join("policy.yaml")).map_err(FetchError::Policy)?;
        Ok(Cache {
            root: root.to_path_buf(),
            policy,
            use_lock: None,
            pending: std::sync::Mutex::new(None),
            checked: std::sync::Mutex::new(BTreeMap::new()),
        })
    }

    fn lock_file(&self, name: &str) -> Result<File, FetchError> {
        let p = self.root.join(name);
        OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&p)
            .map_err(|e| io_err(&p, e))
    }

    /// The cache root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The policy in force.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Where content with this sha256 lives (whether or not it exists).
    pub fn content_path(&self, sha256: &str) -> PathBuf {
        let prefix = sha256.get(..2).unwrap_or("xx");
        self.root.join("content").join(prefix).join(sha256)
    }

    /// The path of content with this sha256 if it is present and intact: when the
    /// file's [`Stamp`] is not the one recorded after its last check, it is hashed
    /// again; content that no longer hashes to its name is removed (`None`: the caller
    /// fetches it again).
    pub fn lookup(&self, sha256: &str) -> Option<PathBuf> {
        let p = self.content_path(sha256);
        // Not following links: content is only ever a regular file renamed in place.
        let meta = std::fs::symlink_metadata(&p).ok().filter(|m| m.is_file())?;
        let stamp = Stamp::of(&meta);
        let checked = |s: &Stamp| self.checked.lock().is_ok_and(|m| m.get(sha256) == Some(s));
        if checked(&stamp) {
            return Some(p);
        }
        let recorded = self
            .read_index()
            .ok()
            .and_then(|ix| ix.content.get(sha256).and_then(|e| e.stamp.clone()));
        if recorded.as_ref() == Some(&stamp) {
            self.remember(sha256, stamp);
            return Some(p);
        }
        let intact = matches!(sha256_file(&p), Ok((h, n)) if h == sha256 && n == stamp.size);
        // Changed while being hashed: the result says nothing about the bytes now.
        let unchanged = std::fs::symlink_metadata(&p).is_ok_and(|m| Stamp::of(&m) == stamp);
        if !(intact && unchanged) {
            if !intact {
                let _ = self.remove_content(sha256);
            }
            return None;
        }
        self.remember(sha256, stamp.clone());
        let sha = sha256.to_string();
        let _ = self.record(move |ix| {
            if let Some(e) = ix.content.get_mut(&sha) {
                e.stamp = Some(stamp);
            }
        });
        Some(p)
    }

    fn remember(&self, sha256: &str, stamp: Stamp) {
        if let Ok(mut m) = self.checked.lock() {
            m.insert(sha256.to_string(), stamp);
        }
    }

    /// A fresh, unique temp path inside the cache (same filesystem as `content/`).
    pub fn temp_path(&self, hint: &str) -> PathBuf {
        let n = TMP_COUNTER.fetch_add(1, Ordering::Relaxed);
        let safe: String = hint
            .chars()
            .rev()
            .take(40)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '.' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        self.root
            .join("tmp")
            .join(format!("{}-{n}-{safe}.part", std::process::id()))
    }

    /// The per-URL partial file (opened and locked: the returned handle holds the lock)
    /// and its metadata file, or `None` when another process is downloading the same
    /// URL (the caller then uses a private temp file).
    pub fn resumable_part(&self, url: &str) -> Option<(PathBuf, PathBuf, File)> {
        let key = &crate::hash::sha256_hex(url.as_bytes())[..32];
        let tmp = self.root.join("tmp");
        let part = tmp.join(format!("resume-{key}.part"));
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&part)
            .ok()?;
        if !lock.try_lock_exclusive().ok()? {
            return None;
        }
        Some((part, tmp.join(format!("resume-{key}.json")), lock))
    }

    /// Reads the index (shared read under the index lock).
    pub fn read_index(&self) -> Result<Index, FetchError> {
        let lock = self.lock_file(".index.lock")?;
        lock.lock_shared()
            .map_err(|e| io_err(&self.root.join(".index.lock"), e))?;
        self.read_index_unlocked()
    }

    fn read_index_unlocked(&self) -> Result<Index, FetchError> {
        let p = self.root.join("index.json");
        match std::fs::read_to_string(&p) {
            Ok(t) => serde_json::from_str(&t).map_err(|e| FetchError::Index {
                path: p,
                message: format!("line {} column {}: {e}", e.line(), e.column()),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Index::default()),
            Err(e) => Err(io_err(&p, e)),
        }
    }

    /// Read-modify-writes the index under the exclusive index lock; atomic on disk.
    pub fn update_index<T>(&self, f: impl FnOnce(&mut Index) -> T) -> Result<T, FetchError> {
        let lock = self.lock_file(".index.lock")?;
        lock.lock_exclusive()
            .map_err(|e| io_err(&self.root.join(".index.lock"), e))?;
        let mut index = self.read_index_unlocked()?;
        let out = f(&mut index);
        let p = self.root.join("index.json");
        let tmp = self.temp_path("index.json");
        let text = serde_json::to_string_pretty(&index).unwrap_or_default();
        std::fs::write(&tmp, text).map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            io_err(&tmp, e)
        })?;
        std::fs::rename(&tmp, &p).map_err(|e| io_err(&p, e))?;
        Ok(out)
    }

    /// Starts batching index changes until [`Cache::flush`].
    pub fn begin_batch(&self) {
        if let Ok(mut p) = self.pending.lock() {
            p.get_or_insert_with(Vec::new);
        }
    }

    /// Writes batched index changes (one read-modify-write) and stops batching.
    pub fn flush(&self) -> Result<(), FetchError> {
        let ops = self.pending.lock().ok().and_then(|mut p| p.take());
        match ops {
            Some(ops) if !ops.is_empty() => self.update_index(|ix| {
                for op in ops {
                    op(ix);
                }
            }),
            _ => Ok(()),
        }
    }

    /// Applies an index change now, or queues it while batching.
    pub fn record(&self, op: impl FnOnce(&mut Index) + Send + 'static) -> Result<(), FetchError> {
        if let Ok(mut p) = self.pending.lock() {
            if let Some(v) = p.as_mut() {
                v.push(Box::new(op));
                return Ok(());
            }
        }
        self.update_index(op)
    }

    /// Moves a verified temp file into the content store under `sha256` and records
    /// it. If the content is already there the temp file is dropped.
    pub fn commit(
        &self,
        tmp: &Path,
        sha256: &str,
        size: u64,
        kind: Kind,
        source: &str,
    ) -> Result<PathBuf, FetchError> {
        let dest = self.content_path(sha256);
        if self.lookup(sha256).is_some() {
            let _ = std::fs::remove_file(tmp);
            self.touch(sha256, size, kind, source)?;
            return Ok(dest);
        }
        if let Some(d) = dest.parent() {
            std::fs::create_dir_all(d).map_err(|e| io_err(d, e))?;
        }
        // 0444 whatever the source's mode (a copied file keeps it): content is
        // immutable once named by its hash, and never setuid or writable by others.
        std::fs::set_permissions(tmp, std::fs::Permissions::from_mode(0o444))
            .map_err(|e| io_err(tmp, e))?;
        // The caller hashed these bytes: their stamp is taken before they are renamed
        // into place (a rename keeps inode, times and ctime's meaning: no write).
        let stamp = std::fs::symlink_metadata(tmp)
            .map(|m| Stamp::of(&m))
            .map_err(|e| io_err(tmp, e))?;
        std::fs::rename(tmp, &dest).map_err(|e| io_err(&dest, e))?;
        // A rename updates the ctime on some filesystems: stamp what is there now, if
        // nothing but that changed.
        let stamp = match std::fs::symlink_metadata(&dest).map(|m| Stamp::of(&m)) {
            Ok(now)
                if (now.dev, now.ino, now.size, now.mtime)
                    == (stamp.dev, stamp.ino, stamp.size, stamp.mtime) =>
            {
                now
            }
            _ => stamp,
        };
        self.remember(sha256, stamp.clone());
        self.touch(sha256, size, kind, source)?;
        let sha = sha256.to_string();
        self.record(move |ix| {
            if let Some(e) = ix.content.get_mut(&sha) {
                e.stamp = Some(stamp);
            }
        })?;
        Ok(dest)
    }

    /// Marks content as used now (LRU bookkeeping).
    pub fn touch(
        &self,
        sha256: &str,
        size: u64,
        kind: Kind,
        source: &str,
    ) -> Result<(), FetchError> {
        let keep = self.policy.keeps(kind, source);
        let (sha, source) = (sha256.to_string(), source.to_string());
        self.record(move |ix| record_use(ix, &sha, size, kind, &source, keep))
    }

    /// `cache add`: hashes a file and copies it in (content-addressed), so pinned
    /// entries with that sha256 need no network.
    pub fn import(&self, path: &Path) -> Result<Imported, FetchError> {
        let (sha, size) = sha256_file(path).map_err(|e| io_err(path, e))?;
        if self.lookup(&sha).is_some() {
            let source = format!("file:{}", path.display());
            self.touch(&sha, size, Kind::File, &source)?;
            return Ok(Imported {
                sha256: sha,
                size,
                already: true,
            });
        }
        let tmp = self.temp_path("import");
        let copied = std::fs::copy(path, &tmp).map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            io_err(path, e)
        })?;
        // Re-hash the copy: the source may have changed while we read it.
        let (sha2, size2) = sha256_file(&tmp).map_err(|e| io_err(&tmp, e))?;
        if sha2 != sha || size2 != size || copied != size {
            let _ = std::fs::remove_file(&tmp);
            return Err(FetchError::Changed {
                path: path.to_path_buf(),
            });
        }
        // Imported content is kept whatever the filters say: the user asked for it.
        self.commit(
            &tmp,
            &sha,
            size,
            Kind::File,
            &format!("file:{}", path.display()),
        )?;
        self.update_index(|ix| {
            if let Some(e) = ix.content.get_mut(&sha) {
                e.transient = false;
            }
        })?;
        Ok(Imported {
            sha256: sha,
            size,
            already: false,
        })
    }

    /// `cache verify`: re-hashes every entry (and records the stamps of intact ones);
    /// corrupt or missing content is removed together with the index records that
    /// point at it.
    pub fn verify(&self) -> Result<VerifyReport, FetchError> {
        let index = self.read_index()?;
        let mut report = VerifyReport::default();
        let mut bad = Vec::new();
        let mut stamps = Vec::new();
        for (sha, e) in &index.content {
            let p = self.content_path(sha);
            let before = std::fs::symlink_metadata(&p).map(|m| Stamp::of(&m));
            match sha256_file(&p) {
                Ok((h, n)) if h == *sha && n == e.size => {
                    report.ok += 1;
                    let after = std::fs::symlink_metadata(&p).map(|m| Stamp::of(&m));
                    if let (Ok(b), Ok(a)) = (before, after) {
                        if a == b {
                            stamps.push((sha.clone(), a));
                        }
                    }
                }
                Ok((h, n)) => bad.push((sha.clone(), format!("content hashes to {h} ({n} bytes)"))),
                Err(err) => bad.push((sha.clone(), format!("unreadable: {err}"))),
            }
        }
        self.update_index(|ix| {
            for (sha, stamp) in stamps {
                if let Some(e) = ix.content.get_mut(&sha) {
                    e.stamp = Some(stamp);
                }
            }
        })?;
        for (sha, why) in bad {
            self.remove_content(&sha)?;
            report.removed.push((sha, why));
        }
        Ok(report)
    }

    fn remove_content(&self, sha: &str) -> Result<u64, FetchError> {
        let p = self.content_path(sha);
        let size = std::fs::metadata(&p).map_or(0, |m| m.len());
        match std::fs::remove_file(&p) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_err(&p, e)),
        }
        self.update_index(|ix| forget(ix, sha))?;
        Ok(size)
    }

    /// `cache gc`: removes transient entries, orphans and stale temp files, then applies
    /// the policy's age and size limits. Needs [`Cache::open_exclusive`].
    pub fn gc(&self) -> Result<GcReport, FetchError> {
        let mut report = GcReport::default();
        let index = self.read_index()?;
        let now = now();
        let mut doomed: BTreeMap<String, String> = BTreeMap::new();
        for (sha, e) in &index.content {
            if e.transient || !self.content_path(sha).is_file() {
                doomed.insert(sha.clone(), "not kept by policy".into());
            } else if let Some(age) = self.policy.max_age(e.kind, &e.source) {
                if now.saturating_sub(e.added) > age {
                    doomed.insert(sha.clone(), format!("older than {age}s"));
                }
            }
        }
        let sized = |kind: Option<Kind>, doomed: &mut BTreeMap<String, String>| {
            let limit = self.policy.max_size(kind);
            if limit == 0 {
                return;
            }
            let mut live: Vec<(&String, &ContentEntry)> = index
                .content
                .iter()
                .filter(|(s, e)| !doomed.contains_key(*s) && kind.is_none_or(|k| e.kind == k))
                .collect();
            let mut total: u64 = live.iter().map(|(_, e)| e.size).sum();
            match self.policy.eviction(kind) {
                Eviction::Lru => live.sort_by_key(|(s, e)| (e.last_used, *s)),
                Eviction::Oldest => live.sort_by_key(|(s, e)| (e.added, *s)),
                Eviction::Newest => live.sort_by_key(|(s, e)| (u64::MAX - e.added, *s)),
                Eviction::Largest => live.sort_by_key(|(s, e)| (u64::MAX - e.size, *s)),
                Eviction::Smallest => live.sort_by_key(|(s, e)| (e.size, *s)),
            }
            for (s, e) in live {
                if total <= limit {
                    break;
                }
                total -= e.size;
                doomed.insert(s.clone(), format!("over the size limit of {limit} bytes"));
            }
        };
        sized(Some(Kind::File), &mut doomed);
        sized(Some(Kind::Oci), &mut doomed);
        sized(None, &mut doomed);
        for (sha, why) in doomed {
            let source = index
                .content
                .get(&sha)
                .map(|e| e.source.clone())
                .unwrap_or_default();
            report.freed += self.remove_content(&sha)?;
            report.removed.push((sha, source, why));
        }
        // Orphans: content files with no index entry (e.g. a crash between rename
        // and index update), and temp files of dead processes (we hold the use lock
        // exclusively, so no live process owns one).
        let index = self.read_index()?;
        let content_dir = self.root.join("content");
        for sub in read_dir_paths(&content_dir)? {
            for f in read_dir_paths(&sub)? {
                let name = f.file_name().map(|n| n.to_string_lossy().into_owned());
                if name.as_ref().is_none_or(|n| !index.content.contains_key(n)) {
                    report.freed += std::fs::metadata(&f).map_or(0, |m| m.len());
                    std::fs::remove_file(&f).map_err(|e| io_err(&f, e))?;
                    report
                        .removed
                        .push((name.unwrap_or_default(), String::new(), "orphan".into()));
                }
            }
        }
        for f in read_dir_paths(&self.root.join("tmp"))? {
            let _ = std::fs::remove_file(&f).or_else(|_| std::fs::remove_dir_all(&f));
        }
        Ok(report)
    }

    /// `cache clear`: removes all content and the index (keeps `policy.yaml`).
    pub fn clear(&self) -> Result<(), FetchError> {
        for d in ["content", "tmp"] {
            let p = self.root.join(d);
            std::fs::remove_dir_all(&p).map_err(|e| io_err(&p, e))?;
            std::fs::create_dir_all(&p).map_err(|e| io_err(&p, e))?;
        }
        let p = self.root.join("index.json");
        match std::fs::remove_file(&p) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io_err(&p, e)),
            _ => Ok(()),
        }
    }
}

fn read_dir_paths(dir: &Path) -> Result<Vec<PathBuf>, FetchError> {
    let rd = match std::fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_err(dir, e)),
    };
    let mut v: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
    v.sort();
    Ok(v)
}

fn record_use(ix: &mut Index, sha: &str, size: u64, kind: Kind, source: &str, keep: bool) {
    let t = now();
    let e = ix
        .content
        .entry(sha.to_string())
        .or_insert_with(|| ContentEntry {
            kind,
            size,
            source: source.to_string(),
            added: t,
            last_used: t,
            uses: 0,
            transient: !keep,
            stamp: None,
        });
    e.last_used = t;
    e.uses += 1;
    if keep {
        e.transient = false;
    }
}

fn forget(ix: &mut Index, sha: &str) {
    ix.content.remove(sha);
    ix.urls.retain(|_, u| u.sha256 != sha);
    ix.decoded.retain(|k, v| k != sha && v != sha);
    ix.oci.retain(|_, o| o.archive_sha256 != sha);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_root_follows_xdg_then_home() {
        // The only test in this binary that touches these variables.
        let (xdg, home) = (std::env::var_os("XDG_CACHE_HOME"), std::env::var_os("HOME"));
        std::env::set_var("XDG_CACHE_HOME", "/x/cache");
        assert_eq!(Cache::default_root(), PathBuf::from("/x/cache/nixspot"));
        std::env::set_var("XDG_CACHE_HOME", "");
        std::env::set_var("HOME", "/home/u");
        assert_eq!(
            Cache::default_root(),
            PathBuf::from("/home/u/.cache/nixspot")
        );
        for (k, v) in [("XDG_CACHE_HOME", xdg), ("HOME", home)] {
            match v {
                Some(v) => std::env::set_var(k, v),
                None => std::env::remove_var(k),
            }
        }
    }
}
