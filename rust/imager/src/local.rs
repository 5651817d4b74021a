//! Local mode: the Imager app of one person on their own computer (`nixspot imager`
//! with no subcommand).
//!
//! One user ([`LOCAL_USER`], an administrator: they own every record and see the
//! workers), no sign-in form, the server on a loopback address only, and every finished
//! image also written to a folder the person picked ([`LocalMode::output`]).
//!
//! Other users of the same machine can reach a loopback port too, so "loopback only"
//! is not enough. The browser gets in through a one-time sign-in link
//! (`/local/sign-in?secret=…`, [`crate::Server::local_sign_in_url`]) that turns into the
//! ordinary session cookie ([`crate::api::SESSION_COOKIE`], `HttpOnly`,
//! `SameSite=Strict`): a local process without the link or the cookie gets 401 like
//! any anonymous caller, and once the browser has used the link it is worthless to
//! anyone who read it afterwards (from the browser's history or a process list). Every
//! request must also come from a loopback peer and name the server's own loopback
//! address in `Host`, so a web page that rebinds its DNS name to 127.0.0.1 cannot talk
//! to it. Forms keep their CSRF protection: the cookie is a session like any other.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use axum::extract::{ConnectInfo, Query, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse as _, Response};
use axum::routing::get;
use axum::Router;
use sqlx::Row as _;

use crate::accounts::{self, TokenKind, User};
use crate::server::AppState;

/// The local app's setting: `Settings::local` set to this makes the server a local app.
#[derive(Debug, Clone)]
pub struct LocalMode {
    /// Where finished images are written (created when missing).
    pub output: PathBuf,
}

/// The name of the one local user.
pub const LOCAL_USER: &str = "local";

/// The path of the one-time sign-in link.
pub const SIGN_IN_PATH: &str = "/local/sign-in";

/// How long the browser's session lasts (the app is one person's: a month, so closing
/// the browser does not lock them out of a running app).
const SESSION_SECONDS: i64 = 30 * 24 * 3600;

/// What the server keeps in local mode.
pub struct Local {
    /// The setting it was started with.
    pub mode: LocalMode,
    /// The local user.
    pub user: User,
    /// The port the server listens on (`Host` must name it).
    port: u16,
    /// The sha256 of the sign-in secret until the link is used.
    sign_in: Mutex<Option<String>>,
    /// Every image written to the output folder, or why it could not be.
    exported: tokio::sync::broadcast::Sender<Result<PathBuf, String>>,
}

impl Local {
    /// The local state of a server listening on `addr`, its user `user`, and the
    /// secret of its sign-in link (returned once, kept only as its hash).
    pub(crate) fn new(mode: LocalMode, user: User, addr: SocketAddr) -> (Local, String) {
        let secret = crate::random_token(32);
        let (exported, _) = tokio::sync::broadcast::channel(64);
        let local = Local {
            mode,
            user,
            port: addr.port(),
            sign_in: Mutex::new(Some(accounts::token_hash(&secret))),
            exported,
        };
        (local, secret)
    }

    /// Every image written to the output folder from now on (or why it was not).
    pub fn exported(&self) -> tokio::sync::broadcast::Receiver<Result<PathBuf, String>> {
        self.exported.subscribe()
    }

    /// Whether `secret` is the unused sign-in secret; using it spends it.
    fn spend(&self, secret: &str) -> bool {
        let Ok(mut slot) = self.sign_in.lock() else {
            return false;
        };
        if slot.as_deref() == Some(accounts::token_hash(secret).as_str()) {
            *slot = None;
            true
        } else {
            false
        }
    }

    /// Whether a `Host` header names this server's loopback address.
    fn is_own_host(&self, host: &str) -> bool {
        let port = self.port;
        [
            format!("127.0.0.1:{port}"),
            format!("localhost:{port}"),
            format!("[::1]:{port}"),
        ]
        .iter()
        .any(|own| host.eq_ignore_ascii_case(own))
    }

    /// Writes order `order`'s stored image into the output folder (its chunks cloned
    /// where the filesystem allows, else copied) and announces it.
    pub(crate) async fn export(&self, state: &AppState, order: &str) {
        let outcome = self.write_image(state, order).await;
        // Nobody listening is fine: the image is in the folder all the same.
        let _ = self.exported.send(outcome);
    }

