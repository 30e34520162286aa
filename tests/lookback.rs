//! Looking back, end to end with real pip and uv: a file both clients installed is blocked
//! by a policy change (saved with an atomic rename, hot-reloaded); the change is recorded
//! and logged, the next install is refused, `pipgate audit exposed` names the clients that
//! fetched it before, and the webhook receives the documented payload (after a retry); the
//! same for a licence rule.

mod common;
use common::*;
use std::io::{BufRead, BufReader, Read, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A one-route HTTP server on 127.0.0.1:0 that answers 500 to the first request and 204
/// to the rest, keeping every request body.
struct Hook {
    url: String,
    bodies: Arc<Mutex<Vec<String>>>,
}

impl Hook {
    fn start() -> Hook {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/hooks/pipgate", listener.local_addr().unwrap());
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let kept = bodies.clone();
        std::thread::spawn(move || {
            for (n, stream) in listener.incoming().enumerate() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut len = 0usize;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        len = v.trim().parse().unwrap_or(0);
                    }
                }
                let mut body = vec![0; len];
                let _ = reader.read_exact(&mut body);
                kept.lock().unwrap().push(String::from_utf8_lossy(&body).into_owned());
                let status = if n == 0 { "500 Internal Server Error" } else { "204 No Content" };
                let _ = write!(stream, "HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
            }
        });
        Hook { url, bodies }
    }
}

