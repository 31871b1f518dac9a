//! The HTTP side of the Gmail backend: Gmail's and the Directory's paths, one token per
//! user and scope, the per-user gate and quota meters, Google's retry rules and error
//! reasons mapped to `ErrorKind`.
//!
//! Throttling (Google's "handle errors" guide): a 429 (too many requests, concurrent ones
//! included) or a 403 `userRateLimitExceeded` holds that user's gate; a 403
//! `rateLimitExceeded` (the project's limit) holds every user. With a `Retry-After` the hold
//! lasts that long and the call fails `Throttled` with the hint (the engine requeues the
//! item no sooner); without one, the call is retried here with exponential back-off and
//! jitter, the hold covering the wait so no other request to the user leaves meanwhile.
//! 5xx and unanswered requests are retried with back-off too.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

use super::account::{ServiceAccount, Tokens};
use super::quota::{Method, QuotaMeter};
use crate::backends::common::backoff::backoff;
use crate::backends::common::http::{Auth, Failure, HttpClient, Request, kind_of_status};
use crate::backends::common::throttle::{Gate, Gates};
use crate::backends::{BackendError, ErrorKind};
use crate::config::gmail::GmailSettings;
use crate::model::text::sanitize;

/// The largest answer read: Gmail's 35 MB message limit as base64url in JSON, with room.
const MAX_BODY: usize = 64 * 1024 * 1024;
/// The gate every request also passes: holds set by the project-wide limit. Its key has no
/// `@`, so it is no mailbox's.
const PROJECT: &str = "project";
/// `dailyLimitExceeded`: the project's day is spent; nothing helps before it turns.
const DAILY_LIMIT_WAIT: Duration = Duration::from_secs(3600);

/// One answer: status and body.
pub struct Reply {
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> Result<Value, BackendError> {
        serde_json::from_slice(&self.body).map_err(|e| {
            BackendError::new(ErrorKind::Invalid, format!("Google answered non-JSON: {e}"))
        })
    }
}

/// Which API a call goes to, and as whom.
pub enum Api<'a> {
    /// `/gmail/v1/users/{user}/...` as `user`, with this scope.
    Gmail { user: &'a str, scope: &'static str },
    /// `/admin/directory/v1/...` as the admin subject.
    Directory,
}

/// A Gmail client for one tenant.
pub struct GmailClient {
    http: HttpClient,
    settings: GmailSettings,
    tokens: Tokens,
    gates: Gates,
    user_quota: Mutex<HashMap<String, Arc<QuotaMeter>>>,
    project_quota: QuotaMeter,
}

impl GmailClient {
    pub fn new(settings: GmailSettings, account: ServiceAccount) -> Result<GmailClient, String> {
        // The shared client never follows a redirect of a request with a token.
        let http = HttpClient::new(Duration::from_secs(settings.request_timeout_secs))?;
        Ok(GmailClient {
            tokens: Tokens::new(http.clone(), account),
            http,
            gates: Gates::new(settings.user_concurrency),
            user_quota: Mutex::new(HashMap::new()),
            project_quota: QuotaMeter::per_minute(settings.project_quota_per_minute),
            settings,
        })
    }

    pub fn settings(&self) -> &GmailSettings {
        &self.settings
    }

    pub fn tokens(&self) -> &Tokens {
        &self.tokens
    }

    fn user_meter(&self, user: &str) -> Arc<QuotaMeter> {
        let mut meters = self.user_quota.lock().unwrap_or_else(|e| e.into_inner());
        Arc::clone(meters.entry(user.to_string()).or_insert_with(|| {
            Arc::new(QuotaMeter::per_minute(self.settings.user_quota_per_minute))
        }))
    }

