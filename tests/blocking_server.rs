//! The blocking server driver over real loopback sockets: our blocking client delivering through STARTTLS and
//! implicit TLS, the read timeout, shutdown of idle sessions, and a handler that refuses a connection.

#[path = "common/certs.rs"]
mod certs;

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use certs::{KeyKind, Pki};
use smtp_wasm::blocking::{BlockingClient, BlockingServer, Handler, SessionHandler, ShutdownHandle};
use smtp_wasm::tls::{TlsAcceptor, TlsServerOptions};
use smtp_wasm::{
    CloseReason, ConnectionOptions, Decision, Envelope, PeerInfo, ServerConfig, TlsInfo, TlsOptions,
};

/// A delivered message and the TLS it came under.
type Message = (Vec<u8>, Option<TlsInfo>);

#[derive(Clone, Default)]
struct Inbox {
    messages: Arc<Mutex<Vec<Message>>>,
    closed: Arc<Mutex<Vec<CloseReason>>>,
    peers: Arc<Mutex<Vec<PeerInfo>>>,
    refuse: bool,
}

struct Session {
    inbox: Inbox,
    content: Vec<u8>,
    tls: Option<TlsInfo>,
}

impl Handler for Inbox {
    type Session = Session;

    fn connect(&self, peer: &PeerInfo) -> Option<Session> {
        assert!(peer.remote_ip.is_some() && peer.local_port.is_some());
        self.peers.lock().unwrap().push(peer.clone());
        (!self.refuse).then(|| Session {
            inbox: self.clone(),
            content: Vec::new(),
            tls: None,
        })
    }
}

impl SessionHandler for Session {
    fn message_start(&mut self, _bdat: bool) {
        self.content.clear();
    }

    fn content(&mut self, chunk: &[u8]) -> Decision {
        self.content.extend_from_slice(chunk);
        if self.content.windows(4).any(|w| w == b"SPAM") {
            // Refused while it is received: the rest is read and dropped, then this reply goes out.
            return Decision::reply(550, (5, 7, 1), "no spam here");
        }
        Decision::Accept
    }

    fn message_end(&mut self, _size: u64) -> Decision {
        let content = std::mem::take(&mut self.content);
        self.inbox
            .messages
            .lock()
            .unwrap()
            .push((content, self.tls.clone()));
        Decision::Accept
    }

    fn tls_established(&mut self, info: &TlsInfo) {
        self.tls = Some(info.clone());
    }

    fn closed(&mut self, reason: CloseReason) {
        self.inbox.closed.lock().unwrap().push(reason);
    }
}

struct Running {
    port: u16,
    stop: ShutdownHandle,
    thread: JoinHandle<std::io::Result<()>>,
}

fn start(server: &BlockingServer<Inbox>, implicit_tls: bool) -> Running {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let stop = server.shutdown_handle();
    let server = server.clone();
    let thread = std::thread::spawn(move || server.serve(listener, implicit_tls));
    Running { port, stop, thread }
}

impl Running {
    fn stop(self) {
        self.stop.shutdown();
        self.thread
            .join()
            .unwrap()
            .expect("serve returns Ok after shutdown");
    }
}

fn tls_server(pki: &Pki, inbox: Inbox, config: ServerConfig) -> BlockingServer<Inbox> {
    let cert = pki.leaf(KeyKind::P256);
    let acceptor = TlsAcceptor::new(&TlsServerOptions::new(cert.chain_pem, cert.key_pem)).unwrap();
    BlockingServer::new(config, inbox).with_tls(acceptor)
}

fn client_options(pki: &Pki, implicit_tls: bool) -> ConnectionOptions {
    let mut options = ConnectionOptions::new("localhost");
    options.implicit_tls = implicit_tls;
    options.tls = TlsOptions {
        root_certificates_pem: vec![pki.ca_pem.clone()],
        only_given_roots: true,
        dangerously_accept_invalid_certificates: false,
        client_certificate: None,
    };
    options
}

const MESSAGE: &[u8] = b"Subject: hi\r\n\r\n.dot\r\nbody\r\n";

