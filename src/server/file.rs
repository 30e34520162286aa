//! The file route: `/files/<key>/<filename>` and its `.metadata`.
//! Phases: locate (store, else the project page) → release hold (gate, no download: deny list,
//! cooldown, project verdict) →
//! single flight { download + verify (artifact) → verdict (gate) } → the reply to serve.
//! A file served is remembered for [`SERVED_TTL`] (origin and verified bytes), so a repeat
//! request skips the store's two lookups; the gate still decides every request.
//! Must not: decide (the gate does) or build responses (finish does).

use super::finish::{Outcome, Reply, Subject};
use crate::app::App;
use crate::error::ProxyError;
use crate::index::valid_normalized;
use crate::model::{
    normalize_project_name, parse_dist_filename, ArtifactFacts, Decision, FileOrigin, RequestKind, Verified,
};

/// How long a served file's origin and verification are reused without asking the store.
pub(crate) const SERVED_TTL: std::time::Duration = std::time::Duration::from_secs(60);

/// Recently served files by `key\nfilename`: their origin and verified bytes.
pub(crate) type ServedFiles = moka::sync::Cache<String, (FileOrigin, Verified)>;

/// The memory of files served (bounded; entries live [`SERVED_TTL`]).
pub(crate) fn served_files_memo() -> ServedFiles {
    moka::sync::Cache::builder().max_capacity(16_384).time_to_live(SERVED_TTL).build()
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
        Some((o, _)) => o.clone(),
        None => match locate(app, key, &filename).await {
            Ok(o) => o,
            Err(e) => return Outcome::failed(None, e),
        },
    };
    if let Some((verdict, found)) = app.gate.release_hold(&origin).await {
        let subject = Subject { kind, facts: ArtifactFacts::unverified(&origin) };
        return Outcome::Decided { subject, verdict, findings: std::sync::Arc::new(found), reply: None };
    }
    let decided = {
        let _flight = app.flights.acquire(key).await;
        let ensured = match served {
            // Still in the cache (it may have been cleaned since): no store lookups.
            Some((_, v)) if app.artifacts.path(&v.sha256).exists() => Ok(v),
            _ => app.artifacts.ensure(&origin).await,
        };
        match ensured {
            Ok(v) => {
                let facts = app.facts(&origin, &v);
                app.compare_with_previous(&facts, false).await;
                let d = app.gate.decide(&facts).await;
                Ok((v, facts, d))
            }
            Err(e) => Err(e),
        }
    };
    let (verified, facts, decided) = match decided {
        Ok(x) => x,
        Err(e) => return Outcome::failed(Some(Subject { kind, facts: ArtifactFacts::unverified(&origin) }), e),
    };
    let subject = Subject { kind, facts };
    if decided.verdict.decision == Decision::Block {
        app.served_files.invalidate(&memo_key);
        return Outcome::Decided { subject, verdict: decided.verdict, findings: decided.findings, reply: None };
    }
    let reply = match kind {
        RequestKind::Metadata => match metadata(app, &origin, &verified).await {
            Ok(r) => r,
            Err(e) => return Outcome::failed(Some(subject), e),
        },
        _ => Reply::File { path: app.artifacts.path(&verified.sha256), sha256: verified.sha256.clone() },
    };
    app.served_files.insert(memo_key, (origin, verified));
    Outcome::Decided { subject, verdict: decided.verdict, findings: decided.findings, reply: Some(reply) }
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
