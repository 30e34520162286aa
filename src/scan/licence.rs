//! Licences read from the archive bytes: PEP 639 `License-Expression`, the free-text
//! `License` field, `License :: …` trove classifiers and the licence files shipped in the
//! archive (recognised by their text), each normalised to SPDX and kept with where it came
//! from; and the `metadata.licence-mismatch` finding when the declared licence and a
//! licence file disagree.
//!
//! Owns: which members are licence files, the classifier and free-text tables, the
//! licence-text matcher, choosing the artifact's expression. Must not: judge a licence
//! (allowed or not is the policy's business: it changes with the policy, not the bytes),
//! do I/O, or read members itself (the engine hands over their text).
//!
//! The matcher is a small table of phrases distinctive of each licence, not the `spdx`
//! crate's `detection` feature: that one loads every SPDX licence text (a 2 MiB compressed
//! cache, a zstd build) into each process and compares n-grams against all of them, while
//! the licences Python packages actually ship are a short list recognised here by phrases
//! in microseconds. A text it does not know is reported as not recognised, never guessed.

use super::detector::{DetectorMeta, Hit};
use crate::metadata::CoreMetadata;
use crate::model::{ArtifactKind, Category, Evidence, FileRole, Licence, LicenceOrigin, LicenceSource, Severity};
use spdx::Expression;

/// Declared licence and licence file disagree.
pub(crate) static MISMATCH: DetectorMeta = DetectorMeta {
    id: "metadata.licence-mismatch",
    revision: super::ENGINE_REVISION,
    title: "Declared licence disagrees with a licence file.",
    category: Category::Metadata,
    severity: Severity::Low,
    description: "The licence the metadata declares (License-Expression, License or classifiers) is not the one a licence file in the archive reads as. Either the metadata is wrong (the package may be under a stricter licence than it says) or the file is; check which one the authors mean before relying on either.",
};

/// This module's finding metas, for [`crate::scan::catalog`].
pub(crate) fn catalog() -> Vec<&'static DetectorMeta> {
    vec![&MISMATCH]
}

/// Licence files kept per artifact beyond the top-level ones (which are always kept, up to
/// twice as many), and bytes kept of each.
pub(crate) const MAX_FILES: usize = 32;
pub(crate) const MAX_FILE_BYTES: usize = 64 << 10;

/// Whether a member may be a licence file worth keeping while walking: named `LICENSE*`,
/// `LICENCE*` or `COPYING*` (any case, anywhere), or anything in a directory so named (a
/// wheel's `.dist-info/licenses/` of PEP 639, REUSE's `LICENSES/`). [`extract`] keeps only
/// the top-level ones and those that `License-File` names.
pub(crate) fn is_candidate(path: &str) -> bool {
    let named = |part: &str| {
        let lower = part.to_ascii_lowercase();
        ["license", "licence", "copying"].iter().any(|p| lower.starts_with(p))
    };
    let mut parts = path.rsplit('/');
    let base = parts.next().unwrap_or(path);
    named(base)
        || parts.any(|dir| ["license", "licenses", "licence", "licences"].iter().any(|d| dir.eq_ignore_ascii_case(d)))
}

/// Whether a member is worth keeping while walking (bounded by [`MAX_FILES`]), and whether
/// it is a top-level licence file of the distribution (kept even past that bound, so vendored
/// licence files met first cannot crowd it out). `None`: not a licence file of this kind of
/// artifact (a wheel's licence files live in its `.dist-info`).
pub(crate) fn keep(path: &str, kind: ArtifactKind) -> Option<bool> {
    if !is_candidate(path) {
        return None;
    }
    let rel = relative(path, kind)?;
    Some(!rel.contains('/') && is_candidate(rel))
}

/// A licence file's place in the archive, relative to what `License-File` names: the part
/// after `.dist-info/licenses/` (wheel), or after `.dist-info/` (older wheels), or after
/// the sdist's top directory.
fn relative(path: &str, kind: ArtifactKind) -> Option<&str> {
    if let Some((_, rest)) = path.split_once(".dist-info/licenses/") {
        return Some(rest);
    }
    if let Some((_, rest)) = path.split_once(".dist-info/") {
        return Some(rest);
    }
    match kind {
        ArtifactKind::Wheel => None, // a LICENSE inside the package code is the code's, not the dist's
        _ => Some(super::roles::strip_sdist_prefix(path, kind)),
    }
}

