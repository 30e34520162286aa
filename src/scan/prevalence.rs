//! Prevalence: how many popular projects show each behaviour, from the baseline that
//! `pipgate baseline` writes (`data/baseline.json`, embedded).
//!
//! Owns: the baseline file's model, what one project's scans contribute to it
//! ([`Observed`], with indicators kept only when they are stable identifiers), the
//! aggregation into per-bucket counts (top 100 / 1,000 / 10,000), and the lookup the
//! reports label findings with ("common" / "uncommon").
//! Must not: fetch or scan (the `baseline` module does), decide.

use crate::model::{Category, Finding};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// The standard buckets: the top 100, 1,000 and 10,000 projects by downloads.
pub(crate) const BUCKETS: [u64; 3] = [100, 1_000, 10_000];

/// A behaviour seen in at least this share (percent) of the scanned projects of the
/// widest bucket is "common"; below it, "uncommon" (and ranked higher in reports).
pub(crate) const COMMON_PERCENT: u64 = 5;

/// What one project's scanned artifacts showed (one line of the baseline state file).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Observed {
    pub project: String,
    /// Download rank (1: most downloaded).
    pub rank: u64,
    #[serde(default)]
    pub artifacts: Vec<ArtifactSeen>,
    /// Why an artifact (or the page) could not be scanned.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failures: Vec<String>,
}

/// One scanned artifact: the detectors that fired and their stable indicators.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ArtifactSeen {
    pub filename: String,
    pub sha256: String,
    pub size: u64,
    pub detectors: BTreeSet<String>,
    /// `(detector, indicator)` pairs whose indicator is a stable identifier.
    #[serde(default)]
    pub indicators: BTreeSet<(String, String)>,
}

impl ArtifactSeen {
    pub(crate) fn of(filename: &str, sha256: &str, size: u64, findings: &[Finding]) -> Self {
        let detectors = findings.iter().map(|f| f.detector.clone()).collect();
        let indicators = findings
            .iter()
            .flat_map(|f| {
                f.evidence
                    .iter()
                    .filter_map(move |e| stable_indicator(f.category, e.indicator.as_deref()?))
                    .map(move |i| (f.detector.clone(), i))
            })
            .collect();
        ArtifactSeen { filename: filename.to_string(), sha256: sha256.to_string(), size, detectors, indicators }
    }
}

/// The indicator when it names an API rather than data: a dotted identifier
/// (`subprocess.Popen`, `os.system`) found by a behaviour detector. URLs, hosts, IPs,
/// e-mails and token prefixes are one package's data (and the baseline must not carry
/// them), so they count only through their detector.
pub(crate) fn stable_indicator(category: Category, indicator: &str) -> Option<String> {
    if !matches!(category, Category::Execution | Category::FileSystem | Category::Obfuscation | Category::Anomaly) {
        return None;
    }
    let ident = |s: &str| {
        let mut c = s.chars();
        c.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && c.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    };
    let ok = indicator.len() <= 64 && indicator.split('.').all(ident);
    ok.then(|| indicator.to_string())
}

/// The baseline file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Baseline {
    pub about: String,
    /// UTC date of the run (`YYYY-MM-DD`).
    pub date: String,
    /// N of `--top N`.
    pub top: u64,
    pub scanner_version: String,
    /// Bucket sizes, ascending (the standard ones below N, then N).
    pub buckets: Vec<u64>,
    /// Bucket → projects with at least one artifact scanned.
    pub scanned: BTreeMap<u64, u64>,
    /// Artifacts scanned.
    pub artifacts: u64,
    /// Detector → bucket → projects where it fired.
    pub detectors: BTreeMap<String, BTreeMap<u64, u64>>,
    /// Detector → stable indicator → bucket → projects where it fired with it.
    #[serde(default)]
    pub indicators: BTreeMap<String, BTreeMap<String, BTreeMap<u64, u64>>>,
}

/// The buckets of a `--top N` run: the standard ones below N, then N itself.
pub(crate) fn buckets_for(top: u64) -> Vec<u64> {
    BUCKETS.iter().copied().filter(|b| *b < top).chain(std::iter::once(top)).collect()
}

