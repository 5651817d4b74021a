//! The ext4 writer writes every region once, front to back (so a hash can follow it in
//! one pass), and zero blocks of its sources become holes without changing a byte.

mod common;

use std::fs::{File, OpenOptions};
use std::io::Read;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::Path;

use common::*;
use nixspot_fs::ext4::{Entry, EntryKind, Ext4Writer, FileData, Meta, Size};
use nixspot_fs::sparse;
use sha2::{Digest, Sha256};

fn hex(d: &[u8]) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

fn sha256_file(path: &Path) -> String {
    let mut f = File::open(path).unwrap();
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    hex(&h.finalize())
}

/// Deterministic non-zero bytes.
fn pattern(len: usize, salt: u8) -> Vec<u8> {
    (0..len)
        .map(|i| ((i * 31 + usize::from(salt)) % 251) as u8 | 1)
        .collect()
}

/// 4 KiB of data, 1 MiB of zeros, 4 KiB of data, then 10,000 zeros (a partial block at
/// the end): the zero runs of a dense file, as in a decompressed base image.
fn content_with_zero_runs() -> Vec<u8> {
    let mut v = pattern(4096, 1);
    v.resize(v.len() + (1 << 20), 0);
    v.extend(pattern(4096, 2));
    v.resize(v.len() + 10_000, 0);
    v
}

fn rw(path: &Path) -> File {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)
        .unwrap()
}

fn write_image(path: &Path, data: FileData) -> u64 {
    let mut w = Ext4Writer::new(opts());
    let mut meta = Meta::new(0o644);
    meta.mtime = 1_700_000_000;
    w.add(Entry {
        path: "content/base.img".into(),
        kind: EntryKind::File(data),
        meta,
    })
    .unwrap();
    let plan = w.plan().unwrap();
    plan.write(&rw(path), 0).unwrap();
    plan.size_bytes()
}

/// Physical blocks of a file in an image, from debugfs.
fn blocks_of(img: &Path, path: &str) -> Vec<u64> {
    debugfs(img, &format!("blocks {path}"))
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect()
}

fn is_hole(img: &File, block: u64) -> bool {
    let at = block * 4096;
    sparse::data_ranges(img, at, at + 4096).unwrap().is_empty()
}

#[test]
fn zero_block_runs_in_a_source_become_holes_with_the_bytes_of_a_dense_write() {
    let t = tempfile::tempdir().unwrap();
    let content = content_with_zero_runs();
    // A dense source: every block allocated, zeros included.
    let source = t.path().join("base.img");
    std::fs::write(&source, &content).unwrap();
    assert!(
        sparse::data_ranges(&File::open(&source).unwrap(), 0, content.len() as u64)
            .unwrap()
            .iter()
            .any(|r| r.offset == 0 && r.len == content.len() as u64)
    );

    let from_host = t.path().join("host.img");
    write_image(&from_host, FileData::Host(source.clone()));
    // The reference: the same bytes from memory, written densely block for block.
    let dense = t.path().join("dense.img");
    write_image(&dense, FileData::Bytes(content.clone()));

    assert_eq!(sha256_file(&from_host), sha256_file(&dense));
    e2fsck_clean(&from_host);
    let blocks = blocks_of(&from_host, "/content/base.img");
    assert_eq!(blocks.len(), content.len().div_ceil(4096));
    let img = File::open(&from_host).unwrap();
    // Blocks 1..=256 of the file are the 1 MiB of zeros: holes in the image; the data
    // blocks around them are not; the last block (zeros only) is a hole too.
    assert!(!is_hole(&img, blocks[0]));
    for &b in &blocks[1..=256] {
        assert!(is_hole(&img, b), "block {b} of the zero run is allocated");
    }
    assert!(!is_hole(&img, blocks[257]));
    assert!(is_hole(&img, blocks[blocks.len() - 1]));
    let allocated = |p: &Path| std::fs::metadata(p).unwrap().blocks() * 512;
    assert!(
        allocated(&from_host) + (1 << 20) <= allocated(&dense),
        "the image from the dense source allocates {} bytes, the dense write {}",
        allocated(&from_host),
        allocated(&dense)
    );
    let r = nixspot_fs::ext4::Ext4Reader::open(&from_host, 0).unwrap();
    let e = r
        .entries()
        .unwrap()
        .into_iter()
        .find(|e| e.path == Path::new("content/base.img"))
        .unwrap();
    assert_eq!(r.read_file(e.ino).unwrap(), content);
}

