//! Named checks run against a booted image (`nixspot vm-test IMAGE --check NAME`).
//!
//! A check is a plain function over a started [`Machine`] and the [`Hotspot`] the image
//! says it is (its `offspot.yaml`, read from the boot partition before booting),
//! registered in [`CHECKS`] with the guest ports it needs forwarded. It returns a one-line
//! summary of what it saw.
//!
//! The hotspot checks expect nixspot's own base image (the runtime, portal, dashboard,
//! Caddy and kiwix-serve as native services) and a test hotspot like
//! `checks/vm/hotspot.nix`: QEMU's user network (10.0.2.0/24, the host connecting from
//! 10.0.2.2) as the portal's captured network, `ap.captured-address` inside it, and a
//! short portal timeout.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::{Duration, Instant};

use serde_yaml::{Mapping, Value};

use crate::error::{Error, Result};
use crate::machine::{Machine, MachineConfig};

mod captive;
mod isolation;
mod phone;
mod timeline;
mod wifi;

/// The host as the guest sees it through QEMU's user network.
pub const HOST_ADDRESS: Ipv4Addr = Ipv4Addr::new(10, 0, 2, 2);

/// One registered check.
#[derive(Debug, Clone, Copy)]
pub struct Check {
    /// Name given to `--check`.
    pub name: &'static str,
    /// One line for `--list-checks`.
    pub description: &'static str,
    /// Guest TCP ports the check reaches through host forwards.
    pub guest_ports: &'static [u16],
    /// Whether the check also reaches port 80 of the image's `ap.captured-address`
    /// (where the hotspot's DNS sends every name while offline).
    pub uses_captured_address: bool,
    /// The check itself; the machine is booted and its console shell answers.
    pub run: fn(&mut Machine, &Hotspot) -> Result<String>,
}

/// Every check, in the order `--check` runs them when none is named.
pub const CHECKS: &[Check] = &[
    Check {
        name: "boot",
        description: "the console shell answers on ttyS1 and `uname -a` succeeds",
        guest_ports: &[],
        uses_captured_address: false,
        run: check_boot,
    },
    Check {
        name: "http",
        description: "an HTTP server in the guest answers GET / on port 80 through hostfwd",
        guest_ports: &[80],
        uses_captured_address: false,
        run: check_http,
    },
    Check {
        name: "timeline",
        description: "where the boot's time went, once port 80 answers: the init's stages, when each service started and its CPU time, how busy the emulated CPUs were",
        guest_ports: &[80],
        uses_captured_address: false,
        run: timeline::check_timeline,
    },
    Check {
        name: "runtime",
        description: "offspot.yaml: applied keys removed and recorded in latest.yaml, invalid keys kept and reported; hostname, hostapd.conf and dnsmasq.conf follow it",
        guest_ports: &[],
        uses_captured_address: false,
        run: check_runtime,
    },
    Check {
        name: "storage",
        description: "on first boot the data partition grew to the end of the card (ext4 resized online) and /data/master_fs is gone",
        guest_ports: &[],
        uses_captured_address: false,
        run: check_storage,
    },
    Check {
        name: "portal",
        description: "captive portal: welcome page and no 204 until /register-hotspot/, then 204, the nftables passlist and the dashboard; captured again after the timeout",
        guest_ports: &[80],
        uses_captured_address: true,
        run: check_portal,
    },
    Check {
        name: "content",
        description: "the dashboard lists every ZIM with the title from its metadata (as kiwix-serve reads it) and browse.<fqdn> serves its main page",
        guest_ports: &[80],
        uses_captured_address: false,
        run: check_content,
    },
    Check {
        name: "privileges",
        description: "kiwix-serve, the dashboard, Caddy and the portal run as their own users with only the capabilities they need and no_new_privs; content is read-only to them; /data is nodev,nosuid and the boot partition root-only",
        guest_ports: &[],
        uses_captured_address: false,
        run: check_privileges,
    },
    Check {
        name: "wifi",
        description: "the kernel's regulatory domain is ap.country; a phone on a second mac80211_hwsim radio sees the SSID (not when ap.hide), joins with WPA2-PSK and the module's passphrase (not with a wrong one) and open, gets a lease in ap.dhcp-range, and every name resolves to the captured address",
        guest_ports: &[],
        uses_captured_address: false,
        run: wifi::check_wifi,
    },
    Check {
        name: "captive",
        description: "from the phone, the Android, Apple, Windows, Firefox and NetworkManager probes get the portal until it registers, then their exact online answers; the dashboard and a ZIM page load through the hotspot's names; a French phone gets the portal in French; the registration expires",
        guest_ports: &[],
        uses_captured_address: false,
        run: captive::check_captive,
    },
    Check {
        name: "isolation",
        description: "an unregistered phone gets no TCP, UDP or ICMP forwarded to the uplink and opens no internal port of the device (Caddy admin, SSH, portal, kiwix-serve, IPv6); a registered one reaches the uplink only with as-gateway",
        guest_ports: &[],
        uses_captured_address: false,
        run: isolation::check_isolation,
    },
    Check {
        name: "persistence",
        description: "after a reboot the runtime applies nothing new and /data is intact",
        guest_ports: &[],
        uses_captured_address: false,
        run: check_persistence,
    },
];

