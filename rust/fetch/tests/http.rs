//! Downloads against a misbehaving loopback server: every case checks the outcome and
//! that the cache holds no bad file.

mod common;

use common::{bytes, files_under, sha256, Reply, Server};
use nixspot_fetch::{Cache, FetchError, Fetched, Fetcher, Options, ProgressMode};
use nixspot_recipe::{Lock, Recipe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

const ZIM: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/fixtures/zim/withns_wikibooks_be_all_nopic_2017-02.zim"
);
const ZIM_PATH: &str =
    "/openzim/zim-testing-suite/raw/v0.5/data/withns/wikibooks_be_all_nopic_2017-02.zim";
const ZIM_SHA: &str = "99465e14effc7f951e9c017b4b3cee91967eb49c556d9f4f0d674adbe80d78c2";
const ZIM_SIZE: u64 = 152865;

struct Env {
    dir: tempfile::TempDir,
    base: PathBuf,
}

impl Env {
    fn new() -> Env {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().join("base.img");
        std::fs::write(&base, b"base image bytes").unwrap();
        Env { dir, base }
    }
    fn cache_dir(&self) -> PathBuf {
        self.dir.path().join("cache")
    }
    fn opts(&self) -> Options {
        Options {
            retries: 3,
            retry_base: Duration::from_millis(20),
            read_timeout: Duration::from_secs(2),
            progress: ProgressMode::Quiet,
            base_dir: self.dir.path().to_path_buf(),
            ..Options::default()
        }
    }
    fn fetcher(&self, opts: Options) -> Fetcher {
        Fetcher::new(Cache::open(&self.cache_dir()).unwrap(), opts).unwrap()
    }
    fn recipe(&self, files: &str) -> Recipe {
        let y = format!(
            "base: {{source: 'file://{}', rootfs_size: 1000}}\nfiles:\n{files}",
            self.base.display()
        );
        Recipe::from_yaml_str(&y, "test.yaml").unwrap()
    }
    async fn fetch(&self, files: &str) -> Result<Fetched, FetchError> {
        self.fetcher(self.opts())
            .fetch_recipe(&self.recipe(files))
            .await
    }
    /// The cache holds only verified content: nothing in tmp but resumable partial
    /// downloads (with their metadata), every content file hashes to its name.
    fn assert_cache_clean(&self) {
        let tmp: Vec<PathBuf> = files_under(&self.cache_dir().join("tmp"))
            .into_iter()
            .filter(|p| !self.resumable(p))
            .collect();
        assert!(tmp.is_empty(), "temp files left: {tmp:?}");
        for f in files_under(&self.cache_dir().join("content")) {
            let data = std::fs::read(&f).unwrap();
            assert_eq!(
                sha256(&data),
                f.file_name().unwrap().to_str().unwrap(),
                "{f:?} does not match its name"
            );
        }
    }
    /// A partial download kept for the next run, with its metadata beside it.
    fn resumable(&self, p: &Path) -> bool {
        let name = p.file_name().unwrap().to_str().unwrap();
        name.starts_with("resume-")
            && (name.ends_with(".json") || p.with_extension("json").is_file())
    }
    fn parts(&self) -> Vec<PathBuf> {
        files_under(&self.cache_dir().join("tmp"))
            .into_iter()
            .filter(|p| p.extension().is_some_and(|e| e == "part"))
            .collect()
    }
    fn content_count(&self) -> usize {
        files_under(&self.cache_dir().join("content")).len()
    }
}

fn file_entry(url: &str, extra: &str) -> String {
    format!("- {{to: /data/f, url: '{url}'{extra}}}\n")
}

#[tokio::test]
async fn real_zim_fixture_pinned_and_fetched_once() {
    let env = Env::new();
    let zim = std::fs::read(ZIM).unwrap();
    assert_eq!(sha256(&zim), ZIM_SHA, "fixture README and file agree");
    let z = zim.clone();
    let srv = Server::start(move |r| {
        if r.path == ZIM_PATH {
            Reply::ok(z.clone())
        } else {
            Reply::status(404)
        }
    })
    .await;
    let entry = file_entry(
        &srv.url(ZIM_PATH),
        &format!(", size: {ZIM_SIZE}, checksum: {{algo: sha-256, value: {ZIM_SHA}}}"),
    );
    let got = env.fetch(&entry).await.unwrap();
    let f = got.files[0].as_ref().unwrap();
    assert_eq!(std::fs::read(&f.path).unwrap(), zim);
    assert_eq!((f.sha256.as_str(), f.size), (ZIM_SHA, ZIM_SIZE));
    assert_eq!(got.base.size, 16);
    // Nothing is fetched twice.
    env.fetch(&entry).await.unwrap();
    assert_eq!(srv.count(ZIM_PATH), 1);
    // An unpinned recipe for the same URL reuses the index too.
    env.fetch(&file_entry(&srv.url(ZIM_PATH), ""))
        .await
        .unwrap();
    assert_eq!(srv.count(ZIM_PATH), 1);
    env.assert_cache_clean();
}

