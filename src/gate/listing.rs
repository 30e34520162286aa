//! What a project page lists: the gate's verdicts applied to an upstream file list.
//!
//! Owns: which files are hidden or marked yanked (with the reason), the `_pipgate`
//! annotation of each, the core-metadata advert for wheels pipgate extracted, and the
//! rule that blocked files stay listed when nothing allowed would remain (so the install
//! reaches the 403 that says why). A project verdict (deny list of the whole project, a
//! corroborated look-alike name) blocks every file, so every file stays listed and the
//! resolver's first pick answers the one project-level reason. What the page withheld
//! while something else stayed allowed (an unpinned install silently falls back past it)
//! is returned as [`Withheld`], for the audit log. Also the page's holds read from the page
//! alone ([`Early`]: deny list, cooldown, advisories), kept with a rendered page and reused
//! while the page, policy and feeds are unchanged and no hold has ended, so a new verdict
//! costs the files pipgate has verified, not the page's length ([`Verdicts`]).
//! Must not: fetch, render or audit.

use super::{Enricher, Gate};
use crate::index::page::ProjectPage;
use crate::index::render::ListedFile;
use crate::index::{file_href, file_key};
use crate::model::{parse_dist_filename, ArtifactFacts, Decision, Finding, IndexMode, Verdict, Verified};
use crate::policy::Policy;
use pep440_rs::Version;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;

