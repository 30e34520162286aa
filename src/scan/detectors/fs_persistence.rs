//! `file-system.persistence`: making code run again later — crontab edits, the
//! Windows `Run`/`RunOnce` registry keys, Startup folders, scheduled tasks,
//! systemd user/system units, shell rc-file appends, launchd plists, XDG autostart,
//! `authorized_keys` appends.
//!
//! Matches in Python strings/code and shipped scripts (comments/docstrings,
//! tests and docs skipped). Persistence needs a *write* to a persistence location,
//! not a mention: commands that install a job (`crontab -`, `schtasks /create`,
//! `systemctl enable`, `launchctl load`) count as they are; a location (Run key,
//! Startup folder, systemd unit directory, LaunchAgents, autostart, `init.d`) is High
//! only with a write within a few lines (`open(…, 'a'|'w')`, `.write`, `>>`,
//! `SetValueEx`, a copy or move, `urlretrieve`), else Low (Medium at install time),
//! so a service manager that *checks* `/etc/init.d/` is not persistence. rc files and
//! `authorized_keys` count only when written nearby. A `|crontab` that is a regex
//! alternation in a pattern literal (a scanner's list of persistence patterns) is no pipe.
//! A `RUN` step of a container build recipe (a Dockerfile, or a Python string holding one,
//! reaching the match through `&&` only) changes the image being built, not this machine: Low.

use super::context;
use super::pysrc::{self, Kind, MAX_HITS_PER_FILE};
use crate::model::{Category, FileRole, Severity};
use crate::scan::detector::{Detector, DetectorMeta, Hit, Hits, Interest, TextFile};
use regex::Regex;
use std::sync::LazyLock;

pub(crate) static META: DetectorMeta = DetectorMeta {
    id: "file-system.persistence",
    revision: 5,
    title: "Installs itself to run at start-up or on a schedule.",
    category: Category::FileSystem,
    severity: Severity::High,
    description:
        "Autostart entries, scheduled jobs and rc-file edits keep malicious code running after the package is gone.",
};

static PERSIST: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"(?i)(?P<always>(?-u:\b)schtasks(?:\.exe)?\s+/create(?-u:\b)|(?-u:\b)crontab\s+(?:-l|-e|-\s|-$|/)|\|\s*crontab(?-u:\b)|(?-u:\b)systemctl\s+(?:--user\s+)?enable(?-u:\b)|(?-u:\b)launchctl\s+load(?-u:\b))",
        r"|(?P<place>CurrentVersion\\+Run(?:Once)?(?-u:\b)|Start Menu(?:[\\/]+|['\x22]\s*[,+]\s*['\x22])Programs(?:[\\/]+|['\x22]\s*[,+]\s*['\x22])Startup(?-u:\b)|shell:startup",
        r"|\.config/systemd/user(?-u:\b)|/etc/systemd/system/[\w@.-]+\.service|Library/LaunchAgents|/Library/LaunchDaemons|\.config/autostart(?-u:\b)|/etc/rc\.local|/etc/init\.d/)",
        r"|(?P<write>/etc/cron\.\w+|/var/spool/cron|/etc/crontab|\.bashrc(?-u:\b)|\.bash_profile(?-u:\b)|\.zshrc(?-u:\b)|\.profile(?-u:\b)|authorized_keys(?-u:\b))",
    ))
    .expect("persist")
});
/// Words every [`PERSIST`] match holds (lowercase; matched in the member's lowercased copy):
/// its gate ([`TextFile::may_contain_ci`]). The detector is selected by words such as
/// `startup` and `.profile`, which most modules that hold them use for something else.
const PERSIST_WORDS: &[&str] = &[
    "schtasks",
    "crontab",
    "systemctl",
    "launchctl",
    "currentversion",
    "start menu",
    "shell:startup",
    ".config/systemd/user",
    "/etc/systemd/system/",
    "library/launchagents",
    "/library/launchdaemons",
    ".config/autostart",
    "/etc/rc.local",
    "/etc/init.d/",
    "/etc/cron.",
    "/var/spool/cron",
    ".bashrc",
    ".bash_profile",
    ".zshrc",
    ".profile",
    "authorized_keys",
];
static PERSIST_GATE: LazyLock<aho_corasick::AhoCorasick> = LazyLock::new(|| pysrc::gate(PERSIST_WORDS));
static WRITES: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"open\s*\([^)\n]*['"]a|>>|\.write\s*\(|write_text\s*\("#).expect("writes"));
/// Writes that put something into a persistence location (beyond [`WRITES`]).
static PLACES_WRITE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"open\s*\([^)\n]*,\s*(?:mode\s*=\s*)?['"][wax]|(?-u:\b)(?:SetValueEx|SetValue|CreateKey(?:Ex)?|copy|copy2|copyfile|move|symlink|urlretrieve|write_bytes|New-ItemProperty|Set-ItemProperty|Copy-Item)\s*\(|(?-u:\b)reg(?:\.exe)?\s+add(?-u:\b)|(?-u:\b)(?:cp|mv|ln|tee)\s"#)
        .expect("places write")
});

