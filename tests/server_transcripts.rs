//! Server transcript tests: each reads like an RFC example (`C:` what the client sends, `S:` what the server must
//! answer) and runs with the client's bytes whole, byte by byte, and split in two at every position. The cases of
//! go-smtp's `server_test.go` and `lmtp_server_test.go` are here (written anew), with Postfix's behaviour where it is
//! safer: SMTP smuggling, bare LF, STARTTLS with pipelined bytes, line and size limits.

mod server_common;

use std::time::Duration;

use server_common::{accept_all, config, config_with, each_split, remote, remote_tls, Backend, Split, H};
use smtp_wasm::{
    BareLf, CloseReason, Credentials, Decision, DeliverBy, DeliverByMode, DsnNotify, DsnRet, MailBody,
    MtPriorityProfile, PeerInfo, RequireRecipientValidSince, RrvsAction, ServerConfig, ServerReply,
    Timestamp, XclientAttribute,
};

const SPLITS: usize = 80;

const EHLO_PLAIN: &str = "\
250-mx.example.org Hello client.example
250-PIPELINING
250-8BITMIME
250-ENHANCEDSTATUSCODES
250-CHUNKING
250-SIZE 26214400
250 LIMITS RCPTMAX=100";

fn run(scenario: impl Fn(&mut H)) {
    each_split(config, remote, accept_all, SPLITS, scenario);
}

fn run_with(config: impl Fn() -> ServerConfig, backend: impl Fn() -> Backend, scenario: impl Fn(&mut H)) {
    each_split(config, remote, backend, SPLITS, scenario);
}

fn run_tls(config: impl Fn() -> ServerConfig, backend: impl Fn() -> Backend, scenario: impl Fn(&mut H)) {
    each_split(config, remote_tls, backend, SPLITS, scenario);
}

fn refuse(code: u16, enhanced: (u8, u16, u16), text: &str) -> Decision {
    Decision::reply(code, enhanced, text)
}

/// The greeting, then EHLO.
fn greet_ehlo(h: &mut H) {
    h.server("220 mx.example.org ESMTP Service Ready");
    h.client("EHLO client.example");
    h.discard();
}

#[test]
fn greeting_ehlo_and_the_small_commands() {
    run(|h| {
        h.server("220 mx.example.org ESMTP Service Ready");
        h.client("EHLO client.example");
        h.server(EHLO_PLAIN);
        assert_eq!(h.session.hello_name(), Some("client.example"));
        h.client("NOOP");
        h.server("250 2.0.0 I have successfully done nothing");
        h.client("VRFY root");
        h.server("252 2.5.0 Cannot VRFY user, but will accept message");
        h.client("HELP");
        h.server("214 2.0.0 Commands: HELO EHLO MAIL RCPT DATA BDAT RSET NOOP VRFY QUIT AUTH STARTTLS");
        h.client("EXPN staff");
        h.server("502 5.5.1 EXPN command not implemented");
        h.client("RSET");
        h.server("250 2.0.0 Session reset");
        h.client("QUIT");
        h.server("221 2.0.0 Bye");
        assert_eq!(h.closed, Some(CloseReason::Quit));
        assert!(h.session.is_closed());
        assert_eq!(
            h.log,
            ["Hello Ehlo client.example", "Reset", "Quit", "Closed Quit"]
        );
        // Nothing after the end is read.
        h.client("NOOP");
        h.silent();
    });
}

#[test]
fn helo_has_no_keywords() {
    run(|h| {
        h.server("220 mx.example.org ESMTP Service Ready");
        h.client("helo client.example");
        h.server("250 2.0.0 Hello client.example");
        h.client("HELO");
        h.server("501 5.5.2 Domain/address argument required for HELO");
    });
}

#[test]
fn ehlo_advertises_what_is_true() {
    let full = config_with(|c| {
        c.tls_available = true;
        c.enable_smtputf8 = true;
        c.enable_requiretls = true;
        c.enable_binarymime = true;
        c.enable_dsn = true;
        c.xclient_allowed = true;
        c.max_message_bytes = 0;
        c.max_recipients = 0;
    });
    // Cleartext: STARTTLS, no AUTH, no REQUIRETLS.
    run_with(full, accept_all, |h| {
        h.server("220 mx.example.org ESMTP Service Ready");
        h.client("EHLO client.example");
        h.server(
            "250-mx.example.org Hello client.example\n250-PIPELINING\n250-8BITMIME\n250-ENHANCEDSTATUSCODES\n\
             250-CHUNKING\n250-STARTTLS\n250-SMTPUTF8\n250-BINARYMIME\n250-DSN\n250-SIZE\n\
             250 XCLIENT ADDR PORT PROTO HELO LOGIN NAME DESTADDR DESTPORT",
        );
    });
    // Under TLS: AUTH and REQUIRETLS, no STARTTLS.
    run_tls(full, accept_all, |h| {
        h.server("220 mx.example.org ESMTP Service Ready");
        h.client("EHLO client.example");
        h.server(
            "250-mx.example.org Hello client.example\n250-PIPELINING\n250-8BITMIME\n250-ENHANCEDSTATUSCODES\n\
             250-CHUNKING\n250-AUTH PLAIN LOGIN\n250-SMTPUTF8\n250-REQUIRETLS\n250-BINARYMIME\n250-DSN\n250-SIZE\n\
             250 XCLIENT ADDR PORT PROTO HELO LOGIN NAME DESTADDR DESTPORT",
        );
    });
    // AUTH disabled: never offered.
    let disabled = config_with(|c| c.auth_disabled = true);
    run_tls(disabled, accept_all, |h| {
        h.server("220 mx.example.org ESMTP Service Ready");
        h.client("EHLO client.example");
        h.server(EHLO_PLAIN);
        h.client("AUTH PLAIN");
        h.server("502 5.5.1 Authentication not supported");
    });
}

