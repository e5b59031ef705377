//! Fuzz bodies for the server's codec: the command parser (`server_command`) and the content decoder
//! (`server_content`). Each returns normally or panics when an invariant breaks.

use crate::codec::command::{
    parse_auth, parse_bdat, parse_command, parse_hello, parse_path, scan_line, LineScan, PathKind,
};
use crate::codec::content::{BareLf, ChunkReader, DataDecoder};
use crate::codec::params::{parse_mail_params, parse_rcpt_params, Offered};
use crate::codec::proxy::{parse_proxy_header, ProxyParse, MAX_V1_LINE, MAX_V2_HEADER};
use crate::codec::reply_writer::ServerReply;
use crate::codec::xtext::{decode_utf8_addr_xtext, decode_xtext, encode_utf8_addr_xtext, encode_xtext};
use crate::reply::EnhancedCode;

use super::{encode_data, normalize_reference, split, take_config};

/// The PROXY protocol reader on the raw input: a header found is exactly its own bytes (the same result from them
/// alone, every shorter prefix incomplete), within the limits; an incomplete input stays within them too.
fn check_proxy_header(input: &[u8]) {
    match parse_proxy_header(input) {
        ProxyParse::Done { header, consumed } => {
            assert!(consumed <= input.len() && consumed <= MAX_V2_HEADER);
            let own = input.get(..consumed).unwrap_or_default();
            assert_eq!(parse_proxy_header(own), ProxyParse::Done { header, consumed });
            for cut in 0..consumed {
                let prefix = input.get(..cut).unwrap_or_default();
                assert_eq!(
                    parse_proxy_header(prefix),
                    ProxyParse::Incomplete,
                    "prefix of {cut}"
                );
            }
        }
        ProxyParse::Incomplete => assert!(input.len() < MAX_V1_LINE || input.len() < MAX_V2_HEADER + 16),
        ProxyParse::Invalid(_) => {}
    }
}

/// Fuzz target `server_command`: arbitrary input cut into lines (`data[0]` picks the line limit) and every line run
/// through every argument parser; the line scanner accounts for every byte, parsed addresses carry no control
/// characters, and replies built from the line are well-formed wire lines.
///
/// `data[1]` bits pick what the server offers (SMTPUTF8, REQUIRETLS, BINARYMIME, DSN with RRVS, DELIVERBY and
/// MT-PRIORITY, a DELIVERBY minimum, SIZE limit) and strictness.
pub fn server_command(data: &[u8]) {
    check_proxy_header(data);
    let (config, mut input) = take_config::<2>(data);
    let limit = usize::from(config[0]) * 8 + 3;
    let bits = config[1];
    let offered = Offered {
        max_size: if bits & 1 != 0 { 1000 } else { 0 },
        smtputf8: bits & 2 != 0,
        requiretls: bits & 4 != 0,
        binarymime: bits & 8 != 0,
        dsn: bits & 16 != 0,
        rrvs: bits & 16 != 0,
        deliver_by: bits & 16 != 0,
        min_deliver_by: if bits & 64 != 0 { 60 } else { 0 },
        mt_priority: bits & 16 != 0,
    };
    let strict = bits & 32 != 0;
    let mut skipping = false;
    while !input.is_empty() {
        match scan_line(input, limit) {
            LineScan::Incomplete => {
                assert!(input.len() < limit && !input.contains(&b'\n'));
                break;
            }
            LineScan::TooLong { discard, finished } => {
                assert!(discard > 0 && discard <= input.len());
                input = &input[discard..];
                skipping = !finished;
            }
            LineScan::Line {
                len,
                content,
                bare_lf,
            } => {
                assert!(len <= limit && content < len && len <= input.len());
                assert_eq!(input[len - 1], b'\n');
                assert_eq!(bare_lf, content + 1 == len);
                let line = &input[..content];
                assert!(!line.contains(&b'\n'));
                if !std::mem::take(&mut skipping) {
                    check_command_line(line, offered, strict);
                }
                input = &input[len..];
            }
        }
    }
    // xtext: decoding what was encoded gives it back.
    let text = String::from_utf8_lossy(data);
    assert_eq!(decode_xtext(&encode_xtext(&text)).as_deref(), Some(&*text));
    // (Controls are never in an address: the client refuses them before encoding, in its own short form.)
    if !text.chars().any(char::is_control) {
        let round_trip = decode_utf8_addr_xtext(&encode_utf8_addr_xtext(&text));
        assert_eq!(round_trip.as_deref(), Some(&*text));
    }
}