/// How far (in lines) a write may be from the rc/cron path it writes.
const WRITE_WINDOW_LINES: usize = 5;

/// Whether an rc/cron/`authorized_keys` path at `off` is the file being written, not
/// text inside what is written: `f.write('[ -e ~/.bashrc ] && . ~/.bashrc')` writes
/// a temporary rc file that *mentions* `.bashrc`; a file created in a temporary
/// directory (`os.path.join(tmpdir.name, '.zshrc')`) changes no start-up file.
/// In scripts the path must follow a redirection or `tee`.
fn is_target(file: &TextFile<'_>, off: usize) -> bool {
    let t = file.text;
    let start = t[..off].rfind('\n').map_or(0, |i| i + 1);
    let end = t[off..].find('\n').map_or(t.len(), |i| off + i);
    let (before, line) = (&t[start..off], t[start..end].to_ascii_lowercase());
    if before.contains(".write(") || before.contains(".writelines(") || before.contains("print(") {
        return false;
    }
    if line.contains("tmp") || line.contains("temp") {
        return false;
    }
    file.is_python || before.contains('>') || before.contains("tee ") || before.contains("cat ")
}

/// Whether the `| crontab` match at `start..end` is a regex alternation in a pattern
/// literal, not a shell pipe: inside a Python string, either the `|` opens the literal
/// (a shell command never starts with a pipe: `r"|crontab\s"` continues a pattern
/// concatenated over lines) or a regex escape follows the word (`crontab\s`, `crontab\b`).
/// A scanner's list of persistence patterns installs nothing.
fn regex_alternation(file: &TextFile<'_>, start: usize, end: usize) -> bool {
    let Some(span) = file.source().span_at(start).filter(|s| s.kind == Kind::Str) else {
        return false;
    };
    let body = &file.text[span.body_start..span.body_end.max(span.body_start)];
    let opens = file.text[span.body_start..start].trim().is_empty();
    let escape_after = file.text[end..span.body_end.max(end)].starts_with('\\');
    file.is_python && !body.is_empty() && (opens || escape_after)
}

/// The line holding `offset`.
fn line_text(text: &str, offset: usize) -> &str {
    let start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let end = text[offset..].find('\n').map_or(text.len(), |i| offset + i);
    &text[start..end]
}

/// `name` in `name = …` (or `name: T = …`) on the line holding `offset`.
fn assigned_name(text: &str, offset: usize) -> Option<&str> {
    let line = line_text(text, offset).trim_start();
    let end = line.find(|c: char| !(c.is_alphanumeric() || c == '_'))?;
    let (name, rest) = line.split_at(end);
    let rest = rest.trim_start();
    let assigns = rest.starts_with('=') && !rest.starts_with("==") || rest.starts_with(':');
    (!name.is_empty() && assigns).then_some(name)
}

