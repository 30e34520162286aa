//! The HTTP front: listener, routing, and the request phases for pages and files.
//!
//! Each request gets a [`RequestCtx`] (id, client, user agent) and goes through short
//! phases: route → (page: fetch → list → render) or (file: locate → download+verify →
//! gate → audit → respond). Logging and auditing are the last phase.
//! Must not: parse upstream pages, scan, or decide (it calls `index`, `artifact`, `gate`).

use crate::artifact::{Artifacts, KeyedLocks};
use crate::audit::{AuditLog, AuditRecord};
use crate::config::{DataDir, ProxyConfig};
use crate::error::ProxyError;
use crate::gate::{Decided, Gate};
use crate::index::accept::{negotiate, PageFormat};
use crate::index::render::{self, ListedFile};
use crate::index::{self, Index};
use crate::model::{
    normalize_project_name, parse_dist_filename, ArtifactFacts, ArtifactKind, Decision, Reason, Verdict,
};
use crate::policy::Policy;
use crate::respond::{self, Resp};
use crate::scan::Scanner;
use crate::store::{FileOrigin, SqliteStore, Store, Verified};
use crate::upstream::Upstream;
use arc_swap::ArcSwap;
use hyper::body::Incoming;
use hyper::header::{self, HeaderMap};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio::net::TcpListener;

/// Everything a request needs, shared by all connections.
pub struct App {
    pub cfg: ProxyConfig,
    pub index: Index,
    pub artifacts: Artifacts,
    pub gate: Gate,
    pub audit: AuditLog,
    pub store: Arc<dyn Store>,
    pub policy: Arc<ArcSwap<Policy>>,
    locks: KeyedLocks,
    counter: AtomicU64,
    boot: i64,
}

impl App {
    pub fn new(cfg: ProxyConfig, policy: Policy, scanner: Scanner) -> Result<Arc<App>, ProxyError> {
        let dirs = DataDir::new(&cfg.data_dir);
        dirs.create_all()?;
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&dirs.db()).map_err(ProxyError::internal)?);
        let upstream = Upstream::new(&cfg)?;
        let policy = Arc::new(ArcSwap::from_pointee(policy));
        let mut gate = Gate::new(scanner, policy.clone(), store.clone());
        gate.dangerous_skip_scan = cfg.dangerous_skip_scan;
        Ok(Arc::new(App {
            index: Index::new(upstream.clone(), dirs.clone(), cfg.page_ttl, store.clone()),
            artifacts: Artifacts::new(dirs.clone(), upstream, store.clone(), cfg.max_artifact_bytes),
            gate,
            audit: AuditLog::open(&dirs.audit(), 64 << 20)?,
            store,
            policy,
            locks: KeyedLocks::default(),
            counter: AtomicU64::new(0),
            boot: time::OffsetDateTime::now_utc().unix_timestamp(),
            cfg,
        }))
    }
}

impl App {
    /// Facts about a verified artifact, for the gate and the audit log.
    pub fn facts(&self, origin: &FileOrigin, v: &Verified) -> ArtifactFacts {
        let path = self.artifacts.path(&v.sha256);
        let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        facts_from(&origin.project, &origin.filename, &v.sha256, origin.upload_time.clone(), size, path)
    }
}

fn facts_from(
    project: &str,
    filename: &str,
    sha256: &str,
    upload_time: Option<String>,
    size: u64,
    path: std::path::PathBuf,
) -> ArtifactFacts {
    let parsed = parse_dist_filename(filename);
    ArtifactFacts {
        project: project.to_string(),
        version: parsed.as_ref().map(|d| d.version.clone()),
        filename: filename.to_string(),
        sha256: sha256.to_string(),
        kind: parsed.map(|d| d.kind).unwrap_or(ArtifactKind::Other),
        size,
        upload_time,
        path,
    }
}

/// Per-request context, threaded through the phases.
pub struct RequestCtx {
    pub id: String,
    pub client: SocketAddr,
    pub user_agent: Option<String>,
    pub head: bool,
    pub host: String,
}

