//! A Microsoft Graph test server: the documented behaviour the Graph backend relies on, with
//! Exchange Online's limits, and a record of every time a client broke them.
//!
//! Implemented (v1.0, app-only): the token endpoint (client secret, or a PS256 client
//! assertion whose header, claims and signature are checked); `/users/{id|address}`; `/users`
//! with `$top` paging through `@odata.nextLink`; mail folders by well-known name or id,
//! hidden folders created on request and found with `includeHiddenFolders`; messages with
//! immutable ids (unchanged by moves); `$filter` on `internetMessageId`, `displayName`,
//! `receivedDateTime` and on `singleValueExtendedProperties` (In-Reply-To 0x1042, References
//! 0x1039); `$expand` of those properties; `move`, `permanentDelete`, `PATCH isRead`, `$value`;
//! `$batch` (at most 20; answers in reverse order, as Graph may reorder them; sub-requests run
//! one after another); 401 for unknown or revoked tokens; `MailboxNotEnabledForRESTAPI`,
//! `ErrorAccessDenied`, `ErrorItemNotFound`.
//!
//! Limits: at most 4 requests in flight per mailbox (a fifth gets 429 ApplicationThrottled
//! and is recorded as a violation); 429 carries `Retry-After`, and a request to that mailbox
//! arriving before it elapsed is recorded as a violation (one already on the wire when the
//! 429 went out, i.e. within `RETRY_AFTER_GRACE`, is not the client's fault). Faults (any
//! status and code, with or without `Retry-After`) can be injected per mailbox and path, a
//! `$batch` can be made to leave answers out (as a broken proxy in front of Graph would), and
//! a latency added to every request.
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use percent_encoding::percent_decode_str;
use serde_json::{Value, json};

/// A request arriving this soon after a 429 was sent was already on its way.
pub const RETRY_AFTER_GRACE: Duration = Duration::from_millis(50);
/// Exchange Online's concurrent requests per mailbox.
pub const MAILBOX_CONCURRENCY: usize = 4;

pub const TENANT: &str = "contoso-test";
pub const CLIENT_ID: &str = "11111111-2222-3333-4444-555555555555";
pub const CLIENT_SECRET: &str = "s3cret-value";

/// How a test user's mailbox behaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UserKind {
    Member,
    Guest,
    /// Unlicensed or on-premises: `MailboxNotEnabledForRESTAPI`.
    NoRestMailbox,
    /// Outside the app's RBAC scope: `ErrorAccessDenied`.
    OutOfScope,
}

#[derive(Clone, Debug)]
struct User {
    id: String,
    mail: String,
    kind: UserKind,
}

#[derive(Clone, Debug)]
struct Folder {
    id: String,
    user: String,
    name: String,
    well_known: Option<&'static str>,
    hidden: bool,
}

/// A message to deliver.
#[derive(Clone, Debug, Default)]
pub struct NewMessage {
    pub internet_message_id: String,
    pub from: String,
    pub to: Vec<String>,
    pub subject: String,
    pub in_reply_to: Option<String>,
    pub references: Vec<String>,
    pub is_read: bool,
}

#[derive(Clone, Debug)]
struct Message {
    id: String,
    user: String,
    folder: String,
    m: NewMessage,
    received: String,
}

/// An injected fault: the next `times` requests matching it get this answer.
#[derive(Clone, Debug)]
pub struct Fault {
    /// Mailbox address or user id; `None`: any.
    pub user: Option<String>,
    /// A substring of the decoded path; `None`: any.
    pub path_contains: Option<String>,
    pub status: u16,
    pub code: String,
    pub retry_after: Option<u64>,
    pub times: usize,
}

/// Counters for tests and the benchmark.
#[derive(Clone, Debug, Default)]
pub struct Stats {
    /// HTTP requests to Graph (a `$batch` counts once).
    pub http_requests: u64,
    /// Graph operations (each request inside a `$batch` counts).
    pub operations: u64,
    pub token_requests: u64,
    pub batches: u64,
    pub throttled: u64,
    /// The most requests seen in flight for one mailbox.
    pub max_in_flight: usize,
}

