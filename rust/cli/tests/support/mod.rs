//! Shared helpers for the CLI's integration tests: an offspot-shaped base image, a tiny
//! HTTP server on 127.0.0.1, the real oracles (sfdisk, e2fsck, debugfs, fsck.vfat).

#![allow(dead_code)] // each test binary uses a different subset

pub mod imager;

use nixspot_fs::disk::{create_image, ext4_options, FatData, ImageSpec, PartitionContent};
use nixspot_fs::ext4::{Entry, EntryKind, FileData, Meta, Size};
use nixspot_fs::partition::TableKind;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};

/// The `nixspot` binary under test, with the device programs `nixspot:base` needs.
pub fn nixspot() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_nixspot"));
    cmd.env("NIXSPOT_DEVICE_BINARIES", device_binaries());
    cmd
}

/// Cargo's target directory (the binary under test is `<target>/<profile>/nixspot`).
pub fn target_dir() -> PathBuf {
    let exe = Path::new(env!("CARGO_BIN_EXE_nixspot"));
    exe.parent()
        .and_then(Path::parent)
        .unwrap_or(Path::new("target"))
        .to_path_buf()
}

/// nixspot's arm64 device programs for `nixspot:base`: the release builds `.ci/run`
/// makes before the tests.
pub fn device_binaries() -> PathBuf {
    let dir = target_dir().join("aarch64-unknown-linux-musl/release");
    for p in nixspot_base::DEVICE_PROGRAMS {
        assert!(
            dir.join(p).is_file(),
            "{} is missing: run `cargo build --release --target aarch64-unknown-linux-musl \
             -p nixspot-runtime -p nixspot-portal -p nixspot-dashboard` first (.ci/run does)",
            dir.join(p).display()
        );
    }
    dir
}

/// The `.deb`s of nixspot's base image (its embedded lock), downloaded once into a
/// cache the tests share, so each test can import them and build offline.
pub fn base_debs() -> &'static [PathBuf] {
    static DEBS: std::sync::OnceLock<Vec<PathBuf>> = std::sync::OnceLock::new();
    DEBS.get_or_init(|| {
        let shared = target_dir().join("nixspot-test-cache/base-debs");
        let out = run(Command::new(env!("CARGO_BIN_EXE_nixspot"))
            .args(["base", "fetch", "--cache-dir"])
            .arg(&shared));
        assert!(
            out.status.success(),
            "cannot download the base image's packages:\n{}",
            text(&out)
        );
        // nixspot's base image itself, built once here: tests hard-link it into their
        // caches instead of each building (and storing) their own
        let recipe = shared.join("nixspot-base-only.yaml");
        std::fs::write(
            &recipe,
            "base:\n  source: nixspot:base\n  rootfs_size: 1073741824\noutput:\n  size: auto\n\
             oci_images: []\nfiles: []\nwrite_config: false\noffspot: {}\n",
        )
        .expect("writing a recipe");
        let out = run(nixspot()
            .arg("fetch")
            .arg(&recipe)
            .arg("--cache-dir")
            .arg(&shared)
            .args(["--offline", "--quiet"]));
        assert!(
            out.status.success(),
            "cannot build nixspot's base image:\n{}",
            text(&out)
        );
        let lock = nixspot_base::on_demand::embedded_lock().expect("the embedded lock");
        lock.packages
            .values()
            .map(|p| {
                shared
                    .join("content")
                    .join(p.sha256.get(..2).unwrap_or("xx"))
                    .join(&p.sha256)
            })
            .collect()
    })
}

