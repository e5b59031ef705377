//! Property tests of the composer and the DKIM signer: any options give a 7-bit message with CRLF line ends, no line
//! over 998 octets and balanced boundaries; any CR or LF in a header value is refused; a streamed attachment gives
//! the same message as the same bytes in memory; the DKIM signature does not depend on how the message is chunked.
//! (Decoding back through real parsers is in tests/compose.test.mjs: mailparser and Python's email package.)

use proptest::prelude::*;
use smtp_wasm::compose::{Address, Attachment, ComposeError, Message, Step};
use smtp_wasm::dkim::{DkimConfig, DkimKey, Signer};

const ED25519: &str = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIJ+qRdJWmUFLDRtuRGT6Lt/sZiDmFx6brDaQTTTPVyqu\n-----END PRIVATE KEY-----\n";

fn text() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            Just("a"),
            Just("Z"),
            Just(" "),
            Just("é"),
            Just("中"),
            Just("😀"),
            Just("=?"),
            Just("?="),
            Just("\t"),
            Just("\""),
            Just(","),
            Just("<"),
            Just(">"),
            Just("\\"),
            Just("."),
            Just("From "),
            Just("--"),
            Just("=_"),
            Just("x".repeat(120).leak() as &str),
        ],
        0..60,
    )
    .prop_map(|parts| parts.concat())
}

fn body() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            text(),
            Just("\n".to_string()),
            Just("\r\n".to_string()),
            Just("\r".to_string())
        ],
        0..20,
    )
    .prop_map(|parts| parts.concat())
}

fn message() -> impl Strategy<Value = Message> {
    (
        text(),
        text(),
        text(),
        proptest::option::of(body()),
        proptest::option::of(body()),
        proptest::collection::vec(
            (
                text(),
                proptest::collection::vec(any::<u8>(), 0..300),
                any::<bool>(),
            ),
            0..3,
        ),
    )
        .prop_map(|(name, to_name, subject, text, html, files)| {
            let mut m = Message::new(Address::new(name.trim(), "from@example.com").unwrap());
            m.to.push(Address::new(to_name.trim(), "to@example.org").unwrap());
            m.subject = Some(subject);
            m.text = text;
            m.html = html;
            for (i, (filename, content, inline)) in files.into_iter().enumerate() {
                let a = Attachment::bytes(if filename.is_empty() { "f".into() } else { filename }, content);
                m.attachments
                    .push(if inline { a.with_cid(format!("c{i}@x")) } else { a });
            }
            m
        })
}