/// The artifact's licence, and the mismatch hits, from its core metadata (path, text) and the
/// licence-file candidates kept while walking (path, text).
pub(crate) fn extract(
    kind: ArtifactKind,
    core: Option<(&str, &str)>,
    files: &[(String, String)],
) -> (Licence, Vec<(&'static DetectorMeta, Hit)>) {
    let mut sources: Vec<LicenceSource> = Vec::new();
    let mut named: Vec<String> = Vec::new();
    if let Some((path, text)) = core {
        let md = CoreMetadata::parse(text);
        for h in &md.headers {
            let value = h.value.trim();
            let origin = if h.name.eq_ignore_ascii_case("License-Expression") {
                LicenceOrigin::LicenseExpression
            } else if h.name.eq_ignore_ascii_case("License") {
                LicenceOrigin::License
            } else if h.name.eq_ignore_ascii_case("Classifier") && value.starts_with("License ::") {
                LicenceOrigin::Classifier
            } else {
                if h.name.eq_ignore_ascii_case("License-File") {
                    named.push(value.to_string());
                }
                continue;
            };
            if value.is_empty() || value.eq_ignore_ascii_case("UNKNOWN") {
                continue;
            }
            let spdx = match origin {
                LicenceOrigin::LicenseExpression => normalise_expression(value),
                LicenceOrigin::License => from_free_text(value),
                _ => from_classifier(value),
            };
            // "License :: OSI Approved" alone names no licence: not a source.
            if origin == LicenceOrigin::Classifier && value == "License :: OSI Approved" {
                continue;
            }
            sources.push(LicenceSource {
                origin,
                path: path.to_string(),
                line: Some(h.line),
                text: clip_line(value),
                spdx,
            });
        }
    }
    for (path, text) in files {
        let Some(rel) = relative(path, kind) else { continue };
        let top_level = !rel.contains('/') && is_candidate(rel);
        if !(top_level || named.iter().any(|n| n == rel)) {
            continue;
        }
        let ids = recognise_text(text);
        let spdx = (!ids.is_empty()).then(|| ids.join(" AND "));
        let first = text.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("");
        sources.push(LicenceSource {
            origin: LicenceOrigin::File,
            path: path.clone(),
            line: None,
            text: clip_line(first),
            spdx,
        });
    }
    let mut licence = Licence { expression: None, from: None, sources };
    let order =
        [LicenceOrigin::LicenseExpression, LicenceOrigin::License, LicenceOrigin::Classifier, LicenceOrigin::File];
    // With no declaration, the distribution's own (top-level) licence files speak for it;
    // vendored ones only when it has none.
    let own: Vec<LicenceSource> = licence
        .sources
        .iter()
        .filter(|s| s.origin == LicenceOrigin::File && relative(&s.path, kind).is_some_and(|r| !r.contains('/')))
        .cloned()
        .collect();
    for origin in order {
        let found = match origin {
            LicenceOrigin::File => joined(&own, origin).or_else(|| joined(&licence.sources, origin)),
            _ => joined(&licence.sources, origin),
        };
        if let Some(expr) = found {
            licence.expression = Some(expr);
            licence.from = Some(origin);
            break;
        }
    }
    let hits = mismatches(&licence, kind);
    (licence, hits)
}

/// The recognised expressions of one origin, joined with `AND` (each once), in order.
fn joined(sources: &[LicenceSource], origin: LicenceOrigin) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for s in sources.iter().filter(|s| s.origin == origin) {
        if let Some(e) = s.spdx.as_deref() {
            if !parts.contains(&e) {
                parts.push(e);
            }
        }
    }
    match parts.len() {
        0 => None,
        1 => Some(parts[0].to_string()),
        _ => {
            let wrapped: Vec<String> =
                parts.iter().map(|p| if p.contains(" OR ") { format!("({p})") } else { p.to_string() }).collect();
            normalise_expression(&wrapped.join(" AND "))
        }
    }
}

