use super::*;
use crate::config::PrescanConfig;

fn entry(filename: &str, yanked: bool, size: Option<u64>) -> FileEntry {
    FileEntry {
        filename: filename.to_string(),
        url: url::Url::parse(&format!("http://127.0.0.1:9/files/{filename}")).unwrap(),
        hashes: Default::default(),
        requires_python: None,
        yanked: yanked.then_some(None),
        core_metadata: None,
        size,
        upload_time: None,
        extra: Default::default(),
    }
}

fn page(files: &[&str]) -> ProjectPage {
    let files = files
        .iter()
        .map(|f| match f.strip_prefix("yanked:") {
            Some(f) => entry(f, true, None),
            None => entry(f, false, None),
        })
        .collect();
    ProjectPage { name: "pkg".into(), files, ..Default::default() }
}

/// The eligible versions as `version: file, file` lines.
fn shown(p: &ProjectPage, tags: &Tags) -> Vec<String> {
    eligible(p, tags)
        .into_iter()
        .map(|c| {
            let files: Vec<&str> = c.files.iter().map(|&i| p.files[i].filename.as_str()).collect();
            format!("{}: {}", c.version, files.join(", "))
        })
        .collect()
}

#[test]
fn candidates_are_the_newest_final_versions_files_the_tags_select() {
    let defaults = PrescanConfig::default().tags;
    let only = |t: &[&str]| t.iter().map(|s| (*s).to_string()).collect::<Vec<_>>();
    type Case = (&'static str, Vec<String>, &'static [&'static str], &'static [&'static str]);
    let cases: Vec<Case> = vec![
        (
            "newest first, by PEP 440 not by text",
            defaults.clone(),
            &["pkg-1.9-py3-none-any.whl", "pkg-1.10-py3-none-any.whl", "pkg-1.2.tar.gz"],
            &["1.10: pkg-1.10-py3-none-any.whl", "1.9: pkg-1.9-py3-none-any.whl", "1.2: pkg-1.2.tar.gz"],
        ),
        (
            "pre-releases and dev releases are skipped",
            defaults.clone(),
            &["pkg-2.0rc1-py3-none-any.whl", "pkg-2.0.dev3.tar.gz", "pkg-1.0-py3-none-any.whl"],
            &["1.0: pkg-1.0-py3-none-any.whl"],
        ),
        (
            "yanked files are skipped, a wholly yanked version disappears",
            defaults.clone(),
            &["yanked:pkg-1.1-py3-none-any.whl", "yanked:pkg-1.1.tar.gz", "pkg-1.0.tar.gz", "yanked:pkg-1.0-py3-none-any.whl"],
            &["1.0: pkg-1.0.tar.gz"],
        ),
        (
            "pure wheels before the sdist before platform wheels; other platforms are not fetched",
            defaults.clone(),
            &[
                "pkg-1.0-cp313-cp313-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
                "pkg-1.0-cp313-cp313-musllinux_1_2_aarch64.whl",
                "pkg-1.0.tar.gz",
                "pkg-1.0-py2.py3-none-any.whl",
                "pkg-1.0-cp313-cp313-win32.whl",
                "pkg-1.0-cp38-cp38-win_amd64.whl",
            ],
            &[
                "1.0: pkg-1.0-py2.py3-none-any.whl, pkg-1.0.tar.gz, pkg-1.0-cp313-cp313-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
            ],
        ),
        (
            "abi3 and py3-none platform wheels are selected",
            defaults.clone(),
            &["pkg-1.0-cp39-abi3-macosx_11_0_arm64.whl", "pkg-1.0-py3-none-win_amd64.whl", "pkg-1.0-cp39-abi3-win32.whl"],
            &["1.0: pkg-1.0-cp39-abi3-macosx_11_0_arm64.whl, pkg-1.0-py3-none-win_amd64.whl"],
        ),
        (
            "configured tags replace the defaults, in their order",
            only(&["cp312-cp312-manylinux*_x86_64", "sdist"]),
            &["pkg-1.0-py3-none-any.whl", "pkg-1.0.tar.gz", "pkg-1.0-cp312-cp312-manylinux_2_28_x86_64.whl"],
            &["1.0: pkg-1.0-cp312-cp312-manylinux_2_28_x86_64.whl, pkg-1.0.tar.gz"],
        ),
        (
            "without sdist in the tags, a version with only an sdist is not a candidate",
            only(&["py3-none-any"]),
            &["pkg-2.0.tar.gz", "pkg-1.0-py3-none-any.whl"],
            &["1.0: pkg-1.0-py3-none-any.whl"],
        ),
        (
            "filenames that are no distribution, eggs and unorderable versions are ignored",
            defaults.clone(),
            &["README.txt", "pkg-1.0-py2.7.egg", "pkg-latest-py3-none-any.whl", "pkg-0.9.zip"],
            &["0.9: pkg-0.9.zip"],
        ),
    ];
    for (case, tags, files, want) in cases {
        assert_eq!(shown(&page(files), &Tags::new(&tags)), want, "{case}");
    }
}

#[test]
fn the_plan_takes_depth_versions_skipping_known_blocked_ones_within_the_budget() {
    // Versions 3.0, 2.0, 1.0, 0.9; each with files (index, size in MiB).
    let versions = vec![
        Candidates { version: "3.0".into(), files: vec![0, 1] },
        Candidates { version: "2.0".into(), files: vec![2, 3] },
        Candidates { version: "1.0".into(), files: vec![4] },
        Candidates { version: "0.9".into(), files: vec![5] },
    ];
    let sizes = [Some(1), Some(2), Some(1), None, Some(3), Some(1)];
    type Case = (&'static str, usize, u64, &'static [(usize, Known)], &'static [(usize, bool)]);
    let cases: [Case; 7] = [
        (
            "depth 2: the two newest versions, the newest waited for",
            2,
            100,
            &[],
            &[(0, true), (1, true), (2, false), (3, false)],
        ),
        ("depth 1", 1, 100, &[], &[(0, true), (1, true)]),
        (
            "a version known blocked in every file is skipped: the next one is the newest",
            2,
            100,
            &[(0, Known::Blocked), (1, Known::Blocked)],
            &[(2, true), (3, true), (4, false)],
        ),
        (
            "a version blocked in one file only still counts; its blocked file is not fetched again",
            2,
            100,
            &[(0, Known::Blocked)],
            &[(1, true), (2, false), (3, false)],
        ),
        (
            "files already scanned and allowed are not fetched, the version still counts",
            2,
            100,
            &[(0, Known::Allowed), (1, Known::Allowed)],
            &[(2, false), (3, false)],
        ),
        (
            "the byte budget cuts the least likely files; unknown sizes count 4 MiB",
            2,
            4,
            &[],
            &[(0, true), (1, true), (2, false)],
        ),
        (
            "depth beyond the versions listed takes them all",
            9,
            100,
            &[],
            &[(0, true), (1, true), (2, false), (3, false), (4, false), (5, false)],
        ),
    ];
    for (case, depth, budget_mib, known, want) in cases {
        let known: HashMap<usize, Known> = known.iter().copied().collect();
        let got = plan(
            &versions,
            |f| known.get(&f).copied().unwrap_or(Known::Unknown),
            |f| sizes[f].map(|m| m << 20),
            depth,
            budget_mib << 20,
        );
        let want: Vec<Planned> = want.iter().map(|&(file, newest)| Planned { file, newest }).collect();
        assert_eq!(got, want, "{case}");
    }
}

#[test]
fn wheel_tags_expand_compressed_sets() {
    let cases = [
        ("pure", "a-1.0-py3-none-any.whl", vec!["py3-none-any", "py3-none-any"]),
        (
            "compressed python tag",
            "a-1.0-py2.py3-none-any.whl",
            vec!["py2.py3-none-any", "py2-none-any", "py3-none-any"],
        ),
        ("build tag", "a-1.0-1-cp313-cp313-win_amd64.whl", vec!["cp313-cp313-win_amd64", "cp313-cp313-win_amd64"]),
        ("not a wheel", "a-1.0.tar.gz", vec![]),
        ("too few parts", "a-py3-none-any.whl", vec![]),
    ];
    for (case, filename, want) in cases {
        assert_eq!(wheel_tags(filename), want, "{case}");
    }
}

#[test]
fn the_client_user_agent_names_its_python_and_platform() {
    let pip = r#"pip/23.2.1 {"ci":null,"cpu":"x86_64","distro":{"id":"bookworm","libc":{"lib":"glibc","version":"2.36"},"name":"Debian GNU/Linux","version":"12"},"implementation":{"name":"CPython","version":"3.11.7"},"installer":{"name":"pip","version":"23.2.1"},"python":"3.11.7","system":{"name":"Linux","release":"6.1"}}"#;
    let uv = r#"uv/0.13.9 {"installer":{"name":"uv","version":"0.13.9"},"python":"3.12.1","implementation":{"name":"CPython","version":"3.12.1"},"distro":{"name":"Alpine Linux","libc":{"lib":"musl","version":"1.2"}},"system":{"name":"Linux","release":"6.1"},"cpu":"aarch64"}"#;
    let mac = r#"pip/24.0 {"cpu":"arm64","implementation":{"name":"CPython","version":"3.13.0"},"python":"3.13.0","system":{"name":"Darwin","release":"23.0"}}"#;
    let win = r#"uv/0.13.9 {"python":"3.10.11","implementation":{"name":"CPython","version":"3.10.11"},"system":{"name":"Windows","release":"10"},"cpu":"AMD64"}"#;
    let pypy = r#"pip/24.0 {"cpu":"x86_64","implementation":{"name":"PyPy","version":"7.3"},"python":"3.10.13","system":{"name":"Linux"}}"#;
    let hostile = r#"pip/24.0 {"cpu":"x86_64","implementation":{"name":"CPython"},"python":"3.11*/../x","system":{"name":"Linux"}}"#;
    type Case<'a> = (&'a str, &'a str, Option<(&'a str, &'a str)>);
    let cases: [Case; 8] = [
        ("pip on glibc Linux", pip, Some(("3.11", "manylinux*_x86_64"))),
        ("uv on musl arm64", uv, Some(("3.12", "musllinux*_aarch64"))),
        ("macOS", mac, Some(("3.13", "macosx_*"))),
        ("Windows", win, Some(("3.10", "win_amd64"))),
        ("not CPython: configured tags", pypy, None),
        ("a version that is not digits", hostile, None),
        ("no JSON", "curl/8.0", None),
        ("broken JSON", "pip/24.0 {\"python\":", None),
    ];
    for (case, ua, want) in cases {
        let got = client_target(ua);
        let got = got.as_ref().map(|t| (t.python.as_str(), t.platform));
        assert_eq!(got, want, "{case}");
    }
}

#[test]
fn a_client_target_selects_only_its_own_wheels() {
    let t = client_target(
        r#"pip/23.2 {"cpu":"x86_64","implementation":{"name":"CPython"},"python":"3.11.7","system":{"name":"Linux"}}"#,
    )
    .unwrap();
    let tags = Tags::new(&PrescanConfig::tags_for(&[t.python.as_str()], &[t.platform]));
    let p = page(&[
        "pkg-2.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
        "pkg-2.0-cp313-cp313-manylinux_2_17_x86_64.whl",
        "pkg-2.0-cp311-cp311-macosx_11_0_arm64.whl",
        "pkg-2.0-cp311-cp311-win_amd64.whl",
        "pkg-2.0-cp39-abi3-manylinux_2_28_x86_64.whl",
        "pkg-2.0.tar.gz",
    ]);
    assert_eq!(
        shown(&p, &tags),
        [
            "2.0: pkg-2.0.tar.gz, pkg-2.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl, pkg-2.0-cp39-abi3-manylinux_2_28_x86_64.whl"
        ]
    );
}

/// Background pre-scans yield to client requests: how long `Clients::quiet` waits, per case
/// (real time, with margins wide enough for a loaded machine).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn background_prescans_wait_for_clients_to_be_quiet_at_most_the_yield() {
    let ms = Duration::from_millis;
    /// Client requests during the wait.
    enum Requests {
        Never,
        /// One, in flight for this many ms from the start.
        For(u64),
        /// One, in flight past the end of the case.
        Throughout,
    }
    use Requests::*;
    // (case, requests, quiet, at most, waited at least, less than), all ms
    let cases = [
        ("no request ever: starts at once", Never, 200, 5_000, 0, 150),
        ("one request ended just now: waits the quiet moment", For(0), 300, 5_000, 250, 2_000),
        ("one request in flight for 600 ms: waits for it, then the quiet moment", For(600), 200, 5_000, 750, 3_000),
        ("requests never stop: starts after the yield", Throughout, 200, 500, 500, 2_500),
        ("a zero yield never waits", Throughout, 200, 0, 0, 150),
    ];
    for (case, requests, quiet, at_most, least, most) in cases {
        let clients = Arc::new(Clients::new());
        let hold = match requests {
            Never => None,
            For(n) => Some(ms(n)),
            Throughout => Some(Duration::from_secs(4)),
        };
        let holder = hold.map(|hold| {
            let (tx, rx) = std::sync::mpsc::channel::<()>();
            let c = clients.clone();
            let h = std::thread::spawn(move || {
                let _req = c.enter();
                tx.send(()).unwrap();
                std::thread::sleep(hold);
            });
            rx.recv().unwrap();
            h
        });
        let waited = clients.quiet(ms(quiet), ms(at_most)).await;
        assert!(waited >= ms(least) && waited < ms(most), "{case}: waited {waited:?}, wanted {least}..{most} ms");
        drop(holder);
    }
}

/// A background pre-scan waiting for clients to be quiet starts at once when a page comes
/// to wait for it (promotion), and one taking an urgent permit does not yield at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_promoted_background_prescan_stops_yielding() {
    let clients = Arc::new(Clients::new());
    let busy = clients.clone();
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let holder = std::thread::spawn(move || {
        let _req = busy.enter();
        tx.send(()).unwrap();
        std::thread::sleep(Duration::from_secs(3));
    });
    rx.recv().unwrap();
    let permits = |promote: Arc<tokio::sync::Notify>| Permits {
        background: Arc::new(Semaphore::new(1)),
        urgent: Arc::new(Semaphore::new(1)),
        promote,
        clients: clients.clone(),
        yield_at_most: Duration::from_secs(30),
    };
    let promote = Arc::new(tokio::sync::Notify::new());
    let later = promote.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        later.notify_one();
    });
    let t = Instant::now();
    let p = permits(promote).acquire().await.expect("a permit");
    let yielded = p.yielded.expect("it took the background permit, so it yielded");
    assert!(yielded >= Duration::from_millis(250) && t.elapsed() < Duration::from_secs(2), "yielded {yielded:?}");

    let promoted = Arc::new(tokio::sync::Notify::new());
    promoted.notify_one();
    let t = Instant::now();
    let p = permits(promoted).acquire().await.expect("a permit");
    assert_eq!(p.yielded, None, "an urgent pre-scan does not yield");
    assert!(t.elapsed() < Duration::from_millis(500));
    drop(holder);
}