#[tokio::test]
async fn slow_server_still_completes() {
    let env = Env::new();
    let data = bytes(200_000, 1);
    let d = data.clone();
    let srv = Server::start(move |_| Reply {
        chunk_delay: Some(Duration::from_millis(20)),
        ..Reply::ok(d.clone())
    })
    .await;
    let got = env.fetch(&file_entry(&srv.url("/slow"), "")).await.unwrap();
    assert_eq!(
        std::fs::read(&got.files[0].as_ref().unwrap().path).unwrap(),
        data
    );
    env.assert_cache_clean();
}

#[tokio::test]
async fn stalled_server_times_out_then_resumes() {
    let env = Env::new();
    let data = bytes(100_000, 2);
    let d = data.clone();
    let n = Arc::new(AtomicUsize::new(0));
    let n2 = n.clone();
    let srv = Server::start(move |_| {
        if n2.fetch_add(1, Ordering::SeqCst) == 0 {
            // First answer: half the body, then silence longer than the read timeout.
            Reply {
                cut_after: Some(50_000),
                head_delay: None,
                chunk_delay: Some(Duration::from_secs(1)),
                ..Reply::ok(d.clone())
            }
        } else {
            Reply::ok(d.clone())
        }
    })
    .await;
    let mut opts = env.opts();
    opts.read_timeout = Duration::from_millis(500);
    let got = env
        .fetcher(opts)
        .fetch_recipe(&env.recipe(&file_entry(&srv.url("/stall"), "")))
        .await
        .unwrap();
    assert_eq!(
        std::fs::read(&got.files[0].as_ref().unwrap().path).unwrap(),
        data
    );
    assert!(n.load(Ordering::SeqCst) >= 2);
    env.assert_cache_clean();
}

#[tokio::test]
async fn cut_mid_file_resumes_with_range() {
    let env = Env::new();
    let data = bytes(300_000, 3);
    let d = data.clone();
    let n = Arc::new(AtomicUsize::new(0));
    let n2 = n.clone();
    let srv = Server::start(move |_| {
        let mut r = Reply::ok(d.clone()).header("ETag", "\"v1\"");
        if n2.fetch_add(1, Ordering::SeqCst) == 0 {
            r.cut_after = Some(120_000);
        }
        r
    })
    .await;
    let sha = sha256(&data);
    let got = env
        .fetch(&file_entry(
            &srv.url("/cut"),
            &format!(", size: 300000, checksum: {{algo: sha256, value: {sha}}}"),
        ))
        .await
        .unwrap();
    assert_eq!(got.files[0].as_ref().unwrap().sha256, sha);
    let reqs = srv.requests();
    assert_eq!(reqs.len(), 2);
    let range = reqs[1].header("range").unwrap();
    let start: u64 = range
        .trim_start_matches("bytes=")
        .trim_end_matches('-')
        .parse()
        .unwrap();
    assert!(start > 0 && start <= 120_000, "resumed from {start}");
    assert_eq!(reqs[1].header("if-range"), Some("\"v1\""));
    env.assert_cache_clean();
}

#[tokio::test]
async fn a_later_run_resumes_a_cut_download() {
    let env = Env::new();
    let data = bytes(400_000, 14);
    let data2 = bytes(400_000, 15);
    let (d, d2) = (data.clone(), data2.clone());
    let version = Arc::new(AtomicUsize::new(1));
    let healthy = Arc::new(AtomicUsize::new(0));
    let (v2, h2) = (version.clone(), healthy.clone());
    let srv = Server::start(move |_| {
        let v = v2.load(Ordering::SeqCst);
        let body = if v == 1 { d.clone() } else { d2.clone() };
        let mut r = Reply::ok(body).header("ETag", &format!("\"v{v}\""));
        if h2.load(Ordering::SeqCst) == 0 {
            r.cut_after = Some(150_000);
        }
        r
    })
    .await;
    let entry = file_entry(&srv.url("/big.zim"), "");
    let mut opts = env.opts();
    opts.retries = 0;
    // Run 1: cut, gives up; the partial file and its validator stay in tmp/.
    let err = env
        .fetcher(opts.clone())
        .fetch_recipe(&env.recipe(&entry))
        .await
        .unwrap_err();
    assert!(matches!(err, FetchError::Http { .. }), "{err}");
    let parts = env.parts();
    assert_eq!(parts.len(), 1);
    assert_eq!(std::fs::metadata(&parts[0]).unwrap().len(), 150_000);
    env.assert_cache_clean();
    assert_eq!(env.content_count(), 1, "only the base");
    // Run 2: resumes from byte 150000 with If-Range.
    healthy.store(1, Ordering::SeqCst);
    let got = env
        .fetcher(opts.clone())
        .fetch_recipe(&env.recipe(&entry))
        .await
        .unwrap();
    assert_eq!(
        std::fs::read(&got.files[0].as_ref().unwrap().path).unwrap(),
        data
    );
    let last = srv.requests().pop().unwrap();
    assert_eq!(last.header("range"), Some("bytes=150000-"));
    assert_eq!(last.header("if-range"), Some("\"v1\""));
    assert!(env.parts().is_empty());
    env.assert_cache_clean();
    // A part whose validator no longer matches is restarted, not spliced.
    healthy.store(0, Ordering::SeqCst);
    let entry = file_entry(&srv.url("/other.zim"), "");
    env.fetcher(opts.clone())
        .fetch_recipe(&env.recipe(&entry))
        .await
        .unwrap_err();
    version.store(2, Ordering::SeqCst);
    healthy.store(1, Ordering::SeqCst);
    let got = env
        .fetcher(opts)
        .fetch_recipe(&env.recipe(&entry))
        .await
        .unwrap();
    assert_eq!(
        std::fs::read(&got.files[0].as_ref().unwrap().path).unwrap(),
        data2
    );
    env.assert_cache_clean();
}

