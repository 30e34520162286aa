use super::*;

const MIT_TEXT: &str = "MIT License\n\nCopyright (c) 2024 Someone\n\nPermission is hereby granted, free of charge, to any person obtaining a copy\nof this software and associated documentation files (the \"Software\"), to deal\nin the Software without restriction...\n\nThe above copyright notice and this permission notice shall be included in all\ncopies or substantial portions of the Software.\n";
const GPL3_TEXT: &str = "                    GNU GENERAL PUBLIC LICENSE\n                       Version 3, 29 June 2007\n\n Copyright (C) 2007 Free Software Foundation, Inc.\n Everyone is permitted to copy and distribute verbatim copies\n...\n  This program is free software: you can redistribute it and/or modify\n  it under the terms of the GNU General Public License as published by\n  the Free Software Foundation, either version 3 of the License, or\n  (at your option) any later version.\n... use the GNU Lesser General Public License instead of this License.\n";
const GPL3_NOTICE: &str = "demo: a tool\nCopyright (C) 2024 Someone\n\nThis program is free software: you can redistribute it and/or modify it under the terms of\nthe GNU General Public License as published by the Free Software Foundation, either version 3\nof the License, or (at your option) any later version.\n\n                    GNU GENERAL PUBLIC LICENSE\n                       Version 3, 29 June 2007\n";
const LGPL21_TEXT: &str = "                  GNU LESSER GENERAL PUBLIC LICENSE\n                       Version 2.1, February 1999\n\n Copyright (C) 1991, 1999 Free Software Foundation, Inc.\n";
const APACHE_TEXT: &str = "\n                                 Apache License\n                           Version 2.0, January 2004\n                        http://www.apache.org/licenses/\n";
const BSD3_TEXT: &str = "Copyright (c) 2020, Someone\nAll rights reserved.\n\nRedistribution and use in source and binary forms, with or without\nmodification, are permitted provided that the following conditions are met:\n\n1. Redistributions of source code must retain the above copyright notice, this\n   list of conditions and the following disclaimer.\n\n3. Neither the name of the copyright holder nor the names of its\n   contributors may be used to endorse or promote products derived from\n   this software without specific prior written permission.\n";
const BSD2_TEXT: &str = "Copyright (c) 2020, Someone\n\nRedistribution and use in source and binary forms, with or without\nmodification, are permitted provided that the following conditions are met:\n\n1. Redistributions of source code must retain the above copyright notice, this\n   list of conditions and the following disclaimer.\n2. Redistributions in binary form must reproduce the above copyright notice.\n";
const ISC_TEXT: &str = "ISC License\n\nCopyright (c) 2020 Someone\n\nPermission to use, copy, modify, and/or distribute this software for any\npurpose with or without fee is hereby granted, provided that the above\ncopyright notice and this permission notice appear in all copies.\n";
const MPL_TEXT: &str = "Mozilla Public License Version 2.0\n==================================\n\n1. Definitions\n";
const AGPL_TEXT: &str =
    "                    GNU AFFERO GENERAL PUBLIC LICENSE\n                       Version 3, 19 November 2007\n";
const UNLICENSE_TEXT: &str = "This is free and unencumbered software released into the public domain.\n";
const PSF_TEXT: &str = "PYTHON SOFTWARE FOUNDATION LICENSE VERSION 2\n--------------------------------------------\n\n1. This LICENSE AGREEMENT is between the Python Software Foundation (\"PSF\"), and\nthe Individual or Organization (\"Licensee\")\n";

