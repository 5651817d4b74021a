//! Caddyfile generation for a Kiwix hotspot's host names (offspot's reverse proxy,
//! spec section 7), served natively by Caddy instead of containers.
//!
//! Sites, for `fqdn = <domain>.<tld>`:
//! - `<fqdn>`: the dashboard's static site; `/<service>` and `/<service>/…` redirect to
//!   `<service>.<fqdn>` for every other site below; `/` redirects to the dashboard's copy
//!   in the phone's language (`/fr/`, see [`ProxyConfig::dashboard_languages`]);
//! - the welcome domain: redirect to `<fqdn>`;
//! - `browse.<fqdn>`: kiwix-serve; `/catch/external*` shows the dashboard's `/blocked/`
//!   page, `/` goes back to the dashboard (kiwix-serve's own home is not used);
//! - `zim-download.<fqdn>`: the ZIM folder, as static files;
//! - `<sub>.<fqdn>` per files mapping: a folder, browsable;
//! - `<app>.<fqdn>` per app: a reverse proxy to the app's address;
//! - protected services: HTTP basic auth with a bcrypt hash whose salt is derived from
//!   the hotspot's seed, FQDN, service and user name (never from the password: a salt
//!   made from it would let a fast hash of each guess find the password without
//!   bcrypt), so the same configuration always gives the same bytes;
//! - any other host: 404.
//!
//! The output targets Caddy 2.6 (Debian bookworm) and later: `basicauth` (still accepted
//! by 2.10) with a base64-encoded hash (the only form 2.6 reads).

use base64::Engine;
use sha2::{Digest, Sha256};
use std::fmt::Write;

/// The bcrypt cost of basic-auth hashes: Caddy checks it on every request, and a
/// Raspberry Pi 3 needs about 0.1 s at cost 10 (Caddy's own default is higher).
pub const BCRYPT_COST: u32 = 10;

/// The subdomain of kiwix-serve.
pub const BROWSE: &str = "browse";
/// The subdomain of the ZIM downloads.
pub const ZIM_DOWNLOAD: &str = "zim-download";

/// What the reverse proxy serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyConfig {
    /// The hotspot's name, `<domain>.<tld>`.
    pub fqdn: String,
    /// The welcome domain (e.g. `goto.generic.offspot`), redirected to the FQDN.
    pub welcome_fqdn: Option<String>,
    /// The HTTP port Caddy listens on (80 on the device).
    pub http_port: u16,
    /// Also serve HTTPS with Caddy's internal CA (`tls internal`).
    pub https: bool,
    /// The HTTPS port (443 on the device).
    pub https_port: u16,
    /// Caddy's admin endpoint (`host:port`); `None` disables it.
    pub admin: Option<String>,
    /// The dashboard's static site directory.
    pub dashboard_root: String,
    /// Languages (two-letter ISO 639-1 codes) the dashboard has a copy in at `/<code>/`,
    /// its root being in the hotspot's language. `/` redirects to the copy of the first
    /// of these a phone's `Accept-Language` names (`fr-FR,fr;q=0.9,en;q=0.8` → `/fr/`):
    /// phones list languages most wanted first, and entries in other languages are
    /// passed over; a phone naming none of them (or `*` first, or refusing the first one
    /// it names with `q=0`) gets the root. Caddy's matchers compare the header with a
    /// regular expression, so weights do not reorder entries here (the portal, which
    /// parses them, does reorder).
    pub dashboard_languages: Vec<String>,
    /// kiwix-serve's address (`host:port`), served at `browse.<fqdn>`.
    pub kiwix: Option<String>,
    /// The ZIM folder, served at `zim-download.<fqdn>`.
    pub zim_download_root: Option<String>,
    /// Reverse-proxied applications, `<name>.<fqdn>` → address.
    pub apps: Vec<App>,
    /// Browsable folders, `<name>.<fqdn>` → directory.
    pub files: Vec<Files>,
    /// Services behind basic auth.
    pub protected: Vec<Protection>,
    /// Seeds the bcrypt salts with the FQDN, service and user name (empty by default):
    /// public like any salt, but different per hotspot when the builder gives one.
    pub salt_seed: Vec<u8>,
}