fn check_shape(bytes: &[u8]) {
    assert!(bytes.iter().all(|&b| b < 128 && b != 0), "8-bit or NUL byte");
    assert!(bytes.ends_with(b"\r\n"));
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'\n' {
            assert_eq!(bytes.get(i.wrapping_sub(1)), Some(&b'\r'), "bare LF at {i}");
        }
        if b == b'\r' {
            assert_eq!(bytes.get(i + 1), Some(&b'\n'), "bare CR at {i}");
        }
    }
    let text = std::str::from_utf8(bytes).unwrap();
    assert!(text.split("\r\n").all(|l| l.len() <= 998));
    let (head, _) = text.split_once("\r\n\r\n").expect("a header section");
    for line in head.split("\r\n") {
        assert!(
            line.starts_with([' ', '\t']) || line.contains(':'),
            "not a header line: {line:?}"
        );
    }
    // Each boundary opened is closed once.
    for b in text
        .match_indices("boundary=\"")
        .map(|(i, _)| &text[i + 10..])
        .map(|r| &r[..r.find('"').unwrap()])
    {
        assert_eq!(
            text.matches(&format!("\r\n--{b}--")).count(),
            1,
            "boundary {b} closed once"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn any_message_is_seven_bit_short_lined_and_balanced(m in message(), seed in any::<[u8; 16]>()) {
        let bytes = m.compose(1_700_000_000_000, seed).unwrap().to_bytes().unwrap();
        check_shape(&bytes);
    }

    #[test]
    fn a_line_break_in_any_header_value_is_refused(m in message(), at in 0usize..50, brk in prop_oneof![Just("\r"), Just("\n"), Just("\r\n")], field in 0u8..4) {
        let mut m = m;
        let inject = |s: &mut String| { let at = (0..=at.min(s.len())).rev().find(|&i| s.is_char_boundary(i)).unwrap_or(0); s.insert_str(at, brk); };
        match field {
            0 => inject(m.subject.get_or_insert_with(String::new)),
            1 => m.headers.push(("X-Test".into(), { let mut v = "value".to_string(); inject(&mut v); v })),
            2 => m.in_reply_to = Some({ let mut v = "<a@b>".to_string(); inject(&mut v); v }),
            _ => m.attachments.push(Attachment::bytes({ let mut v = "file.txt".to_string(); inject(&mut v); v }, vec![1])),
        }
        let refused = matches!(m.compose(0, [0; 16]), Err(ComposeError::LineBreak { .. }) | Err(ComposeError::Invalid { .. }));
        prop_assert!(refused);
    }

    #[test]
    fn a_streamed_attachment_composes_like_the_same_bytes_in_memory(content in proptest::collection::vec(any::<u8>(), 0..2000), cuts in proptest::collection::vec(0usize..2000, 0..6)) {
        let mut m = Message::new(Address::parse("a@example.com").unwrap());
        m.text = Some("see attached".into());
        m.attachments.push(Attachment::bytes("x.bin", content.clone()));
        let whole = m.compose(5, [3; 16]).unwrap().to_bytes().unwrap();
        m.attachments[0] = Attachment::stream("x.bin");
        let mut composer = m.compose(5, [3; 16]).unwrap();
        let mut out = Vec::new();
        loop {
            match composer.poll() {
                Step::Output(b) => out.extend(b),
                Step::NeedData(0) => {
                    let mut cuts: Vec<usize> = cuts.iter().map(|&c| c.min(content.len())).collect();
                    cuts.sort_unstable();
                    let mut at = 0;
                    for c in cuts.into_iter().chain([content.len()]) {
                        out.extend(composer.push(&content[at..c]).unwrap());
                        at = c;
                    }
                    out.extend(composer.end().unwrap());
                }
                Step::NeedData(_) => unreachable!(),
                Step::Done => break,
            }
        }
        prop_assert_eq!(out, whole);
    }

    #[test]
    fn dkim_signatures_do_not_depend_on_chunking(m in message(), cut in any::<prop::sample::Index>(), simple in any::<bool>()) {
        let bytes = m.compose(1_700_000_000_000, [9; 16]).unwrap().to_bytes().unwrap();
        let sign = |parts: &[&[u8]]| {
            let mut config = DkimConfig::new("example.com", "s", DkimKey::from_pem(ED25519).unwrap()).unwrap();
            if simple { config.set_canonicalization("simple/simple").unwrap(); }
            let mut signer = Signer::new(vec![config], 1);
            for p in parts { signer.update(p).unwrap(); }
            signer.finish().unwrap()
        };
        let at = cut.index(bytes.len() + 1);
        prop_assert_eq!(sign(&[&bytes]), sign(&[&bytes[..at], &bytes[at..]]));
    }
}

/// RFC 6532: a non-ASCII address is written as raw UTF-8 (there is no encoding for it), the message says it needs
/// SMTPUTF8, and the generated Message-ID keeps to ASCII; display names stay encoded words, and an ASCII-only message
/// needs nothing.
#[test]
fn non_ascii_addresses_are_raw_utf8_and_need_smtputf8() {
    let mut message = Message::new(Address::parse("Jörg <jörg@bücher.example>").unwrap());
    message.to.push(Address::parse("用户@例子.广告").unwrap());
    message.subject = Some("Grüße".into());
    message.text = Some("hi\n".into());
    assert!(message.needs_smtputf8() && message.has_utf8_header());
    let bytes = message
        .compose(1_700_000_000_000, [3; 16])
        .unwrap()
        .to_bytes()
        .unwrap();
    let text = String::from_utf8(bytes).unwrap();
    assert!(
        text.contains("\r\nFrom: =?UTF-8?B?SsO2cmc=?= <jörg@bücher.example>\r\n"),
        "{text}"
    );
    assert!(text.contains("\r\nTo: 用户@例子.广告\r\n"), "{text}");
    let id = text.lines().find(|l| l.starts_with("Message-ID:")).unwrap();
    assert!(id.is_ascii() && id.ends_with("@smtp-wasm>"), "{id}");

    let mut bcc_only = Message::new(Address::parse("a@example.com").unwrap());
    bcc_only.bcc.push(Address::parse("blind@bücher.example").unwrap());
    assert!(bcc_only.needs_smtputf8(), "the envelope needs it too");
    assert!(!bcc_only.has_utf8_header(), "but the message stays 7-bit");
    let mut ascii = Message::new(Address::parse("Jörg <joerg@example.com>").unwrap());
    ascii.to.push(Address::parse("b@example.com").unwrap());
    assert!(!ascii.needs_smtputf8());
}
