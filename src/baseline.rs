//! `pipgate baseline`: what the most downloaded projects do, for the prevalence labels.
//!
//! Owns: reading the ranked project list, choosing each project's latest release's sdist
//! and one wheel from its page, fetching them through the proxy's own index and artifact
//! machinery (the configured upstream, hash verified) with bounded concurrency, scanning
//! them with the gate's scanner, dropping the bytes (bounded disk), the resumable state
//! file beside the output (one JSON line per finished project), and writing the baseline
//! that `scan::prevalence` aggregates and reads.
//! Must not: print (the caller is told of each finished project), decide, or name a
//! registry host (the output carries no URL).

use crate::app::App;
use crate::index::page::{FileEntry, ProjectPage};
use crate::model::{normalize_project_name, ArtifactKind};
use crate::scan::prevalence::{aggregate, ArtifactSeen, Baseline, Observed};
use futures_util::StreamExt;
use pep440_rs::Version;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What a run is asked to do.
#[derive(Debug, Clone)]
pub struct BaselineOptions {
    /// N: the first N projects of the list.
    pub top: u64,
    /// `rank<TAB>name` lines (a header line is skipped); `None`: the embedded list.
    pub projects: Option<PathBuf>,
    /// The baseline file; the state file is beside it.
    pub out: PathBuf,
    /// Projects fetched and scanned at once.
    pub concurrency: usize,
    /// Larger artifacts (by the page's size, else by the download) are skipped.
    pub max_artifact_bytes: u64,
    /// Stop starting projects after this long (what finished is written).
    pub stop_after: Option<Duration>,
}

/// The end-of-run summary.
#[derive(Debug, Clone, Default)]
pub struct BaselineSummary {
    /// Projects in the top N.
    pub projects: u64,
    /// Projects done by an earlier run (skipped).
    pub resumed: u64,
    /// Projects with at least one artifact scanned (this run and earlier ones).
    pub scanned_projects: u64,
    /// Artifacts scanned by this run.
    pub artifacts: u64,
    /// Artifacts or pages that failed in this run.
    pub failures: u64,
    /// Bytes downloaded and scanned by this run.
    pub bytes: u64,
    pub elapsed: Duration,
    /// Projects not started because `stop_after` passed.
    pub not_started: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    #[error("{path}: {reason}")]
    Io { path: String, reason: String },
    #[error("{path}:{line}: expected `rank<TAB>name`, got {text:?}")]
    BadLine { path: String, line: usize, text: String },
}

fn io_error(path: &Path, e: impl std::fmt::Display) -> BaselineError {
    BaselineError::Io { path: path.display().to_string(), reason: e.to_string() }
}

/// The state file beside `out`: `baseline.json` → `baseline.state.jsonl`.
pub fn state_path(out: &Path) -> PathBuf {
    out.with_extension("state.jsonl")
}

/// `(rank, name)` of the first `top` lines of a `rank<TAB>name` list.
pub(crate) fn read_projects(text: &str, path: &str, top: u64) -> Result<Vec<(u64, String)>, BaselineError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || (i == 0 && line.starts_with("rank")) {
            continue;
        }
        let bad = || BaselineError::BadLine { path: path.to_string(), line: i + 1, text: line.to_string() };
        let (rank, name) = line.split_once('\t').ok_or_else(bad)?;
        let rank: u64 = rank.trim().parse().map_err(|_| bad())?;
        if rank > top {
            continue;
        }
        out.push((rank, name.trim().to_string()));
    }
    out.sort();
    Ok(out)
}

/// The latest release's sdist and one wheel (`py3-none-any` preferred, else a manylinux
/// x86_64 CPython one, the newest Python tag). Yanked files are ignored; pre-releases only
/// count when the project has nothing else.
pub(crate) fn pick(page: &ProjectPage) -> Vec<&FileEntry> {
    let files: Vec<(&FileEntry, Version, ArtifactKind)> = page.releases().collect();
    let any_final = files.iter().any(|(_, v, _)| !v.any_prerelease());
    let Some(latest) = files.iter().filter(|(_, v, _)| !any_final || !v.any_prerelease()).map(|(_, v, _)| v).max()
    else {
        return vec![];
    };
    let of_latest: Vec<&(&FileEntry, Version, ArtifactKind)> = files.iter().filter(|(_, v, _)| v == latest).collect();
    let sdist = of_latest
        .iter()
        .filter(|(_, _, k)| *k == ArtifactKind::Sdist)
        .min_by_key(|(e, _, _)| !e.filename.ends_with(".tar.gz"))
        .map(|(e, _, _)| *e);
    let wheels = || of_latest.iter().filter(|(_, _, k)| *k == ArtifactKind::Wheel).map(|(e, _, _)| *e);
    let wheel = wheels().find(|e| e.filename.ends_with("-none-any.whl")).or_else(|| {
        wheels()
            .filter(|e| {
                let f = &e.filename;
                f.contains("-cp3") && f.contains("manylinux") && f.ends_with("_x86_64.whl")
            })
            .max_by_key(|e| cpython_minor(&e.filename))
    });
    sdist.into_iter().chain(wheel).collect()
}

