//! A whole client connection: the SMTP session over a TLS layer (implicit TLS, or after STARTTLS), still sans-IO.
//!
//! Whatever carries the bytes (a TCP socket, a Worker socket, a WebSocket bridge) only ever sees what
//! [`Connection::poll_transmit`] returns, which is ciphertext once TLS is up: the carrier cannot read mail or
//! credentials. Drive it like the session: after every call, drain `poll_transmit`, `poll_event` and `poll_timeout`.

use std::collections::VecDeque;

use crate::client::{ClientSession, CommandId, Envelope, Event, MailOptions, RcptOptions, SessionConfig};
use crate::error::Error;
use crate::sasl::{Credentials, Mechanism};
use crate::time::Timestamp;
use crate::tls::{TlsConnector, TlsInfo, TlsLayer, TlsOptions};

/// How to set up a [`Connection`].
#[derive(Debug, Clone)]
pub struct ConnectionOptions {
    /// The session's settings; `session.server_name` is also the TLS server name (SNI and verification).
    pub session: SessionConfig,
    /// TLS from the first byte (port 465), instead of plaintext until STARTTLS.
    pub implicit_tls: bool,
    /// Trust settings.
    pub tls: TlsOptions,
}

impl ConnectionOptions {
    /// Options with the defaults for a server known as `server_name`.
    #[must_use]
    pub fn new(server_name: impl Into<String>) -> Self {
        ConnectionOptions {
            session: SessionConfig::new(server_name),
            implicit_tls: false,
            tls: TlsOptions::default(),
        }
    }
}

/// The SMTP session stacked on its TLS layer. See the [module documentation](self).
#[derive(Debug)]
pub struct Connection {
    session: ClientSession,
    connector: TlsConnector,
    tls: Option<TlsLayer>,
    /// Whether the current TLS layer's handshake completion was reported.
    handshake_reported: bool,
    close_notify_sent: bool,
    out: Vec<u8>,
    events: VecDeque<Event>,
    plaintext: Vec<u8>,
}

/// Every command of the session, forwarded, then the output moved through TLS.
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

impl Connection {
    /// A connection that waits for the greeting (after the TLS handshake, for implicit TLS). Fails on bad options
    /// (an invalid local name, an unusable root certificate, an invalid server name).
    pub fn new(mut options: ConnectionOptions, now: Timestamp) -> Result<Self, Error> {
        options.session.tls_at_start = options.implicit_tls;
        let connector = TlsConnector::new(&options.tls)?;
        Self::start(options.session, connector, now)
    }

    /// A new connection to the same server that reuses this one's TLS settings (and so its session tickets, which
    /// makes the next handshake a cheap resumption).
    pub fn reconnect(&self, now: Timestamp) -> Result<Self, Error> {
        Self::start(self.session.config().clone(), self.connector.clone(), now)
    }

    /// A fresh session, with its TLS layer from the first byte when the configuration says implicit TLS.
    fn start(config: SessionConfig, connector: TlsConnector, now: Timestamp) -> Result<Self, Error> {
        let tls = if config.tls_at_start {
            Some(connector.connect(&config.server_name, now)?)
        } else {
            None
        };
        let session = ClientSession::new(config, now)?;
        let mut connection = Connection {
            session,
            connector,
            tls,
            handshake_reported: false,
            close_notify_sent: false,
            out: Vec::new(),
            events: VecDeque::new(),
            plaintext: Vec::new(),
        };
        connection.flush(now);
        Ok(connection)
    }

    /// The SMTP session (capabilities, greeting, state).
    #[must_use]
    pub fn session(&self) -> &ClientSession {
        &self.session
    }

    /// The accepted recipients of the open transaction, as [`ClientSession::recipients`].
    #[must_use]
    pub fn recipients(&self) -> &[String] {
        self.session.recipients()
    }

    /// An extension's parameters, as [`ClientSession::extension`].
    #[must_use]
    pub fn extension(&self, name: &str) -> Option<&str> {
        self.session.extension(name)
    }

