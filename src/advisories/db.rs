//! The advisory index: records from every source, looked up per (project, version) through
//! a map of normalised project names and per sha256 through a map of digests, turned into
//! findings (`malware.known`, `vulnerability.known`) with aliases merged, severity,
//! exploitation status and fixed versions.
//! Must not: read files (see `load`) or decide (the policy weighs the findings).

use super::kev::Kev;
use super::osv::Record;
use crate::model::{ArtifactFacts, Category, Evidence, Exploitation, FileRole, Finding, Severity};
use pep440_rs::Version;
use std::collections::HashMap;
use std::str::FromStr;

/// The finding id of a known-malware record.
pub(crate) const MALWARE: &str = "malware.known";
/// The finding id of a known vulnerability.
pub(crate) const VULNERABILITY: &str = "vulnerability.known";

/// One source as loaded, for `advisories status` and for attribution.
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct SourceInfo {
    pub name: String,
    /// A path, a URL, or `built in`.
    pub origin: String,
    /// Where the data comes from and its licence, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attribution: Option<String>,
    pub records: usize,
    pub malware: usize,
    pub withdrawn: usize,
    pub skipped: usize,
    /// The newest `modified` among its records.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub newest_record: Option<String>,
    /// When it was imported into the data directory.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub imported_at: Option<String>,
    #[serde(skip)]
    pub digest: String,
}

/// Every loaded record, indexed.
#[derive(Debug, Default)]
pub(crate) struct AdvisoryDb {
    records: Vec<(Record, usize)>,
    pub(crate) sources: Vec<SourceInfo>,
    /// Normalised project → (record, affected entry) pairs.
    by_project: HashMap<String, Vec<(u32, u32)>>,
    by_sha256: HashMap<String, Vec<u32>>,
    pub(crate) kev: Kev,
    /// Changes whenever any source's bytes change.
    pub(crate) revision: String,
    /// Source problems met while loading (a source left out), for status and logs.
    pub(crate) problems: Vec<String>,
}

/// A record matched for an artifact, and how.
struct Hit<'a> {
    record: &'a Record,
    source: &'a SourceInfo,
    by_hash: bool,
}

impl AdvisoryDb {
    /// Index the records of each source (records paired with their source's position).
    pub(crate) fn build(
        sources: Vec<(SourceInfo, Vec<Record>)>,
        kev: Kev,
        kev_digest: &str,
        problems: Vec<String>,
    ) -> Self {
        let mut db = AdvisoryDb { kev, problems, ..AdvisoryDb::default() };
        let mut rev = String::new();
        for (i, (info, records)) in sources.into_iter().enumerate() {
            rev.push_str(&format!("{}={}\n", info.name, info.digest));
            for r in records {
                let n = db.records.len() as u32;
                for (j, a) in r.affected.iter().enumerate() {
                    db.by_project.entry(a.project.clone()).or_default().push((n, j as u32));
                }
                for h in &r.sha256 {
                    db.by_sha256.entry(h.clone()).or_default().push(n);
                }
                db.records.push((r, i));
            }
            db.sources.push(info);
        }
        rev.push_str(&format!("kev={kev_digest}\n"));
        db.revision = crate::model::Sha256::digest(rev.as_bytes()).as_str()[..16].to_string();
        db
    }

    pub(crate) fn record_count(&self) -> usize {
        self.records.len()
    }

