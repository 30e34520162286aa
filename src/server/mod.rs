//! The request pipeline: front ends turn a connection's requests into a [`RequestCtx`],
//! [`route`] answers it with an [`Outcome`], and [`finish`] — the one last phase of every
//! request — writes the audit record, builds the response and logs the access line.
//!
//! ```text
//! front end (plain HTTP or TLS; CONNECT and absolute-form in proxy.rs) → RequestCtx
//!   → admit: credentials and limits (auth), or 401 / 403 / 429 straight to finish
//!   → route: page | file | report | health | dashboard | metrics   (router.rs, page.rs, file.rs)
//!       → index / artifact (fetch, verify, cache) → gate (the only decider)
//!   → Outcome { served | blocked | failed, with its facts }
//!   → finish: audit → response → access log       (finish.rs)
//! ```
//!
//! A new front end needs only to build a [`RequestCtx`] and call [`dispatch`]. The listener
//! ([`serve_front`]: plain HTTP/1.1, or TLS with HTTP/1.1 and h2 by ALPN, see `tls.rs`; proxy
//! requests go to `proxy.rs`) also owns what a connection may cost ([`ServeLimits`]): a header
//! timeout (slowloris), an idle timeout, and global and per-client-IP connection caps
//! (excess connections get a quick 503 and are closed).
//! Must not: parse upstream pages, scan, or decide (no `policy`, `scan` or `store` here).

mod file;
pub(crate) use file::{served_files_memo, ServedFiles};
mod finish;
pub(crate) use finish::page_audit_memo;
mod page;
mod proxy;
mod refresh;
pub(crate) use refresh::Refresh;
mod router;
mod tls;
pub use proxy::{OtherHosts, ProxyOptions};
pub use tls::ServerCert;

use crate::app::App;
use crate::respond::Resp;
use hyper::body::Incoming;
use hyper::header::{self, HeaderMap};
use hyper::{Method, Request};
use hyper_util::rt::{TokioIo, TokioTimer};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// One request as every front end hands it to the pipeline.
pub struct RequestCtx {
    pub id: String,
    pub client: SocketAddr,
    pub method: Method,
    /// The path only (an absolute-form URI is reduced to its path by the front end).
    pub path: String,
    /// The query string, when the front end passed one (only the dashboard reads it).
    pub query: Option<String>,
    pub headers: HeaderMap,
    pub user_agent: Option<String>,
    pub head: bool,
    /// The `Host` header as sent: the client's word, never used to build URLs.
    pub host: String,
    pub started: Instant,
    /// The authenticated user (index Basic auth, or proxy auth on a forward-proxy front end);
    /// `None` when nobody authenticated. Goes into the audit record and the access log.
    pub user: Option<String>,
    /// The request arrived over TLS (HTTPS serving or an intercepted tunnel); `false` for the
    /// plain-HTTP front end. Index credentials over plain HTTP from another machine are refused.
    pub secure: bool,
    /// The HTTP version the request came in (`HTTP/2` over TLS by ALPN or h2c prior
    /// knowledge); in the access log as `proto`.
    pub version: hyper::Version,
}

impl RequestCtx {
    pub fn new(app: &App, method: Method, path: &str, headers: HeaderMap, client: SocketAddr) -> RequestCtx {
        RequestCtx {
            id: app.next_request_id(),
            client,
            user_agent: header_str(&headers, header::USER_AGENT).map(str::to_string),
            head: method == Method::HEAD,
            host: header_str(&headers, header::HOST).unwrap_or("localhost").to_string(),
            method,
            path: path.to_string(),
            query: None,
            headers,
            started: Instant::now(),
            user: None,
            secure: false,
            version: hyper::Version::HTTP_11,
        }
    }

    pub(crate) fn header(&self, name: header::HeaderName) -> Option<&str> {
        header_str(&self.headers, name)
    }
}