    async fn write_image(&self, state: &AppState, order: &str) -> Result<PathBuf, String> {
        let key: String = sqlx::query("SELECT storage_key FROM orders WHERE id = $1")
            .bind(order)
            .fetch_optional(&state.db.pool)
            .await
            .map_err(|e| format!("order {order}: {e}"))?
            .and_then(|row| {
                row.try_get::<Option<String>, _>("storage_key")
                    .ok()
                    .flatten()
            })
            .ok_or_else(|| format!("order {order}: no stored image"))?;
        let image = state
            .storage
            .open_local(&key)
            .await
            .map_err(|e| format!("order {order}: {e}"))?
            .ok_or_else(|| format!("order {order}: its image is missing from storage"))?;
        let file_name = export_name(&key, order);
        let output = self.mode.output.clone();
        tokio::fs::create_dir_all(&output)
            .await
            .map_err(|e| format!("--output {}: {e}", output.display()))?;
        let target = output.join(file_name);
        let written = target.clone();
        tokio::task::spawn_blocking(move || write_new(&image, &written))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| format!("{}: {e}", target.display()))?;
        Ok(target)
    }
}

/// The output file's name: the stored image's file name (`<hotspot name>-<lease>.img`,
/// already made of safe characters), else the order id; anything but `A-Za-z0-9._-` is
/// replaced so no name can leave the folder.
fn export_name(key: &str, order: &str) -> String {
    let name = Path::new(key)
        .file_name()
        .and_then(|n| n.to_str())
        .filter(|n| !n.is_empty())
        .map_or_else(|| format!("{order}.img"), str::to_string);
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    if safe.starts_with('.') {
        format!("image{safe}")
    } else {
        safe
    }
}

/// Writes `image` into the new file `target` through a temporary name, so a
/// half-written image never carries the final name (blocking).
fn write_new(image: &crate::storage::LocalImage, target: &Path) -> std::io::Result<()> {
    if target.exists() {
        return Err(std::io::Error::from(std::io::ErrorKind::AlreadyExists));
    }
    let partial = target.with_extension("img.part");
    let _ = std::fs::remove_file(&partial);
    let written = image
        .export(&partial)
        .and_then(|()| std::fs::rename(&partial, target));
    if written.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    written
}

/// `router` with the local app's sign-in route and its gate: loopback peers, own `Host`.
pub(crate) fn wrap(router: Router, state: Arc<AppState>) -> Router {
    let sign_in = Router::new()
        .route(SIGN_IN_PATH, get(sign_in))
        .with_state(state.clone());
    router
        .merge(sign_in)
        .layer(axum::middleware::from_fn_with_state(state, gate))
}

/// Refuses requests from other machines and requests naming another host.
async fn gate(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let Some(local) = &state.local else {
        return next.run(request).await;
    };
    let from_loopback = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .is_some_and(|ConnectInfo(peer)| peer.ip().is_loopback());
    if !from_loopback {
        return (
            StatusCode::FORBIDDEN,
            "the local Imager answers only this computer\n",
        )
            .into_response();
    }
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    if !local.is_own_host(host) {
        return (
            StatusCode::FORBIDDEN,
            format!(
                "Host {host:?}: the local Imager answers only requests for 127.0.0.1:{} or localhost:{}\n",
                local.port, local.port
            ),
        )
            .into_response();
    }
    next.run(request).await
}

#[derive(serde::Deserialize)]
struct SignIn {
    #[serde(default)]
    secret: String,
}

/// The one-time link: the right secret becomes a session cookie and a redirect to the
/// start page; a spent or wrong one is refused.
async fn sign_in(State(state): State<Arc<AppState>>, Query(query): Query<SignIn>) -> Response {
    let Some(local) = &state.local else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if !local.spend(&query.secret) {
        return (
            StatusCode::FORBIDDEN,
            "this sign-in link is wrong or was used already: restart `nixspot imager` for a new one\n",
        )
            .into_response();
    }
    match accounts::create_token(&state.db, &local.user, TokenKind::Session, SESSION_SECONDS).await
    {
        Ok(token) => (
            StatusCode::SEE_OTHER,
            [
                (
                    header::SET_COOKIE,
                    format!(
                        "{}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={SESSION_SECONDS}",
                        crate::api::SESSION_COOKIE
                    ),
                ),
                (header::LOCATION, "/".to_string()),
            ],
        )
            .into_response(),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("creating the session: {e}\n"),
        )
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn export_names_stay_in_the_folder() {
        assert_eq!(
            export_name("images/o1/school-library-abcd1234.img", "o1"),
            "school-library-abcd1234.img"
        );
        assert_eq!(export_name("images/o1/../..", "o1"), "o1.img");
        assert_eq!(export_name("images/o1/a b\u{e9}.img", "o1"), "a_b_.img");
        assert_eq!(export_name("images/o1/.hidden", "o1"), "image.hidden");
    }
}
