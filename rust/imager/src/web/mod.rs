//! The Imager's web pages: server-rendered HTML (maud, escaped by default) that works
//! without JavaScript; `assets/app.js` only enhances (live order state, live content
//! total). English and French (`locales/*.ftl`), chosen from `Accept-Language` or the
//! `nixspot_lang` cookie the language links set.
//!
//! Who is signed in is decided in one place, [`Visitor`] (the extractor every page
//! uses): the session cookie [`crate::api::SESSION_COOKIE`], the same the JSON API
//! reads. The local app (`crate::local`) signs its one user in by giving the browser
//! that cookie, so every page below works unchanged there.
//!
//! Every `POST` form carries a hidden `csrf` field: a hash of the session secret (or,
//! before signing in, of the `nixspot_presession` cookie), so another site cannot make a
//! browser submit forms; a missing or wrong token is answered 403.
//!
//! Routes and the stable ids browser tests rely on (a field's `id` is its name; the
//! error of field F is `F-error`; every form has a `csrf` hidden field):
//!
//! | route | page / action | ids |
//! |---|---|---|
//! | `GET /` | redirect: configurations, or sign-in | |
//! | `GET /sign-in`, `POST /sign-in` | sign in (`?next=PATH`) | form `sign-in-form`: `name`, `password`, button `sign-in`; error `sign-in-error` |
//! | `POST /sign-out` | sign out | form `sign-out-form`, button `sign-out` |
//! | `GET /language/{en,fr}?back=PATH` | sets the language cookie, back to PATH | links `lang-en`, `lang-fr` |
//! | `GET /configurations` | your configurations | link `new-configuration`; table `configurations`, row `configuration-{ID}`, link `edit-{ID}` |
//! | `GET /configurations/new`, `POST /configurations` | new configuration | form `configuration-form`: `name`, `ssid`, `open`, `passphrase`, `domain`, `language`, `timezone`, `logo`, `admin_username`, `admin_password`; button `save`; summary `error-summary` |
//! | `GET /configurations/{id}`, `POST /configurations/{id}` | edit it (same form) | same, plus forms `copy-form` (button `copy`), `delete-form` (button `delete`), `order-form` (button `order`), links `content-link`, `module-nix`, `lock-json` |
//! | `POST /configurations/{id}/copy`, `/delete` | copy, delete | |
//! | `GET /configurations/{id}/content?q=&lang=&category=&flavour=` | content picker | form `search-form`: `q`, `lang`, `category`, `flavour`, button `search`; results `results`, per entry form `add-{NAME}_{FLAVOUR}` (button `add-button-{NAME}_{FLAVOUR}`); chosen `selection`, form `remove-{KEY}`; apps form `apps-form` (checkbox `app-{IDENT}`, button `save-apps`); total `total`, card `card` |
//! | `POST /configurations/{id}/content` | `add=NAME:FLAVOUR` or `remove=KEY` | |
//! | `POST /configurations/{id}/apps` | the apps ticked (`app` fields) | |
//! | `POST /configurations/{id}/order` | order it, then its order page | |
//! | `GET /orders` | your orders | table `orders`, row `order-{ID}` |
//! | `GET /orders/{id}` | the order | `order-state` (attribute `data-state`), `order-step`, `order-progress`, `order-error`, link `download`, links `module-nix`, `lock-json`; form `cancel-form` (button `cancel`) |
//! | `GET /orders/{id}/events` | server-sent events `state` (JSON of the order) | |
//! | `GET /orders/{id}/module.nix`, `/lock.json` | the order's frozen module and lock | |
//! | `POST /orders/{id}/cancel` | cancel (owner or admin) | |
//! | `GET /admin` | administrators: users, all orders, workers | tables `users`, `all-orders`, `workers`; forms `retry-{ID}`, `cancel-{ID}` |
//! | `POST /admin/orders/{id}/retry` | retry a failed order | |
//! | `GET /assets/style.css`, `/assets/app.js` | the one stylesheet and script | |
//!
//! Layout: a `Skip to content` link (`skip-link`) to `main` (`id="main"`), a banner
//! with the navigation (`nav-configurations`, `nav-orders`, `nav-admin`) and the
//! language links, then the page.