/// The declared expression and the distribution's own licence files disagree: at least one
/// top-level licence file is recognised and none of them names a licence the declaration
/// names. Files deeper in the tree (vendored code's licences, which PEP 639 `License-File`
/// lists too) and extra top-level files beside an agreeing one (Django's `LICENSE.python`
/// for bundled code) are not a disagreement.
fn mismatches(licence: &Licence, kind: ArtifactKind) -> Vec<(&'static DetectorMeta, Hit)> {
    let Some(from) = licence.from.filter(|f| *f != LicenceOrigin::File) else { return vec![] };
    let Some(declared) = licence.expression.as_deref() else { return vec![] };
    let declared_families: Vec<String> = ids_of(declared).iter().map(|i| family(i)).collect();
    let covers = |file_id: &str| {
        let f = family(file_id);
        // An LGPL package ships the GPL text it builds on (LGPL-3.0 is GPL-3.0 plus permissions).
        declared_families.iter().any(|d| *d == f || d.strip_prefix('L') == Some(f.as_str()))
    };
    let own: Vec<(&LicenceSource, &str)> = licence
        .sources
        .iter()
        .filter(|s| s.origin == LicenceOrigin::File && relative(&s.path, kind).is_some_and(|r| !r.contains('/')))
        .filter_map(|s| s.spdx.as_deref().map(|found| (s, found)))
        .collect();
    if own.iter().any(|(_, found)| ids_of(found).iter().any(|i| covers(i))) {
        return vec![];
    }
    let mut hits = Vec::new();
    for (s, found) in own {
        let ids = ids_of(found);
        let stricter = ids.iter().any(|i| is_copyleft(i)) && !declared_families.iter().any(|d| is_copyleft(d));
        let snippet = format!("declared {declared} ({}), but the file reads as {found}", from.as_str());
        hits.push((
            &MISMATCH,
            Hit {
                severity: Some(if stricter { Severity::Medium } else { Severity::Low }),
                evidence: Evidence {
                    path: s.path.clone(),
                    line: None,
                    column: None,
                    snippet: Some(snippet),
                    indicator: Some(found.to_string()),
                    role: FileRole::Metadata,
                    severity: None,
                },
            },
        ));
    }
    hits
}

/// The licence ids (with `WITH` additions dropped) an expression names, in order.
pub(crate) fn ids_of(expression: &str) -> Vec<String> {
    match Expression::parse_mode(expression, spdx::ParseMode::LAX) {
        Ok(e) => e.requirements().map(|r| r.req.license.to_string()).collect(),
        Err(_) => vec![],
    }
}

/// A licence without its version scope: `GPL-3.0-only`, `GPL-3.0-or-later` and `GPL-3.0+`
/// are all `GPL-3.0` (the same licence text).
pub(crate) fn family(id: &str) -> String {
    let id = id.trim_end_matches('+');
    let id = id.strip_suffix("-only").or_else(|| id.strip_suffix("-or-later")).unwrap_or(id);
    id.to_string()
}

fn is_copyleft(id: &str) -> bool {
    ["GPL-", "AGPL-", "LGPL-", "MPL-", "EUPL-", "EPL-", "CDDL-", "OSL-", "SSPL-"].iter().any(|p| id.starts_with(p))
}

/// A PEP 639 expression (or anything the `spdx` crate can canonicalise: `Apache-2.0/MIT`,
/// `GPL-3.0+`), as its canonical SPDX text; `None` when it is not a valid expression.
pub(crate) fn normalise_expression(text: &str) -> Option<String> {
    let text = text.trim();
    if text.is_empty() || text.len() > 1000 {
        return None;
    }
    let canonical = match Expression::canonicalize(text) {
        Ok(Some(c)) => c,
        Ok(None) => text.to_string(),
        Err(_) => return None,
    };
    Expression::parse(&canonical).ok().map(|_| canonical)
}

/// Lowercase words of `text` (letters, digits, `.`, `+`), one space between them. By
/// byte: every byte of a non-ASCII character is a separator like the character itself,
/// so the words are those of [`words_by_char`] (tests), without decoding characters.
fn words(text: &str) -> String {
    let mut out = Vec::with_capacity(text.len());
    let mut space = true;
    for &c in text.as_bytes() {
        if c.is_ascii_alphanumeric() || c == b'.' || c == b'+' {
            out.push(c.to_ascii_lowercase());
            space = false;
        } else if !space {
            out.push(b' ');
            space = true;
        }
    }
    if out.last() == Some(&b' ') {
        out.pop();
    }
    // Only ASCII bytes were pushed.
    String::from_utf8(out).unwrap_or_default()
}

/// [`words`] as first written, character by character: its tests' reference.
#[cfg(test)]
fn words_by_char(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut space = true;
    for c in text.chars() {
        if c.is_ascii_alphanumeric() || c == '.' || c == '+' {
            out.push(c.to_ascii_lowercase());
            space = false;
        } else if !space {
            out.push(' ');
            space = true;
        }
    }
    out.trim_end().to_string()
}

