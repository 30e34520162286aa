//! `metadata.typosquat`: the project name imitates a popular one without being
//! it — one edit away (Damerau-Levenshtein 1, names ≥ 5 chars, targets in the top
//! 5,000; four-letter names only by two swapped letters of a top-500 name), separator swaps and word reorders (`python_dateutil`, `dateutil-python`),
//! homoglyphs (`rn`↔`m`, `0`↔`o`, `1`↔`l`, `vv`↔`w`) and affixes (`py`, `python-`,
//! `-python`, `-lib`, `-dev`, …).
//!
//! A name that is itself in the embedded popular list (`data/top-pypi-packages.tsv`)
//! is judged by the same rules, but only counts when the project it resembles is far
//! more popular ([`POPULAR_GAP`] times higher in rank): `tdqm` (rank ~8,900) imitating
//! `tqdm` (rank ~70) is flagged, two neighbours of similar popularity are not. A small
//! allowlist covers legitimate look-alike pairs. The evidence names the imitated project
//! and its rank.
//!
//! The name is one signal, and a name alone never blocks: this detector reports at most
//! medium. Whether a look-alike is corroborated (risky behaviour in the same artifact, the
//! project's age and releases, a known extension pattern such as `httpx2` or
//! `types-requests`) is weighed by the gate's name verdict (`gate::name`), which raises
//! a corroborated look-alike to high. [`imitates`], [`popular_rank`] and
//! [`extension_pattern`] are the pure helpers it shares with the gate.

use super::pysrc;
use crate::model::{normalize_project_name, Category, FileRole, Severity};
use crate::scan::detector::{Detector, DetectorMeta, Hit, Hits, Interest, Package};
use std::collections::HashMap;
use std::sync::LazyLock;

pub(crate) static META: DetectorMeta = DetectorMeta {
    id: "metadata.typosquat",
    revision: 2,
    title: "The package name imitates a popular package.",
    category: Category::Metadata,
    severity: Severity::Medium,
    description: "Look-alike names catch typos and copy-paste installs; typosquats are the most common way malicious packages reach users.",
};

pub(crate) const TOP: &str = include_str!("../../../data/top-pypi-packages.tsv");
/// Edit-distance targets: only the most downloaded (a typo of a niche name is rarely worth squatting).
const EDIT_TARGET_MAX_RANK: u32 = 5000;
/// Edit-distance targets for names of 5-6 characters.
const SHORT_NAME_MAX_RANK: u32 = 1000;
/// Swapped-letter targets for four-letter names.
const FOUR_LETTER_MAX_RANK: u32 = 500;
/// A popular name is a look-alike only of a project this many times higher in rank.
pub(crate) const POPULAR_GAP: u32 = 20;
/// Suffixes that name a sibling, fork or extension of a project (`httpx2`, `attrs-stubs`).
const EXTENSION_SUFFIXES: &[&str] =
    &["2", "3", "-2", "-3", "-core", "-stubs", "-types", "-cli", "-sdk", "-plugin", "-ext", "-extensions", "-async"];
/// Prefixes of ecosystem namespaces (`types-requests`, `django-redis`, `pytest-mock`, `pyyaml`).
const NAMESPACE_PREFIXES: &[&str] =
    &["types-", "django-", "flask-", "pytest-", "sphinx-", "mkdocs-", "fastapi-", "sqlalchemy-", "py"];
/// Legitimate (name, popular look-alike) pairs: the first is never flagged.
const ALLOW: &[(&str, &str)] = &[
    ("jinja", "jinja2"),
    ("pyyaml", "yaml"),
    ("python-jose", "jose"),
    ("nose2", "nose"),
    ("pep8", "pep8-naming"),
    ("pillow", "pil"),
];

