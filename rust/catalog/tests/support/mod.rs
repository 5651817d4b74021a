//! Test helpers: a real `kiwix-serve --library` over a library built with `kiwix-manage`
//! from the fixture ZIM, and a tiny scripted HTTP server on 127.0.0.1.
#![allow(dead_code)] // Each test binary uses a subset.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// The fixture ZIM every book of the test library points to.
pub fn fixture_zim() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/fixtures/zim/withns_wikibooks_be_all_nopic_2017-02.zim")
        .canonicalize()
        .expect("fixture ZIM ../shared/fixtures/zim/withns_wikibooks_be_all_nopic_2017-02.zim")
}

/// A book written by hand into the library: (uuid, name, flavour, publisher, date,
/// size in KiB, languages, category, title).
pub struct Book {
    pub id: &'static str,
    pub name: &'static str,
    pub flavour: &'static str,
    pub publisher: &'static str,
    pub date: &'static str,
    pub kib: u64,
    pub language: &'static str,
    pub category: &'static str,
    pub title: &'static str,
}

/// Hand-written books, all pointing at the same fixture ZIM (spec §8). UUID order is
/// not date order: the older climate change file comes first in the feed.
pub const BOOKS: &[Book] = &[
    Book {
        id: "00000000-0000-4000-8000-000000000001",
        name: "wikipedia_en_climate_change",
        flavour: "nopic",
        publisher: "openZIM",
        date: "2024-01-03",
        kib: 60,
        language: "eng",
        category: "wikipedia",
        title: "Climate Change",
    },
    Book {
        id: "00000000-0000-4000-8000-000000000002",
        name: "wikipedia_en_climate_change",
        flavour: "nopic",
        publisher: "openZIM",
        date: "2024-05-12",
        kib: 61,
        language: "eng",
        category: "wikipedia",
        title: "Climate Change",
    },
    Book {
        id: "00000000-0000-4000-8000-000000000003",
        name: "wikipedia_en_climate_change",
        flavour: "maxi",
        publisher: "openZIM",
        date: "2024-05-12",
        kib: 9000,
        language: "eng",
        category: "wikipedia",
        title: "Climate Change",
    },
    Book {
        id: "00000000-0000-4000-8000-000000000004",
        name: "wikipedia_fr_comics",
        flavour: "nopic",
        publisher: "openZIM",
        date: "2024-02-01",
        kib: 3000,
        language: "fra,eng",
        category: "wikipedia",
        title: "Bandes dessinées & Co",
    },
    Book {
        id: "00000000-0000-4000-8000-000000000005",
        name: "wikipedia_fr_comics",
        flavour: "nopic",
        publisher: "Kiwix",
        date: "2023-01-01",
        kib: 2900,
        language: "fra",
        category: "wikipedia",
        title: "Bandes dessinées (Kiwix)",
    },
    Book {
        id: "00000000-0000-4000-8000-000000000006",
        name: "gutenberg_en_lcc-k",
        flavour: "",
        publisher: "openZIM",
        date: "2024-03-09",
        kib: 2_097_152,
        language: "eng",
        category: "gutenberg",
        title: "Project Gutenberg: Law",
    },
    Book {
        id: "00000000-0000-4000-8000-000000000007",
        name: "grimgrains_en_all",
        flavour: "",
        publisher: "openZIM",
        date: "2023-11-20",
        kib: 12,
        language: "eng",
        category: "other",
        title: "Grimgrains",
    },
];

/// The download URL a book's acquisition link names (`.meta4` appended in the library).
pub fn download_url(files: &str, book: &Book) -> String {
    let flavour = if book.flavour.is_empty() {
        String::new()
    } else {
        format!("_{}", book.flavour)
    };
    format!("{files}/zim/{}{flavour}_{}.zim", book.name, &book.date[..7])
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
}

/// Builds `dir/library.xml`: the fixture ZIM added by the real `kiwix-manage` (download
/// links under `files`), then [`BOOKS`].
pub fn library(dir: &Path, files: &str) -> PathBuf {
    let xml = dir.join("library.xml");
    let status = Command::new("kiwix-manage")
        .arg(&xml)
        .arg("add")
        .arg(fixture_zim())
        .arg(format!(
            "--url={files}/zim/wikibooks_be_all_nopic_2017-02.zim.meta4"
        ))
        .stdout(Stdio::null())
        .status()
        .expect("kiwix-manage (apt: kiwix-tools)");
    assert!(status.success(), "kiwix-manage add failed");
    let text = std::fs::read_to_string(&xml).unwrap();
    let zim = fixture_zim();
    let mut books = String::new();
    for b in BOOKS {
        let tags = if b.flavour == "nopic" {
            format!("{};_category:{};nopic", b.category, b.category)
        } else {
            format!("{};_category:{}", b.category, b.category)
        };
        books.push_str(&format!(
            "  <book id=\"{}\" path=\"{}\" url=\"{}.meta4\" title=\"{}\" description=\"{} from the test library\" language=\"{}\" creator=\"Wikipedia\" publisher=\"{}\" name=\"{}\" flavour=\"{}\" tags=\"{}\" date=\"{}\" articleCount=\"10\" mediaCount=\"2\" size=\"{}\" category=\"{}\" />\n",
            b.id, zim.display(), download_url(files, b), escape(b.title), escape(b.title), b.language, b.publisher, b.name, b.flavour, tags, b.date, b.kib, b.category,
        ));
    }
    let text = text.replace("</library>", &format!("{books}</library>"));
    std::fs::write(&xml, text).unwrap();
    xml
}

