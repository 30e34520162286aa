//! Test harness: a fake upstream index on 127.0.0.1:0, wheels and sdists built here,
//! a real `pipgate serve` process, and real pip / uv isolated from this machine's settings.
#![allow(dead_code)]

pub(crate) mod moto;
pub(crate) mod pg;

use base64::Engine;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};

// ---------------------------------------------------------------- artifacts

/// A reproducible `.tar.gz` of (path, text) members.
pub(crate) fn tar_gz<P: AsRef<str>, C: AsRef<str>>(files: &[(P, C)]) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let gz = flate2::write::GzEncoder::new(&mut out, flate2::Compression::default());
        let mut t = tar::Builder::new(gz);
        for (p, c) in files {
            let mut h = tar::Header::new_gnu();
            h.set_size(c.as_ref().len() as u64);
            h.set_mode(0o644);
            h.set_mtime(1_700_000_000);
            h.set_cksum();
            t.append_data(&mut h, p.as_ref(), c.as_ref().as_bytes()).unwrap();
        }
        t.into_inner().unwrap().finish().unwrap();
    }
    out
}

pub(crate) struct Dist {
    pub filename: String,
    pub bytes: Vec<u8>,
    pub metadata: Option<Vec<u8>>,
}

pub(crate) fn sha256_hex(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

fn record_hash(b: &[u8]) -> String {
    format!("sha256={}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(b)))
}

pub(crate) fn core_metadata(name: &str, version: &str, requires: &[&str]) -> String {
    let mut m = format!(
        "Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nSummary: test package {name}\nAuthor-email: Test Team <team@example.org>\nProject-URL: Source, https://example.org/{name}\nRequires-Python: >=3.8\n"
    );
    for r in requires {
        m.push_str(&format!("Requires-Dist: {r}\n"));
    }
    m
}

/// A pure-Python wheel: `<module>/__init__.py` with `VERSION = "<version>"` plus `extra` files.
pub(crate) fn wheel(name: &str, version: &str, requires: &[&str], extra: &[(&str, &str)]) -> Dist {
    wheel_with_headers(name, version, requires, "", extra)
}

/// [`wheel`] with more core-metadata header lines (e.g. `"License-Expression: MIT\n"`).
pub(crate) fn wheel_with_headers(
    name: &str,
    version: &str,
    requires: &[&str],
    headers: &str,
    extra: &[(&str, &str)],
) -> Dist {
    let module = name.replace('-', "_");
    let dist_info = format!("{module}-{version}.dist-info");
    let metadata = core_metadata(name, version, requires) + headers;
    let mut files: Vec<(String, Vec<u8>)> =
        vec![(format!("{module}/__init__.py"), format!("VERSION = \"{version}\"\n").into_bytes())];
    for (p, c) in extra {
        files.push((p.to_string(), c.as_bytes().to_vec()));
    }
    files.push((format!("{dist_info}/METADATA"), metadata.clone().into_bytes()));
    files.push((
        format!("{dist_info}/WHEEL"),
        b"Wheel-Version: 1.0\nGenerator: pipgate-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n".to_vec(),
    ));
    let mut record = String::new();
    for (p, c) in &files {
        record.push_str(&format!("{p},{},{}\n", record_hash(c), c.len()));
    }
    record.push_str(&format!("{dist_info}/RECORD,,\n"));
    files.push((format!("{dist_info}/RECORD"), record.into_bytes()));
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut z = zip::ZipWriter::new(&mut buf);
        let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        for (p, c) in &files {
            z.start_file(p.as_str(), opts).unwrap();
            z.write_all(c).unwrap();
        }
        z.finish().unwrap();
    }
    Dist {
        filename: format!("{module}-{version}-py3-none-any.whl"),
        bytes: buf.into_inner(),
        metadata: Some(metadata.into_bytes()),
    }
}

/// An in-tree PEP 517 backend (no build requirements, so no network): builds a wheel of `<module>/`.
const BACKEND: &str = r#"
import base64, hashlib, os, zipfile
NAME, VERSION, MODULE = "{name}", "{version}", "{module}"
def _meta():
    return open("PKG-INFO").read()
def get_requires_for_build_wheel(config_settings=None):
    return []
def get_requires_for_build_sdist(config_settings=None):
    return []
def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    di = f"{MODULE}-{VERSION}.dist-info"
    fn = f"{MODULE}-{VERSION}-py3-none-any.whl"
    files = {}
    for root, _, names in os.walk(MODULE):
        for n in names:
            p = os.path.join(root, n)
            files[p.replace(os.sep, "/")] = open(p, "rb").read()
    files[f"{di}/METADATA"] = _meta().encode()
    files[f"{di}/WHEEL"] = b"Wheel-Version: 1.0\nGenerator: test-backend\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    rec = []
    for p, c in files.items():
        h = base64.urlsafe_b64encode(hashlib.sha256(c).digest()).rstrip(b"=").decode()
        rec.append(f"{p},sha256={h},{len(c)}")
    rec.append(f"{di}/RECORD,,")
    files[f"{di}/RECORD"] = ("\n".join(rec) + "\n").encode()
    with zipfile.ZipFile(os.path.join(wheel_directory, fn), "w") as z:
        for p, c in files.items():
            z.writestr(p, c)
    return fn
def build_sdist(sdist_directory, config_settings=None):
    raise NotImplementedError
"#;

/// An sdist with an in-tree backend; `setup_py` adds a `setup.py` (content only, the backend ignores it).
pub(crate) fn sdist(name: &str, version: &str, extra: &[(&str, &str)]) -> Dist {
    let module = name.replace('-', "_");
    let root = format!("{name}-{version}");
    let pkg_info = core_metadata(name, version, &[]);
    let pyproject = "[build-system]\nrequires = []\nbuild-backend = \"backend\"\nbackend-path = [\".\"]\n".to_string();
    let backend = BACKEND.replace("{name}", name).replace("{version}", version).replace("{module}", &module);
    let mut files: Vec<(String, String)> = vec![
        (format!("{root}/PKG-INFO"), pkg_info),
        (format!("{root}/pyproject.toml"), pyproject),
        (format!("{root}/backend.py"), backend),
        (format!("{root}/{module}/__init__.py"), format!("VERSION = \"{version}\"\n")),
    ];
    for (p, c) in extra {
        files.push((format!("{root}/{p}"), c.to_string()));
    }
    Dist { filename: format!("{root}.tar.gz"), bytes: tar_gz(&files), metadata: None }
}

// ---------------------------------------------------------------- fake upstream

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Format {
    Json,
    Html,
}

#[derive(Clone)]
pub(crate) struct FakeFile {
    pub dist: Arc<Dist>,
    pub yanked: Option<String>,
    pub upload_time: Option<String>,
    /// Advertise a wrong sha256 on the page.
    pub wrong_hash: bool,
    /// Advertise exactly this text as the sha256 (hostile upstreams).
    pub hash_text: Option<String>,
    /// Send only the first half of the body, then drop the connection.
    pub truncate: bool,
    /// A large generated body (never held in memory): replaces `dist.bytes`.
    pub generated: Option<Arc<Generated>>,
}

impl FakeFile {
    pub(crate) fn new(dist: Dist) -> Self {
        FakeFile {
            dist: Arc::new(dist),
            yanked: None,
            upload_time: Some("2024-01-02T03:04:05.000000Z".into()),
            wrong_hash: false,
            hash_text: None,
            truncate: false,
            generated: None,
        }
    }
}

pub(crate) struct FakeState {
    pub projects: BTreeMap<String, Vec<FakeFile>>,
    pub format: Format,
    pub absolute_urls: bool,
    /// Advertise each wheel's PEP 658 core metadata on pages (JSON `core-metadata` and
    /// `dist-info-metadata`, HTML `data-core-metadata` and `data-dist-info-metadata`, as the
    /// public index does); its `<file>.metadata` is served either way.
    pub advertise_metadata: bool,
    /// Answer every request with this status.
    pub fail_status: Option<u16>,
    /// Require this `Authorization` header value (401 otherwise).
    pub require_auth: Option<String>,
    /// Request counts by path (counted as answered, after any delay).
    pub hits: HashMap<String, usize>,
    /// Request counts by path, counted as they arrive (before any delay).
    pub arrived: HashMap<String, usize>,
    /// Wait this long before answering a `/simple/` page (to make concurrent requests overlap).
    pub page_delay: Option<std::time::Duration>,
    /// Wait this long before answering a `/files/` request (to make concurrent downloads overlap).
    pub file_delay: Option<std::time::Duration>,
}

pub(crate) struct FakeIndex {
    pub addr: SocketAddr,
    pub state: Arc<Mutex<FakeState>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FakeIndex {
    pub(crate) fn start(format: Format) -> FakeIndex {
        let state = Arc::new(Mutex::new(FakeState {
            projects: BTreeMap::new(),
            format,
            absolute_urls: false,
            advertise_metadata: false,
            fail_status: None,
            require_auth: None,
            hits: HashMap::new(),
            arrived: HashMap::new(),
            page_delay: None,
            file_delay: None,
        }));
        let (tx, rx) = std::sync::mpsc::channel();
        let (stop_tx, mut stop_rx) = tokio::sync::oneshot::channel::<()>();
        let st = state.clone();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                tx.send(listener.local_addr().unwrap()).unwrap();
                loop {
                    let (stream, _) = tokio::select! {
                        r = listener.accept() => r.unwrap(),
                        _ = &mut stop_rx => break,
                    };
                    let st = st.clone();
                    tokio::spawn(async move {
                        let svc = hyper::service::service_fn(move |req| {
                            let st = st.clone();
                            async move {
                                *st.lock().unwrap().arrived.entry(req.uri().path().to_string()).or_default() += 1;
                                let delay = st.lock().unwrap().page_delay;
                                if let (Some(d), true) = (delay, req.uri().path().starts_with("/simple/")) {
                                    tokio::time::sleep(d).await;
                                }
                                let delay = st.lock().unwrap().file_delay;
                                if let (Some(d), true) = (delay, req.uri().path().starts_with("/files/")) {
                                    tokio::time::sleep(d).await;
                                }
                                Ok::<_, std::convert::Infallible>(fake_handle(&st, req))
                            }
                        });
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(TokioIo::new(stream), svc)
                            .await;
                    });
                }
            });
        });
        let addr = rx.recv().unwrap();
        FakeIndex { addr, state, stop: Some(stop_tx), thread: Some(thread) }
    }

    pub(crate) fn url(&self) -> String {
        format!("http://{}/simple/", self.addr)
    }

    pub(crate) fn add(&self, project: &str, file: FakeFile) {
        self.state.lock().unwrap().projects.entry(project.to_string()).or_default().push(file);
    }

    pub(crate) fn add_dist(&self, project: &str, dist: Dist) {
        self.add(project, FakeFile::new(dist));
    }

    pub(crate) fn hits(&self, path_suffix: &str) -> usize {
        self.state.lock().unwrap().hits.iter().filter(|(k, _)| k.ends_with(path_suffix)).map(|(_, v)| v).sum()
    }

    /// Requests for paths ending so that have arrived, answered or not.
    pub(crate) fn arrived(&self, path_suffix: &str) -> usize {
        self.state.lock().unwrap().arrived.iter().filter(|(k, _)| k.ends_with(path_suffix)).map(|(_, v)| v).sum()
    }

    /// Stop answering: the port closes.
    pub(crate) fn stop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for FakeIndex {
    fn drop(&mut self) {
        self.stop();
    }
}