#[tokio::test]
async fn server_refusing_range_restarts_from_zero() {
    let env = Env::new();
    let data = bytes(200_000, 4);
    let d = data.clone();
    let n = Arc::new(AtomicUsize::new(0));
    let n2 = n.clone();
    let srv = Server::start(move |_| {
        let mut r = Reply::ok(d.clone());
        r.ranges = false;
        if n2.fetch_add(1, Ordering::SeqCst) == 0 {
            r.cut_after = Some(70_000);
        }
        r
    })
    .await;
    let sha = sha256(&data);
    let got = env
        .fetch(&file_entry(
            &srv.url("/norange"),
            &format!(", checksum: {{algo: sha256, value: {sha}}}"),
        ))
        .await
        .unwrap();
    let f = got.files[0].as_ref().unwrap();
    assert_eq!(std::fs::read(&f.path).unwrap(), data);
    assert!(
        srv.requests()[1].header("range").is_some(),
        "a range was asked for"
    );
    env.assert_cache_clean();
}

#[tokio::test]
async fn content_length_lies() {
    let env = Env::new();
    let data = bytes(50_000, 5);
    // Claims more than it sends, every time: retries, then a clear failure.
    let d = data.clone();
    let srv = Server::start(move |_| Reply {
        content_length: Some(80_000),
        ..Reply::ok(d.clone())
    })
    .await;
    let err = env
        .fetch(&file_entry(&srv.url("/long"), ""))
        .await
        .unwrap_err();
    assert!(matches!(err, FetchError::Http { .. }), "{err}");
    assert!(err.to_string().contains("/long"), "{err}");
    assert_eq!(srv.count("/long"), 4, "one try and 3 retries");
    assert_eq!(env.content_count(), 1, "only the base image is cached");
    env.assert_cache_clean();
    // With a declared size, a wrong Content-Length fails at once.
    let err = env
        .fetch(&file_entry(&srv.url("/long2"), ", size: 50000"))
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("expected 50000 bytes, got 80000"),
        "{err}"
    );
    assert_eq!(srv.count("/long2"), 1);
    // Claims less than the real body: the pin catches the truncation.
    let d = data.clone();
    let srv2 = Server::start(move |_| Reply {
        content_length: Some(40_000),
        ..Reply::ok(d.clone())
    })
    .await;
    let sha = sha256(&data);
    let err = env
        .fetch(&file_entry(
            &srv2.url("/short"),
            &format!(", checksum: {{algo: sha256, value: {sha}}}"),
        ))
        .await
        .unwrap_err();
    assert!(matches!(err, FetchError::HashMismatch { .. }), "{err}");
    env.assert_cache_clean();
    assert_eq!(env.content_count(), 1);
}

#[tokio::test]
async fn wrong_bytes_is_a_hash_mismatch_and_nothing_is_cached() {
    let env = Env::new();
    let srv = Server::start(|_| Reply::ok(bytes(10_000, 6))).await;
    let want = sha256(&bytes(10_000, 7));
    let err = env
        .fetch(&file_entry(
            &srv.url("/evil.zim"),
            &format!(", size: 10000, checksum: {{algo: sha-256, value: {want}}}"),
        ))
        .await
        .unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains(&srv.url("/evil.zim")), "{msg}");
    assert!(msg.contains(&format!("expected {want}")), "{msg}");
    assert!(msg.contains(&sha256(&bytes(10_000, 6))), "{msg}");
    assert_eq!(srv.count("/evil.zim"), 1, "a mismatch is not retried");
    assert_eq!(env.content_count(), 1);
    env.assert_cache_clean();
    let idx = std::fs::read_to_string(env.cache_dir().join("index.json")).unwrap();
    assert!(!idx.contains("evil.zim"), "no index entry for bad content");
    // md5 and sha1 mismatches too.
    let err = env
        .fetch(&file_entry(
            &srv.url("/evil2"),
            &format!(", checksum: {{algo: md5, value: {}}}", "0".repeat(32)),
        ))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("md5 mismatch"), "{err}");
    env.assert_cache_clean();
}

