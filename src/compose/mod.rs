//! Composing RFC 5322 / MIME messages: addresses, subject, text and HTML bodies, attachments (in memory or streamed),
//! inline images by Content-ID, custom headers. The result is 7-bit clean with lines of at most 998 octets (78 for
//! headers where whitespace allows, 76 for encoded bodies), so any SMTP server takes it without 8BITMIME, unless an
//! address in From, To, Cc or Reply-To is not ASCII (`jörg@example.com`, `用户@例子.广告`): such an address is written
//! as raw UTF-8 (RFC 6532; there is no encoding for it), and the message then needs a server with SMTPUTF8
//! ([`Message::needs_smtputf8`]).
//!
//! Like the rest of the core, the composer has no clock and no randomness of its own: [`Message::compose`] takes the
//! time (for `Date`) and random bytes (for `Message-ID` and the MIME boundaries).
//!
//! ```
//! use smtp_wasm::compose::{Address, Attachment, Message};
//!
//! let mut message = Message::new(Address::parse("Ada <ada@example.com>")?);
//! message.to.push(Address::parse("bob@example.com")?);
//! message.subject = Some("Grüße 👋".into());
//! message.text = Some("Hello!\n".into());
//! message.html = Some("<p>Hello! <img src=\"cid:logo\"></p>".into());
//! message.attachments.push(Attachment::bytes("logo.png", vec![0x89, b'P', b'N', b'G']).with_cid("logo"));
//! let bytes = message.compose(1_700_000_000_000, [7; 16])?.to_bytes()?;
//! assert!(bytes.starts_with(b"Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"));
//! # Ok::<(), smtp_wasm::compose::ComposeError>(())
//! ```
//!
//! An attachment whose content is [`Content::Stream`] is encoded while it arrives: [`Composer::poll`] says when it
//! needs that attachment's bytes, which go in through [`Composer::push`] and [`Composer::end`].

mod date;
mod encode;
mod header;
mod part;

use std::collections::VecDeque;
use std::fmt;

pub use header::Address;

use encode::Base64Stream;

/// Why a message cannot be composed. Nothing of it has been produced (or sent) when this is returned.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ComposeError {
    /// A CR or LF in a header value, header name, address or filename (header injection).
    LineBreak {
        /// Which value held it.
        field: String,
    },
    /// A value that is not valid where it was given.
    Invalid {
        /// Which value.
        field: String,
        /// Why.
        reason: &'static str,
    },
    /// [`Composer::to_bytes`] on a message with a streamed attachment, or data pushed when none was asked for.
    Stream(&'static str),
}

impl fmt::Display for ComposeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::LineBreak { field } => write!(
                f,
                "{field} contains a line break (CR or LF), which could inject headers"
            ),
            Self::Invalid { field, reason } => write!(f, "{field} {reason}"),
            Self::Stream(what) => f.write_str(what),
        }
    }
}

impl std::error::Error for ComposeError {}

/// What an attachment holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    /// The bytes, in memory.
    Bytes(Vec<u8>),
    /// Bytes that arrive later, through [`Composer::push`] (never held whole).
    Stream,
}

/// `Content-Disposition` of an attachment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    /// Shown as a file to save.
    Attachment,
    /// Shown within the message (images referenced by `cid:` in the HTML).
    Inline,
}

/// A file attached to the message, or an inline image (with a [`Attachment::cid`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// The file name shown to the recipient (any Unicode: RFC 2231 encoded as needed).
    pub filename: Option<String>,
    /// The bytes.
    pub content: Content,
    /// The MIME type; guessed from the file name when absent.
    pub content_type: Option<String>,
    /// The Content-ID for `cid:` references from the HTML (without angle brackets).
    pub cid: Option<String>,
    /// Default: inline when there is a `cid`, attachment otherwise.
    pub disposition: Option<Disposition>,
}

impl Attachment {
    /// A file from memory.
    pub fn bytes(filename: impl Into<String>, content: impl Into<Vec<u8>>) -> Self {
        Self {
            filename: Some(filename.into()),
            content: Content::Bytes(content.into()),
            content_type: None,
            cid: None,
            disposition: None,
        }
    }

    /// A file whose bytes are pushed into the [`Composer`] when it asks for them.
    pub fn stream(filename: impl Into<String>) -> Self {
        Self {
            content: Content::Stream,
            ..Self::bytes(filename, Vec::new())
        }
    }

    /// The same attachment with a Content-ID (an inline image).
    #[must_use]
    pub fn with_cid(mut self, cid: impl Into<String>) -> Self {
        self.cid = Some(cid.into());
        self
    }

    /// The same attachment with a MIME type.
    #[must_use]
    pub fn with_content_type(mut self, content_type: impl Into<String>) -> Self {
        self.content_type = Some(content_type.into());
        self
    }

