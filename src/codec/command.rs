//! Reading commands (the server's side of RFC 5321 section 4.1): finding lines in the input, splitting a line into
//! verb and arguments, and parsing the arguments of HELO/EHLO/LHLO, MAIL, RCPT, BDAT and AUTH.
//!
//! Every refusal is a ready [`ServerReply`] with go-smtp's codes, so the session only decides *when* to send it.

use crate::codec::address::validate_address;
use crate::codec::reply_writer::ServerReply;
use crate::error::Field;
use crate::reply::EnhancedCode;

const E_SYNTAX: EnhancedCode = EnhancedCode::new(5, 5, 2);
const E_PARAM: EnhancedCode = EnhancedCode::new(5, 5, 4);

/// Where the next line of `buffer` ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineScan {
    /// A complete line: `len` bytes including its terminator, `content` bytes without it; `bare_lf` when it ended
    /// with LF alone.
    Line {
        /// Bytes up to and including the LF.
        len: usize,
        /// Bytes before the CRLF (or the bare LF).
        content: usize,
        /// The line ended with LF not preceded by CR.
        bare_lf: bool,
    },
    /// No LF yet and the buffer is within the limit: wait for more.
    Incomplete,
    /// The line is longer than the limit. `discard` bytes can be dropped; `finished` when they include the LF.
    TooLong {
        /// Bytes to drop from the front of the buffer.
        discard: usize,
        /// The discarded bytes end the over-long line.
        finished: bool,
    },
}

/// Finds the first line in `buffer`: at most `limit` bytes, terminator included (go-smtp's `MaxLineLength`).
#[must_use]
pub fn scan_line(buffer: &[u8], limit: usize) -> LineScan {
    let limit = limit.max(3);
    match buffer.iter().position(|&b| b == b'\n') {
        Some(lf) if lf < limit => {
            let bare_lf = lf == 0 || buffer.get(lf - 1) != Some(&b'\r');
            LineScan::Line {
                len: lf + 1,
                content: if bare_lf { lf } else { lf - 1 },
                bare_lf,
            }
        }
        Some(lf) => LineScan::TooLong {
            discard: lf + 1,
            finished: true,
        },
        None if buffer.len() >= limit => LineScan::TooLong {
            // Keep a trailing CR: it may be the start of this line's CRLF.
            discard: buffer.len(),
            finished: false,
        },
        None => LineScan::Incomplete,
    }
}

/// The command verbs the server knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    /// `HELO domain`
    Helo,
    /// `EHLO domain`
    Ehlo,
    /// `LHLO domain` (LMTP)
    Lhlo,
    /// `MAIL FROM:<path> [params]`
    Mail,
    /// `RCPT TO:<path> [params]`
    Rcpt,
    /// `DATA`
    Data,
    /// `BDAT size [LAST]`
    Bdat,
    /// `RSET`
    Rset,
    /// `NOOP [string]`
    Noop,
    /// `VRFY string`
    Vrfy,
    /// `HELP [string]`
    Help,
    /// `QUIT`
    Quit,
    /// `STARTTLS`
    StartTls,
    /// `AUTH mechanism [initial-response]`
    Auth,
    /// `XCLIENT attribute=value ...`
    Xclient,
    /// SEND, SOML, SAML, EXPN, TURN: known, never implemented (`502`).
    NotImplemented,
}

/// A command line split into its verb and its arguments (after one space, trailing spaces removed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedCommand<'a> {
    /// The verb, or `None` for an unknown one.
    pub verb: Option<Verb>,
    /// The verb as sent, upper-cased (at most 16 characters, for replies and transcripts).
    pub name: String,
    /// Everything after the verb and its space.
    pub args: &'a [u8],
}

/// Splits a command line (without its line end) into verb and arguments.
#[must_use]
pub fn parse_command(line: &[u8]) -> ParsedCommand<'_> {
    let end = line.iter().position(|&b| b == b' ').unwrap_or(line.len());
    let (word, rest) = line.split_at(end);
    let name: String = word
        .iter()
        .take(16)
        .map(|&b| {
            if b.is_ascii_graphic() {
                char::from(b.to_ascii_uppercase())
            } else {
                '?'
            }
        })
        .collect();
    let verb = match name.as_str() {
        "HELO" => Some(Verb::Helo),
        "EHLO" => Some(Verb::Ehlo),
        "LHLO" => Some(Verb::Lhlo),
        "MAIL" => Some(Verb::Mail),
        "RCPT" => Some(Verb::Rcpt),
        "DATA" => Some(Verb::Data),
        "BDAT" => Some(Verb::Bdat),
        "RSET" => Some(Verb::Rset),
        "NOOP" => Some(Verb::Noop),
        "VRFY" => Some(Verb::Vrfy),
        "HELP" => Some(Verb::Help),
        "QUIT" => Some(Verb::Quit),
        "STARTTLS" => Some(Verb::StartTls),
        "AUTH" => Some(Verb::Auth),
        "XCLIENT" => Some(Verb::Xclient),
        "SEND" | "SOML" | "SAML" | "EXPN" | "TURN" => Some(Verb::NotImplemented),
        _ => None,
    };
    let args = rest.get(1..).unwrap_or_default();
    let trimmed = args.len()
        - args
            .iter()
            .rev()
            .take_while(|&&b| b == b' ' || b == b'\t')
            .count();
    ParsedCommand {
        verb,
        name,
        args: args.get(..trimmed).unwrap_or_default(),
    }
}

