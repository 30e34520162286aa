//! The `licences:` section: OR/AND semantics, deny over allow, unknown, not_allowed,
//! exceptions, error messages with YAML path and line, and the messages users read.

use crate::model::{ArtifactFacts, Decision, Licence, LicenceOrigin, LicenceSource, ReasonCode};
use crate::policy::Policy;
use time::macros::datetime;

fn policy(yaml: &str) -> Policy {
    Policy::from_str_with_catalog("licences.yaml", yaml, &[]).unwrap_or_else(|e| panic!("{e}"))
}

/// A wheel of `project` 1.0 whose metadata declares `expression` (`None`: nothing recognised).
fn facts(project: &str, expression: Option<&str>) -> ArtifactFacts {
    let filename = format!("{}-1.0-py3-none-any.whl", project.replace('-', "_"));
    let mut f = ArtifactFacts::describe(project, &filename, &"a".repeat(64), None, 1, Default::default());
    let source = LicenceSource {
        origin: LicenceOrigin::LicenseExpression,
        path: format!("{project}-1.0.dist-info/METADATA"),
        line: Some(4),
        text: expression.unwrap_or("see the website").to_string(),
        spdx: expression.map(str::to_string),
    };
    f.licence = Some(Licence {
        expression: expression.map(str::to_string),
        from: expression.map(|_| LicenceOrigin::LicenseExpression),
        sources: vec![source],
    });
    f
}

fn decide(p: &Policy, f: &ArtifactFacts) -> (Decision, Option<String>) {
    let v = p.evaluate(f, &[], datetime!(2026-11-30 12:00 UTC));
    let code = v.reasons.iter().find(|r| matches!(r.code, ReasonCode::Licence(_))).map(|r| r.code.to_string());
    (v.decision, code)
}

#[test]
fn licence_rules_follow_spdx_or_and_semantics() {
    use Decision::{Annotate, Block, Serve};
    let deny_gpl3 = "licences:\n  deny: [GPL-3.0-only, AGPL-3.0-or-later]\n";
    let allow = "licences:\n  allow: [MIT, BSD-3-Clause, Apache-2.0, \"Apache-2.0 WITH LLVM-exception\"]\n";
    let exceptions = "licences:\n  deny: [GPL-3.0-only]\n  unknown: block\n  exceptions:\n    - { project: \"internal-*\", reason: \"our own code\" }\n    - { project: gpl-tool, version: \"<2\", licences: [GPL-3.0-only], reason: \"used as a CLI only, LEGAL-7\" }\n";
    /// (case, policy, project, artifact expression, decision, licence reason code)
    type Case<'a> = (&'a str, &'a str, &'a str, Option<&'a str>, Decision, Option<&'a str>);
    let cases: [Case; 21] = [
        ("no licences section: not judged", "", "demo", Some("GPL-3.0-only"), Serve, None),
        ("denied id", deny_gpl3, "demo", Some("GPL-3.0-only"), Block, Some("licence:denied")),
        (
            "deny matches the -or-later of the same licence",
            deny_gpl3,
            "demo",
            Some("GPL-3.0-or-later"),
            Block,
            Some("licence:denied"),
        ),
        ("deny of -or-later matches -only", deny_gpl3, "demo", Some("AGPL-3.0-only"), Block, Some("licence:denied")),
        ("another GPL version is not denied", deny_gpl3, "demo", Some("GPL-2.0-only"), Serve, None),
        ("OR: one branch is enough", deny_gpl3, "demo", Some("MIT OR GPL-3.0-only"), Serve, None),
        ("AND: every part counts", deny_gpl3, "demo", Some("MIT AND GPL-3.0-only"), Block, Some("licence:denied")),
        (
            "nested: (A OR B) AND C",
            deny_gpl3,
            "demo",
            Some("(MIT OR GPL-3.0-only) AND AGPL-3.0-only"),
            Block,
            Some("licence:denied"),
        ),
        ("allow list: allowed id", allow, "demo", Some("MIT"), Serve, None),
        ("allow list: OR with one allowed branch", allow, "demo", Some("Apache-2.0 OR GPL-2.0-only"), Serve, None),
        (
            "allow list: AND with a part not allowed",
            allow,
            "demo",
            Some("MIT AND MPL-2.0"),
            Block,
            Some("licence:not-allowed"),
        ),
        (
            "allow list: an entry without WITH allows the licence with any exception",
            allow,
            "demo",
            Some("Apache-2.0 WITH Classpath-exception-2.0"),
            Serve,
            None,
        ),
        (
            "allow list: an entry with WITH allows only that exception",
            "licences:\n  allow: [\"GPL-2.0-only WITH Classpath-exception-2.0\"]\n",
            "demo",
            Some("GPL-2.0-only"),
            Decision::Block,
            Some("licence:not-allowed"),
        ),
        ("unknown licence: allowed by default", allow, "demo", None, Serve, None),
        (
            "not_allowed: annotate",
            "licences:\n  allow: [MIT]\n  not_allowed: annotate\n",
            "demo",
            Some("ISC"),
            Annotate,
            Some("licence:not-allowed"),
        ),
        ("unknown: annotate", "licences:\n  unknown: annotate\n", "demo", None, Annotate, Some("licence:unknown")),
        (
            "deny wins over allow",
            "licences:\n  allow: [GPL-3.0-only]\n  deny: [GPL-3.0-only]\n",
            "demo",
            Some("GPL-3.0-only"),
            Block,
            Some("licence:denied"),
        ),
        (
            "exception for every licence rule of a project",
            exceptions,
            "internal-tool",
            None,
            Serve,
            Some("licence:exception"),
        ),
        (
            "exception naming the licence, version in range",
            exceptions,
            "gpl-tool",
            Some("GPL-3.0-only"),
            Serve,
            Some("licence:exception"),
        ),
        (
            "exception for another project does not apply",
            exceptions,
            "other-tool",
            Some("GPL-3.0-only"),
            Block,
            Some("licence:denied"),
        ),
        (
            "a whole-expression entry matches exactly that expression",
            "licences:\n  allow: [\"MIT AND Apache-2.0\"]\n",
            "demo",
            Some("MIT AND Apache-2.0"),
            Serve,
            None,
        ),
    ];
    for (case, yaml, project, expression, decision, code) in cases {
        let got = decide(&policy(yaml), &facts(project, expression));
        assert_eq!(got, (decision, code.map(str::to_string)), "{case}");
    }
}

