//! Client-certificate keys held by the signer wasm (`smtp_signer_bg.wasm`, built from `signer.rs` with the feature
//! `signer`): the npm client wasm is built without ring's signing code (cargo feature `client-key-signing` off), and
//! the TypeScript layer (`ts/signer.ts`) loads the signer only for connections with `clientCertificate`. rustls
//! signs synchronously during the handshake; these imports call into the other, already instantiated wasm
//! synchronously too.
//!
//! The keys live in JavaScript (objects of the signer's `ClientKey` class, in a table of `ts/signer.ts`); Rust holds
//! their number, so the rustls `SigningKey` is plain data, and frees its key when the connection's configuration
//! is dropped.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use rustls::pki_types::{alg_id, AlgorithmIdentifier, PrivateKeyDer, SubjectPublicKeyInfoDer};
use rustls::sign::{Signer, SigningKey};
use rustls::{SignatureAlgorithm, SignatureScheme};
use wasm_bindgen::prelude::*;

#[wasm_bindgen(raw_module = "./signer.js")]
extern "C" {
    /// Loads `der` (`format`: "pkcs8", "sec1" or "pkcs1") into the signer as key number `key`, and returns its
    /// SubjectPublicKeyInfo (DER); throws a message saying why the key cannot be used (never the key).
    #[wasm_bindgen(catch, js_name = clientKeyLoad)]
    fn client_key_load(key: u32, der: &[u8], format: &str) -> Result<Vec<u8>, JsValue>;
    /// The signature of `message`, in the form TLS sends it.
    #[wasm_bindgen(catch, js_name = clientKeySign)]
    fn client_key_sign(key: u32, message: &[u8]) -> Result<Vec<u8>, JsValue>;
    /// Releases the key.
    #[wasm_bindgen(js_name = clientKeyFree)]
    fn client_key_free(key: u32);
}

/// The number of the next key loaded.
static NEXT_KEY: AtomicU32 = AtomicU32::new(0);

/// Has the TLS layer load client-certificate keys into the signer wasm. Idempotent.
pub(crate) fn install() {
    crate::tls::set_client_key_loader(load_key);
}

/// The loader given to the TLS layer: the key's DER goes to the signer wasm, which keeps it.
fn load_key(key: &PrivateKeyDer<'static>) -> Result<Arc<dyn SigningKey>, String> {
    let format = match key {
        PrivateKeyDer::Pkcs8(_) => "pkcs8",
        PrivateKeyDer::Sec1(_) => "sec1",
        _ => "pkcs1",
    };
    let number = NEXT_KEY.fetch_add(1, Ordering::Relaxed);
    let public_key = client_key_load(number, key.secret_der(), format).map_err(|thrown| {
        thrown
            .as_string()
            .unwrap_or_else(|| "refused by the signer".into())
    })?;
    // The scheme follows from the curve the public key names: the signer loads P-256 and P-384 keys only.
    let names = |alg: AlgorithmIdentifier| public_key.windows(alg.as_ref().len()).any(|w| w == alg.as_ref());
    let scheme = if names(alg_id::ECDSA_P384) {
        SignatureScheme::ECDSA_NISTP384_SHA384
    } else {
        SignatureScheme::ECDSA_NISTP256_SHA256
    };
    Ok(Arc::new(HeldKey {
        number,
        scheme,
        public_key,
    }))
}

/// A key held by the signer, as rustls sees it.
#[derive(Debug)]
struct HeldKey {
    number: u32,
    scheme: SignatureScheme,
    public_key: Vec<u8>,
}

impl SigningKey for HeldKey {
    fn choose_scheme(&self, offered: &[SignatureScheme]) -> Option<Box<dyn Signer>> {
        offered.contains(&self.scheme).then(|| {
            Box::new(HeldSigner {
                number: self.number,
                scheme: self.scheme,
            }) as Box<dyn Signer>
        })
    }

    fn public_key(&self) -> Option<SubjectPublicKeyInfoDer<'_>> {
        Some(self.public_key.as_slice().into())
    }

    /// The signer loads ECDSA keys only.
    fn algorithm(&self) -> SignatureAlgorithm {
        SignatureAlgorithm::ECDSA
    }
}

impl Drop for HeldKey {
    fn drop(&mut self) {
        client_key_free(self.number);
    }
}

/// Signs one handshake with a key held by the signer.
#[derive(Debug)]
struct HeldSigner {
    number: u32,
    scheme: SignatureScheme,
}

impl Signer for HeldSigner {
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, rustls::Error> {
        client_key_sign(self.number, message)
            .map_err(|_| rustls::Error::General("the client key could not sign".into()))
    }

    fn scheme(&self) -> SignatureScheme {
        self.scheme
    }
}
