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
//! A setup.py class registered in `cmdclass` only under commands pip never runs (a
//! maintainer's `update_data`, `publish`) runs when someone types that command, not at
//! install: [`in_maintainer_command`]; likewise a branch taken only when the command line
//! names such a command (`if sys.argv[-1] == "publish":`): [`in_argv_command`].
//!
//! Owns: the place of a file and the caps. Must not: report.

use super::pysrc::{self, Kind, Source};
use crate::model::{FileRole, Severity};
use crate::scan::detector::TextFile;
use crate::scan::roles;
use regex::Regex;
use std::sync::LazyLock;

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
        || (!file.is_python && pysrc::docs_member(file))
    {
        return Place::Data;
    }
    if file.role == FileRole::TestOrDocs || pysrc::test_member(file) || roles::is_dev_tooling_path(file.path) {
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

/// Commands pip runs when it builds, installs or reads the metadata of an sdist (PEP 517
/// through setuptools, legacy `setup.py install`/`develop`), with their sub-commands.
/// `sdist` is not one: it makes the source distribution (the maintainer's step before
/// upload); installing one builds a wheel from it (`egg_info`, `build_*`, `bdist_wheel`) and
/// never runs the `sdist` command again, so an `sdist` override that vendors sources
/// (downloads a library into the tree to ship it) does not run at install.
const PIP_COMMANDS: &[&str] = &[
    "egg_info",
    "dist_info",
    "build",
    "build_py",
    "build_ext",
    "build_clib",
    "build_scripts",
    "bdist_wheel",
    "bdist_egg",
    "install",
    "install_lib",
    "install_scripts",
    "install_data",
    "install_headers",
    "install_egg_info",
    "develop",
    "editable_wheel",
];

/// `'name': Class` in a `cmdclass` dict, or `cmdclass['name'] = Class`: the command name and the class.
static CMDCLASS_ENTRY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?:['"](?P<k>[\w-]+)['"]\s*:\s*|cmdclass\s*\[\s*['"](?P<k2>[\w-]+)['"]\s*\]\s*=\s*)(?P<cls>\w+)\b"#)
        .expect("cmdclass entry")
});

/// Whether byte `at` of a setup.py lies in a top-level class that `cmdclass` registers only
/// under commands pip never runs, that derives from none of pip's commands, and that nothing
/// else in the file names (no `run_command("<it>")`, no `sub_commands` entry, no direct use):
/// a maintainer's command, run by hand (`python setup.py update_data`), not at install.
pub(crate) fn in_maintainer_command(src: &Source<'_>, at: usize) -> bool {
    let text = src.text;
    let Some((name, bases)) = enclosing_class(src, at) else {
        return false;
    };
    let derives_pip = bases.split(',').any(|b| {
        let b = b.trim().rsplit('.').next().unwrap_or("").trim().to_ascii_lowercase();
        let b = b.trim_start_matches('_');
        PIP_COMMANDS.contains(&b) || b.starts_with("orig") || b.starts_with("base_")
    });
    if derives_pip {
        return false;
    }
    let keys: Vec<&str> = CMDCLASS_ENTRY
        .captures_iter(text)
        .filter(|c| c.name("cls").is_some_and(|m| m.as_str() == name))
        .filter_map(|c| c.name("k").or(c.name("k2")).map(|m| m.as_str()))
        .collect();
    if keys.is_empty() || keys.iter().any(|k| PIP_COMMANDS.contains(k)) {
        return false;
    }
    // The command's name appears only where it is registered, the class's only there and at its definition.
    let quoted = |k: &str| text.matches(&format!("'{k}'")).count() + text.matches(&format!("\"{k}\"")).count();
    let named = text.match_indices(name).filter(|(i, _)| word_at(text, *i, name.len())).count();
    keys.iter().all(|k| quoted(k) == keys.iter().filter(|x| *x == k).count()) && named == keys.len() + 1
}

/// `argv[1] == "publish"`, `sys.argv[-1] in ("gen", "clean")` in an `if`/`elif` header: the
/// command names tested.
static ARGV_TEST: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?:sys\.)?argv\s*\[\s*-?\d+\s*\]\s*(?:==\s*['"](?P<one>[\w-]+)['"]|(?P<not>not\s+)?in\s*[(\[{](?P<many>[^)\]}\n]*)[)\]}])"#)
        .expect("argv test")
});