fn check_command_line(line: &[u8], offered: Offered, strict: bool) {
    let command = parse_command(line);
    assert!(command.name.len() <= 16);
    let args = command.args;
    if let Ok(name) = parse_hello(args) {
        assert!(!name.is_empty() && !name.chars().any(|c| c == ' ' || c.is_control()));
    }
    for kind in [PathKind::From, PathKind::To] {
        match parse_path(args, kind, strict) {
            Ok((address, params)) => {
                assert!(!address.chars().any(char::is_control), "control in {address:?}");
                assert!(kind == PathKind::From || !address.is_empty());
                let _ = parse_mail_params(params, offered).map(|o| {
                    if let Some(size) = o.size {
                        assert!(offered.max_size == 0 || size <= offered.max_size);
                    }
                    assert!(!o.utf8 || offered.smtputf8);
                    assert!(!o.require_tls || offered.requiretls);
                    assert!(o.ret.is_none() || offered.dsn);
                });
                let _ = parse_rcpt_params(params, offered).map(|o| {
                    assert!(o.notify.is_none() || offered.dsn);
                    if let Some(orcpt) = o.original_recipient {
                        assert!(!orcpt.chars().any(char::is_control));
                    }
                });
            }
            Err(reply) => check_reply(&reply),
        }
    }
    let _ = parse_bdat(args).map_err(|r| check_reply(&r));
    let _ = parse_auth(args).map_err(|r| check_reply(&r));
    // Whatever the line says, a reply quoting it stays one well-formed reply.
    let text = String::from_utf8_lossy(line);
    let code = u16::from(line.first().copied().unwrap_or(0)) * 3;
    let class = line.get(1).copied().unwrap_or(0) % 6;
    check_reply(&ServerReply::new(code, EnhancedCode::new(class, 0, 1), &text));
}

/// A reply's wire form: lines of `ddd-`/`ddd ` + text + CRLF, no CR or LF elsewhere, the last one with a space.
fn check_reply(reply: &ServerReply) {
    let mut wire = Vec::new();
    let count = reply.write_to(&mut wire);
    let text = String::from_utf8(wire).expect("replies are UTF-8");
    let lines: Vec<&str> = text.split_terminator("\r\n").collect();
    assert_eq!(lines.len(), count);
    assert!(!text.is_empty() && text.ends_with("\r\n"));
    for (i, line) in lines.iter().enumerate() {
        assert!(!line.contains('\r') && !line.contains('\n'), "{line:?}");
        let code = line.get(..3).expect("a code");
        assert!(code.bytes().all(|b| b.is_ascii_digit()));
        assert!((200..=599).contains(&code.parse::<u16>().unwrap_or(0)));
        let separator = if i + 1 == lines.len() {
            Some(" ")
        } else {
            Some("-")
        };
        assert_eq!(line.get(3..4), separator);
    }
}

/// Fuzz target `server_content`: the DATA decoder gives the same result whole, split (seeded by `data[1]`) and byte
/// by byte; it ends only right after a real `CRLF.CRLF` (the first one, counting the line end before the content);
/// its output is at most twice its input and, normalising, has no bare LF; and it reads back exactly what the
/// client's encoder writes. `data[0]` bit 0 picks [`BareLf::Reject`]; BDAT counting is checked on the same input.
pub fn server_content(data: &[u8]) {
    let (config, input) = take_config::<2>(data);
    let mode = if config[0] & 1 != 0 {
        BareLf::Reject
    } else {
        BareLf::Normalize
    };
    let whole = decode_pieces(&[input], mode);
    let pieces = split(input, u64::from(config[1]) + 1);
    assert_eq!(decode_pieces(&pieces, mode), whole, "split feeding differs");
    if input.len() <= 2048 {
        let bytes: Vec<&[u8]> = input.chunks(1).collect();
        assert_eq!(decode_pieces(&bytes, mode), whole, "byte-by-byte feeding differs");
    }
    let (out, end, consumed, _) = &whole;
    assert!(out.len() <= 2 * consumed);
    let mut framed = b"\r\n".to_vec();
    framed.extend_from_slice(&input[..*consumed]);
    let first_end = framed
        .windows(5)
        .position(|w| w == b"\r\n.\r\n")
        .map(|at| at + 5 - 2);
    if *end {
        assert_eq!(
            first_end,
            Some(*consumed),
            "ended somewhere else than the first CRLF.CRLF"
        );
    } else {
        assert_eq!(first_end, None, "missed a CRLF.CRLF");
        assert_eq!(*consumed, input.len());
    }
    if mode == BareLf::Normalize {
        assert!(out.windows(2).all(|w| w[1] != b'\n' || w[0] == b'\r') && out.first() != Some(&b'\n'));
    }
    // The client's DATA encoder and this decoder agree on every body.
    if let Ok(encoded) = encode_data(&[input], true) {
        let (decoded, end, consumed, bare) = decode_pieces(&[&encoded], BareLf::Reject);
        assert!(
            end && consumed == encoded.len() && !bare,
            "the encoder's output must end exactly once"
        );
        let mut expected = normalize_reference(input);
        if !expected.is_empty() && !expected.ends_with(b"\r\n") {
            expected.extend_from_slice(b"\r\n");
        }
        assert_eq!(decoded, expected, "decode(encode(body)) != body");
    }
    // BDAT: exactly the announced bytes, whatever they are.
    let size = u64::from(config[1]);
    let mut reader = ChunkReader::new(size);
    let mut taken = 0usize;
    for piece in &pieces {
        taken += reader.take(piece, usize::from(config[0]) + 1).len();
    }
    assert!(taken as u64 <= size && taken <= input.len());
}

/// (content, end, consumed, saw bare LF) after feeding `pieces` in order until the end.
fn decode_pieces(pieces: &[&[u8]], mode: BareLf) -> (Vec<u8>, bool, usize, bool) {
    let mut decoder = DataDecoder::new(mode);
    let mut out = Vec::new();
    let mut consumed = 0;
    for piece in pieces {
        let result = decoder.decode(piece, &mut out);
        consumed += result.consumed;
        if result.end {
            return (out, true, consumed, decoder.saw_bare_lf());
        }
        assert_eq!(result.consumed, piece.len());
    }
    (out, false, consumed, decoder.saw_bare_lf())
}
