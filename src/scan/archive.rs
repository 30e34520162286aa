//! Archive walking: wheels and eggs (zip), sdists (`.tar.gz`, `.tgz`, `.tar.bz2`,
//! `.tar.xz`, `.tar`, `.zip`) and archives nested inside them.
//!
//! Owns: reading each member once, as a stream from the file (never extracting to
//! disk; deflated zip members through one reused inflate state): text members and
//! nested archives into a reused, capped buffer (zeroed once as it grows, not per member);
//! binary members through a small fixed
//! scratch buffer (only their head is kept), still read to the end so CRC and ratio
//! checks happen; enforcing [`Limits`] while inflating,
//! not by trusting headers; reporting archive anomalies (traversal, links,
//! duplicates, non-UTF-8 or control-character names, local/central header mismatches, encryption, CRC, bombs, limits, nesting, unreadable
//! input); reading a text member over `max_text_bytes` in line-aligned windows (byte windows at
//! character boundaries, with the same overlap, for a line longer than a window) when the
//! visitor takes them (every byte seen, never a cut that serves). Must not: interpret member content beyond asking the [`Visitor`] whether
//! a member's head is binary (that is the engine's and the detectors' job), or keep
//! more than one member per nesting level in memory.

use super::anomaly;
use super::detector::DetectorMeta;
use super::inflate::RawInflate;
use super::Limits;
use std::collections::HashSet;
use std::fs::File;
use std::io::{self, BufReader, Cursor, Read, Seek, SeekFrom};
use std::path::Path;
use zip::result::ZipError;
use zip::ZipArchive;

/// Bytes inflated per read call; the bomb and size checks run after each chunk.
const CHUNK: u64 = 256 << 10;
/// Below this many inflated bytes a high ratio is normal (a small file of zeros).
const RATIO_FLOOR: u64 = 1 << 20;
/// Bytes read before deciding how a member is read (kept, then handed on, for binary members).
pub(crate) const HEAD: usize = 64 << 10;
/// The largest central directory read for the duplicate-name check.
const MAX_CENTRAL_DIRECTORY: u64 = 64 << 20;
/// Memory the xz decoder may use (its dictionary): `xz -9` needs 65 MiB; a header asking
/// for more is refused (unreadable) instead of allocating what the archive asks for.
const XZ_MEMLIMIT: u64 = 96 << 20;
/// A tar header block.
const BLOCK: usize = 512;
/// Zeros allowed after a tar's end-of-archive marker (the second marker block and padding
/// to the record size, 10 KiB by default; generous for tools with larger blocking factors).
const TRAILING_ZEROS: u64 = 1 << 20;

/// One member as handed to the [`Visitor`].
pub(crate) struct Member<'a> {
    /// Display path; nested members read `outer.whl!/inner/path`.
    pub path: &'a str,
    /// Nesting depth: 0 for members of the artifact itself.
    pub depth: u32,
    /// True when the member was cut short (a limit or read error stopped it).
    pub truncated: bool,
    /// True when the member was streamed as binary: `data` is only its first bytes
    /// (at most [`HEAD`]), the rest was read and checked but not kept.
    pub streamed: bool,
    /// Uncompressed bytes read from the member (`data.len()` unless streamed).
    pub size: u64,
}

/// Receives every file member and every anomaly, in archive order.
pub(crate) trait Visitor {
    /// Whether a member (not a nested archive) whose first [`HEAD`] bytes are `head`
    /// is binary: binary members are streamed, never held whole. Default: a NUL byte.
    fn is_binary(&mut self, _path: &str, head: &[u8]) -> bool {
        head.contains(&0)
    }
    fn member(&mut self, member: &Member<'_>, data: &[u8]);
    /// One window of a text member larger than `max_text_bytes`: whole lines, numbered from
    /// `first_line` (0-based) in the member, except when one line is longer than a window
    /// (a one-line JSON dump): then the window is cut at a character boundary and its first
    /// character is character `first_col` (0-based) of line `first_line`. Return true to have
    /// the member read in windows (every byte seen, the last part then handed to
    /// [`Visitor::member`] as empty data), or false to have it cut at the cap and reported
    /// (fail closed). Default: false.
    fn window(&mut self, _path: &str, _data: &[u8], _first_line: u32, _first_col: u32) -> bool {
        false
    }
    fn anomaly(&mut self, meta: &'static DetectorMeta, path: &str, detail: String);
}

/// Bytes of lines repeated at the start of the next window of an over-size text member.
const WINDOW_OVERLAP: usize = 16 << 10;

/// The container format, from the first bytes (names can lie).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Zip,
    Gzip,
    Bzip2,
    Xz,
    Tar,
}

fn sniff(head: &[u8]) -> Option<Format> {
    match head {
        [b'P', b'K', 3, 4, ..] | [b'P', b'K', 5, 6, ..] => Some(Format::Zip),
        [0x1f, 0x8b, ..] => Some(Format::Gzip),
        [b'B', b'Z', b'h', ..] => Some(Format::Bzip2),
        [0xfd, b'7', b'z', b'X', b'Z', 0, ..] => Some(Format::Xz),
        _ if head.get(257..262) == Some(b"ustar") => Some(Format::Tar),
        _ => None,
    }
}

/// Member names that are archives worth opening (one level, by default).
pub(crate) fn is_archive_name(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    [".whl", ".zip", ".egg", ".tar.gz", ".tgz", ".tar.bz2", ".tbz", ".tar.xz", ".txz", ".tar"]
        .iter()
        .any(|s| lower.ends_with(s))
}

/// Why inflating one member stopped early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    /// The member is larger than the cap (in bytes, and the limit's name) for its kind of content.
    MemberLimit(u64, &'static str),
    TotalLimit,
    Bomb,
}

/// Walks one artifact, feeding a [`Visitor`].
pub(crate) struct Walker<'l, V: Visitor> {
    limits: &'l Limits,
    pub visitor: V,
    /// Uncompressed bytes read into buffers so far.
    pub total: u64,
    /// File members visited so far.
    pub members: u64,
    /// Set once a global limit stops the walk.
    stopped: bool,
    /// Bytes read from members that were stopped as bombs on their own (already reported,
    /// and left out of the whole-archive ratio so the members after them are still read).
    bomb_bytes: u64,
    /// One reused buffer per nesting level.
    bufs: Vec<MemberBuf>,
    /// Fixed scratch buffer that binary members stream through.
    scratch: Vec<u8>,
    /// The raw-deflate state zip members are inflated with, reset between members without
    /// zeroing its window ([`ReusedInflate`], [`RawInflate`]); taken while a member is read, so
    /// a nested archive makes its own.
    inflate: Option<RawInflate>,
    /// Nesting depth of the archive being walked (0: the artifact itself).
    inside: u32,
    /// High-water mark of the bytes held in member buffers (all levels plus scratch).
    pub peak_buffer: usize,
    /// When the walk started (`max_scan_seconds` counts from here).
    started: std::time::Instant,
    /// Set when `max_scan_seconds` stopped the walk.
    pub timed_out: bool,
}

/// How one member was read.
struct ReadOutcome {
    result: io::Result<Option<Stop>>,
    /// Uncompressed bytes read (counted against the total limit).
    size: u64,
    streamed: bool,
}

