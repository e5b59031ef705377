//! A small blocking driver over [`std::net::TcpStream`], for native Rust programs and tests: one call per SMTP
//! operation, each runs to completion. (The JavaScript package drives the same [`Connection`] asynchronously.)

use std::collections::VecDeque;
use std::fmt;
use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use crate::client::connection::{Connection, ConnectionOptions};
use crate::client::{CommandId, Completion, Envelope, Event, MailOptions, RcptOptions, TransactionReport};
use crate::error::Error;
use crate::reply::Reply;
use crate::sasl::{Credentials, Mechanism};
use crate::time::Timestamp;
use crate::tls::TlsInfo;

/// What can go wrong in the blocking client: the SMTP side, or the socket.
#[derive(Debug)]
pub enum ClientError {
    /// An SMTP, TLS or input error from the core.
    Smtp(Error),
    /// The socket failed (connection refused, reset, ...).
    Io(io::Error),
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::Smtp(error) => fmt::Display::fmt(error, f),
            ClientError::Io(error) => write!(f, "network error: {error}"),
        }
    }
}

impl std::error::Error for ClientError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ClientError::Smtp(error) => Some(error),
            ClientError::Io(error) => Some(error),
        }
    }
}

impl From<Error> for ClientError {
    fn from(error: Error) -> Self {
        ClientError::Smtp(error)
    }
}

impl From<io::Error> for ClientError {
    fn from(error: io::Error) -> Self {
        ClientError::Io(error)
    }
}

/// Sends one message in one call (Go's `smtp.SendMail`): connects to `address`, secures the session (implicit TLS
/// when `options.implicit_tls`, else STARTTLS, which must succeed), authenticates with `credentials` when given,
/// runs the transaction (pipelined when the server allows) streaming `message`, and says QUIT. Resolves with the
/// transaction's report once the server accepted the message; a failing QUIT after that changes nothing.
pub fn send_mail(
    address: impl ToSocketAddrs,
    options: ConnectionOptions,
    credentials: Option<Credentials>,
    envelope: Envelope,
    message: impl Read,
) -> Result<TransactionReport, ClientError> {
    let implicit = options.implicit_tls;
    let mut client = BlockingClient::connect(address, options)?;
    if !implicit {
        client.start_tls(true)?;
    }
    if let Some(credentials) = credentials {
        client.auth(credentials, None)?;
    }
    let report = client.send_mail(envelope, message)?;
    let _ = client.quit();
    Ok(report)
}

/// Where transcript lines go.
type TranscriptSink = Box<dyn FnMut(&crate::client::TranscriptLine)>;

/// Message content is read and handed to the core in pieces of this size.
const BODY_PIECE: usize = 64 * 1024;

/// A blocking SMTP client on one TCP connection.
pub struct BlockingClient {
    connection: Connection,
    stream: TcpStream,
    events: VecDeque<Event>,
    greeting: Option<Reply>,
    read_buffer: Vec<u8>,
    /// Called with each transcript line (when the session's transcript is on).
    transcript: Option<TranscriptSink>,
}

impl fmt::Debug for BlockingClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlockingClient")
            .field("connection", &self.connection)
            .finish_non_exhaustive()
    }
}

impl BlockingClient {
    /// Connects and waits for the greeting (after the TLS handshake, for implicit TLS).
    ///
    /// Cleartext AUTH is allowed only when the address actually connected to is a loopback address (the socket's
    /// peer decides, not the server name).
    pub fn connect(address: impl ToSocketAddrs, mut options: ConnectionOptions) -> Result<Self, ClientError> {
        let stream = TcpStream::connect(address)?;
        // Pipelined flights are written whole; Nagle would only delay the next round trip.
        stream.set_nodelay(true)?;
        options.session.loopback_peer = stream.peer_addr()?.ip().is_loopback();
        let connection = Connection::new(options, Timestamp::now())?;
        let mut client = BlockingClient {
            connection,
            stream,
            events: VecDeque::new(),
            greeting: None,
            read_buffer: vec![0; 64 * 1024],
            transcript: None,
        };
        client.wait_for(|client| client.greeting.is_some())?;
        Ok(client)
    }

    /// Sends each transcript line to `sink` (turn `transcript` on in the session options).
    pub fn set_transcript(&mut self, sink: impl FnMut(&crate::client::TranscriptLine) + 'static) {
        self.transcript = Some(Box::new(sink));
    }

