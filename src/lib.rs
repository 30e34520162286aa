//! pipgate: a Python package-index proxy that scans every wheel and sdist inline
//! and applies an organisation's risk-acceptance policy before a byte reaches pip or uv.
//!
//! # Module map (data flows one way, top to bottom)
//!
//! | module | owns | must not |
//! |---|---|---|
//! | [`server`] | front ends → [`server::RequestCtx`] → route → [`server::Outcome`] → one `finish` (audit, response, access log) | parse pages, scan, decide; import `policy`, `scan` or `store` (checked by a test) |
//! | [`index`] | fetching, parsing and rewriting upstream pages (PEP 503 HTML / PEP 691 JSON), content negotiation | touch artifacts, decide |
//! | [`upstream`] | the one HTTP client to the upstream index (system trust store), credential redaction | cache or decide |
//! | [`artifact`] | download once, verify hash, content-addressed cache, `.metadata` extraction | decide |
//! | [`gate`] | **the one decision point**: release holds, page listings, artifact verdicts (scan cached by sha256 → enrichment → policy), report lookup | do network I/O, build responses, audit |
//! | [`scan`] | detectors over archive bytes; reports (pure, sync) | network, policy |
//! | [`policy`] | YAML → compiled policy → verdict with typed reasons | I/O during evaluation |
//! | [`respond`] | turning verdicts, pages and errors into HTTP answers pip and uv print well | decide |
//! | [`audit`] | the append-only JSON-lines decision log | decide |
//! | [`store`] | shareable state behind async traits split by concern (origins, scans, pages, single flight); backend chosen from config | decide, fetch, scan |
//! | [`app`] | the wiring: builds store, index, artifacts, gate and audit from config | serve or decide |
//! | [`config`] | flags, env, upstream discovery, data-dir layout, database choice | serve |
//! | [`reload`] | hot reload of the policy (file watch, SIGHUP), refusing broken ones | evaluate |
//! | [`cli`] | turning command-line targets into verified artifact facts | print or exit |
//!
//! One request: front end → `server` route → `index` / `artifact` → `gate` (scan +
//! enrichment → `policy`) → verdict → `server::finish` (audit → `respond` → access log).
//! [`model`] is the shared vocabulary, [`error`] the typed errors with their fault, and
//! [`timefmt`] the one reader and writer of time text, [`metadata`] the one reader of core metadata.
#![forbid(unsafe_code)]

pub mod app;
pub mod artifact;
pub mod audit;
pub mod cli;
pub mod config;
pub mod error;
pub mod gate;
pub mod index;
pub mod metadata;
pub mod model;
pub mod policy;
pub mod reload;
pub mod respond;
pub mod scan;
pub mod server;
pub mod store;
pub mod timefmt;
pub mod upstream;