    /// The negotiated TLS parameters and the server's certificate chain, once the handshake is done.
    #[must_use]
    pub fn tls_info(&self) -> Option<TlsInfo> {
        self.tls.as_ref().and_then(TlsLayer::info)
    }

    /// Bytes held and not yet sent (for backpressure while streaming a message).
    #[must_use]
    pub fn transmit_buffered(&self) -> usize {
        self.out.len() + self.session.transmit_buffered()
    }

    // ----- inputs -----

    /// Bytes from the network (ciphertext once TLS is up).
    pub fn handle_input(&mut self, bytes: &[u8], now: Timestamp) {
        match self.tls.as_mut() {
            Some(tls) => {
                self.plaintext.clear();
                let result = tls.handle_ciphertext(bytes, now, &mut self.plaintext);
                // A failed layer is not handshaking any more either: only a success may report the handshake. After
                // a failure, plaintext is delivered only if the handshake was already reported (data decrypted
                // before a later bad record); the session must not get it as pre-TLS input.
                let deliver = match result {
                    Ok(()) => {
                        self.after_tls_progress(now);
                        true
                    }
                    Err(_) => self.handshake_reported,
                };
                let plaintext = std::mem::take(&mut self.plaintext);
                if deliver && !plaintext.is_empty() {
                    self.session.handle_input(&plaintext, now);
                }
                self.plaintext = plaintext;
                if let Err(error) = result {
                    self.session.handle_tls_failed(error);
                }
            }
            None => self.session.handle_input(bytes, now),
        }
        self.flush(now);
    }

    /// The network connection closed.
    pub fn handle_eof(&mut self, now: Timestamp) {
        let tls_result = self.tls.as_mut().map(TlsLayer::handle_eof);
        match tls_result {
            Some(Err(error)) => self.session.handle_tls_failed(error),
            _ => self.session.handle_eof(now),
        }
        self.flush(now);
    }

    /// Time passed; see [`Connection::poll_timeout`].
    pub fn handle_timeout(&mut self, now: Timestamp) {
        self.session.handle_timeout(now);
        self.flush(now);
    }

    // ----- commands -----

    forward! {
        /// EHLO/LHLO, HELO fallback ([`ClientSession::hello`]).
        hello(local_name: Option<&str>) -> Result<CommandId, Error>;
        /// STARTTLS, then the handshake inside this connection, then EHLO again ([`ClientSession::start_tls`]).
        start_tls(required: bool) -> Result<CommandId, Error>;
        /// AUTH ([`ClientSession::auth`]).
        auth(credentials: Credentials, mechanism: Option<Mechanism>) -> Result<CommandId, Error>;
        /// AUTH with a mechanism the caller drives ([`ClientSession::auth_custom`]).
        auth_custom(mechanism: &str, initial_response: Option<Vec<u8>>) -> Result<CommandId, Error>;
        /// The caller's answer to a SASL challenge ([`ClientSession::sasl_respond`]).
        sasl_respond(id: CommandId, response: Option<&[u8]>) -> Result<(), Error>;
        /// MAIL FROM ([`ClientSession::mail`]).
        mail(from: &str, options: &MailOptions) -> Result<CommandId, Error>;
        /// RCPT TO ([`ClientSession::rcpt`]).
        rcpt(to: &str, options: &RcptOptions) -> Result<CommandId, Error>;
        /// DATA or BDAT for the open transaction ([`ClientSession::data`]).
        data() -> Result<CommandId, Error>;
        /// A whole pipelined transaction ([`ClientSession::send_mail`]).
        send_mail(envelope: Envelope) -> Result<CommandId, Error>;
        /// Message content ([`ClientSession::send_body`]).
        send_body(id: CommandId, chunk: &[u8]) -> Result<(), Error>;
        /// End of the message content ([`ClientSession::finish_body`]).
        finish_body(id: CommandId) -> Result<(), Error>;
        /// Abandon the message content ([`ClientSession::abort_body`]).
        abort_body(id: CommandId, why: &str) -> Result<(), Error>;
        /// RSET ([`ClientSession::reset`]).
        reset() -> Result<CommandId, Error>;
        /// NOOP ([`ClientSession::noop`]).
        noop() -> Result<CommandId, Error>;
        /// VRFY ([`ClientSession::verify`]).
        verify(address: &str) -> Result<CommandId, Error>;
        /// A raw command line ([`ClientSession::command`], go-smtp's `Text`).
        command(line: &str) -> Result<CommandId, Error>;
        /// QUIT ([`ClientSession::quit`]); TLS `close_notify` follows the reply.
        quit() -> Result<CommandId, Error>;
    }

