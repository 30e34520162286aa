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
    ];
    // (case, changes, --since, request ids named)
    let cases: Vec<(&str, Vec<VerdictChange>, Option<u32>, Vec<&str>)> = vec![
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
        let ids: Vec<&str> = got.iter().map(|e| e.request_id.as_str()).collect();
        assert_eq!(ids, want, "{case}");
        for e in &got {
            assert!(e.reason.ends_with("block by test") && e.client.starts_with("10.0.0."), "{case}: {e:?}");
        }
    }
    let alice = exposures(&records, &[change(&t(5), "aa", Serve, Block)], None);
    assert_eq!(alice[1].user.as_deref(), Some("alice"), "the user is named when the log has one");
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
