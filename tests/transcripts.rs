//! Transcript tests: each reads like an RFC example (`S:` what the server sends, `C:` what the client must send) and
//! runs with the server's bytes whole, byte by byte, and split in two at every position.

mod common;

use common::{each_split, local, remote, T};
use smtp_wasm::{
    BodyType, Completion, Credentials, Envelope, Error, Event, Field, InputErrorReason, MailOptions,
    Mechanism, Notify, Phase, RcptOptions, SessionConfig, Timestamp,
};

const SPLITS: usize = 90;

fn envelope(from: &str, to: &[&str]) -> Envelope {
    Envelope {
        from: from.into(),
        to: to.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    }
}

fn password(user: &str, pass: &str) -> Credentials {
    Credentials::Password {
        username: user.into(),
        password: pass.into(),
        identity: None,
    }
}

fn reply_code(done: &Completion) -> u16 {
    match done {
        Completion::Reply(reply) => reply.code(),
        Completion::Transaction(report) => report.reply.code(),
        other => panic!("no reply in {other:?}"),
    }
}

fn rejected_code(error: &Error) -> (String, u16) {
    match error {
        Error::Rejected(rejection) => (rejection.command.clone(), rejection.reply.code()),
        other => panic!("expected a rejection, got {other:?}"),
    }
}

fn ehlo(t: &mut T, keywords: &[&str]) {
    t.client("EHLO localhost");
    let mut lines = vec!["250-mx.example.org Hello".to_string()];
    for (i, keyword) in keywords.iter().enumerate() {
        let sep = if i + 1 == keywords.len() { ' ' } else { '-' };
        lines.push(format!("250{sep}{keyword}"));
    }
    if keywords.is_empty() {
        lines = vec!["250 mx.example.org Hello".to_string()];
    }
    t.server(&lines.join("\n"));
}

#[test]
fn basic_session_hello_verify_noop_rset_quit() {
    each_split(remote, SPLITS, |t| {
        t.greeting();
        let now = t.now;
        let hello = t.session.hello(None, now).unwrap();
        t.client("EHLO localhost");
        t.server(
            "250-mx.example.org greets localhost\n250-PIPELINING\n250-8BITMIME\n250-SIZE 35882577\n250 HELP",
        );
        assert_eq!(reply_code(&t.ok(hello)), 250);
        assert_eq!(t.session.extension("pipelining"), Some(""));
        assert_eq!(t.session.extension("Size"), Some("35882577"));
        assert_eq!(t.session.extension("STARTTLS"), None);

        let verify = t.session.verify("root", now).unwrap();
        t.client("VRFY root");
        t.server("252 2.1.5 Cannot VRFY user, but will accept message");
        assert_eq!(reply_code(&t.ok(verify)), 252, "252 is not an error");

        let noop = t.session.noop(now).unwrap();
        t.client("NOOP");
        t.server("250 2.0.0 OK");
        t.ok(noop);

        let reset = t.session.reset(now).unwrap();
        t.client("RSET");
        t.server("250 2.0.0 OK");
        t.ok(reset);

        let quit = t.session.quit(now).unwrap();
        t.client("QUIT");
        t.server("221 2.0.0 Bye");
        assert_eq!(reply_code(&t.ok(quit)), 221);
        assert_eq!(t.closed(), None);
        assert!(matches!(t.session.noop(now), Err(Error::Usage(_))));
    });
}

#[test]
fn multi_line_greeting_and_refusing_greeting() {
    each_split(remote, SPLITS, |t| {
        t.server("220-mx.example.org ESMTP\n220-no UCE\n220 welcome");
        match t.event() {
            Event::Greeting(reply) => assert_eq!(reply.lines().len(), 3),
            other => panic!("{other:?}"),
        }
    });
    each_split(remote, SPLITS, |t| {
        let now = t.now;
        let noop = t.session.noop(now).unwrap();
        t.server("554 5.3.2 No SMTP service here");
        assert_eq!(rejected_code(&t.err(noop)), ("greeting".into(), 554));
        assert!(matches!(t.closed(), Some(Error::Rejected(_))));
        t.client_silent();
    });
}

#[test]
fn helo_fallback_only_after_500_or_502() {
    each_split(remote, SPLITS, |t| {
        t.greeting();
        let hello = t.session.hello(Some("client.example"), t.now).unwrap();
        t.client("EHLO client.example");
        t.server("502 5.5.2 Error: command not recognized");
        t.client("HELO client.example");
        t.server("250 mx.example.org");
        t.ok(hello);
        assert_eq!(t.session.extension("PIPELINING"), None);
    });
    each_split(remote, SPLITS, |t| {
        t.greeting();
        let hello = t.session.hello(None, t.now).unwrap();
        t.client("EHLO localhost");
        t.server("554 5.7.1 go away");
        assert_eq!(rejected_code(&t.err(hello)), ("EHLO".into(), 554));
        t.client_silent();
    });
}

#[test]
fn lazy_hello_then_mail_rcpt_data_lock_step() {
    each_split(remote, SPLITS, |t| {
        t.greeting();
        let now = t.now;
        let mail = t
            .session
            .mail("alice@example.org", &MailOptions::default(), now)
            .unwrap();
        ehlo(t, &["8BITMIME", "SIZE 10240000"]);
        t.client("MAIL FROM:<alice@example.org> BODY=8BITMIME");
        t.server("250 2.1.0 Ok");
        t.ok(mail);
        let rcpt = t
            .session
            .rcpt("bob@example.net", &RcptOptions::default(), now)
            .unwrap();
        t.client("RCPT TO:<bob@example.net>");
        t.server("250 2.1.5 Ok");
        t.ok(rcpt);
        let data = t.session.data(now).unwrap();
        t.client("DATA");
        t.server("354 End data with <CR><LF>.<CR><LF>");
        t.body_ready(data);
        for chunk in [
            "Subject: hi\r",
            "\n\r\n.leading dot\nbare ",
            "lf\rbare cr\r\n",
            "..two\r\n",
        ] {
            t.session.send_body(data, chunk.as_bytes(), now).unwrap();
        }
        t.session.finish_body(data, now).unwrap();
        t.client_raw(b"Subject: hi\r\n\r\n..leading dot\r\nbare lf\r\nbare cr\r\n...two\r\n.\r\n");
        t.server("250 2.0.0 Ok: queued as 4BqX1");
        assert_eq!(reply_code(&t.ok(data)), 250);
    });
}

