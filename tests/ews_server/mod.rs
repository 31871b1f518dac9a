//! An Exchange Web Services test server, written from Microsoft's EWS reference: the
//! operations the EWS backend uses with their real envelopes and response codes, and a record
//! of every time a client broke Exchange's rules.
//!
//! Implemented: `POST /EWS/Exchange.asmx` with Basic, NTLM (Negotiate, Challenge,
//! Authenticate on one connection, NTLMv2 verified here; later requests on that connection
//! need no header) or a bearer token; `RequestServerVersion` required; impersonation
//! (`ExchangeImpersonation/ConnectingSID/PrimarySmtpAddress`: ErrorNonExistentMailbox,
//! ErrorImpersonateUserDenied per mailbox) or delegate access (the mailbox in
//! `DistinguishedFolderId/Mailbox`, Full Access per mailbox, ErrorAccessDenied); GetFolder,
//! FindFolder (Deep / Shallow with a DisplayName restriction, paged), CreateFolder
//! (ErrorFolderExists), FindItem over several folders (one answer per folder; IsEqualTo,
//! Contains, IsGreaterThanOrEqualTo, And, Or on 0x1035/0x1042/0x1039, DateTimeReceived,
//! Subject; paged), GetItem (MIME or recipients), MoveItem (a new ItemId on every move),
//! whole MIME messages delivered as they are (`deliver_mime`), CreateItem from MIME (with
//! InternetHeaders, 0x0E06 and 0x0E07 properties), DeleteItem
//! HardDelete (a mailbox on hold keeps the item in Recoverable Items\Purges), UpdateItem
//! (IsRead); archives and Recoverable Items.
//!
//! Limits: at most `account_concurrency` requests in flight for the service account (one
//! more gets ErrorExceededConnectionCount and is recorded as a breach); `busy` answers
//! ErrorServerBusy (HTTP 500 fault with BackOffMilliseconds), and every request arriving
//! during that back-off is recorded; 503 can be injected; latency can be added.
#![allow(dead_code)]

mod auth;
mod ops;
mod xml;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

pub const USER: &str = "CORP\\svc-retractor";
pub const PASSWORD: &str = "Winter-2026!";
pub const TOKEN: &str = "ews-test-access-token";
/// How a request sent during a back-off is told from one already on its way: HTTP/1.1 sends
/// one request at a time on a connection, so a request on a connection whose previous answer
/// left this long after the ErrorServerBusy was sent by a client that had the back-off (its
/// own answer, or another's that it had this long to read). On a fresh connection the
/// request's start is unknown: only one arriving [`FRESH_GRACE`] after the busy answer counts.
pub const GRACE: Duration = Duration::from_millis(30);
pub const FRESH_GRACE: Duration = Duration::from_millis(500);

/// What the service account may do with one mailbox.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rights {
    pub impersonation: bool,
    pub full_access: bool,
}

impl Rights {
    pub const ALL: Rights = Rights {
        impersonation: true,
        full_access: true,
    };
}

#[derive(Clone, Debug)]
struct Mailbox {
    rights: Rights,
    hold: bool,
}

#[derive(Clone, Debug)]
struct Folder {
    id: String,
    mailbox: String,
    name: String,
    parent: Option<String>,
    distinguished: Option<&'static str>,
}

#[derive(Clone, Debug)]
struct Item {
    id: String,
    mailbox: String,
    folder: String,
    message_id: String,
    subject: String,
    from: String,
    to: Vec<String>,
    cc: Vec<String>,
    in_reply_to: Option<String>,
    references: Vec<String>,
    read: bool,
    received: String,
    mime: Vec<u8>,
    /// Headers stamped through the InternetHeaders property set.
    stamped: Vec<(String, String)>,
}

/// A message to deliver.
#[derive(Clone, Debug, Default)]
pub struct NewMessage {
    pub message_id: String,
    pub from: String,
    pub to: Vec<String>,
    pub subject: String,
    pub in_reply_to: Option<String>,
    pub references: Vec<String>,
    pub read: bool,
}