/// A reverse-proxied application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct App {
    /// Subdomain under the FQDN.
    pub name: String,
    /// Upstream `host:port`.
    pub upstream: String,
}

/// A folder served as static files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Files {
    /// Subdomain under the FQDN.
    pub name: String,
    /// Absolute directory.
    pub root: String,
}

/// Basic-auth credentials for one service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Protection {
    /// The service's subdomain (`browse`, an app or files name, …).
    pub service: String,
    /// User name.
    pub username: String,
    /// Clear-text password (only its hash is written).
    pub password: String,
}

/// Why a configuration cannot be turned into a Caddyfile.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Error {
    /// A host name is not a valid DNS name.
    #[error("{what}: invalid host name {value:?}: expected dot-separated labels of 1-63 letters, digits or '-', 255 characters at most")]
    HostName {
        /// Which option.
        what: String,
        /// The value given.
        value: String,
    },
    /// A subdomain label is invalid.
    #[error("{what}: invalid subdomain {value:?}: expected 1-63 lowercase letters, digits or '-', not starting or ending with '-'")]
    Label {
        /// Which option.
        what: String,
        /// The value given.
        value: String,
    },
    /// An upstream address is not `host:port`.
    #[error("{what}: invalid address {value:?}: expected host:port")]
    Upstream {
        /// Which option.
        what: String,
        /// The value given.
        value: String,
    },
    /// A path is not usable in a Caddyfile.
    #[error("{what}: invalid path {value:?}: expected an absolute path without spaces, quotes, braces or control characters")]
    Path {
        /// Which option.
        what: String,
        /// The value given.
        value: String,
    },
    /// Two sites use the same subdomain.
    #[error(
        "subdomain {0:?} is used twice (apps, files, browse and zim-download must all differ)"
    )]
    Duplicate(String),
    /// A protected service is not one of the sites.
    #[error("protected service {0:?} is not served (expected browse, zim-download, an app or a files name)")]
    UnknownProtected(String),
    /// A basic-auth user name is unusable.
    #[error("protected service {service:?}: invalid user name {value:?}: expected 1-64 characters without spaces, quotes, braces or control characters")]
    User {
        /// The service.
        service: String,
        /// The value given.
        value: String,
    },
    /// A basic-auth password is empty or too long for bcrypt.
    #[error("protected service {0:?}: the password must have 1 to 72 bytes")]
    Password(String),
    /// bcrypt failed.
    #[error("bcrypt: {0}")]
    Bcrypt(String),
    /// A dashboard language is not a two-letter code, or listed twice.
    #[error("dashboard language {0:?}: expected a two-letter lowercase ISO 639-1 code (en, fr, es), each once")]
    Language(String),
}

impl ProxyConfig {
    /// A configuration with offspot's defaults: ports 80/443, no HTTPS, no admin endpoint.
    pub fn new(fqdn: impl Into<String>, dashboard_root: impl Into<String>) -> Self {
        ProxyConfig {
            fqdn: fqdn.into(),
            welcome_fqdn: None,
            http_port: 80,
            https: false,
            https_port: 443,
            admin: None,
            dashboard_root: dashboard_root.into(),
            dashboard_languages: Vec::new(),
            kiwix: None,
            zim_download_root: None,
            apps: Vec::new(),
            files: Vec::new(),
            protected: Vec::new(),
            salt_seed: Vec::new(),
        }
    }

