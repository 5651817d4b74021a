//! The e-mails of an order's end: ready (with the link and the expiry) or failed (with
//! the reason). Optional: without `--smtp` nothing is sent.

use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport as _, Message, Tokio1Executor};

/// Mail errors.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// The `--smtp` URL or `--mail-from` address is not usable.
    #[error("{0}")]
    Config(String),
    /// Sending failed.
    #[error("sending mail to {to}: {error}")]
    Send {
        /// The recipient.
        to: String,
        /// Why.
        error: String,
    },
}

/// Sends mail through one SMTP server.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer").field("from", &self.from).finish()
    }
}

impl Mailer {
    /// A mailer for `smtp://[user:pass@]host[:port]` sending as `from`.
    pub fn new(url: &str, from: &str) -> Result<Mailer, MailError> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| MailError::Config(format!("--smtp {}: {e}", crate::db::redact(url))))?
            .build();
        let from = from
            .parse()
            .map_err(|e| MailError::Config(format!("--mail-from {from:?}: {e}")))?;
        Ok(Mailer { transport, from })
    }

    /// Sends a plain-text message.
    pub async fn send(&self, to: &str, subject: &str, body: String) -> Result<(), MailError> {
        let failed = |error: String| MailError::Send {
            to: to.to_string(),
            error,
        };
        let to_box: Mailbox = to
            .parse()
            .map_err(|e| failed(format!("bad address: {e}")))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to_box)
            .subject(subject)
            .body(body)
            .map_err(|e| failed(e.to_string()))?;
        self.transport
            .send(message)
            .await
            .map_err(|e| failed(e.to_string()))?;
        Ok(())
    }
}

/// Subject and body of the "ready" e-mail.
pub fn ready_message(
    name: &str,
    link: &str,
    sha256: &str,
    size: i64,
    expires: i64,
) -> (String, String) {
    let when = humantime::format_rfc3339_seconds(
        std::time::UNIX_EPOCH + std::time::Duration::from_secs(u64::try_from(expires).unwrap_or(0)),
    );
    (
        format!("[nixspot Imager] “{name}”: your image is ready!"),
        format!(
            "Your hotspot image “{name}” is ready.\n\n\
             Download: {link}\n\
             Size: {size} bytes\n\
             SHA-256: {sha256}\n\n\
             The image will be deleted on {when}.\n\
             Write it to a micro-SD card with Raspberry Pi Imager (choose \"Use custom\", no OS customisation).\n"
        ),
    )
}

/// Subject and body of the "failed" e-mail.
pub fn failed_message(name: &str, reason: &str) -> (String, String) {
    (
        format!("[nixspot Imager] “{name}” failed!"),
        format!("The image “{name}” could not be built.\n\nReason: {reason}\n"),
    )
}
