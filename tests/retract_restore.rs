//! Retract and restore on Maildir as the log, the audit and the engine see them: dry-run
//! counts, log status, audit verification, evidence, renamed copies, claimed items, holds in
//! the quarantine mailbox. The files per action, depth, crash and hold are checked for every
//! backend by the contract suite (`backend_contract.rs`).

mod common;

use std::fs;

use common::*;
use serde_json::Value;

const ROOT: &str = "<phish-1@bad.example>";
/// The root's own header line (replies mention ROOT in References too).
const ROOT_HEADER: &str = "Message-ID: <phish-1@bad.example>";
const FWD: &str = "<fwd-1@corp.test>";
const REPLY: &str = "<re-2@corp.test>";
const T0: i64 = 1_795_000_000;

/// alice (read) and bob (unread) and carol got the phish; bob forwarded it to dave (never
/// logged: internal mail); dave replied to bob (logged). Depth 0, 1, 2.
fn world(extra: &str) -> World {
    let w = World::new(extra);
    w.make_mailboxes(&["alice", "bob", "carol", "dave", "quarantine"]);
    let root = message(
        ROOT,
        "Payroll <hr@bad.example>",
        &["alice@corp.test", "bob@corp.test", "carol@corp.test"],
        "Payroll update",
        None,
    );
    w.deliver("alice", "", "100.M1.host", &root, true, T0);
    w.deliver("bob", "", "101.M1.host", &root, false, T0 + 1);
    w.deliver("carol", "", "102.M1.host", &root, true, T0 + 2);
    let fwd = message(
        FWD,
        "bob@corp.test",
        &["dave@corp.test"],
        "Fwd: Payroll update",
        Some(ROOT),
    );
    w.deliver("dave", "", "200.M1.host", &fwd, false, T0 + 10);
    w.deliver("bob", "Sent", "201.M1.host", &fwd, true, T0 + 10);
    let reply = message(
        REPLY,
        "dave@corp.test",
        &["bob@corp.test"],
        "Re: Fwd: Payroll update",
        Some(FWD),
    );
    w.deliver("bob", "", "300.M1.host", &reply, false, T0 + 20);
    let out = w.ingest_lines(&[
        log_line(
            ROOT,
            "hr@bad.example",
            &[
                "alice@corp.test",
                "bob@corp.test",
                "carol@corp.test",
                "ext@partner.example",
            ],
            "Payroll update",
            None,
        ),
        log_line(
            REPLY,
            "dave@corp.test",
            &["bob@corp.test"],
            "Re: Fwd: Payroll update",
            Some(FWD),
        ),
    ]);
    assert!(
        out.status.success(),
        "ingest: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    w
}

fn items(job: &Value) -> Vec<Value> {
    job["job"]["items"].as_array().cloned().unwrap_or_default()
}

#[test]
fn dry_run_counts_each_depth_and_changes_nothing() {
    let w = world("");
    let before = files_under(w.path().join("mail").as_path());
    let (code, plan) = w.json(&[
        "retract",
        ROOT,
        "--action",
        "trash",
        "--depth",
        "2",
        "--dry-run",
    ]);
    assert_eq!(code, 0, "{plan}");
    let by_depth = plan["plan"]["by_depth"].as_array().expect("by_depth");
    let counts: Vec<(u64, u64, u64)> = by_depth
        .iter()
        .map(|d| {
            (
                d["depth"].as_u64().unwrap_or(99),
                d["messages"].as_u64().unwrap_or(0),
                d["mailboxes"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    // depth 0: the phish in 3 internal mailboxes (the external one is not actionable);
    // depth 1: the forward, found by header search in dave's inbox and bob's Sent;
    // depth 2: dave's reply in bob's inbox.
    assert_eq!(counts, vec![(0, 1, 3), (1, 1, 2), (2, 1, 1)]);
    assert_eq!(files_under(w.path().join("mail").as_path()), before);
}

/// A retraction and its restore as the log, the search and the audit show them; a second
/// run acts on nothing twice, a second restore finds nothing. (What the files do, per
/// action and at depth, is the backend contract suite's, `backend_contract.rs`.)
#[test]
fn a_retraction_and_its_restore_show_in_the_log_and_the_audit() {
    let w = world("");
    let (code, job) = w.json(&[
        "retract",
        ROOT,
        "--action",
        "move-to-junk",
        "--yes",
        "--wait",
        "--reason",
        "INC-1",
    ]);
    assert_eq!(code, 0, "{job}");
    assert_eq!(job["job"]["status"], "done");
    assert_eq!(job["job"]["remediated"], 3);
    assert_eq!(job["job"]["skipped"], 1, "the external recipient");

    let (_, shown) = w.json(&["show", ROOT]);
    assert_eq!(shown["status"], "retracted");
    let bob = shown["deliveries"]
        .as_array()
        .and_then(|d| {
            d.iter()
                .find(|x| x["recipient"] == "bob@corp.test")
                .cloned()
        })
        .expect("bob");
    assert_eq!(bob["status"], "retracted");
    assert_eq!(bob["folder"], "Junk");
    let (_, found) = w.json(&["search", "status:retracted"]);
    assert_eq!(found["messages"].as_array().map(Vec::len), Some(1));

    // Running it again acts on nothing twice.
    let (code, again) = w.json(&[
        "retract",
        ROOT,
        "--action",
        "move-to-junk",
        "--yes",
        "--wait",
    ]);
    assert_eq!(code, 0);
    assert!(
        items(&again)
            .iter()
            .filter(|i| i["mailbox"] != "ext@partner.example")
            .all(|i| i["result"] == "already-in-destination"),
        "{again}"
    );

    let (code, restored) = w.json(&["restore", ROOT, "--yes", "--wait"]);
    assert_eq!(code, 0, "{restored}");
    assert_eq!(restored["job"]["kind"], "restore");
    assert_eq!(restored["job"]["remediated"], 3, "{restored}");
    let (_, shown) = w.json(&["show", ROOT]);
    assert_eq!(shown["status"], "restored");

    // Nothing left to restore.
    let out = w.run(&["restore", ROOT, "--yes", "--wait"]);
    assert_eq!(out.status.code(), Some(2));

    let (code, v) = w.json(&["audit", "verify"]);
    assert_eq!(code, 0);
    assert_eq!(v["ok"], true);
    // The ingest, three requests, plus one result each: 3 items retracted, 3 retracted
    // again, 3 restored. Settled items (the external recipient) have no result record.
    assert_eq!(v["records"].as_u64(), Some(1 + 3 + 3 + 3 + 3), "{v}");
}

/// Pulled from some of its recipients, a message shows as partly retracted.
#[test]
fn retracting_some_recipients_shows_the_message_partial() {
    let w = world("");
    let (code, job) = w.json(&[
        "retract",
        ROOT,
        "--action",
        "quarantine",
        "--recipient",
        "alice@corp.test",
        "--yes",
        "--wait",
    ]);
    assert_eq!(code, 0, "{job}");
    let (_, shown) = w.json(&["show", ROOT]);
    assert_eq!(shown["status"], "partial");
}

#[test]
fn hard_delete_takes_evidence_then_deletes() {
    let w = world("");
    let (code, job) = w.json(&[
        "retract",
        ROOT,
        "--action",
        "hard-delete",
        "--recipient",
        "bob@corp.test",
        "--yes",
        "--wait",
    ]);
    assert_eq!(code, 0, "{job}");
    assert!(copies_of(&w.mailbox("bob"), ROOT_HEADER).is_empty());
    let conn = rusqlite::Connection::open(w.path().join("retractor.db")).expect("db");
    let (sha, raw): (String, Vec<u8>) = conn
        .query_row("SELECT sha256, raw FROM evidence", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .expect("evidence row");
    assert!(String::from_utf8_lossy(&raw).contains(ROOT));
    use sha2::Digest;
    assert_eq!(sha, hex::encode(sha2::Sha256::digest(&raw)));
}

#[test]
fn a_tampered_audit_record_is_detected() {
    let w = world("");
    let (code, _) = w.json(&["retract", ROOT, "--action", "trash", "--yes", "--wait"]);
    assert_eq!(code, 0);
    let (_, v) = w.json(&["audit", "verify"]);
    assert_eq!(v["ok"], true);
    let conn = rusqlite::Connection::open(w.path().join("retractor.db")).expect("db");
    conn.execute_batch(
        "DROP TRIGGER audit_no_update; UPDATE audit SET actor = 'someone-else' WHERE seq = 2;",
    )
    .expect("tamper");
    drop(conn);
    let (code, v) = w.json(&["audit", "verify"]);
    assert_eq!(code, 1);
    assert_eq!(v["ok"], false);
    assert_eq!(v["first_bad"], 2);
}

/// The user reads the pulled copy in Junk (Dovecot renames the file): restore finds it again
/// and still puts it back as it was, unread, in the inbox.
#[test]
fn restore_finds_a_pulled_copy_renamed_since() {
    let w = world("");
    let (code, _) = w.json(&[
        "retract",
        ROOT,
        "--action",
        "move-to-junk",
        "--recipient",
        "bob@corp.test",
        "--yes",
        "--wait",
    ]);
    assert_eq!(code, 0);
    let junk = w.mailbox("bob").join(".Junk");
    fs::rename(
        junk.join("new/101.M1.host"),
        junk.join("cur/101.M1.host:2,S"),
    )
    .expect("read it");
    let (code, restored) = w.json(&["restore", ROOT, "--yes", "--wait"]);
    assert_eq!(code, 0, "{restored}");
    assert_eq!(items(&restored)[0]["result"], "restored", "{restored}");
    assert!(w.mailbox("bob").join("new/101.M1.host").exists());
    assert!(copies_of(&junk, ROOT_HEADER).is_empty());
}

/// A restore of a job whose items are still claimed (an act in flight) is refused with the
/// reason (exit 4), even once the job is cancelled; when the act is recorded, it runs.
#[test]
fn a_restore_waits_for_items_still_claimed() {
    let w = world("");
    let (code, queued) = w.json(&["retract", ROOT, "--action", "trash", "--yes"]);
    assert_eq!(code, 0, "{queued}");
    // A worker that stops itself right after its first act, before recording it.
    let mut worker = std::process::Command::new(env!("CARGO_BIN_EXE_retractor"))
        .arg("--config")
        .arg(w.config())
        .arg("worker")
        .env("XDG_STATE_HOME", w.path().join("state"))
        .env("RETRACTOR_TEST_STOP_AT", "after-act")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn worker");
    let stat = format!("/proc/{}/stat", worker.id());
    let started = std::time::Instant::now();
    while !std::fs::read_to_string(&stat).is_ok_and(|s| {
        s.rsplit(')')
            .next()
            .is_some_and(|r| r.trim().starts_with('T'))
    }) {
        assert!(started.elapsed().as_secs() < 60, "the worker never paused");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let before = w.state();
    for args in [
        vec!["restore", ROOT, "--yes"],
        vec!["restore", "--job", "1", "--yes"],
    ] {
        let (code, v) = w.json_err(&args);
        assert_eq!(code, 4, "{args:?}: {v}");
        let message = v["error"]["message"].as_str().unwrap_or_default();
        assert!(
            message.contains("job 1 still has") && message.contains("items being acted on"),
            "{message}"
        );
    }
    assert_eq!(w.state().jobs, before.jobs, "no restore job written");
    // Cancelled: the queued items end, the one in flight still holds the restore back.
    let (code, _) = w.json(&["cancel", "1"]);
    assert_eq!(code, 0);
    let (code, _) = w.json_err(&["restore", "--job", "1", "--yes"]);
    assert_eq!(code, 4);
    let (_, audit) = w.json(&["audit"]);
    let refused = audit["audit"]
        .as_array()
        .expect("audit")
        .iter()
        .filter(|a| a["action"] == "restore" && a["outcome"] == "refused")
        .count();
    assert_eq!(refused, 3, "each refusal is audited");

    let status = std::process::Command::new("kill")
        .args(["-CONT", &worker.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    assert!(worker.wait().expect("worker").success());
    // The claimed items finished and were recorded; the restore now puts back all they moved.
    let (_, job) = w.json(&["jobs", "1"]);
    assert_eq!(job["job"]["status"], "cancelled", "{job}");
    let pulled = job["job"]["remediated"].as_u64().expect("remediated");
    assert!(pulled >= 1, "{job}");
    let (code, restored) = w.json(&["restore", "--job", "1", "--yes", "--wait"]);
    assert_eq!(code, 0, "{restored}");
    assert_eq!(
        restored["job"]["remediated"].as_u64(),
        Some(pulled),
        "{restored}"
    );
}

/// A phish addressed to the quarantine mailbox as well as to carol, who is on hold, and erin,
/// who is not. After both copies are quarantined, a hard-delete never acts in the quarantine
/// mailbox as a target (it holds other people's copies as evidence); it follows each
/// recipient's own quarantined copy under that recipient's hold: carol's is retained, erin's
/// destroyed (its evidence kept).
#[test]
fn a_held_custodians_quarantined_copy_is_retained_by_a_hard_delete() {
    const ID: &str = "<to-quarantine@bad.example>";
    let w = World::new("holds = [\"carol@corp.test\"]\n");
    w.make_mailboxes(&["carol", "erin", "quarantine"]);
    let to = ["carol@corp.test", "erin@corp.test", "quarantine@corp.test"];
    let text = message(ID, "x@bad.example", &to, "Invoice", None);
    w.deliver("carol", "", "1.M1.host", &text, false, T0);
    w.deliver("erin", "", "3.M1.host", &text, false, T0);
    w.deliver("quarantine", "", "2.M1.host", &text, false, T0);
    let out = w.ingest_lines(&[log_line(ID, "x@bad.example", &to, "Invoice", None)]);
    assert!(out.status.success(), "{}", stderr(&out));
    let header = format!("Message-ID: {ID}");
    let in_quarantine = |folder: &str| {
        copies_of(&w.mailbox("quarantine"), &header)
            .into_iter()
            .filter(|p| p.to_string_lossy().contains(folder))
            .count()
    };

    // The quarantine mailbox is shown, never planned as a target.
    let (code, plan) = w.json(&["retract", ID, "--action", "quarantine", "--dry-run"]);
    assert_eq!(code, 0, "{plan}");
    let planned = plan["plan"]["items"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let q = planned
        .iter()
        .find(|i| i["mailbox"] == "quarantine@corp.test")
        .unwrap_or_else(|| panic!("the quarantine mailbox is listed: {plan}"));
    assert_eq!(q["result"], "not-actionable", "{q}");
    assert!(
        q["note"]
            .as_str()
            .unwrap_or("")
            .contains("quarantine mailbox"),
        "{q}"
    );

    let (code, job) = w.json(&["retract", ID, "--action", "quarantine", "--yes", "--wait"]);
    assert_eq!(code, 0, "{job}");
    assert_eq!(in_quarantine(".Quarantine.carol"), 1, "{job}");
    assert_eq!(in_quarantine(".Quarantine.erin"), 1, "{job}");

    let (code, job) = w.json(&["retract", ID, "--action", "hard-delete", "--yes", "--wait"]);
    assert_eq!(code, 0, "{job}");
    let item = |mailbox: &str| {
        items(&job)
            .into_iter()
            .find(|i| i["mailbox"] == mailbox)
            .unwrap_or_else(|| panic!("{mailbox}: {job}"))
    };
    assert_eq!(item("quarantine@corp.test")["result"], "not-actionable");
    let carol = item("carol@corp.test");
    assert_eq!(carol["result"], "remediated", "{carol}");
    assert!(
        carol["error"]
            .as_str()
            .unwrap_or("")
            .contains("retained by hold"),
        "{carol}"
    );
    assert_eq!(item("erin@corp.test")["result"], "remediated");
    // carol's copy out of view and kept; erin's gone; the quarantine mailbox's own untouched.
    assert_eq!(in_quarantine(".Quarantine.carol"), 0);
    assert_eq!(in_quarantine("Retractor-Held"), 1, "carol's copy is kept");
    assert_eq!(
        in_quarantine(".Quarantine.erin"),
        0,
        "erin's copy is destroyed"
    );
    assert_eq!(
        copies_of(&w.mailbox("quarantine").join("new"), &header).len(),
        1,
        "the quarantine mailbox's own copy is never a target"
    );
    let (_, shown) = w.json(&["show", ID]);
    let carol = shown["deliveries"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|d| d["recipient"] == "carol@corp.test")
        .cloned()
        .unwrap_or_default();
    assert_eq!(carol["status"], "retracted", "{shown}");
}

#[test]
fn an_exclude_may_name_a_mailbox_reached_only_at_depth() {
    let w = world("");
    // dave only got the forward (depth 1): excluding him is meaningful at --depth 1 ...
    let (code, plan) = w.json(&[
        "retract",
        ROOT,
        "--action",
        "trash",
        "--depth",
        "1",
        "--exclude",
        "dave@corp.test",
        "--dry-run",
    ]);
    assert_eq!(code, 0, "{plan}");
    let planned = plan["plan"]["items"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        planned.iter().all(|i| i["mailbox"] != "dave@corp.test"),
        "{plan}"
    );
    // ... and names no one the retraction reaches at depth 0.
    let (code, v) = w.json_err(&[
        "retract",
        ROOT,
        "--action",
        "trash",
        "--exclude",
        "dave@corp.test",
        "--dry-run",
    ]);
    assert_eq!(code, 2, "{v}");
}

/// Per depth, what the depth adds and what the plan reaches with it add up: the `adds` sum to
/// the distinct mailboxes acted on, and the last `reaches` is that total (bob, at depth 0 and
/// again at 1 and 2, is counted once).
#[test]
fn per_depth_counts_add_up_to_the_mailboxes_reached() {
    let w = world("");
    let args = [
        "retract",
        ROOT,
        "--action",
        "trash",
        "--depth",
        "2",
        "--dry-run",
    ];
    let (code, plan) = w.json(&args);
    assert_eq!(code, 0, "{plan}");
    let by_depth = plan["plan"]["by_depth"].as_array().expect("by_depth");
    let n = |d: &Value, k: &str| d[k].as_u64().unwrap_or(99);
    let counts: Vec<(u64, u64, u64)> = by_depth
        .iter()
        .map(|d| (n(d, "depth"), n(d, "adds"), n(d, "reaches")))
        .collect();
    // depth 0: alice, bob, carol; depth 1 adds dave (bob's Sent copy is bob again);
    // depth 2: dave's reply in bob's inbox reaches no one new.
    assert_eq!(counts, vec![(0, 3, 3), (1, 1, 4), (2, 0, 4)]);
    let acted: std::collections::BTreeSet<&str> = plan["plan"]["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|i| i["result"].is_null())
        .filter_map(|i| i["mailbox"].as_str())
        .collect();
    let adds: u64 = by_depth.iter().map(|d| n(d, "adds")).sum();
    assert_eq!(adds, acted.len() as u64, "{plan}");
    // The existing fields stay.
    assert_eq!(n(&by_depth[1], "mailboxes"), 2, "{plan}");

    let out = w.run(&args);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("depth 1: +1 → 4 mailboxes (1 messages)"),
        "{text}"
    );
}

/// After a quarantine, a new plan names the copies already there, settles them (they left
/// the recipients' mailboxes: an item could only end not-found) and counts none as to do; a
/// second run ends them already-in-destination.
#[test]
fn after_a_quarantine_the_plan_says_which_copies_are_already_there() {
    let w = world("");
    let quarantine = ["retract", ROOT, "--action", "quarantine"];
    let (code, job) = w.json(&[&quarantine[..], &["--yes", "--wait"]].concat());
    assert_eq!(code, 0, "{job}");
    assert_eq!(job["job"]["remediated"], 3, "{job}");

    let (code, plan) = w.json(&[&quarantine[..], &["--dry-run"]].concat());
    assert_eq!(code, 0, "{plan}");
    let notes = plan["plan"]["notes"].to_string();
    assert!(notes.contains("already in quarantine: 3"), "{plan}");
    assert_eq!(plan["plan"]["already_there"], 3, "{plan}");
    assert_eq!(plan["plan"]["by_depth"][0]["reaches"], 0, "{plan}");
    let internal: Vec<&Value> = plan["plan"]["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|i| i["mailbox"] != "ext@partner.example")
        .collect();
    assert_eq!(internal.len(), 3, "{plan}");
    assert!(
        internal
            .iter()
            .all(|i| i["result"] == "already-in-destination" && i["already_there"] == true),
        "{plan}"
    );

    let (code, again) = w.json(&[&quarantine[..], &["--yes", "--wait"]].concat());
    assert_eq!(code, 0, "{again}");
    assert!(
        items(&again)
            .iter()
            .filter(|i| i["mailbox"] != "ext@partner.example")
            .all(|i| i["result"] == "already-in-destination"),
        "{again}"
    );
}

/// A copy moved within its own mailbox may have been moved back by its user: the plan says
/// it is already there and does not count it, but keeps its item so the worker looks again.
#[test]
fn after_a_move_to_junk_the_plan_counts_the_copies_apart_and_still_looks() {
    let w = world("");
    let junk = ["retract", ROOT, "--action", "move-to-junk"];
    let (code, job) = w.json(&[&junk[..], &["--yes", "--wait"]].concat());
    assert_eq!(code, 0, "{job}");
    let (code, plan) = w.json(&[&junk[..], &["--dry-run"]].concat());
    assert_eq!(code, 0, "{plan}");
    assert!(
        plan["plan"]["notes"]
            .to_string()
            .contains("already in Junk: 3"),
        "{plan}"
    );
    assert_eq!(plan["plan"]["already_there"], 3, "{plan}");
    assert_eq!(plan["plan"]["by_depth"][0]["reaches"], 0, "{plan}");
    let looked_again = plan["plan"]["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|i| i["already_there"] == true && i["result"].is_null())
        .count();
    assert_eq!(looked_again, 3, "{plan}");
}
