//! The SMTP client session: every state transition of the client side of RFC 5321 (and LMTP, RFC 2033) in one
//! place, with no I/O.
//!
//! # Driving a session
//! Create it with [`ClientSession::new`]; it waits for the greeting. Feed what the server sends with
//! [`ClientSession::handle_input`] (and [`ClientSession::handle_eof`] when the connection closes), queue operations
//! with the command methods (each returns a [`CommandId`], or an error with nothing written), and after **every**
//! call drain, in this order: [`ClientSession::poll_transmit`] (bytes to send), [`ClientSession::poll_event`]
//! (results), [`ClientSession::poll_timeout`] (when to call [`ClientSession::handle_timeout`]).
//!
//! Operations run one after another, in the order they were queued. Inside one operation commands are pipelined
//! when the server advertises PIPELINING (a whole transaction goes out as one flight). The first operation that
//! needs a hello sends EHLO first (Go's net/smtp semantics).
//!
//! The layer below (plain TCP, or TLS in [`crate::Connection`]) is not the session's business, except at STARTTLS:
//! after the server's `220`, [`ClientSession::poll_start_tls`] says so, the layer does its handshake and then calls
//! [`ClientSession::handle_tls_established`].
//!
//! # How a reply finds its handler
//! Every command line written pushes an `Await` naming the command, an enum (`command::Command`), and the operation
//! that wrote it. Replies are matched to awaits in order (pipelined commands are answered in the order sent, RFC
//! 2920). `ClientSession::on_reply` is the one reply table: one arm per command variant, chosen by the waiting command
//! alone. The commands of `mail`, `rcpt` and `rset` are handled there directly; those a transaction writes
//! (`send_mail`, `data`: `Command::Tx`) are recorded there in that transaction (found by the operation in the
//! `Await`), which then writes what may follow. A reply with nothing waiting for it answers no command: `pump` keeps
//! a refusal for the next command and fails the session on anything else.

mod command;
pub mod connection;
mod event;
mod options;
mod params;
mod transaction;

use std::collections::VecDeque;

use base64ct::{Base64 as BASE64, Encoding as _};

pub use event::{
    CommandId, Completion, Direction, Event, RecipientOutcome, TransactionReport, TranscriptLine,
};
pub use options::{BodyType, DsnReturn, Envelope, MailOptions, Notify, RcptOptions, SessionConfig, Timeouts};

use crate::codec::ehlo::Capabilities;
use crate::codec::line::{check_argument, CommandLine};
use crate::codec::reply_parser::ReplyParser;
use crate::error::{Error, Field, InputError, InputErrorReason, Phase, Rejection, TlsError};
use crate::reply::Reply;
use crate::sasl::{Credentials, Mechanism, SaslExchange, SaslStep};
use crate::time::Timestamp;
use command::{Command, TxCommand};
use params::{check_mail_input, check_rcpt_input, encode_mail, encode_rcpt, BodyAgreement, BASE_LINE_LIMIT};
use transaction::{Answer, Flow, Output, PendingTransaction, StartContext, Transaction};

/// Refusals that arrive before their command are kept for it, up to this many.
const MAX_EARLY_REPLIES: usize = 8;
/// RFC 4954 section 4: a SASL response line may be up to 12288 octets.
const AUTH_RESPONSE_LIMIT: usize = 12288;

