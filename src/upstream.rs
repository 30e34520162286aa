//! The one HTTP client pipgate uses to talk to the upstream index.
//!
//! Owns: TLS trust (the system store, including `SSL_CERT_FILE` / `SSL_CERT_DIR`, through
//! rustls-native-certs), timeouts and deadlines, body size limits, which hosts may be
//! fetched from, conditional page requests, and turning transport failures into typed
//! [`ProxyError`]s whose text never carries credentials.
//! Must not: cache, parse pages or decide anything.
//!
//! A hostile or broken upstream is bounded:
//! - **Sizes**: page bodies (`max_page_bytes`, default 64 MiB) and `.metadata` bodies
//!   (`max_metadata_bytes`, default 16 MiB) are streamed and refused (502, naming the
//!   limit) once larger, never read whole; artifacts have their own limit in `artifact`.
//! - **Time**: besides the connect and read (silence) timeouts, a page or `.metadata` fetch
//!   has a total deadline (`upstream_deadline`, default 60 s); an artifact download has
//!   that deadline plus its size at `min_transfer_rate`, and is also abandoned when its
//!   average rate over the last `rate_window` falls below `min_transfer_rate` (checked
//!   once a window has passed). Either is a 504 naming what timed out.
//! - **Hosts** (SSRF): pipgate fetches only from the upstream's origin (scheme, host, port)
//!   and the file hosts allowed by [`FileHosts`]; redirects are followed (at most
//!   [`MAX_REDIRECTS`]) only to those. Anything else is refused before a request is sent.

use crate::config::{redact, ProxyConfig};
use crate::error::ProxyError;
use reqwest::header::{HeaderValue, ACCEPT, ETAG, IF_NONE_MATCH, USER_AGENT};
use reqwest::StatusCode;
use std::sync::Arc;
use std::time::Duration;
use url::{Host, Url};

/// What pipgate asks the upstream for: JSON first, HTML as fallback.
pub(crate) const UPSTREAM_ACCEPT: &str =
    "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01";

/// Redirects followed per request (each only to an allowed origin).
pub(crate) const MAX_REDIRECTS: usize = 5;

/// The answer to a page request.
#[derive(Debug)]
pub(crate) enum PageFetch {
    Fresh { body: String, content_type: String, etag: Option<String>, url: Url },
    NotModified,
    NotFound,
}

/// Size and time bounds on what the upstream sends (see the module docs).
#[derive(Debug, Clone)]
pub(crate) struct Limits {
    pub max_page_bytes: u64,
    pub max_metadata_bytes: u64,
    pub deadline: Duration,
    pub min_rate: u64,
    pub rate_window: Duration,
}

/// Where files may be fetched from: the upstream's origin, plus either the explicit
/// allow-list (`--allow-file-host HOST[:PORT]`; no port means the scheme's default), or,
/// when none is configured, https hosts (http too if the upstream is http) on the default
/// port whose registrable domain (public suffix list) is the upstream host's. An upstream
/// on an IP address or a single-label host has no registrable domain: only its origin.
#[derive(Debug)]
pub(crate) struct FileHosts {
    origin: (String, Option<String>, Option<u16>),
    explicit: Vec<(String, Option<u16>)>,
    domain: Option<String>,
    http_ok: bool,
}

/// The custom redirect policy's refusal, found again in the error's source chain.
#[derive(Debug, thiserror::Error)]
#[error("redirect to a host that is not allowed")]
struct RedirectRefused {
    host: String,
    url: String,
}

fn registrable(url: &Url) -> Option<String> {
    match url.host()? {
        Host::Domain(d) => {
            let d = d.trim_end_matches('.').to_ascii_lowercase();
            psl::domain_str(&d).map(str::to_string)
        }
        _ => None,
    }
}

/// `host` or `host:port` as a user would allow it.
fn host_port(url: &Url) -> String {
    match (url.host_str(), url.port()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_string(),
        _ => url.to_string(),
    }
}

impl FileHosts {
    pub(crate) fn new(base: &Url, allowed: &[String]) -> Result<Self, ProxyError> {
        let mut explicit = Vec::new();
        for raw in allowed {
            let norm = crate::config::parse_file_host(raw).map_err(ProxyError::internal)?;
            let url = Url::parse(&format!("http://{norm}/")).map_err(ProxyError::internal)?;
            let port = norm.rsplit_once(':').filter(|_| !norm.ends_with(']')).and_then(|(_, p)| p.parse().ok());
            explicit.push((url.host_str().unwrap_or_default().to_string(), port));
        }
        Ok(FileHosts {
            origin: (base.scheme().to_string(), base.host_str().map(str::to_string), base.port_or_known_default()),
            explicit,
            domain: registrable(base),
            http_ok: base.scheme() == "http",
        })
    }

