//! BDAT content (RFC 3030): chunks of exact size, no dot-stuffing, `BDAT n LAST` at the end.

use std::io::Write as _;

use crate::codec::crlf::Normalizer;
use crate::error::InputError;

/// Splits message content into `BDAT <n>` chunks, streaming. Unless `binary`, line ends are normalised to CRLF as
/// for DATA (the content must still be canonical), NUL is refused and 8-bit bytes are refused unless `allow_8bit`.
/// With `binary` (BODY=BINARYMIME) the bytes go through untouched.
#[derive(Debug, Clone)]
pub struct BdatEncoder {
    chunk_size: usize,
    binary: bool,
    normalizer: Normalizer,
    /// Encoded content not sent yet; shorter than `chunk_size` between calls.
    pending: Vec<u8>,
    bytes_in: u64,
}

impl BdatEncoder {
    /// An encoder that emits a chunk whenever `chunk_size` content bytes (at least 1) are collected.
    #[must_use]
    pub fn new(chunk_size: usize, binary: bool, allow_8bit: bool) -> Self {
        BdatEncoder {
            chunk_size: chunk_size.max(1),
            binary,
            normalizer: Normalizer::new(allow_8bit),
            pending: Vec::new(),
            bytes_in: 0,
        }
    }

    /// Encodes `input`; for each full chunk appends `BDAT <n>\r\n` and the chunk's bytes to `out`. Returns how many
    /// BDAT commands were appended. On error nothing from this call is appended and the transaction must be aborted.
    pub fn encode(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<usize, InputError> {
        let pending_len = self.pending.len();
        if self.binary {
            self.pending.extend_from_slice(input);
        } else {
            let saved = self.normalizer;
            if let Err(error) = self
                .normalizer
                .normalize::<false>(input, self.bytes_in, &mut self.pending)
            {
                // Roll back so the encoder looks as if this call never happened; `out` was not touched yet.
                self.pending.truncate(pending_len);
                self.normalizer = saved;
                return Err(error);
            }
        }
        self.bytes_in = self.bytes_in.saturating_add(input.len() as u64);
        Ok(self.emit_full_chunks(out))
    }

    /// Appends the rest as `BDAT <n> LAST\r\n` and its bytes (`n` may be 0). Unless `binary`, content that does not
    /// end with a line end gets a CRLF first, exactly as DATA does: the server stores the same bytes either way.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        if !self.binary && !self.normalizer.at_line_start() {
            self.pending.extend_from_slice(b"\r\n");
        }
        push_command(out, self.pending.len(), true);
        out.append(&mut self.pending);
    }

    /// Content bytes given so far (before encoding).
    #[must_use]
    pub fn bytes_in(&self) -> u64 {
        self.bytes_in
    }

    /// Moves every full chunk of `pending` to `out`, each behind its BDAT command; keeps the short rest.
    fn emit_full_chunks(&mut self, out: &mut Vec<u8>) -> usize {
        let mut chunks = self.pending.chunks_exact(self.chunk_size);
        let mut count = 0;
        for chunk in chunks.by_ref() {
            push_command(out, chunk.len(), false);
            out.extend_from_slice(chunk);
            count += 1;
        }
        let sent = self.pending.len() - chunks.remainder().len();
        // One move of the short rest per call, so a long input costs linear time.
        self.pending.drain(..sent);
        count
    }
}

/// Appends `BDAT <size>[ LAST]\r\n`.
fn push_command(out: &mut Vec<u8>, size: usize, last: bool) {
    // Writing to a Vec cannot fail.
    let _ = write!(out, "BDAT {size}{}\r\n", if last { " LAST" } else { "" });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::InputErrorReason;

    fn run(chunk_size: usize, binary: bool, chunks: &[&[u8]]) -> (Vec<u8>, usize) {
        let mut encoder = BdatEncoder::new(chunk_size, binary, false);
        let mut out = Vec::new();
        let mut commands = 0;
        for chunk in chunks {
            commands += encoder.encode(chunk, &mut out).unwrap();
        }
        encoder.finish(&mut out);
        (out, commands)
    }

    #[test]
    fn full_chunks_then_last() {
        let (out, commands) = run(4, false, &[b"abcdefghij"]);
        assert_eq!(out, b"BDAT 4\r\nabcdBDAT 4\r\nefghBDAT 4 LAST\r\nij\r\n");
        assert_eq!(commands, 2);
    }

    #[test]
    fn exact_multiple_ends_with_an_empty_last_chunk() {
        let (out, _) = run(2, false, &[b"ab", b"cd"]);
        assert_eq!(out, b"BDAT 2\r\nabBDAT 2\r\ncdBDAT 2 LAST\r\n\r\n");
        assert_eq!(
            run(2, false, &[b"ab\r\n"]).0,
            b"BDAT 2\r\nabBDAT 2\r\n\r\nBDAT 0 LAST\r\n"
        );
        assert_eq!(run(4, false, &[b"ab\r\n"]).0, b"BDAT 4\r\nab\r\nBDAT 0 LAST\r\n");
        assert_eq!(run(8, false, &[]).0, b"BDAT 0 LAST\r\n");
    }

    #[test]
    fn chunk_size_zero_is_one() {
        assert_eq!(
            run(0, false, &[b"ab"]).0,
            b"BDAT 1\r\naBDAT 1\r\nbBDAT 2 LAST\r\n\r\n"
        );
    }

    #[test]
    fn line_ends_are_normalised_without_dot_stuffing() {
        let (out, _) = run(100, false, &[b".a\n.b\r", b"\nc\r"]);
        assert_eq!(out, b"BDAT 11 LAST\r\n.a\r\n.b\r\nc\r\n");
    }

    #[test]
    fn binary_passes_everything_untouched() {
        let (out, _) = run(100, true, &[b"a\n\0\xff\r"]);
        assert_eq!(out, b"BDAT 5 LAST\r\na\n\0\xff\r");
    }

    #[test]
    fn refusals_append_nothing() {
        let mut encoder = BdatEncoder::new(2, false, false);
        let mut out = Vec::new();
        assert_eq!(encoder.encode(b"abc", &mut out).unwrap(), 1);
        let before = out.clone();
        let error = encoder.encode(b"defg\0", &mut out).unwrap_err();
        assert_eq!(error.reason, InputErrorReason::NulInMessage { offset: 7 });
        assert_eq!(out, before);
        let error = encoder.encode(b"\x80", &mut out).unwrap_err();
        assert_eq!(error.reason, InputErrorReason::EightBitWithoutMime { offset: 3 });
        assert_eq!(out, before);
        encoder.encode(b"d", &mut out).unwrap();
        encoder.finish(&mut out);
        assert_eq!(out, b"BDAT 2\r\nabBDAT 2\r\ncdBDAT 2 LAST\r\n\r\n");
        assert_eq!(encoder.bytes_in(), 4);
    }

    #[test]
    fn eight_bit_allowed_when_asked() {
        let mut encoder = BdatEncoder::new(10, false, true);
        let mut out = Vec::new();
        encoder.encode(b"\xc3\xa9\n", &mut out).unwrap();
        encoder.finish(&mut out);
        assert_eq!(out, b"BDAT 4 LAST\r\n\xc3\xa9\r\n");
    }
}
