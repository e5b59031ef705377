//! `Connection` (the SMTP session over rustls) against an in-process server script that speaks plaintext SMTP and
//! then TLS through a rustls `ServerConnection`, bytes pumped through memory: no sockets, no system clock.
//!
//! Tests read like the RFCs' transcripts, at the plaintext level on both sides: `s.send("...")` is an `S:` line the
//! server writes (in the clear, or through its TLS connection once `s.start_tls()` ran), `s.expect("...")` is the
//! `C:` lines the server's plaintext side must have received since the last check, exactly.
//!
//! Certificates are made with rcgen (ring backend); the RSA leaf uses the key in tests/data/rsa2048-key.pem (ring
//! cannot generate RSA keys).

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::sync::Arc;

use rcgen::{
    date_time_ymd, BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::{ServerConfig, ServerConnection, SupportedProtocolVersion};
use smtp_wasm::{
    CommandId, Completion, Connection, ConnectionOptions, Credentials, Envelope, Error, Event, Timestamp,
    TlsErrorKind, TlsOptions,
};

const TLS13: &SupportedProtocolVersion = &rustls::version::TLS13;
const TLS12: &SupportedProtocolVersion = &rustls::version::TLS12;

/// 2026-06-01T00:00:00Z. Test certificates are valid 2025-01-01 to 2030-01-01.
const NOW: Timestamp = Timestamp::from_unix_millis(1_780_272_000_000);
/// 2031-01-01, after every test certificate expired.
const AFTER_EXPIRY: Timestamp = Timestamp::from_unix_millis(1_924_992_000_000);

/// A remote name: cleartext AUTH to it is refused, AUTH over TLS is fine.
const SERVER_NAME: &str = "mail.example.org";

// ---------------------------------------------------------------------------------------------------------------
// Certificates

#[derive(Debug, Clone, Copy)]
enum Alg {
    Rsa,
    P256,
}

fn key_pair(alg: Alg) -> KeyPair {
    match alg {
        Alg::Rsa => KeyPair::from_pem(include_str!("data/rsa2048-key.pem")).expect("RSA test key"),
        Alg::P256 => KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("key generation"),
    }
}

fn validity(params: &mut CertificateParams) {
    params.not_before = date_time_ymd(2025, 1, 1);
    params.not_after = date_time_ymd(2030, 1, 1);
}

struct Ca {
    params: CertificateParams,
    key: KeyPair,
    der: CertificateDer<'static>,
    pem: String,
}

impl Ca {
    fn new() -> Ca {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
        params
            .distinguished_name
            .push(DnType::CommonName, "smtp-wasm test CA");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        validity(&mut params);
        let key = key_pair(Alg::P256);
        let cert = params.self_signed(&key).expect("CA certificate");
        Ca {
            params,
            key,
            der: cert.der().clone(),
            pem: cert.pem(),
        }
    }

    /// A leaf for `mail.example.org`, sent with the CA certificate after it (a chain of two).
    fn leaf(&self, alg: Alg) -> Leaf {
        let mut params = CertificateParams::new(vec![SERVER_NAME.to_owned()]).expect("params");
        params
            .distinguished_name
            .push(DnType::CommonName, "smtp-wasm test server");
        validity(&mut params);
        let key = key_pair(alg);
        let issuer = Issuer::from_params(&self.params, &self.key);
        let cert = params.signed_by(&key, &issuer).expect("leaf certificate");
        Leaf {
            chain: vec![cert.der().clone(), self.der.clone()],
            key: PrivatePkcs8KeyDer::from(key.serialize_der()).into(),
        }
    }

    fn options(&self, server_name: &str) -> ConnectionOptions {
        let mut options = ConnectionOptions::new(server_name);
        options.tls = TlsOptions {
            root_certificates_pem: vec![self.pem.clone()],
            only_given_roots: true,
            dangerously_accept_invalid_certificates: false,
            client_certificate: None,
        };
        options
    }
}

struct Leaf {
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

fn server_config(leaf: &Leaf, version: &'static SupportedProtocolVersion) -> Arc<ServerConfig> {
    let config = ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_protocol_versions(&[version])
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(leaf.chain.clone(), leaf.key.clone_key())
        .expect("server certificate");
    // The defaults keep a session cache and send TLS 1.3 tickets: a reconnect can resume.
    Arc::new(config)
}

// ---------------------------------------------------------------------------------------------------------------
// The server script

/// How the server's bytes are cut before they reach the `Connection`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Feed {
    Whole,
    ByteByByte,
    /// Whole, except the server's first TLS flight, which arrives in two reads split at this offset.
    SplitFirstFlight(usize),
}

/// The client `Connection` and the server's side of the wire, in memory.
struct ServerScript {
    conn: Connection,
    now: Timestamp,
    feed: Feed,
    /// Set once the first TLS flight was delivered (for [`Feed::SplitFirstFlight`]): whether the split fell inside.
    first_flight: Option<bool>,
    config: Arc<ServerConfig>,
    /// The server's TLS connection, once `start_tls` ran.
    tls: Option<ServerConnection>,
    /// Raw bytes from the client the server has not consumed yet (in plaintext mode: consumed at the next check).
    inbound: Vec<u8>,
    /// The server's plaintext side: what it received and the test has not checked yet.
    received: Vec<u8>,
    /// Everything the server's plaintext side ever received.
    received_all: Vec<u8>,
    server_error: Option<rustls::Error>,
    close_notify_received: bool,
    events: VecDeque<Event>,
    tls_established: usize,
}

impl ServerScript {
    fn new(options: ConnectionOptions, config: Arc<ServerConfig>) -> ServerScript {
        ServerScript::with(options, config, NOW, Feed::Whole)
    }

    fn with(
        options: ConnectionOptions,
        config: Arc<ServerConfig>,
        now: Timestamp,
        feed: Feed,
    ) -> ServerScript {
        let conn = Connection::new(options, now).expect("connection");
        ServerScript::around(conn, config, now, feed)
    }

    fn around(conn: Connection, config: Arc<ServerConfig>, now: Timestamp, feed: Feed) -> ServerScript {
        let mut script = ServerScript {
            conn,
            now,
            feed,
            first_flight: None,
            config,
            tls: None,
            inbound: Vec::new(),
            received: Vec::new(),
            received_all: Vec::new(),
            server_error: None,
            close_notify_received: false,
            events: VecDeque::new(),
            tls_established: 0,
        };
        script.drain();
        script
    }

    /// Drains every poll of the connection, as the sans-IO rule says, and lets a TLS server consume what came.
    fn drain(&mut self) {
        while let Some(bytes) = self.conn.poll_transmit() {
            self.inbound.extend_from_slice(&bytes);
        }
        while let Some(event) = self.conn.poll_event() {
            if event == Event::TlsEstablished {
                self.tls_established += 1;
            }
            self.events.push_back(event);
        }
        let _ = self.conn.poll_timeout();
        self.server_consume();
    }

    /// A TLS server decrypts what the client sent; in plaintext mode the bytes wait for the next check (they may
    /// be a ClientHello the server will hand to TLS).
    fn server_consume(&mut self) {
        let Some(server) = self.tls.as_mut() else { return };
        let mut bytes = &self.inbound[..];
        while !bytes.is_empty() && self.server_error.is_none() {
            if server.read_tls(&mut bytes).expect("server read_tls") == 0 {
                break;
            }
            match server.process_new_packets() {
                Ok(state) => {
                    self.close_notify_received |= state.peer_has_closed();
                    let mut plain = Vec::new();
                    match server.reader().read_to_end(&mut plain) {
                        Ok(_) => {}
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {}
                        Err(e) => panic!("server read: {e}"),
                    }
                    self.received.extend_from_slice(&plain);
                    self.received_all.extend_from_slice(&plain);
                }
                Err(e) => self.server_error = Some(e),
            }
        }
        self.inbound.clear();
    }

    /// Hands server bytes to the connection, cut as `feed` says.
    fn deliver(&mut self, bytes: &[u8], first_flight: bool) {
        match self.feed {
            Feed::ByteByByte => {
                for byte in bytes {
                    self.conn.handle_input(std::slice::from_ref(byte), self.now);
                    self.drain();
                }
            }
            Feed::SplitFirstFlight(at) if first_flight => {
                let inside = at < bytes.len();
                self.first_flight = Some(inside);
                let at = at.min(bytes.len());
                self.conn.handle_input(&bytes[..at], self.now);
                self.drain();
                if inside {
                    assert!(
                        self.conn.tls_info().is_none(),
                        "the handshake finished on part of a flight"
                    );
                    assert_eq!(self.tls_established, 0);
                }
                self.conn.handle_input(&bytes[at..], self.now);
                self.drain();
            }
            Feed::Whole | Feed::SplitFirstFlight(_) => {
                self.conn.handle_input(bytes, self.now);
                self.drain();
            }
        }
    }

    /// Moves TLS bytes both ways until neither side has anything more to say.
    fn pump(&mut self) {
        for _ in 0..50 {
            self.server_consume();
            let Some(server) = self.tls.as_mut() else { return };
            let mut out = Vec::new();
            while server.wants_write() {
                server.write_tls(&mut out).expect("server write_tls");
            }
            if out.is_empty() {
                return;
            }
            let first_flight = self.first_flight.is_none();
            if first_flight && matches!(self.feed, Feed::Whole | Feed::ByteByByte) {
                self.first_flight = Some(true);
            }
            self.deliver(&out, first_flight);
        }
        panic!("the connection never went quiet");
    }

    // ----- the script -----

    /// `S:` — the server writes these lines (each gets CRLF), in the clear or through TLS.
    fn send(&mut self, lines: &str) {
        let bytes = crlf(lines);
        match self.tls.as_mut() {
            Some(server) => {
                server.writer().write_all(&bytes).expect("server write");
                self.pump();
            }
            None => self.deliver(&bytes, false),
        }
    }

    /// `S:` in the clear, all in one read whatever the feed (an attacker's injection).
    fn send_one_read(&mut self, lines: &str) {
        assert!(self.tls.is_none());
        self.conn.handle_input(&crlf(lines), self.now);
        self.drain();
    }

    /// The server starts TLS: what the client sent since the last check goes to a rustls `ServerConnection` (it
    /// must be the ClientHello), then the handshake runs to its end (or its failure).
    fn start_tls(&mut self) {
        assert!(self.tls.is_none(), "TLS already started");
        assert!(!self.inbound.is_empty(), "no ClientHello from the client");
        let mut server = ServerConnection::new(Arc::clone(&self.config)).expect("server connection");
        server.set_buffer_limit(None);
        self.tls = Some(server);
        self.pump();
    }

    /// Implicit TLS with the greeting written before the handshake: rustls sends it as 0.5-RTT data (TLS 1.3) or
    /// right after its Finished (TLS 1.2).
    fn start_tls_with(&mut self, lines: &str) {
        let mut server = ServerConnection::new(Arc::clone(&self.config)).expect("server connection");
        server.set_buffer_limit(None);
        server.writer().write_all(&crlf(lines)).expect("server write");
        self.tls = Some(server);
        self.pump();
    }

    /// `C:` — the server's plaintext side received exactly these lines since the last check.
    fn expect(&mut self, lines: &str) {
        self.expect_raw(&crlf(lines));
    }

    fn expect_raw(&mut self, expected: &[u8]) {
        self.drain();
        if self.tls.is_none() {
            let bytes = std::mem::take(&mut self.inbound);
            self.received.extend_from_slice(&bytes);
            self.received_all.extend_from_slice(&bytes);
        }
        let got = std::mem::take(&mut self.received);
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(expected),
            "what the server received (feed {:?})",
            self.feed
        );
    }

    /// Nothing reached the server since the last check: not a byte on the wire, nothing in plaintext.
    fn expect_silence(&mut self) {
        self.drain();
        assert!(
            self.inbound.is_empty(),
            "the client wrote {:?}",
            self.inbound.escape_ascii().to_string()
        );
        assert!(
            self.received.is_empty(),
            "the server received {:?}",
            self.received.escape_ascii().to_string()
        );
    }

    /// The raw bytes the client wrote since the last check (in plaintext mode).
    fn take_wire(&mut self) -> Vec<u8> {
        self.drain();
        assert!(self.tls.is_none());
        std::mem::take(&mut self.inbound)
    }

    fn server_tls(&self) -> &ServerConnection {
        self.tls.as_ref().expect("server TLS")
    }

    // ----- events -----

    fn event(&mut self) -> Event {
        self.drain();
        self.events
            .pop_front()
            .unwrap_or_else(|| panic!("expected an event (feed {:?})", self.feed))
    }

    fn no_event(&mut self) {
        self.drain();
        assert!(self.events.is_empty(), "unexpected events {:?}", self.events);
    }

    fn completed(&mut self, id: CommandId) -> Result<Completion, Error> {
        match self.event() {
            Event::Completed { id: got, result } => {
                assert_eq!(got, id, "completion of another operation: {result:?}");
                result
            }
            other => panic!(
                "expected the completion of {id:?}, got {other:?} (feed {:?})",
                self.feed
            ),
        }
    }

    fn ok(&mut self, id: CommandId) -> Completion {
        self.completed(id)
            .unwrap_or_else(|error| panic!("operation failed: {error}"))
    }

    fn err(&mut self, id: CommandId) -> Error {
        match self.completed(id) {
            Ok(done) => panic!("operation succeeded: {done:?}"),
            Err(error) => error,
        }
    }

    fn reply_code(&mut self, id: CommandId) -> u16 {
        match self.ok(id) {
            Completion::Reply(reply) => reply.code(),
            other => panic!("expected a reply, got {other:?}"),
        }
    }

    fn greeting(&mut self) {
        match self.event() {
            Event::Greeting(reply) => assert_eq!(reply.code(), 220),
            other => panic!("expected the greeting, got {other:?}"),
        }
    }

    fn tls_established(&mut self) {
        assert_eq!(self.event(), Event::TlsEstablished);
    }

    fn closed(&mut self) -> Option<Error> {
        match self.event() {
            Event::Closed { error } => error,
            other => panic!("expected Closed, got {other:?}"),
        }
    }

    fn body_ready(&mut self, id: CommandId) {
        assert_eq!(self.event(), Event::BodyReady { id });
    }
}

