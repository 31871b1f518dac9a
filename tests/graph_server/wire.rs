//! The HTTP side of the test server: routing, tokens (client secret or a signed client
//! assertion), `$batch`, and the answers' wire form.

use super::*;

/// The answer to one Graph operation.
pub(super) struct Answer {
    pub(super) status: u16,
    pub(super) headers: Vec<(String, String)>,
    pub(super) body: Body,
}

pub(super) enum Body {
    Json(Value),
    Raw(Vec<u8>),
    Empty,
}

pub(super) fn answer(status: u16, body: Value) -> Answer {
    Answer {
        status,
        headers: Vec::new(),
        body: Body::Json(body),
    }
}

pub(super) fn error(status: u16, code: &str, message: &str) -> Answer {
    answer(
        status,
        json!({"error": {"code": code, "message": message, "innerError": {"request-id": "test"}}}),
    )
}

pub(super) fn into_response(a: Answer) -> Response {
    let status = StatusCode::from_u16(a.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut headers = HeaderMap::new();
    for (k, v) in &a.headers {
        headers.insert(
            axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            v.parse().unwrap(),
        );
    }
    match a.body {
        Body::Json(v) => (status, headers, axum::Json(v)).into_response(),
        Body::Raw(b) => (status, headers, b).into_response(),
        Body::Empty => (status, headers).into_response(),
    }
}

pub(super) async fn handle(
    shared: Arc<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let latency = shared.settings.lock().unwrap().latency;
    let path = uri.path().to_string();
    let query = uri.query().unwrap_or("").to_string();
    if path.ends_with("/oauth2/v2.0/token") {
        tokio::time::sleep(latency).await;
        return into_response(token(&shared, &path, &body));
    }
    let Some(rest) = path.strip_prefix("/v1.0") else {
        return into_response(error(404, "NotFound", "unknown path"));
    };
    let authorized = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|t| {
            shared
                .data
                .lock()
                .unwrap()
                .tokens
                .get(t)
                .is_some_and(|exp| *exp > Instant::now())
        });
    shared.data.lock().unwrap().stats.http_requests += 1;
    // An injected 401 refuses the token of the whole HTTP request, as Graph does.
    let refused = {
        let mut d = shared.data.lock().unwrap();
        let at = d.faults.iter().position(|f| f.status == 401 && f.times > 0);
        if let Some(i) = at {
            d.faults[i].times -= 1;
        }
        at.is_some()
    };
    if !authorized || refused {
        return into_response(error(
            401,
            "InvalidAuthenticationToken",
            "Access token has expired or is not yet valid.",
        ));
    }
    let prefers_immutable = headers
        .get("prefer")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("IdType=\"ImmutableId\""));
    if !prefers_immutable {
        shared.data.lock().unwrap().violations.push(format!(
            "{method} {rest} without Prefer: IdType=\"ImmutableId\""
        ));
    }
    if rest == "/security/alerts_v2" && method == Method::GET {
        return into_response(super::security::alerts_v2(&shared, &query));
    }
    if rest == "/$batch" && method == Method::POST {
        tokio::time::sleep(latency).await;
        return into_response(batch(&shared, &body).await);
    }
    let json_body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    into_response(operation(&shared, method.as_str(), rest, &query, json_body, latency).await)
}

