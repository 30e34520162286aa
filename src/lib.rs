//! pipgate: a Python package-index proxy that scans every wheel and sdist inline
//! and applies an organisation's risk-acceptance policy before a byte reaches pip or uv.
//!
//! # Module map (data flows one way, top to bottom)
//!
//! | module | owns | must not |
//! |---|---|---|
//! | [`server`] | front ends (connection limits and timeouts) → [`server::RequestCtx`] → route → [`server::Outcome`] → one `finish` (audit, response, access log) | parse pages, scan, decide; import `policy`, `scan` or `store` (checked by a test) |
//! | [`index`] | fetching, parsing and rewriting upstream pages (PEP 503 HTML / PEP 691 JSON), content negotiation, rendered pages kept in memory with their gzip/zstd forms, and as one rendered entry per file patched when a verdict changes | touch artifacts, decide, compress anything but pages |
//! | [`upstream`] | the one HTTP client to the upstream index (system trust store), size limits and deadlines, allowed file hosts (SSRF), credential redaction | cache or decide |
//! | [`artifact`] | download once (a task shared by waiting requests, surviving a client that left), verify hash, content-addressed cache (small verified files' bytes also in bounded memory, for serving), `.metadata` extraction, stale `.part` cleanup | decide |
//! | [`blobs`] | shared artifacts (`--artifacts`): verified bytes in an S3-compatible bucket or a shared directory, uploaded and read back streamed with bounded memory, kept only when they hash to their key | decide, fetch from the upstream, serve unverified bytes |
//! | [`prescan`] | when a page is fetched, downloading and scanning in the background (bounded, deduplicated, cancellable) the files a resolver is likely to pick, and the page's brief wait for the newest | decide, render, audit |
//! | [`gate`] | **the one decision point**: release holds, page listings, artifact verdicts (scan cached by sha256 → enrichment → name verdict → policy), project verdicts (a corroborated look-alike name holds every file), the comparisons with the previous release and the established baseline, report lookup | do network I/O, build responses, audit |
//! | [`scan`] | detectors over archive bytes; licences read from metadata and licence files; reports (pure, sync) | network, policy |
//! | [`policy`] | YAML → compiled policy → verdict with typed reasons (findings, licence rules) | I/O during evaluation |
//! | [`respond`] | turning verdicts, pages and errors into HTTP answers pip and uv print well | decide |
//! | [`audit`] | the append-only JSON-lines decision log, committing each record to the replicas' shared trail (PostgreSQL) before the response, and copying it into the store's audit index (best effort, off the request path) | decide; block serving on the index |
//! | [`dashboard`] | `GET /-/`: the operator's HTML page over the audit index, the policy in force, upstream health and cache size | decide, write, read the JSON-lines log |
//! | [`metrics`] | the Prometheus registry (`GET /metrics`) and the small functions call sites count with | decide, do I/O, take labels from request text |
//! | [`report_html`] | rendering the report page people read (`/reports/<sha256>` to browsers, `scan --format html`): verdict and why, facts, evidence, prevalence, advisories, licence, next steps with the acceptance snippet; escaping all package content | decide, fetch, read files |
//! | [`auth`] | who is asking (index Basic auth, hashed tokens, plain-HTTP refusal) and how much they may ask (per-user / per-client rates and downloads in progress): admission before routing | route, decide, build responses |
//! | [`store`] | shareable state behind async traits split by concern (origins, scans, pages, single flight, the decisions index, the replicas' audit trail); backend chosen from config: embedded SQLite, or PostgreSQL shared by replicas (migrations, cross-replica flight leases) | decide, fetch, scan |
//! | [`certs`] | pipgate's CA (`ca init`), leaves minted per host and cached, bring-your-own certificates, the combined trust bundle | open sockets, decide, log key material |
//! | [`proxy_auth`] | the forward proxy's users file (argon2id), checking `Proxy-Authorization` | build responses, log secrets |
//! | [`app`] | the wiring: builds store, index, artifacts, gate and audit from config | serve or decide |
//! | [`config`] | flags, env, upstream discovery, data-dir layout, database choice | serve |
//! | [`pip_index`] | the local pip's index: pip's config files read as pip reads them, one cached probe of pip for the rest | name a registry host, open sockets |
//! | [`lookback`] | when to look back (sweep at start and on policy/feed change, background rescan), logging verdict changes, the webhook, `audit exposed` | decide (the gate re-decides and records) |
//! | [`reload`] | hot reload of the policy (file watch, SIGHUP), refusing broken ones | evaluate |
//! | [`cli`] | turning command-line targets into verified artifact facts | print or exit |
//! | [`baseline`] | `pipgate baseline`: the top projects' latest sdist and wheel fetched through the upstream, scanned, dropped; the resumable state file; writing the baseline `scan::prevalence` reads | print, decide, keep the bytes |
//! | [`advisories`] | OSV advisories (built-in PyPI snapshot, imports, URL updates, the scheduled refresh in `serve`), KEV exploitation status, CVSS scores; the `osv` enrichment feed (`malware.known`, `vulnerability.known`) | decide, do I/O during a lookup |
//!
//! One request: front end → `server` route → `index` / `artifact` → `gate` (scan +
//! enrichment → `policy`) → verdict → `server::finish` (audit → `respond` → access log).
//! [`model`] is the shared vocabulary, [`error`] the typed errors with their fault, and
//! [`timefmt`] the one reader and writer of time text, [`metadata`] the one reader of core metadata.
#![forbid(unsafe_code)]

