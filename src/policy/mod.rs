//! The risk-acceptance policy: raw YAML → validated, compiled [`Policy`] → [`Verdict`].
//!
//! Owns: the policy schema, validation with YAML path and line, rule evaluation,
//! acceptances with expiry, cooldown, allow/deny lists, licence rules and failure mode.
//! Must not: do I/O during evaluation (loading reads files; evaluating is pure),
//! scan, or know about HTTP. The schema and precedence are documented in `docs/policy.md`.

mod compile;
mod eval;
mod licence;
mod load;
mod locate;
mod report;
mod schema;

#[cfg(test)]
mod tests;

pub(crate) use crate::model::IndexMode;
pub use report::check_report;
pub(crate) use report::AcceptanceDue;
pub(crate) use schema::{Action, MissingUploadTime};

use crate::model::{Category, Severity};
pub(crate) use compile::EstablishedRule;
use compile::{Acceptance, ReleasePattern, Rule};
use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

/// Acceptances expiring within this many days are warned about by `policy check`.
pub(crate) const EXPIRY_WARNING_DAYS: i64 = 14;

/// Settings the policy file may carry for the proxy (flags win).
#[derive(Debug, Clone, Default)]
pub struct Settings {
    pub upstream: Option<String>,
    pub listen: Option<String>,
    /// Scanner limits (`scan_limits:`), defaults filled in. Read at start-up.
    pub scan_limits: crate::scan::Limits,
    /// Index authentication and limits (`auth:`, `limits:`); applied per request, so a
    /// reload takes effect at once.
    pub(crate) auth: crate::auth::Config,
}

/// A compiled, validated policy. Cheap to clone; `Send + Sync`; evaluation is pure.
#[derive(Debug, Clone)]
pub struct Policy {
    pub settings: Settings,
    /// sha256 (hex) of the resolved source texts, base files first.
    pub digest: String,
    /// Non-fatal remarks from loading (e.g. detector catalog unavailable).
    pub warnings: Vec<String>,
    /// The files this policy was read from, base first.
    pub sources: Vec<String>,
    dangerous_fail_open: bool,
    index: IndexMode,
    default_action: Action,
    severity_defaults: BTreeMap<Severity, Action>,
    category_defaults: BTreeMap<Category, Action>,
    rules: Vec<Rule>,
    acceptances: Vec<Acceptance>,
    allow: Vec<ReleasePattern>,
    deny: Vec<ReleasePattern>,
    min_age: time::Duration,
    exempt: Vec<ReleasePattern>,
    missing_upload_time: MissingUploadTime,
    sdist_install_hooks: Option<Action>,
    /// `licences:`; `None`: licences are not judged.
    licences: Option<licence::LicencePolicy>,
    /// `established:`; `None`: no block is lowered for established behaviour.
    established: Option<EstablishedRule>,
}

impl Default for Policy {
    /// The built-in policy (what an empty file means).
    fn default() -> Self {
        load::finish(compile::Partial::default(), String::new(), vec![], vec![])
    }
}

/// One thing wrong in a policy file, located by YAML path and line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: String,
    /// e.g. `rules[2].match.severity`; empty for whole-file problems.
    pub yaml_path: String,
    /// 1-based line, when it could be found.
    pub line: Option<usize>,
    /// What is wrong and what was expected.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if !self.yaml_path.is_empty() {
            write!(f, ": at {}", self.yaml_path)?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Why a policy could not be loaded: every problem found, each with file, path and line.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct PolicyError {
    /// The policy file that was asked for.
    pub path: String,
    /// All problems, one per line.
    pub message: String,
    pub problems: Vec<Problem>,
}

impl PolicyError {
    pub fn new(path: &str, problems: Vec<Problem>) -> Self {
        let lines: Vec<String> = problems.iter().map(Problem::to_string).collect();
        let message = match lines.len() {
            1 => format!("invalid policy: {}", lines[0]),
            n => format!("invalid policy ({n} problems):\n  {}", lines.join("\n  ")),
        };
        PolicyError { path: path.to_string(), message, problems }
    }
}

impl Policy {
    /// Load, merge (`extends`) and validate, checking detector ids against `crate::scan::catalog()`.
    pub fn load(path: &Path) -> Result<Policy, PolicyError> {
        let catalog = crate::scan::catalog();
        let known: Vec<&str> = catalog.iter().map(|m| m.id).collect();
        Self::load_with_catalog(path, &known)
    }

    /// Like [`Policy::load`] with an explicit list of known detector ids. An empty
    /// list means "catalog unavailable": ids are not checked and a warning says so.
    pub fn load_with_catalog(path: &Path, known: &[&str]) -> Result<Policy, PolicyError> {
        load::load(path, known)
    }

    /// Parse a policy from text, `name` standing for its file in messages. `extends` is
    /// refused here (there is no directory to resolve it against): use [`Policy::load`].
    pub fn from_str_with_catalog(name: &str, text: &str, known: &[&str]) -> Result<Policy, PolicyError> {
        load::from_text(name, text, known)
    }

    /// Whether the policy fails open (`dangerous_fail_open: true`).
    pub fn is_dangerously_fail_open(&self) -> bool {
        self.dangerous_fail_open
    }

    /// How blocked versions appear on index pages unless a rule says otherwise.
    pub fn index_mode(&self) -> IndexMode {
        self.index
    }
}
