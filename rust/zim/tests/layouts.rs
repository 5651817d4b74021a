//! The `C` namespace layout, zstd/xz/extended clusters, redirects: archives written by
//! libzim's own `zimwriterfs`, and synthetic archives (compressed by the real `xz` and
//! `zstd` programs) for the cases no writer produces on demand.

mod common;

use std::path::Path;

use common::{fixture, run, Comp, ZimBuilder};
use nixspot_zim::{Archive, EntryKind, Error, Layout, Limits};

fn favicon() -> Vec<u8> {
    Archive::open(fixture("withns_small.zim"))
        .unwrap()
        .read("I/favicon.png")
        .unwrap()
        .data
}

#[test]
fn archive_written_by_zimwriterfs() {
    let dir = tempfile::tempdir().unwrap();
    let html = dir.path().join("html");
    std::fs::create_dir_all(html.join("sub")).unwrap();
    let icon = favicon();
    std::fs::write(html.join("icon.png"), &icon).unwrap();
    let index =
        "<html><head><title>Accueil</title></head><body><a href=\"sub/b.html\">b</a></body></html>";
    let page_b = "<html><head><title>Page B</title></head><body>Bonjour</body></html>";
    std::fs::write(html.join("index.html"), index).unwrap();
    std::fs::write(html.join("sub/b.html"), page_b).unwrap();
    let out = dir.path().join("test.zim");
    run(
        "zimwriterfs",
        &[
            "--welcome=index.html",
            "--illustration=icon.png",
            "--language=fra,eng",
            "--title=Test Title",
            "--description=Une description",
            "--creator=Creator Name",
            "--publisher=Publisher Name",
            "--name=test_name",
            "--flavour=maxi",
            "--tags=_category:wikipedia;foo",
            html.to_str().unwrap(),
            out.to_str().unwrap(),
        ],
        b"",
    );
    let zim = Archive::open(&out).unwrap();
    assert_eq!(zim.layout(), Layout::ContentNamespace);
    assert_eq!(zim.header().major_version, 6);
    zim.verify_checksum().unwrap();
    let m = zim.metadata_summary().unwrap();
    assert_eq!(m.title.as_deref(), Some("Test Title"));
    assert_eq!(m.description.as_deref(), Some("Une description"));
    assert_eq!(m.creator.as_deref(), Some("Creator Name"));
    assert_eq!(m.publisher.as_deref(), Some("Publisher Name"));
    assert_eq!(m.name.as_deref(), Some("test_name"));
    assert_eq!(m.flavour.as_deref(), Some("maxi"));
    assert_eq!(m.languages(), ["fra", "eng"]);
    // libzim appends its full-text index tags.
    assert_eq!(
        m.tag_list(),
        ["_category:wikipedia", "foo", "_ftindex:yes", "_ftindex"]
    );
    assert!(m.date.as_deref().is_some_and(|d| d.len() == 10));
    assert_eq!(m.illustration_48.as_deref(), Some(icon.as_slice()));

    let main = zim.main_page().unwrap().unwrap();
    assert_eq!(main.full_path(), "C/index.html");
    assert_eq!(zim.read_entry(main).unwrap().data, index.as_bytes());
    let b = zim.read("sub/b.html").unwrap();
    assert_eq!(b.data, page_b.as_bytes());
    assert_eq!(b.mime_type, "text/html");
    assert_eq!(b.entry.title, "Page B");
    assert_eq!(zim.read("C/sub/b.html").unwrap(), b);
    // Two HTML front articles.
    assert_eq!(zim.article_count().unwrap(), 2);
    // Every C entry as libzim lists it.
    let listed =
        String::from_utf8(run("zimdump", &["list", "--", out.to_str().unwrap()], b"")).unwrap();
    for path in listed.lines() {
        let item = zim.read(path).unwrap();
        let shown = run(
            "zimdump",
            &[
                "show",
                &format!("--url={path}"),
                "--",
                out.to_str().unwrap(),
            ],
            b"",
        );
        assert_eq!(item.data, shown, "{path}");
    }
}

/// Everything a content-namespace archive can hold, across all cluster kinds.
fn synthetic(path: &Path) -> Vec<u8> {
    let mut z = ZimBuilder::new(6, 1);
    let big = vec![b'x'; 300_000];
    let zs = z.cluster(
        Comp::Zstd,
        false,
        vec![b"<p>zstd page</p>".to_vec(), big.clone()],
    );
    let xz = z.cluster(
        Comp::Xz,
        false,
        vec![b"Synthetic".to_vec(), b"eng".to_vec()],
    );
    let ext = z.cluster(Comp::None, true, vec![b"raw0".to_vec(), b"raw1".to_vec()]);
    let extz = z.cluster(Comp::Zstd, true, vec![b"ext-zstd".to_vec()]);
    let extx = z.cluster(Comp::Xz, true, vec![vec![], b"ext-xz".to_vec()]);
    let listing = z.cluster(Comp::None, false, vec![vec![0; 12]]);
    z.content('C', "a.html", "A", "text/html", zs, 0);
    z.content('C', "big.bin", "", "application/octet-stream", zs, 1);
    z.content('C', "raw/0", "", "text/plain", ext, 0);
    z.content('C', "raw/1", "", "text/plain", ext, 1);
    z.content('C', "ez", "", "text/plain", extz, 0);
    z.content('C', "ex-empty", "", "text/plain", extx, 0);
    z.content('C', "ex", "", "text/plain", extx, 1);
    z.content('M', "Title", "", "text/plain", xz, 0);
    z.content('M', "Language", "", "text/plain", xz, 1);
    z.content(
        'X',
        "listing/titleOrdered/v1",
        "",
        "application/octet-stream+zimlisting",
        listing,
        0,
    );
    z.redirect('W', "mainPage", 'C', "alias");
    z.redirect('C', "alias", 'C', "a.html");
    z.redirect('C', "loop1", 'C', "loop2");
    z.redirect('C', "loop2", 'C', "loop1");
    z.content('C', "bad-blob", "", "text/plain", zs, 7);
    z.content('C', "bad-cluster", "", "text/plain", 99, 0);
    let bytes = z.build();
    std::fs::write(path, &bytes).unwrap();
    bytes
}

