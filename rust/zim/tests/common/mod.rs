//! Test helpers: fixture paths, real-tool runners, and a small ZIM writer for layouts and
//! cluster kinds the openZIM fixtures do not cover (C namespace, zstd, extended offsets,
//! redirect cycles). Compression is done by the real `xz` and `zstd` programs.

#![allow(dead_code)]

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use md5::{Digest, Md5};

/// Path of a file in `shared/fixtures/zim/`.
pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/fixtures/zim/"
    ))
    .join(name)
}

/// Runs a program (which must exist: CI installs it) and returns its stdout.
pub fn run(program: &str, args: &[&str], stdin: &[u8]) -> Vec<u8> {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {program} (listed in .ci/install-deps): {e}"));
    let mut input = child.stdin.take().expect("stdin");
    let data = stdin.to_vec();
    let writer = std::thread::spawn(move || input.write_all(&data));
    let out = child.wait_with_output().expect("wait");
    writer.join().expect("join").expect("write stdin");
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// How a synthetic cluster is stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Comp {
    None,
    Xz,
    Zstd,
}

/// A synthetic entry.
#[derive(Clone, Debug)]
pub enum Target {
    /// (mime, cluster, blob)
    Content(&'static str, u32, u32),
    /// (namespace, path) of the target
    Redirect(char, String),
}

/// A tiny ZIM writer following the format spec.
pub struct ZimBuilder {
    pub major: u16,
    pub minor: u16,
    pub entries: Vec<(char, String, String, Target)>,
    pub clusters: Vec<(Comp, bool, Vec<Vec<u8>>)>,
    pub main_page: Option<(char, String)>,
}

impl ZimBuilder {
    pub fn new(major: u16, minor: u16) -> Self {
        ZimBuilder {
            major,
            minor,
            entries: Vec::new(),
            clusters: Vec::new(),
            main_page: None,
        }
    }

    /// Adds a cluster and returns its number.
    pub fn cluster(&mut self, comp: Comp, extended: bool, blobs: Vec<Vec<u8>>) -> u32 {
        self.clusters.push((comp, extended, blobs));
        (self.clusters.len() - 1) as u32
    }

    pub fn content(
        &mut self,
        ns: char,
        path: &str,
        title: &str,
        mime: &'static str,
        c: u32,
        b: u32,
    ) {
        self.entries
            .push((ns, path.into(), title.into(), Target::Content(mime, c, b)));
    }

    pub fn redirect(&mut self, ns: char, path: &str, to_ns: char, to: &str) {
        self.entries.push((
            ns,
            path.into(),
            String::new(),
            Target::Redirect(to_ns, to.into()),
        ));
    }