#[derive(Default)]
struct Data {
    users: Vec<User>,
    /// user id and lower-case address -> index in `users`
    user_index: HashMap<String, usize>,
    /// user id -> folders
    folders: HashMap<String, Vec<Folder>>,
    /// user id -> messages
    messages: HashMap<String, Vec<Message>>,
    tokens: HashMap<String, Instant>,
    faults: Vec<Fault>,
    /// (path substring, times): sub-requests a `$batch` answer leaves out.
    omitted: Vec<(String, usize)>,
    /// The next this many token requests get a 200 with an HTML page and no token.
    broken_token_answers: usize,
    in_flight: HashMap<String, usize>,
    /// user id -> (when the 429 was sent, until when requests must wait)
    throttled: HashMap<String, (Instant, Instant)>,
    violations: Vec<String>,
    events: Vec<String>,
    stats: Stats,
    next_id: u64,
}

impl Data {
    fn user(&self, key: &str) -> Option<&User> {
        self.user_index
            .get(key)
            .or_else(|| self.user_index.get(&key.to_ascii_lowercase()))
            .map(|i| &self.users[*i])
    }
}

/// Behaviour settings.
#[derive(Clone, Debug)]
pub struct Settings {
    pub latency: Duration,
    pub roles: Vec<String>,
    pub token_lifetime_secs: u64,
    /// Send `expires_in` as a string (`"3599"`), as older endpoints did.
    pub token_lifetime_as_text: bool,
    pub users_page: usize,
    /// The last page of `/users` links back to the first (a broken server's endless listing).
    pub users_next_link_loops: bool,
    /// The public key that verifies client assertions, and the certificate's thumbprint.
    pub assertion_key: Option<(Vec<u8>, String)>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            latency: Duration::ZERO,
            roles: vec!["Mail.ReadWrite".into(), "User.Read.All".into()],
            token_lifetime_secs: 3599,
            token_lifetime_as_text: false,
            users_page: 100,
            users_next_link_loops: false,
            assertion_key: None,
        }
    }
}

struct Shared {
    data: Mutex<Data>,
    settings: Mutex<Settings>,
    base: String,
}

