//! The blocking SMTP/LMTP server driver; see [`BlockingServer`].

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::codec::params::{ServerMailOptions, ServerRcptOptions};
use crate::codec::proxy::{parse_proxy_header, ProxyParse, MAX_V2_HEADER};
use crate::codec::reply_writer::ServerReply;
use crate::error::Error;
use crate::sasl::{Credentials, Mechanism};

use crate::server::{
    Cidr, CloseReason, Decision, HelloKind, MessageAbort, PeerInfo, ServerConfig, ServerConnection,
    ServerEvent, ServerTranscriptLine, XclientAttribute,
};
use crate::time::Timestamp;
use crate::tls::{TlsAcceptor, TlsInfo};

/// How often a connection waiting for input looks at the shutdown flag.
const SHUTDOWN_POLL: Duration = Duration::from_millis(200);
/// How long a write may block when the configuration has no read timeout.
const DEFAULT_WRITE_TIMEOUT: Duration = Duration::from_secs(300);
/// Socket reads are this large.
const READ_BUFFER: usize = 64 * 1024;
/// The default cap on open connections (smtp-wasm/server's `maxConnections` default).
pub const DEFAULT_MAX_CONNECTIONS: usize = 1000;
/// How long the accepting thread may spend telling a connection over the cap to go away.
const REFUSAL_WRITE_TIMEOUT: Duration = Duration::from_secs(1);
/// The first and the longest pause before accepting again when the process ran out of descriptors (go-smtp's and
/// Go's net/http backoff: 5 ms, doubling, at most 1 s).
const ACCEPT_PAUSE_MIN: Duration = Duration::from_millis(5);
const ACCEPT_PAUSE_MAX: Duration = Duration::from_secs(1);

/// The application's decisions for one connection (go-smtp's `Session`). Every method has a default: accept
/// the envelope, refuse AUTH, accept the message.
pub trait SessionHandler: Send {
    /// HELO/EHLO/LHLO.
    fn hello(&mut self, _kind: HelloKind, _name: &str) -> Decision {
        Decision::Accept
    }

    /// AUTH credentials (PLAIN and LOGIN give a password, XOAUTH2 and OAUTHBEARER a token). The default refuses
    /// (`535 5.7.8`): a server that offers AUTH must check something.
    fn auth(&mut self, _mechanism: Mechanism, _credentials: &Credentials) -> Decision {
        Decision::reply(535, (5, 7, 8), "Authentication credentials invalid")
    }

    /// MAIL FROM (`from` is empty for the null reverse path `<>`).
    fn mail(&mut self, _from: &str, _options: &ServerMailOptions) -> Decision {
        Decision::Accept
    }

    /// RCPT TO.
    fn rcpt(&mut self, _to: &str, _options: &ServerRcptOptions) -> Decision {
        Decision::Accept
    }

    /// A message starts (after `354`, or with the first BDAT chunk).
    fn message_start(&mut self, _bdat: bool) {}

    /// A piece of the message, un-dot-stuffed, in order. Returning a refusal ([`Decision::reply`]) refuses the
    /// message before its end (go-smtp's `Data` returning early): the rest is read and dropped, then that reply is
    /// sent; no more content arrives for it.
    fn content(&mut self, _chunk: &[u8]) -> Decision {
        Decision::Accept
    }

    /// The message is complete (`size` content bytes): accept to answer `250`, or refuse.
    fn message_end(&mut self, _size: u64) -> Decision {
        Decision::Accept
    }

    /// The message is complete, in LMTP mode: the overall decision and one per recipient (in the order given; a
    /// missing or `None` entry takes the overall one). The default applies [`SessionHandler::message_end`] to all.
    fn lmtp_message_end(&mut self, size: u64, _recipients: &[String]) -> (Decision, Vec<Option<Decision>>) {
        (self.message_end(size), Vec::new())
    }

    /// The message being received will not complete: drop what arrived of it.
    fn message_aborted(&mut self, _reason: MessageAbort) {}

    /// The transaction was reset (RSET, a new hello, STARTTLS, XCLIENT).
    fn reset(&mut self) {}

    /// XCLIENT (only offered when the configuration allows it for this peer).
    fn xclient(&mut self, _attributes: &[(XclientAttribute, Option<String>)]) -> Decision {
        Decision::Accept
    }

