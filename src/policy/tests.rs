//! Table-driven tests of the policy module: precedence, matching, expiry, cooldown,
//! failure mode, extends, error messages (snapshots), and the shipped YAML.

use super::report::check_report_with;
use super::*;
use crate::model::{ArtifactFacts, ArtifactKind, Decision, Evidence, FileRole, Finding, ReasonCode};
use time::macros::datetime;
use time::OffsetDateTime;

const KNOWN: &[&str] = &[
    "execution.startup-hijack",
    "anomaly.path-traversal",
    "network.downloads-file",
    "network.exfiltrates-env",
    "execution.install-hook",
    "execution.subprocess",
    "secrets.private-key",
    "obfuscation.base64-exec",
    "anomaly.unreadable-archive",
    "anomaly.limit-exceeded",
    "anomaly.archive-bomb",
    "anomaly.trailing-data",
    "vulnerability.known",
    "metadata.typosquat",
];

const NOW: OffsetDateTime = datetime!(2026-11-23 12:00 UTC);
const SHA: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

fn policy(yaml: &str) -> Policy {
    Policy::from_str_with_catalog("test.yaml", yaml, KNOWN).unwrap_or_else(|e| panic!("{e}"))
}

fn facts(project: &str, version: &str) -> ArtifactFacts {
    ArtifactFacts {
        project: project.to_string(),
        version: Some(version.to_string()),
        filename: format!("{project}-{version}-py3-none-any.whl"),
        sha256: SHA.to_string(),
        kind: ArtifactKind::Wheel,
        size: 1,
        upload_time: None,
        path: Default::default(),
        licence: None,
        new_in_version: None,
        established: None,
    }
}

fn sdist(project: &str, version: &str) -> ArtifactFacts {
    ArtifactFacts {
        kind: ArtifactKind::Sdist,
        filename: format!("{project}-{version}.tar.gz"),
        ..facts(project, version)
    }
}

fn finding(id: &str, severity: Severity, role: FileRole) -> Finding {
    let category = Category::ALL.into_iter().find(|c| id.starts_with(c.as_str())).unwrap();
    Finding {
        detector: id.to_string(),
        title: id.to_string(),
        category,
        severity,
        message: format!("{id} found"),
        evidence: vec![Evidence {
            path: "pkg/x.py".into(),
            line: Some(1),
            column: None,
            snippet: None,
            indicator: None,
            role,
            severity: None,
        }],
    }
}

fn f(id: &str, severity: Severity) -> Finding {
    finding(id, severity, FileRole::Runtime)
}

fn codes(v: &Verdict) -> Vec<String> {
    v.reasons.iter().map(|r| r.code.to_string()).collect()
}

use crate::model::{Category, Severity, Verdict};
use Severity::*;

const PRECEDENCE: &str = r#"
defaults:
  action: annotate
  severity: { critical: block, high: block, medium: annotate, low: allow }
  category: { metadata: allow }
rules:
  - id: allow-downloads-in-tools
    match: { detector: network.downloads-file, project: "tool-*" }
    action: allow
  - id: block-secrets
    match: { category: secrets }
    action: block
  - match: { detector: "network.*", severity: ">= medium" }
    action: annotate
allow: ["trusted-*"]
deny: ["evil", "badpkg==1.0"]
acceptances:
  - id: ACC-1
    owner: alice@example.org
    findings: [secrets.private-key]
    project: acme
    version: "==2.0"
    reason: test key
    ticket: https://tracker.example.org/SEC-1
    expires: 2027-01-01
"#;

#[test]
fn precedence_table() {
    let p = policy(PRECEDENCE);
    let cases: Vec<(&str, ArtifactFacts, Vec<Finding>, Decision, &str)> = vec![
        ("deny list beats everything", facts("evil", "1.0"), vec![], Decision::Block, "deny-list"),
        ("deny exact name==version", facts("badpkg", "1.0.0"), vec![], Decision::Block, "deny-list"),
        ("deny exact version only", facts("badpkg", "1.1"), vec![], Decision::Serve, "no-findings"),
        (
            "allow list beats rules",
            facts("trusted-lib", "1"),
            vec![f("secrets.private-key", Critical)],
            Decision::Serve,
            "allow-list",
        ),
        (
            "acceptance beats rule",
            facts("acme", "2.0"),
            vec![f("secrets.private-key", High)],
            Decision::Serve,
            "acceptance:ACC-1",
        ),
        (
            "acceptance scoped to version",
            facts("acme", "2.1"),
            vec![f("secrets.private-key", High)],
            Decision::Block,
            "rule:block-secrets",
        ),
        (
            "first matching rule wins",
            facts("tool-x", "1"),
            vec![f("network.downloads-file", High)],
            Decision::Serve,
            "rule:allow-downloads-in-tools",
        ),
        (
            "unnamed rule is rules[N]",
            facts("other", "1"),
            vec![f("network.downloads-file", High)],
            Decision::Annotate,
            "rule:rules[2]",
        ),
        (
            "category default beats severity",
            facts("other", "1"),
            vec![f("metadata.typosquat", Critical)],
            Decision::Serve,
            "default:category",
        ),
        (
            "severity default",
            facts("other", "1"),
            vec![f("execution.subprocess", High)],
            Decision::Block,
            "default:severity",
        ),
        (
            "global default",
            facts("other", "1"),
            vec![f("execution.subprocess", Info)],
            Decision::Annotate,
            "default:global",
        ),
        ("no findings", facts("other", "1"), vec![], Decision::Serve, "no-findings"),
    ];
    for (case, facts, findings, want, code) in cases {
        let v = p.evaluate(&facts, &findings, NOW);
        assert_eq!(v.decision, want, "{case}: {:?}", v.reasons);
        assert!(codes(&v).contains(&code.to_string()), "{case}: {:?}", codes(&v));
        assert_eq!(v.policy_digest, p.digest, "{case}");
    }
}

#[test]
fn strictest_finding_decides_and_every_contributor_is_listed() {
    let p = policy(PRECEDENCE);
    let findings =
        [f("execution.subprocess", Low), f("network.downloads-file", Medium), f("execution.subprocess", High)];
    let v = p.evaluate(&facts("other", "1"), &findings, NOW);
    assert_eq!(v.decision, Decision::Block);
    assert_eq!(codes(&v), ["default:severity", "rule:rules[2]", "default:severity"], "the blocking reason first");
    assert_eq!(v.reasons[0].message, "severity default for high: block");
    assert_eq!(v.reasons[0].findings, ["execution.subprocess"]);
    let v = p.evaluate(&facts("tool-a", "1"), &[f("network.downloads-file", High), f("secrets.private-key", Low)], NOW);
    assert_eq!(codes(&v), ["rule:block-secrets", "rule:allow-downloads-in-tools"]);
}

