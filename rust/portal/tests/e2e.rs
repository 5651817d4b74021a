//! End to end on the host: the runtime configures a temporary root, nixspot-dashboard
//! generates the site from a home.yaml and a real ZIM, then the portal binary (started by
//! sourcing the runtime's env file, with a recording fake `nft`), a stand-in kiwix-serve
//! and the real `caddy run` serve together on loopback ports, and a phone's registration
//! flow is driven with real HTTP requests and Host headers.

use nixspot_testkit::free_port;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A child process killed when the test ends, pass or fail.
struct Killed(Child);
impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn wait_for(port: u16, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "{what} did not listen on {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

struct Reply {
    status: u16,
    head: String,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<String> {
        self.head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
        })
    }
}

/// GET through loopback as `client` (X-Forwarded-For, which the portal trusts from
/// loopback only, stands for the phone's address after DNAT).
fn get(port: u16, client: Option<&str>, host: &str, path: &str) -> Reply {
    get_in(port, client, host, path, None)
}

/// `get` from a phone whose languages are `accept` (`Accept-Language`).
fn get_in(port: u16, client: Option<&str>, host: &str, path: &str, accept: Option<&str>) -> Reply {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut req = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n");
    if let Some(c) = client {
        req.push_str(&format!("X-Forwarded-For: {c}\r\n"));
    }
    if let Some(a) = accept {
        req.push_str(&format!("Accept-Language: {a}\r\n"));
    }
    req.push_str("User-Agent: e2e-phone\r\n\r\n");
    s.write_all(req.as_bytes()).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let raw = String::from_utf8_lossy(&raw).to_string();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    Reply {
        status: head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0),
        head: head.to_string(),
        body: body.to_string(),
    }
}

