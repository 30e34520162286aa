//! Pickle streams in members: finding them by their bytes (not by name), walking their
//! opcodes without executing anything, and saying which callables a load would import and
//! call, and how dangerous each one is.
//!
//! Where streams are looked for: a member that starts with a protocol 2–5 header
//! (`\x80` + protocol: `.pkl`, `.pickle`, `.joblib`, legacy `torch.save` files holding
//! several streams back to back); a protocol 0/1 stream (text opcodes) that starts with a
//! `GLOBAL` or a `MARK` and walks to a clean `STOP`; the object array of a `.npy` file
//! (`\x93NUMPY`, `'descr': '|O'`); and the `*.pkl` entries of a zip that the archive walker
//! does not open itself (PyTorch's `.pt`/`.bin`/`.ckpt`: `archive/data.pkl`), read from the
//! bytes the walker kept (stored or deflated, bounded).
//!
//! Owns: the sniffing, the bounded walker ([`walk`]: protocols 0–5, `GLOBAL`,
//! `STACK_GLOBAL` through the memo, `INST`, `OBJ`, `REDUCE`, `NEWOBJ(_EX)`, `BUILD`) and the
//! classification of `module.name` ([`Danger`]). Must not: execute, import or resolve
//! anything, read beyond the bytes it is given, or decide: the engine reports what [`find`]
//! returns under `execution.pickle-code` and `anomaly.malformed-pickle`.
//!
//! Written by hand: the pickle crates deserialise values (and refuse or replace globals);
//! none reports opcodes with offsets without building the objects.

use std::borrow::Cow;
use std::collections::HashMap;
use std::io::Read;

/// At most this many values on the stack or in the memo: beyond it the stream is reported as
/// over the limit, not walked further.
const MAX_STACK: usize = 100_000;
/// Callables recorded per stream (the report needs the dangerous ones, not every repeat).
const MAX_IMPORTS: usize = 64;
/// Streams walked back to back in one member (legacy `torch.save` writes five).
const MAX_STREAMS: usize = 8;
/// A zip entry is inflated up to this many bytes.
const MAX_ENTRY: u64 = 8 << 20;
/// Zip entries looked at in the kept bytes of one member.
const MAX_ENTRIES: usize = 256;
/// Strings longer than this are not kept as values (no module or attribute name is).
const MAX_NAME: usize = 256;

/// How dangerous a callable is to import and call while loading.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Danger {
    /// A reconstructor or plain data type (`collections.OrderedDict`, numpy's `_reconstruct`,
    /// torch's `_rebuild_tensor_v2`) or another standard-library name that runs nothing.
    None,
    /// A callable from outside the standard library that is not a known reconstructor.
    Unknown,
    /// Dynamic access or file and process-adjacent helpers (`builtins.getattr`,
    /// `operator.methodcaller`, `shutil.*`, `builtins.open`): how a payload reaches a sink.
    Indirect,
    /// Runs a command or code, or opens a connection (`os.system`, `subprocess.*`,
    /// `builtins.exec`, `runpy`, `socket`, `ctypes`, `pip.main`, …).
    Runs,
}

/// One callable a stream imports (`GLOBAL`, `STACK_GLOBAL`, `INST`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Import {
    /// Offset of the opcode in the stream's bytes (see [`Found::base`]).
    pub offset: usize,
    /// `module.name` as written (`__builtin__` and `copy_reg` kept as spelled).
    pub target: String,
    /// Called by `REDUCE`, `INST`, `OBJ` or `NEWOBJ` (not only imported).
    pub called: bool,
    pub danger: Danger,
}

/// Why a walk stopped before `STOP`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum WalkError {
    #[error("unknown opcode 0x{op:02x} at byte {offset}")]
    UnknownOpcode { op: u8, offset: usize },
    #[error("opcode '{op}' at byte {offset} needs {needed} more byte(s) than the stream has")]
    PastEnd { op: char, offset: usize, needed: usize },
    #[error("opcode '{op}' at byte {offset} finds too few values on the stack")]
    Underflow { op: char, offset: usize },
    #[error("opcode '{op}' at byte {offset} reads memo slot {slot}, which was never written")]
    MissingMemo { op: char, offset: usize, slot: u64 },
    #[error("the stack or memo holds more than {MAX_STACK} values at byte {offset}")]
    TooBig { offset: usize },
    #[error("protocol {proto} at byte {offset} is not a pickle protocol (0-5)")]
    BadProtocol { proto: u8, offset: usize },
}

impl WalkError {
    /// The stream ended inside an argument: what a cut head looks like, not a broken stream.
    fn ran_out(&self) -> bool {
        matches!(self, WalkError::PastEnd { .. })
    }
}

/// The result of walking one stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Walk {
    /// The protocol its header names (0 when there is none: protocols 0 and 1).
    pub protocol: u8,
    pub imports: Vec<Import>,
    /// The offset just after `STOP`, or why the walk stopped.
    pub end: Result<usize, WalkError>,
}

#[derive(Debug, Clone)]
enum V {
    Mark,
    Str(Box<str>),
    /// The index of an [`Import`].
    Global(usize),
    Other,
}

