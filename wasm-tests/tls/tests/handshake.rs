//! The TLS layer inside wasm32-unknown-unknown (under Node, via wasm-bindgen-test-runner): ring's wasm build, the
//! JS randomness source and the injected clock (there is no system clock there). Native runs compile nothing here;
//! the main crate's tests/tls_layer.rs covers the behaviour in depth. How to run: see ../Cargo.toml.
#![cfg(all(target_arch = "wasm32", target_os = "unknown"))]

use std::io::{Read, Write};
use std::sync::Arc;

use rcgen::{date_time_ymd, BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::{ServerConfig, ServerConnection, SupportedProtocolVersion};
use smtp_wasm::{Timestamp, TlsConnector, TlsError, TlsErrorKind, TlsLayer, TlsOptions};
use wasm_bindgen_test::wasm_bindgen_test;

/// 2026-06-01T00:00:00Z; the certificates below are valid 2025-01-01 to 2030-01-01.
const NOW: Timestamp = Timestamp::from_unix_millis(1_780_272_000_000);

type CertAndKey = (CertificateDer<'static>, PrivateKeyDer<'static>);

struct Setup {
    ca_pem: String,
    rsa: CertAndKey,
    ecdsa: CertAndKey,
}

fn server(leaf: &CertAndKey, version: &'static SupportedProtocolVersion) -> Arc<ServerConfig> {
    Arc::new(
        ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_protocol_versions(&[version])
            .expect("versions")
            .with_no_client_auth()
            .with_single_cert(vec![leaf.0.clone()], leaf.1.clone_key())
            .expect("server certificate"),
    )
}

fn setup() -> Setup {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("params");
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "wasm test CA");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.not_before = date_time_ymd(2025, 1, 1);
    ca_params.not_after = date_time_ymd(2030, 1, 1);
    let ca_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("CA key");
    let ca_pem = ca_params.self_signed(&ca_key).expect("CA").pem();
    let issuer = Issuer::from_params(&ca_params, &ca_key);
    let leaf = |key: KeyPair| -> CertAndKey {
        let mut params = CertificateParams::new(vec!["localhost".to_owned()]).expect("params");
        params.not_before = date_time_ymd(2025, 1, 1);
        params.not_after = date_time_ymd(2030, 1, 1);
        let cert = params.signed_by(&key, &issuer).expect("leaf");
        (
            cert.der().clone(),
            PrivatePkcs8KeyDer::from(key.serialize_der()).into(),
        )
    };
    let rsa = leaf(KeyPair::from_pem(include_str!("../../../tests/data/rsa2048-key.pem")).expect("RSA key"));
    let ecdsa = leaf(KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("key"));
    Setup { ca_pem, rsa, ecdsa }
}

/// Pumps bytes until quiet; the client's first error.
fn run(
    client: &mut TlsLayer,
    server: &mut ServerConnection,
    now: Timestamp,
    plain: &mut Vec<u8>,
) -> Result<(), TlsError> {
    loop {
        let mut up = Vec::new();
        client.poll_ciphertext(&mut up);
        let mut rd = &up[..];
        while !rd.is_empty() {
            server.read_tls(&mut rd).expect("server read");
            server.process_new_packets().expect("server process");
        }
        let mut down = Vec::new();
        while server.wants_write() {
            server.write_tls(&mut down).expect("server write");
        }
        client.handle_ciphertext(&down, now, plain)?;
        if up.is_empty() && down.is_empty() {
            return Ok(());
        }
    }
}

#[wasm_bindgen_test]
fn handshake_data_and_expiry_in_wasm() {
    let setup = setup();
    let connector = TlsConnector::new(&TlsOptions {
        root_certificates_pem: vec![setup.ca_pem.clone()],
        ..TlsOptions::default()
    })
    .expect("connector");
    for (leaf, version, name) in [
        (&setup.rsa, &rustls::version::TLS13, "TLSv1.3"),
        (&setup.rsa, &rustls::version::TLS12, "TLSv1.2"),
        (&setup.ecdsa, &rustls::version::TLS13, "TLSv1.3"),
        (&setup.ecdsa, &rustls::version::TLS12, "TLSv1.2"),
    ] {
        let mut server = ServerConnection::new(server(leaf, version)).expect("server");
        let mut client = connector.connect("localhost", NOW).expect("connect");
        let mut plain = Vec::new();
        client.write_plaintext(b"EHLO wasm\r\n").expect("write");
        run(&mut client, &mut server, NOW, &mut plain).expect("handshake");
        let info = client.info().expect("info");
        assert_eq!(info.protocol_version, name);
        let mut received = Vec::new();
        let _ = server.reader().read_to_end(&mut received);
        assert_eq!(received, b"EHLO wasm\r\n");
        server.writer().write_all(b"250 ok\r\n").expect("server write");
        run(&mut client, &mut server, NOW, &mut plain).expect("data");
        assert_eq!(plain, b"250 ok\r\n");
    }

    // The injected clock, not a system clock, decides expiry.
    let mut server = ServerConnection::new(server(&setup.ecdsa, &rustls::version::TLS13)).expect("server");
    let later = Timestamp::from_unix_millis(1_924_992_000_000); // 2031-01-01
    let mut client = connector.connect("localhost", later).expect("connect");
    let error = run(&mut client, &mut server, later, &mut Vec::new()).expect_err("expired");
    assert_eq!(error.kind, TlsErrorKind::Expired, "{error}");
}
