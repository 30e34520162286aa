//! The report page people read: one artifact's scan, the verdict on it, and what to do
//! next, as plain server-rendered HTML (inline CSS, no JavaScript, readable on a laptop and
//! a phone). `GET /reports/<sha256>` answers it to browsers and `pipgate scan --format
//! html` writes it to a file: one renderer for both.
//!
//! Owns: rendering a [`ReportPage`] (escaping everything it shows — package content is
//! hostile, and `maud` escapes every value spliced into the markup; links are made only
//! from `http`/`https` URLs), and reading the people and links a page shows from core
//! metadata ([`About::from_metadata`]).
//! Must not: decide (the verdict and the acceptance snippet arrive made), fetch, or read files.

use crate::metadata::CoreMetadata;
use crate::model::{advisory_ids, Category, Decision, Evidence, Exploitation, Finding, Licence, Verdict};
use crate::scan::ScanReport;
use maud::{html, Markup, PreEscaped, DOCTYPE};
use std::collections::BTreeMap;

/// Evidence items shown per finding (the rest are counted; the JSON report has them all).
const EVIDENCE_SHOWN: usize = 12;

/// What pipgate knows about the file, shown at the top.
#[derive(Debug, Clone, Default)]
pub(crate) struct Facts {
    pub project: String,
    pub version: Option<String>,
    pub filename: String,
    /// `wheel`, `sdist` or `other`.
    pub kind: &'static str,
    pub size: Option<u64>,
    pub sha256: String,
    /// Other digests the index gave (algorithm → hex); `sha256` is shown apart.
    pub hashes: BTreeMap<String, String>,
    /// PEP 700 upload time, as the index gave it.
    pub upload_time: Option<String>,
}

impl Facts {
    pub(crate) fn of(facts: &crate::model::ArtifactFacts) -> Facts {
        Facts {
            project: facts.project.clone(),
            version: facts.version.clone(),
            filename: facts.filename.clone(),
            kind: facts.kind.as_str(),
            size: Some(facts.size).filter(|s| *s > 0),
            sha256: facts.sha256.clone(),
            hashes: BTreeMap::new(),
            upload_time: facts.upload_time.clone(),
        }
    }

    fn release(&self) -> String {
        format!("{}=={}", self.project, self.version.as_deref().unwrap_or("?"))
    }
}

/// Who made the package and where it lives, from its core metadata.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct About {
    pub summary: Option<String>,
    /// (field, value): `Author`, `Author-email`, `Maintainer`, `Maintainer-email`.
    pub people: Vec<(String, String)>,
    /// (label, URL): `Home-page`, `Download-URL` and every `Project-URL`.
    pub links: Vec<(String, String)>,
}

impl About {
    /// Read `METADATA` / `PKG-INFO` text (only the fields the page shows).
    pub(crate) fn from_metadata(text: &str) -> About {
        let meta = CoreMetadata::parse(text);
        let mut about = About::default();
        for h in &meta.headers {
            let value = h.value.trim();
            if value.is_empty() || value.eq_ignore_ascii_case("UNKNOWN") {
                continue;
            }
            match h.name.to_ascii_lowercase().as_str() {
                "summary" if about.summary.is_none() => about.summary = Some(value.to_string()),
                "author" | "author-email" | "maintainer" | "maintainer-email" => {
                    about.people.push((h.name.to_string(), value.to_string()));
                }
                "home-page" => about.links.push(("Home page".into(), value.to_string())),
                "download-url" => about.links.push(("Download URL".into(), value.to_string())),
                "project-url" => match value.split_once(',') {
                    Some((label, url)) => about.links.push((label.trim().to_string(), url.trim().to_string())),
                    None => about.links.push(("Project URL".into(), value.to_string())),
                },
                _ => {}
            }
        }
        about
    }
}

/// Behaviours this version has that the previous release of the project did not (filled
/// in by the version diff; absent, the page says "not compared").
#[derive(Debug, Clone, Default)]
pub(crate) struct NewInVersion {
    /// The release compared with (`project==version`).
    pub previous: String,
    /// (finding id, title) of each behaviour new in this version.
    pub findings: Vec<(String, String)>,
}

