//! The portal served on loopback, driven by real HTTP requests; clients are told apart
//! by `X-Forwarded-For` (trusted from loopback), time by a manual clock.

use nixspot_portal::clock::ManualClock;
use nixspot_portal::config::PortalConfig;
use nixspot_portal::firewall::MemoryFirewall;
use nixspot_portal::server::{serve, Portal, CACHE_CONTROL};
use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

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

fn get(port: u16, client: &str, host: &str, path: &str) -> Reply {
    get_with(port, client, host, path, "")
}

/// `get` with more header lines (each ending in `\r\n`).
fn get_with(port: u16, client: &str, host: &str, path: &str, headers: &str) -> Reply {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nX-Forwarded-For: {client}\r\n{headers}Connection: close\r\n\r\n"
    )
    .unwrap();
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

struct Running {
    port: u16,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn start(portal: Arc<Portal>) -> Running {
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let (port_tx, port_rx) = std::sync::mpsc::channel();
    let thread = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            port_tx.send(listener.local_addr().unwrap().port()).unwrap();
            serve(portal, listener, async {
                let _ = rx.await;
            })
            .await
            .unwrap();
        });
    });
    Running {
        port: port_rx.recv().unwrap(),
        stop: Some(tx),
        thread: Some(thread),
    }
}

fn config(dir: &Path) -> PortalConfig {
    std::fs::write(
        dir.join("arp"),
        "IP address       HW type     Flags       HW address            Mask     Device\n\
         192.168.144.130  0x1         0x2         aa:bb:cc:dd:ee:01     *        wlan0\n",
    )
    .unwrap();
    PortalConfig {
        hotspot_name: "Demo Spot".into(),
        hotspot_fqdn: "demo.offspot".into(),
        timeout_minutes: 60,
        db_path: dir.join("state/portal.json"),
        arp_path: dir.join("arp"),
        branding_path: dir.join("branding"),
        ..PortalConfig::default()
    }
}

const A: &str = "192.168.144.130";
const B: &str = "192.168.144.131";

#[test]
fn registration_flow_platform_answers_and_expiry() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(1_000_000));
    let fw = Arc::new(MemoryFirewall::new());
    let portal = Arc::new(Portal::new(config(dir.path()), clock.clone(), fw.clone()));
    portal.restore().unwrap();
    assert!(fw.is_set_up());
    let srv = start(portal.clone());
    let p = srv.port;

    // Unregistered: the welcome page on any host and path, never a success answer.
    for (host, path) in [
        ("captive.apple.com", "/hotspot-detect.html"),
        ("connectivitycheck.gstatic.com", "/generate_204"),
        ("demo.offspot", "/"),
        ("example.org", "/some/page?q=1"),
    ] {
        let r = get(p, A, host, path);
        assert_eq!(r.status, 200, "{host}{path}");
        assert!(r.body.contains("Demo Spot"), "{host}{path}");
        assert!(r.body.contains("href=\"/register-hotspot/\""));
        assert_eq!(r.header("cache-control").as_deref(), Some(CACHE_CONTROL));
    }
    let css = get(p, A, "x", "/assets/style.css");
    assert_eq!(css.header("content-type").as_deref(), Some("text/css"));
    assert_eq!(get(p, A, "x", "/branding/../arp").status, 404);

    // Register: redirect to the dashboard, firewall opened, state saved with the MAC.
    let r = get(p, A, "captive.apple.com", "/register-hotspot/");
    assert_eq!(r.status, 302);
    assert_eq!(
        r.header("location").as_deref(),
        Some("http://demo.offspot/")
    );
    assert_eq!(fw.allowed(), vec![A.parse::<Ipv4Addr>().unwrap()]);
    let state = std::fs::read_to_string(dir.path().join("state/portal.json")).unwrap();
    assert!(
        state.contains(A) && state.contains("aa:bb:cc:dd:ee:01"),
        "{state}"
    );

    // Registered: each platform's answer; B is still unregistered.
    let r = get(p, A, "connectivitycheck.gstatic.com", "/generate_204");
    assert_eq!(
        (r.status, r.header("server").as_deref()),
        (204, Some("gws"))
    );
    let r = get(p, A, "captive.apple.com", "/hotspot-detect.html");
    assert!(r.body.contains("<BODY>Success</BODY>"));
    let r = get(p, A, "www.msftconnecttest.com", "/connecttest.txt");
    assert_eq!(r.body, "Microsoft Connect Test");
    let r = get(p, A, "connectivity-check.ubuntu.com", "/");
    assert_eq!(
        r.header("x-networkmanager-status").as_deref(),
        Some("online")
    );
    let r = get(p, A, "demo.offspot", "/");
    assert!(r.body.contains("You are connected"));
    assert!(get(p, B, "captive.apple.com", "/")
        .body
        .contains("register-hotspot"));

    // One minute before the timeout: still registered; at the timeout: welcome again.
    clock.advance(59 * 60);
    assert_eq!(get(p, A, "x", "/generate_204").status, 204);
    clock.advance(60);
    assert_eq!(get(p, A, "x", "/generate_204").status, 200);
    assert_eq!(portal.sweep(), 1);
    assert!(fw.allowed().is_empty());
    let state = std::fs::read_to_string(dir.path().join("state/portal.json")).unwrap();
    assert!(!state.contains(A), "{state}");
}