/// Counters for tests and the benchmark.
#[derive(Clone, Debug, Default)]
pub struct Stats {
    pub requests: u64,
    pub by_operation: HashMap<String, u64>,
    pub max_in_flight: usize,
    pub ntlm_handshakes: u64,
    /// NTLM Authenticates refused before their password was looked at: on a connection that
    /// got no Challenge, or refused on purpose ([`EwsServer::refuse_next_authenticates`]).
    pub ntlm_orphan_authenticates: u64,
    pub busy_sent: u64,
}

#[derive(Default)]
struct Data {
    mailboxes: HashMap<String, Mailbox>,
    /// Every folder in creation order. Folders are never removed, so the positions the
    /// indexes below hold stay valid; the indexes keep a request's cost proportional to the
    /// mailbox it touches, so a benchmark with thousands of mailboxes measures the client.
    folders: Vec<Folder>,
    folder_at: HashMap<String, usize>,
    children: HashMap<String, Vec<usize>>,
    well_known_at: HashMap<(String, &'static str), usize>,
    /// Every item by its creation number, which keeps the order answers list them in.
    items: BTreeMap<u64, Item>,
    item_key: HashMap<String, u64>,
    in_folder: HashMap<String, BTreeSet<u64>>,
    next_item: u64,
    next_id: u64,
    account_concurrency: usize,
    in_flight: usize,
    busy: Vec<(usize, u64)>,
    unavailable: usize,
    /// The last ErrorServerBusy: when it was sent and until when it asked for quiet.
    back_off: Option<(Instant, Instant)>,
    /// When each connection's previous answer left.
    answered: HashMap<SocketAddr, Instant>,
    latency: Duration,
    violations: Vec<String>,
    stats: Stats,
    /// NTLM: the challenge sent on each connection, and the authenticated connections.
    challenges: HashMap<SocketAddr, [u8; 8]>,
    authenticated: HashSet<SocketAddr>,
    /// Authenticates still to refuse as if they came on a new connection.
    refuse_authenticates: usize,
    clock: u64,
}

/// The distinguished folders every mailbox has, with the parent each sits under.
const WELL_KNOWN: [(&str, Option<&str>); 12] = [
    ("msgfolderroot", None),
    ("inbox", Some("msgfolderroot")),
    ("junkemail", Some("msgfolderroot")),
    ("deleteditems", Some("msgfolderroot")),
    ("sentitems", Some("msgfolderroot")),
    ("recoverableitemsroot", None),
    ("recoverableitemsdeletions", Some("recoverableitemsroot")),
    ("recoverableitemspurges", Some("recoverableitemsroot")),
    ("archivemsgfolderroot", None),
    ("archiveinbox", Some("archivemsgfolderroot")),
    ("archivedeleteditems", Some("archivemsgfolderroot")),
    ("archiverecoverableitemsdeletions", None),
];

impl Data {
    fn new_id(&mut self, kind: &str, mailbox: &str) -> String {
        use base64::Engine as _;
        self.next_id += 1;
        let raw = format!("{kind}:{}:{mailbox}:{}", self.next_id, "x".repeat(24));
        format!(
            "AAMk{}",
            base64::engine::general_purpose::STANDARD.encode(raw)
        )
    }

    fn well_known(&self, mailbox: &str, id: &str) -> Option<&Folder> {
        // The key holds the static name, so find it among the known ones first.
        let name = WELL_KNOWN.iter().find(|(n, _)| *n == id)?.0;
        self.well_known_at
            .get(&(mailbox.to_string(), name))
            .map(|&at| &self.folders[at])
    }

    fn folder(&self, id: &str) -> Option<&Folder> {
        self.folder_at.get(id).map(|&at| &self.folders[at])
    }

    /// The folders directly below `parent`, in creation order.
    fn children(&self, parent: &str) -> impl Iterator<Item = &Folder> {
        self.children
            .get(parent)
            .into_iter()
            .flatten()
            .map(|&at| &self.folders[at])
    }

    fn push_folder(&mut self, folder: Folder) {
        let at = self.folders.len();
        self.folder_at.insert(folder.id.clone(), at);
        if let Some(parent) = &folder.parent {
            self.children.entry(parent.clone()).or_default().push(at);
        }
        if let Some(name) = folder.distinguished {
            self.well_known_at
                .insert((folder.mailbox.clone(), name), at);
        }
        self.folders.push(folder);
    }