/// What the image says the hotspot is: its `offspot.yaml` as built.
#[derive(Debug, Clone, Default)]
pub struct Hotspot {
    /// The keys of `offspot.yaml` (empty when the image has none).
    pub offspot: Mapping,
}

impl Hotspot {
    /// Parses `offspot.yaml` (`None`: the image has none).
    pub fn from_offspot_yaml(text: Option<&str>) -> std::result::Result<Hotspot, String> {
        let offspot = match text {
            None => Mapping::new(),
            Some(t) => match serde_yaml::from_str::<Value>(t) {
                Ok(Value::Mapping(m)) => m,
                Ok(Value::Null) => Mapping::new(),
                Ok(other) => return Err(format!("offspot.yaml is not a mapping: {other:?}")),
                Err(e) => return Err(format!("offspot.yaml: {e}")),
            },
        };
        Ok(Hotspot { offspot })
    }

    fn get(&self, path: &[&str]) -> Option<&Value> {
        let (first, rest) = path.split_first()?;
        let mut v = self.offspot.get(*first)?;
        for key in rest {
            v = v.get(*key)?;
        }
        Some(v)
    }

    fn string(&self, path: &[&str]) -> Option<String> {
        self.get(path).and_then(Value::as_str).map(str::to_string)
    }

    /// `<ap.domain>.<ap.tld>`, as the runtime derives it.
    pub fn fqdn(&self) -> Option<String> {
        Some(format!(
            "{}.{}",
            self.string(&["ap", "domain"])?,
            self.string(&["ap", "tld"])?
        ))
    }

    /// `ap.captured-address` (the runtime's default when absent).
    pub fn captured_address(&self) -> Ipv4Addr {
        self.string(&["ap", "captured-address"])
            .and_then(|a| a.split('/').next().and_then(|a| a.parse().ok()))
            .unwrap_or(Ipv4Addr::new(198, 51, 100, 1))
    }

    /// The portal's registration lifetime in minutes (`services.portal.timeout`).
    pub fn portal_timeout_minutes(&self) -> u64 {
        self.get(&["services", "portal", "timeout"])
            .and_then(Value::as_u64)
            .unwrap_or(60)
    }

    fn require(&self, m: &Machine, path: &[&str]) -> Result<String> {
        self.string(path).ok_or_else(|| {
            m.failure(format!(
                "the image's offspot.yaml has no `{}`: this check needs a hotspot image",
                path.join(".")
            ))
        })
    }
}

fn check_boot(m: &mut Machine, _: &Hotspot) -> Result<String> {
    let uname = m.succeed("uname -a")?;
    if !uname.contains("aarch64") {
        return Err(m.failure(format!("`uname -a` does not report aarch64: {uname:?}")));
    }
    Ok(uname.trim().to_string())
}

fn check_http(m: &mut Machine, _: &Hotspot) -> Result<String> {
    m.wait_for_port(80, Duration::from_secs(180))?;
    let r = m.http_get(80, "/", "localhost")?;
    if r.status >= 500 {
        return Err(m.failure(format!("GET / answered {}: {}", r.status, r.text())));
    }
    Ok(format!("GET / answered {}", r.status))
}

/// Waits until the init has run the runtime (it writes its report, then the marker).
fn wait_for_runtime(m: &mut Machine) -> Result<()> {
    m.wait_until_succeeds(
        "test -e /run/nixspot/runtime.done",
        Duration::from_secs(180),
    )?;
    Ok(())
}

fn yaml_mapping(m: &Machine, what: &str, text: &str) -> Result<Mapping> {
    match serde_yaml::from_str::<Value>(text) {
        Ok(Value::Mapping(map)) => Ok(map),
        Ok(Value::Null) => Ok(Mapping::new()),
        Ok(other) => Err(m.failure(format!("{what} is not a mapping: {other:?}"))),
        Err(e) => Err(m.failure(format!("{what} is not YAML ({e}):\n{text}"))),
    }
}

fn key_name(k: &Value) -> String {
    k.as_str().map_or_else(|| format!("{k:?}"), str::to_string)
}

