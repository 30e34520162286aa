//! The audit trail and the dashboard's index on PostgreSQL, shared by every replica.
//!
//! [`AuditTrail`]: each record committed (one statement, or one transaction for several)
//! before the call returns, numbered by the `audit_trail.seq` identity: one order across
//! replicas. [`AuditIndex`]: the embedded index's tables and queries, with the hourly
//! roll-ups summed per batch and upserted in key order, so two replicas' batches never
//! deadlock on the current hour's rows.
//! Must not: decide, or put connection parameters in an error.

use super::{pg, PgStore};
use crate::audit::{AuditRecord, Query};
use crate::store::ROW_FINDINGS;
use crate::store::{AuditIndex, AuditTrail, DecisionFilter, DecisionRow, HourCount, StoreError, TrailEntry};
use async_trait::async_trait;
use std::collections::BTreeMap;
use tokio_postgres::types::ToSql;

const TRAIL_COLUMNS: &str = "replica, time, unix, request_id, client, user_name, user_agent, request, project, \
     version, filename, sha256, decision, reasons, findings, acceptances, policy_digest, fault, pipgate_version";

/// The record's fields as the trail's columns (`reasons` as JSON text, cast to `jsonb`).
fn insert_trail() -> String {
    let params: Vec<String> =
        (1..=19).map(|i| if i == 14 { "$14::text::jsonb".into() } else { format!("${i}") }).collect();
    format!("INSERT INTO audit_trail ({TRAIL_COLUMNS}) VALUES ({})", params.join(", "))
}

fn trail_entry(r: &tokio_postgres::Row) -> Result<TrailEntry, StoreError> {
    let reasons: String = r.get(14);
    let record = AuditRecord {
        time: r.get(2),
        request_id: r.get(4),
        client: r.get(5),
        user: r.get(6),
        user_agent: r.get(7),
        request: r.get(8),
        project: r.get(9),
        version: r.get(10),
        filename: r.get(11),
        sha256: r.get(12),
        decision: r.get(13),
        reasons: serde_json::from_str(&reasons).map_err(|e| StoreError::new("read audit trail", e))?,
        findings: r.get(15),
        acceptances: r.get(16),
        policy_digest: r.get(17),
        fault: r.get(18),
        pipgate_version: r.get(19),
    };
    Ok(TrailEntry { seq: r.get(0), replica: r.get(1), record })
}

#[async_trait]
impl AuditTrail for PgStore {
    async fn append(&self, replica: &str, records: Vec<AuditRecord>) -> Result<(), StoreError> {
        let op = "append to the audit trail";
        if records.is_empty() {
            return Ok(());
        }
        let mut c = self.client(op).await?;
        let tx = c.transaction().await.map_err(pg(op))?;
        let stmt = tx.prepare_cached(&insert_trail()).await.map_err(pg(op))?;
        for rec in &records {
            let unix = crate::timefmt::parse_instant(&rec.time).map_or(0, time::OffsetDateTime::unix_timestamp);
            let reasons = serde_json::to_string(&rec.reasons).map_err(|e| StoreError::new(op, e))?;
            let row: [&(dyn ToSql + Sync); 19] = [
                &replica,
                &rec.time,
                &unix,
                &rec.request_id,
                &rec.client,
                &rec.user,
                &rec.user_agent,
                &rec.request,
                &rec.project,
                &rec.version,
                &rec.filename,
                &rec.sha256,
                &rec.decision,
                &reasons,
                &rec.findings,
                &rec.acceptances,
                &rec.policy_digest,
                &rec.fault,
                &rec.pipgate_version,
            ];
            tx.execute(&stmt, &row).await.map_err(pg(op))?;
        }
        tx.commit().await.map_err(pg(op))
    }

    async fn read_trail(&self, query: &Query) -> Result<Vec<TrailEntry>, StoreError> {
        let op = "read the audit trail";
        let c = self.client(op).await?;
        // The database narrows by whole seconds; `Query::matches` then decides exactly, as
        // it does for the JSON-lines log.
        let since = query.since.map(time::OffsetDateTime::unix_timestamp);
        let rows = c
            .query(
                &format!(
                    "SELECT seq, {TRAIL_COLUMNS} FROM audit_trail
                     WHERE (NOT $1 OR decision = 'block') AND ($2::bigint IS NULL OR unix >= $2)
                       AND ($3::text IS NULL OR project = $3) AND ($4::text IS NULL OR user_name = $4)
                     ORDER BY seq"
                )
                .replace("reasons,", "reasons::text,"),
                &[&query.blocked_only, &since, &query.project, &query.user],
            )
            .await
            .map_err(pg(op))?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let entry = trail_entry(r)?;
            if query.matches(&entry.record) {
                out.push(entry);
            }
        }
        Ok(out)
    }
}

const INDEX_COLUMNS: &str =
    "time, unix, outcome, request, project, version, filename, sha256, client, user_name, findings, rule, reason, until";

fn decision_row(r: &tokio_postgres::Row) -> DecisionRow {
    let findings: String = r.get(10);
    DecisionRow {
        time: r.get(0),
        unix: r.get(1),
        outcome: r.get(2),
        request: r.get(3),
        project: r.get(4),
        version: r.get(5),
        filename: r.get(6),
        sha256: r.get(7),
        client: r.get(8),
        user: r.get(9),
        findings: findings.split(' ').filter(|f| !f.is_empty()).map(str::to_string).collect(),
        all_findings: vec![],
        rule: r.get(11),
        reason: r.get(12),
        until: r.get(13),
    }
}

