//! The TLS layer: rustls inside the library, sans-IO, so whatever carries the bytes (a socket, a WebSocket bridge,
//! an edge proxy) only ever sees ciphertext.
//!
//! A [`TlsConnector`] holds the configuration (trusted roots, verification policy) and the session-ticket cache; it
//! is meant to live as long as the client, so that a reconnect resumes the previous session. Each
//! [`TlsConnector::connect`] makes a [`TlsLayer`]: one client connection whose handshake starts at once.
//!
//! The layer is driven like the rest of the core: feed what the network delivered with
//! [`TlsLayer::handle_ciphertext`] (decrypted data comes back in the same call), queue data with
//! [`TlsLayer::write_plaintext`], and after **every** call drain [`TlsLayer::poll_ciphertext`] and send what it
//! gives, even after an error (rustls queues an alert telling the server why the connection failed).
//!
//! Certificates are checked against the `now` handed to `connect` and `handle_ciphertext`, never against a system
//! clock: `wasm32-unknown-unknown` has none.

mod client_cert;
mod der;
mod errors;
mod provider;
pub mod roots;
#[cfg(feature = "server")]
mod server;
mod stream;
mod verify;

#[cfg(feature = "server")]
pub use server::{SniCertificate, TlsAcceptor, TlsServerLayer, TlsServerOptions, MAX_EARLY_SERVER_PLAINTEXT};

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rustls::client::danger::ServerCertVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::time_provider::TimeProvider;
use rustls::{
    CertificateError, ClientConfig, ClientConnection, HandshakeKind, ProtocolVersion, RootCertStore,
};

use crate::error::{Error, Field, InputError, InputErrorReason, TlsError, TlsErrorKind};
use crate::time::Timestamp;
pub use client_cert::ClientCertificate;
#[cfg(not(feature = "client-key-signing"))]
pub use client_cert::{set_client_key_loader, ClientKeyLoader};
use stream::{Peer, TlsStream};

/// Plaintext accepted by [`TlsLayer::write_plaintext`] before the handshake completes. SMTP sends nothing before
/// the server's greeting, which itself comes after the handshake, so anything near this is a bug upstream.
pub const MAX_EARLY_PLAINTEXT: usize = 64 * 1024;

/// How the server's certificate is verified.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsOptions {
    /// Extra trusted roots in PEM (`rootCertificates`); each string may hold several certificates. They are added
    /// to the Mozilla roots (webpki-roots) unless [`TlsOptions::only_given_roots`] is set.
    pub root_certificates_pem: Vec<String>,
    /// Trust only [`TlsOptions::root_certificates_pem`], not the Mozilla roots.
    pub only_given_roots: bool,
    /// Accept any certificate: unknown issuer, wrong name, expired. The handshake signatures are still verified,
    /// so the server must hold the key of the certificate it presents. For tests only: this gives up the
    /// protection TLS is for.
    pub dangerously_accept_invalid_certificates: bool,
    /// A certificate to present when the server asks for one (for SASL EXTERNAL). Default: none.
    pub client_certificate: Option<ClientCertificate>,
}

/// The TLS client configuration, reusable across connections: it holds the rustls `ClientConfig` (behind an `Arc`)
/// and with it the session cache, so a second [`TlsConnector::connect`] to the same server resumes the session.
#[derive(Debug, Clone)]
pub struct TlsConnector {
    config: Arc<ClientConfig>,
}

impl TlsConnector {
    /// A connector for `options`.
    ///
    /// # Errors
    /// [`Error::Tls`] of kind [`TlsErrorKind::Other`] if a root certificate is not valid PEM or not a valid
    /// certificate (the message names which one), or if `only_given_roots` is set with no root given.
    pub fn new(options: &TlsOptions) -> Result<TlsConnector, Error> {
        let provider = Arc::new(provider::provider());
        let roots = root_store(options)?;
        let verifier: Arc<dyn ServerCertVerifier> = if options.dangerously_accept_invalid_certificates {
            Arc::new(verify::AcceptAnyCertificate::new(
                provider.signature_verification_algorithms,
            ))
        } else {
            if roots.is_empty() {
                return Err(config_error(
                    "onlyGivenRoots is set but rootCertificates holds no certificate: nothing would be trusted",
                ));
            }
            Arc::new(verify::DiagnosingVerifier::new(
                Arc::new(roots),
                provider.signature_verification_algorithms,
            ))
        };
        let config = client_config(provider, verifier, options.client_certificate.as_ref())?;
        Ok(TlsConnector {
            config: Arc::new(config),
        })
    }

