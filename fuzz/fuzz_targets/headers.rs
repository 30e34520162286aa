//! Request headers pipgate interprets: `Range`, `If-None-Match`, `Accept`.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() < 8 {
        return;
    }
    let (len, rest) = data.split_at(8);
    let len = u64::from_le_bytes(len.try_into().unwrap()) >> (len[0] % 64);
    let text = String::from_utf8_lossy(rest);
    let mut parts = text.splitn(3, '\n');
    let (range, inm, accept) = (parts.next(), parts.next(), parts.next());
    match pipgate::fuzzing::parse_range(range, len) {
        Ok(Some((start, end))) => assert!(start <= end && end < len, "{range:?} len {len}: {start}-{end}"),
        Ok(None) | Err(()) => {}
    }
    let _ = pipgate::fuzzing::etag_matches(inm, "\"abc\"");
    let _ = pipgate::fuzzing::negotiate(accept);
});
