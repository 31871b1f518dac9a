//! A Google Workspace test server: the token endpoint, the Admin SDK Directory and the Gmail
//! API as Google documents them, with Gmail's limits, and a record of every time a client
//! broke them. No real Workspace tenant is behind it.
//!
//! Implemented: the JWT-bearer grant (RS256 checked with the key's public half; `iss`, `aud`,
//! `iat`/`exp` at most an hour apart, `scope` checked against what domain-wide delegation
//! grants: `unauthorized_client`; `sub` an existing user: else `invalid_grant`), tokens bound
//! to one user and its scopes (alice's token does not work on bob's mailbox); Directory
//! `users.list` paged with `maxResults`/`pageToken`, suspended users flagged; Gmail
//! `messages.list` (`q` with `rfc822msgid:`, `after:`, `in:` and `label:`, `includeSpamTrash`, paging),
//! `messages.get` (`minimal`, `metadata` with `metadataHeaders`, `raw`), `modify`, `trash`,
//! `untrash`, `delete` (full mail scope only), `import` (`internalDateSource`),
//! `labels.list`/`create` (hidden labels, 409 on a taken name), `threads.get` (threads by
//! References/In-Reply-To, per mailbox, as Gmail threads); a suspended user's mailbox
//! answers 400 `failedPrecondition`.
//!
//! Limits: quota units per method, per user per minute (403 `userRateLimitExceeded`) and per
//! project (403 `rateLimitExceeded`); at most `user_concurrency` requests in flight per user
//! (one more gets 429 and is recorded as a breach); a 429 or 403 sent with `Retry-After`
//! makes a request to that user before it elapsed a breach (one on the wire already, within
//! `RETRY_AFTER_GRACE`, is not the client's fault). Faults can be injected per user and path.
#![allow(dead_code)]

mod gmail;
mod wire;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A request arriving this soon after a throttling answer was already on its way.
pub const RETRY_AFTER_GRACE: Duration = Duration::from_millis(50);
pub const CLIENT_EMAIL: &str = "retractor@test-project.iam.gserviceaccount.com";
pub const MODIFY: &str = "https://www.googleapis.com/auth/gmail.modify";
pub const FULL: &str = "https://mail.google.com/";
pub const DIRECTORY: &str = "https://www.googleapis.com/auth/admin.directory.user.readonly";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UserState {
    Active,
    Suspended,
}

#[derive(Clone, Debug)]
struct User {
    email: String,
    state: UserState,
}

#[derive(Clone, Debug)]
struct Label {
    id: String,
    name: String,
    hidden: bool,
}

#[derive(Clone, Debug)]
struct Message {
    id: String,
    thread: String,
    raw: Vec<u8>,
    headers: Vec<(String, String)>,
    labels: Vec<String>,
    internal_date_ms: i64,
}

impl Message {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// An injected fault: the next `times` Gmail requests matching it get this answer.
#[derive(Clone, Debug)]
pub struct Fault {
    pub user: Option<String>,
    pub path_contains: Option<String>,
    pub status: u16,
    pub reason: String,
    pub retry_after: Option<u64>,
    pub times: usize,
}

/// Counters for tests and the benchmark.
#[derive(Clone, Debug, Default)]
pub struct Stats {
    /// HTTP requests to Gmail and the Directory (tokens not counted).
    pub http_requests: u64,
    pub gmail_requests: u64,
    pub directory_requests: u64,
    pub token_requests: u64,
    /// Quota units charged, all users.
    pub units: u64,
    /// The most units one user was charged within one minute.
    pub max_user_units_per_minute: u64,
    /// The most units the project was charged within one minute.
    pub max_project_units_per_minute: u64,
    pub throttled: u64,
    pub max_in_flight: usize,
    /// Requests per Gmail method (`messages.list`, ...).
    pub by_method: HashMap<String, u64>,
}

/// Behaviour settings.
#[derive(Clone, Debug)]
pub struct Settings {
    pub latency: Duration,
    /// Scopes domain-wide delegation grants the service account.
    pub delegated: Vec<String>,
    pub admin: String,
    pub token_lifetime_secs: u64,
    pub user_concurrency: usize,
    pub user_units_per_minute: u64,
    pub project_units_per_minute: u64,
    /// Send `Retry-After` with quota 403s (Google sometimes does not).
    pub quota_retry_after: Option<u64>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            latency: Duration::ZERO,
            delegated: vec![MODIFY.into(), FULL.into(), DIRECTORY.into()],
            admin: "admin@gws.test".into(),
            token_lifetime_secs: 3599,
            user_concurrency: 4,
            user_units_per_minute: 15_000,
            project_units_per_minute: 1_200_000,
            quota_retry_after: None,
        }
    }
}

/// Units charged within the last minute, with their sum.
#[derive(Default)]
struct Window {
    spent: std::collections::VecDeque<(Instant, u64)>,
    total: u64,
}

#[derive(Default)]
struct Data {
    users: Vec<User>,
    labels: HashMap<String, Vec<Label>>,
    messages: HashMap<String, Vec<Message>>,
    /// token -> (user, scopes)
    tokens: HashMap<String, (String, Vec<String>)>,
    faults: Vec<Fault>,
    in_flight: HashMap<String, usize>,
    /// user -> (when the throttling answer was sent, until when requests must wait)
    held: HashMap<String, (Instant, Instant)>,
    /// user -> units charged within the last minute
    user_units: HashMap<String, Window>,
    project_units: Window,
    violations: Vec<String>,
    events: Vec<String>,
    stats: Stats,
    next_id: u64,
}

impl Data {
    fn user(&self, email: &str) -> Option<&User> {
        self.users
            .iter()
            .find(|u| u.email.eq_ignore_ascii_case(email))
    }

