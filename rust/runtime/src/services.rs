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
//!     language: fr                          # HOTSPOT_LANGUAGE: pages for phones asking for none the portal speaks; default English
//!     state: /data/portal/users.json    # in a folder of its own below /data
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
//!
//! # Privileges
//! Every service runs as its own system user (declared with fixed ids by nixspot's base
//! image) through `nixspot-runtime run-as` ([`crate::privilege`]), with `no_new_privs`
//! and only the capabilities it needs, kept as ambient capabilities:
//!
//! | service | user | capabilities | writes |
//! |---|---|---|---|
//! | kiwix-serve | [`KIWIX_USER`] | `net_bind_service` only for a port below 1024 | nothing |
//! | nixspot-dashboard | [`DASHBOARD_USER`] | none | `www` (home.yaml is read, never rewritten) |
//! | caddy | [`CADDY_USER`] | `net_bind_service` for ports below 1024 | its home, `/var/lib/caddy` |
//! | nixspot-portal | [`PORTAL_USER`] | `net_admin` with the `nft` filter (for its `nft` runs), `net_bind_service` for a port below 1024 | the folder of `state` |
//!
//! Content (`/data/contents`) stays root's and is only read. The runtime gives each
//! service the folder it writes ([`Services::owned_dirs`]); that is why such a folder must
//! lie below `/data`, outside `/data/contents`, and belong to one service only.

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
/// Default registrations file of the portal.
pub const PORTAL_STATE: &str = "/data/portal/users.json";

/// The user kiwix-serve runs as.
pub const KIWIX_USER: &str = "kiwix";
/// The user the dashboard generator runs as.
pub const DASHBOARD_USER: &str = "nixspot-dashboard";
/// The user Caddy runs as (Debian's caddy package's).
pub const CADDY_USER: &str = "caddy";
/// The user the captive portal runs as.
pub const PORTAL_USER: &str = "nixspot-portal";

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
    /// The hotspot's language (a BCP 47 tag such as `fr` or `pt-BR`): the portal's
    /// pages for a phone that asks for no language the portal speaks.
    pub language: Option<String>,
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

fn path(sec: &Section<'_>, key: &str, default: &str) -> Result<String, Invalid> {
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

/// Why `dir` cannot be given to a service, if it cannot: it must lie below `/data`
/// (never `/data` itself), outside the read-only content, written without `.`/`..`.
fn unownable(dir: &str) -> Option<&'static str> {
    let rest = dir.strip_prefix("/data/")?;
    if rest
        .split('/')
        .any(|c| c.is_empty() || c == "." || c == "..")
    {
        return Some("a plain path (no empty, `.` or `..` component)");
    }
    if rest == "contents" || rest.starts_with("contents/") {
        return Some("a folder outside /data/contents (content is read-only for services)");
    }
    None
}

/// Checks that the folder `dir` (from option `key`) may be owned by a service.
fn ownable(sec: &Section<'_>, key: &str, dir: &str) -> Result<(), Invalid> {
    let why = if dir.starts_with("/data/") {
        unownable(dir)
    } else {
        Some("a folder below /data")
    };
    match why {
        None => Ok(()),
        Some(expected) => Err(invalid(
            sec.option(key),
            format!("the service owns this folder, so it must be {expected}, got {dir:?}"),
        )),
    }
}

/// The folder holding file `path`.
fn parent(path: &str) -> &str {
    path.rsplit_once('/').map_or("/", |(d, _)| d)
}

/// Whether one of the folders is the other or inside it.
fn nested(a: &str, b: &str) -> bool {
    let inside = |x: &str, y: &str| x == y || x.starts_with(&format!("{y}/"));
    inside(a, b) || inside(b, a)
}

/// The hotspot's language: a language tag (`fr`, `pt-BR`, `fr_FR`), checked as the
/// portal checks `HOTSPOT_LANGUAGE` ([`nixspot_portal::lang::is_language_tag`]).
fn language_tag(sec: &Section<'_>, key: &str) -> Result<Option<String>, Invalid> {
    match sec.string(key)? {
        Some(tag) if !nixspot_portal::lang::is_language_tag(&tag) => Err(invalid(
            sec.option(key),
            format!("expected a language tag such as fr or pt-BR, got {tag:?}"),
        )),
        tag => Ok(tag),
    }
}