#[test]
fn rrvs_deliverby_and_mt_priority() {
    // go-smtp's EnableRRVS, EnableDELIVERBY with MinimumDeliverByTime, EnableMTPRIORITY with a profile.
    let offered = config_with(|c| {
        c.enable_rrvs = true;
        c.enable_deliver_by = true;
        c.minimum_deliver_by_time = Duration::from_secs(60);
        c.enable_mt_priority = true;
        c.mt_priority_profile = Some(MtPriorityProfile::Mixer);
    });
    run_with(offered, accept_all, |h| {
        h.server("220 mx.example.org ESMTP Service Ready");
        h.client("EHLO client.example");
        h.server(
            "250-mx.example.org Hello client.example\n250-PIPELINING\n250-8BITMIME\n250-ENHANCEDSTATUSCODES\n\
             250-CHUNKING\n250-SIZE 26214400\n250-LIMITS RCPTMAX=100\n250-RRVS\n250-DELIVERBY 60\n\
             250 MT-PRIORITY MIXER",
        );
        // RFC 2852 section 5: a return-mode deadline under the advertised minimum is refused.
        h.client("MAIL FROM:<a@example.org> BY=30;R");
        h.server("501 5.5.4 BY parameter is below server minimum");
        h.client("MAIL FROM:<a@example.org> BY=3600;RT MT-PRIORITY=10");
        h.server("501 5.5.4 Malformed MT-PRIORITY parameter value");
        h.client("MAIL FROM:<a@example.org> BY=3600;RT MT-PRIORITY=-4");
        h.server("250 2.0.0 OK");
        assert_eq!(
            h.current.mail.deliver_by,
            Some(DeliverBy {
                seconds: 3600,
                mode: DeliverByMode::Return,
                trace: true,
            })
        );
        assert_eq!(h.current.mail.mt_priority, Some(-4));
        // RFC 7293 section 3.1's example; the action after the date is kept.
        h.client("RCPT TO:<b@example.org> RRVS=2014-04-03T23:01:00Z");
        h.server("250 2.0.0 I'll make sure <b@example.org> gets this");
        h.client("RCPT TO:<c@example.org> RRVS=2014-04-03T23:01:00Z;C");
        h.server("250 2.0.0 I'll make sure <c@example.org> gets this");
        h.client("RCPT TO:<d@example.org> RRVS=2014-04-03");
        h.server("501 5.5.4 Malformed RRVS parameter value");
        // Where go-smtp's client puts BY and MT-PRIORITY.
        h.client("RCPT TO:<e@example.org> BY=-10;N MT-PRIORITY=2");
        h.server("250 2.0.0 I'll make sure <e@example.org> gets this");
        let rcpt = &h.current.rcpt;
        let since = |action| {
            Some(RequireRecipientValidSince {
                unix_millis: 1_396_566_060_000,
                action,
            })
        };
        assert_eq!(rcpt[0].require_recipient_valid_since, since(None));
        assert_eq!(
            rcpt[1].require_recipient_valid_since,
            since(Some(RrvsAction::Continue))
        );
        assert_eq!(
            rcpt[2].deliver_by,
            Some(DeliverBy {
                seconds: -10,
                mode: DeliverByMode::Notify,
                trace: false,
            })
        );
        assert_eq!(rcpt[2].mt_priority, Some(2));
    });
    // Not offered (the default): each is an unknown parameter, as go-smtp answers them.
    run(|h| {
        greet_ehlo(h);
        h.client("MAIL FROM:<a@b> BY=120;R\nMAIL FROM:<a@b> MT-PRIORITY=1\nMAIL FROM:<a@b>\nRCPT TO:<c@d> RRVS=2014-04-03T23:01:00Z");
        h.server(
            "555 5.5.4 Unsupported or unrecognized parameter\n555 5.5.4 Unsupported or unrecognized parameter\n\
             250 2.0.0 OK\n555 5.5.4 Unsupported or unrecognized parameter",
        );
    });
}

#[test]
fn a_whole_transaction_with_dot_unstuffing() {
    // go-smtp TestServer.
    run(|h| {
        greet_ehlo(h);
        h.client("MAIL FROM:<root@nsa.gov>");
        h.server("250 2.0.0 OK");
        h.client("RCPT TO:<root@gchq.gov.uk>");
        h.server("250 2.0.0 I'll make sure <root@gchq.gov.uk> gets this");
        h.client("DATA");
        h.server("354 Go ahead. End your data with <CR><LF>.<CR><LF>");
        h.client_raw(b"From: root@nsa.gov\r\n\r\nHey\r <3\r\n..this dot is fine\r\n.\r\n");
        h.server("250 2.0.0 OK: queued");
        assert_eq!(h.messages.len(), 1);
        let m = &h.messages[0];
        assert_eq!(m.from, "root@nsa.gov");
        assert_eq!(m.to, ["root@gchq.gov.uk"]);
        assert_eq!(
            m.text(),
            "From: root@nsa.gov\r\n\r\nHey\r <3\r\n.this dot is fine\r\n"
        );
        // A second transaction on the same connection.
        h.client("MAIL FROM:<>\r\nRCPT TO:<postmaster>\r\nDATA");
        h.server("250 2.0.0 OK\n250 2.0.0 I'll make sure <postmaster> gets this\n354 Go ahead. End your data with <CR><LF>.<CR><LF>");
        h.client_raw(b"\r\n\r\n.\r\n");
        h.server("250 2.0.0 OK: queued");
        assert_eq!(h.messages[1].from, "");
        assert_eq!(h.messages[1].text(), "\r\n\r\n");
    });
}

#[test]
fn pipelined_replies_leave_together_in_order() {
    run_with(
        config,
        || Backend {
            rcpt: Some(Box::new(|to: &String| {
                if to.starts_with("nobody") {
                    refuse(550, (5, 1, 1), "no such user here")
                } else {
                    Decision::Accept
                }
            })),
            ..Default::default()
        },
        |h| {
            greet_ehlo(h);
            h.client_raw(
                b"MAIL FROM:<a@example.org>\r\nRCPT TO:<nobody@example.org>\r\nRCPT TO:<b@example.org>\r\nDATA\r\n\
                  Subject: hi\r\n\r\nbody\r\n.\r\nQUIT\r\n",
            );
            // Split runs see the flight in two reads: each read's replies leave when it is drained, in order.
            h.server(
                "250 2.0.0 OK\n550 5.1.1 no such user here\n250 2.0.0 I'll make sure <b@example.org> gets this\n\
                 354 Go ahead. End your data with <CR><LF>.<CR><LF>\n250 2.0.0 OK: queued\n221 2.0.0 Bye",
            );
            assert_eq!(h.messages.len(), 1);
            assert_eq!(h.messages[0].to, ["b@example.org"]);
            assert_eq!(h.messages[0].text(), "Subject: hi\r\n\r\nbody\r\n");
        },
    );
}

#[test]
fn replies_are_held_while_a_decision_is_pending() {
    let mut h = H::new(
        config(),
        remote(),
        Backend {
            manual: true,
            ..Default::default()
        },
        Split::Whole,
    );
    h.server("220 mx.example.org ESMTP Service Ready");
    h.client("EHLO c\nNOOP\nMAIL FROM:<a@b>\nRCPT TO:<c@d>\nNOOP");
    // The hello waits: nothing leaves, nothing after it is read.
    h.silent();
    assert!(!h.session.wants_input());
    assert_eq!(
        h.session.poll_timeout(),
        None,
        "no read timeout while the application decides"
    );
    assert_eq!(h.pending.len(), 1);
    let (hello, _) = h.pending.remove(0);
    assert!(h.session.accept(hello, h.now).is_ok());
    assert!(
        h.session.accept(hello, h.now).is_err(),
        "answered twice: an error, nothing changes"
    );
    h.drain();
    // EHLO's and NOOP's replies are held until MAIL is decided.
    h.silent();
    let (mail, name) = h.pending.remove(0);
    assert_eq!(name, "Mail <a@b>");
    h.session.accept(mail, h.now).unwrap();
    h.drain();
    h.silent();
    let (rcpt, _) = h.pending.remove(0);
    h.session
        .reject(rcpt, ServerReply::new(450, (4, 2, 0), "mailbox busy"), h.now)
        .unwrap();
    h.drain();
    let sent = {
        let mut expected = EHLO_PLAIN.replace("client.example", "c");
        expected
            .push_str("\n250 2.0.0 I have successfully done nothing\n250 2.0.0 OK\n450 4.2.0 mailbox busy\n");
        expected.push_str("250 2.0.0 I have successfully done nothing");
        expected
    };
    h.server(&sent);
    assert!(h.session.wants_input());
}

