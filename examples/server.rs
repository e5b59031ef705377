//! A small SMTP (or LMTP) server built on the blocking driver: it accepts every message and prints it.
//!
//! ```sh
//! cargo run --example server -- --listen 127.0.0.1:2525 \
//!     --tls-cert fullchain.pem --tls-key key.pem --tls-listen 127.0.0.1:2465 \
//!     --user alice --password secret
//! swaks --server 127.0.0.1:2525 --tls --auth PLAIN --auth-user alice --auth-password secret --to bob@example.test
//! ```
//!
//! With `--tls-cert`/`--tls-key` (PEM: RSA, ECDSA or Ed25519; PKCS#8, PKCS#1 or SEC1) STARTTLS is offered on
//! `--listen`, and `--tls-listen` adds an implicit-TLS port. `--user`/`--password` turn AUTH on (PLAIN, LOGIN; only
//! under TLS unless `--insecure-auth`). `--lmtp` speaks LMTP, `--save DIR` also writes each message to `DIR/N.eml`,
//! `--transcript` prints the protocol lines (AUTH redacted, content never). Stop it with Ctrl-C.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use smtp_wasm::blocking::{BlockingServer, Handler, SessionHandler};
use smtp_wasm::tls::{TlsAcceptor, TlsServerOptions};
use smtp_wasm::{
    Credentials, Decision, Mechanism, PeerInfo, ServerConfig, ServerMailOptions, ServerTranscriptLine,
    TlsInfo,
};

#[derive(Default)]
struct Args {
    listen: Option<String>,
    tls_listen: Option<String>,
    tls_cert: Option<String>,
    tls_key: Option<String>,
    domain: Option<String>,
    user: Option<String>,
    password: Option<String>,
    insecure_auth: bool,
    lmtp: bool,
    save: Option<PathBuf>,
    transcript: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args::default();
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--listen" => args.listen = Some(value()?),
            "--tls-listen" => args.tls_listen = Some(value()?),
            "--tls-cert" => args.tls_cert = Some(value()?),
            "--tls-key" => args.tls_key = Some(value()?),
            "--domain" => args.domain = Some(value()?),
            "--user" => args.user = Some(value()?),
            "--password" => args.password = Some(value()?),
            "--insecure-auth" => args.insecure_auth = true,
            "--lmtp" => args.lmtp = true,
            "--save" => args.save = Some(PathBuf::from(value()?)),
            "--transcript" => args.transcript = true,
            other => {
                return Err(format!(
                    "unknown argument {other} (see the top of examples/server.rs)"
                ))
            }
        }
    }
    Ok(args)
}

/// The application (shared by every connection): who may log in, where messages go.
struct Backend(Arc<Shared>);

struct Shared {
    login: Option<(String, String)>,
    save: Option<PathBuf>,
    transcript: bool,
    count: AtomicUsize,
}

struct Session {
    backend: Arc<Shared>,
    peer: String,
    from: String,
    to: Vec<String>,
    content: Vec<u8>,
    tls: Option<TlsInfo>,
}

impl Handler for Backend {
    type Session = Session;

    fn connect(&self, peer: &PeerInfo) -> Option<Session> {
        let peer = match (peer.remote_ip, peer.remote_port) {
            (Some(ip), Some(port)) => format!("{ip}:{port}"),
            _ => "?".into(),
        };
        eprintln!("connection from {peer}");
        Some(Session {
            backend: Arc::clone(&self.0),
            peer,
            from: String::new(),
            to: Vec::new(),
            content: Vec::new(),
            tls: None,
        })
    }
}

impl SessionHandler for Session {
    fn auth(&mut self, _mechanism: Mechanism, credentials: &Credentials) -> Decision {
        let ok = match (credentials, &self.backend.login) {
            (
                Credentials::Password {
                    username, password, ..
                },
                Some((user, pass)),
            ) => username == user && password == pass,
            _ => false,
        };
        if ok {
            Decision::Accept
        } else {
            Decision::reply(535, (5, 7, 8), "Authentication credentials invalid")
        }
    }

    fn mail(&mut self, from: &str, _options: &ServerMailOptions) -> Decision {
        self.from = from.to_owned();
        self.to.clear();
        self.content.clear();
        Decision::Accept
    }

    fn rcpt(&mut self, to: &str, _options: &smtp_wasm::ServerRcptOptions) -> Decision {
        self.to.push(to.to_owned());
        Decision::Accept
    }

