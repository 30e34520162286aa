//! `execution.silent-powershell`: PowerShell started hidden, without profile,
//! with an encoded command or bypassing execution policy (`-w hidden`, `-enc`,
//! `-nop`, `-ep bypass`, `-noni`).
//!
//! Matches in Python strings/code and in shipped scripts; Python comments and
//! docstrings are skipped; tests/docs lower to Low; a README's install one-liner weighs as
//! data (Low) and a VM or container provisioning file as dev tooling (Medium).

use super::context;
use super::pysrc::{self, Kind, MAX_HITS_PER_FILE};
use crate::model::{Category, FileRole, Severity};
use crate::scan::detector::{Detector, DetectorMeta, Hit, Hits, Interest, TextFile};
use regex::Regex;
use std::sync::LazyLock;

pub(crate) static META: DetectorMeta = DetectorMeta {
    id: "execution.silent-powershell",
    revision: 2,
    title: "Runs PowerShell hidden or with security settings bypassed.",
    category: Category::Execution,
    severity: Severity::High,
    description:
        "Hidden windows, encoded commands and execution-policy bypass are how droppers run PowerShell unnoticed.",
};

static PS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)(?-u:\b)(?:powershell|pwsh)(?:\.exe)?(?-u:\b)").expect("ps"));
static FLAG: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?:^|[\s'\x22,])(?P<f>-w(?:in(?:dowstyle)?)?[\s'\x22,]*h(?:idden)?(?-u:\b)|-e(?:nc(?:odedcommand)?)?[\s'\x22,]*[A-Za-z0-9+/]{16,}={0,2}|-nop(?:rofile)?(?-u:\b)|-(?:ep|exec(?:utionpolicy)?)[\s'\x22,]*bypass(?-u:\b)|-noni(?:nteractive)?(?-u:\b))").expect("flag")
});

pub(crate) struct SilentPowershell;

impl Detector for SilentPowershell {
    fn meta(&self) -> &'static DetectorMeta {
        &META
    }
    fn interest(&self) -> Interest {
        Interest::Literals(&["powershell", "PowerShell", "Powershell", "POWERSHELL", "pwsh"])
    }
    fn scan_text(&self, file: &TextFile<'_>, hits: &mut Hits) {
        if file.role == FileRole::Metadata {
            return;
        }
        let src = file.source();
        let test = file.role == FileRole::TestOrDocs || pysrc::test_member(file);
        // Weighed by place: a README's install one-liner or a VM provisioning file is read or
        // run by a developer, not by pip or an import.
        let sev = Some(match (test, file.role == FileRole::InstallTime) {
            (true, _) => Severity::Low,
            (false, true) => Severity::Critical,
            _ => context::cap(file, Severity::High),
        });
        let mut n = 0;
        for m in PS.find_iter(file.text) {
            if n >= MAX_HITS_PER_FILE {
                return;
            }
            if src.python && !matches!(src.kind_at(m.start()), Kind::Code | Kind::Str) {
                continue;
            }
            // Flags on the same line, within 300 bytes.
            let end = file.text[m.end()..].find('\n').map_or(file.text.len(), |p| m.end() + p).min(m.end() + 300);
            let end = (m.end()..=end).rev().find(|&i| file.text.is_char_boundary(i)).unwrap_or(m.end());
            if let Some(f) = FLAG.captures(&file.text[m.end()..end]).and_then(|c| c.name("f")) {
                n += 1;
                let flag: String = f
                    .as_str()
                    .split_whitespace()
                    .next()
                    .unwrap_or("")
                    .trim_matches(['\'', '"', ','])
                    .to_ascii_lowercase();
                let flag = flag.split(['\'', '"', ',']).next().unwrap_or("").to_string();
                hits.push(
                    &META,
                    Hit { severity: sev, evidence: pysrc::evidence(file, m.start(), format!("powershell {flag}")) },
                );
            }
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
            &SilentPowershell,
            META.id,
            &[
                (
                    "hidden",
                    "pkg/a.py",
                    Runtime,
                    "os.system('powershell -w hidden -c iex $x')\n",
                    Some((1, "powershell -w", High)),
                ),
                (
                    "list argv bypass in setup.py",
                    "setup.py",
                    InstallTime,
                    "subprocess.Popen(['powershell.exe', '-ExecutionPolicy', 'Bypass', '-File', p])\n",
                    Some((1, "powershell -executionpolicy", Critical)),
                ),
                (
                    "encoded",
                    "pkg/run.bat",
                    Runtime,
                    "powershell -NoP -enc SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQA\n",
                    Some((1, "powershell -nop", High)),
                ),
                (
                    "an install one-liner in a README",
                    "pdm-2.0/README.md",
                    Other,
                    "powershell -ExecutionPolicy ByPass -c \"irm https://example.org/install.ps1 | iex\"\n",
                    Some((1, "powershell -executionpolicy", Low)),
                ),
                (
                    "a VM provisioning file",
                    "pkg-1.0/bootloader/Vagrantfile",
                    Other,
                    "  ' ; powershell -NoProfile -ExecutionPolicy Bypass -File ./install-choco.ps1\n",
                    Some((1, "powershell -noprofile", Medium)),
                ),
                (
                    "the same line in a shipped batch file",
                    "pkg/tools/setup.bat",
                    Other,
                    "powershell -NoProfile -ExecutionPolicy Bypass -File ./install-choco.ps1\n",
                    Some((1, "powershell -noprofile", High)),
                ),
                (
                    "plain powershell use",
                    "pkg/a.py",
                    Runtime,
                    "subprocess.run(['powershell', '-Command', 'Get-ChildItem'])\n",
                    None,
                ),
                ("in comment", "pkg/a.py", Runtime, "# powershell -w hidden\nx = 1\n", None),
                (
                    "docs lowered",
                    "docs/howto.md",
                    TestOrDocs,
                    "run `powershell -ep bypass -File x.ps1`\n",
                    Some((1, "powershell -ep", Low)),
                ),
            ],
        );
    }
}
