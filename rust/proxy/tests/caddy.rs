//! The generated Caddyfile checked by Debian's real `caddy`: `validate`, `adapt` (routes
//! in the JSON config) and `run` (real HTTP requests on loopback).

use nixspot_proxy::{App, Files, Protection, ProxyConfig};
use nixspot_testkit::free_port;
use serde_json::Value;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

fn config(dash: &str, zims: &str, files: &str) -> ProxyConfig {
    let mut c = ProxyConfig::new("generic.offspot", dash);
    c.welcome_fqdn = Some("goto.generic.offspot".into());
    c.kiwix = Some("127.0.0.1:9".into());
    c.zim_download_root = Some(zims.into());
    c.apps.push(App {
        name: "wikifundi".into(),
        upstream: "127.0.0.1:9000".into(),
    });
    c.files.push(Files {
        name: "nomad".into(),
        root: files.into(),
    });
    c.protected.push(Protection {
        service: "nomad".into(),
        username: "admin".into(),
        password: "s3cret".into(),
    });
    c
}

/// Runs caddy with its state directories inside `home`, so nothing leaks to the host.
fn caddy(home: &Path) -> Command {
    let mut cmd = Command::new("caddy");
    cmd.env("HOME", home)
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_CONFIG_HOME", home.join("config"));
    cmd
}