/// Imports the base image's `.deb`s into the cache at `cache`, and hard-links the base
/// image built from them (so the test does not build another).
pub fn seed_base_debs(cache: &Path) {
    let out = run(nixspot()
        .args(["cache", "add", "--cache-dir"])
        .arg(cache)
        .args(base_debs()));
    assert!(out.status.success(), "cache add failed:\n{}", text(&out));
    let built = target_dir().join("nixspot-test-cache/base-debs/base");
    let into = cache.join("base");
    std::fs::create_dir_all(&into).expect("mkdir");
    for entry in std::fs::read_dir(&built).expect("the shared base images") {
        let entry = entry.expect("listing");
        // Only the images: another test process building one keeps a scratch folder
        // here, which cannot be hard-linked (EPERM).
        if !entry.file_type().is_ok_and(|t| t.is_file()) {
            continue;
        }
        let path = entry.path();
        if let Some(name) = path.file_name() {
            match std::fs::hard_link(&path, into.join(name)) {
                // a partial image another test process was writing, renamed since
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                linked => linked.expect("hard-linking a base image"),
            }
        }
    }
}

/// One assembly test's folder: an offspot-shaped base image and a download cache.
pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub base: PathBuf,
    pub cache: PathBuf,
}

impl Fixture {
    pub fn new() -> Fixture {
        let dir = tempfile::tempdir().expect("tempdir");
        let base = dir.path().join("base.img");
        offspot_like_base(&base);
        let cache = dir.path().join("cache");
        Fixture { dir, base, cache }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `nixspot assemble` into `output` with the fixture's cache (a local base needs
    /// no device programs, so the binary is run as is).
    pub fn assemble(&self, recipe: &Path, output: &Path, extra: &[&str]) -> Output {
        run(Command::new(env!("CARGO_BIN_EXE_nixspot"))
            .arg("assemble")
            .arg("--quiet")
            .arg("--cache-dir")
            .arg(&self.cache)
            .args(extra)
            .arg(recipe)
            .arg(output))
    }
}

/// Runs a command, returning its output; panics with context if it cannot start.
pub fn run(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

/// Stdout + stderr as text.
pub fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn file(path: &str, content: &[u8]) -> Entry {
    Entry {
        path: PathBuf::from(path),
        kind: EntryKind::File(FileData::Bytes(content.to_vec())),
        meta: Meta {
            mtime: 1_700_000_000,
            ..Meta::new(0o644)
        },
    }
}

fn dir(path: &str) -> Entry {
    Entry {
        path: PathBuf::from(path),
        kind: EntryKind::Dir,
        meta: Meta::new(0o755),
    }
}

/// The default `offspot.yaml` offspot's base image ships.
pub const BASE_OFFSPOT_YAML: &str =
    "timezone: UTC\nhostname: base-image\nethernet:\n  type: dhcp\nap:\n  ssid: Offspot base-image\n  as-gateway: true\n";

/// Writes an image shaped like offspot's base image: MBR; p1 FAT32 `bootfs`; p2 ext4
/// `rootfs`; p3 ext4 `data` with `master_fs` and an image tarball in `images/`.
pub fn offspot_like_base(path: &Path) {
    let boot: BTreeMap<String, FatData> = [
        ("config.txt", "arm_64bit=1\n"),
        (
            "cmdline.txt",
            "console=serial0,115200 root=PARTUUID=0bf446a7-02\n",
        ),
        ("offspot.yaml", BASE_OFFSPOT_YAML),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), FatData::Bytes(v.as_bytes().to_vec())))
    .collect();
    let rootfs = vec![
        dir("etc"),
        file("etc/hostname", b"offspot-base\n"),
        file("etc/os-release", b"ID=raspbian\n"),
    ];
    let data = vec![
        file("master_fs", b""),
        dir("images"),
        file("images/base-tools.tar", &vec![7u8; 20_000]),
        dir("contents"),
    ];
    let minimal = Size::Minimal {
        margin_bytes: 1 << 20,
        margin_percent: 0,
    };
    create_image(
        path,
        ImageSpec {
            table: TableKind::Mbr,
            align: 4 << 20,
            seed: b"offspot-like-base".to_vec(),
            timestamp: 1_700_000_000,
            partitions: vec![
                PartitionContent::Fat32 {
                    size: 64 << 20,
                    label: "bootfs".into(),
                    files: boot,
                },
                PartitionContent::Ext4 {
                    options: ext4_options("rootfs", b"rootfs", 1_700_000_000, minimal),
                    entries: rootfs,
                },
                PartitionContent::Ext4 {
                    options: ext4_options("data", b"data", 1_700_000_000, minimal),
                    entries: data,
                },
            ],
            bootable: None,
        },
    )
    .expect("writing the base image fixture");
}