    pub(crate) fn allows(&self, url: &Url) -> bool {
        if url.scheme() != "http" && url.scheme() != "https" {
            return false;
        }
        let Some(host) = url.host_str() else { return false };
        if url.scheme() == self.origin.0
            && Some(host) == self.origin.1.as_deref()
            && url.port_or_known_default() == self.origin.2
        {
            return true;
        }
        if !self.explicit.is_empty() {
            return self.explicit.iter().any(|(h, p)| {
                h == host
                    && match p {
                        Some(p) => url.port_or_known_default() == Some(*p),
                        None => url.port().is_none(),
                    }
            });
        }
        url.port().is_none()
            && (url.scheme() == "https" || self.http_ok)
            && self.domain.is_some()
            && registrable(url) == self.domain
    }

    fn check(&self, url: &Url) -> Result<(), ProxyError> {
        if self.allows(url) {
            Ok(())
        } else {
            Err(ProxyError::FileHostNotAllowed { host: host_port(url), url: redact(url) })
        }
    }
}

#[derive(Clone)]
pub(crate) struct Upstream {
    client: reqwest::Client,
    base: Url,
    limits: Limits,
    hosts: Arc<FileHosts>,
    /// When the upstream last answered (any status below 500), for readiness.
    last_answer: Arc<std::sync::Mutex<Option<std::time::Instant>>>,
    /// The last response time and the last failure, for the dashboard.
    health: Arc<std::sync::Mutex<Health>>,
}

/// How the upstream has been doing, as last seen (the dashboard's "upstream health").
#[derive(Debug, Clone, Default)]
pub(crate) struct Health {
    /// The last request's time to response headers, and when it was sent (RFC 3339).
    pub last_latency: Option<(Duration, String)>,
    /// The last failure (transport error or 5xx; text without credentials), and when (RFC 3339).
    pub last_error: Option<(String, String)>,
}

