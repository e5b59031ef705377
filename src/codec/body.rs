//! DATA content (RFC 5321 section 4.5.2): CRLF normalisation, dot-stuffing and the terminator, streaming.

use crate::codec::crlf::Normalizer;
use crate::error::InputError;

/// Encodes message content for DATA, keeping its state across chunks: any chunking of the input gives the same
/// output. Bare CR and bare LF become CRLF (so `<LF>.<LF>` and `<CR>.<CR>` are never emitted: SMTP smuggling,
/// CVE-2023-51764..51766); a `.` at the start of a line is doubled; NUL is refused; 8-bit bytes are refused unless
/// `allow_8bit`.
#[derive(Debug, Clone)]
pub struct DataEncoder {
    normalizer: Normalizer,
    bytes_in: u64,
}

impl DataEncoder {
    /// An encoder for a new message.
    #[must_use]
    pub fn new(allow_8bit: bool) -> Self {
        DataEncoder {
            normalizer: Normalizer::new(allow_8bit),
            bytes_in: 0,
        }
    }

    /// Encodes `input`, appending to `out`. On error nothing from this call is appended, and the transaction must be
    /// aborted (never `finish`ed). The error's offset counts from the start of the message.
    pub fn encode(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<(), InputError> {
        let out_len = out.len();
        let saved = self.normalizer;
        // Dot-stuffing and CR/LF expansion add a little; reserving the input's size avoids most regrowth.
        out.reserve(input.len());
        match self.normalizer.normalize::<true>(input, self.bytes_in, out) {
            Ok(()) => {
                self.bytes_in = self.bytes_in.saturating_add(input.len() as u64);
                Ok(())
            }
            Err(error) => {
                // Roll back so the encoder and `out` look as if this call never happened.
                out.truncate(out_len);
                self.normalizer = saved;
                Err(error)
            }
        }
    }

    /// Ends the message: CRLF if the content did not end with a line end, then `.` CRLF.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        if !self.normalizer.at_line_start() {
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b".\r\n");
    }

    /// Content bytes given so far (before encoding).
    #[must_use]
    pub fn bytes_in(&self) -> u64 {
        self.bytes_in
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{Field, InputErrorReason};

    fn encode_chunks(chunks: &[&[u8]], allow_8bit: bool) -> Result<Vec<u8>, InputError> {
        let mut encoder = DataEncoder::new(allow_8bit);
        let mut out = Vec::new();
        for chunk in chunks {
            encoder.encode(chunk, &mut out)?;
        }
        encoder.finish(&mut out);
        Ok(out)
    }

    fn encode(body: &[u8]) -> Vec<u8> {
        encode_chunks(&[body], false).unwrap()
    }

    #[test]
    fn empty_message_is_just_the_terminator() {
        assert_eq!(encode(b""), b".\r\n");
        assert_eq!(encode_chunks(&[b"", b""], false).unwrap(), b".\r\n");
    }

    #[test]
    fn missing_final_line_end_is_added() {
        assert_eq!(encode(b"Subject: x\r\n\r\nhi"), b"Subject: x\r\n\r\nhi\r\n.\r\n");
        assert_eq!(encode(b"hi\r\n"), b"hi\r\n.\r\n");
    }

    #[test]
    fn bare_cr_and_bare_lf_become_crlf() {
        assert_eq!(
            encode(b"a\nb\rc\r\nd\n\re"),
            b"a\r\nb\r\nc\r\nd\r\n\r\ne\r\n.\r\n"
        );
        assert_eq!(encode(b"a\r\r\nb"), b"a\r\n\r\nb\r\n.\r\n");
    }

    #[test]
    fn smuggling_sequences_are_neutralised() {
        // <LF>.<LF> and <CR>.<CR> would end the message early on some servers.
        assert_eq!(encode(b"a\n.\nb"), b"a\r\n..\r\nb\r\n.\r\n");
        assert_eq!(encode(b"a\r.\rb"), b"a\r\n..\r\nb\r\n.\r\n");
        assert_eq!(encode(b"a\r\n.\r\nb"), b"a\r\n..\r\nb\r\n.\r\n");
    }

    #[test]
    fn crlf_split_across_chunks_stays_one_line_end() {
        assert_eq!(
            encode_chunks(&[b"a\r", b"\nb"], false).unwrap(),
            b"a\r\nb\r\n.\r\n"
        );
        assert_eq!(
            encode_chunks(&[b"a\r", b"", b"\nb"], false).unwrap(),
            b"a\r\nb\r\n.\r\n"
        );
        assert_eq!(
            encode_chunks(&[b"a\r", b"\r", b"\n"], false).unwrap(),
            b"a\r\n\r\n.\r\n"
        );
        assert_eq!(encode_chunks(&[b"a\r"], false).unwrap(), b"a\r\n.\r\n");
    }

    #[test]
    fn dots_at_line_starts_are_doubled_across_chunks() {
        assert_eq!(
            encode(b".hidden\r\n..two\r\nmid.dle\r\n."),
            b"..hidden\r\n...two\r\nmid.dle\r\n..\r\n.\r\n"
        );
        assert_eq!(
            encode_chunks(&[b"a\r\n", b".b"], false).unwrap(),
            b"a\r\n..b\r\n.\r\n"
        );
        assert_eq!(
            encode_chunks(&[b"a\r", b"\n.b"], false).unwrap(),
            b"a\r\n..b\r\n.\r\n"
        );
        assert_eq!(
            encode_chunks(&[b"a\r", b".b"], false).unwrap(),
            b"a\r\n..b\r\n.\r\n"
        );
        assert_eq!(encode_chunks(&[b".", b"."], false).unwrap(), b"...\r\n.\r\n");
    }

    #[test]
    fn nul_is_refused_with_its_absolute_offset_and_nothing_is_appended() {
        let mut encoder = DataEncoder::new(true);
        let mut out = b"EARLIER".to_vec();
        encoder.encode(b"hello\n", &mut out).unwrap();
        let written = out.len();
        let error = encoder.encode(b"ab\ncd\0", &mut out).unwrap_err();
        assert_eq!(error.field, Field::Message);
        assert_eq!(error.reason, InputErrorReason::NulInMessage { offset: 11 });
        assert_eq!(out.len(), written);
        assert_eq!(encoder.bytes_in(), 6);
        // The failed call left no trace: the encoder goes on as if it had not happened.
        encoder.encode(b".x", &mut out).unwrap();
        encoder.finish(&mut out);
        assert_eq!(out, b"EARLIERhello\r\n..x\r\n.\r\n");
    }

    #[test]
    fn eight_bit_is_refused_unless_allowed() {
        let error = encode_chunks(&[b"abc", b"d\xc3\xa9"], false).unwrap_err();
        assert_eq!(error.reason, InputErrorReason::EightBitWithoutMime { offset: 4 });
        assert_eq!(
            encode_chunks(&[b"caf\xc3\xa9"], true).unwrap(),
            b"caf\xc3\xa9\r\n.\r\n"
        );
    }

    #[test]
    fn failed_call_after_a_pending_cr_restores_the_state() {
        let mut encoder = DataEncoder::new(false);
        let mut out = Vec::new();
        encoder.encode(b"a\r", &mut out).unwrap();
        assert!(encoder.encode(b"\n\0", &mut out).is_err());
        encoder.encode(b"\nb", &mut out).unwrap();
        encoder.finish(&mut out);
        assert_eq!(out, b"a\r\nb\r\n.\r\n");
    }

    #[test]
    fn other_controls_and_tabs_pass_through() {
        assert_eq!(encode(b"a\tb\x01c\x7f"), b"a\tb\x01c\x7f\r\n.\r\n");
    }

    #[test]
    fn bytes_in_counts_input_bytes() {
        let mut encoder = DataEncoder::new(false);
        let mut out = Vec::new();
        encoder.encode(b"a\nb", &mut out).unwrap();
        encoder.encode(b"\r\n", &mut out).unwrap();
        assert_eq!(encoder.bytes_in(), 5);
    }
}
