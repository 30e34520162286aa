//! The OSV record format as pipgate reads it: serde types for the fields it uses, and the
//! turning of one record into a [`Record`] (PEP 440 ranges, CVSS severity, malware marks,
//! hashes). Unknown fields are ignored, as the OSV schema asks of readers.
//! Must not: read files or know about sources (see `load`).

use super::cvss::{Score, ScoreError};
use crate::model::{normalize_project_name, Severity};
use pep440_rs::Version;
use serde::Deserialize;
use std::str::FromStr;

#[derive(Debug, Deserialize)]
pub(super) struct RawRecord {
    pub id: String,
    #[serde(default)]
    pub summary: Option<String>,
    #[serde(default)]
    pub details: Option<String>,
    #[serde(default)]
    pub aliases: Vec<String>,
    #[serde(default)]
    pub withdrawn: Option<String>,
    #[serde(default)]
    pub modified: Option<String>,
    #[serde(default)]
    pub affected: Vec<RawAffected>,
    #[serde(default)]
    pub severity: Vec<RawSeverity>,
    #[serde(default)]
    pub references: Vec<RawReference>,
    #[serde(default)]
    pub database_specific: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
pub(super) struct RawAffected {
    #[serde(default)]
    pub package: Option<RawPackage>,
    #[serde(default)]
    pub ranges: Vec<RawRange>,
    #[serde(default)]
    pub versions: Vec<String>,
    #[serde(default)]
    pub severity: Vec<RawSeverity>,
    #[serde(default)]
    pub database_specific: Option<serde_json::Value>,
    #[serde(default)]
    pub ecosystem_specific: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
pub(super) struct RawPackage {
    #[serde(default)]
    pub ecosystem: String,
    #[serde(default)]
    pub name: String,
}

#[derive(Debug, Deserialize)]
pub(super) struct RawRange {
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub events: Vec<std::collections::BTreeMap<String, String>>,
}

#[derive(Debug, Deserialize)]
pub(super) struct RawSeverity {
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub score: String,
}

#[derive(Debug, Deserialize)]
pub(super) struct RawReference {
    #[serde(rename = "type", default)]
    pub kind: String,
}

/// One event of an `ECOSYSTEM` range, its version parsed with PEP 440.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Event {
    /// `introduced: "0"`: from the first version.
    IntroducedZero,
    Introduced(Version),
    Fixed(Version),
    LastAffected(Version),
}

impl Event {
    fn version(&self) -> Option<&Version> {
        match self {
            Event::IntroducedZero => None,
            Event::Introduced(v) | Event::Fixed(v) | Event::LastAffected(v) => Some(v),
        }
    }
}

/// What one record says about one project.
#[derive(Debug, Clone)]
pub(crate) struct Affected {
    /// Normalised project name.
    pub project: String,
    /// `ECOSYSTEM` ranges, each sorted by version.
    pub(super) ranges: Vec<Vec<Event>>,
    /// The explicit `versions` list.
    pub versions: Vec<String>,
    /// The `fixed` versions of its ranges (text as written).
    pub fixed: Vec<String>,
}

impl Affected {
    /// Whether `version` (`parsed`: its PEP 440 form, parsed once by the caller) is affected:
    /// in the explicit list, or inside one of the ranges (introduced ≤ v, and not fixed ≤ v,
    /// and not last_affected < v). With ranges, the list (which OSV enumerates from them) is
    /// only compared as text; without, by PEP 440 equality. A page of thousands of files
    /// checks every record of the project per file, so no version list is parsed per lookup
    /// when ranges decide.
    pub(crate) fn contains(&self, version: &str, parsed: Option<&Version>) -> bool {
        if self.versions.iter().any(|v| v == version) {
            return true;
        }
        if self.ranges.is_empty() && self.versions.is_empty() {
            // Neither ranges nor versions: the record names the package as a whole.
            return true;
        }
        if self.ranges.is_empty() {
            return self.versions.iter().any(|v| crate::model::same_version(v, version));
        }
        parsed.is_some_and(|v| self.ranges.iter().any(|events| in_range(events, v)))
    }

    /// Every version affected, from the first on, with no fix and no last affected version:
    /// the whole project is what the record describes (PEP 792 `quarantined` for malware).
    pub(crate) fn every_version(&self) -> bool {
        let open_from_zero = |events: &Vec<Event>| {
            events.first() == Some(&Event::IntroducedZero)
                && !events.iter().any(|e| matches!(e, Event::Fixed(_) | Event::LastAffected(_)))
        };
        (self.ranges.is_empty() && self.versions.is_empty()) || self.ranges.iter().any(open_from_zero)
    }
}

fn in_range(events: &[Event], v: &Version) -> bool {
    let mut affected = false;
    for e in events {
        match e {
            Event::IntroducedZero => affected = true,
            Event::Introduced(at) if at <= v => affected = true,
            Event::Fixed(at) if at <= v => affected = false,
            Event::LastAffected(at) if at < v => affected = false,
            _ => {}
        }
    }
    affected
}

/// A record, ready to match.
#[derive(Debug, Clone)]
pub(crate) struct Record {
    pub id: String,
    pub aliases: Vec<String>,
    /// `summary`, else the first line of `details`.
    pub summary: String,
    /// A known-malware record: a `MAL-` id or alias, or OpenSSF `malicious-packages-origins`.
    pub malware: bool,
    /// How bad, and from what (CVSS vector, or the record's own rating).
    pub severity: Option<RatedSeverity>,
    /// A reference of type `EVIDENCE` (a demonstration of the exploit).
    pub exploit_evidence: bool,
    pub modified: Option<String>,
    pub affected: Vec<Affected>,
    /// sha256 digests of files the record names (malicious-packages origins, database- or
    /// ecosystem-specific `sha256` keys), lowercase.
    pub sha256: Vec<String>,
}

/// A severity with where it came from.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RatedSeverity {
    pub severity: Severity,
    /// `CVSS:3.1/AV:N/…` and its base score, when the rating came from a vector.
    pub cvss: Option<(String, f64)>,
    /// The record's own word (`database_specific.severity`), when there was no vector.
    pub rating: Option<String>,
}

