//! Test certificates for the server's TLS: a CA and leaves made with rcgen, handed over as the PEM text a user
//! would give (`fullchain.pem`, `key.pem`). Included by the tests that need them (`#[path]`), not by every test.
//!
//! ring cannot generate RSA keys, so the RSA leaf uses a key made once with openssl (tests/data/rsa2048-key.pem,
//! and the same key as PKCS#1 in rsa2048-key-pkcs1.pem); the SEC1 EC key likewise (ec-p256-key-sec1.pem, and the
//! same key as PKCS#8 in ec-p256-key.pem, which rcgen reads).

#![allow(dead_code)]

use rcgen::{
    date_time_ymd, BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose,
};
use smtp_wasm::{Timestamp, TlsConnector, TlsOptions};

/// 2026-06-01T00:00:00Z. Test certificates are valid 2025-01-01 to 2030-01-01.
pub const NOW: Timestamp = Timestamp::from_unix_millis(1_780_272_000_000);

/// The names every leaf is valid for.
pub const LEAF_NAMES: &[&str] = &["localhost", "127.0.0.1", "::1"];

/// A leaf's key type and the PEM form its key is handed over in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// RSA 2048, PKCS#8 (`BEGIN PRIVATE KEY`).
    Rsa,
    /// The same RSA key as PKCS#1 (`BEGIN RSA PRIVATE KEY`).
    RsaPkcs1,
    /// ECDSA P-256, PKCS#8.
    P256,
    /// ECDSA P-256 as SEC1 (`BEGIN EC PRIVATE KEY`).
    P256Sec1,
    /// ECDSA P-384, PKCS#8.
    P384,
    /// Ed25519, PKCS#8.
    Ed25519,
}

impl KeyKind {
    /// Every kind.
    pub const ALL: [KeyKind; 6] = [
        KeyKind::Rsa,
        KeyKind::RsaPkcs1,
        KeyKind::P256,
        KeyKind::P256Sec1,
        KeyKind::P384,
        KeyKind::Ed25519,
    ];

    /// rcgen's key pair, and the PEM text the server is given for it.
    fn key(self) -> (KeyPair, String) {
        let from = |pem: &str| KeyPair::from_pem(pem).expect("test key");
        let generate = |alg| {
            let key = KeyPair::generate_for(alg).expect("key generation");
            let pem = key.serialize_pem();
            (key, pem)
        };
        match self {
            KeyKind::Rsa => {
                let pem = include_str!("../data/rsa2048-key.pem");
                (from(pem), pem.to_owned())
            }
            KeyKind::RsaPkcs1 => (
                from(include_str!("../data/rsa2048-key.pem")),
                include_str!("../data/rsa2048-key-pkcs1.pem").to_owned(),
            ),
            KeyKind::P256 => generate(&rcgen::PKCS_ECDSA_P256_SHA256),
            KeyKind::P256Sec1 => (
                from(include_str!("../data/ec-p256-key.pem")),
                include_str!("../data/ec-p256-key-sec1.pem").to_owned(),
            ),
            KeyKind::P384 => generate(&rcgen::PKCS_ECDSA_P384_SHA384),
            KeyKind::Ed25519 => generate(&rcgen::PKCS_ED25519),
        }
    }
}

fn validity(params: &mut CertificateParams) {
    params.not_before = date_time_ymd(2025, 1, 1);
    params.not_after = date_time_ymd(2030, 1, 1);
}

/// A test CA that signs leaves.
pub struct Pki {
    params: CertificateParams,
    key: KeyPair,
    /// The CA certificate, to trust on the client side.
    pub ca_pem: String,
}

/// A leaf certificate as a server is given it.
#[derive(Debug, Clone)]
pub struct ServerCert {
    /// Leaf then CA, PEM.
    pub chain_pem: String,
    /// The leaf's private key, PEM.
    pub key_pem: String,
}

impl Pki {
    /// A new CA (ECDSA P-256).
    pub fn new() -> Pki {
        Pki::named("smtp-wasm test CA")
    }

    /// A new CA with this common name (two CAs of the same name confuse a verifier into a signature failure).
    pub fn named(common_name: &str) -> Pki {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
        params.distinguished_name.push(DnType::CommonName, common_name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        validity(&mut params);
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("CA key");
        let ca_pem = params.self_signed(&key).expect("CA certificate").pem();
        Pki { params, key, ca_pem }
    }

    /// A client TLS connector that trusts this CA only.
    pub fn connector(&self) -> TlsConnector {
        TlsConnector::new(&TlsOptions {
            root_certificates_pem: vec![self.ca_pem.clone()],
            only_given_roots: true,
            dangerously_accept_invalid_certificates: false,
            client_certificate: None,
        })
        .expect("connector")
    }

    /// A leaf for [`LEAF_NAMES`] with a `kind` key.
    pub fn leaf(&self, kind: KeyKind) -> ServerCert {
        self.leaf_for(kind, LEAF_NAMES, "smtp-wasm test server")
    }

    /// A leaf for `names` with a `kind` key and this common name.
    pub fn leaf_for(&self, kind: KeyKind, names: &[&str], common_name: &str) -> ServerCert {
        let names: Vec<String> = names.iter().map(|name| (*name).to_owned()).collect();
        let mut params = CertificateParams::new(names).expect("params");
        params.distinguished_name.push(DnType::CommonName, common_name);
        validity(&mut params);
        let (key, key_pem) = kind.key();
        let issuer = Issuer::from_params(&self.params, &self.key);
        let cert = params.signed_by(&key, &issuer).expect("leaf certificate");
        ServerCert {
            chain_pem: format!("{}{}", cert.pem(), self.ca_pem),
            key_pem,
        }
    }
}
