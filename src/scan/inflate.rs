//! The raw-deflate state the archive walker inflates zip members with, reused from one member
//! to the next without zeroing its window.
//!
//! Owns: [`RawInflate`], miniz_oxide's decompressor with a 32 KiB window of its own, and its
//! streaming step (`decompress`), which answers as flate2's `Decompress::decompress` over
//! miniz_oxide's `inflate::stream::inflate` does (the same bytes, consumed counts, statuses and
//! the same points of failure) for every stream whose back-references stay inside it.
//! Must not: read archives, check CRCs or limits (the walker's `ReusedInflate` does), or let a
//! stream read window bytes it did not write: until a stream has filled the window, the window
//! is decoded as a non-wrapping buffer, so a back-reference before the stream's start is an
//! error (`corrupt deflate stream` to the walker), never the previous member's bytes. (A
//! freshly zeroed state, as the zip crate's `by_index` uses, reads zeros there instead.)

use flate2::Status;
use miniz_oxide::inflate::core::{decompress, inflate_flags, DecompressorOxide};
use miniz_oxide::inflate::TINFLStatus;

/// The deflate window: the largest back-reference distance.
const WINDOW: usize = 32 << 10;

/// The stream is corrupt (or was used after it failed): flate2's `DecompressError`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("corrupt deflate stream")]
pub(crate) struct Corrupt;

/// One step's outcome: the status (flate2's), input bytes consumed, output bytes written.
pub(crate) type Step = (Result<Status, Corrupt>, usize, usize);

/// A raw-deflate decompressor whose window is never zeroed: [`RawInflate::reset`] costs a few
/// stores instead of the 32 KiB `memset` of flate2's `Decompress::reset` (miniz_oxide's
/// `FullReset`), which on a wheel of small modules cost more than inflating them.
pub(crate) struct RawInflate {
    decomp: Box<DecompressorOxide>,
    window: Box<[u8]>,
    /// Where in `window` the bytes not yet handed out start, and how many there are.
    window_ofs: usize,
    window_avail: usize,
    /// Bytes this stream has written into `window`, up to its size. While below it, every
    /// byte before `window_ofs` is this stream's and none after it is, so the window is decoded
    /// as a non-wrapping buffer (a distance past the stream's start fails); once full, every
    /// byte is this stream's and it wraps.
    written: usize,
    first_call: bool,
    has_flushed: bool,
    last_status: TINFLStatus,
}

impl RawInflate {
    pub(crate) fn new() -> Self {
        RawInflate {
            decomp: Box::default(),
            window: vec![0; WINDOW].into_boxed_slice(),
            window_ofs: 0,
            window_avail: 0,
            written: 0,
            first_call: true,
            has_flushed: false,
            last_status: TINFLStatus::NeedsMoreInput,
        }
    }

    /// Ready for a new stream: miniz_oxide's `MinReset`, plus forgetting what this stream
    /// wrote (the window's bytes stay, unreadable by the next stream).
    pub(crate) fn reset(&mut self) {
        self.decomp.init();
        self.window_ofs = 0;
        self.window_avail = 0;
        self.written = 0;
        self.first_call = true;
        self.has_flushed = false;
        self.last_status = TINFLStatus::NeedsMoreInput;
    }

    /// Inflate from `input` into `output`; `finish` when no more input will come (flate2's
    /// `FlushDecompress::Finish`). Follows miniz_oxide's `inflate::stream::inflate` (raw format)
    /// and flate2's mapping of its result (`MZError::Buf` is `Status::BufError`, any other
    /// error is [`Corrupt`]).
    pub(crate) fn decompress(&mut self, input: &[u8], output: &mut [u8], finish: bool) -> Step {
        let mut flags = inflate_flags::TINFL_FLAG_IGNORE_ADLER32;
        let first_call = std::mem::replace(&mut self.first_call, false);
        if self.last_status == TINFLStatus::FailedCannotMakeProgress {
            return (Ok(Status::BufError), 0, 0);
        }
        if (self.last_status as i32) < 0 || (self.has_flushed && !finish) {
            return (Err(Corrupt), 0, 0);
        }
        self.has_flushed |= finish;
        if finish && first_call {
            // All the input at once: straight into `output`, which then holds the whole stream.
            flags |= inflate_flags::TINFL_FLAG_USING_NON_WRAPPING_OUTPUT_BUF;
            let (status, consumed, written) = decompress(&mut self.decomp, input, output, 0, flags);
            self.last_status = status;
            let result = match status {
                TINFLStatus::FailedCannotMakeProgress => Ok(Status::BufError),
                s if (s as i32) < 0 => Err(Corrupt),
                TINFLStatus::Done => Ok(Status::StreamEnd),
                _ => {
                    self.last_status = TINFLStatus::Failed;
                    Ok(Status::BufError)
                }
            };
            return (result, consumed, written);
        }
        if !finish {
            flags |= inflate_flags::TINFL_FLAG_HAS_MORE_INPUT;
        }
        if self.window_avail != 0 {
            let n = self.hand_out(output);
            let done = self.last_status == TINFLStatus::Done && self.window_avail == 0;
            return (Ok(if done { Status::StreamEnd } else { Status::Ok }), 0, n);
        }
        let (mut consumed, mut out_at) = (0, 0);
        let result = loop {
            let flags = if self.written < WINDOW {
                flags | inflate_flags::TINFL_FLAG_USING_NON_WRAPPING_OUTPUT_BUF
            } else {
                flags
            };
            let (status, used, made) =
                decompress(&mut self.decomp, &input[consumed..], &mut self.window, self.window_ofs, flags);
            self.last_status = status;
            consumed += used;
            self.written = (self.written + made).min(WINDOW);
            self.window_avail = made;
            out_at += self.hand_out(&mut output[out_at..]);
            if status == TINFLStatus::FailedCannotMakeProgress {
                break Ok(Status::BufError);
            }
            if (status as i32) < 0 {
                break Err(Corrupt);
            }
            if status == TINFLStatus::NeedsMoreInput && input.is_empty() {
                break Ok(Status::BufError);
            }
            if finish {
                if status == TINFLStatus::Done {
                    break Ok(if self.window_avail != 0 { Status::BufError } else { Status::StreamEnd });
                }
                if out_at == output.len() {
                    break Ok(Status::BufError);
                }
            } else if status == TINFLStatus::Done
                || consumed == input.len()
                || out_at == output.len()
                || self.window_avail != 0
            {
                let done = status == TINFLStatus::Done && self.window_avail == 0;
                break Ok(if done { Status::StreamEnd } else { Status::Ok });
            }
        };
        (result, consumed, out_at)
    }

    /// Copy what the window holds and `output` has room for; the window position advances.
    fn hand_out(&mut self, output: &mut [u8]) -> usize {
        let n = self.window_avail.min(output.len());
        output[..n].copy_from_slice(&self.window[self.window_ofs..self.window_ofs + n]);
        self.window_avail -= n;
        self.window_ofs = (self.window_ofs + n) & (WINDOW - 1);
        n
    }
}
