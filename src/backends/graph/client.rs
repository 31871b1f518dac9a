//! The HTTP side of the Graph backend: Graph's paths and `Prefer` header, its retry rules,
//! `$batch`, next-page links, and Graph error codes mapped to `ErrorKind`. Generic HTTP, the
//! token cache, the per-mailbox gate and the back-off are shared (`backends::common`).
//!
//! Throttling policy (one rule, used everywhere): a 429 marks the mailbox "not before"
//! `now + Retry-After`, so no further request to it leaves this client until then, and the
//! call fails `Throttled` with the hint; the engine requeues the item no sooner than the hint
//! and shows the tenant's throttling in the job's progress. 503/504 (and unanswered requests)
//! are retried here with exponential back-off, honouring `Retry-After` when given.

use std::time::Duration;

use serde_json::{Value, json};

use super::token::{Credential, GraphTokens};
use crate::backends::common::backoff::backoff;
use crate::backends::common::http::{
    Auth, Failure, HttpClient, Request, kind_of_status, parse_retry_after,
};
use crate::backends::common::oauth::TokenCache;
use crate::backends::common::throttle::{Gate, Gates};
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

/// A Graph client for one tenant.
pub struct GraphClient {
    http: HttpClient,
    settings: GraphSettings,
    tokens: TokenCache<GraphTokens>,
    gates: Gates,
}

impl GraphClient {
    pub fn new(settings: GraphSettings, credential: Credential) -> Result<GraphClient, String> {
        // The shared client never follows a redirect of a request with a token, so the bearer
        // token never travels to another host (Graph answers API calls directly).
        let http = HttpClient::new(Duration::from_secs(settings.request_timeout_secs))?;
        let tokens = TokenCache::new(GraphTokens::new(http.clone(), &settings, credential));
        let gates = Gates::new(settings.mailbox_concurrency);
        Ok(GraphClient {
            http,
            settings,
            tokens,
            gates,
        })
    }

    pub fn settings(&self) -> &GraphSettings {
        &self.settings
    }

    /// A valid token: the cached one, or a new one when it is close to expiry.
    pub async fn token(&self) -> Result<Secret, BackendError> {
        self.tokens.token().await
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
        let gate = mailbox.map(|m| self.gates.gate(m));
        let _pass = match &gate {
            Some(g) => Some(g.enter(1).await?),
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
        let gate = self.gates.gate(mailbox);
        let _pass = gate.enter(requests.len()).await?;
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
                tokio::time::sleep(backoff(self.settings.retry_backoff_ms, attempt, hint)).await;
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
        gate: &Gate,
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
                .and_then(parse_retry_after);
            let body = serde_json::to_vec(&r["body"]).unwrap_or_default();
            let mut e = map_error(status, &body, Some(mailbox));
            if status == 429 {
                let wait = retry_after.unwrap_or(DEFAULT_RETRY_AFTER);
                gate.hold(wait);
                e.retry_after = Some(wait);
            }
            out.push((index, Err((status, e, retry_after))));
        }
        Ok(out)
    }

    /// Send until an answer that is not 401-once, 503 or 504 (those are retried here).
    async fn send_with_retries(
        &self,
        gate: Option<&Gate>,
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
                g.wait_out_hold().await;
            }
            let token = self.tokens.token().await?;
            let mut request = Request::new(method, &url, MAX_BODY)
                .auth(Auth::Bearer(&token))
                .header("Prefer", PREFER_IMMUTABLE);
            if let Some(b) = body {
                request = request.json(b);
            }
            let (status, retry_after, bytes) = match self.http.send(request).await {
                Ok(r) => (r.status, r.retry_after(), r.body),
                Err(e) if e.failure == Failure::TimedOut => {
                    if attempt < self.settings.max_retries {
                        tokio::time::sleep(backoff(self.settings.retry_backoff_ms, attempt, None))
                            .await;
                        continue;
                    }
                    return Err(BackendError::new(
                        ErrorKind::Timeout,
                        format!("Graph did not answer {method} in time ({attempt} attempts)"),
                    ));
                }
                // A link that failed is asked again, like a 503.
                Err(e) if e.kind() == ErrorKind::Unavailable => (0, None, e.detail.into_bytes()),
                // Asking again would fetch the same oversized answer (or the same redirect),
                // and repeat a move that may have been done: an error now.
                Err(e) => return Err(e.into_backend_error(&format!("Graph's answer to {method}"))),
            };
            match status {
                401 if !refreshed => {
                    // An expired or revoked token: one new token, one more try.
                    refreshed = true;
                    self.tokens.refused_by_server(&token).await;
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
                        g.hold(wait);
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
                    tokio::time::sleep(backoff(
                        self.settings.retry_backoff_ms,
                        attempt,
                        retry_after,
                    ))
                    .await;
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
        (_, "ErrorQuotaExceeded") => ErrorKind::OverQuota,
        _ => kind_of_status(status),
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