#[test]
fn smtp_smuggling_never_ends_the_message() {
    // https://www.postfix.org/smtp-smuggling.html: each attack would end the message and start a second one on a
    // lenient server. Here the "second message" is content, the bare LFs become CRLF, and a dot at a line start is
    // removed, so the application never sees a line that is only ".".
    let attacks: [(&[u8], &str); 5] = [
        (
            b"<LF>.<LF>\r\n\n.\nMAIL FROM:<evil@x>\r\n",
            "<LF>.<LF>\r\n\r\n\r\nMAIL FROM:<evil@x>\r\n",
        ),
        (
            b"<CR>.<CR>\r\n\r.\rMAIL FROM:<evil@x>\r\n",
            "<CR>.<CR>\r\n\r.\rMAIL FROM:<evil@x>\r\n",
        ),
        (
            b"<LF>.<CR><LF>\n.\r\nMAIL FROM:<evil@x>\r\n",
            "<LF>.<CR><LF>\r\n\r\nMAIL FROM:<evil@x>\r\n",
        ),
        (
            b"<CR><LF>.<LF>\r\n.\nMAIL FROM:<evil@x>\r\n",
            "<CR><LF>.<LF>\r\n\r\nMAIL FROM:<evil@x>\r\n",
        ),
        (
            b"<CR><LF>.<CR>\r\n.\rMAIL FROM:<evil@x>\r\n",
            "<CR><LF>.<CR>\r\n\rMAIL FROM:<evil@x>\r\n",
        ),
    ];
    for (attack, content) in attacks {
        run(|h| {
            greet_ehlo(h);
            h.client("MAIL FROM:<a@example.org>\nRCPT TO:<b@example.org>\nDATA");
            h.discard();
            h.client_raw(attack);
            h.silent();
            assert!(h.messages.is_empty(), "the attack ended the message");
            h.client_raw(b"RCPT TO:<victim@example.org>\r\n.\r\n");
            h.server("250 2.0.0 OK: queued");
            assert_eq!(h.messages.len(), 1);
            assert_eq!(
                h.messages[0].text(),
                format!("{content}RCPT TO:<victim@example.org>\r\n")
            );
            assert_eq!(h.log.iter().filter(|l| l.starts_with("Mail")).count(), 1);
        });
    }
}

#[test]
fn go_smtp_smuggling_cases() {
    // go-smtp TestServer_smtpSmuggling and TestServer_LFDotLF, with Postfix's normalisation.
    let cases: [(&[u8], &str); 3] = [
        (
            b"This is a message with an SMTP smuggling dot:\r\n.\nFinal dot comes after.\r\n.\r\n",
            "This is a message with an SMTP smuggling dot:\r\n\r\nFinal dot comes after.\r\n",
        ),
        (
            b"This is a message with an SMTP smuggling dot:\n.\r\nFinal dot comes after.\r\n.\r\n",
            "This is a message with an SMTP smuggling dot:\r\n\r\nFinal dot comes after.\r\n",
        ),
        (
            b"From: root@nsa.gov\r\n\r\nhey\r\n\n.\nthis is going to break your server\r\n.\r\n",
            "From: root@nsa.gov\r\n\r\nhey\r\n\r\n\r\nthis is going to break your server\r\n",
        ),
    ];
    for (input, expected) in cases {
        run(|h| {
            greet_ehlo(h);
            h.client("MAIL FROM:<root@nsa.gov>\nRCPT TO:<root@gchq.gov.uk>\nDATA");
            h.discard();
            h.client_raw(input);
            h.server("250 2.0.0 OK: queued");
            assert_eq!(h.messages[0].text(), expected);
        });
    }
}

#[test]
fn bare_lf_can_be_refused() {
    let reject = config_with(|c| c.bare_lf = BareLf::Reject);
    run_with(reject, accept_all, |h| {
        greet_ehlo(h);
        h.client("MAIL FROM:<a@b>\nRCPT TO:<c@d>\nDATA");
        h.discard();
        h.client_raw(b"line one\nline two\r\n.\r\n");
        h.server("550 5.5.2 Error: bare <LF> received");
        assert!(h.messages.is_empty());
        assert!(h.log.contains(&"MessageAborted BareLf".to_string()));
        // The transaction is over; a command line ending in bare LF is refused too.
        h.client_raw(b"NOOP\n");
        h.server("550 5.5.2 Error: bare <LF> received");
        h.client("RCPT TO:<c@d>");
        h.server("503 5.5.1 Missing MAIL FROM command.");
    });
}

#[test]
fn message_size_limits() {
    let small = config_with(|c| c.max_message_bytes = 50);
    run_with(small, accept_all, |h| {
        greet_ehlo(h);
        // SIZE= over the limit at MAIL (go-smtp TestServerTooBig).
        h.client("MAIL FROM:<a@b> SIZE=51");
        h.server("552 5.3.4 Max message size exceeded");
        h.client("MAIL FROM:<a@b> SIZE=rabbit");
        h.server("501 5.5.4 Unable to parse SIZE as an integer");
        // Over the limit in the content: read to the end, then 552 (go-smtp TestServer_tooLongMessage).
        h.client("MAIL FROM:<a@b> SIZE=50\nRCPT TO:<c@d>\nDATA");
        h.discard();
        h.client(
            "This is a very long message.\nMuch longer than you can possibly imagine.\n\
             And much longer than the server's MaxMessageBytes.\n.",
        );
        h.server("552 5.3.4 Max message size exceeded");
        assert!(h.messages.is_empty());
        assert!(h.log.contains(&"MessageAborted TooBig".to_string()));
        h.client("NOOP");
        h.server("250 2.0.0 I have successfully done nothing");
    });
}

#[test]
fn long_lines_are_refused_and_never_parsed() {
    run(|h| {
        greet_ehlo(h);
        // go-smtp TestServer_TooLongCommand: the tail of the line ("RSET") is not a command.
        let mut line = b"MAIL FROM:<".to_vec();
        line.extend([b'a'; 2100]);
        line.extend_from_slice(b">\r\nRSET\r\n");
        h.client_raw(&line);
        h.server("500 5.4.0 Error: line too long\n250 2.0.0 Session reset");
        let mut line = b"NOOP ".to_vec();
        line.extend([b'x'; 2000]);
        line.extend_from_slice(b" QUIT\r\nNOOP\r\n");
        h.client_raw(&line);
        h.server("500 5.4.0 Error: line too long\n250 2.0.0 I have successfully done nothing");
        assert!(!h.session.is_closed());
    });
}

#[test]
fn too_many_errors_close_the_connection() {
    // go-smtp TestServer_tooManyInvalidCommands.
    run(|h| {
        greet_ehlo(h);
        h.client("XXXX\nXXXX\n\nXXXX\nNOOP");
        h.server(
            "500 5.5.2 Syntax errors, XXXX command unrecognized\n500 5.5.2 Syntax errors, XXXX command unrecognized\n\
             500 5.5.2 Error: bad syntax\n500 5.5.2 Syntax errors, XXXX command unrecognized\n\
             500 5.5.1 Too many errors. Quiting now",
        );
        assert_eq!(h.closed, Some(CloseReason::TooManyErrors));
    });
}

