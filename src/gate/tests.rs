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
        origins: store.clone(),
        enrich: Enricher::new(vec![feed.clone()]),
        dangerous_skip_scan: false,
        lookback: Some(store),
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

/// The sweep: a feed update and a policy reload re-decide a cached, verified file from its
/// stored report (no rescan), and each change is recorded once, with its trigger.
#[tokio::test(flavor = "multi_thread")]
async fn the_sweep_records_each_change_once_with_its_trigger_and_without_a_rescan() {
    use crate::store::{LookbackStore, OriginStore};
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(&dir.path().join("s.sqlite3")).unwrap());
    let lenient = "defaults:\n  action: annotate\n  severity:\n    critical: block\n    low: allow\n    info: allow\n";
    let policy = Arc::new(ArcSwap::from_pointee(Policy::from_str_with_catalog("policy.yaml", lenient, &[]).unwrap()));
    let feed = Arc::new(FakeFeed::default());
    let gate = Gate::new(GateParts {
        scanner: Scanner::new(Default::default()),
        policy: policy.clone(),
        scans: store.clone(),
        origins: store.clone(),
        enrich: Enricher::new(vec![feed.clone()]),
        dangerous_skip_scan: false,
        lookback: Some(store.clone()),
    });
    let mut changes = gate.subscribe_changes();
    let facts = benign_wheel(dir.path());
    let origin = crate::model::FileOrigin {
        key: facts.sha256.clone(),
        filename: facts.filename.clone(),
        project: facts.project.clone(),
        url: format!("https://files.example.org/{}", facts.filename),
        hashes: [("sha256".to_string(), facts.sha256.clone())].into(),
        upload_time: None,
        size: Some(facts.size),
        core_metadata: None,
    };
    store.put_origins(vec![origin]).await.unwrap();
    let v =
        crate::model::Verified { sha256: crate::model::Sha256::parse(&facts.sha256).unwrap(), metadata_sha256: None };
    store.set_verified(&facts.sha256, &v).await.unwrap();

    // Served (and noted) by a request; a sweep with nothing new records nothing.
    assert_ne!(gate.decide(&facts).await.verdict.decision, Decision::Block);
    let quiet = gate.sweep().await.unwrap();
    assert_eq!((quiet.decided, quiet.changes.len()), (1, 0), "{quiet:?}");

    // (case, what changes, decision after, trigger recorded)
    type Step = Box<dyn Fn()>;
    let (f, p) = (feed.clone(), policy.clone());
    let steps: Vec<(&str, Step, Decision, &str)> = vec![
        ("a feed marks it malicious", Box::new(move || f.publish("demo", "1.0")), Decision::Block, "feed"),
        (
            "a policy reload allow-lists it",
            Box::new(move || {
                let text = format!("{lenient}allow: [\"demo\"]\n");
                p.store(Arc::new(Policy::from_str_with_catalog("policy.yaml", &text, &[]).unwrap()));
            }),
            Decision::Serve,
            "policy",
        ),
    ];
    for (case, change, want, trigger) in steps {
        change();
        let swept = gate.sweep().await.unwrap();
        assert_eq!(swept.changes.len(), 1, "{case}: {swept:?}");
        let c = &swept.changes[0];
        assert_eq!(
            (c.new_decision == Decision::Block, c.trigger.as_str()),
            (want == Decision::Block, trigger),
            "{case}: {c:?}"
        );
        assert_eq!(
            (c.project.as_str(), c.filename.as_str(), c.sha256.as_str()),
            ("demo", facts.filename.as_str(), facts.sha256.as_str()),
            "{case}"
        );
        assert_eq!(changes.try_recv().unwrap(), *c, "{case}: the change is published");
        let again = gate.sweep().await.unwrap();
        assert!(again.changes.is_empty(), "{case}: recorded once, not at every sweep: {again:?}");
        let served = gate.decide(&facts).await;
        assert_eq!(
            served.verdict.decision == Decision::Block,
            want == Decision::Block,
            "{case}: the request path agrees"
        );
        assert!(changes.try_recv().is_err(), "{case}: the request found nothing new to record");
    }
    assert_eq!(gate.scans_run(), 1, "re-decided from the stored report, never rescanned");
    let kept = store.verdict_changes().await.unwrap();
    assert_eq!(kept.len(), 2);
    assert!(kept[0].reason.contains("FAKE-1"), "the block's reason names the record: {}", kept[0].reason);
}
