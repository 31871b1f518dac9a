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

const PAUSED: &str = "<paused-worker@bad.example>";
const PAUSED_USERS: [&str; 3] = ["alice", "bob", "carol"];

/// alice, bob and carol got PAUSED in their INBOX (unread); the engine works one item at a
/// time with a 10 s lease (the least the config allows), so a paused worker's lease runs out
/// within the test.
fn short_lease_world() -> World {
    let w = World::new("");
    let config = std::fs::read_to_string(w.config()).expect("config");
    let config = config.replacen(
        "backoff_ms = 20",
        "backoff_ms = 20\nlease_secs = 10\nconcurrency = 1",
        1,
    );
    std::fs::write(w.config(), config).expect("config");
    let rcpt: Vec<String> = PAUSED_USERS
        .iter()
        .map(|u| format!("{u}@corp.test"))
        .collect();
    let refs: Vec<&str> = rcpt.iter().map(String::as_str).collect();
    let text = message(PAUSED, "x@bad.example", &refs, "Paused", None);
    for (n, u) in PAUSED_USERS.iter().enumerate() {
        w.deliver(u, "", &format!("{n}.M1.host"), &text, false, 1_795_000_000);
    }
    let out = w.ingest_lines(&[log_line(PAUSED, "x@bad.example", &refs, "Paused", None)]);
    assert!(out.status.success(), "{}", stderr(&out));
    w
}

/// Start the binary so that it stops itself (SIGSTOP) at `point` of its first act
/// (`RETRACTOR_TEST_STOP_AT`, debug builds), and wait until it has. The caller waits for it.
#[allow(clippy::zombie_processes)]
fn spawn_paused(w: &World, args: &[&str], point: &str) -> std::process::Child {
    let child = Command::new(env!("CARGO_BIN_EXE_retractor"))
        .arg("--config")
        .arg(w.config())
        .args(args)
        .env("XDG_STATE_HOME", w.path().join("state"))
        .env("RETRACTOR_TEST_STOP_AT", point)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    wait_until_stopped(child, point)
}

fn signal(child: &std::process::Child, sig: &str) {
    let status = Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
}

/// Past the 10 s lease of [`short_lease_world`], as the store's clock sees it.
fn outlive_the_lease() {
    std::thread::sleep(Duration::from_millis(11_500));
}

fn engine_records(w: &World, job: i64) -> Vec<serde_json::Value> {
    let (_, audit) = w.json(&["audit", "--job", &job.to_string()]);
    audit["audit"]
        .as_array()
        .expect("audit")
        .iter()
        .filter(|a| a["role"] == "engine")
        .cloned()
        .collect()
}

/// Worker A is paused (SIGSTOP) past its lease right before an act, holding its claim; worker
/// B takes the item over and finishes the job, a restore puts every copy back, then A is
/// resumed. A must not act: the copy it had located is back where it was, and moving it now
/// would undo the restore without any record.
#[test]
fn a_worker_paused_past_its_lease_does_not_act_on_items_taken_over() {
    let w = short_lease_world();
    let (code, queued) = w.json(&["retract", PAUSED, "--action", "move-to-junk", "--yes"]);
    assert_eq!(code, 0, "{queued}");
    let a = spawn_paused(&w, &["--json", "worker"], "before-act");
    outlive_the_lease();

    let (code, b) = w.json(&["worker"]);
    assert_eq!(code, 0, "{b}");
    assert_eq!(b["worker"]["reclaimed"], 1, "B took over A's claim: {b}");
    let (_, job) = w.json(&["jobs", "1"]);
    assert_eq!(job["job"]["status"], "done", "{job}");
    let (code, restored) = w.json(&["restore", "--job", "1", "--yes", "--wait"]);
    assert_eq!(code, 0, "{restored}");
    assert_eq!(restored["job"]["remediated"], 3, "{restored}");

    signal(&a, "-CONT");
    let out = a.wait_with_output().expect("worker A");
    assert!(out.status.success(), "A exits cleanly");

    // Every copy is where the last audited act put it: back in the INBOX, exactly once.
    for (n, u) in PAUSED_USERS.iter().enumerate() {
        let copies = copies_of(&w.mailbox(u), PAUSED);
        assert_eq!(copies.len(), 1, "{u}: {copies:?}");
        assert!(
            copies[0].ends_with(format!("new/{n}.M1.host"))
                && !copies[0].to_string_lossy().contains(".Junk"),
            "{u}: moved again after the restore: {copies:?}"
        );
    }
    // One result per item for each job; nothing from A.
    assert_eq!(engine_records(&w, 1).len(), 3);
    assert_eq!(engine_records(&w, 2).len(), 3);
    let (_, v) = w.json(&["audit", "verify"]);
    assert_eq!(v["ok"], true, "{v}");
}