fn check_runtime(m: &mut Machine, h: &Hotspot) -> Result<String> {
    wait_for_runtime(m)?;
    let log = m.succeed("cat /run/nixspot/runtime.log")?;
    let left = m.succeed("cat /boot/firmware/offspot.yaml")?;
    let left = yaml_mapping(m, "/boot/firmware/offspot.yaml after boot", &left)?;
    let latest = m.succeed("cat /etc/offspot/latest.yaml")?;
    let latest = yaml_mapping(m, "/etc/offspot/latest.yaml", &latest)?;

    let mut applied = Vec::new();
    let mut kept = Vec::new();
    for (k, v) in &h.offspot {
        let name = key_name(k);
        if let Some(still) = left.get(k) {
            if still != v {
                return Err(m.failure(format!(
                    "offspot.yaml key `{name}` was kept but changed: {v:?} became {still:?}"
                )));
            }
            if !log.contains(&format!("{name}: NOT applied")) {
                return Err(m.failure(format!(
                    "offspot.yaml key `{name}` stayed in the file but the runtime did not report it:\n{log}"
                )));
            }
            kept.push(name);
        } else {
            if latest.get(k) != Some(v) {
                return Err(m.failure(format!(
                    "offspot.yaml key `{name}` was removed, but /etc/offspot/latest.yaml has {:?} instead of {v:?}",
                    latest.get(k)
                )));
            }
            if !log.contains(&format!("{name}: applied")) {
                return Err(m.failure(format!(
                    "offspot.yaml key `{name}` was removed but the runtime did not report it applied:\n{log}"
                )));
            }
            applied.push(name);
        }
    }
    for k in left.keys() {
        if !h.offspot.contains_key(k) {
            return Err(m.failure(format!(
                "offspot.yaml holds `{}` after boot, which the image did not have",
                key_name(k)
            )));
        }
    }
    if applied.is_empty() {
        return Err(m.failure(format!("the runtime applied no key:\n{log}")));
    }

    if !kept.iter().any(|k| k == "hostname") {
        let want = h.require(m, &["hostname"])?;
        let got = m.succeed("hostname")?;
        if got.trim() != want {
            return Err(m.failure(format!(
                "hostname is {:?}, offspot.yaml says {want:?}",
                got.trim()
            )));
        }
    }
    if !kept.iter().any(|k| k == "ap") {
        let ssid = h.require(m, &["ap", "ssid"])?;
        let hostapd = m.succeed("cat /etc/hostapd/hostapd.conf")?;
        if !hostapd.lines().any(|l| l == format!("ssid={ssid}")) {
            return Err(m.failure(format!(
                "hostapd.conf does not carry ssid={ssid}:\n{hostapd}"
            )));
        }
        let fqdn = h
            .fqdn()
            .ok_or_else(|| m.failure("offspot.yaml has no ap.domain/ap.tld"))?;
        let dnsmasq = m.succeed("cat /etc/dnsmasq.conf")?;
        if !dnsmasq.contains(&fqdn) {
            return Err(m.failure(format!(
                "dnsmasq.conf does not mention the hotspot's name {fqdn}:\n{dnsmasq}"
            )));
        }
    }
    Ok(format!(
        "applied: {}; kept and reported: {}",
        applied.join(", "),
        if kept.is_empty() {
            "none".to_string()
        } else {
            kept.join(", ")
        }
    ))
}

fn numbers(m: &Machine, what: &str, text: &str) -> Result<Vec<u64>> {
    text.split_whitespace()
        .map(|n| {
            n.parse()
                .map_err(|_| m.failure(format!("{what}: not a number: {n:?} in {text:?}")))
        })
        .collect()
}

fn check_storage(m: &mut Machine, _: &Hotspot) -> Result<String> {
    wait_for_runtime(m)?;
    m.fail("test -e /data/master_fs")?;
    let dev = m.succeed("awk '$2 == \"/data\" { print $1 }' /proc/mounts")?;
    let part = dev.trim().trim_start_matches("/dev/").to_string();
    let disk = part
        .rsplit_once('p')
        .map(|(d, _)| d.to_string())
        .ok_or_else(|| m.failure(format!("/data is on {dev:?}, not a partition of a card")))?;
    let sys = m.succeed(&format!(
        "cat /sys/class/block/{part}/start /sys/class/block/{part}/size /sys/class/block/{disk}/size"
    ))?;
    let n = numbers(m, "sysfs sizes", &sys)?;
    let [start, size, disk_size] = n[..] else {
        return Err(m.failure(format!("unexpected sysfs answer {sys:?}")));
    };
    if start + size + 8 <= disk_size {
        return Err(m.failure(format!(
            "{part} ends at sector {} but the card has {disk_size}: it did not grow",
            start + size
        )));
    }
    let df = m.succeed("df -k /data | tail -1 | awk '{ print $2 }'")?;
    let fs_kib = numbers(m, "df", &df)?.first().copied().unwrap_or(0);
    // the filesystem fills the partition, less its metadata (journal, inode tables)
    if fs_kib * 1024 < size * 512 / 10 * 8 {
        return Err(m.failure(format!(
            "/data is {fs_kib} KiB on a partition of {} KiB: the filesystem was not resized",
            size / 2
        )));
    }
    Ok(format!(
        "{part} is {} MiB, to the end of the {} MiB card; /data holds {} MiB",
        size / 2048,
        disk_size / 2048,
        fs_kib / 1024
    ))
}

