//! Fuzz target `session`: the input is a small program that drives a [`ClientSession`] (server bytes, commands,
//! end of file, time, TLS), and after every step the harness drains every poll and checks the session's promises.
//!
//! # Program format
//! `data[0]` and `data[1]` choose the configuration (see [`config_for`]); then each action is an opcode byte and three
//! operand bytes, some followed by raw bytes (see `Runner::step`). A program ends when its bytes run out or after [`MAX_ACTIONS`] actions.
//! Operands past the end of the input read as zero, so every byte string is a valid program.
//!
//! # Invariants (a broken one panics)
//! - The session never panics, whatever the server sends and whatever the caller calls.
//! - After [`Event::Closed`] nothing more is transmitted, every later command returns `Err`, there is no deadline,
//!   and every operation handed out before has completed.
//! - Each [`CommandId`] completes at most once, and only ids the session handed out complete or become body-ready.
//! - A command that returns `Err` wrote nothing and changed nothing a poll can see.
//! - A `send_mail` completes with `Ok` only as a [`Completion::Transaction`] with at least one accepted recipient,
//!   only if `finish_body` was called for it, not after `abort_body`, and only if server input arrived after the
//!   content was finished.
//! - Without `BODY=BINARYMIME`, the client's byte stream never contains a bare CR or LF.
//! - While an operation is unfinished there is a deadline (nothing hangs without a timer).
//! - A deadline from `poll_timeout` is honoured: `handle_timeout` at or after it ends the session, and before it does
//!   nothing.

use std::collections::HashMap;
use std::time::Duration;

use crate::client::{
    BodyType, ClientSession, CommandId, Completion, Direction, DsnReturn, Envelope, Event, MailOptions,
    Notify, RcptOptions, SessionConfig,
};
use crate::codec::reply_parser::ReplyLimits;
use crate::error::{Error, TlsError, TlsErrorKind};
use crate::sasl::{Credentials, Mechanism};
use crate::time::Timestamp;

/// The most actions one program runs (keeps every run short).
pub const MAX_ACTIONS: usize = 64;

/// Where the harness's clock starts.
const START: u64 = 1_700_000_000_000;

/// Canned server replies a program can send by index (arbitrary bytes rarely form a valid reply, these reach deep
/// states quickly). Indexes are stable: the seed corpus refers to them.
pub const SERVER_LINES: &[&[u8]] = &[
    /* 0 */ b"220 mx.example.org ESMTP ready\r\n",
    /* 1 */
    b"250-mx.example.org\r\n250-PIPELINING\r\n250-8BITMIME\r\n250-SIZE 1000000\r\n250-CHUNKING\r\n\
      250-BINARYMIME\r\n250-SMTPUTF8\r\n250-DSN\r\n250-REQUIRETLS\r\n250-STARTTLS\r\n250-ENHANCEDSTATUSCODES\r\n\
      250 AUTH PLAIN LOGIN CRAM-MD5 XOAUTH2 OAUTHBEARER\r\n",
    /* 2 */ b"250-mx.example.org\r\n250-PIPELINING\r\n250 8BITMIME\r\n",
    /* 3 */ b"250 2.0.0 OK\r\n",
    /* 4 */ b"354 End data with <CR><LF>.<CR><LF>\r\n",
    /* 5 */ b"221 2.0.0 Bye\r\n",
    /* 6 */ b"235 2.7.0 Authentication successful\r\n",
    /* 7 */ b"334 \r\n",
    /* 8 */ b"334 VXNlcm5hbWU6\r\n",
    /* 9 */ b"334 PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+\r\n",
    /* 10 */ b"220 2.0.0 Ready to start TLS\r\n",
    /* 11 */ b"421 4.3.2 Service shutting down\r\n",
    /* 12 */ b"450 4.2.1 Try again later\r\n",
    /* 13 */ b"550 5.1.1 No such user\r\n",
    /* 14 */ b"500 5.5.1 Command unrecognized\r\n",
    /* 15 */ b"502 5.5.1 Not implemented\r\n",
    /* 16 */ b"252 2.1.5 Cannot VRFY user\r\n",
    /* 17 */ b"554 5.7.1 No service here\r\n",
    /* 18 */ b"250-mx.example.org\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 CHUNKING\r\n",
    /* 19 */ b"250 mx.example.org\r\n",
    /* 20 */ b"334 this is not base64!\r\n",
    /* 21 */ b"250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n354 Go ahead\r\n",
    /* 22 */ b"251 2.1.5 User not local; will forward\r\n",
    /* 23 */ b"535 5.7.8 Authentication credentials invalid\r\n",
    /* 24 */ b"552 5.3.4 Message too big\r\n",
    /* 25 */ b"250-mx.example.org\r\n250-STARTTLS\r\n250 AUTH PLAIN LOGIN\r\n",
    /* 26 */ b"25",
    /* 27 */ b"0 OK\r\n",
    /* 28 */ b"250 2.0.0 Ok: queued as 4F2A1\r\n",
    /* 29 */ b"250-mx.example.org\r\n250-PIPELINING\r\n250-CHUNKING\r\n250 BINARYMIME\r\n",
    /* 30 */ b"\r\n",
    /* 31 */ b"451 4.3.0 Local error\r\n",
];

