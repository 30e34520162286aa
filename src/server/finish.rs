//! The last phase of every request: audit, response, access log — in that order, in one place.
//!
//! Owns: what is audited (artifact decisions and failures, including HEAD requests; and
//! page decisions: a file an index page hid or marked yanked while another version stayed
//! allowed, since an unpinned install then silently falls back past it — once per page
//! state, not per page view: see [`PAGE_AUDIT_TTL`]),
//! failing closed when a decision cannot be audited (a served decision becomes a 503; with
//! replicas on PostgreSQL, audited means appended to the log *and* committed to the shared
//! trail), and
//! the access-log line (outside text in it escaped: no forged lines or terminal escapes;
//! a decision's reason codes and findings, a failure's fault, and the duration on every line),
//! and where a block points for its report (`--public-url`, else a URL relative to the
//! file's, never the request's `Host`). Must not: decide (the verdict arrives in the [`Outcome`]).

use super::RequestCtx;
use crate::app::App;
use crate::audit::AuditRecord;
use crate::error::ProxyError;
use crate::gate::Withheld;
use crate::index::accept::PageFormat;
use crate::model::{ArtifactFacts, Decision, Finding, Printable, Reason, ReasonCode, RequestKind, Sha256, Verdict};
use crate::respond::{self, Resp};
use crate::timefmt::now_rfc3339;
use hyper::header;
use hyper::StatusCode;
use std::path::PathBuf;
use std::sync::Arc;

/// What a decision was about.
pub(crate) struct Subject {
    pub kind: RequestKind,
    pub facts: ArtifactFacts,
}

/// What a route produced.
// One per request, moved a few times: its size is not worth a box on every decision.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Outcome {
    /// An answer that involves no decision (health, redirects, pages, reports, not found).
    Replied(Reply),
    /// The gate decided about an artifact. `reply` is what to serve when the verdict allows
    /// it (`None` for blocks).
    Decided { subject: Subject, verdict: Verdict, findings: Arc<Vec<Finding>>, reply: Option<Reply> },
    /// The request failed before it could be answered; audited when it concerned an artifact.
    Failed { subject: Option<Subject>, error: ProxyError },
    /// A project page that withheld (hid or marked yanked) blocked files while offering
    /// others: each withheld file is audited as a `page` decision, once per page state.
    Listed { reply: Reply, project: String, withheld: std::sync::Arc<Vec<Withheld>> },
    /// Not admitted (authentication or a limit): nothing was asked of the gate, so nothing is
    /// audited; the access log names the refusal.
    Refused(crate::auth::Refusal),
}

/// The same page state (project, file, verdict, policy) is audited again at most this often.
pub(crate) const PAGE_AUDIT_TTL: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// The memory of page states already audited (bounded; entries live [`PAGE_AUDIT_TTL`]).
pub(crate) fn page_audit_memo() -> moka::sync::Cache<String, ()> {
    moka::sync::Cache::builder().max_capacity(65_536).time_to_live(PAGE_AUDIT_TTL).build()
}