#[tokio::test]
async fn not_found_is_not_retried() {
    let env = Env::new();
    let srv = Server::start(|_| Reply::status(404)).await;
    let err = env
        .fetch(&file_entry(&srv.url("/missing"), ""))
        .await
        .unwrap_err();
    assert!(
        matches!(err, FetchError::Status { status: 404, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("/missing: HTTP 404"), "{err}");
    assert_eq!(srv.count("/missing"), 1);
    env.assert_cache_clean();
}

#[tokio::test]
async fn server_error_then_ok_and_429_retry_after() {
    let env = Env::new();
    let data = bytes(20_000, 8);
    let d = data.clone();
    let n = Arc::new(AtomicUsize::new(0));
    let n2 = n.clone();
    let srv = Server::start(move |r| {
        let k = n2.fetch_add(1, Ordering::SeqCst);
        match (r.path.as_str(), k) {
            ("/flaky", 0) => Reply::status(500),
            ("/flaky", 1) => Reply::status(503),
            ("/busy", _) if k < 4 => Reply::status(429).header("Retry-After", "1"),
            _ => Reply::ok(d.clone()),
        }
    })
    .await;
    let got = env
        .fetch(&file_entry(&srv.url("/flaky"), ""))
        .await
        .unwrap();
    assert_eq!(
        std::fs::read(&got.files[0].as_ref().unwrap().path).unwrap(),
        data
    );
    assert_eq!(srv.count("/flaky"), 3);
    let got = env.fetch(&file_entry(&srv.url("/busy"), "")).await.unwrap();
    assert_eq!(got.files[0].as_ref().unwrap().size, 20_000);
    assert_eq!(
        srv.count("/busy"),
        2,
        "429 once (Retry-After honoured), then OK"
    );
    // Always 500: gives up after the retries, nothing cached.
    let srv = Server::start(|_| Reply::status(500)).await;
    let err = env
        .fetch(&file_entry(&srv.url("/down"), ""))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("gave up after 3 retries"), "{err}");
    assert_eq!(srv.count("/down"), 4);
    env.assert_cache_clean();
}

#[tokio::test]
async fn redirects_are_followed() {
    let env = Env::new();
    let data = bytes(5_000, 9);
    let d = data.clone();
    let srv = Server::start(move |r| match r.path.as_str() {
        "/old" => Reply::status(302).header("Location", "/new"),
        "/new" => Reply::ok(d.clone()),
        _ => Reply::status(404),
    })
    .await;
    let got = env.fetch(&file_entry(&srv.url("/old"), "")).await.unwrap();
    assert_eq!(
        std::fs::read(&got.files[0].as_ref().unwrap().path).unwrap(),
        data
    );
    assert_eq!((srv.count("/old"), srv.count("/new")), (1, 1));
}

#[tokio::test]
async fn mirrorbrain_digest_url() {
    let env = Env::new();
    let data = bytes(30_000, 10);
    let md5 = {
        use md5::Digest;
        hex::encode(md5::Md5::digest(&data))
    };
    let d = data.clone();
    let m = md5.clone();
    let srv = Server::start(move |r| match r.path.as_str() {
        "/a.zim" => Reply::ok(d.clone()),
        "/a.zim.md5" => Reply::ok(format!("{m}  a.zim\n")),
        "/bad.md5" => Reply::ok(format!("{}  a.zim\n", "1".repeat(32))),
        "/junk.md5" => Reply::ok("<html>not a digest</html>"),
        _ => Reply::status(404),
    })
    .await;
    let ck = |u: &str| {
        format!(
            ", checksum: {{algo: md5, kind: url, value: '{}'}}",
            srv.url(u)
        )
    };
    let got = env
        .fetch(&file_entry(&srv.url("/a.zim"), &ck("/a.zim.md5")))
        .await
        .unwrap();
    assert_eq!(got.files[0].as_ref().unwrap().size, 30_000);
    // Cached: the digest URL is read again, the content is not.
    env.fetch(&file_entry(&srv.url("/a.zim"), &ck("/a.zim.md5")))
        .await
        .unwrap();
    assert_eq!((srv.count("/a.zim"), srv.count("/a.zim.md5")), (1, 2));
    let err = env
        .fetch(&file_entry(&srv.url("/a.zim"), &ck("/bad.md5")))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("md5 mismatch"), "{err}");
    assert_eq!(
        srv.count("/a.zim"),
        2,
        "cached digest differs: downloaded again and refused"
    );
    let err = env
        .fetch(&file_entry(&srv.url("/a.zim"), &ck("/junk.md5")))
        .await
        .unwrap_err();
    assert!(matches!(err, FetchError::DigestFile { .. }), "{err}");
    env.assert_cache_clean();
}