fn write(dir: &Path, text: &str) -> std::path::PathBuf {
    let path = dir.join("Caddyfile");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn caddy_validates_http_and_https_variants() {
    let tmp = tempfile::tempdir().unwrap();
    for https in [false, true] {
        let mut c = config("/var/www/dashboard", "/data/contents/zims", "/data/files");
        c.https = https;
        c.admin = https.then(|| "127.0.0.1:2020".to_string());
        let path = write(tmp.path(), &c.caddyfile().unwrap());
        let out = caddy(tmp.path())
            .args(["validate", "--adapter", "caddyfile", "--config"])
            .arg(&path)
            .output()
            .expect("caddy must be installed (.ci/install-deps)");
        assert!(
            out.status.success(),
            "https={https}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// Every route of the adapted config whose matcher names `host`.
fn routes_for<'a>(json: &'a Value, host: &str) -> Vec<&'a Value> {
    let mut found = Vec::new();
    let servers = json["apps"]["http"]["servers"].as_object().unwrap();
    for server in servers.values() {
        for route in server["routes"].as_array().unwrap() {
            let hosts: Vec<&str> = route["match"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|m| m["host"].as_array().into_iter().flatten())
                .filter_map(Value::as_str)
                .collect();
            if hosts.contains(&host) {
                found.push(route);
            }
        }
    }
    found
}

/// Every handler object below `v`.
fn handlers(v: &Value, out: &mut Vec<Value>) {
    match v {
        Value::Object(map) => {
            if map.contains_key("handler") {
                out.push(v.clone());
            }
            map.values().for_each(|c| handlers(c, out));
        }
        Value::Array(items) => items.iter().for_each(|c| handlers(c, out)),
        _ => {}
    }
}

fn handlers_for(json: &Value, host: &str) -> Vec<Value> {
    let routes = routes_for(json, host);
    assert_eq!(routes.len(), 1, "one route for {host}");
    let mut out = Vec::new();
    handlers(routes[0], &mut out);
    out
}

#[test]
fn caddy_adapt_has_the_expected_routes() {
    let tmp = tempfile::tempdir().unwrap();
    let c = config(
        "/var/www/dashboard",
        "/data/contents/zims",
        "/data/files/nomad",
    );
    let path = write(tmp.path(), &c.caddyfile().unwrap());
    let out = caddy(tmp.path())
        .args(["adapt", "--adapter", "caddyfile", "--config"])
        .arg(&path)
        .output()
        .expect("caddy must be installed");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["admin"]["disabled"], true);

    let dash = handlers_for(&json, "generic.offspot");
    assert!(dash
        .iter()
        .any(|h| h["handler"] == "vars" && h["root"] == "/var/www/dashboard"));
    assert!(dash.iter().any(|h| h["handler"] == "file_server"));
    let redirects: Vec<String> = dash
        .iter()
        .filter(|h| h["handler"] == "static_response")
        .map(|h| h["headers"]["Location"][0].as_str().unwrap().to_string())
        .collect();
    for sub in ["browse", "zim-download", "nomad", "wikifundi"] {
        assert!(
            redirects.contains(&format!("//{sub}.generic.offspot/")),
            "{redirects:?}"
        );
    }

    let welcome = handlers_for(&json, "goto.generic.offspot");
    let redirect = welcome
        .iter()
        .find(|h| h["handler"] == "static_response")
        .expect("a redirect on the welcome domain");
    assert_eq!(redirect["headers"]["Location"][0], "//generic.offspot/");
    assert_eq!(redirect["status_code"], 302);

    let browse = handlers_for(&json, "browse.generic.offspot");
    assert!(browse
        .iter()
        .any(|h| h["handler"] == "rewrite" && h["uri"] == "/blocked/?{http.request.uri.query}"));
    assert!(browse
        .iter()
        .any(|h| h["handler"] == "reverse_proxy" && h["upstreams"][0]["dial"] == "127.0.0.1:9"));

    let zims = handlers_for(&json, "zim-download.generic.offspot");
    assert!(zims.iter().any(|h| h["root"] == "/data/contents/zims"));

    let nomad = handlers_for(&json, "nomad.generic.offspot");
    let auth = nomad
        .iter()
        .find(|h| h["handler"] == "authentication")
        .expect("basic auth on nomad");
    let account = &auth["providers"]["http_basic"]["accounts"][0];
    assert_eq!(account["username"], "admin");
    assert_eq!(
        account["password"],
        c.basic_auth_hash(&c.protected[0]).unwrap().as_str()
    );
    assert!(nomad
        .iter()
        .any(|h| h["handler"] == "file_server" && h["browse"].is_object()));

    let app = handlers_for(&json, "wikifundi.generic.offspot");
    assert!(app
        .iter()
        .any(|h| h["handler"] == "reverse_proxy" && h["upstreams"][0]["dial"] == "127.0.0.1:9000"));
    // No other site is protected.
    for host in [
        "generic.offspot",
        "browse.generic.offspot",
        "wikifundi.generic.offspot",
    ] {
        assert!(!handlers_for(&json, host)
            .iter()
            .any(|h| h["handler"] == "authentication"));
    }
}

/// Kills caddy when the test ends, pass or fail.
struct Killed(Child);
impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A minimal HTTP/1.1 GET: (status, raw head, body).
fn get(port: u16, host: &str, path: &str, auth: Option<&str>) -> (u16, String, String) {
    let auth = auth.map(|a| format!("Basic {a}"));
    let headers: Vec<(&str, &str)> = auth.iter().map(|a| ("Authorization", a.as_str())).collect();
    get_with(port, host, path, &headers)
}

/// A minimal HTTP/1.1 GET with extra request headers: (status, raw head, body).
fn get_with(port: u16, host: &str, path: &str, headers: &[(&str, &str)]) -> (u16, String, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut req = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let raw = String::from_utf8_lossy(&raw).to_string();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, head.to_string(), body.to_string())
}

