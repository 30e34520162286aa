//! A hostile upstream against a real `pipgate serve`: oversized and trickling pages,
//! `.metadata` and files, pages that point at (or redirect to) other hosts, and clients
//! that leave in the middle of a download.
mod common;

use common::{sdist, sha256_hex, wheel, Generated, Pipgate};
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Bytes, Frame};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

// ---------------------------------------------------------------- a fake with fault modes

#[derive(Clone)]
enum Route {
    /// The bytes, with `Content-Length` (or chunked, without it).
    Body { ctype: &'static str, bytes: Bytes, chunked: bool },
    /// One byte every `every`.
    Trickle { bytes: Bytes, every: Duration },
    /// Parts with a pause before each, with `Content-Length`.
    Paced { parts: Vec<Bytes>, pause: Duration },
    /// `302 Found` to this URL.
    Redirect(String),
}

type Body = http_body_util::combinators::BoxBody<Bytes, std::io::Error>;

struct Fake {
    addr: SocketAddr,
    routes: Arc<Mutex<HashMap<String, Route>>>,
    hits: Arc<Mutex<HashMap<String, usize>>>,
    _rt: tokio::runtime::Runtime,
}

impl Fake {
    fn start() -> Fake {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
        let routes: Arc<Mutex<HashMap<String, Route>>> = Default::default();
        let hits: Arc<Mutex<HashMap<String, usize>>> = Default::default();
        let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
        let addr = listener.local_addr().unwrap();
        let (r, h) = (routes.clone(), hits.clone());
        rt.spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { break };
                let (r, h) = (r.clone(), h.clone());
                tokio::spawn(async move {
                    let svc = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                        let path = req.uri().path().to_string();
                        *h.lock().unwrap().entry(path.clone()).or_default() += 1;
                        let route = r.lock().unwrap().get(&path).cloned();
                        async move { Ok::<_, std::convert::Infallible>(answer(route)) }
                    });
                    let _ =
                        hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), svc).await;
                });
            }
        });
        Fake { addr, routes, hits, _rt: rt }
    }

    fn url(&self) -> String {
        format!("http://{}/simple/", self.addr)
    }

    fn route(&self, path: &str, route: Route) {
        self.routes.lock().unwrap().insert(path.to_string(), route);
    }

    fn hits(&self, path: &str) -> usize {
        self.hits.lock().unwrap().get(path).copied().unwrap_or(0)
    }

    fn total_hits(&self) -> usize {
        self.hits.lock().unwrap().values().sum()
    }
}

fn answer(route: Option<Route>) -> Response<Body> {
    let full = |b: Bytes| Full::new(b).map_err(|n| match n {}).boxed();
    match route {
        None => Response::builder().status(404).body(full(Bytes::from_static(b"not found"))).unwrap(),
        Some(Route::Body { ctype, bytes, chunked: false }) => Response::builder()
            .header("content-type", ctype)
            .header("content-length", bytes.len())
            .body(full(bytes))
            .unwrap(),
        Some(Route::Body { ctype, bytes, chunked: true }) => {
            let parts: Vec<Bytes> = bytes.chunks(8192).map(Bytes::copy_from_slice).collect();
            let stream = futures_util::stream::iter(parts.into_iter().map(|b| Ok(Frame::data(b))));
            Response::builder().header("content-type", ctype).body(StreamBody::new(stream).boxed()).unwrap()
        }
        Some(Route::Trickle { bytes, every }) => {
            let len = bytes.len();
            let stream = futures_util::stream::unfold(0usize, move |i| {
                let bytes = bytes.clone();
                async move {
                    if i >= bytes.len() {
                        return None;
                    }
                    tokio::time::sleep(every).await;
                    Some((Ok(Frame::data(bytes.slice(i..i + 1))), i + 1))
                }
            });
            Response::builder()
                .header("content-type", "application/vnd.pypi.simple.v1+json")
                .header("content-length", len)
                .body(StreamBody::new(stream).boxed())
                .unwrap()
        }
        Some(Route::Paced { parts, pause }) => {
            let len: usize = parts.iter().map(Bytes::len).sum();
            let stream = futures_util::stream::unfold(parts.into_iter(), move |mut it| async move {
                let part = it.next()?;
                tokio::time::sleep(pause).await;
                Some((Ok(Frame::data(part)), it))
            });
            Response::builder().header("content-length", len).body(StreamBody::new(stream).boxed()).unwrap()
        }
        Some(Route::Redirect(to)) => {
            Response::builder().status(302).header("location", to).body(full(Bytes::new())).unwrap()
        }
    }
}

