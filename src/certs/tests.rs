//! What `ca init` writes and what leaf minting produces, read back with x509-parser.

use super::*;
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::prelude::{parse_x509_certificate, X509Certificate};

fn der_of(pem: &str) -> Vec<u8> {
    CertificateDer::from_pem_slice(pem.as_bytes()).unwrap().as_ref().to_vec()
}

fn ski(c: &X509Certificate<'_>) -> Vec<u8> {
    c.extensions()
        .iter()
        .find_map(|e| match e.parsed_extension() {
            ParsedExtension::SubjectKeyIdentifier(k) => Some(k.0.to_vec()),
            _ => None,
        })
        .expect("a subject key identifier")
}

#[test]
fn ca_init_writes_a_constrained_ca_named_for_pipgate_and_the_host_with_a_private_key() {
    let dir = tempfile::tempdir().unwrap();
    let made = init_ca(&dir.path().join("certs"), false).unwrap();
    let der = der_of(&std::fs::read_to_string(&made.cert).unwrap());
    let (_, c) = parse_x509_certificate(&der).unwrap();

    let bc = c.basic_constraints().unwrap().expect("basicConstraints");
    assert!(bc.critical, "basicConstraints must be critical");
    assert!(bc.value.ca, "CA:TRUE");
    assert_eq!(bc.value.path_len_constraint, Some(0), "signs leaves only");
    let ku = c.key_usage().unwrap().expect("keyUsage");
    assert!(ku.value.key_cert_sign() && ku.value.crl_sign(), "keyCertSign + cRLSign");
    assert!(!ku.value.digital_signature());
    let cn = c.subject().iter_common_name().next().unwrap().as_str().unwrap().to_string();
    assert_eq!(cn, format!("pipgate CA on {}", host_name()));
    assert_eq!(c.subject(), c.issuer(), "self-signed");
    let days = (c.validity().not_after.timestamp() - c.validity().not_before.timestamp()) / 86_400;
    assert!((CA_VALIDITY_DAYS..=CA_VALIDITY_DAYS + 1).contains(&days), "validity {days} days");
    assert!(!ski(&c).is_empty());
    c.verify_signature(None).expect("self-signature verifies");

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&made.key).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the key is private");
        let dir_mode = std::fs::metadata(dir.path().join("certs")).unwrap().permissions().mode() & 0o777;
        assert_eq!(dir_mode, 0o700);
    }
    let key = std::fs::read_to_string(&made.key).unwrap();
    assert!(key.starts_with("-----BEGIN PRIVATE KEY-----"), "PKCS#8 PEM");
}

#[test]
fn ca_init_never_overwrites_without_force() {
    let dir = tempfile::tempdir().unwrap();
    let made = init_ca(dir.path(), false).unwrap();
    let key_before = std::fs::read(&made.key).unwrap();
    let err = init_ca(dir.path(), false).unwrap_err();
    assert!(matches!(err, CertError::Exists { .. }), "{err}");
    assert!(err.to_string().contains("--force"), "{err}");
    assert_eq!(std::fs::read(&made.key).unwrap(), key_before, "the key is untouched");
    // A lone certificate (key deleted by hand) is not overwritten either.
    std::fs::remove_file(&made.key).unwrap();
    assert!(matches!(init_ca(dir.path(), false), Err(CertError::Exists { .. })));
    init_ca(dir.path(), true).unwrap();
    assert_ne!(std::fs::read(&made.key).unwrap(), key_before, "--force makes a new key");
}