fn header_str(h: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

/// Admit, route and finish one request: the whole pipeline for any front end.
///
/// Admission (`auth`): every request but the probes (`/healthz`, `/readyz`: load balancers
/// carry no credentials, and they reveal no packages) must pass the configured
/// authentication and limits; the user it names goes into [`RequestCtx::user`]. A download
/// holds its download slots until its response body has been sent. A request is counted in
/// flight (background pre-scans yield to it) until its response is ready.
pub async fn dispatch(app: &App, mut ctx: RequestCtx) -> Resp {
    let probe = router::is_probe(&ctx.path);
    // Background pre-scans yield to client requests in flight (not to probes).
    let _client = (!probe).then(|| app.prescan.client_request());
    let slots = if probe {
        None
    } else {
        let asking = crate::auth::Asking {
            authorization: ctx.header(header::AUTHORIZATION),
            client: ctx.client.ip(),
            secure: ctx.secure,
            user: ctx.user.as_deref(),
            download: router::is_download(&ctx.path),
        };
        match app.access().admit(asking).await {
            Ok(admission) => {
                ctx.user = admission.user;
                Some(admission.slots)
            }
            Err(refusal) => return finish::finish(app, &ctx, finish::Outcome::Refused(refusal)).await,
        }
    };
    let outcome = router::route(app, &ctx).await;
    let resp = finish::finish(app, &ctx, outcome).await;
    match slots {
        Some(held) if !held.is_empty() => crate::respond::holding(resp, held),
        _ => resp,
    }
}

/// Concurrent h2 streams one connection may open (uv runs up to 50 downloads and more
/// page requests at once; the connection limits still bound the whole).
const H2_MAX_STREAMS: u32 = 256;

/// Limits the plain-HTTP front end puts on connections (hostile or broken clients).
#[derive(Debug, Clone)]
pub struct ServeLimits {
    /// A client must send a request's complete headers within this time (slowloris); also
    /// how long a keep-alive connection may wait for its next request's headers.
    pub header_timeout: Duration,
    /// A connection with no request in progress and no bytes moving either way is closed
    /// after this (idle keep-alive, clients that stop reading a response).
    pub idle_timeout: Duration,
    /// Connections open at once; beyond it, new ones get a 503 and are closed.
    pub max_connections: usize,
    /// Connections open at once from one client IP address; beyond it, the same 503.
    pub max_connections_per_client: usize,
}

impl Default for ServeLimits {
    fn default() -> Self {
        ServeLimits {
            header_timeout: Duration::from_secs(15),
            idle_timeout: Duration::from_secs(60),
            max_connections: 1024,
            max_connections_per_client: 128,
        }
    }
}

/// What a listener offers besides the index: the forward proxy's options, and TLS.
#[derive(Debug, Default, Clone)]
pub struct Front {
    pub proxy: ProxyOptions,
    /// Serve HTTPS (HTTP/1.1 and h2 by ALPN) with this certificate; `None`: plain HTTP/1.1.
    pub tls: Option<ServerCert>,
}

/// The plain-HTTP front end: accept connections until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    app: Arc<App>,
    limits: ServeLimits,
    shutdown: impl std::future::Future<Output = ()>,
) {
    serve_front(listener, app, limits, Front::default(), shutdown).await;
}

/// The front end: index requests, `CONNECT` and absolute-form proxy requests on one
/// listener, over plain HTTP/1.1 or TLS; accept connections until `shutdown` resolves.
/// A TLS certificate that cannot be had fails here, before the first connection.
pub async fn serve_front(
    listener: TcpListener,
    app: Arc<App>,
    limits: ServeLimits,
    front: Front,
    shutdown: impl std::future::Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    let slots = Slots::new(&limits);
    let acceptor = match front.tls.as_ref().map(tls::acceptor).transpose() {
        Ok(a) => a,
        Err(e) => {
            tracing::error!(error = %e, "no TLS certificate: not serving");
            return;
        }
    };
    let proxy = Arc::new(front.proxy);
    loop {
        let (stream, client) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    // Out of file descriptors, typically: do not spin on it.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        // Responses go out as soon as they are written (as nginx's `tcp_nodelay`): a small
        // answer's tail, or a keep-alive connection's next answer, never waits on Nagle for
        // the client's delayed ACK.
        let _ = stream.set_nodelay(true);
        let Some(slot) = slots.take(client.ip()) else {
            tracing::debug!(%client, "connection limit reached; answering 503 and closing");
            tokio::spawn(refuse(stream));
            continue;
        };
        let app = app.clone();
        let proxy = proxy.clone();
        let acceptor = acceptor.clone();
        let activity = Arc::new(Activity::new());
        let conn = proxy::Conn {
            client,
            local: stream.local_addr().unwrap_or(client),
            limits: limits.clone(),
            activity: activity.clone(),
            slot: Arc::new(slot),
        };
        tokio::spawn(async move {
            let io = Tracked { inner: stream, activity };
            match acceptor {
                None => serve_connection(app, proxy, TokioIo::new(io), conn, false).await,
                Some(acceptor) => match tokio::time::timeout(conn.limits.header_timeout, acceptor.accept(io)).await {
                    Ok(Ok(tls)) => serve_connection(app, proxy, TokioIo::new(tls), conn, true).await,
                    Ok(Err(e)) => tracing::debug!(error = %e, %client, "TLS handshake failed"),
                    Err(_) => tracing::debug!(%client, "TLS handshake timed out"),
                },
            }
        });
    }
}

