//! Validation and compilation of one policy file: raw strings → typed matchers
//! (globs, PEP 440 specifiers, durations, expiry instants), with every problem
//! reported as file, YAML path, line and what was expected.
//!
//! Owns: what counts as a valid value. Must not: read files (see `load`) or
//! evaluate anything (see `eval`).

use super::locate::{line_of, render, Seg};
use super::schema::{Action, MissingUploadTime, OneOrMany, RawAcceptance, RawKind, RawMatch, RawPolicy, RawRule};
use super::{IndexMode, Problem};
use crate::model::{normalize_project_name, ArtifactKind, Category, FileRole, Severity};
use pep440_rs::{Version, VersionSpecifiers};
use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;
use time::OffsetDateTime;

/// Finding ids the policy engine itself relies on, valid whatever the catalog says.
pub(super) const ENGINE_IDS: &[&str] = &[
    "anomaly.unreadable-archive",
    "execution.install-hook",
    crate::advisories::MALWARE,
    crate::advisories::VULNERABILITY,
];

/// A detector id pattern: exact id or glob.
#[derive(Debug, Clone)]
pub(super) struct IdPattern {
    pub(super) glob: glob::Pattern,
}

impl IdPattern {
    pub(super) fn matches(&self, id: &str) -> bool {
        self.glob.matches(id)
    }
}

/// A project-name glob, compared on PEP 503 normalised names.
#[derive(Debug, Clone)]
pub(super) struct NamePattern {
    glob: glob::Pattern,
}

impl NamePattern {
    pub(super) fn matches(&self, project: &str) -> bool {
        self.glob.matches(&normalize_project_name(project))
    }
}

/// An allow/deny/exempt entry: `name-glob` or exact `name==version`.
#[derive(Debug, Clone)]
pub(super) struct ReleasePattern {
    pub text: String,
    project: NamePattern,
    version: Option<String>,
}

impl ReleasePattern {
    pub(super) fn matches(&self, project: &str, version: Option<&str>) -> bool {
        if !self.project.matches(project) {
            return false;
        }
        match (&self.version, version) {
            (None, _) => true,
            (Some(_), None) => false,
            (Some(want), Some(have)) => crate::model::same_version(want, have),
        }
    }
}

/// Does `version` satisfy `spec`? An unparsable version satisfies nothing.
pub(super) fn spec_contains(spec: &VersionSpecifiers, version: Option<&str>) -> bool {
    version.and_then(|v| Version::from_str(v).ok()).is_some_and(|v| spec.contains(&v))
}

/// Compiled `match:` block. `None` means "any".
#[derive(Debug, Clone, Default)]
pub(super) struct Matcher {
    pub detectors: Option<Vec<IdPattern>>,
    pub categories: Option<Vec<Category>>,
    pub severities: Option<BTreeSet<Severity>>,
    pub projects: Option<Vec<NamePattern>>,
    pub version: Option<VersionSpecifiers>,
    pub kinds: Option<Vec<ArtifactKind>>,
    pub filenames: Option<Vec<glob::Pattern>>,
    pub roles: Option<Vec<FileRole>>,
    pub vulnerability: Option<VulnMatch>,
    /// `new_in_version`: the finding is (true) or is not (false) new since the previous
    /// release; never matches when the releases were not compared.
    pub new_in_version: Option<bool>,
}

#[derive(Debug, Clone)]
pub(super) struct VulnMatch {
    pub min_severity: Option<Severity>,
    pub exploited: Option<bool>,
}

#[derive(Debug, Clone)]
pub(super) struct Rule {
    /// `id` or `rules[N]` (prefixed with the file name for rules from an extended file).
    pub label: String,
    pub action: Action,
    pub index: Option<IndexMode>,
    pub message: Option<String>,
    pub matcher: Matcher,
}

#[derive(Debug, Clone)]
pub(super) struct Acceptance {
    pub id: String,
    pub owner: String,
    pub findings: Vec<IdPattern>,
    pub project: Option<String>,
    pub version: Option<VersionSpecifiers>,
    pub sha256: Option<String>,
    /// Only findings naming this advisory record id (upper case); required for known malware.
    pub advisory: Option<String>,
    pub reason: String,
    pub ticket: String,
    pub expires: OffsetDateTime,
}