/// A PEP 691 page: (filename, url, sha256, core-metadata advert).
fn page(name: &str, files: &[(&str, &str, &str, Option<serde_json::Value>)]) -> Route {
    let files: Vec<serde_json::Value> = files
        .iter()
        .map(|(f, url, sha, meta)| {
            let mut o = serde_json::json!({"filename": f, "url": url, "hashes": {"sha256": sha}});
            if let Some(m) = meta {
                o["core-metadata"] = m.clone();
            }
            o
        })
        .collect();
    let body = serde_json::json!({"meta": {"api-version": "1.1"}, "name": name, "files": files}).to_string();
    Route::Body { ctype: "application/vnd.pypi.simple.v1+json", bytes: body.into(), chunked: false }
}

fn bytes_route(b: impl Into<Bytes>) -> Route {
    Route::Body { ctype: "application/octet-stream", bytes: b.into(), chunked: false }
}

/// GET through pipgate: status, the problem's `detail` (or the body), and how long it took.
fn get(client: &reqwest::blocking::Client, url: &str) -> (u16, String, Duration) {
    let t = Instant::now();
    let resp = client.get(url).send().unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().unwrap_or_default();
    let detail = serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|v| v["detail"].as_str().map(str::to_string))
        .unwrap_or(text);
    (status, detail, t.elapsed())
}

fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder().no_proxy().timeout(Duration::from_secs(60)).build().unwrap()
}

// ---------------------------------------------------------------- 1 + 2: sizes and deadlines

