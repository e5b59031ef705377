//! Fuzz target `tls_server`: arbitrary bytes from a "client" fed to the server's TLS layer
//! ([`TlsServerLayer`]) in arbitrary pieces, with a greeting written before the handshake as an implicit-TLS server
//! does.
//!
//! # Invariants (a broken one panics)
//! - The layer never panics, and an error is final: every later call returns the same error.
//! - No plaintext comes out and no TLS info exists without a completed handshake (which arbitrary bytes cannot
//!   complete: they would have to forge the client's Finished).
//! - Nothing the server writes is plaintext: every byte handed out is inside TLS records.
//! - Splitting the input differently gives the same outcome (the same kind of error, or none).

use std::sync::OnceLock;

use super::split;
use crate::error::TlsError;
use crate::time::Timestamp;
use crate::tls::{TlsAcceptor, TlsServerOptions};

/// A self-signed P-256 certificate valid until 2126, and its key (SEC1), as a user would give them.
const CERT: &str = include_str!("../../tests/data/fuzz-server-cert.pem");
const KEY: &str = include_str!("../../tests/data/ec-p256-key-sec1.pem");

fn acceptor() -> &'static TlsAcceptor {
    static ACCEPTOR: OnceLock<TlsAcceptor> = OnceLock::new();
    ACCEPTOR.get_or_init(|| {
        // With SNI entries, so that whatever name a ClientHello carries goes through the resolver.
        let options = TlsServerOptions::new(CERT, KEY)
            .with_sni_certificate("mail.example.test", CERT, KEY)
            .with_sni_certificate("*.example.org", CERT, KEY);
        TlsAcceptor::new(&options).unwrap_or_else(|e| panic!("fuzz certificate: {e}"))
    })
}

/// Runs the input whole and in pieces (`data[0]` seeds the split); both must agree.
pub fn tls_server(data: &[u8]) {
    let (seed, input) = match data.split_first() {
        Some((&seed, rest)) => (seed, rest),
        None => (0, data),
    };
    let kind = |error: Option<TlsError>| error.map(|e| e.kind);
    let whole = kind(feed(&[input]));
    let pieces = split(input, u64::from(seed) + 1);
    // The kinds agree; a message may quote fewer of the first bytes when they came in smaller pieces.
    assert_eq!(
        kind(feed(&pieces)),
        whole,
        "splitting the input changed the outcome"
    );
}

/// The first error, or none; checks the per-call invariants.
fn feed(pieces: &[&[u8]]) -> Option<TlsError> {
    let now = Timestamp::from_unix_millis(1_780_272_000_000);
    let mut layer = acceptor().accept(now).unwrap_or_else(|e| panic!("accept: {e}"));
    assert!(layer.write_plaintext(b"220 mx.example.test ESMTP\r\n").is_ok());
    let mut first_error: Option<TlsError> = None;
    let mut out = Vec::new();
    for piece in pieces {
        let mut plaintext = Vec::new();
        let result = layer.handle_ciphertext(piece, now, &mut plaintext);
        assert!(plaintext.is_empty(), "plaintext without a handshake");
        match (&first_error, result) {
            (Some(first), result) => assert_eq!(result.as_ref(), Err(first), "an error is final"),
            (None, Err(error)) => first_error = Some(error),
            (None, Ok(())) => {}
        }
        layer.poll_ciphertext(&mut out);
        assert!(layer.info().is_none() || !layer.is_handshaking());
    }
    if first_error.is_none() {
        if let Err(error) = layer.handle_eof() {
            first_error = Some(error);
        }
    }
    layer.poll_ciphertext(&mut out);
    assert!(
        layer.info().is_none(),
        "a handshake completed from arbitrary bytes"
    );
    check_records(&out);
    first_error
}

/// Every byte is inside a TLS record (content type 20-23, version 3.x, the announced length).
fn check_records(mut out: &[u8]) {
    while !out.is_empty() {
        let header = out
            .get(..5)
            .unwrap_or_else(|| panic!("a truncated record header: {out:?}"));
        assert!(
            (20..=23).contains(&header[0]) && header[1] == 3,
            "not a TLS record: {header:?}"
        );
        let len = usize::from(u16::from_be_bytes([header[3], header[4]]));
        out = out.get(5 + len..).unwrap_or_else(|| panic!("a truncated record"));
    }
}
