//! The SMTP/LMTP server session: every state transition of the server side of RFC 5321 (and LMTP, RFC 2033) in one
//! place, with no I/O.
//!
//! # Driving a session
//! Create it with [`ServerSession::new`]; it queues the `220` greeting. Feed what the client sends with
//! [`ServerSession::handle_input`] ([`ServerSession::handle_eof`] when it closes), and after **every** call drain, in
//! this order: [`ServerSession::poll_transmit`] (bytes to write), [`ServerSession::poll_event`] (what happened, and
//! the decisions the session waits for), [`ServerSession::poll_start_tls`], [`ServerSession::poll_timeout`] (when to
//! call [`ServerSession::handle_timeout`]).
//!
//! Events that carry a [`RequestId`] are decisions: HELO/EHLO/LHLO, AUTH credentials, MAIL, RCPT, the end of a
//! message, XCLIENT. The session reads no further command until the application answers with
//! [`ServerSession::answer`] (or [`ServerSession::accept`] / [`ServerSession::reject`], or
//! [`ServerSession::answer_lmtp`]), so replies always leave in command order; the replies to a pipelined group are
//! held and leave together once nothing is pending and the input is drained (as Postfix flushes).
//!
//! Message content comes as [`ServerEvent::Content`] chunks; the session stops reading once `content_window` bytes
//! are out and not confirmed with [`ServerSession::content_read`] ([`ServerSession::wants_input`] turns false: stop
//! reading the socket), so it never holds a whole message.
//!
//! At STARTTLS the session queues `220 2.0.0 Ready to start TLS`, drops whatever the client pipelined after the
//! command (CVE-2011-0411), and [`ServerSession::poll_start_tls`] turns true: write the transmit bytes, run the
//! handshake, then call [`ServerSession::handle_tls_established`]; the client must say EHLO again.
//!
//! # Example
//! ```
//! use smtp_wasm::{Decision, PeerInfo, ServerConfig, ServerEvent, ServerSession, Timestamp};
//!
//! let now = Timestamp::from_unix_millis(1_700_000_000_000);
//! let mut session = ServerSession::new(ServerConfig::new("mx.example.org"), PeerInfo::default(), now)?;
//! let mut wire = Vec::new();
//! let mut message = Vec::new();
//! let client = b"EHLO client.example\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.org>\r\nDATA\r\n\
//!                Subject: hi\r\n\r\n..dot-stuffed\r\n.\r\nQUIT\r\n";
//! session.handle_input(client, now);
//! loop {
//!     while let Some(bytes) = session.poll_transmit() {
//!         wire.extend_from_slice(&bytes); // write these to the socket
//!     }
//!     let Some(event) = session.poll_event() else { break };
//!     match event {
//!         ServerEvent::Content(chunk) => {
//!             message.extend_from_slice(&chunk);
//!             session.content_read(chunk.len(), now);
//!         }
//!         // Hello, Mail, Rcpt, MessageEnd: this application accepts everything.
//!         other => {
//!             if let Some(id) = other.request_id() {
//!                 session.answer(id, Decision::Accept, now)?;
//!             }
//!         }
//!     }
//! }
//! assert_eq!(message, b"Subject: hi\r\n\r\n.dot-stuffed\r\n");
//! let wire = String::from_utf8(wire).unwrap();
//! assert!(wire.starts_with("220 mx.example.org ESMTP Service Ready\r\n250-mx.example.org Hello client.example"));
//! assert!(wire.ends_with("250 2.0.0 OK: queued\r\n221 2.0.0 Bye\r\n"));
//! assert!(session.is_closed());
//! # Ok::<(), smtp_wasm::Error>(())
//! ```

mod config;
pub mod connection;
mod event;

use std::collections::VecDeque;
use std::net::IpAddr;
use std::sync::Arc;

use base64ct::{Base64, Encoding as _};

pub use config::{PeerInfo, ServerConfig};
pub use connection::ServerConnection;
pub use event::{
    CloseReason, Decision, HelloKind, MessageAbort, RequestId, ServerEvent, ServerTranscriptLine,
    XclientAttribute,
};

use crate::codec::command::{
    parse_auth, parse_bdat, parse_command, parse_hello, parse_path, scan_line, LineScan, PathKind, Verb,
};
use crate::codec::content::{BareLf, ChunkReader, DataDecoder};
use crate::codec::params::{parse_mail_params, parse_rcpt_params, MailBody, Offered};
use crate::codec::reply_writer::ServerReply;
use crate::codec::xtext::decode_xtext;
use crate::error::Error;
use crate::reply::EnhancedCode;
use crate::sasl::server::{SaslFailure, SaslServer, SaslServerStep, MAX_RESPONSE};
use crate::sasl::{Credentials, Mechanism};
use crate::time::Timestamp;
pub(crate) use config::Cidr;

const fn e(class: u8, subject: u16, detail: u16) -> EnhancedCode {
    EnhancedCode::new(class, subject, detail)
}

/// Input held while the session cannot go on (a decision pending, content backpressure), beyond which the driver
/// is ignoring [`ServerSession::wants_input`].
const MIN_INPUT_LIMIT: usize = 1024 * 1024;
/// Replies waiting to be written beyond which the session reads no further command until `poll_transmit` takes
/// them (a flood of pipelined NOOPs must not turn into megabytes of replies in memory).
const OUTPUT_LIMIT: usize = 64 * 1024;
/// Buffers larger than this are given back once empty.
const IDLE_CAPACITY: usize = 4096;

/// An open mail transaction.
#[derive(Debug, Clone)]
struct Transaction {
    utf8: bool,
    binarymime: bool,
    recipients: Vec<String>,
    /// BDAT chunks have started a message.
    bdat_started: bool,
    /// Content bytes so far (BDAT: across chunks).
    size: u64,
}

/// What the session is reading.
#[derive(Debug)]
enum Mode {
    Command,
    /// An AUTH exchange waits for the client's next line.
    Auth(SaslServer),
    /// DATA content, until CRLF.CRLF.
    Data {
        decoder: DataDecoder,
        /// Content is no longer handed out (too big, or bare LF refused); it is read to its end.
        discarding: bool,
    },
    /// A BDAT chunk: exactly its bytes.
    Bdat {
        reader: ChunkReader,
        last: bool,
        /// The chunk was refused: its bytes are consumed and dropped.
        discarding: bool,
    },
    /// After STARTTLS's 220, until the handshake is done.
    AwaitingTls,
    Closed,
}

/// The decision being waited for.
#[derive(Debug, Clone)]
enum Pending {
    Hello {
        kind: HelloKind,
        name: String,
    },
    Auth {
        username: String,
    },
    Mail {
        utf8: bool,
        binarymime: bool,
    },
    Rcpt {
        to: String,
    },
    MessageEnd,
    Xclient {
        attributes: Vec<(XclientAttribute, Option<String>)>,
    },
}

/// The server side of one SMTP or LMTP connection, with no I/O (see the module documentation).
#[derive(Debug)]
pub struct ServerSession {
    config: Arc<ServerConfig>,
    secure_nets: Vec<Cidr>,
    peer: PeerInfo,
    original_peer: PeerInfo,
    tls: bool,
    hello: Option<String>,
    authenticated: Option<String>,
    transaction: Option<Transaction>,
    mode: Mode,
    pending: Option<(RequestId, Pending)>,
    next_id: u64,
    input: Vec<u8>,
    /// Discarding the rest of an over-long line.
    skipping_line: bool,
    /// NOOP/VRFY/HELP/RSET since the last accepted message, and RCPTs over the limit in this transaction.
    junk_commands: u32,
    recipient_overshoot: u32,
    /// The last command was an AUTH that did not start an exchange (refused, or not offered): a client that sends
    /// its credentials anyway sends them as the next line, which must not reach the transcript.
    after_refused_auth: bool,
    /// Command and AUTH lines completed so far (a completed line restarts the read timeout).
    lines_read: u64,
    /// Replies not yet released (held while a decision is pending).
    held: Vec<u8>,
    transmit: Vec<u8>,
    transmitted_any: bool,
    events: VecDeque<ServerEvent>,
    errors: u32,
    start_tls: bool,
    /// Content handed out and not yet confirmed.
    outstanding: usize,
    /// The application refused the message being received ([`ServerSession::refuse_message`]).
    message_refusal: Option<ServerReply>,
    last_activity: Timestamp,
}

