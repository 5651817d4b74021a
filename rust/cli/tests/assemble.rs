//! `nixspot assemble` end to end, through the real binary, checked with the real
//! oracles: sfdisk, e2fsck, debugfs, fsck.vfat, mcopy.

mod support;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use support::*;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn sha256(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex(&Sha256::digest(bytes))
}

fn md5(bytes: &[u8]) -> String {
    use md5::{Digest, Md5};
    hex(&Md5::digest(bytes))
}

/// A tar archive with a file, a nested file, a symlink and a directory.
fn tar_bytes() -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    let mut add = |path: &str, data: &[u8], mode: u32| {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(mode);
        header.set_mtime(1_600_000_000);
        header.set_entry_type(tar::EntryType::Regular);
        builder
            .append_data(&mut header, path, data)
            .expect("tar append");
    };
    add("readme.txt", b"from a tar\n", 0o644);
    add("bin/tool.sh", b"#!/bin/sh\necho hi\n", 0o755);
    add("__MACOSX/._readme.txt", b"clutter", 0o644);
    let mut link = tar::Header::new_gnu();
    link.set_entry_type(tar::EntryType::Symlink);
    link.set_size(0);
    link.set_mode(0o777);
    builder
        .append_link(&mut link, "latest.txt", "readme.txt")
        .expect("tar link");
    builder.into_inner().expect("tar finish")
}

fn gz(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(data).expect("gz");
    enc.finish().expect("gz")
}

fn bz(data: &[u8]) -> Vec<u8> {
    let mut enc = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::default());
    enc.write_all(data).expect("bz2");
    enc.finish().expect("bz2")
}

fn xz(data: &[u8]) -> Vec<u8> {
    let mut enc = xz2::write::XzEncoder::new(Vec::new(), 6);
    enc.write_all(data).expect("xz");
    enc.finish().expect("xz")
}

fn zip_bytes(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, data) in members {
        zip.start_file(*name, zip::write::SimpleFileOptions::default())
            .expect("zip start");
        zip.write_all(data).expect("zip write");
    }
    zip.finish().expect("zip finish").into_inner()
}

struct Fixture {
    dir: tempfile::TempDir,
    base: PathBuf,
    cache: PathBuf,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().expect("tempdir");
        let base = dir.path().join("base.img");
        offspot_like_base(&base);
        let cache = dir.path().join("cache");
        Fixture { dir, base, cache }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, bytes).expect("writing fixture file");
        path
    }

    fn assemble(&self, recipe: &Path, output: &Path, extra: &[&str]) -> std::process::Output {
        run(nixspot()
            .arg("assemble")
            .arg("--quiet")
            .arg("--cache-dir")
            .arg(&self.cache)
            .args(extra)
            .arg(recipe)
            .arg(output))
    }
}

fn file_url(path: &Path) -> String {
    format!("file://{}", path.display())
}