#[test]
fn matchers_table() {
    let yaml = r#"
defaults: { action: allow }
rules:
  - { id: det-glob, match: { detector: "obfuscation.*" }, action: block }
  - { id: proj-glob, match: { project: "Foo_*" }, action: block }
  - { id: spec, match: { project: ranged, version: ">=1.0,<2" }, action: block }
  - { id: kind, match: { kind: sdist, detector: execution.subprocess }, action: block }
  - { id: file, match: { filename: "*-cp3*-*.whl" }, action: block }
  - { id: role, match: { role: install-time }, action: block }
  - { id: import, match: { role: import-time, project: imports }, action: block }
  - { id: runtime, match: { role: runtime, project: runs }, action: block }
  - { id: sev-list, match: { severity: [low, medium], project: sevs }, action: block }
  - { id: sev-lt, match: { severity: "< medium", project: lows }, action: block }
  - { id: vuln, match: { vulnerability: { min_severity: high, exploited: true } }, action: block }
"#;
    let p = policy(yaml);
    let cp = ArtifactFacts { filename: "x-1-cp311-none-any.whl".into(), ..facts("x", "1") };
    // The advisories feed records exploitation as the `exploitation` evidence's indicator.
    let vuln = |severity, status: crate::model::Exploitation| {
        let mut v = f("vulnerability.known", severity);
        v.category = crate::model::Category::Vulnerability;
        v.evidence[0].path = crate::model::Exploitation::EVIDENCE_PATH.into();
        v.evidence[0].indicator = Some(status.as_str().into());
        v
    };
    use crate::model::Exploitation::{ExploitExists, ExploitedInTheWild, PatchingMandated};
    let exploited = vuln(High, ExploitedInTheWild);
    let cases: Vec<(&str, ArtifactFacts, Finding, Option<&str>)> = vec![
        ("detector glob", facts("x", "1"), f("obfuscation.base64-exec", Low), Some("det-glob")),
        ("project glob, normalised", facts("foo-bar", "1"), f("execution.subprocess", Low), Some("proj-glob")),
        ("in specifier", facts("ranged", "1.5"), f("execution.subprocess", Low), Some("spec")),
        ("out of specifier", facts("ranged", "2.0"), f("execution.subprocess", Low), None),
        ("pre-release excluded", facts("ranged", "2.0a1"), f("execution.subprocess", Low), None),
        ("kind sdist", sdist("x", "1"), f("execution.subprocess", Low), Some("kind")),
        ("kind wheel does not match", facts("x", "1"), f("execution.subprocess", Low), None),
        ("filename glob", cp, f("execution.subprocess", Low), Some("file")),
        ("role", facts("x", "1"), finding("execution.subprocess", Low, FileRole::InstallTime), Some("role")),
        (
            "import-time rule matches import-time evidence",
            facts("imports", "1"),
            finding("execution.subprocess", Low, FileRole::ImportTime),
            Some("import"),
        ),
        (
            "import-time rule does not match code inside functions",
            facts("imports", "1"),
            finding("execution.subprocess", Low, FileRole::Runtime),
            None,
        ),
        (
            "runtime rule also matches import-time evidence",
            facts("runs", "1"),
            finding("execution.subprocess", Low, FileRole::ImportTime),
            Some("runtime"),
        ),
        ("severity list", facts("sevs", "1"), f("execution.subprocess", Medium), Some("sev-list")),
        ("severity list miss", facts("sevs", "1"), f("execution.subprocess", High), None),
        ("severity below", facts("lows", "1"), f("execution.subprocess", Info), Some("sev-lt")),
        ("exploited vulnerability", facts("x", "1"), exploited, Some("vuln")),
        ("unexploited vulnerability", facts("x", "1"), f("vulnerability.known", High), None),
        ("patching mandated is exploited", facts("x", "1"), vuln(Critical, PatchingMandated), Some("vuln")),
        ("an exploit existing is not exploitation", facts("x", "1"), vuln(High, ExploitExists), None),
        ("exploited but below min_severity", facts("x", "1"), vuln(Medium, ExploitedInTheWild), None),
    ];
    for (case, facts, finding, want) in cases {
        let v = p.evaluate(&facts, &[finding], NOW);
        let want_code = want.map_or("default:global".to_string(), |r| format!("rule:{r}"));
        assert_eq!(codes(&v), [want_code], "{case}");
    }
}

const EXPIRING: &str = r#"
defaults: { severity: { high: block } }
acceptances:
  - id: ACC-DATE
    owner: bob
    findings: ["network.*"]
    project: dated
    reason: r
    ticket: T-1
    expires: 2026-12-01
  - id: ACC-TIME
    owner: bob
    findings: [network.downloads-file]
    sha256: AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
    reason: r
    ticket: T-2
    expires: "2026-11-23T14:30:00+01:00"
"#;

#[test]
fn acceptance_expiry_is_exact_to_the_minute() {
    let p = policy(EXPIRING);
    let cases = [
        ("date: day before", "dated", datetime!(2026-11-30 23:59 UTC), Decision::Serve, "acceptance:ACC-DATE"),
        (
            "date: midnight UTC",
            "dated",
            datetime!(2026-12-01 00:00 UTC),
            Decision::Block,
            "acceptance-expired:ACC-DATE",
        ),
        ("rfc3339: minute before", "other", datetime!(2026-11-23 13:29 UTC), Decision::Serve, "acceptance:ACC-TIME"),
        (
            "rfc3339: that minute",
            "other",
            datetime!(2026-11-23 13:30 UTC),
            Decision::Block,
            "acceptance-expired:ACC-TIME",
        ),
    ];
    for (case, project, now, want, code) in cases {
        let v = p.evaluate(&facts(project, "1"), &[f("network.downloads-file", High)], now);
        assert_eq!(v.decision, want, "{case}");
        assert!(codes(&v).contains(&code.to_string()), "{case}: {:?}", codes(&v));
    }
    let v = p.evaluate(&facts("dated", "1"), &[f("network.downloads-file", High)], datetime!(2026-12-02 00:00 UTC));
    let expired =
        v.reasons.iter().find(|r| r.code == ReasonCode::AcceptanceExpired("ACC-DATE".into())).expect("expired reason");
    assert!(expired.message.contains("acceptance ACC-DATE expired at 2026-12-01T00:00:00Z"), "{expired:?}");
    assert_eq!(v.reasons[0].code, ReasonCode::DefaultSeverity, "the blocking reason comes first");
    let ok = p.evaluate(&facts("dated", "1"), &[f("network.downloads-file", High)], NOW);
    assert_eq!(ok.acceptances, ["ACC-DATE"]);
}

#[test]
fn check_warns_about_expired_and_expiring_acceptances() {
    let p = policy(EXPIRING);
    let cases = [
        ("both far away", datetime!(2026-10-01 00:00 UTC), vec![]),
        ("one within 14 days", datetime!(2026-11-20 00:00 UTC), vec!["ACC-DATE expires", "ACC-TIME expires"]),
        ("one expired", datetime!(2026-11-24 00:00 UTC), vec!["ACC-DATE expires", "ACC-TIME expired"]),
    ];
    for (case, now, want) in cases {
        let got = p.acceptance_warnings(now, EXPIRY_WARNING_DAYS);
        assert_eq!(got.len(), want.len(), "{case}: {got:?}");
        for (g, w) in got.iter().zip(want) {
            assert!(g.contains(w), "{case}: {g}");
        }
    }
}

const COOLDOWN: &str = r#"
cooldown:
  min_age: 3d
  exempt: ["internal-*", "pinned==2.0"]
"#;

#[test]
fn cooldown_boundary_and_exemptions() {
    let p = policy(COOLDOWN);
    let strict = policy("cooldown: { min_age: 12h, missing_upload_time: hold }");
    type Case<'a> = (&'a str, &'a Policy, &'a str, &'a str, Option<&'a str>, Option<&'a str>);
    let cases: Vec<Case> = vec![
        ("one minute short", &p, "pkg", "1", Some("2026-11-20T12:01:00Z"), Some("2026-11-23T12:01:00Z")),
        ("exactly min_age", &p, "pkg", "1", Some("2026-11-20T12:00:00Z"), None),
        ("project exempt", &p, "internal-x", "1", Some("2026-11-23T11:00:00Z"), None),
        ("exact release exempt", &p, "pinned", "2.0.0", Some("2026-11-23T11:00:00Z"), None),
        ("other release not exempt", &p, "pinned", "2.1", Some("2026-11-23T11:00:00Z"), Some("2026-11-26T11:00:00Z")),
        ("missing upload-time allowed", &p, "pkg", "1", None, None),
        ("missing upload-time held", &strict, "pkg", "1", None, Some("")),
    ];
    for (case, pol, project, version, upload, want) in cases {
        let gate = pol.release_gate(project, version, upload, NOW);
        let mut fa = facts(project, version);
        fa.upload_time = upload.map(str::to_string);
        let v = pol.evaluate(&fa, &[], NOW);
        match want {
            Some(at) => {
                let g = gate.unwrap_or_else(|| panic!("{case}: not held"));
                assert_eq!(g.decision, Decision::Block, "{case}");
                assert_eq!(g.available_at.as_deref().unwrap_or(""), at, "{case}");
                assert_eq!(v.decision, Decision::Block, "{case}");
                assert_eq!(codes(&v), ["cooldown"], "{case}");
                if !at.is_empty() {
                    assert!(v.reasons[0].message.contains(&format!("available from {at}")), "{case}");
                }
            }
            None => {
                assert!(gate.is_none(), "{case}: {gate:?}");
                assert_eq!(v.decision, Decision::Serve, "{case}");
            }
        }
    }
    let v = p.evaluate(&facts("pkg", "1"), &[], NOW);
    assert_eq!(codes(&v), ["cooldown:no-upload-time"]);
    assert!(v.reasons[0].message.contains("age is unknown"));
}

