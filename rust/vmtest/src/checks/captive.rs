//! `captive`: the captive portal as phones meet it, from the phone on the simulated WiFi.

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use super::phone::{joined, Lease, Phone};
use super::Hotspot;
use crate::error::Result;
use crate::http::HttpResponse;
use crate::machine::Machine;

/// What an operating system's captive-portal probe expects once online.
#[derive(Debug, Clone, Copy)]
pub struct Probe {
    /// Who sends it.
    pub client: &'static str,
    /// The name it asks for.
    pub host: &'static str,
    /// The path.
    pub path: &'static str,
    /// The status that means "online".
    pub status: u16,
    /// The exact body that means "online".
    pub body: &'static str,
}

/// The probes of `shared/spec/wifi-and-pi4-vm.md` §2, with their exact "online" answers.
pub const PROBES: &[Probe] = &[
    Probe {
        client: "Android",
        host: "connectivitycheck.gstatic.com",
        path: "/generate_204",
        status: 204,
        body: "",
    },
    Probe {
        client: "Apple",
        host: "captive.apple.com",
        path: "/hotspot-detect.html",
        status: 200,
        body: "<HTML><HEAD><TITLE>Success</TITLE></HEAD><BODY>Success</BODY></HTML>",
    },
    Probe {
        client: "Windows",
        host: "www.msftconnecttest.com",
        path: "/connecttest.txt",
        status: 200,
        body: "Microsoft Connect Test",
    },
    Probe {
        client: "Firefox",
        host: "detectportal.firefox.com",
        path: "/success.txt",
        status: 200,
        body: "success\n",
    },
    Probe {
        client: "NetworkManager",
        host: "nmcheck.gnome.org",
        path: "/check_network_status.txt",
        status: 200,
        body: "NetworkManager is online\n",
    },
];

fn is_online(p: &Probe, r: &HttpResponse) -> bool {
    r.status == p.status && r.body == p.body.as_bytes()
}

/// A phone speaking one language (`None`: no Accept-Language).
struct Visitor<'a> {
    phone: &'a Phone,
    lease: Lease,
    language: Option<&'static str>,
}

impl Visitor<'_> {
    fn headers(&self) -> Vec<(&'static str, &'static str)> {
        self.language
            .map(|l| vec![("Accept-Language", l)])
            .unwrap_or_default()
    }

    /// Resolves `host` through the hotspot's DNS, as the phone would, and GETs `path`.
    fn get(&self, m: &mut Machine, host: &str, path: &str) -> Result<HttpResponse> {
        let ips = self.phone.resolve(m, self.lease.dns, host)?;
        let ip: Ipv4Addr = *ips
            .first()
            .ok_or_else(|| m.failure(format!("the hotspot's DNS does not resolve {host}")))?;
        self.phone.get(m, ip, host, path, &self.headers())
    }

    /// Every probe gets the portal's welcome page, none its "online" answer.
    fn captured(&self, m: &mut Machine, name: &str) -> Result<Vec<HttpResponse>> {
        let mut pages = Vec::new();
        for p in PROBES {
            let r = self.get(m, p.host, p.path)?;
            if is_online(p, &r) || !super::is_welcome(&r, name) {
                return Err(m.failure(format!(
                    "{} probe http://{}{} of an unregistered phone answered HTTP {} ({}), expected the portal's welcome page",
                    p.client,
                    p.host,
                    p.path,
                    r.status,
                    super::short_text(&r.text())
                )));
            }
            pages.push(r);
        }
        Ok(pages)
    }

    /// Every probe gets its exact "online" answer.
    fn online(&self, m: &mut Machine) -> Result<()> {
        for p in PROBES {
            let r = self.get(m, p.host, p.path)?;
            if !is_online(p, &r) {
                return Err(m.failure(format!(
                    "{} probe http://{}{} of a registered phone answered HTTP {} {:?}, expected HTTP {} {:?}",
                    p.client,
                    p.host,
                    p.path,
                    r.status,
                    super::short_text(&r.text()),
                    p.status,
                    p.body
                )));
            }
        }
        Ok(())
    }

    /// Registers through the portal (from any captured name); returns where it leads.
    fn register(&self, m: &mut Machine) -> Result<String> {
        let r = self.get(m, "example.org", "/register-hotspot/")?;
        let location = r.header("location").unwrap_or_default().to_string();
        if r.status != 302 || location.is_empty() {
            return Err(m.failure(format!(
                "/register-hotspot/ answered HTTP {} (Location {location:?}), expected a redirect to the dashboard",
                r.status
            )));
        }
        Ok(location)
    }
}

