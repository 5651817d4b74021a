//! The `ap` key: the WiFi access point (hostapd), DHCP and DNS (dnsmasq), with
//! offspot's options and defaults (spec section 3).

use crate::value::{invalid, Invalid, Section};
use nixspot_portal::net::Ipv4Net;
use serde_yaml::Value;
use std::fmt::Write;
use std::net::Ipv4Addr;

/// TLDs that would clash with special-use names.
pub const FORBIDDEN_TLDS: &[&str] = &["example", "invalid", "local", "localhost", "onion", "test"];

/// The radio profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// 802.11ac on 5 GHz (only on chips that have it).
    Perf,
    /// 802.11n on 2.4 GHz.
    Coverage,
}

/// DNS spoofing of names outside the hotspot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spoof {
    /// Every name resolves to the captured address.
    On,
    /// Other names go to the upstream DNS servers.
    Off,
    /// Spoof while offline (nixspot starts offline: see [`Ap::spoof_files`]).
    Auto,
}

/// A validated `ap` key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ap {
    /// Network name.
    pub ssid: String,
    /// WPA2 passphrase; `None` = open network.
    pub passphrase: Option<String>,
    /// Radio profile.
    pub profile: Profile,
    /// The hotspot's address on the WiFi side.
    pub address: Ipv4Addr,
    /// 2.4 GHz channel.
    pub channel_24: u8,
    /// 5 GHz channel.
    pub channel_5: u8,
    /// Regulatory country code.
    pub country: String,
    /// Do not broadcast the SSID.
    pub hide: bool,
    /// Route clients to the Ethernet side.
    pub as_gateway: bool,
    /// The WiFi interface.
    pub interface: String,
    /// dnsmasq `dhcp-range` (`start,end,mask,lease`).
    pub dhcp_range: String,
    /// The WiFi network.
    pub network: Ipv4Net,
    /// Upstream DNS servers (used when gateway and not spoofing).
    pub dns: Vec<Ipv4Addr>,
    /// Where spoofed names resolve.
    pub captured_address: Ipv4Addr,
    /// Top-level domain.
    pub tld: String,
    /// The hotspot's name under the TLD.
    pub domain: String,
    /// The welcome name under the TLD.
    pub welcome: String,
    /// DNS spoofing.
    pub spoof: Spoof,
    /// Other interfaces dnsmasq serves.
    pub other_interfaces: Vec<String>,
    /// Interfaces dnsmasq ignores.
    pub except_interfaces: Vec<String>,
    /// Interfaces without DHCP.
    pub nodhcp_interfaces: Vec<String>,
}

const KNOWN: &[&str] = &[
    "ssid",
    "passphrase",
    "profile",
    "address",
    "channel_24",
    "channel-24",
    "channel_5",
    "channel-5",
    "country",
    "hide",
    "as-gateway",
    "interface",
    "dhcp-range",
    "network",
    "dns",
    "captured-address",
    "tld",
    "domain",
    "welcome",
    "spoof",
    "other-interfaces",
    "except-interfaces",
    "nodhcp-interfaces",
];

/// Checks an SSID: 1-32 bytes, printable, none of `+ ] / " TAB`, not starting with
/// `! # ;` (offspot's rules; control characters would also break hostapd.conf).
pub fn check_ssid(ssid: &str) -> Result<(), Invalid> {
    if ssid.is_empty() || ssid.len() > 32 {
        return Err(invalid(
            "ap.ssid",
            format!("expected 1 to 32 bytes, got {} ({ssid:?})", ssid.len()),
        ));
    }
    if let Some(c) = ssid
        .chars()
        .find(|c| matches!(c, '+' | ']' | '/' | '"' | '\t') || c.is_control())
    {
        return Err(invalid(
            "ap.ssid",
            format!("{ssid:?} contains the forbidden character {c:?} (forbidden: + ] / \" tab and control characters)"),
        ));
    }
    if ssid.starts_with(['!', '#', ';']) {
        return Err(invalid(
            "ap.ssid",
            format!("{ssid:?} must not start with !, # or ;"),
        ));
    }
    Ok(())
}

