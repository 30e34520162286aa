//! Library side of the one-shot subcommands (`scan`, `policy explain`, `policy accept`):
//! turning a target into verified artifact facts the scanner and the policy work on.
//!
//! A target is a local file, a sha256 pipgate already holds in its data directory, or
//! `project==version`, fetched through the configured upstream with the proxy's own
//! machinery (same verification, same cache). Must not: print or exit (that is `main`).

use crate::app::App;
use crate::model::{normalize_project_name, parse_dist_filename, same_version, ArtifactFacts, ArtifactKind};
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::{Path, PathBuf};

/// What the user pointed a command at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    File(PathBuf),
    Sha256(String),
    Release { project: String, version: String },
}

#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error("{path}: {reason}")]
    Unreadable { path: String, reason: String },
    #[error("no artifact with sha256 {0} in the data directory (was it downloaded through this pipgate?)")]
    UnknownSha(String),
    #[error("{project}=={version}: no such release on the upstream index")]
    NoRelease { project: String, version: String },
    #[error("{0}")]
    Proxy(#[from] crate::error::ProxyError),
}

/// `file.whl` → File, 64 hex chars → Sha256, `name==1.0` → Release; an existing path always wins.
pub fn parse_target(s: &str) -> Target {
    let p = Path::new(s);
    if p.exists() {
        return Target::File(p.to_path_buf());
    }
    if let Ok(h) = crate::model::Sha256::parse(s) {
        return Target::Sha256(h.to_string());
    }
    if let Some((project, version)) = s.split_once("==") {
        return Target::Release { project: project.trim().to_string(), version: version.trim().to_string() };
    }
    Target::File(p.to_path_buf())
}

/// Facts for a local file: its name decides project, version and kind.
pub fn facts_for_file(path: &Path) -> Result<ArtifactFacts, TargetError> {
    let unreadable = |reason: String| TargetError::Unreadable { path: path.display().to_string(), reason };
    let mut f = std::fs::File::open(path).map_err(|e| unreadable(e.to_string()))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut size = 0u64;
    loop {
        let n = f.read(&mut buf).map_err(|e| unreadable(e.to_string()))?;
        if n == 0 {
            break;
        }
        size += n as u64;
        hasher.update(&buf[..n]);
    }
    let filename = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
    let parsed = parse_dist_filename(&filename);
    Ok(ArtifactFacts {
        project: parsed.as_ref().map(|d| normalize_project_name(&d.project)).unwrap_or_default(),
        version: parsed.as_ref().map(|d| d.version.clone()),
        kind: parsed.map(|d| d.kind).unwrap_or(ArtifactKind::Other),
        filename,
        sha256: hex::encode(hasher.finalize()),
        size,
        upload_time: None,
        path: path.to_path_buf(),
        licence: None,
        new_in_version: None,
        established: None,
    })
}

/// Resolve a target to the facts of every artifact it names (a release has several files).
pub async fn resolve(app: &App, target: &Target) -> Result<Vec<ArtifactFacts>, TargetError> {
    match target {
        Target::File(p) => Ok(vec![facts_for_file(p)?]),
        Target::Sha256(sha) => {
            let facts = app.verified_facts(sha).await?.ok_or_else(|| TargetError::UnknownSha(sha.clone()))?;
            Ok(vec![facts])
        }
        Target::Release { project, version } => {
            let norm = normalize_project_name(project);
            let page = app.index.project(&norm).await?.value;
            app.gate.remember_history(&norm, &page);
            let mut out = Vec::new();
            for e in &page.files {
                let matches = parse_dist_filename(&e.filename).is_some_and(|d| same_version(&d.version, version));
                if !matches {
                    continue;
                }
                if let Some(facts) = app.verified_facts_as(&crate::index::file_key(e), Some(&e.filename)).await? {
                    out.push(facts);
                }
            }
            if out.is_empty() {
                return Err(TargetError::NoRelease { project: norm, version: version.clone() });
            }
            Ok(out)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse_by_shape() {
        let sha = "ab".repeat(32);
        let cases = [
            ("sha256", sha.as_str(), Target::Sha256(sha.clone())),
            ("release", "requests==2.31.0", Target::Release { project: "requests".into(), version: "2.31.0".into() }),
            ("file", "dist/x-1.0.tar.gz", Target::File("dist/x-1.0.tar.gz".into())),
        ];
        for (case, input, want) in cases {
            assert_eq!(parse_target(input), want, "{case}");
        }
    }
}
