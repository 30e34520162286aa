//! Looking back: the last verdict pipgate gave each cached artifact (with the state it was
//! made under: policy digest, enrichment revision, scanner version), the table of verdict
//! changes, and the reads the re-decide sweep and the background rescan need (every
//! verified file, reports made by an older scanner).
//!
//! Owns: the `verdicts` and `verdict_changes` tables (created on open, apart from the
//! versioned schema, so they can be added to any data directory) and naming a change's
//! trigger from the two states. Must not: decide (the gate does), notify or log changes.

use super::sqlite::SqliteStore;
use super::StoreError;
use crate::model::{Decision, FileOrigin, Verified};
use crate::scan::ScanReport;
use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

/// What a verdict was made under: a change in any of them is a reason to re-decide.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub(crate) struct DecisionState {
    pub policy_digest: String,
    /// Every enrichment feed's `name@revision` (empty: no feeds).
    pub enrichment: String,
    /// The scanner version of the report weighed (empty: no report, e.g. a deny list).
    pub scanner_version: String,
}

impl DecisionState {
    /// What changed from `old` to `self`, as a change's trigger: `policy`, `feed`,
    /// `scanner`, or `other` (time, a project's page history: the same inputs otherwise).
    pub(crate) fn trigger_since(&self, old: &DecisionState) -> &'static str {
        if self.policy_digest != old.policy_digest {
            "policy"
        } else if self.enrichment != old.enrichment {
            "feed"
        } else if self.scanner_version != old.scanner_version && !old.scanner_version.is_empty() {
            "scanner"
        } else {
            "other"
        }
    }
}

/// One verdict as given now, to be compared with the last one kept.
#[derive(Debug, Clone)]
pub(crate) struct VerdictNote {
    pub sha256: String,
    pub project: String,
    pub version: Option<String>,
    pub filename: String,
    pub decision: Decision,
    /// The verdict's reasons, as one line (what a change record and the log show).
    pub reason: String,
    pub state: DecisionState,
}

/// The verdict kept last for a file: its decision and the state it was made under.
pub(crate) type LastVerdict = (Decision, DecisionState);

impl VerdictNote {
    /// Whether the last verdict kept is this one (same decision, same state): nothing to write.
    pub(crate) fn same_as(&self, last: Option<&LastVerdict>) -> bool {
        last.is_some_and(|(d, s)| *d == self.decision && *s == self.state)
    }

    /// The change to record when this note's decision differs from the last one kept
    /// (a first note is no change), noticed at `now`. Both backends record exactly this.
    pub(crate) fn change_since(&self, last: Option<LastVerdict>, now: &str) -> Option<VerdictChange> {
        let (old_decision, old_state) = last?;
        (old_decision != self.decision).then(|| VerdictChange {
            time: now.to_string(),
            sha256: self.sha256.clone(),
            project: self.project.clone(),
            version: self.version.clone(),
            filename: self.filename.clone(),
            old_decision,
            new_decision: self.decision,
            reason: self.reason.clone(),
            trigger: self.state.trigger_since(&old_state).to_string(),
            policy_digest: self.state.policy_digest.clone(),
        })
    }
}

/// A verdict that changed after the fact, as recorded (and sent to the webhook).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct VerdictChange {
    /// RFC 3339, UTC: when the change was noticed.
    pub time: String,
    pub sha256: String,
    pub project: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    pub filename: String,
    pub old_decision: Decision,
    pub new_decision: Decision,
    pub reason: String,
    /// `policy`, `feed`, `scanner` or `other`.
    pub trigger: String,
    pub policy_digest: String,
}

/// The looking-back state: last verdicts, their changes, and what the sweeps read.
#[async_trait]
pub(crate) trait LookbackStore: Send + Sync {
    /// Keep each note as the artifact's last verdict; a note whose decision differs from
    /// the last one kept is recorded as a change (returned). A first note is no change.
    async fn note_verdicts(&self, notes: Vec<VerdictNote>) -> Result<Vec<VerdictChange>, StoreError>;
    /// Every recorded change, oldest first.
    async fn verdict_changes(&self) -> Result<Vec<VerdictChange>, StoreError>;
    /// Every verified file with each of its origins (what the sweep re-decides).
    async fn verified_origins(&self) -> Result<Vec<(Verified, FileOrigin)>, StoreError>;
    /// sha256s scanned only by scanners other than `current` (what the rescan works through).
    async fn outdated_scans(&self, current: &str) -> Result<Vec<String>, StoreError>;
    /// The newest stored report for a sha256, by any scanner version.
    async fn latest_scan(&self, sha256: &str) -> Result<Option<ScanReport>, StoreError>;
}

