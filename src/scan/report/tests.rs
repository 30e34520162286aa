//! Report format tests: snapshots of the text and SARIF forms of a crafted
//! artifact, a structural SARIF 2.1.0 check, and the JSON contract against its schema.

use super::*;
use crate::model::Reason;
use crate::scan::tests::{scan_bytes, tar_gz, test_scanner, zip_of, T};
use crate::scan::{anomaly, scanner_version, Limits};

fn crafted_report() -> ScanReport {
    let metadata = b"Metadata-Version: 2.1\nName: other-name\nVersion: 1.0\nSummary: demo package\n\nbody\n";
    let bytes = zip_of(&[
        ("demo/__init__.py", b"import subprocess\n\ndef run():\n    return subprocess.check_output(['id'])\n"),
        ("demo/tests/test_run.py", b"import subprocess  # in tests\n"),
        ("../escape.pth", b"import os\n"),
        ("demo-1.0.dist-info/METADATA", metadata),
        ("demo-1.0.dist-info/RECORD", b""),
    ]);
    let (scanner, _) = test_scanner(Limits::default());
    scan_bytes(&scanner, "demo-1.0-py3-none-any.whl", &bytes)
}

fn verdict() -> Verdict {
    // Built through the constructor so fields the policy adds later need no change here.
    let mut v = Verdict::block(Reason {
        code: crate::model::ReasonCode::Rule("no-filename-mismatch".into()),
        message: "metadata disagrees with the filename".into(),
        findings: vec!["metadata.filename-mismatch".into()],
    });
    v.findings = vec!["metadata.filename-mismatch".into()];
    v
}

fn stable(s: &str) -> String {
    s.replace(scanner_version(), "[scanner-version]")
}

#[test]
fn format_names_parse() {
    let cases = [
        ("text", Some(ReportFormat::Text)),
        ("JSON", Some(ReportFormat::Json)),
        ("sarif", Some(ReportFormat::Sarif)),
        ("html", Some(ReportFormat::Html)),
        ("xml", None),
    ];
    for (name, want) in cases {
        assert_eq!(name.parse::<ReportFormat>().ok(), want, "{name}");
    }
}

#[test]
fn text_report_snapshot() {
    let text = render_text(&crafted_report(), Some(&verdict()));
    for must in ["Verdict: BLOCK", "execution (1)", "metadata (2)", "anomaly (1)", "demo/__init__.py:4:", "Next steps"]
    {
        assert!(text.contains(must), "text report shows {must:?}:\n{text}");
    }
    insta::assert_snapshot!("text_report", stable(&text));
}

#[test]
fn clean_text_report_says_so() {
    let bytes = zip_of(&[("demo-1.0.dist-info/METADATA", b"Name: demo\nVersion: 1.0\n")]);
    let scanner = crate::scan::Scanner::with_detectors(Limits::default(), vec![]);
    let text = render_text(&scan_bytes(&scanner, "demo-1.0-py3-none-any.whl", &bytes), None);
    assert!(text.contains("No behaviours or issues found."), "{text}");
    assert!(!text.contains("Verdict"), "no verdict given, none shown");
}

#[test]
fn sarif_snapshot() {
    let reports = [crafted_report(), unreadable_report()];
    let log = sarif_log(&reports, &anomaly::catalog());
    check_sarif(&log);
    insta::assert_snapshot!("sarif", stable(&pretty(&log)));
}

fn unreadable_report() -> ScanReport {
    let (scanner, _) = test_scanner(Limits::default());
    let sdist = tar_gz(&[T::Symlink("demo-1.0/link", "/etc/passwd")]);
    scan_bytes(&scanner, "demo-1.0.tar.gz", &sdist[..sdist.len() / 2])
}