/// Polls `GET path` (Host `host`) on guest port 80 until `accept` holds, for `timeout`.
fn poll_http(
    m: &mut Machine,
    path: &str,
    host: &str,
    timeout: Duration,
    what: &str,
    accept: impl Fn(&crate::HttpResponse) -> bool,
) -> Result<crate::HttpResponse> {
    let end = Instant::now() + timeout;
    loop {
        let last = m.http_get(80, path, host);
        match last {
            Ok(r) if accept(&r) => return Ok(r),
            _ if Instant::now() >= end => {
                let seen = match last {
                    Ok(r) => format!("HTTP {}: {}", r.status, short_text(&r.text())),
                    Err(e) => e.to_string(),
                };
                return Err(m.failure(format!(
                    "{what}: not seen within {} s (GET {path}, Host {host}; last: {seen})",
                    timeout.as_secs()
                )));
            }
            _ => std::thread::sleep(Duration::from_secs(2)),
        }
    }
}

fn short_text(t: &str) -> String {
    let s: String = t.chars().take(200).collect();
    if s.len() < t.len() {
        format!("{s}…")
    } else {
        s
    }
}

fn is_welcome(r: &crate::HttpResponse, name: &str) -> bool {
    r.status == 200 && r.text().contains(name) && r.text().contains("/register-hotspot/")
}

fn passlist(m: &mut Machine) -> Result<String> {
    m.succeed("nft list set ip nat CAPTIVE_CLIENTS")
}

fn check_portal(m: &mut Machine, h: &Hotspot) -> Result<String> {
    let name = h.require(m, &["services", "portal", "name"])?;
    let fqdn = h
        .fqdn()
        .ok_or_else(|| m.failure("offspot.yaml has no ap.domain/ap.tld"))?;
    let spoofed = SocketAddrV4::new(h.captured_address(), 80);
    let t0 = Instant::now();

    // unregistered: the welcome page on any name, never the "online" answer
    let welcome = Duration::from_secs(240);
    poll_http(m, "/", "example.org", welcome, "the welcome page", |r| {
        is_welcome(r, &name)
    })?;
    let ready = t0.elapsed();
    let r = m.http_get(80, "/generate_204", "connectivitycheck.gstatic.com")?;
    if r.status == 204 || !is_welcome(&r, &name) {
        return Err(m.failure(format!(
            "an unregistered client got HTTP {} on /generate_204 instead of the welcome page",
            r.status
        )));
    }
    let r = m.http_get_at(spoofed, "/generate_204", "connectivitycheck.gstatic.com")?;
    if r.status == 204 {
        return Err(m.failure(format!(
            "an unregistered client got 204 from {spoofed} (the captured address)"
        )));
    }
    let before = passlist(m)?;
    if before.contains(&HOST_ADDRESS.to_string()) {
        return Err(m.failure(format!(
            "{HOST_ADDRESS} is in the passlist before registering:\n{before}"
        )));
    }

    // registering: redirected to the dashboard, passlisted, online
    let r = m.http_get(80, "/register-hotspot/", "example.org")?;
    let location = r.header("location").unwrap_or_default().to_string();
    if r.status != 302 || location != format!("http://{fqdn}/") {
        return Err(m.failure(format!(
            "/register-hotspot/ answered {} (Location {location:?}), expected 302 to http://{fqdn}/",
            r.status
        )));
    }
    let after = passlist(m)?;
    if !after.contains(&HOST_ADDRESS.to_string()) {
        return Err(m.failure(format!(
            "{HOST_ADDRESS} is not in the nftables passlist after registering:\n{after}"
        )));
    }
    let r = m.http_get_at(spoofed, "/generate_204", "connectivitycheck.gstatic.com")?;
    if r.status != 204 {
        return Err(m.failure(format!(
            "a registered client got HTTP {} from {spoofed} on /generate_204, expected 204",
            r.status
        )));
    }
    let r = poll_http(
        m,
        "/",
        &fqdn,
        Duration::from_secs(180),
        "the dashboard for a registered client",
        |r| r.status == 200 && r.header("server") == Some("Caddy"),
    )?;
    if !r.text().contains(&name) {
        return Err(m.failure(format!(
            "the dashboard at {fqdn} does not show the hotspot's name {name:?}"
        )));
    }

    // after the timeout (the portal sweeps expired registrations as often), captured again
    let minutes = h.portal_timeout_minutes();
    if minutes > 5 {
        return Err(m.failure(format!(
            "services.portal.timeout is {minutes} minutes: too long to wait for; build the test hotspot (checks/vm/hotspot.nix)"
        )));
    }
    let registered_at = Instant::now();
    let expiry = Duration::from_secs(minutes * 60 * 2 + 90);
    poll_http(
        m,
        "/",
        "example.org",
        expiry,
        "capture after the timeout",
        |r| is_welcome(r, &name),
    )?;
    let expired_after = registered_at.elapsed();
    let last = passlist(m)?;
    if last.contains(&HOST_ADDRESS.to_string()) {
        return Err(m.failure(format!(
            "{HOST_ADDRESS} is still in the passlist after expiring:\n{last}"
        )));
    }
    let r = m.http_get_at(spoofed, "/generate_204", "connectivitycheck.gstatic.com")?;
    if r.status == 204 {
        return Err(m.failure("an expired client still got 204 on /generate_204"));
    }
    Ok(format!(
        "portal answered {:.0} s into the check; captured again {:.0} s after registering (timeout {minutes} min)",
        ready.as_secs_f64(),
        expired_after.as_secs_f64()
    ))
}

