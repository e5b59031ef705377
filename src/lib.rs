//! # smtp-wasm
//!
//! A sans-IO SMTP client core: the whole client side of Go's `net/smtp` and `go-smtp`, as a synchronous state
//! machine with no sockets, no clock and no randomness of its own. Bytes come in through `handle_input`, bytes and
//! events go out through `poll_transmit` and `poll_event`, and time is a value (`poll_timeout` /
//! `handle_timeout`). After any input, drain every poll.
//!
//! - [`ClientSession`]: the SMTP/LMTP state machine alone (plaintext in, plaintext out).
//! - [`Connection`]: the session over rustls (implicit TLS or STARTTLS), so the carrier only sees ciphertext.
//! - [`blocking::BlockingClient`] (native only): a small blocking driver over `std::net::TcpStream`.
//!
//! The same core runs natively in Rust and, compiled to WebAssembly, under the `smtp-wasm` npm package in Node, Deno,
//! Bun, Cloudflare Workers and browsers.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
pub mod blocking;
pub mod codec;
pub mod connection;
pub mod error;
pub mod reply;
pub mod sasl;
pub mod session;
pub mod time;
pub mod tls;

pub use connection::{Connection, ConnectionOptions};
pub use error::{Error, Field, InputError, InputErrorReason, Phase, Rejection, TlsError, TlsErrorKind};
pub use reply::{EnhancedCode, Reply};
pub use sasl::{Credentials, Mechanism};
pub use session::{
    BodyType, ClientSession, CommandId, Completion, Direction, DsnReturn, Envelope, Event, MailOptions,
    Notify, RcptOptions, RecipientOutcome, SessionConfig, Timeouts, TransactionReport, TranscriptLine,
};
pub use time::Timestamp;
pub use tls::{TlsConnector, TlsInfo, TlsLayer, TlsOptions};

/// The README's Rust examples, compiled as doctests so they cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
mod wasm;