#[test]
fn every_via_and_checksum_form_lands_where_image_creator_puts_it() {
    let fx = Fixture::new();
    let tar = tar_bytes();
    let zim = b"pretend this is a ZIM file".repeat(1000);
    let zim_path = fx.write("content.zim", &zim);
    let mut routes = BTreeMap::new();
    routes.insert("/files/page.html".to_string(), b"<h1>served</h1>".to_vec());
    routes.insert(
        "/files/page.html.sha256".to_string(),
        format!("{}  page.html\n", sha256(b"<h1>served</h1>")).into_bytes(),
    );
    routes.insert("/archives/site.tar.gz".to_string(), gz(&tar));
    let server = HttpServer::start(routes);
    let recipe = format!(
        r#"base:
  source: {base}
  rootfs_size: 100000000
output:
  size: auto
oci_images: []
files:
- to: /data/contents/inline.txt
  content: |
    hello inline
  via: direct
- to: /data/contents/decoded.bin
  content: aGVsbG8gYmFzZTY0
  via: base64
- to: /data/contents/zims/content.zim
  url: {zim_url}
  size: {zim_size}
  checksum: {{algo: sha256, kind: digest, value: {zim_sha}}}
- to: /data/contents/copy-md5.zim
  url: {zim_url}
  checksum: {{algo: md5, value: {zim_md5}}}
- to: /data/contents/page.html
  url: {server}/files/page.html
  checksum: {{algo: sha256, kind: url, value: {server}/files/page.html.sha256}}
- to: /data/contents/tar
  url: {tar_url}
  via: tar
- to: /data/contents/gztar
  url: {server}/archives/site.tar.gz
  via: gztar
- to: /data/contents/bztar
  url: {bz_url}
  via: bztar
- to: /data/contents/xztar
  url: {xz_url}
  via: xztar
- to: /data/contents/zip
  url: {zip_url}
  via: zip
write_config: true
offspot:
  hostname: assembled
  ap:
    ssid: Assembled Hotspot
"#,
        base = fx.base.display(),
        zim_url = file_url(&zim_path),
        zim_size = zim.len(),
        zim_sha = sha256(&zim),
        zim_md5 = md5(&zim),
        server = server.base,
        tar_url = file_url(&fx.write("site.tar", &tar)),
        bz_url = file_url(&fx.write("site.tar.bz2", &bz(&tar))),
        xz_url = file_url(&fx.write("site.tar.xz", &xz(&tar))),
        zip_url = file_url(&fx.write(
            "site.zip",
            &zip_bytes(&[
                ("index.html", b"<p>zip</p>"),
                ("sub/deep.txt", b"deep"),
                ("__MACOSX/._index.html", b"x"),
                ("Thumbs.db", b"x"),
            ])
        )),
    );
    let recipe_path = fx.write("recipe.yaml", recipe.as_bytes());
    let image = fx.path("out.img");
    let out = fx.assemble(&recipe_path, &image, &[]);
    assert!(out.status.success(), "assemble failed:\n{}", text(&out));

    let parts = sfdisk_partitions(&image);
    assert_eq!(parts.len(), 3, "three partitions");
    assert_eq!(parts[0].kind, 0x0c);
    let image_len = std::fs::metadata(&image).expect("image").len();
    assert_eq!(
        parts[2].start + parts[2].size,
        image_len,
        "p3 reaches the end"
    );
    let base_parts = sfdisk_partitions(&fx.base);
    assert_eq!(parts[0].start, base_parts[0].start);
    assert_eq!(parts[1].start, base_parts[1].start);
    assert_eq!(parts[1].size, base_parts[1].size);

    let data = parts[2].start;
    assert_e2fsck_clean(&image, data);
    assert_e2fsck_clean(&image, parts[1].start);
    let cat = |p: &str| debugfs_cat(&image, data, p);
    assert_eq!(cat("/contents/inline.txt"), b"hello inline");
    assert_eq!(cat("/contents/decoded.bin"), b"hello base64");
    assert_eq!(cat("/contents/zims/content.zim"), zim);
    assert_eq!(cat("/contents/copy-md5.zim"), zim);
    assert_eq!(cat("/contents/page.html"), b"<h1>served</h1>");
    for dir in ["tar", "gztar", "bztar", "xztar"] {
        assert_eq!(cat(&format!("/contents/{dir}/readme.txt")), b"from a tar\n");
        assert_eq!(
            cat(&format!("/contents/{dir}/bin/tool.sh")),
            b"#!/bin/sh\necho hi\n"
        );
        let stat = debugfs_stat(&image, data, &format!("/contents/{dir}/bin/tool.sh"));
        assert!(stat.contains("Mode:  0755"), "tool.sh mode kept: {stat}");
        let stat = debugfs_stat(&image, data, &format!("/contents/{dir}/latest.txt"));
        assert!(stat.contains("Type: symlink"), "symlink kept: {stat}");
        let stat = debugfs_stat(&image, data, &format!("/contents/{dir}/__MACOSX"));
        assert!(stat.contains("File not found"), "clutter dropped: {stat}");
    }
    assert_eq!(cat("/contents/zip/index.html"), b"<p>zip</p>");
    assert_eq!(cat("/contents/zip/sub/deep.txt"), b"deep");
    assert!(debugfs_stat(&image, data, "/contents/zip/Thumbs.db").contains("File not found"));
    // The base's data partition content is carried over.
    assert_eq!(cat("/images/base-tools.tar"), vec![7u8; 20_000]);
    assert_eq!(cat("/master_fs"), b"");
    // write_config stores the recipe as given.
    assert_eq!(cat("/image.yaml"), recipe.as_bytes());
    let stat = debugfs_stat(&image, data, "/contents/inline.txt");
    assert!(
        stat.contains("User:     0   Group:     0"),
        "root owned: {stat}"
    );
    assert!(stat.contains("Mode:  0644"), "mode 0644: {stat}");

    let yaml = fat_check_and_read(&image, parts[0], "offspot.yaml", fx.dir.path());
    let yaml = String::from_utf8(yaml).expect("utf-8 offspot.yaml");
    assert!(yaml.contains("hostname: assembled"), "{yaml}");
    assert!(yaml.contains("ssid: Assembled Hotspot"), "{yaml}");
    let config = fat_check_and_read(&image, parts[0], "config.txt", fx.dir.path());
    assert_eq!(
        config, b"arm_64bit=1\n",
        "the rest of the boot partition is kept"
    );

    let view = run(nixspot().arg("inspect").arg(&image));
    assert!(view.status.success());
    let view = text(&view);
    assert!(view.contains("/data/contents/zims/content.zim"), "{view}");
    assert!(view.contains("hostname: assembled"), "{view}");
}