#[test]
fn send_mail_pipelines_the_envelope_and_reports_each_recipient() {
    each_split(remote, SPLITS, |t| {
        let now = t.now;
        let id = t
            .session
            .send_mail(
                envelope("a@example.org", &["b@example.net", "reject@example.net"]),
                now,
            )
            .unwrap();
        t.session
            .send_body(id, b"Subject: x\r\n\r\nbody\r\n", now)
            .unwrap();
        t.session.finish_body(id, now).unwrap();
        t.greeting();
        ehlo(t, &["PIPELINING", "8BITMIME"]);
        t.client(
            "MAIL FROM:<a@example.org> BODY=8BITMIME\nRCPT TO:<b@example.net>\nRCPT TO:<reject@example.net>\nDATA",
        );
        t.server("250 2.1.0 Ok\n250 2.1.5 Ok\n550 5.1.1 <reject@example.net>: Recipient address rejected\n354 go ahead");
        t.body_ready(id);
        t.client_raw(b"Subject: x\r\n\r\nbody\r\n.\r\n");
        t.server("250 2.0.0 Ok: queued as ABC");
        match t.ok(id) {
            Completion::Transaction(report) => {
                assert_eq!(report.accepted, vec!["b@example.net".to_string()]);
                assert_eq!(report.rejected.len(), 1);
                assert_eq!(report.rejected[0].0, "reject@example.net");
                let (command, code) = rejected_code(&report.rejected[0].1);
                assert_eq!((command.as_str(), code), ("RCPT TO", 550));
                assert_eq!(
                    report.rejected[0]
                        .1
                        .reply()
                        .unwrap()
                        .enhanced_code()
                        .unwrap()
                        .to_string(),
                    "5.1.1"
                );
                assert_eq!(report.reply.code(), 250);
            }
            other => panic!("{other:?}"),
        }
    });
}

#[test]
fn send_mail_without_pipelining_goes_in_lock_step() {
    each_split(remote, SPLITS, |t| {
        t.greeting();
        let now = t.now;
        let id = t
            .session
            .send_mail(envelope("a@x.org", &["b@y.org", "c@y.org"]), now)
            .unwrap();
        t.session.send_body(id, b"hi\n", now).unwrap();
        t.session.finish_body(id, now).unwrap();
        ehlo(t, &[]);
        t.client("MAIL FROM:<a@x.org>");
        t.server("250 ok");
        t.client("RCPT TO:<b@y.org>");
        t.server("250 ok");
        t.client("RCPT TO:<c@y.org>");
        t.server("250 ok");
        t.client("DATA");
        t.server("354 go");
        t.body_ready(id);
        t.client("hi\n.");
        t.server("250 queued");
        t.ok(id);
    });
}

#[test]
fn bdat_with_pipelining_sends_the_whole_transaction_in_one_flight() {
    each_split(remote, SPLITS, |t| {
        t.greeting();
        let now = t.now;
        let id = t
            .session
            .send_mail(envelope("a@x.org", &["b@y.org"]), now)
            .unwrap();
        t.session.send_body(id, b"Hello\n.dot\n", now).unwrap();
        t.session.finish_body(id, now).unwrap();
        ehlo(t, &["PIPELINING", "CHUNKING", "8BITMIME"]);
        t.body_ready(id);
        t.client_raw(
            b"MAIL FROM:<a@x.org> BODY=8BITMIME\r\nRCPT TO:<b@y.org>\r\nBDAT 13 LAST\r\nHello\r\n.dot\r\n",
        );
        t.server("250 2.1.0 Ok\n250 2.1.5 Ok\n250 2.0.0 Ok: queued");
        assert_eq!(reply_code(&t.ok(id)), 250);
    });
}

#[test]
fn bdat_chunks_stream_and_binarymime_is_untouched() {
    let config = || {
        let mut config = remote();
        config.bdat_chunk_size = 4;
        config
    };
    each_split(config, SPLITS, |t| {
        t.greeting();
        let now = t.now;
        let mut env = envelope("a@x.org", &["b@y.org"]);
        env.mail_options.body = Some(BodyType::BinaryMime);
        let id = t.session.send_mail(env, now).unwrap();
        ehlo(t, &["PIPELINING", "CHUNKING", "BINARYMIME", "8BITMIME"]);
        t.body_ready(id);
        t.client("MAIL FROM:<a@x.org> BODY=BINARYMIME\nRCPT TO:<b@y.org>");
        t.session.send_body(id, b"\0\xff\n\rab", now).unwrap();
        t.client_raw(b"BDAT 4\r\n\0\xff\n\r");
        t.session.finish_body(id, now).unwrap();
        t.client_raw(b"BDAT 2 LAST\r\nab");
        t.server("250 ok\n250 ok\n250 2.0.0 chunk ok\n250 2.0.0 queued");
        t.ok(id);
    });
}

#[test]
fn no_recipient_accepted_with_pipelined_data_ends_the_empty_message() {
    // RFC 2920 section 3.1: DATA was pipelined and got 354 although every RCPT failed: send the lone dot.
    each_split(remote, SPLITS, |t| {
        t.greeting();
        let now = t.now;
        let id = t
            .session
            .send_mail(envelope("a@x.org", &["nobody@y.org"]), now)
            .unwrap();
        t.session.send_body(id, b"secret content\r\n", now).unwrap();
        t.session.finish_body(id, now).unwrap();
        ehlo(t, &["PIPELINING"]);
        t.client("MAIL FROM:<a@x.org>\nRCPT TO:<nobody@y.org>\nDATA");
        t.server("250 ok\n550 5.1.1 no such user\n354 go ahead");
        t.client(".");
        t.server("554 5.5.1 Error: no valid recipients");
        assert_eq!(rejected_code(&t.err(id)), ("RCPT TO".into(), 550));
        t.client_silent();
    });
    // Postfix's way: DATA itself is refused; the open transaction is reset.
    each_split(remote, SPLITS, |t| {
        t.greeting();
        let now = t.now;
        let id = t
            .session
            .send_mail(envelope("a@x.org", &["nobody@y.org"]), now)
            .unwrap();
        t.session.finish_body(id, now).unwrap();
        ehlo(t, &["PIPELINING"]);
        t.client("MAIL FROM:<a@x.org>\nRCPT TO:<nobody@y.org>\nDATA");
        t.server("250 ok\n550 5.1.1 no such user\n554 5.5.1 Error: no valid recipients");
        t.client("RSET");
        t.server("250 2.0.0 Ok");
        assert_eq!(rejected_code(&t.err(id)), ("RCPT TO".into(), 550));
        // The session goes on.
        let noop = t.session.noop(now).unwrap();
        t.client("NOOP");
        t.server("250 ok");
        t.ok(noop);
    });
}

