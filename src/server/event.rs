//! What a server session tells the application, and how the application answers.

use crate::codec::params::{ServerMailOptions, ServerRcptOptions};
use crate::codec::reply_writer::{IntoEnhancedCode, ServerReply};
use crate::sasl::{Credentials, Mechanism};
use crate::tls::TlsInfo;

/// Names one decision the session waits for; answer it with [`crate::ServerSession::answer`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestId(pub(crate) u64);

impl RequestId {
    /// The number behind the id (unique within one session, increasing).
    #[must_use]
    pub fn get(self) -> u64 {
        self.0
    }
}

/// The application's answer to a decision event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Go ahead, with the session's usual success reply.
    Accept,
    /// Send this reply. A 2xx reply also accepts (with this text), anything else refuses.
    Reply(ServerReply),
}

impl Decision {
    /// A refusal (or a custom success, for a 2xx code): `Decision::reply(550, (5, 1, 1), "no such user")`.
    #[must_use]
    pub fn reply(code: u16, enhanced: impl IntoEnhancedCode, text: &str) -> Self {
        Decision::Reply(ServerReply::new(code, enhanced, text))
    }
}

/// Which hello command the client sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HelloKind {
    /// `HELO` (no extensions).
    Helo,
    /// `EHLO`
    Ehlo,
    /// `LHLO` (LMTP)
    Lhlo,
}

/// An XCLIENT attribute (Postfix XCLIENT_README).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum XclientAttribute {
    /// `ADDR`: the client's IP address.
    Addr,
    /// `PORT`: the client's port.
    Port,
    /// `PROTO`: `SMTP` or `ESMTP`.
    Proto,
    /// `HELO`: the client's hello name.
    Helo,
    /// `LOGIN`: the SASL login name.
    Login,
    /// `NAME`: the client's host name.
    Name,
    /// `DESTADDR`: the server address the client connected to.
    DestAddr,
    /// `DESTPORT`: the server port the client connected to.
    DestPort,
}

impl XclientAttribute {
    /// The attribute with this name (case-insensitive).
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name.to_ascii_uppercase().as_str() {
            "ADDR" => XclientAttribute::Addr,
            "PORT" => XclientAttribute::Port,
            "PROTO" => XclientAttribute::Proto,
            "HELO" => XclientAttribute::Helo,
            "LOGIN" => XclientAttribute::Login,
            "NAME" => XclientAttribute::Name,
            "DESTADDR" => XclientAttribute::DestAddr,
            "DESTPORT" => XclientAttribute::DestPort,
            _ => return None,
        })
    }

    /// The name on the wire.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            XclientAttribute::Addr => "ADDR",
            XclientAttribute::Port => "PORT",
            XclientAttribute::Proto => "PROTO",
            XclientAttribute::Helo => "HELO",
            XclientAttribute::Login => "LOGIN",
            XclientAttribute::Name => "NAME",
            XclientAttribute::DestAddr => "DESTADDR",
            XclientAttribute::DestPort => "DESTPORT",
        }
    }
}

/// Why a message will not complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageAbort {
    /// Over `max_message_bytes` (the session replies `552 5.3.4` once the message has been read to its end).
    TooBig,
    /// A bare LF with [`crate::BareLf::Reject`] (the session replies `550 5.5.2` at the end).
    BareLf,
    /// RSET (or a new hello) between BDAT chunks.
    Reset,
    /// The client closed the connection.
    PeerClosed,
    /// The read timeout fired.
    Timeout,
    /// [`crate::ServerSession::shutdown`].
    Shutdown,
}

/// Why the session closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    /// The client sent QUIT.
    Quit,
    /// The client closed the connection (or the layer below failed).
    PeerClosed,
    /// The read timeout fired (`421 4.4.2`).
    Timeout,
    /// Too many errors (`500 5.5.1`).
    TooManyErrors,
    /// [`crate::ServerSession::shutdown`] (`421`).
    Shutdown,
    /// The TLS handshake failed (the connection layer calls [`crate::ServerSession::handle_tls_failed`]).
    TlsFailed,
    /// The driver kept feeding input while [`crate::ServerSession::wants_input`] was false (`421 4.7.0`).
    InputOverflow,
}

/// One line of the protocol conversation, for debugging.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerTranscriptLine {
    /// `true` for what the client sent, `false` for the server's replies.
    pub from_client: bool,
    /// The line without its line end; AUTH payloads are `<redacted>`.
    pub text: String,
}