/// A partition as `sfdisk -J` reports it.
#[derive(Debug, Clone, Copy)]
pub struct Part {
    /// Start in bytes.
    pub start: u64,
    /// Size in bytes.
    pub size: u64,
    /// MBR type.
    pub kind: u8,
}

/// The partitions of `image`, read by the real `sfdisk`.
pub fn sfdisk_partitions(image: &Path) -> Vec<Part> {
    let out = run(Command::new("sfdisk").arg("-d").arg(image));
    assert!(out.status.success(), "sfdisk -d failed: {}", text(&out));
    let dump = String::from_utf8_lossy(&out.stdout).into_owned();
    dump.lines()
        .filter(|l| l.contains("start="))
        .map(|l| {
            let field = |name: &str| -> String {
                l.split(',')
                    .map(str::trim)
                    .find_map(|f| {
                        let f = f.split(':').next_back().unwrap_or(f).trim();
                        f.strip_prefix(name).map(|v| v.trim().to_string())
                    })
                    .unwrap_or_default()
            };
            Part {
                start: field("start=").parse::<u64>().unwrap_or(0) * 512,
                size: field("size=").parse::<u64>().unwrap_or(0) * 512,
                kind: u8::from_str_radix(&field("type="), 16).unwrap_or(0),
            }
        })
        .collect()
}

/// Asserts `e2fsck -fn` finds the ext4 filesystem at `offset` clean.
pub fn assert_e2fsck_clean(image: &Path, offset: u64) {
    let out = run(Command::new("e2fsck")
        .arg("-fn")
        .arg(format!("{}?offset={offset}", image.display())));
    assert!(
        out.status.success(),
        "e2fsck -fn at offset {offset} is not clean:\n{}",
        text(&out)
    );
}

/// Reads a file of the ext4 filesystem at `offset` with the real `debugfs`.
pub fn debugfs_cat(image: &Path, offset: u64, path: &str) -> Vec<u8> {
    let out = run(Command::new("debugfs")
        .arg("-R")
        .arg(format!("cat {path}"))
        .arg(format!("{}?offset={offset}", image.display())));
    assert!(out.status.success(), "debugfs cat {path}: {}", text(&out));
    out.stdout
}

/// `debugfs -R 'stat PATH'` output.
pub fn debugfs_stat(image: &Path, offset: u64, path: &str) -> String {
    let out = run(Command::new("debugfs")
        .arg("-R")
        .arg(format!("stat {path}"))
        .arg(format!("{}?offset={offset}", image.display())));
    text(&out)
}

/// Asserts `fsck.vfat -n` finds the FAT partition clean, and returns a file read back
/// with `mcopy`.
pub fn fat_check_and_read(image: &Path, part: Part, name: &str, scratch: &Path) -> Vec<u8> {
    let copy = scratch.join("fat-partition.img");
    let bytes = std::fs::read(image).expect("reading image");
    let start = part.start as usize;
    std::fs::write(&copy, &bytes[start..start + part.size as usize]).expect("writing copy");
    let out = run(Command::new("fsck.vfat").arg("-n").arg(&copy));
    assert!(out.status.success(), "fsck.vfat -n: {}", text(&out));
    let out = run(Command::new("mcopy")
        .arg("-n")
        .arg("-i")
        .arg(&copy)
        .arg(format!("::{name}"))
        .arg("-"));
    assert!(out.status.success(), "mcopy {name}: {}", text(&out));
    out.stdout
}

