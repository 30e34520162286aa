//! `secrets.access-token`: service credentials in any text member — AWS access
//! keys (with their secret nearby: higher), GitHub, GitLab, Slack, Stripe live
//! keys, Google API keys, package-index upload tokens (`pypi-AgEI…`), OpenAI,
//! Anthropic, npm, Hugging Face, SendGrid, Twilio, Telegram bot tokens, JWTs.
//!
//! Publicly documented example tokens are ignored (AWS's `AKIAIOSFODNN7EXAMPLE`
//! pair, anything containing EXAMPLE/xxxx/00000/placeholder/dummy/your_…, and
//! low-entropy bodies). Tests/docs lower to Low; Python comments and docstrings, READMEs and
//! the core metadata (documentation showing a token's format) to at most Medium. Evidence shows only a redacted
//! prefix of the token, in the snippet too.

use super::pysrc::{self, MAX_HITS_PER_FILE};
use crate::model::{Category, FileRole, Severity};
use crate::scan::detector::{Detector, DetectorMeta, Hit, Hits, Interest, TextFile};
use regex::Regex;
use std::sync::LazyLock;

pub(crate) static META: DetectorMeta = DetectorMeta {
    id: "secrets.access-token",
    revision: 2,
    title: "Contains service access tokens.",
    category: Category::Secrets,
    severity: Severity::High,
    description: "Tokens shipped in a package can be used by anyone who downloads it; revoke them. Documented example tokens are ignored.",
};

/// One kind of token: its name, the literals every match holds (its gate: a member holding none
/// of them cannot match, and the pattern is not searched; empty: always searched), the pattern,
/// and the severity when found in runtime code.
struct Token {
    name: &'static str,
    gate: &'static [&'static str],
    re: Regex,
    severity: Severity,
}

static TOKENS: LazyLock<Vec<Token>> = LazyLock::new(|| {
    let t = |name: &'static str, gate: &'static [&'static str], re: &str, severity: Severity| Token {
        name,
        gate,
        re: Regex::new(re).expect(name),
        severity,
    };
    vec![
        t(
            "AWS access key",
            &["AKIA", "ASIA", "ABIA", "ACCA"],
            r"(?-u:\b)(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}(?-u:\b)",
            Severity::Medium,
        ),
        t(
            "GitHub token",
            &["ghp_", "gho_", "ghu_", "ghs_", "ghr_"],
            r"(?-u:\b)(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36}(?-u:\b)",
            Severity::High,
        ),
        t(
            "GitHub fine-grained token",
            &["github_pat_"],
            r"(?-u:\b)github_pat_[A-Za-z0-9_]{60,}(?-u:\b)",
            Severity::High,
        ),
        t("GitLab token", &["glpat-"], r"(?-u:\b)glpat-[A-Za-z0-9_-]{20}(?-u:\b)", Severity::High),
        t(
            "Slack token",
            &["xoxb-", "xoxa-", "xoxp-", "xoxr-", "xoxs-"],
            r"(?-u:\b)xox[baprs]-[A-Za-z0-9-]{10,}(?-u:\b)",
            Severity::High,
        ),
        t(
            "Stripe live key",
            &["sk_live_", "rk_live_"],
            r"(?-u:\b)[sr]k_live_[A-Za-z0-9]{24,}(?-u:\b)",
            Severity::Critical,
        ),
        t("Google API key", &["AIza"], r"(?-u:\b)AIza[0-9A-Za-z_-]{35}(?-u:\b)", Severity::Medium),
        t("Package index upload token", &["pypi-AgEI"], r"(?-u:\b)pypi-AgEI[A-Za-z0-9_-]{50,}", Severity::Critical),
        t("Anthropic API key", &["sk-ant-"], r"(?-u:\b)sk-ant-(?:api|admin)\d\d-[A-Za-z0-9_-]{80,}", Severity::High),
        t(
            "OpenAI API key",
            &["sk-"],
            r"(?-u:\b)sk-(?:proj-|svcacct-|admin-)[A-Za-z0-9_-]{40,}|(?-u:\b)sk-[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20}(?-u:\b)|(?-u:\b)sk-[A-Za-z0-9]{48}(?-u:\b)",
            Severity::High,
        ),
        t("npm token", &["npm_"], r"(?-u:\b)npm_[A-Za-z0-9]{36}(?-u:\b)", Severity::High),
        t("Hugging Face token", &["hf_"], r"(?-u:\b)hf_[A-Za-z]{34}(?-u:\b)", Severity::High),
        t("SendGrid API key", &["SG."], r"(?-u:\b)SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}(?-u:\b)", Severity::High),
        // Case-insensitive vendor name: no literal gates it.
        t("Twilio API key", &[], r"(?i:twilio)[^\n]{0,80}(?-u:\b)SK[0-9a-f]{32}(?-u:\b)", Severity::High),
        t("Telegram bot token", &[":AA"], r"(?-u:\b)\d{8,10}:AA[0-9A-Za-z_-]{33}(?-u:\b)", Severity::High),
        t(
            "JSON Web Token",
            &["eyJ"],
            r"(?-u:\b)eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{16,}",
            Severity::Low,
        ),
    ]
});

