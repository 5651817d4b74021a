//! `.deb` unpacking: synthetic archives for every compression and entry kind, real
//! archives built by `dpkg-deb`, and hostile inputs.

mod common;

use std::io::Read;
use std::process::Command;

use common::T;
use nixspot_deb::ar::ArReader;
use nixspot_deb::deb::{normalize_path, Deb, EntryKind, EntryMeta};

const CONTROL: &str =
    "Package: demo\nVersion: 1.0-1\nArchitecture: arm64\nMaintainer: t <t@e>\nDescription: demo\n";

fn unpack(bytes: &[u8]) -> (nixspot_deb::deb::ControlInfo, Vec<(EntryMeta, Vec<u8>)>) {
    let deb = Deb::open(bytes, "demo.deb").unwrap();
    let control = deb.control().clone();
    let mut data = deb.into_data().unwrap();
    let mut out = Vec::new();
    for e in data.entries().unwrap() {
        let mut e = e.unwrap();
        let mut buf = Vec::new();
        e.read_to_end(&mut buf).unwrap();
        out.push((e.meta.clone(), buf));
    }
    (control, out)
}

fn data_entries<'a>() -> Vec<T<'a>> {
    vec![
        T::Dir("./", 0o755),
        T::Dir("./usr/", 0o755),
        T::Dir("./usr/bin/", 0o755),
        T::File("./usr/bin/tool", 0o4755, b"#!/bin/sh\necho hi\n"),
        T::Dir("./tmp/", 0o1777),
        T::Dir("./etc/", 0o2755),
        T::File("./etc/demo.conf", 0o644, b"key=value\n"),
        T::Symlink("./usr/bin/alias", "tool"),
        T::Symlink("./usr/bin/abs", "/usr/bin/tool"),
        T::Hardlink("./usr/bin/hard", "./usr/bin/tool"),
        T::Char("./dev/null", 1, 3),
        T::Fifo("./run/pipe"),
    ]
}

#[test]
fn unpacks_every_compression_and_entry_kind() {
    for (cm, dm) in [("xz", "xz"), ("gz", "zst"), ("zst", "gz"), ("", "")] {
        let bytes = common::deb(
            CONTROL,
            &[
                (
                    "conffiles",
                    b"/etc/demo.conf\n/etc/gone remove-on-upgrade\n",
                ),
                ("postinst", b"#!/bin/sh\n"),
                ("prerm", b"#!/bin/sh\n"),
            ],
            &data_entries(),
            cm,
            dm,
        );
        let (control, entries) = unpack(&bytes);
        assert_eq!(control.package, "demo");
        assert_eq!(control.version, "1.0-1");
        assert_eq!(control.architecture, "arm64");
        assert_eq!(control.conffiles, ["etc/demo.conf", "etc/gone"]);
        assert_eq!(control.scripts, ["postinst", "prerm"]);
        assert!(control.has_script("postinst") && !control.has_script("preinst"));
        assert_eq!(control.control.get("Maintainer"), Some("t <t@e>"));
        let paths: Vec<&str> = entries.iter().map(|(m, _)| m.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "usr",
                "usr/bin",
                "usr/bin/tool",
                "tmp",
                "etc",
                "etc/demo.conf",
                "usr/bin/alias",
                "usr/bin/abs",
                "usr/bin/hard",
                "dev/null",
                "run/pipe"
            ],
            "{cm}/{dm}"
        );
        let get = |p: &str| entries.iter().find(|(m, _)| m.path == p).unwrap();
        let (tool, data) = get("usr/bin/tool");
        assert_eq!(tool.kind, EntryKind::File);
        assert_eq!(tool.mode, 0o4755);
        assert_eq!(tool.size, 18);
        assert_eq!(data, b"#!/bin/sh\necho hi\n");
        assert_eq!(tool.mtime, 1_700_000_000);
        assert_eq!(tool.user.as_deref(), Some("root"));
        assert_eq!(get("tmp").0.mode, 0o1777);
        assert_eq!(get("etc").0.mode, 0o2755);
        assert_eq!(
            get("usr/bin/alias").0.kind,
            EntryKind::Symlink("tool".into())
        );
        assert_eq!(
            get("usr/bin/abs").0.kind,
            EntryKind::Symlink("/usr/bin/tool".into())
        );
        assert_eq!(
            get("usr/bin/hard").0.kind,
            EntryKind::Hardlink("usr/bin/tool".into())
        );
        assert_eq!(
            get("dev/null").0.kind,
            EntryKind::Char { major: 1, minor: 3 }
        );
        assert_eq!(get("run/pipe").0.kind, EntryKind::Fifo);
    }
}