#[test]
fn junk_commands_and_recipient_overshoot_count_as_errors_past_postfix_limits() {
    // Postfix's smtpd_junk_command_limit and smtpd_recipient_overshoot_limit (small here): a client cannot hold the
    // connection with NOOP/VRFY/HELP/RSET, or with RCPTs past the limit, for ever.
    let limits = config_with(|c| {
        c.junk_command_limit = 2;
        c.recipient_overshoot_limit = 1;
        c.max_recipients = 1;
        c.max_errors = 2;
    });
    run_with(limits, accept_all, |h| {
        greet_ehlo(h);
        // The third junk command is the first error (answered as usual).
        h.client("NOOP\nVRFY x\nHELP");
        h.server_prefixes(&["250 2.0.0", "252 2.5.0", "214 2.0.0"]);
        // The second RCPT over the limit is the second error.
        h.client("MAIL FROM:<a@b>\nRCPT TO:<c@d>\nRCPT TO:<e@f>\nRCPT TO:<g@h>\nDATA");
        h.server_prefixes(&["250 2.0.0", "250 2.0.0", "452 4.5.3", "452 4.5.3", "354"]);
        // A message accepted forgives the junk commands (Postfix), not the errors: the third junk command after it
        // is the third error, one too many.
        h.client("x\n.");
        h.server("250 2.0.0 OK: queued");
        h.client("RSET\nNOOP\nNOOP");
        h.server_prefixes(&["250 2.0.0", "250 2.0.0", "250 2.0.0", "500 5.5.1 Too many errors"]);
        assert_eq!(h.closed, Some(CloseReason::TooManyErrors));
    });
    // The defaults (100 junk commands) leave a normal session alone.
    run(|h| {
        greet_ehlo(h);
        h.client("NOOP\n".repeat(100).trim_end());
        assert!(!h.session.is_closed());
    });
}

#[test]
fn envelope_syntax_and_sequence() {
    run(|h| {
        h.server("220 mx.example.org ESMTP Service Ready");
        h.client("MAIL FROM:<a@b>");
        h.server("502 5.5.1 Please introduce yourself first.");
        h.client("EHLO client.example");
        h.discard();
        h.client("RCPT TO:<c@d>");
        h.server("503 5.5.1 Missing MAIL FROM command.");
        h.client("DATA");
        h.server("503 5.5.1 Missing MAIL FROM command.");
        // go-smtp TestServerEmptyFrom1 / 2.
        h.client("MAIL FROM:");
        h.server("501 5.5.2 Was expecting MAIL arg syntax of FROM:<address>");
        h.client("MAIL TO:<a@b>");
        h.server("501 5.5.2 Was expecting MAIL arg syntax of FROM:<address>");
        // Lenient by default: a space after the colon, no brackets (go-smtp TestServer_anonymousUserOK).
        h.client("MAIL FROM: root@nsa.gov");
        h.server("250 2.0.0 OK");
        h.client("MAIL FROM:<a@b>");
        h.server("503 5.5.1 Error: nested MAIL command");
        h.client("RCPT TO:");
        h.server("501 5.5.2 Was expecting RCPT arg syntax of TO:<address>");
        h.client("RCPT TO:<a b@c>");
        h.server("553 5.1.3 Bad recipient address syntax");
        h.client("DATA");
        h.server("554 5.5.1 Error: no valid recipients");
        h.client("DATA x");
        h.server("501 5.5.4 DATA command should not have any arguments");
        h.client("MAIL FROM:<a@b> RABIIT\nMAIL FROM:<a@b> BODY=RABIIT\nMAIL FROM:<a@b> SMTPUTF8");
        h.server("503 5.5.1 Error: nested MAIL command\n503 5.5.1 Error: nested MAIL command\n503 5.5.1 Error: nested MAIL command");
        h.client("RSET\nMAIL FROM:<a@b> RABIIT\nMAIL FROM:<a@b> BODY=RABIIT\nMAIL FROM:<a@b> SMTPUTF8");
        h.server(
            "250 2.0.0 Session reset\n555 5.5.4 Unsupported or unrecognized parameter\n501 5.5.4 Unknown BODY value\n\
             555 5.5.4 Unsupported or unrecognized parameter",
        );
        h.client("MAIL FROM:<a@b> BODY=8bitMIME");
        h.server("250 2.0.0 OK");
        assert_eq!(h.current.mail.body, Some(MailBody::EightBitMime));
    });
    let strict = config_with(|c| c.strict = true);
    run_with(strict, accept_all, |h| {
        greet_ehlo(h);
        h.client("MAIL FROM: <a@b>\nMAIL FROM:a@b\nMAIL FROM:<a@b>");
        h.server(
            "501 5.5.2 Was expecting MAIL arg syntax of FROM:<address>\n\
             501 5.5.2 Was expecting MAIL arg syntax of FROM:<address>\n250 2.0.0 OK",
        );
    });
}

#[test]
fn recipient_limit() {
    let two = config_with(|c| c.max_recipients = 2);
    run_with(two, accept_all, |h| {
        greet_ehlo(h);
        h.client("MAIL FROM:<a@b>\nRCPT TO:<1@x>\nRCPT TO:<2@x>\nRCPT TO:<3@x>");
        h.server_prefixes(&[
            "250 ",
            "250 ",
            "250 ",
            "452 4.5.3 Maximum limit of 2 recipients reached",
        ]);
    });
}

#[test]
fn smtputf8_and_dsn_parameters() {
    let utf8 = config_with(|c| {
        c.enable_smtputf8 = true;
        c.enable_dsn = true;
    });
    run_with(utf8, accept_all, |h| {
        greet_ehlo(h);
        h.client("MAIL FROM:<j\u{f6}rg@example.org>");
        h.server("553 5.6.7 Non-ASCII addresses require SMTPUTF8");
        // go-smtp TestServerDSNwithSMTPUTF8.
        h.client("MAIL FROM:<e=mc2@example.com> ENVID=e+3Dmc2 RET=HDRS SMTPUTF8");
        h.server("250 2.0.0 OK");
        assert_eq!(h.current.mail.envelope_id.as_deref(), Some("e=mc2"));
        assert_eq!(h.current.mail.ret, Some(DsnRet::Headers));
        assert!(h.current.mail.utf8);
        h.client("RCPT TO:<e=mc2@example.com> ORCPT=RFC822;e+3Dmc2@example.com NOTIFY=NEVER");
        h.server_prefixes(&["250 2.0.0"]);
        h.client(
            "RCPT TO:<e=mc2@\u{30c9}\u{30e1}\u{30a4}\u{30f3}\u{540d}\u{4f8b}.jp> \
             ORCPT=UTF-8;e\\x{3D}mc2@\\x{30C9}\\x{30E1}\\x{30A4}\\x{30F3}\\x{540D}\\x{4F8B}.jp NOTIFY=FAILURE,DELAY",
        );
        h.server_prefixes(&["250 2.0.0"]);
        h.client("RCPT TO:<x@y> NOTIFY=NEVER,DELAY");
        h.server("501 5.5.4 Malformed NOTIFY parameter value");
        let rcpt = &h.current.rcpt;
        assert_eq!(rcpt[0].original_recipient.as_deref(), Some("e=mc2@example.com"));
        assert_eq!(
            rcpt[0].notify,
            Some(DsnNotify {
                never: true,
                ..Default::default()
            })
        );
        assert_eq!(rcpt[1].original_recipient_type.as_deref(), Some("UTF-8"));
        assert_eq!(
            rcpt[1].original_recipient.as_deref(),
            Some("e=mc2@\u{30c9}\u{30e1}\u{30a4}\u{30f3}\u{540d}\u{4f8b}.jp")
        );
        assert_eq!(h.current.to.len(), 2);
    });
    // Without DSN and SMTPUTF8 offered, their parameters are unknown.
    run(|h| {
        greet_ehlo(h);
        h.client("MAIL FROM:<a@b> SMTPUTF8\nMAIL FROM:<a@b> RET=FULL\nMAIL FROM:<a@b> AUTH=<hey+A>\nMAIL FROM:<a@b> AUTH=hey+3Da@example.com");
        h.server(
            "555 5.5.4 Unsupported or unrecognized parameter\n555 5.5.4 Unsupported or unrecognized parameter\n\
             501 5.5.4 Malformed AUTH parameter value\n250 2.0.0 OK",
        );
        assert_eq!(h.current.mail.auth.as_deref(), Some("hey=a@example.com"));
    });
}

