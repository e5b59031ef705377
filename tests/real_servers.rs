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
