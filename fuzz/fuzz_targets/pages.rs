//! Upstream project and root pages, PEP 503 HTML and PEP 691 JSON: never panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else { return };
    let body = String::from_utf8_lossy(body);
    let content_type = match selector % 3 {
        0 => "application/vnd.pypi.simple.v1+json",
        1 => "application/vnd.pypi.simple.v1+html",
        _ => "text/html",
    };
    let _ = pipgate::fuzzing::parse_project_page(&body, content_type, "https://pypi.example/simple/demo/", "demo");
    let _ = pipgate::fuzzing::parse_root_page(&body, content_type);
});
