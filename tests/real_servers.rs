//! Integration tests against REAL SMTP servers on loopback.
//!
//! Needs the servers from `scripts/servers.sh up` and the variables of `$SMTP_WASM_STATE/env.sh`;
//! `./scripts/test.sh --tier real` does both. Built only with `--features real-servers`.
//! This file starts as an infrastructure check (the servers are really there and deliver); the
//! client tests proper are added next to it.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run `scripts/servers.sh up` and `. \"$SMTP_WASM_STATE/env.sh\"` (or ./scripts/test.sh --tier real)")
    })
}

fn host() -> String {
    std::env::var("SMTP_WASM_HOST").unwrap_or_else(|_| "127.0.0.1".into())
}

fn unique(tag: &str) -> String {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos();
    format!("{tag}-{}-{nanos}", std::process::id())
}

/// Waits up to `timeout` for a file in `dir` whose content contains `needle`.
fn wait_for_message(dir: &Path, needle: &str, timeout: Duration) -> Option<PathBuf> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Ok(entries) = std::fs::read_dir(dir) {
            for entry in entries.flatten() {
                if let Ok(bytes) = std::fs::read(entry.path()) {
                    if String::from_utf8_lossy(&bytes).contains(needle) {
                        return Some(entry.path());
                    }
                }
            }
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn postfix_greets_with_220_and_advertises_extensions() {
    let port = env("SMTP_WASM_POSTFIX_PORT");
    let stream = TcpStream::connect(format!("{}:{port}", host())).expect("connect to postfix");
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;

    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    assert!(line.starts_with("220 "), "greeting: {line:?}");

    writer.write_all(b"EHLO client.test\r\n").unwrap();
    let mut ehlo = Vec::new();
    loop {
        let mut l = String::new();
        reader.read_line(&mut l).unwrap();
        assert!(l.starts_with("250"), "EHLO reply line: {l:?}");
        let last = l.as_bytes().get(3) == Some(&b' ');
        ehlo.push(l.trim_end().to_string());
        if last {
            break;
        }
    }
    for ext in [
        "PIPELINING",
        "8BITMIME",
        "SMTPUTF8",
        "DSN",
        "CHUNKING",
        "ENHANCEDSTATUSCODES",
        "STARTTLS",
    ] {
        assert!(
            ehlo.iter().any(|l| l[4..].starts_with(ext)),
            "{ext} missing from {ehlo:?}"
        );
    }
    assert!(
        !ehlo.iter().any(|l| l[4..].starts_with("AUTH")),
        "AUTH must only be offered after TLS: {ehlo:?}"
    );
    writer.write_all(b"QUIT\r\n").unwrap();
}

#[test]
fn swaks_delivers_to_postfix_maildir_over_verified_starttls_with_auth_plain() {
    let port = env("SMTP_WASM_POSTFIX_PORT");
    let maildir = PathBuf::from(env("SMTP_WASM_POSTFIX_MAILDIR"));
    let subject = unique("real-servers-infra-check");
    let out = Command::new("swaks")
        .args(["--server", &format!("{}:{port}", host())])
        .args(["--tls", "--tls-verify", "--tls-ca-path", &env("SMTP_WASM_CA")])
        .args([
            "--auth",
            "PLAIN",
            "--auth-user",
            &env("SMTP_WASM_USER"),
            "--auth-password",
            &env("SMTP_WASM_PASS"),
        ])
        .args(["--from", "sender@example.test", "--to", "rcpt@example.test"])
        .args(["--header", &format!("Subject: {subject}")])
        .output()
        .expect("run swaks (scripts/setup.sh servers installs it)");
    let transcript = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "swaks failed: {transcript}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        transcript.contains("<~  235 "),
        "AUTH PLAIN after STARTTLS not accepted: {transcript}"
    );

    let file = wait_for_message(&maildir.join("new"), &subject, Duration::from_secs(20))
        .unwrap_or_else(|| panic!("message {subject} not delivered to {}/new", maildir.display()));
    let msg = std::fs::read_to_string(&file).unwrap();
    assert!(msg.contains("(Authenticated sender: alice)"), "{msg}");
    assert!(msg.contains("using TLS"), "{msg}");
}

// ------------------------------------------------------------------------------------------------------------------
// The client against the real servers: smtp-wasm's blocking driver over std::net::TcpStream.

