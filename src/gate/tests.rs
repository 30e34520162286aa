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
                    severity: None,
                }],
            })
            .collect()
    }
}

fn benign_wheel(dir: &std::path::Path) -> ArtifactFacts {
    demo_wheel(
        dir,
        &[
            ("demo/__init__.py", "VERSION = '1.0'\n"),
            (
                "demo-1.0.dist-info/METADATA",
                "Metadata-Version: 2.1\nName: demo\nVersion: 1.0\nAuthor-email: a <a@example.org>\n",
            ),
            ("demo-1.0.dist-info/RECORD", ""),
        ],
    )
}

/// `demo-1.0-py3-none-any.whl` in `dir` with `members` in this order, described as the gate sees it.
fn demo_wheel(dir: &std::path::Path, members: &[(&str, &str)]) -> ArtifactFacts {
    let path = dir.join("demo-1.0-py3-none-any.whl");
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
    let opts = zip::write::SimpleFileOptions::default();
    for (name, body) in members {
        zip.start_file(*name, opts).unwrap();
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

/// A gate over a lenient policy (critical findings block) with a fake advisory feed, its
/// policy handle, the feed, a benign wheel's facts and its origin.
fn repeat_gate(
    dir: &std::path::Path,
    policy_text: &str,
    upload_time: Option<String>,
) -> (Gate, Arc<ArcSwap<Policy>>, Arc<FakeFeed>, ArtifactFacts, crate::model::FileOrigin) {
    let store = Arc::new(SqliteStore::open(&dir.join("s.sqlite3")).unwrap());
    let policy =
        Arc::new(ArcSwap::from_pointee(Policy::from_str_with_catalog("policy.yaml", policy_text, &[]).unwrap()));
    let feed = Arc::new(FakeFeed::default());
    let gate = Gate::new(GateParts {
        scanner: Scanner::new(Default::default()),
        policy: policy.clone(),
        scans: store.clone(),
        origins: store.clone(),
        enrich: Enricher::new(vec![feed.clone()]),
        dangerous_skip_scan: false,
        lookback: Some(store),
    });
    let mut facts = benign_wheel(dir);
    facts.upload_time = upload_time;
    let origin = crate::model::FileOrigin {
        key: facts.sha256.clone(),
        filename: facts.filename.clone(),
        project: facts.project.clone(),
        url: format!("https://files.example.org/{}", facts.filename),
        hashes: [("sha256".to_string(), facts.sha256.clone())].into(),
        upload_time: facts.upload_time.clone(),
        size: Some(facts.size),
        core_metadata: None,
    };
    (gate, policy, feed, facts, origin)
}

const LENIENT: &str =
    "defaults:\n  action: annotate\n  severity:\n    critical: block\n    low: allow\n    info: allow\n";

/// An acceptance of the fake feed's finding for `demo`, expiring at `expires`.
fn accepting(expires: time::OffsetDateTime) -> String {
    format!(
        "{LENIENT}acceptances:\n  - id: T-1\n    owner: a@example.org\n    findings: [vulnerability.known-malware]\n    project: demo\n    reason: reviewed\n    ticket: T-1\n    expires: \"{}\"\n",
        crate::timefmt::rfc3339(expires)
    )
}

/// The verdict memo: a repeat request is answered from it while nothing changed, and each
/// input a verdict depends on, when it changes, makes the next repeat a fresh evaluation
/// whose verdict is the one the full path gives.
#[tokio::test(flavor = "multi_thread")]
async fn each_changed_input_makes_a_repeat_verdict_fresh() {
    let dir = tempfile::tempdir().unwrap();
    let (gate, policy, feed, facts, origin) = repeat_gate(dir.path(), LENIENT, None);
    assert!(gate.decide_repeat(&origin, &facts).await.is_none(), "not scanned yet: the caller takes the flight");
    gate.decide(&facts).await;
    let first = gate.decide_repeat(&origin, &facts).await.expect("scanned");
    let clean = first.verdict.decision;
    assert_ne!(clean, Decision::Block, "{:?}", first.verdict.reasons);
    assert_eq!(gate.repeats_weighed(), 1);

    type Change = Box<dyn Fn(&Gate)>;
    let (p, f) = (policy.clone(), feed.clone());
    let reload =
        move |text: String| p.store(Arc::new(Policy::from_str_with_catalog("policy.yaml", &text, &[]).unwrap()));
    let (r1, r2) = (reload.clone(), reload);
    let sha = facts.sha256.clone();
    // (case, change, evaluated afresh, decision after)
    let cases: Vec<(&str, Change, bool, Decision)> = vec![
        ("nothing changed", Box::new(|_: &Gate| {}), false, clean),
        (
            "an advisory refresh marks it malicious",
            Box::new(move |_: &Gate| f.publish("demo", "1.0")),
            true,
            Decision::Block,
        ),
        ("nothing changed after the refresh", Box::new(|_: &Gate| {}), false, Decision::Block),
        ("a policy reload adds an acceptance", Box::new(move |_: &Gate| r1(accepting_fixed())), true, clean),
        ("a policy reload with the same text", Box::new(move |_: &Gate| r2(accepting_fixed())), true, clean),
        (
            "the project's page history is read again",
            Box::new(|g: &Gate| {
                let h = super::name::ProjectHistory { first_upload: None, releases: 3 };
                g.histories.insert("demo".into(), Arc::new(h));
            }),
            true,
            clean,
        ),
        (
            "a comparison with the previous release is remembered",
            Box::new(move |g: &Gate| {
                g.diffs.insert(sha.clone(), crate::model::VersionDiff::NotCompared { reason: "test".into() });
            }),
            true,
            clean,
        ),
        (
            "the file is scanned again",
            Box::new(|g: &Gate| {
                let (key, report) = g.memo.iter().next().expect("a kept report");
                g.memo.insert((*key).clone(), Arc::new((*report).clone()));
            }),
            true,
            clean,
        ),
        ("nothing changed at the end", Box::new(|_: &Gate| {}), false, clean),
    ];
    for (case, change, fresh, want) in cases {
        let before = gate.repeats_weighed();
        change(&gate);
        let got = gate.decide_repeat(&origin, &facts).await.expect("scanned");
        assert_eq!(gate.repeats_weighed() - before, u64::from(fresh), "{case}: evaluated afresh?");
        assert_eq!(got.verdict.decision, want, "{case}: {:?}", got.verdict.reasons);
        let full = gate.decide(&facts).await;
        assert_eq!(full.verdict.decision, got.verdict.decision, "{case}: the full path agrees");
    }
    assert_eq!(gate.scans_run(), 1, "no case rescanned");
}

/// An acceptance far from expiry, the same text each time (so a second reload of it is a
/// reload of the same text).
fn accepting_fixed() -> String {
    accepting(time::macros::datetime!(2099-01-01 00:00 UTC))
}

/// Time-dependent inputs: a memo entry is not used after the earliest instant its verdict
/// could change by the clock (an acceptance expiring, a cooldown ending).
#[tokio::test(flavor = "multi_thread")]
async fn an_expiring_acceptance_or_an_ending_cooldown_flips_a_repeat_verdict_on_time() {
    let now = time::OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let expires = now + time::Duration::seconds(3);
    let (gate, _, feed, facts, origin) = repeat_gate(dir.path(), &accepting(expires), None);
    feed.publish("demo", "1.0");
    gate.decide(&facts).await;
    let held = format!("{LENIENT}cooldown:\n  min_age: 1h\n");
    let uploaded = crate::timefmt::rfc3339(now - time::Duration::hours(1) + time::Duration::seconds(3));
    let dir2 = tempfile::tempdir().unwrap();
    let (cool, _, _, cfacts, corigin) = repeat_gate(dir2.path(), &held, Some(uploaded));
    cool.decide(&cfacts).await;

    // (case, gate, facts, origin, blocked before, blocked after the instant)
    let cases = [
        ("an acceptance expiring", &gate, &facts, &origin, false, true),
        ("a cooldown ending", &cool, &cfacts, &corigin, true, false),
    ];
    for (case, g, f, o, before, _) in &cases {
        for _ in 0..2 {
            let got = g.decide_repeat(o, f).await.expect("scanned");
            assert_eq!(got.verdict.decision == Decision::Block, *before, "{case}: {:?}", got.verdict.reasons);
        }
        assert_eq!(g.repeats_weighed(), 1, "{case}: the second request was answered from the memo");
    }
    let wait = (now + time::Duration::seconds(3) - time::OffsetDateTime::now_utc()).unsigned_abs();
    tokio::time::sleep(wait + std::time::Duration::from_millis(50)).await;
    for (case, g, f, o, _, after) in &cases {
        let got = g.decide_repeat(o, f).await.expect("scanned");
        let blocked = got.verdict.decision == Decision::Block;
        assert_eq!(blocked, *after, "{case}: flipped at its instant: {:?}", got.verdict.reasons);
        assert_eq!(g.repeats_weighed(), 2, "{case}: evaluated afresh");
    }
}

/// A scan stopped by `max_scan_seconds` fails closed, naming the limit, and is not kept: the
/// next request scans again (the cut depended on how busy the machine was, not on the bytes),
/// while a complete scan is kept and never repeated.
#[tokio::test(flavor = "multi_thread")]
async fn a_scan_cut_by_its_time_limit_blocks_and_is_scanned_again_next_time() {
    let cases = [("time limit hit", 0, true, 2), ("default limits", 300, false, 1)];
    for (case, secs, want, scans) in cases {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SqliteStore::open(&dir.path().join("s.sqlite3")).unwrap());
        let lenient =
            "defaults:\n  action: annotate\n  severity:\n    critical: block\n    low: allow\n    info: allow\n";
        let policy = Policy::from_str_with_catalog("policy.yaml", lenient, &[]).unwrap();
        let limits = crate::scan::Limits { max_scan_seconds: secs, ..Default::default() };
        let gate = Gate::new(GateParts {
            scanner: Scanner::new(limits),
            policy: Arc::new(ArcSwap::from_pointee(policy)),
            scans: store.clone(),
            origins: store.clone(),
            enrich: Enricher::new(vec![]),
            dangerous_skip_scan: false,
            lookback: Some(store),
        });
        let facts = benign_wheel(dir.path());
        for _ in 0..2 {
            let d = gate.decide(&facts).await;
            assert_eq!(d.verdict.decision == Decision::Block, want, "{case}: {:?}", d.verdict.reasons);
            if want {
                let why: Vec<&str> = d.verdict.reasons.iter().map(|r| r.message.as_str()).collect();
                let why = why.join("; ");
                assert!(why.contains("max_scan_seconds"), "{case}: the block names the limit: {why}");
            }
        }
        assert_eq!(gate.scans_run(), scans, "{case}: scans run for two requests");
    }
}

static SLOW: crate::scan::detector::DetectorMeta = crate::scan::detector::DetectorMeta {
    id: "execution.test-slow",
    revision: 1,
    title: "Slow.",
    category: Category::Execution,
    severity: Severity::Low,
    description:
        "Test detector that takes ten seconds on one member, as a super-linear detector would on a hostile one.",
};

/// A detector whose run on `demo/slow.py` outlasts the gate's wait: one detector's run on
/// one member is where the walk's own `max_scan_seconds` check cannot reach.
struct SlowDetector;

impl crate::scan::detector::Detector for SlowDetector {
    fn meta(&self) -> &'static crate::scan::detector::DetectorMeta {
        &SLOW
    }
    fn interest(&self) -> crate::scan::detector::Interest {
        crate::scan::detector::Interest::AllText
    }
    fn scan_text(&self, file: &crate::scan::detector::TextFile<'_>, _hits: &mut crate::scan::detector::Hits) {
        if file.path == "demo/slow.py" {
            std::thread::sleep(std::time::Duration::from_secs(10));
        }
    }
}

