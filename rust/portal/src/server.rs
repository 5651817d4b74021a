//! The HTTP side: routing, registration, expiry and a bounded accept loop.

use crate::clock::Clock;
use crate::config::PortalConfig;
use crate::firewall::{Firewall, FirewallError};
use crate::lang::{negotiate, Lang};
use crate::pages::{LangPages, Pages, LOGO_SVG, STYLE_CSS};
use crate::platforms;
use crate::store::{mac_from_arp, Client, Store, StoreError};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use axum::{Extension, Router};
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// offspot's header on every answer.
pub const CACHE_CONTROL: &str = "public,must-revalidate,max-age=0,s-maxage=3600";

/// The shortest time (seconds) between two renewals of one client's registration: a
/// client asking again sooner changes nothing (no `nft`, no state write).
pub const RENEW_INTERVAL: u64 = 60;

/// The peer address of a connection, attached to each of its requests.
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub SocketAddr);

/// Why a registration failed.
#[derive(Debug, thiserror::Error)]
pub enum RegisterError {
    /// The firewall refused the change.
    #[error("firewall: {0}")]
    Firewall(#[from] FirewallError),
    /// The state could not be saved.
    #[error("state: {0}")]
    Store(#[from] StoreError),
}

/// The portal's shared state.
pub struct Portal {
    cfg: PortalConfig,
    clock: Arc<dyn Clock>,
    firewall: Arc<dyn Firewall>,
    store: Mutex<Store>,
    pages: Pages,
    /// The hotspot's language (`HOTSPOT_LANGUAGE`, English when the portal lacks it).
    language: Lang,
}

impl Portal {
    /// Loads the saved registrations (an unreadable file is reported and replaced) and
    /// renders the pages. Nothing touches the firewall yet: see [`Portal::restore`].
    pub fn new(cfg: PortalConfig, clock: Arc<dyn Clock>, firewall: Arc<dyn Firewall>) -> Self {
        let store = Store::load(&cfg.db_path).unwrap_or_else(|e| {
            tracing::warn!("{e}; starting with no registered client");
            Store::default()
        });
        let logo = if cfg.branding_path.join("logo.png").is_file() {
            "/branding/logo.png"
        } else {
            "/assets/logo.svg"
        };
        let language = cfg.language().unwrap_or_else(|| {
            tracing::warn!(
                "HOTSPOT_LANGUAGE={:?}: the portal has no catalogue for it (it has {}); English is used",
                cfg.hotspot_language,
                Lang::ALL.map(Lang::tag).join(", ")
            );
            Lang::En
        });
        let pages = Pages::render(&cfg, logo, language);
        for p in &pages.problems {
            tracing::warn!("{p}");
        }
        Portal {
            cfg,
            clock,
            firewall,
            store: Mutex::new(store),
            pages,
            language,
        }
    }

    /// The settings.
    pub fn config(&self) -> &PortalConfig {
        &self.cfg
    }

    /// The hotspot's language: what visitors whose phone asks for none of the portal's
    /// languages get.
    pub fn language(&self) -> Lang {
        self.language
    }

    /// The language to answer a request with these headers in.
    pub fn language_for(&self, headers: &HeaderMap) -> Lang {
        let accept = headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok());
        negotiate(accept, self.language)
    }

    fn store(&self) -> MutexGuard<'_, Store> {
        // A panic while holding the lock cannot leave the map half-updated.
        self.store.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn lifetime(&self) -> u64 {
        self.cfg.timeout_minutes.saturating_mul(60)
    }

    /// Sets up the firewall if configured to, then lets every still-valid saved
    /// registration through (expired ones are dropped).
    pub fn restore(&self) -> Result<(), RegisterError> {
        if self.cfg.setup_filter {
            self.firewall.setup()?;
        }
        let now = self.clock.now();
        let mut store = self.store();
        let expired = store.expire(now.saturating_sub(self.lifetime()));
        let ips: Vec<Ipv4Addr> = store.clients().map(|c| c.ip).collect();
        self.firewall.restore(&ips)?;
        if !expired.is_empty() {
            store.save(&self.cfg.db_path)?;
        }
        Ok(())
    }

    /// Whether `ip` holds a registration that has not expired.
    pub fn is_registered(&self, ip: Ipv4Addr) -> bool {
        let now = self.clock.now();
        self.store()
            .get(ip)
            .is_some_and(|c| now < c.registered_on.saturating_add(self.lifetime()))
    }

    /// Registers `ip`: firewall first, then the saved state. When full, expired and
    /// then the oldest registrations make room. A client still registered is only
    /// renewed (state saved, the firewall already lets it through), and at most once
    /// per [`RENEW_INTERVAL`]: asking again costs no `nft` run and no SD card write.
    pub fn register(&self, ip: Ipv4Addr) -> Result<(), RegisterError> {
        let now = self.clock.now();
        let mut store = self.store();
        if let Some(c) = store.get(ip) {
            if now < c.registered_on.saturating_add(self.lifetime()) {
                if now < c.registered_on.saturating_add(RENEW_INTERVAL) {
                    return Ok(());
                }
                let renewed = Client {
                    registered_on: now,
                    ..c.clone()
                };
                store.insert(renewed);
                store.save(&self.cfg.db_path)?;
                return Ok(());
            }
        }
        let mac = std::fs::read_to_string(&self.cfg.arp_path)
            .ok()
            .and_then(|t| mac_from_arp(&t, ip));
        if store.get(ip).is_none() && store.len() >= self.cfg.max_clients {
            let mut evicted = store.expire(now.saturating_sub(self.lifetime()));
            if store.len() >= self.cfg.max_clients {
                if let Some(old) = store.oldest().and_then(|o| store.remove(o)) {
                    evicted.push(old);
                }
            }
            for c in evicted {
                if let Err(e) = self.firewall.deny(c.ip) {
                    tracing::warn!("cannot remove {} from the passlist: {e}", c.ip);
                }
            }
        }
        self.firewall.allow(ip)?;
        store.insert(Client {
            ip,
            mac: mac.clone(),
            registered_on: now,
        });
        store.save(&self.cfg.db_path)?;
        tracing::info!(
            "registered {ip}{}",
            mac.map(|m| format!(" ({m})")).unwrap_or_default()
        );
        Ok(())
    }

    /// Removes expired registrations from the firewall and the state; returns how many.
    pub fn sweep(&self) -> usize {
        let now = self.clock.now();
        let mut store = self.store();
        let expired = store.expire(now.saturating_sub(self.lifetime()));
        for c in &expired {
            if let Err(e) = self.firewall.deny(c.ip) {
                tracing::warn!("cannot remove {} from the passlist: {e}", c.ip);
            }
        }
        if !expired.is_empty() {
            if let Err(e) = store.save(&self.cfg.db_path) {
                tracing::warn!("{e}");
            }
            tracing::info!("{} registration(s) expired", expired.len());
        }
        expired.len()
    }

    /// The HTTP routes (every path goes through one handler, as in offspot).
    pub fn router(self: Arc<Self>) -> Router {
        Router::new().fallback(handle).with_state(self)
    }
}

/// The client's IPv4 address: the peer's, or, when the peer is a local proxy (loopback),
/// the first `X-Forwarded-For` entry. Trusting that header from anyone else would let a
/// client register another client's address.
pub fn client_ip(peer: SocketAddr, headers: &HeaderMap) -> Option<Ipv4Addr> {
    let ip = match peer.ip() {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(IpAddr::V4)
            .unwrap_or(IpAddr::V6(v6)),
    };
    if ip.is_loopback() {
        let forwarded = headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .and_then(|v| v.trim().parse::<Ipv4Addr>().ok());
        if forwarded.is_some() {
            return forwarded;
        }
    }
    match ip {
        IpAddr::V4(v4) => Some(v4),
        IpAddr::V6(_) => None,
    }
}

/// The `Host` header without its port.
fn host_of(headers: &HeaderMap) -> String {
    let raw = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    match raw.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h.to_string(),
        _ => raw.to_string(),
    }
}