/// A running server (its own thread and runtime, so blocking tests can use it too).
pub struct GraphServer {
    pub url: String,
    shared: Arc<Shared>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for GraphServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl GraphServer {
    pub fn start(settings: Settings) -> GraphServer {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let shared = Arc::new(Shared {
            data: Mutex::new(Data::default()),
            settings: Mutex::new(settings),
            base: url.clone(),
        });
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let for_thread = Arc::clone(&shared);
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                let app = axum::Router::new().fallback(move |method, uri, headers, body| {
                    let shared = Arc::clone(&for_thread);
                    async move { handle(shared, method, uri, headers, body).await }
                });
                let _ = axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = rx.await;
                    })
                    .await;
            });
        });
        GraphServer {
            url,
            shared,
            shutdown: Some(tx),
            thread: Some(thread),
        }
    }

    fn data(&self) -> std::sync::MutexGuard<'_, Data> {
        self.shared.data.lock().unwrap()
    }

    pub fn set_latency(&self, latency: Duration) {
        self.shared.settings.lock().unwrap().latency = latency;
    }

    pub fn set_roles(&self, roles: &[&str]) {
        self.shared.settings.lock().unwrap().roles = roles.iter().map(|r| r.to_string()).collect();
    }

    /// Add a user with a mailbox (inbox, junk, deleted items, recoverable items).
    pub fn add_user(&self, mail: &str, kind: UserKind) -> String {
        let mut d = self.data();
        d.next_id += 1;
        let id = format!("{:08x}-0000-4000-8000-{:012x}", d.next_id, d.next_id);
        let index = d.users.len();
        d.users.push(User {
            id: id.clone(),
            mail: mail.to_ascii_lowercase(),
            kind,
        });
        d.user_index.insert(id.clone(), index);
        d.user_index.insert(mail.to_ascii_lowercase(), index);
        for (wk, name) in [
            ("inbox", "Inbox"),
            ("junkemail", "Junk Email"),
            ("deleteditems", "Deleted Items"),
            ("recoverableitemsdeletions", "Deletions"),
            ("sentitems", "Sent Items"),
        ] {
            d.next_id += 1;
            let fid = format!("AQMk{}/f{}=", d.next_id, wk.len());
            d.folders.entry(id.clone()).or_default().push(Folder {
                id: fid,
                user: id.clone(),
                name: name.into(),
                well_known: Some(wk),
                hidden: wk == "recoverableitemsdeletions",
            });
        }
        id
    }

    /// Add a plain (not well-known) folder; returns its id.
    pub fn add_folder(&self, mail: &str, name: &str) -> String {
        let mut d = self.data();
        let user = d.user(mail).expect("user").id.clone();
        d.next_id += 1;
        let id = format!("AQMk{}+custom=", d.next_id);
        d.folders.entry(user.clone()).or_default().push(Folder {
            id: id.clone(),
            user,
            name: name.into(),
            well_known: None,
            hidden: false,
        });
        id
    }

    /// Put a message in a folder (well-known name, display name or id); returns its
    /// immutable id.
    pub fn deliver(&self, mail: &str, folder: &str, m: NewMessage) -> String {
        let mut d = self.data();
        let user = d.user(mail).expect("user").id.clone();
        let folder = d.folders[&user]
            .iter()
            .find(|f| f.well_known == Some(folder) || f.name == folder || f.id == folder)
            .expect("folder")
            .id
            .clone();
        d.next_id += 1;
        // Real immutable ids are base64 and may carry `=`, `+`, `/`: paths must be encoded.
        let id = format!("AAkALg{}+x/y=", d.next_id);
        let received = format!("2026-11-20T10:{:02}:00Z", d.next_id % 60);
        d.messages.entry(user.clone()).or_default().push(Message {
            id: id.clone(),
            user,
            folder,
            m,
            received,
        });
        id
    }

    /// Each copy of messages in a mailbox: (folder well-known name or display name,
    /// Message-ID, isRead, immutable id).
    pub fn copies(&self, mail: &str) -> Vec<(String, String, bool, String)> {
        let d = self.data();
        let Some(user) = d.user(mail) else {
            return Vec::new();
        };
        d.messages
            .get(&user.id)
            .into_iter()
            .flatten()
            .map(|m| {
                let f = d.folders[&user.id]
                    .iter()
                    .find(|f| f.id == m.folder)
                    .expect("folder");
                (
                    f.well_known.map(str::to_string).unwrap_or(f.name.clone()),
                    m.m.internet_message_id.clone(),
                    m.m.is_read,
                    m.id.clone(),
                )
            })
            .collect()
    }

    /// Each copy of messages in a mailbox with its `receivedDateTime`: (folder well-known name
    /// or display name, Message-ID, isRead, receivedDateTime).
    pub fn dated_copies(&self, mail: &str) -> Vec<(String, String, bool, String)> {
        let received: HashMap<String, String> = {
            let d = self.data();
            d.messages
                .values()
                .flatten()
                .map(|m| (m.id.clone(), m.received.clone()))
                .collect()
        };
        self.copies(mail)
            .into_iter()
            .map(|(folder, message_id, read, id)| {
                let at = received.get(&id).cloned().unwrap_or_default();
                (folder, message_id, read, at)
            })
            .collect()
    }

    /// Mark a copy read or unread (the user reading it).
    pub fn set_read(&self, id: &str, read: bool) {
        let mut d = self.data();
        if let Some(m) = d.messages.values_mut().flatten().find(|m| m.id == id) {
            m.m.is_read = read;
        }
    }

    pub fn fail(&self, fault: Fault) {
        self.data().faults.push(fault);
    }

    /// The next `times` token requests are answered 200 with an HTML page, no token.
    pub fn break_token_answers(&self, times: usize) {
        self.data().broken_token_answers = times;
    }

    /// The next `times` batched sub-requests whose path contains `path_contains` are carried
    /// out but left out of the `$batch` answer.
    pub fn omit_from_batches(&self, path_contains: &str, times: usize) {
        self.data().omitted.push((path_contains.to_string(), times));
    }

    /// Invalidate every token issued so far (as a key rollover or revocation would).
    pub fn revoke_tokens(&self) {
        self.data().tokens.clear();
    }

    pub fn violations(&self) -> Vec<String> {
        self.data().violations.clone()
    }

    /// Ordered log of notable operations (`$value <id>`, `permanentDelete <id>`, `token`).
    pub fn events(&self) -> Vec<String> {
        self.data().events.clone()
    }

    pub fn stats(&self) -> Stats {
        self.data().stats.clone()
    }

    /// The config keys of a tenant pointing at this server (client secret from `env_var`).
    pub fn tenant_config(&self, env_var: &str) -> String {
        format!(
            "kind = \"graph\"\ntenant_id = \"{TENANT}\"\nclient_id = \"{CLIENT_ID}\"\nclient_secret_env = \"{env_var}\"\nauthority_host = \"{url}\"\ngraph_endpoint = \"{url}\"\nretry_backoff_ms = 20\n",
            url = self.url
        )
    }
}