struct Popular {
    /// normalised name → rank
    by_name: HashMap<String, u32>,
    /// separator-free name → (name, rank)
    by_sepless: HashMap<String, (String, u32)>,
    /// sorted words → (name, rank)
    by_words: HashMap<String, (String, u32)>,
    /// homoglyph-canonical → (name, rank)
    by_canon: HashMap<String, (String, u32)>,
    /// top names for edit distance, with rank
    edit: Vec<(String, u32)>,
    /// (length, first byte) and (length, last byte) of each name of `edit` → its indices into
    /// `edit`, in order (see [`Popular::one_edit_candidates`])
    edit_by_first: HashMap<(usize, u8), Vec<u32>>,
    edit_by_last: HashMap<(usize, u8), Vec<u32>>,
    /// top four-letter names, for swapped letters
    short: Vec<(String, u32)>,
}

fn sepless(n: &str) -> String {
    n.chars().filter(|c| *c != '-').collect()
}

fn words(n: &str) -> Option<String> {
    let mut w: Vec<&str> = n.split('-').collect();
    if w.len() < 2 {
        return None;
    }
    w.sort_unstable();
    Some(w.join("-"))
}

fn canon(n: &str) -> String {
    n.replace("rn", "m").replace("vv", "w").replace('0', "o").replace('1', "l").replace('-', "")
}

static POPULAR: LazyLock<Popular> = LazyLock::new(|| {
    let mut p = Popular {
        by_name: HashMap::new(),
        by_sepless: HashMap::new(),
        by_words: HashMap::new(),
        by_canon: HashMap::new(),
        edit: Vec::new(),
        edit_by_first: HashMap::new(),
        edit_by_last: HashMap::new(),
        short: Vec::new(),
    };
    for line in TOP.lines().skip(1) {
        let Some((rank, name)) = line.split_once('\t') else {
            continue;
        };
        let Ok(rank) = rank.trim().parse::<u32>() else {
            continue;
        };
        let name = normalize_project_name(name.trim());
        p.by_name.entry(name.clone()).or_insert(rank);
        p.by_sepless.entry(sepless(&name)).or_insert((name.clone(), rank));
        if let Some(w) = words(&name) {
            p.by_words.entry(w).or_insert((name.clone(), rank));
        }
        p.by_canon.entry(canon(&name)).or_insert((name.clone(), rank));
        if rank <= EDIT_TARGET_MAX_RANK && name.len() >= 5 {
            p.edit.push((name, rank));
        } else if rank <= FOUR_LETTER_MAX_RANK && name.len() == 4 {
            p.short.push((name, rank));
        }
    }
    for (i, (name, _)) in p.edit.iter().enumerate() {
        let b = name.as_bytes();
        if let (Some(&first), Some(&last)) = (b.first(), b.last()) {
            p.edit_by_first.entry((b.len(), first)).or_default().push(i as u32);
            p.edit_by_last.entry((b.len(), last)).or_default().push(i as u32);
        }
    }
    p
});

impl Popular {
    /// Indices into `edit` of every name that may be within one edit of `name` (a superset,
    /// confirmed by [`within_one`]), ascending: a few buckets instead of comparing the name with
    /// all of the top 5,000. One edit (a substitution, insertion, deletion or adjacent swap)
    /// between names of at least three bytes leaves the first byte or the last byte in place
    /// and changes the length by at most one, so the candidates are the names of length
    /// `len - 1 ..= len + 1` that share `name`'s first or its last byte. A shorter name is
    /// compared with every target.
    fn one_edit_candidates(&self, name: &str) -> Vec<u32> {
        let b = name.as_bytes();
        let (first, last) = match b {
            [first, .., last] if b.len() >= 3 => (*first, *last),
            _ => return (0..self.edit.len() as u32).collect(),
        };
        let mut out = Vec::new();
        for len in b.len() - 1..=b.len() + 1 {
            out.extend(self.edit_by_first.get(&(len, first)).into_iter().flatten());
            out.extend(self.edit_by_last.get(&(len, last)).into_iter().flatten());
        }
        out.sort_unstable();
        out.dedup();
        out
    }
}

