//! The worker against a small fake Imager server speaking the worker protocol (claim,
//! heartbeat, image upload, fail) over real HTTP, building real images: a base image
//! served by the fake server, evaluated, fetched and assembled by nixspot's pipeline.
//!
//! Steps are synchronised on what the server saw (a download held until the worker
//! reported the `fetching` step, …), never on durations.

use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::Json;
use futures_util::StreamExt as _;
use nixspot_imager_worker::{sparse, CancellationToken, Config, Worker};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

const TOKEN: &str = "worker-token-1";

/// When the fake server lets a request through.
#[derive(Clone, Copy, PartialEq)]
enum Gate {
    Open,
    /// Once the worker reported this step in a heartbeat.
    AfterStep(&'static str),
    /// Never (until the test ends).
    Closed,
}

#[derive(Debug, Clone)]
struct Upload {
    job: String,
    header_sha256: String,
    content_length: Option<u64>,
    /// Bytes of the body (the sparse records).
    body_len: u64,
    /// The image the body describes: its sha256 and length.
    sha256: String,
    len: u64,
}

#[derive(Default)]
struct Seen {
    claims: Vec<String>,
    heartbeats: Vec<(String, String, Option<f64>)>,
    uploads: Vec<Upload>,
    fails: Vec<(String, String)>,
}

struct Fake {
    queue: Mutex<VecDeque<Value>>,
    seen: Mutex<Seen>,
    base: Arc<Vec<u8>>,
    base_gate: Mutex<Gate>,
    upload_gate: Mutex<Gate>,
    /// Answer 409 to heartbeats.
    conflict: AtomicBool,
    /// Answer 503 to this many uploads first.
    unavailable_uploads: AtomicUsize,
    /// The chunks of the images received, by digest (lent to later uploads).
    chunks: Mutex<std::collections::HashMap<sparse::Digest, Vec<u8>>>,
    /// Forget every chunk once an upload refers to one (answering 412), as when the
    /// image lending them expired between the question and the upload.
    lose_chunks: AtomicBool,
    lease_seconds: u64,
}

impl Fake {
    fn passes(&self, gate: &Mutex<Gate>) -> bool {
        match *gate.lock().unwrap() {
            Gate::Open => true,
            Gate::Closed => false,
            Gate::AfterStep(step) => self
                .seen
                .lock()
                .unwrap()
                .heartbeats
                .iter()
                .any(|(_, s, _)| s == step),
        }
    }

    async fn wait(&self, gate: &Mutex<Gate>) {
        while !self.passes(gate) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

fn authorised(headers: &HeaderMap) -> bool {
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == format!("Bearer {TOKEN}"))
}

/// The worker routes answer only the worker's token (401 as the Imager does).
async fn require_token(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    if !authorised(request.headers()) {
        return error(StatusCode::UNAUTHORIZED, "invalid token");
    }
    next.run(request).await
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({"error": message, "option": null}))).into_response()
}

async fn claim(State(fake): State<Arc<Fake>>, Json(body): Json<Value>) -> Response {
    let worker = body["worker"].as_str().unwrap_or_default().to_string();
    fake.seen.lock().unwrap().claims.push(worker);
    match fake.queue.lock().unwrap().pop_front() {
        Some(job) => Json(json!({ "job": job })).into_response(),
        None => StatusCode::NO_CONTENT.into_response(),
    }
}

async fn heartbeat(
    State(fake): State<Arc<Fake>>,
    UrlPath(id): UrlPath<String>,
    Json(body): Json<Value>,
) -> Response {
    let step = body["step"].as_str().unwrap_or_default().to_string();
    fake.seen
        .lock()
        .unwrap()
        .heartbeats
        .push((id, step, body["progress"].as_f64()));
    if fake.conflict.load(Ordering::SeqCst) {
        return error(StatusCode::CONFLICT, "the lease of this job was lost");
    }
    Json(json!({ "lease_seconds": fake.lease_seconds })).into_response()
}

