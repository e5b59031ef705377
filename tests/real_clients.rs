//! Real SMTP clients against our native server (`smtp_wasm::blocking::BlockingServer` over `ServerConnection`):
//! swaks (STARTTLS, implicit TLS, AUTH PLAIN/LOGIN, pipelining), curl (`smtp://`, `--ssl-reqd`, `smtps://`),
//! Python's smtplib (`SMTP` + `starttls`, `SMTP_SSL`, `LMTP`) and Postfix's own SMTP client, which relays mail for
//! `@$SMTP_WASM_RELAY_DOMAIN` to our server on `$SMTP_WASM_RUST_SERVER_PORT` with STARTTLS required; and HAProxy in
//! front of it, sending PROXY protocol headers (versions 1 and 2).
//!
//! Needs the certificates and Postfix from `scripts/servers.sh up` and the variables of `$SMTP_WASM_STATE/env.sh`;
//! `./scripts/test.sh --tier real` does both. Built only with `--features real-servers`.

use std::io::Write;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use smtp_wasm::blocking::{BlockingServer, Handler, SessionHandler};
use smtp_wasm::tls::{TlsAcceptor, TlsServerOptions};
use smtp_wasm::{
    Credentials, Decision, DeliverBy, DeliverByMode, HelloKind, Mechanism, PeerInfo,
    RequireRecipientValidSince, RrvsAction, ServerConfig, ServerMailOptions, ServerRcptOptions, TlsInfo,
};

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!(
            "{name} is not set: run `scripts/servers.sh up` and `. \"$SMTP_WASM_STATE/env.sh\"` (or ./scripts/test.sh \
             --tier real)"
        )
    })
}

fn unique(tag: &str) -> String {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos();
    format!("{tag}-{}-{nanos}", std::process::id())
}

fn ca() -> String {
    env("SMTP_WASM_CA")
}

// ---------------------------------------------------------------------------------------------------------------
// The server under test: a recording backend

/// One message as our server's application received it.
#[derive(Debug, Clone, Default)]
struct Delivered {
    helo: String,
    /// The client as the session saw it (through a proxy: the one its PROXY header named).
    peer: PeerInfo,
    lmtp: bool,
    auth: Option<String>,
    tls: Option<TlsInfo>,
    from: String,
    mail: ServerMailOptions,
    to: Vec<String>,
    rcpt: Vec<ServerRcptOptions>,
    content: Vec<u8>,
}

#[derive(Clone, Default)]
struct Recorder {
    messages: Arc<Mutex<Vec<Delivered>>>,
}

impl Recorder {
    /// Waits for the message whose content contains `marker`.
    fn wait_for(&self, marker: &str, timeout: Duration) -> Delivered {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(found) = self
                .messages
                .lock()
                .unwrap()
                .iter()
                .find(|m| String::from_utf8_lossy(&m.content).contains(marker))
            {
                return found.clone();
            }
            assert!(
                Instant::now() < deadline,
                "no message with {marker:?} arrived within {timeout:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn has(&self, marker: &str) -> bool {
        self.messages
            .lock()
            .unwrap()
            .iter()
            .any(|m| String::from_utf8_lossy(&m.content).contains(marker))
    }
}

struct Session {
    recorder: Recorder,
    current: Delivered,
}

impl Handler for Recorder {
    type Session = Session;

    fn connect(&self, peer: &PeerInfo) -> Option<Session> {
        Some(Session {
            recorder: self.clone(),
            current: Delivered {
                peer: peer.clone(),
                ..Delivered::default()
            },
        })
    }
}

impl SessionHandler for Session {
    fn hello(&mut self, kind: HelloKind, name: &str) -> Decision {
        self.current.helo = name.to_owned();
        self.current.lmtp = kind == HelloKind::Lhlo;
        Decision::Accept
    }

    fn auth(&mut self, _mechanism: Mechanism, credentials: &Credentials) -> Decision {
        match credentials {
            Credentials::Password {
                username, password, ..
            } if username == "alice" && password == "secret" => {
                self.current.auth = Some(username.clone());
                Decision::Accept
            }
            _ => Decision::reply(535, (5, 7, 8), "Authentication credentials invalid"),
        }
    }

    fn mail(&mut self, from: &str, options: &ServerMailOptions) -> Decision {
        self.current.from = from.to_owned();
        self.current.mail = options.clone();
        self.current.to.clear();
        self.current.rcpt.clear();
        self.current.content.clear();
        Decision::Accept
    }

