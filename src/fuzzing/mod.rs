//! The fuzz targets' bodies, shared by `fuzz/` (cargo-fuzz), `tests/fuzz_corpus_replay.rs` (which replays the seed
//! corpora in every `cargo test`) and the property tests. Not part of the API.
//!
//! Each target either returns normally or panics when an invariant is broken: the harness, not the codec, panics.
//! The codec itself must only ever return values and typed errors for any input.

mod client_session;
mod server_codec;
mod server_session;
mod tls_server;

pub use client_session::{config_for, describe_session, run_session, MAX_ACTIONS, SERVER_LINES};
pub use server_codec::{server_command, server_content};
pub use server_session::{run_server_session, server_config_for, CLIENT_LINES, SERVER_MAX_ACTIONS};
pub use tls_server::tls_server;

use crate::codec::bdat::BdatEncoder;
use crate::codec::body::DataEncoder;
use crate::codec::ehlo::Capabilities;
use crate::codec::reply_parser::{ReplyLimits, ReplyParser};
use crate::error::{InputError, InputErrorReason};
use crate::reply::Reply;

/// Everything a parser run produced: the replies in order, then the error (if any) and the bytes left buffered.
pub type ParseOutcome = (Vec<Reply>, Option<String>, usize);

/// Fuzz target `reply_parser`: arbitrary bytes in arbitrary splits parse to the same replies (or the same typed
/// error) as the whole input in one push, and the same byte by byte.
///
/// `data[0]` picks the limits (small ones reach the limit errors), `data[1]` seeds the split points.
pub fn reply_parser(data: &[u8]) {
    let (config, input) = take_config::<2>(data);
    let limits = limits_for(config[0]);
    let whole = parse_in_pieces(limits, &[input]);
    let pieces = split(input, u64::from(config[1]) + 1);
    assert_eq!(
        parse_in_pieces(limits, &pieces),
        whole,
        "split feeding differs from one push"
    );
    if input.len() <= 4096 {
        let bytes: Vec<&[u8]> = input.chunks(1).collect();
        assert_eq!(
            parse_in_pieces(limits, &bytes),
            whole,
            "byte-by-byte feeding differs from one push"
        );
    }
    let (replies, error, buffered) = whole;
    assert!(buffered <= input.len());
    if error.is_none() {
        let wire: usize = replies.iter().map(wire_len_lower_bound).sum();
        assert!(
            wire + buffered <= input.len(),
            "replies and buffer account for more bytes than were pushed"
        );
    }
    for reply in &replies {
        assert!((200..600).contains(&reply.code()));
        assert!(!reply.raw_lines().is_empty() && reply.raw_lines().len() <= limits.max_lines);
        let _ = (reply.message(), reply.to_string(), reply.enhanced_code());
    }
}

/// Fuzz target `ehlo`: arbitrary lines (split at LF) read as an EHLO reply, and also through the reply parser.
pub fn ehlo(data: &[u8]) {
    let lines = data
        .split(|&b| b == b'\n')
        .map(|line| line.strip_suffix(b"\r").unwrap_or(line).to_vec())
        .collect();
    check_capabilities(&Capabilities::from_ehlo_reply(&Reply::new(250, lines)));
    let (replies, _, _) = parse_in_pieces(ReplyLimits::default(), &[data]);
    for reply in &replies {
        check_capabilities(&Capabilities::from_ehlo_reply(reply));
    }
}

/// Fuzz target `body_encoders`: for arbitrary content and chunking, the DATA and BDAT encoders agree with a plain
/// reference, with themselves on the whole input, and with each other on what they refuse.
///
/// `data[0]` bit 0: allow 8-bit, bit 1: BDAT binary; `data[1]`: BDAT chunk size; `data[2]`: split seed.
pub fn body_encoders(data: &[u8]) {
    let (config, body) = take_config::<3>(data);
    let allow_8bit = config[0] & 1 != 0;
    let binary = config[0] & 2 != 0;
    let chunk_size = usize::from(config[1]);
    let pieces = split(body, u64::from(config[2]) + 1);
    check_data_encoder(body, &pieces, allow_8bit);
    check_bdat_encoder(body, &pieces, chunk_size, binary, allow_8bit);
}