    /// The TLS handshake completed (implicit TLS, or after STARTTLS).
    fn tls_established(&mut self, _info: &TlsInfo) {}

    /// A protocol line (with `transcript` on in the configuration).
    fn transcript(&mut self, _line: &ServerTranscriptLine) {}

    /// The session is over.
    fn closed(&mut self, _reason: CloseReason) {}
}

/// Makes a [`SessionHandler`] for each connection (go-smtp's `Backend`). Shared by every connection's thread.
pub trait Handler: Send + Sync + 'static {
    /// The per-connection handler.
    type Session: SessionHandler + 'static;

    /// Adjusts the configuration for one peer (for example `xclient_allowed` for a trusted proxy). Called before
    /// [`Handler::connect`].
    fn configure(&self, _peer: &PeerInfo, _config: &mut ServerConfig) {}

    /// A new connection; `None` refuses it (`421` instead of the greeting).
    fn connect(&self, peer: &PeerInfo) -> Option<Self::Session>;
}

/// Stops a [`BlockingServer`] from any thread: the accept loops end, and open sessions get `421` and are closed.
#[derive(Debug, Clone)]
pub struct ShutdownHandle {
    state: Arc<ShutdownState>,
}

#[derive(Debug, Default)]
struct ShutdownState {
    stopping: AtomicBool,
    /// The addresses being listened on, to wake their blocked `accept`.
    listening: Mutex<Vec<SocketAddr>>,
}

impl ShutdownHandle {
    /// Begins the shutdown; [`BlockingServer::serve`] returns once every connection has closed.
    pub fn shutdown(&self) {
        self.state.stopping.store(true, Ordering::SeqCst);
        let addresses = self
            .state
            .listening
            .lock()
            .map(|list| list.clone())
            .unwrap_or_default();
        for address in addresses {
            // A connection to ourselves wakes the blocked accept, which then sees the flag.
            let _ = TcpStream::connect_timeout(&address, Duration::from_secs(1));
        }
    }

    /// Whether [`ShutdownHandle::shutdown`] was called.
    #[must_use]
    pub fn is_shutting_down(&self) -> bool {
        self.state.stopping.load(Ordering::SeqCst)
    }
}

/// A blocking SMTP/LMTP server over [`std::net`]: a thread per connection, each driving one
/// [`ServerConnection`] (the session over TLS). The application decides through a [`Handler`] (go-smtp's
/// `Backend`), which makes a [`SessionHandler`] (go-smtp's `Session`) for each connection.
///
/// ```no_run
/// use smtp_wasm::blocking::{BlockingServer, Handler, SessionHandler};
/// use smtp_wasm::{Decision, PeerInfo, ServerConfig};
///
/// struct Backend;
/// struct Session(Vec<u8>);
///
/// impl Handler for Backend {
///     type Session = Session;
///     fn connect(&self, _peer: &PeerInfo) -> Option<Session> {
///         Some(Session(Vec::new()))
///     }
/// }
///
/// impl SessionHandler for Session {
///     fn content(&mut self, chunk: &[u8]) -> Decision {
///         self.0.extend_from_slice(chunk);
///         Decision::Accept
///     }
///     fn message_end(&mut self, _size: u64) -> Decision {
///         println!("{}", String::from_utf8_lossy(&self.0));
///         self.0.clear();
///         Decision::Accept
///     }
/// }
///
/// let server = BlockingServer::new(ServerConfig::new("mx.example.test"), Backend);
/// let listener = std::net::TcpListener::bind("127.0.0.1:2525").unwrap();
/// server.serve(listener, false).unwrap(); // until server.shutdown_handle().shutdown()
/// ```
pub struct BlockingServer<H: Handler> {
    config: ServerConfig,
    tls: Option<TlsAcceptor>,
    handler: Arc<H>,
    shutdown: ShutdownHandle,
    /// The cap on connections open at once (0: none), and how many are (shared by clones and every listener).
    max_connections: usize,
    open: Arc<AtomicUsize>,
    /// Peers that must start with a PROXY protocol header (load balancers); shared by clones.
    proxies: Arc<Vec<Cidr>>,
}

