//! Hostile and unusual archives through `archive::expand`, built with real GNU tar (for
//! links as a shell makes them and for sparse members) and the tar/zip writers (for
//! members no file system can hold: devices, NUL in names).

use nixspot_archive::{expand, ArchiveError, Expanded, Format};
use nixspot_fs::ext4::{EntryKind, FileData, SourceRange};
use std::io::Write;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Runs GNU tar in `dir` with `args`.
fn gnu_tar(dir: &Path, args: &[&str]) {
    let out = Command::new("tar")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("running GNU tar");
    assert!(
        out.status.success(),
        "tar {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn expand_in(dir: &Path, archive: &Path, via: Format) -> Result<Expanded, ArchiveError> {
    let scratch = dir.join("scratch");
    std::fs::create_dir_all(&scratch).expect("scratch dir");
    expand(archive, via, Path::new("contents/x"), &scratch)
}

fn refused(result: Result<Expanded, ArchiveError>, member: &str, why: &str) {
    match result {
        Err(e @ ArchiveError::Unsafe { .. }) => {
            let message = e.to_string();
            assert!(message.contains(member), "{message} names {member}");
            assert!(message.contains(why), "{message} says {why}");
        }
        Err(e) => panic!("refused for the wrong reason: {e}"),
        Ok(x) => panic!("expanded: {:?}", x.entries),
    }
}

/// `a/b/c/d → ../../..` stays inside, and so does `esc → a/b/c/d/../../../..` read as
/// text; but on the device `esc` goes through `d` first and lands three levels above
/// the target directory.
#[test]
fn chains_of_relative_links_that_escape_are_refused_in_either_order() {
    for order in [["a", "esc"], ["esc", "a"]] {
        let dir = tempfile::tempdir().expect("tempdir");
        let src = dir.path().join("src");
        std::fs::create_dir_all(src.join("a/b/c")).expect("dirs");
        symlink("../../..", src.join("a/b/c/d")).expect("symlink d");
        symlink("a/b/c/d/../../../..", src.join("esc")).expect("symlink esc");
        let archive = dir.path().join("chain.tar");
        let archive_arg = archive.to_str().expect("utf-8 path");
        gnu_tar(&src, &["-cf", archive_arg, order[0], order[1]]);
        refused(
            expand_in(dir.path(), &archive, Format::Tar),
            "esc",
            "leaves the target directory",
        );
    }
}

/// A member stored under a link to a directory would be written through the link.
#[test]
fn members_under_a_link_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut builder = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(tar::EntryType::Symlink);
    header.set_size(0);
    header.set_mode(0o777);
    header.set_path("up").expect("path");
    header.set_link_name("sub/..").expect("link name");
    header.set_cksum();
    builder.append(&header, &[][..]).expect("append link");
    let mut header = tar::Header::new_gnu();
    header.set_size(2);
    header.set_mode(0o644);
    builder
        .append_data(&mut header, "up/file", &b"hi"[..])
        .expect("append file");
    let archive = dir.path().join("through.tar");
    std::fs::write(&archive, builder.into_inner().expect("tar")).expect("write");
    refused(
        expand_in(dir.path(), &archive, Format::Tar),
        "up/file",
        "under a link",
    );
}