/// The HELO/EHLO/LHLO argument: the first word, UTF-8 without control characters (C1 included), at most 255
/// octets.
pub fn parse_hello(args: &[u8]) -> Result<String, ServerReply> {
    let refuse = || ServerReply::fixed(501, E_SYNTAX, "Domain/address argument required for HELO");
    let word = args.split(|&b| b == b' ').next().unwrap_or_default();
    if word.is_empty() || word.len() > 255 || word.iter().any(|&b| b < 0x21 || b == 0x7f) {
        return Err(refuse());
    }
    let name = String::from_utf8(word.to_vec()).map_err(|_| refuse())?;
    if name.chars().any(char::is_control) {
        return Err(refuse());
    }
    Ok(name)
}

/// Which envelope command a path belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathKind {
    /// `MAIL FROM:` (the null path `<>` is allowed).
    From,
    /// `RCPT TO:`
    To,
}

/// `FROM:<path> params` / `TO:<path> params` split into the address (brackets and any source route removed) and the
/// parameter text. `strict` refuses a space after the colon and a path without angle brackets (Postfix's
/// `strict_rfc821_envelopes`, go-smtp's `Strict`). Non-ASCII is let through here: the parameters decide.
pub fn parse_path(args: &[u8], kind: PathKind, strict: bool) -> Result<(String, &[u8]), ServerReply> {
    let (prefix, syntax) = match kind {
        PathKind::From => (
            &b"FROM:"[..],
            ServerReply::fixed(501, E_SYNTAX, "Was expecting MAIL arg syntax of FROM:<address>"),
        ),
        PathKind::To => (
            &b"TO:"[..],
            ServerReply::fixed(501, E_SYNTAX, "Was expecting RCPT arg syntax of TO:<address>"),
        ),
    };
    let head = args.get(..prefix.len()).unwrap_or_default();
    if !head.eq_ignore_ascii_case(prefix) {
        return Err(syntax);
    }
    let mut rest = args.get(prefix.len()..).unwrap_or_default();
    if rest.first() == Some(&b' ') {
        if strict {
            return Err(syntax);
        }
        while rest.first() == Some(&b' ') {
            rest = rest.get(1..).unwrap_or_default();
        }
    }
    let (path, params) = if rest.first() == Some(&b'<') {
        let close = closing_bracket(rest).ok_or_else(|| syntax.clone())?;
        let inner = rest.get(1..close).unwrap_or_default();
        let after = rest.get(close + 1..).unwrap_or_default();
        if !(after.is_empty() || after.first() == Some(&b' ')) {
            return Err(syntax);
        }
        (strip_source_route(inner), after)
    } else {
        if strict {
            return Err(syntax);
        }
        let end = rest.iter().position(|&b| b == b' ').unwrap_or(rest.len());
        let (path, after) = rest.split_at(end);
        (path, after)
    };
    if path.is_empty() && kind == PathKind::To {
        return Err(syntax);
    }
    if path.is_empty() && rest.first() != Some(&b'<') {
        // `MAIL FROM:` with nothing at all is not the null path.
        return Err(syntax);
    }
    let address = std::str::from_utf8(path).map_err(|_| syntax.clone())?;
    let field = match kind {
        PathKind::From => Field::From,
        PathKind::To => Field::To,
    };
    // C1 controls too (U+0085 is a line break to some readers): never in an address handed to the application.
    if validate_address(field, address, true, kind == PathKind::From).is_err()
        || address.chars().any(char::is_control)
    {
        return Err(match kind {
            PathKind::From => {
                ServerReply::fixed(553, EnhancedCode::new(5, 1, 7), "Bad sender address syntax")
            }
            PathKind::To => {
                ServerReply::fixed(553, EnhancedCode::new(5, 1, 3), "Bad recipient address syntax")
            }
        });
    }
    let params = trim_spaces(params);
    Ok((address.to_string(), params))
}

/// The index of the `>` that closes the path starting at `rest[0] == b'<'`, skipping a quoted local part.
fn closing_bracket(rest: &[u8]) -> Option<usize> {
    let mut quoted = false;
    let mut escaped = false;
    for (at, &byte) in rest.iter().enumerate().skip(1) {
        match byte {
            _ if escaped => escaped = false,
            b'\\' if quoted => escaped = true,
            b'"' => quoted = !quoted,
            b'>' if !quoted => return Some(at),
            _ => {}
        }
    }
    None
}