impl ServerSession {
    /// A session for a new connection from `peer`; queues the `220` greeting.
    ///
    /// Fails (with [`Error::Usage`]) only for a configuration that cannot work: an invalid `secure_nets` entry, an
    /// empty domain, or a domain with spaces or control characters.
    ///
    /// `config` may be a `ServerConfig` or an `Arc<ServerConfig>` shared by every connection of a server (one copy
    /// in memory however many connections are open).
    pub fn new(config: impl Into<Arc<ServerConfig>>, peer: PeerInfo, now: Timestamp) -> Result<Self, Error> {
        let config = config.into();
        if config.domain.is_empty() || config.domain.chars().any(|c| c.is_control() || c == ' ') {
            return Err(Error::Usage(format!("invalid server domain {:?}", config.domain)));
        }
        let secure_nets = config
            .secure_nets
            .iter()
            .map(|cidr| Cidr::parse(cidr))
            .collect::<Result<Vec<_>, _>>()?;
        let mut session = ServerSession {
            secure_nets,
            tls: peer.tls,
            original_peer: peer.clone(),
            peer,
            hello: None,
            authenticated: None,
            transaction: None,
            mode: Mode::Command,
            pending: None,
            next_id: 0,
            input: Vec::new(),
            skipping_line: false,
            after_refused_auth: false,
            junk_commands: 0,
            recipient_overshoot: 0,
            lines_read: 0,
            held: Vec::new(),
            transmit: Vec::new(),
            transmitted_any: false,
            events: VecDeque::new(),
            errors: 0,
            start_tls: false,
            outstanding: 0,
            message_refusal: None,
            last_activity: now,
            config,
        };
        session.greet();
        session.release();
        Ok(session)
    }

    // ----- getters -----

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &ServerConfig {
        &self.config
    }

    /// The peer as the session sees it now (after XCLIENT: the asserted values).
    #[must_use]
    pub fn peer(&self) -> &PeerInfo {
        &self.peer
    }

    /// The peer as the connection started (before any XCLIENT).
    #[must_use]
    pub fn original_peer(&self) -> &PeerInfo {
        &self.original_peer
    }

    /// The connection is under TLS.
    #[must_use]
    pub fn is_tls(&self) -> bool {
        self.tls
    }

    /// The client's accepted HELO/EHLO/LHLO name.
    #[must_use]
    pub fn hello_name(&self) -> Option<&str> {
        self.hello.as_deref()
    }

    /// The authenticated user (AUTH, or XCLIENT `LOGIN`).
    #[must_use]
    pub fn authenticated(&self) -> Option<&str> {
        self.authenticated.as_deref()
    }

    /// The session is over (after [`ServerEvent::Closed`]); write what `poll_transmit` still gives, then close.
    #[must_use]
    pub fn is_closed(&self) -> bool {
        matches!(self.mode, Mode::Closed)
    }

    /// Whether the driver should read more from the client: false while a decision is pending, while content
    /// backpressure holds, while 64 KiB of replies wait for `poll_transmit`, while the TLS handshake is due, and
    /// after the end. Input fed anyway is buffered up to a bound (then `421 4.7.0` and close).
    #[must_use]
    pub fn wants_input(&self) -> bool {
        !(self.pending.is_some()
            || self.backpressured()
            || self.output_full()
            || matches!(self.mode, Mode::Closed | Mode::AwaitingTls))
    }

    // ----- inputs -----

    /// Bytes from the client (plaintext: under TLS, what the TLS layer decrypted).
    pub fn handle_input(&mut self, bytes: &[u8], now: Timestamp) {
        match self.mode {
            Mode::Closed => return,
            // The handshake's bytes are the layer below's; anything that still reaches the session is dropped.
            Mode::AwaitingTls => return,
            _ => {}
        }
        if bytes.is_empty() {
            return;
        }
        // A command line (or AUTH response) must arrive whole within the read timeout of its first byte (go-smtp's
        // per-line read deadline, Postfix's smtpd_per_request_deadline): bytes that only extend an unfinished line,
        // or an over-long one being skipped, do not restart the clock, so a client trickling a byte a second is cut
        // off. Message content restarts it with every read (a big message on a slow link is not a stuck client).
        let mid_line = matches!(self.mode, Mode::Command | Mode::Auth(_))
            && (!self.input.is_empty() || self.skipping_line);
        let lines = self.lines_read;
        if !mid_line {
            self.last_activity = now;
        }
        self.input.extend_from_slice(bytes);
        self.process();
        if self.lines_read != lines || !matches!(self.mode, Mode::Command | Mode::Auth(_)) {
            self.last_activity = now;
        }
        let limit = MIN_INPUT_LIMIT
            .max(self.config.content_window.saturating_mul(4))
            .max(self.config.max_line_length.saturating_mul(4));
        // Idle connections keep no big buffers (a server holds many of them).
        if self.input.is_empty() && self.input.capacity() > 0 {
            self.input = Vec::new();
        }
        if self.input.len() > limit {
            self.input.clear();
            self.abort_message(MessageAbort::Shutdown);
            self.send(&ServerReply::fixed(
                421,
                e(4, 7, 0),
                "Error: too much pipelined input",
            ));
            self.close(CloseReason::InputOverflow);
        }
        self.release();
    }

    /// The client closed its side (or the connection failed).
    pub fn handle_eof(&mut self, _now: Timestamp) {
        if self.is_closed() {
            return;
        }
        self.abort_message(MessageAbort::PeerClosed);
        self.close(CloseReason::PeerClosed);
        self.release();
    }

    /// The timer from [`ServerSession::poll_timeout`] fired (or any time; early calls do nothing).
    pub fn handle_timeout(&mut self, now: Timestamp) {
        let Some(deadline) = self.poll_timeout() else {
            return;
        };
        if now < deadline {
            return;
        }
        self.abort_message(MessageAbort::Timeout);
        if !matches!(self.mode, Mode::AwaitingTls) {
            let text = format!("{} Error: timeout exceeded", self.config.domain);
            self.send(&ServerReply::new(421, e(4, 4, 2), &text));
        }
        self.close(CloseReason::Timeout);
        self.release();
    }

    /// The TLS handshake after STARTTLS completed: the session is under TLS, and the hello, AUTH and transaction
    /// state from before are forgotten (RFC 3207 section 4.2); the client must send EHLO again.
    pub fn handle_tls_established(&mut self, now: Timestamp) {
        if !matches!(self.mode, Mode::AwaitingTls) {
            return;
        }
        self.tls = true;
        self.peer.tls = true;
        self.hello = None;
        self.authenticated = None;
        self.mode = Mode::Command;
        self.input.clear();
        self.last_activity = now;
        self.release();
    }

    /// The TLS handshake failed: the session closes without another word (nothing can be written in cleartext once
    /// the handshake began), with [`CloseReason::TlsFailed`].
    pub fn handle_tls_failed(&mut self, _now: Timestamp) {
        if self.is_closed() {
            return;
        }
        self.abort_message(MessageAbort::PeerClosed);
        self.close(CloseReason::TlsFailed);
        self.release();
    }