/// Walks one pickle stream starting at `data[0]`: every opcode, bounded by the bytes given
/// and by [`MAX_STACK`]. Never panics on any input.
pub(crate) fn walk(data: &[u8]) -> Walk {
    let mut w = Walker { data, pos: 0, stack: Vec::new(), memo: HashMap::new(), imports: Vec::new(), protocol: 0 };
    let end = w.run();
    Walk { protocol: w.protocol, imports: w.imports, end }
}

struct Walker<'a> {
    data: &'a [u8],
    pos: usize,
    stack: Vec<V>,
    memo: HashMap<u64, V>,
    imports: Vec<Import>,
    protocol: u8,
}

impl Walker<'_> {
    fn take(&mut self, op: u8, at: usize, n: usize) -> Result<&[u8], WalkError> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.data.len());
        let Some(end) = end else {
            return Err(WalkError::PastEnd { op: op as char, offset: at, needed: n - (self.data.len() - self.pos) });
        };
        let s = &self.data[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn uint(&mut self, op: u8, at: usize, n: usize) -> Result<u64, WalkError> {
        let b = self.take(op, at, n)?;
        Ok(b.iter().rev().fold(0u64, |acc, &x| (acc << 8) | x as u64))
    }

    fn line(&mut self, op: u8, at: usize) -> Result<&[u8], WalkError> {
        let rest = &self.data[self.pos..];
        let Some(n) = rest.iter().position(|&b| b == b'\n') else {
            return Err(WalkError::PastEnd { op: op as char, offset: at, needed: 1 });
        };
        self.pos += n + 1;
        Ok(&rest[..n])
    }

    fn push(&mut self, v: V, at: usize) -> Result<(), WalkError> {
        if self.stack.len() >= MAX_STACK {
            return Err(WalkError::TooBig { offset: at });
        }
        self.stack.push(v);
        Ok(())
    }

    fn pop(&mut self, op: u8, at: usize) -> Result<V, WalkError> {
        match self.stack.pop() {
            Some(V::Mark) | None => Err(WalkError::Underflow { op: op as char, offset: at }),
            Some(v) => Ok(v),
        }
    }

    /// Pops everything down to (and including) the topmost mark; returns the values above it.
    fn pop_mark(&mut self, op: u8, at: usize) -> Result<Vec<V>, WalkError> {
        let Some(m) = self.stack.iter().rposition(|v| matches!(v, V::Mark)) else {
            return Err(WalkError::Underflow { op: op as char, offset: at });
        };
        let items = self.stack.split_off(m + 1);
        self.stack.pop();
        Ok(items)
    }

    fn string(bytes: &[u8]) -> V {
        match std::str::from_utf8(bytes) {
            Ok(s) if s.len() <= MAX_NAME => V::Str(s.into()),
            _ => V::Other,
        }
    }

    fn import(&mut self, at: usize, module: &str, name: &str, called: bool) -> V {
        if self.imports.len() >= MAX_IMPORTS {
            return V::Other;
        }
        let danger = classify(module, name);
        self.imports.push(Import { offset: at, target: format!("{module}.{name}"), called, danger });
        V::Global(self.imports.len() - 1)
    }

    fn call(&mut self, callable: &V) {
        if let V::Global(i) = callable {
            self.imports[*i].called = true;
        }
    }

    fn memo_put(&mut self, slot: u64, at: usize) -> Result<(), WalkError> {
        let top = self.stack.last().cloned().ok_or(WalkError::Underflow { op: 'p', offset: at })?;
        if self.memo.len() >= MAX_STACK && !self.memo.contains_key(&slot) {
            return Err(WalkError::TooBig { offset: at });
        }
        self.memo.insert(slot, top);
        Ok(())
    }

    fn memo_get(&mut self, op: u8, slot: u64, at: usize) -> Result<(), WalkError> {
        let v = self.memo.get(&slot).cloned().ok_or(WalkError::MissingMemo { op: op as char, offset: at, slot })?;
        self.push(v, at)
    }

    fn run(&mut self) -> Result<usize, WalkError> {
        loop {
            let at = self.pos;
            let Some(&op) = self.data.get(at) else {
                return Err(WalkError::PastEnd { op: '.', offset: at, needed: 1 });
            };
            self.pos += 1;
            match op {
                b'.' => return Ok(self.pos),
                0x80 => {
                    let p = self.uint(op, at, 1)? as u8;
                    if p > 5 {
                        return Err(WalkError::BadProtocol { proto: p, offset: at });
                    }
                    self.protocol = p;
                }
                0x95 => {
                    self.uint(op, at, 8)?; // FRAME: only a length hint
                }
                b'(' => self.push(V::Mark, at)?,
                b'0' => {
                    self.stack.pop().ok_or(WalkError::Underflow { op: '0', offset: at })?;
                }
                b'1' => {
                    self.pop_mark(op, at)?;
                }
                b'2' => {
                    let top = self.stack.last().cloned().ok_or(WalkError::Underflow { op: '2', offset: at })?;
                    self.push(top, at)?;
                }
                // Numbers, None, booleans: one value.
                b'F' | b'I' | b'L' => {
                    self.line(op, at)?;
                    self.push(V::Other, at)?;
                }
                // Fixed-width numbers (BININT1/2, BININT, BINFLOAT) and extension codes
                // (EXT1/2/4): one value.
                b'K' | b'M' | b'J' | b'G' | 0x82..=0x84 => {
                    let width = match op {
                        b'K' | 0x82 => 1,
                        b'M' | 0x83 => 2,
                        b'J' | 0x84 => 4,
                        _ => 8,
                    };
                    self.take(op, at, width)?;
                    self.push(V::Other, at)?;
                }
                b'N' | 0x88 | 0x89 | b'}' | b']' | b')' | 0x8f => self.push(V::Other, at)?,
                0x8a | 0x8b => {
                    let n = self.uint(op, at, if op == 0x8a { 1 } else { 4 })? as usize;
                    self.take(op, at, n)?;
                    self.push(V::Other, at)?;
                }
                // Strings (the names STACK_GLOBAL reads) and bytes.
                b'S' | b'V' => {
                    let l = self.line(op, at)?;
                    let l = if op == b'S' && l.len() >= 2 && (l[0] == b'\'' || l[0] == b'"') {
                        &l[1..l.len() - 1]
                    } else {
                        l
                    };
                    let v = Self::string(l);
                    self.push(v, at)?;
                }
                b'T' | b'U' | b'X' | 0x8c | 0x8d | b'B' | b'C' | 0x8e | 0x96 => {
                    let width = match op {
                        b'U' | 0x8c | b'C' => 1,
                        b'T' | b'X' | b'B' => 4,
                        _ => 8,
                    };
                    let n = self.uint(op, at, width)?;
                    let n = usize::try_from(n).unwrap_or(usize::MAX);
                    let bytes = self.take(op, at, n)?;
                    let v = if matches!(op, b'T' | b'U' | b'X' | 0x8c | 0x8d) { Self::string(bytes) } else { V::Other };
                    self.push(v, at)?;
                }
                0x97 => self.push(V::Other, at)?, // NEXT_BUFFER
                0x98 => {}                        // READONLY_BUFFER
                // Containers.
                b'a' | b'b' => {
                    self.pop(op, at)?;
                    if self.stack.is_empty() {
                        return Err(WalkError::Underflow { op: op as char, offset: at });
                    }
                }
                b's' => {
                    self.pop(op, at)?;
                    self.pop(op, at)?;
                    if self.stack.is_empty() {
                        return Err(WalkError::Underflow { op: 's', offset: at });
                    }
                }
                b'e' | b'u' | 0x90 => {
                    self.pop_mark(op, at)?;
                    if self.stack.is_empty() {
                        return Err(WalkError::Underflow { op: op as char, offset: at });
                    }
                }
                b'd' | b'l' | b't' | 0x91 => {
                    self.pop_mark(op, at)?;
                    self.push(V::Other, at)?;
                }
                0x85..=0x87 => {
                    for _ in 0..(op - 0x84) {
                        self.pop(op, at)?;
                    }
                    self.push(V::Other, at)?;
                }
                // Memo.
                b'p' => {
                    let l = self.line(op, at)?;
                    let slot = std::str::from_utf8(l).ok().and_then(|s| s.trim().parse().ok()).unwrap_or(u64::MAX);
                    self.memo_put(slot, at)?;
                }
                b'q' | b'r' => {
                    let slot = self.uint(op, at, if op == b'q' { 1 } else { 4 })?;
                    self.memo_put(slot, at)?;
                }
                0x94 => {
                    let slot = self.memo.len() as u64;
                    self.memo_put(slot, at)?;
                }
                b'g' => {
                    let l = self.line(op, at)?;
                    let slot = std::str::from_utf8(l).ok().and_then(|s| s.trim().parse().ok()).unwrap_or(u64::MAX);
                    self.memo_get(op, slot, at)?;
                }
                b'h' | b'j' => {
                    let slot = self.uint(op, at, if op == b'h' { 1 } else { 4 })?;
                    self.memo_get(op, slot, at)?;
                }
                // Imports and calls.
                b'c' | b'i' => {
                    let module = String::from_utf8_lossy(self.line(op, at)?).into_owned();
                    let name = String::from_utf8_lossy(self.line(op, at)?).into_owned();
                    if op == b'c' {
                        let v = self.import(at, &module, &name, false);
                        self.push(v, at)?;
                    } else {
                        self.pop_mark(op, at)?;
                        self.import(at, &module, &name, true);
                        self.push(V::Other, at)?;
                    }
                }
                0x93 => {
                    let name = self.pop(op, at)?;
                    let module = self.pop(op, at)?;
                    let v = match (module, name) {
                        (V::Str(m), V::Str(n)) => self.import(at, &m, &n, false),
                        // A name computed by an earlier call: nothing static to read.
                        _ => self.import(at, "<computed>", "<computed>", false),
                    };
                    self.push(v, at)?;
                }
                b'o' => {
                    let items = self.pop_mark(op, at)?;
                    let Some(cls) = items.first() else {
                        return Err(WalkError::Underflow { op: 'o', offset: at });
                    };
                    self.call(&cls.clone());
                    self.push(V::Other, at)?;
                }
                b'R' | 0x81 => {
                    self.pop(op, at)?;
                    let callable = self.pop(op, at)?;
                    self.call(&callable);
                    self.push(V::Other, at)?;
                }
                0x92 => {
                    self.pop(op, at)?;
                    self.pop(op, at)?;
                    let cls = self.pop(op, at)?;
                    self.call(&cls);
                    self.push(V::Other, at)?;
                }
                b'P' => {
                    self.line(op, at)?;
                    self.push(V::Other, at)?;
                }
                b'Q' => {
                    self.pop(op, at)?;
                    self.push(V::Other, at)?;
                }
                _ => return Err(WalkError::UnknownOpcode { op, offset: at }),
            }
        }
    }
}

