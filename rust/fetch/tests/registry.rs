//! OCI pulls against a real registry (Debian's `docker-registry`, distribution 2.8) on
//! 127.0.0.1, images pushed by this test; archives checked with `skopeo inspect`.

mod common;

use common::{files_under, sha256, Reply, Server};
use nixspot_fetch::oci::{DOCKER_LIST, DOCKER_MANIFEST, OCI_MANIFEST};
use nixspot_fetch::{Cache, FetchError, Fetched, Fetcher, Options, ProgressMode};
use nixspot_recipe::Recipe;
use serde_json::json;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

struct Registry {
    child: Child,
    addr: String,
    _dir: tempfile::TempDir,
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Registry {
    async fn start() -> Registry {
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let addr = format!("127.0.0.1:{port}");
        let config = dir.path().join("config.yml");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\n\
                 http:\n  addr: {addr}\n",
                dir.path().join("data").display()
            ),
        )
        .unwrap();
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("docker-registry must be installed (.ci/install-deps)");
        let reg = Registry {
            child,
            addr,
            _dir: dir,
        };
        let client = reqwest::Client::new();
        for _ in 0..600 {
            if let Ok(r) = client.get(format!("http://{}/v2/", reg.addr)).send().await {
                if r.status().is_success() {
                    return reg;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("docker-registry did not start on {}", reg.addr);
    }
}

/// A small image: layer tars (gzip) + config + manifest.
struct Image {
    manifest: Vec<u8>,
    blobs: Vec<Vec<u8>>,
    diff_ids: Vec<String>,
}

fn layer_tar(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, data) in files {
        let mut h = tar::Header::new_ustar();
        h.set_size(data.len() as u64);
        h.set_mode(0o755);
        h.set_mtime(1);
        h.set_entry_type(tar::EntryType::Regular);
        b.append_data(&mut h, name, *data).unwrap();
    }
    b.into_inner().unwrap()
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn digest(data: &[u8]) -> String {
    format!("sha256:{}", sha256(data))
}

fn image(arch: &str, oci: bool) -> Image {
    let l1 = layer_tar(&[("bin/hello", format!("#!/bin/sh\necho {arch}\n").as_bytes())]);
    let l2 = layer_tar(&[
        ("etc/motd", b"hello from a test layer\n"),
        ("etc/arch", arch.as_bytes()),
    ]);
    let diff_ids = vec![digest(&l1), digest(&l2)];
    let (layers, layer_type): (Vec<Vec<u8>>, &str) = if oci {
        // OCI types with one gzip and one uncompressed layer.
        (vec![gzip(&l1), l2.clone()], "")
    } else {
        (
            vec![gzip(&l1), gzip(&l2)],
            "application/vnd.docker.image.rootfs.diff.tar.gzip",
        )
    };
    let config = serde_json::to_vec(&json!({
        "architecture": arch, "os": "linux", "variant": if arch == "arm64" { "v8" } else { "" },
        "config": {"Cmd": ["/bin/hello"]},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    }))
    .unwrap();
    let layer_descs: Vec<_> = layers
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let mt = if oci {
                if i == 0 {
                    "application/vnd.oci.image.layer.v1.tar+gzip"
                } else {
                    "application/vnd.oci.image.layer.v1.tar"
                }
            } else {
                layer_type
            };
            json!({"mediaType": mt, "digest": digest(l), "size": l.len()})
        })
        .collect();
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": if oci { OCI_MANIFEST } else { DOCKER_MANIFEST },
        "config": {
            "mediaType": if oci { "application/vnd.oci.image.config.v1+json" } else { "application/vnd.docker.container.image.v1+json" },
            "digest": digest(&config), "size": config.len()
        },
        "layers": layer_descs,
    }))
    .unwrap();
    let mut blobs = layers;
    blobs.push(config);
    Image {
        manifest,
        blobs,
        diff_ids,
    }
}

