//! Routing: method and path → the route that answers. Anything but GET and HEAD is a 405.
//! Liveness (`/healthz`: the process answers) and readiness (`/readyz`: policy in force,
//! store writable, upstream reachable recently; 503 naming the failed checks) go through
//! the same pipeline as every request; they decide nothing, so nothing is audited. So do the
//! dashboard (`/-/`) and the metrics (`/metrics`): admitted like every other route (the
//! index's authentication covers them), they read and decide nothing.
//! Must not: decide or build responses (routes return an [`Outcome`]).

use super::finish::{Outcome, Reply};
use super::{file, page, RequestCtx};
use crate::app::App;
use crate::model::{normalize_project_name, FileKey};
use hyper::{Method, StatusCode};

pub(super) async fn route(app: &App, ctx: &RequestCtx) -> Outcome {
    if ctx.method != Method::GET && ctx.method != Method::HEAD {
        return Outcome::reply(Reply::Text(StatusCode::METHOD_NOT_ALLOWED, "pipgate serves GET and HEAD only\n"));
    }
    let segments: Vec<&str> = ctx.path.trim_start_matches('/').split('/').collect();
    match segments.as_slice() {
        [""] => Outcome::reply(Reply::Text(StatusCode::OK, "pipgate: point pip or uv at /simple/\n")),
        ["healthz"] => Outcome::reply(Reply::Text(StatusCode::OK, "ok\n")),
        ["readyz"] => ready(app).await,
        ["simple"] => Outcome::reply(Reply::Redirect("/simple/".into())),
        ["simple", ""] => page::root(app, ctx).await,
        ["simple", name] => Outcome::reply(Reply::Redirect(format!("/simple/{}/", normalize_project_name(name)))),
        ["simple", name, ""] => page::project(app, ctx, name).await,
        ["files", key, filename] if FileKey::parse(key).is_ok() => file::file(app, key, filename).await,
        ["reports", sha] => page::report(app, ctx, sha).await,
        ["-"] => Outcome::reply(Reply::Redirect("/-/".into())),
        ["-", ""] => {
            let body = crate::dashboard::page(app, ctx.query.as_deref()).await;
            Outcome::reply(Reply::Body { content_type: "text/html; charset=utf-8", body })
        }
        ["metrics"] => {
            Outcome::reply(Reply::Body { content_type: crate::metrics::CONTENT_TYPE, body: crate::metrics::render() })
        }
        _ => Outcome::reply(Reply::Text(StatusCode::NOT_FOUND, "not found\n")),
    }
}

/// A request's route as metrics name it (a fixed set: never the request's text).
pub(super) fn route_name(path: &str) -> &'static str {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match segments.as_slice() {
        [""] => "home",
        ["healthz"] => "healthz",
        ["readyz"] => "readyz",
        ["simple"] | ["simple", ""] => "root",
        ["simple", ..] => "project",
        ["files", _, f] if f.ends_with(".metadata") => "metadata",
        ["files", ..] => "file",
        ["reports", ..] => "report",
        ["-", ..] => "dashboard",
        ["metrics"] => "metrics",
        _ => "other",
    }
}

/// Liveness and readiness probes: answered without authentication or limits.
pub(super) fn is_probe(path: &str) -> bool {
    matches!(path, "/healthz" | "/readyz")
}

/// Artifact and `.metadata` downloads (what `concurrent_downloads` counts).
pub(super) fn is_download(path: &str) -> bool {
    path.starts_with("/files/")
}

/// `/readyz`: 200 when every check passes, else 503; a JSON body lists every check.
async fn ready(app: &App) -> Outcome {
    let checks = app.readiness().await;
    let failed: Vec<&str> = checks.iter().filter(|c| !c.ok).map(|c| c.name).collect();
    let body = serde_json::json!({
        "ready": failed.is_empty(),
        "failed": failed,
        "checks": checks,
    });
    let status = if failed.is_empty() { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    Outcome::reply(Reply::Json(status, format!("{body}\n")))
}
