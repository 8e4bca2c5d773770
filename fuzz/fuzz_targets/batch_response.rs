//! Fuzz target `batch_response`: Graph's answers: a `$batch` body, a whole answer from a server
//! on 127.0.0.1, a `Retry-After` value or an error body (the first byte picks which). The check
//! is `mfa_reset_fuzz::batch_response` (`fuzz/src/lib.rs`), shared with
//! `tests/it/fuzz_parsers.rs`.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| mfa_reset_fuzz::batch_response(data));
