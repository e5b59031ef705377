//! The TLS server role: rustls' `ServerConnection`, sans-IO, for STARTTLS and implicit TLS (port 465).
//!
//! A [`TlsAcceptor`] holds the certificate chain, the private key and the session cache; it is meant to live as long
//! as the server, so that a client reconnecting resumes its session. Each [`TlsAcceptor::accept`] makes a
//! [`TlsServerLayer`]: one connection, waiting for the client's ClientHello.
//!
//! The layer is driven like the client's [`TlsLayer`](super::TlsLayer): feed what the network delivered with
//! [`TlsServerLayer::handle_ciphertext`] (decrypted data comes back in the same call), queue data with
//! [`TlsServerLayer::write_plaintext`], and after **every** call drain [`TlsServerLayer::poll_ciphertext`] and send
//! what it gives, even after an error (rustls queues an alert telling the client why the connection failed).
//!
//! The certificate and key are PEM: an RSA, ECDSA (P-256, P-384) or Ed25519 key in PKCS#8 (`BEGIN PRIVATE KEY`),
//! PKCS#1 (`BEGIN RSA PRIVATE KEY`) or SEC1 (`BEGIN EC PRIVATE KEY`). More certificates may be served by the name
//! the client asks for (SNI, [`TlsServerOptions::with_sni_certificate`]), the first one to every other client. Time
//! (for session tickets) comes from the `now` handed in, never from a system clock: `wasm32-unknown-unknown` has
//! none.

use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, DnsName, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert, WantsServerCert};
use rustls::sign::{CertifiedKey, SingleCertAndKey};
use rustls::{
    AlertDescription, ConfigBuilder, HandshakeKind, PeerIncompatible, ProtocolVersion, ServerConfig,
    ServerConnection,
};

use super::stream::{Peer, TlsStream};
use super::{errors, provider, InjectedClock, NoClock, TlsInfo};
use crate::error::{Error, TlsError, TlsErrorKind};
use crate::time::Timestamp;

/// Plaintext accepted by [`TlsServerLayer::write_plaintext`] before the handshake completes (an implicit-TLS
/// greeting is written at once and waits there). Anything near this is a bug upstream.
pub const MAX_EARLY_SERVER_PLAINTEXT: usize = 64 * 1024;

/// The server's certificate and what it offers.
#[derive(Clone, PartialEq, Eq)]
pub struct TlsServerOptions {
    /// The certificate chain in PEM, leaf first (a `fullchain.pem`). Other PEM sections (a key) are ignored.
    pub certificate_chain_pem: String,
    /// The leaf's private key in PEM: PKCS#8, PKCS#1 (RSA) or SEC1 (EC), not encrypted. Certificates in the same
    /// text are ignored, so one file holding both may be given twice.
    pub private_key_pem: String,
    /// Offer TLS 1.2 as well as 1.3 (the default: many MTAs still speak only 1.2).
    pub tls12: bool,
    /// Offer TLS 1.3 (the default).
    pub tls13: bool,
    /// Certificates served instead to clients asking for their names (SNI); the one above goes to every other
    /// client, and to clients that send no name.
    pub sni: Vec<SniCertificate>,
}

/// A certificate served to clients that ask for `server_name` in their ClientHello (SNI).
#[derive(Clone, PartialEq, Eq)]
pub struct SniCertificate {
    /// A host name (`mx.example.org`, any case), or `*.example.org` for every name one label below it. An exact
    /// name wins over a wildcard.
    pub server_name: String,
    /// As [`TlsServerOptions::certificate_chain_pem`].
    pub certificate_chain_pem: String,
    /// As [`TlsServerOptions::private_key_pem`].
    pub private_key_pem: String,
}

impl std::fmt::Debug for SniCertificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SniCertificate")
            .field("server_name", &self.server_name)
            .field("certificate_chain_pem", &self.certificate_chain_pem)
            .field("private_key_pem", &"<redacted>")
            .finish()
    }
}

impl TlsServerOptions {
    /// Options for this certificate chain and key, offering TLS 1.2 and 1.3.
    #[must_use]
    pub fn new(certificate_chain_pem: impl Into<String>, private_key_pem: impl Into<String>) -> Self {
        TlsServerOptions {
            certificate_chain_pem: certificate_chain_pem.into(),
            private_key_pem: private_key_pem.into(),
            tls12: true,
            tls13: true,
            sni: Vec::new(),
        }
    }

