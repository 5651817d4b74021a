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

impl Fixture {
    fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, bytes).expect("writing fixture file");
        path
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
    // It carries the recipe's secrets: not world-readable (issue 19, finding 9).
    let stat = debugfs_stat(&image, data, "/image.yaml");
    assert!(stat.contains("Mode:  0600"), "image.yaml mode 0600: {stat}");
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

#[test]
fn a_rebuild_with_nothing_changed_keeps_the_image_and_never_a_stale_one() {
    use std::os::unix::fs::{FileExt, MetadataExt};
    let fx = Fixture::new();
    let recipe = simple_recipe(&fx, "auto", ONE_FILE);
    let image = fx.path("same.img");
    // A plain build leaves nothing but the image.
    let plain = fx.assemble(&recipe, &fx.path("plain.img"), &[]);
    assert!(plain.status.success(), "{}", text(&plain));
    assert!(!fx.path(".plain.img.nixspot-stamp").exists());
    let first = fx.assemble(&recipe, &image, &["-X"]);
    assert!(first.status.success(), "{}", text(&first));
    let sha = printed_sha256(&first);
    assert_eq!(sha, sha256_file(&image));
    let id = |p: &Path| {
        let m = std::fs::metadata(p).expect("metadata");
        (
            m.ino(),
            m.mtime(),
            m.mtime_nsec(),
            m.ctime(),
            m.ctime_nsec(),
        )
    };
    let before = id(&image);

    // Nothing changed: the image is kept as it is, and reported the same.
    let again = fx.assemble(&recipe, &image, &["-X"]);
    assert!(again.status.success(), "{}", text(&again));
    assert_eq!(printed_sha256(&again), sha);
    assert_eq!(id(&image), before, "the image was not rewritten");
    assert!(fx.path(".same.img.nixspot-stamp").exists());
    let verbose = run(nixspot()
        .arg("assemble")
        .arg("--cache-dir")
        .arg(&fx.cache)
        .arg("-X")
        .arg(&recipe)
        .arg(&image));
    assert!(text(&verbose).contains("unchanged"), "{}", text(&verbose));

    // The image was modified in place (same size): rebuilt, back to the right bytes.
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(&image)
        .expect("open image");
    let len = file.metadata().expect("metadata").len();
    file.write_all_at(b"tampered", len - 4096).expect("tamper");
    drop(file);
    let repaired = fx.assemble(&recipe, &image, &["-X"]);
    assert!(repaired.status.success(), "{}", text(&repaired));
    assert_eq!(printed_sha256(&repaired), sha);
    assert_eq!(sha256_file(&image), sha, "the tampered image was rebuilt");

    // An input changed (the recipe): a new image.
    let changed = simple_recipe(
        &fx,
        "auto",
        "- to: /data/a.txt\n  content: b\n  via: direct\n",
    );
    let rebuilt = fx.assemble(&changed, &image, &["-X"]);
    assert!(rebuilt.status.success(), "{}", text(&rebuilt));
    assert_ne!(printed_sha256(&rebuilt), sha);
    assert_eq!(sha256_file(&image), printed_sha256(&rebuilt));
    let parts = sfdisk_partitions(&image);
    assert_eq!(debugfs_cat(&image, parts[2].start, "/a.txt"), b"b");

    // Without -X an existing output is still refused, stamp or not.
    let refused = fx.assemble(&changed, &image, &[]);
    assert_eq!(refused.status.code(), Some(3), "{}", text(&refused));
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
    nixspot_fs::disk::create_image(
        &lonely,
        nixspot_fs::disk::ImageSpec {
            table: nixspot_fs::partition::TableKind::Mbr,
            align: 4 << 20,
            seed: b"lonely".to_vec(),
            timestamp: 0,
            partitions: vec![nixspot_fs::disk::PartitionContent::Fat32 {
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
    // The partial image has a fresh random name beside the output.
    let find_partial = || {
        std::fs::read_dir(fx.dir.path())
            .expect("read dir")
            .flatten()
            .map(|e| e.path())
            .find(|p| {
                p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with(".interrupted.img.partial-"))
            })
    };
    let mut partial = None;
    for _ in 0..20_000 {
        partial = find_partial();
        if partial.is_some() {
            break;
        }
        if child.try_wait().expect("wait").is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    let partial = partial.expect("the partial image never appeared");
    let kill = run(Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string()));
    assert!(kill.status.success());
    let status = child.wait().expect("wait");
    assert!(!status.success(), "an interrupted build fails");
    assert!(!partial.exists(), "partial image removed");
    assert!(!image.exists(), "no output");
}

const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

/// What a pushed image is made of, for comparisons.
struct PushedImage {
    /// The linux/arm64 image config, as pushed.
    arm64_config: Vec<u8>,
    /// Its layers' uncompressed digests.
    arm64_diff_ids: Vec<String>,
}

/// Pushes a two-platform image (linux/amd64 and linux/arm64/v8, two layers each) as
/// `REGISTRY/repo:tag`, with `skopeo copy --all` from an OCI layout written here.
fn push_image(registry: &Registry, repo: &str, tag: &str) -> PushedImage {
    let layout = tempfile::tempdir().expect("tempdir");
    let blobs = layout.path().join("blobs/sha256");
    std::fs::create_dir_all(&blobs).expect("blobs dir");
    let put = |bytes: &[u8]| -> serde_json::Value {
        let hex = sha256(bytes);
        std::fs::write(blobs.join(&hex), bytes).expect("blob");
        serde_json::json!({"digest": format!("sha256:{hex}"), "size": bytes.len()})
    };
    let layer = |files: &[(&str, Vec<u8>)]| -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (name, data) in files {
            let mut h = tar::Header::new_ustar();
            h.set_size(data.len() as u64);
            h.set_mode(0o755);
            h.set_mtime(1);
            h.set_entry_type(tar::EntryType::Regular);
            b.append_data(&mut h, name, data.as_slice())
                .expect("layer entry");
        }
        b.into_inner().expect("layer")
    };
    let mut platforms = Vec::new();
    let mut pushed = None;
    for (arch, variant) in [("amd64", None), ("arm64", Some("v8"))] {
        let l1 = layer(&[(
            "bin/hello",
            format!("#!/bin/sh\necho {repo}:{tag} on {arch}\n").into_bytes(),
        )]);
        let l2 = layer(&[("etc/image", format!("{repo}:{tag}\n").into_bytes())]);
        let diff_ids = vec![
            format!("sha256:{}", sha256(&l1)),
            format!("sha256:{}", sha256(&l2)),
        ];
        let mut layers = Vec::new();
        for (l, compressed) in [(&l1, true), (&l2, false)] {
            let (bytes, media) = if compressed {
                (gz(l), "application/vnd.oci.image.layer.v1.tar+gzip")
            } else {
                (l.clone(), "application/vnd.oci.image.layer.v1.tar")
            };
            let mut d = put(&bytes);
            d["mediaType"] = media.into();
            layers.push(d);
        }
        let mut config = serde_json::json!({
            "architecture": arch, "os": "linux",
            "config": {"Cmd": ["/bin/hello"]},
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
        });
        if let Some(v) = variant {
            config["variant"] = v.into();
        }
        let config = serde_json::to_vec(&config).expect("config json");
        let mut config_desc = put(&config);
        config_desc["mediaType"] = "application/vnd.oci.image.config.v1+json".into();
        let manifest = serde_json::to_vec(&serde_json::json!({
            "schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "config": config_desc, "layers": layers,
        }))
        .expect("manifest json");
        let mut desc = put(&manifest);
        desc["mediaType"] = OCI_MANIFEST.into();
        desc["platform"] = serde_json::json!({"architecture": arch, "os": "linux"});
        if let Some(v) = variant {
            desc["platform"]["variant"] = v.into();
            pushed = Some(PushedImage {
                arm64_config: config.clone(),
                arm64_diff_ids: diff_ids.clone(),
            });
        }
        platforms.push(desc);
    }
    let index = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": platforms,
    }))
    .expect("index json");
    let mut index_desc = put(&index);
    index_desc["mediaType"] = OCI_INDEX.into();
    index_desc["annotations"] = serde_json::json!({"org.opencontainers.image.ref.name": tag});
    std::fs::write(
        layout.path().join("index.json"),
        serde_json::to_vec(&serde_json::json!({"schemaVersion": 2, "manifests": [index_desc]}))
            .expect("index.json"),
    )
    .expect("index.json");
    std::fs::write(
        layout.path().join("oci-layout"),
        br#"{"imageLayoutVersion":"1.0.0"}"#,
    )
    .expect("oci-layout");
    let out = run(Command::new("skopeo")
        .args([
            "copy",
            "--quiet",
            "--all",
            "--preserve-digests",
            "--dest-tls-verify=false",
        ])
        .arg(format!("oci:{}:{tag}", layout.path().display()))
        .arg(format!("docker://{}/{repo}:{tag}", registry.addr)));
    assert!(
        out.status.success(),
        "skopeo copy to the registry: {}",
        text(&out)
    );
    pushed.expect("an arm64 image was pushed")
}

