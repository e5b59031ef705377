//! JavaScript bindings (wasm32-unknown-unknown only): [`WasmConnection`] exposes the sans-IO client core as a class with
//! synchronous methods. All awaiting happens in TypeScript (`ts/driver.ts`), so no borrow of the core is ever held
//! across a JavaScript await. Values cross as plain objects (see `js.rs`); errors are thrown as
//! `{ kind, message, temporary, ... }` objects that the TypeScript side turns into error classes.

#[cfg(all(feature = "client", not(feature = "client-key-signing")))]
mod client_key;
#[cfg(all(feature = "compose", feature = "dkim"))]
mod compose;
#[cfg(feature = "client")]
mod connection;
// Some helpers are used by one build (client or composer) only.
#[cfg_attr(not(all(feature = "client", feature = "compose")), allow(dead_code))]
mod js;
#[cfg(feature = "server")]
mod server;
#[cfg(feature = "signer")]
mod signer;

#[cfg(all(feature = "compose", feature = "dkim"))]
pub use compose::{WasmComposer, WasmDkimSigner};
#[cfg(feature = "client")]
pub use connection::WasmConnection;
#[cfg(feature = "server")]
pub use server::{WasmServerConfig, WasmServerConnection};
#[cfg(feature = "signer")]
pub use signer::WasmClientKey;

use wasm_bindgen::prelude::*;

/// The version of the crate the wasm was built from.
#[wasm_bindgen(js_name = coreVersion)]
#[must_use]
pub fn core_version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}

/// Loads the Mozilla root store from the blob of `dist/mozilla_roots.js` (built by `examples/mozilla-roots.rs`; the
/// module holds it in base64, decoded by the caller: the runtime's native decoder is faster than wasm code that runs
/// once), once per instance: the npm wasm does not compile the roots in, and a connection that trusts them (no
/// `onlyRootCertificates`) fails until they are loaded. Later calls are ignored. The bytes are kept, not copied:
/// the anchors borrow from them.
#[cfg(not(feature = "mozilla-roots"))]
#[wasm_bindgen(js_name = loadMozillaRoots)]
pub fn load_mozilla_roots(blob: Vec<u8>) -> Result<(), JsValue> {
    crate::tls::roots::load_mozilla_roots(blob).map_err(|e| js::error_to_js(&crate::error::Error::Tls(e)))
}

/// Whether the Mozilla root store is available (compiled in, or loaded with `loadMozillaRoots`).
#[wasm_bindgen(js_name = mozillaRootsLoaded)]
#[must_use]
pub fn mozilla_roots_loaded() -> bool {
    crate::tls::roots::mozilla_roots_loaded()
}
