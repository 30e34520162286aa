//! `execution.creates-process`: the package starts other programs (subprocess,
//! `os.system`, `os.popen`, `os.exec*`, `os.spawn*`, `pty.spawn`, `commands`).
//!
//! Only calls in Python code count (not strings, comments or docstrings); tests and
//! docs are skipped; install-time files raise the severity. Must not: judge what
//! the command is (other detectors do: powershell, download-and-execute).

use super::pysrc::{self, MAX_HITS_PER_FILE};
use super::sinks::{self, SinkKind};
use crate::model::{Category, FileRole, Severity};
use crate::scan::detector::{Detector, DetectorMeta, Hit, Hits, Interest, TextFile};

pub(crate) static META: DetectorMeta = DetectorMeta {
    id: "execution.creates-process",
    revision: 1,
    title: "Creates a process.",
    category: Category::Execution,
    severity: Severity::Low,
    description: "Starting other programs lets a package run anything on the machine; in install-time code it runs during pip install.",
};

pub(crate) struct CreatesProcess;

impl Detector for CreatesProcess {
    fn meta(&self) -> &'static DetectorMeta {
        &META
    }
    fn interest(&self) -> Interest {
        Interest::Literals(&[
            "subprocess",
            "os.system",
            "os.popen",
            "os.spawn",
            "os.exec",
            "os.startfile",
            "os.posix_spawn",
            "pty.spawn",
            "commands.get",
            "create_subprocess",
            // Aliases the sinks resolve (`from os import system as s`, `import os as o`): a
            // module that names none of the dotted calls above still calls them.
            "from os import",
            "import os as",
            "from pty import",
            "import pty as",
            "from commands import",
            "import commands as",
        ])
    }
    fn scan_text(&self, file: &TextFile<'_>, hits: &mut Hits) {
        if !file.is_python || file.role == FileRole::TestOrDocs || pysrc::test_member(file) {
            return;
        }
        let src = file.source();
        let severity = if file.role == FileRole::InstallTime { Severity::Medium } else { Severity::Low };
        for s in sinks::find(src, &[SinkKind::Process]).into_iter().take(MAX_HITS_PER_FILE) {
            hits.push(&META, Hit { severity: Some(severity), evidence: pysrc::evidence(file, s.offset, s.name) });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::detectors::testutil::table;
    use FileRole::*;
    use Severity::*;

    #[test]
    fn cases() {
        table(
            &CreatesProcess,
            META.id,
            &[
                (
                    "subprocess in runtime",
                    "pkg/run.py",
                    Runtime,
                    "import subprocess\nsubprocess.check_output(['ls'])\n",
                    Some((2, "subprocess.check_output", Low)),
                ),
                (
                    "os.system in setup.py",
                    "setup.py",
                    InstallTime,
                    "import os\nos.system('make')\n",
                    Some((2, "os.system", Medium)),
                ),
                ("pty.spawn", "pkg/a.py", Runtime, "import pty\n\npty.spawn('/bin/sh')\n", Some((3, "pty.spawn", Low))),
                ("os.execvp", "pkg/a.py", Runtime, "os.execvp('x', ['x'])\n", Some((1, "os.execvp", Low))),
                (
                    "os.system imported by name in setup.py",
                    "setup.py",
                    InstallTime,
                    "from os import system\nsystem('make')\n",
                    Some((2, "system", Medium)),
                ),
                (
                    "os imported as another name",
                    "pkg/a.py",
                    Runtime,
                    "import os as o\no.popen('id')\n",
                    Some((2, "o.popen", Low)),
                ),
                (
                    "pty.spawn imported by name",
                    "pkg/a.py",
                    Runtime,
                    "from pty import spawn\nspawn('/bin/sh')\n",
                    Some((2, "spawn", Low)),
                ),
                ("in a comment", "pkg/a.py", Runtime, "# subprocess.run(['x'])\nx = 1\n", None),
                ("in a docstring", "pkg/a.py", Runtime, "\"\"\"Use subprocess.run(cmd).\"\"\"\n", None),
                ("in a string", "pkg/a.py", Runtime, "HELP = 'call subprocess.run(cmd)'\n", None),
                ("under tests/", "pkg/tests/test_a.py", Runtime, "subprocess.run(['x'])\n", None),
                ("test role", "pkg/a.py", TestOrDocs, "subprocess.run(['x'])\n", None),
                ("import only", "pkg/a.py", Runtime, "import subprocess\n", None),
                ("not python", "pkg/a.txt", Runtime, "subprocess.run(['x'])\n", None),
            ],
        );
    }
}
