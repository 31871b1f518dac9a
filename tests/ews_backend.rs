//! The on-premises Exchange backend against the EWS test server (`tests/ews_server`): what is
//! EWS's own (rights per mailbox, ErrorServerBusy and its back-off, 503, NTLM on one
//! connection, ids that change on move, the quarantine and undo headers, the archive and
//! Recoverable Items, check as TRAP's Test button). What every backend must do is in the
//! backend contract suite. Every test ends asserting the server recorded no breach of the
//! account's concurrency and no request sent during a back-off.

mod common;
mod ews_server;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ews_server::{EwsServer, NewMessage, PASSWORD, Rights, USER};
use retractor::backends::{Backend, ErrorKind, MailboxRef};
use retractor::config::Config;
use retractor::model::Action;

const ID: &str = "<Inv-2026&\"x\"@bad.example>";

fn msg(id: &str, to: &str, read: bool) -> NewMessage {
    NewMessage {
        message_id: id.into(),
        from: "hr@bad.example".into(),
        to: vec![to.into()],
        subject: "Payroll update".into(),
        read,
        ..NewMessage::default()
    }
}

fn mailbox(address: &str) -> MailboxRef {
    MailboxRef {
        address: address.into(),
        on_hold: false,
    }
}

/// The tenant `exch` on the server, with these extra keys; the password in a mode-600 file.
fn tenant_text(dir: &Path, server: &EwsServer, extra: &str, password: &str) -> String {
    let secret = dir.join("ews-password");
    fs::write(&secret, password).unwrap();
    fs::set_permissions(&secret, fs::Permissions::from_mode(0o600)).unwrap();
    format!(
        "[tenants.exch]\nkind = \"ews\"\nurl = \"{}\"\nusername = '{USER}'\npassword_file = \"ews-password\"\n\
         retry_backoff_ms = 20\ndomains = [\"exch.test\"]\nquarantine_mailbox = \"q@exch.test\"\n{extra}\n",
        server.url
    )
}

fn backend(server: &EwsServer, extra: &str) -> (tempfile::TempDir, Arc<dyn Backend>) {
    backend_with(server, extra, PASSWORD)
}

fn backend_with(
    server: &EwsServer,
    extra: &str,
    password: &str,
) -> (tempfile::TempDir, Arc<dyn Backend>) {
    let dir = tempfile::tempdir().unwrap();
    let text = tenant_text(dir.path(), server, extra, password);
    let cfg = Config::parse(&text, &dir.path().join("config.toml")).unwrap();
    let b = retractor::backends::for_tenant(&cfg.tenants["exch"]).unwrap();
    (dir, b)
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn server_with(users: &[&str]) -> EwsServer {
    let server = EwsServer::start(27);
    for u in users {
        server.add_mailbox(u, Rights::ALL);
    }
    server.add_mailbox("q@exch.test", Rights::ALL);
    server
}

#[test]
fn missing_rights_name_the_mailbox_and_the_right_and_unknown_mailboxes_are_not_actionable() {
    let server = server_with(&["alice@exch.test"]);
    server.add_mailbox(
        "bob@exch.test",
        Rights {
            impersonation: false,
            full_access: false,
        },
    );
    let rt = rt();
    let (_d, imp) = backend(&server, "auth = \"ntlm\"\naccess = \"impersonation\"");
    let e = rt
        .block_on(imp.locate(&mailbox("bob@exch.test"), ID))
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::PermissionDenied, "{e}");
    assert!(
        e.detail.contains("bob@exch.test") && e.detail.contains("ApplicationImpersonation"),
        "{e}"
    );
    let e = rt
        .block_on(imp.locate(&mailbox("ghost@exch.test"), ID))
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::NoSuchMailbox, "{e}");
    let (_d, del) = backend(&server, "auth = \"basic\"\naccess = \"delegate\"");
    let e = rt
        .block_on(del.locate(&mailbox("bob@exch.test"), ID))
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::PermissionDenied, "{e}");
    assert!(
        e.detail.contains("bob@exch.test") && e.detail.contains("Full Access"),
        "{e}"
    );
    assert!(
        rt.block_on(del.locate(&mailbox("alice@exch.test"), ID))
            .unwrap()
            .is_empty()
    );
    assert_eq!(server.violations(), Vec::<String>::new());
}

