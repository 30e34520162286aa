//! Pure evaluation: (artifact facts, findings, now) → [`Verdict`] with one [`Reason`]
//! per contributing rule, acceptance, default, list, cooldown or failure.
//!
//! Precedence (first that applies wins, see `docs/policy.md`): deny list > fail-closed >
//! cooldown > allow list > per finding: acceptance > first matching rule > category
//! default > severity default > global default (an sdist's install hook is then raised
//! to at least `sdists.install_hooks`); the `licences:` section is weighed beside the
//! findings (after the allow list), the strictest deciding.
//! Must not: do I/O, read the clock (time is an argument), or depend on anything but its inputs.

use super::compile::{spec_contains, Acceptance, EstablishedRule, Matcher};
use super::schema::{Action, MissingUploadTime};
use super::Policy;
use crate::model::{
    ArtifactFacts, ArtifactKind, Category, Decision, Established, FileRole, Finding, IndexMode, Reason, ReasonCode,
    Severity, Verdict,
};
use crate::timefmt::rfc3339 as fmt_time;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// The finding id that means "the scanner could not read the archive".
pub(super) const UNREADABLE: &str = "anomaly.unreadable-archive";
const INSTALL_HOOK: &str = "execution.install-hook";
const MALWARE: &str = crate::advisories::MALWARE;

fn reason(code: ReasonCode, message: impl Into<String>, findings: Vec<String>) -> Reason {
    Reason { code, message: message.into(), findings }
}

/// Who decided one finding.
struct Decided {
    code: ReasonCode,
    message: String,
    action: Action,
    index: Option<IndexMode>,
    acceptance: Option<String>,
}

impl Policy {
    fn verdict(&self, decision: Decision, reasons: Vec<Reason>, findings: &[Finding]) -> Verdict {
        let mut ids: Vec<String> = Vec::new();
        for f in findings {
            if !ids.contains(&f.detector) {
                ids.push(f.detector.clone());
            }
        }
        Verdict {
            decision,
            reasons,
            findings: ids,
            acceptances: vec![],
            policy_digest: self.digest.clone(),
            index: self.index,
            available_at: None,
            new_in_version: None,
            established: None,
        }
    }

    fn deny_reason(&self, project: &str, version: Option<&str>) -> Option<Reason> {
        let hit = self.deny.iter().find(|d| d.matches(project, version))?;
        let what = version.map_or(project.to_string(), |v| format!("{project} {v}"));
        Some(reason(ReasonCode::DenyList, format!("{what} is on the policy's deny list ({:?})", hit.text), vec![]))
    }

    fn allow_reason(&self, project: &str, version: Option<&str>) -> Option<Reason> {
        let hit = self.allow.iter().find(|a| a.matches(project, version))?;
        let message = format!("{project} is on the policy's allow list ({:?}); findings are not weighed", hit.text);
        Some(reason(ReasonCode::AllowList, message, vec![]))
    }

    /// A cooldown hold, or a note that the age is unknown, or nothing.
    fn cooldown(
        &self,
        project: &str,
        version: Option<&str>,
        upload_time: Option<&str>,
        now: OffsetDateTime,
    ) -> Option<(Reason, Option<OffsetDateTime>)> {
        if self.min_age.is_zero() || self.exempt.iter().any(|e| e.matches(project, version)) {
            return None;
        }
        let uploaded = upload_time.and_then(|t| OffsetDateTime::parse(t.trim(), &Rfc3339).ok());
        let Some(uploaded) = uploaded else {
            let held = self.missing_upload_time == MissingUploadTime::Hold;
            let code = if held { ReasonCode::Cooldown } else { ReasonCode::CooldownNoUploadTime };
            let what = if held { "held (cooldown.missing_upload_time: hold)" } else { "not held by the cooldown" };
            let message =
                format!("the index gives no valid upload-time for this release, so its age is unknown: {what}");
            return Some((reason(code, message, vec![]), None));
        };
        let available = uploaded + self.min_age;
        (now < available).then(|| {
            let message = format!(
                "release uploaded at {} is younger than the {} cooldown; available from {}",
                fmt_time(uploaded),
                fmt_duration(self.min_age),
                fmt_time(available)
            );
            (reason(ReasonCode::Cooldown, message, vec![]), Some(available))
        })
    }

