//! `WasmConnection` (src/wasm/) under Node, via wasm-bindgen-test-runner: option objects in, bytes, event objects
//! and error objects out, exactly as ts/driver.ts sees them. A scripted plaintext server plays the other side.
//! Native runs compile nothing here. How to run: see ../Cargo.toml.
#![cfg(all(target_arch = "wasm32", target_os = "unknown"))]

use js_sys::{Array, Object, Reflect, JSON};
use smtp_wasm::wasm::WasmConnection;
use wasm_bindgen::JsValue;
use wasm_bindgen_test::wasm_bindgen_test;

/// 2026-06-01T00:00:00Z in milliseconds, as `Date.now()` gives it.
const NOW: f64 = 1_780_272_000_000.0;

const GREETING: &[u8] = b"220 mx.example.test ESMTP ready\r\n";
const EHLO_REPLY: &[u8] = b"250-mx.example.test greets localhost\r\n250-PIPELINING\r\n250-SIZE 1000000\r\n\
250-8BITMIME\r\n250-DSN\r\n250-ENHANCEDSTATUSCODES\r\n250-auth plain LOGIN\r\n250 SMTPUTF8\r\n";

/// A plain object from key/value pairs.
fn obj(pairs: &[(&str, JsValue)]) -> JsValue {
    let o = Object::new();
    for (key, value) in pairs {
        Reflect::set(&o, &JsValue::from_str(key), value).expect("set");
    }
    o.into()
}

fn s(text: &str) -> JsValue {
    JsValue::from_str(text)
}

fn get(value: &JsValue, key: &str) -> JsValue {
    Reflect::get(value, &JsValue::from_str(key)).expect("get")
}

fn get_str(value: &JsValue, key: &str) -> String {
    get(value, key)
        .as_string()
        .unwrap_or_else(|| panic!("{key} is not a string in {}", json(value)))
}

fn get_num(value: &JsValue, key: &str) -> f64 {
    get(value, key)
        .as_f64()
        .unwrap_or_else(|| panic!("{key} is not a number in {}", json(value)))
}

fn json(value: &JsValue) -> String {
    JSON::stringify(value)
        .map(String::from)
        .unwrap_or_else(|_| format!("{value:?}"))
}

fn options() -> JsValue {
    obj(&[("serverName", s("localhost")), ("transcript", JsValue::TRUE)])
}

/// Everything the connection wants to write, as text.
fn transmitted(conn: &mut WasmConnection) -> String {
    let mut out = Vec::new();
    while let Some(bytes) = conn.poll_transmit() {
        out.extend_from_slice(&bytes);
    }
    String::from_utf8(out).expect("utf-8")
}

/// Every pending event, transcript lines left out (they are checked on their own).
fn events(conn: &mut WasmConnection) -> Vec<JsValue> {
    let mut out = Vec::new();
    loop {
        let event = conn.poll_event();
        if event.is_undefined() {
            return out;
        }
        assert!(event.is_object(), "an event is an object: {event:?}");
        if get_str(&event, "type") != "transcript" {
            out.push(event);
        }
    }
}

fn only_event(conn: &mut WasmConnection, kind: &str) -> JsValue {
    let mut all = events(conn);
    assert_eq!(
        all.len(),
        1,
        "one {kind} event, got {:?}",
        all.iter().map(json).collect::<Vec<_>>()
    );
    let event = all.remove(0);
    assert_eq!(get_str(&event, "type"), kind, "{}", json(&event));
    event
}

fn check_reply(reply: &JsValue, code: f64, text: &str) {
    assert_eq!(get_num(reply, "code"), code, "{}", json(reply));
    assert_eq!(get_str(reply, "text"), text, "{}", json(reply));
    assert!(
        Array::is_array(&get(reply, "lines")),
        "lines is an array: {}",
        json(reply)
    );
    let enhanced = get(reply, "enhancedCode");
    assert!(
        enhanced.is_null() || Array::is_array(&enhanced),
        "{}",
        json(reply)
    );
}

/// A completed event for `id`: its result object.
fn completed(event: &JsValue, id: f64) -> JsValue {
    assert_eq!(get_str(event, "type"), "completed", "{}", json(event));
    assert_eq!(get_num(event, "id"), id, "{}", json(event));
    assert!(get(event, "error").is_undefined(), "no error: {}", json(event));
    get(event, "result")
}