    fn insert_item(&mut self, item: Item) {
        self.next_item += 1;
        let key = self.next_item;
        self.item_key.insert(item.id.clone(), key);
        self.in_folder
            .entry(item.folder.clone())
            .or_default()
            .insert(key);
        self.items.insert(key, item);
    }

    /// The creation number of the item with this id.
    fn item_key(&self, id: &str) -> Option<u64> {
        self.item_key.get(id).copied()
    }

    /// The items of one folder, in creation order.
    fn items_in(&self, folder: &str) -> impl Iterator<Item = &Item> {
        self.in_folder
            .get(folder)
            .into_iter()
            .flatten()
            .filter_map(|k| self.items.get(k))
    }

    /// Put an item in `folder` under a new id, as a move does.
    fn relocate_item(&mut self, key: u64, folder: &str, id: String) {
        let Some(item) = self.items.get_mut(&key) else {
            return;
        };
        self.item_key.remove(&item.id);
        if let Some(old) = self.in_folder.get_mut(&item.folder) {
            old.remove(&key);
        }
        item.folder = folder.to_string();
        item.id = id.clone();
        self.item_key.insert(id, key);
        self.in_folder
            .entry(folder.to_string())
            .or_default()
            .insert(key);
    }

    fn remove_item(&mut self, key: u64) {
        if let Some(item) = self.items.remove(&key) {
            self.item_key.remove(&item.id);
            if let Some(old) = self.in_folder.get_mut(&item.folder) {
                old.remove(&key);
            }
        }
    }

    /// A folder's shown name: its distinguished id, or its path below the root.
    fn shown(&self, id: &str) -> String {
        let mut parts = Vec::new();
        let mut at = self.folder(id);
        while let Some(f) = at {
            if let Some(d) = f.distinguished {
                if parts.is_empty() {
                    return d.to_string();
                }
                break;
            }
            parts.push(f.name.clone());
            at = f.parent.as_deref().and_then(|p| self.folder(p));
        }
        parts.reverse();
        parts.join("/")
    }

