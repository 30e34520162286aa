//! The per-artifact engine: receives members from the archive walker, classifies
//! them, runs the one-pass literal prefilter (which also records where the literals of the
//! detectors that ask for it occur: [`LiteralPlaces`]) and dispatches text members to the
//! detectors whose [`Interest`] they meet; then runs package-level checks.
//!
//! Owns: the prefilter (built once per [`super::Scanner`]), member bookkeeping
//! (roles, sizes, core metadata), native-binary-in-sdist and filename/metadata checks,
//! and the scan's time limit between the detectors on one member ([`Deadline`]).
//! Must not: read files or archives itself (the walker does), group findings
//! (see `findings`), or know about threads: it offers text members through the
//! [`Offload`] hook that `parallel` implements (`parallel` uses the engine, never
//! the reverse), and reaches no detector helper (per-member caches live on
//! [`TextFile`]).

use super::anomaly;
use super::archive::{Member, Visitor};
use super::carrier::{self, Carried};
use super::detector::{Detector, DetectorMeta, Hit, Hits, Interest, LiteralPlaces, Package, TextFile};
use super::reach::{self, Reached};
use super::roles;
use super::{archive, pickle};
use crate::model::{normalize_project_name, parse_dist_filename, ArtifactKind, Evidence, FileRole, Severity};
use aho_corasick::MatchKind;
use std::borrow::Cow;

/// The union of every detector's literals, searched once per text member; decides from
/// each detector's [`Interest`] which detectors see the member.
pub(crate) struct Prefilter {
    dfa: Option<LiteralDfa>,
    /// [`Interest::AllText`] detectors: they see every text member.
    always: Vec<usize>,
    /// How many detectors can be selected at all (all but [`Interest::PackageOnly`]): the
    /// search stops once that many are and no literal list is still recorded.
    wanted: usize,
    /// The literal lists whose places are recorded ([`Detector::literal_places`]), one each.
    lists: Vec<&'static [&'static str]>,
}

impl Prefilter {
    pub(crate) fn new(detectors: &[Box<dyn Detector>]) -> Self {
        let mut patterns: Vec<&'static str> = Vec::new();
        let mut owners: Vec<Vec<usize>> = Vec::new();
        let mut always = Vec::new();
        let mut text_detectors = Vec::new();
        let mut lists: Vec<&'static [&'static str]> = Vec::new();
        for (i, d) in detectors.iter().enumerate() {
            let lits = match d.interest() {
                Interest::PackageOnly => continue,
                Interest::AllText => &[][..],
                Interest::Literals(lits) => lits,
            };
            text_detectors.push(i);
            if lits.iter().all(|l| l.is_empty()) {
                always.push(i); // no usable literal: never silently blind (see `Interest`)
                continue;
            }
            if d.literal_places() && !lists.contains(&lits) {
                lists.push(lits);
            }
            for lit in lits.iter().filter(|l| !l.is_empty()) {
                match patterns.iter().position(|p| p == lit) {
                    Some(p) => owners[p].push(i),
                    None => {
                        patterns.push(lit);
                        owners.push(vec![i]);
                    }
                }
            }
        }
        // Literals are static strings chosen by detectors; a build failure is a programming error
        // that would otherwise disable them silently, so fall back to running them on everything.
        // Per pattern: the recorded lists holding it.
        let in_lists: Vec<Vec<usize>> =
            patterns.iter().map(|p| (0..lists.len()).filter(|&k| lists[k].contains(p)).collect()).collect();
        let dfa = match patterns.is_empty() {
            true => None,
            false => LiteralDfa::new(&patterns, &owners, &in_lists),
        };
        if dfa.is_none() && !patterns.is_empty() {
            always = text_detectors.clone();
            lists.clear(); // nothing records: `TextFile::literal_lines` searches itself
        }
        Prefilter { dfa, always, wanted: text_detectors.len(), lists }
    }

    /// Empty places for one member at a time, one list per recorded literal list.
    pub(crate) fn places(&self) -> LiteralPlaces {
        LiteralPlaces {
            lists: self.lists.clone(),
            starts: vec![Vec::new(); self.lists.len()],
            over: vec![false; self.lists.len()],
        }
    }

    /// Marks in `selected` (one flag per detector) the detectors worth running on `text` (the
    /// [`Interest::AllText`] ones and those with a literal occurring in `text`), and records in
    /// `places` (made by [`Prefilter::places`]) where each recorded list's literals occur. The
    /// search stops once every selectable detector is selected and every recorded list is over
    /// its cap ([`super::detector::MAX_PLACES`]); while one is under it, it goes on to the end.
    pub(crate) fn select_places(&self, text: &str, selected: &mut [bool], places: &mut LiteralPlaces) -> usize {
        places.clear();
        selected.fill(false);
        let mut count = 0;
        for &i in &self.always {
            selected[i] = true;
            count += 1;
        }
        let Some(dfa) = &self.dfa else { return count };
        let wanted = self.wanted;
        let mut open = places.lists.len();
        if count == wanted && open == 0 {
            return count;
        }
        dfa.scan(text.as_bytes(), |m, end| {
            for &i in &dfa.owners[m] {
                count += usize::from(!selected[i]);
                selected[i] = true;
            }
            for &(slot, len) in &dfa.lists[m] {
                open -= usize::from(places.record(slot as usize, end - len as usize));
            }
            count == wanted && open == 0
        });
        count
    }

    /// Marks in `selected` (one flag per detector) the detectors worth running on `text`:
    /// the [`Interest::AllText`] ones and those with a literal occurring in `text`
    /// ([`Prefilter::select_places`] with places of its own).
    #[cfg(test)]
    pub(crate) fn select(&self, text: &str, selected: &mut [bool]) -> usize {
        self.select_places(text, selected, &mut self.places())
    }

    /// The number of streams the literal search steps together and the shortest text it
    /// splits (shorter texts are one stream), for tests that place literals across streams.
    #[cfg(test)]
    pub(crate) fn streams(&self) -> Option<(usize, usize)> {
        let dfa = self.dfa.as_ref()?;
        Some((LiteralDfa::STREAMS, LiteralDfa::STREAMS * (dfa.overlap + 256)))
    }
}

/// Every literal in one flat DFA: Aho-Corasick's DFA with standard (overlapping) semantics,
/// so the state reached after each byte knows every literal that ends at that byte, re-laid
/// as one table of premultiplied `u32` state ids over byte classes with the match states
/// numbered last (one comparison tells a match). The text is cut into four streams stepped
/// together, so four independent chains of table loads overlap in the CPU.
///
/// Measured on 11 MB of Python (the `.py` files of five corpus wheels): 244 M instructions and
/// ≈ 22 ms for the `aho-corasick` DFA search it replaces (leftmost-longest, resumed after each
/// match), 138 M and ≈ 18 ms for this table with one stream, ≈ 11–15 ms with four.
///
/// Why a literal is never missed: a DFA started at byte `p` sees every occurrence that starts at
/// or after `p` and ends before its stream ends. Stream `k` covers bytes `k·q − (longest − 1)`
/// (0 for the first) up to `(k + 1)·q` (the text's end for the last); an occurrence whose last
/// byte lies in `[k·q, (k + 1)·q)` is at most `longest` bytes long, so it starts inside stream
/// `k`. Tested against the definition (a detector is selected iff one of its literals is a
/// substring) with literals placed across every stream boundary.
struct LiteralDfa {
    /// Byte → its class (bytes no state tells apart share one).
    classes: [u8; 256],
    /// `trans[state + class]` is the next state; states are premultiplied by `stride`.
    trans: Vec<u32>,
    stride: u32,
    /// States at or past this one are match states.
    match_base: u32,
    /// Match state (`(state − match_base) / stride`) → the detectors owning a literal that ends there.
    owners: Vec<Vec<usize>>,
    /// Match state → the recorded lists ([`Prefilter::places`]) holding a literal that ends
    /// there, each with the length of its longest such literal (where the occurrence starts).
    lists: Vec<Vec<(u32, u32)>>,
    /// Bytes the streams overlap by: the longest literal's length minus one.
    overlap: usize,
}

