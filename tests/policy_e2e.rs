//! The policy, enforced end to end: what pip and uv users see when pipgate blocks,
//! holds or yanks, and what the audit log keeps.

mod common;
use common::*;

/// Make client output stable for snapshots: ports, hashes, timings, temp paths.
fn scrub(text: &str, gate: &Pipgate) -> String {
    let mut out = text.replace(&gate.base(), "http://PIPGATE");
    let re_sha = regex::Regex::new(r"[0-9a-f]{64}").unwrap();
    out = re_sha.replace_all(&out, "<sha256>").into_owned();
    let re_time = regex::Regex::new(r"in [0-9.]+m?s").unwrap();
    out = re_time.replace_all(&out, "in <time>").into_owned();
    let re_req = regex::Regex::new(r"[0-9a-f]{8}-[0-9a-f]+").unwrap();
    out = re_req.replace_all(&out, "<request-id>").into_owned();
    let re_tmp = regex::Regex::new(r"/tmp/[^\s:'\x22]+").unwrap();
    out = re_tmp.replace_all(&out, "<tmp>").into_owned();
    let re_date = regex::Regex::new(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ").unwrap();
    out = re_date.replace_all(&out, "<time>").into_owned();
    out.lines().map(str::trim_end).filter(|l| !l.trim().is_empty()).collect::<Vec<_>>().join("\n")
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).unwrap()
}

#[test]
fn deny_listed_release_is_blocked_for_pip_and_uv_with_a_message_and_an_audit_line() {
    let idx = FakeIndex::start(Format::Json);
    idx.add_dist("demo-evil", wheel("demo-evil", "6.6.6", &[], &[]));
    let gate = Pipgate::start(&idx.url(), Some("deny: [\"demo-evil==6.6.6\"]\n"));

    let venv = Venv::new();
    let out = venv.pip(&["install", "--index-url", &gate.url, "demo-evil==6.6.6"]);
    assert!(!out.status.success(), "{}", show(&out));
    let pip_err = stderr(&out);
    assert!(pip_err.contains("403") && pip_err.contains("Blocked by pipgate: deny-list"), "{pip_err}");
    insta::assert_snapshot!("pip_blocked_deny_list", scrub(&pip_err, &gate));

    let out = venv.uv_pip(&["install", "--index-url", &gate.url, "demo-evil==6.6.6"]);
    assert!(!out.status.success(), "{}", show(&out));
    let uv_err = stderr(&out);
    assert!(uv_err.contains("403"), "{uv_err}");
    insta::assert_snapshot!("uv_blocked_deny_list", scrub(&uv_err, &gate));

    let audit = gate.audit();
    let blocks: Vec<_> = audit.iter().filter(|r| r["decision"] == "block").collect();
    assert!(blocks.len() >= 2, "{audit:?}");
    assert!(blocks.iter().all(|r| r["project"] == "demo-evil" && r["version"] == "6.6.6"));
    assert!(blocks.iter().all(|r| r["reasons"][0]["code"] == "deny-list"), "{blocks:?}");
    assert!(blocks.iter().any(|r| r["user_agent"].as_str().unwrap_or("").starts_with("pip/")));
    assert!(blocks.iter().any(|r| r["user_agent"].as_str().unwrap_or("").starts_with("uv/")));

    // What an auditor reads: `pipgate audit --blocked` (JSON lines and the table).
    let data = gate.data_dir.to_str().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_pipgate"))
        .args(["audit", "--blocked", "--format", "json", "--data-dir", data])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", show(&out));
    let lines: Vec<serde_json::Value> =
        String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), blocks.len());
    let mut first = lines[0].clone();
    for (k, v) in [("time", "<time>"), ("request_id", "<id>"), ("client", "<client>"), ("user_agent", "<ua>")] {
        first[k] = v.into();
    }
    first["policy_digest"] = "<digest>".into();
    first["pipgate_version"] = "<version>".into();
    first["sha256"] = "<sha256>".into();
    insta::assert_json_snapshot!("audit_line_blocked", first);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_pipgate"))
        .args(["audit", "--blocked", "--project", "Demo_Evil", "--data-dir", data])
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.starts_with("TIME") && table.contains("demo-evil") && table.contains("deny list"), "{table}");
    let none = std::process::Command::new(env!("CARGO_BIN_EXE_pipgate"))
        .args(["audit", "--blocked", "--project", "other", "--format", "json", "--data-dir", data])
        .output()
        .unwrap();
    assert!(none.stdout.is_empty());
}

