//! The loader on the real shipped zip, version ranges, alias merging, withdrawn records,
//! CVSS scores, the KEV mapping, malware by hash, and imports picked up by polling.

use super::cvss::Score;
use super::db::{MALWARE, VULNERABILITY};
use super::kev::Kev;
use super::load::{read_zip, BUILTIN_ZIP};
use super::*;
use crate::model::{advisory_ids, ArtifactFacts, Category, Exploitation, Finding, Severity};

fn facts(project: &str, version: &str) -> ArtifactFacts {
    facts_sha(project, version, "")
}

fn facts_sha(project: &str, version: &str, sha: &str) -> ArtifactFacts {
    let filename = format!("{}-{version}-py3-none-any.whl", project.replace('-', "_"));
    ArtifactFacts::describe(project, &filename, sha, None, 0, Default::default())
}

fn ids_of(found: &[Finding]) -> Vec<Vec<String>> {
    found.iter().map(|f| advisory_ids(f).into_iter().map(str::to_string).collect()).collect()
}

fn builtin() -> OsvFeed {
    OsvFeed::with(None, true)
}

#[test]
fn the_shipped_zip_loads_every_record_but_the_withdrawn() {
    let read = read_zip("osv-pypi.zip", BUILTIN_ZIP).unwrap();
    // 2,661 PYSEC records in the snapshot; 10 of them are withdrawn.
    assert_eq!(read.records.len() + read.withdrawn + read.skipped, 2661);
    assert_eq!(read.withdrawn, 10);
    assert_eq!(read.skipped, 0);
    assert_eq!(read.records.len(), 2651);
    assert!(read.records.iter().all(|r| r.id.starts_with("PYSEC-") && !r.malware));
    // 202 records carry a CVSS vector; 3 of those are withdrawn.
    assert_eq!(read.records.iter().filter(|r| r.severity.as_ref().is_some_and(|s| s.cvss.is_some())).count(), 199);
}

#[test]
fn real_records_resolve_by_pep_440_ranges() {
    let feed = builtin();
    // (case, project as a user spells it, version, record expected or not)
    let cases = [
        ("ansible before the fix", "ansible", "2.9.18", "PYSEC-2021-1", true),
        ("ansible fixed version", "ansible", "2.9.19", "PYSEC-2021-1", false),
        ("django first branch", "Django", "1.0.3", "PYSEC-2009-4", true),
        ("django first branch fixed", "Django", "1.0.4", "PYSEC-2009-4", false),
        ("django between branches", "Django", "1.0.5", "PYSEC-2009-4", false),
        ("django second branch", "Django", "1.1", "PYSEC-2009-4", true),
        ("django second branch fixed", "Django", "1.1.1", "PYSEC-2009-4", false),
        ("urllib3 unsorted events, 1.x", "urllib3", "1.26.16", "PYSEC-2023-192", true),
        ("urllib3 1.x fixed", "urllib3", "1.26.17", "PYSEC-2023-192", false),
        ("urllib3 2.x", "urllib3", "2.0.5", "PYSEC-2023-192", true),
        ("urllib3 2.x fixed", "urllib3", "2.0.6", "PYSEC-2023-192", false),
        ("last_affected itself", "py", "1.11.0", "PYSEC-2022-42969", true),
        ("after last_affected", "py", "1.11.1", "PYSEC-2022-42969", false),
        ("withdrawn record ignored", "arrayfire", "3.2.20151211", "PYSEC-2019-144", false),
        ("name normalised", "URLLIB3", "1.26.16", "PYSEC-2023-192", true),
    ];
    for (case, project, version, id, want) in cases {
        let found = feed.findings(&facts(&crate::model::normalize_project_name(project), version));
        let got = ids_of(&found).iter().flatten().any(|i| i == id);
        assert_eq!(got, want, "{case}: {project} {version} → {:?}", ids_of(&found));
    }
}

