//! Text the CLI prints for `pipgate policy check | explain | accept`. Returns strings and
//! exit codes; must not print, read the clock or exit (the CLI does that).

use super::{Policy, EXPIRY_WARNING_DAYS};
use crate::model::{ArtifactFacts, Decision, Finding, ReasonCode, Verdict};
use crate::timefmt::rfc3339 as fmt_time;
use std::fmt::Write;
use std::path::Path;
use time::OffsetDateTime;

/// `pipgate policy check FILE`: (report, exit code). 0 valid (maybe with warnings), 1 invalid.
pub fn check_report(path: &Path, now: OffsetDateTime) -> (String, i32) {
    let catalog = crate::scan::catalog();
    let known: Vec<&str> = catalog.iter().map(|m| m.id).collect();
    check_report_with(path, &known, now, EXPIRY_WARNING_DAYS)
}

/// [`check_report`] with an explicit detector catalog and warning window (days).
pub(crate) fn check_report_with(path: &Path, known: &[&str], now: OffsetDateTime, warn_days: i64) -> (String, i32) {
    match Policy::load_with_catalog(path, known) {
        Err(e) => (format!("{e}\n"), 1),
        Ok(p) => (p.check_text(now, warn_days), 0),
    }
}

impl Policy {
    /// Summary plus warnings: expired acceptances and ones expiring within `warn_days`.
    pub fn check_text(&self, now: OffsetDateTime, warn_days: i64) -> String {
        let mut out = format!(
            "policy OK: {} ({} rules, {} acceptances, digest {})\n",
            self.sources.join(" <- "),
            self.rules.len(),
            self.acceptances.len(),
            &self.digest[..self.digest.len().min(12)]
        );
        for w in self.warnings.iter().chain(&self.acceptance_warnings(now, warn_days)) {
            let _ = writeln!(out, "warning: {w}");
        }
        if self.dangerous_fail_open {
            out.push_str("warning: dangerous_fail_open is true: unscannable artifacts are SERVED\n");
        }
        if let Some(e) = &self.established {
            let _ = writeln!(
                out,
                "established: a block on behaviour a project shipped unchanged in a release at least {} older is \
                 lowered to {} (projects with {} of history and {} releases; never critical, malware, advisories, \
                 typosquats, start-up hijacks, anomaly.*)",
                super::eval::fmt_duration(e.baseline_age),
                e.action.as_str(),
                super::eval::fmt_duration(e.min_history),
                e.min_releases
            );
            if e.action == super::Action::Allow {
                out.push_str("warning: established.action is allow: established findings are served unmarked\n");
            }
        }
        out
    }

    /// One line per expired or soon-expiring acceptance, in file order.
    pub fn acceptance_warnings(&self, now: OffsetDateTime, warn_days: i64) -> Vec<String> {
        let soon = now + time::Duration::days(warn_days);
        let mut out = Vec::new();
        for a in &self.acceptances {
            let who = format!("owner {}, {}", a.owner, a.ticket);
            if a.advisory.is_none() && a.findings.iter().any(|p| p.matches(crate::advisories::MALWARE)) {
                out.push(format!(
                    "acceptance {} names {} but no `advisory:` record id: known malware is accepted only by an acceptance naming its record (advisory: MAL-...), so it covers none",
                    a.id,
                    crate::advisories::MALWARE
                ));
            }
            if now >= a.expires {
                out.push(format!("acceptance {} expired at {} ({who}): remove or renew it", a.id, fmt_time(a.expires)));
            } else if a.expires <= soon {
                out.push(format!(
                    "acceptance {} expires at {} ({who}), within {warn_days} days",
                    a.id,
                    fmt_time(a.expires)
                ));
            }
        }
        out
    }

    /// `pipgate policy explain`: the verdict and every rule/acceptance/default that contributed.
    pub fn explain(&self, facts: &ArtifactFacts, findings: &[Finding], now: OffsetDateTime) -> String {
        let v = self.evaluate(facts, findings, now);
        let mut out = explain_header(facts, &v, now);
        for f in findings {
            let _ = writeln!(out, "  finding {} [{} {}]: {}", f.detector, f.category, f.severity, f.message);
        }
        out.push_str("because:\n");
        for r in &v.reasons {
            let on = if r.findings.is_empty() { String::new() } else { format!(" [{}]", r.findings.join(", ")) };
            let _ = writeln!(out, "  {}{on}: {}", r.code, r.message);
        }
        out
    }
}