fn response(status: StatusCode, content_type: &str, body: impl Into<Body>) -> Response {
    let mut r = Response::new(body.into());
    *r.status_mut() = status;
    if !content_type.is_empty() {
        if let Ok(v) = HeaderValue::from_str(content_type) {
            r.headers_mut().insert(header::CONTENT_TYPE, v);
        }
    }
    r
}

fn html(body: &str) -> Response {
    response(StatusCode::OK, "text/html; charset=utf-8", body.to_string())
}

/// Marks `r` as being in `lang`, chosen from the request's `Accept-Language` (so caches
/// keep one copy per language).
fn localized(mut r: Response, lang: Lang) -> Response {
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_LANGUAGE,
        HeaderValue::from_static(lang.tag()),
    );
    h.insert(header::VARY, HeaderValue::from_static("Accept-Language"));
    r
}

/// Serves `/branding/<name>`: plain file names only, from the branding folder.
async fn branding(portal: &Portal, name: &str) -> Response {
    let safe = !name.is_empty()
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'));
    if !safe {
        return response(StatusCode::NOT_FOUND, "text/plain", "not found\n");
    }
    let content_type = match name.rsplit_once('.').map(|(_, e)| e) {
        Some("png") => "image/png",
        Some("svg") => "image/svg+xml",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("css") => "text/css",
        Some("ico") => "image/x-icon",
        _ => "application/octet-stream",
    };
    match tokio::fs::read(portal.cfg.branding_path.join(name)).await {
        Ok(bytes) => response(StatusCode::OK, content_type, bytes),
        Err(_) => response(StatusCode::NOT_FOUND, "text/plain", "not found\n"),
    }
}

