//! # smtp-wasm
//!
//! A sans-IO SMTP client core: the whole client side of Go's `net/smtp` and `go-smtp`, as a synchronous state
//! machine with no sockets, no clock and no randomness of its own. Bytes come in through `handle_input`, bytes and
//! events go out through `poll_transmit` and `poll_event`, and time is a value (`poll_timeout` /
//! `handle_timeout`). After any input, drain every poll.
//!
//! The same core runs natively in Rust and, compiled to WebAssembly, under the `smtp-wasm` npm package in Node, Deno,
//! Bun, Cloudflare Workers and browsers.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod codec;
pub mod error;
pub mod reply;
pub mod time;
pub mod tls;

pub use error::{Error, Field, InputError, InputErrorReason, Phase, Rejection, TlsError, TlsErrorKind};
pub use reply::{EnhancedCode, Reply};
pub use time::Timestamp;
pub use tls::{TlsConnector, TlsInfo, TlsLayer, TlsOptions};