/// Modules whose callables run commands or code or open connections when called.
const RUNS: &[&str] = &[
    "os",
    "posix",
    "nt",
    "subprocess",
    "pty",
    "commands",
    "popen2",
    "runpy",
    "socket",
    "_socket",
    "webbrowser",
    "ctypes",
    "_ctypes",
    "code",
    "codeop",
    "importlib",
    "imp",
    "marshal",
    "pickle",
    "_pickle",
    "cPickle",
    "dill",
    "types",
    "timeit",
    "cProfile",
    "profile",
    "pdb",
    "bdb",
    "trace",
    "pip",
    "urllib2",
    "httplib",
    "ftplib",
    "smtplib",
    "telnetlib",
    "requests",
    "httpx",
    "urllib3",
    "aiohttp",
    "multiprocessing",
    "_posixsubprocess",
    "asyncio",
    "sys",
    "platform",
    "pydoc",
    "distutils",
    "setuptools",
];
/// `builtins` names that run code.
const BUILTINS_RUN: &[&str] = &["exec", "eval", "compile", "__import__", "execfile", "apply", "breakpoint", "input"];
/// `builtins` names that reach other objects or files: how a payload gets to a sink.
const BUILTINS_INDIRECT: &[&str] = &["getattr", "setattr", "delattr", "globals", "locals", "vars", "open", "file"];
/// Standard-library modules whose other callables build data and run nothing.
const STDLIB: &[&str] = &[
    "builtins",
    "__builtin__",
    "copyreg",
    "copy_reg",
    "collections",
    "datetime",
    "decimal",
    "fractions",
    "uuid",
    "pathlib",
    "_codecs",
    "codecs",
    "re",
    "sre_compile",
    "enum",
    "functools",
    "array",
    "numbers",
    "ipaddress",
    "string",
    "time",
    "calendar",
    "zoneinfo",
    "email",
    "argparse",
    "logging",
    "typing",
    "dataclasses",
    "itertools",
    "operator",
    "_operator",
    "_collections",
    "_collections_abc",
    "abc",
    "weakref",
    "io",
    "_io",
    "struct",
    "math",
    "cmath",
    "random",
    "_random",
    "json",
    "csv",
    "xml",
    "html",
    "hashlib",
    "heapq",
    "bisect",
    "statistics",
    "queue",
    "threading",
    "textwrap",
    "unicodedata",
    "warnings",
    "zlib",
    "copy",
    "exceptions",
    "__future__",
    "tempfile",
];

