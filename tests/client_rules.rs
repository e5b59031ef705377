//! Regression tests for what outside checks found in the client (issue 13): deadlines over a whole reply, no HELO
//! when ESMTP is needed, the one command line limit, raw commands, the recipients of the open transaction and the
//! cleartext AUTH rule based on the connected address. Transcripts read like RFC examples.

mod common;

use std::time::Duration;

use common::{each_split, local, remote, Split, T, T0};
use smtp_wasm::{
    Completion, Credentials, Error, Field, InputErrorReason, MailOptions, Mechanism, Phase, RcptOptions,
    SessionConfig, Timestamp,
};

fn password() -> Credentials {
    Credentials::Password {
        username: "alice".into(),
        password: "secret".into(),
        identity: None,
    }
}

/// Feeds `bytes` one byte every `every` ms, at increasing times (the whole reply takes `bytes.len() * every`),
/// until the session ends.
fn trickle(t: &mut T, bytes: &[u8], every: u64) {
    for byte in bytes {
        if t.session.is_closed() {
            return;
        }
        t.now = Timestamp::from_unix_millis(t.now.as_unix_millis() + every);
        t.session.handle_timeout(t.now);
        t.server_raw(std::slice::from_ref(byte));
    }
}

fn short_timeouts() -> SessionConfig {
    let mut config = remote();
    config.timeouts.greeting = Duration::from_millis(1500);
    config.timeouts.command = Duration::from_millis(1500);
    config
}

#[test]
fn a_trickled_greeting_cannot_stretch_its_deadline() {
    let mut t = T::new(short_timeouts(), Split::Whole);
    // 30 bytes at 250 ms each: 7.5 s for a reply that must come within 1.5 s.
    trickle(&mut t, b"220 mx.example.org ESMTP ready", 250);
    assert_eq!(
        t.session.poll_timeout(),
        None,
        "the session is over, nothing is waited for"
    );
    assert_eq!(
        t.closed(),
        Some(Error::Timeout {
            phase: Phase::Greeting
        })
    );
    // The deadline came 1.5 s after the start, not 1.5 s after the last byte.
    assert!(t.now.as_unix_millis() - T0 < 2000);
}

#[test]
fn a_trickled_ehlo_reply_times_out_from_the_command_not_the_last_byte() {
    let mut t = T::new(short_timeouts(), Split::Whole);
    t.greeting();
    let now = t.now;
    let id = t.session.noop(now).unwrap();
    t.client("EHLO localhost");
    let started = t.now.as_unix_millis();
    trickle(
        &mut t,
        b"250-mx.example.org\r\n250-PIPELINING\r\n250 SIZE 100\r\n",
        250,
    );
    assert_eq!(t.err(id), Error::Timeout { phase: Phase::Hello });
    assert!(t.now.as_unix_millis() - started <= 1750);
    assert!(matches!(t.closed(), Some(Error::Timeout { .. })));
}

#[test]
fn each_reply_of_a_session_still_gets_its_own_wait() {
    // Replies that come in time, one after another, are each within the limit: the wait restarts per whole reply.
    let mut t = T::new(short_timeouts(), Split::Whole);
    t.now = Timestamp::from_unix_millis(T0 + 1400);
    t.greeting();
    let now = t.now;
    let id = t.session.noop(now).unwrap();
    t.client("EHLO localhost");
    t.now = Timestamp::from_unix_millis(T0 + 2800);
    t.server("250 mx.example.org");
    t.client("NOOP");
    t.now = Timestamp::from_unix_millis(T0 + 4200);
    t.session.handle_timeout(t.now);
    t.server("250 ok");
    t.ok(id);
}

#[test]
fn no_helo_when_required_starttls_needs_ehlo() {
    each_split(remote, 30, |t| {
        t.greeting();
        let now = t.now;
        let tls = t.session.start_tls(true, now).unwrap();
        let mail = t.session.mail("a@x.org", &MailOptions::default(), now).unwrap();
        let quit = t.session.quit(now).unwrap();
        t.client("EHLO localhost");
        t.server("502 5.5.1 EHLO not implemented");
        assert_eq!(t.err(tls), Error::StartTlsNotOffered);
        assert_eq!(t.err(mail), Error::StartTlsNotOffered);
        // No HELO, no MAIL: only the QUIT the caller asked for, without a hello in front of it.
        t.client("QUIT");
        t.server("221 bye");
        assert!(matches!(t.ok(quit), Completion::Reply(_)));
        assert_eq!(t.closed(), None);
    });
}