impl<'l, V: Visitor> Walker<'l, V> {
    pub(crate) fn new(limits: &'l Limits, visitor: V) -> Self {
        Walker {
            limits,
            visitor,
            total: 0,
            members: 0,
            stopped: false,
            bomb_bytes: 0,
            bufs: Vec::new(),
            scratch: Vec::new(),
            inflate: None,
            inside: 0,
            peak_buffer: 0,
            started: std::time::Instant::now(),
            timed_out: false,
        }
    }

    /// Counts `max_scan_seconds` from `started` instead of from now: a scan's later walks
    /// (the second walk of [`super::engine::Revisit`]) share the first one's time limit, so the
    /// whole scan stops within `max_scan_seconds`, not once per walk.
    pub(crate) fn counting_from(mut self, started: std::time::Instant) -> Self {
        self.started = started;
        self
    }

    /// Walk the artifact at `path`; `filename` names it in anomalies about the whole file.
    pub(crate) fn walk_file(&mut self, path: &Path, filename: &str) {
        if let Err(e) = self.try_walk_file(path, filename) {
            self.unreadable(filename, &e.to_string());
        }
    }

    fn try_walk_file(&mut self, path: &Path, filename: &str) -> io::Result<()> {
        let mut file = BufReader::with_capacity(64 << 10, File::open(path)?);
        let size = file.get_ref().metadata()?.len();
        let mut head = [0u8; 512];
        let n = read_up_to(&mut file, &mut head)?;
        file.seek(SeekFrom::Start(0))?;
        self.walk_stream(file, size, &head[..n], filename, "", 0);
        Ok(())
    }

    /// Walk an archive held in `reader` (`size` bytes, starting with `head`).
    fn walk_stream<R: Read + Seek>(&mut self, reader: R, size: u64, head: &[u8], name: &str, prefix: &str, depth: u32) {
        match sniff(head) {
            Some(Format::Zip) => self.walk_zip(reader, size, name, prefix, depth),
            Some(Format::Gzip) => self.walk_tar(flate2::read::MultiGzDecoder::new(reader), size, name, prefix, depth),
            Some(Format::Bzip2) => self.walk_tar(bzip2::read::MultiBzDecoder::new(reader), size, name, prefix, depth),
            Some(Format::Tar) => self.walk_tar(reader, size, name, prefix, depth),
            Some(Format::Xz) => match xz2::stream::Stream::new_stream_decoder(XZ_MEMLIMIT, xz2::stream::CONCATENATED) {
                Ok(stream) => {
                    self.walk_tar(xz2::read::XzDecoder::new_stream(reader, stream), size, name, prefix, depth);
                }
                Err(e) => self.unreadable(name, &format!("xz decoder: {e}")),
            },
            None if size == 0 => self.unreadable(name, "the file is empty"),
            None => self.unreadable(name, "not a zip or tar archive"),
        }
    }

    /// Inside a nested archive the artifact itself was read: what fails there is the
    /// nested archive's own finding, not "the artifact could not be checked".
    fn unreadable(&mut self, path: &str, reason: &str) {
        let meta = if self.inside > 0 { &anomaly::NESTED_UNREADABLE } else { &anomaly::UNREADABLE };
        self.visitor.anomaly(meta, path, reason.to_string());
    }

    // ---- zip ----

    fn walk_zip<R: Read + Seek>(&mut self, mut reader: R, size: u64, name: &str, prefix: &str, depth: u32) {
        let raw_names = central_directory_names(&mut reader).ok();
        if let Err(e) = reader.seek(SeekFrom::Start(0)) {
            return self.unreadable(name, &e.to_string());
        }
        let mut zip = match ZipArchive::new(reader) {
            Ok(z) => z,
            Err(e) => return self.unreadable(name, &e.to_string()),
        };
        if let Some(names) = raw_names {
            self.report_duplicates(names.iter().map(|(n, _)| n.as_slice()), prefix);
            for (central, local) in &names {
                if let Some(local) = local {
                    let path = format!("{prefix}{}", String::from_utf8_lossy(central));
                    let detail = format!("the local header names it {}", escape_bytes(local));
                    self.visitor.anomaly(&anomaly::HEADER_MISMATCH, &path, detail);
                }
            }
        }
        let (start, bomb_start) = (self.total, self.bomb_bytes);
        for i in 0..zip.len() {
            if self.stopped {
                break;
            }
            if !self.count_member() {
                self.member_limit(&format!("{prefix}{}", zip.name_for_index(i).unwrap_or("?")));
                break;
            }
            self.zip_member(&mut zip, i, prefix, depth);
            // Many members each under the per-member floor can still add up to a bomb.
            let inflated = (self.total - start).saturating_sub(self.bomb_bytes - bomb_start);
            if self.bomb_ratio(inflated, size) {
                // Stops this archive only: an outer archive's later members are still scanned.
                let max = self.limits.max_ratio;
                let detail =
                    format!("members together inflate more than {max}:1 (max_ratio); the rest were not scanned");
                self.visitor.anomaly(self.bomb_meta(), name, detail);
                break;
            }
        }
    }