#[test]
fn a_real_finding_carries_ids_severity_fixed_versions_and_attribution() {
    let feed = builtin();
    let found = feed.findings(&facts("urllib3", "1.26.16"));
    let f = found.iter().find(|f| advisory_ids(f).contains(&"PYSEC-2023-192")).expect("PYSEC-2023-192");
    assert_eq!(f.detector, VULNERABILITY);
    assert_eq!(f.category, Category::Vulnerability);
    // CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:N is 8.1, high.
    assert_eq!(f.severity, Severity::High);
    assert!(f.message.contains("8.1"), "{}", f.message);
    assert!(advisory_ids(f).contains(&"CVE-2023-43804"));
    assert!(f.message.contains("fixed in 1.26.17, 2.0.6"), "{}", f.message);
    assert!(f.message.contains("CC-BY-4.0"), "{}", f.message);
    assert_eq!(Exploitation::of(f), Exploitation::ExploitsUnknown);
    assert!(f.title.contains("fixed in 1.26.17, 2.0.6"), "{}", f.title);
    let source = f.evidence.iter().find(|e| e.path == "source").expect("source evidence");
    assert_eq!(source.indicator.as_deref(), Some("osv-pypi"));
    assert!(source.snippet.as_deref().unwrap().contains("CC-BY-4.0"));
}

#[test]
fn cvss_base_scores_match_known_vectors() {
    let cases = [
        ("3.1 critical", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8, Severity::Critical),
        ("3.1 high", "CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:N", 8.1, Severity::High),
        ("3.1 medium, scope changed", "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", 6.1, Severity::Medium),
        ("3.1 medium, adjacent", "CVSS:3.1/AV:A/AC:H/PR:H/UI:N/S:U/C:H/I:N/A:N", 4.2, Severity::Medium),
        ("3.0", "CVSS:3.0/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:N/A:N", 5.5, Severity::Medium),
        ("3.1 none", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N", 0.0, Severity::Info),
        ("2.0", "AV:N/AC:L/Au:N/C:P/I:P/A:P", 7.5, Severity::High),
        ("4.0", "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", 9.3, Severity::Critical),
    ];
    for (case, vector, base, severity) in cases {
        let s = Score::of(vector).unwrap_or_else(|e| panic!("{case}: {e}"));
        assert!((s.base - base).abs() < 0.05, "{case}: {} != {base}", s.base);
        assert_eq!(s.severity, severity, "{case}");
    }
    assert!(Score::of("CVSS:3.1/AV:X").is_err(), "a broken vector is an error, not a score");
}

fn record(id: &str, aliases: &[&str], project: &str, ranges: &str, extra: &str) -> String {
    let aliases = serde_json::to_string(aliases).unwrap();
    format!(
        r#"{{"id":"{id}","modified":"2026-01-01T00:00:00Z","summary":"{id} summary","aliases":{aliases},
        "affected":[{{"package":{{"ecosystem":"PyPI","name":"{project}"}},"ranges":[{{"type":"ECOSYSTEM","events":{ranges}}}]}}]{extra}}}"#
    )
}

/// A data directory whose `advisories/` holds one imported directory of records (and a KEV file).
fn imported(records: &[(&str, String)], kev: Option<&str>) -> (tempfile::TempDir, OsvFeed) {
    let data = tempfile::tempdir().unwrap();
    let src = tempfile::tempdir().unwrap();
    let dir = src.path().join("feed");
    std::fs::create_dir_all(&dir).unwrap();
    for (name, text) in records {
        std::fs::write(dir.join(format!("{name}.json")), text).unwrap();
    }
    import(data.path(), &dir, None).unwrap();
    if let Some(k) = kev {
        let p = src.path().join("known_exploited_vulnerabilities.json");
        std::fs::write(&p, k).unwrap();
        import(data.path(), &p, None).unwrap();
    }
    let feed = OsvFeed::with(Some(advisories_dir(data.path())), false);
    (data, feed)
}

