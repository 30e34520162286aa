//! The scheduled refresh inside `pipgate serve` (`--advisories-url`, `--advisories-refresh`):
//! each configured source is fetched with [`super::update::fetch`] (the one implementation
//! `pipgate advisories update` uses: `ETag` / `If-Modified-Since` revalidation, bounded size and
//! time) at start and then on the schedule; the data directory's poll picks new data up.
//! The last outcome per source is kept in `refresh.json` beside the sources, for
//! `pipgate advisories status`.
//! Must not: block start-up or serving (it runs in its own task; failures are logged and
//! retried at the next tick), or decide.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The file, in the advisories directory, holding each source's last refresh outcome.
const STATE_FILE: &str = "refresh.json";

/// The name a source without `NAME=` gets: the first one shares `advisories update`'s
/// default name (so both revalidate the same copy); the next ones are numbered.
const DEFAULT_NAME: &str = "osv-update";

/// One configured source: its name in the data directory and its URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    pub name: String,
    pub url: url::Url,
}

/// Why `--advisories-url` was refused (the operator's fault, named with the flag's value).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SourceError {
    #[error("--advisories-url {raw:?}: {reason} (expected URL or NAME=URL with an http(s) URL)")]
    Bad { raw: String, reason: String },
    #[error("--advisories-url: the name {0:?} is given to two sources")]
    Duplicate(String),
}

/// Parse the `--advisories-url` values (`URL` or `NAME=URL`), naming unnamed ones.
pub fn parse_sources(raw: &[String]) -> Result<Vec<Source>, SourceError> {
    let mut out: Vec<Source> = Vec::new();
    let mut unnamed = 0;
    for r in raw.iter().map(|r| r.trim()).filter(|r| !r.is_empty()) {
        let bad = |reason: String| SourceError::Bad { raw: r.to_string(), reason };
        // `NAME=` only when what precedes `=` is a plain name (a URL's query has `=` too).
        let (name, url) = match r.split_once('=') {
            Some((n, u)) if !n.is_empty() && n.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)) => {
                (n.to_string(), u)
            }
            _ => {
                unnamed += 1;
                let n = if unnamed == 1 { DEFAULT_NAME.to_string() } else { format!("{DEFAULT_NAME}-{unnamed}") };
                (n, r)
            }
        };
        let url = url::Url::parse(url.trim()).map_err(|e| bad(e.to_string()))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(bad("not an http(s) URL".into()));
        }
        if out.iter().any(|s| s.name == name) {
            return Err(SourceError::Duplicate(name));
        }
        out.push(Source { name, url });
    }
    Ok(out)
}

/// A source's last refresh, as `refresh.json` keeps it.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct LastRefresh {
    at: String,
    ok: bool,
    outcome: String,
}

fn read_state(dir: &Path) -> BTreeMap<String, LastRefresh> {
    std::fs::read(dir.join(STATE_FILE)).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default()
}

fn write_state(dir: &Path, name: &str, ok: bool, outcome: String) {
    let mut state = read_state(dir);
    state.insert(name.to_string(), LastRefresh { at: crate::timefmt::now_rfc3339(), ok, outcome });
    let path = dir.join(STATE_FILE);
    let tmp = dir.join(format!(".{STATE_FILE}.part-{}", std::process::id()));
    let written = std::fs::create_dir_all(dir)
        .and_then(|()| std::fs::write(&tmp, serde_json::to_vec_pretty(&state).unwrap_or_default()))
        .and_then(|()| std::fs::rename(&tmp, &path));
    if let Err(e) = written {
        tracing::warn!(path = %path.display(), error = %e, "could not record the advisories refresh outcome");
    }
}

/// Lines for `pipgate advisories status`: each source's last scheduled refresh.
pub(super) fn status_lines(dir: &Path) -> Vec<String> {
    read_state(dir)
        .into_iter()
        .map(|(name, r)| {
            format!("  {name}: last refreshed {} ({}): {}", r.at, if r.ok { "ok" } else { "FAILED" }, r.outcome)
        })
        .collect()
}