/// Optimal-string-alignment distance ≤ 1 (one substitution, insertion, deletion or adjacent swap).
pub(crate) fn within_one(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a == b || a.len().abs_diff(b.len()) > 1 {
        return a == b;
    }
    let p = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let (ra, rb) = (&a[p..], &b[p..]);
    match ra.len().cmp(&rb.len()) {
        std::cmp::Ordering::Equal => {
            ra[1..] == rb[1..] || (ra.len() >= 2 && ra[0] == rb[1] && ra[1] == rb[0] && ra[2..] == rb[2..])
        }
        std::cmp::Ordering::Greater => ra[1..] == *rb,
        std::cmp::Ordering::Less => *ra == rb[1..],
    }
}

const PREFIXES: &[&str] = &["python-", "python3-", "py-", "python", "py"];
const SUFFIXES: &[&str] =
    &["-python", "-python3", "-py", "-lib", "-dev", "-sdk", "-api", "-client", "-tools", "py", "lib", "2", "3"];

/// The popular project `name` imitates: (popular, rank, how).
pub(crate) fn imitates(name: &str) -> Option<(String, u32, &'static str)> {
    capital_i_for_l(name).or_else(|| imitates_inner(name, false))
}

/// `jeIlyfish`: a capital `I` standing in for `l` (identical in many fonts). Checked
/// on the name as written, before normalisation lowercases the `I` away.
fn capital_i_for_l(name: &str) -> Option<(String, u32, &'static str)> {
    if !name.contains('I') {
        return None;
    }
    let p = &*POPULAR;
    let written = normalize_project_name(name);
    let swapped = normalize_project_name(&name.replace('I', "l"));
    if written == swapped || ALLOW.iter().any(|(a, _)| *a == written) {
        return None;
    }
    if p.by_name.get(&written).is_some_and(|&own| p.by_name.get(&swapped).is_none_or(|&t| own < t * POPULAR_GAP)) {
        return None;
    }
    p.by_name.get(&swapped).map(|&r| (swapped, r, "look-alike characters (capital I for l)"))
}

#[cfg(test)]
fn imitates_ignoring(name: &str) -> Option<(String, u32, &'static str)> {
    imitates_inner(name, true)
}

/// A project's rank in the embedded popular list, if it is there.
pub(crate) fn popular_rank(name: &str) -> Option<u32> {
    POPULAR.by_name.get(&normalize_project_name(name)).copied()
}

/// The known extension or namespace pattern `name` follows relative to `target`, if any:
/// `httpx2` → `2`, `types-requests` → `types-`.
pub(crate) fn extension_pattern(name: &str, target: &str) -> Option<&'static str> {
    let name = normalize_project_name(name);
    let suffix = EXTENSION_SUFFIXES.iter().find(|s| name.strip_suffix(*s) == Some(target));
    let prefix = || NAMESPACE_PREFIXES.iter().find(|p| name.strip_prefix(*p) == Some(target));
    suffix.or_else(prefix).copied()
}

fn imitates_inner(name: &str, probe: bool) -> Option<(String, u32, &'static str)> {
    let name = normalize_project_name(name);
    // Allowlisted legitimate look-alikes are never squats.
    if ALLOW.iter().any(|(a, _)| *a == name) {
        return None;
    }
    let hit = look_alike(&name)?;
    // A popular name counts only when what it resembles is far more popular, and only by
    // a deliberate-looking likeness (swapped letters, look-alike characters, separators,
    // word order): an added, dropped or changed letter between two popular names is far
    // more often two real projects (`fastai` / `fastapi`, `simpy` / `sympy`).
    match POPULAR.by_name.get(&name) {
        Some(&own) if !probe => {
            let deliberate = match hit.2 {
                "one edit away" => transposed(&name, &hit.0),
                how => !how.starts_with("popular name with"),
            };
            (deliberate && own >= hit.1.saturating_mul(POPULAR_GAP)).then_some(hit)
        }
        _ => Some(hit),
    }
}

/// Same letters with exactly one adjacent pair swapped (`tdqm` / `tqdm`).
fn transposed(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let diff: Vec<usize> = (0..a.len()).filter(|&i| a[i] != b[i]).collect();
    diff.len() == 2 && diff[1] == diff[0] + 1 && a[diff[0]] == b[diff[1]] && a[diff[1]] == b[diff[0]]
}

