//! The inline scanner: reads a wheel or sdist's bytes (never extracting to disk)
//! and says what the package can do, as [`Finding`]s with evidence.
//!
//! Owns: archive walking with limits (`archive`; zip members inflated through one reused
//! state, `inflate`), file-role classification
//! (`roles`), the one-pass prefilter and detector dispatch (`engine`), grouping
//! hits into findings (`findings`), the engine's own findings (`anomaly`), text
//! scanning on worker threads for large artifacts (`parallel`), pickle streams in members and what
//! loading them would call (`pickle`), the report
//! formats (`report`), how common each behaviour is among popular projects (`prevalence`, from the
//! shipped baseline), licences read from metadata and licence files (`licence`), the members install-time code runs
//! (`reach`, judged again as install-time code), the lexed view of a member shared by its detectors
//! (`source`) and the derived scanner version (`version`).
//! Must not: touch the network, read the policy, or decide serve/block — it
//! describes; the `policy` module decides.

pub(crate) mod anomaly;
pub(crate) mod archive;
pub(crate) mod carrier;
pub(crate) mod detector;
pub(crate) mod detectors;
pub(crate) mod engine;
pub(crate) mod findings;
mod inflate;
pub(crate) mod licence;
pub(crate) mod parallel;
pub(crate) mod pickle;
pub(crate) mod prevalence;
pub(crate) mod reach;
pub(crate) mod report;
pub(crate) mod roles;
pub(crate) mod source;
pub(crate) mod version;
pub(crate) mod warm;

#[cfg(test)]
pub(crate) use report::render_json;
pub use version::scanner_version;
pub(crate) use version::ENGINE_REVISION;

use crate::model::{ArtifactKind, Finding, Licence};
use detector::Detector;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Version of the serialised [`ScanReport`] (see `docs/scan-report.md`).
/// (The `licence` section was added without a bump: it is additive, absent reads as unknown.)
pub(crate) const REPORT_SCHEMA_VERSION: u32 = 1;

/// Resource limits for one artifact. Exceeding one is a finding, never a crash.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Limits {
    /// Uncompressed bytes read from all members together; the rest is not scanned.
    pub max_total_bytes: u64,
    /// Uncompressed bytes held in memory for one member (a nested archive; also the
    /// largest buffer held per nesting level). Binary members are streamed, not held:
    /// only the total limit bounds them.
    pub max_member_bytes: u64,
    /// Uncompressed bytes of one text member that are scanned (at most `max_member_bytes`).
    #[serde(default = "default_max_text_bytes")]
    pub max_text_bytes: u64,
    /// File members visited; the rest is not scanned.
    pub max_members: u64,
    /// Inflated/compressed size ratio beyond which a member (zip) or stream (tar)
    /// is a bomb; checked while inflating, once more than 1 MiB came out.
    pub max_ratio: u64,
    /// How deep archives inside archives are opened (1: members of the artifact's members).
    pub max_nesting: u32,
    /// Wall-clock seconds one scan may take; members reached after that are not scanned
    /// (the scan is incomplete, so the policy fails closed, and the gate does not keep the
    /// report: a later request scans again, e.g. once the machine is less busy).
    #[serde(default = "default_max_scan_seconds")]
    pub max_scan_seconds: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_total_bytes: 2 << 30,
            max_member_bytes: 64 << 20,
            max_text_bytes: default_max_text_bytes(),
            max_members: 100_000,
            max_ratio: 200,
            max_nesting: 1,
            max_scan_seconds: default_max_scan_seconds(),
        }
    }
}

fn default_max_text_bytes() -> u64 {
    32 << 20
}

/// Five minutes: a 2 GiB artifact (`max_total_bytes`) scans in well under a minute on one
/// busy core; only a hostile or pathological artifact comes near this.
fn default_max_scan_seconds() -> u64 {
    300
}

/// Counters for one scan.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct ScanStats {
    /// File members read (directories and links excluded; nested members included).
    pub members: u64,
    /// Uncompressed bytes read and scanned.
    pub uncompressed_bytes: u64,
    /// Members decoded as text and offered to the detectors.
    #[serde(default)]
    pub text_members: u64,
    /// Members treated as binary (not offered to text detectors).
    #[serde(default)]
    pub binary_members: u64,
    /// Members cut short by a limit or a read error (see the anomaly findings).
    #[serde(default)]
    pub truncated_members: u64,
    /// The walk stopped at `max_scan_seconds`: the report depends on how busy the machine
    /// was, so it is not cached (see `Gate::report`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub timed_out: bool,
}