    /// Closes the session on the server's initiative: `421 4.3.2 <domain> Service shutting down` (replacing the
    /// greeting if it has not been sent yet: go-smtp's `Reject`), then [`ServerEvent::Closed`].
    pub fn shutdown(&mut self, now: Timestamp) {
        let text = format!("{} Service shutting down", self.config.domain);
        self.shutdown_with(ServerReply::new(421, e(4, 3, 2), &text), now);
    }

    /// [`ServerSession::shutdown`] with the application's own reply (go-smtp's `Reject` says
    /// `421 4.7.0 Too busy. Try again later.`; a rate limiter may say why).
    pub fn shutdown_with(&mut self, reply: ServerReply, _now: Timestamp) {
        if self.is_closed() {
            return;
        }
        if !self.transmitted_any {
            self.transmit.clear();
            self.held.clear();
        }
        self.abort_message(MessageAbort::Shutdown);
        self.pending = None;
        if !matches!(self.mode, Mode::AwaitingTls) {
            self.send(&reply);
        }
        self.close(CloseReason::Shutdown);
        self.release();
    }

    // ----- the application's answers -----

    /// Answers the decision `id` (see [`Decision`]).
    ///
    /// Errors: [`Error::Usage`] when `id` is not the decision being waited for (already answered, never asked, or
    /// the session closed meanwhile); nothing changes then.
    pub fn answer(&mut self, id: RequestId, decision: Decision, now: Timestamp) -> Result<(), Error> {
        let pending = self.take_pending(id)?;
        self.last_activity = now;
        match decision {
            Decision::Accept => self.accepted(pending, None),
            Decision::Reply(reply) if (200..300).contains(&reply.code()) => {
                self.accepted(pending, Some(reply))
            }
            Decision::Reply(reply) => self.refused(pending, reply),
        }
        self.process();
        self.release();
        Ok(())
    }

    /// Accepts the decision `id` (see [`ServerSession::answer`]).
    pub fn accept(&mut self, id: RequestId, now: Timestamp) -> Result<(), Error> {
        self.answer(id, Decision::Accept, now)
    }

    /// Refuses the decision `id` with `reply` (see [`ServerSession::answer`]).
    pub fn reject(&mut self, id: RequestId, reply: ServerReply, now: Timestamp) -> Result<(), Error> {
        self.answer(id, Decision::Reply(reply), now)
    }

    /// Answers an [`ServerEvent::LmtpMessageEnd`]: `per_recipient[i]` is the status of the `i`-th recipient (in the
    /// event's order); a missing or `None` entry gets `overall` (go-smtp's `StatusCollector` rule). Each reply names
    /// its recipient (`250 2.0.0 <bob@example.org> OK: queued`).
    pub fn answer_lmtp(
        &mut self,
        id: RequestId,
        overall: Decision,
        per_recipient: Vec<Option<Decision>>,
        now: Timestamp,
    ) -> Result<(), Error> {
        match &self.pending {
            Some((pending_id, Pending::MessageEnd)) if *pending_id == id && self.config.lmtp => {}
            _ => return self.answer(id, overall, now),
        }
        self.pending = None;
        self.last_activity = now;
        self.outstanding = 0;
        let recipients = self.transaction.take().map(|t| t.recipients).unwrap_or_default();
        let mut statuses = per_recipient.into_iter();
        for recipient in &recipients {
            let decision = statuses.next().flatten().unwrap_or_else(|| overall.clone());
            let reply = match decision {
                Decision::Accept => ServerReply::new(250, e(2, 0, 0), &format!("<{recipient}> OK: queued")),
                Decision::Reply(reply) => ServerReply::new(
                    reply.code(),
                    reply.enhanced_code(),
                    &format!("<{recipient}> {}", reply.text()),
                ),
            };
            self.send(&reply);
        }
        self.process();
        self.release();
        Ok(())
    }

    /// The application consumed `bytes` of [`ServerEvent::Content`]; reading resumes when enough is confirmed.
    pub fn content_read(&mut self, bytes: usize, now: Timestamp) {
        let was_blocked = self.backpressured();
        self.outstanding = self.outstanding.saturating_sub(bytes);
        if was_blocked && !self.backpressured() {
            self.last_activity = now;
            self.process();
            self.release();
        }
    }

    /// The application refuses the message being received, before its end (go-smtp: `Data` returning early). The
    /// rest of the message is still read (DATA: to the final dot; BDAT: to the end of the current chunk, or the
    /// next chunk is refused), then `reply` is sent (LMTP: once per recipient) and the transaction ends. No
    /// further [`ServerEvent::Content`] arrives for it.
    ///
    /// Errors: [`Error::Usage`] when no message is being received (before it starts, use the RCPT or DATA
    /// decisions; at its end, answer the `MessageEnd` event).
    pub fn refuse_message(&mut self, reply: ServerReply, now: Timestamp) -> Result<(), Error> {
        let between_chunks = matches!(self.mode, Mode::Command)
            && self.pending.is_none()
            && self.transaction.as_ref().is_some_and(|t| t.bdat_started);
        match &mut self.mode {
            Mode::Data { discarding, .. } | Mode::Bdat { discarding, .. } if !*discarding => {
                *discarding = true
            }
            _ if between_chunks => {}
            _ => return Err(Error::Usage("no message is being received".into())),
        }
        self.message_refusal = Some(reply);
        self.outstanding = 0;
        self.last_activity = now;
        self.process();
        self.release();
        Ok(())
    }

    // ----- outputs -----

