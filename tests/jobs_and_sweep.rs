//! Queued jobs, `jobs`, `cancel`, `worker`, `restore --job`, `sweep` beyond the log, and
//! `index` building the log from the mailboxes.

mod common;

use common::*;
use serde_json::Value;

const PHISH: &str = "<jobs-1@bad.example>";
const T0: i64 = 1_795_000_000;

/// alice, bob and carol got the phish (logged); erin got a copy the gateway never logged.
fn world() -> World {
    let w = World::new("");
    w.make_mailboxes(&["alice", "bob", "carol", "erin", "quarantine"]);
    let rcpt = ["alice@corp.test", "bob@corp.test", "carol@corp.test"];
    let text = message(PHISH, "it@bad.example", &rcpt, "Password expiry", None);
    for (n, u) in ["alice", "bob", "carol"].iter().enumerate() {
        w.deliver(u, "", &format!("{n}.M1.host"), &text, n == 1, T0 + n as i64);
    }
    w.deliver("erin", "Archive", "9.M1.host", &text, true, T0 + 9);
    let out = w.ingest_lines(&[log_line(
        PHISH,
        "it@bad.example",
        &rcpt,
        "Password expiry",
        None,
    )]);
    assert_eq!(out.status.code(), Some(0), "ingest: {}", stderr(&out));
    w
}

fn items(job: &Value) -> Vec<Value> {
    job["job"]["items"].as_array().cloned().expect("items")
}