#[test]
fn licence_texts_are_recognised_by_their_phrases() {
    let cases: [(&str, &str, &[&str]); 14] = [
        ("MIT", MIT_TEXT, &["MIT"]),
        ("GPL-3.0 full text: the version scope is not in it", GPL3_TEXT, &["GPL-3.0-only"]),
        ("GPL-3.0 with an or-later notice on top", GPL3_NOTICE, &["GPL-3.0-or-later"]),
        ("LGPL-2.1 is not also read as the GPL", LGPL21_TEXT, &["LGPL-2.1-only"]),
        ("Apache-2.0", APACHE_TEXT, &["Apache-2.0"]),
        ("BSD-3-Clause", BSD3_TEXT, &["BSD-3-Clause"]),
        ("BSD-2-Clause (no endorsement clause)", BSD2_TEXT, &["BSD-2-Clause"]),
        ("ISC", ISC_TEXT, &["ISC"]),
        ("MPL-2.0", MPL_TEXT, &["MPL-2.0"]),
        ("AGPL-3.0", AGPL_TEXT, &["AGPL-3.0-only"]),
        ("Unlicense", UNLICENSE_TEXT, &["Unlicense"]),
        ("PSF-2.0", PSF_TEXT, &["PSF-2.0"]),
        ("two licences in one file", &format!("{MIT_TEXT}\n---\n{APACHE_TEXT}"), &["Apache-2.0", "MIT"]),
        ("a text that is no licence", "Copyright 2020 Someone. All rights reserved.\n", &[]),
    ];
    for (case, text, want) in cases {
        assert_eq!(recognise_text(text), want.to_vec(), "{case}");
    }
}

#[test]
fn metadata_values_are_normalised_to_spdx() {
    let cases: [(&str, Option<String>, Option<&str>); 14] = [
        ("expression kept", normalise_expression("MIT OR Apache-2.0"), Some("MIT OR Apache-2.0")),
        ("expression canonicalised", normalise_expression("MIT/Apache-2.0"), Some("MIT OR Apache-2.0")),
        ("deprecated GPL id", normalise_expression("GPL-3.0+"), Some("GPL-3.0-or-later")),
        ("not an expression", normalise_expression("see LICENSE file"), None),
        ("free text: common name", from_free_text("MIT License"), Some("MIT")),
        ("free text: Apache phrasing", from_free_text("Apache License, Version 2.0"), Some("Apache-2.0")),
        ("free text: new BSD", from_free_text("New BSD"), Some("BSD-3-Clause")),
        ("free text: an SPDX id", from_free_text("LGPL-2.1-or-later"), Some("LGPL-2.1-or-later")),
        ("free text: a pasted licence", from_free_text(MIT_TEXT), Some("MIT")),
        ("free text: unversioned BSD is a family, not a licence", from_free_text("BSD"), None),
        ("classifier MIT", from_classifier("License :: OSI Approved :: MIT License"), Some("MIT")),
        (
            "classifier GPLv3+",
            from_classifier("License :: OSI Approved :: GNU General Public License v3 or later (GPLv3+)"),
            Some("GPL-3.0-or-later"),
        ),
        ("classifier unversioned BSD", from_classifier("License :: OSI Approved :: BSD License"), None),
        ("not a licence classifier", from_classifier("Topic :: Software Development"), None),
    ];
    for (case, got, want) in cases {
        assert_eq!(got.as_deref(), want, "{case}");
    }
}

fn files(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter().map(|(p, t)| (p.to_string(), t.to_string())).collect()
}

/// (expression, origin, sources as `origin path spdx`, mismatch snippets with severity)
type Got = (Option<String>, Option<LicenceOrigin>, Vec<String>, Vec<(String, Severity)>);

fn run(kind: ArtifactKind, metadata: Option<&str>, list: &[(&str, &str)]) -> Got {
    let md_path = match kind {
        ArtifactKind::Wheel => "demo-1.0.dist-info/METADATA",
        _ => "demo-1.0/PKG-INFO",
    };
    let (licence, hits) = extract(kind, metadata.map(|m| (md_path, m)), &files(list));
    let sources = licence
        .sources
        .iter()
        .map(|s| format!("{} {} {}", s.origin.as_str(), s.path, s.spdx.as_deref().unwrap_or("?")))
        .collect();
    let hits = hits
        .into_iter()
        .map(|(m, h)| {
            assert_eq!(m.id, "metadata.licence-mismatch");
            (h.evidence.snippet.unwrap_or_default(), h.severity.unwrap_or(m.severity))
        })
        .collect();
    (licence.expression, licence.from, sources, hits)
}

