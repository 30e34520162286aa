//! Routing: method and path → the route that answers. Anything but GET and HEAD is a 405.
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
        ["simple"] => Outcome::reply(Reply::Redirect("/simple/".into())),
        ["simple", ""] => page::root(app, ctx).await,
        ["simple", name] => Outcome::reply(Reply::Redirect(format!("/simple/{}/", normalize_project_name(name)))),
        ["simple", name, ""] => page::project(app, ctx, name).await,
        ["files", key, filename] if FileKey::parse(key).is_ok() => file::file(app, key, filename).await,
        ["reports", sha] => page::report(app, ctx, sha).await,
        _ => Outcome::reply(Reply::Text(StatusCode::NOT_FOUND, "not found\n")),
    }
}