fn b64(raw: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(raw)
}

#[test]
fn auth_flows_under_tls() {
    let backend = || Backend {
        auth: Some(Box::new(|c: &Credentials| match c {
            Credentials::Password {
                username, password, ..
            } if username == "username" && password == "password" => Decision::Accept,
            _ => refuse(535, (5, 7, 8), "Authentication credentials invalid"),
        })),
        ..Default::default()
    };
    run_tls(config, backend, |h| {
        greet_ehlo(h);
        // go-smtp TestServerCancelSASL, and bad base64.
        h.client("AUTH PLAIN");
        h.server("334 ");
        h.client("*");
        h.server("501 5.0.0 Negotiation cancelled");
        h.client("AUTH PLAIN !!!");
        h.server("501 5.5.2 Invalid base64 data or malformed credentials");
        h.client("AUTH CRAM-MD5");
        h.server("504 5.5.4 Unsupported authentication mechanism");
        // A name with a control character never reaches the application, which logs it and writes it into the
        // Received header: an ESC sequence (terminal), a tab, a C1 CSI (SASLprep prohibits them all).
        h.client(&format!("AUTH PLAIN {}", b64("\0\x1b[2Jeve\0password")));
        h.server("501 5.5.2 Invalid base64 data or malformed credentials");
        h.client(&format!("AUTH PLAIN {}", b64("ad\tmin\0username\0password")));
        h.server("501 5.5.2 Invalid base64 data or malformed credentials");
        h.client("AUTH LOGIN");
        h.server("334 VXNlcm5hbWU6");
        h.client(&b64("user\u{9b}31mname"));
        h.server("501 5.5.2 Invalid base64 data or malformed credentials");
        assert!(h.auths.is_empty());
        // LOGIN with a wrong password.
        h.client("AUTH LOGIN");
        h.server("334 VXNlcm5hbWU6");
        h.client(&b64("username"));
        h.server("334 UGFzc3dvcmQ6");
        h.client(&b64("wrong"));
        h.server("535 5.7.8 Authentication credentials invalid");
        // PLAIN with an initial response (go-smtp TestServerAuthTwice).
        h.client("AUTH PLAIN AHVzZXJuYW1lAHBhc3N3b3Jk");
        h.server("235 2.0.0 Authentication succeeded");
        assert_eq!(h.session.authenticated(), Some("username"));
        h.client("AUTH PLAIN AHVzZXJuYW1lAHBhc3N3b3Jk\nRSET\nAUTH PLAIN AHVzZXJuYW1lAHBhc3N3b3Jk");
        h.server("503 5.5.1 Already authenticated\n250 2.0.0 Session reset\n503 5.5.1 Already authenticated");
        assert_eq!(h.auths.len(), 2);
    });
}

#[test]
fn auth_in_cleartext_only_when_allowed() {
    run(|h| {
        greet_ehlo(h);
        h.client("AUTH PLAIN AHVzZXJuYW1lAHBhc3N3b3Jk");
        h.server("523 5.7.10 TLS is required");
        assert!(h.auths.is_empty());
    });
    // SecureNet: the peer is inside a trusted network.
    let secure = config_with(|c| {
        c.secure_nets = vec!["192.0.2.0/24".into(), "::1/128".into()];
        c.transcript = true;
    });
    run_with(secure, accept_all, |h| {
        h.server("220 mx.example.org ESMTP Service Ready");
        h.client("EHLO client.example");
        h.server(&EHLO_PLAIN.replace("250-SIZE", "250-AUTH PLAIN LOGIN\n250-SIZE"));
        h.client(&format!("AUTH PLAIN {}", b64("\0bob\0secret")));
        h.server("235 2.0.0 Authentication succeeded");
        // The transcript never shows credentials.
        let transcript = h.transcript.join("\n");
        assert!(transcript.contains("C: AUTH PLAIN <redacted>"), "{transcript}");
        assert!(!transcript.contains(&b64("\0bob\0secret")), "{transcript}");
        // A client that sends its credentials after a refused AUTH (here: already authenticated, pipelined): that
        // line is neither logged nor echoed in the reply; a known command after a refused AUTH is logged as usual.
        h.client(&format!("AUTH PLAIN\n{}\nAUTH LOGIN\nNOOP", b64("\0bob\0secret")));
        h.server(
            "503 5.5.1 Already authenticated\n500 5.5.2 Error: command unrecognized\n\
             503 5.5.1 Already authenticated\n250 2.0.0 I have successfully done nothing",
        );
        let transcript = h.transcript.join("\n");
        assert!(!transcript.contains(&b64("\0bob\0secret")[..12]), "{transcript}");
        assert!(
            transcript.contains("C: <redacted>") && transcript.contains("C: NOOP"),
            "{transcript}"
        );
    });
    let insecure = config_with(|c| {
        c.allow_insecure_auth = true;
        c.auth_mechanisms.push(smtp_wasm::Mechanism::XOAuth2);
    });
    run_with(insecure, accept_all, |h| {
        greet_ehlo(h);
        h.client(&format!(
            "AUTH XOAUTH2 {}",
            b64("user=bob@x\x01auth=Bearer tok\x01\x01")
        ));
        h.server("235 2.0.0 Authentication succeeded");
        assert_eq!(
            h.auths,
            [Credentials::OAuth {
                username: "bob@x".into(),
                access_token: "tok".into()
            }]
        );
        h.client("MAIL FROM:<a@b>\nAUTH PLAIN");
        h.server("250 2.0.0 OK\n503 5.5.1 Already authenticated");
    });
}

