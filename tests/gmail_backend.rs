//! The Google Workspace backend against the Gmail test server (`tests/gmail_server`): the
//! real binary for what is Gmail's own (Spam and Trash found, hidden labels, evidence order,
//! suspended users, throttling reasons, per-user concurrency, check, conversation depth
//! through threads), the library where a result is easier to see there. What every backend
//! must do is in the backend contract suite. Every test ends asserting the server recorded
//! no breach of Gmail's limits (a request during a Retry-After, one past the per-user
//! concurrency, a token used on another user's mailbox, a bad assertion). No real
//! Workspace tenant is reached.

mod common;
mod gmail_server;

use std::fs;
use std::time::Duration;

use common::*;
use gmail_server::{Fault, GmailServer, Settings, UserState};
use retractor::backends::{Backend, MailboxRef};
use retractor::config::Config;
use serde_json::Value;

/// A Message-ID with characters that break a hand-built query string.
const ROOT: &str = "<a+b/c=d&e#f'g%h@bad.example>";
const ADMIN: &str = "admin@gws.test";

fn raw(id: &str, from: &str, to: &[&str], parent: Option<&str>) -> String {
    message(id, from, to, "Payroll update", parent)
}

fn line(id: &str, to: &[&str]) -> String {
    log_line(id, "hr@bad.example", to, "Payroll update", None)
}

/// A server with the admin and these users.
fn server_with(settings: Settings, users: &[&str]) -> GmailServer {
    let server = GmailServer::start(settings);
    server.add_user(ADMIN, UserState::Active);
    for u in users {
        server.add_user(u, UserState::Active);
    }
    server
}

/// A world whose tenant `gws` (domain gws.test) is the test server.
fn world(server: &GmailServer, extra: &str) -> World {
    let w = World::new("");
    let config = fs::read_to_string(w.config()).unwrap();
    let tenant = format!(
        "\n[tenants.gws]\n{}domains = [\"gws.test\"]\n{extra}\n",
        server.tenant_config(w.path())
    );
    fs::write(w.config(), config + &tenant).unwrap();
    w
}

fn backend(w: &World) -> std::sync::Arc<dyn Backend> {
    let cfg = Config::load(&w.config()).unwrap();
    retractor::backends::for_tenant(cfg.tenant("gws").unwrap()).unwrap()
}

fn mailbox(address: &str) -> MailboxRef {
    MailboxRef {
        address: address.into(),
        on_hold: false,
    }
}

fn items(job: &Value) -> Vec<Value> {
    job["job"]["items"].as_array().cloned().unwrap_or_default()
}

fn result_of(job: &Value, mailbox: &str) -> String {
    items(job)
        .iter()
        .find(|i| i["mailbox"] == mailbox)
        .map(|i| i["result"].as_str().unwrap_or("").to_string())
        .unwrap_or_else(|| panic!("no item for {mailbox} in {job}"))
}

/// Labels of the copies of `id` in a mailbox.
fn labels_of(server: &GmailServer, mailbox: &str, id: &str) -> Vec<Vec<String>> {
    server
        .copies(mailbox)
        .into_iter()
        .filter(|c| c.0 == id)
        .map(|c| c.1)
        .collect()
}

/// Copies in Spam and Trash are found (`includeSpamTrash=true`), each confirmed on its
/// header; the labels before the act are recorded whole, UNREAD included; every mailbox is
/// acted as its own user, each with tokens of its own.
#[tokio::test]
async fn copies_in_spam_and_trash_are_found_and_every_user_has_its_own_token() {
    let server = server_with(Settings::default(), &["alice@gws.test", "bob@gws.test"]);
    let to = ["alice@gws.test", "bob@gws.test"];
    server.deliver(
        "alice@gws.test",
        &raw(ROOT, "hr@bad.example", &to, None),
        &["TRASH", "UNREAD"],
    );
    server.deliver(
        "bob@gws.test",
        &raw(ROOT, "hr@bad.example", &to, None),
        &["SPAM"],
    );
    // A look-alike whose Message-ID contains the wanted one is not a copy.
    server.deliver(
        "bob@gws.test",
        &raw(
            "<x<a+b/c=d&e#f'g%h@bad.example>",
            "hr@bad.example",
            &to,
            None,
        ),
        &["INBOX"],
    );
    let w = world(&server, "");
    let b = backend(&w);
    let alice = b.locate(&mailbox("alice@gws.test"), ROOT).await.unwrap();
    assert_eq!(alice.len(), 1, "{alice:?}");
    assert_eq!(alice[0].labels, ["TRASH", "UNREAD"]);
    assert_eq!(alice[0].folder, "TRASH");
    assert!(!alice[0].seen);
    let bob = b.locate(&mailbox("bob@gws.test"), ROOT).await.unwrap();
    assert_eq!(bob.len(), 1, "{bob:?}");
    assert_eq!((bob[0].folder.as_str(), bob[0].seen), ("SPAM", true));
    let tokens: Vec<String> = server
        .events()
        .into_iter()
        .filter(|e| e.starts_with("token "))
        .collect();
    assert!(
        tokens
            .iter()
            .any(|t| t.starts_with("token alice@gws.test ")),
        "{tokens:?}"
    );
    assert!(
        tokens.iter().any(|t| t.starts_with("token bob@gws.test ")),
        "{tokens:?}"
    );
    // Cached per user and scope: a second locate asks for no new token.
    b.locate(&mailbox("alice@gws.test"), ROOT).await.unwrap();
    assert_eq!(server.stats().token_requests, 2);
    assert_eq!(server.violations(), Vec::<String>::new());
}

