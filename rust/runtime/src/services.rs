//! nixspot's own `services` key: native services instead of offspot's containers.
//!
//! ```yaml
//! services:
//!   kiwix:                      # kiwix-serve on 127.0.0.1, served at browse.<fqdn>
//!     zim-dir: /data/contents/zims      # default
//!     port: 8001                        # default
//!   dashboard:                  # nixspot-dashboard generate, served at <fqdn>
//!     home: /data/contents/dashboard.yaml   # default (offspot's home.yaml)
//!     www: /data/www/dashboard              # default: the generated site
//!     zim-dir: /data/contents/zims          # default
//!     refresh: 3600                         # seconds between regenerations; 0 = once per boot
//!   portal:                     # nixspot-portal (captive portal)
//!     name: Kiwix Hotspot                   # HOTSPOT_NAME; default: the SSID
//!     timeout: 60                           # minutes
//!     captured-networks: [192.168.144.128/25]   # default: the whole ap.network
//!     port: 2080
//!     https-port: 2443
//!     footer-note: null
//!     state: /data/portal-users.json
//!     branding: /data/branding
//!     filter: nft                           # or dummy (no firewall)
//!   proxy:                      # Caddy reverse proxy
//!     http-port: 80
//!     https: false                          # true: also HTTPS with Caddy's internal CA
//!     https-port: 443
//!     admin: null                           # host:port of Caddy's admin API; null = off
//!     zim-download: true                    # serve the ZIM folder at zim-download.<fqdn>
//!     apps: {wikifundi: "127.0.0.1:8080"}   # <name>.<fqdn> → address
//!     files: {nomad: /data/contents/files/nomad}   # <name>.<fqdn> → folder
//!     protected:                            # basic auth (bcrypt) in front of a service
//!       - {service: nomad, username: admin, password: secret}
//! ```
//! Each service may also be `true` (defaults) or `false`/absent (not run). The FQDN and
//! welcome name come from the `ap` key (applied now or at an earlier boot).

use crate::ap::Ap;
use crate::fsutil::shell_quote;
use crate::value::{describe, invalid, Invalid, Section};
use nixspot_portal::net::Ipv4Net;
use nixspot_proxy::{App, Files, Protection, ProxyConfig};
use serde_yaml::Value;

/// Default ZIM folder.
pub const ZIM_DIR: &str = "/data/contents/zims";
/// Default generated dashboard.
pub const DASHBOARD_WWW: &str = "/data/www/dashboard";

/// kiwix-serve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kiwix {
    /// Folder of `*.zim` files.
    pub zim_dir: String,
    /// Loopback port.
    pub port: u16,
}

/// The dashboard generator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dashboard {
    /// home.yaml.
    pub home: String,
    /// Output folder.
    pub www: String,
    /// Folder of ZIMs to discover.
    pub zim_dir: String,
    /// Seconds between regenerations (0 = once).
    pub refresh: u64,
}

/// The captive portal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Portal {
    /// Shown on the pages.
    pub name: String,
    /// Registration lifetime, minutes.
    pub timeout: u64,
    /// Captured client networks.
    pub captured_networks: Vec<Ipv4Net>,
    /// HTTP port.
    pub port: u16,
    /// HTTPS port (DNAT target).
    pub https_port: u16,
    /// Footer line.
    pub footer_note: Option<String>,
    /// Registrations file.
    pub state: String,
    /// Branding folder.
    pub branding: String,
    /// `nft` or `dummy`.
    pub nft: bool,
}

/// A validated `services` key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Services {
    /// kiwix-serve, if run.
    pub kiwix: Option<Kiwix>,
    /// The dashboard, if generated.
    pub dashboard: Option<Dashboard>,
    /// The portal, if run.
    pub portal: Option<Portal>,
    /// Caddy's configuration, if run.
    pub proxy: Option<ProxyConfig>,
}