#[test]
fn registrations_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(5_000));
    {
        let portal = Portal::new(
            config(dir.path()),
            clock.clone(),
            Arc::new(MemoryFirewall::new()),
        );
        portal.register(A.parse().unwrap()).unwrap();
        clock.advance(600);
        portal.register(B.parse().unwrap()).unwrap();
    }
    // 55 minutes after A registered: A has 5 minutes left, B 15.
    clock.advance(55 * 60 - 600);
    let fw = Arc::new(MemoryFirewall::new());
    let portal = Portal::new(config(dir.path()), clock.clone(), fw.clone());
    portal.restore().unwrap();
    assert_eq!(fw.allowed().len(), 2);
    assert!(portal.is_registered(A.parse().unwrap()));
    // A restart after A expired drops it from the firewall and the file.
    clock.advance(6 * 60);
    let fw = Arc::new(MemoryFirewall::new());
    let portal = Portal::new(config(dir.path()), clock.clone(), fw.clone());
    portal.restore().unwrap();
    assert_eq!(fw.allowed(), vec![B.parse::<Ipv4Addr>().unwrap()]);
    assert!(!portal.is_registered(A.parse().unwrap()));
}

#[test]
fn client_table_is_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(0));
    let fw = Arc::new(MemoryFirewall::new());
    let cfg = PortalConfig {
        max_clients: 3,
        ..config(dir.path())
    };
    let portal = Portal::new(cfg, clock.clone(), fw.clone());
    for i in 1..=5u8 {
        clock.advance(1);
        portal.register(Ipv4Addr::new(10, 0, 0, i)).unwrap();
    }
    // The oldest registrations made room.
    let expected: Vec<Ipv4Addr> = (3..=5).map(|i| Ipv4Addr::new(10, 0, 0, i)).collect();
    assert_eq!(fw.allowed(), expected);
    assert!(!portal.is_registered(Ipv4Addr::new(10, 0, 0, 1)));
}

#[test]
fn corrupt_state_file_starts_empty() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path());
    std::fs::create_dir_all(cfg.db_path.parent().unwrap()).unwrap();
    std::fs::write(&cfg.db_path, "SQLite format 3\0").unwrap();
    let fw = Arc::new(MemoryFirewall::new());
    let portal = Portal::new(cfg, Arc::new(ManualClock::new(0)), fw.clone());
    portal.restore().unwrap();
    assert!(fw.allowed().is_empty());
    portal.register(Ipv4Addr::new(10, 0, 0, 1)).unwrap();
    assert!(portal.is_registered(Ipv4Addr::new(10, 0, 0, 1)));
}

#[test]
fn logo_comes_from_branding_when_present() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path());
    std::fs::create_dir_all(&cfg.branding_path).unwrap();
    std::fs::write(cfg.branding_path.join("logo.png"), b"\x89PNG fake").unwrap();
    let portal = Arc::new(Portal::new(
        cfg,
        Arc::new(ManualClock::new(0)),
        Arc::new(MemoryFirewall::new()),
    ));
    let srv = start(portal);
    let page = get(srv.port, A, "x", "/");
    assert!(page.body.contains("src=\"/branding/logo.png\""));
    let logo = get(srv.port, A, "x", "/branding/logo.png");
    assert_eq!(logo.header("content-type").as_deref(), Some("image/png"));
    assert!(logo.body.ends_with("PNG fake"));
}