#[test]
fn refused_sender_and_refused_message_are_never_sent() {
    each_split(remote, SPLITS, |t| {
        t.greeting();
        let now = t.now;
        let id = t
            .session
            .send_mail(envelope("spammer@x.org", &["b@y.org"]), now)
            .unwrap();
        t.session.finish_body(id, now).unwrap();
        ehlo(t, &["PIPELINING"]);
        t.client("MAIL FROM:<spammer@x.org>\nRCPT TO:<b@y.org>\nDATA");
        t.server("553 5.7.1 Sender rejected\n503 5.5.1 need MAIL\n503 5.5.1 need MAIL");
        assert_eq!(rejected_code(&t.err(id)), ("MAIL FROM".into(), 553));
        t.client_silent();
    });
    each_split(remote, SPLITS, |t| {
        t.greeting();
        let now = t.now;
        let id = t
            .session
            .send_mail(envelope("a@x.org", &["b@y.org"]), now)
            .unwrap();
        t.session.send_body(id, b"spam", now).unwrap();
        t.session.finish_body(id, now).unwrap();
        ehlo(t, &["PIPELINING"]);
        t.client("MAIL FROM:<a@x.org>\nRCPT TO:<b@y.org>\nDATA");
        t.server("250 ok\n250 ok\n354 go");
        t.body_ready(id);
        t.client("spam\n.");
        t.server("554 5.7.1 Message rejected as spam");
        let error = t.err(id);
        assert_eq!(rejected_code(&error), ("DATA".into(), 554));
        assert!(!error.is_temporary());
    });
}

#[test]
fn eight_bit_content_without_8bitmime_is_refused_before_data() {
    each_split(remote, SPLITS, |t| {
        t.greeting();
        let now = t.now;
        let id = t
            .session
            .send_mail(envelope("a@x.org", &["b@y.org"]), now)
            .unwrap();
        t.session.send_body(id, "caf\u{e9}\r\n".as_bytes(), now).unwrap();
        t.session.finish_body(id, now).unwrap();
        ehlo(t, &["PIPELINING"]);
        t.client("MAIL FROM:<a@x.org>\nRCPT TO:<b@y.org>");
        t.server("250 ok\n250 ok");
        t.client("RSET");
        t.server("250 ok");
        match t.err(id) {
            Error::InvalidInput(input) => {
                assert_eq!(input.field, Field::Message);
                assert!(matches!(
                    input.reason,
                    InputErrorReason::EightBitWithoutMime { offset: 3 }
                ));
            }
            other => panic!("{other:?}"),
        }
    });
}

#[test]
fn refused_content_in_the_middle_of_data_closes_without_the_final_dot() {
    each_split(remote, SPLITS, |t| {
        t.greeting();
        let now = t.now;
        let id = t
            .session
            .send_mail(envelope("a@x.org", &["b@y.org"]), now)
            .unwrap();
        ehlo(t, &["PIPELINING"]);
        t.client("MAIL FROM:<a@x.org>\nRCPT TO:<b@y.org>\nDATA");
        t.server("250 ok\n250 ok\n354 go");
        t.body_ready(id);
        t.session.send_body(id, b"first line\r\n", now).unwrap();
        t.session.send_body(id, b"NUL \0 here", now).unwrap();
        t.session.finish_body(id, now).unwrap_err();
        t.client("first line");
        assert!(matches!(t.err(id), Error::InvalidInput(_)));
        assert!(matches!(t.closed(), Some(Error::InvalidInput(_))));
        t.client_silent();
    });
}

#[test]
fn refused_content_during_bdat_resets_and_the_session_goes_on() {
    each_split(remote, SPLITS, |t| {
        t.greeting();
        let now = t.now;
        let id = t
            .session
            .send_mail(envelope("a@x.org", &["b@y.org"]), now)
            .unwrap();
        ehlo(t, &["PIPELINING", "CHUNKING"]);
        t.body_ready(id);
        t.client("MAIL FROM:<a@x.org>\nRCPT TO:<b@y.org>");
        t.session.send_body(id, b"caf\xc3\xa9", now).unwrap();
        t.server("250 ok\n250 ok");
        t.client("RSET");
        t.server("250 ok");
        assert!(matches!(t.err(id), Error::InvalidInput(_)));
        let noop = t.session.noop(now).unwrap();
        t.client("NOOP");
        t.server("250 ok");
        t.ok(noop);
    });
}

#[test]
fn abandoned_content_in_bdat_is_reset_and_in_data_closes() {
    each_split(remote, SPLITS, |t| {
        t.greeting();
        let now = t.now;
        let id = t
            .session
            .send_mail(envelope("a@x.org", &["b@y.org"]), now)
            .unwrap();
        ehlo(t, &["PIPELINING", "CHUNKING"]);
        t.body_ready(id);
        t.session.abort_body(id, "the stream failed", now).unwrap();
        t.client("MAIL FROM:<a@x.org>\nRCPT TO:<b@y.org>");
        t.server("250 ok\n250 ok");
        t.client("RSET");
        t.server("250 ok");
        assert!(matches!(t.err(id), Error::Aborted(_)));
    });
    each_split(remote, SPLITS, |t| {
        t.greeting();
        let now = t.now;
        let id = t
            .session
            .send_mail(envelope("a@x.org", &["b@y.org"]), now)
            .unwrap();
        ehlo(t, &["PIPELINING"]);
        t.client("MAIL FROM:<a@x.org>\nRCPT TO:<b@y.org>\nDATA");
        t.server("250 ok\n250 ok\n354 go");
        t.body_ready(id);
        t.session.send_body(id, b"partial", now).unwrap();
        t.session.abort_body(id, "the stream failed", now).unwrap();
        t.client_raw(b"partial");
        assert!(matches!(t.err(id), Error::Aborted(_)));
        assert!(matches!(t.closed(), Some(Error::Aborted(_))));
    });
}

#[test]
fn auth_plain_with_initial_response_and_redacted_transcript() {
    each_split(local, SPLITS, |t| {
        t.greeting();
        let now = t.now;
        let id = t
            .session
            .auth(password("alice", "secret"), Some(Mechanism::Plain), now)
            .unwrap();
        ehlo(t, &["AUTH PLAIN LOGIN"]);
        t.client("AUTH PLAIN AGFsaWNlAHNlY3JldA==");
        t.server("235 2.7.0 Authentication successful");
        t.ok(id);
        assert!(
            t.transcript.contains(&"C: AUTH PLAIN <redacted>".to_string()),
            "{:?}",
            t.transcript
        );
        assert!(!t.transcript.iter().any(|line| line.contains("AGFsaWNl")));
    });
}

