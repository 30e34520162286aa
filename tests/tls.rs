//! Upstream TLS trusts the system store, including `SSL_CERT_FILE`: a gateway CA that only
//! that bundle holds must work, and a server it does not vouch for must fail clearly.

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

fn start_with_env(upstream: &str, env: &[(&str, &std::path::Path)]) -> Pipgate {
    let dir = tempfile::tempdir().unwrap().keep();
    let policy = dir.join("policy.yaml");
    std::fs::write(&policy, "# test\n").unwrap();
    for (k, v) in env {
        std::env::set_var(k, v);
    }
    Pipgate::start_with(upstream, &policy, &dir.join("data"))
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
    let empty_dir = dir.path().join("no-certs");
    std::fs::create_dir(&empty_dir).unwrap();

    // Trusted: the CA is only in SSL_CERT_FILE.
    let gate = start_with_env(&upstream, &[("SSL_CERT_FILE", &bundle), ("SSL_CERT_DIR", &empty_dir)]);
    let r = http().get(format!("{}demo-a/", gate.url)).send().unwrap();
    assert_eq!(r.status(), 200, "{}", gate.log());
    let venv = Venv::new();
    let out = venv.pip(&["install", "--index-url", &gate.url, "demo-a"]);
    assert!(out.status.success(), "{}", show(&out));

    // Not trusted: a bundle without that CA.
    let other = dir.path().join("other.pem");
    std::fs::write(&other, ca_and_leaf().0).unwrap();
    let gate = start_with_env(&upstream, &[("SSL_CERT_FILE", &other), ("SSL_CERT_DIR", &empty_dir)]);
    let r = http().get(format!("{}demo-a/", gate.url)).send().unwrap();
    assert_eq!(r.status(), 502);
    let body = r.text().unwrap();
    assert!(body.contains("certificate") || body.contains("Unknown"), "{body}");
}