    /// The server's greeting.
    #[must_use]
    pub fn greeting(&self) -> Option<&Reply> {
        self.greeting.as_ref()
    }

    /// An extension's parameters (after the hello).
    #[must_use]
    pub fn extension(&self, name: &str) -> Option<&str> {
        self.connection.extension(name)
    }

    /// TLS parameters, once TLS is up.
    #[must_use]
    pub fn tls_info(&self) -> Option<TlsInfo> {
        self.connection.tls_info()
    }

    /// EHLO (HELO fallback).
    pub fn hello(&mut self, local_name: Option<&str>) -> Result<Completion, ClientError> {
        let id = self.connection.hello(local_name, Timestamp::now())?;
        self.run(id)
    }

    /// STARTTLS (required or opportunistic), the handshake, and EHLO again.
    pub fn start_tls(&mut self, required: bool) -> Result<Completion, ClientError> {
        let id = self.connection.start_tls(required, Timestamp::now())?;
        self.run(id)
    }

    /// AUTH.
    pub fn auth(
        &mut self,
        credentials: Credentials,
        mechanism: Option<Mechanism>,
    ) -> Result<Completion, ClientError> {
        let id = self.connection.auth(credentials, mechanism, Timestamp::now())?;
        self.run(id)
    }

    /// MAIL FROM.
    pub fn mail(&mut self, from: &str, options: &MailOptions) -> Result<Completion, ClientError> {
        let id = self.connection.mail(from, options, Timestamp::now())?;
        self.run(id)
    }

    /// RCPT TO.
    pub fn rcpt(&mut self, to: &str, options: &RcptOptions) -> Result<Completion, ClientError> {
        let id = self.connection.rcpt(to, options, Timestamp::now())?;
        self.run(id)
    }

    /// DATA (or BDAT) for the transaction opened with `mail`/`rcpt`, streaming `message`.
    pub fn data(&mut self, message: impl Read) -> Result<Completion, ClientError> {
        let id = self.connection.data(Timestamp::now())?;
        self.stream_body(id, message)
    }

    /// One whole transaction, pipelined when the server allows; `message` is streamed.
    pub fn send_mail(
        &mut self,
        envelope: Envelope,
        message: impl Read,
    ) -> Result<TransactionReport, ClientError> {
        let id = self.connection.send_mail(envelope, Timestamp::now())?;
        match self.stream_body(id, message)? {
            Completion::Transaction(report) => Ok(report),
            other => Err(Error::Protocol(format!("unexpected completion {other:?}")).into()),
        }
    }

    /// RSET.
    pub fn reset(&mut self) -> Result<Completion, ClientError> {
        let id = self.connection.reset(Timestamp::now())?;
        self.run(id)
    }

    /// NOOP.
    pub fn noop(&mut self) -> Result<Completion, ClientError> {
        let id = self.connection.noop(Timestamp::now())?;
        self.run(id)
    }

    /// VRFY.
    pub fn verify(&mut self, address: &str) -> Result<Completion, ClientError> {
        let id = self.connection.verify(address, Timestamp::now())?;
        self.run(id)
    }

    /// A raw command line (go-smtp's `Text`): completes with the server's reply, whatever its code.
    pub fn command(&mut self, line: &str) -> Result<Completion, ClientError> {
        let id = self.connection.command(line, Timestamp::now())?;
        self.run(id)
    }

    /// The recipients accepted in the transaction opened with `mail` (go-smtp's `GetRcpts`).
    #[must_use]
    pub fn recipients(&self) -> &[String] {
        self.connection.recipients()
    }

    /// QUIT, then the socket is shut down.
    pub fn quit(mut self) -> Result<Completion, ClientError> {
        let id = self.connection.quit(Timestamp::now())?;
        let result = self.run(id);
        self.write_pending()?;
        let _ = self.stream.shutdown(std::net::Shutdown::Both);
        result
    }

