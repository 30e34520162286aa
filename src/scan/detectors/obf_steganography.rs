//! `obfuscation.steganography`: code recovered from images, audio or other data files
//! and run — steganography libraries (`stegano`, `lsb.reveal`, `stepic`, `stegpy`,
//! `steganography`), PIL pixel loops (`getpixel`/`getdata`/`load()` with bit
//! operations, in a module that uses PIL/`Image`) in a module that evaluates code, and a non-code file shipped in the
//! package (`.png`, `.jpg`, `.wav`, `.dat`, `.txt`…) whose contents flow, through
//! at most a few assignments, into `exec`/`eval`/`compile`/`marshal.loads`/
//! `types.FunctionType`/`os.system`/`subprocess`.
//!
//! Severity: high when what is recovered is run (weighed by place: install time
//! critical, tests/docs medium, data low); a steganography library in a module that
//! runs nothing is medium. Quiet for reading a README or an icon that is only
//! displayed, and for `exec` of a `.py` file (the version idiom). Payloads appended to
//! the images themselves are the engine's `obfuscation.appended-payload`.
//!
//! Python code only; token-wise, so files that do not parse are still scanned.

use super::context;
use super::pysrc::{self, Kind, MAX_HITS_PER_FILE};
use crate::model::{Category, Severity};
use crate::scan::detector::{Detector, DetectorMeta, Hit, Hits, Interest, TextFile};
use regex::Regex;
use std::sync::LazyLock;

pub(crate) static META: DetectorMeta = DetectorMeta {
    id: "obfuscation.steganography",
    revision: 4,
    title: "Runs code hidden in an image or data file.",
    category: Category::Obfuscation,
    severity: Severity::High,
    description: "Code recovered from the pixels of an image, from audio, or from a data file shipped in the package and then executed is hidden from every reviewer and from scanners that only read source.",
};

/// A steganography library in code (an import or a call): literals first, so the
/// search is a prefilter pass.
static STEGO_LIB: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?-u:\b)(?:stegano|stepic|stegpy|steganography|lsb_steg\w*)(?-u:\b)|(?-u:\b)(?:lsb|exifHeader)\.reveal\s*\(",
    )
    .expect("stego lib")
});
static PIXELS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?-u:\b)(?:getpixel|getdata)\s*\(|\.load\(\s*\)").expect("pixels"));
/// An imaging library imported, or an image opened or decoded, in code.
static IMAGING: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?m)^[ \t]*(?:from[ \t]+(?:PIL|imageio|cv2|skimage)(?-u:\b)|import[ \t]+(?:PIL|imageio|cv2|skimage)(?-u:\b))|(?-u:\b)Image\.(?:open|frombytes|frombuffer|new)\s*\(|(?-u:\b)imread\s*\(")
        .expect("imaging")
});
static BIT_OPS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"&\s*(?:1|0x0?1|0b1)(?-u:\b)|<<|>>|%\s*2(?-u:\b)").expect("bit ops"));
static RUNS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?-u:\b)(?:exec|eval|compile)\s*\(|(?-u:\b)(?:marshal\.loads|(?:types\.)?FunctionType|os\.system|os\.popen|subprocess\.(?:Popen|call|run|check_output|check_call))\s*\(")
        .expect("runs")
});
/// Extensions of files that hold no code.
const DATA_EXT: &[&str] = &[
    "png", "jpg", "jpeg", "gif", "bmp", "ico", "webp", "tif", "tiff", "wav", "mp3", "ogg", "flac", "mp4", "avi", "dat",
    "bin", "txt", "log", "db", "ttf", "otf", "woff", "woff2", "pdf", "svg", "res",
];
/// A quoted name of a data file (textual precheck before the string spans are walked).
static DATA_LITERAL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(&format!(r#"(?i)\.(?:{})['"]"#, DATA_EXT.join("|"))).expect("data literal"));
/// A read of a file's contents (not just its path): what makes a data file's name a payload.
static READ: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\.read(?:_bytes|_text|lines)?\s*\(|(?-u:\b)(?:np|numpy)\.fromfile\s*\(").expect("read")
});
/// Sinks that run *code* (not a program on a file): what pixel bits must reach.
static RUNS_CODE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?-u:\b)(?:exec|eval|compile)\s*\(|(?-u:\b)(?:marshal\.loads|(?:types\.)?FunctionType)\s*\(")
        .expect("runs code")
});
/// How far (lines) data read from a file is followed to a sink.
const FLOW_LINES: usize = 30;

/// The extension of [`DATA_EXT`] `literal` ends with (after its last `.`, in any case).
fn data_ext(literal: &str) -> Option<&'static str> {
    let (_, ext) = literal.rsplit_once('.')?;
    DATA_EXT.iter().find(|e| e.eq_ignore_ascii_case(ext)).copied()
}