impl LiteralDfa {
    /// Streams stepped together.
    const STREAMS: usize = 4;

    fn new(patterns: &[&str], owners: &[Vec<usize>], in_lists: &[Vec<usize>]) -> Option<LiteralDfa> {
        use aho_corasick::automaton::{Automaton, StateID};
        use aho_corasick::Anchored;
        let dfa = aho_corasick::dfa::Builder::new().match_kind(MatchKind::Standard).build(patterns).ok()?;
        let start = dfa.start_state(Anchored::No).ok()?;
        if dfa.is_match(start) {
            return None; // only an empty literal matches at the start; they are filtered out
        }
        // Every state reachable from the unanchored start, breadth first (the start is 0).
        let mut index: std::collections::HashMap<StateID, usize> = std::collections::HashMap::from([(start, 0)]);
        let mut order = vec![start];
        let mut rows: Vec<[usize; 256]> = Vec::new();
        while let Some(&sid) = order.get(rows.len()) {
            let mut row = [0usize; 256];
            for (b, next) in row.iter_mut().enumerate() {
                let n = dfa.next_state(Anchored::No, sid, b as u8);
                let len = order.len();
                *next = *index.entry(n).or_insert_with(|| {
                    order.push(n);
                    len
                });
            }
            rows.push(row);
        }
        // Byte classes: bytes whose columns are equal.
        let mut classes = [0u8; 256];
        let mut reps: Vec<usize> = Vec::new();
        let mut by_column: std::collections::HashMap<Vec<usize>, u8> = std::collections::HashMap::new();
        for b in 0..256 {
            let column: Vec<usize> = rows.iter().map(|r| r[b]).collect();
            let next = u8::try_from(reps.len()).ok();
            classes[b] = match by_column.get(&column) {
                Some(&c) => c,
                None => {
                    let c = next?;
                    by_column.insert(column, c);
                    reps.push(b);
                    c
                }
            };
        }
        let stride = reps.len();
        // Renumber: non-match states first (the start stays 0), then match states.
        let (plain, matching): (Vec<usize>, Vec<usize>) = (0..order.len()).partition(|&s| !dfa.is_match(order[s]));
        let mut new_id = vec![0u32; order.len()];
        for (k, &s) in plain.iter().chain(&matching).enumerate() {
            new_id[s] = u32::try_from(k * stride).ok()?;
        }
        let mut trans = vec![0u32; order.len() * stride];
        for (s, row) in rows.iter().enumerate() {
            let base = new_id[s] as usize;
            for (c, &b) in reps.iter().enumerate() {
                trans[base + c] = new_id[row[b]];
            }
        }
        let owners = matching
            .iter()
            .map(|&s| {
                let sid = order[s];
                let mut o: Vec<usize> = (0..dfa.match_len(sid))
                    .flat_map(|j| owners[dfa.match_pattern(sid, j).as_usize()].iter().copied())
                    .collect();
                o.sort_unstable();
                o.dedup();
                o
            })
            .collect();
        let lists = matching
            .iter()
            .map(|&s| {
                let sid = order[s];
                let mut l: Vec<(u32, u32)> = Vec::new();
                for j in 0..dfa.match_len(sid) {
                    let p = dfa.match_pattern(sid, j).as_usize();
                    let len = u32::try_from(patterns[p].len()).unwrap_or(u32::MAX);
                    for &k in &in_lists[p] {
                        let k = u32::try_from(k).unwrap_or(u32::MAX);
                        match l.iter_mut().find(|(slot, _)| *slot == k) {
                            Some(e) => e.1 = e.1.max(len),
                            None => l.push((k, len)),
                        }
                    }
                }
                l
            })
            .collect();
        let overlap = patterns.iter().map(|p| p.len()).max().unwrap_or(1).saturating_sub(1);
        Some(LiteralDfa {
            classes,
            trans,
            stride: u32::try_from(stride).ok()?,
            match_base: u32::try_from(plain.len() * stride).ok()?,
            owners,
            lists,
            overlap,
        })
    }

    /// Calls `hit` with the match index (into `owners` and `lists`) of every literal
    /// occurrence's end state and the offset just past that occurrence (an occurrence may be
    /// reported twice where streams overlap); stops as soon as `hit` returns true.
    fn scan(&self, t: &[u8], mut hit: impl FnMut(usize, usize) -> bool) {
        /// Out of the loop: what `hit` keeps (the places, the counts) would otherwise take
        /// registers the four streams step with.
        #[inline(never)]
        #[cold]
        fn call(hit: &mut impl FnMut(usize, usize) -> bool, m: usize, end: usize) -> bool {
            hit(m, end)
        }
        let base = self.match_base;
        let step = |s: u32, b: u8| self.trans[(s + u32::from(self.classes[usize::from(b)])) as usize];
        let mut report = |s: u32, end: usize| call(&mut hit, ((s - base) / self.stride) as usize, end);
        let n = t.len();
        let streams = Self::STREAMS;
        if n < streams * (self.overlap + 256) {
            // Too short to split (keep in step with `Prefilter::streams`).
            let mut s = 0;
            let mut bytes = t.iter();
            // The offset comes from what is left to step (no counter in the loop).
            while let Some(&b) = bytes.next() {
                s = step(s, b);
                if s >= base && report(s, n - bytes.len()) {
                    return;
                }
            }
            return;
        }
        let q = n / streams;
        let starts = [0, q - self.overlap, 2 * q - self.overlap, 3 * q - self.overlap];
        let ends = [q, 2 * q, 3 * q, n];
        // All four streams step their first `q` bytes together (the first stream is exactly `q` long).
        let mut lanes =
            t[starts[0]..][..q].iter().zip(&t[starts[1]..][..q]).zip(&t[starts[2]..][..q]).zip(&t[starts[3]..][..q]);
        let mut s = [0u32; 4];
        while let Some((((&a, &b), &c), &d)) = lanes.next() {
            s = [step(s[0], a), step(s[1], b), step(s[2], c), step(s[3], d)];
            if s.iter().any(|&x| x >= base) {
                let stepped = q - lanes.len();
                for (k, &x) in s.iter().enumerate() {
                    if x >= base && report(x, starts[k] + stepped) {
                        return;
                    }
                }
            }
        }
        for k in 1..streams {
            let mut x = s[k];
            let mut bytes = t[starts[k] + q..ends[k]].iter();
            while let Some(&b) = bytes.next() {
                x = step(x, b);
                if x >= base && report(x, ends[k] - bytes.len()) {
                    return;
                }
            }
        }
    }
}

/// Hands one text member (index, path, role, bytes, truncated) to another thread;
/// false when the caller must scan it itself. The engine calls it and never knows who
/// implements it (`parallel` does), so the dependency runs one way: `parallel` → `engine`.
pub(crate) type Offload<'a> = dyn Fn(u64, &str, FileRole, &[u8], bool) -> bool + 'a;

/// Counters the engine keeps while walking.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Counts {
    pub text_members: u64,
    pub binary_members: u64,
    pub truncated_members: u64,
}

impl Counts {
    pub(crate) fn add(&mut self, other: Counts) {
        self.text_members += other.text_members;
        self.binary_members += other.binary_members;
        self.truncated_members += other.truncated_members;
    }
}

