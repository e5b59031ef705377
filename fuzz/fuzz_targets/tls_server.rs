#![no_main]
//! Fuzz target `tls_server`: arbitrary client bytes into the server's TLS layer. The body lives in
//! `smtp_wasm::fuzzing::tls_server`, shared with `tests/fuzz_corpus_replay.rs`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| smtp_wasm::fuzzing::tls_server(data));