    fn new_id(&mut self) -> String {
        self.next_id += 1;
        format!("18c{:013x}", self.next_id)
    }
}

struct Shared {
    data: Mutex<Data>,
    settings: Mutex<Settings>,
    /// The public half, parsed once (verifying is per token request).
    public_key: jsonwebtoken::DecodingKey,
    base: String,
}

/// A running server (its own thread and runtime, so blocking tests can use it too).
pub struct GmailServer {
    pub url: String,
    shared: Arc<Shared>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for GmailServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The test key's two halves (`tests/fixtures/gmail-sa*.pem`, a key made for these tests).
pub fn test_key() -> (String, Vec<u8>) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    (
        std::fs::read_to_string(dir.join("gmail-sa.pem")).expect("test key"),
        std::fs::read(dir.join("gmail-sa.pub.pem")).expect("test public key"),
    )
}

impl GmailServer {
    pub fn start(settings: Settings) -> GmailServer {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let shared = Arc::new(Shared {
            data: Mutex::new(Data::default()),
            settings: Mutex::new(settings),
            public_key: jsonwebtoken::DecodingKey::from_rsa_pem(&test_key().1).expect("public key"),
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
                    async move { wire::handle(shared, method, uri, headers, body).await }
                });
                let _ = axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = rx.await;
                    })
                    .await;
            });
        });
        GmailServer {
            url,
            shared,
            shutdown: Some(tx),
            thread: Some(thread),
        }
    }

    fn data(&self) -> std::sync::MutexGuard<'_, Data> {
        self.shared.data.lock().unwrap()
    }

    pub fn settings(&self, change: impl FnOnce(&mut Settings)) {
        change(&mut self.shared.settings.lock().unwrap());
    }

    pub fn add_user(&self, email: &str, state: UserState) {
        let mut d = self.data();
        d.users.push(User {
            email: email.to_ascii_lowercase(),
            state,
        });
    }

    /// Add a user label (shown); returns its id.
    pub fn add_label(&self, email: &str, name: &str) -> String {
        let mut d = self.data();
        if let Some(l) = d
            .labels
            .get(email)
            .and_then(|ls| ls.iter().find(|l| l.name == name))
        {
            return l.id.clone();
        }
        d.next_id += 1;
        let id = format!("Label_{}", d.next_id);
        d.labels.entry(email.to_string()).or_default().push(Label {
            id: id.clone(),
            name: name.into(),
            hidden: false,
        });
        id
    }

    /// Deliver a raw message with these label ids (its date from its Date header, as
    /// `messages.import` with `internalDateSource=dateHeader` sets it); returns its id.
    pub fn deliver(&self, email: &str, raw: &str, labels: &[&str]) -> String {
        let mut d = self.data();
        let labels: Vec<String> = labels.iter().map(|l| l.to_string()).collect();
        gmail::store(&mut d, email, raw.as_bytes().to_vec(), labels, true)
    }

    /// Each message of a mailbox: (Message-ID, label names sorted, internalDate ms).
    pub fn copies(&self, email: &str) -> Vec<(String, Vec<String>, i64)> {
        let d = self.data();
        let names: HashMap<String, String> = d
            .labels
            .get(email)
            .into_iter()
            .flatten()
            .map(|l| (l.id.clone(), l.name.clone()))
            .collect();
        d.messages
            .get(email)
            .into_iter()
            .flatten()
            .map(|m| {
                let mut labels: Vec<String> = m
                    .labels
                    .iter()
                    .map(|l| names.get(l).cloned().unwrap_or(l.clone()))
                    .collect();
                labels.sort();
                (
                    m.header("Message-ID").unwrap_or("").trim().to_string(),
                    labels,
                    m.internal_date_ms,
                )
            })
            .collect()
    }

    /// Whether the label named `name` of `email` is hidden from the label list.
    pub fn label_hidden(&self, email: &str, name: &str) -> Option<bool> {
        self.data()
            .labels
            .get(email)?
            .iter()
            .find(|l| l.name == name)
            .map(|l| l.hidden)
    }

    pub fn fail(&self, fault: Fault) {
        self.data().faults.push(fault);
    }

    pub fn revoke_tokens(&self) {
        self.data().tokens.clear();
    }

    pub fn violations(&self) -> Vec<String> {
        self.data().violations.clone()
    }

    pub fn events(&self) -> Vec<String> {
        self.data().events.clone()
    }

    pub fn stats(&self) -> Stats {
        self.data().stats.clone()
    }

    pub fn reset_stats(&self) {
        self.data().stats = Stats::default();
    }

    pub fn token_uri(&self) -> String {
        format!("{}/token", self.url)
    }

    /// A service-account key file for this server in `dir` (mode 600); returns its path.
    pub fn key_file(&self, dir: &std::path::Path) -> std::path::PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let key = serde_json::json!({
            "type": "service_account",
            "project_id": "test-project",
            "private_key_id": "0123456789abcdef",
            "private_key": test_key().0,
            "client_email": CLIENT_EMAIL,
            "client_id": "100000000000000000001",
            "token_uri": self.token_uri(),
        });
        let path = dir.join("gws-sa.json");
        std::fs::write(&path, key.to_string()).expect("key file");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        path
    }

    /// The config keys of a tenant on this server (key file written into `dir`).
    pub fn tenant_config(&self, dir: &std::path::Path) -> String {
        let admin = self.shared.settings.lock().unwrap().admin.clone();
        format!(
            "kind = \"gmail\"\nservice_account_file = \"{}\"\nadmin_subject = \"{admin}\"\n\
             gmail_endpoint = \"{url}\"\ndirectory_endpoint = \"{url}\"\nretry_backoff_ms = 20\n",
            self.key_file(dir).display(),
            url = self.url
        )
    }
}
