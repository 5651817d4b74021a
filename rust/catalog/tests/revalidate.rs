//! Cache revalidation (`ETag`, `Last-Modified`), paging, redirects and failures, against a
//! scripted HTTP server on 127.0.0.1 (kiwix-serve sends neither validator).

mod support;

use nixspot_catalog::{Catalog, CatalogError, CatalogSource, Client, Loaded};
use std::sync::{Arc, Mutex};
use support::{feed_xml, simple_entry, Reply, Request, Server};

fn load(url: &str, cache: &std::path::Path) -> Result<Loaded, CatalogError> {
    let source = CatalogSource {
        url: url.to_string(),
        cache_dir: cache.to_path_buf(),
        offline: false,
    };
    Catalog::load(&source, &Client::new(), &mut |_| {})
}

fn names(loaded: &Loaded) -> Vec<String> {
    loaded
        .catalog
        .entries()
        .iter()
        .map(|e| e.name.clone())
        .collect()
}

#[test]
fn etag_revalidation() {
    let version = Arc::new(Mutex::new(1));
    let v = version.clone();
    let server = Server::start(move |request: &Request| {
        let current = *v.lock().unwrap();
        let etag = format!("\"v{current}\"");
        if request.headers.get("if-none-match") == Some(&etag) {
            return Reply::status(304).header("ETag", &etag);
        }
        let body = feed_xml(&simple_entry(1, &format!("book_v{current}")), Some(1));
        Reply::ok(body).header("ETag", &etag)
    });
    let dir = tempfile::tempdir().unwrap();
    let first = load(&server.url, dir.path()).unwrap();
    assert_eq!(names(&first), ["book_v1"]);
    assert_eq!(server.requests()[0].headers.get("if-none-match"), None);

    // Unchanged: one conditional request, answered 304, served from the copy.
    let second = load(&server.url, dir.path()).unwrap();
    assert_eq!(second.stale, None);
    assert_eq!(names(&second), ["book_v1"]);
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(
        requests[1].headers.get("if-none-match").map(String::as_str),
        Some("\"v1\"")
    );

    // Changed: the new feed replaces the copy.
    *version.lock().unwrap() = 2;
    assert_eq!(names(&load(&server.url, dir.path()).unwrap()), ["book_v2"]);
    let offline = CatalogSource {
        url: server.url.clone(),
        cache_dir: dir.path().to_path_buf(),
        offline: true,
    };
    let cached = Catalog::load(&offline, &Client::new(), &mut |_| {}).unwrap();
    assert_eq!(names(&cached), ["book_v2"]);
}

#[test]
fn last_modified_revalidation() {
    const STAMP: &str = "Sun, 12 May 2024 00:00:00 GMT";
    let server = Server::start(|request: &Request| {
        if request.headers.get("if-modified-since").map(String::as_str) == Some(STAMP) {
            return Reply::status(304);
        }
        Reply::ok(feed_xml(&simple_entry(1, "dated"), Some(1))).header("Last-Modified", STAMP)
    });
    let dir = tempfile::tempdir().unwrap();
    load(&server.url, dir.path()).unwrap();
    let again = load(&server.url, dir.path()).unwrap();
    assert_eq!(names(&again), ["dated"]);
    assert_eq!(
        server.requests()[1]
            .headers
            .get("if-modified-since")
            .map(String::as_str),
        Some(STAMP)
    );
}

#[test]
fn pages_when_the_server_caps_count() {
    // A server that ignores count=-1 and sends 2 entries per page.
    let server = Server::start(|request: &Request| {
        let start: usize = request
            .path
            .split(['?', '&'])
            .find_map(|p| p.strip_prefix("start="))
            .map(|s| s.parse().unwrap())
            .unwrap_or(0);
        let entries: String = (start..(start + 2).min(5))
            .map(|i| simple_entry(i, &format!("book{i}")))
            .collect();
        Reply::ok(feed_xml(&entries, Some(5)))
    });
    let dir = tempfile::tempdir().unwrap();
    let loaded = load(&server.url, dir.path()).unwrap();
    assert_eq!(
        names(&loaded),
        ["book0", "book1", "book2", "book3", "book4"]
    );
    let paths: Vec<String> = server.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(
        paths,
        [
            "/catalog/v2/entries?count=-1",
            "/catalog/v2/entries?count=-1&start=2",
            "/catalog/v2/entries?count=-1&start=4"
        ]
    );
}