async fn image(
    State(fake): State<Arc<Fake>>,
    UrlPath(id): UrlPath<String>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    if fake
        .unavailable_uploads
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
    {
        return error(StatusCode::SERVICE_UNAVAILABLE, "storage restarting");
    }
    fake.wait(&fake.upload_gate).await;
    // The image the sparse upload describes: its ranges, zeros between them.
    let Some(size) = headers
        .get(sparse::SIZE_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
    else {
        return error(StatusCode::BAD_REQUEST, "no X-Image-Size");
    };
    if headers.get("content-type").and_then(|v| v.to_str().ok()) != Some(sparse::CONTENT_TYPE) {
        return error(StatusCode::BAD_REQUEST, "not a sparse upload");
    }
    let mut hasher = Sha256::new();
    let mut body_len = 0u64;
    let mut len = 0u64;
    let mut decoder = sparse::Decoder::new(size);
    let mut stream = body.into_data_stream();
    // The data record being received, kept under its digest once it ends.
    let mut record = Vec::new();
    let mut received = Vec::new();
    while let Some(chunk) = stream.next().await {
        let bytes = match chunk {
            Ok(bytes) => bytes,
            Err(e) => return error(StatusCode::BAD_REQUEST, &e.to_string()),
        };
        body_len += bytes.len() as u64;
        let pieces = match decoder.feed(&bytes) {
            Ok(pieces) => pieces,
            Err(e) => return error(StatusCode::BAD_REQUEST, &e.to_string()),
        };
        for piece in pieces {
            match piece {
                sparse::Piece::Data { offset, bytes: at } => {
                    hasher.update(vec![0u8; (offset - len) as usize]);
                    hasher.update(&bytes[at.clone()]);
                    record.extend_from_slice(&bytes[at.clone()]);
                    len = offset + at.len() as u64;
                }
                sparse::Piece::Chunk { digest, .. } => {
                    assert_eq!(digest, sparse::digest(&record), "the decoder's digest");
                    received.push((digest, std::mem::take(&mut record)));
                }
                sparse::Piece::Reference {
                    offset,
                    len: chunk_len,
                    digest,
                } => {
                    if fake.lose_chunks.swap(false, Ordering::SeqCst) {
                        fake.chunks.lock().unwrap().clear();
                    }
                    let Some(held) = fake.chunks.lock().unwrap().get(&digest).cloned() else {
                        return error(StatusCode::PRECONDITION_FAILED, "no such chunk");
                    };
                    assert_eq!(held.len() as u64, chunk_len);
                    hasher.update(vec![0u8; (offset - len) as usize]);
                    hasher.update(&held);
                    len = offset + chunk_len;
                }
            }
        }
    }
    fake.chunks.lock().unwrap().extend(received);
    if let Err(e) = decoder.finish() {
        return error(StatusCode::BAD_REQUEST, &e.to_string());
    }
    hasher.update(vec![0u8; (size - len) as usize]);
    let len = size;
    let upload = Upload {
        job: id,
        header_sha256: headers
            .get("x-image-sha256")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string(),
        content_length: headers
            .get("content-length")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok()),
        body_len,
        sha256: hex(&hasher.finalize()),
        len,
    };
    fake.seen.lock().unwrap().uploads.push(upload);
    Json(json!({})).into_response()
}

