//! Page routes: the root listing, project pages (with what they withheld, for the audit
//! log) and reports (scan reports, or what holds a file that was never downloaded).
//! Phases of a project page: normalise → fetch (index) → the rendered page for this upstream
//! page and listing state, if one is cached → else pre-scan (start, brief wait) → the state
//! read again (the verdicts pre-scan made known bump it), cached? → verdicts (gate: what is
//! known of the page's files, the page's holds reused) → patch (index: the page kept as one
//! rendered entry per file re-renders the entries whose verdict may have changed, then
//! joins them; on a blocking thread with the ETag digest, as pages can be huge) → encode
//! (gzip or zstd as the client accepts, kept with the rendered page). A matching
//! `If-None-Match` is answered 304 from the cached ETag, without rendering or compressing.
//! The steps from the listing state on are [`listing`], which `refresh` also runs in the
//! background for pages a verdict changed.
//! Must not: decide what is listed (the gate does) or parse pages (the index does).

use super::finish::{Outcome, Reply};
use super::RequestCtx;
use crate::app::App;
use crate::error::ProxyError;
use crate::index::accept::{negotiate, negotiate_report, PageFormat, ReportMedia};
use crate::index::page::ProjectPage;
use crate::index::patch::Patched;
use crate::index::rendered::{self, Rendered};
use crate::index::{render, valid_normalized};
use crate::model::{normalize_project_name, ArtifactFacts, Sha256};
use crate::report_html;
use crate::respond;
use bytes::Bytes;
use hyper::header;
use hyper::StatusCode;
use std::sync::Arc;
use std::time::Instant;

pub(super) async fn root(app: &App, ctx: &RequestCtx) -> Outcome {
    let fetched = match app.index.root().await {
        Ok(f) => f,
        Err(e) => return Outcome::failed(None, e),
    };
    let format = negotiate(ctx.header(header::ACCEPT));
    let key = format!("/\n{format:?}\n{}", hex::encode(fetched.digest));
    if let Some(hit) = app.rendered.get(&key) {
        // metrics: rendered page cache hit (root)
        return page_reply(ctx, hit, format, fetched.stale).await;
    }
    // metrics: rendered page cache miss (root)
    let names = fetched.value;
    let rendered = off_reactor(move || match format {
        PageFormat::Json => render::root_json(&names),
        _ => render::root_html(&names),
    });
    match rendered.await {
        Ok((body, etag)) => {
            let r = Arc::new(Rendered::new(body, etag, Arc::default(), None));
            app.rendered.insert(key.clone(), r.clone());
            page_reply(ctx, r, format, fetched.stale).await
        }
        Err(e) => render_failed(e),
    }
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
    let format = negotiate(ctx.header(header::ACCEPT));
    let encoding = rendered::choose(ctx.header(header::ACCEPT_ENCODING));
    // Read before listing: a verdict that changes while this page renders bumps the state,
    // so the page rendered here is never served under the newer one.
    let state = app.gate.listing_state(&norm);
    let key = format!("{norm}\n{format:?}\n{}\n{state}", hex::encode(fetched.digest));
    if let Some(hit) = app.rendered.get(&key) {
        // metrics: rendered page cache hit (project)
        app.refresh.served(&norm, format, encoding, &fetched.value, fetched.digest, state);
        return listed_reply(ctx, hit, format, fetched.stale, norm).await;
    }
    // metrics: rendered page cache miss (project)
    let page = fetched.value;
    // Pre-scan the likely candidates; wait briefly for the newest so the listing knows it.
    app.prescan.before_listing(&norm, &page, ctx.user_agent.as_deref()).await;
    // The verdicts the pre-scan just made known bumped the state: the listing keys the page by
    // the state read after them (still before listing), or the next view re-renders it.
    match listing(app, &norm, &page, fetched.digest, format).await {
        Ok((r, state)) => {
            app.refresh.served(&norm, format, encoding, &page, fetched.digest, state);
            listed_reply(ctx, r, format, fetched.stale, norm).await
        }
        Err(e) => render_failed(e),
    }
}

