//! Malformed and hostile catalogs: every one is a clear error, memory stays bounded, and
//! no input makes the parser panic (property tests).

mod support;

use nixspot_catalog::opds::{self, Limits};
use nixspot_catalog::{CatalogError, PackageIdent};
use proptest::prelude::*;
use std::io::{BufReader, Read};
use support::{entry_xml, feed_xml, simple_entry};

const BASE: &str = "http://127.0.0.1:1/catalog/v2/entries?count=-1";

fn parse(xml: &str) -> Result<opds::Feed, CatalogError> {
    opds::parse(xml.as_bytes(), BASE, &Limits::default())
}

fn error(xml: &str) -> String {
    parse(xml).expect_err("must be rejected").to_string()
}

/// `prefix` followed by an endless stream of `fill`: a parser that buffered a whole
/// element or field would never return.
struct Endless {
    prefix: Vec<u8>,
    at: usize,
    fill: u8,
}

impl Read for Endless {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.at < self.prefix.len() {
            let n = buf.len().min(self.prefix.len() - self.at);
            buf[..n].copy_from_slice(&self.prefix[self.at..self.at + n]);
            self.at += n;
            return Ok(n);
        }
        buf.fill(self.fill);
        Ok(buf.len())
    }
}

fn endless(prefix: &str, fill: u8) -> String {
    let input = BufReader::new(Endless {
        prefix: prefix.as_bytes().to_vec(),
        at: 0,
        fill,
    });
    opds::parse(input, BASE, &Limits::default())
        .expect_err("must be rejected")
        .to_string()
}

#[test]
fn valid_feed_parses() {
    let feed = parse(&feed_xml(&simple_entry(1, "ok"), Some(1))).unwrap();
    assert_eq!(feed.entries.len(), 1);
    assert_eq!(feed.total_results, Some(1));
    assert_eq!(
        feed.entries[0].download_url,
        "https://download.kiwix.org/zim/wikipedia/ok_nopic_2024-05.zim"
    );
    // `<feed/>` is a valid empty feed.
    assert_eq!(parse("<feed/>").unwrap().entries.len(), 0);
}

#[test]
fn endless_text_or_tag_stops_at_the_event_limit() {
    let text = endless("<feed><entry><summary>", b'a');
    assert!(
        text.contains("larger than the limit of 1048576 bytes"),
        "{text}"
    );
    let tag = endless("<feed><entry><link href=\"", b'a');
    assert!(tag.contains("larger than the limit"), "{tag}");
    let whitespace = endless("<feed>", b' ');
    assert!(whitespace.contains("larger than the limit"), "{whitespace}");
}

#[test]
fn endless_entries_stop_at_the_size_limit() {
    let limits = Limits {
        max_bytes: 1 << 20,
        ..Limits::default()
    };
    let entry = simple_entry(1, "again");
    // Entries repeated forever: stopped by the total size, not by memory.
    struct Repeat(Vec<u8>, usize);
    impl Read for Repeat {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = buf.len().min(self.0.len() - self.1);
            buf[..n].copy_from_slice(&self.0[self.1..self.1 + n]);
            self.1 = (self.1 + n) % self.0.len();
            Ok(n)
        }
    }
    let stream = std::io::Cursor::new(b"<feed>".to_vec()).chain(Repeat(entry.into_bytes(), 0));
    let error = opds::parse(BufReader::new(stream), BASE, &limits)
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("the feed is larger than the limit of 1048576 bytes"),
        "{error}"
    );
    let few = Limits {
        max_entries: 3,
        ..Limits::default()
    };
    let four: String = (0..4).map(|i| simple_entry(i, "x")).collect();
    let error = opds::parse(feed_xml(&four, None).as_bytes(), BASE, &few)
        .unwrap_err()
        .to_string();
    assert!(error.contains("more than 3 entries"), "{error}");
}

#[test]
fn field_longer_than_its_limit() {
    let long = "b".repeat(70_000);
    let text = error(&feed_xml(
        &simple_entry(1, "x").replace("Summary of x", &long),
        None,
    ));
    assert!(
        text.contains("a field is longer than the limit of 65536 bytes"),
        "{text}"
    );
}

#[test]
fn deep_nesting() {
    let xml = format!("<feed>{}", "<a>".repeat(100_000));
    let text = error(&xml);
    assert!(text.contains("nested deeper than 32"), "{text}");
}

#[test]
fn bad_sizes_and_numbers_name_the_entry() {
    for length in ["-1", "1e9", "", "12.5", " 0x10", "184467440737095516160"] {
        let xml = feed_xml(
            &entry_xml(
                "bad-1",
                "badsize",
                "nopic",
                "2024-05-12",
                length,
                "https://d.example/x.zim.meta4",
            ),
            None,
        );
        let text = error(&xml);
        assert!(
            text.contains("entry bad-1 (badsize)") && text.contains("length is"),
            "{length:?}: {text}"
        );
    }
    let xml = feed_xml(
        &simple_entry(1, "count").replace("<articleCount>12<", "<articleCount>ten<"),
        None,
    );
    assert!(error(&xml).contains("articleCount is \"ten\""));
    let xml = feed_xml(
        &simple_entry(1, "when").replace("2024-05-12T00:00:00Z</updated>", "yesterday</updated>"),
        None,
    );
    assert!(error(&xml).contains("updated is \"yesterday\""));
    let xml = feed_xml("  <totalResults>lots</totalResults>\n", None);
    assert!(error(&xml).contains("totalResults is \"lots\""));
}

