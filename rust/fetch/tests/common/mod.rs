//! A raw HTTP/1.1 test server on 127.0.0.1 that can misbehave on purpose: slow, cut
//! mid-body, lie about Content-Length, ignore Range, fail then recover.

#![allow(dead_code)]

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A parsed request.
#[derive(Debug, Clone)]
pub struct Req {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Req {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// What to send back.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Honour `Range: bytes=N-` with 206.
    pub ranges: bool,
    /// Announce this Content-Length instead of the real one.
    pub content_length: Option<u64>,
    /// Close the connection after this many body bytes.
    pub cut_after: Option<usize>,
    /// Pause between 16 KiB chunks.
    pub chunk_delay: Option<Duration>,
    /// Pause before the headers.
    pub head_delay: Option<Duration>,
}

impl Reply {
    pub fn ok(body: impl Into<Vec<u8>>) -> Reply {
        Reply {
            status: 200,
            headers: vec![],
            body: body.into(),
            ranges: true,
            content_length: None,
            cut_after: None,
            chunk_delay: None,
            head_delay: None,
        }
    }
    pub fn status(status: u16) -> Reply {
        Reply {
            status,
            ..Reply::ok(format!("status {status}\n"))
        }
    }
    pub fn header(mut self, k: &str, v: &str) -> Reply {
        self.headers.push((k.into(), v.into()));
        self
    }
}

type Handler = Arc<dyn Fn(Req) -> Pin<Box<dyn Future<Output = Reply> + Send>> + Send + Sync>;

/// A running server; stops when dropped.
pub struct Server {
    pub addr: SocketAddr,
    pub log: Arc<Mutex<Vec<Req>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Server {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
    pub fn requests(&self) -> Vec<Req> {
        self.log.lock().unwrap().clone()
    }
    pub fn count(&self, path: &str) -> usize {
        self.requests().iter().filter(|r| r.path == path).count()
    }

    /// Starts a server with a synchronous handler.
    pub async fn start<F>(f: F) -> Server
    where
        F: Fn(&Req) -> Reply + Send + Sync + 'static,
    {
        let f = Arc::new(f);
        Server::start_async(move |r| {
            let f = f.clone();
            Box::pin(async move { f(&r) })
        })
        .await
    }

    /// Starts a server with an asynchronous handler.
    pub async fn start_async<F>(f: F) -> Server
    where
        F: Fn(Req) -> Pin<Box<dyn Future<Output = Reply> + Send>> + Send + Sync + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let handler: Handler = Arc::new(f);
        let l2 = log.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((sock, _)) = listener.accept().await else {
                    break;
                };
                let h = handler.clone();
                let log = l2.clone();
                tokio::spawn(async move {
                    let _ = serve(sock, h, log).await;
                });
            }
        });
        Server { addr, log, task }
    }
}

async fn read_request(sock: &mut TcpStream) -> std::io::Result<Option<Req>> {
    let mut buf = Vec::new();
    let mut tmp = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        let n = sock.read(&mut tmp).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&tmp[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let first = lines.next().unwrap_or_default();
    let mut parts = first.split(' ');
    let method = parts.next().unwrap_or_default().to_string();
    let path = parts.next().unwrap_or_default().to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let len: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < len {
        let n = sock.read(&mut tmp).await?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&tmp[..n]);
    }
    Ok(Some(Req {
        method,
        path,
        headers,
        body,
    }))
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        206 => "Partial Content",
        302 => "Found",
        401 => "Unauthorized",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Whatever",
    }
}

async fn serve(mut sock: TcpStream, h: Handler, log: Arc<Mutex<Vec<Req>>>) -> std::io::Result<()> {
    let Some(req) = read_request(&mut sock).await? else {
        return Ok(());
    };
    log.lock().unwrap().push(req.clone());
    let range_start: Option<usize> = req
        .header("range")
        .and_then(|r| r.strip_prefix("bytes="))
        .and_then(|r| r.strip_suffix('-'))
        .and_then(|n| n.parse().ok());
    let if_range = req.header("if-range").map(str::to_string);
    let reply = h(req).await;
    // If-Range: serve a range only while the validator still matches.
    let etag = reply
        .headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("etag"))
        .map(|(_, v)| v.clone());
    let range_start = match (&if_range, &etag) {
        (Some(a), Some(b)) if a != b => None,
        _ => range_start,
    };
    if let Some(d) = reply.head_delay {
        tokio::time::sleep(d).await;
    }
    let mut status = reply.status;
    let mut body: &[u8] = &reply.body;
    let mut extra = String::new();
    if let (Some(start), true, 200) = (range_start, reply.ranges, status) {
        if start <= body.len() {
            extra = format!(
                "Content-Range: bytes {start}-{}/{}\r\n",
                body.len().saturating_sub(1),
                body.len()
            );
            body = &body[start..];
            status = 206;
        }
    }
    let len = reply.content_length.unwrap_or(body.len() as u64);
    let mut head = format!(
        "HTTP/1.1 {status} {}\r\nContent-Length: {len}\r\nConnection: close\r\n{extra}",
        reason(status)
    );
    if reply.ranges {
        head.push_str("Accept-Ranges: bytes\r\n");
    }
    for (k, v) in &reply.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    sock.write_all(head.as_bytes()).await?;
    let limit = reply.cut_after.unwrap_or(usize::MAX).min(body.len());
    for chunk in body[..limit].chunks(16 * 1024) {
        sock.write_all(chunk).await?;
        if let Some(d) = reply.chunk_delay {
            tokio::time::sleep(d).await;
        }
    }
    sock.flush().await?;
    sock.shutdown().await?;
    Ok(())
}

/// Deterministic pseudo-random bytes.
pub fn bytes(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

pub fn sha256(data: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(data))
}

/// All regular files under `dir`, recursively.
pub fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push(p);
        }
    }
    out.sort();
    out
}
