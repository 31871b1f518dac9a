//! Roles from `[access]`, keyed by the OS login: what each may do, refusals audited, and the
//! audit chain intact after them.

mod common;

use common::*;
use serde_json::Value;

const PHISH: &str = "<rbac-1@bad.example>";

/// alice, bob, carol and dave got a phish; `access` is the body of `[access]`. The log is
/// loaded by an admin (loading needs analyst), then the config gets `access`.
fn world(access: &str) -> World {
    let w = World::with_access("default_role = \"admin\"", "");
    w.make_mailboxes(&["alice", "bob", "carol", "dave", "quarantine"]);
    let rcpt = [
        "alice@corp.test",
        "bob@corp.test",
        "carol@corp.test",
        "dave@corp.test",
    ];
    let text = message(PHISH, "ceo@bad.example", &rcpt, "Wire transfer", None);
    for (n, u) in ["alice", "bob", "carol", "dave"].iter().enumerate() {
        w.deliver(u, "", &format!("{n}.M1.host"), &text, false, 1_795_000_000);
    }
    let out = w.ingest_lines(&[log_line(
        PHISH,
        "ceo@bad.example",
        &rcpt,
        "Wire transfer",
        None,
    )]);
    assert_eq!(out.status.code(), Some(0), "ingest: {}", stderr(&out));
    let config = std::fs::read_to_string(w.config())
        .expect("config")
        .replace(
            "[access]\ndefault_role = \"admin\"\n",
            &format!("[access]\n{access}\n"),
        );
    std::fs::write(w.config(), config).expect("config");
    w
}

fn audit(w: &World) -> Vec<Value> {
    let (code, v) = w.json(&["audit"]);
    assert_eq!(code, 0, "{v}");
    v["audit"].as_array().cloned().unwrap_or_default()
}

fn refusals(w: &World) -> Vec<Value> {
    audit(w)
        .into_iter()
        .filter(|a| a["outcome"] == "refused")
        .collect()
}

fn assert_verified(w: &World) {
    let (code, v) = w.json(&["audit", "verify"]);
    assert_eq!((code, &v["ok"]), (0, &Value::Bool(true)), "{v}");
}

#[test]
fn viewer_is_refused_and_the_refusal_is_audited() {
    // The role comes from the login map, not the default: the map wins.
    let me = login();
    let w = world(&format!(
        "default_role = \"admin\"\nroles = {{ \"{me}\" = \"viewer\" }}"
    ));
    let before = files_under(&w.path().join("mail"));

    let out = w.run(&[
        "retract",
        PHISH,
        "--action",
        "move-to-junk",
        "--yes",
        "--wait",
        "--reason",
        "INC-7",
    ]);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("viewer") && err.contains("move-to-junk"),
        "{err}"
    );
    assert!(err.contains(&me), "names the login: {err}");
    assert_eq!(files_under(&w.path().join("mail")), before);
    let (_, jobs) = w.json(&["jobs"]);
    assert_eq!(jobs["jobs"].as_array().map(Vec::len), Some(0), "{jobs}");

    let refused = refusals(&w);
    assert_eq!(refused.len(), 1, "{refused:?}");
    let r = &refused[0];
    assert_eq!(r["actor"], me.as_str());
    assert_eq!(r["role"], "viewer");
    assert_eq!(r["action"], "move-to-junk");
    assert!(
        r["target"].as_str().unwrap_or_default().contains(PHISH),
        "{r}"
    );

    // Read-only commands still work for a viewer; a dry run does not, since planning
    // searches the mailboxes themselves for the conversation.
    let (code, _) = w.json(&["search", "wire"]);
    assert_eq!(code, 0);
    let out = w.run(&["retract", PHISH, "--action", "trash", "--dry-run"]);
    assert_eq!(out.status.code(), Some(4));
    assert_verified(&w);
}

