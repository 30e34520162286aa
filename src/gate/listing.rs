//! What a project page lists: the gate's verdicts applied to an upstream file list.
//!
//! Owns: which files are hidden or marked yanked (with the reason), the `_pipgate`
//! annotation of each, the core-metadata advert for wheels pipgate extracted, and the
//! rule that blocked files stay listed when nothing allowed would remain (so the install
//! reaches the 403 that says why). Must not: fetch or render.

use super::Gate;
use crate::index::page::FileEntry;
use crate::index::render::ListedFile;
use crate::index::{file_href, file_key};
use crate::model::{parse_dist_filename, ArtifactFacts, Decision, Finding, IndexMode, Verdict};
use std::path::PathBuf;

impl Gate {
    /// Rewrite entries to our URLs and apply what is already known: deny lists and cooldown
    /// (from the page alone) and verdicts of artifacts already scanned.
    pub(crate) async fn list(&self, project: &str, files: &[FileEntry]) -> Vec<ListedFile> {
        let verified = self.origins.verified_in_project(project).await.unwrap_or_else(|e| {
            tracing::warn!(project, error = %e, "could not read verified files; listing without verdicts");
            Default::default()
        });
        let policy = self.policy.load_full();
        let now = time::OffsetDateTime::now_utc();
        let mut listed: Vec<(ListedFile, Option<Verdict>)> = Vec::with_capacity(files.len());
        for e in files {
            let key = file_key(e);
            let mut entry = e.clone();
            let known = verified.get(&key);
            if entry.core_metadata.is_none() {
                if let Some(m) = known.and_then(|v| v.metadata_sha256.clone()) {
                    entry.core_metadata = Some(serde_json::json!({ "sha256": m }));
                }
            }
            let version = parse_dist_filename(&e.filename).map(|d| d.version);
            let early = version.as_deref().and_then(|v| policy.release_gate(project, v, e.upload_time.as_deref(), now));
            let decided = match (early, known) {
                (Some(v), _) => Some((v, None)),
                (None, Some(k)) => {
                    let facts = ArtifactFacts::describe(
                        project,
                        &e.filename,
                        &k.sha256,
                        e.upload_time.clone(),
                        e.size.unwrap_or(0),
                        PathBuf::new(),
                    );
                    self.decide_cached(&facts).await.map(|d| (d.verdict, Some(d.findings)))
                }
                (None, None) => None,
            };
            let report = known.map(|k| format!("../../reports/{}", k.sha256));
            let annotation = decided
                .as_ref()
                .and_then(|(v, found)| listing_annotation(v, found.as_deref().map(Vec::as_slice), report));
            let href = file_href(&key, &e.filename);
            listed.push((ListedFile { href, entry, annotation }, decided.map(|(v, _)| v)));
        }
        keep_or_withhold(listed)
    }
}

/// Hide or yank blocked files, unless no allowed file would remain.
fn keep_or_withhold(listed: Vec<(ListedFile, Option<Verdict>)>) -> Vec<ListedFile> {
    let any_allowed = listed.iter().any(|(_, v)| v.as_ref().is_none_or(|v| v.decision != Decision::Block));
    listed
        .into_iter()
        .filter_map(|(mut l, v)| match v {
            Some(v) if v.decision == Decision::Block && any_allowed => match v.index {
                IndexMode::Hide => None,
                IndexMode::Yank => {
                    let why = v.reasons.first().map(|r| r.message.clone()).unwrap_or_default();
                    l.entry.yanked = Some(Some(format!("blocked by pipgate: {why}")));
                    Some(l)
                }
            },
            _ => Some(l),
        })
        .collect()
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