/// RFC 5321 section 4.1.2: `@a,@b:user@c` — the source route is ignored (section C).
fn strip_source_route(path: &[u8]) -> &[u8] {
    if path.first() == Some(&b'@') {
        if let Some(colon) = path.iter().position(|&b| b == b':') {
            return path.get(colon + 1..).unwrap_or_default();
        }
    }
    path
}

fn trim_spaces(mut bytes: &[u8]) -> &[u8] {
    while let [b' ', rest @ ..] = bytes {
        bytes = rest;
    }
    bytes
}

/// `BDAT size [LAST]`: the chunk size and whether it is the last one.
pub fn parse_bdat(args: &[u8]) -> Result<(u64, bool), ServerReply> {
    let mut words = args.split(|&b| b == b' ').filter(|w| !w.is_empty());
    let size = words
        .next()
        .ok_or(ServerReply::fixed(501, E_PARAM, "Missing chunk size argument"))?;
    let last = match words.next() {
        None => false,
        Some(word) if word.eq_ignore_ascii_case(b"LAST") => true,
        Some(_) => return Err(ServerReply::fixed(501, E_PARAM, "Unknown BDAT argument")),
    };
    if words.next().is_some() {
        return Err(ServerReply::fixed(501, E_PARAM, "Too many arguments"));
    }
    let size = parse_decimal(size).ok_or(ServerReply::fixed(501, E_PARAM, "Malformed size argument"))?;
    Ok((size, last))
}

/// A decimal number of at most 19 digits (no sign, no spaces).
#[must_use]
pub fn parse_decimal(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() || digits.len() > 19 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    digits.iter().try_fold(0u64, |value, &d| {
        value.checked_mul(10)?.checked_add(u64::from(d - b'0'))
    })
}

/// `AUTH mechanism [initial-response]`: the mechanism name (upper-cased) and the initial response, if any.
pub fn parse_auth(args: &[u8]) -> Result<(String, Option<&[u8]>), ServerReply> {
    let mut words = args.split(|&b| b == b' ').filter(|w| !w.is_empty());
    let mechanism = words
        .next()
        .ok_or(ServerReply::fixed(501, E_PARAM, "Missing parameter"))?;
    let initial = words.next();
    if words.next().is_some() || mechanism.len() > 20 || !mechanism.iter().all(|b| b.is_ascii_graphic()) {
        return Err(ServerReply::fixed(
            501,
            E_SYNTAX,
            "Syntax error in AUTH parameters",
        ));
    }
    Ok((String::from_utf8_lossy(mechanism).to_ascii_uppercase(), initial))
}

/// ESMTP parameters: upper-cased keys with their raw values (`None` for a keyword without `=`).
pub type Params<'a> = Vec<(String, Option<&'a [u8]>)>;