    /// Checks every value and renders the Caddyfile.
    pub fn caddyfile(&self) -> Result<String, Error> {
        self.validate()?;
        let mut out = String::new();
        out.push_str("# Generated by nixspot-proxy; rewritten at every boot.\n{\n");
        match &self.admin {
            Some(addr) => {
                let _ = writeln!(out, "\tadmin {addr}");
            }
            None => out.push_str("\tadmin off\n"),
        }
        let _ = writeln!(out, "\thttp_port {}", self.http_port);
        let _ = writeln!(out, "\thttps_port {}", self.https_port);
        if self.https {
            out.push_str("\tauto_https disable_redirects\n\tlocal_certs\n");
        } else {
            out.push_str("\tauto_https off\n");
        }
        out.push_str("}\n");

        let subdomains = self.subdomains();
        let dash = &self.dashboard_root;

        // The dashboard, with shortcuts to every service.
        self.site(&mut out, &self.fqdn, |body| {
            for sub in &subdomains {
                let _ = writeln!(body, "\t\t@{sub} path /{sub} /{sub}/*");
                let _ = writeln!(body, "\t\tredir @{sub} //{sub}.{}/ 302", self.fqdn);
            }
            if !self.dashboard_languages.is_empty() {
                // what `/` answers depends on the header: caches must know
                body.push_str("\t\theader / Vary Accept-Language\n");
            }
            for lang in &self.dashboard_languages {
                let pattern = accept_language_pattern(lang, &self.dashboard_languages);
                let _ = writeln!(
                    body,
                    "\t\t@lang_{lang} {{\n\t\t\tpath /\n\t\t\theader_regexp Accept-Language \"{pattern}\"\n\t\t}}\n\t\tredir @lang_{lang} /{lang}/ 302"
                );
            }
            let _ = writeln!(body, "\t\troot * {dash}\n\t\tfile_server");
        });
        if let Some(welcome) = &self.welcome_fqdn {
            self.site(&mut out, welcome, |body| {
                let _ = writeln!(body, "\t\tredir * //{}/ 302", self.fqdn);
            });
        }
        if let Some(kiwix) = &self.kiwix {
            self.service_site(&mut out, BROWSE, |body| {
                let _ = writeln!(
                    body,
                    "\t\thandle /catch/external* {{\n\t\t\troot * {dash}\n\t\t\trewrite * /blocked/?{{query}}\n\t\t\tfile_server\n\t\t}}"
                );
                let _ = writeln!(
                    body,
                    "\t\thandle / {{\n\t\t\tredir * //{}/ 302\n\t\t}}",
                    self.fqdn
                );
                let _ = writeln!(body, "\t\thandle {{\n\t\t\treverse_proxy {kiwix}\n\t\t}}");
            })?;
        }
        if let Some(root) = &self.zim_download_root {
            self.service_site(&mut out, ZIM_DOWNLOAD, |body| {
                let _ = writeln!(body, "\t\troot * {root}\n\t\tfile_server");
            })?;
        }
        for files in &self.files {
            self.service_site(&mut out, &files.name, |body| {
                let _ = writeln!(body, "\t\troot * {}\n\t\tfile_server browse", files.root);
            })?;
        }
        for app in &self.apps {
            self.service_site(&mut out, &app.name, |body| {
                let _ = writeln!(body, "\t\treverse_proxy {}", app.upstream);
            })?;
        }
        // Every other host name, on the HTTP port.
        out.push_str("\nhttp:// {\n\trespond \"Not found\" 404\n}\n");
        Ok(out)
    }

    /// Every service subdomain, in output order.
    fn subdomains(&self) -> Vec<&str> {
        let mut subs = Vec::new();
        if self.kiwix.is_some() {
            subs.push(BROWSE);
        }
        if self.zim_download_root.is_some() {
            subs.push(ZIM_DOWNLOAD);
        }
        subs.extend(self.files.iter().map(|f| f.name.as_str()));
        subs.extend(self.apps.iter().map(|a| a.name.as_str()));
        subs
    }

    /// Writes one site block; its handlers run in the written order (`route`).
    fn site(&self, out: &mut String, host: &str, body: impl FnOnce(&mut String)) {
        let _ = write!(out, "\nhttp://{host}");
        if self.https {
            let _ = write!(out, ", https://{host}");
        }
        out.push_str(" {\n");
        if self.https {
            out.push_str("\ttls internal\n");
        }
        out.push_str("\troute {\n");
        body(out);
        out.push_str("\t}\n}\n");
    }

