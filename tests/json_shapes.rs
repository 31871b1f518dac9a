//! The JSON shapes of CONTRACT.md: every documented field is there, with the documented type.
//! New fields may appear, so only presence and types are checked, never the exact key set.

mod common;

use common::*;
use serde_json::Value;

const ROOT: &str = "<shape-1@bad.example>";
const REPLY: &str = "<shape-2@corp.test>";

fn world() -> World {
    let w = World::new("");
    w.make_mailboxes(&["alice", "bob", "quarantine"]);
    let root = message(
        ROOT,
        "Boss <boss@bad.example>",
        &["alice@corp.test", "bob@corp.test"],
        "Urgent",
        None,
    );
    w.deliver("alice", "", "1.M1.host", &root, false, 1_795_000_000);
    w.deliver("bob", "", "2.M1.host", &root, false, 1_795_000_000);
    let reply = message(
        REPLY,
        "bob@corp.test",
        &["alice@corp.test"],
        "Re: Urgent",
        Some(ROOT),
    );
    w.deliver("alice", "", "3.M1.host", &reply, false, 1_795_000_100);
    let out = w.ingest_lines(&[
        log_line(
            ROOT,
            "boss@bad.example",
            &["alice@corp.test", "bob@corp.test", "x@partner.example"],
            "Urgent",
            None,
        ),
        log_line(
            REPLY,
            "bob@corp.test",
            &["alice@corp.test"],
            "Re: Urgent",
            Some(ROOT),
        ),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    w
}

#[track_caller]
fn assert_rfc3339_utc(v: &Value) {
    let s = v
        .as_str()
        .unwrap_or_else(|| panic!("not a time string: {v}"));
    let t = chrono::DateTime::parse_from_rfc3339(s).unwrap_or_else(|e| panic!("{s}: {e}"));
    assert_eq!(t.offset().local_minus_utc(), 0, "{s} is not UTC");
}

const MESSAGE_FIELDS: [&str; 9] = [
    "id",
    "message_id",
    "from",
    "subject",
    "received_at",
    "recipients",
    "status",
    "disposition",
    "tenant",
];
const JOB_FIELDS: [&str; 13] = [
    "id",
    "kind",
    "action",
    "status",
    "initiated_by",
    "reason",
    "matched",
    "remediated",
    "failed",
    "skipped",
    "started_at",
    "finished_at",
    "items",
];
const ITEM_FIELDS: [&str; 7] = [
    "mailbox",
    "message_id",
    "depth",
    "result",
    "error",
    "from_folder",
    "to_folder",
];

#[track_caller]
fn assert_message(m: &Value) {
    assert_fields(m, &MESSAGE_FIELDS);
    assert!(m["id"].is_i64(), "{m}");
    assert!(
        m["recipients"]
            .as_array()
            .is_some_and(|r| r.iter().all(Value::is_string)),
        "{m}"
    );
    assert_rfc3339_utc(&m["received_at"]);
    for f in ["message_id", "from", "subject", "status", "tenant"] {
        assert!(m[f].is_string(), "{f}: {m}");
    }
}

#[test]
fn search_and_show() {
    let w = world();
    let (_, v) = w.json(&["search"]);
    assert_eq!(keys(&v), vec!["messages"]);
    let messages = v["messages"].as_array().expect("messages");
    assert_eq!(messages.len(), 2);
    messages.iter().for_each(assert_message);
    let root = messages
        .iter()
        .find(|m| m["message_id"] == ROOT)
        .expect("root");
    assert_eq!(root["from"], "boss@bad.example");
    assert_eq!(root["status"], "delivered");
    assert_eq!(root["disposition"], "malicious");
    assert_eq!(root["received_at"], "2026-11-20T10:00:00Z");

    let (_, s) = w.json(&["show", ROOT]);
    assert_message(&s);
    assert_fields(&s, &["deliveries", "conversation", "headers"]);
    assert_eq!(s["id"], root["id"]);
    let deliveries = s["deliveries"].as_array().expect("deliveries");
    assert_eq!(deliveries.len(), 3);
    for d in deliveries {
        assert_fields(d, &["recipient", "mailbox", "status", "folder", "on_hold"]);
        assert!(d["on_hold"].is_boolean(), "{d}");
        assert!(d["folder"].is_null() || d["folder"].is_string(), "{d}");
    }
    let conversation = s["conversation"].as_array().expect("conversation");
    assert_eq!(conversation.len(), 1, "{s}");
    let c = &conversation[0];
    assert_fields(
        c,
        &["depth", "id", "message_id", "from", "subject", "recipients"],
    );
    assert_eq!(c["depth"], 1);
    assert_eq!(c["message_id"], REPLY);
    assert!(c["id"].is_i64() && c["recipients"].is_array(), "{c}");
    assert!(
        s["headers"].as_array().is_some_and(|h| !h.is_empty()),
        "headers from the mailbox copy: {s}"
    );
}

#[test]
fn plan_job_jobs_and_check() {
    let w = world();
    let (_, p) = w.json(&[
        "retract",
        ROOT,
        "--action",
        "trash",
        "--depth",
        "1",
        "--dry-run",
    ]);
    assert_eq!(keys(&p), vec!["plan"]);
    let plan = &p["plan"];
    assert_fields(plan, &["action", "items", "by_depth"]);
    assert_eq!(plan["action"], "trash");
    for i in plan["items"].as_array().expect("items") {
        assert_fields(i, &["mailbox", "message_id", "depth", "folder"]);
        assert!(i["depth"].is_u64(), "{i}");
    }
    for d in plan["by_depth"].as_array().expect("by_depth") {
        assert_fields(d, &["depth", "messages", "mailboxes"]);
        assert!(d["messages"].is_u64() && d["mailboxes"].is_u64(), "{d}");
    }

    // Queued: {"job":{"id","status":"queued",...}}.
    let (_, q) = w.json(&[
        "retract",
        ROOT,
        "--action",
        "trash",
        "--recipient",
        "alice@corp.test",
        "--yes",
    ]);
    assert_eq!(keys(&q), vec!["job"]);
    assert!(q["job"]["id"].is_i64(), "{q}");
    assert_eq!(q["job"]["status"], "queued");
    let (_, c) = w.json(&["cancel", &q["job"]["id"].to_string()]);
    assert_eq!(c["job"]["status"], "cancelled");

    // With --wait: the full job with items.
    let (code, j) = w.json(&[
        "retract", ROOT, "--action", "trash", "--reason", "T-1", "--yes", "--wait",
    ]);
    assert_eq!(code, 0, "{j}");
    assert_eq!(keys(&j), vec!["job"]);
    let job = &j["job"];
    assert_fields(job, &JOB_FIELDS);
    assert_eq!(job["kind"], "retract");
    assert_eq!(job["action"], "trash");
    assert_eq!(job["status"], "done");
    assert_eq!(job["initiated_by"], login().as_str());
    assert_eq!(job["reason"], "T-1");
    for f in ["matched", "remediated", "failed", "skipped"] {
        assert!(job[f].is_u64(), "{f}: {job}");
    }
    assert_eq!(job["matched"], 3);
    assert_eq!(job["remediated"], 2);
    assert_eq!(job["skipped"], 1);
    assert_rfc3339_utc(&job["started_at"]);
    assert_rfc3339_utc(&job["finished_at"]);
    let items = job["items"].as_array().expect("items");
    assert_eq!(items.len(), 3);
    for i in items {
        assert_fields(i, &ITEM_FIELDS);
    }
    let alice = items
        .iter()
        .find(|i| i["mailbox"] == "alice@corp.test")
        .expect("alice");
    assert_eq!(
        (&alice["from_folder"], &alice["to_folder"]),
        (&Value::from("INBOX"), &Value::from("Trash"))
    );

    // `jobs JOB` is the same shape; `jobs` lists them newest first, without items.
    let (_, one) = w.json(&["jobs", &job["id"].to_string()]);
    assert_fields(&one["job"], &JOB_FIELDS);
    assert_eq!(one["job"]["items"].as_array().map(Vec::len), Some(3));
    let (_, all) = w.json(&["jobs"]);
    assert_eq!(keys(&all), vec!["jobs"]);
    let list = all["jobs"].as_array().expect("jobs");
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["id"], job["id"], "newest first");
    for entry in list {
        assert_fields(entry, &JOB_FIELDS[..JOB_FIELDS.len() - 1]);
        assert!(entry.get("items").is_none(), "{entry}");
    }

    let (code, ch) = w.json(&["check"]);
    assert_eq!(code, 0, "{ch}");
    assert_eq!(keys(&ch), vec!["authority", "tenants", "warnings"]);
    assert_eq!(
        ch["authority"], "advisory",
        "no service: roles are advisory"
    );
    assert!(ch["warnings"].is_array(), "{ch}");
    let tenants = ch["tenants"].as_array().expect("tenants");
    assert_eq!(tenants.len(), 1);
    assert_fields(&tenants[0], &["name", "kind", "ok", "detail"]);
    assert_eq!(tenants[0]["name"], "corp");
    assert_eq!(tenants[0]["kind"], "maildir");
    assert_eq!(tenants[0]["ok"], true);
    assert!(tenants[0]["detail"].is_string());
}

#[test]
fn audit_and_verify() {
    let w = world();
    let (code, _) = w.json(&[
        "retract",
        ROOT,
        "--action",
        "move-to-junk",
        "--yes",
        "--wait",
    ]);
    assert_eq!(code, 0);
    let (code, v) = w.json(&["audit", "verify"]);
    assert_eq!(code, 0);
    assert_fields(
        &v,
        &[
            "ok",
            "records",
            "first_bad",
            "signed",
            "witness_entries",
            "contradiction",
        ],
    );
    assert_eq!(v["ok"], true);
    assert!(v["first_bad"].is_null(), "{v}");
    let (_, a) = w.json(&["audit"]);
    let entries = a["audit"].as_array().expect("audit");
    assert_eq!(v["records"].as_u64(), Some(entries.len() as u64), "{v}");
    assert_eq!(
        entries.len(),
        1 + 1 + 2,
        "the ingest, one request, one record per remediated item"
    );
    for e in entries {
        assert_fields(
            e,
            &[
                "seq", "at", "actor", "action", "target", "outcome", "job", "reason",
            ],
        );
        assert_rfc3339_utc(&e["at"]);
        assert_eq!(e["authority"], "advisory", "{e}");
    }
    // An empty store verifies too.
    let empty = World::new("");
    let (code, v) = empty.json(&["audit", "verify"]);
    assert_eq!(
        (code, &v["ok"], &v["records"]),
        (0, &Value::Bool(true), &Value::from(0))
    );
}

#[test]
fn json_output_escapes_c1_and_format_characters() {
    let w = World::new("");
    let subject = "Pay\u{85}now \u{9b}31m inv\u{202e}fdp.exe ce\u{200b}o\u{feff} über";
    let out = w.ingest_lines(&[log_line(
        "<c1-1@bad.example>",
        "boss@bad.example",
        &["alice@corp.test"],
        subject,
        None,
    )]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = w.run(&["--json", "search", "pay"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    for bad in ['\u{85}', '\u{9b}', '\u{202e}', '\u{200b}', '\u{feff}'] {
        assert!(!text.contains(bad), "raw U+{:04X} in {text}", bad as u32);
    }
    assert!(
        text.contains("\\u202e") && text.contains("\\u0085"),
        "{text}"
    );
    let v: Value = serde_json::from_str(&text).expect("still JSON");
    assert_eq!(v["messages"][0]["subject"], subject, "{v}");
    // An error quoting such text is escaped the same way on stderr.
    let out = w.run(&["--json", "search", "frm:\u{202e}x"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(!stderr(&out).contains('\u{202e}'), "{}", stderr(&out));
}

/// A restore's items describe the restore: from the folder the retraction put the copy in,
/// to the folder it goes back to; in the JSON and in `jobs JOB`'s table alike.
#[test]
fn restore_items_read_forward() {
    let w = world();
    let (code, pulled) = w.json(&[
        "retract",
        ROOT,
        "--action",
        "move-to-junk",
        "--yes",
        "--wait",
    ]);
    assert_eq!(code, 0, "{pulled}");
    let (code, restored) = w.json(&[
        "restore",
        ROOT,
        "--recipient",
        "alice@corp.test",
        "--reason",
        "T-2 false positive",
        "--yes",
        "--wait",
    ]);
    assert_eq!(code, 0, "{restored}");
    let items = restored["job"]["items"].as_array().expect("items");
    assert_eq!(items.len(), 1, "{restored}");
    assert_eq!(items[0]["mailbox"], "alice@corp.test");
    assert_eq!(
        (&items[0]["from_folder"], &items[0]["to_folder"]),
        (&Value::from("Junk"), &Value::from("INBOX")),
        "{restored}"
    );
    // The retraction's own items still read INBOX -> Junk.
    let (_, retract) = w.json(&["jobs", &pulled["job"]["id"].to_string()]);
    let alice = retract["job"]["items"]
        .as_array()
        .and_then(|i| i.iter().find(|i| i["mailbox"] == "alice@corp.test"))
        .cloned()
        .expect("alice");
    assert_eq!(
        (&alice["from_folder"], &alice["to_folder"]),
        (&Value::from("INBOX"), &Value::from("Junk"))
    );
    let table = w.run(&["jobs", &restored["job"]["id"].to_string()]);
    let text = stdout(&table);
    let row = text
        .lines()
        .find(|l| l.starts_with("alice@corp.test"))
        .unwrap_or_else(|| panic!("no alice row:\n{text}"));
    let junk = row.find("Junk").expect("Junk in the row");
    let inbox = row.find("INBOX").expect("INBOX in the row");
    assert!(junk < inbox, "FROM Junk, TO INBOX: {row}");
}

/// A word as typed is a prefix (`urg` finds "Urgent"), and a search that finds nothing says
/// why on stderr: the term that matches no message, or the filter that leaves the rest out.
#[test]
fn search_finds_prefixes_and_says_why_nothing_matched() {
    let w = world();
    let (code, found) = w.json(&["search", "urg"]);
    assert_eq!(code, 0, "{found}");
    assert_eq!(
        found["messages"].as_array().map(Vec::len),
        Some(2),
        "{found}"
    );
    let out = w.run(&["search", "urg", "docux"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        stderr(&out).contains("no messages: no message matches 'docux'"),
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&w.run(&["search", "status:retracted"]))
            .contains("no messages: no message matches 'status:retracted'")
    );
    // The reply alone has "Re", and it is bob's: the filter leaves it out.
    let out = w.run(&["search", "re", "-from:bob"]);
    assert!(
        stderr(&out).contains("1 message(s) match 're', none within the filters '-from:bob'"),
        "{}",
        stderr(&out)
    );
}

/// `audit --action` keeps the records whose action starts with the text, `--target` those
/// whose target contains it; with `--actor` they narrow together, in the store's query.
#[test]
fn audit_action_and_target_narrow_the_trail() {
    let w = world();
    let (code, _) = w.json(&["retract", ROOT, "--action", "trash", "--yes", "--wait"]);
    assert_eq!(code, 0);
    let (_, all) = w.json(&["audit"]);
    let entries = all["audit"].as_array().expect("audit").clone();
    let field = |e: &Value, f: &str| e[f].as_str().unwrap_or_default().to_string();
    // A record of one mailbox's copy: its target names the mailbox.
    let item = entries
        .iter()
        .find(|e| field(e, "target").contains("alice@corp.test"))
        .unwrap_or_else(|| panic!("no record of alice's copy: {all}"));
    let action = field(item, "action");
    let (code, by_action) = w.json(&["audit", "--action", &action[..3]]);
    assert_eq!(code, 0, "{by_action}");
    let got = by_action["audit"].as_array().expect("audit");
    let expected: Vec<&Value> = entries
        .iter()
        .filter(|e| field(e, "action").starts_with(&action[..3]))
        .collect();
    assert!(!got.is_empty(), "{by_action}");
    assert_eq!(
        got.iter().collect::<Vec<_>>(),
        expected,
        "the action is a prefix"
    );
    let (code, by_target) = w.json(&["audit", "--target", "alice@corp.test", "--action", &action]);
    assert_eq!(code, 0, "{by_target}");
    let got = by_target["audit"].as_array().expect("audit");
    let expected: Vec<&Value> = entries
        .iter()
        .filter(|e| field(e, "target").contains("alice@corp.test") && field(e, "action") == action)
        .collect();
    assert!(!got.is_empty(), "{by_target}");
    assert_eq!(got.iter().collect::<Vec<_>>(), expected, "both hold");
    let (code, none) = w.json(&["audit", "--target", "nobody@nowhere.test"]);
    assert_eq!(code, 0);
    assert_eq!(none["audit"], Value::Array(Vec::new()), "{none}");
    // The table has the same rows.
    let table = stdout(&w.run(&["audit", "--target", "alice@corp.test"]));
    assert!(table.contains("alice@corp.test"), "{table}");
    assert!(!table.contains("bob@corp.test "), "{table}");
}

/// `audit --until` finds the records before a time even when newer ones exceed `--limit`:
/// the bound is part of the store's query, not a filter over the newest records.
#[test]
fn audit_until_reaches_past_the_newest_records() {
    let w = world();
    let (code, _) = w.json(&["retract", ROOT, "--action", "trash", "--yes", "--wait"]);
    assert_eq!(code, 0);
    let (_, all) = w.json(&["audit"]);
    let entries = all["audit"].as_array().expect("audit");
    assert!(entries.len() >= 3, "{all}");
    let first = &entries[0];
    let at = first["at"].as_str().expect("at");
    let (code, until) = w.json(&["audit", "--until", at, "--limit", "1"]);
    assert_eq!(code, 0, "{until}");
    let got = until["audit"].as_array().expect("audit");
    assert_eq!(got.len(), 1, "{until}");
    assert_eq!(got[0]["seq"], first["seq"], "{until}");
    // A bad WHEN names the option.
    let (code, e) = w.json_err(&["audit", "--until", "yesterday-ish"]);
    assert_eq!(code, 2);
    assert!(
        e["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("--until")),
        "{e}"
    );
}

/// `show --json` says per delivery whether the user had read the copy and where it sat
/// before anything was done (null while no job touched it): a copy the user had trashed
/// reads `Trash`, not "delivered", after a pull. Once every copy is quarantined, the
/// headers come from the quarantine's copy, and `headers_source` says so.
#[test]
fn show_says_read_state_original_folder_and_which_copy_the_headers_came_from() {
    let w = World::new("");
    w.make_mailboxes(&["alice", "bob", "quarantine"]);
    let root = message(
        ROOT,
        "Boss <boss@bad.example>",
        &["alice@corp.test", "bob@corp.test"],
        "Urgent",
        None,
    );
    // Alice read it and trashed it herself; Bob never opened it.
    w.deliver("alice", "Trash", "1.M1.host", &root, true, 1_795_000_000);
    w.deliver("bob", "", "2.M1.host", &root, false, 1_795_000_000);
    let out = w.ingest_lines(&[log_line(
        ROOT,
        "boss@bad.example",
        &["alice@corp.test", "bob@corp.test", "x@partner.example"],
        "Urgent",
        None,
    )]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let states = |s: &Value| -> Vec<(String, Value, Value)> {
        s["deliveries"]
            .as_array()
            .expect("deliveries")
            .iter()
            .map(|d| {
                assert_fields(d, &["read", "original_folder"]);
                (
                    d["recipient"].as_str().unwrap_or_default().to_string(),
                    d["read"].clone(),
                    d["original_folder"].clone(),
                )
            })
            .collect()
    };
    let (_, before) = w.json(&["show", ROOT]);
    assert!(
        states(&before)
            .iter()
            .all(|(_, read, folder)| read.is_null() && folder.is_null()),
        "nothing touched yet: {before}"
    );
    assert_eq!(before["headers_source"]["kind"], "mailbox", "{before}");
    let (code, pulled) = w.json(&["retract", ROOT, "--action", "quarantine", "--yes", "--wait"]);
    assert_eq!(code, 0, "{pulled}");
    let (_, after) = w.json(&["show", ROOT]);
    assert_eq!(
        states(&after),
        vec![
            (
                "alice@corp.test".into(),
                Value::from(true),
                Value::from("Trash")
            ),
            (
                "bob@corp.test".into(),
                Value::from(false),
                Value::from("INBOX")
            ),
            ("x@partner.example".into(), Value::Null, Value::Null),
        ],
        "{after}"
    );
    assert_eq!(after["headers_source"]["kind"], "quarantine", "{after}");
    assert_eq!(
        after["headers_source"]["mailbox"], "quarantine@corp.test",
        "{after}"
    );
    assert!(
        after["headers"]
            .as_array()
            .is_some_and(|h| h.iter().any(|f| f[0] == "Subject")),
        "headers read from the quarantine copy: {after}"
    );
    // The text form names the columns and the copy read.
    let text = stdout(&w.run(&["show", ROOT]));
    assert!(text.contains("READ") && text.contains("WAS IN"), "{text}");
    let alice = text
        .lines()
        .find(|l| l.starts_with("alice@corp.test"))
        .unwrap_or_else(|| panic!("no alice row:\n{text}"));
    assert!(alice.contains("yes") && alice.contains("Trash"), "{alice}");
    assert!(
        text.contains("Headers      from the quarantine copy in quarantine@corp.test"),
        "{text}"
    );
}
