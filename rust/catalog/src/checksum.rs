//! Pinning a download from the MirrorBrain files beside it (`<url>.sha256`,
//! `<url>.meta4`), without downloading the file itself.
//!
//! These files come from the network and are treated as hostile: bodies are capped,
//! and errors never echo their content beyond a hash-shaped token.

use crate::{CatalogError, Client};
use quick_xml::events::Event;
use std::io::{BufRead, Read};

/// `.sha256` bodies larger than this are refused (offspot's cap too).
const MAX_SHA256_BODY: u64 = 2048;

/// `.meta4` bodies larger than this are refused; piece hashes of a 100 GB file fit.
const MAX_META4_BODY: u64 = 16 << 20;

/// The exact size and sha256 of a download.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pin {
    /// Size in bytes.
    pub size: u64,
    /// Lowercase hex sha256.
    pub sha256: String,
}

/// What a `.meta4` file says about its (first) file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Meta4 {
    /// `<size>`, exact bytes.
    pub size: Option<u64>,
    /// `<hash type="sha-256">`, lowercase hex.
    pub sha256: Option<String>,
}

/// Pins `download_url`: the sha256 from `<url>.sha256`, else from `<url>.meta4`; the size
/// from `<url>.meta4`, else from the `Content-Length` of `HEAD <url>`. When both files
/// carry a sha256 they must agree.
pub fn pin(download_url: &str, client: &Client) -> Result<Pin, CatalogError> {
    let sha256_url = format!("{download_url}.sha256");
    let meta4_url = format!("{download_url}.meta4");
    let from_sha256 = match get_capped(client, &sha256_url, MAX_SHA256_BODY)? {
        Some(body) => Some(
            parse_sha256_file(&body).map_err(|reason| CatalogError::Checksum {
                url: sha256_url.clone(),
                reason,
            })?,
        ),
        None => None,
    };
    let meta4 = match get_capped(client, &meta4_url, MAX_META4_BODY)? {
        Some(body) => parse_meta4(&body[..]).map_err(|reason| CatalogError::Checksum {
            url: meta4_url.clone(),
            reason,
        })?,
        None => Meta4::default(),
    };
    let sha256 = match (from_sha256, meta4.sha256) {
        (Some(a), Some(b)) if a != b => {
            return Err(CatalogError::Checksum {
                url: meta4_url,
                reason: format!("sha-256 {b} disagrees with {a} of {sha256_url}"),
            })
        }
        (Some(a), _) => a,
        (None, Some(b)) => b,
        (None, None) => {
            return Err(CatalogError::Checksum {
                url: download_url.to_string(),
                reason: format!("no sha256: neither {sha256_url} nor {meta4_url} gives one"),
            })
        }
    };
    let size = match meta4.size {
        Some(size) => size,
        None => head_size(client, download_url)?,
    };
    Ok(Pin { size, sha256 })
}

/// The body of `url`, or `None` on 404/410; other failures are errors.
fn get_capped(client: &Client, url: &str, cap: u64) -> Result<Option<Vec<u8>>, CatalogError> {
    let response = client.get(url, &[])?;
    match response.status {
        200..=299 => {}
        404 | 410 => return Ok(None),
        status => {
            return Err(CatalogError::Http {
                url: url.to_string(),
                reason: format!("HTTP status {status}, expected 200 or 404"),
            })
        }
    }
    let mut body = Vec::new();
    response
        .body
        .take(cap + 1)
        .read_to_end(&mut body)
        .map_err(|e| CatalogError::Http {
            url: url.to_string(),
            reason: e.to_string(),
        })?;
    if body.len() as u64 > cap {
        return Err(CatalogError::Checksum {
            url: url.to_string(),
            reason: format!("larger than the limit of {cap} bytes"),
        });
    }
    Ok(Some(body))
}

