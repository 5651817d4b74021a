//! Streaming parser for OPDS v2 acquisition feeds (`/catalog/v2/entries`).
//!
//! The feed is read event by event from any [`BufRead`]: the XML text is never held in
//! memory, only the compact [`Entry`] values. [`Limits`] bound what a hostile server can
//! make the parser allocate: bytes per XML event (a single huge text node or tag fails
//! once it passes the limit, before it is buffered whole), bytes per field, nesting depth,
//! entry count and total size.

use crate::{CatalogError, Entry};
use quick_xml::events::{BytesStart, Event};
use std::io::{self, BufRead, Read};

/// Hard limits of the parser.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Bytes of the whole response (after decompression).
    pub max_bytes: u64,
    /// Bytes of one XML event (a tag with its attributes, or a text node).
    pub max_event: usize,
    /// Bytes of one field's text (title, summary, tags, …).
    pub max_field: usize,
    /// Element nesting depth.
    pub max_depth: usize,
    /// Entries in one feed.
    pub max_entries: usize,
}

impl Default for Limits {
    /// Generous for the real library (~10,000 entries, ~11 MB, summaries of a few
    /// hundred bytes: 20 times that), small enough that a hostile feed cannot make the
    /// parsed catalog take more than a few hundred MB.
    fn default() -> Self {
        Limits {
            max_bytes: 256 << 20,
            max_event: 1 << 20,
            max_field: 64 << 10,
            max_depth: 32,
            max_entries: 250_000,
        }
    }
}

/// One parsed page of the feed.
#[derive(Debug, Default)]
pub struct Feed {
    /// Entries with a name and an acquisition link, in feed order.
    pub entries: Vec<Entry>,
    /// Entries dropped because they have no name or no download link.
    pub skipped: usize,
    /// `<totalResults>`, when the server sent it (it does for any non-empty query).
    pub total_results: Option<u64>,
}

/// A [`BufRead`] that fails once one XML event or the whole input passes its limit, so
/// quick-xml never buffers more than that.
struct Budget<R> {
    inner: R,
    since_mark: u64,
    total: u64,
    max_event: u64,
    max_bytes: u64,
}

impl<R: BufRead> Budget<R> {
    fn mark(&mut self) {
        self.since_mark = 0;
    }
}

impl<R: BufRead> Read for Budget<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(buf.len());
        buf[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Budget<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.since_mark > self.max_event {
            return Err(io::Error::other(format!(
                "one XML element or text is larger than the limit of {} bytes",
                self.max_event
            )));
        }
        if self.total > self.max_bytes {
            return Err(io::Error::other(format!(
                "the feed is larger than the limit of {} bytes",
                self.max_bytes
            )));
        }
        self.inner.fill_buf()
    }

    fn consume(&mut self, amount: usize) {
        self.since_mark += amount as u64;
        self.total += amount as u64;
        self.inner.consume(amount);
    }
}

/// The fields of the entry being read.
#[derive(Default)]
struct Partial {
    id: String,
    name: String,
    flavour: String,
    title: String,
    summary: String,
    languages: String,
    category: String,
    tags: String,
    publisher: String,
    author: String,
    updated: String,
    issued: String,
    article_count: String,
    media_count: String,
    length: Option<String>,
    download: Option<String>,
    icon: Option<(u32, String)>,
    html: Option<String>,
}

const ACQUISITION: &str = "http://opds-spec.org/acquisition/open-access";
const THUMBNAIL: &str = "http://opds-spec.org/image/thumbnail";