    /// Pre-download gate for index pages: a block verdict for deny-listed releases and
    /// cooldown holds, `None` when the release may be listed (it is still scanned later).
    pub fn release_gate(
        &self,
        project: &str,
        version: &str,
        upload_time: Option<&str>,
        now: OffsetDateTime,
    ) -> Option<Verdict> {
        if let Some(r) = self.deny_reason(project, Some(version)) {
            return Some(self.verdict(Decision::Block, vec![r], &[]));
        }
        match self.cooldown(project, Some(version), upload_time, now) {
            Some((r, available)) if r.code == ReasonCode::Cooldown => {
                let mut v = self.verdict(Decision::Block, vec![r], &[]);
                v.available_at = available.map(fmt_time);
                Some(v)
            }
            _ => None,
        }
    }

    /// A failure the proxy met (`hash-mismatch`, `scan-crash`, ...): block, unless the
    /// policy says `dangerous_fail_open: true`, in which case annotate and say so loudly.
    /// `detail`, when given, says what happened in the reason the client sees (e.g. how long
    /// the scan ran). `now` is taken for symmetry with [`Policy::evaluate`]; failures do not expire.
    pub fn evaluate_failure(
        &self,
        facts: &ArtifactFacts,
        what: &str,
        detail: Option<&str>,
        _now: OffsetDateTime,
    ) -> Verdict {
        let mut r = self.failure_reason(&facts.filename, what, vec![]);
        if let Some(detail) = detail {
            r.message = format!("{} ({detail})", r.message);
        }
        let decision = if self.dangerous_fail_open { Decision::Annotate } else { Decision::Block };
        self.verdict(decision, vec![r], &[])
    }

    /// The verdict when there is no usable policy at all (it failed to load): always block.
    pub fn policy_error_verdict(facts: &ArtifactFacts, error: &super::PolicyError) -> Verdict {
        let first = error.problems.first().map_or(error.message.clone(), std::string::ToString::to_string);
        let message = format!("no valid policy to decide {}: {first}; pipgate fails closed", facts.filename);
        Verdict::block(reason(ReasonCode::FailClosed("policy".into()), message, vec![]))
    }

    fn failure_reason(&self, filename: &str, what: &str, findings: Vec<String>) -> Reason {
        if self.dangerous_fail_open {
            let message =
                format!("{what} for {filename}: served anyway because the policy sets dangerous_fail_open: true");
            reason(ReasonCode::FailOpen(what.to_string()), message, findings)
        } else {
            let message = format!("{what} for {filename}: pipgate fails closed and blocks what it could not check");
            reason(ReasonCode::FailClosed(what.to_string()), message, findings)
        }
    }

    /// Decide for one artifact. Pure: the same inputs always give the same verdict.
    pub fn evaluate(&self, facts: &ArtifactFacts, findings: &[Finding], now: OffsetDateTime) -> Verdict {
        let mut v = self.evaluate_findings(facts, findings, now);
        v.new_in_version = facts.new_in_version.clone();
        v.established = facts.established.clone();
        v
    }

    /// `established:` as compiled (`None`: the section is absent).
    pub(crate) fn established(&self) -> Option<EstablishedRule> {
        self.established
    }

