//! The server's TLS layer against our own client layer, bytes pumped through memory: every key type and PEM form
//! a user may hold (RSA, ECDSA, Ed25519; PKCS#8, PKCS#1, SEC1), TLS 1.2 and 1.3, resumption, SNI, and the errors a
//! server operator meets (a bad key file, a client speaking plaintext, a client that does not trust the
//! certificate).

#[path = "common/certs.rs"]
mod certs;

use certs::{KeyKind, Pki, ServerCert, NOW};
use smtp_wasm::tls::{TlsAcceptor, TlsServerLayer, TlsServerOptions};
use smtp_wasm::{Error, TlsConnector, TlsError, TlsErrorKind, TlsInfo, TlsLayer};

fn connector_trusting(pki: &Pki) -> TlsConnector {
    pki.connector()
}

fn acceptor(cert: &ServerCert, tls12: bool, tls13: bool) -> TlsAcceptor {
    let mut options = TlsServerOptions::new(cert.chain_pem.clone(), cert.key_pem.clone());
    options.tls12 = tls12;
    options.tls13 = tls13;
    TlsAcceptor::new(&options).expect("acceptor")
}

/// How ciphertext is handed to each side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Feed {
    Whole,
    ByteByByte,
}

/// Our client layer and our server layer connected through memory.
struct Pair {
    client: TlsLayer,
    server: TlsServerLayer,
    client_plain: Vec<u8>,
    server_plain: Vec<u8>,
    client_error: Option<TlsError>,
    server_error: Option<TlsError>,
    feed: Feed,
}

impl Pair {
    fn new(connector: &TlsConnector, name: &str, acceptor: &TlsAcceptor) -> Pair {
        Pair {
            client: connector.connect(name, NOW).expect("connect"),
            server: acceptor.accept(NOW).expect("accept"),
            client_plain: Vec::new(),
            server_plain: Vec::new(),
            client_error: None,
            server_error: None,
            feed: Feed::Whole,
        }
    }

    fn pieces(feed: Feed, bytes: &[u8]) -> Vec<&[u8]> {
        match feed {
            Feed::Whole => vec![bytes],
            Feed::ByteByByte => bytes.chunks(1).collect(),
        }
    }

    /// Moves bytes both ways until neither side has anything to send.
    fn run(&mut self) {
        for _ in 0..50 {
            let mut to_server = Vec::new();
            self.client.poll_ciphertext(&mut to_server);
            for piece in Pair::pieces(self.feed, &to_server) {
                if self.server_error.is_none() {
                    if let Err(e) = self.server.handle_ciphertext(piece, NOW, &mut self.server_plain) {
                        self.server_error = Some(e);
                    }
                }
            }
            let mut to_client = Vec::new();
            self.server.poll_ciphertext(&mut to_client);
            for piece in Pair::pieces(self.feed, &to_client) {
                if self.client_error.is_none() {
                    if let Err(e) = self.client.handle_ciphertext(piece, NOW, &mut self.client_plain) {
                        self.client_error = Some(e);
                    }
                }
            }
            if to_server.is_empty() && to_client.is_empty() {
                return;
            }
        }
        panic!("the connection never went quiet");
    }

    fn assert_ok(&self) {
        assert_eq!(self.client_error, None, "client error");
        assert_eq!(self.server_error, None, "server error");
    }
}

fn handshake(pki: &Pki, kind: KeyKind, tls12: bool, tls13: bool, feed: Feed) -> (Pair, TlsInfo, TlsInfo) {
    let acceptor = acceptor(&pki.leaf(kind), tls12, tls13);
    let mut pair = Pair::new(&connector_trusting(pki), "localhost", &acceptor);
    pair.feed = feed;
    // An implicit-TLS server writes its greeting at once; it waits for the handshake.
    pair.server
        .write_plaintext(b"220 mx.example.test ESMTP\r\n")
        .expect("greeting");
    pair.run();
    pair.assert_ok();
    assert!(!pair.server.is_handshaking() && !pair.client.is_handshaking());
    let client = pair.client.info().expect("client info");
    let server = pair.server.info().expect("server info");
    (pair, client, server)
}

