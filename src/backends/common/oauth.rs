//! OAuth 2.0 access tokens for HTTP backends: a [`TokenSource`] says how a provider issues
//! one (Graph: client credentials with a secret or a signed assertion; Gmail next: a service
//! account's JWT grant); the [`TokenCache`] keeps the current token, refreshes it shortly
//! before it expires, lets one caller refresh while the others wait for that same token, and
//! forgets it when the server refused it (a 401) so the next call gets a new one.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use serde::Deserialize;

use super::http::{Auth, Failure, HttpClient, Request};
use crate::backends::{BackendError, ErrorKind};
use crate::config::secret::Secret;
use crate::model::text::sanitize;

/// The longest a token is cached, whatever `expires_in` says (Entra ID issues 60 to 90 min).
const MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(24 * 3600);
/// How long before expiry a token is replaced (or half its life, for short-lived ones).
const REFRESH_MARGIN: Duration = Duration::from_secs(300);
/// The largest token endpoint answer read (a token is a few KB).
const MAX_TOKEN_BODY: usize = 1024 * 1024;

/// A token as issued, before caching.
pub struct IssuedToken {
    pub value: Secret,
    /// The lifetime the issuer gave.
    pub expires_in: Duration,
}

/// How a provider issues bearer tokens.
#[async_trait]
pub trait TokenSource: Send + Sync {
    /// Ask for a new token. `AuthFailed` means the credentials themselves were refused (the
    /// cache then stops asking); anything else is worth asking again later.
    async fn issue(&self) -> Result<IssuedToken, BackendError>;
}

/// A token with the instant after which it is no longer used.
struct CachedToken {
    value: Secret,
    refresh_after: Instant,
}

impl CachedToken {
    /// Refresh [`REFRESH_MARGIN`] early, or half way for short-lived tokens. The lifetime is
    /// taken as 1 s to a day whatever the endpoint said: its number must not overflow the
    /// clock or keep a token cached for ever.
    fn new(issued: IssuedToken) -> CachedToken {
        let lifetime = issued
            .expires_in
            .clamp(Duration::from_secs(1), MAX_TOKEN_LIFETIME);
        let margin = (lifetime / 2).min(REFRESH_MARGIN);
        CachedToken {
            value: issued.value,
            refresh_after: Instant::now() + (lifetime - margin),
        }
    }

    fn fresh(&self) -> bool {
        Instant::now() < self.refresh_after
    }
}

/// The current token of one tenant.
pub struct TokenCache<S> {
    source: S,
    /// The async lock also makes concurrent callers share one refresh.
    cached: tokio::sync::Mutex<Option<CachedToken>>,
    /// Set once the issuer refused the credentials: every later call fails the same way at
    /// once instead of asking again (and locking the app out) for each item.
    refused: Mutex<Option<BackendError>>,
}

impl<S: TokenSource> TokenCache<S> {
    pub fn new(source: S) -> TokenCache<S> {
        TokenCache {
            source,
            cached: tokio::sync::Mutex::new(None),
            refused: Mutex::new(None),
        }
    }

    /// A token that is not close to expiry: the cached one, or a new one.
    pub async fn token(&self) -> Result<Secret, BackendError> {
        let mut cached = self.cached.lock().await;
        if let Some(t) = cached.as_ref().filter(|t| t.fresh()) {
            return Ok(t.value.clone());
        }
        if let Some(e) = self
            .refused
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
        {
            return Err(e);
        }
        let issued = self.source.issue().await.inspect_err(|e| {
            if e.kind == ErrorKind::AuthFailed {
                *self.refused.lock().unwrap_or_else(|p| p.into_inner()) = Some(e.clone());
            }
        })?;
        let fresh = CachedToken::new(issued);
        let value = fresh.value.clone();
        *cached = Some(fresh);
        Ok(value)
    }

