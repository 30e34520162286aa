//! The one HTTP client pipgate uses to talk to the upstream index.
//!
//! Owns: TLS trust (the system store, including `SSL_CERT_FILE` / `SSL_CERT_DIR`, through
//! rustls-native-certs), timeouts, conditional page requests, and turning transport
//! failures into typed [`ProxyError`]s whose text never carries credentials.
//! Must not: cache, parse pages or decide anything.

use crate::config::{redact, ProxyConfig};
use crate::error::ProxyError;
use reqwest::header::{HeaderValue, ACCEPT, ETAG, IF_NONE_MATCH, USER_AGENT};
use reqwest::StatusCode;
use url::Url;

/// What pipgate asks the upstream for: JSON first, HTML as fallback.
pub const UPSTREAM_ACCEPT: &str =
    "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01";

/// The answer to a page request.
#[derive(Debug)]
pub enum PageFetch {
    Fresh { body: String, content_type: String, etag: Option<String>, url: Url },
    NotModified,
    NotFound,
}

#[derive(Clone)]
pub struct Upstream {
    client: reqwest::Client,
    base: Url,
}

impl Upstream {
    pub fn new(cfg: &ProxyConfig) -> Result<Self, ProxyError> {
        let client = reqwest::Client::builder()
            .connect_timeout(cfg.connect_timeout)
            .read_timeout(cfg.read_timeout)
            .no_gzip()
            .user_agent(concat!("pipgate/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ProxyError::internal(format!("building the upstream HTTP client: {e}")))?;
        Ok(Upstream { client, base: cfg.upstream.clone() })
    }

    /// The upstream base URL with credentials redacted, for messages.
    pub fn display(&self) -> String {
        redact(&self.base)
    }

    pub fn base(&self) -> &Url {
        &self.base
    }

    /// `<base><normalised>/`
    pub fn project_url(&self, normalized: &str) -> Url {
        self.base.join(&format!("{normalized}/")).unwrap_or_else(|_| self.base.clone())
    }

    /// Fetch an index page, revalidating with `If-None-Match` when we hold an ETag.
    pub async fn fetch_page(&self, url: &Url, etag: Option<&str>) -> Result<PageFetch, ProxyError> {
        let mut req = self.client.get(url.clone()).header(ACCEPT, UPSTREAM_ACCEPT);
        if let Some(tag) = etag.and_then(|t| HeaderValue::from_str(t).ok()) {
            req = req.header(IF_NONE_MATCH, tag);
        }
        let resp = req.send().await.map_err(|e| self.transport_error(url, e))?;
        match resp.status() {
            StatusCode::NOT_MODIFIED => return Ok(PageFetch::NotModified),
            StatusCode::NOT_FOUND | StatusCode::GONE => return Ok(PageFetch::NotFound),
            s if !s.is_success() => return Err(ProxyError::UpstreamStatus { url: redact(url), status: s.as_u16() }),
            _ => {}
        }
        let final_url = resp.url().clone();
        let content_type = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("text/html")
            .to_string();
        let etag = resp.headers().get(ETAG).and_then(|v| v.to_str().ok()).map(str::to_string);
        let body = resp.text().await.map_err(|e| self.transport_error(url, e))?;
        Ok(PageFetch::Fresh { body, content_type, etag, url: final_url })
    }

    /// Start downloading a file; the caller streams the body.
    pub async fn fetch_file(&self, url: &Url) -> Result<reqwest::Response, ProxyError> {
        let resp = self
            .client
            .get(url.clone())
            .header(USER_AGENT, concat!("pipgate/", env!("CARGO_PKG_VERSION")))
            .send()
            .await
            .map_err(|e| self.transport_error(url, e))?;
        if !resp.status().is_success() {
            return Err(ProxyError::UpstreamStatus { url: redact(url), status: resp.status().as_u16() });
        }
        Ok(resp)
    }

    /// Map a reqwest error to a typed error, without the (credential-bearing) URL reqwest keeps.
    pub fn transport_error(&self, url: &Url, e: reqwest::Error) -> ProxyError {
        let upstream = redact(url);
        let timeout = e.is_timeout();
        let reason = describe(&e.without_url());
        if timeout {
            ProxyError::UpstreamTimeout { upstream, reason }
        } else {
            ProxyError::UpstreamUnreachable { upstream, reason }
        }
    }
}

/// The error and its causes on one line (reqwest hides the useful part in `source()`).
pub fn describe(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        let s_text = s.to_string();
        if !out.contains(&s_text) {
            out.push_str(": ");
            out.push_str(&s_text);
        }
        src = s.source();
    }
    out
}