    pub fn build(&self) -> Vec<u8> {
        let mut entries = self.entries.clone();
        entries.sort_by(|a, b| (a.0 as u32, a.1.as_bytes()).cmp(&(b.0 as u32, b.1.as_bytes())));
        let index_of = |ns: char, path: &str| {
            entries
                .iter()
                .position(|e| e.0 == ns && e.1 == path)
                .unwrap_or_else(|| panic!("no entry {ns}/{path}")) as u32
        };
        let mut mimes: Vec<&str> = entries
            .iter()
            .filter_map(|e| match e.3 {
                Target::Content(m, _, _) => Some(m),
                _ => None,
            })
            .collect();
        mimes.sort();
        mimes.dedup();

        let mut mime_list = Vec::new();
        for m in &mimes {
            mime_list.extend_from_slice(m.as_bytes());
            mime_list.push(0);
        }
        mime_list.push(0);

        let mut dirents = Vec::new();
        for e in &entries {
            let mut d = Vec::new();
            match &e.3 {
                Target::Content(m, c, b) => {
                    let mi = mimes.iter().position(|x| x == m).unwrap() as u16;
                    d.extend_from_slice(&mi.to_le_bytes());
                    d.push(0);
                    d.push(e.0 as u8);
                    d.extend_from_slice(&0u32.to_le_bytes());
                    d.extend_from_slice(&c.to_le_bytes());
                    d.extend_from_slice(&b.to_le_bytes());
                }
                Target::Redirect(ns, p) => {
                    d.extend_from_slice(&0xffffu16.to_le_bytes());
                    d.push(0);
                    d.push(e.0 as u8);
                    d.extend_from_slice(&0u32.to_le_bytes());
                    d.extend_from_slice(&index_of(*ns, p).to_le_bytes());
                }
            }
            d.extend_from_slice(e.1.as_bytes());
            d.push(0);
            d.extend_from_slice(e.2.as_bytes());
            d.push(0);
            dirents.push(d);
        }

        let n = entries.len() as u64;
        let mime_pos = 80u64;
        let url_ptr_pos = mime_pos + mime_list.len() as u64;
        let title_ptr_pos = url_ptr_pos + 8 * n;
        let mut pos = title_ptr_pos + 4 * n;
        let mut dirent_pos = Vec::new();
        for d in &dirents {
            dirent_pos.push(pos);
            pos += d.len() as u64;
        }
        let mut cluster_bytes = Vec::new();
        let mut cluster_pos = Vec::new();
        for (comp, ext, blobs) in &self.clusters {
            cluster_pos.push(pos);
            let c = encode_cluster(*comp, *ext, blobs);
            pos += c.len() as u64;
            cluster_bytes.push(c);
        }
        let cluster_ptr_pos = pos;
        let checksum_pos = cluster_ptr_pos + 8 * self.clusters.len() as u64;

        let mut titles: Vec<u32> = (0..n as u32).collect();
        titles.sort_by(|&a, &b| {
            let ea = &entries[a as usize];
            let eb = &entries[b as usize];
            let ta = if ea.2.is_empty() { &ea.1 } else { &ea.2 };
            let tb = if eb.2.is_empty() { &eb.1 } else { &eb.2 };
            (ea.0 as u32, ta).cmp(&(eb.0 as u32, tb))
        });

        let main = self
            .main_page
            .as_ref()
            .map_or(u32::MAX, |(ns, p)| index_of(*ns, p));
        let mut out = Vec::new();
        out.extend_from_slice(&72_173_914u32.to_le_bytes());
        out.extend_from_slice(&self.major.to_le_bytes());
        out.extend_from_slice(&self.minor.to_le_bytes());
        out.extend_from_slice(&[7u8; 16]);
        out.extend_from_slice(&(n as u32).to_le_bytes());
        out.extend_from_slice(&(self.clusters.len() as u32).to_le_bytes());
        out.extend_from_slice(&url_ptr_pos.to_le_bytes());
        out.extend_from_slice(&title_ptr_pos.to_le_bytes());
        out.extend_from_slice(&cluster_ptr_pos.to_le_bytes());
        out.extend_from_slice(&mime_pos.to_le_bytes());
        out.extend_from_slice(&main.to_le_bytes());
        out.extend_from_slice(&u32::MAX.to_le_bytes());
        out.extend_from_slice(&checksum_pos.to_le_bytes());
        out.extend_from_slice(&mime_list);
        for p in &dirent_pos {
            out.extend_from_slice(&p.to_le_bytes());
        }
        for t in &titles {
            out.extend_from_slice(&t.to_le_bytes());
        }
        for d in &dirents {
            out.extend_from_slice(d);
        }
        for c in &cluster_bytes {
            out.extend_from_slice(c);
        }
        for p in &cluster_pos {
            out.extend_from_slice(&p.to_le_bytes());
        }
        assert_eq!(out.len() as u64, checksum_pos);
        let sum = Md5::digest(&out);
        out.extend_from_slice(&sum);
        out
    }
}

/// Encodes a cluster: info byte, then (possibly compressed) offsets + blobs.
pub fn encode_cluster(comp: Comp, extended: bool, blobs: &[Vec<u8>]) -> Vec<u8> {
    let osz = if extended { 8 } else { 4 };
    let mut raw = Vec::new();
    let mut off = (blobs.len() as u64 + 1) * osz;
    let mut offsets = vec![off];
    for b in blobs {
        off += b.len() as u64;
        offsets.push(off);
    }
    for o in offsets {
        if extended {
            raw.extend_from_slice(&o.to_le_bytes());
        } else {
            raw.extend_from_slice(&(o as u32).to_le_bytes());
        }
    }
    for b in blobs {
        raw.extend_from_slice(b);
    }
    let (code, body) = match comp {
        Comp::None => (1u8, raw),
        Comp::Xz => (4, run("xz", &["--format=xz", "-c", "-6"], &raw)),
        Comp::Zstd => (5, run("zstd", &["-q", "-c", "-19"], &raw)),
    };
    let mut out = vec![code | if extended { 0x10 } else { 0 }];
    out.extend_from_slice(&body);
    out
}

/// Finding 11 of issue 19: a small ZIM whose Title, Description and 48 px illustration are one 256 MiB blob of
/// zeros in a zstd cluster; `M/Name` is fine and sits after 40 MiB of padding.
pub fn hostile_zim() -> Vec<u8> {
    let mut z = ZimBuilder::new(6, 1);
    let bomb = z.cluster(Comp::Zstd, false, vec![vec![0u8; 256 << 20]]);
    let padded = z.cluster(
        Comp::Zstd,
        false,
        vec![vec![0u8; 40 << 20], b"padded".to_vec()],
    );
    let fine = z.cluster(
        Comp::Zstd,
        false,
        vec![b"eng".to_vec(), b"<p>x</p>".to_vec()],
    );
    for name in ["Title", "Description", "Illustration_48x48@1"] {
        z.content('M', name, "", "text/plain", bomb, 0);
    }
    z.content('M', "Language", "", "text/plain", fine, 0);
    z.content('M', "Name", "", "text/plain", padded, 1);
    z.content('C', "index", "Index", "text/html", fine, 1);
    z.main_page = Some(('C', "index".into()));
    z.build()
}