mod admin;
mod configurations;
mod content;
mod csrf;
mod layout;
mod orders;
mod sign_in;

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::{header, request::Parts, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use nixspot_i18n::Lang;

use crate::accounts::{Role, User};
use crate::server::AppState;

type Shared = Arc<AppState>;

/// The language cookie's name.
pub const LANG_COOKIE: &str = "nixspot_lang";

/// The languages of the web pages.
pub const LANGS: [Lang; 2] = [Lang::En, Lang::Fr];

/// The routes of the web pages (no fallback: they merge with the API's router).
pub fn router(state: Shared) -> Router {
    // A configuration form carries at most one logo (1 MiB, as base64 1.4 MiB in the
    // JSON) and some text.
    let form_limit = axum::extract::DefaultBodyLimit::max(2 * 1024 * 1024);
    Router::new()
        .route("/", get(home))
        .route("/sign-in", get(sign_in::page).post(sign_in::submit))
        .route("/sign-out", post(sign_in::sign_out))
        .route("/language/{tag}", get(language))
        .route(
            "/configurations",
            get(configurations::list).post(configurations::create),
        )
        .route("/configurations/new", get(configurations::new))
        .route(
            "/configurations/{id}",
            get(configurations::edit).post(configurations::save),
        )
        .route("/configurations/{id}/copy", post(configurations::copy))
        .route("/configurations/{id}/delete", post(configurations::delete))
        .route(
            "/configurations/{id}/content",
            get(content::page).post(content::change),
        )
        .route("/configurations/{id}/apps", post(content::apps))
        .route("/configurations/{id}/order", post(orders::order))
        .route("/orders", get(orders::list))
        .route("/orders/{id}", get(orders::page))
        .route("/orders/{id}/events", get(orders::events))
        .route("/orders/{id}/module.nix", get(orders::module_nix))
        .route("/orders/{id}/lock.json", get(orders::lock_json))
        .route("/orders/{id}/cancel", post(orders::cancel))
        .route("/admin", get(admin::page))
        .route("/admin/orders/{id}/retry", post(admin::retry))
        .route("/assets/style.css", get(layout::style))
        .route("/assets/app.js", get(layout::script))
        .layer(form_limit)
        .with_state(state)
}

/// Who is asking, in which language: the one place web pages learn the signed-in user
/// (from the session cookie; the local app gives its browser that cookie too).
#[derive(Debug, Clone)]
pub struct Visitor {
    /// The signed-in user, if any (never a worker).
    pub user: Option<User>,
    /// The session secret (the cookie's value) while signed in.
    session: Option<String>,
    /// The `nixspot_presession` cookie, before signing in.
    presession: Option<String>,
    /// The page language.
    pub lang: Lang,
    /// The request's path and query (where the language links come back to).
    pub path: String,
    /// Whether cookies get `Secure` (the public URL is https).
    pub secure: bool,
}

fn cookie<'a>(parts: &'a Parts, name: &str) -> Option<&'a str> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| {
            c.trim()
                .strip_prefix(name)
                .and_then(|rest| rest.strip_prefix('='))
        })
}

/// The page language: the cookie's, else the best of `Accept-Language` we speak, else
/// English.
fn negotiate(cookie_lang: Option<&str>, accept: Option<&str>) -> Lang {
    let ours = |tag: &str| Lang::from_tag(tag).filter(|l| LANGS.contains(l));
    if let Some(lang) = cookie_lang.and_then(ours) {
        return lang;
    }
    let mut choices: Vec<(f32, Lang)> = accept
        .unwrap_or_default()
        .split(',')
        .filter_map(|item| {
            let mut parts = item.split(';');
            let lang = ours(parts.next()?.trim())?;
            let q = parts
                .find_map(|p| p.trim().strip_prefix("q="))
                .map_or(Some(1.0), |q| q.trim().parse::<f32>().ok())?;
            Some((q, lang))
        })
        .filter(|(q, _)| *q > 0.0)
        .collect();
    // Stable: among equal weights the first listed wins.
    choices.sort_by(|a, b| b.0.total_cmp(&a.0));
    choices.first().map_or(Lang::En, |(_, lang)| *lang)
}

