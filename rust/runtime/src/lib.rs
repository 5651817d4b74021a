//! nixspot's runtime: applies `/boot/firmware/offspot.yaml` at boot with
//! offspot_runtime's contract (spec section 3), writing plain configuration files for
//! native services instead of restarting containers.
//!
//! # Contract
//! - Keys are handled in the order `firmware, timezone, hostname, ethernet, containers,
//!   ap, services`; unknown keys are left alone. Each key is validated completely before
//!   anything is written.
//! - A key applied successfully is removed from offspot.yaml (rewritten atomically, its
//!   leading comment banner kept; `---` when no key is left) and merged into
//!   `/etc/offspot/latest.yaml`. A failing key stays for the next boot, with a message
//!   naming the option, the expected and the actual value; the other keys are still
//!   applied, and [`Report::success`] is false (exit status 1).
//! - A `firmware` change requests a reboot: `/run/nixspot/reboot-required` is written and
//!   the `--reboot-command`, if any, runs once everything else is done.
//! - Then every derived file is rendered from the effective configuration
//!   (`latest.yaml`): the access point always (an earlier `ap`, else an open `nixspot`
//!   network), so a bad `ap` never leaves the hotspot unreachable.
//!
//! Every path below is written under `--root` (default `/`):
//!
//! | file | from | used by |
//! |---|---|---|
//! | `/etc/hostname`, `/etc/hosts` (only the `127.0.1.1` line) | `hostname` | init: `hostname -F /etc/hostname` |
//! | `/etc/timezone`, `/etc/localtime` → `/usr/share/zoneinfo/<tz>` | `timezone` | libc |
//! | `/lib/firmware/cypress/cyfmac4345{5,0}-sdio.{bin,clm_blob}` → `…-<variant>.…` | `firmware` | kernel (after the reboot) |
//! | `/etc/docker/compose.yml` | `containers` | a container engine, if the image has one |
//! | `/etc/network/interfaces` (lo, eth0 dhcp/static, the AP interface static) | `ethernet`, `ap` | init: `ifup -a` (busybox; udhcpc for dhcp) |
//! | `/etc/resolv.conf` | `ethernet` static with `dns` | libc |
//! | `/etc/hostapd/hostapd.conf` | `ap` | the `hostapd` service |
//! | `/etc/dnsmasq.conf`, `/etc/dnsmasq-spoof.conf` (+ `/etc/nixspot/dnsmasq-spoof.{online,offline}.conf` for `spoof: auto`) | `ap` | the `dnsmasq` service; an Internet check may copy a variant over the spoof file |
//! | `/etc/sysctl.d/offspot-ip-forward.conf` | `ap.as-gateway` | init: `sysctl -p` |
//! | `/etc/nixspot/nftables.nft` (flush, masquerade and forwarding when `as-gateway`, captive-portal chains) | `ap`, `services.portal` | init: `nft -f` before the services start |
//! | `/etc/caddy/Caddyfile` (0640, group caddy) | `services.proxy` | the `caddy` service |
//! | the dashboard's `www` and the folder of the portal's `state`, owned by their service's user | `services` | those services |
//! | `/etc/nixspot/portal.env` | `services.portal` | the `nixspot-portal` service |
//! | `/etc/sv/<name>/run`, `/etc/service/<name>` → `/etc/sv/<name>` | `ap`, `services` | runit's `runsvdir /etc/service` |
//! | `/etc/offspot/latest.yaml` | every applied key | the next boots |
//! | `/run/nixspot/reboot-required` | `firmware` change | init: reboot when present |
//!
//! Services: `hostapd` and `dnsmasq` always; `kiwix-serve`, `nixspot-dashboard`,
//! `caddy`, `nixspot-portal` as the `services` key says (see [`services`]); the others'
//! `/etc/service` links are removed.

pub mod ap;
pub mod fsutil;
pub mod grow;
pub mod keys;
pub mod privilege;
pub mod services;
pub mod value;
pub mod yamlfile;

use ap::Ap;
use fsutil::{FileError, Root};
use keys::Ethernet;
use serde_yaml::{Mapping, Value};
use services::Services;
use std::fmt::Write;
use std::path::PathBuf;

/// The keys, in the order they are applied.
pub const KEYS: &[&str] = &[
    "firmware",
    "timezone",
    "hostname",
    "ethernet",
    "containers",
    "ap",
    "services",
];

