//! The process's Prometheus metrics (`GET /metrics`, OpenMetrics text via `prometheus-client`).
//!
//! Owns: the one registry, every metric's name, help text and labels, and the small
//! functions call sites use to count (`metrics::request(…)`, `metrics::scanned(…)`, …).
//! A process serves one [`crate::App`], so the registry is process-wide.
//! Must not: decide, log, or do I/O; labels come from fixed vocabularies (routes, outcomes,
//! detector ids), never from request text (no unbounded label sets).
//!
//! | metric | labels | counted where |
//! |---|---|---|
//! | `pipgate_http_requests_total` | `route`, `status` | `server::finish`, every answer |
//! | `pipgate_cache_requests_total` | `cache` (`page`, `artifact`, `memory`), `result` (`hit`, `miss`) | `index`, `artifact` |
//! | `pipgate_upstream_response_seconds` | `kind` (`page`, `file`) | `upstream`, time to response headers |
//! | `pipgate_upstream_errors_total` | `kind` | `upstream`: transport failures and 5xx |
//! | `pipgate_scan_duration_seconds`, `pipgate_scanned_bytes_total` | | `gate`, each scan run |
//! | `pipgate_scans_running` | | `gate`: scans in progress (one per sha256; an overdue one still counts) |
//! | `pipgate_scan_waits_overdue_total` | | `gate`: requests that stopped waiting for a scan past `max_scan_seconds` and failed closed |
//! | `pipgate_findings_total` | `detector` | `gate`, each scan run's findings |
//! | `pipgate_verdicts_total` | `outcome` (`serve`, `annotate`, `block`, `error`) | `server::finish`, artifact decisions |
//! | `pipgate_policy_reloads_total` | `result` (`ok`, `failed`) | `reload` |
//! | `pipgate_audit_write_failures_total` | | `server::finish` (the JSONL append failed) |
//! | `pipgate_audit_trail_write_failures_total` | | `server::finish` (the shared trail's commit failed) |
//! | `pipgate_audit_index_write_failures_total` | | `app`: decision rows the store's index lost |
//! | `pipgate_artifact_cache_bytes` | | `app`, when the artifact folder is measured |
//! | `pipgate_memory_cache_bytes` | | `artifact`: bytes of small artifacts kept in memory (lookups: `pipgate_cache_requests_total{cache="memory"}`) |
//! | `pipgate_prescans_total`, `pipgate_prescan_duration_seconds` | `outcome` (`serve`, `annotate`, `block`, `failed`, `abandoned`) | `prescan`, each pre-scan that ended |
//! | `pipgate_prescan_pending`, `pipgate_prescan_running` | | `prescan`: started and not ended (waiting for a permit or running), and those holding a permit |
//! | `pipgate_prescan_yield_seconds` | | `prescan`: how long each background pre-scan deferred to client requests before it started (`--prescan-yield`) |
//! | `pipgate_pages_refreshed_total` | | `server::refresh`: project pages re-rendered in the background after a verdict changed their listing |
//! | `pipgate_prescan_page_waits_total`, `pipgate_prescan_page_wait_seconds` | `result` (`done`, `deadline`) | `prescan`: a page's wait for its newest version's pre-scans |

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use std::sync::LazyLock;
use std::time::Duration;