/// Refresh every source once, one after the other; failures are logged, never returned.
pub(crate) async fn refresh_once(data_dir: &Path, sources: &[Source]) {
    let dir = super::advisories_dir(data_dir);
    for s in sources {
        let shown = crate::config::redact(&s.url);
        let started = std::time::Instant::now();
        let ms = || started.elapsed().as_millis() as u64;
        match super::update::fetch(data_dir, s.url.as_str(), &s.name).await {
            Ok(f @ super::update::Fetched::Imported { records, .. }) => {
                tracing::info!(source = %s.name, url = %shown, records, ms = ms(), "advisories refreshed: new data");
                write_state(&dir, &s.name, true, f.line());
            }
            Ok(f @ super::update::Fetched::NotModified { .. }) => {
                tracing::info!(source = %s.name, url = %shown, ms = ms(), "advisories refreshed: not modified");
                write_state(&dir, &s.name, true, f.line());
            }
            Err(e) => {
                tracing::warn!(source = %s.name, url = %shown, error = %e, "advisories refresh failed; the data in force stands, retried at the next refresh");
                write_state(&dir, &s.name, false, e);
            }
        }
    }
}

/// Refresh `sources` into `data_dir` now and every `every`, in the background, for as long
/// as the process runs. Nothing to do without sources.
pub fn spawn_refresh(data_dir: PathBuf, sources: Vec<Source>, every: Duration) {
    if sources.is_empty() {
        return;
    }
    let every = every.max(Duration::from_secs(1));
    tracing::info!(
        sources = %sources.iter().map(|s| format!("{}={}", s.name, crate::config::redact(&s.url))).collect::<Vec<_>>().join(", "),
        every = %humantime::format_duration(every),
        "advisories refreshed from URLs on a schedule"
    );
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            refresh_once(&data_dir, &sources).await;
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(raw: &[&str]) -> Result<Vec<(String, String)>, SourceError> {
        let raw: Vec<String> = raw.iter().map(ToString::to_string).collect();
        parse_sources(&raw).map(|v| v.into_iter().map(|s| (s.name, s.url.to_string())).collect())
    }

    /// A case: its name, the flag values, the (name, URL) pairs wanted.
    type Case<'a> = (&'a str, Vec<&'a str>, Vec<(String, String)>);

    #[test]
    fn advisories_url_values_are_parsed_and_named() {
        let pair = |n: &str, u: &str| (n.to_string(), u.to_string());
        let cases: Vec<Case> = vec![
            (
                "one unnamed URL gets the update command's name",
                vec!["https://a.test/all.zip"],
                vec![pair("osv-update", "https://a.test/all.zip")],
            ),
            (
                "unnamed URLs after the first are numbered",
                vec!["https://a.test/1.zip", "https://b.test/2.zip"],
                vec![pair("osv-update", "https://a.test/1.zip"), pair("osv-update-2", "https://b.test/2.zip")],
            ),
            ("NAME=URL names the source", vec!["mal=https://a.test/m.zip"], vec![pair("mal", "https://a.test/m.zip")]),
            (
                "a query's = is not a name",
                vec!["https://a.test/get?file=all.zip"],
                vec![pair("osv-update", "https://a.test/get?file=all.zip")],
            ),
            ("blank values are ignored", vec!["", "  "], vec![]),
        ];
        for (case, raw, want) in cases {
            assert_eq!(names(&raw).unwrap(), want, "{case}");
        }
    }

    #[test]
    fn bad_advisories_url_values_are_refused_naming_the_value() {
        let cases = [
            ("not a URL", vec!["nonsense"], "\"nonsense\""),
            ("not http(s)", vec!["file:///tmp/all.zip"], "not an http(s) URL"),
            ("a name twice", vec!["a=https://x.test/1", "a=https://x.test/2"], "given to two sources"),
        ];
        for (case, raw, want) in cases {
            let err = names(&raw).expect_err(case).to_string();
            assert!(err.contains(want), "{case}: {err}");
        }
    }

    #[test]
    fn the_last_outcome_per_source_is_kept_for_status() {
        let dir = tempfile::tempdir().unwrap();
        write_state(dir.path(), "a", true, "a: 3 records".into());
        write_state(dir.path(), "b", false, "b: HTTP 500".into());
        write_state(dir.path(), "a", true, "a: not modified".into());
        let lines = status_lines(dir.path());
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert!(
            lines[0].starts_with("  a: last refreshed ") && lines[0].ends_with("(ok): a: not modified"),
            "{lines:?}"
        );
        assert!(lines[1].ends_with("(FAILED): b: HTTP 500"), "{lines:?}");
    }
}