/// Whether `line` uses the identifier `name` (not as part of a longer one).
fn mentions(line: &str, name: &str) -> bool {
    line.match_indices(name).any(|(i, _)| {
        let before = line[..i].chars().next_back();
        let after = line[i + name.len()..].chars().next();
        !before.is_some_and(|c| c.is_alphanumeric() || c == '_')
            && !after.is_some_and(|c| c.is_alphanumeric() || c == '_')
    })
}

/// A container build recipe: a `FROM <image>` line.
static FROM_LINE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?m)^[ \t]*FROM[ \t]+\S").expect("from line"));

/// Whether the match at `off` is part of a `RUN` step of a container build recipe (a
/// Dockerfile, or a Python string holding one: a `FROM` line and the match on a `RUN` line,
/// continued with `\`): it changes the image being built, not this machine. The step must
/// reach the match through `&&` only (no `;`, `|`, `||`, lone `&`, `$(` or backticks: a shell
/// given that text would stop at the unknown `RUN` command before running the match).
fn in_container_build_step(file: &TextFile<'_>, off: usize) -> bool {
    let lower = file.path.to_ascii_lowercase();
    let base = lower.rsplit(['/', '!']).next().unwrap_or(&lower);
    let dockerfile = base == "dockerfile" || base.ends_with(".dockerfile") || base.starts_with("dockerfile.");
    let (start, end) = if file.is_python {
        match file.source().span_at(off).filter(|s| s.kind == Kind::Str) {
            Some(s) => (s.body_start, s.body_end.max(s.body_start)),
            None => return false,
        }
    } else if dockerfile || base == "containerfile" {
        (0, file.text.len())
    } else {
        return false;
    };
    let body = &file.text[start..end];
    if !FROM_LINE.is_match(body) {
        return false;
    }
    // The logical line: back over lines that end with a continuation backslash.
    let mut ls = file.text[start..off].rfind('\n').map_or(start, |i| start + i + 1);
    while ls > start {
        let prev = file.text[start..ls - 1].rfind('\n').map_or(start, |i| start + i + 1);
        if !file.text[prev..ls - 1].trim_end().ends_with('\\') {
            break;
        }
        ls = prev;
    }
    let step = file.text[ls..off].trim_start();
    let Some(rest) = step.strip_prefix("RUN").filter(|r| r.starts_with([' ', '\t', '\\'])) else {
        return false;
    };
    let rest = rest.replace("&&", "  ");
    !rest.contains([';', '|', '&', '`']) && !rest.contains("$(")
}

pub(crate) struct Persistence;