/// `skopeo inspect` (or with `--config --raw`, the raw config) of a docker-archive.
fn skopeo_archive(path: &Path, config: bool) -> Vec<u8> {
    let mut cmd = Command::new("skopeo");
    cmd.arg("inspect");
    if config {
        cmd.args(["--config", "--raw"]);
    }
    let out = run(cmd.arg(format!("docker-archive:{}", path.display())));
    assert!(
        out.status.success(),
        "skopeo inspect {}: {}",
        path.display(),
        text(&out)
    );
    out.stdout
}

/// Checks an OCI archive in the image against what was pushed, with skopeo: the arm64
/// config byte for byte, its layers, the tag `docker load` will give it.
fn assert_archive_is(archive: &Path, pushed: &PushedImage, repo_tag: &str) {
    assert_eq!(
        skopeo_archive(archive, true),
        pushed.arm64_config,
        "config of {repo_tag}"
    );
    let info: serde_json::Value =
        serde_json::from_slice(&skopeo_archive(archive, false)).expect("skopeo json");
    assert_eq!(info["Architecture"], "arm64", "{info}");
    assert_eq!(info["Os"], "linux", "{info}");
    // skopeo does not report tags of a docker-archive: read the one `docker load` uses.
    let mut tar = tar::Archive::new(std::fs::File::open(archive).expect("archive"));
    let manifest = tar
        .entries()
        .expect("tar entries")
        .flatten()
        .find(|e| e.path().is_ok_and(|p| p == Path::new("manifest.json")))
        .map(|mut e| {
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(&mut e, &mut bytes).expect("manifest.json");
            bytes
        })
        .expect("the archive has a manifest.json");
    let manifest: serde_json::Value = serde_json::from_slice(&manifest).expect("manifest json");
    assert_eq!(
        manifest[0]["RepoTags"],
        serde_json::json!([repo_tag]),
        "{manifest}"
    );
    assert_eq!(
        info["Layers"],
        serde_json::json!(pushed.arm64_diff_ids),
        "{info}"
    );
}

