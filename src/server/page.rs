//! Page routes: the root listing, project pages (with what they withheld, for the audit
//! log) and reports (scan reports, or what holds a file that was never downloaded).
//! Phases of a project page: normalise → fetch (index) → pre-scan (start, brief wait) → list (gate) → render (index; on a
//! blocking thread with the ETag digest, as pages can be huge).
//! Must not: decide what is listed (the gate does) or parse pages (the index does).

use super::finish::{Outcome, Reply};
use super::RequestCtx;
use crate::app::App;
use crate::error::ProxyError;
use crate::index::accept::{negotiate, PageFormat};
use crate::index::{render, valid_normalized};
use crate::model::{normalize_project_name, Sha256};
use crate::respond;
use hyper::header;
use hyper::StatusCode;

pub(super) async fn root(app: &App, ctx: &RequestCtx) -> Outcome {
    let fetched = match app.index.root().await {
        Ok(f) => f,
        Err(e) => return Outcome::failed(None, e),
    };
    let format = negotiate(ctx.header(header::ACCEPT));
    let names = fetched.value;
    let rendered = off_reactor(move || match format {
        PageFormat::Json => render::root_json(&names),
        _ => render::root_html(&names),
    });
    page_reply(rendered.await, format, fetched.stale)
}

pub(super) async fn project(app: &App, ctx: &RequestCtx, name: &str) -> Outcome {
    let norm = normalize_project_name(name);
    if norm != name {
        return Outcome::reply(Reply::Redirect(format!("/simple/{norm}/")));
    }
    if !valid_normalized(&norm) {
        return Outcome::reply(Reply::Text(StatusCode::NOT_FOUND, "not a valid project name\n"));
    }
    let fetched = match app.index.project(&norm).await {
        Ok(f) => f,
        Err(e) => return Outcome::failed(None, e),
    };
    let page = fetched.value;
    // Pre-scan the likely candidates; wait briefly for the newest so the listing knows it.
    app.prescan.before_listing(&norm, &page).await;
    let crate::gate::Listing { files: listed, withheld } = app.gate.list(&norm, &page).await;
    // PEP 792: a project every version of which is known malware is shown quarantined (its files still 403).
    let quarantine = app.gate.quarantine(&norm);
    let format = negotiate(ctx.header(header::ACCEPT));
    let norm_for_audit = norm.clone();
    let rendered = off_reactor(move || match format {
        PageFormat::Json => {
            let versions = render::versions(page.versions.as_deref(), &listed);
            match &quarantine {
                Some(reason) => {
                    let mut extra = page.extra.clone();
                    let status = serde_json::json!({ "status": "quarantined", "reason": reason });
                    extra.insert("project-status".into(), status);
                    render::project_json(&norm, &listed, &versions, &extra)
                }
                None => render::project_json(&norm, &listed, &versions, &page.extra),
            }
        }
        _ => render::project_html_with_status(&norm, &listed, quarantine.as_deref().map(|r| ("quarantined", r))),
    });
    match page_reply(rendered.await, format, fetched.stale) {
        Outcome::Replied(reply) if !withheld.is_empty() => Outcome::Listed { reply, project: norm_for_audit, withheld },
        other => other,
    }
}

/// Render (and digest for the ETag) on a blocking thread: a page can list 100k files.
async fn off_reactor(render: impl FnOnce() -> String + Send + 'static) -> Result<(String, String), String> {
    tokio::task::spawn_blocking(move || {
        let body = render();
        let etag = respond::page_etag(&body);
        (body, etag)
    })
    .await
    .map_err(|e| e.to_string())
}

fn page_reply(rendered: Result<(String, String), String>, format: PageFormat, stale: Option<String>) -> Outcome {
    match rendered {
        Ok((body, etag)) => Outcome::reply(Reply::Page { body, etag, format, stale }),
        Err(e) => Outcome::failed(None, ProxyError::internal(format!("rendering the page failed: {e}"))),
    }
}

/// `/reports/<sha256>`: the scan report (text; JSON when the client asks for it). A file
/// held before download (cooldown, deny list, project verdict) has no scan: its report says
/// what holds it, until when, and how to exempt it (the link in its 403 must lead somewhere).
pub(super) async fn report(app: &App, ctx: &RequestCtx, sha: &str) -> Outcome {
    let Ok(sha) = Sha256::parse(sha) else {
        return Outcome::reply(Reply::Text(StatusCode::NOT_FOUND, "not found\n"));
    };
    let json = ctx.header(header::ACCEPT).is_some_and(|a| a.contains("json"));
    if let Some(report) = app.gate.cached_report(&sha).await {
        let (body, content_type) = crate::respond::report_body(&report, json);
        return Outcome::reply(Reply::Report { body, content_type });
    }
    let origins = app.origins.origins(sha.as_str()).await.unwrap_or_default();
    for origin in &origins {
        if let Some((verdict, found)) = app.gate.release_hold(origin).await {
            let (body, content_type) = crate::respond::held_report_body(origin, &verdict, &found, json);
            return Outcome::reply(Reply::Report { body, content_type });
        }
    }
    Outcome::reply(Reply::Text(StatusCode::NOT_FOUND, "no report for this sha256\n"))
}