#[test]
fn our_blocking_client_delivers_over_starttls_and_implicit_tls() {
    let pki = Pki::new();
    let inbox = Inbox::default();
    let server = tls_server(&pki, inbox.clone(), ServerConfig::new("mx.example.test"));
    let plain = start(&server, false);
    let implicit = start(&server, true);
    for (port, implicit_tls) in [(plain.port, false), (implicit.port, true)] {
        let mut client = BlockingClient::connect(("127.0.0.1", port), client_options(&pki, implicit_tls))
            .expect("connect");
        client.hello(None).unwrap();
        if !implicit_tls {
            client.start_tls(true).expect("STARTTLS");
        }
        let envelope = Envelope {
            from: "a@example.test".into(),
            to: vec!["b@example.test".into()],
            ..Envelope::default()
        };
        let report = client.send_mail(envelope, MESSAGE).expect("send");
        assert_eq!(report.accepted, ["b@example.test"]);
        client.quit().unwrap();
    }
    let messages = inbox.messages.lock().unwrap().clone();
    assert_eq!(messages.len(), 2);
    for (content, tls) in messages {
        assert_eq!(content, MESSAGE);
        assert_eq!(tls.expect("under TLS").server_name, "localhost");
    }
    plain.stop();
    implicit.stop();
}

fn read_line(reader: &mut BufReader<TcpStream>) -> String {
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    line
}

#[test]
fn the_handler_refuses_a_message_while_it_is_received() {
    let pki = Pki::new();
    let inbox = Inbox::default();
    let mut config = ServerConfig::new("mx.example.test");
    config.content_window = 1024;
    let running = start(&tls_server(&pki, inbox.clone(), config), false);
    let mut client =
        BlockingClient::connect(("127.0.0.1", running.port), client_options(&pki, false)).unwrap();
    client.hello(None).unwrap();
    let envelope = || Envelope {
        from: "a@example.test".into(),
        to: vec!["b@example.test".into()],
        ..Envelope::default()
    };
    let mut spam = b"Subject: SPAM\r\n\r\n".to_vec();
    spam.extend(std::iter::repeat_n(b"0123456789abcdef\r\n".as_slice(), 20_000).flatten());
    match client.send_mail(envelope(), spam.as_slice()) {
        Err(smtp_wasm::blocking::ClientError::Smtp(smtp_wasm::Error::Rejected(rejection))) => {
            assert_eq!(rejection.reply.code(), 550, "{rejection:?}");
        }
        other => panic!("{other:?}"),
    }
    // The connection is still in step: the next message goes through.
    client.send_mail(envelope(), MESSAGE).expect("the next message");
    client.quit().unwrap();
    let messages = inbox.messages.lock().unwrap().clone();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].0, MESSAGE);
    running.stop();
}

#[test]
fn read_timeout_closes_with_421() {
    let inbox = Inbox::default();
    let mut config = ServerConfig::new("mx.example.test");
    config.read_timeout = Some(Duration::from_millis(300));
    let running = start(&BlockingServer::new(config, inbox.clone()), false);
    let stream = TcpStream::connect(("127.0.0.1", running.port)).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut reader = BufReader::new(stream);
    assert!(read_line(&mut reader).starts_with("220 "));
    assert!(read_line(&mut reader).starts_with("421 4.4.2"));
    assert_eq!(read_line(&mut reader), "", "closed after the 421");
    assert_eq!(inbox.closed.lock().unwrap().as_slice(), [CloseReason::Timeout]);
    running.stop();
}

#[test]
fn shutdown_sends_421_to_open_sessions_and_serve_returns() {
    let inbox = Inbox::default();
    let running = start(
        &BlockingServer::new(ServerConfig::new("mx.example.test"), inbox.clone()),
        false,
    );
    let stream = TcpStream::connect(("127.0.0.1", running.port)).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    assert!(read_line(&mut reader).starts_with("220 "));
    writer.write_all(b"NOOP\r\n").unwrap();
    assert!(read_line(&mut reader).starts_with("250 "));
    let stop = running.stop.clone();
    let stopper = std::thread::spawn(move || running.stop());
    assert!(read_line(&mut reader).starts_with("421 4.3.2"));
    assert_eq!(read_line(&mut reader), "");
    stopper.join().unwrap();
    assert!(stop.is_shutting_down());
    assert_eq!(inbox.closed.lock().unwrap().as_slice(), [CloseReason::Shutdown]);
}