    fn rcpt(&mut self, to: &str, options: &ServerRcptOptions) -> Decision {
        if to.starts_with("reject") {
            return Decision::reply(550, (5, 1, 1), "no such user here");
        }
        self.current.to.push(to.to_owned());
        self.current.rcpt.push(options.clone());
        Decision::Accept
    }

    fn content(&mut self, chunk: &[u8]) -> Decision {
        self.current.content.extend_from_slice(chunk);
        Decision::Accept
    }

    fn message_end(&mut self, _size: u64) -> Decision {
        self.recorder.messages.lock().unwrap().push(self.current.clone());
        Decision::Accept
    }

    fn tls_established(&mut self, info: &TlsInfo) {
        self.current.tls = Some(info.clone());
    }
}

/// The listeners of this test process, started once.
struct Servers {
    recorder: Recorder,
    /// Plaintext with STARTTLS offered.
    smtp: u16,
    /// Implicit TLS.
    smtps: u16,
    /// LMTP, plaintext.
    lmtp: u16,
    /// Plaintext, every connection from 127.0.0.1 behind a PROXY protocol header (HAProxy in front).
    proxied: u16,
}

fn listen(server: BlockingServer<Recorder>, listener: TcpListener, implicit_tls: bool) {
    std::thread::spawn(move || server.serve(listener, implicit_tls).expect("serve"));
}

fn servers() -> &'static Servers {
    static SERVERS: OnceLock<Servers> = OnceLock::new();
    SERVERS.get_or_init(|| {
        let certs = PathBuf::from(env("SMTP_WASM_CERTS"));
        let read = |name: &str| std::fs::read_to_string(certs.join(name)).expect("certs (scripts/certs.sh)");
        let acceptor = TlsAcceptor::new(&TlsServerOptions::new(read("fullchain.pem"), read("key.pem")))
            .expect("the test certificate loads");
        let recorder = Recorder::default();
        let mut config = ServerConfig::new("rust-server.test");
        config.enable_smtputf8 = true;
        config.enable_dsn = true;
        config.enable_rrvs = true;
        config.enable_deliver_by = true;
        config.enable_mt_priority = true;
        config.transcript = false;
        let smtp = BlockingServer::new(config.clone(), recorder.clone()).with_tls(acceptor.clone());
        let mut lmtp_config = config.clone();
        lmtp_config.lmtp = true;
        let lmtp = BlockingServer::new(lmtp_config, recorder.clone()).with_tls(acceptor);
        let host = env("SMTP_WASM_HOST");
        let bind = |port: u16| TcpListener::bind((host.as_str(), port)).expect("bind");
        let (plain, implicit, lmtp_listener, proxied) = (bind(0), bind(0), bind(0), bind(0));
        let port = |l: &TcpListener| l.local_addr().unwrap().port();
        let servers = Servers {
            recorder,
            smtp: port(&plain),
            smtps: port(&implicit),
            lmtp: port(&lmtp_listener),
            proxied: port(&proxied),
        };
        // Where Postfix relays @$SMTP_WASM_RELAY_DOMAIN (a fixed port in its transport map).
        let relay_port: u16 = env("SMTP_WASM_RUST_SERVER_PORT").parse().unwrap();
        let relay = TcpListener::bind((host.as_str(), relay_port)).unwrap_or_else(|e| {
            panic!("cannot listen on {host}:{relay_port} for Postfix's relay ({e}): is another real_clients run up?")
        });
        let behind_proxy = smtp.clone().with_proxy_protocol(&["127.0.0.1"]).expect("CIDR");
        listen(behind_proxy, proxied, false);
        listen(smtp.clone(), plain, false);
        listen(smtp.clone(), implicit, true);
        listen(smtp, relay, false);
        listen(lmtp, lmtp_listener, false);
        servers
    })
}

fn run(command: &mut Command, stdin: Option<&[u8]>) -> Output {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e} (scripts/setup.sh servers installs it)"));
    let mut pipe = child.stdin.take().unwrap();
    pipe.write_all(stdin.unwrap_or_default()).unwrap();
    drop(pipe);
    child.wait_with_output().unwrap()
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// A message with CRLF line ends, a dot-led line (the client must dot-stuff it), non-ASCII and `marker`.
fn message(marker: &str) -> Vec<u8> {
    format!(
        "From: a@example.test\r\nTo: b@example.test\r\nSubject: {marker}\r\n\r\n.a line starting with a dot\r\n..two \
         dots\r\n.\r\ncaf\u{e9} 8-bit\r\nend {marker}\r\n"
    )
    .into_bytes()
}

// ---------------------------------------------------------------------------------------------------------------
// swaks

fn swaks(args: &[&str]) -> Output {
    run(Command::new("swaks").args(args).args(["--timeout", "20"]), None)
}

