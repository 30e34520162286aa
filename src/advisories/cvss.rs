//! CVSS base scores from vectors (v2, v3.0, v3.1, v4.0), computed offline by the `cvss`
//! crate, and their qualitative rating as a pipgate [`Severity`].
//! Must not: guess a score from anything but the vector.

use crate::model::Severity;
use std::str::FromStr;

/// A scored vector.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Score {
    /// The base score, 0.0–10.0.
    pub base: f64,
    /// The specification's rating of that score (none → info).
    pub severity: Severity,
}

/// A vector the `cvss` crate could not read (the record's fault).
#[derive(Debug, thiserror::Error)]
#[error("CVSS vector {vector:?} could not be read: {reason}")]
pub(crate) struct ScoreError {
    pub vector: String,
    pub reason: String,
}

impl Score {
    /// Score a vector such as `CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H`.
    pub(crate) fn of(vector: &str) -> Result<Score, ScoreError> {
        let parsed = cvss::Cvss::from_str(vector.trim())
            .map_err(|e| ScoreError { vector: vector.chars().take(200).collect(), reason: e.to_string() })?;
        let severity = match parsed.severity() {
            cvss::Severity::None => Severity::Info,
            cvss::Severity::Low => Severity::Low,
            cvss::Severity::Medium => Severity::Medium,
            cvss::Severity::High => Severity::High,
            cvss::Severity::Critical => Severity::Critical,
        };
        Ok(Score { base: parsed.score(), severity })
    }
}
