//! Unpacking several packages into one tree, then writing the dpkg status file and
//! checking it with the real `dpkg-query`.

mod common;

use std::process::Command;

use common::T;
use nixspot_deb::install::install_deb;
use nixspot_deb::status::InstalledPackage;
use nixspot_deb::tree::{NodeKind, Resolution, Tree};

fn control(name: &str, extra: &str) -> String {
    format!("Package: {name}\nVersion: 1.{}-1\nArchitecture: arm64\nMaintainer: t <t@e>\n{extra}Description: {name}\n", name.len())
}

#[test]
fn installs_packages_into_a_usr_merged_tree() {
    let busybox = common::deb(
        &control("busybox", ""),
        &[],
        &[
            T::Dir("./", 0o755),
            T::Dir("./bin/", 0o755),
            T::File("./bin/busybox", 0o755, b"BUSYBOX"),
            T::Symlink("./bin/sh", "busybox"),
        ],
        "xz",
        "xz",
    );
    let dash = common::deb(
        &control("dash", "Replaces: busybox (<< 2)\n"),
        &[],
        &[
            T::File("./bin/sh", 0o755, b"DASH"),
            T::File("./usr/bin/busybox", 0o755, b"other"),
        ],
        "gz",
        "zst",
    );
    let mut tree: Tree<Vec<u8>> = Tree::new(true);
    let mut controls = Vec::new();
    let mut paths = Vec::new();
    for (name, deb) in [("busybox.deb", &busybox), ("dash.deb", &dash)] {
        let c = install_deb(&mut tree, deb.as_slice(), name, |meta, r| {
            let mut v = Vec::new();
            r.read_to_end(&mut v)
                .map_err(|e| nixspot_deb::Error::io(&meta.path, e))?;
            Ok(v)
        })
        .unwrap();
        controls.push(c.control);
        paths.push(c.paths);
    }
    tree.finish(0).unwrap();
    assert_eq!(
        tree.get("usr/bin/sh").unwrap().kind,
        NodeKind::File(b"DASH".to_vec())
    );
    // Replaces covers every file of the replaced package.
    assert_eq!(
        tree.get("usr/bin/busybox").unwrap().kind,
        NodeKind::File(b"other".to_vec())
    );
    let c: Vec<(&str, Resolution)> = tree
        .conflicts()
        .iter()
        .map(|c| (c.path.as_str(), c.resolution))
        .collect();
    assert_eq!(
        c,
        [
            ("usr/bin/sh", Resolution::Replaced),
            ("usr/bin/busybox", Resolution::Replaced)
        ]
    );
    assert_eq!(
        tree.get("bin").unwrap().kind,
        NodeKind::Symlink("usr/bin".into())
    );

    // The status file lists both; dpkg-query reads it back.
    let installed: Vec<InstalledPackage> = controls
        .iter()
        .map(|c| InstalledPackage {
            control: c.control.clone(),
            conffiles: vec![],
        })
        .collect();
    // The database files alone (no "available", no "updates/") satisfy dpkg-query.
    let root = tempfile::tempdir().unwrap();
    let mut files = nixspot_deb::status::database_files(&installed);
    for (c, paths) in controls.iter().zip(&paths) {
        files.extend(nixspot_deb::status::info_files(
            c,
            paths.iter().map(String::as_str),
        ));
    }
    for (path, data) in &files {
        let p = root.path().join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, data).unwrap();
    }
    let admin = root.path().join("var/lib/dpkg");
    let out = Command::new("dpkg-query")
        .arg(format!("--admindir={}", admin.display()))
        .args([
            "-W",
            "-f",
            "${Package} ${Version} ${Architecture} ${db:Status-Abbrev}\\n",
        ])
        .output()
        .expect("dpkg-query must be installed (dpkg, listed in .ci/install-deps)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "busybox 1.7-1 arm64 ii \ndash 1.4-1 arm64 ii \n"
    );
    let out = Command::new("dpkg-query")
        .arg(format!("--admindir={}", admin.display()))
        .args(["-S", "/bin/busybox"])
        .output()
        .unwrap();
    // "busybox:arm64: …" on hosts where arm64 is a foreign architecture.
    let found = String::from_utf8_lossy(&out.stdout);
    assert!(
        found.starts_with("busybox") && found.ends_with(": /bin/busybox\n"),
        "{found}"
    );
}

#[test]
fn a_bad_replaces_field_is_reported_with_the_archive() {
    let deb = common::deb(
        &control("x", "Replaces: a | b\n"),
        &[],
        &[T::File("./f", 0o644, b"")],
        "gz",
        "gz",
    );
    let mut tree: Tree<()> = Tree::new(false);
    let err = install_deb(&mut tree, deb.as_slice(), "x.deb", |_, _| Ok(())).unwrap_err();
    assert!(err.to_string().contains("x.deb: Replaces"), "{err}");
}

#[test]
fn info_files_follow_dpkg_naming() {
    let deb = common::deb(
        &control("libz", "Multi-Arch: same\n"),
        &[
            ("md5sums", b"d41d8cd98f00b204e9800998ecf8427e  usr/lib/z\n"),
            ("conffiles", b"/etc/z\n"),
        ],
        &[
            T::File("./usr/lib/z", 0o644, b""),
            T::File("./etc/z", 0o644, b"z=1\n"),
        ],
        "xz",
        "xz",
    );
    let mut tree: Tree<()> = Tree::new(true);
    let c = install_deb(&mut tree, deb.as_slice(), "libz.deb", |_, _| Ok(())).unwrap();
    assert_eq!(c.paths, ["usr/lib/z", "etc/z"]);
    // The store read nothing; the conffile digest still covers all its bytes.
    assert_eq!(
        c.conffiles,
        [(
            "/etc/z".to_string(),
            "302795e184a094e1e183d488d715a860".to_string()
        )]
    );
    let files = nixspot_deb::status::info_files(&c.control, c.paths.iter().map(String::as_str));
    let keys: Vec<&str> = files.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "var/lib/dpkg/info/libz:arm64.conffiles",
            "var/lib/dpkg/info/libz:arm64.list",
            "var/lib/dpkg/info/libz:arm64.md5sums"
        ]
    );
    assert_eq!(
        files["var/lib/dpkg/info/libz:arm64.list"],
        b"/.\n/usr/lib/z\n/etc/z\n"
    );
}