/// `name` as a whole word in `s`.
fn mentions(s: &str, name: &str) -> bool {
    s.match_indices(name).any(|(i, _)| {
        let before = s[..i].chars().next_back().is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
        let after = s[i + name.len()..].chars().next().is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
        before && after
    })
}

/// The names a line binds: `x = …`, `x, y = …`, `with … as x:`, `for x in …`.
fn bound_names(line: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let t = line.trim_start();
    if let Some((lhs, rhs)) = t.split_once('=') {
        if !rhs.starts_with('=') && !lhs.ends_with(['!', '<', '>']) && !lhs.contains('(') {
            out.extend(lhs.split(',').map(str::trim).filter(|n| is_name(n)));
        }
    }
    if let Some((_, tail)) = t.rsplit_once(" as ") {
        let n = tail.trim_end_matches([':', ' ', ')', '\r']).trim();
        if is_name(n) {
            out.push(n);
        }
    }
    out
}

fn is_name(n: &str) -> bool {
    !n.is_empty() && !n.as_bytes()[0].is_ascii_digit() && n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

pub(crate) struct Steganography;

impl Steganography {
    /// A data-file literal whose contents reach a sink within [`FLOW_LINES`], in a member
    /// [`DATA_LITERAL`] matches. That textual precheck is searched only at the first string
    /// literal with a data extension (most members have none, and the case-insensitive search
    /// visits every byte): the same answer as searching it before the walk.
    fn data_file_flows(&self, file: &TextFile<'_>) -> Option<(usize, String)> {
        let src = file.source();
        let t = file.text;
        let mut prechecked = false;
        for sp in src.strings().filter(|s| s.kind == Kind::Str) {
            let body = &t[sp.body_start..sp.body_end];
            let Some(ext) = data_ext(body) else { continue };
            if !prechecked {
                if !DATA_LITERAL.is_match(t) {
                    return None;
                }
                prechecked = true;
            }
            if body.len() > 200 || body.contains(' ') && !body.contains('/') {
                continue;
            }
            let ls = t[..sp.start].rfind('\n').map_or(0, |p| p + 1);
            let mut tainted: Vec<&str> =
                bound_names(&t[ls..t[sp.start..].find('\n').map_or(t.len(), |p| sp.start + p)]);
            let name = body.rsplit(['/', '\\']).next().unwrap_or(body);
            // Only contents count: a temp file's *path* handed to a command (`latex x.tex`,
            // `pager < x.txt`) runs no hidden code.
            let mut read = false;
            let mut off = ls;
            for (k, line) in t[ls..].split('\n').enumerate() {
                let line_at = off;
                off += line.len() + 1;
                if k > FLOW_LINES || tainted.len() > 16 {
                    break;
                }
                if k == 0 || tainted.iter().any(|n| mentions(line, n)) {
                    read |= READ.find_iter(line).any(|m| src.is_code(line_at + m.start()));
                }
                let runs = RUNS
                    .find_iter(line)
                    .find(|m| src.is_code(line_at + m.start()) && !line[..m.start()].ends_with('.'));
                if let Some(m) = runs {
                    let arg_at = line_at + m.end();
                    let arg = pysrc::call_argument(t, arg_at, 400);
                    let direct = k == 0 && arg.contains(body);
                    if read && (direct || tainted.iter().any(|n| mentions(arg, n))) {
                        let sink =
                            m.as_str().trim_start_matches(|c: char| !c.is_alphanumeric()).trim_end_matches(['(', ' ']);
                        return Some((line_at + m.start(), format!("{sink}(contents of .{ext} file \"{name}\")")));
                    }
                }
                if k > 0 && tainted.iter().any(|n| mentions(line, n)) {
                    for b in bound_names(line) {
                        if !tainted.contains(&b) {
                            tainted.push(b);
                        }
                    }
                }
            }
        }
        None
    }
}

impl Detector for Steganography {
    fn meta(&self) -> &'static DetectorMeta {
        &META
    }
    fn interest(&self) -> Interest {
        Interest::Literals(&[
            "stegano", "stepic", "stegpy", "lsb", "getpixel", "getdata", ".load()", ".png", ".jpg", ".jpeg", ".gif",
            ".bmp", ".ico", ".wav", ".mp3", ".dat", ".bin", ".txt", ".PNG", ".JPG",
        ])
    }
    fn scan_text(&self, file: &TextFile<'_>, hits: &mut Hits) {
        if !file.is_python {
            return;
        }
        let t = file.text;
        // Nothing runs (textually), no stego library: done before lexing.
        if !RUNS.is_match(t) && !STEGO_LIB.is_match(t) {
            return;
        }
        let src = file.source();
        let runs =
            RUNS.find_iter(t).find(|m| src.is_code(m.start()) && !t[..m.start()].ends_with('.')).map(|m| m.start());
        let mut found: Vec<(usize, String, Severity)> = Vec::new();
        if let Some(m) = STEGO_LIB.find_iter(t).find(|m| src.is_code(m.start())) {
            let sev = if runs.is_some() { Severity::High } else { Severity::Medium };
            let lib = m.as_str().split(['.', ' ', '(']).next().unwrap_or(m.as_str());
            let what =
                if runs.is_some() { "steganography library with code execution" } else { "steganography library" };
            found.push((m.start() + m.as_str().len() - m.as_str().trim_start().len(), format!("{what} ({lib})"), sev));
        }
        if runs.is_some() {
            // Each search below runs only when the ones before it found something (most modules
            // read no pixels): the first pixel read in code, then whether code is run from it.
            // An image library running a converter (`djpeg`, `screencapture`) executes no pixels.
            let pixels = PIXELS
                .find_iter(t)
                .find(|m| src.is_code(m.start()))
                .filter(|_| RUNS_CODE.find_iter(t).any(|m| src.is_code(m.start()) && !t[..m.start()].ends_with('.')));
            // Pixels are an image's: the module imports an imaging library or opens an image
            // in code (a GPU kernel's `ptr.load()` and shifts near the word "Image" are not).
            let imaging = || IMAGING.find_iter(t).any(|m| src.is_code(m.start()));
            if let Some(p) = pixels.filter(|_| imaging() && BIT_OPS.find_iter(t).any(|m| src.is_code(m.start()))) {
                if found.is_empty() {
                    found.push((p.start(), "pixel bits decoded and executed".to_string(), Severity::High));
                }
            }
            if let Some((at, ind)) = self.data_file_flows(file) {
                found.push((at, ind, Severity::High));
            }
        }
        for (at, ind, sev) in found.into_iter().take(MAX_HITS_PER_FILE) {
            hits.push(
                &META,
                Hit { severity: Some(context::weigh(file, sev)), evidence: pysrc::evidence(file, at, ind) },
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
        let cases: &[(&str, &str, FileRole, &str, Want)] = &[
            (
                "stegano reveal then exec",
                "pkg/__init__.py",
                Runtime,
                "from stegano import lsb\nsecret = lsb.reveal(os.path.join(here, 'logo.png'))\nexec(secret)\n",
                Some((1, "steganography library with code execution (stegano)", High)),
            ),
            (
                "stego library alone",
                "pkg/tool.py",
                Runtime,
                "import stepic\nmsg = stepic.decode(img)\nprint(msg)\n",
                Some((1, "steganography library (stepic)", Medium)),
            ),
            (
                "PIL pixel loop feeding exec",
                "setup.py",
                InstallTime,
                "from PIL import Image\nim = Image.open('icon.png')\nbits = [p[0] & 1 for p in im.getdata()]\ncode = bytes(int(''.join(map(str, bits[i:i+8])), 2) for i in range(0, len(bits), 8))\nexec(code)\n",
                Some((3, "pixel bits decoded and executed", Critical)),
            ),
            (
                "image tail after a marker, executed",
                "pkg/a.py",
                Runtime,
                "data = open(os.path.join(d, 'banner.jpg'), 'rb').read()\npayload = data[data.index(b'##START##') + 9:]\ncode = zlib.decompress(payload)\nexec(code)\n",
                Some((4, "exec(contents of .jpg file \"banner.jpg\")", High)),
            ),
            (
                "wav read with a context manager into marshal",
                "pkg/a.py",
                Runtime,
                "with open('sounds/beep.wav', 'rb') as fh:\n    raw = fh.read()[44:]\nf = types.FunctionType(marshal.loads(raw), globals())\n",
                Some((3, "types.FunctionType(contents of .wav file \"beep.wav\")", High)),
            ),
            (
                "dat file into os.system, python 2 style",
                "pkg/a.py",
                Runtime,
                "print 'x'\ncmd = open('cfg.dat').read()\nos.system(cmd)\n",
                Some((3, "os.system(contents of .dat file \"cfg.dat\")", High)),
            ),
            (
                "in tests at most medium",
                "pkg/tests/test_a.py",
                TestOrDocs,
                "s = open('x.txt').read()\nexec(s)\n",
                Some((2, "exec(contents of .txt file \"x.txt\")", Medium)),
            ),
            // benign look-alikes
            (
                "README read and version exec",
                "setup.py",
                InstallTime,
                "long_description = open('README.txt').read()\nexec(open('pkg/version.py').read())\n",
                None,
            ),
            ("icon displayed", "pkg/ui.py", Runtime, "img = Image.open('icon.png')\nimg.show()\nmodel.eval()\n", None),
            (
                "pixel maths without exec",
                "pkg/img.py",
                Runtime,
                "px = im.load()\nfor x in range(w):\n    v = px[x, 0][0] >> 4\n",
                None,
            ),
            (
                "GPU kernel: a pointer's load(), shifts and a compile, the word Image in a name",
                "pkg/kernels/gemm.py",
                Runtime,
                "# ImageNet-sized tiles\ndef k(ptr):\n    v = ptr.load()\n    w = v >> 4\n    out.store(w)\nkernel = compile(k, target)\n",
                None,
            ),
            (
                "pixels of an image opened without a PIL import line, bits exec'd",
                "pkg/util.py",
                Runtime,
                "im = Image.open(p)\npx = im.load()\nb = [px[x, 0][0] & 1 for x in range(w)]\nexec(decode(b))\n",
                Some((2, "pixel bits decoded and executed", High)),
            ),
            (
                "template loader load() with a shift elsewhere",
                "jinja2/environment.py",
                Runtime,
                "template = self.loader.load(self, name, g)\nflags = 1 << 3\ncode = compile(source, name, 'exec')\n",
                None,
            ),
            (
                "a temp file's path handed to a pager or latex",
                "IPython/core/page.py",
                Runtime,
                "fd, tmpname = tempfile.mkstemp('.txt')\ntmppath = Path(tmpname)\nwith tmppath.open('wt') as tmpfile:\n    tmpfile.write(strng)\n    cmd = '{} < {}'.format(pager_cmd, tmppath)\nif os.system(cmd):\n    retval = 1\n",
                None,
            ),
            (
                "an image plugin decoding pixels and running a converter",
                "PIL/JpegImagePlugin.py",
                Runtime,
                "from . import Image\nimport subprocess\nv = i16(s) >> 4\n_im.load()\nsubprocess.check_call(['djpeg', '-outfile', path, self.filename])\n",
                None,
            ),
            (
                "a screenshot tool opening the png it asked a tool to write",
                "PIL/ImageGrab.py",
                Runtime,
                "fh, filepath = tempfile.mkstemp('.png')\nargs = ['screencapture', '-x', filepath]\nretcode = subprocess.call(args)\nim = Image.open(filepath)\nim.load()\nargs = ['screencapture', '-l', w, filepath]\nretcode = subprocess.call(args)\n",
                None,
            ),
            (
                "output image named, command run on the source",
                "pkg/latex.py",
                Runtime,
                "out = os.path.join(workdir, 'tmp.png')\nsubprocess.check_call(['dvipng', '-o', out, dvifile])\n",
                None,
            ),
            ("data file name in a docstring", "pkg/a.py", Runtime, "\"\"\"Reads logo.png and exec(s) it.\"\"\"\n", None),
            (
                "json data read, code exec elsewhere",
                "pkg/a.py",
                Runtime,
                "cfg = open('settings.txt').read()\nparse(cfg)\ncode = build()\nexec(code)\n",
                None,
            ),
        ];
        table(&Steganography, META.id, cases);
    }

    /// The data-file walk with its textual precheck searched at the first data-file literal is
    /// the walk behind the precheck searched first: the same answer on named cases (a flow, a
    /// string left open at the end, a data name only in a comment) and random texts.
    #[test]
    fn lazy_precheck_is_the_precheck_first() {
        let check = |name: &str, text: &str| {
            let file = TextFile::new("pkg/a.py", FileRole::Runtime, true, text);
            let lazy = Steganography.data_file_flows(&file);
            let eager = DATA_LITERAL.is_match(text).then(|| Steganography.data_file_flows(&file)).flatten();
            assert_eq!(lazy, eager, "{name}");
            lazy.is_some()
        };
        let cases = [
            ("empty", ""),
            ("a flow", "d = open('x/blob.PNG').read()\nexec(d)\n"),
            ("a string open at the end", "d = open('x/blob.png').read()\nexec(d); s = 'a.png"),
            ("only a string open at the end", "exec(open(p).read()); s = 'a.png"),
            ("the name in a comment", "# see blob.png'\nd = open(p).read()\nexec(d)\n"),
            ("no read", "exec('x.dat')\n"),
        ];
        for (name, text) in cases {
            check(name, text);
        }
        let pieces = [
            "d = ",
            "open(",
            "'a.png'",
            "'b.DAT'",
            "\"c.txt\"",
            "'d.png",
            "x.png'",
            ").read()",
            "\n",
            "exec(d)",
            "exec(",
            ")",
            "# ",
            " ",
            "d",
            "é",
        ];
        let flows =
            pysrc::random_texts(&pieces, 14, 0x2545_f491_4f6c_dd1d, 4_000).iter().filter(|t| check(t, t)).count();
        assert!(flows > 20, "the random texts hold flows: {flows}");
    }
}