/// Checks one DataEncoder run over `pieces` (which concatenate to `body`) against the reference and the one-chunk run.
pub fn check_data_encoder(body: &[u8], pieces: &[&[u8]], allow_8bit: bool) {
    let whole = encode_data(&[body], allow_8bit);
    assert_eq!(
        encode_data(pieces, allow_8bit),
        whole,
        "chunking changed the DATA output"
    );
    match whole {
        Ok(encoded) => {
            assert_eq!(first_refused(body, allow_8bit), None);
            check_data_output(&encoded, body);
        }
        Err(error) => assert_eq!(Some(error.reason), first_refused(body, allow_8bit)),
    }
}

/// Checks one BdatEncoder run over `pieces` against the reference and the one-chunk run.
pub fn check_bdat_encoder(body: &[u8], pieces: &[&[u8]], chunk_size: usize, binary: bool, allow_8bit: bool) {
    let whole = encode_bdat(&[body], chunk_size, binary, allow_8bit);
    let split = encode_bdat(pieces, chunk_size, binary, allow_8bit);
    let (whole_content, split_content) = match (whole, split) {
        (Ok(whole), Ok(split)) => (whole, split),
        (Err(whole), Err(split)) => {
            assert!(!binary);
            assert_eq!(whole.reason, split.reason);
            assert_eq!(Some(whole.reason), first_refused(body, allow_8bit));
            return;
        }
        (whole, split) => panic!("BDAT chunking changed the outcome: {whole:?} vs {split:?}"),
    };
    let (content, _) = parse_bdat(&whole_content).expect("BDAT output is well formed");
    let (split_only, _) = parse_bdat(&split_content).expect("BDAT output is well formed");
    assert_eq!(content, split_only, "chunking changed the BDAT content");
    let expected = if binary {
        body.to_vec()
    } else {
        // Like DATA, a message that does not end with a line end gets one.
        let mut normalized = normalize_reference(body);
        if !normalized.is_empty() && !normalized.ends_with(b"\r\n") {
            normalized.extend_from_slice(b"\r\n");
        }
        normalized
    };
    assert_eq!(content, expected);
}

/// Encodes `pieces` with a DataEncoder and finishes.
pub fn encode_data(pieces: &[&[u8]], allow_8bit: bool) -> Result<Vec<u8>, InputError> {
    let mut encoder = DataEncoder::new(allow_8bit);
    let mut out = Vec::new();
    for piece in pieces {
        encoder.encode(piece, &mut out)?;
    }
    encoder.finish(&mut out);
    Ok(out)
}

/// Encodes `pieces` with a BdatEncoder and finishes; checks the returned command counts against the output.
pub fn encode_bdat(
    pieces: &[&[u8]],
    chunk_size: usize,
    binary: bool,
    allow_8bit: bool,
) -> Result<Vec<u8>, InputError> {
    let mut encoder = BdatEncoder::new(chunk_size, binary, allow_8bit);
    let mut out = Vec::new();
    let mut commands = 0;
    for piece in pieces {
        commands += encoder.encode(piece, &mut out)?;
    }
    encoder.finish(&mut out);
    let (_, sizes) = parse_bdat(&out).expect("BDAT output is well formed");
    assert_eq!(sizes.len(), commands + 1, "returned command count is wrong");
    let (last, full) = sizes.split_last().expect("at least the LAST chunk");
    assert!(
        full.iter().all(|&size| size == chunk_size.max(1)),
        "a non-final chunk is not chunk_size"
    );
    // The rest is shorter than a chunk, plus the CRLF that ends an unterminated message.
    assert!(
        *last < chunk_size.max(1) + 2,
        "the LAST chunk could have been a full one"
    );
    Ok(out)
}

