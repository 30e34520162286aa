//! The forward-proxy front end: `CONNECT` and absolute-form requests on the same listener.
//!
//! Owns: proxy authentication (407 with `Proxy-Authenticate`; the user goes into every
//! request's [`RequestCtx::user`]), sorting targets into *inspected* (the upstream's origin and
//! the allowed file hosts: the hosts pipgate itself fetches from) and *other* hosts, and:
//! - inspected `CONNECT`: TLS terminated with a leaf from pipgate's CA (ALPN h2 and
//!   http/1.1), each decrypted request mapped from the upstream's URL space to pipgate's
//!   routes ([`map_intercepted`]) and handed to [`dispatch`] — the same routes, gate, policy
//!   and audit as the plain index. Without a CA such a `CONNECT` is refused (never tunnelled:
//!   that would skip the scan);
//! - inspected plain-HTTP absolute-form requests: the same mapping, no TLS;
//! - other hosts: tunnelled (`CONNECT`) or forwarded (plain HTTP) untouched, or refused (403),
//!   by [`OtherHosts`]; every decision is logged;
//! - absolute-form requests naming pipgate itself: served as ordinary index requests.
//!
//! Must not: decide about artifacts, parse pages, or log credentials.

use super::tls::{acceptor, Names};
use super::{dispatch, header_str, Activity, Busy, RequestCtx, Slot};
use crate::app::App;
use crate::certs::Ca;
use crate::proxy_auth::ProxyUsers;
use crate::respond::{self, Resp};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// What the forward proxy does with hosts it does not inspect.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub enum OtherHosts {
    /// Tunnel `CONNECT`s and forward plain-HTTP requests untouched (the default).
    #[default]
    Tunnel,
    /// Answer 403.
    Refuse,
}

/// How the front end treats proxy requests.
#[derive(Debug, Default, Clone)]
pub struct ProxyOptions {
    /// The CA that signs leaves for inspected hosts (`None`: `CONNECT`s to them are refused).
    pub ca: Option<Arc<Ca>>,
    pub other_hosts: OtherHosts,
    /// Proxy users (`None`: no proxy authentication).
    pub users: Option<Arc<ProxyUsers>>,
}

/// The realm in `Proxy-Authenticate`.
const REALM: &str = "pipgate";

/// What one connection knows about itself, for requests that arrive on it.
#[derive(Clone)]
pub(super) struct Conn {
    pub client: SocketAddr,
    pub local: SocketAddr,
    pub limits: super::ServeLimits,
    pub activity: Arc<Activity>,
    pub slot: Arc<Slot>,
}

/// Where a request for `path` on an inspected index host goes in pipgate's URL space.
///
/// The upstream's index (`base`, e.g. `/simple/`) is pipgate's `/simple/`; pipgate's
/// `files/` and `reports/` sit beside it, where a project page's relative links
/// (`../../files/<key>/<filename>`) lead. Clients thus keep their configured index URL.
/// `None`: a path pipgate does not serve on that host.
pub(crate) fn map_intercepted(base: &str, path: &str) -> Option<String> {
    let base = if base.ends_with('/') { base.to_string() } else { format!("{base}/") };
    let root = match base.trim_end_matches('/').rsplit_once('/') {
        Some((parent, _)) => format!("{parent}/"),
        None => "/".into(),
    };
    for prefix in ["files/", "reports/"] {
        if let Some(rest) = path.strip_prefix(&format!("{root}{prefix}")) {
            return Some(format!("/{prefix}{rest}"));
        }
    }
    if let Some(rest) = path.strip_prefix(&base) {
        return Some(format!("/simple/{rest}"));
    }
    (path == base.trim_end_matches('/')).then(|| "/simple".into())
}

/// The inverse for redirects: pipgate's `/simple/…` back into the upstream's URL space.
fn unmap_location(base: &str, location: &str) -> Option<String> {
    let rest = location.strip_prefix("/simple/").or_else(|| (location == "/simple").then_some(""))?;
    Some(format!("{}{rest}", if base.ends_with('/') { base.to_string() } else { format!("{base}/") }))
}