/// One request as the scripted server saw it.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub path: String,
    /// Header names lowercased.
    pub headers: BTreeMap<String, String>,
}

/// A reply: status, extra headers, body (omitted for HEAD, Content-Length kept).
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn ok(body: impl Into<Vec<u8>>) -> Reply {
        Reply {
            status: 200,
            headers: Vec::new(),
            body: body.into(),
        }
    }
    pub fn status(status: u16) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }
    pub fn header(mut self, name: &str, value: &str) -> Reply {
        self.headers.push((name.into(), value.into()));
        self
    }
}

type Handler = dyn Fn(&Request) -> Reply + Send + Sync;

/// A scripted HTTP/1.1 server on 127.0.0.1 (one thread per connection, `Connection:
/// close`); records every request.
pub struct Server {
    pub url: String,
    pub requests: Arc<Mutex<Vec<Request>>>,
    stop: Arc<AtomicBool>,
    port: u16,
}

impl Server {
    pub fn start(handler: impl Fn(&Request) -> Reply + Send + Sync + 'static) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let handler: Arc<Handler> = Arc::new(handler);
        let (log, flag) = (requests.clone(), stop.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if flag.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let (handler, log) = (handler.clone(), log.clone());
                std::thread::spawn(move || serve(stream, &*handler, &log));
            }
        });
        Server {
            url: format!("http://127.0.0.1:{port}"),
            requests,
            stop,
            port,
        }
    }

    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn serve(stream: TcpStream, handler: &Handler, log: &Mutex<Vec<Request>>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_string();
    let path = parts.next().unwrap_or_default().to_string();
    let mut headers = BTreeMap::new();
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).unwrap_or(0) == 0 || header.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_string());
        }
    }
    let request = Request {
        method,
        path,
        headers,
    };
    log.lock().unwrap().push(request.clone());
    let reply = handler(&request);
    let reason = match reply.status {
        200 => "OK",
        304 => "Not Modified",
        404 => "Not Found",
        _ => "Status",
    };
    let mut out = format!(
        "HTTP/1.1 {} {reason}\r\nConnection: close\r\n",
        reply.status
    );
    if reply.status != 304 {
        out.push_str(&format!("Content-Length: {}\r\n", reply.body.len()));
    }
    for (name, value) in &reply.headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str("\r\n");
    let mut stream = stream;
    let _ = stream.write_all(out.as_bytes());
    if request.method != "HEAD" && reply.status != 304 {
        let _ = stream.write_all(&reply.body);
    }
    let _ = stream.flush();
}

/// One `<entry>` in kiwix-serve's shape (libkiwix `catalog_v2_entry.xml`).
pub fn entry_xml(
    id: &str,
    name: &str,
    flavour: &str,
    date: &str,
    length: &str,
    href: &str,
) -> String {
    format!(
        r#"  <entry>
    <id>urn:uuid:{id}</id>
    <title>Title of {name}</title>
    <updated>{date}T00:00:00Z</updated>
    <summary>Summary of {name}</summary>
    <language>eng</language>
    <name>{name}</name>
    <flavour>{flavour}</flavour>
    <category>wikipedia</category>
    <tags>wikipedia;_category:wikipedia;_pictures:yes;_videos:yes;_details:yes;_ftindex:no</tags>
    <articleCount>12</articleCount>
    <mediaCount>3</mediaCount>
    <link rel="http://opds-spec.org/image/thumbnail"
          href="/catalog/v2/illustration/{id}/?size=48"
          type="image/png;width=48;height=48;scale=1"/>
    <link type="text/html" href="/content/{name}" />
    <author>
      <name>Wikipedia</name>
    </author>
    <publisher>
      <name>openZIM</name>
    </publisher>
    <dc:issued>{date}T00:00:00Z</dc:issued>
    <link rel="http://opds-spec.org/acquisition/open-access" type="application/x-zim" href="{href}" length="{length}" />
  </entry>
"#
    )
}

/// A feed around `entries`, with `<totalResults>` when given.
pub fn feed_xml(entries: &str, total: Option<usize>) -> String {
    let total = total
        .map(|t| format!("  <totalResults>{t}</totalResults>\n"))
        .unwrap_or_default();
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"
      xmlns:dc="http://purl.org/dc/terms/"
      xmlns:opds="https://specs.opds.io/opds-1.2"
      xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">
  <id>6a56082d-d928-ee42-92ad-bca8aba908c6</id>
  <title>Filtered Entries (count=-1)</title>
  <updated>2026-12-04T18:30:19Z</updated>
{total}{entries}</feed>
"#
    )
}

/// A simple valid entry named `name`.
pub fn simple_entry(n: usize, name: &str) -> String {
    entry_xml(
        &format!("00000000-0000-4000-8000-{n:012}"),
        name,
        "nopic",
        "2024-05-12",
        "61440",
        &format!("https://download.kiwix.org/zim/wikipedia/{name}_nopic_2024-05.zim.meta4"),
    )
}
