//! A Microsoft Graph test server: the documented behaviour the Graph backend relies on, with
//! Exchange Online's limits, and a record of every time a client broke them.
//!
//! Implemented (v1.0, app-only): the token endpoint (client secret, or a PS256 client
//! assertion whose header, claims and signature are checked); `/users/{id|address}`; `/users`
//! with `$top` paging through `@odata.nextLink`; mail folders by well-known name or id,
//! hidden folders created on request and found with `includeHiddenFolders`; `msgfolderroot`
//! and `childFolders` (listed with a `displayName` filter, created below any folder; a name
//! taken among the siblings is 409 `ErrorFolderExists`, as for top-level folders); messages with
//! immutable ids (unchanged by moves); `$filter` on `internetMessageId`, `displayName`,
//! `receivedDateTime` and on `singleValueExtendedProperties` (In-Reply-To 0x1042, References
//! 0x1039); `$expand` of those properties; `move`, `permanentDelete`, `PATCH isRead`, `$value`;
//! whole MIME messages delivered as they are (`deliver_mime`: `$value` answers the bytes);
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
//! a latency added to every request. Optionally ([`Settings::throttle_above`]) the server
//! also throttles above N mailbox requests in flight in all, with 429 and `Retry-After`.
#![allow(dead_code)]

mod filter;
mod limits;
mod mailbox;
mod security;
mod wire;

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

use filter::*;
use limits::*;
use mailbox::*;
use wire::*;

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
    /// The folder it is a child of (`None`: a root, msgfolderroot or Recoverable Items).
    parent: Option<String>,
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
    /// The whole MIME message when delivered whole (`$value` answers it as it is).
    raw: Option<Vec<u8>>,
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
    /// The most mailbox requests seen in flight across the server.
    pub max_in_flight_total: usize,
    /// 429s sent by the server-wide limit ([`Settings::throttle_above`]).
    pub over_server_limit: u64,
    /// Mailbox requests admitted and answered (not throttled, no injected fault).
    pub served: u64,
}

#[derive(Default)]
struct Data {
    /// Defender alerts of `/security/alerts_v2` (see `security`).
    security_alerts: Vec<Value>,
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
    /// The next this many `childFolders` listings answer empty: as if another client created
    /// the folder just after the listing (a racing creator, whose folder a create then meets).
    lagging_child_listings: usize,
    in_flight: HashMap<String, usize>,
    /// Mailbox requests in flight across the server.
    total_in_flight: usize,
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
    /// A server-wide limit on mailbox requests in flight, as a tenant whose capacity is
    /// unknown to the client: see [`ServerLimit`]. `None`: only the per-mailbox limit.
    pub throttle_above: Option<ServerLimit>,
}

/// Throttling above `max` mailbox requests in flight across the server: the request that
/// would pass it gets 429 `ApplicationThrottled` with `Retry-After: retry_after_secs` for
/// the mailbox it addressed (Exchange Online throttles per app and mailbox), and a request
/// to that mailbox before the Retry-After passed is a violation like any other. Unlike the
/// per-mailbox limit, reaching it is not the client's fault: the client cannot know `max`.
#[derive(Clone, Copy, Debug)]
pub struct ServerLimit {
    pub max: usize,
    pub retry_after_secs: u64,
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
            throttle_above: None,
        }
    }
}

struct Shared {
    data: Mutex<Data>,
    settings: Mutex<Settings>,
    base: String,
}