/// Accept connections until `shutdown` resolves.
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
            let svc = hyper::service::service_fn(move |req| {
                let app = app.clone();
                async move { Ok::<_, std::convert::Infallible>(handle(app, req, client).await) }
            });
            let conn =
                hyper::server::conn::http1::Builder::new().keep_alive(true).serve_connection(TokioIo::new(stream), svc);
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, %client, "connection ended with an error");
            }
        });
    }
}

fn header_str(h: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

/// Route one request.
pub async fn handle(app: Arc<App>, req: Request<Incoming>, client: SocketAddr) -> Resp {
    let n = app.counter.fetch_add(1, Ordering::Relaxed);
    let ctx = RequestCtx {
        id: format!("{:x}-{n:x}", app.boot),
        client,
        user_agent: header_str(req.headers(), header::USER_AGENT).map(str::to_string),
        head: req.method() == Method::HEAD,
        host: header_str(req.headers(), header::HOST).unwrap_or("localhost").to_string(),
    };
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return respond::text(StatusCode::METHOD_NOT_ALLOWED, "pipgate serves GET and HEAD only\n");
    }
    let path = req.uri().path().to_string();
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let resp = match segments.as_slice() {
        [""] => respond::text(StatusCode::OK, "pipgate: point pip or uv at /simple/\n"),
        ["healthz"] => respond::text(StatusCode::OK, "ok\n"),
        ["simple"] => respond::redirect("/simple/"),
        ["simple", ""] => root_page(&app, &ctx, req.headers()).await,
        ["simple", name] => respond::redirect(&format!("/simple/{}/", normalize_project_name(name))),
        ["simple", name, ""] => project_page(&app, &ctx, name, req.headers()).await,
        ["files", key, filename] => file_request(&app, &ctx, key, filename, req.headers()).await,
        ["reports", sha] => report(&app, sha, req.headers()).await,
        _ => respond::text(StatusCode::NOT_FOUND, "not found\n"),
    };
    tracing::info!(id = %ctx.id, client = %ctx.client, method = %req.method(), path, status = resp.status().as_u16(), "request");
    resp
}

async fn root_page(app: &App, ctx: &RequestCtx, headers: &HeaderMap) -> Resp {
    let fetched = match app.index.root().await {
        Ok(f) => f,
        Err(e) => return respond::error(&e, &ctx.id),
    };
    let format = negotiate(header_str(headers, header::ACCEPT));
    let body = match format {
        PageFormat::Json => render::root_json(&fetched.value),
        _ => render::root_html(&fetched.value),
    };
    respond::page(
        body,
        format.content_type(),
        header_str(headers, header::IF_NONE_MATCH),
        fetched.stale.as_deref(),
        ctx.head,
    )
}

/// Phase list for a project page: normalise → fetch → list → render.
async fn project_page(app: &App, ctx: &RequestCtx, name: &str, headers: &HeaderMap) -> Resp {
    let norm = normalize_project_name(name);
    if norm != name {
        return respond::redirect(&format!("/simple/{norm}/"));
    }
    if !index::valid_normalized(&norm) {
        return respond::text(StatusCode::NOT_FOUND, "not a valid project name\n");
    }
    let fetched = match app.index.project(&norm).await {
        Ok(f) => f,
        Err(e) => return respond::error(&e, &ctx.id),
    };
    let page = fetched.value;
    let listed = list_files(app, &norm, &page.files);
    let format = negotiate(header_str(headers, header::ACCEPT));
    let body = match format {
        PageFormat::Json => {
            let versions = render::versions(page.versions.as_deref(), &listed);
            render::project_json(&norm, &listed, &versions, &page.extra)
        }
        _ => render::project_html(&norm, &listed),
    };
    respond::page(
        body,
        format.content_type(),
        header_str(headers, header::IF_NONE_MATCH),
        fetched.stale.as_deref(),
        ctx.head,
    )
}