fn interface_name(option: &str, s: &str) -> Result<String, Invalid> {
    let ok = !s.is_empty()
        && s.len() <= 15
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if ok {
        Ok(s.to_string())
    } else {
        Err(invalid(
            option,
            format!("expected an interface name (1-15 letters, digits, - _ .), got {s:?}"),
        ))
    }
}

fn dns_name(option: &str, s: &str) -> Result<String, Invalid> {
    let lower = s.to_ascii_lowercase();
    if nixspot_proxy::is_host(&lower) {
        Ok(lower)
    } else {
        Err(invalid(
            option,
            format!("expected a DNS name (labels of letters, digits and '-'), got {s:?}"),
        ))
    }
}

fn ipv4(option: String, s: &str) -> Result<Ipv4Addr, Invalid> {
    s.parse()
        .map_err(|_| invalid(option, format!("expected an IPv4 address, got {s:?}")))
}

impl Ap {
    /// Parses and validates the `ap` mapping; also returns unknown sub-options.
    pub fn parse(value: &Value) -> Result<(Ap, Vec<String>), Invalid> {
        let sec = Section::new("ap", value, KNOWN)?;
        let ssid = sec
            .string("ssid")?
            .ok_or_else(|| invalid("ap.ssid", "required"))?;
        check_ssid(&ssid)?;
        let passphrase = sec.string("passphrase")?;
        if let Some(p) = &passphrase {
            let ascii = p.bytes().all(|b| (0x20..0x7f).contains(&b));
            if !ascii || p.len() < 8 || p.len() > 63 {
                return Err(invalid(
                    "ap.passphrase",
                    format!(
                        "expected 8 to 63 printable ASCII characters, got {} {}",
                        p.chars().count(),
                        if ascii {
                            "characters"
                        } else {
                            "characters, not all printable ASCII"
                        }
                    ),
                ));
            }
        }
        let profile = match sec.string("profile")?.as_deref() {
            None | Some("perf") => Profile::Perf,
            Some("coverage") => Profile::Coverage,
            Some(other) => {
                return Err(invalid(
                    "ap.profile",
                    format!("expected perf or coverage, got {other:?}"),
                ))
            }
        };
        let address = match sec.string("address")? {
            Some(a) => ipv4(sec.option("address"), &a)?,
            None => Ipv4Addr::new(192, 168, 144, 1),
        };
        let channel = |keys: &[&str], default: u64, ok: &dyn Fn(u64) -> bool, what: &str| match sec
            .raw_any(keys)
        {
            None => Ok(default),
            Some((v, opt)) => {
                let n = crate::value::integer(&opt, v)?;
                if ok(n) {
                    Ok(n)
                } else {
                    Err(invalid(opt, format!("expected {what}, got {n}")))
                }
            }
        };
        let channel_24 = channel(
            &["channel_24", "channel-24"],
            11,
            &|n| (1..=13).contains(&n),
            "a channel from 1 to 13",
        )?;
        let channel_5 = channel(
            &["channel_5", "channel-5"],
            36,
            &|n| [36, 40, 44, 48].contains(&n),
            "36, 40, 44 or 48",
        )?;
        let country = sec.string("country")?.unwrap_or_else(|| "US".into());
        if country.len() != 2 || !country.bytes().all(|b| b.is_ascii_alphabetic()) {
            return Err(invalid(
                "ap.country",
                format!("expected a two-letter country code such as FR, got {country:?}"),
            ));
        }
        let country = country.to_ascii_uppercase();
        let network: Ipv4Net = match sec.string("network")? {
            Some(n) => n.parse().map_err(|_| {
                invalid(
                    "ap.network",
                    format!("expected an IPv4 network such as 192.168.144.0/24, got {n:?}"),
                )
            })?,
            None => Ipv4Net::new(address, 24).map_err(|e| invalid("ap.network", e.to_string()))?,
        };
        if !network.contains(address) || network.prefix() > 30 {
            return Err(invalid(
                "ap.network",
                format!(
                    "{network} must be a /30 or larger network containing ap.address {address}"
                ),
            ));
        }
        let dhcp_range = match sec.string("dhcp-range")? {
            Some(r) => check_dhcp_range(&r, network)?,
            None => default_dhcp_range(network),
        };
        let dns = match sec.strings("dns")? {
            Some(list) => list
                .iter()
                .enumerate()
                .map(|(i, s)| ipv4(format!("ap.dns[{i}]"), s))
                .collect::<Result<_, _>>()?,
            None => vec![Ipv4Addr::new(8, 8, 8, 8), Ipv4Addr::new(1, 1, 1, 1)],
        };
        let captured_address = match sec.string("captured-address")? {
            Some(a) => ipv4(sec.option("captured-address"), &a)?,
            None => Ipv4Addr::new(198, 51, 100, 1),
        };
        let tld = dns_name(
            "ap.tld",
            &sec.string("tld")?.unwrap_or_else(|| "offspot".into()),
        )?;
        if FORBIDDEN_TLDS.contains(&tld.as_str()) || tld.contains('.') {
            return Err(invalid(
                "ap.tld",
                format!(
                    "{tld:?} is not allowed (one label, not {})",
                    FORBIDDEN_TLDS.join(", ")
                ),
            ));
        }
        let domain = dns_name(
            "ap.domain",
            &sec.string("domain")?.unwrap_or_else(|| "generic".into()),
        )?;
        let welcome = dns_name(
            "ap.welcome",
            &sec.string("welcome")?
                .unwrap_or_else(|| "goto.generic".into()),
        )?;
        let spoof = match sec.raw("spoof") {
            None => Spoof::Auto,
            Some(Value::Bool(true)) => Spoof::On,
            Some(Value::Bool(false)) => Spoof::Off,
            Some(Value::String(s)) => match s.to_ascii_lowercase().as_str() {
                "auto" => Spoof::Auto,
                "true" => Spoof::On,
                "false" => Spoof::Off,
                _ => {
                    return Err(invalid(
                        "ap.spoof",
                        format!("expected true, false or auto, got {s:?}"),
                    ))
                }
            },
            Some(other) => {
                return Err(invalid(
                    "ap.spoof",
                    format!(
                        "expected true, false or auto, got {}",
                        crate::value::describe(other)
                    ),
                ))
            }
        };
        let ifaces = |key: &str| -> Result<Vec<String>, Invalid> {
            sec.strings(key)?
                .unwrap_or_default()
                .iter()
                .enumerate()
                .map(|(i, s)| interface_name(&format!("ap.{key}[{i}]"), s))
                .collect()
        };
        let ap = Ap {
            ssid,
            passphrase,
            profile,
            address,
            channel_24: channel_24 as u8,
            channel_5: channel_5 as u8,
            country,
            hide: sec.boolean("hide")?.unwrap_or(false),
            as_gateway: sec.boolean("as-gateway")?.unwrap_or(false),
            interface: interface_name(
                "ap.interface",
                &sec.string("interface")?.unwrap_or_else(|| "wlan0".into()),
            )?,
            dhcp_range,
            network,
            dns,
            captured_address,
            tld,
            domain,
            welcome,
            spoof,
            other_interfaces: ifaces("other-interfaces")?,
            except_interfaces: ifaces("except-interfaces")?,
            nodhcp_interfaces: ifaces("nodhcp-interfaces")?,
        };
        Ok((ap, sec.unknown))
    }

