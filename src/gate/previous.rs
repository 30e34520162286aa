//! Which release a file is compared with: the previous release (new in this version) and
//! the established baseline (`established:`).
//!
//! Owns: choosing the previous release's corresponding file from the project page (PEP 440
//! order, pre-releases skipped unless the current one is one, yanked files skipped, the
//! same kind of artifact and, for a wheel, the same tags when the previous release has
//! them), and choosing the baseline ([`baseline_file`]: the same choice among the files
//! uploaded at least `baseline_age` before this file, for a project whose history is long
//! enough). The comparisons are [`crate::model::VersionDiff::compare`] and
//! [`super::established::compare`].
//! Must not: fetch (the app fetches and scans the chosen file through the artifact cache).

use crate::index::page::{FileEntry, ProjectPage};
use crate::model::{parse_dist_filename, wheel_tag_triple, ArtifactKind};
use crate::policy::EstablishedRule;
use pep440_rs::Version;
use std::str::FromStr;
use time::OffsetDateTime;

/// The file of the release before the one `filename` belongs to, of the same kind; `Err`
/// says why there is none (shown as "not compared").
pub(crate) fn previous_file<'a>(page: &'a ProjectPage, filename: &str) -> Result<&'a FileEntry, String> {
    let current = parse_dist_filename(filename).ok_or_else(|| format!("{filename} is not a wheel or sdist name"))?;
    let now = Version::from_str(&current.version).map_err(|_| format!("version {} is not PEP 440", current.version))?;
    let candidates: Vec<(&FileEntry, Version)> = page
        .releases()
        .filter(|(_, v, kind)| *kind == current.kind && *v < now && (now.any_prerelease() || !v.any_prerelease()))
        .map(|(e, v, _)| (e, v))
        .collect();
    let previous = candidates.iter().map(|(_, v)| v).max().ok_or_else(|| {
        format!(
            "no earlier release with a{} {}",
            if current.kind == ArtifactKind::Sdist { "n" } else { "" },
            current.kind.as_str()
        )
    })?;
    let of_previous = candidates.iter().filter(|(_, v)| v == previous).map(|(e, _)| *e);
    let same_tags = |e: &&FileEntry| {
        current.kind == ArtifactKind::Wheel && wheel_tag_triple(&e.filename) == wheel_tag_triple(filename)
    };
    let preferred = of_previous.clone().find(same_tags);
    Ok(preferred.or_else(|| of_previous.min_by_key(|e| e.filename.clone())).expect("a candidate of that version"))
}

/// The established baseline chosen for a file, with the history that qualified it.
#[derive(Debug)]
pub(crate) struct BaselineChoice<'a> {
    pub entry: &'a FileEntry,
    pub version: String,
    pub uploaded: OffsetDateTime,
    pub first_upload: OffsetDateTime,
    /// Distinct final versions uploaded before this file (yanked and pre-releases left out).
    pub releases: usize,
}

