//! The catalog client against a real `kiwix-serve --library` (Debian's kiwix-tools) on
//! 127.0.0.1, serving a library built with `kiwix-manage` plus hand-written books.

mod support;

use nixspot_catalog::{Catalog, CatalogError, CatalogSource, Client, Loaded, PackageIdent, Query};
use nixspot_testkit::KiwixServe;
use support::BOOKS;

const FILES: &str = "http://127.0.0.1:9";

struct Fixture {
    _dir: tempfile::TempDir,
    server: KiwixServe,
    cache: std::path::PathBuf,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let library = support::library(dir.path(), FILES);
    let server = KiwixServe::start(&library);
    let cache = dir.path().join("cache");
    Fixture {
        _dir: dir,
        server,
        cache,
    }
}

fn load(url: &str, cache: &std::path::Path, offline: bool) -> Result<Loaded, CatalogError> {
    let source = CatalogSource {
        url: url.to_string(),
        cache_dir: cache.to_path_buf(),
        offline,
    };
    Catalog::load(&source, &Client::new(), &mut |_| {})
}

fn ident(s: &str) -> PackageIdent {
    PackageIdent::parse(s).unwrap()
}

#[test]
fn reads_every_entry_with_its_fields() {
    let f = fixture();
    let loaded = load(&f.server.url, &f.cache, false).unwrap();
    assert_eq!(loaded.stale, None);
    let catalog = loaded.catalog;
    assert_eq!(catalog.entries().len(), BOOKS.len() + 1);

    // The book kiwix-manage read from the real ZIM's metadata.
    let wikibooks = catalog
        .resolve(&ident("kiwix.wikibooks_be_all"), None)
        .unwrap();
    assert_eq!(wikibooks.id, "be32cda4-a5c9-2ee2-1a2b-9502ee3b53ed");
    assert_eq!(wikibooks.title, "Wikibooks");
    assert_eq!(wikibooks.summary, "З пляцоўкі Wikibooks");
    assert_eq!(wikibooks.languages, ["bel"]);
    assert_eq!(wikibooks.publisher, "Kiwix");
    assert_eq!(wikibooks.author, "Wikibooks");
    assert_eq!(wikibooks.flavour, "");
    assert_eq!(wikibooks.date, "2017-02-13");
    assert_eq!(wikibooks.issued.as_deref(), Some("2017-02-13"));
    assert_eq!((wikibooks.article_count, wikibooks.media_count), (66, 34));
    // The catalog's length is the file size floored to KiB (152,865 bytes).
    assert_eq!(wikibooks.length, 152_576);
    assert_eq!(
        wikibooks.download_url,
        format!("{FILES}/zim/wikibooks_be_all_nopic_2017-02.zim")
    );
    assert!(
        wikibooks.tags.iter().any(|t| t == "_pictures:no"),
        "{:?}",
        wikibooks.tags
    );
    // Relative links become absolute on the server that answered.
    let icon = wikibooks.icon_url.as_deref().unwrap();
    assert!(
        icon.starts_with(&format!("{}/catalog/v2/illustration/", f.server.url)),
        "{icon}"
    );
    let html = wikibooks.html_url.as_deref().unwrap();
    assert!(html.starts_with(&f.server.url), "{html}");

    let comics = catalog
        .resolve(&ident("openZIM:wikipedia_fr_comics:nopic"), None)
        .unwrap();
    assert_eq!(comics.title, "Bandes dessinées & Co");
    assert_eq!(comics.languages, ["fra", "eng"]);
    assert_eq!(comics.category, "wikipedia");
    assert_eq!(comics.length, 3000 * 1024);
}

#[test]
fn latest_is_by_date_not_feed_order() {
    let f = fixture();
    let catalog = load(&f.server.url, &f.cache, false).unwrap().catalog;
    // The 2024-01 file has the smaller UUID, so kiwix-serve lists it first.
    let latest = catalog
        .resolve(&ident("wikipedia_en_climate_change:nopic"), None)
        .unwrap();
    assert_eq!(latest.date, "2024-05-12");
    assert_eq!(
        latest.download_url,
        format!("{FILES}/zim/wikipedia_en_climate_change_nopic_2024-05.zim")
    );
    let older = catalog
        .resolve(&ident("wikipedia_en_climate_change:nopic"), Some("2024-01"))
        .unwrap();
    assert_eq!(older.date, "2024-01-03");
    let versions = catalog.versions("wikipedia_en_climate_change", Some("nopic"));
    let dates: Vec<&str> = versions.iter().map(|e| e.date.as_str()).collect();
    assert_eq!(dates, ["2024-05-12", "2024-01-03"]);
    // The publisher of a three-part ident is matched exactly.
    let kiwix = catalog
        .resolve(&ident("Kiwix:wikipedia_fr_comics:nopic"), None)
        .unwrap();
    assert_eq!(kiwix.date, "2023-01-01");
    // offspot's empty flavour.
    let grim = catalog
        .resolve(&ident("openZIM:grimgrains_en_all:"), None)
        .unwrap();
    assert_eq!(grim.name, "grimgrains_en_all");
    // A name alone works when it has a single flavour, and is ambiguous otherwise.
    assert_eq!(
        catalog
            .resolve(&ident("gutenberg_en_lcc-k"), None)
            .unwrap()
            .category,
        "gutenberg"
    );
    let error = catalog
        .resolve(&ident("wikipedia_en_climate_change"), None)
        .unwrap_err();
    assert!(matches!(error, CatalogError::Ambiguous { .. }), "{error}");
    assert!(error.to_string().contains("maxi, nopic"), "{error}");
}