fn simple_recipe(fx: &Fixture, size: &str, files: &str) -> PathBuf {
    let recipe = format!(
        "base:\n  source: {}\n  rootfs_size: 100000000\noutput:\n  size: {size}\nfiles:\n{files}offspot:\n  hostname: x\n",
        fx.base.display()
    );
    fx.write("recipe.yaml", recipe.as_bytes())
}

const ONE_FILE: &str = "- to: /data/a.txt\n  content: a\n  via: direct\n";

#[test]
fn explicit_sizes_are_honoured_and_too_small_ones_refused() {
    let fx = Fixture::new();
    let recipe = simple_recipe(&fx, "256MiB", ONE_FILE);
    let image = fx.path("big.img");
    let out = fx.assemble(&recipe, &image, &[]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(std::fs::metadata(&image).expect("image").len(), 256 << 20);
    let parts = sfdisk_partitions(&image);
    assert_e2fsck_clean(&image, parts[2].start);
    assert_eq!(parts[2].start + parts[2].size, 256 << 20);

    let check = fx.assemble(&recipe, &fx.path("never.img"), &["-C"]);
    assert!(check.status.success(), "{}", text(&check));
    assert_eq!(
        String::from_utf8_lossy(&check.stdout).trim(),
        (256u64 << 20).to_string()
    );
    assert!(!fx.path("never.img").exists(), "-C writes nothing");

    let small = simple_recipe(&fx, "1000000", ONE_FILE);
    let out = fx.assemble(&small, &fx.path("small.img"), &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("output.size is 1000000 bytes"),
        "{}",
        text(&out)
    );
    assert!(!fx.path("small.img").exists());
}

fn no_partial_files(dir: &Path) {
    let leftovers: Vec<String> = std::fs::read_dir(dir)
        .expect("read dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| {
            n.contains("partial")
                || n.contains(".nixspot-build")
                || n.ends_with(".img") && n.starts_with("bad")
        })
        .collect();
    assert!(leftovers.is_empty(), "partial files left: {leftovers:?}");
}