    /// Writes a `<sub>.<fqdn>` site, behind basic auth when the service is protected.
    fn service_site(
        &self,
        out: &mut String,
        sub: &str,
        body: impl FnOnce(&mut String),
    ) -> Result<(), Error> {
        let mut auth = String::new();
        for p in self.protected.iter().filter(|p| p.service == sub) {
            let _ = writeln!(auth, "\t\t\t{} {}", p.username, self.basic_auth_hash(p)?);
        }
        let host = format!("{sub}.{}", self.fqdn);
        self.site(out, &host, |b| {
            if !auth.is_empty() {
                let _ = write!(b, "\t\tbasicauth {{\n{auth}\t\t}}\n");
            }
            body(b);
        });
        Ok(())
    }

    /// The base64-encoded bcrypt hash of `p`'s password that Caddy's `basicauth` reads.
    /// Its salt is reproducible and made of public inputs only (see `salt_seed`).
    pub fn basic_auth_hash(&self, p: &Protection) -> Result<String, Error> {
        let mut h = Sha256::new();
        for part in [
            b"nixspot-proxy basicauth salt".as_slice(),
            &self.salt_seed,
            self.fqdn.as_bytes(),
            p.service.as_bytes(),
            p.username.as_bytes(),
        ] {
            // Length-prefixed: no two different inputs give the same stream.
            h.update((part.len() as u64).to_le_bytes());
            h.update(part);
        }
        let digest = h.finalize();
        let mut salt = [0u8; 16];
        salt.copy_from_slice(&digest[..16]);
        let hash = bcrypt::hash_with_salt(p.password.as_bytes(), BCRYPT_COST, salt)
            .map_err(|e| Error::Bcrypt(e.to_string()))?
            .format_for_version(bcrypt::Version::TwoA);
        Ok(base64::engine::general_purpose::STANDARD.encode(hash))
    }

    fn validate(&self) -> Result<(), Error> {
        check_host("fqdn", &self.fqdn)?;
        if let Some(w) = &self.welcome_fqdn {
            check_host("welcome", w)?;
        }
        if let Some(a) = &self.admin {
            check_upstream("admin", a)?;
        }
        check_path("dashboard root", &self.dashboard_root)?;
        for (i, lang) in self.dashboard_languages.iter().enumerate() {
            let two_letters = lang.len() == 2 && lang.bytes().all(|b| b.is_ascii_lowercase());
            if !two_letters || self.dashboard_languages[..i].contains(lang) {
                return Err(Error::Language(lang.clone()));
            }
        }
        if let Some(k) = &self.kiwix {
            check_upstream("kiwix", k)?;
        }
        if let Some(z) = &self.zim_download_root {
            check_path("zim-download root", z)?;
        }
        for f in &self.files {
            check_label(&format!("files {:?}", f.name), &f.name)?;
            check_path(&format!("files {:?} root", f.name), &f.root)?;
        }
        for a in &self.apps {
            check_label(&format!("app {:?}", a.name), &a.name)?;
            check_upstream(&format!("app {:?}", a.name), &a.upstream)?;
        }
        let subs = self.subdomains();
        for (i, s) in subs.iter().enumerate() {
            if subs[..i].contains(s) {
                return Err(Error::Duplicate((*s).to_string()));
            }
        }
        for p in &self.protected {
            if !subs.contains(&p.service.as_str()) {
                return Err(Error::UnknownProtected(p.service.clone()));
            }
            if p.username.is_empty() || p.username.len() > 64 || p.username.chars().any(unsafe_char)
            {
                return Err(Error::User {
                    service: p.service.clone(),
                    value: p.username.clone(),
                });
            }
            if p.password.is_empty() || p.password.len() > 72 {
                return Err(Error::Password(p.service.clone()));
            }
        }
        Ok(())
    }
}

/// Characters that would change the meaning of a Caddyfile token.
fn unsafe_char(c: char) -> bool {
    c.is_whitespace() || c.is_control() || matches!(c, '"' | '\'' | '{' | '}' | '#' | '`' | '\\')
}

/// Whether `s` is a DNS label (lowercase, as Caddy matches hosts case-insensitively
/// but the files are meant to be canonical).
pub fn is_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && !s.starts_with('-')
        && !s.ends_with('-')
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Whether `s` is a host name of DNS labels.
pub fn is_host(s: &str) -> bool {
    s.len() <= 255 && s.split('.').all(is_label)
}

