//! rustls errors turned into [`TlsError`]s a user can act on.

use rustls::pki_types::UnixTime;
use rustls::{AlertDescription, CertificateError, PeerIncompatible};

use super::verify::Diagnosis;
use crate::error::{TlsError, TlsErrorKind};
use crate::time::civil_from_days;

fn tls_error(kind: TlsErrorKind, message: impl Into<String>) -> TlsError {
    TlsError {
        kind,
        message: message.into(),
    }
}

/// Maps a rustls error for a connection to `server_name`.
pub(crate) fn from_rustls(error: &rustls::Error, server_name: &str) -> TlsError {
    match error {
        rustls::Error::InvalidCertificate(certificate) => from_certificate_error(certificate, server_name),
        rustls::Error::AlertReceived(alert) => from_alert(*alert, server_name),
        rustls::Error::PeerIncompatible(incompatible) => from_incompatible(incompatible),
        rustls::Error::NoCertificatesPresented => tls_error(
            TlsErrorKind::BadCertificate,
            "the server sent no certificate (anonymous TLS is not supported)",
        ),
        rustls::Error::DecryptError => tls_error(
            TlsErrorKind::Other,
            "a TLS record from the server failed to decrypt: the data was corrupted or tampered with in transit",
        ),
        rustls::Error::InvalidMessage(_)
        | rustls::Error::InappropriateMessage { .. }
        | rustls::Error::InappropriateHandshakeMessage { .. }
        | rustls::Error::PeerSentOversizedRecord => {
            tls_error(TlsErrorKind::Other, format!("the server broke the TLS protocol: {error}"))
        }
        rustls::Error::PeerMisbehaved(_) => {
            tls_error(TlsErrorKind::Other, format!("the server broke the TLS protocol: {error}"))
        }
        rustls::Error::FailedToGetCurrentTime => tls_error(
            TlsErrorKind::Other,
            "no current time to check the certificate against (pass `now` as milliseconds since the UNIX epoch)",
        ),
        other => tls_error(TlsErrorKind::Other, other.to_string()),
    }
}

fn from_certificate_error(error: &CertificateError, server_name: &str) -> TlsError {
    use TlsErrorKind as K;
    match error {
        CertificateError::Other(other) => match other.0.downcast_ref::<Diagnosis>() {
            Some(diagnosis) => tls_error(diagnosis.kind, diagnosis.message.clone()),
            None => tls_error(K::BadCertificate, format!("the server's certificate is invalid: {other}")),
        },
        CertificateError::UnknownIssuer => tls_error(
            K::UnknownIssuer,
            "unknown issuer: the server's certificate does not chain to a trusted root; add the CA with \
             rootCertificates",
        ),
        CertificateError::ExpiredContext { time, not_after } => tls_error(
            K::Expired,
            format!(
                "the server's certificate (or one in its chain) expired on {}; the current time given was {}",
                format_time(*not_after),
                format_time(*time)
            ),
        ),
        CertificateError::Expired => {
            tls_error(K::Expired, "the server's certificate (or one in its chain) has expired")
        }
        CertificateError::NotValidYetContext { time, not_before } => tls_error(
            K::NotYetValid,
            format!(
                "the server's certificate (or one in its chain) is not valid before {}; the current time given \
                 was {} (is the clock right?)",
                format_time(*not_before),
                format_time(*time)
            ),
        ),
        CertificateError::NotValidYet => tls_error(
            K::NotYetValid,
            "the server's certificate (or one in its chain) is not valid yet (is the clock right?)",
        ),
        CertificateError::NotValidForNameContext { presented, .. } => {
            let names: Vec<String> = presented.iter().map(|name| presented_name(name)).collect();
            let names = if names.is_empty() {
                "it names no DNS name or IP address".to_string()
            } else {
                format!("it names {}", names.join(", "))
            };
            tls_error(
                K::NameMismatch,
                format!("the server's certificate is not valid for \"{server_name}\" ({names})"),
            )
        }
        CertificateError::NotValidForName => tls_error(
            K::NameMismatch,
            format!("the server's certificate is not valid for \"{server_name}\""),
        ),
        CertificateError::BadSignature => tls_error(
            K::BadSignature,
            "a signature in the server's certificate chain or handshake does not verify (the certificate \
             and the key the server uses do not match, or the data was tampered with)",
        ),
        CertificateError::Revoked => tls_error(K::BadCertificate, "the server's certificate has been revoked"),
        CertificateError::InvalidPurpose | CertificateError::InvalidPurposeContext { .. } => tls_error(
            K::BadCertificate,
            "the server's certificate is not for TLS server authentication (extended key usage)",
        ),
        other => tls_error(K::BadCertificate, format!("the server's certificate is unusable: {other}")),
    }
}

