//! DATA content (RFC 5321 section 4.5.2): CRLF normalisation, dot-stuffing and the terminator, streaming.

use crate::error::InputError;

/// Encodes message content for DATA, keeping its state across chunks: any chunking of the input gives the same
/// output. Bare CR and bare LF become CRLF (so `<LF>.<LF>` and `<CR>.<CR>` are never emitted: SMTP smuggling,
/// CVE-2023-51764..51766); a `.` at the start of a line is doubled; NUL is refused; 8-bit bytes are refused unless
/// `allow_8bit`.
#[derive(Debug, Clone)]
pub struct DataEncoder {}

impl DataEncoder {
    /// An encoder for a new message.
    #[must_use]
    pub fn new(allow_8bit: bool) -> Self {
        let _ = allow_8bit;
        todo!()
    }

    /// Encodes `input`, appending to `out`. On error nothing from this call is appended, and the transaction must be
    /// aborted (never `finish`ed). The error's offset counts from the start of the message.
    pub fn encode(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<(), InputError> {
        let _ = (input, out);
        todo!()
    }

    /// Ends the message: CRLF if the content did not end with a line end, then `.` CRLF.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        let _ = out;
        todo!()
    }

    /// Content bytes given so far (before encoding).
    #[must_use]
    pub fn bytes_in(&self) -> u64 {
        todo!()
    }
}