impl<H: Handler> std::fmt::Debug for BlockingServer<H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlockingServer")
            .field("config", &self.config)
            .field("tls", &self.tls.is_some())
            .field("max_connections", &self.max_connections)
            .field("proxies", &self.proxies)
            .finish_non_exhaustive()
    }
}

impl<H: Handler> Clone for BlockingServer<H> {
    fn clone(&self) -> Self {
        BlockingServer {
            config: self.config.clone(),
            tls: self.tls.clone(),
            handler: Arc::clone(&self.handler),
            shutdown: self.shutdown.clone(),
            max_connections: self.max_connections,
            open: Arc::clone(&self.open),
            proxies: Arc::clone(&self.proxies),
        }
    }
}

impl<H: Handler> BlockingServer<H> {
    /// A server with this configuration and handler, without TLS.
    #[must_use]
    pub fn new(config: ServerConfig, handler: H) -> Self {
        BlockingServer {
            config,
            tls: None,
            handler: Arc::new(handler),
            shutdown: ShutdownHandle {
                state: Arc::new(ShutdownState::default()),
            },
            max_connections: DEFAULT_MAX_CONNECTIONS,
            open: Arc::new(AtomicUsize::new(0)),
            proxies: Arc::new(Vec::new()),
        }
    }

    /// Connections from these CIDRs (load balancers such as HAProxy, or a bare address) must start with a PROXY
    /// protocol header, version 1 or 2 (Postfix's `smtpd_upstream_proxy_protocol = haproxy`): the session then
    /// sees the client the header names (its address for [`PeerInfo`], `secure_nets` and the handler), or the
    /// proxy itself for a health check (`LOCAL`, `UNKNOWN`). A connection from such a peer without a valid header is
    /// closed without a reply; other peers are never asked for one (anyone could claim any address).
    ///
    /// # Errors
    /// [`Error::Usage`] naming a text that is not a CIDR.
    pub fn with_proxy_protocol(mut self, trusted: &[&str]) -> Result<Self, Error> {
        let cidrs = trusted
            .iter()
            .map(|text| Cidr::parse(text))
            .collect::<Result<Vec<_>, _>>()?;
        self.proxies = Arc::new(cidrs);
        Ok(self)
    }

    /// At most `max` connections open at once across every listener of this server (0: no cap; default
    /// [`DEFAULT_MAX_CONNECTIONS`]), since each holds a thread. One over the cap gets `421 4.7.0 Too many
    /// connections, try again later` from the accepting thread and is closed (on an implicit-TLS listener it is
    /// closed at once: answering would need a handshake).
    #[must_use]
    pub fn with_max_connections(mut self, max: usize) -> Self {
        self.max_connections = max;
        self
    }

    /// How many connections are open now.
    #[must_use]
    pub fn open_connections(&self) -> usize {
        self.open.load(Ordering::SeqCst)
    }

    /// Serves TLS with this certificate: STARTTLS on plaintext listeners, and implicit-TLS listeners.
    #[must_use]
    pub fn with_tls(mut self, acceptor: TlsAcceptor) -> Self {
        self.tls = Some(acceptor);
        self
    }

    /// The handler shared by every connection.
    #[must_use]
    pub fn handler(&self) -> &H {
        &self.handler
    }

