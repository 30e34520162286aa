//! Turning detector hits into findings: one [`Finding`] per detector id, with
//! severity, capped evidence, a one-line message and a stable order.
//!
//! Owns: grouping, ordering and message wording. Must not: look at archives or
//! decide anything about the package; it only reshapes what detectors reported.

use super::detector::{DetectorMeta, Hit};
use crate::model::{Evidence, FileRole, Finding};
use std::collections::BTreeMap;

/// The most evidence kept per finding; the rest is counted in the message.
pub(crate) const MAX_EVIDENCE: usize = 20;

/// Group hits per detector id into findings, ordered by category, severity (worst first), id.
pub(crate) fn group(hits: Vec<(&'static DetectorMeta, Hit)>) -> Vec<Finding> {
    let mut by_id: BTreeMap<&'static str, (&'static DetectorMeta, Vec<Hit>)> = BTreeMap::new();
    for (meta, hit) in hits {
        by_id.entry(meta.id).or_insert_with(|| (meta, Vec::new())).1.push(hit);
    }
    let mut findings: Vec<Finding> = by_id.into_values().map(|(meta, hits)| finding(meta, hits)).collect();
    // Within a category and severity, what popular packages rarely do comes first.
    let common = |f: &Finding| !super::prevalence::is_uncommon(&f.detector);
    findings.sort_by(|a, b| {
        (a.category, b.severity, common(a), &a.detector).cmp(&(b.category, a.severity, common(b), &b.detector))
    });
    findings
}

fn finding(meta: &'static DetectorMeta, hits: Vec<Hit>) -> Finding {
    let severity = hits.iter().map(|h| h.severity.unwrap_or(meta.severity)).max().unwrap_or(meta.severity);
    let mut evidence: Vec<Evidence> = Vec::with_capacity(hits.len());
    for hit in hits {
        let piece = hit.severity.unwrap_or(meta.severity);
        // The same place reported twice keeps its worst rating.
        let same = |e: &&mut Evidence| {
            let h = &hit.evidence;
            (&e.path, e.line, e.column, &e.snippet, &e.indicator, e.role)
                == (&h.path, h.line, h.column, &h.snippet, &h.indicator, h.role)
        };
        match evidence.iter_mut().find(same) {
            Some(e) => e.severity = e.severity.max(Some(piece)),
            None => evidence.push(Evidence { severity: Some(piece), ..hit.evidence }),
        }
    }
    // The worst pieces first (the cap never drops what made the finding's severity, and a
    // policy rule's role is judged on the pieces that reach its severity); among equals,
    // install-time evidence first, then import-time: it is what the message names.
    evidence.sort_by_key(|e| (std::cmp::Reverse(e.severity), role_rank(e.role)));
    let total = evidence.len();
    evidence.truncate(MAX_EVIDENCE);
    Finding {
        detector: meta.id.to_string(),
        title: meta.title.to_string(),
        category: meta.category,
        severity,
        message: message(meta, &evidence, total),
        evidence,
    }
}

fn role_rank(role: FileRole) -> u8 {
    match role {
        FileRole::InstallTime => 0,
        FileRole::ImportTime => 1,
        FileRole::Runtime => 2,
        FileRole::Metadata => 3,
        FileRole::Binary => 4,
        FileRole::Other => 5,
        FileRole::TestOrDocs => 6,
    }
}

/// How a role reads in a sentence.
pub(crate) fn role_phrase(role: FileRole) -> &'static str {
    match role {
        FileRole::InstallTime => "install time",
        FileRole::ImportTime => "import time",
        FileRole::Runtime => "runtime",
        FileRole::TestOrDocs => "tests or docs",
        FileRole::Metadata => "metadata",
        FileRole::Binary => "binary",
        FileRole::Other => "other file",
    }
}

/// "creates a process in setup.py:12 (install time), and 3 more locations"
fn message(meta: &DetectorMeta, evidence: &[Evidence], total: usize) -> String {
    let phrase = sentence_phrase(meta.title);
    let Some(first) = evidence.first() else {
        return phrase;
    };
    let mut msg = match first.line {
        Some(line) => format!("{phrase} in {}:{line} ({})", first.path, role_phrase(first.role)),
        None => format!("{phrase}: {}", first.path),
    };
    match (&first.indicator, &first.snippet) {
        (Some(ind), _) => msg.push_str(&format!(" [{ind}]")),
        (None, Some(snippet)) if first.line.is_some() => msg.push_str(&format!(": {}", clip(snippet, 100))),
        (None, Some(snippet)) => msg.push_str(&format!(" ({})", clip(snippet, 100))),
        _ => {}
    }
    if total > 1 {
        let s = if total == 2 { "" } else { "s" };
        msg.push_str(&format!(", and {} more location{s}", total - 1));
    }
    msg
}

