//! The Microsoft 365 backend against the Graph test server (`tests/graph_server`): the real
//! binary for what is Graph's own (read state, evidence order, unreachable kinds of
//! mailbox, errors, check, index), the library for the token, throttling and concurrency
//! details. What every backend must do is in the backend contract suite
//! (`backend_contract.rs`). Every test ends asserting the server recorded no
//! violation of Exchange Online's limits.

mod common;
mod graph_server;
#[path = "graph_backend/throttling.rs"]
mod throttling;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use common::*;
use graph_server::{CLIENT_SECRET, Fault, GraphServer, NewMessage, Settings, UserKind};
use retractor::backends::{Backend, ErrorKind, MailboxRef};
use retractor::config::Config;
use serde_json::Value;

/// Message-IDs with every character that breaks a hand-built query string.
const ROOT: &str = "<a+b/c=d&e#f'g%h@bad.example>";

fn msg(id: &str, to: &[&str], read: bool) -> NewMessage {
    NewMessage {
        internet_message_id: id.into(),
        from: "hr@bad.example".into(),
        to: to.iter().map(|s| s.to_string()).collect(),
        subject: "Payroll update".into(),
        is_read: read,
        ..NewMessage::default()
    }
}

fn line(id: &str, to: &[&str]) -> String {
    serde_json::json!({
        "message_id": id, "from": "hr@bad.example", "to": to, "subject": "Payroll update",
        "received_at": "2026-11-20T10:00:00Z", "disposition": "malicious",
    })
    .to_string()
}

/// A world whose tenant `m365` (domain m365.test) is the test server, the client secret
/// in a mode-600 file.
fn world(server: &GraphServer, extra: &str) -> World {
    let w = World::new("");
    let config = fs::read_to_string(w.config()).unwrap();
    let tenant = format!(
        "\n[tenants.m365]\n{}domains = [\"m365.test\"]\n{extra}\n",
        server.tenant_config(w.path())
    );
    fs::write(w.config(), config + &tenant).unwrap();
    w
}

fn items(job: &Value) -> Vec<Value> {
    job["job"]["items"].as_array().cloned().unwrap_or_default()
}

fn item_for<'a>(items: &'a [Value], mailbox: &str, message_id: &str) -> &'a Value {
    items
        .iter()
        .find(|i| i["mailbox"] == mailbox && i["message_id"] == message_id)
        .unwrap_or_else(|| panic!("no item {mailbox} {message_id} in {items:?}"))
}

fn folder_of(server: &GraphServer, mailbox: &str, id: &str) -> Vec<(String, bool)> {
    server
        .copies(mailbox)
        .into_iter()
        .filter(|c| c.1 == id)
        .map(|c| (c.0, c.2))
        .collect()
}