/// A text answer with `Proxy-Authenticate` (407).
fn proxy_auth_required() -> Resp {
    let mut r = respond::text(
        StatusCode::PROXY_AUTHENTICATION_REQUIRED,
        "pipgate: proxy authentication required (put user:password in the proxy URL)\n",
    );
    r.headers_mut()
        .insert(header::PROXY_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"pipgate\", charset=\"UTF-8\""));
    debug_assert!(REALM == "pipgate");
    r
}

/// Missing or wrong proxy credentials (answered with [`proxy_auth_required`]).
struct AuthRequired;

/// The proxy user. `Ok(None)`: no proxy authentication configured.
fn authenticate(opts: &ProxyOptions, req: &Request<Incoming>) -> Result<Option<String>, AuthRequired> {
    let Some(users) = &opts.users else { return Ok(None) };
    users.check(header_str(req.headers(), header::PROXY_AUTHORIZATION)).map(Some).ok_or(AuthRequired)
}

/// `host:port` for logs (IPv6 in brackets).
fn target(host: &str, port: u16) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// A `CONNECT host:port`.
pub(super) async fn connect(app: Arc<App>, opts: Arc<ProxyOptions>, mut req: Request<Incoming>, conn: Conn) -> Resp {
    let Some(authority) = req.uri().authority().cloned() else {
        return respond::text(StatusCode::BAD_REQUEST, "pipgate: CONNECT needs host:port\n");
    };
    let host = authority.host().trim_matches(['[', ']']).to_ascii_lowercase();
    let port = authority.port_u16().unwrap_or(443);
    let user = match authenticate(&opts, &req) {
        Ok(u) => u,
        Err(AuthRequired) => {
            tracing::info!(client = %conn.client, target = %target(&host, port), "CONNECT refused: proxy authentication required");
            return proxy_auth_required();
        }
    };
    let who = user.as_deref().unwrap_or("-").to_string();
    let url = url::Url::parse(&format!("https://{}/", target(&host, port)));
    let inspected = url.as_ref().is_ok_and(|u| app.is_index_origin(u));
    let on_upgrade = hyper::upgrade::on(&mut req);
    if inspected {
        let Some(ca) = opts.ca.clone() else {
            tracing::warn!(client = %conn.client, target = %target(&host, port), user = %who, "CONNECT to an index host refused: no CA to inspect it with (pipgate ca init)");
            return respond::text(
                StatusCode::BAD_GATEWAY,
                "pipgate: this host is the package index, which pipgate must inspect, but it has no CA \
                 (run `pipgate ca init` and restart)\n",
            );
        };
        tracing::info!(client = %conn.client, target = %target(&host, port), user = %who, "CONNECT: inspecting (TLS terminated with a pipgate leaf)");
        tokio::spawn(async move {
            let upgraded = match on_upgrade.await {
                Ok(u) => u,
                Err(e) => return tracing::debug!(error = %e, "CONNECT upgrade failed"),
            };
            let names = Names::one(&host);
            let acceptor = match acceptor(&names.resolver(ca)) {
                Ok(a) => a,
                Err(e) => return tracing::error!(error = %e, "building the TLS acceptor failed"),
            };
            let tls = match tokio::time::timeout(conn.limits.header_timeout, acceptor.accept(TokioIo::new(upgraded)))
                .await
            {
                Ok(Ok(t)) => t,
                Ok(Err(e)) => {
                    return tracing::info!(client = %conn.client, target = %target(&host, port), error = %e, "the client refused pipgate's certificate or broke the handshake (does it trust the pipgate CA?)");
                }
                Err(_) => return tracing::debug!(client = %conn.client, "TLS handshake timed out"),
            };
            serve_inspected(app, TokioIo::new(tls), conn, user).await;
        });
        return tunnel_established();
    }
    if opts.other_hosts == OtherHosts::Refuse {
        tracing::info!(client = %conn.client, target = %target(&host, port), user = %who, "CONNECT refused: not an index host (--other-hosts refuse)");
        return respond::text(StatusCode::FORBIDDEN, "pipgate: this proxy only reaches the package index\n");
    }
    let upstream = match tokio::time::timeout(
        Duration::from_secs(15),
        tokio::net::TcpStream::connect((host.as_str(), port)),
    )
    .await
    {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            tracing::info!(client = %conn.client, target = %target(&host, port), error = %e, "CONNECT: the target is unreachable");
            return respond::text(StatusCode::BAD_GATEWAY, "pipgate: the target host is unreachable\n");
        }
        Err(_) => return respond::text(StatusCode::GATEWAY_TIMEOUT, "pipgate: connecting to the target timed out\n"),
    };
    tracing::info!(client = %conn.client, target = %target(&host, port), user = %who, "CONNECT: tunnelling untouched");
    tokio::spawn(async move {
        let mut upstream = upstream;
        let Ok(upgraded) = on_upgrade.await else { return };
        let mut client = TokioIo::new(upgraded);
        let _slot = conn.slot.clone();
        tokio::select! {
            r = tokio::io::copy_bidirectional(&mut client, &mut upstream) => {
                if let Err(e) = r { tracing::debug!(error = %e, "tunnel ended with an error"); }
            }
            _ = conn.activity.idle_for(conn.limits.idle_timeout) => tracing::debug!("closing an idle tunnel"),
        }
    });
    tunnel_established()
}