/// `(title, content path)` of every book in kiwix-serve's OPDS catalog: the title is
/// the ZIM's `Title` metadata, the path its HTML link (`/content/<book>`).
fn catalog_books(xml: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for entry in xml.split("<entry>").skip(1) {
        let title = between(entry, "<title>", "</title>");
        let link = entry
            .split("<link")
            .skip(1)
            .find(|l| l.contains("type=\"text/html\""))
            .and_then(|l| between(l, "href=\"", "\""));
        if let (Some(t), Some(l)) = (title, link) {
            out.push((unescape_xml(t), unescape_xml(l)));
        }
    }
    out
}

fn between<'a>(s: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let a = s.find(start)? + start.len();
    let b = s.get(a..)?.find(end)? + a;
    s.get(a..b)
}

fn unescape_xml(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

fn unescape_html(s: &str) -> String {
    unescape_xml(&s.replace("&#x27;", "'").replace("&#34;", "\""))
}

fn check_content(m: &mut Machine, h: &Hotspot) -> Result<String> {
    let fqdn = h
        .fqdn()
        .ok_or_else(|| m.failure("offspot.yaml has no ap.domain/ap.tld"))?;
    let browse = format!("browse.{fqdn}");
    // reach Caddy, not the portal: register first (as a visitor would)
    poll_http(
        m,
        "/register-hotspot/",
        "example.org",
        Duration::from_secs(240),
        "registration",
        |r| r.status == 302,
    )?;
    let catalog = poll_http(
        m,
        "/catalog/v2/entries?count=-1",
        &browse,
        Duration::from_secs(180),
        "kiwix-serve's catalog",
        |r| r.status == 200 && r.text().contains("<feed"),
    )?;
    let books = catalog_books(&catalog.text());
    if books.is_empty() {
        return Err(m.failure(format!(
            "kiwix-serve lists no book:\n{}",
            short_text(&catalog.text())
        )));
    }
    let dashboard = poll_http(
        m,
        "/",
        &fqdn,
        Duration::from_secs(120),
        "the dashboard",
        |r| r.status == 200,
    )?;
    let page = unescape_html(&dashboard.text());
    let mut seen = Vec::new();
    for (title, book) in &books {
        if !page.contains(&format!(">{title}<")) {
            return Err(m.failure(format!(
                "the dashboard does not list {book} with its title {title:?} (from the ZIM's metadata)"
            )));
        }
        let mut path = book.clone();
        let mut main = None;
        for _ in 0..4 {
            let r = m.http_get(80, &path, &browse)?;
            match r.status {
                200 => {
                    main = Some(r);
                    break;
                }
                301 | 302 | 307 | 308 => {
                    let to = r.header("location").unwrap_or_default().to_string();
                    path = match to.find("//").map(|i| &to[i + 2..]) {
                        Some(rest) => rest.find('/').map_or("/".into(), |j| rest[j..].into()),
                        None => to,
                    };
                }
                other => {
                    return Err(m.failure(format!(
                        "GET {path} on {browse} answered {other}: {}",
                        short_text(&r.text())
                    )))
                }
            }
        }
        let main =
            main.ok_or_else(|| m.failure(format!("{browse}: too many redirects for {book}")))?;
        let kind = main.header("content-type").unwrap_or_default().to_string();
        if !kind.starts_with("text/html") || main.body.is_empty() {
            return Err(m.failure(format!(
                "{browse}{path}: the main page of {book} is not HTML ({kind:?}, {} bytes)",
                main.body.len()
            )));
        }
        seen.push(format!("{book} ({title:?}, main page {path})"));
    }
    Ok(format!("listed and served: {}", seen.join("; ")))
}

/// `CAP_NET_BIND_SERVICE` in `/proc/<pid>/status` masks.
const CAP_NET_BIND_SERVICE: u64 = 1 << 10;
/// `CAP_NET_ADMIN`.
const CAP_NET_ADMIN: u64 = 1 << 12;

/// `services.<name>.<key>` as a port, with the runtime's default.
fn service_port(h: &Hotspot, name: &str, key: &str, default: u64) -> u64 {
    h.get(&["services", name, key])
        .and_then(Value::as_u64)
        .unwrap_or(default)
}

/// `(run directory, user, process names once it runs, capabilities)` of each service
/// the image's `services` key starts, as the runtime configures them.
fn expected_services(
    h: &Hotspot,
) -> Vec<(&'static str, &'static str, &'static [&'static str], u64)> {
    let low = |port: u64| if port < 1024 { CAP_NET_BIND_SERVICE } else { 0 };
    let on = |name: &str| {
        h.get(&["services", name])
            .is_some_and(|v| !matches!(v, Value::Null | Value::Bool(false)))
    };
    let mut out = Vec::new();
    if on("kiwix") {
        out.push((
            "kiwix-serve",
            "kiwix",
            &["kiwix-serve"][..],
            low(service_port(h, "kiwix", "port", 8001)),
        ));
    }
    if on("dashboard") {
        // the generator, or the shell that runs it and then sleeps until the next refresh
        out.push((
            "nixspot-dashboard",
            "nixspot-dashboard",
            &["sh", "sleep", "nixspot-dashboa"][..],
            0,
        ));
    }
    if on("proxy") {
        let https = h.get(&["services", "proxy", "https"]) == Some(&Value::Bool(true));
        let mut caps = low(service_port(h, "proxy", "http-port", 80));
        if https {
            caps |= low(service_port(h, "proxy", "https-port", 443));
        }
        out.push(("caddy", "caddy", &["caddy"][..], caps));
    }
    if on("portal") {
        let nft = h.string(&["services", "portal", "filter"]).as_deref() != Some("dummy");
        let caps =
            if nft { CAP_NET_ADMIN } else { 0 } | low(service_port(h, "portal", "port", 2080));
        out.push((
            "nixspot-portal",
            "nixspot-portal",
            &["nixspot-portal"][..],
            caps,
        ));
    }
    out
}