    /// A bomb stopped inside a nested archive (a test fixture, a vendored zip) is reported as
    /// that archive being read only in part, like its encrypted members: pip never inflates a
    /// member of a member, and code that unpacks it is what the detectors judge. The artifact's
    /// own members that inflate past the ratio stay an archive bomb (fail closed).
    fn bomb_meta(&self) -> &'static DetectorMeta {
        if self.inside > 0 {
            &anomaly::NESTED_UNREADABLE
        } else {
            &anomaly::BOMB
        }
    }

    fn bomb_ratio(&self, out: u64, compressed: u64) -> bool {
        exceeds_ratio(out, compressed, self.limits.max_ratio)
    }

    fn zip_member<R: Read + Seek>(&mut self, zip: &mut ZipArchive<R>, i: usize, prefix: &str, depth: u32) {
        // A plain deflated file is inflated with one reused state instead of the fresh one
        // `by_index` allocates and zeroes (≈ 40 KiB, more than inflating a small module costs):
        // the same bytes, checks and error texts ([`ReusedInflate`]). `by_index_raw` finds the
        // content as `by_index` does; anything else (stored, encrypted, a directory, a link, an
        // error) takes the zip crate's own reader below.
        if let Ok(raw) = zip.by_index_raw(i) {
            if raw.compression() == zip::CompressionMethod::Deflated
                && !raw.encrypted()
                && !raw.is_dir()
                && !raw.is_symlink()
            {
                let path = self.check_name(raw.name_raw(), prefix);
                let (compressed, check) = (raw.compressed_size(), raw.crc32());
                let mut buf = self.take_buf(depth);
                let mut state = self.inflate.take().unwrap_or_else(RawInflate::new);
                state.reset();
                let mut reader = ReusedInflate::new(raw, &mut state, check);
                let read = self.read_member(&mut reader, Some(compressed), &path, &mut buf);
                drop(reader);
                self.inflate = Some(state);
                return self.finish_member(&path, read, buf, depth);
            }
        }
        let fallback = zip.name_for_index(i).map(str::to_owned);
        let mut file = match zip.by_index(i) {
            Ok(f) => f,
            Err(e) => return self.zip_open_error(e, &format!("{prefix}{}", fallback.as_deref().unwrap_or("?"))),
        };
        let path = self.check_name(file.name_raw(), prefix);
        if file.is_dir() {
            self.members -= 1;
            return;
        }
        if file.is_symlink() {
            let mut target = Vec::new();
            let _ = (&mut file).take(4096).read_to_end(&mut target);
            let detail = format!("symbolic link to {}", String::from_utf8_lossy(&target));
            return self.visitor.anomaly(&anomaly::LINK, &path, detail);
        }
        let compressed = file.compressed_size();
        let mut buf = self.take_buf(depth);
        let read = self.read_member(&mut file, Some(compressed), &path, &mut buf);
        drop(file);
        self.finish_member(&path, read, buf, depth);
    }

    fn zip_open_error(&mut self, e: ZipError, path: &str) {
        match e {
            // Inside a nested archive (a test fixture, a vendored zip) an encrypted member is an
            // opaque blob like any other the engine cannot open there: the artifact's own members
            // were all read, and nothing can import or run the member without code that decrypts
            // it, which the detectors see. The artifact's own encrypted members stay fail-closed.
            ZipError::UnsupportedArchive(m) if m == ZipError::PASSWORD_REQUIRED && self.inside > 0 => {
                let detail = "encrypted member of a nested archive was not scanned".into();
                self.visitor.anomaly(&anomaly::NESTED_UNREADABLE, path, detail);
            }
            ZipError::UnsupportedArchive(m) if m == ZipError::PASSWORD_REQUIRED => {
                self.visitor.anomaly(&anomaly::ENCRYPTED, path, "encrypted member was not scanned".into());
            }
            e => self.unreadable(path, &e.to_string()),
        }
    }

    // ---- tar ----

    fn walk_tar<R: Read>(&mut self, reader: R, compressed: u64, name: &str, prefix: &str, depth: u32) {
        let limit = self.limits.max_total_bytes.saturating_sub(self.total);
        let mut guard =
            StreamGuard { inner: reader, out: 0, compressed, cap: limit, limits: self.limits, tripped: None };
        // The first header decides whether this is a tar at all: a compressed stream of
        // anything else (a bomb of zeros named `.tar.gz`) must not pass as an empty tar.
        let mut first = [0u8; BLOCK];
        let outcome = match read_up_to(&mut guard, &mut first) {
            Err(e) => Err(e),
            Ok(_) if guard.tripped.is_some() => Ok(()),
            Ok(0) => Err(io::Error::other("the stream is empty: not a tar archive")),
            Ok(n) if n < BLOCK => Err(io::Error::other(format!("not a tar archive: only {n} bytes"))),
            Ok(_) => match tar_header_problem(&first) {
                Some(why) => Err(io::Error::other(format!("not a tar archive: {why}"))),
                None => {
                    let mut stream = Cursor::new(first).chain(&mut guard);
                    match self.walk_tar_entries(&mut stream, prefix, depth) {
                        Some(e) => Err(e),
                        None if self.stopped => Ok(()),
                        // Past the end-of-archive marker only zeros may follow (the second
                        // marker block and record padding): anything else was not scanned.
                        None => match trailing_data(&mut stream) {
                            Ok(Some(what)) => {
                                let detail = format!("{what}; the rest of the stream was not scanned");
                                self.visitor.anomaly(&anomaly::TRAILING_DATA, name, detail);
                                Ok(())
                            }
                            Ok(None) => Ok(()),
                            Err(e) => Err(e),
                        },
                    }
                }
            },
        };
        match (guard.tripped, outcome) {
            (Some(Stop::Bomb), _) => {
                let detail = format!(
                    "stream inflates more than {}:1 (max_ratio; stopped after {} bytes); the rest",
                    self.limits.max_ratio, guard.out
                );
                // Stops this stream only (it cannot be skipped without inflating it); an
                // outer archive's later members are still scanned.
                self.visitor.anomaly(self.bomb_meta(), name, format!("{detail} were not scanned"));
            }
            (Some(_), _) => {
                let max = self.limits.max_total_bytes;
                self.limit_exceeded(
                    name,
                    &format!("more than {max} uncompressed bytes in all (max_total_bytes); the rest"),
                );
            }
            (None, Err(e)) => self.unreadable(name, &e.to_string()),
            (None, Ok(())) => {}
        }
    }

    /// Returns the error that ended the walk early, if any.
    fn walk_tar_entries<R: Read>(&mut self, reader: &mut R, prefix: &str, depth: u32) -> Option<io::Error> {
        let mut archive = tar::Archive::new(reader);
        let mut seen = HashSet::new();
        let entries = match archive.entries() {
            Ok(e) => e,
            Err(e) => return Some(e),
        };
        for entry in entries {
            let mut entry = match entry {
                Ok(e) => e,
                Err(e) => return Some(e),
            };
            if self.stopped {
                break;
            }
            let raw = entry.path_bytes().into_owned();
            let path = self.check_name(&raw, prefix);
            if !seen.insert(raw) {
                self.visitor.anomaly(&anomaly::DUPLICATE, &path, "the name appears more than once".into());
            }
            self.tar_entry(&mut entry, &path, depth, &seen);
        }
        None
    }

    /// `seen`: the raw names of the members before this one (a hard link to one of them
    /// only shares bytes that were already scanned: not an anomaly).
    fn tar_entry<R: Read>(
        &mut self,
        entry: &mut tar::Entry<'_, R>,
        path: &str,
        depth: u32,
        seen: &std::collections::HashSet<Vec<u8>>,
    ) {
        use tar::EntryType as T;
        let kind = entry.header().entry_type();
        match kind {
            T::Link if entry.link_name_bytes().is_some_and(|t| seen.contains(t.as_ref())) => {}
            T::Symlink | T::Link => {
                let target =
                    entry.link_name_bytes().map(|t| String::from_utf8_lossy(&t).into_owned()).unwrap_or_default();
                let what = if kind == T::Symlink { "symbolic" } else { "hard" };
                self.visitor.anomaly(&anomaly::LINK, path, format!("{what} link to {target}"));
            }
            T::Regular | T::Continuous | T::GNUSparse => {
                if !self.count_member() {
                    return self.member_limit(path);
                }
                let mut buf = self.take_buf(depth);
                let read = self.read_member(entry, None, path, &mut buf);
                self.finish_member(path, read, buf, depth);
            }
            _ => {}
        }
    }

    // ---- shared per-member logic ----

    /// Counts one more member; false when that passes the member-count limit or the scan
    /// has run for `max_scan_seconds`.
    fn count_member(&mut self) -> bool {
        if self.started.elapsed().as_secs() >= self.limits.max_scan_seconds {
            self.timed_out = true;
            return false;
        }
        self.members += 1;
        if self.members > self.limits.max_members {
            self.members -= 1;
            return false;
        }
        true
    }

    /// Reports the member-count limit at the first member left unscanned, and stops the walk.
    fn member_limit(&mut self, first_unscanned: &str) {
        if self.timed_out {
            let secs = self.limits.max_scan_seconds;
            let what = format!("after {secs} s of scanning (max_scan_seconds), this member and those after it");
            return self.limit_exceeded(first_unscanned, &what);
        }
        let max = self.limits.max_members;
        self.limit_exceeded(
            first_unscanned,
            &format!("more than {max} members (max_members); this one and those after it"),
        );
    }

    /// Reports non-UTF-8 and traversal names; returns the display path.
    fn check_name(&mut self, raw: &[u8], prefix: &str) -> String {
        let name = String::from_utf8_lossy(raw);
        let path = format!("{prefix}{name}");
        if std::str::from_utf8(raw).is_err() {
            self.visitor.anomaly(&anomaly::NON_UTF8, &path, format!("raw name bytes {}", escape_bytes(raw)));
        }
        if name.chars().any(char::is_control) {
            let detail = format!("raw name bytes {}", escape_bytes(raw));
            self.visitor.anomaly(&anomaly::CONTROL_NAME, &path.escape_debug().to_string(), detail);
        }
        if let Some(why) = traversal(&name) {
            self.visitor.anomaly(&anomaly::PATH_TRAVERSAL, &path, why.into());
        }
        path
    }

    fn report_duplicates<'a>(&mut self, names: impl Iterator<Item = &'a [u8]>, prefix: &str) {
        let mut seen = HashSet::new();
        let mut reported = HashSet::new();
        for raw in names {
            if !seen.insert(raw) && reported.insert(raw) {
                let path = format!("{prefix}{}", String::from_utf8_lossy(raw));
                self.visitor.anomaly(&anomaly::DUPLICATE, &path, "the name appears more than once".into());
            }
        }
    }

    fn take_buf(&mut self, depth: u32) -> MemberBuf {
        let d = depth as usize;
        if self.bufs.len() <= d {
            self.bufs.resize_with(d + 1, MemberBuf::default);
        }
        let mut buf = std::mem::take(&mut self.bufs[d]);
        buf.clear();
        buf
    }

    /// Inflate one member, checking the limits after every chunk. The first [`HEAD`]
    /// bytes decide how: a nested archive is buffered up to `max_member_bytes`, a
    /// binary member streams through the scratch buffer (only its head stays in
    /// `buf`), anything else is text, buffered up to `max_text_bytes`.
    fn read_member<R: Read>(
        &mut self,
        r: &mut R,
        compressed: Option<u64>,
        path: &str,
        buf: &mut MemberBuf,
    ) -> ReadOutcome {
        let mut size = 0u64;
        let mut streamed = false;
        let result = self.pump(r, compressed, path, buf, &mut size, &mut streamed);
        ReadOutcome { result, size, streamed }
    }

    fn pump<R: Read>(
        &mut self,
        r: &mut R,
        compressed: Option<u64>,
        path: &str,
        buf: &mut MemberBuf,
        size: &mut u64,
        streamed: &mut bool,
    ) -> io::Result<Option<Stop>> {
        let l = self.limits;
        let room = l.max_total_bytes.saturating_sub(self.total);
        let text_cap = if l.max_text_bytes <= l.max_member_bytes {
            (l.max_text_bytes, "max_text_bytes")
        } else {
            (l.max_member_bytes, "max_member_bytes")
        };
        // Until the head is in, the text cap applies (it is the smallest).
        let mut cap = text_cap;
        let mut decided = false;
        // Set once an over-size text member is read in windows: where its next window starts
        // (line, and character in that line when a line is longer than a window).
        let mut window_at: Option<(u32, u32)> = None;
        loop {
            let n = if *streamed {
                if self.scratch.len() < CHUNK as usize {
                    self.scratch.resize(CHUNK as usize, 0);
                }
                read_up_to(r, &mut self.scratch)? as u64
            } else {
                let step = if decided { CHUNK } else { HEAD as u64 };
                buf.read_from(r, step)? as u64
            };
            *size += n;
            // A streamed binary member costs no memory, only inflate time: its ratio is judged
            // from `max_member_bytes` on, so a native library padded with zeros (page-aligned
            // sections) is read whole, while a bomb still stops there.
            let floor = if *streamed { l.max_member_bytes.max(RATIO_FLOOR) } else { RATIO_FLOOR };
            if *size > floor && compressed.is_some_and(|c| self.bomb_ratio(*size, c)) {
                return Ok(Some(Stop::Bomb));
            }
            if !decided && n == HEAD as u64 {
                decided = true;
                if is_archive_name(path) && sniff(buf).is_some() {
                    cap = (l.max_member_bytes, "max_member_bytes");
                } else if self.visitor.is_binary(path, buf) {
                    *streamed = true;
                }
            }
            if *size > room {
                // Keep what fits under the total limit.
                *size = room;
                buf.truncate(room.min(buf.len() as u64) as usize);
                return Ok(Some(Stop::TotalLimit));
            }
            if !*streamed && buf.len() as u64 > cap.0 {
                if decided && cap.1 == "max_text_bytes" {
                    if let Some(next) = self.text_window(path, buf, window_at.unwrap_or((0, 0)), cap.0) {
                        window_at = Some(next);
                        continue;
                    }
                }
                buf.truncate(cap.0 as usize);
                *size = cap.0;
                return Ok(Some(Stop::MemberLimit(cap.0, cap.1)));
            }
            if n == 0 {
                if let Some((line, col)) = window_at {
                    // The last lines of a windowed member: the visitor already took the others.
                    self.visitor.window(path, buf, line, col);
                    buf.clear();
                }
                return Ok(None);
            }
        }
    }

    /// Hand the visitor the whole lines of an over-size text member's buffer; keep the lines
    /// of its last [`WINDOW_OVERLAP`] bytes (a construct across the cut is then seen whole in
    /// the next window) and the unfinished line. A buffer that holds no line end (one line
    /// longer than the cap) is cut at a character boundary instead, its last
    /// [`WINDOW_OVERLAP`] bytes kept. `at` is where the buffer starts (line, character in the
    /// line); returns where the kept part starts, or `None` when the visitor declines (the
    /// caller cuts).
    fn text_window(&mut self, path: &str, buf: &mut MemberBuf, at: (u32, u32), cap: u64) -> Option<(u32, u32)> {
        let (first_line, first_col) = at;
        let Some(end) = buf.iter().rposition(|&b| b == b'\n').map(|p| p + 1) else {
            return self.byte_window(path, buf, at);
        };
        if !self.visitor.window(path, &buf[..end], first_line, first_col) {
            return None;
        }
        let overlap_from =
            buf[..end.saturating_sub(WINDOW_OVERLAP)].iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
        // Keep the overlap only when what stays leaves room to progress.
        let keep_from = if ((buf.len() - overlap_from) as u64) < cap / 2 { overlap_from } else { end };
        let lines = buf[..keep_from].iter().filter(|&&b| b == b'\n').count() as u32;
        // Kept from a line start, unless nothing was drained and the buffer began mid-line.
        let col = if keep_from == 0 { first_col } else { 0 };
        buf.drain_front(keep_from);
        Some((first_line + lines, col))
    }

    /// The window of a buffer with no line end: all of it up to a character boundary, keeping
    /// its last [`WINDOW_OVERLAP`] bytes (from a character boundary) for the next window.
    fn byte_window(&mut self, path: &str, buf: &mut MemberBuf, at: (u32, u32)) -> Option<(u32, u32)> {
        let (line, col) = at;
        let boundary = |mut i: usize| {
            while i > 0 && i < buf.len() && buf[i] & 0xC0 == 0x80 {
                i -= 1;
            }
            i
        };
        let end = boundary(buf.len());
        let keep_from = boundary(end.saturating_sub(WINDOW_OVERLAP));
        if keep_from == 0 || !self.visitor.window(path, &buf[..end], line, col) {
            return None;
        }
        let chars = buf[..keep_from].iter().filter(|&&b| b & 0xC0 != 0x80).count() as u32;
        buf.drain_front(keep_from);
        Some((line, col + chars))
    }

    /// Report how reading ended, hand the data to the visitor, open nested archives.
    fn finish_member(&mut self, path: &str, read: ReadOutcome, buf: MemberBuf, depth: u32) {
        let ReadOutcome { result, size, streamed } = read;
        let truncated = !matches!(result, Ok(None));
        if matches!(result, Ok(Some(Stop::Bomb))) {
            self.bomb_bytes += size;
        }
        match result {
            Ok(None) => {}
            Ok(Some(stop)) => self.report_stop(stop, path, buf.len()),
            Err(e) if e.to_string().contains("Invalid checksum") => {
                self.visitor.anomaly(&anomaly::CRC, path, "stored CRC-32 does not match the content".into());
            }
            Err(e) => self.unreadable(path, &e.to_string()),
        }
        self.total += size;
        let held = buf.capacity() + self.scratch.capacity() + self.bufs.iter().map(MemberBuf::capacity).sum::<usize>();
        self.peak_buffer = self.peak_buffer.max(held);
        self.visitor.member(&Member { path, depth, truncated, streamed, size }, &buf);
        if !truncated && !streamed && is_archive_name(path) && sniff(&buf).is_some() {
            self.nested(path, &buf, depth);
        }
        self.bufs[depth as usize] = buf;
    }

    fn report_stop(&mut self, stop: Stop, path: &str, read: usize) {
        let l = self.limits;
        match stop {
            Stop::Bomb => {
                let detail = format!(
                    "inflates more than {}:1 (max_ratio); only the first {read} bytes were scanned",
                    l.max_ratio
                );
                self.visitor.anomaly(self.bomb_meta(), path, detail);
            }
            Stop::MemberLimit(cap, key) => {
                let detail = format!("member is larger than {cap} bytes ({key}); only the first {read} were scanned");
                self.visitor.anomaly(&anomaly::LIMIT, path, detail);
            }
            Stop::TotalLimit => self.limit_exceeded(
                path,
                &format!("more than {} uncompressed bytes in all (max_total_bytes); the rest", l.max_total_bytes),
            ),
        }
    }

    /// Reports a limit that stops the whole walk: `what` and everything after it is not scanned.
    fn limit_exceeded(&mut self, path: &str, what: &str) {
        self.stopped = true;
        self.visitor.anomaly(&anomaly::LIMIT, path, format!("{what} were not scanned"));
    }

    fn nested(&mut self, path: &str, data: &[u8], depth: u32) {
        if depth >= self.limits.max_nesting {
            let detail = format!("archive nested deeper than {} level(s) was not scanned", self.limits.max_nesting);
            return self.visitor.anomaly(&anomaly::NESTING, path, detail);
        }
        let prefix = format!("{path}!/");
        self.inside += 1;
        self.walk_stream(Cursor::new(data), data.len() as u64, data, path, &prefix, depth + 1);
        self.inside -= 1;
    }
}

