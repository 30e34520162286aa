//! The request pipeline: front ends turn a connection's requests into a [`RequestCtx`],
//! [`route`] answers it with an [`Outcome`], and [`finish`] — the one last phase of every
//! request — writes the audit record, builds the response and logs the access line.
//!
//! ```text
//! front end (plain HTTP here; TLS/CONNECT later) → RequestCtx
//!   → route: page | file | report | health         (router.rs, page.rs, file.rs)
//!       → index / artifact (fetch, verify, cache) → gate (the only decider)
//!   → Outcome { served | blocked | failed, with its facts }
//!   → finish: audit → response → access log       (finish.rs)
//! ```
//!
//! A new front end needs only to build a [`RequestCtx`] and call [`dispatch`].
//! Must not: parse upstream pages, scan, or decide (no `policy`, `scan` or `store` here).

mod file;
mod finish;
mod page;
mod router;

use crate::app::App;
use crate::respond::Resp;
use hyper::body::Incoming;
use hyper::header::{self, HeaderMap};
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;
use tokio::net::TcpListener;

/// One request as every front end hands it to the pipeline.
pub struct RequestCtx {
    pub id: String,
    pub client: SocketAddr,
    pub method: Method,
    /// The path only (an absolute-form URI is reduced to its path by the front end).
    pub path: String,
    pub headers: HeaderMap,
    pub user_agent: Option<String>,
    pub head: bool,
    pub host: String,
    pub started: Instant,
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
            headers,
            started: Instant::now(),
        }
    }

    pub(crate) fn header(&self, name: header::HeaderName) -> Option<&str> {
        header_str(&self.headers, name)
    }
}

fn header_str(h: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

/// Route and finish one request: the whole pipeline for any front end.
pub async fn dispatch(app: &App, ctx: RequestCtx) -> Resp {
    let outcome = router::route(app, &ctx).await;
    finish::finish(app, &ctx, outcome).await
}

/// The plain-HTTP front end: accept connections until `shutdown` resolves.
pub async fn serve(listener: TcpListener, app: Arc<App>, shutdown: impl std::future::Future<Output = ()>) {
    tokio::pin!(shutdown);
    loop {
        let (stream, client) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => { tracing::warn!(error = %e, "accept failed"); continue; }
            },
            _ = &mut shutdown => break,
        };
        let app = app.clone();
        tokio::spawn(async move {
            let svc = hyper::service::service_fn(move |req: Request<Incoming>| {
                let app = app.clone();
                async move {
                    let (parts, _body) = req.into_parts();
                    let ctx = RequestCtx::new(&app, parts.method, parts.uri.path(), parts.headers, client);
                    Ok::<_, std::convert::Infallible>(dispatch(&app, ctx).await)
                }
            });
            let conn =
                hyper::server::conn::http1::Builder::new().keep_alive(true).serve_connection(TokioIo::new(stream), svc);
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, %client, "connection ended with an error");
            }
        });
    }
}

#[cfg(test)]
mod tests;