#[test]
fn synthetic_content_namespace_archive() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("synthetic.zim");
    synthetic(&path);
    let zim = Archive::open(&path).unwrap();
    assert_eq!(zim.layout(), Layout::ContentNamespace);
    zim.verify_checksum().unwrap();
    assert_eq!(zim.header().main_page, None);
    let main = zim.main_page().unwrap().unwrap();
    assert_eq!(main.full_path(), "C/a.html");
    assert_eq!(zim.read("a.html").unwrap().data, b"<p>zstd page</p>");
    assert_eq!(zim.read("alias").unwrap().entry.path, "a.html");
    assert_eq!(zim.read("big.bin").unwrap().data.len(), 300_000);
    assert_eq!(zim.read("raw/0").unwrap().data, b"raw0");
    assert_eq!(zim.read("raw/1").unwrap().data, b"raw1");
    assert_eq!(zim.read("ez").unwrap().data, b"ext-zstd");
    assert_eq!(zim.read("ex").unwrap().data, b"ext-xz");
    assert_eq!(zim.read("ex-empty").unwrap().data, b"");
    assert_eq!(
        zim.metadata_text("Title").unwrap().as_deref(),
        Some("Synthetic")
    );
    assert_eq!(zim.metadata_summary().unwrap().languages(), ["eng"]);
    assert_eq!(zim.metadata_summary().unwrap().illustration_48, None);
    assert_eq!(zim.article_count().unwrap(), 3);
    assert_eq!(zim.blob_size(0, 1).unwrap(), 300_000);

    assert!(matches!(
        zim.read("loop1"),
        Err(Error::RedirectLoop { limit: 50, .. })
    ));
    let e = zim.read("bad-blob").unwrap_err().to_string();
    assert!(
        e.contains("blob 7 is out of range (cluster has 2 blobs)"),
        "{e}"
    );
    let e = zim.read("bad-cluster").unwrap_err().to_string();
    assert!(e.contains("cluster 99 is out of range"), "{e}");
    assert!(matches!(zim.read("nope"), Err(Error::NotFound { .. })));

    // Titles: empty titles read as the path.
    let raw0 = zim.entry_by_path("raw/0").unwrap().unwrap();
    assert_eq!(raw0.title, "raw/0");
    assert!(matches!(
        raw0.kind,
        EntryKind::Content {
            cluster: 2,
            blob: 0,
            ..
        }
    ));
}

#[test]
fn limits_are_enforced() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("synthetic.zim");
    let bytes = synthetic(&path);
    let limits = Limits {
        max_blob_size: 1000,
        max_decompressed: 200_000,
        max_redirects: 1,
        ..Limits::default()
    };
    let zim = Archive::from_source(bytes, "limited", limits).unwrap();
    let e = zim.read("big.bin").unwrap_err();
    assert!(matches!(e, Error::TooLarge { .. }), "{e}");
    // a.html is in the same zstd cluster, before the big blob: still readable.
    assert_eq!(zim.read("a.html").unwrap().data, b"<p>zstd page</p>");
    // W/mainPage → C/alias → C/a.html is two hops: over the limit of one.
    assert!(matches!(
        zim.main_page(),
        Err(Error::RedirectLoop { limit: 1, .. })
    ));
}

#[test]
fn checksum_mismatch_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("synthetic.zim");
    let mut bytes = synthetic(&path);
    let last_cluster_byte = bytes.len() - 17 - 8 * 6;
    bytes[last_cluster_byte] ^= 0xff;
    let zim = Archive::from_source(bytes, "flipped", Limits::default()).unwrap();
    let e = zim.verify_checksum().unwrap_err().to_string();
    assert!(
        e.starts_with("flipped: MD5 checksum mismatch: stored "),
        "{e}"
    );
}

#[test]
fn truncated_archives_are_refused() {
    let bytes = std::fs::read(fixture("withns_wikibooks_be_all_nopic_2017-02.zim")).unwrap();
    for len in [0, 79, 80, 1000, bytes.len() / 2, bytes.len() - 1] {
        let e = Archive::from_source(bytes[..len].to_vec(), "cut", Limits::default()).unwrap_err();
        assert!(matches!(e, Error::Format { .. }), "{len}: {e}");
    }
}
