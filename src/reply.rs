//! A server reply: the three-digit code, the RFC 3463 enhanced status code when there is one, and the text lines.

use std::borrow::Cow;
use std::fmt;

/// An RFC 3463 enhanced status code, `class.subject.detail` (for example `5.1.1`, "bad destination mailbox").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EnhancedCode {
    /// 2 (success), 4 (persistent transient failure) or 5 (permanent failure).
    pub class: u8,
    /// The subject, 0 to 999.
    pub subject: u16,
    /// The detail, 0 to 999.
    pub detail: u16,
}

impl EnhancedCode {
    /// An enhanced status code from its three parts (`EnhancedCode::new(5, 1, 1)` is `5.1.1`).
    #[must_use]
    pub const fn new(class: u8, subject: u16, detail: u16) -> Self {
        EnhancedCode {
            class,
            subject,
            detail,
        }
    }

    /// Parses `X.Y.Z` at the start of `text` (followed by a space or the end), as RFC 3463 writes it.
    /// Returns the code and the number of bytes it occupied, including one following space.
    #[must_use]
    pub fn parse_prefix(text: &[u8]) -> Option<(EnhancedCode, usize)> {
        fn number(text: &[u8], at: usize, max_digits: usize) -> Option<(u16, usize)> {
            let digits = text[at..].iter().take_while(|b| b.is_ascii_digit()).count();
            if digits == 0 || digits > max_digits {
                return None;
            }
            let mut value = 0u16;
            for &b in &text[at..at + digits] {
                value = value * 10 + u16::from(b - b'0');
            }
            Some((value, at + digits))
        }
        let class = *text.first()?;
        if !matches!(class, b'2' | b'4' | b'5') || text.get(1) != Some(&b'.') {
            return None;
        }
        let (subject, at) = number(text, 2, 3)?;
        if text.get(at) != Some(&b'.') {
            return None;
        }
        let (detail, at) = number(text, at + 1, 3)?;
        let used = match text.get(at) {
            None => at,
            Some(b' ') => at + 1,
            Some(_) => return None,
        };
        Some((
            EnhancedCode {
                class: class - b'0',
                subject,
                detail,
            },
            used,
        ))
    }
}

impl From<(u8, u16, u16)> for EnhancedCode {
    fn from((class, subject, detail): (u8, u16, u16)) -> Self {
        EnhancedCode::new(class, subject, detail)
    }
}

impl fmt::Display for EnhancedCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.class, self.subject, self.detail)
    }
}

/// One complete reply from the server (all lines of a multi-line reply).
///
/// The text is kept as the server sent it, byte for byte: servers do send non-UTF-8 text, and it is shown lossily
/// rather than refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    code: u16,
    enhanced_code: Option<EnhancedCode>,
    lines: Vec<Vec<u8>>,
}

impl Reply {
    /// A reply from its code and the text of each line (what follows `ddd-` or `ddd `, without the line end).
    ///
    /// The enhanced status code is taken from the first line when it is there and its class agrees with the reply
    /// code's first digit (RFC 3463 section 2 requires that they agree; a disagreeing one is treated as plain text).
    #[must_use]
    pub fn new(code: u16, lines: Vec<Vec<u8>>) -> Self {
        let enhanced_code = lines
            .first()
            .and_then(|first| EnhancedCode::parse_prefix(first))
            .map(|(enhanced, _)| enhanced)
            .filter(|enhanced| u16::from(enhanced.class) == code / 100);
        Reply {
            code,
            enhanced_code,
            lines,
        }
    }

    /// The three-digit reply code.
    #[must_use]
    pub fn code(&self) -> u16 {
        self.code
    }

    /// The enhanced status code (RFC 3463), when the server sent one.
    #[must_use]
    pub fn enhanced_code(&self) -> Option<EnhancedCode> {
        self.enhanced_code
    }

    /// The raw text of each line, exactly as received.
    #[must_use]
    pub fn raw_lines(&self) -> &[Vec<u8>] {
        &self.lines
    }