    /// Ends the connection now: TLS `close_notify` is queued (send it, then close the transport) and every pending
    /// operation fails.
    pub fn close(&mut self, now: Timestamp) {
        self.session.close();
        self.flush(now);
    }

    // ----- outputs -----

    /// Bytes to send (ciphertext once TLS is up), coalesced.
    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        crate::client::take_output(&mut self.out)
    }

    /// Copies up to `buf.len()` bytes to send into `buf` and returns how many; the same bytes as
    /// [`Connection::poll_transmit`], without handing over (and reallocating) the output buffer each time.
    pub fn poll_transmit_into(&mut self, buf: &mut [u8]) -> usize {
        let n = self.pending_transmit().len().min(buf.len());
        buf[..n].copy_from_slice(&self.out[..n]);
        self.consume_transmit(n);
        n
    }

    /// The bytes to send, without taking them: pair with [`Connection::consume_transmit`].
    #[must_use]
    pub fn pending_transmit(&self) -> &[u8] {
        &self.out
    }

    /// Marks the first `n` bytes of [`Connection::pending_transmit`] as sent (the buffer keeps its capacity).
    pub fn consume_transmit(&mut self, n: usize) {
        if n >= self.out.len() {
            self.out.clear();
        } else {
            self.out.drain(..n);
        }
    }

    /// The next event.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front().or_else(|| self.session.poll_event())
    }

    /// When to call [`Connection::handle_timeout`].
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        self.session.poll_timeout()
    }

    // ----- internals -----

    /// Reports a finished handshake once: to the caller, and to the session if STARTTLS is waiting for it.
    fn after_tls_progress(&mut self, now: Timestamp) {
        let done = self.tls.as_ref().is_some_and(|tls| !tls.is_handshaking());
        if done && !self.handshake_reported {
            self.handshake_reported = true;
            self.events.push_back(Event::TlsEstablished);
            self.session.handle_tls_established(now);
        }
    }

    /// Moves the session's output through TLS (if any) into `out`, and starts TLS when STARTTLS asks for it.
    fn flush(&mut self, now: Timestamp) {
        loop {
            if self.session.poll_start_tls() {
                match self.connector.connect(&self.session.config().server_name, now) {
                    Ok(layer) => {
                        self.tls = Some(layer);
                        self.handshake_reported = false;
                    }
                    Err(Error::Tls(error)) => self.session.handle_tls_failed(error),
                    Err(other) => self.session.handle_tls_failed(crate::error::TlsError {
                        kind: crate::error::TlsErrorKind::Other,
                        message: other.to_string(),
                    }),
                }
            }
            // Borrowed, not taken: the session's buffer keeps its capacity (no new buffer per slice of content).
            let bytes = self.session.pending_transmit();
            if bytes.is_empty() {
                break;
            }
            let result = match self.tls.as_mut() {
                Some(tls) => tls.write_plaintext(bytes),
                None => {
                    self.out.extend_from_slice(bytes);
                    Ok(())
                }
            };
            self.session.consume_transmit();
            if let Err(error) = result {
                self.session.handle_tls_failed(error);
            }
        }
        if let Some(tls) = self.tls.as_mut() {
            if self.session.is_closed() && !self.close_notify_sent {
                // QUIT answered, or the session ended: tell the peer TLS is closing (it also guards against
                // truncation on their side).
                self.close_notify_sent = true;
                tls.send_close_notify();
            }
            tls.poll_ciphertext(&mut self.out);
        }
    }
}
