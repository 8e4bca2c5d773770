//! Fuzz target `plan_file`: a `plan.json` as `apply` and `resume` read it, then used as they
//! use it (fingerprint, summaries, result rows). The check is `mfa_reset_fuzz::plan_file`
//! (`fuzz/src/lib.rs`), shared with `tests/it/fuzz_parsers.rs`.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| mfa_reset_fuzz::plan_file(data));
