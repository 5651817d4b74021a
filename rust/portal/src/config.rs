//! The portal's settings, read from the environment variables of offspot's portal
//! (spec section 4) plus a few of nixspot's own.
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `HOTSPOT_NAME` | `Kiwix Hotspot` | shown on the pages |
//! | `HOTSPOT_FQDN` | `generic.offspot` | the dashboard, target of the redirect after registering |
//! | `HOTSPOT_LANGUAGE` | `en` | nixspot: the pages' language when the visitor's phone asks for none the portal speaks (`en`, `fr`, `es`; `fr-FR`, `fra` accepted; another language means English) |
//! | `HOTSPOT_IP` | `192.168.144.1` | the DNAT target |
//! | `CAPTURED_NETWORKS` | (none) | `\|`-separated client networks to capture; none = all but the hotspot's address |
//! | `CAPTURED_ADDRESS` | `198.51.100.1` | where spoofed names resolve (`/32` accepted) |
//! | `HTTP_PORT` / `HTTPS_PORT` | 2080 / 2443 | the portal's ports (DNAT targets) |
//! | `TIMEOUT` | 60 | minutes a registration lasts |
//! | `CLEAR_PASSLIST_INTERVAL` | 60 | minutes between sweeps of expired registrations |
//! | `FOOTER_NOTE` | (none) | a line under the pages |
//! | `DB_PATH` | `/data/portal-users.json` | the registrations file (nixspot's JSON, not offspot's SQLite) |
//! | `FILTER_MODULE` | `portal_filter` | `portal_filter` = nftables, `dummy_portal_filter` = in memory |
//! | `DONT_SETUP_FILTER` | (unset) | set: do not install the chains at start |
//! | `BIND_TO` / `PORT` | `0.0.0.0` / `HTTP_PORT` | the listening address and port |
//! | `DEBUG` | (unset) | set: verbose logs |
//! | `NFT_PATH` | `nft` | nixspot: the nft program |
//! | `ARP_PATH` | `/proc/net/arp` | nixspot: where to look up MAC addresses |
//! | `BRANDING_PATH` | `/data/branding` | nixspot: files served at `/branding/` (`logo.png` replaces the default logo) |
//! | `MAX_CLIENTS` | 4096 | nixspot: registrations kept at most |
//! | `MAX_CONNECTIONS` | 2048 | nixspot: simultaneous connections served at most |
//!
//! offspot reads `HTTP_PORT` for both ports; nixspot reads `HTTPS_PORT` for HTTPS. The
//! portal has no HTTPS listener (it would need C crypto code in a static binary):
//! captured HTTPS connections are refused quickly, which is what phones expect.

use crate::firewall::Captive;
use crate::lang::Lang;
use crate::net::Ipv4Net;
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;

/// Which firewall backend to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filter {
    /// nftables through the `nft` program.
    Nft,
    /// In memory only (no real filtering).
    Dummy,
}

/// Every setting of the portal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortalConfig {
    /// `HOTSPOT_NAME`.
    pub hotspot_name: String,
    /// `HOTSPOT_FQDN`.
    pub hotspot_fqdn: String,
    /// `HOTSPOT_LANGUAGE`, as given (a language tag; see [`PortalConfig::language`]).
    pub hotspot_language: String,
    /// `HOTSPOT_IP`.
    pub hotspot_ip: Ipv4Addr,
    /// `CAPTURED_NETWORKS`.
    pub captured_networks: Vec<Ipv4Net>,
    /// `CAPTURED_ADDRESS`.
    pub captured_address: Ipv4Addr,
    /// `HTTP_PORT`.
    pub http_port: u16,
    /// `HTTPS_PORT`.
    pub https_port: u16,
    /// `TIMEOUT`, in minutes.
    pub timeout_minutes: u64,
    /// `CLEAR_PASSLIST_INTERVAL`, in minutes.
    pub clear_interval_minutes: u64,
    /// `FOOTER_NOTE`.
    pub footer_note: Option<String>,
    /// `DB_PATH`.
    pub db_path: PathBuf,
    /// `FILTER_MODULE`.
    pub filter: Filter,
    /// Not `DONT_SETUP_FILTER`.
    pub setup_filter: bool,
    /// `BIND_TO`.
    pub bind_to: IpAddr,
    /// `PORT`, else `HTTP_PORT`.
    pub port: u16,
    /// `DEBUG`.
    pub debug: bool,
    /// `NFT_PATH`.
    pub nft_path: PathBuf,
    /// `ARP_PATH`.
    pub arp_path: PathBuf,
    /// `BRANDING_PATH`.
    pub branding_path: PathBuf,
    /// `MAX_CLIENTS`.
    pub max_clients: usize,
    /// `MAX_CONNECTIONS`.
    pub max_connections: usize,
}