/// Where applied keys accumulate.
pub const LATEST: &str = "/etc/offspot/latest.yaml";
/// Written when a reboot is needed.
pub const REBOOT_MARKER: &str = "/run/nixspot/reboot-required";
/// The supervised services the runtime manages.
pub const MANAGED_SERVICES: &[&str] = &[
    "hostapd",
    "dnsmasq",
    "kiwix-serve",
    "nixspot-dashboard",
    "caddy",
    "nixspot-portal",
];

/// What to apply.
#[derive(Debug, Clone)]
pub struct Options {
    /// The tree to write into (`/` on the device).
    pub root: PathBuf,
    /// offspot.yaml's path on the device (read under `root`).
    pub config: String,
    /// Program and arguments run when a reboot is needed.
    pub reboot_command: Option<Vec<String>>,
}

/// What happened to one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Applied and removed from the file.
    Applied,
    /// Applied; a reboot is needed.
    AppliedReboot,
    /// Kept in the file for the next boot.
    Failed(String),
}

/// The result of [`apply`].
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Each key found, in order.
    pub keys: Vec<(String, Outcome)>,
    /// Problems not tied to a key (unreadable file, a derived file not written).
    pub errors: Vec<String>,
    /// Ignored sub-options and other notes.
    pub warnings: Vec<String>,
    /// Whether a reboot was requested.
    pub reboot: bool,
}

impl Report {
    /// Whether everything was applied.
    pub fn success(&self) -> bool {
        self.errors.is_empty()
            && self
                .keys
                .iter()
                .all(|(_, o)| !matches!(o, Outcome::Failed(_)))
    }
}

fn file_err(e: FileError) -> String {
    e.to_string()
}

/// Applies `opts.config`, then renders every derived file. Never panics; everything
/// that went wrong is in the report.
pub fn apply(opts: &Options) -> Report {
    let root = Root::new(&opts.root);
    let mut report = Report::default();

    let mut latest = match root.read(LATEST) {
        Ok(Some(text)) => yamlfile::parse(&text).unwrap_or_else(|e| {
            report.warnings.push(format!(
                "{LATEST}: {e}; starting from an empty configuration"
            ));
            Mapping::new()
        }),
        Ok(None) => Mapping::new(),
        Err(e) => {
            report.errors.push(file_err(e));
            Mapping::new()
        }
    };

    // Bounded read: the file comes from whoever had the SD card in hand.
    let text = match yamlfile::read(&root.path(&opts.config)) {
        Ok(t) => t,
        Err(e) => {
            report.errors.push(format!("{}: {e}", opts.config));
            None
        }
    };
    let mut applied_any = false;
    if let Some(text) = text {
        match yamlfile::parse(&text) {
            Err(e) => report.errors.push(format!(
                "{}: invalid YAML, nothing applied from it: {e}",
                opts.config
            )),
            Ok(mut doc) => {
                for key in KEYS {
                    let Some(value) = doc.get(*key).cloned() else {
                        continue;
                    };
                    let outcome = apply_key(&root, key, &value, &latest, &mut report.warnings);
                    if !matches!(outcome, Outcome::Failed(_)) {
                        doc.remove(*key);
                        latest.insert(Value::from(*key), value);
                        applied_any = true;
                    }
                    if outcome == Outcome::AppliedReboot {
                        report.reboot = true;
                    }
                    report.keys.push((key.to_string(), outcome));
                }
                if applied_any {
                    let written = yamlfile::render("", &latest)
                        .map_err(|e| format!("{LATEST}: {e}"))
                        // 0600: it holds the WiFi passphrase and basic-auth passwords.
                        .and_then(|t| root.write(LATEST, &t, 0o600).map_err(file_err));
                    // The file is only rewritten once latest.yaml holds what it loses.
                    let rewritten = written.and_then(|_| {
                        let t = yamlfile::render(&yamlfile::banner(&text), &doc)
                            .map_err(|e| format!("{}: {e}", opts.config))?;
                        root.write(&opts.config, &t, 0o644).map_err(file_err)
                    });
                    if let Err(e) = rewritten {
                        report.errors.push(e);
                    }
                }
            }
        }
    }

    render(&root, &latest, &mut report);

    if report.reboot {
        if let Err(e) = root.write(REBOOT_MARKER, "firmware\n", 0o644) {
            report.errors.push(file_err(e));
        }
        let cmd = opts.reboot_command.as_deref().unwrap_or_default();
        if let Some((program, args)) = cmd.split_first() {
            match std::process::Command::new(program).args(args).status() {
                Ok(s) if s.success() => {}
                Ok(s) => report
                    .errors
                    .push(format!("reboot command {:?}: {s}", cmd.join(" "))),
                Err(e) => report
                    .errors
                    .push(format!("reboot command {:?}: {e}", cmd.join(" "))),
            }
        }
    }
    report
}