/// Loads the dashboard and a ZIM's main page through the hotspot's own names.
fn content(m: &mut Machine, v: &Visitor<'_>, fqdn: &str, name: &str) -> Result<String> {
    let address = v.phone.resolve(m, v.lease.dns, fqdn)?;
    if address != [v.lease.router] {
        return Err(m.failure(format!(
            "the hotspot's DNS answers {fqdn} with {address:?}, expected the hotspot {}",
            v.lease.router
        )));
    }
    let r = v.get(m, fqdn, "/")?;
    if r.status != 200 || r.header("server") != Some("Caddy") || !r.text().contains(name) {
        return Err(m.failure(format!(
            "the dashboard http://{fqdn}/ answered HTTP {} (Server {:?}) without the hotspot's name: {}",
            r.status,
            r.header("server"),
            super::short_text(&r.text())
        )));
    }
    let browse = format!("browse.{fqdn}");
    let catalog = v.get(m, &browse, "/catalog/v2/entries?count=-1")?;
    let books = super::catalog_books(&catalog.text());
    let Some((title, book)) = books.first() else {
        return Err(m.failure(format!(
            "http://{browse}/catalog/v2/entries lists no book (HTTP {}): {}",
            catalog.status,
            super::short_text(&catalog.text())
        )));
    };
    let mut path = book.clone();
    for _ in 0..4 {
        let r = v.get(m, &browse, &path)?;
        match r.status {
            200 => {
                let kind = r.header("content-type").unwrap_or_default();
                if !kind.starts_with("text/html") || r.body.is_empty() {
                    return Err(m.failure(format!(
                        "http://{browse}{path}: the main page of {title:?} is not HTML ({kind:?})"
                    )));
                }
                return Ok(format!("dashboard and {title:?} ({path}) through {fqdn}"));
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
                    "http://{browse}{path} answered HTTP {other}: {}",
                    super::short_text(&r.text())
                )))
            }
        }
    }
    Err(m.failure(format!("http://{browse}{book}: too many redirects")))
}

/// The hotspot's home `http://<fqdn>/` as a French phone asks for it: Caddy sends it to
/// the dashboard's French copy, which is French and names the hotspot. Returns where.
fn french_dashboard(m: &mut Machine, v: &Visitor<'_>, fqdn: &str, name: &str) -> Result<String> {
    let r = v.get(m, fqdn, "/")?;
    let to = r.header("location").unwrap_or_default().to_string();
    if r.status != 302 || to != "/fr/" {
        return Err(m.failure(format!(
            "http://{fqdn}/ with Accept-Language fr answered HTTP {} (Location {to:?}), expected a redirect to /fr/",
            r.status
        )));
    }
    let page = v.get(m, fqdn, &to)?;
    let text = page.text();
    if page.status != 200 || !text.contains("<html lang=\"fr\"") || !text.contains(name) {
        return Err(m.failure(format!(
            "http://{fqdn}{to} answered HTTP {} without a French page naming the hotspot: {}",
            page.status,
            super::short_text(&text)
        )));
    }
    Ok(to)
}

/// The check.
pub fn check_captive(m: &mut Machine, h: &Hotspot) -> Result<String> {
    super::wait_for_runtime(m)?;
    let name = h.require(m, &["services", "portal", "name"])?;
    let fqdn = h
        .fqdn()
        .ok_or_else(|| m.failure("offspot.yaml has no ap.domain/ap.tld"))?;
    let mut seen = Vec::new();

    // an English phone
    let (phone, lease) = joined(m, h, 3)?;
    let en = Visitor {
        phone: &phone,
        lease,
        language: None,
    };
    m.step("unregistered probes", |m| en.captured(m, &name))?;
    let to = m.step("register", |m| en.register(m))?;
    if to != format!("http://{fqdn}/") {
        return Err(m.failure(format!(
            "registering led to {to:?}, expected the dashboard http://{fqdn}/"
        )));
    }
    m.step("registered probes", |m| en.online(m))?;
    seen.push(format!(
        "{} probes: portal, then online after registering",
        PROBES.len()
    ));
    seen.push(m.step("content", |m| content(m, &en, &fqdn, &name))?);

    // a French phone (a new one: its own registration)
    let (phone, lease) = joined(m, h, 4)?;
    let fr = Visitor {
        phone: &phone,
        lease,
        language: Some("fr"),
    };
    let pages = m.step("French phone, unregistered", |m| fr.captured(m, &name))?;
    let french = pages.iter().all(|p| {
        p.header("content-language") == Some("fr") && p.text().contains("<html lang=\"fr\"")
    });
    if !french {
        return Err(m.failure(format!(
            "a phone asking for French got the welcome page in {:?}",
            pages.first().and_then(|p| p.header("content-language"))
        )));
    }
    let to = m.step("French phone, register", |m| fr.register(m))?;
    m.step("French phone, registered probes", |m| fr.online(m))?;
    let dashboard = m.step("French phone, dashboard", |m| {
        french_dashboard(m, &fr, &fqdn, &name)
    })?;
    seen.push(format!(
        "French phone: portal in French, registering led to {to}, http://{fqdn}/ to {dashboard}"
    ));

    // the registration expires (the portal sweeps as often as its timeout, at most hourly)
    let minutes = h.portal_timeout_minutes();
    if minutes > 5 {
        return Err(m.failure(format!(
            "services.portal.timeout is {minutes} minutes: too long to wait for; build the test hotspot (checks/vm/hotspot.nix)"
        )));
    }
    let registered = Instant::now();
    let limit = Duration::from_secs(minutes * 60 * 2 + 90);
    let android = PROBES[0];
    m.step("expiry", |m| loop {
        let r = fr.get(m, android.host, android.path)?;
        if super::is_welcome(&r, &name) {
            return Ok(());
        }
        if registered.elapsed() > limit {
            return Err(m.failure(format!(
                "the French phone is still online {} s after registering (timeout {minutes} min): HTTP {}",
                registered.elapsed().as_secs(),
                r.status
            )));
        }
        std::thread::sleep(Duration::from_secs(5));
    })?;
    seen.push(format!(
        "captured again {} s after registering",
        registered.elapsed().as_secs()
    ));
    phone.leave(m)?;
    Ok(seen.join("; "))
}