/// The `200` to a `CONNECT`: no body, no body headers (RFC 9110 §9.3.6).
fn tunnel_established() -> Resp {
    hyper::Response::new(respond::empty())
}

/// Serve the decrypted requests of an inspected `CONNECT` (HTTP/1.1 or h2, as ALPN chose).
async fn serve_inspected<IO>(app: Arc<App>, io: TokioIo<IO>, conn: Conn, user: Option<String>)
where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let activity = conn.activity.clone();
    let client = conn.client;
    let _slot = conn.slot.clone();
    let svc = hyper::service::service_fn(move |req: Request<Incoming>| {
        let app = app.clone();
        let busy = Busy::start(&activity);
        let user = user.clone();
        async move {
            let _busy = busy;
            Ok::<_, std::convert::Infallible>(inspected_request(&app, req, client, user, true).await)
        }
    });
    let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    builder.http1().timer(TokioTimer::new()).header_read_timeout(conn.limits.header_timeout).keep_alive(true);
    builder.http2().timer(TokioTimer::new());
    tokio::select! {
        r = builder.serve_connection(io, svc) => if let Err(e) = r {
            tracing::debug!(error = %e, %client, "inspected connection ended with an error");
        },
        _ = conn.activity.idle_for(conn.limits.idle_timeout) => tracing::debug!(%client, "closing an idle inspected connection"),
    }
}

/// One request on an inspected host (decrypted, or plain HTTP in absolute form).
/// `secure`: the request was decrypted from a TLS tunnel (not plain HTTP in absolute form).
async fn inspected_request(
    app: &App,
    req: Request<Incoming>,
    client: SocketAddr,
    user: Option<String>,
    secure: bool,
) -> Resp {
    let (parts, _body) = req.into_parts();
    let base = app.upstream_base().path().to_string();
    let Some(path) = map_intercepted(&base, parts.uri.path()) else {
        tracing::info!(%client, path = %crate::model::Printable(parts.uri.path()), "inspected host: a path outside the package index, not served");
        return respond::text(
            StatusCode::NOT_FOUND,
            "pipgate: only the package index is served through this proxy for this host\n",
        );
    };
    let mut ctx = RequestCtx::new(app, parts.method, &path, parts.headers, client);
    if let Some(a) = parts.uri.authority() {
        // h2 carries the host in :authority, not in a Host header.
        ctx.host = a.to_string();
    }
    ctx.user = user;
    ctx.secure = secure;
    let mut resp = dispatch(app, ctx).await;
    let relocated = resp
        .headers()
        .get(header::LOCATION)
        .and_then(|l| l.to_str().ok())
        .and_then(|l| unmap_location(&base, l))
        .and_then(|l| HeaderValue::from_str(&l).ok());
    if let Some(l) = relocated {
        resp.headers_mut().insert(header::LOCATION, l);
    }
    resp
}