#[test]
fn release_gate_blocks_deny_listed_releases_before_download() {
    let p = policy("deny: [\"evil-*\", \"pkg==1.0\"]\nindex: yank");
    let cases =
        [("glob", "Evil_Thing", "3", true), ("exact", "pkg", "1.0", true), ("other version", "pkg", "1.1", false)];
    for (case, project, version, blocked) in cases {
        let g = p.release_gate(project, version, None, NOW);
        assert_eq!(g.is_some(), blocked, "{case}");
        if let Some(v) = g {
            assert_eq!((v.decision, v.index, codes(&v)), (Decision::Block, IndexMode::Yank, vec!["deny-list".into()]));
        }
    }
}

#[test]
fn fail_closed_unless_dangerous_fail_open() {
    let closed = policy("allow: [\"*\"]\nrules: [{ match: { detector: anomaly.unreadable-archive }, action: allow }]");
    let open = policy("dangerous_fail_open: true\ndefaults: { action: allow }");
    let broken = [f("anomaly.unreadable-archive", Info)];
    let cases = [
        ("scan error, closed, even with allow list and allow rule", &closed, Decision::Block, "fail-closed:scan-error"),
        ("scan error, dangerously open", &open, Decision::Annotate, "fail-open:scan-error"),
    ];
    for (case, p, want, code) in cases {
        let v = p.evaluate(&facts("x", "1"), &broken, NOW);
        assert_eq!((v.decision, codes(&v)[0].as_str()), (want, code), "{case}");
        let v = p.evaluate_failure(&facts("x", "1"), "hash-mismatch", None, NOW);
        let code = code.replace("scan-error", "hash-mismatch");
        assert_eq!((v.decision, codes(&v)), (want, vec![code]), "{case}: failure");
    }
    assert!(!closed.is_dangerously_fail_open());
    let err = Policy::from_str_with_catalog("p.yaml", "rulez: []", KNOWN).unwrap_err();
    let v = Policy::policy_error_verdict(&facts("x", "1"), &err);
    assert_eq!((v.decision, codes(&v)), (Decision::Block, vec!["fail-closed:policy".to_string()]));
    assert!(open.check_text(NOW, 14).contains("dangerous_fail_open is true"));
}

#[test]
fn sdist_install_hooks_raise_to_at_least_the_setting() {
    let p = policy(
        r#"
defaults: { action: allow }
sdists: { install_hooks: block }
acceptances:
  - { id: OK, owner: o, findings: [execution.install-hook], project: ok, reason: r, ticket: t, expires: 2030-01-01 }
"#,
    );
    let hook = [f("execution.install-hook", Low)];
    let cases = [
        ("sdist with hook", sdist("x", "1"), Decision::Block, "sdists:install_hooks"),
        ("wheel with hook", facts("x", "1"), Decision::Serve, "default:global"),
        ("accepted sdist", sdist("ok", "1"), Decision::Serve, "acceptance:OK"),
    ];
    for (case, fa, want, code) in cases {
        let v = p.evaluate(&fa, &hook, NOW);
        assert_eq!((v.decision, codes(&v)), (want, vec![code.to_string()]), "{case}");
    }
}

#[test]
fn index_mode_per_rule_and_global() {
    let p = policy(
        r#"
index: yank
rules:
  - { id: hide-me, match: { project: hidden }, action: block, index: hide }
  - { id: yank-me, match: { project: yanked }, action: block }
"#,
    );
    for (case, project, want) in
        [("rule says hide", "hidden", IndexMode::Hide), ("global yank", "yanked", IndexMode::Yank)]
    {
        let v = p.evaluate(&facts(project, "1"), &[f("execution.subprocess", Low)], NOW);
        assert_eq!((v.decision, v.index), (Decision::Block, want), "{case}");
    }
    assert_eq!(Policy::default().index_mode(), IndexMode::Hide);
}

#[test]
fn settings_upstream_and_listen() {
    let cases = [
        ("string", "upstream: https://index.example.org/simple/", Some("https://index.example.org/simple/"), None),
        (
            "table",
            "upstream: { url: \"https://index.example.org/simple/\" }\nlisten: 127.0.0.1:3141",
            Some("https://index.example.org/simple/"),
            Some("127.0.0.1:3141"),
        ),
        ("unset", "", None, None),
    ];
    for (case, yaml, upstream, listen) in cases {
        let p = policy(yaml);
        assert_eq!(p.settings.upstream.as_deref(), upstream, "{case}");
        assert_eq!(p.settings.listen.as_deref(), listen, "{case}");
    }
}

#[test]
fn acceptance_snippet_serves_exactly_that_version() {
    let base = "defaults: { severity: { high: block } }\nacceptances:\n";
    let blocked = facts("acme", "1.4.0");
    let findings = [f("network.downloads-file", High), f("secrets.private-key", High)];
    let p = policy(base);
    assert_eq!(p.evaluate(&blocked, &findings, NOW).decision, Decision::Block);
    let snippet = p.acceptance_snippet(&blocked, &findings, NOW);
    insta::assert_snapshot!("acceptance_snippet", snippet);
    let accepted = policy(&format!("{base}{snippet}"));
    let v = accepted.evaluate(&blocked, &findings, NOW);
    assert_eq!(v.decision, Decision::Serve, "{:?}", v.reasons);
    let next = ArtifactFacts { sha256: "b".repeat(64), ..facts("acme", "1.4.1") };
    assert_eq!(accepted.evaluate(&next, &findings, NOW).decision, Decision::Block);
    let later = NOW + time::Duration::days(31);
    assert_eq!(accepted.evaluate(&blocked, &findings, later).decision, Decision::Block);
}

/// Where a snippet goes in a policy file: acceptances at the end (the shipped file ends
/// with `acceptances:`), a cooldown exemption under `cooldown:` → `exempt:`.
fn paste(policy_text: &str, snippet: &str) -> String {
    match policy_text.split_once("\n  exempt:\n") {
        Some((head, tail)) if snippet.contains("`exempt:`") => format!("{head}\n  exempt:\n{snippet}{tail}"),
        _ => format!("{policy_text}{snippet}"),
    }
}

