//! Our client core talking to our server core, in memory: `smtp_wasm::Connection` (client session over the client
//! TLS layer) against `ServerConnection` (server session over the server TLS layer), bytes moved between them in
//! pieces of varying size. Plaintext, STARTTLS and implicit TLS; every extension the server can offer on or off;
//! DATA and BDAT; SMTP and LMTP; random messages that must arrive byte-exact (a property test).

#[path = "common/certs.rs"]
mod certs;

use std::collections::{HashMap, VecDeque};

use certs::{KeyKind, Pki, NOW};
use proptest::prelude::*;
use smtp_wasm::fuzzing::normalize_reference;
use smtp_wasm::server::ServerConnection;
use smtp_wasm::tls::{TlsAcceptor, TlsServerOptions};
use smtp_wasm::{
    BodyType, CloseReason, CommandId, Completion, Connection, ConnectionOptions, Credentials, Decision,
    DsnNotify, DsnRet, DsnReturn, Envelope, Error, Event, MailBody, MailOptions, Mechanism, Notify, PeerInfo,
    RcptOptions, ServerConfig, ServerEvent, ServerMailOptions, ServerRcptOptions, Timestamp,
};

/// How TLS is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tls {
    None,
    Starttls,
    Implicit,
}

/// What the server offers and how the client sends.
#[derive(Debug, Clone)]
struct Setup {
    tls: Tls,
    lmtp: bool,
    smtputf8: bool,
    dsn: bool,
    binarymime: bool,
    requiretls: bool,
    max_message_bytes: u64,
    /// Client: BDAT when offered (CHUNKING is always offered by our server).
    chunking: bool,
    bdat_chunk_size: usize,
    /// Bytes moved per hop (0 = everything at once).
    piece: usize,
}

impl Default for Setup {
    fn default() -> Self {
        Setup {
            tls: Tls::None,
            lmtp: false,
            smtputf8: false,
            dsn: false,
            binarymime: false,
            requiretls: false,
            max_message_bytes: 10 * 1024 * 1024,
            chunking: false,
            bdat_chunk_size: 64 * 1024,
            piece: 0,
        }
    }
}

/// One message as the server's application got it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Received {
    from: String,
    mail: ServerMailOptions,
    to: Vec<(String, ServerRcptOptions)>,
    bdat: bool,
    content: Vec<u8>,
}

/// The server's application: accepts everything except recipients starting with "reject", and in LMTP refuses
/// recipients starting with "lmtpfail" after the message.
#[derive(Debug, Default)]
struct Backend {
    current: Received,
    messages: Vec<Received>,
    auth: Vec<(Mechanism, Credentials)>,
    closed: Option<CloseReason>,
    tls_sni: Option<String>,
}

struct Pair {
    client: Connection,
    server: ServerConnection,
    backend: Backend,
    events: VecDeque<Event>,
    bodies: HashMap<CommandId, Vec<u8>>,
    piece: usize,
    now: Timestamp,
}

impl Pair {
    fn new(setup: &Setup, pki: &Pki) -> Pair {
        let cert = pki.leaf(KeyKind::P256);
        let acceptor =
            TlsAcceptor::new(&TlsServerOptions::new(cert.chain_pem, cert.key_pem)).expect("acceptor");
        let mut config = ServerConfig::new("mx.example.test");
        config.lmtp = setup.lmtp;
        config.enable_smtputf8 = setup.smtputf8;
        config.enable_dsn = setup.dsn;
        config.enable_binarymime = setup.binarymime;
        config.enable_requiretls = setup.requiretls;
        config.max_message_bytes = setup.max_message_bytes;
        config.auth_mechanisms = vec![
            Mechanism::Plain,
            Mechanism::Login,
            Mechanism::XOAuth2,
            Mechanism::OAuthBearer,
        ];
        let peer = PeerInfo {
            remote_ip: Some("127.0.0.1".parse().unwrap()),
            tls: setup.tls == Tls::Implicit,
            ..PeerInfo::default()
        };
        let acceptor = (setup.tls != Tls::None).then_some(acceptor);
        let server = ServerConnection::new(config, peer, acceptor, NOW).expect("server");

        let mut options = ConnectionOptions::new("localhost");
        options.implicit_tls = setup.tls == Tls::Implicit;
        options.tls.root_certificates_pem = vec![pki.ca_pem.clone()];
        options.tls.only_given_roots = true;
        options.session.lmtp = setup.lmtp;
        options.session.prefer_chunking = setup.chunking;
        options.session.bdat_chunk_size = setup.bdat_chunk_size;
        let client = Connection::new(options, NOW).expect("client");
        let mut pair = Pair {
            client,
            server,
            backend: Backend::default(),
            events: VecDeque::new(),
            bodies: HashMap::new(),
            piece: setup.piece,
            now: NOW,
        };
        pair.pump();
        if setup.tls == Tls::Implicit {
            assert_eq!(pair.events.pop_front(), Some(Event::TlsEstablished));
        }
        match pair.events.pop_front() {
            Some(Event::Greeting(reply)) => assert_eq!(reply.code(), 220),
            other => panic!("no greeting: {other:?}"),
        }
        pair
    }

