//! The audit index: every audited decision as a row the dashboard can query fast, with
//! hourly roll-ups (decisions per outcome, findings per id) kept as rows are written, so
//! counts over time and top findings read a few hundred rows whatever the log's size.
//!
//! Owns: the `decisions`, `decision_hours` and `finding_hours` tables (created on open,
//! apart from the versioned schema, so they can be added to any data directory) and the
//! dashboard's queries. The JSON-lines audit log stays the durable record: this is a copy
//! for reading, and losing a row here must never block serving (the caller counts it).
//! The [`AuditTrail`] is the shared backends' durable record (every field of every
//! record, in one cluster-wide order); the index may be a copy of it, never the reverse.
//! Must not: decide, or read the JSON-lines log.

use super::sqlite::SqliteStore;
use super::StoreError;
use async_trait::async_trait;
use rusqlite::{params, Connection};

/// Findings kept per row (the record in the JSONL has them all).
pub(crate) const ROW_FINDINGS: usize = 5;

/// One audited decision, as the dashboard reads it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct DecisionRow {
    /// RFC 3339, UTC, as in the audit record.
    pub time: String,
    /// The same instant in Unix seconds (what the queries order and bucket by).
    pub unix: i64,
    /// `serve`, `annotate`, `block` or `error`.
    pub outcome: String,
    /// `file`, `metadata` or `page`.
    pub request: String,
    pub project: String,
    pub version: Option<String>,
    pub filename: String,
    pub sha256: Option<String>,
    /// The client's IP address (no port).
    pub client: String,
    pub user: Option<String>,
    /// The first [`ROW_FINDINGS`] finding ids.
    pub findings: Vec<String>,
    /// Every finding id (counted in the hourly roll-up; not kept on the row).
    pub all_findings: Vec<String>,
    /// The first reason's code (`rule:install-time-high`, `cooldown`, …).
    pub rule: Option<String>,
    /// The first reason's message.
    pub reason: Option<String>,
    /// A cooldown hold: when the release becomes available (Unix seconds).
    pub until: Option<i64>,
}

/// What the dashboard's list shows: the newest rows matching every filter given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct DecisionFilter {
    pub outcome: Option<String>,
    pub project: Option<String>,
    pub client: Option<String>,
    pub limit: usize,
}

/// Decisions of one outcome in one hour.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HourCount {
    /// Unix seconds / 3600.
    pub hour: i64,
    pub outcome: String,
    pub count: u64,
}

/// The decisions index behind the dashboard.
#[async_trait]
pub(crate) trait AuditIndex: Send + Sync {
    /// Keep these rows (one transaction) and add them to the hourly roll-ups.
    async fn index_decisions(&self, rows: Vec<DecisionRow>) -> Result<(), StoreError>;
    /// The newest rows matching the filter, newest first.
    async fn recent_decisions(&self, filter: DecisionFilter) -> Result<Vec<DecisionRow>, StoreError>;
    /// Decisions per hour and outcome, from the hour holding `since_unix` on.
    async fn hourly_counts(&self, since_unix: i64) -> Result<Vec<HourCount>, StoreError>;
    /// The most frequent finding ids in decisions from the hour holding `since_unix` on.
    async fn top_findings(&self, since_unix: i64, limit: usize) -> Result<Vec<(String, u64)>, StoreError>;
    /// Cooldown holds still in force at `now_unix`: the newest row per (project, version).
    async fn cooldown_holds(&self, now_unix: i64, limit: usize) -> Result<Vec<DecisionRow>, StoreError>;
}

/// One record of the shared audit trail: the record as its JSON line has it, the replica
/// that made the decision, and its place in the cluster-wide order.
#[derive(Debug, Clone, PartialEq)]
pub struct TrailEntry {
    /// Ascending in the order the records were written, across replicas (gaps are possible).
    pub seq: i64,
    /// The replica that made the decision (`serve --replica-id`).
    pub replica: String,
    pub record: crate::audit::AuditRecord,
}

