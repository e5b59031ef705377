//! Incremental reply parser (RFC 5321 section 4.2), over arbitrary splits of the input.
//!
//! Bytes are parsed as they are pushed: only the current line and the lines of the reply in progress are held, so
//! the memory of a reply in progress is bounded by [`ReplyLimits`] and every byte is looked at once (feeding byte by
//! byte stays linear). Complete replies wait in a queue for [`ReplyParser::next_reply`].

use std::collections::VecDeque;

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

/// The lines of a reply whose last line has not arrived yet.
#[derive(Debug, Default)]
struct Partial {
    code: u16,
    lines: Vec<Vec<u8>>,
    /// Wire bytes of those lines, line ends included.
    bytes: usize,
}

/// Turns received bytes into [`Reply`] values.
#[derive(Debug)]
pub struct ReplyParser {
    limits: ReplyLimits,
    /// The line being received, without its line end.
    line: Vec<u8>,
    /// The reply being received (empty when between replies).
    partial: Partial,
    /// Complete replies not handed out yet, with how many wire bytes each took.
    ready: VecDeque<(Reply, usize)>,
    /// Bytes pushed and not yet handed out as part of a reply.
    buffered: usize,
    /// The first protocol error; once set, nothing more is parsed.
    error: Option<String>,
}

impl ReplyParser {
    /// A parser with these limits.
    #[must_use]
    pub fn new(limits: ReplyLimits) -> Self {
        ReplyParser {
            limits,
            line: Vec::new(),
            partial: Partial::default(),
            ready: VecDeque::new(),
            buffered: 0,
            error: None,
        }
    }

    /// Appends received bytes to the buffer.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buffered = self.buffered.saturating_add(bytes.len());
        if self.error.is_none() {
            if let Err(message) = self.parse(bytes) {
                self.fail(message);
            }
        }
    }

    /// The next complete reply, if the buffer holds one. `Err` is a protocol error (the message says what was
    /// wrong); it is sticky: every later call returns it again.
    ///
    /// Replies that were complete before the offending bytes are still returned first, in order.
    pub fn next_reply(&mut self) -> Result<Option<Reply>, String> {
        if let Some((reply, wire_bytes)) = self.ready.pop_front() {
            self.buffered = self.buffered.saturating_sub(wire_bytes);
            return Ok(Some(reply));
        }
        match &self.error {
            Some(message) => Err(message.clone()),
            None => Ok(None),
        }
    }

    /// How many received bytes are not part of a reply returned so far (a partial reply, or more replies).
    #[must_use]
    pub fn buffered_len(&self) -> usize {
        self.buffered
    }

    /// Whether part of a reply has been received (for "closed in the middle of a reply").
    #[must_use]
    pub fn is_mid_reply(&self) -> bool {
        !self.line.is_empty() || !self.partial.lines.is_empty()
    }

    /// Records the sticky error and drops what was held, which is no use any more.
    fn fail(&mut self, message: String) {
        self.error = Some(message);
        self.line = Vec::new();
        self.partial = Partial::default();
    }

    /// Splits `bytes` into lines (ended by LF, an optional CR before it removed) and feeds each to the reply.
    fn parse(&mut self, mut bytes: &[u8]) -> Result<(), String> {
        while let Some(end) = bytes.iter().position(|&b| b == b'\n') {
            let (head, tail) = bytes.split_at(end);
            self.append_to_line(head)?;
            // +1 for the LF itself.
            let wire_bytes = self.line.len() + 1;
            if wire_bytes > self.limits.max_line {
                return Err(line_too_long(self.limits.max_line));
            }
            if self.line.last() == Some(&b'\r') {
                self.line.pop();
            }
            let line = std::mem::take(&mut self.line);
            self.complete_line(&line, wire_bytes)?;
            self.line = line;
            self.line.clear();
            bytes = tail.get(1..).unwrap_or_default();
        }
        self.append_to_line(bytes)
    }

    /// Adds bytes to the unfinished line, refusing as soon as the line cannot fit its limit even with a bare LF.
    fn append_to_line(&mut self, bytes: &[u8]) -> Result<(), String> {
        if bytes.is_empty() {
            return Ok(());
        }
        if self.line.len().saturating_add(bytes.len()) >= self.limits.max_line {
            return Err(line_too_long(self.limits.max_line));
        }
        self.line.extend_from_slice(bytes);
        Ok(())
    }

    /// Adds one complete line (without its line end) that took `wire_bytes` on the wire to the reply in progress.
    fn complete_line(&mut self, line: &[u8], wire_bytes: usize) -> Result<(), String> {
        let (code, last, text) = split_reply_line(line)?;
        let partial = &mut self.partial;
        if !partial.lines.is_empty() && partial.code != code {
            return Err(format!(
                "reply line with code {code} inside a reply with code {}",
                partial.code
            ));
        }
        partial.code = code;
        partial.bytes = partial.bytes.saturating_add(wire_bytes);
        if partial.bytes > self.limits.max_reply_bytes {
            return Err(format!("reply longer than {} bytes", self.limits.max_reply_bytes));
        }
        if partial.lines.len() >= self.limits.max_lines {
            return Err(format!("reply of more than {} lines", self.limits.max_lines));
        }
        partial.lines.push(text.to_vec());
        if last {
            let done = std::mem::take(partial);
            self.ready
                .push_back((Reply::new(done.code, done.lines), done.bytes));
        }
        Ok(())
    }
}