type FakeBody = http_body_util::combinators::BoxBody<Bytes, std::io::Error>;

fn body(b: impl Into<Bytes>) -> FakeBody {
    Full::new(b.into()).map_err(|n| match n {}).boxed()
}

fn fake_handle(st: &Mutex<FakeState>, req: Request<hyper::body::Incoming>) -> Response<FakeBody> {
    let path = req.uri().path().to_string();
    let mut s = st.lock().unwrap();
    *s.hits.entry(path.clone()).or_default() += 1;
    if let Some(code) = s.fail_status {
        return Response::builder().status(code).body(body("injected failure")).unwrap();
    }
    if let Some(want) = &s.require_auth {
        if req.headers().get("authorization").and_then(|v| v.to_str().ok()) != Some(want.as_str()) {
            return Response::builder()
                .status(401)
                .header("www-authenticate", "Basic realm=\"fake\"")
                .body(body("auth required"))
                .unwrap();
        }
    }
    let base = format!("http://{}", req.headers().get("host").and_then(|h| h.to_str().ok()).unwrap_or("127.0.0.1"));
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match parts.as_slice() {
        ["simple", ""] => {
            let names: Vec<String> = s.projects.keys().cloned().collect();
            let html: String = names.iter().map(|n| format!("<a href=\"{n}/\">{n}</a>\n")).collect();
            Response::builder()
                .header("content-type", "text/html")
                .body(body(format!("<html><body>{html}</body></html>")))
                .unwrap()
        }
        ["simple", name, ""] => match s.projects.get(*name) {
            None => Response::builder().status(404).body(body("no such project")).unwrap(),
            Some(files) => project_page(&s, name, files, &base),
        },
        ["files", fname] => {
            let (fname, meta) = match fname.strip_suffix(".metadata") {
                Some(f) => (f, true),
                None => (*fname, false),
            };
            let file = s.projects.values().flatten().find(|f| f.dist.filename == fname).cloned();
            drop(s);
            match file {
                None => Response::builder().status(404).body(body("no such file")).unwrap(),
                Some(f) if meta => match &f.dist.metadata {
                    Some(m) => Response::builder()
                        .header("content-type", "application/octet-stream")
                        .body(body(m.clone()))
                        .unwrap(),
                    None => Response::builder().status(404).body(body("")).unwrap(),
                },
                Some(f) if f.truncate => truncated(&f.dist.bytes),
                Some(f) if f.generated.is_some() => f.generated.as_ref().unwrap().response(),
                Some(f) => Response::builder()
                    .header("content-type", "application/octet-stream")
                    .header("content-length", f.dist.bytes.len())
                    .body(body(f.dist.bytes.clone()))
                    .unwrap(),
            }
        }
        _ => Response::builder().status(404).body(body("not found")).unwrap(),
    }
}

