//! Reading policy files: YAML → [`RawPolicy`] per file, the `extends` chain with cycle
//! detection, merging base and team files, and the digest of the resolved sources.
//!
//! Owns: all file I/O of the policy module and the merge semantics. Must not: evaluate.

use super::compile::{Ctx, Partial};
use super::locate::{line_of, render, Seg};
use super::schema::{Action, MissingUploadTime, RawPolicy};
use super::{Policy, PolicyError, Problem, Settings};
use crate::model::{IndexMode, Severity};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// One file of the chain, read and compiled.
struct Source {
    name: String,
    text: String,
    partial: Partial,
}

pub(super) fn load(path: &Path, known: &[&str]) -> Result<Policy, PolicyError> {
    let root = path.display().to_string();
    let mut chain = Vec::new();
    let mut visiting = Vec::new();
    read_chain(path, true, known, &mut visiting, &mut chain).map_err(|p| PolicyError::new(&root, p))?;
    let duplicates = duplicate_ids(&chain);
    if !duplicates.is_empty() {
        return Err(PolicyError::new(&root, duplicates));
    }
    Ok(assemble(chain, known))
}

pub(super) fn from_text(name: &str, text: &str, known: &[&str]) -> Result<Policy, PolicyError> {
    let raw = parse(name, text).map_err(|p| PolicyError::new(name, vec![p]))?;
    if raw.extends.is_some() {
        let p = problem(name, text, "extends", "`extends` needs a policy loaded from a file");
        return Err(PolicyError::new(name, vec![p]));
    }
    let partial = compile_one(name, text, &raw, true, known).map_err(|p| PolicyError::new(name, p))?;
    Ok(assemble(vec![Source { name: name.to_string(), text: text.to_string(), partial }], known))
}

fn problem(file: &str, text: &str, key: &str, message: &str) -> Problem {
    let path = [super::locate::Seg::Key(key.to_string())];
    Problem {
        file: file.to_string(),
        yaml_path: key.to_string(),
        line: super::locate::line_of(text, &path),
        message: message.to_string(),
    }
}

/// Depth-first: bases are pushed before the file that extends them.
fn read_chain(
    path: &Path,
    is_root: bool,
    known: &[&str],
    visiting: &mut Vec<PathBuf>,
    chain: &mut Vec<Source>,
) -> Result<(), Vec<Problem>> {
    let name = path.display().to_string();
    let whole = |message: String| vec![Problem { file: name.clone(), yaml_path: String::new(), line: None, message }];
    let canonical = path.canonicalize().map_err(|e| whole(format!("cannot read: {e}")))?;
    if let Some(start) = visiting.iter().position(|p| *p == canonical) {
        let cycle: Vec<String> =
            visiting[start..].iter().chain([&canonical]).map(|p| p.display().to_string()).collect();
        return Err(whole(format!("`extends` cycle: {}", cycle.join(" -> "))));
    }
    let text = std::fs::read_to_string(path).map_err(|e| whole(format!("cannot read: {e}")))?;
    let raw = parse(&name, &text).map_err(|p| vec![p])?;
    visiting.push(canonical);
    if let Some(base) = &raw.extends {
        let base_path = path.parent().unwrap_or(Path::new(".")).join(base);
        read_chain(&base_path, false, known, visiting, chain).map_err(|mut p| {
            p.push(problem(&name, &text, "extends", &format!("while reading base policy {base:?}")));
            p
        })?;
    }
    visiting.pop();
    let partial = compile_one(&name, &text, &raw, is_root, known)?;
    chain.push(Source { name, text, partial });
    Ok(())
}

/// Rule and acceptance ids repeated across the files of an `extends` chain.
fn duplicate_ids(chain: &[Source]) -> Vec<Problem> {
    let mut rules = std::collections::BTreeMap::new();
    let mut acceptances = std::collections::BTreeMap::new();
    let mut out = Vec::new();
    for s in chain {
        let ids = s.partial.rules.iter().map(|r| ("rules", r.label.clone()));
        let ids =
            ids.enumerate().chain(s.partial.acceptances.iter().map(|a| ("acceptances", a.id.clone())).enumerate());
        for (i, (list, id)) in ids {
            let seen = if list == "rules" { &mut rules } else { &mut acceptances };
            if let Some(first) = seen.insert(id.clone(), s.name.clone()) {
                let path = [Seg::Key(list.to_string()), Seg::Index(i), Seg::Key("id".to_string())];
                out.push(Problem {
                    file: s.name.clone(),
                    yaml_path: render(&path),
                    line: line_of(&s.text, &path),
                    message: format!("id {id:?} is already used in {first}; ids must be unique across `extends`"),
                });
            }
        }
    }
    out
}

/// YAML → typed raw policy; serde's message keeps its path, the line comes from its location.
fn parse(name: &str, text: &str) -> Result<RawPolicy, Problem> {
    if text.lines().all(|l| l.trim().is_empty() || l.trim_start().starts_with('#')) {
        return Ok(RawPolicy::default());
    }
    serde_yaml_ng::from_str(text).map_err(|e| {
        let full = e.to_string();
        let message = match full.rfind(" at line ") {
            Some(i) => &full[..i],
            None => full.as_str(),
        };
        let (yaml_path, message) = split_serde_path(&plain_type_names(message));
        Problem { file: name.to_string(), yaml_path, line: e.location().map(|l| l.line()), message }
    })
}