#[test]
fn accept_proposes_the_narrowest_scope_and_it_always_passes_check_and_clears_the_block() {
    let shipped = std::fs::read_to_string(repo_file("policy.yaml")).unwrap();
    let catalog = crate::scan::catalog();
    let known: Vec<&str> = catalog.iter().map(|m| m.id).collect();
    let held = ArtifactFacts { upload_time: Some("2026-11-23T10:00:00Z".into()), ..facts("acme", "2.0") };
    let squat = finding("metadata.typosquat", High, FileRole::Metadata);
    let net = finding("network.downloads-file", High, FileRole::InstallTime);
    let other_file = ArtifactFacts { sha256: "c".repeat(64), ..facts("acme", "1.9") };
    // (case, facts, findings, the snippet says, still blocked elsewhere: (facts, findings))
    type Case<'a> = (&'a str, ArtifactFacts, Vec<Finding>, &'a [&'a str], Option<(ArtifactFacts, Vec<Finding>)>);
    let cases: Vec<Case> = vec![
        (
            "behaviour in one file: ==version and sha256",
            facts("acme", "1.4.0"),
            vec![net.clone(), finding("execution.install-hook", Medium, FileRole::InstallTime)],
            &["version: \"==1.4.0\"", "sha256:", "findings: [\"network.downloads-file\"]"],
            Some((other_file.clone(), vec![net.clone()])),
        ),
        (
            "name-level: project-wide",
            facts("acme", "1.4.0"),
            vec![squat.clone()],
            &["findings: [\"metadata.typosquat\"]", "project: \"acme\""],
            None,
        ),
        (
            "name and behaviour: one acceptance each",
            facts("acme", "1.4.0"),
            vec![squat.clone(), net.clone()],
            &["accept-acme-name", "accept-acme-1.4.0-"],
            Some((other_file, vec![net])),
        ),
        ("cooldown hold: a cooldown.exempt entry", held, vec![], &["- \"acme==2.0\""], None),
    ];
    for (case, facts, found, says, elsewhere) in cases {
        let p = Policy::from_str_with_catalog("policy.yaml", &shipped, &known).unwrap();
        assert_eq!(p.evaluate(&facts, &found, NOW).decision, Decision::Block, "{case}: blocked before");
        let snippet = p.acceptance_snippet(&facts, &found, NOW);
        for s in says {
            assert!(snippet.contains(s), "{case}: {s:?} not in\n{snippet}");
        }
        let text = paste(&shipped, &snippet);
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("policy.yaml");
        std::fs::write(&file, &text).unwrap();
        let (report, code) = check_report_with(&file, &known, NOW, EXPIRY_WARNING_DAYS);
        assert_eq!(code, 0, "{case}: policy check rejects the snippet:\n{report}\n{snippet}");
        let accepted = Policy::load_with_catalog(&file, &known).unwrap();
        let v = accepted.evaluate(&facts, &found, NOW);
        assert_ne!(v.decision, Decision::Block, "{case}: still blocked: {:?}", v.reasons);
        if let Some((other, other_found)) = elsewhere {
            let v = accepted.evaluate(&other, &other_found, NOW);
            assert_eq!(v.decision, Decision::Block, "{case}: the acceptance is wider than the finding");
        }
        if case.starts_with("name-level") {
            let v = accepted.evaluate(&other_file_named("acme"), std::slice::from_ref(&squat), NOW);
            assert_ne!(v.decision, Decision::Block, "{case}: every release of the project is covered");
        }
    }
}

fn other_file_named(project: &str) -> ArtifactFacts {
    ArtifactFacts { sha256: "d".repeat(64), ..facts(project, "0.1") }
}

#[test]
fn accept_says_when_no_acceptance_can_help() {
    let cases = [
        ("deny list", "deny: [\"acme\"]\n", vec![], "deny list"),
        ("nothing blocks", "", vec![f("execution.subprocess", Low)], "nothing to accept"),
    ];
    for (case, yaml, found, says) in cases {
        let p = policy(yaml);
        let snippet = p.acceptance_snippet(&facts("acme", "1.0"), &found, NOW);
        assert!(snippet.trim_start().starts_with('#') && snippet.contains(says), "{case}: {snippet}");
        assert!(policy(&format!("{yaml}acceptances:\n{snippet}")).acceptances.is_empty(), "{case}");
    }
}

#[test]
fn explain_lists_verdict_and_contributors() {
    let p = policy(PRECEDENCE);
    let text =
        p.explain(&facts("acme", "2.0"), &[f("secrets.private-key", High), f("execution.subprocess", High)], NOW);
    let text = text.replace(&p.digest, "<digest>");
    insta::assert_snapshot!("explain", text);
}

/// Error text for a bad policy, with the file name fixed.
fn error_text(yaml: &str) -> String {
    match Policy::from_str_with_catalog("team.yaml", yaml, KNOWN) {
        Ok(_) => panic!("expected an error for {yaml}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn error_messages_name_file_path_and_line() {
    let cases = [
        ("unknown_top_key", "defaults: {}\nrulez: []\n"),
        ("unknown_match_key", "rules:\n  - id: a\n    match:\n      sevrity: high\n    action: block\n"),
        ("bad_action", "rules:\n  - match: { category: network }\n    action: blok\n"),
        ("unknown_detector", "rules:\n  - id: a\n    action: block\n  - id: b\n    match:\n      detector: network.download-file\n    action: block\n"),
        ("glob_matches_nothing", "rules:\n  - match:\n      detector: [\"network.*\", \"nope.*\"]\n    action: block\n"),
        ("bad_severity", "rules:\n  - match:\n      severity: \">= hgh\"\n    action: block\n"),
        ("bad_version", "rules:\n  - match:\n      version: \"=>1.0\"\n    action: block\n"),
        ("bad_acceptance", "acceptances:\n  - id: A\n    owner: \"\"\n    findings: [network.downloads-file]\n    reason: r\n    ticket: t\n    expires: tomorrow\n"),
        ("bad_duration_and_list", "cooldown:\n  min_age: 3 fortnights\ndeny:\n  - \"pkg==>1\"\n"),
        ("duplicate_ids", "rules:\n  - { id: x, action: block }\n  - { id: x, action: allow }\n"),
        ("bad_listen", "listen: localhost\n"),
        ("rule_not_a_mapping", "rules:\n  - block\n"),
        ("unknown_category_in_list", "rules:\n  - match:\n      category: [network, netwrk]\n    action: block\n"),
        ("unknown_role", "rules:\n  - match: { role: install }\n    action: block\n"),
        ("unquoted_version", "acceptances:\n  - id: A\n    owner: o\n    findings: network.*\n    project: p\n    version: 1.0\n    reason: r\n    ticket: t\n    expires: 2027-01-01\n"),
        ("bad_upstream", "upstream: { uri: \"https://index.example.org/simple/\" }\n"),
        ("upstream_not_http", "upstream: \"ftp://index.example.org/simple/\"\n"),
        ("new_in_version_not_a_bool", "rules:\n  - match:\n      new_in_version: sometimes\n    action: block\n"),
        ("established_unsafe", "established:\n  baseline_age: 0\n  min_history: 10d\n  min_releases: 1\n  action: block\n"),
        ("established_unknown_key", "established:\n  baseline_age: 30d\n  min_age: 1d\n"),
    ];
    for (name, yaml) in cases {
        insta::assert_snapshot!(name, error_text(yaml));
    }
}

#[test]
fn empty_catalog_skips_id_checks_with_a_warning() {
    let p =
        Policy::from_str_with_catalog("p.yaml", "rules: [{ match: { detector: future.thing }, action: block }]", &[])
            .unwrap();
    assert!(p.check_text(NOW, 14).contains("detector catalog unavailable"));
}

fn write(dir: &std::path::Path, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn extends_merges_base_first_and_team_scalars_win() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "org.yaml",
        "index: yank\nlisten: 127.0.0.1:1\ndefaults: { action: block, severity: { high: block, low: allow } }\nrules:\n  - { id: org-secrets, match: { category: secrets }, action: block }\ndeny: [evil]\n",
    );
    let team = write(
        dir.path(),
        "team.yaml",
        "extends: org.yaml\nlisten: 127.0.0.1:2\ndefaults: { severity: { low: annotate } }\nrules:\n  - { match: { category: secrets }, action: allow }\n  - { match: { category: network }, action: allow }\ndeny: [worse]\n",
    );
    let p = Policy::load_with_catalog(&team, KNOWN).unwrap_or_else(|e| panic!("{e}"));
    let cases = [
        ("base rule first", facts("x", "1"), f("secrets.private-key", Low), Decision::Block, "rule:org-secrets"),
        ("team rule appended", facts("x", "1"), f("network.downloads-file", High), Decision::Serve, "rule:rules[1]"),
        ("team map key wins", facts("x", "1"), f("execution.subprocess", Low), Decision::Annotate, "default:severity"),
        ("base map key kept", facts("x", "1"), f("execution.subprocess", High), Decision::Block, "default:severity"),
        ("base scalar kept", facts("x", "1"), f("execution.subprocess", Medium), Decision::Block, "default:global"),
        ("lists concatenate (base)", facts("evil", "1"), f("execution.subprocess", Low), Decision::Block, "deny-list"),
        ("lists concatenate (team)", facts("worse", "1"), f("execution.subprocess", Low), Decision::Block, "deny-list"),
    ];
    for (case, fa, finding, want, code) in cases {
        let v = p.evaluate(&fa, &[finding], NOW);
        assert_eq!((v.decision, codes(&v)), (want, vec![code.to_string()]), "{case}");
    }
    assert_eq!(p.settings.listen.as_deref(), Some("127.0.0.1:2"));
    assert_eq!(p.index_mode(), IndexMode::Yank);
    assert_eq!(p.sources.len(), 2);
    let alone = Policy::load_with_catalog(&dir.path().join("org.yaml"), KNOWN).unwrap();
    assert_ne!(alone.digest, p.digest);
}

#[test]
fn extends_reports_cycles_and_base_errors() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.yaml", "extends: b.yaml\n");
    write(dir.path(), "b.yaml", "extends: a.yaml\n");
    let bad_base = write(dir.path(), "c.yaml", "# team\nextends: d.yaml\n");
    write(dir.path(), "d.yaml", "rules:\n  - action: nope\n");
    let self_loop = write(dir.path(), "e.yaml", "extends: ./e.yaml\n");
    write(dir.path(), "f.yaml", "rules:\n  - { action: block }\n  - { id: shared, action: block }\n");
    let dup = write(
        dir.path(),
        "g.yaml",
        "extends: f.yaml\nrules:\n  - { action: allow }\n  - id: shared\n    action: allow\n",
    );
    let dir_text = dir.path().canonicalize().unwrap().display().to_string();
    let raw_dir = dir.path().display().to_string();
    let clean = |e: PolicyError| e.to_string().replace(&dir_text, "DIR").replace(&raw_dir, "DIR");
    let cycle = clean(Policy::load_with_catalog(&dir.path().join("a.yaml"), KNOWN).unwrap_err());
    insta::assert_snapshot!("extends_cycle", cycle);
    insta::assert_snapshot!("extends_bad_base", clean(Policy::load_with_catalog(&bad_base, KNOWN).unwrap_err()));
    assert!(clean(Policy::load_with_catalog(&self_loop, KNOWN).unwrap_err()).contains("cycle"));
    insta::assert_snapshot!("extends_duplicate_id", clean(Policy::load_with_catalog(&dup, KNOWN).unwrap_err()));
}