/// Rewrite entries to our URLs, advertise the core metadata pipgate extracted where the
/// upstream had none, and apply the policy to what is already known: deny lists and cooldown
/// (from the page alone) and verdicts of artifacts already scanned. Blocked files are hidden
/// or marked yanked (per policy) so resolvers fall back — unless no allowed file would remain,
/// in which case they stay listed so the install reaches the 403 that says why.
fn list_files(app: &App, project: &str, files: &[crate::index::page::FileEntry]) -> Vec<ListedFile> {
    let verified = app.store.verified_in_project(project).unwrap_or_default();
    let policy = app.policy.load_full();
    let now = time::OffsetDateTime::now_utc();
    let mut listed: Vec<(ListedFile, Option<Verdict>)> = Vec::with_capacity(files.len());
    for e in files {
        let key = index::file_key(e);
        let mut entry = e.clone();
        let known = verified.get(&key);
        if entry.core_metadata.is_none() {
            if let Some(m) = known.and_then(|v| v.metadata_sha256.clone()) {
                entry.core_metadata = Some(serde_json::json!({ "sha256": m }));
            }
        }
        let version = parse_dist_filename(&e.filename).map(|d| d.version);
        let early = version.as_deref().and_then(|v| policy.release_gate(project, v, e.upload_time.as_deref(), now));
        let decided = match early {
            Some(v) => Some((v, None)),
            None => known.and_then(|v| {
                let path = app.artifacts.path(&v.sha256);
                let facts =
                    facts_from(project, &e.filename, &v.sha256, e.upload_time.clone(), e.size.unwrap_or(0), path);
                app.gate.decide_cached(&facts).map(|d| (d.verdict, Some(d.report)))
            }),
        };
        let annotation = decided.as_ref().and_then(|(v, report)| annotation(v, report.as_deref(), known));
        let href = index::file_href(&key, &e.filename);
        listed.push((ListedFile { href, entry, annotation }, decided.map(|(v, _)| v)));
    }
    let any_allowed = listed.iter().any(|(_, v)| v.as_ref().is_none_or(|v| v.decision != Decision::Block));
    listed
        .into_iter()
        .filter_map(|(mut l, v)| match v {
            Some(v) if v.decision == Decision::Block && any_allowed => match v.index {
                crate::model::IndexMode::Hide => None,
                crate::model::IndexMode::Yank => {
                    let why = v.reasons.first().map(|r| r.message.clone()).unwrap_or_default();
                    l.entry.yanked = Some(Some(format!("blocked by pipgate: {why}")));
                    Some(l)
                }
            },
            _ => Some(l),
        })
        .collect()
}

/// The `_pipgate` entry for a file whose verdict is not a plain serve.
fn annotation(
    v: &Verdict,
    report: Option<&crate::scan::ScanReport>,
    known: Option<&Verified>,
) -> Option<serde_json::Value> {
    if v.decision == Decision::Serve && v.findings.is_empty() {
        return None;
    }
    let findings: Vec<serde_json::Value> = report
        .map(|r| {
            r.findings
                .iter()
                .map(|f| serde_json::json!({ "id": f.detector, "severity": f.severity, "title": f.title }))
                .collect()
        })
        .unwrap_or_default();
    let mut a = serde_json::json!({
        "decision": v.decision.as_str(),
        "reasons": v.reasons.iter().map(|r| r.code.clone()).collect::<Vec<_>>(),
        "findings": findings,
    });
    if let Some(k) = known {
        a["report"] = serde_json::Value::String(format!("../../reports/{}", k.sha256));
    }
    if let Some(t) = &v.available_at {
        a["available_at"] = serde_json::Value::String(t.clone());
    }
    Some(a)
}