    fn hop(&self, bytes: &[u8]) -> Vec<Vec<u8>> {
        if self.piece == 0 {
            vec![bytes.to_vec()]
        } else {
            bytes.chunks(self.piece).map(<[u8]>::to_vec).collect()
        }
    }

    /// Moves bytes and answers events until both sides are quiet.
    fn pump(&mut self) {
        for _ in 0..100_000 {
            let mut moved = false;
            while let Some(bytes) = self.client.poll_transmit() {
                moved = true;
                for piece in self.hop(&bytes) {
                    self.server.handle_input(&piece, self.now);
                    self.serve();
                }
            }
            self.serve();
            while let Some(bytes) = self.server.poll_transmit() {
                moved = true;
                for piece in self.hop(&bytes) {
                    self.client.handle_input(&piece, self.now);
                }
            }
            while let Some(event) = self.client.poll_event() {
                moved = true;
                match event {
                    Event::BodyReady { id } => {
                        let body = self.bodies.remove(&id).expect("a body for this operation");
                        // Sent in a few pieces, as a streaming caller would. A refusal in the middle (552 to a
                        // BDAT chunk) ends the operation: the rest is not wanted any more.
                        let sent = body
                            .chunks(7919)
                            .try_for_each(|piece| self.client.send_body(id, piece, self.now));
                        if sent.is_ok() {
                            let _ = self.client.finish_body(id, self.now);
                        }
                    }
                    Event::Transcript(_) => {}
                    other => self.events.push_back(other),
                }
            }
            if !moved {
                return;
            }
        }
        panic!("the pair never went quiet");
    }

    /// The server application's side: answers every event.
    fn serve(&mut self) {
        while let Some(event) = self.server.poll_event() {
            let now = self.now;
            let b = &mut self.backend;
            match event {
                ServerEvent::Hello { id, .. } => self.server.accept(id, now).unwrap(),
                ServerEvent::Auth {
                    id,
                    mechanism,
                    credentials,
                } => {
                    let ok = match &credentials {
                        Credentials::Password {
                            username, password, ..
                        } => username == "alice" && password == "secret",
                        Credentials::OAuth {
                            username,
                            access_token,
                        } => username == "alice" && access_token == "token",
                        Credentials::External { .. } => false,
                    };
                    b.auth.push((mechanism, credentials));
                    let decision = if ok {
                        Decision::Accept
                    } else {
                        Decision::reply(535, (5, 7, 8), "Authentication credentials invalid")
                    };
                    self.server.answer(id, decision, now).unwrap();
                }
                ServerEvent::Mail { id, from, options } => {
                    b.current = Received {
                        from,
                        mail: options,
                        ..Received::default()
                    };
                    self.server.accept(id, now).unwrap();
                }
                ServerEvent::Rcpt { id, to, options } => {
                    if to.starts_with("reject") {
                        let refusal = Decision::reply(550, (5, 1, 1), "no such user");
                        self.server.answer(id, refusal, now).unwrap();
                    } else {
                        b.current.to.push((to, options));
                        self.server.accept(id, now).unwrap();
                    }
                }
                ServerEvent::MessageStart { bdat } => b.current.bdat = bdat,
                ServerEvent::Content(chunk) => {
                    b.current.content.extend_from_slice(&chunk);
                    self.server.content_read(chunk.len(), now);
                }
                ServerEvent::MessageEnd { id, size } => {
                    assert_eq!(size, b.current.content.len() as u64);
                    b.messages.push(std::mem::take(&mut b.current));
                    self.server.accept(id, now).unwrap();
                }
                ServerEvent::LmtpMessageEnd { id, size, recipients } => {
                    assert_eq!(size, b.current.content.len() as u64);
                    let per: Vec<Option<Decision>> = recipients
                        .iter()
                        .map(|r| {
                            r.starts_with("lmtpfail")
                                .then(|| Decision::reply(452, (4, 2, 2), "mailbox full"))
                        })
                        .collect();
                    b.messages.push(std::mem::take(&mut b.current));
                    self.server.answer_lmtp(id, Decision::Accept, per, now).unwrap();
                }
                ServerEvent::MessageAborted { .. } => b.current.content.clear(),
                ServerEvent::Closed { reason } => b.closed = Some(reason),
                ServerEvent::TlsEstablished { info } => b.tls_sni = Some(info.server_name),
                ServerEvent::Xclient { id, .. } => self.server.accept(id, now).unwrap(),
                ServerEvent::Reset
                | ServerEvent::StartTls
                | ServerEvent::Quit
                | ServerEvent::Transcript(_) => {}
            }
        }
    }