impl FromRequestParts<Shared> for Visitor {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &Shared) -> Result<Self, Response> {
        let lang = negotiate(
            cookie(parts, LANG_COOKIE),
            parts
                .headers
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok()),
        );
        let session = cookie(parts, crate::api::SESSION_COOKIE).map(str::to_string);
        let user = match &session {
            Some(secret) => state
                .tokens
                .authenticate(&state.db, secret)
                .await
                .map_err(|e| layout::error_page(lang, None, &e))?
                .filter(|u| u.role != Role::Worker),
            None => None,
        };
        Ok(Visitor {
            session: user.as_ref().and(session),
            user,
            presession: cookie(parts, csrf::PRESESSION_COOKIE).map(str::to_string),
            lang,
            path: parts
                .uri
                .path_and_query()
                .map_or_else(|| "/".to_string(), |p| p.as_str().to_string()),
            secure: state.public_url.starts_with("https://"),
        })
    }
}

/// A signed-in visitor: pages that need one redirect to the sign-in page otherwise.
pub struct SignedIn {
    /// The visitor.
    pub visitor: Visitor,
    /// Their account.
    pub user: User,
}

impl FromRequestParts<Shared> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &Shared) -> Result<Self, Response> {
        let visitor = Visitor::from_request_parts(parts, state).await?;
        match visitor.user.clone() {
            Some(user) => Ok(SignedIn { visitor, user }),
            None => {
                let next = if parts.method == axum::http::Method::GET {
                    visitor.path.clone()
                } else {
                    "/".into()
                };
                let target = url::form_urlencoded::Serializer::new(String::new())
                    .append_pair("next", &next)
                    .finish();
                Err(Redirect::to(&format!("/sign-in?{target}")).into_response())
            }
        }
    }
}

impl SignedIn {
    /// The user, if an administrator; else the 403 page.
    fn admin(&self) -> Result<&User, Box<Response>> {
        if self.user.role == Role::Admin {
            Ok(&self.user)
        } else {
            Err(Box::new(layout::status_page(
                &self.visitor,
                StatusCode::FORBIDDEN,
                "error-forbidden",
            )))
        }
    }
}

async fn home(visitor: Visitor) -> Redirect {
    if visitor.user.is_some() {
        Redirect::to("/configurations")
    } else {
        Redirect::to("/sign-in")
    }
}

/// A local path to come back to: one starting with a single `/` (never another site).
pub(crate) fn local_path(path: Option<&str>) -> String {
    match path {
        Some(p) if p.starts_with('/') && !p.starts_with("//") && !p.contains('\\') => p.to_string(),
        _ => "/".to_string(),
    }
}

#[derive(serde::Deserialize)]
struct Back {
    back: Option<String>,
}

/// Sets the language cookie (a year) and goes back to the page it was chosen on.
async fn language(
    visitor: Visitor,
    axum::extract::Path(tag): axum::extract::Path<String>,
    axum::extract::Query(back): axum::extract::Query<Back>,
) -> Response {
    let Some(lang) = Lang::from_tag(&tag).filter(|l| LANGS.contains(l)) else {
        return layout::status_page(&visitor, StatusCode::NOT_FOUND, "error-not-found");
    };
    let secure = if visitor.secure { "; Secure" } else { "" };
    (
        StatusCode::SEE_OTHER,
        [
            (
                header::SET_COOKIE,
                format!(
                    "{LANG_COOKIE}={}; Path=/; SameSite=Lax; Max-Age=31536000{secure}",
                    lang.tag()
                ),
            ),
            (header::LOCATION, local_path(back.back.as_deref())),
        ],
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_from_cookie_then_accept_language() {
        assert_eq!(negotiate(None, None), Lang::En);
        assert_eq!(negotiate(None, Some("fr-FR,fr;q=0.9,en;q=0.8")), Lang::Fr);
        assert_eq!(negotiate(None, Some("de, en;q=0.5, fr;q=0.7")), Lang::Fr);
        assert_eq!(negotiate(None, Some("es, de")), Lang::En);
        assert_eq!(negotiate(Some("en"), Some("fr")), Lang::En);
        assert_eq!(negotiate(Some("xx"), Some("fr;q=0")), Lang::En);
    }

    #[test]
    fn back_paths_stay_on_this_site() {
        assert_eq!(local_path(Some("/orders?x=1")), "/orders?x=1");
        assert_eq!(local_path(Some("//evil.example/")), "/");
        assert_eq!(local_path(Some("https://evil.example/")), "/");
        assert_eq!(local_path(Some("/\\evil.example")), "/");
        assert_eq!(local_path(None), "/");
    }
}