#[derive(Debug, Clone, Copy)]
struct Await {
    command: Command,
    /// The operation that wrote the command (none for the greeting).
    owner: Option<CommandId>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lifecycle {
    AwaitingGreeting,
    Ready,
    /// STARTTLS was accepted; the layer below is doing the handshake.
    SwitchingTls,
    Closed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TlsStage {
    Command,
    Handshake,
    Ehlo,
}

/// How an AUTH exchange gets its responses.
#[derive(Debug)]
enum AuthWith {
    /// A mechanism of [`crate::sasl`], computed here from the credentials.
    Known {
        credentials: Credentials,
        mechanism: Option<Mechanism>,
        exchange: Option<SaslExchange>,
    },
    /// Any other mechanism: the caller answers each challenge ([`Event::SaslChallenge`], `sasl_respond`).
    Caller {
        name: String,
        initial: Option<Vec<u8>>,
        /// A challenge went to the caller and its response has not come yet.
        waiting: bool,
    },
}

#[derive(Debug)]
struct AuthOp {
    with: AuthWith,
    /// An initial response too long for the AUTH line, sent after the first `334`.
    deferred_initial: Option<Vec<u8>>,
    cancel_reason: Option<String>,
}

impl AuthOp {
    /// The mechanism's name on the wire, once chosen.
    fn mechanism_name(&self) -> &str {
        match &self.with {
            AuthWith::Known { exchange, .. } => exchange.as_ref().map_or("", |e| e.mechanism().name()),
            AuthWith::Caller { name, .. } => name,
        }
    }
}

#[derive(Debug)]
enum Op {
    Hello { name: Option<String> },
    StartTls { required: bool, stage: TlsStage },
    Auth(Box<AuthOp>),
    Mail { from: String, options: MailOptions },
    Rcpt { to: String, options: RcptOptions },
    PendingTransaction(PendingTransaction),
    Transaction(Box<Transaction>),
    Rset,
    Noop,
    Vrfy(String),
    Quit,
    Raw(String),
}

#[derive(Debug)]
struct Active {
    id: CommandId,
    op: Op,
    started: Timestamp,
}

/// The transaction the server holds open from a `mail` call (for `rcpt` and `data`).
#[derive(Debug, Clone)]
struct OpenTransaction {
    agreement: BodyAgreement,
    /// The accepted recipients, in order, and the server's reply to each RCPT.
    recipients: Vec<String>,
    replies: Vec<Reply>,
}

/// A sans-IO SMTP (or LMTP) client session. See the [module documentation](self) for how to drive it.
#[derive(Debug)]
pub struct ClientSession {
    config: SessionConfig,
    lifecycle: Lifecycle,
    greeting: Option<Reply>,
    capabilities: Option<Capabilities>,
    /// The name used in the last EHLO/HELO, re-sent after STARTTLS.
    hello_name: String,
    tls_active: bool,
    parser: ReplyParser,
    /// Refusals that arrived before the command they answer.
    early: VecDeque<Reply>,
    out: Vec<u8>,
    events: VecDeque<Event>,
    queue: VecDeque<(CommandId, Op)>,
    active: Option<Active>,
    /// Transactions whose message is fully written and which wait only for the reply to its end, while the next
    /// transaction already runs (pipelining across transactions).
    draining: VecDeque<Active>,
    awaiting: VecDeque<Await>,
    /// When the current wait started: the last command written, or the last whole reply received. Bytes of a reply
    /// that is not complete yet do not move it, so a server that trickles its reply cannot stretch the deadline.
    last_activity: Timestamp,
    next_id: u64,
    open_transaction: Option<OpenTransaction>,
    /// What the MAIL being answered agreed for the body (moved into `open_transaction` on its 250).
    pending_agreement: Option<BodyAgreement>,
    start_tls_requested: bool,
    /// The server refused EHLO and HELO was not tried (TLS or AUTH needed EHLO): QUIT goes out without a hello.
    hello_refused: bool,
}

impl ClientSession {
    /// A session that waits for the server's greeting, starting at `now`.
    ///
    /// The configured local name is checked here (it goes on the EHLO line).
    pub fn new(config: SessionConfig, now: Timestamp) -> Result<Self, Error> {
        check_local_name(&config.local_name)?;
        let hello_name = config.local_name.clone();
        let tls_active = config.tls_at_start;
        let parser = ReplyParser::new(config.reply_limits);
        let mut awaiting = VecDeque::new();
        awaiting.push_back(Await {
            command: Command::Greeting,
            owner: None,
        });
        Ok(ClientSession {
            config,
            lifecycle: Lifecycle::AwaitingGreeting,
            greeting: None,
            capabilities: None,
            hello_name,
            tls_active,
            parser,
            early: VecDeque::new(),
            out: Vec::new(),
            events: VecDeque::new(),
            queue: VecDeque::new(),
            active: None,
            draining: VecDeque::new(),
            awaiting,
            last_activity: now,
            next_id: 1,
            open_transaction: None,
            pending_agreement: None,
            start_tls_requested: false,
            hello_refused: false,
        })
    }

    // ----- getters -----

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &SessionConfig {
        &self.config
    }

    /// The server's greeting, once received.
    #[must_use]
    pub fn greeting(&self) -> Option<&Reply> {
        self.greeting.as_ref()
    }

    /// What the server advertised in its last EHLO reply (empty after a HELO fallback); `None` before the hello and
    /// right after STARTTLS (RFC 3207: everything learned before TLS is forgotten).
    #[must_use]
    pub fn capabilities(&self) -> Option<&Capabilities> {
        self.capabilities.as_ref()
    }

    /// An extension's parameters (`Some("")` when it has none), `None` if not advertised or before the hello.
    /// Case-insensitive, so `extension("starttls")` works.
    #[must_use]
    pub fn extension(&self, name: &str) -> Option<&str> {
        self.capabilities.as_ref().and_then(|caps| caps.param(name))
    }

    /// The recipients the server accepted in the transaction opened with [`ClientSession::mail`] (go-smtp's
    /// `GetRcpts`), in order; empty when no transaction is open (after DATA's reply, RSET, or before MAIL).
    #[must_use]
    pub fn recipients(&self) -> &[String] {
        self.open_transaction
            .as_ref()
            .map_or(&[][..], |open| open.recipients.as_slice())
    }

    /// Whether the session runs over TLS (implicit, or after STARTTLS).
    #[must_use]
    pub fn is_tls(&self) -> bool {
        self.tls_active
    }

    /// Whether the session is over (QUIT answered, a fatal error, or closed by the caller).
    #[must_use]
    pub fn is_closed(&self) -> bool {
        self.lifecycle == Lifecycle::Closed
    }

    /// Bytes the session holds that are not yet sent: output not yet taken by `poll_transmit`, plus message content
    /// held back until the server is ready for it. Use it for backpressure when streaming a message.
    #[must_use]
    pub fn transmit_buffered(&self) -> usize {
        let held = match self.active.as_ref().map(|a| &a.op) {
            Some(Op::Transaction(tx)) => tx.buffered(),
            _ => 0,
        };
        let queued: usize = self
            .queue
            .iter()
            .map(|(_, op)| {
                if let Op::PendingTransaction(p) = op {
                    p.buffered()
                } else {
                    0
                }
            })
            .sum();
        self.out.len() + held + queued
    }

    // ----- inputs -----

    /// Bytes from the server (plaintext: above TLS, if any).
    pub fn handle_input(&mut self, bytes: &[u8], now: Timestamp) {
        if bytes.is_empty() || self.lifecycle == Lifecycle::Closed {
            return;
        }
        if self.lifecycle == Lifecycle::SwitchingTls {
            // Plaintext after STARTTLS's 220 and before the handshake: command injection (CVE-2011-0411).
            self.fail_session(Error::StartTlsInjection);
            return;
        }
        // No `last_activity` update here: the deadline runs from the start of the wait to the whole reply.
        self.parser.push(bytes);
        self.pump(now);
    }

    /// The server closed the connection (or the transport ended).
    pub fn handle_eof(&mut self, now: Timestamp) {
        if self.lifecycle == Lifecycle::Closed {
            return;
        }
        let _ = now;
        let quitting = matches!(self.active.as_ref().map(|a| &a.op), Some(Op::Quit))
            && self.awaiting.front().map(|a| a.command) == Some(Command::Quit);
        if quitting {
            // A server that closes instead of answering QUIT is fine (RFC 5321 leaves the reply to politeness).
            self.awaiting.clear();
            self.complete(Ok(Completion::Done));
            self.close_session(None);
            return;
        }
        let error = Error::Closed {
            phase: self.current_phase(),
            mid_reply: self.parser.buffered_len() > 0,
        };
        self.fail_session(error);
    }

    /// Time passed: if a deadline from [`ClientSession::poll_timeout`] is reached, the session fails with
    /// [`Error::Timeout`].
    pub fn handle_timeout(&mut self, now: Timestamp) {
        if let Some((deadline, phase)) = self.deadline() {
            if now >= deadline {
                self.fail_session(Error::Timeout { phase });
            }
        }
    }

    /// The layer below finished the TLS handshake that STARTTLS asked for. The session forgets what it learned
    /// before TLS and sends EHLO again (RFC 3207 section 4.2).
    pub fn handle_tls_established(&mut self, now: Timestamp) {
        if self.lifecycle != Lifecycle::SwitchingTls {
            return;
        }
        self.lifecycle = Lifecycle::Ready;
        self.tls_active = true;
        self.capabilities = None;
        self.open_transaction = None;
        if let Some(Active {
            op: Op::StartTls { stage, .. },
            ..
        }) = self.active.as_mut()
        {
            *stage = TlsStage::Ehlo;
        }
        self.last_activity = now;
        self.send_hello(now);
        self.pump(now);
    }

    /// The TLS handshake failed: the session is over.
    pub fn handle_tls_failed(&mut self, error: TlsError) {
        self.fail_session(Error::Tls(error));
    }

    // ----- commands -----

    fn enqueue(&mut self, op: Op, now: Timestamp) -> Result<CommandId, Error> {
        if self.lifecycle == Lifecycle::Closed {
            return Err(Error::Usage("the session is closed".into()));
        }
        let quit_pending = matches!(self.active.as_ref().map(|a| &a.op), Some(Op::Quit))
            || self.queue.iter().any(|(_, op)| matches!(op, Op::Quit));
        if quit_pending {
            return Err(Error::Usage("QUIT was already sent or queued".into()));
        }
        let id = CommandId(self.next_id);
        self.next_id += 1;
        self.queue.push_back((id, op));
        self.pump(now);
        Ok(id)
    }

    /// EHLO (LHLO for LMTP), falling back to HELO after 500/502. Optional: the first command that needs a hello sends
    /// it with the configured local name. Completes with the EHLO reply.
    pub fn hello(&mut self, local_name: Option<&str>, now: Timestamp) -> Result<CommandId, Error> {
        if let Some(name) = local_name {
            check_local_name(name)?;
        }
        if self.capabilities.is_some() || self.queue.iter().any(|(_, op)| matches!(op, Op::Hello { .. })) {
            return Err(Error::Usage(
                "hello was already done; it is sent once per session (and after STARTTLS)".into(),
            ));
        }
        self.enqueue(
            Op::Hello {
                name: local_name.map(str::to_string),
            },
            now,
        )
    }

    /// STARTTLS (RFC 3207). With `required`, a server that does not advertise STARTTLS fails the operation with
    /// [`Error::StartTlsNotOffered`] (a refusal fails it with the reply), and every operation queued behind it except
    /// QUIT fails with the same error, so nothing meant for TLS goes out in the clear; without it, the operation
    /// completes with [`Completion::Done`] and the session stays in plaintext (opportunistic TLS). After the handshake the session sends EHLO again and completes with
    /// its reply.
    pub fn start_tls(&mut self, required: bool, now: Timestamp) -> Result<CommandId, Error> {
        if self.tls_active {
            return Err(Error::Usage("TLS is already active".into()));
        }
        self.enqueue(
            Op::StartTls {
                required,
                stage: TlsStage::Command,
            },
            now,
        )
    }

    /// AUTH (RFC 4954) with the named mechanism, or the best one the server offers for these credentials.
    /// Refused with [`Error::InsecureAuth`] (nothing written) without TLS, unless the server is named localhost and
    /// the connection really goes to a loopback address ([`SessionConfig::loopback_peer`]), or `allow_insecure_auth`
    /// is set.
    pub fn auth(
        &mut self,
        credentials: Credentials,
        mechanism: Option<Mechanism>,
        now: Timestamp,
    ) -> Result<CommandId, Error> {
        credentials.validate()?;
        self.check_auth_may_be_queued()?;
        if let Some(mechanism) = mechanism {
            // Fails now if the mechanism does not fit the credentials.
            SaslExchange::new(mechanism, credentials.clone(), None)?;
        }
        let op = AuthOp {
            with: AuthWith::Known {
                credentials,
                mechanism,
                exchange: None,
            },
            deferred_initial: None,
            cancel_reason: None,
        };
        self.enqueue(Op::Auth(Box::new(op)), now)
    }

    /// AUTH with a mechanism this crate does not implement (SCRAM, a vendor's), driven by the caller (go-sasl's
    /// `Client`: start, then next for each challenge). `initial_response` goes on the AUTH line when it fits (RFC
    /// 4954 section 4; an empty one is sent as `=`). Each `334` challenge comes out, base64-decoded, as
    /// [`Event::SaslChallenge`]; answer it with [`ClientSession::sasl_respond`]. Completes like [`ClientSession::auth`]:
    /// with the 235 reply, or the refusal. The cleartext rule of `auth` applies.
    pub fn auth_custom(
        &mut self,
        mechanism: &str,
        initial_response: Option<Vec<u8>>,
        now: Timestamp,
    ) -> Result<CommandId, Error> {
        // RFC 4422 section 3.1: mechanism names are 1 to 20 of A-Z, 0-9, '-' and '_'.
        let valid = (1..=20).contains(&mechanism.len())
            && mechanism
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !valid {
            return Err(InputError::new(
                Field::Mechanism,
                InputErrorReason::Syntax("a SASL mechanism name is 1 to 20 letters, digits, '-' or '_'"),
            )
            .into());
        }
        self.check_auth_may_be_queued()?;
        let op = AuthOp {
            with: AuthWith::Caller {
                name: mechanism.to_ascii_uppercase(),
                initial: initial_response,
                waiting: false,
            },
            deferred_initial: None,
            cancel_reason: None,
        };
        self.enqueue(Op::Auth(Box::new(op)), now)
    }

    /// The caller's answer to the [`Event::SaslChallenge`] of operation `id` (an [`ClientSession::auth_custom`]):
    /// the response bytes (base64-encoded here), or `None` to abandon the exchange with `*`.
    pub fn sasl_respond(
        &mut self,
        id: CommandId,
        response: Option<&[u8]>,
        now: Timestamp,
    ) -> Result<(), Error> {
        let waiting = match self.active.as_mut() {
            Some(Active {
                id: active_id,
                op: Op::Auth(auth),
                ..
            }) if *active_id == id => match &mut auth.with {
                AuthWith::Caller { waiting, .. } => std::mem::replace(waiting, false),
                AuthWith::Known { .. } => false,
            },
            _ => false,
        };
        if !waiting {
            return Err(Error::Usage(format!(
                "operation {} is not waiting for a SASL response",
                id.0
            )));
        }
        let step = match response {
            Some(bytes) => SaslStep::Respond(bytes.to_vec()),
            None => SaslStep::Cancel("the SASL mechanism gave up".into()),
        };
        self.send_sasl_step(step, now);
        self.pump(now);
        Ok(())
    }

    /// `MAIL FROM` with options (go-smtp's `Mail`). Completes with the 250 reply.
    pub fn mail(&mut self, from: &str, options: &MailOptions, now: Timestamp) -> Result<CommandId, Error> {
        check_mail_input(from, options)?;
        self.enqueue(
            Op::Mail {
                from: from.to_string(),
                options: options.clone(),
            },
            now,
        )
    }

    /// `RCPT TO` with options. Completes with the 250/251 reply.
    pub fn rcpt(&mut self, to: &str, options: &RcptOptions, now: Timestamp) -> Result<CommandId, Error> {
        // Non-ASCII is checked against the open transaction's SMTPUTF8 when the command is written.
        check_rcpt_input(to, options, true)?;
        self.enqueue(
            Op::Rcpt {
                to: to.to_string(),
                options: options.clone(),
            },
            now,
        )
    }

    /// The message of the transaction opened with `mail` and `rcpt`: DATA (or BDAT when the server offers CHUNKING).
    /// [`Event::BodyReady`] says when the server is ready; then [`ClientSession::send_body`] and
    /// [`ClientSession::finish_body`]. Completes with the final reply, or for LMTP with one result per recipient.
    pub fn data(&mut self, now: Timestamp) -> Result<CommandId, Error> {
        let pending = Transaction::data_only(Vec::new(), None);
        self.enqueue(Op::PendingTransaction(pending), now)
    }

    /// One whole transaction (go-smtp's `Client.SendMail`): MAIL, every RCPT and DATA/BDAT, pipelined when the server
    /// allows, then the content given with `send_body` / `finish_body` (content may be given at once, before the
    /// server is ready: it is held). Completes with a [`TransactionReport`]; the message counts as sent only then.
    pub fn send_mail(&mut self, envelope: Envelope, now: Timestamp) -> Result<CommandId, Error> {
        if envelope.to.is_empty() {
            return Err(InputError::new(Field::To, InputErrorReason::Empty).into());
        }
        check_mail_input(&envelope.from, &envelope.mail_options)?;
        for to in &envelope.to {
            check_rcpt_input(to, &envelope.rcpt_options, envelope.mail_options.smtp_utf8)?;
        }
        self.enqueue(Op::PendingTransaction(Transaction::whole(envelope)), now)
    }

    /// Message content for the operation `id` (`data` or `send_mail`). Any chunking gives the same bytes on the wire.
    /// Content the server must not get (NUL, 8-bit without 8BITMIME) fails the transaction without ever sending the
    /// end of the message; in DATA mode that closes the session, since only a close makes the server discard it.
    pub fn send_body(&mut self, id: CommandId, chunk: &[u8], now: Timestamp) -> Result<(), Error> {
        self.with_transaction(id, now, |tx| match tx {
            TxRef::Pending(pending) => pending.push_content(chunk),
            TxRef::Active(active) => active.push_content(chunk),
        })
    }

    /// Ends the content of operation `id`: the final dot (or `BDAT n LAST`) goes out when the server is ready.
    pub fn finish_body(&mut self, id: CommandId, now: Timestamp) -> Result<(), Error> {
        self.with_transaction(id, now, |tx| match tx {
            TxRef::Pending(pending) => {
                pending.finish_requested();
                Ok(())
            }
            TxRef::Active(active) => {
                active.finish_content();
                Ok(())
            }
        })
    }

    /// Abandons the content of operation `id` (its source failed): the transaction fails with [`Error::Aborted`] and
    /// the message is never completed on the wire (RSET after BDAT; a close in the middle of DATA).
    /// Once the end of the message has gone out (after `finish_body`, the final dot or `BDAT n LAST`) it is too late:
    /// the abort is ignored and the operation completes with the server's reply.
    pub fn abort_body(&mut self, id: CommandId, why: &str, now: Timestamp) -> Result<(), Error> {
        if self.draining.iter().any(|d| d.id == id) {
            // The end of the message is on the wire: the server's reply decides, as for any finished message.
            return Ok(());
        }
        let why = why.to_string();
        self.with_transaction(id, now, move |tx| match tx {
            TxRef::Pending(pending) => {
                pending.abort(why);
                Ok(())
            }
            TxRef::Active(active) => {
                active.abort(why);
                Ok(())
            }
        })
    }

    /// RSET: ends any open transaction.
    pub fn reset(&mut self, now: Timestamp) -> Result<CommandId, Error> {
        self.enqueue(Op::Rset, now)
    }

    /// NOOP.
    pub fn noop(&mut self, now: Timestamp) -> Result<CommandId, Error> {
        self.enqueue(Op::Noop, now)
    }

    /// VRFY. A 252 ("cannot verify, will accept") is a success, not an error.
    pub fn verify(&mut self, address: &str, now: Timestamp) -> Result<CommandId, Error> {
        check_argument(Field::VrfyArgument, address)?;
        if address.is_empty() {
            return Err(InputError::new(Field::VrfyArgument, InputErrorReason::Empty).into());
        }
        check_fits(Field::VrfyArgument, "VRFY ", address)?;
        self.enqueue(Op::Vrfy(address.to_string()), now)
    }

    /// A raw command line (go-smtp's `Text`), for commands the session has no method for (`EXPN`, `HELP`, `ETRN`,
    /// `XCLIENT`, a vendor extension). The line goes through the same checks as every other command: no control
    /// characters, at most 512 octets with CRLF. Commands that change what the session tracks (`EHLO`, `HELO`,
    /// `LHLO`, `STARTTLS`, `AUTH`, `MAIL`, `RCPT`, `DATA`, `BDAT`, `RSET`, `QUIT`) are refused with
    /// [`Error::Usage`]: use their methods. Completes with whatever the server replied ([`Completion::Reply`], also
    /// for a 4xx/5xx, which the caller judges), except that a `421` ends the session as always.
    pub fn command(&mut self, line: &str, now: Timestamp) -> Result<CommandId, Error> {
        check_argument(Field::CommandLine, line)?;
        let verb = line.split(' ').next().unwrap_or_default();
        if verb.is_empty() {
            return Err(InputError::new(Field::CommandLine, InputErrorReason::Empty).into());
        }
        check_fits(Field::CommandLine, "", line)?;
        const TRACKED: [&str; 11] = [
            "EHLO", "HELO", "LHLO", "STARTTLS", "AUTH", "MAIL", "RCPT", "DATA", "BDAT", "RSET", "QUIT",
        ];
        if let Some(tracked) = TRACKED.iter().find(|t| t.eq_ignore_ascii_case(verb)) {
            return Err(Error::Usage(format!(
                "{tracked} changes the session's state: use its own method, not a raw command"
            )));
        }
        self.enqueue(Op::Raw(line.to_string()), now)
    }

    /// QUIT. Completes with the 221 reply (or [`Completion::Done`] if the server just closes), then the session is
    /// over ([`Event::Closed`] with no error).
    pub fn quit(&mut self, now: Timestamp) -> Result<CommandId, Error> {
        self.enqueue(Op::Quit, now)
    }

    /// Ends the session now, without QUIT: every pending operation fails with [`Error::Aborted`].
    pub fn close(&mut self) {
        if self.lifecycle != Lifecycle::Closed {
            self.fail_ops(&Error::Aborted("the connection was closed by the caller".into()));
            self.close_session(None);
        }
    }

    // ----- outputs -----

    /// Bytes to send to the server, coalesced: one flight of pipelined commands comes out as one buffer.
    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        take_output(&mut self.out)
    }

    /// The bytes [`ClientSession::poll_transmit`] would return, without taking them: pair with
    /// [`ClientSession::consume_transmit`]. The output buffer then keeps its capacity, so streaming a message does
    /// not allocate (and grow) a new one for every slice of content.
    #[must_use]
    pub fn pending_transmit(&self) -> &[u8] {
        &self.out
    }

    /// Marks all of [`ClientSession::pending_transmit`] as sent.
    pub fn consume_transmit(&mut self) {
        self.out.clear();
    }

    /// The next event.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When to call [`ClientSession::handle_timeout`], if anything is being waited for.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        self.deadline().map(|(deadline, _)| deadline)
    }