#[test]
fn auth_login_answers_prompts_and_cram_md5_the_challenge() {
    each_split(local, SPLITS, |t| {
        t.greeting();
        let now = t.now;
        let id = t
            .session
            .auth(password("alice", "secret"), Some(Mechanism::Login), now)
            .unwrap();
        ehlo(t, &["AUTH LOGIN"]);
        t.client("AUTH LOGIN");
        t.server("334 VXNlcm5hbWU6");
        t.client("YWxpY2U=");
        t.server("334 UGFzc3dvcmQ6");
        t.client("c2VjcmV0");
        t.server("235 2.7.0 ok");
        t.ok(id);
        assert!(t.transcript.iter().filter(|l| *l == "C: <redacted>").count() == 2);
    });
    each_split(local, SPLITS, |t| {
        t.greeting();
        let now = t.now;
        // With no mechanism named and no TLS, CRAM-MD5 is preferred: it does not reveal the password.
        let id = t
            .session
            .auth(password("tim", "tanstaaftanstaaf"), None, now)
            .unwrap();
        ehlo(t, &["AUTH PLAIN LOGIN CRAM-MD5"]);
        t.client("AUTH CRAM-MD5");
        t.server("334 PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+");
        t.client("dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw");
        t.server("235 2.7.0 ok");
        t.ok(id);
    });
}

#[test]
fn auth_failures_xoauth2_error_challenge_and_no_cancel_after_final_reply() {
    each_split(local, SPLITS, |t| {
        t.greeting();
        let now = t.now;
        let creds = Credentials::OAuth {
            username: "alice@example.org".into(),
            access_token: "ya29.tok".into(),
        };
        let id = t.session.auth(creds, None, now).unwrap();
        ehlo(t, &["AUTH XOAUTH2"]);
        t.client("AUTH XOAUTH2 dXNlcj1hbGljZUBleGFtcGxlLm9yZwFhdXRoPUJlYXJlciB5YTI5LnRvawEB");
        t.server("334 eyJzdGF0dXMiOiI0MDEiLCJzY2hlbWVzIjoiYmVhcmVyIn0=");
        t.client_raw(b"\r\n");
        t.server("535 5.7.8 Username and Password not accepted");
        assert_eq!(rejected_code(&t.err(id)), ("AUTH XOAUTH2".into(), 535));
        t.client_silent();
    });
    each_split(local, SPLITS, |t| {
        t.greeting();
        let now = t.now;
        let id = t
            .session
            .auth(password("alice", "wrong"), Some(Mechanism::Plain), now)
            .unwrap();
        ehlo(t, &["AUTH PLAIN"]);
        t.client("AUTH PLAIN AGFsaWNlAHdyb25n");
        t.server("535 5.7.8 Error: authentication failed");
        let error = t.err(id);
        assert_eq!(rejected_code(&error), ("AUTH PLAIN".into(), 535));
        // No "*" after a final reply: Postfix would drop the connection.
        t.client_silent();
    });
}

#[test]
fn auth_cancels_an_undecodable_challenge_and_defers_a_long_initial_response() {
    each_split(local, SPLITS, |t| {
        t.greeting();
        let now = t.now;
        let id = t
            .session
            .auth(password("alice", "secret"), Some(Mechanism::Login), now)
            .unwrap();
        ehlo(t, &["AUTH LOGIN"]);
        t.client("AUTH LOGIN");
        t.server("334 not base64 !!!");
        t.client("*");
        t.server("501 5.7.0 Authentication aborted");
        assert!(matches!(t.err(id), Error::Protocol(_)));
    });
    each_split(local, 4, |t| {
        t.greeting();
        let now = t.now;
        let token = "t".repeat(600);
        let creds = Credentials::OAuth {
            username: "alice".into(),
            access_token: token.clone(),
        };
        let id = t.session.auth(creds, Some(Mechanism::XOAuth2), now).unwrap();
        ehlo(t, &["AUTH XOAUTH2"]);
        t.client("AUTH XOAUTH2");
        t.server("334 ");
        use base64::Engine as _;
        let expected = base64::engine::general_purpose::STANDARD
            .encode(format!("user=alice\x01auth=Bearer {token}\x01\x01"));
        t.client(&expected);
        t.server("235 ok");
        t.ok(id);
    });
}

#[test]
fn credentials_never_go_out_in_cleartext_to_a_remote_host() {
    each_split(remote, 2, |t| {
        t.greeting();
        let now = t.now;
        assert_eq!(
            t.session.auth(password("alice", "secret"), None, now),
            Err(Error::InsecureAuth)
        );
        t.client_silent();
    });
    // Allowed explicitly.
    let insecure = || {
        let mut config = remote();
        config.allow_insecure_auth = true;
        config
    };
    each_split(insecure, 2, |t| {
        t.greeting();
        let now = t.now;
        let id = t
            .session
            .auth(password("alice", "secret"), Some(Mechanism::Plain), now)
            .unwrap();
        ehlo(t, &["AUTH PLAIN"]);
        t.client("AUTH PLAIN AGFsaWNlAHNlY3JldA==");
        t.server("235 ok");
        t.ok(id);
    });
    // Mechanism not offered.
    each_split(local, 2, |t| {
        t.greeting();
        let now = t.now;
        let id = t
            .session
            .auth(password("alice", "secret"), Some(Mechanism::Plain), now)
            .unwrap();
        ehlo(t, &["AUTH LOGIN"]);
        match t.err(id) {
            Error::AuthMechanismNotOffered { mechanism, offered } => {
                assert_eq!(mechanism.as_deref(), Some("PLAIN"));
                assert_eq!(offered, vec!["LOGIN".to_string()]);
            }
            other => panic!("{other:?}"),
        }
        t.client_silent();
    });
}

#[test]
fn starttls_switches_and_forgets_earlier_capabilities() {
    each_split(remote, SPLITS, |t| {
        t.greeting();
        let now = t.now;
        let id = t.session.start_tls(true, now).unwrap();
        ehlo(t, &["STARTTLS", "PIPELINING"]);
        t.client("STARTTLS");
        t.server("220 2.0.0 Ready to start TLS");
        assert!(t.session.poll_start_tls());
        t.no_event();
        t.session.handle_tls_established(now);
        assert!(t.session.is_tls());
        assert_eq!(
            t.session.extension("PIPELINING"),
            None,
            "pre-TLS capabilities are forgotten"
        );
        ehlo(t, &["AUTH PLAIN"]);
        t.ok(id);
        assert_eq!(t.session.extension("AUTH"), Some("PLAIN"));
        assert_eq!(t.session.extension("STARTTLS"), None);
        // Credentials may go now, over TLS, to a remote host.
        let auth = t.session.auth(password("alice", "secret"), None, now).unwrap();
        t.client("AUTH PLAIN AGFsaWNlAHNlY3JldA==");
        t.server("235 ok");
        t.ok(auth);
    });
}

#[test]
fn starttls_injection_aborts_the_session() {
    // CVE-2011-0411: a command (or reply) injected after the 220, in the same read or a later one.
    each_split(remote, SPLITS, |t| {
        t.greeting();
        let now = t.now;
        let id = t.session.start_tls(true, now).unwrap();
        ehlo(t, &["STARTTLS"]);
        t.client("STARTTLS");
        t.server("220 2.0.0 Ready to start TLS\n250-evil.example\n250 AUTH PLAIN");
        assert_eq!(t.err(id), Error::StartTlsInjection);
        assert_eq!(t.closed(), Some(Error::StartTlsInjection));
        t.client_silent();
    });
}