#[test]
fn caddy_run_serves_the_sites() {
    let tmp = tempfile::tempdir().unwrap();
    let dash = tmp.path().join("dash");
    std::fs::create_dir_all(dash.join("blocked")).unwrap();
    std::fs::write(dash.join("index.html"), "dashboard home").unwrap();
    std::fs::write(dash.join("blocked/index.html"), "blocked page").unwrap();
    let zims = tmp.path().join("zims");
    std::fs::create_dir_all(&zims).unwrap();
    std::fs::write(zims.join("a.zim"), "ZIM bytes").unwrap();
    let files = tmp.path().join("nomad");
    std::fs::create_dir_all(&files).unwrap();
    std::fs::write(files.join("doc.txt"), "nomad doc").unwrap();

    let mut c = config(
        dash.to_str().unwrap(),
        zims.to_str().unwrap(),
        files.to_str().unwrap(),
    );
    let caddy = run_caddy(tmp.path(), &mut c);
    let port = caddy.port;

    let (status, _, body) = get(port, "generic.offspot", "/", None);
    assert_eq!((status, body.as_str()), (200, "dashboard home"));
    let (status, head, _) = get(port, "generic.offspot", "/browse/x", None);
    assert_eq!(status, 302);
    assert!(
        head.contains("Location: //browse.generic.offspot/"),
        "{head}"
    );
    let (status, head, _) = get(port, "goto.generic.offspot", "/anything", None);
    assert_eq!(status, 302);
    assert!(head.contains("Location: //generic.offspot/"), "{head}");
    let (status, _, body) = get(
        port,
        "browse.generic.offspot",
        "/catch/external?source=x",
        None,
    );
    assert_eq!((status, body.as_str()), (200, "blocked page"));
    let (status, _, body) = get(port, "zim-download.generic.offspot", "/a.zim", None);
    assert_eq!((status, body.as_str()), (200, "ZIM bytes"));
    let (status, _, _) = get(port, "nomad.generic.offspot", "/doc.txt", None);
    assert_eq!(status, 401);
    // "admin:wrong" and "admin:s3cret" in base64.
    let (status, _, _) = get(
        port,
        "nomad.generic.offspot",
        "/doc.txt",
        Some("YWRtaW46d3Jvbmc="),
    );
    assert_eq!(status, 401);
    let (status, _, body) = get(
        port,
        "nomad.generic.offspot",
        "/doc.txt",
        Some("YWRtaW46czNjcmV0"),
    );
    assert_eq!((status, body.as_str()), (200, "nomad doc"));
    let (status, _, _) = get(port, "elsewhere.example", "/", None);
    assert_eq!(status, 404);
}

/// A caddy server of a test, and the port it serves.
struct Running {
    _caddy: Killed,
    /// Released after the server is killed (fields drop in order).
    _one_at_a_time: MutexGuard<'static, ()>,
    port: u16,
}