/// Soft-delete is Trash plus a label hidden from the label list; restore takes both off and
/// puts back exactly the labels the copy had (a user label, UNREAD, STARRED).
#[test]
fn soft_delete_labels_hidden_and_restore_puts_back_the_exact_labels() {
    let server = server_with(Settings::default(), &["bob@gws.test"]);
    let projects = server.add_label("bob@gws.test", "Projects");
    let to = ["bob@gws.test"];
    server.deliver(
        "bob@gws.test",
        &raw(ROOT, "hr@bad.example", &to, None),
        &[&projects, "UNREAD", "STARRED", "IMPORTANT"],
    );
    let before = labels_of(&server, "bob@gws.test", ROOT);
    let w = world(&server, "");
    w.ingest_lines(&[line(ROOT, &to)]);
    let (code, job) = w.json(&[
        "retract",
        ROOT,
        "--action",
        "soft-delete",
        "--yes",
        "--wait",
    ]);
    assert_eq!(code, 0, "{job}");
    assert_eq!(result_of(&job, "bob@gws.test"), "remediated");
    let now = labels_of(&server, "bob@gws.test", ROOT);
    assert!(
        now[0].contains(&"TRASH".to_string())
            && now[0].contains(&"Retractor/Soft-deleted".to_string()),
        "{now:?}"
    );
    assert_eq!(
        server.label_hidden("bob@gws.test", "Retractor/Soft-deleted"),
        Some(true)
    );
    // Again: already there, nothing acted twice.
    let (_, again) = w.json(&[
        "retract",
        ROOT,
        "--action",
        "soft-delete",
        "--yes",
        "--wait",
    ]);
    assert_eq!(
        result_of(&again, "bob@gws.test"),
        "already-in-destination",
        "{again}"
    );
    let (code, restored) = w.json(&[
        "restore",
        "--job",
        &job["job"]["id"].to_string(),
        "--yes",
        "--wait",
    ]);
    assert_eq!(code, 0, "{restored}");
    assert_eq!(labels_of(&server, "bob@gws.test", ROOT), before);
    assert_eq!(server.violations(), Vec::<String>::new());
}

/// Hard-delete: the raw message is fetched as evidence before `messages.delete`, which is
/// asked with the full mail scope only.
#[test]
fn hard_delete_fetches_evidence_first_and_deletes_with_the_full_scope() {
    let server = server_with(Settings::default(), &["alice@gws.test"]);
    let to = ["alice@gws.test"];
    let id = server.deliver(
        "alice@gws.test",
        &raw(ROOT, "hr@bad.example", &to, None),
        &["INBOX"],
    );
    let w = world(&server, "");
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
    assert_eq!(result_of(&job, "alice@gws.test"), "remediated");
    let events = server.events();
    let raw_at = events
        .iter()
        .position(|e| *e == format!("raw alice@gws.test {id}"));
    let delete_at = events
        .iter()
        .position(|e| *e == format!("delete alice@gws.test {id}"));
    assert!(raw_at.is_some() && raw_at < delete_at, "{events:?}");
    assert!(
        events
            .iter()
            .any(|e| e == "token alice@gws.test https://mail.google.com/"),
        "{events:?}"
    );
    assert!(server.copies("alice@gws.test").is_empty());
    assert_eq!(server.violations(), Vec::<String>::new());
}