/// A session past the greeting and the EHLO (answered with [`EHLO_REPLY`]).
fn greeted() -> WasmConnection {
    let mut conn = WasmConnection::new(&options(), NOW).expect("options accepted");
    assert_eq!(
        transmitted(&mut conn),
        "",
        "plaintext: nothing before the greeting"
    );
    conn.handle_input(GREETING, NOW);
    let greeting = only_event(&mut conn, "greeting");
    check_reply(&get(&greeting, "reply"), 220.0, "mx.example.test ESMTP ready");
    let id = conn.hello(None, NOW).expect("hello");
    assert_eq!(transmitted(&mut conn), "EHLO localhost\r\n");
    conn.handle_input(EHLO_REPLY, NOW);
    let done = completed(&only_event(&mut conn, "completed"), id);
    assert_eq!(get_str(&done, "kind"), "reply", "{}", json(&done));
    assert_eq!(get_num(&get(&done, "reply"), "code"), 250.0);
    conn
}

#[wasm_bindgen_test]
fn scripted_transaction_through_the_js_api() {
    let mut conn = greeted();

    // Capabilities: upper-cased keywords to their parameters.
    let caps = conn.capabilities();
    assert_eq!(get_str(&caps, "domain"), "mx.example.test");
    let extensions = get(&caps, "extensions");
    assert_eq!(get_str(&extensions, "SIZE"), "1000000");
    assert_eq!(get_str(&extensions, "PIPELINING"), "");
    assert_eq!(get_str(&extensions, "AUTH"), "plain LOGIN");
    assert_eq!(conn.extension("size").as_deref(), Some("1000000"));
    assert_eq!(conn.extension("CHUNKING"), None);

    // MAIL FROM gets BODY=8BITMIME (advertised), ENVID only with DSN (advertised).
    let id = conn
        .mail("alice@example.test", &obj(&[("envelopeId", s("env-1"))]), NOW)
        .expect("mail");
    let line = transmitted(&mut conn);
    assert!(line.starts_with("MAIL FROM:<alice@example.test>"), "{line}");
    assert!(
        line.contains("BODY=8BITMIME") && line.contains("ENVID=env-1"),
        "{line}"
    );
    conn.handle_input(b"250 2.1.0 Ok\r\n", NOW);
    let reply = get(&completed(&only_event(&mut conn, "completed"), id), "reply");
    check_reply(&reply, 250.0, "Ok");
    let enhanced = Array::from(&get(&reply, "enhancedCode"));
    assert_eq!(enhanced.length(), 3);
    assert_eq!(enhanced.get(0).as_f64(), Some(2.0));

    let notify = Array::of2(&s("SUCCESS"), &s("FAILURE"));
    let id = conn
        .rcpt("bob@example.test", &obj(&[("notify", notify.into())]), NOW)
        .expect("rcpt");
    assert_eq!(
        transmitted(&mut conn),
        "RCPT TO:<bob@example.test> NOTIFY=SUCCESS,FAILURE\r\n"
    );
    conn.handle_input(b"250 2.1.5 Ok\r\n", NOW);
    completed(&only_event(&mut conn, "completed"), id);

    let id = conn.data(NOW).expect("data");
    assert_eq!(transmitted(&mut conn), "DATA\r\n");
    conn.handle_input(b"354 End data with <CR><LF>.<CR><LF>\r\n", NOW);
    let ready = only_event(&mut conn, "body-ready");
    assert_eq!(get_num(&ready, "id"), id);
    conn.send_body(id, b"Subject: x\n\nhello\r\n.dot", NOW)
        .expect("body");
    conn.send_body(id, b" line\r\n", NOW).expect("body");
    conn.finish_body(id, NOW).expect("finish");
    assert_eq!(
        transmitted(&mut conn),
        "Subject: x\r\n\r\nhello\r\n..dot line\r\n.\r\n",
        "CRLF normalised, dot-stuffed, terminated"
    );
    conn.handle_input(b"250 2.0.0 Ok: queued as 1234\r\n", NOW);
    let reply = get(&completed(&only_event(&mut conn, "completed"), id), "reply");
    check_reply(&reply, 250.0, "Ok: queued as 1234");

    let id = conn.quit(NOW).expect("quit");
    assert_eq!(transmitted(&mut conn), "QUIT\r\n");
    conn.handle_input(b"221 2.0.0 Bye\r\n", NOW);
    let all = events(&mut conn);
    assert_eq!(get_str(&all[0], "type"), "completed", "{}", json(&all[0]));
    assert_eq!(get_num(&all[0], "id"), id);
    let closed = all.last().expect("a closed event");
    assert_eq!(get_str(closed, "type"), "closed", "{}", json(closed));
    assert!(get(closed, "error").is_null(), "a clean end: {}", json(closed));
}