/// An absolute-form request (`GET http://host/path`): pipgate itself, an inspected host over
/// plain HTTP, or another host (forwarded untouched or refused).
pub(super) async fn absolute(app: Arc<App>, opts: Arc<ProxyOptions>, req: Request<Incoming>, conn: Conn) -> Resp {
    let Ok(url) = url::Url::parse(&req.uri().to_string()) else {
        return respond::text(StatusCode::BAD_REQUEST, "pipgate: not a valid absolute URL\n");
    };
    if is_self(&url, conn.local) {
        let (parts, _body) = req.into_parts();
        let mut ctx = RequestCtx::new(&app, parts.method, parts.uri.path(), parts.headers, conn.client);
        ctx.query = parts.uri.query().map(str::to_string);
        return dispatch(&app, ctx).await;
    }
    let user = match authenticate(&opts, &req) {
        Ok(u) => u,
        Err(AuthRequired) => return proxy_auth_required(),
    };
    let who = user.as_deref().unwrap_or("-").to_string();
    let shown = format!("{}://{}", url.scheme(), url.host_str().unwrap_or("?"));
    if url.scheme() == "http" && app.is_index_origin(&url) {
        tracing::debug!(client = %conn.client, target = %shown, user = %who, "plain-HTTP proxy request: inspecting");
        return inspected_request(&app, req, conn.client, user, false).await;
    }
    if opts.other_hosts == OtherHosts::Refuse || url.scheme() != "http" {
        tracing::info!(client = %conn.client, target = %shown, user = %who, "proxy request refused: not an index host");
        return respond::text(StatusCode::FORBIDDEN, "pipgate: this proxy only reaches the package index\n");
    }
    tracing::info!(client = %conn.client, target = %shown, user = %who, "plain-HTTP proxy request: forwarding untouched");
    match forward(req, &url).await {
        Ok(r) => r,
        Err(e) => {
            tracing::info!(client = %conn.client, target = %shown, error = %e, "forwarding failed");
            respond::text(StatusCode::BAD_GATEWAY, "pipgate: the target host did not answer\n")
        }
    }
}

/// Whether an absolute URL names this listener (a client with `HTTP_PROXY` set asking
/// pipgate for its own index).
fn is_self(url: &url::Url, local: SocketAddr) -> bool {
    if url.port_or_known_default() != Some(local.port()) {
        return false;
    }
    match url.host() {
        Some(url::Host::Ipv4(ip)) => std::net::IpAddr::V4(ip) == local.ip() || local.ip().is_unspecified(),
        Some(url::Host::Ipv6(ip)) => std::net::IpAddr::V6(ip) == local.ip() || local.ip().is_unspecified(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost") && local.ip().is_loopback(),
        None => false,
    }
}

/// Hop-by-hop headers a proxy never passes on.
const HOP_BY_HOP: [&str; 8] = [
    "connection",
    "proxy-connection",
    "keep-alive",
    "proxy-authorization",
    "proxy-authenticate",
    "te",
    "trailer",
    "upgrade",
];

/// Forward a plain-HTTP request to another host, bodies streamed both ways.
async fn forward(req: Request<Incoming>, url: &url::Url) -> Result<Resp, String> {
    let host = url.host_str().ok_or("no host")?.trim_matches(['[', ']']).to_string();
    let port = url.port_or_known_default().unwrap_or(80);
    let stream = tokio::time::timeout(Duration::from_secs(15), tokio::net::TcpStream::connect((host.as_str(), port)))
        .await
        .map_err(|_| "connect timed out".to_string())?
        .map_err(|e| e.to_string())?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.map_err(|e| e.to_string())?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    let (mut parts, body) = req.into_parts();
    let path = match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_string(),
    };
    parts.uri = path.parse().map_err(|e: hyper::http::uri::InvalidUri| e.to_string())?;
    parts.version = hyper::Version::HTTP_11;
    for h in HOP_BY_HOP {
        parts.headers.remove(h);
    }
    if !parts.headers.contains_key(header::HOST) {
        let host = url[url::Position::BeforeHost..url::Position::AfterPort].to_string();
        parts.headers.insert(header::HOST, HeaderValue::from_str(&host).map_err(|e| e.to_string())?);
    }
    let resp = sender.send_request(Request::from_parts(parts, body)).await.map_err(|e| e.to_string())?;
    let (mut parts, body) = resp.into_parts();
    for h in HOP_BY_HOP {
        parts.headers.remove(h);
    }
    Ok(hyper::Response::from_parts(parts, body.map_err(std::io::Error::other).boxed()))
}

