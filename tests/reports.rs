//! `retractor report REF --false-negative|--false-positive`: the verdict is set in the log,
//! audited (`report`), and stored as an alert from source `analyst` (id `report:<log id>`)
//! through the alert intake; bad input changes nothing.

mod common;

use common::*;
use serde_json::Value;

const ID: &str = "<report-1@bad.example>";

fn world() -> World {
    let w = World::new("");
    w.make_mailboxes(&["alice", "quarantine"]);
    let m = message(
        ID,
        "Boss <boss@bad.example>",
        &["alice@corp.test"],
        "Invoice",
        None,
    );
    w.deliver("alice", "", "1.M1.host", &m, false, 1_795_000_000);
    let out = w.ingest_lines(&[log_line(
        ID,
        "boss@bad.example",
        &["alice@corp.test"],
        "Invoice",
        None,
    )]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    w
}

fn audit_of(w: &World, action: &str) -> Vec<Value> {
    let (_, audit) = w.json(&["audit"]);
    audit["audit"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|a| a["action"] == action)
        .collect()
}

#[test]
fn a_false_positive_sets_the_disposition_is_audited_and_becomes_an_analyst_alert() {
    let w = world();
    let (_, shown) = w.json(&["show", ID]);
    let id = shown["id"].as_i64().expect("a log id");
    assert_eq!(shown["disposition"], "malicious");

    let (code, v) = w.json(&[
        "report",
        &id.to_string(),
        "--false-positive",
        "--reason",
        "TICKET-7",
    ]);
    assert_eq!(code, 0, "{v}");
    let r = &v["report"];
    assert_eq!(r["message"], id);
    assert_eq!(r["message_id"], ID);
    assert_eq!(r["kind"], "false_positive");
    assert_eq!(r["previous_disposition"], "malicious");
    assert_eq!(r["disposition"], "clean");
    assert_eq!(r["alert"]["id"], format!("report:{id}"));
    assert_eq!(r["alert"]["source"], "analyst");
    assert_eq!(r["alert"]["disposition"], "new");

    // The log says so, for `show` and for the query.
    let (_, shown) = w.json(&["show", ID]);
    assert_eq!(shown["disposition"], "clean");
    let (_, found) = w.json(&["search", "disposition:clean"]);
    let ids: Vec<&Value> = found["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| &m["id"])
        .collect();
    assert!(ids.contains(&&Value::from(id)), "{found}");

    // Audited once, with the reason.
    let reports = audit_of(&w, "report");
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert_eq!(reports[0]["target"], id.to_string());
    assert_eq!(reports[0]["reason"], "TICKET-7");
    assert_eq!(reports[0]["outcome"], "ok");

    // Changing one's mind is the same alert, revised: a false negative now.
    let (code, v) = w.json(&["report", ID, "--false-negative"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["report"]["disposition"], "malicious");
    assert_eq!(v["report"]["previous_disposition"], "clean");
    assert_eq!(v["report"]["alert"]["id"], format!("report:{id}"));
    assert_eq!(v["report"]["alert"]["disposition"], "updated");
    assert_eq!(
        v["report"]["alert"]["number"], r["alert"]["number"],
        "the same alert"
    );
    assert_eq!(audit_of(&w, "report").len(), 2);

    // The text form names what happened.
    let out = w.run(&["report", ID, "--false-negative"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("reported as false negative: disposition malicious"),
        "{text}"
    );
}

#[test]
fn a_report_needs_one_verdict_a_known_message_and_a_real_reason() {
    let w = world();
    let before = w.state();
    for args in [
        vec!["report", ID],
        vec!["report", ID, "--false-negative", "--false-positive"],
    ] {
        let out = w.run(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("--false-negative"),
            "{args:?}: {}",
            stderr(&out)
        );
    }
    let (code, e) = w.json_err(&["report", "<nobody@nowhere.example>", "--false-negative"]);
    assert_eq!(code, 2, "{e}");
    assert!(
        e["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("nobody@nowhere.example")),
        "{e}"
    );
    let (code, e) = w.json_err(&["report", ID, "--false-negative", "--reason", "  "]);
    assert_eq!(code, 2, "{e}");
    assert!(
        e["error"]["message"].to_string().contains("--reason"),
        "{e}"
    );
    // Nothing was set, stored or audited.
    let (_, shown) = w.json(&["show", ID]);
    assert_eq!(shown["disposition"], "malicious");
    assert!(audit_of(&w, "report").is_empty());
    assert_eq!(w.state(), before);
}
