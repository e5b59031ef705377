//! # smtp-wasm
//!
//! Sans-IO SMTP/LMTP cores for both roles: the client side of Go's `net/smtp` and `go-smtp` and the server side of
//! `go-smtp`, each a synchronous state machine with no sockets, no clock and no randomness of its own. Bytes come in through `handle_input`, bytes and
//! events go out through `poll_transmit` and `poll_event`, and time is a value (`poll_timeout` /
//! `handle_timeout`). After any input, drain every poll.
//!
//! - [`ClientSession`]: the SMTP/LMTP state machine alone (plaintext in, plaintext out).
//! - [`Connection`]: the session over rustls (implicit TLS or STARTTLS), so the carrier only sees ciphertext.
//! - [`blocking::BlockingClient`] (native only): a small blocking driver over `std::net::TcpStream`.
//! - [`ServerSession`] (feature `server`): the SMTP/LMTP server state machine, the same shape turned around; the
//!   application answers each [`ServerEvent`] that carries a [`RequestId`] with a [`Decision`];
//!   [`ServerConnection`] puts it over rustls, [`blocking::BlockingServer`] drives it over `std::net`.
//! - `compose` and `dkim` (features of the same names): a MIME message builder and a DKIM signer.
//!
//! The same core runs natively in Rust and, compiled to WebAssembly, under the `smtp-wasm` npm package in Node, Deno,
//! Bun, Cloudflare Workers and browsers.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

#[cfg(all(
    not(all(target_arch = "wasm32", target_os = "unknown")),
    any(feature = "client", feature = "server")
))]
pub mod blocking;
#[cfg(feature = "client")]
pub mod client;
pub mod codec;
#[cfg(feature = "compose")]
pub mod compose;
#[cfg(feature = "dkim")]
pub mod dkim;
pub mod error;
/// The fuzz targets' bodies (feature `fuzzing`, enabled by `fuzz/` and the tests; never in a release build).
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
pub mod reply;
pub mod sasl;
#[cfg(feature = "server")]
pub mod server;
pub mod time;
pub mod tls;

#[cfg(feature = "client")]
pub use client::connection::{Connection, ConnectionOptions};
#[cfg(feature = "client")]
pub use client::{
    BodyType, ClientSession, CommandId, Completion, Direction, DsnReturn, Envelope, Event, MailOptions,
    Notify, RcptOptions, RecipientOutcome, SessionConfig, Timeouts, TransactionReport, TranscriptLine,
};
#[cfg(feature = "server")]
pub use codec::content::BareLf;
#[cfg(feature = "server")]
pub use codec::params::{
    DeliverBy, DeliverByMode, DsnNotify, DsnRet, MailBody, MtPriorityProfile, RequireRecipientValidSince,
    RrvsAction, ServerMailOptions, ServerRcptOptions,
};
#[cfg(feature = "server")]
pub use codec::reply_writer::{IntoEnhancedCode, ServerReply};
pub use error::{Error, Field, InputError, InputErrorReason, Phase, Rejection, TlsError, TlsErrorKind};
pub use reply::{EnhancedCode, Reply};
pub use sasl::{Credentials, Mechanism};
#[cfg(feature = "server")]
pub use server::{
    CloseReason, Decision, HelloKind, MessageAbort, PeerInfo, RequestId, ServerConfig, ServerConnection,
    ServerEvent, ServerSession, ServerTranscriptLine, XclientAttribute,
};
pub use time::Timestamp;
pub use tls::{ClientCertificate, TlsConnector, TlsInfo, TlsLayer, TlsOptions};
#[cfg(feature = "server")]
pub use tls::{SniCertificate, TlsAcceptor, TlsServerOptions};

/// The README's Rust examples, compiled as doctests so they cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

/// The JavaScript bindings (wasm32-unknown-unknown only). Public so that wasm-tests/bindings can drive
/// [`wasm::WasmConnection`] through exactly the values JavaScript sees; the npm package is their only real user.
#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
#[doc(hidden)]
pub mod wasm;