#[test]
fn starttls_discards_pipelined_bytes_and_forgets_the_hello() {
    let tls = config_with(|c| c.tls_available = true);
    run_with(tls, accept_all, |h| {
        greet_ehlo(h);
        h.client("MAIL FROM:<a@b>");
        h.server("250 2.0.0 OK");
        // CVE-2011-0411: the MAIL after STARTTLS was sent in cleartext and must never run.
        h.client("STARTTLS\nMAIL FROM:<evil@example.org>\nRCPT TO:<victim@example.org>");
        h.server("220 2.0.0 Ready to start TLS");
        assert!(h.start_tls);
        assert!(!h.session.wants_input());
        assert!(!h.log.iter().any(|l| l.contains("evil")), "{:?}", h.log);
        assert!(
            h.log.ends_with(&["Reset".to_string(), "StartTls".to_string()]),
            "{:?}",
            h.log
        );
        h.session.handle_tls_established(h.now);
        assert!(h.session.is_tls());
        h.client("MAIL FROM:<a@b>");
        h.server("502 5.5.1 Please introduce yourself first.");
        h.client("EHLO client.example\nSTARTTLS");
        h.server(&format!(
            "{}\n502 5.5.1 Already running in TLS",
            EHLO_PLAIN.replace("250-SIZE", "250-AUTH PLAIN LOGIN\n250-SIZE")
        ));
    });
    run(|h| {
        greet_ehlo(h);
        h.client("STARTTLS");
        h.server("502 5.5.1 TLS not supported");
    });
}

#[test]
fn xclient_changes_the_peer_and_greets_again() {
    run(|h| {
        greet_ehlo(h);
        h.client("XCLIENT ADDR=192.0.2.99");
        h.server("550 5.7.0 Error: insufficient authorization");
    });
    let allowed = config_with(|c| {
        c.xclient_allowed = true;
        c.secure_nets = vec!["10.0.0.0/8".into()];
    });
    run_with(allowed, accept_all, |h| {
        greet_ehlo(h);
        h.client("XCLIENT NAME=spike.porcupine.org ADDR=10.0.0.7 PORT=4711 LOGIN=[UNAVAILABLE] HELO=x+2By");
        h.server("220 mx.example.org ESMTP Service Ready");
        let peer = h.session.peer().clone();
        assert_eq!(peer.remote_ip, Some("10.0.0.7".parse().unwrap()));
        assert_eq!(peer.remote_port, Some(4711));
        assert_eq!(peer.name.as_deref(), Some("spike.porcupine.org"));
        assert_eq!(peer.helo.as_deref(), Some("x+y"));
        assert_eq!(peer.login, None);
        assert_eq!(h.session.original_peer(), &remote());
        // The hello is forgotten; the asserted address is in the secure net, so AUTH is offered in cleartext now.
        h.client("MAIL FROM:<a@b>\nEHLO proxied.example");
        h.server(&format!(
            "502 5.5.1 Please introduce yourself first.\n{}",
            EHLO_PLAIN
                .replace("client.example", "proxied.example")
                .replace("250-SIZE", "250-AUTH PLAIN LOGIN\n250-SIZE")
                .replace(
                    "250 LIMITS RCPTMAX=100",
                    "250-LIMITS RCPTMAX=100\n250 XCLIENT ADDR PORT PROTO HELO LOGIN NAME DESTADDR DESTPORT"
                )
        ));
        h.client("XCLIENT FOO=bar\nXCLIENT ADDR=not-an-ip\nXCLIENT NAME=a+0D+0Ab\nXCLIENT\nXCLIENT ADDR=IPV6:2001:db8::1 LOGIN=bob");
        h.server(
            "501 5.5.4 Bad XCLIENT attribute name: FOO\n501 5.5.4 Bad XCLIENT ADDR syntax\n\
             501 5.5.4 Bad XCLIENT NAME syntax\n\
             501 5.5.4 Syntax: XCLIENT attribute=value...\n220 mx.example.org ESMTP Service Ready",
        );
        assert_eq!(h.session.peer().remote_ip, Some("2001:db8::1".parse().unwrap()));
        assert_eq!(h.session.authenticated(), Some("bob"));
    });
    let refused = || Backend {
        xclient: Some(Box::new(|_: &Vec<(XclientAttribute, Option<String>)>| {
            refuse(550, (5, 7, 0), "Error: insufficient authorization")
        })),
        ..Default::default()
    };
    let allowed_only = config_with(|c| c.xclient_allowed = true);
    run_with(allowed_only, refused, |h| {
        greet_ehlo(h);
        h.client("XCLIENT ADDR=192.0.2.99\nNOOP");
        h.server("550 5.7.0 Error: insufficient authorization\n250 2.0.0 I have successfully done nothing");
        assert_eq!(h.session.peer(), &remote());
    });
}

#[test]
fn bdat_chunks_are_counted_exactly() {
    // go-smtp TestServer_Chunking: the chunk bytes are content even when they look like commands.
    run(|h| {
        greet_ehlo(h);
        h.client("MAIL FROM:<root@nsa.gov>\nRCPT TO:<root@gchq.gov.uk>");
        h.server_prefixes(&["250 ", "250 "]);
        h.client_raw(b"BDAT 8\r\nHey <3\r\n");
        h.server("250 2.0.0 Continue");
        h.client_raw(b"BDAT 15 LAST\r\nQUIT\r\n.\r\nRSET\r\n");
        h.server("250 2.0.0 OK: queued");
        assert_eq!(h.messages[0].text(), "Hey <3\r\nQUIT\r\n.\r\nRSET\r\n");
        assert!(h.log.contains(&"MessageStart bdat=true".to_string()));
        h.client_raw(b"BDAT 0 LAST\r\n");
        h.server("503 5.5.1 Missing MAIL FROM command.");
    });
}

#[test]
fn refused_bdat_chunks_are_still_consumed() {
    let small = config_with(|c| {
        c.max_message_bytes = 40;
        c.enable_binarymime = true;
    });
    run_with(small, accept_all, |h| {
        greet_ehlo(h);
        // No transaction: the chunk (which looks like commands) is consumed, not run.
        h.client_raw(b"BDAT 12\r\nQUIT\r\nRSET\r\nNOOP\r\n");
        h.server("503 5.5.1 Missing MAIL FROM command.\n250 2.0.0 I have successfully done nothing");
        // Over the limit (go-smtp TestServer_Chunking_tooLongMessage): 552, exactly the chunk consumed.
        h.client("MAIL FROM:<a@b> BODY=BINARYMIME\nRCPT TO:<c@d>");
        h.server_prefixes(&["250 ", "250 "]);
        h.client_raw(b"BDAT 30\r\nThis is a very long message.\r\n");
        h.server("250 2.0.0 Continue");
        h.client_raw(b"BDAT 20 LAST\r\nQUIT\r\nQUIT\r\nQUIT\r\n\r\nNOOP\r\n");
        h.server("552 5.3.4 Max message size exceeded\n250 2.0.0 I have successfully done nothing");
        assert!(h.messages.is_empty());
        assert!(h.log.contains(&"MessageAborted TooBig".to_string()));
        // BINARYMIME needs BDAT (go-smtp TestServer_Chunking_Binarymime).
        h.client("MAIL FROM:<a@b> BODY=BINARYMIME\nRCPT TO:<c@d>\nDATA");
        h.server_prefixes(&[
            "250 ",
            "250 ",
            "503 5.5.1 DATA not allowed for BINARYMIME messages",
        ]);
        // RSET between chunks ends the message (go-smtp TestServer_Chunking_Reset).
        h.client_raw(b"BDAT 8\r\nHey <3\r\nRSET\r\n");
        h.server("250 2.0.0 Continue\n250 2.0.0 Session reset");
        assert!(
            h.log
                .ends_with(&["MessageAborted Reset".to_string(), "Reset".to_string()]),
            "{:?}",
            h.log
        );
    });
}