/// Addresses (valid and not) for MAIL, RCPT and VRFY.
const ADDRESSES: &[&str] = &[
    "sender@example.org",
    "",
    "rcpt@example.net",
    "other@example.net",
    "jöran@example.de",
    "bad\r\nRSET@example.org",
    "a b@example.org",
    "\"quoted local\"@example.org",
    "postmaster",
    "x@[192.0.2.1]",
];

/// Recipients that are always valid.
const VALID_RECIPIENTS: &[&str] = &[
    "rcpt@example.net",
    "other@example.net",
    "postmaster",
    "x@[192.0.2.1]",
];

/// Names for `hello`.
const NAMES: &[&str] = &[
    "client.example.org",
    "[192.0.2.7]",
    "bad name",
    "evil\r\nQUIT",
    "",
];

/// The session configuration chosen by the first two bytes.
///
/// `a`: bit 0 LMTP, 1 transcript, 2 TLS at start, 3 prefer CHUNKING, 4 small BDAT chunks (`b & 15` + 1 bytes),
/// 5 server `localhost` over a loopback connection (else a remote name), 6 allow insecure AUTH, 7 small reply limits.
/// `b`: bits 0-3 chunk size, bit 4 a whole-command timeout, bit 5 a custom local name.
pub fn config_for(a: u8, b: u8) -> SessionConfig {
    let server = if a & 0x20 != 0 {
        "localhost"
    } else {
        "mx.example.org"
    };
    let mut config = SessionConfig::new(server);
    config.loopback_peer = a & 0x20 != 0;
    config.lmtp = a & 0x01 != 0;
    config.transcript = a & 0x02 != 0;
    config.tls_at_start = a & 0x04 != 0;
    config.prefer_chunking = a & 0x08 != 0;
    if a & 0x10 != 0 {
        config.bdat_chunk_size = usize::from(b & 0x0f) + 1;
    }
    config.allow_insecure_auth = a & 0x40 != 0;
    if a & 0x80 != 0 {
        config.reply_limits = ReplyLimits {
            max_line: 64,
            max_reply_bytes: 256,
            max_lines: 4,
        };
    }
    if b & 0x10 != 0 {
        config.timeouts.whole_command = Some(Duration::from_secs(90));
    }
    if b & 0x20 != 0 {
        config.local_name = "client.example.org".into();
    }
    config
}

/// Fuzz target `session`: runs `data` as a program (see the module documentation) and checks every invariant.
pub fn run_session(data: &[u8]) {
    run(data, false);
}

/// Runs `data` like [`run_session`] and returns a log of the run: `S:` what the server sent, `C:` what the client
/// sent, `E:` each event and each refused call. For writing and checking seed programs.
pub fn describe_session(data: &[u8]) -> Vec<String> {
    run(data, true).log
}

fn run(data: &[u8], logging: bool) -> Runner {
    let mut program = Program { data, at: 0 };
    let config = config_for(program.byte(), program.byte());
    let mut runner = Runner::new(config, logging);
    for _ in 0..MAX_ACTIONS {
        if program.done() {
            break;
        }
        runner.step(&mut program);
    }
    runner.finish();
    runner
}

/// The program's bytes; reading past the end gives zeros.
struct Program<'a> {
    data: &'a [u8],
    at: usize,
}

impl<'a> Program<'a> {
    fn done(&self) -> bool {
        self.at >= self.data.len()
    }

    fn byte(&mut self) -> u8 {
        let byte = self.data.get(self.at).copied().unwrap_or(0);
        self.at += 1;
        byte
    }

    /// The next `len` bytes (fewer at the end of the input).
    fn bytes(&mut self, len: usize) -> &'a [u8] {
        let start = self.at.min(self.data.len());
        let end = start.saturating_add(len).min(self.data.len());
        self.at = start.saturating_add(len);
        &self.data[start..end]
    }
}