fn explain_header(facts: &ArtifactFacts, v: &Verdict, now: OffsetDateTime) -> String {
    let mut out = format!(
        "{} ({} {}, {}) at {}: {}\n",
        facts.filename,
        facts.project,
        facts.version.as_deref().unwrap_or("?"),
        facts.kind.as_str(),
        fmt_time(now),
        v.decision.as_str().to_uppercase()
    );
    if v.decision == crate::model::Decision::Block {
        let _ = writeln!(out, "index pages: {}", v.index.as_str());
    }
    if let Some(at) = &v.available_at {
        let _ = writeln!(out, "available from: {at}");
    }
    let _ = writeln!(out, "policy digest: {}", v.policy_digest);
    out
}

/// A YAML double-quoted scalar (JSON strings are valid YAML).
fn q(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

/// Finding ids whose verdict is a verdict on the project (its name), not on one file.
const NAME_LEVEL: &[&str] = &["metadata.typosquat"];

impl Policy {
    /// `pipgate policy accept`: the narrowest change to this policy that clears what blocks
    /// the artifact, ready to paste, always valid for `policy check`:
    ///
    /// - a cooldown hold → a `cooldown.exempt` entry for exactly this release;
    /// - a name-level finding (a look-alike name) → a project-wide acceptance of that finding;
    /// - a behaviour in one file → an acceptance pinned to `==version` and the sha256, naming
    ///   only the findings that block on their own;
    /// - a deny-list entry or an unreadable archive → a comment saying why no acceptance
    ///   can clear it; nothing blocking → a comment saying so.
    ///
    /// Acceptances expire 30 days from `now`.
    pub fn acceptance_snippet(&self, facts: &ArtifactFacts, findings: &[Finding], now: OffsetDateTime) -> String {
        let v = self.evaluate(facts, findings, now);
        let release = format!("{}=={}", facts.project, facts.version.as_deref().unwrap_or("?"));
        if v.decision != Decision::Block {
            return format!(
                "  # nothing to accept: {} is served ({}) by this policy\n",
                facts.filename,
                v.decision.as_str()
            );
        }
        let first = v.reasons.first().map(|r| r.code.clone());
        if first == Some(ReasonCode::DenyList) {
            return format!(
                "  # {release} is on the policy's deny list: an acceptance cannot clear it; remove the entry from `deny:` if it is wrong\n"
            );
        }
        if v.reasons.iter().any(|r| r.code == ReasonCode::Cooldown) {
            let mut out = format!(
                "  # Paste under `cooldown:` → `exempt:` (this release only; \"{}\" would exempt every release).\n",
                facts.project
            );
            let _ = writeln!(out, "    - {}", q(&release));
            return out;
        }
        if let Some(r) = v.reasons.iter().find(|r| matches!(&r.code, ReasonCode::Licence(_))) {
            let licences = self.licences.as_ref().map(|l| l.offending(facts)).unwrap_or_default();
            let mut out = format!("  # {} is blocked by the licence policy: {}\n", facts.filename, r.message);
            out.push_str("  # Paste under `licences:` → `exceptions:` (this project only).\n");
            let _ = writeln!(out, "    - project: {}", q(&facts.project));
            if !licences.is_empty() {
                let list: Vec<String> = licences.iter().map(|l| q(l)).collect();
                let _ = writeln!(out, "      licences: [{}]", list.join(", "));
            }
            let _ = writeln!(out, "      reason: \"REPLACE: why this project may be used under this licence\"");
            return out;
        }
        if v.reasons.iter().any(|r| matches!(&r.code, ReasonCode::FailClosed(w) if w == "scan-error")) {
            return format!(
                "  # {} could not be read by the scanner: pipgate fails closed and no acceptance can clear that\n",
                facts.filename
            );
        }
        // The findings that block on their own, split by the level they are about.
        let mut name: Vec<&str> = Vec::new();
        let mut file: Vec<&str> = Vec::new();
        let mut malware: Vec<&str> = Vec::new();
        for f in findings {
            if self.evaluate(facts, std::slice::from_ref(f), now).decision != Decision::Block {
                continue;
            }
            if f.detector == crate::advisories::MALWARE {
                // Accepted only by naming the record: one acceptance per record.
                if let Some(id) = crate::model::advisory_ids(f).first().copied().filter(|id| !malware.contains(id)) {
                    malware.push(id);
                }
                continue;
            }
            let ids = if NAME_LEVEL.contains(&f.detector.as_str()) { &mut name } else { &mut file };
            if !ids.contains(&f.detector.as_str()) {
                ids.push(&f.detector);
            }
        }
        name.sort_unstable();
        file.sort_unstable();
        if name.is_empty() && file.is_empty() && malware.is_empty() {
            return format!(
                "  # {} is blocked only by findings together ({}); review them with `pipgate policy explain`\n",
                facts.filename,
                v.findings.join(", ")
            );
        }
        let expires = (now + time::Duration::days(30)).replace_second(0).unwrap_or(now);
        let mut out = String::from("  # Paste under `acceptances:`; replace the owner, reason and ticket.\n");
        if !name.is_empty() {
            let id = format!("accept-{}-name", facts.project);
            let scope = Scope { project: &facts.project, version: None, sha256: None, advisory: None };
            let why = format!("TODO: why the name {} is legitimate (every release of the project)", facts.project);
            push_acceptance(&mut out, &id, &name, &scope, &why, expires);
        }
        if !file.is_empty() {
            let version = facts.version.as_deref().filter(|v| !v.is_empty());
            let short = &facts.sha256[..facts.sha256.len().min(8)];
            let id = format!("accept-{}-{}-{}", facts.project, version.unwrap_or(""), short);
            let scope = Scope { project: &facts.project, version, sha256: Some(&facts.sha256), advisory: None };
            let why = format!("TODO: why this is acceptable for {}", facts.filename.replace('"', ""));
            push_acceptance(&mut out, &id, &file, &scope, &why, expires);
        }
        for record in malware {
            let version = facts.version.as_deref().filter(|v| !v.is_empty());
            let id = format!("accept-{}-{}", facts.project, record.to_ascii_lowercase());
            let scope = Scope { project: &facts.project, version, sha256: Some(&facts.sha256), advisory: Some(record) };
            let why = format!(
                "TODO: why known malware record {record} is a false report for {}",
                facts.filename.replace('"', "")
            );
            push_acceptance(&mut out, &id, &[crate::advisories::MALWARE], &scope, &why, expires);
        }
        out
    }
}

/// What an acceptance is scoped to.
struct Scope<'a> {
    project: &'a str,
    version: Option<&'a str>,
    sha256: Option<&'a str>,
    /// The advisory record id (known malware is accepted only by naming it).
    advisory: Option<&'a str>,
}