fn check_privileges(m: &mut Machine, h: &Hotspot) -> Result<String> {
    wait_for_runtime(m)?;
    let services = expected_services(h);
    if services.is_empty() {
        return Err(m.failure(
            "the image's offspot.yaml starts none of kiwix, dashboard, proxy, portal: build the test hotspot (checks/vm/hotspot.nix)",
        ));
    }
    let mut seen = Vec::new();
    for (name, user, comms, caps) in services {
        // runsv's pid file names the run script's process, which becomes the service
        let names = comms.join(" ");
        let pid = m.wait_until_succeeds(
            &format!(
                "p=$(cat /etc/service/{name}/supervise/pid) && c=$(cat /proc/$p/comm) && \
                 case ' {names} ' in *\" $c \"*) echo $p ;; *) false ;; esac"
            ),
            Duration::from_secs(240),
        )?;
        let pid = pid.trim();
        let status = m.succeed(&format!("cat /proc/{pid}/status"))?;
        let field = |key: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
                .map(|v| v.split_whitespace().collect::<Vec<_>>().join(" "))
                .unwrap_or_default()
        };
        if field("Uid").split(' ').any(|id| id == "0") {
            return Err(m.failure(format!(
                "{name} (pid {pid}) runs as root (Uid {}), not as {user}:\n{status}",
                field("Uid")
            )));
        }
        let ids = m.succeed(&format!("id -u {user} && id -g {user}"))?;
        let ids = numbers(m, &format!("ids of {user}"), &ids)?;
        let [uid, gid] = ids[..] else {
            return Err(m.failure(format!("`id {user}` answered {ids:?}")));
        };
        let want_caps = format!("{caps:016x}");
        let expected = [
            ("Uid", format!("{uid} {uid} {uid} {uid}")),
            ("Gid", format!("{gid} {gid} {gid} {gid}")),
            ("Groups", gid.to_string()),
            ("CapEff", want_caps.clone()),
            ("CapPrm", want_caps.clone()),
            ("CapAmb", want_caps.clone()),
            ("CapBnd", want_caps.clone()),
            ("NoNewPrivs", "1".to_string()),
        ];
        for (label, want) in expected {
            let got = field(label);
            if got != want {
                return Err(m.failure(format!(
                    "{name} (pid {pid}) has {label} {got:?}, expected {want:?} (user {user}):\n{status}"
                )));
            }
        }
        seen.push(format!("{name} as {user} (caps {want_caps})"));
    }

    // content is root's; a service user cannot change it
    let owner = m.succeed("stat -c '%u' /data/contents")?;
    if owner.trim() != "0" {
        return Err(m.failure(format!(
            "/data/contents belongs to uid {}, not root",
            owner.trim()
        )));
    }
    for user in ["kiwix", "nixspot-dashboard"] {
        let r = m.succeed(&format!(
            "nixspot-runtime run-as {user} -- sh -c 'touch /data/contents/written-by-{user} 2>/dev/null && echo wrote || echo refused'"
        ))?;
        if r.trim() != "refused" {
            return Err(m.failure(format!("{user} could write into /data/contents ({r:?})")));
        }
    }
    let caddyfile = m.succeed("stat -c '%a %U %G' /etc/caddy/Caddyfile")?;
    if caddyfile.trim() != "640 root caddy" {
        return Err(m.failure(format!(
            "/etc/caddy/Caddyfile is {:?}, expected \"640 root caddy\"",
            caddyfile.trim()
        )));
    }

    // mount options
    let mounts = m.succeed("cat /proc/mounts")?;
    let options = |point: &str| -> Option<Vec<String>> {
        mounts.lines().find_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.get(1) == Some(&point)).then(|| {
                f.get(3)
                    .map(|o| o.split(',').map(str::to_string).collect())
                    .unwrap_or_default()
            })
        })
    };
    for (point, required) in [
        ("/data", &["nodev", "nosuid"][..]),
        (
            "/boot/firmware",
            &["nodev", "nosuid", "noexec", "fmask=0177", "dmask=0077"][..],
        ),
    ] {
        let Some(opts) = options(point) else {
            return Err(m.failure(format!("{point} is not mounted:\n{mounts}")));
        };
        for r in required {
            if !opts.iter().any(|o| o == r) {
                return Err(m.failure(format!(
                    "{point} is mounted with {}, without {r}",
                    opts.join(",")
                )));
            }
        }
    }
    Ok(format!(
        "{}; /data nodev,nosuid; /boot/firmware root-only, noexec",
        seen.join(", ")
    ))
}

