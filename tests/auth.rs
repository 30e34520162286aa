//! Who installed what, end to end with real pip and uv: index authentication with tokens
//! made by `pipgate auth add-user`, the user in the audit log, `pipgate audit --user`, the
//! requester named in a block, the plain-HTTP refusal, and 429s the clients retry.

mod common;
use common::*;
use std::process::Command;

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// `pipgate auth add-user NAME`: (token, the `sha256:` hash line's value).
fn add_user(name: &str) -> (String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_pipgate")).args(["auth", "add-user", name]).output().unwrap();
    assert!(out.status.success(), "{}", show(&out));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let token = text.lines().map(str::trim).find(|l| l.starts_with("pgt_")).expect("a token line").to_string();
    let hash = text.split("token_hash: \"").nth(1).and_then(|r| r.split('"').next()).expect("a hash").to_string();
    assert!(!text.contains(&format!("token_hash: \"{token}")), "the entry holds the hash, not the token");
    (token, hash)
}

/// The index URL with credentials in it, as a user would paste it.
fn with_credentials(url: &str, user: &str, token: &str) -> String {
    url.replacen("http://", &format!("http://{user}:{token}@"), 1)
}

fn audit_cli(gate: &Pipgate, args: &[&str]) -> Vec<serde_json::Value> {
    let out = Command::new(env!("CARGO_BIN_EXE_pipgate"))
        .args(["audit", "--format", "json", "--data-dir", gate.data_dir.to_str().unwrap()])
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", show(&out));
    String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

#[test]
fn users_authenticate_with_tokens_and_the_audit_log_names_them() {
    let idx = FakeIndex::start(Format::Json);
    idx.add_dist("demo", wheel("demo", "1.0", &[], &[]));
    idx.add_dist("demo-evil", wheel("demo-evil", "6.6.6", &[], &[]));
    let (alice, alice_hash) = add_user("alice");
    let (bob, bob_hash) = add_user("bob");
    let policy = format!(
        "deny: [\"demo-evil==6.6.6\"]\nauth:\n  users:\n    - {{ name: alice, token_hash: \"{alice_hash}\" }}\n    - {{ name: bob, token_hash: \"{bob_hash}\" }}\n"
    );
    let gate = Pipgate::start(&idx.url(), Some(&policy));

    // Without credentials: refused. uv says so; pip logs failed index pages only at debug
    // level (the user sees "No matching distribution"; -vv shows pipgate's reason phrase).
    let venv = Venv::new();
    let out = venv.pip(&["install", "--index-url", &gate.url, "demo"]);
    assert!(!out.status.success(), "{}", show(&out));
    assert!(stderr(&out).contains("No matching distribution found for demo"), "{}", show(&out));
    let out = venv.pip(&["install", "-vv", "--index-url", &gate.url, "demo"]);
    let pip_log = String::from_utf8_lossy(&out.stdout);
    assert!(
        pip_log.contains(
            "401 Client Error: pipgate: credentials required (USER:TOKEN in the index URL, netrc or keyring)"
        ),
        "{}",
        show(&out)
    );
    let out = venv.uv_pip(&["install", "--index-url", &gate.url, "demo"]);
    assert!(!out.status.success(), "{}", show(&out));
    let uv_err = stderr(&out);
    assert!(uv_err.contains("lack of valid authentication credentials (401 Unauthorized)"), "{uv_err}");
    // A wrong token is refused the same way, never echoed.
    let out = venv.pip(&["install", "--index-url", &with_credentials(&gate.url, "alice", &bob), "demo"]);
    assert!(!out.status.success() && stderr(&out).contains("No matching distribution"), "{}", show(&out));
    assert!(gate.log().contains("reason=auth:invalid"), "{}", gate.log());
    assert!(gate.audit().is_empty(), "nothing reached the gate: {:?}", gate.audit());

    // With the credentials in the index URL: pip as alice, uv as bob.
    let out = venv.pip(&["install", "--index-url", &with_credentials(&gate.url, "alice", &alice), "demo"]);
    assert!(out.status.success(), "{}\n{}", show(&out), gate.log());
    assert_eq!(venv.run("import demo; print(demo.VERSION)"), "1.0");
    let uv_venv = Venv::new();
    let out = uv_venv.uv_pip(&["install", "--index-url", &with_credentials(&gate.url, "bob", &bob), "demo"]);
    assert!(out.status.success(), "{}", show(&out));
    assert_eq!(uv_venv.run("import demo; print(demo.VERSION)"), "1.0");

    // A blocked install: the message names the requester (uv prints the detail; pip the status line).
    let out =
        uv_venv.uv_pip(&["install", "--index-url", &with_credentials(&gate.url, "bob", &bob), "demo-evil==6.6.6"]);
    assert!(!out.status.success(), "{}", show(&out));
    let uv_err = stderr(&out);
    assert!(uv_err.contains("403") && uv_err.contains("say that bob requested it (request "), "{uv_err}");
    let out = venv.pip(&["install", "--index-url", &with_credentials(&gate.url, "alice", &alice), "demo-evil==6.6.6"]);
    assert!(!out.status.success() && stderr(&out).contains("Blocked by pipgate: deny-list"), "{}", show(&out));

    // Every audit record names its user; `pipgate audit --user` keeps only theirs.
    let audit = gate.audit();
    assert!(!audit.is_empty());
    for r in &audit {
        let ua = r["user_agent"].as_str().unwrap_or("");
        let want = if ua.starts_with("pip/") { "alice" } else { "bob" };
        assert_eq!(r["user"], want, "{r}");
    }
    let served = |records: &[serde_json::Value]| {
        records.iter().any(|r| r["decision"] == "serve" && r["project"] == "demo" && r["request"] == "file")
    };
    for (user, agent) in [("alice", "pip/"), ("bob", "uv/")] {
        let theirs = audit_cli(&gate, &["--user", user]);
        assert!(served(&theirs), "{user} installed demo: {theirs:?}");
        assert!(theirs.iter().any(|r| r["decision"] == "block"), "{user} was refused demo-evil: {theirs:?}");
        assert!(theirs.iter().all(|r| r["user"] == user && r["user_agent"].as_str().unwrap().starts_with(agent)));
    }
    assert!(audit_cli(&gate, &["--user", "carol"]).is_empty());
    let table = Command::new(env!("CARGO_BIN_EXE_pipgate"))
        .args(["audit", "--user", "bob", "--data-dir", gate.data_dir.to_str().unwrap()])
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&table.stdout);
    assert!(table.lines().next().unwrap().contains("USER") && table.contains(" bob "), "{table}");

    // The access log shows the user; no token ever reaches the log.
    let log = gate.log();
    assert!(log.contains("user=alice") && log.contains("user=bob"), "{log}");
    assert!(log.contains("reason=auth:required"), "{log}");
    assert!(!log.contains(&alice) && !log.contains(&bob), "a token in the log");
}