/// The effective access point: `latest`'s `ap`, else the fallback.
fn effective_ap(latest: &Mapping, warnings: &mut Vec<String>) -> Ap {
    match latest.get("ap").map(Ap::parse) {
        Some(Ok((ap, _))) => ap,
        Some(Err(e)) => {
            warnings.push(format!("{LATEST}: {e}; using the fallback access point"));
            Ap::fallback()
        }
        None => Ap::fallback(),
    }
}

fn apply_key(
    root: &Root,
    key: &str,
    value: &Value,
    latest: &Mapping,
    warnings: &mut Vec<String>,
) -> Outcome {
    let unknown = |w: &mut Vec<String>, list: Vec<String>| {
        for u in list {
            w.push(format!("{u}: unknown option, ignored"));
        }
    };
    let result: Result<bool, value::Invalid> = match key {
        "firmware" => keys::firmware(root, value),
        "timezone" => keys::timezone(root, value).map(|_| false),
        "hostname" => keys::hostname(root, value).map(|_| false),
        "ethernet" => keys::ethernet(value).map(|(_, u)| {
            unknown(warnings, u);
            false
        }),
        "containers" => keys::containers(root, value).map(|_| false),
        "ap" => Ap::parse(value).map(|(_, u)| {
            unknown(warnings, u);
            false
        }),
        "services" => {
            let ap = effective_ap(latest, warnings);
            Services::parse(value, &ap).map(|(_, u)| {
                unknown(warnings, u);
                false
            })
        }
        _ => Ok(false),
    };
    match result {
        Ok(true) => Outcome::AppliedReboot,
        Ok(false) => Outcome::Applied,
        Err(e) => Outcome::Failed(e.to_string()),
    }
}