/// Everything the page shows, made elsewhere.
pub(crate) struct ReportPage<'a> {
    pub facts: Facts,
    pub about: About,
    /// The scan; `None`: held before download (cooldown, deny list, advisory), never scanned.
    pub report: Option<&'a ScanReport>,
    /// The current policy's verdict.
    pub verdict: Option<&'a Verdict>,
    /// Everything the policy weighed: the scan's findings plus the advisories'.
    pub findings: &'a [Finding],
    pub new_in_version: Option<NewInVersion>,
    /// What `pipgate policy accept` prints for this artifact (ready to paste).
    pub acceptance: Option<String>,
    /// What the block message tells the user to do (cooldown date, whom to ask).
    pub remedy: Option<String>,
}

impl NewInVersion {
    /// What the page shows from a comparison with the previous release: each finding the
    /// comparison marks new. `None` when the releases were not compared.
    pub(crate) fn of(project: &str, diff: Option<&crate::model::VersionDiff>, findings: &[Finding]) -> Option<Self> {
        let diff = diff?;
        let crate::model::VersionDiff::Compared { previous_version, .. } = diff else { return None };
        let findings = findings
            .iter()
            .filter(|f| diff.is_new(f) == Some(true))
            .map(|f| (f.detector.clone(), f.title.clone()))
            .collect();
        Some(NewInVersion { previous: format!("{project}=={previous_version}"), findings })
    }
}

/// The whole page.
pub(crate) fn render(page: &ReportPage<'_>) -> String {
    let f = &page.facts;
    let title = format!("{} {} - pipgate report", f.project, f.version.as_deref().unwrap_or(""));
    let (behaviours, rest): (Vec<&Finding>, Vec<&Finding>) =
        page.findings.iter().partition(|x| crate::scan::report::is_behaviour(x.category));
    let (advisories, issues): (Vec<&Finding>, Vec<&Finding>) = rest.into_iter().partition(|x| is_advisory(x));
    let scanned = page.report.is_some();
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="robots" content="noindex";
                title { (title) }
                style { (PreEscaped(CSS)) }
            }
            body {
                header {
                    p.brand { "pipgate report" }
                    h1 { (f.project) " " span.version { (f.version.as_deref().unwrap_or("")) } }
                    p.file { code { (f.filename) } }
                    @if let Some(s) = &page.about.summary { p.summary { (s) } }
                }
                main {
                    (verdict_section(page))
                    (facts_section(page))
                    (new_section(page.new_in_version.as_ref()))
                    (findings_section("behaviours", "Behaviours", "What the code can do, by category; uncommon behaviours first.", &behaviours, scanned))
                    (findings_section("issues", "Issues", "Secrets, metadata and publisher signals.", &issues, scanned))
                    (advisories_section(&advisories))
                    (licence_section(page.report.map(|r| &r.licence)))
                    (next_steps(page))
                }
                footer {
                    @if let Some(r) = page.report {
                        p { "Scanner " (r.scanner_version) ": " (r.stats.members) " members (" (r.stats.text_members) " text, " (r.stats.binary_members) " binary)." }
                    }
                    p { "The same report as JSON: request it with " code { "Accept: application/json" } "; as text: " code { "Accept: text/plain" } "." }
                }
            }
        }
    };
    markup.into_string()
}

/// A page for a scan alone (no verdict, no metadata beyond the report's own).
pub(crate) fn render_scan(report: &ScanReport) -> String {
    let facts = Facts {
        project: report.project.clone().unwrap_or_default(),
        version: report.version.clone(),
        filename: report.filename.clone(),
        kind: report.kind.as_str(),
        ..Facts::default()
    };
    render(&ReportPage {
        facts,
        about: About::default(),
        report: Some(report),
        verdict: None,
        findings: &report.findings,
        new_in_version: None,
        acceptance: None,
        remedy: None,
    })
}

fn is_advisory(f: &Finding) -> bool {
    matches!(f.category, Category::Vulnerability | Category::Malware)
}

