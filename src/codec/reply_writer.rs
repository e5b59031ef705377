//! Writing replies (the server's side of RFC 5321 section 4.2): one or more lines, `ddd-` on all but the last and
//! `ddd ` on the last, with the RFC 3463 enhanced status code on every line when there is one (RFC 2034 section 4).

use std::borrow::Cow;

use crate::reply::EnhancedCode;

/// Longest text accepted for one reply line; longer lines are cut (RFC 5321 section 4.5.3.1.5 allows 512 octets for
/// a whole reply line, code and CRLF included).
const MAX_LINE_TEXT: usize = 500;
/// Most lines one reply may have (bounds what an application's text can make the server write).
const MAX_LINES: usize = 64;

/// What [`ServerReply::new`] takes as the enhanced status code: an [`EnhancedCode`], a `(class, subject, detail)`
/// tuple, or an `Option` of either (`None`: derived from the code).
pub trait IntoEnhancedCode {
    /// The code, if one was given.
    fn into_enhanced_code(self) -> Option<EnhancedCode>;
}

impl IntoEnhancedCode for EnhancedCode {
    fn into_enhanced_code(self) -> Option<EnhancedCode> {
        Some(self)
    }
}

impl IntoEnhancedCode for (u8, u16, u16) {
    fn into_enhanced_code(self) -> Option<EnhancedCode> {
        Some(self.into())
    }
}

impl<T: IntoEnhancedCode> IntoEnhancedCode for Option<T> {
    fn into_enhanced_code(self) -> Option<EnhancedCode> {
        self.and_then(IntoEnhancedCode::into_enhanced_code)
    }
}

/// A reply the server sends: a code, an enhanced status code, and text (`\n` separates lines).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerReply {
    code: u16,
    enhanced: Option<EnhancedCode>,
    text: Cow<'static, str>,
}

impl ServerReply {
    /// A reply with `code` (kept in 200..=599; anything else becomes 451, see [`ServerReply::code`]), an enhanced
    /// status code (none given: `X.0.0` for 2xx, 4xx and 5xx, as go-smtp does; a class that disagrees with the code
    /// is replaced the same way) and `text` (`\n` starts a new line; CR and other controls become spaces).
    #[must_use]
    pub fn new(code: u16, enhanced: impl IntoEnhancedCode, text: &str) -> Self {
        ServerReply {
            code,
            enhanced: enhanced.into_enhanced_code(),
            text: Cow::Owned(text.to_string()),
        }
    }

    /// A reply with static text, for the server's own fixed replies.
    #[must_use]
    pub const fn fixed(code: u16, enhanced: EnhancedCode, text: &'static str) -> Self {
        ServerReply {
            code,
            enhanced: Some(enhanced),
            text: Cow::Borrowed(text),
        }
    }

    /// A reply without an enhanced status code at all (the greeting, the EHLO reply, `334` and `354`).
    #[must_use]
    pub fn plain(code: u16, text: &str) -> Self {
        ServerReply {
            code,
            enhanced: Some(EnhancedCode::new(0, 0, 0)),
            text: Cow::Owned(text.to_string()),
        }
    }

    /// The code that will be written: the given one when it is in 200..=599, otherwise 451 (a temporary failure
    /// never loses mail).
    #[must_use]
    pub fn code(&self) -> u16 {
        if (200..=599).contains(&self.code) {
            self.code
        } else {
            451
        }
    }

    /// The enhanced status code that will be written, if any.
    #[must_use]
    pub fn enhanced_code(&self) -> Option<EnhancedCode> {
        let code = self.code();
        let class = u8::try_from(code / 100).unwrap_or(4);
        match self.enhanced {
            // `plain`: none on purpose.
            Some(EnhancedCode { class: 0, .. }) => None,
            Some(enhanced)
                if matches!(class, 2 | 4 | 5)
                    && enhanced.class == class
                    && enhanced.subject < 1000
                    && enhanced.detail < 1000 =>
            {
                Some(enhanced)
            }
            _ if matches!(class, 2 | 4 | 5) => Some(EnhancedCode::new(class, 0, 0)),
            _ => None,
        }
    }

    /// The text as given.
    #[must_use]
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Appends the reply's wire form to `out` and returns the lines written (without CRLF), for a transcript.
    /// Written straight into `out` (no `format!`, no list of lines): the server writes several replies per message.
    pub fn write_to(&self, out: &mut Vec<u8>) -> usize {
        let code = self.code();
        let enhanced = self.enhanced_code();
        let mut lines = self.text.split('\n').take(MAX_LINES).peekable();
        let mut count = 0;
        while let Some(line) = lines.next() {
            count += 1;
            push_decimal(out, u32::from(code));
            out.push(if lines.peek().is_none() { b' ' } else { b'-' });
            if let Some(e) = enhanced {
                push_decimal(out, u32::from(e.class));
                out.push(b'.');
                push_decimal(out, u32::from(e.subject));
                out.push(b'.');
                push_decimal(out, u32::from(e.detail));
                out.push(b' ');
            }
            // At most MAX_LINE_TEXT bytes of whole characters; controls become spaces, the rest is copied in runs.
            let bytes = line.as_bytes();
            let mut run = 0;
            let mut cut = 0;
            for (at, character) in line.char_indices() {
                let end = at + character.len_utf8();
                if end > MAX_LINE_TEXT {
                    break;
                }
                cut = end;
                if character.is_control() {
                    out.extend_from_slice(bytes.get(run..at).unwrap_or_default());
                    out.push(b' ');
                    run = end;
                }
            }
            out.extend_from_slice(bytes.get(run..cut).unwrap_or_default());
            // "250 " with an empty text: drop the trailing space only for a reply with no text at all (`334 `
            // keeps it: RFC 4954 writes "334 " with an empty challenge).
            out.extend_from_slice(b"\r\n");
        }
        count
    }

