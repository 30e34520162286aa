//! [`LookbackStore`] on PostgreSQL. Two replicas noting the same verdict at once record the
//! change once: each note takes a transaction-scoped advisory lock on its (sha256, filename),
//! in sorted order (no deadlock), before reading the last verdict.
//! Must not: decide.

use super::{origin_row, pg, verified_row, PgStore};
use crate::model::{FileOrigin, Verified};
use crate::scan::ScanReport;
use crate::store::lookback::{decision, DecisionState, LookbackStore, VerdictChange, VerdictNote};
use crate::store::StoreError;
use async_trait::async_trait;

async fn note_one(
    tx: &deadpool_postgres::Transaction<'_>,
    n: &VerdictNote,
    now: &str,
) -> Result<Option<VerdictChange>, tokio_postgres::Error> {
    let old = tx
        .query_opt(
            "SELECT decision, policy_digest, enrichment, scanner_version FROM verdicts WHERE sha256=$1 AND filename=$2",
            &[&n.sha256, &n.filename],
        )
        .await?
        .map(|r| {
            (
                decision(r.get(0)),
                DecisionState { policy_digest: r.get(1), enrichment: r.get(2), scanner_version: r.get(3) },
            )
        });
    if n.same_as(old.as_ref()) {
        return Ok(None);
    }
    tx.execute(
        "INSERT INTO verdicts (sha256, filename, project, version, decision, reason, policy_digest, enrichment,
            scanner_version, time) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         ON CONFLICT (sha256, filename) DO UPDATE SET project=EXCLUDED.project, version=EXCLUDED.version,
            decision=EXCLUDED.decision, reason=EXCLUDED.reason, policy_digest=EXCLUDED.policy_digest,
            enrichment=EXCLUDED.enrichment, scanner_version=EXCLUDED.scanner_version, time=EXCLUDED.time",
        &[
            &n.sha256,
            &n.filename,
            &n.project,
            &n.version,
            &n.decision.as_str(),
            &n.reason,
            &n.state.policy_digest,
            &n.state.enrichment,
            &n.state.scanner_version,
            &now,
        ],
    )
    .await?;
    let Some(change) = n.change_since(old, now) else { return Ok(None) };
    tx.execute(
        "INSERT INTO verdict_changes (time, sha256, project, version, filename, old_decision, new_decision, reason,
            trigger, policy_digest) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        &[
            &change.time,
            &change.sha256,
            &change.project,
            &change.version,
            &change.filename,
            &change.old_decision.as_str(),
            &change.new_decision.as_str(),
            &change.reason,
            &change.trigger,
            &change.policy_digest,
        ],
    )
    .await?;
    Ok(Some(change))
}

#[async_trait]
impl LookbackStore for PgStore {
    async fn note_verdicts(&self, notes: Vec<VerdictNote>) -> Result<Vec<VerdictChange>, StoreError> {
        if notes.is_empty() {
            return Ok(vec![]);
        }
        let op = "note verdicts";
        let now = crate::timefmt::now_rfc3339();
        let mut c = self.client(op).await?;
        let tx = c.transaction().await.map_err(pg(op))?;
        let mut keys: Vec<String> = notes.iter().map(|n| format!("{}\n{}", n.sha256, n.filename)).collect();
        keys.sort();
        keys.dedup();
        for k in &keys {
            tx.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", &[k]).await.map_err(pg(op))?;
        }
        let mut changes = Vec::new();
        for n in &notes {
            changes.extend(note_one(&tx, n, &now).await.map_err(pg(op))?);
        }
        tx.commit().await.map_err(pg(op))?;
        Ok(changes)
    }

    async fn verdict_changes(&self) -> Result<Vec<VerdictChange>, StoreError> {
        let op = "read verdict changes";
        let c = self.client(op).await?;
        let rows = c
            .query(
                "SELECT time, sha256, project, version, filename, old_decision, new_decision, reason, trigger,
                    policy_digest FROM verdict_changes ORDER BY id",
                &[],
            )
            .await
            .map_err(pg(op))?;
        Ok(rows
            .iter()
            .map(|r| VerdictChange {
                time: r.get(0),
                sha256: r.get(1),
                project: r.get(2),
                version: r.get(3),
                filename: r.get(4),
                old_decision: decision(r.get(5)),
                new_decision: decision(r.get(6)),
                reason: r.get(7),
                trigger: r.get(8),
                policy_digest: r.get(9),
            })
            .collect())
    }

    async fn verified_origins(&self) -> Result<Vec<(Verified, FileOrigin)>, StoreError> {
        let op = "read verified origins";
        let c = self.client(op).await?;
        let rows = c
            .query(
                "SELECT o.key, o.filename, o.project, o.url, o.hashes, o.upload_time, o.size, o.core_metadata,
                    v.sha256, v.metadata_sha256 FROM origins o JOIN verified v ON v.key = o.key ORDER BY o.seq",
                &[],
            )
            .await
            .map_err(pg(op))?;
        rows.iter().map(|r| Ok((verified_row(r, 8)?, origin_row(r)))).collect()
    }

    async fn outdated_scans(&self, current: &str) -> Result<Vec<String>, StoreError> {
        let op = "read outdated scans";
        let c = self.client(op).await?;
        let rows = c
            .query(
                "SELECT DISTINCT sha256 FROM scans WHERE scanner_version != $1
                 AND sha256 NOT IN (SELECT sha256 FROM scans WHERE scanner_version = $1) ORDER BY sha256",
                &[&current],
            )
            .await
            .map_err(pg(op))?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    async fn latest_scan(&self, sha256: &str) -> Result<Option<ScanReport>, StoreError> {
        let op = "read latest scan";
        let c = self.client(op).await?;
        let row = c
            .query_opt("SELECT report FROM scans WHERE sha256=$1 ORDER BY created DESC, seq DESC LIMIT 1", &[&sha256])
            .await
            .map_err(pg(op))?;
        Ok(row.and_then(|r| serde_json::from_str(r.get::<_, &str>(0)).ok()))
    }
}