mod client {
    use super::{env, host, unique, wait_for_message};
    use smtp_wasm::blocking::{BlockingClient, ClientError};
    use smtp_wasm::{
        Completion, ConnectionOptions, Credentials, Envelope, Error, MailOptions, Mechanism, Notify,
        RcptOptions, TlsErrorKind,
    };
    use std::path::{Path, PathBuf};
    use std::time::Duration;

    fn options(server_name: &str, with_ca: bool) -> ConnectionOptions {
        let mut options = ConnectionOptions::new(server_name);
        if with_ca {
            let ca = std::fs::read_to_string(env("SMTP_WASM_CA")).expect("read the test CA");
            options.tls.root_certificates_pem.push(ca);
        }
        options.session.timeouts.command = Duration::from_secs(30);
        options
    }

    fn connect(port_var: &str, options: ConnectionOptions) -> BlockingClient {
        let port = env(port_var);
        BlockingClient::connect(format!("{}:{port}", host()), options).expect("connect")
    }

    fn password(mechanism: Mechanism) -> (Credentials, Option<Mechanism>) {
        let credentials = Credentials::Password {
            username: env("SMTP_WASM_USER"),
            password: env("SMTP_WASM_PASS"),
            identity: None,
        };
        (credentials, Some(mechanism))
    }

    /// A message with what tends to break senders: lines that start with a dot, a bare LF, UTF-8, a long line.
    fn message(id: &str) -> Vec<u8> {
        let long = "x".repeat(900);
        format!(
            "From: Alice <alice@example.test>\r\nTo: Bob <bob@example.test>\r\nSubject: {id}\r\n\
             Date: Thu, 26 Nov 2026 06:00:00 +0000\r\n\
             Message-ID: <{id}@smtp-wasm.test>\r\nMIME-Version: 1.0\r\n\
             Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n\
             Grüße aus smtp-wasm.\r\n.a line that starts with a dot\r\n..two dots\r\n.\r\n\
             a bare LF follows\nand a bare CR\rend\r\n{long}\r\n"
        )
        .into_bytes()
    }

    /// What the server must store: the message with every line end made CRLF (as the client normalises it).
    fn canonical(message: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < message.len() {
            match message[i] {
                b'\r' if message.get(i + 1) == Some(&b'\n') => {
                    out.extend_from_slice(b"\r\n");
                    i += 1;
                }
                b'\r' | b'\n' => out.extend_from_slice(b"\r\n"),
                other => out.push(other),
            }
            i += 1;
        }
        out
    }

    /// Postfix's Maildir delivery stores LF line ends and puts its own headers on top: the stored file must end with
    /// exactly the message, LF for CRLF.
    fn assert_delivered_to_postfix(id: &str, message: &[u8]) -> String {
        let maildir = PathBuf::from(env("SMTP_WASM_POSTFIX_MAILDIR"));
        let file = wait_for_message(
            &maildir.join("new"),
            &format!("Message-ID: <{id}@"),
            Duration::from_secs(20),
        )
        .unwrap_or_else(|| panic!("message {id} was not delivered to {}", maildir.display()));
        let stored = std::fs::read(&file).unwrap();
        let expected: Vec<u8> = {
            let crlf = canonical(message);
            String::from_utf8(crlf)
                .unwrap()
                .replace("\r\n", "\n")
                .into_bytes()
        };
        assert!(
            stored.ends_with(&expected),
            "stored message differs:\n--- stored\n{}\n--- expected suffix\n{}",
            String::from_utf8_lossy(&stored),
            String::from_utf8_lossy(&expected)
        );
        String::from_utf8_lossy(&stored[..stored.len() - expected.len()]).into_owned()
    }

    fn assert_not_delivered(dir: &Path, id: &str) {
        std::thread::sleep(Duration::from_millis(500));
        assert!(
            wait_for_message(dir, id, Duration::from_millis(100)).is_none(),
            "{id} was delivered"
        );
    }

