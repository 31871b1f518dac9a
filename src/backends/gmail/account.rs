//! The service account and its delegated tokens: Google's JSON key read once, and one OAuth
//! token per (user, scope), each from the JWT-bearer grant (RFC 7523) with `sub` = the user
//! acted as. Hand-written on jsonwebtoken and the shared token endpoint code rather than
//! taken from yup-oauth2 or gcp_auth: those cache one token per scope set, not per `sub`,
//! and bring a second HTTP stack; what is needed here is one signed JWT and one form POST.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::{Deserialize, Serialize};

use crate::backends::common::http::HttpClient;
use crate::backends::common::oauth::{IssuedToken, TokenCache, TokenSource, request_token};
use crate::backends::{BackendError, ErrorKind};
use crate::config::net::checked_base_url;
use crate::config::secret::read_private_file;

/// Read and change the user's mail: list, get, modify, trash, import, labels, threads.
pub const MODIFY_SCOPE: &str = "https://www.googleapis.com/auth/gmail.modify";
/// Everything, which `messages.delete` alone needs (hard-delete, quarantine's removal).
pub const FULL_SCOPE: &str = "https://mail.google.com/";
/// Read the directory's users (as the admin subject).
pub const DIRECTORY_SCOPE: &str = "https://www.googleapis.com/auth/admin.directory.user.readonly";
/// The longest assertion lifetime Google accepts.
const ASSERTION_LIFETIME_SECS: i64 = 3600;

/// A service account's key, ready to sign assertions.
pub struct ServiceAccount {
    pub client_email: String,
    key_id: Option<String>,
    key: EncodingKey,
    pub token_uri: String,
}

#[derive(Deserialize)]
struct KeyFile {
    #[serde(rename = "type", default)]
    kind: String,
    client_email: String,
    private_key: String,
    #[serde(default)]
    private_key_id: Option<String>,
    token_uri: String,
}

impl ServiceAccount {
    /// Read Google's JSON key file (refused when group or others can read it).
    pub fn load(file: &Path) -> Result<ServiceAccount, String> {
        let name = file.display();
        let bytes = read_private_file(file)?;
        let key: KeyFile = serde_json::from_slice(&bytes).map_err(|e| {
            format!(
                "{name}: not a service-account JSON key (client_email, private_key, token_uri): {e}"
            )
        })?;
        if !key.kind.is_empty() && key.kind != "service_account" {
            return Err(format!(
                "{name}: type is \"{}\", expected \"service_account\"",
                crate::model::text::sanitize(&key.kind)
            ));
        }
        let token_uri =
            checked_base_url(&key.token_uri, "token_uri").map_err(|e| format!("{name}: {e}"))?;
        let signing = EncodingKey::from_rsa_pem(key.private_key.as_bytes())
            .map_err(|e| format!("{name}: private_key is not an RSA key in PEM: {e}"))?;
        Ok(ServiceAccount {
            client_email: key.client_email,
            key_id: key.private_key_id,
            key: signing,
            token_uri,
        })
    }

    /// The signed JWT that asks for `scope` as `subject`.
    fn assertion(&self, subject: &str, scope: &str) -> Result<String, String> {
        #[derive(Serialize)]
        struct Claims<'a> {
            iss: &'a str,
            sub: &'a str,
            scope: &'a str,
            aud: &'a str,
            iat: i64,
            exp: i64,
        }
        let now = chrono::Utc::now().timestamp();
        let mut header = Header::new(Algorithm::RS256);
        header.kid = self.key_id.clone();
        let claims = Claims {
            iss: &self.client_email,
            sub: subject,
            scope,
            aud: &self.token_uri,
            iat: now,
            exp: now + ASSERTION_LIFETIME_SECS,
        };
        jsonwebtoken::encode(&header, &claims, &self.key)
            .map_err(|e| format!("cannot sign the assertion: {e}"))
    }
}

/// Tokens for one user and one scope.
pub struct DelegatedTokens {
    http: HttpClient,
    account: Arc<ServiceAccount>,
    subject: String,
    scope: &'static str,
}

#[async_trait]
impl TokenSource for DelegatedTokens {
    async fn issue(&self) -> Result<IssuedToken, BackendError> {
        let assertion = self
            .account
            .assertion(&self.subject, self.scope)
            .map_err(|e| BackendError::new(ErrorKind::AuthFailed, e))?;
        let form = vec![
            (
                "grant_type".to_string(),
                "urn:ietf:params:oauth:grant-type:jwt-bearer".to_string(),
            ),
            ("assertion".to_string(), assertion),
        ];
        request_token(&self.http, &self.account.token_uri, form)
            .await
            .map_err(|e| explain_refusal(e, &self.subject, self.scope, &self.account))
    }
}

/// Google's two refusals that matter, said in the admin's words: a scope domain-wide
/// delegation does not grant (`unauthorized_client`: every user of the tenant fails alike)
/// and a user that cannot be acted as (`invalid_grant` naming the user: deleted, not in the
/// domain), which concerns that mailbox only.
fn explain_refusal(
    e: BackendError,
    subject: &str,
    scope: &str,
    account: &ServiceAccount,
) -> BackendError {
    if e.kind != ErrorKind::AuthFailed {
        return e;
    }
    if e.detail.contains("unauthorized_client") {
        return BackendError::new(
            ErrorKind::AuthFailed,
            format!(
                "domain-wide delegation does not grant {scope} to {} (unauthorized_client): add the scope to the client id in the Admin console, Security, API controls ({})",
                account.client_email, e.detail
            ),
        );
    }
    if e.detail.contains("invalid_grant") && e.detail.contains("Invalid email or User ID") {
        return BackendError::new(
            ErrorKind::NoSuchMailbox,
            format!("{subject}: cannot be acted as (invalid_grant): no such user in the domain"),
        );
    }
    e
}

/// The token cache of one user and scope.
type UserTokens = Arc<TokenCache<DelegatedTokens>>;

/// The token caches of one tenant: one per (user, scope), made on first use.
pub struct Tokens {
    http: HttpClient,
    account: Arc<ServiceAccount>,
    caches: Mutex<HashMap<(String, &'static str), UserTokens>>,
}

impl Tokens {
    pub fn new(http: HttpClient, account: ServiceAccount) -> Tokens {
        Tokens {
            http,
            account: Arc::new(account),
            caches: Mutex::new(HashMap::new()),
        }
    }

    /// The cache of `subject`'s tokens for `scope`.
    pub fn cache(&self, subject: &str, scope: &'static str) -> Arc<TokenCache<DelegatedTokens>> {
        let mut caches = self.caches.lock().unwrap_or_else(|e| e.into_inner());
        Arc::clone(
            caches
                .entry((subject.to_string(), scope))
                .or_insert_with(|| {
                    Arc::new(TokenCache::new(DelegatedTokens {
                        http: self.http.clone(),
                        account: Arc::clone(&self.account),
                        subject: subject.to_string(),
                        scope,
                    }))
                }),
        )
    }

    pub fn client_email(&self) -> &str {
        &self.account.client_email
    }
}
