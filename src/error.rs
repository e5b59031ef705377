//! Typed errors, h11-style: the server said no ([`Error::Rejected`]), the server broke the protocol
//! ([`Error::Protocol`]), the caller misused the API ([`Error::Usage`]), the caller's input was refused before any byte
//! was written ([`Error::InvalidInput`]), plus the connection-level failures (closed, timeout, TLS).

use std::fmt;

use crate::reply::Reply;

/// Which piece of caller input an [`InputError`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Field {
    /// The name sent in EHLO/HELO/LHLO.
    LocalName,
    /// The sender address of `MAIL FROM`.
    From,
    /// A recipient address of `RCPT TO`.
    To,
    /// The argument of `VRFY`.
    VrfyArgument,
    /// `ENVID` (MailOptions.envelopeId).
    EnvelopeId,
    /// `ORCPT` (RcptOptions.originalRecipient / originalRecipientType).
    OriginalRecipient,
    /// `AUTH=` on MAIL (MailOptions.auth).
    MailAuth,
    /// `NOTIFY` (RcptOptions.notify).
    Notify,
    /// `SIZE` (MailOptions.size).
    Size,
    /// `BODY` (MailOptions.body).
    Body,
    /// The SASL mechanism name.
    Mechanism,
    /// The SASL authentication identity.
    Username,
    /// The SASL password.
    Password,
    /// The SASL authorization identity.
    Identity,
    /// An OAuth 2.0 access token.
    AccessToken,
    /// A SASL response computed from the credentials.
    SaslResponse,
    /// The message content.
    Message,
    /// A whole command line.
    CommandLine,
    /// A session or connection option.
    Option,
}

impl Field {
    /// The field's name as the public API spells it.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Field::LocalName => "localName",
            Field::From => "from",
            Field::To => "to",
            Field::VrfyArgument => "address",
            Field::EnvelopeId => "envelopeId",
            Field::OriginalRecipient => "originalRecipient",
            Field::MailAuth => "auth",
            Field::Notify => "notify",
            Field::Size => "size",
            Field::Body => "body",
            Field::Mechanism => "mechanism",
            Field::Username => "username",
            Field::Password => "password",
            Field::Identity => "identity",
            Field::AccessToken => "accessToken",
            Field::SaslResponse => "saslResponse",
            Field::Message => "message",
            Field::CommandLine => "command",
            Field::Option => "option",
        }
    }
}

/// Why an input was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum InputErrorReason {
    /// CR, LF, NUL, another C0 control character or DEL, at this byte offset.
    ControlCharacter {
        /// The refused byte.
        byte: u8,
        /// Its offset in the value.
        offset: usize,
    },
    /// The value is empty where something is required.
    Empty,
    /// Longer than the protocol allows.
    TooLong {
        /// The limit in octets.
        limit: usize,
        /// The actual length in octets.
        actual: usize,
    },
    /// Non-ASCII text where only ASCII is allowed (addresses need SMTPUTF8, advertised and requested).
    NonAscii {
        /// Offset of the first non-ASCII byte.
        offset: usize,
    },
    /// A character that must be quoted or escaped (`<`, `>`, space) appears bare.
    Unquoted {
        /// The character.
        character: char,
        /// Its offset in the value.
        offset: usize,
    },
    /// 8-bit data in a message sent without an agreed `BODY=8BITMIME` or `BINARYMIME`.
    EightBitWithoutMime {
        /// Offset from the start of the message.
        offset: u64,
    },
    /// A NUL byte in a message (never allowed in DATA).
    NulInMessage {
        /// Offset from the start of the message.
        offset: u64,
    },
    /// Some other syntax rule, described.
    Syntax(&'static str),
}

/// Caller input refused before any byte was queued for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputError {
    /// Which input.
    pub field: Field,
    /// Why.
    pub reason: InputErrorReason,
}