#[test]
fn check_report_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let good = write(dir.path(), "good.yaml", EXPIRING);
    let bad = write(dir.path(), "bad.yaml", "rulez: []\n");
    let (text, code) = check_report_with(&good, KNOWN, datetime!(2026-11-24 00:00 UTC), 14);
    assert_eq!(code, 0, "{text}");
    assert!(text.starts_with("policy OK") && text.contains("warning: acceptance ACC-TIME expired"), "{text}");
    let (text, code) = check_report_with(&bad, KNOWN, NOW, 14);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("rulez"), "{text}");
}

fn repo_file(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(name)
}

#[test]
fn shipped_policy_is_valid_and_sensible() {
    let p = Policy::load(&repo_file("policy.yaml")).unwrap_or_else(|e| panic!("{e}"));
    assert!(p.settings.upstream.is_none(), "the default policy must leave upstream unset");
    assert!(!p.is_dangerously_fail_open());
    let mut young = facts("pkg", "1");
    young.upload_time = Some("2026-11-22T12:00:00Z".into());
    let cases = [
        ("critical blocked", facts("pkg", "1"), f("execution.subprocess", Critical), Decision::Block),
        (
            "install-time high blocked",
            facts("pkg", "1"),
            finding("execution.subprocess", High, FileRole::InstallTime),
            Decision::Block,
        ),
        ("obfuscation high blocked", facts("pkg", "1"), f("obfuscation.base64-exec", High), Decision::Block),
        ("real secret blocked", facts("pkg", "1"), f("secrets.private-key", High), Decision::Block),
        (
            "test secret annotated",
            facts("pkg", "1"),
            finding("secrets.private-key", High, FileRole::TestOrDocs),
            Decision::Annotate,
        ),
        ("medium annotated", facts("pkg", "1"), f("execution.subprocess", Medium), Decision::Annotate),
        ("low allowed", facts("pkg", "1"), f("execution.subprocess", Low), Decision::Serve),
        ("plain sdist install hook annotated", sdist("pkg", "1"), f("execution.install-hook", Low), Decision::Annotate),
        (
            "sdist install hook that downloads blocked",
            sdist("pkg", "1"),
            finding("execution.install-hook", Critical, FileRole::InstallTime),
            Decision::Block,
        ),
        (
            "credential theft in library code blocked",
            facts("pkg", "1"),
            finding("file-system.credential-access", High, FileRole::Runtime),
            Decision::Block,
        ),
        (
            "high execution at import time blocked",
            facts("pkg", "1"),
            finding("execution.subprocess", High, FileRole::ImportTime),
            Decision::Block,
        ),
        (
            "high file-system behaviour at import time blocked",
            facts("pkg", "1"),
            finding("file-system.persistence", High, FileRole::ImportTime),
            Decision::Block,
        ),
        (
            "high execution inside library functions annotated",
            facts("pkg", "1"),
            finding("execution.subprocess", High, FileRole::Runtime),
            Decision::Annotate,
        ),
        (
            "medium execution at import time annotated",
            facts("pkg", "1"),
            finding("execution.subprocess", Medium, FileRole::ImportTime),
            Decision::Annotate,
        ),
        (
            "persistence inside a library function (a CLI's install-the-service command) annotated",
            facts("pkg", "1"),
            finding("file-system.persistence", High, FileRole::Runtime),
            Decision::Annotate,
        ),
        (
            "persistence at install time blocked",
            facts("pkg", "1"),
            finding("file-system.persistence", High, FileRole::InstallTime),
            Decision::Block,
        ),
        (
            "typosquat of a top project blocked",
            facts("reqeusts", "1"),
            finding("metadata.typosquat", High, FileRole::Metadata),
            Decision::Block,
        ),
        (
            "credential path in tests annotated",
            facts("pkg", "1"),
            finding("file-system.credential-access", Medium, FileRole::TestOrDocs),
            Decision::Annotate,
        ),
        ("scan error blocked", facts("pkg", "1"), f("anomaly.unreadable-archive", Info), Decision::Block),
        ("young release held", young, f("execution.subprocess", Info), Decision::Block),
    ];
    for (case, fa, finding, want) in cases {
        let v = p.evaluate(&fa, &[finding], NOW);
        assert_eq!(v.decision, want, "{case}: {:?}", v.reasons);
    }
}

/// Every fenced ```yaml block in docs/policy.md must load (blocks marked
/// `# invalid:` must fail and say so).
#[test]
fn docs_yaml_examples_are_valid() {
    let docs = std::fs::read_to_string(repo_file("docs/policy.md")).unwrap();
    let mut blocks = 0;
    let mut rest = docs.as_str();
    while let Some(start) = rest.find("```yaml\n") {
        let body = &rest[start + 8..];
        let end = body.find("```").expect("unclosed yaml block");
        let yaml = &body[..end];
        blocks += 1;
        let loaded = Policy::from_str_with_catalog("docs.yaml", yaml, KNOWN);
        if yaml.starts_with("# invalid:") {
            assert!(loaded.is_err(), "docs block {blocks} should be invalid:\n{yaml}");
        } else if yaml.contains("extends:") {
            let without: String = yaml.lines().filter(|l| !l.starts_with("extends:")).collect::<Vec<_>>().join("\n");
            Policy::from_str_with_catalog("docs.yaml", &without, KNOWN)
                .unwrap_or_else(|e| panic!("docs block {blocks}: {e}\n{yaml}"));
        } else {
            loaded.unwrap_or_else(|e| panic!("docs block {blocks}: {e}\n{yaml}"));
        }
        rest = &body[end + 3..];
    }
    assert!(blocks >= 5, "expected several yaml examples in docs/policy.md, found {blocks}");
}

#[test]
fn policy_is_send_sync_clone_and_cheap_to_share() {
    fn check<T: Send + Sync + Clone + 'static>() {}
    check::<Policy>();
}