/// Common ways the free-text `License` field names a licence, as [`words`].
const FREE_TEXT: &[(&[&str], &str)] = &[
    (&["mit", "mit license", "the mit license", "mit licence", "expat", "mit expat", "the mit license mit"], "MIT"),
    (
        &[
            "bsd 3 clause",
            "bsd 3 clause license",
            "3 clause bsd",
            "3 clause bsd license",
            "new bsd",
            "new bsd license",
            "modified bsd",
            "modified bsd license",
            "revised bsd",
            "bsd new",
            "bsd3",
        ],
        "BSD-3-Clause",
    ),
    (&["bsd 2 clause", "bsd 2 clause license", "2 clause bsd", "simplified bsd", "freebsd", "bsd2"], "BSD-2-Clause"),
    (
        &[
            "apache 2",
            "apache 2.0",
            "apache license 2.0",
            "apache license version 2.0",
            "apache software license",
            "apache software license 2.0",
            "apache software license version 2.0",
            "asl 2.0",
            "apache license v2",
            "apache v2",
            "apache 2 license",
            "apache license 2",
        ],
        "Apache-2.0",
    ),
    (
        &[
            "gplv3",
            "gpl v3",
            "gpl 3",
            "gpl3",
            "gnu gplv3",
            "gnu gpl v3",
            "gnu general public license v3",
            "gpl version 3",
        ],
        "GPL-3.0-only",
    ),
    (
        &["gplv3+", "gpl v3+", "gpl 3+", "gpl3+", "gnu gplv3+", "gnu general public license v3 or later"],
        "GPL-3.0-or-later",
    ),
    (
        &[
            "gplv2",
            "gpl v2",
            "gpl 2",
            "gpl2",
            "gnu gplv2",
            "gnu gpl v2",
            "gnu general public license v2",
            "gpl version 2",
        ],
        "GPL-2.0-only",
    ),
    (
        &["gplv2+", "gpl v2+", "gpl 2+", "gpl2+", "gnu gplv2+", "gnu general public license v2 or later"],
        "GPL-2.0-or-later",
    ),
    (&["lgplv3", "lgpl v3", "lgpl 3", "lgpl3", "gnu lgplv3", "gnu lesser general public license v3"], "LGPL-3.0-only"),
    (&["lgplv3+", "lgpl v3+", "lgpl3+", "gnu lgplv3+"], "LGPL-3.0-or-later"),
    (&["lgplv2.1", "lgpl v2.1", "lgpl 2.1", "lgpl2.1", "gnu lgplv2.1"], "LGPL-2.1-only"),
    (&["lgplv2.1+", "lgpl v2.1+", "lgpl 2.1+", "lgpl2.1+"], "LGPL-2.1-or-later"),
    (&["agplv3", "agpl v3", "agpl 3", "agpl3", "gnu agplv3", "gnu affero general public license v3"], "AGPL-3.0-only"),
    (&["agplv3+", "agpl v3+", "agpl3+"], "AGPL-3.0-or-later"),
    (&["mpl 2.0", "mpl2", "mpl 2", "mozilla public license 2.0", "mpl v2", "mpl v2.0"], "MPL-2.0"),
    (&["isc", "isc license", "iscl"], "ISC"),
    (
        &["psf", "psf license", "psfl", "python software foundation license", "python software foundation", "psf 2.0"],
        "PSF-2.0",
    ),
    (&["unlicense", "the unlicense"], "Unlicense"),
    (&["cc0", "cc0 1.0", "cc0 1.0 universal"], "CC0-1.0"),
    (&["zlib", "zlib license", "zlib libpng"], "Zlib"),
    (&["boost", "boost software license", "boost software license 1.0"], "BSL-1.0"),
];

/// Free-text names of a licence family (as [`words`]).
const AMBIGUOUS: &[&str] = &[
    "bsd",
    "bsd license",
    "bsd licence",
    "bsd like",
    "bsd style",
    "gpl",
    "gnu gpl",
    "gnu general public license",
    "lgpl",
    "gnu lgpl",
    "agpl",
    "mpl",
    "apache",
    "apache license",
    "cc by",
    "creative commons",
    "dual license",
    "other",
];

