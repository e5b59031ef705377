//! Property tests of the session: random server bytes and random call sequences never panic or break the session's
//! promises (the `session` fuzz target's harness), and chunking never changes what a transaction sends.

mod common;
use common::cut;
use proptest::prelude::*;
use smtp_wasm::fuzzing::{run_session, SERVER_LINES};

/// One action of a `run_session` program: opcode, three operands, and raw bytes for the opcodes that take them.
fn action(op: u8, operands: [u8; 3], raw: &[u8]) -> Vec<u8> {
    let mut action = vec![op];
    action.extend(operands);
    action.extend(raw);
    action
}

/// A program for `run_session` built from actions, so that deep states (transactions, AUTH, STARTTLS) come up far
/// more often than with random bytes: usually a greeting first, many answers from the harness's responding server,
/// few actions that end the session.
fn program() -> impl Strategy<Value = Vec<u8>> {
    let op = |ops: &[u8]| (prop::sample::select(ops.to_vec()), any::<[u8; 3]>());
    let step = prop_oneof![
        // The responding server answers what the client sent.
        30 => op(&[5]).prop_map(|(op, operands)| action(op, operands, &[])),
        // A canned server reply.
        6 => (0..SERVER_LINES.len() as u8).prop_map(|line| action(2, [line, 0, 0], &[])),
        // Raw server bytes.
        3 => prop::collection::vec(any::<u8>(), 0..24)
            .prop_map(|bytes| action(0, [bytes.len() as u8, 0, 0], &bytes)),
        // Body content: raw bytes, the canned body, finish_body.
        8 => (any::<u8>(), prop::collection::vec(any::<u8>(), 0..40))
            .prop_map(|(id, bytes)| action(16, [id, bytes.len() as u8, 0], &bytes)),
        6 => op(&[18]).prop_map(|(op, operands)| action(op, operands, &[])),
        8 => op(&[19]).prop_map(|(op, operands)| action(op, operands, &[])),
        // send_mail.
        10 => op(&[14]).prop_map(|(op, operands)| action(op, operands, &[])),
        // hello, start_tls, auth, mail, rcpt, data.
        20 => op(&[8, 9, 10, 11, 12, 13]).prop_map(|(op, operands)| action(op, operands, &[])),
        // abort_body, reset, noop, verify.
        6 => op(&[20, 21, 22, 23]).prop_map(|(op, operands)| action(op, operands, &[])),
        // Time and TLS.
        6 => op(&[27, 28, 29]).prop_map(|(op, operands)| action(op, operands, &[])),
        // quit, close, handle_eof, handle_tls_failed.
        2 => op(&[24, 25, 26, 31]).prop_map(|(op, operands)| action(op, operands, &[])),
    ];
    let greeting = prop_oneof![4 => Just(action(2, [0; 3], &[])), 1 => Just(Vec::new())];
    (any::<[u8; 2]>(), greeting, prop::collection::vec(step, 0..48)).prop_map(|(config, greeting, steps)| {
        let mut program = config.to_vec();
        program.extend(greeting);
        program.extend(steps.into_iter().flatten());
        program
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Arbitrary bytes as a program: typed errors or progress, never a panic or a broken invariant.
    #[test]
    fn arbitrary_programs_keep_the_invariants(data in prop::collection::vec(any::<u8>(), 0..600)) {
        run_session(&data);
    }

    /// Structured programs reach transactions, AUTH and STARTTLS far more often than random bytes.
    #[test]
    fn structured_programs_keep_the_invariants(data in program()) {
        run_session(&data);
    }
}

// ----- (b) chunking never changes a transaction -----

use smtp_wasm::fuzzing::{check_data_output, has_bare_cr_or_lf};
use smtp_wasm::{
    ClientSession, Completion, Envelope, Error, Event, MailOptions, RcptOptions, SessionConfig, Timestamp,
};

/// Everything the server sends up to the 354, then its reply to the end of the message.
const SERVER_BEFORE_BODY: &[u8] = b"220 mx.example.org ESMTP Postfix\r\n\
    250-mx.example.org\r\n250-PIPELINING\r\n250 8BITMIME\r\n\
    250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n";
const SERVER_AFTER_BODY: &[u8] = b"250 2.0.0 Ok: queued as 4F2A1\r\n";
const CLIENT_ENVELOPE: &[u8] = b"EHLO localhost\r\nMAIL FROM:<a@x.org> BODY=8BITMIME\r\n\
    RCPT TO:<b@y.org>\r\nRCPT TO:<c@y.org>\r\nDATA\r\n";

/// Drains every poll: bytes onto `sent`, events (without transcript lines) onto `events`.
fn drain(session: &mut ClientSession, sent: &mut Vec<u8>, events: &mut Vec<Event>) {
    while let Some(bytes) = session.poll_transmit() {
        sent.extend_from_slice(&bytes);
    }
    while let Some(event) = session.poll_event() {
        if !matches!(event, Event::Transcript(_)) {
            events.push(event);
        }
    }
    let _ = session.poll_timeout();
}

/// Runs the scripted transaction: server pieces before the body interleaved (by `order`) with body pieces, then
/// `finish_body`, then the server's final reply in pieces. Returns what the client sent and the events.
fn scripted(server: &[&[u8]], body: &[&[u8]], order: &[bool], last: &[&[u8]]) -> (Vec<u8>, Vec<Event>) {
    let now = Timestamp::from_unix_millis(1_700_000_000_000);
    let mut session = ClientSession::new(SessionConfig::new("mx.example.org"), now).expect("valid config");
    let (mut sent, mut events) = (Vec::new(), Vec::new());
    let envelope = Envelope {
        from: "a@x.org".into(),
        to: vec!["b@y.org".into(), "c@y.org".into()],
        ..Envelope::default()
    };
    let id = session.send_mail(envelope, now).expect("valid envelope");
    drain(&mut session, &mut sent, &mut events);
    let (mut server, mut body) = (server.iter(), body.iter().peekable());
    let mut order = order.iter().cycle();
    loop {
        let feed_server = *order.next().unwrap_or(&true) || body.peek().is_none();
        if feed_server {
            let Some(piece) = server.next() else { break };
            session.handle_input(piece, now);
        } else if let Some(piece) = body.next() {
            session
                .send_body(id, piece, now)
                .expect("the transaction is in progress");
        }
        drain(&mut session, &mut sent, &mut events);
    }
    for piece in body {
        session
            .send_body(id, piece, now)
            .expect("the transaction is in progress");
        drain(&mut session, &mut sent, &mut events);
    }
    session
        .finish_body(id, now)
        .expect("the transaction is in progress");
    drain(&mut session, &mut sent, &mut events);
    for piece in last {
        session.handle_input(piece, now);
        drain(&mut session, &mut sent, &mut events);
    }
    (sent, events)
}

/// Message-like content: text with many CR, LF and dots, and 8-bit bytes (8BITMIME is agreed); no NUL.
fn message_body() -> impl Strategy<Value = Vec<u8>> {
    let byte = prop_oneof![
        4 => prop::sample::select(b"ab .\r\n\t".to_vec()),
        2 => 0x20u8..0x7f,
        1 => 0x80u8..=0xff,
        1 => 1u8..0x20,
    ];
    prop::collection::vec(byte, 0..300)
}

// ----- (c) no argument ever puts a line end on the wire -----

/// Strings full of what must never reach a command line: CR, LF, NUL, DEL, other controls, non-ASCII (including
/// Unicode line separators), SMTP specials.
fn nasty_string() -> impl Strategy<Value = String> {
    let ch = prop_oneof![
        3 => prop::char::range('a', 'z'),
        2 => prop::sample::select(vec![
            '\r', '\n', '\0', '\x7f', '\t', '\x1b', ' ', '<', '>', '@', '"', '.', ':', '=', '+', '\\',
            '\u{85}', '\u{2028}', 'é', '\u{1F600}',
        ]),
        1 => any::<char>(),
    ];
    let text = prop::collection::vec(ch, 0..24).prop_map(String::from_iter);
    prop_oneof![
        text.clone(),
        (text.clone(), text).prop_map(|(local, domain)| format!("{local}@{domain}")),
    ]
}

/// A session past the greeting and an EHLO that advertises everything the MAIL/RCPT options can ask for.
fn ready_session() -> ClientSession {
    let now = Timestamp::from_unix_millis(1_700_000_000_000);
    let mut session = ClientSession::new(SessionConfig::new("mx.example.org"), now).expect("valid config");
    session.handle_input(b"220 mx.example.org ESMTP\r\n", now);
    session.hello(None, now).expect("hello");
    session.handle_input(
        b"250-mx.example.org\r\n250-PIPELINING\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250-DSN\r\n250 AUTH PLAIN\r\n",
        now,
    );
    while session.poll_transmit().is_some() {}
    while session.poll_event().is_some() {}
    session
}

/// Checks one command call with a nasty argument: refused with `InvalidInput` and nothing written, or at most one
/// line written whose only CR and LF are its line end.
fn check_one_line(session: &mut ClientSession, result: Result<smtp_wasm::CommandId, Error>, what: &str) {
    let mut sent = Vec::new();
    while let Some(bytes) = session.poll_transmit() {
        sent.extend_from_slice(&bytes);
    }
    match result {
        Err(error) => {
            assert!(
                matches!(error, Error::InvalidInput(_)),
                "{what}: refused with {error:?}"
            );
            assert!(sent.is_empty(), "{what}: refused but wrote {sent:?}");
        }
        Ok(_) if sent.is_empty() => {} // refused when it ran (for example an option the server lacks)
        Ok(_) => {
            let line = sent
                .strip_suffix(b"\r\n")
                .unwrap_or_else(|| panic!("{what}: {sent:?} does not end a line"));
            assert!(
                !line.contains(&b'\r') && !line.contains(&b'\n'),
                "{what}: a line end inside the command line {:?}",
                String::from_utf8_lossy(&sent)
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    /// Any chunking of the server's bytes and of the message content gives the same client bytes and the same
    /// completion as feeding everything whole.
    #[test]
    fn chunking_never_changes_a_transaction(
        body in message_body(),
        server_cuts in prop::collection::vec(any::<usize>(), 0..12),
        body_cuts in prop::collection::vec(any::<usize>(), 0..12),
        last_cuts in prop::collection::vec(any::<usize>(), 0..3),
        order in prop::collection::vec(any::<bool>(), 1..8),
    ) {
        let (whole_sent, whole_events) = scripted(&[SERVER_BEFORE_BODY], &[&body], &[true], &[SERVER_AFTER_BODY]);
        let content = whole_sent.strip_prefix(CLIENT_ENVELOPE).expect("the envelope goes out as one flight");
        check_data_output(content, &body);
        prop_assert!(!has_bare_cr_or_lf(&whole_sent));
        prop_assert_eq!(whole_events.len(), 3, "{:?}", whole_events);
        let greeting = matches!(whole_events[0], Event::Greeting(_));
        let ready = matches!(whole_events[1], Event::BodyReady { .. });
        let sent_for_both = matches!(
            &whole_events[2],
            Event::Completed { result: Ok(Completion::Transaction(report)), .. } if report.accepted.len() == 2
        );
        prop_assert!(greeting && ready && sent_for_both, "{:?}", whole_events);

        let server = cut(SERVER_BEFORE_BODY, &server_cuts);
        let pieces = cut(&body, &body_cuts);
        let last = cut(SERVER_AFTER_BODY, &last_cuts);
        let (sent, events) = scripted(&server, &pieces, &order, &last);
        prop_assert_eq!(String::from_utf8_lossy(&sent), String::from_utf8_lossy(&whole_sent));
        prop_assert_eq!(events, whole_events);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    /// `hello`, `mail`, `rcpt`, `verify` and the string options of MAIL and RCPT never put a CR or LF from an
    /// argument on the wire.
    #[test]
    fn arguments_never_put_line_ends_on_the_wire(text in nasty_string(), utf8 in any::<bool>()) {
        let now = Timestamp::from_unix_millis(1_700_000_000_000);

        let mut session = ClientSession::new(SessionConfig::new("mx.example.org"), now).expect("valid config");
        session.handle_input(b"220 mx.example.org ESMTP\r\n", now);
        let result = session.hello(Some(&text), now);
        check_one_line(&mut session, result, "hello");

        let mut session = ready_session();
        let options = MailOptions { smtp_utf8: utf8, ..MailOptions::default() };
        let result = session.mail(&text, &options, now);
        check_one_line(&mut session, result, "mail");

        let mut session = ready_session();
        let result = session.rcpt(&text, &RcptOptions::default(), now);
        check_one_line(&mut session, result, "rcpt");

        let mut session = ready_session();
        let result = session.verify(&text, now);
        check_one_line(&mut session, result, "verify");

        let mut session = ready_session();
        let options = MailOptions { envelope_id: Some(text.clone()), smtp_utf8: utf8, ..MailOptions::default() };
        let result = session.mail("a@x.org", &options, now);
        check_one_line(&mut session, result, "mail ENVID");

        let mut session = ready_session();
        let options = MailOptions { auth: Some(text.clone()), ..MailOptions::default() };
        let result = session.mail("a@x.org", &options, now);
        check_one_line(&mut session, result, "mail AUTH=");

        let mut session = ready_session();
        let options = RcptOptions { original_recipient: Some(text.clone()), ..RcptOptions::default() };
        let result = session.rcpt("b@y.org", &options, now);
        check_one_line(&mut session, result, "rcpt ORCPT");
    }
}