#[test]
fn a_plain_http_listener_on_the_network_refuses_to_start_with_users_unless_told_dangerously() {
    let idx = FakeIndex::start(Format::Json);
    let (_, hash) = add_user("alice");
    let dir = tempfile::tempdir().unwrap();
    let users = format!("auth:\n  users:\n    - {{ name: alice, token_hash: \"{hash}\" }}\n");
    let cases = [
        ("users on 0.0.0.0: refused", users.clone(), false),
        ("users on 0.0.0.0 with the dangerous switch", format!("{users}  dangerous_allow_plain_http: true\n"), true),
        ("no users on 0.0.0.0: nothing to protect", "deny: []\n".to_string(), true),
    ];
    for (case, policy, starts) in cases {
        let path = dir.path().join("policy.yaml");
        std::fs::write(&path, policy).unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_pipgate"))
            .args(["serve", "--listen", "0.0.0.0:0", "--upstream", &idx.url(), "--policy"])
            .arg(&path)
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufRead::read_line(&mut std::io::BufReader::new(child.stdout.take().unwrap()), &mut line).unwrap();
        let _ = child.kill();
        let out = child.wait_with_output().unwrap();
        assert_eq!(line.contains("listening on"), starts, "{case}: {line} {}", stderr(&out));
        if !starts {
            let err = stderr(&out);
            assert!(err.contains("refusing to serve index credentials over plain HTTP"), "{case}: {err}");
            assert!(err.contains("auth.dangerous_allow_plain_http"), "{case}: {err}");
        }
    }
}

