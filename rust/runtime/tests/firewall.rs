//! The runtime's nftables ruleset against real packets: three network namespaces of this
//! test's own (needs root, as CI runs) — the hotspot with `wlan0` (its WiFi side) and
//! `eth0` (the uplink), a phone on `wlan0`'s network, and a host on the uplink — the
//! ruleset `nixspot-runtime` writes loaded with the real `nft`, and real TCP and UDP
//! sockets opened inside the namespaces (`setns` on a thread of this process).
//!
//! Each hole a tester found has its case here: an unregistered client got non-web traffic
//! forwarded through the uplink, and clients could open the device's internal ports (the
//! portal's own port, Caddy's admin API, SSH, anything listening).

use nixspot_runtime::ap::Ap;
use nixspot_runtime::services::Services;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::os::fd::AsRawFd;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

/// How long a blocked attempt is given: dropped packets never answer, so every "not
/// reachable" case costs this much; local veth round trips take microseconds.
const PATIENCE: Duration = Duration::from_millis(400);

const HOTSPOT: &str = "192.168.144.1";
const PHONE: &str = "192.168.144.130";
const UPLINK_HOST: &str = "10.9.0.2";
const CAPTURED_ADDRESS: &str = "198.51.100.1";

fn run(cmd: &mut Command) -> Output {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{cmd:?}: {e} (iproute2 and nftables must be installed)"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A named network namespace (`ip netns`), deleted on drop.
struct Netns(String);

impl Netns {
    fn new(role: &str) -> Netns {
        // tests run in parallel threads of one process
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = format!("nxfw-{}-{n}-{role}", std::process::id());
        run(Command::new("ip").args(["netns", "add", &name]));
        let ns = Netns(name);
        ns.ip(&["link", "set", "lo", "up"]);
        ns
    }

    fn ip(&self, args: &[&str]) {
        run(Command::new("ip").arg("-n").arg(&self.0).args(args));
    }

    fn exec(&self, args: &[&str]) -> Output {
        run(Command::new("ip")
            .args(["netns", "exec", &self.0])
            .args(args))
    }

    /// Runs `f` on a thread that entered this namespace: sockets it creates belong here.
    fn enter<T: Send>(&self, f: impl FnOnce() -> T + Send) -> T {
        let path = format!("/run/netns/{}", self.0);
        std::thread::scope(|s| {
            s.spawn(|| {
                let file = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
                // SAFETY: setns on an open namespace file only changes this thread's
                // network namespace.
                let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
                assert_eq!(rc, 0, "setns {path}: {}", std::io::Error::last_os_error());
                f()
            })
            .join()
            .expect("namespace thread")
        })
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.0])
            .stderr(Stdio::null())
            .status();
    }
}

/// A TCP server that greets every connection with `banner`.
fn tcp_server(ns: &Netns, port: u16, banner: &'static str) {
    let l = ns.enter(|| TcpListener::bind(("0.0.0.0", port)).expect("bind tcp"));
    std::thread::spawn(move || {
        for mut c in l.incoming().flatten() {
            let _ = c.write_all(banner.as_bytes());
        }
    });
}

/// A UDP server that answers every datagram with `banner`.
fn udp_server(ns: &Netns, port: u16, banner: &'static str) {
    let s = ns.enter(|| UdpSocket::bind(("0.0.0.0", port)).expect("bind udp"));
    std::thread::spawn(move || {
        let mut buf = [0u8; 512];
        while let Ok((_, from)) = s.recv_from(&mut buf) {
            let _ = s.send_to(banner.as_bytes(), from);
        }
    });
}

/// The banner of the TCP server at `addr` as the phone sees it, `None` if unreachable.
fn tcp_from(phone: &Netns, addr: &str) -> Option<String> {
    let addr: SocketAddr = addr.parse().expect("address");
    phone.enter(|| {
        let mut c = TcpStream::connect_timeout(&addr, PATIENCE).ok()?;
        c.set_read_timeout(Some(PATIENCE)).ok()?;
        let mut s = String::new();
        c.read_to_string(&mut s).ok()?;
        Some(s)
    })
}

