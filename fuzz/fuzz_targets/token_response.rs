//! Fuzz target `token_response`: token answers: a token endpoint's answer (from a server on
//! 127.0.0.1), a ready token (JWT), the Azure CLI's output, or a certificate PEM (the first
//! byte picks which). The check is `mfa_reset_fuzz::token_response` (`fuzz/src/lib.rs`), shared
//! with `tests/it/fuzz_parsers.rs`.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| mfa_reset_fuzz::token_response(data));
