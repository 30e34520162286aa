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
//! Where their literals are they take from [`TextFile::literal_lines`]: the lines the
//! prefilter's one pass saw them on (for a detector whose [`Detector::literal_places`] is
//! true), so a regex whose matches lie in one line and hold a literal is searched there only
//! ([`TextFile::find_in_lines`], [`TextFile::captures_in_lines`]) instead of over the member.

use super::source::Source;
use crate::model::{Category, Evidence, FileRole, Severity};
use aho_corasick::AhoCorasick;
use std::cell::OnceCell;
use std::ops::Range;

/// The char boundary after `at` in `hay` (`None` at its end).
fn next_char(hay: &str, at: usize) -> Option<usize> {
    hay[at..].chars().next().map(|c| at + c.len_utf8())
}

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
    /// The text with its ASCII letters lowercased (see [`TextFile::ascii_lowercase`]).
    lower: OnceCell<Option<String>>,
    /// Where a call of `exec`, `eval` or `compile` can start (see [`TextFile::exec_call_starts`]).
    exec_calls: OnceCell<Option<Vec<usize>>>,
    /// Where the prefilter saw the literals of the detectors that asked for it
    /// ([`Detector::literal_places`]); `None` when built outside the engine.
    places: Option<&'a LiteralPlaces>,
}

/// Occurrences of one literal list recorded per member before the list falls back to the whole
/// member (see [`TextFile::literal_lines`]): a member of millions of hits costs a bounded list.
pub(crate) const MAX_PLACES: usize = 4096;

/// Where the literals of some [`Interest::Literals`] lists occur in one member, as the engine's
/// prefilter recorded them in its one pass (for the detectors whose
/// [`Detector::literal_places`] is true). Reused from member to member by the engine.
#[derive(Debug, Default)]
pub(crate) struct LiteralPlaces {
    /// The recorded lists (the same list asked by several detectors is one).
    pub(crate) lists: Vec<&'static [&'static str]>,
    /// Per list: the start of every occurrence of one of its literals (of the longest one
    /// ending at that byte), in no order, perhaps repeated; empty once `over` is set.
    pub(crate) starts: Vec<Vec<usize>>,
    /// Per list: more than [`MAX_PLACES`] occurrences (the list's lines are the whole member).
    pub(crate) over: Vec<bool>,
}

impl LiteralPlaces {
    /// Ready for the next member: every list empty.
    pub(crate) fn clear(&mut self) {
        self.starts.iter_mut().for_each(Vec::clear);
        self.over.iter_mut().for_each(|o| *o = false);
    }

    /// Records an occurrence of list `slot` starting at `start`; true when this one put the
    /// list over its cap (it then records nothing more and counts as the whole member).
    pub(crate) fn record(&mut self, slot: usize, start: usize) -> bool {
        if self.over[slot] {
            return false;
        }
        let starts = &mut self.starts[slot];
        if starts.len() == MAX_PLACES {
            starts.clear();
            self.over[slot] = true;
            return true;
        }
        starts.push(start);
        false
    }
}

/// The merged whole-line ranges of `text` holding the occurrences of `literals` that start at
/// `starts` (ascending, perhaps repeated): each occurrence's lines, from the start of the line
/// it starts in to the end (after the `\n`, or the text's end) of the line it ends in; ranges
/// that touch are merged. Each byte is read at most twice (once back to a line start, once on
/// to a line end), so linear in the text.
fn lines_of(text: &str, literals: &[&str], starts: impl Iterator<Item = usize>) -> Vec<Range<usize>> {
    let b = text.as_bytes();
    let mut out: Vec<Range<usize>> = Vec::new();
    for start in starts {
        // The longest literal occurring at `start` (a shorter one is inside it).
        let Some(len) = literals.iter().filter(|l| b[start..].starts_with(l.as_bytes())).map(|l| l.len()).max() else {
            continue;
        };
        let last = start + len.max(1) - 1;
        let covered = out.last().map_or(0, |r| r.end);
        if last < covered {
            continue;
        }
        let from = match start < covered {
            true => covered,
            false => memchr::memrchr(b'\n', &b[covered..start]).map_or(covered, |p| covered + p + 1),
        };
        let to = memchr::memchr(b'\n', &b[last..]).map_or(b.len(), |p| last + p + 1);
        match out.last_mut() {
            Some(r) if r.end == from => r.end = to,
            _ => out.push(from..to),
        }
    }
    out
}

