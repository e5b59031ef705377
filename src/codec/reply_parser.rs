//! Incremental reply parser (RFC 5321 section 4.2), over arbitrary splits of the input.

use crate::reply::Reply;

/// Bounds on what the parser accepts, so a hostile server cannot make the client buffer without limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplyLimits {
    /// Longest reply line, including its line end. RFC 5321 allows 512 octets; default 2048.
    pub max_line: usize,
    /// Largest whole reply, all lines together. Default 64 KiB.
    pub max_reply_bytes: usize,
    /// Most lines in one reply. Default 200.
    pub max_lines: usize,
}

impl Default for ReplyLimits {
    fn default() -> Self {
        ReplyLimits {
            max_line: 2048,
            max_reply_bytes: 64 * 1024,
            max_lines: 200,
        }
    }
}

/// Turns received bytes into [`Reply`] values.
#[derive(Debug)]
pub struct ReplyParser {
    limits: ReplyLimits,
}

impl ReplyParser {
    /// A parser with these limits.
    #[must_use]
    pub fn new(limits: ReplyLimits) -> Self {
        ReplyParser { limits }
    }

    /// Appends received bytes to the buffer.
    pub fn push(&mut self, bytes: &[u8]) {
        let _ = (bytes, self.limits);
        todo!()
    }

    /// The next complete reply, if the buffer holds one. `Err` is a protocol error (the message says what was
    /// wrong); it is sticky: every later call returns it again.
    pub fn next_reply(&mut self) -> Result<Option<Reply>, String> {
        todo!()
    }

    /// How many received bytes are not part of a reply returned so far (a partial reply, or more replies).
    #[must_use]
    pub fn buffered_len(&self) -> usize {
        todo!()
    }
}