#[test]
fn relative_links_resolve_against_the_final_url() {
    let server = Server::start(|request: &Request| {
        if request.path.starts_with("/catalog/") {
            return Reply::status(302).header("Location", "/mirror/catalog/v2/entries?count=-1");
        }
        Reply::ok(feed_xml(&simple_entry(7, "moved"), Some(1)))
    });
    let dir = tempfile::tempdir().unwrap();
    let loaded = load(&server.url, dir.path()).unwrap();
    let entry = &loaded.catalog.entries()[0];
    assert_eq!(
        entry.icon_url.as_deref(),
        Some(
            format!(
                "{}/catalog/v2/illustration/00000000-0000-4000-8000-000000000007/?size=48",
                server.url
            )
            .as_str()
        )
    );
    assert_eq!(
        entry.html_url.as_deref(),
        Some(format!("{}/content/moved", server.url).as_str())
    );
}

#[test]
fn failures_fall_back_to_the_copy_or_fail_clearly() {
    let mode = Arc::new(Mutex::new("ok"));
    let m = mode.clone();
    let server = Server::start(move |_: &Request| match *m.lock().unwrap() {
        "ok" => Reply::ok(feed_xml(&simple_entry(1, "kept"), Some(1))),
        "html" => Reply::ok("<!DOCTYPE html><html><body>Access confirmation</body></html>"),
        _ => Reply::status(500),
    });
    let fresh = tempfile::tempdir().unwrap();

    // No copy: an HTML page is a malformed catalog (not "unreachable"), a 500 is unreachable.
    *mode.lock().unwrap() = "html";
    let error = load(&server.url, fresh.path()).unwrap_err();
    assert!(!error.is_unavailable());
    assert!(
        error.to_string().contains("root element is <html>"),
        "{error}"
    );
    *mode.lock().unwrap() = "500";
    let error = load(&server.url, fresh.path()).unwrap_err();
    assert!(error.is_unavailable(), "{error}");
    assert!(error.to_string().contains("HTTP status 500"), "{error}");

    // With a copy: both keep it and say why.
    *mode.lock().unwrap() = "ok";
    load(&server.url, fresh.path()).unwrap();
    for bad in ["html", "500"] {
        *mode.lock().unwrap() = bad;
        let stale = load(&server.url, fresh.path()).unwrap();
        assert_eq!(names(&stale), ["kept"]);
        let reason = stale.stale.unwrap();
        assert!(reason.contains("using the cached copy"), "{reason}");
    }
}

#[test]
fn corrupt_copy_is_replaced() {
    let server =
        Server::start(|_: &Request| Reply::ok(feed_xml(&simple_entry(1, "fresh"), Some(1))));
    let dir = tempfile::tempdir().unwrap();
    let source = CatalogSource {
        url: server.url.clone(),
        cache_dir: dir.path().to_path_buf(),
        offline: false,
    };
    std::fs::create_dir_all(source.cache_file().parent().unwrap()).unwrap();
    std::fs::write(source.cache_file(), b"{ not json").unwrap();
    let offline = CatalogSource {
        offline: true,
        ..source.clone()
    };
    let error = Catalog::load(&offline, &Client::new(), &mut |_| {}).unwrap_err();
    assert!(
        error.to_string().contains("corrupt cached catalog"),
        "{error}"
    );
    let loaded = Catalog::load(&source, &Client::new(), &mut |_| {}).unwrap();
    assert_eq!(names(&loaded), ["fresh"]);
    assert_eq!(
        names(&Catalog::load(&offline, &Client::new(), &mut |_| {}).unwrap()),
        ["fresh"]
    );
}