/// The answer of the UDP server at `addr` as the phone sees it, `None` if none came.
fn udp_from(phone: &Netns, addr: &str) -> Option<String> {
    phone.enter(|| {
        let s = UdpSocket::bind("0.0.0.0:0").ok()?;
        s.set_read_timeout(Some(PATIENCE)).ok()?;
        s.send_to(b"ping", addr).ok()?;
        let mut buf = [0u8; 512];
        let n = s.recv(&mut buf).ok()?;
        Some(String::from_utf8_lossy(&buf[..n]).into_owned())
    })
}

struct Net {
    hotspot: Netns,
    phone: Netns,
    _uplink: Netns,
}

/// The three namespaces, wired and addressed, with servers on the hotspot (a stand-in
/// Caddy on 80, the portal on 2080, Caddy's admin API on 2019, SSH on 22, a UDP service
/// on 5353) and on the uplink host (TCP 7000, UDP 7001).
fn network() -> Net {
    let hotspot = Netns::new("h");
    let phone = Netns::new("p");
    let uplink = Netns::new("u");
    run(Command::new("ip").args([
        "link", "add", "wlan0", "netns", &hotspot.0, "type", "veth", "peer", "name", "phone0",
        "netns", &phone.0,
    ]));
    run(Command::new("ip").args([
        "link", "add", "eth0", "netns", &hotspot.0, "type", "veth", "peer", "name", "up0", "netns",
        &uplink.0,
    ]));
    hotspot.ip(&["addr", "add", "192.168.144.1/24", "dev", "wlan0"]);
    hotspot.ip(&["addr", "add", "10.9.0.1/24", "dev", "eth0"]);
    hotspot.ip(&["link", "set", "wlan0", "up"]);
    hotspot.ip(&["link", "set", "eth0", "up"]);
    phone.ip(&["addr", "add", "192.168.144.130/24", "dev", "phone0"]);
    phone.ip(&["link", "set", "phone0", "up"]);
    phone.ip(&["route", "add", "default", "via", HOTSPOT]);
    uplink.ip(&["addr", "add", "10.9.0.2/24", "dev", "up0"]);
    uplink.ip(&["link", "set", "up0", "up"]);
    hotspot.exec(&["sysctl", "-q", "-w", "net.ipv4.ip_forward=1"]);

    tcp_server(&hotspot, 80, "caddy");
    tcp_server(&hotspot, 2080, "portal");
    tcp_server(&hotspot, 2019, "caddy-admin");
    tcp_server(&hotspot, 22, "ssh");
    udp_server(&hotspot, 5353, "hotspot-udp");
    tcp_server(&uplink, 7000, "uplink-tcp");
    udp_server(&uplink, 7001, "uplink-udp");
    Net {
        hotspot,
        phone,
        _uplink: uplink,
    }
}

/// Loads the ruleset the runtime renders for this `ap` and `services` into the hotspot.
fn load(net: &Net, ap_yaml: &str, services_yaml: &str) -> String {
    let (ap, _) = Ap::parse(&serde_yaml::from_str(ap_yaml).unwrap()).unwrap();
    let (services, _) =
        Services::parse(&serde_yaml::from_str(services_yaml).unwrap(), &ap).unwrap();
    let rules = nixspot_runtime::nftables(&ap, Some(&services));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("nftables.nft");
    std::fs::write(&file, &rules).unwrap();
    net.hotspot
        .exec(&["nft", "-f", file.to_str().expect("utf-8 path")]);
    rules
}

fn register(net: &Net, ip: &str) {
    net.hotspot.exec(&[
        "nft",
        "add",
        "element",
        "ip",
        "nat",
        "CAPTIVE_CLIENTS",
        "{",
        ip,
        "}",
    ]);
}

const GATEWAY_AP: &str = "{ssid: x, as-gateway: true, address: 192.168.144.1, captured-address: 198.51.100.1, dhcp-range: '192.168.144.129,192.168.144.254,255.255.255.0,1h'}";
/// The uplink's network is captured too (as the VM checks' test hotspot captures QEMU's
/// network): replies from its hosts to a registered client must still pass.
const SERVICES: &str =
    "{proxy: true, portal: {captured-networks: [192.168.144.128/25, 10.9.0.0/24]}}";

/// The device's own ports a client must never open, registered or not.
const INTERNAL: &[(&str, u16)] = &[
    ("the portal's own port", 2080),
    ("Caddy's admin API", 2019),
    ("SSH", 22),
];

