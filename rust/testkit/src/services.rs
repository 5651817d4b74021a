//! Throwaway services for the Imager's tests, each owned by one test: a PostgreSQL
//! cluster ([`Postgres`]), S3-compatible object storage ([`S3`], moto), and an SMTP
//! sink ([`SmtpSink`], aiosmtpd). Each listens on 127.0.0.1 on a free port, panics
//! with a message naming what to install when its program is missing, and is killed
//! when dropped. `.ci/install-deps` installs all three.

use crate::free_port;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Polls `ready` until it holds or `child` exits (readiness, not timing: the limit only
/// keeps a hung service from hanging the test forever).
fn wait_ready(child: &mut Child, mut ready: impl FnMut() -> bool) -> bool {
    for _ in 0..1200 {
        if ready() {
            return true;
        }
        if let Ok(Some(_)) = child.try_wait() {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

fn stop_child(child: &mut Option<Child>) {
    if let Some(mut c) = child.take() {
        let _ = c.kill();
        let _ = c.wait();
    }
}

fn read_log(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| format!("(no log at {}: {e})", path.display()))
}

/// One HTTP/1.1 request over a plain socket (the test services need nothing more);
/// returns the status and the body.
fn http(port: u16, method: &str, path: &str) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Ok((status, body))
}

/// The uid and gid of `user` from `/etc/passwd`.
fn user_ids(user: &str) -> Option<(u32, u32)> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        (fields.first() == Some(&user) && fields.len() > 3)
            .then(|| Some((fields[2].parse().ok()?, fields[3].parse().ok()?)))
            .flatten()
    })
}

/// Whether this process runs as root (PostgreSQL refuses to).
fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false)
}

/// Debian's PostgreSQL 15 programs.
pub const POSTGRES_BIN: &str = "/usr/lib/postgresql/15/bin";

/// A PostgreSQL cluster of its own for one test: `initdb` into a temporary folder, the
/// server on 127.0.0.1 and a free port, one database `nixspot` owned by superuser
/// `nixspot` (trust authentication: nothing but the test can reach it). Tests run as
/// root, which PostgreSQL refuses, so the server then runs as the `postgres` user the
/// Debian package creates. Killed and removed when dropped.
pub struct Postgres {
    dir: tempfile::TempDir,
    child: Option<Child>,
    port: u16,
    ids: Option<(u32, u32)>,
}