    /// True once when the server accepted STARTTLS: the layer below must now start its TLS handshake and then call
    /// [`ClientSession::handle_tls_established`] (or [`ClientSession::handle_tls_failed`]).
    #[must_use]
    pub fn poll_start_tls(&mut self) -> bool {
        std::mem::take(&mut self.start_tls_requested)
    }

    // ----- internals: the engine -----

    /// Runs everything that can run: start queued operations, match buffered replies to what waits for them.
    fn pump(&mut self, now: Timestamp) {
        loop {
            if self.lifecycle == Lifecycle::Closed {
                return;
            }
            if self.lifecycle == Lifecycle::Ready && !self.queue.is_empty() {
                if self.active.is_none() {
                    if let Some((id, op)) = self.queue.pop_front() {
                        self.activate(id, op, now);
                        continue;
                    }
                } else if self.may_start_next_transaction() {
                    // The current message is fully written and only its final reply is outstanding: with PIPELINING
                    // the next transaction's MAIL/RCPT/DATA go out now, in the same flight as the end of this one.
                    if let Some(active) = self.active.take() {
                        self.draining.push_back(active);
                    }
                    if let Some((id, op)) = self.queue.pop_front() {
                        self.activate(id, op, now);
                    }
                    continue;
                }
            }
            if self.lifecycle == Lifecycle::SwitchingTls {
                return;
            }
            // With a command waiting, a refusal kept from earlier answers it first; with nothing waiting, whatever
            // arrived is parsed and judged now (below), so a later success can never hide behind an early refusal.
            let kept = if self.awaiting.is_empty() {
                None
            } else {
                self.early.pop_front()
            };
            let reply = match kept {
                Some(reply) => reply,
                None => match self.parser.next_reply() {
                    Ok(Some(reply)) => {
                        self.trace_reply(&reply);
                        reply
                    }
                    Ok(None) => return,
                    Err(message) => {
                        self.fail_session(Error::Protocol(message));
                        return;
                    }
                },
            };
            match self.awaiting.pop_front() {
                Some(waiting) => self.on_reply(waiting, reply, now),
                None => {
                    if reply.code() == 421 {
                        // RFC 5321 3.8: the server is shutting down; this ends the session whenever it comes.
                        let error = Error::Rejected(Rejection {
                            command: "(no command)".into(),
                            reply,
                        });
                        self.fail_session(error);
                        return;
                    }
                    if reply.is_transient_failure() || reply.is_permanent_failure() {
                        // A refusal that comes before its command (a server that rejects a message while it is still
                        // being sent, or refuses before reading): kept for the command it answers. A refusal can only
                        // make that command fail, never make a message count as sent.
                        if self.early.len() >= MAX_EARLY_REPLIES {
                            self.fail_session(Error::Protocol(
                                "too many replies to commands that were not sent".into(),
                            ));
                            return;
                        }
                        self.early.push_back(reply);
                        continue;
                    }
                    // A success with nothing waiting answers no command: the server is out of step, and matching it to
                    // the next command would shift every later reply (a stale 250 taken as "message accepted").
                    self.fail_session(Error::Protocol(format!(
                        "the server sent a reply ({}) to a command that was not sent",
                        reply.code()
                    )));
                    return;
                }
            }
        }
    }

