//! Many clients at once on one uncached artifact (issue 16's load section, as a correctness
//! test; the timed figures are `bench/load.sh`): 500 concurrent HTTP requests for a file
//! pipgate has never seen cause one upstream download and one scan, and every client gets
//! the complete file with the right sha256, each answer audited.

mod common;
use common::*;

#[test]
fn five_hundred_clients_on_one_uncached_artifact_cause_one_download_and_one_scan() {
    const CLIENTS: usize = 500;
    let idx = FakeIndex::start(Format::Json);
    let (filename, generated) = Generated::wheel("cold-one", "1.0", 8);
    let (len, sha) = (generated.len, generated.sha256.clone());
    let mut f = FakeFile::new(Dist { filename: filename.clone(), bytes: vec![], metadata: None });
    f.generated = Some(std::sync::Arc::new(generated));
    idx.add("cold-one", f);
    // The upstream answers after 1 s, so every client's request is in while the download runs.
    idx.state.lock().unwrap().file_delay = Some(std::time::Duration::from_secs(1));
    // Pre-scan off: the page read below must not fetch the file before the clients ask.
    // One address for 500 clients: the per-client connection limit (128) is raised.
    let gate = Pipgate::start_args(&idx.url(), None, &["--prescan", "off", "--max-connections-per-client", "1000"]);
    let url = gate.file_url("cold-one", &filename);
    assert_eq!(idx.hits(&format!("/files/{filename}")), 0, "the page read fetched nothing");
    let scans_before = metric(&gate.base(), "pipgate_scan_duration_seconds_count", &[]);

    let got = concurrent_gets(&url, CLIENTS, true);

    let wrong: Vec<_> = got.iter().filter(|(s, l, h)| (*s, *l, h.as_str()) != (200, len, sha.as_str())).collect();
    assert!(
        wrong.is_empty(),
        "{} of {CLIENTS} clients did not get the file: {:?}",
        wrong.len(),
        &wrong[..wrong.len().min(5)]
    );
    // (what, counted, expected)
    let scans = metric(&gate.base(), "pipgate_scan_duration_seconds_count", &[]) - scans_before;
    let served = gate.audit().iter().filter(|r| r["filename"] == filename.as_str() && r["decision"] == "serve").count();
    let cases = [
        ("upstream downloads", idx.hits(&format!("/files/{filename}")), 1),
        ("scans", scans as usize, 1),
        ("serve decisions audited", served, CLIENTS),
    ];
    for (what, counted, expected) in cases {
        assert_eq!(counted, expected, "{what}\n{}", gate.log());
    }
}
