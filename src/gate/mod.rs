//! The gate: the one decision point. Every verdict pipgate acts on is made here.
//!
//! Owns: the release hold (deny list and cooldown, decided from the page alone, before a
//! byte is downloaded), what a project page lists (hidden, yanked or annotated versions),
//! the verdict on a verified artifact (scan once per sha256 and scanner version, merge the
//! enrichment findings, let the current policy decide, fail closed when scanning fails),
//! and the report lookup (a typed [`ScanReport`]).
//!
//! Phases of an artifact verdict: scan (pure, sync, cached per sha256 in the [`ScanStore`])
//! → enrichment ([`enrich`], data that changes over time, cached apart from scans) → policy.
//! Must not: do network I/O, build HTTP responses, or write the audit log.

pub(crate) mod enrich;
mod listing;

use crate::model::{ArtifactFacts, Decision, FileOrigin, Finding, Verdict};
use crate::policy::Policy;
use crate::scan::{scanner_version, ScanReport, Scanner, REPORT_SCHEMA_VERSION};
use crate::store::{OriginStore, ScanStore};
use arc_swap::ArcSwap;
use enrich::Enricher;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Reports kept in memory, so range requests and re-downloads skip the store (bounded).
const MEMO_REPORTS: u64 = 4096;

/// A verdict with what it was made from.
#[derive(Debug, Clone)]
pub(crate) struct Decided {
    pub verdict: Verdict,
    /// The scan's findings plus the enrichment's: everything the policy weighed.
    pub findings: Arc<Vec<Finding>>,
}

pub(crate) struct Gate {
    scanner: Arc<Scanner>,
    policy: Arc<ArcSwap<Policy>>,
    scans: Arc<dyn ScanStore>,
    origins: Arc<dyn OriginStore>,
    enrich: Enricher,
    memo: moka::sync::Cache<String, Arc<ScanReport>>,
    scans_run: AtomicU64,
    dangerous_skip_scan: bool,
}

/// The parts a gate is built from.
pub(crate) struct GateParts {
    pub scanner: Scanner,
    pub policy: Arc<ArcSwap<Policy>>,
    pub scans: Arc<dyn ScanStore>,
    pub origins: Arc<dyn OriginStore>,
    pub enrich: Enricher,
    /// Benchmark baseline only (`--dangerous-skip-scan`): decide on an empty report.
    pub dangerous_skip_scan: bool,
}

impl Gate {
    pub(crate) fn new(p: GateParts) -> Self {
        Gate {
            scanner: Arc::new(p.scanner),
            policy: p.policy,
            scans: p.scans,
            origins: p.origins,
            enrich: p.enrich,
            memo: moka::sync::Cache::new(MEMO_REPORTS),
            scans_run: AtomicU64::new(0),
            dangerous_skip_scan: p.dangerous_skip_scan,
        }
    }

    /// Scans actually run by this gate (not answered from a cache).
    #[cfg(test)]
    pub(crate) fn scans_run(&self) -> u64 {
        self.scans_run.load(Ordering::Relaxed)
    }

    /// The policy's digest, for records of requests that failed before a decision.
    pub(crate) fn policy_digest(&self) -> String {
        self.policy.load().digest.clone()
    }

    /// Deny lists and cooldown need no download: a block verdict to answer before fetching
    /// a byte, or `None` when the file may be fetched (and is then scanned).
    pub(crate) fn release_hold(&self, origin: &FileOrigin) -> Option<Verdict> {
        let version = crate::model::parse_dist_filename(&origin.filename)?.version;
        let now = time::OffsetDateTime::now_utc();
        let verdict = self.policy.load().release_gate(&origin.project, &version, origin.upload_time.as_deref(), now)?;
        (verdict.decision == Decision::Block).then_some(verdict)
    }

