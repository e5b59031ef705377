//! JavaScript bindings (wasm32-unknown-unknown only): [`WasmConnection`] exposes the sans-IO client core as a class with
//! synchronous methods. All awaiting happens in TypeScript (`ts/driver.ts`), so no borrow of the core is ever held
//! across a JavaScript await. Values cross as plain objects (see `js.rs`); errors are thrown as
//! `{ kind, message, temporary, ... }` objects that the TypeScript side turns into error classes.

#[cfg(feature = "client")]
mod connection;
mod js;
#[cfg(feature = "server")]
mod server;

#[cfg(feature = "client")]
pub use connection::WasmConnection;
#[cfg(feature = "server")]
pub use server::{WasmServerConfig, WasmServerConnection};

use wasm_bindgen::prelude::*;

/// The version of the crate the wasm was built from.
#[wasm_bindgen(js_name = coreVersion)]
#[must_use]
pub fn core_version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}