/// Whether byte `at` of a setup.py lies in a branch taken only when the command line names
/// commands pip never runs: `if sys.argv[-1] == "publish":`, `elif argv[1] in ("gen",
/// "clean"):` (an enclosing `if`/`elif` header tests `argv[N]` against names, none of them
/// a pip command). An `else:` branch, a negated test or any pip command name: false.
pub(crate) fn in_argv_command(src: &Source<'_>, at: usize) -> bool {
    let text = src.text;
    let indent = |l: &str| l.len() - l.trim_start_matches([' ', '\t']).len();
    let mut end = pysrc::floor_char(text, at.min(text.len()));
    let start = text[..end].rfind('\n').map_or(0, |i| i + 1);
    let mut level = indent(&text[start..end]);
    while level > 0 && end > 0 {
        let start = text[..end].rfind('\n').map_or(0, |i| i + 1);
        let line = text[start..].split('\n').next().unwrap_or("");
        let trimmed = line.trim_start_matches([' ', '\t']);
        let skip = trimmed.is_empty()
            || trimmed.starts_with(['#', ')', ']', '}'])
            || src.span_at(start + indent(line)).is_some_and(|s| s.start < start + indent(line));
        if !skip && indent(line) < level {
            level = indent(line);
            if trimmed.starts_with("else") {
                return false;
            }
            if trimmed.starts_with("if ") || trimmed.starts_with("elif ") {
                if let Some(c) = ARGV_TEST.captures(trimmed) {
                    if c.name("not").is_some() {
                        return false;
                    }
                    let names: Vec<&str> = match (c.name("one"), c.name("many")) {
                        (Some(one), _) => vec![one.as_str()],
                        (None, Some(many)) => many
                            .as_str()
                            .split(',')
                            .map(|n| n.trim().trim_matches(['\'', '"']))
                            .filter(|n| !n.is_empty())
                            .collect(),
                        _ => Vec::new(),
                    };
                    return !names.is_empty() && names.iter().all(|n| !PIP_COMMANDS.contains(n));
                }
            }
        }
        if start == 0 {
            break;
        }
        end = start - 1;
    }
    false
}

/// The top-level `class Name(Bases):` whose body holds byte `at`: its name and base list.
/// A line that starts inside a string literal (the body of a multi-line string at column 0,
/// such as a template constant in a method) neither opens nor ends a block.
fn enclosing_class<'t>(src: &Source<'t>, at: usize) -> Option<(&'t str, &'t str)> {
    let text = src.text;
    let mut end = pysrc::floor_char(text, at.min(text.len()));
    loop {
        let start = text[..end].rfind('\n').map_or(0, |i| i + 1);
        let in_string = src.span_at(start).is_some_and(|s| s.start < start && matches!(s.kind, Kind::Str | Kind::Doc));
        let line = &text[start..];
        if !in_string {
            if let Some(rest) = line.strip_prefix("class ") {
                let name_end = rest.find(|c: char| !(c.is_alphanumeric() || c == '_'))?;
                let name = &rest[..name_end];
                let bases = rest[name_end..].strip_prefix('(').and_then(|r| r.split_once(')')).map_or("", |(b, _)| b);
                return (!name.is_empty()).then_some((name, bases));
            }
            let opens = !line.starts_with([' ', '\t', '\r', '\n', '#', ')', ']', '}']);
            if opens {
                return None;
            }
        }
        if start == 0 {
            return None;
        }
        end = start - 1;
    }
}