fn look_alike(name: &str) -> Option<(String, u32, &'static str)> {
    let name = name.to_string();
    let p = &*POPULAR;
    let allowed = |target: &str| ALLOW.iter().any(|(a, b)| *a == name && *b == target);
    let pick = |hit: Option<&(String, u32)>, how: &'static str| {
        hit.filter(|(t, _)| *t != name && !allowed(t)).map(|(t, r)| (t.clone(), *r, how))
    };
    if let Some(h) = pick(p.by_sepless.get(&sepless(&name)), "separators changed") {
        return Some(h);
    }
    if let Some(h) = words(&name).and_then(|w| pick(p.by_words.get(&w), "words reordered")) {
        return Some(h);
    }
    if let Some(h) = pick(p.by_canon.get(&canon(&name)), "look-alike characters") {
        return Some(h);
    }
    if name.len() == 4 {
        // Four letters collide by chance; only swapped letters of a top name are a typo.
        let hit = p
            .edit
            .iter()
            .chain(p.short.iter())
            .filter(|(t, r)| *r <= FOUR_LETTER_MAX_RANK && transposed(&name, t) && !allowed(t))
            .min_by_key(|(_, r)| *r);
        if let Some((t, r)) = hit {
            return Some((t.clone(), *r, "one edit away"));
        }
    }
    if name.len() >= 5 {
        // Short names collide by chance: only the very top is worth matching.
        let max_rank = if name.len() <= 6 { SHORT_NAME_MAX_RANK } else { EDIT_TARGET_MAX_RANK };
        let hit = p
            .one_edit_candidates(&name)
            .into_iter()
            .map(|i| &p.edit[i as usize])
            .filter(|(t, r)| *r <= max_rank && within_one(&name, t) && !allowed(t))
            .min_by_key(|(_, r)| *r);
        if let Some((t, r)) = hit {
            return Some((t.clone(), *r, "one edit away"));
        }
    }
    for pre in PREFIXES {
        if let Some(rest) = name.strip_prefix(pre) {
            let rest = rest.trim_start_matches('-');
            if let Some(&r) = p.by_name.get(rest).filter(|&&r| rest.len() >= 4 && r <= EDIT_TARGET_MAX_RANK) {
                if !allowed(rest) {
                    return Some((rest.to_string(), r, "popular name with a prefix"));
                }
            }
        }
    }
    for suf in SUFFIXES {
        if let Some(rest) = name.strip_suffix(suf) {
            let rest = rest.trim_end_matches('-');
            if let Some(&r) = p.by_name.get(rest).filter(|&&r| rest.len() >= 4 && r <= EDIT_TARGET_MAX_RANK) {
                if !allowed(rest) {
                    return Some((rest.to_string(), r, "popular name with a suffix"));
                }
            }
        }
    }
    None
}

pub(crate) struct Typosquat;

