//! Looking back: when what pipgate knows changes (a policy reload, a feed update, a new
//! scanner), the verdicts on files it already served are re-made, and a file that turns
//! to block is recorded, logged, no longer served, and reported with the clients that
//! fetched it before.
//!
//! Owns: when to look back (a sweep at start, then whenever the policy digest or an
//! enrichment feed's revision changes: polled every [`LookbackConfig::poll`]); the
//! background rescan of files whose stored report an older scanner made (one file at a
//! time on the blocking pool, resumable because the work list is read from the store at
//! each start, progress in the log); logging every recorded change; the optional webhook
//! (`docs/lookback.md`: schema, timeout, retries; never in the way of serving); and
//! [`exposures`], the answer to `pipgate audit exposed`.
//! Must not: decide (the gate re-decides and records, see `gate::lookback`), or serve.

use crate::app::App;
use crate::audit::AuditRecord;
use crate::model::Decision;
use crate::store::{LookbackStore, VerdictChange};
use serde::Serialize;
use std::sync::Arc;
use std::time::Duration;

/// How looking back runs in `pipgate serve`.
#[derive(Debug, Clone)]
pub struct LookbackConfig {
    /// POST a JSON payload here when a verdict turns to block (`--webhook`).
    pub webhook: Option<url::Url>,
    /// Each webhook attempt's deadline.
    pub webhook_timeout: Duration,
    /// Attempts per payload (the first one and its retries), with 1 s, 2 s, 4 s … between.
    pub webhook_attempts: u32,
    /// How often the policy digest and the feeds' revisions are compared with the last sweep's.
    pub poll: Duration,
    /// Pause between two files of the background rescan (keeps it a background task).
    pub rescan_pause: Duration,
}

impl Default for LookbackConfig {
    fn default() -> Self {
        LookbackConfig {
            webhook: None,
            webhook_timeout: Duration::from_secs(5),
            webhook_attempts: 4,
            poll: Duration::from_secs(1),
            rescan_pause: Duration::from_millis(20),
        }
    }
}

/// Start looking back for a serving app: the change log and webhook, the sweeps, and the
/// background rescan. Runs until the runtime stops.
pub fn spawn(app: Arc<App>, cfg: LookbackConfig) {
    let mut changes = app.gate.subscribe_changes();
    let notify_app = app.clone();
    let notify_cfg = cfg.clone();
    tokio::spawn(async move {
        let client = notify_cfg.webhook.as_ref().map(|_| webhook_client(notify_cfg.webhook_timeout));
        loop {
            let change = match changes.recv().await {
                Ok(c) => c,
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!(
                        missed = n,
                        "verdict changes came faster than they were logged; see `pipgate audit exposed`"
                    );
                    continue;
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            };
            log_change(&change);
            if let (Some(url), Some(client), Decision::Block) =
                (notify_cfg.webhook.clone(), client.clone(), change.new_decision)
            {
                let (app, attempts) = (notify_app.clone(), notify_cfg.webhook_attempts);
                tokio::spawn(async move { post_webhook(&app, &client, &url, &change, attempts).await });
            }
        }
    });
    tokio::spawn(async move {
        let mut seen = app.gate.intelligence_revision();
        sweep(&app, "start").await;
        tokio::spawn(rescan(app.clone(), cfg.rescan_pause));
        let mut tick = tokio::time::interval(cfg.poll);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let now = app.gate.intelligence_revision();
            if now != seen {
                seen = now;
                sweep(&app, "policy or feed change").await;
            }
        }
    });
}

/// One sweep, logged.
async fn sweep(app: &App, why: &str) {
    let started = std::time::Instant::now();
    match app.gate.sweep().await {
        Ok(s) => tracing::info!(
            why,
            redecided = s.decided,
            never_scanned = s.unscanned,
            changed = s.changes.len(),
            ms = started.elapsed().as_millis() as u64,
            "looked back: every cached file re-decided"
        ),
        Err(e) => tracing::error!(why, error = %e, "could not re-decide the cached files"),
    }
}

/// Rescan, one at a time, every cached file whose stored report an older scanner made.
/// The work list is what the store says is outdated, so a restart resumes where it stopped.
async fn rescan(app: Arc<App>, pause: Duration) {
    let current = crate::scan::scanner_version();
    let outdated = match app.lookback.outdated_scans(current).await {
        Ok(o) => o,
        Err(e) => {
            tracing::error!(error = %e, "could not list the files to rescan");
            return;
        }
    };
    if outdated.is_empty() {
        return;
    }
    let origins = match app.lookback.verified_origins().await {
        Ok(o) => o,
        Err(e) => {
            tracing::error!(error = %e, "could not list the files to rescan");
            return;
        }
    };
    let todo: Vec<_> =
        outdated.iter().filter_map(|sha| origins.iter().find(|(v, _)| v.sha256.as_str() == sha.as_str())).collect();
    let total = todo.len();
    tracing::info!(total, scanner = current, "background rescan: files scanned by an older scanner");
    let mut last_log = std::time::Instant::now();
    let mut absent = 0usize;
    for (i, (v, origin)) in todo.into_iter().enumerate() {
        let facts = app.facts(origin, v);
        if facts.size == 0 {
            absent += 1; // the bytes are no longer in the cache: rescanned when next requested
            continue;
        }
        let _flight = app.flights.acquire(&origin.key).await;
        let decided = app.gate.decide(&facts).await;
        drop(_flight);
        if last_log.elapsed() >= Duration::from_secs(10) || i + 1 == total {
            tracing::info!(done = i + 1, total, last = %facts.filename, decision = decided.verdict.decision.as_str(), "background rescan progress");
            last_log = std::time::Instant::now();
        }
        tokio::time::sleep(pause).await;
    }
    tracing::info!(rescanned = total - absent, not_in_cache = absent, "background rescan finished");
}