fn compress(kind: &str, data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    match kind {
        "xz" => {
            let mut e = xz2::write::XzEncoder::new(Vec::new(), 1);
            e.write_all(data).unwrap();
            e.finish().unwrap()
        }
        "gz" => {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(data).unwrap();
            e.finish().unwrap()
        }
        _ => zstd::encode_all(data, 1).unwrap(),
    }
}

#[tokio::test]
async fn compressed_base_images_are_decompressed_on_the_fly() {
    let env = Env::new();
    let image = bytes(1 << 20, 11);
    let mut bodies = std::collections::BTreeMap::new();
    for k in ["xz", "gz", "zst"] {
        bodies.insert(format!("/base.img.{k}"), compress(k, &image));
    }
    let b2 = bodies.clone();
    let n = Arc::new(AtomicUsize::new(0));
    let n2 = n.clone();
    let srv = Server::start(move |r| match b2.get(&r.path) {
        Some(b) => {
            let mut rep = Reply::ok(b.clone());
            // Cut the first xz answer: resume must feed the same decoder.
            if r.path.ends_with(".xz") && n2.fetch_add(1, Ordering::SeqCst) == 0 {
                rep.cut_after = Some(b.len() / 2);
            }
            rep
        }
        None => Reply::status(404),
    })
    .await;
    for (path, body) in &bodies {
        let y = format!(
            "base: {{source: '{}', rootfs_size: 1000, checksum: {{algo: sha256, value: {}}}}}\n",
            srv.url(path),
            sha256(body)
        );
        let recipe = Recipe::from_yaml_str(&y, "r").unwrap();
        let got = env.fetcher(env.opts()).fetch_recipe(&recipe).await.unwrap();
        assert_eq!(std::fs::read(&got.base.path).unwrap(), image, "{path}");
        assert_eq!(got.base.source_sha256, sha256(body));
        assert_eq!(got.base.sha256, sha256(&image));
        let lock = nixspot_fetch::lock_from(&recipe, &got);
        assert_eq!(lock.files[&srv.url(path)].size, body.len() as u64);
    }
    // Corrupt compressed data: a clear error, nothing cached.
    let mut bad = bodies["/base.img.xz"].clone();
    let mid = bad.len() / 2;
    bad[mid] ^= 0xff;
    let srv2 = Server::start(move |_| Reply::ok(bad.clone())).await;
    let y = format!(
        "base: {{source: '{}', rootfs_size: 1}}\n",
        srv2.url("/x.img.xz")
    );
    let err = env
        .fetcher(env.opts())
        .fetch_recipe(&Recipe::from_yaml_str(&y, "r").unwrap())
        .await
        .unwrap_err();
    assert!(matches!(err, FetchError::Decompress { .. }), "{err}");
    env.assert_cache_clean();
}

#[tokio::test]
async fn local_paths_and_file_urls() {
    let env = Env::new();
    let p = env.dir.path().join("local.bin");
    std::fs::write(&p, b"local content").unwrap();
    let files = format!(
        "- {{to: /data/a, url: 'file://{}'}}\n- {{to: /data/b, url: local.bin}}\n",
        p.display()
    );
    let got = env.fetch(&files).await.unwrap();
    for f in &got.files {
        assert_eq!(
            std::fs::read(&f.as_ref().unwrap().path).unwrap(),
            b"local content"
        );
    }
    let err = env
        .fetch("- {to: /data/a, url: missing.bin}\n")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("missing.bin"), "{err}");
    env.assert_cache_clean();
}

#[tokio::test]
async fn cache_add_then_offline_fetch_needs_no_server() {
    let env = Env::new();
    let cache = Cache::open(&env.cache_dir()).unwrap();
    let imp = cache.import(Path::new(ZIM)).unwrap();
    assert_eq!(
        (imp.sha256.as_str(), imp.size, imp.already),
        (ZIM_SHA, ZIM_SIZE, false)
    );
    assert!(cache.import(Path::new(ZIM)).unwrap().already);
    drop(cache);
    // Port 9 on loopback: nothing listens; offline must not even try.
    let entry = format!(
        "- {{to: /data/w.zim, url: 'http://127.0.0.1:9{ZIM_PATH}', size: {ZIM_SIZE}, \
         checksum: {{algo: sha256, kind: digest, value: {ZIM_SHA}}}}}\n"
    );
    let mut opts = env.opts();
    opts.offline = true;
    opts.locked = true;
    let mut recipe = env.recipe(&entry);
    let base_sha = sha256(b"base image bytes");
    recipe.base.checksum = Some(nixspot_recipe::Checksum::sha256(&base_sha));
    let got = env
        .fetcher(opts.clone())
        .fetch_recipe(&recipe)
        .await
        .unwrap();
    assert_eq!(got.files[0].as_ref().unwrap().sha256, ZIM_SHA);
    // Unpinned content offline: a clear refusal.
    let err = env
        .fetcher(Options {
            locked: false,
            ..opts
        })
        .fetch_recipe(&env.recipe("- {to: /data/x, url: 'http://127.0.0.1:9/x'}\n"))
        .await
        .unwrap_err();
    assert!(matches!(err, FetchError::Offline { .. }), "{err}");
    env.assert_cache_clean();
}