#[test]
fn starttls_not_offered_or_refused_writes_nothing_more() {
    each_split(remote, 2, |t| {
        t.greeting();
        let now = t.now;
        let id = t.session.start_tls(true, now).unwrap();
        ehlo(t, &["PIPELINING"]); // stripped by a man in the middle
        assert_eq!(t.err(id), Error::StartTlsNotOffered);
        t.client_silent();
        assert_eq!(
            t.session.auth(password("alice", "secret"), None, now),
            Err(Error::InsecureAuth)
        );
        t.client_silent();
    });
    each_split(remote, 2, |t| {
        t.greeting();
        let now = t.now;
        let id = t.session.start_tls(false, now).unwrap();
        ehlo(t, &["PIPELINING"]);
        assert_eq!(
            t.ok(id),
            Completion::Done,
            "opportunistic: not offered means plaintext"
        );
        assert!(!t.session.is_tls());
    });
    each_split(remote, SPLITS, |t| {
        t.greeting();
        let now = t.now;
        let id = t.session.start_tls(true, now).unwrap();
        ehlo(t, &["STARTTLS"]);
        t.client("STARTTLS");
        t.server("454 4.7.0 TLS not available due to temporary reason");
        let error = t.err(id);
        assert_eq!(rejected_code(&error), ("STARTTLS".into(), 454));
        assert!(error.is_temporary());
        assert!(!t.session.poll_start_tls());
        t.client_silent();
    });
}

#[test]
fn a_421_ends_the_session_whenever_it_comes() {
    each_split(remote, SPLITS, |t| {
        t.greeting();
        let now = t.now;
        let hello = t.session.hello(None, now).unwrap();
        ehlo(t, &["PIPELINING"]);
        t.ok(hello);
        t.server("421 4.3.2 Service shutting down");
        assert!(matches!(t.closed(), Some(Error::Rejected(_))));
        assert!(t.session.is_closed());
    });
    each_split(remote, SPLITS, |t| {
        t.greeting();
        let now = t.now;
        let mail = t.session.mail("a@x.org", &MailOptions::default(), now).unwrap();
        let rcpt = t.session.rcpt("b@y.org", &RcptOptions::default(), now).unwrap();
        ehlo(t, &[]);
        t.client("MAIL FROM:<a@x.org>");
        t.server("421 4.7.0 Too many errors");
        assert_eq!(rejected_code(&t.err(mail)), ("MAIL FROM".into(), 421));
        assert!(t.err(rcpt).is_temporary());
        assert!(matches!(t.closed(), Some(Error::Rejected(_))));
        t.client_silent();
    });
}

#[test]
fn timeouts_follow_rfc_5321_and_are_configurable() {
    let t0 = common::T0;
    each_split(remote, 2, |t| {
        assert_eq!(
            t.session.poll_timeout(),
            Some(Timestamp::from_unix_millis(t0 + 5 * 60_000))
        );
        t.advance(5 * 60_000 - 1);
        t.no_event();
        t.advance(1);
        assert_eq!(
            t.closed(),
            Some(Error::Timeout {
                phase: Phase::Greeting
            })
        );
    });
    each_split(remote, 2, |t| {
        t.greeting();
        let now = t.now;
        let id = t
            .session
            .send_mail(envelope("a@x.org", &["b@y.org"]), now)
            .unwrap();
        t.session.finish_body(id, now).unwrap();
        ehlo(t, &["PIPELINING"]);
        t.client("MAIL FROM:<a@x.org>\nRCPT TO:<b@y.org>\nDATA");
        t.server("250 ok\n250 ok\n354 go");
        t.body_ready(id);
        t.client(".");
        assert_eq!(
            t.session.poll_timeout(),
            Some(Timestamp::from_unix_millis(t0 + 10 * 60_000))
        );
        t.advance(10 * 60_000);
        let error = t.err(id);
        assert_eq!(
            error,
            Error::Timeout {
                phase: Phase::DataEnd
            }
        );
        assert!(error.to_string().contains("not sent"));
        assert!(matches!(t.closed(), Some(Error::Timeout { .. })));
    });
    let whole = || {
        let mut config = remote();
        config.timeouts.whole_command = Some(std::time::Duration::from_secs(1));
        config
    };
    each_split(whole, 2, |t| {
        t.greeting();
        let now = t.now;
        let id = t.session.noop(now).unwrap();
        t.client("EHLO localhost");
        t.advance(1000);
        assert_eq!(t.err(id), Error::Timeout { phase: Phase::Hello });
        assert!(matches!(t.closed(), Some(Error::Timeout { .. })));
    });
    each_split(remote, 2, |t| {
        t.greeting();
        let now = t.now;
        let id = t
            .session
            .send_mail(envelope("a@x.org", &["b@y.org"]), now)
            .unwrap();
        ehlo(t, &["PIPELINING"]);
        t.client("MAIL FROM:<a@x.org>\nRCPT TO:<b@y.org>\nDATA");
        t.server("250 ok\n250 ok\n354 go");
        t.body_ready(id);
        // The caller never sends the content: the data-block timeout fires.
        t.advance(3 * 60_000);
        assert_eq!(
            t.err(id),
            Error::Timeout {
                phase: Phase::DataBlock
            }
        );
        assert!(matches!(t.closed(), Some(Error::Timeout { .. })));
    });
}

#[test]
fn closed_connections_say_where_and_quit_without_221_is_fine() {
    each_split(remote, SPLITS, |t| {
        t.greeting();
        let now = t.now;
        let id = t
            .session
            .send_mail(envelope("a@x.org", &["b@y.org"]), now)
            .unwrap();
        ehlo(t, &["PIPELINING"]);
        t.client("MAIL FROM:<a@x.org>\nRCPT TO:<b@y.org>\nDATA");
        t.server("250 ok\n250 ok\n354 go");
        t.body_ready(id);
        t.session.send_body(id, b"half a message", now).unwrap();
        t.client_raw(b"half a message");
        t.session.handle_eof(now);
        let error = t.err(id);
        assert_eq!(
            error,
            Error::Closed {
                phase: Phase::DataBlock,
                mid_reply: false
            }
        );
        assert!(error.to_string().contains("not sent"));
        assert!(matches!(t.closed(), Some(Error::Closed { .. })));
    });
    each_split(remote, SPLITS, |t| {
        t.greeting();
        let now = t.now;
        let id = t.session.hello(None, now).unwrap();
        t.client("EHLO localhost");
        t.server_raw(b"250-mx.example.org\r\n250-PIPE");
        t.session.handle_eof(now);
        assert_eq!(
            t.err(id),
            Error::Closed {
                phase: Phase::Hello,
                mid_reply: true
            }
        );
        assert!(matches!(t.closed(), Some(Error::Closed { .. })));
    });
    each_split(remote, 2, |t| {
        t.greeting();
        let now = t.now;
        let hello = t.session.hello(None, now).unwrap();
        ehlo(t, &[]);
        t.ok(hello);
        let quit = t.session.quit(now).unwrap();
        t.client("QUIT");
        t.session.handle_eof(now);
        assert_eq!(t.ok(quit), Completion::Done);
        assert_eq!(t.closed(), None);
    });
}

