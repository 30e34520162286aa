//! `metadata.missing-metadata`: the artifact has no core metadata (`METADATA` /
//! `PKG-INFO`), or its metadata names nobody (no author/maintainer, no email) and
//! links nowhere (no `Home-page`, `Project-URL`, `Download-URL`).
//!
//! Package-level, headers only. Low: many throw-away malicious uploads look like
//! this, but so do some internal or hastily published packages.

use super::pysrc;
use crate::model::{Category, FileRole, Severity};
use crate::scan::detector::{Detector, DetectorMeta, Hit, Hits, Interest, Package};

pub(crate) static META: DetectorMeta = DetectorMeta {
    id: "metadata.missing-metadata",
    revision: 1,
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
            hits.push(&META, Hit { severity: None, evidence: ev });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ArtifactKind;
    use crate::scan::detectors::testutil::scan_pkg;

    #[test]
    fn cases() {
        let members = vec![("x-1.0/PKG-INFO".to_string(), FileRole::Metadata, 100)];
        type Case<'a> = (&'a str, Option<&'a str>, Option<(&'a str, &'a str)>);
        let cases: &[Case] = &[
            ("no metadata", None, Some(("x-1.0.tar.gz", "no core metadata"))),
            ("nobody, nowhere", Some("Metadata-Version: 2.1\nName: x\nVersion: 1.0\nAuthor: UNKNOWN\n\nhttps://example.org in the body\n"), Some(("x-1.0/PKG-INFO", "no author, no project links"))),
            ("author only", Some("Name: x\nAuthor: Jane Doe\n"), None),
            ("project url only", Some("Name: x\nProject-URL: Source, https://example.org/x\n"), None),
        ];
        for (name, md, want) in cases {
            let got = scan_pkg(&MissingMetadata, "x-1.0.tar.gz", Some("x"), ArtifactKind::Sdist, *md, &members);
            match want {
                None => assert!(got.is_empty(), "{name}: {got:?}"),
                Some((path, ind)) => {
                    let g = got.first().unwrap_or_else(|| panic!("{name}: no hit"));
                    assert_eq!(
                        (g.id, g.path.as_str(), g.indicator.as_str(), g.severity),
                        (META.id, *path, *ind, Severity::Low),
                        "{name}"
                    );
                }
            }
        }
    }
}