/// Declare the full length, send half, then fail the body stream.
fn truncated(bytes: &[u8]) -> Response<FakeBody> {
    let half = Bytes::copy_from_slice(&bytes[..bytes.len() / 2]);
    let stream = futures_util::stream::unfold(0u8, move |state| {
        let half = half.clone();
        async move {
            match state {
                0 => Some((Ok(hyper::body::Frame::data(half)), 1)),
                1 => {
                    // Let the headers and the first half reach the client before dying.
                    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                    Some((Err(std::io::Error::other("upstream died mid-transfer")), 2))
                }
                _ => None,
            }
        }
    });
    Response::builder()
        .header("content-length", bytes.len())
        .body(http_body_util::StreamBody::new(stream).boxed())
        .unwrap()
}

fn project_page(s: &FakeState, name: &str, files: &[FakeFile], base: &str) -> Response<FakeBody> {
    let url_for = |f: &FakeFile| {
        if s.absolute_urls {
            format!("{base}/files/{}", f.dist.filename)
        } else {
            format!("../../files/{}", f.dist.filename)
        }
    };
    let hash_for = |f: &FakeFile| match (&f.hash_text, &f.generated, f.wrong_hash) {
        (Some(h), _, _) => h.clone(),
        (None, _, true) => "0".repeat(64),
        (None, Some(g), _) => g.sha256.clone(),
        (None, None, _) => sha256_hex(&f.dist.bytes),
    };
    match s.format {
        Format::Json => {
            let files: Vec<serde_json::Value> = files
                .iter()
                .map(|f| {
                    let mut o = serde_json::json!({
                        "filename": f.dist.filename, "url": url_for(f), "hashes": {"sha256": hash_for(f)},
                        "requires-python": ">=3.8", "size": f.generated.as_ref().map(|g| g.len).unwrap_or(f.dist.bytes.len() as u64),
                        "yanked": f.yanked.clone().map(serde_json::Value::String).unwrap_or(serde_json::Value::Bool(false)),
                    });
                    if let Some(t) = &f.upload_time {
                        o["upload-time"] = t.clone().into();
                    }
                    // As the public index does: PEP 714's name and the legacy one older clients read.
                    if let (true, Some(m)) = (s.advertise_metadata, &f.dist.metadata) {
                        o["core-metadata"] = serde_json::json!({"sha256": sha256_hex(m)});
                        o["dist-info-metadata"] = o["core-metadata"].clone();
                    }
                    o
                })
                .collect();
            let page = serde_json::json!({"meta": {"api-version": "1.1"}, "name": name, "files": files});
            Response::builder()
                .header("content-type", "application/vnd.pypi.simple.v1+json")
                .body(body(page.to_string()))
                .unwrap()
        }
        Format::Html => {
            let mut html = String::from("<!DOCTYPE html><html><body>\n");
            for f in files {
                let mut a =
                    format!("<a href=\"{}#sha256={}\" data-requires-python=\"&gt;=3.8\"", url_for(f), hash_for(f));
                if let Some(y) = &f.yanked {
                    a.push_str(&format!(" data-yanked=\"{y}\""));
                }
                if let (true, Some(m)) = (s.advertise_metadata, &f.dist.metadata) {
                    let v = sha256_hex(m);
                    a.push_str(&format!(" data-dist-info-metadata=\"sha256={v}\" data-core-metadata=\"sha256={v}\""));
                }
                html.push_str(&format!("{a}>{}</a><br/>\n", f.dist.filename));
            }
            html.push_str("</body></html>");
            Response::builder().header("content-type", "text/html").body(body(html)).unwrap()
        }
    }
}