/// The established baseline for `filename` (uploaded at `uploaded` when its page entry
/// gives no time): the newest version below it (PEP 440, pre-releases only for a
/// pre-release, yanked files skipped) of which a file of the same kind was uploaded at
/// least `rule.baseline_age` before this one — for a wheel, that version's file with the
/// same tags when it has one. The project must have uploaded its first file at least
/// `rule.min_history` before this one and published `rule.min_releases` final versions
/// (not yanked) before it. `Err` says why there is none (nothing is then lowered).
pub(crate) fn baseline_file<'a>(
    page: &'a ProjectPage,
    filename: &str,
    uploaded: Option<&str>,
    rule: &EstablishedRule,
) -> Result<BaselineChoice<'a>, String> {
    let current = parse_dist_filename(filename).ok_or_else(|| format!("{filename} is not a wheel or sdist name"))?;
    let now = Version::from_str(&current.version).map_err(|_| format!("version {} is not PEP 440", current.version))?;
    let time_of = |t: Option<&str>| t.and_then(crate::timefmt::parse_instant);
    let own = page.files.iter().find(|e| e.filename == filename).and_then(|e| time_of(e.upload_time.as_deref()));
    let this = own.or_else(|| time_of(uploaded)).ok_or("the index gives no upload time for this file")?;
    // History: every file uploaded before this one (yanked ones count as history, not as releases).
    let before: Vec<(&FileEntry, OffsetDateTime)> = page
        .files
        .iter()
        .filter_map(|e| Some((e, time_of(e.upload_time.as_deref())?)))
        .filter(|(_, t)| *t < this)
        .collect();
    let first = before.iter().map(|(_, t)| *t).min().ok_or("no earlier upload with a time on the index")?;
    if this - first < rule.min_history {
        return Err(format!(
            "history too short: first upload {} is less than {} before this file",
            crate::timefmt::rfc3339(first),
            fmt_days(rule.min_history)
        ));
    }
    let mut versions: Vec<Version> = before
        .iter()
        .filter(|(e, _)| e.yanked.is_none())
        .filter_map(|(e, _)| Version::from_str(&parse_dist_filename(&e.filename)?.version).ok())
        .filter(|v| !v.any_prerelease())
        .collect();
    versions.sort();
    versions.dedup();
    if versions.len() < rule.min_releases as usize {
        return Err(format!(
            "history too short: {} releases before this one, fewer than {}",
            versions.len(),
            rule.min_releases
        ));
    }
    let old_enough = this - rule.baseline_age;
    let candidates: Vec<(&FileEntry, Version, OffsetDateTime)> = page
        .releases()
        .filter(|(_, v, kind)| *kind == current.kind && *v < now && (now.any_prerelease() || !v.any_prerelease()))
        .filter_map(|(e, v, _)| Some((e, v, time_of(e.upload_time.as_deref())?)))
        .filter(|(_, _, t)| *t <= old_enough)
        .collect();
    let newest = candidates.iter().map(|(_, v, _)| v).max().ok_or_else(|| {
        format!(
            "no release with a{} {} uploaded at least {} before this one",
            if current.kind == ArtifactKind::Sdist { "n" } else { "" },
            current.kind.as_str(),
            fmt_days(rule.baseline_age)
        )
    })?;
    let of_newest = candidates.iter().filter(|(_, v, _)| v == newest);
    let same_tags = |c: &&(&FileEntry, Version, OffsetDateTime)| {
        current.kind == ArtifactKind::Wheel && wheel_tag_triple(&c.0.filename) == wheel_tag_triple(filename)
    };
    let chosen = of_newest
        .clone()
        .find(same_tags)
        .or_else(|| of_newest.min_by_key(|c| c.0.filename.clone()))
        .expect("a candidate of that version");
    Ok(BaselineChoice {
        entry: chosen.0,
        version: chosen.1.to_string(),
        uploaded: chosen.2,
        first_upload: first,
        releases: versions.len(),
    })
}

