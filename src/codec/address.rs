//! Address checks: refuse what is unsafe or over the RFC 5321 limits, let the server judge everything else.

use crate::codec::line::first_control;
use crate::error::{Field, InputError, InputErrorReason};

/// RFC 5321 section 4.5.3.1.1: local part.
const MAX_LOCAL_PART: usize = 64;
/// RFC 5321 section 4.5.3.1.2: domain.
const MAX_DOMAIN: usize = 255;
/// RFC 5321 section 4.5.3.1.3: path, angle brackets included.
const MAX_PATH: usize = 256;

/// Checks a mailbox given without angle brackets for `MAIL FROM:<...>` or `RCPT TO:<...>`.
///
/// Refused: CR, LF, NUL, other C0 controls, DEL; `<`, `>` or space outside a quoted local part; a local part over 64
/// octets, a domain over 255, a path (with brackets) over 256; non-ASCII unless `utf8_allowed`; the empty string
/// unless `allow_empty` (the null reverse-path `<>`).
pub fn validate_address(
    field: Field,
    address: &str,
    utf8_allowed: bool,
    allow_empty: bool,
) -> Result<(), InputError> {
    let refuse = |reason| Err(InputError::new(field, reason));
    let bytes = address.as_bytes();
    if bytes.is_empty() {
        return if allow_empty {
            Ok(())
        } else {
            refuse(InputErrorReason::Empty)
        };
    }
    if let Some((offset, byte)) = first_control(bytes) {
        return refuse(InputErrorReason::ControlCharacter { byte, offset });
    }
    if !utf8_allowed {
        if let Some(offset) = bytes.iter().position(|b| !b.is_ascii()) {
            return refuse(InputErrorReason::NonAscii { offset });
        }
    }
    let quoted_end = quoted_local_part_end(bytes);
    if let Some((offset, &byte)) = bytes
        .iter()
        .enumerate()
        .skip(quoted_end)
        .find(|(_, b)| matches!(b, b'<' | b'>' | b' '))
    {
        return refuse(InputErrorReason::Unquoted {
            character: char::from(byte),
            offset,
        });
    }
    let (local, domain) = split_at_domain(bytes, quoted_end);
    for (limit, actual) in [
        (MAX_LOCAL_PART, local),
        (MAX_DOMAIN, domain),
        (MAX_PATH, bytes.len() + 2),
    ] {
        if actual > limit {
            return refuse(InputErrorReason::TooLong { limit, actual });
        }
    }
    Ok(())
}

/// The offset just past a quoted local part (`"..."` at the very start, with `\` quoting the next byte), or 0 when
/// the address does not start with one. An unclosed quote counts as no quoting at all, so its `<`, `>` and spaces
/// are refused rather than handed to a server that may read them differently.
fn quoted_local_part_end(bytes: &[u8]) -> usize {
    if bytes.first() != Some(&b'"') {
        return 0;
    }
    let mut escaped = false;
    for (at, &byte) in bytes.iter().enumerate().skip(1) {
        match byte {
            _ if escaped => escaped = false,
            b'\\' => escaped = true,
            b'"' => return at + 1,
            _ => {}
        }
    }
    0
}

