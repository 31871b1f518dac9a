//! Four-eyes for jobs by hand (`[approvals]`), through `retractor serve` with real accounts:
//! the role of each caller comes from its uid on the socket, so "another person" is another
//! uid, not another flag. Needs root (useradd, runuser); skipped otherwise.

mod common;

use std::io::Write;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use serde_json::Value;

#[path = "service/site.rs"]
mod site;

use common::copies_of;
use site::*;

/// The CLI as `user` through the service's socket.
fn as_user(site: &Site, user: &str, args: &[&str]) -> Output {
    run(Command::new("runuser")
        .args(["-u", user, "--", BIN, "--connect"])
        .arg(site.socket())
        .args(args))
}

fn json_of(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "json ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn retract(site: &Site, action: &str, mailboxes: &[usize]) -> Output {
    let mut args = vec!["--json", "retract", ID, "--action", action, "--yes"];
    let recipients: Vec<String> = mailboxes
        .iter()
        .map(|n| format!("{}@corp.test", site.mailboxes[*n]))
        .collect();
    for r in &recipients {
        args.extend(["--recipient", r.as_str()]);
    }
    site.through_service(&args)
}

fn wait_done(site: &Site, job: i64) -> Value {
    let started = Instant::now();
    loop {
        let j = site.job(job);
        if j["status"] == "done" {
            return j;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "job {job} did not finish: {j}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn in_junk(site: &Site, n: usize) -> bool {
    let copies = copies_of(
        &site.state().join("mail/corp.test").join(&site.mailboxes[n]),
        ID,
    );
    copies.len() == 1 && copies[0].to_string_lossy().contains("/.Junk/")
}

#[test]
fn manual_jobs_above_the_threshold_and_hard_deletes_wait_for_a_second_person() {
    if !is_root() {
        eprintln!("skipped: needs root (useradd, runuser)");
        return;
    }
    let site = Site::new(5, &format!(", {RESPONDER} = \"responder\""));
    // Root owns the config; [approvals] goes at its end (a table of its own).
    std::fs::OpenOptions::new()
        .append(true)
        .open(site.config())
        .and_then(|mut f| f.write_all(b"\n[approvals]\nrequired_above = 2\nhard_delete = true\n"))
        .expect("approvals config");
    let _service = site.start();

    // A hard-delete waits whatever its size: one mailbox here.
    let out = retract(&site, "hard-delete", &[0]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let held = json_of(&out);
    assert_eq!(held["awaiting_approval"], true, "{held}");
    assert!(held["job"].is_null(), "no job yet: {held}");
    assert!(
        held["held_because"]
            .as_str()
            .is_some_and(|w| w.contains("hard_delete")),
        "{held}"
    );
    let hard = held["approval"]["id"].as_i64().expect("request number");
    assert_eq!(held["approval"]["status"], "pending");

    // At the threshold (2 mailboxes): a job at once.
    let out = retract(&site, "move-to-junk", &[0, 1]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let queued = json_of(&out);
    let first = queued["job"]["id"]
        .as_i64()
        .expect("a job at the threshold");
    assert!(queued.get("awaiting_approval").is_none(), "{queued}");

    // Above it (3 mailboxes): held, nothing moves.
    let out = retract(&site, "move-to-junk", &[2, 3, 4]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let held = json_of(&out);
    assert_eq!(held["awaiting_approval"], true, "{held}");
    assert!(
        held["held_because"]
            .as_str()
            .is_some_and(|w| w.contains("3 mailboxes") && w.contains("required_above = 2")),
        "{held}"
    );
    let request = held["approval"]["id"].as_i64().expect("request number");
    assert_eq!(held["approval"]["requested_by"], SVC);
    wait_done(&site, first);
    assert!(in_junk(&site, 0) && in_junk(&site, 1));
    for n in 2..5 {
        assert!(!in_junk(&site, n), "mailbox {n} moved before approval");
    }
    let pending = json_of(&as_user(&site, VIEWER, &["--json", "pending"]));
    let waiting: Vec<i64> = pending["pending"]
        .as_array()
        .expect("pending")
        .iter()
        .filter_map(|p| p["id"].as_i64())
        .collect();
    assert_eq!(waiting, vec![hard, request]);

    // The requester may not approve their own; a viewer may not approve at all.
    let own = site.through_service(&["approve", &request.to_string()]);
    assert_eq!(own.status.code(), Some(4), "{own:?}");
    assert!(
        String::from_utf8_lossy(&own.stderr).contains("may not decide their own"),
        "{own:?}"
    );
    let viewer = as_user(&site, VIEWER, &["approve", &request.to_string()]);
    assert_eq!(viewer.status.code(), Some(4), "{viewer:?}");

    // Another person of the approver role: the job is written and the service runs it.
    let out = as_user(
        &site,
        RESPONDER,
        &[
            "--json",
            "approve",
            &request.to_string(),
            "--reason",
            "seen",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let approved = json_of(&out);
    assert_eq!(approved["approval"]["status"], "approved");
    assert_eq!(approved["approval"]["decided_by"], RESPONDER);
    let job = approved["approval"]["job"].as_i64().expect("job");
    let j = wait_done(&site, job);
    assert_eq!(j["initiated_by"], SVC, "the requester's job: {j}");
    for n in 2..5 {
        assert!(in_junk(&site, n), "mailbox {n}");
    }

    // The hard-delete is still waiting; rejected, it never runs.
    let out = as_user(
        &site,
        RESPONDER,
        &["reject", &hard.to_string(), "--reason", "junk is enough"],
    );
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(in_junk(&site, 0), "the hard-delete did not run");
}