#[test]
fn edge_documents() {
    let cases = [
        ("comments only", "# nothing\n", true),
        ("empty map", "{}\n", true),
        ("document marker", "---\nindex: yank\n", true),
        ("a list is not a policy", "- rules\n", false),
        ("syntax error", "rules: [\n", false),
    ];
    for (case, yaml, ok) in cases {
        let got = Policy::from_str_with_catalog("p.yaml", yaml, KNOWN);
        assert_eq!(got.is_ok(), ok, "{case}: {:?}", got.err().map(|e| e.to_string()));
    }
    let err = Policy::from_str_with_catalog("p.yaml", "index: yank\nrules: [\n", KNOWN).unwrap_err();
    assert!(err.problems[0].line.is_some(), "{err}");
}

#[test]
fn shipped_policy_loads_with_the_crate_catalog_and_locates_errors() {
    let path = repo_file("policy.yaml");
    Policy::load(&path).unwrap_or_else(|e| panic!("{e}"));
    let text = std::fs::read_to_string(&path).unwrap();
    let cases = [
        ("cooldown duration", "min_age: 3d", "min_age: 3 fortnights", "cooldown.min_age"),
        (
            "rule severity in flow map",
            "severity: \">= high\" }\n    action: block\n\n  - id: exfil",
            "severity: \">= hgh\" }\n    action: block\n\n  - id: exfil",
            "rules[2].match.severity",
        ),
        ("acceptance expiry", "expires: 2027-06-30", "expires: soon", "acceptances[0].expires"),
    ];
    for (case, from, to, yaml_path) in cases {
        assert!(text.contains(from), "{case}: policy.yaml changed");
        let broken = text.replacen(from, to, 1);
        let real: Vec<&str> = crate::scan::catalog().iter().map(|m| m.id).collect();
        let err = Policy::from_str_with_catalog("policy.yaml", &broken, &real).unwrap_err();
        let want_line = broken.lines().position(|l| l.contains(to.lines().next().unwrap())).unwrap() + 1;
        let p = &err.problems[0];
        assert_eq!((p.yaml_path.as_str(), p.line), (yaml_path, Some(want_line)), "{case}: {err}");
    }
}

#[test]
fn scan_limits_override_defaults_key_by_key_and_reject_nonsense() {
    let p = policy("scan_limits:\n  max_text_bytes: 1048576\n  max_nesting: 2\n");
    let l = &p.settings.scan_limits;
    let d = crate::scan::Limits::default();
    assert_eq!((l.max_text_bytes, l.max_nesting), (1 << 20, 2));
    assert_eq!((l.max_total_bytes, l.max_members, l.max_ratio), (d.max_total_bytes, d.max_members, d.max_ratio));
    let cases = [
        ("zero size", "scan_limits: { max_total_bytes: 0 }\n", "scan_limits.max_total_bytes"),
        ("too deep", "scan_limits:\n  max_nesting: 9\n", "scan_limits.max_nesting"),
        ("unknown key", "scan_limits:\n  max_files: 9\n", "scan_limits"),
    ];
    for (case, yaml, path) in cases {
        let err = Policy::from_str_with_catalog("p.yaml", yaml, KNOWN).unwrap_err();
        assert!(err.to_string().contains(path), "{case}: {err}");
    }
}

/// A finding the walker reports when it stops short, with its detail as the walker words it.
fn stop(id: &str, severity: Severity, detail: &str) -> Finding {
    let mut f = finding(id, severity, FileRole::Other);
    f.evidence[0].path = "demo-1.0/setup.py".into();
    f.evidence[0].snippet = Some(detail.into());
    f
}

#[test]
fn an_incomplete_scan_fails_closed_unless_a_rule_names_it() {
    let limit = || {
        stop(
            "anomaly.limit-exceeded",
            Medium,
            "more than 100000 members (max_members); this one and those after it were not scanned",
        )
    };
    let bomb = || {
        stop(
            "anomaly.archive-bomb",
            High,
            "stream inflates more than 200:1 (max_ratio; stopped after 1 bytes); the rest were not scanned",
        )
    };
    let hook = || f("execution.install-hook", Medium);
    // (case, policy, findings, decision, first reason code, text the first message must contain)
    type Case = (&'static str, &'static str, Vec<Finding>, Decision, &'static str, &'static str);
    let cases: Vec<Case> = vec![
        ("member limit, defaults annotate medium", "defaults: { severity: { medium: annotate, high: annotate } }\n",
            vec![limit(), hook()], Decision::Block, "fail-closed:scan-incomplete", "max_members"),
        ("bomb, defaults annotate high", "defaults: { severity: { high: annotate } }\n",
            vec![bomb()], Decision::Block, "fail-closed:scan-incomplete", "max_ratio"),
        ("a category rule is not explicit", "rules:\n  - match: { category: anomaly }\n    action: allow\n",
            vec![limit()], Decision::Block, "fail-closed:scan-incomplete", "anomaly.limit-exceeded"),
        ("a severity rule is not explicit", "rules:\n  - match: { severity: medium }\n    action: annotate\n",
            vec![limit()], Decision::Block, "fail-closed:scan-incomplete", "max_members"),
        ("the allow list does not override it", "allow: [demo]\n",
            vec![limit()], Decision::Block, "fail-closed:scan-incomplete", "max_members"),
        ("a rule naming the detector annotates", "rules:\n  - match: { detector: anomaly.limit-exceeded }\n    action: annotate\n",
            vec![limit()], Decision::Annotate, "rule:rules[0]", "annotate"),
        ("a glob naming the detectors allows", "rules:\n  - match: { detector: \"anomaly.*\" }\n    action: allow\n",
            vec![limit(), bomb()], Decision::Serve, "rule:rules[0]", "allow"),
        ("naming one of two is not enough", "rules:\n  - match: { detector: anomaly.limit-exceeded }\n    action: annotate\n",
            vec![limit(), bomb()], Decision::Block, "fail-closed:scan-incomplete", "anomaly.archive-bomb"),
        ("a rule naming it with block blocks", "rules:\n  - id: no-bombs\n    match: { detector: anomaly.archive-bomb }\n    action: block\n",
            vec![bomb()], Decision::Block, "fail-closed:scan-incomplete", "max_ratio"),
        ("an acceptance covers it",
            "acceptances:\n  - id: BIG-1\n    owner: o\n    findings: [anomaly.limit-exceeded]\n    project: demo\n    reason: r\n    ticket: T\n    expires: 2027-01-01\n",
            vec![limit()], Decision::Serve, "acceptance:BIG-1", "accepted"),
        ("an expired acceptance does not", "acceptances:\n  - id: BIG-0\n    owner: o\n    findings: [anomaly.limit-exceeded]\n    project: demo\n    reason: r\n    ticket: T\n    expires: 2026-01-01\n",
            vec![limit()], Decision::Block, "fail-closed:scan-incomplete", "max_members"),
        ("dangerous_fail_open annotates and says so", "dangerous_fail_open: true\n",
            vec![limit()], Decision::Annotate, "fail-open:scan-incomplete", "dangerous_fail_open"),
        ("a complete scan is weighed as before", "defaults: { severity: { medium: annotate } }\n",
            vec![hook()], Decision::Annotate, "default:severity", "medium"),
    ];
    for (case, yaml, findings, decision, code, text) in cases {
        let v = policy(yaml).evaluate(&sdist("demo", "1.0"), &findings, NOW);
        assert_eq!(v.decision, decision, "{case}: {:#?}", v.reasons);
        assert_eq!(v.reasons[0].code.to_string(), code, "{case}: {:#?}", v.reasons);
        assert!(v.reasons[0].message.contains(text), "{case}: {}", v.reasons[0].message);
        if code == "fail-closed:scan-incomplete" {
            assert!(
                v.reasons[0].message.contains("demo-1.0/setup.py"),
                "{case}: names where: {}",
                v.reasons[0].message
            );
        }
    }
}