#[test]
fn oversized_and_slow_upstream_answers_are_cut_off_naming_the_limit() {
    let up = Fake::start();
    let ok = wheel("healthy", "1.0", &[], &[]);
    let ok_sha = sha256_hex(&ok.bytes);
    up.route("/simple/healthy/", page("healthy", &[(&ok.filename, "../../files/ok.whl", &ok_sha, None)]));
    up.route("/files/ok.whl", bytes_route(ok.bytes.clone()));

    // Pages: larger than the limit (declared, or chunked without a length), trickling.
    let padding = "x".repeat(128 << 10);
    let big_page = serde_json::json!({"meta": {"api-version": "1.1"}, "name": "bigpage", "files": [], "pad": padding});
    let big_page = Bytes::from(big_page.to_string());
    let json = "application/vnd.pypi.simple.v1+json";
    up.route("/simple/bigpage/", Route::Body { ctype: json, bytes: big_page.clone(), chunked: false });
    up.route("/simple/bigpage-chunked/", Route::Body { ctype: json, bytes: big_page, chunked: true });
    let slow_page = serde_json::json!({"meta": {"api-version": "1.1"}, "name": "slowpage", "files": []}).to_string();
    up.route("/simple/slowpage/", Route::Trickle { bytes: slow_page.into(), every: Duration::from_millis(100) });

    // .metadata: promised but larger than the limit; unpromised (an sdist) and larger; trickling.
    let big_meta = Bytes::from(vec![b'M'; 64 << 10]);
    let bm = wheel("bigmeta", "1.0", &[], &[]);
    let bm_sha = sha256_hex(&bm.bytes);
    let promise = serde_json::json!({"sha256": sha256_hex(&big_meta)});
    up.route("/simple/bigmeta/", page("bigmeta", &[(&bm.filename, "../../files/bm.whl", &bm_sha, Some(promise))]));
    up.route("/files/bm.whl", bytes_route(bm.bytes.clone()));
    up.route("/files/bm.whl.metadata", bytes_route(big_meta.clone()));
    let um = sdist("unpromised", "1.0", &[]);
    let um_sha = sha256_hex(&um.bytes);
    let yes = Some(serde_json::Value::Bool(true));
    up.route("/simple/unpromised/", page("unpromised", &[(&um.filename, "../../files/um.tar.gz", &um_sha, yes)]));
    up.route("/files/um.tar.gz", bytes_route(um.bytes.clone()));
    up.route("/files/um.tar.gz.metadata", bytes_route(big_meta));
    let sm = wheel("slowmeta", "1.0", &[], &[]);
    let sm_sha = sha256_hex(&sm.bytes);
    let sm_meta = Bytes::from(vec![b'M'; 200]);
    let promise = serde_json::json!({"sha256": sha256_hex(&sm_meta)});
    up.route("/simple/slowmeta/", page("slowmeta", &[(&sm.filename, "../../files/sm.whl", &sm_sha, Some(promise))]));
    up.route("/files/sm.whl", bytes_route(sm.bytes.clone()));
    up.route("/files/sm.whl.metadata", Route::Trickle { bytes: sm_meta, every: Duration::from_millis(50) });

    // A file trickling at ~50 bytes/s (its total would take about a minute).
    let sf = wheel("slowfile", "1.0", &[], &[]);
    let sf_sha = sha256_hex(&sf.bytes);
    up.route("/simple/slowfile/", page("slowfile", &[(&sf.filename, "../../files/sf.whl", &sf_sha, None)]));
    up.route("/files/sf.whl", Route::Trickle { bytes: sf.bytes.clone().into(), every: Duration::from_millis(20) });

    let flags = [
        "--max-page-bytes",
        "65536",
        "--max-metadata-bytes",
        "16384",
        "--upstream-deadline",
        "2s",
        "--upstream-min-rate",
        "1",
        "--upstream-rate-window",
        "1s",
    ];
    let pg = Pipgate::start_args(&up.url(), None, &flags);
    let c = client();
    let files = format!("{}/files", pg.base());
    let cases: [(&str, String, u16, &[&str]); 8] = [
        ("healthy page", format!("{}healthy/", pg.url), 200, &[]),
        ("healthy file", format!("{files}/{ok_sha}/{}", ok.filename), 200, &[]),
        ("page larger than the limit", format!("{}bigpage/", pg.url), 502, &["page", "65536-byte", "--max-page-bytes"]),
        (
            "chunked page larger than the limit",
            format!("{}bigpage-chunked/", pg.url),
            502,
            &["page", "--max-page-bytes"],
        ),
        (
            "page trickling past the deadline",
            format!("{}slowpage/", pg.url),
            504,
            &["page fetch", "--upstream-deadline"],
        ),
        (
            "promised .metadata larger than the limit",
            format!("{files}/{bm_sha}/{}.metadata", bm.filename),
            502,
            &[".metadata", "16384-byte", "--max-metadata-bytes"],
        ),
        (
            "unpromised .metadata larger than the limit",
            format!("{files}/{um_sha}/{}.metadata", um.filename),
            502,
            &[".metadata", "--max-metadata-bytes"],
        ),
        (
            ".metadata trickling past the deadline",
            format!("{files}/{sm_sha}/{}.metadata", sm.filename),
            504,
            &[".metadata fetch", "--upstream-deadline"],
        ),
    ];
    for (case, url, want, needles) in &cases {
        let (status, detail, took) = get(&c, url);
        assert_eq!(status, *want, "{case}: {detail}\n{}", pg.log());
        for n in *needles {
            assert!(detail.contains(n), "{case}: {n:?} not in {detail:?}");
        }
        assert!(took < Duration::from_secs(10), "{case}: took {took:?}");
    }
    let (status, detail, took) = get(&c, &format!("{files}/{sf_sha}/{}", sf.filename));
    assert_eq!(status, 504, "file trickling below the minimum rate: {detail}");
    assert!(detail.contains("--upstream-min-rate") && detail.contains(&sf.filename), "{detail}");
    assert!(took < Duration::from_secs(10), "trickling file: took {took:?}");
}

// ---------------------------------------------------------------- 3: SSRF