/// Links that stay inside (even through other links) are kept as they are.
#[test]
fn links_that_stay_inside_are_kept() {
    let dir = tempfile::tempdir().expect("tempdir");
    let src = dir.path().join("src");
    std::fs::create_dir_all(src.join("a/b/c")).expect("dirs");
    symlink("../..", src.join("a/b/c/d")).expect("symlink d");
    symlink("a/b/c/d/b/c/d/..", src.join("ok")).expect("symlink ok");
    symlink("ok/b", src.join("ok2")).expect("symlink ok2");
    let archive = dir.path().join("fine.tar");
    gnu_tar(
        &src,
        &["-cf", archive.to_str().expect("utf-8"), "ok", "ok2", "a"],
    );
    let expanded = expand_in(dir.path(), &archive, Format::Tar).expect("expands");
    let links: Vec<(PathBuf, Vec<u8>)> = expanded
        .entries
        .iter()
        .filter_map(|e| match &e.kind {
            EntryKind::Symlink(t) => Some((e.path.clone(), t.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        links,
        vec![
            (PathBuf::from("contents/x/a/b/c/d"), b"../..".to_vec()),
            (PathBuf::from("contents/x/ok"), b"a/b/c/d/b/c/d/..".to_vec()),
            (PathBuf::from("contents/x/ok2"), b"ok/b".to_vec()),
        ]
    );
}

/// A zip written by Python's `zipfile`, each member `(name, unix mode, data)`: the mode
/// goes into the external attributes as is (file type bits included), as Info-ZIP does.
fn python_zip(path: &Path, members: &[(&str, u32, &[u8])]) {
    let spec: Vec<String> = members
        .iter()
        .map(|(name, mode, data)| {
            let hex: String = data.iter().map(|b| format!("{b:02x}")).collect();
            format!("{name}\t{mode}\t{hex}")
        })
        .collect();
    let script = r#"
import sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w") as z:
    for line in sys.argv[2:]:
        name, mode, data = line.split("\t")
        info = zipfile.ZipInfo(name, (2024, 1, 1, 0, 0, 0))
        info.create_system = 3
        info.external_attr = int(mode) << 16
        z.writestr(info, bytes.fromhex(data))
"#;
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(path)
        .args(&spec)
        .output()
        .expect("running python3");
    assert!(
        out.status.success(),
        "python3 zipfile: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn zip_link_chains_that_escape_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let archive = dir.path().join("chain.zip");
    python_zip(
        &archive,
        &[
            ("esc", 0o120_777, b"a/b/c/d/../../../.."),
            ("a/b/c/", 0o040_755, b""),
            ("a/b/c/d", 0o120_777, b"../../.."),
        ],
    );
    refused(
        expand_in(dir.path(), &archive, Format::Zip),
        "esc",
        "leaves the target directory",
    );
}

fn tar_with_special(entry_type: tar::EntryType) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_ustar();
    header.set_entry_type(entry_type);
    header.set_size(0);
    header.set_mode(0o666);
    header.set_device_major(8).expect("major");
    header.set_device_minor(0).expect("minor");
    builder
        .append_data(&mut header, "dev/node", &[][..])
        .expect("append");
    builder.into_inner().expect("tar")
}

#[test]
fn device_nodes_and_fifos_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (kind, what) in [
        (tar::EntryType::Block, "device"),
        (tar::EntryType::Char, "device"),
        (tar::EntryType::Fifo, "FIFO"),
    ] {
        let archive = dir.path().join("special.tar");
        std::fs::write(&archive, tar_with_special(kind)).expect("write");
        refused(
            expand_in(dir.path(), &archive, Format::Tar),
            "dev/node",
            what,
        );
    }
    // Zip has no device type of its own: the Unix mode in the external attributes says it.
    for (mode, what) in [
        (0o060_660, "device"),
        (0o020_660, "device"),
        (0o010_644, "FIFO"),
    ] {
        let archive = dir.path().join("special.zip");
        python_zip(&archive, &[("dev/sda", mode, b"")]);
        refused(
            expand_in(dir.path(), &archive, Format::Zip),
            "dev/sda",
            what,
        );
    }
}

#[test]
fn names_with_nul_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut builder = tar::Builder::new(Vec::new());
    builder
        .append_pax_extensions([("path", &b"bad\0name"[..])])
        .expect("pax");
    let mut header = tar::Header::new_ustar();
    header.set_size(1);
    header.set_mode(0o644);
    builder
        .append_data(&mut header, "placeholder", &b"x"[..])
        .expect("append");
    let archive = dir.path().join("nul.tar");
    std::fs::write(&archive, builder.into_inner().expect("tar")).expect("write");
    refused(expand_in(dir.path(), &archive, Format::Tar), "bad", "NUL");

    // zipfile cuts names at NUL: write a placeholder and patch both copies of the name
    // (local and central headers; the CRC covers only the data).
    let archive = dir.path().join("nul.zip");
    python_zip(&archive, &[("zip#name", 0o100_644, b"x")]);
    let mut bytes = std::fs::read(&archive).expect("read");
    let mut patched = 0;
    for i in 0..bytes.len().saturating_sub(8) {
        if &bytes[i..i + 8] == b"zip#name" {
            bytes[i + 3] = 0;
            patched += 1;
        }
    }
    assert_eq!(patched, 2, "both copies of the name patched");
    std::fs::write(&archive, bytes).expect("write");
    refused(expand_in(dir.path(), &archive, Format::Zip), "zip", "NUL");
}

#[test]
fn setuid_and_setgid_bits_are_dropped() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut builder = tar::Builder::new(Vec::new());
    for (name, mode) in [("suid", 0o4755), ("sgid", 0o2755), ("sticky", 0o1777)] {
        let mut header = tar::Header::new_ustar();
        header.set_size(1);
        header.set_mode(mode);
        builder
            .append_data(&mut header, name, &b"x"[..])
            .expect("append");
    }
    let archive = dir.path().join("modes.tar");
    std::fs::write(&archive, builder.into_inner().expect("tar")).expect("write");
    let zip_archive = dir.path().join("modes.zip");
    python_zip(&zip_archive, &[("suid", 0o106_755, b"x")]);

    let modes = |expanded: Expanded| -> Vec<(String, u16)> {
        expanded
            .entries
            .iter()
            .map(|e| {
                let name = e.path.file_name().expect("name").to_string_lossy();
                (name.into_owned(), e.meta.mode)
            })
            .collect()
    };
    let tar_modes = modes(expand_in(dir.path(), &archive, Format::Tar).expect("tar"));
    assert_eq!(
        tar_modes,
        vec![
            ("sgid".to_string(), 0o755),
            ("sticky".to_string(), 0o1777),
            ("suid".to_string(), 0o755),
        ]
    );
    let zip_modes = modes(expand_in(dir.path(), &zip_archive, Format::Zip).expect("zip"));
    assert_eq!(zip_modes, vec![("suid".to_string(), 0o755)]);
}