    fn now(&mut self) -> String {
        // Distinct, increasing received times.
        self.clock += 1;
        let t = chrono::DateTime::parse_from_rfc3339("2026-11-20T10:00:00Z")
            .map(|d| d.with_timezone(&chrono::Utc))
            .unwrap_or_default()
            + chrono::Duration::seconds(self.clock as i64);
        t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    }
}

/// A running server (its own thread and runtime, so blocking tests can use it too).
pub struct EwsServer {
    pub url: String,
    data: Arc<Mutex<Data>>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for EwsServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl EwsServer {
    /// A server allowing `account_concurrency` requests in flight for the account.
    pub fn start(account_concurrency: usize) -> EwsServer {
        let data = Arc::new(Mutex::new(Data {
            account_concurrency,
            ..Data::default()
        }));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let url = format!(
            "http://{}/EWS/Exchange.asmx",
            listener.local_addr().expect("addr")
        );
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let shared = Arc::clone(&data);
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                let app = axum::Router::new().route(
                    "/EWS/Exchange.asmx",
                    axum::routing::post(
                        move |ConnectInfo(peer): ConnectInfo<SocketAddr>,
                              headers: HeaderMap,
                              body: Bytes| {
                            let shared = Arc::clone(&shared);
                            async move { handle(shared, peer, headers, body).await }
                        },
                    ),
                );
                let _ = axum::serve(
                    listener,
                    app.into_make_service_with_connect_info::<SocketAddr>(),
                )
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
            });
        });
        EwsServer {
            url,
            data,
            shutdown: Some(tx),
            thread: Some(thread),
        }
    }

    fn data(&self) -> std::sync::MutexGuard<'_, Data> {
        self.data.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A mailbox with its well-known folders (and an archive).
    pub fn add_mailbox(&self, address: &str, rights: Rights) {
        let mut d = self.data();
        let address = address.to_ascii_lowercase();
        d.mailboxes.insert(
            address.clone(),
            Mailbox {
                rights,
                hold: false,
            },
        );
        for (name, parent) in WELL_KNOWN {
            let id = d.new_id("folder", &address);
            let parent = parent
                .and_then(|p| d.well_known(&address, p))
                .map(|f| f.id.clone());
            d.push_folder(Folder {
                id,
                mailbox: address.clone(),
                name: name.to_string(),
                parent,
                distinguished: Some(name),
            });
        }
    }

    /// Refuse the next `n` NTLM Authenticates as IIS refuses one on a connection that got no
    /// Challenge (the race a client's connection pool can lose).
    pub fn refuse_next_authenticates(&self, n: usize) {
        self.data().refuse_authenticates = n;
    }

    pub fn set_rights(&self, address: &str, rights: Rights) {
        if let Some(m) = self.data().mailboxes.get_mut(address) {
            m.rights = rights;
        }
    }

    pub fn set_hold(&self, address: &str) {
        if let Some(m) = self.data().mailboxes.get_mut(address) {
            m.hold = true;
        }
    }

    /// A personal folder (`Projects`, `Projects/2026`) below the message root; its id.
    pub fn add_folder(&self, address: &str, path: &str) -> String {
        let mut d = self.data();
        let mut parent = d.well_known(address, "msgfolderroot").map(|f| f.id.clone());
        let mut id = String::new();
        for part in path.split('/') {
            let existing = match &parent {
                Some(p) => d
                    .children(p)
                    .find(|f| f.mailbox == address && f.name == part),
                None => d
                    .folders
                    .iter()
                    .find(|f| f.mailbox == address && f.parent.is_none() && f.name == part),
            }
            .map(|f| f.id.clone());
            id = match existing {
                Some(e) => e,
                None => {
                    let new = d.new_id("folder", address);
                    d.push_folder(Folder {
                        id: new.clone(),
                        mailbox: address.to_string(),
                        name: part.to_string(),
                        parent: parent.clone(),
                        distinguished: None,
                    });
                    new
                }
            };
            parent = Some(id.clone());
        }
        id
    }

    /// Deliver a message into `folder` (a distinguished id or a personal folder's path).
    pub fn deliver(&self, address: &str, folder: &str, m: NewMessage) -> String {
        let folder_id = {
            let d = self.data();
            d.well_known(address, folder).map(|f| f.id.clone())
        }
        .unwrap_or_else(|| self.add_folder(address, folder));
        let mut d = self.data();
        let received = d.now();
        let id = d.new_id("item", address);
        let mime = ops::mime_of(&m, &received);
        d.insert_item(Item {
            id: id.clone(),
            mailbox: address.to_string(),
            folder: folder_id,
            message_id: m.message_id,
            subject: m.subject,
            from: m.from,
            to: m.to,
            cc: Vec::new(),
            in_reply_to: m.in_reply_to,
            references: m.references,
            read: m.read,
            received,
            mime,
            stamped: Vec::new(),
        });
        id
    }

    /// Deliver a whole MIME message (a report with its attachment) into `folder` as it is:
    /// its headers give the item's properties, GetItem's MimeContent answers the bytes.
    pub fn deliver_mime(&self, address: &str, folder: &str, raw: &[u8]) -> String {
        let field = |name: &str| ops::header_of(raw, name).unwrap_or_default();
        let bare = |v: String| match (v.find('<'), v.rfind('>')) {
            (Some(a), Some(b)) if a < b => v[a + 1..b].to_string(),
            _ => v,
        };
        let m = NewMessage {
            message_id: field("Message-ID"),
            from: bare(field("From")),
            to: vec![bare(field("To"))],
            subject: field("Subject"),
            ..NewMessage::default()
        };
        let id = self.deliver(address, folder, m);
        let mut d = self.data();
        if let Some(key) = d.item_key(&id)
            && let Some(item) = d.items.get_mut(&key)
        {
            item.mime = raw.to_vec();
        }
        id
    }

    /// Every item of a mailbox: (folder shown name, Message-ID, read, received).
    pub fn copies(&self, address: &str) -> Vec<(String, String, bool, String)> {
        let d = self.data();
        let mut out: Vec<_> = d
            .items
            .values()
            .filter(|i| i.mailbox == address)
            .map(|i| {
                (
                    d.shown(&i.folder),
                    i.message_id.clone(),
                    i.read,
                    i.received.clone(),
                )
            })
            .collect();
        out.sort();
        out
    }

    /// The headers stamped on the copies of `message_id` in a mailbox.
    pub fn stamped(&self, address: &str, message_id: &str) -> Vec<(String, String)> {
        let d = self.data();
        d.items
            .values()
            .filter(|i| i.mailbox == address && i.message_id == message_id)
            .flat_map(|i| i.stamped.clone())
            .collect()
    }

    /// The ids of the copies of `message_id` in a mailbox.
    pub fn ids(&self, address: &str, message_id: &str) -> Vec<String> {
        let d = self.data();
        d.items
            .values()
            .filter(|i| i.mailbox == address && i.message_id == message_id)
            .map(|i| i.id.clone())
            .collect()
    }

    /// The next `times` requests get ErrorServerBusy with this BackOffMilliseconds.
    pub fn busy(&self, times: usize, back_off_ms: u64) {
        self.data().busy.push((times, back_off_ms));
    }

    /// The next `times` requests get 503 (IIS queueing).
    pub fn unavailable(&self, times: usize) {
        self.data().unavailable += times;
    }

    pub fn set_latency(&self, latency: Duration) {
        self.data().latency = latency;
    }

    pub fn violations(&self) -> Vec<String> {
        self.data().violations.clone()
    }

    pub fn stats(&self) -> Stats {
        self.data().stats.clone()
    }

    pub fn reset_stats(&self) {
        self.data().stats = Stats::default();
    }
}