#[test]
fn auth_and_limits_settings_compile_or_name_their_path_and_line() {
    let hash = crate::auth::TokenHash::of("pgt_alice").to_string();
    let good = format!(
        "auth:\n  users:\n    - {{ name: alice, token_hash: \"{hash}\" }}\nlimits:\n  per_user: {{ requests_per_second: 2.5, concurrent_downloads: 4 }}\n  per_client: {{ requests_per_second: 10, burst: 40 }}\n"
    );
    let p = policy(&good);
    let auth = &p.settings.auth;
    assert_eq!(auth.users.get("alice"), Some(&crate::auth::TokenHash::of("pgt_alice")));
    assert!(!auth.dangerous_allow_plain_http, "off unless set");
    let user = auth.limits.per_user;
    assert_eq!(user.rate.map(|r| (r.per_second, r.burst)), Some((2.5, 3)), "burst defaults to one second's worth");
    assert_eq!(user.concurrent_downloads, Some(4));
    assert_eq!(auth.limits.per_client.rate.map(|r| r.burst), Some(40));
    assert_eq!(auth.limits.per_client.concurrent_downloads, None);
    assert!(!policy("").settings.auth.auth_required(), "no auth: section, no authentication");

    let cases = [
        ("a plaintext token is refused", "auth:\n  users:\n    - name: bob\n      token: pgt_x\n", "unknown field `token`", ""),
        (
            "a hash without its algorithm",
            "auth:\n  users:\n    - name: bob\n      token_hash: abc\n",
            "team.yaml:4: at auth.users[0].token_hash: expected sha256:",
            "",
        ),
        ("a bad user name", "auth:\n  users:\n    - name: \"b:ob\"\n      token_hash: x\n", "team.yaml:3: at auth.users[0].name", "A-Z"),
        (
            "a duplicate user",
            &format!("auth:\n  users:\n    - {{ name: bob, token_hash: \"{hash}\" }}\n    - {{ name: bob, token_hash: \"{hash}\" }}\n"),
            "at auth.users[1].name: duplicate user \"bob\"",
            "",
        ),
        (
            "a zero rate",
            "limits:\n  per_client:\n    requests_per_second: 0\n",
            "team.yaml:3: at limits.per_client.requests_per_second: expected a number above 0",
            "",
        ),
        ("a burst alone", "limits:\n  per_user:\n    burst: 5\n", "at limits.per_user.burst: burst needs requests_per_second", ""),
        (
            "no downloads at all",
            "limits:\n  per_user:\n    concurrent_downloads: 0\n",
            "team.yaml:3: at limits.per_user.concurrent_downloads: expected at least 1",
            "",
        ),
    ];
    for (case, yaml, says, also) in cases {
        let e = error_text(yaml);
        assert!(e.contains(says) && e.contains(also), "{case}: {e}");
        assert!(!e.contains("pgt_x"), "{case}: a token never reaches a message: {e}");
    }
}

#[test]
fn known_malware_is_accepted_only_by_naming_its_record() {
    let yaml = r#"
defaults: { action: allow, severity: { critical: allow } }
rules:
  - { id: allow-everything, match: { project: "*" }, action: allow }
allow: ["listed-*"]
acceptances:
  - { id: NO-ID, owner: a@example.org, findings: [malware.known], project: evil, reason: r, ticket: t, expires: 2027-01-01 }
  - { id: WRONG-ID, owner: a@example.org, findings: ["malware.*"], project: other, advisory: MAL-2099-2, reason: r, ticket: t, expires: 2027-01-01 }
  - { id: NAMED, owner: a@example.org, findings: [malware.known], project: named, advisory: mal-2099-1, reason: r, ticket: t, expires: 2027-01-01 }
"#;
    let p = policy(yaml);
    let mut mal = finding("malware.known", Critical, FileRole::Metadata);
    mal.category = Category::Malware;
    mal.evidence[0].path = "advisory:MAL-2099-1".into();
    mal.evidence[0].indicator = Some("GHSA-xxxx-yyyy-zzzz".into());
    let cases = [
        ("an allow rule cannot serve it", "plain", Decision::Block, "known-malware"),
        ("the allow list cannot serve it", "listed-pkg", Decision::Block, "known-malware"),
        ("an acceptance without the record id does not cover it", "evil", Decision::Block, "known-malware"),
        ("an acceptance naming another record does not cover it", "other", Decision::Block, "known-malware"),
        ("an acceptance naming the record (any case) does", "named", Decision::Serve, "acceptance:NAMED"),
    ];
    for (case, project, decision, code) in cases {
        let v = p.evaluate(&facts(project, "1.0"), std::slice::from_ref(&mal), NOW);
        assert_eq!(v.decision, decision, "{case}: {:?}", v.reasons);
        assert_eq!(v.reasons[0].code.to_string(), code, "{case}");
    }
    let check = p.check_text(NOW, 14);
    assert!(check.contains("acceptance NO-ID names malware.known but no `advisory:` record id"), "{check}");
    assert!(!check.contains("acceptance NAMED names"), "{check}");
    let snippet = p.acceptance_snippet(&facts("plain", "1.0"), std::slice::from_ref(&mal), NOW);
    assert!(snippet.contains("advisory: \"MAL-2099-1\"") || snippet.contains("advisory: MAL-2099-1"), "{snippet}");
}

#[test]
fn new_in_version_matches_only_findings_the_previous_release_lacked() {
    use crate::model::VersionDiff;
    let p = policy(
        "defaults: { action: annotate }\nrules:\n  - id: new-downloader\n    match: { detector: network.downloads-file, new_in_version: true }\n    action: block\n  - id: old-subprocess\n    match: { detector: execution.subprocess, new_in_version: false }\n    action: allow\n",
    );
    assert!(p.uses_new_in_version());
    assert!(!policy("rules: [{ match: { category: network }, action: block }]").uses_new_in_version());
    let dl = f("network.downloads-file", Severity::High);
    let sub = f("execution.subprocess", Severity::Medium);
    let compared = |now: Vec<Finding>, before: Vec<Finding>| {
        Some(VersionDiff::compare("1.0", "acme-1.0-py3-none-any.whl", &now, &before))
    };
    let not_compared = Some(VersionDiff::NotCompared { reason: "upstream answered 503".into() });
    type Case<'a> = (&'a str, Option<VersionDiff>, Vec<Finding>, Decision, &'a str);
    let cases: [Case; 5] = [
        (
            "downloader new in 1.1: blocked",
            compared(vec![dl.clone()], vec![]),
            vec![dl.clone()],
            Decision::Block,
            "rule:new-downloader",
        ),
        (
            "downloader already in 1.0: default",
            compared(vec![dl.clone()], vec![dl.clone()]),
            vec![dl.clone()],
            Decision::Annotate,
            "default",
        ),
        (
            "not compared: the rule does not match",
            not_compared.clone(),
            vec![dl.clone()],
            Decision::Annotate,
            "default",
        ),
        ("not asked: the rule does not match", None, vec![dl.clone()], Decision::Annotate, "default"),
        (
            "old subprocess allowed, new downloader still blocks",
            compared(vec![dl.clone(), sub.clone()], vec![sub.clone()]),
            vec![dl.clone(), sub.clone()],
            Decision::Block,
            "rule:new-downloader",
        ),
    ];
    for (case, diff, found, want, code) in cases {
        let facts = ArtifactFacts { new_in_version: diff.clone(), ..facts("acme", "1.1") };
        let v = p.evaluate(&facts, &found, NOW);
        assert_eq!(v.decision, want, "{case}: {:?}", v.reasons);
        assert!(codes(&v)[0].starts_with(code), "{case}: {:?}", codes(&v));
        assert_eq!(v.new_in_version, diff, "{case}: the verdict carries the comparison");
    }
    let facts = ArtifactFacts { new_in_version: compared(vec![dl.clone()], vec![]), ..facts("acme", "1.1") };
    let v = p.evaluate(&facts, &[dl], NOW);
    assert!(
        v.reasons[0].message.contains("network.downloads-file is new in this version: not in 1.0"),
        "the block message names new-in-this-version: {}",
        v.reasons[0].message
    );
}