#[test]
fn unknown_package_names_the_closest() {
    let f = fixture();
    let catalog = load(&f.server.url, &f.cache, false).unwrap().catalog;
    let error = catalog
        .resolve(&ident("wikipedia_en_climate_chang:nopic"), None)
        .unwrap_err();
    let text = error.to_string();
    assert!(text.contains("wikipedia_en_climate_chang:nopic"), "{text}");
    assert!(
        text.contains("closest names: wikipedia_en_climate_change"),
        "{text}"
    );
    // Right name, wrong flavour: the flavours it has are listed.
    let text = catalog
        .resolve(&ident("wikipedia_en_climate_change:mini"), None)
        .unwrap_err()
        .to_string();
    assert!(
        text.contains("flavours of this name: maxi, nopic"),
        "{text}"
    );
    // Right name, missing version.
    let text = catalog
        .resolve(&ident("wikipedia_en_climate_change:nopic"), Some("2019-01"))
        .unwrap_err()
        .to_string();
    assert!(text.contains("version 2019-01"), "{text}");
}

#[test]
fn search_filters() {
    let f = fixture();
    let catalog = load(&f.server.url, &f.cache, false).unwrap().catalog;
    let names = |q: Query| -> Vec<String> {
        catalog
            .search(&q)
            .iter()
            .map(|e| format!("{}:{}:{}", e.name, e.flavour, e.date))
            .collect()
    };
    let words = |w: &[&str]| w.iter().map(|s| s.to_string()).collect();
    assert_eq!(
        names(Query {
            words: words(&["CLIMATE"]),
            flavour: Some("nopic".into()),
            ..Query::default()
        }),
        [
            "wikipedia_en_climate_change:nopic:2024-05-12",
            "wikipedia_en_climate_change:nopic:2024-01-03"
        ]
    );
    // Words are ANDed, over title and summary too.
    assert_eq!(
        names(Query {
            words: words(&["dessinées", "kiwix"]),
            ..Query::default()
        })
        .len(),
        1
    );
    assert_eq!(
        names(Query {
            lang: Some("fra".into()),
            ..Query::default()
        }),
        // Catalog order: name, flavour, publisher (Kiwix before openZIM), newest first.
        [
            "wikipedia_fr_comics:nopic:2023-01-01",
            "wikipedia_fr_comics:nopic:2024-02-01"
        ]
    );
    assert_eq!(
        names(Query {
            lang: Some("bel,xyz".into()),
            ..Query::default()
        }),
        ["kiwix.wikibooks_be_all::2017-02-13"]
    );
    assert_eq!(
        names(Query {
            category: Some("gutenberg".into()),
            ..Query::default()
        }),
        ["gutenberg_en_lcc-k::2024-03-09"]
    );
    // max_size compares the catalog length: 61 KiB passes, 60 KiB + 1 byte does not.
    let small = names(Query {
        words: words(&["climate"]),
        max_size: Some(61 * 1024),
        ..Query::default()
    });
    assert_eq!(small.len(), 2, "{small:?}");
    assert_eq!(
        names(Query {
            words: words(&["climate"]),
            max_size: Some(60 * 1024 - 1),
            ..Query::default()
        })
        .len(),
        0
    );
    assert_eq!(
        names(Query {
            words: words(&["nothing-like-this"]),
            ..Query::default()
        })
        .len(),
        0
    );

    let languages: Vec<(String, usize)> = catalog
        .languages()
        .into_iter()
        .map(|c| (c.value, c.count))
        .collect();
    assert_eq!(
        languages,
        [("bel".into(), 1), ("eng".into(), 6), ("fra".into(), 2)]
    );
    let categories: Vec<String> = catalog.categories().into_iter().map(|c| c.value).collect();
    assert_eq!(categories, ["gutenberg", "other", "wikipedia"]);
}

#[test]
fn unreachable_uses_the_cached_copy_and_says_so() {
    let mut f = fixture();
    let url = f.server.url.clone();
    let fresh = load(&url, &f.cache, false).unwrap();
    assert_eq!(fresh.stale, None);
    f.server.stop();

    let stale = load(&url, &f.cache, false).unwrap();
    let reason = stale.stale.expect("the cached copy is said to be used");
    assert!(reason.contains("cached copy"), "{reason}");
    assert!(reason.contains(&url), "{reason}");
    assert_eq!(stale.catalog.entries(), fresh.catalog.entries());

    let offline = load(&url, &f.cache, true).unwrap();
    assert!(offline.stale.unwrap().contains("offline"));
    assert_eq!(offline.catalog.entries(), fresh.catalog.entries());

    // No copy: a clear error the CLI turns into exit code 4.
    let empty = f.cache.with_file_name("empty-cache");
    let error = load(&url, &empty, false).unwrap_err();
    assert!(error.is_unavailable(), "{error}");
    assert!(error.to_string().contains("no cached copy"), "{error}");
    let error = load(&url, &empty, true).unwrap_err();
    assert!(error.is_unavailable(), "{error}");
}
