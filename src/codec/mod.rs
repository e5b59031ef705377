//! Every byte rule of SMTP in one place, both directions. The client's: reading replies, reading EHLO, writing
//! command lines, encoding message content for DATA (CRLF normalisation and dot-stuffing) and BDAT (chunking). The
//! server's: reading command lines and their parameters ([`command`], [`params`]), decoding DATA and BDAT content
//! ([`content`]), and writing replies ([`reply_writer`]).
//!
//! Nothing here knows about session state; the session decides what to send and feeds the results in here.

pub mod address;
pub mod bdat;
pub mod body;
pub mod command;
pub mod content;
mod crlf;
pub mod ehlo;
pub mod line;
pub mod params;
pub mod proxy;
pub mod reply_parser;
pub mod reply_writer;
pub mod xtext;

/// Line-end normalisation, for the DKIM signer: it must hash the message as DATA will send it.
#[cfg(feature = "dkim")]
pub(crate) use crlf::Normalizer;