    /// Runs until operation `id` completes.
    fn wait(&mut self, id: CommandId) -> Result<Completion, Error> {
        self.pump();
        let at = self
            .events
            .iter()
            .position(|e| matches!(e, Event::Completed { id: done, .. } if *done == id))
            .unwrap_or_else(|| panic!("operation {id:?} never completed; events: {:?}", self.events));
        match self.events.remove(at) {
            Some(Event::Completed { result, .. }) => result,
            _ => unreachable!(),
        }
    }

    fn hello(&mut self) {
        let id = self.client.hello(Some("client.example"), self.now).unwrap();
        self.wait(id).expect("hello");
    }

    fn start_tls(&mut self) {
        let id = self.client.start_tls(true, self.now).unwrap();
        self.wait(id).expect("STARTTLS");
        assert!(self.events.iter().any(|e| matches!(e, Event::TlsEstablished)));
        self.events.retain(|e| !matches!(e, Event::TlsEstablished));
    }

    fn send(&mut self, envelope: Envelope, body: &[u8]) -> Result<Completion, Error> {
        let id = self.client.send_mail(envelope, self.now)?;
        self.bodies.insert(id, body.to_vec());
        self.wait(id)
    }

    fn quit(&mut self) {
        let id = self.client.quit(self.now).unwrap();
        self.wait(id).expect("QUIT");
        assert_eq!(self.backend.closed, Some(CloseReason::Quit));
        assert!(self.server.is_closed());
    }

    fn open(setup: &Setup, pki: &Pki) -> Pair {
        let mut pair = Pair::new(setup, pki);
        pair.hello();
        if setup.tls == Tls::Starttls {
            pair.start_tls();
        }
        pair
    }
}

/// What a DATA or non-binary BDAT transfer delivers for `body`: line ends normalised, a final CRLF added.
fn delivered(body: &[u8]) -> Vec<u8> {
    let mut expected = normalize_reference(body);
    if !expected.is_empty() && !expected.ends_with(b"\r\n") {
        expected.extend_from_slice(b"\r\n");
    }
    expected
}

fn envelope(from: &str, to: &[&str]) -> Envelope {
    Envelope {
        from: from.to_owned(),
        to: to.iter().map(|t| (*t).to_owned()).collect(),
        ..Envelope::default()
    }
}

const MESSAGE: &[u8] = b"From: a@example.test\r\nSubject: hi\r\n\r\n.starts with a dot\r\n..two\r\nend\r\n";