/// `pkg-1.0-cp312-cp312-manylinux….whl` → (12, true); a free-threaded `cp313t` build
/// ranks below the regular one of the same version.
fn cpython_minor(filename: &str) -> (u32, bool) {
    let tag = filename.split('-').find(|p| p.starts_with("cp3")).unwrap_or("");
    let rest = tag.trim_start_matches("cp3");
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    let free_threaded = filename.split('-').any(|p| p.starts_with("cp3") && p.ends_with('t'));
    (digits.parse().unwrap_or(0), !free_threaded)
}

/// The finished projects of earlier runs (a project's last line wins; unreadable lines,
/// such as one cut by a crash, are skipped).
pub(crate) fn read_state(text: &str) -> BTreeMap<String, Observed> {
    let mut done = BTreeMap::new();
    for line in text.lines() {
        if let Ok(o) = serde_json::from_str::<Observed>(line) {
            done.insert(o.project.clone(), o);
        }
    }
    done
}

/// Run the baseline: scan what earlier runs did not finish, append each finished
/// project to the state file, write the baseline from the whole state. `done` is told of
/// each project as it finishes (for a progress bar).
pub async fn run(
    app: Arc<App>,
    opts: &BaselineOptions,
    date: &str,
    on_start: impl FnOnce(u64),
    on_done: impl Fn(&str) + Send + Sync,
) -> Result<BaselineSummary, BaselineError> {
    let started = Instant::now();
    let (text, path) = match &opts.projects {
        Some(p) => (std::fs::read_to_string(p).map_err(|e| io_error(p, e))?, p.display().to_string()),
        None => (crate::scan::detectors::meta_typosquat::TOP.to_string(), "data/top-pypi-packages.tsv".into()),
    };
    let projects = read_projects(&text, &path, opts.top)?;
    let state = state_path(&opts.out);
    let previous = match std::fs::read_to_string(&state) {
        Ok(t) => read_state(&t),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
        Err(e) => return Err(io_error(&state, e)),
    };
    let mut summary = BaselineSummary { projects: projects.len() as u64, ..Default::default() };
    let todo: Vec<(u64, String)> = projects
        .iter()
        .filter(|(_, name)| previous.get(&normalize_project_name(name)).is_none_or(|o| o.artifacts.is_empty()))
        .cloned()
        .collect();
    summary.resumed = summary.projects - todo.len() as u64;
    on_start(todo.len() as u64);
    if let Some(parent) = state.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| io_error(parent, e))?;
    }
    let mut writer =
        std::fs::OpenOptions::new().create(true).append(true).open(&state).map_err(|e| io_error(&state, e))?;
    let mut all = previous;
    let stop_at = opts.stop_after.map(|d| started + d);
    let max_bytes = opts.max_artifact_bytes;
    let mut results = futures_util::stream::iter(todo)
        .map(|(rank, name)| {
            let app = app.clone();
            async move {
                if stop_at.is_some_and(|t| Instant::now() >= t) {
                    return None;
                }
                Some(observe(&app, rank, &name, max_bytes).await)
            }
        })
        .buffer_unordered(opts.concurrency.max(1));
    while let Some(done) = results.next().await {
        let Some((o, bytes)) = done else {
            summary.not_started += 1;
            continue;
        };
        summary.artifacts += o.artifacts.len() as u64;
        summary.failures += o.failures.len() as u64;
        summary.bytes += bytes;
        let line = serde_json::to_string(&o).unwrap_or_default();
        writeln!(writer, "{line}").map_err(|e| io_error(&state, e))?;
        on_done(&o.project);
        all.insert(o.project.clone(), o);
    }
    writer.flush().map_err(|e| io_error(&state, e))?;
    let observed: Vec<Observed> = all.into_values().collect();
    summary.scanned_projects = observed.iter().filter(|o| o.rank <= opts.top && !o.artifacts.is_empty()).count() as u64;
    let baseline = aggregate(&observed, opts.top, date, crate::scan::scanner_version());
    write_baseline(&opts.out, &baseline)?;
    summary.elapsed = started.elapsed();
    Ok(summary)
}

/// Write the baseline (pretty JSON, then a rename: a reader never sees half a file).
fn write_baseline(out: &Path, b: &Baseline) -> Result<(), BaselineError> {
    let mut text = serde_json::to_string_pretty(b).unwrap_or_default();
    text.push('\n');
    let tmp = out.with_extension("json.part");
    std::fs::write(&tmp, text).map_err(|e| io_error(&tmp, e))?;
    std::fs::rename(&tmp, out).map_err(|e| io_error(out, e))
}

