//! The risk-acceptance policy: raw YAML → validated, compiled [`Policy`] → [`Verdict`].
//!
//! Owns: the policy schema, validation with YAML path and line, rule evaluation,
//! acceptances with expiry, cooldown, allow/deny lists and failure mode.
//! Must not: do I/O during evaluation (loading reads files; evaluating is pure),
//! scan, or know about HTTP.
//!
//! STUB: filled by the policy work (issue 5). The proxy core only needs
//! [`Policy::evaluate`] and the settings it reads at start-up.

use crate::model::{ArtifactFacts, Decision, Finding, Reason, Verdict};
use std::path::Path;

/// Settings the policy file may carry for the proxy (flags win).
#[derive(Debug, Clone, Default)]
pub struct Settings {
    pub upstream: Option<String>,
    pub listen: Option<String>,
}

/// A compiled, validated policy.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    pub settings: Settings,
    pub digest: String,
}

/// Why a policy file could not be loaded.
#[derive(Debug, thiserror::Error)]
#[error("policy {path}: {message}")]
pub struct PolicyError {
    pub path: String,
    pub message: String,
}

impl Policy {
    pub fn load(path: &Path) -> Result<Policy, PolicyError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| PolicyError { path: path.display().to_string(), message: e.to_string() })?;
        let raw: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text)
            .map_err(|e| PolicyError { path: path.display().to_string(), message: e.to_string() })?;
        let upstream = raw.get("upstream").and_then(|v| v.as_str()).map(str::to_string);
        use sha2::Digest;
        Ok(Policy {
            settings: Settings { upstream, listen: None },
            digest: hex::encode(sha2::Sha256::digest(text.as_bytes())),
        })
    }

    /// Decide for one artifact. Pure.
    pub fn evaluate(&self, _facts: &ArtifactFacts, findings: &[Finding], _now: time::OffsetDateTime) -> Verdict {
        Verdict {
            decision: Decision::Serve,
            reasons: vec![Reason {
                code: "default".into(),
                message: "no rule blocks this artifact".into(),
                findings: vec![],
            }],
            findings: findings.iter().map(|f| f.detector.clone()).collect(),
            acceptances: vec![],
            policy_digest: self.digest.clone(),
        }
    }
}
