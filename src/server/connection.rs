//! A whole server connection: the SMTP/LMTP session over a TLS layer (implicit TLS, or after STARTTLS), still
//! sans-IO. The server-side mirror of the client's `Connection`.
//!
//! Whatever carries the bytes (a TCP socket, a Worker socket) only ever sees what
//! [`ServerConnection::poll_transmit`] returns, which is ciphertext once TLS is up. Drive it like the session: feed
//! the network's bytes with [`ServerConnection::handle_input`], answer the decision events, and after **every** call
//! drain `poll_transmit`, `poll_event` and `poll_timeout`; read from the socket only while
//! [`ServerConnection::wants_input`] says so.

use std::collections::VecDeque;
use std::sync::Arc;

use crate::codec::reply_writer::ServerReply;
use crate::error::{Error, TlsError};
use crate::server::{Decision, PeerInfo, RequestId, ServerConfig, ServerEvent, ServerSession};
use crate::time::Timestamp;
use crate::tls::{TlsAcceptor, TlsInfo, TlsServerLayer};

/// The SMTP server session stacked on its TLS layer. See the [module documentation](self).
#[derive(Debug)]
pub struct ServerConnection {
    session: ServerSession,
    acceptor: Option<TlsAcceptor>,
    /// Boxed: rustls' connection is over 1 kB, and most sessions never start TLS (every idle plaintext connection
    /// would carry it inline in the wasm's memory).
    tls: Option<Box<TlsServerLayer>>,
    /// Whether the current TLS layer's handshake completion was handled.
    handshake_reported: bool,
    close_notify_sent: bool,
    /// Why TLS failed, once it did: nothing more is written but the alert rustls queued.
    tls_error: Option<TlsError>,
    out: Vec<u8>,
    /// Some output was handed to the driver (the greeting may be on the wire).
    handed_out: bool,
    events: VecDeque<ServerEvent>,
    plaintext: Vec<u8>,
}

