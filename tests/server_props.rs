//! Property tests of the server session: for random client streams built from real command lines, message content
//! (smuggling shapes included) and raw bytes, feeding the stream in any pieces gives the same replies, the same
//! events and the same delivered messages as feeding it whole (the sans-IO promise), under several configurations.

mod common;
mod server_common;

use proptest::prelude::*;
use server_common::{accept_all, config, remote, Backend, Split, H};
use smtp_wasm::{BareLf, Decision, ServerConfig};

/// Lines and fragments a client stream is made of.
const PIECES: &[&str] = &[
    "EHLO client.example\r\n",
    "HELO client.example\r\n",
    "LHLO client.example\r\n",
    "MAIL FROM:<a@example.org>\r\n",
    "MAIL FROM:<> SIZE=100 BODY=8BITMIME\r\n",
    "MAIL FROM:<a@example.org> BODY=BINARYMIME\r\n",
    "RCPT TO:<b@example.org>\r\n",
    "RCPT TO:<refuse@example.org>\r\n",
    "RCPT TO:<c@example.org> NOTIFY=NEVER\r\n",
    "DATA\r\n",
    "BDAT 5\r\n",
    "BDAT 3 LAST\r\n",
    "BDAT 0 LAST\r\n",
    "RSET\r\n",
    "NOOP\r\n",
    "QUIT\r\n",
    "STARTTLS\r\n",
    "AUTH PLAIN AHVzZXIAcGFzcw==\r\n",
    "AUTH LOGIN\r\n",
    "dXNlcg==\r\n",
    "*\r\n",
    "XCLIENT ADDR=10.0.0.1\r\n",
    "Subject: hi\r\n\r\nbody\r\n",
    "..dot\r\n",
    ".\r\n",
    "\n.\n",
    "\r.\r",
    "\n.\r\n",
    "\r\n.\n",
    "\r\n",
    "XXXX\r\n",
    "\n",
];

fn stream() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        8 => prop::sample::select(PIECES).prop_map(|p| p.as_bytes().to_vec()),
        1 => prop::collection::vec(any::<u8>(), 0..12),
    ];
    prop::collection::vec(piece, 0..40).prop_map(|pieces| pieces.concat())
}

fn configured(selector: u8) -> ServerConfig {
    let mut c = config();
    c.lmtp = selector & 1 != 0;
    c.tls_available = selector & 2 != 0;
    c.allow_insecure_auth = selector & 4 != 0;
    c.bare_lf = if selector & 8 != 0 {
        BareLf::Reject
    } else {
        BareLf::Normalize
    };
    c.max_message_bytes = if selector & 16 != 0 { 20 } else { 0 };
    c.enable_binarymime = selector & 32 != 0;
    c.xclient_allowed = selector & 64 != 0;
    c.content_window = 7;
    c.max_errors = 50;
    c.transcript = true;
    c
}

fn backend() -> Backend {
    Backend {
        rcpt: Some(Box::new(|to: &String| {
            if to.starts_with("refuse") {
                Decision::reply(550, (5, 1, 1), "no")
            } else {
                Decision::Accept
            }
        })),
        ..accept_all()
    }
}

/// Everything observable: the bytes written, the event log, the transcript, the delivered messages.
fn observe(
    selector: u8,
    pieces: &[&[u8]],
) -> (String, Vec<String>, Vec<String>, Vec<server_common::Message>) {
    let mut h = H::new(configured(selector), remote(), backend(), Split::Whole);
    for piece in pieces {
        h.feed(piece);
    }
    h.session.handle_eof(h.now);
    h.drain();
    let mut sent = Vec::new();
    h.server_prefixes_take(&mut sent);
    (
        String::from_utf8_lossy(&sent).into_owned(),
        h.log,
        h.transcript,
        h.messages,
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn any_split_gives_the_same_session(selector in any::<u8>(), input in stream(), cuts in prop::collection::vec(any::<usize>(), 0..8)) {
        let whole = observe(selector, &[&input]);
        let pieces = common::cut(&input, &cuts);
        prop_assert_eq!(&observe(selector, &pieces), &whole);
        let bytes: Vec<&[u8]> = input.chunks(1).collect();
        prop_assert_eq!(&observe(selector, &bytes), &whole);
        // Every reply line is well formed.
        for line in whole.0.split_terminator("\r\n") {
            let code: u16 = line.get(..3).and_then(|c| c.parse().ok()).unwrap_or(0);
            prop_assert!((200..600).contains(&code), "{:?}", line);
            prop_assert!(matches!(line.get(3..4), Some(" ") | Some("-")), "{:?}", line);
        }
    }
}

/// The stream pieces reach deep states: a message is delivered through them, and split feeding agrees.
#[test]
fn the_pieces_reach_a_delivery() {
    let input = [
        PIECES[0], PIECES[3], PIECES[6], PIECES[9], PIECES[22], PIECES[26], PIECES[29], PIECES[24],
        PIECES[15],
    ]
    .concat();
    let (sent, log, transcript, messages) = observe(0, &[input.as_bytes()]);
    assert_eq!(messages.len(), 1, "{sent}\n{log:?}");
    assert_eq!(messages[0].text(), "Subject: hi\r\n\r\nbody\r\n\r.\r\r\n");
    assert!(transcript.iter().any(|l| l == "C: DATA"), "{transcript:?}");
    let pieces = common::cut(input.as_bytes(), &[5, 40, 77, 90]);
    assert_eq!(observe(0, &pieces).3, messages);
}