/// A hit tagged with the index of the member (or walk position) it came from, so hits
/// gathered on several threads merge back into the order a single thread would give.
pub(crate) type Tagged = (u64, &'static DetectorMeta, Hit);

/// When a scan must stop: `max_scan_seconds` after it started. The walk checks its own clock
/// between members; this one is checked between detectors on one member, so a slow member
/// (a hostile text, a starved machine) costs at most one detector's run past the limit, not
/// every selected detector's. The first check that finds the time up cuts that member short
/// and says so (an `anomaly.limit-exceeded` finding naming the key), and the scan's report is
/// marked as timed out: a scan that did not run every detector on every byte is incomplete.
/// Shared by the threads of one scan.
pub(crate) struct Deadline {
    at: Option<std::time::Instant>,
    limit_secs: u64,
    passed: std::sync::atomic::AtomicBool,
}

impl Deadline {
    pub(crate) fn new(started: std::time::Instant, limit_secs: u64) -> Self {
        let at = started.checked_add(std::time::Duration::from_secs(limit_secs));
        Deadline { at, limit_secs, passed: std::sync::atomic::AtomicBool::new(false) }
    }

    /// Whether a check found the time up (some member was cut short).
    pub(crate) fn passed(&self) -> bool {
        self.passed.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// True when the time is up; the first caller to find it so gets `Some(first)` = true.
    fn check(&self) -> Option<bool> {
        if self.passed() {
            return Some(false);
        }
        let up = self.at.is_some_and(|at| std::time::Instant::now() >= at);
        up.then(|| !self.passed.swap(true, std::sync::atomic::Ordering::Relaxed))
    }
}

/// Decodes one member and runs the prefilter and the selected detectors over it.
/// One per thread (it owns the scratch flags).
pub(crate) struct TextScan<'s> {
    detectors: &'s [Box<dyn Detector>],
    prefilter: &'s Prefilter,
    deadline: &'s Deadline,
    selected: Vec<bool>,
    /// Where the recorded literal lists occur in the member being scanned.
    places: LiteralPlaces,
}

impl<'s> TextScan<'s> {
    pub(crate) fn new(detectors: &'s [Box<dyn Detector>], prefilter: &'s Prefilter, deadline: &'s Deadline) -> Self {
        let places = prefilter.places();
        TextScan { detectors, prefilter, deadline, selected: vec![false; detectors.len()], places }
    }

    /// Runs the selected detectors over `file`, in order, until the deadline passes; a member cut
    /// short by it is reported once per scan (the first one found), at that member.
    fn run_selected(&self, file: &TextFile<'_>, hits: &mut Hits) {
        for (d, _) in self.detectors.iter().zip(&self.selected).filter(|(_, s)| **s) {
            if let Some(first) = self.deadline.check() {
                if first {
                    let secs = self.deadline.limit_secs;
                    let what = format!(
                        "after {secs} s of scanning (max_scan_seconds), the detectors still to run on this member \
                         and the members after it were not run"
                    );
                    hits.push(
                        &anomaly::LIMIT,
                        Hit { severity: None, evidence: member_evidence(file.path, what, file.role) },
                    );
                }
                return;
            }
            d.scan_text(file, hits);
        }
    }

    /// Decode `data` (counting it as text or binary) and scan it; returns the text when it is text.
    pub(crate) fn member<'d>(
        &mut self,
        path: &str,
        role: FileRole,
        data: &'d [u8],
        truncated: bool,
        hits: &mut Hits,
        counts: &mut Counts,
    ) -> Option<Cow<'d, str>> {
        let text = if role == FileRole::Binary { None } else { roles::decode_text(data, truncated) };
        let Some(text) = text else {
            counts.binary_members += 1;
            return None;
        };
        counts.text_members += 1;
        self.scan_text(path, role, &text, hits);
        Some(text)
    }

    fn scan_text(&mut self, path: &str, role: FileRole, text: &str, hits: &mut Hits) {
        if self.prefilter.select_places(text, &mut self.selected, &mut self.places) == 0 {
            return;
        }
        let is_python = roles::is_python(path) || role == FileRole::InstallTime && path.ends_with(".pth");
        // One `TextFile` per member: what it computes lazily (lexing, shared regex
        // searches) is done at most once for all the selected detectors.
        let file = TextFile::new(path, role, is_python, text).with_places(&self.places);
        let first = hits.len();
        self.run_selected(&file, hits);
        if role == FileRole::Runtime && roles::is_imported_module(path) {
            mark_import_time(&file, &mut hits.hits[first..]);
        }
        if is_python {
            weigh_documentation(&file, &mut hits.hits[first..]);
        }
    }
}

impl TextScan<'_> {
    /// A member install-time code runs ([`reach`]), judged as install-time code: the detectors
    /// its literals select see it with [`FileRole::InstallTime`] and as Python when the
    /// interpreter runs it (`python`), whatever its name. Only the hits where `runs` says the
    /// code runs at install time are kept (its judgement of the rest stays the first walk's).
    pub(crate) fn reached(&mut self, path: &str, python: bool, text: &str, runs: &Runs, hits: &mut Hits) {
        if self.prefilter.select_places(text, &mut self.selected, &mut self.places) == 0 {
            return;
        }
        let file = TextFile::new(path, FileRole::InstallTime, python, text).with_places(&self.places);
        let first = hits.len();
        self.run_selected(&file, hits);
        if python {
            weigh_documentation(&file, &mut hits.hits[first..]);
        }
        if !matches!(runs, Runs::All) {
            let mut kept = hits.hits.split_off(first);
            kept.retain(|(_, h)| {
                let ev = &h.evidence;
                ev.path != path || ev.line.is_none_or(|l| runs.at(file.source(), l, ev.column))
            });
            hits.hits.extend(kept);
        }
    }
}

/// Which code of a member install-time code runs does run at install time.
pub(crate) enum Runs {
    /// All of it (a shell script, a module whose names are looked up dynamically …).
    All,
    /// What runs when the module is imported or executed (a package's `__init__.py`: its
    /// functions run only when called, and the package's code is judged on import already).
    TopLevel,
    /// What [`reach::live`] says runs.
    Live(reach::Live),
}

impl Runs {
    /// Whether the code at 1-based `line`/`column` of `src` runs at install time.
    fn at(&self, src: &super::source::Source<'_>, line: u32, column: Option<u32>) -> bool {
        match self {
            Runs::All => true,
            Runs::TopLevel => src.runs_on_import(line, column),
            Runs::Live(live) => src.offset_of(line, column).is_none_or(|o| live.runs_at(o)),
        }
    }
}

/// The second walk over an artifact whose install-time code runs other members of the tree
/// ([`reach`]): only those members are held (every other member is streamed as if binary), and
/// when the walk ends each is judged as install-time code where its code runs at install time
/// ([`reach::live`]: whether a function runs depends on the words of the other members too), its
/// hits tagged with their first walk's member index.
pub(crate) struct Revisit<'s> {
    text: TextScan<'s>,
    /// (what reached it, member index, positions of its first-walk hits: those in code that does
    /// not run at install time stay, decided when it is judged).
    targets: Vec<(Reached, u64, Vec<Position>)>,
    /// Which targets were read (a member named twice in a tar is read the first time).
    seen: Vec<bool>,
    /// The text of each target read, held until the walk ends (at most [`MAX_HELD_BYTES`]).
    held: Vec<Option<String>>,
    held_bytes: usize,
    /// What the install-time members that run the targets can call ([`reach::Outside`]).
    outside: reach::Outside,
    hits: Hits,
    pub tagged: Vec<Tagged>,
}

