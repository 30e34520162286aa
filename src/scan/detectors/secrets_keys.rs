//! `secrets.private-key` and `secrets.certificate`: PEM private-key blocks
//! (`-----BEGIN [RSA |EC |DSA |OPENSSH |ENCRYPTED ]PRIVATE KEY-----`, PGP private
//! key blocks) and certificates.
//!
//! Commonly shared test keys are not dropped silently: a key whose fingerprint is
//! in [`KNOWN_TEST_KEYS`], that sits in a test/example/dummy/snakeoil path (any
//! common test directory: `tests/`, `t/`, `testing/`, `testdata/`, `fixtures/`, …;
//! Go `_test.go`, C `test_*.c`) or after `#[cfg(test)]` in a Rust file is
//! reported at Info with indicator `known test key`/`test key` (also `localhost` and
//! `self-signed` names); a PEM data file in a certificate directory (`certs/`, `ssl/`,
//! `tls/`, `pki/`) or holding the key with its certificate is Medium (the shape of a TLS
//! fixture for a local server, not of a leaked deploy key); so is a PEM data file named as a
//! certificate authority's key (`ca.key`, `rootCA-key.pem`: the CA an interception proxy or
//! test server bundles); so is a Python constant whose name
//! labels it a test key (`TEST_RSA_PRIVATE_KEY = """…`), or whose one literal holds the
//! key with its certificate; so is a key in the shipped
//! baseline of keys found in several unrelated popular projects (`data/shared-test-keys.txt`,
//! indicator `commonly used in testing`), while a key seen nowhere else is reported at its
//! full severity; password-protected
//! keys are Low. Placeholder blocks (no real body) are ignored. Snippets never show
//! key material: only the BEGIN line and a redacted prefix.
//!
//! Fingerprint: sha256 (hex) of the block's base64 body — `\n` escapes expanded,
//! header lines (`Proc-Type:`, `DEK-Info:`) dropped, every non-base64 character removed.

use super::pysrc::{self, MAX_HITS_PER_FILE};
use crate::model::{Category, FileRole, Severity};
use crate::scan::detector::{Detector, DetectorMeta, Hit, Hits, Interest, TextFile};
use regex::Regex;
use sha2::{Digest, Sha256};
use std::sync::LazyLock;

pub(crate) static PRIVATE_KEY: DetectorMeta = DetectorMeta {
    id: "secrets.private-key",
    revision: 6,
    title: "Contains a private key.",
    category: Category::Secrets,
    severity: Severity::High,
    description: "Private keys shipped in a package are public from then on; commonly shared test keys are reported at info level.",
};

pub(crate) static CERTIFICATE: DetectorMeta = DetectorMeta {
    id: "secrets.certificate",
    revision: 1,
    title: "Contains certificates.",
    category: Category::Secrets,
    severity: Severity::Info,
    description: "Embedded certificates pin trust decisions into the package; review which ones and why.",
};

