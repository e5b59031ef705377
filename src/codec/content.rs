//! Reading message content on the server side: the DATA decoder (end of data, dot-unstuffing, bare line ends) and
//! the BDAT byte counter.
//!
//! # DATA and SMTP smuggling
//! The message ends only on `<CR><LF>.<CR><LF>`, where both line ends are real CRLF. `<LF>.<LF>`, `<CR>.<CR>`,
//! `<LF>.<CR><LF>` and `<CR><LF>.<LF>` never end it (and so never start a second message inside the first): see
//! <https://www.postfix.org/smtp-smuggling.html>. A bare LF is written out as CRLF ([`BareLf::Normalize`], Postfix
//! 3.9's `smtpd_forbid_bare_newline = normalize`) or makes the message fail once it has been read to its end
//! ([`BareLf::Reject`]). A bare CR is content. A line starting with `.` loses that dot (RFC 5321 section 4.5.2),
//! wherever the line started, so a `.` line that does not end the message never reaches the application as one.
//!
//! The decoder keeps a few bits of state, so any split of the input gives the same output; it writes at most twice
//! the bytes it consumes.

/// What a bare LF (an LF not preceded by CR) in message content does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BareLf {
    /// It becomes CRLF (Postfix 3.9 `normalize`; the default).
    #[default]
    Normalize,
    /// The message is read to its end and refused with `550 5.5.2` (Postfix `reject`).
    Reject,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// At the start of a line; `crlf` when the previous line ended with a real CRLF.
    LineStart { crlf: bool },
    /// A dot at the start of a line was dropped; `crlf` as above.
    Dot { crlf: bool },
    /// Inside a line.
    Mid,
    /// A CR was seen and not yet written; `ends` when an LF now would end the message (`CRLF . CR`).
    Cr { ends: bool },
    /// The end of data was seen.
    Done,
}

/// The result of one [`DataDecoder::decode`] call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decoded {
    /// Input bytes consumed (everything up to and including the final `.CRLF` when `end`).
    pub consumed: usize,
    /// The end of data was reached; the bytes after `consumed` are commands again.
    pub end: bool,
}

/// The DATA content decoder.
#[derive(Debug, Clone)]
pub struct DataDecoder {
    state: State,
    bare_lf: BareLf,
    saw_bare_lf: bool,
}

impl DataDecoder {
    /// A decoder for the content after `354` (the DATA line itself ended the previous line).
    #[must_use]
    pub fn new(bare_lf: BareLf) -> Self {
        DataDecoder {
            state: State::LineStart { crlf: true },
            bare_lf,
            saw_bare_lf: false,
        }
    }

    /// Whether a bare LF was seen so far.
    #[must_use]
    pub fn saw_bare_lf(&self) -> bool {
        self.saw_bare_lf
    }

    /// Whether the end of data was seen.
    #[must_use]
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Decodes from `input`, appending content to `out` (at most `2 * consumed` bytes), and stops after the end of
    /// data. The final `CRLF.CRLF`'s leading CRLF belongs to the content (RFC 5321 section 4.1.1.4).
    pub fn decode(&mut self, input: &[u8], out: &mut Vec<u8>) -> Decoded {
        let mut at = 0;
        while let Some(&byte) = input.get(at) {
            if self.state == State::Mid {
                // Inside a line nothing but CR and LF matters: copy the run up to the next one at once (most of a
                // message is line bodies; a push per byte was the server's largest cost receiving a big message).
                let rest = input.get(at..).unwrap_or_default();
                let run = rest
                    .iter()
                    .position(|&b| b == b'\r' || b == b'\n')
                    .unwrap_or(rest.len());
                if run > 0 {
                    out.extend_from_slice(rest.get(..run).unwrap_or_default());
                    at += run;
                    continue;
                }
            }
            self.state = match (self.state, byte) {
                (State::Done, _) => {
                    return Decoded {
                        consumed: at,
                        end: true,
                    }
                }
                (State::LineStart { crlf }, b'.') => State::Dot { crlf },
                (State::Dot { crlf }, b'\r') => State::Cr { ends: crlf },
                (State::LineStart { .. } | State::Mid, b'\r') => State::Cr { ends: false },
                (State::LineStart { .. } | State::Dot { .. } | State::Mid, b'\n') => self.bare_line_feed(out),
                (State::LineStart { .. } | State::Dot { .. } | State::Mid, _) => {
                    out.push(byte);
                    State::Mid
                }
                (State::Cr { ends: true }, b'\n') => {
                    self.state = State::Done;
                    return Decoded {
                        consumed: at + 1,
                        end: true,
                    };
                }
                (State::Cr { ends: false }, b'\n') => {
                    out.extend_from_slice(b"\r\n");
                    State::LineStart { crlf: true }
                }
                (State::Cr { .. }, b'\r') => {
                    out.push(b'\r');
                    State::Cr { ends: false }
                }
                (State::Cr { .. }, _) => {
                    out.extend_from_slice(&[b'\r', byte]);
                    State::Mid
                }
            };
            at += 1;
        }
        Decoded {
            consumed: input.len(),
            end: self.state == State::Done,
        }
    }

    fn bare_line_feed(&mut self, out: &mut Vec<u8>) -> State {
        self.saw_bare_lf = true;
        match self.bare_lf {
            BareLf::Normalize => out.extend_from_slice(b"\r\n"),
            BareLf::Reject => out.push(b'\n'),
        }
        State::LineStart { crlf: false }
    }
}