/// The scanner's full answer for one artifact.
///
/// Serialised with two derived fields (see `docs/scan-report.md`): `complete` and
/// `incomplete_reason`, from [`ScanReport::incomplete_reason`]. They are derived from
/// the findings, so a report cached before they existed reads the same.
#[derive(Debug, Clone, Deserialize)]
pub struct ScanReport {
    pub schema_version: u32,
    pub scanner_version: String,
    pub filename: String,
    pub kind: ArtifactKind,
    pub project: Option<String>,
    pub version: Option<String>,
    pub findings: Vec<Finding>,
    pub stats: ScanStats,
    /// The licence read from the metadata and licence files, with every source.
    #[serde(default)]
    pub licence: Licence,
}

/// Engine findings that mean part of the artifact was not scanned: a limit stopped a
/// member or the walk, a bomb was stopped, data sits past a tar's end, or a member is
/// encrypted. A report with any of them is incomplete, and the policy fails closed on it
/// unless a rule or acceptance names the finding (`docs/policy.md`).
pub(crate) const INCOMPLETE_FINDINGS: &[&str] =
    &[anomaly::LIMIT.id, anomaly::BOMB.id, anomaly::TRAILING_DATA.id, anomaly::ENCRYPTED.id];

/// Whether this finding id means the scan did not see every byte of every member.
pub(crate) fn marks_incomplete(detector: &str) -> bool {
    INCOMPLETE_FINDINGS.contains(&detector)
}

/// Why a scan with these findings is incomplete (each limit hit, where, with its numbers),
/// or `None` when every byte of every member was scanned.
pub(crate) fn incomplete_reason<'a>(findings: impl IntoIterator<Item = &'a Finding>) -> Option<String> {
    let parts: Vec<String> = findings
        .into_iter()
        .filter(|f| marks_incomplete(&f.detector))
        .flat_map(|f| {
            f.evidence.iter().map(move |e| match &e.snippet {
                Some(detail) => format!("{} at {}: {detail}", f.detector, e.path),
                None => format!("{} at {}", f.detector, e.path),
            })
        })
        .collect();
    (!parts.is_empty()).then(|| parts.join("; "))
}

impl ScanReport {
    /// True when every byte of every member was scanned (no limit, bomb, trailing data
    /// or encrypted member stopped the scanner).
    pub fn complete(&self) -> bool {
        !self.findings.iter().any(|f| marks_incomplete(&f.detector))
    }

    /// See [`incomplete_reason`].
    pub fn incomplete_reason(&self) -> Option<String> {
        incomplete_reason(&self.findings)
    }
}

impl Serialize for ScanReport {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Json<'a> {
            schema_version: u32,
            scanner_version: &'a str,
            filename: &'a str,
            kind: ArtifactKind,
            project: &'a Option<String>,
            version: &'a Option<String>,
            complete: bool,
            incomplete_reason: Option<String>,
            licence: &'a Licence,
            findings: &'a [Finding],
            stats: &'a ScanStats,
        }
        Json {
            schema_version: self.schema_version,
            scanner_version: &self.scanner_version,
            filename: &self.filename,
            kind: self.kind,
            project: &self.project,
            version: &self.version,
            complete: self.complete(),
            incomplete_reason: self.incomplete_reason(),
            licence: &self.licence,
            findings: &self.findings,
            stats: &self.stats,
        }
        .serialize(serializer)
    }
}

/// Artifacts smaller than this are always scanned on one thread: below it, starting
/// workers costs more than it saves.
pub(crate) const PARALLEL_MIN_BYTES: u64 = 2 << 20;

/// A configured scanner. Cheap to share across threads; build it once.
pub struct Scanner {
    pub limits: Limits,
    /// Threads scanning the text of one large artifact (1: everything on the calling thread).
    pub threads: usize,
    detectors: Vec<Box<dyn Detector>>,
    prefilter: engine::Prefilter,
}

impl Scanner {
    /// A scanner with every registered detector, using up to 4 threads for large artifacts.
    pub fn new(limits: Limits) -> Self {
        Self::with_detectors(limits, detectors::all())
    }

    /// A scanner with the given detectors (tests, benchmarks, embedding).
    pub fn with_detectors(limits: Limits, detectors: Vec<Box<dyn Detector>>) -> Self {
        let prefilter = engine::Prefilter::new(&detectors);
        let threads = std::thread::available_parallelism().map_or(1, std::num::NonZero::get).min(4);
        Scanner { limits, threads, detectors, prefilter }
    }