/// How dangerous it is for a load to import `module.name` (and usually call it).
pub(crate) fn classify(module: &str, name: &str) -> Danger {
    let root = module.split('.').next().unwrap_or(module);
    let builtins = matches!(module, "builtins" | "__builtin__" | "__builtins__");
    if module == "<computed>" {
        return Danger::Indirect;
    }
    if builtins && BUILTINS_RUN.contains(&name) {
        return Danger::Runs;
    }
    if builtins && BUILTINS_INDIRECT.contains(&name) {
        return Danger::Indirect;
    }
    if RUNS.contains(&root) && !(root == "sys" && name == "getdefaultencoding") {
        return Danger::Runs;
    }
    if matches!(
        module,
        "urllib.request" | "urllib" | "http.client" | "shutil" | "cloudpickle" | "cloudpickle.cloudpickle"
    ) || matches!((module, name), ("operator" | "_operator", "attrgetter" | "methodcaller"))
    {
        return if module.starts_with("urllib") || module == "http.client" { Danger::Runs } else { Danger::Indirect };
    }
    if STDLIB.contains(&root) || reconstructor(module, name) {
        return Danger::None;
    }
    Danger::Unknown
}

/// The rebuild functions and types of the array and tensor libraries whose pickles ship in
/// packages: they rebuild data and call nothing else.
fn reconstructor(module: &str, name: &str) -> bool {
    match module.split('.').next().unwrap_or(module) {
        "numpy" => {
            matches!(name, "_reconstruct" | "scalar" | "ndarray" | "dtype" | "_frombuffer" | "__randomstate_ctor")
                || name.ends_with("_ctor")
                || module.starts_with("numpy.dtypes")
        }
        "torch" => {
            name.starts_with("_rebuild_")
                || name.ends_with("Storage")
                || matches!(name, "Size" | "device" | "dtype" | "_load_from_bytes")
                || module == "torch"
                    && (name.starts_with("float") || name.starts_with("int") || name.starts_with("bfloat"))
        }
        "joblib" => name == "NumpyArrayWrapper",
        _ => false,
    }
}