/// Text of reached members held across the second walk; a member past it is judged whole
/// when it is read (as if every function in it ran).
const MAX_HELD_BYTES: usize = 64 << 20;

impl<'s> Revisit<'s> {
    /// `first` is the first walk's hits: the positions of a member's hits are taken from it (no
    /// text is held across the walk); those in code that runs at install time are judged again.
    pub(crate) fn new(
        detectors: &'s [Box<dyn Detector>],
        prefilter: &'s Prefilter,
        deadline: &'s Deadline,
        reach: Vec<(Reached, u64)>,
        outside: reach::Outside,
        first: &[Tagged],
    ) -> Self {
        let seen = vec![false; reach.len()];
        let held = vec![None; reach.len()];
        let targets = reach
            .into_iter()
            .map(|(r, seq)| {
                let old: Vec<Position> = first
                    .iter()
                    .filter(|(s, _, h)| *s == seq && h.evidence.path == r.path)
                    .filter_map(|(_, _, h)| h.evidence.line.map(|l| (l, h.evidence.column)))
                    .collect();
                (r, seq, old)
            })
            .collect();
        Revisit {
            text: TextScan::new(detectors, prefilter, deadline),
            targets,
            seen,
            held,
            held_bytes: 0,
            outside,
            hits: Hits::default(),
            tagged: Vec::new(),
        }
    }

    fn target(&self, path: &str) -> Option<usize> {
        self.targets.iter().position(|(r, _, _)| r.path == path)
    }

    /// Judges target `i` (its text `text`) where `runs` says its code runs at install time.
    fn judge(&mut self, i: usize, text: &str, runs: &Runs) {
        let (reached, seq, old) = &mut self.targets[i];
        if !matches!(runs, Runs::All) {
            let src = super::source::Source::python(text);
            old.retain(|&(line, column)| !runs.at(&src, line, column));
        } else {
            old.clear();
        }
        self.text.reached(&reached.path, reached.python, text, runs, &mut self.hits);
        // The runner's path inside the tree (no `name-1.0/`): evidence reads the same in every release.
        let from = reached.from.split_once('/').map_or(reached.from.as_str(), |(_, inner)| inner);
        let why = format!("run at install time by {from} ({})", reached.how);
        for (_, hit) in &mut self.hits.hits {
            hit.evidence.snippet = Some(match hit.evidence.snippet.take() {
                Some(s) => format!("{s}  <- {why}"),
                None => why.clone(),
            });
        }
        tag(&mut self.hits, *seq, &mut self.tagged);
    }

    /// After the walk: each held member judged where its code runs at install time.
    fn judge_held(&mut self) {
        let held = std::mem::take(&mut self.held);
        let others: Vec<Option<(std::collections::HashSet<&str>, bool)>> = held
            .iter()
            .zip(&self.targets)
            .map(|(t, (r, _, _))| t.as_deref().map(|t| reach::words_of(t, r.python)))
            .collect();
        for (i, text) in held.iter().enumerate() {
            let Some(text) = text.as_deref() else { continue };
            let reached = &self.targets[i].0;
            let runs = if top_level_only(reached) {
                Runs::TopLevel
            } else if !reached.python {
                Runs::All
            } else {
                let other = || others.iter().enumerate().filter(|(j, _)| *j != i).filter_map(|(_, o)| o.as_ref());
                let dynamic = self.outside.dynamic || other().any(|(_, d)| *d);
                let may_call = |name: &str| self.outside.words.contains(name) || other().any(|(w, _)| w.contains(name));
                match reach::live(&super::source::Source::python(text), dynamic, may_call) {
                    reach::Live::Whole(_) => Runs::All,
                    live => Runs::Live(live),
                }
            };
            self.judge(i, text, &runs);
        }
    }
}

/// A hit's place in its member: 1-based line and column.
type Position = (u32, Option<u32>);

/// A package's `__init__.py` that install-time code runs keeps its first judgement inside
/// functions (they run only when called, and the package's code is judged as code that runs on
/// import already); any other Python member is judged where [`reach::live`] says its code runs.
fn top_level_only(reached: &Reached) -> bool {
    reached.role == FileRole::Runtime && reached.path.rsplit('/').next() == Some("__init__.py")
}

impl Visitor for Revisit<'_> {
    fn is_binary(&mut self, path: &str, head: &[u8]) -> bool {
        self.target(path).is_none_or(|i| self.seen[i]) || roles::decode_text(head, true).is_none()
    }

    fn member(&mut self, member: &Member<'_>, data: &[u8]) {
        let Some(i) = self.target(member.path).filter(|&i| !self.seen[i] && !member.streamed) else { return };
        self.seen[i] = true;
        let Some(text) = roles::decode_text(data, member.truncated) else { return };
        if self.held_bytes + text.len() > MAX_HELD_BYTES {
            self.judge(i, &text, &Runs::All);
            return;
        }
        self.held_bytes += text.len();
        self.held[i] = Some(text.into_owned());
    }

    /// The first walk reported what this one can meet; only a stop of this walk matters
    /// (see [`Outcome::judge_reached`]).
    fn anomaly(&mut self, _meta: &'static DetectorMeta, _path: &str, _detail: String) {}
}

impl Outcome {
    /// Replaces the first walk's judgement of each member `revisit` read again as install-time
    /// code: its hits with a line (the detectors') in code that runs at install time go (those in
    /// functions nothing that runs refers to stay, judged by the member's path); the engine's own
    /// evidence about the member (no line) stays. A target the
    /// second walk did not reach (`timed_out`, or the walk stopped) makes the scan incomplete.
    pub(crate) fn judge_reached(&mut self, mut revisit: Revisit<'_>, timed_out: bool) {
        revisit.judge_held();
        for (i, (reached, seq, kept)) in revisit.targets.iter().enumerate() {
            if !revisit.seen[i] {
                if timed_out {
                    let detail = format!(
                        "{} is run at install time by {} and was not read again: the scan ran out of time",
                        reached.path, reached.from
                    );
                    let evidence = member_evidence(&reached.path, detail, FileRole::InstallTime);
                    self.tagged.push((*seq, &anomaly::LIMIT, Hit { severity: None, evidence }));
                }
                continue;
            }
            self.tagged.retain(|(s, _, hit)| {
                let ev = &hit.evidence;
                if *s != *seq || ev.path != reached.path {
                    return true;
                }
                // Kept: the engine's own evidence (no line), and the hits in code that does not
                // run at install time (functions nothing calls; a package `__init__.py`'s functions).
                ev.line.is_none_or(|l| kept.contains(&(l, ev.column)))
            });
        }
        self.tagged.extend(revisit.tagged);
    }
}

/// Evidence inside a documentation constant of a Python module (`DOCUMENTATION = r'''…`,
/// `EXAMPLES = """…"""`) is read, not run: it weighs as data, at most Low.
fn weigh_documentation(file: &TextFile<'_>, hits: &mut [(&'static DetectorMeta, Hit)]) {
    for (meta, hit) in hits {
        let ev = &hit.evidence;
        if ev.path == file.path && ev.line.is_some_and(|line| file.source().in_doc_constant(line, ev.column)) {
            hit.severity = Some(hit.severity.unwrap_or(meta.severity).min(crate::model::Severity::Low));
        }
    }
}

