//! The Imager's world for the CLI's tests: `nixspot imager serve` as a process (SQLite
//! or PostgreSQL, with or without embedded workers), kiwix-serve as its catalog, a
//! local HTTP server for the catalog's downloads, curl as the API client, and
//! `nixspot build` of an order's exported module and lock.

use super::{nixspot, run, seed_base_debs, sha256_file, text, HttpServer};
use nixspot_testkit::catalog::Book;
use nixspot_testkit::{free_port, KiwixServe};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The catalog (kiwix-serve with one book) and the server its downloads come from.
pub struct World {
    pub dir: tempfile::TempDir,
    pub catalog: KiwixServe,
    _downloads: HttpServer,
}

impl World {
    pub fn new() -> World {
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

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// A content cache holding nixspot's base image (as every worker's and the
    /// reference build's would after their first build).
    pub fn cache(&self, name: &str) -> PathBuf {
        let cache = self.path(name);
        seed_base_debs(&cache);
        cache
    }
}

/// A process killed when dropped, its output in a log file.
pub struct Proc {
    child: Option<Child>,
    log: PathBuf,
}

impl Proc {
    pub fn spawn(cmd: &mut Command, log: PathBuf) -> Proc {
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
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM, then waits for the process to end.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("a running process");
        let out = run(Command::new("kill").args(["-TERM", &child.id().to_string()]));
        assert!(out.status.success(), "kill -TERM: {}", text(&out));
        child.wait().expect("waiting for the process")
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

/// `nixspot imager serve` with its data in `data` (and the database `database`).
pub struct Imager {
    pub url: String,
    pub port: u16,
    pub data: PathBuf,
    pub database: Option<String>,
    pub catalog: String,
    pub cache: PathBuf,
    /// Workers embedded in the server (`--workers`).
    pub workers: usize,
    /// `--lease`.
    pub lease: String,
    pub proc: Proc,
}

impl Imager {
    /// The server without embedded workers (`--workers 0`: `nixspot imager worker`
    /// processes build), a 15 s lease.
    pub fn start(world: &World, data: &str, database: Option<String>) -> Imager {
        Imager::start_with(world, data, database, 0, "15s")
    }

    /// The server with `workers` embedded workers (building in `<data>/work` with the
    /// server's cache, seeded with nixspot's base image) and a lease of `lease`.
    pub fn start_with(
        world: &World,
        data: &str,
        database: Option<String>,
        workers: usize,
        lease: &str,
    ) -> Imager {
        let port = free_port();
        let data = world.path(data);
        let cache = data.with_extension("server-cache");
        if workers > 0 {
            seed_base_debs(&cache);
        }
        let mut imager = Imager {
            url: format!("http://127.0.0.1:{port}"),
            port,
            data,
            database,
            catalog: world.catalog.url.clone(),
            cache,
            workers,
            lease: lease.to_string(),
            proc: Proc {
                child: None,
                log: PathBuf::new(),
            },
        };
        imager.proc = imager.serve();
        imager.wait_up();
        imager
    }

    fn serve(&self) -> Proc {
        let mut cmd = nixspot();
        cmd.args([
            "imager",
            "serve",
            "--workers",
            &self.workers.to_string(),
            "--listen",
        ])
        .arg(format!("127.0.0.1:{}", self.port))
        .arg("--data-dir")
        .arg(&self.data)
        .args(["--catalog", &self.catalog])
        .arg("--cache-dir")
        .arg(&self.cache)
        // Tests run short leases (the default is 30 s): a killed worker's job comes back sooner.
        .args(["--lease", &self.lease]);
        if let Some(db) = &self.database {
            cmd.args(["--database", db]);
        }
        std::fs::create_dir_all(&self.data).expect("data dir");
        Proc::spawn(
            &mut cmd,
            self.data.with_extension(format!("serve-{}.log", self.port)),
        )
    }

    /// Kills the server and starts it again on the same port and data.
    pub fn restart(&mut self) {
        self.proc.kill();
        self.proc = self.serve();
        self.wait_up();
    }

    pub fn wait_up(&self) {
        for _ in 0..1200 {
            if curl(&["-o", "/dev/null", "-w", "%{http_code}", &self.url]).1 != "000" {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("the Imager did not start:\n{}", self.proc.log());
    }

    pub fn store_args(&self, cmd: &mut Command) {
        cmd.arg("--data-dir").arg(&self.data);
        if let Some(db) = &self.database {
            cmd.args(["--database", db]);
        }
    }

    /// Adds a user (`--worker` or `--admin` in `role`) and returns a token of theirs.
    pub fn user(&self, name: &str, role: &[&str]) -> String {
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

    pub fn api(&self, method: &str, path: &str, token: &str, body: Option<&Value>) -> (u16, Value) {
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
    pub fn order(&self, token: &str, count: usize) -> (String, Vec<String>) {
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

    pub fn state(&self, token: &str, order: &str) -> Value {
        let (status, state) = self.api("GET", &format!("/api/v1/orders/{order}"), token, None);
        assert_eq!(status, 200, "{state}");
        state
    }

    /// Waits until `order` is in `state` (or fails the test if it ends otherwise).
    pub fn wait_for(&self, token: &str, order: &str, state: &str, workers: &[&Proc]) -> Value {
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

    pub fn worker(&self, world: &World, name: &str, token: &str, cache: &Path) -> Proc {
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
    pub fn download(&self, token: &str, order: &str, into: &Path) -> String {
        let url = format!("{}/api/v1/orders/{order}/image", self.url);
        let auth = format!("Authorization: Bearer {token}");
        let out = into.display().to_string();
        let (_, status) = curl(&["-L", "-H", &auth, "-o", &out, "-w", "%{http_code}", &url]);
        assert_eq!(status, "200", "downloading the image of {order}");
        sha256_file(into)
    }

    /// `nixspot build` of the configuration's exported module and lock (a cache of its
    /// own): the reference image's sha256.
    pub fn reference_build(&self, world: &World, token: &str, config: &str) -> String {
        let module = world.path("exported.nix");
        let lock = world.path("exported.lock.json");
        for (what, path) in [("module.nix", &module), ("lock.json", &lock)] {
            let url = format!("{}/api/v1/configurations/{config}/{what}", self.url);
            let auth = format!("Authorization: Bearer {token}");
            let out = path.display().to_string();
            let (_, status) = curl(&["-H", &auth, "-o", &out, "-w", "%{http_code}", &url]);
            assert_eq!(status, "200", "exporting {what}");
        }
        build_module(world, &module, &lock, "reference")
    }
}

/// `nixspot build` of an exported module and lock, locked, with a content cache of
/// its own (`<name>-cache`, seeded with nixspot's base image) into `<name>.img`: that
/// image's sha256.
pub fn build_module(world: &World, module: &Path, lock: &Path, name: &str) -> String {
    let image = world.path(&format!("{name}.img"));
    let out = run(nixspot()
        .arg("build")
        .arg(module)
        .arg("--lock")
        .arg(lock)
        .args(["--locked", "--quiet", "-o"])
        .arg(&image)
        .arg("--cache-dir")
        .arg(world.cache(&format!("{name}-cache"))));
    assert!(out.status.success(), "nixspot build: {}", text(&out));
    sha256_file(&image)
}

/// curl's body and its last line (the `-w` status), or "000" when nothing answered.
pub fn curl(args: &[&str]) -> (String, String) {
    let out = run(Command::new("curl").arg("-s").args(args));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    match stdout.rsplit_once('\n') {
        Some((body, status)) => (body.to_string(), status.trim().to_string()),
        None => (String::new(), stdout.trim().to_string()),
    }
}

/// The test catalog's book on nixspot's base.
pub fn school() -> Value {
    json!({"hotspot": {
        "name": "School Library",
        "domain": "library",
        "ap": {"ssid": "School Library"},
        "base": {"source": "nixspot:base"},
        "zims": {"wikibooks": {"package": "wikibooks_be_all:nopic"}},
    }})
}
