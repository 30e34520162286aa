//! The name verdict: is a look-alike name corroborated?
//!
//! `metadata.typosquat` comes from the scan, which is pure and cached per sha256: it sees
//! the name only and reports at most medium. Between the scan and the policy (like
//! enrichment), the gate re-judges that one finding with what the scan cannot or must not
//! depend on, and nothing else changes:
//!
//! | fact | source | effect |
//! |---|---|---|
//! | risky behaviour in the same artifact: another finding ≥ medium in install-time or runtime code, or a disposable author email | the artifact's other findings | corroborates |
//! | young project with few releases (< 30 days, ≤ 2 releases) | [`ProjectHistory`] from the project's index page | corroborates (named in the message; never enough alone) |
//! | established project (≥ 10 releases over ≥ 90 days, or ≥ 3 over more than a year) | [`ProjectHistory`] | de-corroborates |
//! | known extension or namespace pattern (`httpx2`, `-core`, `-stubs`, `types-`, `django-`, `py`…) | the name ([`extension_pattern`]) | de-corroborates |
//! | the imitated project's rank versus this one's | the popular list ([`popular_rank`]) | the detector already drops popular names within [`POPULAR_GAP`] of their target; the ranks are named in the message |
//! | the author matching the imitated project's | — | not used: the imitated project's metadata is not knowable offline |
//!
//! Outcome: a look-alike with risky behaviour and no de-corroborating fact is **high**
//! (blocked by the shipped policy's `typosquat-of-popular-project` rule); every other
//! look-alike keeps the detector's severity (≤ medium: annotated). A name-only signal
//! never blocks on its own, and a popular name that imitates a far more popular one
//! (`tdqm` → `tqdm`) is judged by the same rules.
//!
//! A corroborated look-alike is a verdict on the **project**, not on one file: the gate
//! remembers it (`Gate::name_holds`) and applies it to every file of the project, on the
//! page and at the file route, so a resolver meets one reason instead of a new 403 per file.
//!
//! The history is the one the gate saw on the project's last listed page (remembered in
//! memory, bounded); a file fetched without a page (a lockfile after a restart) is judged
//! without it. Must not: do I/O, read the clock (time is an argument), or change any
//! finding but `metadata.typosquat`.

use crate::index::page::ProjectPage;
use crate::model::{parse_dist_filename, FileRole, Finding, Severity};
use crate::scan::detectors::meta_typosquat::{extension_pattern, imitates, popular_rank, POPULAR_GAP};
use std::collections::BTreeSet;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// The detector this step re-judges.
pub(crate) const TYPOSQUAT: &str = "metadata.typosquat";
/// A disposable author address is a second signal wherever it appears.
const ANONYMOUS_AUTHOR: &str = "hunting.anonymous-author";
/// Established: this many releases over at least [`ESTABLISHED_MIN_DAYS`] …
const ESTABLISHED_RELEASES: usize = 10;
const ESTABLISHED_MIN_DAYS: i64 = 90;
/// … or a few releases over more than this many days.
const ESTABLISHED_DAYS: i64 = 365;
/// Young: first upload within this many days, with at most [`YOUNG_MAX_RELEASES`] releases.
const YOUNG_DAYS: i64 = 30;
const YOUNG_MAX_RELEASES: usize = 2;

/// What a project's index page tells about its history.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct ProjectHistory {
    /// The earliest upload time on the page, when the index gives upload times.
    pub first_upload: Option<OffsetDateTime>,
    /// Distinct versions listed.
    pub releases: usize,
}

impl ProjectHistory {
    pub(crate) fn of(page: &ProjectPage) -> ProjectHistory {
        let versions: BTreeSet<String> =
            page.files.iter().filter_map(|e| parse_dist_filename(&e.filename)).map(|d| d.version).collect();
        let first_upload = page
            .files
            .iter()
            .filter_map(|e| e.upload_time.as_deref())
            .filter_map(|t| OffsetDateTime::parse(t.trim(), &Rfc3339).ok())
            .min();
        ProjectHistory { first_upload, releases: versions.len() }
    }

    fn age_days(&self, now: OffsetDateTime) -> Option<i64> {
        self.first_upload.map(|t| (now - t).whole_days())
    }