/// The answer to one Graph operation.
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Body,
}

enum Body {
    Json(Value),
    Raw(Vec<u8>),
    Empty,
}

fn answer(status: u16, body: Value) -> Answer {
    Answer {
        status,
        headers: Vec::new(),
        body: Body::Json(body),
    }
}

fn error(status: u16, code: &str, message: &str) -> Answer {
    answer(
        status,
        json!({"error": {"code": code, "message": message, "innerError": {"request-id": "test"}}}),
    )
}

fn into_response(a: Answer) -> Response {
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

async fn handle(
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
    if rest == "/$batch" && method == Method::POST {
        tokio::time::sleep(latency).await;
        return into_response(batch(&shared, &body).await);
    }
    let json_body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    into_response(operation(&shared, method.as_str(), rest, &query, json_body, latency).await)
}

fn token(shared: &Shared, path: &str, body: &[u8]) -> Answer {
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
fn check_assertion(assertion: &str, settings: &Settings, audience: &str) -> Result<(), String> {
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

fn decode(s: &str) -> String {
    // Query strings are form-decoded, as Graph does: a raw `+` becomes a space.
    percent_decode_str(&s.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

fn form_pairs(q: &str) -> HashMap<String, String> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

async fn batch(shared: &Arc<Shared>, body: &[u8]) -> Answer {
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

/// One Graph operation: the per-mailbox limits, faults, latency, then the work.
async fn operation(
    shared: &Arc<Shared>,
    method: &str,
    path: &str,
    query: &str,
    body: Value,
    latency: Duration,
) -> Answer {
    let segments: Vec<String> = path
        .trim_start_matches('/')
        .split('/')
        .map(|s| percent_decode_str(s).decode_utf8_lossy().into_owned())
        .collect();
    let query = form_pairs(query);
    shared.data.lock().unwrap().stats.operations += 1;
    if segments.first().map(String::as_str) != Some("users") {
        return error(400, "BadRequest", "unsupported resource");
    }
    if segments.len() == 1 {
        tokio::time::sleep(latency).await;
        return list_users(shared, &query);
    }
    let user = {
        let d = shared.data.lock().unwrap();
        d.users
            .iter()
            .find(|u| u.id == segments[1] || u.mail.eq_ignore_ascii_case(&segments[1]))
            .cloned()
    };
    let Some(user) = user else {
        tokio::time::sleep(latency).await;
        return error(
            404,
            "Request_ResourceNotFound",
            &format!("Resource '{}' does not exist", segments[1]),
        );
    };
    // Enter the mailbox: Retry-After, concurrency, faults.
    {
        let mut d = shared.data.lock().unwrap();
        let now = Instant::now();
        if let Some((sent, until)) = d.throttled.get(&user.id).copied()
            && now < until
            && now > sent + RETRY_AFTER_GRACE
        {
            d.violations.push(format!(
                "{method} {path} to {} {} ms before its Retry-After elapsed",
                user.mail,
                (until - now).as_millis()
            ));
        }
        let n = d.in_flight.entry(user.id.clone()).or_insert(0);
        *n += 1;
        let n = *n;
        d.stats.max_in_flight = d.stats.max_in_flight.max(n);
        if n > MAILBOX_CONCURRENCY {
            d.violations
                .push(format!("request {n} in flight at once to {}", user.mail));
            if let Some(c) = d.in_flight.get_mut(&user.id) {
                *c -= 1;
            }
            return throttled(
                &mut d,
                &user.id,
                1,
                "Application is over its MailboxConcurrency limit.",
            );
        }
        let decoded = segments.join("/");
        if let Some(i) = d.faults.iter().position(|f| {
            f.times > 0
                && f.status != 401
                && f.user
                    .as_ref()
                    .is_none_or(|u| u.eq_ignore_ascii_case(&user.mail) || *u == user.id)
                && f.path_contains
                    .as_ref()
                    .is_none_or(|p| decoded.contains(p.as_str()))
        }) {
            let f = d.faults[i].clone();
            d.faults[i].times -= 1;
            if let Some(c) = d.in_flight.get_mut(&user.id) {
                *c -= 1;
            }
            if f.status == 429 {
                return throttled(&mut d, &user.id, f.retry_after.unwrap_or(1), "injected");
            }
            let mut a = error(f.status, &f.code, "injected fault");
            if let Some(s) = f.retry_after {
                a.headers.push(("Retry-After".into(), s.to_string()));
            }
            return a;
        }
    }
    tokio::time::sleep(latency).await;
    let a = mailbox_operation(shared, &user, method, &segments[2..], &query, body);
    let mut d = shared.data.lock().unwrap();
    if let Some(c) = d.in_flight.get_mut(&user.id) {
        *c -= 1;
    }
    a
}

fn throttled(d: &mut Data, user: &str, secs: u64, message: &str) -> Answer {
    let now = Instant::now();
    // The header says what it says (tests send absurd values); the clock stays in range.
    let until = now
        .checked_add(Duration::from_secs(secs))
        .unwrap_or(now + Duration::from_secs(10 * 365 * 86_400));
    d.throttled.insert(user.to_string(), (now, until));
    d.stats.throttled += 1;
    let mut a = error(429, "ApplicationThrottled", message);
    a.headers.push(("Retry-After".into(), secs.to_string()));
    a
}

fn user_json(u: &User) -> Value {
    json!({
        "id": u.id,
        "mail": u.mail,
        "userPrincipalName": u.mail,
        "userType": if u.kind == UserKind::Guest { "Guest" } else { "Member" },
    })
}

fn list_users(shared: &Arc<Shared>, query: &HashMap<String, String>) -> Answer {
    let (page, loops) = {
        let settings = shared.settings.lock().unwrap();
        (settings.users_page, settings.users_next_link_loops)
    };
    let top: usize = query
        .get("$top")
        .and_then(|t| t.parse().ok())
        .unwrap_or(100)
        .clamp(1, 999)
        .min(page);
    let skip: usize = query
        .get("$skiptoken")
        .and_then(|t| t.parse().ok())
        .unwrap_or(0);
    let d = shared.data.lock().unwrap();
    let value: Vec<Value> = d.users.iter().skip(skip).take(top).map(user_json).collect();
    let mut out = json!({"value": value});
    if skip + top < d.users.len() {
        out["@odata.nextLink"] = json!(format!(
            "{}/v1.0/users?%24top={top}&%24skiptoken={}",
            shared.base,
            skip + top
        ));
    } else if loops {
        out["@odata.nextLink"] = json!(format!(
            "{}/v1.0/users?%24top={top}&%24skiptoken=0",
            shared.base
        ));
    }
    answer(200, out)
}

fn message_json(m: &Message, expand: bool) -> Value {
    let mut v = json!({
        "id": m.id,
        "parentFolderId": m.folder,
        "isRead": m.m.is_read,
        "receivedDateTime": m.received,
        "internetMessageId": m.m.internet_message_id,
        "subject": m.m.subject,
        "from": {"emailAddress": {"address": m.m.from}},
        "toRecipients": m.m.to.iter().map(|a| json!({"emailAddress": {"address": a}})).collect::<Vec<_>>(),
        "ccRecipients": [],
    });
    if expand {
        let mut props = Vec::new();
        if let Some(irt) = &m.m.in_reply_to {
            props.push(json!({"id": "String 0x1042", "value": irt}));
        }
        if !m.m.references.is_empty() {
            props.push(json!({"id": "String 0x1039", "value": m.m.references.join(" ")}));
        }
        v["singleValueExtendedProperties"] = json!(props);
    }
    v
}

fn folder_of<'a>(d: &'a Data, user: &str, key: &str) -> Option<&'a Folder> {
    d.folders
        .get(user)?
        .iter()
        .find(|f| f.id == key || f.well_known == Some(key))
}

fn mailbox_operation(
    shared: &Arc<Shared>,
    user: &User,
    method: &str,
    rest: &[String],
    query: &HashMap<String, String>,
    body: Value,
) -> Answer {
    if rest.is_empty() {
        return answer(200, user_json(user));
    }
    match user.kind {
        UserKind::NoRestMailbox => {
            return error(
                404,
                "MailboxNotEnabledForRESTAPI",
                "The mailbox is either inactive, soft-deleted, or is hosted on-premise.",
            );
        }
        UserKind::OutOfScope => {
            return error(403, "ErrorAccessDenied", "Access to OData is disabled.");
        }
        UserKind::Guest => {
            return error(404, "ResourceNotFound", "Resource could not be discovered.");
        }
        UserKind::Member => {}
    }
    let mut d = shared.data.lock().unwrap();
    let filter = match query.get("$filter").map(|f| Filter::parse(f)).transpose() {
        Ok(f) => f,
        Err(why) => return error(400, "BadRequest", &format!("Invalid filter clause: {why}")),
    };
    let expand = query
        .get("$expand")
        .is_some_and(|e| e.contains("singleValueExtendedProperties"));
    let rest: Vec<&str> = rest.iter().map(String::as_str).collect();
    match (method, rest.as_slice()) {
        ("GET", ["mailFolders"]) => {
            let hidden = query
                .get("includeHiddenFolders")
                .is_some_and(|v| v == "true");
            let value: Vec<Value> = d
                .folders
                .get(&user.id)
                .into_iter()
                .flatten()
                .filter(|f| hidden || !f.hidden)
                .filter(|f| filter.as_ref().is_none_or(|x| x.matches_folder(f)))
                .map(|f| json!({"id": f.id, "displayName": f.name, "isHidden": f.hidden}))
                .collect();
            answer(200, json!({"value": value}))
        }
        ("POST", ["mailFolders"]) => {
            let name = body["displayName"].as_str().unwrap_or("").to_string();
            if d.folders
                .get(&user.id)
                .into_iter()
                .flatten()
                .any(|f| f.name == name)
            {
                return error(
                    400,
                    "ErrorFolderExists",
                    "A folder with the specified name already exists.",
                );
            }
            d.next_id += 1;
            let id = format!("AQMk{}+new=", d.next_id);
            d.folders.entry(user.id.clone()).or_default().push(Folder {
                id: id.clone(),
                user: user.id.clone(),
                name: name.clone(),
                well_known: None,
                hidden: body["isHidden"].as_bool().unwrap_or(false),
            });
            answer(201, json!({"id": id, "displayName": name}))
        }
        ("GET", ["mailFolders", f]) => match folder_of(&d, &user.id, f) {
            Some(f) => answer(200, json!({"id": f.id, "displayName": f.name})),
            None => error(
                404,
                "ErrorItemNotFound",
                "The specified folder was not found in the store.",
            ),
        },
        ("GET", ["messages"]) | ("GET", ["mailFolders", _, "messages"]) => {
            let in_folder = match rest.as_slice() {
                ["mailFolders", f, _] => match folder_of(&d, &user.id, f) {
                    Some(f) => Some(f.id.clone()),
                    None => return error(404, "ErrorItemNotFound", "folder not found"),
                },
                _ => None,
            };
            let deletions =
                folder_of(&d, &user.id, "recoverableitemsdeletions").map(|f| f.id.clone());
            let matching: Vec<Value> = d
                .messages
                .get(&user.id)
                .into_iter()
                .flatten()
                .filter(|m| match &in_folder {
                    Some(f) => &m.folder == f,
                    // `/messages` covers the mailbox but not Recoverable Items.
                    None => Some(&m.folder) != deletions.as_ref(),
                })
                .filter(|m| filter.as_ref().is_none_or(|x| x.matches_message(m)))
                .map(|m| message_json(m, expand))
                .collect();
            page(&shared.base, path_of(user, &rest), query, matching)
        }
        (_, ["messages", id, tail @ ..]) => {
            let uid = user.id.clone();
            let Some(index) = d
                .messages
                .get(&uid)
                .and_then(|list| list.iter().position(|m| m.id == *id))
            else {
                return error(
                    404,
                    "ErrorItemNotFound",
                    "The specified object was not found in the store.",
                );
            };
            match (method, tail) {
                ("GET", []) => answer(200, message_json(&d.messages[&uid][index], expand)),
                ("PATCH", []) => {
                    if let Some(read) = body["isRead"].as_bool() {
                        d.messages.get_mut(&uid).expect("user")[index].m.is_read = read;
                    }
                    answer(200, message_json(&d.messages[&uid][index], false))
                }
                ("GET", ["$value"]) => {
                    d.events.push(format!("$value {id}"));
                    let m = &d.messages.get_mut(&uid).expect("user")[index].m;
                    let mime = format!(
                        "Message-ID: {}\r\nFrom: {}\r\nSubject: {}\r\n\r\nbody\r\n",
                        m.internet_message_id, m.from, m.subject
                    );
                    Answer {
                        status: 200,
                        headers: vec![("Content-Type".into(), "text/plain".into())],
                        body: Body::Raw(mime.into_bytes()),
                    }
                }
                ("POST", ["move"]) => {
                    let dest = body["destinationId"].as_str().unwrap_or("");
                    let Some(folder) = folder_of(&d, &user.id, dest).map(|f| f.id.clone()) else {
                        return error(
                            404,
                            "ErrorItemNotFound",
                            "The destination folder was not found.",
                        );
                    };
                    d.messages.get_mut(&uid).expect("user")[index].folder = folder;
                    d.events.push(format!("move {id} {dest}"));
                    answer(201, message_json(&d.messages[&uid][index], false))
                }
                ("POST", ["permanentDelete"]) => {
                    d.events.push(format!("permanentDelete {id}"));
                    d.messages.get_mut(&uid).expect("user").remove(index);
                    Answer {
                        status: 204,
                        headers: Vec::new(),
                        body: Body::Empty,
                    }
                }
                _ => error(400, "BadRequest", "unsupported message operation"),
            }
        }
        _ => error(
            400,
            "BadRequest",
            &format!("unsupported: {method} {}", rest.join("/")),
        ),
    }
}

fn path_of(user: &User, rest: &[&str]) -> String {
    let encoded: Vec<String> = rest
        .iter()
        .map(|s| {
            percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
        })
        .collect();
    format!("/users/{}/{}", user.id, encoded.join("/"))
}

/// `$top` paging with `$skiptoken`, keeping the other query options in the next link.
fn page(base: &str, path: String, query: &HashMap<String, String>, items: Vec<Value>) -> Answer {
    let top: usize = query
        .get("$top")
        .and_then(|t| t.parse().ok())
        .unwrap_or(10)
        .clamp(1, 1000);
    let skip: usize = query
        .get("$skiptoken")
        .and_then(|t| t.parse().ok())
        .unwrap_or(0);
    let value: Vec<Value> = items.iter().skip(skip).take(top).cloned().collect();
    let mut out = json!({"value": value});
    if skip + top < items.len() {
        let mut pairs: Vec<String> = query
            .iter()
            .filter(|(k, _)| k.as_str() != "$skiptoken")
            .map(|(k, v)| {
                format!(
                    "{}={}",
                    percent_encoding::utf8_percent_encode(k, percent_encoding::NON_ALPHANUMERIC),
                    percent_encoding::utf8_percent_encode(v, percent_encoding::NON_ALPHANUMERIC)
                )
            })
            .collect();
        pairs.push(format!("%24skiptoken={}", skip + top));
        out["@odata.nextLink"] = json!(format!("{base}/v1.0{path}?{}", pairs.join("&")));
    }
    answer(200, out)
}

/// The `$filter` subset the backend uses, parsed strictly: anything else is a 400, as a
/// badly encoded filter would be on Graph.
#[derive(Debug, Clone)]
enum Filter {
    Or(Vec<Filter>),
    And(Vec<Filter>),
    /// `property op 'literal'` (or a bare date for receivedDateTime).
    Compare(String, String, String),
    Contains(String, String),
    /// `singleValueExtendedProperties/Any(ep: ...)`
    AnyProperty(Box<Filter>),
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Lit(String),
    Open,
    Close,
    Comma,
}

fn tokens(s: &str) -> Result<Vec<Tok>, String> {
    let mut out = Vec::new();
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            ' ' => i += 1,
            '(' => {
                out.push(Tok::Open);
                i += 1;
            }
            ')' => {
                out.push(Tok::Close);
                i += 1;
            }
            ',' => {
                out.push(Tok::Comma);
                i += 1;
            }
            '\'' => {
                let mut lit = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Err("unterminated string literal".into()),
                        Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                            lit.push('\'');
                            i += 2;
                        }
                        Some('\'') => {
                            i += 1;
                            break;
                        }
                        Some(c) => {
                            lit.push(*c);
                            i += 1;
                        }
                    }
                }
                out.push(Tok::Lit(lit));
            }
            _ => {
                let start = i;
                while i < chars.len() && !matches!(chars[i], ' ' | '(' | ')' | ',' | '\'') {
                    i += 1;
                }
                out.push(Tok::Word(chars[start..i].iter().collect()));
            }
        }
    }
    Ok(out)
}