#[test]
fn lmtp_replies_per_recipient() {
    let lmtp = config_with(|c| c.lmtp = true);
    // go-smtp TestServer_LMTP: the first recipient fails, the second is delivered.
    let backend = || Backend {
        lmtp: Some(Box::new(|_m: &server_common::Message| {
            (
                Decision::Accept,
                vec![Some(refuse(554, (5, 0, 0), "Error: transaction failed")), None],
            )
        })),
        ..Default::default()
    };
    run_with(lmtp, backend, |h| {
        h.server("220 mx.example.org LMTP Service Ready");
        h.client("EHLO client.example");
        h.server("500 5.5.1 This is a LMTP server, use LHLO");
        h.client("LHLO client.example");
        h.server(EHLO_PLAIN);
        h.client("MAIL FROM:<root@nsa.gov>\nRCPT TO:<root@gchq.gov.uk>\nRCPT TO:<root@bnd.bund.de>\nDATA\nHey <3\n.");
        h.server(
            "250 2.0.0 OK\n250 2.0.0 I'll make sure <root@gchq.gov.uk> gets this\n\
             250 2.0.0 I'll make sure <root@bnd.bund.de> gets this\n\
             354 Go ahead. End your data with <CR><LF>.<CR><LF>\n\
             554 5.0.0 <root@gchq.gov.uk> Error: transaction failed\n250 2.0.0 <root@bnd.bund.de> OK: queued",
        );
        // Duplicate recipients get one reply each (go-smtp TestServer_LMTP_DuplicatedRcpt); BDAT ends the same way.
        h.client("MAIL FROM:<a@b>\nRCPT TO:<x@y>\nRCPT TO:<z@y>\nRCPT TO:<x@y>");
        h.server_prefixes(&["250 ", "250 ", "250 ", "250 "]);
        h.client_raw(b"BDAT 8 LAST\r\nHey <3\r\n");
        h.server(
            "554 5.0.0 <x@y> Error: transaction failed\n250 2.0.0 <z@y> OK: queued\n250 2.0.0 <x@y> OK: queued",
        );
    });
    // Without per-recipient statuses the overall result counts for everyone.
    let overall = || Backend {
        lmtp: Some(Box::new(|_m: &server_common::Message| {
            (refuse(452, (4, 2, 2), "mailbox full"), Vec::new())
        })),
        ..Default::default()
    };
    run_with(lmtp, overall, |h| {
        h.server("220 mx.example.org LMTP Service Ready");
        h.client("LHLO c\nMAIL FROM:<a@b>\nRCPT TO:<x@y>\nRCPT TO:<z@y>\nDATA\nhi\n.");
        h.server_prefixes(&[
            "250-mx.example.org Hello c",
            "250-",
            "250-",
            "250-",
            "250-",
            "250-",
            "250 LIMITS",
            "250 2.0.0 OK",
            "250 ",
            "250 ",
            "354 ",
            "452 4.2.2 <x@y> mailbox full",
            "452 4.2.2 <z@y> mailbox full",
        ]);
    });
}

#[test]
fn read_timeout_and_shutdown() {
    run(|h| {
        greet_ehlo(h);
        let deadline = h.session.poll_timeout().unwrap();
        assert_eq!(deadline, Timestamp::from_unix_millis(server_common::T0 + 300_000));
        h.advance(299_999);
        h.silent();
        h.advance(1);
        h.server("421 4.4.2 mx.example.org Error: timeout exceeded");
        assert_eq!(h.closed, Some(CloseReason::Timeout));
        assert_eq!(h.session.poll_timeout(), None);
    });
    // A shutdown before the greeting left replaces it (go-smtp's Reject).
    let mut h = H::new(config(), remote(), accept_all(), Split::Whole);
    let mut fresh = smtp_wasm::ServerSession::new(config(), PeerInfo::default(), h.now).unwrap();
    fresh.shutdown(h.now);
    assert_eq!(
        fresh.poll_transmit().as_deref(),
        Some(&b"421 4.3.2 mx.example.org Service shutting down\r\n"[..])
    );
    // Mid-message: the message is aborted.
    h.ehlo();
    h.client("MAIL FROM:<a@b>\nRCPT TO:<c@d>\nDATA\npartial");
    h.drain();
    h.session.shutdown(h.now);
    h.drain();
    assert!(
        h.log.ends_with(&[
            "MessageAborted Shutdown".to_string(),
            "Closed Shutdown".to_string()
        ]),
        "{:?}",
        h.log
    );
    // The peer going away mid-message.
    let mut h = H::new(config(), remote(), accept_all(), Split::Whole);
    h.ehlo();
    h.client("MAIL FROM:<a@b>\nRCPT TO:<c@d>\nDATA\npartial");
    h.session.handle_eof(h.now);
    h.drain();
    assert!(
        h.log.ends_with(&[
            "MessageAborted PeerClosed".to_string(),
            "Closed PeerClosed".to_string()
        ]),
        "{:?}",
        h.log
    );
}

#[test]
fn a_command_trickled_a_byte_at_a_time_times_out() {
    // go-smtp's per-line read deadline (Postfix's smtpd_per_request_deadline): a command line must be whole within
    // the read timeout of its first byte; one byte every 3 s does not keep a 10 s timeout from firing.
    let short = config_with(|c| {
        c.read_timeout = Some(std::time::Duration::from_secs(10));
        c.max_line_length = 512;
    });
    run_with(short, accept_all, |h| {
        greet_ehlo(h);
        h.advance(9_000);
        h.client("NOOP");
        h.server("250 2.0.0 I have successfully done nothing");
        // A completed line restarted the clock; the next one starts it with its first byte.
        h.advance(9_000);
        for byte in b"NOOP" {
            h.feed(std::slice::from_ref(byte));
            h.advance(3_000);
        }
        // The first byte came 12 s ago: the deadline (10 s after it) has passed.
        h.server("421 4.4.2 mx.example.org Error: timeout exceeded");
        assert_eq!(h.closed, Some(CloseReason::Timeout));
    });
    // An over-long line being skipped does not restart the clock either.
    run_with(short, accept_all, |h| {
        greet_ehlo(h);
        h.feed(&[b'A'; 600]);
        h.server("500 5.4.0 Error: line too long");
        for _ in 0..3 {
            h.feed(b"A");
            h.advance(3_000);
        }
        h.silent();
        h.advance(1_000);
        h.server("421 4.4.2 mx.example.org Error: timeout exceeded");
    });
    // An over-long line that ends restarts the clock like any completed line, even when its end came in the read
    // that made it too long.
    run_with(short, accept_all, |h| {
        greet_ehlo(h);
        h.feed(b"NOOP ");
        h.advance(6_000);
        let mut rest = vec![b'A'; 600];
        rest.extend_from_slice(b"\r\n");
        h.feed(&rest);
        h.server("500 5.4.0 Error: line too long");
        h.advance(9_000);
        h.silent();
        h.client("NOOP");
        h.server("250 2.0.0 I have successfully done nothing");
    });
    // Message content is not a command: each read restarts the clock (a slow link, not a stuck client).
    run_with(short, accept_all, |h| {
        greet_ehlo(h);
        h.client("MAIL FROM:<a@b>\nRCPT TO:<c@d>\nDATA");
        h.discard();
        for byte in b"Subject: slow\r\n\r\nhi\r\n" {
            h.feed(std::slice::from_ref(byte));
            h.advance(9_000);
        }
        h.silent();
        h.feed(b".\r\n");
        h.server_prefixes(&["250 "]);
        assert_eq!(h.messages.len(), 1);
    });
}