mod advisories;
mod app;
mod artifact;
mod audit;
mod auth;
mod baseline;
mod blobs;
mod certs;
mod cli;
mod config;
mod dashboard;
mod error;
mod gate;
mod index;
mod lookback;
mod metadata;
mod metrics;
mod model;
mod pip_index;
mod policy;
mod prescan;
mod proxy_auth;
mod reload;
mod report_html;
mod respond;
mod scan;
mod server;
mod store;
mod timefmt;
mod upstream;

// The public surface: what the `pipgate` binary, the examples and an embedder use.
// Everything else is `pub(crate)`, so the module map above is the compiler's to keep.

/// Building and running the proxy.
pub use app::App;
pub use certs::{bundle as ca_bundle, init_ca, Ca, CaCreated, CertError};
pub use config::{
    default_data_dir, default_replica_id, parse_file_host, parse_upstream, redact, Database, PgUrl, PrescanConfig,
    ProxyConfig, UpstreamSource, PRESCAN_PYTHONS,
};
pub use error::ProxyError;
pub use gate::enrich::{Enricher, Feed};
pub use gate::weigh_name;
/// `serve`'s log sink (batched writes to stderr).
pub use lookback::{exposed_in, render_exposures, spawn as spawn_lookback, ExposedClient, Exposure, LookbackConfig};
pub use pip_index::PipIndex;
pub use proxy_auth::{user_line as proxy_user_line, ProxyUsers, UsersError};
pub use reload::{log_in_force as log_policy_in_force, spawn as spawn_policy_reload};
pub use server::{dispatch, serve, serve_front, Front, OtherHosts, ProxyOptions, RequestCtx, ServeLimits, ServerCert};

/// `pipgate baseline`.
pub use baseline::{run as run_baseline, state_path as baseline_state_path, BaselineOptions, BaselineSummary};

/// The one-shot commands' targets.
pub use cli::{facts_for_file, parse_target, resolve as resolve_target, Target};

/// The audit log, read back (the JSON-lines file, or the trail replicas share on PostgreSQL).
pub use audit::{
    json_entry as audit_json, parse_since, read_all as read_audit, read_trail as read_audit_trail,
    render_table as audit_table, render_trail as audit_trail_table, trail_json as audit_trail_json, AuditRecord,
    Query as AuditQuery,
};
pub use store::TrailEntry as AuditTrailEntry;

/// Advisories: the OSV feed and its commands.
pub use advisories::{
    advisories_dir, import as import_advisories, is_advisory_finding, parse_sources as parse_advisory_sources,
    spawn_poll as spawn_advisory_poll, spawn_refresh as spawn_advisory_refresh, update as update_advisories, OsvFeed,
    Source as AdvisorySource, SourceError as AdvisorySourceError, BUILTIN_ATTRIBUTION as ADVISORY_ATTRIBUTION,
};

/// Shared artifacts (`serve --artifacts`).
pub use blobs::{BlobError, S3Location, SharedArtifacts};

/// The vocabulary.
pub use model::{
    advisory_ids, normalize_project_name, ArtifactFacts, ArtifactKind, Category, Decision, Established, Evidence,
    Exploitation, FileRole, Finding, FindingKey, Licence, LicenceOrigin, LicenceSource, Reason, ReasonCode, Severity,
    Verdict, VersionDiff,
};

/// The policy.
pub use policy::{check_report, Policy, PolicyError};

/// The scanner, its reports and the detector contract (for custom detectors and benchmarks).
pub use scan::detector::{Detector, DetectorMeta, Hit, Hits, Interest, TextFile};
pub use scan::report::{render as render_reports, render_text as render_report_text, ReportFormat};
pub use scan::{scanner_version, Limits, ScanReport, Scanner};

/// The report page for an artifact on disk (`pipgate scan --format html`): the scan, the
/// verdict on it, everything the policy weighed (`findings`) and the acceptance `pipgate
/// policy accept` prints (`acceptance`). Who made it and its links come from the core
/// metadata in the file at `facts.path`.
pub fn render_report_html(
    facts: &ArtifactFacts,
    report: &ScanReport,
    verdict: &Verdict,
    findings: &[Finding],
    acceptance: &str,
) -> String {
    let about = artifact::core_metadata_of(&facts.path, &facts.filename)
        .map(|m| report_html::About::from_metadata(&String::from_utf8_lossy(&m)))
        .unwrap_or_default();
    report_html::render(&report_html::ReportPage {
        facts: report_html::Facts::of(facts),
        about,
        report: Some(report),
        verdict: Some(verdict),
        findings,
        new_in_version: report_html::NewInVersion::of(&facts.project, facts.new_in_version.as_ref(), findings),
        acceptance: Some(acceptance.to_string()),
        remedy: None,
    })
}