    /// Bytes to write to the client, if any.
    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        if self.transmit.is_empty() {
            return None;
        }
        self.transmitted_any = true;
        let out = std::mem::take(&mut self.transmit);
        // Reading stopped at the output limit: go on now that the replies are taken.
        if !self.input.is_empty() {
            self.process();
            self.release();
        }
        Some(out)
    }

    /// The next event, if any.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<ServerEvent> {
        let event = self.events.pop_front();
        // Drained: give the queue back. An idle connection (thousands of them on a server) then holds no event
        // slots (four of them, the first growth, are ~0.5 kB in wasm32); a busy one allocates it once per input.
        if event.is_none() && self.events.capacity() > 0 {
            self.events = VecDeque::new();
        }
        event
    }

    /// True once after `220 2.0.0 Ready to start TLS` was queued: write the transmit bytes, then start the TLS
    /// handshake and call [`ServerSession::handle_tls_established`] when it completes.
    #[must_use]
    pub fn poll_start_tls(&mut self) -> bool {
        std::mem::take(&mut self.start_tls)
    }

    /// When [`ServerSession::handle_timeout`] must be called: the read timeout, counted from the last answer, the
    /// last completed command line or the first byte of the unfinished one, or (message content) the last input.
    /// `None` while the session waits on the application (a decision, content backpressure) or is closed.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        if self.is_closed() || self.pending.is_some() || self.backpressured() {
            return None;
        }
        self.config
            .read_timeout
            .map(|timeout| self.last_activity.saturating_add(timeout))
    }

    // ----- internals: output -----

    fn output_full(&self) -> bool {
        self.held.len() + self.transmit.len() >= OUTPUT_LIMIT
    }

    fn backpressured(&self) -> bool {
        matches!(
            self.mode,
            Mode::Data {
                discarding: false,
                ..
            } | Mode::Bdat {
                discarding: false,
                ..
            }
        ) && self.outstanding >= self.config.content_window.max(1)
    }

    fn send(&mut self, reply: &ServerReply) {
        let start = self.held.len();
        reply.write_to(&mut self.held);
        if self.config.transcript {
            let written = String::from_utf8_lossy(self.held.get(start..).unwrap_or_default()).into_owned();
            for line in written.split_terminator("\r\n") {
                self.transcript(false, line.to_string());
            }
        }
    }

    fn transcript(&mut self, from_client: bool, text: String) {
        if self.config.transcript {
            // A debug line must not carry terminal escapes or line breaks from the client.
            let text = if text.chars().any(char::is_control) {
                text.chars()
                    .map(|c| if c.is_control() { '\u{fffd}' } else { c })
                    .collect()
            } else {
                text
            };
            self.events
                .push_back(ServerEvent::Transcript(ServerTranscriptLine {
                    from_client,
                    text,
                }));
        }
    }

    /// Releases held replies when no decision is pending (everything else the session could do is done).
    fn release(&mut self) {
        if self.pending.is_none() || self.is_closed() {
            if self.transmit.is_empty() {
                // Hand the buffer over rather than copy it.
                std::mem::swap(&mut self.transmit, &mut self.held);
            } else {
                self.transmit.append(&mut self.held);
            }
            if self.held.capacity() > IDLE_CAPACITY {
                self.held = Vec::new();
            }
        }
    }

    fn greet(&mut self) {
        let protocol = if self.config.lmtp { "LMTP" } else { "ESMTP" };
        let text = format!("{} {protocol} Service Ready", self.config.domain);
        self.send(&ServerReply::plain(220, &text));
    }

    fn close(&mut self, reason: CloseReason) {
        if self.is_closed() {
            return;
        }
        self.mode = Mode::Closed;
        self.pending = None;
        self.input.clear();
        self.events.push_back(ServerEvent::Closed { reason });
    }

    fn next_id(&mut self) -> RequestId {
        self.next_id += 1;
        RequestId(self.next_id)
    }

    fn wait(&mut self, pending: Pending, event: impl FnOnce(RequestId) -> ServerEvent) {
        let id = self.next_id();
        self.pending = Some((id, pending));
        self.events.push_back(event(id));
    }

    /// A reply to a command that does nothing (Postfix's junk commands): past the limit, also an error.
    fn junk(&mut self, reply: ServerReply) {
        self.junk_commands = self.junk_commands.saturating_add(1);
        let limit = self.config.junk_command_limit;
        if limit > 0 && self.junk_commands > limit {
            self.error(reply);
        } else {
            self.send(&reply);
        }
    }

    fn error(&mut self, reply: ServerReply) {
        self.send(&reply);
        self.errors = self.errors.saturating_add(1);
        if self.errors > self.config.max_errors {
            self.send(&ServerReply::fixed(
                500,
                e(5, 5, 1),
                "Too many errors. Quiting now",
            ));
            self.close(CloseReason::TooManyErrors);
        }
    }

    /// Ends a message that is being received (if any) with `reason`.
    fn abort_message(&mut self, reason: MessageAbort) {
        let in_message = match &self.mode {
            Mode::Data { discarding, .. } => !discarding,
            Mode::Bdat { .. } => self.transaction.as_ref().is_some_and(|t| t.bdat_started),
            _ => self.transaction.as_ref().is_some_and(|t| t.bdat_started),
        } || matches!(self.pending, Some((_, Pending::MessageEnd)));
        if in_message {
            self.events.push_back(ServerEvent::MessageAborted { reason });
            if let Some(transaction) = &mut self.transaction {
                transaction.bdat_started = false;
            }
        }
    }

    /// Forgets the transaction (RSET semantics), telling the application.
    fn reset_transaction(&mut self) {
        self.recipient_overshoot = 0;
        self.abort_message(MessageAbort::Reset);
        self.transaction = None;
        self.message_refusal = None;
        self.outstanding = 0;
        self.events.push_back(ServerEvent::Reset);
    }

    // ----- internals: input -----

    /// Reads as far as the input, the pending decision and backpressure allow.
    fn process(&mut self) {
        loop {
            if self.pending.is_some() || self.output_full() {
                return;
            }
            let progressed = match &self.mode {
                Mode::Closed | Mode::AwaitingTls => return,
                Mode::Command | Mode::Auth(_) => self.read_line(),
                Mode::Data { .. } => self.read_data(),
                Mode::Bdat { .. } => self.read_chunk(),
            };
            if !progressed {
                return;
            }
        }
    }

    /// Takes one line; false when none is complete.
    fn read_line(&mut self) -> bool {
        let limit = match self.mode {
            Mode::Auth(_) => MAX_RESPONSE + 2,
            _ if starts_with_ignore_case(&self.input, b"AUTH ") => {
                self.config.max_line_length.max(MAX_RESPONSE + 16)
            }
            _ => self.config.max_line_length,
        };
        match scan_line(&self.input, limit) {
            LineScan::Incomplete => false,
            LineScan::TooLong { discard, finished } => {
                self.input.drain(..discard.min(self.input.len()));
                if !self.skipping_line {
                    self.mode = Mode::Command;
                    self.error(ServerReply::fixed(500, e(5, 4, 0), "Error: line too long"));
                }
                self.skipping_line = !finished;
                if finished {
                    // Its end arrived: a completed line as far as the read timeout goes.
                    self.lines_read = self.lines_read.wrapping_add(1);
                }
                true
            }
            LineScan::Line {
                len,
                content,
                bare_lf,
            } => {
                let line: Vec<u8> = self
                    .input
                    .drain(..len.min(self.input.len()))
                    .take(content)
                    .collect();
                self.lines_read = self.lines_read.wrapping_add(1);
                if std::mem::take(&mut self.skipping_line) {
                    // The end of an over-long line: never a command.
                    return true;
                }
                if bare_lf && self.config.bare_lf == BareLf::Reject {
                    self.mode = Mode::Command;
                    self.error(ServerReply::fixed(550, e(5, 5, 2), "Error: bare <LF> received"));
                    return true;
                }
                if let Mode::Auth(_) = self.mode {
                    self.auth_line(&line);
                } else {
                    self.command(&line);
                }
                true
            }
        }
    }

    fn command(&mut self, line: &[u8]) {
        let parsed = parse_command(line);
        let maybe_credentials = std::mem::take(&mut self.after_refused_auth) && parsed.verb.is_none();
        let text = if starts_with_ignore_case(line, b"AUTH") {
            redacted_auth_line(line)
        } else if maybe_credentials {
            "<redacted>".into()
        } else {
            String::from_utf8_lossy(line).into_owned()
        };
        self.transcript(true, text);
        let args = parsed.args;
        match parsed.verb {
            None if line.is_empty() => self.error(ServerReply::fixed(500, e(5, 5, 2), "Error: bad syntax")),
            // Not echoed either: the reply is in the transcript too.
            None if maybe_credentials => {
                self.error(ServerReply::fixed(500, e(5, 5, 2), "Error: command unrecognized"))
            }
            None => {
                let text = format!("Syntax errors, {} command unrecognized", parsed.name);
                self.error(ServerReply::new(500, e(5, 5, 2), &text));
            }
            Some(Verb::Helo) => self.hello(HelloKind::Helo, args),
            Some(Verb::Ehlo) => self.hello(HelloKind::Ehlo, args),
            Some(Verb::Lhlo) => self.hello(HelloKind::Lhlo, args),
            Some(Verb::Mail) => self.mail(args),
            Some(Verb::Rcpt) => self.rcpt(args),
            Some(Verb::Data) => self.data(args),
            Some(Verb::Bdat) => self.bdat(args),
            Some(Verb::Rset) => {
                self.reset_transaction();
                self.junk(ServerReply::fixed(250, e(2, 0, 0), "Session reset"));
            }
            Some(Verb::Noop) => self.junk(ServerReply::fixed(
                250,
                e(2, 0, 0),
                "I have successfully done nothing",
            )),
            Some(Verb::Vrfy) => self.junk(ServerReply::fixed(
                252,
                e(2, 5, 0),
                "Cannot VRFY user, but will accept message",
            )),
            Some(Verb::Help) => self.junk(ServerReply::fixed(
                214,
                e(2, 0, 0),
                "Commands: HELO EHLO MAIL RCPT DATA BDAT RSET NOOP VRFY QUIT AUTH STARTTLS",
            )),
            Some(Verb::Quit) => {
                self.send(&ServerReply::fixed(221, e(2, 0, 0), "Bye"));
                self.abort_message(MessageAbort::PeerClosed);
                self.events.push_back(ServerEvent::Quit);
                self.close(CloseReason::Quit);
            }
            Some(Verb::StartTls) => self.starttls(args),
            Some(Verb::Auth) => {
                self.auth(args);
                self.after_refused_auth = !matches!(self.mode, Mode::Auth(_)) && self.pending.is_none();
            }
            Some(Verb::Xclient) => self.xclient(args),
            Some(Verb::NotImplemented) => {
                let text = format!("{} command not implemented", parsed.name);
                self.send(&ServerReply::new(502, e(5, 5, 1), &text));
            }
        }
    }

    fn hello(&mut self, kind: HelloKind, args: &[u8]) {
        if self.config.lmtp && kind != HelloKind::Lhlo {
            return self.send(&ServerReply::fixed(
                500,
                e(5, 5, 1),
                "This is a LMTP server, use LHLO",
            ));
        }
        if !self.config.lmtp && kind == HelloKind::Lhlo {
            return self.send(&ServerReply::fixed(500, e(5, 5, 1), "This is not a LMTP server"));
        }
        let name = match parse_hello(args) {
            Ok(name) => name,
            Err(reply) => return self.send(&reply),
        };
        // RFC 5321 section 4.1.4: a later EHLO resets the state exactly as RSET does.
        if self.hello.is_some() || self.transaction.is_some() {
            self.reset_transaction();
        }
        let event_name = name.clone();
        self.wait(Pending::Hello { kind, name }, |id| ServerEvent::Hello {
            id,
            kind,
            name: event_name,
        });
    }

    /// AUTH may be offered and used: not disabled, some mechanism, and TLS or permission for cleartext.
    fn auth_allowed(&self) -> bool {
        !self.config.auth_disabled
            && !self.mechanisms().is_empty()
            && (self.tls || self.config.allow_insecure_auth || self.in_secure_net())
    }

    fn in_secure_net(&self) -> bool {
        let ip: Option<IpAddr> = self.peer.remote_ip;
        ip.is_some_and(|ip| self.secure_nets.iter().any(|net| net.contains(ip)))
    }

    fn mechanisms(&self) -> Vec<Mechanism> {
        let mut out: Vec<Mechanism> = Vec::new();
        for &m in &self.config.auth_mechanisms {
            if SaslServer::supports(m) && !out.contains(&m) {
                out.push(m);
            }
        }
        out
    }

    fn offered(&self) -> Offered {
        Offered {
            max_size: self.config.max_message_bytes,
            smtputf8: self.config.enable_smtputf8,
            requiretls: self.config.enable_requiretls && self.tls,
            binarymime: self.config.enable_binarymime,
            dsn: self.config.enable_dsn,
            rrvs: self.config.enable_rrvs,
            deliver_by: self.config.enable_deliver_by,
            min_deliver_by: u32::try_from(self.config.minimum_deliver_by_time.as_secs()).unwrap_or(u32::MAX),
            mt_priority: self.config.enable_mt_priority,
        }
    }

    fn ehlo_reply(&self, name: &str) -> ServerReply {
        let mut lines = vec![format!("{} Hello {name}", self.config.domain)];
        for keyword in ["PIPELINING", "8BITMIME", "ENHANCEDSTATUSCODES", "CHUNKING"] {
            lines.push(keyword.to_string());
        }
        if self.config.tls_available && !self.tls {
            lines.push("STARTTLS".into());
        }
        if self.auth_allowed() && self.authenticated.is_none() {
            let names: Vec<&str> = self.mechanisms().into_iter().map(Mechanism::name).collect();
            lines.push(format!("AUTH {}", names.join(" ")));
        }
        let offered = self.offered();
        if offered.smtputf8 {
            lines.push("SMTPUTF8".into());
        }
        if offered.requiretls {
            lines.push("REQUIRETLS".into());
        }
        if offered.binarymime {
            lines.push("BINARYMIME".into());
        }
        if offered.dsn {
            lines.push("DSN".into());
        }
        lines.push(match self.config.max_message_bytes {
            0 => "SIZE".into(),
            n => format!("SIZE {n}"),
        });
        if self.config.max_recipients > 0 {
            lines.push(format!("LIMITS RCPTMAX={}", self.config.max_recipients));
        }
        if offered.rrvs {
            lines.push("RRVS".into());
        }
        if offered.deliver_by {
            lines.push(match offered.min_deliver_by {
                0 => "DELIVERBY".into(),
                n => format!("DELIVERBY {n}"),
            });
        }
        if offered.mt_priority {
            lines.push(match self.config.mt_priority_profile {
                None => "MT-PRIORITY".into(),
                Some(profile) => format!("MT-PRIORITY {}", profile.name()),
            });
        }
        if self.config.xclient_allowed {
            lines.push("XCLIENT ADDR PORT PROTO HELO LOGIN NAME DESTADDR DESTPORT".into());
        }
        ServerReply::plain(250, &lines.join("\n"))
    }

    fn need_hello(&mut self) -> bool {
        if self.hello.is_none() {
            self.send(&ServerReply::fixed(
                502,
                e(5, 5, 1),
                "Please introduce yourself first.",
            ));
            return true;
        }
        false
    }

    fn mail(&mut self, args: &[u8]) {
        if self.need_hello() {
            return;
        }
        if self.transaction.is_some() {
            return self.send(&ServerReply::fixed(503, e(5, 5, 1), "Error: nested MAIL command"));
        }
        let (from, params) = match parse_path(args, PathKind::From, self.config.strict) {
            Ok(parsed) => parsed,
            Err(reply) => return self.send(&reply),
        };
        let options = match parse_mail_params(params, self.offered()) {
            Ok(options) => options,
            Err(reply) => return self.send(&reply),
        };
        if !from.is_ascii() && !options.utf8 {
            return self.send(&non_ascii());
        }
        let pending = Pending::Mail {
            utf8: options.utf8,
            binarymime: options.body == Some(MailBody::BinaryMime),
        };
        self.wait(pending, |id| ServerEvent::Mail { id, from, options });
    }

    fn rcpt(&mut self, args: &[u8]) {
        let Some(transaction) = &self.transaction else {
            return self.send(&ServerReply::fixed(503, e(5, 5, 1), "Missing MAIL FROM command."));
        };
        if transaction.bdat_started {
            return self.send(&ServerReply::fixed(
                503,
                e(5, 5, 1),
                "RCPT not allowed during message transfer",
            ));
        }
        let utf8 = transaction.utf8;
        let count = transaction.recipients.len();
        let max = self.config.max_recipients;
        if max > 0 && count >= max {
            let text = format!("Maximum limit of {max} recipients reached");
            let reply = ServerReply::new(452, e(4, 5, 3), &text);
            self.recipient_overshoot = self.recipient_overshoot.saturating_add(1);
            let limit = self.config.recipient_overshoot_limit;
            return if limit > 0 && self.recipient_overshoot > limit {
                self.error(reply)
            } else {
                self.send(&reply)
            };
        }
        let (to, params) = match parse_path(args, PathKind::To, self.config.strict) {
            Ok(parsed) => parsed,
            Err(reply) => return self.send(&reply),
        };
        let options = match parse_rcpt_params(params, self.offered()) {
            Ok(options) => options,
            Err(reply) => return self.send(&reply),
        };
        if !to.is_ascii() && !utf8 {
            return self.send(&non_ascii());
        }
        let event_to = to.clone();
        self.wait(Pending::Rcpt { to }, |id| ServerEvent::Rcpt {
            id,
            to: event_to,
            options,
        });
    }

    /// The transaction is ready for content, or the reply that says why not.
    fn content_ready(&self) -> Result<(), ServerReply> {
        match &self.transaction {
            None => Err(ServerReply::fixed(503, e(5, 5, 1), "Missing MAIL FROM command.")),
            Some(t) if t.recipients.is_empty() => {
                Err(ServerReply::fixed(554, e(5, 5, 1), "Error: no valid recipients"))
            }
            Some(_) => Ok(()),
        }
    }

    fn data(&mut self, args: &[u8]) {
        if !args.is_empty() {
            return self.send(&ServerReply::fixed(
                501,
                e(5, 5, 4),
                "DATA command should not have any arguments",
            ));
        }
        if let Err(reply) = self.content_ready() {
            return self.send(&reply);
        }
        if let Some(t) = &self.transaction {
            if t.bdat_started {
                return self.send(&ServerReply::fixed(
                    503,
                    e(5, 5, 1),
                    "DATA not allowed during message transfer",
                ));
            }
            if t.binarymime {
                return self.send(&ServerReply::fixed(
                    503,
                    e(5, 5, 1),
                    "DATA not allowed for BINARYMIME messages",
                ));
            }
        }
        self.send(&ServerReply::plain(
            354,
            "Go ahead. End your data with <CR><LF>.<CR><LF>",
        ));
        self.mode = Mode::Data {
            decoder: DataDecoder::new(self.config.bare_lf),
            discarding: false,
        };
        self.outstanding = 0;
        self.events.push_back(ServerEvent::MessageStart { bdat: false });
    }

    fn bdat(&mut self, args: &[u8]) {
        let (size, last) = match parse_bdat(args) {
            Ok(parsed) => parsed,
            // Without a size the chunk cannot be skipped: what follows is read as commands (and fails as such).
            Err(reply) => return self.error(reply),
        };
        // From here on the chunk's bytes are consumed whatever the answer, so the stream never desynchronises.
        if let Some(reply) = self.message_refusal.take() {
            // The application refused the message between chunks: this chunk gets the refusal.
            self.send_refusal(&reply);
            self.mode = Mode::Bdat {
                reader: ChunkReader::new(size),
                last,
                discarding: true,
            };
            return;
        }
        let refusal = if let Err(reply) = self.content_ready() {
            Some(reply)
        } else {
            let received = self.transaction.as_ref().map_or(0, |t| t.size);
            let max = self.config.max_message_bytes;
            if max > 0 && received.saturating_add(size) > max {
                // go-smtp: the transaction ends.
                self.abort_message(MessageAbort::TooBig);
                self.transaction = None;
                Some(ServerReply::fixed(552, e(5, 3, 4), "Max message size exceeded"))
            } else {
                None
            }
        };
        if let Some(reply) = refusal {
            self.send(&reply);
            self.mode = Mode::Bdat {
                reader: ChunkReader::new(size),
                last,
                discarding: true,
            };
            return;
        }
        if let Some(t) = &mut self.transaction {
            if !t.bdat_started {
                t.bdat_started = true;
                self.outstanding = 0;
                self.events.push_back(ServerEvent::MessageStart { bdat: true });
            }
        }
        self.mode = Mode::Bdat {
            reader: ChunkReader::new(size),
            last,
            discarding: false,
        };
    }

    /// DATA content; false when nothing could be read.
    fn read_data(&mut self) -> bool {
        if self.input.is_empty() || self.backpressured() {
            return false;
        }
        let Mode::Data { decoder, discarding } = &mut self.mode else {
            return false;
        };
        let room = self.config.content_window.max(2).saturating_sub(self.outstanding);
        let take = if *discarding {
            self.input.len()
        } else {
            (room / 2).max(1).min(self.input.len())
        };
        let mut chunk = Vec::new();
        let decoded = decoder.decode(self.input.get(..take).unwrap_or_default(), &mut chunk);
        let bare_lf_refused = decoder.saw_bare_lf() && self.config.bare_lf == BareLf::Reject;
        self.input.drain(..decoded.consumed.min(self.input.len()));
        let size = self
            .transaction
            .as_ref()
            .map_or(0, |t| t.size)
            .saturating_add(chunk.len() as u64);
        if let Some(t) = &mut self.transaction {
            t.size = size;
        }
        let too_big = self.config.max_message_bytes > 0 && size > self.config.max_message_bytes;
        if !*discarding && (too_big || bare_lf_refused) {
            *discarding = true;
            let reason = if too_big {
                MessageAbort::TooBig
            } else {
                MessageAbort::BareLf
            };
            self.events.push_back(ServerEvent::MessageAborted { reason });
        } else if !*discarding && !chunk.is_empty() {
            self.outstanding += chunk.len();
            self.events.push_back(ServerEvent::Content(chunk));
        }
        if decoded.end {
            let discarding = *discarding;
            self.mode = Mode::Command;
            self.end_of_message(discarding, too_big, size);
        }
        decoded.consumed > 0 || decoded.end
    }

    /// A BDAT chunk's bytes; false when nothing could be read.
    fn read_chunk(&mut self) -> bool {
        let Mode::Bdat {
            reader,
            last,
            discarding,
        } = &mut self.mode
        else {
            return false;
        };
        if reader.remaining() > 0 {
            if self.input.is_empty() {
                return false;
            }
            let room = if *discarding {
                usize::MAX
            } else {
                self.config.content_window.max(1).saturating_sub(self.outstanding)
            };
            if room == 0 {
                return false;
            }
            let chunk = reader.take(&self.input, room).to_vec();
            self.input.drain(..chunk.len().min(self.input.len()));
            if !*discarding && !chunk.is_empty() {
                self.outstanding += chunk.len();
                if let Some(t) = &mut self.transaction {
                    t.size = t.size.saturating_add(chunk.len() as u64);
                }
                self.events.push_back(ServerEvent::Content(chunk));
            }
            if reader.remaining() > 0 {
                return true;
            }
        }
        let (last, discarding) = (*last, *discarding);
        self.mode = Mode::Command;
        if discarding {
            // A refusal at the command was sent with it; one made during the chunk leaves now (go-smtp).
            if let Some(reply) = self.message_refusal.take() {
                self.send_refusal(&reply);
            }
            return true;
        }
        if last {
            let size = self.transaction.as_ref().map_or(0, |t| t.size);
            self.end_of_message(false, false, size);
        } else {
            self.send(&ServerReply::fixed(250, e(2, 0, 0), "Continue"));
        }
        true
    }

    fn end_of_message(&mut self, discarded: bool, too_big: bool, size: u64) {
        if discarded {
            self.outstanding = 0;
            if let Some(reply) = self.message_refusal.take() {
                return self.send_refusal(&reply);
            }
            self.transaction = None;
            return self.send(&if too_big {
                ServerReply::fixed(552, e(5, 3, 4), "Max message size exceeded")
            } else {
                ServerReply::fixed(550, e(5, 5, 2), "Error: bare <LF> received")
            });
        }
        if self.config.lmtp {
            let recipients = self
                .transaction
                .as_ref()
                .map(|t| t.recipients.clone())
                .unwrap_or_default();
            self.wait(Pending::MessageEnd, |id| ServerEvent::LmtpMessageEnd {
                id,
                size,
                recipients,
            });
        } else {
            self.wait(Pending::MessageEnd, |id| ServerEvent::MessageEnd { id, size });
        }
    }

    /// Sends a refusal of the whole message (LMTP: once per recipient, naming it) and ends the transaction.
    fn send_refusal(&mut self, reply: &ServerReply) {
        let recipients = self.transaction.take().map(|t| t.recipients).unwrap_or_default();
        if self.config.lmtp {
            for recipient in recipients {
                let text = format!("<{recipient}> {}", reply.text());
                self.send(&ServerReply::new(reply.code(), reply.enhanced_code(), &text));
            }
        } else {
            self.send(reply);
        }
    }

    fn starttls(&mut self, args: &[u8]) {
        if self.tls {
            return self.send(&ServerReply::fixed(502, e(5, 5, 1), "Already running in TLS"));
        }
        if !self.config.tls_available {
            return self.send(&ServerReply::fixed(502, e(5, 5, 1), "TLS not supported"));
        }
        if !args.is_empty() {
            return self.send(&ServerReply::fixed(
                501,
                e(5, 5, 4),
                "Syntax error (no parameters allowed)",
            ));
        }
        self.send(&ServerReply::fixed(220, e(2, 0, 0), "Ready to start TLS"));
        // CVE-2011-0411: whatever the client pipelined after STARTTLS was sent in cleartext; it is not a command.
        self.input.clear();
        if self.transaction.is_some() {
            self.reset_transaction();
        }
        self.mode = Mode::AwaitingTls;
        self.start_tls = true;
        self.events.push_back(ServerEvent::StartTls);
    }

    fn auth(&mut self, args: &[u8]) {
        if self.need_hello() {
            return;
        }
        if self.config.auth_disabled || self.mechanisms().is_empty() {
            return self.send(&ServerReply::fixed(
                502,
                e(5, 5, 1),
                "Authentication not supported",
            ));
        }
        if self.authenticated.is_some() {
            return self.send(&ServerReply::fixed(503, e(5, 5, 1), "Already authenticated"));
        }
        if self.transaction.is_some() {
            return self.send(&ServerReply::fixed(
                503,
                e(5, 5, 1),
                "AUTH not permitted during a mail transaction",
            ));
        }
        if !self.auth_allowed() {
            return self.send(&ServerReply::fixed(523, e(5, 7, 10), "TLS is required"));
        }
        let (name, initial) = match parse_auth(args) {
            Ok(parsed) => parsed,
            Err(reply) => return self.send(&reply),
        };
        let mechanism = Mechanism::from_name(&name).filter(|m| self.mechanisms().contains(m));
        let Some(mechanism) = mechanism else {
            return self.send(&ServerReply::fixed(
                504,
                e(5, 5, 4),
                "Unsupported authentication mechanism",
            ));
        };
        let (server, step) = SaslServer::start(mechanism, initial);
        self.sasl_step(server, step);
    }

    fn auth_line(&mut self, line: &[u8]) {
        self.transcript(true, "<redacted>".into());
        let Mode::Auth(mut server) = std::mem::replace(&mut self.mode, Mode::Command) else {
            return;
        };
        let step = server.respond(line);
        self.sasl_step(server, step);
    }

    fn sasl_step(&mut self, server: SaslServer, step: SaslServerStep) {
        match step {
            SaslServerStep::Challenge(challenge) => {
                self.send(&ServerReply::plain(334, &Base64::encode_string(&challenge)));
                self.mode = Mode::Auth(server);
            }
            SaslServerStep::Failed(SaslFailure::Cancelled) => {
                self.send(&ServerReply::fixed(501, e(5, 0, 0), "Negotiation cancelled"));
            }
            SaslServerStep::Failed(SaslFailure::Malformed) => {
                self.send(&ServerReply::fixed(
                    501,
                    e(5, 5, 2),
                    "Invalid base64 data or malformed credentials",
                ));
            }
            SaslServerStep::Done(credentials) => {
                let username = match &credentials {
                    Credentials::Password { username, .. } | Credentials::OAuth { username, .. } => {
                        username.clone()
                    }
                    // Never produced: SaslServer::supports refuses EXTERNAL before an exchange starts.
                    Credentials::External { identity } => identity.clone().unwrap_or_default(),
                };
                let mechanism = server.mechanism();
                self.wait(Pending::Auth { username }, |id| ServerEvent::Auth {
                    id,
                    mechanism,
                    credentials,
                });
            }
        }
    }

    fn xclient(&mut self, args: &[u8]) {
        if !self.config.xclient_allowed {
            return self.send(&ServerReply::fixed(
                550,
                e(5, 7, 0),
                "Error: insufficient authorization",
            ));
        }
        if self.transaction.is_some() {
            return self.send(&ServerReply::fixed(
                503,
                e(5, 5, 1),
                "Error: MAIL transaction in progress",
            ));
        }
        match parse_xclient(args) {
            Ok(attributes) => {
                let event_attributes = attributes.clone();
                self.wait(Pending::Xclient { attributes }, |id| ServerEvent::Xclient {
                    id,
                    attributes: event_attributes,
                });
            }
            Err(reply) => self.send(&reply),
        }
    }

    // ----- internals: decisions -----

    fn take_pending(&mut self, id: RequestId) -> Result<Pending, Error> {
        match self.pending.take() {
            Some((pending_id, pending)) if pending_id == id => Ok(pending),
            other => {
                self.pending = other;
                Err(Error::Usage(format!(
                    "no decision {} is pending (already answered, never asked, or the session closed)",
                    id.get()
                )))
            }
        }
    }

    /// The application accepted `pending` (`custom`: its own 2xx reply instead of the usual one).
    fn accepted(&mut self, pending: Pending, custom: Option<ServerReply>) {
        let reply = |code, enhanced, text: &str| {
            custom
                .clone()
                .unwrap_or_else(|| ServerReply::new(code, enhanced, text))
        };
        match pending {
            Pending::Hello { kind, name } => {
                self.hello = Some(name.clone());
                let reply = match kind {
                    HelloKind::Helo => reply(250, e(2, 0, 0), &format!("Hello {name}")),
                    HelloKind::Ehlo | HelloKind::Lhlo => self.ehlo_reply(&name),
                };
                self.send(&reply);
            }
            Pending::Auth { username } => {
                self.authenticated = Some(username);
                self.send(&reply(235, e(2, 0, 0), "Authentication succeeded"));
            }
            Pending::Mail { utf8, binarymime } => {
                self.recipient_overshoot = 0;
                self.transaction = Some(Transaction {
                    utf8,
                    binarymime,
                    recipients: Vec::new(),
                    bdat_started: false,
                    size: 0,
                });
                self.send(&reply(250, e(2, 0, 0), "OK"));
            }
            Pending::Rcpt { to } => {
                let text = format!("I'll make sure <{to}> gets this");
                if let Some(t) = &mut self.transaction {
                    t.recipients.push(to);
                }
                self.send(&reply(250, e(2, 0, 0), &text));
            }
            Pending::MessageEnd => {
                if self.config.lmtp {
                    // `answer` on an LMTP end: the same status for every recipient.
                    let recipients = self.transaction.take().map(|t| t.recipients).unwrap_or_default();
                    for recipient in recipients {
                        let text = match &custom {
                            Some(r) => format!("<{recipient}> {}", r.text()),
                            None => format!("<{recipient}> OK: queued"),
                        };
                        self.send(&ServerReply::new(250, e(2, 0, 0), &text));
                    }
                } else {
                    self.transaction = None;
                    self.send(&reply(250, e(2, 0, 0), "OK: queued"));
                }
                self.outstanding = 0;
                // Postfix forgives junk commands once a message went through.
                self.junk_commands = 0;
                self.recipient_overshoot = 0;
            }
            Pending::Xclient { attributes } => {
                self.apply_xclient(&attributes);
                self.greet();
            }
        }
    }

    /// The application refused `pending` with `reply`.
    fn refused(&mut self, pending: Pending, reply: ServerReply) {
        match pending {
            Pending::MessageEnd if self.config.lmtp => {
                let recipients = self.transaction.take().map(|t| t.recipients).unwrap_or_default();
                for recipient in recipients {
                    let text = format!("<{recipient}> {}", reply.text());
                    self.send(&ServerReply::new(reply.code(), reply.enhanced_code(), &text));
                }
                self.outstanding = 0;
            }
            Pending::MessageEnd => {
                self.transaction = None;
                self.outstanding = 0;
                self.send(&reply);
            }
            Pending::Hello { .. } | Pending::Auth { .. } | Pending::Mail { .. } | Pending::Rcpt { .. } => {
                self.send(&reply);
            }
            Pending::Xclient { .. } => self.send(&reply),
        }
    }

    /// XCLIENT accepted: the asserted values replace the peer's, and the session starts over (Postfix).
    fn apply_xclient(&mut self, attributes: &[(XclientAttribute, Option<String>)]) {
        if self.transaction.is_some() {
            self.reset_transaction();
        }
        self.hello = None;
        self.authenticated = None;
        for (attribute, value) in attributes {
            let value = value.clone();
            match attribute {
                XclientAttribute::Addr => self.peer.remote_ip = value.as_deref().and_then(parse_xclient_ip),
                XclientAttribute::Port => self.peer.remote_port = value.and_then(|v| v.parse().ok()),
                XclientAttribute::DestAddr => {
                    self.peer.local_ip = value.as_deref().and_then(parse_xclient_ip)
                }
                XclientAttribute::DestPort => self.peer.local_port = value.and_then(|v| v.parse().ok()),
                XclientAttribute::Proto => self.peer.proto = value,
                XclientAttribute::Helo => self.peer.helo = value,
                XclientAttribute::Name => self.peer.name = value,
                XclientAttribute::Login => {
                    self.authenticated.clone_from(&value);
                    self.peer.login = value;
                }
            }
        }
    }
}