/// Evidence in a runtime Python module whose code runs when the module is imported
/// (module top level, class bodies, top-level `if`/`try`/`with`/`for` bodies) becomes
/// [`FileRole::ImportTime`]; evidence inside functions stays [`FileRole::Runtime`].
///
/// Execution behaviour that stays inside a function runs only when the application calls it
/// (a debugger attaching to a process, a CLI's self-update `curl | sh`): it is at most High
/// there. Critical is kept for what runs with nobody calling it, at install or on import.
fn mark_import_time(file: &TextFile<'_>, hits: &mut [(&'static DetectorMeta, Hit)]) {
    for (meta, hit) in hits {
        let ev = &mut hit.evidence;
        if ev.role != FileRole::Runtime || ev.path != file.path {
            continue;
        }
        if ev.line.is_some_and(|line| file.source().runs_on_import(line, ev.column)) {
            ev.role = FileRole::ImportTime;
        } else if meta.category == crate::model::Category::Execution {
            hit.severity = Some(hit.severity.unwrap_or(meta.severity).min(crate::model::Severity::High));
        }
    }
}

/// What one walk produced.
pub(crate) struct Outcome {
    pub members: u64,
    /// The licence read from the core metadata and the licence files.
    pub licence: crate::model::Licence,
    pub bytes: u64,
    pub counts: Counts,
    pub tagged: Vec<Tagged>,
    /// Members install-time code runs ([`reach`]), with their member indexes: the caller
    /// judges them again as install-time code ([`Revisit`], [`Outcome::judge_reached`]).
    pub reach: Vec<(Reached, u64)>,
    /// What the install-time members that run them can call of them.
    pub outside: reach::Outside,
}

impl Outcome {
    /// Adds what worker threads found.
    pub(crate) fn merge(&mut self, tagged: Vec<Tagged>, counts: Counts) {
        self.tagged.extend(tagged);
        self.counts.add(counts);
    }

    /// All hits in walk order, the same whatever the number of threads.
    pub(crate) fn into_hits(mut self) -> Vec<(&'static DetectorMeta, Hit)> {
        self.tagged.sort_by_key(|(seq, _, _)| *seq);
        self.tagged.into_iter().map(|(_, m, h)| (m, h)).collect()
    }
}

/// Moves `hits` into `out`, tagged with `seq`.
pub(crate) fn tag(hits: &mut Hits, seq: u64, out: &mut Vec<Tagged>) {
    out.extend(hits.hits.drain(..).map(|(m, h)| (seq, m, h)));
}

/// Collects one artifact's members and hits. Implements the walker's [`Visitor`].
pub(crate) struct Collector<'s> {
    detectors: &'s [Box<dyn Detector>],
    text: TextScan<'s>,
    pub filename: &'s str,
    pub kind: ArtifactKind,
    /// Scratch: hits of the current member, moved to `tagged` after each step.
    hits: Hits,
    /// Every hit so far, tagged with the member index it belongs to.
    pub tagged: Vec<Tagged>,
    /// Index of the next member (tags anomalies reported before it, and its own hits).
    seq: u64,
    pub members: Vec<(String, FileRole, u64)>,
    /// Core metadata text and the path it came from.
    pub core_metadata: Option<(String, String)>,
    /// Licence-file candidates (path, text head), for [`super::licence::extract`].
    licence_files: Vec<(String, String)>,
    /// What [`Collector::finish`] read as the licence.
    licence: crate::model::Licence,
    pub counts: Counts,
    /// When set, text members go to worker threads instead of being scanned here.
    pub offload: Option<&'s Offload<'s>>,
    /// The member index (`seq`) of each entry of `members`.
    seqs: Vec<u64>,
    /// The text of the install-time Python members (for [`reach`]), at most [`MAX_INSTALL_TIME`].
    install_time: Vec<(String, String)>,
    /// What [`Collector::finish`] found install-time code runs of the tree, with member indexes.
    reach: Vec<(Reached, u64)>,
    outside: reach::Outside,
}

/// Install-time Python members whose text is kept for [`reach`] (setup.py, build backends).
const MAX_INSTALL_TIME: usize = 8;

/// Evidence about a whole member (no line): what the engine says of it, and its role.
/// Names pickle files usually carry (used only to judge whether a broken stream that imports
/// nothing was a pickle at all: a binary that happens to start with `\x80\x02` is not).
fn pickle_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    [".pkl", ".pickle", ".joblib", ".pt", ".pth", ".ckpt", ".bin", ".npy", ".sav", ".p"]
        .iter()
        .any(|s| lower.ends_with(s))
}

fn member_evidence(path: &str, what: String, role: FileRole) -> Evidence {
    Evidence { path: path.into(), line: None, column: None, snippet: Some(what), indicator: None, role, severity: None }
}

impl<'s> Collector<'s> {
    pub(crate) fn new(
        detectors: &'s [Box<dyn Detector>],
        prefilter: &'s Prefilter,
        deadline: &'s Deadline,
        filename: &'s str,
        kind: ArtifactKind,
    ) -> Self {
        Collector {
            detectors,
            text: TextScan::new(detectors, prefilter, deadline),
            filename,
            kind,
            hits: Hits::default(),
            tagged: Vec::new(),
            seq: 0,
            members: Vec::new(),
            core_metadata: None,
            licence_files: Vec::new(),
            licence: Default::default(),
            counts: Counts::default(),
            offload: None,
            seqs: Vec::new(),
            install_time: Vec::new(),
            reach: Vec::new(),
            outside: reach::Outside::default(),
        }
    }

    /// Everything the walk produced, owned, for merging with worker results.
    pub(crate) fn into_outcome(mut self, members: u64, bytes: u64) -> Outcome {
        tag(&mut self.hits, self.seq, &mut self.tagged);
        Outcome {
            members,
            bytes,
            licence: self.licence,
            counts: self.counts,
            tagged: self.tagged,
            reach: self.reach,
            outside: self.outside,
        }
    }

    fn role_of(&self, path: &str) -> FileRole {
        match path.rsplit_once("!/") {
            None => roles::classify(path, self.kind),
            Some((outer, inner)) => {
                let base = outer.rsplit('/').next().unwrap_or(outer);
                // An archive kept as a test fixture is test material, whatever its members are.
                if roles::is_test_or_docs(roles::strip_sdist_prefix(outer, self.kind), base) {
                    return FileRole::TestOrDocs;
                }
                let kind = parse_dist_filename(base).map(|d| d.kind).unwrap_or(ArtifactKind::Other);
                roles::classify(inner, kind)
            }
        }
    }

    fn push(&mut self, meta: &'static DetectorMeta, evidence: Evidence) {
        self.hits.push(meta, Hit { severity: None, evidence });
    }

    fn native_in_sdist(&mut self, path: &str, role: FileRole, data: &[u8]) {
        let base = path.rsplit('/').next().unwrap_or(path);
        let what = match (roles::native_magic(data), roles::is_native_name(base)) {
            (Some(fmt), _) => format!("{fmt} binary"),
            (None, true) => "named like a native library or executable".to_string(),
            (None, false) => return,
        };
        self.push(&anomaly::NATIVE_IN_SDIST, member_evidence(path, what, role));
    }

    /// A `.pyc` that is not bytecode, an image with a payload after its end ([`carrier`]):
    /// high, medium in tests and docs.
    fn carried(&mut self, path: &str, role: FileRole, data: &[u8], size: u64) {
        let Some(found) = carrier::fake_bytecode(path, data).or_else(|| carrier::appended_payload(path, data, size))
        else {
            return;
        };
        let (meta, detail) = match found {
            Carried::NotBytecode(is) => (&anomaly::DISGUISED_BYTECODE, format!("named like bytecode, but {is}")),
            Carried::Appended { format, offset, what } => {
                (&anomaly::APPENDED_PAYLOAD, format!("{what} after the end of the {format} image (byte {offset})"))
            }
        };
        let inner = path.rsplit("!/").next().unwrap_or(path);
        let inner = roles::strip_sdist_prefix(inner, self.kind);
        let base = inner.rsplit('/').next().unwrap_or(inner);
        // A member of an archive kept as a test fixture is test material too (its role says so).
        let test = role == FileRole::TestOrDocs || roles::is_test_or_docs(inner, base);
        let severity = if test { Severity::Medium } else { Severity::High };
        let evidence = member_evidence(path, detail, role);
        self.hits.push(meta, Hit { severity: Some(severity), evidence });
    }