pub(super) fn token(shared: &Shared, path: &str, body: &[u8]) -> Answer {
    let form: HashMap<String, String> = form_pairs(std::str::from_utf8(body).unwrap_or(""));
    let settings = shared.settings.lock().unwrap().clone();
    let refuse = |why: &str| {
        answer(
            401,
            json!({"error": "invalid_client", "error_description": why}),
        )
    };
    let mut d = shared.data.lock().unwrap();
    d.stats.token_requests += 1;
    d.events.push("token".into());
    if d.broken_token_answers > 0 {
        // A proxy's page in place of the token endpoint's answer.
        d.broken_token_answers -= 1;
        return Answer {
            status: 200,
            headers: Vec::new(),
            body: Body::Raw(b"<html><body>Sign in to continue</body></html>".to_vec()),
        };
    }
    if path != format!("/{TENANT}/oauth2/v2.0/token") {
        return answer(
            400,
            json!({"error": "invalid_request", "error_description": "unknown tenant"}),
        );
    }
    if form.get("grant_type").map(String::as_str) != Some("client_credentials")
        || form.get("client_id").map(String::as_str) != Some(CLIENT_ID)
        || form.get("scope") != Some(&format!("{}/.default", shared.base))
    {
        return answer(
            400,
            json!({"error": "invalid_request", "error_description": "grant_type, client_id or scope wrong"}),
        );
    }
    if let Some(secret) = form.get("client_secret") {
        if secret != CLIENT_SECRET {
            return refuse("AADSTS7000215: Invalid client secret provided.");
        }
    } else if let Some(assertion) = form.get("client_assertion") {
        if form.get("client_assertion_type").map(String::as_str)
            != Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
        {
            return refuse("client_assertion_type wrong");
        }
        let audience = format!("{}/{TENANT}/oauth2/v2.0/token", shared.base);
        if let Err(why) = check_assertion(assertion, &settings, &audience) {
            d.violations.push(format!("bad client assertion: {why}"));
            return refuse(&format!("AADSTS700027: {why}"));
        }
    } else {
        return refuse("no client credential");
    }
    d.next_id += 1;
    let claims = json!({"roles": settings.roles, "tid": TENANT, "n": d.next_id});
    let token = format!(
        "eyJ0eXAiOiJKV1QifQ.{}.sig",
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let lifetime = Duration::from_secs(settings.token_lifetime_secs);
    let far = Instant::now() + Duration::from_secs(10 * 365 * 86_400);
    d.tokens.insert(
        token.clone(),
        Instant::now().checked_add(lifetime).unwrap_or(far).min(far),
    );
    let expires_in = if settings.token_lifetime_as_text {
        json!(settings.token_lifetime_secs.to_string())
    } else {
        json!(settings.token_lifetime_secs)
    };
    answer(
        200,
        json!({"token_type": "Bearer", "expires_in": expires_in, "ext_expires_in": expires_in, "access_token": token}),
    )
}

/// The client assertion's header, claims and signature, as Entra checks them.
pub(super) fn check_assertion(
    assertion: &str,
    settings: &Settings,
    audience: &str,
) -> Result<(), String> {
    let (key, thumbprint) = settings
        .assertion_key
        .as_ref()
        .ok_or("no certificate registered for the app")?;
    let mut parts = assertion.split('.');
    let header: Value = parts
        .next()
        .and_then(|h| URL_SAFE_NO_PAD.decode(h).ok())
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or("header not base64url JSON")?;
    if header["alg"] != "PS256" || header["typ"] != "JWT" {
        return Err(format!("header alg/typ {header}"));
    }
    if header["x5t#S256"].as_str() != Some(thumbprint.as_str()) {
        return Err("x5t#S256 is not the registered certificate's".into());
    }
    let decoding = jsonwebtoken::DecodingKey::from_rsa_pem(key).map_err(|e| e.to_string())?;
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::PS256);
    validation.set_audience(&[audience]);
    validation.set_issuer(&[CLIENT_ID]);
    validation.set_required_spec_claims(&["exp", "nbf", "aud", "iss", "sub"]);
    let data = jsonwebtoken::decode::<Value>(assertion, &decoding, &validation)
        .map_err(|e| format!("assertion rejected: {e}"))?;
    let c = data.claims;
    if c["sub"] != CLIENT_ID || !c["jti"].is_string() {
        return Err("sub or jti wrong".into());
    }
    let span = c["exp"].as_i64().unwrap_or(0) - c["nbf"].as_i64().unwrap_or(0);
    if !(1..=900).contains(&span) {
        return Err(format!("lifetime {span}s"));
    }
    Ok(())
}

pub(super) fn decode(s: &str) -> String {
    // Query strings are form-decoded, as Graph does: a raw `+` becomes a space.
    percent_decode_str(&s.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

pub(super) fn form_pairs(q: &str) -> HashMap<String, String> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

pub(super) async fn batch(shared: &Arc<Shared>, body: &[u8]) -> Answer {
    let request: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let Some(requests) = request["requests"].as_array() else {
        return error(400, "BadRequest", "no requests");
    };
    if requests.is_empty() || requests.len() > 20 {
        return error(400, "BadRequest", "a batch takes 1 to 20 requests");
    }
    shared.data.lock().unwrap().stats.batches += 1;
    let mut responses = Vec::new();
    for r in requests {
        let url = r["url"].as_str().unwrap_or("");
        let (path, query) = url.split_once('?').unwrap_or((url, ""));
        if r["headers"]["Prefer"].as_str() != Some("IdType=\"ImmutableId\"") {
            shared.data.lock().unwrap().violations.push(format!(
                "batched {path} without Prefer: IdType=\"ImmutableId\""
            ));
        }
        let a = operation(
            shared,
            r["method"].as_str().unwrap_or("GET"),
            path,
            query,
            r["body"].clone(),
            Duration::ZERO,
        )
        .await;
        let headers: serde_json::Map<String, Value> = a
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), json!(v)))
            .collect();
        let body = match a.body {
            Body::Json(v) => v,
            Body::Raw(b) => json!(URL_SAFE_NO_PAD.encode(b)),
            Body::Empty => Value::Null,
        };
        let omit = {
            let mut d = shared.data.lock().unwrap();
            let hit = d
                .omitted
                .iter()
                .position(|(p, times)| *times > 0 && path.contains(p.as_str()));
            if let Some(i) = hit {
                d.omitted[i].1 -= 1;
            }
            hit.is_some()
        };
        if omit {
            continue;
        }
        responses
            .push(json!({"id": r["id"], "status": a.status, "headers": headers, "body": body}));
    }
    responses.reverse();
    answer(200, json!({"responses": responses}))
}
