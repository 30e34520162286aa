//! New in this version: which release a file is compared with, and what the gate
//! remembers of the comparison.
//!
//! Owns: choosing the previous release's corresponding file from the project page (PEP 440
//! order, pre-releases skipped unless the current one is one, yanked files skipped, the
//! same kind of artifact and, for a wheel, the same tags when the previous release has
//! them). The comparison itself is [`crate::model::VersionDiff::compare`].
//! Must not: fetch (the app fetches and scans the previous file through the artifact cache).

use crate::index::page::{FileEntry, ProjectPage};
use crate::model::{parse_dist_filename, wheel_tag_triple, ArtifactKind};
use pep440_rs::Version;
use std::str::FromStr;

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
