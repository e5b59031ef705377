//! The TLS layer against an in-process rustls server, bytes pumped through memory: no sockets, no system clock on
//! the client side (certificates are checked against the injected `now`).
//!
//! Certificates are made here with rcgen (ring backend). ring cannot generate RSA keys, so the RSA leaf uses a key
//! made once with `openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048` (tests/data/rsa2048-key.pem).

use std::io::{Read, Write};
use std::sync::Arc;

use proptest::prelude::*;
use rcgen::{
    date_time_ymd, BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    SignatureAlgorithm,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use rustls::{RootCertStore, ServerConfig, ServerConnection, SupportedProtocolVersion};
use smtp_wasm::{Error, Timestamp, TlsConnector, TlsError, TlsErrorKind, TlsInfo, TlsLayer, TlsOptions};

const TLS13: &SupportedProtocolVersion = &rustls::version::TLS13;
const TLS12: &SupportedProtocolVersion = &rustls::version::TLS12;

/// 2026-06-01T00:00:00Z. Test certificates are valid 2025-01-01 to 2030-01-01.
const NOW: Timestamp = Timestamp::from_unix_millis(1_780_272_000_000);
/// 2031-01-01, after every test certificate expired.
const AFTER_EXPIRY: Timestamp = Timestamp::from_unix_millis(1_924_992_000_000);
/// 2024-01-01, before any test certificate is valid.
const BEFORE_VALIDITY: Timestamp = Timestamp::from_unix_millis(1_704_067_200_000);

const LEAF_NAMES: &[&str] = &["localhost", "127.0.0.1", "::1"];

// ---------------------------------------------------------------------------------------------------------------
// Certificates

#[derive(Debug, Clone, Copy)]
enum Alg {
    Rsa,
    P256,
    P384,
    Ed25519,
}

fn key_pair(alg: Alg) -> KeyPair {
    let generate = |alg: &'static SignatureAlgorithm| KeyPair::generate_for(alg).expect("key generation");
    match alg {
        Alg::Rsa => KeyPair::from_pem(include_str!("data/rsa2048-key.pem")).expect("RSA test key"),
        Alg::P256 => generate(&rcgen::PKCS_ECDSA_P256_SHA256),
        Alg::P384 => generate(&rcgen::PKCS_ECDSA_P384_SHA384),
        Alg::Ed25519 => generate(&rcgen::PKCS_ED25519),
    }
}

fn validity(params: &mut CertificateParams) {
    params.not_before = date_time_ymd(2025, 1, 1);
    params.not_after = date_time_ymd(2030, 1, 1);
}

struct Ca {
    params: CertificateParams,
    key: KeyPair,
    pem: String,
}

impl Ca {
    fn new(common_name: &str) -> Ca {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
        params.distinguished_name.push(DnType::CommonName, common_name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        validity(&mut params);
        let key = key_pair(Alg::P256);
        let pem = params.self_signed(&key).expect("CA certificate").pem();
        Ca { params, key, pem }
    }

    fn leaf(&self, alg: Alg) -> Leaf {
        self.leaf_with(alg, LEAF_NAMES, validity)
    }

    fn leaf_with(&self, alg: Alg, names: &[&str], dates: impl Fn(&mut CertificateParams)) -> Leaf {
        let mut params = leaf_params(names);
        dates(&mut params);
        let key = key_pair(alg);
        let issuer = Issuer::from_params(&self.params, &self.key);
        let cert = params.signed_by(&key, &issuer).expect("leaf certificate");
        Leaf::new(cert.der().clone(), &key)
    }
}

fn leaf_params(names: &[&str]) -> CertificateParams {
    let names: Vec<String> = names.iter().map(|name| (*name).to_owned()).collect();
    let mut params = CertificateParams::new(names).expect("params");
    params
        .distinguished_name
        .push(DnType::CommonName, "smtp-wasm test server");
    params
}

struct Leaf {
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

impl Leaf {
    fn new(cert: CertificateDer<'static>, key: &KeyPair) -> Leaf {
        Leaf {
            chain: vec![cert],
            key: PrivatePkcs8KeyDer::from(key.serialize_der()).into(),
        }
    }

    /// A self-signed leaf (not a CA), the usual "snakeoil" certificate.
    fn self_signed(is_ca: bool) -> (Leaf, String) {
        let mut params = leaf_params(LEAF_NAMES);
        validity(&mut params);
        if is_ca {
            params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        }
        let key = key_pair(Alg::P256);
        let cert = params.self_signed(&key).expect("self-signed certificate");
        (Leaf::new(cert.der().clone(), &key), cert.pem())
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Server and connector

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn server_config(leaf: &Leaf, versions: &[&'static SupportedProtocolVersion]) -> Arc<ServerConfig> {
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(versions)
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(leaf.chain.clone(), leaf.key.clone_key())
        .expect("server certificate");
    config.max_early_data_size = 0;
    Arc::new(config)
}

/// A server that requires a client certificate issued by one of `client_roots`.
fn server_requiring_client_certificates(
    client_roots: &RootCertStore,
    leaf: &Leaf,
    version: &'static SupportedProtocolVersion,
) -> Arc<ServerConfig> {
    let client_verifier =
        WebPkiClientVerifier::builder_with_provider(Arc::new(client_roots.clone()), provider())
            .build()
            .expect("verifier");
    Arc::new(
        ServerConfig::builder_with_provider(provider())
            .with_protocol_versions(&[version])
            .expect("versions")
            .with_client_cert_verifier(client_verifier)
            .with_single_cert(leaf.chain.clone(), leaf.key.clone_key())
            .expect("server certificate"),
    )
}

fn connector_trusting(ca: &Ca) -> TlsConnector {
    TlsConnector::new(&TlsOptions {
        root_certificates_pem: vec![ca.pem.clone()],
        only_given_roots: true,
        dangerously_accept_invalid_certificates: false,
        client_certificate: None,
    })
    .expect("connector")
}

fn dangerous_connector() -> TlsConnector {
    TlsConnector::new(&TlsOptions {
        dangerously_accept_invalid_certificates: true,
        ..TlsOptions::default()
    })
    .expect("connector")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Feed {
    Whole,
    ByteByByte,
}

/// A client layer and a rustls server connected through memory.
struct Pair {
    client: TlsLayer,
    server: ServerConnection,
    client_plain: Vec<u8>,
    server_plain: Vec<u8>,
    server_error: Option<rustls::Error>,
    now: Timestamp,
    feed: Feed,
}

impl Pair {
    fn new(connector: &TlsConnector, server_name: &str, server: Arc<ServerConfig>) -> Pair {
        Pair::at(connector, server_name, server, NOW)
    }

    fn at(connector: &TlsConnector, server_name: &str, server: Arc<ServerConfig>, now: Timestamp) -> Pair {
        let mut server = ServerConnection::new(server).expect("server connection");
        server.set_buffer_limit(None);
        Pair {
            client: connector.connect(server_name, now).expect("connect"),
            server,
            client_plain: Vec::new(),
            server_plain: Vec::new(),
            server_error: None,
            now,
            feed: Feed::Whole,
        }
    }

    /// Moves bytes both ways until neither side has anything to send; the client's first error, if any.
    fn run(&mut self) -> Result<(), TlsError> {
        for _ in 0..50 {
            let mut to_server = Vec::new();
            self.client.poll_ciphertext(&mut to_server);
            self.server_receive(&to_server);
            let to_client = self.server_output();
            self.client_receive(&to_client)?;
            if to_server.is_empty() && to_client.is_empty() {
                return Ok(());
            }
        }
        panic!("the connection never went quiet");
    }

    fn server_output(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        while self.server.wants_write() {
            self.server.write_tls(&mut out).expect("server write_tls");
        }
        out
    }

    fn server_receive(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() && self.server_error.is_none() {
            if self.server.read_tls(&mut bytes).expect("server read_tls") == 0 {
                break;
            }
            match self.server.process_new_packets() {
                Ok(_) => match self.server.reader().read_to_end(&mut self.server_plain) {
                    Ok(_) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                    Err(e) => panic!("server read: {e}"),
                },
                Err(e) => self.server_error = Some(e),
            }
        }
    }

    fn client_receive(&mut self, bytes: &[u8]) -> Result<(), TlsError> {
        let result = match self.feed {
            Feed::Whole => self
                .client
                .handle_ciphertext(bytes, self.now, &mut self.client_plain),
            Feed::ByteByByte => bytes.chunks(1).try_for_each(|byte| {
                self.client
                    .handle_ciphertext(byte, self.now, &mut self.client_plain)
            }),
        };
        if result.is_err() {
            // Deliver the client's alert, as a real driver would.
            let mut alert = Vec::new();
            self.client.poll_ciphertext(&mut alert);
            self.server_receive(&alert);
        }
        result
    }

    fn handshake(&mut self) -> TlsInfo {
        self.run().expect("handshake");
        assert!(!self.client.is_handshaking());
        assert!(
            self.server_error.is_none(),
            "server error: {:?}",
            self.server_error
        );
        self.client.info().expect("info after the handshake")
    }

    /// Client -> server and server -> client application data.
    fn exchange(&mut self, from_client: &[u8], from_server: &[u8]) {
        self.client.write_plaintext(from_client).expect("client write");
        self.server.writer().write_all(from_server).expect("server write");
        self.run().expect("data exchange");
        assert_eq!(self.server_plain, from_client);
        assert_eq!(self.client_plain, from_server);
        self.server_plain.clear();
        self.client_plain.clear();
    }
}

/// The error a client gets from `connector` against `server`.
fn failure(
    connector: &TlsConnector,
    server_name: &str,
    server: Arc<ServerConfig>,
    now: Timestamp,
) -> TlsError {
    let mut pair = Pair::at(connector, server_name, server, now);
    let error = pair.run().expect_err("the handshake should fail");
    assert!(pair.client.info().is_none());
    assert!(!pair.client.is_handshaking());
    // The layer is dead: every later call says the same.
    assert_eq!(
        pair.client.handle_ciphertext(b"", now, &mut Vec::new()),
        Err(error.clone())
    );
    assert_eq!(pair.client.write_plaintext(b"x"), Err(error.clone()));
    assert_eq!(pair.client.handle_eof(), Err(error.clone()));
    error
}

fn assert_kind(error: &TlsError, kind: TlsErrorKind, needle: &str) {
    assert_eq!(error.kind, kind, "{error}");
    assert!(
        error.message.contains(needle),
        "{:?} should contain {needle:?}",
        error.message
    );
}

/// The client's ClientHello, then `server_bytes` as the server's answer.
fn client_against_bytes(server_bytes: &[u8]) -> Result<(), TlsError> {
    let mut client = dangerous_connector().connect("localhost", NOW).expect("connect");
    let mut hello = Vec::new();
    client.poll_ciphertext(&mut hello);
    assert_eq!(
        hello.first(),
        Some(&0x16),
        "a ClientHello record is queued at once"
    );
    client.handle_ciphertext(server_bytes, NOW, &mut Vec::new())
}

// ---------------------------------------------------------------------------------------------------------------
// Handshakes and data

#[test]
fn handshake_and_data_for_each_version_and_key_type() {
    let ca = Ca::new("smtp-wasm test CA");
    let connector = connector_trusting(&ca);
    for alg in [Alg::Rsa, Alg::P256, Alg::P384, Alg::Ed25519] {
        let leaf = ca.leaf(alg);
        for (version, name) in [(TLS13, "TLSv1.3"), (TLS12, "TLSv1.2")] {
            let mut pair = Pair::new(&connector, "localhost", server_config(&leaf, &[version]));
            // Written during the handshake: buffered, sent once it completes.
            pair.client
                .write_plaintext(b"EHLO early\r\n")
                .expect("early write");
            assert!(pair.client.is_handshaking());
            assert!(pair.client.info().is_none());
            let info = pair.handshake();
            assert_eq!(info.protocol_version, name, "{alg:?}");
            assert!(
                info.cipher_suite.starts_with("TLS_"),
                "{alg:?} {name}: {}",
                info.cipher_suite
            );
            assert!(!info.cipher_suite.starts_with("TLS13_"));
            assert_eq!(info.server_name, "localhost");
            assert_eq!(info.peer_certificates, vec![leaf.chain[0].to_vec()]);
            assert!(!info.resumed);
            assert_eq!(info.subject.as_deref(), Some("CN=smtp-wasm test server"));
            assert_eq!(info.issuer.as_deref(), Some("CN=smtp-wasm test CA"));
            // 2030-01-01T00:00:00Z, the test certificates' notAfter.
            assert_eq!(info.not_after, Some(1_893_456_000_000));
            assert_eq!(
                pair.server.server_name(),
                Some("localhost"),
                "SNI is sent for a DNS name"
            );
            assert_eq!(pair.server_plain, b"EHLO early\r\n");
            pair.server_plain.clear();
            pair.exchange(b"MAIL FROM:<a@example.org>\r\n", b"250 2.1.0 Ok\r\n");
            // Big enough to span many records both ways.
            let big_up: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
            let big_down: Vec<u8> = (0..150_000u32).map(|i| (i % 241) as u8).collect();
            pair.exchange(&big_up, &big_down);
        }
    }
}

#[test]
fn tls13_suite_names_are_iana_names() {
    let ca = Ca::new("smtp-wasm test CA");
    let mut pair = Pair::new(
        &connector_trusting(&ca),
        "localhost",
        server_config(&ca.leaf(Alg::P256), &[TLS13]),
    );
    let info = pair.handshake();
    assert!(
        [
            "TLS_AES_256_GCM_SHA384",
            "TLS_AES_128_GCM_SHA256",
            "TLS_CHACHA20_POLY1305_SHA256"
        ]
        .contains(&info.cipher_suite.as_str()),
        "{}",
        info.cipher_suite
    );
}

#[test]
fn server_bytes_fed_one_at_a_time() {
    let ca = Ca::new("smtp-wasm test CA");
    let connector = connector_trusting(&ca);
    for version in [TLS13, TLS12] {
        let mut pair = Pair::new(
            &connector,
            "localhost",
            server_config(&ca.leaf(Alg::Rsa), &[version]),
        );
        pair.feed = Feed::ByteByByte;
        pair.handshake();
        pair.exchange(b"EHLO client\r\n", b"250-mail.example.org\r\n250 SMTPUTF8\r\n");
    }
}

#[test]
fn server_flight_split_at_every_boundary() {
    // One handshake per split point of the server's first flight (ServerHello up to Finished in TLS 1.3, up to
    // ServerHelloDone in TLS 1.2): the outcome must not depend on the fragmentation.
    let ca = Ca::new("smtp-wasm test CA");
    for version in [TLS13, TLS12] {
        let server = server_config(&ca.leaf(Alg::P256), &[version]);
        let mut split = 1;
        loop {
            // A new connector each time, or the handshake would resume the previous session (a shorter flight).
            let mut pair = Pair::new(&connector_trusting(&ca), "localhost", Arc::clone(&server));
            let mut hello = Vec::new();
            pair.client.poll_ciphertext(&mut hello);
            pair.server_receive(&hello);
            // A fresh handshake each time: its flight may differ by a byte or two (ECDSA signature length).
            let flight = pair.server_output();
            if split >= flight.len() {
                break;
            }
            let mut plain = Vec::new();
            pair.client
                .handle_ciphertext(&flight[..split], NOW, &mut plain)
                .expect("first part");
            assert!(pair.client.is_handshaking());
            pair.client
                .handle_ciphertext(&flight[split..], NOW, &mut plain)
                .expect("second part");
            pair.handshake();
            split += 1;
        }
        assert!(split > 500, "{version:?}: only {split} split points");
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Certificate failures

#[test]
fn unknown_issuer() {
    let ca = Ca::new("smtp-wasm test CA");
    let other = Ca::new("Some Other CA");
    let server = server_config(&ca.leaf(Alg::P256), &[TLS13]);
    let error = failure(&connector_trusting(&other), "localhost", Arc::clone(&server), NOW);
    assert_kind(&error, TlsErrorKind::UnknownIssuer, "rootCertificates");
    assert!(
        error.message.contains("CN=smtp-wasm test CA"),
        "names the issuer: {}",
        error.message
    );
    // The Mozilla roots alone do not know a private CA either.
    let defaults = TlsConnector::new(&TlsOptions::default()).expect("connector");
    let error = failure(&defaults, "localhost", server, NOW);
    assert_kind(&error, TlsErrorKind::UnknownIssuer, "unknown issuer");
}

#[test]
fn self_signed() {
    let other = Ca::new("Some Other CA");
    let (leaf, leaf_pem) = Leaf::self_signed(false);
    let server = server_config(&leaf, &[TLS12, TLS13]);
    let error = failure(&connector_trusting(&other), "localhost", Arc::clone(&server), NOW);
    assert_kind(&error, TlsErrorKind::SelfSigned, "self-signed");
    let defaults = TlsConnector::new(&TlsOptions::default()).expect("connector");
    assert_kind(
        &failure(&defaults, "localhost", Arc::clone(&server), NOW),
        TlsErrorKind::SelfSigned,
        "",
    );

    // Trusting the self-signed certificate itself works (certificate pinning).
    let pinned = TlsConnector::new(&TlsOptions {
        root_certificates_pem: vec![leaf_pem],
        only_given_roots: true,
        dangerously_accept_invalid_certificates: false,
        client_certificate: None,
    })
    .expect("connector");
    Pair::new(&pinned, "localhost", server).handshake();
}

#[test]
fn self_signed_ca_as_server_certificate() {
    // What `openssl req -x509` makes: CA:TRUE, self-signed. webpki refuses a CA as end entity even when trusted.
    let (leaf, leaf_pem) = Leaf::self_signed(true);
    let server = server_config(&leaf, &[TLS13]);
    let defaults = TlsConnector::new(&TlsOptions::default()).expect("connector");
    let error = failure(&defaults, "localhost", Arc::clone(&server), NOW);
    assert_kind(&error, TlsErrorKind::SelfSigned, "self-signed CA certificate");
    let pinned = TlsConnector::new(&TlsOptions {
        root_certificates_pem: vec![leaf_pem],
        ..TlsOptions::default()
    })
    .expect("connector");
    assert_kind(
        &failure(&pinned, "localhost", server, NOW),
        TlsErrorKind::SelfSigned,
        "sign a certificate",
    );
}

#[test]
fn expired_and_not_yet_valid_use_the_injected_clock() {
    let ca = Ca::new("smtp-wasm test CA");
    let connector = connector_trusting(&ca);
    let server = server_config(&ca.leaf(Alg::P256), &[TLS13]);
    let error = failure(&connector, "localhost", Arc::clone(&server), AFTER_EXPIRY);
    assert_kind(
        &error,
        TlsErrorKind::Expired,
        "expired on 2030-01-01 00:00:00 UTC",
    );
    assert!(error.message.contains("2031-01-01"), "{}", error.message);
    let error = failure(&connector, "localhost", Arc::clone(&server), BEFORE_VALIDITY);
    assert_kind(
        &error,
        TlsErrorKind::NotYetValid,
        "not valid before 2025-01-01 00:00:00 UTC",
    );

    // Same connector, a good clock again: each connection has its own time.
    Pair::new(&connector, "localhost", Arc::clone(&server)).handshake();

    // A leaf expired inside a valid CA.
    let expired_leaf = ca.leaf_with(Alg::P256, LEAF_NAMES, |params| {
        params.not_before = date_time_ymd(2020, 1, 1);
        params.not_after = date_time_ymd(2021, 1, 1);
    });
    let error = failure(
        &connector,
        "localhost",
        server_config(&expired_leaf, &[TLS12]),
        NOW,
    );
    assert_kind(&error, TlsErrorKind::Expired, "2021-01-01");
}

#[test]
fn name_mismatch() {
    let ca = Ca::new("smtp-wasm test CA");
    let server = server_config(&ca.leaf(Alg::P256), &[TLS13]);
    let error = failure(&connector_trusting(&ca), "mail.example.org", server, NOW);
    assert_eq!(error.kind, TlsErrorKind::NameMismatch);
    assert_eq!(
        error.message,
        "the server's certificate is not valid for \"mail.example.org\" (it names localhost, 127.0.0.1, ::1)"
    );
}

#[test]
fn ip_address_server_names() {
    let ca = Ca::new("smtp-wasm test CA");
    let connector = connector_trusting(&ca);
    let server = server_config(&ca.leaf(Alg::P256), &[TLS13, TLS12]);
    for name in ["127.0.0.1", "::1", "[::1]"] {
        let mut pair = Pair::new(&connector, name, Arc::clone(&server));
        let info = pair.handshake();
        assert_eq!(info.server_name, name);
        assert_eq!(
            pair.server.server_name(),
            None,
            "no SNI for an IP address (RFC 6066)"
        );
    }
    let error = failure(&connector, "127.0.0.2", Arc::clone(&server), NOW);
    assert_kind(
        &error,
        TlsErrorKind::NameMismatch,
        "not valid for \"127.0.0.2\" (it names localhost",
    );
    // A certificate with only a DNS name does not cover the address.
    let dns_only = server_config(&ca.leaf_with(Alg::P256, &["localhost"], validity), &[TLS13]);
    assert_kind(
        &failure(&connector, "127.0.0.1", dns_only, NOW),
        TlsErrorKind::NameMismatch,
        "127.0.0.1",
    );
}

// ---------------------------------------------------------------------------------------------------------------
// Signatures with dangerously_accept_invalid_certificates

/// Serves `cert`'s chain but signs with another key: the handshake signature cannot verify.
#[derive(Debug)]
struct WrongKey(Arc<CertifiedKey>);

impl ResolvesServerCert for WrongKey {
    fn resolve(&self, _client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(Arc::clone(&self.0))
    }
}

fn wrong_key_server(leaf: &Leaf, version: &'static SupportedProtocolVersion) -> Arc<ServerConfig> {
    let other_key: PrivateKeyDer<'static> =
        PrivatePkcs8KeyDer::from(key_pair(Alg::P256).serialize_der()).into();
    let signing_key = provider().key_provider.load_private_key(other_key).expect("key");
    let certified = Arc::new(CertifiedKey::new(leaf.chain.clone(), signing_key));
    Arc::new(
        ServerConfig::builder_with_provider(provider())
            .with_protocol_versions(&[version])
            .expect("versions")
            .with_no_client_auth()
            .with_cert_resolver(Arc::new(WrongKey(certified))),
    )
}

#[test]
fn dangerous_mode_accepts_invalid_certificates() {
    let connector = dangerous_connector();
    let ca = Ca::new("Unknown CA");
    let (self_signed, _) = Leaf::self_signed(false);
    let expired = ca.leaf_with(Alg::Rsa, &["elsewhere.example"], |params| {
        params.not_before = date_time_ymd(2020, 1, 1);
        params.not_after = date_time_ymd(2021, 1, 1);
    });
    for leaf in [ca.leaf(Alg::Ed25519), self_signed, expired] {
        for version in [TLS13, TLS12] {
            let mut pair = Pair::new(&connector, "mail.example.org", server_config(&leaf, &[version]));
            pair.handshake();
            pair.exchange(b"QUIT\r\n", b"221 bye\r\n");
        }
    }
}

#[test]
fn dangerous_mode_still_verifies_handshake_signatures() {
    let ca = Ca::new("Unknown CA");
    let leaf = ca.leaf(Alg::P256);
    for version in [TLS13, TLS12] {
        let error = failure(
            &dangerous_connector(),
            "localhost",
            wrong_key_server(&leaf, version),
            NOW,
        );
        assert_kind(&error, TlsErrorKind::BadSignature, "do not match");
    }
    // And so does normal verification, after the certificate itself passed.
    let error = failure(
        &connector_trusting(&ca),
        "localhost",
        wrong_key_server(&leaf, TLS13),
        NOW,
    );
    assert_eq!(error.kind, TlsErrorKind::BadSignature, "{error}");
}

// ---------------------------------------------------------------------------------------------------------------
// Alerts, protocol versions, not TLS, closing

#[test]
fn server_requiring_a_client_certificate_sends_an_alert() {
    let ca = Ca::new("smtp-wasm test CA");
    let leaf = ca.leaf(Alg::P256);
    let mut client_roots = RootCertStore::empty();
    client_roots.add(leaf.chain[0].clone()).expect("root");
    for version in [TLS13, TLS12] {
        let server = server_requiring_client_certificates(&client_roots, &leaf, version);
        let mut pair = Pair::new(&connector_trusting(&ca), "localhost", server);
        let error = pair
            .run()
            .expect_err("the server refuses a client without certificate");
        assert_kind(&error, TlsErrorKind::AlertReceived, "client certificate");
    }
}

#[test]
fn crafted_alerts() {
    // What a TLS 1.0-only server answers to a TLS 1.2/1.3 ClientHello.
    let error = client_against_bytes(&[0x15, 0x03, 0x01, 0x00, 0x02, 0x02, 70]).expect_err("alert");
    assert_kind(&error, TlsErrorKind::ProtocolVersion, "protocol_version");
    let error = client_against_bytes(&[0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 40]).expect_err("alert");
    assert_kind(&error, TlsErrorKind::AlertReceived, "handshake_failure");
    let error = client_against_bytes(&[0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 80]).expect_err("alert");
    assert_kind(&error, TlsErrorKind::AlertReceived, "internal_error");
}

#[test]
fn server_hello_for_tls10_is_a_protocol_version_error() {
    let mut body = vec![0x03, 0x01];
    body.extend_from_slice(&[7; 32]); // random
    body.push(0); // empty session id
    body.extend_from_slice(&[0x00, 0x2f, 0x00]); // TLS_RSA_WITH_AES_128_CBC_SHA, null compression
    let mut handshake = vec![0x02, 0x00, 0x00, body.len() as u8];
    handshake.extend_from_slice(&body);
    let mut record = vec![0x16, 0x03, 0x01, 0x00, handshake.len() as u8];
    record.extend_from_slice(&handshake);
    let error = client_against_bytes(&record).expect_err("TLS 1.0");
    assert_kind(&error, TlsErrorKind::ProtocolVersion, "TLS 1.2 or 1.3");
}

#[test]
fn not_tls() {
    let error = client_against_bytes(b"220 mail.example.org ESMTP Postfix\r\n").expect_err("plaintext SMTP");
    assert_kind(
        &error,
        TlsErrorKind::NotTls,
        "220 mail.example.org ESMTP Postfix\\r\\n",
    );
    assert!(error.message.contains("STARTTLS"), "{}", error.message);
    let error = client_against_bytes(b"HTTP/1.1 400 Bad Request\r\n\r\n").expect_err("HTTP");
    assert_kind(&error, TlsErrorKind::NotTls, "HTTP server");
    // Detected on the very first byte.
    let error = client_against_bytes(b"2").expect_err("one byte");
    assert_eq!(error.kind, TlsErrorKind::NotTls);
    // A handshake record type with a wrong version byte.
    assert_eq!(
        client_against_bytes(&[0x16, 0x01]).expect_err("bad version").kind,
        TlsErrorKind::NotTls
    );
}

#[test]
fn closed_during_handshake() {
    let ca = Ca::new("smtp-wasm test CA");
    let connector = connector_trusting(&ca);
    let mut client = connector.connect("localhost", NOW).expect("connect");
    let error = client.handle_eof().expect_err("closed before any answer");
    assert_kind(&error, TlsErrorKind::ClosedDuringHandshake, "without answering");
    assert_eq!(client.handle_eof(), Err(error));

    // Closed in the middle of the server's flight.
    let mut pair = Pair::new(
        &connector,
        "localhost",
        server_config(&ca.leaf(Alg::P256), &[TLS12]),
    );
    let mut hello = Vec::new();
    pair.client.poll_ciphertext(&mut hello);
    pair.server_receive(&hello);
    let flight = pair.server_output();
    pair.client
        .handle_ciphertext(&flight[..flight.len() / 2], NOW, &mut Vec::new())
        .expect("part");
    let error = pair.client.handle_eof().expect_err("closed mid-flight");
    assert_eq!(error.kind, TlsErrorKind::ClosedDuringHandshake);
}

#[test]
fn eof_after_the_handshake() {
    let ca = Ca::new("smtp-wasm test CA");
    let connector = connector_trusting(&ca);
    let server = server_config(&ca.leaf(Alg::P256), &[TLS13]);

    // Between records, without close_notify (what many SMTP servers do after 221): accepted.
    let mut pair = Pair::new(&connector, "localhost", Arc::clone(&server));
    pair.handshake();
    assert_eq!(pair.client.handle_eof(), Ok(()));

    // In the middle of a record: truncated data.
    let mut pair = Pair::new(&connector, "localhost", Arc::clone(&server));
    pair.handshake();
    pair.server.writer().write_all(b"250 ok\r\n").expect("write");
    let record = pair.server_output();
    pair.client
        .handle_ciphertext(&record[..record.len() - 3], NOW, &mut Vec::new())
        .expect("part");
    assert_kind(
        &pair.client.handle_eof().expect_err("truncated"),
        TlsErrorKind::Other,
        "middle of a TLS record",
    );

    // After the server's close_notify: clean.
    let mut pair = Pair::new(&connector, "localhost", server);
    pair.handshake();
    pair.server.writer().write_all(b"221 bye\r\n").expect("write");
    pair.server.send_close_notify();
    pair.run().expect("close");
    assert_eq!(pair.client_plain, b"221 bye\r\n");
    assert!(pair.client.is_closed_by_peer());
    assert_eq!(pair.client.handle_eof(), Ok(()));
}

#[test]
fn send_close_notify_sends_the_alert() {
    let ca = Ca::new("smtp-wasm test CA");
    let mut pair = Pair::new(
        &connector_trusting(&ca),
        "localhost",
        server_config(&ca.leaf(Alg::P256), &[TLS13]),
    );
    pair.handshake();
    pair.client.write_plaintext(b"QUIT\r\n").expect("write");
    pair.client.send_close_notify();
    let mut out = Vec::new();
    pair.client.poll_ciphertext(&mut out);
    let mut rd = &out[..];
    while !rd.is_empty() {
        pair.server.read_tls(&mut rd).expect("read");
    }
    let state = pair.server.process_new_packets().expect("process");
    assert!(state.peer_has_closed(), "the server saw close_notify");
    let mut plain = Vec::new();
    pair.server
        .reader()
        .read_to_end(&mut plain)
        .expect("clean end of stream");
    assert_eq!(plain, b"QUIT\r\n");
    assert_kind(
        &pair.client.write_plaintext(b"more").expect_err("closed"),
        TlsErrorKind::Other,
        "close_notify",
    );
}

#[test]
fn tampered_application_data_fails_to_decrypt() {
    let ca = Ca::new("smtp-wasm test CA");
    let mut pair = Pair::new(
        &connector_trusting(&ca),
        "localhost",
        server_config(&ca.leaf(Alg::P256), &[TLS13]),
    );
    pair.handshake();
    pair.server.writer().write_all(b"250 ok\r\n").expect("write");
    let mut record = pair.server_output();
    let last = record.len() - 1;
    record[last] ^= 1;
    let error = pair
        .client
        .handle_ciphertext(&record, NOW, &mut Vec::new())
        .expect_err("tampered");
    assert_kind(&error, TlsErrorKind::Other, "tampered");
}

// ---------------------------------------------------------------------------------------------------------------
// Roots, resumption, options

#[test]
fn only_given_roots_versus_default_roots() {
    let ca = Ca::new("smtp-wasm test CA");
    let server = server_config(&ca.leaf(Alg::P256), &[TLS13]);
    for only_given_roots in [true, false] {
        let connector = TlsConnector::new(&TlsOptions {
            // Two certificates in one string, as a bundle file holds them.
            root_certificates_pem: vec![format!("{}{}", Ca::new("Another CA").pem, ca.pem)],
            only_given_roots,
            dangerously_accept_invalid_certificates: false,
            client_certificate: None,
        })
        .expect("connector");
        Pair::new(&connector, "localhost", Arc::clone(&server)).handshake();
    }
    let nothing = TlsConnector::new(&TlsOptions {
        only_given_roots: true,
        ..TlsOptions::default()
    });
    match nothing {
        Err(Error::Tls(error)) => assert_kind(&error, TlsErrorKind::Other, "onlyGivenRoots"),
        other => panic!("expected an error, got {other:?}"),
    }
}

#[test]
fn bad_root_certificates_are_refused_with_their_index() {
    let ca = Ca::new("smtp-wasm test CA");
    let cases = [
        ("not a certificate".to_owned(), "holds no PEM certificate"),
        (
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n".to_owned(),
            "not a valid X.509 certificate (malformed DER)",
        ),
        (
            "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n".to_owned(),
            "base64",
        ),
        (
            "-----BEGIN CERTIFICATE-----\nMIIB\n".to_owned(),
            "no matching END line",
        ),
    ];
    for (bad, needle) in cases {
        let options = TlsOptions {
            root_certificates_pem: vec![ca.pem.clone(), bad],
            ..TlsOptions::default()
        };
        match TlsConnector::new(&options) {
            Err(Error::Tls(error)) => {
                assert_kind(&error, TlsErrorKind::Other, needle);
                assert!(error.message.contains("rootCertificates[1]"), "{}", error.message);
            }
            other => panic!("expected an error for {needle}, got {other:?}"),
        }
    }
}

#[test]
fn invalid_server_names_are_input_errors() {
    let connector = dangerous_connector();
    for name in ["", "bad name", "a..b", "[::1"] {
        match connector.connect(name, NOW) {
            Err(Error::InvalidInput(input)) => assert_eq!(input.field, smtp_wasm::Field::Option),
            other => panic!("{name:?}: expected InvalidInput, got {other:?}"),
        }
    }
}

#[test]
fn session_resumption_with_the_same_connector() {
    let ca = Ca::new("smtp-wasm test CA");
    let leaf = ca.leaf(Alg::P256);
    for version in [TLS13, TLS12] {
        let server = server_config(&leaf, &[version]);
        let connector = connector_trusting(&ca);
        let first = Pair::new(&connector, "localhost", Arc::clone(&server)).handshake();
        assert!(!first.resumed);
        let mut pair = Pair::new(&connector, "localhost", Arc::clone(&server));
        let second = pair.handshake();
        assert!(second.resumed, "{version:?}");
        assert_eq!(second.peer_certificates, first.peer_certificates);
        pair.exchange(b"NOOP\r\n", b"250 ok\r\n");
        // A fresh connector has no ticket.
        let third = Pair::new(&connector_trusting(&ca), "localhost", Arc::clone(&server)).handshake();
        assert!(!third.resumed);
        // Tickets are per server name.
        let other_name = Pair::new(&connector, "127.0.0.1", Arc::clone(&server)).handshake();
        assert!(!other_name.resumed);
    }
}

#[test]
fn early_plaintext_is_bounded() {
    let mut client = dangerous_connector().connect("localhost", NOW).expect("connect");
    client
        .write_plaintext(&vec![b'a'; smtp_wasm::tls::MAX_EARLY_PLAINTEXT])
        .expect("up to the limit");
    let error = client.write_plaintext(b"b").expect_err("over the limit");
    assert_kind(&error, TlsErrorKind::Other, "before the TLS handshake completed");
    // Not fatal: the connection goes on.
    assert!(client.is_handshaking());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Whatever the server sends, the layer returns (never panics), and a failed layer stays failed.
    #[test]
    fn arbitrary_server_bytes_never_panic(
        record_like in any::<bool>(),
        mut bytes in proptest::collection::vec(any::<u8>(), 0..600),
        cut in 1usize..64,
    ) {
        if record_like && bytes.len() >= 2 {
            bytes[0] = 0x16;
            bytes[1] = 0x03;
        }
        let mut client = dangerous_connector().connect("localhost", NOW).expect("connect");
        let mut out = Vec::new();
        client.poll_ciphertext(&mut out);
        let mut plain = Vec::new();
        let mut failed = None;
        for chunk in bytes.chunks(cut) {
            match client.handle_ciphertext(chunk, NOW, &mut plain) {
                Ok(()) => prop_assert!(failed.is_none()),
                Err(error) => {
                    if let Some(first) = &failed {
                        prop_assert_eq!(first, &error);
                    }
                    failed = Some(error);
                }
            }
            client.poll_ciphertext(&mut out);
        }
        let _ = client.handle_eof();
        let _ = client.info();
        prop_assert!(plain.is_empty());
    }
}

#[test]
fn a_client_certificate_is_presented_when_the_server_asks() {
    let ca = Ca::new("smtp-wasm test CA");
    let server_leaf = ca.leaf(Alg::P256);
    // The client's certificate, issued by the same CA (which the server trusts for clients).
    let client_key = key_pair(Alg::P256);
    let mut params = leaf_params(&["client.example"]);
    validity(&mut params);
    params.distinguished_name.push(DnType::CommonName, "alice");
    let client_cert = params
        .signed_by(&client_key, &Issuer::from_params(&ca.params, &ca.key))
        .expect("client certificate");
    let mut client_roots = RootCertStore::empty();
    let ca_der: CertificateDer<'static> =
        rustls::pki_types::pem::PemObject::from_pem_slice(ca.pem.as_bytes()).expect("CA DER");
    client_roots.add(ca_der).expect("root");
    for version in [TLS13, TLS12] {
        let server = server_requiring_client_certificates(&client_roots, &server_leaf, version);
        let connector = TlsConnector::new(&TlsOptions {
            root_certificates_pem: vec![ca.pem.clone()],
            only_given_roots: true,
            client_certificate: Some(smtp_wasm::ClientCertificate {
                cert_pem: client_cert.pem(),
                key_pem: client_key.serialize_pem(),
            }),
            ..TlsOptions::default()
        })
        .expect("connector");
        let mut pair = Pair::new(&connector, "localhost", server);
        pair.run()
            .expect("the handshake succeeds with the client certificate");
        let presented = pair
            .server
            .peer_certificates()
            .expect("the server got a client certificate");
        assert_eq!(presented[0].as_ref(), client_cert.der().as_ref());
    }
    // A key that is not PEM is a configuration error that never shows the key.
    let error = TlsConnector::new(&TlsOptions {
        client_certificate: Some(smtp_wasm::ClientCertificate {
            cert_pem: client_cert.pem(),
            key_pem: "not a key: hunter2".into(),
        }),
        ..TlsOptions::default()
    })
    .expect_err("bad key");
    let shown = error.to_string();
    assert!(shown.contains("clientCertificate.key"), "{shown}");
    assert!(!shown.contains("hunter2"), "{shown}");
    // A key that is not the certificate's is refused at once, not by the server mid-handshake.
    let error = TlsConnector::new(&TlsOptions {
        client_certificate: Some(smtp_wasm::ClientCertificate {
            cert_pem: client_cert.pem(),
            key_pem: key_pair(Alg::P256).serialize_pem(),
        }),
        ..TlsOptions::default()
    })
    .expect_err("a key of another certificate");
    let shown = error.to_string();
    assert!(shown.contains("does not belong"), "{shown}");
    assert!(TlsConnector::new(&TlsOptions {
        client_certificate: Some(smtp_wasm::ClientCertificate {
            cert_pem: "nothing".into(),
            key_pem: client_key.serialize_pem(),
        }),
        ..TlsOptions::default()
    })
    .is_err());
}