#[test]
fn connections_beyond_the_limit_wait() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = PortalConfig {
        max_connections: 2,
        ..config(dir.path())
    };
    let portal = Arc::new(Portal::new(
        cfg,
        Arc::new(ManualClock::new(0)),
        Arc::new(MemoryFirewall::new()),
    ));
    let srv = start(portal);
    let open = |n: usize| -> Vec<TcpStream> {
        (0..n)
            .map(|_| {
                let mut s = TcpStream::connect(("127.0.0.1", srv.port)).unwrap();
                s.set_read_timeout(Some(Duration::from_millis(500)))
                    .unwrap();
                s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
                s
            })
            .collect()
    };
    let answered = |s: &mut TcpStream| {
        let mut buf = [0u8; 12];
        s.read_exact(&mut buf).is_ok() && buf.starts_with(b"HTTP/1.1 200")
    };
    let mut held = open(2);
    assert!(held.iter_mut().all(answered));
    // Both keep-alive connections stay open: a third one is not served...
    let mut third = open(1).remove(0);
    assert!(!answered(&mut third));
    // ...until one of them closes.
    drop(held.remove(0));
    third
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    assert!(answered(&mut third));
}

/// The state file's inode: every save renames a new file over it.
fn state_inode(dir: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(dir.join("state/portal.json"))
        .unwrap()
        .ino()
}

/// Finding 12: every `/register-hotspot/` of a registered client ran `nft` and rewrote
/// the state file (on the SD card), so one client could keep both busy. Registration is
/// idempotent, and a renewal at most once per `RENEW_INTERVAL` only rewrites the state.
/// `nft` is a script that logs each invocation.
#[test]
fn repeated_registration_runs_nft_once_and_renews_rarely() {
    use nixspot_portal::firewall::{Captive, NftFirewall};
    use nixspot_portal::server::RENEW_INTERVAL;
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("nft.log");
    let nft = dir.path().join("nft");
    std::fs::write(
        &nft,
        format!(
            "#!/bin/sh\necho \"$*\" >> {}\ncat > /dev/null\n",
            log.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&nft, std::fs::Permissions::from_mode(0o755)).unwrap();
    let calls = || {
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .lines()
            .map(String::from)
            .collect::<Vec<_>>()
    };
    let fw = NftFirewall::new(
        &nft,
        Captive {
            hotspot_ip: Ipv4Addr::new(192, 168, 144, 1),
            captured_networks: Vec::new(),
            captured_address: Ipv4Addr::new(198, 51, 100, 1),
            http_port: 2080,
            https_port: 2443,
        },
    );
    let clock = Arc::new(ManualClock::new(1_000_000));
    let portal = Arc::new(Portal::new(config(dir.path()), clock.clone(), Arc::new(fw)));
    let srv = start(portal.clone());
    assert_eq!(get(srv.port, A, "x", "/register-hotspot/").status, 302);
    assert_eq!(
        calls(),
        vec![format!("add element ip nat CAPTIVE_CLIENTS {{ {A} }}")]
    );
    let inode = state_inode(dir.path());
    for _ in 0..20 {
        assert_eq!(get(srv.port, A, "x", "/register-hotspot/").status, 302);
    }
    clock.advance(RENEW_INTERVAL - 1);
    assert_eq!(get(srv.port, A, "x", "/register-hotspot/").status, 302);
    assert_eq!(calls().len(), 1, "nft ran again: {:?}", calls());
    assert_eq!(state_inode(dir.path()), inode, "the state was rewritten");

    // After the interval a request renews: the state once, still no nft.
    clock.advance(1);
    for _ in 0..5 {
        assert_eq!(get(srv.port, A, "x", "/register-hotspot/").status, 302);
    }
    assert_eq!(calls().len(), 1, "nft ran again: {:?}", calls());
    let renewed = state_inode(dir.path());
    assert_ne!(renewed, inode, "the registration was not renewed");
    // The renewal counts: 60 minutes after it the client is still registered.
    clock.advance(60 * 60 - 1);
    assert!(portal.is_registered(A.parse().unwrap()));
    // Another client still registers (one more nft call).
    assert_eq!(get(srv.port, B, "x", "/register-hotspot/").status, 302);
    assert_eq!(calls().len(), 2, "{:?}", calls());
}

/// The visitor's language: `Accept-Language` picks among English, French and Spanish
/// (region and weights honoured), else the hotspot's `HOTSPOT_LANGUAGE` (Spanish here);
/// every page and error says which language it is in and that it varies with the header.
#[test]
fn pages_speak_the_visitors_language() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = PortalConfig {
        hotspot_language: "es".into(),
        ..config(dir.path())
    };
    let clock = Arc::new(ManualClock::new(1_000_000));
    let portal = Arc::new(Portal::new(cfg, clock, Arc::new(MemoryFirewall::new())));
    let srv = start(portal);
    let p = srv.port;
    let cases = [
        // (Accept-Language line, language, welcome text, button, dashboard)
        (
            "Accept-Language: fr-FR,fr;q=0.9\r\n",
            "fr",
            "Bienvenue\u{a0}! Ce point d&#39;accès",
            ">Ouvrir Demo Spot</a>",
            "http://demo.offspot/fr/",
        ),
        (
            "Accept-Language: es\r\n",
            "es",
            "¡Bienvenido!",
            ">Abrir Demo Spot</a>",
            "http://demo.offspot/",
        ),
        (
            "Accept-Language: de-DE,de;q=0.9\r\n",
            "es",
            "¡Bienvenido!",
            ">Abrir Demo Spot</a>",
            "http://demo.offspot/",
        ),
        (
            "",
            "es",
            "¡Bienvenido!",
            ">Abrir Demo Spot</a>",
            "http://demo.offspot/",
        ),
        (
            "Accept-Language: fr;q=0.2, en-GB;q=0.8, es;q=0\r\n",
            "en",
            "Welcome! This hotspot",
            ">Open Demo Spot</a>",
            "http://demo.offspot/en/",
        ),
    ];
    for (i, (accept, lang, text, button, dashboard)) in cases.into_iter().enumerate() {
        let client = format!("192.168.144.{}", 140 + i);
        let r = get_with(
            p,
            &client,
            "connectivitycheck.gstatic.com",
            "/generate_204",
            accept,
        );
        assert_eq!(r.status, 200, "{accept:?}");
        assert!(
            r.body.contains(&format!("<html lang=\"{lang}\">")),
            "{accept:?}: {}",
            r.body
        );
        assert!(r.body.contains(text), "{accept:?}: {}", r.body);
        assert!(r.body.contains(button), "{accept:?}: {}", r.body);
        assert_eq!(
            r.header("content-language").as_deref(),
            Some(lang),
            "{accept:?}"
        );
        assert_eq!(r.header("vary").as_deref(), Some("Accept-Language"));
        assert_eq!(
            r.header("content-type").as_deref(),
            Some("text/html; charset=utf-8")
        );

        // Registering leads to the dashboard in that language.
        let r = get_with(p, &client, "x", "/register-hotspot/", accept);
        assert_eq!(r.status, 302, "{accept:?}");
        assert_eq!(
            r.header("location").as_deref(),
            Some(dashboard),
            "{accept:?}"
        );
        assert_eq!(r.header("content-language").as_deref(), Some(lang));
        assert_eq!(r.header("vary").as_deref(), Some("Accept-Language"));

        // The registered page too, with its button to that dashboard.
        let r = get_with(p, &client, "demo.offspot", "/", accept);
        assert!(
            r.body.contains(&format!("<html lang=\"{lang}\">")),
            "{}",
            r.body
        );
        assert!(
            r.body.contains(&format!("href=\"{dashboard}\"")),
            "{}",
            r.body
        );
        assert_eq!(r.header("content-language").as_deref(), Some(lang));

        // Connectivity checks keep their exact, language-less answers.
        let r = get_with(
            p,
            &client,
            "captive.apple.com",
            "/hotspot-detect.html",
            accept,
        );
        assert!(r.body.contains("<BODY>Success</BODY>"));
        assert_eq!(r.header("content-language"), None);
    }
}