/// Why a record was not loaded.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SkipReason {
    #[error("withdrawn at {0}")]
    Withdrawn(String),
    #[error("names no PyPI package")]
    NotPyPi,
}

impl RawRecord {
    /// The record ready to match, or why it is left out.
    pub(super) fn into_record(self) -> Result<Record, SkipReason> {
        if let Some(at) = self.withdrawn {
            return Err(SkipReason::Withdrawn(at));
        }
        let malware = self.id.starts_with("MAL-")
            || self.aliases.iter().any(|a| a.starts_with("MAL-"))
            || self.database_specific.as_ref().is_some_and(|d| d.get("malicious-packages-origins").is_some());
        let mut sha256 = Vec::new();
        if let Some(d) = &self.database_specific {
            collect_sha256(d, &mut sha256);
        }
        let mut severity = best_severity(&self.severity);
        let mut affected = Vec::new();
        for a in self.affected {
            let Some(pkg) = a.package.filter(|p| p.ecosystem.eq_ignore_ascii_case("pypi") && !p.name.is_empty()) else {
                continue;
            };
            for d in [&a.database_specific, &a.ecosystem_specific].into_iter().flatten() {
                collect_sha256(d, &mut sha256);
            }
            if severity.is_none() {
                severity = best_severity(&a.severity);
            }
            let mut ranges = Vec::new();
            let mut fixed = Vec::new();
            for r in a.ranges.iter().filter(|r| r.kind == "ECOSYSTEM") {
                let mut events = Vec::new();
                for e in &r.events {
                    for (k, v) in e {
                        let parsed = Version::from_str(v).ok();
                        let ev = match (k.as_str(), parsed) {
                            ("introduced", _) if v == "0" => Event::IntroducedZero,
                            ("introduced", Some(p)) => Event::Introduced(p),
                            ("fixed", Some(p)) => {
                                fixed.push(v.clone());
                                Event::Fixed(p)
                            }
                            ("last_affected", Some(p)) => Event::LastAffected(p),
                            _ => continue,
                        };
                        events.push(ev);
                    }
                }
                events.sort_by(|a, b| a.version().cmp(&b.version()));
                ranges.push(events);
            }
            affected.push(Affected { project: normalize_project_name(&pkg.name), ranges, versions: a.versions, fixed });
        }
        if affected.is_empty() {
            return Err(SkipReason::NotPyPi);
        }
        if severity.is_none() {
            severity = self.database_specific.as_ref().and_then(rated);
        }
        let summary = self
            .summary
            .filter(|s| !s.trim().is_empty())
            .or_else(|| {
                self.details.as_deref().and_then(|d| d.lines().find(|l| !l.trim().is_empty())).map(str::to_string)
            })
            .unwrap_or_default();
        sha256.sort();
        sha256.dedup();
        Ok(Record {
            id: self.id,
            aliases: self.aliases,
            summary: summary.trim().to_string(),
            malware,
            severity,
            exploit_evidence: self.references.iter().any(|r| r.kind == "EVIDENCE"),
            modified: self.modified,
            affected,
            sha256,
        })
    }
}

/// The highest-version CVSS vector of a `severity` list (v4 > v3 > v2), scored.
fn best_severity(list: &[RawSeverity]) -> Option<RatedSeverity> {
    let rank = |k: &str| match k {
        "CVSS_V4" => 3,
        "CVSS_V3" => 2,
        "CVSS_V2" => 1,
        _ => 0,
    };
    let mut sorted: Vec<&RawSeverity> = list.iter().filter(|s| rank(&s.kind) > 0).collect();
    sorted.sort_by_key(|s| std::cmp::Reverse(rank(&s.kind)));
    sorted.into_iter().find_map(|s| {
        let score: Result<Score, ScoreError> = Score::of(&s.score);
        score.ok().map(|sc| RatedSeverity {
            severity: sc.severity,
            cvss: Some((s.score.clone(), sc.base)),
            rating: None,
        })
    })
}

/// `database_specific.severity` (GitHub's `LOW`/`MODERATE`/`HIGH`/`CRITICAL`).
fn rated(d: &serde_json::Value) -> Option<RatedSeverity> {
    let word = d.get("severity")?.as_str()?;
    let severity = match word.to_ascii_lowercase().as_str() {
        "low" => Severity::Low,
        "moderate" | "medium" => Severity::Medium,
        "high" => Severity::High,
        "critical" => Severity::Critical,
        _ => return None,
    };
    Some(RatedSeverity { severity, cvss: None, rating: Some(word.to_string()) })
}

/// Every string under a `sha256` key (or in a list under one) that is 64 hex digits.
fn collect_sha256(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, v) in m {
                if k.eq_ignore_ascii_case("sha256") {
                    let items: Vec<&serde_json::Value> = match v {
                        serde_json::Value::Array(a) => a.iter().collect(),
                        other => vec![other],
                    };
                    for s in items.iter().filter_map(|s| s.as_str()) {
                        if let Ok(h) = crate::model::Sha256::parse(s) {
                            out.push(h.to_string());
                        }
                    }
                } else {
                    collect_sha256(v, out);
                }
            }
        }
        serde_json::Value::Array(a) => a.iter().for_each(|v| collect_sha256(v, out)),
        _ => {}
    }
}