impl Postgres {
    /// Creates and starts the cluster and its database.
    pub fn start() -> Postgres {
        let bin = Path::new(POSTGRES_BIN);
        assert!(
            bin.join("initdb").is_file() && bin.join("postgres").is_file(),
            "PostgreSQL 15 is required: {} has no initdb/postgres (apt-get install postgresql; .ci/install-deps)",
            bin.display()
        );
        let ids = if is_root() {
            Some(user_ids("postgres").expect(
                "tests run as root and PostgreSQL refuses root: the `postgres` user is required \
                 (apt-get install postgresql creates it)",
            ))
        } else {
            None
        };
        let dir = tempfile::Builder::new()
            .prefix("nixspot-postgres-")
            .tempdir()
            .expect("a temporary folder");
        let data = dir.path().join("data");
        std::fs::create_dir(&data).expect("creating the cluster folder");
        if let Some((uid, gid)) = ids {
            use std::os::unix::fs::PermissionsExt;
            // The postgres user must reach the folder and own its data and socket folders.
            std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))
                .expect("chmod");
            std::os::unix::fs::chown(&data, Some(uid), Some(gid)).expect("chown the data folder");
        }
        let log = dir.path().join("initdb.log");
        let mut initdb = Command::new(bin.join("initdb"));
        initdb.arg("-D").arg(&data).args([
            "-U",
            "nixspot",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-locale",
            "--no-sync",
        ]);
        let status = as_user(&mut initdb, ids)
            .stdout(log_file(&log))
            .stderr(log_file(&log))
            .status()
            .unwrap_or_else(|e| panic!("cannot run {}/initdb: {e}", bin.display()));
        assert!(status.success(), "initdb failed:\n{}", read_log(&log));
        let mut postgres = Postgres {
            dir,
            child: None,
            port: 0,
            ids,
        };
        for _ in 0..10 {
            postgres.port = free_port();
            if postgres.launch() {
                postgres.create_database();
                return postgres;
            }
        }
        panic!(
            "PostgreSQL did not start:\n{}",
            read_log(&postgres.dir.path().join("postgres.log"))
        );
    }

    /// Starts the server on `self.port`; false if it exited (port taken) or never
    /// accepted connections.
    fn launch(&mut self) -> bool {
        let bin = Path::new(POSTGRES_BIN);
        let log = self.dir.path().join("postgres.log");
        let mut cmd = Command::new(bin.join("postgres"));
        cmd.arg("-D")
            .arg(self.dir.path().join("data"))
            .args(["-p", &self.port.to_string()])
            .args(["-c", "listen_addresses=127.0.0.1"])
            // The socket in the cluster's own folder, not /var/run/postgresql.
            .arg("-c")
            .arg(format!(
                "unix_socket_directories={}",
                self.dir.path().join("data").display()
            ))
            .args(["-c", "fsync=off", "-c", "max_connections=200"]);
        let mut child = as_user(&mut cmd, self.ids)
            .stdin(Stdio::null())
            .stdout(log_file(&log))
            .stderr(log_file(&log))
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}/postgres: {e}", bin.display()));
        let port = self.port;
        let ready = wait_ready(&mut child, || {
            Command::new(bin.join("pg_isready"))
                .args(["-q", "-h", "127.0.0.1", "-p", &port.to_string()])
                .status()
                .is_ok_and(|s| s.success())
        });
        if ready {
            self.child = Some(child);
        } else {
            let _ = child.kill();
            let _ = child.wait();
        }
        ready
    }

    /// A PostgreSQL client program connecting as `nixspot` to this server.
    fn client(&self, program: &str) -> Command {
        let mut command = Command::new(Path::new(POSTGRES_BIN).join(program));
        command.args([
            "-h",
            "127.0.0.1",
            "-p",
            &self.port.to_string(),
            "-U",
            "nixspot",
        ]);
        command
    }

    fn create_database(&self) {
        let out = self
            .client("createdb")
            .arg("nixspot")
            .output()
            .expect("running createdb");
        assert!(
            out.status.success(),
            "createdb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// `postgres://nixspot@127.0.0.1:PORT/nixspot`.
    pub fn url(&self) -> String {
        format!("postgres://nixspot@127.0.0.1:{}/nixspot", self.port)
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Runs SQL with `psql` and returns its unaligned output (for assertions on what
    /// the server stored).
    pub fn psql(&self, sql: &str) -> String {
        let out = self
            .client("psql")
            .args(["-d", "nixspot", "-v", "ON_ERROR_STOP=1", "-At", "-c", sql])
            .output()
            .expect("running psql");
        assert!(
            out.status.success(),
            "psql {sql:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Stops the server abruptly (the database goes away: connections break, new ones
    /// are refused). The data stays for [`Postgres::start_again`].
    pub fn stop(&mut self) {
        stop_child(&mut self.child);
    }

    /// Starts the stopped server again on the same port with the same data.
    pub fn start_again(&mut self) {
        stop_child(&mut self.child);
        assert!(
            self.launch(),
            "PostgreSQL did not start again on port {}:\n{}",
            self.port,
            read_log(&self.dir.path().join("postgres.log"))
        );
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        stop_child(&mut self.child);
    }
}

fn as_user(cmd: &mut Command, ids: Option<(u32, u32)>) -> &mut Command {
    use std::os::unix::process::CommandExt;
    if let Some((uid, gid)) = ids {
        // std drops root's supplementary groups itself when root sets a uid.
        cmd.uid(uid).gid(gid).env("HOME", "/tmp");
    }
    cmd
}

/// An append-mode log file for a child's output (stdio of the test itself stays clean).
fn log_file(path: &Path) -> Stdio {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map(Stdio::from)
        .unwrap_or_else(|e| panic!("cannot open {}: {e}", path.display()))
}

/// Where `.ci/install-deps` installs moto's server (a pinned version in a venv).
pub const MOTO_SERVER: &str = "/opt/nixspot-ci/venv/bin/moto_server";

/// S3-compatible object storage for one test: moto's server on 127.0.0.1 and a free
/// port, with one bucket. Moto accepts any credentials; [`S3::env`] gives the ones the
/// Imager reads. Killed when dropped.
pub struct S3 {
    child: Child,
    port: u16,
    bucket: String,
    _dir: tempfile::TempDir,
}

impl S3 {
    /// Starts moto and creates the bucket `nixspot-test`.
    pub fn start() -> S3 {
        assert!(
            Path::new(MOTO_SERVER).is_file(),
            "moto is required: {MOTO_SERVER} is missing (.ci/install-deps installs moto[server] there)"
        );
        let dir = tempfile::tempdir().expect("a temporary folder");
        let log = dir.path().join("moto.log");
        for _ in 0..10 {
            let port = free_port();
            let mut child = Command::new(MOTO_SERVER)
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .stdin(Stdio::null())
                .stdout(log_file(&log))
                .stderr(log_file(&log))
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {MOTO_SERVER}: {e}"));
            if wait_ready(&mut child, || http(port, "GET", "/moto-api/").is_ok()) {
                let bucket = "nixspot-test".to_string();
                let (status, body) =
                    http(port, "PUT", &format!("/{bucket}")).expect("creating the bucket");
                assert_eq!(status, 200, "creating bucket {bucket} in moto: {body}");
                return S3 {
                    child,
                    port,
                    bucket,
                    _dir: dir,
                };
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("moto did not start:\n{}", read_log(&log));
    }

    /// `s3://BUCKET?endpoint=http://127.0.0.1:PORT&region=us-east-1`.
    pub fn url(&self) -> String {
        format!(
            "s3://{}?endpoint={}&region=us-east-1",
            self.bucket,
            self.endpoint()
        )
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The bucket's name.
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// The credentials to give the program under test (`AWS_ACCESS_KEY_ID`,
    /// `AWS_SECRET_ACCESS_KEY`), as `Command::envs` takes them.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ACCESS_KEY_ID", "nixspot-test".into()),
            ("AWS_SECRET_ACCESS_KEY", "nixspot-test-secret".into()),
        ]
    }

    /// The keys of the objects in the bucket, sorted.
    pub fn keys(&self) -> Vec<String> {
        let (status, body) = http(self.port, "GET", &format!("/{}?list-type=2", self.bucket))
            .expect("listing the bucket");
        assert_eq!(status, 200, "listing bucket {}: {body}", self.bucket);
        let mut keys: Vec<String> = body
            .split("<Key>")
            .skip(1)
            .filter_map(|rest| rest.split_once("</Key>").map(|(k, _)| xml_unescape(k)))
            .collect();
        keys.sort();
        keys
    }

    /// The bytes of object `key`.
    pub fn get(&self, key: &str) -> Vec<u8> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).expect("connecting to moto");
        write!(
            stream,
            // moto refuses anonymous reads but checks no signature: any AWS-shaped
            // Authorization header will do.
            "GET /{}/{} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nAuthorization: AWS4-HMAC-SHA256 \
             Credential=nixspot-test/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, \
             Signature=00\r\nConnection: close\r\n\r\n",
            self.bucket,
            percent_encode_path(key),
            self.port
        )
        .expect("asking moto");
        let mut response = Vec::new();
        stream
            .read_to_end(&mut response)
            .expect("reading moto's answer");
        let split = response
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("an HTTP answer");
        let head = String::from_utf8_lossy(&response[..split]);
        assert!(head.starts_with("HTTP/1.1 200"), "GET {key}: {head}");
        response[split + 4..].to_vec()
    }
}

/// `key` with everything but unreserved characters and `/` percent-encoded.
fn percent_encode_path(key: &str) -> String {
    key.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn xml_unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

impl Drop for S3 {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The SMTP server of [`SmtpSink`]: aiosmtpd (Debian `python3-aiosmtpd`) writing each
/// message, parsed by Python's `email` package, as one JSON file.
const SMTP_SINK: &str = r#"
import email, email.policy, json, os, sys, threading
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

out, port = sys.argv[1], int(sys.argv[2])

class Sink:
    def __init__(self):
        self.count = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8")
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        part = msg.get_body(preferencelist=("plain", "html"))
        body = part.get_content() if part is not None else ""
        with self.lock:
            self.count += 1
            n = self.count
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "from": str(msg.get("From", "")),
            "to": str(msg.get("To", "")),
            "cc": str(msg.get("Cc", "")),
            "subject": str(msg.get("Subject", "")),
            "body": body,
            "raw": raw.decode("utf-8", "replace"),
        }
        tmp = os.path.join(out, ".%06d.tmp" % n)
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(record, f)
        os.rename(tmp, os.path.join(out, "%06d.json" % n))
        return "250 OK"

controller = Controller(
    Sink(), hostname="127.0.0.1", port=port,
    authenticator=lambda *args: AuthResult(success=True), auth_require_tls=False,
)
controller.start()
print("READY", flush=True)
threading.Event().wait()
"#;

/// One e-mail the sink received.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Mail {
    /// The envelope sender (`MAIL FROM`).
    pub mail_from: String,
    /// The envelope recipients (`RCPT TO`).
    pub rcpt_tos: Vec<String>,
    /// The `From` header.
    pub from: String,
    /// The `To` header.
    pub to: String,
    /// The `Cc` header (empty if none).
    pub cc: String,
    /// The `Subject` header, decoded.
    pub subject: String,
    /// The text body (the `text/plain` part, else the HTML one), decoded.
    pub body: String,
    /// The message as received.
    pub raw: String,
}

/// An SMTP server for one test that accepts every message (and any login) and keeps
/// it: aiosmtpd on 127.0.0.1 and a free port. Killed when dropped.
pub struct SmtpSink {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl SmtpSink {
    /// Starts the sink.
    pub fn start() -> SmtpSink {
        let python = "/usr/bin/python3";
        let dir = tempfile::tempdir().expect("a temporary folder");
        let inbox = dir.path().join("inbox");
        std::fs::create_dir(&inbox).expect("creating the inbox folder");
        let log = dir.path().join("smtp.log");
        for _ in 0..10 {
            let port = free_port();
            let mut child = Command::new(python)
                .arg("-c")
                .arg(SMTP_SINK)
                .arg(&inbox)
                .arg(port.to_string())
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(log_file(&log))
                .spawn()
                .unwrap_or_else(|e| {
                    panic!("cannot run {python} (apt-get install python3 python3-aiosmtpd): {e}")
                });
            let mut line = String::new();
            if let Some(stdout) = child.stdout.take() {
                let _ = BufReader::new(stdout).read_line(&mut line);
            }
            if line.trim() == "READY" {
                return SmtpSink { child, port, dir };
            }
            let _ = child.kill();
            let _ = child.wait();
            let log_text = read_log(&log);
            assert!(
                !log_text.contains("No module named 'aiosmtpd'"),
                "aiosmtpd is required (apt-get install python3-aiosmtpd; .ci/install-deps):\n{log_text}"
            );
        }
        panic!("the SMTP sink did not start:\n{}", read_log(&log));
    }

    /// `smtp://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The messages received so far, oldest first.
    pub fn messages(&self) -> Vec<Mail> {
        let inbox = self.dir.path().join("inbox");
        let mut files: Vec<PathBuf> = std::fs::read_dir(&inbox)
            .expect("reading the inbox")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        files.sort();
        files
            .iter()
            .map(|f| {
                let text = std::fs::read_to_string(f).expect("reading a message");
                serde_json::from_str(&text)
                    .unwrap_or_else(|e| panic!("{}: not a message record: {e}", f.display()))
            })
            .collect()
    }

    /// Waits until at least `count` messages arrived and returns them (panics if they
    /// never come; the limit only keeps a broken test from hanging).
    pub fn wait_for(&self, count: usize) -> Vec<Mail> {
        for _ in 0..1200 {
            let messages = self.messages();
            if messages.len() >= count {
                return messages;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "expected {count} e-mails, got {}: {:#?}",
            self.messages().len(),
            self.messages()
        );
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
