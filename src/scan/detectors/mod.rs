//! The registry of detectors: one file each, listed once here.
//!
//! STUB: the scanner work (issue 4) owns this file.

use super::detector::{Detector, DetectorMeta};

/// Every detector, in report order.
pub fn all() -> Vec<Box<dyn Detector>> {
    vec![]
}

/// Every detector id the scanner can report (detectors plus the engine's own
/// archive findings), for policy validation: an unknown id in a policy is an error.
pub fn catalog() -> Vec<&'static DetectorMeta> {
    all().iter().flat_map(|d| d.all_meta()).collect()
}
