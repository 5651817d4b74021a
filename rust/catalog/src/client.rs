//! A small blocking HTTP client for the catalog and the checksum files.

use crate::CatalogError;
use std::time::Duration;
use ureq::ResponseExt as _;

/// HTTP client shared by catalog loads and checksum pins (keeps connections alive).
#[derive(Clone)]
pub struct Client {
    agent: ureq::Agent,
}

/// A response whose status the caller inspects itself.
pub(crate) struct Response {
    pub status: u16,
    /// The URL that answered, after redirects: the base for relative links.
    pub final_url: String,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub content_length: Option<u64>,
    pub body: ureq::BodyReader<'static>,
}

impl Default for Client {
    fn default() -> Self {
        Client::new()
    }
}

impl Client {
    /// A client with nixspot's user agent, bounded timeouts and up to 10 redirects.
    pub fn new() -> Client {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .user_agent(concat!("nixspot/", env!("CARGO_PKG_VERSION")))
            .max_redirects(10)
            .timeout_connect(Some(Duration::from_secs(30)))
            // Per read, not global: the full catalog is large and may come slowly.
            .timeout_recv_response(Some(Duration::from_secs(60)))
            .timeout_per_read(Some(Duration::from_secs(60)))
            .build()
            .into();
        Client { agent }
    }

    /// `GET url` with extra request headers; any status is returned, transport errors are not.
    pub(crate) fn get(
        &self,
        url: &str,
        headers: &[(&str, &str)],
    ) -> Result<Response, CatalogError> {
        let mut request = self.agent.get(url);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        Self::wrap(url, request.call())
    }

    /// `HEAD url`.
    pub(crate) fn head(&self, url: &str) -> Result<Response, CatalogError> {
        Self::wrap(url, self.agent.head(url).call())
    }

    fn wrap(
        url: &str,
        result: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<Response, CatalogError> {
        let response = result.map_err(|e| CatalogError::Http {
            url: url.to_string(),
            reason: e.to_string(),
        })?;
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let etag = header("etag");
        let last_modified = header("last-modified");
        let content_length = header("content-length").and_then(|v| v.trim().parse().ok());
        let status = response.status().as_u16();
        let final_url = response.get_uri().to_string();
        Ok(Response {
            status,
            final_url,
            etag,
            last_modified,
            content_length,
            body: response.into_body().into_reader(),
        })
    }
}