/// One stream found in a member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Found {
    /// Where the stream is: `""` for the member itself, else the zip entry holding it.
    pub entry: String,
    /// The stream's first byte in the member (or in the zip entry).
    pub base: usize,
    pub walk: Walk,
    /// The walk stopped because the bytes given end (a member kept only in part): not broken.
    pub cut: bool,
}

impl Found {
    /// The stream is broken (not merely cut off where the kept bytes end).
    pub(crate) fn malformed(&self) -> Option<&WalkError> {
        self.walk.end.as_ref().err().filter(|_| !self.cut)
    }
}

/// The pickle streams in a member's bytes. `whole` is false when `data` is only the member's
/// head (a stream that runs past it is cut, not broken); `archive_named` is true when the
/// archive walker opens the member itself (its entries reach the engine one by one).
pub(crate) fn find(data: &[u8], whole: bool, archive_named: bool) -> Vec<Found> {
    let mut out = Vec::new();
    match data {
        _ if pickle_header(data) => streams(data, "", whole, &mut out),
        [0x93, b'N', b'U', b'M', b'P', b'Y', ..] => {
            if let Some(at) = npy_objects(data) {
                if let Some(f) = one(&data[at..], "", at, whole) {
                    out.push(f);
                }
            }
        }
        [b'P', b'K', 3, 4, ..] if !archive_named => zip_entries(data, &mut out),
        _ if protocol0_start(data) => {
            let w = walk(data);
            if w.end.is_ok() && !w.imports.is_empty() {
                out.push(Found { entry: String::new(), base: 0, walk: w, cut: false });
            }
        }
        _ => {}
    }
    out
}

fn one(data: &[u8], entry: &str, base: usize, whole: bool) -> Option<Found> {
    let w = walk(data);
    let cut = !whole && w.end.as_ref().is_err_and(WalkError::ran_out);
    Some(Found { entry: entry.to_string(), base, walk: w, cut })
}

/// Streams back to back from the start of `data` (legacy `torch.save`: magic, protocol,
/// system info, the object, storage keys), each starting with a protocol 2–5 header.
fn streams(data: &[u8], entry: &str, whole: bool, out: &mut Vec<Found>) {
    let mut at = 0;
    for _ in 0..MAX_STREAMS {
        let Some(f) = one(&data[at..], entry, at, whole) else { return };
        let next = f.walk.end.as_ref().ok().map(|&e| at + e);
        out.push(f);
        match next {
            Some(n) if data.get(n..).is_some_and(pickle_header) => at = n,
            _ => return,
        }
    }
}

