//! Property test: random trees → ext4 image → e2fsck clean → read back equal.

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;

use common::*;
use nixspot_fs::ext4::{Entry, EntryKind, Ext4Reader, FileData, Meta, Xattr};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Leaf {
    File(Vec<u8>),
    Link(Vec<u8>),
    Fifo,
    Dev(u32, u32),
}

fn leaf() -> impl Strategy<Value = Leaf> {
    prop_oneof![
        4 => proptest::collection::vec(any::<u8>(), 0..12_000).prop_map(Leaf::File),
        2 => proptest::collection::vec(b'a'..=b'z', 1..150).prop_map(Leaf::Link),
        1 => Just(Leaf::Fifo),
        1 => (0u32..4096, 0u32..1_000_000).prop_map(|(a, b)| Leaf::Dev(a, b)),
    ]
}

fn meta() -> impl Strategy<Value = Meta> {
    (
        0u16..0o10000,
        0u32..70_000,
        0u32..70_000,
        -100_000_000i64..5_000_000_000,
        proptest::option::of(proptest::collection::vec(any::<u8>(), 0..300)),
    )
        .prop_map(|(mode, uid, gid, mtime, x)| Meta {
            mode,
            uid,
            gid,
            mtime,
            xattrs: x
                .map(|v| {
                    vec![Xattr {
                        name: b"user.p".to_vec(),
                        value: v,
                    }]
                })
                .unwrap_or_default(),
        })
}

fn name() -> impl Strategy<Value = String> {
    prop_oneof!["[a-c]{1,3}", "[a-zé日]{1,40}",]
}

fn tree() -> impl Strategy<Value = Vec<(Vec<String>, Leaf, Meta)>> {
    proptest::collection::vec(
        (proptest::collection::vec(name(), 1..5), leaf(), meta()),
        0..60,
    )
}

fn entries_of(raw: Vec<(Vec<String>, Leaf, Meta)>) -> Vec<Entry> {
    // a path that is a prefix of another becomes a directory; first writer wins
    let mut leaves: BTreeMap<Vec<String>, (Leaf, Meta)> = BTreeMap::new();
    let mut dirs: BTreeMap<Vec<String>, Meta> = BTreeMap::new();
    for (p, l, m) in raw {
        for i in 1..p.len() {
            dirs.entry(p[..i].to_vec()).or_insert_with(|| Meta {
                xattrs: vec![],
                ..m.clone()
            });
        }
        leaves.entry(p).or_insert((l, m));
    }
    let mut out = Vec::new();
    for (p, m) in &dirs {
        out.push(Entry {
            path: p.join("/").into(),
            kind: EntryKind::Dir,
            meta: m.clone(),
        });
    }
    for (p, (l, m)) in leaves {
        if dirs.contains_key(&p) {
            continue;
        }
        let kind = match l {
            Leaf::File(b) => EntryKind::File(FileData::Bytes(b)),
            Leaf::Link(t) => EntryKind::Symlink(t),
            Leaf::Fifo => EntryKind::Fifo,
            Leaf::Dev(a, b) => EntryKind::CharDevice { major: a, minor: b },
        };
        out.push(Entry {
            path: p.join("/").into(),
            kind,
            meta: m,
        });
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn random_trees_round_trip(raw in tree()) {
        let entries = entries_of(raw);
        let t = tempfile::tempdir().unwrap();
        let img = build(t.path(), "p.img", entries.clone(), opts());
        e2fsck_clean(&img);
        let r = Ext4Reader::open(&img, 0).unwrap();
        let got: BTreeMap<PathBuf, _> = r.entries().unwrap().into_iter().map(|e| (e.path.clone(), e)).collect();
        prop_assert_eq!(got.len(), entries.len());
        for e in entries {
            let g = &got[&e.path];
            let mut want = e.meta.clone();
            want.mode &= 0o7777;
            if matches!(e.kind, EntryKind::Symlink(_)) {
                want.mode = 0o777;
            }
            prop_assert_eq!(&g.meta, &want, "{:?}", e.path);
            match &e.kind {
                EntryKind::File(FileData::Bytes(b)) => {
                    prop_assert_eq!(&r.read_file(g.ino).unwrap(), b);
                }
                k => prop_assert_eq!(&g.kind, k),
            }
        }
    }
}
