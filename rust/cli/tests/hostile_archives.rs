//! Hostile recipes through `nixspot assemble`, end to end: archives with escaping link
//! chains, device nodes, setuid bits and GNU sparse members (made by real GNU tar and
//! Python's zipfile), checksum files that are host files, and local paths in recipes
//! from someone else. Images are checked with e2fsck and debugfs.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use support::*;

impl Fixture {
    /// A recipe with the base and `files` (YAML list items).
    fn recipe(&self, files: &str) -> PathBuf {
        let text = format!(
            "base:\n  source: {}\n  rootfs_size: 100000000\noutput:\n  size: auto\nfiles:\n{files}offspot:\n  hostname: x\n",
            self.base.display()
        );
        let path = self.path("recipe.yaml");
        std::fs::write(&path, text).expect("recipe");
        path
    }
}

fn gnu_tar(dir: &Path, args: &[&str]) {
    let out = run(Command::new("tar").current_dir(dir).args(args));
    assert!(out.status.success(), "tar {args:?}: {}", text(&out));
}

fn all_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() && !path.is_symlink() {
            out.extend(all_files(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[test]
fn archives_with_escaping_link_chains_or_device_nodes_build_nothing() {
    let fx = Fixture::new();
    let src = fx.path("src");
    std::fs::create_dir_all(src.join("a/b/c")).expect("dirs");
    std::os::unix::fs::symlink("../../..", src.join("a/b/c/d")).expect("d");
    std::os::unix::fs::symlink("a/b/c/d/../../../..", src.join("esc")).expect("esc");
    let chain = fx.path("chain.tar");
    gnu_tar(&src, &["-cf", chain.to_str().expect("utf-8"), "a", "esc"]);
    let zip = fx.path("fifo.zip");
    let out = run(Command::new("python3").arg("-c").arg(
        "import sys, zipfile\n\
         with zipfile.ZipFile(sys.argv[1], 'w') as z:\n\
         \x20   i = zipfile.ZipInfo('pipe'); i.create_system = 3; i.external_attr = 0o010644 << 16\n\
         \x20   z.writestr(i, b'')\n",
    ).arg(&zip));
    assert!(out.status.success(), "python3: {}", text(&out));
    for (archive, via, member, why) in [
        (&chain, "tar", "esc", "leaves the target directory"),
        (&zip, "zip", "pipe", "FIFO"),
    ] {
        let recipe = fx.recipe(&format!(
            "- to: /data/contents/x\n  url: {}\n  via: {via}\n",
            archive.display()
        ));
        let image = fx.path("out.img");
        let out = fx.assemble(&recipe, &image, &[]);
        assert_eq!(out.status.code(), Some(1), "{via}: {}", text(&out));
        let message = text(&out);
        assert!(
            message.contains(member) && message.contains(why),
            "{message}"
        );
        assert!(!image.exists(), "no image");
        let leftovers: Vec<PathBuf> = all_files(fx.dir.path())
            .into_iter()
            .filter(|p| p.to_string_lossy().contains(".nixspot-build-"))
            .collect();
        assert!(leftovers.is_empty(), "scratch left behind: {leftovers:?}");
    }
}

#[test]
fn sparse_members_keep_their_holes_and_setuid_bits_are_dropped() {
    let fx = Fixture::new();
    let src = fx.path("src");
    std::fs::create_dir_all(&src).expect("src");
    // 64 MiB, two 4 KiB islands: as data it would not fit the data partition's slack.
    let sparse = std::fs::File::create(src.join("sparse.bin")).expect("sparse");
    sparse.set_len(64 << 20).expect("set_len");
    use std::os::unix::fs::FileExt;
    sparse.write_all_at(&[0xab; 4096], 8 << 20).expect("island");
    sparse
        .write_all_at(&[0xcd; 4096], 40 << 20)
        .expect("island");
    let tool = src.join("tool");
    std::fs::write(&tool, b"#!/bin/sh\n").expect("tool");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o6755)).expect("chmod");
    let mut files = String::new();
    for (name, format) in [
        ("gnu", vec!["--format=gnu"]),
        ("pax", vec!["--format=pax", "--sparse-version=1.0"]),
    ] {
        let archive = fx.path(&format!("{name}.tar"));
        let mut args = vec!["--sparse", "-cf", archive.to_str().expect("utf-8")];
        args.extend(format);
        args.extend(["sparse.bin", "tool"]);
        gnu_tar(&src, &args);
        files.push_str(&format!(
            "- to: /data/contents/{name}\n  url: {}\n  via: tar\n",
            archive.display()
        ));
    }
    let recipe = fx.recipe(&files);
    let image = fx.path("out.img");
    let out = fx.assemble(&recipe, &image, &[]);
    assert!(out.status.success(), "{}", text(&out));
    let parts = sfdisk_partitions(&image);
    let data = parts[2].start;
    assert_e2fsck_clean(&image, data);
    let want = std::fs::read(src.join("sparse.bin")).expect("source");
    for name in ["gnu", "pax"] {
        let path = format!("/contents/{name}/sparse.bin");
        assert!(debugfs_cat(&image, data, &path) == want, "{path} content");
        let stat = debugfs_stat(&image, data, &path);
        let blocks: u64 = stat
            .split("Blockcount: ")
            .nth(1)
            .and_then(|s| s.split_whitespace().next())
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no block count: {stat}"));
        // Block count is in 512-byte sectors: two 4 KiB blocks (and extent blocks).
        assert!(blocks <= 64, "{path}: {blocks} sectors allocated\n{stat}");
        let stat = debugfs_stat(&image, data, &format!("/contents/{name}/tool"));
        assert!(stat.contains("Mode:  0755"), "setuid dropped: {stat}");
    }
}

#[test]
fn a_checksum_file_that_is_a_host_file_is_never_echoed() {
    let fx = Fixture::new();
    let content = fx.path("content.bin");
    std::fs::write(&content, b"content").expect("content");
    let shadow = fx.path("shadow");
    std::fs::write(
        &shadow,
        b"root:$6$saltsalt$SECRETHASHSECRETHASH:19000:0:99999:7:::\n",
    )
    .expect("shadow");
    let recipe = fx.recipe(&format!(
        "- to: /data/x\n  url: {}\n  checksum: {{algo: sha256, kind: url, value: {}}}\n",
        content.display(),
        shadow.display()
    ));
    let out = fx.assemble(&recipe, &fx.path("out.img"), &[]);
    assert!(!out.status.success(), "{}", text(&out));
    let message = text(&out);
    assert!(message.contains(&shadow.display().to_string()), "{message}");
    let lower = message.to_lowercase();
    assert!(
        !lower.contains("secrethash") && !lower.contains("saltsalt") && !lower.contains("root:"),
        "{message}"
    );
}

#[test]
fn recipes_from_others_may_not_read_host_files() {
    let fx = Fixture::new();
    let secret = fx.path("secret");
    std::fs::write(&secret, b"host secret").expect("secret");
    let file = format!("- to: /data/x\n  url: {}\n", secret.display());
    let image = fx.path("out.img");

    // The command-line user's own recipe: local files are read, as image-creator does.
    let recipe = fx.recipe(&file);
    let out = fx.assemble(&recipe, &image, &[]);
    assert!(out.status.success(), "{}", text(&out));
    let data = sfdisk_partitions(&image)[2].start;
    assert_eq!(debugfs_cat(&image, data, "/x"), b"host secret");
    std::fs::remove_file(&image).expect("rm");
    std::fs::remove_dir_all(&fx.cache).expect("rm cache");

    // Someone else's: a local base is refused...
    let out = fx.assemble(&recipe, &image, &["--refuse-local-files"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(text(&out).contains("base.source"), "{}", text(&out));

    // ...and with a remote base (never contacted: the refusal comes first), every form
    // of local file.
    for url in [
        secret.display().to_string(),
        "../secret".to_string(),
        format!("file://{}", secret.display()),
    ] {
        let recipe = fx.recipe(&format!("- to: /data/x\n  url: {url}\n"));
        let remote = std::fs::read_to_string(&recipe).expect("recipe").replace(
            &fx.base.display().to_string(),
            "https://127.0.0.1:9/base.img",
        );
        std::fs::write(&recipe, remote).expect("recipe");
        let out = fx.assemble(&recipe, &image, &["--refuse-local-files"]);
        assert_eq!(out.status.code(), Some(3), "{url}: {}", text(&out));
        let message = text(&out);
        assert!(
            message.contains("files[0].url") && message.contains(&url),
            "{message}"
        );
        assert!(!image.exists());
        for path in all_files(&fx.cache) {
            let bytes = std::fs::read(&path).expect("cache file");
            assert!(
                bytes != b"host secret",
                "{} holds the secret",
                path.display()
            );
        }
    }
}
