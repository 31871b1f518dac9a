//! `ingest --format postfix` and `--format m365-trace` through the real binary: what loads is
//! searchable with the right recipients, and the exit code says whether lines were skipped.

mod common;

use std::fs;
use std::io::Write;
use std::process::{Command, Stdio};

use common::*;
use serde_json::Value;

const MAILLOG: &str = "\
2026-11-20T10:00:01.000000+00:00 mx1 postfix/smtpd[1201]: connect from mail.bad.example[203.0.113.5]
2026-11-20T10:00:01.100000+00:00 mx1 postfix/smtpd[1201]: 4A1B2C3D4E: client=mail.bad.example[203.0.113.5]
2026-11-20T10:00:01.200000+00:00 mx1 postfix/cleanup[1202]: 4A1B2C3D4E: warning: header Subject: Payroll update from mail.bad.example[203.0.113.5]; from=<hr@bad.example> to=<alice@corp.test> proto=ESMTP helo=<mail.bad.example>
2026-11-20T10:00:01.300000+00:00 mx1 postfix/cleanup[1202]: 4A1B2C3D4E: message-id=<phish-9@bad.example>
2026-11-20T10:00:01.400000+00:00 mx1 postfix/qmgr[900]: 4A1B2C3D4E: from=<hr@bad.example>, size=4821, nrcpt=3 (queue active)
2026-11-20T10:00:02.000000+00:00 mx1 postfix/lmtp[1210]: 4A1B2C3D4E: to=<alice@corp.test>, relay=mail[private/dovecot-lmtp], delay=1, delays=0.1/0/0/0.9, dsn=2.0.0, status=sent (250 2.0.0 Saved)
2026-11-20T10:00:02.000000+00:00 mx1 postfix/lmtp[1210]: 4A1B2C3D4E: to=<bob@corp.test>, relay=mail[private/dovecot-lmtp], delay=1, delays=0.1/0/0/0.9, dsn=4.2.2, status=deferred (452 4.2.2 Mailbox full)
2026-11-20T10:00:02.000000+00:00 mx1 postfix/lmtp[1210]: 4A1B2C3D4E: to=<nobody@corp.test>, relay=mail[private/dovecot-lmtp], delay=1, delays=0.1/0/0/0.9, dsn=5.1.1, status=bounced (550 5.1.1 User unknown)
2026-11-20T10:30:02.000000+00:00 mx1 postfix/lmtp[1210]: 4A1B2C3D4E: to=<bob@corp.test>, relay=mail[private/dovecot-lmtp], delay=1801, delays=1800/0/0/1, dsn=2.0.0, status=sent (250 2.0.0 Saved)
2026-11-20T10:30:02.100000+00:00 mx1 postfix/qmgr[900]: 4A1B2C3D4E: removed
";

/// A line cut in half by a full disk, then the rest of the log.
const CUT: &str =
    "2026-11-20T10:40:00.000000+00:00 mx1 postfix/lmtp[1210]: 5F00AA11BB: to=<carol@corp.te\n";

const TRACE: &str = "\u{feff}\"Received\",\"Sender address\",\"Recipient address\",\"Subject\",\"Status\",\"Size\",\"Message ID\",\"Message trace ID\"\r\n\
\"11/20/2026 11:00:00 AM\",\"ceo@look-alike.example\",\"carol@corp.test\",\"Wire today, please\",\"Delivered\",\"3100\",\"<bec-1@look-alike.example>\",\"0b5f0000-0000-4000-8000-000000000001\"\r\n\
\"11/20/2026 11:00:00 AM\",\"ceo@look-alike.example\",\"dave@corp.test\",\"Wire today, please\",\"Delivered\",\"3100\",\"<bec-1@look-alike.example>\",\"0b5f0000-0000-4000-8000-000000000001\"\r\n\
\"11/20/2026 11:00:00 AM\",\"ceo@look-alike.example\",\"erin@corp.test\",\"Wire today, please\",\"FilteredAsSpam\",\"3100\",\"<bec-1@look-alike.example>\",\"0b5f0000-0000-4000-8000-000000000001\"\r\n";

fn ingest(w: &World, format: &str, name: &str, text: &str) -> (i32, Value) {
    let file = w.path().join(name);
    fs::write(&file, text).expect("write input");
    w.json(&[
        "ingest",
        "--format",
        format,
        file.to_str().expect("utf-8 path"),
    ])
}