#[test]
fn swaks_starttls_auth_and_pipelining() {
    let s = servers();
    for mechanism in ["PLAIN", "LOGIN"] {
        let marker = unique(&format!("swaks-{mechanism}"));
        let out = swaks(&[
            "--server",
            &format!("127.0.0.1:{}", s.smtp),
            "--tls",
            "--tls-verify",
            "--tls-ca-path",
            &ca(),
            "--auth",
            mechanism,
            "--auth-user",
            "alice",
            "--auth-password",
            "secret",
            "--pipeline",
            "--from",
            "a@example.test",
            "--to",
            "b@example.test,c@example.test",
            "--header",
            &format!("Subject: {marker}"),
            "--body",
            &format!("hello from swaks {marker}"),
        ]);
        let log = text(&out);
        assert!(out.status.success(), "{log}");
        assert!(
            log.contains("250-PIPELINING") && log.contains("250-STARTTLS"),
            "{log}"
        );
        let got = s.recorder.wait_for(&marker, Duration::from_secs(10));
        assert_eq!(got.auth.as_deref(), Some("alice"));
        assert_eq!(got.to, ["b@example.test", "c@example.test"]);
        let tls = got.tls.expect("under TLS");
        assert!(tls.protocol_version.starts_with("TLSv1."), "{tls:?}");
    }
}