/// A mapping, `true` (defaults) or `false`/null (off).
fn enabled<'a>(sec: &Section<'a>, key: &str) -> Result<Option<&'a Value>, Invalid> {
    static NULL: Value = Value::Null;
    match sec.raw(key) {
        None | Some(Value::Bool(false)) => Ok(None),
        Some(Value::Bool(true)) => Ok(Some(&NULL)),
        Some(v @ Value::Mapping(_)) => Ok(Some(v)),
        Some(other) => Err(invalid(
            sec.option(key),
            format!("expected a mapping, true or false, got {}", describe(other)),
        )),
    }
}

fn path(sec: &Section, key: &str, default: &str) -> Result<String, Invalid> {
    let p = sec.string(key)?.unwrap_or_else(|| default.to_string());
    let ok = p.starts_with('/')
        && !p.chars().any(|c| {
            c.is_control()
                || c.is_whitespace()
                || matches!(c, '"' | '\'' | '{' | '}' | '#' | '\\' | '`' | '$')
        });
    if ok {
        Ok(p)
    } else {
        Err(invalid(
            sec.option(key),
            format!(
                "expected an absolute path without spaces, quotes or shell characters, got {p:?}"
            ),
        ))
    }
}

fn port(sec: &Section, key: &str, default: u16) -> Result<u16, Invalid> {
    match sec.integer(key)? {
        None => Ok(default),
        Some(n) => u16::try_from(n).ok().filter(|p| *p != 0).ok_or_else(|| {
            invalid(
                sec.option(key),
                format!("expected a port from 1 to 65535, got {n}"),
            )
        }),
    }
}