    /// The server refused `used` (a 401): forget it so the next [`token`](Self::token)
    /// asks for a new one. A token another caller already replaced is kept, so a burst of
    /// 401s on the old token costs one refresh, not one each.
    pub async fn refused_by_server(&self, used: &Secret) {
        let mut cached = self.cached.lock().await;
        if cached.as_ref().is_some_and(|t| &t.value == used) {
            *cached = None;
        }
    }
}

/// Exchange a grant at an OAuth 2.0 token endpoint (RFC 6749 section 5): `form` holds the
/// grant and the client's credentials. A refusal (4xx) is `AuthFailed` with the endpoint's
/// `error` and `error_description`; a busy or broken endpoint is `Unavailable`.
pub async fn request_token(
    http: &HttpClient,
    url: &str,
    form: Vec<(String, String)>,
) -> Result<IssuedToken, BackendError> {
    let response = http
        .send(
            Request::new("POST", url, MAX_TOKEN_BODY)
                .auth(Auth::InBody)
                .form(form),
        )
        .await
        .map_err(|e| {
            // A redirect is a refusal to take the credentials here, as a 3xx always was; a
            // broken link or answer is worth asking again.
            let kind = if e.failure == Failure::Redirected {
                ErrorKind::AuthFailed
            } else {
                ErrorKind::Unavailable
            };
            BackendError::new(kind, format!("token endpoint {url}: {}", e.detail))
        })?;
    let status = response.status;
    if status != 200 {
        #[derive(Deserialize)]
        struct TokenError {
            #[serde(default)]
            error: String,
            #[serde(default)]
            error_description: String,
        }
        let why = serde_json::from_slice::<TokenError>(&response.body)
            .map(|e| format!("{}: {}", e.error, e.error_description))
            .unwrap_or_else(|_| format!("HTTP {status}"));
        let kind = if status >= 500 || status == 429 {
            ErrorKind::Unavailable
        } else {
            ErrorKind::AuthFailed
        };
        return Err(BackendError::new(
            kind,
            format!("token refused by {url}: {}", sanitize(&why)),
        ));
    }
    // A 200 without a token is a broken answer (a proxy's page, a cut-off body), not a
    // refusal: Unavailable, so it is asked again rather than the tenant stopped.
    let token: TokenResponse = serde_json::from_slice(&response.body).map_err(|e| {
        BackendError::new(
            ErrorKind::Unavailable,
            format!("token endpoint {url} answered 200 without a token: {e}"),
        )
    })?;
    Ok(IssuedToken {
        value: Secret::new(token.access_token),
        expires_in: Duration::from_secs(token.expires_in),
    })
}

/// The token endpoint's success answer.
#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    /// Seconds; the v2 endpoint sends a number, older ones (and some proxies) a string.
    #[serde(deserialize_with = "seconds")]
    expires_in: u64,
}