#[test]
fn download_links_must_be_http() {
    for href in [
        "file:///etc/passwd",
        "javascript:alert(1)",
        "ftp://example.org/x.zim",
    ] {
        let xml = feed_xml(
            &entry_xml("e", "sneaky", "", "2024-05-12", "1024", href),
            None,
        );
        let text = error(&xml);
        assert!(text.contains("expected http or https"), "{href}: {text}");
    }
}

#[test]
fn not_a_feed() {
    assert!(
        error("<!DOCTYPE html><html><head><title>Access confirmation</title></head></html>")
            .contains("root element is <html>")
    );
    assert!(error("").contains("empty response"));
    let truncated = feed_xml(&simple_entry(1, "cut"), None);
    let text = error(&truncated[..truncated.len() / 2]);
    assert!(text.contains("malformed catalog at byte"), "{text}");
    assert!(error(&feed_xml(
        &simple_entry(1, "x").replace("Title of x", "&unknown;"),
        None
    ))
    .contains("malformed"));
    // Mismatched tags.
    assert!(parse("<feed><entry></feed>").is_err());
}

#[test]
fn entries_without_name_or_download_are_skipped() {
    let unnamed = simple_entry(1, "gone").replace("<name>gone</name>", "<name></name>");
    let no_link = simple_entry(2, "nolink").replace(
        "rel=\"http://opds-spec.org/acquisition/open-access\"",
        "rel=\"other\"",
    );
    let feed = parse(&feed_xml(
        &format!("{unnamed}{no_link}{}", simple_entry(3, "kept")),
        None,
    ))
    .unwrap();
    assert_eq!(feed.skipped, 2);
    assert_eq!(feed.entries.len(), 1);
}

#[test]
fn package_idents() {
    let cases = [
        (
            "wikipedia_en_all",
            None,
            "wikipedia_en_all",
            None,
            "wikipedia_en_all",
        ),
        (
            "wikipedia_en_all:maxi",
            None,
            "wikipedia_en_all",
            Some("maxi"),
            "wikipedia_en_all:maxi",
        ),
        (
            "wikipedia_en_all:",
            None,
            "wikipedia_en_all",
            Some(""),
            "wikipedia_en_all:",
        ),
        (
            "openZIM:grimgrains_en_all:",
            Some("openZIM"),
            "grimgrains_en_all",
            Some(""),
            "openZIM:grimgrains_en_all:",
        ),
        (
            "openZIM:wikipedia_fr_comics:nopic",
            Some("openZIM"),
            "wikipedia_fr_comics",
            Some("nopic"),
            "openZIM:wikipedia_fr_comics:nopic",
        ),
    ];
    for (text, publisher, name, flavour, canonical) in cases {
        let ident = PackageIdent::parse(text).unwrap();
        assert_eq!(ident.publisher.as_deref(), publisher, "{text}");
        assert_eq!(ident.name, name, "{text}");
        assert_eq!(ident.flavour.as_deref(), flavour, "{text}");
        assert_eq!(ident.to_string(), canonical);
        assert_eq!(PackageIdent::parse(canonical).unwrap(), ident);
    }
    for bad in ["", ":nopic", "a:b:c:d", ":name:flavour", "has space", "a/b"] {
        let error = PackageIdent::parse(bad).unwrap_err().to_string();
        assert!(error.contains("invalid package ident"), "{bad:?}: {error}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Arbitrary bytes: an error or a feed, never a panic.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
        let _ = opds::parse(&bytes[..], BASE, &Limits::default());
    }

    /// A valid feed with bytes replaced, inserted or cut: an error or a feed, never a panic;
    /// a feed still has only http(s) download links.
    #[test]
    fn mutated_feeds_never_panic(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..16),
    ) {
        let mut bytes = feed_xml(&format!("{}{}", simple_entry(1, "a"), simple_entry(2, "b")), Some(2)).into_bytes();
        for (index, byte, kind) in edits {
            let at = index.index(bytes.len());
            match kind {
                0 => bytes[at] = byte,
                1 => bytes.insert(at, byte),
                _ => bytes.truncate(at),
            }
            if bytes.is_empty() {
                break;
            }
        }
        if let Ok(feed) = opds::parse(&bytes[..], BASE, &Limits::default()) {
            for entry in feed.entries {
                prop_assert!(entry.download_url.starts_with("http://") || entry.download_url.starts_with("https://"));
            }
        }
    }

    /// Any text in any field survives the round trip through XML escaping.
    #[test]
    fn escaped_text_round_trips(title in "\\PC{0,40}") {
        let escaped = title.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
        let xml = feed_xml(&simple_entry(1, "t").replace("Title of t", &escaped), None);
        let feed = opds::parse(xml.as_bytes(), BASE, &Limits::default()).unwrap();
        prop_assert_eq!(&feed.entries[0].title, title.trim());
    }
}
