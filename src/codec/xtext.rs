//! xtext (RFC 3461 section 4) and utf-8-addr-xtext (RFC 6533 section 3) for ENVID, ORCPT, AUTH= and XCLIENT:
//! encoding (the client) and decoding (the server).

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

/// Decodes RFC 3461 xtext: `+HH` (two upper-case hex digits) is a byte; every other byte must be `!`..`~` except
/// `=`. Returns `None` for a malformed value or one that does not decode to UTF-8.
#[must_use]
pub fn decode_xtext(value: &str) -> Option<String> {
    let bytes = value.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while let Some(&byte) = bytes.get(at) {
        if byte == b'+' {
            let high = bytes.get(at + 1).copied().and_then(upper_hex)?;
            let low = bytes.get(at + 2).copied().and_then(upper_hex)?;
            decoded.push(high << 4 | low);
            at += 3;
        } else if matches!(byte, b'!'..=b'~') && byte != b'=' {
            decoded.push(byte);
            at += 1;
        } else {
            return None;
        }
    }
    String::from_utf8(decoded).ok()
}

fn upper_hex(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        _ => None,
    }
}

/// Decodes RFC 6533 utf-8-addr-xtext or utf-8-addr-unitext: `\x{HEX}` (1 to 6 upper-case hex digits, the shortest
/// form as RFC 6533 section 3 requires of the ranges) is a code point; QCHAR and non-ASCII UTF-8 stand for
/// themselves; `+`, `=`, `\` unescaped, spaces and controls are refused. Returns `None` when malformed.
#[must_use]
pub fn decode_utf8_addr_xtext(value: &str) -> Option<String> {
    let mut decoded = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(character) = rest.chars().next() {
        if character == '\\' {
            let after = rest.strip_prefix("\\x{")?;
            let close = after.find('}')?;
            let hex = after.get(..close)?;
            if hex.is_empty() || hex.len() > 6 || !hex.bytes().all(|b| upper_hex(b).is_some()) {
                return None;
            }
            let point = u32::from_str_radix(hex, 16).ok()?;
            // The escape must be needed and minimal: 2 digits for what QCHAR cannot carry below 0x100, otherwise
            // exactly as many digits as the value has (go-smtp's table; no surrogates, nothing past U+10FFFF).
            let minimal = match hex.len() {
                2 => point < 0x100 && !is_qchar(char::from_u32(point)?),
                3 => (0x100..=0xFFF).contains(&point),
                4 => (0x1000..=0xFFFF).contains(&point),
                5 => (0x1_0000..=0xF_FFFF).contains(&point),
                6 => (0x10_0000..=0x10_FFFF).contains(&point),
                _ => false,
            };
            if !minimal || point == 0 {
                return None;
            }
            decoded.push(char::from_u32(point)?);
            rest = after.get(close + 1..)?;
        } else {
            if !is_qchar(character) && character.is_ascii() {
                return None;
            }
            decoded.push(character);
            rest = rest.get(character.len_utf8()..)?;
        }
    }
    Some(decoded)
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
    fn xtext_decoding_round_trips_and_refuses_malformed() {
        for value in [
            "QQ314159",
            "a+b=c",
            "two words",
            "\u{e9}t\u{e9}",
            "rfc822;Bob@Example.COM",
            "",
        ] {
            assert_eq!(decode_xtext(&encode_xtext(value)).as_deref(), Some(value));
        }
        assert_eq!(decode_xtext("e+3Dmc2").as_deref(), Some("e=mc2"));
        for bad in ["+A", "+", "+4g", "+4a", "a=b", "a b", "x+YY", "+FF"] {
            assert_eq!(decode_xtext(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn utf8_addr_xtext_decoding() {
        let jp = "e\\x{3D}mc2@\\x{30C9}\\x{30E1}\\x{30A4}\\x{30F3}\\x{540D}\\x{4F8B}.jp";
        assert_eq!(
            decode_utf8_addr_xtext(jp).as_deref(),
            Some("e=mc2@\u{30c9}\u{30e1}\u{30a4}\u{30f3}\u{540d}\u{4f8b}.jp")
        );
        // unitext: non-ASCII as itself.
        assert_eq!(
            decode_utf8_addr_xtext("j\u{f6}rg@x").as_deref(),
            Some("j\u{f6}rg@x")
        );
        for value in ["a+b=c\\d", "j\u{f6}rg@b\u{fc}cher.de", "\u{1f600}"] {
            assert_eq!(
                decode_utf8_addr_xtext(&encode_utf8_addr_xtext(value)).as_deref(),
                Some(value)
            );
        }
        for bad in [
            "a b",
            "a+b",
            "a=b",
            "\\",
            "\\x{",
            "\\x{}",
            "\\x{41}",
            "\\x{0041}",
            "\\x{D800}",
            "\\x{110000}",
            "\\x{3d}",
            "\\x{0}",
        ] {
            assert_eq!(decode_utf8_addr_xtext(bad), None, "{bad:?}");
        }
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