    /// The text of each line, decoded lossily as UTF-8.
    #[must_use]
    pub fn lines(&self) -> Vec<String> {
        self.lines
            .iter()
            .map(|line| String::from_utf8_lossy(line).into_owned())
            .collect()
    }

    /// The text of line `index`, decoded lossily, or an empty string past the end.
    #[must_use]
    pub fn line(&self, index: usize) -> Cow<'_, str> {
        self.lines
            .get(index)
            .map_or(Cow::Borrowed(""), |line| String::from_utf8_lossy(line))
    }

    /// The human-readable message: every line's text with the enhanced status code removed, joined by `\n`.
    #[must_use]
    pub fn message(&self) -> String {
        let mut text = String::new();
        for (i, line) in self.lines.iter().enumerate() {
            if i > 0 {
                text.push('\n');
            }
            let body = match (self.enhanced_code, EnhancedCode::parse_prefix(line)) {
                (Some(ours), Some((theirs, used))) if ours.class == theirs.class => &line[used..],
                _ => &line[..],
            };
            text.push_str(&String::from_utf8_lossy(body));
        }
        text
    }

    /// 2xx: the command succeeded.
    #[must_use]
    pub fn is_positive_completion(&self) -> bool {
        (200..300).contains(&self.code)
    }

    /// 3xx: the server waits for more (354 after DATA, 334 during AUTH).
    #[must_use]
    pub fn is_intermediate(&self) -> bool {
        (300..400).contains(&self.code)
    }

    /// 4xx: a temporary failure; the same command may succeed later.
    #[must_use]
    pub fn is_transient_failure(&self) -> bool {
        (400..500).contains(&self.code)
    }

    /// 5xx: a permanent failure.
    #[must_use]
    pub fn is_permanent_failure(&self) -> bool {
        (500..600).contains(&self.code)
    }
}

impl fmt::Display for Reply {
    /// Formats the reply the way it came over the wire (one line per reply line, no trailing CRLF).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let last = self.lines.len().saturating_sub(1);
        if self.lines.is_empty() {
            return write!(f, "{}", self.code);
        }
        for (i, line) in self.lines.iter().enumerate() {
            let separator = if i == last { ' ' } else { '-' };
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{}{}{}", self.code, separator, String::from_utf8_lossy(line))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(code: u16, lines: &[&str]) -> Reply {
        Reply::new(code, lines.iter().map(|l| l.as_bytes().to_vec()).collect())
    }

    #[test]
    fn enhanced_code_is_extracted_when_the_class_agrees() {
        let r = reply(550, &["5.1.1 <bob@example.org>: Recipient address rejected"]);
        assert_eq!(
            r.enhanced_code(),
            Some(EnhancedCode {
                class: 5,
                subject: 1,
                detail: 1
            })
        );
        assert_eq!(r.message(), "<bob@example.org>: Recipient address rejected");
        let mismatch = reply(250, &["5.1.1 odd"]);
        assert_eq!(mismatch.enhanced_code(), None);
        assert_eq!(mismatch.message(), "5.1.1 odd");
    }

    #[test]
    fn enhanced_code_rejects_near_misses() {
        for text in ["2.0", "2.0.", "3.0.0 x", "2.1000.0", "2.0.0x", "x2.0.0", ""] {
            assert_eq!(EnhancedCode::parse_prefix(text.as_bytes()), None, "{text:?}");
        }
        assert_eq!(EnhancedCode::parse_prefix(b"2.0.0").map(|(_, n)| n), Some(5));
    }

    #[test]
    fn non_utf8_text_is_shown_lossily() {
        let r = Reply::new(250, vec![b"ok \xff\xfe".to_vec()]);
        assert_eq!(r.line(0), "ok \u{fffd}\u{fffd}");
        assert_eq!(r.raw_lines()[0], b"ok \xff\xfe");
    }

    #[test]
    fn display_rebuilds_the_wire_form() {
        let r = reply(250, &["mx.example.org", "PIPELINING", "8BITMIME"]);
        assert_eq!(r.to_string(), "250-mx.example.org\n250-PIPELINING\n250 8BITMIME");
    }
}