    /// Whether a comparison with the project's established baseline could turn this block
    /// into something else: `established:` is set, the verdict blocks, and it would not if
    /// every finding `established:` may lower were established. The gate fetches the
    /// baseline only then (it costs a second download).
    pub(crate) fn established_could_lower(
        &self,
        facts: &ArtifactFacts,
        findings: &[Finding],
        now: OffsetDateTime,
    ) -> bool {
        if self.established.is_none() || self.evaluate(facts, findings, now).decision != Decision::Block {
            return false;
        }
        let all = Established::Compared {
            baseline_version: String::new(),
            baseline_filename: String::new(),
            baseline_uploaded: String::new(),
            first_upload: String::new(),
            releases: 0,
            unchanged: findings.iter().map(|f| f.detector.clone()).collect(),
            changed: vec![],
        };
        let hypothetical = ArtifactFacts { established: Some(all), ..facts.clone() };
        self.evaluate(&hypothetical, findings, now).decision != Decision::Block
    }

    /// Whether a rule matches on `new_in_version` (the gate compares with the previous
    /// release only then: it costs a second download).
    pub fn uses_new_in_version(&self) -> bool {
        self.rules.iter().any(|r| r.matcher.new_in_version.is_some())
    }

    /// The earliest instant after `now` at which [`Policy::evaluate`] (or
    /// [`Policy::release_gate`]) could answer differently for this file with the same
    /// findings, by the clock alone: its cooldown ending, or an acceptance expiring (any
    /// acceptance: an over-early instant only costs a fresh evaluation). `None`: never.
    pub fn next_change(&self, facts: &ArtifactFacts, now: OffsetDateTime) -> Option<OffsetDateTime> {
        let uploaded = facts.upload_time.as_deref().and_then(|t| OffsetDateTime::parse(t.trim(), &Rfc3339).ok());
        let cooldown_end = uploaded.filter(|_| !self.min_age.is_zero()).map(|t| t + self.min_age);
        cooldown_end.into_iter().chain(self.acceptances.iter().map(|a| a.expires)).filter(|t| *t > now).min()
    }

    fn evaluate_findings(&self, facts: &ArtifactFacts, findings: &[Finding], now: OffsetDateTime) -> Verdict {
        let version = facts.version.as_deref();
        if let Some(r) = self.deny_reason(&facts.project, version) {
            return self.verdict(Decision::Block, vec![r], findings);
        }
        let mut reasons = Vec::new();
        let mut floor = Decision::Serve;
        let unreadable: Vec<String> =
            findings.iter().filter(|f| f.detector == UNREADABLE).map(|f| f.detector.clone()).collect();
        if !unreadable.is_empty() {
            reasons.push(self.failure_reason(&facts.filename, "scan-error", unreadable));
            if !self.dangerous_fail_open {
                return self.verdict(Decision::Block, reasons, findings);
            }
            floor = Decision::Annotate;
        }
        if let Some(r) = self.incomplete_reason(facts, findings, now) {
            let fail_open = matches!(r.code, ReasonCode::FailOpen(_));
            reasons.push(r);
            floor = if fail_open { stricter(floor, Decision::Annotate) } else { Decision::Block };
        }
        match self.cooldown(&facts.project, version, facts.upload_time.as_deref(), now) {
            Some((r, available)) if r.code == ReasonCode::Cooldown => {
                reasons.push(r);
                let mut v = self.verdict(Decision::Block, reasons, findings);
                v.available_at = available.map(fmt_time);
                return v;
            }
            Some((note, _)) => reasons.push(note),
            None => {}
        }
        if let Some(r) = self.allow_reason(&facts.project, version) {
            // Known malware is weighed even on the allow list (only an acceptance naming its record clears it).
            if !findings.iter().any(|f| f.detector == MALWARE) {
                reasons.push(r);
                return self.verdict(floor, reasons, findings);
            }
        }
        self.weigh_findings(facts, findings, now, floor, reasons)
    }

