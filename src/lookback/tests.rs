//! Which earlier downloads `pipgate audit exposed` names, and what the webhook sends.

use super::*;
use crate::store::VerdictChange;

fn download(i: usize, time: &str, sha: &str, decision: &str, request: &str) -> AuditRecord {
    AuditRecord {
        time: time.into(),
        request_id: format!("r{i}"),
        client: format!("10.0.0.{i}:5000"),
        user: (i == 2).then(|| "alice".to_string()),
        user_agent: Some(format!("pip/24.{i}")),
        request: request.into(),
        project: "demo".into(),
        version: Some("1.0".into()),
        filename: "demo-1.0-py3-none-any.whl".into(),
        sha256: Some(sha.into()),
        decision: decision.into(),
        reasons: vec![],
        findings: vec![],
        acceptances: vec![],
        policy_digest: String::new(),
        fault: None,
        pipgate_version: "0".into(),
    }
}

fn change(time: &str, sha: &str, old: Decision, new: Decision) -> VerdictChange {
    VerdictChange {
        time: time.into(),
        sha256: sha.into(),
        project: "demo".into(),
        version: Some("1.0".into()),
        filename: "demo-1.0-py3-none-any.whl".into(),
        old_decision: old,
        new_decision: new,
        reason: format!("{} by test", new.as_str()),
        trigger: "policy".into(),
        policy_digest: "d".into(),
    }
}

#[test]
fn exposures_are_downloads_served_before_the_block() {
    use Decision::*;
    let t = |h: u32| format!("2026-11-30T{h:02}:00:00Z");
    let records = vec![
        download(1, &t(1), "aa", "serve", "file"),
        download(2, &t(2), "aa", "annotate", "file"),
        download(3, &t(3), "aa", "serve", "metadata"),
        download(4, &t(4), "bb", "serve", "file"),
        download(5, &t(6), "aa", "block", "file"),
        download(6, &t(7), "cc", "serve", "file"),
        // r1's client again (a resolver's range request for the same file): not a new exposure
        AuditRecord { request_id: "r1-range".into(), ..download(1, &t(1), "aa", "serve", "file") },
        AuditRecord {
            request_id: "r1-range2".into(),
            client: "10.0.0.1:5001".into(),
            ..download(1, &t(1), "aa", "serve", "file")
        },
    ];
    // (case, changes, --since, request ids named)
    type Case = (&'static str, Vec<VerdictChange>, Option<u32>, Vec<&'static str>);
    let cases: Vec<Case> = vec![
        ("no change: nobody is exposed", vec![], None, vec![]),
        (
            "aa blocked at 05:00: its file downloads before",
            vec![change(&t(5), "aa", Serve, Block)],
            None,
            vec!["r1", "r2"],
        ),
        ("--since leaves earlier downloads out", vec![change(&t(5), "aa", Serve, Block)], Some(2), vec!["r2"]),
        (
            "blocked, then served again: not blocked now",
            vec![change(&t(5), "aa", Serve, Block), change(&t(8), "aa", Block, Serve)],
            None,
            vec![],
        ),
        ("a download after the block is not an exposure", vec![change(&t(6), "cc", Serve, Block)], None, vec![]),
        (
            "two files blocked: oldest download first",
            vec![
                change(&t(9), "cc", Serve, Block),
                change(&t(5), "aa", Serve, Block),
                change(&t(5), "bb", Annotate, Block),
            ],
            None,
            vec!["r1", "r2", "r4", "r6"],
        ),
    ];
    for (case, changes, since, want) in cases {
        let since = since.map(|h| crate::timefmt::parse_instant(&t(h)).unwrap());
        let got = exposures(&records, &changes, since);
        let ids: Vec<&str> = got.iter().map(|e| e.download.request_id.as_str()).collect();
        assert_eq!(ids, want, "{case}");
        for e in &got {
            assert!(e.reason.ends_with("block by test") && e.download.client.starts_with("10.0.0."), "{case}: {e:?}");
        }
    }
    let alice = exposures(&records, &[change(&t(5), "aa", Serve, Block)], None);
    assert_eq!(alice[1].download.user.as_deref(), Some("alice"), "the user is named when the log has one");
    let table = render_exposures(&alice);
    assert!(
        table.starts_with("DOWNLOADED") && table.contains("10.0.0.1:5000") && table.contains("pip/24.2"),
        "{table}"
    );
}