struct Parser {
    toks: Vec<Tok>,
    at: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.at)
    }
    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.at).cloned();
        self.at += 1;
        t
    }
    fn expect(&mut self, t: Tok) -> Result<(), String> {
        match self.next() {
            Some(got) if got == t => Ok(()),
            other => Err(format!("expected {t:?}, got {other:?}")),
        }
    }
    fn word(&self, w: &str) -> bool {
        matches!(self.peek(), Some(Tok::Word(x)) if x == w)
    }
    fn or(&mut self) -> Result<Filter, String> {
        let mut parts = vec![self.and()?];
        while self.word("or") {
            self.at += 1;
            parts.push(self.and()?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Filter::Or(parts)
        })
    }
    fn and(&mut self) -> Result<Filter, String> {
        let mut parts = vec![self.primary()?];
        while self.word("and") {
            self.at += 1;
            parts.push(self.primary()?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Filter::And(parts)
        })
    }
    fn primary(&mut self) -> Result<Filter, String> {
        match self.next() {
            Some(Tok::Open) => {
                let f = self.or()?;
                self.expect(Tok::Close)?;
                Ok(f)
            }
            Some(Tok::Word(w)) if w == "singleValueExtendedProperties/Any" => {
                self.expect(Tok::Open)?;
                self.expect(Tok::Word("ep:".into()))?;
                let inner = self.or()?;
                self.expect(Tok::Close)?;
                Ok(Filter::AnyProperty(Box::new(inner)))
            }
            Some(Tok::Word(w)) if w == "contains" => {
                self.expect(Tok::Open)?;
                let Some(Tok::Word(prop)) = self.next() else {
                    return Err("contains needs a property".into());
                };
                self.expect(Tok::Comma)?;
                let Some(Tok::Lit(value)) = self.next() else {
                    return Err("contains needs a string".into());
                };
                self.expect(Tok::Close)?;
                Ok(Filter::Contains(prop, value))
            }
            Some(Tok::Word(prop)) => {
                let Some(Tok::Word(op)) = self.next() else {
                    return Err(format!("no operator after {prop}"));
                };
                if !matches!(op.as_str(), "eq" | "ne" | "ge" | "le") {
                    return Err(format!("unknown operator {op}"));
                }
                let value = match self.next() {
                    Some(Tok::Lit(v)) => v,
                    Some(Tok::Word(v)) if prop == "receivedDateTime" => v,
                    other => return Err(format!("bad value {other:?}")),
                };
                Ok(Filter::Compare(prop, op, value))
            }
            other => Err(format!("unexpected {other:?}")),
        }
    }
}