    /// The fail-closed reason for a scan that did not see every byte of every member
    /// (`crate::scan::INCOMPLETE_FINDINGS`), unless each such finding is explicitly
    /// accepted: by a live acceptance, or by a first matching rule whose `detector`
    /// names it and whose action is not block. A rule matching only by category or
    /// severity (or a default) does not accept an incomplete scan.
    fn incomplete_reason(&self, facts: &ArtifactFacts, findings: &[Finding], now: OffsetDateTime) -> Option<Reason> {
        let unaccepted: Vec<&Finding> = findings
            .iter()
            .filter(|f| crate::scan::marks_incomplete(&f.detector))
            .filter(|f| !self.accepts_incomplete(facts, f, now))
            .collect();
        if unaccepted.is_empty() {
            return None;
        }
        let why = crate::scan::incomplete_reason(unaccepted.iter().copied()).unwrap_or_default();
        let mut ids: Vec<String> = Vec::new();
        for f in &unaccepted {
            if !ids.contains(&f.detector) {
                ids.push(f.detector.clone());
            }
        }
        let file = &facts.filename;
        let why = crate::scan::findings::clip(&why, 400);
        let (code, message) = if self.dangerous_fail_open {
            (
                ReasonCode::FailOpen("scan-incomplete".into()),
                format!(
                "scan incomplete for {file} ({why}): served anyway because the policy sets dangerous_fail_open: true"
            ),
            )
        } else {
            (
                ReasonCode::FailClosed("scan-incomplete".into()),
                format!(
                    "scan incomplete for {file}: {why}; pipgate fails closed and blocks what it could not check \
                 (to serve it anyway, add a rule matching detector {} with action annotate)",
                    ids.join(", ")
                ),
            )
        };
        Some(reason(code, message, ids))
    }

    fn accepts_incomplete(&self, facts: &ArtifactFacts, f: &Finding, now: OffsetDateTime) -> bool {
        if self.acceptances.iter().any(|a| covers(a, facts, f) && now < a.expires) {
            return true;
        }
        match self.rules.iter().find(|r| rule_matches(&r.matcher, facts, f)) {
            Some(rule) => {
                rule.action != Action::Block
                    && rule.matcher.detectors.as_ref().is_some_and(|d| d.iter().any(|p| p.matches(&f.detector)))
            }
            None => false,
        }
    }

    /// Decide each finding; the strictest decides the artifact. Reasons are ordered so the
    /// one that decided comes first (block, then expired acceptances, annotate, allow, notes),
    /// since pip and uv show the first.
    fn weigh_findings(
        &self,
        facts: &ArtifactFacts,
        findings: &[Finding],
        now: OffsetDateTime,
        floor: Decision,
        notes: Vec<Reason>,
    ) -> Verdict {
        let mut decision = floor;
        let mut acceptances: Vec<String> = Vec::new();
        let (mut hide, mut yank) = (false, false);
        let note_weight = |r: &Reason| match r.code {
            ReasonCode::FailClosed(_) => 10,
            ReasonCode::FailOpen(_) => 9,
            _ => 0,
        };
        let mut ranked: Vec<(u8, Reason)> = notes.into_iter().map(|r| (note_weight(&r), r)).collect();
        if let Some(j) = self.licences.as_ref().and_then(|l| l.judge(facts)) {
            decision = stricter(decision, to_decision(j.action));
            let weight = match j.action {
                Action::Block => 6,
                Action::Annotate => 4,
                Action::Allow => 2,
            };
            ranked.push((weight, reason(j.code, j.message, vec![])));
        }
        let weighed: Vec<&Finding> = findings.iter().filter(|f| f.detector != UNREADABLE).collect();
        if weighed.is_empty() && ranked.is_empty() {
            ranked.push((0, reason(ReasonCode::NoFindings, "the scan found nothing to weigh", vec![])));
        }
        for f in weighed {
            for r in self.expired_acceptances(facts, f, now) {
                add_reason(&mut ranked, 5, r.code, r.message, &f.detector);
            }
            let d = self.weigh_established(facts, f, self.decide(facts, f, now));
            decision = stricter(decision, to_decision(d.action));
            if d.action == Action::Block {
                hide |= d.index == Some(IndexMode::Hide);
                yank |= d.index == Some(IndexMode::Yank);
            }
            if let Some(id) = d.acceptance.filter(|id| !acceptances.contains(id)) {
                acceptances.push(id);
            }
            let weight = match d.action {
                Action::Block => 6,
                Action::Annotate => 4,
                Action::Allow => 2,
            };
            add_reason(&mut ranked, weight, d.code, d.message, &f.detector);
        }
        ranked.sort_by_key(|(weight, _)| std::cmp::Reverse(*weight));
        let mut v = self.verdict(decision, ranked.into_iter().map(|(_, r)| r).collect(), findings);
        v.acceptances = acceptances;
        v.index = match (hide, yank) {
            (true, _) => IndexMode::Hide,
            (false, true) => IndexMode::Yank,
            _ => self.index,
        };
        v
    }

