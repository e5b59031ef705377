#![no_main]
//! Fuzz target `session`: the body lives in `smtp_wasm::fuzzing::run_session`, shared with
//! `tests/fuzz_corpus_replay.rs` and `tests/session_props.rs`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| smtp_wasm::fuzzing::run_session(data));