    /// Pickle streams in the member ([`pickle`]): each callable a load would import, rated by
    /// what it does (runs something: critical; reaches other objects or files: high; outside
    /// the standard library and not a reconstructor: medium; reconstructors: nothing), lower in
    /// tests and docs (a scanner's own fixtures); a stream that breaks: its own finding.
    fn pickled(&mut self, path: &str, role: FileRole, data: &[u8], size: u64) {
        let whole = data.len() as u64 >= size;
        let found = pickle::find(data, whole, archive::is_archive_name(path));
        if found.is_empty() {
            return;
        }
        let inner = path.rsplit("!/").next().unwrap_or(path);
        let inner = roles::strip_sdist_prefix(inner, self.kind);
        let base = inner.rsplit('/').next().unwrap_or(inner);
        let test = role == FileRole::TestOrDocs || roles::is_test_or_docs(inner, base);
        for f in &found {
            let at = if f.entry.is_empty() { path.to_string() } else { format!("{path}!/{}", f.entry) };
            // No header: protocol 0 or 1 (text opcodes), which cannot be told apart from the bytes.
            let proto = match f.walk.protocol {
                0 => "0/1".to_string(),
                p => p.to_string(),
            };
            let mut seen = std::collections::HashSet::new();
            for i in f.walk.imports.iter().filter(|i| i.danger != pickle::Danger::None) {
                if !seen.insert(&i.target) {
                    continue;
                }
                let severity = match (i.danger, test) {
                    (pickle::Danger::Runs, false) => Severity::Critical,
                    (pickle::Danger::Indirect, false) => Severity::High,
                    (pickle::Danger::Runs, true) | (pickle::Danger::Unknown, false) => Severity::Medium,
                    _ => Severity::Low,
                };
                let how = if i.called { "imports and calls" } else { "imports" };
                let detail =
                    format!("pickle stream (protocol {proto}) {how} {} at byte {}", i.target, f.base + i.offset);
                let mut evidence = member_evidence(&at, detail, role);
                evidence.indicator = Some(i.target.clone());
                self.hits.push(&anomaly::PICKLE_CODE, Hit { severity: Some(severity), evidence });
            }
            if let Some(why) = f.malformed() {
                let named = !f.walk.imports.is_empty() || pickle_name(base) || pickle_name(&f.entry);
                if named {
                    let detail = format!("pickle stream at byte {} is broken: {why}", f.base);
                    let severity = if test { Severity::Low } else { Severity::Medium };
                    let evidence = member_evidence(&at, detail, role);
                    self.hits.push(&anomaly::PICKLE_MALFORMED, Hit { severity: Some(severity), evidence });
                }
            }
        }
    }

    /// Keep the head of a top-level member that may be a licence file (bounded in count and size).
    fn keep_licence_file(&mut self, path: &str, depth: u32, data: &[u8], streamed: bool) {
        use super::licence::{keep, MAX_FILES, MAX_FILE_BYTES};
        if depth > 0 || streamed {
            return;
        }
        let Some(top_level) = keep(path, self.kind) else { return };
        let cap = if top_level { 2 * MAX_FILES } else { MAX_FILES };
        if self.licence_files.len() >= cap {
            return;
        }
        let head = &data[..data.len().min(MAX_FILE_BYTES)];
        if let Some(text) = roles::decode_text(head, head.len() < data.len()) {
            self.licence_files.push((path.to_string(), text.into_owned()));
        }
    }

    fn keep_core_metadata(&mut self, path: &str, depth: u32, text: &str) {
        if depth > 0 || self.core_metadata.is_some() {
            return;
        }
        let is_core = match self.kind {
            ArtifactKind::Wheel => path.matches('/').count() == 1 && path.ends_with(".dist-info/METADATA"),
            ArtifactKind::Sdist => path.matches('/').count() == 1 && path.ends_with("/PKG-INFO"),
            ArtifactKind::Other => path == "EGG-INFO/PKG-INFO",
        };
        if is_core {
            self.core_metadata = Some((path.to_string(), text.to_string()));
        }
    }

    /// After the walk: package-level detectors and the engine's metadata check.
    pub(crate) fn finish(&mut self, project: Option<&str>, version: Option<&str>) {
        let core = self.core_metadata.as_ref().map(|(_, t)| t.as_str());
        let pkg = Package {
            filename: self.filename,
            project,
            version,
            kind: self.kind,
            core_metadata: core,
            members: &self.members,
        };
        let mut hits = Hits::default();
        for d in self.detectors {
            d.scan_package(&pkg, &mut hits);
        }
        tag(&mut hits, self.seq, &mut self.tagged);
        let core = self.core_metadata.as_ref().map(|(p, t)| (p.as_str(), t.as_str()));
        let (licence, licence_hits) = super::licence::extract(self.kind, core, &self.licence_files);
        self.licence = licence;
        for (meta, hit) in licence_hits {
            self.hits.push(meta, hit);
        }
        if self.kind == ArtifactKind::Wheel {
            self.check_wheel_metadata(project, version);
        }
        tag(&mut self.hits, self.seq, &mut self.tagged);
        if !self.install_time.is_empty() {
            let reached = reach::reached(self.kind, &self.install_time, &self.members);
            let seq_of = |p: &str| self.members.iter().position(|(m, _, _)| m == p).map(|i| self.seqs[i]);
            self.reach = reached.into_iter().filter_map(|r| seq_of(&r.path).map(|s| (r, s))).collect();
            if !self.reach.is_empty() {
                self.outside = reach::Outside::of_runners(&self.install_time);
            }
        }
    }

    fn check_wheel_metadata(&mut self, project: Option<&str>, version: Option<&str>) {
        let (Some(project), Some(version)) = (project, version) else {
            return;
        };
        // A wheel without METADATA is the `metadata.missing-metadata` detector's finding.
        let Some((path, text)) = self.core_metadata.clone() else {
            return;
        };
        for (key, ours, same) in
            [("Name", project, names_match as fn(&str, &str) -> bool), ("Version", version, crate::model::same_version)]
        {
            let md = crate::metadata::CoreMetadata::parse(&text);
            let (line, value) = md.get(key).map_or((0, ""), |h| (h.line, &*h.value));
            if !same(value, ours) {
                let snippet = format!("{key}: {value} (filename says {ours})");
                let ev = Evidence {
                    path: path.clone(),
                    line: (line > 0).then_some(line),
                    column: None,
                    snippet: Some(snippet),
                    indicator: None,
                    role: FileRole::Metadata,
                    severity: None,
                };
                self.push(&anomaly::FILENAME_MISMATCH, ev);
            }
        }
    }
}

