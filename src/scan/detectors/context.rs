//! Where a hit sits caps how much it can weigh. Behaviour detectors (process,
//! download, download-and-execute, persistence, reverse shell, credential access)
//! run the same patterns everywhere, then cap the severity by the file's place:
//!
//! | place | cap |
//! |---|---|
//! | install time (`setup.py`, `.pth`, build hooks) | none |
//! | library code | none |
//! | shell/batch/PowerShell script not run at install | high |
//! | tests, docs, examples, CI and dev tooling | medium |
//! | data and web assets (`.js`, `.css`, `.json`, `.yaml`, `.md`, …), change logs, READMEs | low |
//!
//! Owns: the place of a file and the caps. Must not: report.

use super::pysrc;
use crate::model::{FileRole, Severity};
use crate::scan::detector::TextFile;
use crate::scan::roles;

/// What kind of place a file is, for weighing behaviour found in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Place {
    InstallTime,
    Code,
    /// A shell/batch/PowerShell script shipped but not run by the installer.
    Script,
    /// Tests, docs, examples, CI and maintainer tooling.
    DevTooling,
    /// Data files and web assets: nothing in them runs on the installing machine.
    Data,
}

const DATA_EXTENSIONS: &[&str] = &[
    "js",
    "mjs",
    "cjs",
    "jsx",
    "ts",
    "tsx",
    "css",
    "scss",
    "map",
    "html",
    "htm",
    "json",
    "jsonl",
    "yaml",
    "yml",
    "txt",
    "md",
    "rst",
    "csv",
    "tsv",
    "xml",
    "svg",
    "toml",
    "ini",
    "cfg",
    "ipynb",
    "adoc",
    "tex",
    "po",
    "pot",
    "gitignore",
    "gitattributes",
    "dockerignore",
    "editorconfig",
    "lock",
];
const SCRIPT_EXTENSIONS: &[&str] = &["sh", "bash", "zsh", "ksh", "bat", "cmd", "ps1", "psm1"];

fn extension(path: &str) -> String {
    let base = path.rsplit(['/', '\\', '!']).next().unwrap_or(path);
    base.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default()
}

/// The place of one file, from its role and path.
pub(crate) fn place(file: &TextFile<'_>) -> Place {
    if file.role == FileRole::InstallTime {
        return Place::InstallTime;
    }
    let ext = extension(file.path);
    // Change logs, READMEs and licences without an extension (`CHANGELOG`, `NEWS`) are prose too.
    if DATA_EXTENSIONS.contains(&ext.as_str())
        || matches!(file.role, FileRole::Metadata | FileRole::Binary)
        || (!file.is_python && pysrc::looks_like_docs_file(file.path))
    {
        return Place::Data;
    }
    if file.role == FileRole::TestOrDocs
        || pysrc::looks_like_test_path(file.path)
        || roles::is_dev_tooling_path(file.path)
    {
        return Place::DevTooling;
    }
    if SCRIPT_EXTENSIONS.contains(&ext.as_str()) || (!file.is_python && file.role == FileRole::Other) {
        return Place::Script;
    }
    Place::Code
}

/// Whether a non-Python file is a program a shell runs: a script extension or a `#!` line.
/// Anything else shipped as text (`.dat`, `.list`, no extension) is data to whatever reads it.
pub(crate) fn is_script(file: &TextFile<'_>) -> bool {
    SCRIPT_EXTENSIONS.contains(&extension(file.path).as_str()) || file.text.starts_with("#!")
}

/// The highest severity a behaviour hit may have in `place`.
pub(crate) fn max_severity(place: Place) -> Severity {
    match place {
        Place::InstallTime | Place::Code => Severity::Critical,
        Place::Script => Severity::High,
        Place::DevTooling => Severity::Medium,
        Place::Data => Severity::Low,
    }
}

/// `sev` capped by the file's place.
pub(crate) fn cap(file: &TextFile<'_>, sev: Severity) -> Severity {
    sev.min(max_severity(place(file)))
}

/// `sev` weighed by place: one step up at install time, then capped by the place
/// (obfuscation detectors: install time > library code > tests/docs > data).
pub(crate) fn weigh(file: &TextFile<'_>, sev: Severity) -> Severity {
    let raised = match (place(file), sev) {
        (Place::InstallTime, Severity::Low) => Severity::Medium,
        (Place::InstallTime, Severity::Medium) => Severity::High,
        (Place::InstallTime, Severity::High | Severity::Critical) => Severity::Critical,
        (_, s) => s,
    };
    cap(file, raised)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_follow_role_and_path() {
        let cases = [
            ("setup.py", FileRole::InstallTime, true, Place::InstallTime),
            ("pkg/a.py", FileRole::Runtime, true, Place::Code),
            ("pkg/run.sh", FileRole::Runtime, false, Place::Script),
            ("pkg/run.ps1", FileRole::Other, false, Place::Script),
            ("pkg-1.0/build-docs.sh", FileRole::TestOrDocs, false, Place::DevTooling),
            ("m/ci/ciimage/opensuse/install.sh", FileRole::Runtime, false, Place::DevTooling),
            ("m/manual tests/4 x/build.py", FileRole::Runtime, true, Place::DevTooling),
            ("pkg/static/chunks/a.js", FileRole::Other, false, Place::Data),
            ("pkg/data/rules.yaml", FileRole::Other, false, Place::Data),
            ("pkg/README.md", FileRole::Other, false, Place::Data),
            ("pkg-1.0/.gitignore", FileRole::Other, false, Place::Data),
            ("pkg-1.0/CHANGELOG", FileRole::Other, false, Place::Data),
            ("pkg-1.0/NEWS", FileRole::Other, false, Place::Data),
            ("pkg/news.py", FileRole::Runtime, true, Place::Code),
        ];
        for (path, role, is_python, want) in cases {
            let f = TextFile::new(path, role, is_python, "");
            assert_eq!(place(&f), want, "{path}");
        }
        assert_eq!(max_severity(Place::Script), Severity::High);
    }
}