#[test]
fn reads_owner_ids_and_names() {
    let data = common::tar(
        &[T::File("./var/mail", 0o2775, b"")],
        Some((0, 8, "root", "mail")),
    );
    let bytes = common::ar(&[
        ("debian-binary", b"2.0\n"),
        (
            "control.tar.gz",
            &common::compress(
                "gz",
                &common::tar(&[T::File("./control", 0o644, CONTROL.as_bytes())], None),
            ),
        ),
        ("data.tar.xz", &common::compress("xz", &data)),
    ]);
    let (_, entries) = unpack(&bytes);
    assert_eq!(entries[0].0.gid, 8);
    assert_eq!(entries[0].0.group.as_deref(), Some("mail"));
    assert_eq!(entries[0].0.mode, 0o2775);
}

/// dpkg-deb is the oracle: archives it builds (its own tar flavour, member order
/// and compressors) must unpack to what was put in.
#[test]
fn unpacks_debs_built_by_dpkg_deb() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("pkg");
    std::fs::create_dir_all(root.join("DEBIAN")).unwrap();
    std::fs::create_dir_all(root.join("usr/share/demo")).unwrap();
    std::fs::create_dir_all(root.join("etc")).unwrap();
    std::fs::write(root.join("DEBIAN/control"), CONTROL).unwrap();
    std::fs::write(root.join("DEBIAN/conffiles"), "/etc/demo.conf\n").unwrap();
    std::fs::write(root.join("etc/demo.conf"), "x=1\n").unwrap();
    // A file bigger than any buffer, with varied content.
    let big: Vec<u8> = (0..3_000_000u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    std::fs::write(root.join("usr/share/demo/big.bin"), &big).unwrap();
    std::os::unix::fs::symlink("big.bin", root.join("usr/share/demo/link")).unwrap();
    // A path longer than the 100 bytes of a plain tar header.
    let long = format!("usr/share/demo/{}/file", "d".repeat(120));
    std::fs::create_dir_all(root.join(&long).parent().unwrap()).unwrap();
    std::fs::write(root.join(&long), "long\n").unwrap();
    for z in ["xz", "gzip", "zstd", "none"] {
        let out = dir.path().join(format!("demo-{z}.deb"));
        let st = Command::new("dpkg-deb")
            .args(["--root-owner-group", "-Z", z, "--build"])
            .arg(&root)
            .arg(&out)
            .output()
            .expect("dpkg-deb must be installed (listed in .ci/install-deps)");
        assert!(
            st.status.success(),
            "{}",
            String::from_utf8_lossy(&st.stderr)
        );
        let bytes = std::fs::read(&out).unwrap();
        let (control, entries) = unpack(&bytes);
        assert_eq!(control.package, "demo", "{z}");
        assert_eq!(control.conffiles, ["etc/demo.conf"]);
        let get = |p: &str| {
            entries
                .iter()
                .find(|(m, _)| m.path == p)
                .unwrap_or_else(|| panic!("{z}: no {p}"))
        };
        assert_eq!(get("usr/share/demo/big.bin").1, big, "{z}");
        assert_eq!(get("usr/share/demo/big.bin").0.uid, 0);
        assert_eq!(
            get("usr/share/demo/link").0.kind,
            EntryKind::Symlink("big.bin".into())
        );
        assert_eq!(get("etc/demo.conf").1, b"x=1\n");
        assert_eq!(get(&long).1, b"long\n");
        assert!(entries
            .iter()
            .all(|(m, _)| !m.path.starts_with('.') && !m.path.starts_with('/')));
    }
}

#[test]
fn large_entries_stream_without_reading_everything_first() {
    // 64 MiB of zeros compress to a few KiB; reading only the first bytes of the big
    // entry and skipping to the next one must work (the tar reader skips the rest).
    let zeros = vec![0u8; 64 << 20];
    let bytes = common::deb(
        CONTROL,
        &[],
        &[
            T::File("./big", 0o644, &zeros),
            T::File("./after", 0o644, b"ok"),
        ],
        "xz",
        "gz",
    );
    drop(zeros);
    assert!(bytes.len() < 1 << 20);
    let deb = Deb::open(bytes.as_slice(), "big.deb").unwrap();
    let mut data = deb.into_data().unwrap();
    let mut it = data.entries().unwrap();
    let mut big = it.next().unwrap().unwrap();
    assert_eq!(big.meta.size, 64 << 20);
    let mut head = [1u8; 16];
    big.read_exact(&mut head).unwrap();
    assert_eq!(head, [0u8; 16]);
    drop(big);
    let mut after = it.next().unwrap().unwrap();
    let mut s = String::new();
    after.read_to_string(&mut s).unwrap();
    assert_eq!((after.meta.path.as_str(), s.as_str()), ("after", "ok"));
    assert!(it.next().is_none());
}

