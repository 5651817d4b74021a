//! Fault tests of the Imager's workers, all real processes: `nixspot imager serve`
//! (SQLite, or a real PostgreSQL from `nixspot_testkit`), `nixspot imager worker`
//! processes on their own caches, kiwix-serve as the catalog, a local HTTP server for
//! the downloads, curl as the API client. Orders end ready whatever happens to a
//! worker or the server mid-build, and the image is the one `nixspot build` makes from
//! the order's exported module and lock.
//!
//! Waits are on states the API reports (no durations asserted); the servers run with
//! a 15 s lease (`--lease`), which a lapsed lease takes.

mod support;

use nixspot_testkit::catalog::Book;
use nixspot_testkit::{KiwixServe, Postgres};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use support::{nixspot, run, seed_base_debs, sha256_file, text, HttpServer};

/// The catalog (kiwix-serve with one book) and the server its downloads come from.
struct World {
    dir: tempfile::TempDir,
    catalog: KiwixServe,
    _downloads: HttpServer,
}

impl World {
    fn new() -> World {
        let dir = tempfile::tempdir().expect("tempdir");
        let book = Book {
            meta4: true,
            favicon: false,
        };
        book.write_downloads(&dir.path().join("srv"));
        let downloads = HttpServer::serve_dir(&dir.path().join("srv"));
        let library = book.write_library(&dir.path().join("lib"), &downloads.base);
        let catalog = KiwixServe::start(&library);
        World {
            dir,
            catalog,
            _downloads: downloads,
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// A content cache holding nixspot's base image (as every worker's and the
    /// reference build's would after their first build).
    fn cache(&self, name: &str) -> PathBuf {
        let cache = self.path(name);
        seed_base_debs(&cache);
        cache
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// A process killed when dropped, its output in a log file.
struct Proc {
    child: Option<Child>,
    log: PathBuf,
}

impl Proc {
    fn spawn(cmd: &mut Command, log: PathBuf) -> Proc {
        let file = std::fs::File::create(&log).expect("log file");
        let child = cmd
            .stdin(Stdio::null())
            .stdout(file.try_clone().expect("log"))
            .stderr(file)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
        Proc {
            child: Some(child),
            log,
        }
    }

    /// SIGKILL: no clean-up, no goodbye to the server.
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM, then waits for the process to end.
    fn terminate(&mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("a running process");
        let out = run(Command::new("kill").args(["-TERM", &child.id().to_string()]));
        assert!(out.status.success(), "kill -TERM: {}", text(&out));
        child.wait().expect("waiting for the process")
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

/// `nixspot imager serve` with its data in `data` (and the database `database`).
struct Imager {
    url: String,
    port: u16,
    data: PathBuf,
    database: Option<String>,
    catalog: String,
    cache: PathBuf,
    proc: Proc,
}

impl Imager {
    fn start(world: &World, data: &str, database: Option<String>) -> Imager {
        let port = free_port();
        let data = world.path(data);
        let cache = data.with_extension("server-cache");
        let proc = Imager::serve(port, &data, database.as_deref(), &world.catalog.url, &cache);
        let imager = Imager {
            url: format!("http://127.0.0.1:{port}"),
            port,
            data,
            database,
            catalog: world.catalog.url.clone(),
            cache,
            proc,
        };
        imager.wait_up();
        imager
    }

    fn serve(port: u16, data: &Path, database: Option<&str>, catalog: &str, cache: &Path) -> Proc {
        let mut cmd = nixspot();
        cmd.args(["imager", "serve", "--workers", "0", "--listen"])
            .arg(format!("127.0.0.1:{port}"))
            .arg("--data-dir")
            .arg(data)
            .args(["--catalog", catalog])
            .arg("--cache-dir")
            .arg(cache)
            // A short lease: a killed worker's job comes back in 15 s, not 30 s.
            .args(["--lease", "15s"]);
        if let Some(db) = database {
            cmd.args(["--database", db]);
        }
        std::fs::create_dir_all(data).expect("data dir");
        Proc::spawn(&mut cmd, data.with_extension(format!("serve-{port}.log")))
    }

    /// Kills the server and starts it again on the same port and data.
    fn restart(&mut self) {
        self.proc.kill();
        self.proc = Imager::serve(
            self.port,
            &self.data,
            self.database.as_deref(),
            &self.catalog,
            &self.cache,
        );
        self.wait_up();
    }

    fn wait_up(&self) {
        for _ in 0..1200 {
            if curl(&["-o", "/dev/null", "-w", "%{http_code}", &self.url]).1 != "000" {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("the Imager did not start:\n{}", self.proc.log());
    }

    fn store_args(&self, cmd: &mut Command) {
        cmd.arg("--data-dir").arg(&self.data);
        if let Some(db) = &self.database {
            cmd.args(["--database", db]);
        }
    }

    /// Adds a user (`--worker` or `--admin` in `role`) and returns a token of theirs.
    fn user(&self, name: &str, role: &[&str]) -> String {
        let mut add = nixspot();
        add.args(["imager", "user", "add", name, "--password-stdin", "--email"])
            .arg(format!("{name}@example.org"))
            .args(role);
        self.store_args(&mut add);
        let mut child = add
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("nixspot imager user add");
        use std::io::Write as _;
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(b"a long password")
            .expect("password");
        let out = child.wait_with_output().expect("user add");
        assert!(out.status.success(), "user add {name}: {}", text(&out));
        let mut create = nixspot();
        create.args(["imager", "token", "create", "--user", name]);
        self.store_args(&mut create);
        let out = run(&mut create);
        assert!(out.status.success(), "token create {name}: {}", text(&out));
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .last()
            .expect("the token on the last line")
            .trim()
            .to_string()
    }

    fn api(&self, method: &str, path: &str, token: &str, body: Option<&Value>) -> (u16, Value) {
        let url = format!("{}{path}", self.url);
        let auth = format!("Authorization: Bearer {token}");
        let mut args = vec!["-X", method, "-H", &auth, "-w", "\n%{http_code}"];
        let body_text = body.map(Value::to_string);
        if let Some(b) = &body_text {
            args.extend(["-H", "Content-Type: application/json", "--data-binary", b]);
        }
        args.push(&url);
        let (body, status) = curl(&args);
        (
            status.parse().unwrap_or(0),
            serde_json::from_str(&body).unwrap_or(Value::Null),
        )
    }

    /// Creates the school configuration and orders it `count` times; returns the
    /// configuration's id and the orders'.
    fn order(&self, token: &str, count: usize) -> (String, Vec<String>) {
        let (status, created) = self.api("POST", "/api/v1/configurations", token, Some(&school()));
        assert_eq!(status, 201, "{created}");
        let config = created["id"].as_str().expect("an id").to_string();
        let orders = (0..count)
            .map(|_| {
                let (status, order) = self.api(
                    "POST",
                    "/api/v1/orders",
                    token,
                    Some(&json!({"configuration": config})),
                );
                assert!(status == 200 || status == 201, "{status}: {order}");
                order["id"].as_str().expect("an order id").to_string()
            })
            .collect();
        (config, orders)
    }

    fn state(&self, token: &str, order: &str) -> Value {
        let (status, state) = self.api("GET", &format!("/api/v1/orders/{order}"), token, None);
        assert_eq!(status, 200, "{state}");
        state
    }

    /// Waits until `order` is in `state` (or fails the test if it ends otherwise).
    fn wait_for(&self, token: &str, order: &str, state: &str, workers: &[&Proc]) -> Value {
        for _ in 0..6000 {
            let now = self.state(token, order);
            if now["state"] == json!(state) {
                return now;
            }
            let finished = now["state"] == json!("failed") || now["state"] == json!("ready");
            assert!(
                !finished,
                "order {order} ended {now} while waiting for {state}; worker logs:\n{}",
                workers
                    .iter()
                    .map(|w| w.log())
                    .collect::<Vec<_>>()
                    .join("\n----\n")
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!(
            "order {order} never became {state}: {}",
            self.state(token, order)
        );
    }

    fn worker(&self, world: &World, name: &str, token: &str, cache: &Path) -> Proc {
        let work = world.path(&format!("work-{name}"));
        let mut cmd = nixspot();
        cmd.args([
            "imager", "worker", "--server", &self.url, "--token", token, "--name", name,
        ])
        .arg("--cache-dir")
        .arg(cache)
        .arg("--work-dir")
        .arg(&work)
        .args(["--poll-interval", "0.2"]);
        Proc::spawn(&mut cmd, world.path(&format!("worker-{name}.log")))
    }

    /// Downloads the order's image and checks it against the order's sha256.
    fn download(&self, token: &str, order: &str, into: &Path) -> String {
        let url = format!("{}/api/v1/orders/{order}/image", self.url);
        let auth = format!("Authorization: Bearer {token}");
        let out = into.display().to_string();
        let (_, status) = curl(&["-L", "-H", &auth, "-o", &out, "-w", "%{http_code}", &url]);
        assert_eq!(status, "200", "downloading the image of {order}");
        sha256_file(into)
    }

    /// `nixspot build` of the configuration's exported module and lock (a cache of its
    /// own): the reference image's sha256.
    fn reference_build(&self, world: &World, token: &str, config: &str) -> String {
        let module = world.path("exported.nix");
        let lock = world.path("exported.lock.json");
        for (what, path) in [("module.nix", &module), ("lock.json", &lock)] {
            let url = format!("{}/api/v1/configurations/{config}/{what}", self.url);
            let auth = format!("Authorization: Bearer {token}");
            let out = path.display().to_string();
            let (_, status) = curl(&["-H", &auth, "-o", &out, "-w", "%{http_code}", &url]);
            assert_eq!(status, "200", "exporting {what}");
        }
        let image = world.path("reference.img");
        let out = run(nixspot()
            .arg("build")
            .arg(&module)
            .arg("--lock")
            .arg(&lock)
            .args(["--locked", "--quiet", "-o"])
            .arg(&image)
            .arg("--cache-dir")
            .arg(world.cache("reference-cache")));
        assert!(out.status.success(), "nixspot build: {}", text(&out));
        sha256_file(&image)
    }
}

/// curl's body and its last line (the `-w` status), or "000" when nothing answered.
fn curl(args: &[&str]) -> (String, String) {
    let out = run(Command::new("curl").arg("-s").args(args));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    match stdout.rsplit_once('\n') {
        Some((body, status)) => (body.to_string(), status.trim().to_string()),
        None => (String::new(), stdout.trim().to_string()),
    }
}

/// The test catalog's book on nixspot's base.
fn school() -> Value {
    json!({"hotspot": {
        "name": "School Library",
        "domain": "library",
        "ap": {"ssid": "School Library"},
        "base": {"source": "nixspot:base"},
        "zims": {"wikibooks": {"package": "wikibooks_be_all:nopic"}},
    }})
}

#[test]
fn a_worker_killed_mid_build_loses_the_job_to_another_which_makes_the_same_image() {
    let world = World::new();
    let imager = Imager::start(&world, "data", None);
    let alice = imager.user("alice", &[]);
    let worker_token = imager.user("build-1", &["--worker"]);
    let (config, orders) = imager.order(&alice, 1);
    let order = &orders[0];

    let cache_first = world.cache("cache-first");
    let mut first = imager.worker(&world, "first", &worker_token, &cache_first);
    imager.wait_for(&alice, order, "building", &[&first]);
    let jobs_left = || {
        std::fs::read_dir(world.path("work-first"))
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .filter(|e| e.file_name().to_string_lossy().starts_with("nixspot-job-"))
                    .count()
            })
            .unwrap_or(0)
    };
    // Killed once its job folder exists (right after the claim).
    for _ in 0..1200 {
        if jobs_left() > 0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    first.kill();
    // The lease lapses (nobody renews it), the job goes back to the queue, and a second
    // worker on another cache builds it.
    let second = imager.worker(
        &world,
        "second",
        &worker_token,
        &world.cache("cache-second"),
    );
    let ready = imager.wait_for(&alice, order, "ready", &[&second]);
    assert_eq!(ready["attempts"], json!(2), "{ready}");

    let sha = imager.download(&alice, order, &world.path("ordered.img"));
    assert_eq!(
        ready["sha256"],
        json!(sha),
        "the download is the image the order names"
    );
    assert_eq!(
        imager.reference_build(&world, &alice, &config),
        sha,
        "the order's image is nixspot build's of its exported module and lock"
    );
    let leftovers: Vec<_> = std::fs::read_dir(world.path("work-second"))
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    assert_eq!(
        leftovers,
        Vec::<PathBuf>::new(),
        "the second worker cleaned up"
    );

    // The killed worker left its job folder; restarted on the same work folder, it
    // removes it before claiming anything.
    assert_eq!(jobs_left(), 1, "the killed worker's job folder");
    let restarted = imager.worker(&world, "first", &worker_token, &cache_first);
    for _ in 0..1200 {
        if jobs_left() == 0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(jobs_left(), 0, "{}", restarted.log());
}

#[test]
fn many_orders_through_two_workers_on_postgres_none_lost_none_built_twice() {
    let world = World::new();
    let postgres = Postgres::start();
    let imager = Imager::start(&world, "data", Some(postgres.url()));
    let worker_token = imager.user("build-1", &["--worker"]);
    // One in-progress order per person: four people order at once.
    let people: Vec<(String, String)> = ["ana", "ben", "chloe", "dev"]
        .iter()
        .map(|name| (name.to_string(), imager.user(name, &[])))
        .collect();
    let orders: Vec<(String, String)> = people
        .iter()
        .map(|(_, token)| (token.clone(), imager.order(token, 1).1.remove(0)))
        .collect();
    let a = imager.worker(&world, "a", &worker_token, &world.cache("cache-a"));
    let b = imager.worker(&world, "b", &worker_token, &world.cache("cache-b"));
    let mut shas = BTreeSet::new();
    for (token, order) in &orders {
        let ready = imager.wait_for(token, order, "ready", &[&a, &b]);
        assert_eq!(ready["attempts"], json!(1), "built once: {ready}");
        shas.insert(ready["sha256"].as_str().expect("a sha256").to_string());
    }
    assert_eq!(shas.len(), 1, "one module and lock, one image: {shas:?}");
    let claimed = postgres.psql("SELECT count(*) FROM orders WHERE state = 'ready'");
    assert_eq!(claimed.trim(), "4", "the database holds four ready orders");
    for (name, log) in [("a", a.log()), ("b", b.log())] {
        assert!(!log.contains("panicked"), "worker {name}:\n{log}");
    }
}

#[test]
fn a_worker_rides_out_a_server_restart_mid_build() {
    let world = World::new();
    let mut imager = Imager::start(&world, "data", None);
    let alice = imager.user("alice", &[]);
    let worker_token = imager.user("build-1", &["--worker"]);
    let (_, orders) = imager.order(&alice, 1);
    let order = &orders[0];
    let worker = imager.worker(&world, "w", &worker_token, &world.cache("cache-w"));
    imager.wait_for(&alice, order, "building", &[&worker]);
    imager.restart();
    let ready = imager.wait_for(&alice, order, "ready", &[&worker]);
    assert_eq!(
        ready["attempts"],
        json!(1),
        "the same lease carried on: {ready}"
    );
    let sha = imager.download(&alice, order, &world.path("ordered.img"));
    assert_eq!(ready["sha256"], json!(sha));
}

#[test]
fn a_worker_stopped_by_sigterm_removes_its_files_and_does_not_fail_the_order() {
    let world = World::new();
    let imager = Imager::start(&world, "data", None);
    let alice = imager.user("alice", &[]);
    let worker_token = imager.user("build-1", &["--worker"]);
    let (_, orders) = imager.order(&alice, 1);
    let order = &orders[0];
    let mut worker = imager.worker(&world, "w", &worker_token, &world.cache("cache-w"));
    imager.wait_for(&alice, order, "building", &[&worker]);
    let status = worker.terminate();
    assert!(status.success(), "{status}: {}", worker.log());
    let leftovers: Vec<_> = std::fs::read_dir(world.path("work-w"))
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    assert_eq!(
        leftovers,
        Vec::<PathBuf>::new(),
        "the job's folder is removed"
    );
    // Not failed: the lease is left to lapse, so the job will be built again.
    let state = imager.state(&alice, order);
    assert_eq!(state["state"], json!("building"), "{state}");
    assert!(
        worker.log().contains("lease will lapse"),
        "{}",
        worker.log()
    );
}