fn check_host(what: &str, value: &str) -> Result<(), Error> {
    if is_host(value) {
        Ok(())
    } else {
        Err(Error::HostName {
            what: what.into(),
            value: value.into(),
        })
    }
}

fn check_label(what: &str, value: &str) -> Result<(), Error> {
    if is_label(value) {
        Ok(())
    } else {
        Err(Error::Label {
            what: what.into(),
            value: value.into(),
        })
    }
}

/// A regular expression (RE2, as Caddy's `header_regexp` compiles it) matching an
/// `Accept-Language` value whose first entry in one of `languages` is in `target` and
/// not refused (`q=0`): any entries before it are in other languages (or empty). Written
/// without braces, backslashes or spaces, which the Caddyfile would read as
/// placeholders, escapes or token ends.
fn accept_language_pattern(target: &str, languages: &[String]) -> String {
    const WS: &str = "[[:space:]]*";
    // a primary subtag that is none of `languages`: one letter, three or more, or two
    // letters other than theirs
    let mut free_first = String::new();
    let mut two = Vec::new();
    for first in 'a'..='z' {
        let taken: Vec<char> = languages
            .iter()
            .filter(|l| l.starts_with(first))
            .filter_map(|l| l.chars().nth(1))
            .collect();
        if taken.is_empty() {
            free_first.push(first);
        } else {
            let rest: String = ('a'..='z').filter(|c| !taken.contains(c)).collect();
            two.push(format!("{first}[{rest}]"));
        }
    }
    if !free_first.is_empty() {
        two.push(format!("[{free_first}][a-z]"));
    }
    let other = format!("([a-z]|[a-z][a-z][a-z]+|{})", two.join("|"));
    let subtags = "([-_][a-z0-9]+)*";
    let skipped = format!("({WS}({other}{subtags})?{WS}(;[^,]*)?,)*");
    // no weight, or one above zero (`1`, `0.5`, `.5`; not `0`, `0.000`)
    let wanted = format!("({WS};{WS}q{WS}={WS}(1|0?[.][0-9]*[1-9])[^,]*)?");
    format!("(?i)^{skipped}{WS}{target}{subtags}{wanted}{WS}(,|$)")
}

/// `host:port` with a DNS name or IPv4 host and a non-zero port.
fn check_upstream(what: &str, value: &str) -> Result<(), Error> {
    let ok = value.rsplit_once(':').is_some_and(|(host, port)| {
        (is_host(host) || host.parse::<std::net::Ipv4Addr>().is_ok())
            && port.parse::<u16>().is_ok_and(|p| p != 0)
    });
    if ok {
        Ok(())
    } else {
        Err(Error::Upstream {
            what: what.into(),
            value: value.into(),
        })
    }
}