/// One file, compiled; scalars are `None` when the file leaves them out (so `extends` can merge).
#[derive(Debug, Clone, Default)]
pub(super) struct Partial {
    pub upstream: Option<String>,
    pub listen: Option<String>,
    pub dangerous_fail_open: Option<bool>,
    pub index: Option<IndexMode>,
    pub default_action: Option<Action>,
    pub severity_defaults: BTreeMap<Severity, Action>,
    pub category_defaults: BTreeMap<Category, Action>,
    pub rules: Vec<Rule>,
    pub acceptances: Vec<Acceptance>,
    pub allow: Vec<ReleasePattern>,
    pub deny: Vec<ReleasePattern>,
    pub min_age: Option<time::Duration>,
    pub exempt: Vec<ReleasePattern>,
    pub missing_upload_time: Option<MissingUploadTime>,
    pub sdist_install_hooks: Option<Action>,
    pub scan_limits: super::schema::RawScanLimits,
    pub licences: Option<super::licence::LicencePolicy>,
    /// `auth.users`, in file order (a later entry for the same name wins when merged).
    pub users: Vec<(String, crate::auth::TokenHash)>,
    pub dangerous_allow_plain_http: Option<bool>,
    pub limits: super::schema::RawLimits,
    pub established: Option<EstablishedRule>,
}

/// `established:`, compiled: when a blocking finding counts as the project's established
/// behaviour, and what it becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct EstablishedRule {
    pub baseline_age: time::Duration,
    pub min_history: time::Duration,
    pub min_releases: u32,
    pub action: Action,
}

impl Default for EstablishedRule {
    fn default() -> Self {
        EstablishedRule {
            baseline_age: time::Duration::days(30),
            min_history: time::Duration::days(365),
            min_releases: 10,
            action: Action::Annotate,
        }
    }
}

/// Collects problems for one file, with lines found from its text.
pub(super) struct Ctx<'a> {
    pub file: &'a str,
    pub text: &'a str,
    /// Known detector ids; empty means "catalog unavailable: skip id checks".
    pub known: &'a [&'a str],
    /// Label prefix for rules of extended (non-root) files, e.g. `base.yaml:`.
    pub rule_prefix: String,
    pub problems: Vec<Problem>,
}

fn k(s: &str) -> Seg {
    Seg::Key(s.to_string())
}

fn with(base: &[Seg], more: &[Seg]) -> Vec<Seg> {
    base.iter().chain(more).cloned().collect()
}

/// Each element of a one-or-many value with its own path.
fn items<'v, T>(base: &[Seg], v: &'v OneOrMany<T>) -> Vec<(Vec<Seg>, &'v T)> {
    match v {
        OneOrMany::One(x) => vec![(base.to_vec(), x)],
        OneOrMany::Many(xs) => xs.iter().enumerate().map(|(i, x)| (with(base, &[Seg::Index(i)]), x)).collect(),
    }
}