    /// Feeds the message once the server is ready for it, then waits for the outcome.
    fn stream_body(&mut self, id: CommandId, mut message: impl Read) -> Result<Completion, ClientError> {
        let mut ready = false;
        let mut done = None;
        self.wait_for(|client| {
            client.take_body_ready(id, &mut ready);
            done = client.take_completion(id);
            ready || done.is_some()
        })?;
        if let Some(result) = done {
            return result.map_err(ClientError::from);
        }
        let mut piece = vec![0; BODY_PIECE];
        loop {
            let read = match message.read(&mut piece) {
                Ok(0) => break,
                Ok(n) => n,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) => {
                    let _ = self
                        .connection
                        .abort_body(id, &error.to_string(), Timestamp::now());
                    let _ = self.run(id);
                    return Err(error.into());
                }
            };
            self.connection.send_body(id, &piece[..read], Timestamp::now())?;
            // Blocking writes are the backpressure: the core never holds more than one piece.
            self.write_pending()?;
            self.pump_ready_input()?;
            if let Some(result) = self.take_completion(id) {
                return result.map_err(ClientError::from);
            }
        }
        self.connection.finish_body(id, Timestamp::now())?;
        self.run(id)
    }

    fn run(&mut self, id: CommandId) -> Result<Completion, ClientError> {
        let mut done = None;
        self.wait_for(|client| {
            done = client.take_completion(id);
            done.is_some()
        })?;
        done.unwrap_or_else(|| Err(Error::Usage("operation vanished".into())))
            .map_err(ClientError::from)
    }

    fn take_completion(&mut self, id: CommandId) -> Option<Result<Completion, Error>> {
        let index = self
            .events
            .iter()
            .position(|e| matches!(e, Event::Completed { id: got, .. } if *got == id))?;
        match self.events.remove(index) {
            Some(Event::Completed { result, .. }) => Some(result),
            _ => None,
        }
    }

    fn take_body_ready(&mut self, id: CommandId, ready: &mut bool) {
        if let Some(index) = self
            .events
            .iter()
            .position(|e| matches!(e, Event::BodyReady { id: got } if *got == id))
        {
            self.events.remove(index);
            *ready = true;
        }
    }

    /// Collects events from the core, handing transcript lines to the sink.
    fn collect_events(&mut self) {
        while let Some(event) = self.connection.poll_event() {
            match event {
                Event::Transcript(line) => {
                    if let Some(sink) = self.transcript.as_mut() {
                        sink(&line);
                    }
                }
                Event::Greeting(reply) => self.greeting = Some(reply),
                other => self.events.push_back(other),
            }
        }
    }

    fn write_pending(&mut self) -> Result<(), ClientError> {
        while let Some(bytes) = self.connection.poll_transmit() {
            self.stream.write_all(&bytes)?;
        }
        Ok(())
    }

    /// Reads whatever already arrived, without blocking (replies to pipelined BDAT chunks, an early refusal).
    fn pump_ready_input(&mut self) -> Result<(), ClientError> {
        self.stream.set_nonblocking(true)?;
        let result = self.stream.read(&mut self.read_buffer);
        self.stream.set_nonblocking(false)?;
        match result {
            Ok(0) => self.connection.handle_eof(Timestamp::now()),
            Ok(n) => {
                let bytes = self.read_buffer[..n].to_vec();
                self.connection.handle_input(&bytes, Timestamp::now());
            }
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
            Err(error) => return Err(error.into()),
        }
        self.write_pending()?;
        self.collect_events();
        Ok(())
    }

    /// Writes, reads and fires timers until `done` says so.
    fn wait_for(&mut self, mut done: impl FnMut(&mut Self) -> bool) -> Result<(), ClientError> {
        loop {
            self.write_pending()?;
            self.collect_events();
            if done(self) {
                return Ok(());
            }
            if self.connection.session().is_closed() {
                // Nothing more will happen; whatever the caller waits for failed with the close.
                return match self.events.iter().find_map(|e| match e {
                    Event::Closed { error: Some(error) } => Some(error.clone()),
                    _ => None,
                }) {
                    Some(error) => Err(error.into()),
                    None => Err(Error::Usage("the session is closed".into()).into()),
                };
            }
            let now = Timestamp::now();
            let wait = self.connection.poll_timeout().map(|deadline| {
                deadline
                    .saturating_duration_since(now)
                    .max(Duration::from_millis(1))
            });
            self.stream.set_read_timeout(wait)?;
            match self.stream.read(&mut self.read_buffer) {
                Ok(0) => self.connection.handle_eof(Timestamp::now()),
                Ok(n) => {
                    let bytes = self.read_buffer[..n].to_vec();
                    self.connection.handle_input(&bytes, Timestamp::now());
                }
                Err(error) if matches!(error.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
                    self.connection.handle_timeout(Timestamp::now());
                }
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => return Err(error.into()),
            }
        }
    }
}
