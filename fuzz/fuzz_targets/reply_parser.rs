#![no_main]
//! Fuzz target `reply_parser`: the body lives in `smtp_wasm::fuzzing::reply_parser`, shared with `tests/fuzz_corpus_replay.rs`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| smtp_wasm::fuzzing::reply_parser(data));