#[test]
fn a_refused_connection_gets_421_instead_of_the_greeting() {
    let inbox = Inbox {
        refuse: true,
        ..Inbox::default()
    };
    let running = start(
        &BlockingServer::new(ServerConfig::new("mx.example.test"), inbox),
        false,
    );
    let stream = TcpStream::connect(("127.0.0.1", running.port)).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut reader = BufReader::new(stream);
    assert!(read_line(&mut reader).starts_with("421 "));
    assert_eq!(read_line(&mut reader), "");
    running.stop();
}

#[test]
fn implicit_tls_needs_a_certificate() {
    let server = BlockingServer::new(ServerConfig::new("mx.example.test"), Inbox::default());
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    assert!(server.serve(listener, true).is_err());
}

#[test]
fn connections_over_the_cap_get_421_and_a_freed_slot_is_reused() {
    let server =
        BlockingServer::new(ServerConfig::new("mx.example.test"), Inbox::default()).with_max_connections(2);
    let running = start(&server, false);
    let open = |port| {
        let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let writer = stream.try_clone().unwrap();
        (BufReader::new(stream), writer)
    };
    let (mut first, _w1) = open(running.port);
    let (mut second, mut w2) = open(running.port);
    assert!(read_line(&mut first).starts_with("220 "));
    assert!(read_line(&mut second).starts_with("220 "));
    assert_eq!(server.open_connections(), 2);
    // The third: told to come back later, then closed; no thread, no greeting.
    let (mut third, _w3) = open(running.port);
    assert_eq!(
        read_line(&mut third),
        "421 4.7.0 Too many connections, try again later\r\n"
    );
    assert_eq!(read_line(&mut third), "");
    // One leaves: its slot is free again.
    w2.write_all(b"QUIT\r\n").unwrap();
    assert!(read_line(&mut second).starts_with("221 "));
    assert_eq!(read_line(&mut second), "");
    let mut greeted = String::new();
    for _ in 0..100 {
        let (mut again, _w) = open(running.port);
        greeted = read_line(&mut again);
        if greeted.starts_with("220 ") {
            break;
        }
        std::thread::sleep(Duration::from_millis(20)); // the slot is given back as the thread ends
    }
    assert!(greeted.starts_with("220 "), "{greeted}");
    running.stop();
    assert_eq!(server.open_connections(), 0);
}

#[test]
fn a_trusted_proxy_names_the_client_with_a_proxy_protocol_header() {
    use std::io::Read;
    let inbox = Inbox::default();
    assert!(
        BlockingServer::new(ServerConfig::new("mx.example.test"), inbox.clone())
            .with_proxy_protocol(&["127.0.0.1/40"])
            .is_err()
    );
    let mut config = ServerConfig::new("mx.example.test");
    config.read_timeout = Some(Duration::from_millis(500));
    let server = BlockingServer::new(config, inbox.clone())
        .with_proxy_protocol(&["127.0.0.0/8"])
        .unwrap();
    let running = start(&server, false);
    // The header and the client's EHLO in one write (the EHLO is kept).
    let mut stream = TcpStream::connect(("127.0.0.1", running.port)).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    stream
        .write_all(b"PROXY TCP6 2001:db8::9 2001:db8::1 40000 25\r\nEHLO client.example\r\nQUIT\r\n")
        .unwrap();
    let mut reader = BufReader::new(stream);
    assert!(read_line(&mut reader).starts_with("220 "));
    assert!(read_line(&mut reader).starts_with("250-mx.example.test Hello client.example"));
    let peer = inbox.peers.lock().unwrap()[0].clone();
    assert_eq!(peer.remote_ip, Some("2001:db8::9".parse().unwrap()));
    assert_eq!((peer.remote_port, peer.local_port), (Some(40000), Some(25)));
    // No header from a trusted proxy, or too late: closed without a byte, and no session.
    for first in [&b"EHLO spoofer.example\r\n"[..], b""] {
        let mut stream = TcpStream::connect(("127.0.0.1", running.port)).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        stream.write_all(first).unwrap();
        let mut got = Vec::new();
        let _ = stream.read_to_end(&mut got);
        assert_eq!(got, b"", "{}", String::from_utf8_lossy(first));
    }
    assert_eq!(inbox.peers.lock().unwrap().len(), 1);
    running.stop();
}
