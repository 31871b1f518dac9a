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
    let quick = std::time::Duration::from_secs(8);
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

/// A world whose store sits in a directory the product creates.
fn world_with_store_in(sub: &str) -> World {
    let w = World::new("");
    let config = fs::read_to_string(w.config()).expect("config");
    let config = config.replace(
        "path = \"retractor.db\"",
        &format!("path = \"{sub}/retractor.db\""),
    );
    fs::write(w.config(), config).expect("config");
    w
}

#[test]
fn the_store_is_created_private_and_check_warns_about_loose_modes() {
    let w = world_with_store_in("private/store");
    w.make_mailboxes(&["alice", "quarantine"]);
    let id = "<files-1@bad.example>";
    let text = message(id, "x@bad.example", &["alice@corp.test"], "Hi", None);
    w.deliver("alice", "", "1.M1.host", &text, false, 1_795_000_000);
    let out = w.ingest_lines(&[log_line(
        id,
        "x@bad.example",
        &["alice@corp.test"],
        "Hi",
        None,
    )]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // A hard-delete keeps an evidence copy of the message in the store.
    let out = w.run(&["retract", id, "--action", "hard-delete", "--yes", "--wait"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    let store = w.path().join("private/store/retractor.db");
    assert_eq!(mode(&w.path().join("private/store")), 0o700);
    assert_eq!(mode(&w.path().join("private")), 0o700);
    assert_eq!(mode(&store), 0o600);
    for side in ["retractor.db-wal", "retractor.db-shm"] {
        let p = w.path().join("private/store").join(side);
        if p.exists() {
            assert_eq!(mode(&p), 0o600, "{}", p.display());
        }
    }
    let (code, v) = w.json(&["check"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["warnings"], serde_json::json!([]), "{v}");

    fs::set_permissions(&store, fs::Permissions::from_mode(0o644)).expect("chmod");
    fs::set_permissions(
        w.path().join("private/store"),
        fs::Permissions::from_mode(0o755),
    )
    .expect("chmod");
    fs::set_permissions(log_path(&w), fs::Permissions::from_mode(0o644)).expect("chmod");
    let (_, v) = w.json(&["check"]);
    let warnings: Vec<String> = v["warnings"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|w| w.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    let names = |needle: &str| warnings.iter().any(|w| w.contains(needle));
    assert!(names("retractor.db is mode 0644"), "{warnings:?}");
    assert!(names("private/store is mode 0755"), "{warnings:?}");
    assert!(names("retractor.log is mode 0644"), "{warnings:?}");
}

/// An unprivileged account for runs where permission bits must apply (root ignores them).
fn unprivileged_user() -> &'static str {
    const USER: &str = "retractor-ro";
    let exists = std::process::Command::new("id")
        .arg(USER)
        .output()
        .is_ok_and(|o| o.status.success());
    if !exists {
        let out = std::process::Command::new("useradd")
            .args([
                "--system",
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
                USER,
            ])
            .output()
            .expect("useradd");
        // Another test process may have created it meanwhile.
        assert!(
            out.status.success() || String::from_utf8_lossy(&out.stderr).contains("exists"),
            "useradd: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    USER
}

#[test]
fn read_only_commands_work_on_a_read_only_copy_of_the_store() {
    let w = World::new("");
    w.make_mailboxes(&["alice", "quarantine"]);
    let id = "<ro-1@bad.example>";
    let text = message(id, "x@bad.example", &["alice@corp.test"], "Forensic", None);
    w.deliver("alice", "", "1.M1.host", &text, false, 1_795_000_000);
    let out = w.ingest_lines(&[log_line(
        id,
        "x@bad.example",
        &["alice@corp.test"],
        "Forensic",
        None,
    )]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = w.run(&["retract", id, "--action", "trash", "--yes", "--wait"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    // The forensic copy: the database alone (the last writer checkpointed its WAL), 0444,
    // in a directory nobody may write, read by an account that owns neither.
    let copy_dir = w.path().join("evidence-copy");
    fs::create_dir(&copy_dir).expect("dir");
    fs::copy(w.path().join("retractor.db"), copy_dir.join("retractor.db")).expect("copy");
    fs::set_permissions(
        copy_dir.join("retractor.db"),
        fs::Permissions::from_mode(0o444),
    )
    .expect("chmod");
    fs::set_permissions(&copy_dir, fs::Permissions::from_mode(0o555)).expect("chmod");
    let config = fs::read_to_string(w.config()).expect("config").replace(
        "path = \"retractor.db\"",
        "path = \"evidence-copy/retractor.db\"",
    );
    let config_path = w.path().join("ro.toml");
    fs::write(&config_path, config).expect("config");
    fs::set_permissions(w.path(), fs::Permissions::from_mode(0o755)).expect("chmod");
    let user = unprivileged_user();
    let home = tempfile::tempdir().expect("home");
    fs::set_permissions(home.path(), fs::Permissions::from_mode(0o777)).expect("chmod");

    let run = |args: &[&str]| {
        let out = std::process::Command::new("runuser")
            .args([
                "-u",
                user,
                "--",
                env!("CARGO_BIN_EXE_retractor"),
                "--config",
            ])
            .arg(&config_path)
            .args(args)
            .env("XDG_STATE_HOME", home.path().join("state"))
            .env("XDG_DATA_HOME", home.path().join("data"))
            .env("XDG_CONFIG_HOME", home.path().join("config"))
            .env_remove("RETRACTOR_CONFIG")
            .stdin(std::process::Stdio::null())
            .output()
            .expect("runuser");
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?} on a read-only store: {}",
            stderr(&out)
        );
        serde_json::from_slice::<serde_json::Value>(&out.stdout)
            .unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {}", stdout(&out)))
    };
    let found = run(&["--json", "search", "forensic"]);
    assert_eq!(
        found["messages"].as_array().map(Vec::len),
        Some(1),
        "{found}"
    );
    let shown = run(&["--json", "show", id]);
    assert_eq!(shown["message_id"], id, "{shown}");
    let jobs = run(&["--json", "jobs"]);
    assert_eq!(jobs["jobs"].as_array().map(Vec::len), Some(1), "{jobs}");
    run(&["--json", "jobs", "1"]);
    let audit = run(&["--json", "audit"]);
    assert!(
        audit["audit"].as_array().is_some_and(|a| !a.is_empty()),
        "{audit}"
    );
    let verified = run(&["--json", "audit", "verify"]);
    assert_eq!(verified["ok"], true, "{verified}");
    // Nothing was written next to the copy.
    let entries: Vec<_> = fs::read_dir(&copy_dir)
        .expect("dir")
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(entries.len(), 1, "{entries:?}");
}

/// A token endpoint that refuses every request with an error body quoting the request back,
/// secret and all, as some servers do. Returns its base URL.
fn echoing_token_endpoint() -> String {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream);
            let mut length = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            let form = String::from_utf8_lossy(&body).into_owned();
            let secret = form
                .split('&')
                .find_map(|kv| kv.strip_prefix("client_secret="))
                .unwrap_or_default()
                .to_string();
            let reply = serde_json::json!({
                "error": "invalid_client",
                "error_description": format!("AADSTS7000215: Invalid client secret provided {secret}. Request was: {form}"),
            })
            .to_string();
            let mut stream = reader.into_inner();
            let _ = write!(
                stream,
                "HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{reply}",
                reply.len()
            );
        }
    });
    url
}

#[test]
fn a_secret_a_server_echoes_back_is_never_shown_stored_or_logged() {
    let url = echoing_token_endpoint();
    let secret = "S3cr3t-Value-42xyz";
    let w = World::new(&format!(
        "\n[tenants.m365]\nkind = \"graph\"\ntenant_id = \"t\"\nclient_id = \"c\"\nclient_secret_file = \"graph-secret\"\nauthority_host = \"{url}\"\ngraph_endpoint = \"{url}\"\nretry_backoff_ms = 20\ndomains = [\"m365.test\"]\nmailboxes = [\"alice@m365.test\"]\n"
    ));
    let file = w.path().join("graph-secret");
    fs::write(&file, format!("{secret}\n")).expect("secret");
    fs::set_permissions(&file, fs::Permissions::from_mode(0o600)).expect("chmod");
    let out = w.run(&[
        "--json",
        "--log-level",
        "debug",
        "check",
        "--tenant",
        "m365",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = format!("{}{}", stdout(&out), stderr(&out));
    assert!(
        text.contains("invalid_client"),
        "the server's words are kept: {text}"
    );
    assert!(!text.contains(secret), "{text}");
    assert!(text.contains("[redacted]"), "{text}");
    let log = fs::read_to_string(log_path(&w)).unwrap_or_default();
    assert!(!log.contains(secret), "{log}");
}
