//! The gate: the one function every verified artifact passes before a byte is served.
//!
//! Owns: scan-once-by-sha256 (reports cached in the store with the scanner version),
//! handing facts and findings to the current policy, and failing closed when scanning
//! itself fails. Synchronous and pure apart from the scan cache: callers run it in
//! `spawn_blocking`.
//! Must not: do network I/O or build HTTP responses.

use crate::model::{ArtifactFacts, Verdict};
use crate::policy::Policy;
use crate::scan::{scanner_version, ScanReport, Scanner};
use crate::store::Store;
use arc_swap::ArcSwap;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// A verdict with the report it was made from.
#[derive(Debug, Clone)]
pub struct Decided {
    pub verdict: Verdict,
    pub report: Arc<ScanReport>,
}

pub struct Gate {
    scanner: Scanner,
    policy: Arc<ArcSwap<Policy>>,
    store: Arc<dyn Store>,
    /// Recent reports by sha256, so range requests and re-downloads skip the store.
    reports: Mutex<HashMap<String, Arc<ScanReport>>>,
    /// Benchmark baseline only (`--dangerous-skip-scan`): decide on an empty report.
    pub dangerous_skip_scan: bool,
}

impl Gate {
    pub fn new(scanner: Scanner, policy: Arc<ArcSwap<Policy>>, store: Arc<dyn Store>) -> Self {
        Gate { scanner, policy, store, reports: Mutex::new(HashMap::new()), dangerous_skip_scan: false }
    }

    pub fn policy(&self) -> Arc<Policy> {
        self.policy.load_full()
    }

    /// Scan (once per sha256 and scanner version) and let the current policy decide.
    pub fn decide(&self, facts: &ArtifactFacts) -> Decided {
        let now = time::OffsetDateTime::now_utc();
        let policy = self.policy.load_full();
        match self.report(facts) {
            Ok(report) => Decided { verdict: policy.evaluate(facts, &report.findings, now), report },
            Err(why) => {
                tracing::error!(filename = %facts.filename, sha256 = %facts.sha256, error = %why, "scanner crashed");
                let verdict = policy.evaluate_failure(facts, "scan-crash", now);
                Decided { verdict, report: Arc::new(empty_report(facts)) }
            }
        }
    }

    /// The verdict for an artifact that was already scanned (memory or store), without scanning.
    /// Index pages use it to hide, yank or annotate versions pipgate has seen.
    pub fn decide_cached(&self, facts: &ArtifactFacts) -> Option<Decided> {
        let cached = self.reports.lock().unwrap_or_else(|p| p.into_inner()).get(&facts.sha256).cloned();
        let report = match cached {
            Some(r) => r,
            None => {
                let json = self.store.scan(&facts.sha256, scanner_version()).ok().flatten()?;
                Arc::new(serde_json::from_str::<ScanReport>(&json).ok()?)
            }
        };
        let verdict = self.policy.load().evaluate(facts, &report.findings, time::OffsetDateTime::now_utc());
        Some(Decided { verdict, report })
    }

    /// The scan report for an artifact, from memory, the store, or a fresh scan.
    pub fn report(&self, facts: &ArtifactFacts) -> Result<Arc<ScanReport>, String> {
        if self.dangerous_skip_scan {
            return Ok(Arc::new(empty_report(facts)));
        }
        if let Some(r) = self.reports.lock().unwrap_or_else(|p| p.into_inner()).get(&facts.sha256) {
            return Ok(r.clone());
        }
        let cached = self.store.scan(&facts.sha256, scanner_version()).ok().flatten();
        let report = match cached.and_then(|json| serde_json::from_str::<ScanReport>(&json).ok()) {
            Some(r) => r,
            None => {
                let scanned = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    self.scanner.scan_file(&facts.path, &facts.filename)
                }))
                .map_err(|p| {
                    p.downcast_ref::<String>()
                        .cloned()
                        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                        .unwrap_or_else(|| "scanner panicked".into())
                })?;
                if let Ok(json) = serde_json::to_string(&scanned) {
                    if let Err(e) = self.store.put_scan(&facts.sha256, scanner_version(), &json) {
                        tracing::warn!(sha256 = %facts.sha256, error = %e, "could not cache scan report");
                    }
                }
                scanned
            }
        };
        let report = Arc::new(report);
        let mut memo = self.reports.lock().unwrap_or_else(|p| p.into_inner());
        if memo.len() > 4096 {
            memo.clear();
        }
        memo.insert(facts.sha256.clone(), report.clone());
        Ok(report)
    }
}

/// A report with no findings, for a crashed scan (the verdict fails closed) or the
/// benchmark's `--dangerous-skip-scan` baseline.
fn empty_report(facts: &ArtifactFacts) -> ScanReport {
    ScanReport {
        schema_version: 1,
        scanner_version: scanner_version().to_string(),
        filename: facts.filename.clone(),
        kind: facts.kind,
        project: Some(facts.project.clone()),
        version: facts.version.clone(),
        findings: vec![],
        stats: Default::default(),
    }
}