#[test]
fn aliases_merge_records_into_one_finding() {
    let fixed = r#"[{"introduced":"0"},{"fixed":"2.0"}]"#;
    let (_d, feed) = imported(
        &[
            ("PYSEC-X-1", record("PYSEC-X-1", &["CVE-2099-1"], "demo-pkg", fixed, "")),
            (
                "GHSA-x",
                record(
                    "GHSA-aaaa-bbbb-cccc",
                    &["CVE-2099-1"],
                    "Demo_Pkg",
                    fixed,
                    r#","database_specific":{"severity":"HIGH"}"#,
                ),
            ),
            ("PYSEC-X-2", record("PYSEC-X-2", &["CVE-2099-2"], "demo-pkg", fixed, "")),
        ],
        None,
    );
    let found = feed.findings(&facts("demo-pkg", "1.5"));
    assert_eq!(found.len(), 2, "two vulnerabilities, the CVE-2099-1 pair merged: {:?}", ids_of(&found));
    let merged = found.iter().find(|f| advisory_ids(f).contains(&"CVE-2099-1")).unwrap();
    let ids = advisory_ids(merged);
    assert!(ids.contains(&"PYSEC-X-1") && ids.contains(&"GHSA-aaaa-bbbb-cccc"), "{ids:?}");
    // No vector: the record's own rating is the severity; one without either is medium (unrated).
    assert_eq!(merged.severity, Severity::High);
    let other = found.iter().find(|f| advisory_ids(f).contains(&"PYSEC-X-2")).unwrap();
    assert_eq!(other.severity, Severity::Medium);
    assert!(other.message.contains("unrated"), "{}", other.message);
    assert!(feed.findings(&facts("demo-pkg", "2.0")).is_empty(), "the fixed version is clean");
}

