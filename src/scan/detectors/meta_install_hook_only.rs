//! `metadata.install-hook-only`: an sdist with almost no code besides its
//! `setup.py` — the shape of packages that exist only to run something at install
//! time (dependency-confusion probes, droppers).
//!
//! Package-level, from the member list alone (the contract gives `scan_package`
//! no file contents): a top-level `setup.py` of at least [`MIN_SETUP`] bytes and
//! under [`MAX_OTHER_CODE`] bytes of any other code (`.py`, `.pyi`, `.pyx`, C/C++,
//! Rust). Low for a short setup.py, Medium for a long one. Combine with
//! `execution.install-hook` in policy for the full "install hook only" signal.

use super::pysrc;
use crate::model::{ArtifactKind, Category, FileRole, Severity};
use crate::scan::detector::{Detector, DetectorMeta, Hit, Hits, Interest, Package};

pub(crate) static META: DetectorMeta = DetectorMeta {
    id: "metadata.install-hook-only",
    revision: 1,
    title: "The package has almost no code besides its setup script.",
    category: Category::Metadata,
    severity: Severity::Low,
    description: "A package whose only substantive code is setup.py exists to run something at install time; legitimate packages ship code.",
};

pub(crate) const MIN_SETUP: u64 = 200;
pub(crate) const MAX_OTHER_CODE: u64 = 256;
pub(crate) const LONG_SETUP: u64 = 1500;
const CODE_EXT: &[&str] = &[".py", ".pyi", ".pyx", ".pxd", ".c", ".cc", ".cpp", ".h", ".rs", ".f90", ".go", ".js"];

fn depth(path: &str) -> usize {
    path.matches('/').count()
}

pub(crate) struct InstallHookOnly;

impl Detector for InstallHookOnly {
    fn meta(&self) -> &'static DetectorMeta {
        &META
    }
    fn interest(&self) -> Interest {
        Interest::PackageOnly
    }
    fn scan_package(&self, pkg: &Package<'_>, hits: &mut Hits) {
        if pkg.kind != ArtifactKind::Sdist {
            return;
        }
        let Some((setup, _, size)) = pkg
            .members
            .iter()
            .filter(|(p, _, _)| (p == "setup.py" || p.ends_with("/setup.py")) && depth(p) <= 1)
            .min_by_key(|(p, _, _)| depth(p))
        else {
            return;
        };
        if *size < MIN_SETUP {
            return;
        }
        let other: u64 = pkg
            .members
            .iter()
            .filter(|(p, role, _)| {
                p != setup
                    && *role != FileRole::TestOrDocs
                    && CODE_EXT.iter().any(|e| p.to_ascii_lowercase().ends_with(e))
            })
            .map(|(_, _, s)| *s)
            .sum();
        if other >= MAX_OTHER_CODE {
            return;
        }
        let sev = if *size >= LONG_SETUP { Severity::Medium } else { Severity::Low };
        let snippet = format!("setup.py {size} bytes; other code {other} bytes");
        hits.push(
            &META,
            Hit {
                severity: Some(sev),
                evidence: pysrc::package_evidence(setup, FileRole::InstallTime, "setup.py only", Some(snippet)),
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::detectors::testutil::scan_pkg;
    use FileRole::*;

    fn m(list: &[(&str, FileRole, u64)]) -> Vec<(String, FileRole, u64)> {
        list.iter().map(|(p, r, s)| (p.to_string(), *r, *s)).collect()
    }

    #[test]
    fn cases() {
        type Case<'a> = (&'a str, ArtifactKind, Vec<(String, FileRole, u64)>, Option<Severity>);
        let cases: Vec<Case> = vec![
            (
                "setup.py only, long",
                ArtifactKind::Sdist,
                m(&[
                    ("x-1.0/setup.py", InstallTime, 4000),
                    ("x-1.0/PKG-INFO", Metadata, 300),
                    ("x-1.0/x/__init__.py", Runtime, 0),
                ]),
                Some(Severity::Medium),
            ),
            (
                "setup.py only, short",
                ArtifactKind::Sdist,
                m(&[("x-1.0/setup.py", InstallTime, 400), ("x-1.0/README.md", TestOrDocs, 900)]),
                Some(Severity::Low),
            ),
            (
                "real package",
                ArtifactKind::Sdist,
                m(&[("x-1.0/setup.py", InstallTime, 4000), ("x-1.0/x/core.py", Runtime, 9000)]),
                None,
            ),
            (
                "stub package",
                ArtifactKind::Sdist,
                m(&[("types-x-1.0/setup.py", InstallTime, 900), ("types-x-1.0/x-stubs/__init__.pyi", Runtime, 3000)]),
                None,
            ),
            ("tiny metapackage", ArtifactKind::Sdist, m(&[("x-1.0/setup.py", InstallTime, 150)]), None),
            ("wheel", ArtifactKind::Wheel, m(&[("setup.py", InstallTime, 4000)]), None),
            ("nested setup.py only", ArtifactKind::Sdist, m(&[("x-1.0/vendor/y/setup.py", InstallTime, 4000)]), None),
        ];
        for (name, kind, members, want) in cases {
            let got = scan_pkg(&InstallHookOnly, "x-1.0.tar.gz", Some("x"), kind, None, &members);
            match want {
                None => assert!(got.is_empty(), "{name}: {got:?}"),
                Some(sev) => {
                    let g = got.first().unwrap_or_else(|| panic!("{name}: no hit"));
                    assert_eq!(
                        (g.id, g.path.as_str(), g.indicator.as_str(), g.severity),
                        (META.id, "x-1.0/setup.py", "setup.py only", sev),
                        "{name}"
                    );
                }
            }
        }
    }
}