#[tokio::test]
async fn locked_refuses_unpinned_and_lock_pins_everything() {
    let env = Env::new();
    let data = bytes(4096, 12);
    let d = data.clone();
    let srv = Server::start(move |_| Reply::ok(d.clone())).await;
    let files = format!(
        "{}- {{to: /data/g, url: '{}', via: tar, size: 99}}\n- {{to: /data/c, content: hi}}\n",
        file_entry(&srv.url("/f"), ""),
        srv.url("/g.tar")
    );
    let recipe = env.recipe(&files);
    let mut opts = env.opts();
    opts.locked = true;
    let err = env
        .fetcher(opts.clone())
        .fetch_recipe(&recipe)
        .await
        .unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("3 not pinned"), "{msg}");
    assert!(msg.contains("base (file://"), "{msg}");
    assert!(
        msg.contains(&format!(
            "files[0] ({}): no sha256 checksum and exact size",
            srv.url("/f")
        )),
        "{msg}"
    );
    assert!(msg.contains("files[1]"), "{msg}");
    assert!(srv.requests().is_empty(), "refused before any download");
    // Lock, save, reload, apply: now --locked passes.
    let got = env.fetcher(env.opts()).fetch_recipe(&recipe).await.unwrap();
    assert!(got.files[2].is_none(), "inline content is not fetched");
    let lock = nixspot_fetch::lock_from(&recipe, &got);
    let lock_path = env.dir.path().join("test.lock.json");
    lock.save(&lock_path).unwrap();
    let text = std::fs::read_to_string(&lock_path).unwrap();
    assert!(
        text.contains(&format!("\"sha256\": \"{}\"", sha256(&data))),
        "{text}"
    );
    let lock2 = Lock::load(&lock_path).unwrap();
    assert_eq!(lock2, lock);
    let mut pinned = recipe.clone();
    pinned.apply_lock(&lock2);
    assert!(pinned.unpinned().is_empty());
    env.fetcher(opts).fetch_recipe(&pinned).await.unwrap();
}

#[tokio::test]
async fn many_files_concurrently() {
    let env = Env::new();
    let srv = Server::start(|r| {
        let n: u64 = r.path.trim_start_matches("/f").parse().unwrap_or(0);
        Reply {
            chunk_delay: Some(Duration::from_millis(5)),
            ..Reply::ok(bytes(40_000, n))
        }
    })
    .await;
    let files: String = (0..24)
        .map(|i| {
            format!(
                "- {{to: /data/f{i}, url: '{}'}}\n",
                srv.url(&format!("/f{i}"))
            )
        })
        .collect();
    let got = env.fetch(&files).await.unwrap();
    for (i, f) in got.files.iter().enumerate() {
        assert_eq!(f.as_ref().unwrap().sha256, sha256(&bytes(40_000, i as u64)));
    }
    assert_eq!(srv.requests().len(), 24);
    env.assert_cache_clean();
}

#[tokio::test]
async fn two_caches_on_one_directory_do_not_corrupt_it() {
    let env = Env::new();
    let srv = Server::start(|r| Reply::ok(bytes(100_000, r.path.len() as u64))).await;
    let files: String = (0..6)
        .map(|i| {
            format!(
                "- {{to: /data/f{i}, url: '{}'}}\n",
                srv.url(&"/x".repeat(i + 1))
            )
        })
        .collect();
    let r1 = env.recipe(&files);
    let r2 = r1.clone();
    let (f1, f2) = (env.fetcher(env.opts()), env.fetcher(env.opts()));
    let (a, b) = tokio::join!(f1.fetch_recipe(&r1), f2.fetch_recipe(&r2));
    let (a, b) = (a.unwrap(), b.unwrap());
    for (x, y) in a.files.iter().zip(&b.files) {
        assert_eq!(x.as_ref().unwrap().path, y.as_ref().unwrap().path);
    }
    let index = f1.cache().read_index().unwrap();
    assert_eq!(index.urls.len(), 6);
    env.assert_cache_clean();
}