#[test]
fn leaves_carry_san_serverauth_no_ca_and_the_cas_key_id() {
    let dir = tempfile::tempdir().unwrap();
    init_ca(dir.path(), false).unwrap();
    let ca = Ca::load(dir.path()).unwrap();
    let ca_der = der_of(ca.cert_pem());
    let (_, ca_cert) = parse_x509_certificate(&ca_der).unwrap();

    let cases: &[(&str, &[&str])] = &[
        ("one DNS name", &["index.example.org"]),
        ("an IP address", &["127.0.0.1"]),
        ("IPv6 in brackets", &["[::1]"]),
        ("several names", &["localhost", "127.0.0.1", "pipgate.internal"]),
    ];
    for (case, names) in cases {
        let names: Vec<String> = names.iter().map(ToString::to_string).collect();
        let (_, pem) = ca.mint(&names).unwrap();
        let der = der_of(&pem);
        let (_, c) = parse_x509_certificate(&der).unwrap();
        let san = c.subject_alternative_name().unwrap().expect("SAN");
        let got: Vec<String> = san
            .value
            .general_names
            .iter()
            .map(|g| match g {
                GeneralName::DNSName(d) => d.to_string(),
                GeneralName::IPAddress(b) if b.len() == 4 => {
                    std::net::IpAddr::from(<[u8; 4]>::try_from(*b).unwrap()).to_string()
                }
                GeneralName::IPAddress(b) => {
                    format!("[{}]", std::net::IpAddr::from(<[u8; 16]>::try_from(*b).unwrap()))
                }
                other => panic!("{case}: unexpected SAN {other:?}"),
            })
            .collect();
        assert_eq!(got, names, "{case}: one SAN per name");
        let bc = c.basic_constraints().unwrap().expect("basicConstraints");
        assert!(!bc.value.ca, "{case}: CA:FALSE");
        let eku = c.extended_key_usage().unwrap().expect("EKU");
        assert!(eku.value.server_auth && !eku.value.client_auth, "{case}: serverAuth only");
        let aki = c
            .extensions()
            .iter()
            .find_map(|e| match e.parsed_extension() {
                ParsedExtension::AuthorityKeyIdentifier(a) => a.key_identifier.as_ref().map(|k| k.0.to_vec()),
                _ => None,
            })
            .expect("AKI");
        assert_eq!(aki, ski(&ca_cert), "{case}: AKI is the CA's SKI");
        assert!(!ski(&c).is_empty(), "{case}: SKI");
        assert_eq!(c.issuer(), ca_cert.subject(), "{case}: issued by the CA");
        c.verify_signature(Some(ca_cert.public_key())).expect("signed by the CA key");
        let days = (c.validity().not_after.timestamp() - c.validity().not_before.timestamp()) / 86_400;
        assert!(days <= LEAF_VALIDITY_DAYS + 1, "{case}: short validity ({days} days)");
        assert!(c.validity().is_valid(), "{case}: valid now");
    }
}

#[test]
fn leaves_are_cached_per_name_set() {
    let dir = tempfile::tempdir().unwrap();
    init_ca(dir.path(), false).unwrap();
    let ca = Ca::load(dir.path()).unwrap();
    let a = ca.leaf(&["a.example".into()]).unwrap();
    let again = ca.leaf(&["A.example".into()]).unwrap();
    let b = ca.leaf(&["b.example".into()]).unwrap();
    assert!(Arc::ptr_eq(&a, &again), "reused from the cache");
    assert!(!Arc::ptr_eq(&a, &b));
}

#[test]
fn a_missing_or_broken_ca_names_the_file_and_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let err = Ca::load(dir.path()).unwrap_err().to_string();
    assert!(err.contains("ca.pem") && err.contains("pipgate ca init --dir"), "{err}");
    init_ca(dir.path(), false).unwrap();
    std::fs::write(dir.path().join(CA_KEY_FILE), "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n")
        .unwrap();
    let err = Ca::load(dir.path()).unwrap_err().to_string();
    assert!(err.contains("ca-key.pem") && err.contains("private key"), "{err}");
    assert!(!err.contains("not a key"), "no key bytes in errors: {err}");
}

#[test]
fn bring_your_own_certificate_loads_and_a_mismatched_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    init_ca(dir.path(), false).unwrap();
    let ca = Ca::load(dir.path()).unwrap();
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["byo.example".to_string()]).unwrap().signed_by(&key, &ca.issuer).unwrap();
    let (c, k) = (dir.path().join("byo.pem"), dir.path().join("byo-key.pem"));
    std::fs::write(&c, cert.pem()).unwrap();
    std::fs::write(&k, key.serialize_pem()).unwrap();
    let id = load_identity(&c, &k).unwrap();
    assert_eq!(id.cert.len(), 1);
    let err = load_identity(&k, &k).unwrap_err().to_string();
    assert!(err.contains("byo-key.pem") && err.contains("certificate"), "{err}");
}