fn verdict_section(page: &ReportPage<'_>) -> Markup {
    let Some(v) = page.verdict else {
        return html! {
            section #verdict .verdict { h2 { "Verdict" } p { "No verdict was made for this file." } }
        };
    };
    let (class, headline) = match v.decision {
        Decision::Block => ("verdict block", "Blocked"),
        Decision::Annotate => ("verdict annotate", "Served, with findings to review"),
        Decision::Serve => ("verdict serve", "Served"),
    };
    let incomplete = page.report.and_then(ScanReport::incomplete_reason);
    html! {
        section #verdict class=(class) {
            h2 { "Verdict: " span.decision { (headline) } }
            @if page.report.is_none() {
                p { "This file is held before download: it was not downloaded or scanned." }
            }
            @if let Some(at) = &v.available_at {
                p.hold { "Held by the cooldown until " time { (at) } "." }
            }
            @if let Some(why) = incomplete {
                p.warn { "Incomplete scan: part of the artifact was not scanned (" (why) ")." }
            }
            h3 { "Why" }
            ul.reasons {
                @for r in &v.reasons {
                    li {
                        (r.message) " "
                        code.code { (r.code.to_string()) }
                        @if !r.findings.is_empty() {
                            " - "
                            @for (i, id) in r.findings.iter().enumerate() {
                                @if i > 0 { ", " }
                                a href={ "#" (anchor(id)) } { code { (id) } }
                            }
                        }
                    }
                }
            }
            @if !v.acceptances.is_empty() {
                p {
                    "Acceptances that applied: "
                    @for (i, a) in v.acceptances.iter().enumerate() { @if i > 0 { ", " } code { (a) } }
                }
            }
            @if let Some(r) = &page.remedy { p.remedy { (r) } }
            @if !v.policy_digest.is_empty() {
                p.small { "Policy digest " code { (v.policy_digest) } }
            }
        }
    }
}

fn facts_section(page: &ReportPage<'_>) -> Markup {
    let f = &page.facts;
    html! {
        section #artifact {
            h2 { "Artifact" }
            table.facts {
                tr { th { "Project" } td { (f.project) } }
                tr { th { "Version" } td { (f.version.as_deref().unwrap_or("unknown")) } }
                tr { th { "File" } td { code { (f.filename) } " (" (f.kind) ")" } }
                @if let Some(size) = f.size { tr { th { "Size" } td { (human_bytes(size)) " (" (size) " bytes)" } } }
                tr { th { "sha256" } td { code.hash { (f.sha256) } } }
                @for (algo, h) in f.hashes.iter().filter(|(a, _)| a.as_str() != "sha256") {
                    tr { th { (algo) } td { code.hash { (h) } } }
                }
                tr { th { "Uploaded" } td { (f.upload_time.as_deref().unwrap_or("unknown (the index gave no upload time)")) } }
                @for (field, who) in &page.about.people { tr { th { (field) } td { (who) } } }
                @if page.about.people.is_empty() { tr { th { "Author" } td.muted { "not named in the metadata" } } }
                @for (label, url) in &page.about.links { tr { th { (label) } td { (link(url)) } } }
            }
        }
    }
}

/// A link when the URL is `http(s)`; plain text otherwise (`javascript:` and friends).
fn link(url: &str) -> Markup {
    let safe = url::Url::parse(url).ok().filter(|u| matches!(u.scheme(), "http" | "https"));
    html! {
        @match safe {
            Some(u) => a href=(u.as_str()) rel="nofollow noopener noreferrer" { (url) },
            None => code { (url) },
        }
    }
}

fn new_section(new: Option<&NewInVersion>) -> Markup {
    html! {
        section #new-in-version {
            h2 { "New in this version" }
            @match new {
                None => p.muted { "Not compared: no earlier release of this project was compared with this one." },
                Some(n) if n.findings.is_empty() => p { "Nothing new compared with " code { (n.previous) } "." },
                Some(n) => {
                    p { "Behaviours " code { (n.previous) } " did not have (a long-trusted package suddenly gaining one deserves a close look):" }
                    ul.new {
                        @for (id, title) in &n.findings {
                            li { a href={ "#" (anchor(id)) } { code { (id) } } " " (title) }
                        }
                    }
                }
            }
        }
    }
}

fn findings_section(id: &str, title: &str, blurb: &str, findings: &[&Finding], scanned: bool) -> Markup {
    html! {
        section id=(id) {
            h2 { (title) " " span.count { "(" (findings.len()) ")" } }
            @if findings.is_empty() {
                p.muted { @if scanned { "None found." } @else { "Not scanned." } }
            } @else {
                p.muted { (blurb) }
                @for cat in Category::ALL {
                    @let in_cat = ranked(findings, cat);
                    @if !in_cat.is_empty() {
                        h3.category { (cat.as_str()) " (" (in_cat.len()) ")" }
                        @for (f, p) in in_cat { (finding_card(f, p.as_ref())) }
                    }
                }
            }
        }
    }
}