/// Pushes blobs (monolithic upload: POST, then PUT ?digest=) and a manifest.
async fn push_blob(c: &reqwest::Client, reg: &str, repo: &str, blob: &[u8]) {
    let r = c
        .post(format!("http://{reg}/v2/{repo}/blobs/uploads/"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 202, "start upload");
    let loc = r.headers()["location"].to_str().unwrap().to_string();
    let loc = if loc.starts_with("http") {
        loc
    } else {
        format!("http://{reg}{loc}")
    };
    let sep = if loc.contains('?') { '&' } else { '?' };
    let r = c
        .put(format!("{loc}{sep}digest={}", digest(blob)))
        .header("content-type", "application/octet-stream")
        .body(blob.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201, "finish upload");
}

async fn push_manifest(
    c: &reqwest::Client,
    reg: &str,
    repo: &str,
    reference: &str,
    mt: &str,
    body: &[u8],
) {
    let r = c
        .put(format!("http://{reg}/v2/{repo}/manifests/{reference}"))
        .header("content-type", mt)
        .body(body.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201, "{}", r.text().await.unwrap());
}

async fn push_image(c: &reqwest::Client, reg: &str, repo: &str, img: &Image, mt: &str) {
    for b in &img.blobs {
        push_blob(c, reg, repo, b).await;
    }
    push_manifest(c, reg, repo, &digest(&img.manifest), mt, &img.manifest).await;
}

/// Pushes a multi-arch list (amd64 + arm64/v8) under `tag`; returns the arm64 image.
async fn push_multi_arch(reg: &str, repo: &str, tag: &str) -> Image {
    let c = reqwest::Client::new();
    let amd = image("amd64", false);
    let arm = image("arm64", false);
    push_image(&c, reg, repo, &amd, DOCKER_MANIFEST).await;
    push_image(&c, reg, repo, &arm, DOCKER_MANIFEST).await;
    let list = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": DOCKER_LIST,
        "manifests": [
            {"mediaType": DOCKER_MANIFEST, "digest": digest(&amd.manifest), "size": amd.manifest.len(),
             "platform": {"architecture": "amd64", "os": "linux"}},
            {"mediaType": DOCKER_MANIFEST, "digest": digest(&arm.manifest), "size": arm.manifest.len(),
             "platform": {"architecture": "arm64", "os": "linux", "variant": "v8"}},
        ]
    }))
    .unwrap();
    push_manifest(&c, reg, repo, tag, DOCKER_LIST, &list).await;
    arm
}

fn opts(dir: &Path) -> Options {
    Options {
        retries: 2,
        retry_base: Duration::from_millis(20),
        read_timeout: Duration::from_secs(5),
        progress: ProgressMode::Quiet,
        base_dir: dir.to_path_buf(),
        ..Options::default()
    }
}

fn recipe(dir: &Path, idents: &[&str]) -> Recipe {
    let base = dir.join("base.img");
    std::fs::write(&base, b"base").unwrap();
    let images: String = idents
        .iter()
        .map(|i| format!("- {{ident: '{i}'}}\n"))
        .collect();
    Recipe::from_yaml_str(
        &format!(
            "base: {{source: '{}', rootfs_size: 1}}\noci_images:\n{images}",
            base.display()
        ),
        "r.yaml",
    )
    .unwrap()
}

async fn fetch(
    dir: &Path,
    cache: &Path,
    o: Options,
    idents: &[&str],
) -> Result<Fetched, FetchError> {
    Fetcher::new(Cache::open(cache).unwrap(), o)
        .unwrap()
        .fetch_recipe(&recipe(dir, idents))
        .await
}

struct Entry {
    name: String,
    mtime: u64,
    uid: u64,
    gid: u64,
    data: Vec<u8>,
}

fn read_tar(path: &Path) -> Vec<Entry> {
    let mut a = tar::Archive::new(std::fs::File::open(path).unwrap());
    a.entries()
        .unwrap()
        .map(|e| {
            let mut e = e.unwrap();
            let h = e.header().clone();
            let mut data = Vec::new();
            e.read_to_end(&mut data).unwrap();
            Entry {
                name: e.path().unwrap().display().to_string(),
                mtime: h.mtime().unwrap(),
                uid: h.uid().unwrap(),
                gid: h.gid().unwrap(),
                data,
            }
        })
        .collect()
}