#[wasm_bindgen_test]
fn send_mail_pipelines_and_reports_per_recipient() {
    let mut conn = greeted();
    let to = Array::of2(&s("bob@example.test"), &s("reject@example.test"));
    let id = conn
        .send_mail(&obj(&[("from", s("a@example.test")), ("to", to.into())]), NOW)
        .expect("sendMail");
    let flight = transmitted(&mut conn);
    assert_eq!(
        flight,
        "MAIL FROM:<a@example.test> BODY=8BITMIME\r\nRCPT TO:<bob@example.test>\r\n\
RCPT TO:<reject@example.test>\r\nDATA\r\n",
        "one pipelined flight"
    );
    conn.handle_input(b"250 ok\r\n250 ok\r\n550 5.1.1 no such user\r\n354 go\r\n", NOW);
    let ready = only_event(&mut conn, "body-ready");
    assert_eq!(get_num(&ready, "id"), id);
    conn.send_body(id, b"Subject: y\r\n\r\nbody\r\n", NOW)
        .expect("body");
    conn.finish_body(id, NOW).expect("finish");
    assert!(transmitted(&mut conn).ends_with("body\r\n.\r\n"));
    conn.handle_input(b"250 queued\r\n", NOW);
    let result = completed(&only_event(&mut conn, "completed"), id);
    assert_eq!(get_str(&result, "kind"), "transaction", "{}", json(&result));
    let accepted = Array::from(&get(&result, "accepted"));
    assert_eq!(accepted.length(), 1);
    assert_eq!(accepted.get(0).as_string().as_deref(), Some("bob@example.test"));
    let rejected = Array::from(&get(&result, "rejected"));
    assert_eq!(rejected.length(), 1);
    let refusal = rejected.get(0);
    assert_eq!(get_str(&refusal, "recipient"), "reject@example.test");
    let error = get(&refusal, "error");
    assert_eq!(get_str(&error, "kind"), "rejected", "{}", json(&error));
    assert_eq!(get_num(&error, "code"), 550.0);
    assert_eq!(get_str(&error, "command"), "RCPT TO");
    assert_eq!(get(&error, "temporary"), JsValue::FALSE);
    check_reply(&get(&result, "reply"), 250.0, "queued");
}

#[wasm_bindgen_test]
fn transcript_events_have_direction_and_text() {
    let mut conn = WasmConnection::new(&options(), NOW).expect("options accepted");
    conn.handle_input(GREETING, NOW);
    let mut lines = Vec::new();
    loop {
        let event = conn.poll_event();
        if event.is_undefined() {
            break;
        }
        if get_str(&event, "type") == "transcript" {
            lines.push((get_str(&event, "direction"), get_str(&event, "text")));
        }
    }
    assert_eq!(
        lines,
        vec![(
            "server".to_string(),
            "220 mx.example.test ESMTP ready".to_string()
        )]
    );
    conn.hello(Some("client.example".into()), NOW).expect("hello");
    assert_eq!(transmitted(&mut conn), "EHLO client.example\r\n");
    let event = conn.poll_event();
    assert_eq!(get_str(&event, "type"), "transcript");
    assert_eq!(get_str(&event, "direction"), "client");
    assert_eq!(get_str(&event, "text"), "EHLO client.example");

    // Without `transcript`, no transcript events.
    let mut quiet = WasmConnection::new(&obj(&[("serverName", s("localhost"))]), NOW).expect("options");
    quiet.handle_input(GREETING, NOW);
    let all: Vec<String> = std::iter::from_fn(|| Some(quiet.poll_event()))
        .take_while(|e| !e.is_undefined())
        .map(|e| get_str(&e, "type"))
        .collect();
    assert_eq!(all, vec!["greeting".to_string()]);
}