#[test]
fn plaintext_starttls_and_implicit_tls_deliver_with_data_and_bdat() {
    let pki = Pki::new();
    for tls in [Tls::None, Tls::Starttls, Tls::Implicit] {
        for chunking in [false, true] {
            for piece in [0, 1, 3, 1000] {
                let setup = Setup {
                    tls,
                    chunking,
                    piece,
                    bdat_chunk_size: 17,
                    ..Setup::default()
                };
                let what = format!("{setup:?}");
                let mut pair = Pair::open(&setup, &pki);
                let report = match pair.send(envelope("a@example.test", &["b@example.test"]), MESSAGE) {
                    Ok(Completion::Transaction(report)) => report,
                    other => panic!("{what}: {other:?}"),
                };
                assert_eq!(report.accepted, ["b@example.test"], "{what}");
                let got = &pair.backend.messages[0];
                assert_eq!(got.content, MESSAGE, "{what}");
                assert_eq!(got.bdat, chunking, "{what}");
                assert_eq!(got.from, "a@example.test");
                assert_eq!(got.mail.body, Some(MailBody::EightBitMime), "{what}");
                pair.quit();
                assert_eq!(pair.server.tls_info().is_some(), tls != Tls::None, "{what}");
                if tls != Tls::None {
                    assert_eq!(pair.backend.tls_sni.as_deref(), Some("localhost"), "{what}");
                    assert_eq!(
                        pair.client.tls_info().unwrap().cipher_suite,
                        pair.server.tls_info().unwrap().cipher_suite
                    );
                }
            }
        }
    }
}

#[test]
fn auth_mechanisms_under_tls_and_refusals() {
    let pki = Pki::new();
    let password = |p: &str| Credentials::Password {
        username: "alice".into(),
        password: p.into(),
        identity: None,
    };
    for tls in [Tls::Starttls, Tls::Implicit] {
        let setup = Setup {
            tls,
            ..Setup::default()
        };
        for mechanism in [Mechanism::Plain, Mechanism::Login] {
            let mut pair = Pair::open(&setup, &pki);
            let id = pair
                .client
                .auth(password("wrong"), Some(mechanism), pair.now)
                .unwrap();
            match pair.wait(id) {
                Err(Error::Rejected(rejection)) => assert_eq!(rejection.reply.code(), 535),
                other => panic!("{mechanism:?}: {other:?}"),
            }
            let id = pair
                .client
                .auth(password("secret"), Some(mechanism), pair.now)
                .unwrap();
            pair.wait(id).expect("AUTH");
            assert_eq!(pair.server.session().authenticated(), Some("alice"));
            pair.send(envelope("a@example.test", &["b@example.test"]), MESSAGE)
                .expect("send");
            pair.quit();
        }
        for mechanism in [Mechanism::XOAuth2, Mechanism::OAuthBearer] {
            let mut pair = Pair::open(&setup, &pki);
            let token = Credentials::OAuth {
                username: "alice".into(),
                access_token: "token".into(),
            };
            let id = pair.client.auth(token, Some(mechanism), pair.now).unwrap();
            pair.wait(id).expect("AUTH");
            assert_eq!(pair.backend.auth.last().map(|(m, _)| *m), Some(mechanism));
            pair.quit();
        }
    }
    // Without TLS the server does not offer AUTH to a peer outside its secure nets.
    let mut pair = Pair::open(&Setup::default(), &pki);
    let id = pair.client.auth(password("secret"), None, pair.now);
    let result = match id {
        Ok(id) => pair.wait(id),
        Err(error) => Err(error),
    };
    assert!(result.is_err(), "{result:?}");
    assert!(pair.backend.auth.is_empty());
}

#[test]
fn dsn_smtputf8_size_and_refused_recipients() {
    let pki = Pki::new();
    let setup = Setup {
        smtputf8: true,
        dsn: true,
        tls: Tls::Starttls,
        requiretls: true,
        ..Setup::default()
    };
    let mut pair = Pair::open(&setup, &pki);
    let mut env = envelope(
        "ñandú@example.test",
        &["rejectme@example.test", "bücher@example.test", "c@example.test"],
    );
    env.mail_options = MailOptions {
        size: Some(MESSAGE.len() as u64),
        smtp_utf8: true,
        require_tls: true,
        ret: Some(DsnReturn::Headers),
        envelope_id: Some("id+with=odd chars".into()),
        ..MailOptions::default()
    };
    env.rcpt_options = RcptOptions {
        notify: Some(Notify::On {
            success: true,
            failure: true,
            delay: false,
        }),
        original_recipient: Some("orig+1@example.test".into()),
        original_recipient_type: None,
    };
    let report = match pair.send(env, MESSAGE) {
        Ok(Completion::Transaction(report)) => report,
        other => panic!("{other:?}"),
    };
    assert_eq!(report.accepted, ["bücher@example.test", "c@example.test"]);
    assert_eq!(report.rejected.len(), 1);
    let got = &pair.backend.messages[0];
    assert_eq!(got.from, "ñandú@example.test");
    assert!(got.mail.utf8 && got.mail.require_tls);
    assert_eq!(got.mail.size, Some(MESSAGE.len() as u64));
    assert_eq!(got.mail.ret, Some(DsnRet::Headers));
    assert_eq!(got.mail.envelope_id.as_deref(), Some("id+with=odd chars"));
    let (to, options) = &got.to[0];
    assert_eq!(to, "bücher@example.test");
    assert_eq!(options.original_recipient.as_deref(), Some("orig+1@example.test"));
    let notify = DsnNotify {
        success: true,
        failure: true,
        ..DsnNotify::default()
    };
    assert_eq!(options.notify, Some(notify));
    assert_eq!(got.content, MESSAGE);
    pair.quit();
}

