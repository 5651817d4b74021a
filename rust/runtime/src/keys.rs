//! The small keys of offspot.yaml: `firmware`, `timezone`, `hostname`, `ethernet`,
//! `containers` (spec section 3), each validated completely before anything is written.

use crate::fsutil::Root;
use crate::value::{describe, invalid, Invalid, Section};
use nixspot_portal::net::Ipv4Net;
use serde_yaml::Value;
use std::net::Ipv4Addr;

/// The firmware variants each chip accepts.
pub const FIRMWARE_VARIANTS: &[(&str, &str, &[&str])] = &[
    (
        "brcm43455",
        "cyfmac43455-sdio",
        &[
            "raspios",
            "supports-19_2021-11-30",
            "supports-24_2021-10-05_noap+sta",
            "supports-32_2015-03-01_unreliable",
        ],
    ),
    (
        "brcm43430",
        "cyfmac43430-sdio",
        &["raspios", "supports-30_2018-09-28"],
    ),
];

/// Where the WiFi firmware lives.
pub const FIRMWARE_DIR: &str = "/lib/firmware/cypress";

/// `firmware`: points `cyfmac<chip>-sdio.{bin,clm_blob}` at the chosen variant's
/// `cyfmac<chip>-sdio-<variant>.{bin,clm_blob}` (which the image must ship). Returns
/// whether a link changed, i.e. a reboot is needed.
pub fn firmware(root: &Root, value: &Value) -> Result<bool, Invalid> {
    let names: Vec<&str> = FIRMWARE_VARIANTS.iter().map(|v| v.0).collect();
    let sec = Section::new("firmware", value, &names)?;
    if let Some(u) = sec.unknown.first() {
        return Err(invalid(
            u.clone(),
            format!("unknown chip; expected one of {}", names.join(", ")),
        ));
    }
    let mut links = Vec::new();
    for (chip, base, variants) in FIRMWARE_VARIANTS {
        let Some(variant) = sec.string(chip)? else {
            continue;
        };
        if !variants.contains(&variant.as_str()) {
            return Err(invalid(
                sec.option(chip),
                format!("expected one of {}, got {variant:?}", variants.join(", ")),
            ));
        }
        for ext in ["bin", "clm_blob"] {
            let target = format!("{base}-{variant}.{ext}");
            let target_path = format!("{FIRMWARE_DIR}/{target}");
            if !root.exists(&target_path) {
                return Err(invalid(
                    sec.option(chip),
                    format!(
                        "firmware variant {variant:?} is not installed: {target_path} is missing"
                    ),
                ));
            }
            links.push((format!("{FIRMWARE_DIR}/{base}.{ext}"), target));
        }
    }
    let mut changed = false;
    for (link, target) in links {
        changed |= root
            .symlink(&link, &target)
            .map_err(|e| invalid("firmware", e.to_string()))?;
    }
    Ok(changed)
}

/// Where time zones are looked up.
pub const ZONEINFO: &str = "/usr/share/zoneinfo";

/// `timezone`: `/etc/timezone` and the `/etc/localtime` symlink, after checking the
/// zone exists in the image's zoneinfo.
pub fn timezone(root: &Root, value: &Value) -> Result<(), Invalid> {
    let tz = crate::value::scalar_string("timezone", value)?;
    let well_formed = !tz.is_empty()
        && tz.len() <= 64
        && tz.split('/').all(|part| {
            !part.is_empty()
                && part != "."
                && part != ".."
                && part
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'+'))
        });
    if !well_formed {
        return Err(invalid(
            "timezone",
            format!("expected a zone name such as Europe/Paris or UTC, got {tz:?}"),
        ));
    }
    let zone = format!("{ZONEINFO}/{tz}");
    if !root.path(&zone).is_file() {
        return Err(invalid(
            "timezone",
            format!("unknown time zone {tz:?}: {zone} does not exist in the image"),
        ));
    }
    let w = |e: crate::fsutil::FileError| invalid("timezone", e.to_string());
    root.write("/etc/timezone", &format!("{tz}\n"), 0o644)
        .map_err(w)?;
    root.symlink("/etc/localtime", &zone).map_err(w)?;
    Ok(())
}

/// `hostname`: `/etc/hostname`, and the `127.0.1.1` line of `/etc/hosts` (every other
/// line kept as it is — offspot's script joins them).
pub fn hostname(root: &Root, value: &Value) -> Result<(), Invalid> {
    let name = crate::value::scalar_string("hostname", value)?;
    let valid = !name.is_empty()
        && name.len() <= 255
        && name.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    if !valid {
        return Err(invalid(
            "hostname",
            format!("expected labels of 1-63 letters, digits or '-' (255 characters at most), got {name:?}"),
        ));
    }
    let w = |e: crate::fsutil::FileError| invalid("hostname", e.to_string());
    let hosts = root.read("/etc/hosts").map_err(w)?;
    root.write(
        "/etc/hosts",
        &replace_hosts_line(hosts.as_deref(), &name),
        0o644,
    )
    .map_err(w)?;
    root.write("/etc/hostname", &format!("{name}\n"), 0o644)
        .map_err(w)?;
    Ok(())
}

