//! Fuzz target `server_session`: the input is a small program that plays an SMTP client (arbitrary bytes, canned
//! command lines, end of file, time) against a [`ServerSession`], and an application that answers each decision in
//! a way the program chooses (accept, refuse, late, a stale id). After every step the harness drains every poll and
//! checks the session's promises.
//!
//! # Program format
//! `data[0..3]` choose the configuration (see [`server_config_for`]); then each action is an opcode byte and two
//! operand bytes, some followed by raw bytes (see `Runner::step`). A program ends when its bytes run out or after
//! [`SERVER_MAX_ACTIONS`] actions. Operands past the end read as zero, so every byte string is a valid program.
//!
//! # Invariants (a broken one panics)
//! - The session never panics, whatever the client sends and whatever the application answers.
//! - Everything it transmits parses, with the client's own reply parser, as well-formed replies (codes 2xx-5xx,
//!   CRLF line ends, no bare CR or LF), so a client can never be desynchronised by it.
//! - At most one decision is pending; an answer to any other id is refused and changes nothing visible; ids
//!   increase.
//! - Content comes only between `MessageStart` and its end, never more than `content_window` (plus a line end)
//!   unconfirmed within one message (the window is per message); `MessageEnd.size` is the number of content bytes
//!   handed out.
//! - After `Closed` nothing more is transmitted or reported, whatever comes in; no deadline, no input wanted.
//! - A deadline from `poll_timeout` is honoured: `handle_timeout` before it does nothing.
//! - The transcript never shows the AUTH secrets of the canned AUTH lines (in an AUTH command, or in the line
//!   answering a `334` challenge).

use std::time::Duration;

use super::has_bare_cr_or_lf;
use crate::codec::content::BareLf;
use crate::codec::params::MtPriorityProfile;
use crate::codec::reply_parser::{ReplyLimits, ReplyParser};
use crate::sasl::Mechanism;
use crate::server::{Decision, PeerInfo, RequestId, ServerConfig, ServerEvent, ServerSession};
use crate::time::Timestamp;

/// The most actions one program runs.
pub const SERVER_MAX_ACTIONS: usize = 96;

const START: u64 = 1_700_000_000_000;

/// The secret inside the canned AUTH lines (base64 in [`CLIENT_LINES`]); it must never reach the transcript.
const SECRETS: &[&str] = &[
    "s3cr3t-pw",
    "AGFsaWNlAHMzY3IzdC1wdw==",
    "czNjcjN0LXB3",
    "dXNlcj1hbGljZQFhdXRoPUJlYXJlciBzM2NyM3QtcHcBAQ==",
];

/// Canned client lines a program can send by index (arbitrary bytes rarely form a valid command; these reach deep
/// states quickly). Indexes are stable: the seed corpus refers to them.
pub const CLIENT_LINES: &[&[u8]] = &[
    /* 0 */ b"EHLO client.example\r\n",
    /* 1 */ b"HELO client.example\r\n",
    /* 2 */ b"LHLO client.example\r\n",
    /* 3 */ b"MAIL FROM:<a@example.test>\r\n",
    /* 4 */ b"MAIL FROM:<a@example.test> SIZE=100 BODY=8BITMIME\r\n",
    /* 5 */ b"MAIL FROM:<\xc3\xb1@example.test> SMTPUTF8 RET=HDRS ENVID=a+2Bb\r\n",
    /* 6 */ b"MAIL FROM:<a@example.test> BODY=BINARYMIME REQUIRETLS\r\n",
    /* 7 */ b"RCPT TO:<b@example.test>\r\n",
    /* 8 */ b"RCPT TO:<c@example.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;c+2B1@example.test\r\n",
    /* 9 */ b"DATA\r\n",
    /* 10 */ b"Subject: hi\r\n\r\nbody line\r\n",
    /* 11 */ b"..dot stuffed\r\n",
    /* 12 */ b".\r\n",
    /* 13 */ b"BDAT 10\r\n0123456789",
    /* 14 */ b"BDAT 5 LAST\r\nabcde",
    /* 15 */ b"BDAT 0 LAST\r\n",
    /* 16 */ b"RSET\r\n",
    /* 17 */ b"NOOP\r\n",
    /* 18 */ b"VRFY b@example.test\r\n",
    /* 19 */ b"HELP\r\n",
    /* 20 */ b"QUIT\r\n",
    /* 21 */ b"STARTTLS\r\n",
    /* 22 */ b"AUTH PLAIN AGFsaWNlAHMzY3IzdC1wdw==\r\n",
    /* 23 */ b"AUTH PLAIN\r\n",
    /* 24 */ b"AGFsaWNlAHMzY3IzdC1wdw==\r\n",
    /* 25 */ b"AUTH LOGIN\r\n",
    /* 26 */ b"YWxpY2U=\r\n",
    /* 27 */ b"czNjcjN0LXB3\r\n",
    /* 28 */ b"*\r\n",
    /* 29 */ b"AUTH OAUTHBEARER dXNlcj1hbGljZQFhdXRoPUJlYXJlciBzM2NyM3QtcHcBAQ==\r\n",
    /* 30 */ b"XCLIENT ADDR=192.0.2.1 NAME=[UNAVAILABLE] HELO=x+2By\r\n",
    /* 31 */ b"\r\n.\n",
    /* 32 */ b"\n.\n",
    /* 33 */ b"\r.\r",
    /* 34 */ b"\n.\r\n",
    /* 35 */ b"bare\nlf\n",
    /* 36 */ b"MAIL FROM: <a@example.test>\r\n",
    /* 37 */ b"RCPT TO:b@example.test\r\n",
    /* 38 */
    b"EHLO client.example\r\nMAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nDATA\r\n",
];

