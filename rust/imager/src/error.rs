//! The one error type of the API: a status, a message and the option it concerns,
//! answered as `{"error": …, "option": …}`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// An error answered to an API client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status}: {message}")]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// What went wrong, for a person.
    pub message: String,
    /// The option path (`hotspot.ap.ssid`) the error concerns, if any.
    pub option: Option<String>,
}

impl ApiError {
    /// An error with `status` and `message`, about no option.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
            option: None,
        }
    }

    /// 404: also what a user gets for another user's records, so ids do not leak.
    pub fn not_found(what: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, format!("no such {what}"))
    }

    /// 400 for a malformed request.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    /// 422 for a configuration the Imager refuses, naming the option.
    pub fn invalid(option: Option<String>, message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            message: message.into(),
            option,
        }
    }

    /// 409: the request conflicts with the record's state (e.g. a lease not held).
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, message)
    }

    /// 500, logged: something the client cannot fix.
    pub fn internal(message: impl Into<String>) -> Self {
        let message = message.into();
        tracing::error!("{message}");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, message)
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> Self {
        match &error {
            // The database is away (down, restarting, unreachable): the request may
            // succeed later, and the pool reconnects by itself when it is back.
            sqlx::Error::Io(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Tls(_)
            | sqlx::Error::WorkerCrashed => {
                tracing::warn!("database unavailable: {error}");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    format!("the database is unavailable, try again later ({error})"),
                )
            }
            // PostgreSQL shutting down (class 57) or a broken connection (class 08).
            sqlx::Error::Database(db)
                if db
                    .code()
                    .is_some_and(|c| c.starts_with("57") || c.starts_with("08")) =>
            {
                tracing::warn!("database unavailable: {error}");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    format!("the database is unavailable, try again later ({error})"),
                )
            }
            sqlx::Error::RowNotFound => ApiError::not_found("record"),
            _ => ApiError::internal(format!("database error: {error}")),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({"error": self.message, "option": self.option});
        (self.status, axum::Json(body)).into_response()
    }
}
