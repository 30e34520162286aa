//! Known-exploited vulnerabilities in the CISA KEV JSON format
//! (`{"vulnerabilities": [{"cveID": "CVE-…", "dateAdded": "…", "dueDate": "…",
//! "knownRansomwareCampaignUse": "Known"|"Unknown", …}]}`), keyed by CVE id.
//! Must not: read files (the loader hands it bytes).

use serde::Deserialize;
use std::collections::HashMap;

/// One catalogue entry, as much of it as pipgate shows.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub(crate) struct KevEntry {
    #[serde(rename = "cveID")]
    pub cve: String,
    #[serde(rename = "dateAdded", default)]
    pub date_added: Option<String>,
    /// The remediation deadline the catalogue sets (binding on US federal agencies).
    #[serde(rename = "dueDate", default)]
    pub due_date: Option<String>,
    #[serde(rename = "knownRansomwareCampaignUse", default)]
    pub ransomware: Option<String>,
}

#[derive(Deserialize)]
struct Catalogue {
    vulnerabilities: Vec<KevEntry>,
}

/// The catalogue, by upper-case CVE id.
#[derive(Debug, Clone, Default)]
pub(crate) struct Kev {
    pub by_cve: HashMap<String, KevEntry>,
}

/// A file that is not a KEV catalogue (the operator's fault).
#[derive(Debug, thiserror::Error)]
#[error("not a known-exploited-vulnerabilities catalogue (expected {{\"vulnerabilities\": [{{\"cveID\": …}}]}}): {0}")]
pub(crate) struct KevError(pub String);

impl Kev {
    pub(crate) fn parse(bytes: &[u8]) -> Result<Kev, KevError> {
        let c: Catalogue = serde_json::from_slice(bytes).map_err(|e| KevError(e.to_string()))?;
        Ok(Kev { by_cve: c.vulnerabilities.into_iter().map(|e| (e.cve.trim().to_ascii_uppercase(), e)).collect() })
    }

    /// Whether bytes look like a KEV catalogue (to tell it from an OSV record on import).
    pub(crate) fn looks_like(bytes: &[u8]) -> bool {
        serde_json::from_slice::<Catalogue>(bytes).is_ok()
    }

    /// The entry for any of these ids (CVE aliases), if listed.
    pub(crate) fn find<'a>(&self, ids: impl IntoIterator<Item = &'a str>) -> Option<&KevEntry> {
        ids.into_iter().find_map(|id| self.by_cve.get(&id.to_ascii_uppercase()))
    }
}