#[tokio::test]
async fn verify_gc_and_clear() {
    let env = Env::new();
    let srv = Server::start(|r| Reply::ok(bytes(10_000, r.path.len() as u64))).await;
    let files = format!(
        "{}- {{to: /data/g, url: '{}'}}\n",
        file_entry(&srv.url("/a"), ""),
        srv.url("/bb")
    );
    let got = env.fetch(&files).await.unwrap();
    let cache = Cache::open_exclusive(&env.cache_dir()).unwrap();
    // Corrupt one entry behind the cache's back.
    let victim = got.files[0].as_ref().unwrap().path.clone();
    let mut perm = std::fs::metadata(&victim).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perm.set_readonly(false);
    std::fs::set_permissions(&victim, perm).unwrap();
    std::fs::write(&victim, b"rotten").unwrap();
    let report = cache.verify().unwrap();
    assert_eq!(report.removed.len(), 1);
    assert_eq!(report.ok, 2);
    assert!(!victim.exists());
    assert!(!cache
        .read_index()
        .unwrap()
        .urls
        .contains_key(&srv.url("/a")));
    // Size limit below the 10 016 bytes left: the largest entry goes.
    std::fs::write(
        env.cache_dir().join("policy.yaml"),
        "max_size: 10010\neviction: largest\n",
    )
    .unwrap();
    drop(cache);
    let cache = Cache::open_exclusive(&env.cache_dir()).unwrap();
    std::fs::write(env.cache_dir().join("tmp").join("stale.part"), b"x").unwrap();
    let gc = cache.gc().unwrap();
    assert_eq!(gc.removed.len(), 1, "{:?}", gc.removed);
    assert_eq!(gc.freed, 10_000);
    assert!(files_under(&env.cache_dir().join("tmp")).is_empty());
    cache.clear().unwrap();
    assert_eq!(env.content_count(), 0);
    assert!(cache.read_index().unwrap().content.is_empty());
}

#[tokio::test]
async fn policy_filters_make_entries_transient() {
    let env = Env::new();
    std::fs::create_dir_all(env.cache_dir()).unwrap();
    std::fs::write(
        env.cache_dir().join("policy.yaml"),
        "files:\n  filters:\n  - {pattern: 'NIGHTLY', ignore: true}\n",
    )
    .unwrap();
    let srv = Server::start(|r| Reply::ok(bytes(1000, r.path.len() as u64))).await;
    let files = format!(
        "{}- {{to: /data/g, url: '{}'}}\n",
        file_entry(&srv.url("/nightly/a"), ""),
        srv.url("/b")
    );
    env.fetch(&files).await.unwrap();
    let cache = Cache::open_exclusive(&env.cache_dir()).unwrap();
    let gc = cache.gc().unwrap();
    assert_eq!(gc.removed.len(), 1);
    assert!(gc.removed[0].1.contains("nightly"), "{:?}", gc.removed);
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// Needs root to mount a tiny tmpfs; CI runs as root. Skipped (with a message) elsewhere.
#[tokio::test]
async fn disk_full_on_tiny_tmpfs_needs_root() {
    if !is_root() {
        eprintln!("skipped: mounting a tmpfs needs root");
        return;
    }
    let env = Env::new();
    let mnt = env.dir.path().join("tiny");
    std::fs::create_dir_all(&mnt).unwrap();
    let st = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=512k", "tmpfs"])
        .arg(&mnt)
        .status()
        .unwrap();
    assert!(st.success(), "mount tmpfs");
    struct Umount(PathBuf);
    impl Drop for Umount {
        fn drop(&mut self) {
            let _ = std::process::Command::new("umount").arg(&self.0).status();
        }
    }
    let _guard = Umount(mnt.clone());
    let srv = Server::start(|_| Reply::ok(bytes(2 << 20, 13))).await;
    let cache_dir = mnt.join("cache");
    let f = Fetcher::new(Cache::open(&cache_dir).unwrap(), env.opts()).unwrap();
    let err = f
        .fetch_recipe(&env.recipe(&file_entry(&srv.url("/big"), "")))
        .await
        .unwrap_err();
    // The tiny base image may hit the full disk too (downloads run concurrently).
    let all_disk_full = match &err {
        FetchError::DiskFull { .. } => true,
        FetchError::Multiple(v) => v.iter().all(|e| matches!(e, FetchError::DiskFull { .. })),
        _ => false,
    };
    assert!(all_disk_full, "{err}");
    assert!(err.to_string().contains("no space left"), "{err}");
    assert!(err.to_string().contains(&srv.url("/big")), "{err}");
    assert!(
        files_under(&cache_dir.join("tmp")).is_empty(),
        "temp file removed"
    );
    assert!(files_under(&cache_dir.join("content"))
        .iter()
        .all(|p| std::fs::read(p).unwrap().len() < 100));
}

#[tokio::test]
async fn refresh_asks_again_for_unpinned_urls_only() {
    let env = Env::new();
    let version = Arc::new(AtomicUsize::new(1));
    let v2 = version.clone();
    let srv =
        Server::start(move |_| Reply::ok(bytes(5000, v2.load(Ordering::SeqCst) as u64))).await;
    let entry = file_entry(&srv.url("/latest.zim"), "");
    env.fetch(&entry).await.unwrap();
    version.store(2, Ordering::SeqCst);
    // Unpinned and cached: reused, no request.
    let got = env.fetch(&entry).await.unwrap();
    assert_eq!(
        got.files[0].as_ref().unwrap().sha256,
        sha256(&bytes(5000, 1))
    );
    assert_eq!(srv.count("/latest.zim"), 1);
    // Refresh (`nixspot lock --update`): asked again, the new content is seen.
    let mut f = env.fetcher(env.opts());
    f.set_refresh(true);
    let got = f.fetch_recipe(&env.recipe(&entry)).await.unwrap();
    assert_eq!(
        got.files[0].as_ref().unwrap().sha256,
        sha256(&bytes(5000, 2))
    );
    assert_eq!(srv.count("/latest.zim"), 2);
    // A pinned entry is never asked again, refresh or not.
    let pin = format!(
        ", checksum: {{algo: sha256, value: {}}}",
        sha256(&bytes(5000, 1))
    );
    let got = f
        .fetch_recipe(&env.recipe(&file_entry(&srv.url("/latest.zim"), &pin)))
        .await
        .unwrap();
    assert_eq!(
        got.files[0].as_ref().unwrap().sha256,
        sha256(&bytes(5000, 1))
    );
    assert_eq!(srv.count("/latest.zim"), 2);
    env.assert_cache_clean();
}

/// Overwrites a cached file in place with other bytes of the same length, keeping its
/// inode and putting its mtime back: only the ctime (which no one can set) and the
/// bytes tell.
fn tamper_in_place(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path).unwrap();
    let mtime = meta.modified().unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let len = meta.len() as usize;
    let f = std::fs::OpenOptions::new().write(true).open(path).unwrap();
    use std::io::Write;
    (&f).write_all(&vec![b'X'; len]).unwrap();
    f.set_modified(mtime).unwrap();
    drop(f);
    std::fs::set_permissions(path, meta.permissions()).unwrap();
}