/// The body of an answer, before headers.
pub(crate) enum Reply {
    Text(StatusCode, &'static str),
    /// A JSON document with its status (readiness).
    Json(StatusCode, String),
    Redirect(String),
    /// An index page in the negotiated format, and why it is stale when it is.
    Page {
        /// In `encoding` when it has one (empty for a 304).
        body: bytes::Bytes,
        /// The strong ETag of `body` (computed where the body was rendered, off the reactor).
        etag: String,
        format: PageFormat,
        stale: Option<String>,
        /// `Content-Encoding` of `body` (`None`: identity).
        encoding: Option<&'static str>,
    },
    /// A rendered scan report.
    Report {
        body: String,
        content_type: &'static str,
    },
    /// Verified artifact bytes on disk, and in memory when the artifact cache keeps them there.
    File {
        path: PathBuf,
        sha256: Sha256,
        bytes: Option<bytes::Bytes>,
    },
    /// Core metadata bytes.
    Metadata(Vec<u8>),
    /// A document rendered here (the dashboard, the metrics).
    Body {
        content_type: &'static str,
        body: String,
    },
}

impl Outcome {
    pub(crate) fn reply(r: Reply) -> Outcome {
        Outcome::Replied(r)
    }
    pub(crate) fn failed(subject: Option<Subject>, error: ProxyError) -> Outcome {
        Outcome::Failed { subject, error }
    }
}

/// Audit → response → access log.
pub(super) async fn finish(app: &App, ctx: &RequestCtx, outcome: Outcome) -> Resp {
    let audited = audit(app, ctx, &outcome).await;
    let about_artifact = matches!(outcome, Outcome::Decided { .. } | Outcome::Failed { subject: Some(_), .. });
    let (mut reason, findings) = why(&outcome);
    let (resp, decision) = match (outcome, audited) {
        (Outcome::Decided { subject, verdict, reply: Some(_), .. }, Err(e)) if verdict.decision != Decision::Block => {
            tracing::error!(id = %ctx.id, filename = %Printable(&subject.facts.filename), error = %e, "AUDIT LOG WRITE FAILED: not serving an unaudited decision");
            reason = Some("error:audit-unavailable".into());
            (respond::error(&ProxyError::AuditUnavailable { reason: e.to_string() }, &ctx.id), Some("error"))
        }
        (outcome, audited) => {
            if let Err(e) = audited {
                tracing::error!(id = %ctx.id, error = %e, "AUDIT LOG WRITE FAILED");
            }
            respond_to(app, ctx, outcome).await
        }
    };
    crate::metrics::request(super::router::route_name(&ctx.path), resp.status().as_u16());
    if let (true, Some(d)) = (about_artifact, decision) {
        crate::metrics::verdict(d);
    }
    tracing::info!(
        id = %ctx.id,
        client = %ctx.client,
        user = %Printable(ctx.user.as_deref().unwrap_or("-")),
        method = %ctx.method,
        path = %Printable(&ctx.path),
        status = resp.status().as_u16(),
        decision = %decision.unwrap_or("-"),
        reason = %Printable(reason.as_deref().unwrap_or("-")),
        findings = %Printable(findings.as_deref().unwrap_or("-")),
        ms = ctx.started.elapsed().as_millis() as u64,
        ua = %Printable(ctx.user_agent.as_deref().unwrap_or("-")),
        proto = ?ctx.version,
        "request"
    );
    resp
}

/// For the access line: why a decision was made (the verdict's reason codes, or the fault of
/// a failure) and the findings it is about (`None` for answers that decided nothing).
fn why(outcome: &Outcome) -> (Option<String>, Option<String>) {
    match outcome {
        Outcome::Replied(_) => (None, None),
        Outcome::Refused(r) => (Some(r.code().to_string()), None),
        Outcome::Listed { withheld, .. } if withheld.is_empty() => (None, None),
        Outcome::Listed { withheld, .. } => (Some(format!("page:withheld={}", withheld.len())), None),
        Outcome::Failed { error, .. } => (Some(format!("error:{}", error.fault().as_str())), None),
        Outcome::Decided { verdict, .. } => {
            let codes: Vec<String> = verdict.reasons.iter().map(|r| r.code.to_string()).collect();
            let findings = Some(verdict.findings.join(",")).filter(|f| !f.is_empty());
            (Some(codes.join(",")).filter(|c| !c.is_empty()), findings)
        }
    }
}

/// Write the audit record an outcome calls for. Blocks and failures are synced to disk
/// before the answer leaves; with a shared trail, every record is committed to it too.
async fn audit(app: &App, ctx: &RequestCtx, outcome: &Outcome) -> std::io::Result<()> {
    let (rec, durable) = match outcome {
        Outcome::Replied(_) | Outcome::Refused(_) | Outcome::Failed { subject: None, .. } => return Ok(()),
        Outcome::Listed { project, withheld, .. } => return audit_page(app, ctx, project, withheld).await,
        Outcome::Decided { subject, verdict, .. } => {
            let rec = record(ctx, subject, verdict, None);
            let block = verdict.decision == Decision::Block;
            return write(app, vec![(rec, verdict.available_at.clone())], block).await;
        }
        Outcome::Failed { subject: Some(subject), error } => {
            tracing::warn!(id = %ctx.id, filename = %Printable(&subject.facts.filename), error = %Printable(&error.to_string()), "artifact not served");
            let fault = error.fault().as_str();
            let mut verdict = Verdict::block(Reason {
                code: ReasonCode::Error(fault.to_string()),
                message: error.to_string(),
                findings: vec![],
            });
            verdict.policy_digest = app.gate.policy_digest();
            (record(ctx, subject, &verdict, Some(fault)), true)
        }
    };
    write(app, vec![(rec, None)], durable).await
}

/// Append records to the audit log, commit them to the shared trail when there is one
/// (one transaction), and once both hold them, queue them for the store's index (each with
/// its cooldown hold's end). A failed append or commit is counted in the metrics; the
/// records appended before it stay in the log.
async fn write(app: &App, recs: Vec<(AuditRecord, Option<String>)>, durable: bool) -> std::io::Result<()> {
    for (rec, _) in &recs {
        if let Err(e) = app.audit.write(rec, durable) {
            crate::metrics::audit_write_failed();
            return Err(e);
        }
    }
    if let Some(trail) = &app.trail {
        if let Err(e) = trail.commit(recs.iter().map(|(rec, _)| rec.clone()).collect()).await {
            crate::metrics::audit_trail_write_failed();
            return Err(std::io::Error::other(format!("shared audit trail: {e}")));
        }
    }
    for (rec, until) in recs {
        app.indexer.record(rec, until.as_deref());
    }
    Ok(())
}

/// Page records written for one page view at most (a hostile page may withhold 100k files:
/// the rest are written by the next views, as each state is recorded once).
const PAGE_RECORDS_PER_VIEW: usize = 100;

/// One `page` record per withheld file whose state was not audited within [`PAGE_AUDIT_TTL`].
/// Page records are not synced one by one (no client waits on them); a view's records are
/// committed to the shared trail in one transaction.
async fn audit_page(app: &App, ctx: &RequestCtx, project: &str, withheld: &[Withheld]) -> std::io::Result<()> {
    let mut recs = Vec::new();
    let mut keys = Vec::new();
    for w in withheld {
        if recs.len() == PAGE_RECORDS_PER_VIEW {
            break;
        }
        let codes: Vec<String> = w.verdict.reasons.iter().map(|r| r.code.to_string()).collect();
        let key = format!(
            "{project}\n{}\n{}\n{}\n{}\n{}",
            w.filename,
            w.verdict.index.as_str(),
            codes.join(","),
            w.verdict.policy_digest,
            w.instead.as_deref().unwrap_or("")
        );
        if app.page_audits.contains_key(&key) || keys.contains(&key) {
            continue;
        }
        let mut verdict = w.verdict.clone();
        let shown = match verdict.index {
            crate::model::IndexMode::Hide => "hidden from",
            crate::model::IndexMode::Yank => "marked yanked on",
        };
        let instead = match &w.instead {
            Some(v) => format!("an install that does not pin this version gets {v} instead"),
            None => "no other version is offered".to_string(),
        };
        verdict.reasons.push(Reason {
            code: ReasonCode::Withheld,
            message: format!("{} was {shown} the {project} page: {instead}", w.filename),
            findings: vec![],
        });
        let facts = ArtifactFacts::describe(project, &w.filename, &w.sha256, None, 0, PathBuf::new());
        let subject = Subject { kind: RequestKind::Page, facts };
        recs.push((record(ctx, &subject, &verdict, None), verdict.available_at.clone()));
        keys.push(key);
    }
    if recs.is_empty() {
        return Ok(());
    }
    write(app, recs, false).await?;
    for key in keys {
        app.page_audits.insert(key, ());
    }
    Ok(())
}

/// A decision (or failure, with its fault) in audit form.
fn record(ctx: &RequestCtx, subject: &Subject, verdict: &Verdict, fault: Option<&str>) -> AuditRecord {
    let facts = &subject.facts;
    AuditRecord {
        time: now_rfc3339(),
        request_id: ctx.id.clone(),
        client: ctx.client.to_string(),
        user: ctx.user.clone(),
        user_agent: ctx.user_agent.clone(),
        request: subject.kind.as_str().to_string(),
        project: facts.project.clone(),
        version: facts.version.clone(),
        filename: facts.filename.clone(),
        sha256: Some(facts.sha256.clone()).filter(|s| !s.is_empty()),
        decision: if fault.is_some() { "error".into() } else { verdict.decision.as_str().to_string() },
        reasons: verdict.reasons.clone(),
        findings: verdict.findings.clone(),
        acceptances: verdict.acceptances.clone(),
        policy_digest: verdict.policy_digest.clone(),
        fault: fault.map(str::to_string),
        pipgate_version: env!("CARGO_PKG_VERSION").to_string(),
    }
}

/// The HTTP answer for an outcome, and the decision to log with it.
async fn respond_to(app: &App, ctx: &RequestCtx, outcome: Outcome) -> (Resp, Option<&'static str>) {
    match outcome {
        Outcome::Replied(reply) | Outcome::Listed { reply, .. } => (reply_response(ctx, reply, None).await, None),
        Outcome::Failed { error, .. } => (respond::error(&error, &ctx.id), Some("error")),
        Outcome::Refused(refusal) => {
            if matches!(refusal, crate::auth::Refusal::BadCredentials { .. } | crate::auth::Refusal::PlainHttp) {
                tracing::warn!(id = %ctx.id, client = %ctx.client, refusal = %refusal, "request refused");
            }
            (respond::refused(&refusal, &ctx.id), None)
        }
        Outcome::Decided { subject, verdict, findings, reply } => match reply {
            Some(reply) if verdict.decision != Decision::Block => {
                let decision = verdict.decision.as_str();
                (reply_response(ctx, reply, Some(&verdict)).await, Some(decision))
            }
            _ => {
                // From configuration, never from the request's Host header.
                let report = respond::ReportLink::new(app.public_url.as_ref(), &subject.facts.sha256);
                let asker = respond::Asker { request_id: &ctx.id, user: ctx.user.as_deref() };
                (respond::blocked(&subject.facts, &verdict, &findings, &report, &asker), Some("block"))
            }
        },
    }
}

async fn reply_response(ctx: &RequestCtx, reply: Reply, verdict: Option<&Verdict>) -> Resp {
    let if_none_match = ctx.header(header::IF_NONE_MATCH);
    match reply {
        Reply::Text(status, body) => respond::text(status, body),
        Reply::Json(status, body) => respond::body(status, "application/json", body),
        Reply::Redirect(to) => respond::redirect(&to),
        Reply::Page { body, etag, format, stale, encoding } => {
            let page = respond::PageBody { body, etag: &etag, content_type: format.content_type(), encoding };
            respond::page(page, if_none_match, stale.as_deref(), ctx.head)
        }
        Reply::Report { body, content_type } => respond::report(content_type, body),
        Reply::Metadata(bytes) => respond::metadata(bytes, if_none_match, ctx.head),
        Reply::Body { content_type, body } => respond::body(StatusCode::OK, content_type, body),
        Reply::File { path, sha256, bytes } => {
            let decision = verdict.map(|v| v.decision).unwrap_or(Decision::Serve);
            let annotation = verdict.filter(|v| v.decision == Decision::Annotate).map(|v| v.findings.join(" "));
            let opts = respond::FileServe {
                path: &path,
                sha256: &sha256,
                bytes,
                content_type: "application/octet-stream",
                range: ctx.header(header::RANGE),
                if_range: ctx.header(header::IF_RANGE),
                if_none_match,
                head: ctx.head,
                extra: [
                    Some((header::HeaderName::from_static("x-pipgate-decision"), decision.as_str().to_string())),
                    annotation.map(|a| (header::HeaderName::from_static("x-pipgate-findings"), a)),
                ]
                .into_iter()
                .flatten()
                .collect(),
            };
            respond::file(opts).await.unwrap_or_else(|e| respond::error(&ProxyError::from(e), &ctx.id))
        }
    }
}
