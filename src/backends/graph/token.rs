//! App-only access tokens (OAuth 2.0 client credentials) from a client secret or from a
//! certificate (a signed JWT client assertion, PS256 with the `x5t#S256` thumbprint).

use std::path::Path;

use async_trait::async_trait;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::backends::common::http::HttpClient;
use crate::backends::common::oauth::{IssuedToken, TokenSource, request_token};
use crate::backends::{BackendError, ErrorKind};
use crate::config::graph::{GraphCredential, GraphSettings};
use crate::config::secret::{Secret, read_private_file};

/// The credential in a form ready to use.
pub enum Credential {
    Secret(Secret),
    Certificate(CertificateKey),
}

/// A private key and the thumbprint of its certificate.
pub struct CertificateKey {
    key: EncodingKey,
    /// base64url SHA-256 of the certificate's DER, the assertion's `x5t#S256`.
    thumbprint: String,
}

impl Credential {
    /// Resolve the configured secret or read the certificate file (refused when group or
    /// others can read it).
    pub fn load(settings: &GraphSettings) -> Result<Credential, String> {
        match &settings.credential {
            GraphCredential::Secret(source) => source
                .resolve()
                .map(Credential::Secret)
                .map_err(|e| format!("client secret: {e}")),
            GraphCredential::Certificate { file, password } => {
                let bytes = read_private_file(file)?;
                if looks_like_pem(&bytes) {
                    if password.is_some() {
                        return Err(format!(
                            "{}: client_certificate_password_* is for PFX files; a PEM key must be unencrypted (mode 600)",
                            file.display()
                        ));
                    }
                    return CertificateKey::from_pem(&bytes, file).map(Credential::Certificate);
                }
                let password = match password {
                    Some(source) => source
                        .resolve()
                        .map_err(|e| format!("client certificate password: {e}"))?,
                    // An unprotected PFX has the empty password.
                    None => Secret::new(""),
                };
                CertificateKey::from_pfx(&bytes, password.expose(), file)
                    .map(Credential::Certificate)
            }
        }
    }
}

/// PEM files start with `-----BEGIN` (after optional whitespace); PFX is binary DER.
fn looks_like_pem(bytes: &[u8]) -> bool {
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(4096)]);
    text.trim_start().starts_with("-----BEGIN") || text.contains("\n-----BEGIN")
}

impl CertificateKey {
    /// A PEM file holding the certificate and its RSA private key (PKCS#1 or PKCS#8).
    pub fn from_pem(bytes: &[u8], file: &Path) -> Result<CertificateKey, String> {
        let name = file.display();
        let blocks = pem::parse_many(bytes).map_err(|e| format!("{name}: not PEM: {e}"))?;
        if blocks.is_empty() {
            return Err(format!(
                "{name}: no PEM blocks; PFX files are not read by this build (convert to PEM)"
            ));
        }
        let cert = blocks
            .iter()
            .find(|b| b.tag() == "CERTIFICATE")
            .ok_or_else(|| format!("{name}: no CERTIFICATE block"))?;
        let key_block = blocks
            .iter()
            .find(|b| matches!(b.tag(), "PRIVATE KEY" | "RSA PRIVATE KEY"))
            .ok_or_else(|| {
                if blocks.iter().any(|b| b.tag() == "ENCRYPTED PRIVATE KEY") {
                    format!("{name}: the private key is encrypted; store it unencrypted (mode 600)")
                } else {
                    format!("{name}: no RSA PRIVATE KEY or PRIVATE KEY block")
                }
            })?;
        let key = EncodingKey::from_rsa_pem(pem::encode(key_block).as_bytes())
            .map_err(|e| format!("{name}: the private key is not an RSA key: {e}"))?;
        let thumbprint = URL_SAFE_NO_PAD.encode(Sha256::digest(cert.contents()));
        Ok(CertificateKey { key, thumbprint })
    }

    /// A PFX (PKCS#12) file: its private key and the certificate that goes with it.
    pub fn from_pfx(bytes: &[u8], password: &str, file: &Path) -> Result<CertificateKey, String> {
        let name = file.display();
        let store = p12_keystore::KeyStore::from_pkcs12(
            bytes,
            password,
            p12_keystore::Pkcs12ImportPolicy::Strict,
        )
        .map_err(|e| format!("{name}: not a readable PFX (wrong password?): {e}"))?;
        let (_, chain) = store
            .private_key_chain()
            .ok_or_else(|| format!("{name}: the PFX holds no private key with its certificate"))?;
        let cert = chain
            .certs()
            .first()
            .ok_or_else(|| format!("{name}: the PFX holds no certificate for its key"))?;
        // The key comes as PKCS#8 DER; jsonwebtoken reads PKCS#8 through PEM.
        let key_pem = pem::encode(&pem::Pem::new("PRIVATE KEY", chain.key().as_der().to_vec()));
        let key = EncodingKey::from_rsa_pem(key_pem.as_bytes())
            .map_err(|e| format!("{name}: the private key is not an RSA key: {e}"))?;
        let thumbprint = URL_SAFE_NO_PAD.encode(Sha256::digest(cert.as_der()));
        Ok(CertificateKey { key, thumbprint })
    }