impl Detector for Persistence {
    fn meta(&self) -> &'static DetectorMeta {
        &META
    }
    fn interest(&self) -> Interest {
        Interest::Literals(&[
            "CurrentVersion",
            "Startup",
            "startup",
            "schtasks",
            "crontab",
            "/cron",
            "systemd",
            "systemctl",
            "LaunchAgents",
            "LaunchDaemons",
            "launchctl",
            "autostart",
            "rc.local",
            "init.d",
            ".bashrc",
            ".bash_profile",
            ".zshrc",
            ".profile",
            "authorized_keys",
        ])
    }
    fn scan_text(&self, file: &TextFile<'_>, hits: &mut Hits) {
        if matches!(file.role, FileRole::TestOrDocs | FileRole::Metadata | FileRole::Binary) || pysrc::test_member(file)
        {
            return;
        }
        // No word a match holds: nothing below can report (the searches and the lexing are skipped).
        if !file.may_contain_ci(&PERSIST_GATE) {
            return;
        }
        let src = file.source();
        let live = |o: usize| !src.python || matches!(src.kind_at(o), Kind::Code | Kind::Str);
        let lines = file.source().lines();
        let line_of = |o: usize| lines.line(o);
        // Console output (`sys.stdout.write("add this to ~/.bashrc")`) writes no file.
        let to_console = |o: usize| {
            let head = &file.text[pysrc::floor_char(file.text, o.saturating_sub(8))..o];
            head.ends_with("stdout") || head.ends_with("stderr")
        };
        // The writes are searched only when a match asks (most matches are mentions).
        let writes = std::cell::OnceCell::new();
        let writes = || -> &Vec<usize> {
            writes.get_or_init(|| {
                WRITES
                    .find_iter(file.text)
                    .filter(|m| live(m.start()) && !to_console(m.start()))
                    .map(|m| line_of(m.start()))
                    .collect()
            })
        };
        // rc files, cron files and authorized_keys count only when written nearby.
        let written_near = |o: usize| {
            let l = line_of(o);
            writes().iter().any(|&w| w.abs_diff(l) <= WRITE_WINDOW_LINES)
        };
        let place_writes = std::cell::OnceCell::new();
        let place_writes = || -> &Vec<usize> {
            place_writes.get_or_init(|| {
                WRITES
                    .find_iter(file.text)
                    .chain(PLACES_WRITE.find_iter(file.text))
                    .filter(|m| live(m.start()))
                    .map(|m| m.start())
                    .collect()
            })
        };
        // A location counts when a nearby write is aimed at it: on the same line, or naming
        // the variable the location was assigned to (`d = …Startup…` then `copy(exe, d)`).
        let place_written = |o: usize| {
            let l = line_of(o);
            let target = assigned_name(file.text, o);
            place_writes().iter().any(|&w| {
                let wl = line_of(w);
                wl.abs_diff(l) <= WRITE_WINDOW_LINES
                    && (wl == l || target.is_some_and(|name| mentions(line_text(file.text, w), name)))
            })
        };
        let install = file.role == FileRole::InstallTime;
        let full = if install { Severity::Critical } else { Severity::High };
        let mention = if install { Severity::Medium } else { Severity::Low };
        let mut n = 0;
        for c in PERSIST.captures_iter(file.text) {
            if n >= MAX_HITS_PER_FILE {
                return;
            }
            let m = c.get(0).expect("m");
            // `args.profile`, `self.bashrc`: an attribute, not a file name.
            let attribute = c.name("write").is_some()
                && m.as_str().starts_with('.')
                && file.text[..m.start()].bytes().next_back().is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_');
            let alternation = c.name("always").is_some()
                && m.as_str().starts_with('|')
                && regex_alternation(file, m.start(), m.end());
            if !live(m.start())
                || attribute
                || alternation
                || (c.name("write").is_some() && !(written_near(m.start()) && is_target(file, m.start())))
            {
                continue;
            }
            n += 1;
            let sev = match c.name("place") {
                _ if in_container_build_step(file, m.start()) => Severity::Low,
                Some(_) if !place_written(m.start()) => mention,
                _ => full,
            };
            let sev = Some(context::cap(file, sev));
            let ind = m.as_str().trim().trim_start_matches('|').trim().replace("\\\\", "\\");
            // Startup folder built from path segments: one readable form.
            let ind = if ind.to_ascii_lowercase().starts_with("start menu") {
                "Start Menu\\Programs\\Startup".to_string()
            } else {
                ind
            };
            hits.push(&META, Hit { severity: sev, evidence: pysrc::evidence(file, m.start(), ind) });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::detectors::testutil::table;
    use FileRole::*;
    use Severity::*;

    static FAR_WRITE: std::sync::LazyLock<String> =
        std::sync::LazyLock::new(|| format!("FILES = ['.bashrc', '.zshrc']\n{}out.write(x)\n", "y = 1\n".repeat(20)));

    #[test]
    fn cases() {
        table(
            &Persistence,
            META.id,
            &[
                (
                    "a security scanner's regex of persistence patterns",
                    "pkg/converter_scan.py",
                    Runtime,
                    "RE_PERSISTENCE = re.compile(\n    r\"/etc/systemd/\"\n    r\"|/etc/cron\"\n    r\"|crontab\\s\"\n    r\"|schtasks\\s\",\n)\n",
                    None,
                ),
                (
                    "a pattern alternation with a regex escape after the word",
                    "pkg/rules.py",
                    Runtime,
                    "PAT = re.compile('at|crontab\\b|launchd')\n",
                    None,
                ),
                (
                    "a shell pipe into crontab in a command string",
                    "pkg/a.py",
                    Runtime,
                    "os.system('echo \"@reboot python x\" | crontab')\n",
                    Some((1, "crontab", High)),
                ),
                (
                    "a raw command string piping into crontab",
                    "pkg/a.py",
                    Runtime,
                    "subprocess.run(r'cat job.txt | crontab', shell=True)\n",
                    Some((1, "crontab", High)),
                ),
                (
                    "a CLI telling the user which rc file to edit",
                    "tox/session/cmd/man.py",
                    Runtime,
                    "rc_file = '~/.bashrc' if 'bash' in shell else '~/.zshrc'\nexport_line = 'export MANPATH=x'\nsys.stdout.write(f'To complete setup, add this to {rc_file}: {export_line}')\n",
                    None,
                ),
                (
                    "temp rc file whose content sources .bashrc",
                    "m/mesonbuild/mdevenv.py",
                    Runtime,
                    "tmprc = tempfile.NamedTemporaryFile(mode='w')\ntmprc.write('[ -e ~/.bashrc ] && . ~/.bashrc\\n')\n",
                    None,
                ),
                (
                    "zshrc created in a temp dir",
                    "m/mesonbuild/mdevenv.py",
                    Runtime,
                    "with open(os.path.join(tmpdir.name, '.zshrc'), 'w') as zshrc:\n    zshrc.write('[ -e ~/.zshrc ] && . ~/.zshrc\\n')\n",
                    None,
                ),
                (
                    "append to the user's bashrc",
                    "pkg/a.py",
                    Runtime,
                    "with open(os.path.expanduser('~/.bashrc'), 'a') as f:\n    f.write(payload)\n",
                    Some((1, ".bashrc", High)),
                ),
                (
                    "a Dockerfile template's RUN step appending to the image user's profile",
                    "flytekit/image_spec/default_builder.py",
                    Runtime,
                    "DOCKER_FILE_TEMPLATE = Template(\"\"\"\\\nFROM $BASE_IMAGE\nUSER root\nRUN id -u app || useradd app\nUSER app\nRUN mkdir -p $$HOME && \\\n    echo \"export PATH=$$PATH\" >> $$HOME/.profile\n\"\"\")\n",
                    Some((7, ".profile", Low)),
                ),
                (
                    "a shipped Dockerfile's RUN step writing bashrc",
                    "pkg-1.0/docker/Dockerfile",
                    Other,
                    "FROM python:3.12\nRUN echo 'alias ll=ls' >> /root/.bashrc\n",
                    Some((2, ".bashrc", Low)),
                ),
                (
                    "a RUN-looking line chained with ';' in a string run by a shell",
                    "pkg/a.py",
                    Runtime,
                    "os.system(\"FROM x\\nRUN true; echo evil >> ~/.bashrc\")\n",
                    Some((1, ".bashrc", High)),
                ),
                (
                    "a RUN-looking line with a command substitution",
                    "pkg/a.py",
                    Runtime,
                    "CMD = \"\"\"FROM x\nRUN $(echo evil >> ~/.bashrc)\n\"\"\"\nos.system(CMD)\n",
                    Some((2, ".bashrc", High)),
                ),
                (
                    "an rc append without any FROM line",
                    "pkg/a.py",
                    Runtime,
                    "CMD = \"\"\"RUN x && \\\n  echo evil >> ~/.bashrc\n\"\"\"\nos.system(CMD)\n",
                    Some((2, ".bashrc", High)),
                ),
                (
                    "append to bashrc in setup.py",
                    "setup.py",
                    InstallTime,
                    "open(os.path.expanduser('~/.bashrc'), 'a').write('python -m evil &\\n')\n",
                    Some((1, ".bashrc", Critical)),
                ),
                (
                    "shell command names in a web asset",
                    "pkg/static/chunks/a.js",
                    Other,
                    "var c=\"comm|cp|cron|crontab|csplit|curl\";\n",
                    Some((1, "crontab", Low)),
                ),
                (
                    "run key",
                    "pkg/a.py",
                    Runtime,
                    "k = winreg.OpenKey(HKCU, r'Software\\Microsoft\\Windows\\CurrentVersion\\Run')\nwinreg.SetValueEx(k, 'x', 0, 1, p)\n",
                    Some((1, "CurrentVersion\\Run", High)),
                ),
                (
                    "crontab in setup.py",
                    "setup.py",
                    InstallTime,
                    "os.system('(crontab -l; echo \"@reboot python x\") | crontab -')\n",
                    Some((1, "crontab -l", Critical)),
                ),
                (
                    "bashrc append",
                    "pkg/a.py",
                    Runtime,
                    "with open(os.path.expanduser('~/.bashrc'), 'a') as f:\n    f.write(line)\n",
                    Some((1, ".bashrc", High)),
                ),
                (
                    "systemd user unit written",
                    "pkg/a.py",
                    Runtime,
                    "p = '~/.config/systemd/user/x.service'\nwith open(p, 'w') as f:\n    f.write(UNIT)\n",
                    Some((1, ".config/systemd/user", High)),
                ),
                (
                    "systemd user unit only named",
                    "pkg/a.py",
                    Runtime,
                    "p = '~/.config/systemd/user/x.service'\n",
                    Some((1, ".config/systemd/user", Low)),
                ),
                (
                    "launch agent plist copied in",
                    "pkg/a.py",
                    Runtime,
                    "p = home + '/Library/LaunchAgents/com.x.plist'\nshutil.copy(PLIST, p)\n",
                    Some((1, "Library/LaunchAgents", High)),
                ),
                (
                    "launch agent directories listed by a service manager",
                    "pkg/modules/launchd.py",
                    Runtime,
                    "dirs = [\n    '/Library/LaunchAgents',\n    '/Library/LaunchDaemons',\n]\n",
                    Some((2, "Library/LaunchAgents", Low)),
                ),
                (
                    "a service manager whose write goes elsewhere",
                    "pkg/module_utils/service.py",
                    Runtime,
                    "script = '/etc/init.d/' + name\nout = open(report, 'w')\n",
                    Some((1, "/etc/init.d/", Low)),
                ),
                (
                    "a service manager that checks init.d",
                    "pkg/module_utils/service.py",
                    Runtime,
                    "elif os.path.exists('/etc/init.d/'):\n    return 'sysvinit'\n",
                    Some((1, "/etc/init.d/", Low)),
                ),
                (
                    "a test runner's help text naming crontab-like files",
                    "pkg/_runner/config.py",
                    Runtime,
                    "HELP = 'see /etc/init.d/ and ~/.bashrc for how to start it'\n",
                    Some((1, "/etc/init.d/", Low)),
                ),
                (
                    "startup folder download",
                    "pkg/__init__.py",
                    Runtime,
                    "d = os.path.join(os.environ['APPDATA'], 'Microsoft', 'Windows', 'Start Menu', 'Programs', 'Startup')\nurllib.request.urlretrieve(URL, os.path.join(d, 'svc.exe'))\n",
                    Some((1, "Start Menu\\Programs\\Startup", High)),
                ),
                (
                    "bashrc read only",
                    "pkg/a.py",
                    Runtime,
                    "if os.path.exists('~/.bashrc'):\n    print('found')\n",
                    None,
                ),
                (
                    "startup folder from path segments, only named",
                    "pkg/__init__.py",
                    Runtime,
                    "d = os.path.join(os.environ['APPDATA'], 'Microsoft', 'Windows', 'Start Menu', 'Programs', 'Startup')\n",
                    Some((1, "Start Menu\\Programs\\Startup", Low)),
                ),
                (
                    "startup folder with forward slashes, copied to in setup.py",
                    "setup.py",
                    InstallTime,
                    "p = appdata + '/Microsoft/Windows/Start Menu/Programs/Startup/x.exe'\nshutil.copyfile(EXE, p)\n",
                    Some((1, "Start Menu\\Programs\\Startup", Critical)),
                ),
                (
                    "startup folder only named in setup.py",
                    "setup.py",
                    InstallTime,
                    "p = appdata + '/Microsoft/Windows/Start Menu/Programs/Startup/x.exe'\n",
                    Some((1, "Start Menu\\Programs\\Startup", Medium)),
                ),
                ("startup as a word in prose", "pkg/a.py", Runtime, "MSG = 'Startup took too long; see Start Menu'\n", None),
                ("startup segment alone", "pkg/a.py", Runtime, "p = os.path.join(base, 'Programs', 'Startup')\n", None),
                (
                    "profile attribute next to a write",
                    "pkg/cli.py",
                    Runtime,
                    "if args.profile:\n    self.session.set_config_variable('profile', args.profile)\n    out.write(x)\n",
                    None,
                ),
                (
                    "profile file appended",
                    "pkg/a.py",
                    Runtime,
                    "with open(os.path.expanduser('~/.profile'), 'a') as f:\n    f.write(line)\n",
                    Some((1, ".profile", High)),
                ),
                ("crontab as a word", "pkg/a.py", Runtime, "HELP = 'crontab syntax: five fields'\n", None),
                ("docstring", "pkg/a.py", Runtime, "\"\"\"Add to crontab -e yourself.\"\"\"\n", None),
                ("tests", "pkg/tests/test_x.py", Runtime, "k = 'CurrentVersion\\\\Run'\n", None),
                ("rc file names in a list, write far away", "pkg/lexer.py", Runtime, FAR_WRITE.as_str(), None),
                (
                    "reading a cron file",
                    "pkg/apt.py",
                    Runtime,
                    "ac = \x27/etc/cron.daily/apt\x27\nif os.path.exists(ac):\n    pass\n",
                    None,
                ),
            ],
        );
    }

    #[test]
    fn gate_never_hides_a_match() {
        let gated = |t: &str| TextFile::new("pkg/a.py", Runtime, true, t).may_contain_ci(&PERSIST_GATE);
        let cases = [
            ("scheduled task", "os.system('SCHTASKS.exe /Create /tn x')"),
            ("crontab pipe", "echo x | crontab"),
            ("run key, any case", r"k = r'Software\Microsoft\Windows\currentVERSION\Run'"),
            ("startup folder from pieces", "p = 'Start Menu' + 'Programs' + 'Startup'"),
            ("systemd unit", "open('/etc/systemd/system/x.service', 'w')"),
            ("rc file", "open(os.path.expanduser('~/.BASHRC'), 'a')"),
            ("s folded from the long s", "open('~/.baſhrc', 'a')"),
            ("kelvin sign", "'\u{212a}' ; crontab -l"),
        ];
        for (case, text) in cases {
            assert!(PERSIST.is_match(text), "{case}: the regex matches");
            assert!(gated(text), "{case}: the gate hid a match");
        }
        assert!(
            !gated("def startup(self):\n    return self.app_name\n"),
            "a module using the words for something else is skipped"
        );
        let pieces = [
            "schtasks",
            " /create",
            "crontab",
            " -l",
            "|",
            "systemctl",
            " enable",
            "launchctl",
            " load",
            "CurrentVersion",
            "\\Run",
            "Start Menu",
            "/Programs/",
            "Startup",
            "shell:startup",
            ".config/",
            "systemd/user",
            "/etc/",
            "cron.d",
            "rc.local",
            "init.d/",
            "Library/",
            "LaunchAgents",
            ".bashrc",
            ".zshrc",
            ".profile",
            "authorized_keys",
            "x",
            " ",
            "\n",
            "'",
            "é",
            "ſ",
            "S",
            "K",
        ];
        let (mut matched, mut skipped) = (0, 0);
        for text in pysrc::random_texts(&pieces, 10, 0x9e37_79b9_7f4a_7c15, 20_000) {
            let hit = PERSIST.is_match(&text);
            assert!(!hit || gated(&text), "the gate hid a match in {text:?}");
            matched += usize::from(hit);
            skipped += usize::from(!gated(&text));
        }
        assert!(matched > 2_000 && skipped > 2_000, "both outcomes: {matched} matched, {skipped} skipped");
    }
}