/// sha256 of a file, hex.
pub fn sha256_file(path: &Path) -> String {
    use sha2::{Digest, Sha256};
    let bytes = std::fs::read(path).expect("reading file to hash");
    Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A minimal HTTP/1.1 server on 127.0.0.1 (GET and HEAD; 404 for anything it does not
/// have). Counts requests so tests can assert what went over the network.
pub struct HttpServer {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// Request paths seen.
    pub requests: Arc<Mutex<Vec<String>>>,
}

impl HttpServer {
    /// Starts a server for `routes` (path → body) on a random port.
    pub fn start(routes: BTreeMap<String, Vec<u8>>) -> HttpServer {
        Self::serve(move |path| routes.get(path).cloned())
    }

    /// Starts a server for the files under `root` on a random port.
    pub fn serve_dir(root: &Path) -> HttpServer {
        let root = root.to_path_buf();
        Self::serve(move |path| {
            if path.contains("..") {
                return None;
            }
            std::fs::read(root.join(path.trim_start_matches('/'))).ok()
        })
    }

    /// Starts a server answering each request path with `body_for`.
    fn serve(body_for: impl Fn(&str) -> Option<Vec<u8>> + Send + Sync + 'static) -> HttpServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("binding 127.0.0.1");
        let base = format!("http://{}", listener.local_addr().expect("local addr"));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = requests.clone();
        let body_for = Arc::new(body_for);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let body_for = body_for.clone();
                let seen = seen.clone();
                std::thread::spawn(move || {
                    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                    let mut request_line = String::new();
                    if reader.read_line(&mut request_line).is_err() {
                        return;
                    }
                    loop {
                        let mut line = String::new();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                            break;
                        }
                    }
                    let mut parts = request_line.split_whitespace();
                    let method = parts.next().unwrap_or("").to_string();
                    let path = parts.next().unwrap_or("").to_string();
                    seen.lock().expect("lock").push(path.clone());
                    let (status, body) = match body_for(&path) {
                        Some(body) => ("200 OK", body),
                        None => ("404 Not Found", b"not found".to_vec()),
                    };
                    let head = format!(
                        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        body.len()
                    );
                    let _ = stream.write_all(head.as_bytes());
                    if method != "HEAD" {
                        let _ = stream.write_all(&body);
                    }
                });
            }
        });
        HttpServer { base, requests }
    }
}

/// Debian's `docker-registry` (distribution 2.8) on 127.0.0.1, stopped when dropped.
pub struct Registry {
    child: std::process::Child,
    /// `127.0.0.1:PORT`.
    pub addr: String,
    _dir: tempfile::TempDir,
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Registry {
    /// Starts a registry with an empty store and waits until it answers.
    pub fn start() -> Registry {
        let dir = tempfile::tempdir().expect("tempdir");
        let port = nixspot_testkit::free_port();
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
        .expect("registry config");
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&config)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("docker-registry must be installed (.ci/install-deps)");
        let registry = Registry {
            child,
            addr,
            _dir: dir,
        };
        for _ in 0..600 {
            if registry.answers() {
                return registry;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("docker-registry did not start on {}", registry.addr);
    }

    /// Whether `GET /v2/` answers 200.
    pub fn answers(&self) -> bool {
        use std::io::{Read, Write};
        let Ok(mut stream) = std::net::TcpStream::connect(&self.addr) else {
            return false;
        };
        let request = format!("GET /v2/ HTTP/1.0\r\nHost: {}\r\n\r\n", self.addr);
        let mut answer = String::new();
        stream.write_all(request.as_bytes()).is_ok()
            && stream.read_to_string(&mut answer).is_ok()
            && answer.starts_with("HTTP/1.")
            && answer.get(8..13) == Some(" 200 ")
    }
}
