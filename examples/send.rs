//! Sends one message with the blocking client, the way swaks would:
//!
//! ```sh
//! cargo run --example send -- --server 127.0.0.1:2525 --tls starttls --ca ca.pem \
//!     --user alice --password secret --from alice@example.test --to bob@example.test
//! ```
//!
//! `--tls` is `starttls` (the default: STARTTLS must succeed), `implicit` (port 465), `opportunistic` or `none`.
//! The message is read from `--message FILE`, or a small one is made up. The transcript is printed with AUTH
//! redacted.

use std::process::ExitCode;

use smtp_wasm::blocking::BlockingClient;
use smtp_wasm::{Completion, ConnectionOptions, Credentials, Direction, Envelope};

struct Args {
    server: String,
    server_name: Option<String>,
    tls: String,
    ca: Option<String>,
    user: Option<String>,
    password: Option<String>,
    from: String,
    to: Vec<String>,
    message: Option<String>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        server: "127.0.0.1:2525".into(),
        server_name: None,
        tls: "starttls".into(),
        ca: None,
        user: None,
        password: None,
        from: "alice@example.test".into(),
        to: Vec::new(),
        message: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--server" => args.server = value()?,
            "--server-name" => args.server_name = Some(value()?),
            "--tls" => args.tls = value()?,
            "--ca" => args.ca = Some(value()?),
            "--user" => args.user = Some(value()?),
            "--password" => args.password = Some(value()?),
            "--from" => args.from = value()?,
            "--to" => args.to.push(value()?),
            "--message" => args.message = Some(value()?),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if args.to.is_empty() {
        args.to.push("bob@example.test".into());
    }
    Ok(args)
}

fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let host = args
        .server
        .rsplit_once(':')
        .map_or(args.server.as_str(), |(host, _)| host);
    let server_name = args
        .server_name
        .clone()
        .unwrap_or_else(|| host.trim_matches(['[', ']']).to_string());
    let mut options = ConnectionOptions::new(server_name);
    options.session.transcript = true;
    options.implicit_tls = args.tls == "implicit";
    if let Some(ca) = &args.ca {
        options
            .tls
            .root_certificates_pem
            .push(std::fs::read_to_string(ca)?);
    }
    let mut client = BlockingClient::connect(args.server.as_str(), options)?;
    client.set_transcript(|line| {
        let who = if line.direction == Direction::Client {
            "C"
        } else {
            "S"
        };
        println!("{who}: {}", line.text);
    });
    match args.tls.as_str() {
        "starttls" => drop(client.start_tls(true)?),
        "opportunistic" => drop(client.start_tls(false)?),
        "implicit" | "none" => {}
        other => return Err(format!("unknown --tls {other}").into()),
    }
    if let Some(info) = client.tls_info() {
        println!("-- TLS: {} {}", info.protocol_version, info.cipher_suite);
    }
    if let (Some(username), Some(password)) = (args.user, args.password) {
        client.auth(
            Credentials::Password {
                username,
                password,
                identity: None,
            },
            None,
        )?;
    }
    let message = match &args.message {
        Some(path) => std::fs::read(path)?,
        None => format!(
            "From: <{}>\r\nTo: <{}>\r\nSubject: smtp-wasm example\r\n\r\nSent by the smtp-wasm blocking example.\r\n",
            args.from,
            args.to.join(">, <")
        )
        .into_bytes(),
    };
    let envelope = Envelope {
        from: args.from,
        to: args.to,
        ..Default::default()
    };
    let report = client.send_mail(envelope, message.as_slice())?;
    println!("-- accepted: {:?}", report.accepted);
    for (recipient, error) in &report.rejected {
        println!("-- rejected: {recipient}: {error}");
    }
    println!("-- server: {} {}", report.reply.code(), report.reply.message());
    if let Completion::Reply(reply) = client.quit()? {
        println!("-- {} {}", reply.code(), reply.message());
    }
    Ok(())
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(error) => {
            eprintln!("send: {error}");
            return ExitCode::from(2);
        }
    };
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("send: {error}");
            ExitCode::FAILURE
        }
    }
}
