//! The operator's dashboard, `GET /-/`: recent decisions (filtered by outcome, project and
//! client), decisions per hour over the last 24 hours, top findings of the last 7 days,
//! acceptances expiring within 30 days, cooldown holds in force, upstream health and the
//! artifact cache's size. One server-rendered HTML page (maud: every value is escaped, as
//! package names and reasons are outside text), plain CSS, no JavaScript.
//!
//! Owns: the page's query parameters, what it reads (the store's audit index, never the
//! JSON-lines log; the policy in force; the upstream's health; the measured cache size)
//! and its rendering. Must not: decide, write anything, or fetch from the upstream.

use crate::app::App;
use crate::model::normalize_project_name;
use crate::store::{DecisionFilter, DecisionRow, HourCount};
use maud::{html, Markup, DOCTYPE};
use time::OffsetDateTime;

/// Rows in the recent-decisions table.
const RECENT: usize = 100;
/// Acceptances expiring within this many days are listed.
const ACCEPTANCE_DAYS: i64 = 30;
/// Hours in the counts-over-time chart.
const HOURS: i64 = 24;
/// Top findings are counted over this many days.
const FINDING_DAYS: i64 = 7;

/// The outcomes a filter may name: (query value, stored outcome, label).
const OUTCOMES: [(&str, &str, &str); 4] = [
    ("served", "serve", "served"),
    ("annotated", "annotate", "annotated"),
    ("blocked", "block", "blocked"),
    ("error", "error", "error"),
];

/// The dashboard's filters, from the query string (`outcome=blocked|annotated|served|error`,
/// `project=NAME` (normalised), `client=IP`); empty values mean no filter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Filters {
    /// The stored outcome (`block`, …).
    pub outcome: Option<&'static str>,
    pub project: Option<String>,
    pub client: Option<String>,
    /// Parameters that were not understood (shown on the page, not an error).
    pub ignored: Vec<String>,
}

impl Filters {
    pub(crate) fn parse(query: Option<&str>) -> Filters {
        let mut f = Filters::default();
        for (k, v) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
            let v = v.trim();
            if v.is_empty() {
                continue;
            }
            match k.as_ref() {
                "outcome" => match OUTCOMES.iter().find(|o| o.0 == v || o.1 == v) {
                    Some(o) => f.outcome = Some(o.1),
                    None => f.ignored.push(format!("outcome={v}")),
                },
                "project" => f.project = Some(normalize_project_name(v)),
                "client" => f.client = Some(v.to_string()),
                other => f.ignored.push(format!("{other}={v}")),
            }
        }
        f
    }

    fn query(&self, limit: usize) -> DecisionFilter {
        DecisionFilter {
            outcome: self.outcome.map(str::to_string),
            project: self.project.clone(),
            client: self.client.clone(),
            limit,
        }
    }
}

/// Everything the page shows, read once per request.
struct View {
    now: OffsetDateTime,
    filters: Filters,
    recent: Result<Vec<DecisionRow>, String>,
    hours: Result<Vec<HourCount>, String>,
    findings: Result<Vec<(String, u64)>, String>,
    holds: Result<Vec<DecisionRow>, String>,
    acceptances: Vec<crate::policy::AcceptanceDue>,
    policy_digest: String,
    upstream: String,
    health: crate::upstream::Health,
    last_answer: Option<std::time::Duration>,
    cache_bytes: Option<u64>,
    index_lost: u64,
}

fn text<T>(r: Result<T, crate::store::StoreError>) -> Result<T, String> {
    r.map_err(|e| e.to_string())
}