    /// The full URL of `path` (already encoded) on `api`.
    fn url(&self, api: &Api<'_>, path: &str) -> String {
        match api {
            Api::Gmail { user, .. } => format!(
                "{}/gmail/v1/users/{}{path}",
                self.settings.gmail_endpoint,
                encode(user)
            ),
            Api::Directory => format!(
                "{}/admin/directory/v1{path}",
                self.settings.directory_endpoint
            ),
        }
    }

    /// One call: `method` is the Gmail method (its quota units), `verb` the HTTP method,
    /// `path` relative to the user (or the directory root), already encoded.
    pub async fn call(
        &self,
        api: Api<'_>,
        method: Method,
        verb: &'static str,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Reply, BackendError> {
        let (subject, scope, who) = match &api {
            Api::Gmail { user, scope } => (user.to_string(), *scope, user.to_string()),
            Api::Directory => (
                self.settings.admin_subject.clone(),
                super::account::DIRECTORY_SCOPE,
                "the directory".to_string(),
            ),
        };
        let gate = self.gates.gate(&subject);
        let project = self.gates.gate(PROJECT);
        let _pass = gate.enter(1).await?;
        let tokens = self.tokens.cache(&subject, scope);
        let url = self.url(&api, path);
        let mut refreshed = false;
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            project.wait_out_hold().await;
            gate.wait_out_hold().await;
            if method.units() > 0 {
                self.user_meter(&subject).spend(method.units()).await;
                self.project_quota.spend(method.units()).await;
            }
            let token = tokens.token().await?;
            let mut request = Request::new(verb, &url, MAX_BODY).auth(Auth::Bearer(&token));
            if let Some(b) = body {
                request = request.json(b);
            }
            let (status, retry_after, bytes) = match self.http.send(request).await {
                Ok(r) => (r.status, r.retry_after(), r.body),
                Err(e)
                    if matches!(
                        e.failure,
                        Failure::TimedOut | Failure::NotReached | Failure::BrokeOff
                    ) =>
                {
                    if attempt < self.settings.max_retries {
                        tokio::time::sleep(backoff(self.settings.retry_backoff_ms, attempt, None))
                            .await;
                        continue;
                    }
                    return Err(e.into_backend_error(&format!("{who}: Google's answer to {verb}")));
                }
                Err(e) => {
                    return Err(e.into_backend_error(&format!("{who}: Google's answer to {verb}")));
                }
            };
            if (200..300).contains(&status) {
                return Ok(Reply { body: bytes });
            }
            let (reason, message) = error_reason(&bytes);
            let rate_limited = status == 429
                || (status == 403
                    && matches!(
                        reason.as_str(),
                        "userRateLimitExceeded" | "rateLimitExceeded"
                    ));
            if status == 401 && !refreshed {
                // An expired or revoked token: one new token, one more try.
                refreshed = true;
                tokens.refused_by_server(&token).await;
                continue;
            }
            if rate_limited {
                // Whose limit: the project's holds every user, the rest this user only.
                let held: &Gate = if reason == "rateLimitExceeded" {
                    &project
                } else {
                    &gate
                };
                if let Some(wait) = retry_after {
                    held.hold(wait);
                    let mut e = map_error(status, &reason, &message, &who);
                    e.retry_after = Some(wait);
                    return Err(e);
                }
                if attempt < self.settings.max_retries {
                    let wait = backoff(self.settings.retry_backoff_ms, attempt, None);
                    held.hold(wait);
                    continue;
                }
                return Err(map_error(status, &reason, &message, &who));
            }
            if status >= 500 && attempt < self.settings.max_retries {
                tokio::time::sleep(backoff(
                    self.settings.retry_backoff_ms,
                    attempt,
                    retry_after,
                ))
                .await;
                continue;
            }
            let mut e = map_error(status, &reason, &message, &who);
            if reason == "dailyLimitExceeded" {
                e.retry_after = Some(DAILY_LIMIT_WAIT);
            }
            return Err(e);
        }
    }

    /// A JSON call, its answer parsed.
    pub async fn json(
        &self,
        api: Api<'_>,
        method: Method,
        verb: &'static str,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, BackendError> {
        self.call(api, method, verb, path, body).await?.json()
    }
}