    /// The access point used when no `ap` was ever applied, so the hotspot stays
    /// reachable: an open network named `nixspot`.
    pub fn fallback() -> Ap {
        let address = Ipv4Addr::new(192, 168, 144, 1);
        let network = Ipv4Net::new(address, 24).unwrap_or_else(|_| Ipv4Net::from(address));
        Ap {
            ssid: "nixspot".into(),
            passphrase: None,
            profile: Profile::Perf,
            address,
            channel_24: 11,
            channel_5: 36,
            country: "US".into(),
            hide: false,
            as_gateway: false,
            interface: "wlan0".into(),
            dhcp_range: default_dhcp_range(network),
            network,
            dns: vec![Ipv4Addr::new(8, 8, 8, 8), Ipv4Addr::new(1, 1, 1, 1)],
            captured_address: Ipv4Addr::new(198, 51, 100, 1),
            tld: "offspot".into(),
            domain: "generic".into(),
            welcome: "goto.generic".into(),
            spoof: Spoof::Auto,
            other_interfaces: Vec::new(),
            except_interfaces: Vec::new(),
            nodhcp_interfaces: Vec::new(),
        }
    }

    /// `<domain>.<tld>`.
    pub fn fqdn(&self) -> String {
        format!("{}.{}", self.domain, self.tld)
    }