/// An environment variable with an unusable value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("environment variable {name}={value:?}: expected {expected}")]
pub struct ConfigError {
    /// The variable.
    pub name: &'static str,
    /// Its value.
    pub value: String,
    /// What would be accepted.
    pub expected: &'static str,
}

impl Default for PortalConfig {
    fn default() -> Self {
        PortalConfig {
            hotspot_name: "Kiwix Hotspot".into(),
            hotspot_fqdn: "generic.offspot".into(),
            hotspot_language: "en".into(),
            hotspot_ip: Ipv4Addr::new(192, 168, 144, 1),
            captured_networks: Vec::new(),
            captured_address: Ipv4Addr::new(198, 51, 100, 1),
            http_port: 2080,
            https_port: 2443,
            timeout_minutes: 60,
            clear_interval_minutes: 60,
            footer_note: None,
            db_path: "/data/portal-users.json".into(),
            filter: Filter::Nft,
            setup_filter: true,
            bind_to: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            port: 2080,
            debug: false,
            nft_path: "nft".into(),
            arp_path: "/proc/net/arp".into(),
            branding_path: "/data/branding".into(),
            max_clients: 4096,
            max_connections: 2048,
        }
    }
}

impl PortalConfig {
    /// Reads the settings from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads the settings through `get` (a variable's value, if set).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut c = PortalConfig::default();
        // Empty values count as unset, as in a shell `VAR=` line.
        let var = |k: &str| get(k).filter(|v| !v.is_empty());
        fn parse<T: std::str::FromStr>(
            name: &'static str,
            value: String,
            expected: &'static str,
        ) -> Result<T, ConfigError> {
            value.trim().parse().map_err(|_| ConfigError {
                name,
                value,
                expected,
            })
        }
        if let Some(v) = var("HOTSPOT_NAME") {
            c.hotspot_name = v;
        }
        if let Some(v) = var("HOTSPOT_FQDN") {
            // It goes into the Location header and the pages' links.
            let host_ok = v.len() <= 255
                && v.split('.').all(|l| {
                    !l.is_empty()
                        && l.len() <= 63
                        && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                });
            if !host_ok {
                return Err(ConfigError {
                    name: "HOTSPOT_FQDN",
                    value: v,
                    expected: "a host name such as generic.offspot",
                });
            }
            c.hotspot_fqdn = v;
        }
        if let Some(v) = var("HOTSPOT_LANGUAGE") {
            // A language without a catalogue means English, with a warning.
            if !crate::lang::is_language_tag(&v) {
                return Err(ConfigError {
                    name: "HOTSPOT_LANGUAGE",
                    value: v,
                    expected: "a language tag such as en, fr or es",
                });
            }
            c.hotspot_language = v;
        }
        if let Some(v) = var("HOTSPOT_IP") {
            c.hotspot_ip = parse("HOTSPOT_IP", v, "an IPv4 address")?;
        }
        if let Some(v) = var("CAPTURED_NETWORKS") {
            c.captured_networks = v
                .split('|')
                .filter(|n| !n.trim().is_empty())
                .map(|n| n.trim().parse())
                .collect::<Result<_, _>>()
                .map_err(|_| ConfigError {
                    name: "CAPTURED_NETWORKS",
                    value: v.clone(),
                    expected: "|-separated IPv4 networks (a.b.c.d/n)",
                })?;
        }
        if let Some(v) = var("CAPTURED_ADDRESS") {
            let net: Ipv4Net = parse("CAPTURED_ADDRESS", v.clone(), "an IPv4 address")?;
            if net.prefix() != 32 {
                return Err(ConfigError {
                    name: "CAPTURED_ADDRESS",
                    value: v,
                    expected: "an IPv4 address (a /32)",
                });
            }
            c.captured_address = net.addr();
        }
        if let Some(v) = var("HTTP_PORT") {
            c.http_port = parse("HTTP_PORT", v, "a TCP port")?;
        }
        c.port = c.http_port;
        if let Some(v) = var("HTTPS_PORT") {
            c.https_port = parse("HTTPS_PORT", v, "a TCP port")?;
        }
        if let Some(v) = var("TIMEOUT") {
            c.timeout_minutes = parse("TIMEOUT", v, "a number of minutes")?;
        }
        if let Some(v) = var("CLEAR_PASSLIST_INTERVAL") {
            c.clear_interval_minutes = parse("CLEAR_PASSLIST_INTERVAL", v, "a number of minutes")?;
        }
        c.footer_note = var("FOOTER_NOTE");
        if let Some(v) = var("DB_PATH") {
            c.db_path = v.into();
        }
        if let Some(v) = var("FILTER_MODULE") {
            c.filter = match v.as_str() {
                "portal_filter" => Filter::Nft,
                "dummy_portal_filter" => Filter::Dummy,
                _ => {
                    return Err(ConfigError {
                        name: "FILTER_MODULE",
                        value: v,
                        expected: "portal_filter or dummy_portal_filter",
                    })
                }
            };
        }
        c.setup_filter = var("DONT_SETUP_FILTER").is_none();
        if let Some(v) = var("BIND_TO") {
            c.bind_to = parse("BIND_TO", v, "an IP address")?;
        }
        if let Some(v) = var("PORT") {
            c.port = parse("PORT", v, "a TCP port")?;
        }
        c.debug = var("DEBUG").is_some();
        if let Some(v) = var("NFT_PATH") {
            c.nft_path = v.into();
        }
        if let Some(v) = var("ARP_PATH") {
            c.arp_path = v.into();
        }
        if let Some(v) = var("BRANDING_PATH") {
            c.branding_path = v.into();
        }
        if let Some(v) = var("MAX_CLIENTS") {
            c.max_clients = parse("MAX_CLIENTS", v, "a positive number")?;
        }
        if let Some(v) = var("MAX_CONNECTIONS") {
            c.max_connections = parse("MAX_CONNECTIONS", v, "a positive number")?;
        }
        if c.max_clients == 0 || c.max_connections == 0 {
            return Err(ConfigError {
                name: if c.max_clients == 0 {
                    "MAX_CLIENTS"
                } else {
                    "MAX_CONNECTIONS"
                },
                value: "0".into(),
                expected: "a positive number",
            });
        }
        Ok(c)
    }

    /// The hotspot's language when the portal has a catalogue for it, else `None`
    /// (English is used).
    pub fn language(&self) -> Option<Lang> {
        Lang::from_tag(&self.hotspot_language)
    }

    /// The firewall view of these settings.
    pub fn captive(&self) -> Captive {
        Captive {
            hotspot_ip: self.hotspot_ip,
            captured_networks: self.captured_networks.clone(),
            captured_address: self.captured_address,
            http_port: self.http_port,
            https_port: self.https_port,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn from(pairs: &[(&str, &str)]) -> Result<PortalConfig, ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        PortalConfig::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn reads_offspot_variables() {
        let c = from(&[
            ("HOTSPOT_NAME", "My Spot"),
            ("CAPTURED_NETWORKS", "192.168.144.128/25|10.0.0.0/8"),
            ("CAPTURED_ADDRESS", "198.51.100.7/32"),
            ("TIMEOUT", "15"),
            ("HTTP_PORT", "3080"),
            ("FILTER_MODULE", "dummy_portal_filter"),
            ("DONT_SETUP_FILTER", "1"),
            ("HOTSPOT_LANGUAGE", "fr_FR"),
        ])
        .unwrap();
        assert_eq!(c.language(), Some(Lang::Fr));
        assert_eq!(c.hotspot_name, "My Spot");
        assert_eq!(c.captured_networks.len(), 2);
        assert_eq!(c.captured_address, Ipv4Addr::new(198, 51, 100, 7));
        assert_eq!((c.timeout_minutes, c.port), (15, 3080));
        assert_eq!(c.filter, Filter::Dummy);
        assert!(!c.setup_filter);
        assert_eq!(from(&[]).unwrap(), PortalConfig::default());
    }

    #[test]
    fn bad_values_name_the_variable() {
        let e = from(&[("TIMEOUT", "soon")]).unwrap_err();
        assert_eq!(e.name, "TIMEOUT");
        assert!(e.to_string().contains("\"soon\""), "{e}");
        assert_eq!(
            from(&[("CAPTURED_NETWORKS", "1.2.3.0/24|nope")])
                .unwrap_err()
                .name,
            "CAPTURED_NETWORKS"
        );
        assert_eq!(
            from(&[("CAPTURED_ADDRESS", "1.2.3.0/24")])
                .unwrap_err()
                .name,
            "CAPTURED_ADDRESS"
        );
        assert_eq!(
            from(&[("FILTER_MODULE", "x")]).unwrap_err().name,
            "FILTER_MODULE"
        );
        assert_eq!(
            from(&[("MAX_CLIENTS", "0")]).unwrap_err().name,
            "MAX_CLIENTS"
        );
        let e = from(&[("HOTSPOT_LANGUAGE", "fr;q=1")]).unwrap_err();
        assert_eq!(e.name, "HOTSPOT_LANGUAGE");
        assert!(e.to_string().contains("a language tag"), "{e}");
        assert_eq!(
            from(&[("HOTSPOT_LANGUAGE", "de")]).unwrap().language(),
            None
        );
        assert_eq!(from(&[]).unwrap().language(), Some(Lang::En));
    }
}
