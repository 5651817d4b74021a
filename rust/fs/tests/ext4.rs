//! ext4 writer and reader against the real oracles (e2fsck, debugfs, dumpe2fs).

mod common;

use std::collections::BTreeMap;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::PathBuf;

use common::*;
use nixspot_fs::ext4::{
    host_tree_entries, Entry, EntryKind, Ext4Reader, Ext4Writer, FileData, HostTreeOptions, Meta,
    Size, SourceRange, Xattr,
};

fn read_all(img: &std::path::Path) -> BTreeMap<PathBuf, nixspot_fs::ext4::ReadEntry> {
    let r = Ext4Reader::open(img, 0).unwrap();
    r.entries()
        .unwrap()
        .into_iter()
        .map(|e| (e.path.clone(), e))
        .collect()
}

fn read_bytes(img: &std::path::Path, path: &str) -> Vec<u8> {
    let r = Ext4Reader::open(img, 0).unwrap();
    let e = r
        .entries()
        .unwrap()
        .into_iter()
        .find(|e| e.path == std::path::Path::new(path))
        .unwrap_or_else(|| panic!("{path} not found"));
    r.read_file(e.ino).unwrap()
}

#[test]
fn empty_filesystem_is_clean_and_has_features() {
    let t = tempfile::tempdir().unwrap();
    let img = build(t.path(), "empty.img", vec![], opts());
    e2fsck_clean(&img);
    let (rc, h) = run("dumpe2fs", &["-h", img.to_str().unwrap()]);
    assert_eq!(rc, 0, "{h}");
    for f in [
        "has_journal",
        "ext_attr",
        "dir_index",
        "filetype",
        "extent",
        "64bit",
        "flex_bg",
        "sparse_super",
        "large_file",
        "huge_file",
        "dir_nlink",
        "extra_isize",
        "metadata_csum",
    ] {
        assert!(h.contains(&format!(" {f}")), "feature {f} missing:\n{h}");
    }
    assert!(h.contains("Filesystem volume name:   data"), "{h}");
    assert!(h.contains("Inode size:\t          256"), "{h}");
    assert!(h.contains("Reserved block count:"), "{h}");
    assert!(h.contains("Journal start:            0"), "{h}");
    let ls = debugfs(&img, "ls -l /");
    assert!(ls.contains("lost+found"), "{ls}");
    assert!(read_all(&img).is_empty());
    let r = Ext4Reader::open(&img, 0).unwrap();
    assert_eq!(r.label(), "data");
}

#[test]
fn one_file_metadata_round_trips() {
    let t = tempfile::tempdir().unwrap();
    let mut e = file("etc/conf", b"hello world\n");
    e.meta = Meta {
        mode: 0o4755,
        uid: 100_000,
        gid: 1234,
        mtime: 1_650_000_000,
        xattrs: vec![Xattr {
            name: b"user.origin".to_vec(),
            value: b"nixspot".to_vec(),
        }],
    };
    let img = build(t.path(), "one.img", vec![e], opts());
    e2fsck_clean(&img);
    let st = debugfs(&img, "stat /etc/conf");
    assert!(st.contains("Mode:  04755"), "{st}");
    assert!(st.contains("User: 100000   Group:  1234"), "{st}");
    assert!(st.contains("Size: 12"), "{st}");
    assert!(st.contains("mtime: 0x62590080"), "{st}");
    assert!(st.contains("user.origin (7) = \"nixspot\""), "{st}");
    assert!(debugfs(&img, "cat /etc/conf").contains("hello world\n"));
    let all = read_all(&img);
    let got = &all[&PathBuf::from("etc/conf")];
    assert_eq!(got.meta.mode, 0o4755);
    assert_eq!(
        (got.meta.uid, got.meta.gid, got.meta.mtime),
        (100_000, 1234, 1_650_000_000)
    );
    assert_eq!(got.meta.xattrs[0].value, b"nixspot");
    assert_eq!(read_bytes(&img, "etc/conf"), b"hello world\n");
    // the implicit parent got the default metadata and the options' time
    let etc = &all[&PathBuf::from("etc")];
    assert_eq!((etc.meta.mode, etc.meta.mtime), (0o755, 1_700_000_000));
}