    /// Scan (once per sha256 and scanner version), enrich, and let the current policy decide.
    /// A scanner crash fails closed (unless the policy dangerously fails open).
    pub(crate) async fn decide(&self, facts: &ArtifactFacts) -> Decided {
        let now = time::OffsetDateTime::now_utc();
        let policy = self.policy.load_full();
        match self.report(facts).await {
            Ok(report) => self.weigh(&policy, facts, &report, now),
            Err(why) => {
                tracing::error!(filename = %facts.filename, sha256 = %facts.sha256, error = %why, "scanner crashed");
                let verdict = policy.evaluate_failure(facts, "scan-crash", now);
                Decided { verdict, findings: Arc::new(vec![]) }
            }
        }
    }

    /// The verdict for an artifact already scanned (memory or store), without scanning.
    /// Index pages use it to hide, yank or annotate versions pipgate has seen.
    pub(crate) async fn decide_cached(&self, facts: &ArtifactFacts) -> Option<Decided> {
        let report = self.cached_report(&facts.sha256).await?;
        let policy = self.policy.load_full();
        Some(self.weigh(&policy, facts, &report, time::OffsetDateTime::now_utc()))
    }

    /// Scan findings + enrichment findings → the policy's verdict.
    fn weigh(&self, policy: &Policy, facts: &ArtifactFacts, report: &ScanReport, now: time::OffsetDateTime) -> Decided {
        let extra = self.enrich.findings(facts);
        let findings: Arc<Vec<Finding>> = if extra.is_empty() {
            Arc::new(report.findings.clone())
        } else {
            Arc::new(report.findings.iter().chain(extra.iter()).cloned().collect())
        };
        Decided { verdict: policy.evaluate(facts, &findings, now), findings }
    }

    /// The stored scan report for a sha256, if pipgate has scanned it with this scanner.
    pub(crate) async fn cached_report(&self, sha256: &str) -> Option<Arc<ScanReport>> {
        if let Some(r) = self.memo.get(sha256) {
            return Some(r);
        }
        let stored = match self.scans.scan(sha256, scanner_version()).await {
            Ok(r) => r?,
            Err(e) => {
                tracing::warn!(sha256, error = %e, "could not read the scan cache");
                return None;
            }
        };
        let report = Arc::new(stored);
        self.memo.insert(sha256.to_string(), report.clone());
        Some(report)
    }

    /// The scan report for an artifact, from memory, the store, or a fresh scan. The scan
    /// itself runs on the blocking pool; a panic in a detector is an error, not a crash.
    pub(crate) async fn report(&self, facts: &ArtifactFacts) -> Result<Arc<ScanReport>, String> {
        if self.dangerous_skip_scan {
            return Ok(Arc::new(empty_report(facts)));
        }
        if let Some(r) = self.cached_report(&facts.sha256).await {
            return Ok(r);
        }
        self.scans_run.fetch_add(1, Ordering::Relaxed);
        let (scanner, path, filename) = (self.scanner.clone(), facts.path.clone(), facts.filename.clone());
        let scanned = tokio::task::spawn_blocking(move || {
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| scanner.scan_file(&path, &filename)))
        })
        .await
        .map_err(|e| e.to_string())?
        .map_err(|p| {
            p.downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(std::string::ToString::to_string))
                .unwrap_or_else(|| "scanner panicked".into())
        })?;
        if let Err(e) = self.scans.put_scan(&facts.sha256, scanner_version(), &scanned).await {
            tracing::warn!(sha256 = %facts.sha256, error = %e, "could not cache scan report");
        }
        let report = Arc::new(scanned);
        self.memo.insert(facts.sha256.clone(), report.clone());
        Ok(report)
    }
}

/// A report with no findings, for a crashed scan (the verdict fails closed) or the
/// benchmark's `--dangerous-skip-scan` baseline.
fn empty_report(facts: &ArtifactFacts) -> ScanReport {
    ScanReport {
        schema_version: REPORT_SCHEMA_VERSION,
        scanner_version: scanner_version().to_string(),
        filename: facts.filename.clone(),
        kind: facts.kind,
        project: Some(facts.project.clone()),
        version: facts.version.clone(),
        findings: vec![],
        stats: Default::default(),
    }
}

#[cfg(test)]
mod tests;