/// What the harness knows about one operation it started.
#[derive(Debug, Default)]
struct OpInfo {
    /// Started with `send_mail` (a whole transaction).
    whole: bool,
    /// `finish_body` returned Ok for it, at this many `handle_input` calls.
    finished_at_input: Option<usize>,
    /// `abort_body` returned Ok for it (and whether `finish_body` had been called before).
    aborted: Option<bool>,
    body_ready: bool,
    completed: bool,
}

struct Runner {
    session: ClientSession,
    now: Timestamp,
    /// Every id handed out, with what the harness knows about it.
    ops: HashMap<CommandId, OpInfo>,
    /// Ids in the order they were handed out.
    order: Vec<CommandId>,
    /// The last `data` / `send_mail` operation.
    last_message: Option<CommandId>,
    closed: bool,
    greeted: bool,
    /// Every byte the client transmitted.
    sent: Vec<u8>,
    /// How much of `sent` the line-end check has looked at.
    line_ends_checked: usize,
    /// Where BDAT chunks begin and end in `sent`: the only places a content CRLF may be cut in two.
    chunk_edges: Vec<usize>,
    /// Number of `handle_input` calls with at least one byte.
    inputs: usize,
    /// `BODY=BINARYMIME` was asked for at some point (content then goes out unchanged).
    binary_requested: bool,
    /// `poll_start_tls` said the handshake should start and it has not been answered yet.
    tls_pending: bool,
    server: Responder,
    logging: bool,
    log: Vec<String>,
}

impl Runner {
    fn new(config: SessionConfig, logging: bool) -> Self {
        let now = Timestamp::from_unix_millis(START);
        let session = ClientSession::new(config, now).expect("the harness's configurations are valid");
        let mut runner = Runner {
            session,
            now,
            ops: HashMap::new(),
            order: Vec::new(),
            last_message: None,
            closed: false,
            greeted: false,
            sent: Vec::new(),
            line_ends_checked: 0,
            chunk_edges: Vec::new(),
            inputs: 0,
            binary_requested: false,
            tls_pending: false,
            server: Responder::default(),
            logging,
            log: Vec::new(),
        };
        runner.drain();
        runner
    }