fn soap_response(status: StatusCode, body: String) -> Response {
    (status, [("content-type", "text/xml; charset=utf-8")], body).into_response()
}

/// One request: authentication, limits, then the operation.
async fn handle(
    shared: Arc<Mutex<Data>>,
    peer: SocketAddr,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(refusal) = auth::check(&shared, peer, &headers) {
        return *refusal;
    }
    let latency = {
        let mut d = shared.lock().unwrap_or_else(|e| e.into_inner());
        d.stats.requests += 1;
        let now = Instant::now();
        if let Some((sent, until)) = d.back_off
            && now < until
        {
            let after_it = match d.answered.get(&peer) {
                // The busy answer itself went on this connection, or a later one did. The
                // client frees the connection as it reads the answer, a moment before the task
                // that reads it sets the account's back-off: a request another task sends on
                // it within GRACE of the busy answer was on its way before the client knew.
                Some(previous) => {
                    (*previous == sent && now >= sent + GRACE) || *previous >= sent + GRACE
                }
                None => now >= sent + FRESH_GRACE,
            };
            if after_it {
                d.violations.push(format!(
                    "a request was sent {} ms into a back-off of {} ms the server asked for",
                    (now - sent).as_millis(),
                    (until - sent).as_millis()
                ));
            }
        }
        d.answered.insert(peer, now);
        if d.unavailable > 0 {
            d.unavailable -= 1;
            return (StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable").into_response();
        }
        if let Some(slot) = d.busy.first_mut() {
            let back_off = slot.1;
            slot.0 -= 1;
            if slot.0 == 0 {
                d.busy.remove(0);
            }
            d.back_off = Some((now, now + Duration::from_millis(back_off)));
            d.stats.busy_sent += 1;
            return soap_response(StatusCode::INTERNAL_SERVER_ERROR, ops::busy_fault(back_off));
        }
        if d.in_flight >= d.account_concurrency {
            let breach = format!(
                "{} requests in flight for the account (EWSMaxConcurrency {})",
                d.in_flight + 1,
                d.account_concurrency
            );
            d.violations.push(breach);
            return soap_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                ops::fault(
                    "ErrorExceededConnectionCount",
                    "You have exceeded the available concurrent connections for your account.",
                ),
            );
        }
        d.in_flight += 1;
        d.stats.max_in_flight = d.stats.max_in_flight.max(d.in_flight);
        d.latency
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let (status, answer) = {
        let mut d = shared.lock().unwrap_or_else(|e| e.into_inner());
        let out = ops::operation(&mut d, &body);
        d.in_flight -= 1;
        d.answered.insert(peer, Instant::now());
        out
    };
    soap_response(status, answer)
}
