//! JavaScript bindings (wasm32-unknown-unknown only): [`WasmConnection`] exposes the sans-IO core as a class with
//! synchronous methods. All awaiting happens in TypeScript (`ts/driver.ts`), so no borrow of the core is ever held
//! across a JavaScript await. Values cross as plain objects (see `js.rs`); errors are thrown as
//! `{ kind, message, temporary, ... }` objects that the TypeScript side turns into error classes.

#[cfg(all(feature = "compose", feature = "dkim"))]
mod compose;
#[cfg(feature = "client")]
mod connection;
// Some helpers are used by one build (client or composer) only.
#[cfg_attr(not(all(feature = "client", feature = "compose")), allow(dead_code))]
mod js;

#[cfg(all(feature = "compose", feature = "dkim"))]
pub use compose::{WasmComposer, WasmDkimSigner};
#[cfg(feature = "client")]
pub use connection::WasmConnection;

use wasm_bindgen::prelude::*;

/// The version of the crate the wasm was built from.
#[wasm_bindgen(js_name = coreVersion)]
#[must_use]
pub fn core_version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}