impl Upstream {
    pub(crate) fn new(cfg: &ProxyConfig) -> Result<Self, ProxyError> {
        let hosts = Arc::new(FileHosts::new(&cfg.upstream, &cfg.file_hosts)?);
        let allowed = hosts.clone();
        let redirects = reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() >= MAX_REDIRECTS {
                let n = attempt.previous().len();
                attempt.error(format!("more than {n} redirects"))
            } else if allowed.allows(attempt.url()) {
                attempt.follow()
            } else {
                let refused = RedirectRefused { host: host_port(attempt.url()), url: redact(attempt.url()) };
                attempt.error(refused)
            }
        });
        let client = reqwest::Client::builder()
            .connect_timeout(cfg.connect_timeout)
            .read_timeout(cfg.read_timeout)
            .redirect(redirects)
            .no_gzip()
            .user_agent(concat!("pipgate/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ProxyError::internal(format!("building the upstream HTTP client: {e}")))?;
        let limits = Limits {
            max_page_bytes: cfg.max_page_bytes,
            max_metadata_bytes: cfg.max_metadata_bytes,
            deadline: cfg.upstream_deadline,
            min_rate: cfg.min_transfer_rate,
            rate_window: cfg.rate_window,
        };
        Ok(Upstream {
            client,
            base: cfg.upstream.clone(),
            limits,
            hosts,
            last_answer: Default::default(),
            health: Default::default(),
        })
    }

    /// Note an upstream answer: below 500 the upstream is up (a 404 is an answer too).
    fn answered(&self, status: StatusCode) {
        if status.as_u16() < 500 {
            *self.last_answer.lock().unwrap_or_else(std::sync::PoisonError::into_inner) =
                Some(std::time::Instant::now());
        }
    }

    /// Note a response's time to headers (and a 5xx as a failure), for metrics and health.
    fn timed(&self, kind: &'static str, sent: std::time::Instant, status: StatusCode) {
        let took = sent.elapsed();
        crate::metrics::upstream_response(kind, took);
        let mut h = self.health.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        h.last_latency = Some((took, crate::timefmt::now_rfc3339()));
        if status.is_server_error() {
            crate::metrics::upstream_error(kind);
            h.last_error =
                Some((format!("{} answered {}", self.display(), status.as_u16()), crate::timefmt::now_rfc3339()));
        }
    }

    /// Note a failure that got no response.
    fn failed(&self, kind: &'static str, error: &ProxyError) {
        crate::metrics::upstream_error(kind);
        let mut h = self.health.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        h.last_error = Some((error.to_string(), crate::timefmt::now_rfc3339()));
    }

    /// The last response time and failure seen.
    pub(crate) fn health(&self) -> Health {
        self.health.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// How long ago the upstream last answered (`None`: not since start-up).
    pub(crate) fn last_answer_age(&self) -> Option<Duration> {
        self.last_answer.lock().unwrap_or_else(std::sync::PoisonError::into_inner).map(|t| t.elapsed())
    }

    /// Ask the upstream's root with a `HEAD` (no body: the public root page is large) within
    /// `timeout`; `Ok` with the status when it answered below 500.
    pub(crate) async fn check(&self, timeout: Duration) -> Result<u16, String> {
        let req = self.client.head(self.with_credentials(&self.base)).timeout(timeout).send();
        match req.await {
            Ok(resp) if resp.status().as_u16() < 500 => {
                self.answered(resp.status());
                Ok(resp.status().as_u16())
            }
            Ok(resp) => Err(format!("{} answered {}", self.display(), resp.status().as_u16())),
            Err(e) => Err(format!("{}: {}", self.display(), describe(&e.without_url()))),
        }
    }

    pub(crate) fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The 504 for a deadline that passed while fetching `what` from `url`.
    pub(crate) fn deadline_passed(&self, url: &Url, what: &str, after: Duration) -> ProxyError {
        ProxyError::UpstreamTimeout {
            upstream: redact(url),
            reason: format!("{what} did not finish within its {} deadline (--upstream-deadline)", secs(after)),
        }
    }

    /// The upstream base URL with credentials redacted, for messages.
    pub(crate) fn display(&self) -> String {
        redact(&self.base)
    }

    /// Where files may come from (the forward proxy inspects exactly these origins).
    pub(crate) fn hosts(&self) -> &FileHosts {
        &self.hosts
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
        self.hosts.check(url)?;
        let deadline = self.limits.deadline;
        tokio::time::timeout(deadline, self.fetch_page_within(url, etag))
            .await
            .unwrap_or_else(|_| Err(self.deadline_passed(url, "the page fetch", deadline)))
    }

    async fn fetch_page_within(&self, url: &Url, etag: Option<&str>) -> Result<PageFetch, ProxyError> {
        let mut req = self.client.get(self.with_credentials(url)).header(ACCEPT, UPSTREAM_ACCEPT);
        if let Some(tag) = etag.and_then(|t| HeaderValue::from_str(t).ok()) {
            req = req.header(IF_NONE_MATCH, tag);
        }
        let sent = std::time::Instant::now();
        let resp =
            req.send().await.map_err(|e| self.transport_error(url, e)).inspect_err(|e| self.failed("page", e))?;
        self.timed("page", sent, resp.status());
        self.answered(resp.status());
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
        let body = self.read_limited(resp, url, "page", self.limits.max_page_bytes, "--max-page-bytes").await?;
        let body = match String::from_utf8(body) {
            Ok(s) => s,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        };
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

    /// Read a whole body of at most `limit` bytes, streaming (never trusting `Content-Length`).
    async fn read_limited(
        &self,
        mut resp: reqwest::Response,
        url: &Url,
        what: &'static str,
        limit: u64,
        setting: &'static str,
    ) -> Result<Vec<u8>, ProxyError> {
        let too_large = || ProxyError::ResponseTooLarge { what, url: redact(url), limit, setting };
        if resp.content_length().is_some_and(|l| l > limit) {
            return Err(too_large());
        }
        let mut out = Vec::with_capacity(resp.content_length().unwrap_or(0).min(1 << 20) as usize);
        while let Some(chunk) = resp.chunk().await.map_err(|e| self.transport_error(url, e))? {
            if (out.len() + chunk.len()) as u64 > limit {
                return Err(too_large());
            }
            out.extend_from_slice(&chunk);
        }
        Ok(out)
    }

    /// A file's `.metadata` from the upstream: bounded by `max_metadata_bytes` and the deadline.
    pub(crate) async fn fetch_metadata(&self, url: &Url) -> Result<Vec<u8>, ProxyError> {
        let deadline = self.limits.deadline;
        let fetch = async {
            let resp = self.fetch_file(url).await?;
            self.read_limited(resp, url, ".metadata", self.limits.max_metadata_bytes, "--max-metadata-bytes").await
        };
        tokio::time::timeout(deadline, fetch)
            .await
            .unwrap_or_else(|_| Err(self.deadline_passed(url, "the .metadata fetch", deadline)))
    }

    /// Start downloading a file; the caller streams the body (and bounds its time).
    pub(crate) async fn fetch_file(&self, url: &Url) -> Result<reqwest::Response, ProxyError> {
        self.hosts.check(url)?;
        let sent = std::time::Instant::now();
        let resp = self
            .client
            .get(self.with_credentials(url))
            .header(USER_AGENT, concat!("pipgate/", env!("CARGO_PKG_VERSION")))
            .send()
            .await
            .map_err(|e| self.transport_error(url, e))
            .inspect_err(|e| self.failed("file", e))?;
        self.timed("file", sent, resp.status());
        self.answered(resp.status());
        if !resp.status().is_success() {
            return Err(ProxyError::UpstreamStatus { url: redact(url), status: resp.status().as_u16() });
        }
        Ok(resp)
    }

    /// Map a reqwest error to a typed error, without the (credential-bearing) URL reqwest keeps.
    pub(crate) fn transport_error(&self, url: &Url, e: reqwest::Error) -> ProxyError {
        let mut src: Option<&(dyn std::error::Error + 'static)> = Some(&e);
        while let Some(s) = src {
            if let Some(r) = s.downcast_ref::<RedirectRefused>() {
                return ProxyError::FileHostNotAllowed { host: r.host.clone(), url: r.url.clone() };
            }
            src = s.source();
        }
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

/// `90s`, `1.5s`: a duration for messages.
pub(crate) fn secs(d: Duration) -> String {
    format!("{}s", (d.as_secs_f64() * 1000.0).round() / 1000.0)
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
    fn files_come_only_from_allowed_hosts() {
        let allowed = |base: &str, list: &[&str], url: &str| {
            let list: Vec<String> = list.iter().map(ToString::to_string).collect();
            FileHosts::new(&Url::parse(base).unwrap(), &list).unwrap().allows(&Url::parse(url).unwrap())
        };
        let base = "https://index.example.org/simple/";
        let local = "http://127.0.0.1:8080/simple/";
        let cases: &[(&str, &str, &[&str], &str, bool)] = &[
            ("upstream origin", base, &[], "https://index.example.org/files/a.whl", true),
            ("same registrable domain", base, &[], "https://files.example.org/a.whl", true),
            ("deeper subdomain of it", base, &[], "https://a.b.example.org/a.whl", true),
            ("other domain", base, &[], "https://files.example.net/a.whl", false),
            ("lookalike suffix", base, &[], "https://files.notexample.org/a.whl", false),
            ("same domain, other port", base, &[], "https://files.example.org:8443/a.whl", false),
            ("same domain, http downgrade", base, &[], "http://files.example.org/a.whl", false),
            ("upstream host, other port", base, &[], "https://index.example.org:8443/a.whl", false),
            ("IP upstream: own origin", local, &[], "http://127.0.0.1:8080/files/a.whl", true),
            ("IP upstream: other port", local, &[], "http://127.0.0.1:8081/a.whl", false),
            ("IP upstream: other IP", local, &[], "http://127.0.0.2:8080/a.whl", false),
            ("allow-list: listed host:port", local, &["127.0.0.1:8081"], "http://127.0.0.1:8081/a.whl", true),
            ("allow-list: other port", local, &["127.0.0.1:8081"], "http://127.0.0.1:8082/a.whl", false),
            ("allow-list: host, default port", base, &["cdn.example.net"], "https://cdn.example.net/a.whl", true),
            ("allow-list: host, other port", base, &["cdn.example.net"], "https://cdn.example.net:444/a.whl", false),
            ("allow-list replaces the domain rule", base, &["cdn.example.net"], "https://files.example.org/a", false),
            ("allow-list keeps the origin", base, &["cdn.example.net"], "https://index.example.org/a.whl", true),
            ("not http", base, &[], "file:///etc/passwd", false),
        ];
        for (case, base, list, url, want) in cases {
            assert_eq!(allowed(base, list, url), *want, "{case}");
        }
    }

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