/// Octet lengths of the local part and the domain: the split is at the last `@` after any quoted local part; with
/// no `@` (`postmaster`) everything is local part.
fn split_at_domain(bytes: &[u8], quoted_end: usize) -> (usize, usize) {
    let tail = bytes.get(quoted_end..).unwrap_or_default();
    match tail.iter().rposition(|&b| b == b'@') {
        Some(at) => {
            let at = quoted_end + at;
            (at, bytes.len() - at - 1)
        }
        None => (bytes.len(), 0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(address: &str) -> Result<(), InputErrorReason> {
        validate_address(Field::To, address, false, false).map_err(|error| {
            assert_eq!(error.field, Field::To);
            error.reason
        })
    }

    #[test]
    fn ordinary_and_odd_but_safe_addresses_pass() {
        for address in [
            "bob@example.org",
            "postmaster",
            "whatever",
            "a.b+tag@[192.0.2.1]",
            "\"john doe\"@example.org",
            "\"a<b>c\"@example.org",
            "\"quoted \\\" quote <x>\"@example.org",
            "@relay.example:bob@example.org",
            "x@y@z",
        ] {
            assert_eq!(check(address), Ok(()), "{address:?}");
        }
    }

    #[test]
    fn empty_is_refused_unless_allowed() {
        assert_eq!(check(""), Err(InputErrorReason::Empty));
        validate_address(Field::From, "", false, true).unwrap();
    }

    #[test]
    fn controls_and_del_are_refused_with_byte_and_offset() {
        for byte in (0u8..0x20).chain([0x7f]) {
            let address = format!("bo{}b@example.org", char::from(byte));
            assert_eq!(
                check(&address),
                Err(InputErrorReason::ControlCharacter { byte, offset: 2 })
            );
        }
        // Inside quotes too: a quoted CRLF is still command injection.
        assert_eq!(
            check("\"a\r\nb\"@x"),
            Err(InputErrorReason::ControlCharacter {
                byte: b'\r',
                offset: 2
            })
        );
    }

    #[test]
    fn brackets_and_spaces_outside_quotes_are_refused() {
        let unquoted = |character, offset| Err(InputErrorReason::Unquoted { character, offset });
        assert_eq!(check("a>b@x"), unquoted('>', 1));
        assert_eq!(check("<a@x"), unquoted('<', 0));
        assert_eq!(check("a b@x"), unquoted(' ', 1));
        assert_eq!(check("\"a b\"@x y"), unquoted(' ', 7));
        assert_eq!(check("\"a b@x"), unquoted(' ', 2));
        assert_eq!(check("a\"b c\"@x"), unquoted(' ', 3));
    }

    #[test]
    fn non_ascii_needs_utf8() {
        assert_eq!(
            check("j\u{f6}rg@example.org"),
            Err(InputErrorReason::NonAscii { offset: 1 })
        );
        validate_address(Field::From, "j\u{f6}rg@b\u{fc}cher.de", true, false).unwrap();
    }

    #[test]
    fn length_limits() {
        let local = "a".repeat(64);
        assert_eq!(check(&format!("{local}@x")), Ok(()));
        assert_eq!(
            check(&format!("{local}a@x")),
            Err(InputErrorReason::TooLong {
                limit: 64,
                actual: 65
            })
        );
        assert_eq!(
            check(&"p".repeat(65)),
            Err(InputErrorReason::TooLong {
                limit: 64,
                actual: 65
            })
        );
        let domain = "d".repeat(255);
        assert_eq!(
            check(&format!("a@{domain}d")),
            Err(InputErrorReason::TooLong {
                limit: 255,
                actual: 256
            })
        );
        // 64 + 1 + 190 + 2 brackets = 257 > 256 although both parts are within their own limits.
        let path = format!("{local}@{}", "d".repeat(190));
        assert_eq!(
            check(&path),
            Err(InputErrorReason::TooLong {
                limit: 256,
                actual: 257
            })
        );
        assert_eq!(check(&format!("{local}@{}", "d".repeat(189))), Ok(()));
        // Octets, not characters.
        let error = validate_address(Field::To, &format!("{}@x", "\u{e9}".repeat(33)), true, false);
        assert_eq!(
            error.unwrap_err().reason,
            InputErrorReason::TooLong {
                limit: 64,
                actual: 66
            }
        );
    }

    #[test]
    fn at_inside_quotes_does_not_split() {
        let local = format!("\"{}@\"", "a".repeat(60));
        assert_eq!(check(&format!("{local}@x")), Ok(()));
        let long = format!("\"{}@\"", "a".repeat(62));
        assert_eq!(
            check(&format!("{long}@x")),
            Err(InputErrorReason::TooLong {
                limit: 64,
                actual: 65
            })
        );
    }
}