#[test]
fn cooldown_holds_a_fresh_release_resolvers_fall_back_and_pins_get_a_clear_403() {
    let idx = FakeIndex::start(Format::Json);
    idx.add_dist("demo-cool", wheel("demo-cool", "1.0", &[], &[]));
    let mut fresh = FakeFile::new(wheel("demo-cool", "2.0", &[], &[]));
    fresh.upload_time = Some(now_rfc3339());
    idx.add("demo-cool", fresh);
    let gate = Pipgate::start(&idx.url(), Some("cooldown: { min_age: 3d }\nindex: yank\n"));

    // Unpinned: the fresh version is yanked on the page; both clients fall back to 1.0.
    let venv = Venv::new();
    let out = venv.pip(&["install", "--index-url", &gate.url, "demo-cool"]);
    assert!(out.status.success(), "{}", show(&out));
    assert_eq!(venv.run("import demo_cool; print(demo_cool.VERSION)"), "1.0");
    let venv = Venv::new();
    let out = venv.uv_pip(&["install", "--index-url", &gate.url, "demo-cool"]);
    assert!(out.status.success(), "{}", show(&out));
    assert_eq!(venv.run("import demo_cool; print(demo_cool.VERSION)"), "1.0");

    // Pinned: the yanked file is still reachable, and its download says why and until when.
    let venv = Venv::new();
    let out = venv.pip(&["install", "--index-url", &gate.url, "demo-cool==2.0"]);
    assert!(!out.status.success(), "{}", show(&out));
    let err = stderr(&out);
    assert!(err.contains("Blocked by pipgate: cooldown"), "{err}");
    insta::assert_snapshot!("pip_cooldown_hold", scrub(&err, &gate));
    let out = venv.uv_pip(&["install", "--index-url", &gate.url, "demo-cool==2.0"]);
    assert!(!out.status.success(), "{}", show(&out));
    insta::assert_snapshot!("uv_cooldown_hold", scrub(&stderr(&out), &gate));

    // The page says it too.
    let page: serde_json::Value = http()
        .get(format!("{}demo-cool/", gate.url))
        .header("accept", "application/vnd.pypi.simple.v1+json")
        .send()
        .unwrap()
        .json()
        .unwrap();
    let f =
        page["files"].as_array().unwrap().iter().find(|f| f["filename"] == "demo_cool-2.0-py3-none-any.whl").unwrap();
    assert!(f["yanked"].as_str().unwrap().starts_with("blocked by pipgate: "), "{f}");
    assert_eq!(f["_pipgate"]["decision"], "block");
    assert!(f["_pipgate"]["available_at"].is_string(), "{f}");
}

#[test]
fn when_every_version_is_blocked_the_page_still_lists_them_so_the_user_sees_why() {
    let idx = FakeIndex::start(Format::Html);
    let mut fresh = FakeFile::new(wheel("demo-new", "1.0", &[], &[]));
    fresh.upload_time = Some(now_rfc3339());
    idx.add("demo-new", fresh);
    // HTML upstreams carry no upload-time; serve it as JSON so the cooldown applies.
    idx.state.lock().unwrap().format = Format::Json;
    let gate = Pipgate::start(&idx.url(), Some("cooldown: { min_age: 3d }\nindex: hide\n"));
    let venv = Venv::new();
    let out = venv.pip(&["install", "--index-url", &gate.url, "demo-new"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("Blocked by pipgate: cooldown"), "{}", show(&out));
}

#[test]
fn a_broken_policy_reload_is_refused_and_the_old_policy_stays() {
    let idx = FakeIndex::start(Format::Json);
    idx.add_dist("demo-a", wheel("demo-a", "1.0", &[], &[]));
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("policy.yaml");
    std::fs::write(&policy, "deny: [\"demo-a\"]\n").unwrap();
    let gate = Pipgate::start_with(&idx.url(), &policy, &dir.path().join("data"));
    let url = format!("{}demo-a/", gate.url);
    let listed = || {
        let page: serde_json::Value =
            http().get(&url).header("accept", "application/vnd.pypi.simple.v1+json").send().unwrap().json().unwrap();
        page["files"][0]["_pipgate"]["decision"].as_str().unwrap_or("serve").to_string()
    };
    assert_eq!(listed(), "block");

    // A typo'd key: refused with file, path and line in the log; the deny list stays in force.
    std::fs::write(&policy, "deny: [\"demo-a\"]\ndenny: []\n").unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !gate.log().contains("REFUSED") && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let log = gate.log();
    assert!(log.contains("REFUSED") && log.contains("denny") && log.contains(":2"), "{log}");
    assert_eq!(listed(), "block");

    // A valid change takes effect without a restart.
    std::fs::write(&policy, "deny: []\n").unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while listed() != "serve" && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(listed(), "serve");
}