/// The one walk behind [`TextFile::find_in_lines`] and [`TextFile::captures_in_lines`]: each
/// range searched with the member before it in view and ending at the range's end, resuming
/// after each match (`search` gives the match's range and what to yield for it).
fn search_lines<'a, 't, T, F>(
    text: &'a str,
    lines: &'t [Range<usize>],
    search: F,
) -> impl Iterator<Item = T> + use<'a, 't, T, F>
where
    F: Fn(&'a str, usize) -> Option<(Range<usize>, T)> + Copy,
{
    lines.iter().flat_map(move |r| {
        let hay = &text[..r.end];
        let mut at = r.start;
        std::iter::from_fn(move || {
            if at > hay.len() {
                return None;
            }
            let (m, item) = search(hay, at)?;
            // Never stall on an empty match (none is expected: matches hold a literal).
            at = if m.is_empty() { next_char(hay, m.end).unwrap_or(hay.len() + 1) } else { m.end };
            Some(item)
        })
    })
}

/// Whether `text` holds no character that Unicode simple case folding matches with an ASCII
/// letter: ASCII text, or text without `ſ` (U+017F, folds with `s`) and the Kelvin sign
/// (U+212A, folds with `k`), the only two (tested against the regex crate's folding).
fn folds_bytewise(text: &str) -> bool {
    text.is_ascii()
        || !["\u{17f}", "\u{212a}"].iter().any(|c| memchr::memmem::find(text.as_bytes(), c.as_bytes()).is_some())
}

impl<'a> TextFile<'a> {
    pub fn new(path: &'a str, role: FileRole, is_python: bool, text: &'a str) -> Self {
        TextFile {
            path,
            role,
            is_python,
            text,
            source: OnceCell::new(),
            lower: OnceCell::new(),
            exec_calls: OnceCell::new(),
            places: None,
        }
    }

    /// This member with the literal places the engine's prefilter recorded for it.
    pub(crate) fn with_places(mut self, places: &'a LiteralPlaces) -> Self {
        self.places = Some(places);
        self
    }

    /// Where `literals` (a detector's [`Interest::Literals`] list, or any list) occur in the
    /// member, as whole lines: the merged byte ranges, ascending, of every line an occurrence
    /// of one of them touches (from the start of its first line to the end of its last line,
    /// the `\n` included; ranges that touch are one). Offsets are the member's.
    ///
    /// A detector whose regex's every match lies within one line and contains one of the
    /// literals finds the same matches in these lines as in the whole member:
    /// [`TextFile::find_in_lines`] and [`TextFile::captures_in_lines`] search them with the
    /// text before and after each range in view (anchors, `\b`). For a list the engine
    /// recorded (the detector's [`Detector::literal_places`] is true) this reads only the
    /// lines the prefilter's one pass found; past [`MAX_PLACES`] occurrences, and for any other
    /// list, it is computed here (a substring search per literal), and a list with over
    /// [`MAX_PLACES`] recorded occurrences is the whole member (`[0..len]`): the search is then
    /// the whole-member search, bounded as before.
    pub fn literal_lines(&self, literals: &[&str]) -> Vec<Range<usize>> {
        let whole = || (!self.text.is_empty()).then_some(0..self.text.len()).into_iter().collect();
        if let Some(p) = self.places {
            if let Some(slot) = p.lists.iter().position(|l| *l == literals) {
                if p.over[slot] {
                    return whole();
                }
                let mut starts = p.starts[slot].clone();
                starts.sort_unstable();
                return lines_of(self.text, literals, starts.into_iter());
            }
        }
        let b = self.text.as_bytes();
        let mut starts: Vec<usize> = Vec::new();
        for l in literals.iter().filter(|l| !l.is_empty()) {
            // Every occurrence, overlapping ones too (one holding a newline may reach a line
            // the one it overlaps does not).
            let finder = memchr::memmem::Finder::new(l.as_bytes());
            let mut at = 0;
            while let Some(p) = b.get(at..).and_then(|rest| finder.find(rest)) {
                starts.push(at + p);
                if starts.len() > MAX_PLACES {
                    return whole();
                }
                at += p + 1;
            }
        }
        starts.sort_unstable();
        lines_of(self.text, literals, starts.into_iter())
    }

    /// The matches of `re` inside `lines` ([`TextFile::literal_lines`]), ascending: what
    /// `re.find_iter(self.text)` yields, provided every match of `re` lies within one line and
    /// contains one of the literals the lines were found for. Each range is searched with the
    /// member before it in view and ending at the range's end (a line end), so `^`, `\b` and
    /// look-behind see what they see in the whole member.
    pub fn find_in_lines<'t>(
        &self,
        re: &'t regex::Regex,
        lines: &'t [Range<usize>],
    ) -> impl Iterator<Item = regex::Match<'a>> + 't
    where
        'a: 't,
    {
        search_lines(self.text, lines, move |hay, at| re.find_at(hay, at).map(|m| (m.range(), m)))
    }

    /// [`TextFile::find_in_lines`] with captures: what `re.captures_iter(self.text)` yields,
    /// under the same condition.
    pub fn captures_in_lines<'t>(
        &self,
        re: &'t regex::Regex,
        lines: &'t [Range<usize>],
    ) -> impl Iterator<Item = regex::Captures<'a>> + 't
    where
        'a: 't,
    {
        search_lines(self.text, lines, move |hay, at| {
            re.captures_at(hay, at).map(|c| (c.get(0).expect("group 0").range(), c))
        })
    }

    /// The gate of a case-insensitive regex: false only when the member's lowercased copy
    /// ([`TextFile::ascii_lowercase`]) exists and holds none of `words` (an automaton over
    /// lowercase words, every match of the regex containing one of them), so the regex cannot
    /// match. A member holding `ſ` or the Kelvin sign has no such copy and is always `true`. The
    /// copy is made at most once per member, shared by every gate, and searched with the
    /// automaton's literal prefilter instead of the regex's own case-insensitive search (which
    /// visits most bytes).
    pub fn may_contain_ci(&self, words: &AhoCorasick) -> bool {
        self.ascii_lowercase().is_none_or(|l| words.is_match(l))
    }

    /// The member with its ASCII letters lowercased (same length, same offsets; other bytes
    /// as they are), unless it holds `ſ` (U+017F) or the Kelvin sign (U+212A): Unicode simple
    /// case folding, which `(?i)` uses, matches those two with ASCII letters (`s`, `k`) and no
    /// other non-ASCII character with any, so without them every case-insensitive match of an
    /// ASCII word is that word in ASCII letters of either case, lowercased in the copy at the
    /// same offset. Computed at most once per member.
    pub fn ascii_lowercase(&self) -> Option<&str> {
        self.lower.get_or_init(|| folds_bytewise(self.text).then(|| self.text.to_ascii_lowercase())).as_deref()
    }

    /// Where a call of `exec`, `eval` or `compile` can start in the member (the starts of
    /// [`call_starts`]), or `None` when none can (`may_call` is false).
    /// Computed at most once per member for every detector that confirms such calls
    /// (`execution.dynamic-code`, `execution.download-execute`), instead of one gate and one
    /// search of the three words per detector and use.
    pub(crate) fn exec_call_starts(&self) -> Option<&[usize]> {
        self.exec_calls.get_or_init(|| may_call(self.text).then(|| call_starts(self.text))).as_deref()
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

    /// True when [`Detector::scan_text`] asks [`TextFile::literal_lines`] for its
    /// [`Interest::Literals`] list: the engine's prefilter then records where those literals
    /// occur during its one pass over the member (and searches the member to its end to do so),
    /// instead of the lines being found again by a search per literal. Default: false.
    fn literal_places(&self) -> bool {
        false
    }

    fn scan_text(&self, _file: &TextFile<'_>, _hits: &mut Hits) {}

    fn scan_package(&self, _pkg: &Package<'_>, _hits: &mut Hits) {}
}

/// False when `execution.dynamic-code`'s call pattern (and `execution.download-and-execute`'s exec-of-a-fetch, whose
/// matches start the same way) cannot match: no `exec`, `eval` or `compile` stands where a call
/// of it can start (at a line start, after a character that is neither `.` nor a word
/// character, or after `builtins.` or `__builtins__.`). Most files that hold one say `re.compile(`: a few
/// substring searches instead of the regex's search, which has no literal prefix to skip
/// ahead with. A non-ASCII character before the word counts as a possible start.
pub(crate) fn may_call(text: &str) -> bool {
    let b = text.as_bytes();
    ["exec", "eval", "compile"].iter().any(|word| memchr::memmem::find_iter(b, word).any(|i| call_can_start(b, i)))
}

/// Whether a call of the `exec`, `eval` or `compile` at `i` can start there ([`may_call`]).
fn call_can_start(b: &[u8], i: usize) -> bool {
    match i.checked_sub(1).map(|p| b[p]) {
        None => true,
        Some(b'.') => b[..i].ends_with(b"builtins.") || b[..i].ends_with(b"__builtins__."),
        Some(c) => !(c.is_ascii_alphanumeric() || c == b'_'),
    }
}

/// Every position where a match of `execution.dynamic-code`'s call pattern (or of `execution.download-and-execute`'s
/// exec-of-a-fetch) can start, ascending: a match names `exec`, `eval` or `compile` (or
/// `execfile`) at a place [`call_can_start`] accepts, and starts at most 13 bytes before the
/// name (`__builtins__.`; one character before it, or the name itself) or at the start of its
/// line when only blanks lie between (the Python 2 statement). For the detectors' anchored searches.
pub(crate) fn call_starts(text: &str) -> Vec<usize> {
    let b = text.as_bytes();
    let mut starts = Vec::new();
    let mut at: Vec<usize> =
        ["exec", "eval", "compile"].iter().flat_map(|w| memchr::memmem::find_iter(b, w.as_bytes())).collect();
    at.sort_unstable();
    for p in at {
        if !call_can_start(b, p) {
            continue;
        }
        // The line's start when only blanks lie between: walked back over the blanks alone (a
        // look-back to the newline would read a long line once per name: quadratic).
        let ls = p - b[..p].iter().rev().take_while(|&&c| c == b' ' || c == b'\t').count();
        if ls == 0 || b[ls - 1] == b'\n' {
            starts.push(ls);
        }
        starts.extend(p.saturating_sub(13)..=p);
    }
    starts.sort_unstable();
    starts.dedup();
    starts
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The look-back over blanks finds the line starts the look-back to the newline found
    /// (named cases, including `\r`, tabs and a name at the member's start), and one long line of
    /// calls (a hostile member: 5 MB, 480,000 names) costs linear time: the old look-back read
    /// the line once per name (about 20 G instructions on this one).
    #[test]
    fn call_starts_walk_back_over_blanks_only() {
        fn old(text: &str) -> Vec<usize> {
            let b = text.as_bytes();
            let mut at: Vec<usize> =
                ["exec", "eval", "compile"].iter().flat_map(|w| memchr::memmem::find_iter(b, w.as_bytes())).collect();
            at.sort_unstable();
            let mut starts = Vec::new();
            for p in at.into_iter().filter(|&p| call_can_start(b, p)) {
                let ls = memchr::memrchr(b'\n', &b[..p]).map_or(0, |i| i + 1);
                if b[ls..p].iter().all(|&c| c == b' ' || c == b'\t') {
                    starts.push(ls);
                }
                starts.extend(p.saturating_sub(13)..=p);
            }
            starts.sort_unstable();
            starts.dedup();
            starts
        }
        let calls = "eval(x); os.system(y); exec(z); ";
        let cases = [
            ("name at the member's start", "exec code\n".to_string()),
            ("indented statement", "if x:\n    exec code in ns\n".to_string()),
            ("tabs and spaces", "def f():\n\t  \teval(x)\n".to_string()),
            ("carriage return is not blank", "x = 1\r\n  \reval(x)\n".to_string()),
            ("text before the name", "y = 2; exec(z)\n".to_string()),
            ("blank lines between", "\n\n   \n  compile(s, 'f', 'exec')\n".to_string()),
            ("a long line of calls", format!("  exec code\n{}\n\t eval(w)\n", calls.repeat(2_000))),
        ];
        for (case, text) in &cases {
            assert_eq!(call_starts(text), old(text), "{case}");
        }
        let text = format!("  exec code\n{}\n\t eval(w)\n", calls.repeat(160_000));
        let started = std::time::Instant::now();
        let starts = call_starts(&text);
        let took = started.elapsed();
        assert!(took < std::time::Duration::from_secs(2), "5 MB line: took {took:?}");
        assert!(starts.contains(&0) && starts.contains(&(text.len() - "\t eval(w)\n".len())), "both line starts");
    }

    /// The member's shared call starts are the gate and the search each detector ran.
    #[test]
    fn exec_call_starts_are_the_gate_and_the_search() {
        use super::{call_starts, may_call};
        let cases = [
            ("no call", "import os\nos.getcwd()\n"),
            ("exec call", "exec(code)\n"),
            ("only inside names", "my_exec(x); evaluate(y); recompile()\n"),
            ("builtins", "builtins.eval(x)\n__builtins__.exec(y)\n"),
            ("python 2 statement", "if x:\n    exec code in ns\n"),
            ("several", "x = eval(a)\ny = compile(s, 'f', 'exec')\nexec(y)\n"),
        ];
        for (name, text) in cases {
            let file = TextFile::new("pkg/a.py", FileRole::Runtime, true, text);
            let want = may_call(text).then(|| call_starts(text));
            assert_eq!(file.exec_call_starts(), want.as_deref(), "{name}");
            let first = file.exec_call_starts().map(<[usize]>::as_ptr);
            assert_eq!(file.exec_call_starts().map(<[usize]>::as_ptr), first, "{name}: computed once");
        }
    }

    #[test]
    fn case_insensitive_gate() {
        let words = AhoCorasick::new(["curl", "/dev/"]).expect("words");
        let cases = [
            ("word in lower case", "run('curl x | sh')", true),
            ("word in upper case", "RUN('CURL X | SH')", true),
            ("word in mixed case", "/Dev/tcp", true),
            ("no word", "import os\nos.getcwd()\n", false),
            ("non-ASCII text without a word", "# café\n", false),
            ("non-ASCII text with a word in upper case", "# café\nCURL x | sh\n", true),
            ("long s: searched whatever it holds", "# ſ\n", true),
            ("Kelvin sign: searched whatever it holds", "# 4 \u{212a}\n", true),
        ];
        for (case, text, want) in cases {
            let file = TextFile::new("pkg/a.py", FileRole::Runtime, true, text);
            assert_eq!(file.may_contain_ci(&words), want, "{case}");
            let copy = file.ascii_lowercase();
            let bytewise = !text.contains(['\u{17f}', '\u{212a}']);
            assert_eq!(copy.map(str::len), bytewise.then_some(text.len()), "{case}: offsets kept");
            if let Some(copy) = copy {
                assert_eq!(copy, text.to_ascii_lowercase(), "{case}");
            }
        }
    }

    /// The premise of [`TextFile::ascii_lowercase`]: `ſ` and the Kelvin sign are the only
    /// characters beyond ASCII that a case-insensitive regex matches with an ASCII letter.
    #[test]
    fn only_two_characters_fold_to_ascii_letters() {
        let letter = regex::Regex::new("(?i)^[a-z]$").expect("letter");
        let folding: Vec<char> = (0x80..=0x10ffff_u32)
            .filter_map(char::from_u32)
            .filter(|c| letter.is_match(c.encode_utf8(&mut [0; 4])))
            .collect();
        assert_eq!(folding, ['\u{17f}', '\u{212a}']);
        for text in ["a\u{17f}b", "\u{212a}", "é\u{212a}é", "\u{17f}"] {
            assert!(!folds_bytewise(text), "{text}");
        }
        for text in ["", "abc", "café", "\u{212b}\u{17e}\u{180}"] {
            assert!(folds_bytewise(text), "{text}");
        }
    }
}