// ---------------------------------------------------------------- pipgate

pub(crate) struct Pipgate {
    pub child: Child,
    pub url: String,
    pub data_dir: PathBuf,
    _tmp: Option<tempfile::TempDir>,
}

impl Pipgate {
    pub(crate) fn start(upstream: &str, policy: Option<&str>) -> Pipgate {
        Self::start_args(upstream, policy, &[])
    }

    /// Start with extra `serve` flags (e.g. `--dangerous-skip-scan` for the benchmark baseline).
    pub(crate) fn start_args(upstream: &str, policy: Option<&str>, extra: &[&str]) -> Pipgate {
        let tmp = tempfile::tempdir().unwrap();
        let data_dir = tmp.path().join("data");
        let policy_path = tmp.path().join("policy.yaml");
        std::fs::write(&policy_path, policy.unwrap_or("# empty test policy\n")).unwrap();
        let mut p = Self::spawn(upstream, &policy_path, &data_dir, extra);
        p._tmp = Some(tmp);
        p
    }

    pub(crate) fn start_with(upstream: &str, policy: &Path, data_dir: &Path) -> Pipgate {
        Self::spawn(upstream, policy, data_dir, &[])
    }

    /// [`Pipgate::start_with`] with extra environment (e.g. `PIPGATE_LOG_FORMAT`); stderr is
    /// a pipe, as under a service manager.
    pub(crate) fn start_env(upstream: &str, policy: &Path, data_dir: &Path, env: &[(&str, &str)]) -> Pipgate {
        Self::spawn_env(upstream, policy, data_dir, &[], env)
    }