/// Counts the bytes of one BDAT chunk (RFC 3030): exactly the announced number, whatever they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkReader {
    remaining: u64,
}

impl ChunkReader {
    /// A reader for a chunk of `size` bytes.
    #[must_use]
    pub fn new(size: u64) -> Self {
        ChunkReader { remaining: size }
    }

    /// Bytes still to come.
    #[must_use]
    pub fn remaining(&self) -> u64 {
        self.remaining
    }

    /// Takes this chunk's bytes from the front of `input` (at most `max` of them); the rest is not the chunk's.
    pub fn take<'a>(&mut self, input: &'a [u8], max: usize) -> &'a [u8] {
        let want = usize::try_from(self.remaining)
            .unwrap_or(usize::MAX)
            .min(max)
            .min(input.len());
        self.remaining -= want as u64;
        input.get(..want).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decodes `input` whole, byte by byte and split at every position; all must agree. Returns (content, end,
    /// consumed).
    fn run(input: &[u8], mode: BareLf) -> (String, bool, usize) {
        let whole = {
            let mut d = DataDecoder::new(mode);
            let mut out = Vec::new();
            let r = d.decode(input, &mut out);
            (String::from_utf8_lossy(&out).into_owned(), r.end, r.consumed)
        };
        for split in 0..=input.len() {
            let mut d = DataDecoder::new(mode);
            let mut out = Vec::new();
            let (a, b) = input.split_at(split);
            let first = d.decode(a, &mut out);
            let (end, consumed) = if first.end {
                (true, first.consumed)
            } else {
                let second = d.decode(b, &mut out);
                (second.end, a.len() + second.consumed)
            };
            assert_eq!(
                (String::from_utf8_lossy(&out).into_owned(), end, consumed),
                whole,
                "split {split}"
            );
        }
        whole
    }

    #[test]
    fn ends_only_on_crlf_dot_crlf() {
        assert_eq!(
            run(b"Hi\r\n.\r\nMAIL", BareLf::Normalize),
            ("Hi\r\n".into(), true, 7)
        );
        assert_eq!(run(b".\r\n", BareLf::Normalize), ("".into(), true, 3));
        assert_eq!(
            run(b"\r\n\r\n.\r\n", BareLf::Normalize),
            ("\r\n\r\n".into(), true, 7)
        );
    }

    #[test]
    fn unstuffs_dots() {
        let (out, end, _) = run(
            b"From: a\r\n\r\nHey\r <3\r\n..this dot is fine\r\n.\r\n",
            BareLf::Normalize,
        );
        assert!(end);
        assert_eq!(out, "From: a\r\n\r\nHey\r <3\r\n.this dot is fine\r\n");
        assert_eq!(run(b"...\r\n.\r\n", BareLf::Normalize).0, "..\r\n");
    }

    #[test]
    fn smuggling_never_ends_the_message() {
        for attack in [
            &b"a\n.\nMAIL FROM:<x>\r\n"[..],
            b"a\r.\rMAIL",
            b"a\n.\r\nMAIL",
            b"a\r\n.\nMAIL",
            b"a\r\n.\r.\r\n",
        ] {
            let (out, end, consumed) = run(attack, BareLf::Normalize);
            assert!(!end, "{attack:?} ended the message");
            assert_eq!(consumed, attack.len());
            assert!(!out.contains("\r\n.\r\n") && !out.contains("\n.\n"), "{out:?}");
        }
        assert_eq!(
            run(b"a\r\n.\nb\r\n.\r\n", BareLf::Normalize),
            ("a\r\n\r\nb\r\n".into(), true, 11)
        );
        // go-smtp's smuggling cases, the Postfix way: bare LF becomes CRLF, the dot is dropped, the message goes on.
        assert_eq!(
            run(b"dot:\n.\r\nFinal.\r\n.\r\n", BareLf::Normalize).0,
            "dot:\r\n\r\nFinal.\r\n"
        );
    }

    #[test]
    fn bare_lf_modes() {
        let mut d = DataDecoder::new(BareLf::Reject);
        let mut out = Vec::new();
        assert!(d.decode(b"a\nb\r\n.\r\n", &mut out).end);
        assert!(d.saw_bare_lf());
        let mut d = DataDecoder::new(BareLf::Normalize);
        assert!(d.decode(b"a\r\n.\r\n", &mut Vec::new()).end);
        assert!(!d.saw_bare_lf());
        assert_eq!(run(b"a\nb\r\n.\r\n", BareLf::Normalize).0, "a\r\nb\r\n");
    }

    #[test]
    fn output_is_at_most_twice_the_input() {
        let mut d = DataDecoder::new(BareLf::Normalize);
        let mut out = Vec::new();
        let input = b"\n\r\rx\r\n.\n\n.x";
        let r = d.decode(input, &mut out);
        assert!(out.len() <= 2 * r.consumed);
    }

    #[test]
    fn chunk_reader_counts_exactly() {
        let mut c = ChunkReader::new(5);
        assert_eq!(c.take(b"abc", 100), b"abc");
        assert_eq!(c.take(b"defgh", 1), b"d");
        assert_eq!(c.take(b"efgh", 100), b"e");
        assert_eq!(c.remaining(), 0);
        assert_eq!(c.take(b"xyz", 100), b"");
    }
}
