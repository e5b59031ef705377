#![no_main]
//! Fuzz target `server_command`: the body lives in `smtp_wasm::fuzzing::server_command`, shared with `tests/fuzz_corpus_replay.rs`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| smtp_wasm::fuzzing::server_command(data));