/// Wraps a decompressed tar stream: stops it (as end of input) at the total limit
/// or when it inflates beyond the ratio limit, and remembers why.
struct StreamGuard<'l, R> {
    inner: R,
    out: u64,
    compressed: u64,
    cap: u64,
    limits: &'l Limits,
    tripped: Option<Stop>,
}

impl<R: Read> Read for StreamGuard<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.tripped.is_some() {
            return Ok(0);
        }
        let n = self.inner.read(buf)?;
        self.out += n as u64;
        if exceeds_ratio(self.out, self.compressed, self.limits.max_ratio) {
            self.tripped = Some(Stop::Bomb);
        } else if self.out > self.cap.saturating_add(1 << 20) {
            // Headers and padding are not content: allow a little slack over the content cap.
            self.tripped = Some(Stop::TotalLimit);
        }
        Ok(if self.tripped.is_some() { 0 } else { n })
    }
}

/// Why the first block of a decompressed stream is not a tar header (`None`: it is one,
/// or it is all zeros, an empty archive). Requires the POSIX (`ustar\0`) or GNU
/// (`ustar  \0`) magic and a matching checksum; pre-POSIX v7 tars have no place on an index.
fn tar_header_problem(block: &[u8; BLOCK]) -> Option<&'static str> {
    if block.iter().all(|&b| b == 0) {
        return None;
    }
    if &block[257..263] != b"ustar\0" && &block[257..265] != b"ustar  \0" {
        return Some("the first header has no ustar magic");
    }
    let field = &block[148..156];
    let digits: Vec<u8> =
        field.iter().copied().skip_while(|b| *b == b' ').take_while(|b| (b'0'..=b'7').contains(b)).collect();
    let stored = std::str::from_utf8(&digits).ok().and_then(|d| u32::from_str_radix(d, 8).ok());
    let sum: u32 = block.iter().enumerate().map(|(i, &b)| if (148..156).contains(&i) { 32 } else { b as u32 }).sum();
    if stored != Some(sum) {
        return Some("the first header's checksum does not match");
    }
    None
}

