//! Who is asking, and how much they may ask: index client authentication and per-user /
//! per-client limits, applied to a request before it is routed.
//!
//! Owns: the `auth:` and `limits:` settings' run-time form ([`Config`]), tokens (made here,
//! stored only as `sha256:` hashes, compared in constant time), HTTP Basic credentials, the
//! plain-HTTP refusal, and admission ([`Access::admit`]): an [`Admission`] (the user, and the
//! download slots the request holds until its response body is sent) or a typed [`Refusal`]
//! saying why and for how long.
//! Must not: route, decide about artifacts, build responses (that is `respond`) or read files.
//!
//! Why sha256 and not a password KDF: tokens are made here from 32 random bytes (256 bits),
//! so nobody can guess one from its hash, slow or fast; a slow KDF (argon2, bcrypt) only
//! protects low-entropy human passwords and would cost every request tens of milliseconds.
//! The comparison is constant-time, and an unknown user name costs the same hash as a known one.

pub(crate) mod limits;

use base64::Engine;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;
use subtle::ConstantTimeEq;

/// The realm pip and uv see in `WWW-Authenticate` (netrc and keyring entries are per host).
pub(crate) const REALM: &str = "pipgate";

/// Every new token starts with this (secret scanners and humans recognise it).
pub(crate) const TOKEN_PREFIX: &str = "pgt_";

/// The `sha256:<hex>` form of a token, as `auth.users[].token_hash` holds it.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct TokenHash([u8; 32]);

impl TokenHash {
    /// The hash of a token as presented.
    pub(crate) fn of(token: &str) -> TokenHash {
        TokenHash(Sha256::digest(token.as_bytes()).into())
    }

    /// `sha256:` followed by 64 hex digits (either case).
    pub(crate) fn parse(text: &str) -> Result<TokenHash, String> {
        let hex_part = text.trim().strip_prefix("sha256:").ok_or_else(|| {
            format!("expected sha256:<64 hex digits> (from `pipgate auth add-user NAME`), got {:?}", short(text))
        })?;
        let mut out = [0u8; 32];
        match hex::decode_to_slice(hex_part, &mut out) {
            Ok(()) => Ok(TokenHash(out)),
            Err(_) => Err(format!("expected sha256: followed by 64 hex digits, got {:?}", short(text))),
        }
    }

    fn matches(&self, other: &TokenHash) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl std::fmt::Display for TokenHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "sha256:{}", hex::encode(self.0))
    }
}

impl std::fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "sha256:{}…", hex::encode(&self.0[..4]))
    }
}

fn short(s: &str) -> String {
    s.chars().take(24).collect()
}

/// A fresh token: `pgt_` and 32 random bytes from the operating system, base64url (safe in
/// an index URL's password, in netrc and in keyring).
pub(crate) fn new_token() -> std::io::Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::getrandom(&mut bytes).map_err(|e| std::io::Error::other(e.to_string()))?;
    Ok(format!("{TOKEN_PREFIX}{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)))
}

/// Whether a user name is acceptable: 1 to 64 of `A-Z a-z 0-9 . _ @ + -` (no `:`, which
/// Basic credentials cannot carry in a user name, no spaces or controls, which would forge
/// log lines).
pub(crate) fn check_user_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '@' | '+' | '-'));
    if ok {
        Ok(())
    } else {
        Err(format!("user name {:?}: expected 1 to 64 of A-Z a-z 0-9 . _ @ + -", short(name)))
    }
}

/// `auth:` and `limits:` from the policy, checked there; the default is "no authentication,
/// no limits" (the behaviour before these settings existed).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Config {
    /// User name → token hash. Empty: anonymous access (no authentication).
    pub users: BTreeMap<String, TokenHash>,
    /// Accept index credentials over plain HTTP from other machines.
    pub dangerous_allow_plain_http: bool,
    pub limits: limits::Config,
}

impl Config {
    pub(crate) fn auth_required(&self) -> bool {
        !self.users.is_empty()
    }
}

