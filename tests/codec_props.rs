//! Property tests of the codec: chunking never changes what the encoders emit, the reply parser gives the same
//! replies for every split of its input, and command lines never carry a line end from an argument.

mod common;
use common::cut;
use proptest::prelude::*;
use smtp_wasm::codec::line::CommandLine;
use smtp_wasm::codec::reply_parser::ReplyLimits;
use smtp_wasm::fuzzing::{
    check_bdat_encoder, check_data_encoder, encode_bdat, parse_bdat, parse_in_pieces, ParseOutcome,
};
use smtp_wasm::{Field, InputErrorReason};

/// Message-like bytes: mostly text, with many CR, LF and dots so the interesting cases come up often.
fn body_bytes(allow_8bit: bool) -> impl Strategy<Value = Vec<u8>> {
    let byte = prop_oneof![
        4 => prop::sample::select(b"ab .\r\n\t".to_vec()),
        2 => 0x20u8..0x7f,
        1 => 1u8..0x20,
        1 => if allow_8bit { (0x80u8..=0xff).boxed() } else { (1u8..0x80).boxed() },
    ];
    prop::collection::vec(byte, 0..300)
}

/// Plausible reply streams: a few replies, single and multi-line, CRLF or bare LF, and the odd broken line.
fn reply_stream() -> impl Strategy<Value = Vec<u8>> {
    let line_end = prop_oneof![Just(&b"\r\n"[..]), Just(&b"\n"[..])];
    let text = prop::collection::vec(prop_oneof![0x20u8..0x7f, Just(0xffu8), Just(b'\r')], 0..20);
    let line = (
        prop::sample::select(vec![220u16, 250, 251, 354, 421, 550]),
        any::<bool>(),
        text,
        line_end,
    );
    let reply = prop::collection::vec(line, 1..5).prop_map(|lines| {
        let mut bytes = Vec::new();
        let count = lines.len();
        for (at, (code, with_text, text, end)) in lines.into_iter().enumerate() {
            let code = if at == 0 { code } else { code.min(250) };
            bytes.extend_from_slice(code.to_string().as_bytes());
            let last = at + 1 == count;
            if last && !with_text {
                bytes.extend_from_slice(end);
                continue;
            }
            bytes.push(if last { b' ' } else { b'-' });
            bytes.extend_from_slice(&text);
            bytes.extend_from_slice(end);
        }
        bytes
    });
    let garbage = prop::collection::vec(any::<u8>(), 0..8);
    (
        prop::collection::vec(reply, 0..6),
        prop_oneof![4 => Just(Vec::new()), 1 => garbage],
    )
        .prop_map(|(replies, garbage)| {
            let mut bytes = replies.concat();
            bytes.extend_from_slice(&garbage);
            bytes
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn data_encoder_any_chunking_7bit(body in body_bytes(false), cuts in prop::collection::vec(any::<usize>(), 0..12)) {
        check_data_encoder(&body, &cut(&body, &cuts), false);
    }

    #[test]
    fn data_encoder_any_chunking_8bit(body in body_bytes(true), cuts in prop::collection::vec(any::<usize>(), 0..12)) {
        check_data_encoder(&body, &cut(&body, &cuts), true);
    }

    #[test]
    fn data_encoder_arbitrary_bytes(body in prop::collection::vec(any::<u8>(), 0..200), cuts in prop::collection::vec(any::<usize>(), 0..8), allow in any::<bool>()) {
        // Refusals (NUL, 8-bit) included: the same error at the same offset for every chunking.
        check_data_encoder(&body, &cut(&body, &cuts), allow);
    }

    #[test]
    fn bdat_encoder_any_chunking(
        body in body_bytes(true),
        cuts in prop::collection::vec(any::<usize>(), 0..12),
        chunk_size in 0usize..40,
        binary in any::<bool>(),
        allow_8bit in any::<bool>(),
    ) {
        check_bdat_encoder(&body, &cut(&body, &cuts), chunk_size, binary, allow_8bit);
        if let Ok(output) = encode_bdat(&cut(&body, &cuts), chunk_size, binary, allow_8bit) {
            let (content, sizes) = parse_bdat(&output).unwrap();
            prop_assert_eq!(sizes.iter().sum::<usize>(), content.len());
        }
    }

    #[test]
    fn reply_parser_every_split_agrees(input in reply_stream(), cuts in prop::collection::vec(any::<usize>(), 0..10)) {
        let limits = ReplyLimits::default();
        let whole: ParseOutcome = parse_in_pieces(limits, &[&input]);
        prop_assert_eq!(parse_in_pieces(limits, &cut(&input, &cuts)), whole.clone());
        let bytes: Vec<&[u8]> = input.chunks(1).collect();
        prop_assert_eq!(parse_in_pieces(limits, &bytes), whole);
    }

    #[test]
    fn reply_parser_small_limits_every_split_agrees(
        input in reply_stream(),
        cuts in prop::collection::vec(any::<usize>(), 0..10),
        max_line in 0usize..40,
        max_reply_bytes in 0usize..120,
        max_lines in 0usize..5,
    ) {
        let limits = ReplyLimits { max_line, max_reply_bytes, max_lines };
        let whole = parse_in_pieces(limits, &[&input]);
        prop_assert_eq!(parse_in_pieces(limits, &cut(&input, &cuts)), whole);
    }

    #[test]
    fn command_line_never_emits_a_line_end_from_an_argument(verb in "[A-Z]{1,8}", args in prop::collection::vec(".{0,20}", 0..4), limit in 0usize..100) {
        let mut line = CommandLine::new(&verb);
        let mut refused = false;
        for arg in &args {
            match line.arg(Field::EnvelopeId, arg) {
                Ok(_) => {}
                Err(error) => {
                    refused = true;
                    let is_control = matches!(error.reason, InputErrorReason::ControlCharacter { .. });
                    prop_assert!(is_control, "unexpected refusal {:?}", error);
                    prop_assert!(arg.bytes().any(|b| b < 0x20 || b == 0x7f));
                }
            }
        }
        prop_assert!(!refused || args.iter().any(|a| a.bytes().any(|b| b < 0x20 || b == 0x7f)));
        let mut out = b"prefix".to_vec();
        match line.finish(limit, &mut out) {
            Ok(()) => {
                let written = &out[6..];
                prop_assert!(written.len() <= limit);
                prop_assert!(written.ends_with(b"\r\n"));
                let text = &written[..written.len() - 2];
                prop_assert!(!text.iter().any(|&b| b == b'\r' || b == b'\n' || b == 0));
            }
            Err(_) => prop_assert_eq!(&out[..], b"prefix"),
        }
    }
}
