//! The `licences:` section: deny and allow lists of SPDX ids and expressions, what to do
//! with a licence that is not allowed or not known, and per-project exceptions; compiled
//! with YAML path and line for every bad value, and judged against the licence the scan
//! read ([`crate::model::Licence`] on [`ArtifactFacts`]).
//!
//! Semantics (see `docs/policy.md#licences`): an artifact's expression is satisfied when
//! the licensee can comply by choosing allowed terms: `A OR B` needs one branch, `A AND B`
//! needs both. A list entry that is one licence (`GPL-3.0-only`, `Apache-2.0 WITH
//! LLVM-exception`) matches that licence in any version scope (`-only`, `-or-later`, `+`:
//! the same licence text) and, without `WITH`, with any exception; an entry that is a
//! compound expression matches an artifact whose whole expression is exactly that.
//! Must not: read files or the clock, or weigh findings (see `eval`).

use super::compile::{Ctx, NamePattern};
use super::locate::Seg;
use super::schema::{Action, OneOrMany};
use crate::model::{ArtifactFacts, Licence, ReasonCode};
use crate::scan::licence::{family, normalise_expression};
use pep440_rs::VersionSpecifiers;
use serde::Deserialize;
use spdx::{Expression, LicenseReq};

/// `licences:` as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLicences {
    #[serde(default)]
    pub deny: Vec<String>,
    #[serde(default)]
    pub allow: Vec<String>,
    /// For a licence the allow list does not cover (default block).
    pub not_allowed: Option<Action>,
    /// For an artifact whose licence pipgate cannot establish (default allow).
    pub unknown: Option<Action>,
    #[serde(default)]
    pub exceptions: Vec<RawLicenceException>,
}

/// One `licences.exceptions` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLicenceException {
    /// Project name or glob.
    pub project: String,
    /// PEP 440 specifier set; every version when left out.
    pub version: Option<String>,
    /// The licences this exception lets through; every licence rule when left out.
    pub licences: Option<OneOrMany<String>>,
    pub reason: String,
}

/// One deny/allow entry.
#[derive(Debug, Clone)]
pub(super) enum Pattern {
    /// One licence: its family (`GPL-3.0`) and its `WITH` addition, if the entry names one.
    One { text: String, family: String, addition: Option<String> },
    /// A compound expression, canonical: matches an artifact with exactly that expression.
    Whole { text: String, canonical: String },
}

impl Pattern {
    fn text(&self) -> &str {
        match self {
            Pattern::One { text, .. } | Pattern::Whole { text, .. } => text,
        }
    }

    fn matches_req(&self, req: &LicenseReq) -> bool {
        match self {
            Pattern::One { family: f, addition, .. } => {
                family(&req.license.to_string()) == *f
                    && addition.as_ref().is_none_or(|a| req.addition.as_ref().is_some_and(|r| r.to_string() == *a))
            }
            Pattern::Whole { .. } => false,
        }
    }

    fn matches_whole(&self, canonical: &str) -> bool {
        matches!(self, Pattern::Whole { canonical: c, .. } if c == canonical)
    }
}

#[derive(Debug, Clone)]
pub(super) struct Exception {
    pub label: String,
    project: NamePattern,
    version: Option<VersionSpecifiers>,
    /// `None`: every licence rule is lifted for the project.
    licences: Option<Vec<Pattern>>,
    reason: String,
}

/// The compiled section. `None` on the policy (no section) means licences are not judged.
#[derive(Debug, Clone, Default)]
pub(crate) struct LicencePolicy {
    pub(super) deny: Vec<Pattern>,
    pub(super) allow: Vec<Pattern>,
    pub(super) not_allowed: Option<Action>,
    pub(super) unknown: Option<Action>,
    pub(super) exceptions: Vec<Exception>,
}

impl LicencePolicy {
    /// Team over base: scalars of the team win, lists concatenate base first.
    pub(super) fn merge(base: Option<LicencePolicy>, team: Option<LicencePolicy>) -> Option<LicencePolicy> {
        match (base, team) {
            (None, t) => t,
            (b, None) => b,
            (Some(mut b), Some(t)) => {
                b.deny.extend(t.deny);
                b.allow.extend(t.allow);
                b.exceptions.extend(t.exceptions);
                b.not_allowed = t.not_allowed.or(b.not_allowed);
                b.unknown = t.unknown.or(b.unknown);
                Some(b)
            }
        }
    }
}

fn k(s: &str) -> Seg {
    Seg::Key(s.to_string())
}