/// Which [`TOKENS`] patterns may match `text` (bits by index): those with an empty gate, and
/// those one of whose gate literals `text` holds. One overlapping literal pass sees every
/// occurrence of every literal (`sk-ant-` and `sk-` at the same byte both count), and stops as
/// soon as every pattern may match.
fn may_match(text: &str) -> u32 {
    /// The literal automaton, each literal's pattern bit, the ungated patterns' bits and every
    /// pattern's bits: built once, not per member.
    struct Gate {
        words: aho_corasick::AhoCorasick,
        bits: Vec<u32>,
        ungated: u32,
        all: u32,
    }
    static GATE: LazyLock<Gate> = LazyLock::new(|| {
        let (mut words, mut bits) = (Vec::new(), Vec::new());
        for (i, token) in TOKENS.iter().enumerate() {
            for word in token.gate {
                words.push(*word);
                bits.push(1u32 << i);
            }
        }
        let ungated = TOKENS.iter().enumerate().filter(|(_, t)| t.gate.is_empty()).fold(0, |m, (i, _)| m | 1u32 << i);
        let all = bits.iter().fold(ungated, |m, b| m | b);
        Gate { words: aho_corasick::AhoCorasick::new(words).expect("token gate"), bits, ungated, all }
    });
    let gate = &*GATE;
    let mut mask = gate.ungated;
    for m in gate.words.find_overlapping_iter(text) {
        mask |= gate.bits[m.pattern().as_usize()];
        if mask == gate.all {
            break;
        }
    }
    mask
}

/// An AWS secret access key shape (40 chars of base64) near a key id.
static AWS_SECRET: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"[A-Za-z0-9/+]{40}").expect("aws secret"));

/// Publicly documented examples and placeholders.
const DOCUMENTED: &[&str] = &[
    "AKIAIOSFODNN7EXAMPLE",
    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "AKIAI44QH8DHBEXAMPLE",
    "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY",
];

fn placeholder(tok: &str) -> bool {
    let l = tok.to_ascii_lowercase();
    DOCUMENTED.contains(&tok)
        || [
            "example",
            "xxxx",
            "00000",
            "placeholder",
            "dummy",
            "your_",
            "your-",
            "redacted",
            "sample",
            "fake",
            "abcdefgh",
            "1234567",
        ]
        .iter()
        .any(|p| l.contains(p))
}

/// Shannon entropy in bits per character.
pub(crate) fn entropy(s: &str) -> f64 {
    let mut counts = [0u32; 256];
    for &b in s.as_bytes() {
        counts[b as usize] += 1;
    }
    let n = s.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f64 / n;
            -p * p.log2()
        })
        .sum()
}

pub(crate) struct AccessTokens;

impl Detector for AccessTokens {
    fn meta(&self) -> &'static DetectorMeta {
        &META
    }
    fn interest(&self) -> Interest {
        Interest::Literals(&[
            "AKIA",
            "ASIA",
            "ABIA",
            "ACCA",
            "ghp_",
            "gho_",
            "ghu_",
            "ghs_",
            "ghr_",
            "github_pat_",
            "glpat-",
            "xoxb-",
            "xoxa-",
            "xoxp-",
            "xoxr-",
            "xoxs-",
            "sk_live_",
            "rk_live_",
            "AIza",
            "pypi-AgEI",
            "sk-",
            "npm_",
            "hf_",
            "SG.",
            "twilio",
            "Twilio",
            "TWILIO",
            ":AA",
            "eyJ",
        ])
    }
    fn scan_text(&self, file: &TextFile<'_>, hits: &mut Hits) {
        scan_gated(file, hits, may_match(file.text));
    }
}