#[test]
fn files_are_fetched_only_from_the_upstream_origin_and_allowed_hosts() {
    let up = Fake::start();
    let other = Fake::start();
    let on_other = |f: &str| format!("http://{}/files/{f}", other.addr);
    // project → (where its page says the file is, where the upstream redirects that to)
    let projects = [
        ("listed-elsewhere", None, None),
        ("redirected-elsewhere", Some("away"), None),
        ("redirected-home", Some("home"), Some("/files/home-target")),
        ("allowed-elsewhere", None, None),
        ("allowed-redirect", Some("away2"), None),
    ];
    let mut dists = HashMap::new();
    for (p, via, home) in projects {
        let w = wheel(p, "1.0", &[], &[]);
        let sha = sha256_hex(&w.bytes);
        other.route(&format!("/files/{}", w.filename), bytes_route(w.bytes.clone()));
        let listed = match via {
            None => on_other(&w.filename),
            Some(v) => {
                let to = home.map(str::to_string).unwrap_or_else(|| on_other(&w.filename));
                up.route(&format!("/files/{v}"), Route::Redirect(to));
                format!("../../files/{v}")
            }
        };
        if let Some(h) = home {
            up.route(h, bytes_route(w.bytes.clone()));
        }
        up.route(&format!("/simple/{p}/"), page(p, &[(&w.filename, &listed, &sha, None)]));
        dists.insert(p, (w.filename, sha));
    }
    let guarded = Pipgate::start(&up.url(), None);
    let other_host = other.addr.to_string();
    let allowing = Pipgate::start_args(&up.url(), None, &["--allow-file-host", &other_host]);
    let c = client();
    let not_allowed = format!("file host {other_host} is not allowed");
    let allow_hint = format!("--allow-file-host {other_host}");
    type Case<'a> = (&'a str, &'a Pipgate, &'a str, u16, usize, &'a [&'a str]);
    let cases: [Case; 5] = [
        ("page lists a file on another port", &guarded, "listed-elsewhere", 502, 0, &[&not_allowed, &allow_hint]),
        ("upstream redirects to another port", &guarded, "redirected-elsewhere", 502, 0, &[&not_allowed, &allow_hint]),
        ("redirect within the upstream origin", &guarded, "redirected-home", 200, 0, &[]),
        ("another port on the allow-list", &allowing, "allowed-elsewhere", 200, 1, &[]),
        ("redirect to a host on the allow-list", &allowing, "allowed-redirect", 200, 1, &[]),
    ];
    for (case, pg, project, want, other_hits, needles) in cases {
        let before = other.total_hits();
        let (status, page, _) = get(&c, &format!("{}{project}/", pg.url));
        assert_eq!(status, 200, "{case}: page: {page}");
        let (filename, sha) = &dists[project];
        let (status, detail, _) = get(&c, &format!("{}/files/{sha}/{filename}", pg.base()));
        assert_eq!(status, want, "{case}: {detail}\n{}", pg.log());
        for n in needles {
            assert!(detail.contains(n), "{case}: {n:?} not in {detail:?}");
        }
        assert_eq!(other.total_hits() - before, other_hits, "{case}: requests the other port received");
    }
}

// ---------------------------------------------------------------- 4: abandoned downloads

#[test]
fn a_download_outlives_the_client_that_left_and_leaves_no_part_files() {
    let up = Fake::start();
    let (filename, g) = Generated::wheel("slowbig", "1.0", 16);
    let mut parts = vec![Bytes::from(g.prefix.clone())];
    parts.extend((0..g.n_chunks).map(|_| Bytes::from(g.chunk.clone())));
    parts.push(Bytes::from(g.suffix.clone()));
    up.route("/simple/slowbig/", page("slowbig", &[(&filename, "../../files/big.whl", &g.sha256, None)]));
    up.route("/files/big.whl", Route::Paced { parts, pause: Duration::from_millis(100) });

    let tmp = tempfile::tempdir().unwrap();
    let policy = tmp.path().join("policy.yaml");
    std::fs::write(&policy, "# test policy\n").unwrap();
    let data = tmp.path().join("data");
    std::fs::create_dir_all(data.join("tmp")).unwrap();
    let stale = [data.join("tmp/4194304999.abcdef.0.part"), data.join("tmp/1.abcdef.3.part")];
    for s in &stale {
        std::fs::write(s, vec![0u8; 4096]).unwrap();
    }
    let pg = Pipgate::start_with(&up.url(), &policy, &data);
    let parts_left = || -> Vec<String> {
        std::fs::read_dir(data.join("tmp"))
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".part"))
            .collect()
    };
    assert!(!stale[0].exists(), "a dead process's .part is removed at start-up");
    // pid 1 is alive: its file may belong to another pipgate sharing the data dir.
    assert!(stale[1].exists(), "a live process's .part is kept");
    std::fs::remove_file(&stale[1]).unwrap();

    let url = format!("{}/files/{}/{filename}", pg.base(), g.sha256);
    let impatient =
        reqwest::blocking::Client::builder().no_proxy().timeout(Duration::from_millis(500)).build().unwrap();
    assert!(impatient.get(&url).send().is_err(), "the first client gives up mid-download");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(parts_left().len(), 1, "the download goes on after the client left");

    let resp = client().get(&url).send().unwrap();
    assert_eq!(resp.status().as_u16(), 200, "{}", pg.log());
    assert_eq!(resp.bytes().unwrap().len() as u64, g.len);
    assert_eq!(up.hits("/files/big.whl"), 1, "the second request joined the first download");
    assert!(parts_left().is_empty(), "no .part file remains: {:?}", parts_left());
}