/// The error for a line over `max_line` bytes.
fn line_too_long(max_line: usize) -> String {
    format!("reply line longer than {max_line} bytes")
}

/// Splits a reply line into its code, whether it is the last line, and its text.
///
/// `ddd text` and a bare `ddd` end a reply, `ddd-text` continues it; the first digit must be 2 to 5.
fn split_reply_line(line: &[u8]) -> Result<(u16, bool, &[u8]), String> {
    let malformed = || {
        format!(
            "malformed reply line {:?}",
            String::from_utf8_lossy(truncated(line))
        )
    };
    let (digits, rest) = line.split_first_chunk::<3>().ok_or_else(malformed)?;
    if !matches!(digits[0], b'2'..=b'5') || !digits[1].is_ascii_digit() || !digits[2].is_ascii_digit() {
        return Err(malformed());
    }
    let code = digits
        .iter()
        .fold(0u16, |code, &digit| code * 10 + u16::from(digit - b'0'));
    match rest.split_first() {
        None => Ok((code, true, rest)),
        Some((b' ', text)) => Ok((code, true, text)),
        Some((b'-', text)) => Ok((code, false, text)),
        Some(_) => Err(malformed()),
    }
}

/// At most the first 64 bytes of `line`, enough to show in an error message.
fn truncated(line: &[u8]) -> &[u8] {
    line.get(..64).unwrap_or(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parser() -> ReplyParser {
        ReplyParser::new(ReplyLimits::default())
    }

    /// Every reply in `input`, then the parser's state (a trailing error, if any).
    fn parse_all(parser: &mut ReplyParser, input: &[u8]) -> (Vec<Reply>, Option<String>) {
        parser.push(input);
        let mut replies = Vec::new();
        loop {
            match parser.next_reply() {
                Ok(Some(reply)) => replies.push(reply),
                Ok(None) => return (replies, None),
                Err(error) => return (replies, Some(error)),
            }
        }
    }

    fn texts(reply: &Reply) -> Vec<String> {
        reply.lines()
    }

    #[test]
    fn single_line_reply() {
        let (replies, error) = parse_all(&mut parser(), b"220 mx.example.org ESMTP ready\r\n");
        assert_eq!(error, None);
        assert_eq!(replies.len(), 1);
        assert_eq!(replies[0].code(), 220);
        assert_eq!(texts(&replies[0]), ["mx.example.org ESMTP ready"]);
    }

    #[test]
    fn multi_line_reply() {
        let input = b"250-mx.example.org\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250 8BITMIME\r\n";
        let (replies, error) = parse_all(&mut parser(), input);
        assert_eq!(error, None);
        assert_eq!(
            texts(&replies[0]),
            ["mx.example.org", "PIPELINING", "SIZE 10240000", "8BITMIME"]
        );
    }

    #[test]
    fn partial_reply_waits_for_its_last_line() {
        let mut p = parser();
        p.push(b"250-a\r\n250");
        assert_eq!(p.next_reply(), Ok(None));
        assert_eq!(p.buffered_len(), 10);
        assert!(p.is_mid_reply());
        p.push(b" b\r");
        assert_eq!(p.next_reply(), Ok(None));
        p.push(b"\n");
        let reply = p.next_reply().unwrap().unwrap();
        assert_eq!(texts(&reply), ["a", "b"]);
        assert_eq!(p.buffered_len(), 0);
        assert!(!p.is_mid_reply());
    }

    #[test]
    fn code_only_line_ends_a_reply() {
        let (replies, error) = parse_all(&mut parser(), b"250-first\r\n250\r\n354\n");
        assert_eq!(error, None);
        assert_eq!(texts(&replies[0]), ["first", ""]);
        assert_eq!(replies[1].code(), 354);
    }

    #[test]
    fn bare_lf_ends_a_line_and_inner_cr_is_text() {
        let (replies, error) = parse_all(&mut parser(), b"250-a\n250 b\rc\r\n");
        assert_eq!(error, None);
        assert_eq!(replies[0].raw_lines(), [b"a".to_vec(), b"b\rc".to_vec()]);
    }

    #[test]
    fn non_utf8_text_is_kept() {
        let (replies, _) = parse_all(&mut parser(), b"550 5.1.1 caf\xe9 \xff\r\n");
        assert_eq!(replies[0].raw_lines(), [b"5.1.1 caf\xe9 \xff".to_vec()]);
        assert_eq!(
            replies[0].enhanced_code().map(|c| c.to_string()),
            Some("5.1.1".into())
        );
    }

    #[test]
    fn pipelined_replies_in_one_push_come_out_one_by_one() {
        let mut p = parser();
        let input = b"250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n250-partial";
        p.push(input);
        assert_eq!(p.buffered_len(), input.len());
        assert_eq!(p.next_reply().unwrap().unwrap().code(), 250);
        assert_eq!(p.buffered_len(), input.len() - 14);
        assert_eq!(p.next_reply().unwrap().unwrap().code(), 250);
        assert_eq!(p.next_reply().unwrap().unwrap().code(), 354);
        assert_eq!(p.next_reply(), Ok(None));
        assert_eq!(p.buffered_len(), 11);
    }

    #[test]
    fn code_mismatch_in_a_continuation_is_an_error() {
        let (replies, error) = parse_all(&mut parser(), b"250-a\r\n251 b\r\n");
        assert!(replies.is_empty());
        assert!(error.unwrap().contains("251"));
    }

    #[test]
    fn malformed_lines_are_errors() {
        for line in [
            &b"\r\n"[..],
            b"25\r\n",
            b"2x0 ok\r\n",
            b"25x ok\r\n",
            b"150 ok\r\n",
            b"650 ok\r\n",
            b"abc\r\n",
            b"250ok\r\n",
            b"250_ok\r\n",
            b" 250 ok\r\n",
        ] {
            let (replies, error) = parse_all(&mut parser(), line);
            assert!(
                replies.is_empty() && error.is_some(),
                "{:?}",
                String::from_utf8_lossy(line)
            );
        }
    }

    #[test]
    fn error_is_sticky_and_earlier_replies_still_come_out() {
        let mut p = parser();
        p.push(b"250 ok\r\nbogus\r\n");
        assert_eq!(p.next_reply().unwrap().unwrap().code(), 250);
        let error = p.next_reply().unwrap_err();
        assert!(error.contains("bogus"), "{error}");
        p.push(b"250 fine now?\r\n");
        assert_eq!(p.next_reply(), Err(error.clone()));
        assert_eq!(p.next_reply(), Err(error));
        assert_eq!(p.buffered_len(), 7 + 15);
    }

    #[test]
    fn line_limit_counts_the_line_end() {
        let limits = ReplyLimits {
            max_line: 8,
            ..ReplyLimits::default()
        };
        let (replies, error) = parse_all(&mut ReplyParser::new(limits), b"250 abc\r\n");
        assert_eq!((replies.len(), error), (0, Some(line_too_long(8))));
        let (replies, error) = parse_all(&mut ReplyParser::new(limits), b"250 abcd\n");
        assert_eq!((replies.len(), error.is_some()), (0, true));
        let (replies, error) = parse_all(&mut ReplyParser::new(limits), b"250 abc\n250 ab\r\n");
        assert_eq!((replies.len(), error), (2, None));
    }

    #[test]
    fn overlong_line_without_an_end_is_refused_early() {
        let limits = ReplyLimits {
            max_line: 8,
            ..ReplyLimits::default()
        };
        let mut p = ReplyParser::new(limits);
        p.push(b"250 abc");
        assert_eq!(p.next_reply(), Ok(None));
        p.push(b"d");
        assert!(p.next_reply().is_err());
        // Byte by byte, the same.
        let mut p = ReplyParser::new(limits);
        for &byte in b"250 abcd" {
            p.push(&[byte]);
        }
        assert!(p.next_reply().is_err());
    }

    #[test]
    fn reply_byte_limit() {
        let limits = ReplyLimits {
            max_reply_bytes: 18,
            ..ReplyLimits::default()
        };
        let (replies, error) = parse_all(&mut ReplyParser::new(limits), b"250-abcd\r\n250 ef\r\n");
        assert_eq!((replies.len(), error.is_some()), (1, false));
        let (replies, error) = parse_all(&mut ReplyParser::new(limits), b"250-abcd\r\n250 efg\r\n");
        assert_eq!((replies.len(), error.is_some()), (0, true));
    }

    #[test]
    fn reply_line_count_limit() {
        let limits = ReplyLimits {
            max_lines: 2,
            ..ReplyLimits::default()
        };
        let (replies, error) = parse_all(
            &mut ReplyParser::new(limits),
            b"250-a\r\n250 b\r\n250-a\r\n250-b\r\n250 c\r\n",
        );
        assert_eq!(replies.len(), 1);
        assert!(error.unwrap().contains("2 lines"));
    }

    #[test]
    fn every_split_gives_the_same_replies() {
        let input: &[u8] = b"220 hi\r\n250-mx\r\n250-AUTH PLAIN\n250 SIZE\r\n550 5.1.1 no\r\n354\r\n";
        let (whole, error) = parse_all(&mut parser(), input);
        assert_eq!((whole.len(), error), (4, None));
        for cut in 0..=input.len() {
            let mut p = parser();
            let (mut replies, _) = parse_all(&mut p, &input[..cut]);
            let (rest, error) = parse_all(&mut p, &input[cut..]);
            replies.extend(rest);
            assert_eq!((replies, error), (whole.clone(), None), "cut at {cut}");
        }
        let mut p = parser();
        let mut replies = Vec::new();
        for &byte in input {
            replies.extend(parse_all(&mut p, &[byte]).0);
        }
        assert_eq!(replies, whole);
    }

    #[test]
    fn byte_by_byte_feeding_of_a_large_reply_is_fast() {
        // A quadratic rescan would take seconds here even in a debug build.
        let limits = ReplyLimits {
            max_line: 1 << 20,
            max_reply_bytes: 1 << 20,
            max_lines: 10,
        };
        let mut p = ReplyParser::new(limits);
        p.push(b"250 ");
        for _ in 0..500_000 {
            p.push(b"x");
        }
        p.push(b"\r\n");
        assert_eq!(p.next_reply().unwrap().unwrap().raw_lines()[0].len(), 500_000);
    }

    #[test]
    fn zero_limits_do_not_panic() {
        let limits = ReplyLimits {
            max_line: 0,
            max_reply_bytes: 0,
            max_lines: 0,
        };
        let (replies, error) = parse_all(&mut ReplyParser::new(limits), b"250 ok\r\n");
        assert!(replies.is_empty() && error.is_some());
        let mut p = ReplyParser::new(limits);
        p.push(b"");
        assert_eq!(p.next_reply(), Ok(None));
    }
}
