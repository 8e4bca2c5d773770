//! Fuzz target `input_csv`: a user list, as `check`, `plan` and `--exclude` read it (CSV, TSV,
//! semicolons, plain lists; the format is sniffed from the content). The check is
//! `mfa_reset_fuzz::input_csv` (`fuzz/src/lib.rs`), shared with `tests/it/fuzz_parsers.rs`.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| mfa_reset_fuzz::input_csv(data));