    /// A handle that stops this server (and its clones) from another thread.
    #[must_use]
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        self.shutdown.clone()
    }

    /// Accepts connections on `listener` until [`ShutdownHandle::shutdown`], each on its own thread;
    /// `implicit_tls` makes it a port-465 style listener (needs [`BlockingServer::with_tls`]). Returns once every
    /// connection it accepted has closed.
    ///
    /// # Errors
    /// The listener's error (`accept` failing for another reason than a peer resetting early).
    pub fn serve(&self, listener: TcpListener, implicit_tls: bool) -> io::Result<()> {
        if implicit_tls && self.tls.is_none() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "an implicit-TLS listener needs a certificate (BlockingServer::with_tls)",
            ));
        }
        let local = listener.local_addr()?;
        if let Ok(mut list) = self.shutdown.state.listening.lock() {
            list.push(local);
        }
        let mut threads: Vec<JoinHandle<()>> = Vec::new();
        let mut pause: Option<Duration> = None;
        let result = loop {
            if self.shutdown.is_shutting_down() {
                break Ok(());
            }
            let (stream, _) = match listener.accept() {
                Ok(accepted) => accepted,
                Err(e) if is_transient_accept_error(&e) => continue,
                Err(e) if is_resource_exhaustion(&e) => {
                    // Out of descriptors (a burst of clients, a low `ulimit -n`): connections that close give them
                    // back. Returning the error would stop the server for good after the burst; pause and accept
                    // again instead, as go-smtp does.
                    let wait = pause.map_or(ACCEPT_PAUSE_MIN, |p| p.saturating_mul(2).min(ACCEPT_PAUSE_MAX));
                    pause = Some(wait);
                    std::thread::sleep(wait);
                    continue;
                }
                Err(e) => break Err(e),
            };
            pause = None;
            if self.shutdown.is_shutting_down() {
                break Ok(());
            }
            threads.retain(|thread| !thread.is_finished());
            let Some(slot) = OpenSlot::take(&self.open, self.max_connections) else {
                self.refuse_over_cap(stream, implicit_tls);
                continue;
            };
            let server = self.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("smtp {local}"))
                .spawn(move || {
                    let _slot = slot; // given back when the connection ends, however it ends
                                      // A connection's failure (a reset socket) ends only that connection.
                    let _ = server.serve_connection(stream, implicit_tls);
                });
            match spawned {
                Ok(thread) => threads.push(thread),
                Err(e) => break Err(e),
            }
        };
        for thread in threads {
            let _ = thread.join();
        }
        result
    }

    /// Tells a connection over [`BlockingServer::with_max_connections`] to come back later, without a thread.
    fn refuse_over_cap(&self, stream: TcpStream, implicit_tls: bool) {
        if !implicit_tls {
            let peer = PeerInfo {
                remote_ip: stream.peer_addr().ok().map(|a| a.ip()),
                ..PeerInfo::default()
            };
            let now = Timestamp::now();
            if let Ok(mut connection) = ServerConnection::new(self.config.clone(), peer, None, now) {
                let reply = ServerReply::new(421, (4, 7, 0), "Too many connections, try again later");
                connection.refuse_connection_with(reply, now);
                // A fresh socket's send buffer takes these few bytes at once; the timeout bounds a pathological one.
                let _ = stream.set_write_timeout(Some(REFUSAL_WRITE_TIMEOUT));
                let mut stream = &stream;
                while let Some(bytes) = connection.poll_transmit() {
                    if stream.write_all(&bytes).is_err() {
                        break;
                    }
                }
            }
        }
        let _ = stream.shutdown(Shutdown::Both);
    }

    /// Runs one connection on the calling thread until it closes.
    ///
    /// # Errors
    /// The socket's error (a reset, a write that failed); [`io::ErrorKind::InvalidInput`] for a configuration the
    /// session refuses.
    pub fn serve_connection(&self, mut stream: TcpStream, implicit_tls: bool) -> io::Result<()> {
        stream.set_nodelay(true)?;
        let mut peer = PeerInfo {
            remote_ip: stream.peer_addr().ok().map(|a| a.ip()),
            remote_port: stream.peer_addr().ok().map(|a| a.port()),
            local_ip: stream.local_addr().ok().map(|a| a.ip()),
            local_port: stream.local_addr().ok().map(|a| a.port()),
            tls: implicit_tls,
            ..PeerInfo::default()
        };
        let mut early = Vec::new();
        if peer
            .remote_ip
            .is_some_and(|ip| self.proxies.iter().any(|net| net.contains(ip)))
        {
            let timeout = self
                .config
                .read_timeout
                .filter(|t| !t.is_zero())
                .unwrap_or(DEFAULT_WRITE_TIMEOUT);
            match read_proxy_header(&mut stream, timeout, &self.shutdown) {
                Ok((header, rest)) => {
                    if let Some(source) = header.source {
                        peer.remote_ip = Some(source.ip());
                        peer.remote_port = Some(source.port());
                    }
                    if let Some(destination) = header.destination {
                        peer.local_ip = Some(destination.ip());
                        peer.local_port = Some(destination.port());
                    }
                    early = rest;
                }
                Err(e) => {
                    let _ = stream.shutdown(Shutdown::Both);
                    return Err(e);
                }
            }
        }
        let mut config = self.config.clone();
        self.handler.configure(&peer, &mut config);
        // A client that stops reading must not hold a thread forever: writes time out like reads do.
        let write_timeout = config
            .read_timeout
            .filter(|t| !t.is_zero())
            .unwrap_or(DEFAULT_WRITE_TIMEOUT);
        stream.set_write_timeout(Some(write_timeout))?;
        let session = self.handler.connect(&peer);
        let now = Timestamp::now();
        let mut connection = ServerConnection::new(config, peer, self.tls.clone(), now).map_err(invalid)?;
        if !early.is_empty() {
            // What the client sent after the proxy's header, in the same read.
            connection.handle_input(&early, now);
        }
        let mut driver = Driver {
            connection,
            session,
            stream,
            shutdown: self.shutdown.clone(),
        };
        if driver.session.is_none() {
            // Refused by the handler: 421 in place of the greeting.
            driver.connection.refuse_connection(now);
        }
        let result = driver.run();
        let _ = driver.stream.shutdown(Shutdown::Both);
        result
    }
}