/// The one logged message with this Message-ID, via `--json search`.
fn found(w: &World, message_id: &str) -> Value {
    let (code, v) = w.json(&["search", &format!("msgid:{message_id}")]);
    assert_eq!(code, 0, "{v}");
    let messages = v["messages"].as_array().expect("messages array");
    assert_eq!(messages.len(), 1, "{v}");
    messages[0].clone()
}

fn recipients(m: &Value) -> Vec<&str> {
    m["recipients"]
        .as_array()
        .expect("recipients array")
        .iter()
        .map(|r| r.as_str().expect("recipient string"))
        .collect()
}

#[test]
fn postfix_log_loads_sent_recipients_and_exit_code_tracks_rejects() {
    let w = World::new("");
    let (code, v) = ingest(&w, "postfix", "clean.log", MAILLOG);
    assert_eq!(code, 0, "{v}");
    let r = &v["ingest"];
    assert_eq!(r["inserted"], 1, "{v}");
    assert_eq!(r["ignored"], 1, "{v}");
    assert_eq!(r["incomplete"], 0, "{v}");
    assert_eq!(r["not_delivered"]["bounced"], 1, "{v}");
    assert_eq!(r["rejected"].as_array().map(Vec::len), Some(0), "{v}");

    let m = found(&w, "<phish-9@bad.example>");
    assert_eq!(recipients(&m), vec!["alice@corp.test", "bob@corp.test"]);
    assert_eq!(m["from"], "hr@bad.example");
    assert_eq!(m["subject"], "Payroll update");
    assert_eq!(m["received_at"], "2026-11-20T10:00:01Z");
    assert_eq!(m["tenant"], "corp");

    let (code, v) = ingest(&w, "postfix", "cut.log", &format!("{CUT}{MAILLOG}"));
    assert_eq!(code, 3, "{v}");
    let rejected = v["ingest"]["rejected"].as_array().expect("rejected");
    assert_eq!(rejected.len(), 1, "{v}");
    assert_eq!(rejected[0]["line"], 1);
    // The same message again: merged, not duplicated.
    assert_eq!(v["ingest"]["merged"], 1, "{v}");
    assert_eq!(
        recipients(&found(&w, "phish-9@bad.example")),
        vec!["alice@corp.test", "bob@corp.test"]
    );
}

#[test]
fn postfix_log_from_stdin() {
    let w = World::new("");
    let mut child = Command::new(env!("CARGO_BIN_EXE_retractor"))
        .arg("--config")
        .arg(w.config())
        .args(["ingest", "--format", "postfix", "-"])
        .env("XDG_STATE_HOME", w.path().join("state"))
        .env("XDG_DATA_HOME", w.path().join("data"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn retractor");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(MAILLOG.as_bytes())
        .expect("write stdin");
    let out = child.wait_with_output().expect("wait");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("1 records: 1 new"), "{stdout}");
    assert!(stdout.contains("1 bounced"), "{stdout}");
    assert_eq!(
        recipients(&found(&w, "phish-9@bad.example")),
        vec!["alice@corp.test", "bob@corp.test"]
    );
}

#[test]
fn message_trace_csv_joins_rows_and_a_missing_column_loads_nothing() {
    let w = World::new("");
    let (code, v) = ingest(&w, "m365-trace", "trace.csv", TRACE);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["ingest"]["records"], 1, "{v}");
    assert_eq!(v["ingest"]["not_delivered"]["filteredasspam"], 1, "{v}");
    let m = found(&w, "bec-1@look-alike.example");
    assert_eq!(recipients(&m), vec!["carol@corp.test", "dave@corp.test"]);
    assert_eq!(m["subject"], "Wire today, please");
    assert_eq!(m["received_at"], "2026-11-20T11:00:00Z");

    let bad_row = TRACE.replace(
        "\"11/20/2026 11:00:00 AM\",\"ceo@look-alike.example\",\"dave",
        "\"someday\",\"ceo@look-alike.example\",\"dave",
    );
    let (code, v) = ingest(&w, "m365-trace", "bad-row.csv", &bad_row);
    assert_eq!(code, 3, "{v}");
    assert_eq!(v["ingest"]["rejected"][0]["line"], 3, "{v}");

    let no_recipient = "Received,Sender address,Subject,Status,Message ID\n\
11/20/2026 11:00:00 AM,x@y.example,hi,Delivered,<lost@y.example>\n";
    let file = w.path().join("no-recipient.csv");
    fs::write(&file, no_recipient).expect("write");
    let out = w.run(&[
        "ingest",
        "--format",
        "m365-trace",
        file.to_str().expect("utf-8 path"),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("Recipient address"), "{stderr}");
    let (code, v) = w.json(&["search", "msgid:lost@y.example"]);
    assert_eq!(code, 0);
    assert_eq!(v["messages"].as_array().map(Vec::len), Some(0), "{v}");
}

#[test]
fn a_utf8_bom_does_not_cost_line_one_of_any_format() {
    let w = World::new("");
    let record = r#"{"message_id":"<bom-1@bad.example>","from":"a@bad.example","to":["alice@corp.test"],"received_at":"2026-11-20T10:00:00Z"}"#;
    let (code, v) = ingest(&w, "jsonl", "bom.jsonl", &format!("\u{feff}{record}\n"));
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["ingest"]["inserted"], 1, "{v}");
    assert_eq!(
        recipients(&found(&w, "bom-1@bad.example")),
        vec!["alice@corp.test"]
    );

    // Notepad and PowerShell 5.1's `Out-File -Encoding UTF8` mark the file; line 1 is the
    // client= line that starts the message.
    let log: String = MAILLOG.lines().skip(1).map(|l| format!("{l}\n")).collect();
    let (code, v) = ingest(&w, "postfix", "bom.log", &format!("\u{feff}{log}"));
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["ingest"]["rejected_total"], 0, "{v}");
    assert_eq!(v["ingest"]["ignored"], 0, "{v}");
    assert_eq!(
        recipients(&found(&w, "phish-9@bad.example")),
        vec!["alice@corp.test", "bob@corp.test"]
    );
}