    /// Many releases over months (a burst of uploads in a week is not a history), or a few
    /// over more than a year. Without upload times, the release count alone.
    fn established(&self, now: OffsetDateTime) -> bool {
        let age = self.age_days(now);
        (self.releases >= ESTABLISHED_RELEASES && age.is_none_or(|d| d >= ESTABLISHED_MIN_DAYS))
            || (self.releases >= 3 && age.is_some_and(|d| d > ESTABLISHED_DAYS))
    }

    fn young(&self, now: OffsetDateTime) -> bool {
        self.releases <= YOUNG_MAX_RELEASES && self.age_days(now).is_some_and(|d| d < YOUNG_DAYS)
    }

    /// The next instant after `now` at which the history's age in whole days (all that
    /// [`ProjectHistory::established`] and [`ProjectHistory::young`] read of the clock)
    /// changes; `None` without upload times (then the clock plays no part).
    pub(crate) fn next_change(&self, now: OffsetDateTime) -> Option<OffsetDateTime> {
        let first = self.first_upload?;
        let days = (now - first).whole_days();
        // Whole days truncate toward zero: before the first upload the count next moves
        // at `days` (it rises to `days + 1` just after), from it at `days + 1`.
        let next = if now < first && days < 0 { days } else { days + 1 };
        Some(first + time::Duration::days(next))
    }
}

/// Is this finding risky behaviour that corroborates a look-alike name?
fn risky(f: &Finding) -> bool {
    f.detector != TYPOSQUAT
        && f.severity >= Severity::Medium
        && (f.detector == ANONYMOUS_AUTHOR
            || f.evidence
                .iter()
                .any(|e| matches!(e.role, FileRole::InstallTime | FileRole::ImportTime | FileRole::Runtime)))
}

/// `findings` with the `metadata.typosquat` finding (if any) re-judged for `project`.
/// `filename` names the artifact in the message (a project verdict is shown on other files).
pub(crate) fn judge(
    project: &str,
    filename: &str,
    findings: &[Finding],
    history: Option<&ProjectHistory>,
    now: OffsetDateTime,
) -> Vec<Finding> {
    findings
        .iter()
        .map(
            |f| {
                if f.detector == TYPOSQUAT {
                    judge_one(project, filename, f, findings, history, now)
                } else {
                    f.clone()
                }
            },
        )
        .collect()
}

fn judge_one(
    project: &str,
    filename: &str,
    f: &Finding,
    all: &[Finding],
    history: Option<&ProjectHistory>,
    now: OffsetDateTime,
) -> Finding {
    let Some((target, rank, how)) = imitates(project) else {
        return f.clone();
    };
    let own = match popular_rank(project) {
        Some(r) => format!("rank {r}, more than {POPULAR_GAP}x below"),
        None => "not in the popular list".to_string(),
    };
    let mut behaviour: Vec<&str> = all.iter().filter(|g| risky(g)).map(|g| g.detector.as_str()).collect();
    behaviour.dedup();
    let mut against: Vec<String> = Vec::new();
    let mut for_: Vec<String> = Vec::new();
    if let Some(p) = extension_pattern(project, &target) {
        against.push(format!("follows the extension pattern `{p}`"));
    }
    if let Some(h) = history {
        let age = h.age_days(now).map(|d| format!(", first upload {d} days ago")).unwrap_or_default();
        let what = format!("{} release(s){age}", h.releases);
        if h.established(now) {
            against.push(format!("established project ({what})"));
        } else if h.young(now) {
            for_.push(format!("young project ({what})"));
        }
    }
    if !behaviour.is_empty() {
        for_.push(format!("risky behaviour in {filename}: {}", behaviour.join(", ")));
    }
    let corroborated = !behaviour.is_empty() && against.is_empty();
    let mut message = format!(
        "{} resembles {target} (rank {rank}; this project: {own}): {how}",
        crate::model::normalize_project_name(project)
    );
    if !for_.is_empty() {
        message.push_str(&format!("; corroborated by {}", for_.join(", ")));
    }
    if !against.is_empty() {
        message.push_str(&format!("; but {}", against.join(", ")));
    }
    if !corroborated {
        message.push_str("; a name alone is not blocked");
    }
    let mut out = f.clone();
    out.message = message;
    if corroborated {
        out.severity = Severity::High;
    }
    out
}