/// Renders every derived file from the effective configuration.
fn render(root: &Root, latest: &Mapping, report: &mut Report) {
    let ap = effective_ap(latest, &mut report.warnings);
    let ethernet = match latest.get("ethernet").map(keys::ethernet) {
        Some(Ok((e, _))) => e,
        Some(Err(e)) => {
            report.warnings.push(format!("{LATEST}: {e}; using DHCP"));
            Ethernet::Dhcp
        }
        None => Ethernet::Dhcp,
    };
    let services = match latest.get("services").map(|v| Services::parse(v, &ap)) {
        Some(Ok((s, _))) => Some(s),
        Some(Err(e)) => {
            report
                .errors
                .push(format!("{LATEST}: {e}; no optional service started"));
            None
        }
        None => None,
    };
    let model = std::fs::read(root.path("/proc/device-tree/model"))
        .map(|b| String::from_utf8_lossy(&b).to_string())
        .unwrap_or_default();

    let mut files: Vec<(String, String, u32)> = vec![
        (
            "/etc/hostapd/hostapd.conf".into(),
            ap.hostapd_conf(ap::has_five_ghz(&model)),
            0o600,
        ),
        ("/etc/dnsmasq.conf".into(), ap.dnsmasq_conf(), 0o644),
        (
            "/etc/sysctl.d/offspot-ip-forward.conf".into(),
            format!("net.ipv4.ip_forward={}\n", u8::from(ap.as_gateway)),
            0o644,
        ),
        (
            "/etc/network/interfaces".into(),
            interfaces(&ethernet, &ap),
            0o644,
        ),
        (
            "/etc/nixspot/nftables.nft".into(),
            nftables(&ap, services.as_ref()),
            0o644,
        ),
    ];
    for (path, text) in ap.spoof_files() {
        files.push((path.into(), text, 0o644));
    }
    if let Ethernet::Static { dns, .. } = &ethernet {
        if !dns.is_empty() {
            let text: String = dns.iter().map(|d| format!("nameserver {d}\n")).collect();
            files.push(("/etc/resolv.conf".into(), text, 0o644));
        }
    }
    let mut run: Vec<(&str, String)> = vec![
        (
            "hostapd",
            // The radio appears only once its driver has loaded its firmware (and never
            // in QEMU): wait quietly instead of failing every second.
            format!(
                "if [ ! -e /sys/class/net/{i}/phy80211 ]; then\n\texec sleep 10\nfi\nexec hostapd /etc/hostapd/hostapd.conf\n",
                i = ap.interface
            ),
        ),
        (
            "dnsmasq",
            "exec dnsmasq --keep-in-foreground --conf-file=/etc/dnsmasq.conf\n".into(),
        ),
    ];
    if let Some(s) = &services {
        if let Some(proxy) = &s.proxy {
            // Caddy runs as its own user and the file may hold basic-auth hashes:
            // readable by root and Caddy's group only.
            let written = proxy
                .caddyfile()
                .map_err(|e| e.to_string())
                .and_then(|text| {
                    let (_, gid) = service_owner(root, services::CADDY_USER)?;
                    root.write_owned("/etc/caddy/Caddyfile", &text, 0o640, Some((0, gid)))
                        .map_err(file_err)
                });
            if let Err(e) = written {
                report.errors.push(format!("/etc/caddy/Caddyfile: {e}"));
            }
        }
        for (dir, user, mode) in s.owned_dirs() {
            let owned = service_owner(root, user)
                .and_then(|owner| root.own_dir(&dir, mode, owner).map_err(file_err));
            if let Err(e) = owned {
                report.errors.push(e);
            }
        }
        if let Some(env) = s.portal_env(&ap) {
            files.push(("/etc/nixspot/portal.env".into(), env, 0o600));
        }
        run.extend(s.run_scripts());
    }
    for (name, body) in &run {
        files.push((
            format!("/etc/sv/{name}/run"),
            format!("#!/bin/sh\n# Generated by nixspot-runtime.\nexec 2>&1\n{body}"),
            0o755,
        ));
    }
    for (path, text, mode) in files {
        if let Err(e) = root.write(&path, &text, mode) {
            report.errors.push(file_err(e));
        }
    }
    for name in MANAGED_SERVICES {
        let link = format!("/etc/service/{name}");
        let result = if run.iter().any(|(n, _)| n == name) {
            root.symlink(&link, &format!("/etc/sv/{name}")).map(|_| ())
        } else {
            root.remove(&link).map(|_| ())
        };
        if let Err(e) = result {
            report.errors.push(file_err(e));
        }
    }
}

/// The (uid, gid) of a service's user, from the root's `/etc/passwd`.
fn service_owner(root: &Root, user: &str) -> Result<(u32, u32), String> {
    privilege::account(&root.path("/etc/passwd"), user)
        .map(|a| (a.uid, a.gid))
        .map_err(|e| e.to_string())
}

/// `/etc/network/interfaces` for busybox `ifup`.
pub fn interfaces(eth: &Ethernet, ap: &Ap) -> String {
    let mut s = String::from(
        "# Generated by nixspot-runtime from offspot.yaml's ethernet and ap keys.\nauto lo\niface lo inet loopback\n\nauto eth0\n",
    );
    match eth {
        Ethernet::Dhcp => s.push_str("iface eth0 inet dhcp\n"),
        Ethernet::Static {
            address,
            prefix,
            routers,
            ..
        } => {
            let mask = nixspot_portal::net::Ipv4Net::new(*address, *prefix)
                .map(|n| n.netmask().to_string())
                .unwrap_or_else(|_| "255.255.255.0".into());
            let _ = writeln!(
                s,
                "iface eth0 inet static\n\taddress {address}\n\tnetmask {mask}"
            );
            if let Some(gw) = routers.first() {
                let _ = writeln!(s, "\tgateway {gw}");
            }
        }
    }
    let _ = writeln!(
        s,
        "\nauto {i}\niface {i} inet static\n\taddress {a}\n\tnetmask {m}",
        i = ap.interface,
        a = ap.address,
        m = ap.network.netmask()
    );
    s
}