    /// One action: an opcode (modulo 32) and three operand bytes `a`, `b`, `c`, always consumed, so a mutation of one
    /// action leaves the others in place. Feeding raw bytes (`0`, `1`: `a` bytes) and body content (`16`, `17`: `b`
    /// bytes) also consume that many bytes after the operands.
    ///
    /// | op | action |
    /// |----|--------|
    /// | 0, 1 | server sends `a` raw bytes |
    /// | 2-4 | server sends [`SERVER_LINES`]`[a]` |
    /// | 5-7 | the responding server answers what the client sent (`a` picks capabilities and refusals) |
    /// | 8 | `hello` | 9 `start_tls` | 10 `auth` | 11 `mail` | 12 `rcpt` | 13 `data` | 14, 15 `send_mail` |
    /// | 16, 17 | `send_body` with `b` raw bytes | 18 `send_body` with a canned body | 19 `finish_body` | 20 `abort_body` |
    /// | 21 | `reset` | 22 `noop` | 23 `verify` | 24 `quit` | 25 `close` | 26 `handle_eof` |
    /// | 27 | time passes and `handle_timeout` | 28 `handle_timeout` at (or just before) the deadline |
    /// | 29, 30 | `handle_tls_established` | 31 `handle_tls_failed` |
    fn step(&mut self, program: &mut Program<'_>) {
        let now = self.now;
        let op = program.byte() % 32;
        let (a, b, c) = (program.byte(), program.byte(), program.byte());
        match op {
            0 | 1 => {
                let len = usize::from(a);
                let bytes = program.bytes(len);
                self.input(bytes);
            }
            2..=4 => {
                let line = SERVER_LINES[usize::from(a) % SERVER_LINES.len()];
                self.input(line);
            }
            5..=7 => {
                // A server that answers whatever the client sent since the last answer.
                let selector = a;
                let lmtp = self.session.config().lmtp;
                let reply = self.server.answer(&self.sent, selector, lmtp);
                self.input(&reply);
            }
            8 => {
                let selector = a;
                let name = (selector & 1 != 0).then(|| pick(NAMES, selector >> 1));
                let result = self.session.hello(name, now);
                self.command(result, false);
            }
            9 => {
                let required = a & 1 != 0;
                let result = self.session.start_tls(required, now);
                self.command(result, false);
            }
            10 => {
                let selector = a;
                let credentials = credentials(selector);
                let mechanism = match (selector >> 3) % 6 {
                    0 => None,
                    1 => Some(Mechanism::Plain),
                    2 => Some(Mechanism::Login),
                    3 => Some(Mechanism::CramMd5),
                    4 => Some(Mechanism::XOAuth2),
                    _ => Some(Mechanism::OAuthBearer),
                };
                let result = self.session.auth(credentials, mechanism, now);
                self.command(result, false);
            }
            11 => {
                let from = pick(ADDRESSES, a);
                let options = self.mail_options(b);
                let result = self.session.mail(from, &options, now);
                self.command(result, false);
            }
            12 => {
                let to = pick(ADDRESSES, a);
                let options = rcpt_options(b);
                let result = self.session.rcpt(to, &options, now);
                self.command(result, false);
            }
            13 => {
                let result = self.session.data(now);
                if let Some(id) = self.command(result, false) {
                    self.last_message = Some(id);
                }
            }
            14 | 15 => {
                // `a`: bit 0 an odd sender, bit 1 odd recipients, bits 5-6 one to four recipients.
                let from = if a & 1 == 0 {
                    ADDRESSES[0]
                } else {
                    pick(ADDRESSES, a >> 2)
                };
                let to = (0..=(a >> 5) & 3)
                    .map(|i| {
                        if a & 2 == 0 {
                            pick(VALID_RECIPIENTS, i)
                        } else {
                            pick(ADDRESSES, (a >> 2).wrapping_add(i))
                        }
                    })
                    .map(str::to_string)
                    .collect();
                let envelope = Envelope {
                    from: from.to_string(),
                    to,
                    mail_options: self.mail_options(b),
                    rcpt_options: rcpt_options(c),
                };
                let result = self.session.send_mail(envelope, now);
                if let Some(id) = self.command(result, true) {
                    self.last_message = Some(id);
                }
            }
            16 | 17 => {
                let id = self.target_id(a);
                let len = usize::from(b);
                let chunk = program.bytes(len);
                let result = self.session.send_body(id, chunk, now);
                self.body_call(result);
            }
            18 => {
                let id = self.target_id(a);
                let result = self
                    .session
                    .send_body(id, b"Subject: hi\r\n\r\n.dot\r\nbody\n", now);
                self.body_call(result);
            }
            19 => {
                let id = self.target_id(a);
                let result = self.session.finish_body(id, now);
                if result.is_ok() {
                    let inputs = self.inputs;
                    if let Some(op) = self.ops.get_mut(&id) {
                        op.finished_at_input.get_or_insert(inputs);
                    }
                }
                self.body_call(result);
            }
            20 => {
                let id = self.target_id(a);
                let result = self.session.abort_body(id, "source failed", now);
                if result.is_ok() {
                    if let Some(op) = self.ops.get_mut(&id) {
                        let finished = op.finished_at_input.is_some();
                        op.aborted.get_or_insert(finished);
                    }
                }
                self.body_call(result);
            }
            21 => {
                let result = self.session.reset(now);
                self.command(result, false);
            }
            22 => {
                let result = self.session.noop(now);
                self.command(result, false);
            }
            23 => {
                let address = pick(ADDRESSES, a);
                let result = self.session.verify(address, now);
                self.command(result, false);
            }
            24 => {
                let result = self.session.quit(now);
                self.command(result, false);
            }
            25 => {
                self.session.close();
                self.drain();
                assert!(self.closed, "close() did not end the session");
            }
            26 => {
                self.session.handle_eof(now);
                self.drain();
                assert!(self.closed, "handle_eof did not end the session");
            }
            27 => {
                // Time passes by up to ~100 seconds (`handle_timeout` at the deadline is op 28).
                let millis = u64::from(a) * 400 + u64::from(b);
                self.timeout_at(Timestamp::from_unix_millis(now.as_unix_millis() + millis));
            }
            28 => {
                // Straight to the deadline (one time in four), or just before it.
                if let Some(deadline) = self.session.poll_timeout() {
                    let early = u64::from(a & 3 != 0);
                    let at = Timestamp::from_unix_millis(deadline.as_unix_millis().saturating_sub(early));
                    self.timeout_at(at.max(now));
                }
            }
            29 | 30 => {
                let only_if_asked = a & 1 == 0;
                if !only_if_asked || self.tls_pending {
                    self.tls_pending = false;
                    self.session.handle_tls_established(now);
                    self.drain();
                }
            }
            _ => {
                let only_if_asked = a & 7 != 0;
                if !only_if_asked || self.tls_pending {
                    self.tls_pending = false;
                    self.session.handle_tls_failed(TlsError {
                        kind: TlsErrorKind::UnknownIssuer,
                        message: "fuzzed handshake failure".into(),
                    });
                    self.drain();
                    assert!(self.closed, "a failed handshake did not end the session");
                }
            }
        }
    }