    /// Starts a client connection to `server_name`: a DNS name, or an IP address (RFC 6066: no SNI is sent then,
    /// and the certificate must name the address). IPv6 addresses may be given in brackets (`[::1]`). The
    /// ClientHello is queued at once: drain [`TlsLayer::poll_ciphertext`].
    ///
    /// # Errors
    /// [`Error::InvalidInput`] (field [`Field::Option`]) if `server_name` is neither a DNS name nor an IP address;
    /// [`Error::Tls`] if rustls cannot start (no randomness available, for example).
    pub fn connect(&self, server_name: &str, now: Timestamp) -> Result<TlsLayer, Error> {
        let name = parse_server_name(server_name)?;
        // Each connection gets its own clock so two connections fed different `now`s cannot disturb each other;
        // the verifier and the session cache are the shared `Arc`s, which rustls needs to resume.
        let clock = Arc::new(AtomicU64::new(now.as_unix_millis()));
        let mut config = ClientConfig::clone(&self.config);
        config.time_provider = Arc::new(InjectedClock(Arc::clone(&clock)));
        let mut conn = ClientConnection::new(Arc::new(config), name)
            .map_err(|e| Error::Tls(errors::from_rustls(&e, server_name)))?;
        // Unbounded inside rustls: early plaintext is bounded here instead, and ciphertext is the caller's to
        // drain after every call.
        conn.set_buffer_limit(None);
        Ok(TlsLayer {
            stream: TlsStream::new(conn, clock, &SERVER, MAX_EARLY_PLAINTEXT),
            server_name: server_name.to_owned(),
        })
    }
}

fn config_error(message: impl Into<String>) -> Error {
    Error::Tls(TlsError {
        kind: TlsErrorKind::Other,
        message: message.into(),
    })
}

fn root_store(options: &TlsOptions) -> Result<RootCertStore, Error> {
    let mut roots = RootCertStore::empty();
    if !options.only_given_roots && !options.dangerously_accept_invalid_certificates {
        if !roots::mozilla_roots_loaded() {
            return Err(config_error(
                "the Mozilla root store is not loaded (this build has no compiled-in roots): load it first \
                 (loadMozillaRoots), or trust only your own roots (onlyRootCertificates)",
            ));
        }
        roots.extend(roots::mozilla_roots().iter().cloned());
    }
    for (index, pem) in options.root_certificates_pem.iter().enumerate() {
        let mut found = 0usize;
        for certificate in CertificateDer::pem_slice_iter(pem.as_bytes()) {
            found += 1;
            let certificate = certificate.map_err(|e| {
                let why = match e {
                    pem::Error::MissingSectionEnd { .. } => {
                        "a BEGIN line has no matching END line".to_owned()
                    }
                    pem::Error::IllegalSectionStart { .. } => "a BEGIN line is malformed".to_owned(),
                    pem::Error::Base64Decode(_) => "the base64 between BEGIN and END is malformed".to_owned(),
                    other => other.to_string(),
                };
                config_error(format!("rootCertificates[{index}] is not valid PEM: {why}"))
            })?;
            roots.add(certificate).map_err(|e| {
                let why = match e {
                    rustls::Error::InvalidCertificate(CertificateError::BadEncoding) => {
                        "malformed DER".to_owned()
                    }
                    other => other.to_string(),
                };
                config_error(format!(
                    "rootCertificates[{index}]: certificate {found} is not a valid X.509 certificate ({why})"
                ))
            })?;
        }
        if found == 0 {
            return Err(config_error(format!(
                "rootCertificates[{index}] holds no PEM certificate (expected -----BEGIN CERTIFICATE-----)"
            )));
        }
    }
    Ok(roots)
}

fn client_config(
    provider: Arc<CryptoProvider>,
    verifier: Arc<dyn ServerCertVerifier>,
    client_certificate: Option<&ClientCertificate>,
) -> Result<ClientConfig, Error> {
    // The shared config never reads time itself: every connection replaces this with its own injected clock.
    let builder = ClientConfig::builder_with_details(provider, Arc::new(NoClock))
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| config_error(format!("cannot configure TLS: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    match client_certificate {
        None => Ok(builder.with_no_client_auth()),
        Some(certificate) => Ok(builder.with_client_cert_resolver(certificate.resolver()?)),
    }
}

fn parse_server_name(server_name: &str) -> Result<ServerName<'static>, Error> {
    let invalid = |reason| Error::InvalidInput(InputError::new(Field::Option, reason));
    if server_name.is_empty() {
        return Err(invalid(InputErrorReason::Empty));
    }
    let bare = server_name
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
        .unwrap_or(server_name);
    ServerName::try_from(bare.to_owned()).map_err(|_| {
        invalid(InputErrorReason::Syntax(
            "serverName is neither a valid DNS name nor an IP address",
        ))
    })
}