#[test]
fn the_artifact_licence_comes_from_the_most_authoritative_source() {
    use ArtifactKind::{Sdist, Wheel};
    let wheel_md = "Metadata-Version: 2.4\nName: demo\nVersion: 1.0\nLicense-Expression: MIT\nLicense-File: LICENSE\nClassifier: License :: OSI Approved :: MIT License\n";
    let s = |v: &[&str]| v.iter().map(ToString::to_string).collect::<Vec<_>>();
    /// (case, kind, core metadata, licence-file candidates, what comes out)
    type Case<'a> = (&'a str, ArtifactKind, Option<&'a str>, Vec<(&'a str, &'a str)>, Got);
    let cases: [Case; 10] = [
        (
            "PEP 639 expression, agreeing licence file",
            Wheel,
            Some(wheel_md),
            vec![("demo-1.0.dist-info/licenses/LICENSE", MIT_TEXT)],
            (
                Some("MIT".into()),
                Some(LicenceOrigin::LicenseExpression),
                s(&[
                    "License-Expression demo-1.0.dist-info/METADATA MIT",
                    "classifier demo-1.0.dist-info/METADATA MIT",
                    "file demo-1.0.dist-info/licenses/LICENSE MIT",
                ]),
                vec![],
            ),
        ),
        (
            "classifiers only: several are joined with AND",
            Wheel,
            Some("Name: demo\nClassifier: License :: OSI Approved :: MIT License\nClassifier: License :: OSI Approved :: Apache Software License\nClassifier: License :: OSI Approved\n"),
            vec![],
            (
                Some("MIT AND Apache-2.0".into()),
                Some(LicenceOrigin::Classifier),
                s(&["classifier demo-1.0.dist-info/METADATA MIT", "classifier demo-1.0.dist-info/METADATA Apache-2.0"]),
                vec![],
            ),
        ),
        (
            "free-text License field wins over classifiers; UNKNOWN is no source",
            Sdist,
            Some("Name: demo\nLicense: GPLv3+\nLicense-Expression: UNKNOWN\nClassifier: License :: OSI Approved :: GNU General Public License (GPL)\n"),
            vec![],
            (
                Some("GPL-3.0-or-later".into()),
                Some(LicenceOrigin::License),
                s(&[
                    "License demo-1.0/PKG-INFO GPL-3.0-or-later",
                    "classifier demo-1.0/PKG-INFO ?",
                ]),
                vec![],
            ),
        ),
        (
            "no metadata licence: the top-level licence file decides; vendored ones are not the dist's",
            Sdist,
            Some("Name: demo\n"),
            vec![("demo-1.0/COPYING", GPL3_TEXT), ("demo-1.0/demo/_vendor/six/LICENSE", MIT_TEXT)],
            (Some("GPL-3.0-only".into()), Some(LicenceOrigin::File), s(&["file demo-1.0/COPYING GPL-3.0-only"]), vec![]),
        ),
        (
            "License-File names a file that is not at the top",
            Sdist,
            Some("Name: demo\nLicense-File: LICENSES/BSD.txt\n"),
            vec![("demo-1.0/LICENSES/BSD.txt", BSD3_TEXT)],
            (
                Some("BSD-3-Clause".into()),
                Some(LicenceOrigin::File),
                s(&["file demo-1.0/LICENSES/BSD.txt BSD-3-Clause"]),
                vec![],
            ),
        ),
        (
            "declared MIT, the file is the GPL: a medium mismatch (the file is stricter)",
            Wheel,
            Some("Name: demo\nLicense-Expression: MIT\n"),
            vec![("demo-1.0.dist-info/licenses/LICENSE", GPL3_TEXT)],
            (
                Some("MIT".into()),
                Some(LicenceOrigin::LicenseExpression),
                s(&[
                    "License-Expression demo-1.0.dist-info/METADATA MIT",
                    "file demo-1.0.dist-info/licenses/LICENSE GPL-3.0-only",
                ]),
                vec![(
                    "declared MIT (License-Expression), but the file reads as GPL-3.0-only".into(),
                    Severity::Medium,
                )],
            ),
        ),
        (
            "declared Apache-2.0, the file is BSD: a low mismatch; an LGPL package's GPL text agrees",
            Sdist,
            Some("Name: demo\nLicense: Apache 2.0\n"),
            vec![("demo-1.0/LICENSE.txt", BSD2_TEXT)],
            (
                Some("Apache-2.0".into()),
                Some(LicenceOrigin::License),
                s(&["License demo-1.0/PKG-INFO Apache-2.0", "file demo-1.0/LICENSE.txt BSD-2-Clause"]),
                vec![("declared Apache-2.0 (License), but the file reads as BSD-2-Clause".into(), Severity::Low)],
            ),
        ),
        (
            "an extra top-level licence beside an agreeing one is no disagreement (Django's LICENSE.python)",
            Wheel,
            Some("Name: demo\nLicense-Expression: BSD-3-Clause\n"),
            vec![("demo-1.0.dist-info/licenses/LICENSE", BSD3_TEXT), ("demo-1.0.dist-info/licenses/LICENSE.python", PSF_TEXT)],
            (
                Some("BSD-3-Clause".into()),
                Some(LicenceOrigin::LicenseExpression),
                s(&[
                    "License-Expression demo-1.0.dist-info/METADATA BSD-3-Clause",
                    "file demo-1.0.dist-info/licenses/LICENSE BSD-3-Clause",
                    "file demo-1.0.dist-info/licenses/LICENSE.python PSF-2.0",
                ]),
                vec![],
            ),
        ),
        (
            "vendored licences named by License-File are sources, not a disagreement",
            Wheel,
            Some("Name: demo\nLicense-Expression: MIT\nLicense-File: LICENSE\nLicense-File: demo/_vendor/x/LICENSE\n"),
            vec![("demo-1.0.dist-info/licenses/LICENSE", MIT_TEXT), ("demo-1.0.dist-info/licenses/demo/_vendor/x/LICENSE", APACHE_TEXT)],
            (
                Some("MIT".into()),
                Some(LicenceOrigin::LicenseExpression),
                s(&[
                    "License-Expression demo-1.0.dist-info/METADATA MIT",
                    "file demo-1.0.dist-info/licenses/LICENSE MIT",
                    "file demo-1.0.dist-info/licenses/demo/_vendor/x/LICENSE Apache-2.0",
                ]),
                vec![],
            ),
        ),
        (
            "LGPL declared with COPYING (GPL) and COPYING.LESSER: no mismatch; or-later vs only agree",
            Sdist,
            Some("Name: demo\nLicense-Expression: LGPL-3.0-or-later\n"),
            vec![
                ("demo-1.0/COPYING", GPL3_TEXT),
                ("demo-1.0/COPYING.LESSER", "GNU LESSER GENERAL PUBLIC LICENSE\nVersion 3, 29 June 2007\n"),
            ],
            (
                Some("LGPL-3.0-or-later".into()),
                Some(LicenceOrigin::LicenseExpression),
                s(&[
                    "License-Expression demo-1.0/PKG-INFO LGPL-3.0-or-later",
                    "file demo-1.0/COPYING GPL-3.0-only",
                    "file demo-1.0/COPYING.LESSER LGPL-3.0-only",
                ]),
                vec![],
            ),
        ),
    ];
    for (case, kind, md, list, want) in cases {
        assert_eq!(run(kind, md, &list), want, "{case}");
    }
}