    /// A fresh temporary directory, the policy text, extra `serve` flags and environment.
    pub(crate) fn start_full(upstream: &str, policy: Option<&str>, extra: &[&str], env: &[(&str, &str)]) -> Pipgate {
        let tmp = tempfile::tempdir().unwrap();
        let data_dir = tmp.path().join("data");
        let policy_path = tmp.path().join("policy.yaml");
        std::fs::write(&policy_path, policy.unwrap_or("# empty test policy\n")).unwrap();
        let mut p = Self::spawn_env(upstream, &policy_path, &data_dir, extra, env);
        p._tmp = Some(tmp);
        p
    }

    /// [`Pipgate::start_full`] with the policy in a folder of its own, as in `/etc/pipgate/`:
    /// the log this harness writes is not beside it, so the policy watcher sees no change
    /// per logged line (the load benchmark).
    pub(crate) fn start_apart(upstream: &str, policy: &str, extra: &[&str], env: &[(&str, &str)]) -> Pipgate {
        let tmp = tempfile::tempdir().unwrap();
        let data_dir = tmp.path().join("data");
        let policy_path = tmp.path().join("etc").join("policy.yaml");
        std::fs::create_dir_all(policy_path.parent().unwrap()).unwrap();
        std::fs::write(&policy_path, policy).unwrap();
        let mut p = Self::spawn_env(upstream, &policy_path, &data_dir, extra, env);
        p._tmp = Some(tmp);
        p
    }

    fn spawn(upstream: &str, policy: &Path, data_dir: &Path, extra: &[&str]) -> Pipgate {
        Self::spawn_env(upstream, policy, data_dir, extra, &[])
    }

    fn spawn_env(upstream: &str, policy: &Path, data_dir: &Path, extra: &[&str], env: &[(&str, &str)]) -> Pipgate {
        // `PIPGATE_BIN`: another build to run (the install benchmark's before/after).
        let bin = std::env::var("PIPGATE_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_pipgate").to_string());
        // Tests revalidate every page (`--page-ttl 0`) unless they name their own TTL.
        let ttl: &[&str] = if extra.contains(&"--page-ttl") { &[] } else { &["--page-ttl", "0"] };
        let mut child = Command::new(bin)
            .args(["serve", "--listen", "127.0.0.1:0", "--upstream", upstream])
            .args(ttl)
            .args(extra)
            .arg("--policy")
            .arg(policy)
            .arg("--data-dir")
            .arg(data_dir)
            .env("PIPGATE_LOG", "pipgate=debug")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start pipgate");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let stderr = child.stderr.take().unwrap();
        let log_path = data_dir.with_extension("log");
        std::thread::spawn(move || {
            // Whole lines, written in batches while pipgate logs faster than this thread
            // copies (one `write` per line cost the load benchmark's CPU), and flushed as soon
            // as it has caught up, so a test reads every line logged so far.
            let mut f = std::io::BufWriter::with_capacity(64 << 10, std::fs::File::create(log_path).unwrap());
            let (mut r, mut line) = (BufReader::with_capacity(64 << 10, stderr), Vec::new());
            while r.read_until(b'\n', &mut line).is_ok_and(|n| n > 0) {
                let _ = f.write_all(&line);
                line.clear();
                if r.buffer().is_empty() {
                    let _ = f.flush();
                }
            }
            let _ = f.flush();
        });
        let url = line
            .split_whitespace()
            .find(|w| w.starts_with("http://") || w.starts_with("https://"))
            .unwrap_or_else(|| panic!("pipgate did not print its address: {line:?}"))
            .to_string();
        Pipgate { child, url, data_dir: data_dir.to_path_buf(), _tmp: None }
    }

    /// `http://127.0.0.1:PORT` without the `/simple/` path.
    pub(crate) fn base(&self) -> String {
        self.url.trim_end_matches("/simple/").to_string()
    }

    /// The absolute URL (resolved, no `..`) of a file as pipgate lists it on the project's
    /// JSON page.
    pub(crate) fn file_url(&self, project: &str, filename: &str) -> String {
        let page_url = format!("{}{project}/", self.url);
        let page: serde_json::Value = http()
            .get(&page_url)
            .header("Accept", "application/vnd.pypi.simple.v1+json")
            .send()
            .unwrap()
            .json()
            .unwrap();
        let listed = page["files"].as_array().unwrap().iter().find(|f| f["filename"] == filename);
        let href = listed.unwrap_or_else(|| panic!("{filename} is not listed on {page_url}"))["url"].as_str().unwrap();
        url::Url::parse(&page_url).unwrap().join(href).unwrap().to_string()
    }

    /// pipgate's log as written so far. Lines reach the file through a background writer
    /// (`tracing-appender`), so this reads until the file has stopped growing for 100 ms
    /// (at most 5 s): a line logged before the call is in the text.
    pub(crate) fn log(&self) -> String {
        let read = || std::fs::read_to_string(self.data_dir.with_extension("log")).unwrap_or_default();
        let mut text = read();
        for _ in 0..50 {
            std::thread::sleep(std::time::Duration::from_millis(100));
            let now = read();
            if now.len() == text.len() {
                break;
            }
            text = now;
        }
        text
    }

    pub(crate) fn audit(&self) -> Vec<serde_json::Value> {
        let text = std::fs::read_to_string(self.data_dir.join("audit/audit.jsonl")).unwrap_or_default();
        text.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
    }
}

