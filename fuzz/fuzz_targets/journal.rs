//! Fuzz target `journal`: a run folder's `journal.jsonl`, resumed with `Journal::resume`,
//! appended to and resumed again. The check is `mfa_reset_fuzz::journal` (`fuzz/src/lib.rs`),
//! shared with `tests/it/fuzz_parsers.rs`.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| mfa_reset_fuzz::journal(data));