/// The boot-time nftables ruleset.
///
/// What a client on the WiFi side (the AP interface and `ap.other-interfaces`) may do:
///
/// - reach the hotspot itself only for DHCP, DNS, the reverse proxy's ports, and the
///   captive portal's ports through the portal's DNAT (never directly): table `ip filter`
///   chain `INPUT`. The portal's and kiwix-serve's internal ports, Caddy's admin API,
///   SSH and whatever else listens on the device stay out of reach. Over IPv6 (link-local
///   addresses need no DHCP) nothing, since nothing is served over IPv6 (`ip6 filter`);
/// - be forwarded to the uplink (`eth0`) only when `ap.as-gateway`, and then, with the
///   portal, only once registered (the portal's `CAPTIVE_FORWARD` chain,
///   [`nixspot_portal::firewall::setup_script`]).
///
/// The uplink and loopback are the operator's side and are not filtered.
pub fn nftables(ap: &Ap, services: Option<&Services>) -> String {
    let mut s = String::from(
        "#!/usr/sbin/nft -f\n# Generated by nixspot-runtime; loaded at boot before the services.\nflush ruleset\n",
    );
    s.push_str("add table ip nat\nadd chain ip nat POSTROUTING { type nat hook postrouting priority srcnat; policy accept; }\n");
    s.push_str("add table ip filter\nadd chain ip filter FORWARD { type filter hook forward priority filter; policy drop; }\n");
    if ap.as_gateway {
        s.push_str("add rule ip nat POSTROUTING oifname \"eth0\" masquerade\n");
        let _ = writeln!(
            s,
            "add rule ip filter FORWARD iifname \"{i}\" oifname \"eth0\" accept\n\
             add rule ip filter FORWARD iifname \"eth0\" oifname \"{i}\" ct state established,related accept",
            i = ap.interface
        );
    }

    let clients = client_interfaces(ap)
        .iter()
        .map(|i| format!("\"{i}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let portal = services.and_then(|s| s.portal.as_ref()).filter(|p| p.nft);
    // Reverse-proxy ports clients may open; without nixspot's own proxy (containers),
    // the web ports a reverse proxy would publish.
    let mut web: Vec<u16> = match services.and_then(|s| s.proxy.as_ref()) {
        Some(p) if p.https => vec![p.http_port, p.https_port],
        Some(p) => vec![p.http_port],
        None if services.is_some() => Vec::new(),
        None => vec![80, 443],
    };
    web.sort_unstable();
    web.dedup();
    s.push_str(
        "add chain ip filter INPUT { type filter hook input priority filter; policy accept; }\n",
    );
    let _ = writeln!(
        s,
        "add rule ip filter INPUT iifname != {{ {clients} }} accept\n\
         add rule ip filter INPUT ct state established,related accept\n\
         add rule ip filter INPUT udp dport {{ 53, 67 }} accept\n\
         add rule ip filter INPUT tcp dport 53 accept"
    );
    if !web.is_empty() {
        let list: Vec<String> = web.iter().map(u16::to_string).collect();
        let _ = writeln!(
            s,
            "add rule ip filter INPUT tcp dport {{ {} }} accept",
            list.join(", ")
        );
    }
    if let Some(p) = portal {
        // Only what the portal's PREROUTING chains redirected (ct status dnat), so a
        // client cannot open the portal's port directly.
        let _ = writeln!(
            s,
            "add rule ip filter INPUT tcp dport {{ {}, {} }} ct status dnat accept",
            p.port, p.https_port
        );
    }
    s.push_str("add rule ip filter INPUT drop\n");
    s.push_str("add table ip6 filter\nadd chain ip6 filter INPUT { type filter hook input priority filter; policy accept; }\n");
    let _ = writeln!(s, "add rule ip6 filter INPUT iifname {{ {clients} }} drop");
    s.push_str(
        "add chain ip6 filter FORWARD { type filter hook forward priority filter; policy drop; }\n",
    );

    if let Some(p) = portal {
        s.push_str(&nixspot_portal::firewall::setup_script(
            &nixspot_portal::firewall::Captive {
                hotspot_ip: ap.address,
                captured_networks: p.captured_networks.clone(),
                captured_address: ap.captured_address,
                http_port: p.port,
                https_port: p.https_port,
            },
        ));
    }
    s
}

/// The interfaces WiFi clients arrive on: the access point's and the other interfaces
/// dnsmasq serves, in order, without duplicates.
pub fn client_interfaces(ap: &Ap) -> Vec<String> {
    let mut out = vec![ap.interface.clone()];
    for i in &ap.other_interfaces {
        if !out.contains(i) {
            out.push(i.clone());
        }
    }
    out
}
