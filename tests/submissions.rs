//! Phish submissions through the real binary on a real Maildir and a real SQLite store: the
//! three report formats (fixtures in `tests/fixtures/submissions`, each described in its
//! README), the threshold to `phish`, the policies pulling everywhere but the abuse mailbox,
//! the reports moved, a malformed one named and skipped, and a second run acting on nothing.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use retractor::submissions::extract::{Format, extract};
use serde_json::Value;

const PHISH: &str = "<invoice-7731@evil.test>";

const SUBMISSIONS: &str = r#"
[submissions]
tenant = "corp"
mailbox = "abuse@corp.test"

[policy]
window = "52w"

[policy.rules.phish]
when = ["phish"]
action = "quarantine"
mode = "automatic"
"#;

fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/submissions")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn prefixes() -> Vec<String> {
    let mut p: Vec<String> = retractor::config::submissions::DEFAULT_PREFIXES
        .iter()
        .map(|p| p.to_string())
        .collect();
    p.sort_by_key(|p| std::cmp::Reverse(p.len()));
    p
}

/// The phish's log line: delivered to the three reporters and the abuse mailbox.
fn phish_log(disposition: &str) -> String {
    serde_json::json!({
        "message_id": PHISH, "from": "billing@evil.test",
        "to": ["alice@corp.test", "bob@corp.test", "carol@corp.test", "abuse@corp.test"],
        "subject": "Invoice overdue", "received_at": "2026-12-01T09:00:00Z",
        "disposition": disposition,
    })
    .to_string()
}

/// A world with the phish delivered to alice, bob, carol and the abuse mailbox, logged with
/// `disposition`, and these reports (fixture names) in the abuse mailbox's inbox, oldest first.
fn world(disposition: &str, reports: &[&str]) -> World {
    world_with(SUBMISSIONS, disposition, reports)
}

