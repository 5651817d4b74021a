//! The size estimate against the real thing: the ext4 writer nixspot's assembler uses,
//! with the assembler's options (`rust/assemble/src/assemble.rs`: minimal size, 10 %
//! headroom, one inode per 16 KiB), planned for files of the given sizes.

use nixspot_fs::ext4::{
    Entry, EntryKind, Ext4Options, Ext4Writer, FileData, Meta, Size, SourceRange,
};
use nixspot_recipe::{Recipe, SizeEstimate};
use std::path::PathBuf;

/// The data partition the assembler would make for files of these sizes.
fn ext4_bytes(sizes: &[u64]) -> u64 {
    let mut w = Ext4Writer::new(Ext4Options {
        size: Size::Minimal {
            margin_bytes: 0,
            margin_percent: 10,
        },
        bytes_per_inode: Some(16384),
        ..Ext4Options::default()
    });
    for (i, &size) in sizes.iter().enumerate() {
        w.add(Entry {
            path: PathBuf::from(format!("contents/zims/{i}.zim")),
            // Planning reads no data: the ranges only say how many blocks the file takes.
            kind: EntryKind::File(FileData::Ranges {
                source: PathBuf::from("/nonexistent"),
                size,
                ranges: vec![SourceRange {
                    file_offset: 0,
                    source_offset: 0,
                    len: size,
                }],
            }),
            meta: Meta::new(0o644),
        })
        .unwrap();
    }
    w.plan().unwrap().size_bytes()
}

fn recipe(sizes: &[u64]) -> Recipe {
    let files: Vec<String> = sizes
        .iter()
        .enumerate()
        .map(|(i, s)| {
            format!(
                r#"{{"to": "/data/contents/zims/{i}.zim", "url": "https://x/{i}.zim", "size": {s}}}"#
            )
        })
        .collect();
    Recipe::from_json_str(
        &format!(
            r#"{{"base": {{"source": "https://x/base.img", "rootfs_size": 0}}, "output": {{"size": "auto"}}, "files": [{}]}}"#,
            files.join(",")
        ),
        "test",
    )
    .unwrap()
}

#[test]
fn estimate_covers_the_ext4_writer_and_stays_close() {
    for sizes in [
        vec![152_865],
        vec![200_000_000],
        vec![3_000_000_000, 1_500_000_000, 7],
        vec![28_000_000_000],
    ] {
        let real = ext4_bytes(&sizes);
        let est = SizeEstimate::of(&recipe(&sizes));
        assert!(
            est.total >= real,
            "{sizes:?}: estimate {} < ext4 {real}",
            est.total
        );
        // Within 1 % plus the 4 MiB alignment and the small-filesystem floor.
        assert!(
            est.total <= real + real / 100 + (8 << 20),
            "{sizes:?}: estimate {} far above ext4 {real}",
            est.total
        );
        assert_eq!(est.total, est.base + est.content + est.images + est.slack);
    }
}