#[test]
fn withdrawn_records_are_skipped() {
    let (_d, feed) = imported(
        &[
            (
                "A",
                record("PYSEC-W-1", &[], "demo", r#"[{"introduced":"0"}]"#, r#","withdrawn":"2026-02-01T00:00:00Z""#),
            ),
            ("B", record("PYSEC-W-2", &[], "demo", r#"[{"introduced":"0"}]"#, "")),
        ],
        None,
    );
    assert_eq!(ids_of(&feed.findings(&facts("demo", "1.0"))), vec![vec!["PYSEC-W-2".to_string()]]);
}

#[test]
fn kev_entries_set_the_exploitation_status() {
    let open = r#"[{"introduced":"0"}]"#;
    let kev = r#"{"title":"test catalogue","vulnerabilities":[
        {"cveID":"CVE-2099-10","dateAdded":"2026-01-02","dueDate":"2026-01-23","knownRansomwareCampaignUse":"Known"},
        {"cveID":"cve-2099-11","dateAdded":"2026-01-02"}]}"#;
    let (_d, feed) = imported(
        &[
            ("a", record("PYSEC-K-1", &["CVE-2099-10"], "kev-a", open, "")),
            ("b", record("PYSEC-K-2", &["CVE-2099-11"], "kev-b", open, "")),
            (
                "c",
                record(
                    "PYSEC-K-3",
                    &["CVE-2099-12"],
                    "kev-c",
                    open,
                    r#","references":[{"type":"EVIDENCE","url":"https://example.org/poc"}]"#,
                ),
            ),
            ("d", record("PYSEC-K-4", &["CVE-2099-13"], "kev-d", open, "")),
        ],
        Some(kev),
    );
    let cases = [
        ("listed with a due date", "kev-a", Exploitation::PatchingMandated),
        ("listed, lower-case id", "kev-b", Exploitation::ExploitedInTheWild),
        ("not listed, EVIDENCE reference", "kev-c", Exploitation::ExploitExists),
        ("not listed", "kev-d", Exploitation::ExploitsUnknown),
    ];
    for (case, project, want) in cases {
        let found = feed.findings(&facts(project, "1.0"));
        assert_eq!(found.len(), 1, "{case}");
        assert_eq!(Exploitation::of(&found[0]), want, "{case}");
    }
    let a = &feed.findings(&facts("kev-a", "1.0"))[0];
    assert!(a.message.contains("remediation due 2026-01-23") && a.message.contains("ransomware"), "{}", a.message);
}

#[test]
fn malware_matches_by_version_and_by_hash_and_quarantines_whole_projects() {
    let sha = "ab".repeat(32);
    let origins =
        format!(r#","database_specific":{{"malicious-packages-origins":[{{"source":"test","sha256":"{sha}"}}]}}"#);
    let (_d, feed) = imported(
        &[
            ("m1", record("MAL-2099-1", &[], "evil-pkg", r#"[{"introduced":"0"}]"#, &origins)),
            ("m2", record("MAL-2099-2", &[], "once-bad", r#"[{"introduced":"1.1"},{"fixed":"1.2"}]"#, "")),
            (
                "m3",
                r#"{"id":"MAL-2099-3","affected":[{"package":{"ecosystem":"PyPI","name":"bare-name"}}]}"#.to_string(),
            ),
        ],
        None,
    );
    let cases = [
        ("any version of an all-versions record", facts("evil-pkg", "9.9"), Some("MAL-2099-1")),
        ("the listed file re-uploaded under another name", facts_sha("innocent", "1.0", &sha), Some("MAL-2099-1")),
        ("the bad release", facts("once-bad", "1.1"), Some("MAL-2099-2")),
        ("a release before it", facts("once-bad", "1.0"), None),
        ("a record naming the package with no versions or ranges", facts("bare-name", "3.0"), Some("MAL-2099-3")),
    ];
    for (case, f, want) in cases {
        let found = feed.findings(&f);
        assert_eq!(found.first().map(|f| f.detector.as_str()), want.map(|_| MALWARE), "{case}");
        if let Some(id) = want {
            assert_eq!(found[0].category, Category::Malware, "{case}");
            assert_eq!(found[0].severity, Severity::Critical, "{case}");
            assert!(advisory_ids(&found[0]).contains(&id), "{case}");
            assert!(found[0].message.contains(id), "{case}: {}", found[0].message);
        }
    }
    assert!(feed.quarantine("evil-pkg").is_some_and(|r| r.contains("MAL-2099-1")));
    assert_eq!(feed.quarantine("once-bad"), None, "only some versions: not the whole project");
    assert!(feed.quarantine("bare-name").is_some_and(|r| r.contains("MAL-2099-3")));
}

#[test]
fn an_import_changes_the_revision_and_a_refresh_picks_it_up() {
    let data = tempfile::tempdir().unwrap();
    let feed = OsvFeed::with(Some(advisories_dir(data.path())), false);
    let before = feed.revision();
    assert!(feed.findings(&facts("late", "1.0")).is_empty());
    assert!(!feed.refresh(), "nothing changed yet");
    let src = tempfile::tempdir().unwrap();
    std::fs::write(
        src.path().join("MAL-2099-9.json"),
        record("MAL-2099-9", &[], "late", r#"[{"introduced":"0"}]"#, ""),
    )
    .unwrap();
    import(data.path(), src.path(), Some("late-records")).unwrap();
    assert!(feed.refresh(), "the import is seen");
    assert_ne!(feed.revision(), before);
    assert_eq!(feed.findings(&facts("late", "1.0"))[0].detector, MALWARE);
    assert!(feed.status_text(time::OffsetDateTime::now_utc()).contains("1 known malware"));
}

#[test]
fn an_unreadable_source_is_refused_on_import() {
    let data = tempfile::tempdir().unwrap();
    let src = tempfile::tempdir().unwrap();
    let bad = src.path().join("broken.zip");
    std::fs::write(&bad, b"PK not really").unwrap();
    let err = import(data.path(), &bad, None).unwrap_err();
    assert!(err.contains("not a readable zip") && err.contains("source's fault"), "{err}");
    assert!(load::zips(&advisories_dir(data.path())).is_empty(), "nothing written");
    let _ = Kev::default();
}
