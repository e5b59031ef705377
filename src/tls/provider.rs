//! The rustls `CryptoProvider`, built from explicit lists instead of `rustls::crypto::ring::default_provider()`.
//!
//! `default_provider()` refers to ring's key provider (private-key parsing and signing for RSA, ECDSA and Ed25519),
//! which a client that never presents a certificate does not need; building the provider here keeps that code out
//! of the wasm (BENCHMARKS.md, size). The lists are the ones rustls' ring provider offers today: TLS 1.3 and 1.2
//! ECDHE suites with AES-GCM and ChaCha20-Poly1305, the X25519, P-256 and P-384 groups, and verification of RSA
//! PKCS#1 and PSS, ECDSA P-256/P-384 and Ed25519 signatures.

use std::sync::Arc;

use rustls::crypto::ring::{cipher_suite as suites, kx_group};
use rustls::crypto::{CryptoProvider, GetRandomFailed, KeyProvider, SecureRandom, WebPkiSupportedAlgorithms};
use rustls::{CipherSuite, SignatureScheme, SupportedCipherSuite};
use webpki::ring as algs;

/// The provider of every connection. On wasm32 the ChaCha20-Poly1305 suites go first: there is no AES instruction
/// there, and ring's constant-time software AES-GCM runs at a few tens of MB/s while ChaCha20-Poly1305 is several
/// times faster in plain code (BoringSSL and Go order them the same way on CPUs without AES hardware); servers that
/// honour the client's order pick it. Natively ring uses AES-NI/ARMv8 AES: keep rustls's order.
pub(crate) fn provider() -> CryptoProvider {
    CryptoProvider {
        cipher_suites: if cfg!(target_arch = "wasm32") {
            CHACHA_FIRST.to_vec()
        } else {
            AES_FIRST.to_vec()
        },
        kx_groups: vec![kx_group::X25519, kx_group::SECP256R1, kx_group::SECP384R1],
        signature_verification_algorithms: SIGNATURE_ALGORITHMS,
        secure_random: &RingRandom,
        key_provider: &NoClientKeys,
    }
}

/// The IANA name of a suite offered here (`TLS_AES_128_GCM_SHA256`), for `tlsInfo()`. Not rustls'
/// `CipherSuite::as_str()`: that names all ~350 registered suites, 12 kB of strings in the wasm (BENCHMARKS.md, size).
pub(crate) fn iana_name(suite: CipherSuite) -> String {
    let name = match suite {
        CipherSuite::TLS13_AES_128_GCM_SHA256 => "TLS_AES_128_GCM_SHA256",
        CipherSuite::TLS13_AES_256_GCM_SHA384 => "TLS_AES_256_GCM_SHA384",
        CipherSuite::TLS13_CHACHA20_POLY1305_SHA256 => "TLS_CHACHA20_POLY1305_SHA256",
        CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 => "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 => "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        CipherSuite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256 => {
            "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"
        }
        CipherSuite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 => "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        CipherSuite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384 => "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        CipherSuite::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256 => {
            "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"
        }
        other => return format!("0x{:04x}", u16::from(other)),
    };
    name.to_owned()
}

/// rustls's order (`rustls::crypto::ring::DEFAULT_CIPHER_SUITES`).
const AES_FIRST: &[SupportedCipherSuite] = &[
    suites::TLS13_AES_256_GCM_SHA384,
    suites::TLS13_AES_128_GCM_SHA256,
    suites::TLS13_CHACHA20_POLY1305_SHA256,
    suites::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
    suites::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    suites::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    suites::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
    suites::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
    suites::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
];

/// The same suites with ChaCha20-Poly1305 first within each version.
const CHACHA_FIRST: &[SupportedCipherSuite] = &[
    suites::TLS13_CHACHA20_POLY1305_SHA256,
    suites::TLS13_AES_256_GCM_SHA384,
    suites::TLS13_AES_128_GCM_SHA256,
    suites::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    suites::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    suites::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
    suites::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    suites::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
    suites::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
];

