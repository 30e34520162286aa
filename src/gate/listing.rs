//! What a project page lists: the gate's verdicts applied to an upstream file list.
//!
//! Owns: which files are hidden or marked yanked (with the reason), the `_pipgate`
//! annotation of each, the core-metadata advert for wheels pipgate extracted, and the
//! rule that blocked files stay listed when nothing allowed would remain (so the install
//! reaches the 403 that says why). A project verdict (deny list of the whole project, a
//! corroborated look-alike name) blocks every file, so every file stays listed and the
//! resolver's first pick answers the one project-level reason. What the page withheld
//! while something else stayed allowed (an unpinned install silently falls back past it)
//! is returned as [`Withheld`], for the audit log. Must not: fetch, render or audit.

use super::Gate;
use crate::index::page::ProjectPage;
use crate::index::render::ListedFile;
use crate::index::{file_href, file_key};
use crate::model::{parse_dist_filename, ArtifactFacts, Decision, Finding, IndexMode, Verdict};
use pep440_rs::Version;
use std::collections::HashMap;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;

impl Gate {
    /// Rewrite entries to our URLs and apply what is already known: deny lists and cooldown
    /// (from the page alone) and verdicts of artifacts already scanned. The per-file work
    /// runs on blocking threads (a hostile page lists 100k files); only the verdicts of
    /// files already scanned are awaited here.
    pub(crate) async fn list(&self, project: &str, page: &Arc<ProjectPage>) -> Listing {
        self.remember_history(project, page);
        let verified = Arc::new(self.origins.verified_in_project(project).await.unwrap_or_else(|e| {
            tracing::warn!(project, error = %e, "could not read verified files; listing without verdicts");
            Default::default()
        }));
        let policy = self.policy.load_full();
        let now = time::OffsetDateTime::now_utc();
        let (files, proj, enrich) = (page.clone(), project.to_string(), self.enrich.clone());
        let early = blocking(move || {
            files
                .files
                .iter()
                .map(|e| {
                    let key = file_key(e);
                    let version = parse_dist_filename(&e.filename).map(|d| d.version);
                    let held: Option<Known> = version.as_deref().and_then(|v| {
                        if let Some(v) = policy.release_gate(&proj, v, e.upload_time.as_deref(), now) {
                            return Some((v, None));
                        }
                        // Known malware and vulnerable versions are known from the name and version alone.
                        let sha = e.sha256().unwrap_or_default();
                        let facts =
                            ArtifactFacts::describe(&proj, &e.filename, sha, e.upload_time.clone(), 0, PathBuf::new());
                        super::advisory_hold(&enrich, &policy, &facts, now).map(|(v, f)| (v, Some(Arc::new(f))))
                    });
                    (key, held)
                })
                .collect::<Vec<_>>()
        })
        .await;
        let mut decided: HashMap<usize, Known> = HashMap::new();
        for (i, (key, held)) in early.iter().enumerate() {
            if let Some(known) = held {
                decided.insert(i, known.clone());
                continue;
            }
            let Some(k) = verified.get(key) else { continue };
            let e = &page.files[i];
            let facts = ArtifactFacts::describe(
                project,
                &e.filename,
                &k.sha256,
                e.upload_time.clone(),
                e.size.unwrap_or(0),
                PathBuf::new(),
            );
            if let Some(d) = self.decide_cached(&facts).await {
                decided.insert(i, (d.verdict, Some(d.findings)));
            }
        }
        // A project verdict (learnt above or earlier) holds every file not already blocked
        // (weighed by the current policy per file, on a blocking thread: pages can be huge).
        if let Some(held) = self.name_holds.get(project) {
            let policy = self.policy.load_full();
            let blocked: std::collections::HashSet<usize> =
                decided.iter().filter(|(_, (v, _))| v.decision == Decision::Block).map(|(i, _)| *i).collect();
            let (files, proj, found) = (page.clone(), project.to_string(), Arc::new(vec![held]));
            let shared = found.clone();
            let holds = blocking(move || {
                let mut out = Vec::new();
                for (i, e) in files.files.iter().enumerate().filter(|(i, _)| !blocked.contains(i)) {
                    let sha = e.sha256().unwrap_or_default();
                    let facts =
                        ArtifactFacts::describe(&proj, &e.filename, sha, e.upload_time.clone(), 0, PathBuf::new());
                    let v = policy.evaluate(&facts, &shared, now);
                    if v.decision == Decision::Block {
                        out.push((i, v));
                    }
                }
                out
            })
            .await;
            for (i, v) in holds {
                decided.insert(i, (v, Some(found.clone())));
            }
        }
        let files = page.clone();
        blocking(move || {
            let listed = files
                .files
                .iter()
                .zip(early)
                .enumerate()
                .map(|(i, (e, (key, _)))| {
                    let mut entry = e.clone();
                    let known = verified.get(&key);
                    if entry.core_metadata.is_none() {
                        if let Some(m) = known.and_then(|v| v.metadata_sha256.clone()) {
                            entry.core_metadata = Some(serde_json::json!({ "sha256": m }));
                        }
                    }
                    let decided = decided.remove(&i);
                    // Held files were never scanned: their report (what holds them) is under the index's sha256.
                    let held_sha = decided.as_ref().and(e.sha256());
                    let report = known
                        .map(|k| k.sha256.to_string())
                        .or_else(|| held_sha.map(str::to_string))
                        .map(|sha| format!("../../reports/{sha}"));
                    let annotation = decided
                        .as_ref()
                        .and_then(|(v, found)| listing_annotation(v, found.as_deref().map(Vec::as_slice), report));
                    let href = file_href(&key, &e.filename);
                    let sha = e.sha256().map(str::to_string).or_else(|| known.map(|k| k.sha256.to_string()));
                    (ListedFile { href, entry, annotation }, decided.map(|(v, _)| (v, sha.unwrap_or_default())))
                })
                .collect();
            keep_or_withhold(listed)
        })
        .await
    }
}