    fn activate(&mut self, id: CommandId, op: Op, now: Timestamp) {
        // After an EHLO refusal that ended in an error, QUIT goes out alone (a hello just to say goodbye is noise).
        let needs_hello = self.capabilities.is_none() && !(self.hello_refused && matches!(op, Op::Quit));
        self.active = Some(Active { id, op, started: now });
        if needs_hello {
            self.send_hello(now);
        } else {
            self.begin(now);
        }
    }

    fn send_hello(&mut self, now: Timestamp) {
        if let Some(Active {
            op: Op::Hello { name: Some(name) },
            ..
        }) = self.active.as_ref()
        {
            self.hello_name = name.clone();
        }
        let verb = if self.config.lmtp { "LHLO" } else { "EHLO" };
        let line = format!("{verb} {}", self.hello_name);
        match self.write_command(&line, BASE_LINE_LIMIT, &line, now) {
            Ok(()) => self.await_reply(Command::Ehlo),
            // The name was checked when it was given; this only guards the rule itself.
            Err(error) => self.complete(Err(error)),
        }
    }

    /// Starts the active operation's own commands (the hello, if needed, is done).
    fn begin(&mut self, now: Timestamp) {
        let Some(mut active) = self.active.take() else {
            return;
        };
        let result = match &mut active.op {
            Op::Hello { .. } => {
                // Hello after another op already did it (queued before that op ran): nothing to send.
                Err(Error::Usage(
                    "hello was already done by an earlier command".into(),
                ))
            }
            Op::StartTls { required, .. } => self.begin_start_tls(*required, now),
            Op::Auth(auth) => self.begin_auth(auth, now).map(|()| None),
            Op::Mail { from, options } => {
                let no_capabilities = Capabilities::default();
                let capabilities = self.capabilities.as_ref().unwrap_or(&no_capabilities);
                encode_mail(from, options, capabilities, self.tls_active).map(|(line, agreement)| {
                    self.open_transaction = None;
                    self.pending_agreement = Some(agreement);
                    self.write_encoded(&line.bytes, &line.text, now);
                    self.await_reply(Command::Mail);
                    None
                })
            }
            Op::Rcpt { to, options } => {
                let no_capabilities = Capabilities::default();
                let capabilities = self.capabilities.as_ref().unwrap_or(&no_capabilities);
                let utf8 = self
                    .open_transaction
                    .as_ref()
                    .is_some_and(|t| t.agreement.smtp_utf8);
                encode_rcpt(to, options, capabilities, utf8).map(|line| {
                    self.write_encoded(&line.bytes, &line.text, now);
                    self.await_reply(Command::Rcpt);
                    None
                })
            }
            Op::Rset => Ok(self.simple("RSET", Command::Rset, now)),
            Op::Noop => Ok(self.simple("NOOP", Command::Noop, now)),
            Op::Vrfy(address) => {
                let line = format!("VRFY {address}");
                self.write_command(&line, BASE_LINE_LIMIT, &line, now).map(|()| {
                    self.await_reply(Command::Vrfy);
                    None
                })
            }
            Op::Raw(line) => {
                let line = line.clone();
                self.write_command(&line, BASE_LINE_LIMIT, &line, now).map(|()| {
                    self.await_reply(Command::Raw);
                    None
                })
            }
            Op::Quit => Ok(self.simple("QUIT", Command::Quit, now)),
            Op::PendingTransaction(_) => {
                let Op::PendingTransaction(pending) = std::mem::replace(&mut active.op, Op::Noop) else {
                    return;
                };
                let (recipients, agreement) = match &self.open_transaction {
                    Some(open) => (
                        open.recipients
                            .iter()
                            .cloned()
                            .zip(open.replies.iter().cloned())
                            .collect(),
                        Some(open.agreement),
                    ),
                    None => (Vec::new(), None),
                };
                let pending = pending.with_open_transaction(recipients, agreement);
                let no_capabilities = Capabilities::default();
                let capabilities = self.capabilities.as_ref().unwrap_or(&no_capabilities);
                let context = StartContext {
                    capabilities,
                    tls: self.tls_active,
                    lmtp: self.config.lmtp,
                    prefer_chunking: self.config.prefer_chunking,
                    bdat_chunk_size: self.config.bdat_chunk_size,
                };
                let finish = pending.finish_was_requested();
                let abort = pending.abort_reason();
                match pending.start(&context) {
                    Ok(mut tx) => {
                        if finish {
                            tx.finish_content();
                        }
                        if let Some(why) = abort {
                            tx.abort(why);
                        }
                        active.op = Op::Transaction(Box::new(tx));
                        self.active = Some(active);
                        self.drive_transaction(Step::Advance, now);
                        return;
                    }
                    Err(error) => Err(error),
                }
            }
            Op::Transaction(_) => Ok(None),
        };
        self.active = Some(active);
        match result {
            Ok(None) => {}
            Ok(Some(done)) => self.complete(Ok(done)),
            Err(Error::StartTlsNotOffered) => {
                self.complete(Err(Error::StartTlsNotOffered));
                self.fail_queued_after_required_tls(&Error::StartTlsNotOffered);
            }
            Err(error) => self.complete(Err(error)),
        }
    }