/// Registration errors are in the visitor's language too.
#[test]
fn errors_speak_the_visitors_language() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    // The state goes below a regular file: saving it fails, so registering fails.
    std::fs::write(dir.path().join("file"), "").unwrap();
    cfg.db_path = dir.path().join("file/portal.json");
    let portal = Arc::new(Portal::new(
        cfg,
        Arc::new(ManualClock::new(0)),
        Arc::new(MemoryFirewall::new()),
    ));
    let srv = start(portal);
    for (i, (accept, lang, text)) in [
        (
            "Accept-Language: fr-CA\r\n",
            "fr",
            "L'enregistrement a échoué",
        ),
        (
            "Accept-Language: es-419\r\n",
            "es",
            "El registro ha fallado",
        ),
        ("", "en", "Registration failed"),
    ]
    .into_iter()
    .enumerate()
    {
        // A new client each time: a failed save still lets the client through (the
        // firewall went first), so its next try would be a renewal.
        let client = format!("192.168.144.{}", 150 + i);
        let r = get_with(srv.port, &client, "x", "/register-hotspot/", accept);
        assert_eq!(r.status, 500, "{accept:?}");
        assert!(r.body.contains(text), "{accept:?}: {}", r.body);
        assert_eq!(r.header("content-language").as_deref(), Some(lang));
        assert_eq!(
            r.header("content-type").as_deref(),
            Some("text/plain; charset=utf-8")
        );
    }
}