/// sha256 fingerprints (see module doc) of private keys published in widely copied
/// test suites, reproduced from CPython's `Lib/test/certdata` (PSF licence).
pub(crate) const KNOWN_TEST_KEYS: &[(&str, &str)] = &[
    ("a96ae55c3eb636e229c9b1316a8f8e6fdbeaf6161b1e9bbe5edee75f4c7547c0", "cpython allsans.pem"),
    ("c21f5fc525cdcd86c3750fd4c5b5dfb8e644c8de62ef5c0477500a19023f5d6e", "cpython badcert.pem"),
    ("c4fbbaf7f7b46d0f90367477ff5475cb15189e62d7e06f0997a8a4100995488b", "cpython badkey.pem"),
    ("bc3371c0e65c2043fe87aaa3e3206800bf3c89f9c76a8769cab82439c50c29ca", "cpython idnsans.pem"),
    ("4b9318410f6452e09486a93864d840621b4414189b4d84c834b8010c477611ae", "cpython keycert.passwd.pem"),
    ("0da9a6b48d49589fcd21becbe1e7e3e19eab01d99d97fd3b890c6af3eee7f0cc", "cpython keycert.pem / ssl_key.pem"),
    ("e7a5499cb6a1ca12f1d9611ba7dbdfbf423ef0f6486b0ae5e2d716902f0acb1c", "cpython keycert2.pem"),
    ("2c3b966d59bb45e7063082bf51e21aadcb466e97299d0dea6b865671b7df353f", "cpython keycert3.pem"),
    ("90d9defb52211de3f8b8747529251c1e2047b0bc5eb6ae160f55f09b5a6d303d", "cpython keycert4.pem"),
    ("8f2d880a4627800c253037a4c94be45483a8ff006fd2033d1929454cd0407dd9", "cpython keycertecc.pem"),
    ("720e7aff8f2c546c2c710586f9c7df91ceea11e341665dbbcd28e1aab0df2cd3", "cpython leaf-missing-aki.keycert.pem"),
    ("267d1f6f1552f163e8664e2c46d23ccec4a585ade44dc349fd7b164cafac2e67", "cpython nosan.pem"),
    ("a5bcec4ac345315fc7297c539eacf6666e2dbe41a24563773c552d18165debe1", "cpython pycakey.pem"),
    ("362633791ff8eaa82947c5a1ac39f31612741b78e76324a5bfc4ee13fe8a9f72", "cpython ssl_key.passwd.pem"),
];

static BEGIN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"-----BEGIN (?P<kind>(?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY(?: BLOCK)?|CERTIFICATE)-----",
    )
    .expect("begin")
});
const MAX_BLOCK: usize = 64 * 1024;
/// What every [`BEGIN`] match holds: the detector's interest, and where it confirms.
const LITERALS: &[&str] = &["-----BEGIN "];

/// The baseline of keys shared by unrelated popular projects: `data/shared-test-keys.txt`
/// (fingerprint → number of unrelated projects; how it is made: `data/README.md`).
static SHARED_TEST_KEYS: LazyLock<std::collections::HashMap<&'static str, u32>> = LazyLock::new(|| {
    include_str!("../../../data/shared-test-keys.txt")
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let mut parts = l.split_whitespace();
            let fp = parts.next().filter(|f| f.len() == 64 && f.bytes().all(|b| b.is_ascii_hexdigit()))?;
            Some((fp, parts.next()?.parse().ok()?))
        })
        .collect()
});

/// The body of the block whose BEGIN line of `kind` ends at `start` (up to its END line,
/// looked for within [`MAX_BLOCK`] bytes).
fn block_body<'a>(text: &'a str, start: usize, kind: &str) -> Option<&'a str> {
    let end_marker = format!("-----END {kind}-----");
    let window_end = (start + MAX_BLOCK).min(text.len());
    let window_end = (start..=window_end).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(start);
    let rel = text[start..window_end].find(&end_marker)?;
    Some(&text[start..start + rel])
}

/// The fingerprints of the private keys in a text (placeholders left out), as the
/// detector computes them: what `examples/shared_test_keys.rs` counts across projects.
pub(crate) fn private_key_fingerprints(text: &str) -> Vec<String> {
    BEGIN
        .captures_iter(text)
        .filter_map(|c| {
            let (m, kind) = (c.get(0)?, c.name("kind")?.as_str());
            (kind != "CERTIFICATE").then_some(())?;
            let (fp, len) = fingerprint(block_body(text, m.end(), kind)?);
            (len >= 64).then_some(fp)
        })
        .collect()
}