    fn note(&mut self, prefix: &str, text: impl FnOnce() -> String) {
        if self.logging {
            let line = format!("{prefix} {}", text());
            if std::env::var_os("SMTP_WASM_FUZZ_TRACE").is_some() {
                eprintln!("{line}");
            }
            self.log.push(line);
        }
    }

    fn input(&mut self, bytes: &[u8]) {
        self.note("S:", || String::from_utf8_lossy(bytes).into_owned());
        if !bytes.is_empty() {
            self.inputs += 1;
        }
        self.session.handle_input(bytes, self.now);
        self.drain();
    }

    fn timeout_at(&mut self, at: Timestamp) {
        self.now = at;
        let deadline = self.session.poll_timeout();
        self.session.handle_timeout(at);
        let events_before = self.ops.values().filter(|op| op.completed).count();
        self.drain();
        match deadline {
            Some(deadline) if at >= deadline => {
                assert!(
                    self.closed,
                    "handle_timeout at the deadline did not end the session"
                );
            }
            _ => {
                let events_after = self.ops.values().filter(|op| op.completed).count();
                assert_eq!(
                    events_before, events_after,
                    "handle_timeout before any deadline completed something"
                );
                assert_eq!(
                    self.session.is_closed(),
                    self.closed,
                    "handle_timeout before any deadline changed the session"
                );
            }
        }
    }

    /// An id for a body call: the last message operation, or sometimes any id handed out (or a made-up one).
    fn target_id(&self, selector: u8) -> CommandId {
        match selector % 4 {
            0 | 1 => self.last_message.unwrap_or(CommandId::from_value(1)),
            2 if !self.order.is_empty() => self.order[usize::from(selector / 4) % self.order.len()],
            _ => CommandId::from_value(u64::from(selector)),
        }
    }

    /// Options from one byte: bit 0 clear means none; otherwise bits 1-2 the body type, 3 SIZE, 4 SMTPUTF8,
    /// 5 REQUIRETLS, 6 RET, 7 ENVID, and 3 with 6 AUTH=.
    fn mail_options(&mut self, selector: u8) -> MailOptions {
        if selector & 1 == 0 {
            return MailOptions::default();
        }
        let body = match (selector >> 1) & 3 {
            0 => None,
            1 => Some(BodyType::SevenBit),
            2 => Some(BodyType::EightBitMime),
            _ => Some(BodyType::BinaryMime),
        };
        if body == Some(BodyType::BinaryMime) {
            self.binary_requested = true;
        }
        MailOptions {
            size: (selector & 0x08 != 0).then_some(4096),
            body,
            smtp_utf8: selector & 0x10 != 0,
            require_tls: selector & 0x20 != 0,
            ret: (selector & 0x40 != 0).then_some(DsnReturn::Headers),
            envelope_id: (selector & 0x80 != 0).then(|| "env+id=1".to_string()),
            auth: (selector & 0x48 == 0x48).then(|| "<>".to_string()),
        }
    }

    /// Checks a command's result: an id must be new; an error must have had no visible effect.
    fn command(&mut self, result: Result<CommandId, Error>, whole: bool) -> Option<CommandId> {
        match result {
            Ok(id) => {
                assert!(!self.closed, "a command was accepted after Event::Closed: {id:?}");
                assert!(!self.ops.contains_key(&id), "the id {id:?} was handed out twice");
                self.ops.insert(
                    id,
                    OpInfo {
                        whole,
                        ..OpInfo::default()
                    },
                );
                self.order.push(id);
                self.drain();
                Some(id)
            }
            Err(error) => {
                self.no_effect(&error);
                None
            }
        }
    }

    /// Checks a body call's result; a refused call must have had no visible effect.
    fn body_call(&mut self, result: Result<(), Error>) {
        match result {
            Ok(()) => self.drain(),
            Err(error) => self.no_effect(&error),
        }
    }