/// The error object for an input with CR, LF or NUL: `{ kind: "invalid-input", field, message, temporary: false }`,
/// with nothing written; the session stays usable.
#[wasm_bindgen_test]
fn control_characters_in_every_field_are_refused_with_nothing_written() {
    let mut conn = greeted();
    let bad_values = ["a\r\nRSET", "a\nb", "a\rb", "a\0b"];
    type Issue = fn(&mut WasmConnection, &str) -> Result<f64, JsValue>;
    let cases: Vec<(&str, Issue)> = vec![
        ("from", |c, v| {
            c.mail(&format!("{v}@example.test"), &JsValue::UNDEFINED, NOW)
        }),
        ("to", |c, v| {
            c.rcpt(&format!("{v}@example.test"), &JsValue::UNDEFINED, NOW)
        }),
        ("envelopeId", |c, v| {
            c.mail("a@example.test", &obj(&[("envelopeId", s(v))]), NOW)
        }),
        ("auth", |c, v| {
            c.mail("a@example.test", &obj(&[("auth", s(&format!("<{v}@x>")))]), NOW)
        }),
        ("originalRecipient", |c, v| {
            c.rcpt(
                "b@example.test",
                &obj(&[("originalRecipient", s(&format!("{v}@x")))]),
                NOW,
            )
        }),
        ("address", |c, v| c.verify(v, NOW)),
        ("username", |c, v| {
            c.auth(
                &obj(&[("username", s(v)), ("password", s("secret"))]),
                Some("PLAIN".into()),
                NOW,
            )
        }),
        ("password", |c, v| {
            c.auth(
                &obj(&[("username", s("alice")), ("password", s(v))]),
                Some("LOGIN".into()),
                NOW,
            )
        }),
    ];
    for (field, issue) in &cases {
        for bad in bad_values {
            let error = issue(&mut conn, bad).expect_err(&format!("{field} = {bad:?} must be refused"));
            assert_eq!(
                get_str(&error, "kind"),
                "invalid-input",
                "{field}: {}",
                json(&error)
            );
            assert_eq!(get_str(&error, "field"), *field, "{}", json(&error));
            assert_eq!(get(&error, "temporary"), JsValue::FALSE);
            assert!(!get_str(&error, "message").is_empty());
            assert_eq!(
                transmitted(&mut conn),
                "",
                "{field} = {bad:?}: zero bytes written"
            );
            assert!(events(&mut conn).is_empty(), "{field}: no event");
        }
    }
    // Still usable: a valid command goes out.
    let id = conn.noop(NOW).expect("noop after refusals");
    assert_eq!(transmitted(&mut conn), "NOOP\r\n");
    conn.handle_input(b"250 ok\r\n", NOW);
    completed(&only_event(&mut conn, "completed"), id);

    // localName, on a session that has not said hello yet.
    let mut fresh = WasmConnection::new(&options(), NOW).expect("options");
    fresh.handle_input(GREETING, NOW);
    events(&mut fresh);
    let error = fresh
        .hello(Some("bad\r\nname".into()), NOW)
        .expect_err("localName with CRLF");
    assert_eq!(get_str(&error, "kind"), "invalid-input");
    assert_eq!(get_str(&error, "field"), "localName");
    assert_eq!(transmitted(&mut fresh), "");
    let error = WasmConnection::new(
        &obj(&[("serverName", s("localhost")), ("localName", s("x\0y"))]),
        NOW,
    )
    .err()
    .map(|e| (get_str(&e, "kind"), get_str(&e, "field")));
    if let Some((kind, field)) = error {
        assert_eq!((kind.as_str(), field.as_str()), ("invalid-input", "localName"));
    } else {
        let mut later = WasmConnection::new(
            &obj(&[("serverName", s("localhost")), ("localName", s("x\0y"))]),
            NOW,
        )
        .expect("options");
        later.handle_input(GREETING, NOW);
        events(&mut later);
        let error = later
            .hello(None, NOW)
            .expect_err("a NUL in the configured localName");
        assert_eq!(get_str(&error, "field"), "localName");
        assert_eq!(transmitted(&mut later), "");
    }
}

