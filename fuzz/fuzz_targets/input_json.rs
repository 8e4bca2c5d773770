//! Fuzz target `input_json`: a user list seeded with JSON (arrays, Graph pages, objects, JSON
//! Lines); a first line `#column NAME` is taken as `--column NAME`. The check is
//! `mfa_reset_fuzz::input_json` (`fuzz/src/lib.rs`), shared with `tests/it/fuzz_parsers.rs`.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| mfa_reset_fuzz::input_json(data));
