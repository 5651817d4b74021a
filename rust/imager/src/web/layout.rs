//! The frame of every page (language, skip link, banner, navigation, main), error
//! pages, the messages, the stylesheet and the script.

use std::cell::RefCell;

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup, DOCTYPE};
use nixspot_i18n::{Arg, Catalog, Lang};

use super::{Visitor, LANGS};
use crate::accounts::Role;
use crate::error::ApiError;

/// The Fluent source of `lang`'s catalogue (English for languages the pages lack).
pub fn source(lang: Lang) -> &'static str {
    match lang {
        Lang::Fr => include_str!("../../locales/fr.ftl"),
        _ => include_str!("../../locales/en.ftl"),
    }
}

/// A page's messages (plain text: maud escapes them).
pub struct Tr {
    catalog: RefCell<Catalog>,
}

impl Tr {
    /// `lang`'s messages.
    pub fn new(lang: Lang) -> Tr {
        Tr {
            catalog: RefCell::new(Catalog::new(lang, source)),
        }
    }

    /// Message `id`.
    pub fn t(&self, id: &str) -> String {
        self.catalog.borrow_mut().text(id, &[])
    }

    /// Message `id` with one text variable.
    pub fn t1(&self, id: &str, name: &str, value: &str) -> String {
        self.catalog
            .borrow_mut()
            .text(id, &[(name, Arg::Text(value))])
    }

    /// Message `id` with a count (plural forms).
    pub fn count(&self, id: &str, count: u64) -> String {
        self.catalog
            .borrow_mut()
            .text(id, &[("count", Arg::Count(count))])
    }
}

/// A complete page: `title` (already translated) and its `main`.
pub fn page(visitor: &Visitor, tr: &Tr, title: &str, main: Markup) -> Markup {
    let signed_in = visitor.user.as_ref();
    let back = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("back", &visitor.path)
        .finish();
    html! {
        (DOCTYPE)
        html lang=(visitor.lang.tag()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · " (tr.t("app-name")) }
                link rel="stylesheet" href="/assets/style.css";
                script src="/assets/app.js" defer {}
            }
            body {
                a #skip-link .skip href="#main" { (tr.t("skip-to-content")) }
                header role="banner" {
                    a .brand href="/" { (tr.t("app-name")) }
                    @if let Some(user) = signed_in {
                        nav aria-label=(tr.t("nav-label")) {
                            ul {
                                li { a #nav-configurations href="/configurations" { (tr.t("nav-configurations")) } }
                                li { a #nav-orders href="/orders" { (tr.t("nav-orders")) } }
                                @if user.role == Role::Admin {
                                    li { a #nav-admin href="/admin" { (tr.t("nav-admin")) } }
                                }
                            }
                        }
                    }
                    div .tools {
                        ul .langs aria-label=(tr.t("language-label")) {
                            @for lang in LANGS {
                                li {
                                    a id=(format!("lang-{}", lang.tag())) lang=(lang.tag()) hreflang=(lang.tag())
                                        href=(format!("/language/{}?{back}", lang.tag()))
                                        aria-current=[(lang == visitor.lang).then_some("true")] {
                                        (lang.autonym())
                                    }
                                }
                            }
                        }
                        @if let Some(user) = signed_in {
                            form #sign-out-form method="post" action="/sign-out" {
                                input type="hidden" name="csrf" value=(visitor.csrf_token());
                                span .who { (user.name) }
                                " "
                                button #sign-out type="submit" { (tr.t("sign-out")) }
                            }
                        }
                    }
                }
                main #main tabindex="-1" {
                    h1 { (title) }
                    (main)
                }
            }
        }
    }
}

/// `markup` as a `text/html` response with `status`.
pub fn respond(status: StatusCode, markup: Markup) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        markup.into_string(),
    )
        .into_response()
}

/// A page that only says message `id`, with `status`.
pub fn status_page(visitor: &Visitor, status: StatusCode, id: &str) -> Response {
    let tr = Tr::new(visitor.lang);
    let title = tr.t(id);
    let main = html! { p { a href="/" { (tr.t("back-home")) } } };
    respond(status, page(visitor, &tr, &title, main))
}

