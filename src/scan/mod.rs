//! The inline scanner: reads a wheel or sdist's bytes (never extracting to disk)
//! and says what the package can do, as [`Finding`]s with evidence.
//!
//! Owns: archive walking with limits, file-role classification, the one-pass
//! prefilter, the detector registry and the report formats.
//! Must not: touch the network, read the policy, or decide serve/block — it
//! describes; the `policy` module decides.
//!
//! STUB: filled by the scanner work (issue 4). The signatures below are the
//! contract the gate relies on.

pub mod detector;
pub mod detectors;

use crate::model::{ArtifactKind, Finding};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Bumped whenever detectors change, so cached reports are not reused across versions.
pub const SCANNER_VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "+scan.0");

/// Resource limits for one artifact. Exceeding one is a finding, never a crash.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Limits {
    pub max_total_bytes: u64,
    pub max_member_bytes: u64,
    pub max_members: u64,
    pub max_ratio: u64,
    pub max_nesting: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_total_bytes: 2 << 30,
            max_member_bytes: 512 << 20,
            max_members: 100_000,
            max_ratio: 200,
            max_nesting: 1,
        }
    }
}

/// Counters for one scan.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct ScanStats {
    pub members: u64,
    pub uncompressed_bytes: u64,
}

/// The scanner's full answer for one artifact.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScanReport {
    pub schema_version: u32,
    pub scanner_version: String,
    pub filename: String,
    pub kind: ArtifactKind,
    pub project: Option<String>,
    pub version: Option<String>,
    pub findings: Vec<Finding>,
    pub stats: ScanStats,
}

/// A configured scanner. Cheap to share across threads.
pub struct Scanner {
    pub limits: Limits,
}

impl Scanner {
    pub fn new(limits: Limits) -> Self {
        Scanner { limits }
    }

    /// Scan one artifact file. `filename` is the distribution filename (it decides the format).
    pub fn scan_file(&self, _path: &Path, filename: &str) -> ScanReport {
        let parsed = crate::model::parse_dist_filename(filename);
        ScanReport {
            schema_version: 1,
            scanner_version: SCANNER_VERSION.to_string(),
            filename: filename.to_string(),
            kind: parsed.as_ref().map(|d| d.kind).unwrap_or(ArtifactKind::Other),
            project: parsed.as_ref().map(|d| d.project.clone()),
            version: parsed.map(|d| d.version),
            findings: vec![],
            stats: ScanStats::default(),
        }
    }
}

/// Every finding id the scanner can emit (engine anomalies plus every detector),
/// for policy validation: an unknown detector id in a policy is an error.
pub fn catalog() -> Vec<&'static detector::DetectorMeta> {
    detectors::catalog()
}