/// The content type of [`render`]'s text.
pub(crate) const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteStatus {
    route: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CacheResult {
    cache: &'static str,
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Kind {
    kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Outcome {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Detector {
    detector: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct WaitResult {
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReloadResult {
    result: &'static str,
}

fn upstream_histogram() -> Histogram {
    // 5 ms … ~41 s
    Histogram::new(exponential_buckets(0.005, 2.0, 14))
}

fn prescan_histogram() -> Histogram {
    // 10 ms … ~164 s: a pre-scan downloads and scans a file.
    Histogram::new(exponential_buckets(0.01, 2.0, 15))
}

fn page_wait_histogram() -> Histogram {
    // 5 ms … ~10 s: a page waits at most `--prescan-wait`.
    Histogram::new(exponential_buckets(0.005, 2.0, 12))
}

struct Metrics {
    registry: Registry,
    requests: Family<RouteStatus, Counter>,
    cache: Family<CacheResult, Counter>,
    upstream_seconds: Family<Kind, Histogram, fn() -> Histogram>,
    upstream_errors: Family<Kind, Counter>,
    scan_seconds: Histogram,
    scanned_bytes: Counter,
    scans_running: Gauge,
    scans_overdue: Counter,
    findings: Family<Detector, Counter>,
    verdicts: Family<Outcome, Counter>,
    reloads: Family<ReloadResult, Counter>,
    audit_failures: Counter,
    trail_failures: Counter,
    index_failures: Counter,
    cache_bytes: Gauge,
    memory_bytes: Gauge,
    prescans: Family<Outcome, Counter>,
    prescan_seconds: Family<Outcome, Histogram, fn() -> Histogram>,
    prescan_pending: Gauge,
    prescan_running: Gauge,
    prescan_yield_seconds: Histogram,
    page_waits: Family<WaitResult, Counter>,
    pages_refreshed: Counter,
    page_wait_seconds: Family<WaitResult, Histogram, fn() -> Histogram>,
}

impl Metrics {
    fn new() -> Metrics {
        let mut registry = Registry::with_prefix("pipgate");
        let m = Metrics {
            requests: Family::default(),
            cache: Family::default(),
            upstream_seconds: Family::new_with_constructor(upstream_histogram as fn() -> Histogram),
            upstream_errors: Family::default(),
            // 1 ms … ~33 s
            scan_seconds: Histogram::new(exponential_buckets(0.001, 2.0, 16)),
            scanned_bytes: Counter::default(),
            scans_running: Gauge::default(),
            scans_overdue: Counter::default(),
            findings: Family::default(),
            verdicts: Family::default(),
            reloads: Family::default(),
            audit_failures: Counter::default(),
            trail_failures: Counter::default(),
            index_failures: Counter::default(),
            cache_bytes: Gauge::default(),
            memory_bytes: Gauge::default(),
            prescans: Family::default(),
            prescan_seconds: Family::new_with_constructor(prescan_histogram as fn() -> Histogram),
            prescan_pending: Gauge::default(),
            prescan_running: Gauge::default(),
            prescan_yield_seconds: prescan_histogram(),
            page_waits: Family::default(),
            pages_refreshed: Counter::default(),
            page_wait_seconds: Family::new_with_constructor(page_wait_histogram as fn() -> Histogram),
            registry: Registry::default(),
        };
        registry.register("http_requests", "Requests answered, by route and HTTP status", m.requests.clone());
        registry.register(
            "cache_requests",
            "Page and artifact cache lookups, by cache and hit or miss",
            m.cache.clone(),
        );
        registry.register(
            "upstream_response_seconds",
            "Time from sending a request to the upstream to its response headers",
            m.upstream_seconds.clone(),
        );
        registry.register(
            "upstream_errors",
            "Upstream requests that failed (transport errors and 5xx answers)",
            m.upstream_errors.clone(),
        );
        registry.register("scan_duration_seconds", "Time to scan one artifact", m.scan_seconds.clone());
        registry.register("scanned_bytes", "Uncompressed bytes read by the scanner", m.scanned_bytes.clone());
        registry.register(
            "scans_running",
            "Scans in progress (one per sha256, however many requests wait; an overdue scan still counts)",
            m.scans_running.clone(),
        );
        registry.register(
            "scan_waits_overdue",
            "Requests that stopped waiting for a scan still running past max_scan_seconds (and failed closed)",
            m.scans_overdue.clone(),
        );
        registry.register("findings", "Findings in scanned artifacts, by detector", m.findings.clone());
        registry.register("verdicts", "Artifact decisions, by outcome", m.verdicts.clone());
        registry.register("policy_reloads", "Policy reloads, by result (ok, failed)", m.reloads.clone());
        registry.register(
            "audit_write_failures",
            "Decisions whose audit-log append failed (a served decision is then refused)",
            m.audit_failures.clone(),
        );
        registry.register(
            "audit_trail_write_failures",
            "Decisions the shared audit trail (PostgreSQL) could not commit (a served decision is then refused)",
            m.trail_failures.clone(),
        );
        registry.register(
            "audit_index_write_failures",
            "Decision rows the store's audit index could not keep (the JSONL log still has them)",
            m.index_failures.clone(),
        );
        registry.register(
            "artifact_cache_bytes",
            "Bytes in the artifact cache folder, as last measured",
            m.cache_bytes.clone(),
        );
        registry.register(
            "memory_cache_bytes",
            "Bytes of small verified artifacts kept in memory for serving",
            m.memory_bytes.clone(),
        );
        registry.register(
            "prescans",
            "Pre-scans of page candidates that ended, by outcome (the verdict, failed, or abandoned at shutdown)",
            m.prescans.clone(),
        );
        registry.register(
            "prescan_duration_seconds",
            "Time from a pre-scan's permit to its end (download, verify, scan, decide), by outcome",
            m.prescan_seconds.clone(),
        );
        registry.register(
            "prescan_pending",
            "Pre-scans started and not ended: waiting for a permit, or running",
            m.prescan_pending.clone(),
        );
        registry.register("prescan_running", "Pre-scans holding a permit now", m.prescan_running.clone());
        registry.register(
            "prescan_yield_seconds",
            "How long background pre-scans deferred to client requests before they started",
            m.prescan_yield_seconds.clone(),
        );
        registry.register(
            "pages_refreshed",
            "Project pages re-rendered in the background after a verdict changed what they list",
            m.pages_refreshed.clone(),
        );
        registry.register(
            "prescan_page_waits",
            "Page requests that waited for their newest version's pre-scans, by result (done, deadline passed)",
            m.page_waits.clone(),
        );
        registry.register(
            "prescan_page_wait_seconds",
            "How long a page waited for its newest version's pre-scans",
            m.page_wait_seconds.clone(),
        );
        Metrics { registry, ..m }
    }
}

static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);

/// One answered request. `route` is a fixed name (see `server::router::route_name`).
pub(crate) fn request(route: &'static str, status: u16) {
    METRICS.requests.get_or_create(&RouteStatus { route, status }).inc();
}

/// One cache lookup: `cache` is `page` or `artifact`.
pub(crate) fn cache(cache: &'static str, hit: bool) {
    let result = if hit { "hit" } else { "miss" };
    METRICS.cache.get_or_create(&CacheResult { cache, result }).inc();
}

/// The upstream answered a `kind` request (`page`, `file`) after `elapsed`.
pub(crate) fn upstream_response(kind: &'static str, elapsed: Duration) {
    METRICS.upstream_seconds.get_or_create(&Kind { kind }).observe(elapsed.as_secs_f64());
}

/// An upstream request failed.
pub(crate) fn upstream_error(kind: &'static str) {
    METRICS.upstream_errors.get_or_create(&Kind { kind }).inc();
}

/// One scan run: its time, the uncompressed bytes read, and its findings' detector ids.
pub(crate) fn scanned<'a>(elapsed: Duration, bytes: u64, detectors: impl IntoIterator<Item = &'a str>) {
    METRICS.scan_seconds.observe(elapsed.as_secs_f64());
    METRICS.scanned_bytes.inc_by(bytes);
    for d in detectors {
        METRICS.findings.get_or_create(&Detector { detector: d.to_string() }).inc();
    }
}

/// A scan runs until the returned value drops.
pub(crate) fn scan_running() -> Held {
    METRICS.scans_running.inc();
    Held(&METRICS.scans_running)
}

/// A request stopped waiting for a scan past its bound (and fails closed).
pub(crate) fn scan_overdue() {
    METRICS.scans_overdue.inc();
}

/// One artifact decision: `serve`, `annotate`, `block` or `error`.
pub(crate) fn verdict(outcome: &str) {
    let outcome = match outcome {
        "serve" => "serve",
        "annotate" => "annotate",
        "block" => "block",
        _ => "error",
    };
    METRICS.verdicts.get_or_create(&Outcome { outcome }).inc();
}

/// A policy reload was attempted.
pub(crate) fn policy_reload(ok: bool) {
    METRICS.reloads.get_or_create(&ReloadResult { result: if ok { "ok" } else { "failed" } }).inc();
}

/// An audit-log append failed.
pub(crate) fn audit_write_failed() {
    METRICS.audit_failures.inc();
}

/// A commit to the shared audit trail failed.
pub(crate) fn audit_trail_write_failed() {
    METRICS.trail_failures.inc();
}

/// `rows` decision rows did not reach the store's audit index.
pub(crate) fn audit_index_write_failed(rows: u64) {
    METRICS.index_failures.inc_by(rows);
}

/// Decision rows lost by the audit index since start-up (the dashboard says so).
pub(crate) fn audit_index_failures() -> u64 {
    METRICS.index_failures.get()
}

/// The artifact folder's size, as measured.
pub(crate) fn artifact_cache_bytes(bytes: u64) {
    METRICS.cache_bytes.set(i64::try_from(bytes).unwrap_or(i64::MAX));
}

/// The bytes of artifacts held in memory.
pub(crate) fn memory_cache_bytes(bytes: u64) {
    METRICS.memory_bytes.set(i64::try_from(bytes).unwrap_or(i64::MAX));
}

/// Holds one unit of a gauge; gives it back when dropped (however the holder ends).
pub(crate) struct Held(&'static Gauge);

impl Drop for Held {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// A pre-scan was started (it may wait for a permit): pending until the returned value drops.
pub(crate) fn prescan_pending() -> Held {
    METRICS.prescan_pending.inc();
    Held(&METRICS.prescan_pending)
}

/// A pre-scan holds its permit: running until the returned value drops.
pub(crate) fn prescan_running() -> Held {
    METRICS.prescan_running.inc();
    Held(&METRICS.prescan_running)
}

/// A pre-scan ended after `elapsed`: `serve`, `annotate`, `block`, `failed` or `abandoned`.
pub(crate) fn prescan_ended(outcome: &str, elapsed: Duration) {
    let outcome = match outcome {
        "serve" => "serve",
        "annotate" => "annotate",
        "block" => "block",
        "abandoned" => "abandoned",
        _ => "failed",
    };
    METRICS.prescans.get_or_create(&Outcome { outcome }).inc();
    METRICS.prescan_seconds.get_or_create(&Outcome { outcome }).observe(elapsed.as_secs_f64());
}

/// A background pre-scan starts after yielding to client requests this long.
pub(crate) fn prescan_yielded(elapsed: Duration) {
    METRICS.prescan_yield_seconds.observe(elapsed.as_secs_f64());
}

/// A page waited `elapsed` for its newest version's pre-scans; `done` unless the deadline passed.
pub(crate) fn prescan_page_wait(done: bool, elapsed: Duration) {
    let result = if done { "done" } else { "deadline" };
    METRICS.page_waits.get_or_create(&WaitResult { result }).inc();
    METRICS.page_wait_seconds.get_or_create(&WaitResult { result }).observe(elapsed.as_secs_f64());
}

/// A project page was re-rendered in the background (`server::refresh`).
pub(crate) fn page_refreshed() {
    METRICS.pages_refreshed.inc();
}

/// The exposition: every metric in OpenMetrics text (which Prometheus scrapes as is).
pub(crate) fn render() -> String {
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = prometheus_client::encoding::text::encode(&mut out, &METRICS.registry);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(text: &str, line_start: &str) -> Option<f64> {
        text.lines().find(|l| l.starts_with(line_start)).and_then(|l| l.rsplit(' ').next()?.parse().ok())
    }

    /// Each counting function moves its own series (others may run in parallel in this
    /// process: compare before and after, never absolute values).
    #[test]
    fn each_call_site_function_moves_its_series() {
        type Case = (&'static str, fn(), &'static str);
        let cases: [Case; 11] = [
            (
                "request",
                || request("dashboard", 200),
                "pipgate_http_requests_total{route=\"dashboard\",status=\"200\"}",
            ),
            (
                "cache hit",
                || cache("artifact", true),
                "pipgate_cache_requests_total{cache=\"artifact\",result=\"hit\"}",
            ),
            ("verdict", || verdict("block"), "pipgate_verdicts_total{outcome=\"block\"}"),
            ("unknown verdict is an error", || verdict("weird"), "pipgate_verdicts_total{outcome=\"error\"}"),
            ("reload failed", || policy_reload(false), "pipgate_policy_reloads_total{result=\"failed\"}"),
            ("audit failure", audit_write_failed, "pipgate_audit_write_failures_total"),
            ("audit trail failure", audit_trail_write_failed, "pipgate_audit_trail_write_failures_total"),
            (
                "scan",
                || scanned(Duration::from_millis(3), 10, ["execution.install-hook"]),
                "pipgate_findings_total{detector=\"execution.install-hook\"}",
            ),
            (
                "pre-scan blocked",
                || prescan_ended("block", Duration::from_millis(40)),
                "pipgate_prescans_total{outcome=\"block\"}",
            ),
            (
                "an unknown pre-scan outcome is a failure",
                || prescan_ended("weird", Duration::ZERO),
                "pipgate_prescans_total{outcome=\"failed\"}",
            ),
            (
                "a page's wait ran out",
                || prescan_page_wait(false, Duration::from_millis(1500)),
                "pipgate_prescan_page_waits_total{result=\"deadline\"}",
            ),
        ];
        for (case, count, series) in cases {
            let before = value(&render(), series).unwrap_or(0.0);
            count();
            let text = render();
            let after = value(&text, series).unwrap_or_else(|| panic!("{case}: {series} missing in\n{text}"));
            assert!(after >= before + 1.0, "{case}: {series} went from {before} to {after}");
        }
        let text = render();
        assert!(text.ends_with("# EOF\n"), "OpenMetrics ends with # EOF");
        assert!(text.contains("# TYPE pipgate_prescan_duration_seconds histogram"), "{text}");
        assert!(text.contains("# TYPE pipgate_scan_duration_seconds histogram"), "{text}");
    }

    /// A held gauge unit is given back however its holder ends (here: a panic), so the
    /// pending and running gauges cannot drift upwards.
    #[test]
    fn held_gauges_go_back_down_when_their_holder_ends() {
        let pending = || METRICS.prescan_pending.get();
        let before = pending();
        let held = prescan_pending();
        assert_eq!(pending(), before + 1);
        drop(held);
        assert_eq!(pending(), before);
        let running = || METRICS.prescan_running.get();
        let before = running();
        let r = std::panic::catch_unwind(|| {
            let _held = prescan_running();
            assert_eq!(running(), before + 1);
            panic!("the pre-scan's task panicked");
        });
        assert!(r.is_err());
        assert_eq!(running(), before);
    }
}