/// Why a request was not admitted: the client's answer is built from this by `respond`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub(crate) enum Refusal {
    #[error(
        "pipgate requires a user name and token: put them in the index URL (http://USER:TOKEN@HOST/simple/), \
         in ~/.netrc (machine HOST login USER password TOKEN) or in your keyring; ask your pipgate operator for a token"
    )]
    CredentialsRequired,
    #[error(
        "the credentials sent for user {user:?} are not valid here (unknown user or wrong token); \
         ask your pipgate operator for a new token (`pipgate auth add-user`)"
    )]
    BadCredentials { user: String },
    #[error("the Authorization header is not HTTP Basic user:token credentials ({why})")]
    Malformed { why: String },
    #[error(
        "pipgate does not accept index credentials over plain HTTP from another machine (they would cross \
         the network readable by anyone on the way): reach pipgate over HTTPS, or on this machine; the \
         operator may set auth.dangerous_allow_plain_http: true to accept the risk"
    )]
    PlainHttp,
    #[error(
        "{who} sent more than {rate} requests per second (burst {burst}, {setting}); retry after {} s",
        secs(*retry_after)
    )]
    RateLimited { who: String, rate: String, burst: u32, setting: &'static str, retry_after: Duration },
    #[error(
        "{who} already has {max} downloads in progress ({setting}) and none finished within {} s; retry shortly",
        secs(*waited)
    )]
    DownloadsBusy { who: String, max: u32, setting: &'static str, waited: Duration },
}

/// Whole seconds, rounded up, at least 1 (the unit of `Retry-After`).
pub(crate) fn secs(d: Duration) -> u64 {
    (d.as_millis().div_ceil(1000) as u64).max(1)
}

impl Refusal {
    /// The status code: 401 asks the client for credentials (pip then tries netrc/keyring),
    /// 403 refuses outright, 429 asks it to come back (pip and uv both retry it).
    pub(crate) fn status(&self) -> u16 {
        match self {
            Refusal::CredentialsRequired | Refusal::BadCredentials { .. } | Refusal::Malformed { .. } => 401,
            Refusal::PlainHttp => 403,
            Refusal::RateLimited { .. } | Refusal::DownloadsBusy { .. } => 429,
        }
    }

    /// For the access log: `auth:…` or `limit:…`.
    pub(crate) fn code(&self) -> &'static str {
        match self {
            Refusal::CredentialsRequired => "auth:required",
            Refusal::BadCredentials { .. } => "auth:invalid",
            Refusal::Malformed { .. } => "auth:malformed",
            Refusal::PlainHttp => "auth:plain-http",
            Refusal::RateLimited { .. } => "limit:rate",
            Refusal::DownloadsBusy { .. } => "limit:downloads",
        }
    }

    /// The short title (problem+json `title`; the status line's reason phrase pip prints).
    pub(crate) fn title(&self) -> &'static str {
        match self {
            Refusal::CredentialsRequired => {
                "pipgate: credentials required (USER:TOKEN in the index URL, netrc or keyring)"
            }
            Refusal::BadCredentials { .. } | Refusal::Malformed { .. } => "pipgate: invalid credentials",
            Refusal::PlainHttp => "pipgate: credentials refused over plain HTTP; use HTTPS",
            Refusal::RateLimited { .. } => "pipgate: rate limit reached, retry later",
            Refusal::DownloadsBusy { .. } => "pipgate: too many downloads at once, retry later",
        }
    }

    /// `Retry-After`, for 429s.
    pub(crate) fn retry_after(&self) -> Option<u64> {
        match self {
            Refusal::RateLimited { retry_after, .. } => Some(secs(*retry_after)),
            Refusal::DownloadsBusy { .. } => Some(1),
            _ => None,
        }
    }
}