    /// After a refused call: nothing to transmit, no event, no TLS request.
    fn no_effect(&mut self, error: &Error) {
        self.note("E: refused", || format!("{error:?}"));
        assert_eq!(
            self.session.poll_transmit(),
            None,
            "a call refused with {error:?} wrote bytes"
        );
        assert_eq!(
            self.session.poll_event(),
            None,
            "a call refused with {error:?} produced an event"
        );
        assert!(
            !self.session.poll_start_tls(),
            "a call refused with {error:?} asked for TLS"
        );
        let _ = error.to_string();
    }

    /// Drains every poll in the documented order and checks what comes out.
    fn drain(&mut self) {
        while let Some(bytes) = self.session.poll_transmit() {
            assert!(!self.closed, "bytes transmitted after Event::Closed: {bytes:?}");
            assert!(!bytes.is_empty(), "poll_transmit returned an empty buffer");
            self.note("C:", || String::from_utf8_lossy(&bytes).into_owned());
            self.sent.extend_from_slice(&bytes);
        }
        while let Some(event) = self.session.poll_event() {
            self.on_event(event);
        }
        if self.session.poll_start_tls() {
            assert!(!self.closed, "STARTTLS handshake requested after Event::Closed");
            self.tls_pending = true;
        }
        let deadline = self.session.poll_timeout();
        if self.closed {
            assert_eq!(deadline, None, "a deadline after Event::Closed");
            assert!(self.session.is_closed());
        } else {
            assert!(!self.session.is_closed(), "closed without Event::Closed");
            // Liveness: while an operation is unfinished, something is waited for (a reply, the handshake, or the
            // caller's content), so there is a deadline; a session never hangs without a timer.
            if let Some(open) = self.order.iter().find(|id| !self.ops[id].completed) {
                assert!(
                    deadline.is_some(),
                    "{open:?} is unfinished but there is no deadline"
                );
            }
        }
        self.check_line_ends(false);
    }

    /// Without BINARYMIME every CR the client sends is followed by LF and every LF preceded by CR, except where BDAT
    /// framing cuts a CRLF of the content in two (a CR ending one chunk, a LF starting the next). Checks only the bytes
    /// not checked before; a CR or a BDAT header at the very end waits for more bytes, unless `at_end`.
    fn check_line_ends(&mut self, at_end: bool) {
        if self.binary_requested {
            return;
        }
        let sent = &self.sent;
        let mut at = self.line_ends_checked;
        while at < sent.len() {
            if sent[at..].starts_with(b"BDAT ") || (!at_end && b"BDAT ".starts_with(&sent[at..])) {
                match bdat_header(&sent[at..]) {
                    Some((header, size)) => {
                        let content = at + header;
                        self.chunk_edges.push(content);
                        if size > 0 {
                            self.chunk_edges.push(content + size - 1);
                        }
                    }
                    None if !at_end && !sent[at..].contains(&b'\n') => break,
                    None => {}
                }
            }
            match sent[at] {
                b'\r' if at + 1 == sent.len() && !at_end => break,
                b'\r' if sent.get(at + 1) != Some(&b'\n') => assert!(
                    self.chunk_edges.contains(&at),
                    "bare CR at {at} in {:?}",
                    String::from_utf8_lossy(sent)
                ),
                b'\n' if at == 0 || sent[at - 1] != b'\r' => assert!(
                    self.chunk_edges.contains(&at),
                    "bare LF at {at} in {:?}",
                    String::from_utf8_lossy(sent)
                ),
                _ => {}
            }
            at += 1;
        }
        self.line_ends_checked = at;
    }