impl Drop for Pipgate {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------- clients

/// Environment for pip and uv that ignores this machine's settings.
pub(crate) fn isolated(cmd: &mut Command, cache: &Path) {
    for k in [
        "PIP_FIND_LINKS",
        "PIP_INDEX_URL",
        "PIP_EXTRA_INDEX_URL",
        "PIP_CERT",
        "PIP_TRUSTED_HOST",
        "UV_INDEX_URL",
        "UV_DEFAULT_INDEX",
        "UV_EXTRA_INDEX_URL",
        "UV_INDEX",
        "UV_FIND_LINKS",
        "HTTPS_PROXY",
        "HTTP_PROXY",
        "https_proxy",
        "http_proxy",
        "ALL_PROXY",
    ] {
        cmd.env_remove(k);
    }
    cmd.env("PIP_CONFIG_FILE", "/dev/null")
        .env("PIP_DISABLE_PIP_VERSION_CHECK", "1")
        .env("PIP_NO_INPUT", "1")
        .env("PIP_NO_CACHE_DIR", "1")
        .env("PIP_DEFAULT_TIMEOUT", "30")
        .env("UV_NO_CONFIG", "1")
        .env("UV_CACHE_DIR", cache.join("uv-cache"))
        .env("UV_PYTHON_DOWNLOADS", "never")
        .env("UV_NO_PROGRESS", "1")
        .env("UV_HTTP_TIMEOUT", "30")
        .env("NO_COLOR", "1")
        .env("NO_PROXY", "*");
}

/// Drop this machine's trust settings (a test names its own): requests lets
/// `REQUESTS_CA_BUNDLE` / `CURL_CA_BUNDLE` override pip's `--cert`, and uv reads `SSL_CERT_*`.
fn without_machine_trust(cmd: &mut Command) {
    for k in
        ["REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE", "SSL_CERT_DIR", "UV_NATIVE_TLS", "UV_SYSTEM_CERTS"]
    {
        cmd.env_remove(k);
    }
}

pub(crate) struct Venv {
    pub dir: tempfile::TempDir,
}

impl Venv {
    pub(crate) fn new() -> Venv {
        let dir = tempfile::tempdir().unwrap();
        let st = Command::new("python3")
            .args(["-m", "venv", "--without-pip"])
            .arg(dir.path().join("venv"))
            .status()
            .unwrap();
        assert!(st.success());
        Venv { dir }
    }
    pub(crate) fn python(&self) -> PathBuf {
        self.dir.path().join("venv/bin/python")
    }
    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Real pip (the machine's), installing into this venv.
    pub(crate) fn pip(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new("python3");
        cmd.args(["-m", "pip", "--python"]).arg(self.python()).args(args);
        isolated(&mut cmd, self.path());
        cmd.output().unwrap()
    }

    /// Real uv (`pip install uv`), installing into this venv.
    pub(crate) fn uv_pip(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new("python3");
        cmd.args(["-m", "uv", "pip"]).args(args).arg("--python").arg(self.python());
        isolated(&mut cmd, self.path());
        cmd.output().unwrap()
    }

    /// [`Venv::pip`] with extra environment set after the isolation (e.g. `HTTPS_PROXY`,
    /// `PIP_CERT`); the isolation's `NO_PROXY=*` is dropped so a proxy is used.
    pub(crate) fn pip_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut cmd = Command::new("python3");
        cmd.args(["-m", "pip", "--python"]).arg(self.python()).args(args);
        isolated(&mut cmd, self.path());
        without_machine_trust(&mut cmd);
        cmd.env_remove("NO_PROXY").env_remove("no_proxy").envs(env.iter().copied());
        cmd.output().unwrap()
    }

