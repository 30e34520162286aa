//! Licence rules end to end: a GPL-3.0-only wheel is refused under a deny rule with the
//! licence named in pip's and uv's output, the audit log and the report; an MIT wheel
//! installs; `pipgate scan` shows the licence with its sources.

mod common;
use common::*;

const GPL3: &str = "                    GNU GENERAL PUBLIC LICENSE\n                       Version 3, 29 June 2007\n\n Copyright (C) 2007 Free Software Foundation, Inc. <https://fsf.org/>\n Everyone is permitted to copy and distribute verbatim copies\n of this license document, but changing it is not allowed.\n";
const MIT: &str = "MIT License\n\nPermission is hereby granted, free of charge, to any person obtaining a copy\nof this software...\n\nThe above copyright notice and this permission notice shall be included in all\ncopies or substantial portions of the Software.\n";

const POLICY: &str = "licences:\n  deny: [GPL-3.0-only, AGPL-3.0-only]\n  unknown: annotate\n";

fn gpl_wheel() -> Dist {
    wheel_with_headers(
        "demo-gpl",
        "1.0",
        &[],
        "License-Expression: GPL-3.0-only\nLicense-File: COPYING\n",
        &[("demo_gpl-1.0.dist-info/licenses/COPYING", GPL3)],
    )
}

fn mit_wheel() -> Dist {
    wheel_with_headers(
        "demo-mit",
        "1.0",
        &[],
        "License-Expression: MIT\nLicense-File: LICENSE\n",
        &[("demo_mit-1.0.dist-info/licenses/LICENSE", MIT)],
    )
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn a_denied_licence_is_refused_for_pip_and_uv_and_an_allowed_one_installs() {
    let idx = FakeIndex::start(Format::Json);
    idx.add_dist("demo-gpl", gpl_wheel());
    idx.add_dist("demo-mit", mit_wheel());
    let gate = Pipgate::start(&idx.url(), Some(POLICY));

    let venv = Venv::new();
    let out = venv.pip(&["install", "--index-url", &gate.url, "demo-gpl==1.0"]);
    assert!(!out.status.success(), "{}", show(&out));
    let pip_err = stderr(&out);
    assert!(pip_err.contains("403"), "{pip_err}");
    assert!(pip_err.contains("licence GPL-3.0-only") && pip_err.contains("licence:denied"), "{pip_err}");

    let out = venv.uv_pip(&["install", "--index-url", &gate.url, "demo-gpl==1.0"]);
    assert!(!out.status.success(), "{}", show(&out));
    let uv_err = stderr(&out);
    assert!(uv_err.contains("403") && uv_err.contains("licence GPL-3.0-only"), "{uv_err}");
    assert!(uv_err.contains("licences.deny: GPL-3.0-only"), "{uv_err}");

    let out = venv.pip(&["install", "--index-url", &gate.url, "demo-mit==1.0"]);
    assert!(out.status.success(), "{}", show(&out));
    let out = venv.uv_pip(&["install", "--reinstall", "--index-url", &gate.url, "demo-mit==1.0"]);
    assert!(out.status.success(), "{}", show(&out));
    assert_eq!(venv.run("import demo_mit; print(demo_mit.VERSION)").trim(), "1.0");

    // The audit log keeps the licence reason; the served MIT wheel has none.
    let audit = gate.audit();
    let blocks: Vec<_> = audit.iter().filter(|r| r["decision"] == "block" && r["project"] == "demo-gpl").collect();
    assert!(blocks.len() >= 2, "{audit:?}");
    for b in &blocks {
        assert_eq!(b["reasons"][0]["code"], "licence:denied", "{b}");
        let message = b["reasons"][0]["message"].as_str().unwrap();
        assert!(message.contains("GPL-3.0-only (License-Expression, demo_gpl-1.0.dist-info/METADATA"), "{message}");
    }
    let served: Vec<_> = audit.iter().filter(|r| r["project"] == "demo-mit" && r["decision"] == "serve").collect();
    assert!(!served.is_empty(), "{audit:?}");
    assert!(served.iter().all(|r| !r["reasons"].to_string().contains("licence:")), "{served:?}");

    // The report a user follows from the 403 shows the licence and where it was read.
    let sha = blocks[0]["sha256"].as_str().unwrap();
    let report = http().get(format!("{}/reports/{sha}", gate.base())).send().unwrap().text().unwrap();
    assert!(report.contains("Licence: GPL-3.0-only (from License-Expression)"), "{report}");
    assert!(report.contains("demo_gpl-1.0.dist-info/licenses/COPYING"), "{report}");
    let json: serde_json::Value = http()
        .get(format!("{}/reports/{sha}", gate.base()))
        .header("Accept", "application/json")
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(json["licence"]["expression"], "GPL-3.0-only");
    assert_eq!(json["licence"]["from"], "license-expression");
    let origins: Vec<&str> =
        json["licence"]["sources"].as_array().unwrap().iter().map(|s| s["origin"].as_str().unwrap()).collect();
    assert_eq!(origins, ["license-expression", "file"]);
}

#[test]
fn pipgate_scan_shows_the_licence_and_a_disagreeing_licence_file() {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("policy.yaml");
    std::fs::write(&policy, POLICY).unwrap();
    // Declares MIT, ships the GPL: served (MIT is not denied) but the mismatch is reported.
    let liar = wheel_with_headers(
        "demo-liar",
        "1.0",
        &[],
        "License-Expression: MIT\n",
        &[("demo_liar-1.0.dist-info/licenses/LICENSE", GPL3)],
    );
    let scan = |dist: &Dist| {
        let path = dir.path().join(&dist.filename);
        std::fs::write(&path, &dist.bytes).unwrap();
        std::process::Command::new(env!("CARGO_BIN_EXE_pipgate"))
            .args(["scan", path.to_str().unwrap(), "--policy", policy.to_str().unwrap()])
            .output()
            .unwrap()
    };
    let out = scan(&gpl_wheel());
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Licence: GPL-3.0-only (from License-Expression)"), "{text}");
    assert!(text.contains("licence GPL-3.0-only") && text.contains("(licence:denied)"), "{text}");

    let out = scan(&liar);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Licence: MIT (from License-Expression)"), "{text}");
    assert!(text.contains("metadata.licence-mismatch"), "{text}");
    assert!(text.contains("declared MIT (License-Expression), but the file reads as GPL-3.0-only"), "{text}");
}
