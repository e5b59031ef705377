//! A TLS client certificate (RFC 8446 section 4.4.2 from the client's side): the chain and key a server that
//! authenticates clients by certificate asks for, typically followed by SASL EXTERNAL.

use std::fmt;
use std::sync::Arc;

use rustls::client::ResolvesClientCert;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::CertifiedKey;
use rustls::SignatureScheme;

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
    /// (never showing the key). The key is loaded with ring's signing code, which only a client with a certificate
    /// needs (the shared provider leaves it out for size). In wasm only ECDSA keys (P-256, P-384) are supported:
    /// RSA and Ed25519 signing would add about 12 kB gzip to every download of the npm package; natively every key
    /// type ring signs with is.
    pub(crate) fn resolver(&self) -> Result<Arc<dyn ResolvesClientCert>, Error> {
        let (chain, key) = self.parse()?;
        #[cfg(target_arch = "wasm32")]
        let (signing, kinds) = (
            rustls::crypto::ring::sign::any_ecdsa_type(&key),
            "an ECDSA (P-256, P-384) key",
        );
        #[cfg(not(target_arch = "wasm32"))]
        let (signing, kinds) = (
            rustls::crypto::ring::sign::any_supported_type(&key),
            "an RSA, ECDSA (P-256, P-384) or Ed25519 key",
        );
        let signing = signing.map_err(|_| config_error(format!("clientCertificate.key is not {kinds}")))?;
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