/// The unfolded header fields of a CRLF message.
fn header_fields(raw: &[u8]) -> Vec<(String, String)> {
    let text = String::from_utf8_lossy(raw);
    let head = text.split("\r\n\r\n").next().unwrap_or("");
    let mut out: Vec<(String, String)> = Vec::new();
    for line in head.split("\r\n") {
        if line.starts_with(' ') || line.starts_with('\t') {
            if let Some(last) = out.last_mut() {
                last.1.push(' ');
                last.1.push_str(line.trim());
            }
        } else if let Some((n, v)) = line.split_once(':') {
            out.push((n.trim().to_string(), v.trim().to_string()));
        }
    }
    out
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
        d.next_id += 1;
        let root = format!("AQMk{}/root=", d.next_id);
        d.folders.entry(id.clone()).or_default().push(Folder {
            id: root.clone(),
            user: id.clone(),
            name: "Top of Information Store".into(),
            well_known: Some("msgfolderroot"),
            hidden: false,
            parent: None,
        });
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
                // Recoverable Items is a tree of its own, beside the message root.
                parent: (wk != "recoverableitemsdeletions").then(|| root.clone()),
            });
        }
        id
    }

    /// Add a plain (not well-known) folder below the message root; returns its id.
    pub fn add_folder(&self, mail: &str, name: &str) -> String {
        let mut d = self.data();
        let user = d.user(mail).expect("user").id.clone();
        let root = folder_of(&d, &user, "msgfolderroot").map(|f| f.id.clone());
        d.next_id += 1;
        let id = format!("AQMk{}+custom=", d.next_id);
        d.folders.entry(user.clone()).or_default().push(Folder {
            id: id.clone(),
            user,
            name: name.into(),
            well_known: None,
            hidden: false,
            parent: root,
        });
        id
    }

    /// The path of display names from the message root to a copy's folder (`Retractor/
    /// Processed`), or its well-known name: where a copy is, however deep.
    pub fn folder_path(&self, mail: &str, message: &str) -> Option<String> {
        let d = self.data();
        let user = d.user(mail)?.id.clone();
        let m = d.messages.get(&user)?.iter().find(|m| m.id == message)?;
        let mut at = folder_of(&d, &user, &m.folder)?;
        if let Some(wk) = at.well_known {
            return Some(wk.to_string());
        }
        let mut names = vec![at.name.clone()];
        while let Some(up) = at.parent.as_deref().and_then(|p| folder_of(&d, &user, p)) {
            if up.well_known == Some("msgfolderroot") {
                break;
            }
            names.push(up.name.clone());
            at = up;
        }
        names.reverse();
        Some(names.join("/"))
    }

    /// Deliver a whole MIME message (a report with its attachment) into a folder; its
    /// headers give the resource's fields, `$value` answers the bytes as they are. Returns
    /// its immutable id.
    pub fn deliver_mime(&self, mail: &str, folder: &str, raw: &[u8]) -> String {
        let headers = header_fields(raw);
        let field = |name: &str| {
            headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        let bare = |v: String| match (v.find('<'), v.rfind('>')) {
            (Some(a), Some(b)) if a < b => v[a + 1..b].to_string(),
            _ => v,
        };
        let m = NewMessage {
            internet_message_id: field("Message-ID"),
            from: bare(field("From")),
            to: vec![bare(field("To"))],
            subject: field("Subject"),
            ..NewMessage::default()
        };
        let id = self.deliver(mail, folder, m);
        let mut d = self.data();
        if let Some(m) = d.messages.values_mut().flatten().find(|m| m.id == id) {
            m.raw = Some(raw.to_vec());
        }
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
            raw: None,
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

    /// The next `times` `childFolders` listings answer empty, as if the folders in them were
    /// created by another client just after (see `lagging_child_listings`).
    pub fn lag_child_listings(&self, times: usize) {
        self.data().lagging_child_listings = times;
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

    /// The config keys of a tenant on this server (its client secret written into
    /// `dir/graph-secret`, mode 600 as the config loader wants a secret file).
    pub fn tenant_config(&self, dir: &std::path::Path) -> String {
        use std::os::unix::fs::PermissionsExt;
        let secret = dir.join("graph-secret");
        std::fs::write(&secret, CLIENT_SECRET).expect("client secret");
        std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600))
            .expect("chmod client secret");
        format!(
            "kind = \"graph\"\ntenant_id = \"{TENANT}\"\nclient_id = \"{CLIENT_ID}\"\n\
             client_secret_file = \"{}\"\nauthority_host = \"{url}\"\n\
             graph_endpoint = \"{url}\"\nretry_backoff_ms = 20\n",
            secret.display(),
            url = self.url
        )
    }
}