#[test]
fn a_size_beyond_what_the_log_holds_is_a_line_error_naming_the_field() {
    let w = World::new("");
    let lines = concat!(
        r#"{"message_id":"<ok@x.example>","from":"a@x.example","to":["alice@corp.test"],"received_at":"2026-11-20T10:00:00Z","size":4096}"#,
        "\n",
        r#"{"message_id":"<huge@x.example>","from":"a@x.example","to":["alice@corp.test"],"received_at":"2026-11-20T10:00:00Z","size":18446744073709551615}"#,
        "\n",
    );
    let (code, v) = ingest(&w, "jsonl", "size.jsonl", lines);
    assert_eq!(code, 3, "{v}");
    let rejected = v["ingest"]["rejected"].as_array().expect("rejected");
    assert_eq!(rejected.len(), 1, "{v}");
    assert_eq!(rejected[0]["line"], 2, "{v}");
    let reason = rejected[0]["reason"].as_str().expect("reason");
    assert!(reason.contains("\"size\" 18446744073709551615"), "{reason}");
    let (_, none) = w.json(&["search", "msgid:huge@x.example"]);
    assert_eq!(none["messages"].as_array().map(Vec::len), Some(0), "{none}");
    found(&w, "ok@x.example");
}

#[test]
fn index_keeps_a_sender_with_a_display_name_and_no_address() {
    let w = World::new("");
    w.make_mailboxes(&["alice", "bob"]);
    for (user, file, from, id) in [
        (
            "alice",
            "1.M1.host",
            "\"PayPal Security\"",
            "<pp-1@phish.example>",
        ),
        ("bob", "2.M1.host", "Microsoft", "<ms-1@phish.example>"),
    ] {
        let text = format!(
            "From: {from}\r\nTo: {user}@corp.test\r\nSubject: Verify your account\r\nMessage-ID: {id}\r\nDate: Thu, 20 Nov 2026 10:00:00 +0000\r\n\r\nClick here.\r\n"
        );
        w.deliver(user, "", file, &text, false, 1_795_000_000);
    }
    let (code, v) = w.json(&["index", "--tenant", "corp"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["ingest"]["inserted"], 2, "{v}");
    assert_eq!(v["ingest"]["rejected_total"], 0, "{v}");
    let pp = found(&w, "pp-1@phish.example");
    assert_eq!(pp["from"], "\"paypal security\"");
    assert_eq!(recipients(&pp), vec!["alice@corp.test"]);
    let (code, by_name) = w.json(&["search", "from:paypal"]);
    assert_eq!(code, 0, "{by_name}");
    let ids: Vec<&str> = by_name["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .filter_map(|m| m["message_id"].as_str())
        .collect();
    assert_eq!(ids, vec!["<pp-1@phish.example>"], "{by_name}");
    assert_eq!(found(&w, "ms-1@phish.example")["from"], "\"microsoft\"");
}