/// One project: its page, its chosen artifacts downloaded (verified), scanned and deleted.
/// Returns what it showed and the bytes downloaded.
async fn observe(app: &App, rank: u64, name: &str, max_bytes: u64) -> (Observed, u64) {
    let project = normalize_project_name(name);
    let mut o = Observed { project: project.clone(), rank, artifacts: vec![], failures: vec![] };
    let page = match app.index.project(&project).await {
        Ok(p) => p.value,
        Err(e) => {
            o.failures.push(format!("page: {e}"));
            return (o, 0);
        }
    };
    let chosen = pick(&page);
    if chosen.is_empty() {
        o.failures.push("no sdist or wheel in the latest release".into());
    }
    let mut bytes = 0;
    for e in chosen {
        if e.size.is_some_and(|s| s > max_bytes) {
            o.failures.push(format!("{}: {} bytes, over --max-artifact-bytes", e.filename, e.size.unwrap_or(0)));
            continue;
        }
        let facts = match app.verified_facts_as(&crate::index::file_key(e), Some(&e.filename)).await {
            Ok(Some(f)) => f,
            Ok(None) => {
                o.failures.push(format!("{}: not recorded from the page", e.filename));
                continue;
            }
            Err(err) => {
                o.failures.push(format!("{}: {err}", e.filename));
                continue;
            }
        };
        let report = app.scan_report(&facts).await;
        // Bounded disk: the bytes go as soon as they are scanned.
        let _ = std::fs::remove_file(&facts.path);
        match report {
            Ok(r) => {
                bytes += facts.size;
                o.artifacts.push(ArtifactSeen::of(&facts.filename, &facts.sha256, facts.size, &r.findings));
            }
            Err(why) => o.failures.push(format!("{}: scan failed: {why}", e.filename)),
        }
    }
    (o, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(files: &[(&str, bool)]) -> ProjectPage {
        ProjectPage::of_files(files)
    }

    #[test]
    fn the_latest_releases_sdist_and_one_wheel_are_picked() {
        type Case<'a> = (&'a str, &'a [(&'a str, bool)], &'a [&'a str]);
        let cases: [Case; 6] = [
            (
                "pure wheel preferred",
                &[
                    ("pkg-2.0.tar.gz", false),
                    ("pkg-2.0-cp312-cp312-manylinux_2_17_x86_64.whl", false),
                    ("pkg-2.0-py3-none-any.whl", false),
                    ("pkg-1.0-py3-none-any.whl", false),
                ],
                &["pkg-2.0.tar.gz", "pkg-2.0-py3-none-any.whl"],
            ),
            (
                "newest manylinux x86_64 CPython wheel",
                &[
                    ("pkg-2.0-cp39-cp39-manylinux_2_17_x86_64.whl", false),
                    ("pkg-2.0-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", false),
                    ("pkg-2.0-cp313-cp313-win_amd64.whl", false),
                    ("pkg-2.0-cp312-cp312t-manylinux_2_17_x86_64.whl", false),
                    ("pkg-2.0-cp312-cp312t-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", false),
                    ("pkg-2.0-cp312-cp312-manylinux_2_17_aarch64.whl", false),
                ],
                &["pkg-2.0-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"],
            ),
            ("pre-release skipped", &[("pkg-3.0rc1.tar.gz", false), ("pkg-2.0.tar.gz", false)], &["pkg-2.0.tar.gz"]),
            ("only pre-releases", &[("pkg-3.0b1.tar.gz", false), ("pkg-3.0a1.tar.gz", false)], &["pkg-3.0b1.tar.gz"]),
            ("yanked ignored", &[("pkg-2.0.tar.gz", true), ("pkg-1.9.tar.gz", false)], &["pkg-1.9.tar.gz"]),
            (
                "PEP 440 order, not text order",
                &[("pkg-1.10.tar.gz", false), ("pkg-1.9.tar.gz", false)],
                &["pkg-1.10.tar.gz"],
            ),
        ];
        for (case, files, want) in cases {
            let p = page(files);
            let got: Vec<&str> = pick(&p).iter().map(|e| e.filename.as_str()).collect();
            assert_eq!(got, want, "{case}");
        }
    }

    #[test]
    fn project_lists_are_read_up_to_n() {
        let text = "rank\tname\n1\tboto3\n2\tpackaging\n3\tsix\n";
        assert_eq!(read_projects(text, "t", 2).unwrap(), vec![(1, "boto3".into()), (2, "packaging".into())]);
        let err = read_projects("rank\tname\nboto3\n", "list.tsv", 2).unwrap_err();
        assert_eq!(err.to_string(), "list.tsv:2: expected `rank<TAB>name`, got \"boto3\"");
    }

    #[test]
    fn state_lines_resume_with_the_last_line_per_project() {
        let first = Observed { project: "a".into(), rank: 1, artifacts: vec![], failures: vec!["503".into()] };
        let mut second = first.clone();
        second.failures.clear();
        second.artifacts.push(ArtifactSeen::of("a-1.0.tar.gz", "00", 3, &[]));
        let text = format!(
            "{}\n{{\"project\": \"cut by a cra\n{}\n",
            serde_json::to_string(&first).unwrap(),
            serde_json::to_string(&second).unwrap()
        );
        let state = read_state(&text);
        assert_eq!(state.len(), 1);
        assert_eq!(state["a"], second, "the later line wins; a torn line is skipped");
    }
}