#[test]
fn size_limit_refuses_at_mail_and_in_content() {
    let pki = Pki::new();
    for chunking in [false, true] {
        let setup = Setup {
            max_message_bytes: 100,
            chunking,
            ..Setup::default()
        };
        let mut pair = Pair::open(&setup, &pki);
        let mut env = envelope("a@example.test", &["b@example.test"]);
        env.mail_options.size = Some(1000);
        match pair.send(env, MESSAGE) {
            Err(Error::Rejected(rejection)) => assert_eq!(rejection.reply.code(), 552),
            other => panic!("SIZE=1000: {other:?}"),
        }
        // No SIZE hint: the content itself is too big; the session stays in step and can send the next one.
        let big = vec![b'x'; 500];
        match pair.send(envelope("a@example.test", &["b@example.test"]), &big) {
            Err(Error::Rejected(rejection)) => assert_eq!(rejection.reply.code(), 552, "chunking={chunking}"),
            other => panic!("chunking={chunking}: {other:?}"),
        }
        pair.send(envelope("a@example.test", &["b@example.test"]), MESSAGE)
            .expect("a small one after");
        assert_eq!(pair.backend.messages.len(), 1);
        assert_eq!(pair.backend.messages[0].content, MESSAGE);
        pair.quit();
    }
}

#[test]
fn lmtp_replies_per_recipient() {
    let pki = Pki::new();
    for chunking in [false, true] {
        let setup = Setup {
            lmtp: true,
            chunking,
            ..Setup::default()
        };
        let mut pair = Pair::open(&setup, &pki);
        let report = match pair.send(
            envelope(
                "a@example.test",
                &[
                    "b@example.test",
                    "lmtpfail@example.test",
                    "rejectx@example.test",
                    "c@example.test",
                ],
            ),
            MESSAGE,
        ) {
            Ok(Completion::Transaction(report)) => report,
            other => panic!("chunking={chunking}: {other:?}"),
        };
        assert_eq!(report.accepted, ["b@example.test", "c@example.test"]);
        let rejected: Vec<&str> = report.rejected.iter().map(|(r, _)| r.as_str()).collect();
        assert_eq!(rejected, ["lmtpfail@example.test", "rejectx@example.test"]);
        assert_eq!(pair.backend.messages[0].content, MESSAGE);
        pair.quit();
    }
}

#[test]
fn several_messages_on_one_connection_and_binarymime() {
    let pki = Pki::new();
    let setup = Setup {
        binarymime: true,
        chunking: true,
        bdat_chunk_size: 100,
        ..Setup::default()
    };
    let mut pair = Pair::open(&setup, &pki);
    let binary: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
    let mut env = envelope("a@example.test", &["b@example.test"]);
    env.mail_options.body = Some(BodyType::BinaryMime);
    pair.send(env, &binary).expect("binary");
    for i in 0..5 {
        let body = format!("Subject: {i}\r\n\r\nbody {i}\r\n");
        pair.send(envelope("a@example.test", &["b@example.test"]), body.as_bytes())
            .expect("send");
    }
    assert_eq!(pair.backend.messages.len(), 6);
    assert_eq!(
        pair.backend.messages[0].content, binary,
        "BINARYMIME content is delivered raw"
    );
    assert_eq!(pair.backend.messages[0].mail.body, Some(MailBody::BinaryMime));
    assert_eq!(pair.backend.messages[5].content, b"Subject: 4\r\n\r\nbody 4\r\n");
    pair.quit();
}