/// Suspended users are not listed and cannot be acted on; a user the domain does not have
/// (`invalid_grant`) is not actionable either, and neither stops the tenant.
#[tokio::test]
async fn suspended_and_unknown_users_are_not_actionable() {
    let server = server_with(Settings::default(), &["alice@gws.test"]);
    server.add_user("gone@gws.test", UserState::Suspended);
    let to = ["alice@gws.test", "gone@gws.test", "ghost@gws.test"];
    server.deliver(
        "alice@gws.test",
        &raw(ROOT, "hr@bad.example", &to, None),
        &["INBOX"],
    );
    server.deliver(
        "gone@gws.test",
        &raw(ROOT, "hr@bad.example", &to, None),
        &["INBOX"],
    );
    let w = world(&server, "");
    let listed = backend(&w).list_mailboxes().await.unwrap();
    assert_eq!(listed, ["admin@gws.test", "alice@gws.test"]);
    w.ingest_lines(&[line(ROOT, &to)]);
    let (code, job) = w.json(&["retract", ROOT, "--action", "trash", "--yes", "--wait"]);
    assert_eq!(code, 0, "{job}");
    assert_eq!(result_of(&job, "alice@gws.test"), "remediated");
    assert_eq!(result_of(&job, "gone@gws.test"), "not-actionable", "{job}");
    assert_eq!(result_of(&job, "ghost@gws.test"), "not-actionable", "{job}");
    assert_eq!(server.violations(), Vec::<String>::new());
}

/// A 429 with Retry-After holds that user's requests until it passes; a 403
/// `userRateLimitExceeded` without one is retried with back-off; a 403
/// `rateLimitExceeded` (the project's) too. Every item ends remediated and no request was
/// sent during a Retry-After.
#[test]
fn rate_limits_are_told_apart_and_retry_after_is_obeyed() {
    let users = ["alice@gws.test", "bob@gws.test", "carol@gws.test"];
    let server = server_with(Settings::default(), &users);
    for u in users {
        server.deliver(
            u,
            &raw(ROOT, "hr@bad.example", &users, None),
            &["INBOX", "UNREAD"],
        );
    }
    let fault =
        |user: &str, status: u16, reason: &str, retry_after: Option<u64>, times: usize| Fault {
            user: Some(user.into()),
            path_contains: Some("modify".into()),
            status,
            reason: reason.into(),
            retry_after,
            times,
        };
    server.fail(fault(
        "alice@gws.test",
        429,
        "rateLimitExceeded",
        Some(1),
        1,
    ));
    server.fail(fault("bob@gws.test", 403, "userRateLimitExceeded", None, 2));
    server.fail(fault("carol@gws.test", 403, "rateLimitExceeded", None, 1));
    let w = world(&server, "");
    w.ingest_lines(&[line(ROOT, &users)]);
    let (code, job) = w.json(&[
        "retract",
        ROOT,
        "--action",
        "move-to-junk",
        "--yes",
        "--wait",
    ]);
    assert_eq!(code, 0, "{job}");
    for u in users {
        assert_eq!(result_of(&job, u), "remediated", "{u}: {job}");
        assert_eq!(
            labels_of(&server, u, ROOT),
            [vec!["SPAM".to_string(), "UNREAD".to_string()]]
        );
    }
    assert!(server.stats().throttled >= 4);
    assert_eq!(server.violations(), Vec::<String>::new());
}

/// Quarantine of many recipients sends every import to one mailbox: the client keeps to
/// the per-user concurrency there, whatever the engine's parallelism.
#[test]
fn quarantine_keeps_to_the_per_user_concurrency_of_the_quarantine_mailbox() {
    let users: Vec<String> = (0..24).map(|i| format!("user{i:02}@gws.test")).collect();
    let to: Vec<&str> = users.iter().map(String::as_str).collect();
    let server = server_with(
        Settings {
            latency: Duration::from_millis(20),
            ..Settings::default()
        },
        &to,
    );
    server.add_user("quarantine@gws.test", UserState::Active);
    for u in &to {
        server.deliver(u, &raw(ROOT, "hr@bad.example", &to, None), &["INBOX"]);
    }
    let w = world(&server, "quarantine_mailbox = \"quarantine@gws.test\"\n");
    w.ingest_lines(&[line(ROOT, &to)]);
    let (code, job) = w.json(&["retract", ROOT, "--action", "quarantine", "--yes", "--wait"]);
    assert_eq!(code, 0, "{job}");
    for u in &to {
        assert_eq!(result_of(&job, u), "remediated", "{job}");
        assert!(server.copies(u).is_empty(), "{u}");
    }
    let held = server.copies("quarantine@gws.test");
    assert_eq!(held.len(), 24);
    assert!(
        held.iter()
            .all(|c| c.1.len() == 1 && c.1[0].starts_with("Retractor/Quarantine/user")),
        "{held:?}"
    );
    assert!(server.stats().max_in_flight <= 4, "{:?}", server.stats());
    assert_eq!(server.violations(), Vec::<String>::new());
}