/// One connection: index requests, and proxy requests to [`proxy`]. Plain connections speak
/// HTTP/1.1 only; TLS connections HTTP/1.1 or h2 (ALPN).
async fn serve_connection<IO>(app: Arc<App>, opts: Arc<ProxyOptions>, io: TokioIo<IO>, conn: proxy::Conn, tls: bool)
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let client = conn.client;
    let for_requests = conn.clone();
    let svc = hyper::service::service_fn(move |req: Request<Incoming>| {
        let app = app.clone();
        let opts = opts.clone();
        let conn = for_requests.clone();
        let busy = Busy::start(&conn.activity);
        async move {
            let _busy = busy;
            let resp = if req.method() == Method::CONNECT {
                proxy::connect(app, opts, req, conn).await
            } else if proxy::is_proxy_request(&req) {
                proxy::absolute(app, opts, req, conn).await
            } else {
                let (parts, _body) = req.into_parts();
                let mut ctx = RequestCtx::new(&app, parts.method, parts.uri.path(), parts.headers, conn.client);
                ctx.query = parts.uri.query().map(str::to_string);
                ctx.secure = tls;
                ctx.version = parts.version;
                dispatch(&app, ctx).await
            };
            Ok::<_, std::convert::Infallible>(resp)
        }
    });
    let mut builder = hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new());
    builder.http1().timer(TokioTimer::new()).header_read_timeout(conn.limits.header_timeout).keep_alive(true);
    // h2 by ALPN over TLS, and h2c by prior knowledge on plain HTTP (the auto builder reads
    // the preface; HTTP/1.1 clients, CONNECT included, are unaffected). uv opens many
    // requests at once: let it multiplex them on one connection.
    builder.http2().timer(TokioTimer::new()).max_concurrent_streams(H2_MAX_STREAMS);
    tokio::select! {
        r = builder.serve_connection_with_upgrades(io, svc) => if let Err(e) = r {
            tracing::debug!(error = %e, %client, "connection ended with an error");
        },
        _ = conn.activity.idle_for(conn.limits.idle_timeout) => {
            tracing::debug!(%client, "closing an idle connection");
        }
    }
}

/// The quick answer to a connection over a limit (bounded in time: a refused client that
/// does not read gets no more than a second).
async fn refuse(mut stream: tokio::net::TcpStream) {
    use tokio::io::AsyncWriteExt;
    const BODY: &str = "pipgate: too many connections, retry shortly\n";
    let msg = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nretry-after: 1\r\nconnection: close\r\n\r\n{BODY}",
        BODY.len()
    );
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        stream.write_all(msg.as_bytes()).await?;
        stream.shutdown().await
    })
    .await;
}

/// Connection slots: a global count and a count per client IP address.
struct Slots {
    global: Arc<Semaphore>,
    per_client: Arc<Mutex<HashMap<IpAddr, usize>>>,
    max_per_client: usize,
}

/// One connection's hold on [`Slots`], given back when the connection ends.
struct Slot {
    _global: OwnedSemaphorePermit,
    ip: IpAddr,
    per_client: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

impl Slots {
    fn new(limits: &ServeLimits) -> Slots {
        Slots {
            global: Arc::new(Semaphore::new(limits.max_connections.max(1))),
            per_client: Default::default(),
            max_per_client: limits.max_connections_per_client.max(1),
        }
    }

    fn take(&self, ip: IpAddr) -> Option<Slot> {
        let global = self.global.clone().try_acquire_owned().ok()?;
        let mut per = self.per_client.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let n = per.entry(ip).or_default();
        if *n >= self.max_per_client {
            return None;
        }
        *n += 1;
        Some(Slot { _global: global, ip, per_client: self.per_client.clone() })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut per = self.per_client.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(n) = per.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                per.remove(&self.ip);
            }
        }
    }
}

/// When a connection last moved bytes, and how many of its requests are in progress.
struct Activity {
    epoch: Instant,
    last_ms: AtomicU64,
    busy: AtomicUsize,
}

impl Activity {
    fn new() -> Activity {
        Activity { epoch: Instant::now(), last_ms: AtomicU64::new(0), busy: AtomicUsize::new(0) }
    }

    fn touch(&self) {
        self.last_ms.store(self.epoch.elapsed().as_millis() as u64, Ordering::Relaxed);
    }

    /// Resolves once no request is in progress and no byte has moved for `limit`.
    async fn idle_for(&self, limit: Duration) {
        loop {
            let quiet =
                self.epoch.elapsed().saturating_sub(Duration::from_millis(self.last_ms.load(Ordering::Relaxed)));
            if self.busy.load(Ordering::Relaxed) == 0 && quiet >= limit {
                return;
            }
            tokio::time::sleep(limit.saturating_sub(quiet).max(Duration::from_millis(50))).await;
        }
    }
}

/// A request in progress on a connection (the connection is not idle meanwhile).
struct Busy(Arc<Activity>);

impl Busy {
    fn start(a: &Arc<Activity>) -> Busy {
        a.busy.fetch_add(1, Ordering::Relaxed);
        a.touch();
        Busy(a.clone())
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.touch();
        self.0.busy.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A stream that records on its [`Activity`] whenever bytes move.
struct Tracked<S> {
    inner: S,
    activity: Arc<Activity>,
}

impl<S: AsyncRead + Unpin> AsyncRead for Tracked<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.touch();
        }
        r
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Tracked<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, data);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        r
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        r
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests;