#[test]
fn analyst_may_junk_trash_quarantine_and_restore_but_not_delete_or_sweep() {
    let w = world("default_role = \"analyst\"\nroles = {}");
    let mail = w.path().join("mail");

    for action in ["soft-delete", "hard-delete"] {
        let before = files_under(&mail);
        let (code, v) = w.json_err(&[
            "retract",
            PHISH,
            "--action",
            action,
            "--recipient",
            "alice@corp.test",
            "--yes",
            "--wait",
        ]);
        assert_eq!(code, 4, "{action}: {v}");
        let msg = v["error"]["message"].as_str().unwrap_or_default();
        assert!(
            msg.contains("analyst") && msg.contains(action) && msg.contains("responder"),
            "{msg}"
        );
        assert_eq!(files_under(&mail), before, "{action} moved something");
    }
    // A sweep is refused before it even searches, dry run or not.
    for extra in [vec!["--yes", "--wait"], vec!["--dry-run"]] {
        let mut args = vec![
            "sweep",
            "--tenant",
            "corp",
            "--from",
            "ceo@bad.example",
            "--action",
            "trash",
        ];
        args.extend(extra);
        let (code, v) = w.json_err(&args);
        assert_eq!(code, 4, "{args:?}: {v}");
        assert!(
            v["error"]["message"]
                .as_str()
                .unwrap_or_default()
                .contains("sweep"),
            "{v}"
        );
    }
    assert_eq!(
        copies_of(&mail, PHISH).len(),
        4,
        "all four copies where they were"
    );
    let (_, jobs) = w.json(&["jobs"]);
    assert_eq!(jobs["jobs"].as_array().map(Vec::len), Some(0), "{jobs}");
    let refused = refusals(&w);
    let actions: Vec<&str> = refused
        .iter()
        .filter_map(|r| r["action"].as_str())
        .collect();
    assert_eq!(
        actions,
        vec!["soft-delete", "hard-delete", "sweep", "sweep"],
        "{refused:?}"
    );
    assert!(refused.iter().all(|r| r["role"] == "analyst"));

    for (user, action, folder) in [
        ("alice", "move-to-junk", ".Junk"),
        ("bob", "trash", ".Trash"),
        ("carol", "quarantine", ""),
    ] {
        let rcpt = format!("{user}@corp.test");
        let (code, job) = w.json(&[
            "retract",
            PHISH,
            "--action",
            action,
            "--recipient",
            &rcpt,
            "--yes",
            "--wait",
        ]);
        assert_eq!(code, 0, "{action}: {job}");
        assert_eq!(job["job"]["remediated"], 1, "{job}");
        assert_eq!(job["job"]["initiated_by"], login().as_str());
        assert!(
            copies_of(&w.mailbox(user).join("new"), PHISH).is_empty(),
            "{action} left {user}'s copy"
        );
        if !folder.is_empty() {
            assert_eq!(
                copies_of(&w.mailbox(user).join(folder), PHISH).len(),
                1,
                "{action}"
            );
        }
    }
    assert_eq!(copies_of(&w.mailbox("quarantine"), PHISH).len(), 1);

    let (code, restored) = w.json(&["restore", PHISH, "--yes", "--wait"]);
    assert_eq!(code, 0, "{restored}");
    assert_eq!(restored["job"]["remediated"], 3, "{restored}");
    for user in ["alice", "bob", "carol", "dave"] {
        assert_eq!(
            copies_of(&w.mailbox(user).join("new"), PHISH).len(),
            1,
            "{user} got it back"
        );
    }
    // Audit: the refusals are there, the chain verifies.
    assert_eq!(refusals(&w).len(), 4);
    assert_verified(&w);
}

#[test]
fn responder_may_hard_delete_and_sweep() {
    let w = world("default_role = \"responder\"");
    let (code, job) = w.json(&[
        "retract",
        PHISH,
        "--action",
        "hard-delete",
        "--recipient",
        "dave@corp.test",
        "--yes",
        "--wait",
    ]);
    assert_eq!(code, 0, "{job}");
    assert_eq!(job["job"]["remediated"], 1, "{job}");
    assert!(copies_of(&w.mailbox("dave"), PHISH).is_empty());
    let (code, job) = w.json(&[
        "retract",
        PHISH,
        "--action",
        "soft-delete",
        "--recipient",
        "carol@corp.test",
        "--yes",
        "--wait",
    ]);
    assert_eq!(code, 0, "{job}");
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
    // alice and bob still had theirs in INBOX; carol's is in the hidden admin folder and dave's is gone.
    let by_mailbox: Vec<(String, String)> = job["job"]["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| {
            (
                i["mailbox"].as_str().unwrap_or_default().into(),
                i["result"].as_str().unwrap_or_default().into(),
            )
        })
        .collect();
    assert!(
        by_mailbox.contains(&("alice@corp.test".into(), "remediated".into())),
        "{by_mailbox:?}"
    );
    assert!(
        by_mailbox.contains(&("bob@corp.test".into(), "remediated".into())),
        "{by_mailbox:?}"
    );
    assert!(refusals(&w).is_empty());
    let (_, a) = w.json(&["audit", "--actor", &login()]);
    assert!(a["audit"].as_array().map(Vec::len).unwrap_or(0) >= 3, "{a}");
    assert_verified(&w);
}

#[test]
fn viewer_cannot_cancel_a_job() {
    let me = login();
    let admin = World::with_access("default_role = \"admin\"", "");
    admin.make_mailboxes(&["alice"]);
    let out = admin.ingest_lines(&[log_line(
        PHISH,
        "ceo@bad.example",
        &["alice@corp.test"],
        "Wire",
        None,
    )]);
    assert_eq!(out.status.code(), Some(0));
    let (code, queued) = admin.json(&["retract", PHISH, "--action", "trash", "--yes"]);
    assert_eq!(code, 0, "{queued}");
    // Now the same store seen by a viewer.
    let config = admin.config();
    let text = std::fs::read_to_string(&config).expect("config");
    std::fs::write(
        &config,
        text.replace(
            "default_role = \"admin\"",
            &format!("roles = {{ \"{me}\" = \"viewer\" }}"),
        ),
    )
    .expect("rewrite config");
    let (code, v) = admin.json_err(&["cancel", "1"]);
    assert_eq!(code, 4, "{v}");
    let (_, job) = admin.json(&["jobs", "1"]);
    assert_eq!(job["job"]["status"], "queued", "{job}");
    assert_eq!(refusals(&admin).len(), 1);
    assert_verified(&admin);
}