#[test]
fn queued_job_is_listed_cancelled_and_then_left_alone_by_the_worker() {
    let w = world();
    let before = files_under(&w.path().join("mail"));
    let out = w.run(&[
        "--json", "retract", PHISH, "--action", "trash", "--yes", "--reason", "INC-42",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let queued: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(queued["job"]["status"], "queued", "{queued}");
    let id = queued["job"]["id"].as_i64().expect("job id");
    assert!(
        stderr(&out).contains("retractor worker"),
        "hint when no engine runs: {}",
        stderr(&out)
    );
    // Nothing moved yet: no engine ran it.
    assert_eq!(files_under(&w.path().join("mail")), before);

    let (code, list) = w.json(&["jobs"]);
    assert_eq!(code, 0);
    let jobs = list["jobs"].as_array().expect("jobs");
    assert_eq!(jobs.len(), 1, "{list}");
    assert_eq!(jobs[0]["id"].as_i64(), Some(id));
    assert_eq!(jobs[0]["status"], "queued");
    assert_eq!(jobs[0]["reason"], "INC-42");
    assert_eq!(jobs[0]["matched"], 3);
    assert!(
        jobs[0].get("items").is_none(),
        "the list has no items: {list}"
    );

    let (code, cancelled) = w.json(&["cancel", &id.to_string()]);
    assert_eq!(code, 0, "{cancelled}");
    assert_eq!(cancelled["job"]["status"], "cancelled", "{cancelled}");
    assert_eq!(cancelled["cancelled_items"], 3);

    let (code, job) = w.json(&["jobs", &id.to_string()]);
    assert_eq!(code, 0);
    assert_eq!(job["job"]["status"], "cancelled");
    let results: Vec<String> = items(&job)
        .iter()
        .map(|i| i["result"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(results, vec!["cancelled"; 3], "{job}");

    // A worker now finds nothing to do; the files stay put.
    let (code, summary) = w.json(&["worker"]);
    assert_eq!(code, 0, "{summary}");
    assert_eq!(summary["worker"]["finished"], 0, "{summary}");
    assert_eq!(files_under(&w.path().join("mail")), before);
    let (_, job) = w.json(&["jobs", &id.to_string()]);
    assert!(
        items(&job).iter().all(|i| i["result"] == "cancelled"),
        "{job}"
    );

    // Cancelling again: it is finished already (exit 2); an unknown job: exit 2.
    let (code, v) = w.json_err(&["cancel", &id.to_string()]);
    assert_eq!(code, 2, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("cancelled"),
        "{v}"
    );
    let (code, _) = w.json_err(&["cancel", "999"]);
    assert_eq!(code, 2);
    let (code, _) = w.json_err(&["jobs", "999"]);
    assert_eq!(code, 2);

    // The audit has the request and the cancel, and verifies.
    let (_, audit) = w.json(&["audit", "--job", &id.to_string()]);
    let outcomes: Vec<&str> = audit["audit"]
        .as_array()
        .expect("audit")
        .iter()
        .filter_map(|a| a["outcome"].as_str())
        .collect();
    assert_eq!(outcomes, vec!["queued", "cancelled"], "{audit}");
    let (_, v) = w.json(&["audit", "verify"]);
    assert_eq!(v["ok"], true);
}

#[test]
fn queued_job_run_by_the_worker_then_restored_by_job() {
    let w = world();
    let (code, queued) = w.json(&["retract", PHISH, "--action", "quarantine", "--yes"]);
    assert_eq!(code, 0, "{queued}");
    let id = queued["job"]["id"].as_i64().expect("id").to_string();
    let (code, summary) = w.json(&["worker"]);
    assert_eq!(code, 0, "{summary}");
    assert_eq!(summary["worker"]["finished"], 3, "{summary}");
    let (_, job) = w.json(&["jobs", &id]);
    assert_eq!(job["job"]["status"], "done", "{job}");
    assert_eq!(copies_of(&w.mailbox("quarantine"), PHISH).len(), 3);
    for item in items(&job) {
        assert_fields(
            &item,
            &[
                "mailbox",
                "message_id",
                "depth",
                "result",
                "error",
                "from_folder",
                "to_folder",
            ],
        );
        assert_eq!(item["message_id"], PHISH);
        assert_eq!(item["depth"], 0);
        assert_eq!(item["result"], "remediated");
        assert!(item["error"].is_null(), "{item}");
        assert_eq!(item["from_folder"], "INBOX");
        assert!(
            item["to_folder"]
                .as_str()
                .unwrap_or_default()
                .contains("Quarantine"),
            "{item}"
        );
    }
    let mut got: Vec<String> = items(&job)
        .iter()
        .filter_map(|i| i["mailbox"].as_str().map(str::to_string))
        .collect();
    got.sort();
    assert_eq!(
        got,
        vec!["alice@corp.test", "bob@corp.test", "carol@corp.test"]
    );

    let (code, restored) = w.json(&[
        "restore",
        "--job",
        &id,
        "--yes",
        "--wait",
        "--reason",
        "false positive",
    ]);
    assert_eq!(code, 0, "{restored}");
    assert_eq!(restored["job"]["kind"], "restore");
    assert_eq!(restored["job"]["remediated"], 3);
    assert_eq!(restored["job"]["reason"], "false positive");
    assert!(w.mailbox("alice").join("new/0.M1.host").exists());
    assert!(w.mailbox("bob").join("cur/1.M1.host:2,S").exists());
    assert!(w.mailbox("carol").join("new/2.M1.host").exists());
    assert!(copies_of(&w.mailbox("quarantine"), PHISH).is_empty());
    // Restoring the same job again: nothing left (exit 2).
    let (code, _) = w.json_err(&["restore", "--job", &id, "--yes", "--wait"]);
    assert_eq!(code, 2);
    let (_, list) = w.json(&["jobs"]);
    let ids: Vec<i64> = list["jobs"]
        .as_array()
        .expect("jobs")
        .iter()
        .filter_map(|j| j["id"].as_i64())
        .collect();
    assert_eq!(ids.len(), 2);
    assert!(ids[0] > ids[1], "newest first: {ids:?}");
}

#[test]
fn sweep_finds_copies_the_log_never_saw() {
    let w = world();
    // Only the log's recipients are planned by retract ...
    let (_, plan) = w.json(&["retract", PHISH, "--action", "trash", "--dry-run"]);
    assert!(
        !plan["plan"]["items"]
            .as_array()
            .expect("items")
            .iter()
            .any(|i| i["mailbox"] == "erin@corp.test")
    );
    // ... the sweep looks in every mailbox.
    let (code, job) = w.json(&[
        "sweep",
        "--tenant",
        "corp",
        "--message-id",
        PHISH,
        "--action",
        "trash",
        "--yes",
        "--wait",
    ]);
    assert_eq!(code, 0, "{job}");
    assert_eq!(job["job"]["kind"], "sweep");
    assert_eq!(job["job"]["status"], "done");
    assert_eq!(job["job"]["remediated"], 4, "{job}");
    let erin = items(&job)
        .into_iter()
        .find(|i| i["mailbox"] == "erin@corp.test")
        .expect("erin's item");
    assert_eq!(erin["from_folder"], "Archive", "{erin}");
    assert_eq!(erin["to_folder"], "Trash");
    assert!(w.mailbox("erin").join(".Trash/cur/9.M1.host:2,S").exists());
    assert!(copies_of(&w.mailbox("erin").join(".Archive"), PHISH).is_empty());
    // Bare Message-IDs work too; sweeping again acts on nothing twice, and the plan says so.
    let before = files_under(&w.path().join("mail"));
    let (_, plan) = w.json(&[
        "sweep",
        "--tenant",
        "corp",
        "--message-id",
        "jobs-1@bad.example",
        "--action",
        "trash",
        "--dry-run",
    ]);
    assert!(
        plan["plan"]["notes"]
            .as_array()
            .expect("notes")
            .iter()
            .any(|n| n == "4 of these copies are already where trash puts them (recorded, not moved again)"),
        "{plan}"
    );
    let (code, again) = w.json(&[
        "sweep",
        "--tenant",
        "corp",
        "--message-id",
        "jobs-1@bad.example",
        "--action",
        "trash",
        "--yes",
        "--wait",
    ]);
    assert_eq!(code, 0, "{again}");
    assert_eq!(items(&again).len(), 4, "{again}");
    assert!(
        items(&again)
            .iter()
            .all(|i| i["result"] == "already-in-destination"),
        "{again}"
    );
    // Job totals count a copy already where the job wanted it as remediated (model/job.rs).
    assert_eq!(again["job"]["remediated"], 4, "{again}");
    assert!(
        items(&again).iter().all(|i| i["from_folder"].is_null()),
        "nothing was moved: {again}"
    );
    assert_eq!(files_under(&w.path().join("mail")), before);
}

#[test]
fn sweep_dry_run_by_sender_changes_nothing() {
    let w = world();
    // Another sender's message, which must not match.
    let other = message(
        "<fine@partner.example>",
        "x@partner.example",
        &["alice@corp.test"],
        "Lunch",
        None,
    );
    w.deliver("alice", "", "5.M1.host", &other, false, T0);
    let before = files_under(&w.path().join("mail"));
    let (code, plan) = w.json(&[
        "sweep",
        "--tenant",
        "corp",
        "--from",
        "it@bad.example",
        "--action",
        "quarantine",
        "--dry-run",
    ]);
    assert_eq!(code, 0, "{plan}");
    assert_eq!(plan["plan"]["action"], "quarantine");
    let items = plan["plan"]["items"].as_array().expect("items");
    let mut mailboxes: Vec<&str> = items.iter().filter_map(|i| i["mailbox"].as_str()).collect();
    mailboxes.sort();
    assert_eq!(
        mailboxes,
        vec![
            "alice@corp.test",
            "bob@corp.test",
            "carol@corp.test",
            "erin@corp.test"
        ],
        "{plan}"
    );
    assert!(items.iter().all(|i| i["message_id"] == PHISH), "{plan}");
    let by_depth = plan["plan"]["by_depth"].as_array().expect("by_depth");
    assert_eq!(by_depth.len(), 1);
    assert_eq!(by_depth[0]["messages"], 1);
    assert_eq!(by_depth[0]["mailboxes"], 4);
    assert_eq!(files_under(&w.path().join("mail")), before);
    let (_, jobs) = w.json(&["jobs"]);
    assert_eq!(jobs["jobs"].as_array().map(Vec::len), Some(0));
    // Table mode prints the plan and says nothing changed.
    let out = w.run(&[
        "sweep",
        "--tenant",
        "corp",
        "--from",
        "it@bad.example",
        "--action",
        "quarantine",
        "--dry-run",
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        stdout(&out).contains("nothing has been changed")
            && stdout(&out).contains("erin@corp.test"),
        "{}",
        stdout(&out)
    );
    // A sweep with no criterion at all is bad usage.
    let (code, _) = w.json_err(&[
        "sweep",
        "--tenant",
        "corp",
        "--action",
        "trash",
        "--dry-run",
    ]);
    assert_eq!(code, 2);
    // A bad --since names the option.
    let (code, v) = w.json_err(&[
        "sweep",
        "--tenant",
        "corp",
        "--since",
        "last tuesday",
        "--action",
        "trash",
        "--dry-run",
    ]);
    assert_eq!(code, 2);
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("--since"),
        "{v}"
    );
}

#[test]
fn index_builds_the_log_from_the_mailboxes() {
    let w = World::new("");
    w.make_mailboxes(&["alice", "bob", "carol"]);
    let root = message(
        "<idx-1@bad.example>",
        "x@bad.example",
        &["alice@corp.test", "bob@corp.test"],
        "Gift card",
        None,
    );
    w.deliver("alice", "", "1.M1.host", &root, false, T0);
    w.deliver("bob", "Receipts", "2.M1.host", &root, true, T0);
    let reply = message(
        "<idx-2@corp.test>",
        "bob@corp.test",
        &["carol@corp.test"],
        "Fwd: Gift card",
        Some("<idx-1@bad.example>"),
    );
    w.deliver("carol", "", "3.M1.host", &reply, false, T0 + 5);
    w.deliver("bob", "Sent", "4.M1.host", &reply, true, T0 + 5);
    let (_, empty) = w.json(&["search"]);
    assert_eq!(empty["messages"].as_array().map(Vec::len), Some(0));

    let (code, v) = w.json(&["index", "--tenant", "corp"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["ingest"]["inserted"], 2, "{v}");

    let (_, found) = w.json(&["search", "gift"]);
    let messages = found["messages"].as_array().expect("messages");
    assert_eq!(messages.len(), 2, "{found}");
    let root_entry = messages
        .iter()
        .find(|m| m["message_id"] == "<idx-1@bad.example>")
        .expect("root logged");
    let mut rcpt: Vec<&str> = root_entry["recipients"]
        .as_array()
        .expect("recipients")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    rcpt.sort();
    assert_eq!(rcpt, vec!["alice@corp.test", "bob@corp.test"]);
    assert_eq!(root_entry["tenant"], "corp");
    // The forward is the root's depth-1 conversation; bob's Sent copy does not make him a recipient.
    let (_, shown) = w.json(&["show", "idx-1@bad.example"]);
    let conv = shown["conversation"].as_array().expect("conversation");
    assert!(
        conv.iter()
            .any(|c| c["depth"] == 1 && c["message_id"] == "<idx-2@corp.test>"),
        "{shown}"
    );
    let (_, fwd) = w.json(&["search", "msgid:idx-2@corp.test"]);
    assert_eq!(
        fwd["messages"][0]["recipients"],
        serde_json::json!(["carol@corp.test"]),
        "{fwd}"
    );

    // Indexed entries can be retracted like logged ones, at depth 1.
    let (code, job) = w.json(&[
        "retract",
        "idx-1@bad.example",
        "--action",
        "move-to-junk",
        "--depth",
        "1",
        "--yes",
        "--wait",
    ]);
    assert_eq!(code, 0, "{job}");
    assert_eq!(job["job"]["remediated"], 4, "{job}");
    assert!(w.mailbox("bob").join(".Junk/cur/2.M1.host:2,S").exists());

    // Indexing again merges, and does not index the Junk copies as new messages.
    let (code, v) = w.json(&["index", "--tenant", "corp"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["ingest"]["inserted"], 0, "{v}");
}

/// `sweep --tenant corp ARGS` with `--json`, expecting a failure: its code and error.
fn sweep(w: &World, args: &[&str]) -> (i32, Value) {
    let mut all = vec!["sweep", "--tenant", "corp"];
    all.extend_from_slice(args);
    w.json_err(&all)
}

#[test]
fn blank_sweep_filters_are_refused_naming_the_flag_and_change_nothing() {
    let w = world();
    let before = w.state();
    for (flag, value) in [
        ("--subject", ""),
        ("--subject", "   "),
        ("--from", " "),
        ("--from", ""),
        ("--message-id", ""),
        ("--message-id", "<>"),
        ("--message-id", " < > "),
    ] {
        let (code, v) = sweep(&w, &[flag, value, "--action", "trash", "--yes", "--wait"]);
        assert_eq!(code, 2, "{flag} {value:?}: {v}");
        let msg = v["error"]["message"].as_str().unwrap_or_default();
        assert!(msg.contains(flag) && msg.contains("empty"), "{v}");
        // One blank filter spoils the request even beside a good one.
        let (code, _) = sweep(
            &w,
            &[
                "--message-id",
                PHISH,
                flag,
                value,
                "--action",
                "trash",
                "--yes",
            ],
        );
        assert_eq!(code, 2, "{flag} {value:?} beside a good filter");
    }
    assert_eq!(w.state(), before, "nothing moved, no job");
}

#[test]
fn since_alone_needs_all_and_then_sweeps_everything_since() {
    let w = world();
    let before = w.state();
    let since = "2020-01-01T00:00:00Z";
    let (code, v) = sweep(
        &w,
        &["--since", since, "--action", "trash", "--yes", "--wait"],
    );
    assert_eq!(code, 2, "{v}");
    let msg = v["error"]["message"].as_str().unwrap_or_default();
    assert!(msg.contains("--since") && msg.contains("--all"), "{v}");
    let (code, v) = sweep(&w, &["--all", "--action", "trash", "--dry-run"]);
    assert_eq!(code, 2, "--all alone is unbounded: {v}");
    assert_eq!(w.state(), before);
    let (code, plan) = w.json(&[
        "sweep",
        "--tenant",
        "corp",
        "--since",
        since,
        "--all",
        "--action",
        "trash",
        "--dry-run",
    ]);
    assert_eq!(code, 0, "{plan}");
    assert_eq!(
        plan["plan"]["items"].as_array().map(Vec::len),
        Some(4),
        "{plan}"
    );
}

#[test]
fn a_sweep_above_max_items_is_refused_until_the_cap_is_raised() {
    let w = world();
    // 1,001 more matching copies in dave's mailbox: over the default cap of 1,000.
    w.make_mailboxes(&["dave"]);
    for n in 0..1_001 {
        let id = format!("<bulk-{n}@bad.example>");
        let text = message(
            &id,
            "it@bad.example",
            &["dave@corp.test"],
            "Password expiry",
            None,
        );
        w.deliver("dave", "", &format!("{n}.B1.host"), &text, true, T0);
    }
    let before = w.state();
    let (code, v) = sweep(
        &w,
        &[
            "--subject",
            "Password expiry",
            "--action",
            "trash",
            "--yes",
            "--wait",
        ],
    );
    assert_eq!(code, 4, "{v}");
    let msg = v["error"]["message"].as_str().unwrap_or_default();
    assert!(
        msg.contains("1005 copies") && msg.contains("--max-items 1000 (the default)"),
        "names the count and the cap: {v}"
    );
    assert!(
        msg.contains("--max-items 1005"),
        "says how to raise it: {v}"
    );
    // A dry run is held to the same cap; a raised one that is still too low is refused too.
    let (code, _) = sweep(
        &w,
        &[
            "--subject",
            "Password expiry",
            "--action",
            "trash",
            "--dry-run",
        ],
    );
    assert_eq!(code, 4);
    let (code, v) = sweep(
        &w,
        &[
            "--subject",
            "Password expiry",
            "--max-items",
            "3",
            "--action",
            "trash",
            "--yes",
        ],
    );
    assert_eq!(code, 4);
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("--max-items 3;"),
        "{v}"
    );
    assert_eq!(w.state(), before, "nothing moved, no job");
    let (_, audit) = w.json(&["audit"]);
    assert!(
        audit["audit"]
            .as_array()
            .expect("audit")
            .iter()
            .any(|a| a["outcome"] == "refused" && a["action"] == "sweep"),
        "the refusal is audited: {audit}"
    );
    // Raised on purpose, the plan goes through (acting on 1,005 copies is the retract test's
    // business at a smaller scale: here only the cap is at stake).
    let (code, plan) = w.json(&[
        "sweep",
        "--tenant",
        "corp",
        "--subject",
        "Password expiry",
        "--max-items",
        "1005",
        "--action",
        "trash",
        "--dry-run",
    ]);
    assert_eq!(code, 0);
    assert_eq!(plan["plan"]["items"].as_array().map(Vec::len), Some(1005));
}

#[test]
fn retract_takes_max_items_with_no_default_cap() {
    let w = world();
    let before = w.state();
    let (code, v) = w.json_err(&[
        "retract",
        PHISH,
        "--action",
        "trash",
        "--max-items",
        "2",
        "--yes",
        "--wait",
    ]);
    assert_eq!(code, 4, "{v}");
    let msg = v["error"]["message"].as_str().unwrap_or_default();
    assert!(
        msg.contains("3 copies") && msg.contains("--max-items 3"),
        "{v}"
    );
    assert_eq!(w.state(), before);
    let (code, job) = w.json(&[
        "retract",
        PHISH,
        "--action",
        "trash",
        "--max-items",
        "3",
        "--yes",
        "--wait",
    ]);
    assert_eq!(code, 0, "{job}");
    assert_eq!(job["job"]["remediated"], 3);
}

#[test]
fn a_sweep_that_cannot_search_a_mailbox_ends_partial_and_names_it() {
    // dave's mailbox is listed but is a plain file where its directory should be.
    let w =
        World::new("mailboxes = [\"alice@corp.test\", \"bob@corp.test\", \"dave@corp.test\"]\n");
    w.make_mailboxes(&["alice", "bob", "quarantine"]);
    let text = message(
        PHISH,
        "it@bad.example",
        &["alice@corp.test"],
        "Password expiry",
        None,
    );
    w.deliver("alice", "", "1.M1.host", &text, false, T0);
    w.deliver("bob", "", "2.M1.host", &text, false, T0);
    std::fs::write(w.mailbox("dave"), "not a maildir").expect("file");
    let args = [
        "sweep",
        "--tenant",
        "corp",
        "--message-id",
        PHISH,
        "--action",
        "trash",
    ];
    let (code, plan) = w.json(&[&args[..], &["--dry-run"]].concat());
    assert_eq!(
        code, 3,
        "a plan that could not search a mailbox is partial: {plan}"
    );
    let notes = plan["plan"]["notes"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        notes.iter().any(|n| n
            .as_str()
            .unwrap_or("")
            .starts_with("dave@corp.test: not searched")),
        "{plan}"
    );
    let (code, job) = w.json(&[&args[..], &["--yes", "--wait"]].concat());
    assert_eq!(code, 3, "{job}");
    assert_eq!(job["job"]["status"], "partial", "{job}");
    assert_eq!(job["job"]["remediated"], 2, "{job}");
    assert_eq!(job["job"]["failed"], 1, "{job}");
    let dave = items(&job)
        .into_iter()
        .find(|i| i["mailbox"] == "dave@corp.test")
        .unwrap_or_else(|| panic!("dave is named in the job: {job}"));
    assert_eq!(dave["result"], "failed", "{dave}");
    assert!(
        dave["error"]
            .as_str()
            .unwrap_or("")
            .starts_with("not searched: "),
        "{dave}"
    );
    assert!(
        job["job"]["notes"].as_array().is_some_and(|n| n
            .iter()
            .any(|n| n.as_str().unwrap_or("").contains("dave@corp.test"))),
        "{job}"
    );
    // The job, read back later, still says which mailbox and why.
    let id = job["job"]["id"].as_i64().expect("id").to_string();
    let (code, again) = w.json(&["jobs", &id]);
    assert_eq!(code, 0);
    assert_eq!(again["job"]["status"], "partial");
    assert!(
        items(&again)
            .iter()
            .any(|i| i["mailbox"] == "dave@corp.test" && i["result"] == "failed"),
        "{again}"
    );
}

#[test]
fn a_sweep_never_plans_the_quarantine_mailbox() {
    let w = world();
    let text = message(
        PHISH,
        "it@bad.example",
        &["quarantine@corp.test"],
        "Password expiry",
        None,
    );
    w.deliver("quarantine", "", "7.M1.host", &text, false, T0);
    let (code, job) = w.json(&[
        "sweep",
        "--tenant",
        "corp",
        "--message-id",
        PHISH,
        "--action",
        "hard-delete",
        "--yes",
        "--wait",
    ]);
    assert_eq!(code, 0, "{job}");
    let q = items(&job)
        .into_iter()
        .find(|i| i["mailbox"] == "quarantine@corp.test")
        .unwrap_or_else(|| panic!("shown, as not actionable: {job}"));
    assert_eq!(q["result"], "not-actionable", "{q}");
    assert!(
        q["error"]
            .as_str()
            .unwrap_or("")
            .contains("quarantine mailbox"),
        "{q}"
    );
    assert_eq!(
        copies_of(&w.mailbox("quarantine"), PHISH).len(),
        1,
        "untouched"
    );
}