/// A wheel whose last member is the one the slow detector lingers on (so the walk itself
/// never reaches its between-members time check after it: the scan ends complete).
fn wheel_ending_slowly(dir: &std::path::Path) -> ArtifactFacts {
    demo_wheel(
        dir,
        &[
            ("demo-1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n"),
            ("demo-1.0.dist-info/RECORD", ""),
            ("demo/__init__.py", "from .slow import VALUE\n"),
            ("demo/slow.py", "VALUE = 1\n"),
        ],
    )
}

/// A scan still running past `max_scan_seconds` plus the grace (here 1 s + 2 s) does not hold
/// the request: it is blocked, naming the limit, within the bound; a second request joins the
/// same scan rather than starting another; the scan goes on, its complete report is kept
/// (memory and store), and the request after it ends is decided on it.
#[tokio::test(flavor = "multi_thread")]
async fn a_scan_past_its_time_limit_blocks_the_waiting_request_and_is_kept_when_it_ends() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(&dir.path().join("s.sqlite3")).unwrap());
    let lenient = "defaults:\n  action: annotate\n  severity:\n    critical: block\n    low: allow\n    info: allow\n";
    let gate_on = |store: Arc<SqliteStore>| {
        let limits = crate::scan::Limits { max_scan_seconds: 1, ..Default::default() };
        Gate::new(GateParts {
            scanner: Scanner::with_detectors(limits, vec![Box::new(SlowDetector)]),
            policy: Arc::new(ArcSwap::from_pointee(
                Policy::from_str_with_catalog("policy.yaml", lenient, &[]).unwrap(),
            )),
            scans: store.clone(),
            origins: store.clone(),
            enrich: Enricher::new(vec![]),
            dangerous_skip_scan: false,
            lookback: Some(store),
        })
    };
    let gate = gate_on(store.clone());
    let facts = wheel_ending_slowly(dir.path());
    let started = std::time::Instant::now();
    for (case, request) in [("first request", 1), ("a second request while the scan runs", 2)] {
        let d = gate.decide(&facts).await;
        let waited = started.elapsed();
        assert_eq!(d.verdict.decision, Decision::Block, "{case}: fails closed: {:?}", d.verdict.reasons);
        let reason = &d.verdict.reasons[0];
        assert_eq!(reason.code.to_string(), "fail-closed:scan-overdue", "{case}");
        assert!(reason.message.contains("max_scan_seconds is 1 s"), "{case}: names the limit: {}", reason.message);
        assert!(waited < std::time::Duration::from_secs(10), "{case}: answered before the scan ended: {waited:?}");
        assert!(waited >= std::time::Duration::from_secs(3 * request), "{case}: waited the whole bound: {waited:?}");
        assert_eq!(gate.scans_run(), 1, "{case}: one scan, however many requests");
        assert_eq!(gate.running.in_progress(), 1, "{case}: the scan goes on");
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while gate.running.in_progress() > 0 {
        assert!(std::time::Instant::now() < deadline, "the scan ends");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let d = gate.decide(&facts).await;
    assert_eq!(d.verdict.decision, Decision::Serve, "decided on the kept report: {:?}", d.verdict.reasons);
    assert_eq!(gate.scans_run(), 1, "not scanned again");
    let restarted = gate_on(store);
    assert_eq!(restarted.decide(&facts).await.verdict.decision, Decision::Serve, "the report is in the store");
    assert_eq!(restarted.scans_run(), 0, "a restarted gate does not scan it again");
}