/// Worker A is paused right after an act, before it could record it; B takes the item over
/// (and finds the copy already moved). When A resumes, its result is not recorded (the claim
/// is B's), but its mailbox change is audited all the same.
#[test]
fn an_act_whose_claim_was_lost_is_still_audited() {
    let w = short_lease_world();
    let (code, queued) = w.json(&["retract", PAUSED, "--action", "move-to-junk", "--yes"]);
    assert_eq!(code, 0, "{queued}");
    let a = spawn_paused(&w, &["--json", "worker"], "after-act");
    outlive_the_lease();

    let (code, b) = w.json(&["worker"]);
    assert_eq!(code, 0, "{b}");
    assert_eq!(b["worker"]["reclaimed"], 1, "{b}");
    signal(&a, "-CONT");
    assert!(a.wait_with_output().expect("worker A").status.success());

    let (_, job) = w.json(&["jobs", "1"]);
    assert_eq!(job["job"]["status"], "done", "{job}");
    let results: Vec<&str> = job["job"]["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|i| i["result"].as_str())
        .collect();
    assert_eq!(
        results
            .iter()
            .filter(|r| **r == "already-in-destination")
            .count(),
        1,
        "the copy A moved is not moved again: {results:?}"
    );
    for u in PAUSED_USERS {
        let copies = copies_of(&w.mailbox(u), PAUSED);
        assert_eq!(copies.len(), 1, "{u}: {copies:?}");
        assert!(
            copies[0].to_string_lossy().contains(".Junk"),
            "{u}: {copies:?}"
        );
    }
    // A's act has its own record, saying its result was not recorded.
    let records = engine_records(&w, 1);
    let lost: Vec<&serde_json::Value> = records
        .iter()
        .filter(|r| {
            r["detail"]
                .as_str()
                .is_some_and(|d| d.contains("claim had been taken over"))
        })
        .collect();
    assert_eq!(lost.len(), 1, "{records:?}");
    assert_eq!(lost[0]["outcome"], "remediated", "{records:?}");
    assert!(
        lost[0]["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("INBOX -> Junk")
    );
    assert_eq!(records.len(), 4, "three results and A's act: {records:?}");
    let (_, v) = w.json(&["audit", "verify"]);
    assert_eq!(v["ok"], true, "{v}");
}

/// `retract --wait` killed mid-job leaves its job running with nobody to finish it; the next
/// engine (here another command run with `--wait`) resumes it.
#[test]
fn a_job_whose_engine_died_is_resumed_by_the_next_wait() {
    let w = short_lease_world();
    let other = "<other@bad.example>";
    w.deliver(
        "dave",
        "",
        "9.M1.host",
        &message(other, "y@bad.example", &["dave@corp.test"], "Other", None),
        false,
        1_795_000_000,
    );
    assert!(
        w.ingest_lines(&[log_line(
            other,
            "y@bad.example",
            &["dave@corp.test"],
            "Other",
            None
        )])
        .status
        .success()
    );
    let mut first = spawn_paused(
        &w,
        &["retract", PAUSED, "--action", "trash", "--yes", "--wait"],
        "before-act",
    );
    first.kill().expect("SIGKILL");
    first.wait().expect("reap");
    let (_, job) = w.json(&["jobs", "1"]);
    assert_eq!(job["job"]["status"], "running", "left behind: {job}");

    let (code, second) = w.json(&["retract", other, "--action", "trash", "--yes", "--wait"]);
    assert_eq!(code, 0, "{second}");
    assert_eq!(second["job"]["id"], 2);
    let (_, job) = w.json(&["jobs", "1"]);
    assert_eq!(job["job"]["status"], "done", "resumed: {job}");
    for u in PAUSED_USERS {
        let copies = copies_of(&w.mailbox(u), PAUSED);
        assert_eq!(copies.len(), 1, "{u}: {copies:?}");
        assert!(
            copies[0].to_string_lossy().contains(".Trash"),
            "{u}: {copies:?}"
        );
    }
}