#[wasm_bindgen_test]
fn option_objects_of_the_wrong_shape_are_typed_errors() {
    let missing = WasmConnection::new(&Object::new().into(), NOW)
        .err()
        .expect("serverName required");
    assert_eq!(get_str(&missing, "kind"), "invalid-input");
    assert_eq!(get_str(&missing, "field"), "serverName");

    let not_object = WasmConnection::new(&JsValue::UNDEFINED, NOW)
        .err()
        .expect("no options");
    assert_eq!(get_str(&not_object, "field"), "serverName");

    let wrong = WasmConnection::new(&obj(&[("serverName", JsValue::from_f64(5.0))]), NOW)
        .err()
        .expect("serverName must be a string");
    assert_eq!(get_str(&wrong, "field"), "serverName");

    let flag = WasmConnection::new(&obj(&[("serverName", s("localhost")), ("lmtp", s("yes"))]), NOW)
        .err()
        .expect("lmtp must be a boolean");
    assert_eq!(get_str(&flag, "field"), "lmtp");

    let timeout = WasmConnection::new(
        &obj(&[
            ("serverName", s("localhost")),
            ("timeouts", obj(&[("greeting", JsValue::from_f64(-1.0))])),
        ]),
        NOW,
    )
    .err()
    .expect("negative timeout");
    assert_eq!(get_str(&timeout, "field"), "greeting");

    let roots = WasmConnection::new(
        &obj(&[
            ("serverName", s("localhost")),
            ("rootCertificates", JsValue::from_f64(1.0)),
        ]),
        NOW,
    )
    .err()
    .expect("rootCertificates must be strings");
    assert_eq!(get_str(&roots, "field"), "rootCertificates");

    let mut conn = greeted();
    let error = conn
        .rcpt("b@example.test", &obj(&[("notify", Array::new().into())]), NOW)
        .expect_err("empty notify");
    assert_eq!(get_str(&error, "field"), "notify");
    let error = conn
        .mail("a@example.test", &obj(&[("body", s("9BIT"))]), NOW)
        .expect_err("unknown body");
    assert_eq!(get_str(&error, "field"), "body");
    let error = conn
        .auth(
            &obj(&[("username", s("a")), ("password", s("b"))]),
            Some("NTLM".into()),
            NOW,
        )
        .expect_err("unknown mechanism");
    assert_eq!(get_str(&error, "field"), "mechanism");
    let error = conn
        .send_mail(&obj(&[("to", s("b@example.test"))]), NOW)
        .expect_err("sendMail without from");
    assert_eq!(get_str(&error, "field"), "from");
    assert_eq!(transmitted(&mut conn), "", "nothing written for any of them");
}

#[wasm_bindgen_test]
fn timeouts_and_eof_end_the_session_with_error_objects() {
    let opts = obj(&[
        ("serverName", s("localhost")),
        ("timeouts", obj(&[("greeting", JsValue::from_f64(1000.0))])),
    ]);
    let mut conn = WasmConnection::new(&opts, NOW).expect("options");
    let deadline = conn.poll_timeout().expect("a greeting deadline");
    assert_eq!(deadline, NOW + 1000.0);
    conn.handle_timeout(NOW + 999.0);
    assert!(events(&mut conn).is_empty(), "early call is harmless");
    conn.handle_timeout(deadline);
    let closed = only_event(&mut conn, "closed");
    let error = get(&closed, "error");
    assert_eq!(get_str(&error, "kind"), "timeout", "{}", json(&error));
    assert_eq!(get_str(&error, "phase"), "greeting");
    assert_eq!(get(&error, "temporary"), JsValue::TRUE);

    // The server closes in the middle of a reply to DATA content: closed, mid-reply, in the data phase.
    let mut conn = greeted();
    let id = conn.data(NOW).expect("data");
    transmitted(&mut conn);
    conn.handle_input(b"354 go\r\n", NOW);
    only_event(&mut conn, "body-ready");
    conn.send_body(id, b"x\r\n", NOW).expect("body");
    conn.finish_body(id, NOW).expect("finish");
    transmitted(&mut conn);
    conn.handle_input(b"250-partial", NOW);
    conn.handle_eof(NOW);
    let all = events(&mut conn);
    let failed = all
        .iter()
        .find(|e| get_str(e, "type") == "completed")
        .expect("the DATA command fails");
    let error = get(failed, "error");
    assert_eq!(get_str(&error, "kind"), "closed", "{}", json(&error));
    assert_eq!(get_str(&error, "phase"), "data-end");
    assert_eq!(get(&error, "midReply"), JsValue::TRUE);
    assert_eq!(get_str(all.last().expect("closed"), "type"), "closed");
}

#[wasm_bindgen_test]
fn core_version_is_the_crate_version() {
    let version = smtp_wasm::wasm::core_version();
    assert_eq!(version.split('.').count(), 3, "{version}");
}

