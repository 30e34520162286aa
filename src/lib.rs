//! pipgate: a Python package-index proxy that scans every wheel and sdist inline
//! and applies an organisation's risk-acceptance policy before a byte reaches pip or uv.
//!
//! # Module map (data flows one way, top to bottom)
//!
//! | module | owns | must not |
//! |---|---|---|
//! | [`server`] | listeners, routing, per-request context, the request phases | parse pages, scan, decide |
//! | [`index`] | fetching, parsing and rewriting upstream pages (PEP 503 HTML / PEP 691 JSON), content negotiation | touch artifacts |
//! | [`upstream`] | the one HTTP client to the upstream index (system trust store), credential redaction | cache or decide |
//! | [`artifact`] | download once, verify hash, content-addressed cache, `.metadata` extraction | decide |
//! | [`gate`] | the one function every verified artifact passes: scan (cached by sha256) + policy → verdict | do network I/O |
//! | [`scan`] | detectors over archive bytes; reports | network, policy |
//! | [`policy`] | YAML → compiled policy → verdict with reasons | I/O during evaluation |
//! | [`respond`] | turning verdicts and errors into HTTP answers pip and uv print well | decide |
//! | [`audit`] | the append-only JSON-lines decision log | decide |
//! | [`store`] | durable state behind one trait (file origins, scan reports) | policy |
//! | [`config`] | flags, env, policy settings, upstream discovery | serve |
//! | [`reload`] | hot reload of the policy (file watch, SIGHUP), refusing broken ones | evaluate |
//!
//! [`model`] is the shared vocabulary, [`error`] the typed errors with their fault, and
//! [`timefmt`] the one reader and writer of time text, [`metadata`] the one reader of core metadata.
#![forbid(unsafe_code)]

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