#[test]
fn exceptions_are_scoped_to_their_versions_and_licences() {
    let p = policy("licences:\n  deny: [GPL-3.0-only, AGPL-3.0-only]\n  exceptions:\n    - { project: gpl-tool, version: \"<2\", licences: [GPL-3.0-only], reason: r }\n");
    let mut v2 = facts("gpl-tool", Some("GPL-3.0-only"));
    v2.version = Some("2.0".into());
    let cases = [
        ("version out of the exception's range", decide(&p, &v2).0, Decision::Block),
        (
            "a licence the exception does not name",
            decide(&p, &facts("gpl-tool", Some("AGPL-3.0-only"))).0,
            Decision::Block,
        ),
        ("what it names", decide(&p, &facts("gpl-tool", Some("GPL-3.0-only"))).0, Decision::Serve),
    ];
    for (case, got, want) in cases {
        assert_eq!(got, want, "{case}");
    }
}

#[test]
fn an_artifact_not_scanned_yet_is_not_judged_by_licence() {
    let p = policy("licences:\n  deny: [GPL-3.0-only]\n  unknown: block\n");
    let mut f = facts("demo", Some("GPL-3.0-only"));
    f.licence = None;
    assert_eq!(decide(&p, &f), (Decision::Serve, None));
}

#[test]
fn extends_concatenates_lists_and_team_scalars_win() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("base.yaml"), "licences:\n  deny: [AGPL-3.0-only]\n  unknown: block\n").unwrap();
    std::fs::write(
        dir.path().join("team.yaml"),
        "extends: base.yaml\nlicences:\n  deny: [GPL-3.0-only]\n  unknown: allow\n",
    )
    .unwrap();
    let p = Policy::load_with_catalog(&dir.path().join("team.yaml"), &[]).unwrap();
    assert_eq!(decide(&p, &facts("demo", Some("AGPL-3.0-only"))).0, Decision::Block, "base deny kept");
    assert_eq!(decide(&p, &facts("demo", Some("GPL-3.0-only"))).0, Decision::Block, "team deny added");
    assert_eq!(decide(&p, &facts("demo", None)).0, Decision::Serve, "team's unknown wins");
}

#[test]
fn bad_licence_entries_name_the_yaml_path_and_line() {
    let yaml = "licences:\n  deny:\n    - GPL-3.0-only\n    - \"not a licence\"\n  allow: [MIT, \"MIT OR\"]\n  unknown: blok\n";
    let err = Policy::from_str_with_catalog("team.yaml", yaml, &[]).unwrap_err().to_string();
    insta::assert_snapshot!("bad_licence_action", err);
    let yaml = "licences:\n  deny: [\"not a licence\"]\n  allow: [MIT, \"MIT OR\"]\n  exceptions:\n    - project: demo\n      licences: [GPL-3.0-only, Nope-1.0]\n      reason: \"\"\n";
    let err = Policy::from_str_with_catalog("team.yaml", yaml, &[]).unwrap_err().to_string();
    insta::assert_snapshot!("bad_licence_entries", err);
}

#[test]
fn the_messages_users_read_name_the_licence_and_where_it_came_from() {
    let p = policy("licences:\n  deny: [GPL-3.0-only]\n  allow: [MIT, BSD-3-Clause]\n  unknown: annotate\n  exceptions:\n    - { project: gpl-tool, licences: GPL-3.0-only, reason: \"CLI use only (LEGAL-7)\" }\n");
    let now = datetime!(2026-11-30 12:00 UTC);
    let mut out = String::new();
    for f in [
        facts("demo", Some("MIT AND GPL-3.0-only")),
        facts("demo", Some("MPL-2.0")),
        facts("demo", None),
        facts("gpl-tool", Some("GPL-3.0-only")),
    ] {
        let v = p.evaluate(&f, &[], now);
        out.push_str(&format!(
            "{} {}:\n",
            f.licence.as_ref().unwrap().expression.as_deref().unwrap_or("unknown"),
            v.decision.as_str()
        ));
        for r in &v.reasons {
            out.push_str(&format!("  [{}] {}\n", r.code, r.message));
        }
        if v.decision == Decision::Block {
            out.push_str(&format!("  phrase: {}\n", crate::respond::block_reason_phrase(&v, &[])));
            out.push_str(&p.acceptance_snippet(&f, &[], now));
        }
    }
    insta::assert_snapshot!("licence_messages", out);
}