/// Reads a PROXY protocol header within `timeout` (or until the server shuts down); the header and the bytes that
/// followed it.
fn read_proxy_header(
    stream: &mut TcpStream,
    timeout: Duration,
    shutdown: &ShutdownHandle,
) -> io::Result<(crate::codec::proxy::ProxyHeader, Vec<u8>)> {
    let deadline = std::time::Instant::now() + timeout;
    let mut input: Vec<u8> = Vec::new();
    let mut buffer = [0u8; 512];
    loop {
        match parse_proxy_header(&input) {
            ProxyParse::Done { header, consumed } => return Ok((header, input.split_off(consumed))),
            ProxyParse::Invalid(why) => return Err(io::Error::new(io::ErrorKind::InvalidData, why)),
            ProxyParse::Incomplete => {}
        }
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() || input.len() > MAX_V2_HEADER || shutdown.is_shutting_down() {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "no PROXY protocol header in time",
            ));
        }
        // In slices, so that a shutdown is noticed while a proxy keeps silent.
        stream.set_read_timeout(Some(left.min(SHUTDOWN_POLL)))?;
        match stream.read(&mut buffer) {
            Ok(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "closed before the PROXY header",
                ))
            }
            Ok(n) => input.extend_from_slice(buffer.get(..n).unwrap_or_default()),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::Interrupted | io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) => {}
            Err(e) => return Err(e),
        }
    }
}

fn invalid(error: Error) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, error.to_string())
}

/// One of the server's connection slots, given back on drop.
struct OpenSlot(Arc<AtomicUsize>);

impl OpenSlot {
    /// A slot if fewer than `max` are taken (`max` 0: no cap).
    fn take(open: &Arc<AtomicUsize>, max: usize) -> Option<Self> {
        let taken = open.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
            (max == 0 || n < max).then_some(n + 1)
        });
        taken.ok().map(|_| OpenSlot(Arc::clone(open)))
    }
}

impl Drop for OpenSlot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Errors from `accept` that concern one would-be connection, not the listener.
fn is_transient_accept_error(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset | io::ErrorKind::Interrupted
    )
}

/// `accept` failed because the process or the system is out of descriptors or buffers (EMFILE, ENFILE, ENOBUFS,
/// ENOMEM; WSAEMFILE, WSAENOBUFS): it passes once connections close.
fn is_resource_exhaustion(error: &io::Error) -> bool {
    if error.kind() == io::ErrorKind::OutOfMemory {
        return true;
    }
    #[cfg(any(target_os = "linux", target_os = "android"))]
    const CODES: &[i32] = &[12, 23, 24, 105];
    #[cfg(all(unix, not(any(target_os = "linux", target_os = "android"))))]
    const CODES: &[i32] = &[12, 23, 24, 55];
    #[cfg(windows)]
    const CODES: &[i32] = &[10024, 10055];
    #[cfg(not(any(unix, windows)))]
    const CODES: &[i32] = &[];
    error.raw_os_error().is_some_and(|code| CODES.contains(&code))
}

/// One connection's loop.
struct Driver<S: SessionHandler> {
    connection: ServerConnection,
    /// `None` when the handler refused the connection.
    session: Option<S>,
    stream: TcpStream,
    shutdown: ShutdownHandle,
}