/// The user reads a pulled copy where it landed: restore puts back the read state it had
/// when it was pulled, in the folder it came from. (Every action and its restore, exact
/// locate, depth, a crash, not-found, not-actionable and hold are in the backend contract
/// suite, `backend_contract.rs`.)
#[test]
fn restore_puts_back_the_read_state_the_user_changed_since() {
    let server = GraphServer::start(Settings::default());
    server.add_user("bob@m365.test", UserKind::Member);
    server.add_folder("bob@m365.test", "Projects");
    let w = world(&server, "");
    let to = ["bob@m365.test"];
    server.deliver("bob@m365.test", "Projects", msg(ROOT, &to, false));
    let out = w.ingest_lines(&[line(ROOT, &to)]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let (code, job) = w.json(&[
        "retract",
        ROOT,
        "--action",
        "move-to-junk",
        "--yes",
        "--wait",
    ]);
    assert_eq!(code, 0, "{job}");
    let pulled = server
        .copies("bob@m365.test")
        .into_iter()
        .find(|c| c.1 == ROOT)
        .expect("pulled copy");
    assert_eq!(pulled.0, "junkemail");
    server.set_read(&pulled.3, true);
    let (code, restored) = w.json(&["restore", ROOT, "--yes", "--wait"]);
    assert_eq!(code, 0, "{restored}");
    assert_eq!(
        folder_of(&server, "bob@m365.test", ROOT),
        [("Projects".to_string(), false)]
    );
    assert_eq!(server.violations(), Vec::<String>::new());
}

#[test]
fn hard_delete_fetches_evidence_before_the_permanent_delete() {
    let server = GraphServer::start(Settings::default());
    let to = ["alice@m365.test", "carol@m365.test"];
    for u in to {
        server.add_user(u, UserKind::Member);
    }
    let w = world(&server, "");
    let ids: Vec<String> = to
        .iter()
        .map(|u| server.deliver(u, "inbox", msg(ROOT, &to, false)))
        .collect();
    w.ingest_lines(&[line(ROOT, &to)]);
    let (code, job) = w.json(&[
        "retract",
        ROOT,
        "--action",
        "hard-delete",
        "--yes",
        "--wait",
    ]);
    assert_eq!(code, 0, "{job}");
    let events = server.events();
    for id in &ids {
        let fetched = events.iter().position(|e| *e == format!("$value {id}"));
        let deleted = events
            .iter()
            .position(|e| *e == format!("permanentDelete {id}"));
        assert!(
            fetched.is_some() && fetched < deleted,
            "evidence before delete: {events:?}"
        );
    }
    assert!(server.copies("alice@m365.test").is_empty());
    assert!(server.copies("carol@m365.test").is_empty());
    assert_eq!(server.violations(), Vec::<String>::new());
}

#[test]
fn unreachable_mailboxes_are_not_actionable_and_rbac_refusals_name_the_mailbox() {
    let server = GraphServer::start(Settings::default());
    server.add_user("alice@m365.test", UserKind::Member);
    server.add_user("onprem@m365.test", UserKind::NoRestMailbox);
    server.add_user("guest@m365.test", UserKind::Guest);
    server.add_user("exec@m365.test", UserKind::OutOfScope);
    server.add_user("dana@m365.test", UserKind::Member);
    let to = [
        "alice@m365.test",
        "dana@m365.test",
        "onprem@m365.test",
        "guest@m365.test",
        "exec@m365.test",
        "gone@m365.test",
    ];
    server.deliver("alice@m365.test", "inbox", msg(ROOT, &to, false));
    let w = world(&server, "");
    w.ingest_lines(&[line(ROOT, &to)]);
    let (code, job) = w.json(&["retract", ROOT, "--action", "trash", "--yes", "--wait"]);
    assert_eq!(code, 3, "partial: exec failed: {job}");
    let all = items(&job);
    assert_eq!(
        item_for(&all, "alice@m365.test", ROOT)["result"],
        "remediated"
    );
    for m in ["onprem@m365.test", "guest@m365.test", "gone@m365.test"] {
        assert_eq!(item_for(&all, m, ROOT)["result"], "not-actionable", "{m}");
    }
    let exec = item_for(&all, "exec@m365.test", ROOT);
    let error = exec["error"].as_str().unwrap_or("");
    assert!(
        error.starts_with("permission-denied")
            && error.contains("exec@m365.test")
            && error.contains("ErrorAccessDenied"),
        "{exec}"
    );
    assert_eq!(server.violations(), Vec::<String>::new());
}

#[test]
fn refused_credentials_stop_the_tenant_and_check_names_missing_permissions() {
    let server = GraphServer::start(Settings::default());
    server.add_user("alice@m365.test", UserKind::Member);
    let w = world(&server, "");
    let (code, report) = w.json(&["check", "--tenant", "m365"]);
    assert_eq!(code, 0, "{report}");
    let detail = report["tenants"][0]["detail"]
        .as_str()
        .unwrap_or("")
        .to_string();
    assert!(
        detail.contains("Mail.ReadWrite, User.Read.All")
            && detail.contains("alice@m365.test reached"),
        "{detail}"
    );
    server.set_roles(&["Mail.ReadWrite"]);
    let (_, report) = w.json(&["check", "--tenant", "m365"]);
    let t = &report["tenants"][0];
    assert_eq!(t["ok"], false, "{report}");
    assert!(
        t["detail"]
            .as_str()
            .unwrap_or("")
            .contains("missing application permission User.Read.All"),
        "{t}"
    );

    // A wrong secret: the first item fails auth, the tenant's other items are not tried.
    fs::write(w.path().join("graph-secret"), "wrong").unwrap();
    let to: Vec<String> = (0..6).map(|i| format!("u{i}@m365.test")).collect();
    let to: Vec<&str> = to.iter().map(String::as_str).collect();
    w.ingest_lines(&[line(ROOT, &to)]);
    let before = server.stats().token_requests;
    let (code, job) = w.json(&["retract", ROOT, "--action", "trash", "--yes", "--wait"]);
    assert_eq!(code, 3, "{job}");
    for i in items(&job) {
        assert!(
            i["error"].as_str().unwrap_or("").starts_with("auth-failed"),
            "{i}"
        );
    }
    assert!(
        server.stats().token_requests - before <= 2,
        "{:?}",
        server.stats()
    );
    assert_eq!(server.violations(), Vec::<String>::new());
}

#[test]
fn index_and_sweep_go_through_graph() {
    let server = GraphServer::start(Settings {
        users_page: 1,
        ..Settings::default()
    });
    server.add_user("alice@m365.test", UserKind::Member);
    server.add_user("bob@m365.test", UserKind::Member);
    let to = ["alice@m365.test", "bob@m365.test"];
    server.deliver("alice@m365.test", "inbox", msg(ROOT, &to, false));
    server.deliver("bob@m365.test", "inbox", msg(ROOT, &to, false));
    let w = world(&server, "");
    let out = w.run(&["index", "--tenant", "m365"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let (code, found) = w.json(&["search", "msgid:\"<a+b/c=d&e#f'g%h@bad.example>\""]);
    assert_eq!(code, 0, "{found}");
    let recipients = found["messages"][0]["recipients"].to_string();
    assert!(
        recipients.contains("alice@m365.test") && recipients.contains("bob@m365.test"),
        "{found}"
    );
    // A sweep by sender finds the copies in every mailbox (users listed with paging).
    let (code, job) = w.json(&[
        "sweep", "--tenant", "m365", "--from", "HR@bad", "--action", "trash", "--yes", "--wait",
    ]);
    assert_eq!(code, 0, "{job}");
    assert_eq!(items(&job).len(), 2, "{job}");
    for m in to {
        assert_eq!(folder_of(&server, m, ROOT)[0].0, "deleteditems");
    }
    assert_eq!(server.violations(), Vec::<String>::new());
}

/// A graph tenant config for library-level tests.
fn backend(server: &GraphServer, dir: &Path, credential: &str) -> Arc<dyn Backend> {
    let text = format!(
        "[tenants.m365]\nkind = \"graph\"\ntenant_id = \"{}\"\nclient_id = \"{}\"\n{credential}\nauthority_host = \"{url}\"\ngraph_endpoint = \"{url}\"\nretry_backoff_ms = 20\ndomains = [\"m365.test\"]\n",
        graph_server::TENANT,
        graph_server::CLIENT_ID,
        url = server.url
    );
    let config = Config::parse(&text, &dir.join("config.toml")).unwrap();
    retractor::backends::for_tenant(&config.tenants["m365"]).unwrap()
}

fn secret_file(dir: &Path) -> String {
    let path = dir.join("secret");
    fs::write(&path, CLIENT_SECRET).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
    "client_secret_file = \"secret\"".into()
}

/// A server with alice holding the ROOT message, and a library backend on it.
fn alice_with_the_message(
    settings: Settings,
) -> (GraphServer, tempfile::TempDir, Arc<dyn Backend>) {
    let server = GraphServer::start(settings);
    server.add_user("alice@m365.test", UserKind::Member);
    server.deliver(
        "alice@m365.test",
        "inbox",
        msg(ROOT, &["alice@m365.test"], false),
    );
    let dir = tempfile::tempdir().unwrap();
    let b = backend(&server, dir.path(), &secret_file(dir.path()));
    (server, dir, b)
}

fn mailbox(address: &str) -> MailboxRef {
    MailboxRef {
        address: address.into(),
        on_hold: false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrency_stays_at_four_per_mailbox_and_retry_after_is_obeyed() {
    let (server, _dir, b) = alice_with_the_message(Settings::default());
    server.set_latency(Duration::from_millis(20));
    // 24 concurrent locates against one mailbox: never more than 4 in flight.
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..24 {
        let b = Arc::clone(&b);
        tasks.spawn(async move { b.locate(&mailbox("alice@m365.test"), ROOT).await });
    }
    while let Some(r) = tasks.join_next().await {
        assert_eq!(r.unwrap().unwrap().len(), 1);
    }
    let stats = server.stats();
    assert!(
        stats.max_in_flight <= 4 && stats.max_in_flight >= 2,
        "{stats:?}"
    );
    // A 429 with Retry-After: the call says Throttled with the hint, and no request reaches
    // the mailbox before it elapses, however many callers are waiting.
    server.fail(Fault {
        user: Some("alice@m365.test".into()),
        path_contains: Some("messages".into()),
        status: 429,
        code: "ApplicationThrottled".into(),
        retry_after: Some(1),
        times: 1,
    });
    let first = b
        .locate(&mailbox("alice@m365.test"), ROOT)
        .await
        .unwrap_err();
    assert_eq!(first.kind, ErrorKind::Throttled);
    assert_eq!(first.retry_after, Some(Duration::from_secs(1)));
    let started = std::time::Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let b = Arc::clone(&b);
        tasks.spawn(async move { b.locate(&mailbox("alice@m365.test"), ROOT).await });
    }
    while let Some(r) = tasks.join_next().await {
        assert_eq!(r.unwrap().unwrap().len(), 1);
    }
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "{:?}",
        started.elapsed()
    );
    // 503 and 504 are retried with back-off.
    for status in [503, 504] {
        server.fail(Fault {
            user: None,
            path_contains: None,
            status,
            code: "serviceNotAvailable".into(),
            retry_after: None,
            times: 2,
        });
    }
    let copy = &b.locate(&mailbox("alice@m365.test"), ROOT).await.unwrap()[0];
    assert_eq!(copy.folder, "inbox");
    assert!(server.stats().throttled >= 1);
    assert_eq!(server.violations(), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_token_is_refreshed_once() {
    let (server, _dir, b) = alice_with_the_message(Settings::default());
    b.locate(&mailbox("alice@m365.test"), ROOT).await.unwrap();
    b.locate(&mailbox("alice@m365.test"), ROOT).await.unwrap();
    assert_eq!(server.stats().token_requests, 1, "the token is cached");
    server.revoke_tokens();
    assert_eq!(
        b.locate(&mailbox("alice@m365.test"), ROOT)
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(server.stats().token_requests, 2);
    // Refused again with the fresh token: AuthFailed (the engine stops the tenant's items).
    server.fail(Fault {
        user: None,
        path_contains: None,
        status: 401,
        code: "InvalidAuthenticationToken".into(),
        retry_after: None,
        times: 2,
    });
    let e = b
        .locate(&mailbox("alice@m365.test"), ROOT)
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::AuthFailed, "{e:?}");
    assert_eq!(server.stats().token_requests, 3);
    assert_eq!(server.violations(), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_signs_a_ps256_client_assertion() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let pem_text = fs::read(fixtures.join("graph-app.pem")).unwrap();
    let cert = pem::parse_many(&pem_text)
        .unwrap()
        .into_iter()
        .find(|b| b.tag() == "CERTIFICATE")
        .unwrap();
    use base64::Engine as _;
    use sha2::Digest as _;
    let thumbprint = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(cert.contents()));
    let settings = Settings {
        assertion_key: Some((
            fs::read(fixtures.join("graph-app.pub.pem")).unwrap(),
            thumbprint,
        )),
        ..Settings::default()
    };
    let server = GraphServer::start(settings);
    server.add_user("alice@m365.test", UserKind::Member);
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("app.pem");
    fs::write(&key, &pem_text).unwrap();
    fs::set_permissions(&key, fs::Permissions::from_mode(0o600)).unwrap();
    let b = backend(&server, dir.path(), "client_certificate_file = \"app.pem\"");
    let report = b.check().await;
    assert!(report.ok, "{}", report.detail);
    assert_eq!(server.stats().token_requests, 1);
    // The same certificate as a password-protected PFX.
    let pfx = dir.path().join("app.pfx");
    fs::copy(fixtures.join("graph-app.pfx"), &pfx).unwrap();
    fs::set_permissions(&pfx, fs::Permissions::from_mode(0o600)).unwrap();
    let password = dir.path().join("pfx-password");
    fs::write(&password, "pfx-test-password\n").unwrap();
    fs::set_permissions(&password, fs::Permissions::from_mode(0o600)).unwrap();
    let b = backend(
        &server,
        dir.path(),
        "client_certificate_file = \"app.pfx\"\nclient_certificate_password_file = \"pfx-password\"",
    );
    let report = b.check().await;
    assert!(report.ok, "{}", report.detail);
    assert_eq!(server.stats().token_requests, 2);
    // A wrong PFX password is named when the tenant is opened.
    fs::write(&password, "wrong").unwrap();
    let text = "[tenants.m365]\nkind = \"graph\"\ntenant_id = \"t\"\nclient_id = \"c\"\nclient_certificate_file = \"app.pfx\"\nclient_certificate_password_file = \"pfx-password\"\n";
    let config = Config::parse(text, &dir.path().join("config.toml")).unwrap();
    let err = retractor::backends::for_tenant(&config.tenants["m365"])
        .err()
        .unwrap();
    assert!(
        err.contains("app.pfx") && err.contains("wrong password"),
        "{err}"
    );
    // A key readable by others is refused before anything is sent.
    fs::set_permissions(&key, fs::Permissions::from_mode(0o644)).unwrap();
    let text = "[tenants.m365]\nkind = \"graph\"\ntenant_id = \"t\"\nclient_id = \"c\"\nclient_certificate_file = \"app.pem\"\n";
    let config = Config::parse(text, &dir.path().join("config.toml")).unwrap();
    let err = retractor::backends::for_tenant(&config.tenants["m365"])
        .err()
        .unwrap();
    assert!(err.contains("readable by group or others"), "{err}");
    assert_eq!(server.violations(), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_answer_that_leaves_requests_out_is_asked_again_then_fails() {
    let (server, _dir, b) = alice_with_the_message(Settings::default());
    server.omit_from_batches("/messages", 1);
    let found = b.locate(&mailbox("alice@m365.test"), ROOT).await.unwrap();
    assert_eq!(found.len(), 1, "asked again after the omission");

    server.omit_from_batches("/messages", usize::MAX);
    let batches = server.stats().batches;
    let e = tokio::time::timeout(
        Duration::from_secs(30),
        b.locate(&mailbox("alice@m365.test"), ROOT),
    )
    .await
    .expect("the call ends")
    .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unavailable, "{e:?}");
    assert!(e.to_string().contains("left a request out"), "{e}");
    let asked = server.stats().batches - batches;
    assert!((2..=10).contains(&asked), "{asked} batches");
    assert_eq!(server.violations(), Vec::<String>::new());
}

/// Numbers from the server are bounded before they reach the clock: a `Retry-After` of
/// 2^64-1 seconds is obeyed as an hour, and a token lifetime of 2^64-1 seconds (or one sent
/// as a string) is cached, not a panic.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn absurd_numbers_from_the_server_are_bounded() {
    for as_text in [false, true] {
        let (server, _dir, b) = alice_with_the_message(Settings {
            token_lifetime_secs: u64::MAX,
            token_lifetime_as_text: as_text,
            ..Settings::default()
        });
        server.add_user("bob@m365.test", UserKind::Member);
        let found = b.locate(&mailbox("alice@m365.test"), ROOT).await.unwrap();
        assert_eq!(found.len(), 1);
        b.locate(&mailbox("alice@m365.test"), ROOT).await.unwrap();
        assert_eq!(server.stats().token_requests, 1, "the token is cached");

        server.fail(Fault {
            user: Some("bob@m365.test".into()),
            path_contains: Some("messages".into()),
            status: 429,
            code: "ApplicationThrottled".into(),
            retry_after: Some(u64::MAX),
            times: 1,
        });
        let e = b.locate(&mailbox("bob@m365.test"), ROOT).await.unwrap_err();
        assert_eq!(e.kind, ErrorKind::Throttled, "{e:?}");
        assert_eq!(e.retry_after, Some(Duration::from_secs(3600)));
        // Other mailboxes are not held back by bob's throttling.
        b.locate(&mailbox("alice@m365.test"), ROOT).await.unwrap();
        assert_eq!(server.violations(), Vec::<String>::new());
    }
}

/// A 200 from the token endpoint without a token (a proxy's sign-in page) is a failure to
/// try again, not refused credentials: the next call gets a token and the tenant goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_answer_without_a_token_is_retried_not_a_refusal() {
    let (server, _dir, b) = alice_with_the_message(Settings::default());
    server.break_token_answers(1);
    let e = b
        .locate(&mailbox("alice@m365.test"), ROOT)
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unavailable, "{e:?}");
    assert!(e.to_string().contains("without a token"), "{e}");
    let found = b.locate(&mailbox("alice@m365.test"), ROOT).await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(server.stats().token_requests, 2);
    assert_eq!(server.violations(), Vec::<String>::new());
}

/// A user listing whose next-page links loop back to the start ends with an error naming
/// the problem, instead of asking for ever.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn next_page_links_that_loop_end_the_listing_with_an_error() {
    let server = GraphServer::start(Settings {
        users_page: 1,
        users_next_link_loops: true,
        ..Settings::default()
    });
    server.add_user("alice@m365.test", UserKind::Member);
    server.add_user("bob@m365.test", UserKind::Member);
    let dir = tempfile::tempdir().unwrap();
    let b = backend(&server, dir.path(), &secret_file(dir.path()));
    let e = tokio::time::timeout(Duration::from_secs(30), b.list_mailboxes())
        .await
        .expect("the listing ends")
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Invalid, "{e:?}");
    assert!(e.to_string().contains("did not end"), "{e}");
    assert!(server.stats().http_requests < 10, "{:?}", server.stats());
}

#[test]
fn check_passes_over_mailboxes_graph_does_not_serve_and_prefers_the_quarantine_mailbox() {
    let server = GraphServer::start(Settings::default());
    // The first users listed are an unlicensed account and a guest: not a sick tenant.
    server.add_user("unlicensed@m365.test", UserKind::NoRestMailbox);
    server.add_user("visitor@m365.test", UserKind::Guest);
    server.add_user("alice@m365.test", UserKind::Member);
    let w = world(&server, "");
    let (code, report) = w.json(&["check", "--tenant", "m365"]);
    assert_eq!(code, 0, "{report}");
    let t = &report["tenants"][0];
    let detail = t["detail"].as_str().unwrap_or("");
    assert_eq!(t["ok"], true, "{t}");
    assert!(
        detail.contains("alice@m365.test reached")
            && detail.contains("unlicensed@m365.test skipped, no mailbox Graph serves")
            && detail.contains("MailboxNotEnabledForRESTAPI")
            && !detail.contains("visitor@m365.test"),
        "{detail}"
    );

    // The quarantine mailbox, listed last, is the one tried first.
    server.add_user("quarantine@m365.test", UserKind::Member);
    let w = world(&server, "quarantine_mailbox = \"Quarantine@m365.test\"");
    let (_, report) = w.json(&["check", "--tenant", "m365"]);
    let detail = report["tenants"][0]["detail"].as_str().unwrap_or("");
    assert!(
        detail.contains("sample mailbox quarantine@m365.test reached")
            && !detail.contains("tried first"),
        "{detail}"
    );
}

#[test]
fn check_is_red_only_when_no_mailbox_tried_is_reached_and_says_what_was_tried() {
    let server = GraphServer::start(Settings::default());
    for n in 0..7 {
        server.add_user(&format!("shared{n}@m365.test"), UserKind::NoRestMailbox);
    }
    server.add_user("late@m365.test", UserKind::Member);
    let w = world(&server, "");
    let (_, report) = w.json(&["check", "--tenant", "m365"]);
    let t = &report["tenants"][0];
    assert_eq!(t["ok"], false, "{t}");
    let detail = t["detail"].as_str().unwrap_or("");
    // At most five tried, each named with its reason.
    assert!(
        detail.contains("none of the 5 mailbox(es) tried was reached")
            && (0..5).all(|n| detail.contains(&format!("shared{n}@m365.test skipped")))
            && !detail.contains("shared5@m365.test"),
        "{detail}"
    );
}