/// Create the tables (idempotent), on every open.
pub(super) fn create_tables(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS verdicts (
            sha256 TEXT NOT NULL, filename TEXT NOT NULL, project TEXT NOT NULL, version TEXT,
            decision TEXT NOT NULL, reason TEXT NOT NULL, policy_digest TEXT NOT NULL,
            enrichment TEXT NOT NULL, scanner_version TEXT NOT NULL, time TEXT NOT NULL,
            PRIMARY KEY (sha256, filename));
         CREATE TABLE IF NOT EXISTS verdict_changes (
            id INTEGER PRIMARY KEY AUTOINCREMENT, time TEXT NOT NULL, sha256 TEXT NOT NULL,
            project TEXT NOT NULL, version TEXT, filename TEXT NOT NULL, old_decision TEXT NOT NULL,
            new_decision TEXT NOT NULL, reason TEXT NOT NULL, trigger TEXT NOT NULL, policy_digest TEXT NOT NULL);
         CREATE INDEX IF NOT EXISTS verdict_changes_sha256 ON verdict_changes(sha256);",
    )
}

pub(super) fn decision(text: &str) -> Decision {
    match text {
        "serve" => Decision::Serve,
        "annotate" => Decision::Annotate,
        // A value this build does not know is treated as the strictest.
        _ => Decision::Block,
    }
}

fn note_one(tx: &rusqlite::Transaction<'_>, n: &VerdictNote, now: &str) -> rusqlite::Result<Option<VerdictChange>> {
    let old = tx
        .query_row(
            "SELECT decision, policy_digest, enrichment, scanner_version FROM verdicts WHERE sha256=?1 AND filename=?2",
            params![n.sha256, n.filename],
            |r| {
                Ok((
                    decision(&r.get::<_, String>(0)?),
                    DecisionState { policy_digest: r.get(1)?, enrichment: r.get(2)?, scanner_version: r.get(3)? },
                ))
            },
        )
        .optional()?;
    if n.same_as(old.as_ref()) {
        return Ok(None);
    }
    tx.execute(
        "INSERT OR REPLACE INTO verdicts (sha256, filename, project, version, decision, reason, policy_digest,
            enrichment, scanner_version, time) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![
            n.sha256,
            n.filename,
            n.project,
            n.version,
            n.decision.as_str(),
            n.reason,
            n.state.policy_digest,
            n.state.enrichment,
            n.state.scanner_version,
            now
        ],
    )?;
    let Some(change) = n.change_since(old, now) else { return Ok(None) };
    tx.execute(
        "INSERT INTO verdict_changes (time, sha256, project, version, filename, old_decision, new_decision, reason,
            trigger, policy_digest) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![
            change.time,
            change.sha256,
            change.project,
            change.version,
            change.filename,
            change.old_decision.as_str(),
            change.new_decision.as_str(),
            change.reason,
            change.trigger,
            change.policy_digest
        ],
    )?;
    Ok(Some(change))
}

#[async_trait]
impl LookbackStore for SqliteStore {
    async fn note_verdicts(&self, notes: Vec<VerdictNote>) -> Result<Vec<VerdictChange>, StoreError> {
        if notes.is_empty() {
            return Ok(vec![]);
        }
        self.with("note verdicts", move |conn| {
            let now = crate::timefmt::now_rfc3339();
            let tx = conn.transaction()?;
            let mut changes = Vec::new();
            for n in &notes {
                changes.extend(note_one(&tx, n, &now)?);
            }
            tx.commit()?;
            Ok(changes)
        })
        .await
    }