fn log_change(c: &VerdictChange) {
    if c.new_decision == Decision::Block {
        tracing::warn!(
            sha256 = %c.sha256, project = %c.project, version = c.version.as_deref().unwrap_or("-"),
            filename = %c.filename, old = c.old_decision.as_str(), new = c.new_decision.as_str(),
            trigger = %c.trigger, reason = %c.reason,
            "verdict changed: a file served before is now BLOCKED (clients that fetched it: `pipgate audit exposed`)"
        );
    } else {
        tracing::info!(
            sha256 = %c.sha256, project = %c.project, version = c.version.as_deref().unwrap_or("-"),
            filename = %c.filename, old = c.old_decision.as_str(), new = c.new_decision.as_str(),
            trigger = %c.trigger, reason = %c.reason, "verdict changed"
        );
    }
}

// ------------------------------------------------------------------ webhook

/// The webhook's JSON body (schema `pipgate.verdict-change/1`, `docs/lookback.md`).
#[derive(Debug, Serialize)]
pub(crate) struct WebhookPayload<'a> {
    pub schema: &'static str,
    pub event: &'static str,
    #[serde(flatten)]
    pub change: &'a VerdictChange,
    /// Clients that fetched the file before it was blocked (from the audit log).
    pub exposed: Vec<ExposedClient>,
    pub pipgate_version: &'static str,
}

/// One earlier download of a file: who fetched it and when (the webhook's `exposed` entries,
/// and the first columns of an [`Exposure`]).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ExposedClient {
    /// When it was downloaded (the audit record's time).
    pub time: String,
    pub client: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    pub request_id: String,
}

fn webhook_client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("pipgate/", env!("CARGO_PKG_VERSION")))
        .build()
        .unwrap_or_default()
}

/// POST the change, retrying a failed attempt (no answer, or not 2xx) with back-off;
/// every failure is logged, nothing waits for it.
async fn post_webhook(app: &App, client: &reqwest::Client, url: &url::Url, change: &VerdictChange, attempts: u32) {
    let audit = app.audit_dir();
    let records = tokio::task::spawn_blocking(move || crate::audit::read_all(&audit).unwrap_or_default())
        .await
        .unwrap_or_default();
    let exposed = exposures(&records, std::slice::from_ref(change), None).into_iter().map(|e| e.download).collect();
    let payload = WebhookPayload {
        schema: "pipgate.verdict-change/1",
        event: "verdict.blocked",
        change,
        exposed,
        pipgate_version: env!("CARGO_PKG_VERSION"),
    };
    let body = match serde_json::to_vec(&payload) {
        Ok(b) => b,
        Err(e) => {
            tracing::error!(error = %e, "could not encode the webhook payload");
            return;
        }
    };
    let shown = crate::config::redact(url);
    let mut wait = Duration::from_secs(1);
    for attempt in 1..=attempts.max(1) {
        let why =
            match client.post(url.clone()).header("content-type", "application/json").body(body.clone()).send().await {
                Ok(r) if r.status().is_success() => {
                    tracing::info!(webhook = %shown, sha256 = %change.sha256, attempt, "webhook notified of the block");
                    return;
                }
                Ok(r) => format!("answered {}", r.status()),
                Err(e) => e.to_string(),
            };
        tracing::warn!(webhook = %shown, sha256 = %change.sha256, attempt, of = attempts, error = %why, "webhook failed");
        if attempt < attempts {
            tokio::time::sleep(wait).await;
            wait *= 2;
        }
    }
    tracing::error!(webhook = %shown, sha256 = %change.sha256, "webhook gave up; the change is recorded (`pipgate audit exposed`)");
}

// ------------------------------------------------------------------ exposed

/// A client that downloaded a file before its verdict turned to block.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Exposure {
    #[serde(flatten)]
    pub download: ExposedClient,
    pub project: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    pub filename: String,
    pub sha256: String,
    /// How it was served then (`serve` or `annotate`).
    pub served_as: String,
    /// When the block was recorded.
    pub blocked_since: String,
    pub reason: String,
    /// What turned it: `policy`, `feed`, `scanner`, `other`.
    pub trigger: String,
}