/// Google's error body: `{"error":{"code","message","errors":[{"reason"}],"status"}}`.
fn error_reason(body: &[u8]) -> (String, String) {
    let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let reason = v["error"]["errors"][0]["reason"]
        .as_str()
        .or(v["error"]["status"].as_str())
        .unwrap_or("");
    (
        sanitize(reason),
        sanitize(v["error"]["message"].as_str().unwrap_or("")),
    )
}

/// The `ErrorKind` of a Google error answer, with a detail naming whom it concerns.
pub fn map_error(status: u16, reason: &str, message: &str, who: &str) -> BackendError {
    let kind = match (status, reason) {
        (429, _) | (403, "userRateLimitExceeded" | "rateLimitExceeded" | "dailyLimitExceeded") => {
            ErrorKind::Throttled
        }
        (403, "domainPolicy") => {
            return BackendError::new(
                ErrorKind::PermissionDenied,
                format!(
                    "{who}: the domain's policy does not allow this app (domainPolicy): {message}"
                ),
            );
        }
        (403, _) => {
            return BackendError::new(
                ErrorKind::PermissionDenied,
                format!(
                    "{who}: {reason} (403): the token's scope or the admin's role does not allow this: {message}"
                ),
            );
        }
        // Gmail answers 400 failedPrecondition for a user without Gmail (no licence, service off).
        (400, "failedPrecondition") => {
            return BackendError::new(
                ErrorKind::NoSuchMailbox,
                format!("{who}: no Gmail service for this user (failedPrecondition): {message}"),
            );
        }
        _ => kind_of_status(status),
    };
    let reason = if reason.is_empty() {
        "no reason"
    } else {
        reason
    };
    BackendError::new(
        kind,
        format!("{who}: Google answered {status} {reason}: {message}"),
    )
}

/// Percent-encode a path segment or query value (everything but unreserved characters).
pub fn encode(s: &str) -> String {
    const SET: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~');
    percent_encoding::utf8_percent_encode(s, SET).to_string()
}

/// `path?k=v&...` with every value encoded.
pub fn with_query(path: &str, query: &[(&str, String)]) -> String {
    if query.is_empty() {
        return path.to_string();
    }
    let q: Vec<String> = query
        .iter()
        .map(|(k, v)| format!("{k}={}", encode(v)))
        .collect();
    format!("{path}?{}", q.join("&"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_told_apart() {
        let body = |reason: &str| {
            format!(
                r#"{{"error":{{"code":403,"message":"m","errors":[{{"reason":"{reason}"}}]}}}}"#
            )
        };
        let (r, _) = error_reason(body("userRateLimitExceeded").as_bytes());
        assert_eq!(map_error(403, &r, "m", "a@x").kind, ErrorKind::Throttled);
        let (r, _) = error_reason(body("insufficientPermissions").as_bytes());
        let e = map_error(403, &r, "m", "a@x");
        assert_eq!(e.kind, ErrorKind::PermissionDenied);
        assert!(e.detail.contains("a@x") && e.detail.contains("insufficientPermissions"));
        assert_eq!(map_error(404, "notFound", "m", "a@x").kind, ErrorKind::Gone);
        assert_eq!(
            map_error(400, "failedPrecondition", "m", "a@x").kind,
            ErrorKind::NoSuchMailbox
        );
        let (r, m) = error_reason(body("bad\u{1b}[2J").as_bytes());
        assert!(!map_error(400, &r, &m, "x").detail.contains('\u{1b}'));
    }

    #[test]
    fn values_are_encoded() {
        assert_eq!(
            with_query("/messages", &[("q", "rfc822msgid:<a+b@x>".into())]),
            "/messages?q=rfc822msgid%3A%3Ca%2Bb%40x%3E"
        );
    }
}
