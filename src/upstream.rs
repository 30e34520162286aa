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
pub(crate) const UPSTREAM_ACCEPT: &str =
    "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01";

/// The answer to a page request.
#[derive(Debug)]
pub(crate) enum PageFetch {
    Fresh { body: String, content_type: String, etag: Option<String>, url: Url },
    NotModified,
    NotFound,
}

#[derive(Clone)]
pub(crate) struct Upstream {
    client: reqwest::Client,
    base: Url,
}

impl Upstream {
    pub(crate) fn new(cfg: &ProxyConfig) -> Result<Self, ProxyError> {
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
    pub(crate) fn display(&self) -> String {
        redact(&self.base)
    }

    pub(crate) fn base(&self) -> &Url {
        &self.base
    }

    /// `<base><normalised>/`
    pub(crate) fn project_url(&self, normalized: &str) -> Url {
        self.base.join(&format!("{normalized}/")).unwrap_or_else(|_| self.base.clone())
    }

    /// Fetch an index page, revalidating with `If-None-Match` when we hold an ETag.
    pub(crate) async fn fetch_page(&self, url: &Url, etag: Option<&str>) -> Result<PageFetch, ProxyError> {
        let mut req = self.client.get(self.with_credentials(url)).header(ACCEPT, UPSTREAM_ACCEPT);
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

    /// The URL with the upstream's credentials when it is on the upstream's origin and
    /// carries none (pages link files relatively; reqwest moves userinfo into a header,
    /// so resolved URLs lose it). Other hosts never see the credentials, as with pip.
    pub(crate) fn with_credentials(&self, url: &Url) -> Url {
        let same_origin = url.scheme() == self.base.scheme()
            && url.host_str() == self.base.host_str()
            && url.port_or_known_default() == self.base.port_or_known_default();
        let mut out = url.clone();
        if same_origin && url.username().is_empty() && !self.base.username().is_empty() {
            let _ = out.set_username(self.base.username());
            let _ = out.set_password(self.base.password());
        }
        out
    }

    /// Start downloading a file; the caller streams the body.
    pub(crate) async fn fetch_file(&self, url: &Url) -> Result<reqwest::Response, ProxyError> {
        let resp = self
            .client
            .get(self.with_credentials(url))
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
    pub(crate) fn transport_error(&self, url: &Url, e: reqwest::Error) -> ProxyError {
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
pub(crate) fn describe(e: &(dyn std::error::Error + 'static)) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_go_only_to_the_upstream_origin() {
        let base = Url::parse("https://bot:tok@index.example.org/simple/").unwrap();
        let up = Upstream::new(&ProxyConfig::new(base, "/tmp".into())).unwrap();
        let cases = [
            (
                "same origin, relative link",
                "https://index.example.org/files/a.whl",
                "https://bot:tok@index.example.org/files/a.whl",
            ),
            ("other host", "https://files.example.org/a.whl", "https://files.example.org/a.whl"),
            ("same host, other port", "https://index.example.org:8443/a.whl", "https://index.example.org:8443/a.whl"),
            ("downgrade to http", "http://index.example.org/a.whl", "http://index.example.org/a.whl"),
            ("own credentials kept", "https://x:y@index.example.org/a.whl", "https://x:y@index.example.org/a.whl"),
        ];
        for (case, url, want) in cases {
            assert_eq!(up.with_credentials(&Url::parse(url).unwrap()).as_str(), want, "{case}");
        }
    }
}
