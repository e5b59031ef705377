//! `ServerConnection`'s own duties, beyond what the round trips show: a TLS failure closes the session without a
//! plaintext byte, a plaintext client on an implicit-TLS connection is named, a refused connection sends `421`
//! instead of the greeting, and `wants_input` stays true through a handshake.

#[path = "common/certs.rs"]
mod certs;

use certs::{KeyKind, Pki, NOW};
use smtp_wasm::server::ServerConnection;
use smtp_wasm::tls::{TlsAcceptor, TlsServerOptions};
use smtp_wasm::{CloseReason, PeerInfo, ServerConfig, ServerEvent, TlsErrorKind};

fn acceptor(pki: &Pki) -> TlsAcceptor {
    let cert = pki.leaf(KeyKind::P256);
    TlsAcceptor::new(&TlsServerOptions::new(cert.chain_pem, cert.key_pem)).unwrap()
}

fn connection(pki: &Pki, implicit_tls: bool) -> ServerConnection {
    let peer = PeerInfo {
        tls: implicit_tls,
        ..PeerInfo::default()
    };
    ServerConnection::new(
        ServerConfig::new("mx.example.test"),
        peer,
        Some(acceptor(pki)),
        NOW,
    )
    .unwrap()
}

fn events(connection: &mut ServerConnection) -> Vec<ServerEvent> {
    std::iter::from_fn(|| connection.poll_event()).collect()
}

fn output(connection: &mut ServerConnection) -> Vec<u8> {
    std::iter::from_fn(|| connection.poll_transmit())
        .flatten()
        .collect()
}

#[test]
fn a_plaintext_client_on_implicit_tls_gets_no_plaintext() {
    let pki = Pki::new();
    let mut server = connection(&pki, true);
    assert!(
        output(&mut server).is_empty(),
        "the greeting waits for the handshake"
    );
    assert!(server.wants_input());
    server.handle_input(b"EHLO client.example\r\n", NOW);
    let out = output(&mut server);
    assert!(
        !out.windows(3).any(|w| w == b"220"),
        "no plaintext greeting: {out:?}"
    );
    assert_eq!(server.tls_error().map(|e| e.kind), Some(TlsErrorKind::NotTls));
    assert!(events(&mut server).contains(&ServerEvent::Closed {
        reason: CloseReason::TlsFailed
    }));
    assert!(server.is_closed() && !server.wants_input());
    server.handle_input(b"MAIL FROM:<a@example.test>\r\n", NOW);
    assert!(output(&mut server).is_empty());
}

#[test]
fn a_handshake_cut_short_after_starttls_closes_without_plaintext() {
    let pki = Pki::new();
    let mut server = connection(&pki, false);
    assert!(output(&mut server).starts_with(b"220 "));
    server.handle_input(b"EHLO client.example\r\n", NOW);
    for event in events(&mut server) {
        if let ServerEvent::Hello { id, .. } = event {
            server.accept(id, NOW).unwrap();
        }
    }
    assert!(String::from_utf8(output(&mut server))
        .unwrap()
        .contains("STARTTLS"));
    server.handle_input(b"STARTTLS\r\n", NOW);
    assert_eq!(output(&mut server), b"220 2.0.0 Ready to start TLS\r\n");
    assert!(server.wants_input(), "reading the ClientHello");
    // Garbage instead of a ClientHello, then the end.
    server.handle_input(b"\x16\x03\x01\x00\x05hello", NOW);
    server.handle_eof(NOW);
    let out = output(&mut server);
    assert!(
        out.iter().all(|&b| b != b'\n'),
        "only TLS records, never a plaintext reply: {out:?}"
    );
    assert!(server.tls_error().is_some());
    assert!(events(&mut server).iter().any(|e| matches!(
        e,
        ServerEvent::Closed {
            reason: CloseReason::TlsFailed
        }
    )));
}

#[test]
fn a_refused_connection_sends_421_instead_of_the_greeting() {
    let pki = Pki::new();
    let mut server = connection(&pki, false);
    server.refuse_connection(NOW);
    let out = String::from_utf8(output(&mut server)).unwrap();
    assert!(out.starts_with("421 ") && !out.contains("220"), "{out}");
    assert!(server.is_closed());

    // Once the greeting went out, the 421 follows it.
    let mut server = connection(&pki, false);
    assert!(output(&mut server).starts_with(b"220 "));
    server.refuse_connection(NOW);
    assert!(output(&mut server).starts_with(b"421 "));
}

#[test]
fn implicit_tls_needs_an_acceptor() {
    let peer = PeerInfo {
        tls: true,
        ..PeerInfo::default()
    };
    assert!(ServerConnection::new(ServerConfig::new("mx.example.test"), peer, None, NOW).is_err());
}