#[test]
fn lmtp_reports_each_recipient_after_the_message() {
    let lmtp = || {
        let mut config = local();
        config.lmtp = true;
        config
    };
    each_split(lmtp, SPLITS, |t| {
        t.greeting();
        let now = t.now;
        let id = t
            .session
            .send_mail(
                envelope("a@x.org", &["b@y.org", "gone@y.org", "reject@y.org", "c@y.org"]),
                now,
            )
            .unwrap();
        t.session
            .send_body(id, b"Subject: lmtp\r\n\r\nhi\r\n", now)
            .unwrap();
        t.session.finish_body(id, now).unwrap();
        t.client("LHLO localhost");
        t.server("250-lmtp.example.org\n250-PIPELINING\n250 ENHANCEDSTATUSCODES");
        t.client("MAIL FROM:<a@x.org>\nRCPT TO:<b@y.org>\nRCPT TO:<gone@y.org>\nRCPT TO:<reject@y.org>\nRCPT TO:<c@y.org>\nDATA");
        t.server("250 2.1.0 ok\n250 2.1.5 ok\n550 5.1.1 no such user\n250 2.1.5 ok\n250 2.1.5 ok\n354 go");
        t.body_ready(id);
        t.client("Subject: lmtp\n\nhi\n.");
        t.server("250 2.0.0 <b@y.org> delivered\n552 5.2.2 <reject@y.org> mailbox full\n250 2.0.0 <c@y.org> delivered");
        match t.ok(id) {
            Completion::Transaction(report) => {
                assert_eq!(
                    report.accepted,
                    vec!["b@y.org".to_string(), "c@y.org".to_string()]
                );
                let rejected: Vec<_> = report
                    .rejected
                    .iter()
                    .map(|(r, e)| (r.as_str(), rejected_code(e).1))
                    .collect();
                assert_eq!(rejected, vec![("gone@y.org", 550), ("reject@y.org", 552)]);
            }
            other => panic!("{other:?}"),
        }
    });
    // LHLO has no HELO fallback.
    each_split(lmtp, 2, |t| {
        t.greeting();
        let now = t.now;
        let id = t.session.hello(None, now).unwrap();
        t.client("LHLO localhost");
        t.server("500 5.5.1 unknown command");
        assert_eq!(rejected_code(&t.err(id)), ("LHLO".into(), 500));
        t.client_silent();
    });
}

#[test]
fn lmtp_data_after_mail_and_rcpt_gives_per_recipient_results_also_with_bdat() {
    let lmtp = || {
        let mut config = local();
        config.lmtp = true;
        config
    };
    each_split(lmtp, SPLITS, |t| {
        t.greeting();
        let now = t.now;
        let mail = t.session.mail("a@x.org", &MailOptions::default(), now).unwrap();
        t.client("LHLO localhost");
        t.server("250-lmtp\n250-PIPELINING\n250 CHUNKING");
        t.client("MAIL FROM:<a@x.org>");
        t.server("250 ok");
        t.ok(mail);
        for to in ["b@y.org", "reject@y.org"] {
            let rcpt = t.session.rcpt(to, &RcptOptions::default(), now).unwrap();
            t.client(&format!("RCPT TO:<{to}>"));
            t.server("250 ok");
            t.ok(rcpt);
        }
        let data = t.session.data(now).unwrap();
        t.body_ready(data);
        t.session.send_body(data, b"x\n", now).unwrap();
        t.session.finish_body(data, now).unwrap();
        t.client_raw(b"BDAT 3 LAST\r\nx\r\n");
        t.server("250 2.0.0 b ok\n550 5.1.1 reject refused");
        match t.ok(data) {
            Completion::Recipients(results) => {
                assert_eq!(results.len(), 2);
                assert!(results[0].result.is_ok());
                assert_eq!(rejected_code(results[1].result.as_ref().unwrap_err()).1, 550);
            }
            other => panic!("{other:?}"),
        }
    });
}

#[test]
fn invalid_input_is_refused_with_zero_bytes_and_the_session_stays_usable() {
    each_split(remote, 2, |t| {
        t.greeting();
        let now = t.now;
        let cases: Vec<Result<smtp_wasm::CommandId, Error>> = vec![
            t.session.mail("a\r\nRSET@x.org", &MailOptions::default(), now),
            t.session.rcpt("b@y.org\nDATA", &RcptOptions::default(), now),
            t.session.verify("root\0", now),
            t.session.hello(Some("evil\r\nMAIL FROM:<x>"), now),
            t.session.send_mail(envelope("a@x.org", &["b@y.org\x7f"]), now),
            t.session.send_mail(envelope("a@x.org", &[]), now),
            t.session.mail(
                "a@x.org",
                &MailOptions {
                    envelope_id: Some("id\r\n".into()),
                    ..Default::default()
                },
                now,
            ),
            t.session.rcpt(
                "b@y.org",
                &RcptOptions {
                    original_recipient: Some("x\ry".into()),
                    ..Default::default()
                },
                now,
            ),
            t.session.rcpt(
                "b@y.org",
                &RcptOptions {
                    notify: Some(Notify::On {
                        success: false,
                        failure: false,
                        delay: false,
                    }),
                    ..Default::default()
                },
                now,
            ),
            t.session.mail("jörg@x.org", &MailOptions::default(), now),
            t.session.mail("a b@x.org", &MailOptions::default(), now),
            t.session.auth(password("alice", "se\ncret"), None, now),
        ];
        for (i, case) in cases.into_iter().enumerate() {
            assert!(matches!(case, Err(Error::InvalidInput(_))), "case {i}: {case:?}");
        }
        t.client_silent();
        t.no_event();
        let noop = t.session.noop(now).unwrap();
        ehlo(t, &[]);
        t.client("NOOP");
        t.server("250 ok");
        t.ok(noop);
    });
}