    /// A required STARTTLS failed (not offered, or refused): what was queued behind it counted on TLS, so it fails
    /// with the same error instead of going out in the clear. QUIT stays queued (it reveals nothing).
    fn fail_queued_after_required_tls(&mut self, error: &Error) {
        let queue = std::mem::take(&mut self.queue);
        for (id, op) in queue {
            if matches!(op, Op::Quit) {
                self.queue.push_back((id, op));
            } else {
                self.events.push_back(Event::Completed {
                    id,
                    result: Err(error.clone()),
                });
            }
        }
    }

    fn simple(&mut self, verb: &str, command: Command, now: Timestamp) -> Option<Completion> {
        // A fixed verb always fits; the line still goes through the one writer of command lines.
        if self.write_command(verb, BASE_LINE_LIMIT, verb, now).is_ok() {
            self.await_reply(command);
        }
        None
    }

    fn begin_start_tls(&mut self, required: bool, now: Timestamp) -> Result<Option<Completion>, Error> {
        if self.tls_active {
            return Err(Error::Usage("TLS is already active".into()));
        }
        let offered = self
            .capabilities
            .as_ref()
            .is_some_and(|caps| caps.has("STARTTLS"));
        if !offered {
            if required {
                return Err(Error::StartTlsNotOffered);
            }
            // Opportunistic and not offered: stay in plaintext. (AUTH will still refuse to send credentials.)
            return Ok(Some(Completion::Done));
        }
        self.write_command("STARTTLS", BASE_LINE_LIMIT, "STARTTLS", now)?;
        self.await_reply(Command::StartTls);
        Ok(None)
    }

    /// Refuses AUTH before anything is written (not even the hello) when it would go out in cleartext: no TLS now,
    /// none coming from a queued STARTTLS, and no exception applies.
    fn check_auth_may_be_queued(&self) -> Result<(), Error> {
        let tls_coming = matches!(self.active.as_ref().map(|a| &a.op), Some(Op::StartTls { .. }))
            || self.queue.iter().any(|(_, op)| matches!(op, Op::StartTls { .. }));
        if self.auth_allowed() || tls_coming {
            Ok(())
        } else {
            Err(Error::InsecureAuth)
        }
    }

    fn auth_allowed(&self) -> bool {
        // Both the name and the address: the name alone is the caller's word (a `serverName: "localhost"` aimed at a
        // remote host), and a loopback address under a remote name may be a tunnel to that remote host.
        self.tls_active
            || self.config.allow_insecure_auth
            || (self.config.loopback_peer && is_localhost(&self.config.server_name))
    }