fn head_size(client: &Client, url: &str) -> Result<u64, CatalogError> {
    let response = client.head(url)?;
    if !(200..300).contains(&response.status) {
        return Err(CatalogError::Http {
            url: url.to_string(),
            reason: format!("HTTP status {} to HEAD, expected 200", response.status),
        });
    }
    response
        .content_length
        .ok_or_else(|| CatalogError::Checksum {
            url: url.to_string(),
            reason: "no size: no .meta4 and no Content-Length".into(),
        })
}

fn is_sha256(token: &str) -> bool {
    token.len() == 64 && token.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The hash of a `.sha256` file: its first whitespace-separated token, 64 hex digits
/// (`"<hex>  <name>\n"` or bare hex).
pub fn parse_sha256_file(body: &[u8]) -> Result<String, String> {
    let text = String::from_utf8_lossy(body);
    match text.split_whitespace().next() {
        Some(token) if is_sha256(token) => Ok(token.to_ascii_lowercase()),
        // Say only the shape: the body is untrusted.
        Some(token) => Err(format!(
            "the first token has {} characters, expected 64 hex digits",
            token.chars().count()
        )),
        None => Err("empty, expected 64 hex digits".into()),
    }
}

/// Reads `<size>` and `<hash type="sha-256">` of the first `<file>` of a Metalink 4
/// document (piece hashes ignored).
pub fn parse_meta4<R: BufRead>(input: R) -> Result<Meta4, String> {
    let mut reader = quick_xml::Reader::from_reader(input);
    let mut buf = Vec::new();
    let mut path: Vec<Vec<u8>> = Vec::new();
    let mut hash_type: Option<String> = None;
    let mut text = String::new();
    let mut files = 0;
    let mut meta4 = Meta4::default();
    loop {
        buf.clear();
        match reader
            .read_event_into(&mut buf)
            .map_err(|e| e.to_string())?
        {
            Event::Start(start) => {
                if path.len() >= 16 {
                    return Err("elements nested deeper than 16".into());
                }
                let local = start.local_name().as_ref().to_vec();
                if path.is_empty() && local != b"metalink" {
                    return Err("the root element is not <metalink>".into());
                }
                if local == b"file" {
                    files += 1;
                }
                if local == b"hash" {
                    hash_type = None;
                    for attribute in start.attributes() {
                        let attribute = attribute.map_err(|e| e.to_string())?;
                        if attribute.key.local_name().as_ref() == b"type" {
                            let value = attribute.unescape_value().map_err(|e| e.to_string())?;
                            hash_type = Some(value.to_ascii_lowercase());
                        }
                    }
                }
                path.push(local);
                text.clear();
            }
            Event::Text(t) => {
                let t = t.unescape().map_err(|e| e.to_string())?;
                if text.len() + t.len() > 4096 {
                    return Err("an element's text is longer than 4096 bytes".into());
                }
                text.push_str(&t);
            }
            Event::End(_) => {
                let local = path.pop().unwrap_or_default();
                let in_first_file = files == 1 && path.len() == 2 && path[1].as_slice() == b"file";
                let value = text.trim();
                if in_first_file && local == b"size" {
                    let size = value
                        .parse::<u64>()
                        .ok()
                        .filter(|_| value.bytes().all(|b| b.is_ascii_digit()))
                        .ok_or_else(|| {
                            format!("<size> has {} characters, expected an integer", value.len())
                        })?;
                    meta4.size = Some(size);
                }
                if in_first_file && local == b"hash" && hash_type.as_deref() == Some("sha-256") {
                    if !is_sha256(value) {
                        return Err(format!(
                            "<hash type=\"sha-256\"> has {} characters, expected 64 hex digits",
                            value.chars().count()
                        ));
                    }
                    meta4.sha256 = Some(value.to_ascii_lowercase());
                }
                text.clear();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if path.is_empty() && files == 0 && meta4 == Meta4::default() {
        // Also covers an empty body: nothing was pinned, say so.
        return Err("no <file> element".into());
    }
    Ok(meta4)
}