/// The clock of one connection: the latest `now` the caller handed in.
#[derive(Debug)]
struct InjectedClock(Arc<AtomicU64>);

impl TimeProvider for InjectedClock {
    fn current_time(&self) -> Option<UnixTime> {
        let millis = self.0.load(Ordering::Relaxed);
        Some(UnixTime::since_unix_epoch(Duration::from_millis(millis)))
    }
}

/// The connector's placeholder clock; never consulted (see `client_config`), and says so if it ever were.
#[derive(Debug)]
struct NoClock;

impl TimeProvider for NoClock {
    fn current_time(&self) -> Option<UnixTime> {
        None
    }
}

/// One TLS client connection, sans-IO. Made by [`TlsConnector::connect`]; the ClientHello is already queued.
///
/// After any call, drain [`TlsLayer::poll_ciphertext`]. Once a method returned an error the connection is dead:
/// every later call returns the same error (but `poll_ciphertext` still yields the alert rustls queued).
#[derive(Debug)]
pub struct TlsLayer {
    stream: TlsStream<ClientConnection>,
    server_name: String,
}

/// How the client's messages name the other side.
static SERVER: Peer = Peer {
    name: "server",
    eof_before_handshake:
        "the server closed the connection during the TLS handshake, without answering (is it an \
                           implicit TLS port? does it support TLS 1.2 or 1.3?)",
    eof_during_handshake: "the server closed the connection during the TLS handshake",
};

impl TlsLayer {
    // ---- getters ----

    /// Whether the handshake is still under way (false once it completed, or failed).
    #[must_use]
    pub fn is_handshaking(&self) -> bool {
        self.stream.is_handshaking()
    }

    /// Whether the server sent close_notify: it will send nothing more.
    #[must_use]
    pub fn is_closed_by_peer(&self) -> bool {
        self.stream.is_closed_by_peer()
    }

    /// What was negotiated, once the handshake completed (`None` before, and after a failure).
    #[must_use]
    pub fn info(&self) -> Option<TlsInfo> {
        if self.stream.is_established() {
            let conn = &self.stream.conn;
            let protocol_version = match conn.protocol_version()? {
                ProtocolVersion::TLSv1_3 => "TLSv1.3".to_owned(),
                ProtocolVersion::TLSv1_2 => "TLSv1.2".to_owned(),
                other => format!("0x{:04x}", u16::from(other)),
            };
            let cipher_suite = provider::iana_name(conn.negotiated_cipher_suite()?.suite());
            let peer_certificates: Vec<Vec<u8>> = conn
                .peer_certificates()
                .map(|chain| chain.iter().map(|cert| cert.as_ref().to_vec()).collect())
                .unwrap_or_default();
            // The leaf's names, read once here with the DER reader the error messages use (so no caller needs its
            // own X.509 parser to show who it is talking to).
            let names = peer_certificates.first().and_then(|leaf| der::cert_names(leaf));
            let subject = names.and_then(|n| der::display_name(n.subject));
            let issuer = names.and_then(|n| der::display_name(n.issuer));
            let not_after = names.and_then(|n| der::not_after_millis(n.validity));
            Some(TlsInfo {
                protocol_version,
                cipher_suite,
                server_name: self.server_name.clone(),
                subject,
                issuer,
                not_after,
                peer_certificates,
                resumed: conn.handshake_kind() == Some(HandshakeKind::Resumed),
            })
        } else {
            None
        }
    }

    // ---- inputs ----

    /// Feeds ciphertext from the network, in any fragmentation; decrypted plaintext is appended to `plaintext`.
    /// `now` is the current time, against which certificates are checked.
    ///
    /// # Errors
    /// A [`TlsError`] whose kind says what failed: certificate problems, an alert from the server, a server that
    /// does not speak TLS ([`TlsErrorKind::NotTls`]), or a protocol violation. The connection is dead then; drain
    /// [`TlsLayer::poll_ciphertext`] to tell the server.
    pub fn handle_ciphertext(
        &mut self,
        bytes: &[u8],
        now: Timestamp,
        plaintext: &mut Vec<u8>,
    ) -> Result<(), TlsError> {
        let server_name = &self.server_name;
        self.stream
            .handle_ciphertext(bytes, now, plaintext, not_tls_error, |e| {
                errors::from_rustls(e, server_name)
            })
    }