fn crlf(lines: &str) -> Vec<u8> {
    let mut bytes = Vec::new();
    for line in lines.lines() {
        bytes.extend_from_slice(line.as_bytes());
        bytes.extend_from_slice(b"\r\n");
    }
    bytes
}

fn password() -> Credentials {
    Credentials::Password {
        username: "alice".into(),
        password: "s3cret".into(),
        identity: None,
    }
}

/// `\0alice\0s3cret` in base64: what AUTH PLAIN sends.
const PLAIN_RESPONSE: &str = "AGFsaWNlAHMzY3JldA==";

fn envelope() -> Envelope {
    Envelope {
        from: "alice@example.org".into(),
        to: vec!["bob@example.net".into(), "carol@example.net".into()],
        ..Envelope::default()
    }
}

const MESSAGE: &[u8] = b"Subject: over TLS\r\n\r\nHello Bob.\r\n.leading dot\r\n";
const MESSAGE_ON_THE_WIRE: &[u8] = b"Subject: over TLS\r\n\r\nHello Bob.\r\n..leading dot\r\n.\r\n";

const EHLO_PLAINTEXT: &str =
    "250-mail.example.org greets localhost\n250-PIPELINING\n250-8BITMIME\n250 STARTTLS";
const EHLO_TLS: &str =
    "250-mail.example.org greets localhost\n250-PIPELINING\n250-8BITMIME\n250 AUTH PLAIN LOGIN";

