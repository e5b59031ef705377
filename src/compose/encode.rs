//! Transfer and header encodings: base64 (streaming, 76-column lines), quoted-printable, RFC 2047 encoded words and
//! RFC 2231 parameter values. Everything here produces 7-bit output with CRLF line ends and lines far below 998
//! octets, so a message built from these pieces is valid for any SMTP server.

use base64ct::{Base64, Encoding as _};

/// Encoded lines of a body part are at most this long (RFC 2045 6.7 and 6.8).
pub(crate) const BODY_LINE: usize = 76;
/// Header lines are folded to stay within this many characters where whitespace allows (RFC 5322 2.1.1).
pub(crate) const HEADER_LINE: usize = 78;

/// Base64 over a stream: any number of [`Base64Stream::push`] calls, then [`Base64Stream::finish`]. Holds at most two
/// bytes of input between calls, so an attachment of any size passes through in constant memory.
#[derive(Debug, Default)]
pub(crate) struct Base64Stream {
    /// Input bytes not yet encoded (fewer than 3).
    pending: [u8; 3],
    pending_len: usize,
    /// Characters on the current output line.
    column: usize,
}

impl Base64Stream {
    /// Encodes `data`, appending whole lines (and the start of the current one) to `out`.
    pub(crate) fn push(&mut self, mut data: &[u8], out: &mut Vec<u8>) {
        out.reserve(data.len() / 3 * 4 + data.len() / 57 * 2 + 8);
        // Complete the pending group first.
        while self.pending_len > 0 && self.pending_len < 3 {
            let Some((&b, rest)) = data.split_first() else {
                return;
            };
            self.pending[self.pending_len] = b;
            self.pending_len += 1;
            data = rest;
        }
        if self.pending_len == 3 {
            let group = self.pending;
            self.pending_len = 0;
            self.emit(&group, out);
        }
        // Whole groups, a line's worth (57 bytes -> 76 characters) at a time when aligned.
        let whole = data.len() / 3 * 3;
        let (groups, rest) = data.split_at(whole);
        let mut groups = groups;
        while !groups.is_empty() {
            let room = (BODY_LINE - self.column) / 4 * 3;
            let room = if room == 0 { 57 } else { room };
            let take = room.min(groups.len());
            let (now, later) = groups.split_at(take);
            self.emit(now, out);
            groups = later;
        }
        self.pending[..rest.len()].copy_from_slice(rest);
        self.pending_len = rest.len();
    }

    /// Encodes what is pending (with padding). The output does not end with a line break.
    pub(crate) fn finish(&mut self, out: &mut Vec<u8>) {
        if self.pending_len > 0 {
            let group = self.pending;
            let len = self.pending_len;
            self.pending_len = 0;
            self.emit(&group[..len], out);
        }
    }

    /// Encodes `bytes` (a multiple of 3 unless this is the end) starting a new line whenever the current one is full.
    fn emit(&mut self, bytes: &[u8], out: &mut Vec<u8>) {
        let mut bytes = bytes;
        while !bytes.is_empty() {
            if self.column >= BODY_LINE {
                out.extend_from_slice(b"\r\n");
                self.column = 0;
            }
            let room = (BODY_LINE - self.column) / 4 * 3;
            let take = room.min(bytes.len());
            let (now, later) = bytes.split_at(take);
            let start = out.len();
            let encoded_len = now.len().div_ceil(3) * 4;
            out.resize(start + encoded_len, 0);
            if let Some(dest) = out.get_mut(start..) {
                let written = Base64::encode(now, dest).map_or(0, str::len);
                out.truncate(start + written);
            }
            self.column += encoded_len;
            bytes = later;
        }
    }
}

/// Base64 of a whole part in memory.
pub(crate) fn base64_body(data: &[u8]) -> Vec<u8> {
    let mut enc = Base64Stream::default();
    let mut out = Vec::with_capacity(data.len() / 3 * 4 + data.len() / 57 * 2 + 8);
    enc.push(data, &mut out);
    enc.finish(&mut out);
    out
}