async fn handle(
    State(portal): State<Arc<Portal>>,
    Extension(Peer(peer)): Extension<Peer>,
    req: Request,
) -> Response {
    let path = req.uri().path().to_string();
    let headers = req.headers();
    let lang = portal.language_for(headers);
    let pages = portal.pages.get(lang);
    let mut resp = match path.as_str() {
        "/assets/style.css" => response(StatusCode::OK, "text/css", STYLE_CSS),
        "/assets/logo.svg" => response(StatusCode::OK, "image/svg+xml", LOGO_SVG),
        p if p.starts_with("/branding/") => {
            branding(&portal, p.trim_start_matches("/branding/")).await
        }
        "/fake-register/" | "/fake-register" => localized(html(&pages.registered), lang),
        "/register-hotspot/" | "/register-hotspot" => {
            localized(register(&portal, peer, headers, pages).await, lang)
        }
        _ => match client_ip(peer, headers) {
            Some(ip) if portal.is_registered(ip) => {
                // Connectivity checks get their platform's exact answer, in no language.
                match platforms::success(&host_of(headers), &path) {
                    Some(s) => {
                        let mut r = response(
                            StatusCode::from_u16(s.status).unwrap_or(StatusCode::OK),
                            s.content_type,
                            s.body,
                        );
                        if let Some((k, v)) = s.header {
                            r.headers_mut().insert(k, HeaderValue::from_static(v));
                        }
                        r
                    }
                    None => localized(html(&pages.registered), lang),
                }
            }
            _ => localized(html(&pages.welcome), lang),
        },
    };
    resp.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(CACHE_CONTROL),
    );
    resp
}

/// Plain text in the visitor's language.
const TEXT_PLAIN: &str = "text/plain; charset=utf-8";

