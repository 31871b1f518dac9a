//! Secrets, files and text: secret commands bounded per tenant, private files, a read-only
//! store, and a debug log that is private, never opened through a link, one line per entry.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::*;

fn mode(path: &Path) -> u32 {
    fs::metadata(path).expect("metadata").permissions().mode() & 0o777
}

fn log_path(w: &World) -> std::path::PathBuf {
    w.path().join("state/retractor/retractor.log")
}

#[test]
fn the_debug_log_is_private_and_one_line_per_entry() {
    let w = World::new("");
    // A query error renders a caret diagram over three lines; a forged-looking line inside
    // the query must not become a log line of its own.
    let out = w.run(&[
        "search",
        "frm:x\n2026-01-01T00:00:00Z  INFO retractor: forged",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let log = fs::read_to_string(log_path(&w)).expect("log written");
    assert!(log.contains("query error"), "{log}");
    for line in log.lines() {
        assert!(
            line.starts_with(|c: char| c.is_ascii_digit()),
            "every line is an entry starting with its time: {line:?}\n{log}"
        );
        assert!(
            !line.contains("INFO retractor: forged") || line.contains("WARN"),
            "{log}"
        );
    }
    assert_eq!(mode(&log_path(&w)), 0o600);
}

#[test]
fn the_debug_log_is_never_opened_through_a_link() {
    let w = World::new("");
    let victim = w.path().join("victim");
    fs::write(&victim, "precious\n").expect("victim");
    fs::create_dir_all(w.path().join("state/retractor")).expect("state dir");
    std::os::unix::fs::symlink(&victim, log_path(&w)).expect("link");
    let out = w.run(&["search", "frm:x"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_eq!(fs::read_to_string(&victim).expect("victim"), "precious\n");
}

/// Run the binary like [`World::run`], killing it after `limit` (a hang fails the test
/// instead of hanging the suite); returns the output and how long it took.
fn run_within(
    w: &World,
    args: &[&str],
    limit: std::time::Duration,
) -> (std::process::Output, std::time::Duration) {
    use std::process::{Command, Stdio};
    let started = std::time::Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_retractor"))
        .arg("--config")
        .arg(w.config())
        .args(args)
        .env("XDG_STATE_HOME", w.path().join("state"))
        .env("XDG_DATA_HOME", w.path().join("data"))
        .env("XDG_CONFIG_HOME", w.path().join("xdg-config"))
        .env_remove("RETRACTOR_CONFIG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    while child.try_wait().expect("try_wait").is_none() {
        if started.elapsed() > limit {
            let _ = child.kill();
            let out = child.wait_with_output().expect("output");
            panic!(
                "{args:?} still running after {limit:?}\nstderr: {}",
                stderr(&out)
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    (child.wait_with_output().expect("output"), started.elapsed())
}

/// `corp` (Maildir) works; `stuck` (Graph) has a secret command that never ends; `chatty`
/// (IMAP) has one that prints megabytes.
fn world_with_bad_secret_commands() -> World {
    let w = World::new(
        r#"
[tenants.stuck]
kind = "graph"
tenant_id = "t"
client_id = "c"
client_secret_command = "sleep 300"
domains = ["stuck.test"]

[tenants.chatty]
kind = "imap"
host = "127.0.0.1"
port = 1
security = "none"
admin_user = "admin"
admin_password_command = "yes hunter2-hunter2"
domains = ["chatty.test"]
mailboxes = ["x@chatty.test"]
"#,
    );
    w.make_mailboxes(&["alice", "quarantine"]);
    let text = message(
        "<sec-1@bad.example>",
        "x@bad.example",
        &["alice@corp.test"],
        "Hi",
        None,
    );
    w.deliver("alice", "", "1.M1.host", &text, false, 1_795_000_000);
    let out = w.ingest_lines(&[log_line(
        "<sec-1@bad.example>",
        "x@bad.example",
        &["alice@corp.test"],
        "Hi",
        None,
    )]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    w
}

#[test]
fn a_stuck_secret_command_holds_up_only_its_own_tenant() {
    let w = world_with_bad_secret_commands();
    let quick = std::time::Duration::from_secs(5);
    // Reading the log and acting on another tenant never run the stuck command.
    let (out, took) = run_within(&w, &["--json", "search", "hi"], quick);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(took < quick, "{took:?}");
    let (out, _) = run_within(
        &w,
        &[
            "--json",
            "retract",
            "<sec-1@bad.example>",
            "--action",
            "trash",
            "--yes",
            "--wait",
        ],
        quick,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        copies_of(&w.mailbox("alice").join(".Trash"), "sec-1").len(),
        1
    );

    // `check` waits for each command at most its timeout, names the tenant's key, shows no
    // secret, and still reports the tenant that works.
    let (out, took) = run_within(&w, &["--json", "check"], std::time::Duration::from_secs(40));
    assert!(took < std::time::Duration::from_secs(25), "{took:?}");
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let tenant = |name: &str| {
        v["tenants"]
            .as_array()
            .and_then(|ts| ts.iter().find(|t| t["name"] == name).cloned())
            .unwrap_or_else(|| panic!("{name} missing in {v}"))
    };
    assert_eq!(tenant("corp")["ok"], true, "{v}");
    let stuck = tenant("stuck");
    assert_eq!(stuck["ok"], false, "{v}");
    let detail = stuck["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains("stuck")
            && detail.contains("client_secret_command")
            && detail.contains("did not finish"),
        "{detail}"
    );
    let chatty = tenant("chatty");
    assert_eq!(chatty["ok"], false, "{v}");
    let detail = chatty["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains("admin_password_command") && detail.contains("more than"),
        "{detail}"
    );
    assert!(!stdout(&out).contains("hunter2"), "{}", stdout(&out));
}
