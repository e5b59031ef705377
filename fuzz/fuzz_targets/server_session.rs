#![no_main]
//! Fuzz target `server_session`: a whole server session driven by arbitrary client bytes and application answers.
//! The body lives in `smtp_wasm::fuzzing::run_server_session`, shared with `tests/fuzz_corpus_replay.rs`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| smtp_wasm::fuzzing::run_server_session(data));