async fn register(
    portal: &Arc<Portal>,
    peer: SocketAddr,
    headers: &HeaderMap,
    pages: &LangPages,
) -> Response {
    let Some(ip) = client_ip(peer, headers) else {
        return response(
            StatusCode::BAD_REQUEST,
            TEXT_PLAIN,
            pages.error_not_ipv4.clone(),
        );
    };
    let p = Arc::clone(portal);
    let result = tokio::task::spawn_blocking(move || p.register(ip)).await;
    match result {
        Ok(Ok(())) => {
            let mut r = response(StatusCode::FOUND, "", "");
            if let Ok(v) = HeaderValue::from_str(&pages.dashboard) {
                r.headers_mut().insert(header::LOCATION, v);
            }
            r
        }
        Ok(Err(e)) => {
            tracing::error!("cannot register {ip}: {e}");
            response(
                StatusCode::INTERNAL_SERVER_ERROR,
                TEXT_PLAIN,
                pages.error_registration.clone(),
            )
        }
        Err(e) => {
            tracing::error!("cannot register {ip}: {e}");
            response(
                StatusCode::INTERNAL_SERVER_ERROR,
                TEXT_PLAIN,
                pages.error_registration.clone(),
            )
        }
    }
}

/// Serves `portal` on `listener` until `shutdown` completes: at most
/// `MAX_CONNECTIONS` connections at once (the next ones wait in the kernel's backlog),
/// each with a 10 s limit to send request headers, so idle or slow clients cannot pile
/// up. Expired registrations are swept every `CLEAR_PASSLIST_INTERVAL` minutes.
pub async fn serve(
    portal: Arc<Portal>,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioIo, TokioTimer};
    use tower::ServiceExt;

    let router = Arc::clone(&portal).router();
    let limit = Arc::new(tokio::sync::Semaphore::new(portal.cfg.max_connections));
    let sweeper = {
        let portal = Arc::clone(&portal);
        let every = Duration::from_secs(portal.cfg.clear_interval_minutes.clamp(1, 24 * 60) * 60);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.tick().await;
            loop {
                tick.tick().await;
                let p = Arc::clone(&portal);
                let _ = tokio::task::spawn_blocking(move || p.sweep()).await;
            }
        })
    };
    tokio::pin!(shutdown);
    let result = loop {
        let permit = tokio::select! {
            _ = &mut shutdown => break Ok(()),
            p = Arc::clone(&limit).acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break Ok(()),
            },
        };
        let (stream, peer) = tokio::select! {
            _ = &mut shutdown => break Ok(()),
            a = listener.accept() => match a {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: wait instead of spinning.
                    tracing::warn!("accept: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let router = router.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |mut req: hyper::Request<_>| {
                req.extensions_mut().insert(Peer(peer));
                router.clone().oneshot(req.map(Body::new))
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(Duration::from_secs(10))
                .serve_connection(TokioIo::new(stream), service);
            let _ = conn.await;
            drop(permit);
        });
    };
    sweeper.abort();
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_for_is_trusted_from_loopback_only() {
        let mut h = HeaderMap::new();
        h.insert(
            "x-forwarded-for",
            HeaderValue::from_static("192.168.144.130, 10.0.0.1"),
        );
        let lo: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        let remote: SocketAddr = "192.168.144.140:5000".parse().unwrap();
        let mapped: SocketAddr = "[::ffff:192.168.144.141]:5000".parse().unwrap();
        let v6: SocketAddr = "[fe80::1]:5000".parse().unwrap();
        assert_eq!(client_ip(lo, &h), Some(Ipv4Addr::new(192, 168, 144, 130)));
        assert_eq!(
            client_ip(remote, &h),
            Some(Ipv4Addr::new(192, 168, 144, 140))
        );
        assert_eq!(
            client_ip(mapped, &h),
            Some(Ipv4Addr::new(192, 168, 144, 141))
        );
        assert_eq!(client_ip(v6, &h), None);
        assert_eq!(client_ip(lo, &HeaderMap::new()), Some(Ipv4Addr::LOCALHOST));
    }

    #[test]
    fn host_without_port() {
        let mut h = HeaderMap::new();
        h.insert(
            header::HOST,
            HeaderValue::from_static("captive.apple.com:2080"),
        );
        assert_eq!(host_of(&h), "captive.apple.com");
        assert_eq!(host_of(&HeaderMap::new()), "");
    }
}