    /// Who decides one finding: an acceptance, else rules > defaults, raised to at least
    /// `sdists.install_hooks` for an sdist's install hook.
    fn decide(&self, facts: &ArtifactFacts, f: &Finding, now: OffsetDateTime) -> Decided {
        if let Some(a) = self.acceptances.iter().find(|a| covers(a, facts, f) && now < a.expires) {
            let message = format!("accepted by {} until {} ({}): {}", a.owner, fmt_time(a.expires), a.ticket, a.reason);
            let code = ReasonCode::Acceptance(a.id.clone());
            return Decided { code, message, action: Action::Allow, index: None, acceptance: Some(a.id.clone()) };
        }
        let decided = self.rule_or_default(facts, f);
        if f.detector == MALWARE && decided.action != Action::Block {
            let message = format!(
                "known malware is blocked whatever rules and defaults say (here {} by {}); only an acceptance naming its record id (advisory: {}) lets it through",
                decided.action.as_str(),
                decided.code,
                crate::model::advisory_ids(f).first().copied().unwrap_or("MAL-...")
            );
            return Decided {
                code: ReasonCode::KnownMalware,
                message,
                action: Action::Block,
                index: None,
                acceptance: None,
            };
        }
        match self.sdist_install_hooks {
            Some(action)
                if facts.kind == ArtifactKind::Sdist && f.detector == INSTALL_HOOK && action > decided.action =>
            {
                let message = format!(
                    "sdists.install_hooks: {} (an sdist's install hook runs when it is built; was {} by {})",
                    action.as_str(),
                    decided.action.as_str(),
                    decided.code
                );
                Decided { code: ReasonCode::SdistInstallHooks, message, action, index: None, acceptance: None }
            }
            _ => decided,
        }
    }

    /// `established:` after a finding is decided: a block by a rule or a default on a finding
    /// it may lower ([`may_be_established`]) that the project's baseline release shipped with
    /// the same evidence becomes `established.action`, naming the baseline; a block on one the
    /// baseline did not ship says so, naming the baseline too. Acceptances, known malware and
    /// `sdists.install_hooks` are left as they are.
    fn weigh_established(&self, facts: &ArtifactFacts, f: &Finding, d: Decided) -> Decided {
        let (Some(rule), Some(est)) = (&self.established, &facts.established) else { return d };
        let by_rule_or_default = matches!(
            d.code,
            ReasonCode::Rule(_) | ReasonCode::DefaultCategory | ReasonCode::DefaultSeverity | ReasonCode::DefaultGlobal
        );
        if d.action != Action::Block || !by_rule_or_default || !may_be_established(f) {
            return d;
        }
        let Some(base) = est.baseline() else { return d };
        let Established::Compared { first_upload, releases, .. } = est else { return d };
        if !est.is_established(&f.detector) {
            let message = format!("{}; {} {} {base}", d.message, f.detector, crate::model::NEW_SINCE_BASELINE);
            return Decided { message, ..d };
        }
        let message = format!(
            "established behaviour: {} shipped the same {} evidence in {base}, at least {} before this release \
             (first upload {}, {releases} earlier releases): {} instead of block by {}",
            facts.project,
            f.detector,
            fmt_duration(rule.baseline_age),
            first_upload.get(..10).unwrap_or(first_upload),
            rule.action.as_str(),
            d.code
        );
        Decided { code: ReasonCode::Established, message, action: rule.action, index: None, acceptance: None }
    }

