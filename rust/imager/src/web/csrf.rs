//! Cross-site request forgery protection: every `POST` form carries a token derived
//! from a secret only this browser holds in an `HttpOnly` cookie (the session, or before
//! signing in the pre-session cookie), so a page of another site can neither read nor
//! guess it.

use std::future::Future;

use axum::extract::{Form, FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use sha2::{Digest as _, Sha256};

use super::{layout, Shared, SignedIn, Visitor};

/// The cookie that ties the sign-in form's token to a browser before it has a session.
pub const PRESESSION_COOKIE: &str = "nixspot_presession";

/// The form token of `secret`: a hash, so the page never shows the cookie itself.
fn token_of(secret: &str) -> String {
    hex::encode(Sha256::digest(format!("nixspot-csrf\0{secret}").as_bytes()))
}

impl Visitor {
    /// The token this visitor's forms carry (empty without a session or pre-session:
    /// such a form cannot be submitted, the sign-in page sets the cookie first).
    pub fn csrf_token(&self) -> String {
        self.session
            .as_deref()
            .or(self.presession.as_deref())
            .map(token_of)
            .unwrap_or_default()
    }

    /// The 403 page, unless `token` is this visitor's.
    pub fn refuse_csrf(&self, token: &str) -> Option<Response> {
        let expected = self.csrf_token();
        // Compared in constant time: the tokens are secrets.
        let same = !expected.is_empty()
            && expected.len() == token.len()
            && expected
                .bytes()
                .zip(token.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0;
        (!same).then(|| layout::status_page(self, StatusCode::FORBIDDEN, "error-csrf"))
    }

    /// `Set-Cookie` of a new pre-session secret, when the visitor has none; the
    /// visitor's token then follows from it.
    pub fn ensure_presession(&mut self) -> Option<String> {
        if self.session.is_some() || self.presession.is_some() {
            return None;
        }
        let secret = crate::random_token(32);
        let cookie = format!(
            "{PRESESSION_COOKIE}={secret}; Path=/; HttpOnly; SameSite=Lax{}",
            if self.secure { "; Secure" } else { "" }
        );
        self.presession = Some(secret);
        Some(cookie)
    }
}

/// What a `POST` form's body holds, with the CSRF token it carries.
pub(super) trait FormBody: Sized + Send {
    /// Reads the body of `request` (`visitor` for an error page).
    fn read(
        request: Request,
        visitor: &Visitor,
    ) -> impl Future<Output = Result<Self, Response>> + Send;

    /// The form's `csrf` field.
    fn csrf(&self) -> &str;
}

/// An `application/x-www-form-urlencoded` form with a `csrf` field.
pub(super) trait UrlEncoded: DeserializeOwned + Send {
    /// The form's `csrf` field.
    fn csrf(&self) -> &str;
}

impl<T: UrlEncoded> FormBody for T {
    async fn read(request: Request, _visitor: &Visitor) -> Result<Self, Response> {
        Form::<T>::from_request(request, &())
            .await
            .map(|Form(form)| form)
            .map_err(IntoResponse::into_response)
    }

    fn csrf(&self) -> &str {
        UrlEncoded::csrf(self)
    }
}

/// A form posted by a signed-in visitor, only once its CSRF token is theirs: the
/// extractor of every `POST` handler but signing in and out. Before signing in, the
/// redirect of [`SignedIn`]; then the body's; then a missing or wrong token, 403.
pub(super) struct Posted<F>(pub SignedIn, pub F);

impl<F: FormBody> FromRequest<Shared> for Posted<F> {
    type Rejection = Response;

    async fn from_request(request: Request, state: &Shared) -> Result<Self, Response> {
        let (mut parts, body) = request.into_parts();
        let signed = SignedIn::from_request_parts(&mut parts, state).await?;
        let form = F::read(Request::from_parts(parts, body), &signed.visitor).await?;
        match signed.visitor.refuse_csrf(form.csrf()) {
            Some(refused) => Err(refused),
            None => Ok(Posted(signed, form)),
        }
    }
}