/// Parses an acquisition feed. `base_url` is the URL that served it (after redirects):
/// relative links are resolved against it, and errors name it.
pub fn parse<R: BufRead>(input: R, base_url: &str, limits: &Limits) -> Result<Feed, CatalogError> {
    let base = url::Url::parse(base_url).ok();
    let mut reader = quick_xml::Reader::from_reader(Budget {
        inner: input,
        since_mark: 0,
        total: 0,
        max_event: limits.max_event as u64,
        max_bytes: limits.max_bytes,
    });
    let mut buf = Vec::new();
    // Positions of the open elements; bounded by `max_depth`.
    let mut path: Vec<Node> = Vec::new();
    let mut text = String::new();
    let mut entry: Option<Partial> = None;
    let mut feed = Feed::default();
    let mut seen_root = false;
    loop {
        buf.clear();
        reader.get_mut().mark();
        let position = reader.buffer_position();
        let malformed = |reason: String| CatalogError::Malformed {
            url: base_url.to_string(),
            position,
            reason,
        };
        let event = reader
            .read_event_into(&mut buf)
            .map_err(|e| malformed(e.to_string()))?;
        match event {
            Event::Start(start) if !seen_root => {
                check_root(&start).map_err(malformed)?;
                seen_root = true;
                path.push(Node::Feed);
            }
            Event::Empty(start) if !seen_root => {
                // `<feed/>`: a valid feed without entries.
                check_root(&start).map_err(malformed)?;
                break;
            }
            Event::Start(start) => {
                if path.len() >= limits.max_depth {
                    return Err(malformed(format!(
                        "elements nested deeper than {}",
                        limits.max_depth
                    )));
                }
                let local = start.local_name();
                open(&mut entry, &mut feed, &path, local.as_ref(), &start, limits)
                    .map_err(malformed)?;
                path.push(node(&path, local.as_ref()));
                text.clear();
            }
            Event::Empty(start) => {
                let local = start.local_name();
                open(&mut entry, &mut feed, &path, local.as_ref(), &start, limits)
                    .map_err(malformed)?;
                close(
                    &mut entry,
                    &mut feed,
                    &path,
                    local.as_ref(),
                    "",
                    base.as_ref(),
                )
                .map_err(malformed)?;
            }
            Event::Text(t) => {
                if collecting(&path) {
                    let t = t.unescape().map_err(|e| malformed(e.to_string()))?;
                    push_capped(&mut text, &t, limits.max_field).map_err(malformed)?;
                }
            }
            Event::CData(t) => {
                if collecting(&path) {
                    let t = std::str::from_utf8(&t)
                        .map_err(|e| malformed(format!("CDATA is not UTF-8: {e}")))?;
                    push_capped(&mut text, t, limits.max_field).map_err(malformed)?;
                }
            }
            Event::End(end) => {
                if path.pop().is_none() {
                    return Err(malformed("unexpected closing tag".into()));
                }
                // quick-xml checks that end names match their start.
                let local = end.local_name();
                close(
                    &mut entry,
                    &mut feed,
                    &path,
                    local.as_ref(),
                    &text,
                    base.as_ref(),
                )
                .map_err(malformed)?;
                text.clear();
                if path.is_empty() {
                    break;
                }
            }
            Event::Eof => {
                return Err(malformed(if seen_root {
                    "the feed ends before </feed> (truncated response?)".into()
                } else {
                    "empty response, expected an OPDS <feed>".into()
                }));
            }
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) | Event::DocType(_) => {}
        }
    }
    Ok(feed)
}

fn check_root(start: &BytesStart<'_>) -> Result<(), String> {
    let local = start.local_name();
    if local.as_ref() == b"feed" {
        Ok(())
    } else {
        Err(format!(
            "the root element is <{}>, expected <feed> (not an OPDS catalog)",
            String::from_utf8_lossy(local.as_ref())
        ))
    }
}

/// Text is kept only inside the feed (entry fields, `totalResults`).
fn collecting(path: &[Node]) -> bool {
    path.len() >= 2
}

fn push_capped(text: &mut String, more: &str, max: usize) -> Result<(), String> {
    if text.len() + more.len() > max {
        return Err(format!("a field is longer than the limit of {max} bytes"));
    }
    text.push_str(more);
    Ok(())
}

/// Where an element sits: only these positions matter, so no names are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Node {
    Feed,
    Entry,
    Author,
    Publisher,
    Other,
}

fn node(parent: &[Node], local: &[u8]) -> Node {
    match (parent, local) {
        ([Node::Feed], b"entry") => Node::Entry,
        ([Node::Feed, Node::Entry], b"author") => Node::Author,
        ([Node::Feed, Node::Entry], b"publisher") => Node::Publisher,
        _ => Node::Other,
    }
}

/// Handles an opening (or self-closing) tag whose parent elements are `path`.
fn open(
    entry: &mut Option<Partial>,
    feed: &mut Feed,
    path: &[Node],
    local: &[u8],
    start: &BytesStart<'_>,
    limits: &Limits,
) -> Result<(), String> {
    if matches!(path, [Node::Feed]) && local == b"entry" {
        if feed.entries.len() + feed.skipped >= limits.max_entries {
            return Err(format!("more than {} entries", limits.max_entries));
        }
        *entry = Some(Partial::default());
    } else if matches!(path, [Node::Feed, Node::Entry]) && local == b"link" {
        if let Some(entry) = entry.as_mut() {
            link(entry, start, limits)?;
        }
    }
    Ok(())
}

fn link(entry: &mut Partial, start: &BytesStart<'_>, limits: &Limits) -> Result<(), String> {
    let (mut rel, mut kind, mut href, mut length) = (None, None, None, None);
    for attribute in start.attributes() {
        let attribute = attribute.map_err(|e| e.to_string())?;
        let value = attribute.unescape_value().map_err(|e| e.to_string())?;
        if value.len() > limits.max_field {
            return Err(format!(
                "a link attribute is longer than the limit of {} bytes",
                limits.max_field
            ));
        }
        let slot = match attribute.key.local_name().as_ref() {
            b"rel" => &mut rel,
            b"type" => &mut kind,
            b"href" => &mut href,
            b"length" => &mut length,
            _ => continue,
        };
        *slot = Some(value.into_owned());
    }
    let Some(href) = href else { return Ok(()) };
    let kind = kind.unwrap_or_default();
    match rel.as_deref() {
        Some(ACQUISITION) => {
            entry.download = Some(href);
            entry.length = length;
        }
        Some(THUMBNAIL) => {
            // Prefer the 48 px illustration (what offspot shows), else the first one.
            let rank = if kind.contains("width=48;") { 0 } else { 1 };
            if entry.icon.as_ref().is_none_or(|(r, _)| rank < *r) {
                entry.icon = Some((rank, href));
            }
        }
        _ if kind == "text/html" => entry.html = Some(href),
        _ => {}
    }
    Ok(())
}

