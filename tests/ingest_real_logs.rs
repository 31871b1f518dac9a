//! `retractor ingest` on inputs nobody here wrote: verbatim excerpts of a public Postfix
//! maillog with amavis re-injection (tests/fixtures/README.md names the source and licence)
//! and a Windows PowerShell 5.1 `Export-Csv` message trace in the three encodings it writes.

mod common;

use std::path::PathBuf;

use common::*;
use serde_json::Value;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn ingest(w: &World, format: &str, name: &str) -> (i32, Value) {
    let file = fixture(name);
    w.json(&[
        "ingest",
        "--format",
        format,
        file.to_str().expect("utf-8 path"),
    ])
}

/// Every logged message: Message-ID → recipients.
fn logged(w: &World) -> Vec<(String, Vec<String>)> {
    let (code, v) = w.json(&["search", "--limit", "1000"]);
    assert_eq!(code, 0, "{v}");
    let mut all: Vec<(String, Vec<String>)> = v["messages"]
        .as_array()
        .expect("messages array")
        .iter()
        .map(|m| {
            let id = m["message_id"].as_str().expect("message_id").to_string();
            let to = m["recipients"]
                .as_array()
                .expect("recipients")
                .iter()
                .map(|r| r.as_str().expect("recipient").to_string())
                .collect();
            (id, to)
        })
        .collect();
    all.sort();
    all
}

fn recipients_of<'a>(all: &'a [(String, Vec<String>)], id: &str) -> &'a [String] {
    match all.iter().find(|(m, _)| m == id) {
        Some((_, to)) => to,
        None => panic!("{id} not logged: {all:?}"),
    }
}

/// What one Postfix fixture must load: the report's counts and the deliveries out.
struct Expected {
    records: u64,
    ignored: u64,
    incomplete: u64,
    not_delivered: &'static [(&'static str, u64)],
    messages: usize,
    deliveries: usize,
}

fn check_postfix(name: &str, want: &Expected) -> (World, Vec<(String, Vec<String>)>) {
    let w = World::new("");
    let (code, v) = ingest(&w, "postfix", name);
    assert_eq!(code, 0, "{v}");
    let r = &v["ingest"];
    assert_eq!(r["rejected_total"], 0, "{v}");
    assert_eq!(r["records"], want.records, "{v}");
    assert_eq!(r["ignored"], want.ignored, "{v}");
    assert_eq!(r["incomplete"], want.incomplete, "{v}");
    assert_eq!(r["unresolved_handoffs_total"], 0, "{v}");
    let counted: Vec<(&str, u64)> = r["not_delivered"]
        .as_object()
        .expect("not_delivered")
        .iter()
        .map(|(k, n)| (k.as_str(), n.as_u64().expect("count")))
        .collect();
    assert_eq!(counted, want.not_delivered, "{v}");
    let all = logged(&w);
    assert_eq!(all.len(), want.messages, "{all:?}");
    assert_eq!(
        all.iter().map(|(_, to)| to.len()).sum::<usize>(),
        want.deliveries,
        "{all:?}"
    );
    (w, all)
}

#[test]
fn amavis_then_an_alias_delivers_once_to_the_final_mailbox() {
    let (_w, all) = check_postfix(
        "postfix-amavis-alias-chain.log",
        &Expected {
            records: 6,
            ignored: 930,
            incomplete: 2,
            not_delivered: &[("forwarded", 1)],
            messages: 6,
            deliveries: 6,
        },
    );
    // pickup -> amavis (127.0.0.1:10026) -> local(8) alias `root` -> pipe to Dovecot: three
    // queue ids, one delivery, under the first queue's Message-ID.
    assert_eq!(
        recipients_of(&all, "<4PbMVG6Tmjz3tG3@mail.brehm-berlin.de>"),
        ["user01.test@uhu-banane.net"]
    );
    // Every message here went through amavis; none is delivered to the hop's address.
    assert!(
        all.iter()
            .all(|(_, to)| to == &["user01.test@uhu-banane.net"]),
        "{all:?}"
    );
}