#[test]
fn ten_thousand_small_files() {
    let t = tempfile::tempdir().unwrap();
    let entries: Vec<Entry> = (0..10_000)
        .map(|i| {
            file(
                &format!("d{:02}/f{i:05}", i % 50),
                format!("content {i}").as_bytes(),
            )
        })
        .collect();
    let img = build(t.path(), "10k.img", entries, opts());
    e2fsck_clean(&img);
    let all = read_all(&img);
    assert_eq!(all.len(), 10_050);
    assert_eq!(read_bytes(&img, "d07/f09957"), b"content 9957");
    assert!(debugfs(&img, "cat /d49/f00099").contains("content 99"));
}

#[test]
fn five_gib_sparse_file_keeps_its_holes() {
    let t = tempfile::tempdir().unwrap();
    let src = t.path().join("sparse.bin");
    let f = std::fs::File::create(&src).unwrap();
    let size = 5u64 << 30;
    f.set_len(size).unwrap();
    f.write_all_at(b"start", 0).unwrap();
    f.write_all_at(b"middle", 3 << 30).unwrap();
    f.write_all_at(b"end", size - 3).unwrap();
    drop(f);
    let e = Entry {
        path: "big/sparse.bin".into(),
        kind: EntryKind::File(FileData::Host(src)),
        meta: meta(0o600),
    };
    let img = build(t.path(), "sparse.img", vec![e], opts());
    e2fsck_clean(&img);
    // the image is small and itself sparse
    let md = std::fs::metadata(&img).unwrap();
    assert!(md.len() < 64 << 20, "image is {} bytes", md.len());
    let st = debugfs(&img, "stat /big/sparse.bin");
    assert!(st.contains(&format!("Size: {size}")), "{st}");
    let r = Ext4Reader::open(&img, 0).unwrap();
    let e = r
        .entries()
        .unwrap()
        .into_iter()
        .find(|e| e.path == std::path::Path::new("big/sparse.bin"))
        .unwrap();
    let EntryKind::File(FileData::Ranges {
        size: s, ranges, ..
    }) = &e.kind
    else {
        panic!("not a file: {e:?}");
    };
    assert_eq!(*s, size);
    assert!(ranges.len() <= 4, "{ranges:?}");
    let mut buf = [0u8; 6];
    let imgf = std::fs::File::open(&img).unwrap();
    let mid = ranges.iter().find(|r| r.file_offset == 3 << 30).unwrap();
    imgf.read_exact_at(&mut buf, mid.source_offset).unwrap();
    assert_eq!(&buf, b"middle");
    let last = ranges.last().unwrap();
    imgf.read_exact_at(
        &mut buf[..3],
        last.source_offset + (size - 3 - last.file_offset),
    )
    .unwrap();
    assert_eq!(&buf[..3], b"end");
}

#[test]
fn deep_tree_long_and_unicode_names() {
    let t = tempfile::tempdir().unwrap();
    let mut path = String::new();
    for i in 0..300 {
        path.push_str(&format!("level{i}/"));
    }
    let long = "x".repeat(255);
    let uni = "données-日本語-🦀-ü".to_string();
    let entries = vec![
        file(&format!("{path}leaf"), b"deep"),
        file(&long, b"long"),
        file(&format!("{uni}/{long}"), b"both"),
        file(&"é".repeat(127), b"254 bytes"),
    ];
    let img = build(t.path(), "names.img", entries, opts());
    e2fsck_clean(&img);
    let all = read_all(&img);
    assert!(all.contains_key(&PathBuf::from(format!("{path}leaf"))));
    assert_eq!(read_bytes(&img, &format!("{uni}/{long}")), b"both");
    assert!(debugfs(&img, &format!("cat /{long}")).contains("long"));
    // a 256-byte name is refused, and so is a NUL in a name (e2fsck calls it illegal)
    let mut w = Ext4Writer::new(opts());
    assert!(w.add(file(&"y".repeat(256), b"")).is_err());
    assert!(w.add(file("bad\0name", b"")).is_err());
    assert!(w.add(file("dir/bad\0", b"")).is_err());
}