/// Reads what follows the end-of-archive marker: `None` when only zeros follow (the
/// second marker block and record padding, at most [`TRAILING_ZEROS`]), else why not.
/// Memory stays at one chunk; the caller's [`StreamGuard`] bounds time (ratio, total).
fn trailing_data<R: Read>(r: &mut R) -> io::Result<Option<String>> {
    let mut chunk = vec![0u8; CHUNK as usize];
    let mut offset = 0u64;
    loop {
        let n = r.read(&mut chunk)?;
        if n == 0 {
            return Ok(None);
        }
        if let Some(i) = chunk[..n].iter().position(|&b| b != 0) {
            let at = offset + i as u64;
            return Ok(Some(format!("non-zero data {at} bytes after the tar end-of-archive marker")));
        }
        offset += n as u64;
        if offset > TRAILING_ZEROS {
            return Ok(Some(format!("more than {TRAILING_ZEROS} bytes of zeros after the tar end-of-archive marker")));
        }
    }
}

/// True when `out` bytes inflated from `compressed` exceed `max_ratio` (past the 1 MiB floor).
fn exceeds_ratio(out: u64, compressed: u64, max_ratio: u64) -> bool {
    out > RATIO_FLOOR && out / compressed.max(1) > max_ratio
}

/// Why a name is unsafe to extract, if it is.
fn traversal(name: &str) -> Option<&'static str> {
    let bytes = name.as_bytes();
    if name.starts_with('/') || name.starts_with('\\') {
        return Some("absolute path");
    }
    if bytes.len() >= 2 && bytes[1] == b':' && bytes[0].is_ascii_alphabetic() {
        return Some("absolute Windows path");
    }
    if name.split(['/', '\\']).any(|seg| seg == "..") {
        return Some("path contains `..`");
    }
    None
}

fn escape_bytes(raw: &[u8]) -> String {
    raw.iter().flat_map(|&b| std::ascii::escape_default(b)).map(char::from).collect()
}

