//! The decision point, driven directly: scan once, enrichment re-decides without a rescan.

use super::enrich::{Enricher, Feed};
use super::{Gate, GateParts};
use crate::model::{ArtifactFacts, Category, Decision, Evidence, FileRole, Finding, Severity};
use crate::policy::Policy;
use crate::scan::Scanner;
use crate::store::SqliteStore;
use arc_swap::ArcSwap;
use std::io::Write;
use std::sync::{Arc, Mutex};

/// An advisory feed whose records the test replaces, as a feed update would.
#[derive(Default)]
struct FakeFeed {
    records: Mutex<(u32, Vec<(String, String)>)>,
}

impl FakeFeed {
    fn publish(&self, project: &str, version: &str) {
        let mut r = self.records.lock().unwrap();
        r.0 += 1;
        r.1.push((project.to_string(), version.to_string()));
    }
}

impl Feed for FakeFeed {
    fn name(&self) -> &str {
        "fake-advisories"
    }
    fn revision(&self) -> String {
        self.records.lock().unwrap().0.to_string()
    }
    fn findings(&self, facts: &ArtifactFacts) -> Vec<Finding> {
        let r = self.records.lock().unwrap();
        r.1.iter()
            .filter(|(p, v)| *p == facts.project && Some(v.as_str()) == facts.version.as_deref())
            .map(|(p, v)| Finding {
                detector: "vulnerability.known-malware".into(),
                title: "Known malware".into(),
                category: Category::Vulnerability,
                severity: Severity::Critical,
                message: format!("{p} {v} is a known-malicious release (FAKE-1)"),
                evidence: vec![Evidence {
                    path: "advisory:FAKE-1".into(),
                    line: None,
                    column: None,
                    snippet: None,
                    indicator: Some("FAKE-1".into()),
                    role: FileRole::Metadata,
                }],
            })
            .collect()
    }
}

fn benign_wheel(dir: &std::path::Path) -> ArtifactFacts {
    let path = dir.join("demo-1.0-py3-none-any.whl");
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
    let opts = zip::write::SimpleFileOptions::default();
    for (name, body) in [
        ("demo/__init__.py", "VERSION = '1.0'\n"),
        (
            "demo-1.0.dist-info/METADATA",
            "Metadata-Version: 2.1\nName: demo\nVersion: 1.0\nAuthor-email: a <a@example.org>\n",
        ),
        ("demo-1.0.dist-info/RECORD", ""),
    ] {
        zip.start_file(name, opts).unwrap();
        zip.write_all(body.as_bytes()).unwrap();
    }
    zip.finish().unwrap();
    let bytes = std::fs::read(&path).unwrap();
    use sha2::Digest;
    let sha = hex::encode(sha2::Sha256::digest(&bytes));
    ArtifactFacts::describe("demo", "demo-1.0-py3-none-any.whl", &sha, None, bytes.len() as u64, path)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_feed_update_turns_a_served_artifact_into_a_blocked_one_without_a_rescan() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(&dir.path().join("s.sqlite3")).unwrap());
    let policy = Policy::from_str_with_catalog(
        "policy.yaml",
        "defaults:\n  action: annotate\n  severity:\n    critical: block\n    low: allow\n    info: allow\n",
        &[],
    )
    .unwrap();
    let feed = Arc::new(FakeFeed::default());
    let gate = Gate::new(GateParts {
        scanner: Scanner::new(Default::default()),
        policy: Arc::new(ArcSwap::from_pointee(policy)),
        scans: store.clone(),
        origins: store,
        enrich: Enricher::new(vec![feed.clone()]),
        dangerous_skip_scan: false,
    });
    let facts = benign_wheel(dir.path());

    let before = gate.decide(&facts).await;
    assert_ne!(before.verdict.decision, Decision::Block, "benign wheel: {:?}", before.verdict.reasons);
    assert_eq!(gate.scans_run(), 1);

    feed.publish("demo", "1.0");
    let after = gate.decide(&facts).await;
    assert_eq!(after.verdict.decision, Decision::Block, "{:?}", after.verdict.reasons);
    assert!(after.verdict.findings.contains(&"vulnerability.known-malware".to_string()));
    assert!(after.findings.iter().any(|f| f.message.contains("FAKE-1")), "the block names the advisory");
    assert_eq!(gate.scans_run(), 1, "the feed update re-decided from the cached scan");

    let listed = gate.decide_cached(&facts).await.expect("known to the gate");
    assert_eq!(listed.verdict.decision, Decision::Block, "index pages see the new verdict too");
}
