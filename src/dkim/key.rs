//! DKIM private keys from PEM: PKCS#8 (`BEGIN PRIVATE KEY`, RSA or Ed25519), PKCS#1 (`BEGIN RSA PRIVATE KEY`), or a
//! bare base64 Ed25519 seed (32 bytes, the form RFC 8463's examples use). Signing is ring's.

use base64ct::{Base64, Encoding as _};
use ring::rand::SystemRandom;
use ring::signature::{Ed25519KeyPair, KeyPair as _, RsaKeyPair, RSA_PKCS1_SHA256};

use super::DkimError;

/// A private key for signing: RSA (2048 bits or more, ring's minimum) or Ed25519.
pub struct DkimKey {
    kind: Kind,
}

enum Kind {
    Rsa(RsaKeyPair),
    Ed25519(Ed25519KeyPair),
}

impl std::fmt::Debug for DkimKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self.kind {
            Kind::Rsa(_) => "DkimKey(rsa)",
            Kind::Ed25519(_) => "DkimKey(ed25519)",
        })
    }
}

impl DkimKey {
    /// Reads a PEM (or bare base64 Ed25519 seed) private key.
    pub fn from_pem(text: &str) -> Result<Self, DkimError> {
        let text = text.trim();
        let Some(begin) = text.find("-----BEGIN ") else {
            let der = decode(text)?;
            if der.len() == 32 {
                return Ed25519KeyPair::from_seed_unchecked(&der)
                    .map(|k| Self {
                        kind: Kind::Ed25519(k),
                    })
                    .map_err(|_| DkimError::Key("the Ed25519 seed was refused"));
            }
            return Self::from_pkcs8(&der);
        };
        let after = text.get(begin + 11..).unwrap_or("");
        let label_end = after
            .find("-----")
            .ok_or(DkimError::Key("malformed PEM (no end of the BEGIN line)"))?;
        let label = after.get(..label_end).unwrap_or("");
        let body_start = label_end + 5;
        let end_marker = format!("-----END {label}-----");
        let body_end = after
            .find(&end_marker)
            .ok_or(DkimError::Key("malformed PEM (no END line)"))?;
        let body = after.get(body_start..body_end).unwrap_or("");
        let der = decode(body)?;
        match label {
            "PRIVATE KEY" => Self::from_pkcs8(&der),
            "RSA PRIVATE KEY" => RsaKeyPair::from_der(&der)
                .map(|k| Self { kind: Kind::Rsa(k) })
                .map_err(|_| {
                    DkimError::Key("the PKCS#1 RSA key was refused (RSA keys need 2048 bits or more)")
                }),
            "ENCRYPTED PRIVATE KEY" => Err(DkimError::Key(
                "encrypted private keys are not supported: decrypt it first",
            )),
            _ => Err(DkimError::Key("expected a PEM PRIVATE KEY or RSA PRIVATE KEY")),
        }
    }

    fn from_pkcs8(der: &[u8]) -> Result<Self, DkimError> {
        if let Ok(k) = RsaKeyPair::from_pkcs8(der) {
            return Ok(Self { kind: Kind::Rsa(k) });
        }
        if let Ok(k) = Ed25519KeyPair::from_pkcs8_maybe_unchecked(der) {
            return Ok(Self {
                kind: Kind::Ed25519(k),
            });
        }
        Err(DkimError::Key(
            "the PKCS#8 key is neither RSA (>= 2048 bits) nor Ed25519",
        ))
    }

    /// `rsa-sha256` or `ed25519-sha256`.
    pub fn algorithm(&self) -> &'static str {
        match self.kind {
            Kind::Rsa(_) => "rsa-sha256",
            Kind::Ed25519(_) => "ed25519-sha256",
        }
    }

    /// The public key as the `p=` value of the DNS record (base64 of SubjectPublicKeyInfo for RSA as `k=rsa`, of
    /// the raw 32 bytes for Ed25519), for tests and for publishing.
    pub fn public_key_record(&self) -> String {
        match &self.kind {
            Kind::Rsa(k) => {
                // RSAPublicKey (PKCS#1) wrapped in SubjectPublicKeyInfo, which is what p= holds for k=rsa.
                let pkcs1 = k.public_key().as_ref();
                let algorithm: &[u8] = &[
                    0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00,
                ];
                let mut bit_string = vec![0u8];
                bit_string.extend_from_slice(pkcs1);
                let mut inner = algorithm.to_vec();
                inner.extend(der_item(0x03, &bit_string));
                let spki = der_item(0x30, &inner);
                format!("v=DKIM1; k=rsa; p={}", Base64::encode_string(&spki))
            }
            Kind::Ed25519(k) => format!(
                "v=DKIM1; k=ed25519; p={}",
                Base64::encode_string(k.public_key().as_ref())
            ),
        }
    }

    /// Signs `data` (the canonicalized headers): RSASSA-PKCS1-v1_5 with SHA-256, or Ed25519 over its SHA-256
    /// (RFC 8463 3).
    pub fn sign(&self, data: &[u8]) -> Result<Vec<u8>, DkimError> {
        match &self.kind {
            Kind::Rsa(k) => {
                let mut sig = vec![0u8; k.public().modulus_len()];
                k.sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), data, &mut sig)
                    .map_err(|_| DkimError::Sign)?;
                Ok(sig)
            }
            Kind::Ed25519(k) => {
                let digest = ring::digest::digest(&ring::digest::SHA256, data);
                Ok(k.sign(digest.as_ref()).as_ref().to_vec())
            }
        }
    }
}

fn der_item(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 128 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .iter()
            .copied()
            .skip_while(|&b| b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(content);
    out
}

fn decode(body: &str) -> Result<Vec<u8>, DkimError> {
    let compact: String = body.chars().filter(|c| !c.is_whitespace()).collect();
    Base64::decode_vec(&compact).map_err(|_| DkimError::Key("the key is not valid base64"))
}