impl Ctx<'_> {
    pub(super) fn err(&mut self, path: &[Seg], message: impl Into<String>) {
        self.problems.push(Problem {
            file: self.file.to_string(),
            yaml_path: render(path),
            line: line_of(self.text, path),
            message: message.into(),
        });
    }

    pub(super) fn compile(&mut self, raw: &RawPolicy) -> Partial {
        let mut out = Partial {
            upstream: raw.upstream.as_ref().map(|u| u.url().to_string()),
            listen: raw.listen.clone(),
            dangerous_fail_open: raw.dangerous_fail_open,
            index: raw.index,
            default_action: raw.defaults.action,
            severity_defaults: raw.defaults.severity.clone(),
            category_defaults: raw.defaults.category.clone(),
            sdist_install_hooks: raw.sdists.install_hooks,
            missing_upload_time: raw.cooldown.missing_upload_time,
            scan_limits: raw.scan_limits,
            dangerous_allow_plain_http: raw.auth.dangerous_allow_plain_http,
            limits: raw.limits,
            ..Partial::default()
        };
        self.check_scan_limits(&raw.scan_limits);
        out.users = self.users(&raw.auth);
        self.check_limits(&raw.limits);
        self.check_upstream(&mut out);
        out.rules = raw.rules.iter().enumerate().filter_map(|(i, r)| self.rule(i, r)).collect();
        out.acceptances = raw.acceptances.iter().enumerate().filter_map(|(i, a)| self.acceptance(i, a)).collect();
        out.allow = self.releases(&[k("allow")], &raw.allow);
        out.deny = self.releases(&[k("deny")], &raw.deny);
        out.exempt = self.releases(&[k("cooldown"), k("exempt")], &raw.cooldown.exempt);
        out.licences = raw.licences.as_ref().map(|l| self.licences(l));
        if let Some(text) = &raw.cooldown.min_age {
            out.min_age = self.duration(&[k("cooldown"), k("min_age")], text);
        }
        out.established = raw.established.as_ref().map(|e| self.established(e));
        self.check_duplicates(&out);
        out
    }

    fn check_scan_limits(&mut self, l: &super::schema::RawScanLimits) {
        let sizes = [
            ("max_total_bytes", l.max_total_bytes),
            ("max_member_bytes", l.max_member_bytes),
            ("max_text_bytes", l.max_text_bytes),
            ("max_members", l.max_members),
            ("max_ratio", l.max_ratio),
            ("max_scan_seconds", l.max_scan_seconds),
        ];
        for (key, v) in sizes {
            if v == Some(0) {
                self.err(&[k("scan_limits"), k(key)], "expected a positive number (0 would scan nothing)");
            }
        }
        if l.max_nesting.is_some_and(|n| n > 3) {
            self.err(&[k("scan_limits"), k("max_nesting")], "expected 0 to 3 (deeper nesting multiplies memory use)");
        }
    }

    fn users(&mut self, auth: &super::schema::RawAuth) -> Vec<(String, crate::auth::TokenHash)> {
        let mut out = Vec::new();
        let mut seen = BTreeSet::new();
        for (i, u) in auth.users.iter().enumerate() {
            let at = |key: &str| [k("auth"), k("users"), Seg::Index(i), k(key)];
            if let Err(e) = crate::auth::check_user_name(&u.name) {
                self.err(&at("name"), e);
                continue;
            }
            if !seen.insert(u.name.clone()) {
                self.err(&at("name"), format!("duplicate user {:?}", u.name));
                continue;
            }
            match crate::auth::TokenHash::parse(&u.token_hash) {
                Ok(h) => out.push((u.name.clone(), h)),
                Err(e) => self.err(&at("token_hash"), e),
            }
        }
        out
    }

    fn check_limits(&mut self, l: &super::schema::RawLimits) {
        for (scope, one) in [("per_user", l.per_user), ("per_client", l.per_client)] {
            let at = |key: &str| [k("limits"), k(scope), k(key)];
            if let Some(r) = one.requests_per_second {
                if !(r.is_finite() && r > 0.0 && r <= 1e6) {
                    self.err(
                        &at("requests_per_second"),
                        format!("expected a number above 0 (at most 1000000), got {r}"),
                    );
                }
            }
            match (one.burst, one.requests_per_second) {
                (Some(0), _) => self.err(&at("burst"), "expected at least 1"),
                (Some(_), None) => self.err(&at("burst"), "burst needs requests_per_second beside it"),
                _ => {}
            }
            if one.concurrent_downloads == Some(0) {
                self.err(&at("concurrent_downloads"), "expected at least 1 (0 would refuse every download)");
            }
        }
    }

    fn check_upstream(&mut self, out: &mut Partial) {
        if let Some(u) = &out.upstream {
            if url::Url::parse(u).map(|p| !matches!(p.scheme(), "http" | "https")).unwrap_or(true) {
                self.err(&[k("upstream")], format!("expected an http(s) URL of a simple index, got {u:?}"));
            }
        }
        if let Some(l) = &out.listen {
            if l.parse::<std::net::SocketAddr>().is_err() {
                self.err(&[k("listen")], format!("expected HOST:PORT with an IP host, e.g. 127.0.0.1:3141, got {l:?}"));
            }
        }
    }

    fn check_duplicates(&mut self, out: &Partial) {
        let mut seen = BTreeSet::new();
        for (i, r) in out.rules.iter().enumerate() {
            if !seen.insert(r.label.clone()) {
                self.err(&[k("rules"), Seg::Index(i), k("id")], format!("duplicate rule id {:?}", r.label));
            }
        }
        let mut seen = BTreeSet::new();
        for (i, a) in out.acceptances.iter().enumerate() {
            if !seen.insert(a.id.clone()) {
                self.err(&[k("acceptances"), Seg::Index(i), k("id")], format!("duplicate acceptance id {:?}", a.id));
            }
        }
    }

    fn rule(&mut self, i: usize, raw: &RawRule) -> Option<Rule> {
        let base = [k("rules"), Seg::Index(i)];
        let before = self.problems.len();
        let label = match &raw.id {
            Some(id) if id.trim().is_empty() => {
                self.err(&with(&base, &[k("id")]), "expected a non-empty rule id");
                String::new()
            }
            Some(id) => id.clone(),
            None => format!("{}rules[{i}]", self.rule_prefix),
        };
        let matcher = self.matcher(&with(&base, &[k("match")]), &raw.matcher);
        (self.problems.len() == before).then_some(Rule {
            label,
            action: raw.action,
            index: raw.index,
            message: raw.message.clone(),
            matcher,
        })
    }

    fn matcher(&mut self, base: &[Seg], m: &RawMatch) -> Matcher {
        let p = |key: &str| with(base, &[k(key)]);
        Matcher {
            detectors: m.detector.as_ref().map(|d| self.id_patterns(&p("detector"), d)),
            categories: m.category.as_ref().map(super::schema::OneOrMany::to_vec),
            severities: m.severity.as_ref().map(|s| self.severities(&p("severity"), s)),
            projects: m.project.as_ref().map(|v| self.name_patterns(&p("project"), v)),
            version: m.version.as_ref().and_then(|v| self.specifiers(&p("version"), v)),
            kinds: m.kind.as_ref().map(|v| v.to_vec().into_iter().map(kind).collect()),
            filenames: m.filename.as_ref().map(|v| self.globs(&p("filename"), v)),
            roles: m.role.as_ref().map(super::schema::OneOrMany::to_vec),
            vulnerability: m
                .vulnerability
                .as_ref()
                .map(|v| VulnMatch { min_severity: v.min_severity, exploited: v.exploited }),
            new_in_version: m.new_in_version,
        }
    }

    fn glob(&mut self, path: &[Seg], text: &str) -> Option<glob::Pattern> {
        match glob::Pattern::new(text) {
            Ok(g) if !text.trim().is_empty() => Some(g),
            Ok(_) => {
                self.err(path, "expected a non-empty name or glob");
                None
            }
            Err(e) => {
                self.err(path, format!("invalid glob {text:?}: {}", e.msg));
                None
            }
        }
    }

    fn globs(&mut self, base: &[Seg], v: &OneOrMany<String>) -> Vec<glob::Pattern> {
        items(base, v).into_iter().filter_map(|(path, t)| self.glob(&path, t)).collect()
    }

    pub(super) fn name_pattern(&mut self, path: &[Seg], text: &str) -> Option<NamePattern> {
        let glob = self.glob(path, &normalize_project_name(text))?;
        Some(NamePattern { glob })
    }

    fn name_patterns(&mut self, base: &[Seg], v: &OneOrMany<String>) -> Vec<NamePattern> {
        items(base, v).into_iter().filter_map(|(path, t)| self.name_pattern(&path, t)).collect()
    }

    pub(super) fn id_pattern(&mut self, path: &[Seg], text: &str) -> Option<IdPattern> {
        let glob = self.glob(path, text)?;
        let known: Vec<&str> = self.known.iter().chain(ENGINE_IDS).copied().collect();
        let hits = known.iter().any(|id| glob.matches(id));
        if !self.known.is_empty() && !hits {
            let what = if text.contains(['*', '?', '[']) {
                "glob matches no known detector id"
            } else {
                "unknown detector id"
            };
            self.err(path, format!("{what} {text:?}; expected {}", suggest(self.known, text)));
            return None;
        }
        Some(IdPattern { glob })
    }

    fn id_patterns(&mut self, base: &[Seg], v: &OneOrMany<String>) -> Vec<IdPattern> {
        items(base, v).into_iter().filter_map(|(path, t)| self.id_pattern(&path, t)).collect()
    }

    fn severities(&mut self, base: &[Seg], v: &OneOrMany<String>) -> BTreeSet<Severity> {
        let mut out = BTreeSet::new();
        for (path, text) in items(base, v) {
            match parse_severity_spec(text) {
                Some(set) => out.extend(set),
                None => self.err(
                    &path,
                    format!("expected a severity (info, low, medium, high, critical), optionally after >=, >, <=, < or ==, got {text:?}"),
                ),
            }
        }
        out
    }

    pub(super) fn specifiers(&mut self, path: &[Seg], text: &str) -> Option<VersionSpecifiers> {
        match VersionSpecifiers::from_str(text) {
            Ok(s) => Some(s),
            Err(e) => {
                let why = e.to_string();
                let why = why.lines().next().unwrap_or_default().trim_end_matches(':').to_string();
                self.err(
                    path,
                    format!(
                        "expected a PEP 440 version specifier such as \">=1.0,<2\" or \"==1.2.3\", got {text:?}: {why}"
                    ),
                );
                None
            }
        }
    }

    fn releases(&mut self, base: &[Seg], entries: &[String]) -> Vec<ReleasePattern> {
        let mut out = Vec::new();
        for (i, text) in entries.iter().enumerate() {
            let path = with(base, &[Seg::Index(i)]);
            let (name, version) = match text.split_once("==") {
                Some((n, v)) => (n.trim(), Some(v.trim())),
                None => (text.trim(), None),
            };
            if version.is_some_and(|v| v.is_empty() || v.contains(['*', '<', '>', '=', ','])) {
                self.err(&path, format!("expected `name` (glob allowed) or exact `name==version`, got {text:?}"));
                continue;
            }
            if let Some(project) = self.name_pattern(&path, name) {
                out.push(ReleasePattern { text: text.clone(), project, version: version.map(str::to_string) });
            }
        }
        out
    }

    /// `established:` with its defaults filled in; a value that would make it unsafe or
    /// meaningless is a problem at its path.
    fn established(&mut self, raw: &super::schema::RawEstablished) -> EstablishedRule {
        let mut out = EstablishedRule::default();
        let p = |key: &str| [k("established"), k(key)];
        if let Some(text) = &raw.baseline_age {
            out.baseline_age = self.duration(&p("baseline_age"), text).unwrap_or(out.baseline_age);
            if out.baseline_age < time::Duration::days(1) {
                self.err(
                    &p("baseline_age"),
                    format!(
                        "expected at least 1d, got {text:?} (a baseline from the same compromise window would vouch for it)"
                    ),
                );
            }
        }
        if let Some(text) = &raw.min_history {
            out.min_history = self.duration(&p("min_history"), text).unwrap_or(out.min_history);
            if out.min_history < out.baseline_age {
                self.err(&p("min_history"), format!("expected at least baseline_age, got {text:?}"));
            }
        }
        if let Some(n) = raw.min_releases {
            out.min_releases = n;
            if n < 2 {
                self.err(&p("min_releases"), format!("expected at least 2 releases, got {n}"));
            }
        }
        if let Some(a) = raw.action {
            out.action = a;
            if a == Action::Block {
                self.err(&p("action"), "expected annotate or allow (block would lower nothing)");
            }
        }
        out
    }

    fn duration(&mut self, path: &[Seg], text: &str) -> Option<time::Duration> {
        let parsed = crate::timefmt::parse_duration(text);
        if parsed.is_none() {
            self.err(path, format!("expected a duration like 90m, 12h, 3d or 1w (or 0 to disable), got {text:?}"));
        }
        parsed
    }

    fn acceptance(&mut self, i: usize, raw: &RawAcceptance) -> Option<Acceptance> {
        let base = [k("acceptances"), Seg::Index(i)];
        let p = |key: &str| with(&base, &[k(key)]);
        let before = self.problems.len();
        for (key, value) in [("id", &raw.id), ("owner", &raw.owner), ("reason", &raw.reason), ("ticket", &raw.ticket)] {
            if value.trim().is_empty() {
                self.err(&p(key), format!("expected a non-empty {key}"));
            }
        }
        let findings = self.id_patterns(&p("findings"), &raw.findings);
        if findings.is_empty() && self.problems.len() == before {
            self.err(&p("findings"), "expected at least one detector id or glob");
        }
        let (version, sha256) = self.acceptance_scope(&base, raw);
        let expires = crate::timefmt::parse_instant(&raw.expires);
        if expires.is_none() {
            self.err(
                &p("expires"),
                format!("expected a date (2026-12-31, meaning midnight UTC) or RFC 3339 time, got {:?}", raw.expires),
            );
        }
        (self.problems.len() == before).then(|| Acceptance {
            id: raw.id.clone(),
            owner: raw.owner.clone(),
            findings,
            project: raw.project.as_deref().map(normalize_project_name),
            version,
            sha256,
            advisory: raw.advisory.as_deref().map(|a| a.trim().to_ascii_uppercase()).filter(|a| !a.is_empty()),
            reason: raw.reason.clone(),
            ticket: raw.ticket.clone(),
            expires: expires.unwrap_or(OffsetDateTime::UNIX_EPOCH),
        })
    }

    /// Which artifact an acceptance covers: `project` (+ `version`) and/or `sha256`.
    fn acceptance_scope(&mut self, base: &[Seg], raw: &RawAcceptance) -> (Option<VersionSpecifiers>, Option<String>) {
        let p = |key: &str| with(base, &[k(key)]);
        if raw.project.is_none() && raw.sha256.is_none() {
            let message =
                "expected `project` (with an optional `version`) and/or `sha256`: an acceptance must be scoped";
            self.err(base, message);
        }
        if raw.version.is_some() && raw.project.is_none() {
            self.err(&p("version"), "a `version` needs a `project`");
        }
        let version = raw.version.as_ref().and_then(|v| self.specifiers(&p("version"), v));
        let sha256 = raw.sha256.as_deref().map(crate::model::Sha256::parse);
        if let Some(Err(_)) = &sha256 {
            self.err(&p("sha256"), "expected 64 hex digits");
        }
        (version, sha256.and_then(Result::ok).map(String::from))
    }
}