fn push_acceptance(out: &mut String, id: &str, ids: &[&str], scope: &Scope, why: &str, expires: OffsetDateTime) {
    let _ = writeln!(out, "  - id: {}", q(id));
    let _ = writeln!(out, "    owner: \"TODO-owner@example.org\"");
    let _ = writeln!(out, "    findings: [{}]", ids.iter().map(|i| q(i)).collect::<Vec<_>>().join(", "));
    let _ = writeln!(out, "    project: {}", q(scope.project));
    if let Some(v) = scope.version {
        let _ = writeln!(out, "    version: {}", q(&format!("=={v}")));
    }
    if let Some(sha) = scope.sha256 {
        let _ = writeln!(out, "    sha256: {}", q(sha));
    }
    if let Some(a) = scope.advisory {
        let _ = writeln!(out, "    advisory: {}", q(a));
    }
    let _ = writeln!(out, "    reason: {}", q(why));
    let _ = writeln!(out, "    ticket: \"TODO: link to the review ticket\"");
    let _ = writeln!(out, "    expires: {}", q(&fmt_time(expires)));
}

/// An acceptance as the dashboard lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AcceptanceDue {
    pub id: String,
    pub owner: String,
    pub ticket: String,
    /// What it covers: finding patterns, and the project / version / sha256 it is limited to.
    pub scope: String,
    pub expires: OffsetDateTime,
}

impl Policy {
    /// Acceptances that expire within `within` of `now` (and expired ones still in the file),
    /// soonest first.
    pub(crate) fn acceptances_due(&self, now: OffsetDateTime, within: time::Duration) -> Vec<AcceptanceDue> {
        let mut out: Vec<AcceptanceDue> = self
            .acceptances
            .iter()
            .filter(|a| a.expires <= now + within)
            .map(|a| {
                let mut scope: Vec<String> = a.findings.iter().map(|p| p.glob.as_str().to_string()).collect();
                scope.extend(a.project.as_ref().map(|p| format!("project {p}")));
                scope.extend(a.version.as_ref().map(|v| format!("version {v}")));
                scope.extend(a.sha256.as_ref().map(|s| format!("sha256 {s}")));
                AcceptanceDue {
                    id: a.id.clone(),
                    owner: a.owner.clone(),
                    ticket: a.ticket.clone(),
                    scope: scope.join(", "),
                    expires: a.expires,
                }
            })
            .collect();
        out.sort_by_key(|a| a.expires);
        out
    }
}
