//! A worker killed with SIGKILL in the middle of a large job: the next `retractor worker`
//! takes over its claimed items and finishes the job with every item done exactly once.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

const ID: &str = "<mass-phish@bad.example>";
const MAILBOXES: usize = 3000;

#[test]
fn kill_dash_nine_then_worker_finishes_every_item_exactly_once() {
    let w = World::new("");
    let users: Vec<String> = (0..MAILBOXES).map(|n| format!("user{n:05}")).collect();
    let text = message(ID, "x@bad.example", &["all@corp.test"], "Mass phish", None);
    for (n, u) in users.iter().enumerate() {
        make_maildir(&w.mailbox(u));
        w.deliver(
            u,
            "",
            &format!("{n}.M1.host"),
            &text,
            n % 2 == 0,
            1_795_000_000,
        );
    }
    let recipients: Vec<String> = users.iter().map(|u| format!("{u}@corp.test")).collect();
    let refs: Vec<&str> = recipients.iter().map(String::as_str).collect();
    let out = w.ingest_lines(&[log_line(ID, "x@bad.example", &refs, "Mass phish", None)]);
    assert!(out.status.success());

    // Start the job in a process of its own and kill it once part of the work is done.
    let mut child = Command::new(env!("CARGO_BIN_EXE_retractor"))
        .arg("--config")
        .arg(w.config())
        .args(["retract", ID, "--action", "move-to-junk", "--yes", "--wait"])
        .env("XDG_STATE_HOME", w.path().join("state"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let db = w.path().join("retractor.db");
    let started = Instant::now();
    let done_at_kill = loop {
        std::thread::sleep(Duration::from_millis(20));
        let done = rusqlite::Connection::open(&db)
            .and_then(|c| {
                c.query_row("SELECT count(*) FROM items WHERE state = 'done'", [], |r| {
                    r.get::<_, i64>(0)
                })
            })
            .unwrap_or(0);
        if done >= 200 {
            break done;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the job never got going"
        );
    };
    child.kill().expect("SIGKILL");
    child.wait().expect("reap");

    let conn = rusqlite::Connection::open(&db).expect("db");
    let (done, claimed): (i64, i64) = conn
        .query_row(
            "SELECT count(*) FILTER (WHERE state = 'done'), count(*) FILTER (WHERE state = 'claimed') FROM items",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("counts");
    assert!(
        done >= done_at_kill && done < MAILBOXES as i64,
        "killed mid-job: {done} done"
    );
    drop(conn);

    let out = w.run(&["--json", "worker"]);
    assert!(
        out.status.success(),
        "worker: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(
        summary["worker"]["reclaimed"].as_i64(),
        Some(claimed),
        "{summary}"
    );

    let (_, job) = w.json(&["jobs", "1"]);
    assert_eq!(job["job"]["status"], "done", "{}", job["job"]);
    let items = job["job"]["items"].as_array().expect("items");
    assert_eq!(items.len(), MAILBOXES);
    let remediated = items.iter().filter(|i| i["result"] == "remediated").count();
    let already = items
        .iter()
        .filter(|i| i["result"] == "already-in-destination")
        .count();
    assert_eq!(remediated + already, MAILBOXES, "every item done");
    // Only items caught between act and record can end already-in-destination.
    assert!(
        already <= claimed as usize,
        "{already} already vs {claimed} in flight"
    );

    // Every mailbox holds exactly one copy, in Junk, with its original name.
    for (n, u) in users.iter().enumerate() {
        let copies = copies_of(&w.mailbox(u), ID);
        assert_eq!(copies.len(), 1, "{u}: {copies:?}");
        let expected = if n % 2 == 0 {
            format!(".Junk/cur/{n}.M1.host:2,S")
        } else {
            format!(".Junk/new/{n}.M1.host")
        };
        assert!(copies[0].ends_with(&expected), "{u}: {copies:?}");
    }

    // Exactly one result record per item in the audit trail, and the chain is intact.
    let conn = rusqlite::Connection::open(&db).expect("db");
    let records: i64 = conn
        .query_row(
            "SELECT count(*) FROM audit WHERE job = 1 AND role = 'engine'",
            [],
            |r| r.get(0),
        )
        .expect("audit count");
    assert_eq!(records, MAILBOXES as i64);
    let (code, v) = w.json(&["audit", "verify"]);
    assert_eq!((code, v["ok"].as_bool()), (0, Some(true)), "{v}");
}

/// Two workers on one store at once share a queued job without doing any item twice.
#[test]
fn two_workers_share_one_job() {
    const N: usize = 600;
    let w = World::new("");
    let users: Vec<String> = (0..N).map(|n| format!("user{n:04}")).collect();
    let text = message(ID, "x@bad.example", &["all@corp.test"], "Mass phish", None);
    for (n, u) in users.iter().enumerate() {
        w.deliver(u, "", &format!("{n}.M1.host"), &text, false, 1_795_000_000);
    }
    let recipients: Vec<String> = users.iter().map(|u| format!("{u}@corp.test")).collect();
    let refs: Vec<&str> = recipients.iter().map(String::as_str).collect();
    assert!(
        w.ingest_lines(&[log_line(ID, "x@bad.example", &refs, "Mass phish", None)])
            .status
            .success()
    );
    let (code, queued) = w.json(&["retract", ID, "--action", "trash", "--yes"]);
    assert_eq!(
        (code, &queued["job"]["status"]),
        (0, &serde_json::json!("queued"))
    );

    let spawn = || {
        Command::new(env!("CARGO_BIN_EXE_retractor"))
            .arg("--config")
            .arg(w.config())
            .args(["--json", "worker"])
            .env("XDG_STATE_HOME", w.path().join("state"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn worker")
    };
    let (a, b) = (spawn(), spawn());
    let finished: Vec<u64> = [a, b]
        .into_iter()
        .map(|c| {
            let out = c.wait_with_output().expect("worker");
            assert!(out.status.success());
            let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
            v["worker"]["finished"].as_u64().expect("finished")
        })
        .collect();
    assert_eq!(
        finished.iter().sum::<u64>(),
        N as u64,
        "each item finished by exactly one worker: {finished:?}"
    );

    let (_, job) = w.json(&["jobs", "1"]);
    assert_eq!(job["job"]["status"], "done");
    assert_eq!(job["job"]["remediated"], N);
    for u in &users {
        assert_eq!(copies_of(&w.mailbox(u).join(".Trash"), ID).len(), 1, "{u}");
    }
}
