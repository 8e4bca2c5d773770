//! An app registration's certificate: [`ClientCertificate`] reads the PEM file (the
//! certificate and its unencrypted RSA private key) and signs the short-lived PS256 client
//! assertion the token endpoint accepts instead of a client secret.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::digest;
use aws_lc_rs::signature::{KeyPair, RsaKeyPair};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Serialize;

use super::AuthError;
use crate::secret::Secret;
use crate::wire::random_guid;

/// The `client_assertion_type` of a JWT client assertion (RFC 7523).
pub const JWT_BEARER_ASSERTION_TYPE: &str =
    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// How long a certificate assertion is valid: Microsoft asks for a short window.
const ASSERTION_LIFETIME_SECS: u64 = 600;

/// An app's certificate, ready to sign client assertions: the RSA private key and the
/// certificate's SHA-256 thumbprint. Its `Debug` shows the thumbprint only.
#[derive(Clone)]
pub struct ClientCertificate {
    key: EncodingKey,
    sha256_thumbprint: String,
}

impl fmt::Debug for ClientCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCertificate")
            .field("x5t#S256", &self.sha256_thumbprint)
            .field("key", &"<redacted>")
            .finish()
    }
}

#[derive(Serialize)]
struct AssertionClaims<'a> {
    aud: &'a str,
    iss: &'a str,
    sub: &'a str,
    jti: String,
    nbf: u64,
    iat: u64,
    exp: u64,
}

impl ClientCertificate {
    /// Reads a PEM text holding the certificate (the first `CERTIFICATE` block) and its
    /// unencrypted RSA private key (`PRIVATE KEY` or `RSA PRIVATE KEY`), and checks that
    /// the key belongs to the certificate. Errors never quote the file.
    pub fn from_pem(pem: &str) -> Result<ClientCertificate, String> {
        let mut cert_der: Option<Vec<u8>> = None;
        let mut key: Option<(bool, Vec<u8>)> = None; // (is PKCS#8, DER)
        for block in x509_parser::pem::Pem::iter_from_buffer(pem.as_bytes()) {
            let Ok(block) = block else {
                return Err(not_pem());
            };
            match block.label.as_str() {
                "CERTIFICATE" if cert_der.is_none() => cert_der = Some(block.contents),
                "PRIVATE KEY" if key.is_none() => key = Some((true, block.contents)),
                "RSA PRIVATE KEY" if key.is_none() => key = Some((false, block.contents)),
                "ENCRYPTED PRIVATE KEY" => {
                    return Err(
                        "the private key is encrypted; decrypt it (`openssl pkey -in \
                                key.pem -out plain.pem`), keep the file readable by you only, \
                                and put it beside the certificate"
                            .into(),
                    );
                }
                "EC PRIVATE KEY" => {
                    return Err(
                        "the private key is an EC key; Entra's client assertions need \
                                an RSA key (PS256)"
                            .into(),
                    );
                }
                _ => {}
            }
        }
        let cert_der = cert_der.ok_or_else(|| {
            if pem.contains("-----BEGIN") {
                "no \"-----BEGIN CERTIFICATE-----\" block: the file must hold the certificate \
                 and its private key"
                    .to_string()
            } else {
                not_pem()
            }
        })?;
        let (is_pkcs8, key_der) = key.ok_or(
            "no \"-----BEGIN PRIVATE KEY-----\" block: the file must hold the certificate and \
             its unencrypted private key",
        )?;
        let (_, cert) = x509_parser::parse_x509_certificate(&cert_der)
            .map_err(|_| "the CERTIFICATE block is not an X.509 certificate".to_string())?;
        let spki = cert.public_key();
        if spki.algorithm.algorithm != x509_parser::oid_registry::OID_PKCS1_RSAENCRYPTION {
            return Err(
                "the certificate's key is not RSA; Entra's client assertions need RSA (PS256)"
                    .into(),
            );
        }
        let pair = if is_pkcs8 {
            RsaKeyPair::from_pkcs8(&key_der)
        } else {
            RsaKeyPair::from_der(&key_der)
        }
        .map_err(|e| format!("the private key is not a usable RSA key ({e})"))?;
        if pair.public_key().as_ref() != spki.subject_public_key.data.as_ref() {
            return Err(
                "the private key does not belong to the certificate (their public keys \
                        differ): put the certificate together with its own key in the file"
                    .into(),
            );
        }
        let key = if is_pkcs8 {
            // jsonwebtoken reads PKCS#8 from PEM only (it unwraps the PKCS#1 key inside).
            let mut text = String::from("-----BEGIN PRIVATE KEY-----\n");
            let b64 = STANDARD.encode(&key_der);
            for line in b64.as_bytes().chunks(64) {
                text.push_str(std::str::from_utf8(line).unwrap_or_default());
                text.push('\n');
            }
            text.push_str("-----END PRIVATE KEY-----\n");
            EncodingKey::from_rsa_pem(text.as_bytes())
                .map_err(|_| "the private key is not a usable RSA key".to_string())?
        } else {
            EncodingKey::from_rsa_der(&key_der)
        };
        Ok(ClientCertificate {
            key,
            sha256_thumbprint: URL_SAFE_NO_PAD
                .encode(digest::digest(&digest::SHA256, &cert_der).as_ref()),
        })
    }

    /// [`ClientCertificate::from_pem`] of a file.
    pub fn from_pem_file(path: &Path) -> Result<ClientCertificate, AuthError> {
        let failure = |reason: String| AuthError::Certificate {
            path: path.to_path_buf(),
            reason,
        };
        let bytes = std::fs::read(path).map_err(|e| failure(e.to_string()))?;
        let text = String::from_utf8(bytes).map_err(|_| failure(not_pem()))?;
        ClientCertificate::from_pem(&text).map_err(failure)
    }

    /// The certificate's SHA-256 thumbprint, base64url without padding (`x5t#S256`).
    pub fn sha256_thumbprint(&self) -> &str {
        &self.sha256_thumbprint
    }

    /// A client assertion for `client_id` addressed to `audience` (the token endpoint's
    /// URL): PS256, `typ: JWT`, `x5t#S256`; `iss` = `sub` = client id, a random GUID `jti`,
    /// `nbf` = `iat` = now, `exp` = now + 10 minutes.
    pub fn assertion(&self, client_id: &str, audience: &str) -> Result<Secret, AuthError> {
        let mut header = Header::new(Algorithm::PS256);
        header.typ = Some("JWT".into());
        header.x5t_s256 = Some(self.sha256_thumbprint.clone());
        let now = unix_now();
        let claims = AssertionClaims {
            aud: audience,
            iss: client_id,
            sub: client_id,
            jti: random_guid(),
            nbf: now,
            iat: now,
            exp: now + ASSERTION_LIFETIME_SECS,
        };
        jsonwebtoken::encode(&header, &claims, &self.key)
            .map(Secret::new)
            .map_err(|e| AuthError::Certificate {
                path: PathBuf::from("<certificate>"),
                reason: format!("signing the client assertion failed ({e})"),
            })
    }
}

fn not_pem() -> String {
    "not a PEM file: it must hold the certificate and its unencrypted private key (convert a \
     .pfx with `openssl pkcs12 -in app.pfx -nodes -out app.pem`)"
        .to_string()
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guids_are_version_4() {
        let g = random_guid();
        assert_eq!(g.len(), 36);
        assert_eq!(&g[14..15], "4");
        assert!(matches!(&g[19..20], "8" | "9" | "a" | "b"), "{g}");
        assert_ne!(g, random_guid());
    }
}