#[test]
fn options_the_server_did_not_advertise_fail_before_any_byte() {
    each_split(remote, 2, |t| {
        t.greeting();
        let now = t.now;
        let utf8 = MailOptions {
            smtp_utf8: true,
            ..Default::default()
        };
        let id = t.session.mail("jörg@x.org", &utf8, now).unwrap();
        ehlo(t, &["8BITMIME"]);
        assert_eq!(
            t.err(id),
            Error::ExtensionNotSupported {
                extension: "SMTPUTF8"
            }
        );
        t.client_silent();
        let mut dsn = envelope("a@x.org", &["b@y.org"]);
        dsn.rcpt_options.notify = Some(Notify::Never);
        let id = t.session.send_mail(dsn, now).unwrap();
        assert_eq!(t.err(id), Error::ExtensionNotSupported { extension: "DSN" });
        t.client_silent();
    });
}

#[test]
fn dsn_smtputf8_and_size_parameters_go_out_when_advertised() {
    each_split(remote, SPLITS, |t| {
        t.greeting();
        let now = t.now;
        let mut env = envelope("jörg@x.org", &["ünï@y.org"]);
        env.mail_options = MailOptions {
            size: Some(1234),
            smtp_utf8: true,
            ret: Some(smtp_wasm::DsnReturn::Headers),
            envelope_id: Some("QQ314159".into()),
            ..Default::default()
        };
        env.rcpt_options = RcptOptions {
            notify: Some(Notify::On {
                success: true,
                failure: true,
                delay: true,
            }),
            original_recipient: Some("ünï@y.org".into()),
            original_recipient_type: None,
        };
        let id = t.session.send_mail(env, now).unwrap();
        t.session.finish_body(id, now).unwrap();
        ehlo(t, &["PIPELINING", "SIZE 10000000", "DSN", "SMTPUTF8", "8BITMIME"]);
        t.client(
            "MAIL FROM:<jörg@x.org> SMTPUTF8 BODY=8BITMIME SIZE=1234 RET=HDRS ENVID=QQ314159\n\
             RCPT TO:<ünï@y.org> NOTIFY=SUCCESS,FAILURE,DELAY ORCPT=utf-8;\\x{FC}n\\x{EF}@y.org\nDATA",
        );
        t.server("250 ok\n250 ok\n354 go");
        t.body_ready(id);
        t.client(".");
        t.server("250 ok");
        t.ok(id);
    });
}

#[test]
fn a_continuation_line_with_another_code_is_a_protocol_error() {
    each_split(remote, SPLITS, |t| {
        t.greeting();
        let now = t.now;
        let id = t.session.hello(None, now).unwrap();
        t.client("EHLO localhost");
        t.server("250-mx.example.org\n251 PIPELINING");
        assert!(matches!(t.err(id), Error::Protocol(_)));
        assert!(matches!(t.closed(), Some(Error::Protocol(_))));
    });
}

/// A reply can only answer a command that was written: a server that answers before the command went out is out of
/// step, and keeping its reply for the next command (as this test used to require) shifts every later reply by one;
/// see `a_reply_to_no_command_is_a_protocol_error_not_the_next_commands_reply`.
#[test]
fn replies_that_arrive_before_their_command_are_a_protocol_error() {
    each_split(remote, SPLITS, |t| {
        t.server("220 mx ready\n250-mx.example.org\n250 PIPELINING");
        assert!(matches!(t.event(), Event::Greeting(_)));
        assert!(matches!(t.closed(), Some(Error::Protocol(_))));
        let now = t.now;
        assert!(t.session.hello(None, now).is_err());
        t.client_silent();
    });
}

#[test]
fn several_transactions_over_one_session_and_bare_lf_replies() {
    each_split(remote, SPLITS, |t| {
        t.server_raw(b"220 mx ready\n");
        assert!(matches!(t.event(), Event::Greeting(_)));
        let now = t.now;
        let first = t
            .session
            .send_mail(envelope("a@x.org", &["b@y.org"]), now)
            .unwrap();
        t.session.send_body(first, b"one", now).unwrap();
        t.session.finish_body(first, now).unwrap();
        let second = t
            .session
            .send_mail(envelope("a@x.org", &["c@y.org"]), now)
            .unwrap();
        t.session.send_body(second, b"two", now).unwrap();
        t.session.finish_body(second, now).unwrap();
        t.client("EHLO localhost");
        t.server_raw(b"250-mx\n250-PIPELINING\n250 CHUNKING\n");
        t.body_ready(first);
        t.client("MAIL FROM:<a@x.org>\nRCPT TO:<b@y.org>\nBDAT 5 LAST\none");
        // Once only the first message's final reply is outstanding, the second transaction goes out (RFC 2920).
        t.server_raw(b"250 ok\n250 ok\n250 queued 1\n");
        t.body_ready(second);
        t.ok(first);
        t.client("MAIL FROM:<a@x.org>\nRCPT TO:<c@y.org>\nBDAT 5 LAST\ntwo");
        t.server_raw(b"250 ok\n250 ok\n250 queued 2\n");
        t.ok(second);
    });
}

#[test]
fn queued_transactions_are_pipelined_after_the_final_dot() {
    // With DATA, the next MAIL/RCPT/DATA follow the end of the message in the same flight: one round trip per
    // message instead of two. A refused message does not disturb the next one.
    each_split(remote, SPLITS, |t| {
        t.greeting();
        let now = t.now;
        let ids: Vec<_> = ["b@y.org", "c@y.org", "d@y.org"]
            .iter()
            .map(|to| {
                let id = t.session.send_mail(envelope("a@x.org", &[to]), now).unwrap();
                t.session.send_body(id, to.as_bytes(), now).unwrap();
                t.session.finish_body(id, now).unwrap();
                id
            })
            .collect();
        let quit = t.session.quit(now).unwrap();
        ehlo(t, &["PIPELINING", "8BITMIME"]);
        t.client("MAIL FROM:<a@x.org> BODY=8BITMIME\nRCPT TO:<b@y.org>\nDATA");
        t.server("250 ok\n250 ok\n354 go");
        t.body_ready(ids[0]);
        t.client("b@y.org\n.\nMAIL FROM:<a@x.org> BODY=8BITMIME\nRCPT TO:<c@y.org>\nDATA");
        t.server("554 5.7.1 first refused\n250 ok\n250 ok\n354 go");
        assert_eq!(rejected_code(&t.err(ids[0])), ("DATA".into(), 554));
        t.body_ready(ids[1]);
        t.client("c@y.org\n.\nMAIL FROM:<a@x.org> BODY=8BITMIME\nRCPT TO:<d@y.org>\nDATA");
        t.server("250 queued 2\n250 ok\n250 ok\n354 go");
        t.ok(ids[1]);
        t.body_ready(ids[2]);
        // QUIT goes out with the last message's end too.
        t.client("d@y.org\n.\nQUIT");
        t.server("250 queued 3\n221 bye");
        t.ok(ids[2]);
        t.ok(quit);
        assert_eq!(t.closed(), None);
    });
}