/// What a page shows, and what it withheld.
pub(crate) struct Listing {
    pub files: Vec<ListedFile>,
    /// Files hidden or marked yanked while another version stayed allowed.
    pub withheld: Vec<Withheld>,
}

/// A blocked file a page hid or marked yanked: the silent fallback an operator must see.
#[derive(Debug, Clone)]
pub(crate) struct Withheld {
    pub filename: String,
    /// The index's sha256 (or the verified one), empty when neither is known.
    pub sha256: String,
    pub verdict: Verdict,
    /// The newest version the page still offers, which an unpinned install gets instead.
    pub instead: Option<String>,
}

/// Hide or yank blocked files, unless no allowed file would remain.
/// A verdict already known for a listed file, with the findings behind it when it was scanned.
type Known = (Verdict, Option<Arc<Vec<Finding>>>);

/// CPU work on a blocking thread (a panic there is re-raised here).
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
}

fn keep_or_withhold(listed: Vec<(ListedFile, Option<(Verdict, String)>)>) -> Listing {
    let blocked = |v: &Option<(Verdict, String)>| v.as_ref().is_some_and(|(v, _)| v.decision == Decision::Block);
    let any_allowed = listed.iter().any(|(_, v)| !blocked(v));
    // The newest version an unpinned install falls back to (upstream-yanked files aside).
    let instead = listed
        .iter()
        .filter(|(l, v)| !blocked(v) && l.entry.yanked.is_none())
        .filter_map(|(l, _)| parse_dist_filename(&l.entry.filename))
        .filter_map(|d| Version::from_str(&d.version).ok().map(|v| (v, d.version)))
        .max_by(|a, b| a.0.cmp(&b.0))
        .map(|(_, s)| s);
    let mut withheld = Vec::new();
    let files = listed
        .into_iter()
        .filter_map(|(mut l, v)| match v {
            Some((v, sha256)) if v.decision == Decision::Block && any_allowed => {
                let filename = l.entry.filename.clone();
                let shown = match v.index {
                    IndexMode::Hide => None,
                    IndexMode::Yank => {
                        let why = v.reasons.first().map(|r| r.message.clone()).unwrap_or_default();
                        l.entry.yanked = Some(Some(format!("blocked by pipgate: {why}")));
                        Some(l)
                    }
                };
                withheld.push(Withheld { filename, sha256, verdict: v, instead: instead.clone() });
                shown
            }
            _ => Some(l),
        })
        .collect();
    Listing { files, withheld }
}

/// The `_pipgate` entry for a file whose verdict is not a plain serve.
pub(crate) fn listing_annotation(
    v: &Verdict,
    found: Option<&[Finding]>,
    report_url: Option<String>,
) -> Option<serde_json::Value> {
    if v.decision == Decision::Serve && v.findings.is_empty() {
        return None;
    }
    let findings: Vec<serde_json::Value> = found
        .unwrap_or_default()
        .iter()
        .map(|f| serde_json::json!({ "id": f.detector, "severity": f.severity, "title": f.title }))
        .collect();
    let mut a = serde_json::json!({
        "decision": v.decision.as_str(),
        "reasons": v.reasons.iter().map(|r| r.code.to_string()).collect::<Vec<_>>(),
        "findings": findings,
    });
    if let Some(url) = report_url {
        a["report"] = serde_json::Value::String(url);
    }
    if let Some(t) = &v.available_at {
        a["available_at"] = serde_json::Value::String(t.clone());
    }
    Some(a)
}