    fn on_event(&mut self, event: Event) {
        self.note("E:", || format!("{event:?}"));
        match event {
            Event::Greeting(reply) => {
                assert!(!self.greeted, "two greetings");
                assert!(!self.closed, "a greeting after Event::Closed");
                assert_eq!(reply.code(), 220);
                self.greeted = true;
            }
            Event::Completed { id, result } => {
                let inputs = self.inputs;
                let Some(op) = self.ops.get_mut(&id) else {
                    panic!("completion for an id never handed out: {id:?} {result:?}");
                };
                assert!(!op.completed, "{id:?} completed twice, now with {result:?}");
                op.completed = true;
                let _ = result.as_ref().map_err(ToString::to_string);
                if op.whole {
                    if let Ok(completion) = &result {
                        let Completion::Transaction(report) = completion else {
                            panic!("send_mail {id:?} completed with {completion:?}");
                        };
                        assert!(!report.accepted.is_empty(), "a transaction succeeded for nobody");
                        assert_eq!(
                            report.accepted.len() + report.rejected.len(),
                            report.recipients.len()
                        );
                        let finished = op
                            .finished_at_input
                            .unwrap_or_else(|| panic!("send_mail {id:?} succeeded without finish_body"));
                        assert!(
                            inputs > finished,
                            "send_mail {id:?} succeeded without server input after the content was finished"
                        );
                    }
                }
                if op.aborted == Some(false) {
                    // Aborted before the content was finished: the message must not count as sent.
                    assert!(result.is_err(), "{id:?} succeeded after abort_body: {result:?}");
                }
            }
            Event::BodyReady { id } => {
                let op = self.ops.get_mut(&id);
                let Some(op) = op.filter(|op| !op.completed) else {
                    panic!("BodyReady for an id that is unknown or already completed: {id:?}");
                };
                assert!(!op.body_ready, "BodyReady twice for {id:?}");
                op.body_ready = true;
                assert!(!self.closed, "BodyReady after Event::Closed");
            }
            Event::Transcript(line) => {
                if line.direction == Direction::Client {
                    assert!(
                        !line.text.contains(['\r', '\n']),
                        "client transcript line with a line end"
                    );
                }
            }
            Event::TlsEstablished => panic!("the session itself never emits TlsEstablished"),
            Event::SaslChallenge { id, .. } => {
                panic!("a SASL challenge for {id:?}, but this fuzzer never starts auth_custom")
            }
            Event::Closed { error } => {
                assert!(!self.closed, "Event::Closed twice");
                self.closed = true;
                let _ = error.map(|e| e.to_string());
                let open: Vec<_> = self.ops.iter().filter(|(_, op)| !op.completed).collect();
                assert!(
                    open.is_empty(),
                    "operations not completed at Event::Closed: {open:?}"
                );
            }
        }
    }

    /// Checks that a closed session stays closed and refuses everything, then ends the run.
    fn finish(&mut self) {
        self.check_line_ends(true);
        if !self.closed {
            return;
        }
        let now = self.now;
        for result in [
            self.session.noop(now),
            self.session.quit(now),
            self.session.reset(now),
            self.session.data(now),
        ] {
            assert!(result.is_err(), "a command was accepted after Event::Closed");
        }
        self.session.handle_input(b"250 OK\r\n", now);
        self.session.handle_eof(now);
        self.session.handle_timeout(Timestamp::from_unix_millis(u64::MAX));
        self.session.handle_tls_established(now);
        self.drain();
    }
}

/// A rough model of a server: reads the client's bytes since the last answer and answers each command, positively
/// unless the selector asks for a refusal. It follows DATA content to its dot and skips BDAT chunks, so it keeps up
/// with well-behaved sessions; when it gets lost it just sends odd replies, which is fine for fuzzing.
#[derive(Debug, Default)]
struct Responder {
    /// How much of the client's bytes it has read.
    cursor: usize,
    /// Inside DATA content (after answering DATA with 354).
    in_data: bool,
    /// BDAT content bytes still to skip.
    skip: usize,
    /// Recipients accepted in the current transaction (LMTP answers the message once per recipient).
    recipients: usize,
}

