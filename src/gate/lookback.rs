//! Looking back, the deciding part: re-decide every cached artifact from what is stored
//! (no download, no scan) and note each verdict, so a verdict that changes after the fact
//! is recorded once, whichever sees it first: the sweep ([`Gate::sweep`], run when the
//! policy, a feed or the scanner changes) or a request ([`Gate::decide`] notes too).
//!
//! Owns: what a re-decision weighs (the release gate, else the stored findings of the
//! current scanner's report — or the newest older one until the background rescan
//! replaces it — plus the current enrichment, under the current policy), the state a
//! verdict is made under ([`DecisionState`]), and publishing recorded changes to
//! subscribers. Must not: log or notify changes (`lookback` does), scan (a rescan is a
//! plain [`Gate::decide`]), or do network I/O.

use super::{Decided, Gate};
use crate::model::{ArtifactFacts, Decision};
use crate::policy::Policy;
use crate::scan::ScanReport;
use crate::store::{DecisionState, StoreError, VerdictChange, VerdictNote};
use std::sync::Arc;

/// What one sweep saw.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Sweep {
    /// Cached files re-decided.
    pub decided: usize,
    /// Verified files with no stored report at all (decided when next requested).
    pub unscanned: usize,
    /// Verdicts that changed.
    pub changes: Vec<VerdictChange>,
}

/// A verdict as one line: what was found (for the findings that decided, at most three),
/// then each reason with its code, as a change record, the log and the webhook show it.
pub(crate) fn reason_line(d: &Decided) -> String {
    let v = &d.verdict;
    let deciding: Vec<&String> = v.reasons.iter().flat_map(|r| r.findings.iter()).collect();
    let mut parts: Vec<String> = d
        .findings
        .iter()
        .filter(|f| deciding.contains(&&f.detector))
        .take(3)
        .map(|f| format!("{}: {}", f.detector, f.message.trim_end_matches('.')))
        .collect();
    parts.extend(v.reasons.iter().map(|r| format!("{} [{}]", r.message.trim_end_matches('.'), r.code)));
    if parts.is_empty() {
        return v.decision.as_str().to_string();
    }
    parts.join("; ")
}

impl Gate {
    /// The state verdicts are made under now, for a report by `scanner_version`.
    pub(crate) fn decision_state(&self, policy: &Policy, scanner_version: &str) -> DecisionState {
        DecisionState {
            policy_digest: policy.digest.clone(),
            enrichment: self.enrich.revision(),
            scanner_version: scanner_version.to_string(),
        }
    }

    /// What, when it changes, calls for a sweep: the policy in force and the feeds' data.
    pub(crate) fn intelligence_revision(&self) -> String {
        format!("{}\n{}", self.policy.load().digest, self.enrich.revision())
    }

    /// Recorded verdict changes, as they are recorded (by a sweep or a request).
    pub(crate) fn subscribe_changes(&self) -> tokio::sync::broadcast::Receiver<VerdictChange> {
        self.changes.subscribe()
    }

    /// Re-decide a cached artifact from what is stored, without downloading or scanning:
    /// the release gate (deny list, cooldown), else the stored findings — the current
    /// scanner's report, else the newest older one — with the current enrichment under the
    /// current policy. Returns the verdict and the scanner version of the report weighed
    /// (empty for a release hold); `None` when nothing was ever scanned for it.
    pub(crate) async fn redecide(&self, facts: &ArtifactFacts) -> Option<(Decided, String)> {
        let now = time::OffsetDateTime::now_utc();
        let policy = self.policy.load_full();
        if let Some(version) = facts.version.as_deref() {
            if let Some(v) = policy.release_gate(&facts.project, version, facts.upload_time.as_deref(), now) {
                if v.decision == Decision::Block {
                    return Some((Decided { verdict: v, findings: Arc::new(vec![]) }, String::new()));
                }
            }
        }
        let report: Arc<ScanReport> = match self.cached_report(&facts.sha256).await {
            Some(r) => r,
            None => Arc::new(self.lookback.as_ref()?.latest_scan(&facts.sha256).await.ok()??),
        };
        let decided = self.weigh(&policy, facts, &report, now);
        Some((decided, report.scanner_version.clone()))
    }

    /// Re-decide every cached artifact (each listing of its bytes) and note the verdicts;
    /// the changes are recorded and published.
    pub(crate) async fn sweep(&self) -> Result<Sweep, StoreError> {
        let Some(store) = self.lookback.clone() else { return Ok(Sweep::default()) };
        let policy = self.policy.load_full();
        let mut sweep = Sweep::default();
        let mut notes = Vec::new();
        for (v, origin) in store.verified_origins().await? {
            let facts = ArtifactFacts::describe(
                &origin.project,
                &origin.filename,
                v.sha256.as_str(),
                origin.upload_time.clone(),
                0,
                Default::default(),
            );
            match self.redecide(&facts).await {
                Some((d, scanner)) => {
                    sweep.decided += 1;
                    notes.push(self.note_of(&policy, &facts, &d, &scanner));
                }
                None => sweep.unscanned += 1,
            }
        }
        sweep.changes = self.record(notes).await?;
        Ok(sweep)
    }

    /// Note the verdict a request was given (skipped while it equals the last one noted).
    pub(super) async fn note_request(&self, policy: &Policy, facts: &ArtifactFacts, d: &Decided, scanner: &str) {
        if self.lookback.is_none() {
            return;
        }
        let note = self.note_of(policy, facts, d, scanner);
        if self.noted.get(&memo_key(&note)).is_some_and(|(dec, state)| dec == note.decision && state == note.state) {
            return;
        }
        if let Err(e) = self.record(vec![note]).await {
            tracing::warn!(sha256 = %facts.sha256, error = %e, "could not note the verdict");
        }
    }

    fn note_of(&self, policy: &Policy, facts: &ArtifactFacts, d: &Decided, scanner: &str) -> VerdictNote {
        VerdictNote {
            sha256: facts.sha256.clone(),
            project: facts.project.clone(),
            version: facts.version.clone(),
            filename: facts.filename.clone(),
            decision: d.verdict.decision,
            reason: reason_line(d),
            state: self.decision_state(policy, scanner),
        }
    }

    /// Keep the notes, remember them, and publish the changes.
    async fn record(&self, notes: Vec<VerdictNote>) -> Result<Vec<VerdictChange>, StoreError> {
        let Some(store) = &self.lookback else { return Ok(vec![]) };
        let memo: Vec<_> = notes.iter().map(|n| (memo_key(n), (n.decision, n.state.clone()))).collect();
        let changes = store.note_verdicts(notes).await?;
        for (k, v) in memo {
            self.noted.insert(k, v);
        }
        for c in &changes {
            // No subscriber (a one-shot command): nobody to tell; the record is kept.
            let _ = self.changes.send(c.clone());
        }
        Ok(changes)
    }
}

fn memo_key(n: &VerdictNote) -> String {
    format!("{}\n{}", n.sha256, n.filename)
}