impl Ctx<'_> {
    pub(super) fn licences(&mut self, raw: &RawLicences) -> LicencePolicy {
        let base = [k("licences")];
        let deny = self.licence_patterns(&base, "deny", &raw.deny);
        let allow = self.licence_patterns(&base, "allow", &raw.allow);
        let mut exceptions = Vec::new();
        for (i, e) in raw.exceptions.iter().enumerate() {
            let at = vec![k("licences"), k("exceptions"), Seg::Index(i)];
            let before = self.problems.len();
            let mut path = at.clone();
            path.push(k("project"));
            let project = self.name_pattern(&path, &e.project);
            let version = e.version.as_ref().and_then(|v| {
                let mut path = at.clone();
                path.push(k("version"));
                self.specifiers(&path, v)
            });
            let licences = e.licences.as_ref().map(|l| {
                let list = l.to_vec();
                let mut lp = at.clone();
                lp.push(k("licences"));
                let paths: Vec<Vec<Seg>> = match l {
                    OneOrMany::One(_) => vec![lp.clone()],
                    OneOrMany::Many(v) => (0..v.len()).map(|j| [lp.clone(), vec![Seg::Index(j)]].concat()).collect(),
                };
                list.iter().zip(paths).filter_map(|(t, p)| self.licence_pattern(&p, t)).collect::<Vec<_>>()
            });
            if e.reason.trim().is_empty() {
                let mut path = at.clone();
                path.push(k("reason"));
                self.err(&path, "expected a reason: why this project may carry this licence");
            }
            if let (Some(project), true) = (project, self.problems.len() == before) {
                exceptions.push(Exception {
                    label: format!("licences.exceptions[{i}]"),
                    project,
                    version,
                    licences,
                    reason: e.reason.clone(),
                });
            }
        }
        LicencePolicy { deny, allow, not_allowed: raw.not_allowed, unknown: raw.unknown, exceptions }
    }

    fn licence_patterns(&mut self, base: &[Seg], key: &str, list: &[String]) -> Vec<Pattern> {
        list.iter()
            .enumerate()
            .filter_map(|(i, t)| {
                let path = [base.to_vec(), vec![k(key), Seg::Index(i)]].concat();
                self.licence_pattern(&path, t)
            })
            .collect()
    }

    fn licence_pattern(&mut self, path: &[Seg], text: &str) -> Option<Pattern> {
        let Some(canonical) = normalise_expression(text) else {
            self.err(path, format!("expected an SPDX licence id or expression (e.g. MIT, GPL-3.0-only, \"MIT OR Apache-2.0\"), got {text:?}"));
            return None;
        };
        let expr = Expression::parse(&canonical).ok()?;
        let reqs: Vec<&LicenseReq> = expr.requirements().map(|r| &r.req).collect();
        Some(match reqs.as_slice() {
            [one] => Pattern::One {
                text: text.to_string(),
                family: family(&one.license.to_string()),
                addition: one.addition.as_ref().map(ToString::to_string),
            },
            _ => Pattern::Whole { text: text.to_string(), canonical },
        })
    }
}

/// What the licence section says about one artifact: `None` when it has nothing to say
/// (no section, not scanned yet, or the licence is allowed).
pub(super) struct Judged {
    pub code: ReasonCode,
    pub message: String,
    pub action: Action,
}

impl LicencePolicy {
    /// The judgement on an artifact's licence; an exception that lifts what would block or
    /// annotate it is said (an `allow` with the exception's reason).
    pub(super) fn judge(&self, facts: &ArtifactFacts) -> Option<Judged> {
        let strict = self.judge_with(facts, None)?;
        let Some(e) = self.exceptions.iter().find(|e| {
            e.project.matches(&facts.project)
                && e.version.as_ref().is_none_or(|s| super::compile::spec_contains(s, facts.version.as_deref()))
        }) else {
            return Some(strict);
        };
        match self.judge_with(facts, Some(e)) {
            Some(still) => Some(still),
            None => Some(Judged {
                code: ReasonCode::Licence("exception".into()),
                message: format!("{}; allowed for {} by {}: {}", strict.message, facts.project, e.label, e.reason),
                action: Action::Allow,
            }),
        }
    }