    fn begin_auth(&mut self, auth: &mut AuthOp, now: Timestamp) -> Result<(), Error> {
        if !self.auth_allowed() {
            return Err(Error::InsecureAuth);
        }
        let offered = self
            .capabilities
            .as_ref()
            .map(Capabilities::auth_mechanisms)
            .unwrap_or_default();
        let is_offered = |name: &str| offered.iter().any(|o| o.eq_ignore_ascii_case(name));
        let (name, initial) = match &mut auth.with {
            AuthWith::Known {
                credentials,
                mechanism,
                exchange,
            } => {
                let chosen = match *mechanism {
                    Some(m) if is_offered(m.name()) => m,
                    Some(m) => {
                        return Err(Error::AuthMechanismNotOffered {
                            mechanism: Some(m.name().into()),
                            offered,
                        });
                    }
                    None => match credentials
                        .preferred_mechanisms(self.tls_active)
                        .iter()
                        .copied()
                        .find(|&m| is_offered(m.name()))
                    {
                        Some(m) => m,
                        None => {
                            return Err(Error::AuthMechanismNotOffered {
                                mechanism: None,
                                offered,
                            })
                        }
                    },
                };
                let started =
                    SaslExchange::new(chosen, credentials.clone(), Some(self.config.server_name.clone()))?;
                let initial = started.initial_response();
                *exchange = Some(started);
                (chosen.name().to_string(), initial)
            }
            AuthWith::Caller { name, initial, .. } => {
                if !is_offered(name) {
                    return Err(Error::AuthMechanismNotOffered {
                        mechanism: Some(name.clone()),
                        offered,
                    });
                }
                (name.clone(), initial.take())
            }
        };
        let mut line = format!("AUTH {name}");
        let mut text = line.clone();
        if let Some(initial) = initial {
            let encoded = if initial.is_empty() {
                "=".to_string()
            } else {
                BASE64::encode_string(&initial)
            };
            // RFC 4954 section 4: the initial response goes on the AUTH line only if the line stays within 512
            // octets; otherwise it waits for the server's empty 334 challenge.
            if line.len() + 1 + encoded.len() + 2 <= BASE_LINE_LIMIT {
                line.push(' ');
                line.push_str(&encoded);
                text.push_str(" <redacted>");
            } else {
                auth.deferred_initial = Some(initial);
            }
        }
        self.write_command(&line, BASE_LINE_LIMIT, &text, now)?;
        self.await_reply(Command::Auth);
        Ok(())
    }

    /// The reply table: every reply to a command comes here, and the command that waited for it (its variant alone)
    /// picks the one arm that handles it. Replies that answer no command never get here (see `pump`).
    fn on_reply(&mut self, waiting: Await, reply: Reply, now: Timestamp) {
        // A whole reply arrived: the wait for the next one starts now.
        self.last_activity = now;
        let command = waiting.command;
        if reply.code() == 421 && !matches!(command, Command::Greeting | Command::Quit) {
            // Service closing: ends the session whenever it comes (RFC 5321 3.8).
            let command = self.command_name(command);
            self.fail_session(Error::Rejected(Rejection { command, reply }));
            return;
        }
        match command {
            Command::Greeting => self.on_greeting(reply),
            Command::Ehlo | Command::Helo => self.on_hello_reply(command, reply, now),
            Command::StartTls => self.on_start_tls_reply(reply),
            Command::Auth | Command::AuthCancel => self.on_auth_reply(command, reply, now),
            Command::Mail => {
                let verdict = command.judge(reply);
                if verdict.is_ok() {
                    let agreement = self.pending_agreement.take().unwrap_or_default();
                    self.open_transaction = Some(OpenTransaction {
                        agreement,
                        recipients: Vec::new(),
                        replies: Vec::new(),
                    });
                }
                self.complete(verdict.map(Completion::Reply));
            }
            Command::Rcpt => {
                let verdict = command.judge(reply);
                if let (
                    Ok(reply),
                    Some(open),
                    Some(Active {
                        op: Op::Rcpt { to, .. },
                        ..
                    }),
                ) = (&verdict, self.open_transaction.as_mut(), self.active.as_ref())
                {
                    open.recipients.push(to.clone());
                    open.replies.push(reply.clone());
                }
                self.complete(verdict.map(Completion::Reply));
            }
            Command::Rset | Command::Noop | Command::Vrfy => {
                let verdict = command.judge(reply);
                if command == Command::Rset && verdict.is_ok() {
                    self.open_transaction = None;
                }
                self.complete(verdict.map(Completion::Reply));
            }
            Command::Raw => self.complete(Ok(Completion::Reply(reply))),
            Command::Quit => {
                let result = if reply.code() == 221 {
                    Ok(Completion::Reply(reply))
                } else {
                    Err(command.refused(reply))
                };
                self.complete(result);
                self.close_session(None);
            }
            // A transaction's commands: the arm records the reply in the transaction that wrote the command, which
            // then goes on (`transaction_reply`).
            Command::Tx(tx_command) => {
                let owner = waiting.owner;
                let answer = match tx_command {
                    TxCommand::Mail => Answer::Mail(command.judge(reply)),
                    TxCommand::Rcpt(index) => Answer::Rcpt(index, command.judge(reply)),
                    TxCommand::Data => Answer::Data(reply),
                    TxCommand::Bdat => Answer::Bdat(command.judge(reply)),
                    TxCommand::End => Answer::End(reply),
                    TxCommand::DiscardDot | TxCommand::Rset => Answer::ServerClosed,
                };
                self.transaction_reply(owner, now, answer);
            }
        }
    }

    fn on_greeting(&mut self, reply: Reply) {
        if reply.code() == 220 {
            self.greeting = Some(reply.clone());
            self.events.push_back(Event::Greeting(reply));
            self.lifecycle = Lifecycle::Ready;
        } else {
            // 554 "no service here", or anything else: no session (RFC 5321 3.1).
            self.fail_session(Command::Greeting.refused(reply));
        }
    }

    fn on_start_tls_reply(&mut self, reply: Reply) {
        if reply.code() == 220 {
            if self.parser.buffered_len() > 0 || !self.early.is_empty() {
                // CVE-2011-0411: anything after the 220's line end was injected before TLS.
                self.fail_session(Error::StartTlsInjection);
                return;
            }
            self.lifecycle = Lifecycle::SwitchingTls;
            self.start_tls_requested = true;
            if let Some(Active {
                op: Op::StartTls { stage, .. },
                ..
            }) = self.active.as_mut()
            {
                *stage = TlsStage::Handshake;
            }
        } else {
            let required = matches!(
                self.active.as_ref().map(|a| &a.op),
                Some(Op::StartTls { required: true, .. })
            );
            let error = Command::StartTls.refused(reply);
            self.complete(Err(error.clone()));
            if required {
                self.fail_queued_after_required_tls(&error);
            }
        }
    }

    fn on_hello_reply(&mut self, command: Command, reply: Reply, now: Timestamp) {
        if reply.is_positive_completion() {
            self.capabilities = Some(if command == Command::Ehlo {
                Capabilities::from_ehlo_reply(&reply)
            } else {
                Capabilities::default()
            });
            match self.active.as_ref().map(|a| &a.op) {
                Some(Op::Hello { .. })
                | Some(Op::StartTls {
                    stage: TlsStage::Ehlo,
                    ..
                }) => {
                    self.complete(Ok(Completion::Reply(reply)));
                }
                Some(_) => self.begin(now),
                None => {}
            }
            return;
        }
        let fallback = command == Command::Ehlo && !self.config.lmtp && matches!(reply.code(), 500 | 502);
        if fallback {
            if let Some(error) = self.needs_ehlo() {
                // STARTTLS and AUTH exist only in ESMTP: HELO cannot lead to either, so nothing more is sent.
                self.hello_refused = true;
                self.complete(Err(error.clone()));
                if error == Error::StartTlsNotOffered {
                    self.fail_queued_after_required_tls(&error);
                }
                return;
            }
            // Only "command not recognised/implemented" means an old server; anything else is a real refusal.
            let line = format!("HELO {}", self.hello_name);
            match self.write_command(&line, BASE_LINE_LIMIT, &line, now) {
                Ok(()) => self.await_reply(Command::Helo),
                Err(error) => self.complete(Err(error)),
            }
            return;
        }
        let command = self.command_name(command);
        self.complete(Err(Error::Rejected(Rejection { command, reply })));
    }

    /// Why the active operation cannot go on over HELO, when it needs ESMTP: a required STARTTLS, or AUTH.
    fn needs_ehlo(&self) -> Option<Error> {
        match self.active.as_ref().map(|a| &a.op) {
            Some(Op::StartTls {
                required: true,
                stage: TlsStage::Command,
            }) => Some(Error::StartTlsNotOffered),
            Some(Op::Auth(auth)) => Some(Error::AuthMechanismNotOffered {
                mechanism: match &auth.with {
                    AuthWith::Known { mechanism, .. } => mechanism.map(|m| m.name().to_string()),
                    AuthWith::Caller { name, .. } => Some(name.clone()),
                },
                offered: Vec::new(),
            }),
            _ => None,
        }
    }