#[test]
fn members_stay_readable_by_the_services_users() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut builder = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_ustar();
    header.set_entry_type(tar::EntryType::Directory);
    header.set_size(0);
    header.set_mode(0o700);
    builder
        .append_data(&mut header, "private/", &b""[..])
        .expect("append");
    for (name, mode) in [("private/secret", 0o600), ("private/tool", 0o700)] {
        let mut header = tar::Header::new_ustar();
        header.set_size(1);
        header.set_mode(mode);
        builder
            .append_data(&mut header, name, &b"x"[..])
            .expect("append");
    }
    let archive = dir.path().join("private.tar");
    std::fs::write(&archive, builder.into_inner().expect("tar")).expect("write");
    let expanded = expand_in(dir.path(), &archive, Format::Tar).expect("tar");
    let mut modes: Vec<(String, u16)> = expanded
        .entries
        .iter()
        .map(|e| (e.path.to_string_lossy().into_owned(), e.meta.mode))
        .collect();
    modes.sort();
    assert_eq!(
        modes,
        vec![
            ("contents/x/private".to_string(), 0o755),
            ("contents/x/private/secret".to_string(), 0o644),
            ("contents/x/private/tool".to_string(), 0o744),
        ]
    );
}

/// A 5 MiB file with eight 4 KiB data islands (more than the four an old-GNU header
/// holds, so extension headers are needed) and a trailing hole.
fn sparse_source(dir: &Path) -> (PathBuf, Vec<u8>) {
    let path = dir.join("sparse.bin");
    let mut content = vec![0u8; 5 << 20];
    for i in 0..8u8 {
        let at = (usize::from(i) * 614_400) + 4096;
        for (k, b) in content[at..at + 4096].iter_mut().enumerate() {
            *b = i.wrapping_mul(31).wrapping_add(k as u8) | 1;
        }
    }
    let file = std::fs::File::create(&path).expect("create");
    // Written island by island so the file system keeps the holes tar then finds.
    file.set_len(content.len() as u64).expect("set_len");
    for i in 0..8usize {
        let at = i * 614_400 + 4096;
        use std::os::unix::fs::FileExt;
        file.write_all_at(&content[at..at + 4096], at as u64)
            .expect("write island");
    }
    (path, content)
}

/// What the entry's ranges give when read back from their source, holes as zeros.
fn materialise(kind: &EntryKind) -> (Vec<u8>, Vec<SourceRange>) {
    let EntryKind::File(FileData::Ranges {
        source,
        size,
        ranges,
    }) = kind
    else {
        panic!("not ranges: {kind:?}");
    };
    let src = std::fs::read(source).expect("source");
    let mut out = vec![0u8; *size as usize];
    for r in ranges {
        let (s, f, n) = (
            r.source_offset as usize,
            r.file_offset as usize,
            r.len as usize,
        );
        out[f..f + n].copy_from_slice(&src[s..s + n]);
    }
    (out, ranges.clone())
}