impl Visitor for Collector<'_> {
    /// Exactly what [`TextScan::member`] would decide on the whole member: binary by role,
    /// or a head that does not decode as text (NUL bytes, or invalid UTF-8 that does not
    /// look like latin-1 text; a character cut at the end of the head is not invalid).
    fn is_binary(&mut self, path: &str, head: &[u8]) -> bool {
        self.role_of(path) == FileRole::Binary || roles::decode_text(head, true).is_none()
    }

    fn member(&mut self, member: &Member<'_>, data: &[u8]) {
        let (seq, path) = (self.seq, member.path);
        self.seq += 1;
        let role = self.role_of(path);
        self.members.push((path.to_string(), role, member.size));
        self.seqs.push(seq);
        if role == FileRole::InstallTime
            && member.depth == 0
            && !member.streamed
            && roles::is_python(path)
            && self.install_time.len() < MAX_INSTALL_TIME
        {
            if let Some(text) = roles::decode_text(data, member.truncated) {
                self.install_time.push((path.to_string(), text.into_owned()));
            }
        }
        self.counts.truncated_members += member.truncated as u64;
        if self.kind == ArtifactKind::Sdist {
            self.native_in_sdist(path, role, data);
        }
        self.carried(path, role, data, member.size);
        self.pickled(path, role, data, member.size);
        self.keep_licence_file(path, member.depth, data, member.streamed);
        if member.streamed {
            // Only the head was kept: the walker streamed it because it is binary.
            self.counts.binary_members += 1;
            tag(&mut self.hits, seq, &mut self.tagged);
            return;
        }
        // Metadata stays here: the package check needs its text.
        let offloaded =
            role != FileRole::Metadata && self.offload.is_some_and(|f| f(seq, path, role, data, member.truncated));
        if !offloaded {
            let text = self.text.member(path, role, data, member.truncated, &mut self.hits, &mut self.counts);
            if let (Some(text), FileRole::Metadata) = (text, role) {
                self.keep_core_metadata(path, member.depth, &text);
            }
        }
        tag(&mut self.hits, seq, &mut self.tagged);
    }

    /// Data and test material (text that is not Python) over `max_text_bytes` is scanned in
    /// windows, so a large fixture or generated dump is seen whole instead of failing closed;
    /// code stays whole or is cut (its detectors need the whole file's context).
    fn window(&mut self, path: &str, data: &[u8], first_line: u32, first_col: u32) -> bool {
        let role = self.role_of(path);
        if !matches!(role, FileRole::Other | FileRole::TestOrDocs) || roles::is_python(path) {
            return false;
        }
        let first = self.hits.len();
        let mut scratch = Counts::default();
        if self.text.member(path, role, data, false, &mut self.hits, &mut scratch).is_none() {
            return false;
        }
        // Window lines → member lines; a hit the overlap with the previous window repeats is dropped.
        let mut new = self.hits.hits.split_off(first);
        for (_, h) in &mut new {
            // A window that starts inside a line (one line longer than a window): the hits on
            // its first line sit `first_col` characters further right in the member.
            if h.evidence.line == Some(1) {
                h.evidence.column = h.evidence.column.map(|c| c + first_col);
            }
            h.evidence.line = h.evidence.line.map(|l| l + first_line);
        }
        new.retain(|(m, h)| {
            !self.hits.hits.iter().any(|(pm, ph)| {
                pm.id == m.id
                    && ph.evidence.path == h.evidence.path
                    && ph.evidence.line == h.evidence.line
                    && ph.evidence.column == h.evidence.column
            })
        });
        self.hits.hits.extend(new);
        true
    }

    fn anomaly(&mut self, meta: &'static DetectorMeta, path: &str, detail: String) {
        let role = if path == self.filename { FileRole::Other } else { self.role_of(path) };
        let evidence = member_evidence(path, detail, role);
        // A name no installer writes where code runs from: a test or docs member, or a member of
        // an archive kept as test material (pip unpacks neither into the install, and what they
        // hold is scanned whatever their name decodes to). Info; the shipped policy's
        // `hostile-archive` rule blocks these names from Low up.
        if std::ptr::eq(meta, &anomaly::NON_UTF8) && role == FileRole::TestOrDocs {
            self.hits.push(meta, Hit { severity: Some(Severity::Info), evidence });
        } else {
            self.push(meta, evidence);
        }
        tag(&mut self.hits, self.seq, &mut self.tagged);
    }
}

