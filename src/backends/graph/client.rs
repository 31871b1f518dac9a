//! The HTTP side of the Graph backend: tokens, the per-mailbox request limit, `Retry-After`,
//! back-off on 503/504, `$batch`, and Graph error codes mapped to `ErrorKind`.
//!
//! Throttling policy (one rule, used everywhere): a 429 marks the mailbox "not before"
//! `now + Retry-After`, so no further request to it leaves this client until then, and the
//! call fails `Throttled` with the hint; the engine requeues the item no sooner than the hint
//! and shows the tenant's throttling in the job's progress. 503/504 (and unanswered requests)
//! are retried here with exponential back-off, honouring `Retry-After` when given.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, RETRY_AFTER};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::token::{CachedToken, Credential, TokenResponse};
use crate::backends::{BackendError, ErrorKind};
use crate::config::graph::GraphSettings;
use crate::config::secret::Secret;
use crate::model::text::sanitize;

/// Sent on every request so that message ids survive moves between folders.
const PREFER_IMMUTABLE: &str = "IdType=\"ImmutableId\"";
/// Graph's own cap on requests in one `$batch`.
pub const MAX_BATCH: usize = 20;
/// When a 429 carries no `Retry-After`.
const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(2);
/// The longest `Retry-After` obeyed (the engine requeues no later than this either): a
/// server's number must not overflow the clock or park a mailbox for years.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

/// A `Retry-After` in seconds (Graph never sends the HTTP-date form), capped.
fn retry_after_secs(text: &str) -> Option<Duration> {
    text.trim()
        .parse::<u64>()
        .ok()
        .map(|s| Duration::from_secs(s).min(MAX_RETRY_AFTER))
}

/// The most pages one listing follows (users at 999 a page, copies of a message at 50).
pub const MAX_PAGES: usize = 10_000;

/// The `@odata.nextLink`s one listing has followed.
#[derive(Default)]
pub struct Pages {
    followed: std::collections::HashSet<String>,
}

/// One answer: status and body.
pub struct Reply {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> Result<Value, BackendError> {
        serde_json::from_slice(&self.body).map_err(|e| {
            BackendError::new(ErrorKind::Invalid, format!("Graph answered non-JSON: {e}"))
        })
    }
}

/// One request inside a `$batch`.
pub struct SubRequest {
    pub method: &'static str,
    /// Relative to the version root (`/users/{id}/messages?...`), already encoded.
    pub url: String,
    pub body: Option<Value>,
}

/// The request limit and throttling state of one mailbox.
struct MailboxGate {
    permits: Arc<Semaphore>,
    not_before: Mutex<Option<Instant>>,
}

/// A Graph client for one tenant.
pub struct GraphClient {
    http: reqwest::Client,
    settings: GraphSettings,
    credential: Credential,
    /// The cached token; the async lock also makes concurrent callers share one fetch.
    token: tokio::sync::Mutex<Option<CachedToken>>,
    /// Set once the token endpoint refused the credentials: every later call fails the same
    /// way at once instead of asking again (and locking the app out) for each item.
    refused: Mutex<Option<BackendError>>,
    gates: Mutex<HashMap<String, Arc<MailboxGate>>>,
}