/// The audit trail shared by replicas: the durable record of every decision, one ordered
/// stream. Only shared backends keep one; the embedded default's trail is the JSON-lines log.
#[async_trait]
pub(crate) trait AuditTrail: Send + Sync {
    /// Commit these records, made by `replica`, in one transaction before returning: after
    /// `Ok`, no crash of this process loses them.
    async fn append(&self, replica: &str, records: Vec<crate::audit::AuditRecord>) -> Result<(), StoreError>;
    /// The records `query` matches, in the cluster-wide order.
    async fn read_trail(&self, query: &crate::audit::Query) -> Result<Vec<TrailEntry>, StoreError>;
}

/// Create the tables and indexes (idempotent), on every open.
pub(super) fn create_tables(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS decisions (
            id INTEGER PRIMARY KEY, time TEXT NOT NULL, unix INTEGER NOT NULL, outcome TEXT NOT NULL,
            request TEXT NOT NULL, project TEXT NOT NULL, version TEXT, filename TEXT NOT NULL, sha256 TEXT,
            client TEXT NOT NULL, user TEXT, findings TEXT NOT NULL, rule TEXT, reason TEXT, until INTEGER);
         CREATE INDEX IF NOT EXISTS decisions_outcome ON decisions(outcome);
         CREATE INDEX IF NOT EXISTS decisions_project ON decisions(project);
         CREATE INDEX IF NOT EXISTS decisions_client ON decisions(client);
         CREATE INDEX IF NOT EXISTS decisions_until ON decisions(until) WHERE until IS NOT NULL;
         CREATE TABLE IF NOT EXISTS decision_hours (
            hour INTEGER NOT NULL, outcome TEXT NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (hour, outcome))
            WITHOUT ROWID;
         CREATE TABLE IF NOT EXISTS finding_hours (
            hour INTEGER NOT NULL, finding TEXT NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (hour, finding))
            WITHOUT ROWID;",
    )
}

const COLUMNS: &str =
    "time, unix, outcome, request, project, version, filename, sha256, client, user, findings, rule, reason, until";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<DecisionRow> {
    let findings: String = r.get(10)?;
    Ok(DecisionRow {
        time: r.get(0)?,
        unix: r.get(1)?,
        outcome: r.get(2)?,
        request: r.get(3)?,
        project: r.get(4)?,
        version: r.get(5)?,
        filename: r.get(6)?,
        sha256: r.get(7)?,
        client: r.get(8)?,
        user: r.get(9)?,
        findings: findings.split(' ').filter(|f| !f.is_empty()).map(str::to_string).collect(),
        all_findings: vec![],
        rule: r.get(11)?,
        reason: r.get(12)?,
        until: r.get(13)?,
    })
}

#[async_trait]
impl AuditIndex for SqliteStore {
    async fn index_decisions(&self, rows: Vec<DecisionRow>) -> Result<(), StoreError> {
        self.with("index decisions", move |conn| {
            let tx = conn.transaction()?;
            {
                let mut insert = tx.prepare_cached(&format!(
                    "INSERT INTO decisions ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"
                ))?;
                let mut hours = tx.prepare_cached(
                    "INSERT INTO decision_hours (hour, outcome, n) VALUES (?1, ?2, 1)
                     ON CONFLICT(hour, outcome) DO UPDATE SET n = n + 1",
                )?;
                let mut findings = tx.prepare_cached(
                    "INSERT INTO finding_hours (hour, finding, n) VALUES (?1, ?2, 1)
                     ON CONFLICT(hour, finding) DO UPDATE SET n = n + 1",
                )?;
                for r in &rows {
                    let top: Vec<&str> = r.findings.iter().take(ROW_FINDINGS).map(String::as_str).collect();
                    insert.execute(params![
                        r.time,
                        r.unix,
                        r.outcome,
                        r.request,
                        r.project,
                        r.version,
                        r.filename,
                        r.sha256,
                        r.client,
                        r.user,
                        top.join(" "),
                        r.rule,
                        r.reason,
                        r.until,
                    ])?;
                    let hour = r.unix.div_euclid(3600);
                    hours.execute(params![hour, r.outcome])?;
                    let mut seen: Vec<&str> = r.all_findings.iter().map(String::as_str).collect();
                    seen.sort_unstable();
                    seen.dedup();
                    for f in seen {
                        findings.execute(params![hour, f])?;
                    }
                }
            }
            tx.commit()
        })
        .await
    }