impl Services {
    /// Parses the key for the access point `ap`; also returns unknown sub-options.
    pub fn parse(value: &Value, ap: &Ap) -> Result<(Services, Vec<String>), Invalid> {
        let top = Section::new(
            "services",
            value,
            &["kiwix", "dashboard", "portal", "proxy"],
        )?;
        let mut unknown = top.unknown.clone();

        let kiwix = match enabled(&top, "kiwix")? {
            None => None,
            Some(v) => {
                let s = Section::new("services.kiwix", v, &["zim-dir", "port"])?;
                unknown.extend(s.unknown.iter().cloned());
                Some(Kiwix {
                    zim_dir: path(&s, "zim-dir", ZIM_DIR)?,
                    port: port(&s, "port", 8001)?,
                })
            }
        };
        let dashboard = match enabled(&top, "dashboard")? {
            None => None,
            Some(v) => {
                let s = Section::new(
                    "services.dashboard",
                    v,
                    &["home", "www", "zim-dir", "refresh"],
                )?;
                unknown.extend(s.unknown.iter().cloned());
                Some(Dashboard {
                    home: path(&s, "home", "/data/contents/dashboard.yaml")?,
                    www: path(&s, "www", DASHBOARD_WWW)?,
                    zim_dir: path(&s, "zim-dir", ZIM_DIR)?,
                    refresh: s.integer("refresh")?.unwrap_or(3600),
                })
            }
        };
        let portal = match enabled(&top, "portal")? {
            None => None,
            Some(v) => {
                let s = Section::new(
                    "services.portal",
                    v,
                    &[
                        "name",
                        "timeout",
                        "captured-networks",
                        "port",
                        "https-port",
                        "footer-note",
                        "state",
                        "branding",
                        "filter",
                    ],
                )?;
                unknown.extend(s.unknown.iter().cloned());
                let nets = match s.strings("captured-networks")? {
                    None => vec![ap.network],
                    Some(list) => list
                        .iter()
                        .enumerate()
                        .map(|(i, n)| {
                            n.parse().map_err(|_| {
                                invalid(
                                    format!("services.portal.captured-networks[{i}]"),
                                    format!("expected an IPv4 network such as 192.168.144.128/25, got {n:?}"),
                                )
                            })
                        })
                        .collect::<Result<_, _>>()?,
                };
                let text = |k: &str| -> Result<Option<String>, Invalid> {
                    let v = s.string(k)?;
                    if v.as_deref()
                        .is_some_and(|t| t.chars().any(char::is_control))
                    {
                        return Err(invalid(
                            s.option(k),
                            "must be one line without control characters",
                        ));
                    }
                    Ok(v)
                };
                let nft = match s.string("filter")?.as_deref() {
                    None | Some("nft") => true,
                    Some("dummy") => false,
                    Some(other) => {
                        return Err(invalid(
                            "services.portal.filter",
                            format!("expected nft or dummy, got {other:?}"),
                        ))
                    }
                };
                Some(Portal {
                    name: text("name")?.unwrap_or_else(|| ap.ssid.clone()),
                    timeout: s.integer("timeout")?.unwrap_or(60),
                    captured_networks: nets,
                    port: port(&s, "port", 2080)?,
                    https_port: port(&s, "https-port", 2443)?,
                    footer_note: text("footer-note")?,
                    state: path(&s, "state", "/data/portal-users.json")?,
                    branding: path(&s, "branding", "/data/branding")?,
                    nft,
                })
            }
        };
        let proxy = match enabled(&top, "proxy")? {
            None => None,
            Some(v) => {
                let s = Section::new(
                    "services.proxy",
                    v,
                    &[
                        "http-port",
                        "https",
                        "https-port",
                        "admin",
                        "zim-download",
                        "apps",
                        "files",
                        "protected",
                    ],
                )?;
                unknown.extend(s.unknown.iter().cloned());
                let www = dashboard
                    .as_ref()
                    .map(|d| d.www.clone())
                    .unwrap_or_else(|| DASHBOARD_WWW.to_string());
                let mut c = ProxyConfig::new(ap.fqdn(), www);
                c.welcome_fqdn = Some(ap.welcome_fqdn());
                c.http_port = port(&s, "http-port", 80)?;
                c.https = s.boolean("https")?.unwrap_or(false);
                c.https_port = port(&s, "https-port", 443)?;
                c.admin = s.string("admin")?;
                if let Some(k) = &kiwix {
                    c.kiwix = Some(format!("127.0.0.1:{}", k.port));
                    if s.boolean("zim-download")?.unwrap_or(true) {
                        c.zim_download_root = Some(k.zim_dir.clone());
                    }
                }
                for (key, is_app) in [("apps", true), ("files", false)] {
                    let Some(raw) = s.raw(key) else { continue };
                    let Value::Mapping(m) = raw else {
                        return Err(invalid(
                            s.option(key),
                            format!("expected a mapping of name: value, got {}", describe(raw)),
                        ));
                    };
                    for (name, target) in m {
                        let opt = format!("services.proxy.{key}");
                        let name = crate::value::scalar_string(&opt, name)?;
                        let target = crate::value::scalar_string(&format!("{opt}.{name}"), target)?;
                        if is_app {
                            c.apps.push(App {
                                name,
                                upstream: target,
                            });
                        } else {
                            c.files.push(Files { name, root: target });
                        }
                    }
                }
                if let Some(raw) = s.raw("protected") {
                    let Value::Sequence(items) = raw else {
                        return Err(invalid(
                            "services.proxy.protected",
                            format!(
                                "expected a list of {{service, username, password}}, got {}",
                                describe(raw)
                            ),
                        ));
                    };
                    for (i, item) in items.iter().enumerate() {
                        let name = format!("services.proxy.protected[{i}]");
                        let p = Section::new(&name, item, &["service", "username", "password"])?;
                        let need =
                            |k: &str| p.string(k)?.ok_or_else(|| invalid(p.option(k), "required"));
                        c.protected.push(Protection {
                            service: need("service")?,
                            username: need("username")?,
                            password: need("password")?,
                        });
                    }
                }
                // Renders once to report every Caddyfile problem under this key.
                c.caddyfile()
                    .map_err(|e| invalid("services.proxy", e.to_string()))?;
                Some(c)
            }
        };
        Ok((
            Services {
                kiwix,
                dashboard,
                portal,
                proxy,
            },
            unknown,
        ))
    }

