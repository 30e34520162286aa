//! The detector contract: what one detector sees and how it reports.
//!
//! A detector is pure and synchronous. The engine (archive walker) calls it:
//! - [`Detector::scan_text`] once per decoded text member the detector declared an
//!   [`Interest`] in: every member containing one of its literals (decided by the
//!   engine's single multi-pattern prefilter pass), every text member, or none;
//! - [`Detector::scan_package`] once per artifact, after all members, with the
//!   package-level facts (metadata, file list, name).
//!
//! Detectors must not do I/O, must not keep state across artifacts, and report
//! only through [`Hits`]. What several detectors need from one member (its lexed
//! Python, a shared regex's matches, its lowercased copy for the gates of
//! case-insensitive regexes) they take from [`TextFile::source`] and
//! [`TextFile::may_contain_ci`], computed once per member, never from a cache of their own.

use super::source::Source;
use crate::model::{Category, Evidence, FileRole, Severity};
use aho_corasick::AhoCorasick;
use std::cell::OnceCell;

/// Static description of a detector: what the reports show and policies match on.
#[derive(Debug, Clone, Copy)]
pub struct DetectorMeta {
    /// Stable id, `category.slug`, e.g. `network.downloads-file`. Never renamed once shipped.
    pub id: &'static str,
    /// Bumped whenever what this detector reports under this id changes (patterns,
    /// severities, messages): the scanner version is derived from every detector's
    /// revision (see [`crate::scan::scanner_version`]), so cached reports made by an older
    /// revision are not reused. Start at 1.
    pub revision: u32,
    /// The behaviour as a report line, e.g. "Downloads a file."
    pub title: &'static str,
    pub category: Category,
    /// Default severity; a detector may raise it per hit (e.g. install-time context).
    pub severity: Severity,
    /// Why this matters, for reports and `policy explain`.
    pub description: &'static str,
}

/// One text member handed to detectors. The engine builds one per member and hands the
/// same one to every selected detector, so what it computes lazily (the lexed
/// [`Source`] and its regex ranges) is computed at most once per member.
pub struct TextFile<'a> {
    /// Member path inside the archive (nested: `outer.whl!/inner/path`).
    pub path: &'a str,
    pub role: FileRole,
    /// True for `.py`/`.pyw`/`.pyi` and `setup.py`-like files.
    pub is_python: bool,
    pub text: &'a str,
    source: OnceCell<Source<'a>>,
    /// The text lowercased, when it is ASCII (see [`TextFile::may_contain_ci`]).
    lower: OnceCell<Option<String>>,
}

impl<'a> TextFile<'a> {
    pub fn new(path: &'a str, role: FileRole, is_python: bool, text: &'a str) -> Self {
        TextFile { path, role, is_python, text, source: OnceCell::new(), lower: OnceCell::new() }
    }

    /// The gate of a case-insensitive regex: false only when the member is ASCII and its
    /// lowercased text holds none of `words` (an automaton over lowercase words, every
    /// match of the regex containing one of them), so the regex cannot match. Non-ASCII
    /// text is always `true`: Unicode case folding lets `ſ` match `s` and the Kelvin sign
    /// `k`. The lowercased copy is made at most once per member, shared by every gate, and
    /// searched with the automaton's literal prefilter instead of the regex's own
    /// case-insensitive search (which visits most bytes).
    pub fn may_contain_ci(&self, words: &AhoCorasick) -> bool {
        self.ascii_lowercase().is_none_or(|l| words.is_match(l))
    }

    /// The member lowercased when it is ASCII (same length, same offsets), else `None`;
    /// computed at most once per member.
    pub fn ascii_lowercase(&self) -> Option<&str> {
        self.lower.get_or_init(|| self.text.is_ascii().then(|| self.text.to_ascii_lowercase())).as_deref()
    }