/// TLS records only: every byte belongs to a record of type change_cipher_spec, alert, handshake or application
/// data, version 3.x. Returns the record types.
fn tls_records(mut bytes: &[u8]) -> Vec<u8> {
    let mut types = Vec::new();
    while !bytes.is_empty() {
        assert!(bytes.len() >= 5, "a truncated record header");
        assert!(
            (20..=23).contains(&bytes[0]),
            "not a TLS record: {:?}",
            bytes.escape_ascii().to_string()
        );
        assert_eq!(bytes[1], 3);
        let len = usize::from(u16::from_be_bytes([bytes[3], bytes[4]]));
        types.push(bytes[0]);
        bytes = &bytes[5 + len..];
    }
    types
}

const HANDSHAKE_RECORD: u8 = 22;

// ---------------------------------------------------------------------------------------------------------------
// 1, 2: the STARTTLS flow

/// Greeting, EHLO, STARTTLS, handshake, EHLO again over TLS, AUTH PLAIN, a pipelined transaction, QUIT, and the
/// TLS close_notify after 221.
fn starttls_flow(
    s: &mut ServerScript,
    version: &'static SupportedProtocolVersion,
    chain: &[CertificateDer<'_>],
) {
    let now = s.now;
    s.send("220 mail.example.org ESMTP ready");
    s.greeting();
    let tls = s.conn.start_tls(true, now).unwrap();
    s.expect("EHLO localhost");
    s.send(EHLO_PLAINTEXT);
    assert_eq!(s.conn.extension("STARTTLS"), Some(""));
    assert_eq!(s.conn.extension("AUTH"), None, "no AUTH before TLS");
    s.expect("STARTTLS");
    s.send("220 2.0.0 Ready to start TLS");
    s.no_event();
    // The ClientHello went out after the 220, and nothing else in the clear.
    assert_eq!(tls_records(&s.inbound), vec![HANDSHAKE_RECORD]);
    s.start_tls();
    s.tls_established();
    assert!(s.conn.session().is_tls());
    assert_eq!(
        s.conn.extension("PIPELINING"),
        None,
        "capabilities learned before TLS are forgotten"
    );
    assert_eq!(s.conn.extension("STARTTLS"), None);
    s.expect("EHLO localhost");
    s.send(EHLO_TLS);
    assert_eq!(
        s.reply_code(tls),
        250,
        "STARTTLS completes with the new EHLO reply"
    );
    assert_eq!(s.conn.extension("AUTH"), Some("PLAIN LOGIN"));
    assert_eq!(s.conn.extension("STARTTLS"), None);

    let info = s.conn.tls_info().expect("tls_info after the handshake");
    let expected_version = if version == TLS13 { "TLSv1.3" } else { "TLSv1.2" };
    assert_eq!(info.protocol_version, expected_version);
    let server_suite = s.server_tls().negotiated_cipher_suite().expect("suite").suite();
    let server_suite = server_suite
        .as_str()
        .expect("a known suite")
        .replace("TLS13_", "TLS_");
    assert_eq!(info.cipher_suite, server_suite);
    assert!(info.cipher_suite.starts_with("TLS_"), "{}", info.cipher_suite);
    assert_eq!(info.server_name, SERVER_NAME);
    let chain: Vec<Vec<u8>> = chain.iter().map(|cert| cert.as_ref().to_vec()).collect();
    assert_eq!(info.peer_certificates, chain, "the server's chain, leaf first");
    assert!(!info.resumed);

    // Credentials over TLS to a remote name.
    let auth = s
        .conn
        .auth(password(), None, now)
        .unwrap_or_else(|e| panic!("{e}"));
    s.expect(&format!("AUTH PLAIN {PLAIN_RESPONSE}"));
    s.send("235 2.7.0 Authentication successful");
    assert_eq!(s.reply_code(auth), 235);

    let mail = s.conn.send_mail(envelope(), now).unwrap();
    s.conn.send_body(mail, MESSAGE, now).unwrap();
    s.conn.finish_body(mail, now).unwrap();
    // PIPELINING: the whole envelope in one flight, before any reply.
    s.expect("MAIL FROM:<alice@example.org> BODY=8BITMIME\nRCPT TO:<bob@example.net>\nRCPT TO:<carol@example.net>\nDATA");
    s.send("250 2.1.0 Ok\n250 2.1.5 Ok\n250 2.1.5 Ok\n354 End data with <CR><LF>.<CR><LF>");
    s.body_ready(mail);
    s.expect_raw(MESSAGE_ON_THE_WIRE);
    s.send("250 2.0.0 Ok: queued as 4Fx2");
    match s.ok(mail) {
        Completion::Transaction(report) => {
            assert_eq!(report.accepted, vec!["bob@example.net", "carol@example.net"]);
            assert!(report.rejected.is_empty());
            assert_eq!(report.reply.code(), 250);
        }
        other => panic!("{other:?}"),
    }

    let quit = s.conn.quit(now).unwrap();
    s.expect("QUIT");
    assert!(!s.close_notify_received, "close_notify only after 221");
    s.send("221 2.0.0 Bye");
    assert_eq!(s.reply_code(quit), 221);
    assert_eq!(s.closed(), None);
    s.no_event();
    assert!(s.close_notify_received, "the server got close_notify");
    assert!(s.server_error.is_none(), "{:?}", s.server_error);
    s.expect("");
    assert_eq!(s.tls_established, 1, "TlsEstablished comes once");
}

#[test]
fn starttls_happy_path_tls13_and_tls12_rsa_and_ecdsa() {
    let ca = Ca::new();
    for alg in [Alg::Rsa, Alg::P256] {
        let leaf = ca.leaf(alg);
        for version in [TLS13, TLS12] {
            let mut s = ServerScript::new(ca.options(SERVER_NAME), server_config(&leaf, version));
            starttls_flow(&mut s, version, &leaf.chain);
            let info = s.conn.tls_info().unwrap();
            if version == TLS12 {
                let kind = if matches!(alg, Alg::Rsa) {
                    "_RSA_"
                } else {
                    "_ECDSA_"
                };
                assert!(info.cipher_suite.contains(kind), "{alg:?}: {}", info.cipher_suite);
            }
        }
    }
}

#[test]
fn starttls_with_server_bytes_fed_one_at_a_time() {
    let ca = Ca::new();
    for alg in [Alg::Rsa, Alg::P256] {
        let leaf = ca.leaf(alg);
        for version in [TLS13, TLS12] {
            let config = server_config(&leaf, version);
            let mut s = ServerScript::with(ca.options(SERVER_NAME), config, NOW, Feed::ByteByByte);
            starttls_flow(&mut s, version, &leaf.chain);
        }
    }
}

#[test]
fn starttls_with_the_first_flight_split_at_every_position() {
    let ca = Ca::new();
    let leaf = ca.leaf(Alg::P256);
    for version in [TLS13, TLS12] {
        let config = server_config(&leaf, version);
        let mut at = 1;
        loop {
            // A new Connection (and so a new connector, with no ticket) each time: always a full handshake.
            let options = ca.options(SERVER_NAME);
            let mut s = ServerScript::with(options, Arc::clone(&config), NOW, Feed::SplitFirstFlight(at));
            starttls_flow(&mut s, version, &leaf.chain);
            if s.first_flight != Some(true) {
                break;
            }
            at += 1;
        }
        assert!(at > 500, "{version:?}: only {at} split points");
    }
}

// ---------------------------------------------------------------------------------------------------------------
// 3: implicit TLS

fn implicit_options(ca: &Ca) -> ConnectionOptions {
    let mut options = ca.options(SERVER_NAME);
    options.implicit_tls = true;
    options
}

/// After the greeting: EHLO over TLS, AUTH, a transaction, QUIT.
fn implicit_transaction(s: &mut ServerScript) {
    let now = s.now;
    assert!(s.conn.session().is_tls());
    let auth = s.conn.auth(password(), None, now).unwrap();
    s.expect("EHLO localhost");
    s.send(EHLO_TLS);
    s.expect(&format!("AUTH PLAIN {PLAIN_RESPONSE}"));
    s.send("235 2.7.0 ok");
    assert_eq!(s.reply_code(auth), 235);
    let mail = s.conn.send_mail(envelope(), now).unwrap();
    s.conn.send_body(mail, MESSAGE, now).unwrap();
    s.conn.finish_body(mail, now).unwrap();
    s.expect("MAIL FROM:<alice@example.org> BODY=8BITMIME\nRCPT TO:<bob@example.net>\nRCPT TO:<carol@example.net>\nDATA");
    s.send("250 ok\n250 ok\n550 5.1.1 no such user\n354 go ahead");
    s.body_ready(mail);
    s.expect_raw(MESSAGE_ON_THE_WIRE);
    s.send("250 2.0.0 queued");
    match s.ok(mail) {
        Completion::Transaction(report) => {
            assert_eq!(report.accepted, vec!["bob@example.net"]);
            assert_eq!(report.rejected.len(), 1);
        }
        other => panic!("{other:?}"),
    }
    let quit = s.conn.quit(now).unwrap();
    s.expect("QUIT");
    s.send("221 bye");
    assert_eq!(s.reply_code(quit), 221);
    assert_eq!(s.closed(), None);
    assert!(s.close_notify_received);
    assert_eq!(s.tls_established, 1);
}

#[test]
fn implicit_tls_handshake_first_then_greeting() {
    let ca = Ca::new();
    let leaf = ca.leaf(Alg::P256);
    for version in [TLS13, TLS12] {
        for feed in [Feed::Whole, Feed::ByteByByte] {
            let mut s = ServerScript::with(implicit_options(&ca), server_config(&leaf, version), NOW, feed);
            // The ClientHello goes out at once, and nothing else.
            assert_eq!(tls_records(&s.inbound), vec![HANDSHAKE_RECORD]);
            s.start_tls();
            s.tls_established();
            s.no_event();
            assert!(s.conn.tls_info().is_some());
            s.expect("");
            s.send("220 mail.example.org ESMTP");
            s.greeting();
            implicit_transaction(&mut s);
        }
    }
}

#[test]
fn implicit_tls_greeting_in_the_servers_first_flight() {
    // The server writes its greeting before the handshake is over: rustls sends it as 0.5-RTT data right after
    // its Finished (TLS 1.3), or after its Finished (TLS 1.2). It may reach the client in the same read as the
    // end of the handshake.
    let ca = Ca::new();
    let leaf = ca.leaf(Alg::P256);
    for version in [TLS13, TLS12] {
        for feed in [Feed::Whole, Feed::ByteByByte] {
            let mut s = ServerScript::with(implicit_options(&ca), server_config(&leaf, version), NOW, feed);
            s.start_tls_with("220 mail.example.org ESMTP");
            s.tls_established();
            s.greeting();
            implicit_transaction(&mut s);
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// 4: STARTTLS injection with real TLS

/// Greeting and EHLO (STARTTLS offered); STARTTLS is on the wire when this returns.
fn up_to_starttls(s: &mut ServerScript, required: bool) -> CommandId {
    let now = s.now;
    s.send("220 mail.example.org ESMTP");
    s.greeting();
    let tls = s.conn.start_tls(required, now).unwrap();
    s.expect("EHLO localhost");
    s.send(EHLO_PLAINTEXT);
    s.expect("STARTTLS");
    tls
}

#[test]
fn starttls_injection_in_the_same_read_writes_nothing_more() {
    let ca = Ca::new();
    let config = server_config(&ca.leaf(Alg::P256), TLS13);
    let mut s = ServerScript::new(ca.options(SERVER_NAME), config);
    let tls = up_to_starttls(&mut s, true);
    let auth = s.conn.auth(password(), None, NOW).unwrap();
    s.send_one_read("220 2.0.0 Ready to start TLS\n250 evil");
    assert_eq!(s.err(tls), Error::StartTlsInjection);
    assert_eq!(s.err(auth), Error::StartTlsInjection);
    assert_eq!(s.closed(), Some(Error::StartTlsInjection));
    // No ClientHello, no EHLO: not a byte.
    s.expect_silence();
    assert!(s.conn.tls_info().is_none());
    assert_eq!(s.tls_established, 0);
    assert!(s.conn.mail("a@example.org", &Default::default(), s.now).is_err());
    s.expect_silence();
}

#[test]
fn starttls_injection_in_a_later_read_is_not_tls() {
    let ca = Ca::new();
    let config = server_config(&ca.leaf(Alg::P256), TLS13);
    for feed in [Feed::Whole, Feed::ByteByByte] {
        let mut s = ServerScript::with(ca.options(SERVER_NAME), Arc::clone(&config), NOW, feed);
        let tls = up_to_starttls(&mut s, true);
        let auth = s.conn.auth(password(), None, NOW).unwrap();
        s.send("220 2.0.0 Ready to start TLS");
        s.no_event();
        // The ClientHello went out; the man in the middle answers it with plaintext.
        let hello = s.take_wire();
        assert_eq!(tls_records(&hello), vec![HANDSHAKE_RECORD]);
        s.send_one_read("250 evil");
        match s.err(tls) {
            Error::Tls(error) => assert_eq!(error.kind, TlsErrorKind::NotTls, "{error}"),
            other => panic!("expected a TLS error, got {other:?}"),
        }
        assert!(matches!(s.err(auth), Error::Tls(_)));
        match s.closed() {
            Some(Error::Tls(error)) => assert_eq!(error.kind, TlsErrorKind::NotTls),
            other => panic!("{other:?}"),
        }
        s.no_event();
        assert!(s.conn.session().is_closed());
        // Nothing in plaintext after: at most TLS records (an alert), never an SMTP line.
        let after = s.take_wire();
        for record in tls_records(&after) {
            assert_eq!(record, 21, "only an alert may follow");
        }
        assert_eq!(s.tls_established, 0);
        assert!(s.conn.tls_info().is_none());
        // And later input changes nothing.
        s.send_one_read("250 more evil");
        s.no_event();
        assert!(s.take_wire().is_empty());
    }
}

// ---------------------------------------------------------------------------------------------------------------
// 5: certificate failures through the Connection

/// STARTTLS against a server whose certificate fails verification; AUTH and a transaction are queued behind it.
/// Returns the TLS error, after checking the whole connection failed and no SMTP line went out after STARTTLS.
fn certificate_failure(
    options: ConnectionOptions,
    config: Arc<ServerConfig>,
    now: Timestamp,
) -> smtp_wasm::TlsError {
    let mut s = ServerScript::with(options, config, now, Feed::Whole);
    let tls = up_to_starttls(&mut s, true);
    let auth = s.conn.auth(password(), None, now).unwrap();
    let mail = s.conn.send_mail(envelope(), now).unwrap();
    s.conn.send_body(mail, MESSAGE, now).unwrap();
    s.conn.finish_body(mail, now).unwrap();
    s.send("220 2.0.0 Ready to start TLS");
    s.start_tls();
    let error = match s.err(tls) {
        Error::Tls(error) => error,
        other => panic!("expected a TLS error, got {other:?}"),
    };
    assert_eq!(s.err(auth), Error::Tls(error.clone()));
    assert_eq!(s.err(mail), Error::Tls(error.clone()));
    assert_eq!(s.closed(), Some(Error::Tls(error.clone())));
    s.no_event();
    assert_eq!(s.tls_established, 0, "no TlsEstablished for a failed handshake");
    assert!(s.conn.session().is_closed());
    assert!(s.conn.tls_info().is_none());
    // The server's plaintext side saw nothing after STARTTLS: no EHLO, no AUTH, no MAIL.
    s.expect("");
    let all = String::from_utf8_lossy(&s.received_all).into_owned();
    assert_eq!(all, "EHLO localhost\r\nSTARTTLS\r\n");
    // The client told the server why (a fatal alert).
    assert!(
        matches!(s.server_error, Some(rustls::Error::AlertReceived(_))),
        "{:?}",
        s.server_error
    );
    error
}

#[test]
fn unknown_ca_fails_starttls_and_the_session() {
    let ca = Ca::new();
    let config = server_config(&ca.leaf(Alg::P256), TLS13);
    // No rootCertificates: the Mozilla roots only.
    let error = certificate_failure(ConnectionOptions::new(SERVER_NAME), config, NOW);
    assert_eq!(error.kind, TlsErrorKind::UnknownIssuer, "{error}");
    let config = server_config(&ca.leaf(Alg::Rsa), TLS12);
    let error = certificate_failure(ConnectionOptions::new(SERVER_NAME), config, NOW);
    assert_eq!(error.kind, TlsErrorKind::UnknownIssuer, "{error}");
}

#[test]
fn wrong_server_name_is_a_name_mismatch() {
    let ca = Ca::new();
    let config = server_config(&ca.leaf(Alg::P256), TLS13);
    let error = certificate_failure(ca.options("smtp.example.net"), config, NOW);
    assert_eq!(error.kind, TlsErrorKind::NameMismatch, "{error}");
    assert!(error.message.contains("smtp.example.net"), "{error}");
    assert!(error.message.contains(SERVER_NAME), "{error}");
}

#[test]
fn expired_certificate_against_the_injected_clock() {
    let ca = Ca::new();
    for version in [TLS13, TLS12] {
        let config = server_config(&ca.leaf(Alg::P256), version);
        let error = certificate_failure(ca.options(SERVER_NAME), config, AFTER_EXPIRY);
        assert_eq!(error.kind, TlsErrorKind::Expired, "{error}");
        assert!(error.message.contains("2030-01-01"), "{error}");
    }
}

// ---------------------------------------------------------------------------------------------------------------
// 6, 7: STARTTLS stripped, refused, or optional

#[test]
fn stripped_starttls_when_required_fails_and_auth_stays_refused() {
    let ca = Ca::new();
    let config = server_config(&ca.leaf(Alg::P256), TLS13);
    let mut s = ServerScript::new(ca.options(SERVER_NAME), config);
    let now = s.now;
    s.send("220 mail.example.org ESMTP");
    s.greeting();
    let tls = s.conn.start_tls(true, now).unwrap();
    s.expect("EHLO localhost");
    // A man in the middle removed STARTTLS (and AUTH) from the list.
    s.send("250-mail.example.org\n250-PIPELINING\n250 8BITMIME");
    assert_eq!(s.err(tls), Error::StartTlsNotOffered);
    s.expect_silence();
    assert!(!s.conn.session().is_tls());
    assert_eq!(s.conn.auth(password(), None, now), Err(Error::InsecureAuth));
    s.expect_silence();
    assert_eq!(s.tls_established, 0);
    assert!(
        !s.conn.session().is_closed(),
        "the caller decides: QUIT, or mail in the clear on purpose"
    );
}

#[test]
fn stripped_starttls_when_required_fails_what_was_queued_behind_it() {
    // The caller queued STARTTLS (required), AUTH and a message at once: without TLS none of them may go.
    let ca = Ca::new();
    let config = server_config(&ca.leaf(Alg::P256), TLS13);
    let mut s = ServerScript::new(ca.options(SERVER_NAME), config);
    let now = s.now;
    let tls = s.conn.start_tls(true, now).unwrap();
    let auth = s.conn.auth(password(), None, now).unwrap();
    let mail = s.conn.send_mail(envelope(), now).unwrap();
    s.conn.send_body(mail, MESSAGE, now).unwrap();
    s.conn.finish_body(mail, now).unwrap();
    s.send("220 mail.example.org ESMTP");
    s.greeting();
    s.expect("EHLO localhost");
    s.send("250-mail.example.org\n250-PIPELINING\n250-AUTH PLAIN\n250 8BITMIME");
    assert_eq!(s.err(tls), Error::StartTlsNotOffered);
    assert_eq!(s.err(auth), Error::StartTlsNotOffered);
    assert_eq!(s.err(mail), Error::StartTlsNotOffered);
    s.no_event();
    s.expect_silence();
    // The session is still usable: the caller can say goodbye.
    let quit = s.conn.quit(now).unwrap();
    s.expect("QUIT");
    s.send("221 bye");
    assert_eq!(s.reply_code(quit), 221);
    assert_eq!(s.closed(), None);
    let all = String::from_utf8_lossy(&s.received_all).into_owned();
    assert!(
        !all.contains("AUTH") && !all.contains("MAIL") && !all.contains(PLAIN_RESPONSE),
        "{all}"
    );
}

#[test]
fn starttls_refused_with_454_sends_nothing_more() {
    let ca = Ca::new();
    let config = server_config(&ca.leaf(Alg::P256), TLS13);
    let mut s = ServerScript::new(ca.options(SERVER_NAME), config);
    let now = s.now;
    let tls = up_to_starttls(&mut s, true);
    let auth = s.conn.auth(password(), None, now).unwrap();
    let mail = s.conn.send_mail(envelope(), now).unwrap();
    s.send("454 4.7.0 TLS not available due to temporary reason");
    let error = s.err(tls);
    match &error {
        Error::Rejected(rejection) => {
            assert_eq!(rejection.command, "STARTTLS");
            assert_eq!(rejection.reply.code(), 454);
        }
        other => panic!("{other:?}"),
    }
    assert!(error.is_temporary());
    assert_eq!(s.err(auth), error);
    assert_eq!(s.err(mail), error);
    s.no_event();
    // Nothing after in plaintext, not even a ClientHello.
    s.expect_silence();
    assert!(s.conn.tls_info().is_none());
    assert_eq!(s.conn.auth(password(), None, now), Err(Error::InsecureAuth));
    s.expect_silence();
}

#[test]
fn opportunistic_starttls_not_offered_stays_in_plaintext_without_credentials() {
    let ca = Ca::new();
    let config = server_config(&ca.leaf(Alg::P256), TLS13);
    let mut s = ServerScript::new(ca.options(SERVER_NAME), config);
    let now = s.now;
    let tls = s.conn.start_tls(false, now).unwrap();
    // Queued behind an optional STARTTLS: refused when its turn comes, since TLS did not happen.
    let queued_auth = s.conn.auth(password(), None, now).unwrap();
    s.send("220 mail.example.org ESMTP");
    s.greeting();
    s.expect("EHLO localhost");
    s.send("250-mail.example.org\n250-PIPELINING\n250 AUTH PLAIN LOGIN");
    assert_eq!(s.ok(tls), Completion::Done);
    assert_eq!(s.err(queued_auth), Error::InsecureAuth);
    s.expect_silence();
    assert!(!s.conn.session().is_tls());
    assert_eq!(s.conn.auth(password(), None, now), Err(Error::InsecureAuth));
    s.expect_silence();
    // Mail in the clear is what opportunistic TLS accepts.
    let mail = s.conn.send_mail(envelope(), now).unwrap();
    s.conn.send_body(mail, MESSAGE, now).unwrap();
    s.conn.finish_body(mail, now).unwrap();
    s.expect("MAIL FROM:<alice@example.org>\nRCPT TO:<bob@example.net>\nRCPT TO:<carol@example.net>\nDATA");
    s.send("250 ok\n250 ok\n250 ok\n354 go");
    s.body_ready(mail);
    s.expect_raw(MESSAGE_ON_THE_WIRE);
    s.send("250 queued");
    assert!(matches!(s.ok(mail), Completion::Transaction(_)));
    let all = String::from_utf8_lossy(&s.received_all).into_owned();
    assert!(
        !all.contains("AUTH") && !all.contains(PLAIN_RESPONSE),
        "no credentials in the clear: {all}"
    );
    assert_eq!(s.tls_established, 0);
}

#[test]
fn opportunistic_starttls_offered_upgrades() {
    let ca = Ca::new();
    let leaf = ca.leaf(Alg::P256);
    let mut s = ServerScript::new(ca.options(SERVER_NAME), server_config(&leaf, TLS13));
    let now = s.now;
    let tls = up_to_starttls(&mut s, false);
    let auth = s.conn.auth(password(), None, now).unwrap();
    s.send("220 2.0.0 go ahead");
    s.start_tls();
    s.tls_established();
    s.expect("EHLO localhost");
    s.send(EHLO_TLS);
    assert_eq!(s.reply_code(tls), 250);
    s.expect(&format!("AUTH PLAIN {PLAIN_RESPONSE}"));
    s.send("235 ok");
    assert_eq!(s.reply_code(auth), 235);
    assert_eq!(s.conn.tls_info().unwrap().protocol_version, "TLSv1.3");
}

// ---------------------------------------------------------------------------------------------------------------
// 8: session resumption

/// STARTTLS up to the EHLO over TLS, then QUIT.
fn starttls_and_quit(s: &mut ServerScript) {
    let now = s.now;
    let tls = up_to_starttls(s, true);
    s.send("220 2.0.0 Ready to start TLS");
    s.start_tls();
    s.tls_established();
    s.expect("EHLO localhost");
    s.send(EHLO_TLS);
    assert_eq!(s.reply_code(tls), 250);
    let quit = s.conn.quit(now).unwrap();
    s.expect("QUIT");
    s.send("221 bye");
    assert_eq!(s.reply_code(quit), 221);
    assert_eq!(s.closed(), None);
    assert!(s.close_notify_received);
}

#[test]
fn reconnect_resumes_the_tls_session() {
    let ca = Ca::new();
    let leaf = ca.leaf(Alg::P256);
    for version in [TLS13, TLS12] {
        let config = server_config(&leaf, version);
        let mut first = ServerScript::new(ca.options(SERVER_NAME), Arc::clone(&config));
        starttls_and_quit(&mut first);
        assert!(!first.conn.tls_info().unwrap().resumed);

        let conn = first.conn.reconnect(NOW).expect("reconnect");
        let mut second = ServerScript::around(conn, Arc::clone(&config), NOW, Feed::Whole);
        starttls_and_quit(&mut second);
        let info = second.conn.tls_info().unwrap();
        assert!(info.resumed, "{version:?}: the second connection resumes");
        assert_eq!(
            info.peer_certificates,
            first.conn.tls_info().unwrap().peer_certificates
        );
        assert!(second.server_tls().handshake_kind() == Some(rustls::HandshakeKind::Resumed));

        // A new Connection (its own connector) has no ticket.
        let mut fresh = ServerScript::new(ca.options(SERVER_NAME), Arc::clone(&config));
        starttls_and_quit(&mut fresh);
        assert!(!fresh.conn.tls_info().unwrap().resumed);
    }
}

#[test]
fn reconnect_resumes_implicit_tls() {
    let ca = Ca::new();
    let leaf = ca.leaf(Alg::Rsa);
    let config = server_config(&leaf, TLS13);
    let mut first = ServerScript::new(implicit_options(&ca), Arc::clone(&config));
    first.start_tls();
    first.tls_established();
    first.send("220 mail.example.org ESMTP");
    first.greeting();
    assert!(!first.conn.tls_info().unwrap().resumed);
    let quit = first.conn.quit(NOW).unwrap();
    first.expect("EHLO localhost");
    first.send(EHLO_TLS);
    first.expect("QUIT");
    first.send("221 bye");
    assert_eq!(first.reply_code(quit), 221);

    let conn = first.conn.reconnect(NOW).expect("reconnect");
    let mut second = ServerScript::around(conn, Arc::clone(&config), NOW, Feed::Whole);
    // Implicit TLS again: the ClientHello went out at once.
    assert_eq!(tls_records(&second.inbound), vec![HANDSHAKE_RECORD]);
    second.start_tls();
    second.tls_established();
    assert!(second.conn.tls_info().unwrap().resumed);
    second.send("220 mail.example.org ESMTP");
    second.greeting();
}
