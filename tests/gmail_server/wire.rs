//! The wire: routing, the token endpoint, the Directory, and the gate every Gmail request
//! passes (token, user, concurrency, Retry-After, quota units, faults, latency).

use super::*;

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use percent_encoding::percent_decode_str;
use serde_json::{Value, json};

/// One answer before it is sent.
pub struct Answer {
    pub status: u16,
    pub body: Value,
    pub headers: Vec<(String, String)>,
}

impl Answer {
    pub fn ok(body: Value) -> Answer {
        Answer {
            status: 200,
            body,
            headers: Vec::new(),
        }
    }
}

/// Google's error shape.
pub fn error(status: u16, reason: &str, message: &str) -> Answer {
    Answer {
        status,
        body: json!({"error": {"code": status, "message": message,
            "errors": [{"message": message, "domain": "global", "reason": reason}]}}),
        headers: Vec::new(),
    }
}

fn send(a: Answer) -> Response {
    let mut r = (
        StatusCode::from_u16(a.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        a.body.to_string(),
    )
        .into_response();
    r.headers_mut()
        .insert("content-type", "application/json".parse().unwrap());
    for (k, v) in a.headers {
        if let (Ok(k), Ok(v)) = (
            axum::http::HeaderName::from_bytes(k.as_bytes()),
            v.parse::<axum::http::HeaderValue>(),
        ) {
            r.headers_mut().insert(k, v);
        }
    }
    r
}

pub(super) fn decode(s: &str) -> String {
    percent_decode_str(&s.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

/// Query pairs, repeated keys kept.
pub(super) fn pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

pub(super) fn get<'a>(q: &'a [(String, String)], key: &str) -> Option<&'a str> {
    q.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

pub(super) async fn handle(
    shared: Arc<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_string();
    let query = pairs(uri.query().unwrap_or(""));
    if path == "/token" && method == Method::POST {
        return send(token(&shared, &body));
    }
    let latency = shared.settings.lock().unwrap().latency;
    let bearer = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("")
        .to_string();
    let grant = shared.data.lock().unwrap().tokens.get(&bearer).cloned();
    shared.data.lock().unwrap().stats.http_requests += 1;
    let Some((subject, scopes)) = grant else {
        return send(error(401, "authError", "Invalid Credentials"));
    };
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    if let Some(rest) = path.strip_prefix("/admin/directory/v1/users") {
        shared.data.lock().unwrap().stats.directory_requests += 1;
        tokio::time::sleep(latency).await;
        let admin = shared.settings.lock().unwrap().admin.clone();
        if subject != admin || !scopes.iter().any(|s| s == DIRECTORY) {
            return send(error(
                403,
                "forbidden",
                "Not Authorized to access this resource/api",
            ));
        }
        if !rest.is_empty() {
            return send(error(400, "badRequest", "unsupported"));
        }
        return send(list_users(&shared, &query));
    }
    let Some(rest) = path.strip_prefix("/gmail/v1/users/") else {
        return send(error(404, "notFound", "no such API"));
    };
    let segments: Vec<String> = rest.split('/').map(decode).collect();
    let user = segments[0].to_ascii_lowercase();
    send(
        gated(
            &shared,
            method.as_str(),
            &user,
            &subject,
            &scopes,
            &segments[1..],
            &query,
            body,
            latency,
        )
        .await,
    )
}

/// The JWT-bearer grant, checked as Google does.
fn token(shared: &Arc<Shared>, body: &[u8]) -> Answer {
    let form = pairs(&String::from_utf8_lossy(body));
    let settings = shared.settings.lock().unwrap().clone();
    let mut d = shared.data.lock().unwrap();
    d.stats.token_requests += 1;
    let refuse = |status: u16, error: &str, why: &str| Answer {
        status,
        body: json!({"error": error, "error_description": why}),
        headers: Vec::new(),
    };
    if get(&form, "grant_type") != Some("urn:ietf:params:oauth:grant-type:jwt-bearer") {
        return refuse(400, "unsupported_grant_type", "Invalid grant_type");
    }
    let assertion = get(&form, "assertion").unwrap_or("");
    let header: Value = assertion
        .split('.')
        .next()
        .and_then(|h| URL_SAFE_NO_PAD.decode(h).ok())
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or(Value::Null);
    if header["alg"] != "RS256" {
        d.violations
            .push(format!("assertion alg {}", header["alg"]));
        return refuse(400, "invalid_grant", "Invalid JWT: alg");
    }
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.set_audience(&[format!("{}/token", shared.base)]);
    validation.set_issuer(&[CLIENT_EMAIL]);
    validation.set_required_spec_claims(&["exp", "iat", "aud", "iss", "sub"]);
    let claims = match jsonwebtoken::decode::<Value>(assertion, &shared.public_key, &validation) {
        Ok(c) => c.claims,
        Err(e) => {
            d.violations.push(format!("assertion rejected: {e}"));
            return refuse(400, "invalid_grant", "Invalid JWT Signature.");
        }
    };
    let (iat, exp) = (
        claims["iat"].as_i64().unwrap_or(0),
        claims["exp"].as_i64().unwrap_or(0),
    );
    if exp - iat > 3600 || exp <= iat {
        d.violations
            .push(format!("assertion lifetime {}", exp - iat));
        return refuse(400, "invalid_grant", "Invalid JWT: exp too far");
    }
    let scopes: Vec<String> = claims["scope"]
        .as_str()
        .unwrap_or("")
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    if scopes.is_empty() || scopes.iter().any(|s| !settings.delegated.contains(s)) {
        return refuse(
            401,
            "unauthorized_client",
            "Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested.",
        );
    }
    let sub = claims["sub"].as_str().unwrap_or("").to_ascii_lowercase();
    if d.user(&sub).is_none() {
        return refuse(400, "invalid_grant", "Invalid email or User ID");
    }
    d.next_id += 1;
    let token = format!("ya29.test-{}-{}", d.next_id, rand_part());
    d.tokens
        .insert(token.clone(), (sub.clone(), scopes.clone()));
    d.events.push(format!("token {sub} {}", scopes.join(" ")));
    Answer::ok(
        json!({"access_token": token, "expires_in": settings.token_lifetime_secs, "token_type": "Bearer"}),
    )
}

fn rand_part() -> String {
    format!(
        "{:x}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
    )
}

/// `users.list`, paged (suspended users listed with `suspended: true`).
fn list_users(shared: &Arc<Shared>, query: &[(String, String)]) -> Answer {
    let d = shared.data.lock().unwrap();
    if get(query, "customer") != Some("my_customer") && get(query, "domain").is_none() {
        return error(400, "badRequest", "Bad Request: customer or domain");
    }
    let size: usize = get(query, "maxResults")
        .and_then(|s| s.parse().ok())
        .unwrap_or(100)
        .clamp(1, 500);
    let start: usize = get(query, "pageToken")
        .and_then(|s| s.strip_prefix("p")?.parse().ok())
        .unwrap_or(0);
    let page: Vec<Value> = d
        .users
        .iter()
        .skip(start)
        .take(size)
        .map(|u| json!({"primaryEmail": u.email, "suspended": u.state == UserState::Suspended}))
        .collect();
    let mut out = json!({"kind": "admin#directory#users", "users": page});
    if start + size < d.users.len() {
        out["nextPageToken"] = json!(format!("p{}", start + size));
    }
    Answer::ok(out)
}

/// Units charged within the last minute of `w`, after adding `units` now.
fn charge(w: &mut Window, units: u64, now: Instant) -> u64 {
    while let Some((at, u)) = w.spent.front().copied() {
        if now.duration_since(at) < Duration::from_secs(60) {
            break;
        }
        w.spent.pop_front();
        w.total -= u;
    }
    w.spent.push_back((now, units));
    w.total += units;
    w.total
}

/// A Gmail request through Gmail's limits, then the work.
#[allow(clippy::too_many_arguments)]
async fn gated(
    shared: &Arc<Shared>,
    method: &str,
    user: &str,
    subject: &str,
    scopes: &[String],
    segments: &[String],
    query: &[(String, String)],
    body: Value,
    latency: Duration,
) -> Answer {
    let settings = shared.settings.lock().unwrap().clone();
    let name = gmail::method_name(method, segments);
    let units = gmail::units(name);
    {
        let mut d = shared.data.lock().unwrap();
        d.stats.gmail_requests += 1;
        *d.stats.by_method.entry(name.to_string()).or_insert(0) += 1;
        let now = Instant::now();
        if let Some((sent, until)) = d.held.get(user).copied()
            && now < until
            && now > sent + RETRY_AFTER_GRACE
        {
            d.violations.push(format!(
                "{method} {} to {user} {} ms before its Retry-After elapsed",
                segments.join("/"),
                (until - now).as_millis()
            ));
        }
        if user != subject && user != "me" {
            d.violations
                .push(format!("{subject}'s token used on {user}'s mailbox"));
            return error(403, "forbidden", "Delegation denied");
        }
        let needed_full = name == "messages.delete" || name == "messages.batchDelete";
        let allowed = scopes.iter().any(|s| s == FULL)
            || (!needed_full && scopes.iter().any(|s| s == MODIFY));
        if !allowed {
            return error(
                403,
                "insufficientPermissions",
                "Request had insufficient authentication scopes.",
            );
        }
        match d.user(user).map(|u| u.state) {
            None => return error(404, "notFound", "no such user"),
            Some(UserState::Suspended) => {
                return error(400, "failedPrecondition", "Mail service not enabled");
            }
            Some(UserState::Active) => {}
        }
        let n = d.in_flight.entry(user.to_string()).or_insert(0);
        *n += 1;
        let n = *n;
        d.stats.max_in_flight = d.stats.max_in_flight.max(n);
        if n > settings.user_concurrency {
            d.violations
                .push(format!("request {n} in flight at once to {user}"));
            *d.in_flight.get_mut(user).unwrap() -= 1;
            return throttled(
                &mut d,
                user,
                429,
                "rateLimitExceeded",
                "Too many concurrent requests for user.",
                Some(1),
            );
        }
        let user_total = charge(
            d.user_units.entry(user.to_string()).or_default(),
            units,
            now,
        );
        let project_total = charge(&mut d.project_units, units, now);
        d.stats.units += units;
        d.stats.max_user_units_per_minute = d.stats.max_user_units_per_minute.max(user_total);
        d.stats.max_project_units_per_minute =
            d.stats.max_project_units_per_minute.max(project_total);
        if user_total > settings.user_units_per_minute {
            *d.in_flight.get_mut(user).unwrap() -= 1;
            return throttled(
                &mut d,
                user,
                403,
                "userRateLimitExceeded",
                "User-rate limit exceeded.",
                settings.quota_retry_after,
            );
        }
        if project_total > settings.project_units_per_minute {
            *d.in_flight.get_mut(user).unwrap() -= 1;
            return throttled(
                &mut d,
                user,
                403,
                "rateLimitExceeded",
                "Rate Limit Exceeded",
                settings.quota_retry_after,
            );
        }
        let decoded = segments.join("/");
        if let Some(i) = d.faults.iter().position(|f| {
            f.times > 0
                && f.user.as_ref().is_none_or(|u| u.eq_ignore_ascii_case(user))
                && f.path_contains
                    .as_ref()
                    .is_none_or(|p| decoded.contains(p.as_str()))
        }) {
            d.faults[i].times -= 1;
            let f = d.faults[i].clone();
            *d.in_flight.get_mut(user).unwrap() -= 1;
            if f.status == 429
                || f.reason.ends_with("RateLimitExceeded")
                || f.reason == "rateLimitExceeded"
            {
                return throttled(&mut d, user, f.status, &f.reason, "injected", f.retry_after);
            }
            let mut a = error(f.status, &f.reason, "injected fault");
            if let Some(s) = f.retry_after {
                a.headers.push(("Retry-After".into(), s.to_string()));
            }
            return a;
        }
    }
    tokio::time::sleep(latency).await;
    let a = {
        let mut d = shared.data.lock().unwrap();
        gmail::operation(&mut d, method, user, segments, query, body)
    };
    let mut d = shared.data.lock().unwrap();
    if let Some(n) = d.in_flight.get_mut(user) {
        *n -= 1;
    }
    a
}

/// A throttling answer; with `Retry-After`, the user is held until it passes.
fn throttled(
    d: &mut Data,
    user: &str,
    status: u16,
    reason: &str,
    message: &str,
    retry_after: Option<u64>,
) -> Answer {
    d.stats.throttled += 1;
    let mut a = error(status, reason, message);
    if let Some(secs) = retry_after {
        let now = Instant::now();
        d.held
            .insert(user.to_string(), (now, now + Duration::from_secs(secs)));
        a.headers.push(("Retry-After".into(), secs.to_string()));
    }
    a
}