    /// `<welcome>.<tld>`.
    pub fn welcome_fqdn(&self) -> String {
        format!("{}.{}", self.welcome, self.tld)
    }

    /// hostapd.conf. `five_ghz` tells whether the chip has 5 GHz (`perf` falls back to
    /// `coverage` without it, as offspot does).
    pub fn hostapd_conf(&self, five_ghz: bool) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "# Generated by nixspot-runtime from offspot.yaml's ap key."
        );
        let _ = writeln!(s, "interface={}", self.interface);
        s.push_str("driver=nl80211\n");
        let _ = writeln!(s, "ssid={}", self.ssid);
        s.push_str("utf8_ssid=1\n");
        let _ = writeln!(s, "country_code={}", self.country);
        s.push_str("ieee80211d=1\n");
        if self.profile == Profile::Perf && five_ghz {
            let _ = writeln!(s, "hw_mode=a\nchannel={}", self.channel_5);
            s.push_str("ieee80211n=1\nieee80211ac=1\nht_capab=[HT40+][SHORT-GI-20][SHORT-GI-40]\nvht_oper_chwidth=0\n");
        } else {
            let _ = writeln!(s, "hw_mode=g\nchannel={}", self.channel_24);
            s.push_str("ieee80211n=1\nht_capab=[SHORT-GI-20]\n");
        }
        s.push_str("wmm_enabled=1\nmacaddr_acl=0\nauth_algs=1\n");
        let _ = writeln!(s, "ignore_broadcast_ssid={}", u8::from(self.hide));
        if let Some(p) = &self.passphrase {
            let _ = writeln!(
                s,
                "wpa=2\nwpa_passphrase={p}\nwpa_key_mgmt=WPA-PSK\nrsn_pairwise=CCMP"
            );
        }
        s
    }

    /// dnsmasq.conf: DHCP on the AP, the hotspot's names (every subdomain of the FQDN
    /// and of the welcome name) resolving to its address, the rest in the spoof file.
    pub fn dnsmasq_conf(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "# Generated by nixspot-runtime from offspot.yaml's ap key."
        );
        let _ = writeln!(s, "interface={}", self.interface);
        for i in &self.other_interfaces {
            let _ = writeln!(s, "interface={i}");
        }
        for i in &self.except_interfaces {
            let _ = writeln!(s, "except-interface={i}");
        }
        for i in &self.nodhcp_interfaces {
            let _ = writeln!(s, "no-dhcp-interface={i}");
        }
        let _ = writeln!(s, "dhcp-range={}", self.dhcp_range);
        s.push_str("expand-hosts\nbogus-priv\n");
        let _ = writeln!(s, "domain={},{},local", self.tld, self.network);
        let _ = writeln!(
            s,
            "address=/{}/{}/{}",
            self.welcome_fqdn(),
            self.fqdn(),
            self.address
        );
        s.push_str("no-hosts\nno-resolv\ndhcp-authoritative\n");
        s.push_str("conf-file=/etc/dnsmasq-spoof.conf\n");
        s
    }

    /// The spoof file when spoofing, and when not.
    fn spoof_text(&self, spoofing: bool) -> String {
        let mut s = String::from("# Generated by nixspot-runtime (ap.spoof).\n");
        if spoofing {
            let _ = writeln!(s, "address=/#/{}", self.captured_address);
        } else if self.as_gateway {
            for d in &self.dns {
                let _ = writeln!(s, "server={d}");
            }
        }
        s
    }

    /// `(path, content)` of the spoof files: `/etc/dnsmasq-spoof.conf`, and for
    /// `spoof: auto` its online and offline variants, which an Internet check copies over
    /// it (the hotspot starts offline, so the active file spoofs).
    pub fn spoof_files(&self) -> Vec<(&'static str, String)> {
        match self.spoof {
            Spoof::On => vec![("/etc/dnsmasq-spoof.conf", self.spoof_text(true))],
            Spoof::Off => vec![("/etc/dnsmasq-spoof.conf", self.spoof_text(false))],
            Spoof::Auto => vec![
                ("/etc/dnsmasq-spoof.conf", self.spoof_text(true)),
                (
                    "/etc/nixspot/dnsmasq-spoof.offline.conf",
                    self.spoof_text(true),
                ),
                (
                    "/etc/nixspot/dnsmasq-spoof.online.conf",
                    self.spoof_text(false),
                ),
            ],
        }
    }
}