    fn rule_or_default(&self, facts: &ArtifactFacts, f: &Finding) -> Decided {
        if let Some(rule) = self.rules.iter().find(|r| rule_matches(&r.matcher, facts, f)) {
            let mut message = format!("rule {}: {}", rule.label, rule.action.as_str());
            if rule.matcher.new_in_version == Some(true) {
                if let Some(crate::model::VersionDiff::Compared { previous_version, .. }) = &facts.new_in_version {
                    message = format!("{message} ({} is new in this version: not in {previous_version})", f.detector);
                }
            }
            if let Some(extra) = &rule.message {
                message = format!("{message}: {extra}");
            }
            let code = ReasonCode::Rule(rule.label.clone());
            return Decided { code, message, action: rule.action, index: rule.index, acceptance: None };
        }
        self.default_for(f)
    }

    fn default_for(&self, f: &Finding) -> Decided {
        let decided = |code: ReasonCode, message: String, action| Decided {
            code,
            message,
            action,
            index: None,
            acceptance: None,
        };
        if let Some(a) = self.category_defaults.get(&f.category) {
            let m = format!("category default for {}: {}", f.category, a.as_str());
            return decided(ReasonCode::DefaultCategory, m, *a);
        }
        if let Some(a) = self.severity_defaults.get(&f.severity) {
            let m = format!("severity default for {}: {}", f.severity, a.as_str());
            return decided(ReasonCode::DefaultSeverity, m, *a);
        }
        let a = self.default_action;
        decided(ReasonCode::DefaultGlobal, format!("global default (defaults.action): {}", a.as_str()), a)
    }

    /// Reasons for acceptances that would cover this finding but have expired.
    fn expired_acceptances(&self, facts: &ArtifactFacts, f: &Finding, now: OffsetDateTime) -> Vec<Reason> {
        self.acceptances
            .iter()
            .filter(|a| covers(a, facts, f) && now >= a.expires)
            .map(|a| {
                let message = format!(
                    "acceptance {} expired at {}; it no longer covers {} (owner {}, {})",
                    a.id,
                    fmt_time(a.expires),
                    f.detector,
                    a.owner,
                    a.ticket
                );
                reason(ReasonCode::AcceptanceExpired(a.id.clone()), message, vec![f.detector.clone()])
            })
            .collect()
    }
}

/// Findings `established:` may lower. Never: critical findings, known malware and other
/// advisories, look-alike names, start-up hijacks, and archive anomalies (path traversal,
/// bombs, header or name mismatches, unreadable or incomplete scans).
pub(crate) fn may_be_established(f: &Finding) -> bool {
    f.severity < Severity::Critical
        && f.category != Category::Vulnerability
        && f.detector != MALWARE
        && f.detector != "metadata.typosquat"
        && f.detector != "execution.startup-hijack"
        && !f.detector.starts_with("anomaly.")
}

/// Merge a finding into an existing reason with the same code and message, or add a new one.
fn add_reason(reasons: &mut Vec<(u8, Reason)>, weight: u8, code: ReasonCode, message: String, detector: &str) {
    match reasons.iter_mut().find(|(_, r)| r.code == code && r.message == message) {
        Some((_, r)) if !r.findings.iter().any(|d| d == detector) => r.findings.push(detector.to_string()),
        Some(_) => {}
        None => reasons.push((weight, reason(code, message, vec![detector.to_string()]))),
    }
}

fn rank(d: Decision) -> u8 {
    match d {
        Decision::Serve => 0,
        Decision::Annotate => 1,
        Decision::Block => 2,
    }
}

fn stricter(a: Decision, b: Decision) -> Decision {
    if rank(b) > rank(a) {
        b
    } else {
        a
    }
}