/// A protocol 0/1 stream starts with a `GLOBAL` (`c<module>\n<name>\n`) or a `MARK`
/// followed by an opcode that builds a container or imports.
fn protocol0_start(data: &[u8]) -> bool {
    let name = |s: &[u8]| {
        !s.is_empty() && s.len() <= MAX_NAME && s.iter().all(|&b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.')
    };
    match data {
        [b'c', rest @ ..] => {
            let mut lines = rest.splitn(3, |&b| b == b'\n');
            matches!((lines.next(), lines.next(), lines.next()), (Some(m), Some(n), Some(_)) if name(m) && name(n))
        }
        [b'(', b'd' | b'l' | b'c' | b'i' | b'(' | b'S' | b'V', ..] => true,
        _ => false,
    }
}

/// Where the pickled object array of a `.npy` file starts, when its dtype is `|O`.
fn npy_objects(data: &[u8]) -> Option<usize> {
    let major = *data.get(6)?;
    let (len, start) = match major {
        1 => (u16::from_le_bytes([*data.get(8)?, *data.get(9)?]) as usize, 10usize),
        2 | 3 => (u32::from_le_bytes(data.get(8..12)?.try_into().ok()?) as usize, 12),
        _ => return None,
    };
    let header = data.get(start..start.checked_add(len)?)?;
    let header = std::str::from_utf8(header).ok()?;
    let objects = header.contains("'descr': '|O'") || header.contains("\"descr\": \"|O\"");
    objects.then_some(start + len)
}

/// A protocol 2–5 header.
fn pickle_header(data: &[u8]) -> bool {
    matches!(data, [0x80, 2..=5, ..])
}

/// Up to `limit` bytes of a deflated body, and whether the read ended without an error.
fn inflate(body: &[u8], limit: u64) -> (Vec<u8>, bool) {
    let mut v = Vec::new();
    let ok = flate2::read::DeflateDecoder::new(body).take(limit).read_to_end(&mut v).is_ok();
    (v, ok)
}

/// The `.pkl` entries (and entries starting with a pickle header) of a zip, read from its
/// local headers in the bytes kept; stops at the first entry whose sizes are not in its
/// header (a data descriptor) or that runs past the kept bytes.
fn zip_entries(data: &[u8], out: &mut Vec<Found>) {
    let mut at = 0usize;
    for _ in 0..MAX_ENTRIES {
        let Some(h) = data.get(at..at + 30) else { return };
        if h[..4] != [b'P', b'K', 3, 4] {
            return;
        }
        let le16 = |i: usize| u16::from_le_bytes([h[i], h[i + 1]]) as usize;
        let le32 = |i: usize| u32::from_le_bytes([h[i], h[i + 1], h[i + 2], h[i + 3]]) as usize;
        let (flags, method, csize, usize_) = (le16(6), le16(8), le32(18), le32(22));
        let (nlen, xlen) = (le16(26), le16(28));
        let Some(name) = data.get(at + 30..at + 30 + nlen) else { return };
        let name = String::from_utf8_lossy(name).into_owned();
        let body_at = at + 30 + nlen + xlen;
        if flags & 0x8 != 0 {
            return;
        }
        let avail = data.len().saturating_sub(body_at).min(csize);
        let body = data.get(body_at..body_at + avail).unwrap_or_default();
        let complete = avail == csize;
        let by_name = name.ends_with(".pkl");
        // A deflated entry is inflated whole only when it is named or starts like a pickle
        // (two bytes tell): a `.jar` or checkpoint holds hundreds of entries that are not.
        let content: Option<Cow<'_, [u8]>> = match method {
            0 => Some(Cow::Borrowed(body)),
            8 if by_name || pickle_header(&inflate(body, 2).0) => {
                let (v, ok) = inflate(body, MAX_ENTRY);
                (ok || !complete).then_some(Cow::Owned(v))
            }
            _ => None,
        };
        if let Some(c) = content {
            if (by_name || pickle_header(&c)) && !c.is_empty() {
                let entry_whole = complete && (method != 0 || c.len() == usize_);
                streams(&c, &name, entry_whole, out);
            }
        }
        if !complete {
            return;
        }
        at = body_at + csize;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Every stream below was produced by CPython's `pickle.dumps` (where it can write that
    // form) or written opcode by opcode, and checked with `pickletools.dis` (which rejects a
    // stream that does not end in STOP with one value on the stack).

    /// `pickle.dumps(collections.OrderedDict(a=1), protocol=2)`.
    const ORDERED_DICT_P2: &[u8] = b"\x80\x02ccollections\x0aOrderedDict\x0aq\x00)Rq\x01X\x01\x00\x00\x00aq\x02K\x01s.";
    /// What `torch.save` writes as `data.pkl` for `OrderedDict(weight=<tensor>)` (protocol 4:
    /// FRAME, names memoised, STACK_GLOBAL of `torch._utils._rebuild_tensor_v2` and
    /// `torch.FloatStorage`, the storage as a persistent id, BINGET of `OrderedDict`).
    const TORCH_TENSOR_P4: &[u8] = b"\x80\x04\x95\x9a\x00\x00\x00\x00\x00\x00\x00\x8c\x0bcollections\x94\x8c\x0bOrderedDict\x94\x93\x94)R\x94\x8c\x06weight\x94\x8c\x0ctorch._utils\x94\x8c\x12_rebuild_tensor_v2\x94\x93\x94((\x8c\x07storage\x94\x8c\x05torch\x94\x8c\x0cFloatStorage\x94\x93\x94\x8c\x010\x94\x8c\x03cpu\x94K\x04t\x94QK\x00K\x04\x85\x94K\x01\x85\x94\x89h\x02)R\x94t\x94R\x94s.";
    /// The shape of `pickle.dumps(numpy.zeros(2), protocol=2)`: `_reconstruct`, `dtype`, BUILD.
    const NUMPY_P2: &[u8] = b"\x80\x02cnumpy.core.multiarray\x0a_reconstruct\x0aq\x00cnumpy\x0andarray\x0aq\x01K\x00\x85q\x02C\x01bq\x03\x87q\x04Rq\x05(K\x01K\x02\x85q\x06cnumpy\x0adtype\x0aq\x07X\x02\x00\x00\x00f8q\x08\x89\x88\x87q\x09Rq\x0ab\x89C\x10\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00q\x0btq\x0cb.";
    /// Protocol 0: `os.system('id')` through GLOBAL + REDUCE.
    const OS_SYSTEM_P0: &[u8] = b"cos\x0asystem\x0a(S'id'\x0atR.";
    /// Protocol 1 INST: `subprocess.Popen(['sh'])`, called by the opcode itself.
    const POPEN_INST_P1: &[u8] = b"(]S'sh'\x0aaisubprocess\x0aPopen\x0a.";
    /// Protocol 1 OBJ: the callable is the GLOBAL just after the mark.
    const POSIX_OBJ_P1: &[u8] = b"(cposix\x0asystem\x0aS'id'\x0ao.";
    /// `pickle.dumps` (protocol 2) of an object whose `__reduce__` returns `(exec, ("print",))`:
    /// protocol 2 spells the module `__builtin__`.
    const EXEC_P2: &[u8] = b"\x80\x02c__builtin__\x0aexec\x0aq\x00X\x05\x00\x00\x00printq\x01\x85q\x02Rq\x03.";
    /// Protocol 4: a harmless `builtins.len()` first, then STACK_GLOBAL of `builtins.eval` whose
    /// module string comes back from the memo (BINGET): the name is never written out whole.
    const EVAL_STACK_GLOBAL_P4: &[u8] =
        b"\x80\x04\x8c\x08builtins\x94\x8c\x03len\x94\x93\x94)R\x940h\x00\x8c\x04eval\x93\x8c\x031+1\x85R.";
    /// `pickle.dumps` (protocol 5) of a `__reduce__` returning `(runpy._run_code, ("x", {}))`.
    const RUNPY_P5: &[u8] = b"\x80\x05\x95!\x00\x00\x00\x00\x00\x00\x00\x8c\x05runpy\x94\x8c\x09_run_code\x94\x93\x94\x8c\x01x\x94}\x94\x86\x94R\x94.";

    fn targets(w: &Walk) -> Vec<(String, bool, Danger)> {
        w.imports.iter().map(|i| (i.target.clone(), i.called, i.danger)).collect()
    }

    #[test]
    fn walks_benign_model_pickles_to_stop_with_nothing_dangerous() {
        let cases: [(&str, &[u8]); 3] = [
            ("an OrderedDict (protocol 2)", ORDERED_DICT_P2),
            ("a torch tensor's data.pkl (protocol 4, STACK_GLOBAL, memo, persistent id)", TORCH_TENSOR_P4),
            ("a numpy array (protocol 2, _reconstruct, BUILD)", NUMPY_P2),
        ];
        for (case, data) in cases {
            let w = walk(data);
            assert_eq!(w.end, Ok(data.len()), "{case}: walks to STOP");
            assert!(!w.imports.is_empty(), "{case}: imports its reconstructors");
            assert!(w.imports.iter().all(|i| i.danger == Danger::None), "{case}: {:?}", targets(&w));
        }
    }

    #[test]
    fn reports_what_each_protocol_family_would_call() {
        let cases: [(&str, &[u8], &str, Danger); 6] = [
            ("protocol 0 GLOBAL + REDUCE", OS_SYSTEM_P0, "os.system", Danger::Runs),
            ("protocol 1 INST", POPEN_INST_P1, "subprocess.Popen", Danger::Runs),
            ("protocol 1 OBJ", POSIX_OBJ_P1, "posix.system", Danger::Runs),
            ("protocol 2 GLOBAL of __builtin__", EXEC_P2, "__builtin__.exec", Danger::Runs),
            ("protocol 4 STACK_GLOBAL through the memo", EVAL_STACK_GLOBAL_P4, "builtins.eval", Danger::Runs),
            ("protocol 5 STACK_GLOBAL", RUNPY_P5, "runpy._run_code", Danger::Runs),
        ];
        for (case, data, target, danger) in cases {
            let w = walk(data);
            assert_eq!(w.end, Ok(data.len()), "{case}: walks to STOP");
            let hit = w.imports.iter().find(|i| i.target == target);
            let hit = hit.unwrap_or_else(|| panic!("{case}: {target} not in {:?}", targets(&w)));
            assert!(hit.called, "{case}: {target} is called");
            assert_eq!(hit.danger, danger, "{case}");
        }
    }

    #[test]
    fn classifies_callables_by_what_they_do() {
        let cases = [
            ("os.system", "os", "system", Danger::Runs),
            ("nt.system", "nt", "system", Danger::Runs),
            ("subprocess.check_output", "subprocess", "check_output", Danger::Runs),
            ("builtins.exec", "builtins", "exec", Danger::Runs),
            ("builtins.__import__", "builtins", "__import__", Danger::Runs),
            ("socket.create_connection", "socket", "create_connection", Danger::Runs),
            ("webbrowser.open", "webbrowser", "open", Danger::Runs),
            ("ctypes.CDLL", "ctypes", "CDLL", Danger::Runs),
            ("pip.main installs a package", "pip", "main", Danger::Runs),
            ("urllib.request.urlopen", "urllib.request", "urlopen", Danger::Runs),
            ("builtins.getattr reaches any attribute", "builtins", "getattr", Danger::Indirect),
            ("operator.methodcaller", "operator", "methodcaller", Danger::Indirect),
            ("shutil.rmtree", "shutil", "rmtree", Danger::Indirect),
            ("a class of another library", "sklearn.linear_model._base", "LinearRegression", Danger::Unknown),
            ("collections.OrderedDict", "collections", "OrderedDict", Danger::None),
            ("builtins.set", "builtins", "set", Danger::None),
            ("_codecs.encode (protocol 2 bytes)", "_codecs", "encode", Danger::None),
            ("copy_reg._reconstructor", "copy_reg", "_reconstructor", Danger::None),
            ("numpy.core.multiarray._reconstruct", "numpy.core.multiarray", "_reconstruct", Danger::None),
            ("numpy._core.multiarray.scalar", "numpy._core.multiarray", "scalar", Danger::None),
            ("torch._utils._rebuild_tensor_v2", "torch._utils", "_rebuild_tensor_v2", Danger::None),
            ("torch.HalfStorage", "torch", "HalfStorage", Danger::None),
            ("a numpy function that is not a reconstructor", "numpy", "load", Danger::Unknown),
        ];
        for (case, module, name, want) in cases {
            assert_eq!(classify(module, name), want, "{case}");
        }
    }

    #[test]
    fn broken_and_cut_streams_are_told_apart_and_never_panic() {
        // nullifAI's shape: the payload's REDUCE, then a string whose length runs past the end.
        let mut broken = EXEC_P2[..EXEC_P2.len() - 1].to_vec();
        broken.extend_from_slice(b"X\xff\xff\xff\x7fjunk");
        let whole = find(&broken, true, false);
        assert_eq!(whole.len(), 1, "one stream");
        assert!(whole[0].malformed().is_some(), "a whole member that breaks is malformed");
        assert!(
            whole[0].walk.imports.iter().any(|i| i.target == "__builtin__.exec" && i.called),
            "payload before the break is still reported"
        );
        let head = find(&broken, false, false);
        assert!(head[0].malformed().is_none(), "only the head was kept: cut, not broken");

        let cases: [(&str, &[u8]); 6] = [
            ("unknown opcode", b"\x80\x02\xff."),
            ("underflow", b"\x80\x02R."),
            ("memo slot never written", b"\x80\x02h\x07."),
            ("protocol 9", b"\x80\x09N."),
            ("no STOP", b"\x80\x02N"),
            ("huge 8-byte length", b"\x80\x04\x8d\xff\xff\xff\xff\xff\xff\xff\xff"),
        ];
        for (case, data) in cases {
            let w = walk(data);
            assert!(w.end.is_err(), "{case}: {:?}", w.end);
        }
    }

    #[test]
    fn finds_streams_by_their_bytes_not_their_names() {
        let torch_zip = {
            let mut buf = std::io::Cursor::new(Vec::new());
            let mut z = zip::ZipWriter::new(&mut buf);
            let stored = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
            z.start_file("archive/data.pkl", stored).unwrap();
            std::io::Write::write_all(&mut z, EXEC_P2).unwrap();
            z.start_file("archive/version", stored).unwrap();
            std::io::Write::write_all(&mut z, b"3\n").unwrap();
            z.finish().unwrap();
            buf.into_inner()
        };
        let deflated_zip = {
            let mut buf = std::io::Cursor::new(Vec::new());
            let mut z = zip::ZipWriter::new(&mut buf);
            let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
            z.start_file("model/data.pkl", opts).unwrap();
            std::io::Write::write_all(&mut z, OS_SYSTEM_P0).unwrap();
            z.finish().unwrap();
            buf.into_inner()
        };
        let header_only_zip = {
            let mut buf = std::io::Cursor::new(Vec::new());
            let mut z = zip::ZipWriter::new(&mut buf);
            let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
            z.start_file("META-INF/MANIFEST.MF", opts).unwrap();
            std::io::Write::write_all(&mut z, &b"Manifest-Version: 1.0\n".repeat(200)).unwrap();
            z.start_file("model/weights", opts).unwrap();
            std::io::Write::write_all(&mut z, EXEC_P2).unwrap();
            z.finish().unwrap();
            buf.into_inner()
        };
        let npy = {
            let header = b"{'descr': '|O', 'fortran_order': False, 'shape': (1,), }          \n";
            let mut v = b"\x93NUMPY\x01\x00".to_vec();
            v.extend_from_slice(&(header.len() as u16).to_le_bytes());
            v.extend_from_slice(header);
            v.extend_from_slice(EVAL_STACK_GLOBAL_P4);
            v
        };
        let mut legacy_torch = ORDERED_DICT_P2.to_vec();
        legacy_torch.extend_from_slice(EXEC_P2);
        let cases: [(&str, &[u8], bool, Option<&str>); 9] = [
            ("a bare protocol-2 stream", EXEC_P2, false, Some("__builtin__.exec")),
            ("a protocol-0 stream (text)", OS_SYSTEM_P0, false, Some("os.system")),
            ("a torch zip (stored data.pkl)", &torch_zip, false, Some("__builtin__.exec")),
            ("a deflated data.pkl in a zip", &deflated_zip, false, Some("os.system")),
            (
                "a deflated entry found by its header, after one that is not a pickle",
                &header_only_zip,
                false,
                Some("__builtin__.exec"),
            ),
            ("a zip the walker opens itself", &torch_zip, true, None),
            ("a .npy object array", &npy, false, Some("builtins.eval")),
            ("legacy torch.save: streams back to back", &legacy_torch, false, Some("__builtin__.exec")),
            ("Python source starting with 'class'", b"class A:\n    pass\n", false, None),
        ];
        for (case, data, archive_named, want) in cases {
            let found = find(data, true, archive_named);
            let got = found
                .iter()
                .flat_map(|f| &f.walk.imports)
                .find(|i| i.danger == Danger::Runs)
                .map(|i| i.target.as_str());
            assert_eq!(got, want, "{case}: {found:?}");
        }
        let text: [(&str, &[u8]); 3] = [
            ("a comment", b"# (c) 2024\nimport os\n"),
            ("a parenthesised tuple", b"(1, 2)\n"),
            ("a word starting with c", b"copyright\nnotice\nfollows\n"),
        ];
        for (case, data) in text {
            assert!(find(data, true, false).is_empty(), "{case}");
        }
    }
}
