//! The file route: `/files/<key>/<filename>` and its `.metadata`.
//! Phases: locate (store, else the project page) → release hold (gate, no download: deny list,
//! cooldown, project verdict) →
//! single flight { download + verify (artifact) → verdict (gate) → small files' bytes into
//! memory (artifact) } → the reply to serve.
//! A file served is remembered for [`SERVED_TTL`] (origin, verified bytes, size), so a repeat
//! request skips the store's lookups; and when its bytes are still at hand (in memory, or on
//! disk for a file too large for memory) and its scan is kept, the gate decides it without
//! the single flight (nothing to download or scan: the flight would only queue requests for
//! one file behind each other, and with replicas it is a lease row in PostgreSQL). The gate
//! still decides every request.
//! Must not: decide (the gate does) or build responses (finish does).

use super::finish::{Outcome, Reply, Subject};
use crate::app::App;
use crate::error::ProxyError;
use crate::gate::Decided;
use crate::index::valid_normalized;
use crate::model::{
    normalize_project_name, parse_dist_filename, ArtifactFacts, Decision, FileOrigin, RequestKind, Verified,
};

/// How long a served file's origin and verification are reused without asking the store.
pub(crate) const SERVED_TTL: std::time::Duration = std::time::Duration::from_secs(60);

/// A file served recently: where it comes from, its verified bytes and their size.
#[derive(Clone)]
pub(crate) struct Served {
    origin: FileOrigin,
    verified: Verified,
    size: u64,
}

/// Recently served files by `key\nfilename` (shared, so a hit copies no strings).
pub(crate) type ServedFiles = moka::sync::Cache<String, std::sync::Arc<Served>>;

/// The memory of files served (bounded; entries live [`SERVED_TTL`]).
pub(crate) fn served_files_memo() -> ServedFiles {
    moka::sync::Cache::builder().max_capacity(16_384).time_to_live(SERVED_TTL).build()
}

/// A decision about verified bytes, and the bytes in memory when they are there to serve.
struct Found {
    verified: Verified,
    facts: ArtifactFacts,
    decided: Decided,
    bytes: Option<bytes::Bytes>,
}

pub(super) async fn file(app: &App, key: &str, raw_name: &str) -> Outcome {
    let filename = percent_encoding::percent_decode_str(raw_name).decode_utf8_lossy().to_string();
    let (filename, kind) = match filename.strip_suffix(".metadata") {
        Some(f) => (f.to_string(), RequestKind::Metadata),
        None => (filename, RequestKind::File),
    };
    let memo_key = format!("{key}\n{filename}");
    let served = app.served_files.get(&memo_key);
    let origin = match &served {
        Some(s) => std::borrow::Cow::Borrowed(&s.origin),
        None => match locate(app, key, &filename).await {
            Ok(o) => std::borrow::Cow::Owned(o),
            Err(e) => return Outcome::failed(None, e),
        },
    };
    // A repeat request: the gate decides it (its release hold included) without the flight.
    let quick = match &served {
        Some(s) => without_flight(app, s, kind).await,
        None => None,
    };
    // A hit decided without the flight changes nothing to remember: no memo write (the
    // entry still expires SERVED_TTL after the flight that made it, which re-checks the cache).
    let remember = quick.is_none();
    let found = match quick {
        Some(f) => f,
        None => {
            if let Some((verdict, found)) = app.gate.release_hold(&origin).await {
                let subject = Subject { kind, facts: ArtifactFacts::unverified(&origin) };
                return Outcome::Decided { subject, verdict, findings: std::sync::Arc::new(found), reply: None };
            }
            match in_flight(app, key, &origin, served.as_deref(), kind).await {
                Ok(f) => f,
                Err(e) => return Outcome::failed(Some(Subject { kind, facts: ArtifactFacts::unverified(&origin) }), e),
            }
        }
    };
    let Found { verified, facts, decided, bytes } = found;
    let size = facts.size;
    let subject = Subject { kind, facts };
    if decided.verdict.decision == Decision::Block {
        // Nothing of a blocked file is kept for serving (the gate would refuse it anyway).
        app.served_files.invalidate(&memo_key);
        app.artifacts.memory().forget(&verified.sha256);
        return Outcome::Decided { subject, verdict: decided.verdict, findings: decided.findings, reply: None };
    }
    let reply = match kind {
        RequestKind::Metadata => match metadata(app, &origin, &verified).await {
            Ok(r) => r,
            Err(e) => return Outcome::failed(Some(subject), e),
        },
        _ => Reply::File { path: app.artifacts.path(&verified.sha256), sha256: verified.sha256.clone(), bytes },
    };
    if remember {
        app.served_files.insert(memo_key, std::sync::Arc::new(Served { origin: origin.into_owned(), verified, size }));
    }
    Outcome::Decided { subject, verdict: decided.verdict, findings: decided.findings, reply: Some(reply) }
}

