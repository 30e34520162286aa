//! What an operator sees: log lines on a pipe (no colour; JSON for log shippers), the policy
//! in force at start-up and on every reload, blocks in the access log, and the health
//! endpoints — all from a real `pipgate serve` process.

mod common;
use common::*;
use std::time::{Duration, Instant};

/// The sha256 of a file, as `sha256sum` prints it.
fn file_sha256(path: &std::path::Path) -> String {
    sha256_hex(&std::fs::read(path).unwrap())
}

/// Wait until the log has a line containing every one of `needles`; return that line.
fn wait_for_line(gate: &Pipgate, needles: &[&str]) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let log = gate.log();
        if let Some(l) = log.lines().find(|l| needles.iter().all(|n| l.contains(n))) {
            return l.to_string();
        }
        assert!(Instant::now() < deadline, "no log line with {needles:?}:\n{log}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Replace the policy the way docs/policy.md says to: a temporary file, then a rename.
fn deploy(policy: &std::path::Path, text: &str) {
    let tmp = policy.with_extension("yaml.tmp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, policy).unwrap();
}

fn blocked_file_url(idx: &FakeIndex, gate: &Pipgate) -> String {
    let dist = wheel("demo-evil", "6.6.6", &[], &[]);
    let url = format!("{}/files/{}/{}", gate.base(), sha256_hex(&dist.bytes), dist.filename);
    idx.add_dist("demo-evil", dist);
    url
}

#[test]
fn text_logs_on_a_pipe_have_no_colour_and_name_the_policy_data_dir_and_blocks() {
    let idx = FakeIndex::start(Format::Json);
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("policy.yaml");
    std::fs::write(&policy, "deny: [\"demo-evil\"]\n").unwrap();
    let gate = Pipgate::start_env(&idx.url(), &policy, &dir.path().join("data"), &[]);

    let started = wait_for_line(&gate, &["policy in force"]);
    let abs_policy = std::path::absolute(&policy).unwrap();
    for (case, want) in [
        ("the policy's absolute path", format!("policy={}", abs_policy.display())),
        ("the file's sha256", format!("sha256={}", file_sha256(&policy))),
        ("the policy digest", "digest=".to_string()),
    ] {
        assert!(started.contains(&want), "{case}: {started}");
    }
    let data = wait_for_line(&gate, &["data directory"]);
    assert!(data.contains(&format!("data_dir={}", dir.path().join("data").display())), "absolute data dir: {data}");

    let r = http().get(blocked_file_url(&idx, &gate)).send().unwrap();
    assert_eq!(r.status(), 403);
    let access = wait_for_line(&gate, &["request", "status=403"]);
    for (case, want) in [
        ("decision", "decision=block"),
        ("reason", "reason=deny-list"),
        ("duration", " ms="),
        ("path", "demo_evil-6.6.6-py3-none-any.whl"),
    ] {
        assert!(access.contains(want), "{case} in the access line: {access}");
    }

    // A broken policy is refused (the file's sha256 named), then fixing it says "restored".
    deploy(&policy, "deny: [\"demo-evil\"\nrules: {\n");
    let refused = wait_for_line(&gate, &["REFUSED"]);
    assert!(refused.contains(&format!("sha256={}", file_sha256(&policy))), "{refused}");
    deploy(&policy, "deny: [\"demo-evil\", \"demo-other\"]\n");
    let restored = wait_for_line(&gate, &["policy restored"]);
    assert!(restored.contains(&format!("sha256={}", file_sha256(&policy))), "{restored}");
    assert!(restored.contains("digest=") && restored.contains("changed=true"), "{restored}");
    deploy(&policy, "deny: [\"demo-evil\"]\n");
    let reloaded = wait_for_line(&gate, &["policy reloaded"]);
    assert!(reloaded.contains(&format!("sha256={}", file_sha256(&policy))), "{reloaded}");

    let log = gate.log();
    assert!(!log.contains('\u{1b}'), "no terminal escapes on a pipe:\n{log}");
}

#[test]
fn json_logs_are_one_object_per_line() {
    let idx = FakeIndex::start(Format::Json);
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("policy.yaml");
    std::fs::write(&policy, "deny: [\"demo-evil\"]\n").unwrap();
    let gate = Pipgate::start_env(&idx.url(), &policy, &dir.path().join("data"), &[("PIPGATE_LOG_FORMAT", "json")]);
    let r = http().get(blocked_file_url(&idx, &gate)).send().unwrap();
    assert_eq!(r.status(), 403);
    wait_for_line(&gate, &["\"status\":403"]);
    let log = gate.log();
    let events: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not one JSON object per line: {l:?}: {e}")))
        .collect();
    let find =
        |msg: &str| events.iter().find(|e| e["message"] == msg).unwrap_or_else(|| panic!("no {msg:?} event:\n{log}"));
    let started = find("policy in force");
    assert_eq!(started["sha256"], file_sha256(&policy));
    assert_eq!(started["level"], "INFO");
    let access = events.iter().find(|e| e["message"] == "request" && e["status"] == 403).unwrap();
    assert_eq!(access["decision"], "block");
    assert_eq!(access["reason"], "deny-list");
    assert!(access["ms"].is_u64(), "{access}");
    assert!(access["timestamp"].is_string(), "{access}");
}

#[test]
fn health_and_readiness_over_http() {
    let mut idx = FakeIndex::start(Format::Json);
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("policy.yaml");
    std::fs::write(&policy, "# operator test\n").unwrap();
    let gate = Pipgate::start_env(&idx.url(), &policy, &dir.path().join("data"), &[]);
    let get = |path: &str| {
        let r = http().get(format!("{}{path}", gate.base())).send().unwrap();
        let status = r.status().as_u16();
        (status, r.text().unwrap())
    };
    assert_eq!(get("/healthz"), (200, "ok\n".to_string()));
    let (status, body) = get("/readyz");
    assert_eq!(status, 200, "{body}");
    let doc: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(doc["ready"], true, "{doc}");

    // The upstream goes away: a pipgate started now has no recent answer from it, asks it,
    // and is not ready.
    idx.stop();
    let gate2 = Pipgate::start_env(&idx.url(), &policy, &dir.path().join("data2"), &[]);
    let r = http().get(format!("{}/readyz", gate2.base())).send().unwrap();
    assert_eq!(r.status().as_u16(), 503);
    let doc: serde_json::Value = r.json().unwrap();
    assert_eq!(doc["failed"], serde_json::json!(["upstream"]), "{doc}");
    assert_eq!(get("/healthz").0, 200, "liveness does not depend on the upstream");
    assert!(gate.audit().is_empty() && gate2.audit().is_empty(), "health checks are not audited");
}