/// The detector's work with only the [`TOKENS`] patterns in `gate` (bits by index) searched:
/// [`may_match`]'s, or every pattern (the tests' reference).
fn scan_gated(file: &TextFile<'_>, hits: &mut Hits, gate: u32) {
    let low = file.role == FileRole::TestOrDocs || pysrc::looks_like_test_path(file.path);
    let mut n = 0;
    for (i, Token { name, re, severity: sev, .. }) in TOKENS.iter().enumerate() {
        if gate & (1 << i) == 0 {
            continue;
        }
        for m in re.find_iter(file.text) {
            if n >= MAX_HITS_PER_FILE {
                return;
            }
            // Twilio's match starts at the vendor name; the token is the SK… tail.
            let tok =
                if *name == "Twilio API key" { &m.as_str()[m.as_str().rfind("SK").unwrap_or(0)..] } else { m.as_str() };
            let start = m.end() - tok.len();
            // JWTs in docs and metadata are examples (they are short-lived anyway).
            let doc_like = file.role == FileRole::Metadata || pysrc::looks_like_docs_file(file.path);
            if placeholder(tok) || entropy(tok) < 3.0 || (*name == "JSON Web Token" && (low || doc_like)) {
                continue;
            }
            let mut sev = *sev;
            let mut ind = format!("{name} {}", pysrc::redact(tok));
            if *name == "AWS access key" {
                let lo = start.saturating_sub(300);
                let hi = (m.end() + 300).min(file.text.len());
                let (lo, hi) = (floor(file.text, lo), floor(file.text, hi));
                if AWS_SECRET
                    .find_iter(&file.text[lo..hi])
                    .any(|s| !placeholder(s.as_str()) && entropy(s.as_str()) > 4.0)
                {
                    sev = Severity::Critical;
                    ind.push_str(" + secret key");
                }
            }
            if low {
                sev = Severity::Low;
            } else if documented(file, start) {
                // A format shown to the reader (`# Our token looks like: xoxb-…`, a README's
                // example): Medium, annotated for a look, never a block on its own.
                sev = sev.min(Severity::Medium);
            }
            n += 1;
            hits.push(&META, Hit { severity: Some(sev), evidence: pysrc::secret_evidence(file, start, tok, ind) });
        }
    }
}

/// Whether `offset` is in documentation: a Python comment or docstring, a docs file
/// (README, change log, `.md`/`.rst`), or the core metadata (its description is the README).
pub(crate) fn documented(file: &TextFile<'_>, offset: usize) -> bool {
    file.role == FileRole::Metadata
        || pysrc::looks_like_docs_file(file.path)
        || file.is_python && matches!(file.source().kind_at(offset), pysrc::Kind::Comment | pysrc::Kind::Doc)
}

