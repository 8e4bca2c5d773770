//! Fuzz target `certificate_pem`: the PEM file of `AZURE_CLIENT_CERTIFICATE_PATH` (certificate
//! and RSA key), as `ClientCertificate::from_pem` reads it. The check is
//! `mfa_reset_fuzz::certificate_pem` (`fuzz/src/lib.rs`), shared with `tests/it/fuzz_parsers.rs`.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| mfa_reset_fuzz::certificate_pem(data));