    fn judge_with(&self, facts: &ArtifactFacts, exception: Option<&Exception>) -> Option<Judged> {
        let licence = facts.licence.as_ref()?;
        let lifted: &[Pattern] = match exception {
            Some(e) if e.licences.is_none() => return None,
            Some(e) => e.licences.as_deref().unwrap_or(&[]),
            None => &[],
        };
        let Some(expr) = licence.expression.as_deref().and_then(|e| Expression::parse(e).ok().map(|x| (e, x))) else {
            let action = self.unknown.unwrap_or(Action::Allow);
            if action == Action::Allow {
                return None;
            }
            let read = licence
                .sources
                .first()
                .map(|s| format!("; read {:?} at {} but did not recognise it", s.text, s.path))
                .unwrap_or_default();
            let message = format!(
                "the licence of {} is unknown (no License-Expression, License, licence classifier or licence file pipgate recognises{read}): licences.unknown: {}",
                facts.filename,
                action.as_str()
            );
            return Some(Judged { code: ReasonCode::Licence("unknown".into()), message, action });
        };
        let (canonical, expr) = expr;
        let is_lifted = |req: &LicenseReq| lifted.iter().any(|p| p.matches_req(req));
        let whole_lifted = lifted.iter().any(|p| p.matches_whole(canonical));
        let denied_by = |req: &LicenseReq| {
            if is_lifted(req) {
                return None;
            }
            self.deny.iter().find(|p| p.matches_req(req))
        };
        let whole_denied = if whole_lifted { None } else { self.deny.iter().find(|p| p.matches_whole(canonical)) };
        let what = describe(licence);
        let via = |p: &Pattern| format!("licences.deny: {}", p.text());
        if let Some(p) = whole_denied {
            let message = format!("licence {what} is denied by the policy ({})", via(p));
            return Some(Judged { code: ReasonCode::Licence("denied".into()), message, action: Action::Block });
        }
        if let Err(failed) = expr.evaluate_with_failures(|req| denied_by(req).is_none()) {
            let entries: Vec<String> =
                failed.iter().filter_map(|r| denied_by(&r.req)).map(|p| p.text().to_string()).collect();
            let message =
                format!("licence {what} is denied by the policy (licences.deny: {})", dedup(entries).join(", "));
            return Some(Judged { code: ReasonCode::Licence("denied".into()), message, action: Action::Block });
        }
        if self.allow.is_empty() || whole_lifted || self.allow.iter().any(|p| p.matches_whole(canonical)) {
            return None;
        }
        let allowed = |req: &LicenseReq| is_lifted(req) || self.allow.iter().any(|p| p.matches_req(req));
        if expr.evaluate(allowed) {
            return None;
        }
        let action = self.not_allowed.unwrap_or(Action::Block);
        let list: Vec<&str> = self.allow.iter().map(Pattern::text).collect();
        let message = format!(
            "licence {what} is not on the policy's licences.allow list ({}): licences.not_allowed: {}",
            list.join(", "),
            action.as_str()
        );
        (action != Action::Allow).then(|| Judged { code: ReasonCode::Licence("not-allowed".into()), message, action })
    }
}

impl LicencePolicy {
    /// The licence ids of an artifact that this section denies or does not allow (what an
    /// exception would have to name), in order.
    pub(super) fn offending(&self, facts: &ArtifactFacts) -> Vec<String> {
        let Some(expr) = facts.licence.as_ref().and_then(|l| l.expression.as_deref()) else { return vec![] };
        let Ok(expr) = Expression::parse(expr) else { return vec![] };
        let mut out: Vec<String> = Vec::new();
        for r in expr.requirements() {
            let denied = self.deny.iter().any(|p| p.matches_req(&r.req));
            let not_allowed = !self.allow.is_empty() && !self.allow.iter().any(|p| p.matches_req(&r.req));
            let id = r.req.to_string();
            if (denied || not_allowed) && !out.contains(&id) {
                out.push(id);
            }
        }
        out
    }
}

/// `GPL-3.0-only (License-Expression, demo-1.0.dist-info/METADATA:4)`.
fn describe(licence: &Licence) -> String {
    let expr = licence.expression.as_deref().unwrap_or("unknown");
    let Some(from) = licence.from else { return expr.to_string() };
    match licence.sources.iter().find(|s| s.origin == from && s.spdx.is_some()) {
        Some(s) => match s.line {
            Some(line) => format!("{expr} ({}, {}:{line})", from.as_str(), s.path),
            None => format!("{expr} ({}, {})", from.as_str(), s.path),
        },
        None => format!("{expr} ({})", from.as_str()),
    }
}

fn dedup(mut v: Vec<String>) -> Vec<String> {
    let mut seen = Vec::new();
    v.retain(|x| {
        let new = !seen.contains(x);
        seen.push(x.clone());
        new
    });
    v
}

#[cfg(test)]
mod tests;