impl InputError {
    /// An error about `field` for `reason`.
    #[must_use]
    pub fn new(field: Field, reason: InputErrorReason) -> Self {
        InputError { field, reason }
    }
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let field = self.field.name();
        match &self.reason {
            InputErrorReason::ControlCharacter { byte, offset } => {
                let name = match byte {
                    b'\r' => "CR".to_string(),
                    b'\n' => "LF".to_string(),
                    0 => "NUL".to_string(),
                    0x7f => "DEL".to_string(),
                    other => format!("control character 0x{other:02x}"),
                };
                write!(f, "{field}: {name} at offset {offset} is not allowed")
            }
            InputErrorReason::Empty => write!(f, "{field}: must not be empty"),
            InputErrorReason::TooLong { limit, actual } => {
                write!(f, "{field}: {actual} octets is longer than the limit of {limit}")
            }
            InputErrorReason::NonAscii { offset } => write!(
                f,
                "{field}: non-ASCII text at offset {offset} needs SMTPUTF8 (advertised by the server and requested)"
            ),
            InputErrorReason::Unquoted { character, offset } => {
                write!(f, "{field}: {character:?} at offset {offset} must be quoted")
            }
            InputErrorReason::EightBitWithoutMime { offset } => write!(
                f,
                "{field}: 8-bit byte at offset {offset} needs BODY=8BITMIME, which was not agreed; \
                 the transaction was aborted and the message was not sent"
            ),
            InputErrorReason::NulInMessage { offset } => write!(
                f,
                "{field}: NUL byte at offset {offset} is not allowed; \
                 the transaction was aborted and the message was not sent"
            ),
            InputErrorReason::Syntax(what) => write!(f, "{field}: {what}"),
        }
    }
}

impl std::error::Error for InputError {}

/// Where in the session something happened (a command's reply being awaited, or a part of the transaction).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Phase {
    /// Waiting for the server's greeting.
    Greeting,
    /// EHLO / HELO / LHLO.
    Hello,
    /// STARTTLS and the handshake that follows.
    StartTls,
    /// The TLS handshake (implicit TLS, or after STARTTLS's 220).
    TlsHandshake,
    /// AUTH.
    Auth,
    /// MAIL FROM.
    Mail,
    /// RCPT TO.
    Rcpt,
    /// DATA, waiting for 354.
    DataInit,
    /// Sending the message content.
    DataBlock,
    /// Waiting for the reply to the final dot (or BDAT LAST).
    DataEnd,
    /// A BDAT chunk that is not the last one.
    Bdat,
    /// RSET.
    Rset,
    /// NOOP.
    Noop,
    /// VRFY.
    Vrfy,
    /// QUIT.
    Quit,
    /// A raw command given to `ClientSession::command` (go-smtp's `Text`).
    Command,
    /// Between commands.
    Idle,
}

impl Phase {
    /// The phase's name, as used in error messages and by the JavaScript API.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Phase::Greeting => "greeting",
            Phase::Hello => "hello",
            Phase::StartTls => "starttls",
            Phase::TlsHandshake => "tls-handshake",
            Phase::Auth => "auth",
            Phase::Mail => "mail",
            Phase::Rcpt => "rcpt",
            Phase::DataInit => "data-init",
            Phase::DataBlock => "data-block",
            Phase::DataEnd => "data-end",
            Phase::Bdat => "bdat",
            Phase::Rset => "rset",
            Phase::Noop => "noop",
            Phase::Vrfy => "vrfy",
            Phase::Quit => "quit",
            Phase::Command => "command",
            Phase::Idle => "idle",
        }
    }

    /// Whether a message could have been partly transferred in this phase, so a failure here means "not sent".
    #[must_use]
    pub fn is_message_transfer(self) -> bool {
        matches!(self, Phase::DataBlock | Phase::DataEnd | Phase::Bdat)
    }
}

/// The server refused a command with a 4xx or 5xx reply (go-smtp's `SMTPError`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// The command that was refused, without its arguments (`"RCPT TO"`, `"DATA"`, `"AUTH PLAIN"`, ...).
    pub command: String,
    /// The whole reply.
    pub reply: Reply,
}

impl Rejection {
    /// A 4xx is temporary; a 552 to RCPT also counts as temporary (RFC 5321 4.5.3.1.10: "too many recipients"
    /// historically came as 552, and the client should retry those recipients later).
    #[must_use]
    pub fn is_temporary(&self) -> bool {
        self.reply.is_transient_failure() || (self.reply.code() == 552 && self.command == "RCPT TO")
    }
}