/// A stand-in for kiwix-serve: answers every request with its path.
fn fake_kiwix() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut conn in listener.incoming().flatten() {
            let mut buf = [0u8; 4096];
            let n = conn.read(&mut buf).unwrap_or(0);
            let req = String::from_utf8_lossy(&buf[..n]).to_string();
            let path = req.split(' ').nth(1).unwrap_or("?").to_string();
            let body = format!("kiwix-serve {path}");
            let _ = write!(
                conn,
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    port
}

/// A file the runtime wrote for the device, with its `/data/` paths moved under the
/// test's device `root`, so a program run on the host finds them.
fn on_host(root: &Path, device_file: &str, host_copy: &Path) -> PathBuf {
    let text = std::fs::read_to_string(root.join(device_file)).unwrap();
    let data = format!("{}/data/", root.display());
    std::fs::write(host_copy, text.replace("/data/", &data)).unwrap();
    host_copy.to_path_buf()
}

fn start_portal(root: &Path, tmp: &Path, fake_nft: &Path) -> Killed {
    let env = on_host(root, "etc/nixspot/portal.env", &tmp.join("portal.env"));
    Killed(
        Command::new("sh")
            .arg("-c")
            .arg("set -a; . \"$1\"; set +a; exec \"$2\"")
            .arg("sh")
            .arg(&env)
            .arg(env!("CARGO_BIN_EXE_nixspot-portal"))
            .env("NFT_PATH", fake_nft)
            .env("BIND_TO", "127.0.0.1")
            .env("ARP_PATH", tmp.join("arp"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    )
}

#[test]
fn runtime_portal_dashboard_and_caddy_together() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let root = t.join("root");
    // The services' own folders are device paths below /data (the runtime refuses any
    // other); the test's device is `root`, and the programs run on the host see them
    // there (`on_host`).
    let www = root.join("data/www");
    let state = root.join("data/portal/users.json");
    std::fs::create_dir_all(root.join("etc")).unwrap();
    std::fs::write(
        root.join("etc/passwd"),
        "root:x:0:0:root:/root:/bin/sh\ncaddy:x:101:101::/var/lib/caddy:/usr/sbin/nologin\n\
         kiwix:x:104:104::/nonexistent:/usr/sbin/nologin\n\
         nixspot-portal:x:105:105::/nonexistent:/usr/sbin/nologin\n\
         nixspot-dashboard:x:106:106::/nonexistent:/usr/sbin/nologin\n",
    )
    .unwrap();
    let zims = t.join("zims");
    std::fs::create_dir_all(&zims).unwrap();
    std::fs::copy(
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/fixtures/zim/withns_small.zim"
        ),
        zims.join("withns_small.zim"),
    )
    .expect("shared fixture withns_small.zim");
    let home = t.join("home.yaml");
    std::fs::write(
        &home,
        "metadata:\n  name: E2E Spot\n  fqdn: e2e.offspot\npackages: []\n",
    )
    .unwrap();
    std::fs::write(
        t.join("arp"),
        "IP address       HW type     Flags       HW address            Mask     Device\n\
         192.168.144.130  0x1         0x2         02:00:00:00:01:30     *        wlan0\n",
    )
    .unwrap();
    let nft_log = t.join("nft.log");
    let fake_nft = t.join("nft");
    std::fs::write(
        &fake_nft,
        format!(
            "#!/bin/sh\nprintf 'argv: %s\\n' \"$*\" >> '{log}'\n\
             if [ \"$1\" = -f ]; then cat >> '{log}'; fi\n\
             if [ \"$1\" = list ]; then exit 1; fi\nexit 0\n",
            log = nft_log.display()
        ),
    )
    .unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&fake_nft, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    let (caddy_port, portal_port, kiwix_port) = (free_port(), free_port(), fake_kiwix());
    let yaml = format!(
        "# e2e\nhostname: e2e-spot\n\
         ap: {{ssid: E2E Spot, domain: e2e, welcome: goto.e2e, spoof: true}}\n\
         services:\n\
         \x20 kiwix: {{zim-dir: {zims}, port: {kiwix_port}}}\n\
         \x20 dashboard: {{www: {www}, zim-dir: {zims}, home: {home}}}\n\
         \x20 portal: {{name: E2E Spot, port: {portal_port}, state: {state}, branding: {branding}, captured-networks: [192.168.144.0/24]}}\n\
         \x20 proxy: {{http-port: {caddy_port}}}\n",
        zims = zims.display(),
        www = "/data/www",
        home = home.display(),
        state = "/data/portal/users.json",
        branding = t.join("branding").display(),
    );
    let config = root.join("boot/firmware/offspot.yaml");
    std::fs::create_dir_all(config.parent().unwrap()).unwrap();
    std::fs::write(&config, yaml).unwrap();

    // 1. The runtime.
    let report = nixspot_runtime::apply(&nixspot_runtime::Options {
        root: root.clone(),
        config: "/boot/firmware/offspot.yaml".into(),
        reboot_command: None,
    });
    assert!(report.success(), "{report:?}");
    assert_eq!(std::fs::read_to_string(&config).unwrap(), "# e2e\n---\n");

    // The dashboard, as its run script does at boot (same paths and link templates).
    let script = std::fs::read_to_string(root.join("etc/sv/nixspot-dashboard/run")).unwrap();
    assert!(
        script.contains(&format!("PACKAGES_PATH='{}'", home.display())),
        "{script}"
    );
    let generated = nixspot_dashboard::generate(&nixspot_dashboard::GenerateOptions {
        config: home.clone(),
        out: www.clone(),
        zim_dir: Some(zims.clone()),
        templates: nixspot_dashboard::LinkTemplates {
            reader: "//browse.{fqdn}/viewer#{zim_name}".into(),
            download: "//zim-download.{fqdn}/{zim_filename}".into(),
        },
        update_config: true,
        language: None,
    })
    .unwrap();
    assert!(!generated.files.is_empty());

    // 2. Caddy with the runtime's Caddyfile, and the portal with its env file.
    let caddy_home: PathBuf = t.join("caddy");
    let _caddy = Killed(
        Command::new("caddy")
            .args(["run", "--adapter", "caddyfile", "--config"])
            .arg(on_host(&root, "etc/caddy/Caddyfile", &t.join("Caddyfile")))
            .env("HOME", &caddy_home)
            .env("XDG_DATA_HOME", caddy_home.join("data"))
            .env("XDG_CONFIG_HOME", caddy_home.join("config"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("caddy must be installed (.ci/install-deps)"),
    );
    let portal = start_portal(&root, t, &fake_nft);
    wait_for(caddy_port, "caddy");
    wait_for(portal_port, "nixspot-portal");
    let log = std::fs::read_to_string(&nft_log).unwrap();
    assert!(
        log.contains("add chain ip nat CAPTIVE_PASSLIST"),
        "setup ran: {log}"
    );

    // 3. A phone joins: its checks land on the portal (DNAT), which welcomes it.
    let phone = Some("192.168.144.130");
    let r = get(
        portal_port,
        phone,
        "connectivitycheck.gstatic.com",
        "/generate_204",
    );
    assert_eq!(r.status, 200, "captive until registered");
    assert!(r.body.contains("E2E Spot") && r.body.contains("/register-hotspot/"));
    let r = get(
        portal_port,
        phone,
        "captive.apple.com",
        "/hotspot-detect.html",
    );
    assert!(!r.body.contains("<BODY>Success</BODY>"));
    // The hotspot's own name is captured too before registering.
    assert!(get(portal_port, phone, "e2e.offspot", "/")
        .body
        .contains("register-hotspot"));

    // 4. The button: registered, let through the firewall, sent to the dashboard.
    let r = get(
        portal_port,
        phone,
        "captive.apple.com",
        "/register-hotspot/",
    );
    assert_eq!(r.status, 302);
    let location = r.header("location").unwrap();
    assert_eq!(location, "http://e2e.offspot/");
    let log = std::fs::read_to_string(&nft_log).unwrap();
    assert!(
        log.contains("argv: add element ip nat CAPTIVE_CLIENTS { 192.168.144.130 }"),
        "{log}"
    );
    let state = std::fs::read_to_string(&state).unwrap();
    assert!(state.contains("02:00:00:00:01:30"), "{state}");

    // 5. The phone's next checks succeed, so it closes the captive sheet.
    let r = get(
        portal_port,
        phone,
        "connectivitycheck.gstatic.com",
        "/generate_204",
    );
    assert_eq!(r.status, 204);
    let r = get(
        portal_port,
        phone,
        "captive.apple.com",
        "/hotspot-detect.html",
    );
    assert!(r.body.contains("<BODY>Success</BODY>"));
    // Another phone is still captured.
    let other = get(portal_port, Some("192.168.144.131"), "x", "/generate_204");
    assert_eq!(other.status, 200);

    // 6. Through Caddy: the dashboard, the welcome name, kiwix-serve, downloads.
    let host = location.trim_start_matches("http://").trim_end_matches('/');
    let r = get(caddy_port, None, host, "/");
    assert_eq!(r.status, 200);
    assert!(r.body.contains("E2E Spot"), "{}", r.body);
    let reader = "//browse.e2e.offspot/viewer#withns_small";
    assert!(r.body.contains(&format!("href=\"{reader}\"")), "{}", r.body);
    let r = get(caddy_port, None, "goto.e2e.offspot", "/");
    assert_eq!(r.status, 302);
    assert_eq!(r.header("location").as_deref(), Some("//e2e.offspot/"));
    let r = get(caddy_port, None, "browse.e2e.offspot", "/viewer");
    assert_eq!(r.body, "kiwix-serve /viewer");
    let blocked = std::fs::read_to_string(www.join("blocked/index.html")).unwrap();
    let r = get(
        caddy_port,
        None,
        "browse.e2e.offspot",
        "/catch/external?source=https://x",
    );
    assert_eq!((r.status, r.body.as_str()), (200, blocked.as_str()));
    let r = get(
        caddy_port,
        None,
        "zim-download.e2e.offspot",
        "/withns_small.zim",
    );
    assert_eq!(r.status, 200);
    let size = std::fs::metadata(zims.join("withns_small.zim"))
        .unwrap()
        .len();
    assert_eq!(r.header("content-length"), Some(size.to_string()));
    assert_eq!(get(caddy_port, None, "elsewhere.example", "/").status, 404);

    // 6b. A French phone: the portal in French, then the dashboard's French copy.
    let french = Some("192.168.144.132");
    let fr = Some("fr-FR,fr;q=0.9,en;q=0.5");
    let r = get_in(
        portal_port,
        french,
        "connectivitycheck.gstatic.com",
        "/generate_204",
        fr,
    );
    assert_eq!(r.status, 200);
    assert!(
        r.body.contains("<html lang=\"fr\">") && r.body.contains(">Ouvrir E2E Spot</a>"),
        "{}",
        r.body
    );
    assert_eq!(r.header("content-language").as_deref(), Some("fr"));
    let r = get_in(
        portal_port,
        french,
        "captive.apple.com",
        "/register-hotspot/",
        fr,
    );
    assert_eq!(r.status, 302);
    assert_eq!(
        r.header("location").as_deref(),
        Some("http://e2e.offspot/fr/")
    );
    let r = get_in(caddy_port, None, "e2e.offspot", "/fr/", fr);
    assert_eq!(r.status, 200);
    assert!(
        r.body.starts_with("<!DOCTYPE html>\n<html lang=\"fr\">"),
        "{}",
        r.body
    );
    assert!(
        r.body.contains("<h1>Bienvenue sur E2E Spot</h1>"),
        "{}",
        r.body
    );
    assert!(r.body.contains(&format!("href=\"{reader}\"")), "{}", r.body);
    let r = get_in(caddy_port, None, "e2e.offspot", "/fr/download/", fr);
    assert!(r.body.contains(">Télécharger<"), "{}", r.body);

    // 7. The portal restarts (e.g. a reboot): the registrations persist.
    drop(portal);
    let _portal = start_portal(&root, t, &fake_nft);
    wait_for(portal_port, "nixspot-portal (restarted)");
    let r = get(
        portal_port,
        phone,
        "connectivitycheck.gstatic.com",
        "/generate_204",
    );
    assert_eq!(r.status, 204);
    let log = std::fs::read_to_string(&nft_log).unwrap();
    assert!(
        log.contains("flush set ip nat CAPTIVE_CLIENTS\nadd element ip nat CAPTIVE_CLIENTS { 192.168.144.130, 192.168.144.132 }"),
        "{log}"
    );
}
