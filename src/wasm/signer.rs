//! The npm package's client-certificate signer: the only export of `smtp_signer_bg.wasm` (cargo feature `signer`),
//! a second small wasm that the TypeScript layer loads only for connections with `clientCertificate`. The client
//! wasm is built without ring's signing code and calls this one synchronously during the handshake (see
//! `client_key.rs`). ECDSA P-256 and P-384 keys, PKCS#8 or SEC1: what `rustls::crypto::ring::sign::any_ecdsa_type`
//! loads.

use std::sync::Arc;

use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer, PrivateSec1KeyDer};
use rustls::sign::{Signer, SigningKey};
use rustls::SignatureScheme;
use wasm_bindgen::prelude::*;

/// A private key, kept in this wasm's memory until `free()`.
#[wasm_bindgen(js_name = ClientKey)]
pub struct WasmClientKey {
    key: Arc<dyn SigningKey>,
    signer: Box<dyn Signer>,
}

#[wasm_bindgen(js_class = ClientKey)]
impl WasmClientKey {
    /// Loads a key from its DER (`format`: `"pkcs8"` or `"sec1"`); throws a message (never the key) if it is not an
    /// ECDSA P-256 or P-384 key.
    #[wasm_bindgen(constructor)]
    pub fn new(der: Vec<u8>, format: &str) -> Result<WasmClientKey, JsValue> {
        let der = match format {
            "pkcs8" => PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(der)),
            "sec1" => PrivateKeyDer::Sec1(PrivateSec1KeyDer::from(der)),
            _ => return Err(JsValue::from_str("not an ECDSA P-256 or P-384 key")),
        };
        let key = rustls::crypto::ring::sign::any_ecdsa_type(&der)
            .map_err(|_| JsValue::from_str("not an ECDSA P-256 or P-384 key"))?;
        let signer = key
            .choose_scheme(&[
                SignatureScheme::ECDSA_NISTP256_SHA256,
                SignatureScheme::ECDSA_NISTP384_SHA384,
            ])
            .ok_or_else(|| JsValue::from_str("not an ECDSA P-256 or P-384 key"))?;
        Ok(WasmClientKey { key, signer })
    }

    /// The SubjectPublicKeyInfo (DER), to check that the key belongs to the certificate.
    #[wasm_bindgen(js_name = publicKey)]
    #[must_use]
    pub fn public_key(&self) -> Vec<u8> {
        self.key
            .public_key()
            .map(|spki| spki.as_ref().to_vec())
            .unwrap_or_default()
    }

    /// Signs `message` (the handshake transcript TLS asks to sign); throws if ring fails (no randomness).
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, JsValue> {
        self.signer
            .sign(message)
            .map_err(|_| JsValue::from_str("the signature failed"))
    }
}