impl<S: SessionHandler> Driver<S> {
    fn run(&mut self) -> io::Result<()> {
        let mut buffer = vec![0u8; READ_BUFFER];
        let mut shutdown_sent = false;
        loop {
            self.handle_events();
            self.write_out()?;
            if self.connection.is_closed() {
                return Ok(());
            }
            if self.shutdown.is_shutting_down() && !shutdown_sent {
                shutdown_sent = true;
                self.connection.shutdown(Timestamp::now());
                continue;
            }
            if !self.connection.wants_input() {
                // Every decision is answered synchronously above; this only happens after the end.
                return Ok(());
            }
            let now = Timestamp::now();
            let wait = match self.connection.poll_timeout() {
                Some(deadline) if deadline <= now => {
                    self.connection.handle_timeout(now);
                    continue;
                }
                Some(deadline) => deadline.saturating_duration_since(now).min(SHUTDOWN_POLL),
                None => SHUTDOWN_POLL,
            };
            self.stream
                .set_read_timeout(Some(wait.max(Duration::from_millis(1))))?;
            match self.stream.read(&mut buffer) {
                Ok(0) => self.connection.handle_eof(Timestamp::now()),
                Ok(n) => {
                    let input = buffer.get(..n).unwrap_or_default();
                    self.connection.handle_input(input, Timestamp::now());
                }
                Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
                    self.connection.handle_timeout(Timestamp::now());
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.connection.handle_eof(Timestamp::now());
                    self.handle_events();
                    return Err(e);
                }
            }
        }
    }

    fn write_out(&mut self) -> io::Result<()> {
        while let Some(bytes) = self.connection.poll_transmit() {
            self.stream.write_all(&bytes)?;
        }
        Ok(())
    }

    /// Answers every event the connection has, until it has none.
    fn handle_events(&mut self) {
        while let Some(event) = self.connection.poll_event() {
            let now = Timestamp::now();
            let Some(session) = self.session.as_mut() else {
                continue;
            };
            // An answer can only fail for an id that is not pending (the session closed meanwhile): nothing to do.
            let _ = match event {
                ServerEvent::Hello { id, kind, name } => {
                    let decision = session.hello(kind, &name);
                    self.connection.answer(id, decision, now)
                }
                ServerEvent::Auth {
                    id,
                    mechanism,
                    credentials,
                } => {
                    let decision = session.auth(mechanism, &credentials);
                    self.connection.answer(id, decision, now)
                }
                ServerEvent::Mail { id, from, options } => {
                    let decision = session.mail(&from, &options);
                    self.connection.answer(id, decision, now)
                }
                ServerEvent::Rcpt { id, to, options } => {
                    let decision = session.rcpt(&to, &options);
                    self.connection.answer(id, decision, now)
                }
                ServerEvent::MessageStart { bdat } => {
                    session.message_start(bdat);
                    Ok(())
                }
                ServerEvent::Content(chunk) => {
                    let decision = session.content(&chunk);
                    self.connection.content_read(chunk.len(), now);
                    match decision {
                        Decision::Reply(reply) if !(200..300).contains(&reply.code()) => {
                            self.connection.refuse_message(reply, now)
                        }
                        _ => Ok(()),
                    }
                }
                ServerEvent::MessageEnd { id, size } => {
                    let decision = session.message_end(size);
                    self.connection.answer(id, decision, now)
                }
                ServerEvent::LmtpMessageEnd { id, size, recipients } => {
                    let (overall, per_recipient) = session.lmtp_message_end(size, &recipients);
                    self.connection.answer_lmtp(id, overall, per_recipient, now)
                }
                ServerEvent::MessageAborted { reason } => {
                    session.message_aborted(reason);
                    Ok(())
                }
                ServerEvent::Reset => {
                    session.reset();
                    Ok(())
                }
                ServerEvent::Xclient { id, attributes } => {
                    let decision = session.xclient(&attributes);
                    self.connection.answer(id, decision, now)
                }
                ServerEvent::Transcript(line) => {
                    session.transcript(&line);
                    Ok(())
                }
                ServerEvent::Closed { reason } => {
                    session.closed(reason);
                    Ok(())
                }
                ServerEvent::TlsEstablished { info } => {
                    session.tls_established(&info);
                    Ok(())
                }
                ServerEvent::StartTls | ServerEvent::Quit => Ok(()),
            };
        }
    }
}