    fn envelope(to: &[&str]) -> Envelope {
        Envelope {
            from: "alice@example.test".into(),
            to: to.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn plaintext_on_localhost_data_and_bdat_with_pipelining_one_recipient_refused() {
        for use_bdat in [false, true] {
            let mut options = options("localhost", false);
            options.session.prefer_chunking = use_bdat;
            let mut client = connect("SMTP_WASM_POSTFIX_PORT", options);
            client.hello(None).unwrap();
            assert_eq!(client.extension("pipelining"), Some(""));
            assert_eq!(client.extension("CHUNKING"), Some(""));
            let id = unique(if use_bdat { "plain-bdat" } else { "plain-data" });
            let body = message(&id);
            let report = client
                .send_mail(
                    envelope(&["bob@example.test", "reject@example.test"]),
                    body.as_slice(),
                )
                .unwrap();
            assert_eq!(report.accepted, vec!["bob@example.test".to_string()]);
            assert_eq!(report.rejected.len(), 1);
            let rejected = &report.rejected[0];
            assert_eq!(rejected.0, "reject@example.test");
            assert_eq!(rejected.1.reply().map(|r| r.code()), Some(550));
            assert_eq!(
                rejected
                    .1
                    .reply()
                    .and_then(|r| r.enhanced_code())
                    .map(|c| c.to_string())
                    .as_deref(),
                Some("5.1.1")
            );
            assert_eq!(report.reply.code(), 250);
            let headers = assert_delivered_to_postfix(&id, &body);
            assert!(!headers.contains("using TLS"), "plaintext expected: {headers}");
            assert!(matches!(client.quit().unwrap(), Completion::Reply(r) if r.code() == 221));
        }
    }

    #[test]
    fn several_messages_over_one_session_then_lock_step_mail_rcpt_data() {
        let mut client = connect("SMTP_WASM_POSTFIX_PORT", options("localhost", false));
        for n in 0..3 {
            let id = unique(&format!("session-{n}"));
            let body = message(&id);
            client
                .send_mail(envelope(&["bob@example.test"]), body.as_slice())
                .unwrap();
            assert_delivered_to_postfix(&id, &body);
        }
        client
            .mail("alice@example.test", &MailOptions::default())
            .unwrap();
        client.rcpt("bob@example.test", &RcptOptions::default()).unwrap();
        let error = client
            .rcpt("reject@example.test", &RcptOptions::default())
            .unwrap_err();
        assert!(
            matches!(error, ClientError::Smtp(Error::Rejected(ref r)) if r.reply.code() == 550),
            "{error}"
        );
        let id = unique("lockstep");
        let body = message(&id);
        let done = client.data(body.as_slice()).unwrap();
        assert!(
            matches!(done, Completion::Reply(ref r) if r.code() == 250),
            "{done:?}"
        );
        assert_delivered_to_postfix(&id, &body);
        client
            .verify("bob@example.test")
            .unwrap_or_else(|e| panic!("VRFY: {e}"));
        client.noop().unwrap();
        client.reset().unwrap();
        client.quit().unwrap();
    }

    #[test]
    fn starttls_with_each_password_mechanism_delivers_over_tls() {
        for mechanism in [Mechanism::Plain, Mechanism::Login, Mechanism::CramMd5] {
            let mut client = connect("SMTP_WASM_POSTFIX_PORT", options("localhost", true));
            client.start_tls(true).unwrap();
            let info = client.tls_info().expect("TLS is up");
            assert!(info.protocol_version.starts_with("TLSv1."), "{info:?}");
            assert!(!info.peer_certificates.is_empty());
            let offered = client
                .extension("AUTH")
                .expect("AUTH is offered after TLS")
                .to_string();
            assert!(offered.contains(mechanism.name()), "{offered}");
            let (credentials, mechanism) = password(mechanism);
            client.auth(credentials, mechanism).unwrap();
            let id = unique(&format!("starttls-{}", mechanism.map_or("", |m| m.name())));
            let body = message(&id);
            client
                .send_mail(envelope(&["bob@example.test"]), body.as_slice())
                .unwrap();
            let headers = assert_delivered_to_postfix(&id, &body);
            assert!(headers.contains("using TLS"), "{headers}");
            assert!(headers.contains("(Authenticated sender: alice)"), "{headers}");
            client.quit().unwrap();
        }
    }

    #[test]
    fn implicit_tls_with_each_password_mechanism() {
        for mechanism in [Mechanism::Plain, Mechanism::Login, Mechanism::CramMd5] {
            let mut options = options("localhost", true);
            options.implicit_tls = true;
            let mut client = connect("SMTP_WASM_POSTFIX_TLS_PORT", options);
            assert!(client.tls_info().is_some(), "greeting came over TLS");
            let (credentials, mechanism) = password(mechanism);
            client.auth(credentials, mechanism).unwrap();
            let id = unique("implicit");
            let body = message(&id);
            client
                .send_mail(envelope(&["bob@example.test"]), body.as_slice())
                .unwrap();
            let headers = assert_delivered_to_postfix(&id, &body);
            assert!(headers.contains("using TLS"), "{headers}");
            client.quit().unwrap();
        }
    }

    #[test]
    fn one_call_send_mail_secures_authenticates_and_delivers() {
        let id = unique("one-call");
        let body = message(&id);
        let (credentials, _) = password(Mechanism::Plain);
        let port = env("SMTP_WASM_POSTFIX_PORT");
        let report = smtp_wasm::blocking::send_mail(
            format!("{}:{port}", host()),
            options("localhost", true),
            Some(credentials),
            envelope(&["bob@example.test"]),
            body.as_slice(),
        )
        .unwrap();
        assert_eq!(report.accepted, vec!["bob@example.test".to_string()]);
        let headers = assert_delivered_to_postfix(&id, &body);
        assert!(headers.contains("using TLS"), "{headers}");
    }

    fn tls_kind(error: ClientError) -> TlsErrorKind {
        match error {
            ClientError::Smtp(Error::Tls(tls)) => tls.kind,
            other => panic!("expected a TLS error, got {other}"),
        }
    }

    #[test]
    fn without_the_ca_the_issuer_is_unknown_and_nothing_is_sent() {
        let mut client = connect("SMTP_WASM_POSTFIX_PORT", options("localhost", false));
        let error = client.start_tls(true).unwrap_err();
        assert_eq!(tls_kind(error), TlsErrorKind::UnknownIssuer);
        let id = unique("no-ca");
        assert!(client
            .send_mail(envelope(&["bob@example.test"]), message(&id).as_slice())
            .is_err());
        assert_not_delivered(&PathBuf::from(env("SMTP_WASM_POSTFIX_MAILDIR")).join("new"), &id);

        let mut options = options("localhost", false);
        options.implicit_tls = true;
        let port = env("SMTP_WASM_POSTFIX_TLS_PORT");
        let error = BlockingClient::connect(format!("{}:{port}", host()), options).unwrap_err();
        assert_eq!(tls_kind(error), TlsErrorKind::UnknownIssuer);
    }

    #[test]
    fn a_wrong_server_name_is_a_name_error_and_an_expired_certificate_is_expired() {
        let mut client = connect("SMTP_WASM_POSTFIX_PORT", options("mail.example.org", true));
        let error = client.start_tls(true).unwrap_err();
        let message = error.to_string();
        assert_eq!(tls_kind(error), TlsErrorKind::NameMismatch, "{message}");
        assert!(message.contains("mail.example.org"), "{message}");

        let mut client = connect("SMTP_WASM_SMTP_SERVER_EXPIRED_PORT", options("localhost", true));
        assert_eq!(
            tls_kind(client.start_tls(true).unwrap_err()),
            TlsErrorKind::Expired
        );
    }

    #[test]
    fn credentials_never_leave_in_cleartext_to_a_remote_name() {
        // 127.0.0.1 reached under a non-local name, no TLS: AUTH is refused before any byte.
        let mut client = connect("SMTP_WASM_POSTFIX_PORT", options("mail.example.org", true));
        let (credentials, mechanism) = password(Mechanism::Plain);
        let error = client.auth(credentials, mechanism).unwrap_err();
        assert!(matches!(error, ClientError::Smtp(Error::InsecureAuth)), "{error}");
    }

    fn smtp_server_meta(id: &str) -> (Vec<u8>, String) {
        let dir = PathBuf::from(env("SMTP_WASM_SMTP_SERVER_MAIL"));
        let eml = wait_for_message(&dir, &format!("Message-ID: <{id}@"), Duration::from_secs(20))
            .unwrap_or_else(|| panic!("{id} not received by smtp-server"));
        let json = eml.with_extension("json");
        for _ in 0..100 {
            if json.exists() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        (
            std::fs::read(&eml).unwrap(),
            std::fs::read_to_string(&json).unwrap(),
        )
    }

    #[test]
    fn smtp_server_xoauth2_smtputf8_and_dsn_parameters() {
        let mut client = connect("SMTP_WASM_SMTP_SERVER_PORT", options("localhost", true));
        client.start_tls(true).unwrap();
        let token = Credentials::OAuth {
            username: env("SMTP_WASM_USER"),
            access_token: env("SMTP_WASM_XOAUTH2_TOKEN"),
        };
        client.auth(token, Some(Mechanism::XOAuth2)).unwrap();
        let id = unique("utf8-dsn");
        let body = message(&id);
        let mut env_ = envelope(&["bøb@example.test"]);
        env_.from = "älice@example.test".into();
        env_.mail_options = MailOptions {
            smtp_utf8: true,
            ret: Some(smtp_wasm::DsnReturn::Headers),
            envelope_id: Some(format!("env-{id}")),
            size: Some(body.len() as u64),
            ..Default::default()
        };
        env_.rcpt_options = RcptOptions {
            notify: Some(Notify::On {
                success: true,
                failure: true,
                delay: false,
            }),
            original_recipient: Some("bob+orig@example.test".into()),
            original_recipient_type: None,
        };
        let report = client.send_mail(env_, body.as_slice()).unwrap();
        assert_eq!(report.accepted, vec!["bøb@example.test".to_string()]);
        let (eml, json) = smtp_server_meta(&id);
        assert_eq!(eml, canonical(&body), "smtp-server stored different bytes");
        for needle in [
            "\"user\": \"alice\"",
            "\"secure\": true",
            "\"SMTPUTF8\": true",
            "\"RET\": \"HDRS\"",
            &format!("\"ENVID\": \"env-{id}\""),
            "\"NOTIFY\": \"SUCCESS,FAILURE\"",
            "\"ORCPT\": \"rfc822;bob+orig@example.test\"",
            "\"address\": \"älice@example.test\"",
        ] {
            assert!(json.contains(needle), "{needle} missing in {json}");
        }
        client.quit().unwrap();
    }

    #[test]
    fn smtp_server_refuses_a_bad_xoauth2_token_after_the_error_challenge() {
        let mut client = connect("SMTP_WASM_SMTP_SERVER_PORT", options("localhost", true));
        client.start_tls(true).unwrap();
        let token = Credentials::OAuth {
            username: env("SMTP_WASM_USER"),
            access_token: "wrong".into(),
        };
        let error = client.auth(token, Some(Mechanism::XOAuth2)).unwrap_err();
        assert!(
            matches!(error, ClientError::Smtp(Error::Rejected(ref r)) if r.reply.code() == 535),
            "{error}"
        );
        // The session is still usable after a refused AUTH.
        client.noop().unwrap();
    }

    #[test]
    fn lmtp_reports_each_recipient_after_the_message() {
        let mut options = options("localhost", false);
        options.session.lmtp = true;
        let mut client = connect("SMTP_WASM_SMTP_SERVER_LMTP_PORT", options);
        let id = unique("lmtp");
        let body = message(&id);
        let report = client
            .send_mail(
                envelope(&["bob@example.test", "reject-me@example.test", "carol@example.test"]),
                body.as_slice(),
            )
            .unwrap();
        assert_eq!(
            report.accepted,
            vec!["bob@example.test".to_string(), "carol@example.test".to_string()]
        );
        assert_eq!(report.rejected.len(), 1);
        assert_eq!(report.rejected[0].0, "reject-me@example.test");
        assert_eq!(report.rejected[0].1.reply().map(|r| r.code()), Some(550));
        let (eml, _) = smtp_server_meta(&id);
        assert_eq!(eml, canonical(&body));
        client.quit().unwrap();
    }

    #[test]
    fn aiosmtpd_requires_starttls_and_takes_auth_login() {
        let mut client = connect("SMTP_WASM_AIOSMTPD_PORT", options("localhost", true));
        client.start_tls(true).unwrap();
        let (credentials, mechanism) = password(Mechanism::Login);
        client.auth(credentials, mechanism).unwrap();
        let id = unique("aiosmtpd");
        let body = message(&id);
        client
            .send_mail(envelope(&["bob@example.test"]), body.as_slice())
            .unwrap();
        let maildir = PathBuf::from(env("SMTP_WASM_AIOSMTPD_MAILDIR"));
        let file = wait_for_message(&maildir.join("new"), &id, Duration::from_secs(20))
            .expect("delivered to aiosmtpd");
        // aiosmtpd's Maildir handler adds X-Peer/X-MailFrom/X-RcptTo at the end of the header block: every header
        // line of ours must be there, and the body must be byte for byte the same.
        let stored = String::from_utf8(std::fs::read(file).unwrap())
            .unwrap()
            .replace("\r\n", "\n");
        let expected = String::from_utf8(canonical(&body)).unwrap().replace("\r\n", "\n");
        let (expected_headers, expected_body) = expected.split_once("\n\n").unwrap();
        let (stored_headers, stored_body) = stored.split_once("\n\n").unwrap();
        assert_eq!(stored_body, expected_body);
        for line in expected_headers.lines() {
            assert!(
                stored_headers.lines().any(|l| l == line),
                "{line} missing in {stored_headers}"
            );
        }
        client.quit().unwrap();
    }
}