/// What kind of TLS failure happened, in terms a user can act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TlsErrorKind {
    /// The certificate chain does not lead to a trusted root (add the CA with `rootCertificates`).
    UnknownIssuer,
    /// The server presented a self-signed certificate that is not trusted.
    SelfSigned,
    /// A certificate in the chain has expired.
    Expired,
    /// A certificate in the chain is not valid yet (or the clock is wrong).
    NotYetValid,
    /// The certificate is not valid for the server name that was asked for.
    NameMismatch,
    /// A signature did not verify.
    BadSignature,
    /// The certificate was revoked, or is otherwise unusable (wrong key usage, unsupported algorithm).
    BadCertificate,
    /// The server sent a TLS alert.
    AlertReceived,
    /// No protocol version in common (TLS 1.2 and 1.3 are offered).
    ProtocolVersion,
    /// The server answered with something that is not TLS.
    NotTls,
    /// The connection closed during the handshake.
    ClosedDuringHandshake,
    /// Any other TLS failure, described in the message.
    Other,
}

impl TlsErrorKind {
    /// The kind's name, as the JavaScript API spells it.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            TlsErrorKind::UnknownIssuer => "unknown-issuer",
            TlsErrorKind::SelfSigned => "self-signed",
            TlsErrorKind::Expired => "expired",
            TlsErrorKind::NotYetValid => "not-yet-valid",
            TlsErrorKind::NameMismatch => "name-mismatch",
            TlsErrorKind::BadSignature => "bad-signature",
            TlsErrorKind::BadCertificate => "bad-certificate",
            TlsErrorKind::AlertReceived => "alert-received",
            TlsErrorKind::ProtocolVersion => "protocol-version",
            TlsErrorKind::NotTls => "not-tls",
            TlsErrorKind::ClosedDuringHandshake => "closed-during-handshake",
            TlsErrorKind::Other => "other",
        }
    }
}

/// A TLS failure: its kind and a message that says what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsError {
    /// The kind of failure.
    pub kind: TlsErrorKind,
    /// A readable explanation.
    pub message: String,
}

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TLS {}: {}", self.kind.name(), self.message)
    }
}

impl std::error::Error for TlsError {}

/// Everything that can go wrong in a session.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The server refused a command (4xx/5xx).
    Rejected(Rejection),
    /// The server broke the protocol (malformed reply, unexpected code, oversized reply, ...). The session is over.
    Protocol(String),
    /// The API was used in a way the session's state does not allow (a command after QUIT, a body without DATA, ...).
    /// Nothing was written.
    Usage(String),
    /// Caller input refused before any byte was written for it.
    InvalidInput(InputError),
    /// The connection closed before the session was done.
    Closed {
        /// What the session was doing.
        phase: Phase,
        /// Whether part of a reply had arrived.
        mid_reply: bool,
    },
    /// A deadline passed (RFC 5321 4.5.3.2 timeouts, or the whole-command limit).
    Timeout {
        /// What the session was waiting for.
        phase: Phase,
    },
    /// The server did not advertise STARTTLS and TLS is required.
    StartTlsNotOffered,
    /// Bytes arrived after the STARTTLS 220 and before the TLS handshake (CVE-2011-0411 command injection).
    StartTlsInjection,
    /// The server advertised no AUTH mechanism usable with the given credentials (or not the one asked for).
    AuthMechanismNotOffered {
        /// The mechanism asked for, if one was named.
        mechanism: Option<String>,
        /// What the server offers.
        offered: Vec<String>,
    },
    /// AUTH would send credentials in cleartext to a host that is not localhost, and `allow_insecure_auth` is off.
    InsecureAuth,
    /// A MAIL/RCPT option needs an extension the server did not advertise.
    ExtensionNotSupported {
        /// The extension (`SMTPUTF8`, `DSN`, `REQUIRETLS`, ...).
        extension: &'static str,
    },
    /// TLS failed.
    Tls(TlsError),
    /// The caller abandoned the operation (for example a message stream that failed); the message was not sent.
    Aborted(String),
}