/// Handles a closing tag; `path` holds its parents.
fn close(
    entry: &mut Option<Partial>,
    feed: &mut Feed,
    path: &[Node],
    local: &[u8],
    text: &str,
    base: Option<&url::Url>,
) -> Result<(), String> {
    if matches!(path, [Node::Feed]) {
        match local {
            b"entry" => {
                if let Some(partial) = entry.take() {
                    match finish(partial, base)? {
                        Some(done) => feed.entries.push(done),
                        None => feed.skipped += 1,
                    }
                }
            }
            b"totalResults" => {
                feed.total_results = Some(number("totalResults", text.trim())?);
            }
            _ => {}
        }
        return Ok(());
    }
    let Some(e) = entry.as_mut() else {
        return Ok(());
    };
    let slot = if matches!(path, [Node::Feed, Node::Entry]) {
        match local {
            b"id" => &mut e.id,
            b"name" => &mut e.name,
            b"flavour" => &mut e.flavour,
            b"title" => &mut e.title,
            b"summary" => &mut e.summary,
            b"language" => &mut e.languages,
            b"category" => &mut e.category,
            b"tags" => &mut e.tags,
            b"updated" => &mut e.updated,
            b"issued" => &mut e.issued,
            b"articleCount" => &mut e.article_count,
            b"mediaCount" => &mut e.media_count,
            _ => return Ok(()),
        }
    } else if matches!(path, [Node::Feed, Node::Entry, Node::Author]) && local == b"name" {
        &mut e.author
    } else if matches!(path, [Node::Feed, Node::Entry, Node::Publisher]) && local == b"name" {
        &mut e.publisher
    } else {
        return Ok(());
    };
    *slot = text.trim().to_string();
    Ok(())
}

fn number(what: &str, text: &str) -> Result<u64, String> {
    // Only plain digits: no sign, exponent or fraction sneaks through.
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "{what} is {text:?}, expected a non-negative integer"
        ));
    }
    text.parse()
        .map_err(|_| format!("{what} is {text:?}, larger than 2^64"))
}

/// `YYYY-MM-DD` from an ISO date or date-time.
fn date(what: &str, text: &str) -> Result<String, String> {
    let day = text.get(..10).unwrap_or(text);
    let b = day.as_bytes();
    let shaped = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if shaped {
        Ok(day.to_string())
    } else {
        Err(format!(
            "{what} is {text:?}, expected an ISO date YYYY-MM-DD"
        ))
    }
}

/// An absolute http(s) URL for a link of the feed, or why not.
fn absolute(base: Option<&url::Url>, href: &str) -> Result<String, String> {
    let parsed = match base {
        Some(base) => base.join(href),
        None => url::Url::parse(href),
    }
    .map_err(|e| format!("link {href:?} is not a URL: {e}"))?;
    match parsed.scheme() {
        "http" | "https" => Ok(parsed.to_string()),
        other => Err(format!(
            "link {href:?} has scheme {other}, expected http or https"
        )),
    }
}

fn finish(p: Partial, base: Option<&url::Url>) -> Result<Option<Entry>, String> {
    let Some(download) = p.download.filter(|_| !p.name.is_empty()) else {
        return Ok(None);
    };
    let id = p.id.strip_prefix("urn:uuid:").unwrap_or(&p.id).to_string();
    let at = |reason: String| format!("entry {} ({}): {reason}", id, p.name);
    let download_url = absolute(base, &download).map_err(at)?;
    let download_url = download_url
        .strip_suffix(".meta4")
        .unwrap_or(&download_url)
        .to_string();
    let length = match &p.length {
        Some(length) => number("length", length.trim()).map_err(at)?,
        None => return Err(at("the acquisition link has no length".into())),
    };
    let count = |what: &str, text: &str| {
        if text.is_empty() {
            Ok(0)
        } else {
            number(what, text).map_err(at)
        }
    };
    Ok(Some(Entry {
        date: date("updated", &p.updated).map_err(at)?,
        issued: match p.issued.as_str() {
            "" => None,
            issued => Some(date("dc:issued", issued).map_err(at)?),
        },
        article_count: count("articleCount", &p.article_count)?,
        media_count: count("mediaCount", &p.media_count)?,
        length,
        download_url,
        // A bad optional link only loses the link, not the entry.
        icon_url: p.icon.and_then(|(_, href)| absolute(base, &href).ok()),
        html_url: p.html.and_then(|href| absolute(base, &href).ok()),
        languages: split(&p.languages, ','),
        tags: split(&p.tags, ';'),
        name: p.name,
        flavour: p.flavour,
        title: p.title,
        summary: p.summary,
        category: p.category,
        publisher: p.publisher,
        author: p.author,
        id,
    }))
}

fn split(list: &str, separator: char) -> Vec<String> {
    list.split(separator)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}