fn word_at(s: &str, i: usize, len: usize) -> bool {
    let b = s.as_bytes();
    let ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    (i == 0 || !ident(b[i - 1])) && b.get(i + len).is_none_or(|&c| !ident(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maintainer_commands_are_told_from_what_pip_runs() {
        const UPDATE: &str = "class UpdateList(Command):\n    def run(self):\n        data = requests.get(URL).content\n        open(P, 'wb').write(data)\n\nsetup(name='x', cmdclass={'update_list': UpdateList})\n";
        let cases: &[(&str, String, bool)] = &[
            ("a command pip never runs", UPDATE.to_string(), true),
            (
                "registered as install too",
                UPDATE.replace("{'update_list': UpdateList}", "{'update_list': UpdateList, 'install': UpdateList}"),
                false,
            ),
            (
                "run by an install hook",
                format!("{UPDATE}class I(install):\n    def run(self):\n        self.run_command('update_list')\n"),
                false,
            ),
            ("listed in sub_commands", format!("{UPDATE}build.sub_commands.append(('update_list', None))\n"), false),
            ("derives from a pip command", UPDATE.replace("UpdateList(Command)", "UpdateList(build_py)"), false),
            (
                "an sdist override that vendors a library (making the sdist, not installing it)",
                UPDATE.replace("UpdateList(Command)", "UpdateList(sdist)").replace("'update_list'", "'sdist'"),
                true,
            ),
            (
                "the sdist override also registered as build_ext",
                UPDATE
                    .replace("UpdateList(Command)", "UpdateList(sdist)")
                    .replace("{'update_list': UpdateList}", "{'sdist': UpdateList, 'build_ext': UpdateList}"),
                false,
            ),
            (
                "an sdist subclass registered as install",
                UPDATE.replace("UpdateList(Command)", "UpdateList(sdist)").replace("'update_list'", "'install'"),
                false,
            ),
            ("called directly", format!("{UPDATE}UpdateList(dist).run()\n"), false),
            ("registered nowhere", UPDATE.replace("cmdclass={'update_list': UpdateList}", "cmdclass={}"), false),
            (
                "a multi-line template string at column 0 inside the method",
                UPDATE.replace(
                    "    def run(self):\n",
                    "    def run(self):\n        TEMPLATE = '''\nname: x\nurl: %(u)s\n'''\n",
                ),
                true,
            ),
            (
                "a class line inside a string is no class",
                "X = '''\nclass UpdateList(Command):\n'''\ndata = requests.get(URL).content\nsetup(cmdclass={'update_list': UpdateList})\n".to_string(),
                false,
            ),
            (
                "a multi-line string at column 0 in a pip command's class",
                UPDATE
                    .replace("    def run(self):\n", "    def run(self):\n        T = '''\nx\n'''\n")
                    .replace("{'update_list': UpdateList}", "{'build_py': UpdateList}"),
                false,
            ),
            (
                "module level after a class that holds a column-0 string",
                format!("{}data = requests.get(URL).content\n", UPDATE.replace("    def run(self):\n", "    def run(self):\n        T = '''\nx\n'''\n")),
                false,
            ),
            (
                "module level, not in a class",
                "data = requests.get(URL).content\nsetup(cmdclass={'update_list': UpdateList})\n".to_string(),
                false,
            ),
        ];
        for (case, text, want) in cases {
            let at = text.rfind("requests.get").expect("fetch");
            assert_eq!(in_maintainer_command(&Source::python(text), at), *want, "{case}");
        }
    }

    #[test]
    fn command_line_branches_pip_never_takes() {
        let fetch = "        urlopen(URL).read()\n";
        let cases: &[(&str, String, bool)] = &[
            ("publish branch", format!("import sys\nif sys.argv[-1] == 'publish':\n{fetch}    sys.exit()\nsetup()\n"), true),
            (
                "elif in a main(argv)",
                format!("def main(argv):\n    if len(argv) >= 2 and argv[1] in ('gen', 'clean'):\n        gen()\n    elif len(argv) >= 2 and argv[1] == 'pypi':\n        if check:\n    {fetch}    else:\n        setup()\n"),
                true,
            ),
            ("a pip command", format!("if sys.argv[1] == 'install':\n{fetch}"), false),
            ("a pip command among others", format!("if sys.argv[1] in ('gen', 'bdist_wheel'):\n{fetch}"), false),
            ("negated test", format!("if sys.argv[1] not in ('gen', 'clean'):\n{fetch}"), false),
            ("the else branch", format!("if sys.argv[-1] == 'publish':\n    pass\nelse:\n{fetch}"), false),
            ("module level", "urlopen(URL).read()\n".to_string(), false),
            ("another condition", format!("if os.name == 'nt':\n{fetch}"), false),
        ];
        for (case, text, want) in cases {
            let at = text.find("urlopen").expect("fetch");
            assert_eq!(in_argv_command(&Source::python(text), at), *want, "{case}");
        }
    }

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