/// Whether a request is for the proxy front end rather than the index itself.
/// (h2 requests always carry a scheme: only HTTP/1 absolute-form counts.)
pub(super) fn is_proxy_request(req: &Request<Incoming>) -> bool {
    req.method() == Method::CONNECT || (req.version() < hyper::Version::HTTP_2 && req.uri().scheme().is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inspected_paths_map_to_pipgates_routes() {
        let cases: &[(&str, &str, &str, Option<&str>)] = &[
            ("project page", "/simple/", "/simple/demo/", Some("/simple/demo/")),
            ("root page", "/simple/", "/simple/", Some("/simple/")),
            ("no trailing slash", "/simple/", "/simple", Some("/simple")),
            ("a file", "/simple/", "/files/ab12/demo-1.0.tar.gz", Some("/files/ab12/demo-1.0.tar.gz")),
            ("a report", "/simple/", "/reports/ab12", Some("/reports/ab12")),
            ("a project named files", "/simple/", "/simple/files/", Some("/simple/files/")),
            ("outside the index", "/simple/", "/pypi/demo/json", None),
            ("home page", "/simple/", "/", None),
            ("nested base", "/root/pypi/+simple/", "/root/pypi/+simple/demo/", Some("/simple/demo/")),
            ("nested base file", "/root/pypi/+simple/", "/root/pypi/files/k/f.whl", Some("/files/k/f.whl")),
            ("nested base, other path", "/root/pypi/+simple/", "/files/k/f.whl", None),
            ("index at the root", "/", "/demo/", Some("/simple/demo/")),
            ("index at the root, file", "/", "/files/k/f.whl", Some("/files/k/f.whl")),
        ];
        for (case, base, path, want) in cases {
            assert_eq!(map_intercepted(base, path).as_deref(), *want, "{case}");
        }
    }

    #[test]
    fn redirects_go_back_into_the_upstreams_url_space() {
        let cases: &[(&str, &str, &str, Option<&str>)] = &[
            ("same layout", "/simple/", "/simple/demo/", Some("/simple/demo/")),
            ("nested", "/root/pypi/+simple/", "/simple/demo/", Some("/root/pypi/+simple/demo/")),
            ("bare", "/root/pypi/+simple/", "/simple", Some("/root/pypi/+simple/")),
            ("not ours", "/simple/", "https://elsewhere/x", None),
        ];
        for (case, base, loc, want) in cases {
            assert_eq!(unmap_location(base, loc).as_deref(), *want, "{case}");
        }
    }

    #[test]
    fn absolute_urls_naming_the_listener_are_pipgate_itself() {
        let local: SocketAddr = "127.0.0.1:3141".parse().unwrap();
        let any: SocketAddr = "0.0.0.0:3141".parse().unwrap();
        let cases: &[(&str, &str, SocketAddr, bool)] = &[
            ("same address", "http://127.0.0.1:3141/simple/", local, true),
            ("localhost", "http://localhost:3141/simple/", local, true),
            ("other port", "http://127.0.0.1:8080/simple/", local, false),
            ("other host", "http://index.example:3141/simple/", local, false),
            ("listening on all addresses", "http://10.0.0.5:3141/simple/", any, true),
        ];
        for (case, url, local, want) in cases {
            assert_eq!(is_self(&url::Url::parse(url).unwrap(), *local), *want, "{case}");
        }
    }
}