/// Which of the digests asked about the fake holds.
async fn chunks(State(fake): State<Arc<Fake>>, Json(body): Json<Value>) -> Response {
    let held = fake.chunks.lock().unwrap();
    let indices: Vec<usize> = body["digests"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .enumerate()
        .filter(|(_, d)| held.keys().any(|k| Some(hex(k).as_str()) == d.as_str()))
        .map(|(i, _)| i)
        .collect();
    Json(json!({ "held": indices })).into_response()
}

async fn fail(
    State(fake): State<Arc<Fake>>,
    UrlPath(id): UrlPath<String>,
    Json(body): Json<Value>,
) -> Response {
    let reason = body["error"].as_str().unwrap_or_default().to_string();
    fake.seen.lock().unwrap().fails.push((id, reason));
    Json(json!({})).into_response()
}

async fn base(State(fake): State<Arc<Fake>>) -> Response {
    fake.wait(&fake.base_gate).await;
    fake.base.as_ref().clone().into_response()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// An offspot-shaped base image (MBR; FAT32 boot, ext4 root, ext4 data), made once.
fn base_image() -> Arc<Vec<u8>> {
    static BASE: OnceLock<Arc<Vec<u8>>> = OnceLock::new();
    BASE.get_or_init(|| {
        use nixspot_fs::disk::{create_image, ext4_options, FatData, ImageSpec, PartitionContent};
        use nixspot_fs::ext4::{Entry, EntryKind, FileData, Meta, Size};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("base.img");
        let boot = [
            ("config.txt", "arm_64bit=1\n"),
            (
                "cmdline.txt",
                "console=serial0,115200 root=PARTUUID=0bf446a7-02\n",
            ),
            ("offspot.yaml", "timezone: UTC\nhostname: base-image\n"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), FatData::Bytes(v.as_bytes().to_vec())))
        .collect();
        let file = |path: &str, content: &[u8]| Entry {
            path: PathBuf::from(path),
            kind: EntryKind::File(FileData::Bytes(content.to_vec())),
            meta: Meta::new(0o644),
        };
        let minimal = Size::Minimal {
            margin_bytes: 1 << 20,
            margin_percent: 0,
        };
        create_image(
            &path,
            ImageSpec {
                table: nixspot_fs::partition::TableKind::Mbr,
                align: 4 << 20,
                seed: b"worker-test-base".to_vec(),
                timestamp: 1_700_000_000,
                partitions: vec![
                    PartitionContent::Fat32 {
                        size: 64 << 20,
                        label: "bootfs".into(),
                        files: boot,
                    },
                    PartitionContent::Ext4 {
                        options: ext4_options("rootfs", b"rootfs", 1_700_000_000, minimal),
                        entries: vec![file("etc/hostname", b"base\n")],
                    },
                    PartitionContent::Ext4 {
                        options: ext4_options("data", b"data", 1_700_000_000, minimal),
                        entries: vec![file("master_fs", b"")],
                    },
                ],
                bootable: None,
            },
        )
        .expect("writing the base image");
        Arc::new(std::fs::read(&path).unwrap())
    })
    .clone()
}

/// A fake server on 127.0.0.1 and a free port, with its state.
struct Server {
    url: String,
    fake: Arc<Fake>,
    dir: tempfile::TempDir,
}

impl Server {
    async fn start() -> Server {
        let fake = Arc::new(Fake {
            queue: Mutex::default(),
            seen: Mutex::default(),
            base: base_image(),
            base_gate: Mutex::new(Gate::Open),
            upload_gate: Mutex::new(Gate::Open),
            conflict: AtomicBool::new(false),
            unavailable_uploads: AtomicUsize::new(0),
            chunks: Mutex::default(),
            lose_chunks: AtomicBool::new(false),
            lease_seconds: 3,
        });
        let app = axum::Router::new()
            .route("/api/v1/worker/claim", post(claim))
            .route("/api/v1/worker/jobs/{id}/heartbeat", post(heartbeat))
            .route("/api/v1/worker/jobs/{id}/image", put(image))
            .route("/api/v1/worker/jobs/{id}/chunks", post(chunks))
            .route("/api/v1/worker/jobs/{id}/fail", post(fail))
            .route_layer(axum::middleware::from_fn(require_token))
            .route("/files/base.img", get(base))
            .with_state(Arc::clone(&fake));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Server {
            url,
            fake,
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// A module building on the served base image (no container images: the base is
    /// declared to provide the services itself), with `extra` in its `hotspot` set.
    fn module(&self, extra: &str) -> String {
        let sha = hex(&Sha256::digest(self.fake.base.as_slice()));
        format!(
            "{{ ... }}: {{\n  hotspot = {{\n    name = \"Worker Test\";\n    ap.ssid = \"Worker Test\";\n    \
             base.source = \"{}/files/base.img\";\n    base.sha256 = \"{sha}\";\n    \
             base.rootfsSize = 134217728;\n    base.providesInternalServices = true;\n    \
             writeConfig = true;\n    files.\"welcome.txt\".content = \"Welcome!\";\n{extra}  }};\n}}\n",
            self.url
        )
    }

    fn queue(&self, id: &str, module: &str) {
        self.fake.queue.lock().unwrap().push_back(json!({
            "id": id,
            "order": format!("order-{id}"),
            "lease_seconds": self.fake.lease_seconds,
            "name": "worker-test",
            "module": module,
            "lock": {"files": {}, "oci": {}, "version": 1},
        }));
    }

    fn config(&self, token: &str) -> Config {
        let mut config = Config::new(&self.url, token, "test-worker");
        config.cache_dir = self.dir.path().join("cache");
        config.work_dir = self.dir.path().join("work");
        config.poll_interval = Duration::from_millis(100);
        config
    }

    /// The worker left nothing in its work folder.
    fn assert_work_dir_empty(&self) {
        assert_eq!(entries(&self.work_dir()), Vec::<PathBuf>::new());
    }

    fn work_dir(&self) -> PathBuf {
        self.dir.path().join("work")
    }

    /// Waits until `done` holds of what the server saw (panics with it otherwise; the
    /// limit only keeps a broken test from hanging).
    async fn until(&self, what: &str, done: impl Fn(&Seen) -> bool) {
        for _ in 0..3000 {
            if done(&self.fake.seen.lock().unwrap()) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let seen = self.fake.seen.lock().unwrap();
        panic!(
            "never saw {what}: claims {:?}, heartbeats {:?}, uploads {:?}, fails {:?}",
            seen.claims, seen.heartbeats, seen.uploads, seen.fails
        );
    }
}

/// A worker running on its own task, and what stops it.
fn spawn_worker(
    config: Config,
) -> (
    CancellationToken,
    tokio::task::JoinHandle<anyhow::Result<()>>,
) {
    let stop = CancellationToken::new();
    let worker = tokio::spawn(Worker::new(config).unwrap().run(stop.clone()));
    (stop, worker)
}

fn entries(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default()
}

/// Builds `module` with the library pipeline as `nixspot build module.nix --lock
/// module.lock.json --locked` does, in another folder; returns the image's sha256.
fn build_like_nixspot_build(module: &str, cache: &Path) -> String {
    use nixspot_assemble::pipeline::{self, Job, LocalFiles};
    use nixspot_hotspot::load::{load, Target};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("elsewhere.nix");
    std::fs::write(&path, module).unwrap();
    let lock = path.with_extension("lock.json");
    std::fs::write(&lock, "{\"files\": {}, \"oci\": {}, \"version\": 1}\n").unwrap();
    let mut recipe = load(
        &Target::parse(&path),
        nixspot_hotspot::Engine::Builtin,
        None,
        Some(&lock),
    )
    .unwrap()
    .recipe;
    let text = recipe.to_yaml();
    recipe.apply_lock(&nixspot_recipe::Lock::load_or_default(&lock).unwrap());
    let fetcher = nixspot_fetch::Fetcher::new(
        nixspot_fetch::Cache::open(cache).unwrap(),
        nixspot_fetch::Options {
            locked: true,
            base_dir: dir.path().to_path_buf(),
            progress: nixspot_fetch::ProgressMode::Quiet,
            ..Default::default()
        },
    )
    .unwrap();
    let job = Job {
        recipe: &recipe,
        recipe_text: &text,
        fetcher: &fetcher,
        options: nixspot_assemble::AssembleOptions {
            output: dir.path().join("out.img"),
            build_dir: None,
            keep: false,
            overwrite: false,
            max_size: None,
            timestamp: 0,
            durable: true,
        },
        check_only: false,
        compress: None,
        local_files: LocalFiles::Allowed,
    };
    let summary = pipeline::run(job).unwrap().summary;
    let bytes = std::fs::read(dir.path().join("out.img")).unwrap();
    assert_eq!(hex(&Sha256::digest(&bytes)), summary.sha256);
    summary.sha256
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_is_built_reported_step_by_step_and_uploaded_as_nixspot_build_makes_it() {
    let server = Server::start().await;
    let module = server.module("");
    server.queue("job-1", &module);
    // The download waits until the worker said it is fetching, the upload until it
    // said it is uploading: both steps are then certainly reported.
    *server.fake.base_gate.lock().unwrap() = Gate::AfterStep("fetching");
    *server.fake.upload_gate.lock().unwrap() = Gate::AfterStep("uploading");
    let config = server.config(TOKEN);
    let cache = config.cache_dir.clone();
    let (stop, worker) = spawn_worker(config);
    server.until("the upload", |s| !s.uploads.is_empty()).await;
    stop.cancel();
    worker.await.unwrap().unwrap();

    let sha = {
        let seen = server.fake.seen.lock().unwrap();
        assert!(seen.fails.is_empty(), "{:?}", seen.fails);
        assert_eq!(seen.uploads.len(), 1);
        let upload = &seen.uploads[0];
        assert_eq!(upload.job, "job-1");
        assert_eq!(
            upload.header_sha256, upload.sha256,
            "the announced sha256 is the body's"
        );
        assert_eq!(upload.content_length, Some(upload.body_len));
        assert!(
            upload.body_len < upload.len / 2,
            "the holes are not sent: {} bytes sent for an image of {}",
            upload.body_len,
            upload.len
        );
        let steps: Vec<&str> = seen.heartbeats.iter().map(|(_, s, _)| s.as_str()).collect();
        assert!(
            steps.contains(&"fetching") && steps.contains(&"uploading"),
            "{steps:?}"
        );
        assert!(seen.heartbeats.iter().all(|(job, _, _)| job == "job-1"));
        assert!(
            seen.heartbeats
                .iter()
                .filter(|(_, s, _)| s == "uploading")
                .all(|(_, _, p)| p.is_some_and(|p| (0.0..=1.0).contains(&p))),
            "upload heartbeats carry the fraction sent: {:?}",
            seen.heartbeats
        );
        assert!(seen.claims.iter().all(|w| w == "test-worker"));
        upload.sha256.clone()
    };
    assert_eq!(
        entries(&server.work_dir()),
        Vec::<PathBuf>::new(),
        "the job's folder is removed"
    );

    // The same module and lock built as `nixspot build` builds them, elsewhere, from
    // the same cache: the same bytes.
    let expected = tokio::task::spawn_blocking(move || build_like_nixspot_build(&module, &cache))
        .await
        .unwrap();
    assert_eq!(sha, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_build_is_reported_with_its_reason_and_no_folder_of_the_worker() {
    let server = Server::start().await;
    server.queue("job-bad", &server.module("    ap.ssid = undefinedThing;\n"));
    let config = server.config(TOKEN);
    let work = config.work_dir.display().to_string();
    let (stop, worker) = spawn_worker(config);
    server.until("the failure", |s| !s.fails.is_empty()).await;
    stop.cancel();
    worker.await.unwrap().unwrap();
    let seen = server.fake.seen.lock().unwrap();
    let (job, reason) = &seen.fails[0];
    assert_eq!(job, "job-bad");
    assert!(reason.contains("undefinedThing"), "{reason}");
    assert!(reason.contains("module.nix"), "{reason}");
    assert!(
        !reason.contains(&work),
        "the worker's folders stay private: {reason}"
    );
    assert!(seen.uploads.is_empty());
    drop(seen);
    server.assert_work_dir_empty();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_local_file_in_a_job_is_refused_before_anything_is_read() {
    let server = Server::start().await;
    let secret = server.dir.path().join("secret.txt");
    std::fs::write(&secret, "worker secret").unwrap();
    let extra = format!(
        "    files.\"stolen.txt\" = {{ url = \"file://{}\"; sha256 = \"{}\"; }};\n",
        secret.display(),
        hex(&Sha256::digest(b"worker secret"))
    );
    server.queue("job-local", &server.module(&extra));
    let config = server.config(TOKEN);
    let cache = config.cache_dir.clone();
    let (stop, worker) = spawn_worker(config);
    server.until("the failure", |s| !s.fails.is_empty()).await;
    stop.cancel();
    worker.await.unwrap().unwrap();
    let seen = server.fake.seen.lock().unwrap();
    let reason = &seen.fails[0].1;
    assert!(
        reason.contains("files[") && reason.contains(".url"),
        "{reason}"
    );
    assert!(seen.uploads.is_empty());
    // nothing of the file reached the cache
    let mut stack = vec![cache];
    while let Some(dir) = stack.pop() {
        for path in entries(&dir) {
            if path.is_dir() {
                stack.push(path);
            } else {
                assert_ne!(
                    std::fs::read(&path).unwrap(),
                    b"worker secret",
                    "{}",
                    path.display()
                );
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_lease_stops_the_build_and_removes_its_files() {
    let server = Server::start().await;
    server.queue("job-lost", &server.module(""));
    // The download never completes; the first heartbeat is answered 409.
    *server.fake.base_gate.lock().unwrap() = Gate::Closed;
    server.fake.conflict.store(true, Ordering::SeqCst);
    let (stop, worker) = spawn_worker(server.config(TOKEN));
    server
        .until("a heartbeat", |s| !s.heartbeats.is_empty())
        .await;
    // The worker gave the job up and asks for the next one.
    let claims = server.fake.seen.lock().unwrap().claims.len();
    server
        .until("another claim", |s| s.claims.len() > claims)
        .await;
    assert_eq!(
        entries(&server.work_dir()),
        Vec::<PathBuf>::new(),
        "the job's folder is removed"
    );
    stop.cancel();
    worker.await.unwrap().unwrap();
    let seen = server.fake.seen.lock().unwrap();
    assert!(
        seen.uploads.is_empty() && seen.fails.is_empty(),
        "nothing reported for a lost job"
    );
    assert_eq!(
        seen.heartbeats.len(),
        1,
        "no heartbeat after the 409: {:?}",
        seen.heartbeats
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chunks_the_server_holds_are_referred_to_and_sent_again_when_gone() {
    let server = Server::start().await;
    // Three hotspots on one base with the same 3 MB of content that differ in a small
    // file: the second and third images share most chunks with the first.
    let content = format!(
        "    files.\"library.txt\".content = \"{}\";\n",
        "0123456789abcdef".repeat(200_000)
    );
    server.queue("job-a", &server.module(&content));
    let (stop, worker) = spawn_worker(server.config(TOKEN));
    server
        .until("the first upload", |s| s.uploads.len() == 1)
        .await;
    server.queue(
        "job-b",
        &server.module(&format!(
            "{content}    files.\"second.txt\".content = \"B\";\n"
        )),
    );
    server
        .until("the second upload", |s| s.uploads.len() == 2)
        .await;
    // The third upload is told its chunks are held, and then they are not.
    server.fake.lose_chunks.store(true, Ordering::SeqCst);
    server.queue(
        "job-c",
        &server.module(&format!(
            "{content}    files.\"third.txt\".content = \"C\";\n"
        )),
    );
    server
        .until("the third upload", |s| s.uploads.len() == 3)
        .await;
    stop.cancel();
    worker.await.unwrap().unwrap();
    let seen = server.fake.seen.lock().unwrap();
    assert!(seen.fails.is_empty(), "{:?}", seen.fails);
    let [a, b, c] = &seen.uploads[..] else {
        panic!("{:?}", seen.uploads)
    };
    for upload in [a, b, c] {
        assert_eq!(upload.sha256, upload.header_sha256, "{upload:?}");
        assert_eq!(upload.content_length, Some(upload.body_len));
    }
    assert_ne!(a.sha256, b.sha256, "two different images");
    assert!(
        b.body_len * 2 < a.body_len,
        "the second upload refers to the first's chunks: {} bytes sent, against {}",
        b.body_len,
        a.body_len
    );
    assert!(
        !server.fake.lose_chunks.load(Ordering::SeqCst),
        "the third upload referred to a chunk"
    );
    assert!(
        c.body_len * 2 > a.body_len,
        "the chunks gone, the third upload sent its bytes: {} against {}",
        c.body_len,
        a.body_len
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_upload_is_retried_while_the_server_cannot_take_it() {
    let server = Server::start().await;
    server.queue("job-retry", &server.module(""));
    server.fake.unavailable_uploads.store(2, Ordering::SeqCst);
    let (stop, worker) = spawn_worker(server.config(TOKEN));
    server.until("the upload", |s| !s.uploads.is_empty()).await;
    stop.cancel();
    worker.await.unwrap().unwrap();
    let seen = server.fake.seen.lock().unwrap();
    assert_eq!(
        server.fake.unavailable_uploads.load(Ordering::SeqCst),
        0,
        "both refusals were met"
    );
    assert_eq!(seen.uploads.len(), 1);
    assert_eq!(seen.uploads[0].sha256, seen.uploads[0].header_sha256);
    assert!(seen.fails.is_empty(), "{:?}", seen.fails);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_stopped_mid_build_lets_the_lease_lapse_and_leaves_nothing() {
    let server = Server::start().await;
    server.queue("job-stop", &server.module(""));
    *server.fake.base_gate.lock().unwrap() = Gate::Closed;
    let (stop, worker) = spawn_worker(server.config(TOKEN));
    server
        .until("the fetching step", |s| {
            s.heartbeats.iter().any(|(_, step, _)| step == "fetching")
        })
        .await;
    stop.cancel();
    worker.await.unwrap().unwrap();
    let seen = server.fake.seen.lock().unwrap();
    assert!(
        seen.fails.is_empty(),
        "a stopped worker does not fail the order: {:?}",
        seen.fails
    );
    assert!(seen.uploads.is_empty());
    drop(seen);
    server.assert_work_dir_empty();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_token_ends_the_worker_with_a_clear_error() {
    let server = Server::start().await;
    let stop = CancellationToken::new();
    let result = Worker::new(server.config("wrong-token"))
        .unwrap()
        .run(stop)
        .await;
    let message = format!("{:#}", result.unwrap_err());
    assert!(
        message.contains("token") && message.contains("401"),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_on_its_own_thread_refuses_to_start_without_a_usable_work_folder() {
    let server = Server::start().await;
    server.queue("job-nowhere", &server.module(""));
    let mut config = server.config(TOKEN);
    // A file where the work folder should be: no job folder can be made in it.
    std::fs::write(server.dir.path().join("not-a-folder"), "x").unwrap();
    config.work_dir = server.dir.path().join("not-a-folder/work");
    let thread = Worker::new(config)
        .unwrap()
        .spawn_thread(CancellationToken::new())
        .unwrap();
    let result = tokio::task::spawn_blocking(move || thread.join().unwrap())
        .await
        .unwrap();
    let message = format!("{:#}", result.unwrap_err());
    assert!(message.contains("work folder"), "{message}");
    let seen = server.fake.seen.lock().unwrap();
    assert!(
        seen.claims.is_empty() && seen.fails.is_empty(),
        "no job is claimed by a worker that cannot build it"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_starting_worker_removes_the_folders_of_dead_workers_only() {
    use fs4::fs_std::FileExt as _;
    let server = Server::start().await;
    let work = server.work_dir();
    // A worker killed mid-build left its folder (its lock file, no longer held).
    let dead = work.join("nixspot-job-dead");
    std::fs::create_dir_all(&dead).unwrap();
    std::fs::write(dead.join(".worker.lock"), "").unwrap();
    std::fs::write(dead.join("half.img"), vec![0u8; 4096]).unwrap();
    // A running job of another worker: its lock is held.
    let live = work.join("nixspot-job-live");
    std::fs::create_dir_all(&live).unwrap();
    let held = std::fs::File::create(live.join(".worker.lock")).unwrap();
    held.lock_exclusive().unwrap();
    // Anything else in the work folder is not the worker's.
    let other = work.join("someone-else");
    std::fs::create_dir_all(&other).unwrap();
    let (stop, worker) = spawn_worker(server.config(TOKEN));
    server.until("a claim", |s| !s.claims.is_empty()).await;
    stop.cancel();
    worker.await.unwrap().unwrap();
    assert!(!dead.exists(), "the dead worker's folder is removed");
    assert!(
        live.join(".worker.lock").exists(),
        "a running job's folder stays"
    );
    assert!(other.exists());
    drop(held);
}