fn default_dhcp_range(net: Ipv4Net) -> String {
    let base = u32::from(net.addr());
    let size = 1u32 << (32 - u32::from(net.prefix()));
    format!(
        "{},{},{},1h",
        Ipv4Addr::from(base + 2),
        Ipv4Addr::from(base + size - 2),
        net.netmask()
    )
}

/// Checks `start,end,mask,lease` against the network.
fn check_dhcp_range(r: &str, net: Ipv4Net) -> Result<String, Invalid> {
    let bad = |why: String| {
        invalid("ap.dhcp-range", format!("expected start,end,mask,lease (e.g. 192.168.144.2,192.168.144.254,255.255.255.0,1h): {why}"))
    };
    let parts: Vec<&str> = r.split(',').map(str::trim).collect();
    let [start, end, mask, lease] = parts.as_slice() else {
        return Err(bad(format!("got {r:?}")));
    };
    let start: Ipv4Addr = start
        .parse()
        .map_err(|_| bad(format!("start {start:?} is not an IPv4 address")))?;
    let end: Ipv4Addr = end
        .parse()
        .map_err(|_| bad(format!("end {end:?} is not an IPv4 address")))?;
    let _: Ipv4Addr = mask
        .parse()
        .map_err(|_| bad(format!("mask {mask:?} is not an IPv4 netmask")))?;
    if !net.contains(start) || !net.contains(end) || start > end {
        return Err(bad(format!(
            "{start}-{end} is not an ordered range inside {net}"
        )));
    }
    let lease_ok = *lease == "infinite"
        || lease
            .strip_suffix(['s', 'm', 'h', 'd', 'w'])
            .unwrap_or(lease)
            .parse::<u32>()
            .is_ok();
    if !lease_ok {
        return Err(bad(format!("lease {lease:?} is not a duration such as 1h")));
    }
    Ok(parts.join(","))
}