/// The project page as listed now: the rendered page for this upstream page and the gate's
/// listing state if one is cached, else verdicts → patch → render (on a blocking thread),
/// cached under that state; with the state it is keyed by. The page route's last step, and
/// what `refresh` runs in the background after a verdict changed a page's listing.
pub(super) async fn listing(
    app: &App,
    norm: &str,
    page: &Arc<ProjectPage>,
    digest: [u8; 32],
    format: PageFormat,
) -> Result<(Page, String), String> {
    // Read before listing: a verdict that changes while this page renders bumps the state,
    // so the page rendered here is never served under the newer one.
    let state = app.gate.listing_state(norm);
    let key = format!("{norm}\n{format:?}\n{}\n{state}", hex::encode(digest));
    if let Some(hit) = app.rendered.get(&key) {
        return Ok((hit, state));
    }
    let started = Instant::now();
    let patched = app.patched.get(&format!("{norm}\n{format:?}\n{}", hex::encode(digest)), format, page.files.len());
    let early = patched.lock().ok().and_then(|p| p.extra.clone());
    let verdicts = app.gate.verdicts(norm, page, early).await;
    let verdicts_ms = started.elapsed().as_millis() as u64;
    // PEP 792: a project every version of which is known malware is shown quarantined (its files still 403).
    let quarantine = app.gate.quarantine(norm);
    let files = page.files.len();
    let (name, page) = (norm.to_string(), page.clone());
    let rendered = tokio::task::spawn_blocking(move || {
        let mut p = patched.lock().unwrap_or_else(|poisoned| {
            // A render that panicked may have left entries half patched: render whole.
            patched.clear_poison();
            let mut p = poisoned.into_inner();
            *p = Patched::new(format);
            p
        });
        let (body, withheld, made) = render_patched(&mut p, &name, &page, &verdicts, quarantine.as_deref());
        let etag = respond::page_etag(&body);
        (body, etag, withheld, made, verdicts.until())
    })
    .await
    .map_err(|e| e.to_string())?;
    let (body, etag, withheld, made, until) = rendered;
    let ms = started.elapsed().as_millis() as u64;
    tracing::debug!(project = %norm, format = ?format, files, made, bytes = body.len(), verdicts_ms, ms, "page rendered");
    let until = until.map(|t| {
        let ahead = t - time::OffsetDateTime::now_utc();
        Instant::now() + std::time::Duration::try_from(ahead).unwrap_or_default()
    });
    let r = Arc::new(Rendered::new(body, etag, Arc::new(withheld), until));
    app.rendered.insert(key, r.clone());
    Ok((r, state))
}