fn seconds<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum NumberOrText {
        Number(u64),
        Text(String),
    }
    match NumberOrText::deserialize(d)? {
        NumberOrText::Number(n) => Ok(n),
        NumberOrText::Text(t) => t
            .trim()
            .parse()
            .map_err(|_| serde::de::Error::custom("expires_in is not a number of seconds")),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// Issues `token-1`, `token-2`, ... with a fixed lifetime, slowly, counting the calls.
    struct Counting {
        issued: Arc<AtomicUsize>,
        lifetime: Duration,
        answer: Option<ErrorKind>,
    }

    #[async_trait]
    impl TokenSource for Counting {
        async fn issue(&self) -> Result<IssuedToken, BackendError> {
            let n = self.issued.fetch_add(1, Ordering::SeqCst) + 1;
            tokio::time::sleep(Duration::from_millis(20)).await;
            if let Some(kind) = self.answer {
                return Err(BackendError::new(kind, "refused"));
            }
            Ok(IssuedToken {
                value: Secret::new(format!("token-{n}")),
                expires_in: self.lifetime,
            })
        }
    }

    fn new_cache(
        lifetime: Duration,
        answer: Option<ErrorKind>,
    ) -> (TokenCache<Counting>, Arc<AtomicUsize>) {
        let issued = Arc::new(AtomicUsize::new(0));
        let source = Counting {
            issued: Arc::clone(&issued),
            lifetime,
            answer,
        };
        (TokenCache::new(source), issued)
    }

    #[tokio::test]
    async fn concurrent_callers_share_one_refresh_and_the_token_is_reused() {
        let (cache, issued) = new_cache(Duration::from_secs(3600), None);
        let cache = Arc::new(cache);
        let calls: Vec<_> = (0..16)
            .map(|_| {
                let cache = Arc::clone(&cache);
                tokio::spawn(async move { cache.token().await.unwrap() })
            })
            .collect();
        for call in calls {
            assert_eq!(call.await.unwrap().expose(), "token-1");
        }
        assert_eq!(cache.token().await.unwrap().expose(), "token-1");
        assert_eq!(issued.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_token_is_replaced_shortly_before_it_expires() {
        // A 1 s token is used for half its life, then replaced before it runs out.
        let (cache, issued) = new_cache(Duration::from_secs(1), None);
        assert_eq!(cache.token().await.unwrap().expose(), "token-1");
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(cache.token().await.unwrap().expose(), "token-1");
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(cache.token().await.unwrap().expose(), "token-2");
        assert_eq!(issued.load(Ordering::SeqCst), 2);
        // A long-lived token is replaced five minutes early; an absurd one within a day.
        let t = CachedToken::new(IssuedToken {
            value: Secret::new("x"),
            expires_in: Duration::from_secs(3600),
        });
        let left = t.refresh_after - Instant::now();
        assert!(left <= Duration::from_secs(3300) && left > Duration::from_secs(3290));
        let t = CachedToken::new(IssuedToken {
            value: Secret::new("x"),
            expires_in: Duration::MAX,
        });
        assert!(t.refresh_after <= Instant::now() + MAX_TOKEN_LIFETIME);
        let t = CachedToken::new(IssuedToken {
            value: Secret::new("x"),
            expires_in: Duration::ZERO,
        });
        assert!(t.refresh_after <= Instant::now() + Duration::from_secs(1));
    }

    #[tokio::test]
    async fn a_token_refused_by_the_server_is_replaced_once() {
        let (cache, issued) = new_cache(Duration::from_secs(3600), None);
        let first = cache.token().await.unwrap();
        cache.refused_by_server(&first).await;
        let second = cache.token().await.unwrap();
        assert_eq!(second.expose(), "token-2");
        // A late 401 on the old token does not throw the new one away.
        cache.refused_by_server(&first).await;
        assert_eq!(cache.token().await.unwrap().expose(), "token-2");
        assert_eq!(issued.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn refused_credentials_are_not_asked_again_but_a_busy_issuer_is() {
        let (cache, issued) = new_cache(Duration::from_secs(3600), Some(ErrorKind::AuthFailed));
        for _ in 0..3 {
            assert_eq!(cache.token().await.unwrap_err().kind, ErrorKind::AuthFailed);
        }
        assert_eq!(issued.load(Ordering::SeqCst), 1);
        let (cache, issued) = new_cache(Duration::from_secs(3600), Some(ErrorKind::Unavailable));
        for _ in 0..3 {
            assert_eq!(
                cache.token().await.unwrap_err().kind,
                ErrorKind::Unavailable
            );
        }
        assert_eq!(issued.load(Ordering::SeqCst), 3);
    }

    #[test]
    fn expires_in_is_read_as_a_number_or_a_string() {
        let t: TokenResponse =
            serde_json::from_str(r#"{"access_token":"a","expires_in":"3599"}"#).unwrap();
        assert_eq!(t.expires_in, 3599);
        let t: TokenResponse =
            serde_json::from_str(r#"{"access_token":"a","expires_in":60}"#).unwrap();
        assert_eq!(t.expires_in, 60);
        assert!(
            serde_json::from_str::<TokenResponse>(r#"{"access_token":"a","expires_in":"x"}"#)
                .is_err()
        );
    }
}