/// Whether the board's WiFi chip (BCM43455) has 5 GHz, from the device-tree model.
pub fn has_five_ghz(model: &str) -> bool {
    [
        "Pi 3 Model B Plus",
        "Pi 3 Model A Plus",
        "Pi 4",
        "Pi 400",
        "Pi 5",
        "Compute Module 4",
        "Compute Module 5",
    ]
    .iter()
    .any(|m| model.contains(m))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ap(yaml: &str) -> Result<Ap, Invalid> {
        Ap::parse(&serde_yaml::from_str(yaml).unwrap()).map(|(a, _)| a)
    }

    #[test]
    fn defaults_follow_offspot() {
        let a = ap("{ssid: Kiwix}").unwrap();
        assert_eq!(a.address, Ipv4Addr::new(192, 168, 144, 1));
        assert_eq!(
            a.dhcp_range,
            "192.168.144.2,192.168.144.254,255.255.255.0,1h"
        );
        assert_eq!((a.channel_24, a.channel_5), (11, 36));
        assert_eq!(a.country, "US");
        assert_eq!(a.fqdn(), "generic.offspot");
        assert_eq!(a.welcome_fqdn(), "goto.generic.offspot");
        assert_eq!(a.spoof, Spoof::Auto);
        let conf = a.hostapd_conf(false);
        assert!(conf.contains("hw_mode=g\nchannel=11\n"));
        assert!(conf.contains("ignore_broadcast_ssid=0\n"));
        assert!(!conf.contains("wpa="));
    }

    #[test]
    fn hide_passphrase_and_perf() {
        let a = ap("{ssid: Kiwix, hide: true, passphrase: 12345678, channel_5: 44, country: fr}")
            .unwrap();
        let conf = a.hostapd_conf(true);
        assert!(conf.contains("ignore_broadcast_ssid=1\n"));
        assert!(conf
            .contains("wpa=2\nwpa_passphrase=12345678\nwpa_key_mgmt=WPA-PSK\nrsn_pairwise=CCMP\n"));
        assert!(conf.contains("hw_mode=a\nchannel=44\n"));
        assert!(conf.contains("country_code=FR\n"));
    }

    #[test]
    fn invalid_values_are_named() {
        let cases = [
            ("{ssid: \"a/b\"}", "ap.ssid"),
            ("{ssid: \"#x\"}", "ap.ssid"),
            ("{ssid: 0123456789012345678901234567890123}", "ap.ssid"),
            ("{passphrase: 12345678}", "ap.ssid"),
            ("{ssid: x, passphrase: \"1234567\"}", "ap.passphrase"),
            ("{ssid: x, channel_24: 14}", "ap.channel_24"),
            ("{ssid: x, channel-5: 52}", "ap.channel-5"),
            ("{ssid: x, hide: \"yes\"}", "ap.hide"),
            ("{ssid: x, tld: local}", "ap.tld"),
            ("{ssid: x, dns: [1.2.3]}", "ap.dns[0]"),
            (
                "{ssid: x, dhcp-range: \"10.0.0.2,10.0.0.9,255.0.0.0,1h\"}",
                "ap.dhcp-range",
            ),
            ("{ssid: x, spoof: maybe}", "ap.spoof"),
            ("{ssid: x, interface: \"wlan0 up\"}", "ap.interface"),
            (
                "{ssid: x, address: 10.0.0.1, network: 192.168.0.0/24}",
                "ap.network",
            ),
            ("[ssid]", "ap"),
        ];
        for (yaml, option) in cases {
            assert_eq!(ap(yaml).unwrap_err().option, option, "{yaml}");
        }
        let e = ap("{ssid: x, passphrase: \"1234567\"}").unwrap_err();
        assert!(e.message.contains("got 7"), "{e}");
    }

    #[test]
    fn dnsmasq_resolves_the_hotspot_names() {
        let a = ap("{ssid: x, domain: demo, welcome: goto.demo, spoof: true, as-gateway: true}")
            .unwrap();
        let conf = a.dnsmasq_conf();
        assert!(conf.contains("address=/goto.demo.offspot/demo.offspot/192.168.144.1\n"));
        assert!(conf.contains("domain=offspot,192.168.144.0/24,local\n"));
        assert_eq!(
            a.spoof_files()[0].1.lines().nth(1),
            Some("address=/#/198.51.100.1")
        );
        let off = ap("{ssid: x, spoof: false, as-gateway: true, dns: [9.9.9.9]}").unwrap();
        assert!(off.spoof_files()[0].1.contains("server=9.9.9.9\n"));
        assert_eq!(ap("{ssid: x, spoof: auto}").unwrap().spoof_files().len(), 3);
    }

    #[test]
    fn fallback_equals_parsed_defaults() {
        assert_eq!(Ap::fallback(), ap("{ssid: nixspot}").unwrap());
    }

    #[test]
    fn five_ghz_models() {
        assert!(has_five_ghz("Raspberry Pi 4 Model B Rev 1.4"));
        assert!(has_five_ghz("Raspberry Pi 3 Model B Plus Rev 1.3"));
        assert!(!has_five_ghz("Raspberry Pi 3 Model B Rev 1.2"));
        assert!(!has_five_ghz(""));
    }
}