    fn on_auth_reply(&mut self, command: Command, reply: Reply, now: Timestamp) {
        let Some(Active {
            id,
            op: Op::Auth(auth),
            ..
        }) = self.active.as_mut()
        else {
            return;
        };
        let id = *id;
        let cancelled = command == Command::AuthCancel;
        let command = format!("AUTH {}", auth.mechanism_name());
        if cancelled {
            // We cancelled with "*": the server's reply is final; report why we gave up.
            let why = auth
                .cancel_reason
                .take()
                .unwrap_or_else(|| "exchange cancelled".into());
            self.complete(Err(Error::Protocol(format!(
                "{command}: {why} (server said {})",
                reply.code()
            ))));
            return;
        }
        if reply.is_positive_completion() {
            self.complete(Ok(Completion::Reply(reply)));
            return;
        }
        if reply.code() != 334 {
            self.complete(Err(Error::Rejected(Rejection { command, reply })));
            return;
        }
        let response = if let Some(initial) = auth.deferred_initial.take() {
            SaslStep::Respond(initial)
        } else {
            let challenge_text = reply.raw_lines().first().cloned().unwrap_or_default();
            let trimmed: Vec<u8> = challenge_text
                .iter()
                .copied()
                .filter(|b| !b.is_ascii_whitespace())
                .collect();
            match core::str::from_utf8(&trimmed).map(BASE64::decode_vec) {
                Ok(Ok(challenge)) => match &mut auth.with {
                    AuthWith::Known {
                        exchange: Some(exchange),
                        ..
                    } => exchange.respond(&challenge),
                    AuthWith::Known { exchange: None, .. } => {
                        SaslStep::Cancel("no exchange in progress".into())
                    }
                    AuthWith::Caller { waiting, .. } => {
                        // The caller's mechanism answers; nothing is written until it does.
                        *waiting = true;
                        self.events.push_back(Event::SaslChallenge { id, challenge });
                        return;
                    }
                },
                _ => SaslStep::Cancel("the server's challenge is not valid base64".into()),
            }
        };
        self.send_sasl_step(response, now);
    }

    /// Sends a SASL response line (base64, within RFC 4954's 12288 octets), or `*` with the reason kept for the
    /// error.
    fn send_sasl_step(&mut self, step: SaslStep, now: Timestamp) {
        let step_out = match step {
            SaslStep::Respond(bytes) => {
                let encoded = BASE64::encode_string(&bytes);
                if encoded.len() + 2 > AUTH_RESPONSE_LIMIT {
                    SaslStep::Cancel("the response is longer than RFC 4954 allows".into())
                } else {
                    SaslStep::Respond(encoded.into_bytes())
                }
            }
            cancel => cancel,
        };
        match step_out {
            SaslStep::Respond(line) => {
                let line = String::from_utf8_lossy(&line).into_owned();
                match self.write_command(&line, AUTH_RESPONSE_LIMIT, "<redacted>", now) {
                    Ok(()) => self.await_reply(Command::Auth),
                    Err(error) => self.complete(Err(error)),
                }
            }
            SaslStep::Cancel(why) => {
                if let Some(Active {
                    op: Op::Auth(auth), ..
                }) = self.active.as_mut()
                {
                    auth.cancel_reason = Some(why);
                }
                if self.write_command("*", BASE_LINE_LIMIT, "*", now).is_ok() {
                    self.await_reply(Command::AuthCancel);
                }
            }
        }
    }

    /// Records a reply in the transaction that wrote its command (`owner`: the active operation, or one that finished
    /// writing while the next one runs) and lets the transaction go on.
    fn transaction_reply(&mut self, owner: Option<CommandId>, now: Timestamp, answer: Answer) {
        let step = Step::Answer(answer);
        let draining = owner.and_then(|owner| self.draining.iter().position(|d| d.id == owner));
        let active = self
            .active
            .as_ref()
            .is_some_and(|a| Some(a.id) == owner && matches!(a.op, Op::Transaction(_)));
        match draining {
            Some(index) => self.drive_draining(index, step, now),
            None if active => self.drive_transaction(step, now),
            // Only transactions write these commands; a reply here means the state went wrong.
            None => self.fail_session(Error::Protocol(
                "reply to a message command outside a transaction".into(),
            )),
        }
    }

    /// Runs the active transaction one step (a reply, or new content) and applies what it asks for.
    fn drive_transaction(&mut self, step: Step, now: Timestamp) {
        let Some(mut active) = self.active.take() else {
            return;
        };
        let flow = match &mut active.op {
            Op::Transaction(tx) => self.step_transaction(active.id, tx, step, now),
            _ => Flow::Continue,
        };
        self.active = Some(active);
        match flow {
            Flow::Continue => {}
            Flow::Complete(result) => {
                self.open_transaction = None;
                self.complete(result);
            }
            Flow::Fatal(error) => self.fail_session(error),
        }
    }

    /// Runs one step of a transaction that finished writing while the next one runs.
    fn drive_draining(&mut self, index: usize, step: Step, now: Timestamp) {
        let Some(mut draining) = self.draining.remove(index) else {
            return;
        };
        let flow = match &mut draining.op {
            Op::Transaction(tx) => self.step_transaction(draining.id, tx, step, now),
            _ => Flow::Continue,
        };
        match flow {
            Flow::Continue => self.draining.insert(index, draining),
            Flow::Complete(result) => self.events.push_back(Event::Completed {
                id: draining.id,
                result,
            }),
            Flow::Fatal(error) => {
                self.events.push_back(Event::Completed {
                    id: draining.id,
                    result: Err(error.clone()),
                });
                self.fail_session(error);
            }
        }
    }

    /// Runs a transaction one step and applies what it asks for.
    fn step_transaction(&mut self, id: CommandId, tx: &mut Transaction, step: Step, now: Timestamp) -> Flow {
        let flow = match step {
            Step::Advance => tx.advance(),
            Step::Answer(answer) => {
                tx.reply_arrived();
                tx.record(answer);
                tx.advance()
            }
        };
        for output in tx.take_output() {
            match output {
                Output::Write(bytes, text) => {
                    if let Some(text) = text {
                        self.trace_client(&text);
                    }
                    self.out.extend_from_slice(&bytes);
                    self.last_activity = now;
                }
                Output::Expect(command) => self.awaiting.push_back(Await {
                    command: Command::Tx(command),
                    owner: Some(id),
                }),
                Output::ExpectNext(command) => {
                    self.awaiting.push_front(Await {
                        command: Command::Tx(command),
                        owner: Some(id),
                    });
                }
                Output::BodyReady => self.events.push_back(Event::BodyReady { id }),
            }
        }
        flow
    }

    /// Whether the next queued operation may start before the active transaction has its final reply.
    fn may_start_next_transaction(&self) -> bool {
        let Some(Active {
            op: Op::Transaction(tx),
            ..
        }) = self.active.as_ref()
        else {
            return false;
        };
        let next_overlaps = matches!(
            self.queue.front().map(|(_, op)| op),
            Some(Op::PendingTransaction(pending)) if pending.is_whole()
        ) || matches!(self.queue.front().map(|(_, op)| op), Some(Op::Quit));
        next_overlaps
            && tx.only_final_reply_outstanding()
            && self
                .capabilities
                .as_ref()
                .is_some_and(|caps| caps.has("PIPELINING"))
    }