#[test]
fn every_key_type_and_pem_form_handshakes_with_tls13_and_tls12() {
    let pki = Pki::new();
    for kind in KeyKind::ALL {
        for (tls12, tls13, version) in [
            (false, true, "TLSv1.3"),
            (true, false, "TLSv1.2"),
            (true, true, "TLSv1.3"),
        ] {
            let (mut pair, client, server) = handshake(&pki, kind, tls12, tls13, Feed::Whole);
            let what = format!("{kind:?} {version}");
            assert_eq!(client.protocol_version, version, "{what}");
            assert_eq!(server.protocol_version, version, "{what}");
            assert_eq!(client.cipher_suite, server.cipher_suite, "{what}");
            assert!(
                server.cipher_suite.starts_with("TLS_"),
                "{what}: {}",
                server.cipher_suite
            );
            assert_eq!(server.server_name, "localhost", "{what}: SNI");
            assert!(server.peer_certificates.is_empty());
            assert!(!server.resumed && !client.resumed, "{what}");
            assert_eq!(client.peer_certificates.len(), 2, "{what}: leaf and CA sent");
            // The greeting written before the handshake arrived, and data flows both ways.
            assert_eq!(pair.client_plain, b"220 mx.example.test ESMTP\r\n", "{what}");
            pair.client.write_plaintext(b"EHLO client.example\r\n").unwrap();
            pair.run();
            pair.server.write_plaintext(b"250 ok\r\n").unwrap();
            pair.run();
            pair.assert_ok();
            assert_eq!(pair.server_plain, b"EHLO client.example\r\n", "{what}");
            assert!(pair.client_plain.ends_with(b"250 ok\r\n"), "{what}");
        }
    }
}

#[test]
fn byte_by_byte_handshake_and_large_data() {
    let pki = Pki::new();
    let (mut pair, _, _) = handshake(&pki, KeyKind::P256, true, true, Feed::ByteByByte);
    pair.feed = Feed::Whole;
    let big: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    pair.client.write_plaintext(&big).unwrap();
    pair.run();
    pair.assert_ok();
    assert_eq!(pair.server_plain, big);
}

#[test]
fn no_sni_for_an_ip_address() {
    let pki = Pki::new();
    let acceptor = acceptor(&pki.leaf(KeyKind::P256), true, true);
    let mut pair = Pair::new(&connector_trusting(&pki), "127.0.0.1", &acceptor);
    pair.run();
    pair.assert_ok();
    assert_eq!(pair.server.server_name(), None);
    assert_eq!(pair.server.info().expect("info").server_name, "");
}

#[test]
fn sni_picks_the_certificate_by_name() {
    let pki = Pki::new();
    let default = pki.leaf(KeyKind::P256);
    let mail = pki.leaf_for(KeyKind::Ed25519, &["mail.example.org"], "mail.example.org");
    let wild = pki.leaf_for(KeyKind::Rsa, &["*.example.net"], "wildcard example.net");
    let options = TlsServerOptions::new(default.chain_pem.clone(), default.key_pem.clone())
        .with_sni_certificate("MAIL.example.org", mail.chain_pem.clone(), mail.key_pem.clone())
        .with_sni_certificate("*.example.net", wild.chain_pem.clone(), wild.key_pem.clone());
    let acceptor = TlsAcceptor::new(&options).expect("acceptor");
    let leaf_subject = |name: &str| {
        let mut pair = Pair::new(&connector_trusting(&pki), name, &acceptor);
        pair.run();
        pair.assert_ok();
        pair.client.info().expect("info").subject.unwrap_or_default()
    };
    // An exact name (any case), a wildcard one label down, and the default for everything else.
    assert_eq!(leaf_subject("mail.example.org"), "CN=mail.example.org");
    assert_eq!(leaf_subject("Mail.Example.Org"), "CN=mail.example.org");
    assert_eq!(leaf_subject("mx1.example.net"), "CN=wildcard example.net");
    assert_eq!(leaf_subject("localhost"), "CN=smtp-wasm test server");
    assert_eq!(leaf_subject("127.0.0.1"), "CN=smtp-wasm test server");
    // The default for a name no certificate has: the client refuses it, as it should.
    let mut pair = Pair::new(&connector_trusting(&pki), "a.b.example.net", &acceptor);
    pair.run();
    assert_eq!(
        pair.client_error.map(|e| e.kind),
        Some(TlsErrorKind::NameMismatch)
    );

    // Mistakes are named at construction.
    let bad = |name: &str, key: &str| {
        let options = TlsServerOptions::new(default.chain_pem.clone(), default.key_pem.clone())
            .with_sni_certificate(name, mail.chain_pem.clone(), key.to_owned());
        TlsAcceptor::new(&options).expect_err(name).to_string()
    };
    assert!(bad("mail.example.org", &default.key_pem).contains("the certificate for \"mail.example.org\""));
    assert!(bad("mail.*.org", &mail.key_pem).contains("not a host name"));
    assert!(bad("10.0.0.1", &mail.key_pem).contains("not a host name"));
    let twice = TlsServerOptions::new(default.chain_pem.clone(), default.key_pem.clone())
        .with_sni_certificate("a.example", mail.chain_pem.clone(), mail.key_pem.clone())
        .with_sni_certificate("A.example", mail.chain_pem.clone(), mail.key_pem.clone());
    assert!(TlsAcceptor::new(&twice)
        .expect_err("twice")
        .to_string()
        .contains("given twice"));
}