/// RFC 6531 section 3.5: a non-ASCII address needs SMTPUTF8 on MAIL.
fn non_ascii() -> ServerReply {
    ServerReply::fixed(553, e(5, 6, 7), "Non-ASCII addresses require SMTPUTF8")
}

/// An AUTH line for the transcript: the mechanism only when it is one we know (PLAIN, LOGIN, ...), everything else
/// `<redacted>`, so a missing space (`AUTH PLAINAGFsaWNl...`), a tab, or a password typed where the mechanism goes
/// (`AUTH s3cr3t-pw`, which is shaped like an RFC 4422 name) never logs credentials.
fn redacted_auth_line(line: &[u8]) -> String {
    let rest = line.get(4..).unwrap_or_default();
    let Some(args) = rest.strip_prefix(b" ") else {
        return if rest.is_empty() {
            "AUTH".into()
        } else {
            "AUTH <redacted>".into()
        };
    };
    let mechanism = args.split(|&b| b == b' ').next().unwrap_or_default();
    let valid = std::str::from_utf8(mechanism).is_ok_and(|name| Mechanism::from_name(name).is_some());
    match (valid, args.len() > mechanism.len()) {
        (true, false) => format!("AUTH {}", String::from_utf8_lossy(mechanism)),
        (true, true) => format!("AUTH {} <redacted>", String::from_utf8_lossy(mechanism)),
        (false, _) => "AUTH <redacted>".into(),
    }
}

