//! BDAT content (RFC 3030): chunks of exact size, no dot-stuffing, `BDAT n LAST` at the end.

use crate::error::InputError;

/// Splits message content into `BDAT <n>` chunks, streaming. Unless `binary`, line ends are normalised to CRLF as
/// for DATA (the content must still be canonical), NUL is refused and 8-bit bytes are refused unless `allow_8bit`.
/// With `binary` (BODY=BINARYMIME) the bytes go through untouched.
#[derive(Debug, Clone)]
pub struct BdatEncoder {}

impl BdatEncoder {
    /// An encoder that emits a chunk whenever `chunk_size` content bytes (at least 1) are collected.
    #[must_use]
    pub fn new(chunk_size: usize, binary: bool, allow_8bit: bool) -> Self {
        let _ = (chunk_size, binary, allow_8bit);
        todo!()
    }

    /// Encodes `input`; for each full chunk appends `BDAT <n>\r\n` and the chunk's bytes to `out`. Returns how many
    /// BDAT commands were appended. On error nothing from this call is appended and the transaction must be aborted.
    pub fn encode(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<usize, InputError> {
        let _ = (input, out);
        todo!()
    }

    /// Appends the rest as `BDAT <n> LAST\r\n` and its bytes (`n` may be 0).
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