const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// Quoted-printable (RFC 2045 6.7) of text whose line breaks are already CRLF: line breaks stay hard breaks, other CR
/// and LF are encoded, soft breaks keep lines at 76 characters, whitespace before a break is encoded, and so are `=`,
/// every non-ASCII byte, and a `.` or `F` that would start a line (so the encoding survives dot-stuffing and
/// "From " mangling). The output never contains `=_`, which is why boundaries start with it.
pub(crate) fn quoted_printable(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() + text.len() / 8 + 8);
    let mut column = 0usize;
    let mut i = 0usize;
    while i < text.len() {
        let b = text.get(i).copied().unwrap_or(0);
        if b == b'\r' && text.get(i + 1) == Some(&b'\n') {
            out.extend_from_slice(b"\r\n");
            column = 0;
            i += 2;
            continue;
        }
        let at_line_end = matches!(text.get(i + 1), None | Some(b'\r'));
        // Whether `b` can be written as itself at `column`.
        let literal = |column: usize| match b {
            b' ' | b'\t' => !at_line_end,
            b'=' => false,
            b'.' | b'F' => column != 0,
            33..=126 => true,
            _ => false,
        };
        // Room for this character and, unless the line ends right after it, a soft break's '='.
        let limit = if at_line_end { BODY_LINE } else { BODY_LINE - 1 };
        if column + if literal(column) { 1 } else { 3 } > limit {
            out.extend_from_slice(b"=\r\n");
            column = 0;
        }
        if literal(column) {
            out.push(b);
            column += 1;
        } else {
            out.push(b'=');
            out.push(HEX[usize::from(b >> 4)]);
            out.push(HEX[usize::from(b & 15)]);
            column += 3;
        }
        i += 1;
    }
    out
}

/// The length [`quoted_printable`] would produce, roughly (without soft breaks), to choose between it and base64.
pub(crate) fn quoted_printable_len(text: &[u8]) -> usize {
    text.iter()
        .map(|&b| {
            if (32..=126).contains(&b) && b != b'=' || b == b'\r' || b == b'\n' {
                1
            } else {
                3
            }
        })
        .sum()
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary.
fn char_prefix(s: &str, max: usize) -> usize {
    if s.len() <= max {
        return s.len();
    }
    let mut end = max;
    while end > 0 && !s.is_char_boundary(end) {
        end -= 1;
    }
    end
}

/// `text` as RFC 2047 "B" encoded words, each at most 75 characters and each holding whole UTF-8 sequences (a
/// character is never split between two words), joined by `separator` (folding whitespace).
pub(crate) fn encoded_words(text: &str, separator: &str) -> String {
    // "=?UTF-8?B?" + 60 base64 characters (45 bytes) + "?=" = 72 characters.
    const BYTES_PER_WORD: usize = 45;
    let mut out = String::with_capacity(text.len() * 2);
    let mut rest = text;
    let mut first = true;
    while !rest.is_empty() || first {
        let mut take = char_prefix(rest, BYTES_PER_WORD);
        if take == 0 {
            // A character longer than a word cannot happen with UTF-8 (4 bytes at most); take it whole anyway.
            take = rest.chars().next().map_or(rest.len(), char::len_utf8);
        }
        let (word, later) = rest.split_at(take);
        if !first {
            out.push_str(separator);
        }
        out.push_str("=?UTF-8?B?");
        out.push_str(&Base64::encode_string(word.as_bytes()));
        out.push_str("?=");
        rest = later;
        first = false;
    }
    out
}

/// Whether `b` may appear unencoded in an RFC 2231 extended value (`attribute-char`).
fn attribute_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b)
}