    /// The wire form as a `String` (for tests and transcripts), CRLF included.
    #[must_use]
    pub fn to_wire(&self) -> String {
        let mut out = Vec::new();
        self.write_to(&mut out);
        String::from_utf8_lossy(&out).into_owned()
    }
}

/// Appends `n` in decimal.
fn push_decimal(out: &mut Vec<u8>, n: u32) {
    let mut digits = [0u8; 10];
    let mut at = digits.len();
    let mut rest = n;
    loop {
        at -= 1;
        if let Some(d) = digits.get_mut(at) {
            *d = b'0' + (rest % 10) as u8;
        }
        rest /= 10;
        if rest == 0 || at == 0 {
            break;
        }
    }
    out.extend_from_slice(digits.get(at..).unwrap_or_default());
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The writer as it was before it wrote in runs (format! per line, one push per character): the oracle.
    fn reference(reply: &ServerReply) -> String {
        let enhanced = reply.enhanced_code().map(|e| format!("{e} ")).unwrap_or_default();
        let lines: Vec<&str> = reply.text().split('\n').take(MAX_LINES).collect();
        let mut out = String::new();
        for (i, line) in lines.iter().enumerate() {
            let separator = if i + 1 == lines.len() { ' ' } else { '-' };
            out.push_str(&format!("{}{separator}{enhanced}", reply.code()));
            let mut taken = 0;
            for character in line.chars() {
                taken += character.len_utf8();
                if taken > MAX_LINE_TEXT {
                    break;
                }
                out.push(if character.is_control() { ' ' } else { character });
            }
            out.push_str("\r\n");
        }
        out
    }

    #[test]
    fn same_bytes_as_the_reference() {
        let long = "é".repeat(300) + "x";
        let edge = "a".repeat(499) + "€b";
        let texts = [
            "",
            "OK",
            "a\nb\n",
            "\n",
            "tab\there\r\u{85}\u{7f}end",
            "ünïcödé \u{1F600}",
            long.as_str(),
            edge.as_str(),
        ];
        let many = "x\n".repeat(100);
        for text in texts.iter().copied().chain([many.as_str()]) {
            for reply in [
                ServerReply::new(250, None::<EnhancedCode>, text),
                ServerReply::new(550, EnhancedCode::new(5, 123, 7), text),
                ServerReply::new(999, EnhancedCode::new(2, 1, 0), text),
                ServerReply::new(421, EnhancedCode::new(4, 999, 999), text),
                ServerReply::plain(334, text),
            ] {
                assert_eq!(reply.to_wire(), reference(&reply), "{reply:?}");
                let mut out = Vec::new();
                let lines = reply.write_to(&mut out);
                assert_eq!(lines, text.split('\n').take(MAX_LINES).count());
            }
        }
    }

    #[test]
    fn single_and_multi_line() {
        let r = ServerReply::new(550, EnhancedCode::new(5, 1, 1), "no such user");
        assert_eq!(r.to_wire(), "550 5.1.1 no such user\r\n");
        let r = ServerReply::new(250, None::<EnhancedCode>, "a\nb");
        assert_eq!(r.to_wire(), "250-2.0.0 a\r\n250 2.0.0 b\r\n");
        assert_eq!(ServerReply::plain(354, "Go").to_wire(), "354 Go\r\n");
        assert_eq!(ServerReply::plain(334, "").to_wire(), "334 \r\n");
    }

    #[test]
    fn codes_are_kept_sane() {
        assert_eq!(
            ServerReply::new(999, None::<EnhancedCode>, "x").to_wire(),
            "451 4.0.0 x\r\n"
        );
        assert_eq!(ServerReply::new(250, (5, 1, 1), "x").to_wire(), "250 2.0.0 x\r\n");
        assert_eq!(ServerReply::new(354, (3, 0, 0), "x").to_wire(), "354 x\r\n");
        assert_eq!(
            ServerReply::new(550, (5, 1000, 1), "x").to_wire(),
            "550 5.0.0 x\r\n"
        );
    }

    #[test]
    fn controls_cannot_inject_lines() {
        let r = ServerReply::new(250, None::<EnhancedCode>, "ok\r250 fake\u{0}");
        assert_eq!(r.to_wire(), "250 2.0.0 ok 250 fake \r\n");
        let long = "x".repeat(2000);
        assert!(ServerReply::new(250, None::<EnhancedCode>, &long).to_wire().len() < 520);
        let many = "l\n".repeat(500);
        assert_eq!(
            ServerReply::new(250, None::<EnhancedCode>, &many)
                .to_wire()
                .lines()
                .count(),
            MAX_LINES
        );
    }
}