impl Error {
    /// Whether retrying later may succeed: a 4xx reply (or 552 to RCPT), a timeout, or a closed connection.
    #[must_use]
    pub fn is_temporary(&self) -> bool {
        match self {
            Error::Rejected(rejection) => rejection.is_temporary(),
            Error::Timeout { .. } | Error::Closed { .. } => true,
            _ => false,
        }
    }

    /// The reply behind a rejection, if this is one.
    #[must_use]
    pub fn reply(&self) -> Option<&Reply> {
        match self {
            Error::Rejected(rejection) => Some(&rejection.reply),
            _ => None,
        }
    }

    /// A short stable name for the error's kind, used by the JavaScript API to pick an error class.
    #[must_use]
    pub fn kind_name(&self) -> &'static str {
        match self {
            Error::Rejected(_) => "rejected",
            Error::Protocol(_) => "protocol",
            Error::Usage(_) => "usage",
            Error::InvalidInput(_) => "invalid-input",
            Error::Closed { .. } => "closed",
            Error::Timeout { .. } => "timeout",
            Error::StartTlsNotOffered => "starttls-not-offered",
            Error::StartTlsInjection => "starttls-injection",
            Error::AuthMechanismNotOffered { .. } => "auth-mechanism-not-offered",
            Error::InsecureAuth => "insecure-auth",
            Error::ExtensionNotSupported { .. } => "extension-not-supported",
            Error::Tls(_) => "tls",
            Error::Aborted(_) => "aborted",
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Rejected(rejection) => {
                write!(f, "{} refused: {} {}", rejection.command, rejection.reply.code(), rejection.reply.message())
            }
            Error::Protocol(message) => write!(f, "server broke the SMTP protocol: {message}"),
            Error::Usage(message) => write!(f, "API misuse: {message}"),
            Error::InvalidInput(input) => write!(f, "invalid input: {input}"),
            Error::Closed { phase, mid_reply } => {
                write!(f, "connection closed during {}", phase.name())?;
                if *mid_reply {
                    f.write_str(" (in the middle of a reply)")?;
                }
                if phase.is_message_transfer() {
                    f.write_str("; the message was not sent")?;
                }
                Ok(())
            }
            Error::Timeout { phase } => {
                write!(f, "timed out during {}", phase.name())?;
                if phase.is_message_transfer() {
                    f.write_str("; the message was not sent")?;
                }
                Ok(())
            }
            Error::StartTlsNotOffered => f.write_str(
                "the server does not offer STARTTLS and TLS is required (set tls to \"opportunistic\" or \"none\" \
                 only if you accept sending in cleartext)",
            ),
            Error::StartTlsInjection => f.write_str(
                "the server sent data after its STARTTLS reply and before the TLS handshake (command injection, \
                 CVE-2011-0411); the session was aborted",
            ),
            Error::AuthMechanismNotOffered { mechanism, offered } => {
                match mechanism {
                    Some(mechanism) => write!(f, "the server does not offer AUTH {mechanism}")?,
                    None => f.write_str("the server offers no AUTH mechanism usable with these credentials")?,
                }
                if offered.is_empty() {
                    f.write_str(" (it advertises no AUTH at all; is TLS needed first?)")
                } else {
                    write!(f, " (it offers {})", offered.join(", "))
                }
            }
            Error::InsecureAuth => f.write_str(
                "refusing to send credentials without TLS to a host that is not localhost \
                 (use STARTTLS or implicit TLS, or set allowInsecureAuth)",
            ),
            Error::ExtensionNotSupported { extension } => {
                write!(f, "the server does not advertise {extension}, which this option needs")
            }
            Error::Tls(tls) => fmt::Display::fmt(tls, f),
            Error::Aborted(why) => write!(f, "aborted: {why}; the message was not sent"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::InvalidInput(input) => Some(input),
            Error::Tls(tls) => Some(tls),
            _ => None,
        }
    }
}

impl From<InputError> for Error {
    fn from(input: InputError) -> Self {
        Error::InvalidInput(input)
    }
}

impl From<TlsError> for Error {
    fn from(tls: TlsError) -> Self {
        Error::Tls(tls)
    }
}