#[test]
fn gnu_sparse_members_expand_with_holes_in_every_format() {
    let dir = tempfile::tempdir().expect("tempdir");
    let src = dir.path().join("src");
    std::fs::create_dir_all(&src).expect("src");
    let (_, content) = sparse_source(&src);
    let mut formats: Vec<Vec<&str>> = vec![vec!["--format=gnu"]];
    for version in ["0.0", "0.1", "1.0"] {
        formats.push(vec!["--format=pax", "--sparse-version", version]);
    }
    for format in formats {
        let archive = dir.path().join("sparse.tar");
        let mut args = vec!["--sparse", "-cf", archive.to_str().expect("utf-8")];
        args.extend(&format);
        args.push("sparse.bin");
        gnu_tar(&src, &args);
        let raw = std::fs::read(&archive).expect("archive");
        assert!(
            raw.len() < 1 << 20,
            "{format:?}: GNU tar stored the holes ({} bytes)",
            raw.len()
        );
        for (via, file) in [
            (Format::Tar, archive.clone()),
            (Format::Gztar, {
                let gz = dir.path().join("sparse.tar.gz");
                let mut enc =
                    flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                enc.write_all(&raw).expect("gzip");
                std::fs::write(&gz, enc.finish().expect("gzip")).expect("write");
                gz
            }),
        ] {
            let expanded = expand_in(dir.path(), &file, via)
                .unwrap_or_else(|e| panic!("{format:?} {via:?}: {e}"));
            assert_eq!(
                expanded.entries.len(),
                1,
                "{format:?}: {:?}",
                expanded.entries
            );
            let entry = &expanded.entries[0];
            assert_eq!(entry.path, Path::new("contents/x/sparse.bin"), "{format:?}");
            let (data, ranges) = materialise(&entry.kind);
            assert!(data == content, "{format:?} {via:?}: content differs");
            let stored: u64 = ranges.iter().map(|r| r.len).sum();
            assert!(
                stored <= 8 * 4096,
                "{format:?}: holes written as data ({stored} bytes)"
            );
            assert_eq!(expanded.content_size, content.len() as u64, "{format:?}");
        }
    }
}

/// A sparse map that claims more data than the member stores, or blocks out of order,
/// is an error, not a read past the member.
#[test]
fn lying_pax_sparse_maps_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    for map in [
        "0,100,50,10",
        "0,4096",
        "10,5,0,1",
        "99999999999999999999,1",
    ] {
        let mut builder = tar::Builder::new(Vec::new());
        builder
            .append_pax_extensions([
                ("GNU.sparse.size", &b"1000"[..]),
                ("GNU.sparse.name", &b"f"[..]),
                ("GNU.sparse.map", map.as_bytes()),
            ])
            .expect("pax");
        let mut header = tar::Header::new_ustar();
        header.set_size(512);
        header.set_mode(0o644);
        builder
            .append_data(&mut header, "GNUSparseFile.1/f", &[7u8; 512][..])
            .expect("append");
        let archive = dir.path().join("lying.tar");
        std::fs::write(&archive, builder.into_inner().expect("tar")).expect("write");
        match expand_in(dir.path(), &archive, Format::Tar) {
            Err(ArchiveError::Invalid { member, .. }) => assert_eq!(member, "f", "{map}"),
            other => panic!("{map}: {other:?}"),
        }
    }
}

/// A hard link shares its target's inode: to a symlink, it is the same link text read
/// from another directory. `a/b/l → ../x` stays inside; a hard link `top` to it does not.
#[test]
fn hard_links_to_symlinks_are_resolved_where_they_are() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut builder = tar::Builder::new(Vec::new());
    let mut append = |kind: tar::EntryType, path: &str, link: &str| {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(kind);
        header.set_size(0);
        header.set_mode(0o777);
        header.set_path(path).expect("path");
        header.set_link_name(link).expect("link name");
        header.set_cksum();
        builder.append(&header, &[][..]).expect("append");
    };
    append(tar::EntryType::Symlink, "a/b/l", "../../x");
    append(tar::EntryType::Link, "top", "a/b/l");
    let archive = dir.path().join("hard.tar");
    std::fs::write(&archive, builder.into_inner().expect("tar")).expect("write");
    refused(
        expand_in(dir.path(), &archive, Format::Tar),
        "top",
        "leaves the target directory",
    );
}