impl Gate {
    /// What is known about a page's files: the holds read from the page alone (deny lists,
    /// cooldown, advisories: `early`, reused while the page, policy and feeds are those it
    /// was made under and no hold in it has ended), the files already verified, and the
    /// verdicts of files already scanned. Only the verified files' verdicts are weighed here
    /// (and every file's, when a project verdict holds them all), so with `early` reused
    /// the cost follows the files pipgate has seen, not the page's length.
    pub(crate) async fn verdicts(&self, project: &str, page: &Arc<ProjectPage>, early: Option<Arc<Early>>) -> Verdicts {
        self.remember_history(project, page);
        let verified = Arc::new(self.origins.verified_in_project(project).await.unwrap_or_else(|e| {
            tracing::warn!(project, error = %e, "could not read verified files; listing without verdicts");
            Default::default()
        }));
        let policy = self.policy.load_full();
        let revision = self.enrich.revision();
        let early = match early.filter(|e| e.valid_for(page, &policy.digest, &revision)) {
            Some(e) => e,
            None => {
                let (files, proj, enrich) = (page.clone(), project.to_string(), self.enrich.clone());
                let policy = policy.clone();
                blocking(move || Early::of(&proj, &files, &policy, &enrich, revision)).await
            }
        };
        let mut decided: HashMap<usize, Known> = early.held.clone();
        for (key, k) in verified.iter() {
            for &i in early.by_key.get(key).map(Vec::as_slice).unwrap_or_default() {
                if decided.contains_key(&i) {
                    continue;
                }
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
        }
        // A project verdict (learnt above or earlier) holds every file not already blocked
        // (weighed by the current policy per file, on a blocking thread: pages can be huge).
        if let Some(held) = self.name_holds.get(project) {
            let blocked: std::collections::HashSet<usize> =
                decided.iter().filter(|(_, (v, _))| v.decision == Decision::Block).map(|(i, _)| *i).collect();
            let (files, proj, found) = (page.clone(), project.to_string(), Arc::new(vec![held]));
            let shared = found.clone();
            let now = time::OffsetDateTime::now_utc();
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
        Verdicts { early, verified, decided }
    }

    /// Every file of the page as listed (the whole page at once; pages are served through
    /// [`Verdicts`] and a patched rendering, this is what they must equal).
    #[cfg(test)]
    pub(crate) async fn list(&self, project: &str, page: &Arc<ProjectPage>) -> Listing {
        let v = self.verdicts(project, page, None).await;
        let any_allowed = v.any_allowed(page.files.len());
        let files = (0..page.files.len()).filter_map(|i| v.listed(page, i, any_allowed)).collect();
        Listing { files, withheld: v.withheld(page) }
    }
}

/// The holds a page's files have from the page alone, by index, with each file's path key.
pub(crate) struct Early {
    /// The upstream page these were read from (held, so its address is not reused).
    page: Arc<ProjectPage>,
    policy_digest: String,
    revision: String,
    keys: Vec<String>,
    /// Indices of each key (a file may be listed twice).
    by_key: HashMap<String, Vec<usize>>,
    held: HashMap<usize, Known>,
    /// The earliest instant a hold here ends (a cooldown), and when these were read.
    until: Option<time::OffsetDateTime>,
    made: std::time::Instant,
    /// Indices of the files an unpinned install may fall back to (parsable, not yanked
    /// upstream), newest version first (of equal versions, the last listed first).
    newest: Vec<(usize, String)>,
}

impl Early {
    fn of(project: &str, page: &Arc<ProjectPage>, policy: &Policy, enrich: &Enricher, revision: String) -> Arc<Early> {
        let now = time::OffsetDateTime::now_utc();
        let mut held = HashMap::new();
        let mut keys = Vec::with_capacity(page.files.len());
        let mut by_key: HashMap<String, Vec<usize>> = HashMap::with_capacity(page.files.len());
        let mut newest = Vec::new();
        for (i, e) in page.files.iter().enumerate() {
            let key = file_key(e);
            by_key.entry(key.clone()).or_default().push(i);
            keys.push(key);
            let Some(d) = parse_dist_filename(&e.filename) else { continue };
            if e.yanked.is_none() {
                if let Ok(v) = Version::from_str(&d.version) {
                    newest.push((v, i, d.version.clone()));
                }
            }
            if let Some(v) = policy.release_gate(project, &d.version, e.upload_time.as_deref(), now) {
                held.insert(i, (v, None));
                continue;
            }
            // Known malware and vulnerable versions are known from the name and version alone.
            let sha = e.sha256().unwrap_or_default();
            let facts = ArtifactFacts::describe(project, &e.filename, sha, e.upload_time.clone(), 0, PathBuf::new());
            if let Some((v, f)) = super::advisory_hold(enrich, policy, &facts, now) {
                held.insert(i, (v, Some(Arc::new(f))));
            }
        }
        newest.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.cmp(&a.1)));
        let until = earliest_available(held.values());
        Arc::new(Early {
            page: page.clone(),
            policy_digest: policy.digest.clone(),
            revision,
            keys,
            by_key,
            held,
            until,
            made: std::time::Instant::now(),
            newest: newest.into_iter().map(|(_, i, s)| (i, s)).collect(),
        })
    }

    /// Made from this page under this policy and these feeds, no hold ended since, and no
    /// older than a rendered page may be (time-bound rules: an acceptance expiring).
    fn valid_for(&self, page: &Arc<ProjectPage>, policy_digest: &str, revision: &str) -> bool {
        Arc::ptr_eq(&self.page, page)
            && self.policy_digest == policy_digest
            && self.revision == revision
            && self.until.is_none_or(|t| time::OffsetDateTime::now_utc() < t)
            && self.made.elapsed() < crate::index::rendered::MAX_AGE
    }
}

/// What is known about a page's files ([`Gate::verdicts`]), and how each is listed.
pub(crate) struct Verdicts {
    pub early: Arc<Early>,
    verified: Arc<BTreeMap<String, Verified>>,
    /// Files with a verdict known (held, scanned, or under a project verdict), by index.
    decided: HashMap<usize, Known>,
}

impl Verdicts {
    fn blocked(&self, i: usize) -> bool {
        self.decided.get(&i).is_some_and(|(v, _)| v.decision == Decision::Block)
    }

    /// Whether any of the page's `files` stays allowed (else blocked files stay listed,
    /// so the install reaches the 403 that says why).
    pub(crate) fn any_allowed(&self, files: usize) -> bool {
        self.decided.values().filter(|(v, _)| v.decision == Decision::Block).count() < files
    }