#[test]
fn nothing_to_read_is_an_unknown_licence() {
    let (licence, hits) = extract(ArtifactKind::Wheel, None, &[]);
    assert_eq!((licence.expression, licence.from, licence.sources.len(), hits.len()), (None, None, 0, 0));
    let (licence, _) =
        extract(ArtifactKind::Sdist, Some(("d-1/PKG-INFO", "Name: d\nLicense: Proprietary, ask us\n")), &[]);
    assert_eq!(licence.expression, None, "an unrecognised statement is kept as a source, not guessed");
    assert_eq!(licence.sources[0].spdx, None);
    assert_eq!(licence.sources[0].text, "Proprietary, ask us");
}

#[test]
fn candidates_are_licence_named_or_in_dist_info_licenses() {
    let cases = [
        ("sdist LICENSE", "demo-1.0/LICENSE", true),
        ("licence spelling, any case", "demo-1.0/Licence.md", true),
        ("COPYING.LESSER", "demo-1.0/COPYING.LESSER", true),
        ("PEP 639 licenses dir, any name", "demo-1.0.dist-info/licenses/AUTHORS-NOTICE", true),
        ("code file", "demo/__init__.py", false),
        ("a module about licences is not a licence file", "demo/licensing.py", false),
        ("REUSE LICENSES/ directory", "demo-1.0/LICENSES/MIT.txt", true),
    ];
    for (case, path, want) in cases {
        assert_eq!(is_candidate(path), want, "{case}");
    }
    let kept = [
        ("wheel: a licence file in the package code is not the dist's", "demo/LICENSE", ArtifactKind::Wheel, None),
        ("wheel: PEP 639 top level", "demo-1.0.dist-info/licenses/LICENSE", ArtifactKind::Wheel, Some(true)),
        ("wheel: older dist-info", "demo-1.0.dist-info/LICENSE.txt", ArtifactKind::Wheel, Some(true)),
        (
            "wheel: vendored under licenses/",
            "demo-1.0.dist-info/licenses/vendor/six/LICENSE",
            ArtifactKind::Wheel,
            Some(false),
        ),
        ("sdist: top level", "demo-1.0/COPYING", ArtifactKind::Sdist, Some(true)),
        ("sdist: deeper (License-File may name it)", "demo-1.0/LICENSES/MIT.txt", ArtifactKind::Sdist, Some(false)),
        ("sdist: not a licence file", "demo-1.0/setup.py", ArtifactKind::Sdist, None),
    ];
    for (case, path, kind, want) in kept {
        assert_eq!(keep(path, kind), want, "{case}");
    }
}

