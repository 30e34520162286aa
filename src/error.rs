//! Typed errors for the proxy, each carrying its evidence and saying whose fault it is.
//!
//! Owns: the error vocabulary and its mapping to HTTP status codes.
//! Must not: format HTTP bodies (that is `respond`) or log (callers decide where it goes).

use hyper::StatusCode;

/// Whose fault an error is: shown to users and written to the audit log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Fault {
    /// The upstream index misbehaved: down, slow, wrong bytes, malformed page.
    Upstream,
    /// The client asked for something that does not exist or is malformed.
    Client,
    /// The organisation's policy (file) is at fault.
    Policy,
    /// A bug or a local resource problem in pipgate.
    Internal,
}

impl Fault {
    pub fn as_str(self) -> &'static str {
        match self {
            Fault::Upstream => "upstream",
            Fault::Client => "client",
            Fault::Policy => "policy",
            Fault::Internal => "internal",
        }
    }
}

/// Everything that can go wrong while answering one request.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ProxyError {
    #[error("upstream {upstream} is unreachable: {reason}")]
    UpstreamUnreachable { upstream: String, reason: String },
    #[error("upstream {upstream} did not answer in time ({reason})")]
    UpstreamTimeout { upstream: String, reason: String },
    #[error("upstream answered HTTP {status} for {url}")]
    UpstreamStatus { url: String, status: u16 },
    #[error("upstream page {url} is malformed: {reason}")]
    MalformedPage { url: String, reason: String },
    #[error(
        "{filename}: upstream sent bytes with {algorithm} {computed}, but the index promised {expected}; not served"
    )]
    HashMismatch { filename: String, algorithm: String, expected: String, computed: String },
    #[error("upstream transfer of {filename} broke after {received} bytes: {reason}")]
    TransferBroken { filename: String, received: u64, reason: String },
    #[error("upstream {what} {url} is larger than the {limit}-byte limit ({setting}); not served")]
    ResponseTooLarge { what: &'static str, url: String, limit: u64, setting: &'static str },
    #[error(
        "file host {host} is not allowed: pipgate fetches only from the upstream's origin and allowed file hosts \
         (refused {url}); allow it with --allow-file-host {host}"
    )]
    FileHostNotAllowed { host: String, url: String },
    #[error("{filename} is larger than the {limit}-byte artifact limit")]
    TooLarge { filename: String, limit: u64 },
    #[error("{what} not found")]
    NotFound { what: String },
    #[error(
        "the decision could not be written to the audit log ({reason}); pipgate does not serve what it cannot audit"
    )]
    AuditUnavailable { reason: String },
    #[error("internal error: {0}")]
    Internal(String),
}

impl ProxyError {
    pub fn fault(&self) -> Fault {
        match self {
            ProxyError::NotFound { .. } => Fault::Client,
            ProxyError::Internal(_) | ProxyError::AuditUnavailable { .. } => Fault::Internal,
            _ => Fault::Upstream,
        }
    }

    /// The status code clients see. Upstream failures are 502/504, never 404:
    /// a 404 would send resolvers to another index (dependency confusion).
    pub fn status(&self) -> StatusCode {
        match self {
            ProxyError::UpstreamStatus { status: 404, .. } | ProxyError::NotFound { .. } => StatusCode::NOT_FOUND,
            ProxyError::UpstreamTimeout { .. } => StatusCode::GATEWAY_TIMEOUT,
            ProxyError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ProxyError::AuditUnavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::BAD_GATEWAY,
        }
    }

    pub fn internal(e: impl std::fmt::Display) -> Self {
        ProxyError::Internal(e.to_string())
    }
}

impl From<std::io::Error> for ProxyError {
    fn from(e: std::io::Error) -> Self {
        ProxyError::Internal(format!("local I/O: {e}"))
    }
}