/// A MIME parameter `name=value`, as `name="value"` when the value is short printable ASCII, otherwise in RFC 2231
/// form (`name*=utf-8''%E2%82%AC` or continued `name*0*=...; name*1*=...`), each piece on its own folded line.
pub(crate) fn parameter(name: &str, value: &str) -> String {
    let plain = value.len() <= 60 && value.bytes().all(|b| (32..=126).contains(&b));
    if plain {
        let mut quoted = String::with_capacity(value.len() + 2);
        for c in value.chars() {
            if c == '"' || c == '\\' {
                quoted.push('\\');
            }
            quoted.push(c);
        }
        return format!("{name}=\"{quoted}\"");
    }
    // Percent-encode, then cut into pieces that never split a %XX triplet.
    let mut encoded = String::with_capacity(value.len() * 3);
    for &b in value.as_bytes() {
        if attribute_char(b) {
            encoded.push(char::from(b));
        } else {
            encoded.push('%');
            encoded.push(char::from(HEX[usize::from(b >> 4)]));
            encoded.push(char::from(HEX[usize::from(b & 15)]));
        }
    }
    if encoded.len() <= 60 {
        return format!("{name}*=utf-8''{encoded}");
    }
    let mut pieces = Vec::new();
    let mut rest = encoded.as_str();
    while !rest.is_empty() {
        let mut take = rest.len().min(60);
        // Back up if the cut lands inside "%XX".
        if let Some(pct) = rest.get(..take).and_then(|p| p.rfind('%')) {
            if pct + 3 > take {
                take = pct;
            }
        }
        let (piece, later) = rest.split_at(take);
        pieces.push(piece);
        rest = later;
    }
    pieces
        .iter()
        .enumerate()
        .map(|(i, piece)| {
            if i == 0 {
                format!("{name}*0*=utf-8''{piece}")
            } else {
                format!("{name}*{i}*={piece}")
            }
        })
        .collect::<Vec<_>>()
        .join(";\r\n ")
}

#[cfg(test)]
mod tests {
    // The `base64` crate, an independent implementation, checks ours (base64ct's) streamed in 76-column lines.
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine as _;

    use super::*;

    #[test]
    fn base64_stream_matches_whole_encoding_for_every_split() {
        let data: Vec<u8> = (0..500u32).map(|i| (i * 7 + 3) as u8).collect();
        let whole = base64_body(&data);
        for split in [0, 1, 2, 3, 56, 57, 58, 100, 499, 500] {
            let mut enc = Base64Stream::default();
            let mut out = Vec::new();
            let (a, b) = data.split_at(split);
            enc.push(a, &mut out);
            for byte in b.chunks(5) {
                enc.push(byte, &mut out);
            }
            enc.finish(&mut out);
            assert_eq!(out, whole, "split at {split}");
        }
        let text = String::from_utf8(whole).unwrap();
        let lines: Vec<&str> = text.split("\r\n").collect();
        assert!(lines.iter().all(|l| l.len() <= 76));
        let joined: String = lines.concat();
        assert_eq!(STANDARD.decode(joined).unwrap(), data);
    }

    #[test]
    fn quoted_printable_keeps_lines_short_and_encodes_what_it_must() {
        let text = format!("{}\r\n.dot\r\nFrom me\r\ntrailing \r\na=b é", "x".repeat(200));
        let qp = String::from_utf8(quoted_printable(text.as_bytes())).unwrap();
        assert!(qp.split("\r\n").all(|l| l.len() <= 76), "{qp}");
        assert!(qp.contains("=2Edot") && qp.contains("=46rom me") && qp.contains("trailing=20\r\n"));
        assert!(qp.contains("a=3Db =C3=A9"));
        assert!(!qp.contains("=_"));
    }

    #[test]
    fn encoded_words_never_split_a_character() {
        let text = "日本語のとても長い件名です".repeat(5) + "😀😀😀😀😀😀😀😀😀😀😀😀😀";
        let words = encoded_words(&text, "\r\n ");
        let mut decoded = Vec::new();
        for word in words.split("\r\n ") {
            assert!(word.len() <= 75);
            let inner = word
                .strip_prefix("=?UTF-8?B?")
                .unwrap()
                .strip_suffix("?=")
                .unwrap();
            let bytes = STANDARD.decode(inner).unwrap();
            assert!(
                String::from_utf8(bytes.clone()).is_ok(),
                "a word holds whole characters"
            );
            decoded.extend(bytes);
        }
        assert_eq!(String::from_utf8(decoded).unwrap(), text);
    }

    #[test]
    fn parameters_use_rfc_2231_for_non_ascii_and_long_values() {
        assert_eq!(
            parameter("filename", "a \"b\".txt"),
            "filename=\"a \\\"b\\\".txt\""
        );
        assert_eq!(parameter("filename", "€.txt"), "filename*=utf-8''%E2%82%AC.txt");
        let long = parameter("filename", &"é".repeat(40));
        assert!(long.starts_with("filename*0*=utf-8''%C3%A9"));
        assert!(long.contains(";\r\n filename*1*=%"));
        for piece in long.split(";\r\n ") {
            let value = piece.split_once('=').unwrap().1;
            assert!(value.rfind('%').is_none_or(|p| p + 3 <= value.len()), "{value}");
        }
    }
}