    /// [`Venv::uv_pip`] with extra environment, as [`Venv::pip_env`].
    pub(crate) fn uv_pip_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut cmd = Command::new("python3");
        cmd.args(["-m", "uv", "pip"]).args(args).arg("--python").arg(self.python());
        isolated(&mut cmd, self.path());
        without_machine_trust(&mut cmd);
        cmd.env_remove("NO_PROXY").env_remove("no_proxy").envs(env.iter().copied());
        cmd.output().unwrap()
    }

    /// `python -c code` inside the venv.
    pub(crate) fn run(&self, code: &str) -> String {
        let out = Command::new(self.python()).args(["-c", code]).output().unwrap();
        assert!(out.status.success(), "python failed: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }
}

/// `uv <args>` in a directory (for `uv lock` / `uv sync`).
pub(crate) fn uv(dir: &Path, index: &str, args: &[&str]) -> Output {
    let mut cmd = Command::new("python3");
    cmd.args(["-m", "uv"]).args(args).current_dir(dir);
    isolated(&mut cmd, dir);
    cmd.env("UV_DEFAULT_INDEX", index);
    cmd.output().unwrap()
}

pub(crate) fn show(o: &Output) -> String {
    format!(
        "status {:?}\n--- stdout\n{}\n--- stderr\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

pub(crate) fn http() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder().redirect(reqwest::redirect::Policy::none()).no_proxy().build().unwrap()
}

// ---------------------------------------------------------------- big generated wheel

/// A valid wheel (stored zip) with one member of `n_chunks` MiB, streamed, never in memory.
pub(crate) struct Generated {
    pub prefix: Vec<u8>,
    pub chunk: Vec<u8>,
    pub n_chunks: u64,
    pub suffix: Vec<u8>,
    pub len: u64,
    pub sha256: String,
}

impl Generated {
    pub(crate) fn wheel(name: &str, version: &str, mib: u64) -> (String, Generated) {
        let chunk: Vec<u8> = (0..1u32 << 20).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
        let mut crc = flate2::Crc::new();
        for _ in 0..mib {
            crc.update(&chunk);
        }
        let big_len = (mib << 20) as u32;
        let meta = core_metadata(name, version, &[]).into_bytes();
        let mut m_crc = flate2::Crc::new();
        m_crc.update(&meta);
        let module = name.replace('-', "_");
        let big_name = format!("{module}/data.bin");
        let meta_name = format!("{module}-{version}.dist-info/METADATA");
        let local = |name: &str, crc: u32, size: u32| {
            let mut h = Vec::new();
            h.extend_from_slice(&0x04034b50u32.to_le_bytes());
            h.extend_from_slice(&20u16.to_le_bytes());
            h.extend_from_slice(&0u16.to_le_bytes());
            h.extend_from_slice(&0u16.to_le_bytes()); // stored
            h.extend_from_slice(&0u16.to_le_bytes());
            h.extend_from_slice(&0x21u16.to_le_bytes());
            h.extend_from_slice(&crc.to_le_bytes());
            h.extend_from_slice(&size.to_le_bytes());
            h.extend_from_slice(&size.to_le_bytes());
            h.extend_from_slice(&(name.len() as u16).to_le_bytes());
            h.extend_from_slice(&0u16.to_le_bytes());
            h.extend_from_slice(name.as_bytes());
            h
        };
        let central = |name: &str, crc: u32, size: u32, offset: u32| {
            let mut h = Vec::new();
            h.extend_from_slice(&0x02014b50u32.to_le_bytes());
            h.extend_from_slice(&20u16.to_le_bytes());
            h.extend_from_slice(&20u16.to_le_bytes());
            h.extend_from_slice(&0u16.to_le_bytes());
            h.extend_from_slice(&0u16.to_le_bytes());
            h.extend_from_slice(&0u16.to_le_bytes());
            h.extend_from_slice(&0x21u16.to_le_bytes());
            h.extend_from_slice(&crc.to_le_bytes());
            h.extend_from_slice(&size.to_le_bytes());
            h.extend_from_slice(&size.to_le_bytes());
            h.extend_from_slice(&(name.len() as u16).to_le_bytes());
            h.extend_from_slice(&[0; 8]);
            h.extend_from_slice(&0u32.to_le_bytes());
            h.extend_from_slice(&offset.to_le_bytes());
            h.extend_from_slice(name.as_bytes());
            h
        };
        let mut prefix = local(&meta_name, m_crc.sum(), meta.len() as u32);
        prefix.extend_from_slice(&meta);
        let big_offset = prefix.len() as u32;
        prefix.extend_from_slice(&local(&big_name, crc.sum(), big_len));
        let cd_offset = big_offset as u64 + (prefix.len() as u64 - big_offset as u64) + (mib << 20);
        let mut suffix = central(&meta_name, m_crc.sum(), meta.len() as u32, 0);
        suffix.extend_from_slice(&central(&big_name, crc.sum(), big_len, big_offset));
        let cd_size = suffix.len() as u32;
        suffix.extend_from_slice(&0x06054b50u32.to_le_bytes());
        suffix.extend_from_slice(&[0; 4]);
        suffix.extend_from_slice(&2u16.to_le_bytes());
        suffix.extend_from_slice(&2u16.to_le_bytes());
        suffix.extend_from_slice(&cd_size.to_le_bytes());
        suffix.extend_from_slice(&(cd_offset as u32).to_le_bytes());
        suffix.extend_from_slice(&0u16.to_le_bytes());
        let mut sha = Sha256::new();
        sha.update(&prefix);
        for _ in 0..mib {
            sha.update(&chunk);
        }
        sha.update(&suffix);
        let len = prefix.len() as u64 + (mib << 20) + suffix.len() as u64;
        let g = Generated { prefix, chunk, n_chunks: mib, suffix, len, sha256: hex::encode(sha.finalize()) };
        (format!("{module}-{version}-py3-none-any.whl"), g)
    }

    fn response(&self) -> Response<FakeBody> {
        let parts: Vec<Bytes> = std::iter::once(Bytes::from(self.prefix.clone()))
            .chain((0..self.n_chunks).map({
                let c = Bytes::from(self.chunk.clone());
                move |_| c.clone()
            }))
            .chain(std::iter::once(Bytes::from(self.suffix.clone())))
            .collect();
        let stream = futures_util::stream::iter(parts.into_iter().map(|b| Ok(hyper::body::Frame::data(b))));
        Response::builder()
            .header("content-length", self.len)
            .body(http_body_util::StreamBody::new(stream).boxed())
            .unwrap()
    }
}

/// Peak resident memory of a process, from /proc (Linux), in MiB.
pub(crate) fn peak_rss_mib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kb: u64 = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap();
    kb / 1024
}

/// pipgate's `/metrics`, fetched and parsed.
pub(crate) fn scrape(base: &str) -> (String, prometheus_parse::Scrape) {
    let text = http().get(format!("{base}/metrics")).send().unwrap().text().unwrap();
    let scrape = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_string()))).unwrap();
    (text, scrape)
}