/// At most `max` characters on one line: control characters become spaces, cut text ends in `…`.
pub(crate) fn clip(s: &str, max: usize) -> String {
    let mut out: String = s.chars().take(max).map(|c| if c.is_control() { ' ' } else { c }).collect();
    if s.chars().nth(max).is_some() {
        out.pop();
        out.push('…');
    }
    out
}

/// "Creates a process." → "creates a process" (acronyms such as "URLs" kept).
fn sentence_phrase(title: &str) -> String {
    let t = title.trim_end_matches('.');
    let mut chars = t.chars();
    match (chars.next(), chars.next()) {
        (Some(a), Some(b)) if b.is_lowercase() => a.to_lowercase().chain(t[a.len_utf8()..].chars()).collect(),
        _ => t.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Category, Severity};

    static NET: DetectorMeta = DetectorMeta {
        id: "network.test",
        revision: 1,
        title: "Downloads a file.",
        category: Category::Network,
        severity: Severity::Low,
        description: "",
    };
    static EXEC: DetectorMeta = DetectorMeta {
        id: "execution.test",
        revision: 1,
        title: "Creates a process.",
        category: Category::Execution,
        severity: Severity::Medium,
        description: "",
    };

    fn hit(path: &str, line: u32, role: FileRole, severity: Option<Severity>) -> Hit {
        let evidence = Evidence {
            path: path.into(),
            line: Some(line),
            column: Some(1),
            snippet: None,
            indicator: None,
            role,
            severity: None,
        };
        Hit { severity, evidence }
    }

    #[test]
    fn hits_group_per_detector_with_max_severity_capped_evidence_and_order() {
        let mut hits = vec![(&EXEC, hit("pkg/run.py", 3, FileRole::Runtime, None))];
        for i in 0..30 {
            hits.push((&NET, hit("pkg/net.py", i + 1, FileRole::Runtime, None)));
        }
        hits.push((&NET, hit("setup.py", 12, FileRole::InstallTime, Some(Severity::High))));
        let findings = group(hits);
        let ids: Vec<_> = findings.iter().map(|f| f.detector.as_str()).collect();
        assert_eq!(ids, ["network.test", "execution.test"], "category order");
        let net = &findings[0];
        assert_eq!(net.severity, Severity::High, "max of hit severities");
        assert_eq!(net.evidence.len(), MAX_EVIDENCE);
        assert_eq!(net.evidence[0].path, "setup.py", "install-time evidence first");
        assert_eq!(net.message, "downloads a file in setup.py:12 (install time), and 30 more locations");
        assert_eq!(findings[1].message, "creates a process in pkg/run.py:3 (runtime)");
    }

    #[test]
    fn each_piece_keeps_its_own_severity_worst_first_and_the_cap_keeps_the_worst() {
        let mut hits: Vec<_> =
            (0..30).map(|i| (&NET, hit("setup.py", i + 1, FileRole::InstallTime, Some(Severity::Low)))).collect();
        hits.push((&NET, hit("pkg/tpl.py", 40, FileRole::Runtime, Some(Severity::High))));
        // The same place reported twice (low, then high) is one piece rated high.
        hits.push((&NET, hit("pkg/tpl.py", 50, FileRole::Runtime, Some(Severity::Low))));
        hits.push((&NET, hit("pkg/tpl.py", 50, FileRole::Runtime, Some(Severity::High))));
        let f = &group(hits)[0];
        assert_eq!(f.severity, Severity::High);
        let worst: Vec<_> = f.evidence.iter().take(2).map(|e| (e.path.as_str(), e.line, e.severity)).collect();
        assert_eq!(
            worst,
            [("pkg/tpl.py", Some(40), Some(Severity::High)), ("pkg/tpl.py", Some(50), Some(Severity::High))],
            "the worst pieces first, kept under the cap"
        );
        assert_eq!(f.evidence.len(), MAX_EVIDENCE);
        assert!(f.evidence[2..].iter().all(|e| e.severity == Some(Severity::Low) && e.role == FileRole::InstallTime));
        assert_eq!(f.message, "downloads a file in pkg/tpl.py:40 (runtime), and 31 more locations");
    }
}
