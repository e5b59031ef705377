//! Line-end normalisation shared by the DATA and BDAT encoders: bare CR and bare LF become CRLF, NUL is refused,
//! 8-bit bytes are refused unless allowed, and (for DATA only) a `.` at the start of a line is doubled.
//!
//! The hot path copies runs of ordinary bytes, CRLF line ends included, with one slice copy each (one per chunk for
//! well-formed content; a line starting with `.` splits it when dot-stuffing); the scan for the next special byte
//! looks at eight bytes at a time, so the encoders run at memory speed on ordinary text.

use crate::error::{Field, InputError, InputErrorReason};

/// The state that must survive chunk boundaries, so any chunking of the input gives the same output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Normalizer {
    /// Whether bytes >= 0x80 pass through.
    allow_8bit: bool,
    /// The last byte seen was a CR, for which CRLF was already emitted: a LF that follows belongs to it.
    swallow_lf: bool,
    /// The output is at the start of a line (true at the start of the message).
    at_line_start: bool,
}

impl Normalizer {
    /// A normaliser at the start of a message.
    pub(crate) fn new(allow_8bit: bool) -> Self {
        Normalizer {
            allow_8bit,
            swallow_lf: false,
            at_line_start: true,
        }
    }

    /// Whether the content so far is empty or ends with a line end.
    pub(crate) fn at_line_start(&self) -> bool {
        self.at_line_start
    }

    /// Normalises `input` onto `out`, doubling a leading `.` on each line when `DOT_STUFF`. `base` is the offset of
    /// `input[0]` in the whole message, for error offsets.
    ///
    /// On error `out` and `self` may hold a partial result; callers snapshot and roll back (see the encoders).
    pub(crate) fn normalize<const DOT_STUFF: bool>(
        &mut self,
        input: &[u8],
        base: u64,
        out: &mut Vec<u8>,
    ) -> Result<(), InputError> {
        let mut rest = input;
        while let Some((&first, after_first)) = rest.split_first() {
            if self.swallow_lf {
                self.swallow_lf = false;
                if first == b'\n' {
                    rest = after_first;
                    continue;
                }
            }
            if DOT_STUFF && self.at_line_start && first == b'.' {
                out.push(b'.');
            }
            let run = ordinary_run::<DOT_STUFF>(rest, self.allow_8bit);
            let (ordinary, tail) = rest.split_at_checked(run).unwrap_or((rest, &[]));
            if !ordinary.is_empty() {
                out.extend_from_slice(ordinary);
                // The run may end with a CRLF taken as it is.
                self.at_line_start = ordinary.ends_with(b"\r\n");
            }
            let Some((&special, after)) = tail.split_first() else {
                break;
            };
            match special {
                b'\r' => {
                    out.extend_from_slice(b"\r\n");
                    self.at_line_start = true;
                    self.swallow_lf = true;
                }
                b'\n' => {
                    out.extend_from_slice(b"\r\n");
                    self.at_line_start = true;
                }
                _ => {
                    let offset = base.saturating_add((input.len() - tail.len()) as u64);
                    return Err(refusal(special, offset));
                }
            }
            rest = after;
        }
        Ok(())
    }
}

/// The length of the run at the start of `bytes` that is copied as it is: ordinary bytes and the CRLF pairs among
/// them (the usual line end needs no change), so that well-formed content is copied in one piece per chunk instead of
/// one per line. A CRLF followed by `.` ends the run when dot-stuffing (the `.` must be doubled), and so does one
/// whose LF is not in `bytes` (the next chunk decides).
#[inline]
fn ordinary_run<const DOT_STUFF: bool>(bytes: &[u8], allow_8bit: bool) -> usize {
    let mut run = 0;
    while let Some(rest) = bytes.get(run..) {
        run += find_special(rest, allow_8bit);
        let crlf = bytes.get(run) == Some(&b'\r') && bytes.get(run + 1) == Some(&b'\n');
        if !crlf || (DOT_STUFF && bytes.get(run + 2) == Some(&b'.')) {
            break;
        }
        run += 2;
    }
    run
}

/// The error for a refused content byte (NUL, or an 8-bit byte when 8-bit is not allowed).
fn refusal(byte: u8, offset: u64) -> InputError {
    let reason = if byte == 0 {
        InputErrorReason::NulInMessage { offset }
    } else {
        InputErrorReason::EightBitWithoutMime { offset }
    };
    InputError::new(Field::Message, reason)
}

/// Whether `byte` needs more than a plain copy.
#[inline]
fn is_special(byte: u8, allow_8bit: bool) -> bool {
    matches!(byte, b'\r' | b'\n' | 0) || (!allow_8bit && byte >= 0x80)
}

/// The index of the first byte in `bytes` that [`is_special`], or `bytes.len()`.
///
/// Eight bytes at a time: a word with no byte below 0x0e (which covers NUL, LF and CR) and, unless 8-bit is allowed,
/// no byte with the high bit set is skipped whole. Other control bytes (TAB) only cost a byte-wise look at one word.
#[inline]
fn find_special(bytes: &[u8], allow_8bit: bool) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let high_mask = if allow_8bit { 0 } else { HIGHS };
    let mut words = bytes.chunks_exact(8);
    let mut index = 0;
    for word in words.by_ref() {
        let mut array = [0u8; 8];
        array.copy_from_slice(word);
        let x = u64::from_le_bytes(array);
        // "has a byte below 0x0e" (bit hack `hasless`) or "has a byte with the high bit set".
        let suspicious = (x.wrapping_sub(ONES * 0x0e) & !x & HIGHS) | (x & high_mask);
        if suspicious != 0 {
            if let Some(at) = word.iter().position(|&b| is_special(b, allow_8bit)) {
                return index + at;
            }
        }
        index += 8;
    }
    let tail = words.remainder();
    index
        + tail
            .iter()
            .position(|&b| is_special(b, allow_8bit))
            .unwrap_or(tail.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn find_special_matches_a_bytewise_scan() {
        let mut text = b"Subject: hello world, this is a line of text\tand more".to_vec();
        for special in [b'\r', b'\n', 0, 0x80, 0xff, 0x0d] {
            for at in 0..text.len() {
                let mut bytes = text.clone();
                bytes[at] = special;
                for allow in [false, true] {
                    let expected = bytes
                        .iter()
                        .position(|&b| is_special(b, allow))
                        .unwrap_or(bytes.len());
                    assert_eq!(find_special(&bytes, allow), expected, "{special:#x} at {at}");
                }
            }
        }
        text.clear();
        assert_eq!(find_special(&text, false), 0);
    }
}