fn skopeo_inspect(path: &Path) -> serde_json::Value {
    let out = Command::new("skopeo")
        .arg("inspect")
        .arg(format!("docker-archive:{}", path.display()))
        .output()
        .expect("skopeo must be installed (.ci/install-deps)");
    assert!(
        out.status.success(),
        "skopeo: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[tokio::test]
async fn pull_multi_arch_picks_arm64_and_writes_a_deterministic_archive() {
    let reg = Registry::start().await;
    let arm = push_multi_arch(&reg.addr, "test/hello", "1.0").await;
    let dir = tempfile::tempdir().unwrap();
    let ident = format!("{}/test/hello:1.0", reg.addr);
    let got = fetch(
        dir.path(),
        &dir.path().join("c1"),
        opts(dir.path()),
        &[&ident],
    )
    .await
    .unwrap();
    let a = &got.oci[0];
    assert_eq!(
        a.digest,
        digest(&arm.manifest),
        "the arm64 manifest was chosen"
    );
    assert_eq!(
        a.target,
        format!(
            "/data/images/127.0.0.1_{}_test_hello_1.0_linux_arm64_v8.tar",
            reg.addr.split(':').nth(1).unwrap()
        )
    );
    let bytes = std::fs::read(&a.path).unwrap();
    assert_eq!(a.sha256, sha256(&bytes));
    assert_eq!(a.filesize, bytes.len() as u64);
    // The real reader.
    let info = skopeo_inspect(&a.path);
    assert_eq!(info["Architecture"], "arm64");
    assert_eq!(info["Os"], "linux");
    assert_eq!(info["Layers"].as_array().unwrap().len(), 2, "{info}");
    // Our own checks: sorted, fixed metadata, manifest.json, layers = diff_ids.
    let entries = read_tar(&a.path);
    let names: Vec<&str> = entries.iter().map(|e| e.name.as_str()).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
    assert!(entries
        .iter()
        .all(|e| e.mtime == 0 && e.uid == 0 && e.gid == 0));
    let fullsize: u64 = entries.iter().map(|e| e.data.len() as u64).sum();
    assert_eq!(a.fullsize, fullsize);
    assert!(a.fullsize < a.filesize);
    let manifest: serde_json::Value = serde_json::from_slice(
        &entries
            .iter()
            .find(|e| e.name == "manifest.json")
            .unwrap()
            .data,
    )
    .unwrap();
    assert_eq!(manifest[0]["RepoTags"], json!([ident.clone()]));
    let layers = manifest[0]["Layers"].as_array().unwrap();
    for (l, want) in layers.iter().zip(&arm.diff_ids) {
        let data = &entries
            .iter()
            .find(|e| e.name == l.as_str().unwrap())
            .unwrap()
            .data;
        assert_eq!(&digest(data), want);
    }
    let repos: serde_json::Value = serde_json::from_slice(
        &entries
            .iter()
            .find(|e| e.name == "repositories")
            .unwrap()
            .data,
    )
    .unwrap();
    assert!(
        repos[format!("{}/test/hello", reg.addr)]["1.0"].is_string(),
        "{repos}"
    );
    // Same bytes from a fresh cache: deterministic.
    let again = fetch(
        dir.path(),
        &dir.path().join("c2"),
        opts(dir.path()),
        &[&ident],
    )
    .await
    .unwrap();
    assert_eq!(again.oci[0].sha256, a.sha256);
    // Lock → pinned ident → offline from the cache.
    let r = recipe(dir.path(), &[&ident]);
    let lock = nixspot_fetch::lock_from(&r, &got);
    assert_eq!(lock.oci[&ident].digest, a.digest);
    assert_eq!(lock.oci[&ident].archive_sha256, a.sha256);
    let mut pinned = r.clone();
    pinned.apply_lock(&lock);
    assert!(pinned.unpinned().iter().all(|u| u.key == "base"));
    let mut o = opts(dir.path());
    o.offline = true;
    let off = Fetcher::new(Cache::open(&dir.path().join("c1")).unwrap(), o)
        .unwrap()
        .fetch_recipe(&pinned)
        .await
        .unwrap();
    assert_eq!(off.oci[0].sha256, a.sha256);
    // Pulling by the pinned digest from the registry gives the same archive too.
    let by_digest = fetch(
        dir.path(),
        &dir.path().join("c3"),
        opts(dir.path()),
        &[&pinned.oci_images[0].ident],
    )
    .await
    .unwrap();
    assert_eq!(by_digest.oci[0].sha256, a.sha256);
    // Blobs are transient: gc leaves only the archive and the base.
    let cache = Cache::open_exclusive(&dir.path().join("c1")).unwrap();
    cache.gc().unwrap();
    assert_eq!(files_under(&dir.path().join("c1/content")).len(), 2);
}

#[tokio::test]
async fn oci_media_types_and_uncompressed_layers() {
    let reg = Registry::start().await;
    let c = reqwest::Client::new();
    let img = image("arm64", true);
    push_image(&c, &reg.addr, "oci/only", &img, OCI_MANIFEST).await;
    push_manifest(&c, &reg.addr, "oci/only", "v2", OCI_MANIFEST, &img.manifest).await;
    let amd = image("amd64", true);
    push_image(&c, &reg.addr, "oci/amd", &amd, OCI_MANIFEST).await;
    push_manifest(&c, &reg.addr, "oci/amd", "1", OCI_MANIFEST, &amd.manifest).await;
    let dir = tempfile::tempdir().unwrap();
    let ident = format!("{}/oci/only:v2", reg.addr);
    let got = fetch(
        dir.path(),
        &dir.path().join("c"),
        opts(dir.path()),
        &[&ident],
    )
    .await
    .unwrap();
    let info = skopeo_inspect(&got.oci[0].path);
    assert_eq!(info["Architecture"], "arm64");
    // A single amd64 manifest is refused with the reason.
    let err = fetch(
        dir.path(),
        &dir.path().join("c"),
        opts(dir.path()),
        &[&format!("{}/oci/amd:1", reg.addr)],
    )
    .await
    .unwrap_err();
    assert!(
        err.to_string().contains("linux/amd64, not linux/arm64"),
        "{err}"
    );
    // Unknown tag and unknown repository: 404 with the registry's words.
    let err = fetch(
        dir.path(),
        &dir.path().join("c"),
        opts(dir.path()),
        &[&format!("{}/oci/only:nope", reg.addr)],
    )
    .await
    .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("HTTP 404") && msg.contains("MANIFEST_UNKNOWN"),
        "{msg}"
    );
}

#[tokio::test]
async fn index_without_arm64_is_refused() {
    let reg = Registry::start().await;
    let c = reqwest::Client::new();
    let amd = image("amd64", false);
    push_image(&c, &reg.addr, "x/amd", &amd, DOCKER_MANIFEST).await;
    let list = serde_json::to_vec(&json!({
        "schemaVersion": 2, "mediaType": DOCKER_LIST,
        "manifests": [{"mediaType": DOCKER_MANIFEST, "digest": digest(&amd.manifest), "size": amd.manifest.len(),
                       "platform": {"architecture": "amd64", "os": "linux"}}]
    }))
    .unwrap();
    push_manifest(&c, &reg.addr, "x/amd", "1", DOCKER_LIST, &list).await;
    let dir = tempfile::tempdir().unwrap();
    let err = fetch(
        dir.path(),
        &dir.path().join("c"),
        opts(dir.path()),
        &[&format!("{}/x/amd:1", reg.addr)],
    )
    .await
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("no linux/arm64 image in the index (found: linux/amd64)"),
        "{err}"
    );
}