/// Held while a test's caddy runs. Caddy listens with SO_REUSEPORT: two tests' servers
/// given the same port by `free_port` (free again once it closed its socket) both
/// listened on it and answered each other's requests (a CI run failed both tests).
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Starts caddy on `c` (its HTTP port set to a free one) and waits until it listens.
fn run_caddy(home: &Path, c: &mut ProxyConfig) -> Running {
    // Another test's panic does not matter here.
    let one_at_a_time = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let port = free_port();
    c.http_port = port;
    let path = write(home, &c.caddyfile().unwrap());
    let child = Killed(
        caddy(home)
            .args(["run", "--adapter", "caddyfile", "--config"])
            .arg(&path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("caddy must be installed"),
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "caddy did not listen on {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
    Running {
        _caddy: child,
        _one_at_a_time: one_at_a_time,
        port,
    }
}

#[test]
fn caddy_sends_phones_to_the_dashboard_in_their_language() {
    let tmp = tempfile::tempdir().unwrap();
    let dash = tmp.path().join("dash");
    for (dir, text) in [
        ("", "root"),
        ("en", "English"),
        ("fr", "French"),
        ("es", "Spanish"),
    ] {
        std::fs::create_dir_all(dash.join(dir)).unwrap();
        std::fs::write(dash.join(dir).join("index.html"), text).unwrap();
    }
    let mut c = ProxyConfig::new("generic.offspot", dash.to_str().unwrap());
    c.dashboard_languages = vec!["en".into(), "fr".into(), "es".into()];
    let caddy = run_caddy(tmp.path(), &mut c);
    let port = caddy.port;

    let root = |accept: Option<&str>| {
        let headers: Vec<(&str, &str)> = accept.iter().map(|a| ("Accept-Language", *a)).collect();
        get_with(port, "generic.offspot", "/", &headers)
    };
    // (Accept-Language, the copy `/` leads to; None: the root, in the hotspot's language)
    let cases: &[(Option<&str>, Option<&str>)] = &[
        (Some("fr"), Some("/fr/")),
        (Some("fr-FR,fr;q=0.9,en-US;q=0.8,en;q=0.7"), Some("/fr/")),
        (Some("FR-ca"), Some("/fr/")),
        (Some("es-419, es;q=0.9"), Some("/es/")),
        (Some("en-GB,en;q=0.5"), Some("/en/")),
        // languages without a copy are passed over
        (Some("de-DE, de;q=0.9, fr;q=0.8, en;q=0.5"), Some("/fr/")),
        (Some("ff, fy, es"), Some("/es/")),
        (Some(" , pt-BR;q=0.9 ,es ;q=0.5"), Some("/es/")),
        // the first it names wins over later ones
        (Some("en, fr"), Some("/en/")),
        (Some("es;q=1.0, fr"), Some("/es/")),
        // none of them, a wildcard first, a refusal, garbage: the hotspot's language
        (None, None),
        (Some(""), None),
        (Some("de, pt"), None),
        (Some("*, fr"), None),
        (Some("fr;q=0"), None),
        (Some("fr;q=0.000, de"), None),
        (Some("fra"), None),
        (Some("frx-FR"), None),
    ];
    for (accept, to) in cases {
        let (status, head, body) = root(*accept);
        match to {
            Some(to) => {
                assert_eq!(status, 302, "{accept:?}: {head}");
                assert!(
                    head.contains(&format!("Location: {to}\r")),
                    "{accept:?}: {head}"
                );
            }
            None => assert_eq!((status, body.as_str()), (200, "root"), "{accept:?}: {head}"),
        }
        assert!(head.contains("Vary: Accept-Language"), "{accept:?}: {head}");
    }
    // only `/` is chosen for the phone: every other path is served as asked
    let fr = [("Accept-Language", "fr")];
    let (status, _, body) = get_with(port, "generic.offspot", "/es/", &fr);
    assert_eq!((status, body.as_str()), (200, "Spanish"));
    let (status, _, body) = get_with(port, "generic.offspot", "/fr/", &fr);
    assert_eq!((status, body.as_str()), (200, "French"));
}

/// The bcrypt salt of the `admin` account in a rendered Caddyfile.
fn salt_in(caddyfile: &str) -> String {
    use base64::Engine;
    let line = caddyfile
        .lines()
        // "JDJh" is base64 for "$2a".
        .find(|l| l.trim_start().starts_with("admin JDJh"))
        .expect("an account line");
    let encoded = line.split_whitespace().nth(1).unwrap();
    let raw = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .unwrap();
    // `$2a$10$` then 22 characters of salt, then the hash.
    String::from_utf8(raw).unwrap()[7..29].to_string()
}

/// Finding 9: the salt was SHA-256 of the password (and public names), so one fast hash
/// per guess found the password without running bcrypt. Now the salt comes from the
/// hotspot's seed and names only: changing the password leaves it as it is.
#[test]
fn bcrypt_salt_does_not_depend_on_the_password() {
    let mut a = config("/www", "/zims", "/files");
    let mut b = a.clone();
    b.protected[0].password = "another password".into();
    let (sa, sb) = (
        salt_in(&a.caddyfile().unwrap()),
        salt_in(&b.caddyfile().unwrap()),
    );
    assert_eq!(sa, sb, "the salt follows the password");
    a.fqdn = "school.offspot".into();
    assert_ne!(
        salt_in(&a.caddyfile().unwrap()),
        sa,
        "same salt on every hotspot"
    );
}