impl Detector for Typosquat {
    fn meta(&self) -> &'static DetectorMeta {
        &META
    }
    fn interest(&self) -> Interest {
        Interest::PackageOnly
    }
    fn scan_package(&self, pkg: &Package<'_>, hits: &mut Hits) {
        let from_metadata = pkg
            .core_metadata
            .and_then(|md| crate::metadata::CoreMetadata::parse(md).get("Name").map(|h| h.value.clone()));
        let Some(project) = pkg.project.or(from_metadata.as_deref()) else {
            return;
        };
        let Some((target, rank, how)) = imitates(project) else {
            return;
        };
        // A name alone is one signal: at most medium (the gate's name verdict raises a
        // corroborated look-alike). Affixes and look-alikes of less popular names are weaker.
        let sev = match how {
            "popular name with a prefix" | "popular name with a suffix" => Severity::Low,
            h if h.starts_with("look-alike characters") => Severity::Medium,
            _ if rank <= 2000 => Severity::Medium,
            _ => Severity::Low,
        };
        let snippet = format!("{} resembles {target} (rank {rank}): {how}", normalize_project_name(project));
        hits.push(
            &META,
            Hit {
                severity: Some(sev),
                evidence: pysrc::package_evidence(pkg.filename, FileRole::Metadata, target, Some(snippet)),
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ArtifactKind;
    use crate::scan::detectors::testutil::scan_pkg;

    #[test]
    fn name_from_metadata_when_filename_has_none() {
        let got = scan_pkg(
            &Typosquat,
            "weird.bin",
            None,
            ArtifactKind::Other,
            Some("Metadata-Version: 2.1\nName: reqeusts\n"),
            &[],
        );
        assert_eq!(got.len(), 1);
        assert_eq!((got[0].id, got[0].indicator.as_str()), (META.id, "requests"));
    }

    #[test]
    fn list_is_embedded() {
        assert!(POPULAR.by_name.len() > 14_000);
        assert_eq!(POPULAR.by_name.get("requests"), Some(&6));
    }

    #[test]
    fn extension_patterns() {
        for (case, name, target, want) in [
            ("digit suffix", "httpx2", "httpx", Some("2")),
            ("dash digit suffix", "httpcore-2", "httpcore", Some("-2")),
            ("stubs", "types-requests", "requests", Some("types-")),
            ("core", "pydantic-core", "pydantic", Some("-core")),
            ("framework namespace", "django-redis", "redis", Some("django-")),
            ("py prefix", "pyyaml", "yaml", Some("py")),
            ("a typo is no pattern", "reqeusts", "requests", None),
            ("other suffix", "requests-lib", "requests", None),
        ] {
            assert_eq!(extension_pattern(name, target), want, "{case}");
        }
    }

    #[test]
    fn popular_names_rarely_count_as_look_alikes() {
        // Consistency costs little: among the ~15k popular names, only deliberate-looking
        // likenesses of a far more popular project are flagged (measured 2026-11-29: 3,
        // `tdqm`, `psycopgbinary`, `git-python`).
        let flagged: Vec<&str> = POPULAR.by_name.keys().map(String::as_str).filter(|n| imitates(n).is_some()).collect();
        assert!(flagged.contains(&"tdqm"), "{flagged:?}");
        assert!(flagged.len() <= 5, "{} popular names flagged: {flagged:?}", flagged.len());
    }

    #[test]
    fn indexed_one_edit_candidates_are_every_name_within_one_edit() {
        // The bucket index must never miss a name the full comparison finds: for named
        // look-alikes and for random edits of popular names (and of random strings), the
        // confirmed candidates are exactly the names `within_one` accepts, in the same order.
        let p = &*POPULAR;
        let full = |name: &str| -> Vec<u32> {
            (0..p.edit.len() as u32).filter(|&i| within_one(name, &p.edit[i as usize].0)).collect()
        };
        let indexed = |name: &str| -> Vec<u32> {
            p.one_edit_candidates(name).into_iter().filter(|&i| within_one(name, &p.edit[i as usize].0)).collect()
        };
        let mut names: Vec<String> = [
            "reqeusts",
            "requets",
            "requestss",
            "requestz",
            "rqeuests",
            "colorama",
            "numpyy",
            "erquests",
            "requesst",
            "xrequests",
            "x",
            "",
            "ab",
            "abc",
        ]
        .map(String::from)
        .to_vec();
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = move |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as usize
        };
        let letters = b"abcdefghijklmnopqrstuvwxyz-0123456789";
        for _ in 0..3_000 {
            let mut b = p.edit[next(p.edit.len())].0.clone().into_bytes();
            match next(5) {
                0 if !b.is_empty() => {
                    let (i, c) = (next(b.len()), letters[next(letters.len())]);
                    b[i] = c;
                }
                1 => b.insert(next(b.len() + 1), letters[next(letters.len())]),
                2 if b.len() > 1 => {
                    b.remove(next(b.len()));
                }
                3 if b.len() > 1 => {
                    let i = next(b.len() - 1);
                    b.swap(i, i + 1);
                }
                _ => b = (0..5 + next(8)).map(|_| letters[next(letters.len())]).collect(),
            }
            names.push(String::from_utf8(b).expect("ascii"));
        }
        let mut found = 0;
        for name in &names {
            let want = full(name);
            found += usize::from(!want.is_empty());
            assert_eq!(indexed(name), want, "{name}");
        }
        assert!(found > 2_000, "most edits of popular names are within one edit of one: {found}");
    }

    #[test]
    fn within_one_edit() {
        for (a, b, want) in [
            ("reqeusts", "requests", true),
            ("requets", "requests", true),
            ("requestss", "requests", true),
            ("requestz", "requests", true),
            ("reqests", "requests", true),
            ("rqeuests", "requests", true),
            ("reqeutss", "requests", false),
        ] {
            assert_eq!(within_one(a, b), want, "{a} vs {b}");
        }
    }

    #[test]
    fn cases() {
        type Case<'a> = (&'a str, &'a str, Option<(&'a str, Severity, &'a str)>);
        let cases: &[Case] = &[
            ("transposition", "reqeusts", Some(("requests", Severity::Medium, "one edit away"))),
            ("a popular name far below what it imitates", "tdqm", Some(("tqdm", Severity::Medium, "one edit away"))),
            ("extension suffix is still a look-alike", "httpx2", Some(("httpx", Severity::Medium, "one edit away"))),
            ("separator swap", "python_date-util", Some(("python-dateutil", Severity::Medium, "separators changed"))),
            ("word reorder", "dateutil-python", Some(("python-dateutil", Severity::Medium, "words reordered"))),
            ("homoglyph", "co1orama", Some(("colorama", Severity::Medium, "look-alike characters"))),
            ("rn for m", "colorarna", Some(("colorama", Severity::Medium, "look-alike characters"))),
            ("suffix", "requests-lib", Some(("requests", Severity::Low, "popular name with a suffix"))),
            (
                "capital I for l",
                "jeIlyfish",
                Some(("jellyfish", Severity::Medium, "look-alike characters (capital I for l)")),
            ),
            ("capital I in a popular name's own spelling", "IPython", None),
            ("jellyfish itself", "jellyfish", None),
            ("popular itself", "requests", None),
            ("python-dateutil itself", "python-dateutil", None),
            ("popular with separators", "python_dateutil", None),
            ("popular look-alike pair", "discord.py", None),
            ("popular neighbours of similar rank", "httpcore", None),
            ("allowlisted", "jinja", None),
            ("unrelated", "zzq-frobnicator", None),
            ("short name", "pyx", None),
            ("four letters, not swapped", "tqdx", None),
        ];
        for (name, project, want) in cases {
            let fname = format!("{project}-1.0.tar.gz");
            let got = scan_pkg(&Typosquat, &fname, Some(project), ArtifactKind::Sdist, None, &[]);
            match want {
                None => assert!(got.is_empty(), "{name}: {got:?}"),
                Some((target, sev, how)) => {
                    let g = got.first().unwrap_or_else(|| panic!("{name}: no hit"));
                    assert_eq!(
                        (g.id, g.path.as_str(), g.indicator.as_str(), g.severity),
                        (META.id, fname.as_str(), *target, *sev),
                        "{name}"
                    );
                    assert!(g.snippet.contains(how) && g.snippet.contains("rank"), "{name}: {}", g.snippet);
                }
            }
        }
    }
}

/// Not a test of behaviour: a false-positive probe. Pretends every listed name
/// ranked below the edit targets were unknown and counts how many would be
/// flagged. Run with `cargo test --lib fp_probe -- --ignored --nocapture`.
#[cfg(test)]
mod fp_probe {
    #[test]
    #[ignore]
    fn probe() {
        let (mut n, mut total) = (0, 0);
        for line in super::TOP.lines().skip(1) {
            let Some((rank, name)) = line.split_once('\t') else {
                continue;
            };
            if rank.parse::<u32>().unwrap_or(0) <= super::EDIT_TARGET_MAX_RANK {
                continue;
            }
            total += 1;
            if let Some(h) = super::imitates_ignoring(name) {
                n += 1;
                eprintln!("{name} -> {h:?}");
            }
        }
        eprintln!("{n}/{total} would be flagged");
    }
}