/// A member's bytes in a buffer reused from member to member (one per nesting level) whose
/// bytes past the member's stay initialised: `Read::read_to_end` into a cleared `Vec` zeroes the
/// spare capacity it reads into on every call (a `Read` such as [`ReusedInflate`] cannot offer
/// the unstable `read_buf`), which on a wheel of small modules cost as much as a tenth of
/// inflating them. Here a byte is zeroed once, when the buffer first grows over it.
#[derive(Default)]
struct MemberBuf {
    /// Initialised bytes: the member's first `len`, then what earlier members left.
    bytes: Vec<u8>,
    len: usize,
}

impl std::ops::Deref for MemberBuf {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

impl MemberBuf {
    fn clear(&mut self) {
        self.len = 0;
    }

    fn truncate(&mut self, len: usize) {
        self.len = self.len.min(len);
    }

    fn capacity(&self) -> usize {
        self.bytes.capacity()
    }

    /// Drops the first `n` bytes (`Vec::drain(..n)`).
    fn drain_front(&mut self, n: usize) {
        self.bytes.copy_within(n..self.len, 0);
        self.len -= n;
    }

    /// What `r.by_ref().take(limit).read_to_end(vec)` does to a `Vec` holding the same bytes:
    /// appends what `r` yields until it yields nothing or `limit` bytes came, retrying
    /// interrupted reads; on an error, the bytes read before it stay. Returns the count read.
    fn read_from<R: Read>(&mut self, r: &mut R, limit: u64) -> io::Result<usize> {
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        let mut got = 0;
        while got < limit {
            let end = self.len.saturating_add(limit - got);
            if self.bytes.len() < end {
                self.bytes.resize(end, 0);
            }
            match r.read(&mut self.bytes[self.len..end]) {
                Ok(0) => break,
                Ok(k) => {
                    self.len += k;
                    got += k;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(got)
    }
}

fn read_up_to<R: Read>(r: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// Raw names from the central directory, duplicates included.
///
/// Written by hand because the `zip` crate keys members by name and silently keeps
/// one of two duplicates, which is exactly the trick (scanner reads one, installer
/// writes the other) this check exists to report.
/// A central directory entry's raw name, and its local header's when that differs.
type CentralName = (Vec<u8>, Option<Vec<u8>>);

/// A deflated zip member read through a reused raw-deflate state: what the zip crate's
/// `by_index` reader does (`Crc32Reader` over flate2's `bufread::DeflateDecoder` over an
/// 8 KiB `BufReader` of the member's compressed bytes), with the state handed in instead of
/// allocated per member. `read` follows `flate2::zio::read` and the zip crate's CRC check
/// step for step, so the bytes, the points where errors are raised and their texts
/// (`corrupt deflate stream`, `incomplete deflate stream`, `Invalid checksum`) are the
/// same (tested against `by_index` on good, corrupt, truncated and mis-summed members). One
/// difference, on purpose: a back-reference before the member's start is `corrupt deflate
/// stream` here, where `by_index`'s zeroed window reads zeros ([`RawInflate`]).
struct ReusedInflate<'s, R: Read> {
    input: io::BufReader<R>,
    state: &'s mut RawInflate,
    crc: flate2::Crc,
    check: u32,
}

impl<'s, R: Read> ReusedInflate<'s, R> {
    /// `state` must be fresh or reset.
    fn new(raw: R, state: &'s mut RawInflate, check: u32) -> Self {
        ReusedInflate { input: io::BufReader::new(raw), state, crc: flate2::Crc::new(), check }
    }

    fn inflate(&mut self, dst: &mut [u8]) -> io::Result<usize> {
        use flate2::Status;
        use io::BufRead;
        loop {
            let input = self.input.fill_buf()?;
            let eof = input.is_empty();
            let (ret, consumed, read) = self.state.decompress(input, dst, eof);
            self.input.consume(consumed);
            return match ret {
                Ok(Status::Ok | Status::BufError) if read == 0 && !eof && !dst.is_empty() => continue,
                Ok(Status::Ok | Status::BufError) if read == 0 && eof && !dst.is_empty() => {
                    Err(io::Error::new(io::ErrorKind::UnexpectedEof, "incomplete deflate stream"))
                }
                Ok(Status::Ok | Status::BufError | Status::StreamEnd) => Ok(read),
                Err(e) => Err(io::Error::new(io::ErrorKind::InvalidInput, e.to_string())),
            };
        }
    }
}

impl<R: Read> Read for ReusedInflate<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let count = self.inflate(buf)?;
        if count == 0 && !buf.is_empty() && self.crc.sum() != self.check {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "Invalid checksum"));
        }
        self.crc.update(&buf[..count]);
        Ok(count)
    }
}

/// The raw name of every central directory entry, each with the name its local header
/// gives when that differs (`None` when they agree or the local header cannot be checked).
fn central_directory_names<R: Read + Seek>(r: &mut R) -> io::Result<Vec<CentralName>> {
    let (start, size, shift) = central_directory_bounds(r)?;
    if size > MAX_CENTRAL_DIRECTORY {
        return Err(io::Error::other("central directory too large"));
    }
    r.seek(SeekFrom::Start(start))?;
    let mut cd = vec![0u8; size as usize];
    r.read_exact(&mut cd)?;
    let mut names = Vec::new();
    let mut pos = 0;
    while cd.get(pos..pos + 4) == Some(b"PK\x01\x02") && pos + 46 <= cd.len() {
        let (n, x, c) = (le16(&cd[pos + 28..]), le16(&cd[pos + 30..]), le16(&cd[pos + 32..]));
        let name = cd.get(pos + 46..pos + 46 + n).ok_or_else(|| io::Error::other("truncated entry"))?;
        let local = le32(&cd[pos + 42..]);
        let local_name = match (local, shift) {
            (0xFFFF_FFFF, _) | (_, None) => None, // zip64 offsets: the zip reader checks these
            (at, Some(shift)) => local_name(r, at as u64 + shift).filter(|l| l != name),
        };
        names.push((name.to_vec(), local_name));
        pos += 46 + n + x + c;
    }
    Ok(names)
}

/// The name in the local header at `at`, or `None` when there is no local header there
/// (the zip reader reports that one).
fn local_name<R: Read + Seek>(r: &mut R, at: u64) -> Option<Vec<u8>> {
    let mut head = [0u8; 30];
    r.seek(SeekFrom::Start(at)).ok()?;
    r.read_exact(&mut head).ok()?;
    if &head[..4] != b"PK\x03\x04" {
        return None;
    }
    let mut name = vec![0u8; le16(&head[26..])];
    r.read_exact(&mut name).ok()?;
    Some(name)
}