/// One category's findings with their prevalence: uncommon first, then by severity.
fn ranked<'f>(findings: &[&'f Finding], cat: Category) -> Vec<(&'f Finding, Option<Prevalence>)> {
    let mut out: Vec<(&Finding, Option<Prevalence>)> =
        findings.iter().filter(|f| f.category == cat).map(|f| (*f, prevalence_of(f))).collect();
    out.sort_by_key(|(f, p)| (p.as_ref().is_some_and(|p| p.common), std::cmp::Reverse(f.severity)));
    out
}

/// A behaviour's prevalence among popular projects: the survey's words, and whether common.
struct Prevalence {
    text: String,
    common: bool,
}

/// The one place the page asks for prevalence (advisory findings name a release, not a behaviour).
fn prevalence_of(f: &Finding) -> Option<Prevalence> {
    if is_advisory(f) {
        return None;
    }
    let p = crate::scan::prevalence::shipped(&f.detector)?;
    Some(Prevalence { text: format!("prevalence: {}", p.label()), common: p.common })
}

fn finding_card(f: &Finding, prevalence: Option<&Prevalence>) -> Markup {
    html! {
        article.finding id=(anchor(&f.detector)) {
            h4 {
                span class={ "sev " (f.severity.as_str()) } { (f.severity.as_str()) }
                " " (f.title) " "
                code.id { (f.detector) }
            }
            @if let Some(p) = prevalence {
                p.prevalence {
                    @if p.common { span.tag.common { "common" } } @else { span.tag.uncommon { "uncommon" } }
                    " " (p.text)
                }
            }
            p.message { (f.message) }
            (evidence_table(&f.evidence))
        }
    }
}

fn evidence_table(evidence: &[Evidence]) -> Markup {
    html! {
        @if !evidence.is_empty() {
            div.scroll {
                table.evidence {
                    thead { tr { th { "Where" } th { "Evidence" } th { "Indicator" } th { "Role" } } }
                    tbody {
                        @for e in evidence.iter().take(EVIDENCE_SHOWN) {
                            tr {
                                td { code.path { (location(e)) } }
                                td { @if let Some(s) = &e.snippet { code.snippet { (s) } } }
                                td { @if let Some(i) = &e.indicator { code { (i) } } }
                                td { (crate::scan::findings::role_phrase(e.role)) }
                            }
                        }
                    }
                }
            }
            @if evidence.len() > EVIDENCE_SHOWN {
                p.muted { "... and " (evidence.len() - EVIDENCE_SHOWN) " more locations (the JSON report lists them all)." }
            }
        }
    }
}

/// `path:line:column`, as far as known.
fn location(e: &Evidence) -> String {
    match (e.line, e.column) {
        (Some(l), Some(c)) => format!("{}:{l}:{c}", e.path),
        (Some(l), None) => format!("{}:{l}", e.path),
        _ => e.path.clone(),
    }
}

/// Known vulnerabilities and malware records: exploitation lifecycle and fixed versions.
fn advisories_section(advisories: &[&Finding]) -> Markup {
    html! {
        section #vulnerabilities {
            h2 { "Vulnerabilities and known malware " span.count { "(" (advisories.len()) ")" } }
            @if advisories.is_empty() {
                p.muted { "No advisory record names this release." }
            }
            @for f in advisories {
                @let ids = advisory_ids(f);
                @let status = Exploitation::of(f);
                @let fixed: Vec<&str> = f.evidence.iter().filter(|e| e.path == "fixed-in").filter_map(|e| e.indicator.as_deref()).collect();
                article.finding.advisory id=(anchor(&f.detector)) {
                    h4 {
                        span class={ "sev " (f.severity.as_str()) } { (f.severity.as_str()) }
                        " " (f.title)
                    }
                    @if !ids.is_empty() {
                        p { "Records: " @for (i, id) in ids.iter().enumerate() { @if i > 0 { ", " } code { (id) } } }
                    }
                    @if f.category == Category::Vulnerability {
                        p.small { "Exploitation lifecycle:" }
                        ol.lifecycle {
                            @for step in Exploitation::ALL {
                                @let class = if step == status { "current" } else if step < status { "past" } else { "later" };
                                li class=(class) { (step.to_string()) }
                            }
                        }
                        p {
                            "Fixed in: "
                            @if fixed.is_empty() { "no fixed version known" }
                            @else { @for (i, v) in fixed.iter().enumerate() { @if i > 0 { ", " } code { (v) } } }
                        }
                    }
                    p.message { (f.message) }
                }
            }
        }
    }
}