fn starts_with_ignore_case(bytes: &[u8], prefix: &[u8]) -> bool {
    bytes
        .get(..prefix.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
}

/// An XCLIENT address: IPv4, or IPv6 with Postfix's `IPV6:` prefix (plain IPv6 is accepted too).
fn parse_xclient_ip(value: &str) -> Option<IpAddr> {
    let value = if starts_with_ignore_case(value.as_bytes(), b"IPV6:") {
        value.get(5..)?
    } else {
        value
    };
    value.parse().ok()
}

/// `XCLIENT name=value ...` (Postfix XCLIENT_README): names case-insensitive, values xtext, `[UNAVAILABLE]` and
/// `[TEMPUNAVAIL]` for "not known".
fn parse_xclient(args: &[u8]) -> Result<Vec<(XclientAttribute, Option<String>)>, ServerReply> {
    let syntax = || ServerReply::fixed(501, e(5, 5, 4), "Syntax: XCLIENT attribute=value...");
    let mut attributes = Vec::new();
    for word in args.split(|&b| b == b' ').filter(|w| !w.is_empty()) {
        let word = std::str::from_utf8(word).map_err(|_| syntax())?;
        let (name, value) = word.split_once('=').ok_or_else(syntax)?;
        let attribute = XclientAttribute::from_name(name).ok_or_else(|| {
            let name: String = name.chars().take(32).filter(|c| !c.is_control()).collect();
            ServerReply::new(501, e(5, 5, 4), &format!("Bad XCLIENT attribute name: {name}"))
        })?;
        if attributes.len() >= 16 {
            return Err(syntax());
        }
        let value = if value.eq_ignore_ascii_case("[UNAVAILABLE]")
            || value.eq_ignore_ascii_case("[TEMPUNAVAIL]")
        {
            None
        } else {
            let bad = || {
                ServerReply::new(
                    501,
                    e(5, 5, 4),
                    &format!("Bad XCLIENT {} syntax", attribute.name()),
                )
            };
            // Decoded values must not smuggle line ends or other controls into logs and trace headers.
            let decoded = decode_xtext(value)
                .filter(|v| v.len() <= 255 && !v.chars().any(char::is_control))
                .ok_or_else(bad)?;
            let valid = match attribute {
                XclientAttribute::Addr | XclientAttribute::DestAddr => parse_xclient_ip(&decoded).is_some(),
                XclientAttribute::Port | XclientAttribute::DestPort => decoded.parse::<u16>().is_ok(),
                XclientAttribute::Proto => {
                    decoded.eq_ignore_ascii_case("SMTP") || decoded.eq_ignore_ascii_case("ESMTP")
                }
                _ => !decoded.is_empty(),
            };
            if !valid {
                return Err(bad());
            }
            Some(decoded)
        };
        attributes.push((attribute, value));
    }
    if attributes.is_empty() {
        return Err(syntax());
    }
    Ok(attributes)
}

#[cfg(test)]
mod tests {
    use super::redacted_auth_line;

    #[test]
    fn auth_lines_never_log_credentials() {
        for (line, shown) in [
            (&b"AUTH PLAIN AGFsaWNlAHNlY3JldA=="[..], "AUTH PLAIN <redacted>"),
            (b"auth login", "auth login"),
            (b"AUTH PLAINAGFsaWNlAHNlY3JldA==", "AUTH <redacted>"),
            (b"AUTH\tPLAIN AGFsaWNl", "AUTH <redacted>"),
            (b"AUTHPLAIN", "AUTH <redacted>"),
            (b"AUTH", "AUTH"),
            (b"AUTH  PLAIN x", "AUTH <redacted>"),
            // Found by fuzzing: a name-shaped token that is no mechanism may be a password.
            (b"AUTH FSTART-s3cr3t-pw", "AUTH <redacted>"),
            (b"AUTH FSTART-s3cr3t-pw AGFsaWNl", "AUTH <redacted>"),
            (b"AUTH xoauth2 dXNlcj1h", "AUTH XOAUTH2 <redacted>"),
        ] {
            let text = redacted_auth_line(line);
            assert_eq!(text.to_ascii_lowercase(), shown.to_ascii_lowercase(), "{line:?}");
        }
    }
}