    /// The peer closed the transport (the socket's EOF).
    ///
    /// # Errors
    /// [`TlsErrorKind::ClosedDuringHandshake`] if the handshake had not completed; [`TlsErrorKind::Other`] if the
    /// connection was cut in the middle of a TLS record (truncated data). A close without close_notify between
    /// records is accepted: many SMTP servers close that way after `221`, and SMTP's own framing detects
    /// truncation.
    pub fn handle_eof(&mut self) -> Result<(), TlsError> {
        self.stream.handle_eof()
    }

    // ---- mutators ----

    /// Queues plaintext to encrypt. Allowed during the handshake: it is buffered (up to [`MAX_EARLY_PLAINTEXT`]
    /// bytes) and encrypted once the handshake completes.
    ///
    /// # Errors
    /// The connection's error if it failed; [`TlsErrorKind::Other`] after [`TlsLayer::send_close_notify`], or if
    /// the early buffer would overflow (nothing is queued then).
    pub fn write_plaintext(&mut self, bytes: &[u8]) -> Result<(), TlsError> {
        self.stream.write_plaintext(bytes)
    }

    /// Queues a close_notify alert: the orderly end of the TLS stream. Nothing can be written after it.
    pub fn send_close_notify(&mut self) {
        self.stream.send_close_notify();
    }

    // ---- outputs ----

    /// Moves the pending ciphertext (handshake messages, application data, alerts) to the end of `out`.
    pub fn poll_ciphertext(&mut self, out: &mut Vec<u8>) {
        self.stream.poll_ciphertext(out);
    }
}

fn not_tls_error(first_bytes: &[u8]) -> TlsError {
    let hint = if first_bytes.first().is_some_and(u8::is_ascii_digit) {
        "it looks like a plaintext SMTP greeting: use STARTTLS on this port (usually 587 or 25), or implicit TLS \
         on port 465"
    } else if first_bytes.starts_with(b"HTTP/") {
        "it looks like an HTTP server: check the host, port or bridge URL"
    } else {
        "check that this port expects implicit TLS (usually 465)"
    };
    TlsError {
        kind: TlsErrorKind::NotTls,
        message: format!(
            "the server did not answer with TLS (it sent \"{}\"); {hint}",
            first_bytes.escape_ascii()
        ),
    }
}

/// What a completed handshake negotiated (`tlsInfo()` in the JavaScript API).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsInfo {
    /// `"TLSv1.3"` or `"TLSv1.2"`.
    pub protocol_version: String,
    /// The cipher suite's IANA name, such as `"TLS_AES_128_GCM_SHA256"`.
    pub cipher_suite: String,
    /// The server name the certificate was verified against, as given to [`TlsConnector::connect`]. On the
    /// server side (`TlsServerLayer::info`), the name the client asked for (SNI), empty when it sent none.
    pub server_name: String,
    /// The server's certificate chain in DER, leaf first (on the server side: empty, no client certificate is
    /// asked for).
    pub peer_certificates: Vec<Vec<u8>>,
    /// The leaf certificate's subject, readable (`CN=mx.example.org, O=Example`: CN, O, OU and C), if it has one.
    pub subject: Option<String>,
    /// The leaf certificate's issuer, in the same form.
    pub issuer: Option<String>,
    /// When the leaf certificate expires, in milliseconds since the UNIX epoch.
    pub not_after: Option<u64>,
    /// Whether the handshake resumed an earlier session (a ticket from a previous connection of the same
    /// [`TlsConnector`]).
    pub resumed: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root_count(options: &TlsOptions) -> usize {
        root_store(options).map(|roots| roots.len()).unwrap_or(0)
    }

    #[test]
    fn mozilla_roots_are_included_unless_only_given_roots() {
        let defaults = root_count(&TlsOptions::default());
        assert!(defaults > 100, "{defaults} roots");
        let only = TlsOptions {
            only_given_roots: true,
            ..TlsOptions::default()
        };
        assert_eq!(root_count(&only), 0);
    }

    #[test]
    fn server_names() {
        assert!(parse_server_name("mail.example.org").is_ok());
        assert!(parse_server_name("127.0.0.1").is_ok());
        assert!(parse_server_name("[::1]").is_ok());
        assert!(parse_server_name("").is_err());
        assert!(parse_server_name("bad name").is_err());
    }
}