/// `check`: tokens for the admin and a sample user in every scope; a scope domain-wide
/// delegation lacks is named (`unauthorized_client`), as is an admin that cannot be acted as.
#[test]
fn check_names_a_scope_delegation_lacks_and_an_admin_that_cannot_be_acted_as() {
    let server = server_with(Settings::default(), &["alice@gws.test"]);
    let w = world(&server, "");
    let (code, report) = w.json(&["check", "--tenant", "gws"]);
    assert_eq!(code, 0, "{report}");
    let t = &report["tenants"][0];
    assert_eq!(t["ok"], true, "{report}");
    server.settings(|s| s.delegated.retain(|d| d != gmail_server::FULL));
    let w = world(&server, "");
    let (_, report) = w.json(&["check", "--tenant", "gws"]);
    let t = &report["tenants"][0];
    let detail = t["detail"].as_str().unwrap_or("");
    assert_eq!(t["ok"], false, "{report}");
    assert!(
        detail.contains("https://mail.google.com/") && detail.contains("unauthorized_client"),
        "{detail}"
    );
    assert!(
        !detail.contains("gmail.modify ("),
        "only the missing scope is named: {detail}"
    );
    server.settings(|s| s.admin = "nobody@gws.test".into());
    let w = world(&server, "");
    let (_, report) = w.json(&["check", "--tenant", "gws"]);
    let detail = report["tenants"][0]["detail"]
        .as_str()
        .unwrap_or("")
        .to_string();
    assert!(
        detail.contains("nobody@gws.test") && detail.contains("invalid_grant"),
        "{detail}"
    );
    assert_eq!(server.violations(), Vec::<String>::new());
}

