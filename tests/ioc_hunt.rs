//! `ioc import|add|list|remove` and `hunt` through the real binary: each feed format stored
//! as parsed, a bad feed refused naming the file and where (exit 2, nothing stored), the
//! audit records, a hunt over the log, and hunts in the Maildir mailboxes by URL, URL domain
//! and attachment hash on the forensics fixtures (exactly the phish, never the look-alike or
//! the warning; pulled under an automatic rule, waiting under a confirmation rule, nothing new
//! the second time). The parsers are tested value by value on the same fixtures in
//! `src/forensics/ioc/tests.rs`, the log hunt's pulls and waits under the rules in
//! `src/policy/tests.rs`.

mod common;

use common::*;
use serde_json::Value;

fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/ioc/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn listed(w: &World) -> Vec<(String, String)> {
    let out = w.run(&["--json", "ioc", "list"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    v["indicators"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["kind"].as_str().unwrap().to_string(),
                i["value"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn each_feed_format_is_stored_and_a_bad_one_stores_nothing() {
    let w = World::new("");
    for (file, format) in [
        ("list-bad.txt", "lines"),
        ("indicators-bad.csv", "csv"),
        ("bundle-bad.json", "stix"),
        ("event-bad.json", "misp"),
    ] {
        let out = w.run(&["ioc", "import", &fixture(file), "--format", format]);
        assert_eq!(out.status.code(), Some(2), "{file}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(err.contains(file), "{err}");
    }
    let err = stderr(&w.run(&[
        "ioc",
        "import",
        &fixture("bundle-bad.json"),
        "--format",
        "stix",
    ]));
    assert!(err.contains("$.objects[1].pattern"), "{err}");
    assert!(listed(&w).is_empty(), "nothing of a bad file stored");

    let out = w.run(&[
        "ioc",
        "import",
        &fixture("bundle.json"),
        "--format",
        "stix",
        "--source",
        "cert",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("6 added, 0 refreshed, 2 skipped"),
        "{}",
        stdout(&out)
    );
    let out = w.run(&[
        "ioc",
        "import",
        &fixture("event.json"),
        "--format",
        "misp",
        "--source",
        "misp",
    ]);
    assert!(
        stdout(&out).contains("5 added, 0 refreshed, 1 skipped"),
        "{}",
        stdout(&out)
    );
    // The same feed again refreshes, never doubles.
    let out = w.run(&[
        "ioc",
        "import",
        &fixture("event.json"),
        "--format",
        "misp",
        "--source",
        "misp",
    ]);
    assert!(
        stdout(&out).contains("0 added, 5 refreshed"),
        "{}",
        stdout(&out)
    );
    let all = listed(&w);
    assert_eq!(all.len(), 11);
    assert_eq!(all[0], ("sender".into(), "billing@evil.example".into()));

    let out = w.run(&[
        "ioc",
        "add",
        "subject",
        "Payroll update",
        "--expires",
        "30d",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = w.run(&["ioc", "add", "ip", "192.0.2.7"]);
    assert_eq!(out.status.code(), Some(2));
    let out = w.run(&["ioc", "remove", "1"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(listed(&w).len(), 11);
    let out = w.run(&["ioc", "remove", "--all"]);
    assert!(stdout(&out).contains("11 removed"), "{}", stdout(&out));

    let audit = stdout(&w.run(&["--json", "audit"]));
    for action in ["ioc-import", "ioc-add", "ioc-remove"] {
        assert!(
            audit.contains(&format!("\"{action}\"")),
            "{action} audited: {audit}"
        );
    }
}

#[test]
fn a_hunt_raises_one_alert_per_match_and_nothing_the_second_time() {
    let w = World::new("");
    let log = w.path().join("log.jsonl");
    std::fs::write(
        &log,
        [
            ("<p1@x>", "billing@evil.example"),
            ("<p2@x>", "x@notevil.example"),
            ("<p3@x>", "y@evil.example.org"),
        ]
        .iter()
        .map(|(mid, from)| {
            serde_json::json!({"message_id": mid, "from": from, "to": ["alice@corp.test"],
                "subject": "Invoice", "received_at": chrono::Utc::now().to_rfc3339()})
            .to_string()
                + "\n"
        })
        .collect::<String>(),
    )
    .unwrap();
    let out = w.run(&[
        "ingest",
        log.to_str().unwrap(),
        "--format",
        "jsonl",
        "--tenant",
        "corp",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = w.run(&["ioc", "add", "sender-domain", "evil.example"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let hunt = |w: &World| -> Value {
        let out = w.run(&["--json", "hunt"]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        serde_json::from_str::<Value>(stdout(&out).trim()).unwrap()["hunt"].clone()
    };
    let first = hunt(&w);
    assert_eq!(
        (first["examined"].as_u64(), first["matches"].as_u64()),
        (Some(3), Some(1))
    );
    let second = hunt(&w);
    assert_eq!(
        (second["examined"].as_u64(), second["matches"].as_u64()),
        (Some(0), Some(0))
    );
}

#[test]
fn hunt_wait_answers_with_the_policies_decisions_and_a_second_one_has_none() {
    // A passive rule records what it would do and acts on nothing: the decision is the
    // answer's, no mailbox is touched.
    let w = World::new(
        "[policy]\nwindow = \"52w\"\n\n[policy.rules.ioc]\nwhen = [\"phish\"]\n\
         action = \"quarantine\"\nmode = \"passive\"\n",
    );
    let log = w.path().join("log.jsonl");
    let line = serde_json::json!({"message_id": "<w1@x>", "from": "billing@evil.example",
        "to": ["alice@corp.test"], "subject": "Invoice",
        "received_at": chrono::Utc::now().to_rfc3339()});
    std::fs::write(&log, format!("{line}\n")).unwrap();
    let out = w.run(&[
        "ingest",
        log.to_str().unwrap(),
        "--format",
        "jsonl",
        "--tenant",
        "corp",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = w.run(&["ioc", "add", "sender", "billing@evil.example"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let hunt = |w: &World| -> Value {
        let out = w.run(&["--json", "hunt", "--wait"]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        serde_json::from_str::<Value>(stdout(&out).trim()).unwrap()["hunt"].clone()
    };
    let first = hunt(&w);
    assert_eq!(first["new_alerts"].as_u64(), Some(1), "{first}");
    let decisions = first["decisions"].as_array().expect("decisions");
    assert_eq!(decisions.len(), 1, "{first}");
    assert_eq!(decisions[0]["source"], "ioc", "{first}");
    assert_eq!(decisions[0]["rule"], "ioc", "{first}");
    assert!(
        decisions[0]["job"].is_null(),
        "a passive rule makes no job: {first}"
    );
    let second = hunt(&w);
    assert_eq!(second["matches"].as_u64(), Some(0), "{second}");
    assert_eq!(
        second["decisions"].as_array().map(Vec::len),
        Some(0),
        "{second}"
    );
    // The text form names the decision.
    let out = w.run(&["ioc", "add", "subject", "Invoice"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = w.run(&["hunt", "--wait"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("decision on ioc:"),
        "{}",
        stdout(&out)
    );
}

const PHISH_ID: &str = "<phish-2026-12-01@evil-bank.example>";
const PHISH_URL: &str = "https://login.evil-bank.example/reset?id=42&u=alice";
/// The SHA-256 of `invoice.pdf.exe` inside the phish's zip (see the fixtures' `make.py`).
const EXE_SHA: &str = "9391274a45aba3235700c29c4da549884dd3d227b11cf35cd39a8914d27fc8e2";

fn forensics_fixture(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/tests/fixtures/forensics/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

/// alice and bob got the phish; alice the warning (which names the phish's host in its
/// text), bob the look-alike (`notevil-bank.example`, `invoice.pdf.exe.txt`). Nothing is
/// logged: a Maildir tenant's mailboxes are listed from its tree. The fixtures are dated
/// 1 December 2026, so the window is wide.
fn phish_world(rule_mode: &str) -> World {
    let w = World::new(&format!(
        "[reevaluation]\nwindow = \"520w\"\n\n[policy]\nwindow = \"520w\"\n\n\
         [policy.rules.ioc]\nwhen = [\"ioc-match\"]\naction = \"quarantine\"\nmode = \"{rule_mode}\"\n"
    ));
    w.make_mailboxes(&["alice", "bob", "quarantine"]);
    for (user, name, file) in [
        ("alice", "1.M1.host", "phish.eml"),
        ("bob", "2.M1.host", "phish.eml"),
        ("alice", "3.M1.host", "newsletter.eml"),
        ("bob", "4.M1.host", "lookalike.eml"),
    ] {
        w.deliver(user, "", name, &forensics_fixture(file), false, 1_796_119_200);
    }
    w
}

fn hunt_wait(w: &World) -> Value {
    let out = w.run(&["--json", "hunt", "--wait"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    serde_json::from_str::<Value>(stdout(&out).trim()).unwrap()["hunt"].clone()
}

fn phish_copies(w: &World, user: &str) -> usize {
    copies_of(&w.mailbox(user), "phish-2026-12-01@evil-bank.example").len()
}

#[test]
fn a_mailbox_hunt_by_url_domain_or_attachment_pulls_exactly_the_phish_once() {
    for (kind, value) in [
        ("url", PHISH_URL),
        ("url-domain", "evil-bank.example"),
        ("attachment-sha256", EXE_SHA),
    ] {
        let w = phish_world("automatic");
        let out = w.run(&["ioc", "add", kind, value, "--classification", "ioc-match"]);
        assert_eq!(out.status.code(), Some(0), "{kind}: {}", stderr(&out));
        let first = hunt_wait(&w);
        // One match: the phish, in both mailboxes (the quarantine mailbox is not hunted).
        assert_eq!(
            (
                first["indicators"].as_u64(),
                first["not_hunted"].as_u64(),
                first["mailboxes"].as_u64(),
                first["matches"].as_u64(),
                first["new_alerts"].as_u64()
            ),
            (Some(1), Some(0), Some(2), Some(1), Some(1)),
            "{kind}: {first}"
        );
        let decisions = first["decisions"].as_array().expect("decisions");
        assert_eq!(decisions.len(), 1, "{kind}: {first}");
        assert_eq!(decisions[0]["outcome"], "pulled", "{kind}: {first}");
        let out = w.run(&["worker"]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        assert_eq!(
            (phish_copies(&w, "alice"), phish_copies(&w, "bob")),
            (0, 0),
            "{kind}: both copies pulled"
        );
        assert_eq!(phish_copies(&w, "quarantine"), 2, "{kind}: quarantined");
        // The warning and the look-alike stay where they were.
        assert_eq!(copies_of(&w.mailbox("alice"), "warning-2026-12-01").len(), 1);
        assert_eq!(copies_of(&w.mailbox("bob"), "lookalike-2026-12-01").len(), 1);
        let second = hunt_wait(&w);
        assert_eq!(
            (second["matches"].as_u64(), second["new_alerts"].as_u64()),
            (Some(0), Some(0)),
            "{kind}: {second}"
        );
        assert_eq!(second["decisions"].as_array().map(Vec::len), Some(0));
    }
}

#[test]
fn a_mailbox_hunt_waits_under_a_confirmation_rule_and_repeats_the_second_time() {
    let w = phish_world("confirmation");
    let out = w.run(&[
        "ioc",
        "add",
        "attachment-name",
        "invoice.pdf.exe",
        "--classification",
        "ioc-match",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let first = hunt_wait(&w);
    assert_eq!(
        (first["matches"].as_u64(), first["new_alerts"].as_u64()),
        (Some(1), Some(1)),
        "{first}"
    );
    assert_eq!(first["decisions"][0]["outcome"], "requested", "{first}");
    assert_eq!(
        (phish_copies(&w, "alice"), phish_copies(&w, "bob")),
        (1, 1),
        "nothing pulled before approval"
    );
    let (code, pending) = w.json(&["pending"]);
    assert_eq!(code, 0, "{pending}");
    let text = pending.to_string();
    assert!(text.contains(PHISH_ID), "{text}");
    // The same match again: a repeat, never a second request.
    let second = hunt_wait(&w);
    assert_eq!(
        (
            second["matches"].as_u64(),
            second["repeats"].as_u64(),
            second["new_alerts"].as_u64()
        ),
        (Some(1), Some(1), Some(0)),
        "{second}"
    );
    assert_eq!(second["decisions"].as_array().map(Vec::len), Some(0));
}