/// serde names our structs (`expected struct RawRule`); users need "a mapping".
fn plain_type_names(message: &str) -> String {
    match message.find("struct Raw") {
        Some(i) => {
            let end = message[i + 7..].find(|c: char| !c.is_alphanumeric()).map_or(message.len(), |e| i + 7 + e);
            format!("{}a mapping{}", &message[..i], &message[end..])
        }
        None => message.to_string(),
    }
}

/// serde_yaml_ng writes `rules[0].match: unknown field ...`; split off the path.
fn split_serde_path(message: &str) -> (String, String) {
    match message.split_once(": ") {
        Some((path, rest)) if !path.is_empty() && !path.contains([' ', '`']) => (path.to_string(), rest.to_string()),
        _ => (String::new(), message.to_string()),
    }
}

fn compile_one(
    name: &str,
    text: &str,
    raw: &RawPolicy,
    is_root: bool,
    known: &[&str],
) -> Result<Partial, Vec<Problem>> {
    let file_name = Path::new(name).file_name().map(|f| f.to_string_lossy().to_string()).unwrap_or_default();
    let rule_prefix = if is_root { String::new() } else { format!("{file_name}:") };
    let mut ctx = Ctx { file: name, text, known, rule_prefix, problems: vec![] };
    let partial = ctx.compile(raw);
    ctx.problems.sort_by_key(|p| p.line);
    if ctx.problems.is_empty() {
        Ok(partial)
    } else {
        Err(ctx.problems)
    }
}

/// Team (later) over base (earlier): team scalars win, maps merge key by key (team wins),
/// lists concatenate base first.
fn merge(base: Partial, team: Partial) -> Partial {
    let mut severity_defaults = base.severity_defaults;
    severity_defaults.extend(team.severity_defaults);
    let mut category_defaults = base.category_defaults;
    category_defaults.extend(team.category_defaults);
    Partial {
        upstream: team.upstream.or(base.upstream),
        listen: team.listen.or(base.listen),
        dangerous_fail_open: team.dangerous_fail_open.or(base.dangerous_fail_open),
        index: team.index.or(base.index),
        default_action: team.default_action.or(base.default_action),
        severity_defaults,
        category_defaults,
        rules: cat(base.rules, team.rules),
        acceptances: cat(base.acceptances, team.acceptances),
        allow: cat(base.allow, team.allow),
        deny: cat(base.deny, team.deny),
        min_age: team.min_age.or(base.min_age),
        exempt: cat(base.exempt, team.exempt),
        missing_upload_time: team.missing_upload_time.or(base.missing_upload_time),
        sdist_install_hooks: team.sdist_install_hooks.or(base.sdist_install_hooks),
        scan_limits: team.scan_limits.over(base.scan_limits),
        licences: super::licence::LicencePolicy::merge(base.licences, team.licences),
        users: cat(base.users, team.users),
        dangerous_allow_plain_http: team.dangerous_allow_plain_http.or(base.dangerous_allow_plain_http),
        limits: team.limits.over(base.limits),
        established: team.established.or(base.established),
    }
}

fn cat<T>(mut a: Vec<T>, b: Vec<T>) -> Vec<T> {
    a.extend(b);
    a
}

fn assemble(chain: Vec<Source>, known: &[&str]) -> Policy {
    let mut hasher = Sha256::new();
    for s in &chain {
        hasher.update(s.name.as_bytes());
        hasher.update([0]);
        hasher.update(s.text.as_bytes());
        hasher.update([0]);
    }
    let digest = hex::encode(hasher.finalize());
    let sources: Vec<String> = chain.iter().map(|s| s.name.clone()).collect();
    let merged = chain.into_iter().map(|s| s.partial).reduce(merge).unwrap_or_default();
    let mut warnings = Vec::new();
    if known.is_empty() {
        warnings.push("detector catalog unavailable: detector ids were not checked".to_string());
    }
    finish(merged, digest, sources, warnings)
}

/// Apply built-in defaults: `defaults.action: annotate`, `defaults.severity: { critical: block }`,
/// `index: hide`, fail closed, no cooldown, missing upload-time allowed.
pub(super) fn finish(p: Partial, digest: String, sources: Vec<String>, warnings: Vec<String>) -> Policy {
    let mut severity_defaults = p.severity_defaults;
    severity_defaults.entry(Severity::Critical).or_insert(Action::Block);
    Policy {
        settings: Settings {
            upstream: p.upstream,
            listen: p.listen,
            scan_limits: p.scan_limits.apply(),
            auth: crate::auth::Config {
                // A team file's entry for a user replaces its base's.
                users: p.users.into_iter().collect(),
                dangerous_allow_plain_http: p.dangerous_allow_plain_http.unwrap_or(false),
                limits: p.limits.apply(),
            },
        },
        digest,
        warnings,
        sources,
        dangerous_fail_open: p.dangerous_fail_open.unwrap_or(false),
        index: p.index.unwrap_or(IndexMode::Hide),
        default_action: p.default_action.unwrap_or(Action::Annotate),
        severity_defaults,
        category_defaults: p.category_defaults,
        rules: p.rules,
        acceptances: p.acceptances,
        allow: p.allow,
        deny: p.deny,
        min_age: p.min_age.unwrap_or(time::Duration::ZERO),
        exempt: p.exempt,
        missing_upload_time: p.missing_upload_time.unwrap_or(MissingUploadTime::Allow),
        sdist_install_hooks: p.sdist_install_hooks,
        licences: p.licences,
        established: p.established,
    }
}
