//! The reader against openZIM's real test archives, with `zimdump` (libzim) as oracle.

mod common;

use std::sync::mpsc;
use std::time::Duration;

use common::{fixture, run};
use md5::{Digest, Md5};
use nixspot_zim::{Archive, EntryKind, Error, Layout};

const SMALL: &str = "withns_small.zim";
const WIKIBOOKS: &str = "withns_wikibooks_be_all_nopic_2017-02.zim";
const INVALID: [&str; 5] = [
    "withns_invalid.bad_mimetype_list.zim",
    "withns_invalid.invalid_checksumpos.zim",
    "withns_invalid.offset_in_cluster.zim",
    "withns_invalid.outofbounds_urlptrpos.zim",
    "withns_invalid.smaller_than_header.zim",
];

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn uuid(b: &[u8; 16]) -> String {
    let h = hex(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

#[test]
fn small_archive_header_and_metadata() {
    let zim = Archive::open(fixture(SMALL)).unwrap();
    let h = zim.header();
    assert_eq!((h.major_version, h.minor_version), (5, 0));
    assert_eq!(zim.layout(), Layout::Namespaced);
    assert_eq!(uuid(&h.uuid), "eeb924bb-0f5b-60f6-9d13-1259f6516ae7");
    assert_eq!(zim.entry_count(), 17);
    assert_eq!(h.cluster_count, 2);
    assert_eq!(
        zim.mime_types(),
        [
            "application/octet-stream+xapian",
            "image/png",
            "text/html",
            "text/plain"
        ]
    );
    assert_eq!(
        hex(&zim.stored_checksum().unwrap()),
        "248dc1e1d836172e2d9c2d0d31e336de"
    );
    zim.verify_checksum().unwrap();

    // The test suite's generator wrote `=` before some values: these are the real bytes
    // (`zimdump show --url=M/Title` prints the same).
    let m = zim.metadata_summary().unwrap();
    assert_eq!(m.title.as_deref(), Some("=Test ZIM file"));
    assert_eq!(m.description.as_deref(), Some("="));
    assert_eq!(m.creator.as_deref(), Some("="));
    assert_eq!(m.publisher.as_deref(), Some("="));
    assert_eq!(m.language.as_deref(), Some("=en"));
    assert_eq!(m.name.as_deref(), Some(""));
    assert_eq!(m.flavour.as_deref(), Some(""));
    assert_eq!(m.date.as_deref(), Some("2020-11-15"));
    assert_eq!(m.tags.as_deref(), Some("_ftindex:yes;_ftindex"));
    assert_eq!(m.tag_list(), ["_ftindex:yes", "_ftindex"]);
    assert_eq!(m.languages(), ["=en"]);
    // No Illustration_48x48@1: libzim falls back to the favicon (-/favicon → I/favicon.png).
    let icon = m.illustration_48.unwrap();
    assert_eq!(icon.len(), 3201);
    assert_eq!(hex(&Md5::digest(&icon)), "0ede8abfa6ecb9b43050cc6d6f2033d5");
    assert!(icon.starts_with(b"\x89PNG\r\n\x1a\n"));

    let main = zim.main_page().unwrap().unwrap();
    assert_eq!(main.full_path(), "A/main.html");
    assert_eq!(main.title, "Test ZIM file");
    let item = zim.read("main.html").unwrap();
    assert_eq!(item.mime_type, "text/html");
    assert_eq!(item.data.len(), 207);
    assert!(String::from_utf8(item.data)
        .unwrap()
        .contains("<title>Test ZIM file</title>"));
    assert_eq!(zim.article_count().unwrap(), 1);

    let fav = zim.entry_by_path("-/favicon").unwrap().unwrap();
    assert!(fav.is_redirect());
    let item = zim.read("-/favicon").unwrap();
    assert_eq!(item.entry.full_path(), "I/favicon.png");
    assert_eq!(item.mime_type, "image/png");
    assert!(matches!(
        zim.read("A/nope.html"),
        Err(Error::NotFound { .. })
    ));
    assert_eq!(zim.metadata("Illustration_48x48@1").unwrap(), None);
}

#[test]
fn wikibooks_archive() {
    let zim = Archive::open(fixture(WIKIBOOKS)).unwrap();
    assert_eq!(zim.file_size(), 152_865);
    assert_eq!(
        uuid(&zim.header().uuid),
        "be32cda4-a5c9-2ee2-1a2b-9502ee3b53ed"
    );
    assert_eq!(zim.entry_count(), 118);
    assert_eq!(zim.header().cluster_count, 2);
    assert_eq!(
        hex(&zim.stored_checksum().unwrap()),
        "2fb62a7110deffd3b192d922dffa02c1"
    );
    zim.verify_checksum().unwrap();
    let m = zim.metadata_summary().unwrap();
    assert_eq!(m.title.as_deref(), Some("Wikibooks"));
    assert_eq!(m.description.as_deref(), Some("З пляцоўкі Wikibooks"));
    assert_eq!(m.language.as_deref(), Some("bel"));
    assert_eq!(m.creator.as_deref(), Some("Wikibooks"));
    assert_eq!(m.publisher.as_deref(), Some("Kiwix"));
    assert_eq!(m.name.as_deref(), Some("kiwix.wikibooks_be_all"));
    assert_eq!(m.flavour, None);
    assert_eq!(m.tags.as_deref(), Some("nopic"));
    assert_eq!(m.date.as_deref(), Some("2017-02-13"));
    assert!(m.illustration_48.unwrap().starts_with(b"\x89PNG"));
    assert_eq!(zim.article_count().unwrap(), 70);

    let main = zim.main_page().unwrap().unwrap();
    assert_eq!(main.full_path(), "A/Першая_старонка.html");
    assert_eq!(main.title, "Першая старонка");
    assert_eq!(main.index, 40);
    let item = zim.read_entry(main).unwrap();
    assert_eq!(item.data.len(), 4908);
    assert_eq!(
        hex(&Md5::digest(&item.data)),
        "700547adf3ed328136294e33bfef405c"
    );
    // Path lookup by bare path (namespace A) and explicit namespace agree.
    let a = zim.read("Першая_старонка.html").unwrap();
    let b = zim.read("A/Першая_старонка.html").unwrap();
    assert_eq!(a, b);
    // Title order: titles never decrease within a namespace.
    let mut prev: Option<(char, String)> = None;
    for i in 0..zim.entry_count() {
        let e = zim.entry_by_title_index(i).unwrap();
        let key = (e.namespace, e.title.clone());
        if let Some(p) = &prev {
            assert!(
                (p.0 as u32, p.1.as_bytes()) <= (key.0 as u32, key.1.as_bytes()),
                "{p:?} > {key:?}"
            );
        }
        prev = Some(key);
    }
}

/// One entry as `zimdump list --details` prints it.
#[derive(Debug, Default, PartialEq)]
struct Dumped {
    path: String,
    title: String,
    idx: u32,
    redirect: Option<u32>,
    mime: Option<String>,
    size: Option<u64>,
}

fn zimdump_entries(file: &str) -> Vec<Dumped> {
    let out = run("zimdump", &["list", "--details", "--", file], b"");
    let text = String::from_utf8(out).unwrap();
    let mut all: Vec<Dumped> = Vec::new();
    for line in text.lines() {
        if let Some(p) = line.strip_prefix("path: ") {
            all.push(Dumped {
                path: p.to_owned(),
                ..Dumped::default()
            });
            continue;
        }
        let d = all.last_mut().unwrap();
        let (k, v) = line.trim_start_matches("* ").split_once(':').unwrap();
        let v = v.trim().to_owned();
        match k {
            "title" => d.title = v,
            "idx" => d.idx = v.parse().unwrap(),
            "redirect index" => d.redirect = Some(v.parse().unwrap()),
            "mime-type" => d.mime = Some(v),
            "item size" => d.size = Some(v.parse().unwrap()),
            _ => {}
        }
    }
    all
}

/// Every entry, every title, redirect, MIME type, size and content byte equal libzim's.
#[test]
fn every_entry_matches_zimdump() {
    for name in [SMALL, WIKIBOOKS] {
        let path = fixture(name);
        let path_s = path.to_str().unwrap();
        let zim = Archive::open(&path).unwrap();
        let expected = zimdump_entries(path_s);
        assert_eq!(expected.len(), zim.entry_count() as usize);
        for want in expected {
            let e = zim.entry(want.idx).unwrap();
            let mut got = Dumped {
                path: e.full_path(),
                title: e.title.clone(),
                idx: e.index,
                ..Dumped::default()
            };
            match e.kind {
                EntryKind::Redirect { target } => got.redirect = Some(target),
                EntryKind::Content { .. } => {
                    got.mime = Some(zim.mime_type(&e).unwrap().to_owned());
                    let item = zim.read_entry(e.clone()).unwrap();
                    got.size = Some(item.data.len() as u64);
                    let shown = run(
                        "zimdump",
                        &["show", &format!("--idx={}", want.idx), "--", path_s],
                        b"",
                    );
                    assert!(
                        shown == item.data,
                        "{name}: content of {} differs",
                        got.path
                    );
                }
                _ => panic!("unexpected kind {:?}", e.kind),
            }
            assert_eq!(got, want, "{name}");
            // Looking the entry up by its path finds the same entry.
            let found = zim.entry_by_path(&e.full_path()).unwrap().unwrap();
            assert_eq!(found.index, want.idx);
        }
    }
}

/// Runs `f` on another thread and fails the test if it does not finish: a hang guard.
fn within_a_minute<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(60))
        .unwrap_or_else(|_| panic!("{what}: no answer within a minute (hang or panic)"))
}

