//! A small HTTP/1.1 client for guest ports forwarded to 127.0.0.1: one `GET` per
//! connection (`Connection: close`), with `Content-Length` and chunked bodies.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// A parsed HTTP response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    /// Status code (e.g. 200).
    pub status: u16,
    /// Header fields in the order received (names as sent by the server).
    pub headers: Vec<(String, String)>,
    /// The body (chunked encoding removed).
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Largest response accepted, so a misbehaving server cannot exhaust memory.
const MAX_RESPONSE: usize = 256 << 20;

/// Sends `GET path` with `Host: host` to `addr` and reads the whole response; `timeout`
/// bounds the connection and the whole exchange. Errors are plain messages (the caller
/// adds the step and URL).
pub fn get(
    addr: SocketAddr,
    path: &str,
    host: &str,
    timeout: Duration,
) -> Result<HttpResponse, String> {
    let deadline = Instant::now() + timeout;
    let mut stream =
        TcpStream::connect_timeout(&addr, timeout).map_err(|e| format!("connect: {e}"))?;
    stream
        .set_write_timeout(Some(timeout))
        .map_err(|e| format!("socket: {e}"))?;
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: nixspot-vmtest\r\n\
         Accept: */*\r\nConnection: close\r\n\r\n"
    );
    stream
        .write_all(request.as_bytes())
        .map_err(|e| format!("send: {e}"))?;
    let mut raw = Vec::new();
    let mut buf = [0u8; 16384];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(format!(
                "no complete response within {:.1} s ({} bytes received)",
                timeout.as_secs_f64(),
                raw.len()
            ));
        }
        stream
            .set_read_timeout(Some(left))
            .map_err(|e| format!("socket: {e}"))?;
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                raw.extend_from_slice(&buf[..n]);
                if raw.len() > MAX_RESPONSE {
                    return Err(format!("response larger than {MAX_RESPONSE} bytes"));
                }
                // a complete response ends the exchange even if the server keeps the
                // connection open despite `Connection: close`
                if let Ok(Some(r)) = parse_response(&raw, false) {
                    return Ok(r);
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) if raw.is_empty() => return Err(format!("receive: {e}")),
            Err(e) => return Err(format!("receive after {} bytes: {e}", raw.len())),
        }
    }
    if raw.is_empty() {
        // what slirp does when nothing listens on the guest port yet
        return Err("connection closed without a response".to_string());
    }
    match parse_response(&raw, true)? {
        Some(r) => Ok(r),
        None => Err(format!("truncated response ({} bytes)", raw.len())),
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Parses `raw`; `Ok(None)` when more bytes are needed. With `at_eof`, a body without
/// length runs to the end of `raw`.
pub fn parse_response(raw: &[u8], at_eof: bool) -> Result<Option<HttpResponse>, String> {
    let Some(head_end) = find(raw, b"\r\n\r\n") else {
        return if at_eof && !raw.is_empty() {
            Err(format!(
                "no end of headers in {} bytes: {:?}",
                raw.len(),
                String::from_utf8_lossy(&raw[..raw.len().min(200)])
            ))
        } else {
            Ok(None)
        };
    };
    let head = String::from_utf8_lossy(&raw[..head_end]);
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or("");
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or("");
    if !version.starts_with("HTTP/1.") {
        return Err(format!("not an HTTP/1.x status line: {status_line:?}"));
    }
    let status: u16 = parts
        .next()
        .and_then(|s| s.parse().ok())
        .filter(|s| (100..1000).contains(s))
        .ok_or_else(|| format!("bad status in {status_line:?}"))?;
    let mut headers = Vec::new();
    for line in lines {
        let (n, v) = line
            .split_once(':')
            .ok_or_else(|| format!("bad header line {line:?}"))?;
        headers.push((n.trim().to_string(), v.trim().to_string()));
    }
    let response = HttpResponse {
        status,
        headers,
        body: Vec::new(),
    };
    let rest = &raw[head_end + 4..];
    let body = if (100..200).contains(&status) || status == 204 || status == 304 {
        Some(Vec::new())
    } else if response
        .header("transfer-encoding")
        .is_some_and(|t| t.to_ascii_lowercase().contains("chunked"))
    {
        dechunk(rest)?
    } else if let Some(len) = response.header("content-length") {
        let len: usize = len
            .parse()
            .map_err(|_| format!("bad Content-Length {len:?}"))?;
        rest.get(..len).map(<[u8]>::to_vec)
    } else if at_eof {
        Some(rest.to_vec())
    } else {
        None
    };
    Ok(body.map(|body| HttpResponse { body, ..response }))
}

/// Decodes a chunked body; `Ok(None)` when incomplete.
fn dechunk(mut data: &[u8]) -> Result<Option<Vec<u8>>, String> {
    let mut out = Vec::new();
    loop {
        let Some(eol) = find(data, b"\r\n") else {
            return Ok(None);
        };
        let size_text = String::from_utf8_lossy(&data[..eol]);
        let size_hex = size_text.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_hex, 16)
            .map_err(|_| format!("bad chunk size {size_text:?}"))?;
        data = &data[eol + 2..];
        if size == 0 {
            return Ok(Some(out));
        }
        let Some(chunk) = data.get(..size) else {
            return Ok(None);
        };
        out.extend_from_slice(chunk);
        data = match data.get(size..size + 2) {
            Some(b"\r\n") => &data[size + 2..],
            Some(other) => return Err(format!("chunk not followed by CRLF: {other:?}")),
            None => return Ok(None),
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;
    use std::thread;

    /// Serves one connection with `reply`, returning the request it received.
    fn serve_once(reply: &'static [u8]) -> (SocketAddr, thread::JoinHandle<String>) {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let h = thread::spawn(move || {
            let (mut s, _) = l.accept().unwrap();
            let mut req = Vec::new();
            let mut b = [0u8; 1024];
            while find(&req, b"\r\n\r\n").is_none() {
                let n = s.read(&mut b).unwrap();
                if n == 0 {
                    break;
                }
                req.extend_from_slice(&b[..n]);
            }
            s.write_all(reply).unwrap();
            String::from_utf8(req).unwrap()
        });
        (addr, h)
    }

    #[test]
    fn content_length_response_and_host_header() {
        let (addr, h) = serve_once(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello",
        );
        let r = get(
            addr,
            "/x?y=1",
            "browse.hotspot.local",
            Duration::from_secs(10),
        )
        .unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(r.header("content-type"), Some("text/plain"));
        assert_eq!(r.text(), "hello");
        let req = h.join().unwrap();
        assert!(req.starts_with("GET /x?y=1 HTTP/1.1\r\n"), "{req}");
        assert!(req.contains("\r\nHost: browse.hotspot.local\r\n"), "{req}");
    }

    #[test]
    fn chunked_response() {
        let (addr, _h) = serve_once(
            b"HTTP/1.1 302 Found\r\nLocation: /home\r\nTransfer-Encoding: chunked\r\n\r\n\
              3\r\nabc\r\n4;ext=1\r\ndefg\r\n0\r\n\r\n",
        );
        let r = get(addr, "/", "h", Duration::from_secs(10)).unwrap();
        assert_eq!(r.status, 302);
        assert_eq!(r.header("LOCATION"), Some("/home"));
        assert_eq!(r.body, b"abcdefg");
    }

    #[test]
    fn body_until_close_and_no_content() {
        let (addr, _h) = serve_once(b"HTTP/1.0 200 OK\r\nServer: x\r\n\r\nto the end");
        assert_eq!(
            get(addr, "/", "h", Duration::from_secs(10)).unwrap().body,
            b"to the end"
        );
        let (addr, _h) = serve_once(b"HTTP/1.1 204 No Content\r\n\r\n");
        let r = get(addr, "/generate_204", "h", Duration::from_secs(10)).unwrap();
        assert_eq!((r.status, r.body.len()), (204, 0));
    }

    #[test]
    fn closed_without_response_is_an_error() {
        let (addr, _h) = serve_once(b"");
        let e = get(addr, "/", "h", Duration::from_secs(10)).unwrap_err();
        assert!(e.contains("without a response"), "{e}");
        let (addr, _h) = serve_once(b"SSH-2.0-OpenSSH\r\n\r\n");
        let e = get(addr, "/", "h", Duration::from_secs(10)).unwrap_err();
        assert!(e.contains("status line"), "{e}");
    }

    #[test]
    fn parser_rejects_garbage() {
        assert!(parse_response(b"HTTP/1.1 abc\r\n\r\n", true).is_err());
        assert!(parse_response(b"HTTP/1.1 200 OK\r\nnocolon\r\n\r\n", true).is_err());
        assert!(parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", true).is_err());
        assert!(parse_response(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            true
        )
        .is_err());
        assert_eq!(
            parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc", false),
            Ok(None)
        );
    }
}