/// What admission needs to know about one request.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Asking<'a> {
    /// The `Authorization` header, if any.
    pub authorization: Option<&'a str>,
    pub client: IpAddr,
    /// Arrived over TLS.
    pub secure: bool,
    /// A user a front end already authenticated (proxy authentication): index
    /// credentials are then not asked for.
    pub user: Option<&'a str>,
    /// A file or `.metadata` download (counts against `concurrent_downloads`).
    pub download: bool,
}

/// An admitted request: who it is, and the download slots it holds (released when dropped,
/// which the server arranges to happen when the response body has been sent).
#[derive(Debug)]
pub(crate) struct Admission {
    pub user: Option<String>,
    pub slots: limits::Held,
}

/// The settings in force with their limiter state. Rebuilt when the policy changes; the
/// limiter state carries over while the limits stay the same.
pub(crate) struct Access {
    config: Config,
    limiters: Arc<limits::Limiters>,
}

impl Access {
    pub(crate) fn new(config: Config, previous: Option<&Access>) -> Access {
        let limiters = match previous {
            Some(p) if p.config.limits == config.limits => p.limiters.clone(),
            _ => Arc::new(limits::Limiters::new(&config.limits, limits::DOWNLOAD_SLOT_WAIT)),
        };
        Access { config, limiters }
    }

    #[cfg(test)]
    pub(crate) fn with_slot_wait(config: Config, wait: Duration) -> Access {
        let limiters = Arc::new(limits::Limiters::new(&config.limits, wait));
        Access { config, limiters }
    }

    /// Admit a request or say why not. Order: the per-client rate (before credentials are
    /// looked at: floods of bad credentials are limited too), the plain-HTTP refusal (before
    /// a 401 could invite a client to send credentials in clear), credentials, the per-user
    /// rate, then download slots (per client and per user; waited for up to
    /// [`limits::DOWNLOAD_SLOT_WAIT`]).
    pub(crate) async fn admit(&self, req: Asking<'_>) -> Result<Admission, Refusal> {
        self.limiters.check_client_rate(req.client)?;
        let user = match req.user {
            Some(u) => Some(u.to_string()),
            None if self.config.auth_required() => {
                if !req.secure && !req.client.is_loopback() && !self.config.dangerous_allow_plain_http {
                    return Err(Refusal::PlainHttp);
                }
                Some(self.authenticate(req.authorization)?)
            }
            None => None,
        };
        if let Some(u) = &user {
            self.limiters.check_user_rate(u)?;
        }
        let slots = if req.download {
            self.limiters.download_slots(req.client, user.as_deref()).await?
        } else {
            limits::Held::none()
        };
        Ok(Admission { user, slots })
    }

    /// The user whose Basic credentials these are (`Authorization`, or a forward-proxy front
    /// end's `Proxy-Authorization`: the same users and tokens).
    pub(crate) fn authenticate(&self, authorization: Option<&str>) -> Result<String, Refusal> {
        let Some(header) = authorization else { return Err(Refusal::CredentialsRequired) };
        let (user, token) = parse_basic(header).map_err(|why| Refusal::Malformed { why })?;
        let presented = TokenHash::of(&token);
        // An unknown user costs the same comparison as a known one.
        let stored = self.config.users.get(&user);
        let ok = presented.matches(stored.unwrap_or(&TokenHash([0; 32]))) && stored.is_some();
        if ok {
            Ok(user)
        } else {
            Err(Refusal::BadCredentials { user })
        }
    }
}

/// `Basic base64(user:password)` → (user, password). The scheme is case-insensitive.
pub(crate) fn parse_basic(header: &str) -> Result<(String, String), String> {
    let (scheme, rest) = header.trim().split_once(' ').ok_or("no scheme")?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(format!("scheme {:?}, expected Basic", short(scheme)));
    }
    let raw = base64::engine::general_purpose::STANDARD.decode(rest.trim()).map_err(|_| "not base64")?;
    let text = String::from_utf8(raw).map_err(|_| "not UTF-8")?;
    let (user, password) = text.split_once(':').ok_or("no ':' between user and token")?;
    Ok((user.to_string(), password.to_string()))
}

#[cfg(test)]
mod tests;