    /// The signed client assertion for the token endpoint `audience`.
    pub fn assertion(&self, client_id: &str, audience: &str) -> Result<String, String> {
        #[derive(Serialize)]
        struct Claims<'a> {
            aud: &'a str,
            iss: &'a str,
            sub: &'a str,
            jti: String,
            nbf: i64,
            iat: i64,
            exp: i64,
        }
        let now = chrono::Utc::now().timestamp();
        let mut header = Header::new(Algorithm::PS256);
        header.x5t_s256 = Some(self.thumbprint.clone());
        let claims = Claims {
            aud: audience,
            iss: client_id,
            sub: client_id,
            jti: new_guid(),
            nbf: now,
            iat: now,
            // Microsoft recommends at most 5-10 minutes.
            exp: now + 600,
        };
        jsonwebtoken::encode(&header, &claims, &self.key)
            .map_err(|e| format!("cannot sign the client assertion: {e}"))
    }
}

/// A random GUID (version 4 layout) for the assertion's `jti`.
fn new_guid() -> String {
    let b: [u8; 16] = rand::random();
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        u32::from_be_bytes([b[0], b[1], b[2], b[3]]),
        u16::from_be_bytes([b[4], b[5]]),
        u16::from_be_bytes([b[6], b[7]]) & 0x0fff,
        (u16::from_be_bytes([b[8], b[9]]) & 0x3fff) | 0x8000,
        u64::from_be_bytes([0, 0, b[10], b[11], b[12], b[13], b[14], b[15]])
    )
}

/// Graph's app-only tokens: the client-credentials grant at the tenant's Entra ID token
/// endpoint, proven by the client secret or by a signed assertion.
pub struct GraphTokens {
    http: HttpClient,
    token_url: String,
    client_id: String,
    scope: String,
    credential: Credential,
}

impl GraphTokens {
    pub fn new(http: HttpClient, settings: &GraphSettings, credential: Credential) -> GraphTokens {
        GraphTokens {
            http,
            token_url: format!(
                "{}/{}/oauth2/v2.0/token",
                settings.authority_host,
                super::odata::encode(&settings.tenant_id)
            ),
            client_id: settings.client_id.clone(),
            scope: format!("{}/.default", settings.graph_endpoint),
            credential,
        }
    }
}

#[async_trait]
impl TokenSource for GraphTokens {
    async fn issue(&self) -> Result<IssuedToken, BackendError> {
        let mut form: Vec<(String, String)> = vec![
            ("client_id".into(), self.client_id.clone()),
            ("scope".into(), self.scope.clone()),
            ("grant_type".into(), "client_credentials".into()),
        ];
        match &self.credential {
            Credential::Secret(s) => form.push(("client_secret".into(), s.expose().to_string())),
            Credential::Certificate(key) => {
                let assertion = key
                    .assertion(&self.client_id, &self.token_url)
                    .map_err(|e| BackendError::new(ErrorKind::AuthFailed, e))?;
                form.push((
                    "client_assertion_type".into(),
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer".into(),
                ));
                form.push(("client_assertion".into(), assertion));
            }
        }
        request_token(&self.http, &self.token_url, form).await
    }
}

/// The application permissions (`roles`) an access token carries. The token is not verified
/// here (Graph does that); this only reads what was granted, for `check`.
pub fn token_roles(token: &str) -> Result<Vec<String>, String> {
    #[derive(Deserialize)]
    struct Claims {
        #[serde(default)]
        roles: Vec<String>,
    }
    let payload = token
        .split('.')
        .nth(1)
        .ok_or("the access token is not a JWT")?;
    let bytes = URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .map_err(|_| "the access token's payload is not base64url")?;
    let claims: Claims = serde_json::from_slice(&bytes)
        .map_err(|_| "the access token's payload is not JSON with roles")?;
    Ok(claims.roles)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_read_from_the_payload() {
        let payload = URL_SAFE_NO_PAD.encode(r#"{"roles":["Mail.ReadWrite","User.Read.All"]}"#);
        let roles = token_roles(&format!("e30.{payload}.sig")).unwrap();
        assert_eq!(roles, ["Mail.ReadWrite", "User.Read.All"]);
        assert!(token_roles("opaque").is_err());
    }

    #[test]
    fn guids_have_the_v4_shape() {
        let g = new_guid();
        assert_eq!(g.len(), 36);
        assert_eq!(&g[14..15], "4");
    }
}