/// A file written to /data before the reboot.
const MARKER: &str = "/data/nixspot-vmtest-persistence";

fn data_digest(m: &mut Machine) -> Result<String> {
    m.succeed("cd /data && find . -xdev -type f ! -path './portal/*' | sort | xargs -r sha256sum")
}

fn check_persistence(m: &mut Machine, _: &Hotspot) -> Result<String> {
    wait_for_runtime(m)?;
    let offspot = m.succeed("cat /boot/firmware/offspot.yaml")?;
    let latest = m.succeed("cat /etc/offspot/latest.yaml")?;
    m.succeed(&format!(
        "echo 'written before the reboot' >{MARKER} && sync"
    ))?;
    let data = data_digest(m)?;
    m.reboot()?;
    wait_for_runtime(m)?;
    let log = m.succeed("cat /run/nixspot/runtime.log")?;
    if log.lines().any(|l| l.contains(": applied")) {
        return Err(m.failure(format!(
            "the runtime applied keys again after the reboot:\n{log}"
        )));
    }
    let offspot_after = m.succeed("cat /boot/firmware/offspot.yaml")?;
    if offspot_after != offspot {
        return Err(m.failure(format!(
            "offspot.yaml changed across the reboot:\n{offspot}\n---- became ----\n{offspot_after}"
        )));
    }
    let latest_after = m.succeed("cat /etc/offspot/latest.yaml")?;
    if latest_after != latest {
        return Err(m.failure("/etc/offspot/latest.yaml changed across the reboot"));
    }
    let data_after = data_digest(m)?;
    if data_after != data {
        return Err(m.failure(format!(
            "/data changed across the reboot:\n{data}\n---- became ----\n{data_after}"
        )));
    }
    let files = data.lines().count();
    m.succeed(&format!("rm {MARKER} && sync"))?;
    Ok(format!(
        "{files} files of /data unchanged, runtime idle after the reboot"
    ))
}

/// Finds a registered check by name.
pub fn find_check(name: &str) -> Result<&'static Check> {
    CHECKS
        .iter()
        .find(|c| c.name == name)
        .ok_or_else(|| Error::UnknownCheck {
            name: name.to_string(),
            known: CHECKS.iter().map(|c| c.name).collect::<Vec<_>>().join(", "),
        })
}

/// The result of one check.
#[derive(Debug)]
pub struct CheckOutcome {
    /// The check's name.
    pub name: &'static str,
    /// Time the check took (boot not included).
    pub duration: Duration,
    /// Its result: a summary of what it saw, or the failure.
    pub result: Result<String>,
}

/// What a run of checks measured and found.
#[derive(Debug)]
pub struct RunReport {
    /// Time from QEMU's start until the console shell answered.
    pub console_ready: Option<Duration>,
    /// Outcome of each check, in order (checks after a failure still run).
    pub outcomes: Vec<CheckOutcome>,
}

impl RunReport {
    /// Whether every check passed.
    pub fn passed(&self) -> bool {
        self.outcomes.iter().all(|o| o.result.is_ok())
    }
}