/// Everything the session reports. The variants with an `id` wait for [`crate::ServerSession::answer`] (or
/// `answer_lmtp`); the session reads no further input until they are answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerEvent {
    /// HELO, EHLO or LHLO. Accept: `250` (with the EHLO keywords). go-smtp's `NewSession`.
    Hello {
        /// Answer with this id.
        id: RequestId,
        /// Which command.
        kind: HelloKind,
        /// The client's name for itself.
        name: String,
    },
    /// AUTH credentials to check. Accept: `235 2.0.0`. The usual refusal is `535 5.7.8`.
    Auth {
        /// Answer with this id.
        id: RequestId,
        /// The mechanism used.
        mechanism: Mechanism,
        /// `Password` (PLAIN, LOGIN; `identity` is PLAIN's authorization identity) or `OAuth` (a bearer token).
        credentials: Credentials,
    },
    /// MAIL FROM. Accept: `250 2.0.0`; the transaction starts.
    Mail {
        /// Answer with this id.
        id: RequestId,
        /// The reverse path; empty for `<>`.
        from: String,
        /// The decoded parameters.
        options: ServerMailOptions,
    },
    /// RCPT TO. Accept: `250 2.0.0`; the recipient counts.
    Rcpt {
        /// Answer with this id.
        id: RequestId,
        /// The forward path.
        to: String,
        /// The decoded parameters.
        options: ServerRcptOptions,
    },
    /// Message content follows (after `354`, or with the first BDAT chunk).
    MessageStart {
        /// The content comes in BDAT chunks (raw, as sent) rather than DATA (dot-unstuffed).
        bdat: bool,
    },
    /// A piece of the message, as received and un-dot-stuffed (never more than about `content_window` bytes).
    /// Call [`crate::ServerSession::content_read`] with its length once it is consumed.
    Content(Vec<u8>),
    /// The end of the message (SMTP). Accept: `250 2.0.0 OK: queued`.
    MessageEnd {
        /// Answer with this id.
        id: RequestId,
        /// Content bytes delivered.
        size: u64,
    },
    /// The end of the message (LMTP): answer with [`crate::ServerSession::answer_lmtp`], one decision per
    /// recipient in this order.
    LmtpMessageEnd {
        /// Answer with this id.
        id: RequestId,
        /// Content bytes delivered.
        size: u64,
        /// The accepted recipients, in RCPT order (duplicates kept).
        recipients: Vec<String>,
    },
    /// The message being received will not complete; drop what arrived of it.
    MessageAborted {
        /// Why.
        reason: MessageAbort,
    },
    /// The transaction was reset (RSET, a new hello, STARTTLS, XCLIENT): go-smtp's `Session.Reset`.
    Reset,
    /// XCLIENT (only when `xclient_allowed`). Accept: the peer becomes the asserted one and a new `220` greeting is
    /// sent; hello, AUTH and the transaction are forgotten.
    Xclient {
        /// Answer with this id.
        id: RequestId,
        /// The attributes in the order sent, values decoded; `None` for `[UNAVAILABLE]` / `[TEMPUNAVAIL]`.
        attributes: Vec<(XclientAttribute, Option<String>)>,
    },
    /// `220 2.0.0 Ready to start TLS` was queued; [`crate::ServerSession::poll_start_tls`] says the same.
    StartTls,
    /// A TLS handshake completed (implicit TLS or STARTTLS). The session never emits this itself: the connection
    /// layer that runs TLS (`ServerConnection`) adds it to the events it passes on.
    TlsEstablished {
        /// Protocol version, cipher suite, SNI (`server_name`), resumption.
        info: TlsInfo,
    },
    /// The client sent QUIT (`221` queued); `Closed` follows.
    Quit,
    /// The session is over; write the remaining transmit bytes, then close the connection.
    Closed {
        /// Why.
        reason: CloseReason,
    },
    /// A protocol line (only with `transcript`).
    Transcript(ServerTranscriptLine),
}

impl ServerEvent {
    /// The decision this event waits for, if it is one (`Hello`, `Auth`, `Mail`, `Rcpt`, `MessageEnd`,
    /// `LmtpMessageEnd`, `Xclient`).
    #[must_use]
    pub fn request_id(&self) -> Option<RequestId> {
        match self {
            ServerEvent::Hello { id, .. }
            | ServerEvent::Auth { id, .. }
            | ServerEvent::Mail { id, .. }
            | ServerEvent::Rcpt { id, .. }
            | ServerEvent::MessageEnd { id, .. }
            | ServerEvent::LmtpMessageEnd { id, .. }
            | ServerEvent::Xclient { id, .. } => Some(*id),
            _ => None,
        }
    }
}
