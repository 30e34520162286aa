//! Report formats for [`ScanReport`]s: human text, the versioned JSON contract
//! (`docs/scan-report.md`, `docs/scan-report.schema.json`) and SARIF 2.1.0.
//!
//! Owns: rendering only. Must not: scan, decide, reorder or drop findings — what
//! the scanner found is what every format shows.

use super::detector::DetectorMeta;
use super::findings::{clip, role_phrase, MAX_EVIDENCE};
use super::ScanReport;
use crate::model::{Category, Evidence, Finding, Severity, Verdict};
use serde_json::{json, Value};
use std::fmt::Write as _;
use std::str::FromStr;

/// An output format for scan reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    Text,
    Json,
    Sarif,
    /// The page people read (`report_html`); with a verdict through `pipgate scan`.
    Html,
}

/// A format name that is not `text`, `json` or `sarif`.
#[derive(Debug, thiserror::Error)]
#[error("unknown report format {0:?}: expected text, json, sarif or html")]
pub struct UnknownFormat(pub String);

impl FromStr for ReportFormat {
    type Err = UnknownFormat;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "text" | "txt" => Ok(ReportFormat::Text),
            "json" => Ok(ReportFormat::Json),
            "sarif" => Ok(ReportFormat::Sarif),
            "html" => Ok(ReportFormat::Html),
            _ => Err(UnknownFormat(s.to_string())),
        }
    }
}

/// Render several reports in one format: text reports one after another, JSON as
/// one object (one report) or an array, SARIF as one log with one run, HTML as one page per
/// report without a verdict (`pipgate scan` renders each page with its verdict instead).
pub fn render(reports: &[ScanReport], format: ReportFormat) -> String {
    match format {
        ReportFormat::Text => reports.iter().map(|r| render_text(r, None)).collect::<Vec<_>>().join("\n"),
        ReportFormat::Json if reports.len() == 1 => render_json(&reports[0]),
        ReportFormat::Json => pretty(&serde_json::to_value(reports).unwrap_or(Value::Null)),
        ReportFormat::Sarif => render_sarif(reports),
        ReportFormat::Html => reports.iter().map(crate::report_html::render_scan).collect::<Vec<_>>().join("\n"),
    }
}

/// The JSON contract: the serde form of [`ScanReport`], pretty-printed.
pub(crate) fn render_json(report: &ScanReport) -> String {
    pretty(&serde_json::to_value(report).unwrap_or(Value::Null))
}

fn pretty(v: &Value) -> String {
    let mut s = serde_json::to_string_pretty(v).unwrap_or_default();
    s.push('\n');
    s
}

// ---------------------------------------------------------------- text

/// Categories shown under "Behaviours" (what the code can do); the rest are "Issues".
pub(crate) fn is_behaviour(c: Category) -> bool {
    !matches!(c, Category::Secrets | Category::Metadata | Category::Vulnerability | Category::Malware)
}

/// The human report: verdict (when given), summary, behaviours and issues by
/// category with evidence, next steps for each category present.
pub fn render_text(report: &ScanReport, verdict: Option<&Verdict>) -> String {
    let mut out = String::new();
    header(&mut out, report);
    if let Some(v) = verdict {
        verdict_section(&mut out, v);
    }
    let (behaviours, issues): (Vec<&Finding>, Vec<&Finding>) =
        report.findings.iter().partition(|f| is_behaviour(f.category));
    summary(&mut out, &behaviours, &issues);
    section(&mut out, "Behaviours", &behaviours);
    section(&mut out, "Issues", &issues);
    next_steps(&mut out, &report.findings);
    out
}

fn header(out: &mut String, r: &ScanReport) {
    let _ = writeln!(out, "pipgate scan: {}", r.filename);
    let project = match (&r.project, &r.version) {
        (Some(p), Some(v)) => format!("{p} {v}"),
        (Some(p), None) => p.clone(),
        _ => "unknown project".into(),
    };
    let s = &r.stats;
    let _ = writeln!(
        out,
        "  {project} ({}) | {} members, {} scanned ({} text, {} binary) | scanner {}",
        r.kind.as_str(),
        s.members,
        human_bytes(s.uncompressed_bytes),
        s.text_members,
        s.binary_members,
        r.scanner_version
    );
    if let Some(why) = r.incomplete_reason() {
        let _ = writeln!(out, "  INCOMPLETE: part of the artifact was not scanned: {}", clip(&why, 300));
    }
    licence_section(out, &r.licence);
}

/// `Licence: MIT (from License-Expression)` and one line per source read.
fn licence_section(out: &mut String, l: &crate::model::Licence) {
    match (&l.expression, l.from) {
        (Some(e), Some(from)) => {
            let _ = writeln!(out, "  Licence: {e} (from {})", from.as_str());
        }
        _ if l.sources.is_empty() => {
            let _ = writeln!(out, "  Licence: unknown (no licence metadata and no licence file)");
        }
        _ => {
            let _ = writeln!(out, "  Licence: unknown (nothing below was recognised as an SPDX licence)");
        }
    }
    for s in &l.sources {
        let at = match s.line {
            Some(line) => format!("{}:{line}", s.path),
            None => s.path.clone(),
        };
        let spdx = s.spdx.as_deref().unwrap_or("not recognised");
        let _ = writeln!(out, "    {:<18} {spdx:<16} {at}  {:?}", s.origin.as_str(), clip(&s.text, 80));
    }
}