#[test]
fn the_webhook_payload_carries_the_change_and_the_exposed_clients() {
    let c = change("2026-11-30T05:00:00Z", "aa", Decision::Serve, Decision::Block);
    let payload = WebhookPayload {
        schema: "pipgate.verdict-change/1",
        event: "verdict.blocked",
        change: &c,
        exposed: vec![ExposedClient {
            time: "2026-11-30T01:00:00Z".into(),
            client: "10.0.0.1:5000".into(),
            user: None,
            user_agent: Some("pip/24.1".into()),
            request_id: "r1".into(),
        }],
        pipgate_version: "<version>",
    };
    insta::assert_json_snapshot!("webhook_payload", payload);
}

/// A file whose only stored report an older scanner made: the sweep re-decides it from
/// that report at once (blocked by its finding), then the background rescan scans it with
/// the current scanner, which finds nothing: the change is recorded with trigger `scanner`,
/// and the file is no longer outdated (a restart would not rescan it again).
#[tokio::test(flavor = "multi_thread")]
async fn the_background_rescan_replaces_reports_of_an_older_scanner_and_records_the_change() {
    use crate::model::{ArtifactKind, Category, Evidence, FileOrigin, FileRole, Finding, Severity, Verified};
    use crate::store::ScanStore;
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let app = App::for_tests(dir.path(), "defaults:\n  action: allow\n  severity:\n    high: block\n");
    let mut changes = app.gate.subscribe_changes();

    let filename = "demo-1.0-py3-none-any.whl";
    let mut bytes = Vec::new();
    {
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(&mut bytes));
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
    }
    use sha2::Digest;
    let sha = hex::encode(sha2::Sha256::digest(&bytes));
    let digest = crate::model::Sha256::parse(&sha).unwrap();
    let path = app.artifacts.path(&digest);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, &bytes).unwrap();
    let origin = FileOrigin {
        key: sha.clone(),
        filename: filename.into(),
        project: "demo".into(),
        url: format!("https://files.example.org/{filename}"),
        hashes: [("sha256".to_string(), sha.clone())].into(),
        upload_time: None,
        size: Some(bytes.len() as u64),
        core_metadata: None,
    };
    app.origins.put_origins(vec![origin]).await.unwrap();
    app.origins.set_verified(&sha, &Verified { sha256: digest, metadata_sha256: None }).await.unwrap();
    let old = crate::scan::ScanReport {
        schema_version: crate::scan::REPORT_SCHEMA_VERSION,
        scanner_version: "0-older".into(),
        filename: filename.into(),
        kind: ArtifactKind::Wheel,
        project: Some("demo".into()),
        version: Some("1.0".into()),
        findings: vec![Finding {
            detector: "execution.install-hook".into(),
            title: "Runs code at install time".into(),
            category: Category::Execution,
            severity: Severity::High,
            message: "an older detector revision's false positive".into(),
            evidence: vec![Evidence {
                path: "demo/__init__.py".into(),
                line: Some(1),
                column: None,
                snippet: None,
                indicator: None,
                role: FileRole::Runtime,
                severity: None,
            }],
        }],
        stats: Default::default(),
        licence: Default::default(),
    };
    let store = crate::store::SqliteStore::open(&crate::config::DataDir::new(dir.path()).db()).unwrap();
    store.put_scan(&sha, "0-older", &old).await.unwrap();

    let swept = app.gate.sweep().await.unwrap();
    assert_eq!((swept.decided, swept.unscanned, swept.changes.len()), (1, 0, 0), "{swept:?}");
    let facts = crate::model::ArtifactFacts::describe("demo", filename, &sha, None, 0, Default::default());
    let (d, scanner) = app.gate.redecide(&facts).await.expect("decided from the older report");
    assert_eq!((d.verdict.decision, scanner.as_str()), (Decision::Block, "0-older"), "at once, without a rescan");
    assert_eq!(app.lookback.outdated_scans(crate::scan::scanner_version()).await.unwrap(), vec![sha.clone()]);

    rescan(app.clone(), Duration::ZERO).await;
    let c = changes.try_recv().expect("the rescan's new verdict is a change");
    assert_eq!(
        (c.old_decision, c.new_decision, c.trigger.as_str()),
        (Decision::Block, Decision::Serve, "scanner"),
        "{c:?}"
    );
    assert!(
        app.lookback.outdated_scans(crate::scan::scanner_version()).await.unwrap().is_empty(),
        "resumable: done is done"
    );
    assert_eq!(app.lookback.verdict_changes().await.unwrap(), vec![c]);
}