#[test]
fn over_the_rate_limit_pip_and_uv_wait_for_retry_after_and_succeed() {
    let idx = FakeIndex::start(Format::Json);
    idx.add_dist("demo", wheel("demo", "1.0", &[], &[]));
    // One request per second, no burst: the requests of one install arrive faster than that.
    let gate = Pipgate::start(&idx.url(), Some("limits:\n  per_client: { requests_per_second: 1, burst: 1 }\n"));
    let refused = |gate: &Pipgate| gate.log().matches("status=429").count();

    let venv = Venv::new();
    let out = venv.pip(&["install", "--index-url", &gate.url, "demo"]);
    assert!(out.status.success(), "pip retries a 429 after Retry-After: {}", show(&out));
    assert_eq!(venv.run("import demo; print(demo.VERSION)"), "1.0");
    let after_pip = refused(&gate);
    assert!(after_pip > 0, "the limit was hit: {}", gate.log());

    let uv_venv = Venv::new();
    let out = uv_venv.uv_pip(&["install", "--index-url", &gate.url, "demo"]);
    assert!(out.status.success(), "uv retries a 429: {}", show(&out));
    assert!(refused(&gate) > after_pip, "the limit was hit by uv too: {}", gate.log());

    // Told not to retry, pip fails with the reason pipgate gave.
    std::thread::sleep(std::time::Duration::from_secs(2));
    let again = Venv::new();
    let dest = again.path().join("dl");
    let out = again.pip(&[
        "download",
        "--no-deps",
        "--retries",
        "0",
        "-d",
        dest.to_str().unwrap(),
        "--index-url",
        &gate.url,
        "demo",
    ]);
    assert!(!out.status.success(), "{}", show(&out));
    let err = stderr(&out);
    assert!(err.contains("429") && err.contains("pipgate: rate limit reached"), "{}", show(&out));
}

#[test]
fn pip_and_uv_find_the_token_in_netrc() {
    let idx = FakeIndex::start(Format::Json);
    idx.add_dist("demo", wheel("demo", "1.0", &[], &[]));
    let (token, hash) = add_user("carol");
    let gate = Pipgate::start(
        &idx.url(),
        Some(&format!("auth:\n  users:\n    - {{ name: carol, token_hash: \"{hash}\" }}\n")),
    );
    let venv = Venv::new();
    let netrc = venv.path().join("netrc");
    std::fs::write(&netrc, format!("machine 127.0.0.1 login carol password {token}\n")).unwrap();
    let python = venv.python();
    let python = python.to_str().unwrap();
    for (client, args) in [
        ("pip", vec!["-m", "pip", "--python", python, "install", "--index-url", &gate.url, "demo"]),
        ("uv", vec!["-m", "uv", "pip", "install", "--python", python, "--index-url", &gate.url, "demo", "--reinstall"]),
    ] {
        let mut cmd = Command::new("python3");
        cmd.args(args);
        isolated(&mut cmd, venv.path());
        let out = cmd.env("NETRC", &netrc).output().unwrap();
        assert!(out.status.success(), "{client}: {}", show(&out));
        assert_eq!(venv.run("import demo; print(demo.VERSION)"), "1.0", "{client}");
    }
    let audit = gate.audit();
    let agents: Vec<&str> = audit
        .iter()
        .filter(|r| r["user"] == "carol" && r["request"] == "file")
        .map(|r| r["user_agent"].as_str().unwrap().split('/').next().unwrap())
        .collect();
    assert!(agents.contains(&"pip") && agents.contains(&"uv"), "{audit:?}");
}