    /// The portal's environment file (`KEY='value'` lines, sourced by its run script).
    pub fn portal_env(&self, ap: &Ap) -> Option<String> {
        let p = self.portal.as_ref()?;
        let nets: Vec<String> = p
            .captured_networks
            .iter()
            .map(ToString::to_string)
            .collect();
        let mut vars = vec![
            ("HOTSPOT_NAME", p.name.clone()),
            ("HOTSPOT_FQDN", ap.fqdn()),
            ("HOTSPOT_IP", ap.address.to_string()),
            ("CAPTURED_NETWORKS", nets.join("|")),
            ("CAPTURED_ADDRESS", ap.captured_address.to_string()),
            ("HTTP_PORT", p.port.to_string()),
            ("HTTPS_PORT", p.https_port.to_string()),
            ("TIMEOUT", p.timeout.to_string()),
            (
                "CLEAR_PASSLIST_INTERVAL",
                p.timeout.clamp(1, 60).to_string(),
            ),
            ("DB_PATH", p.state.clone()),
            ("BRANDING_PATH", p.branding.clone()),
            (
                "FILTER_MODULE",
                if p.nft {
                    "portal_filter"
                } else {
                    "dummy_portal_filter"
                }
                .to_string(),
            ),
        ];
        if let Some(f) = &p.footer_note {
            vars.push(("FOOTER_NOTE", f.clone()));
        }
        let mut out = String::from("# Generated by nixspot-runtime (services.portal).\n");
        for (k, v) in vars {
            out.push_str(&format!("{k}={}\n", shell_quote(&v)));
        }
        Some(out)
    }

    /// `(name, run script)` of every service to enable besides hostapd and dnsmasq.
    pub fn run_scripts(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if let Some(k) = &self.kiwix {
            out.push((
                "kiwix-serve",
                format!(
                    "set -- {dir}/*.zim\nif [ ! -e \"$1\" ]; then\n\techo \"kiwix-serve: no ZIM file in {dir}\" >&2\n\texec sleep 60\nfi\n\
                     exec kiwix-serve --blockexternal --nodatealiases --address 127.0.0.1 --port {port} \"$@\"\n",
                    dir = shell_quote(&k.zim_dir),
                    port = k.port
                ),
            ));
        }
        if let Some(d) = &self.dashboard {
            let sleep = if d.refresh == 0 {
                2_147_483_647
            } else {
                d.refresh
            };
            out.push((
                "nixspot-dashboard",
                format!(
                    "export PACKAGES_PATH={home} DEST_DIR={www} ZIM_DIR={zims}\n\
                     export KIWIX_READER_LINK_TPL='//browse.{{fqdn}}/viewer#{{zim_name}}'\n\
                     export KIWIX_DOWNLOAD_LINK_TPL='//zim-download.{{fqdn}}/{{zim_filename}}'\n\
                     nixspot-dashboard generate || echo 'nixspot-dashboard: generation failed' >&2\n\
                     exec sleep {sleep}\n",
                    home = shell_quote(&d.home),
                    www = shell_quote(&d.www),
                    zims = shell_quote(&d.zim_dir),
                ),
            ));
        }
        if self.proxy.is_some() {
            out.push((
                "caddy",
                "export HOME=/var/lib/caddy XDG_DATA_HOME=/var/lib/caddy/data XDG_CONFIG_HOME=/var/lib/caddy/config\n\
                 mkdir -p /var/lib/caddy\n\
                 exec caddy run --config /etc/caddy/Caddyfile --adapter caddyfile\n"
                    .to_string(),
            ));
        }
        if self.portal.is_some() {
            out.push((
                "nixspot-portal",
                "set -a\n. /etc/nixspot/portal.env\nset +a\nexec nixspot-portal\n".to_string(),
            ));
        }
        out
    }
}
