//! xtext (RFC 3461 section 4) and utf-8-addr-xtext (RFC 6533 section 3) for ENVID and ORCPT.

use std::fmt::Write as _;

/// RFC 3461 xtext: bytes outside `!`..`~`, and `+` and `=`, become `+HH` (upper-case hex).
#[must_use]
pub fn encode_xtext(value: &str) -> String {
    let mut encoded = String::with_capacity(value.len());
    for byte in value.bytes() {
        if matches!(byte, b'!'..=b'~') && byte != b'+' && byte != b'=' {
            encoded.push(char::from(byte));
        } else {
            // Writing to a String cannot fail.
            let _ = write!(encoded, "+{byte:02X}");
        }
    }
    encoded
}

/// RFC 6533 utf-8-addr-xtext: non-ASCII characters and `+`, `=`, `\` become `\x{HEX}`; controls are not allowed
/// (callers check them first).
///
/// Every character outside QCHAR (`%x21-2a / %x2c-3c / %x3e-5b / %x5d-7e`) is written as `\x{HEX}` with its code
/// point in upper-case hex without leading zeros, so even an unchecked control or space cannot break the command.
#[must_use]
pub fn encode_utf8_addr_xtext(value: &str) -> String {
    let mut encoded = String::with_capacity(value.len());
    for character in value.chars() {
        if is_qchar(character) {
            encoded.push(character);
        } else {
            let _ = write!(encoded, "\\x{{{:X}}}", u32::from(character));
        }
    }
    encoded
}

/// RFC 6533 QCHAR: printable ASCII except `+`, `=` and `\`.
fn is_qchar(character: char) -> bool {
    matches!(character, '\x21'..='\x2a' | '\x2c'..='\x3c' | '\x3e'..='\x5b' | '\x5d'..='\x7e')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xtext_keeps_printables_and_escapes_the_rest() {
        // RFC 3461 section 4: "+" and "=" and anything outside "!".."~" are hexchar-encoded.
        assert_eq!(encode_xtext("QQ314159"), "QQ314159");
        assert_eq!(encode_xtext("a+b=c"), "a+2Bb+3Dc");
        assert_eq!(encode_xtext("two words"), "two+20words");
        assert_eq!(encode_xtext("rfc822;Bob@Example.COM"), "rfc822;Bob@Example.COM");
        assert_eq!(encode_xtext("\u{e9}"), "+C3+A9");
        assert_eq!(encode_xtext("\u{7f}\t"), "+7F+09");
        assert_eq!(encode_xtext(""), "");
    }

    #[test]
    fn utf8_addr_xtext_escapes_by_code_point() {
        // RFC 6533 section 3: "\x{" HEXPOINT "}" with upper-case hex and no leading zeros.
        assert_eq!(encode_utf8_addr_xtext("user@example.com"), "user@example.com");
        assert_eq!(encode_utf8_addr_xtext("a+b=c\\d"), "a\\x{2B}b\\x{3D}c\\x{5C}d");
        assert_eq!(
            encode_utf8_addr_xtext("j\u{f6}rg@b\u{fc}cher.de"),
            "j\\x{F6}rg@b\\x{FC}cher.de"
        );
        assert_eq!(encode_utf8_addr_xtext("\u{65e5}\u{672c}"), "\\x{65E5}\\x{672C}");
        assert_eq!(encode_utf8_addr_xtext("\u{1f600}"), "\\x{1F600}");
        assert_eq!(encode_utf8_addr_xtext("a b\u{7f}\u{1}"), "a\\x{20}b\\x{7F}\\x{1}");
    }

    #[test]
    fn utf8_addr_xtext_qchar_boundaries() {
        for byte in 0x21u8..=0x7e {
            let text = char::from(byte).to_string();
            let expect_plain = !matches!(byte, b'+' | b'=' | b'\\');
            assert_eq!(encode_utf8_addr_xtext(&text) == text, expect_plain, "{byte:#x}");
        }
    }
}
