//! The test services work as the Imager's tests use them: the real PostgreSQL, moto
//! and aiosmtpd, checked with their own clients.

use nixspot_testkit::{Postgres, SmtpSink, S3};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::process::Command;

#[test]
fn postgres_keeps_its_data_across_a_stop_and_refuses_connections_while_stopped() {
    let mut pg = Postgres::start();
    assert!(pg.url().starts_with("postgres://nixspot@127.0.0.1:"));
    pg.psql("CREATE TABLE t (x integer); INSERT INTO t VALUES (42);");
    pg.stop();
    let refused = Command::new(format!("{}/pg_isready", nixspot_testkit::POSTGRES_BIN))
        .args(["-h", "127.0.0.1", "-p", &pg.port().to_string()])
        .status()
        .unwrap();
    assert!(!refused.success(), "the stopped server still answers");
    pg.start_again();
    assert_eq!(pg.psql("SELECT x FROM t").trim(), "42");
}

#[test]
fn two_clusters_run_side_by_side() {
    let a = Postgres::start();
    let b = Postgres::start();
    assert_ne!(a.port(), b.port());
    a.psql("CREATE TABLE only_in_a (x integer)");
    assert_eq!(
        b.psql("SELECT count(*) FROM pg_tables WHERE tablename = 'only_in_a'")
            .trim(),
        "0"
    );
}

#[test]
fn s3_has_its_bucket_and_lists_what_is_put_there() {
    let s3 = S3::start();
    assert!(s3
        .url()
        .starts_with("s3://nixspot-test?endpoint=http://127.0.0.1:"));
    assert!(s3.url().ends_with("&region=us-east-1"));
    assert_eq!(s3.keys(), Vec::<String>::new());
    // moto accepts unsigned requests: a plain PUT stands for the program under test
    let port = s3
        .endpoint()
        .rsplit(':')
        .next()
        .unwrap()
        .parse::<u16>()
        .unwrap();
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        stream,
        "PUT /nixspot-test/images/a&b.img HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello"
    )
    .unwrap();
    let mut status = String::new();
    BufReader::new(stream).read_line(&mut status).unwrap();
    assert!(status.starts_with("HTTP/1.1 200"), "{status}");
    assert_eq!(s3.keys(), vec!["images/a&b.img".to_string()]);
    assert_eq!(s3.get("images/a&b.img"), b"hello");
}

#[test]
fn the_smtp_sink_keeps_each_message_decoded() {
    let sink = SmtpSink::start();
    let script = format!(
        r#"
import smtplib
from email.message import EmailMessage
m = EmailMessage()
m["From"] = "imager@example.org"
m["To"] = "teacher@example.org"
m["Subject"] = "“School” is ready"
m.set_content("Download: https://imager.example.org/x\n")
with smtplib.SMTP("127.0.0.1", {}) as s:
    s.login("user", "password")
    s.send_message(m)
"#,
        sink.port()
    );
    let out = Command::new("/usr/bin/python3")
        .arg("-c")
        .arg(script)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mail = sink.wait_for(1);
    assert_eq!(mail.len(), 1);
    assert_eq!(mail[0].rcpt_tos, ["teacher@example.org"]);
    assert_eq!(mail[0].subject, "“School” is ready");
    assert!(
        mail[0].body.contains("https://imager.example.org/x"),
        "{:?}",
        mail[0].body
    );
}
