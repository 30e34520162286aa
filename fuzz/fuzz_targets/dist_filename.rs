//! Distribution filename parsing (wheels, sdists, eggs): never panics.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let name = String::from_utf8_lossy(data);
    if let Some(parsed) = pipgate::fuzzing::parse_dist_filename(&name) {
        // A parse must survive normalising the project name it found.
        let _ = pipgate::normalize_project_name(&parsed);
    }
});
