#![no_main]
//! Fuzz target `body_encoders`: the body lives in `smtp_wasm::fuzzing::body_encoders`, shared with `tests/fuzz_corpus_replay.rs`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| smtp_wasm::fuzzing::body_encoders(data));