/// `30d` for messages.
fn fmt_days(d: time::Duration) -> String {
    format!("{}d", d.whole_days())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Category, Evidence, FileRole, Finding, FindingKey, Severity, VersionDiff};

    fn page(files: &[(&str, bool)]) -> ProjectPage {
        ProjectPage::of_files(files)
    }

    #[test]
    fn the_previous_release_is_chosen_by_pep440_and_kind() {
        let files: &[(&str, bool)] = &[
            ("pkg-1.0.tar.gz", false),
            ("pkg-1.0-py3-none-any.whl", false),
            ("pkg-1.9.tar.gz", false),
            ("pkg-1.9-cp312-cp312-manylinux_2_17_x86_64.whl", false),
            ("pkg-1.9-py3-none-any.whl", false),
            ("pkg-1.10.tar.gz", false),
            ("pkg-1.10-py3-none-any.whl", false),
            ("pkg-2.0rc1.tar.gz", false),
            ("pkg-2.0rc2.tar.gz", false),
            ("pkg-2.0.tar.gz", false),
            ("pkg-2.1.tar.gz", true),
            ("pkg-2.2.tar.gz", false),
        ];
        let p = page(files);
        let cases: [(&str, &str, Result<&str, &str>); 7] = [
            ("sdist: 1.10 after 1.9 (not text order)", "pkg-2.0.tar.gz", Ok("pkg-1.10.tar.gz")),
            ("wheel with the same tags", "pkg-2.0-py3-none-any.whl", Ok("pkg-1.10-py3-none-any.whl")),
            (
                "binary wheel: same tags preferred",
                "pkg-1.10-cp312-cp312-manylinux_2_17_x86_64.whl",
                Ok("pkg-1.9-cp312-cp312-manylinux_2_17_x86_64.whl"),
            ),
            ("yanked release skipped", "pkg-2.2.tar.gz", Ok("pkg-2.0.tar.gz")),
            ("a pre-release compares with pre-releases", "pkg-2.0rc2.tar.gz", Ok("pkg-2.0rc1.tar.gz")),
            ("first release", "pkg-1.0.tar.gz", Err("no earlier release with an sdist")),
            ("first wheel", "pkg-1.0-py3-none-any.whl", Err("no earlier release with a wheel")),
        ];
        for (case, current, want) in cases {
            let got = previous_file(&p, current).map(|e| e.filename.as_str());
            assert_eq!(got, want.map_err(String::from), "{case}");
        }
    }

    /// A page of `pkg` listing `(filename, yanked, upload day)`.
    fn dated(files: &[(&str, bool, &str)]) -> ProjectPage {
        let entries: Vec<serde_json::Value> = files
            .iter()
            .map(|(f, yanked, day)| {
                serde_json::json!({"filename": f, "url": format!("https://files.example.org/{f}"),
                    "hashes": {"sha256": "00".repeat(32)}, "yanked": yanked, "upload-time": format!("{day}T12:00:00Z")})
            })
            .collect();
        let body = serde_json::json!({"meta": {"api-version": "1.1"}, "name": "pkg", "files": entries}).to_string();
        let url = url::Url::parse("https://index.example.org/simple/pkg/").unwrap();
        crate::index::page::parse_project(&body, "application/vnd.pypi.simple.v1+json", &url, "pkg").unwrap()
    }

    #[test]
    fn the_baseline_is_the_newest_release_old_enough_of_a_project_with_history() {
        // Ten releases a month apart from 2023-01 (1.0 .. 1.9), then a compromise window.
        let mut files: Vec<(String, bool, String)> =
            (0..10).map(|i| (format!("pkg-1.{i}.tar.gz"), false, format!("2023-{:02}-01", i + 1))).collect();
        files.extend([
            ("pkg-1.9-py3-none-any.whl".to_string(), false, "2023-10-01".to_string()),
            ("pkg-1.9-cp312-cp312-manylinux_2_17_x86_64.whl".into(), false, "2023-10-01".into()),
            ("pkg-1.8-cp312-cp312-manylinux_2_17_x86_64.whl".into(), false, "2023-09-01".into()),
            ("pkg-2.0rc1.tar.gz".into(), false, "2024-03-01".into()),
            ("pkg-2.0.tar.gz".into(), true, "2024-04-01".into()),
            ("pkg-2.1.tar.gz".into(), false, "2024-05-01".into()),
            ("pkg-2.2.tar.gz".into(), false, "2024-05-10".into()),
            ("pkg-2.3.tar.gz".into(), false, "2024-05-12".into()),
            ("pkg-2.4rc1.tar.gz".into(), false, "2024-05-13".into()),
        ]);
        let refs: Vec<(&str, bool, &str)> = files.iter().map(|(f, y, d)| (f.as_str(), *y, d.as_str())).collect();
        let p = dated(&refs);
        let rule = EstablishedRule::default();
        let short = EstablishedRule { min_releases: 20, ..rule };
        let old = EstablishedRule { baseline_age: time::Duration::days(500), ..rule };
        type Case<'a> = (&'a str, &'a str, &'a EstablishedRule, Result<&'a str, &'a str>);
        let cases: [Case; 9] = [
            (
                "two in a row: 2.3 skips 2.2 (2 days older) and 2.1 (11 days)",
                "pkg-2.3.tar.gz",
                &rule,
                Ok("pkg-1.9.tar.gz"),
            ),
            ("2.2 skips 2.1 (9 days) and the yanked 2.0", "pkg-2.2.tar.gz", &rule, Ok("pkg-1.9.tar.gz")),
            ("a pre-release may compare with a pre-release", "pkg-2.4rc1.tar.gz", &rule, Ok("pkg-2.0rc1.tar.gz")),
            ("a release never compares with a pre-release", "pkg-2.1.tar.gz", &rule, Ok("pkg-1.9.tar.gz")),
            (
                "a binary wheel: same tags",
                "pkg-2.1-cp312-cp312-manylinux_2_17_x86_64.whl",
                &rule,
                Ok("pkg-1.9-cp312-cp312-manylinux_2_17_x86_64.whl"),
            ),
            ("a pure wheel: same tags", "pkg-2.1-py3-none-any.whl", &rule, Ok("pkg-1.9-py3-none-any.whl")),
            ("history shorter than a year", "pkg-1.9.tar.gz", &rule, Err("history too short: first upload")),
            ("too few releases", "pkg-2.3.tar.gz", &short, Err("history too short: 12 releases before this one")),
            ("no sdist old enough", "pkg-2.3.tar.gz", &old, Err("no release with an sdist uploaded at least 500d")),
        ];
        for (case, current, rule, want) in cases {
            // A wheel not on the page takes its upload time from the facts.
            let got = baseline_file(&p, current, Some("2024-05-12T12:00:00Z"), rule);
            match (got, want) {
                (Ok(c), Ok(w)) => assert_eq!(c.entry.filename, w, "{case}"),
                (Err(e), Err(w)) => assert!(e.starts_with(w), "{case}: {e}"),
                (got, want) => panic!("{case}: got {got:?}, want {want:?}"),
            }
        }
        let c = baseline_file(&p, "pkg-2.3.tar.gz", None, &rule).unwrap();
        assert_eq!(
            (c.version.as_str(), c.releases),
            ("1.9", 12),
            "1.0-1.9, 2.1, 2.2 (2.0 is yanked, 2.0rc1 a pre-release)"
        );
        assert_eq!(crate::timefmt::rfc3339(c.first_upload).get(..10), Some("2023-01-01"));
        let first = dated(&[("pkg-1.0.tar.gz", false, "2023-01-01")]);
        let none = baseline_file(&first, "pkg-1.0.tar.gz", None, &rule);
        assert_eq!(none.unwrap_err(), "no earlier upload with a time on the index");
    }

    fn finding(detector: &str, indicators: &[&str]) -> Finding {
        Finding {
            detector: detector.into(),
            title: detector.into(),
            category: Category::Network,
            severity: Severity::High,
            message: String::new(),
            evidence: indicators
                .iter()
                .map(|i| Evidence {
                    path: "setup.py".into(),
                    line: Some(1),
                    column: None,
                    snippet: None,
                    indicator: (!i.is_empty()).then(|| (*i).to_string()),
                    role: FileRole::InstallTime,
                    severity: None,
                })
                .collect(),
        }
    }

    #[test]
    fn new_findings_are_the_pairs_the_previous_release_lacked() {
        let key = |d: &str, i: Option<&str>| FindingKey { detector: d.into(), indicator: i.map(String::from) };
        let dl = "network.downloads-file";
        type Case<'a> = (&'a str, Vec<Finding>, Vec<Finding>, Vec<FindingKey>);
        let cases: [Case; 5] = [
            ("nothing before", vec![finding(dl, &["urlopen"])], vec![], vec![key(dl, Some("urlopen"))]),
            ("same pair before", vec![finding(dl, &["urlopen"])], vec![finding(dl, &["urlopen"])], vec![]),
            (
                "new indicator of a known detector",
                vec![finding(dl, &["urlopen", "requests.get"])],
                vec![finding(dl, &["urlopen"])],
                vec![key(dl, Some("requests.get"))],
            ),
            ("no indicator, detector known", vec![finding(dl, &[""])], vec![finding(dl, &["urlopen"])], vec![]),
            (
                "no indicator, detector new",
                vec![finding(dl, &[""])],
                vec![finding("x.other", &[""])],
                vec![key(dl, None)],
            ),
        ];
        for (case, now, before, want) in cases {
            let diff = VersionDiff::compare("1.0", "pkg-1.0.tar.gz", &now, &before);
            let VersionDiff::Compared { new, .. } = &diff else { panic!("{case}: not compared") };
            assert_eq!(new, &want, "{case}");
            assert_eq!(diff.is_new(&now[0]), Some(!want.is_empty()), "{case}: is_new");
        }
        let not = VersionDiff::NotCompared { reason: "upstream 503".into() };
        assert_eq!(not.is_new(&finding(dl, &["urlopen"])), None, "not compared: neither new nor old");
    }
}
