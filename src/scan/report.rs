//! Report formats for [`ScanReport`]: human text, versioned JSON, SARIF 2.1.0.
//!
//! Owns: rendering only. Must not: scan, decide, or change findings.

use super::ScanReport;
use crate::model::Verdict;

/// An output format for scan reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    Text,
    Json,
    Sarif,
}

pub fn render(_r: &[ScanReport], _f: ReportFormat) -> String {
    String::new()
}
pub fn render_text(_r: &ScanReport, _v: Option<&Verdict>) -> String {
    String::new()
}
pub fn render_json(_r: &ScanReport) -> String {
    String::new()
}
pub fn render_sarif(_r: &[ScanReport]) -> String {
    String::new()
}
