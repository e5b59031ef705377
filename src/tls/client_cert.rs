//! A TLS client certificate (RFC 8446 section 4.4.2 from the client's side): the chain and key a server that
//! authenticates clients by certificate asks for, typically followed by SASL EXTERNAL.

use std::fmt;
use std::sync::Arc;

use rustls::client::ResolvesClientCert;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::{CertifiedKey, SigningKey};
use rustls::SignatureScheme;

use super::der;
use crate::error::{Error, TlsError, TlsErrorKind};

/// A client certificate chain and its private key, both PEM (`clientCertificate: { cert, key }` in JavaScript).
#[derive(Clone, PartialEq, Eq)]
pub struct ClientCertificate {
    /// The certificate chain, leaf first, PEM (`-----BEGIN CERTIFICATE-----`, one or more).
    pub cert_pem: String,
    /// The leaf's private key, PEM: PKCS#8 (`BEGIN PRIVATE KEY`), PKCS#1 (`BEGIN RSA PRIVATE KEY`) or SEC1
    /// (`BEGIN EC PRIVATE KEY`).
    pub key_pem: String,
}

impl fmt::Debug for ClientCertificate {
    /// Never prints the key.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCertificate")
            .field("cert_pem", &format_args!("{} bytes", self.cert_pem.len()))
            .field("key_pem", &"<redacted>")
            .finish()
    }
}

impl ClientCertificate {
    /// A resolver that presents this certificate, or a TLS configuration error that says which part is wrong
    /// (never showing the key): the PEM, the key type, or a key that does not belong to the first certificate.
    /// With the cargo feature `client-key-signing` (default) the key is loaded with ring's signing code: every key
    /// type ring signs with (RSA, ECDSA P-256/P-384, Ed25519). Without it (the npm package's client wasm, where the
    /// signing code would add ~5 kB gzip to every download) the loader given to [`set_client_key_loader`] loads it;
    /// the npm package's is a separately loaded wasm module that signs with ECDSA P-256 and P-384.
    pub(crate) fn resolver(&self) -> Result<Arc<dyn ResolvesClientCert>, Error> {
        let (chain, key) = self.parse()?;
        let signing = load_key(&key)?;
        // The key must be the first certificate's (compared as rustls' `CertifiedKey::keys_match` does, with the DER
        // reader the error messages use): a mismatch is a configuration error now, not a refused handshake later.
        let Some(certificate) = chain.first().and_then(|leaf| der::cert_names(leaf)) else {
            return Err(config_error(
                "clientCertificate.cert: the first certificate is not valid X.509",
            ));
        };
        if signing
            .public_key()
            .is_some_and(|public_key| public_key.as_ref() != certificate.public_key)
        {
            return Err(config_error(
                "clientCertificate.key does not belong to the first certificate of clientCertificate.cert",
            ));
        }
        Ok(Arc::new(OneClientCertificate(Arc::new(CertifiedKey::new(
            chain, signing,
        )))))
    }

    /// The parsed chain and key.
    fn parse(&self) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), Error> {
        let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(self.cert_pem.as_bytes())
            .collect::<Result<_, _>>()
            .map_err(|e| config_error(format!("clientCertificate.cert is not valid PEM: {e}")))?;
        if chain.is_empty() {
            return Err(config_error(
                "clientCertificate.cert holds no PEM certificate (expected -----BEGIN CERTIFICATE-----)",
            ));
        }
        let key = PrivateKeyDer::from_pem_slice(self.key_pem.as_bytes()).map_err(|_| {
            config_error("clientCertificate.key holds no PEM private key (PKCS#8, PKCS#1 or SEC1)")
        })?;
        Ok((chain, key))
    }
}

/// Loads a client certificate's private key with ring's signing code.
#[cfg(feature = "client-key-signing")]
fn load_key(key: &PrivateKeyDer<'static>) -> Result<Arc<dyn SigningKey>, Error> {
    rustls::crypto::ring::sign::any_supported_type(key)
        .map_err(|_| config_error("clientCertificate.key is not an RSA, ECDSA (P-256, P-384) or Ed25519 key"))
}

/// Loads a client certificate's private key with the loader given to [`set_client_key_loader`].
#[cfg(not(feature = "client-key-signing"))]
fn load_key(key: &PrivateKeyDer<'static>) -> Result<Arc<dyn SigningKey>, Error> {
    let load = LOADER
        .get()
        .ok_or_else(|| config_error("clientCertificate: no key loader (tls::set_client_key_loader)"))?;
    load(key).map_err(|why| config_error(format!("clientCertificate.key: {why}")))
}

/// Loads a client certificate's private key into something that signs with it, or says why it cannot (the text
/// goes into the error, after "clientCertificate.key: "; it must never show the key). The signing
/// key should give its `public_key()`: then a key that does not belong to the certificate is refused at once.
#[cfg(not(feature = "client-key-signing"))]
pub type ClientKeyLoader = fn(&PrivateKeyDer<'static>) -> Result<Arc<dyn SigningKey>, String>;

#[cfg(not(feature = "client-key-signing"))]
static LOADER: std::sync::OnceLock<ClientKeyLoader> = std::sync::OnceLock::new();

/// Sets how client-certificate keys are loaded, in a build without the cargo feature `client-key-signing` (which
/// leaves ring's signing code out); until then a [`ClientCertificate`] is a configuration error. The first loader
/// stays: later calls are ignored. The npm package's client wasm sets one that calls a separately loaded wasm
/// module (`src/wasm/client_key.rs`).
#[cfg(not(feature = "client-key-signing"))]
pub fn set_client_key_loader(loader: ClientKeyLoader) {
    let _ = LOADER.set(loader);
}

fn config_error(message: impl Into<String>) -> Error {
    Error::Tls(TlsError {
        kind: TlsErrorKind::Other,
        message: message.into(),
    })
}

/// Presents the one configured certificate whenever the server asks and its key can sign with a scheme the server
/// accepts.
#[derive(Debug)]
struct OneClientCertificate(Arc<CertifiedKey>);

impl ResolvesClientCert for OneClientCertificate {
    fn resolve(&self, _root_hints: &[&[u8]], schemes: &[SignatureScheme]) -> Option<Arc<CertifiedKey>> {
        self.0.key.choose_scheme(schemes).map(|_| Arc::clone(&self.0))
    }

    fn has_certs(&self) -> bool {
        true
    }
}