/// Count, per bucket, the projects (ranked within `top`) where each detector and each
/// (detector, indicator) appears in any of their artifacts. A project with no scanned
/// artifact counts in no bucket, not as clean; a project listed twice counts once.
pub(crate) fn aggregate(observed: &[Observed], top: u64, date: &str, scanner_version: &str) -> Baseline {
    let buckets = buckets_for(top);
    let mut scanned: BTreeMap<u64, u64> = buckets.iter().map(|b| (*b, 0)).collect();
    let mut detectors: BTreeMap<String, BTreeMap<u64, u64>> = BTreeMap::new();
    let mut indicators: BTreeMap<String, BTreeMap<String, BTreeMap<u64, u64>>> = BTreeMap::new();
    let mut artifacts = 0;
    let mut seen_projects = BTreeSet::new();
    for o in observed.iter().filter(|o| o.rank >= 1 && o.rank <= top && !o.artifacts.is_empty()) {
        if !seen_projects.insert(o.project.as_str()) {
            continue;
        }
        artifacts += o.artifacts.len() as u64;
        let fired: BTreeSet<&String> = o.artifacts.iter().flat_map(|a| &a.detectors).collect();
        let pairs: BTreeSet<&(String, String)> = o.artifacts.iter().flat_map(|a| &a.indicators).collect();
        for b in buckets.iter().filter(|b| o.rank <= **b) {
            *scanned.entry(*b).or_default() += 1;
            for d in &fired {
                *detectors.entry((*d).clone()).or_default().entry(*b).or_default() += 1;
            }
            for (d, i) in &pairs {
                *indicators.entry(d.clone()).or_default().entry(i.clone()).or_default().entry(*b).or_default() += 1;
            }
        }
    }
    Baseline {
        about: "per detector and per (detector, stable indicator): in how many of the top N projects (latest \
                release: its sdist and one wheel) it appears; written by `pipgate baseline`"
            .into(),
        date: date.to_string(),
        top,
        scanner_version: scanner_version.to_string(),
        buckets,
        scanned,
        artifacts,
        detectors,
        indicators,
    }
}

/// How common a detector's finding is among popular projects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Prevalence {
    /// `(bucket, projects where it fired, projects scanned in the bucket)`, ascending.
    pub counts: Vec<(u64, u64, u64)>,
    pub common: bool,
    pub date: String,
}

impl Prevalence {
    /// `common: in 36 of the top 100 / 290 of the top 1,000 projects (baseline 2026-11-30)`
    pub(crate) fn label(&self) -> String {
        let parts: Vec<String> =
            self.counts.iter().map(|(b, n, _)| format!("{n} of the top {}", thousands(*b))).collect();
        let class = if self.common { "common" } else { "uncommon" };
        format!("{class}: in {} projects (baseline {})", parts.join(" / "), self.date)
    }
}

impl Baseline {
    /// The prevalence of `detector` (0 where it never fired); `None` without scanned projects.
    pub(crate) fn prevalence(&self, detector: &str) -> Option<Prevalence> {
        let counts: Vec<(u64, u64, u64)> = self
            .buckets
            .iter()
            .map(|b| {
                let n = self.detectors.get(detector).and_then(|m| m.get(b)).copied().unwrap_or(0);
                (*b, n, self.scanned.get(b).copied().unwrap_or(0))
            })
            .collect();
        let &(_, n, scanned) = counts.last()?;
        if scanned == 0 {
            return None;
        }
        Some(Prevalence { common: n * 100 >= COMMON_PERCENT * scanned, counts, date: self.date.clone() })
    }
}

/// `1000` → `1,000`.
fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The shipped baseline (`data/baseline.json`).
static SHIPPED: std::sync::LazyLock<Option<Baseline>> =
    std::sync::LazyLock::new(|| serde_json::from_str(include_str!("../../data/baseline.json")).ok());

/// The shipped baseline's prevalence for a detector.
pub(crate) fn shipped(detector: &str) -> Option<Prevalence> {
    SHIPPED.as_ref()?.prevalence(detector)
}