fn licence_section(licence: Option<&Licence>) -> Markup {
    html! {
        section #licence {
            h2 { "Licence" }
            @match licence {
                None => p.muted { "Not read: the file was not scanned." },
                Some(l) => {
                    p {
                        @match (&l.expression, l.from) {
                            (Some(e), Some(from)) => { code { (e) } " (from " (from.as_str()) ")" },
                            _ if l.sources.is_empty() => "Unknown: no licence metadata and no licence file.",
                            _ => "Unknown: nothing below was recognised as an SPDX licence.",
                        }
                    }
                    @if !l.sources.is_empty() {
                        div.scroll {
                            table {
                                thead { tr { th { "Source" } th { "Recognised as" } th { "Where" } th { "Text" } } }
                                tbody {
                                    @for s in &l.sources {
                                        tr {
                                            td { (s.origin.as_str()) }
                                            td { (s.spdx.as_deref().unwrap_or("not recognised")) }
                                            td { code { (s.path) @if let Some(line) = s.line { ":" (line) } } }
                                            td { (s.text) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn next_steps(page: &ReportPage<'_>) -> Markup {
    let f = &page.facts;
    let mut cats: Vec<Category> = page.findings.iter().map(|x| x.category).collect();
    cats.sort_unstable();
    cats.dedup();
    let blocked = page.verdict.is_some_and(|v| v.decision == Decision::Block);
    let target = if f.sha256.is_empty() { f.release() } else { f.sha256.clone() };
    // A command to paste must not carry shell syntax from a hostile filename.
    let safe = |c: char| c.is_ascii_alphanumeric() || "._+-".contains(c);
    let file = if f.filename.chars().all(safe) { f.filename.as_str() } else { "FILE" };
    let unpack = if f.kind == "sdist" && !file.ends_with(".zip") {
        format!("mkdir inspect && tar -xf {file} -C inspect")
    } else {
        format!("python3 -m zipfile -e {file} inspect/")
    };
    html! {
        section #next-steps {
            h2 { "Next steps" }
            h3 { "Investigate" }
            ol {
                @for c in &cats { li { strong { (c.as_str()) ": " } (crate::scan::report::step_for(*c)) } }
                li {
                    "Read the evidence above in context: unpack the file without installing it (never "
                    code { "pip install" } " it to look)."
                    pre { code { (unpack) } }
                }
                li {
                    "On the pipgate host, every rule and acceptance behind the verdict, and this report again:"
                    pre { code { "pipgate policy explain " (target) "\npipgate scan " (target) " --format html -o report.html" } }
                }
                li { "If a behaviour does not fit the package's purpose, treat the release as a possible supply-chain compromise: hold it until investigated or risk-accepted in the policy." }
            }
            h3 { "Accept the risk" }
            @match (&page.acceptance, blocked) {
                (Some(snippet), true) => {
                    p {
                        "When the review finds it acceptable, paste this into " code { "policy.yaml" }
                        " and replace the TODOs (" code { "pipgate policy accept " (target) } " prints the same; a running pipgate reloads the policy):"
                    }
                    pre.acceptance { code { (snippet) } }
                }
                (_, false) => p.muted { "Nothing to accept: the current policy does not block this file." },
                (None, true) => p { "Run " code { "pipgate policy accept " (target) } " on the pipgate host for a ready-to-paste acceptance." },
            }
        }
    }
}

/// An element id for a finding id: `f-` and the id with everything but ASCII letters and
/// digits as `-` (`network.downloads-file` → `f-network-downloads-file`), so a plain CSS
/// selector reaches it.
fn anchor(id: &str) -> String {
    let clean: String = id.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect();
    format!("f-{clean}")
}

fn human_bytes(n: u64) -> String {
    match n {
        n if n >= 1 << 30 => format!("{:.1} GiB", n as f64 / (1u64 << 30) as f64),
        n if n >= 1 << 20 => format!("{:.1} MiB", n as f64 / (1u64 << 20) as f64),
        n if n >= 1 << 10 => format!("{:.1} KiB", n as f64 / 1024.0),
        n => format!("{n} B"),
    }
}

/// The page's only style: light and dark, one column, tables scroll sideways on a phone.
const CSS: &str = r#"
:root{--fg:#1d232a;--muted:#5b6570;--bg:#fff;--card:#f6f8fa;--line:#d8dee4;--block:#b42318;--annotate:#b54708;--serve:#067647;--link:#175cd3}
@media (prefers-color-scheme:dark){:root{--fg:#e6e9ec;--muted:#9aa4ae;--bg:#111418;--card:#1a1f25;--line:#2d343c;--block:#f97066;--annotate:#fdb022;--serve:#47cd89;--link:#84adff}}
*{box-sizing:border-box}
body{margin:0 auto;max-width:64rem;padding:1rem;font:16px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;color:var(--fg);background:var(--bg)}
a{color:var(--link)}
h1{margin:.2rem 0;font-size:1.8rem;overflow-wrap:anywhere}
h1 .version{color:var(--muted);font-weight:400}
h2{margin-top:2rem;border-bottom:1px solid var(--line);padding-bottom:.3rem;font-size:1.3rem}
h3{font-size:1.05rem;margin:1.2rem 0 .4rem}
h4{margin:0 0 .4rem;font-size:1rem}
code,pre{font:.9em/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;overflow-wrap:anywhere}
pre{background:var(--card);border:1px solid var(--line);border-radius:6px;padding:.7rem;overflow-x:auto;white-space:pre}
pre code{overflow-wrap:normal}
.brand,.muted,.small,footer{color:var(--muted)}
.small{font-size:.85rem}
.file{margin:.2rem 0}
.verdict{border-left:6px solid var(--muted);background:var(--card);border-radius:6px;padding:.2rem 1rem .6rem}
.verdict.block{border-color:var(--block)}.verdict.block .decision{color:var(--block)}
.verdict.annotate{border-color:var(--annotate)}.verdict.annotate .decision{color:var(--annotate)}
.verdict.serve{border-color:var(--serve)}.verdict.serve .decision{color:var(--serve)}
.warn{color:var(--annotate);font-weight:600}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;vertical-align:top;padding:.35rem .5rem;border-bottom:1px solid var(--line)}
.facts th{width:10rem;color:var(--muted);font-weight:500}
.hash{word-break:break-all}
.scroll{overflow-x:auto}
.evidence td,.evidence th{font-size:.9rem}
.finding{background:var(--card);border:1px solid var(--line);border-radius:6px;padding:.7rem 1rem;margin:.6rem 0}
.finding .id{color:var(--muted);font-size:.8rem}
.sev{display:inline-block;border-radius:4px;padding:0 .4rem;font-size:.8rem;text-transform:uppercase;color:#fff;background:#667085}
.sev.critical{background:#912018}.sev.high{background:#d92d20}.sev.medium{background:#dc6803}.sev.low{background:#475467}.sev.info{background:#98a2b3;color:#101828}
.tag{display:inline-block;border-radius:4px;padding:0 .4rem;font-size:.8rem;border:1px solid currentColor}
.tag.uncommon{color:var(--block)}.tag.common{color:var(--serve)}
.lifecycle{display:flex;flex-wrap:wrap;gap:.3rem;list-style:none;padding:0;margin:.2rem 0}
.lifecycle li{border:1px solid var(--line);border-radius:4px;padding:.1rem .5rem;font-size:.85rem;color:var(--muted)}
.lifecycle li.past{color:var(--fg)}
.lifecycle li.current{background:var(--block);border-color:var(--block);color:#fff;font-weight:600}
@media (max-width:40rem){body{padding:.6rem}h1{font-size:1.4rem}.facts th{width:auto}.facts th,.facts td{display:block;border:0;padding:.1rem 0}.facts tr{display:block;border-bottom:1px solid var(--line);padding:.3rem 0}}
"#;

#[cfg(test)]
mod tests;