impl GraphClient {
    pub fn new(settings: GraphSettings, credential: Credential) -> Result<GraphClient, String> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(settings.request_timeout_secs))
            .pool_max_idle_per_host(256)
            // Graph answers API calls directly; a redirect is not followed, so the bearer
            // token never travels to another host.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(GraphClient {
            http,
            settings,
            credential,
            token: tokio::sync::Mutex::new(None),
            refused: Mutex::new(None),
            gates: Mutex::new(HashMap::new()),
        })
    }

    pub fn settings(&self) -> &GraphSettings {
        &self.settings
    }

    /// The token endpoint of the configured authority and tenant.
    fn token_url(&self) -> String {
        format!(
            "{}/{}/oauth2/v2.0/token",
            self.settings.authority_host,
            super::odata::encode(&self.settings.tenant_id)
        )
    }

    /// A valid token: the cached one, or a new one when it is close to expiry.
    pub async fn token(&self) -> Result<Secret, BackendError> {
        let mut cached = self.token.lock().await;
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
        let fresh = match self.fetch_token().await {
            Ok(t) => t,
            Err(e) => {
                if e.kind == ErrorKind::AuthFailed {
                    *self.refused.lock().unwrap_or_else(|e| e.into_inner()) = Some(e.clone());
                }
                return Err(e);
            }
        };
        let value = fresh.value.clone();
        *cached = Some(fresh);
        Ok(value)
    }

    /// Forget `used` (refused by Graph) so the next call fetches a new token. A token
    /// another caller already replaced is kept.
    async fn invalidate(&self, used: &Secret) {
        let mut cached = self.token.lock().await;
        if cached.as_ref().is_some_and(|t| &t.value == used) {
            *cached = None;
        }
    }

    async fn fetch_token(&self) -> Result<CachedToken, BackendError> {
        let url = self.token_url();
        let scope = format!("{}/.default", self.settings.graph_endpoint);
        let mut form: Vec<(&str, String)> = vec![
            ("client_id", self.settings.client_id.clone()),
            ("scope", scope),
            ("grant_type", "client_credentials".into()),
        ];
        match &self.credential {
            Credential::Secret(s) => form.push(("client_secret", s.expose().to_string())),
            Credential::Certificate(key) => {
                let assertion = key
                    .assertion(&self.settings.client_id, &url)
                    .map_err(|e| BackendError::new(ErrorKind::AuthFailed, e))?;
                form.push((
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer".into(),
                ));
                form.push(("client_assertion", assertion));
            }
        }
        let response = self.http.post(&url).form(&form).send().await.map_err(|e| {
            BackendError::new(
                ErrorKind::Unavailable,
                format!("token endpoint {url} not reached: {}", without_url(&e)),
            )
        })?;
        let status = response.status().as_u16();
        let body = read_capped(response, MAX_TOKEN_BODY)
            .await
            .map_err(|unread| {
                let (Unread::TooLong(why) | Unread::BrokeOff(why)) = unread;
                BackendError::new(
                    ErrorKind::Unavailable,
                    format!("token endpoint {url}: {why}"),
                )
            })?;
        if status != 200 {
            #[derive(Deserialize)]
            struct TokenError {
                #[serde(default)]
                error: String,
                #[serde(default)]
                error_description: String,
            }
            let why = serde_json::from_slice::<TokenError>(&body)
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
        let token: TokenResponse = serde_json::from_slice(&body).map_err(|e| {
            BackendError::new(
                ErrorKind::Unavailable,
                format!("token endpoint {url} answered 200 without a token: {e}"),
            )
        })?;
        Ok(CachedToken::new(
            Secret::new(token.access_token),
            Duration::from_secs(token.expires_in),
        ))
    }

    fn gate(&self, mailbox: &str) -> Arc<MailboxGate> {
        let mut gates = self.gates.lock().unwrap_or_else(|e| e.into_inner());
        Arc::clone(gates.entry(mailbox.to_string()).or_insert_with(|| {
            Arc::new(MailboxGate {
                permits: Arc::new(Semaphore::new(self.settings.mailbox_concurrency)),
                not_before: Mutex::new(None),
            })
        }))
    }

    /// Take `n` of the mailbox's request slots, then wait out any `Retry-After` it is under.
    async fn enter(
        &self,
        gate: &MailboxGate,
        n: usize,
    ) -> Result<OwnedSemaphorePermit, BackendError> {
        let n = n.clamp(1, self.settings.mailbox_concurrency) as u32;
        let permit = Arc::clone(&gate.permits)
            .acquire_many_owned(n)
            .await
            .map_err(|_| BackendError::new(ErrorKind::Internal, "mailbox limiter closed"))?;
        self.wait_not_before(gate).await;
        Ok(permit)
    }

    async fn wait_not_before(&self, gate: &MailboxGate) {
        loop {
            let until = *gate.not_before.lock().unwrap_or_else(|e| e.into_inner());
            match until {
                Some(t) if t > Instant::now() => tokio::time::sleep_until(t.into()).await,
                _ => return,
            }
        }
    }

    fn throttle(&self, gate: &MailboxGate, wait: Duration) {
        let until = Instant::now() + wait.min(MAX_RETRY_AFTER);
        let mut nb = gate.not_before.lock().unwrap_or_else(|e| e.into_inner());
        if nb.is_none_or(|t| t < until) {
            *nb = Some(until);
        }
    }

    /// One request about `mailbox` (or about the directory when `None`). `path` is relative
    /// to the version root and already encoded (see `odata`).
    pub async fn call(
        &self,
        mailbox: Option<&str>,
        method: &'static str,
        path: &str,
        body: Option<Value>,
    ) -> Result<Reply, BackendError> {
        let gate = mailbox.map(|m| self.gate(m));
        let _permit = match &gate {
            Some(g) => Some(self.enter(g, 1).await?),
            None => None,
        };
        let reply = self
            .send_with_retries(gate.as_deref(), method, path, body.as_ref())
            .await?;
        if (200..300).contains(&reply.status) {
            Ok(reply)
        } else {
            Err(map_error(reply.status, &reply.body, mailbox))
        }
    }

    /// Up to 20 requests about one mailbox in one round trip. It holds as many of the
    /// mailbox's slots as Graph may run at once (4), so a batch never breaks the limit.
    /// Answers come back in request order; each is the sub-request's own result.
    pub async fn batch(
        &self,
        mailbox: &str,
        requests: Vec<SubRequest>,
    ) -> Result<Vec<Result<Value, BackendError>>, BackendError> {
        if requests.is_empty() || requests.len() > MAX_BATCH {
            return Err(BackendError::new(
                ErrorKind::Internal,
                format!("a $batch takes 1 to {MAX_BATCH} requests"),
            ));
        }
        let gate = self.gate(mailbox);
        let _permit = self.enter(&gate, requests.len()).await?;
        let mut results: Vec<Option<Result<Value, BackendError>>> =
            (0..requests.len()).map(|_| None).collect();
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let pending: Vec<usize> = (0..requests.len())
                .filter(|i| results[*i].is_none())
                .collect();
            if pending.is_empty() {
                break;
            }
            let answers = self.batch_once(&gate, mailbox, &requests, &pending).await?;
            let mut hint = None;
            for (i, answer) in answers {
                match answer {
                    // A sub-request Graph could not serve now: again, after a back-off.
                    Err((503 | 504, _, retry_after)) if attempt < self.settings.max_retries => {
                        hint = hint.max(retry_after);
                    }
                    Err((_, e, _)) => results[i] = Some(Err(e)),
                    Ok(v) => results[i] = Some(Ok(v)),
                }
            }
            if results.iter().any(Option::is_none) {
                // Answers left out (not a 503) are asked again too, but only so often: a reply
                // that always omits one must end as an error, not a loop.
                if attempt >= self.settings.max_retries {
                    break;
                }
                tokio::time::sleep(self.backoff(attempt, hint)).await;
            }
        }
        Ok(results
            .into_iter()
            .map(|r| {
                r.unwrap_or_else(|| {
                    Err(BackendError::new(
                        ErrorKind::Unavailable,
                        "a $batch answer left a request out",
                    ))
                })
            })
            .collect())
    }

    /// Send the `pending` requests of a batch once; each answer is the value, or the status,
    /// the mapped error and any `Retry-After`.
    #[allow(clippy::type_complexity)]
    async fn batch_once(
        &self,
        gate: &MailboxGate,
        mailbox: &str,
        requests: &[SubRequest],
        pending: &[usize],
    ) -> Result<Vec<(usize, Result<Value, (u16, BackendError, Option<Duration>)>)>, BackendError>
    {
        let body = json!({
            "requests": pending.iter().map(|&i| {
                let r = &requests[i];
                let mut sub = json!({
                    "id": (i + 1).to_string(),
                    "method": r.method,
                    "url": r.url,
                    "headers": {"Prefer": PREFER_IMMUTABLE},
                });
                if let Some(b) = &r.body {
                    sub["body"] = b.clone();
                    sub["headers"]["Content-Type"] = json!("application/json");
                }
                sub
            }).collect::<Vec<_>>()
        });
        let reply = self
            .send_with_retries(Some(gate), "POST", "/$batch", Some(&body))
            .await?;
        if reply.status != 200 {
            return Err(map_error(reply.status, &reply.body, Some(mailbox)));
        }
        let answer = reply.json()?;
        let mut out = Vec::new();
        for r in answer["responses"].as_array().into_iter().flatten() {
            // Answers may come in any order: match them by id.
            let Some(index) = r["id"]
                .as_str()
                .and_then(|id| id.parse::<usize>().ok())
                .and_then(|i| i.checked_sub(1))
                .filter(|i| pending.contains(i))
            else {
                continue;
            };
            let status = r["status"].as_u64().unwrap_or(0) as u16;
            if (200..300).contains(&status) {
                out.push((index, Ok(r["body"].clone())));
                continue;
            }
            let retry_after = r["headers"]["Retry-After"]
                .as_str()
                .and_then(retry_after_secs);
            let body = serde_json::to_vec(&r["body"]).unwrap_or_default();
            let mut e = map_error(status, &body, Some(mailbox));
            if status == 429 {
                let wait = retry_after.unwrap_or(DEFAULT_RETRY_AFTER);
                self.throttle(gate, wait);
                e.retry_after = Some(wait);
            }
            out.push((index, Err((status, e, retry_after))));
        }
        Ok(out)
    }

    /// Send until an answer that is not 401-once, 503 or 504 (those are retried here).
    async fn send_with_retries(
        &self,
        gate: Option<&MailboxGate>,
        method: &'static str,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Reply, BackendError> {
        let url = format!("{}/v1.0{path}", self.settings.graph_endpoint);
        let mut refreshed = false;
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            if let Some(g) = gate {
                self.wait_not_before(g).await;
            }
            let token = self.token().await?;
            let mut request = self
                .http
                .request(
                    reqwest::Method::from_bytes(method.as_bytes()).unwrap_or(reqwest::Method::GET),
                    &url,
                )
                .bearer_auth(token.expose())
                .header("Prefer", PREFER_IMMUTABLE);
            if let Some(b) = body {
                request = request.json(b);
            }
            let sent = request.send().await;
            let (status, headers, bytes) = match sent {
                Ok(r) => {
                    let status = r.status().as_u16();
                    let headers = r.headers().clone();
                    match read_capped(r, MAX_BODY).await {
                        Ok(b) => (status, headers, b),
                        // Asking again would fetch the same oversized answer (and repeat a
                        // move that may have been done): an error now.
                        Err(Unread::TooLong(why)) => {
                            return Err(BackendError::new(
                                ErrorKind::Invalid,
                                format!("Graph's answer to {method}: {why}"),
                            ));
                        }
                        Err(Unread::BrokeOff(why)) => (0, HeaderMap::new(), why.into_bytes()),
                    }
                }
                Err(e) if e.is_timeout() => {
                    if attempt < self.settings.max_retries {
                        tokio::time::sleep(self.backoff(attempt, None)).await;
                        continue;
                    }
                    return Err(BackendError::new(
                        ErrorKind::Timeout,
                        format!("Graph did not answer {method} in time ({attempt} attempts)"),
                    ));
                }
                Err(e) => (0, HeaderMap::new(), without_url(&e).into_bytes()),
            };
            let retry_after = headers
                .get(RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(retry_after_secs);
            match status {
                401 if !refreshed => {
                    // An expired or revoked token: one new token, one more try.
                    refreshed = true;
                    self.invalidate(&token).await;
                }
                401 => {
                    return Err(BackendError::new(
                        ErrorKind::AuthFailed,
                        "Graph refused a freshly issued token (401): check the app's credentials and consent",
                    ));
                }
                429 => {
                    let wait = retry_after.unwrap_or(DEFAULT_RETRY_AFTER);
                    if let Some(g) = gate {
                        self.throttle(g, wait);
                    }
                    let mut e = map_error(status, &bytes, None);
                    e.retry_after = Some(wait);
                    return Err(e);
                }
                0 | 503 | 504 => {
                    if attempt >= self.settings.max_retries {
                        let what = if status == 0 {
                            format!("not reached: {}", String::from_utf8_lossy(&bytes))
                        } else {
                            format!("answered {status}")
                        };
                        return Err(BackendError::new(
                            ErrorKind::Unavailable,
                            format!("Graph {what} ({attempt} attempts)"),
                        ));
                    }
                    tokio::time::sleep(self.backoff(attempt, retry_after)).await;
                }
                _ => {
                    return Ok(Reply {
                        status,
                        body: bytes,
                    });
                }
            }
        }
    }

    /// Exponential back-off with jitter, never shorter than the server's hint.
    fn backoff(&self, attempt: u32, hint: Option<Duration>) -> Duration {
        let base = self
            .settings
            .retry_backoff_ms
            .saturating_mul(1 << attempt.min(10));
        let jitter = rand::random::<f64>() * 0.5 + 0.5;
        let delay = Duration::from_millis((base as f64 * jitter) as u64);
        hint.map_or(delay, |h| h.max(delay))
    }

    /// Turn an `@odata.nextLink` into a path for `call`, refusing one that points anywhere
    /// but the configured Graph endpoint (the bearer token must not travel elsewhere), one
    /// already followed in this listing (a loop), and any past [`MAX_PAGES`]: a listing must
    /// end even when the server's links do not.
    pub fn next_link_path(&self, link: &str, pages: &mut Pages) -> Result<String, BackendError> {
        if pages.followed.len() >= MAX_PAGES || !pages.followed.insert(link.to_string()) {
            return Err(BackendError::new(
                ErrorKind::Invalid,
                format!(
                    "Graph's next page links did not end (a link repeated, or over {MAX_PAGES} pages); the listing was stopped"
                ),
            ));
        }
        let root = format!("{}/v1.0", self.settings.graph_endpoint);
        link.strip_prefix(&root)
            .filter(|rest| rest.starts_with('/'))
            .map(str::to_string)
            .ok_or_else(|| {
                BackendError::new(
                    ErrorKind::Invalid,
                    format!(
                        "Graph sent a next page link outside {root}: {}",
                        sanitize(link)
                    ),
                )
            })
    }
}