/// The free-text `License` field: a common name from the table, else a valid (or
/// canonicalisable) SPDX expression, else a pasted licence text recognised by [`recognise_text`].
pub(crate) fn from_free_text(value: &str) -> Option<String> {
    let w = words(value);
    if let Some((_, id)) = FREE_TEXT.iter().find(|(names, _)| names.contains(&w.as_str())) {
        return Some(id.to_string());
    }
    // Names of a family, not of one licence: the `spdx` crate's lax names would pick a
    // version (`BSD` → BSD-2-Clause); pipgate does not guess.
    if AMBIGUOUS.contains(&w.as_str()) {
        return None;
    }
    if !value.contains('\n') && value.len() <= 200 {
        if let Some(e) = normalise_expression(value) {
            return Some(e);
        }
    }
    let ids = recognise_text(value);
    (!ids.is_empty()).then(|| ids.join(" AND "))
}

/// `License :: …` trove classifiers that name one licence. Unversioned ones (`BSD License`,
/// `GNU General Public License (GPL)`) name a family, not a licence: not recognised.
const CLASSIFIERS: &[(&str, &str)] = &[
    ("OSI Approved :: MIT License", "MIT"),
    ("OSI Approved :: MIT No Attribution License (MIT-0)", "MIT-0"),
    ("OSI Approved :: Apache Software License", "Apache-2.0"),
    ("OSI Approved :: GNU General Public License v3 (GPLv3)", "GPL-3.0-only"),
    ("OSI Approved :: GNU General Public License v3 or later (GPLv3+)", "GPL-3.0-or-later"),
    ("OSI Approved :: GNU General Public License v2 (GPLv2)", "GPL-2.0-only"),
    ("OSI Approved :: GNU General Public License v2 or later (GPLv2+)", "GPL-2.0-or-later"),
    ("OSI Approved :: GNU Lesser General Public License v3 (LGPLv3)", "LGPL-3.0-only"),
    ("OSI Approved :: GNU Lesser General Public License v3 or later (LGPLv3+)", "LGPL-3.0-or-later"),
    ("OSI Approved :: GNU Lesser General Public License v2 (LGPLv2)", "LGPL-2.0-only"),
    ("OSI Approved :: GNU Lesser General Public License v2 or later (LGPLv2+)", "LGPL-2.0-or-later"),
    ("OSI Approved :: GNU Affero General Public License v3", "AGPL-3.0-only"),
    ("OSI Approved :: GNU Affero General Public License v3 or later (AGPLv3+)", "AGPL-3.0-or-later"),
    ("OSI Approved :: Mozilla Public License 2.0 (MPL 2.0)", "MPL-2.0"),
    ("OSI Approved :: Mozilla Public License 1.1 (MPL 1.1)", "MPL-1.1"),
    ("OSI Approved :: ISC License (ISCL)", "ISC"),
    ("OSI Approved :: Python Software Foundation License", "PSF-2.0"),
    ("OSI Approved :: The Unlicense (Unlicense)", "Unlicense"),
    ("OSI Approved :: Boost Software License 1.0 (BSL-1.0)", "BSL-1.0"),
    ("OSI Approved :: Eclipse Public License 2.0 (EPL-2.0)", "EPL-2.0"),
    ("OSI Approved :: European Union Public Licence 1.2 (EUPL 1.2)", "EUPL-1.2"),
    ("OSI Approved :: Universal Permissive License (UPL)", "UPL-1.0"),
    ("OSI Approved :: zlib/libpng License", "Zlib"),
    ("OSI Approved :: Historical Permission Notice and Disclaimer (HPND)", "HPND"),
    ("CC0 1.0 Universal (CC0 1.0) Public Domain Dedication", "CC0-1.0"),
];

/// A `License :: …` classifier's SPDX id, when it names exactly one licence.
pub(crate) fn from_classifier(value: &str) -> Option<String> {
    let rest = value.strip_prefix("License ::")?.trim();
    CLASSIFIERS.iter().find(|(c, _)| *c == rest).map(|(_, id)| id.to_string())
}

/// Phrases (as [`words`]) that all occur in one licence's text; none of `unless` may.
struct TextRule {
    id: &'static str,
    all: &'static [&'static str],
    unless: &'static [&'static str],
}