#[test]
fn symlinks_of_all_lengths() {
    let t = tempfile::tempdir().unwrap();
    let mut entries = Vec::new();
    let lens: Vec<usize> = (1..=130).chain([1000, 4000, 4095]).collect();
    for &n in &lens {
        let target: Vec<u8> = (0..n).map(|i| b'a' + (i % 26) as u8).collect();
        entries.push(symlink(&format!("l{n}"), &target));
    }
    let img = build(t.path(), "links.img", entries, opts());
    e2fsck_clean(&img);
    let all = read_all(&img);
    for &n in &lens {
        let e = &all[&PathBuf::from(format!("l{n}"))];
        let EntryKind::Symlink(t) = &e.kind else {
            panic!("{e:?}")
        };
        assert_eq!(t.len(), n);
    }
    let st = debugfs(&img, "stat /l59");
    assert!(st.contains("Fast link dest"), "{st}");
    let st = debugfs(&img, "stat /l60");
    assert!(st.contains("EXTENTS"), "{st}");
    // 0 and 4096 bytes are refused
    let mut w = Ext4Writer::new(opts());
    assert!(w.add(symlink("a", b"")).is_err());
    assert!(w.add(symlink("b", &[b'x'; 4096])).is_err());
}

#[test]
fn devices_fifos_sockets_and_hard_links() {
    let t = tempfile::tempdir().unwrap();
    let dev = |p: &str, kind| Entry {
        path: p.into(),
        kind,
        meta: meta(0o660),
    };
    let entries = vec![
        dev("dev/null", EntryKind::CharDevice { major: 1, minor: 3 }),
        dev(
            "dev/big",
            EntryKind::CharDevice {
                major: 300,
                minor: 70_000,
            },
        ),
        dev("dev/sda", EntryKind::BlockDevice { major: 8, minor: 0 }),
        dev("run/fifo", EntryKind::Fifo),
        dev("run/sock", EntryKind::Socket),
        file("data/orig", b"shared"),
        dev("data/link1", EntryKind::HardLink("data/orig".into())),
        dev("other/link2", EntryKind::HardLink("/data/link1".into())),
    ];
    let img = build(t.path(), "dev.img", entries, opts());
    e2fsck_clean(&img);
    let st = debugfs(&img, "stat /dev/big");
    assert!(st.contains("Device major/minor number: 300:70000"), "{st}");
    let st = debugfs(&img, "stat /data/orig");
    assert!(st.contains("Links: 3"), "{st}");
    let all = read_all(&img);
    assert_eq!(
        all[&PathBuf::from("dev/big")].kind,
        EntryKind::CharDevice {
            major: 300,
            minor: 70_000
        }
    );
    assert_eq!(
        all[&PathBuf::from("dev/sda")].kind,
        EntryKind::BlockDevice { major: 8, minor: 0 }
    );
    assert_eq!(all[&PathBuf::from("run/fifo")].kind, EntryKind::Fifo);
    assert_eq!(all[&PathBuf::from("run/sock")].kind, EntryKind::Socket);
    // the first path in name order carries the data, later ones link to it
    assert_eq!(
        all[&PathBuf::from("data/orig")].kind,
        EntryKind::HardLink("data/link1".into())
    );
    assert_eq!(
        all[&PathBuf::from("data/orig")].ino,
        all[&PathBuf::from("other/link2")].ino
    );
    // a link to a missing target is an error
    let mut w = Ext4Writer::new(opts());
    w.add(dev("x", EntryKind::HardLink("nope".into()))).unwrap();
    assert!(w.plan().is_err());
}

#[test]
fn hundred_thousand_entry_directory_uses_htree() {
    let t = tempfile::tempdir().unwrap();
    // long names make > 507 leaf blocks, so the index needs an interior level
    let entries: Vec<Entry> = (0..100_000)
        .map(|i| {
            let mut e = file(&format!("big/entry-with-a-rather-long-name-{i:08}"), b"");
            e.meta.mode = 0o600;
            e
        })
        .collect();
    let img = build(t.path(), "big.img", entries, opts());
    e2fsck_clean(&img);
    let st = debugfs(&img, "stat /big");
    assert!(st.contains("Flags: 0x81000"), "htree flag missing: {st}");
    let dump = debugfs(&img, "htree_dump /big");
    assert!(
        dump.contains("Indirect levels: 1"),
        "{}",
        &dump[..dump.len().min(2000)]
    );
    // lookups go through the index
    let st = debugfs(&img, "stat /big/entry-with-a-rather-long-name-00054321");
    assert!(st.contains("Mode:  0600"), "{st}");
    assert_eq!(read_all(&img).len(), 100_001);
}