/// The largest answer read: Exchange Online's message size limit (150 MB) for `$value`, with
/// room for MIME's base64. A server sending more is broken or hostile; memory stays bounded.
const MAX_BODY: usize = 200 * 1024 * 1024;
/// The largest token endpoint answer read (a token is a few KB).
const MAX_TOKEN_BODY: usize = 1024 * 1024;

/// Why a body was not read whole.
enum Unread {
    TooLong(String),
    BrokeOff(String),
}

/// Read a body, refusing one longer than `cap` before holding it all.
async fn read_capped(mut response: reqwest::Response, cap: usize) -> Result<Vec<u8>, Unread> {
    let too_long = || Unread::TooLong(format!("the answer is over {cap} bytes"));
    if response.content_length().is_some_and(|n| n > cap as u64) {
        return Err(too_long());
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| Unread::BrokeOff(format!("the answer broke off: {}", without_url(&e))))?
    {
        if body.len() + chunk.len() > cap {
            return Err(too_long());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// reqwest errors name the URL, which may carry a filter with a Message-ID: keep the kind.
fn without_url(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    if let Some(url) = e.url() {
        text = text.replace(url.as_str(), "(url)");
    }
    text
}

/// Graph's error body: `{"error":{"code","message"}}`.
fn error_code(body: &[u8]) -> (String, String) {
    let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    (
        sanitize(v["error"]["code"].as_str().unwrap_or("")),
        sanitize(v["error"]["message"].as_str().unwrap_or("")),
    )
}

/// The `ErrorKind` of a Graph error answer, with a detail that names the mailbox.
pub fn map_error(status: u16, body: &[u8], mailbox: Option<&str>) -> BackendError {
    let (code, message) = error_code(body);
    let who = mailbox.unwrap_or("the directory");
    let kind = match (status, code.as_str()) {
        (_, "MailboxNotEnabledForRESTAPI" | "MailboxNotSupportedForRESTAPI") => {
            return BackendError::new(
                ErrorKind::NoSuchMailbox,
                format!(
                    "{who}: not reachable through Graph ({code}: unlicensed, inactive, guest or on-premises mailbox)"
                ),
            );
        }
        (403, "ErrorAccessDenied") => {
            return BackendError::new(
                ErrorKind::PermissionDenied,
                format!(
                    "{who}: ErrorAccessDenied: the app's RBAC scope (or an application access policy) does not include this mailbox ({message})"
                ),
            );
        }
        (403, _) => {
            return BackendError::new(
                ErrorKind::PermissionDenied,
                format!(
                    "{who}: {code} (403): the app lacks a permission (Mail.ReadWrite, User.Read.All) or admin consent: {message}"
                ),
            );
        }
        (404, _) => ErrorKind::Gone,
        (429, _) => ErrorKind::Throttled,
        (401, _) => ErrorKind::AuthFailed,
        (507, _) | (_, "ErrorQuotaExceeded") => ErrorKind::OverQuota,
        (400..=499, _) => ErrorKind::Invalid,
        _ => ErrorKind::Unavailable,
    };
    let code = if code.is_empty() {
        "no code".into()
    } else {
        code
    };
    BackendError::new(
        kind,
        format!("{who}: Graph answered {status} {code}: {message}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn graph_codes_map_to_kinds_and_name_the_mailbox() {
        let body = |code: &str| format!(r#"{{"error":{{"code":"{code}","message":"m"}}}}"#);
        let e = map_error(
            404,
            body("MailboxNotEnabledForRESTAPI").as_bytes(),
            Some("a@x"),
        );
        assert_eq!(e.kind, ErrorKind::NoSuchMailbox);
        let e = map_error(403, body("ErrorAccessDenied").as_bytes(), Some("b@x"));
        assert_eq!(e.kind, ErrorKind::PermissionDenied);
        assert!(
            e.detail.contains("b@x") && e.detail.contains("RBAC"),
            "{}",
            e.detail
        );
        assert_eq!(
            map_error(404, body("ErrorItemNotFound").as_bytes(), None).kind,
            ErrorKind::Gone
        );
        assert_eq!(map_error(429, b"", None).kind, ErrorKind::Throttled);
        let e = map_error(400, body("Bad\u{1b}[2J").as_bytes(), None);
        assert!(!e.detail.contains('\u{1b}'), "{}", e.detail);
    }
}