#[test]
fn a_returning_client_resumes_with_either_version() {
    let pki = Pki::new();
    for (tls12, tls13) in [(false, true), (true, false)] {
        let acceptor = acceptor(&pki.leaf(KeyKind::Ed25519), tls12, tls13);
        let connector = connector_trusting(&pki);
        let mut first = Pair::new(&connector, "localhost", &acceptor);
        // TLS 1.3 tickets come after the handshake, with the first data.
        first.server.write_plaintext(b"220 hi\r\n").unwrap();
        first.run();
        first.assert_ok();
        assert!(!first.server.info().unwrap().resumed);
        let mut second = Pair::new(&connector, "localhost", &acceptor);
        second.run();
        second.assert_ok();
        let info = second.server.info().expect("info");
        assert!(info.resumed, "tls12={tls12}: {info:?}");
        assert!(second.client.info().unwrap().resumed);
    }
}

#[test]
fn close_notify_reaches_the_client() {
    let pki = Pki::new();
    let (mut pair, _, _) = handshake(&pki, KeyKind::P384, true, true, Feed::Whole);
    pair.server.write_plaintext(b"221 bye\r\n").unwrap();
    pair.server.send_close_notify();
    pair.run();
    pair.assert_ok();
    assert!(pair.client.is_closed_by_peer());
    assert!(pair.client_plain.ends_with(b"221 bye\r\n"));
    assert!(pair.server.write_plaintext(b"more").is_err());
    pair.client.send_close_notify();
    pair.run();
    assert!(pair.server.is_closed_by_peer());
    assert_eq!(pair.server.handle_eof(), Ok(()));
}

// ---------------------------------------------------------------------------------------------------------------
// Errors

fn acceptor_error(chain_pem: &str, key_pem: &str) -> TlsError {
    match TlsAcceptor::new(&TlsServerOptions::new(chain_pem, key_pem)) {
        Err(Error::Tls(error)) => error,
        Err(other) => panic!("not a TLS error: {other:?}"),
        Ok(_) => panic!("accepted"),
    }
}

#[test]
fn bad_key_and_certificate_files_are_typed_errors() {
    let pki = Pki::new();
    let good = pki.leaf(KeyKind::P256);
    let other = pki.leaf(KeyKind::Ed25519);

    let cases: Vec<(&str, String, String, TlsErrorKind, &str)> = vec![
        (
            "garbage key",
            good.chain_pem.clone(),
            "not a key".into(),
            TlsErrorKind::Other,
            "no PEM private key",
        ),
        (
            "broken base64",
            good.chain_pem.clone(),
            "-----BEGIN PRIVATE KEY-----\n!!!!\n-----END PRIVATE KEY-----\n".into(),
            TlsErrorKind::Other,
            "base64",
        ),
        (
            "encrypted key",
            good.chain_pem.clone(),
            "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n".into(),
            TlsErrorKind::Other,
            "encrypted",
        ),
        (
            "not a key inside",
            good.chain_pem.clone(),
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n".into(),
            TlsErrorKind::Other,
            "not a supported key",
        ),
        (
            "somebody else's key",
            good.chain_pem.clone(),
            other.key_pem.clone(),
            TlsErrorKind::Other,
            "does not belong",
        ),
        (
            "no certificate",
            String::new(),
            good.key_pem.clone(),
            TlsErrorKind::BadCertificate,
            "no PEM certificate",
        ),
        (
            "broken certificate",
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n".into(),
            good.key_pem.clone(),
            TlsErrorKind::BadCertificate,
            "not a valid X.509",
        ),
        (
            "unterminated certificate",
            "-----BEGIN CERTIFICATE-----\nAAAA\n".into(),
            good.key_pem.clone(),
            TlsErrorKind::BadCertificate,
            "no matching END",
        ),
    ];
    for (what, chain, key, kind, needle) in cases {
        let error = acceptor_error(&chain, &key);
        assert_eq!(error.kind, kind, "{what}: {error}");
        assert!(error.message.contains(needle), "{what}: {error}");
    }

    // One file holding both the chain and the key works for both fields.
    let both = format!("{}{}", good.chain_pem, good.key_pem);
    assert!(TlsAcceptor::new(&TlsServerOptions::new(both.clone(), both)).is_ok());

    let mut none = TlsServerOptions::new(good.chain_pem.clone(), good.key_pem.clone());
    none.tls12 = false;
    none.tls13 = false;
    assert!(matches!(TlsAcceptor::new(&none), Err(Error::Tls(_))));
    // The key never appears in Debug output.
    assert!(!format!("{none:?}").contains("PRIVATE KEY"));
}