    fn content(&mut self, chunk: &[u8]) -> Decision {
        self.content.extend_from_slice(chunk);
        Decision::Accept
    }

    fn message_end(&mut self, size: u64) -> Decision {
        let n = self.backend.count.fetch_add(1, Ordering::SeqCst) + 1;
        let tls = match &self.tls {
            Some(info) => format!("{} {}", info.protocol_version, info.cipher_suite),
            None => "no TLS".into(),
        };
        println!(
            "--- message {n} from {} <{}> to <{}> ({size} bytes, {tls})",
            self.peer,
            self.from,
            self.to.join(">, <")
        );
        println!("{}", for_terminal(&self.content));
        if let Some(dir) = &self.backend.save {
            let path = dir.join(format!("{n}.eml"));
            if let Err(e) = std::fs::write(&path, &self.content) {
                eprintln!("cannot write {}: {e}", path.display());
                return Decision::reply(451, (4, 3, 0), "cannot store the message");
            }
        }
        Decision::Accept
    }

    fn tls_established(&mut self, info: &TlsInfo) {
        self.tls = Some(info.clone());
    }

    fn transcript(&mut self, line: &ServerTranscriptLine) {
        if self.backend.transcript {
            let arrow = if line.from_client { "C:" } else { "S:" };
            eprintln!("{} {arrow} {}", self.peer, line.text);
        }
    }
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let args = parse_args()?;
    let mut config = ServerConfig::new(args.domain.as_deref().unwrap_or("localhost"));
    config.lmtp = args.lmtp;
    config.enable_smtputf8 = true;
    config.enable_dsn = true;
    config.enable_binarymime = true;
    config.allow_insecure_auth = args.insecure_auth;
    config.auth_disabled = args.user.is_none();
    config.transcript = args.transcript;
    let shared = Arc::new(Shared {
        login: args.user.zip(args.password),
        save: args.save,
        transcript: args.transcript,
        count: AtomicUsize::new(0),
    });
    if let Some(dir) = &shared.save {
        std::fs::create_dir_all(dir)?;
    }
    let mut server = BlockingServer::new(config, Backend(shared));
    match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => {
            let options =
                TlsServerOptions::new(std::fs::read_to_string(cert)?, std::fs::read_to_string(key)?);
            server = server.with_tls(TlsAcceptor::new(&options)?);
        }
        (None, None) if args.tls_listen.is_none() => {}
        _ => return Err("TLS needs both --tls-cert and --tls-key".into()),
    }
    let listen = args.listen.unwrap_or_else(|| "127.0.0.1:2525".into());
    let plain = TcpListener::bind(&listen)?;
    eprintln!(
        "listening on {} ({})",
        plain.local_addr()?,
        if args.lmtp { "LMTP" } else { "SMTP" }
    );
    let mut threads = Vec::new();
    if let Some(address) = &args.tls_listen {
        let implicit = TcpListener::bind(address)?;
        eprintln!("listening on {} (implicit TLS)", implicit.local_addr()?);
        let server = server.clone();
        threads.push(std::thread::spawn(move || server.serve(implicit, true)));
    }
    server.serve(plain, false)?;
    for thread in threads {
        thread.join().map_err(|_| "a listener thread panicked")??;
    }
    Ok(())
}

/// The message as text for a terminal: line ends become `\n`, and every other control character (ESC, a bare CR,
/// C1 controls such as U+009B) is shown as `\x1b`, so a sender cannot drive the terminal (clear it, set its title,
/// overwrite a line) through what this example prints. Invalid UTF-8 shows as U+FFFD.
fn for_terminal(content: &[u8]) -> String {
    let text = String::from_utf8_lossy(content).replace("\r\n", "\n");
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() && c != '\n' && c != '\t' {
            out.push_str(&format!("\\x{:02x}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::for_terminal;

    #[test]
    fn control_characters_are_shown_escaped() {
        assert_eq!(
            for_terminal(b"Subject: \x1b[2J\x1b]0;title\x07\r\n\r\nover\rwrite \xc2\x9b31m\tok\r\n"),
            "Subject: \\x1b[2J\\x1b]0;title\\x07\n\nover\\x0dwrite \\x9b31m\tok\n"
        );
        assert_eq!(for_terminal(b"caf\xc3\xa9 \xff"), "caf\u{e9} \u{fffd}");
    }
}