    /// These options with another certificate, served to clients that ask for `server_name` (SNI).
    #[must_use]
    pub fn with_sni_certificate(
        mut self,
        server_name: impl Into<String>,
        certificate_chain_pem: impl Into<String>,
        private_key_pem: impl Into<String>,
    ) -> Self {
        self.sni.push(SniCertificate {
            server_name: server_name.into(),
            certificate_chain_pem: certificate_chain_pem.into(),
            private_key_pem: private_key_pem.into(),
        });
        self
    }
}

impl std::fmt::Debug for TlsServerOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The private key never goes into a log line.
        f.debug_struct("TlsServerOptions")
            .field("certificate_chain_pem", &self.certificate_chain_pem)
            .field("private_key_pem", &"<redacted>")
            .field("tls12", &self.tls12)
            .field("tls13", &self.tls13)
            .field("sni", &self.sni)
            .finish()
    }
}

/// The TLS server configuration, reusable across connections: the rustls `ServerConfig` (behind an `Arc`) with
/// the certificate, the signing key and the session cache that lets a returning client resume.
#[derive(Debug, Clone)]
pub struct TlsAcceptor {
    config: Arc<ServerConfig>,
}

impl TlsAcceptor {
    /// An acceptor serving `options`' certificate.
    ///
    /// # Errors
    /// [`Error::Tls`]: of kind [`TlsErrorKind::BadCertificate`] when the chain is not PEM, holds no certificate or
    /// its first certificate is not valid X.509; of kind [`TlsErrorKind::Other`] when the key is not PEM, is
    /// encrypted, is of an unsupported type, or does not belong to the leaf certificate, or when no TLS version is
    /// enabled. The message says which.
    pub fn new(options: &TlsServerOptions) -> Result<TlsAcceptor, Error> {
        let default = certified_key(&options.certificate_chain_pem, &options.private_key_pem)?;
        let mut by_name: Vec<(String, Arc<CertifiedKey>)> = Vec::new();
        for sni in &options.sni {
            let name = sni_name(&sni.server_name)?;
            if by_name.iter().any(|(seen, _)| *seen == name) {
                return Err(Error::Usage(format!(
                    "tls.sni: {:?} is given twice",
                    sni.server_name
                )));
            }
            let key =
                certified_key(&sni.certificate_chain_pem, &sni.private_key_pem).map_err(|e| match e {
                    Error::Tls(mut error) => {
                        error.message =
                            format!("the certificate for {:?}: {}", sni.server_name, error.message);
                        Error::Tls(error)
                    }
                    other => other,
                })?;
            by_name.push((name, Arc::new(key)));
        }
        let versions: Vec<&'static rustls::SupportedProtocolVersion> = [
            (options.tls13, &rustls::version::TLS13),
            (options.tls12, &rustls::version::TLS12),
        ]
        .into_iter()
        .filter_map(|(on, version)| on.then_some(version))
        .collect();
        if versions.is_empty() {
            return Err(key_error("neither TLS 1.2 nor TLS 1.3 is enabled"));
        }
        // The shared config never reads time itself: every connection replaces this with its own injected clock.
        let builder: ConfigBuilder<ServerConfig, WantsServerCert> =
            ServerConfig::builder_with_details(Arc::new(provider::provider()), Arc::new(NoClock))
                .with_protocol_versions(&versions)
                .map_err(|e| key_error(format!("cannot configure TLS: {e}")))?
                .with_no_client_auth();
        let resolver: Arc<dyn ResolvesServerCert> = if by_name.is_empty() {
            Arc::new(SingleCertAndKey::from(default))
        } else {
            Arc::new(SniResolver {
                default: Arc::new(default),
                by_name,
            })
        };
        let mut config = builder.with_cert_resolver(resolver);
        // On wasm32 the provider lists ChaCha20-Poly1305 first (no AES instructions: ring's software AES-GCM is
        // several times slower there), and the server's order decides: Node/OpenSSL and Go clients put AES-GCM
        // first because *they* have AES-NI, but the cost that matters here is ours. Natively the client's order
        // wins, as in Postfix (`tls_preempt_cipherlist = no`).
        config.ignore_client_order = cfg!(target_arch = "wasm32");
        Ok(TlsAcceptor {
            config: Arc::new(config),
        })
    }

    /// A server connection waiting for the client's ClientHello (right away for implicit TLS, after the `220`
    /// answering STARTTLS otherwise).
    ///
    /// # Errors
    /// [`Error::Tls`] if rustls cannot start (no randomness available, for example).
    pub fn accept(&self, now: Timestamp) -> Result<TlsServerLayer, Error> {
        // Each connection gets its own clock, as the client's do; the certificate and the session cache are the
        // shared `Arc`s.
        let clock = Arc::new(AtomicU64::new(now.as_unix_millis()));
        let mut config = ServerConfig::clone(&self.config);
        config.time_provider = Arc::new(InjectedClock(Arc::clone(&clock)));
        let mut conn = ServerConnection::new(Arc::new(config)).map_err(|e| Error::Tls(from_rustls(&e)))?;
        // Unbounded inside rustls: early plaintext is bounded here, and ciphertext is the caller's to drain after
        // every call.
        conn.set_buffer_limit(None);
        Ok(TlsServerLayer {
            stream: TlsStream::new(conn, clock, &CLIENT, MAX_EARLY_SERVER_PLAINTEXT),
        })
    }
}