#[test]
fn no_helo_when_auth_needs_ehlo() {
    each_split(local, 30, |t| {
        t.greeting();
        let now = t.now;
        let auth = t.session.auth(password(), Some(Mechanism::Plain), now).unwrap();
        t.client("EHLO localhost");
        t.server("500 what?");
        match t.err(auth) {
            Error::AuthMechanismNotOffered { mechanism, offered } => {
                assert_eq!(mechanism.as_deref(), Some("PLAIN"));
                assert!(offered.is_empty());
            }
            other => panic!("{other:?}"),
        }
        t.client_silent();
        t.no_event();
    });
}

#[test]
fn opportunistic_starttls_still_falls_back_to_helo() {
    each_split(remote, 30, |t| {
        t.greeting();
        let now = t.now;
        let tls = t.session.start_tls(false, now).unwrap();
        t.client("EHLO localhost");
        t.server("502 no");
        t.client("HELO localhost");
        t.server("250 mx.example.org");
        assert_eq!(t.ok(tls), Completion::Done);
    });
}

#[test]
fn every_command_line_obeys_the_one_limit_with_zero_bytes_written() {
    each_split(remote, 2, |t| {
        t.greeting();
        let now = t.now;
        let long = "a".repeat(600);
        match t.session.verify(&long, now) {
            Err(Error::InvalidInput(input)) => {
                assert_eq!(input.field, Field::VrfyArgument);
                assert_eq!(
                    input.reason,
                    InputErrorReason::TooLong {
                        limit: 505,
                        actual: 600
                    }
                );
            }
            other => panic!("{other:?}"),
        }
        // Exactly at the limit: "VRFY " + 505 + CRLF = 512 octets.
        let fits = "b".repeat(505);
        assert!(t.session.verify(&fits, now).is_ok());
        match t.session.hello(Some(&"h".repeat(506)), now) {
            Err(Error::InvalidInput(input)) => assert_eq!(input.field, Field::LocalName),
            other => panic!("{other:?}"),
        }
        match t.session.command(&format!("XFOO {long}"), now) {
            Err(Error::InvalidInput(input)) => {
                assert_eq!(input.field, Field::CommandLine);
                assert!(matches!(
                    input.reason,
                    InputErrorReason::TooLong { limit: 510, .. }
                ));
            }
            other => panic!("{other:?}"),
        }
        t.client("EHLO localhost");
        t.server("250 mx.example.org");
        t.client(&format!("VRFY {fits}"));
    });
    let mut config = remote();
    config.local_name = "x".repeat(506);
    assert!(matches!(
        smtp_wasm::ClientSession::new(config, Timestamp::from_unix_millis(T0)),
        Err(Error::InvalidInput(_))
    ));
}

#[test]
fn raw_commands_return_the_reply_and_refuse_tracked_verbs() {
    each_split(remote, 40, |t| {
        t.greeting();
        let now = t.now;
        let help = t.session.command("HELP", now).unwrap();
        let expn = t.session.command("EXPN staff", now).unwrap();
        t.client("EHLO localhost");
        t.server("250 mx.example.org");
        t.client("HELP");
        t.server("214-Commands:\n214 HELO EHLO MAIL RCPT DATA");
        match t.ok(help) {
            Completion::Reply(reply) => assert_eq!(reply.code(), 214),
            other => panic!("{other:?}"),
        }
        t.client("EXPN staff");
        t.server("502 5.5.1 not here");
        // A refusal is the caller's to judge: go-smtp's Text gives the reply back.
        match t.ok(expn) {
            Completion::Reply(reply) => assert_eq!(reply.code(), 502),
            other => panic!("{other:?}"),
        }
        let now = t.now;
        for verb in [
            "DATA",
            "mail FROM:<a@b>",
            "STARTTLS",
            "auth plain",
            "QUIT",
            "RSET",
        ] {
            assert!(
                matches!(t.session.command(verb, now), Err(Error::Usage(_))),
                "{verb}"
            );
        }
        assert!(matches!(
            t.session.command("NOOP\r\nRSET", now),
            Err(Error::InvalidInput(_))
        ));
        assert!(matches!(t.session.command("", now), Err(Error::InvalidInput(_))));
        t.client_silent();
        let id = t.session.command("XFOO", now).unwrap();
        t.client("XFOO");
        t.server("421 4.3.2 shutting down");
        assert!(matches!(t.err(id), Error::Rejected(_)));
        assert!(matches!(t.closed(), Some(Error::Rejected(_))));
    });
}