/// What rustls' ring provider verifies (its `SUPPORTED_SIG_ALGS`, which is private).
const SIGNATURE_ALGORITHMS: WebPkiSupportedAlgorithms = WebPkiSupportedAlgorithms {
    all: &[
        algs::ECDSA_P256_SHA256,
        algs::ECDSA_P256_SHA384,
        algs::ECDSA_P384_SHA256,
        algs::ECDSA_P384_SHA384,
        algs::ED25519,
        algs::RSA_PSS_2048_8192_SHA256_LEGACY_KEY,
        algs::RSA_PSS_2048_8192_SHA384_LEGACY_KEY,
        algs::RSA_PSS_2048_8192_SHA512_LEGACY_KEY,
        algs::RSA_PKCS1_2048_8192_SHA256,
        algs::RSA_PKCS1_2048_8192_SHA384,
        algs::RSA_PKCS1_2048_8192_SHA512,
        algs::RSA_PKCS1_2048_8192_SHA256_ABSENT_PARAMS,
        algs::RSA_PKCS1_2048_8192_SHA384_ABSENT_PARAMS,
        algs::RSA_PKCS1_2048_8192_SHA512_ABSENT_PARAMS,
    ],
    mapping: &[
        // For TLS 1.2 the curve is not fixed by the SignatureScheme; for TLS 1.3 it is.
        (
            SignatureScheme::ECDSA_NISTP384_SHA384,
            &[algs::ECDSA_P384_SHA384, algs::ECDSA_P256_SHA384],
        ),
        (
            SignatureScheme::ECDSA_NISTP256_SHA256,
            &[algs::ECDSA_P256_SHA256, algs::ECDSA_P384_SHA256],
        ),
        (SignatureScheme::ED25519, &[algs::ED25519]),
        (
            SignatureScheme::RSA_PSS_SHA512,
            &[algs::RSA_PSS_2048_8192_SHA512_LEGACY_KEY],
        ),
        (
            SignatureScheme::RSA_PSS_SHA384,
            &[algs::RSA_PSS_2048_8192_SHA384_LEGACY_KEY],
        ),
        (
            SignatureScheme::RSA_PSS_SHA256,
            &[algs::RSA_PSS_2048_8192_SHA256_LEGACY_KEY],
        ),
        (
            SignatureScheme::RSA_PKCS1_SHA512,
            &[algs::RSA_PKCS1_2048_8192_SHA512],
        ),
        (
            SignatureScheme::RSA_PKCS1_SHA384,
            &[algs::RSA_PKCS1_2048_8192_SHA384],
        ),
        (
            SignatureScheme::RSA_PKCS1_SHA256,
            &[algs::RSA_PKCS1_2048_8192_SHA256],
        ),
    ],
};

/// ring's system randomness (`crypto.getRandomValues` on wasm).
#[derive(Debug)]
struct RingRandom;

impl SecureRandom for RingRandom {
    fn fill(&self, buf: &mut [u8]) -> Result<(), GetRandomFailed> {
        use ring::rand::SecureRandom as _;
        ring::rand::SystemRandom::new()
            .fill(buf)
            .map_err(|_| GetRandomFailed)
    }
}

/// The key provider of a client that never presents a certificate: loading a private key always fails, and ring's
/// private-key parsing and signing stay out of the build.
#[derive(Debug)]
struct NoClientKeys;

impl KeyProvider for NoClientKeys {
    fn load_private_key(
        &self,
        _key_der: rustls::pki_types::PrivateKeyDer<'static>,
    ) -> Result<Arc<dyn rustls::sign::SigningKey>, rustls::Error> {
        Err(rustls::Error::General(
            "client certificates are not supported".into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The explicit lists must stay what rustls' ring provider offers (plus our ChaCha20-first order on wasm).
    #[test]
    fn same_algorithms_as_rustls_ring_provider() {
        let ours = provider();
        let theirs = rustls::crypto::ring::default_provider();
        let names = |p: &CryptoProvider| {
            let mut v: Vec<u16> = p.cipher_suites.iter().map(|s| u16::from(s.suite())).collect();
            v.sort_unstable();
            v
        };
        assert_eq!(names(&ours), names(&theirs));
        assert_eq!(
            AES_FIRST.iter().map(|s| s.suite()).collect::<Vec<_>>(),
            theirs.cipher_suites.iter().map(|s| s.suite()).collect::<Vec<_>>()
        );
        let groups = |p: &CryptoProvider| p.kx_groups.iter().map(|g| g.name()).collect::<Vec<_>>();
        assert_eq!(groups(&ours), groups(&theirs));
        assert_eq!(
            ours.signature_verification_algorithms.supported_schemes(),
            theirs.signature_verification_algorithms.supported_schemes()
        );
        assert_eq!(
            format!("{:?}", ours.signature_verification_algorithms),
            format!("{:?}", theirs.signature_verification_algorithms)
        );
        // Every suite has a name, and it is rustls' with the IANA `TLS_` prefix for TLS 1.3.
        for suite in AES_FIRST {
            let theirs = suite.suite().as_str().unwrap().replace("TLS13_", "TLS_");
            assert_eq!(iana_name(suite.suite()), theirs);
        }
        let mut random = [0u8; 16];
        ours.secure_random.fill(&mut random).unwrap();
        assert_ne!(random, [0u8; 16]);
    }
}