/// Phase list for a file: locate → download+verify → gate → audit → respond.
async fn file_request(app: &App, ctx: &RequestCtx, key: &str, raw_name: &str, headers: &HeaderMap) -> Resp {
    let filename = percent_encoding::percent_decode_str(raw_name).decode_utf8_lossy().to_string();
    let (filename, want_metadata) = match filename.strip_suffix(".metadata") {
        Some(f) => (f.to_string(), true),
        None => (filename, false),
    };
    let origin = match locate(app, key, &filename).await {
        Ok(o) => o,
        Err(e) => return respond::error(&e, &ctx.id),
    };
    let kind = if want_metadata { "metadata" } else { "file" };
    if let Some(resp) = release_gate(app, ctx, kind, &origin) {
        return resp;
    }
    let decided = {
        let _guard = app.locks.lock(key).await;
        app.artifacts.ensure(&origin).await.map(|v| {
            let d = gate(app, &origin, &v);
            (v, d)
        })
    };
    let (verified, facts, decided) = match decided {
        Ok((v, (facts, d))) => (v, facts, d),
        Err(e) => {
            audit_error(app, ctx, kind, &origin, &e);
            return respond::error(&e, &ctx.id);
        }
    };
    if !ctx.head {
        audit_decision(app, ctx, kind, &facts, &decided.verdict);
    }
    if decided.verdict.decision == Decision::Block {
        let report_url = format!("http://{}/reports/{}", ctx.host, facts.sha256);
        return respond::blocked(&facts, &decided.verdict, &decided.report.findings, &report_url, &ctx.id);
    }
    if want_metadata {
        return metadata_response(app, ctx, &origin, &verified, headers).await;
    }
    let annotation = (decided.verdict.decision == Decision::Annotate).then(|| decided.verdict.findings.join(" "));
    let opts = respond::FileServe {
        path: &app.artifacts.path(&verified.sha256),
        sha256: &verified.sha256,
        content_type: "application/octet-stream",
        range: header_str(headers, header::RANGE),
        if_range: header_str(headers, header::IF_RANGE),
        if_none_match: header_str(headers, header::IF_NONE_MATCH),
        head: ctx.head,
        extra: [
            Some(("X-Pipgate-Decision", decided.verdict.decision.as_str().to_string())),
            annotation.map(|a| ("X-Pipgate-Findings", a)),
        ]
        .into_iter()
        .flatten()
        .collect(),
    };
    respond::file(opts).await.unwrap_or_else(|e| respond::error(&ProxyError::from(e), &ctx.id))
}

/// Deny lists and cooldown need no download: refuse before fetching a byte.
fn release_gate(app: &App, ctx: &RequestCtx, kind: &str, origin: &FileOrigin) -> Option<Resp> {
    let version = parse_dist_filename(&origin.filename)?.version;
    let now = time::OffsetDateTime::now_utc();
    let verdict = app.policy.load().release_gate(&origin.project, &version, origin.upload_time.as_deref(), now)?;
    if verdict.decision != Decision::Block {
        return None;
    }
    let sha = origin.hashes.get("sha256").cloned().unwrap_or_default();
    let facts = facts_from(&origin.project, &origin.filename, &sha, origin.upload_time.clone(), 0, Default::default());
    if !ctx.head {
        audit_decision(app, ctx, kind, &facts, &verdict);
    }
    Some(respond::blocked(&facts, &verdict, &[], &format!("http://{}/reports/{sha}", ctx.host), &ctx.id))
}

/// Find where a file comes from: the store, or (after a restart with an empty store, or
/// a lockfile URL) the project page named by the filename.
async fn locate(app: &App, key: &str, filename: &str) -> Result<FileOrigin, ProxyError> {
    let not_found = || ProxyError::NotFound { what: format!("file {filename}") };
    let known = app.store.origin(key).map_err(ProxyError::internal)?;
    let origin = match known {
        Some(o) => o,
        None => {
            let project = parse_dist_filename(filename).ok_or_else(not_found)?.project;
            let norm = normalize_project_name(&project);
            if !index::valid_normalized(&norm) {
                return Err(not_found());
            }
            app.index.project(&norm).await?;
            app.store.origin(key).map_err(ProxyError::internal)?.ok_or_else(not_found)?
        }
    };
    if origin.filename != filename {
        return Err(not_found());
    }
    Ok(origin)
}

/// Run the gate off the async threads.
fn gate(app: &App, origin: &FileOrigin, v: &Verified) -> (ArtifactFacts, Decided) {
    let facts = app.facts(origin, v);
    // Scanning is CPU work: block_in_place moves it off the reactor while keeping the
    // borrow of the shared App (spawn_blocking would need 'static data).
    let decided = tokio::task::block_in_place(|| app.gate.decide(&facts));
    (facts, decided)
}