    async fn verdict_changes(&self) -> Result<Vec<VerdictChange>, StoreError> {
        self.with("read verdict changes", |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT time, sha256, project, version, filename, old_decision, new_decision, reason, trigger,
                    policy_digest FROM verdict_changes ORDER BY id",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok(VerdictChange {
                    time: r.get(0)?,
                    sha256: r.get(1)?,
                    project: r.get(2)?,
                    version: r.get(3)?,
                    filename: r.get(4)?,
                    old_decision: decision(&r.get::<_, String>(5)?),
                    new_decision: decision(&r.get::<_, String>(6)?),
                    reason: r.get(7)?,
                    trigger: r.get(8)?,
                    policy_digest: r.get(9)?,
                })
            })?;
            rows.collect()
        })
        .await
    }
    async fn verified_origins(&self) -> Result<Vec<(Verified, FileOrigin)>, StoreError> {
        self.with("read verified origins", |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT o.key, o.filename, o.project, o.url, o.hashes, o.upload_time, o.size, o.core_metadata,
                    v.sha256, v.metadata_sha256 FROM origins o JOIN verified v ON v.key = o.key ORDER BY o.rowid",
            )?;
            let rows = stmt.query_map([], |r| {
                let origin = super::sqlite::origin_row(r)?;
                Ok((Verified { sha256: r.get(8)?, metadata_sha256: r.get(9)? }, origin))
            })?;
            rows.collect()
        })
        .await
    }

    async fn outdated_scans(&self, current: &str) -> Result<Vec<String>, StoreError> {
        let current = current.to_string();
        self.with("read outdated scans", move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT DISTINCT sha256 FROM scans WHERE scanner_version != ?1
                 AND sha256 NOT IN (SELECT sha256 FROM scans WHERE scanner_version = ?1) ORDER BY sha256",
            )?;
            let rows = stmt.query_map([current], |r| r.get(0))?;
            rows.collect()
        })
        .await
    }

    async fn latest_scan(&self, sha256: &str) -> Result<Option<ScanReport>, StoreError> {
        let sha256 = sha256.to_string();
        let json: Option<String> = self
            .with("read latest scan", move |conn| {
                conn.query_row(
                    "SELECT report FROM scans WHERE sha256=?1 ORDER BY created DESC, rowid DESC LIMIT 1",
                    [sha256],
                    |r| r.get(0),
                )
                .optional()
            })
            .await?;
        Ok(json.and_then(|j| serde_json::from_str(&j).ok()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn note(sha: &str, decision: Decision, digest: &str, enrichment: &str, scanner: &str) -> VerdictNote {
        VerdictNote {
            sha256: sha.into(),
            project: "demo".into(),
            version: Some("1.0".into()),
            filename: "demo-1.0-py3-none-any.whl".into(),
            decision,
            reason: format!("{} by test", decision.as_str()),
            state: DecisionState {
                policy_digest: digest.into(),
                enrichment: enrichment.into(),
                scanner_version: scanner.into(),
            },
        }
    }

    /// What both backends write for a note, by the last verdict kept: nothing, the row only,
    /// or the row and a change (with its trigger).
    #[test]
    fn a_note_against_the_last_verdict() {
        let now = "2026-11-30T00:00:00Z";
        let last = |d: Decision, digest: &str| Some((d, note("x", d, digest, "", "9").state));
        // (case, note, last verdict kept, nothing to write, trigger of the change recorded)
        type Case = (&'static str, VerdictNote, Option<LastVerdict>, bool, Option<&'static str>);
        let cases: [Case; 5] = [
            ("first note", note("x", Decision::Block, "p1", "", "9"), None, false, None),
            ("same verdict", note("x", Decision::Serve, "p1", "", "9"), last(Decision::Serve, "p1"), true, None),
            (
                "new state, same decision",
                note("x", Decision::Serve, "p2", "", "9"),
                last(Decision::Serve, "p1"),
                false,
                None,
            ),
            (
                "policy flips it",
                note("x", Decision::Block, "p2", "", "9"),
                last(Decision::Serve, "p1"),
                false,
                Some("policy"),
            ),
            (
                "time flips it",
                note("x", Decision::Serve, "p1", "", "9"),
                last(Decision::Block, "p1"),
                false,
                Some("other"),
            ),
        ];
        for (name, n, old, same, trigger) in cases {
            assert_eq!(n.same_as(old.as_ref()), same, "{name}");
            let change = n.change_since(old.clone(), now);
            assert_eq!(change.as_ref().map(|c| c.trigger.as_str()), trigger, "{name}");
            if let (Some(c), Some((d, _))) = (change, old) {
                assert_eq!((c.old_decision, c.new_decision, c.time.as_str()), (d, n.decision, now), "{name}");
            }
        }
    }

    /// Each case: the notes given in order, and the (old → new, trigger) changes recorded.
    #[tokio::test]
    async fn changes_are_recorded_with_their_trigger() {
        use Decision::*;
        type Case = (&'static str, Vec<VerdictNote>, Vec<(Decision, Decision, &'static str)>);
        let cases: Vec<Case> = vec![
            ("a first verdict is no change", vec![note("a", Block, "p1", "", "s1")], vec![]),
            (
                "same decision under a new policy: no change",
                vec![note("a", Serve, "p1", "", "s1"), note("a", Serve, "p2", "", "s1")],
                vec![],
            ),
            (
                "a policy reload blocks it",
                vec![note("a", Serve, "p1", "", "s1"), note("a", Block, "p2", "", "s1")],
                vec![(Serve, Block, "policy")],
            ),
            (
                "a feed update blocks it, then a policy clears it",
                vec![
                    note("a", Serve, "p1", "osv@1", "s1"),
                    note("a", Block, "p1", "osv@2", "s1"),
                    note("a", Block, "p1", "osv@2", "s1"),
                    note("a", Serve, "p2", "osv@2", "s1"),
                ],
                vec![(Serve, Block, "feed"), (Block, Serve, "policy")],
            ),
            (
                "a rescan by a newer scanner annotates it",
                vec![note("a", Serve, "p1", "", "s1"), note("a", Annotate, "p1", "", "s2")],
                vec![(Serve, Annotate, "scanner")],
            ),
            (
                "another artifact is independent",
                vec![note("a", Serve, "p1", "", "s1"), note("b", Block, "p2", "", "s1")],
                vec![],
            ),
        ];
        for (case, notes, want) in cases {
            let dir = tempfile::tempdir().unwrap();
            let s = SqliteStore::open(&dir.path().join("s.sqlite3")).unwrap();
            let mut returned = vec![];
            for n in notes {
                returned.extend(s.note_verdicts(vec![n]).await.unwrap());
            }
            let kept = s.verdict_changes().await.unwrap();
            assert_eq!(returned, kept, "{case}: what is returned is what is kept");
            let got: Vec<_> =
                kept.iter().map(|c| (c.old_decision, c.new_decision, c.trigger.as_str())).collect::<Vec<_>>();
            assert_eq!(got, want, "{case}");
            for c in &kept {
                assert_eq!((c.project.as_str(), c.version.as_deref()), ("demo", Some("1.0")), "{case}");
                assert!(c.reason.contains(c.new_decision.as_str()), "{case}: {c:?}");
            }
        }
    }

    #[tokio::test]
    async fn outdated_scans_are_those_without_a_current_report() {
        let dir = tempfile::tempdir().unwrap();
        let s = SqliteStore::open(&dir.path().join("s.sqlite3")).unwrap();
        let report = |v: &str| ScanReport {
            schema_version: 1,
            scanner_version: v.into(),
            filename: "demo-1.0-py3-none-any.whl".into(),
            kind: crate::model::ArtifactKind::Wheel,
            project: Some("demo".into()),
            version: Some("1.0".into()),
            findings: vec![],
            stats: Default::default(),
            licence: Default::default(),
        };
        use super::super::ScanStore;
        s.put_scan("old-only", "1", &report("1")).await.unwrap();
        s.put_scan("both", "1", &report("1")).await.unwrap();
        s.put_scan("both", "2", &report("2")).await.unwrap();
        s.put_scan("new-only", "2", &report("2")).await.unwrap();
        assert_eq!(s.outdated_scans("2").await.unwrap(), vec!["old-only".to_string()]);
        assert_eq!(s.latest_scan("old-only").await.unwrap().map(|r| r.scanner_version), Some("1".into()));
        assert_eq!(s.latest_scan("both").await.unwrap().map(|r| r.scanner_version), Some("2".into()));
        assert!(s.latest_scan("missing").await.unwrap().is_none());
    }
}
