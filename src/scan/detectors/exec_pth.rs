//! `execution.pth-exec`: `.pth` files whose `import` lines run code at every
//! Python start-up (the `site` module executes any line starting with `import`).
//!
//! Quiet-ish for the well-known one-module forms (`import _virtualenv`,
//! `import __editable___x_finder; __editable___x_finder.install()`, the
//! setuptools distutils shim) → Low; anything else High; decoding, exec, process
//! or network in the line Critical. Path lines are ignored. A shipped
//! `sitecustomize.py`/`usercustomize.py` (imported by `site` at start-up) is High.

use super::pysrc::{self, MAX_HITS_PER_FILE};
use crate::model::{Category, Severity};
use crate::scan::detector::{Detector, DetectorMeta, Hit, Hits, Interest, TextFile};
use regex::Regex;
use std::sync::LazyLock;

pub(crate) static META: DetectorMeta = DetectorMeta {
    id: "execution.pth-exec",
    revision: 1,
    title: "Runs code at every Python start-up through a .pth file.",
    category: Category::Execution,
    severity: Severity::High,
    description: "Executable .pth lines run in every Python process on the machine, long after install; a favourite persistence trick.",
};

static SIMPLE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^import\s+[\w.]+\s*(?:;\s*[\w.]+\.install\(\)\s*)?;?\s*$").expect("simple"));
static DISTUTILS_SHIM: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"__import__\('_distutils_hack'\)\.add_shim\(\)").expect("shim"));
static EVIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?-u:\b)(?:exec|eval|compile|b64decode|b32decode|a85decode|fromhex|unhexlify|decompress|marshal|subprocess|system|popen|urlopen|urllib|requests|socket|http\.client|Popen|codecs|rot13|rot_13)(?-u:\b)|__import__\(\s*['\x22](?:os|subprocess|base64|socket|urllib)").expect("evil")
});

pub(crate) struct PthExec;

impl Detector for PthExec {
    fn meta(&self) -> &'static DetectorMeta {
        &META
    }
    fn interest(&self) -> Interest {
        Interest::Literals(&["import"])
    }
    fn scan_text(&self, file: &TextFile<'_>, hits: &mut Hits) {
        let lower = file.path.to_ascii_lowercase();
        let base = lower.rsplit(['/', '!']).next().unwrap_or(&lower);
        if file.is_python && (base == "sitecustomize.py" || base == "usercustomize.py") {
            // Imported by `site` at every start-up, like an executable .pth line.
            let mut ev = pysrc::evidence(file, 0, base.to_string());
            ev.line = Some(1);
            hits.push(&META, Hit { severity: Some(Severity::High), evidence: ev });
            return;
        }
        if !lower.ends_with(".pth") {
            return;
        }
        let mut off = 0;
        let mut n = 0;
        for line in file.text.split_inclusive('\n') {
            let start = off;
            off += line.len();
            let t = line.trim();
            if !(t.starts_with("import ") || t.starts_with("import\t")) || n >= MAX_HITS_PER_FILE {
                continue;
            }
            let (sev, ind) = if let Some(m) = EVIL.find(t) {
                (Severity::Critical, format!("import … {}", m.as_str().split('(').next().unwrap_or("")))
            } else if SIMPLE.is_match(t) || DISTUTILS_SHIM.is_match(t) {
                (Severity::Low, "import".to_string())
            } else {
                (Severity::High, "import …".to_string())
            };
            n += 1;
            let col = line.len() - line.trim_start().len();
            hits.push(&META, Hit { severity: Some(sev), evidence: pysrc::evidence(file, start + col, ind) });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::FileRole::*;
    use crate::scan::detectors::testutil::table;
    use Severity::*;

    #[test]
    fn cases() {
        table(
            &PthExec,
            META.id,
            &[
                ("exec of base64", "evil.pth", InstallTime, "/some/path\nimport base64;exec(base64.b64decode('aW1wb3J0IG9z'))\n", Some((2, "import … exec", Critical))),
                ("os via __import__", "x.pth", InstallTime, "import sys; __import__('os').system('id')\n", Some((1, "import … __import__", Critical))),
                ("editable finder", "__editable__.pkg-1.0.pth", InstallTime, "import __editable___pkg_1_0_finder; __editable___pkg_1_0_finder.install()\n", Some((1, "import", Low))),
                ("distutils shim", "distutils-precedence.pth", InstallTime, "import os; var = 'SETUPTOOLS_USE_DISTUTILS'; enabled = os.environ.get(var, 'local') == 'local'; enabled and __import__('_distutils_hack').add_shim(); \n", Some((1, "import", Low))),
                ("other code", "x.pth", InstallTime, "import sys; sys.path.insert(0, '/opt/x')\n", Some((1, "import …", High))),
                ("paths only", "x.pth", InstallTime, "/opt/lib\n../src\n", None),
                ("python file with import", "pkg/a.py", Runtime, "import os\n", None),
                ("sitecustomize in a wheel", "sitecustomize.py", Runtime, "import os\nos.environ[\x27X\x27] = \x271\x27\n", Some((1, "sitecustomize.py", High))),
            ],
        );
    }
}