/// The sha256 `nixspot assemble` prints for the image.
fn printed_sha256(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn oci_images_from_a_local_registry_become_deterministic_archives() {
    let fx = Fixture::new();
    let registry = Registry::start();
    let direct = push_image(&registry, "offspot/hello", "1.0");
    let mirrored = push_image(&registry, "offspot/other", "2.0");
    // The base as an offspot release version, served where its URL is mirrored to.
    let served = fx.path("served");
    std::fs::create_dir_all(served.join("base")).expect("served dir");
    let base_bytes = std::fs::read(&fx.base).expect("base");
    std::fs::write(
        served.join("base/offspot-base-arm64-1.4.2.img"),
        &base_bytes,
    )
    .expect("served base");
    std::fs::write(
        served.join("base/offspot-base-arm64-1.4.2.img.md5"),
        format!("{}  offspot-base-arm64-1.4.2.img\n", md5(&base_bytes)),
    )
    .expect("served md5");
    let server = HttpServer::serve_dir(&served);
    let direct_ident = format!("{}/offspot/hello:1.0", registry.addr);
    let recipe = format!(
        "base: {{source: 1.4.2, rootfs_size: 100000000}}\noutput: {{size: auto}}\n\
         oci_images:\n- {{ident: '{direct_ident}'}}\n- {{ident: ghcr.io/offspot/other:2.0}}\n\
         files: []\noffspot: {{hostname: oci}}\n"
    );
    let recipe_path = fx.write("oci.yaml", recipe.as_bytes());
    let mirrors = [
        "--mirror".to_string(),
        format!("https://drive.offspot.it/base/={}/base/", server.base),
        "--mirror".to_string(),
        format!("ghcr.io={}", registry.addr),
    ];
    let mirrors: Vec<&str> = mirrors.iter().map(String::as_str).collect();
    let image = fx.path("oci.img");
    let out = fx.assemble(&recipe_path, &image, &mirrors);
    assert!(out.status.success(), "assemble failed:\n{}", text(&out));

    let parts = sfdisk_partitions(&image);
    assert_eq!(parts.len(), 3);
    assert_e2fsck_clean(&image, parts[2].start);
    let port = registry.addr.rsplit(':').next().unwrap_or_default();
    let direct_target = format!("/images/127.0.0.1_{port}_offspot_hello_1.0_linux_arm64_v8.tar");
    let mirrored_target = "/images/ghcr.io_offspot_other_2.0_linux_arm64_v8.tar";
    let direct_tar = debugfs_cat(&image, parts[2].start, &direct_target);
    let mirrored_tar = debugfs_cat(&image, parts[2].start, mirrored_target);
    let stat = debugfs_stat(&image, parts[2].start, mirrored_target);
    assert!(stat.contains("Mode:  0644"), "archive mode: {stat}");
    let direct_path = fx.write("direct.tar", &direct_tar);
    let mirrored_path = fx.write("mirrored.tar", &mirrored_tar);
    assert_archive_is(&direct_path, &direct, &direct_ident);
    // Pulled from the mirror, named as the recipe says.
    assert_archive_is(&mirrored_path, &mirrored, "ghcr.io/offspot/other:2.0");
    // The base's data partition content is still there next to them.
    assert_eq!(
        debugfs_cat(&image, parts[2].start, "/images/base-tools.tar"),
        vec![7u8; 20_000]
    );

    // The fetch crate, on its own with an empty cache, produces the same archives.
    let cache = nixspot_fetch::Cache::open(&fx.path("fetch-cache")).expect("cache");
    let fetcher = nixspot_fetch::Fetcher::new(
        cache,
        nixspot_fetch::Options {
            progress: nixspot_fetch::ProgressMode::Quiet,
            mirrors: vec![format!("ghcr.io={}", registry.addr)
                .parse()
                .expect("mirror rule")],
            ..nixspot_fetch::Options::default()
        },
    )
    .expect("fetcher");
    let plain = nixspot_recipe::Recipe::from_yaml_str(
        &format!(
            "base: {{source: '{}', rootfs_size: 1}}\noci_images:\n- {{ident: '{direct_ident}'}}\n\
             - {{ident: ghcr.io/offspot/other:2.0}}\n",
            fx.base.display()
        ),
        "plain.yaml",
    )
    .expect("recipe");
    let fetched = fetcher.fetch_recipe_blocking(&plain).expect("fetch");
    assert_eq!(
        std::fs::read(&fetched.oci[0].path).expect("archive"),
        direct_tar
    );
    assert_eq!(
        std::fs::read(&fetched.oci[1].path).expect("archive"),
        mirrored_tar
    );

    // Another cache, another output: the same image, byte for byte.
    let again = fx.path("oci-again.img");
    let out2 = run(nixspot()
        .arg("assemble")
        .arg("--quiet")
        .arg("--cache-dir")
        .arg(fx.path("cache-2"))
        .args(&mirrors)
        .arg(&recipe_path)
        .arg(&again));
    assert!(
        out2.status.success(),
        "second assemble failed:\n{}",
        text(&out2)
    );
    assert_eq!(printed_sha256(&out), sha256_file(&image));
    assert_eq!(printed_sha256(&out2), printed_sha256(&out));
}

const DEMO_RECIPE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/fixtures/recipes/offspot-config-2.10.5-demo.yaml"
);
const WIKIBOOKS_ZIM: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/fixtures/zim/withns_wikibooks_be_all_nopic_2017-02.zim"
);