/// Depth through threads: alice forwarded the message to bob (her Sent copy is in its
/// thread), bob replied to the forward to carol. Depth 1 finds the forward in alice's and
/// bob's mailboxes, depth 2 the reply in bob's and carol's; a look-alike that only mentions
/// the id in its References is no descendant.
#[test]
fn depth_is_found_from_threads_and_located_in_the_recipients_mailboxes() {
    let (alice, bob, carol) = ("alice@gws.test", "bob@gws.test", "carol@gws.test");
    let server = server_with(Settings::default(), &[alice, bob, carol]);
    let fwd = "<fwd-1@gws.test>";
    let reply = "<reply-1@gws.test>";
    server.deliver(
        alice,
        &raw(ROOT, "hr@bad.example", &[alice], None),
        &["INBOX"],
    );
    server.deliver(alice, &raw(fwd, alice, &[bob], Some(ROOT)), &["SENT"]);
    server.deliver(bob, &raw(fwd, alice, &[bob], Some(ROOT)), &["INBOX"]);
    server.deliver(bob, &raw(reply, bob, &[carol], Some(fwd)), &["SENT"]);
    server.deliver(
        carol,
        &raw(reply, bob, &[carol], Some(fwd)),
        &["INBOX", "UNREAD"],
    );
    server.deliver(
        carol,
        &raw(
            "<other@gws.test>",
            bob,
            &[carol],
            Some("<x-a+b@bad.example>"),
        ),
        &["INBOX"],
    );
    let w = world(&server, "");
    w.ingest_lines(&[line(ROOT, &[alice])]);
    let (code, plan) = w.json(&[
        "retract",
        ROOT,
        "--action",
        "move-to-junk",
        "--depth",
        "2",
        "--dry-run",
    ]);
    assert_eq!(code, 0, "{plan}");
    let by_depth: Vec<(u64, u64, u64)> = plan["plan"]["by_depth"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|d| {
            (
                d["depth"].as_u64().unwrap_or(99),
                d["messages"].as_u64().unwrap_or(0),
                d["mailboxes"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(by_depth, [(0, 1, 1), (1, 1, 2), (2, 1, 2)], "{plan}");
    let (code, job) = w.json(&[
        "retract",
        ROOT,
        "--action",
        "move-to-junk",
        "--depth",
        "2",
        "--yes",
        "--wait",
    ]);
    assert_eq!(code, 0, "{job}");
    assert_eq!(items(&job).len(), 5, "{job}");
    assert!(
        items(&job).iter().all(|i| i["result"] == "remediated"),
        "{job}"
    );
    assert_eq!(
        labels_of(&server, carol, reply),
        [vec!["SPAM".to_string(), "UNREAD".to_string()]]
    );
    assert_eq!(
        labels_of(&server, carol, "<other@gws.test>"),
        [vec!["INBOX".to_string()]]
    );
    assert_eq!(server.violations(), Vec::<String>::new());
}

/// The measurement (benches/README.md, "gmail"): retract one message from
/// `RETRACTOR_BENCH_MAILBOXES` (10,000) mailboxes with `RETRACTOR_BENCH_LATENCY_MS` (50 ms)
/// added to every Gmail request, default `[engine]`. Prints wall time, requests and quota
/// units per item, and the ratio to the bound set by the latency and Google's quotas.
/// `cargo test --release --test gmail_backend -- --ignored --nocapture measure`
#[test]
#[ignore]
fn measure_retract_from_many_mailboxes() {
    let env = |name: &str, default: u64| -> u64 {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let n = env("RETRACTOR_BENCH_MAILBOXES", 10_000) as usize;
    let latency_ms = env("RETRACTOR_BENCH_LATENCY_MS", 50);
    let users: Vec<String> = (0..n).map(|i| format!("user{i:05}@gws.test")).collect();
    let server = server_with(Settings::default(), &[]);
    for u in &users {
        server.add_user(u, UserState::Active);
        server.deliver(
            u,
            &raw(ROOT, "hr@bad.example", &[u], None),
            &["INBOX", "UNREAD"],
        );
    }
    let w = world(&server, "");
    let log = serde_json::json!({
        "message_id": ROOT, "from": "hr@bad.example", "to": users,
        "subject": "Payroll update", "received_at": "2026-11-20T10:00:00Z",
    });
    w.ingest_lines(&[log.to_string()]);
    server.settings(|s| s.latency = Duration::from_millis(latency_ms));
    server.reset_stats();
    let started = std::time::Instant::now();
    let (code, job) = json_within(
        &w.config(),
        w.path(),
        &[
            "retract",
            ROOT,
            "--action",
            "move-to-junk",
            "--yes",
            "--wait",
        ],
        Duration::from_secs(1800),
        String::new,
    );
    let wall = started.elapsed().as_secs_f64();
    assert_eq!(
        code,
        0,
        "{}",
        &job.to_string()[..job.to_string().len().min(2000)]
    );
    let done = items(&job)
        .iter()
        .filter(|i| i["result"] == "remediated")
        .count();
    assert_eq!(done, n);
    let stats = server.stats();
    let per = |x: u64| x as f64 / n as f64;
    // Three dependent round trips per item (list, get, modify); the engine's adaptive
    // concurrency reaches 512 items in flight at most.
    let latency_bound = 3.0 * latency_ms as f64 / 1000.0 * (n as f64 / 512.0).max(1.0);
    // Per project: 1,200,000 units per minute; per user: 15,000 (one item per user here).
    let project_bound = stats.units as f64 / (1_200_000.0 / 60.0);
    let user_bound = (stats.max_user_units_per_minute as f64 / 15_000.0) * 60.0;
    let bound = latency_bound.max(project_bound);
    let _ = user_bound;
    println!("gmail measure: {n} mailboxes, {latency_ms} ms added latency");
    println!(
        "  wall                    {wall:.2} s ({:.0} items/s)",
        n as f64 / wall
    );
    println!(
        "  per item                {:.2} Gmail requests, {:.2} quota units, {:.2} token requests",
        per(stats.gmail_requests),
        per(stats.units),
        per(stats.token_requests)
    );
    println!("  by method               {:?}", stats.by_method);
    println!(
        "  peak units per minute   {} for one user (Google: 15,000), {} for the project (Google: 1,200,000)",
        stats.max_user_units_per_minute, stats.max_project_units_per_minute
    );
    println!(
        "  bound                   {bound:.2} s = max(latency: 3 x {latency_ms} ms x max(1, {n} / 512) = {latency_bound:.2} s, project quota: {} units / 20,000 per s = {project_bound:.2} s)",
        stats.units
    );
    println!("  ratio wall / bound      {:.2}", wall / bound);
    println!(
        "  throttled {}, max in flight per user {}",
        stats.throttled, stats.max_in_flight
    );
    assert_eq!(server.violations(), Vec::<String>::new());
}