#[test]
fn a_login_the_map_does_not_name_is_a_viewer() {
    // An `[access]` table that maps someone else and sets no default_role: least privilege.
    let w = world("roles = { \"someone-else\" = \"admin\" }");
    let before = files_under(&w.path().join("mail"));
    let out = w.run(&["retract", PHISH, "--action", "move-to-junk", "--yes"]);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert!(stderr(&out).contains("viewer"), "{}", stderr(&out));
    assert_eq!(files_under(&w.path().join("mail")), before);
    let refused = refusals(&w);
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0]["role"], "viewer");
    // Reading still works.
    let (code, _) = w.json(&["search", "wire"]);
    assert_eq!(code, 0);
}

#[test]
fn check_says_roles_are_advisory_without_a_service() {
    // Embedded mode: this process opened the store, so its own config decided the role.
    let w = world("default_role = \"viewer\"");
    let out = w.run(&["check"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    let line = text
        .lines()
        .find(|l| l.starts_with("roles are advisory: no service"))
        .unwrap_or_else(|| panic!("no advisory line: {text}"));
    assert!(line.contains("as viewer"), "{line}");
}

#[test]
fn loading_the_log_needs_an_analyst_and_is_audited_once_per_run() {
    let me = login();
    let w = world(&format!("roles = {{ \"{me}\" = \"viewer\" }}"));
    let line = log_line(
        "<rbac-2@bad.example>",
        "x@bad.example",
        &["bob@corp.test"],
        "More",
        None,
    );
    let file = w.path().join("more.jsonl");
    std::fs::write(&file, format!("{line}\nnot json\n")).expect("log");
    let file_arg = file.to_str().expect("utf-8");

    // A viewer may neither ingest nor index; each refusal is audited, nothing is loaded.
    let out = w.run(&["ingest", "--format", "jsonl", file_arg]);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("viewer") && stderr(&out).contains("analyst"),
        "{}",
        stderr(&out)
    );
    let out = w.run(&["index", "--tenant", "corp"]);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    let (_, found) = w.json(&["search", "more"]);
    assert_eq!(
        found["messages"].as_array().map(Vec::len),
        Some(0),
        "{found}"
    );
    let refused = refusals(&w);
    let actions: Vec<&str> = refused
        .iter()
        .filter_map(|r| r["action"].as_str())
        .collect();
    assert_eq!(actions, ["ingest", "index"], "{refused:?}");

    // An analyst may; each run leaves one record: source, format, counts, the file's hash.
    let config = std::fs::read_to_string(w.config())
        .expect("config")
        .replace(
            &format!("\"{me}\" = \"viewer\""),
            &format!("\"{me}\" = \"analyst\""),
        );
    std::fs::write(w.config(), config).expect("config");
    let out = w.run(&["ingest", "--format", "jsonl", file_arg]);
    assert_eq!(out.status.code(), Some(3), "one bad line: {}", stderr(&out));
    let out = w.run(&["index", "--tenant", "corp"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let records = audit(&w);
    let ingests: Vec<&Value> = records
        .iter()
        .filter(|a| a["action"] == "ingest" && a["outcome"] != "refused" && a["target"] == file_arg)
        .collect();
    assert_eq!(ingests.len(), 1, "{records:?}");
    let detail = ingests[0]["detail"].as_str().unwrap_or_default();
    let bytes = std::fs::read(&file).expect("log");
    let sha = sha256_hex(&bytes);
    assert!(
        detail.contains("format jsonl")
            && detail.contains(&format!("sha256 {sha}"))
            && detail.contains("1 loaded")
            && detail.contains("1 skipped"),
        "{detail}"
    );
    assert_eq!(ingests[0]["actor"], me.as_str());
    assert_eq!(ingests[0]["role"], "analyst");
    let indexes: Vec<&Value> = records
        .iter()
        .filter(|a| a["action"] == "index" && a["outcome"] != "refused")
        .collect();
    assert_eq!(indexes.len(), 1, "{records:?}");
    assert_eq!(indexes[0]["target"], "tenant corp");
    assert!(
        indexes[0]["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("format mailboxes"),
        "{}",
        indexes[0]
    );
    assert_verified(&w);
}

/// SHA-256 in hex, by the system's `sha256sum` (an independent implementation).
fn sha256_hex(bytes: &[u8]) -> String {
    use std::io::Write;
    let mut child = std::process::Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("sha256sum");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(bytes)
        .expect("write");
    let out = child.wait_with_output().expect("sha256sum");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string()
}