/// The fingerprint of a PEM body (text between BEGIN and END lines).
pub(crate) fn fingerprint(body: &str) -> (String, usize) {
    let body = body.replace("\\n", "\n");
    let mut clean = String::with_capacity(body.len());
    for line in body.lines() {
        if line.contains(':') {
            continue;
        }
        clean.extend(line.chars().filter(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=')));
    }
    (hex::encode(Sha256::digest(clean.as_bytes())), clean.len())
}

/// Whether the text between BEGIN and END markers is base64 lines (quotes, `\n` escapes,
/// string concatenation and `Proc-Type:`-style headers aside), not code that handles the
/// markers (`key.replace('-----BEGIN PRIVATE KEY-----', '')` … `'-----END PRIVATE KEY-----'`).
fn looks_like_pem_body(body: &str) -> bool {
    let body = body.replace("\\n", "\n");
    let edge = |c: char| c.is_whitespace() || matches!(c, '\'' | '"' | '\\' | ',' | '+' | '(' | ')' | ';');
    body.lines()
        .filter(|l| !l.contains(':'))
        .all(|line| line.trim_matches(edge).chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=')))
}

fn test_like_path(path: &str) -> bool {
    let p = path.to_ascii_lowercase();
    pysrc::looks_like_test_path(path)
        || [
            "test",
            "example",
            "dummy",
            "snakeoil",
            "sample",
            "fixture",
            "fake",
            "mock",
            "localhost",
            "selfsigned",
            "self-signed",
            "self_signed",
        ]
        .iter()
        .any(|k| p.contains(k))
}

/// A key kept the way TLS fixtures are: a PEM data file (not code) in a certificate
/// directory (`certs/`, `ssl/`, `tls/`, `pki/`), or a file that holds the key with its
/// certificate (a key pair for a local server). Public from the moment it ships, but not
/// the shape of a leaked deploy or cloud key: Medium, annotated for a look.
fn tls_fixture_shape(file: &TextFile<'_>, certs_in_file: bool) -> bool {
    const CERT_DIRS: &[&str] = &["certs", "certificates", "cert", "ssl", "tls", "pki", "x509"];
    let lower = file.path.to_ascii_lowercase();
    let mut segs: Vec<&str> = lower.split(['/', '\\', '!']).collect();
    segs.pop();
    let data_file = !file.is_python && matches!(file.role, FileRole::Other | FileRole::Binary);
    data_file && (certs_in_file || segs.iter().any(|s| CERT_DIRS.contains(s)))
}

/// A PEM data file (not code) whose name says it is a certificate authority's key (`ca.key`,
/// `ca-key.pem`, `cakey.pem`, `rootCA.key`, `mitmproxy-ca.pem`): the authority an
/// interception proxy or a local TLS test server bundles to sign its own certificates,
/// public from the moment it ships, not someone's leaked credential. A key file with
/// another name (`deploy.pem`, `id_rsa`) stays at full severity.
fn bundled_ca_key_file(file: &TextFile<'_>) -> bool {
    let data_file = !file.is_python && matches!(file.role, FileRole::Other | FileRole::Binary);
    let base = file.path.rsplit(['/', '\\', '!']).next().unwrap_or(file.path).to_ascii_lowercase();
    let stem = base.strip_suffix(".key").or_else(|| base.strip_suffix(".pem")).unwrap_or("");
    data_file && stem.split(['-', '_', '.']).any(|w| matches!(w, "ca" | "rootca" | "cakey"))
}

/// A Python string literal holding the key together with its certificate (a key pair
/// bundle, a CA chain with its key): the shape [`tls_fixture_shape`] gives data files.
fn bundled_with_certificate(file: &TextFile<'_>, offset: usize) -> bool {
    file.is_python
        && file.source().span_at(offset).is_some_and(|span| {
            let body = &file.text[span.body_start..span.body_end];
            body.contains("-----BEGIN CERTIFICATE-----") && body.contains("-----END CERTIFICATE-----")
        })
}

/// The name a Python key literal is assigned to, when one of its `_`-separated words says it
/// is a test key (`TEST_RSA_PRIVATE_KEY = """-----BEGIN …`, `dummy_key = "…"`): the author's
/// own label, so Medium (annotated for a look), not the High of an unlabelled key.
fn test_named_constant<'t>(file: &TextFile<'t>, offset: usize) -> Option<&'t str> {
    if !file.is_python {
        return None;
    }
    let span = file.source().span_at(offset)?;
    let line_start = file.text[..span.start].rfind('\n').map_or(0, |p| p + 1);
    let head = file.text[line_start..span.start].trim_end_matches(|c: char| "rbuRBU(".contains(c) || c.is_whitespace());
    let lhs = head.strip_suffix('=')?.trim_end();
    let lhs = lhs.split(':').next().unwrap_or(lhs).trim();
    let name = lhs.rsplit(['.', ' ', '\t']).next().unwrap_or(lhs);
    let labelled = name.split('_').any(|w| {
        matches!(w.to_ascii_lowercase().as_str(), "test" | "tests" | "testing" | "dummy" | "fake" | "mock" | "snakeoil")
    });
    (labelled && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')).then_some(name)
}

/// A key inside a Rust test module: the file declares `#[cfg(test)]` before it.
fn in_rust_test_module(file: &TextFile<'_>, offset: usize) -> bool {
    file.path.ends_with(".rs") && file.text[..offset].contains("#[cfg(test)]")
}

pub(crate) struct KeysAndCerts;

impl Detector for KeysAndCerts {
    fn meta(&self) -> &'static DetectorMeta {
        &PRIVATE_KEY
    }
    fn all_meta(&self) -> Vec<&'static DetectorMeta> {
        vec![&PRIVATE_KEY, &CERTIFICATE]
    }
    fn interest(&self) -> Interest {
        Interest::Literals(LITERALS)
    }
    fn literal_places(&self) -> bool {
        true
    }
    fn scan_text(&self, file: &TextFile<'_>, hits: &mut Hits) {
        let mut certs = 0usize;
        let mut first_cert = None;
        let mut keys = 0;
        // Every `BEGIN` match holds `-----BEGIN ` and lies in one line (no pattern of it
        // matches a newline): the lines the prefilter saw the literal on hold every match.
        let lines = file.literal_lines(LITERALS);
        for c in file.captures_in_lines(&BEGIN, &lines) {
            let m = c.get(0).expect("m");
            let kind = c.name("kind").expect("kind").as_str();
            if kind == "CERTIFICATE" {
                certs += 1;
                first_cert.get_or_insert(m.start());
                continue;
            }
            if keys >= MAX_HITS_PER_FILE {
                continue;
            }
            let Some(body) = block_body(file.text, m.end(), kind) else {
                continue;
            };
            let (fp, len) = fingerprint(body);
            if len < 64 || !looks_like_pem_body(body) {
                continue; // placeholder such as "..." or "<your key here>", or code between the markers
            }
            keys += 1;
            let known = KNOWN_TEST_KEYS.iter().find(|(h, _)| *h == fp);
            let encrypted = kind.starts_with("ENCRYPTED") || body.contains("Proc-Type: 4,ENCRYPTED");
            let (sev, ind) = if let Some((_, name)) = known {
                (Severity::Info, format!("known test key ({name})"))
            } else if let Some(n) = SHARED_TEST_KEYS.get(fp.as_str()) {
                (
                    Severity::Info,
                    format!("commonly used in testing (the same key is in {n} unrelated popular projects)"),
                )
            } else if test_like_path(file.path)
                || file.role == FileRole::TestOrDocs
                || in_rust_test_module(file, m.start())
            {
                (Severity::Info, format!("test key {kind}"))
            } else if encrypted {
                (Severity::Low, kind.to_string())
            } else if super::secrets_tokens::documented(file, m.start()) {
                (Severity::Medium, format!("{kind} in documentation (docstring, comment, README)"))
            } else if let Some(name) = test_named_constant(file, m.start()) {
                (Severity::Medium, format!("{kind} in a constant named as a test key ({name})"))
            } else if tls_fixture_shape(file, file.text.contains("-----BEGIN CERTIFICATE-----"))
                || bundled_with_certificate(file, m.start())
            {
                (
                    Severity::Medium,
                    format!("{kind} kept like a TLS fixture (certificate directory or key+certificate file)"),
                )
            } else if bundled_ca_key_file(file) {
                (Severity::Medium, format!("{kind} in a certificate authority's key file (a bundled CA)"))
            } else {
                (Severity::High, kind.to_string())
            };
            let mut ev = pysrc::evidence(file, m.start(), ind);
            let shown: String =
                body.chars().filter(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '/')).take(12).collect();
            ev.snippet = Some(format!("-----BEGIN {kind}----- {} sha256:{}", pysrc::redact(&shown), &fp[..16]));
            hits.push(&PRIVATE_KEY, Hit { severity: Some(sev), evidence: ev });
        }
        if let Some(off) = first_cert {
            let mut ev =
                pysrc::evidence(file, off, format!("{certs} certificate{}", if certs == 1 { "" } else { "s" }));
            ev.snippet = Some("-----BEGIN CERTIFICATE-----".to_string());
            hits.push(&CERTIFICATE, Hit { severity: None, evidence: ev });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `BEGIN` matches the detector confirms on the literal's lines are the whole member's.
    #[test]
    fn begin_lines_hold_every_begin_match() {
        let key = "-----BEGIN RSA PRIVATE KEY-----";
        let cases = [
            ("at the start", format!("{key}\nMIIE\n-----END RSA PRIVATE KEY-----\n")),
            ("two on a line", format!("x = '{key}' + '-----BEGIN CERTIFICATE-----'\n")),
            ("crlf lines", format!("a\r\n{key}\r\nb\r\n")),
            ("a literal with no match", "-----BEGIN nothing\n-----BEGIN PGP PRIVATE KEY BLOCK-----".to_string()),
            ("at the end without a newline", format!("q\n\n{key}")),
        ];
        for (case, text) in &cases {
            let file = TextFile::new("k.pem", FileRole::Other, false, text);
            let lines = file.literal_lines(LITERALS);
            let got: Vec<_> = file.captures_in_lines(&BEGIN, &lines).map(|c| c.get(0).expect("m").range()).collect();
            let want: Vec<_> = BEGIN.captures_iter(text).map(|c| c.get(0).expect("m").range()).collect();
            assert!(!want.is_empty(), "{case}: a match");
            assert_eq!(got, want, "{case}");
        }
    }
    use crate::scan::detectors::testutil::{scan, table};
    use FileRole::*;
    use Severity::*;

    /// CPython's `Lib/test/certdata/leaf-missing-aki.keycert.pem` key: public, widely copied.
    const CPYTHON_EC: &str = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIF5Re+/FP3rg+7c1odKEQPXhb9V65kXnlZIWHDG9gKrLoAoGCCqGSM49\nAwEHoUQDQgAE1WAQMdC7ims7T9lpK9uzaCuKqHb/oNMbGjh1f10pOHv3Z+oAvsqF\nSv3hGzreu69YLy01afA6sUCf1AA/95dKkg==\n-----END EC PRIVATE KEY-----\n";
    /// paramiko's `tests/test_rsa.key` (LGPL-2.1), copied by other projects' test suites: in
    /// the shipped baseline (`data/shared-test-keys.txt`, paramiko and sshtunnel).
    const PARAMIKO_TEST_RSA: &str = "-----BEGIN RSA PRIVATE KEY-----\nMIICWgIBAAKBgQDTj1bqB4WmayWNPB+8jVSYpZYk80Ujvj680pOTh2bORBjbIAyz\noWGW+GUjzKxTiiPvVmxFgx5wdsFvF03v34lEVVhMpouqPAYQ15N37K/ir5XY+9m/\nd8ufMCkjeXsQkKqFbAlQcnWMCRnOoPHS3I4vi6hmnDDeeYTSRvfLbW0fhwIBIwKB\ngBIiOqZYaoqbeD9OS9z2K9KR2atlTxGxOJPXiP4ESqP3NVScWNwyZ3NXHpyrJLa0\nEbVtzsQhLn6rF+TzXnOlcipFvjsem3iYzCpuChfGQ6SovTcOjHV9z+hnpXvQ/fon\nsoVRZY65wKnF7IAoUwTmJS9opqgrN6kRgCd3DASAMd1bAkEA96SBVWFt/fJBNJ9H\ntYnBKZGw0VeHOYmVYbvMSstssn8un+pQpUm9vlG/bp7Oxd/m+b9KWEh2xPfv6zqU\navNwHwJBANqzGZa/EpzF4J8pGti7oIAPUIDGMtfIcmqNXVMckrmzQ2vTfqtkEZsA\n4rE1IERRyiJQx6EJsz21wJmGV9WJQ5kCQQDwkS0uXqVdFzgHO6S++tjmjYcxwr3g\nH0CoFYSgbddOT6miqRskOQF3DZVkJT3kyuBgU2zKygz52ukQZMqxCb1fAkASvuTv\nqfpH87Qq5kQhNKdbbwbmd2NxlNabazPijWuphGTdW0VfJdWfklyS2Kr+iqrs/5wV\nHhathJt636Eg7oIjAkA8ht3MQ+XSl9yIJIS8gVpbPxSw5OMfw0PjVE7tBdQruiSc\nnvuQES5C9BMHjF39LZiGH1iLQy7FgdHyoP+eodI7\n-----END RSA PRIVATE KEY-----\n";
    /// Not a real key: random-looking base64 nobody published (fingerprint unknown).
    const UNKNOWN: &str = "x = 1\nKEY = \"\"\"-----BEGIN RSA PRIVATE KEY-----\nQ29uZ3JhdHVsYXRpb25zLCB5b3UgZGVjb2RlZCBhIHVuaXQgdGVzdCBmaXh0dXJlLiBOb3RoaW5n\nIHRvIHNlZSBoZXJlOyB0aGlzIGlzIG5vdCBhIGtleS4gUGxlYXNlIG1vdmUgYWxvbmcuIFRoYW5r\n-----END RSA PRIVATE KEY-----\"\"\"\n";

    #[test]
    fn cases() {
        let rust_test = format!("fn parse() {{}}\n#[cfg(test)]\nmod tests {{\n{}}}\n", &UNKNOWN[6..]);
        let rust_prod = format!("// key\n{}#[cfg(test)]\nmod tests {{}}\n", &UNKNOWN[6..]);
        let pem = UNKNOWN[UNKNOWN.find("-----BEGIN").expect("pem")..].replace("\"\"\"", "");
        let pem_and_cert = format!("{pem}-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
        let escaped = "K = '-----BEGIN PRIVATE KEY-----\\nQ29uZ3JhdHVsYXRpb25zLCB5b3UgZGVjb2RlZCBhIHVuaXQgdGVzdCBmaXh0dXJlLiBOb3RoaW5n\\n-----END PRIVATE KEY-----\\n'\n";
        table(
            &KeysAndCerts,
            PRIVATE_KEY.id,
            &[
                ("unknown key in runtime code", "pkg/keys.py", Runtime, UNKNOWN, Some((2, "RSA PRIVATE KEY", High))),
                ("escaped newlines", "pkg/k.py", Runtime, escaped, Some((1, "PRIVATE KEY", High))),
                (
                    "known cpython test key",
                    "pkg/data/server.pem",
                    Runtime,
                    CPYTHON_EC,
                    Some((1, "known test key (cpython leaf-missing-aki.keycert.pem)", Info)),
                ),
                (
                    "unknown key under tests",
                    "pkg/tests/keys.py",
                    Runtime,
                    UNKNOWN,
                    Some((2, "test key RSA PRIVATE KEY", Info)),
                ),
                (
                    "a task queue's t/ test directory",
                    "celery-5.7.0/t/unit/security/__init__.py",
                    Runtime,
                    UNKNOWN,
                    Some((2, "test key RSA PRIVATE KEY", Info)),
                ),
                (
                    "key in a Rust #[cfg(test)] module",
                    "connector-1.0/core/src/config/private_key.rs",
                    Other,
                    &rust_test,
                    Some((4, "test key RSA PRIVATE KEY", Info)),
                ),
                (
                    "the same key in Rust code before any test module",
                    "connector-1.0/core/src/config/private_key.rs",
                    Other,
                    &rust_prod,
                    Some((2, "RSA PRIVATE KEY", High)),
                ),
                (
                    "snakeoil name",
                    "pkg/ssl-cert-snakeoil.key",
                    Runtime,
                    UNKNOWN,
                    Some((2, "test key RSA PRIVATE KEY", Info)),
                ),
                (
                    "placeholder",
                    "README.md",
                    Runtime,
                    "-----BEGIN RSA PRIVATE KEY-----\n...\n-----END RSA PRIVATE KEY-----\n",
                    None,
                ),
                ("no end marker", "pkg/a.py", Runtime, "if line.startswith('-----BEGIN PRIVATE KEY-----'):\n", None),
                (
                    "a key file in a vendored library's certs/ directory (a TLS fixture)",
                    "awscrt-1.0/crt/s2n/bindings/rust/certs/key.pem",
                    Other,
                    &pem,
                    Some((
                        1,
                        "RSA PRIVATE KEY kept like a TLS fixture (certificate directory or key+certificate file)",
                        Medium,
                    )),
                ),
                (
                    "a key file holding its certificate too (a local server's pair)",
                    "pkg/data/server.pem",
                    Other,
                    &pem_and_cert,
                    Some((
                        1,
                        "RSA PRIVATE KEY kept like a TLS fixture (certificate directory or key+certificate file)",
                        Medium,
                    )),
                ),
                ("the same key file alone elsewhere", "pkg/data/deploy.pem", Other, &pem, Some((1, "RSA PRIVATE KEY", High))),
                (
                    "an interception proxy's bundled CA key beside its package code",
                    "seleniumwire/ca.key",
                    Other,
                    &pem,
                    Some((1, "RSA PRIVATE KEY in a certificate authority's key file (a bundled CA)", Medium)),
                ),
                (
                    "a root CA key file in an sdist",
                    "proxy-1.0/proxy/data/rootCA-key.pem",
                    Other,
                    &pem,
                    Some((1, "RSA PRIVATE KEY in a certificate authority's key file (a bundled CA)", Medium)),
                ),
                ("a key file named like a user's SSH key", "pkg/data/id_rsa", Other, &pem, Some((1, "RSA PRIVATE KEY", High))),
                ("a key file whose name only contains 'ca'", "pkg/cache.key", Other, &pem, Some((1, "RSA PRIVATE KEY", High))),
                (
                    "a CA key written in Python code is code, not a bundled file",
                    "pkg/ca.py",
                    Runtime,
                    UNKNOWN,
                    Some((2, "RSA PRIVATE KEY", High)),
                ),
                (
                    "the same key in code under certs/ is code, not a fixture file",
                    "pkg/certs/loader.py",
                    Runtime,
                    UNKNOWN,
                    Some((2, "RSA PRIVATE KEY", High)),
                ),
                (
                    "code that strips the markers from a key is no key",
                    "onelogin/saml2/utils.py",
                    Runtime,
                    "    if key.find('-----BEGIN PRIVATE KEY-----') != -1:\n        key = key.replace('-----BEGIN PRIVATE KEY-----', '')\n        key = key.replace('-----END PRIVATE KEY-----', '')\n",
                    None,
                ),
                (
                    "an example key in a docstring",
                    "oci/models/certificate_details.py",
                    Runtime,
                    &format!("def f():\n    \"\"\"Example:\n{pem}\"\"\"\n"),
                    Some((3, "RSA PRIVATE KEY in documentation (docstring, comment, README)", Medium)),
                ),
                (
                    "an example key in a README shipped as the core metadata",
                    "ecdsa-2.3.1.dist-info/METADATA",
                    Metadata,
                    &pem,
                    Some((1, "RSA PRIVATE KEY in documentation (docstring, comment, README)", Medium)),
                ),
                (
                    "a module constant named as a test key",
                    "pkg/recording/archive.py",
                    Runtime,
                    &format!("# Test key for replays\nTEST_RSA_PRIVATE_KEY = \"\"\"{pem}\"\"\"\n"),
                    Some((2, "RSA PRIVATE KEY in a constant named as a test key (TEST_RSA_PRIVATE_KEY)", Medium)),
                ),
                (
                    "a key and its certificate in one literal of code",
                    "pkg/certs.py",
                    Runtime,
                    &format!("CHAIN_PEM = b\"\"\"\n{pem}-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUYWJj\n-----END CERTIFICATE-----\n\"\"\"\n"),
                    Some((2, "RSA PRIVATE KEY kept like a TLS fixture (certificate directory or key+certificate file)", Medium)),
                ),
                (
                    "a key alone in a literal, a certificate in another, stays high",
                    "pkg/certs.py",
                    Runtime,
                    &format!("KEY = \"\"\"{pem}\"\"\"\nCERT = \"\"\"-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUYWJj\n-----END CERTIFICATE-----\n\"\"\"\n"),
                    Some((1, "RSA PRIVATE KEY", High)),
                ),
                (
                    "a module constant with another name stays high",
                    "pkg/deploy.py",
                    Runtime,
                    &format!("DEPLOY_KEY = \"\"\"{pem}\"\"\"\n"),
                    Some((1, "RSA PRIVATE KEY", High)),
                ),
                (
                    "test inside a longer word is no label",
                    "pkg/deploy.py",
                    Runtime,
                    &format!("CONTEST_KEY = \"\"\"{pem}\"\"\"\n"),
                    Some((1, "RSA PRIVATE KEY", High)),
                ),
                (
                    "a localhost key",
                    "pkg-1.0/conf/localhost-key.pem",
                    Other,
                    &pem,
                    Some((1, "test key RSA PRIVATE KEY", Info)),
                ),
                (
                    "a key shared by unrelated popular projects, outside any test path",
                    "pkg/data/host.key",
                    Runtime,
                    PARAMIKO_TEST_RSA,
                    Some((1, "commonly used in testing (the same key is in 2 unrelated popular projects)", Info)),
                ),
            ],
        );
    }

    #[test]
    fn key_material_never_in_snippet_and_certs_counted() {
        let got = scan(&KeysAndCerts, "pkg/keys.py", Runtime, UNKNOWN);
        assert!(!got[0].snippet.contains("dGVzdCBmaXh0dXJl"), "{}", got[0].snippet);
        assert!(got[0].snippet.starts_with("-----BEGIN RSA PRIVATE KEY----- Q29uZ3"), "{}", got[0].snippet);
        let certs = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n-----BEGIN CERTIFICATE-----\nMIIC\n-----END CERTIFICATE-----\n";
        let got = scan(&KeysAndCerts, "pkg/cacert.pem", Runtime, certs);
        assert_eq!(got.len(), 1);
        assert_eq!(
            (got[0].id, got[0].line, got[0].indicator.as_str(), got[0].severity),
            ("secrets.certificate", Some(1), "2 certificates", Info)
        );
    }
}

#[cfg(test)]
mod baseline_tests {
    use super::*;

    /// The shipped baseline parses, holds only full fingerprints, and each entry says in how
    /// many unrelated projects the key was found (at least two: a key seen once is no baseline).
    #[test]
    fn the_shipped_baseline_is_well_formed() {
        let text = include_str!("../../../data/shared-test-keys.txt");
        let entries = text.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()).count();
        assert!(entries > 0, "the baseline is not empty");
        assert_eq!(SHARED_TEST_KEYS.len(), entries, "every line parses");
        assert!(SHARED_TEST_KEYS.values().all(|&n| n >= 2), "{:?}", *SHARED_TEST_KEYS);
    }
}