    /// The records naming this project and version (or this file's sha256).
    fn hits(&self, project: &str, version: Option<&str>, sha256: &str) -> Vec<Hit<'_>> {
        let mut seen: Vec<u32> = Vec::new();
        let mut out = Vec::new();
        if let Some(v) = version {
            let parsed = Version::from_str(v).ok();
            for &(r, a) in self.by_project.get(project).into_iter().flatten() {
                let (rec, src) = &self.records[r as usize];
                if !seen.contains(&r) && rec.affected[a as usize].contains(v, parsed.as_ref()) {
                    seen.push(r);
                    out.push(Hit { record: rec, source: &self.sources[*src], by_hash: false });
                }
            }
        }
        if !sha256.is_empty() {
            for &r in self.by_sha256.get(&sha256.to_ascii_lowercase()).into_iter().flatten() {
                let (rec, src) = &self.records[r as usize];
                if !seen.contains(&r) {
                    seen.push(r);
                    out.push(Hit { record: rec, source: &self.sources[*src], by_hash: true });
                } else if let Some(h) = out.iter_mut().find(|h| std::ptr::eq(h.record, rec)) {
                    h.by_hash = true;
                }
            }
        }
        out
    }

    /// What the advisories say about an artifact: one finding per known-malware group and
    /// per vulnerability group, records sharing an id or alias merged into one.
    pub(crate) fn findings(&self, facts: &ArtifactFacts) -> Vec<Finding> {
        let project = crate::model::normalize_project_name(&facts.project);
        let hits = self.hits(&project, facts.version.as_deref(), &facts.sha256);
        merge_groups(hits).into_iter().map(|g| self.finding(&project, facts.version.as_deref(), &g)).collect()
    }

    /// A known-malware record covering every version of the project: the reason to show it
    /// as PEP 792 `quarantined`.
    pub(crate) fn quarantine(&self, project: &str) -> Option<String> {
        self.by_project.get(project)?.iter().find_map(|&(r, a)| {
            let (rec, src) = &self.records[r as usize];
            (rec.malware && rec.affected[a as usize].every_version()).then(|| {
                let source = &self.sources[*src];
                format!("known malware ({}): {} [{}]", rec.id, clip(&rec.summary, 160), attribution(source))
            })
        })
    }

    fn finding(&self, project: &str, version: Option<&str>, group: &[Hit<'_>]) -> Finding {
        let malware = group.iter().any(|h| h.record.malware);
        let mut ids: Vec<&str> = Vec::new();
        for h in group {
            for id in std::iter::once(h.record.id.as_str()).chain(h.record.aliases.iter().map(String::as_str)) {
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
        }
        let role = FileRole::Metadata;
        let ev = |path: String, indicator: Option<String>, snippet: Option<String>| Evidence {
            path,
            line: None,
            column: None,
            snippet,
            indicator,
            role,
            severity: None,
        };
        let mut evidence: Vec<Evidence> = group
            .iter()
            .map(|h| {
                let aliases = h.record.aliases.join(", ");
                let how = if h.by_hash { "matched by this file's sha256" } else { "matched by project and version" };
                let snippet = format!("{} ({how})", clip(&h.record.summary, 200));
                ev(format!("advisory:{}", h.record.id), Some(aliases), Some(snippet))
            })
            .collect();
        let summary = group.iter().map(|h| h.record.summary.as_str()).find(|s| !s.is_empty()).unwrap_or("");
        let sources: Vec<String> = {
            let mut s: Vec<String> = group.iter().map(|h| attribution(h.source)).collect();
            s.dedup();
            s
        };
        // Where the data comes from, with its licence: the name as indicator, the attribution as text.
        let source_evidence = || -> Vec<Evidence> {
            let mut seen: Vec<&str> = Vec::new();
            group
                .iter()
                .filter(|h| {
                    let new = !seen.contains(&h.source.name.as_str());
                    seen.push(&h.source.name);
                    new
                })
                .map(|h| {
                    let text =
                        h.source.attribution.clone().unwrap_or_else(|| format!("imported from {}", h.source.origin));
                    ev("source".into(), Some(h.source.name.clone()), Some(text))
                })
                .collect()
        };
        let what = match version {
            Some(v) => format!("{project} {v}"),
            None => project.to_string(),
        };
        let head = format!("{} ({})", group[0].record.id, ids.iter().skip(1).copied().collect::<Vec<_>>().join(", "));
        let head = head.trim_end_matches(" ()").to_string();
        if malware {
            let mal_ids: Vec<&str> = ids.iter().copied().filter(|i| i.starts_with("MAL-")).collect();
            let by_hash = group.iter().any(|h| h.by_hash);
            let how = if by_hash { "this file's sha256 is listed" } else { "this release is listed" };
            evidence.extend(source_evidence());
            return Finding {
                detector: MALWARE.into(),
                title: format!("Known malware {}", mal_ids.first().copied().unwrap_or(group[0].record.id.as_str())),
                category: Category::Malware,
                severity: Severity::Critical,
                message: format!(
                    "{what} is known malware: {head}: {} ({how}; data: {})",
                    clip(summary, 200),
                    sources.join("; ")
                ),
                evidence,
            };
        }
        let rated = group.iter().filter_map(|h| h.record.severity.as_ref()).max_by_key(|s| s.severity);
        let (severity, how_rated, vector) = match rated {
            Some(r) => match &r.cvss {
                Some((vector, base)) => {
                    (r.severity, format!("CVSS base score {base:.1} from {vector}"), Some((vector.clone(), *base)))
                }
                None => (r.severity, format!("rated {} by the record", r.rating.as_deref().unwrap_or("?")), None),
            },
            None => (Severity::Medium, "unrated: no CVSS vector or rating in the record".to_string(), None),
        };
        evidence.push(ev(
            "severity".into(),
            vector.as_ref().map(|(v, _)| v.clone()),
            Some(format!("{severity}: {how_rated}")),
        ));
        let kev = self.kev.find(ids.iter().copied().filter(|i| i.starts_with("CVE-")));
        let (exploitation, exploit_note) = match kev {
            Some(k) if k.due_date.is_some() => (
                Exploitation::PatchingMandated,
                format!(
                    "{} is in the known-exploited list (added {}, remediation due {}{})",
                    k.cve,
                    k.date_added.as_deref().unwrap_or("?"),
                    k.due_date.as_deref().unwrap_or("?"),
                    ransomware(k)
                ),
            ),
            Some(k) => {
                (Exploitation::ExploitedInTheWild, format!("{} is in the known-exploited list{}", k.cve, ransomware(k)))
            }
            None if group.iter().any(|h| h.record.exploit_evidence) => {
                (Exploitation::ExploitExists, "the record references a demonstration of the exploit".into())
            }
            None => (Exploitation::ExploitsUnknown, "no known-exploited entry and no exploit reference".into()),
        };
        evidence.push(ev(
            Exploitation::EVIDENCE_PATH.into(),
            Some(exploitation.as_str().into()),
            Some(exploit_note.clone()),
        ));
        let fixed = fixed_versions(group, project, version);
        for f in &fixed {
            evidence.push(ev("fixed-in".into(), Some(f.clone()), None));
        }
        evidence.extend(source_evidence());
        let fixed_text = if fixed.is_empty() {
            "no fixed version known".to_string()
        } else {
            format!("fixed in {}", fixed.join(", "))
        };
        Finding {
            detector: VULNERABILITY.into(),
            title: format!("Known vulnerability {} ({fixed_text})", group[0].record.id),
            category: Category::Vulnerability,
            severity,
            message: format!(
                "{what}: {head}: {}; severity {severity} ({how_rated}); {exploitation} ({exploit_note}); {fixed_text} (data: {})",
                clip(summary, 200),
                sources.join("; ")
            ),
            evidence,
        }
    }
}

fn ransomware(k: &super::kev::KevEntry) -> &'static str {
    match k.ransomware.as_deref() {
        Some(r) if r.eq_ignore_ascii_case("known") => ", used in ransomware campaigns",
        _ => "",
    }
}