#[test]
fn a_plaintext_client_on_an_implicit_tls_port_is_named() {
    let pki = Pki::new();
    let acceptor = acceptor(&pki.leaf(KeyKind::P256), true, true);
    let mut server = acceptor.accept(NOW).unwrap();
    let mut plain = Vec::new();
    let error = server
        .handle_ciphertext(b"EHLO client.example\r\n", NOW, &mut plain)
        .unwrap_err();
    assert_eq!(error.kind, TlsErrorKind::NotTls);
    assert!(error.message.contains("EHLO client.example"), "{error}");
    assert!(error.message.contains("plaintext SMTP command"), "{error}");
    // Dead from then on.
    assert_eq!(
        server.handle_ciphertext(b"x", NOW, &mut plain),
        Err(error.clone())
    );
    assert_eq!(server.write_plaintext(b"x"), Err(error));
    assert!(plain.is_empty());
}

#[test]
fn a_client_that_does_not_trust_the_certificate_is_reported() {
    let pki = Pki::new();
    let stranger = Pki::named("another test CA");
    let acceptor = acceptor(&pki.leaf(KeyKind::P256), true, true);
    let mut pair = Pair::new(&connector_trusting(&stranger), "localhost", &acceptor);
    pair.server.write_plaintext(b"220 hi\r\n").unwrap();
    pair.run();
    assert_eq!(
        pair.client_error.as_ref().map(|e| e.kind),
        Some(TlsErrorKind::UnknownIssuer)
    );
    let error = pair.server_error.expect("server error");
    assert_eq!(error.kind, TlsErrorKind::AlertReceived, "{error}");
    assert!(
        error.message.contains("refused the server's certificate"),
        "{error}"
    );
    assert!(
        pair.client_plain.is_empty(),
        "nothing leaked before the handshake"
    );
    assert!(pair.server.info().is_none());
}

#[test]
fn eof_during_the_handshake() {
    let pki = Pki::new();
    let acceptor = acceptor(&pki.leaf(KeyKind::P256), true, true);
    let mut server = acceptor.accept(NOW).unwrap();
    let error = server.handle_eof().unwrap_err();
    assert_eq!(error.kind, TlsErrorKind::ClosedDuringHandshake);
    assert!(error.message.contains("before starting"), "{error}");

    let mut pair = Pair::new(&connector_trusting(&pki), "localhost", &acceptor);
    let mut hello = Vec::new();
    pair.client.poll_ciphertext(&mut hello);
    let mut plain = Vec::new();
    pair.server
        .handle_ciphertext(&hello[..hello.len() / 2], NOW, &mut plain)
        .unwrap();
    let error = pair.server.handle_eof().unwrap_err();
    assert_eq!(error.kind, TlsErrorKind::ClosedDuringHandshake);
    assert!(error.message.contains("during"), "{error}");
}

#[test]
fn early_plaintext_is_bounded() {
    let pki = Pki::new();
    let acceptor = acceptor(&pki.leaf(KeyKind::P256), true, true);
    let mut server = acceptor.accept(NOW).unwrap();
    let max = smtp_wasm::tls::MAX_EARLY_SERVER_PLAINTEXT;
    server.write_plaintext(&vec![b'a'; max]).unwrap();
    let error = server.write_plaintext(b"b").unwrap_err();
    assert_eq!(error.kind, TlsErrorKind::Other);
}