    async fn recent_decisions(&self, filter: DecisionFilter) -> Result<Vec<DecisionRow>, StoreError> {
        self.with("read decisions", move |conn| {
            let mut sql = format!("SELECT {COLUMNS} FROM decisions WHERE 1=1");
            let mut args: Vec<String> = Vec::new();
            for (column, value) in
                [("outcome", &filter.outcome), ("project", &filter.project), ("client", &filter.client)]
            {
                if let Some(v) = value {
                    args.push(v.clone());
                    sql.push_str(&format!(" AND {column} = ?{}", args.len()));
                }
            }
            sql.push_str(&format!(" ORDER BY id DESC LIMIT {}", filter.limit));
            let mut stmt = conn.prepare_cached(&sql)?;
            let rows = stmt.query_map(rusqlite::params_from_iter(args.iter()), row)?;
            rows.collect()
        })
        .await
    }

    async fn hourly_counts(&self, since_unix: i64) -> Result<Vec<HourCount>, StoreError> {
        self.with("read hourly counts", move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT hour, outcome, n FROM decision_hours WHERE hour >= ?1 ORDER BY hour, outcome",
            )?;
            let rows = stmt.query_map([since_unix.div_euclid(3600)], |r| {
                Ok(HourCount { hour: r.get(0)?, outcome: r.get(1)?, count: r.get::<_, i64>(2)? as u64 })
            })?;
            rows.collect()
        })
        .await
    }

    async fn top_findings(&self, since_unix: i64, limit: usize) -> Result<Vec<(String, u64)>, StoreError> {
        self.with("read top findings", move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT finding, sum(n) AS total FROM finding_hours WHERE hour >= ?1
                 GROUP BY finding ORDER BY total DESC, finding LIMIT ?2",
            )?;
            let rows = stmt.query_map(params![since_unix.div_euclid(3600), limit as i64], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
            })?;
            rows.collect()
        })
        .await
    }

    async fn cooldown_holds(&self, now_unix: i64, limit: usize) -> Result<Vec<DecisionRow>, StoreError> {
        self.with("read cooldown holds", move |conn| {
            // The newest row of each held release (SQLite takes the bare columns from the max(id) row).
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {COLUMNS}, max(id) FROM decisions WHERE until > ?1
                 GROUP BY project, version ORDER BY until LIMIT ?2"
            ))?;
            let rows = stmt.query_map(params![now_unix, limit as i64], row)?;
            rows.collect()
        })
        .await
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A decision row for tests (also the conformance suite's).
    pub(crate) fn decision(i: i64, outcome: &str, project: &str, client: &str, findings: &[&str]) -> DecisionRow {
        DecisionRow {
            time: format!("t{i}"),
            unix: 1_700_000_000 + i * 60,
            outcome: outcome.into(),
            request: "file".into(),
            project: project.into(),
            version: Some("1.0".into()),
            filename: format!("{project}-1.0.tar.gz"),
            sha256: Some(format!("{i:064x}")),
            client: client.into(),
            user: None,
            findings: findings.iter().map(ToString::to_string).collect(),
            all_findings: findings.iter().map(ToString::to_string).collect(),
            rule: Some("rule:r".into()),
            reason: Some("why".into()),
            until: None,
        }
    }

    /// The dashboard's queries over a million decisions (release builds; a debug build
    /// writes 100,000). Prints the figures; each query must stay well under a second.
    #[tokio::test]
    async fn dashboard_queries_stay_fast_over_a_million_decisions() {
        let n: i64 = if cfg!(debug_assertions) { 100_000 } else { 1_000_000 };
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("s.sqlite3")).unwrap();
        let outcomes = ["serve", "serve", "serve", "serve", "serve", "serve", "annotate", "block", "error", "serve"];
        let detectors =
            ["execution.install-hook", "network.url-in-setup", "obfuscation.base64-exec", "secrets.aws-key"];
        let started = std::time::Instant::now();
        // A month of traffic, 2,000 projects, 50 clients; one decision in 1,000 is a cooldown hold.
        let span = 30 * 24 * 3600;
        for batch in 0..(n / 10_000) {
            let rows: Vec<DecisionRow> = (0..10_000)
                .map(|j| {
                    let i = batch * 10_000 + j;
                    let outcome = outcomes[(i % 10) as usize];
                    let findings: Vec<&str> =
                        if outcome == "serve" { vec![] } else { vec![detectors[(i % 4) as usize]] };
                    let mut r = decision(0, outcome, &format!("project-{}", i % 2_000), "", &findings);
                    r.unix = 1_700_000_000 + i * span / n;
                    r.client = format!("10.0.0.{}", i % 50);
                    r.until = (i % 1_000 == 0).then_some(r.unix + 7 * 24 * 3600);
                    r
                })
                .collect();
            store.index_decisions(rows).await.unwrap();
        }
        let insert = started.elapsed();
        let now = 1_700_000_000 + span;
        let timed = |label: &'static str, took: std::time::Duration, rows: usize| {
            eprintln!("audit index, {n} decisions: {label}: {:.1} ms ({rows} rows)", took.as_secs_f64() * 1e3);
            assert!(took < std::time::Duration::from_secs(1), "{label} took {took:?}");
        };
        eprintln!(
            "audit index: inserted {n} decisions in {:.1} s ({:.0} rows/s)",
            insert.as_secs_f64(),
            n as f64 / insert.as_secs_f64()
        );
        let limit = 50;
        for (label, filter) in [
            ("recent, no filter", DecisionFilter { limit, ..Default::default() }),
            ("recent, blocked", DecisionFilter { outcome: Some("block".into()), limit, ..Default::default() }),
            ("recent, one project", DecisionFilter { project: Some("project-7".into()), limit, ..Default::default() }),
            ("recent, one client", DecisionFilter { client: Some("10.0.0.7".into()), limit, ..Default::default() }),
            (
                "recent, blocked + project + client",
                DecisionFilter {
                    outcome: Some("block".into()),
                    project: Some("project-7".into()),
                    client: Some("10.0.0.7".into()),
                    limit,
                },
            ),
            ("recent, no match", DecisionFilter { project: Some("absent".into()), limit, ..Default::default() }),
        ] {
            let t = std::time::Instant::now();
            let got = store.recent_decisions(filter).await.unwrap();
            timed(label, t.elapsed(), got.len());
        }
        let t = std::time::Instant::now();
        let hours = store.hourly_counts(now - 24 * 3600).await.unwrap();
        timed("counts per hour, last 24 h", t.elapsed(), hours.len());
        assert!(hours.len() >= 24 * 4, "four outcomes in each of the last 24 hours: {}", hours.len());
        let t = std::time::Instant::now();
        let top = store.top_findings(now - 7 * 24 * 3600, 10).await.unwrap();
        timed("top findings, last 7 days", t.elapsed(), top.len());
        assert_eq!(top.len(), 4);
        let t = std::time::Instant::now();
        let holds = store.cooldown_holds(now, 50).await.unwrap();
        timed("cooldown holds in force", t.elapsed(), holds.len());
        assert!(!holds.is_empty());
    }
}