/// `pollTransmitInto` gives the same bytes as `pollTransmit`, into a caller's buffer: from `offset` on, as many as
/// fit, the rest on the next call; 0 when there is nothing to write.
#[wasm_bindgen_test]
fn poll_transmit_into_fills_a_reused_buffer() {
    let mut conn = greeted();
    let buf = js_sys::Uint8Array::new_with_length(8);
    assert_eq!(conn.poll_transmit_into(&buf, 0), 0, "nothing to write yet");
    conn.noop(NOW).expect("noop");
    // "NOOP\r\n" is 6 bytes: 3 fit after offset 5, then the other 3.
    buf.fill(b'.', 0, 8);
    assert_eq!(conn.poll_transmit_into(&buf, 5), 3);
    assert_eq!(buf.to_vec(), b".....NOO".to_vec());
    assert!(conn.transmit_buffered() >= 3.0);
    assert_eq!(conn.poll_transmit_into(&buf, 0), 3);
    assert_eq!(&buf.to_vec()[..3], b"P\r\n");
    assert_eq!(conn.poll_transmit_into(&buf, 0), 0, "all taken");
    assert_eq!(conn.poll_transmit_into(&buf, 8), 0, "no room: nothing taken");
    assert_eq!(transmitted(&mut conn), "", "pollTransmit agrees");
}

/// `next_event`, skipping transcript events (the test options turn the transcript on).
fn next_kind(conn: &mut WasmConnection) -> u32 {
    loop {
        let kind = conn.next_event();
        if kind != 3 {
            return kind;
        }
        let event = conn.take_event();
        if get_str(&event, "type") != "transcript" {
            // Put nothing back: the caller wants to read it; keep it for take_event.
            PENDING.with(|p| *p.borrow_mut() = Some(event));
            return 3;
        }
    }
}

thread_local! {
    static PENDING: core::cell::RefCell<Option<JsValue>> = const { core::cell::RefCell::new(None) };
}

#[wasm_bindgen_test]
fn next_event_carries_the_common_events_as_numbers() {
    let mut conn = greeted();
    let id = conn
        .send_mail_to("a@example.test".into(), "bob@example.test".into(), NOW)
        .expect("sendMailTo");
    assert_eq!(
        transmitted(&mut conn),
        "MAIL FROM:<a@example.test> BODY=8BITMIME\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n"
    );
    conn.handle_input(b"250 ok\r\n250 ok\r\n354 go\r\n", NOW);
    assert_eq!(next_kind(&mut conn), 1, "body-ready");
    assert_eq!(conn.event_id(), id);
    assert_eq!(next_kind(&mut conn), 0);
    conn.send_last_body(id, b"Subject: y\r\n\r\nbody\r\n", NOW)
        .expect("body and its end");
    assert!(transmitted(&mut conn).ends_with("body\r\n.\r\n"));
    conn.handle_input(b"250 2.0.12 Ok: queued as 42\r\n", NOW);
    assert_eq!(next_kind(&mut conn), 2, "sent");
    assert_eq!(conn.event_id(), id);
    assert_eq!(conn.event_reply_code(), 250);
    assert_eq!(conn.event_reply_line(), "2.0.12 Ok: queued as 42");
    // ((2 * 1000 + 0) * 1000 + 12) * 100 + 7: the text starts after "2.0.12 ".
    assert_eq!(conn.event_reply_enhanced(), 200_001_207.0);
    assert_eq!(next_kind(&mut conn), 0);

    // A refused recipient: the general event, as pollEvent gives it.
    let to = Array::of2(&s("bob@example.test"), &s("reject@example.test"));
    let id = conn
        .send_mail(&obj(&[("from", s("a@example.test")), ("to", to.into())]), NOW)
        .expect("sendMail");
    transmitted(&mut conn);
    conn.handle_input(b"250 ok\r\n250 ok\r\n550 5.1.1 no\r\n354 go\r\n", NOW);
    assert_eq!(next_kind(&mut conn), 1);
    conn.send_last_body(id, b"", NOW)
        .expect("an empty body and its end");
    assert_eq!(transmitted(&mut conn), ".\r\n");
    conn.handle_input(b"250 queued\r\n", NOW);
    assert_eq!(next_kind(&mut conn), 3, "not every recipient accepted");
    let event = PENDING.with(|p| p.borrow_mut().take()).expect("the taken event");
    let result = completed(&event, id);
    assert_eq!(get_str(&result, "kind"), "transaction", "{}", json(&result));
    assert!(conn.take_event().is_undefined(), "taken once");

    // Without an enhanced code: -1.
    let id = conn
        .send_mail_to("a@example.test".into(), "bob@example.test".into(), NOW)
        .expect("sendMailTo");
    transmitted(&mut conn);
    conn.handle_input(b"250 ok\r\n250 ok\r\n354 go\r\n", NOW);
    assert_eq!(next_kind(&mut conn), 1);
    conn.send_last_body(id, b"x\r\n", NOW).expect("body");
    conn.handle_input(b"250 queued\r\n", NOW);
    assert_eq!(next_kind(&mut conn), 2);
    assert_eq!(conn.event_reply_line(), "queued");
    assert_eq!(conn.event_reply_enhanced(), -1.0);
}