/// `/etc/hosts` with its `127.0.1.1` line(s) replaced by one for `name`.
pub fn replace_hosts_line(hosts: Option<&str>, name: &str) -> String {
    let line = format!("127.0.1.1\t{name}");
    let Some(hosts) = hosts else {
        return format!("127.0.0.1\tlocalhost\n{line}\n");
    };
    let mut out = Vec::new();
    let mut placed = false;
    for l in hosts.lines() {
        if l.split_whitespace().next() == Some("127.0.1.1") {
            if !placed {
                out.push(line.clone());
                placed = true;
            }
        } else {
            out.push(l.to_string());
        }
    }
    if !placed {
        let at = out
            .iter()
            .position(|l| l.split_whitespace().next() == Some("127.0.0.1"))
            .map(|i| i + 1)
            .unwrap_or(out.len());
        out.insert(at, line);
    }
    let mut text = out.join("\n");
    text.push('\n');
    text
}

/// The `ethernet` key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ethernet {
    /// DHCP client (the default).
    Dhcp,
    /// Fixed address.
    Static {
        /// Address and prefix (default /24).
        address: Ipv4Addr,
        /// Prefix length.
        prefix: u8,
        /// Default gateway(s); the first one is used.
        routers: Vec<Ipv4Addr>,
        /// DNS servers.
        dns: Vec<Ipv4Addr>,
    },
}

fn ipv4_list(sec: &Section<'_>, key: &str) -> Result<Vec<Ipv4Addr>, Invalid> {
    sec.strings(key)?
        .unwrap_or_default()
        .iter()
        .enumerate()
        .map(|(i, s)| {
            s.parse().map_err(|_| {
                invalid(
                    format!("{}[{i}]", sec.option(key)),
                    format!("expected an IPv4 address, got {s:?}"),
                )
            })
        })
        .collect()
}

/// Parses `ethernet` (`{type: dhcp|static, address, routers, dns}`).
pub fn ethernet(value: &Value) -> Result<(Ethernet, Vec<String>), Invalid> {
    let sec = Section::new("ethernet", value, &["type", "address", "routers", "dns"])?;
    let kind = sec.string("type")?.unwrap_or_else(|| "dhcp".into());
    let eth = match kind.as_str() {
        "dhcp" => Ethernet::Dhcp,
        "static" => {
            let address = sec.string("address")?.ok_or_else(|| {
                invalid(
                    "ethernet.address",
                    "required with type: static (e.g. 192.168.1.10/24)",
                )
            })?;
            let net_text = if address.contains('/') {
                address.clone()
            } else {
                format!("{address}/24")
            };
            let net: Ipv4Net = net_text.parse().map_err(|_| {
                invalid(
                    "ethernet.address",
                    format!("expected an IPv4 address with an optional /prefix, got {address:?}"),
                )
            })?;
            let ip: Ipv4Addr = net_text
                .split('/')
                .next()
                .and_then(|a| a.parse().ok())
                .unwrap_or(net.addr());
            Ethernet::Static {
                address: ip,
                prefix: net.prefix(),
                routers: ipv4_list(&sec, "routers")?,
                dns: ipv4_list(&sec, "dns")?,
            }
        }
        other => {
            return Err(invalid(
                "ethernet.type",
                format!("expected dhcp or static, got {other:?}"),
            ))
        }
    };
    Ok((eth, sec.unknown))
}

