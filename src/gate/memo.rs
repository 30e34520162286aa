//! The verdict memo: the last verdict on a file served again, kept by the gate and reused
//! while nothing it was made from changed.
//!
//! Owns: what a memo entry was decided under (the file's facts, the policy in force, the
//! feeds' revision, the scan report, the project's page history and look-alike hold, the
//! comparisons with the previous release and the established baseline) and the earliest instant its verdict could change
//! by the clock alone (a cooldown ending, an acceptance expiring, a project's age in days
//! moving on). An entry is used only while all of these are unchanged and that instant has
//! not come; anything else is a fresh evaluation, whose verdict replaces the entry.
//! Must not: decide (it only hands back a verdict the gate made), outlive the gate's inputs
//! (it holds the policy weakly, so a reload is a different policy even with equal text), or
//! be consulted for a first request (a file not yet served takes the full path).

use super::name::ProjectHistory;
use super::Decided;
use crate::model::ArtifactFacts;
use crate::policy::Policy;
use crate::scan::ScanReport;
use std::sync::{Arc, Weak};
use time::OffsetDateTime;

/// Verdicts remembered (one per sha256; bounded like the reports they were made from).
pub(super) const MEMO_VERDICTS: u64 = 4096;

/// What a verdict was made from: equal inputs (and a clock before `until`) give the same
/// verdict, because the policy's evaluation and the name verdict are pure.
pub(super) struct Inputs<'a> {
    pub facts: &'a ArtifactFacts,
    pub policy: &'a Arc<Policy>,
    pub report: &'a Arc<ScanReport>,
    pub history: Option<&'a Arc<ProjectHistory>>,
    /// The gate's look-alike hold count ([`super::Gate`]'s `holds_epoch`) and whether this
    /// project has one.
    pub holds: (u64, bool),
    /// Whether a comparison with the previous release is remembered for the file.
    pub diff: bool,
    /// Whether a comparison with the established baseline is remembered for the file.
    pub baseline: bool,
}

/// A verdict and what it was made from.
pub(super) struct Entry {
    project: String,
    filename: String,
    upload_time: Option<String>,
    policy: Weak<Policy>,
    /// The feeds' revision ([`super::enrich::Enricher::revision`]).
    enrichment: String,
    report: Weak<ScanReport>,
    history: Option<Weak<ProjectHistory>>,
    holds: (u64, bool),
    diff: bool,
    baseline: bool,
    /// The verdict may change by the clock from this instant on (`None`: never by the clock).
    until: Option<OffsetDateTime>,
    pub decided: Decided,
}

impl Entry {
    pub(super) fn new(i: &Inputs<'_>, enrichment: String, now: OffsetDateTime, decided: Decided) -> Entry {
        let until = earliest(i.policy.next_change(i.facts, now), i.history.and_then(|h| h.next_change(now)));
        Entry {
            project: i.facts.project.clone(),
            filename: i.facts.filename.clone(),
            upload_time: i.facts.upload_time.clone(),
            policy: Arc::downgrade(i.policy),
            enrichment,
            report: Arc::downgrade(i.report),
            history: i.history.map(Arc::downgrade),
            holds: i.holds,
            diff: i.diff,
            baseline: i.baseline,
            until,
            decided,
        }
    }

    /// Whether this entry's verdict is the one a fresh evaluation would give now.
    /// `enrichment_is` compares the feeds' current revision with the one recorded.
    pub(super) fn holds_for(&self, i: &Inputs<'_>, now: OffsetDateTime, enrichment_is: impl Fn(&str) -> bool) -> bool {
        self.until.is_none_or(|t| now < t)
            && self.filename == i.facts.filename
            && self.project == i.facts.project
            && self.upload_time == i.facts.upload_time
            && std::ptr::eq(self.policy.as_ptr(), Arc::as_ptr(i.policy))
            && std::ptr::eq(self.report.as_ptr(), Arc::as_ptr(i.report))
            && match (&self.history, i.history) {
                (None, None) => true,
                (Some(a), Some(b)) => std::ptr::eq(a.as_ptr(), Arc::as_ptr(b)),
                _ => false,
            }
            && self.holds == i.holds
            && self.diff == i.diff
            && self.baseline == i.baseline
            && enrichment_is(&self.enrichment)
    }
}

/// The earlier of two optional instants.
fn earliest(a: Option<OffsetDateTime>, b: Option<OffsetDateTime>) -> Option<OffsetDateTime> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}
