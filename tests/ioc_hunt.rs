//! `ioc import|add|list|remove` and `hunt` through the real binary: each feed format stored
//! as parsed, a bad feed refused naming the file and where (exit 2, nothing stored), the
//! audit records, and a hunt over the log. The parsers are tested value by value on the same
//! fixtures in `src/forensics/ioc/tests.rs`, the hunt's pulls and waits under the rules in
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