/// Index client authentication, for `pipgate auth` and the start-up check of `serve`.
pub mod access {
    /// A new random token (`pgt_…`, 256 bits) and its `sha256:…` hash line for `auth.users`.
    pub fn new_token() -> std::io::Result<(String, String)> {
        let token = crate::auth::new_token()?;
        let hash = crate::auth::TokenHash::of(&token).to_string();
        Ok((token, hash))
    }

    /// The `sha256:…` form of an existing token.
    pub fn hash_token(token: &str) -> String {
        crate::auth::TokenHash::of(token).to_string()
    }

    /// Whether a user name is acceptable in `auth.users` (and why not).
    pub fn check_user_name(name: &str) -> Result<(), String> {
        crate::auth::check_user_name(name)
    }

    /// Why a plain-HTTP listener on `addr` must not start with this policy: users are
    /// configured, `addr` is not a loopback address, and `auth.dangerous_allow_plain_http`
    /// is not set (their tokens would cross the network in clear). `None`: fine.
    pub fn plain_http_refusal(policy: &crate::Policy, addr: std::net::SocketAddr) -> Option<String> {
        let auth = &policy.settings.auth;
        (auth.auth_required() && !addr.ip().is_loopback() && !auth.dangerous_allow_plain_http).then(|| {
            format!(
                "refusing to serve index credentials over plain HTTP on {addr}: auth.users is set, so tokens \
                 would cross the network in clear. Listen on a loopback address (behind a TLS-terminating \
                 reverse proxy on this machine), serve HTTPS, or set auth.dangerous_allow_plain_http: true"
            )
        })
    }

    /// Whether the policy asks for index authentication (`auth.users` is not empty).
    pub fn required(policy: &crate::Policy) -> bool {
        policy.settings.auth.auth_required()
    }
}

/// Where a data directory keeps the audit log (for `pipgate audit`).
pub fn audit_dir(data_dir: &std::path::Path) -> std::path::PathBuf {
    config::DataDir::new(data_dir).audit()
}

/// Entry points for the `cargo fuzz` targets in `fuzz/` (not an API: thin wrappers over
/// private parsers, no logic of their own; see the README's "Fuzzing" section).
#[doc(hidden)]
pub mod fuzzing {
    /// A distribution filename's parse (`project`, `version`, kind), as debug text.
    pub fn parse_dist_filename(filename: &str) -> Option<String> {
        crate::model::parse_dist_filename(filename).map(|d| format!("{d:?}"))
    }

    /// An upstream project page (HTML or JSON by `content_type`): the number of files, or the parse error.
    pub fn parse_project_page(body: &str, content_type: &str, page_url: &str, project: &str) -> Result<usize, String> {
        let url = url::Url::parse(page_url).map_err(|e| e.to_string())?;
        crate::index::page::parse_project(body, content_type, &url, project).map(|p| p.files.len()).map_err(|e| e.0)
    }

    /// The upstream root page's project names.
    pub fn parse_root_page(body: &str, content_type: &str) -> Result<Vec<String>, String> {
        crate::index::page::parse_root(body, content_type).map_err(|e| e.0)
    }

    /// `Range` against a file of `len` bytes: `Ok(None)` whole file, `Ok(Some((start, end)))`
    /// inclusive, `Err(())` unsatisfiable.
    #[allow(clippy::result_unit_err)]
    pub fn parse_range(header: Option<&str>, len: u64) -> Result<Option<(u64, u64)>, ()> {
        match crate::respond::parse_range(header, len) {
            crate::respond::RangeReq::Full => Ok(None),
            crate::respond::RangeReq::Partial { start, end } => Ok(Some((start, end))),
            crate::respond::RangeReq::Unsatisfiable => Err(()),
        }
    }

    /// Every finding id the scanner can emit (for validating a policy).
    pub fn detector_ids() -> Vec<&'static str> {
        crate::scan::catalog().iter().map(|m| m.id).collect()
    }

    /// The fingerprints of the private keys in a text, as `secrets.private-key` computes
    /// them (for `examples/shared_test_keys.rs`, which makes the shared-test-key baseline).
    pub fn private_key_fingerprints(text: &str) -> Vec<String> {
        crate::scan::detectors::secrets_keys::private_key_fingerprints(text)
    }

    /// Whether `If-None-Match` matches `etag`.
    pub fn etag_matches(if_none_match: Option<&str>, etag: &str) -> bool {
        crate::respond::etag_matches(if_none_match, etag)
    }

    /// The page format chosen for an `Accept` header, as its content type.
    pub fn negotiate(accept: Option<&str>) -> &'static str {
        crate::index::accept::negotiate(accept).content_type()
    }
}