    /// The files whose listing differs from the upstream entry's own (a verdict known, or
    /// verified: `core-metadata` advertised, a report link), in no particular order.
    pub(crate) fn touched(&self) -> impl Iterator<Item = usize> + '_ {
        let verified = self.verified.keys().filter_map(|k| self.early.by_key.get(k)).flatten().copied();
        self.decided.keys().copied().chain(verified)
    }

    /// File `i` as listed: rewritten to our URL, with what is known of it; `None` when it
    /// is hidden. Hide or yank a blocked file, unless no allowed file would remain.
    pub(crate) fn listed(&self, page: &ProjectPage, i: usize, any_allowed: bool) -> Option<ListedFile> {
        let e = &page.files[i];
        let key = &self.early.keys[i];
        let mut entry = e.clone();
        let known = self.verified.get(key);
        if entry.core_metadata.is_none() {
            if let Some(m) = known.and_then(|v| v.metadata_sha256.clone()) {
                entry.core_metadata = Some(serde_json::json!({ "sha256": m }));
            }
        }
        let decided = self.decided.get(&i);
        // Held files were never scanned: their report (what holds them) is under the index's sha256.
        let held_sha = decided.and(e.sha256());
        let report = known
            .map(|k| k.sha256.to_string())
            .or_else(|| held_sha.map(str::to_string))
            .map(|sha| format!("../../reports/{sha}"));
        let annotation =
            decided.and_then(|(v, found)| listing_annotation(v, found.as_deref().map(Vec::as_slice), report));
        let href = file_href(key, &e.filename);
        let mut listed = ListedFile { href, entry, annotation };
        match decided {
            Some((v, _)) if v.decision == Decision::Block && any_allowed => match v.index {
                IndexMode::Hide => return None,
                IndexMode::Yank => {
                    let why = v.reasons.first().map(|r| r.message.clone()).unwrap_or_default();
                    listed.entry.yanked = Some(Some(format!("blocked by pipgate: {why}")));
                }
            },
            _ => {}
        }
        Some(listed)
    }

    /// What the page withheld (hid or marked yanked) while another version stayed allowed,
    /// in page order, each with the newest version an unpinned install gets instead.
    pub(crate) fn withheld(&self, page: &ProjectPage) -> Vec<Withheld> {
        if !self.any_allowed(page.files.len()) {
            return vec![];
        }
        let instead = self.early.newest.iter().find(|(i, _)| !self.blocked(*i)).map(|(_, v)| v.clone());
        let mut blocked: Vec<usize> = self.decided.keys().copied().filter(|i| self.blocked(*i)).collect();
        blocked.sort_unstable();
        blocked
            .into_iter()
            .map(|i| {
                let e = &page.files[i];
                let known = self.verified.get(&self.early.keys[i]);
                let sha = e.sha256().map(str::to_string).or_else(|| known.map(|k| k.sha256.to_string()));
                Withheld {
                    filename: e.filename.clone(),
                    sha256: sha.unwrap_or_default(),
                    verdict: self.decided[&i].0.clone(),
                    instead: instead.clone(),
                }
            })
            .collect()
    }

    /// The earliest instant the clock alone changes what the listing shows (a hold's or an
    /// annotation's `available_at`), `None`: never.
    pub(crate) fn until(&self) -> Option<time::OffsetDateTime> {
        earliest_available(self.decided.values())
    }
}

/// What a page shows, and what it withheld.
#[cfg(test)]
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

/// A verdict already known for a listed file, with the findings behind it when it was scanned.
type Known = (Verdict, Option<Arc<Vec<Finding>>>);

/// The earliest `available_at` of these verdicts (when a hold ends), `None`: none ends.
fn earliest_available<'a>(known: impl Iterator<Item = &'a Known>) -> Option<time::OffsetDateTime> {
    known.filter_map(|(v, _)| v.available_at.as_deref()).filter_map(crate::timefmt::parse_instant).min()
}

/// CPU work on a blocking thread (a panic there is re-raised here).
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
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
