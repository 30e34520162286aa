//! policy.yaml parsing and validation: never panics, errors are values.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fuzz_target!(|data: &[u8]| {
    static KNOWN: OnceLock<Vec<&'static str>> = OnceLock::new();
    let known = KNOWN.get_or_init(pipgate::fuzzing::detector_ids);
    let text = String::from_utf8_lossy(data);
    let _ = pipgate::Policy::from_str_with_catalog("fuzz.yaml", &text, known);
});