/// webpki names presented identities as `DnsName("x")` / `IpAddress(x)`; users want just `x`.
fn presented_name(name: &str) -> String {
    if let Some(ip) = name
        .strip_prefix("IpAddress(")
        .and_then(|rest| rest.strip_suffix(')'))
    {
        // webpki writes `::1` as `0::1`; std's formatting is the canonical RFC 5952 form. Parsed by pki-types (the
        // parser that reads `serverName`), not std: one IP parser in the wasm instead of two (-3 kB).
        return match rustls::pki_types::IpAddr::try_from(ip) {
            Ok(ip) => std::net::IpAddr::from(ip).to_string(),
            Err(_) => super::der::printable(ip.as_bytes()),
        };
    }
    let inner = name
        .strip_prefix("DnsName(\"")
        .and_then(|rest| rest.strip_suffix("\")"));
    super::der::printable(inner.unwrap_or(name).as_bytes())
}

fn from_alert(alert: AlertDescription, server_name: &str) -> TlsError {
    let name = alert_name(alert);
    match alert {
        AlertDescription::ProtocolVersion => tls_error(
            TlsErrorKind::ProtocolVersion,
            "the server refused TLS 1.2 and 1.3 (it sent the protocol_version alert); it probably only \
             speaks TLS 1.0 or 1.1, which are not supported",
        ),
        AlertDescription::HandshakeFailure | AlertDescription::InsufficientSecurity => tls_error(
            TlsErrorKind::AlertReceived,
            format!(
                "the server sent the {name} alert: no cipher suite, key exchange group or signature algorithm in \
                 common (the server may only offer legacy ciphers), or it requires a client certificate"
            ),
        ),
        AlertDescription::CertificateRequired => tls_error(
            TlsErrorKind::AlertReceived,
            format!("the server requires a client certificate ({name} alert), which is not supported"),
        ),
        AlertDescription::BadCertificate
        | AlertDescription::UnsupportedCertificate
        | AlertDescription::CertificateUnknown => tls_error(
            TlsErrorKind::AlertReceived,
            format!(
                "the server sent the {name} alert: it probably requires a client certificate, which is not \
                 supported"
            ),
        ),
        AlertDescription::UnrecognisedName => tls_error(
            TlsErrorKind::AlertReceived,
            format!("the server does not know the name \"{server_name}\" ({name} alert): check serverName"),
        ),
        _ => tls_error(TlsErrorKind::AlertReceived, format!("the server sent the TLS alert {name}")),
    }
}

fn from_incompatible(incompatible: &PeerIncompatible) -> TlsError {
    match incompatible {
        PeerIncompatible::ServerDoesNotSupportTls12Or13
        | PeerIncompatible::ServerTlsVersionIsDisabledByOurConfig
        | PeerIncompatible::SupportedVersionsExtensionRequired => tls_error(
            TlsErrorKind::ProtocolVersion,
            "the server does not support TLS 1.2 or 1.3 (older versions are not supported)",
        ),
        PeerIncompatible::NoCipherSuitesInCommon
        | PeerIncompatible::NoKxGroupsInCommon
        | PeerIncompatible::NoSignatureSchemesInCommon => tls_error(
            TlsErrorKind::Other,
            format!("the server chose TLS parameters this client does not support ({incompatible:?})"),
        ),
        other => tls_error(
            TlsErrorKind::Other,
            format!("the server is incompatible: {other:?}"),
        ),
    }
}

/// The RFC name of an alert (`handshake_failure`), from rustls' `HandshakeFailure`.
pub(crate) fn alert_name(alert: AlertDescription) -> String {
    let debug = format!("{alert:?}");
    let mut name = String::with_capacity(debug.len() + 4);
    for (i, c) in debug.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                name.push('_');
            }
            name.push(c.to_ascii_lowercase());
        } else {
            name.push(c);
        }
    }
    name
}

/// `2031-02-03 04:05:06 UTC`, for certificate validity messages (no date library: this runs in wasm with no
/// locale or time zone anyway).
pub(crate) fn format_time(time: UnixTime) -> String {
    let secs = time.as_secs();
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn times_are_formatted() {
        let at = |secs| format_time(UnixTime::since_unix_epoch(Duration::from_secs(secs)));
        assert_eq!(at(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(at(951_782_400), "2000-02-29 00:00:00 UTC");
        assert_eq!(at(1_780_000_000), "2026-05-28 20:26:40 UTC");
        // The far future must format, not overflow.
        assert!(at(u64::MAX).ends_with(" UTC"));
    }

    #[test]
    fn alert_names_are_rfc_style() {
        assert_eq!(
            alert_name(AlertDescription::HandshakeFailure),
            "handshake_failure"
        );
        assert_eq!(alert_name(AlertDescription::ProtocolVersion), "protocol_version");
    }

    #[test]
    fn presented_names_are_unwrapped() {
        assert_eq!(presented_name("DnsName(\"localhost\")"), "localhost");
        assert_eq!(presented_name("IpAddress(127.0.0.1)"), "127.0.0.1");
        assert_eq!(presented_name("IpAddress(0::1)"), "::1");
        assert_eq!(presented_name("Unsupported(0x81)"), "Unsupported(0x81)");
    }
}