/// The corroborated name finding among `findings`: what makes a project-level verdict.
pub(crate) fn corroborated(findings: &[Finding]) -> Option<&Finding> {
    findings.iter().find(|f| f.detector == TYPOSQUAT && f.severity >= Severity::High)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Category, Evidence};

    fn finding(id: &str, severity: Severity, role: FileRole) -> Finding {
        Finding {
            detector: id.into(),
            title: id.into(),
            category: Category::Metadata,
            severity,
            message: format!("{id} found"),
            evidence: vec![Evidence {
                path: "x".into(),
                line: None,
                column: None,
                snippet: None,
                indicator: None,
                role,
                severity: None,
            }],
        }
    }

    fn squat() -> Finding {
        finding(TYPOSQUAT, Severity::Medium, FileRole::Metadata)
    }

    fn history(releases: usize, days_ago: i64, now: OffsetDateTime) -> ProjectHistory {
        ProjectHistory { first_upload: Some(now - time::Duration::days(days_ago)), releases }
    }

    #[test]
    fn cases() {
        let now = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        let hook = finding("execution.install-hook", Severity::Medium, FileRole::InstallTime);
        let net = finding("network.downloads-file", Severity::High, FileRole::InstallTime);
        let docs_url = finding("network.url-shortener", Severity::Medium, FileRole::TestOrDocs);
        let disposable = finding(ANONYMOUS_AUTHOR, Severity::Medium, FileRole::Metadata);
        type Case<'a> = (&'a str, &'a str, Vec<Finding>, Option<ProjectHistory>, Severity, &'a str);
        let cases: Vec<Case> = vec![
            (
                "name only: annotated",
                "reqeusts",
                vec![squat()],
                Some(history(1, 2, now)),
                Severity::Medium,
                "young project",
            ),
            (
                "install hook with network: blocked",
                "reqeusts",
                vec![squat(), hook.clone(), net],
                None,
                Severity::High,
                "risky behaviour",
            ),
            (
                "popular look-alike, name only",
                "tdqm",
                vec![squat()],
                Some(history(2, 2000, now)),
                Severity::Medium,
                "rank 8940",
            ),
            (
                "popular look-alike with a second signal",
                "tdqm",
                vec![squat(), hook.clone()],
                Some(history(2, 2000, now)),
                Severity::High,
                "execution.install-hook",
            ),
            (
                "disposable author email",
                "reqeusts",
                vec![squat(), disposable],
                None,
                Severity::High,
                "hunting.anonymous-author",
            ),
            (
                "behaviour only in docs does not count",
                "reqeusts",
                vec![squat(), docs_url],
                None,
                Severity::Medium,
                "a name alone",
            ),
            (
                "extension pattern, many releases",
                "httpx2",
                vec![squat()],
                Some(history(24, 200, now)),
                Severity::Medium,
                "extension pattern `2`",
            ),
            (
                "extension pattern with an install hook",
                "httpcore2",
                vec![squat(), hook.clone()],
                Some(history(24, 200, now)),
                Severity::Medium,
                "established project",
            ),
            (
                "established project with an install hook",
                "reqeusts",
                vec![squat(), hook],
                Some(history(40, 3000, now)),
                Severity::Medium,
                "established",
            ),
        ];
        for (case, project, findings, hist, want, says) in cases {
            let got = judge(project, "f.tar.gz", &findings, hist.as_ref(), now);
            let f = got.iter().find(|f| f.detector == TYPOSQUAT).unwrap();
            assert_eq!(f.severity, want, "{case}: {}", f.message);
            assert!(f.message.contains(says), "{case}: {}", f.message);
            assert_eq!(got.len(), findings.len(), "{case}: other findings untouched");
            assert_eq!(corroborated(&got).is_some(), want == Severity::High, "{case}");
        }
    }

    #[test]
    fn history_from_a_page() {
        let page = crate::index::page::ProjectPage {
            name: "demo".into(),
            files: ["demo-1.0.tar.gz", "demo-1.0-py3-none-any.whl", "demo-2.0.tar.gz"]
                .iter()
                .zip(["2020-01-01T00:00:00Z", "2019-06-01T00:00:00Z", "2021-01-01T00:00:00Z"])
                .map(|(f, t)| crate::index::page::FileEntry {
                    filename: f.to_string(),
                    url: url::Url::parse(&format!("http://u.invalid/{f}")).unwrap(),
                    hashes: Default::default(),
                    requires_python: None,
                    yanked: None,
                    core_metadata: None,
                    size: None,
                    upload_time: Some(t.to_string()),
                    extra: Default::default(),
                })
                .collect(),
            ..Default::default()
        };
        let h = ProjectHistory::of(&page);
        assert_eq!(h.releases, 2);
        assert_eq!(h.first_upload.unwrap().year(), 2019);
    }
}