/// The configuration chosen by three bytes.
#[must_use]
pub fn server_config_for(bytes: [u8; 3]) -> ServerConfig {
    let [a, b, c] = bytes;
    let mut config = ServerConfig::new("mx.example.test");
    config.lmtp = a & 1 != 0;
    config.enable_smtputf8 = a & 2 != 0;
    config.enable_dsn = a & 4 != 0;
    config.enable_binarymime = a & 8 != 0;
    config.enable_requiretls = a & 16 != 0;
    config.tls_available = a & 32 != 0;
    config.strict = a & 64 != 0;
    config.allow_insecure_auth = a & 128 != 0;
    config.xclient_allowed = b & 1 != 0;
    config.bare_lf = if b & 2 != 0 {
        BareLf::Reject
    } else {
        BareLf::Normalize
    };
    config.transcript = true;
    config.max_message_bytes = match (b >> 2) & 3 {
        0 => 0,
        1 => 20,
        2 => 200,
        _ => 25 * 1024 * 1024,
    };
    config.max_recipients = usize::from((b >> 4) & 3);
    config.auth_disabled = b & 64 != 0;
    if b & 128 != 0 {
        config.auth_mechanisms = vec![
            Mechanism::Plain,
            Mechanism::Login,
            Mechanism::XOAuth2,
            Mechanism::OAuthBearer,
        ];
    }
    config.max_line_length = match c & 3 {
        0 => 2000,
        1 => 16,
        2 => 64,
        _ => 512,
    };
    config.content_window = match (c >> 2) & 3 {
        0 => 64 * 1024,
        1 => 1,
        2 => 7,
        _ => 100,
    };
    config.max_errors = u32::from((c >> 4) & 3);
    config.read_timeout = (c & 64 == 0).then(|| Duration::from_secs(300));
    // The extensions that only add parameters ride on one bit: DSN's.
    config.enable_rrvs = config.enable_dsn;
    config.enable_deliver_by = config.enable_dsn;
    config.minimum_deliver_by_time = Duration::from_secs(if c & 128 != 0 { 60 } else { 0 });
    config.enable_mt_priority = config.enable_dsn;
    config.mt_priority_profile = (c & 128 != 0).then_some(MtPriorityProfile::Mixer);
    config
}

/// How the application answers decisions.
#[derive(Debug, Clone, Copy)]
enum Policy {
    Accept,
    Temporary,
    Permanent,
    /// Leave it pending until an `answer` action.
    Late,
}

struct Runner {
    session: ServerSession,
    now: Timestamp,
    policy: Policy,
    pending: Option<RequestId>,
    last_id: u64,
    closed: bool,
    in_message: bool,
    message_bytes: u64,
    unconfirmed: usize,
    window: usize,
    replies: ReplyParser,
    /// The last server line in the transcript was a 334 challenge.
    challenged: bool,
}

