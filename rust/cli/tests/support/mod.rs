//! Shared helpers for the CLI's integration tests: an offspot-shaped base image, a tiny
//! HTTP server on 127.0.0.1, the real oracles (sfdisk, e2fsck, debugfs, fsck.vfat).

#![allow(dead_code)] // each test binary uses a different subset

use nixspot_fs::ext4::{Entry, EntryKind, FileData, Meta, Size};
use nixspot_fs::image::{create_image, ext4_options, FatData, ImageSpec, PartitionContent};
use nixspot_fs::partition::TableKind;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};

/// The `nixspot` binary under test.
pub fn nixspot() -> Command {
    Command::new(env!("CARGO_BIN_EXE_nixspot"))
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

/// A minimal HTTP/1.1 server on 127.0.0.1 serving fixed bodies; 404 for anything else.
/// Counts requests so tests can assert what went over the network.
pub struct HttpServer {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// Request paths seen.
    pub requests: Arc<Mutex<Vec<String>>>,
}

impl HttpServer {
    /// Starts a server for `routes` (path → body) on a random port.
    pub fn start(routes: BTreeMap<String, Vec<u8>>) -> HttpServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("binding 127.0.0.1");
        let base = format!("http://{}", listener.local_addr().expect("local addr"));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = requests.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let routes = routes.clone();
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
                    let (status, body) = match routes.get(&path) {
                        Some(body) => ("200 OK", body.clone()),
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