/// Splits ESMTP parameters (`KEY[=VALUE]` separated by spaces) into upper-cased keys and raw values, refusing more
/// than `max` of them and duplicate keys.
pub fn split_params(params: &[u8], max: usize) -> Result<Params<'_>, ServerReply> {
    let malformed = ServerReply::fixed(501, E_PARAM, "Unable to parse ESMTP parameters");
    let mut out: Params<'_> = Vec::new();
    for word in params.split(|&b| b == b' ').filter(|w| !w.is_empty()) {
        let (key, value) = match word.iter().position(|&b| b == b'=') {
            Some(eq) => (word.get(..eq).unwrap_or_default(), word.get(eq + 1..)),
            None => (word, None),
        };
        // RFC 5321 esmtp-keyword: ALPHA / DIGIT then ALPHA / DIGIT / "-"; esmtp-value: %d33-60 / %d62-126 / UTF-8.
        let key_ok = key.first().is_some_and(u8::is_ascii_alphanumeric)
            && key.iter().all(|&b| b.is_ascii_alphanumeric() || b == b'-')
            && key.len() <= 32;
        let value_ok = value.is_none_or(|v| v.iter().all(|&b| b > 0x20 && b != b'=' && b != 0x7f));
        if !key_ok || !value_ok || out.len() >= max {
            return Err(malformed);
        }
        let key = String::from_utf8_lossy(key).to_ascii_uppercase();
        if out.iter().any(|(seen, _)| *seen == key) {
            return Err(ServerReply::fixed(501, E_PARAM, "Duplicate ESMTP parameter"));
        }
        out.push((key, value));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_found_and_bounded() {
        assert_eq!(
            scan_line(b"NOOP\r\nX", 100),
            LineScan::Line {
                len: 6,
                content: 4,
                bare_lf: false
            }
        );
        assert_eq!(
            scan_line(b"NOOP\nX", 100),
            LineScan::Line {
                len: 5,
                content: 4,
                bare_lf: true
            }
        );
        assert_eq!(
            scan_line(b"\n", 100),
            LineScan::Line {
                len: 1,
                content: 0,
                bare_lf: true
            }
        );
        assert_eq!(scan_line(b"NOOP\r", 100), LineScan::Incomplete);
        assert_eq!(
            scan_line(b"NOOP\r\n", 5),
            LineScan::TooLong {
                discard: 6,
                finished: true
            }
        );
        assert_eq!(
            scan_line(b"NOOP\r\n", 6),
            LineScan::Line {
                len: 6,
                content: 4,
                bare_lf: false
            }
        );
        assert_eq!(
            scan_line(b"NOOPXX", 6),
            LineScan::TooLong {
                discard: 6,
                finished: false
            }
        );
        assert_eq!(
            scan_line(b"NOO\r\n", 6),
            LineScan::Line {
                len: 5,
                content: 3,
                bare_lf: false
            }
        );
    }

    #[test]
    fn verbs_are_case_insensitive() {
        let c = parse_command(b"mail FROM:<a@b> SIZE=1  ");
        assert_eq!(c.verb, Some(Verb::Mail));
        assert_eq!(c.args, b"FROM:<a@b> SIZE=1");
        assert_eq!(parse_command(b"StartTLS").verb, Some(Verb::StartTls));
        assert_eq!(parse_command(b"XXXX").verb, None);
        assert_eq!(parse_command(b"").verb, None);
        assert_eq!(parse_command(b"\xff\x00").name, "??");
    }

    #[test]
    fn paths() {
        let ok = |args: &str, kind, strict| {
            parse_path(args.as_bytes(), kind, strict).map(|(a, p)| (a, p.to_vec()))
        };
        assert_eq!(ok("FROM:<a@b>", PathKind::From, true), Ok(("a@b".into(), vec![])));
        assert_eq!(
            ok("from:<> SIZE=10", PathKind::From, true),
            Ok(("".into(), b"SIZE=10".to_vec()))
        );
        assert_eq!(
            ok("FROM: <a@b>", PathKind::From, false),
            Ok(("a@b".into(), vec![]))
        );
        assert!(ok("FROM: <a@b>", PathKind::From, true).is_err());
        assert_eq!(
            ok("FROM:a@b BODY=7BIT", PathKind::From, false),
            Ok(("a@b".into(), b"BODY=7BIT".to_vec()))
        );
        assert!(ok("FROM:a@b", PathKind::From, true).is_err());
        assert!(ok("FROM:", PathKind::From, false).is_err());
        assert!(ok("TO:<>", PathKind::To, false).is_err());
        assert!(ok("TO:", PathKind::To, false).is_err());
        assert_eq!(
            ok("TO:<@r1,@r2:bob@x>", PathKind::To, true),
            Ok(("bob@x".into(), vec![]))
        );
        assert_eq!(
            ok("TO:<\"a>b\"@x>", PathKind::To, true),
            Ok(("\"a>b\"@x".into(), vec![]))
        );
        assert!(ok("TO:<a@b>x", PathKind::To, false).is_err());
        assert_eq!(ok("TO:<a b@c>", PathKind::To, false).unwrap_err().code(), 553);
        assert_eq!(
            ok("TO:<\"a\u{9c}\"@x>", PathKind::To, false).unwrap_err().code(),
            553
        );
        assert_eq!(ok("TO:<a\u{85}@x>", PathKind::To, false).unwrap_err().code(), 553);
        assert!(ok("TO:<a@b", PathKind::To, false).is_err());
    }

    #[test]
    fn bdat_and_auth_and_params() {
        assert_eq!(parse_bdat(b"8"), Ok((8, false)));
        assert_eq!(parse_bdat(b"0 last"), Ok((0, true)));
        assert!(parse_bdat(b"").is_err() && parse_bdat(b"-1").is_err() && parse_bdat(b"1 LAST x").is_err());
        assert!(parse_bdat(b"99999999999999999999").is_err());
        assert_eq!(
            parse_auth(b"plain AHVzZXI="),
            Ok(("PLAIN".into(), Some(&b"AHVzZXI="[..])))
        );
        assert!(parse_auth(b"").is_err());
        let p = split_params(b"size=10 SMTPUTF8 body=8bitmime", 10).unwrap();
        assert_eq!(p[0], ("SIZE".into(), Some(&b"10"[..])));
        assert_eq!(p[1], ("SMTPUTF8".into(), None));
        assert!(split_params(b"A=1 a=2", 10).is_err());
        assert!(split_params(b"=1", 10).is_err());
        assert!(split_params(b"A=1=2", 10).is_err());
        assert!(split_params(b"A B C", 2).is_err());
    }
}
