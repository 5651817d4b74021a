//! `isolation`: what a phone on the hotspot's WiFi can reach, unregistered and registered.
//!
//! The uplink is QEMU's user network: the guest's 10.0.2.2 is this host's loopback, so
//! listeners of the driver's own (TCP and UDP on 127.0.0.1) see whatever the hotspot
//! forwards. On the device, stand-ins (busybox httpd) listen on every address on the
//! ports of Caddy's admin API and SSH, beside the real portal and kiwix-serve.

use std::io::{Read, Write};
use std::net::{TcpListener, UdpSocket};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_yaml::Value;

use super::phone::joined;
use super::Hotspot;
use crate::error::Result;
use crate::machine::Machine;

/// The host, as the guest sees it on QEMU's user network.
const UPLINK: &str = "10.0.2.2";

/// What reached the driver's listeners (one line per connection or datagram).
#[derive(Debug, Default, Clone)]
struct Seen(Arc<Mutex<Vec<String>>>);

impl Seen {
    fn push(&self, s: String) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).push(s);
    }
    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

/// TCP and UDP listeners on 127.0.0.1 (the guest's 10.0.2.2), recording what arrives.
struct Uplink {
    tcp: u16,
    udp: u16,
    seen: Seen,
}

impl Uplink {
    fn start(m: &Machine) -> Result<Uplink> {
        let io = |e: std::io::Error| m.failure(format!("listening on 127.0.0.1: {e}"));
        let tcp = TcpListener::bind("127.0.0.1:0").map_err(io)?;
        let udp = UdpSocket::bind("127.0.0.1:0").map_err(io)?;
        let ports = (
            tcp.local_addr().map_err(io)?.port(),
            udp.local_addr().map_err(io)?.port(),
        );
        let seen = Seen::default();
        let s = seen.clone();
        // the threads end with the process (vm-test runs once); they only record
        std::thread::spawn(move || {
            for mut c in tcp.incoming().flatten() {
                let from = c.peer_addr().map(|a| a.to_string()).unwrap_or_default();
                let _ = c.write_all(b"uplink-tcp\n");
                let _ = c.set_read_timeout(Some(Duration::from_millis(200)));
                let mut buf = [0u8; 64];
                let _ = c.read(&mut buf);
                s.push(format!("tcp from {from}"));
            }
        });
        let s = seen.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 512];
            while let Ok((n, from)) = udp.recv_from(&mut buf) {
                s.push(format!(
                    "udp from {from}: {:?}",
                    String::from_utf8_lossy(&buf[..n])
                ));
                let _ = udp.send_to(b"uplink-udp\n", from);
            }
        });
        Ok(Uplink {
            tcp: ports.0,
            udp: ports.1,
            seen,
        })
    }
}