/// Whether the shipped baseline calls a detector's finding uncommon (unknown: not uncommon).
pub(crate) fn is_uncommon(detector: &str) -> bool {
    shipped(detector).is_some_and(|p| !p.common)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Evidence, FileRole, Severity};

    fn finding(detector: &str, category: Category, indicators: &[&str]) -> Finding {
        Finding {
            detector: detector.into(),
            title: detector.into(),
            category,
            severity: Severity::Medium,
            message: String::new(),
            evidence: indicators
                .iter()
                .map(|i| Evidence {
                    path: "setup.py".into(),
                    line: Some(1),
                    column: None,
                    snippet: None,
                    indicator: Some((*i).into()),
                    role: FileRole::InstallTime,
                    severity: None,
                })
                .collect(),
        }
    }

    fn project(name: &str, rank: u64, artifacts: &[&[Finding]]) -> Observed {
        Observed {
            project: name.into(),
            rank,
            artifacts: artifacts.iter().map(|f| ArtifactSeen::of(&format!("{name}.whl"), "00", 1, f)).collect(),
            failures: vec![],
        }
    }

    #[test]
    fn indicators_are_kept_only_when_they_name_an_api() {
        let long = "a".repeat(65);
        let cases = [
            ("api name", Category::Execution, "subprocess.Popen", true),
            ("bare identifier", Category::Execution, "exec", true),
            ("url", Category::Network, "https://example.org/x", false),
            ("domain in a network finding", Category::Network, "example.org", false),
            ("email", Category::Hunting, "a@example.org", false),
            ("token prefix", Category::Secrets, "ghp_abc", false),
            ("command line in execution", Category::Execution, "/bin/sh -c", false),
            ("ip in execution", Category::Execution, "10.0.0.1", false),
            ("too long", Category::Execution, long.as_str(), false),
        ];
        for (case, cat, ind, want) in cases {
            assert_eq!(stable_indicator(cat, ind).is_some(), want, "{case}");
        }
    }

    #[test]
    fn buckets_are_the_standard_ones_below_n_then_n() {
        let cases: [(&str, u64, &[u64]); 4] = [
            ("tiny run", 3, &[3]),
            ("top 1000", 1000, &[100, 1000]),
            ("between", 1500, &[100, 1000, 1500]),
            ("past 10k", 14985, &[100, 1000, 10_000, 14985]),
        ];
        for (case, top, want) in cases {
            assert_eq!(buckets_for(top), want, "{case}");
        }
    }

    #[test]
    fn aggregation_counts_projects_per_bucket_once() {
        let proc_ = |ind| finding("execution.creates-process", Category::Execution, &[ind]);
        let dl = finding("network.downloads-file", Category::Network, &["https://example.org/f"]);
        let observed = vec![
            // Both artifacts fire the same detector: one project, counted once.
            project("a", 1, &[&[proc_("subprocess.Popen")], &[proc_("subprocess.Popen"), dl.clone()]]),
            project("b", 150, &[&[proc_("os.system")]]),
            project("c", 900, &[&[]]),
            // Scanned nothing: counts in no bucket.
            Observed { project: "d".into(), rank: 5, artifacts: vec![], failures: vec!["upstream 503".into()] },
            // Outside the top N.
            project("e", 1200, &[std::slice::from_ref(&dl)]),
            // Listed twice (a rerun's line): counted once.
            project("b", 150, &[&[proc_("os.system")]]),
        ];
        let b = aggregate(&observed, 1000, "2026-11-30", "v1");
        assert_eq!(b.buckets, vec![100, 1000]);
        assert_eq!(b.scanned, BTreeMap::from([(100, 1), (1000, 3)]), "scanned per bucket");
        assert_eq!(b.artifacts, 4);
        assert_eq!(b.detectors["execution.creates-process"], BTreeMap::from([(100, 1), (1000, 2)]));
        assert_eq!(b.detectors["network.downloads-file"], BTreeMap::from([(100, 1), (1000, 1)]));
        assert_eq!(
            b.indicators["execution.creates-process"]["subprocess.Popen"],
            BTreeMap::from([(100, 1), (1000, 1)])
        );
        assert_eq!(b.indicators["execution.creates-process"]["os.system"], BTreeMap::from([(1000, 1)]));
        assert!(!b.indicators.contains_key("network.downloads-file"), "URLs are not indicators");
        let text = serde_json::to_string(&b).unwrap();
        assert!(!text.contains("example.org"), "no URL or host in the baseline: {text}");
        let back: Baseline = serde_json::from_str(&text).unwrap();
        assert_eq!(back, b, "the file reads back");
    }

    #[test]
    fn labels_say_common_or_uncommon_with_counts_per_bucket() {
        let mut b = aggregate(&[], 1000, "2026-11-30", "v1");
        b.scanned = BTreeMap::from([(100, 100), (1000, 1000)]);
        b.detectors.insert("x.common".into(), BTreeMap::from([(100, 36), (1000, 290)]));
        b.detectors.insert("x.rare".into(), BTreeMap::from([(1000, 12)]));
        let cases = [
            (
                "common",
                "x.common",
                "common: in 36 of the top 100 / 290 of the top 1,000 projects (baseline 2026-11-30)",
            ),
            (
                "uncommon",
                "x.rare",
                "uncommon: in 0 of the top 100 / 12 of the top 1,000 projects (baseline 2026-11-30)",
            ),
            (
                "never seen",
                "x.none",
                "uncommon: in 0 of the top 100 / 0 of the top 1,000 projects (baseline 2026-11-30)",
            ),
        ];
        for (case, detector, want) in cases {
            assert_eq!(b.prevalence(detector).unwrap().label(), want, "{case}");
        }
        assert_eq!(aggregate(&[], 10, "d", "v").prevalence("x.common"), None, "nothing scanned: no label");
    }

    #[test]
    fn the_shipped_baseline_parses_and_covers_its_n() {
        let b = SHIPPED.as_ref().expect("data/baseline.json parses");
        assert!(b.top >= 1000, "the shipped baseline covers at least the top 1,000");
        assert!(b.scanned.get(&100).copied().unwrap_or(0) >= 80, "most of the top 100 were scanned");
        assert!(b.detectors.contains_key("execution.creates-process"), "a common behaviour is in it");
        assert!(!is_uncommon("execution.creates-process"), "most popular projects start processes");
        assert!(is_uncommon("network.reverse-shell"), "few popular projects open a reverse shell");
        assert!(
            !is_uncommon("no.such-detector") || shipped("no.such-detector").is_some(),
            "unknown ids are labelled, never panic"
        );
    }
}