#[test]
fn ids_change_on_move_and_restore_puts_folder_and_read_state_back() {
    let server = server_with(&["alice@exch.test"]);
    server.add_folder("alice@exch.test", "Projects/2026");
    server.deliver(
        "alice@exch.test",
        "Projects/2026",
        msg(ID, "alice@exch.test", true),
    );
    // A look-alike Exchange's case-insensitive restriction also matches.
    server.deliver(
        "alice@exch.test",
        "inbox",
        msg(&ID.to_uppercase(), "alice@exch.test", false),
    );
    let before = server.copies("alice@exch.test");
    let rt = rt();
    for extra in ["auth = \"ntlm\"", "auth = \"basic\"\naccess = \"delegate\""] {
        let (_d, b) = backend(&server, extra);
        let alice = mailbox("alice@exch.test");
        let found = rt.block_on(b.locate(&alice, ID)).unwrap();
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].folder, "Projects/2026");
        let applied = rt
            .block_on(b.apply(&alice, &found[0], Action::SoftDelete))
            .unwrap();
        let to = applied.to.clone().unwrap();
        assert_ne!(
            to.provider_id, found[0].provider_id,
            "a move changes the id"
        );
        assert_eq!(
            server.ids("alice@exch.test", ID),
            vec![to.provider_id.clone()]
        );
        assert_eq!(to.folder, "recoverableitemsdeletions");
        // Where it went is where the next locate finds it, known by the new id.
        let again = rt.block_on(b.locate(&alice, ID)).unwrap();
        assert_eq!(again[0].provider_id, to.provider_id);
        let standing = rt
            .block_on(b.standing(&alice, &again[0], Action::SoftDelete))
            .unwrap();
        assert!(standing.is_done());
        let mut unread = to.clone();
        unread.seen = false;
        server.set_rights("alice@exch.test", Rights::ALL);
        let back = rt
            .block_on(b.put_back(&alice, "alice@exch.test", &unread, &found[0]))
            .unwrap();
        assert_eq!(back.folder, "Projects/2026");
        assert_eq!(server.copies("alice@exch.test"), before, "{extra}");
    }
    assert!(!b_caps_ids_survive(&server));
    assert_eq!(server.violations(), Vec::<String>::new());
}

fn b_caps_ids_survive(server: &EwsServer) -> bool {
    let (_d, b) = backend(server, "");
    b.capabilities().ids_survive_move
}

#[test]
fn quarantine_stamps_its_header_and_restore_the_undo_header_keeping_date_and_read_state() {
    let server = server_with(&["alice.b@exch.test"]);
    server.deliver(
        "alice.b@exch.test",
        "inbox",
        msg(ID, "alice.b@exch.test", true),
    );
    let before = server.copies("alice.b@exch.test");
    let rt = rt();
    let (_d, b) = backend(
        &server,
        "quarantine_header = \"X-Quarantined: pulled as phishing by the SOC\"",
    );
    let alice = mailbox("alice.b@exch.test");
    let found = rt.block_on(b.locate(&alice, ID)).unwrap();
    let raw = rt.block_on(b.fetch_raw(&alice, &found[0])).unwrap();
    assert!(String::from_utf8_lossy(&raw).contains("Subject: Payroll update"));
    let applied = rt
        .block_on(b.apply(&alice, &found[0], Action::Quarantine))
        .unwrap();
    assert_eq!(applied.to_mailbox.as_deref(), Some("q@exch.test"));
    let placed = applied.to.clone().unwrap();
    assert_eq!(placed.folder, "Quarantine/alice=2Eb@exch=2Etest");
    assert!(server.copies("alice.b@exch.test").is_empty());
    let q = server.copies("q@exch.test");
    assert_eq!(q.len(), 1, "{q:?}");
    assert_eq!(
        (q[0].2, &q[0].3),
        (before[0].2, &before[0].3),
        "read state and date kept"
    );
    assert_eq!(
        server.stamped("q@exch.test", ID),
        vec![(
            "X-Quarantined".into(),
            "pulled as phishing by the SOC".into()
        )]
    );
    let back = rt
        .block_on(b.put_back(&alice, "q@exch.test", &placed, &found[0]))
        .unwrap();
    assert_eq!(back.folder, "inbox");
    assert_eq!(server.copies("alice.b@exch.test"), before);
    assert!(server.copies("q@exch.test").is_empty());
    assert_eq!(
        server.stamped("alice.b@exch.test", ID),
        vec![(
            "X-Retractor-Released".into(),
            "restored from quarantine by the security team".into()
        )]
    );
    assert_eq!(server.violations(), Vec::<String>::new());
}