/// The page of an error of the model: its status, its message.
pub fn error_page(lang: Lang, visitor: Option<&Visitor>, error: &ApiError) -> Response {
    let tr = Tr::new(lang);
    let title = match error.status {
        StatusCode::NOT_FOUND => tr.t("error-not-found"),
        StatusCode::FORBIDDEN => tr.t("error-forbidden"),
        StatusCode::SERVICE_UNAVAILABLE => tr.t("error-unavailable"),
        s if s.is_server_error() => tr.t("error-internal"),
        _ => tr.t("error-refused"),
    };
    let main = html! {
        p #error-message { (error.message) }
        p { a href="/" { (tr.t("back-home")) } }
    };
    let markup = match visitor {
        Some(visitor) => page(visitor, &tr, &title, main),
        None => html! {
            (DOCTYPE)
            html lang=(lang.tag()) {
                head { meta charset="utf-8"; title { (title) } link rel="stylesheet" href="/assets/style.css"; }
                body { main #main { h1 { (title) } (main) } }
            }
        },
    };
    respond(error.status, markup)
}

impl Visitor {
    /// The page of `error`, for this visitor.
    pub fn error_page(&self, error: &ApiError) -> Response {
        error_page(self.lang, Some(self), error)
    }

    /// A redirect to the path `outcome` gives, or the page of its error.
    pub fn redirect(&self, outcome: Result<String, ApiError>) -> Response {
        match outcome {
            Ok(path) => Redirect::to(&path).into_response(),
            Err(e) => self.error_page(&e),
        }
    }
}

/// A table's head: a column header a message id in `columns`.
pub fn head(tr: &Tr, columns: &[&str]) -> Markup {
    html! {
        thead { tr {
            @for column in columns {
                th scope="col" { (tr.t(column)) }
            }
        } }
    }
}

/// `bytes` for people: `1.2 GB` (decimal units, as SD cards are sold).
pub fn bytes(bytes: u64) -> String {
    nixspot_recipe::sizing::decimal_size(bytes, 1)
}

/// A Unix time as UTC `YYYY-MM-DD HH:MM`.
pub fn time(seconds: i64) -> String {
    let at = std::time::UNIX_EPOCH + std::time::Duration::from_secs(seconds.max(0) as u64);
    let text = humantime::format_rfc3339_seconds(at).to_string();
    // 2026-01-02T03:04:05Z → 2026-01-02 03:04 UTC
    format!("{} {} UTC", &text[..10], &text[11..16])
}

/// A hidden CSRF field.
pub fn csrf_field(visitor: &Visitor) -> Markup {
    html! { input type="hidden" name="csrf" value=(visitor.csrf_token()); }
}

const STYLE: &str = include_str!("../../assets/style.css");
const SCRIPT: &str = include_str!("../../assets/app.js");

/// The stylesheet.
pub async fn style() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        STYLE,
    )
        .into_response()
}

/// The script.
pub async fn script() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        SCRIPT,
    )
        .into_response()
}

/// A message whose `backquoted` parts are commands to type: shown as code, without the
/// backquotes (translators keep the convention; escaping stays maud's).
pub fn with_code(text: &str) -> Markup {
    html! {
        @for (i, part) in text.split('`').enumerate() {
            @if i % 2 == 1 { code { (part) } } @else { (part) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backquoted_commands_become_code() {
        assert_eq!(
            with_code("Run `nixspot flash <IMG>` then <b>eject</b>.").into_string(),
            "Run <code>nixspot flash &lt;IMG&gt;</code> then &lt;b&gt;eject&lt;/b&gt;."
        );
        assert_eq!(with_code("no code").into_string(), "no code");
    }

    #[test]
    fn sizes_and_times_read_well() {
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(1_500_000), "1.5 MB");
        assert_eq!(bytes(7_760_000_000), "7.8 GB");
        assert_eq!(time(0), "1970-01-01 00:00 UTC");
    }

    #[test]
    fn catalogues_say_every_message() {
        let mut fr = Catalog::new(Lang::Fr, source);
        assert_eq!(fr.text("nav-orders", &[]), "Commandes");
        assert!(fr.problems().is_empty(), "{:?}", fr.problems());
    }
}
