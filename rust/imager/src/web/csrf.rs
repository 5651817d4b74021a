//! Cross-site request forgery protection: every `POST` form carries a token derived
//! from a secret only this browser holds in an `HttpOnly` cookie (the session, or before
//! signing in the pre-session cookie), so a page of another site can neither read nor
//! guess it.

use axum::http::StatusCode;
use axum::response::Response;
use sha2::{Digest as _, Sha256};

use super::{layout, Visitor};

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