    fn is_inline(&self) -> bool {
        match self.disposition {
            Some(Disposition::Inline) => true,
            Some(Disposition::Attachment) => false,
            None => self.cid.is_some(),
        }
    }
}

/// A message to compose. Fill the fields, then [`Message::compose`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Message {
    /// `From` (and the envelope sender).
    pub from: Option<Address>,
    /// `To` recipients.
    pub to: Vec<Address>,
    /// `Cc` recipients.
    pub cc: Vec<Address>,
    /// Blind copies: envelope recipients only, never in a header.
    pub bcc: Vec<Address>,
    /// `Reply-To`.
    pub reply_to: Vec<Address>,
    /// `Subject` (any Unicode).
    pub subject: Option<String>,
    /// The plain-text body.
    pub text: Option<String>,
    /// The HTML body (with `text`, the two become `multipart/alternative`).
    pub html: Option<String>,
    /// Files and inline images.
    pub attachments: Vec<Attachment>,
    /// Extra header fields, in order (not `Bcc`, `MIME-Version` or `Content-*`).
    pub headers: Vec<(String, String)>,
    /// `Message-ID`; generated from the random bytes and the sender's domain when absent.
    pub message_id: Option<String>,
    /// `Date` as Unix milliseconds; the `now` given to [`Message::compose`] when absent.
    pub date: Option<u64>,
    /// `In-Reply-To`.
    pub in_reply_to: Option<String>,
    /// `References`.
    pub references: Vec<String>,
}

/// Header fields the composer writes itself; setting them through [`Message::headers`] is refused.
const OWN_FIELDS: &[&str] = &[
    "from",
    "to",
    "cc",
    "bcc",
    "reply-to",
    "subject",
    "message-id",
    "date",
    "in-reply-to",
    "references",
    "mime-version",
    "content-type",
    "content-transfer-encoding",
];

impl Message {
    /// A message from `from`, with everything else empty.
    pub fn new(from: Address) -> Self {
        Self {
            from: Some(from),
            ..Self::default()
        }
    }

    /// The SMTP envelope: the sender's address, and every To, Cc and Bcc address once.
    pub fn envelope(&self) -> (String, Vec<String>) {
        let from = self.from.as_ref().map_or_else(String::new, |a| a.address.clone());
        let mut to: Vec<String> = Vec::new();
        for a in self.to.iter().chain(&self.cc).chain(&self.bcc) {
            if !to.iter().any(|t| t.eq_ignore_ascii_case(&a.address)) {
                to.push(a.address.clone());
            }
        }
        (from, to)
    }

    /// Whether the header holds raw UTF-8 (RFC 6532): an address in From, To, Cc or Reply-To is not ASCII. The
    /// message is then not 7-bit, and only a server with SMTPUTF8 (RFC 6531) may take it. Display names never do
    /// this (they become RFC 2047 encoded words).
    pub fn has_utf8_header(&self) -> bool {
        self.from
            .iter()
            .chain(&self.to)
            .chain(&self.cc)
            .chain(&self.reply_to)
            .any(|a| !a.address.is_ascii())
    }

    /// Whether sending the message needs SMTPUTF8: [`Message::has_utf8_header`], or a non-ASCII Bcc address (the
    /// envelope's only).
    pub fn needs_smtputf8(&self) -> bool {
        self.has_utf8_header() || self.bcc.iter().any(|a| !a.address.is_ascii())
    }