fn verdict_section(out: &mut String, v: &Verdict) {
    let _ = writeln!(out, "\nVerdict: {}", v.decision.as_str().to_ascii_uppercase());
    for reason in &v.reasons {
        let ids = if reason.findings.is_empty() { String::new() } else { format!(" [{}]", reason.findings.join(", ")) };
        let _ = writeln!(out, "  - {} ({}){ids}", reason.message, reason.code);
    }
    if !v.acceptances.is_empty() {
        let _ = writeln!(out, "  accepted by: {}", v.acceptances.join(", "));
    }
    if let Some(d) = &v.new_in_version {
        let _ = writeln!(out, "  {}", d.summary());
    }
}

fn summary(out: &mut String, behaviours: &[&Finding], issues: &[&Finding]) {
    let worst = behaviours.iter().chain(issues).map(|f| f.severity).max();
    let _ = match worst {
        None => writeln!(out, "\nNo behaviours or issues found."),
        Some(w) => writeln!(
            out,
            "\nSummary: {} behaviour{}, {} issue{} (highest severity: {w})",
            behaviours.len(),
            plural(behaviours.len()),
            issues.len(),
            plural(issues.len())
        ),
    };
}

fn section(out: &mut String, title: &str, findings: &[&Finding]) {
    if findings.is_empty() {
        return;
    }
    let _ = writeln!(out, "\n{title}");
    for cat in Category::ALL {
        let in_cat: Vec<&&Finding> = findings.iter().filter(|f| f.category == cat).collect();
        if in_cat.is_empty() {
            continue;
        }
        let _ = writeln!(out, "  {cat} ({})", in_cat.len());
        for f in in_cat {
            finding_block(out, f);
        }
    }
}

fn finding_block(out: &mut String, f: &Finding) {
    let n = f.evidence.len();
    let count = if n >= MAX_EVIDENCE { format!("{n}+ locations") } else { format!("{n} location{}", plural(n)) };
    let _ = writeln!(out, "    [{}] {}  ({}, {count})", f.severity, f.title, f.detector);
    // Advisory findings name a release, not a behaviour: no prevalence survey applies.
    if let Some(p) =
        prevalence(&f.detector).filter(|_| !matches!(f.category, Category::Vulnerability | Category::Malware))
    {
        let _ = writeln!(out, "      {p}");
    }
    for e in &f.evidence {
        let _ = writeln!(out, "      {}", evidence_line(e));
    }
}

/// "prevalence: common: in 36 of the top 100 / 290 of the top 1,000 projects (baseline …)",
/// from the shipped baseline (`data/baseline.json`, written by `pipgate baseline`).
pub(crate) fn prevalence(detector: &str) -> Option<String> {
    super::prevalence::shipped(detector).map(|p| format!("prevalence: {}", p.label()))
}

/// `path:line:col  snippet  [indicator]  (role)`
fn evidence_line(e: &Evidence) -> String {
    let mut s = e.path.clone();
    if let Some(line) = e.line {
        let _ = write!(s, ":{line}");
        if let Some(col) = e.column {
            let _ = write!(s, ":{col}");
        }
    }
    if let Some(snippet) = &e.snippet {
        let _ = write!(s, "  {}", clip(snippet, 120));
    }
    if let Some(ind) = &e.indicator {
        let _ = write!(s, "  [{}]", clip(ind, 80));
    }
    let _ = write!(s, "  ({})", role_phrase(e.role));
    s
}

fn next_steps(out: &mut String, findings: &[Finding]) {
    let mut cats: Vec<Category> = findings.iter().map(|f| f.category).collect();
    cats.dedup();
    if cats.is_empty() {
        return;
    }
    let _ = writeln!(out, "\nNext steps");
    for cat in cats {
        let _ = writeln!(out, "  {cat}: {}", step_for(cat));
    }
    let _ = writeln!(
        out,
        "  If a behaviour does not fit the package's purpose, treat the release as a possible supply-chain compromise: hold it until investigated or risk-accepted in the policy."
    );
}

