//! Advisories: what the world already knows about a release — known-malware records and
//! known vulnerabilities in the OSV format, with a known-exploited-vulnerabilities list
//! (CISA KEV format) for exploitation status.
//!
//! Owns: the OSV loader (the built-in PyPI snapshot, zips and directories imported into the
//! data directory, a configured URL), the index and its lookups per (project, version) and
//! per sha256, the `malware.known` and `vulnerability.known` findings (aliases merged,
//! withdrawn records skipped, CVSS base scores, exploitation, fixed versions, attribution),
//! [`OsvFeed`] (the [`Feed`] the gate's enrichment asks), polling the data directory so
//! a running proxy picks up an import without a restart, and the scheduled refresh from
//! configured URLs inside `pipgate serve` (`refresh`).
//! Must not: decide (the policy weighs the findings), or do I/O while answering a lookup
//! (the data is loaded and swapped in whole, apart from requests).

mod cvss;
mod db;
mod kev;
mod load;
mod osv;
mod refresh;
mod update;

#[cfg(test)]
mod tests;

pub(crate) use db::{MALWARE, VULNERABILITY};
pub use load::BUILTIN_ATTRIBUTION;

/// Whether a finding came from the advisories (`malware.known`, `vulnerability.known`).
pub fn is_advisory_finding(f: &Finding) -> bool {
    f.detector == MALWARE || f.detector == VULNERABILITY
}

use crate::gate::enrich::Feed;
use crate::model::{ArtifactFacts, Finding};
use arc_swap::ArcSwap;
use db::{AdvisoryDb, SourceInfo};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// How often a running proxy looks at the data directory's advisories for changes.
pub(crate) const POLL_INTERVAL: std::time::Duration = std::time::Duration::from_secs(2);

/// The advisories directory of a data directory.
pub fn advisories_dir(data_dir: &Path) -> PathBuf {
    crate::config::DataDir::new(data_dir).root.join("advisories")
}

/// The OSV feed: the built-in snapshot plus whatever the data directory holds, swapped in
/// whole when the directory changes.
pub struct OsvFeed {
    db: ArcSwap<AdvisoryDb>,
    dir: Option<PathBuf>,
    builtin: bool,
    fingerprint: Mutex<String>,
}

impl OsvFeed {
    /// The built-in snapshot and the sources in `<data_dir>/advisories/` (none: built-in only).
    pub fn open(data_dir: Option<&Path>) -> OsvFeed {
        Self::with(data_dir.map(advisories_dir), true)
    }

    fn with(dir: Option<PathBuf>, builtin: bool) -> OsvFeed {
        let fingerprint = dir.as_deref().map(load::fingerprint).unwrap_or_default();
        let db = read_all(dir.as_deref(), builtin);
        for p in &db.problems {
            tracing::error!(problem = %p, "an advisory source was left out");
        }
        OsvFeed { db: ArcSwap::from_pointee(db), dir, builtin, fingerprint: Mutex::new(fingerprint) }
    }

    /// Reload when the data directory's sources changed since the last look; `true` when
    /// new data is in force (the feed revision changed with it).
    pub fn refresh(&self) -> bool {
        let Some(dir) = &self.dir else { return false };
        let now = load::fingerprint(dir);
        {
            let mut seen = self.fingerprint.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if *seen == now {
                return false;
            }
            *seen = now;
        }
        let db = read_all(Some(dir), self.builtin);
        for p in &db.problems {
            tracing::error!(problem = %p, "an advisory source was left out");
        }
        let old = self.db.load().revision.clone();
        let changed = db.revision != old;
        tracing::info!(records = db.record_count(), revision = %db.revision, "advisories reloaded");
        self.db.store(Arc::new(db));
        changed
    }

    /// Records loaded, over every source.
    pub fn record_count(&self) -> usize {
        self.db.load().record_count()
    }

    /// `pipgate advisories status`, as text.
    pub fn status_text(&self, now: time::OffsetDateTime) -> String {
        status::text(&self.db.load(), self.dir.as_deref(), now)
    }
}

impl Feed for OsvFeed {
    fn name(&self) -> &str {
        "osv"
    }
    fn revision(&self) -> String {
        self.db.load().revision.clone()
    }
    fn findings(&self, facts: &ArtifactFacts) -> Vec<Finding> {
        self.db.load().findings(facts)
    }
    fn quarantine(&self, project: &str) -> Option<String> {
        self.db.load().quarantine(project)
    }
}

/// Poll the data directory every [`POLL_INTERVAL`] (on a blocking thread: a reload parses
/// zips) for as long as the process runs.
pub fn spawn_poll(feed: Arc<OsvFeed>) {
    if feed.dir.is_none() {
        return;
    }
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(POLL_INTERVAL);
        tick.tick().await;
        loop {
            tick.tick().await;
            let f = feed.clone();
            let _ = tokio::task::spawn_blocking(move || f.refresh()).await;
        }
    });
}

