//! Blocking drivers over `std::net` (native targets only): the sans-IO cores driven by a thread and a socket, for
//! Rust programs that do not need an async runtime.

#[cfg(feature = "client")]
mod client;
#[cfg(feature = "server")]
mod server;

#[cfg(feature = "client")]
pub use client::*;
#[cfg(feature = "server")]
pub use server::{BlockingServer, Handler, SessionHandler, ShutdownHandle};