/// Runs one program (see the module documentation).
pub fn run_server_session(data: &[u8]) {
    let config_bytes = [
        data.first().copied().unwrap_or(0),
        data.get(1).copied().unwrap_or(0),
        data.get(2).copied().unwrap_or(0),
    ];
    let config = server_config_for(config_bytes);
    let window = config.content_window.max(2);
    let peer = PeerInfo {
        remote_ip: Some(std::net::IpAddr::from([192, 0, 2, 7])),
        ..PeerInfo::default()
    };
    let now = Timestamp::from_unix_millis(START);
    let Ok(session) = ServerSession::new(config, peer, now) else {
        return;
    };
    let mut runner = Runner {
        session,
        now,
        policy: Policy::Accept,
        pending: None,
        last_id: 0,
        closed: false,
        in_message: false,
        message_bytes: 0,
        unconfirmed: 0,
        window,
        replies: ReplyParser::new(ReplyLimits::default()),
        challenged: false,
    };
    runner.drain();
    let mut program = data.get(3..).unwrap_or_default();
    for _ in 0..SERVER_MAX_ACTIONS {
        let Some((&op, rest)) = program.split_first() else {
            break;
        };
        let a = rest.first().copied().unwrap_or(0);
        let b = rest.get(1).copied().unwrap_or(0);
        program = rest.get(2..).unwrap_or_default();
        program = runner.step(op, a, b, program);
        runner.drain();
    }
    // Whatever the program left, the end of the connection closes the session.
    runner.session.handle_eof(runner.now);
    runner.drain();
    assert!(runner.closed, "the session did not close at EOF");
}