fn to_decision(a: Action) -> Decision {
    match a {
        Action::Allow => Decision::Serve,
        Action::Annotate => Decision::Annotate,
        Action::Block => Decision::Block,
    }
}

/// Does this acceptance's scope (finding ids, project, version, sha256, advisory id) cover
/// `f` in `facts`? Known malware is covered only by an acceptance naming one of its record ids.
fn covers(a: &Acceptance, facts: &ArtifactFacts, f: &Finding) -> bool {
    let project = crate::model::normalize_project_name(&facts.project);
    let names_record = |id: &String| crate::model::advisory_ids(f).iter().any(|x| x.eq_ignore_ascii_case(id));
    let advisory_ok = match &a.advisory {
        Some(id) => names_record(id),
        None => f.detector != MALWARE,
    };
    advisory_ok
        && a.findings.iter().any(|p| p.matches(&f.detector))
        && a.project.as_ref().is_none_or(|p| *p == project)
        && a.version.as_ref().is_none_or(|s| spec_contains(s, facts.version.as_deref()))
        && a.sha256.as_ref().is_none_or(|s| s.eq_ignore_ascii_case(&facts.sha256))
}

/// Vulnerability facts of a finding: its severity (from the advisory's CVSS vector or
/// rating), and whether it is exploited in the wild (or patching is mandated), as the
/// advisories feed recorded it ([`crate::model::Exploitation`]).
fn vulnerability_facts(f: &Finding) -> (crate::model::Severity, bool) {
    (f.severity, crate::model::Exploitation::of(f).is_exploited())
}

fn rule_matches(m: &Matcher, facts: &ArtifactFacts, f: &Finding) -> bool {
    m.detectors.as_ref().is_none_or(|v| v.iter().any(|p| p.matches(&f.detector)))
        && m.categories.as_ref().is_none_or(|c| c.contains(&f.category))
        && m.severities.as_ref().is_none_or(|s| s.contains(&f.severity))
        && m.projects.as_ref().is_none_or(|v| v.iter().any(|p| p.matches(&facts.project)))
        && m.version.as_ref().is_none_or(|s| spec_contains(s, facts.version.as_deref()))
        && m.kinds.as_ref().is_none_or(|k| k.contains(&facts.kind))
        && m.filenames.as_ref().is_none_or(|g| g.iter().any(|g| g.matches(&facts.filename)))
        && m.roles.as_ref().is_none_or(|r| {
            // The role and the severity must hold for one same piece of evidence: a Low piece at
            // install time beside a High one in a template is no high-severity install-time behaviour.
            f.evidence.iter().any(|e| {
                r.iter().any(|&want| role_fits(e.role, want))
                    && m.severities.as_ref().is_none_or(|s| s.contains(&e.severity.unwrap_or(f.severity)))
            })
        })
        && m.new_in_version.is_none_or(|want| facts.new_in_version.as_ref().and_then(|d| d.is_new(f)) == Some(want))
        && m.vulnerability.as_ref().is_none_or(|v| {
            let (severity, exploited) = vulnerability_facts(f);
            f.category == Category::Vulnerability
                && v.min_severity.is_none_or(|min| severity >= min)
                && v.exploited.is_none_or(|want| want == exploited)
        })
}

/// Whether evidence of role `got` fits a rule's `role: want`. Import-time code is runtime
/// code that runs on import, so `runtime` also matches it (policies written before the
/// split keep matching module-level code); `import-time` matches only it.
fn role_fits(got: FileRole, want: FileRole) -> bool {
    got == want || (got == FileRole::ImportTime && want == FileRole::Runtime)
}

/// `3d`, `12h`, `90m` for messages.
pub(super) fn fmt_duration(d: time::Duration) -> String {
    let m = d.whole_minutes();
    match m {
        _ if m % (60 * 24) == 0 => format!("{}d", m / (60 * 24)),
        _ if m % 60 == 0 => format!("{}h", m / 60),
        _ => format!("{m}m"),
    }
}