/// The chain and key as rustls serves them, checked to belong together.
fn certified_key(chain_pem: &str, key_pem: &str) -> Result<CertifiedKey, Error> {
    let chain = certificate_chain(chain_pem)?;
    let key = private_key(key_pem)?;
    let signing_key = rustls::crypto::ring::sign::any_supported_type(&key).map_err(|_| {
        key_error(
            "the private key is not a supported key: RSA (2048 to 8192 bits), ECDSA P-256 or P-384, or Ed25519",
        )
    })?;
    let certified = CertifiedKey::new(chain, signing_key);
    match certified.keys_match() {
        Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch)) => Err(key_error(
            "the private key does not belong to the certificate (the first one in the chain must be the key's own \
             certificate)",
        )),
        // Unknown: rustls cannot tell (a key type it cannot compare); the handshake will.
        Ok(()) | Err(rustls::Error::InconsistentKeys(_)) => Ok(certified),
        Err(_) => Err(certificate_error(
            "the first certificate of the chain is not a valid X.509 certificate",
        )),
    }
}

/// An SNI name as it is matched: lower case, a DNS name or `*.` and one.
fn sni_name(text: &str) -> Result<String, Error> {
    let name = text.trim_end_matches('.').to_ascii_lowercase();
    let host = name.strip_prefix("*.").unwrap_or(&name);
    if host.contains('*')
        || DnsName::try_from(host).is_err()
        || !host.bytes().any(|b| b.is_ascii_alphabetic())
    {
        return Err(Error::Usage(format!(
            "tls.sni: {text:?} is not a host name (or *.domain)"
        )));
    }
    Ok(name)
}

/// Picks the certificate by the name in the ClientHello: an exact name, then a wildcard one label up, then the
/// default (also for clients that send no name, or an IP address, which SNI cannot carry).
#[derive(Debug)]
struct SniResolver {
    default: Arc<CertifiedKey>,
    by_name: Vec<(String, Arc<CertifiedKey>)>,
}

impl ResolvesServerCert for SniResolver {
    fn resolve(&self, client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let chosen = client_hello.server_name().and_then(|asked| {
            let asked = asked.to_ascii_lowercase();
            let parent = asked.split_once('.').map(|(_, parent)| parent);
            let exact = self.by_name.iter().find(|(name, _)| *name == asked);
            exact.or_else(|| {
                self.by_name.iter().find(|(name, _)| {
                    name.strip_prefix("*.")
                        .is_some_and(|domain| Some(domain) == parent)
                })
            })
        });
        Some(Arc::clone(chosen.map_or(&self.default, |(_, key)| key)))
    }
}

fn certificate_error(message: impl Into<String>) -> Error {
    Error::Tls(TlsError {
        kind: TlsErrorKind::BadCertificate,
        message: message.into(),
    })
}

fn key_error(message: impl Into<String>) -> Error {
    Error::Tls(TlsError {
        kind: TlsErrorKind::Other,
        message: message.into(),
    })
}

/// Why a PEM text did not parse, in words.
fn pem_problem(error: &pem::Error) -> String {
    match error {
        pem::Error::MissingSectionEnd { .. } => "a BEGIN line has no matching END line".to_owned(),
        pem::Error::IllegalSectionStart { .. } => "a BEGIN line is malformed".to_owned(),
        pem::Error::Base64Decode(_) => "the base64 between BEGIN and END is malformed".to_owned(),
        other => other.to_string(),
    }
}

