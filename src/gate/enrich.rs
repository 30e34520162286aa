//! Enrichment: findings from data that changes over time (advisories, known-malware feeds,
//! licences), merged between the scan and the policy.
//!
//! Owns: the [`Feed`] contract and the enrichment cache. The cache is keyed by the
//! artifact *and every feed's revision*, apart from the per-sha256 scan cache: when a feed
//! is updated its revision changes, the next request re-decides with the new data, and
//! nothing is rescanned.
//! Must not: do I/O while deciding (a feed loads and refreshes its data elsewhere and
//! answers [`Feed::findings`] from memory), or decide (the policy weighs what it returns).

use crate::model::{ArtifactFacts, Finding};
use std::sync::Arc;

/// One source of time-varying findings.
pub trait Feed: Send + Sync {
    /// Short stable name, e.g. `osv`.
    fn name(&self) -> &str;
    /// Changes whenever the feed's data changes (e.g. a digest or timestamp of its records).
    fn revision(&self) -> String;
    /// What the feed knows about this artifact. Pure: answered from loaded data.
    fn findings(&self, facts: &ArtifactFacts) -> Vec<Finding>;
    /// Why the whole project is quarantined (PEP 792: every version is known malware), if it is.
    fn quarantine(&self, _project: &str) -> Option<String> {
        None
    }
}

/// Every configured feed, with a bounded cache of their answers.
pub struct Enricher {
    feeds: Vec<Arc<dyn Feed>>,
    cache: moka::sync::Cache<String, Arc<Vec<Finding>>>,
}

impl Enricher {
    pub fn new(feeds: Vec<Arc<dyn Feed>>) -> Self {
        Enricher { feeds, cache: moka::sync::Cache::new(16_384) }
    }

    /// No feeds: enrichment adds nothing.
    pub fn none() -> Self {
        Enricher::new(vec![])
    }

    /// The first feed's reason to quarantine the project, if any.
    pub fn quarantine(&self, project: &str) -> Option<String> {
        self.feeds.iter().find_map(|f| f.quarantine(project))
    }

    /// Every feed's `name@revision`, one per line: changes whenever a feed's data does.
    pub fn revision(&self) -> String {
        self.feeds.iter().map(|f| format!("{}@{}", f.name(), f.revision())).collect::<Vec<_>>().join("\n")
    }

    /// Whether `seen` is the feeds' [`Enricher::revision`] now (without building it: one
    /// string per feed, its revision, instead of the joined text).
    pub fn revision_is(&self, seen: &str) -> bool {
        let mut rest = seen;
        for (i, f) in self.feeds.iter().enumerate() {
            let after_sep = if i == 0 { Some(rest) } else { rest.strip_prefix('\n') };
            let revision = f.revision();
            match after_sep.and_then(|r| r.strip_prefix(f.name())).and_then(|r| r.strip_prefix('@')) {
                Some(r) => match r.strip_prefix(revision.as_str()) {
                    Some(r) => rest = r,
                    None => return false,
                },
                None => return false,
            }
        }
        rest.is_empty()
    }

    /// The feeds' findings for an artifact, from the cache when no feed changed since.
    pub fn findings(&self, facts: &ArtifactFacts) -> Arc<Vec<Finding>> {
        if self.feeds.is_empty() {
            return Arc::new(vec![]);
        }
        let mut key = format!("{}\n{}\n{}", facts.sha256, facts.project, facts.version.as_deref().unwrap_or(""));
        for f in &self.feeds {
            key.push_str(&format!("\n{}@{}", f.name(), f.revision()));
        }
        self.cache.get_with(key, || Arc::new(self.feeds.iter().flat_map(|f| f.findings(facts)).collect()))
    }
}
