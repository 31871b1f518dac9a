//! Team mode end to end: the real binary with `[store] url` on a real PostgreSQL server
//! (started once for the file, one fresh database per test). Every command an analyst runs
//! works on the shared store as it does on a SQLite file, and none leaves a store file behind.

mod common;
#[path = "common/postgres.rs"]
mod postgres;

use common::*;
use serde_json::Value;

const ROOT: &str = "<team-phish@bad.example>";
const T0: i64 = 1_795_000_000;

/// A Maildir world whose store is a fresh PostgreSQL database; its password comes from the
/// environment, as a deployment's would (the test server trusts loopback and ignores it).
fn team_world() -> World {
    let w = World::new("");
    let db = postgres::fresh_database();
    let config = std::fs::read_to_string(w.config()).expect("config");
    let team = format!(
        "url = \"{}\"\npassword_env = \"RTX_TEAM_TEST_PASSWORD\"\nsslmode = \"disable\"",
        db.url
    );
    let config = config.replacen("path = \"retractor.db\"", &team, 1);
    std::fs::write(w.config(), config).expect("config");
    w.make_mailboxes(&["alice", "bob", "carol", "quarantine"]);
    let root = message(
        ROOT,
        "Payroll <hr@bad.example>",
        &["alice@corp.test", "bob@corp.test", "carol@corp.test"],
        "Quarterly payroll document",
        None,
    );
    for (i, user) in ["alice", "bob", "carol"].iter().enumerate() {
        w.deliver(
            user,
            "",
            &format!("10{i}.M1.host"),
            &root,
            i == 0,
            T0 + i as i64,
        );
    }
    w
}

fn run_ok(w: &World, args: &[&str]) -> Value {
    let (code, v) = w.json(args);
    assert_eq!(code, 0, "{args:?}: {v}");
    v
}

#[test]
fn an_analysts_day_runs_on_the_shared_store_and_leaves_no_store_file() {
    // SAFETY: set before any thread of this test binary reads the environment.
    unsafe { std::env::set_var("RTX_TEAM_TEST_PASSWORD", "not-used-by-trust-auth") };
    let w = team_world();
    let out = w.ingest_lines(&[log_line(
        ROOT,
        "hr@bad.example",
        &["alice@corp.test", "bob@corp.test", "carol@corp.test"],
        "Quarterly payroll document",
        None,
    )]);
    assert!(out.status.success(), "ingest: {}", stderr(&out));

    // The query language on PostgreSQL: a prefix, a field, a negated term.
    let found = run_ok(&w, &["search", "docu"]);
    assert_eq!(
        found["messages"].as_array().map(Vec::len),
        Some(1),
        "{found}"
    );
    let found = run_ok(&w, &["search", "from:hr@bad.example", "-status:retracted"]);
    assert_eq!(
        found["messages"].as_array().map(Vec::len),
        Some(1),
        "{found}"
    );

    let job = run_ok(
        &w,
        &[
            "retract",
            ROOT,
            "--action",
            "quarantine",
            "--yes",
            "--wait",
            "--reason",
            "INC-7",
        ],
    );
    assert_eq!(job["job"]["status"], "done", "{job}");
    assert_eq!(job["job"]["remediated"], 3, "{job}");
    assert!(
        copies_of(&w.mailbox("alice"), "team-phish").is_empty(),
        "alice's copy is still there"
    );
    assert_eq!(
        copies_of(&w.mailbox("quarantine"), "team-phish").len(),
        3,
        "every copy is in the quarantine"
    );
    let shown = run_ok(&w, &["show", ROOT]);
    assert_eq!(shown["status"], "retracted", "{shown}");

    let restored = run_ok(&w, &["restore", ROOT, "--yes", "--wait"]);
    assert_eq!(restored["job"]["remediated"], 3, "{restored}");
    assert_eq!(copies_of(&w.mailbox("bob"), "team-phish").len(), 1);

    let jobs = run_ok(&w, &["jobs"]);
    assert_eq!(jobs["jobs"].as_array().map(Vec::len), Some(2), "{jobs}");
    let verdict = run_ok(&w, &["audit", "verify"]);
    assert_eq!(verdict["ok"], true, "{verdict}");
    let audit = run_ok(&w, &["audit", "--action", "retract"]);
    assert!(
        audit["audit"]
            .as_array()
            .is_some_and(|r| r.iter().any(|r| r["reason"] == "INC-7")),
        "{audit}"
    );
    let check = stdout(&w.run(&["check"]));
    assert!(
        check.contains("store postgresql://") && check.contains("ok, 1 logged messages"),
        "check names the team store: {check}"
    );
    let files: Vec<_> = files_under(w.path())
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "db" || e == "db-wal"))
        .collect();
    assert!(files.is_empty(), "a SQLite store was made: {files:?}");
}

#[test]
fn an_unreachable_team_store_is_named_without_its_password() {
    let w = World::new("");
    let config = std::fs::read_to_string(w.config()).expect("config");
    // Port 9 (discard) on loopback: nothing listens there.
    let config = config.replacen(
        "path = \"retractor.db\"",
        "url = \"postgresql://retractor@127.0.0.1:9/retractor\"\npassword_env = \"RTX_TEAM_SECRET\"\nsslmode = \"disable\"",
        1,
    );
    std::fs::write(w.config(), config).expect("config");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_retractor"))
        .args(["--config"])
        .arg(w.config())
        .args(["--json", "jobs"])
        .env("HOME", w.path())
        .env("RTX_TEAM_SECRET", "hunter2-team")
        .output()
        .expect("run");
    let (code, err) = json_error(&out);
    assert_ne!(code, 0);
    let message = err["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("postgresql://retractor@127.0.0.1:9/retractor"),
        "names the store: {message}"
    );
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("hunter2-team"),
        "the password was shown"
    );
}