fn wait_for(what: &str, deadline: Duration, mut ok: impl FnMut() -> bool) {
    let end = Instant::now() + deadline;
    while !ok() {
        assert!(Instant::now() < end, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn exposed(gate: &Pipgate, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_pipgate"))
        .args(["audit", "exposed", "--data-dir", gate.data_dir.to_str().unwrap()])
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn a_policy_change_blocks_an_installed_file_and_names_the_clients_that_fetched_it() {
    let idx = FakeIndex::start(Format::Json);
    idx.add_dist("demo-look", wheel("demo-look", "1.0", &[], &[]));
    let code = "import subprocess\n\ndef run(cmd):\n    return subprocess.run(cmd, check=True)\n";
    idx.add_dist("demo-proc", wheel("demo-proc", "1.0", &[], &[("demo_proc/run.py", code)]));
    let hook = Hook::start();
    let gate = Pipgate::start_args(
        &idx.url(),
        Some("# nothing blocked yet\n"),
        &["--webhook", &hook.url, "--webhook-timeout", "3s", "--webhook-attempts", "3"],
    );
    let policy = gate.data_dir.parent().unwrap().join("policy.yaml");

    // Both clients install it while it is allowed.
    let venv = Venv::new();
    let out = venv.pip(&["install", "--index-url", &gate.url, "demo-look==1.0"]);
    assert!(out.status.success(), "{}", show(&out));
    let venv = Venv::new();
    let out = venv.uv_pip(&["install", "--index-url", &gate.url, "demo-look==1.0", "demo-proc==1.0"]);
    assert!(out.status.success(), "{}", show(&out));
    let none = exposed(&gate, &["--format", "json"]);
    assert!(none.status.success() && none.stdout.is_empty(), "nobody is exposed yet: {}", show(&none));

    // The policy is replaced with an atomic rename; the server reloads it and looks back:
    // demo-look by the deny list, demo-proc by a rule on a finding of its stored report.
    let staged = policy.with_file_name(".policy.yaml.new");
    let new_policy = "deny: [\"demo-look==1.0\"]\nrules:\n  - id: no-subprocess\n    match: { detector: execution.creates-process }\n    action: block\n";
    std::fs::write(&staged, new_policy).unwrap();
    std::fs::rename(&staged, &policy).unwrap();
    wait_for("both changes to be recorded", Duration::from_secs(20), || gate.log().matches("now BLOCKED").count() >= 2);
    let log = gate.log();
    for file in ["demo_look-1.0-py3-none-any.whl", "demo_proc-1.0-py3-none-any.whl"] {
        let line = log
            .lines()
            .find(|l| l.contains("now BLOCKED") && l.contains(file))
            .unwrap_or_else(|| panic!("{file}: {log}"));
        for part in ["new=\"block", "trigger=policy"] {
            assert!(line.contains(part) || line.contains(&part.replace('"', "")), "{part} in {line}");
        }
        assert!(line.contains("old=\"serve") || line.contains("old=\"annotate"), "{line}");
    }

    // The next install is refused, by pip and by uv (demo-proc: the request re-decides
    // from its cached scan under the new rule; no verdict is reused).
    for (project, why) in [("demo-look==1.0", "deny-list"), ("demo-proc==1.0", "execution.creates-process")] {
        let venv = Venv::new();
        let out = venv.pip(&["install", "--index-url", &gate.url, project]);
        assert!(!out.status.success(), "{}", show(&out));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("403") && err.contains(why), "{project}: {}", show(&out));
        let out = venv.uv_pip(&["install", "--index-url", &gate.url, project]);
        assert!(!out.status.success(), "{}", show(&out));
    }

    // `pipgate audit exposed` names both earlier clients, with the reason.
    let out = exposed(&gate, &["--format", "json"]);
    assert!(out.status.success(), "{}", show(&out));
    let rows: Vec<serde_json::Value> =
        String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let mut named: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| (r["filename"].as_str().unwrap(), r["user_agent"].as_str().unwrap_or("").split('/').next().unwrap()))
        .collect();
    named.sort();
    let want = [
        ("demo_look-1.0-py3-none-any.whl", "pip"),
        ("demo_look-1.0-py3-none-any.whl", "uv"),
        ("demo_proc-1.0-py3-none-any.whl", "uv"),
    ];
    assert_eq!(named, want, "pip's and uv's earlier downloads, one row per file and client: {rows:?}");
    for r in &rows {
        assert!(r["client"].as_str().unwrap().starts_with("127.0.0.1:"), "{r}");
        assert_eq!(r["trigger"], "policy", "{r}");
        let why = if r["project"] == "demo-look" { "deny-list" } else { "execution.creates-process" };
        assert!(r["reason"].as_str().unwrap().contains(why), "{r}");
    }
    let table = exposed(&gate, &[]);
    let table = String::from_utf8_lossy(&table.stdout);
    assert!(table.starts_with("DOWNLOADED") && table.contains("USER AGENT") && table.contains("pip/"), "{table}");
    let later = exposed(&gate, &["--since", "2099-01-01", "--format", "json"]);
    assert!(later.stdout.is_empty(), "--since leaves earlier downloads out");

    // The webhook: one payload per blocked file; the first attempt got a 500 and was
    // retried with the same payload.
    wait_for("the webhook's retry", Duration::from_secs(15), || hook.bodies.lock().unwrap().len() >= 3);
    let bodies = hook.bodies.lock().unwrap().clone();
    assert_eq!(bodies.iter().filter(|b| **b == bodies[0]).count(), 2, "a retry sends the same payload");
    let payloads: std::collections::BTreeMap<String, serde_json::Value> = bodies
        .iter()
        .map(|b| serde_json::from_str::<serde_json::Value>(b).unwrap())
        .map(|p| (p["project"].as_str().unwrap().to_string(), p))
        .collect();
    assert_eq!(payloads.len(), 2, "{payloads:?}");
    for (project, exposed) in [("demo-look", 2), ("demo-proc", 1)] {
        let p = &payloads[project];
        assert_eq!(p["schema"], "pipgate.verdict-change/1", "{p}");
        assert_eq!(p["event"], "verdict.blocked", "{p}");
        assert!(matches!(p["old_decision"].as_str(), Some("serve" | "annotate")), "{p}");
        assert_eq!(p["new_decision"], "block", "{p}");
        assert_eq!(p["exposed"].as_array().map(Vec::len), Some(exposed), "{p}");
    }
    let log = gate.log();
    assert!(log.contains("webhook failed") && log.contains("webhook notified"), "{log}");
}

/// The same for a licence rule: a GPL-3.0-only wheel pip installed is blocked when the policy
/// (atomic rename) starts denying that licence; the next install is refused naming it and
/// `pipgate audit exposed` names the earlier pip client with the licence reason.
#[test]
fn a_new_licence_rule_blocks_an_installed_file_and_names_the_pip_client() {
    const GPL3: &str =
        "                    GNU GENERAL PUBLIC LICENSE\n                       Version 3, 29 June 2007\n";
    let idx = FakeIndex::start(Format::Json);
    let gpl = wheel_with_headers(
        "demo-gpl",
        "1.0",
        &[],
        "License-Expression: GPL-3.0-only\nLicense-File: COPYING\n",
        &[("demo_gpl-1.0.dist-info/licenses/COPYING", GPL3)],
    );
    idx.add_dist("demo-gpl", gpl);
    let gate = Pipgate::start(&idx.url(), Some("# no licence rules yet\n"));
    let policy = gate.data_dir.parent().unwrap().join("policy.yaml");

    let venv = Venv::new();
    let out = venv.pip(&["install", "--index-url", &gate.url, "demo-gpl==1.0"]);
    assert!(out.status.success(), "allowed before the rule: {}", show(&out));

    let staged = policy.with_file_name(".policy.yaml.new");
    std::fs::write(&staged, "licences:\n  deny: [GPL-3.0-only]\n").unwrap();
    std::fs::rename(&staged, &policy).unwrap();
    wait_for("the change to be recorded", Duration::from_secs(20), || gate.log().contains("now BLOCKED"));
    let log = gate.log();
    let line = log.lines().find(|l| l.contains("now BLOCKED")).unwrap();
    for part in ["demo_gpl-1.0-py3-none-any.whl", "new=\"block\"", "trigger=policy", "reason=licence GPL-3.0-only"] {
        assert!(line.contains(part), "{part} in {line}");
    }

    let out = Venv::new().pip(&["install", "--index-url", &gate.url, "demo-gpl==1.0"]);
    assert!(!out.status.success(), "{}", show(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("403") && err.contains("licence GPL-3.0-only"), "{}", show(&out));

    let out = exposed(&gate, &["--format", "json"]);
    assert!(out.status.success(), "{}", show(&out));
    let rows: Vec<serde_json::Value> =
        String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(rows.len(), 1, "one earlier download, by pip: {rows:?}");
    let r = &rows[0];
    assert_eq!(r["filename"], "demo_gpl-1.0-py3-none-any.whl", "{r}");
    assert!(r["user_agent"].as_str().unwrap().starts_with("pip/"), "{r}");
    assert_eq!(r["trigger"], "policy", "{r}");
    assert_eq!(r["served_as"], "serve", "{r}");
    let reason = r["reason"].as_str().unwrap();
    assert!(reason.starts_with("licence GPL-3.0-only") && reason.ends_with("[licence:denied]"), "{r}");
}