/// A file served recently, decided without its single flight when nothing is left to fetch,
/// scan or compare: its bytes are in memory (or, too large for memory or a `.metadata`
/// request, still on disk), the gate has its scan, and no comparison with the previous
/// release is pending. The gate decides it as a repeat ([`crate::gate::Gate::decide_repeat`]:
/// release hold, then the verdict on the kept scan, both remembered while nothing they
/// were made from changed). `None`: take the flight.
async fn without_flight(app: &App, s: &Served, kind: RequestKind) -> Option<Found> {
    let sha256 = &s.verified.sha256;
    if app.gate.wants_version_diff() && app.gate.version_diff(sha256.as_str()).is_none() {
        return None;
    }
    let memory = app.artifacts.memory();
    let bytes = if kind == RequestKind::File && memory.fits(s.size) {
        Some(memory.get(sha256)?)
    } else if app.artifacts.path(sha256).exists() {
        None
    } else {
        return None;
    };
    let facts = app.facts_sized(&s.origin, &s.verified, s.size);
    let decided = app.gate.decide_repeat(&s.origin, &facts).await?;
    // A block `established:` could lower, not yet compared with the baseline: take the flight.
    if decided.verdict.decision == Decision::Block && app.gate.wants_baseline(&facts).await.is_some() {
        return None;
    }
    Some(Found { verified: s.verified.clone(), facts, decided, bytes })
}

/// Under the file's single flight: download and verify (unless served recently and still
/// cached), compare with the previous release when the policy asks, decide (scanning if
/// needed), and read a small file's bytes into memory for serving.
async fn in_flight(
    app: &App,
    key: &str,
    origin: &FileOrigin,
    served: Option<&Served>,
    kind: RequestKind,
) -> Result<Found, ProxyError> {
    let _flight = app.flights.acquire(key).await;
    let verified = match served {
        // Still in the cache (it may have been cleaned since): no store lookups.
        Some(s) if app.artifacts.path(&s.verified.sha256).exists() => s.verified.clone(),
        _ => app.artifacts.ensure(origin).await?,
    };
    let facts = app.facts(origin, &verified);
    app.compare_with_previous(&facts, false).await;
    app.compare_with_baseline(&facts).await;
    let decided = app.gate.decide(&facts).await;
    let bytes = match kind == RequestKind::File && decided.verdict.decision != Decision::Block {
        true => app.artifacts.load_for_serving(&verified.sha256).await,
        false => None,
    };
    Ok(Found { verified, facts, decided, bytes })
}

/// Find where a file comes from: the store, or (after a restart with an empty store, a
/// lockfile URL, or the same bytes newly listed under another filename or project) the
/// project page named by the filename. The origin must be the listing of `key` as `filename`.
async fn locate(app: &App, key: &str, filename: &str) -> Result<FileOrigin, ProxyError> {
    let not_found = || ProxyError::NotFound { what: format!("file {filename}") };
    if let Some(o) = app.origins.origin(key, filename).await.map_err(ProxyError::internal)? {
        return Ok(o);
    }
    let project = parse_dist_filename(filename).ok_or_else(not_found)?.project;
    let norm = normalize_project_name(&project);
    if !valid_normalized(&norm) {
        return Err(not_found());
    }
    app.index.project(&norm).await?;
    app.origins.origin(key, filename).await.map_err(ProxyError::internal)?.ok_or_else(not_found)
}

async fn metadata(app: &App, origin: &FileOrigin, v: &Verified) -> Result<Reply, ProxyError> {
    Ok(match app.artifacts.metadata(origin, v).await? {
        Some(bytes) => Reply::Metadata(bytes),
        None => Reply::Text(hyper::StatusCode::NOT_FOUND, "no core metadata for this file\n"),
    })
}