    /// Checks the message and plans its output. `now` is Unix milliseconds (for `Date`); `random` seeds the
    /// `Message-ID` and the boundaries. Every value is checked here: an error means nothing was produced.
    pub fn compose(&self, now: u64, random: [u8; 16]) -> Result<Composer, ComposeError> {
        let from = self.from.as_ref().ok_or(ComposeError::Invalid {
            field: "from".into(),
            reason: "is required",
        })?;
        let mut head = String::with_capacity(512);
        head.push_str(&format!("Date: {}\r\n", date::rfc5322(self.date.unwrap_or(now))));
        head.push_str(&header::address_list("From", std::slice::from_ref(from)));
        for (name, list) in [("Reply-To", &self.reply_to), ("To", &self.to), ("Cc", &self.cc)] {
            if !list.is_empty() {
                head.push_str(&header::address_list(name, list));
            }
        }
        for a in &self.bcc {
            // Checked like the others even though it is never written.
            header::check_value("bcc", &a.address)?;
        }
        if let Some(subject) = &self.subject {
            head.push_str(&header::unstructured("Subject", subject)?);
        }
        let id = match &self.message_id {
            Some(id) => header::message_id("messageId", id)?,
            None => {
                let hex: String = random.iter().take(12).map(|b| format!("{b:02x}")).collect();
                // A non-ASCII domain would make the identifier need RFC 6532 too: readers that know only RFC 5322
                // compare and thread by it.
                let domain = from.domain();
                let domain = if domain.is_empty() || !domain.is_ascii() {
                    "smtp-wasm"
                } else {
                    domain
                };
                format!("<{hex}.{now:x}@{domain}>")
            }
        };
        head.push_str(&format!("Message-ID: {id}\r\n"));
        if let Some(reply) = &self.in_reply_to {
            head.push_str(&format!(
                "In-Reply-To: {}\r\n",
                header::message_id("inReplyTo", reply)?
            ));
        }
        if !self.references.is_empty() {
            let mut writer = header::FieldWriter::new("References");
            for r in &self.references {
                writer.token("", &header::message_id("references", r)?);
            }
            head.push_str(&writer.finish());
        }
        for (name, value) in &self.headers {
            header::check_name(name)?;
            if OWN_FIELDS.iter().any(|own| own.eq_ignore_ascii_case(name)) {
                return Err(ComposeError::Invalid {
                    field: format!("header {name:?}"),
                    reason: "is written by the composer: use its option instead",
                });
            }
            head.push_str(&header::unstructured(name, value)?);
        }
        head.push_str("MIME-Version: 1.0\r\n");
        let seed = u64::from_le_bytes([
            random[8], random[9], random[10], random[11], random[12], random[13], random[14], random[15],
        ]);
        let segments = part::plan(self, head, seed)?;
        Ok(Composer {
            segments: segments.into(),
            current: None,
        })
    }
}

/// A piece of the planned output.
#[derive(Debug)]
pub(crate) enum Segment {
    Bytes(Vec<u8>),
    /// The content of attachment `index`, base64-encoded as it is pushed.
    Stream(usize),
}

/// What the [`Composer`] has next.
#[derive(Debug, PartialEq, Eq)]
#[must_use]
pub enum Step {
    /// The next bytes of the message.
    Output(Vec<u8>),
    /// The content of the attachment at this index (in [`Message::attachments`]) is next: push it, then end it.
    NeedData(usize),
    /// The message is complete.
    Done,
}

/// A composed message, produced piece by piece: in-memory parts are ready at once, a streamed attachment is encoded
/// as its bytes are pushed (holding at most two bytes of it between pushes).
#[derive(Debug)]
pub struct Composer {
    segments: VecDeque<Segment>,
    /// The streamed attachment being encoded.
    current: Option<(usize, Base64Stream)>,
}

impl Composer {
    /// The next step. While it is [`Step::NeedData`], call [`Composer::push`] and finally [`Composer::end`].
    pub fn poll(&mut self) -> Step {
        if let Some((index, _)) = &self.current {
            return Step::NeedData(*index);
        }
        match self.segments.pop_front() {
            None => Step::Done,
            Some(Segment::Bytes(bytes)) => Step::Output(bytes),
            Some(Segment::Stream(index)) => {
                self.current = Some((index, Base64Stream::default()));
                Step::NeedData(index)
            }
        }
    }

    /// Encodes the next bytes of the attachment [`Composer::poll`] asked for; returns the output they make.
    pub fn push(&mut self, data: &[u8]) -> Result<Vec<u8>, ComposeError> {
        let mut out = Vec::new();
        self.push_into(data, &mut out)?;
        Ok(out)
    }

    /// [`Composer::push`], appending to `out` (a buffer the caller reuses).
    pub fn push_into(&mut self, data: &[u8], out: &mut Vec<u8>) -> Result<(), ComposeError> {
        let (_, encoder) = self
            .current
            .as_mut()
            .ok_or(ComposeError::Stream("no streamed attachment is pending"))?;
        encoder.push(data, out);
        Ok(())
    }

    /// Ends the streamed attachment; returns the last of its encoding.
    pub fn end(&mut self) -> Result<Vec<u8>, ComposeError> {
        let (_, mut encoder) = self
            .current
            .take()
            .ok_or(ComposeError::Stream("no streamed attachment is pending"))?;
        let mut out = Vec::new();
        encoder.finish(&mut out);
        Ok(out)
    }

    /// The whole message, when no attachment is streamed.
    pub fn to_bytes(mut self) -> Result<Vec<u8>, ComposeError> {
        let mut out = Vec::new();
        loop {
            match self.poll() {
                Step::Output(bytes) => out.extend_from_slice(&bytes),
                Step::Done => return Ok(out),
                Step::NeedData(_) => {
                    return Err(ComposeError::Stream(
                        "a streamed attachment needs Composer::poll/push/end",
                    ))
                }
            }
        }
    }
}