pub(crate) fn step_for(cat: Category) -> &'static str {
    match cat {
        Category::Network => "check every URL, host and IP against what the package documents; look for look-alike and trusted-domain-as-subdomain hosts.",
        Category::Execution => "check that each process or dynamic code execution is needed by the package's purpose, above all at install time.",
        Category::FileSystem => "check which paths are written or deleted, and that nothing outside the package's own data is touched.",
        Category::Anomaly => "treat what could not be scanned as unscanned, not clean; fix or reject archives with traversal, links, bombs or native code in source.",
        Category::Obfuscation => "decode the obfuscated content and review what it does; obfuscation has no place in a published library.",
        Category::Secrets => "review each key or token; if it is real and was published by mistake, revoke it and file a security incident.",
        Category::Metadata => "compare the metadata with the index entry and the upstream project; a mismatch may be a substituted artifact.",
        Category::Hunting => "look at who publishes the package (account, e-mail, history) before trusting it.",
        Category::Vulnerability => "upgrade to a fixed version, or accept the risk in the policy with an expiry.",
        Category::Malware => "remove the release everywhere it was installed and rotate what it could reach; only an acceptance naming the record id (advisory: MAL-...) lets it through.",
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

fn human_bytes(n: u64) -> String {
    match n {
        n if n >= 1 << 30 => format!("{:.1} GiB", n as f64 / (1u64 << 30) as f64),
        n if n >= 1 << 20 => format!("{:.1} MiB", n as f64 / (1u64 << 20) as f64),
        n if n >= 1 << 10 => format!("{:.1} KiB", n as f64 / 1024.0),
        n => format!("{n} B"),
    }
}

// ---------------------------------------------------------------- SARIF

const SARIF_SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// SARIF 2.1.0 level for a severity.
pub(crate) fn sarif_level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    }
}

/// One SARIF log, one run, rules from [`super::catalog`] (plus any id a report
/// carries that the catalog lacks), one result per finding with every kept
/// evidence item as a location `<artifact filename>/<member path>`.
pub(crate) fn render_sarif(reports: &[ScanReport]) -> String {
    pretty(&sarif_log(reports, &super::catalog()))
}

fn sarif_log(reports: &[ScanReport], catalog: &[&'static DetectorMeta]) -> Value {
    let mut rules: Vec<Value> = Vec::new();
    let mut ids: Vec<String> = Vec::new();
    for meta in catalog {
        if !ids.iter().any(|i| i == meta.id) {
            ids.push(meta.id.to_string());
            rules.push(rule_from_meta(meta));
        }
    }
    let mut results = Vec::new();
    for report in reports {
        for f in &report.findings {
            let index = match ids.iter().position(|i| *i == f.detector) {
                Some(i) => i,
                None => {
                    ids.push(f.detector.clone());
                    rules.push(rule_from_finding(f));
                    ids.len() - 1
                }
            };
            results.push(result(report, f, index));
        }
    }
    json!({
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "pipgate", "version": super::scanner_version(), "rules": rules}},
            "results": results,
        }],
    })
}

fn rule_from_meta(m: &DetectorMeta) -> Value {
    json!({
        "id": m.id,
        "shortDescription": {"text": m.title},
        "fullDescription": {"text": m.description},
        "defaultConfiguration": {"level": sarif_level(m.severity)},
        "properties": {"category": m.category.as_str(), "severity": m.severity.as_str(), "tags": [m.category.as_str()]},
    })
}

fn rule_from_finding(f: &Finding) -> Value {
    json!({
        "id": f.detector,
        "shortDescription": {"text": f.title},
        "fullDescription": {"text": f.title},
        "defaultConfiguration": {"level": sarif_level(f.severity)},
        "properties": {"category": f.category.as_str(), "tags": [f.category.as_str()]},
    })
}

fn result(report: &ScanReport, f: &Finding, rule_index: usize) -> Value {
    let locations: Vec<Value> = f.evidence.iter().map(|e| location(&report.filename, e)).collect();
    json!({
        "ruleId": f.detector,
        "ruleIndex": rule_index,
        "level": sarif_level(f.severity),
        "message": {"text": f.message},
        "locations": locations,
        "properties": {
            "severity": f.severity.as_str(),
            "category": f.category.as_str(),
            "artifact": report.filename,
            "project": report.project,
            "version": report.version,
        },
    })
}

fn location(filename: &str, e: &Evidence) -> Value {
    let uri = if e.path == filename { encode_uri(filename) } else { encode_uri(&format!("{filename}/{}", e.path)) };
    let mut physical = json!({"artifactLocation": {"uri": uri}});
    if let Some(line) = e.line.filter(|l| *l >= 1) {
        let mut region = json!({"startLine": line});
        if let Some(col) = e.column.filter(|c| *c >= 1) {
            region["startColumn"] = json!(col);
        }
        if let Some(snippet) = &e.snippet {
            region["snippet"] = json!({"text": snippet});
        }
        physical["region"] = region;
    }
    json!({"physicalLocation": physical})
}

/// Percent-encode a member path as a relative URI reference (keeps `/` and `!`).
fn encode_uri(path: &str) -> String {
    use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
    const KEEP: &AsciiSet =
        &NON_ALPHANUMERIC.remove(b'/').remove(b'!').remove(b'-').remove(b'_').remove(b'.').remove(b'~').remove(b'+');
    utf8_percent_encode(path, KEEP).to_string()
}

#[cfg(test)]
mod tests;