fn certificate_chain(text: &str) -> Result<Vec<CertificateDer<'static>>, Error> {
    let chain = CertificateDer::pem_slice_iter(text.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| {
            certificate_error(format!(
                "the certificate chain is not valid PEM: {}",
                pem_problem(&e)
            ))
        })?;
    if chain.is_empty() {
        return Err(certificate_error(
            "the certificate chain holds no PEM certificate (expected -----BEGIN CERTIFICATE-----)",
        ));
    }
    Ok(chain)
}

fn private_key(text: &str) -> Result<PrivateKeyDer<'static>, Error> {
    PrivateKeyDer::from_pem_slice(text.as_bytes()).map_err(|e| match e {
        pem::Error::NoItemsFound if text.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----") => key_error(
            "the private key is encrypted; decrypt it first (openssl pkey -in key.pem -out plain.pem)",
        ),
        pem::Error::NoItemsFound => key_error(
            "no PEM private key found (expected -----BEGIN PRIVATE KEY-----, -----BEGIN RSA PRIVATE KEY----- or \
             -----BEGIN EC PRIVATE KEY-----)",
        ),
        other => key_error(format!("the private key is not valid PEM: {}", pem_problem(&other))),
    })
}

/// One TLS server connection, sans-IO. Made by [`TlsAcceptor::accept`].
///
/// Its mechanics (early plaintext, record tracking, the read loop) are the client [`TlsLayer`](super::TlsLayer)'s,
/// shared through `TlsStream` (src/tls/stream.rs) with the roles' messages swapped.
///
/// After any call, drain [`TlsServerLayer::poll_ciphertext`]. Once a method returned an error the connection is
/// dead: every later call returns the same error (but `poll_ciphertext` still yields the alert rustls queued).
#[derive(Debug)]
pub struct TlsServerLayer {
    stream: TlsStream<ServerConnection>,
}

/// How the server's messages name the other side.
static CLIENT: Peer = Peer {
    name: "client",
    eof_before_handshake: "the client closed the connection before starting the TLS handshake",
    eof_during_handshake: "the client closed the connection during the TLS handshake (does it trust the \
                           certificate?)",
};

impl TlsServerLayer {
    // ---- getters ----

    /// Whether the handshake is still under way (false once it completed, or failed).
    #[must_use]
    pub fn is_handshaking(&self) -> bool {
        self.stream.is_handshaking()
    }

    /// Whether the client sent close_notify: it will send nothing more.
    #[must_use]
    pub fn is_closed_by_peer(&self) -> bool {
        self.stream.is_closed_by_peer()
    }

    /// The server name the client asked for (SNI), once its ClientHello arrived; `None` when it sent none (an IP
    /// address, or an old client).
    #[must_use]
    pub fn server_name(&self) -> Option<&str> {
        self.stream.conn.server_name()
    }

    /// What was negotiated, once the handshake completed (`None` before, and after a failure).
    /// [`TlsInfo::server_name`] is the client's SNI (empty when it sent none); [`TlsInfo::peer_certificates`] is
    /// empty (client certificates are not asked for).
    #[must_use]
    pub fn info(&self) -> Option<TlsInfo> {
        if !self.stream.is_established() {
            return None;
        }
        let conn = &self.stream.conn;
        let protocol_version = match conn.protocol_version()? {
            ProtocolVersion::TLSv1_3 => "TLSv1.3".to_owned(),
            ProtocolVersion::TLSv1_2 => "TLSv1.2".to_owned(),
            other => format!("0x{:04x}", u16::from(other)),
        };
        Some(TlsInfo {
            protocol_version,
            cipher_suite: provider::iana_name(conn.negotiated_cipher_suite()?.suite()),
            server_name: conn.server_name().unwrap_or_default().to_owned(),
            peer_certificates: Vec::new(),
            subject: None,
            issuer: None,
            not_after: None,
            resumed: conn.handshake_kind() == Some(HandshakeKind::Resumed),
        })
    }

    // ---- inputs ----

    /// Feeds ciphertext from the network, in any fragmentation; decrypted plaintext is appended to `plaintext`.
    ///
    /// # Errors
    /// A [`TlsError`]: a client that does not speak TLS ([`TlsErrorKind::NotTls`]: plaintext SMTP on an
    /// implicit-TLS port), an alert from the client (it refused our certificate), no version or parameters in
    /// common ([`TlsErrorKind::ProtocolVersion`]), or a protocol violation. The connection is dead then; drain
    /// [`TlsServerLayer::poll_ciphertext`] to tell the client.
    pub fn handle_ciphertext(
        &mut self,
        bytes: &[u8],
        now: Timestamp,
        plaintext: &mut Vec<u8>,
    ) -> Result<(), TlsError> {
        self.stream
            .handle_ciphertext(bytes, now, plaintext, not_tls_error, from_rustls)
    }