#[test]
fn swaks_implicit_tls_and_refusals() {
    let s = servers();
    let marker = unique("swaks-tlsc");
    let out = swaks(&[
        "--server",
        &format!("127.0.0.1:{}", s.smtps),
        "--tlsc",
        "--tls-verify",
        "--tls-ca-path",
        &ca(),
        "--from",
        "a@example.test",
        "--to",
        "b@example.test",
        "--header",
        &format!("Subject: {marker}"),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(s
        .recorder
        .wait_for(&marker, Duration::from_secs(10))
        .tls
        .is_some());

    // A wrong password: 535, nothing delivered.
    let marker = unique("swaks-badauth");
    let out = swaks(&[
        "--server",
        &format!("127.0.0.1:{}", s.smtp),
        "--tls",
        "--tls-ca-path",
        &ca(),
        "--auth",
        "PLAIN",
        "--auth-user",
        "alice",
        "--auth-password",
        "wrong",
        "--from",
        "a@example.test",
        "--to",
        "b@example.test",
        "--header",
        &format!("Subject: {marker}"),
    ]);
    assert!(!out.status.success());
    assert!(text(&out).contains("535 5.7.8"), "{}", text(&out));
    // AUTH is not offered in cleartext.
    let out = swaks(&[
        "--server",
        &format!("127.0.0.1:{}", s.smtp),
        "--auth",
        "PLAIN",
        "--auth-user",
        "alice",
        "--auth-password",
        "secret",
        "--from",
        "a@example.test",
        "--to",
        "b@example.test",
    ]);
    assert!(!out.status.success());
    // A refused recipient.
    let out = swaks(&[
        "--server",
        &format!("127.0.0.1:{}", s.smtp),
        "--from",
        "a@example.test",
        "--to",
        "rejected@example.test",
    ]);
    assert!(text(&out).contains("550 5.1.1"), "{}", text(&out));
    assert!(!s.recorder.has(&marker));
}

// ---------------------------------------------------------------------------------------------------------------
// curl

fn curl(url: &str, extra: &[&str], body: &[u8]) -> Output {
    run(
        Command::new("curl")
            .args(["--silent", "--show-error", "--max-time", "20", url])
            .args([
                "--mail-from",
                "a@example.test",
                "--mail-rcpt",
                "b@example.test",
                "-T",
                "-",
            ])
            .args(extra),
        Some(body),
    )
}

#[test]
fn curl_plain_starttls_and_smtps_deliver_byte_exact() {
    let s = servers();
    let cases = [
        (
            "curl-plain",
            format!("smtp://127.0.0.1:{}", s.smtp),
            vec![],
            false,
        ),
        (
            "curl-starttls",
            format!("smtp://127.0.0.1:{}", s.smtp),
            vec!["--ssl-reqd", "--cacert", "CA", "--user", "alice:secret"],
            true,
        ),
        (
            "curl-smtps",
            format!("smtps://localhost:{}", s.smtps),
            vec!["--cacert", "CA"],
            true,
        ),
    ];
    for (tag, url, extra, tls) in cases {
        let marker = unique(tag);
        let body = message(&marker);
        let ca = ca();
        let extra: Vec<&str> = extra
            .iter()
            .map(|a| if *a == "CA" { ca.as_str() } else { a })
            .collect();
        let out = curl(&url, &extra, &body);
        assert!(out.status.success(), "{tag}: {}", text(&out));
        let got = s.recorder.wait_for(&marker, Duration::from_secs(10));
        assert_eq!(got.content, body, "{tag}: byte-exact");
        assert_eq!(got.tls.is_some(), tls, "{tag}");
        if tag == "curl-starttls" {
            assert_eq!(got.auth.as_deref(), Some("alice"));
        }
        if tag == "curl-smtps" {
            assert_eq!(got.tls.unwrap().server_name, "localhost", "SNI");
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Python's smtplib

fn python(script: &str, body: &[u8]) -> Output {
    run(Command::new("python3").args(["-c", script]), Some(body))
}

#[test]
fn python_smtplib_smtp_starttls_smtp_ssl_and_lmtp() {
    let s = servers();
    let ca = ca();
    let scripts = [
        (
            "py-starttls",
            format!(
                "import smtplib, ssl, sys\n\
                 ctx = ssl.create_default_context(cafile={ca:?})\n\
                 with smtplib.SMTP('127.0.0.1', {port}, local_hostname='py.example') as c:\n\
                 \x20   c.starttls(context=ctx)\n\
                 \x20   c.login('alice', 'secret')\n\
                 \x20   c.sendmail('a@example.test', ['b@example.test'], sys.stdin.buffer.read())\n",
                port = s.smtp
            ),
            true,
        ),
        (
            "py-ssl",
            format!(
                "import smtplib, ssl, sys\n\
                 ctx = ssl.create_default_context(cafile={ca:?})\n\
                 with smtplib.SMTP_SSL('localhost', {port}, context=ctx, local_hostname='py.example') as c:\n\
                 \x20   c.sendmail('a@example.test', ['b@example.test'], sys.stdin.buffer.read())\n",
                port = s.smtps
            ),
            true,
        ),
        (
            "py-lmtp",
            format!(
                "import smtplib, sys\n\
                 c = smtplib.LMTP('127.0.0.1', {port}, local_hostname='py.example')\n\
                 refused = c.sendmail('a@example.test', ['b@example.test', 'rejectme@example.test'], sys.stdin.buffer.read())\n\
                 assert list(refused) == ['rejectme@example.test'], refused\n\
                 c.quit()\n",
                port = s.lmtp
            ),
            false,
        ),
    ];
    for (tag, script, tls) in scripts {
        let marker = unique(tag);
        let body = message(&marker);
        let out = python(&script, &body);
        assert!(out.status.success(), "{tag}: {}", text(&out));
        let got = s.recorder.wait_for(&marker, Duration::from_secs(10));
        assert_eq!(got.content, body, "{tag}: byte-exact");
        assert_eq!(got.helo, "py.example");
        assert_eq!(got.tls.is_some(), tls, "{tag}");
        assert_eq!(got.lmtp, tag == "py-lmtp");
        if tag == "py-starttls" {
            assert_eq!(got.auth.as_deref(), Some("alice"));
        }
    }
}

#[test]
fn python_smtplib_sends_dsn_rrvs_deliverby_and_mt_priority_parameters() {
    let s = servers();
    let marker = unique("py-params");
    let body = message(&marker);
    let script = format!(
        "import smtplib, sys\n\
         with smtplib.SMTP('127.0.0.1', {port}, local_hostname='py.example') as c:\n\
         \x20   c.ehlo()\n\
         \x20   for ext in ('dsn', 'rrvs', 'deliverby', 'mt-priority'):\n\
         \x20       assert c.has_extn(ext), ext\n\
         \x20   c.sendmail('a@example.test', ['b@example.test'], sys.stdin.buffer.read(),\n\
         \x20              mail_options=['BY=86400;RT', 'MT-PRIORITY=-5', 'RET=HDRS', 'ENVID=py+2Bparams'],\n\
         \x20              rcpt_options=['RRVS=2014-04-03T23:01:00Z;C', 'NOTIFY=FAILURE'])\n",
        port = s.smtp
    );
    let out = python(&script, &body);
    assert!(out.status.success(), "{}", text(&out));
    let got = s.recorder.wait_for(&marker, Duration::from_secs(10));
    assert_eq!(got.content, body);
    assert_eq!(
        got.mail.deliver_by,
        Some(DeliverBy {
            seconds: 86_400,
            mode: DeliverByMode::Return,
            trace: true,
        })
    );
    assert_eq!(got.mail.mt_priority, Some(-5));
    assert_eq!(got.mail.envelope_id.as_deref(), Some("py+params"));
    assert_eq!(
        got.rcpt[0].require_recipient_valid_since,
        Some(RequireRecipientValidSince {
            unix_millis: 1_396_566_060_000,
            action: Some(RrvsAction::Continue),
        })
    );
    assert!(got.rcpt[0].notify.is_some_and(|n| n.failure && !n.success));
}

// ---------------------------------------------------------------------------------------------------------------
// HAProxy in front (PROXY protocol versions 1 and 2)

/// HAProxy in TCP mode with two frontends, `send-proxy` and `send-proxy-v2`, both to `backend_port`; stopped on drop.
struct Haproxy {
    child: std::process::Child,
    dir: PathBuf,
    v1: u16,
    v2: u16,
}

impl Haproxy {
    fn start(backend_port: u16) -> Haproxy {
        let free = || {
            TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port()
        };
        let (v1, v2) = (free(), free());
        let dir = std::env::temp_dir().join(unique("haproxy"));
        std::fs::create_dir_all(&dir).unwrap();
        let config = dir.join("haproxy.cfg");
        std::fs::write(
            &config,
            format!(
                "global\n  maxconn 100\ndefaults\n  mode tcp\n  timeout connect 5s\n  timeout client 30s\n  \
                 timeout server 30s\nlisten v1\n  bind 127.0.0.1:{v1}\n  server s 127.0.0.1:{backend_port} send-proxy\n\
                 listen v2\n  bind 127.0.0.1:{v2}\n  server s 127.0.0.1:{backend_port} send-proxy-v2\n"
            ),
        )
        .unwrap();
        let child = Command::new("haproxy")
            .args(["-db", "-f"])
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run haproxy: {e} (scripts/setup.sh servers installs it)"));
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", v2)).is_err() {
            assert!(Instant::now() < deadline, "haproxy did not listen");
            std::thread::sleep(Duration::from_millis(50));
        }
        Haproxy { child, dir, v1, v2 }
    }
}

impl Drop for Haproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn haproxy_in_front_names_the_client_with_proxy_protocol_v1_and_v2() {
    let s = servers();
    let haproxy = Haproxy::start(s.proxied);
    for (tag, port) in [("haproxy-v1", haproxy.v1), ("haproxy-v2", haproxy.v2)] {
        let marker = unique(tag);
        // swaks from 127.0.0.2, so that the client HAProxy names differs from HAProxy itself (127.0.0.1).
        let out = swaks(&[
            "--server",
            &format!("127.0.0.1:{port}"),
            "--local-interface",
            "127.0.0.2",
            "--from",
            "a@example.test",
            "--to",
            "b@example.test",
            "--header",
            &format!("Subject: {marker}"),
        ]);
        assert!(out.status.success(), "{tag}: {}", text(&out));
        let got = s.recorder.wait_for(&marker, Duration::from_secs(10));
        assert_eq!(got.peer.remote_ip, Some("127.0.0.2".parse().unwrap()), "{tag}");
        // The destination is HAProxy's frontend, where the client connected.
        assert_eq!(got.peer.local_port, Some(port), "{tag}");
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Postfix's SMTP client

#[test]
fn postfix_relays_to_our_server_over_starttls() {
    let s = servers();
    let domain = env("SMTP_WASM_RELAY_DOMAIN");
    let marker = unique("postfix-relay");
    // Submitted to Postfix (plaintext from loopback is allowed), for a recipient it relays to us.
    let out = swaks(&[
        "--server",
        &format!("127.0.0.1:{}", env("SMTP_WASM_POSTFIX_PORT")),
        "--from",
        "a@example.test",
        "--to",
        &format!("bob@{domain}"),
        "--header",
        &format!("Subject: {marker}"),
        "--body",
        &format!("relayed {marker}\r\n.dot line"),
    ]);
    assert!(
        out.status.success(),
        "Postfix refused the relay recipient (its main.cf needs relay_domains/transport_maps from scripts/servers.sh: \
         restart it with `scripts/servers.sh down postfix && scripts/servers.sh up postfix`): {}",
        text(&out)
    );
    let got = s.recorder.wait_for(&marker, Duration::from_secs(60));
    assert_eq!(got.to, [format!("bob@{domain}")]);
    assert_eq!(got.from, "a@example.test");
    assert_eq!(got.helo, "postfix.test", "Postfix's own SMTP client");
    assert!(
        got.tls.is_some(),
        "Postfix's smtp_tls_policy_maps requires TLS to us"
    );
    let content = String::from_utf8_lossy(&got.content);
    assert!(content.contains("Received: from"), "{content}");
    assert!(
        content.contains("\r\n.dot line"),
        "dot-stuffing undone: {content}"
    );
}