#[test]
fn normalises_paths_and_rejects_escapes() {
    assert_eq!(normalize_path("./usr/bin/x", "t").unwrap(), "usr/bin/x");
    assert_eq!(normalize_path("/etc//x/./y/", "t").unwrap(), "etc/x/y");
    assert_eq!(normalize_path("./", "t").unwrap(), "");
    for bad in ["../etc/passwd", "./usr/../../x", "a/.."] {
        let err = normalize_path(bad, "evil.deb").unwrap_err().to_string();
        assert!(err.contains("evil.deb") && err.contains(".."), "{err}");
    }
    let bytes = common::deb(
        CONTROL,
        &[],
        &[T::File("./usr/../../etc/shadow", 0o644, b"x")],
        "gz",
        "gz",
    );
    let deb = Deb::open(bytes.as_slice(), "evil.deb").unwrap();
    let mut data = deb.into_data().unwrap();
    let err = data
        .entries()
        .unwrap()
        .next()
        .unwrap()
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("unsafe path") && err.contains("evil.deb"),
        "{err}"
    );
    // A hard link pointing outside is rejected too.
    let bytes = common::deb(
        CONTROL,
        &[],
        &[T::Hardlink("./x", "../../etc/shadow")],
        "gz",
        "gz",
    );
    let deb = Deb::open(bytes.as_slice(), "evil.deb").unwrap();
    let mut data = deb.into_data().unwrap();
    assert!(data.entries().unwrap().next().unwrap().is_err());
}

#[test]
fn malformed_archives_are_errors_not_panics() {
    let good = common::deb(CONTROL, &[], &data_entries(), "xz", "xz");
    let control_only = common::ar(&[("debian-binary", b"2.0\n")]);
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (b"".to_vec(), "too short"),
        (b"!<arch>\nxx".to_vec(), "truncated member header"),
        (b"not an archive at all".to_vec(), "bad magic"),
        (
            common::ar(&[("control.tar.gz", b"x")]),
            "expected \"debian-binary\"",
        ),
        (
            common::ar(&[("debian-binary", b"3.0\n")]),
            "expected \"2.0\"",
        ),
        (control_only, "no control member"),
        (
            common::ar(&[("debian-binary", b"2.0\n"), ("control.tar.bz2", b"x")]),
            "unsupported compression",
        ),
        (
            common::ar(&[("debian-binary", b"2.0\n"), ("control.tar.gz", b"garbage")]),
            "demo.deb",
        ),
        (good[..good.len() / 2].to_vec(), "demo.deb"),
    ];
    for (bytes, want) in cases {
        let res = Deb::open(bytes.as_slice(), "demo.deb").and_then(|d| {
            let mut data = d.into_data()?;
            for e in data.entries()? {
                let mut e = e?;
                std::io::copy(&mut e, &mut std::io::sink())
                    .map_err(|e| nixspot_deb::Error::io("x", e))?;
            }
            Ok(())
        });
        let err = res.expect_err(want).to_string();
        assert!(err.contains(want), "{err} lacks {want}");
    }
    // Every truncation of a good archive fails cleanly or succeeds, never panics.
    for cut in (0..good.len()).step_by(97) {
        let _ = Deb::open(&good[..cut], "cut.deb").and_then(|d| {
            let mut data = d.into_data()?;
            for e in data.entries()? {
                let mut e = e?;
                let _ = std::io::copy(&mut e, &mut std::io::sink());
            }
            Ok(())
        });
    }
}

#[test]
fn ar_reader_skips_unread_members_and_handles_odd_sizes() {
    let bytes = common::ar(&[("a", b"odd"), ("b/", b"even"), ("c", b"")]);
    let mut ar = ArReader::new(bytes.as_slice(), "t.a");
    let a = ar.next_member().unwrap().unwrap();
    assert_eq!((a.name.as_str(), a.size), ("a", 3));
    let b = ar.next_member().unwrap().unwrap();
    assert_eq!(b.name, "b");
    let mut s = String::new();
    ar.read_to_string(&mut s).unwrap();
    assert_eq!(s, "even");
    assert_eq!(ar.next_member().unwrap().unwrap().size, 0);
    assert!(ar.next_member().unwrap().is_none());
}