fn attribution(s: &SourceInfo) -> String {
    match &s.attribution {
        Some(a) => format!("{}: {a}", s.name),
        None => format!("{} ({})", s.name, s.origin),
    }
}

/// The fixed versions of the group's ranges for this project that are newer than
/// `version` (the upgrades that leave it), lowest first.
fn fixed_versions(group: &[Hit<'_>], project: &str, version: Option<&str>) -> Vec<String> {
    let current = version.and_then(|v| Version::from_str(v).ok());
    let mut out: Vec<(Version, String)> = Vec::new();
    for h in group {
        for a in h.record.affected.iter().filter(|a| a.project == project) {
            for f in &a.fixed {
                let Ok(v) = Version::from_str(f) else { continue };
                if current.as_ref().is_none_or(|c| &v > c) && !out.iter().any(|(x, _)| *x == v) {
                    out.push((v, f.clone()));
                }
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out.into_iter().map(|(_, s)| s).collect()
}

/// Group records that share an id or alias (a PYSEC and a GHSA record of one CVE), keeping
/// malware apart from vulnerabilities. Small inputs (one artifact's hits): quadratic is fine.
fn merge_groups(hits: Vec<Hit<'_>>) -> Vec<Vec<Hit<'_>>> {
    let mut groups: Vec<Vec<Hit<'_>>> = Vec::new();
    for h in hits {
        let names = |r: &Record| -> Vec<String> {
            std::iter::once(&r.id).chain(&r.aliases).map(|s| s.to_ascii_uppercase()).collect()
        };
        let mine = names(h.record);
        let joined: Vec<usize> = groups
            .iter()
            .enumerate()
            .filter(|(_, g)| {
                g[0].record.malware == h.record.malware
                    && g.iter().any(|o| names(o.record).iter().any(|n| mine.contains(n)))
            })
            .map(|(i, _)| i)
            .collect();
        match joined.split_first() {
            None => groups.push(vec![h]),
            Some((&first, rest)) => {
                for &i in rest.iter().rev() {
                    let moved = groups.remove(i);
                    groups[first].extend(moved);
                }
                groups[first].push(h);
            }
        }
    }
    groups
}

/// At most `n` characters, with an ellipsis when cut; one line.
fn clip(s: &str, n: usize) -> String {
    let one: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if one.chars().count() <= n {
        one
    } else {
        format!("{}...", one.chars().take(n).collect::<String>())
    }
}
