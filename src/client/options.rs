//! What the caller configures: the session as a whole, and each MAIL / RCPT.

use core::time::Duration;

use crate::codec::reply_parser::ReplyLimits;

/// RFC 5321 section 4.5.3.2 timeouts, plus an optional limit on a whole command (go-smtp's `CommandTimeout`).
///
/// Each is the longest wait for one reply; a multi-step operation restarts the wait at each reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// The server's greeting (including an implicit-TLS handshake). RFC 5321: 5 minutes.
    pub greeting: Duration,
    /// MAIL. RFC 5321: 5 minutes.
    pub mail: Duration,
    /// RCPT. RFC 5321: 5 minutes.
    pub rcpt: Duration,
    /// DATA, until 354. RFC 5321: 2 minutes.
    pub data_init: Duration,
    /// Each block of message content (no progress for this long fails). RFC 5321: 3 minutes.
    pub data_block: Duration,
    /// The reply to the final dot (or BDAT LAST). RFC 5321: 10 minutes.
    pub data_end: Duration,
    /// Every other command (EHLO, STARTTLS and its handshake, AUTH, RSET, NOOP, VRFY, QUIT). 5 minutes.
    pub command: Duration,
    /// When set, no operation may take longer than this from its start (all its commands together).
    pub whole_command: Option<Duration>,
}

impl Default for Timeouts {
    fn default() -> Self {
        const MINUTE: Duration = Duration::from_secs(60);
        Timeouts {
            greeting: 5 * MINUTE,
            mail: 5 * MINUTE,
            rcpt: 5 * MINUTE,
            data_init: 2 * MINUTE,
            data_block: 3 * MINUTE,
            data_end: 10 * MINUTE,
            command: 5 * MINUTE,
            whole_command: None,
        }
    }
}

/// Configuration of one session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionConfig {
    /// The server's name as the caller knows it: in a [`crate::Connection`], the TLS name (SNI and verification).
    pub server_name: String,
    /// Whether the transport is a direct connection to a loopback address (`127.0.0.0/8`, `::1`), as the driver
    /// learned from the socket it actually connected. AUTH may go out without TLS only when this is set **and**
    /// `server_name` is `localhost`, `127.0.0.1` or `::1` (Go's net/smtp localhost rule, checked against the real
    /// address too, so a name the caller passed cannot open it). Never set it for a WebSocket bridge or any other
    /// relay: the hop after it is not loopback. Default `false`.
    pub loopback_peer: bool,
    /// The name sent in EHLO/HELO/LHLO when none is given. Default `localhost`, as in Go.
    pub local_name: String,
    /// Speak LMTP (RFC 2033): LHLO, no HELO fallback, one reply per recipient after the message.
    pub lmtp: bool,
    /// Allow AUTH without TLS to any host. Off by default: credentials never leave in cleartext.
    pub allow_insecure_auth: bool,
    /// Use BDAT (RFC 3030) when the server advertises CHUNKING. Default on; off forces DATA (except for
    /// `BODY=BINARYMIME`, which needs BDAT).
    pub prefer_chunking: bool,
    /// Content bytes per BDAT chunk. Default 64 KiB.
    pub bdat_chunk_size: usize,
    /// Timeouts.
    pub timeouts: Timeouts,
    /// Bounds on replies.
    pub reply_limits: ReplyLimits,
    /// Emit [`crate::client::Event::Transcript`] events (AUTH payloads redacted).
    pub transcript: bool,
    /// The session starts over TLS (implicit TLS, port 465): set by the layer below, which did the handshake.
    pub tls_at_start: bool,
}

impl SessionConfig {
    /// A configuration with the defaults, for a server known as `server_name`.
    #[must_use]
    pub fn new(server_name: impl Into<String>) -> Self {
        SessionConfig {
            server_name: server_name.into(),
            loopback_peer: false,
            local_name: "localhost".to_string(),
            lmtp: false,
            allow_insecure_auth: false,
            prefer_chunking: true,
            bdat_chunk_size: 64 * 1024,
            timeouts: Timeouts::default(),
            reply_limits: ReplyLimits::default(),
            transcript: false,
            tls_at_start: false,
        }
    }
}

/// The `BODY=` parameter of MAIL (RFC 6152, RFC 3030).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BodyType {
    /// `7BIT`: the message is plain ASCII; no BODY parameter is added.
    SevenBit,
    /// `8BITMIME` (the default whenever the server advertises 8BITMIME).
    EightBitMime,
    /// `BINARYMIME` (needs CHUNKING and BINARYMIME; the content goes unchanged through BDAT).
    BinaryMime,
}

/// The DSN `RET=` parameter (RFC 3461).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DsnReturn {
    /// `RET=FULL`: return the whole message in a failure DSN.
    Full,
    /// `RET=HDRS`: return only the headers.
    Headers,
}

/// Options of `MAIL FROM` (ARCHITECTURE's `MailOptions`). A parameter is sent only when the server advertised its
/// extension; asking for one it did not advertise is an error before any byte, except `size`, which is only a hint.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MailOptions {
    /// `SIZE=` (RFC 1870), the message size estimate in octets.
    pub size: Option<u64>,
    /// `BODY=`; `None` means 8BITMIME when advertised (Go's behaviour).
    pub body: Option<BodyType>,
    /// `SMTPUTF8` (RFC 6531): needed for non-ASCII addresses.
    pub smtp_utf8: bool,
    /// `REQUIRETLS` (RFC 8689): only over TLS.
    pub require_tls: bool,
    /// `RET=` (DSN).
    pub ret: Option<DsnReturn>,
    /// `ENVID=` (DSN), xtext-encoded on the wire.
    pub envelope_id: Option<String>,
    /// `AUTH=` (RFC 4954 section 5), the authenticated sender (`<>` for none), xtext-encoded on the wire.
    pub auth: Option<String>,
}

/// When the server should send delivery status notifications (RFC 3461 `NOTIFY=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Notify {
    /// `NOTIFY=NEVER`.
    Never,
    /// Any combination of `SUCCESS`, `FAILURE`, `DELAY` (at least one).
    On {
        /// Notify on successful delivery.
        success: bool,
        /// Notify on failure.
        failure: bool,
        /// Notify on delay.
        delay: bool,
    },
}

/// Options of `RCPT TO` (ARCHITECTURE's `RcptOptions`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RcptOptions {
    /// `NOTIFY=` (DSN).
    pub notify: Option<Notify>,
    /// `ORCPT=` address (DSN).
    pub original_recipient: Option<String>,
    /// The ORCPT address type; default `rfc822` (or `utf-8` for a non-ASCII address).
    pub original_recipient_type: Option<String>,
}

/// One whole transaction for [`crate::client::ClientSession::send_mail`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Envelope {
    /// The reverse-path (`""` for the null sender `<>`).
    pub from: String,
    /// The recipients, at least one.
    pub to: Vec<String>,
    /// MAIL options.
    pub mail_options: MailOptions,
    /// RCPT options, applied to every recipient.
    pub rcpt_options: RcptOptions,
}