#[test]
fn big_xattrs_go_to_a_block_and_fragmented_files_get_index_blocks() {
    let t = tempfile::tempdir().unwrap();
    // 2000 data islands → 2000 extents → a two-level extent tree
    let src = t.path().join("frag.bin");
    let f = std::fs::File::create(&src).unwrap();
    let ranges: Vec<SourceRange> = (0..2000u64)
        .map(|i| {
            f.write_all_at(&i.to_le_bytes(), i * 8192).unwrap();
            SourceRange {
                file_offset: i * 8192,
                source_offset: i * 8192,
                len: 8,
            }
        })
        .collect();
    let mut e = Entry {
        path: "frag".into(),
        kind: EntryKind::File(FileData::Ranges {
            source: src,
            size: 2000 * 8192,
            ranges,
        }),
        meta: meta(0o644),
    };
    e.meta.xattrs = (0..20)
        .map(|i| Xattr {
            name: format!("user.attr{i}").into_bytes(),
            value: vec![b'v'; 100],
        })
        .collect();
    let img = build(t.path(), "frag.img", vec![e], opts());
    e2fsck_clean(&img);
    let st = debugfs(&img, "stat /frag");
    assert!(!st.contains("File ACL: 0\n"), "xattr block expected: {st}");
    let ex = debugfs(&img, "ex /frag");
    assert!(
        ex.contains(" 2/ 2 "),
        "two-level tree expected:\n{}",
        &ex[..ex.len().min(1500)]
    );
    let data = read_bytes(&img, "frag");
    assert_eq!(data.len(), 2000 * 8192);
    assert_eq!(&data[1999 * 8192..1999 * 8192 + 8], &1999u64.to_le_bytes());
    let all = read_all(&img);
    assert_eq!(all[&PathBuf::from("frag")].meta.xattrs.len(), 20);
}

fn make_tree(root: &std::path::Path, reverse: bool) {
    let mut names: Vec<String> = (0..200).map(|i| format!("d{}/f{i}", i % 7)).collect();
    if reverse {
        names.reverse();
    }
    for n in &names {
        let p = root.join(n);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, n.repeat(50)).unwrap();
    }
    let extra = if reverse { ["z", "a"] } else { ["a", "z"] };
    for x in extra {
        std::os::unix::fs::symlink("d1/f1", root.join(format!("link-{x}"))).unwrap();
    }
}

#[test]
fn same_entries_same_bytes_whatever_the_host_order() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::Builder::new()
        .prefix("other-place")
        .tempdir()
        .unwrap();
    make_tree(&a.path().join("tree"), false);
    make_tree(&b.path().join("x/y/tree"), true);
    let host = HostTreeOptions {
        uid: Some(0),
        gid: Some(0),
        mtime: Some(1_700_000_000),
    };
    let build_from = |root: &std::path::Path, out: &std::path::Path| {
        let mut entries = host_tree_entries(root, &host).unwrap();
        // feed in a different order too: the writer must sort
        if root.to_string_lossy().contains("other-place") {
            entries.reverse();
        }
        for e in &mut entries {
            e.meta.mode &= 0o755;
        }
        build(out, "det.img", entries, opts())
    };
    let i1 = build_from(&a.path().join("tree"), a.path());
    let i2 = build_from(&b.path().join("x/y/tree"), b.path());
    e2fsck_clean(&i1);
    assert_eq!(std::fs::read(&i1).unwrap(), std::fs::read(&i2).unwrap());
    // another seed changes the UUID
    let mut o = opts();
    o.seed = b"other".to_vec();
    let i3 = build(b.path(), "seed.img", vec![], o);
    let i4 = build(b.path(), "seed2.img", vec![], opts());
    assert_ne!(std::fs::read(&i3).unwrap(), std::fs::read(&i4).unwrap());
}