/// `words` by byte gives what the character-wise words give: on every licence text here,
/// on them cut and joined, on non-ASCII separators and on random texts of licence words.
#[test]
fn byte_words_equal_the_character_words() {
    let texts = [
        MIT_TEXT,
        GPL3_TEXT,
        GPL3_NOTICE,
        LGPL21_TEXT,
        APACHE_TEXT,
        BSD3_TEXT,
        BSD2_TEXT,
        ISC_TEXT,
        MPL_TEXT,
        AGPL_TEXT,
        UNLICENSE_TEXT,
        PSF_TEXT,
        "",
        "   ",
        "Ünïcode — separators: MIT…License «the» 2.0+ end. ",
        "Redistribution\u{a0}and use in source and binary forms\u{2003}may be used to endorse or promote products",
    ];
    let mut cases: Vec<String> = texts.iter().map(ToString::to_string).collect();
    cases.push(texts.concat());
    for t in texts {
        for cut in [1, 7, 40] {
            let at = (0..=cut.min(t.len())).rev().find(|&i| t.is_char_boundary(i)).unwrap_or(0);
            cases.push(format!("{}é{}", &t[at..], &t[..at]));
        }
    }
    let vocabulary: Vec<&str> = texts.iter().flat_map(|t| t.split_whitespace()).collect();
    let mut seed: u64 = 0x243f_6a88_85a3_08d3;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let seps = [" ", "\n", ", ", " — ", "é", "\t", "  "];
    for _ in 0..2000 {
        let n = (next() % 80) as usize;
        let mut text = String::new();
        for _ in 0..n {
            text.push_str(vocabulary[(next() % vocabulary.len() as u64) as usize]);
            text.push_str(seps[(next() % seps.len() as u64) as usize]);
        }
        cases.push(text);
    }
    for (i, text) in cases.iter().enumerate() {
        assert_eq!(words(text), words_by_char(text), "words of case {i}: {text:?}");
    }
}