fn floor(t: &str, mut i: usize) -> usize {
    while !t.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::detectors::testutil::{scan, table};
    use FileRole::*;
    use Severity::*;

    // Synthetic tokens with realistic entropy; none is a real credential.
    const GH: &str = "T = 'ghp_Zq3vR8kLm2Xw9Tb4Yc7Ns1Hd6Jf0Pa5Ue3Gi'\n";
    const AWS_PAIR: &str = "AWS_ACCESS_KEY_ID = 'AKIAZ7QW3RT5YU8PLM2N'\nAWS_SECRET_ACCESS_KEY = 'q8Zt4Wm1Xv7Rb3Nc9Ld2Kf6Hg0Js5Pa8Ye1Ui4Ow7'\n";
    const AWS_EXAMPLE: &str = "id = 'AKIAIOSFODNN7EXAMPLE'\nsecret = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'\n";

    #[test]
    fn cases() {
        let upload =
            format!("password = 'pypi-AgEIZXhhbXBsZS5vcmc{}'\n", "Qm9ndXNUb2tlbkZvclRlc3RzT25seU5vdFJlYWwxMjM0NTY3ODk");
        table(
            &AccessTokens,
            META.id,
            &[
                ("github token", "pkg/a.py", Runtime, GH, Some((1, "GitHub token ghp_Zq…", High))),
                (
                    "a token's format shown in a comment",
                    "pkg/plugins/chat.py",
                    Runtime,
                    "# Our token looks like: ghp_Zq3vR8kLm2Xw9Tb4Yc7Ns1Hd6Jf0Pa5Ue3Gi\nTOKEN_RE = r'ghp_\\w+'\n",
                    Some((1, "GitHub token ghp_Zq…", Medium)),
                ),
                (
                    "a token in a docstring",
                    "pkg/client.py",
                    Runtime,
                    "def login(token):\n    \"\"\"Pass your token, e.g. ghp_Zq3vR8kLm2Xw9Tb4Yc7Ns1Hd6Jf0Pa5Ue3Gi.\"\"\"\n",
                    Some((2, "GitHub token ghp_Zq…", Medium)),
                ),
                (
                    "an aws pair in a README",
                    "pkg-1.0/README.md",
                    Other,
                    AWS_PAIR,
                    Some((1, "AWS access key AKIAZ7… + secret key", Medium)),
                ),
                (
                    "the same pair in code next to a comment",
                    "pkg/cfg.py",
                    Runtime,
                    "# credentials\nAWS_ACCESS_KEY_ID = 'AKIAZ7QW3RT5YU8PLM2N'\nAWS_SECRET_ACCESS_KEY = 'q8Zt4Wm1Xv7Rb3Nc9Ld2Kf6Hg0Js5Pa8Ye1Ui4Ow7'\n",
                    Some((2, "AWS access key AKIAZ7… + secret key", Critical)),
                ),
                (
                    "aws pair",
                    "pkg/cfg.py",
                    Runtime,
                    AWS_PAIR,
                    Some((1, "AWS access key AKIAZ7… + secret key", Critical)),
                ),
                (
                    "aws id alone",
                    "pkg/cfg.py",
                    Runtime,
                    "x = 1\nK = 'AKIAZ7QW3RT5YU8PLM2N'\n",
                    Some((2, "AWS access key AKIAZ7…", Medium)),
                ),
                (
                    "upload token",
                    "pkg/.pypirc",
                    Runtime,
                    &upload,
                    Some((1, "Package index upload token pypi-A…", Critical)),
                ),
                ("token in tests is low", "pkg/tests/test_gh.py", Runtime, GH, Some((1, "GitHub token ghp_Zq…", Low))),
                ("aws documented example", "pkg/cfg.py", Runtime, AWS_EXAMPLE, None),
                ("placeholder", "pkg/a.py", Runtime, "T = 'ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'\n", None),
                ("low entropy", "pkg/a.py", Runtime, "T = 'ghp_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'\n", None),
                ("prefix only", "pkg/a.py", Runtime, "if tok.startswith('ghp_'):\n    pass\n", None),
                ("sk- word", "pkg/a.py", Runtime, "NAME = 'sk-learn'\n", None),
                ("jwt example in metadata", "x.dist-info/METADATA", Metadata, "    token = \x27eyJhbGciOiJIUzI1NiJ9.eyJzb21lIjoicGF5bG9hZCJ9.4twFt5NiznN84AWoo1d7KO1T_yoc0Z6XOpOVswacPZg\x27\n", None),
            ],
        );
    }

    #[test]
    fn every_token_has_a_bit_of_the_gate_mask() {
        assert!(TOKENS.len() <= 32, "may_match's mask has a bit per token: {}", TOKENS.len());
        let all_gated =
            TOKENS.iter().enumerate().filter(|(_, t)| !t.gate.is_empty()).fold(0u32, |m, (i, _)| m | 1 << i);
        let text: String = TOKENS.iter().flat_map(|t| t.gate.iter().copied()).collect::<Vec<_>>().join(" ");
        assert_eq!(may_match(&text) & all_gated, all_gated, "each gated token's literals let it run");
        assert_eq!(may_match("") & all_gated, 0, "an empty member runs only the ungated");
    }

    #[test]
    fn gated_patterns_give_what_every_pattern_gives() {
        let hits_of = |text: &str, gate: u32| {
            let file = TextFile::new("pkg/a.py", Runtime, true, text);
            let mut hits = Hits::default();
            scan_gated(&file, &mut hits, gate);
            hits.iter()
                .map(|(_, h)| (h.severity, h.evidence.line, h.evidence.column, h.evidence.indicator.clone()))
                .collect::<Vec<_>>()
        };
        let check = |name: &str, text: &str| {
            let got = hits_of(text, may_match(text));
            assert_eq!(got, hits_of(text, u32::MAX), "{name}");
            got.len()
        };
        let cases = [
            ("empty", ""),
            ("github", GH),
            ("aws pair", AWS_PAIR),
            ("anthropic", "k = 'sk-ant-api03-Zq3vR8kLm2Xw9Tb4Yc7Ns1Hd6Jf0Pa5Ue3GiZq3vR8kLm2Xw9Tb4Yc7Ns1Hd6Jf0Pa5Ue3GiZq3vR8kLm2Xw9Tb4Yc7'\n"),
            ("openai", "k = 'sk-proj-Zq3vR8kLm2Xw9Tb4Yc7Ns1Hd6Jf0Pa5Ue3GiZq3vR8kLm2Xw9'\n"),
            ("twilio", "TWILIO_KEY = 'SK0123456789abcdef0123456789abcdef'\n"),
            ("telegram", "BOT = '123456789:AAZq3vR8kLm2Xw9Tb4Yc7Ns1Hd6Jf0Pa5Ue'\n"),
            ("sendgrid, npm, hf", "a='SG.Zq3vR8kLm2Xw9Tb4Yc7Ns1.Hd6Jf0Pa5Ue3GiZq3vR8kLm2Xw9Tb4Yc7Ns1Hd6Jf0Pa5Ue3G' b='npm_Zq3vR8kLm2Xw9Tb4Yc7Ns1Hd6Jf0Pa5Ue3Gi' c='hf_ZqvRkLmXwTbYcNsHdJfPaUeGiZqvRkLmXwT'\n"),
            ("words inside words", "task-force disk_live_ xAKIAx eyJ"),
        ];
        for (name, text) in cases {
            check(name, text);
        }
        let pieces = [
            "AKIA",
            "ASIA",
            "ghp_",
            "github_pat_",
            "glpat-",
            "xoxb-",
            "sk_live_",
            "rk_live_",
            "AIza",
            "pypi-AgEI",
            "sk-",
            "sk-ant-api03-",
            "sk-proj-",
            "T3BlbkFJ",
            "npm_",
            "hf_",
            "SG.",
            ".",
            "twilio ",
            "TwIlIo ",
            "SK",
            "0123456789abcdef",
            "123456789",
            ":AA",
            "eyJ",
            "Zq3vR8kLm2Xw9Tb4",
            "Yc7Ns1Hd6Jf0Pa5Ue3Gi",
            "_",
            "-",
            " ",
            "'",
            "\n",
            "# ",
            "é",
            "AKIAZ7QW3RT5YU8PLM2N",
            "ghp_Zq3vR8kLm2Xw9Tb4Yc7Ns1Hd6Jf0Pa5Ue3Gi",
            "sk-proj-Zq3vR8kLm2Xw9Tb4Yc7Ns1Hd6Jf0Pa5Ue3GiZq3vR8kLm2Xw9",
            "xoxb-Zq3vR8kLm2Xw9Tb4",
            "123456789:AAZq3vR8kLm2Xw9Tb4Yc7Ns1Hd6Jf0Pa5Ue",
        ];
        let mut found = 0;
        for text in pysrc::random_texts(&pieces, 30, 0x6a09_e667_f3bc_c908u64, 4000) {
            found += check(&text, &text);
        }
        assert!(found > 500, "the random texts hold tokens: {found}");
    }

    #[test]
    fn snippet_is_redacted() {
        let got = scan(&AccessTokens, "pkg/a.py", FileRole::Runtime, GH);
        assert_eq!(got[0].snippet, "T = 'ghp_Zq…'");
    }
}