/// Shell commands (run in the phone's namespace) that try the uplink: TCP, UDP, ICMP.
fn uplink_attempts(u: &Uplink) -> [(&'static str, String); 3] {
    [
        ("TCP", format!("nc -w 3 {UPLINK} {} </dev/null", u.tcp)),
        // busybox nc has no UDP; a TFTP read request is one datagram
        (
            "UDP",
            format!("curl -sS -m 3 tftp://{UPLINK}:{}/from-the-phone", u.udp),
        ),
        ("ICMP", format!("ping -c 1 -W 3 {UPLINK}")),
    ]
}

/// The device's ports no client may open: `(what, port)`.
fn internal_ports(h: &Hotspot) -> Vec<(String, u64)> {
    let port = |service: &str, key: &str, default: u64| {
        h.get(&["services", service, key])
            .and_then(Value::as_u64)
            .unwrap_or(default)
    };
    vec![
        ("Caddy's admin API (stand-in)".to_string(), 2019),
        ("SSH (stand-in)".to_string(), 22),
        (
            "the portal's own port".to_string(),
            port("portal", "port", 2080),
        ),
        ("kiwix-serve".to_string(), port("kiwix", "port", 8001)),
    ]
}

/// Tries every internal port of the device from the phone (IPv4, and port 80 over the
/// hotspot's IPv6 link-local address); each must fail.
fn device_closed(
    m: &mut Machine,
    h: &Hotspot,
    phone: &super::phone::Phone,
    hotspot: &str,
    link_local: &str,
    who: &str,
) -> Result<()> {
    for (what, port) in internal_ports(h) {
        let (status, out) = phone.try_run(
            m,
            &format!("curl -sS -m 3 -o /dev/null -w '%{{http_code}}' http://{hotspot}:{port}/"),
            Duration::from_secs(30),
        )?;
        if status == 0 {
            return Err(m.failure(format!(
                "{who} phone reached {what} at {hotspot}:{port} (HTTP {})",
                out.trim()
            )));
        }
    }
    if !link_local.is_empty() {
        m.succeed(". /run/vmtest/phone.sh && phone_ipv6_ready")?;
        let (status, out) = phone.try_run(
            m,
            &format!("curl -sS -g -m 3 -o /dev/null -w '%{{http_code}}' 'http://[{link_local}%phone0]:80/'"),
            Duration::from_secs(30),
        )?;
        if status == 0 {
            return Err(m.failure(format!(
                "{who} phone reached the hotspot's web server over IPv6 ({link_local}, HTTP {})",
                out.trim()
            )));
        }
    }
    Ok(())
}

/// The check.
pub fn check_isolation(m: &mut Machine, h: &Hotspot) -> Result<String> {
    super::wait_for_runtime(m)?;
    let gateway = h.get(&["ap", "as-gateway"]) == Some(&Value::Bool(true));
    let uplink = Uplink::start(m)?;
    let (phone, lease) = joined(m, h, 5)?;
    let hotspot = lease.router.to_string();
    let mut seen = Vec::new();

    // stand-ins for services that must stay internal, listening on every address
    m.succeed(
        "mkdir -p /run/vmtest/www && echo internal >/run/vmtest/www/index.html && \
         for p in 2019 22; do \
           httpd -f -p 0.0.0.0:$p -h /run/vmtest/www </dev/null >/dev/null 2>&1 & echo $! >>/run/vmtest/httpd.pids; \
         done",
    )?;
    m.wait_until_succeeds(
        "wget -q -O - http://127.0.0.1:2019/ && wget -q -O - http://127.0.0.1:22/",
        Duration::from_secs(30),
    )?;
    let link_local = m.succeed(
        ". /run/vmtest/phone.sh && ip -6 addr show dev \"$(ap_if)\" | sed -n 's/.*inet6 \\(fe80::[^/]*\\).*/\\1/p' | head -1",
    )?;
    let link_local = link_local.trim().to_string();

    // the uplink answers the device itself: the listeners and QEMU's forwarding work
    let base = m.step("uplink from the device", |m| {
        m.succeed(&format!("nc -w 3 {UPLINK} {} </dev/null", uplink.tcp))?;
        let (ping, _) = m.execute(&format!("ping -c 1 -W 3 {UPLINK}"), Duration::from_secs(30))?;
        std::thread::sleep(Duration::from_millis(500));
        let got = uplink.seen.take();
        if got.is_empty() {
            return Err(m.failure(format!(
                "the device's own connection to {UPLINK}:{} never reached the test's listener",
                uplink.tcp
            )));
        }
        Ok(ping == 0)
    })?;
    let icmp_works = base;

    // unregistered: nothing forwarded, whatever the protocol; no internal port
    m.step("unregistered", |m| {
        for (proto, cmd) in uplink_attempts(&uplink) {
            let (status, out) = phone.try_run(m, &cmd, Duration::from_secs(30))?;
            std::thread::sleep(Duration::from_millis(300));
            let got = uplink.seen.take();
            if !got.is_empty() || (proto == "ICMP" && status == 0) {
                return Err(m.failure(format!(
                    "an unregistered phone's {proto} reached the uplink {UPLINK} ({got:?}; {})",
                    out.trim()
                )));
            }
        }
        device_closed(m, h, &phone, &hotspot, &link_local, "an unregistered")
    })?;
    seen.push(
        "unregistered: no TCP, UDP or ICMP forwarded; internal ports and IPv6 closed".to_string(),
    );

    // registered: the uplink only when the hotspot is a gateway; still no internal port
    let r = m.step("register", |m| {
        let ips = phone.resolve(m, lease.dns, "example.org")?;
        let ip = *ips
            .first()
            .ok_or_else(|| m.failure("the hotspot's DNS does not resolve example.org"))?;
        phone.get(m, ip, "example.org", "/register-hotspot/", &[])
    })?;
    if r.status != 302 {
        return Err(m.failure(format!("registering answered HTTP {}", r.status)));
    }
    m.step("registered", |m| {
        for (proto, cmd) in uplink_attempts(&uplink) {
            if proto == "ICMP" && !icmp_works {
                continue;
            }
            let (status, out) = phone.try_run(m, &cmd, Duration::from_secs(30))?;
            std::thread::sleep(Duration::from_millis(300));
            let got = uplink.seen.take();
            // TCP: the listener saw the connection and the phone got its greeting back
            let reached = match proto {
                "ICMP" => status == 0,
                "TCP" => !got.is_empty() && out.contains("uplink-tcp"),
                _ => !got.is_empty(),
            };
            if reached != gateway {
                return Err(m.failure(format!(
                    "a registered phone's {proto} {} the uplink {UPLINK}, but ap.as-gateway is {gateway} ({got:?}; {})",
                    if reached { "reached" } else { "did not reach" },
                    out.trim()
                )));
            }
        }
        device_closed(m, h, &phone, &hotspot, &link_local, "a registered")
    })?;
    seen.push(format!(
        "registered: uplink {} (as-gateway {gateway}{}), internal ports and IPv6 still closed",
        if gateway { "reached" } else { "not reached" },
        if icmp_works {
            ""
        } else {
            "; QEMU answers no ping, ICMP not tried"
        }
    ));
    m.succeed("kill $(cat /run/vmtest/httpd.pids) && rm /run/vmtest/httpd.pids")?;
    phone.leave(m)?;
    Ok(seen.join("; "))
}