#[test]
fn server_busy_is_waited_out_by_the_whole_account_and_503_is_retried() {
    let users: Vec<String> = (0..12).map(|i| format!("u{i}@exch.test")).collect();
    let refs: Vec<&str> = users.iter().map(String::as_str).collect();
    let server = server_with(&refs);
    for u in &users {
        server.deliver(u, "inbox", msg(ID, u, false));
    }
    let rt = rt();
    let (_d, b) = backend(&server, "auth = \"basic\"");
    server.busy(2, 250);
    server.unavailable(1);
    let started = Instant::now();
    let found: Vec<usize> = rt.block_on(async {
        let tasks: Vec<_> = users
            .iter()
            .map(|u| {
                let b = Arc::clone(&b);
                let u = u.clone();
                tokio::spawn(async move { b.locate(&mailbox(&u), ID).await.map(|f| f.len()) })
            })
            .collect();
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.unwrap().unwrap());
        }
        out
    });
    assert_eq!(found, vec![1; 12]);
    assert!(
        started.elapsed() >= Duration::from_millis(250),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(server.stats().busy_sent, 2);
    assert_eq!(server.violations(), Vec::<String>::new());
}

#[test]
fn more_work_than_the_account_may_run_stays_within_its_concurrency() {
    let users: Vec<String> = (0..60).map(|i| format!("c{i}@exch.test")).collect();
    let refs: Vec<&str> = users.iter().map(String::as_str).collect();
    let server = EwsServer::start(5);
    for u in &refs {
        server.add_mailbox(u, Rights::ALL);
        server.deliver(u, "inbox", msg(ID, u, false));
    }
    server.set_latency(Duration::from_millis(5));
    let rt = rt();
    let (_d, b) = backend(&server, "auth = \"ntlm\"\naccount_concurrency = 5");
    rt.block_on(async {
        let tasks: Vec<_> = users
            .iter()
            .map(|u| {
                let b = Arc::clone(&b);
                let u = u.clone();
                tokio::spawn(async move { b.locate(&mailbox(&u), ID).await.map(|f| f.len()) })
            })
            .collect();
        for t in tasks {
            assert_eq!(t.await.unwrap().unwrap(), 1);
        }
    });
    let stats = server.stats();
    assert!(stats.max_in_flight <= 5, "{stats:?}");
    // NTLM authenticated each connection once, not each request.
    assert!(stats.ntlm_handshakes <= 5, "{stats:?}");
    assert!(stats.requests >= 180, "{stats:?}");
    assert_eq!(server.violations(), Vec::<String>::new());
}

#[test]
fn a_wrong_password_is_refused_as_auth_for_ntlm_and_basic() {
    let server = server_with(&["alice@exch.test"]);
    let rt = rt();
    for auth in ["ntlm", "basic"] {
        let (_d, b) = backend_with(&server, &format!("auth = \"{auth}\""), "wrong");
        let e = rt
            .block_on(b.locate(&mailbox("alice@exch.test"), ID))
            .unwrap_err();
        assert_eq!(e.kind, ErrorKind::AuthFailed, "{auth}: {e}");
        assert!(
            e.detail.contains("svc-retractor") && !e.detail.contains("wrong"),
            "{e}"
        );
    }
}