#[test]
fn exact_size_offset_and_errors() {
    let t = tempfile::tempdir().unwrap();
    let mut o = opts();
    o.size = Size::Exact(64 << 20);
    let mut w = Ext4Writer::new(o.clone());
    w.add(file("a", b"x")).unwrap();
    let plan = w.plan().unwrap();
    assert_eq!(plan.size_bytes(), 64 << 20);
    // write at an offset inside a bigger file, then check the extracted partition
    let img = t.path().join("disk.img");
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&img)
        .unwrap();
    f.set_len(200 << 20).unwrap();
    f.write_all_at(b"keep me", 0).unwrap();
    plan.write(&f, 8 << 20).unwrap();
    let r = Ext4Reader::open(&img, 8 << 20).unwrap();
    assert_eq!(r.size_bytes(), 64 << 20);
    let mut head = [0u8; 7];
    f.read_exact_at(&mut head, 0).unwrap();
    assert_eq!(&head, b"keep me");
    let part = t.path().join("part.img");
    let (rc, out) = run(
        "dd",
        &[
            &format!("if={}", img.display()),
            &format!("of={}", part.display()),
            "bs=1M",
            "skip=8",
            "count=64",
            "conv=sparse",
        ],
    );
    assert_eq!(rc, 0, "{out}");
    e2fsck_clean(&part);
    // too small → error, not a broken image
    o.size = Size::Exact(8 << 20);
    let mut w = Ext4Writer::new(o);
    w.add(file("big", &vec![1u8; 10 << 20])).unwrap();
    assert!(w.plan().is_err());
    // duplicates and non-directory parents are refused
    let mut w = Ext4Writer::new(opts());
    w.add(file("a", b"")).unwrap();
    assert!(w.add(file("a", b"")).is_err());
    assert!(w.add(file("a/b", b"")).is_err());
    assert!(w.add(file("../x", b"")).is_err());
}

#[test]
fn minimal_size_with_margin_and_inode_count_from_content() {
    let t = tempfile::tempdir().unwrap();
    let entries: Vec<Entry> = (0..1000)
        .map(|i| file(&format!("f{i}"), &[7u8; 5000]))
        .collect();
    let mut o = opts();
    o.size = Size::Minimal {
        margin_bytes: 1 << 20,
        margin_percent: 10,
    };
    o.extra_inodes = 100;
    let img = build(t.path(), "min.img", entries.clone(), o);
    e2fsck_clean(&img);
    let (_, h) = run("dumpe2fs", &["-h", img.to_str().unwrap()]);
    let field = |name: &str| -> u64 {
        h.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split(':').nth(1))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("{name} missing in {h}"))
    };
    let inodes = field("Inode count");
    assert!(
        (1000 + 11 + 100..1000 + 11 + 100 + 16).contains(&inodes),
        "{inodes} inodes"
    );
    let blocks = field("Block count");
    let free = field("Free blocks");
    // 1000 × 2 blocks of data + journal + metadata, plus ≈10 % + 1 MiB + 5 % reserve
    assert!(
        blocks < 2000 + 1024 + 600 + 256,
        "{blocks} blocks is not minimal"
    );
    assert!(free > 256 + 100, "{free} free blocks: margin missing");
    let md = std::fs::metadata(&img).unwrap();
    assert_eq!(md.len(), blocks * 4096);
    assert!(md.blocks() * 512 <= md.len());
}

#[test]
fn corrupt_images_give_errors_not_panics() {
    let t = tempfile::tempdir().unwrap();
    let mut entries: Vec<Entry> = (0..300)
        .map(|i| file(&format!("d{}/f{i}", i % 3), &vec![i as u8; 100 * i]))
        .collect();
    entries.push(symlink("l", &[b'x'; 300]));
    let img = build(t.path(), "c.img", entries, opts());
    let pristine = std::fs::read(&img).unwrap();
    // metadata lives in the first blocks: flip bytes there with a fixed xorshift sequence,
    // in place, restoring them after each round
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&img)
        .unwrap();
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for _ in 0..300 {
        let mut flipped = Vec::new();
        for _ in 0..8 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let pos = (x % (1100 * 4096)) as usize;
            f.write_all_at(&[pristine[pos] ^ ((x >> 32) as u8 | 1)], pos as u64)
                .unwrap();
            flipped.push(pos);
        }
        if let Ok(r) = Ext4Reader::open(&img, 0) {
            if let Ok(es) = r.entries() {
                for e in es.iter().take(20) {
                    let _ = r.read_file(e.ino);
                }
            }
        }
        for pos in flipped {
            f.write_all_at(&pristine[pos..pos + 1], pos as u64).unwrap();
        }
    }
    drop(f);
    assert_eq!(std::fs::read(&img).unwrap(), pristine);
}