async fn metadata_response(
    app: &App,
    ctx: &RequestCtx,
    origin: &FileOrigin,
    v: &Verified,
    headers: &HeaderMap,
) -> Resp {
    match app.artifacts.metadata(origin, v).await {
        Ok(Some(bytes)) => {
            let body = String::from_utf8_lossy(&bytes).into_owned();
            if body.len() != bytes.len() {
                // Not UTF-8: serve the exact bytes (the hash covers them).
                return hyper::Response::builder()
                    .status(StatusCode::OK)
                    .header(header::CONTENT_TYPE, "application/octet-stream")
                    .header(header::CONTENT_LENGTH, bytes.len())
                    .body(respond::full(bytes))
                    .expect("valid response");
            }
            let mut resp = respond::page(
                body,
                "text/plain; charset=utf-8",
                header_str(headers, header::IF_NONE_MATCH),
                None,
                ctx.head,
            );
            resp.headers_mut().remove(header::VARY);
            resp
        }
        Ok(None) => respond::text(StatusCode::NOT_FOUND, "no core metadata for this file\n"),
        Err(e) => respond::error(&e, &ctx.id),
    }
}

/// `/reports/<sha256>`: the scan report as text (JSON when the client asks for it).
async fn report(app: &App, sha: &str, headers: &HeaderMap) -> Resp {
    if sha.len() != 64 || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
        return respond::text(StatusCode::NOT_FOUND, "not found\n");
    }
    let Some(report) = app
        .store
        .scan(sha, crate::scan::scanner_version())
        .ok()
        .flatten()
        .and_then(|j| serde_json::from_str::<crate::scan::ScanReport>(&j).ok())
    else {
        return respond::text(StatusCode::NOT_FOUND, "no report for this sha256\n");
    };
    if header_str(headers, header::ACCEPT).is_some_and(|a| a.contains("json")) {
        let body = crate::scan::report::render_json(&report);
        return hyper::Response::builder()
            .status(StatusCode::OK)
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::CONTENT_LENGTH, body.len())
            .body(respond::full(body))
            .expect("valid response");
    }
    respond::text(StatusCode::OK, &crate::scan::report::render_text(&report, None))
}

fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

/// A decision in audit form.
fn audit_record(ctx: &RequestCtx, kind: &str, facts: &ArtifactFacts, verdict: &Verdict) -> AuditRecord {
    AuditRecord {
        time: now_rfc3339(),
        request_id: ctx.id.clone(),
        client: ctx.client.to_string(),
        user: None,
        user_agent: ctx.user_agent.clone(),
        request: kind.to_string(),
        project: facts.project.clone(),
        version: facts.version.clone(),
        filename: facts.filename.clone(),
        sha256: Some(facts.sha256.clone()).filter(|s| !s.is_empty()),
        decision: verdict.decision.as_str().to_string(),
        reasons: verdict.reasons.clone(),
        findings: verdict.findings.clone(),
        acceptances: verdict.acceptances.clone(),
        policy_digest: verdict.policy_digest.clone(),
        fault: None,
        pipgate_version: env!("CARGO_PKG_VERSION").to_string(),
    }
}

fn audit_decision(app: &App, ctx: &RequestCtx, kind: &str, facts: &ArtifactFacts, verdict: &Verdict) {
    write_audit(app, &audit_record(ctx, kind, facts, verdict), verdict.decision == Decision::Block);
}

/// A request that failed before a decision: audited as `error` with whose fault it was.
fn audit_error(app: &App, ctx: &RequestCtx, kind: &str, origin: &FileOrigin, e: &ProxyError) {
    tracing::warn!(id = %ctx.id, filename = %origin.filename, error = %e, "artifact not served");
    let sha = origin.hashes.get("sha256").cloned().unwrap_or_default();
    let facts = facts_from(&origin.project, &origin.filename, &sha, None, 0, Default::default());
    let mut verdict = Verdict::block(Reason {
        code: format!("error:{}", e.fault().as_str()),
        message: e.to_string(),
        findings: vec![],
    });
    verdict.policy_digest = app.policy.load().digest.clone();
    let mut rec = audit_record(ctx, kind, &facts, &verdict);
    rec.decision = "error".into();
    rec.fault = Some(e.fault().as_str().to_string());
    write_audit(app, &rec, true);
}

fn write_audit(app: &App, rec: &AuditRecord, durable: bool) {
    if let Err(e) = app.audit.write(rec, durable) {
        tracing::error!(error = %e, "AUDIT LOG WRITE FAILED");
    }
}