    /// The member as source: lexed as Python (lazily, once) when `is_python`, else
    /// plain text that is all code. Shared by every detector scanning this member,
    /// as are the ranges of the regexes they search through [`Source::find_ranges`].
    pub fn source(&self) -> &Source<'a> {
        self.source.get_or_init(|| match self.is_python {
            true => Source::python(self.text),
            false => Source::plain(self.text),
        })
    }
}

/// Package-level facts, gathered by the engine while walking.
pub struct Package<'a> {
    /// Distribution filename.
    pub filename: &'a str,
    /// Project name as in the filename (not normalised).
    pub project: Option<&'a str>,
    pub version: Option<&'a str>,
    pub kind: crate::model::ArtifactKind,
    /// Raw core metadata (`METADATA` / `PKG-INFO`), if found.
    pub core_metadata: Option<&'a str>,
    /// Every member path with its role and uncompressed size.
    pub members: &'a [(String, FileRole, u64)],
}

/// One hit: becomes (part of) a [`crate::model::Finding`] for the detector that made it.
#[derive(Debug, Clone)]
pub struct Hit {
    /// Overrides the detector's default severity for this hit (e.g. install-time context).
    pub severity: Option<Severity>,
    pub evidence: Evidence,
}

/// Where detectors put their hits. The engine groups hits per detector into findings.
#[derive(Default)]
pub struct Hits {
    pub(crate) hits: Vec<(&'static DetectorMeta, Hit)>,
}

impl Hits {
    pub fn push(&mut self, meta: &'static DetectorMeta, hit: Hit) {
        self.hits.push((meta, hit));
    }
    pub fn is_empty(&self) -> bool {
        self.hits.is_empty()
    }
    pub fn len(&self) -> usize {
        self.hits.len()
    }
    pub fn iter(&self) -> impl Iterator<Item = &(&'static DetectorMeta, Hit)> {
        self.hits.iter()
    }
}

/// Which text members a detector wants to see. The engine decides per member, before
/// any detector runs, with one prefilter pass over the union of every detector's literals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interest {
    /// Text members containing at least one of these literals (case-sensitive substrings,
    /// ASCII or UTF-8). The list must not be empty and holds no empty literal: a list with
    /// no usable literal is treated as [`Interest::AllText`], so a detector never goes
    /// silently blind.
    Literals(&'static [&'static str]),
    /// Every decoded text member (for indicators with no literal to look for).
    AllText,
    /// No text member: the detector only implements [`Detector::scan_package`].
    PackageOnly,
}

/// A detector. Implementations live one per file in `scan/detectors/` and are
/// listed once in `scan::detectors::all()`.
pub trait Detector: Send + Sync {
    fn meta(&self) -> &'static DetectorMeta;

    /// Every meta this detector can report under (a secrets detector may report
    /// `secrets.private-key` and `secrets.access-token`). Default: just [`Detector::meta`].
    fn all_meta(&self) -> Vec<&'static DetectorMeta> {
        vec![self.meta()]
    }

    /// Which text members this detector's [`Detector::scan_text`] is called on.
    /// Required: every detector says explicitly what it reads.
    fn interest(&self) -> Interest;

    fn scan_text(&self, _file: &TextFile<'_>, _hits: &mut Hits) {}

    fn scan_package(&self, _pkg: &Package<'_>, _hits: &mut Hits) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_insensitive_gate() {
        let words = AhoCorasick::new(["curl", "/dev/"]).expect("words");
        let cases = [
            ("word in lower case", "run('curl x | sh')", true),
            ("word in upper case", "RUN('CURL X | SH')", true),
            ("word in mixed case", "/Dev/tcp", true),
            ("no word", "import os\nos.getcwd()\n", false),
            ("non-ASCII text without a word is still searched", "# café\n", true),
        ];
        for (case, text, want) in cases {
            let file = TextFile::new("pkg/a.py", FileRole::Runtime, true, text);
            assert_eq!(file.may_contain_ci(&words), want, "{case}");
            assert_eq!(
                file.ascii_lowercase().map(str::len),
                text.is_ascii().then_some(text.len()),
                "{case}: offsets kept"
            );
        }
    }
}