/// Which downloads in `records` fetched a file whose last recorded change (in `changes`,
/// oldest first) turned it to block, before that change; downloads before `since` are
/// left out. One row per file and client (host, user, user agent): the first download,
/// so a resolver's range requests for one file (over one or several connections) are one
/// exposure. Oldest download first.
pub(crate) fn exposures(
    records: &[AuditRecord],
    changes: &[VerdictChange],
    since: Option<time::OffsetDateTime>,
) -> Vec<Exposure> {
    use std::collections::HashMap;
    let mut last: HashMap<&str, &VerdictChange> = HashMap::new();
    for c in changes {
        last.insert(c.sha256.as_str(), c);
    }
    let mut out: Vec<(time::OffsetDateTime, Exposure)> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for r in records {
        if r.request != "file" || !matches!(r.decision.as_str(), "serve" | "annotate") {
            continue;
        }
        let Some(c) = r.sha256.as_deref().and_then(|s| last.get(s)) else { continue };
        if c.new_decision != Decision::Block {
            continue;
        }
        let (Some(at), Some(blocked)) =
            (crate::timefmt::parse_instant(&r.time), crate::timefmt::parse_instant(&c.time))
        else {
            continue;
        };
        if at > blocked || since.is_some_and(|s| at < s) {
            continue;
        }
        // The client's host, not its port: a resolver may fetch ranges over several connections.
        let host = r.client.rsplit_once(':').map_or(r.client.as_str(), |(h, _)| h);
        if !seen.insert((c.sha256.as_str(), host, r.user.as_deref(), r.user_agent.as_deref())) {
            continue;
        }
        out.push((
            at,
            Exposure {
                download: ExposedClient {
                    time: r.time.clone(),
                    client: r.client.clone(),
                    user: r.user.clone(),
                    user_agent: r.user_agent.clone(),
                    request_id: r.request_id.clone(),
                },
                project: r.project.clone(),
                version: r.version.clone(),
                filename: r.filename.clone(),
                sha256: c.sha256.clone(),
                served_as: r.decision.clone(),
                blocked_since: c.time.clone(),
                reason: c.reason.clone(),
                trigger: c.trigger.clone(),
            },
        ));
    }
    out.sort_by_key(|(t, _)| *t);
    out.into_iter().map(|(_, e)| e).collect()
}

/// `pipgate audit exposed`: the recorded changes in the store (the data directory's SQLite
/// file, another SQLite file, or the replicas' PostgreSQL), matched against the audit log
/// (on PostgreSQL, the trail every replica writes to).
pub async fn exposed_in(
    data_dir: &std::path::Path,
    database: Option<&str>,
    since: Option<time::OffsetDateTime>,
) -> Result<Vec<Exposure>, String> {
    let dirs = crate::config::DataDir::new(data_dir);
    let db = match database {
        Some(raw) => crate::config::Database::parse(raw).map_err(|e| e.to_string())?,
        None => crate::config::Database::Sqlite(dirs.db()),
    };
    let audit = dirs.audit();
    let (changes, records) = match &db {
        crate::config::Database::Sqlite(path) => {
            if !path.exists() {
                return Err(format!("{}: no pipgate store here (is --data-dir the one `serve` uses?)", path.display()));
            }
            let store = crate::store::SqliteStore::open(path).map_err(|e| e.to_string())?;
            let changes = store.verdict_changes().await.map_err(|e| e.to_string())?;
            (changes, crate::audit::read_all(&audit).map_err(|e| format!("reading {}: {e}", audit.display()))?)
        }
        // Replicas: the downloads of every replica, from the trail they share.
        crate::config::Database::Postgres(url) => {
            let store = crate::store::postgres::PgStore::open(url).map_err(|e| e.to_string())?;
            let changes = store.verdict_changes().await.map_err(|e| format!("{url}: {e}"))?;
            let trail = crate::store::AuditTrail::read_trail(&store, &crate::audit::Query::default())
                .await
                .map_err(|e| format!("{url}: {e}"))?;
            (changes, trail.into_iter().map(|e| e.record).collect())
        }
    };
    Ok(exposures(&records, &changes, since))
}

/// Column caps of the exposure table.
const CAPS: [usize; 8] = [20, 22, 16, 28, 56, 20, 8, 80];
const HEADERS: [&str; 8] =
    ["DOWNLOADED", "CLIENT", "USER", "USER AGENT", "FILENAME", "BLOCKED SINCE", "TRIGGER", "REASON"];

/// The exposures as a table for terminals.
pub fn render_exposures(rows: &[Exposure]) -> String {
    let cells: Vec<[String; 8]> = rows
        .iter()
        .map(|e| {
            let d = &e.download;
            [
                d.time.clone(),
                d.client.clone(),
                d.user.clone().unwrap_or_else(|| "-".into()),
                d.user_agent.clone().unwrap_or_else(|| "-".into()),
                e.filename.clone(),
                e.blocked_since.clone(),
                e.trigger.clone(),
                e.reason.clone(),
            ]
        })
        .collect();
    crate::audit::columns(HEADERS, CAPS, &cells)
}

#[cfg(test)]
mod tests;