#[test]
fn recipients_lists_the_accepted_ones_of_the_open_transaction() {
    each_split(remote, 30, |t| {
        t.greeting();
        assert!(t.session.recipients().is_empty());
        let now = t.now;
        let mail = t.session.mail("a@x.org", &MailOptions::default(), now).unwrap();
        let one = t.session.rcpt("b@y.org", &RcptOptions::default(), now).unwrap();
        let two = t.session.rcpt("c@y.org", &RcptOptions::default(), now).unwrap();
        let three = t.session.rcpt("d@y.org", &RcptOptions::default(), now).unwrap();
        t.client("EHLO localhost");
        t.server("250 mx.example.org");
        t.client("MAIL FROM:<a@x.org>");
        t.server("250 ok");
        t.ok(mail);
        t.client("RCPT TO:<b@y.org>");
        t.server("250 ok");
        t.ok(one);
        t.client("RCPT TO:<c@y.org>");
        t.server("550 no such user");
        t.err(two);
        t.client("RCPT TO:<d@y.org>");
        t.server("251 will forward");
        t.ok(three);
        assert_eq!(
            t.session.recipients(),
            ["b@y.org".to_string(), "d@y.org".to_string()]
        );
        let now = t.now;
        let rset = t.session.reset(now).unwrap();
        t.client("RSET");
        t.server("250 ok");
        t.ok(rset);
        assert!(t.session.recipients().is_empty());
    });
}

#[test]
fn cleartext_auth_depends_on_the_connected_address_not_the_name() {
    // The caller says "localhost", but the connection is not to a loopback address: refused, nothing written.
    let named_localhost = || {
        let mut config = SessionConfig::new("localhost");
        config.transcript = true;
        config
    };
    each_split(named_localhost, 2, |t| {
        t.greeting();
        let now = t.now;
        assert_eq!(t.session.auth(password(), None, now), Err(Error::InsecureAuth));
        t.client_silent();
    });
    // A remote name over a loopback connection (perhaps a tunnel to that remote host): refused as well.
    let tunnel = || {
        let mut config = remote();
        config.loopback_peer = true;
        config
    };
    each_split(tunnel, 2, |t| {
        t.greeting();
        let now = t.now;
        assert_eq!(t.session.auth(password(), None, now), Err(Error::InsecureAuth));
        t.client_silent();
    });
    // Named localhost and connected to a loopback address: allowed.
    each_split(local, 2, |t| {
        t.greeting();
        let now = t.now;
        let id = t.session.auth(password(), Some(Mechanism::Plain), now).unwrap();
        t.client("EHLO localhost");
        t.server("250-mx.example.org\n250 AUTH PLAIN");
        t.client("AUTH PLAIN AGFsaWNlAHNlY3JldA==");
        t.server("235 ok");
        t.ok(id);
    });
}

/// A session that started over TLS (implicit TLS), so AUTH may go to a remote name.
fn over_tls() -> SessionConfig {
    let mut config = remote();
    config.tls_at_start = true;
    config
}