/// Opens `bytes` and touches everything a user of the crate can reach; the first error is
/// returned. Must never panic or hang.
fn walk(bytes: Vec<u8>) -> Result<(), Error> {
    let zim = Archive::from_source(bytes, "<mutated>", Default::default())?;
    let mut first_err = None;
    let mut note = |r: Result<(), Error>| {
        if let Err(e) = r {
            first_err.get_or_insert(e);
        }
    };
    note(zim.metadata_summary().map(drop));
    note(zim.main_page().map(drop));
    note(zim.article_count().map(drop));
    note(zim.verify_checksum());
    for i in 0..zim.entry_count().min(2000) {
        note(zim.entry(i).and_then(|e| zim.read_entry(e)).map(drop));
        note(zim.entry_by_title_index(i).map(drop));
    }
    match first_err {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

#[test]
fn invalid_fixtures_yield_errors() {
    for name in INVALID {
        let bytes = std::fs::read(fixture(name)).unwrap();
        let result = within_a_minute(name, move || walk(bytes));
        let err = result.expect_err(name);
        let msg = err.to_string();
        assert!(msg.contains("<mutated>"), "{name}: {msg}");
        match name {
            "withns_invalid.smaller_than_header.zim" => {
                assert!(msg.contains("smaller than the 80-byte header"), "{msg}")
            }
            "withns_invalid.invalid_checksumpos.zim" => {
                assert!(msg.contains("checksum position is 0"), "{msg}")
            }
            "withns_invalid.outofbounds_urlptrpos.zim" => {
                assert!(msg.contains("URL pointer list"), "{msg}")
            }
            "withns_invalid.bad_mimetype_list.zim" => {
                assert!(msg.contains("MIME type list"), "{msg}")
            }
            "withns_invalid.offset_in_cluster.zim" => {
                assert!(msg.contains("cluster 1"), "{msg}")
            }
            _ => unreachable!(),
        }
        // Opening from a path reports the path.
        let by_path = Archive::open(fixture(name)).and_then(|z| {
            (0..z.entry_count())
                .try_for_each(|i| z.entry(i).and_then(|e| z.read_entry(e)).map(drop))
        });
        assert!(by_path.unwrap_err().to_string().contains(name));
    }
}

/// Byte mutations of the structural parts of a real archive never panic or hang.
#[test]
fn mutated_archive_never_panics() {
    let original = std::fs::read(fixture(SMALL)).unwrap();
    let len = original.len();
    // Header + MIME list, the first cluster's head (xz header), the second (uncompressed)
    // cluster's offset table, and the pointer lists and dirents at the end.
    let ranges = [0..200, 1024..1100, 1301..1330, len - 240..len];
    let result = within_a_minute("mutations", move || {
        let mut errors = 0;
        for range in ranges {
            for pos in range {
                for value in [
                    0x00,
                    0xff,
                    original[pos] ^ 0x01,
                    original[pos].wrapping_add(0x40),
                ] {
                    let mut bytes = original.clone();
                    bytes[pos] = value;
                    if walk(bytes).is_err() {
                        errors += 1;
                    }
                }
            }
        }
        errors
    });
    // Most mutations must be detected (the checksum alone catches every one of them).
    assert!(result > 1500, "only {result} mutations detected");
}