impl Filter {
    fn parse(text: &str) -> Result<Filter, String> {
        let mut p = Parser {
            toks: tokens(text)?,
            at: 0,
        };
        let f = p.or()?;
        if p.at != p.toks.len() {
            return Err(format!("trailing {:?}", &p.toks[p.at..]));
        }
        Ok(f)
    }

    fn matches_folder(&self, f: &Folder) -> bool {
        match self {
            Filter::Compare(p, op, v) if p == "displayName" && op == "eq" => &f.name == v,
            _ => false,
        }
    }

    fn matches_message(&self, m: &Message) -> bool {
        match self {
            Filter::Or(parts) => parts.iter().any(|p| p.matches_message(m)),
            Filter::And(parts) => parts.iter().all(|p| p.matches_message(m)),
            Filter::Compare(p, op, v) => match (p.as_str(), op.as_str()) {
                ("internetMessageId", "eq") => &m.m.internet_message_id == v,
                ("receivedDateTime", "ge") => m.received.as_str() >= v.as_str(),
                _ => false,
            },
            Filter::Contains(..) => false,
            Filter::AnyProperty(inner) => {
                let mut props = Vec::new();
                if let Some(irt) = &m.m.in_reply_to {
                    props.push(("String 0x1042", irt.clone()));
                }
                if !m.m.references.is_empty() {
                    props.push(("String 0x1039", m.m.references.join(" ")));
                }
                props
                    .iter()
                    .any(|(id, value)| inner.matches_property(id, value))
            }
        }
    }

    /// Inside `Any(ep: ...)`: the id is case-sensitive, the value is not (as documented).
    fn matches_property(&self, id: &str, value: &str) -> bool {
        match self {
            Filter::And(parts) => parts.iter().all(|p| p.matches_property(id, value)),
            Filter::Or(parts) => parts.iter().any(|p| p.matches_property(id, value)),
            Filter::Compare(p, op, v) if op == "eq" => match p.as_str() {
                "ep/id" => id == v,
                "ep/value" => value.eq_ignore_ascii_case(v),
                _ => false,
            },
            Filter::Contains(p, v) if p == "ep/value" => {
                value.to_lowercase().contains(&v.to_lowercase())
            }
            _ => false,
        }
    }
}