#[test]
fn external_authenticates_with_what_tls_established() {
    each_split(over_tls, 40, |t| {
        t.greeting();
        let now = t.now;
        let id = t
            .session
            .auth(Credentials::External { identity: None }, None, now)
            .unwrap();
        t.client("EHLO localhost");
        t.server("250-mx.example.org\n250 AUTH PLAIN EXTERNAL");
        // RFC 4422 appendix A: an empty authorization identity is sent as "=".
        t.client("AUTH EXTERNAL =");
        t.server("235 2.7.0 certificate accepted");
        t.ok(id);
    });
    each_split(over_tls, 2, |t| {
        t.greeting();
        let now = t.now;
        let credentials = Credentials::External {
            identity: Some("bob".into()),
        };
        let id = t
            .session
            .auth(credentials, Some(Mechanism::External), now)
            .unwrap();
        t.client("EHLO localhost");
        t.server("250-mx.example.org\n250 AUTH EXTERNAL");
        t.client("AUTH EXTERNAL Ym9i");
        t.server("535 5.7.8 not you");
        assert!(matches!(t.err(id), Error::Rejected(_)));
    });
}

#[test]
fn a_caller_driven_mechanism_answers_each_challenge() {
    each_split(over_tls, 60, |t| {
        t.greeting();
        let now = t.now;
        let id = t
            .session
            .auth_custom("x-echo", Some(b"hello".to_vec()), now)
            .unwrap();
        t.client("EHLO localhost");
        t.server("250-mx.example.org\n250 AUTH X-ECHO PLAIN");
        t.client("AUTH X-ECHO aGVsbG8=");
        t.server("334 Y2hhbGxlbmdl");
        // The challenge goes to the caller, base64-decoded; nothing is written until it answers.
        match t.event() {
            smtp_wasm::Event::SaslChallenge { id: got, challenge } => {
                assert_eq!(got, id);
                assert_eq!(challenge, b"challenge");
            }
            other => panic!("{other:?}"),
        }
        t.client_silent();
        let now = t.now;
        t.session.sasl_respond(id, Some(b"response"), now).unwrap();
        t.client("cmVzcG9uc2U=");
        // Answering twice is a usage error.
        assert!(matches!(
            t.session.sasl_respond(id, Some(b"again"), now),
            Err(Error::Usage(_))
        ));
        t.server("235 ok");
        t.ok(id);
    });
    // The caller gives up: "*", and the server's reply ends the exchange with the caller's reason.
    each_split(over_tls, 2, |t| {
        t.greeting();
        let now = t.now;
        let id = t.session.auth_custom("X-ECHO", None, now).unwrap();
        t.client("EHLO localhost");
        t.server("250-mx.example.org\n250 AUTH X-ECHO");
        t.client("AUTH X-ECHO");
        t.server("334 ");
        assert!(matches!(t.event(), smtp_wasm::Event::SaslChallenge { .. }));
        let now = t.now;
        t.session.sasl_respond(id, None, now).unwrap();
        t.client("*");
        t.server("501 5.7.0 cancelled");
        match t.err(id) {
            Error::Protocol(why) => assert!(why.contains("gave up"), "{why}"),
            other => panic!("{other:?}"),
        }
    });
    // Not offered, a bad name, and cleartext to a remote name: refused before anything is written.
    each_split(over_tls, 2, |t| {
        t.greeting();
        let now = t.now;
        let id = t.session.auth_custom("SCRAM-SHA-256", None, now).unwrap();
        t.client("EHLO localhost");
        t.server("250-mx.example.org\n250 AUTH PLAIN");
        assert!(matches!(t.err(id), Error::AuthMechanismNotOffered { .. }));
        let now = t.now;
        assert!(matches!(
            t.session.auth_custom("BAD NAME", None, now),
            Err(Error::InvalidInput(_))
        ));
        t.client_silent();
    });
    each_split(remote, 2, |t| {
        t.greeting();
        let now = t.now;
        assert_eq!(
            t.session.auth_custom("X-ECHO", None, now),
            Err(Error::InsecureAuth)
        );
        t.client_silent();
    });
}

#[test]
#[should_panic(expected = "left events unread")]
fn the_harness_fails_a_scenario_that_leaves_events_unread() {
    let mut t = T::new(remote(), Split::Whole);
    // The greeting event is never taken.
    t.server("220 mx.example.org ESMTP");
}

#[test]
#[should_panic(expected = "left client bytes unchecked")]
fn the_harness_fails_a_scenario_that_leaves_bytes_unchecked() {
    let mut t = T::new(remote(), Split::Whole);
    t.greeting();
    let now = t.now;
    // EHLO goes out, and nobody checks it.
    let _ = t.session.noop(now).unwrap();
}