/// `containers`: offspot's compose checks (non-empty `services`; each has a string
/// `image` and no `build`; no `ports` with host networking; some service publishes TCP
/// host port 80), then `/etc/docker/compose.yml` for an image with a container engine.
pub fn containers(root: &Root, value: &Value) -> Result<(), Invalid> {
    let Value::Mapping(compose) = value else {
        return Err(invalid(
            "containers",
            format!("expected a compose mapping, got {}", describe(value)),
        ));
    };
    let services = match compose.get("services") {
        Some(Value::Mapping(s)) if !s.is_empty() => s,
        Some(other) => {
            return Err(invalid(
                "containers.services",
                format!("expected a non-empty mapping, got {}", describe(other)),
            ))
        }
        None => return Err(invalid("containers.services", "missing")),
    };
    let mut port80 = false;
    for (name, svc) in services {
        let name = name.as_str().unwrap_or("?");
        let opt = format!("containers.services.{name}");
        let Value::Mapping(svc) = svc else {
            return Err(invalid(
                opt,
                format!("expected a mapping, got {}", describe(svc)),
            ));
        };
        if !matches!(svc.get("image"), Some(Value::String(_))) {
            return Err(invalid(
                format!("{opt}.image"),
                "a string image reference is required",
            ));
        }
        if svc.contains_key("build") {
            return Err(invalid(
                format!("{opt}.build"),
                "not supported: images must be pre-built",
            ));
        }
        let host_net = svc.get("network_mode").and_then(Value::as_str) == Some("host");
        if let Some(ports) = svc.get("ports") {
            if host_net {
                return Err(invalid(
                    format!("{opt}.ports"),
                    "not allowed with network_mode: host",
                ));
            }
            let Value::Sequence(ports) = ports else {
                return Err(invalid(
                    format!("{opt}.ports"),
                    format!("expected a list, got {}", describe(ports)),
                ));
            };
            port80 |= ports.iter().any(publishes_tcp_80);
        }
    }
    if !port80 {
        return Err(invalid(
            "containers.services",
            "no service publishes TCP host port 80 (the hotspot's web entry point)",
        ));
    }
    let text = serde_yaml::to_string(value).map_err(|e| invalid("containers", e.to_string()))?;
    root.write("/etc/docker/compose.yml", &text, 0o644)
        .map_err(|e| invalid("containers", e.to_string()))?;
    Ok(())
}

/// Whether a compose `ports` entry publishes TCP port 80 on the host.
fn publishes_tcp_80(p: &Value) -> bool {
    match p {
        Value::String(s) => {
            let (spec, proto) = s.split_once('/').unwrap_or((s, "tcp"));
            let parts: Vec<&str> = spec.split(':').collect();
            // "[ip:]host:container": the host port is the one before the last.
            proto == "tcp" && parts.len() >= 2 && parts.iter().rev().nth(1) == Some(&"80")
        }
        Value::Mapping(m) => {
            let published = match m.get("published") {
                Some(Value::Number(n)) => n.as_u64() == Some(80),
                Some(Value::String(s)) => s == "80",
                _ => false,
            };
            let tcp = m.get("protocol").and_then(Value::as_str).unwrap_or("tcp") == "tcp";
            published && tcp
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_line_replaced_others_kept() {
        let before =
            "127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost\n127.0.1.1\told\n10.0.0.5 nas\n";
        assert_eq!(
            replace_hosts_line(Some(before), "new"),
            "127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost\n127.0.1.1\tnew\n10.0.0.5 nas\n"
        );
        assert_eq!(
            replace_hosts_line(Some("127.0.0.1 localhost\n10.0.0.5 nas"), "n"),
            "127.0.0.1 localhost\n127.0.1.1\tn\n10.0.0.5 nas\n"
        );
        assert_eq!(
            replace_hosts_line(None, "n"),
            "127.0.0.1\tlocalhost\n127.0.1.1\tn\n"
        );
    }

    #[test]
    fn port_80_detection() {
        let y = |s: &str| serde_yaml::from_str::<Value>(s).unwrap();
        assert!(publishes_tcp_80(&y("\"80:80\"")));
        assert!(publishes_tcp_80(&y("\"0.0.0.0:80:8080/tcp\"")));
        assert!(!publishes_tcp_80(&y("\"80\"")));
        assert!(!publishes_tcp_80(&y("\"80:80/udp\"")));
        assert!(publishes_tcp_80(&y("{target: 8080, published: 80}")));
        assert!(!publishes_tcp_80(&y("{target: 80, published: 8080}")));
    }

    #[test]
    fn ethernet_forms() {
        let y = |s: &str| serde_yaml::from_str::<Value>(s).unwrap();
        assert_eq!(ethernet(&y("{type: dhcp}")).unwrap().0, Ethernet::Dhcp);
        let (e, _) = ethernet(&y(
            "{type: static, address: 10.1.2.3/16, routers: [10.1.0.1], dns: [1.1.1.1]}",
        ))
        .unwrap();
        assert_eq!(
            e,
            Ethernet::Static {
                address: Ipv4Addr::new(10, 1, 2, 3),
                prefix: 16,
                routers: vec![Ipv4Addr::new(10, 1, 0, 1)],
                dns: vec![Ipv4Addr::new(1, 1, 1, 1)]
            }
        );
        assert_eq!(
            ethernet(&y("{type: static}")).unwrap_err().option,
            "ethernet.address"
        );
        assert_eq!(
            ethernet(&y("{type: wifi}")).unwrap_err().option,
            "ethernet.type"
        );
        assert_eq!(
            ethernet(&y("{type: static, address: 10.0.0.2, dns: [nope]}"))
                .unwrap_err()
                .option,
            "ethernet.dns[0]"
        );
        assert_eq!(ethernet(&y("dhcp")).unwrap_err().option, "ethernet");
    }
}
