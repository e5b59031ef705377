//! What the session reports through `poll_event`.

use crate::error::Error;
use crate::reply::Reply;

/// The handle of an operation; every [`Event::Completed`] and [`Event::BodyReady`] carries the handle of the
/// operation it belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CommandId(pub(crate) u64);

impl CommandId {
    /// The handle as a number (unique within one session).
    #[must_use]
    pub fn value(self) -> u64 {
        self.0
    }

    /// The handle with this number (for bindings that pass handles as numbers).
    #[must_use]
    pub fn from_value(value: u64) -> Self {
        CommandId(value)
    }
}

/// Who sent a transcript line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// The client (us), `C:`.
    Client,
    /// The server, `S:`.
    Server,
}

/// One line of the transcript (for debugging); AUTH payloads are redacted, message content is summarised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TranscriptLine {
    /// Who sent it.
    pub direction: Direction,
    /// The line without its line end.
    pub text: String,
}

/// The outcome of one recipient in a transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecipientOutcome {
    /// The recipient address as given.
    pub recipient: String,
    /// The server's acceptance (RCPT reply, or for LMTP the reply after the message), or why it was refused.
    pub result: Result<Reply, Error>,
}

/// The outcome of a whole transaction ([`crate::client::ClientSession::send_mail`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionReport {
    /// Recipients the message was accepted for.
    pub accepted: Vec<String>,
    /// Recipients refused (at RCPT, or for LMTP after the message), each with its error.
    pub rejected: Vec<(String, Error)>,
    /// The server's reply after the message (for LMTP, the first successful per-recipient reply).
    pub reply: Reply,
    /// Every recipient in order with its outcome.
    pub recipients: Vec<RecipientOutcome>,
}

/// What a successful operation produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Completion {
    /// The final reply of the operation (EHLO's capabilities reply, MAIL's 250, DATA's final 250, QUIT's 221, ...).
    Reply(Reply),
    /// Completed without a reply to show (QUIT answered by a close, or STARTTLS skipped because it is optional and not
    /// offered).
    Done,
    /// A whole transaction.
    Transaction(TransactionReport),
    /// LMTP's per-recipient replies after a message sent with `data`.
    Recipients(Vec<RecipientOutcome>),
}

/// An output of the session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The server's greeting (220).
    Greeting(Reply),
    /// An operation finished.
    Completed {
        /// Its handle.
        id: CommandId,
        /// What it produced, or why it failed.
        result: Result<Completion, Error>,
    },
    /// The server is ready for the message content of this operation (after 354, or when BDAT may start): call
    /// `send_body` and then `finish_body`.
    BodyReady {
        /// The operation's handle.
        id: CommandId,
    },
    /// The server's challenge (base64-decoded) in an AUTH exchange of [`crate::client::ClientSession::auth_custom`]:
    /// answer with `sasl_respond(id, ...)`.
    SaslChallenge {
        /// The operation's handle.
        id: CommandId,
        /// The challenge bytes.
        challenge: Vec<u8>,
    },
    /// A transcript line (only when enabled in the configuration).
    Transcript(TranscriptLine),
    /// TLS is up (after STARTTLS's handshake, or the implicit-TLS handshake). Emitted by [`crate::Connection`].
    TlsEstablished,
    /// The session is over: after QUIT (`None`), or because of this error. Close the transport.
    Closed {
        /// Why, if not by QUIT.
        error: Option<Error>,
    },
}