/// Add a batch's counts to an hourly roll-up (`decision_hours` by outcome, `finding_hours` by
/// finding), in key order. `table` and `key` are this module's constants, never input.
async fn add_hourly(
    tx: &tokio_postgres::Transaction<'_>,
    table: &'static str,
    key: &'static str,
    counts: &BTreeMap<(i64, &str), i64>,
) -> Result<(), tokio_postgres::Error> {
    let upsert = format!(
        "INSERT INTO {table} (hour, {key}, n) VALUES ($1, $2, $3) \
         ON CONFLICT (hour, {key}) DO UPDATE SET n = {table}.n + EXCLUDED.n"
    );
    let upsert = tx.prepare(&upsert).await?;
    for ((hour, value), n) in counts {
        tx.execute(&upsert, &[hour, value, n]).await?;
    }
    Ok(())
}

#[async_trait]
impl AuditIndex for PgStore {
    async fn index_decisions(&self, rows: Vec<DecisionRow>) -> Result<(), StoreError> {
        let op = "index decisions";
        if rows.is_empty() {
            return Ok(());
        }
        // The roll-ups of the batch, summed here and written in key order (no deadlock
        // between replicas writing the same hour).
        let mut hours: BTreeMap<(i64, &str), i64> = BTreeMap::new();
        let mut findings: BTreeMap<(i64, &str), i64> = BTreeMap::new();
        for r in &rows {
            let hour = r.unix.div_euclid(3600);
            *hours.entry((hour, r.outcome.as_str())).or_default() += 1;
            let mut seen: Vec<&str> = r.all_findings.iter().map(String::as_str).collect();
            seen.sort_unstable();
            seen.dedup();
            for f in seen {
                *findings.entry((hour, f)).or_default() += 1;
            }
        }
        let mut c = self.client(op).await?;
        let tx = c.transaction().await.map_err(pg(op))?;
        let insert = tx
            .prepare_cached(&format!(
                "INSERT INTO decisions ({INDEX_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
            ))
            .await
            .map_err(pg(op))?;
        for r in &rows {
            let top = r.findings.iter().take(ROW_FINDINGS).map(String::as_str).collect::<Vec<_>>().join(" ");
            tx.execute(
                &insert,
                &[
                    &r.time,
                    &r.unix,
                    &r.outcome,
                    &r.request,
                    &r.project,
                    &r.version,
                    &r.filename,
                    &r.sha256,
                    &r.client,
                    &r.user,
                    &top,
                    &r.rule,
                    &r.reason,
                    &r.until,
                ],
            )
            .await
            .map_err(pg(op))?;
        }
        add_hourly(&tx, "decision_hours", "outcome", &hours).await.map_err(pg(op))?;
        add_hourly(&tx, "finding_hours", "finding", &findings).await.map_err(pg(op))?;
        tx.commit().await.map_err(pg(op))
    }

    async fn recent_decisions(&self, filter: DecisionFilter) -> Result<Vec<DecisionRow>, StoreError> {
        let op = "read decisions";
        let c = self.client(op).await?;
        let mut sql = format!("SELECT {INDEX_COLUMNS} FROM decisions WHERE true");
        let mut args: Vec<&(dyn ToSql + Sync)> = Vec::new();
        for (column, value) in [("outcome", &filter.outcome), ("project", &filter.project), ("client", &filter.client)]
        {
            if let Some(v) = value {
                args.push(v);
                sql.push_str(&format!(" AND {column} = ${}", args.len()));
            }
        }
        let limit = filter.limit as i64;
        args.push(&limit);
        sql.push_str(&format!(" ORDER BY id DESC LIMIT ${}", args.len()));
        Ok(c.query(&sql, &args).await.map_err(pg(op))?.iter().map(decision_row).collect())
    }

    async fn hourly_counts(&self, since_unix: i64) -> Result<Vec<HourCount>, StoreError> {
        let op = "read hourly counts";
        let c = self.client(op).await?;
        let rows = c
            .query(
                "SELECT hour, outcome, n FROM decision_hours WHERE hour >= $1 ORDER BY hour, outcome",
                &[&since_unix.div_euclid(3600)],
            )
            .await
            .map_err(pg(op))?;
        Ok(rows
            .iter()
            .map(|r| HourCount { hour: r.get(0), outcome: r.get(1), count: r.get::<_, i64>(2) as u64 })
            .collect())
    }

    async fn top_findings(&self, since_unix: i64, limit: usize) -> Result<Vec<(String, u64)>, StoreError> {
        let op = "read top findings";
        let c = self.client(op).await?;
        let rows = c
            .query(
                "SELECT finding, sum(n)::bigint AS total FROM finding_hours WHERE hour >= $1
                 GROUP BY finding ORDER BY total DESC, finding LIMIT $2",
                &[&since_unix.div_euclid(3600), &(limit as i64)],
            )
            .await
            .map_err(pg(op))?;
        Ok(rows.iter().map(|r| (r.get::<_, String>(0), r.get::<_, i64>(1) as u64)).collect())
    }

    async fn cooldown_holds(&self, now_unix: i64, limit: usize) -> Result<Vec<DecisionRow>, StoreError> {
        let op = "read cooldown holds";
        let c = self.client(op).await?;
        // The newest row of each held release, soonest end first.
        let rows = c
            .query(
                &format!(
                    "SELECT {INDEX_COLUMNS} FROM (
                        SELECT DISTINCT ON (project, version) {INDEX_COLUMNS} FROM decisions WHERE until > $1
                        ORDER BY project, version, id DESC) held
                     ORDER BY until, project LIMIT $2"
                ),
                &[&now_unix, &(limit as i64)],
            )
            .await
            .map_err(pg(op))?;
        Ok(rows.iter().map(decision_row).collect())
    }
}
