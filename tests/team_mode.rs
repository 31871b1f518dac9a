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

/// Rows per table of the SQLite store at `path` (FTS5's own tables aside).
fn sqlite_counts(path: &std::path::Path) -> Vec<(String, u64)> {
    let conn = rusqlite::Connection::open(path).expect("open the SQLite store");
    let mut tables: Vec<String> = conn
        .prepare(
            "SELECT name FROM sqlite_schema WHERE type = 'table' \
             AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'messages_fts%' ORDER BY name",
        )
        .expect("tables")
        .query_map([], |r| r.get(0))
        .expect("tables")
        .collect::<Result<_, _>>()
        .expect("tables");
    tables.sort();
    tables
        .into_iter()
        .map(|t| {
            let n: i64 = conn
                .query_row(&format!("SELECT count(*) FROM \"{t}\""), [], |r| r.get(0))
                .expect("count");
            (t, n as u64)
        })
        .collect()
}

#[test]
fn store_copy_moves_a_sqlite_store_into_postgresql_where_it_verifies_and_goes_on() {
    let w = World::new("");
    w.make_mailboxes(&["alice", "bob", "quarantine"]);
    let root = message(
        ROOT,
        "Payroll <hr@bad.example>",
        &["alice@corp.test", "bob@corp.test"],
        "Quarterly payroll document",
        None,
    );
    for (i, user) in ["alice", "bob"].iter().enumerate() {
        w.deliver(
            user,
            "",
            &format!("20{i}.M1.host"),
            &root,
            false,
            T0 + i as i64,
        );
    }
    let out = w.ingest_lines(&[log_line(
        ROOT,
        "hr@bad.example",
        &["alice@corp.test", "bob@corp.test"],
        "Quarterly payroll document",
        None,
    )]);
    assert!(out.status.success(), "ingest: {}", stderr(&out));
    run_ok(
        &w,
        &[
            "retract",
            ROOT,
            "--action",
            "quarantine",
            "--yes",
            "--wait",
            "--reason",
            "INC-9",
        ],
    );
    run_ok(
        &w,
        &["report", ROOT, "--false-negative", "--reason", "INC-9"],
    );
    run_ok(&w, &["ioc", "add", "sender-domain", "bad.example"]);
    let store = w.path().join("retractor.db");
    let before = sqlite_counts(&store);

    let db = postgres::fresh_database();
    let copy = ["store", "copy", "--to", &db.url, "--sslmode", "disable"];
    let copied = run_ok(&w, &copy);
    let tables = copied["copied"]["tables"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mut copied_counts: Vec<(String, u64)> = tables
        .iter()
        .map(|t| {
            (
                t["table"].as_str().unwrap_or_default().to_string(),
                t["rows"].as_u64().unwrap_or(u64::MAX),
            )
        })
        .collect();
    copied_counts.sort();
    assert_eq!(copied_counts, before, "every table, every row: {copied}");
    for (table, rows) in &before {
        let on_target =
            postgres::server().psql(&db.name, &format!("SELECT count(*) FROM \"{table}\""));
        assert_eq!(on_target.trim(), rows.to_string(), "{table} on the target");
    }
    let audit_rows = before.iter().find(|(t, _)| t == "audit").map(|(_, n)| *n);
    assert!(audit_rows.is_some_and(|n| n >= 4), "{before:?}");
    assert_eq!(copied["copied"]["audit"]["ok"], true, "{copied}");

    // A second copy into the same database is refused, and changes nothing there.
    let (code, err) = w.json_err(&copy);
    assert_eq!(code, 2, "{err}");
    assert!(
        err["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("not empty")),
        "{err}"
    );

    // The team now runs on the copy: its audit verifies, the log is searchable, and new
    // rows take ids after the copied ones.
    let config = std::fs::read_to_string(w.config()).expect("config");
    let team = format!("url = \"{}\"\nsslmode = \"disable\"", db.url);
    std::fs::write(
        w.config(),
        config.replacen("path = \"retractor.db\"", &team, 1),
    )
    .expect("config");
    let verdict = run_ok(&w, &["audit", "verify"]);
    assert_eq!(verdict["ok"], true, "{verdict}");
    assert_eq!(verdict["records"].as_u64(), audit_rows, "{verdict}");
    let found = run_ok(&w, &["search", "payroll"]);
    assert_eq!(
        found["messages"].as_array().map(Vec::len),
        Some(1),
        "{found}"
    );
    let jobs = run_ok(&w, &["jobs"]);
    assert_eq!(jobs["jobs"].as_array().map(Vec::len), Some(1), "{jobs}");
    run_ok(&w, &["ioc", "add", "sender-domain", "worse.example"]);
    let restored = run_ok(&w, &["restore", ROOT, "--yes", "--wait"]);
    assert_eq!(restored["job"]["remediated"], 2, "{restored}");
    let verdict = run_ok(&w, &["audit", "verify"]);
    assert_eq!(verdict["ok"], true, "{verdict}");
}