impl Runner {
    /// One action; returns the rest of the program.
    fn step<'a>(&mut self, op: u8, a: u8, b: u8, program: &'a [u8]) -> &'a [u8] {
        match op % 12 {
            // Raw client bytes: `a` of them.
            0 => {
                let (raw, rest) = program.split_at(usize::from(a).min(program.len()));
                self.input(raw);
                return rest;
            }
            // A canned line, `b + 1` times (long pipelines and long content cheaply).
            1..=3 => {
                let line = CLIENT_LINES[usize::from(a) % CLIENT_LINES.len()];
                for _ in 0..=usize::from(b % 8) {
                    self.input(line);
                }
            }
            // A canned line split at every byte.
            4 => {
                let line = CLIENT_LINES[usize::from(a) % CLIENT_LINES.len()];
                for byte in line.chunks(1) {
                    self.input(byte);
                }
            }
            5 => {
                self.policy = match a % 4 {
                    0 => Policy::Accept,
                    1 => Policy::Temporary,
                    2 => Policy::Permanent,
                    _ => Policy::Late,
                };
            }
            // Answer the late decision now (accept or refuse), or an id that is not pending.
            6 => {
                let stale = RequestId(self.last_id.saturating_sub(u64::from(a % 3)) + u64::from(b % 2));
                match self.pending {
                    Some(id) if a % 3 == 0 && b % 2 == 0 => {
                        self.pending = None;
                        let decision = if b & 2 == 0 { Decision::Accept } else { refusal(b) };
                        self.answer(id, decision);
                    }
                    _ if Some(stale) != self.pending => {
                        let before = self.session.wants_input();
                        assert!(
                            self.session.answer(stale, Decision::Accept, self.now).is_err(),
                            "an answer to a decision that is not pending was taken"
                        );
                        assert_eq!(before, self.session.wants_input());
                        assert!(
                            self.session.poll_transmit().is_none(),
                            "a refused answer wrote something"
                        );
                    }
                    _ => {}
                }
            }
            7 => {
                let bytes = usize::from(a) * (usize::from(b) + 1);
                let bytes = bytes.min(self.unconfirmed);
                self.unconfirmed -= bytes;
                self.session.content_read(bytes, self.now);
            }
            8 => {
                self.now = self.now.saturating_add(Duration::from_secs(u64::from(a) * 4));
                self.timeout();
            }
            9 => self.session.shutdown(self.now),
            10 => {
                // The layer below finished (or failed) the handshake STARTTLS asked for.
                if b % 4 == 0 {
                    self.session.handle_tls_failed(self.now);
                } else {
                    self.session.handle_tls_established(self.now);
                }
            }
            _ => {
                self.session.handle_eof(self.now);
            }
        }
        program
    }

    fn input(&mut self, bytes: &[u8]) {
        self.session.handle_input(bytes, self.now);
        self.drain();
    }

    fn timeout(&mut self) {
        match self.session.poll_timeout() {
            Some(deadline) if deadline > self.now => {
                // Early: nothing may happen.
                self.session.handle_timeout(self.now);
                assert!(
                    self.session.poll_transmit().is_none(),
                    "an early timeout wrote something"
                );
                assert!(
                    self.session.poll_event().is_none(),
                    "an early timeout reported something"
                );
            }
            _ => self.session.handle_timeout(self.now),
        }
    }

    fn answer(&mut self, id: RequestId, decision: Decision) {
        let lmtp = self.session.config().lmtp;
        let result = if lmtp {
            self.session.answer_lmtp(
                id,
                decision.clone(),
                vec![None, Some(refusal(3)), Some(Decision::Accept)],
                self.now,
            )
        } else {
            self.session.answer(id, decision, self.now)
        };
        assert!(
            result.is_ok(),
            "the pending decision's answer was refused: {result:?}"
        );
        // What this answer released was written before any event it caused (a Closed among them) is looked at.
        while let Some(bytes) = self.session.poll_transmit() {
            self.check_replies(&bytes);
        }
    }

    /// Drains every poll, answering decisions per the policy, and checks the invariants.
    fn drain(&mut self) {
        for _ in 0..10_000 {
            let mut progressed = false;
            if let Some(bytes) = self.session.poll_transmit() {
                progressed = true;
                assert!(!self.closed, "transmitted after Closed");
                self.check_replies(&bytes);
            }
            let _ = self.session.poll_start_tls();
            while let Some(event) = self.session.poll_event() {
                progressed = true;
                self.event(event);
            }
            if !progressed {
                break;
            }
        }
        if self.closed {
            assert!(self.session.poll_timeout().is_none(), "a deadline after Closed");
            assert!(!self.session.wants_input(), "input wanted after Closed");
        }
        assert!(
            self.unconfirmed <= self.window + 2,
            "{} content bytes handed out unconfirmed with a window of {}",
            self.unconfirmed,
            self.window
        );
    }

    fn check_replies(&mut self, bytes: &[u8]) {
        assert!(
            !has_bare_cr_or_lf(bytes),
            "a bare CR or LF in the replies: {:?}",
            bytes.escape_ascii().to_string()
        );
        self.replies.push(bytes);
        loop {
            match self.replies.next_reply() {
                Ok(Some(reply)) => assert!((200..600).contains(&reply.code()), "reply code {}", reply.code()),
                Ok(None) => break,
                Err(error) => panic!(
                    "the replies do not parse: {error}: {:?}",
                    bytes.escape_ascii().to_string()
                ),
            }
        }
    }

    fn event(&mut self, event: ServerEvent) {
        assert!(!self.closed, "an event after Closed: {event:?}");
        let id = event.request_id();
        match &event {
            ServerEvent::MessageStart { .. } => {
                assert!(!self.in_message, "MessageStart inside a message");
                self.in_message = true;
                self.message_bytes = 0;
            }
            ServerEvent::Content(chunk) => {
                assert!(self.in_message, "content outside a message");
                assert!(!chunk.is_empty(), "an empty content chunk");
                self.message_bytes += chunk.len() as u64;
                self.unconfirmed += chunk.len();
            }
            ServerEvent::MessageEnd { size, .. } | ServerEvent::LmtpMessageEnd { size, .. } => {
                assert!(self.in_message, "the end of a message that did not start");
                assert_eq!(
                    *size, self.message_bytes,
                    "MessageEnd size differs from the content handed out"
                );
                self.in_message = false;
                // The window is per message: what the application has not confirmed by the end is its own.
                self.unconfirmed = 0;
            }
            ServerEvent::MessageAborted { .. } | ServerEvent::Reset => {
                self.in_message = false;
                self.unconfirmed = 0;
            }
            ServerEvent::Transcript(line) if !line.from_client => {
                self.challenged = line.text.starts_with("334");
            }
            ServerEvent::Transcript(line) => {
                // An AUTH command, and the line answering a 334 challenge, carry credentials. (Outside an AUTH
                // exchange the same text is just an unknown command, and shown.)
                let sasl = self.challenged
                    || line
                        .text
                        .get(..5)
                        .is_some_and(|v| v.eq_ignore_ascii_case("AUTH "));
                self.challenged = false;
                if sasl {
                    for secret in SECRETS {
                        assert!(
                            !line.text.contains(secret),
                            "a secret in the transcript: {:?}",
                            line.text
                        );
                    }
                }
            }
            ServerEvent::Closed { .. } => {
                self.closed = true;
                self.pending = None;
            }
            _ => {}
        }
        if let Some(id) = id {
            assert!(self.pending.is_none(), "a second decision while one is pending");
            assert!(id.get() > self.last_id, "request ids must increase");
            self.last_id = id.get();
            let decision = match self.policy {
                Policy::Accept => Some(Decision::Accept),
                Policy::Temporary => Some(refusal(0)),
                Policy::Permanent => Some(refusal(1)),
                Policy::Late => None,
            };
            match decision {
                Some(decision) => self.answer(id, decision),
                None => self.pending = Some(id),
            }
        }
    }
}

fn refusal(selector: u8) -> Decision {
    if selector % 2 == 0 {
        Decision::reply(451, (4, 3, 0), "try again later")
    } else {
        Decision::reply(550, (5, 7, 1), "refused\r\nwith an injected line")
    }
}