    /// A scanner with only the registered detectors whose id is in `ids`, in report order
    /// (profiling: `examples/scan_profile.rs` times each detector alone).
    pub fn with_only(limits: Limits, ids: &[&str]) -> Self {
        let detectors = detectors::all().into_iter().filter(|d| ids.contains(&d.meta().id)).collect();
        Self::with_detectors(limits, detectors)
    }

    /// The ids of every registered detector, in report order.
    pub fn registered_ids() -> Vec<&'static str> {
        detectors::all().iter().map(|d| d.meta().id).collect()
    }

    /// The same scanner with `threads` threads for large artifacts (1 disables them).
    pub fn with_threads(mut self, threads: usize) -> Self {
        self.threads = threads.max(1);
        self
    }

    /// Scan one artifact file. `filename` is the distribution filename (it names the
    /// project, version and kind; the content's magic bytes decide the format).
    /// Never fails: what cannot be read becomes an `anomaly.unreadable-archive` finding.
    pub fn scan_file(&self, path: &Path, filename: &str) -> ScanReport {
        let parsed = crate::model::parse_dist_filename(filename);
        let kind = parsed.as_ref().map(|d| d.kind).unwrap_or(ArtifactKind::Other);
        let (project, version) = parsed.map(|d| (Some(d.project), Some(d.version))).unwrap_or((None, None));
        let size = std::fs::metadata(path).map_or(0, |m| m.len());
        let timed_out = std::sync::atomic::AtomicBool::new(false);
        // `max_scan_seconds` bounds the whole scan, both walks together.
        let started = std::time::Instant::now();
        // The same limit between the detectors on one member (`engine::Deadline`).
        let deadline = engine::Deadline::new(started, self.limits.max_scan_seconds);
        let walk = |offload: Option<&engine::Offload<'_>>| {
            let mut collector = engine::Collector::new(&self.detectors, &self.prefilter, &deadline, filename, kind);
            collector.offload = offload;
            let mut walker = archive::Walker::new(&self.limits, collector).counting_from(started);
            walker.walk_file(path, filename);
            timed_out.store(walker.timed_out, std::sync::atomic::Ordering::Relaxed);
            let (members, bytes) = (walker.members, walker.total);
            let mut collector = walker.visitor;
            collector.finish(project.as_deref(), version.as_deref());
            collector.into_outcome(members, bytes)
        };
        let outcome = if self.threads > 1 && size >= PARALLEL_MIN_BYTES && !self.detectors.is_empty() {
            let (mut outcome, tagged, counts) =
                parallel::with_workers(&self.detectors, &self.prefilter, &deadline, self.threads, |f| walk(Some(f)));
            outcome.merge(tagged, counts);
            outcome
        } else {
            walk(None)
        };
        let mut outcome = outcome;
        if !outcome.reach.is_empty() {
            // Install-time code runs other members of the tree: read the artifact once more and
            // judge those members as install-time code (`reach`).
            let revisit = engine::Revisit::new(
                &self.detectors,
                &self.prefilter,
                &deadline,
                std::mem::take(&mut outcome.reach),
                std::mem::take(&mut outcome.outside),
                &outcome.tagged,
            );
            let mut walker = archive::Walker::new(&self.limits, revisit).counting_from(started);
            walker.walk_file(path, filename);
            let timed_out_again = walker.timed_out;
            timed_out.fetch_or(timed_out_again, std::sync::atomic::Ordering::Relaxed);
            outcome.judge_reached(walker.visitor, timed_out_again);
        }
        let stats = ScanStats {
            members: outcome.members,
            uncompressed_bytes: outcome.bytes,
            text_members: outcome.counts.text_members,
            binary_members: outcome.counts.binary_members,
            truncated_members: outcome.counts.truncated_members,
            timed_out: timed_out.load(std::sync::atomic::Ordering::Relaxed) || deadline.passed(),
        };
        ScanReport {
            schema_version: REPORT_SCHEMA_VERSION,
            scanner_version: scanner_version().to_string(),
            filename: filename.to_string(),
            kind,
            project,
            version,
            licence: outcome.licence.clone(),
            findings: findings::group(outcome.into_hits()),
            stats,
        }
    }
}

/// Every finding id the scanner can emit (engine findings, then every detector),
/// for policy validation: an unknown detector id in a policy is an error.
pub(crate) fn catalog() -> Vec<&'static detector::DetectorMeta> {
    let mut all = anomaly::catalog();
    all.extend(licence::catalog());
    all.extend(detectors::catalog());
    all
}

#[cfg(test)]
mod tests;