#[test]
fn sarif_output_is_structurally_valid_with_locations_inside_the_artifact() {
    let log: Value = serde_json::from_str(&render_sarif(&[crafted_report()])).expect("SARIF is JSON");
    check_sarif(&log);
    let results = log["runs"][0]["results"].as_array().unwrap();
    let exec = results.iter().find(|r| r["ruleId"] == "execution.test-process").expect("detector result");
    let loc = &exec["locations"][0]["physicalLocation"];
    assert_eq!(loc["artifactLocation"]["uri"], "demo-1.0-py3-none-any.whl/demo/__init__.py");
    assert_eq!(loc["region"]["startLine"], 1);
    let rules = log["runs"][0]["tool"]["driver"]["rules"].as_array().unwrap();
    assert!(rules.iter().any(|r| r["id"] == "anomaly.path-traversal"), "engine rules come from the catalog");
    let trav = results.iter().find(|r| r["ruleId"] == "anomaly.path-traversal").expect("traversal result");
    assert_eq!(
        trav["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "demo-1.0-py3-none-any.whl/../escape.pth"
    );
}

/// Required keys and types of SARIF 2.1.0 for what we emit (sarifLog, run,
/// toolComponent, reportingDescriptor, result, location, region), checked by hand
/// so the test needs no network and no schema crate.
fn check_sarif(log: &Value) {
    assert_eq!(log["version"], "2.1.0");
    assert!(log["$schema"].as_str().is_some_and(|s| s.contains("sarif-2.1.0")));
    let runs = log["runs"].as_array().expect("runs is an array");
    assert!(!runs.is_empty());
    for run in runs {
        let driver = &run["tool"]["driver"];
        assert!(driver["name"].is_string(), "tool.driver.name");
        let rules = driver["rules"].as_array().expect("rules array");
        for rule in rules {
            assert!(rule["id"].is_string(), "rule.id");
            for key in ["shortDescription", "fullDescription"] {
                assert!(rule[key]["text"].is_string(), "rule.{key}.text: {rule}");
            }
            assert!(is_level(&rule["defaultConfiguration"]["level"]), "rule level: {rule}");
        }
        for result in run["results"].as_array().expect("results array") {
            check_result(result, rules);
        }
    }
}

fn is_level(v: &Value) -> bool {
    matches!(v.as_str(), Some("none" | "note" | "warning" | "error"))
}

fn check_result(result: &Value, rules: &[Value]) {
    assert!(result["message"]["text"].as_str().is_some_and(|t| !t.is_empty()), "message.text: {result}");
    let id = result["ruleId"].as_str().expect("ruleId");
    let index = result["ruleIndex"].as_u64().expect("ruleIndex") as usize;
    assert_eq!(rules[index]["id"], id, "ruleIndex points at the rule");
    assert!(is_level(&result["level"]), "level");
    for loc in result["locations"].as_array().expect("locations array") {
        let phys = &loc["physicalLocation"];
        let uri = phys["artifactLocation"]["uri"].as_str().expect("uri");
        assert!(!uri.contains(' ') && !uri.starts_with('/'), "relative, encoded uri: {uri}");
        if let Some(region) = phys.get("region") {
            assert!(region["startLine"].as_u64().is_some_and(|l| l >= 1), "startLine >= 1");
            if let Some(c) = region.get("startColumn") {
                assert!(c.as_u64().is_some_and(|c| c >= 1), "startColumn >= 1");
            }
        }
    }
}

#[test]
fn json_follows_its_schema() {
    let schema: Value =
        serde_json::from_str(include_str!("../../../docs/scan-report.schema.json")).expect("schema is JSON");
    let report: Value = serde_json::from_str(&render_json(&crafted_report())).expect("report is JSON");
    assert_eq!(report["schema_version"], 1);
    assert_eq!(schema["properties"]["schema_version"]["const"], 1, "schema and code agree on the version");
    check_object(&report, &schema, &schema, "report");
    let back: ScanReport = serde_json::from_value(report).expect("round-trips into ScanReport");
    assert_eq!(back.findings.len(), crafted_report().findings.len());
}

/// A minimal JSON Schema walker for the keywords the report schema uses:
/// `type`, `required`, `properties`, `additionalProperties: false`, `items`, `enum`, `$ref`.
fn check_object(v: &Value, s: &Value, root: &Value, at: &str) {
    if let Some(r) = s["$ref"].as_str() {
        let name = r.trim_start_matches("#/$defs/");
        return check_object(v, &root["$defs"][name], root, at);
    }
    if let Some(options) = s["enum"].as_array() {
        assert!(options.contains(v), "{at}: {v} not in enum");
    }
    let types: Vec<&str> = match &s["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(|t| t.as_str()).collect(),
        _ => vec![],
    };
    if !types.is_empty() {
        assert!(types.iter().any(|t| type_matches(v, t)), "{at}: {v} is not {types:?}");
    }
    if let (Some(obj), Some(props)) = (v.as_object(), s["properties"].as_object()) {
        for req in s["required"].as_array().into_iter().flatten() {
            assert!(obj.contains_key(req.as_str().unwrap()), "{at}: missing {req}");
        }
        for (k, val) in obj {
            match props.get(k) {
                Some(ps) => check_object(val, ps, root, &format!("{at}.{k}")),
                None => assert!(s["additionalProperties"] != false, "{at}: unexpected key {k}"),
            }
        }
    }
    if let (Some(items), Some(is)) = (v.as_array(), s.get("items")) {
        for (i, item) in items.iter().enumerate() {
            check_object(item, is, root, &format!("{at}[{i}]"));
        }
    }
}

fn type_matches(v: &Value, t: &str) -> bool {
    match t {
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        "integer" => v.is_u64() || v.is_i64(),
        "number" => v.is_number(),
        "boolean" => v.is_boolean(),
        "null" => v.is_null(),
        _ => false,
    }
}

#[test]
fn text_report_shows_the_licence_with_its_sources_and_a_disagreeing_file() {
    let metadata = b"Metadata-Version: 2.4\nName: demo\nVersion: 1.0\nLicense-Expression: MIT\nLicense-File: LICENSE\nClassifier: License :: OSI Approved :: MIT License\n\n";
    let gpl = b"                    GNU GENERAL PUBLIC LICENSE\n                       Version 3, 29 June 2007\n";
    let bytes = zip_of(&[
        ("demo/__init__.py", b"VERSION = '1.0'\n"),
        ("demo-1.0.dist-info/METADATA", metadata),
        ("demo-1.0.dist-info/licenses/LICENSE", gpl),
        ("demo-1.0.dist-info/RECORD", b""),
    ]);
    let (scanner, _) = test_scanner(Limits::default());
    let report = scan_bytes(&scanner, "demo-1.0-py3-none-any.whl", &bytes);
    assert_eq!(report.licence.expression.as_deref(), Some("MIT"));
    let text = render_text(&report, None);
    insta::assert_snapshot!("text_report_licence", stable(&text));
}
