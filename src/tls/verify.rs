//! Server certificate verifiers: webpki with better diagnostics, and the "accept any certificate" one that still
//! checks handshake signatures.

use std::fmt;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{verify_server_cert_signed_by_trust_anchor, verify_server_name};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{CertificateError, DigitallySignedStruct, OtherError, RootCertStore, SignatureScheme};

use super::der;
use crate::error::TlsErrorKind;

/// A certificate failure already worded for the user. It travels through rustls inside
/// `CertificateError::Other` and is unpacked again when the error is mapped.
#[derive(Debug)]
pub(crate) struct Diagnosis {
    pub kind: TlsErrorKind,
    pub message: String,
}

impl fmt::Display for Diagnosis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Diagnosis {}

/// webpki verification, plus a look at the leaf when the chain is not trusted: only here is the certificate at hand,
/// so only here can "unknown issuer" become "self-signed" or name the issuer. The verifier is shared by every
/// connection of a connector (rustls resumes a session only with the same verifier), so it keeps no state.
///
/// It does what rustls' `WebPkiServerVerifier` does without certificate revocation lists (chain to a trusted
/// root for TLS server authentication, validity at `now`, the server name), through the same public rustls
/// functions. `WebPkiServerVerifier` itself is not used: its builder brings ~10 kB of CRL parsing into the wasm
/// even when no CRL is given (BENCHMARKS.md, size).
#[derive(Debug)]
pub(crate) struct DiagnosingVerifier {
    roots: Arc<RootCertStore>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl DiagnosingVerifier {
    pub fn new(roots: Arc<RootCertStore>, algorithms: WebPkiSupportedAlgorithms) -> Self {
        DiagnosingVerifier { roots, algorithms }
    }
}

impl ServerCertVerifier for DiagnosingVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        ParsedCertificate::try_from(end_entity)
            .and_then(|cert| {
                verify_server_cert_signed_by_trust_anchor(
                    &cert,
                    &self.roots,
                    intermediates,
                    now,
                    self.algorithms.all,
                )?;
                verify_server_name(&cert, server_name)
            })
            .map(|()| ServerCertVerified::assertion())
            .map_err(|error| diagnose(error, end_entity))
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// Rewords the failures that need the leaf certificate to explain; every other error passes through unchanged.
fn diagnose(error: rustls::Error, end_entity: &CertificateDer<'_>) -> rustls::Error {
    let ca_as_leaf = matches!(
        &error,
        rustls::Error::InvalidCertificate(CertificateError::Other(other))
            if matches!(other.0.downcast_ref::<webpki::Error>(), Some(webpki::Error::CaUsedAsEndEntity))
    );
    let unknown_issuer = matches!(
        &error,
        rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer)
    );
    if !ca_as_leaf && !unknown_issuer {
        return error;
    }
    let names = der::cert_names(end_entity.as_ref());
    let subject = names
        .and_then(|names| der::display_name(names.subject))
        .map_or_else(String::new, |name| format!(" \"{name}\""));
    let diagnosis = match names {
        Some(names) if names.is_self_issued() && ca_as_leaf => Diagnosis {
            kind: TlsErrorKind::SelfSigned,
            message: format!(
                "the server's certificate{subject} is a self-signed CA certificate (what `openssl req -x509` \
                 makes), which cannot be a server certificate even when trusted: make a CA, sign a certificate \
                 for the server with it and add the CA with rootCertificates"
            ),
        },
        Some(names) if names.is_self_issued() => Diagnosis {
            kind: TlsErrorKind::SelfSigned,
            message: format!(
                "the server's certificate{subject} is self-signed and not trusted: add it (or the CA that \
                 should sign it) with rootCertificates"
            ),
        },
        _ if ca_as_leaf => Diagnosis {
            kind: TlsErrorKind::BadCertificate,
            message: format!(
                "the server's certificate{subject} is a CA certificate, which cannot be a server certificate: \
                 sign a certificate for the server with that CA"
            ),
        },
        _ => {
            let issuer = names
                .and_then(|names| der::display_name(names.issuer))
                .map_or_else(String::new, |name| format!(" (issued by \"{name}\")"));
            Diagnosis {
                kind: TlsErrorKind::UnknownIssuer,
                message: format!(
                    "unknown issuer: the server's certificate{subject}{issuer} does not chain to a trusted root; \
                     add the CA with rootCertificates (or the server may be missing an intermediate certificate)"
                ),
            }
        }
    };
    rustls::Error::InvalidCertificate(CertificateError::Other(OtherError(Arc::new(diagnosis))))
}

/// `dangerouslyAcceptInvalidCertificates`: any certificate chain, any name, any date is accepted, but the server must
/// still prove it holds the key of the certificate it sent (the handshake signatures are verified). Without that,
/// anyone on the path could complete the handshake without any certificate's key at all.
#[derive(Debug)]
pub(crate) struct AcceptAnyCertificate {
    algorithms: WebPkiSupportedAlgorithms,
}

impl AcceptAnyCertificate {
    pub fn new(algorithms: WebPkiSupportedAlgorithms) -> Self {
        AcceptAnyCertificate { algorithms }
    }
}

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}