/// Reads `BDAT <n>\r\n<n bytes>`... `BDAT <n> LAST\r\n<n bytes>`: the concatenated content and every declared size.
/// `None` when the output does not have exactly that shape.
pub fn parse_bdat(mut output: &[u8]) -> Option<(Vec<u8>, Vec<usize>)> {
    let mut content = Vec::new();
    let mut sizes = Vec::new();
    loop {
        let end = output.windows(2).position(|w| w == b"\r\n")?;
        let command = std::str::from_utf8(output.get(..end)?).ok()?;
        let rest = command.strip_prefix("BDAT ")?;
        let (size, last) = match rest.strip_suffix(" LAST") {
            Some(size) => (size, true),
            None => (rest, false),
        };
        let size: usize = size.parse().ok()?;
        let chunk = output.get(end + 2..end + 2 + size)?;
        content.extend_from_slice(chunk);
        sizes.push(size);
        output = output.get(end + 2 + size..)?;
        if last {
            return output.is_empty().then_some((content, sizes));
        }
    }
}

/// Checks DATA output for `body`: the terminator only at the very end, no bare CR or LF, and un-dot-stuffing gives
/// back the normalised body (with a final CRLF added when it had none).
pub fn check_data_output(encoded: &[u8], body: &[u8]) {
    let mut framed = b"\r\n".to_vec();
    framed.extend_from_slice(encoded);
    let terminators: Vec<usize> = framed
        .windows(5)
        .enumerate()
        .filter(|(_, w)| w == b"\r\n.\r\n")
        .map(|(at, _)| at)
        .collect();
    assert_eq!(
        terminators,
        [framed.len() - 5],
        "the terminator must appear exactly once, at the end"
    );
    assert!(!has_bare_cr_or_lf(encoded), "bare CR or LF in DATA output");
    let mut expected = normalize_reference(body);
    if !expected.is_empty() && !expected.ends_with(b"\r\n") {
        expected.extend_from_slice(b"\r\n");
    }
    assert_eq!(
        undot(encoded).as_deref(),
        Some(&expected[..]),
        "un-dot-stuffing does not give the body back"
    );
}

/// Undoes dot-stuffing and removes the terminator; `None` when `encoded` is not a well-formed DATA block.
pub fn undot(encoded: &[u8]) -> Option<Vec<u8>> {
    let content = encoded.strip_suffix(b".\r\n")?;
    if !content.is_empty() && !content.ends_with(b"\r\n") {
        return None;
    }
    let mut body = Vec::with_capacity(content.len());
    for line in content.split_inclusive(|&b| b == b'\n') {
        let line = match line.strip_prefix(b".") {
            Some(unstuffed) if unstuffed.starts_with(b".") => unstuffed,
            Some(_) => return None,
            None => line,
        };
        body.extend_from_slice(line);
    }
    Some(body)
}

/// The reference CRLF normalisation, one byte at a time: CRLF stays, bare CR and bare LF become CRLF.
pub fn normalize_reference(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len());
    let mut bytes = body.iter().peekable();
    while let Some(&byte) = bytes.next() {
        match byte {
            b'\r' => {
                bytes.next_if_eq(&&b'\n');
                out.extend_from_slice(b"\r\n");
            }
            b'\n' => out.extend_from_slice(b"\r\n"),
            other => out.push(other),
        }
    }
    out
}

/// What the encoders must refuse first in `body`: a NUL, or an 8-bit byte unless allowed.
pub fn first_refused(body: &[u8], allow_8bit: bool) -> Option<InputErrorReason> {
    let (offset, &byte) = body
        .iter()
        .enumerate()
        .find(|(_, &b)| b == 0 || (!allow_8bit && b >= 0x80))?;
    let offset = offset as u64;
    Some(if byte == 0 {
        InputErrorReason::NulInMessage { offset }
    } else {
        InputErrorReason::EightBitWithoutMime { offset }
    })
}