/// An Authenticate refused before its password was looked at (it went out on a connection
/// that got no Challenge) is tried once more on a new connection; refused twice, it is the
/// refusal a wrong password gets.
#[test]
fn a_refused_ntlm_authenticate_is_tried_once_more() {
    let server = server_with(&["alice@exch.test"]);
    server.deliver(
        "alice@exch.test",
        "inbox",
        msg(ID, "alice@exch.test", false),
    );
    let rt = rt();
    server.refuse_next_authenticates(1);
    let (_d, b) = backend(&server, "auth = \"ntlm\"");
    let found = rt
        .block_on(b.locate(&mailbox("alice@exch.test"), ID))
        .unwrap();
    assert_eq!(found.len(), 1);
    let stats = server.stats();
    assert_eq!(
        (stats.ntlm_orphan_authenticates, stats.ntlm_handshakes),
        (1, 1),
        "{stats:?}"
    );
    server.refuse_next_authenticates(2);
    let (_d, b) = backend(&server, "auth = \"ntlm\"");
    let e = rt
        .block_on(b.locate(&mailbox("alice@exch.test"), ID))
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::AuthFailed, "{e}");
    assert_eq!(server.stats().ntlm_orphan_authenticates, 3);
    assert_eq!(server.violations(), Vec::<String>::new());
}

#[test]
fn the_archive_and_recoverable_items_are_searched_when_configured() {
    let server = server_with(&["alice@exch.test"]);
    server.deliver(
        "alice@exch.test",
        "archiveinbox",
        msg(ID, "alice@exch.test", false),
    );
    server.deliver(
        "alice@exch.test",
        "recoverableitemsdeletions",
        msg(ID, "alice@exch.test", false),
    );
    let rt = rt();
    let alice = mailbox("alice@exch.test");
    let (_d, plain) = backend(&server, "");
    let found = rt.block_on(plain.locate(&alice, ID)).unwrap();
    let folders: Vec<&str> = found.iter().map(|l| l.folder.as_str()).collect();
    assert_eq!(folders, ["recoverableitemsdeletions"]);
    // A soft-deleted copy is out of view for every action but a hard-delete.
    let s = rt
        .block_on(plain.standing(&alice, &found[0], Action::Trash))
        .unwrap();
    assert!(s.is_done());
    let s = rt
        .block_on(plain.standing(&alice, &found[0], Action::HardDelete))
        .unwrap();
    assert!(!s.is_done());
    let (_d, with_archive) = backend(&server, "scan_archive = true");
    let found = rt.block_on(with_archive.locate(&alice, ID)).unwrap();
    let mut folders: Vec<String> = found.iter().map(|l| l.folder.clone()).collect();
    folders.sort();
    assert_eq!(
        folders,
        ["archive/archiveinbox", "recoverableitemsdeletions"]
    );
    let archived = found
        .iter()
        .find(|l| l.folder.starts_with("archive/"))
        .unwrap();
    let applied = rt
        .block_on(with_archive.apply(&alice, archived, Action::Trash))
        .unwrap();
    assert_eq!(applied.to.unwrap().folder, "archivedeleteditems");
    assert_eq!(server.violations(), Vec::<String>::new());
}

/// `retractor check --json` on a config with this tenant.
fn check(server: &EwsServer, extra: &str, password: &str) -> (i32, serde_json::Value) {
    let w = common::World::new("");
    let text = tenant_text(w.path(), server, extra, password);
    let config = fs::read_to_string(w.config()).unwrap();
    fs::write(w.config(), config + &text).unwrap();
    w.json(&["check", "--tenant", "exch"])
}

