//! Text the CLI prints for `pipgate policy check | explain | accept`. Returns strings and
//! exit codes; must not print, read the clock or exit (the CLI does that).

use super::{Policy, EXPIRY_WARNING_DAYS};
use crate::model::{ArtifactFacts, Finding, Verdict};
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
        out
    }

    /// One line per expired or soon-expiring acceptance, in file order.
    pub fn acceptance_warnings(&self, now: OffsetDateTime, warn_days: i64) -> Vec<String> {
        let soon = now + time::Duration::days(warn_days);
        let mut out = Vec::new();
        for a in &self.acceptances {
            let who = format!("owner {}, {}", a.owner, a.ticket);
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

/// `pipgate policy accept`: a ready-to-paste acceptance (list item under `acceptances:`)
/// for exactly this artifact (project, `==version`, sha256) and its finding ids,
/// expiring 30 days from `now`.
pub fn acceptance_snippet(facts: &ArtifactFacts, findings: &[Finding], now: OffsetDateTime) -> String {
    let mut ids: Vec<&str> = findings.iter().map(|f| f.detector.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    let version = facts.version.as_deref().unwrap_or("");
    let short = &facts.sha256[..facts.sha256.len().min(8)];
    let id = format!("accept-{}-{}-{}", facts.project, version, short);
    let expires = (now + time::Duration::days(30)).replace_second(0).unwrap_or(now);
    let mut out = String::from("  # Paste under `acceptances:`; replace the owner, reason and ticket.\n");
    let _ = writeln!(out, "  - id: {}", q(&id));
    let _ = writeln!(out, "    owner: \"TODO-owner@example.org\"");
    let _ = writeln!(out, "    findings: [{}]", ids.iter().map(|i| q(i)).collect::<Vec<_>>().join(", "));
    let _ = writeln!(out, "    project: {}", q(&facts.project));
    if !version.is_empty() {
        let _ = writeln!(out, "    version: {}", q(&format!("=={version}")));
    }
    let _ = writeln!(out, "    sha256: {}", q(&facts.sha256));
    let _ = writeln!(out, "    reason: \"TODO: why this is acceptable for {}\"", facts.filename.replace('"', ""));
    let _ = writeln!(out, "    ticket: \"TODO: link to the review ticket\"");
    let _ = writeln!(out, "    expires: {}", q(&fmt_time(expires)));
    out
}