/// Whether `bytes` has a CR not followed by LF or a LF not preceded by CR.
pub fn has_bare_cr_or_lf(bytes: &[u8]) -> bool {
    let mut previous = 0u8;
    for (at, &byte) in bytes.iter().enumerate() {
        if byte == b'\r' && bytes.get(at + 1) != Some(&b'\n') {
            return true;
        }
        if byte == b'\n' && previous != b'\r' {
            return true;
        }
        previous = byte;
    }
    false
}

/// Feeds `pieces` to a new parser one push at a time, draining replies after each push.
pub fn parse_in_pieces(limits: ReplyLimits, pieces: &[&[u8]]) -> ParseOutcome {
    let mut parser = ReplyParser::new(limits);
    let mut replies = Vec::new();
    let mut error = None;
    for piece in pieces {
        parser.push(piece);
        loop {
            match parser.next_reply() {
                Ok(Some(reply)) => replies.push(reply),
                Ok(None) => break,
                Err(message) => {
                    assert_eq!(
                        parser.next_reply(),
                        Err(message.clone()),
                        "the error is not sticky"
                    );
                    error = Some(message);
                    break;
                }
            }
        }
    }
    (replies, error, parser.buffered_len())
}

/// Splits `input` into pieces whose lengths come from a small deterministic generator seeded with `seed` (0 to 64
/// bytes each, empty pieces included, since an empty push must be harmless too).
pub fn split(input: &[u8], seed: u64) -> Vec<&[u8]> {
    let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut pieces = Vec::new();
    let mut rest = input;
    while !rest.is_empty() {
        // xorshift64
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let len = usize::try_from(state % 65).unwrap_or(1).min(rest.len());
        let (piece, tail) = rest.split_at(len);
        pieces.push(piece);
        rest = tail;
    }
    pieces
}

/// Splits the first `N` bytes off as configuration (zeros when the input is shorter).
fn take_config<const N: usize>(data: &[u8]) -> ([u8; N], &[u8]) {
    let mut config = [0u8; N];
    let used = data.len().min(N);
    config[..used].copy_from_slice(&data[..used]);
    (config, &data[used..])
}

/// Limits chosen by one byte: the defaults, or small ones that fuzzing can actually reach.
fn limits_for(selector: u8) -> ReplyLimits {
    if selector & 0x80 == 0 {
        return ReplyLimits::default();
    }
    ReplyLimits {
        max_line: usize::from(selector & 0x1f) + 4,
        max_reply_bytes: usize::from(selector & 0x7f) * 2,
        max_lines: usize::from((selector >> 5) & 3) + 1,
    }
}

/// The fewest wire bytes `reply` can have taken: per line the code, separator (except a code-only line) and LF.
fn wire_len_lower_bound(reply: &Reply) -> usize {
    reply
        .raw_lines()
        .iter()
        .map(|line| 3 + line.len() + 1 + usize::from(!line.is_empty()))
        .sum()
}

/// The invariants of parsed capabilities.
fn check_capabilities(capabilities: &Capabilities) {
    for (keyword, params) in capabilities.iter() {
        assert_eq!(keyword, keyword.to_ascii_uppercase());
        assert!(capabilities.has(&keyword.to_ascii_lowercase()));
        assert!(capabilities.param(keyword).is_some());
        let _ = params;
    }
    let mechanisms = capabilities.auth_mechanisms();
    for (at, mechanism) in mechanisms.iter().enumerate() {
        assert_eq!(*mechanism, mechanism.to_ascii_uppercase());
        assert!(!mechanisms[..at].contains(mechanism), "duplicate AUTH mechanism");
    }
    if !mechanisms.is_empty() {
        assert!(capabilities.has("AUTH"));
    }
    assert_ne!(capabilities.size_limit(), Some(0));
    let _ = (capabilities.domain(), capabilities.greeting());
}