/// A front that demands a bearer token (from its own token endpoint, optionally behind
/// basic auth), answers 429 once, can corrupt blobs, and proxies to the real registry.
async fn front(reg: String, need_basic: bool, corrupt: bool) -> (Server, Arc<AtomicUsize>) {
    let tokens = Arc::new(AtomicUsize::new(0));
    let t2 = tokens.clone();
    let busy = Arc::new(AtomicUsize::new(0));
    let srv = Server::start_async(move |r| {
        let reg = reg.clone();
        let tokens = t2.clone();
        let busy = busy.clone();
        Box::pin(async move {
            if r.path.starts_with("/token") {
                let basic = format!("Basic {}", base64_encode(b"user:secret"));
                if need_basic && r.header("authorization") != Some(basic.as_str()) {
                    return Reply::status(401);
                }
                if !r.path.contains("service=test-registry") || !r.path.contains("scope=repository%3Atest%2Fhello%3Apull") {
                    return Reply::status(400);
                }
                tokens.fetch_add(1, Ordering::SeqCst);
                return Reply::ok(r#"{"token": "tok-123"}"#);
            }
            if r.header("authorization") != Some("Bearer tok-123") {
                return Reply::status(401).header(
                    "WWW-Authenticate",
                    &format!(
                        "Bearer realm=\"http://{}/token\",service=\"test-registry\",scope=\"repository:test/hello:pull\"",
                        r.header("host").unwrap_or_default()
                    ),
                );
            }
            if r.path.contains("/manifests/") && busy.fetch_add(1, Ordering::SeqCst) == 0 {
                return Reply::status(429).header("Retry-After", "1");
            }
            let c = reqwest::Client::new();
            let mut req = c.get(format!("http://{reg}{}", r.path));
            if let Some(a) = r.header("accept") {
                req = req.header("accept", a);
            }
            let resp = req.send().await.unwrap();
            let status = resp.status().as_u16();
            let ct = resp.headers().get("content-type").map(|v| v.to_str().unwrap().to_string());
            let mut body = resp.bytes().await.unwrap().to_vec();
            if corrupt && r.path.contains("/blobs/") && body.len() > 100 {
                let last = body.len() - 1;
                body[last] ^= 1;
            }
            let mut rep = Reply { status, ranges: false, ..Reply::ok(body) };
            if let Some(ct) = ct {
                rep = rep.header("Content-Type", &ct);
            }
            rep
        })
    })
    .await;
    (srv, tokens)
}

fn base64_encode(data: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(data)
}

#[tokio::test]
async fn bearer_token_flow_basic_auth_and_429() {
    let reg = Registry::start().await;
    push_multi_arch(&reg.addr, "test/hello", "1.0").await;
    let dir = tempfile::tempdir().unwrap();
    // Anonymous token flow.
    let (srv, tokens) = front(reg.addr.clone(), false, false).await;
    let ident = format!("{}/test/hello:1.0", srv.addr);
    let got = fetch(
        dir.path(),
        &dir.path().join("a"),
        opts(dir.path()),
        &[&ident],
    )
    .await
    .unwrap();
    assert_eq!(
        tokens.load(Ordering::SeqCst),
        1,
        "one token for the whole pull"
    );
    assert_eq!(skopeo_inspect(&got.oci[0].path)["Architecture"], "arm64");
    // Token endpoint behind basic auth: refused without credentials, fine with them.
    let (srv, tokens) = front(reg.addr.clone(), true, false).await;
    let ident = format!("{}/test/hello:1.0", srv.addr);
    let err = fetch(
        dir.path(),
        &dir.path().join("b"),
        opts(dir.path()),
        &[&ident],
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, FetchError::Status { status: 401, .. }),
        "{err}"
    );
    let mut o = opts(dir.path());
    o.registry_auth
        .insert(srv.addr.to_string(), ("user".into(), "secret".into()));
    fetch(dir.path(), &dir.path().join("b"), o, &[&ident])
        .await
        .unwrap();
    assert_eq!(tokens.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn corrupt_blob_is_refused_and_not_cached() {
    let reg = Registry::start().await;
    push_multi_arch(&reg.addr, "test/hello", "1.0").await;
    let dir = tempfile::tempdir().unwrap();
    let (srv, _) = front(reg.addr.clone(), false, true).await;
    let cache = dir.path().join("c");
    let err = fetch(
        dir.path(),
        &cache,
        opts(dir.path()),
        &[&format!("{}/test/hello:1.0", srv.addr)],
    )
    .await
    .unwrap_err();
    assert!(matches!(err, FetchError::HashMismatch { .. }), "{err}");
    assert!(err.to_string().contains("/blobs/sha256:"), "{err}");
    for f in files_under(&cache.join("content")) {
        assert_eq!(
            sha256(&std::fs::read(&f).unwrap()),
            f.file_name().unwrap().to_str().unwrap()
        );
    }
    assert!(files_under(&cache.join("tmp")).is_empty());
    let _: PathBuf = cache;
}