#[test]
fn lmtp_per_recipient_replies_stay_in_order_when_transactions_overlap() {
    let lmtp = || {
        let mut config = local();
        config.lmtp = true;
        config
    };
    each_split(lmtp, SPLITS, |t| {
        t.greeting();
        let now = t.now;
        let first = t
            .session
            .send_mail(envelope("a@x.org", &["b@y.org", "c@y.org"]), now)
            .unwrap();
        t.session.finish_body(first, now).unwrap();
        let second = t
            .session
            .send_mail(envelope("a@x.org", &["d@y.org"]), now)
            .unwrap();
        t.session.finish_body(second, now).unwrap();
        t.client("LHLO localhost");
        t.server("250-lmtp\n250 PIPELINING");
        t.client("MAIL FROM:<a@x.org>\nRCPT TO:<b@y.org>\nRCPT TO:<c@y.org>\nDATA");
        t.server("250 ok\n250 ok\n250 ok\n354 go");
        t.body_ready(first);
        t.client(".\nMAIL FROM:<a@x.org>\nRCPT TO:<d@y.org>\nDATA");
        t.server("250 b delivered\n450 4.2.0 c busy\n250 ok\n250 ok\n354 go");
        let report = t.ok(first);
        t.body_ready(second);
        match report {
            Completion::Transaction(report) => {
                assert_eq!(report.accepted, vec!["b@y.org".to_string()]);
                assert_eq!(report.rejected[0].0, "c@y.org");
                assert!(report.rejected[0].1.is_temporary());
            }
            other => panic!("{other:?}"),
        }
        t.client(".");
        t.server("250 d delivered");
        t.ok(second);
    });
}

#[test]
fn send_body_for_an_unknown_operation_is_a_usage_error() {
    let mut t = T::new(SessionConfig::new("mx.example.org"), common::Split::Whole);
    let now = t.now;
    let noop = t.session.noop(now).unwrap();
    assert!(matches!(
        t.session.send_body(noop, b"x", now),
        Err(Error::Usage(_))
    ));
}

/// Found by the `session` fuzz target: a surplus reply (here a second 250 after 354) used to be kept and matched to
/// the next command the client wrote, so the stale 250 became the "reply" to the end of the message and the message
/// counted as sent before the server had seen it. A reply that answers no command now ends the session.
#[test]
fn a_reply_to_no_command_is_a_protocol_error_not_the_next_commands_reply() {
    each_split(remote, SPLITS, |t| {
        t.greeting();
        let now = t.now;
        let id = t
            .session
            .send_mail(envelope("a@x.org", &["b@y.org"]), now)
            .unwrap();
        ehlo(t, &["PIPELINING"]);
        t.client("MAIL FROM:<a@x.org>\nRCPT TO:<b@y.org>\nDATA");
        t.server("250 ok\n250 ok\n354 go\n250 2.0.0 queued as STALE");
        t.body_ready(id);
        let error = t.err(id);
        assert!(
            matches!(&error, Error::Protocol(message) if message.contains("not sent")),
            "{error:?}"
        );
        assert!(matches!(t.closed(), Some(Error::Protocol(_))));
        // The end of the message never went out: closing mid-DATA makes the server discard it.
        t.client_silent();
        assert!(t.session.finish_body(id, now).is_err());
        t.client_silent();
    });
    // While idle, too: a stray 250 would otherwise answer the next NOOP, and NOOP's own reply the command after it.
    each_split(remote, SPLITS, |t| {
        t.greeting();
        let now = t.now;
        let hello = t.session.hello(None, now).unwrap();
        ehlo(t, &[]);
        t.ok(hello);
        t.server("250 stray");
        assert!(matches!(t.closed(), Some(Error::Protocol(_))));
        assert!(t.session.noop(now).is_err());
        t.client_silent();
    });
}

/// Abandoning the content after the end of the message went out cannot un-send it: the operation completes with the
/// server's verdict instead of a false `Aborted` ("the message was not sent", which invites a duplicate on retry).
#[test]
fn abort_after_the_final_dot_went_out_reports_the_servers_verdict() {
    each_split(remote, SPLITS, |t| {
        t.greeting();
        let now = t.now;
        let id = t
            .session
            .send_mail(envelope("a@x.org", &["b@y.org"]), now)
            .unwrap();
        ehlo(t, &["PIPELINING"]);
        t.client("MAIL FROM:<a@x.org>\nRCPT TO:<b@y.org>\nDATA");
        t.server("250 ok\n250 ok\n354 go");
        t.body_ready(id);
        t.session.send_body(id, b"hello", now).unwrap();
        t.session.finish_body(id, now).unwrap();
        t.client("hello\n.");
        t.session.abort_body(id, "too late", now).unwrap();
        t.client_silent();
        t.server("250 2.0.0 queued");
        assert_eq!(reply_code(&t.ok(id)), 250);
    });
}

#[test]
fn a_refusal_that_comes_before_its_command_is_kept_for_it() {
    // A server that refuses the message while the client is still sending it: the refusal answers the final dot.
    each_split(remote, SPLITS, |t| {
        t.greeting();
        let now = t.now;
        let id = t
            .session
            .send_mail(envelope("a@x.org", &["b@y.org"]), now)
            .unwrap();
        ehlo(t, &["PIPELINING"]);
        t.client("MAIL FROM:<a@x.org>\nRCPT TO:<b@y.org>\nDATA");
        t.server("250 ok\n250 ok\n354 go");
        t.body_ready(id);
        t.session.send_body(id, b"first part\r\n", now).unwrap();
        t.server("552 5.3.4 Message size exceeds fixed limit");
        t.no_event();
        t.session.finish_body(id, now).unwrap();
        t.client("first part\n.");
        assert_eq!(rejected_code(&t.err(id)), ("DATA".into(), 552));
    });
}

/// Found by the `session` fuzz target: a refusal kept for the end of the message must not let a success that arrived
/// after it (and before the final dot) count as the reply to the end of the message.
#[test]
fn a_success_after_an_early_refusal_is_still_a_protocol_error() {
    let lmtp = || {
        let mut config = local();
        config.lmtp = true;
        config
    };
    each_split(lmtp, SPLITS, |t| {
        t.greeting();
        let now = t.now;
        let id = t
            .session
            .send_mail(envelope("a@x.org", &["b@y.org", "c@y.org"]), now)
            .unwrap();
        t.client("LHLO localhost");
        t.server("250-lmtp\n250 PIPELINING");
        t.client("MAIL FROM:<a@x.org>\nRCPT TO:<b@y.org>\nRCPT TO:<c@y.org>\nDATA");
        t.server("250 ok\n250 ok\n250 ok\n354 go");
        t.body_ready(id);
        t.server("550 5.1.1 no such user\n250 2.0.0 OK");
        assert!(matches!(t.err(id), Error::Protocol(_)));
        assert!(matches!(t.closed(), Some(Error::Protocol(_))));
        t.client_silent();
    });
}