/// Every source: the built-in snapshot first, then the directory's zips by name, and its
/// KEV catalogue. A source that cannot be read is left out and named in `problems`.
fn read_all(dir: Option<&Path>, builtin: bool) -> AdvisoryDb {
    let mut sources: Vec<(SourceInfo, Vec<osv::Record>)> = Vec::new();
    let mut problems = Vec::new();
    let info = |name: String, origin: String, attribution: Option<String>, read: &load::SourceRead| SourceInfo {
        name,
        origin,
        attribution,
        records: read.records.len(),
        malware: read.records.iter().filter(|r| r.malware).count(),
        withdrawn: read.withdrawn,
        skipped: read.skipped,
        newest_record: read.records.iter().filter_map(|r| r.modified.clone()).max(),
        imported_at: None,
        digest: read.digest.clone(),
    };
    if builtin {
        match load::read_zip("built-in osv-pypi.zip", load::BUILTIN_ZIP) {
            Ok(read) => {
                let i = info("osv-pypi".into(), "built in".into(), Some(BUILTIN_ATTRIBUTION.into()), &read);
                sources.push((i, read.records));
            }
            Err(e) => problems.push(e.to_string()),
        }
    }
    let mut kev = kev::Kev::default();
    let mut kev_digest = String::new();
    if let Some(dir) = dir {
        for zip in load::zips(dir) {
            let name = zip.file_stem().map(|s| s.to_string_lossy().to_string()).unwrap_or_default();
            let read = std::fs::read(&zip)
                .map_err(|e| format!("{}: {e}", zip.display()))
                .and_then(|b| load::read_zip(&zip.display().to_string(), &b).map_err(|e| e.to_string()));
            match read {
                Ok(read) => {
                    let side = load::read_sidecar(dir, &name);
                    let origin = side.as_ref().map_or_else(|| zip.display().to_string(), |s| s.origin.clone());
                    let mut i = info(name, origin, None, &read);
                    i.imported_at = side.map(|s| s.imported_at);
                    sources.push((i, read.records));
                }
                Err(e) => problems.push(e),
            }
        }
        let path = dir.join(load::KEV_FILE);
        if let Ok(bytes) = std::fs::read(&path) {
            match kev::Kev::parse(&bytes) {
                Ok(k) => {
                    kev = k;
                    kev_digest = crate::model::Sha256::digest(&bytes).to_string();
                }
                Err(e) => problems.push(format!("{}: {e}", path.display())),
            }
        }
    }
    AdvisoryDb::build(sources, kev, &kev_digest, problems)
}

/// Import a directory, zip or KEV file into `<data_dir>/advisories/` (see [`load::import`])
/// as source `name` (default: the file or folder name): one line saying what was written.
pub fn import(data_dir: &Path, from: &Path, name: Option<&str>) -> Result<String, String> {
    let dir = advisories_dir(data_dir);
    let origin = std::path::absolute(from).unwrap_or_else(|_| from.to_path_buf()).display().to_string();
    let done = load::import(&dir, from, &origin, name).map_err(|e| e.to_string())?;
    Ok(if done.kev {
        format!("imported {} known-exploited entries into {}", done.records, done.written.display())
    } else {
        format!(
            "imported {} records as source {:?} into {} ({} withdrawn and {} unusable left out); a running pipgate picks it up within {}s",
            done.records,
            done.name,
            done.written.display(),
            done.withdrawn,
            done.skipped,
            POLL_INTERVAL.as_secs()
        )
    })
}

pub use refresh::{parse_sources, spawn_refresh, Source, SourceError};
pub use update::update;

mod status {
    use super::db::AdvisoryDb;
    use std::fmt::Write as _;
    use std::path::Path;

    /// Sources, record counts and age, one source a line.
    pub(super) fn text(db: &AdvisoryDb, dir: Option<&Path>, now: time::OffsetDateTime) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "advisories: {} records, revision {}", db.record_count(), db.revision);
        if let Some(d) = dir {
            let _ = writeln!(out, "data directory sources: {}", d.display());
        }
        for s in &db.sources {
            let age = |t: &Option<String>| {
                t.as_deref()
                    .and_then(crate::timefmt::parse_instant)
                    .map(|t| format!("{}d ago", (now - t).whole_days()))
                    .unwrap_or_else(|| "?".into())
            };
            let _ = writeln!(
                out,
                "  {}: {} records ({} known malware), {} withdrawn and {} unusable left out; newest record {} ({}); imported {}; from {}",
                s.name,
                s.records,
                s.malware,
                s.withdrawn,
                s.skipped,
                s.newest_record.as_deref().unwrap_or("?"),
                age(&s.newest_record),
                s.imported_at.as_deref().map_or("-".to_string(), |t| format!("{t} ({})", age(&s.imported_at))),
                s.origin
            );
            if let Some(a) = &s.attribution {
                let _ = writeln!(out, "    data: {a}");
            }
        }
        let _ = writeln!(out, "  known-exploited list: {} entries", db.kev.by_cve.len());
        for p in &db.problems {
            let _ = writeln!(out, "  PROBLEM (source left out): {p}");
        }
        let refreshed = dir.map(super::refresh::status_lines).unwrap_or_default();
        if !refreshed.is_empty() {
            let _ = writeln!(out, "scheduled refresh (pipgate serve --advisories-url):");
            for l in refreshed {
                let _ = writeln!(out, "{l}");
            }
        }
        out
    }
}
