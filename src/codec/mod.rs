//! Every byte rule of SMTP in one place: reading replies, reading EHLO, writing command lines, and encoding message
//! content for DATA (CRLF normalisation and dot-stuffing) and BDAT (chunking).
//!
//! Nothing here knows about session state; the session decides what to send and feeds the results in here.

pub mod address;
pub mod bdat;
pub mod body;
mod crlf;
pub mod ehlo;
pub mod line;
pub mod reply_parser;
pub mod xtext;

/// Line-end normalisation, for the DKIM signer: it must hash the message as DATA will send it.
#[cfg(feature = "dkim")]
pub(crate) use crlf::Normalizer;