fn check_path(what: &str, value: &str) -> Result<(), Error> {
    if value.starts_with('/') && !value.chars().any(unsafe_char) {
        Ok(())
    } else {
        Err(Error::Path {
            what: what.into(),
            value: value.into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full() -> ProxyConfig {
        let mut c = ProxyConfig::new("generic.offspot", "/var/www/dashboard");
        c.welcome_fqdn = Some("goto.generic.offspot".into());
        c.kiwix = Some("127.0.0.1:8001".into());
        c.zim_download_root = Some("/data/contents/zims".into());
        c.apps.push(App {
            name: "wikifundi".into(),
            upstream: "127.0.0.1:9000".into(),
        });
        c.files.push(Files {
            name: "nomad".into(),
            root: "/data/contents/files/nomad".into(),
        });
        c.protected.push(Protection {
            service: "nomad".into(),
            username: "admin".into(),
            password: "s3cret pass".into(),
        });
        c
    }

    #[test]
    fn the_dashboard_root_redirects_by_language_only_when_asked() {
        let plain = full().caddyfile().unwrap();
        assert!(!plain.contains("Accept-Language"), "{plain}");
        let mut c = full();
        c.dashboard_languages = vec!["en".into(), "fr".into(), "es".into()];
        let out = c.caddyfile().unwrap();
        for lang in ["en", "fr", "es"] {
            assert!(
                out.contains(&format!("redir @lang_{lang} /{lang}/ 302")),
                "{out}"
            );
        }
        assert!(out.contains("header / Vary Accept-Language"), "{out}");
        // French is passed over only by the other languages' patterns
        let fr = accept_language_pattern("fr", &c.dashboard_languages);
        let en = accept_language_pattern("en", &c.dashboard_languages);
        assert!(fr.contains("f[abcdefghijklmnopqstuvwxyz]"), "{fr}");
        assert!(en.contains("f[abcdefghijklmnopqstuvwxyz]"), "{en}");
        assert!(!fr.contains(['{', '\\', ' ', '"']), "{fr}");
        for bad in ["FR", "fra", "f", "", "fr\"", "en"] {
            let mut c = full();
            c.dashboard_languages = vec!["en".into(), bad.into()];
            assert_eq!(c.caddyfile(), Err(Error::Language(bad.into())), "{bad:?}");
        }
    }

    #[test]
    fn output_is_reproducible_and_hides_the_password() {
        let a = full().caddyfile().unwrap();
        let b = full().caddyfile().unwrap();
        assert_eq!(a, b);
        assert!(!a.contains("s3cret"));
        assert!(a.contains("http://browse.generic.offspot {"));
        assert!(a.contains("redir @browse //browse.generic.offspot/ 302"));
    }

    #[test]
    fn hash_verifies_and_depends_on_every_input() {
        let p = Protection {
            service: "a".into(),
            username: "u".into(),
            password: "pw".into(),
        };
        let c = full();
        let encoded = c.basic_auth_hash(&p).unwrap();
        let raw = base64::engine::general_purpose::STANDARD
            .decode(&encoded)
            .unwrap();
        let raw = String::from_utf8(raw).unwrap();
        assert!(raw.starts_with("$2a$10$"), "{raw}");
        assert!(bcrypt::verify("pw", &raw).unwrap());
        assert!(!bcrypt::verify("pW", &raw).unwrap());
        let other = Protection {
            username: "v".into(),
            ..p.clone()
        };
        assert_ne!(c.basic_auth_hash(&other).unwrap(), encoded);
        let mut seeded = full();
        seeded.salt_seed = b"recipe seed".to_vec();
        assert_ne!(seeded.basic_auth_hash(&p).unwrap(), encoded);
        // The salt is the same whatever the password.
        let salt = |e: &str| {
            let raw = base64::engine::general_purpose::STANDARD.decode(e).unwrap();
            raw[7..29].to_vec()
        };
        let other_pw = Protection {
            password: "another".into(),
            ..p.clone()
        };
        assert_eq!(salt(&c.basic_auth_hash(&other_pw).unwrap()), salt(&encoded));
    }

    #[test]
    fn rejects_bad_values() {
        let mut c = full();
        c.fqdn = "bad host".into();
        assert!(matches!(c.caddyfile(), Err(Error::HostName { .. })));
        let mut c = full();
        c.apps[0].upstream = "127.0.0.1".into();
        assert!(matches!(c.caddyfile(), Err(Error::Upstream { .. })));
        let mut c = full();
        c.files[0].root = "/data/x }\nrespond 200".into();
        assert!(matches!(c.caddyfile(), Err(Error::Path { .. })));
        let mut c = full();
        c.apps[0].name = "browse".into();
        assert_eq!(c.caddyfile(), Err(Error::Duplicate("browse".into())));
        let mut c = full();
        c.protected[0].service = "admin".into();
        assert_eq!(c.caddyfile(), Err(Error::UnknownProtected("admin".into())));
        let mut c = full();
        c.protected[0].username = "a b".into();
        assert!(matches!(c.caddyfile(), Err(Error::User { .. })));
        let mut c = full();
        c.protected[0].password = "x".repeat(73);
        assert!(matches!(c.caddyfile(), Err(Error::Password(_))));
        let mut c = full();
        c.apps[0].name = "UPPER".into();
        assert!(matches!(c.caddyfile(), Err(Error::Label { .. })));
    }
}