    /// The client closed the transport (the socket's EOF).
    ///
    /// # Errors
    /// [`TlsErrorKind::ClosedDuringHandshake`] if the handshake had not completed (a client that does not trust
    /// the certificate often just hangs up); [`TlsErrorKind::Other`] if it was cut in the middle of a TLS record.
    /// A close without close_notify between records is accepted, as SMTP's own framing detects truncation.
    pub fn handle_eof(&mut self) -> Result<(), TlsError> {
        self.stream.handle_eof()
    }

    // ---- mutators ----

    /// Queues plaintext to encrypt. Allowed during the handshake: it is buffered (up to
    /// [`MAX_EARLY_SERVER_PLAINTEXT`] bytes) and encrypted once the handshake completes.
    ///
    /// # Errors
    /// The connection's error if it failed; [`TlsErrorKind::Other`] after [`TlsServerLayer::send_close_notify`],
    /// or if the early buffer would overflow (nothing is queued then).
    pub fn write_plaintext(&mut self, bytes: &[u8]) -> Result<(), TlsError> {
        self.stream.write_plaintext(bytes)
    }

    /// Drops the plaintext written during the handshake and not yet encrypted (a greeting that is to be replaced by
    /// a refusal); returns how many bytes were dropped.
    pub fn discard_early_plaintext(&mut self) -> usize {
        self.stream.discard_early_plaintext()
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
    let hint = if first_bytes.len() >= 4 && first_bytes.iter().take(4).all(u8::is_ascii_alphabetic) {
        "it looks like a plaintext SMTP command: the client expects plaintext (and STARTTLS) on this port, not \
         implicit TLS"
    } else {
        "this port expects implicit TLS"
    };
    TlsError {
        kind: TlsErrorKind::NotTls,
        message: format!(
            "the client did not start TLS (it sent \"{}\"); {hint}",
            first_bytes.escape_ascii()
        ),
    }
}

/// Maps a rustls error of a server connection, in terms of what the client did.
fn from_rustls(error: &rustls::Error) -> TlsError {
    let kind_message = |kind, message: String| TlsError { kind, message };
    match error {
        rustls::Error::AlertReceived(alert) => {
            let name = errors::alert_name(*alert);
            let message = match alert {
                AlertDescription::BadCertificate
                | AlertDescription::UnknownCA
                | AlertDescription::CertificateUnknown
                | AlertDescription::CertificateExpired
                | AlertDescription::UnsupportedCertificate
                | AlertDescription::DecryptError => format!(
                    "the client refused the server's certificate (it sent the {name} alert): is the chain \
                     complete, valid now, and does it name the host the client connected to?"
                ),
                _ => format!("the client sent the TLS alert {name}"),
            };
            kind_message(TlsErrorKind::AlertReceived, message)
        }
        rustls::Error::PeerIncompatible(incompatible) => match incompatible {
            PeerIncompatible::Tls12NotOfferedOrEnabled
            | PeerIncompatible::Tls13RequiredForQuic
            | PeerIncompatible::SupportedVersionsExtensionRequired => kind_message(
                TlsErrorKind::ProtocolVersion,
                "the client offers no TLS version the server accepts (TLS 1.2 and 1.3 only)".to_owned(),
            ),
            other => kind_message(
                TlsErrorKind::Other,
                format!("no TLS parameters in common with the client ({other:?})"),
            ),
        },
        rustls::Error::DecryptError => kind_message(
            TlsErrorKind::Other,
            "a TLS record from the client failed to decrypt: the data was corrupted or tampered with in transit"
                .to_owned(),
        ),
        rustls::Error::InvalidMessage(_)
        | rustls::Error::InappropriateMessage { .. }
        | rustls::Error::InappropriateHandshakeMessage { .. }
        | rustls::Error::PeerSentOversizedRecord
        | rustls::Error::PeerMisbehaved(_) => kind_message(
            TlsErrorKind::Other,
            format!("the client broke the TLS protocol: {error}"),
        ),
        other => kind_message(TlsErrorKind::Other, other.to_string()),
    }
}