/// [`world`] with another config body; a `reply.txt` template is written beside it.
fn world_with(config: &str, disposition: &str, reports: &[&str]) -> World {
    let w = World::new(config);
    std::fs::write(
        w.path().join("reply.txt"),
        "Thank you {reporter}: \"{subject}\" is {verdict}.\n",
    )
    .expect("template");
    w.make_mailboxes(&["alice", "bob", "carol", "dave", "abuse", "quarantine"]);
    let phish = fixture("phish-original.eml");
    for user in ["alice", "bob", "carol", "abuse"] {
        w.deliver(
            user,
            "",
            "1796115600.M1.phish",
            &phish,
            false,
            1_796_115_600,
        );
    }
    for (i, report) in reports.iter().enumerate() {
        w.deliver(
            "abuse",
            "",
            &format!("17961192{i:02}.M2.report{i}"),
            &fixture(report),
            false,
            1_796_119_200 + i as i64 * 60,
        );
    }
    let out = w.ingest_lines(&[phish_log(disposition)]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    w
}

/// The message files of one folder (`""` = INBOX) of a mailbox.
fn files_in(w: &World, user: &str, folder: &str) -> Vec<PathBuf> {
    let base = if folder.is_empty() {
        w.mailbox(user)
    } else {
        w.mailbox(user).join(format!(".{folder}"))
    };
    let mut files = Vec::new();
    for sub in ["new", "cur"] {
        if let Ok(entries) = std::fs::read_dir(base.join(sub)) {
            files.extend(entries.flatten().map(|e| e.path()));
        }
    }
    files.sort();
    files
}

fn submissions(w: &World, args: &[&str]) -> (i32, Value) {
    let mut all = vec!["submissions"];
    all.extend_from_slice(args);
    let (code, v) = w.json(&all);
    (code, v["submissions"].clone())
}

#[test]
fn each_report_format_names_the_original_and_the_reporter() {
    let attached = extract(
        fixture("microsoft-user-reported.eml").as_bytes(),
        &prefixes(),
    )
    .expect("attached report");
    assert_eq!(attached.format, Format::Attached);
    assert_eq!(attached.reporter, "alice@corp.test");
    assert_eq!(attached.report_id, "<report-ms-1@corp.test>");
    assert_eq!(attached.original.message_id.as_deref(), Some(PHISH));
    assert_eq!(attached.original.from.as_deref(), Some("billing@evil.test"));
    assert_eq!(
        attached.subject, "Invoice overdue",
        "the 3| prefix is stripped"
    );

    let arf =
        extract(fixture("arf-feedback-report.eml").as_bytes(), &prefixes()).expect("ARF report");
    assert_eq!(arf.format, Format::Arf);
    assert_eq!(
        arf.reporter, "bob@corp.test",
        "from Original-Rcpt-To, not the generator"
    );
    assert_eq!(arf.original.message_id.as_deref(), Some(PHISH));
    assert_eq!(arf.original.subject.as_deref(), Some("Invoice overdue"));

    let forward = extract(fixture("inline-forward.eml").as_bytes(), &prefixes()).expect("forward");
    assert_eq!(forward.format, Format::Forward);
    assert_eq!(forward.reporter, "carol@corp.test");
    assert_eq!(
        forward.original.message_id, None,
        "a forward drops the Message-ID"
    );
    assert_eq!(forward.original.from.as_deref(), Some("billing@evil.test"));
    assert_eq!(forward.original.subject.as_deref(), Some("Invoice overdue"));

    let bad = extract(fixture("malformed-no-original.eml").as_bytes(), &prefixes())
        .expect_err("no original in it");
    assert_eq!(bad.report_id, "<help-1@corp.test>");
    assert_eq!(bad.reporter.as_deref(), Some("dave@corp.test"));
    assert!(bad.problem.contains("no original"), "{}", bad.problem);
}

#[test]
fn three_reporters_make_a_phish_pulled_everywhere_but_the_abuse_mailbox() {
    let w = world(
        "clean",
        &[
            "microsoft-user-reported.eml",
            "arf-feedback-report.eml",
            "malformed-no-original.eml",
            "inline-forward.eml",
        ],
    );
    let (code, run) = submissions(&w, &["--wait"]);
    assert_eq!(code, 3, "a malformed report makes the run partial: {run}");
    let reports = run["reports"].as_array().expect("reports");
    let seen: Vec<(&str, &str, &str)> = reports
        .iter()
        .map(|r| {
            (
                r["format"].as_str().unwrap_or(""),
                r["reporter"].as_str().unwrap_or(""),
                r["outcome"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            // The phish's own copy (the abuse mailbox got it too) is no report: named, left.
            ("malformed", "billing@evil.test", "malformed"),
            ("attached", "alice@corp.test", "reported"),
            ("arf", "bob@corp.test", "reported"),
            // The forward's original found back in carol's mailbox: the third reporter.
            ("forward", "carol@corp.test", "phish"),
            ("malformed", "dave@corp.test", "malformed"),
        ]
    );
    for r in reports.iter().filter(|r| r["format"] != "malformed") {
        assert_eq!(r["original_message_id"], PHISH);
        assert_eq!(r["moved"], true, "{r}");
    }
    let malformed = &reports[4];
    assert!(
        malformed["detail"]
            .as_str()
            .unwrap_or("")
            .contains("no original"),
        "{malformed}"
    );
    assert_eq!(malformed["moved"], false);
    // The three good reports left the inbox; the malformed one and the phish's own copy stay.
    assert_eq!(files_in(&w, "abuse", "Retractor.Processed").len(), 3);
    let inbox = files_in(&w, "abuse", "");
    assert_eq!(inbox.len(), 2, "{inbox:?}");
    assert!(
        !malformed["detail"]
            .as_str()
            .unwrap_or("")
            .contains('\u{1b}'),
        "attacker text stays inert"
    );
    // The policies decided on the phish: a quarantine job.
    let decisions = run["decisions"].as_array().expect("decisions");
    let pulled: Vec<&Value> = decisions
        .iter()
        .filter(|d| d["outcome"] == "pulled")
        .collect();
    assert_eq!(pulled.len(), 1, "{decisions:?}");
    let job = pulled[0]["job"].as_i64().expect("job");
    let out = w.run(&["worker"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let (_, detail) = w.json(&["jobs", &job.to_string()]);
    let items = detail["job"]["items"].as_array().expect("items");
    let abuse = items
        .iter()
        .find(|i| i["mailbox"] == "abuse@corp.test")
        .expect("the abuse mailbox is in the job's record");
    assert_eq!(abuse["result"], "not-actionable", "{abuse}");
    for user in ["alice", "bob", "carol"] {
        assert!(files_in(&w, user, "").is_empty(), "{user}'s copy pulled");
    }
    let phish_left = files_in(&w, "abuse", "")
        .iter()
        .filter(|p| p.to_string_lossy().contains("phish"))
        .count();
    assert_eq!(phish_left, 1, "the abuse mailbox's copy is never touched");

    // A second run: nothing new, nothing moved, no alert changed, no job made.
    let audit_before = w.json(&["audit"]).1["audit"].as_array().map(Vec::len);
    let (code, again) = submissions(&w, &["--wait"]);
    assert_eq!(code, 0, "{again}");
    assert_eq!(again["reports"], serde_json::json!([]));
    assert_eq!(again["moved_earlier"], 0);
    assert_eq!(again["left_malformed"], 2);
    assert_eq!(again["decisions"], serde_json::json!([]));
    assert_eq!(
        w.json(&["audit"]).1["audit"].as_array().map(Vec::len),
        audit_before
    );
    assert_eq!(files_in(&w, "abuse", "Retractor.Processed").len(), 3);
}

#[test]
fn one_report_and_a_malicious_verdict_in_the_log_make_a_phish() {
    let w = world("malicious", &["microsoft-user-reported.eml"]);
    let (code, run) = submissions(&w, &[]);
    assert_eq!(
        code, 3,
        "the phish's own copy in the abuse mailbox is no report: {run}"
    );
    let report = &run["reports"][1];
    assert_eq!(report["format"], "attached", "{run}");
    assert_eq!(report["outcome"], "phish");
    assert!(
        report["detail"]
            .as_str()
            .unwrap_or("")
            .contains("malicious"),
        "{run}"
    );
    // Without --wait nothing was decided here: the alert waits for a decider.
    assert_eq!(run["decisions"], serde_json::json!([]));
}

#[test]
fn the_abuse_mailbox_is_never_a_target_and_the_rail_is_named() {
    let w = world("clean", &[]);
    // By hand: the plan keeps the abuse mailbox in its record, not actionable.
    let (code, plan) = w.json(&["retract", PHISH, "--action", "trash", "--dry-run"]);
    assert_eq!(code, 0, "{plan}");
    let items = plan["plan"]["items"].as_array().expect("items");
    let abuse = items
        .iter()
        .find(|i| i["mailbox"] == "abuse@corp.test")
        .expect("abuse item");
    assert_eq!(abuse["result"], "not-actionable");
    assert!(
        abuse["note"]
            .as_str()
            .unwrap_or("")
            .contains("abuse mailbox"),
        "{abuse}"
    );
    // By the policies: a message only the abuse mailbox has is left alone, the rail named.
    let only_abuse = serde_json::json!({
        "message_id": "<only-abuse@evil.test>", "from": "x@evil.test",
        "to": ["abuse@corp.test"], "subject": "hi", "received_at": "2026-12-01T09:00:00Z",
    });
    let out = w.ingest_lines(&[only_abuse.to_string()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let alerts = w.path().join("alerts.jsonl");
    std::fs::write(
        &alerts,
        r#"{"id":"1","source":"soar","message_id":"<only-abuse@evil.test>","classification":"phish","status":"active"}"#,
    )
    .expect("alerts");
    let (code, test) = w.json(&["policy", "test", alerts.to_str().expect("path")]);
    assert_eq!(code, 0, "{test}");
    let alert = &test["policy_test"]["alerts"][0];
    assert_eq!(alert["outcome"], "no-action", "{alert}");
    assert_eq!(alert["rail"], "reserved-mailbox", "{alert}");
}

/// A report's sender is whatever its author wrote: reports "from" people who never got the
/// message (an outsider, a colleague it was not sent to) raise nothing, however many.
#[test]
fn reports_from_people_who_never_got_the_message_raise_nothing() {
    let w = world("clean", &[]);
    let attached = fixture("microsoft-user-reported.eml");
    for (i, sender) in ["mallory@evil.test", "dave@corp.test", "erin@corp.test"]
        .iter()
        .enumerate()
    {
        let forged = attached
            .replace("Alice Example <alice@corp.test>", sender)
            .replace("<report-ms-1@corp.test>", &format!("<forged-{i}@x.test>"));
        w.deliver(
            "abuse",
            "",
            &format!("17961193{i:02}.M3.forged{i}"),
            &forged,
            false,
            1_796_119_300 + i as i64,
        );
    }
    let (code, run) = submissions(&w, &["--wait"]);
    assert_eq!(code, 3, "the phish's own copy is still named: {run}");
    let forged: Vec<&Value> = run["reports"]
        .as_array()
        .expect("reports")
        .iter()
        .filter(|r| r["format"] == "attached")
        .collect();
    assert_eq!(forged.len(), 3, "{run}");
    for r in &forged {
        assert_eq!(r["outcome"], "unconfirmed", "{r}");
        assert_eq!(r["moved"], true, "handled: never read again");
    }
    assert_eq!(
        run["decisions"],
        serde_json::json!([]),
        "no alert was raised"
    );
    let (_, jobs) = w.json(&["jobs"]);
    assert_eq!(jobs["jobs"], serde_json::json!([]));
}

/// The reply to the reporter is rendered from the template and recorded in the audit, since
/// retractor has no mail submission path; nothing is written into anyone's mailbox.
#[test]
fn the_reply_is_rendered_into_the_audit_and_never_delivered() {
    let config = SUBMISSIONS.replace(
        "mailbox = \"abuse@corp.test\"\n",
        "mailbox = \"abuse@corp.test\"\nreply_template = \"reply.txt\"\nreply_from = \"soc@corp.test\"\n",
    );
    let w = world_with(&config, "clean", &["microsoft-user-reported.eml"]);
    let alice_before = files_in(&w, "alice", "");
    let (_, run) = submissions(&w, &[]);
    assert_eq!(run["reports"][1]["outcome"], "reported", "{run}");
    let (_, audit) = w.json(&["audit"]);
    let replies: Vec<&Value> = audit["audit"]
        .as_array()
        .expect("audit")
        .iter()
        .filter(|a| a["action"] == "submission" && a["outcome"] == "reply-not-sent")
        .collect();
    assert_eq!(replies.len(), 1, "{audit}");
    let detail = replies[0]["detail"].as_str().unwrap_or("");
    assert!(
        detail.contains("Thank you alice@corp.test: \"Invoice overdue\" is reported."),
        "{detail}"
    );
    assert!(detail.contains("from soc@corp.test"), "{detail}");
    assert_eq!(
        files_in(&w, "alice", ""),
        alice_before,
        "no reply written into a mailbox"
    );
}
