//! Signing in and out: a session cookie (`HttpOnly`, `SameSite=Lax`, `Secure` behind
//! https) holding a session token of [`crate::accounts`].

use axum::extract::{Form, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use maud::html;

use super::layout::{self, Tr};
use super::{local_path, Shared, Visitor};
use crate::accounts::{self, Role, TokenKind};

/// How long a browser session lasts.
const SESSION_SECONDS: i64 = 24 * 3600;

#[derive(serde::Deserialize)]
pub(super) struct Next {
    next: Option<String>,
}

fn form(visitor: &Visitor, next: &str, name: &str, error: Option<&str>) -> maud::Markup {
    let tr = Tr::new(visitor.lang);
    let main = html! {
        @if let Some(error) = error {
            p #sign-in-error .error role="alert" { (error) }
        }
        form #sign-in-form method="post" action="/sign-in" {
            (layout::csrf_field(visitor))
            input type="hidden" name="next" value=(next);
            p {
                label for="name" { (tr.t("field-user-name")) }
                input #name name="name" type="text" autocomplete="username" required value=(name)
                    aria-invalid=[error.map(|_| "true")] aria-describedby=[error.map(|_| "sign-in-error")];
            }
            p {
                label for="password" { (tr.t("field-password")) }
                input #password name="password" type="password" autocomplete="current-password" required;
            }
            p { button #sign-in type="submit" { (tr.t("sign-in")) } }
        }
    };
    layout::page(visitor, &tr, &tr.t("sign-in"), main)
}

/// The sign-in form (setting the pre-session cookie its CSRF token needs).
pub(super) async fn page(mut visitor: Visitor, Query(next): Query<Next>) -> Response {
    if visitor.user.is_some() {
        return axum::response::Redirect::to(&local_path(next.next.as_deref())).into_response();
    }
    let cookie = visitor.ensure_presession();
    let markup = form(&visitor, &local_path(next.next.as_deref()), "", None);
    let mut response = layout::respond(StatusCode::OK, markup);
    if let Some(cookie) = cookie.and_then(|c| c.parse().ok()) {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    response
}

#[derive(serde::Deserialize)]
pub(super) struct SignIn {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
    next: Option<String>,
}

/// Checks the password; a session cookie and the page asked for, or the form again.
pub(super) async fn submit(
    State(state): State<Shared>,
    visitor: Visitor,
    Form(input): Form<SignIn>,
) -> Response {
    if let Some(refused) = visitor.refuse_csrf(&input.csrf) {
        return refused;
    }
    let next = local_path(input.next.as_deref());
    let user = match accounts::login(&state.db, &input.name, &input.password).await {
        Ok(user) => user.filter(|u| u.role != Role::Worker),
        Err(e) => return layout::error_page(visitor.lang, Some(&visitor), &e.into()),
    };
    let Some(user) = user else {
        let tr = Tr::new(visitor.lang);
        let markup = form(&visitor, &next, &input.name, Some(&tr.t("sign-in-failed")));
        return layout::respond(StatusCode::UNAUTHORIZED, markup);
    };
    let token =
        match accounts::create_token(&state.db, &user, TokenKind::Session, SESSION_SECONDS).await {
            Ok(token) => token,
            Err(e) => return layout::error_page(visitor.lang, Some(&visitor), &e.into()),
        };
    let secure = if visitor.secure { "; Secure" } else { "" };
    (
        StatusCode::SEE_OTHER,
        [
            (
                header::SET_COOKIE,
                format!(
                    "{}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={SESSION_SECONDS}{secure}",
                    crate::api::SESSION_COOKIE
                ),
            ),
            (header::LOCATION, next),
        ],
    )
        .into_response()
}

#[derive(serde::Deserialize)]
pub(super) struct SignOut {
    #[serde(default)]
    csrf: String,
}

/// Ends the session (the token is deleted, the cookie cleared).
pub(super) async fn sign_out(
    State(state): State<Shared>,
    visitor: Visitor,
    Form(input): Form<SignOut>,
) -> Response {
    if let Some(refused) = visitor.refuse_csrf(&input.csrf) {
        return refused;
    }
    if let Some(secret) = &visitor.session {
        if let Err(e) = state.tokens.revoke(&state.db, secret).await {
            return layout::error_page(visitor.lang, Some(&visitor), &e.into());
        }
    }
    (
        StatusCode::SEE_OTHER,
        [
            (
                header::SET_COOKIE,
                format!(
                    "{}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0",
                    crate::api::SESSION_COOKIE
                ),
            ),
            (header::LOCATION, "/sign-in".to_string()),
        ],
    )
        .into_response()
}