fn port(sec: &Section<'_>, key: &str, default: u16) -> Result<u16, Invalid> {
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
                let www = path(&s, "www", DASHBOARD_WWW)?;
                ownable(&s, "www", &www)?;
                Some(Dashboard {
                    home: path(&s, "home", "/data/contents/dashboard.yaml")?,
                    www,
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
                        "language",
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
                let state = path(&s, "state", PORTAL_STATE)?;
                ownable(&s, "state", parent(&state))?;
                if let Some(d) = &dashboard {
                    if nested(parent(&state), &d.www) {
                        return Err(invalid(
                            s.option("state"),
                            format!(
                                "the portal owns the folder of its state, which must not hold or be inside the dashboard's www {:?}, got {state:?}",
                                d.www
                            ),
                        ));
                    }
                }
                Some(Portal {
                    name: text("name")?.unwrap_or_else(|| ap.ssid.clone()),
                    timeout: s.integer("timeout")?.unwrap_or(60),
                    captured_networks: nets,
                    port: port(&s, "port", 2080)?,
                    https_port: port(&s, "https-port", 2443)?,
                    footer_note: text("footer-note")?,
                    language: language_tag(&s, "language")?,
                    state,
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
                if dashboard.is_some() {
                    // nixspot-dashboard writes a copy of the site per language it speaks
                    c.dashboard_languages = nixspot_portal::lang::Lang::ALL
                        .iter()
                        .map(|l| l.tag().to_string())
                        .collect();
                }
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
        if let Some(l) = &p.language {
            vars.push(("HOTSPOT_LANGUAGE", l.clone()));
        }
        let mut out = String::from("# Generated by nixspot-runtime (services.portal).\n");
        for (k, v) in vars {
            out.push_str(&format!("{k}={}\n", shell_quote(&v)));
        }
        Some(out)
    }

    /// The folders the services write, `(folder, user, mode)`: the runtime makes each
    /// and gives it, with what it holds, to its service's user.
    pub fn owned_dirs(&self) -> Vec<(String, &'static str, u32)> {
        let mut out = Vec::new();
        if let Some(d) = &self.dashboard {
            // Caddy serves it: readable by all.
            out.push((d.www.clone(), DASHBOARD_USER, 0o755));
        }
        if let Some(p) = &self.portal {
            // Registrations (client addresses) are the portal's alone.
            out.push((parent(&p.state).to_string(), PORTAL_USER, 0o700));
        }
        out
    }

    /// `(name, run script)` of every service to enable besides hostapd and dnsmasq.
    pub fn run_scripts(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        // The heavy starters (kiwix-serve: seconds of CPU; the dashboard's generator)
        // wait for the proxy to listen: at boot every service starts at once, and the
        // proxy and the portal are what a phone meets first.
        let after_proxy = self
            .proxy
            .as_ref()
            .map(|p| after_listening(p.http_port))
            .unwrap_or_default();
        if let Some(k) = &self.kiwix {
            out.push((
                "kiwix-serve",
                format!(
                    "{after_proxy}set -- {dir}/*.zim\nif [ ! -e \"$1\" ]; then\n\techo \"kiwix-serve: no ZIM file in {dir}\" >&2\n\texec sleep 60\nfi\n\
                     exec {run_as} -- kiwix-serve --blockexternal --nodatealiases --address 127.0.0.1 --port {port} \"$@\"\n",
                    dir = shell_quote(&k.zim_dir),
                    port = k.port,
                    run_as = run_as(KIWIX_USER, &[low_port(k.port)]),
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
                    "{after_proxy}export PACKAGES_PATH={home} DEST_DIR={www} ZIM_DIR={zims} DONT_UPDATE_PACKAGES=1\n\
                     export KIWIX_READER_LINK_TPL='//browse.{{fqdn}}/viewer#{{zim_name}}'\n\
                     export KIWIX_DOWNLOAD_LINK_TPL='//zim-download.{{fqdn}}/{{zim_filename}}'\n\
                     # Content is read-only here: discovery alone lists the ZIMs without home.yaml.\n\
                     [ -e \"$PACKAGES_PATH\" ] || PACKAGES_PATH=/dev/null\n\
                     exec {run_as} -- sh -c 'nixspot-dashboard generate || echo \"nixspot-dashboard: generation failed\" >&2; exec sleep {sleep}'\n",
                    home = shell_quote(&d.home),
                    www = shell_quote(&d.www),
                    zims = shell_quote(&d.zim_dir),
                    run_as = run_as(DASHBOARD_USER, &[]),
                ),
            ));
        }
        if let Some(p) = &self.proxy {
            let ports = [Some(p.http_port), p.https.then_some(p.https_port)];
            let bind = ports.iter().flatten().find_map(|port| low_port(*port));
            out.push((
                "caddy",
                format!(
                    "export XDG_DATA_HOME=/var/lib/caddy/data XDG_CONFIG_HOME=/var/lib/caddy/config\n\
                     exec {} -- caddy run --config /etc/caddy/Caddyfile --adapter caddyfile\n",
                    run_as(CADDY_USER, &[bind])
                ),
            ));
        }
        if let Some(p) = &self.portal {
            let caps = [p.nft.then_some("net_admin"), low_port(p.port)];
            out.push((
                "nixspot-portal",
                format!(
                    "set -a\n. /etc/nixspot/portal.env\nset +a\nexec {} -- nixspot-portal\n",
                    run_as(PORTAL_USER, &caps)
                ),
            ));
        }
        out
    }
}

/// Shell lines that wait, up to 30 s, until something listens on TCP `port` (IPv4 or
/// IPv6, read from `/proc/net`: no tool needed; state `0A` is LISTEN).
fn after_listening(port: u16) -> String {
    format!(
        "i=0\nwhile [ $i -lt 30 ] && ! grep -qs ':{port:04X} [0-9A-F]*:[0-9A-F]* 0A' /proc/net/tcp /proc/net/tcp6; do\n\
         \tsleep 1\n\ti=$((i + 1))\ndone\n"
    )
}

/// `net_bind_service` when `port` is privileged.
fn low_port(port: u16) -> Option<&'static str> {
    (port < 1024).then_some("net_bind_service")
}

/// The `nixspot-runtime run-as` command line for `user` with `caps`.
fn run_as(user: &str, caps: &[Option<&str>]) -> String {
    let mut s = format!("nixspot-runtime run-as {user}");
    for c in caps.iter().flatten() {
        s.push_str(" --cap ");
        s.push_str(c);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::after_listening;
    use std::process::Command;

    /// Runs the wait lines, then `echo started`, bounded by `timeout 4`.
    fn wait_for(port: u16) -> (Option<i32>, String) {
        let script = format!("{}echo started\n", after_listening(port));
        let out = Command::new("timeout")
            .args(["4", "sh", "-c", &script])
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    }

    #[test]
    fn a_service_after_the_proxy_starts_once_the_port_listens_and_not_before() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        assert_eq!(wait_for(port), (Some(0), "started\n".to_string()));
        drop(listener);
        // Nothing listens any more: still waiting when `timeout` ends it.
        assert_eq!(wait_for(port), (Some(124), String::new()));
    }
}