#[test]
fn established_lowers_only_eligible_blocks_the_baseline_shipped_with_the_same_evidence() {
    use crate::model::Established;
    let p = policy(
        "defaults: { action: annotate, severity: { critical: block } }\nestablished: { baseline_age: 30d, min_history: 365d, min_releases: 10, action: annotate }\nrules:\n  - id: install-time-high\n    match: { role: install-time, severity: \">= high\" }\n    action: block\n",
    );
    let at_install = |id: &str, sev: Severity| finding(id, sev, FileRole::InstallTime);
    let dl = at_install("network.downloads-file", Severity::High);
    let compared = |unchanged: &[&str], changed: &[&str]| {
        Some(Established::Compared {
            baseline_version: "1.0".into(),
            baseline_filename: "acme-1.0.tar.gz".into(),
            baseline_uploaded: "2024-01-02T03:04:05Z".into(),
            first_upload: "2020-05-06T00:00:00Z".into(),
            releases: 14,
            unchanged: unchanged.iter().map(|s| (*s).to_string()).collect(),
            changed: changed.iter().map(|s| (*s).to_string()).collect(),
        })
    };
    let all = |found: &[Finding]| compared(&found.iter().map(|f| f.detector.as_str()).collect::<Vec<_>>(), &[]);
    let not_compared = Some(Established::NotCompared { reason: "history too short".into() });
    type Case<'a> = (&'a str, Option<Established>, Vec<Finding>, Decision, &'a str);
    let never: Vec<(&str, Finding)> = vec![
        ("critical", at_install("network.downloads-file", Severity::Critical)),
        ("known malware", at_install("malware.known", Severity::High)),
        ("advisory", at_install("vulnerability.known", Severity::High)),
        ("look-alike name", at_install("metadata.typosquat", Severity::High)),
        ("start-up hijack", at_install("execution.startup-hijack", Severity::High)),
        ("archive trick", at_install("anomaly.path-traversal", Severity::High)),
    ];
    let mut cases: Vec<Case> = vec![
        (
            "established downloader: annotated",
            compared(&["network.downloads-file"], &[]),
            vec![dl.clone()],
            Decision::Annotate,
            "established",
        ),
        (
            "new evidence: blocked",
            compared(&[], &["network.downloads-file"]),
            vec![dl.clone()],
            Decision::Block,
            "rule:install-time-high",
        ),
        ("not compared: blocked", not_compared, vec![dl.clone()], Decision::Block, "rule:install-time-high"),
        ("not asked: blocked", None, vec![dl.clone()], Decision::Block, "rule:install-time-high"),
        (
            "one old, one new: the new one blocks",
            compared(&["network.downloads-file"], &["execution.subprocess"]),
            vec![dl.clone(), at_install("execution.subprocess", Severity::High)],
            Decision::Block,
            "rule:install-time-high",
        ),
    ];
    for (what, f) in &never {
        cases.push((what, all(std::slice::from_ref(f)), vec![f.clone()], Decision::Block, ""));
    }
    for (case, est, found, want, code) in cases {
        let facts = ArtifactFacts { established: est.clone(), ..sdist("acme", "1.1") };
        let v = p.evaluate(&facts, &found, NOW);
        assert_eq!(v.decision, want, "{case}: {:?}", v.reasons);
        assert!(codes(&v)[0].starts_with(code), "{case}: {:?}", codes(&v));
        assert_eq!(v.established, est, "{case}: the verdict carries the comparison");
    }
    // The fetch is worth it only when every blocking finding may be lowered.
    let plain = sdist("acme", "1.1");
    assert!(p.established_could_lower(&plain, std::slice::from_ref(&dl), NOW));
    for (what, f) in &never {
        assert!(!p.established_could_lower(&plain, &[dl.clone(), f.clone()], NOW), "{what} keeps it blocked");
    }
    assert!(!p.established_could_lower(&plain, &[f("execution.subprocess", Severity::Medium)], NOW), "not blocked");
    let check = p.check_text(NOW, 14);
    assert!(check.contains("established: a block on behaviour a project shipped unchanged in a release at least 30d older is lowered to annotate (projects with 365d of history and 10 releases"), "{check}");
    let loud = policy("established: { action: allow }");
    assert!(loud.check_text(NOW, 14).contains("warning: established.action is allow"), "allow is named");
    let without = policy("rules: [{ match: { role: install-time }, action: block }]");
    assert!(!without.established_could_lower(&plain, std::slice::from_ref(&dl), NOW), "no established: section");
    // Both texts name the baseline and its upload date.
    let lowered = p.evaluate(
        &ArtifactFacts { established: all(std::slice::from_ref(&dl)), ..plain.clone() },
        std::slice::from_ref(&dl),
        NOW,
    );
    insta::assert_snapshot!("established_annotate_reason", lowered.reasons[0].message);
    let blocked =
        p.evaluate(&ArtifactFacts { established: compared(&[], &["network.downloads-file"]), ..plain }, &[dl], NOW);
    assert!(
        blocked.reasons[0]
            .message
            .ends_with("network.downloads-file is new since the established baseline 1.0 (uploaded 2024-01-02)"),
        "{}",
        blocked.reasons[0].message
    );
}

/// A rule's role and severity must hold for one same piece of evidence: the finding's severity
/// is the worst of its pieces', and a rule that matched a role on any piece read a Low
/// install-time piece beside a High one elsewhere as high-severity install-time behaviour.
#[test]
fn role_and_severity_conditions_hold_for_the_same_piece_of_evidence() {
    let shipped = std::fs::read_to_string(repo_file("policy.yaml")).unwrap();
    let catalog = crate::scan::catalog();
    let known: Vec<&str> = catalog.iter().map(|m| m.id).collect();
    let p = Policy::from_str_with_catalog("policy.yaml", &shipped, &known).unwrap();
    let piece = |path: &str, role: FileRole, severity: Option<Severity>| Evidence {
        path: path.into(),
        line: Some(3),
        column: Some(1),
        snippet: None,
        indicator: None,
        role,
        severity,
    };
    let exec = |severity: Severity, evidence: Vec<Evidence>| Finding {
        detector: "execution.dynamic-code".into(),
        title: "Executes dynamically built code.".into(),
        category: Category::Execution,
        severity,
        message: String::new(),
        evidence,
    };
    use FileRole::*;
    let cases: Vec<(&str, Finding, Decision)> = vec![
        (
            "a low piece at install time beside a high one in a runtime function",
            exec(High, vec![piece("setup.py", InstallTime, Some(Low)), piece("pkg/tpl.py", Runtime, Some(High))]),
            Decision::Annotate,
        ),
        (
            "a low piece at import time beside a high one in a runtime function",
            exec(High, vec![piece("pkg/__init__.py", ImportTime, Some(Low)), piece("pkg/tpl.py", Runtime, Some(High))]),
            Decision::Annotate,
        ),
        (
            "a high piece at install time beside a low runtime one",
            exec(High, vec![piece("pkg/tpl.py", Runtime, Some(Low)), piece("setup.py", InstallTime, Some(High))]),
            Decision::Block,
        ),
        (
            "a high piece at import time beside a medium one at install time",
            exec(
                High,
                vec![piece("setup.py", InstallTime, Some(Medium)), piece("pkg/__init__.py", ImportTime, Some(High))],
            ),
            Decision::Block,
        ),
        (
            "a critical piece in a test path beside a low one at install time",
            exec(
                Critical,
                vec![piece("setup.py", InstallTime, Some(Low)), piece("tests/t.py", TestOrDocs, Some(Critical))],
            ),
            Decision::Block,
        ),
        (
            "evidence recorded before pieces carried a severity reads as the finding's",
            exec(High, vec![piece("setup.py", InstallTime, None), piece("pkg/tpl.py", Runtime, None)]),
            Decision::Block,
        ),
    ];
    for (case, finding, want) in cases {
        let got = p.evaluate(&sdist("acme", "1.0"), &[finding], NOW).decision;
        assert_eq!(got, want, "{case}");
    }
}