/// The known ids of the same category as `text` (or every category), for error messages.
fn suggest(known: &[&str], text: &str) -> String {
    let prefix = text.split('.').next().unwrap_or_default();
    let same: Vec<&str> = known.iter().copied().filter(|id| id.split('.').next() == Some(prefix)).collect();
    if same.is_empty() {
        let mut cats: Vec<&str> = known.iter().filter_map(|id| id.split('.').next()).collect();
        cats.sort_unstable();
        cats.dedup();
        format!("an id or glob in one of the categories: {}", cats.join(", "))
    } else {
        format!("one of: {}", same.join(", "))
    }
}

fn kind(k: RawKind) -> ArtifactKind {
    match k {
        RawKind::Wheel => ArtifactKind::Wheel,
        RawKind::Sdist => ArtifactKind::Sdist,
    }
}

fn severity_named(s: &str) -> Option<Severity> {
    Severity::ALL.into_iter().find(|v| v.as_str() == s)
}

type SeverityCmp = fn(Severity, Severity) -> bool;

/// `high` → {high}; `>= high` → {high, critical}; also `>`, `<=`, `<`, `==`.
pub(super) fn parse_severity_spec(text: &str) -> Option<BTreeSet<Severity>> {
    let t = text.trim();
    let ops: [(&str, SeverityCmp); 5] =
        [(">=", |s, b| s >= b), ("<=", |s, b| s <= b), ("==", |s, b| s == b), (">", |s, b| s > b), ("<", |s, b| s < b)];
    let (op, name): (SeverityCmp, &str) =
        ops.iter().find_map(|(p, f)| t.strip_prefix(p).map(|rest| (*f, rest.trim()))).unwrap_or((|s, b| s == b, t));
    let bound = severity_named(name)?;
    Some(Severity::ALL.into_iter().filter(|s| op(*s, bound)).collect())
}