/// Boots `config.image` once (forwarding every port the checks need) and runs the named
/// checks in order (all of [`CHECKS`] when `names` is empty). Errors that prevent booting
/// are returned; a failing check is recorded in its outcome.
pub fn run_checks(mut config: MachineConfig, names: &[String]) -> Result<RunReport> {
    let checks: Vec<&Check> = if names.is_empty() {
        CHECKS.iter().collect()
    } else {
        names.iter().map(|n| find_check(n)).collect::<Result<_>>()?
    };
    let boot = crate::bootfiles::read_boot_files(&config.image)?;
    let hotspot = Hotspot::from_offspot_yaml(boot.offspot_yaml.as_deref()).map_err(|message| {
        Error::BootFiles {
            path: config.image.clone(),
            message,
        }
    })?;
    for c in &checks {
        for p in c.guest_ports {
            if !config.guest_ports.contains(p) {
                config.guest_ports.push(*p);
            }
        }
        if c.uses_captured_address {
            let addr = hotspot.captured_address();
            if addr.octets()[..3] != [10, 0, 2] || matches!(addr.octets()[3], 0 | 2 | 3 | 15 | 255)
            {
                return Err(Error::BootFiles {
                    path: config.image.clone(),
                    message: format!(
                        "check `{}` needs ap.captured-address in QEMU's network 10.0.2.0/24 \
                         (not .0, .2, .3, .15, .255), the image has {addr}; build the test \
                         hotspot checks/vm/hotspot.nix",
                        c.name
                    ),
                });
            }
            let fwd = SocketAddrV4::new(addr, 80);
            if !config.address_forwards.contains(&fwd) {
                config.address_forwards.push(fwd);
            }
        }
    }
    let mut machine = Machine::start(config)?;
    // the captured address stands for every name the hotspot's DNS answers offline
    if checks.iter().any(|c| c.uses_captured_address) {
        let addr = hotspot.captured_address();
        // on lo: DHCP renewals flush eth0's addresses, and Linux answers ARP for any
        // local address
        let add = format!(
            "ip addr add {addr}/32 dev lo 2>/dev/null || ip addr show dev lo | grep -q ' {addr}/'"
        );
        machine.wait_until_succeeds(&add, Duration::from_secs(120))?;
    }
    let mut outcomes = Vec::new();
    for c in checks {
        let t = Instant::now();
        let result = machine.step(c.name, |m| (c.run)(m, &hotspot));
        outcomes.push(CheckOutcome {
            name: c.name,
            duration: t.elapsed(),
            result,
        });
    }
    Ok(RunReport {
        console_ready: machine.console_ready_after(),
        outcomes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_found() {
        for (i, c) in CHECKS.iter().enumerate() {
            assert!(CHECKS[..i].iter().all(|o| o.name != c.name), "{}", c.name);
            assert_eq!(find_check(c.name).unwrap().name, c.name);
        }
        let e = find_check("nope").unwrap_err().to_string();
        assert!(
            e.contains("nope") && e.contains("boot, http, timeline, runtime, storage"),
            "{e}"
        );
    }

    #[test]
    fn unknown_check_fails_before_booting() {
        let cfg = MachineConfig::new("/nonexistent/image.img");
        let e = run_checks(cfg, &["boot".to_string(), "bogus".to_string()])
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown check `bogus`"), "{e}");
    }

    #[test]
    fn hotspot_facts_come_from_offspot_yaml() {
        let h = Hotspot::from_offspot_yaml(Some(
            "ap:\n  domain: demo\n  tld: hotspot\n  captured-address: 10.0.2.16\nservices:\n  portal:\n    timeout: 1\n",
        ))
        .unwrap();
        assert_eq!(h.fqdn().as_deref(), Some("demo.hotspot"));
        assert_eq!(h.captured_address(), Ipv4Addr::new(10, 0, 2, 16));
        assert_eq!(h.portal_timeout_minutes(), 1);
        let none = Hotspot::from_offspot_yaml(None).unwrap();
        assert_eq!(none.captured_address(), Ipv4Addr::new(198, 51, 100, 1));
        assert!(none.fqdn().is_none());
        assert!(Hotspot::from_offspot_yaml(Some("- a list")).is_err());
    }

    #[test]
    fn catalog_entries_are_parsed() {
        let xml = "<feed><entry><title>Wiki &amp; more</title><name>w_en</name>\
                   <link rel=\"x\" type=\"image/png\" href=\"/icon\"/>\
                   <link type=\"text/html\" href=\"/content/w_en_2024\"/></entry>\
                   <entry><title>No link</title></entry></feed>";
        assert_eq!(
            catalog_books(xml),
            vec![("Wiki & more".to_string(), "/content/w_en_2024".to_string())]
        );
    }
}