#[test]
fn check_is_the_test_button_and_says_what_is_missing() {
    let server = server_with(&["alice@exch.test"]);
    let mailboxes = "mailboxes = [\"alice@exch.test\", \"q@exch.test\"]";
    let (code, out) = check(&server, mailboxes, PASSWORD);
    let t = &out["tenants"][0];
    assert_eq!((code, &t["ok"]), (0, &serde_json::json!(true)), "{out}");
    let detail = t["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains("alice@exch.test") && detail.contains("quarantine mailbox q@exch.test"),
        "{detail}"
    );
    let (_, out) = check(&server, mailboxes, "nope");
    let detail = out["tenants"][0]["detail"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        detail.contains("401") && detail.contains("svc-retractor"),
        "{detail}"
    );
    server.set_rights(
        "q@exch.test",
        Rights {
            impersonation: false,
            full_access: true,
        },
    );
    let (_, out) = check(&server, mailboxes, PASSWORD);
    let t = &out["tenants"][0];
    let detail = t["detail"].as_str().unwrap_or_default();
    assert_eq!(t["ok"], false, "{out}");
    assert!(
        detail.contains("q@exch.test") && detail.contains("may not impersonate"),
        "{detail}"
    );
    assert!(!detail.contains(PASSWORD));
    assert_eq!(server.violations(), Vec::<String>::new());
}

/// The figure of benches/README.md (EWS): quarantine one message from 5,000 mailboxes with
/// 20 ms added to every request. `cargo test --release --test ews_backend -- --ignored`.
#[test]
#[ignore]
fn bench_quarantine_from_5000_mailboxes() {
    // The test server scans its folders linearly (a debug build): 5,000 mailboxes make it,
    // not the client, the bottleneck. EWS_BENCH_MAILBOXES sets a smaller run.
    let n: usize = std::env::var("EWS_BENCH_MAILBOXES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5000);
    let server = EwsServer::start(27);
    let users: Vec<String> = (0..n).map(|i| format!("user{i:04}@exch.test")).collect();
    for u in &users {
        server.add_mailbox(u, Rights::ALL);
        server.deliver(u, "inbox", msg("<bench@bad.example>", u, false));
    }
    server.add_mailbox("q@exch.test", Rights::ALL);
    server.set_latency(Duration::from_millis(20));
    let w = common::World::new("");
    let text = tenant_text(w.path(), &server, "auth = \"ntlm\"", PASSWORD);
    let config = fs::read_to_string(w.config()).unwrap();
    fs::write(w.config(), config + &text).unwrap();
    let line = common::log_line(
        "<bench@bad.example>",
        "hr@bad.example",
        &users.iter().map(String::as_str).collect::<Vec<_>>(),
        "Payroll",
        None,
    );
    fs::write(w.path().join("log.jsonl"), line).unwrap();
    let log = w.path().join("log.jsonl");
    let (code, _) = w.json(&["ingest", "--format", "jsonl", log.to_str().unwrap()]);
    assert_eq!(code, 0);
    server.reset_stats();
    let started = Instant::now();
    let (code, job) = w.json(&[
        "retract",
        "<bench@bad.example>",
        "--action",
        "quarantine",
        "--yes",
        "--wait",
    ]);
    let wall = started.elapsed();
    assert_eq!(code, 0, "{job}");
    assert_eq!(
        job["job"]["remediated"], n as u64,
        "{}",
        job["job"]["failed"]
    );
    let stats = server.stats();
    let per_item = stats.requests as f64 / n as f64;
    let bound = Duration::from_secs_f64(stats.requests as f64 * 0.020 / 27.0);
    eprintln!(
        "EWS quarantine of {n} mailboxes, 20 ms latency: wall {wall:.1?}, {} SOAP calls ({per_item:.2} per item; {:?}), \
         max in flight {}, bound (calls x 20 ms / 27) {bound:.1?}, ratio {:.2}",
        stats.requests,
        stats.by_operation,
        stats.max_in_flight,
        wall.as_secs_f64() / bound.as_secs_f64()
    );
    assert_eq!(server.violations(), Vec::<String>::new());
}