fn assert_internal_ports_closed(net: &Net, who: &str, rules: &str) {
    for (what, port) in INTERNAL {
        let got = tcp_from(&net.phone, &format!("{HOTSPOT}:{port}"));
        assert_eq!(
            got, None,
            "{who} reached {what} ({HOTSPOT}:{port}) directly:\n{rules}"
        );
    }
    let got = udp_from(&net.phone, &format!("{HOTSPOT}:5353"));
    assert_eq!(
        got, None,
        "{who} reached a UDP service of the device:\n{rules}"
    );
}

#[test]
fn an_unregistered_client_reaches_only_the_portal_and_a_registered_one_only_what_is_served() {
    let net = network();
    let rules = load(&net, GATEWAY_AP, SERVICES);
    let portal = Some("portal".to_string());

    // unregistered: every web connection ends at the portal, whatever the address
    for addr in [
        format!("{HOTSPOT}:80"),
        format!("{UPLINK_HOST}:80"),
        format!("{CAPTURED_ADDRESS}:80"),
    ] {
        assert_eq!(tcp_from(&net.phone, &addr), portal, "{addr}:\n{rules}");
    }
    // …and nothing else is forwarded (the hole: UDP and other TCP ports went through)
    assert_eq!(
        tcp_from(&net.phone, &format!("{UPLINK_HOST}:7000")),
        None,
        "an unregistered client's TCP was forwarded to the uplink:\n{rules}"
    );
    assert_eq!(
        udp_from(&net.phone, &format!("{UPLINK_HOST}:7001")),
        None,
        "an unregistered client's UDP was forwarded to the uplink:\n{rules}"
    );
    assert_internal_ports_closed(&net, "an unregistered client", &rules);

    // registered: the hotspot's web server, the uplink (a gateway), still no internal port
    register(&net, PHONE);
    assert_eq!(
        tcp_from(&net.phone, &format!("{HOTSPOT}:80")).as_deref(),
        Some("caddy"),
        "{rules}"
    );
    assert_eq!(
        tcp_from(&net.phone, &format!("{UPLINK_HOST}:7000")).as_deref(),
        Some("uplink-tcp"),
        "a registered client of a gateway hotspot did not reach the uplink:\n{rules}"
    );
    assert_eq!(
        udp_from(&net.phone, &format!("{UPLINK_HOST}:7001")).as_deref(),
        Some("uplink-udp"),
        "{rules}"
    );
    // connectivity checks of registered clients still reach the portal (its "online")
    assert_eq!(
        tcp_from(&net.phone, &format!("{CAPTURED_ADDRESS}:80")),
        portal,
        "{rules}"
    );
    assert_internal_ports_closed(&net, "a registered client", &rules);

    // not a gateway: even a registered client stays on the hotspot
    let rules = load(
        &net,
        &GATEWAY_AP.replace("as-gateway: true", "as-gateway: false"),
        SERVICES,
    );
    register(&net, PHONE);
    assert_eq!(
        tcp_from(&net.phone, &format!("{HOTSPOT}:80")).as_deref(),
        Some("caddy"),
        "{rules}"
    );
    assert_eq!(
        tcp_from(&net.phone, &format!("{UPLINK_HOST}:7000")),
        None,
        "a registered client was forwarded although the hotspot is not a gateway:\n{rules}"
    );
    assert_eq!(
        udp_from(&net.phone, &format!("{UPLINK_HOST}:7001")),
        None,
        "{rules}"
    );
    assert_internal_ports_closed(&net, "a registered client", &rules);
}

#[test]
fn without_the_portal_clients_still_reach_only_what_is_served() {
    let net = network();
    let rules = load(&net, GATEWAY_AP, "{proxy: true}");
    assert_eq!(
        tcp_from(&net.phone, &format!("{HOTSPOT}:80")).as_deref(),
        Some("caddy"),
        "{rules}"
    );
    // no portal: a gateway forwards every client
    assert_eq!(
        udp_from(&net.phone, &format!("{UPLINK_HOST}:7001")).as_deref(),
        Some("uplink-udp"),
        "{rules}"
    );
    assert_internal_ports_closed(&net, "a client", &rules);
}