#[test]
fn content_backpressure() {
    let small_window = config_with(|c| c.content_window = 16);
    let mut h = H::new(
        small_window(),
        remote(),
        Backend {
            hold_content: true,
            ..Default::default()
        },
        Split::Whole,
    );
    h.ehlo();
    h.client("MAIL FROM:<a@b>\nRCPT TO:<c@d>\nDATA");
    h.discard();
    let body = "0123456789".repeat(10);
    h.client(&format!("{body}\n."));
    // Only about one window was handed out; the rest waits in the input.
    assert!(h.held_content <= 16, "{}", h.held_content);
    assert!(!h.session.wants_input());
    assert_eq!(h.session.poll_timeout(), None);
    let mut rounds = 0;
    while h.messages.is_empty() {
        let n = std::mem::take(&mut h.held_content);
        h.session.content_read(n, h.now);
        h.drain();
        assert!(h.held_content <= 16);
        rounds += 1;
        assert!(rounds < 100);
    }
    assert!(rounds >= 6);
    assert_eq!(h.messages[0].text(), format!("{body}\r\n"));
    h.server("250 2.0.0 OK: queued");
}

#[test]
fn hello_refused_by_the_application() {
    let backend = || Backend {
        hello: Some(Box::new(|name: &String| {
            if name == "bad.example" {
                refuse(451, (4, 0, 0), "try later")
            } else {
                Decision::Accept
            }
        })),
        ..Default::default()
    };
    run_with(config, backend, |h| {
        h.server("220 mx.example.org ESMTP Service Ready");
        h.client("EHLO bad.example\nMAIL FROM:<a@b>");
        h.server("451 4.0.0 try later\n502 5.5.1 Please introduce yourself first.");
        assert_eq!(h.session.hello_name(), None);
    });
}

#[test]
fn the_application_refuses_a_message_mid_way() {
    // go-smtp TestServer_Chunking_EarlyError / EarlyErrorDuringChunk: the refusal follows the chunk being read, the
    // connection goes on. DATA: the rest is read to the final dot first.
    let mut h = H::new(config(), remote(), accept_all(), Split::Whole);
    h.ehlo();
    h.client("MAIL FROM:<a@b>\nRCPT TO:<c@d>\nDATA\nSubject: x");
    h.discard();
    assert!(h
        .session
        .refuse_message(ServerReply::new(555, (5, 0, 0), "I failed"), h.now)
        .is_ok());
    h.client("more\nQUIT\n.\nNOOP");
    h.server("555 5.0.0 I failed\n250 2.0.0 I have successfully done nothing");
    assert!(h.messages.is_empty());
    assert!(h
        .session
        .refuse_message(ServerReply::new(554, None::<smtp_wasm::EnhancedCode>, "x"), h.now)
        .is_err());
    // BDAT, during a chunk.
    h.client("MAIL FROM:<a@b>\nRCPT TO:<c@d>");
    h.discard();
    h.client_raw(b"BDAT 8\r\nHey ");
    h.session
        .refuse_message(ServerReply::new(555, (5, 0, 0), "I failed"), h.now)
        .unwrap();
    h.client_raw(b"<3\r\nNOOP\r\n");
    h.server("555 5.0.0 I failed\n250 2.0.0 I have successfully done nothing");
    // BDAT, between chunks: the next chunk is consumed and refused.
    h.client("MAIL FROM:<a@b>\nRCPT TO:<c@d>");
    h.discard();
    h.client_raw(b"BDAT 8\r\nHey <3\r\n");
    h.server("250 2.0.0 Continue");
    h.session
        .refuse_message(ServerReply::new(452, (4, 3, 1), "no space"), h.now)
        .unwrap();
    h.client_raw(b"BDAT 6 LAST\r\nQUIT\r\nNOOP\r\n");
    h.server("452 4.3.1 no space\n250 2.0.0 I have successfully done nothing");
    h.client("RCPT TO:<c@d>");
    h.server("503 5.5.1 Missing MAIL FROM command.");
    assert!(h.messages.is_empty());
}

#[test]
fn a_flood_of_pipelined_commands_is_read_as_the_replies_are_taken() {
    // (Without the junk command limit, which would close the session after 103 NOOPs.)
    let no_junk_limit = config_with(|c| c.junk_command_limit = 0);
    let mut h = H::new(no_junk_limit(), remote(), accept_all(), Split::Whole);
    h.ehlo();
    let flood = "NOOP\r\n".repeat(50_000);
    h.session.handle_input(flood.as_bytes(), h.now);
    // Only a bounded amount of replies is made before the driver takes them.
    assert!(!h.session.wants_input());
    let mut total = 0;
    let mut biggest = 0;
    while let Some(bytes) = h.session.poll_transmit() {
        biggest = biggest.max(bytes.len());
        total += bytes.len();
    }
    assert!(biggest <= 70 * 1024, "{biggest}");
    assert_eq!(
        total,
        50_000 * "250 2.0.0 I have successfully done nothing\r\n".len()
    );
    assert!(h.session.wants_input());
}

#[test]
fn anonymous_mail_refused_and_bdat_closed_mid_chunk() {
    // go-smtp TestServer_anonymousUserError: the application refuses MAIL without AUTH.
    let auth_required = || Backend {
        mail: Some(Box::new(|_: &String| {
            refuse(530, (5, 7, 0), "Authentication required")
        })),
        ..Default::default()
    };
    run_with(config, auth_required, |h| {
        greet_ehlo(h);
        h.client("MAIL FROM:<root@nsa.gov>\nRCPT TO:<root@gchq.gov.uk>");
        h.server("530 5.7.0 Authentication required\n503 5.5.1 Missing MAIL FROM command.");
    });
    // go-smtp TestServer_Chunking_ClosedInTheMiddle: the message is dropped, the session ends.
    run(|h| {
        greet_ehlo(h);
        h.client("MAIL FROM:<root@nsa.gov>\nRCPT TO:<root@gchq.gov.uk>");
        h.discard();
        h.client_raw(b"BDAT 8\r\nHey <");
        h.session.handle_eof(h.now);
        h.drain();
        assert!(h.messages.is_empty());
        assert!(
            h.log.ends_with(&[
                "MessageAborted PeerClosed".to_string(),
                "Closed PeerClosed".to_string()
            ]),
            "{:?}",
            h.log
        );
    });
}

#[test]
fn shutdown_with_the_applications_reply_and_a_shared_config() {
    let shared = std::sync::Arc::new(config());
    let now = Timestamp::from_unix_millis(server_common::T0);
    let mut a = smtp_wasm::ServerSession::new(shared.clone(), PeerInfo::default(), now).unwrap();
    let b = smtp_wasm::ServerSession::new(shared.clone(), PeerInfo::default(), now).unwrap();
    assert!(std::ptr::eq(a.config(), b.config()));
    a.shutdown_with(
        ServerReply::new(421, (4, 7, 0), "Too busy. Try again later."),
        now,
    );
    assert_eq!(
        a.poll_transmit().as_deref(),
        Some(&b"421 4.7.0 Too busy. Try again later.\r\n"[..])
    );
    assert!(a.is_closed());
}