#[test]
fn a_bounce_after_the_filter_leaves_the_recipient_undelivered() {
    let (w, all) = check_postfix(
        "postfix-amavis-bounce-after-filter.log",
        &Expected {
            records: 4,
            ignored: 955,
            incomplete: 1,
            not_delivered: &[("bounced", 1)],
            messages: 4,
            deliveries: 4,
        },
    );
    // Delivered to user01 through amavis; a redirect of it went through amavis again
    // (127.0.0.1:10026, queued as 4PcV4K5FPLz3tBr) and that queue bounced.
    let id = "<64127072f0682_2bb81b51c3215362@nebenan-job-10-3-129-235.mail>";
    assert_eq!(recipients_of(&all, id), ["user01.test@uhu-banane.net"]);
    // Logged when it reached the first queue, not when the filter re-injected it.
    let (_, shown) = w.json(&["show", id]);
    assert_eq!(shown["received_at"], "2023-03-16T01:27:23Z", "{shown}");
    // The bounce notice itself is a delivery to the sender.
    assert_eq!(
        recipients_of(&all, "<4PcV4K5tFpz3tG5@mail.brehm-berlin.de>"),
        ["bounce-no-reply@nebenan.de"]
    );
}

#[test]
fn a_message_amavis_discarded_is_not_logged_as_delivered() {
    let (_w, all) = check_postfix(
        "postfix-amavis-discard.log",
        &Expected {
            records: 6,
            ignored: 935,
            incomplete: 1,
            not_delivered: &[("discarded", 1)],
            messages: 6,
            deliveries: 6,
        },
    );
    assert!(
        all.iter()
            .all(|(id, _)| id != "<20230315083320.C472106BAA31721C@howunited.com>"),
        "{all:?}"
    );
}

#[test]
fn a_powershell_export_csv_trace_loads_in_every_encoding_it_writes() {
    for name in [
        "m365-trace-ps51-export-csv.csv",
        "m365-trace-ps51-export-csv-unicode.csv",
        "m365-trace-ps51-export-csv-utf8bom.csv",
    ] {
        let w = World::new("");
        let (code, v) = ingest(&w, "m365-trace", name);
        assert_eq!(code, 0, "{name}: {v}");
        let r = &v["ingest"];
        assert_eq!(r["records"], 4, "{name}: {v}");
        assert_eq!(r["inserted"], 4, "{name}: {v}");
        assert_eq!(r["rejected_total"], 0, "{name}: {v}");
        let counted: Vec<(&str, u64)> = r["not_delivered"]
            .as_object()
            .expect("not_delivered")
            .iter()
            .map(|(k, n)| (k.as_str(), n.as_u64().expect("count")))
            .collect();
        assert_eq!(
            counted,
            [
                ("expanded", 1),
                ("failed", 1),
                ("filteredasspam", 1),
                ("pending", 1),
                ("quarantined", 1)
            ],
            "{name}"
        );
        let all = logged(&w);
        assert_eq!(
            all.iter().map(|(_, to)| to.len()).sum::<usize>(),
            6,
            "{name}: {all:?}"
        );
        assert_eq!(
            recipients_of(
                &all,
                "<CH2PR04MB7062A1B2C3D4E5F6@CH2PR04MB7062.namprd04.prod.outlook.com>"
            ),
            [
                "adele.vance@contoso.com",
                "alex.wilber@contoso.com",
                "lynne.robbins@contoso.com"
            ],
            "{name}"
        );
        let (_, shown) = w.json(&[
            "show",
            "<0100018c2f3e4d5a-6b7c8d9e-0f1a-2b3c-4d5e-6f7a8b9c0d1e-000000@email.amazonses.com>",
        ]);
        assert_eq!(
            shown["subject"], "Your invoice INV-20931, \"past due\"",
            "{name}: {shown}"
        );
    }
}