/// The page's body from `verdicts`, re-rendering only the entries whose inputs may have
/// changed since `p` was last brought up to date (all of them the first time), with what it
/// withheld and how many entries were made. Equal, byte for byte, to rendering the listing whole.
pub(super) fn render_patched(
    p: &mut Patched<Arc<crate::gate::Early>>,
    name: &str,
    page: &ProjectPage,
    verdicts: &crate::gate::Verdicts,
    quarantine: Option<&str>,
) -> (String, Vec<crate::gate::Withheld>, usize) {
    let files = page.files.len();
    let any_allowed = verdicts.any_allowed(files);
    let made = p.patch(files, verdicts.touched(), any_allowed, |i| verdicts.listed(page, i, any_allowed));
    p.extra = Some(verdicts.early.clone());
    let format = p.format();
    let status = quarantine.map(|r| ("quarantined", r)).or_else(|| render::project_status(&page.extra));
    let head = render::project_head(format, name, status);
    let tail = if format == PageFormat::Json {
        let versions =
            render::versions_of(page.versions.as_deref(), p.shown().map(|i| page.files[i].filename.as_str()));
        match quarantine {
            Some(reason) => {
                let mut extra = page.extra.clone();
                extra.insert("project-status".into(), serde_json::json!({ "status": "quarantined", "reason": reason }));
                render::project_tail(format, &versions, &extra)
            }
            None => render::project_tail(format, &versions, &page.extra),
        }
    } else {
        render::project_tail(format, &[], &page.extra)
    };
    (p.body(&head, &tail), verdicts.withheld(page), made)
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

fn render_failed(e: String) -> Outcome {
    Outcome::failed(None, ProxyError::internal(format!("rendering the page failed: {e}")))
}

pub(super) type Page = Arc<Rendered<Arc<Vec<crate::gate::Withheld>>>>;

/// A project page's answer, with what it withheld for the audit log.
async fn listed_reply(
    ctx: &RequestCtx,
    r: Page,
    format: PageFormat,
    stale: Option<String>,
    project: String,
) -> Outcome {
    let withheld = r.extra.clone();
    match page_reply(ctx, r, format, stale).await {
        Outcome::Replied(reply) if !withheld.is_empty() => Outcome::Listed { reply, project, withheld },
        other => other,
    }
}

/// The page in the coding the client accepts; a matching `If-None-Match` needs no body at
/// all (no compression either). Compressing runs on a blocking thread, once per page.
async fn page_reply(ctx: &RequestCtx, r: Page, format: PageFormat, stale: Option<String>) -> Outcome {
    let wanted = rendered::choose(ctx.header(header::ACCEPT_ENCODING));
    let etag = r.etag_for(wanted);
    if respond::etag_matches(ctx.header(header::IF_NONE_MATCH), &etag) {
        // metrics: 304 without rendering
        let reply = Reply::Page { body: Bytes::new(), etag, format, stale, encoding: wanted.header() };
        return Outcome::reply(reply);
    }
    let encoded = tokio::task::spawn_blocking(move || r.encoded(wanted)).await;
    match encoded {
        Ok((body, used, etag)) => Outcome::reply(Reply::Page { body, etag, format, stale, encoding: used.header() }),
        Err(e) => render_failed(e.to_string()),
    }
}

/// `/reports/<sha256>`: the scan report — the HTML page for browsers, JSON when a JSON type
/// is asked for, text otherwise ([`negotiate_report`]). A file held before download
/// (cooldown, deny list, project verdict) has no scan: its report says what holds it, until
/// when, and how to exempt it (the link in its 403 must lead somewhere).
pub(super) async fn report(app: &App, ctx: &RequestCtx, sha: &str) -> Outcome {
    let Ok(sha) = Sha256::parse(sha) else {
        return Outcome::reply(Reply::Text(StatusCode::NOT_FOUND, "not found\n"));
    };
    let media = negotiate_report(ctx.header(header::ACCEPT));
    let json = media == ReportMedia::Json;
    let origins = app.origins.origins(sha.as_str()).await.unwrap_or_default();
    if let Some(report) = app.gate.cached_report(sha.as_str()).await {
        if media == ReportMedia::Html {
            // Facts from the file's listing, or from the scan when it was never listed.
            let origin = origins.first();
            let project = origin
                .map(|o| o.project.clone())
                .unwrap_or_else(|| normalize_project_name(report.project.as_deref().unwrap_or("")));
            let filename = origin.map(|o| o.filename.clone()).unwrap_or_else(|| report.filename.clone());
            let facts = listed_facts(app, &sha, &project, &filename, origin);
            let metadata = metadata_of(&facts).await;
            let explained = app.gate.explain(&facts, &report).await;
            // On demand for the page people read, whether or not a rule asks (cached by sha256).
            let diff = app.compare_with_previous(&facts, true).await;
            let remedy = (explained.verdict.decision == crate::model::Decision::Block)
                .then(|| respond::remedy(&facts, &explained.verdict));
            let mut page_facts = report_html::Facts::of(&facts);
            page_facts.hashes = origin.map(|o| o.hashes.clone()).unwrap_or_default();
            let body = report_html::render(&report_html::ReportPage {
                facts: page_facts,
                about: metadata,
                report: Some(&report),
                verdict: Some(&explained.verdict),
                findings: &explained.findings,
                new_in_version: report_html::NewInVersion::of(&facts.project, diff.as_ref(), &explained.findings),
                acceptance: Some(explained.acceptance),
                remedy,
            });
            return Outcome::reply(Reply::Report { body, content_type: HTML });
        }
        let (body, content_type) = crate::respond::report_body(&report, json);
        return Outcome::reply(Reply::Report { body, content_type });
    }
    for origin in &origins {
        if let Some((verdict, found)) = app.gate.release_hold(origin).await {
            if media == ReportMedia::Html {
                let body = held_page(app, origin, &verdict, &found);
                return Outcome::reply(Reply::Report { body, content_type: HTML });
            }
            let (body, content_type) = crate::respond::held_report_body(origin, &verdict, &found, json);
            return Outcome::reply(Reply::Report { body, content_type });
        }
    }
    Outcome::reply(Reply::Text(StatusCode::NOT_FOUND, "no report for this sha256\n"))
}

const HTML: &str = "text/html; charset=utf-8";

fn listed_facts(
    app: &App,
    sha: &Sha256,
    project: &str,
    filename: &str,
    origin: Option<&crate::model::FileOrigin>,
) -> ArtifactFacts {
    let path = app.artifacts.path(sha);
    let size = origin.and_then(|o| o.size).or_else(|| std::fs::metadata(&path).ok().map(|m| m.len())).unwrap_or(0);
    let upload_time = origin.and_then(|o| o.upload_time.clone());
    ArtifactFacts::describe(project, filename, sha.as_str(), upload_time, size, path)
}

/// Who made it and its links, from the bytes on disk (read on a blocking thread).
async fn metadata_of(facts: &ArtifactFacts) -> report_html::About {
    let (path, filename) = (facts.path.clone(), facts.filename.clone());
    let bytes =
        tokio::task::spawn_blocking(move || crate::artifact::core_metadata_of(&path, &filename)).await.ok().flatten();
    bytes.map(|m| report_html::About::from_metadata(&String::from_utf8_lossy(&m))).unwrap_or_default()
}

/// The page for a file held before download: what holds it, and the hold's acceptance.
fn held_page(
    app: &App,
    origin: &crate::model::FileOrigin,
    verdict: &crate::model::Verdict,
    found: &[crate::model::Finding],
) -> String {
    let facts = ArtifactFacts::unverified(origin);
    let mut page_facts = report_html::Facts::of(&facts);
    page_facts.size = origin.size;
    page_facts.hashes = origin.hashes.clone();
    report_html::render(&report_html::ReportPage {
        facts: page_facts,
        about: report_html::About::default(),
        report: None,
        verdict: Some(verdict),
        findings: found,
        new_in_version: None,
        acceptance: Some(app.gate.hold_acceptance(&facts, found)),
        remedy: Some(respond::remedy(&facts, verdict)),
    })
}