/// Start offset and size of the central directory (zip64-aware).
/// Also how far the archive sits into the file (data prepended to it), where the record
/// says; `None` for zip64.
fn central_directory_bounds<R: Read + Seek>(r: &mut R) -> io::Result<(u64, u64, Option<u64>)> {
    let len = r.seek(SeekFrom::End(0))?;
    let tail_len = len.min(22 + 65535);
    r.seek(SeekFrom::Start(len - tail_len))?;
    let mut tail = vec![0u8; tail_len as usize];
    r.read_exact(&mut tail)?;
    let eocd = tail.windows(4).rposition(|w| w == b"PK\x05\x06").filter(|&p| p + 22 <= tail.len());
    let eocd = eocd.ok_or_else(|| io::Error::other("no end of central directory"))?;
    let size = le32(&tail[eocd + 12..]) as u64;
    let offset = le32(&tail[eocd + 16..]) as u64;
    if size != 0xFFFF_FFFF && offset != 0xFFFF_FFFF {
        // Measured back from the record, so data prepended to the archive does not matter.
        let eocd_abs = len - tail_len + eocd as u64;
        let start = eocd_abs.checked_sub(size).ok_or_else(|| io::Error::other("bad size"))?;
        return Ok((start, size, start.checked_sub(offset)));
    }
    let loc = eocd.checked_sub(20).map(|p| &tail[p..eocd]).filter(|l| l.starts_with(b"PK\x06\x07"));
    let loc = loc.ok_or_else(|| io::Error::other("no zip64 locator"))?;
    r.seek(SeekFrom::Start(le64(&loc[8..])))?;
    let mut rec = [0u8; 56];
    r.read_exact(&mut rec)?;
    Ok((le64(&rec[48..]), le64(&rec[40..]), None))
}