/// Every answer of the session, forwarded, then the output moved through TLS.
macro_rules! forward {
    ($(#[$doc:meta] $name:ident($($arg:ident: $ty:ty),*) -> $ret:ty;)*) => {
        $(
            #[$doc]
            pub fn $name(&mut self, $($arg: $ty,)* now: Timestamp) -> $ret {
                let result = self.session.$name($($arg,)* now);
                self.flush(now);
                result
            }
        )*
    };
}

impl ServerConnection {
    /// A connection from `peer`. With `tls` set, STARTTLS is offered (`config.tls_available` is set for you); with
    /// `peer.tls` also set the connection is implicit TLS (port 465): the handshake comes first, and the `220`
    /// greeting is sent once it completes.
    ///
    /// # Errors
    /// [`Error::Usage`] for `peer.tls` without an acceptor, or a configuration the session refuses (see
    /// [`ServerSession::new`]); [`Error::Tls`] if rustls cannot start.
    pub fn new(
        config: impl Into<Arc<ServerConfig>>,
        peer: PeerInfo,
        tls: Option<TlsAcceptor>,
        now: Timestamp,
    ) -> Result<Self, Error> {
        let layer = match (&tls, peer.tls) {
            (Some(acceptor), true) => Some(Box::new(acceptor.accept(now)?)),
            (None, true) => {
                return Err(Error::Usage(
                    "implicit TLS (peer.tls) needs a TLS acceptor (a certificate and key)".into(),
                ))
            }
            (_, false) => None,
        };
        // One configuration may serve every connection (an `Arc`); it is copied only if it says otherwise.
        let mut config = config.into();
        if config.tls_available != tls.is_some() {
            Arc::make_mut(&mut config).tls_available = tls.is_some();
        }
        let session = ServerSession::new(config, peer, now)?;
        let mut connection = ServerConnection {
            session,
            acceptor: tls,
            tls: layer,
            handshake_reported: false,
            close_notify_sent: false,
            tls_error: None,
            out: Vec::new(),
            handed_out: false,
            events: VecDeque::new(),
            plaintext: Vec::new(),
        };
        connection.flush(now);
        Ok(connection)
    }

    // ----- getters -----

    /// The SMTP session (peer, hello name, authenticated user, state).
    #[must_use]
    pub fn session(&self) -> &ServerSession {
        &self.session
    }

    /// What the TLS handshake negotiated (version, suite, the client's SNI, resumption), once it completed.
    #[must_use]
    pub fn tls_info(&self) -> Option<TlsInfo> {
        self.tls.as_deref().and_then(TlsServerLayer::info)
    }

    /// Why TLS failed, if it did (the session is closed then).
    #[must_use]
    pub fn tls_error(&self) -> Option<&TlsError> {
        self.tls_error.as_ref()
    }

    /// Whether the driver should read more from the network: during a TLS handshake always, otherwise when the
    /// session wants input (no decision pending, no content backpressure).
    #[must_use]
    pub fn wants_input(&self) -> bool {
        if self.tls_error.is_some() || self.session.is_closed() {
            return false;
        }
        self.tls.as_deref().is_some_and(TlsServerLayer::is_handshaking) || self.session.wants_input()
    }

    /// Whether the session is over: write what [`ServerConnection::poll_transmit`] still gives, then close.
    #[must_use]
    pub fn is_closed(&self) -> bool {
        self.session.is_closed()
    }

    // ----- inputs -----

    /// Bytes from the network (ciphertext once TLS is up).
    pub fn handle_input(&mut self, bytes: &[u8], now: Timestamp) {
        if self.tls_error.is_some() {
            return;
        }
        match self.tls.as_deref_mut() {
            Some(tls) => {
                self.plaintext.clear();
                let result = tls.handle_ciphertext(bytes, now, &mut self.plaintext);
                if result.is_ok() {
                    self.after_tls_progress(now);
                }
                // Plaintext only ever comes after the handshake; what was decrypted before a later bad record is
                // still the client's.
                let plaintext = std::mem::take(&mut self.plaintext);
                if self.handshake_reported && !plaintext.is_empty() {
                    self.session.handle_input(&plaintext, now);
                }
                self.plaintext = plaintext;
                if let Err(error) = result {
                    self.tls_failed(error, now);
                }
            }
            None => self.session.handle_input(bytes, now),
        }
        self.flush(now);
    }

    /// The client closed the connection.
    pub fn handle_eof(&mut self, now: Timestamp) {
        match self.tls.as_deref_mut().map(TlsServerLayer::handle_eof) {
            // Closed mid-handshake (or mid-record): the TLS failure is the reason.
            Some(Err(error)) if self.tls_error.is_none() => self.tls_failed(error, now),
            _ => self.session.handle_eof(now),
        }
        self.flush(now);
    }

    /// Time passed; see [`ServerConnection::poll_timeout`].
    pub fn handle_timeout(&mut self, now: Timestamp) {
        self.session.handle_timeout(now);
        self.flush(now);
    }

    // ----- the application's answers -----

    forward! {
        /// Answers a decision ([`ServerSession::answer`]).
        answer(id: RequestId, decision: Decision) -> Result<(), Error>;
        /// Accepts a decision ([`ServerSession::accept`]).
        accept(id: RequestId) -> Result<(), Error>;
        /// Refuses a decision ([`ServerSession::reject`]).
        reject(id: RequestId, reply: ServerReply) -> Result<(), Error>;
        /// Answers the end of an LMTP message, per recipient ([`ServerSession::answer_lmtp`]).
        answer_lmtp(id: RequestId, overall: Decision, per_recipient: Vec<Option<Decision>>) -> Result<(), Error>;
        /// Refuses the message being received, before its end ([`ServerSession::refuse_message`]).
        refuse_message(reply: ServerReply) -> Result<(), Error>;
    }

    /// Confirms consumed message content ([`ServerSession::content_read`]).
    pub fn content_read(&mut self, bytes: usize, now: Timestamp) {
        self.session.content_read(bytes, now);
        self.flush(now);
    }

    /// Refuses the connection (go-smtp's `Conn.Reject`): `421` in place of the greeting when the greeting has not
    /// been handed out yet (as [`ServerConnection::shutdown`] otherwise), then the connection closes.
    pub fn refuse_connection(&mut self, now: Timestamp) {
        self.discard_unsent_greeting();
        self.shutdown(now);
    }

    /// [`ServerConnection::refuse_connection`] with the application's reply (`421 4.7.0 Too many connections`).
    pub fn refuse_connection_with(&mut self, reply: ServerReply, now: Timestamp) {
        self.discard_unsent_greeting();
        self.shutdown_with(reply, now);
    }

    fn discard_unsent_greeting(&mut self) {
        if !self.handed_out {
            match self.tls.as_deref_mut() {
                // Implicit TLS: the greeting waits, unencrypted, for the handshake.
                Some(tls) => {
                    tls.discard_early_plaintext();
                }
                None => self.out.clear(),
            }
        }
    }

    /// Closes on the server's initiative: `421` (see [`ServerSession::shutdown`]), then TLS close_notify.
    pub fn shutdown(&mut self, now: Timestamp) {
        self.session.shutdown(now);
        self.flush(now);
    }

    /// Closes on the server's initiative with the application's reply (see [`ServerSession::shutdown_with`]).
    pub fn shutdown_with(&mut self, reply: ServerReply, now: Timestamp) {
        self.session.shutdown_with(reply, now);
        self.flush(now);
    }

    // ----- outputs -----

    /// Bytes to send (ciphertext once TLS is up), coalesced.
    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        if self.out.is_empty() {
            None
        } else {
            self.handed_out = true;
            Some(std::mem::take(&mut self.out))
        }
    }

    /// The bytes to send, without taking them: pair with [`ServerConnection::consume_transmit`].
    #[must_use]
    pub fn pending_transmit(&self) -> &[u8] {
        &self.out
    }

    /// Marks the first `n` bytes of [`ServerConnection::pending_transmit`] as sent.
    pub fn consume_transmit(&mut self, n: usize) {
        self.handed_out |= n > 0;
        if n >= self.out.len() {
            self.out.clear();
        } else {
            self.out.drain(..n);
        }
    }

    /// The next event (the session's, see [`ServerEvent`]).
    #[must_use]
    pub fn poll_event(&mut self) -> Option<ServerEvent> {
        self.events.pop_front().or_else(|| self.session.poll_event())
    }

    /// When to call [`ServerConnection::handle_timeout`] (the session's read timeout, which also bounds a TLS
    /// handshake).
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        self.session.poll_timeout()
    }

    // ----- internals -----

    /// Handles a completed handshake once: after STARTTLS the session learns it is under TLS.
    fn after_tls_progress(&mut self, now: Timestamp) {
        let done = self.tls.as_deref().is_some_and(|tls| !tls.is_handshaking());
        if done && !self.handshake_reported {
            self.handshake_reported = true;
            self.session.handle_tls_established(now);
            if let Some(info) = self.tls.as_deref().and_then(TlsServerLayer::info) {
                self.events.push_back(ServerEvent::TlsEstablished { info });
            }
        }
    }

    /// A TLS failure ends the session ([`crate::CloseReason::TlsFailed`]): the alert rustls queued goes out,
    /// nothing else does.
    fn tls_failed(&mut self, error: TlsError, now: Timestamp) {
        self.tls_error = Some(error);
        self.session.handle_tls_failed(now);
    }

    /// Moves the session's output through TLS (if any) into `out`, and starts TLS when STARTTLS asks for it.
    fn flush(&mut self, now: Timestamp) {
        loop {
            let mut progressed = false;
            // The 220 answering STARTTLS leaves in plaintext, before the layer is installed.
            while let Some(bytes) = self.session.poll_transmit() {
                progressed = true;
                self.write(&bytes, now);
            }
            if self.session.poll_start_tls() {
                progressed = true;
                self.start_tls(now);
            }
            if !progressed {
                break;
            }
        }
        if let Some(tls) = self.tls.as_deref_mut() {
            if self.session.is_closed() && !self.close_notify_sent && self.tls_error.is_none() {
                // QUIT answered, or the session ended: the orderly end of the TLS stream.
                self.close_notify_sent = true;
                tls.send_close_notify();
            }
            tls.poll_ciphertext(&mut self.out);
        }
    }

    fn write(&mut self, bytes: &[u8], now: Timestamp) {
        if self.tls_error.is_some() {
            // Never plaintext on a connection whose TLS failed.
            return;
        }
        match self.tls.as_deref_mut() {
            Some(tls) => {
                if let Err(error) = tls.write_plaintext(bytes) {
                    self.tls_failed(error, now);
                }
            }
            None => self.out.extend_from_slice(bytes),
        }
    }

    fn start_tls(&mut self, now: Timestamp) {
        let layer = match (&self.acceptor, &self.tls) {
            (Some(acceptor), None) => acceptor.accept(now),
            // The session only offers STARTTLS with a certificate and not under TLS; anything else is a bug upstream.
            _ => Err(Error::Usage(
                "STARTTLS without a certificate, or under TLS already".into(),
            )),
        };
        match layer {
            Ok(layer) => {
                self.tls = Some(Box::new(layer));
                self.handshake_reported = false;
            }
            Err(error) => {
                let error = match error {
                    Error::Tls(tls) => tls,
                    other => TlsError {
                        kind: crate::error::TlsErrorKind::Other,
                        message: other.to_string(),
                    },
                };
                self.tls_failed(error, now);
            }
        }
    }
}
