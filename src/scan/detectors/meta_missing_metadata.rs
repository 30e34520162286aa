//! `metadata.missing-metadata`: the artifact has no core metadata (`METADATA` /
//! `PKG-INFO`), or its metadata names nobody (no author/maintainer, no email) and
//! links nowhere (no `Home-page`, `Project-URL`, `Download-URL`).
//!
//! Package-level, headers only. Low: many throw-away malicious uploads look like
//! this, but so do some internal or hastily published packages. An sdist whose
//! `PKG-INFO` is minimal (just `Name` and `Version`) is Info: build tools write such
//! files while the real metadata sits in `pyproject.toml`/`setup.py`, so it is not
//! evidence of anything by itself.

use super::pysrc;
use crate::model::{ArtifactKind, Category, FileRole, Severity};
use crate::scan::detector::{Detector, DetectorMeta, Hit, Hits, Interest, Package};

pub(crate) static META: DetectorMeta = DetectorMeta {
    id: "metadata.missing-metadata",
    revision: 2,
    title: "The package metadata names no author and no project links.",
    category: Category::Metadata,
    severity: Severity::Low,
    description:
        "A package nobody signs and that links nowhere cannot be traced back to a maintainer or source repository.",
};

/// Header names that identify someone or somewhere (lowercase).
const IDENTIFYING: &[&str] =
    &["author", "author-email", "maintainer", "maintainer-email", "home-page", "project-url", "download-url"];

pub(crate) struct MissingMetadata;

impl Detector for MissingMetadata {
    fn meta(&self) -> &'static DetectorMeta {
        &META
    }
    fn interest(&self) -> Interest {
        Interest::PackageOnly
    }
    fn scan_package(&self, pkg: &Package<'_>, hits: &mut Hits) {
        let Some(md) = pkg.core_metadata else {
            let ev = pysrc::package_evidence(
                pkg.filename,
                FileRole::Metadata,
                "no core metadata",
                Some("no METADATA or PKG-INFO found".to_string()),
            );
            hits.push(&META, Hit { severity: None, evidence: ev });
            return;
        };
        let identified = crate::metadata::CoreMetadata::parse(md).headers.iter().any(|h| {
            IDENTIFYING.contains(&h.name.to_ascii_lowercase().as_str()) && !matches!(&*h.value, "" | "UNKNOWN" | "None")
        });
        if !identified {
            let path = pkg
                .members
                .iter()
                .map(|(p, _, _)| p)
                .filter(|p| p.ends_with("METADATA") || p.ends_with("PKG-INFO"))
                .min_by_key(|p| p.len())
                .map_or(pkg.filename, |p| p.as_str());
            let ev = pysrc::package_evidence(path, FileRole::Metadata, "no author, no project links", None);
            let severity = (pkg.kind == ArtifactKind::Sdist).then_some(Severity::Info);
            hits.push(&META, Hit { severity, evidence: ev });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::detectors::testutil::scan_pkg;

    #[test]
    fn cases() {
        use ArtifactKind::{Sdist, Wheel};
        let sdist = vec![("x-1.0/PKG-INFO".to_string(), FileRole::Metadata, 100)];
        let wheel = vec![("x-1.0.dist-info/METADATA".to_string(), FileRole::Metadata, 100)];
        let nobody =
            "Metadata-Version: 2.1\nName: x\nVersion: 1.0\nAuthor: UNKNOWN\n\nhttps://example.org in the body\n";
        type Case<'a> = (&'a str, ArtifactKind, Option<&'a str>, Option<(&'a str, &'a str, Severity)>);
        let cases: &[Case] = &[
            ("no metadata", Sdist, None, Some(("x-1.0.tar.gz", "no core metadata", Severity::Low))),
            (
                "sdist, nobody, nowhere",
                Sdist,
                Some(nobody),
                Some(("x-1.0/PKG-INFO", "no author, no project links", Severity::Info)),
            ),
            (
                "minimal sdist PKG-INFO",
                Sdist,
                Some("Metadata-Version: 1.0\nName: x\nVersion: 1.0\n"),
                Some(("x-1.0/PKG-INFO", "no author, no project links", Severity::Info)),
            ),
            (
                "wheel, nobody, nowhere",
                Wheel,
                Some(nobody),
                Some(("x-1.0.dist-info/METADATA", "no author, no project links", Severity::Low)),
            ),
            ("author only", Sdist, Some("Name: x\nAuthor: Jane Doe\n"), None),
            ("project url only", Sdist, Some("Name: x\nProject-URL: Source, https://example.org/x\n"), None),
        ];
        for (name, kind, md, want) in cases {
            let (filename, members) = match kind {
                Sdist => ("x-1.0.tar.gz", &sdist),
                _ => ("x-1.0-py3-none-any.whl", &wheel),
            };
            let got = scan_pkg(&MissingMetadata, filename, Some("x"), *kind, *md, members);
            match want {
                None => assert!(got.is_empty(), "{name}: {got:?}"),
                Some((path, ind, sev)) => {
                    let g = got.first().unwrap_or_else(|| panic!("{name}: no hit"));
                    assert_eq!(
                        (g.id, g.path.as_str(), g.indicator.as_str(), g.severity),
                        (META.id, *path, *ind, *sev),
                        "{name}"
                    );
                }
            }
        }
    }
}