#[wasm_bindgen_test]
fn raw_commands_recipients_and_caller_driven_sasl_through_the_js_api() {
    // loopbackPeer: the transport connected to a loopback address, so AUTH may go to "localhost" in cleartext.
    let options = obj(&[("serverName", s("localhost")), ("loopbackPeer", JsValue::TRUE)]);
    let mut conn = WasmConnection::new(&options, NOW).expect("options accepted");
    conn.handle_input(GREETING, NOW);
    only_event(&mut conn, "greeting");
    let help = conn.command("HELP", NOW).expect("raw command");
    assert_eq!(transmitted(&mut conn), "EHLO localhost\r\n");
    conn.handle_input(b"250-mx.example.test\r\n250 AUTH X-ECHO\r\n", NOW);
    assert_eq!(transmitted(&mut conn), "HELP\r\n");
    conn.handle_input(b"214 see RFC 5321\r\n", NOW);
    let done = completed(&only_event(&mut conn, "completed"), help);
    check_reply(&get(&done, "reply"), 214.0, "see RFC 5321");
    // A tracked verb is a usage error object, nothing written.
    let error = conn.command("DATA", NOW).expect_err("DATA is refused");
    assert_eq!(get_str(&error, "kind"), "usage", "{}", json(&error));
    assert_eq!(transmitted(&mut conn), "");

    let auth = conn
        .auth_custom("X-ECHO", Some(b"hi".to_vec()), NOW)
        .expect("custom AUTH");
    assert_eq!(transmitted(&mut conn), "AUTH X-ECHO aGk=\r\n");
    conn.handle_input(b"334 Y2g=\r\n", NOW);
    let challenge = only_event(&mut conn, "sasl-challenge");
    assert_eq!(get_num(&challenge, "id"), auth);
    let bytes = js_sys::Uint8Array::new(&get(&challenge, "challenge")).to_vec();
    assert_eq!(bytes, b"ch");
    conn.sasl_respond(auth, Some(b"ok".to_vec()), NOW)
        .expect("respond");
    assert_eq!(transmitted(&mut conn), "b2s=\r\n");
    conn.handle_input(b"235 2.7.0 fine\r\n", NOW);
    completed(&only_event(&mut conn, "completed"), auth);

    let mail = conn
        .mail("a@example.test", &JsValue::UNDEFINED, NOW)
        .expect("mail");
    let rcpt = conn
        .rcpt("b@example.test", &JsValue::UNDEFINED, NOW)
        .expect("rcpt");
    assert_eq!(transmitted(&mut conn), "MAIL FROM:<a@example.test>\r\n");
    conn.handle_input(b"250 ok\r\n", NOW);
    completed(&only_event(&mut conn, "completed"), mail);
    assert_eq!(transmitted(&mut conn), "RCPT TO:<b@example.test>\r\n");
    conn.handle_input(b"250 ok\r\n", NOW);
    completed(&only_event(&mut conn, "completed"), rcpt);
    assert_eq!(conn.recipients(), vec!["b@example.test".to_string()]);
}

#[wasm_bindgen_test]
fn a_client_certificate_that_is_not_pem_is_a_tls_error_object() {
    let options = obj(&[
        ("serverName", s("localhost")),
        (
            "clientCertificate",
            obj(&[("cert", s("not a certificate")), ("key", s("hunter2"))]),
        ),
    ]);
    let error = WasmConnection::new(&options, NOW).err().expect("refused");
    assert_eq!(get_str(&error, "kind"), "tls", "{}", json(&error));
    assert!(!json(&error).contains("hunter2"), "{}", json(&error));
}
