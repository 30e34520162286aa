//! End to end with real pip and real uv through a running pipgate and a fake upstream.

mod common;
use common::*;

fn demo_index(format: Format) -> FakeIndex {
    let idx = FakeIndex::start(format);
    idx.add_dist("demo-a", wheel("demo-a", "1.0", &[], &[]));
    idx.add_dist("demo-a", wheel("demo-a", "1.1", &["demo-b>=2"], &[]));
    idx.add_dist("demo-b", wheel("demo-b", "2.0", &[], &[]));
    idx.add_dist("demo-sdist", sdist("demo-sdist", "0.3", &[]));
    idx
}

#[test]
fn pip_installs_wheels_and_dependencies_through_pipgate_json_upstream() {
    let idx = demo_index(Format::Json);
    let gate = Pipgate::start(&idx.url(), None);
    let venv = Venv::new();
    let out = venv.pip(&["install", "--index-url", &gate.url, "demo-a"]);
    assert!(out.status.success(), "{}", show(&out));
    assert_eq!(venv.run("import demo_a, demo_b; print(demo_a.VERSION, demo_b.VERSION)"), "1.1 2.0");
    // Every artifact went through pipgate's gate and was audited.
    let audit = gate.audit();
    let served: Vec<&str> =
        audit.iter().filter(|r| r["request"] == "file").map(|r| r["filename"].as_str().unwrap()).collect();
    assert!(
        served.contains(&"demo_a-1.1-py3-none-any.whl") && served.contains(&"demo_b-2.0-py3-none-any.whl"),
        "{audit:?}"
    );
    assert!(audit.iter().all(|r| r["decision"] == "serve" && r["sha256"].as_str().unwrap().len() == 64));
}

#[test]
fn pip_installs_an_sdist_and_uses_metadata_from_an_html_upstream_with_absolute_urls() {
    let idx = demo_index(Format::Html);
    {
        let mut s = idx.state.lock().unwrap();
        s.absolute_urls = true;
        s.advertise_metadata = true;
    }
    let gate = Pipgate::start(&idx.url(), None);
    let venv = Venv::new();
    let out = venv.pip(&["install", "--index-url", &gate.url, "demo-sdist", "demo-a==1.0"]);
    assert!(out.status.success(), "{}", show(&out));
    assert_eq!(venv.run("import demo_sdist, demo_a; print(demo_sdist.VERSION, demo_a.VERSION)"), "0.3 1.0");
    // pip 23.2 used the advertised .metadata (served and verified through pipgate).
    let audit = gate.audit();
    assert!(
        audit.iter().any(|r| r["request"] == "metadata" && r["filename"] == "demo_a-1.0-py3-none-any.whl"),
        "{audit:?}"
    );
}

#[test]
fn pip_download_and_dry_run_report_resolve_through_pipgate() {
    let idx = demo_index(Format::Json);
    let gate = Pipgate::start(&idx.url(), None);
    let venv = Venv::new();
    let dl = venv.path().join("dl");
    let out = venv.pip(&["download", "--index-url", &gate.url, "-d", dl.to_str().unwrap(), "demo-a"]);
    assert!(out.status.success(), "{}", show(&out));
    let mut names: Vec<String> =
        std::fs::read_dir(&dl).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    names.sort();
    assert_eq!(names, ["demo_a-1.1-py3-none-any.whl", "demo_b-2.0-py3-none-any.whl"]);
    let report = venv.path().join("report.json");
    let out =
        venv.pip(&["install", "--dry-run", "--index-url", &gate.url, "--report", report.to_str().unwrap(), "demo-a"]);
    assert!(out.status.success(), "{}", show(&out));
    let r: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(report).unwrap()).unwrap();
    let mut got: Vec<String> = r["install"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| format!("{}=={}", i["metadata"]["name"].as_str().unwrap(), i["metadata"]["version"].as_str().unwrap()))
        .collect();
    got.sort();
    assert_eq!(got, ["demo-a==1.1", "demo-b==2.0"]);
    let url = r["install"][0]["download_info"]["url"].as_str().unwrap();
    assert!(url.starts_with(&gate.base()) && url.contains("/files/") && !url.contains('?'), "{url}");
}

#[test]
fn pip_require_hashes_then_cached_install_with_the_upstream_stopped() {
    let mut idx = demo_index(Format::Json);
    let gate = Pipgate::start(&idx.url(), None);
    let a = wheel("demo-a", "1.0", &[], &[]);
    let req = format!("demo-a==1.0 --hash=sha256:{}\n", sha256_hex(&a.bytes));
    let venv = Venv::new();
    let reqs = venv.path().join("requirements.txt");
    std::fs::write(&reqs, req).unwrap();
    let out = venv.pip(&["install", "--require-hashes", "--index-url", &gate.url, "-r", reqs.to_str().unwrap()]);
    assert!(out.status.success(), "{}", show(&out));

    idx.stop();
    let venv2 = Venv::new();
    let out = venv2.pip(&["install", "--require-hashes", "--index-url", &gate.url, "-r", reqs.to_str().unwrap()]);
    assert!(out.status.success(), "second install from cache failed:\n{}\n{}", show(&out), gate.log());
    assert_eq!(venv2.run("import demo_a; print(demo_a.VERSION)"), "1.0");
    assert!(gate.log().contains("serving the copy cached"), "pipgate should say it served a stale page");
}

#[test]
fn uv_pip_install_through_pipgate() {
    let idx = demo_index(Format::Json);
    let gate = Pipgate::start(&idx.url(), None);
    let venv = Venv::new();
    let out = venv.uv_pip(&["install", "--index-url", &gate.url, "demo-a", "demo-sdist"]);
    assert!(out.status.success(), "{}", show(&out));
    assert_eq!(
        venv.run("import demo_a, demo_b, demo_sdist; print(demo_a.VERSION, demo_b.VERSION, demo_sdist.VERSION)"),
        "1.1 2.0 0.3"
    );
}

#[test]
fn uv_lock_and_sync_a_project_then_sync_frozen_from_cache() {
    let mut idx = demo_index(Format::Html);
    let gate = Pipgate::start(&idx.url(), None);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("pyproject.toml"),
        "[project]\nname = \"app\"\nversion = \"0.1.0\"\nrequires-python = \">=3.8\"\ndependencies = [\"demo-a\"]\n",
    )
    .unwrap();
    let out = uv(dir.path(), &gate.url, &["lock", "--python", "python3"]);
    assert!(out.status.success(), "{}", show(&out));
    let lock = std::fs::read_to_string(dir.path().join("uv.lock")).unwrap();
    assert!(lock.contains("name = \"demo-b\"") && lock.contains(&format!("{}/files/", gate.base())), "{lock}");
    let out = uv(dir.path(), &gate.url, &["sync", "--python", "python3"]);
    assert!(out.status.success(), "{}", show(&out));

    // Lockfile URLs stay valid: a fresh sync (new cache, new venv) works with the upstream gone.
    idx.stop();
    std::fs::remove_dir_all(dir.path().join(".venv")).unwrap();
    std::fs::remove_dir_all(dir.path().join("uv-cache")).unwrap();
    let out = uv(dir.path(), &gate.url, &["sync", "--frozen", "--python", "python3"]);
    assert!(out.status.success(), "{}\n{}", show(&out), gate.log());
}