/// Finding 6: a cache hit was trusted by name and size, so content altered in place
/// went into images. Each entry's integrity stamp (inode, size, mtime, ctime, checked
/// hash) is compared on every hit; a changed file is re-hashed, and when it no longer
/// matches its name it is dropped and downloaded again.
#[tokio::test]
async fn cache_hit_altered_in_place_is_rehashed_and_refetched() {
    let env = Env::new();
    let body = bytes(50_000, 7);
    let sha = sha256(&body);
    let b = body.clone();
    let srv = Server::start(move |_| Reply::ok(b.clone())).await;
    let pinned = file_entry(
        &srv.url("/pinned"),
        &format!(", size: 50000, checksum: {{algo: sha-256, value: {sha}}}"),
    );
    let got = env.fetch(&pinned).await.unwrap();
    let path = got.files[0].as_ref().unwrap().path.clone();
    // Untouched: a hit without network.
    env.fetch(&pinned).await.unwrap();
    assert_eq!(srv.count("/pinned"), 1);

    tamper_in_place(&path);
    let got = env.fetch(&pinned).await.unwrap();
    let f = got.files[0].as_ref().unwrap();
    assert_eq!(
        std::fs::read(&f.path).unwrap(),
        body,
        "altered content used"
    );
    assert_eq!(srv.count("/pinned"), 2);
    env.assert_cache_clean();

    // The same through the URL index (unpinned recipe) and for `cache add`ed content.
    tamper_in_place(&path);
    let got = env
        .fetch(&file_entry(&srv.url("/pinned"), ""))
        .await
        .unwrap();
    assert_eq!(
        std::fs::read(&got.files[0].as_ref().unwrap().path).unwrap(),
        body
    );
    assert_eq!(srv.count("/pinned"), 3);
    env.assert_cache_clean();
}

/// Finding 5 (the cache's part): content keeps no permission bit of its source. A
/// setuid, world-writable file added with `cache add` is stored read-only for the cache
/// user, and so is a download.
#[tokio::test]
async fn cached_content_keeps_no_permission_from_its_source() {
    use std::os::unix::fs::PermissionsExt;
    let env = Env::new();
    let src = env.dir.path().join("loose.bin");
    std::fs::write(&src, bytes(1000, 3)).unwrap();
    std::fs::set_permissions(&src, std::fs::Permissions::from_mode(0o6777)).unwrap();
    let cache = Cache::open(&env.cache_dir()).unwrap();
    let imported = cache.import(&src).unwrap();
    let stored = cache.lookup(&imported.sha256).unwrap();
    let mode = std::fs::metadata(&stored).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode, 0o444, "imported content mode {mode:o}");
    drop(cache);
    let srv = Server::start(|_| Reply::ok(bytes(2000, 4))).await;
    let got = env.fetch(&file_entry(&srv.url("/d"), "")).await.unwrap();
    let mode = std::fs::metadata(&got.files[0].as_ref().unwrap().path)
        .unwrap()
        .permissions()
        .mode()
        & 0o7777;
    assert_eq!(mode, 0o444, "downloaded content mode {mode:o}");
}