#[test]
fn a_recipe_made_by_offspot_config_assembles_unchanged_through_mirrors() {
    let fx = Fixture::new();
    let recipe_text = std::fs::read_to_string(DEMO_RECIPE).expect("the demo recipe fixture");
    let recipe: serde_json::Value = {
        let parsed = nixspot_recipe::Recipe::from_yaml_str(&recipe_text, DEMO_RECIPE)
            .expect("the demo recipe parses");
        serde_json::from_str(&parsed.to_json()).expect("recipe json")
    };
    // Every image the recipe names, pushed to the local registry under the same path.
    let registry = Registry::start();
    let mut images = Vec::new();
    for entry in recipe["oci_images"].as_array().expect("oci_images") {
        let ident = entry["ident"].as_str().expect("ident");
        let (name, tag) = ident
            .strip_prefix("ghcr.io/")
            .and_then(|r| r.rsplit_once(':'))
            .expect("a ghcr.io reference with a tag");
        images.push((ident.to_string(), push_image(&registry, name, tag)));
    }
    assert_eq!(images.len(), 7);
    // Everything else from a directory served over HTTP, at the recipe's paths.
    let served = fx.path("served");
    let zim_dir = served.join("github/openzim/zim-testing-suite/raw/v0.5/data/withns");
    std::fs::create_dir_all(&zim_dir).expect("zim dir");
    std::fs::create_dir_all(served.join("drive/base")).expect("base dir");
    let zim = std::fs::read(WIKIBOOKS_ZIM).expect("the wikibooks ZIM fixture");
    std::fs::write(zim_dir.join("wikibooks_be_all_nopic_2017-02.zim"), &zim).expect("zim");
    std::fs::copy(
        &fx.base,
        served.join("drive/base/offspot-base-arm64-1.4.2.img"),
    )
    .expect("served base");
    let server = HttpServer::serve_dir(&served);
    let mirrors = [
        format!("https://drive.offspot.it/={}/drive/", server.base),
        format!("https://github.com/={}/github/", server.base),
        format!("ghcr.io={}", registry.addr),
    ];
    let mut args = vec![
        "--lock".to_string(),
        fx.path("demo.lock.json").display().to_string(),
    ];
    for m in &mirrors {
        args.push("--mirror".into());
        args.push(m.clone());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let image = fx.path("demo.img");
    let out = fx.assemble(Path::new(DEMO_RECIPE), &image, &args);
    assert!(out.status.success(), "assemble failed:\n{}", text(&out));
    assert!(server.base.starts_with("http://127.0.0.1:"));

    let parts = sfdisk_partitions(&image);
    assert_eq!(parts.len(), 3);
    assert_eq!(parts[0].kind, 0x0c);
    let image_len = std::fs::metadata(&image).expect("image").len();
    assert_eq!(
        parts[2].start + parts[2].size,
        image_len,
        "p3 reaches the end"
    );
    let data = parts[2].start;
    assert_e2fsck_clean(&image, parts[1].start);
    assert_e2fsck_clean(&image, data);
    let cat = |p: &str| debugfs_cat(&image, data, p);
    assert_eq!(
        cat("/contents/zims/openZIM_wikibooks_be_all_nopic.zim"),
        zim
    );
    assert_eq!(
        cat("/contents/files/welcome.txt"),
        b"Welcome to the demo hotspot!"
    );
    assert_eq!(cat("/contents/zims/.touch"), b"-");
    let logo = cat("/branding/horizontal-logo-dark.png");
    assert_eq!(logo.len(), 41936, "base64 decoded to the declared size");
    assert_eq!(&logo[..8], b"\x89PNG\r\n\x1a\n");
    let dashboard = String::from_utf8(cat("/contents/dashboard.yaml")).expect("utf-8");
    assert!(dashboard.contains("fqdn: demo.hotspot"), "{dashboard}");
    assert!(String::from_utf8_lossy(&cat("/etc/offspot.json")).contains("Kiwix Hotspot v2.10.5"));
    // write_config: the recipe exactly as offspot-config wrote it.
    assert_eq!(cat("/image.yaml"), recipe_text.as_bytes());
    for (ident, pushed) in &images {
        let target = ident
            .strip_prefix("ghcr.io/")
            .map(|rest| {
                format!(
                    "ghcr.io_{}_linux_arm64_v8.tar",
                    rest.replace(['/', ':'], "_")
                )
            })
            .expect("target name");
        let tar = cat(&format!("/images/{target}"));
        let path = fx.write("image.tar", &tar);
        assert_archive_is(&path, pushed, ident);
    }

    let yaml = fat_check_and_read(&image, parts[0], "offspot.yaml", fx.dir.path());
    let yaml = String::from_utf8(yaml).expect("utf-8 offspot.yaml");
    assert!(yaml.contains("ssid: Kiwix Demo"), "{yaml}");
    // Read back through a YAML parser: the recipe's offspot section, aliases resolved.
    let wrapped: String = yaml.lines().map(|l| format!("  {l}\n")).collect();
    let read_back = nixspot_recipe::Recipe::from_yaml_str(
        &format!("base: {{source: x.img, rootfs_size: 1}}\noffspot:\n{wrapped}"),
        "offspot.yaml",
    )
    .expect("offspot.yaml is YAML");
    let read_back: serde_json::Value = serde_json::from_str(&read_back.to_json()).expect("json");
    assert_eq!(
        read_back["offspot"], recipe["offspot"],
        "offspot.yaml is the recipe's offspot section"
    );
}