/// The dashboard for the query string `query`, as HTML.
pub(crate) async fn page(app: &App, query: Option<&str>) -> String {
    let now = OffsetDateTime::now_utc();
    let filters = Filters::parse(query);
    let index = &app.audit_index;
    let (recent, hours, findings, holds, cache_bytes) = tokio::join!(
        index.recent_decisions(filters.query(RECENT)),
        index.hourly_counts(now.unix_timestamp() - (HOURS - 1) * 3600),
        index.top_findings(now.unix_timestamp() - FINDING_DAYS * 24 * 3600, 10),
        index.cooldown_holds(now.unix_timestamp(), 100),
        app.cache_size(),
    );
    let policy = app.policy_now();
    let view = View {
        now,
        filters,
        recent: text(recent),
        hours: text(hours),
        findings: text(findings),
        holds: text(holds),
        acceptances: policy.acceptances_due(now, time::Duration::days(ACCEPTANCE_DAYS)),
        policy_digest: policy.digest.chars().take(12).collect(),
        upstream: app.upstream_display(),
        health: app.upstream_health(),
        last_answer: app.upstream_last_answer(),
        cache_bytes,
        index_lost: crate::metrics::audit_index_failures(),
    };
    render(&view).into_string()
}

const CSS: &str = "
body{font-family:system-ui,sans-serif;margin:0 auto;max-width:78rem;padding:1rem;color:#1b1f24;background:#fafafa}
h1{font-size:1.4rem;margin:.2rem 0}h2{font-size:1.1rem;margin:1.4rem 0 .5rem;border-bottom:1px solid #ddd}
.meta{color:#555;font-size:.85rem}.warn{background:#fff3cd;border:1px solid #e0c36a;padding:.4rem .6rem}
table{border-collapse:collapse;width:100%;font-size:.85rem;background:#fff}
th,td{text-align:left;padding:.25rem .4rem;border-bottom:1px solid #eee;vertical-align:top;overflow-wrap:break-word}
.scroll{overflow-x:auto}.nowrap{white-space:nowrap}
.o-block{color:#a40e26;font-weight:600}.o-annotate{color:#8a5300}.o-serve{color:#116329}.o-error{color:#6e40c9}
form{display:flex;flex-wrap:wrap;gap:.5rem;align-items:end;margin:.5rem 0}label{font-size:.8rem;display:flex;flex-direction:column}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(20rem,1fr));gap:0 1.5rem}
.chart{display:flex;align-items:flex-end;gap:2px;height:9rem;border-bottom:1px solid #999;background:#fff}
.bar{flex:1;display:flex;flex-direction:column-reverse;height:100%}
.seg-serve{background:#6cc27d}.seg-annotate{background:#e3b341}.seg-block{background:#d1242f}.seg-error{background:#8250df}
.hours{display:flex;gap:2px;font-size:.6rem;color:#555}.hours span{flex:1;text-align:center}
.legend span{margin-right:.8rem;font-size:.8rem}.legend i{display:inline-block;width:.7rem;height:.7rem;margin-right:.2rem}
code{font-size:.8rem}
";

fn render(v: &View) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "pipgate dashboard" }
                style { (maud::PreEscaped(CSS)) }
            }
            body {
                h1 { "pipgate dashboard" }
                p.meta {
                    "As of " (crate::timefmt::rfc3339(v.now)) " · policy " code { (v.policy_digest) }
                    " · pipgate " (env!("CARGO_PKG_VERSION"))
                }
                @if v.index_lost > 0 {
                    p.warn {
                        (v.index_lost) " decision(s) since start-up did not reach the dashboard's index; "
                        "the audit log (" code { "pipgate audit" } ") has every one."
                    }
                }
                div.grid {
                    section { h2 { "Decisions per hour (last 24 h, UTC)" } (chart(v)) }
                    section { h2 { "Top findings (last " (FINDING_DAYS) " days)" } (top_findings(v)) }
                }
                section id="recent" { h2 { "Recent decisions" } (filter_form(&v.filters)) (recent(v)) }
                div.grid {
                    section id="acceptances" { h2 { "Acceptances expiring within " (ACCEPTANCE_DAYS) " days" } (acceptances(v)) }
                    section id="holds" { h2 { "Cooldown holds in force" } (holds(v)) }
                    section id="health" { h2 { "Upstream and cache" } (health(v)) }
                }
            }
        }
    }
}

fn failed(what: &str, e: &str) -> Markup {
    html! { p.warn { (what) " could not be read: " (e) } }
}

fn outcome_label(outcome: &str) -> &str {
    OUTCOMES.iter().find(|o| o.1 == outcome).map_or(outcome, |o| o.2)
}

fn filter_form(f: &Filters) -> Markup {
    html! {
        form method="get" action="/-/" {
            label { "Outcome"
                select name="outcome" {
                    option value="" selected[f.outcome.is_none()] { "any" }
                    @for (value, stored, label) in OUTCOMES {
                        option value=(value) selected[f.outcome == Some(stored)] { (label) }
                    }
                }
            }
            label { "Project" input type="text" name="project" value=(f.project.as_deref().unwrap_or("")); }
            label { "Client IP" input type="text" name="client" value=(f.client.as_deref().unwrap_or("")); }
            button type="submit" { "Filter" }
            a href="/-/" { "clear" }
        }
        @if !f.ignored.is_empty() {
            p.warn { "Ignored (not understood): " (f.ignored.join(", ")) }
        }
    }
}

fn recent(v: &View) -> Markup {
    let rows = match &v.recent {
        Err(e) => return failed("Decisions", e),
        Ok(rows) => rows,
    };
    html! {
        @if rows.is_empty() {
            p { "No decisions match." }
        } @else {
            div.scroll { table {
                thead { tr { th { "Time" } th { "Outcome" } th { "Project" } th { "Version" } th { "File" }
                    th { "Client" } th { "Findings" } th { "Why" } th { "Report" } } }
                tbody {
                    @for r in rows {
                        tr class={ "row-" (r.outcome) } {
                            td.nowrap { (r.time.get(..19).unwrap_or(&r.time).replace('T', " ")) }
                            td class={ "nowrap o-" (r.outcome) } { (outcome_label(&r.outcome)) @if r.request != "file" { " (" (r.request) ")" } }
                            td { a href={ "/-/?project=" (urlencode(&r.project)) } { (r.project) } }
                            td { (r.version.as_deref().unwrap_or("-")) }
                            td { (r.filename) }
                            td { (r.client) @if let Some(u) = &r.user { " · " (u) } }
                            td { @for f in &r.findings { code { (f) } " " } }
                            td title=(r.reason.as_deref().unwrap_or("")) { (r.rule.as_deref().unwrap_or("-")) }
                            td { @if let Some(sha) = &r.sha256 { a.report href={ "/reports/" (sha) } { "report" } } }
                        }
                    }
                }
            } }
            p.meta { "Newest " (rows.len()) " shown (at most " (RECENT) "); " code { "pipgate audit" } " reads the whole log." }
        }
    }
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn chart(v: &View) -> Markup {
    let counts = match &v.hours {
        Err(e) => return failed("Counts", e),
        Ok(c) => c,
    };
    let last = v.now.unix_timestamp().div_euclid(3600);
    let hours: Vec<i64> = (last - HOURS + 1..=last).collect();
    let of = |h: i64, o: &str| counts.iter().find(|c| c.hour == h && c.outcome == o).map_or(0, |c| c.count);
    let total = |h: i64| counts.iter().filter(|c| c.hour == h).map(|c| c.count).sum::<u64>();
    let max = hours.iter().map(|&h| total(h)).max().unwrap_or(0).max(1);
    let sum: u64 = hours.iter().map(|&h| total(h)).sum();
    html! {
        div.chart role="img" aria-label={ (sum) " decisions in the last 24 hours" } {
            @for &h in &hours {
                div.bar title={ (hour_label(h)) ":00 UTC: " (total(h)) " decisions" } {
                    @for (_, stored, _) in OUTCOMES {
                        @let n = of(h, stored);
                        @if n > 0 {
                            div class={ "seg-" (stored) } style={ "height:" (format!("{:.2}", n as f64 * 100.0 / max as f64)) "%" } {}
                        }
                    }
                }
            }
        }
        div.hours { @for &h in &hours { span { @if h % 3 == 0 { (hour_label(h)) } } } }
        p.legend {
            @for (_, stored, label) in OUTCOMES {
                @let n: u64 = hours.iter().map(|&h| of(h, stored)).sum();
                span { i class={ "seg-" (stored) } {} (label) " " (n) }
            }
        }
    }
}

fn hour_label(hour: i64) -> String {
    format!("{:02}", hour.rem_euclid(24))
}

fn top_findings(v: &View) -> Markup {
    match &v.findings {
        Err(e) => failed("Findings", e),
        Ok(f) if f.is_empty() => html! { p { "No findings." } },
        Ok(f) => html! {
            table { thead { tr { th { "Finding" } th { "Decisions" } } }
                tbody { @for (id, n) in f { tr { td { code { (id) } } td { (n) } } } } }
        },
    }
}

fn acceptances(v: &View) -> Markup {
    if v.acceptances.is_empty() {
        return html! { p { "None." } };
    }
    html! {
        table { thead { tr { th { "Acceptance" } th { "Expires" } th { "Owner" } th { "Covers" } } }
            tbody {
                @for a in &v.acceptances {
                    tr {
                        td { code { (a.id) } br; (a.ticket) }
                        td { (crate::timefmt::rfc3339(a.expires)) @if a.expires <= v.now { " " strong.o-block { "expired" } } }
                        td { (a.owner) }
                        td { (a.scope) }
                    }
                }
            }
        }
    }
}

fn holds(v: &View) -> Markup {
    match &v.holds {
        Err(e) => failed("Holds", e),
        Ok(h) if h.is_empty() => html! { p { "None." } },
        Ok(h) => html! {
            table { thead { tr { th { "Release" } th { "Available from" } } }
                tbody {
                    @for r in h {
                        tr {
                            td { (r.project) " " (r.version.as_deref().unwrap_or("")) }
                            td { (r.until.and_then(|u| OffsetDateTime::from_unix_timestamp(u).ok()).map(crate::timefmt::rfc3339).unwrap_or_default()) }
                        }
                    }
                }
            }
        },
    }
}

fn health(v: &View) -> Markup {
    html! {
        table {
            tr { th { "Upstream" } td { code { (v.upstream) } } }
            tr { th { "Last answer" } td { @match v.last_answer {
                Some(age) => { (age.as_secs()) " s ago" },
                None => { "none since start-up" },
            } } }
            tr { th { "Last response time" } td { @match &v.health.last_latency {
                Some((took, at)) => { (took.as_millis()) " ms (" (at) ")" },
                None => { "-" },
            } } }
            tr { th { "Last upstream error" } td { @match &v.health.last_error {
                Some((what, at)) => { span.o-block { (what) } " (" (at) ")" },
                None => { "none since start-up" },
            } } }
            tr { th { "Artifact cache" } td { @match v.cache_bytes {
                Some(b) => { (human_bytes(b)) " (measured at most once a minute)" },
                None => { "unknown" },
            } } }
        }
    }
}

fn human_bytes(b: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = b as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{b} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_are_read_from_the_query_string() {
        let cases = [
            ("none", None, Filters::default()),
            ("blocked", Some("outcome=blocked"), Filters { outcome: Some("block"), ..Filters::default() }),
            ("stored spelling", Some("outcome=annotate"), Filters { outcome: Some("annotate"), ..Filters::default() }),
            (
                "project is normalised, client kept",
                Some("project=Demo_Hook&client=10.0.0.7"),
                Filters { project: Some("demo-hook".into()), client: Some("10.0.0.7".into()), ..Filters::default() },
            ),
            ("empty values are no filter", Some("outcome=&project=&client="), Filters::default()),
            (
                "unknown outcome and parameter are reported",
                Some("outcome=maybe&x=1"),
                Filters { ignored: vec!["outcome=maybe".into(), "x=1".into()], ..Filters::default() },
            ),
            (
                "percent-encoding",
                Some("project=Demo%2EEvil&client=%3A%3A1"),
                Filters { project: Some("demo-evil".into()), client: Some("::1".into()), ..Filters::default() },
            ),
        ];
        for (case, query, want) in cases {
            assert_eq!(Filters::parse(query), want, "{case}");
        }
    }

    #[test]
    fn sizes_read_as_people_read_them() {
        for (case, bytes, want) in
            [("bytes", 512, "512 B"), ("kibibytes", 1536, "1.5 KiB"), ("gibibytes", 3 << 30, "3.0 GiB")]
        {
            assert_eq!(human_bytes(bytes), want, "{case}");
        }
    }

    fn view() -> View {
        let now = time::macros::datetime!(2026-11-30 12:30 UTC);
        let hostile = DecisionRow {
            time: "2026-11-30T12:00:00Z".into(),
            unix: now.unix_timestamp() - 1800,
            outcome: "block".into(),
            request: "file".into(),
            project: "evil<script>alert(1)</script>".into(),
            version: Some("1.0\"><img src=x onerror=alert(2)>".into()),
            filename: "evil-1.0.tar.gz".into(),
            sha256: Some("ab".repeat(32)),
            client: "10.0.0.7".into(),
            user: Some("alice".into()),
            findings: vec!["execution.install-hook".into()],
            all_findings: vec![],
            rule: Some("rule:install-time-high".into()),
            reason: Some("because".into()),
            until: None,
        };
        let hour = now.unix_timestamp().div_euclid(3600);
        View {
            now,
            filters: Filters { outcome: Some("block"), ..Filters::default() },
            recent: Ok(vec![hostile]),
            hours: Ok(vec![
                HourCount { hour, outcome: "serve".into(), count: 30 },
                HourCount { hour, outcome: "block".into(), count: 10 },
                HourCount { hour: hour - 2, outcome: "annotate".into(), count: 20 },
            ]),
            findings: Ok(vec![("execution.install-hook".into(), 10)]),
            holds: Err("store: read cooldown holds: disk I/O error".into()),
            acceptances: vec![],
            policy_digest: "0123456789ab".into(),
            upstream: "http://127.0.0.1:9/simple/".into(),
            health: Default::default(),
            last_answer: None,
            cache_bytes: Some(2048),
            index_lost: 3,
        }
    }

    /// Package names and versions are outside text: the page escapes them; the chart's bars
    /// are sized against the busiest hour; a failed read shows as a warning, not a 500.
    #[test]
    fn the_page_escapes_outside_text_and_scales_the_chart() {
        let html = render(&view()).into_string();
        let cases = [
            ("script escaped", "evil&lt;script&gt;alert(1)&lt;/script&gt;", true),
            ("no raw script", "<script>alert(1)", false),
            ("attribute-breaking version escaped", "1.0&quot;&gt;&lt;img src=x onerror=alert(2)&gt;", true),
            ("no raw img", "<img src=x", false),
            ("report link", &format!("href=\"/reports/{}\"", "ab".repeat(32)), true),
            ("busiest hour's serve share", "class=\"seg-serve\" style=\"height:75.00%\"", true),
            ("annotate hour against the busiest", "class=\"seg-annotate\" style=\"height:50.00%\"", true),
            ("selected filter", "<option value=\"blocked\" selected>", true),
            ("failed read is a warning", "Holds could not be read: store: read cooldown holds", true),
            ("lost index rows are said", "3 decision(s) since start-up did not reach", true),
            ("cache size", "2.0 KiB", true),
        ];
        for (case, needle, present) in cases {
            assert_eq!(html.contains(needle), present, "{case}: {needle:?} in\n{html}");
        }
    }
}