fn le16(b: &[u8]) -> usize {
    u16::from_le_bytes([b[0], b[1]]) as usize
}
fn le32(b: &[u8]) -> u32 {
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}
fn le64(b: &[u8]) -> u64 {
    u64::from_le_bytes(b[..8].try_into().unwrap_or([0; 8]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// Every member read the way the walker reads (`take(step).read_to_end` until 0, or small
    /// reads): the bytes, then the error that ended it (kind and text), if any.
    /// A member's bytes and the error that ended its read (kind and text), if any.
    type MemberRead = (Vec<u8>, Option<(io::ErrorKind, String)>);
    /// A member's name, its read by `by_index` and by [`ReusedInflate`], and its compressed bytes.
    type BothReads = (String, [MemberRead; 2], Vec<u8>);

    fn read_all<R: Read>(r: &mut R, small: bool) -> MemberRead {
        let mut out = Vec::new();
        loop {
            let got = if small {
                let mut b = [0u8; 7];
                r.read(&mut b).inspect(|&n| out.extend_from_slice(&b[..n]))
            } else {
                r.by_ref().take(HEAD as u64).read_to_end(&mut out)
            };
            match got {
                Ok(0) => return (out, None),
                Ok(_) => {}
                Err(e) => return (out, Some((e.kind(), e.to_string()))),
            }
        }
    }

    /// What the zip crate's `by_index` reader and [`ReusedInflate`] (one state for the whole
    /// archive, reset per member) give for every member, with the member's compressed bytes:
    /// they must be the same (but see [`reaches_before_start`]).
    fn both_readers(bytes: &[u8], small: bool) -> Option<Vec<BothReads>> {
        let mut zip = ZipArchive::new(Cursor::new(bytes)).ok()?;
        let mut state = RawInflate::new();
        let mut out = Vec::new();
        for i in 0..zip.len() {
            let Ok(mut file) = zip.by_index(i) else { continue };
            let name = file.name().to_string();
            let deflated = file.compression() == zip::CompressionMethod::Deflated;
            let old = read_all(&mut file, small);
            drop(file);
            if !deflated {
                continue;
            }
            let mut compressed = Vec::new();
            let _ = zip.by_index_raw(i).expect("by_index opened it").read_to_end(&mut compressed);
            let raw = zip.by_index_raw(i).expect("by_index opened it");
            let check = raw.crc32();
            state.reset();
            let new = read_all(&mut ReusedInflate::new(raw, &mut state, check), small);
            out.push((name, [old, new], compressed));
        }
        Some(out)
    }

    /// Whether a raw deflate stream, whose bytes through a zeroed window are `zeroed`, holds a
    /// back-reference before its start: miniz_oxide's one-shot decoder (a non-wrapping buffer,
    /// which checks every distance against the bytes written) fails where the zeroed window
    /// read on. Only the distance check tells the two apart.
    fn reaches_before_start(raw: &[u8], zeroed: &[u8]) -> bool {
        use miniz_oxide::inflate::core::{decompress, inflate_flags, DecompressorOxide};
        let mut out = vec![0u8; zeroed.len() + 1024];
        let flags = inflate_flags::TINFL_FLAG_USING_NON_WRAPPING_OUTPUT_BUF;
        let (status, _, written) = decompress(&mut DecompressorOxide::new(), raw, &mut out, 0, flags);
        status == miniz_oxide::inflate::TINFLStatus::Failed && zeroed.len() > written
    }

    /// Raw deflate written bit by bit: one fixed-Huffman block (RFC 1951, 3.2.6).
    struct FixedBlock {
        bytes: Vec<u8>,
        acc: u64,
        bits: u32,
    }

    impl FixedBlock {
        fn new() -> Self {
            let mut b = FixedBlock { bytes: Vec::new(), acc: 0, bits: 0 };
            b.put(1, 1); // BFINAL
            b.put(1, 2); // BTYPE = fixed Huffman codes
            b
        }
        /// `n` bits of `v`, least significant first (header bits, extra bits).
        fn put(&mut self, v: u32, n: u32) {
            self.acc |= u64::from(v) << self.bits;
            self.bits += n;
            while self.bits >= 8 {
                self.bytes.push(self.acc as u8);
                self.acc >>= 8;
                self.bits -= 8;
            }
        }
        /// A Huffman code of `n` bits, most significant first.
        fn code(&mut self, c: u32, n: u32) {
            self.put(c.reverse_bits() >> (32 - n), n);
        }
        fn literal(mut self, text: &[u8]) -> Self {
            for &b in text {
                match b {
                    0..=143 => self.code(0x30 + u32::from(b), 8),
                    _ => self.code(0x190 + u32::from(b) - 144, 9),
                }
            }
            self
        }
        /// A copy of 3 bytes from `dist` back (length code 257), `dist` in 97..=128 (code 13).
        fn copy3(mut self, dist: u32) -> Self {
            assert!((97..=128).contains(&dist));
            self.code(1, 7);
            self.code(13, 5);
            self.put(dist - 97, 5);
            self
        }
        fn end(mut self) -> Vec<u8> {
            self.code(0, 7);
            if self.bits > 0 {
                self.bytes.push(self.acc as u8);
            }
            self.bytes
        }
    }

    fn raw_deflate(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::new(6));
        e.write_all(data).expect("deflate");
        e.finish().expect("deflate")
    }

    /// One member after another through the same reused state, as the walker reads them.
    fn read_in_turn(members: &[(&[u8], u32)]) -> Vec<MemberRead> {
        let mut state = RawInflate::new();
        members
            .iter()
            .map(|&(compressed, check)| {
                state.reset();
                read_all(&mut ReusedInflate::new(compressed, &mut state, check), false)
            })
            .collect()
    }

    /// What the zip crate's fresh, zeroed state reads from a raw stream.
    fn zeroed_window(compressed: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let _ = flate2::read::DeflateDecoder::new(compressed).read_to_end(&mut out);
        out
    }

    #[test]
    fn a_reused_window_never_shows_the_previous_members_bytes() {
        let secret = b"SECRET-TOKEN-".repeat(4_000); // 52 KB: fills the whole window
        let previous = raw_deflate(&secret);
        let crc = |b: &[u8]| {
            let mut c = flate2::Crc::new();
            c.update(b);
            c.sum()
        };
        let corrupt = Some((io::ErrorKind::InvalidInput, "corrupt deflate stream".to_string()));
        // The previous member cut in the middle: read as far as it goes, then an error.
        let cut = &previous[..previous.len() / 2];
        struct Case {
            name: &'static str,
            stream: Vec<u8>,
            /// What the member must read as after the previous one, and the error it ends with.
            bytes: Vec<u8>,
            error: Option<(io::ErrorKind, String)>,
        }
        let cases = [
            Case {
                name: "a copy from 100 back at byte 2 (before the start)",
                stream: FixedBlock::new().literal(b"ab").copy3(100).end(),
                bytes: Vec::new(),
                error: corrupt.clone(),
            },
            Case {
                name: "a copy from 128 back at byte 127 (one before the start)",
                stream: FixedBlock::new().literal(&[b'x'; 127]).copy3(128).end(),
                bytes: Vec::new(),
                error: corrupt.clone(),
            },
            Case {
                name: "a copy from 97 back at byte 97 (the first byte)",
                stream: FixedBlock::new().literal(&b"0123456789".repeat(10)[..97]).copy3(97).end(),
                bytes: [&b"0123456789".repeat(10)[..97], b"012"].concat(),
                error: None,
            },
            Case {
                name: "40 KB of this member's own bytes (the window wraps)",
                stream: raw_deflate(&[b'z'; 40_000])[..].to_vec(),
                bytes: vec![b'z'; 40_000],
                error: None,
            },
        ];
        for case in &cases {
            let sum = crc(&case.bytes);
            for previous in [&previous[..], cut] {
                let prev_sum = crc(&secret);
                let reads = read_in_turn(&[(previous, prev_sum), (&case.stream, sum), (&case.stream, sum)]);
                for (k, read) in reads[1..].iter().enumerate() {
                    assert_eq!(read.1, case.error, "{}: read {k} after the previous member", case.name);
                    assert_eq!(read.0, case.bytes, "{}: read {k} after the previous member", case.name);
                    assert!(
                        !read.0.windows(6).any(|w| w == b"SECRET"),
                        "{}: the previous member's bytes leaked",
                        case.name
                    );
                }
            }
        }
        // The zip crate's zeroed window reads zeros where the reused one refuses.
        assert_eq!(zeroed_window(&cases[0].stream), b"ab\0\0\0");
        assert_eq!(zeroed_window(&cases[2].stream), cases[2].bytes);
        assert!(reaches_before_start(&cases[0].stream, &zeroed_window(&cases[0].stream)));
        assert!(!reaches_before_start(&cases[2].stream, &zeroed_window(&cases[2].stream)));
    }

    fn deflated_zip(entries: &[(String, Vec<u8>)], level: i64) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .compression_level(Some(level));
        for (name, data) in entries {
            w.start_file(name.as_str(), opts).expect("start_file");
            w.write_all(data).expect("write");
        }
        w.finish().expect("finish").into_inner()
    }

    fn xorshift(seed: &mut u64) -> u64 {
        *seed ^= *seed << 13;
        *seed ^= *seed >> 7;
        *seed ^= *seed << 17;
        *seed
    }

    #[test]
    fn reused_inflate_reads_what_the_zip_crate_reads() {
        let module = b"import os\nVERSION = '1.0'\ndef main():\n    return os.getcwd()\n".repeat(400);
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let noise: Vec<u8> = (0..70_000).map(|_| xorshift(&mut seed) as u8).collect();
        let named: Vec<(String, Vec<u8>)> = vec![
            ("empty.txt".into(), Vec::new()),
            ("one.py".into(), b"x".to_vec()),
            ("module.py".into(), module.clone()),
            ("noise.bin".into(), noise.clone()),
            ("zeros.dat".into(), vec![0u8; 300_000]),
            ("after.py".into(), b"print('after the big ones')\n".to_vec()),
        ];
        let mut archives: Vec<(String, Vec<u8>)> = Vec::new();
        for level in [1, 6, 9] {
            archives.push((format!("named members, level {level}"), deflated_zip(&named, level)));
        }
        // Random archives: members of random length cut from the module, the noise and zeros.
        for case in 0..200 {
            let entries: Vec<(String, Vec<u8>)> = (0..(xorshift(&mut seed) % 6 + 1))
                .map(|k| {
                    let src: &[u8] = match xorshift(&mut seed) % 3 {
                        0 => &module,
                        1 => &noise,
                        _ => &[0u8; 20_000],
                    };
                    let len = (xorshift(&mut seed) % src.len() as u64) as usize;
                    (format!("m{k}"), src[..len].to_vec())
                })
                .collect();
            archives.push((format!("random archive {case}"), deflated_zip(&entries, 6)));
        }
        // Damaged copies: one byte of compressed data changed (a corrupt stream, a wrong length
        // or a CRC mismatch), one stored CRC changed, and a member's compressed size cut short.
        let mut damaged = Vec::new();
        for (what, bytes) in archives.iter().take(60) {
            for _ in 0..10 {
                let mut b = bytes.clone();
                let at = 30 + (xorshift(&mut seed) as usize) % (b.len().saturating_sub(60).max(1));
                b[at] ^= 1 << (xorshift(&mut seed) % 8);
                damaged.push((format!("{what}, byte {at} flipped"), b));
            }
        }
        archives.extend(damaged);
        // A member whose compressed size (central directory) is cut short: the stream ends early.
        let mut cut = archives[1].1.clone();
        let name_at = cut.windows(9).rposition(|w| w == b"module.py").expect("central entry");
        let size_at = name_at - 46 + 20;
        let size = u32::from_le_bytes(cut[size_at..size_at + 4].try_into().expect("4 bytes"));
        cut[size_at..size_at + 4].copy_from_slice(&(size - 10).to_le_bytes());
        archives.push(("module.py cut short".into(), cut));
        let mut texts = std::collections::BTreeSet::new();
        let mut errors = 0;
        let mut compared = 0;
        let mut before_start = 0;
        for (what, bytes) in &archives {
            for small in [false, true] {
                let Some(members) = both_readers(bytes, small) else { continue };
                for (name, [old, new], raw) in members {
                    compared += 1;
                    if old != new && reaches_before_start(&raw, &old.0) {
                        // The one difference: the zip crate reads zeros before the stream's start.
                        let corrupt = Some((io::ErrorKind::InvalidInput, "corrupt deflate stream".to_string()));
                        assert_eq!(new.1, corrupt, "{what}: {name}: before the start (small reads: {small})");
                        assert!(old.0.starts_with(&new.0), "{what}: {name}: bytes before the failure differ");
                        before_start += 1;
                        continue;
                    }
                    assert_eq!(old.1, new.1, "{what}: {name}: error (small reads: {small})");
                    assert!(old.0 == new.0, "{what}: {name}: bytes differ (small reads: {small})");
                    errors += usize::from(old.1.is_some());
                    texts.extend(old.1.map(|e| e.1));
                }
            }
        }
        assert!(compared > 2_000, "{compared} members compared");
        assert!(before_start < compared / 100, "{before_start} of {compared} reached before the start");
        assert!(errors > 50, "the damaged copies raise errors: {errors}");
        for text in ["corrupt deflate stream", "incomplete deflate stream", "Invalid checksum"] {
            assert!(texts.contains(text), "no member raised {text:?}: {texts:?}");
        }
    }
}