impl Responder {
    fn answer(&mut self, sent: &[u8], selector: u8, lmtp: bool) -> Vec<u8> {
        let mut out = Vec::new();
        // Selector: bits 0-2 which capabilities; bits 3-5 == 0 refuses the first command answered; bit 6 and 7 pick
        // the refusal.
        let mut refuse = (selector >> 3) & 7 == 0;
        let refusal: &[u8] = match selector >> 6 {
            0 => b"550 5.7.1 Refused\r\n",
            1 => b"451 4.3.0 Try later\r\n",
            2 => b"421 4.3.2 Closing\r\n",
            _ => b"502 5.5.1 Not implemented\r\n",
        };
        loop {
            let rest = &sent[self.cursor.min(sent.len())..];
            if self.skip > 0 {
                let skipped = self.skip.min(rest.len());
                self.skip -= skipped;
                self.cursor += skipped;
                if self.skip > 0 {
                    break;
                }
                continue;
            }
            let Some(end) = rest.windows(2).position(|w| w == b"\r\n") else {
                break;
            };
            let line = &rest[..end];
            self.cursor += end + 2;
            if self.in_data {
                if line == b"." {
                    self.in_data = false;
                    self.final_replies(&mut out, lmtp);
                }
                continue;
            }
            let verb = line
                .split(|&b| b == b' ')
                .next()
                .unwrap_or_default()
                .to_ascii_uppercase();
            if refuse && verb != b"BDAT" {
                refuse = false;
                out.extend_from_slice(refusal);
                continue;
            }
            let reply: &[u8] = match &verb[..] {
                b"EHLO" | b"LHLO" => match selector & 7 {
                    0 | 1 => SERVER_LINES[1],
                    2 => SERVER_LINES[2],
                    3 => SERVER_LINES[18],
                    4 => SERVER_LINES[25],
                    5 => SERVER_LINES[29],
                    _ => SERVER_LINES[19],
                },
                b"MAIL" => {
                    self.recipients = 0;
                    b"250 2.1.0 Ok\r\n"
                }
                b"RCPT" => {
                    self.recipients += 1;
                    b"250 2.1.5 Ok\r\n"
                }
                b"DATA" => {
                    self.in_data = true;
                    SERVER_LINES[4]
                }
                b"BDAT" => {
                    let text = String::from_utf8_lossy(line).into_owned();
                    let mut words = text.split(' ').skip(1);
                    self.skip = words.next().and_then(|n| n.parse().ok()).unwrap_or(0);
                    if words.next() == Some("LAST") {
                        // Answered once the chunk is skipped; the reply is the same either way.
                        self.final_replies(&mut out, lmtp);
                    } else {
                        out.extend_from_slice(b"250 2.0.0 chunk ok\r\n");
                    }
                    continue;
                }
                b"STARTTLS" => SERVER_LINES[10],
                b"QUIT" => SERVER_LINES[5],
                b"VRFY" => SERVER_LINES[16],
                b"*" => b"501 5.7.0 Cancelled\r\n",
                b"HELO" | b"RSET" | b"NOOP" => SERVER_LINES[3],
                _ => SERVER_LINES[6],
            };
            out.extend_from_slice(reply);
        }
        out
    }

    fn final_replies(&mut self, out: &mut Vec<u8>, lmtp: bool) {
        let count = if lmtp { self.recipients.max(1) } else { 1 };
        for _ in 0..count {
            out.extend_from_slice(SERVER_LINES[28]);
        }
        self.recipients = 0;
    }
}

/// `BDAT <size>[ LAST]\r\n` at the start of `bytes`: the header's length and the chunk size.
fn bdat_header(bytes: &[u8]) -> Option<(usize, usize)> {
    let end = bytes.windows(2).position(|w| w == b"\r\n")?;
    let line = std::str::from_utf8(&bytes[..end]).ok()?;
    let rest = line.strip_prefix("BDAT ")?;
    let size = rest.strip_suffix(" LAST").unwrap_or(rest);
    if size.is_empty() || !size.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((end + 2, size.parse().ok()?))
}

fn pick<'a>(list: &[&'a str], selector: u8) -> &'a str {
    list[usize::from(selector) % list.len()]
}

fn credentials(selector: u8) -> Credentials {
    match selector & 7 {
        0 | 1 => Credentials::Password {
            username: "user@example.org".into(),
            password: "pässword with spaces".into(),
            identity: None,
        },
        2 => Credentials::Password {
            username: "user".into(),
            password: "secret".into(),
            identity: Some("admin".into()),
        },
        3 => Credentials::OAuth {
            username: "user@example.org".into(),
            access_token: "ya29.token".into(),
        },
        4 => Credentials::Password {
            username: "user\r\nQUIT".into(),
            password: "x".into(),
            identity: None,
        },
        5 => Credentials::Password {
            username: String::new(),
            password: String::new(),
            identity: None,
        },
        6 => Credentials::Password {
            username: "long".into(),
            password: "p".repeat(600),
            identity: None,
        },
        _ => Credentials::OAuth {
            username: "user".into(),
            access_token: String::new(),
        },
    }
}

/// Options from one byte: bit 0 clear means none; otherwise bits 1-2 NOTIFY, 3-4 ORCPT, 5 the ORCPT type.
fn rcpt_options(selector: u8) -> RcptOptions {
    if selector & 1 == 0 {
        return RcptOptions::default();
    }
    let selector = selector >> 1;
    RcptOptions {
        notify: match selector & 3 {
            0 => None,
            1 => Some(Notify::Never),
            2 => Some(Notify::On {
                success: true,
                failure: true,
                delay: false,
            }),
            _ => Some(Notify::On {
                success: false,
                failure: false,
                delay: false,
            }),
        },
        original_recipient: match (selector >> 2) & 3 {
            0 => None,
            1 => Some("orig@example.net".into()),
            2 => Some("jöran+=@example.de".into()),
            _ => Some("bad\r\n".into()),
        },
        original_recipient_type: (selector & 0x10 != 0).then(|| "rfc822".to_string()),
    }
}