#[test]
fn bad_inputs_fail_with_image_creator_exit_codes_and_leave_nothing() {
    let fx = Fixture::new();
    let out_img = fx.path("bad.img");

    // A hash mismatch: exit 4, the message names the URL and both hashes.
    let content = fx.write("c.bin", b"actual bytes");
    let wrong = "0".repeat(64);
    let recipe = simple_recipe(
        &fx,
        "auto",
        &format!(
            "- to: /data/c.bin\n  url: {}\n  checksum: {{algo: sha256, value: {wrong}}}\n",
            file_url(&content)
        ),
    );
    let out = fx.assemble(&recipe, &out_img, &[]);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    assert!(text(&out).contains(&wrong), "{}", text(&out));
    no_partial_files(fx.dir.path());

    // An unreachable URL: exit 4.
    let recipe = simple_recipe(
        &fx,
        "auto",
        "- to: /data/x\n  url: http://127.0.0.1:9/nothing-listens-here\n",
    );
    let out = fx.assemble(&recipe, &out_img, &["--retries", "0"]);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    no_partial_files(fx.dir.path());

    // Path traversal in a zip: refused, named, nothing left.
    let evil = fx.write(
        "evil.zip",
        &zip_bytes(&[("../../etc/passwd", b"root::0:0")]),
    );
    let recipe = simple_recipe(
        &fx,
        "auto",
        &format!("- to: /data/x\n  url: {}\n  via: zip\n", file_url(&evil)),
    );
    let out = fx.assemble(&recipe, &out_img, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("../../etc/passwd"), "{}", text(&out));
    no_partial_files(fx.dir.path());

    // A target outside /data: a recipe error, exit 3.
    let recipe = simple_recipe(&fx, "auto", "- to: /etc/x\n  content: a\n");
    let out = fx.assemble(&recipe, &out_img, &[]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(text(&out).contains("/etc/x"), "{}", text(&out));

    // A base image without a data partition: exit 3.
    let lonely = fx.path("lonely.img");
    nixspot_fs::image::create_image(
        &lonely,
        nixspot_fs::image::ImageSpec {
            table: nixspot_fs::partition::TableKind::Mbr,
            align: 4 << 20,
            seed: b"lonely".to_vec(),
            timestamp: 0,
            partitions: vec![nixspot_fs::image::PartitionContent::Fat32 {
                size: 64 << 20,
                label: "bootfs".into(),
                files: BTreeMap::new(),
            }],
            bootable: None,
        },
    )
    .expect("lonely base");
    let recipe = fx.write(
        "lonely.yaml",
        format!(
            "base:\n  source: {}\n  rootfs_size: 1\noutput:\n  size: auto\n",
            lonely.display()
        )
        .as_bytes(),
    );
    let out = fx.assemble(&recipe, &out_img, &[]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(text(&out).contains("partition"), "{}", text(&out));
    no_partial_files(fx.dir.path());

    // An existing output without -X: exit 3, the file is untouched.
    std::fs::write(&out_img, b"precious").expect("write");
    let recipe = simple_recipe(&fx, "auto", ONE_FILE);
    let out = fx.assemble(&recipe, &out_img, &[]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(text(&out).contains("--overwrite"), "{}", text(&out));
    assert_eq!(std::fs::read(&out_img).expect("read"), b"precious");
    let out = fx.assemble(&recipe, &out_img, &["-X"]);
    assert!(out.status.success(), "{}", text(&out));
}

#[test]
fn an_interrupted_build_leaves_no_partial_image() {
    let fx = Fixture::new();
    // Enough incompressible data that writing and hashing the image takes a while.
    let mut big = vec![0u8; 192 << 20];
    let mut x: u64 = 0x9e3779b97f4a7c15;
    for chunk in big.chunks_mut(8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        chunk.copy_from_slice(&x.to_le_bytes()[..chunk.len()]);
    }
    let big_path = fx.write("big.bin", &big);
    drop(big);
    let recipe = simple_recipe(
        &fx,
        "auto",
        &format!("- to: /data/big.bin\n  url: {}\n", file_url(&big_path)),
    );
    let image = fx.path("interrupted.img");
    let mut child = nixspot()
        .arg("assemble")
        .arg("--quiet")
        .arg("--cache-dir")
        .arg(&fx.cache)
        .arg(&recipe)
        .arg(&image)
        .spawn()
        .expect("spawn");
    let partial = fx
        .dir
        .path()
        .join(format!(".interrupted.img.partial-{}", child.id()));
    let mut seen = false;
    for _ in 0..20_000 {
        if partial.exists() {
            seen = true;
            break;
        }
        if child.try_wait().expect("wait").is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    assert!(seen, "the partial image never appeared");
    let kill = run(Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string()));
    assert!(kill.status.success());
    let status = child.wait().expect("wait");
    assert!(!status.success(), "an interrupted build fails");
    assert!(!partial.exists(), "partial image removed");
    assert!(!image.exists(), "no output");
}