fn names_match(a: &str, b: &str) -> bool {
    normalize_project_name(a) == normalize_project_name(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_compare_normalised() {
        let cases = [
            ("names differ only in case and separators", names_match("Zope.Interface", "zope_interface"), true),
            ("different names", names_match("requests", "requestz"), false),
        ];
        for (case, got, want) in cases {
            assert_eq!(got, want, "{case}");
        }
    }

    struct Wants(Interest);
    impl Detector for Wants {
        fn meta(&self) -> &'static DetectorMeta {
            &anomaly::LINK
        }
        fn interest(&self) -> Interest {
            self.0
        }
    }

    #[test]
    fn prefilter_selects_every_detector_whose_literal_occurs() {
        use Interest::*;
        let detectors: Vec<Box<dyn Detector>> = vec![
            Box::new(Wants(Literals(&["subprocess"]))),
            Box::new(Wants(Literals(&["process"]))),
            Box::new(Wants(Literals(&["os.sys"]))),
            Box::new(Wants(Literals(&["os.system"]))),
            Box::new(Wants(Literals(&["never-here"]))),
            Box::new(Wants(AllText)),
            Box::new(Wants(Literals(&["tem("]))),
            Box::new(Wants(PackageOnly)),
            Box::new(Wants(Literals(&[""]))),
        ];
        let pre = Prefilter::new(&detectors);
        let cases = [
            ("literal inside a longer one", "import subprocess", vec![0, 1, 5, 8]),
            ("prefix of a longer literal at the same start", "os.system('x')", vec![2, 3, 5, 6, 8]),
            ("nothing but the catch-alls", "x = 1", vec![5, 8]),
            ("empty text", "", vec![5, 8]),
        ];
        let mut selected = vec![false; detectors.len()];
        for (case, text, want) in cases {
            let n = pre.select(text, &mut selected);
            let got: Vec<usize> = (0..detectors.len()).filter(|&i| selected[i]).collect();
            assert_eq!(got, want, "{case}");
            assert_eq!(n, want.len(), "{case}: count");
        }
    }
    struct Placed(&'static [&'static str]);
    impl Detector for Placed {
        fn meta(&self) -> &'static DetectorMeta {
            &anomaly::LINK
        }
        fn interest(&self) -> Interest {
            Interest::Literals(self.0)
        }
        fn literal_places(&self) -> bool {
            true
        }
    }

    /// The definition [`TextFile::literal_lines`] is tested against: every byte of every line
    /// an occurrence of one of `lits` touches (a substring search at every offset), runs of
    /// such bytes as ranges; over the cap, the whole text.
    fn naive_lines(text: &str, lits: &[&str]) -> Vec<std::ops::Range<usize>> {
        let b = text.as_bytes();
        let mut marked = vec![false; b.len()];
        let mut count = 0;
        for lit in lits.iter().filter(|l| !l.is_empty()) {
            for at in 0..b.len() {
                if b[at..].starts_with(lit.as_bytes()) {
                    count += 1;
                    let from = b[..at].iter().rposition(|&c| c == b'\n').map_or(0, |p| p + 1);
                    let last = at + lit.len() - 1;
                    let to = b[last..].iter().position(|&c| c == b'\n').map_or(b.len(), |p| last + p + 1);
                    marked[from..to].iter_mut().for_each(|m| *m = true);
                }
            }
        }
        if count > super::super::detector::MAX_PLACES {
            return (!text.is_empty()).then_some(0..text.len()).into_iter().collect();
        }
        let mut out: Vec<std::ops::Range<usize>> = Vec::new();
        for (i, &m) in marked.iter().enumerate() {
            match (m, out.last_mut()) {
                (false, _) => {}
                (true, Some(r)) if r.end == i => r.end = i + 1,
                (true, _) => out.push(i..i + 1),
            }
        }
        out
    }

    const LISTS: [&[&str]; 3] = [&["exec", "exec(", "cute"], &["b\nc", "ab", "b"], &["zz"]];

    fn placed() -> (Vec<Box<dyn Detector>>, Prefilter) {
        let mut detectors: Vec<Box<dyn Detector>> =
            LISTS.iter().map(|l| Box::new(Placed(l)) as Box<dyn Detector>).collect();
        detectors.push(Box::new(Wants(Interest::Literals(&["never-placed", "exec"]))));
        let pre = Prefilter::new(&detectors);
        (detectors, pre)
    }

    /// Lines through the prefilter's places, and through the search `TextFile` falls back to,
    /// both equal the definition.
    fn check_lines(pre: &Prefilter, places: &mut LiteralPlaces, selected: &mut [bool], case: &str, text: &str) {
        pre.select_places(text, selected, places);
        for lits in LISTS {
            let want = naive_lines(text, lits);
            let file = TextFile::new("a.py", FileRole::Runtime, true, text).with_places(places);
            assert_eq!(file.literal_lines(lits), want, "{case}: {lits:?} (recorded)");
            let file = TextFile::new("a.py", FileRole::Runtime, true, text);
            assert_eq!(file.literal_lines(lits), want, "{case}: {lits:?} (searched)");
        }
    }

    #[test]
    fn literal_lines_are_the_lines_of_each_occurrence() {
        let (detectors, pre) = placed();
        let mut places = pre.places();
        assert_eq!(places.lists.len(), 3, "one list per opted-in detector");
        let mut selected = vec![false; detectors.len()];
        let cases = [
            ("empty", String::new()),
            ("none", "x = 1\ny = 2\n".to_string()),
            ("at the start", "exec(x)\ny = 2\n".to_string()),
            ("at the end without a newline", "y = 2\nexec".to_string()),
            ("two on one line", "y = 2\nexec(a); exec(b)\nz = 3\n".to_string()),
            ("adjacent lines merge", "q\nexec\nexecute\nq\n".to_string()),
            ("lines apart stay apart", "exec\nq\nexec\n".to_string()),
            ("a literal across a newline", "a\nxb\ncd\ne\n".to_string()),
            ("a literal inside a longer one", "q\nab\nq\nb\n".to_string()),
            ("overlapping occurrences", "zzzz\nq\n".to_string()),
            ("crlf lines", "q\r\nexec\r\nq\r\n".to_string()),
            ("non-ASCII around", "é\nçexecé\nü\n".to_string()),
            ("only newlines", "\n\n\n".to_string()),
        ];
        for (case, text) in &cases {
            check_lines(&pre, &mut places, &mut selected, case, text);
        }
        let (streams, split) = pre.streams().expect("streams");
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let pieces =
            ["exec", "exec(", "cute", "b\nc", "ab", "b", "zz", "z", "\n", "q", "qq qq", "é", "\r\n", "ex", "ec"];
        for round in 0..400 {
            // Short texts, and texts long enough for four streams with pieces across the cuts.
            let long = round % 4 == 0;
            let len = if long { split + (next() % (split as u64 * 2)) as usize } else { (next() % 200) as usize };
            let mut text = String::new();
            while text.len() < len {
                if long && next() % 3 != 0 {
                    text.push_str(&"q".repeat((next() % 64) as usize));
                }
                text.push_str(pieces[(next() % pieces.len() as u64) as usize]);
            }
            if long {
                // A literal straddling each stream boundary.
                let q = text.len() / streams;
                for k in 1..streams {
                    let at = k * q - 2;
                    if text.is_char_boundary(at) && text.is_char_boundary(at + 4) {
                        text.replace_range(at..at + 4, "exec");
                    }
                }
            }
            check_lines(&pre, &mut places, &mut selected, &format!("random text {round}"), &text);
        }
    }

    /// Past the cap a list's lines are the whole member, and a member of millions of literal
    /// hits costs one pass and a bounded list: a hostile member finishes fast.
    #[test]
    fn millions_of_literal_hits_cost_one_bounded_pass() {
        let (detectors, pre) = placed();
        let mut places = pre.places();
        let mut selected = vec![false; detectors.len()];
        let cap = super::super::detector::MAX_PLACES;
        // (Where the four streams overlap an occurrence may be counted twice: stay clear of the cap.)
        for (case, n, whole) in [("under the cap", cap - 16, false), ("past the cap", cap + 1, true)] {
            let text = "q\nzz\n".repeat(n);
            pre.select_places(&text, &mut selected, &mut places);
            assert_eq!(places.over[2], whole, "{case}: over the cap");
            let file = TextFile::new("a.py", FileRole::Runtime, true, &text).with_places(&places);
            let want = if whole { std::iter::once(0..text.len()).collect() } else { naive_lines(&text, LISTS[2]) };
            assert_eq!(file.literal_lines(LISTS[2]), want, "{case}");
        }
        let text = "exec(ab)zz;".repeat(1_000_000); // 11 MB, 5 M occurrences, one line
        let started = std::time::Instant::now();
        pre.select_places(&text, &mut selected, &mut places);
        let file = TextFile::new("a.py", FileRole::Runtime, true, &text).with_places(&places);
        for lits in LISTS {
            assert_eq!(file.literal_lines(lits), std::iter::once(0..text.len()).collect::<Vec<_>>(), "{lits:?}");
        }
        assert!(places.starts.iter().all(|s| s.len() <= cap), "bounded");
        let lines = "exec(x)\n".repeat(1_000_000); // 8 MB, a million lines of hits
        pre.select_places(&lines, &mut selected, &mut places);
        let file = TextFile::new("a.py", FileRole::Runtime, true, &lines).with_places(&places);
        assert_eq!(file.literal_lines(LISTS[0]), std::iter::once(0..lines.len()).collect::<Vec<_>>());
        let took = started.elapsed();
        assert!(took < std::time::Duration::from_secs(3), "took {took:?}");
    }

    /// Searching the lines finds what searching the member finds, for regexes whose matches lie
    /// in one line and hold a literal: anchors and word boundaries at a range's start see the
    /// text before it.
    #[test]
    fn searching_the_lines_is_searching_the_member() {
        let regexes = [
            regex::Regex::new(r"(?-u:\b)exec[ \t]*\((?P<arg>\w*)\)").expect("re"),
            regex::Regex::new(r"(?m)^[ \t]*exec\b").expect("re"),
            regex::Regex::new(r"[^.\w]cute\w*").expect("re"),
            regex::Regex::new(r"\bexec|cute").expect("re"),
        ];
        let cases = [
            "exec(a)\nx.exec(b)\n  exec (c)\nexecute\nq\n",
            "q\nq\nexec(z)",
            "xexec(a) exec(b)\n\n\nacute cute\n",
            "é exec(é)\nécute\n",
        ];
        for (k, re) in regexes.iter().enumerate() {
            for text in cases {
                let file = TextFile::new("a.py", FileRole::Runtime, true, text);
                let lines = file.literal_lines(LISTS[0]);
                let whole: Vec<_> = re.find_iter(text).map(|m| m.range()).collect();
                let got: Vec<_> = file.find_in_lines(re, &lines).map(|m| m.range()).collect();
                assert_eq!(got, whole, "regex {k} on {text:?}");
                let whole: Vec<_> = re.captures_iter(text).map(|c| c.get(0).expect("m").range()).collect();
                let got: Vec<_> = file.captures_in_lines(re, &lines).map(|c| c.get(0).expect("m").range()).collect();
                assert_eq!(got, whole, "regex {k} on {text:?}: captures");
            }
        }
    }
}