/// The sum of a metric's samples whose labels include `labels` (all label sets when empty),
/// e.g. `pipgate_cache_requests_total` with `[("cache", "memory"), ("result", "hit")]`.
/// Counters, gauges and untyped samples count; histogram and summary samples are skipped
/// (their `_count`/`_sum` series are plain samples).
pub(crate) fn sample_sum(scrape: &prometheus_parse::Scrape, metric: &str, labels: &[(&str, &str)]) -> f64 {
    scrape
        .samples
        .iter()
        .filter(|s| s.metric == metric && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .map(|s| match s.value {
            prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Untyped(v) => v,
            _ => 0.0,
        })
        .sum()
}

/// [`sample_sum`] over a fresh scrape of pipgate at `base`.
pub(crate) fn metric(base: &str, metric: &str, labels: &[(&str, &str)]) -> f64 {
    sample_sum(&scrape(base).1, metric, labels)
}

/// What one of [`concurrent_gets`]'s clients got: status, body length, and the body's sha256
/// (empty when not hashed).
pub(crate) type Got = (u16, u64, String);

/// `clients` GETs of `url` at once, each a client of its own (its own connection, as separate
/// installers would be), released together; the body is read to the end and, with `hash`,
/// hashed. Results in client order.
pub(crate) fn concurrent_gets(url: &str, clients: usize, hash: bool) -> Vec<Got> {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async {
        let start = Arc::new(tokio::sync::Barrier::new(clients));
        let tasks: Vec<_> = (0..clients)
            .map(|_| {
                let (url, start) = (url.to_string(), start.clone());
                tokio::spawn(async move {
                    let client = reqwest::Client::builder().no_proxy().build().unwrap();
                    start.wait().await;
                    let mut resp = client.get(url).send().await.unwrap();
                    let status = resp.status().as_u16();
                    let (mut len, mut sha) = (0u64, Sha256::new());
                    while let Some(chunk) = resp.chunk().await.unwrap() {
                        len += chunk.len() as u64;
                        if hash {
                            sha.update(&chunk);
                        }
                    }
                    (status, len, if hash { hex::encode(sha.finalize()) } else { String::new() })
                })
            })
            .collect();
        let mut out = Vec::with_capacity(clients);
        for t in tasks {
            out.push(t.await.unwrap());
        }
        out
    })
}