#[test]
fn hash_token_reads_the_token_from_stdin_and_matches_add_user() {
    use std::io::Write;
    let (token, hash) = add_user("dave");
    let mut child = Command::new(env!("CARGO_BIN_EXE_pipgate"))
        .args(["auth", "hash-token"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{token}").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", show(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), hash);
    let bad = Command::new(env!("CARGO_BIN_EXE_pipgate")).args(["auth", "add-user", "no:colons"]).output().unwrap();
    assert!(!bad.status.success() && stderr(&bad).contains("A-Z a-z 0-9"), "{}", show(&bad));
}

/// The README's HTTPS index with per-user tokens, step by step: `pipgate auth add-user alice`
/// (its `auth:` entry pasted into the policy as printed), `pipgate ca init && pipgate ca bundle
/// --out pipgate-bundle.pem` beside the policy, `pipgate serve --tls` (here `PIPGATE_TLS`), then
/// pip with `PIP_INDEX_URL` + `PIP_CERT` and uv with `UV_DEFAULT_INDEX` + `SSL_CERT_FILE`.
#[test]
fn readme_https_index_with_tokens_serves_pip_and_uv_and_the_audit_names_alice() {
    let idx = FakeIndex::start(Format::Json);
    idx.add_dist("demo", wheel("demo", "1.0", &[], &[]));
    idx.add_dist("demo-evil", wheel("demo-evil", "6.6.6", &[], &[]));
    let dir = tempfile::tempdir().unwrap();
    let cli = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_pipgate")).args(args).current_dir(dir.path()).output().unwrap();
        assert!(out.status.success(), "pipgate {args:?}: {}", show(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };

    // The entry exactly as `add-user` prints it, under a deny list.
    let printed = cli(&["auth", "add-user", "alice"]);
    let token = printed.lines().map(str::trim).find(|l| l.starts_with("pgt_")).expect("a token line").to_string();
    let entry: Vec<&str> = printed.lines().skip_while(|l| *l != "auth:").take_while(|l| !l.trim().is_empty()).collect();
    assert_eq!(entry.len(), 3, "auth:, users:, the entry: {printed}");
    let policy = dir.path().join("policy.yaml");
    std::fs::write(&policy, format!("deny: [\"demo-evil==6.6.6\"]\n{}\n", entry.join("\n"))).unwrap();
    cli(&["ca", "init"]);
    cli(&["ca", "bundle", "--out", "pipgate-bundle.pem"]);
    let bundle = dir.path().join("pipgate-bundle.pem");
    let bundle = bundle.to_str().unwrap();

    let gate = Pipgate::start_env(&idx.url(), &policy, &dir.path().join("data"), &[("PIPGATE_TLS", "true")]);
    assert!(gate.url.starts_with("https://127.0.0.1:"), "{}", gate.url);
    let index = gate.url.replacen("https://", &format!("https://alice:{token}@"), 1);

    // pip, as the README says.
    let venv = Venv::new();
    let pip_env = [("PIP_INDEX_URL", index.as_str()), ("PIP_CERT", bundle)];
    let out = venv.pip_env(&["install", "demo"], &pip_env);
    assert!(out.status.success(), "{}\n{}", show(&out), gate.log());
    assert_eq!(venv.run("import demo; print(demo.VERSION)"), "1.0");
    let out = venv.pip_env(&["install", "demo-evil==6.6.6"], &pip_env);
    assert!(
        !out.status.success() && stderr(&out).contains("403 Client Error: Blocked by pipgate: deny-list"),
        "{}",
        show(&out)
    );

    // uv, as the README says.
    let uv_venv = Venv::new();
    let uv_env = [("UV_DEFAULT_INDEX", index.as_str()), ("SSL_CERT_FILE", bundle)];
    let out = uv_venv.uv_pip_env(&["install", "demo"], &uv_env);
    assert!(out.status.success(), "{}\n{}", show(&out), gate.log());
    assert_eq!(uv_venv.run("import demo; print(demo.VERSION)"), "1.0");
    let out = uv_venv.uv_pip_env(&["install", "demo-evil==6.6.6"], &uv_env);
    assert!(!out.status.success(), "{}", show(&out));
    let uv_err = stderr(&out);
    assert!(uv_err.contains("403") && uv_err.contains("say that alice requested it (request "), "{uv_err}");

    // Over HTTPS but without credentials: refused (uv names the 401; pip finds nothing).
    let records = gate.audit().len();
    let fresh = Venv::new();
    let out = fresh.pip_env(&["install", "demo"], &[("PIP_INDEX_URL", gate.url.as_str()), ("PIP_CERT", bundle)]);
    assert!(!out.status.success(), "{}", show(&out));
    assert!(stderr(&out).contains("No matching distribution found for demo"), "{}", show(&out));
    let out =
        fresh.uv_pip_env(&["install", "demo"], &[("UV_DEFAULT_INDEX", gate.url.as_str()), ("SSL_CERT_FILE", bundle)]);
    assert!(!out.status.success(), "{}", show(&out));
    let uv_err = stderr(&out);
    assert!(uv_err.contains("lack of valid authentication credentials (401 Unauthorized)"), "{uv_err}");
    assert_eq!(gate.audit().len(), records, "nothing unauthenticated reached the gate");
    assert!(gate.log().contains("reason=auth:required"), "{}", gate.log());

    // Every audit record names alice: pip's and uv's served file and their refusals.
    let audit = gate.audit();
    for (agent, decision, project) in [
        ("pip/", "serve", "demo"),
        ("uv/", "serve", "demo"),
        ("pip/", "block", "demo-evil"),
        ("uv/", "block", "demo-evil"),
    ] {
        assert!(
            audit.iter().any(|r| r["user_agent"].as_str().unwrap_or("").starts_with(agent)
                && r["decision"] == decision
                && r["project"] == project),
            "{agent} {decision} {project}: {audit:?}"
        );
    }
    assert!(audit.iter().all(|r| r["user"] == "alice"), "{audit:?}");
    assert!(!gate.log().contains(&token), "the token never reaches the log");
}