/// In order: the more specific first (LGPL and AGPL before GPL, BSD-3 before BSD-2).
const TEXT_RULES: &[TextRule] = &[
    TextRule { id: "AGPL-3.0", all: &["gnu affero general public license version 3 19 november 2007"], unless: &[] },
    TextRule { id: "LGPL-3.0", all: &["gnu lesser general public license version 3 29 june 2007"], unless: &[] },
    TextRule { id: "LGPL-2.1", all: &["gnu lesser general public license version 2.1 february 1999"], unless: &[] },
    TextRule { id: "LGPL-2.0", all: &["gnu library general public license version 2 june 1991"], unless: &[] },
    TextRule { id: "GPL-3.0", all: &["gnu general public license version 3 29 june 2007"], unless: &[] },
    TextRule { id: "GPL-2.0", all: &["gnu general public license version 2 june 1991"], unless: &[] },
    TextRule { id: "MPL-2.0", all: &["mozilla public license version 2.0"], unless: &[] },
    TextRule { id: "Apache-2.0", all: &["apache license version 2.0 january 2004"], unless: &[] },
    TextRule { id: "Apache-2.0", all: &["licensed under the apache license version 2.0"], unless: &[] },
    TextRule {
        id: "MIT",
        all: &[
            "permission is hereby granted free of charge to any person obtaining a copy",
            "the above copyright notice and this permission notice shall be included",
        ],
        unless: &[],
    },
    TextRule {
        id: "BSD-3-Clause",
        all: &["redistribution and use in source and binary forms", "may be used to endorse or promote products"],
        unless: &["all advertising materials mentioning features"],
    },
    TextRule {
        id: "BSD-2-Clause",
        all: &["redistribution and use in source and binary forms", "this list of conditions and the following disclaimer"],
        unless: &["all advertising materials mentioning features", "may be used to endorse or promote products"],
    },
    TextRule {
        id: "ISC",
        all: &[
            "permission to use copy modify and or distribute this software for any purpose with or without fee is hereby granted",
            "provided that the above copyright notice and this permission notice appear in all copies",
        ],
        unless: &[],
    },
    TextRule {
        id: "PSF-2.0",
        all: &["python software foundation", "license agreement"],
        unless: &["permission is hereby granted free of charge to any person"],
    },
    TextRule { id: "Unlicense", all: &["this is free and unencumbered software released into the public domain"], unless: &[] },
    TextRule { id: "CC0-1.0", all: &["cc0 1.0 universal"], unless: &[] },
    TextRule { id: "BSL-1.0", all: &["boost software license version 1.0"], unless: &[] },
    TextRule {
        id: "Zlib",
        all: &["altered source versions must be plainly marked as such", "this notice may not be removed or altered"],
        unless: &[],
    },
];

/// The licences a licence file's text reads as, by distinctive phrases, most specific
/// first; empty when none is recognised. GNU licences get `-or-later` when a notice before
/// the licence's title says "or (at your option) any later version", else `-only` (the
/// full text alone does not say which).
pub(crate) fn recognise_text(text: &str) -> Vec<String> {
    let text = &text[..floor_char_boundary(text, MAX_FILE_BYTES)];
    let w = words(text);
    let mut found: Vec<String> = Vec::new();
    for rule in TEXT_RULES {
        // `memmem`'s SIMD search: each rule's phrases are searched over the whole text.
        let has = |p: &&str| memchr::memmem::find(w.as_bytes(), p.as_bytes()).is_some();
        if rule.all.iter().all(has) && !rule.unless.iter().any(has) {
            let id = if ["GPL-", "LGPL-", "AGPL-"].iter().any(|p| rule.id.starts_with(p)) {
                // The full text's own "How to apply" appendix says "any later version" after
                // the title; a project's notice saying so comes before it.
                let title = w.find(rule.all[0]).unwrap_or(0);
                let later = w.find("or at your option any later version").is_some_and(|at| at < title);
                format!("{}-{}", rule.id, if later { "or-later" } else { "only" })
            } else {
                rule.id.to_string()
            };
            if !found.contains(&id) {
                found.push(id);
            }
        }
    }
    // The GPL text ends by pointing at the LGPL, and the LGPL builds on the GPL: a text that
    // reads as an LGPL (or the AGPL) is that, not also the GPL of the same version.
    let specific: Vec<String> = found.iter().filter(|f| !f.starts_with("GPL-")).map(|f| family(f)).collect();
    found.retain(|f| !(f.starts_with("GPL-") && specific.iter().any(|s| s.ends_with(&family(f)))));
    found
}

fn floor_char_boundary(s: &str, max: usize) -> usize {
    if s.len() <= max {
        return s.len();
    }
    let mut i = max;
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// One line, at most 200 characters: what a source shows of what was written.
fn clip_line(text: &str) -> String {
    let line = text.lines().next().unwrap_or("").trim();
    let end = floor_char_boundary(line, 200);
    if end < line.len() {
        format!("{}…", &line[..end])
    } else {
        line.to_string()
    }
}

#[cfg(test)]
mod tests;