// ---------------------------------------------------------------------------------------------------------------
// Random messages, random setups

fn body_strategy() -> impl Strategy<Value = Vec<u8>> {
    // Weighted towards the bytes that matter: line ends, dots, 8-bit.
    let byte = prop_oneof![
        4 => prop::sample::select(b"abc XYZ:".to_vec()),
        2 => Just(b'\r'),
        2 => Just(b'\n'),
        2 => Just(b'.'),
        1 => 0x80u8..=0xff,
        1 => 1u8..0x20,
    ];
    prop::collection::vec(byte, 0..3000)
}

fn setup_strategy() -> impl Strategy<Value = Setup> {
    (
        prop::sample::select(vec![Tls::None, Tls::Starttls, Tls::Implicit]),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        1usize..300,
        prop::sample::select(vec![0usize, 1, 2, 5, 64, 1500]),
    )
        .prop_map(
            |(tls, lmtp, smtputf8, dsn, chunking, bdat_chunk_size, piece)| Setup {
                tls,
                lmtp,
                smtputf8,
                dsn,
                chunking,
                bdat_chunk_size,
                piece,
                ..Setup::default()
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Whatever the setup and the message, the server's application gets exactly what the client's normalisation
    /// produced: the line ends made CRLF, dot-stuffing undone, nothing more and nothing less.
    #[test]
    fn random_messages_arrive_byte_exact(setup in setup_strategy(), bodies in prop::collection::vec(body_strategy(), 1..4)) {
        let pki = shared_pki();
        let mut pair = Pair::open(&setup, pki);
        // The envelope uses what the server offers: non-ASCII addresses with SMTPUTF8, DSN parameters with DSN.
        let (from, to) = if setup.smtputf8 {
            ("j\u{f6}rg@example.test", ["b\u{fc}cher@example.test", "c@example.test"])
        } else {
            ("a@example.test", ["b@example.test", "c@example.test"])
        };
        for (i, body) in bodies.iter().enumerate() {
            let mut env = envelope(from, &to);
            env.mail_options.smtp_utf8 = setup.smtputf8;
            env.mail_options.size = Some(body.len() as u64 + 2);
            if setup.dsn {
                env.mail_options.ret = Some(DsnReturn::Full);
                env.mail_options.envelope_id = Some(format!("env {i}+="));
                env.rcpt_options.notify = Some(Notify::Never);
                env.rcpt_options.original_recipient = Some(format!("orig{i}@example.test"));
            }
            let result = pair.send(env, body);
            prop_assert!(matches!(result, Ok(Completion::Transaction(_))), "{:?}", result);
        }
        prop_assert_eq!(pair.backend.messages.len(), bodies.len());
        for (i, (got, body)) in pair.backend.messages.iter().zip(&bodies).enumerate() {
            prop_assert_eq!(&got.content, &delivered(body));
            prop_assert_eq!(got.from.as_str(), from);
            let recipients: Vec<&str> = got.to.iter().map(|(to, _)| to.as_str()).collect();
            prop_assert_eq!(recipients, to.to_vec());
            prop_assert_eq!(got.mail.utf8, setup.smtputf8);
            prop_assert_eq!(got.mail.size, Some(body.len() as u64 + 2));
            prop_assert_eq!(got.bdat, setup.chunking);
            if setup.dsn {
                prop_assert_eq!(got.mail.ret, Some(DsnRet::Full));
                prop_assert_eq!(got.mail.envelope_id.clone(), Some(format!("env {i}+=")));
                let (_, options) = &got.to[0];
                prop_assert_eq!(options.notify, Some(DsnNotify { never: true, ..DsnNotify::default() }));
                prop_assert_eq!(options.original_recipient.clone(), Some(format!("orig{i}@example.test")));
            }
        }
        pair.quit();
    }
}

/// One CA for the whole property test (making keys per case would dominate its time).
fn shared_pki() -> &'static Pki {
    static PKI: std::sync::OnceLock<Pki> = std::sync::OnceLock::new();
    PKI.get_or_init(Pki::new)
}