#[test]
fn copy_sparse_leaves_zero_blocks_of_a_dense_source_as_holes() {
    let t = tempfile::tempdir().unwrap();
    let content = content_with_zero_runs();
    let source = t.path().join("src");
    std::fs::write(&source, &content).unwrap();
    let dst_path = t.path().join("dst");
    let dst = rw(&dst_path);
    // Unaligned source offset and an 8 KiB destination offset: the grid is the
    // destination's.
    let len = content.len() as u64 - 100;
    dst.set_len(8192 + len).unwrap();
    sparse::copy_sparse(&File::open(&source).unwrap(), 100, &dst, 8192, len).unwrap();
    let mut back = vec![0u8; len as usize];
    dst.read_exact_at(&mut back, 8192).unwrap();
    assert_eq!(back, content[100..]);
    let ranges = sparse::data_ranges(&dst, 0, 8192 + len).unwrap();
    // The first data block (bytes 100..4096 of the source), at 8192..12288 and spilling
    // into the next block; then the zero run is a hole up to the second data block.
    let holes_in_zero_run = (4..=256u64).filter(|b| is_hole(&dst, *b)).count();
    assert!(
        holes_in_zero_run >= 250,
        "only {holes_in_zero_run} of the zero run's blocks are holes: {ranges:?}"
    );
}

#[test]
fn write_nonzero_at_writes_every_byte_and_leaves_zero_blocks_as_holes() {
    let t = tempfile::tempdir().unwrap();
    let content = content_with_zero_runs();
    let dst = rw(&t.path().join("dst"));
    // An unaligned destination offset: the grid is the destination's, so the data
    // spills into the block after each data run and the rest of the run is holes.
    let at = 4096 + 100;
    let len = at + content.len() as u64;
    sparse::write_nonzero_at(&dst, at, &content).unwrap();
    dst.set_len(len).unwrap();
    let mut back = vec![0u8; content.len()];
    dst.read_exact_at(&mut back, at).unwrap();
    assert_eq!(back, content);
    let blocks = len.div_ceil(4096);
    let holes = (0..blocks).filter(|b| is_hole(&dst, *b)).count() as u64;
    // data: blocks 1 and 2 (the first 4 KiB), and two blocks around the second 4 KiB
    assert!(
        holes >= blocks - 4 - 1,
        "{holes} of {blocks} blocks are holes: {:?}",
        sparse::data_ranges(&dst, 0, len).unwrap()
    );
    assert!(is_hole(&dst, 0), "the untouched first block was written");
}

#[test]
fn in_order_write_announces_final_ranges_whose_hash_is_the_finished_files() {
    let t = tempfile::tempdir().unwrap();
    let big = t.path().join("big.bin");
    std::fs::write(&big, pattern(20 << 20, 3)).unwrap();
    let sparse_src = t.path().join("sparse.bin");
    let f = rw(&sparse_src);
    f.set_len(30 << 20).unwrap();
    f.write_all_at(&pattern(5000, 4), 17 << 20).unwrap();
    drop(f);
    let mut w = Ext4Writer::new(nixspot_fs::ext4::Ext4Options {
        size: Size::Exact(300 << 20),
        ..opts()
    });
    let mut add = |path: &str, kind: EntryKind| {
        w.add(Entry {
            path: path.into(),
            kind,
            meta: Meta::new(0o644),
        })
        .unwrap()
    };
    add("big.bin", EntryKind::File(FileData::Host(big)));
    add("sparse.bin", EntryKind::File(FileData::Host(sparse_src)));
    add("small", EntryKind::File(FileData::Bytes(b"small".to_vec())));
    add("link", EntryKind::Symlink(vec![b'x'; 300]));
    for i in 0..2000 {
        add(
            &format!("many/f{i}"),
            EntryKind::File(FileData::Bytes(vec![1; 100])),
        );
    }
    let plan = w.plan().unwrap();

    // The filesystem at 1 MiB into a file whose first MiB already holds data.
    let path = t.path().join("image");
    let image = rw(&path);
    let offset = 1 << 20;
    image.write_all_at(&pattern(offset as usize, 5), 0).unwrap();
    let reader = File::open(&path).unwrap();
    let mut hasher = Sha256::new();
    let mut done = 0u64;
    let mut calls = 0;
    plan.write_in_order(&image, offset, &mut |end| {
        assert!(end >= done, "announced {end} after {done}");
        // Hash each range as soon as it is final, as the assembler's hasher does.
        let mut buf = vec![0u8; (end - done) as usize];
        reader.read_exact_at(&mut buf, done).unwrap();
        hasher.update(&buf);
        done = end;
        calls += 1;
    })
    .unwrap();
    assert_eq!(done, offset + plan.size_bytes());
    assert!(calls > 3, "only {calls} announcements");
    assert_eq!(image.metadata().unwrap().len(), done);
    assert_eq!(hex(&hasher.finalize()), sha256_file(&path));

    // The same bytes as a plain write over a file full of other data (nothing of which
    // leaks through), which e2fsck accepts.
    let plain = t.path().join("plain");
    let f = rw(&plain);
    f.write_all_at(&pattern(offset as usize, 5), 0).unwrap();
    let junk = pattern(1 << 20, 6);
    for i in 0..plan.size_bytes() >> 20 {
        f.write_all_at(&junk, offset + (i << 20)).unwrap();
    }
    plan.write(&f, offset).unwrap();
    assert_eq!(sha256_file(&plain), sha256_file(&path));
    let fs_only = t.path().join("fs");
    plan.write(&rw(&fs_only), 0).unwrap();
    e2fsck_clean(&fs_only);
}
