//! Pinning from MirrorBrain's `.sha256` / `.meta4` files, served on 127.0.0.1.

mod support;

use nixspot_catalog::checksum::{self, Pin};
use nixspot_catalog::Client;
use std::collections::BTreeMap;
use support::{Reply, Request, Server};

const SHA: &str = "0f3c49bdb5f5a2a3e9ae5c8f1e5e45e3b1a4b8b9c5c4a1f2e3d4c5b6a7980123";
const OTHER: &str = "1111111111111111111111111111111111111111111111111111111111111111";

/// A `.meta4` as MirrorBrain 2.19.0 writes it (comments, pieces, mirrors).
fn meta4(size: &str, sha256: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<metalink xmlns="urn:ietf:params:xml:ns:metalink">
  <generator>MirrorBrain/2.19.0</generator>
  <origin dynamic="true">https://download.kiwix.org/zim/other/a.zim.meta4</origin>
  <published>2024-06-01T10:00:00Z</published>
  <publisher>
    <name>Kiwix project</name>
    <url>https://kiwix.org</url>
  </publisher>
  <file name="a.zim">
    <!-- internal id: 123, mtime: 1717236000 -->
    <size>{size}</size>
    <hash type="md5">3d2ea19c46c8678c20feebd3e39c360d</hash>
    <hash type="sha-1">9c546e7e1b6b4e5f2479d69fa2c2dc353617a814</hash>
    <hash type="sha-256">{sha256}</hash>
    <pieces length="262144" type="sha-1">
      <hash>9c546e7e1b6b4e5f2479d69fa2c2dc353617a814</hash>
    </pieces>
    <url location="fr" priority="1">https://mirror.example/zim/other/a.zim</url>
  </file>
</metalink>
"#
    )
}

/// Files a server holds: path → body.
type Files<'a> = Vec<(&'a str, Vec<u8>)>;

/// Serves `files` (path → body); anything else is 404. HEAD gets the Content-Length.
fn serve(files: &[(&str, Vec<u8>)]) -> Server {
    let files: BTreeMap<String, Vec<u8>> = files
        .iter()
        .map(|(p, b)| (p.to_string(), b.clone()))
        .collect();
    Server::start(move |request: &Request| match files.get(&request.path) {
        Some(body) => Reply::ok(body.clone()),
        None => Reply::status(404),
    })
}

fn pin(server: &Server) -> Result<Pin, String> {
    checksum::pin(&format!("{}/zim/a.zim", server.url), &Client::new()).map_err(|e| e.to_string())
}

#[test]
fn sha256_file_and_meta4_size() {
    let server = serve(&[
        (
            "/zim/a.zim.sha256",
            format!("{}  a.zim\n", SHA.to_uppercase()).into_bytes(),
        ),
        ("/zim/a.zim.meta4", meta4("2064507", SHA).into_bytes()),
    ]);
    assert_eq!(
        pin(&server).unwrap(),
        Pin {
            size: 2_064_507,
            sha256: SHA.into()
        }
    );
    // The ZIM itself is never requested.
    assert!(server.requests().iter().all(|r| r.path != "/zim/a.zim"));
}

#[test]
fn meta4_alone() {
    let server = serve(&[("/zim/a.zim.meta4", meta4("42", SHA).into_bytes())]);
    assert_eq!(
        pin(&server).unwrap(),
        Pin {
            size: 42,
            sha256: SHA.into()
        }
    );
}

#[test]
fn sha256_alone_takes_the_size_from_head() {
    let server = serve(&[
        ("/zim/a.zim.sha256", SHA.as_bytes().to_vec()),
        ("/zim/a.zim", vec![7u8; 1234]),
    ]);
    assert_eq!(
        pin(&server).unwrap(),
        Pin {
            size: 1234,
            sha256: SHA.into()
        }
    );
    let zim: Vec<String> = server
        .requests()
        .into_iter()
        .filter(|r| r.path == "/zim/a.zim")
        .map(|r| r.method)
        .collect();
    assert_eq!(zim, ["HEAD"]);
}

#[test]
fn disagreeing_files_name_both_hashes() {
    let server = serve(&[
        ("/zim/a.zim.sha256", format!("{SHA}  a.zim\n").into_bytes()),
        ("/zim/a.zim.meta4", meta4("42", OTHER).into_bytes()),
    ]);
    let error = pin(&server).unwrap_err();
    assert!(error.contains(SHA) && error.contains(OTHER), "{error}");
}

#[test]
fn hostile_or_missing_files_fail_without_echoing_them() {
    let cases: Vec<(Files<'_>, &str)> = vec![
        (vec![], "neither"),
        (
            vec![("/zim/a.zim.sha256", vec![b'a'; 3000])],
            "larger than the limit of 2048 bytes",
        ),
        (
            vec![(
                "/zim/a.zim.sha256",
                b"secret-token-from-server a.zim".to_vec(),
            )],
            "24 characters, expected 64 hex",
        ),
        (vec![("/zim/a.zim.sha256", b"\n\n".to_vec())], "empty"),
        (
            vec![("/zim/a.zim.meta4", meta4("-1", SHA).into_bytes())],
            "<size>",
        ),
        (
            vec![("/zim/a.zim.meta4", meta4("1e9", SHA).into_bytes())],
            "<size>",
        ),
        (
            vec![(
                "/zim/a.zim.meta4",
                meta4("42", "secret-not-a-hash").into_bytes(),
            )],
            "expected 64 hex digits",
        ),
        (
            vec![(
                "/zim/a.zim.meta4",
                b"<html><body>secret</body></html>".to_vec(),
            )],
            "not <metalink>",
        ),
    ];
    for (files, expected) in cases {
        let server = serve(&files);
        let error = pin(&server).unwrap_err();
        assert!(error.contains(expected), "{expected:?} not in {error}");
        assert!(!error.contains("secret"), "echoes the file: {error}");
    }
}

#[test]
fn server_errors_are_not_taken_for_missing_files() {
    let server = Server::start(|_: &Request| Reply::status(500));
    let error = pin(&server).unwrap_err();
    assert!(error.contains("HTTP status 500"), "{error}");
}