    fn with_transaction(
        &mut self,
        id: CommandId,
        now: Timestamp,
        apply: impl FnOnce(TxRef<'_>) -> Result<(), Error>,
    ) -> Result<(), Error> {
        if self.draining.iter().any(|d| d.id == id) {
            return Err(Error::Usage("the message content was already finished".into()));
        }
        if let Some(Active {
            id: active_id, op, ..
        }) = self.active.as_mut()
        {
            if *active_id == id {
                match op {
                    Op::Transaction(tx) => {
                        apply(TxRef::Active(tx))?;
                        self.drive_transaction(Step::Advance, now);
                        // A refusal may already be waiting for what was just written.
                        self.pump(now);
                        self.last_activity = now;
                        return Ok(());
                    }
                    Op::PendingTransaction(pending) => return apply(TxRef::Pending(pending)),
                    _ => {}
                }
            }
        }
        let queued = self.queue.iter_mut().find_map(|(queued_id, op)| match op {
            Op::PendingTransaction(pending) if *queued_id == id => Some(pending),
            _ => None,
        });
        if let Some(pending) = queued {
            return apply(TxRef::Pending(pending));
        }
        Err(Error::Usage(format!(
            "operation {} is not a message in progress",
            id.0
        )))
    }

    fn complete(&mut self, result: Result<Completion, Error>) {
        if let Some(active) = self.active.take() {
            self.events.push_back(Event::Completed {
                id: active.id,
                result,
            });
        }
    }

    fn fail_ops(&mut self, error: &Error) {
        for draining in self.draining.drain(..) {
            self.events.push_back(Event::Completed {
                id: draining.id,
                result: Err(error.clone()),
            });
        }
        if let Some(active) = self.active.take() {
            self.events.push_back(Event::Completed {
                id: active.id,
                result: Err(error.clone()),
            });
        }
        for (id, _) in self.queue.drain(..) {
            self.events.push_back(Event::Completed {
                id,
                result: Err(error.clone()),
            });
        }
    }

    /// A fatal error: every operation fails with it and the session is over.
    fn fail_session(&mut self, error: Error) {
        if self.lifecycle == Lifecycle::Closed {
            return;
        }
        self.fail_ops(&error);
        self.close_session(Some(error));
    }

    fn close_session(&mut self, error: Option<Error>) {
        self.lifecycle = Lifecycle::Closed;
        self.awaiting.clear();
        self.early.clear();
        self.fail_ops(&Error::Usage(
            "the session closed before this operation ran".into(),
        ));
        self.events.push_back(Event::Closed { error });
    }

    fn await_reply(&mut self, command: Command) {
        let owner = self.active.as_ref().map(|a| a.id);
        self.awaiting.push_back(Await { command, owner });
    }

    /// Writes one command line (CRLF added) through the codec's one line rule: no control characters, at most
    /// `limit` octets with CRLF; on error nothing is written.
    fn write_command(
        &mut self,
        line: &str,
        limit: usize,
        transcript: &str,
        now: Timestamp,
    ) -> Result<(), Error> {
        CommandLine::new(line).finish(limit, &mut self.out)?;
        self.trace_client(transcript);
        self.last_activity = now;
        Ok(())
    }

    /// Writes a line that already ends with CRLF.
    fn write_encoded(&mut self, line: &[u8], transcript: &str, now: Timestamp) {
        self.trace_client(transcript);
        self.out.extend_from_slice(line);
        self.last_activity = now;
    }

    fn trace_client(&mut self, text: &str) {
        if self.config.transcript {
            self.events.push_back(Event::Transcript(TranscriptLine {
                direction: Direction::Client,
                text: text.to_string(),
            }));
        }
    }

    fn trace_reply(&mut self, reply: &Reply) {
        if self.config.transcript {
            for line in reply.to_string().lines() {
                self.events.push_back(Event::Transcript(TranscriptLine {
                    direction: Direction::Server,
                    text: line.to_string(),
                }));
            }
        }
    }

    fn command_name(&self, command: Command) -> String {
        command.name(self.config.lmtp).to_string()
    }

    fn current_phase(&self) -> Phase {
        if let Some(front) = self.awaiting.front() {
            return front.command.phase();
        }
        match self.lifecycle {
            Lifecycle::SwitchingTls => Phase::TlsHandshake,
            Lifecycle::AwaitingGreeting => Phase::Greeting,
            _ => match self.active.as_ref().map(|a| &a.op) {
                Some(Op::Transaction(tx)) if tx.in_body() => Phase::DataBlock,
                _ => Phase::Idle,
            },
        }
    }

    fn phase_timeout(&self, phase: Phase) -> core::time::Duration {
        let t = &self.config.timeouts;
        match phase {
            Phase::Greeting => t.greeting,
            Phase::Mail => t.mail,
            Phase::Rcpt => t.rcpt,
            Phase::DataInit => t.data_init,
            Phase::DataBlock | Phase::Bdat => t.data_block,
            Phase::DataEnd => t.data_end,
            _ => t.command,
        }
    }

    /// The next deadline and what it guards.
    fn deadline(&self) -> Option<(Timestamp, Phase)> {
        if self.lifecycle == Lifecycle::Closed {
            return None;
        }
        let waiting = if let Some(front) = self.awaiting.front() {
            Some(front.command.phase())
        } else if self.lifecycle == Lifecycle::SwitchingTls {
            Some(Phase::TlsHandshake)
        } else {
            match self.active.as_ref().map(|a| &a.op) {
                // Content is expected from the caller: no progress for a data-block time fails the transfer.
                Some(Op::Transaction(tx)) if tx.in_body() && !tx.content_finished() => Some(Phase::DataBlock),
                _ => None,
            }
        };
        let mut best = waiting.map(|phase| {
            (
                self.last_activity.saturating_add(self.phase_timeout(phase)),
                phase,
            )
        });
        if let (Some(limit), Some(active)) = (self.config.timeouts.whole_command, self.active.as_ref()) {
            let whole = active.started.saturating_add(limit);
            let phase = waiting.unwrap_or(Phase::Idle);
            if best.is_none_or(|(deadline, _)| whole < deadline) {
                best = Some((whole, phase));
            }
        }
        best
    }
}

/// The whole output buffer, or `None` when it is empty.
pub(crate) fn take_output(out: &mut Vec<u8>) -> Option<Vec<u8>> {
    if out.is_empty() {
        None
    } else {
        Some(std::mem::take(out))
    }
}

/// A transaction in either of its two forms, for the body methods.
enum TxRef<'a> {
    Pending(&'a mut PendingTransaction),
    Active(&'a mut Transaction),
}

fn check_local_name(name: &str) -> Result<(), Error> {
    if name.is_empty() {
        return Err(InputError::new(Field::LocalName, InputErrorReason::Empty).into());
    }
    check_argument(Field::LocalName, name)?;
    check_fits(Field::LocalName, "EHLO ", name)?;
    if name.contains(' ') {
        return Err(InputError::new(
            Field::LocalName,
            InputErrorReason::Unquoted {
                character: ' ',
                offset: 0,
            },
        )
        .into());
    }
    Ok(())
}

/// Refuses `value` when `prefix` + `value` + CRLF would be longer than the base command line limit (RFC 5321
/// 4.5.3.1.4: 512 octets); the error gives the room left for `value`.
fn check_fits(field: Field, prefix: &str, value: &str) -> Result<(), Error> {
    let room = BASE_LINE_LIMIT.saturating_sub(prefix.len() + 2);
    if value.len() > room {
        return Err(InputError::new(
            field,
            InputErrorReason::TooLong {
                limit: room,
                actual: value.len(),
            },
        )
        .into());
    }
    Ok(())
}

/// Go's net/smtp rule: cleartext AUTH is acceptable only to the local machine (and here only when the connection
/// really goes to a loopback address too).
fn is_localhost(server_name: &str) -> bool {
    let name = server_name.trim_start_matches('[').trim_end_matches(']');
    name.eq_ignore_ascii_case("localhost") || name == "127.0.0.1" || name == "::1"
}

/// What moves a transaction on: new room for content, or a reply to one of its commands (a value, not a closure, so
/// the code that drives a transaction is compiled once).
enum Step {
    Advance,
    Answer(Answer),
}
