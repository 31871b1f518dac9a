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
        w.deliver(
            user,
            "",
            name,
            &forensics_fixture(file),
            false,
            1_796_119_200,
        );
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
        assert_eq!(
            copies_of(&w.mailbox("alice"), "warning-2026-12-01").len(),
            1
        );
        assert_eq!(
            copies_of(&w.mailbox("bob"), "lookalike-2026-12-01").len(),
            1
        );
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
fn a_mailbox_hunt_waits_under_a_confirmation_rule_and_the_next_reads_only_what_arrived_since() {
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
    // The next hunt reads each mailbox only since the first one (nothing arrived): no second
    // request.
    let second = hunt_wait(&w);
    assert_eq!(
        (
            second["mailboxes_resumed"].as_u64(),
            second["copies_read"].as_u64(),
            second["matches"].as_u64(),
            second["new_alerts"].as_u64()
        ),
        (Some(2), Some(0), Some(0), Some(0)),
        "{second}"
    );
    assert_eq!(second["decisions"].as_array().map(Vec::len), Some(0));
    // A hunt cut short before its marks moved reads the window again: its matches are
    // repeats, never a second request (the marks are cleared by removing an indicator).
    let out = w.run(&["ioc", "add", "url", "https://unrelated.example/x"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let (_, listed) = w.json(&["ioc", "list"]);
    let unrelated = listed.to_string().contains("unrelated.example");
    assert!(unrelated, "{listed}");
    let id = listed["indicators"]
        .as_array()
        .and_then(|l| {
            l.iter()
                .find(|i| i["value"] == "https://unrelated.example/x")
        })
        .and_then(|i| i["id"].as_i64())
        .unwrap_or_else(|| panic!("id in {listed}"));
    let out = w.run(&["ioc", "remove", &id.to_string()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let third = hunt_wait(&w);
    assert_eq!(
        (
            third["mailboxes_resumed"].as_u64(),
            third["matches"].as_u64(),
            third["repeats"].as_u64(),
            third["new_alerts"].as_u64()
        ),
        (Some(0), Some(1), Some(1), Some(0)),
        "{third}"
    );
    assert_eq!(third["decisions"].as_array().map(Vec::len), Some(0));
}

/// What a repeat hunt reads: for the indicators it hunted before, only the copies that
/// arrived since (a backdated `Date` does not hide one); for a new indicator, the window.
#[test]
fn a_repeat_hunt_reads_what_arrived_since_and_a_new_indicator_the_whole_window() {
    let w = phish_world("passive");
    let out = w.run(&["ioc", "add", "url-domain", "evil-bank.example"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let first = hunt_wait(&w);
    assert_eq!(
        (first["copies_read"].as_u64(), first["new_alerts"].as_u64()),
        (Some(4), Some(1)),
        "{first}"
    );
    // A second campaign message arrives now at carol, its Date backdated a year by its sender.
    let late = forensics_fixture("phish.eml")
        .replace(
            "phish-2026-12-01@evil-bank.example",
            "phish-late@evil-bank.example",
        )
        .replace("Dec 2026", "Dec 2025");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    w.make_mailboxes(&["carol"]);
    w.deliver("carol", "", "9.M9.host", &late, false, now);
    let second = hunt_wait(&w);
    assert_eq!(
        (
            second["mailboxes_resumed"].as_u64(),
            second["copies_read"].as_u64(),
            second["new_alerts"].as_u64()
        ),
        (Some(2), Some(1), Some(1)),
        "alice and bob resumed, carol new: only the late copy read: {second}"
    );
    // A new indicator is matched against the whole window (5 copies), the old one still only
    // since the last hunt, less its 10 minutes of slack (the late copy again, a repeat).
    let out = w.run(&["ioc", "add", "attachment-sha256", EXE_SHA]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let third = hunt_wait(&w);
    assert_eq!(
        (
            third["copies_read"].as_u64(),
            third["mailboxes_resumed"].as_u64(),
            third["new_alerts"].as_u64()
        ),
        (Some(6), Some(3), Some(2)),
        "{third}"
    );
}

// Measurements: run by hand (`cargo test --test ioc_hunt -- --ignored --nocapture measure`),
// figures in benches/README.md. Each times whole `retractor` processes, with their peak
// memory from `/usr/bin/time -v`.

/// `retractor --json ARGS` under `/usr/bin/time -v`: the JSON answer, the wall time in
/// seconds and the peak resident memory in MB.
fn timed(w: &World, args: &[&str]) -> (Value, f64, f64) {
    let start = std::time::Instant::now();
    let out = std::process::Command::new("/usr/bin/time")
        .arg("-v")
        .arg(env!("CARGO_BIN_EXE_retractor"))
        .arg("--config")
        .arg(w.config())
        .arg("--json")
        .args(args)
        .env("XDG_STATE_HOME", w.path().join("state"))
        .env("XDG_DATA_HOME", w.path().join("data"))
        .env("XDG_CONFIG_HOME", w.path().join("xdg-config"))
        .env_remove("RETRACTOR_CONFIG")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run /usr/bin/time");
    let wall = start.elapsed().as_secs_f64();
    assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
    let rss_kb: f64 = stderr(&out)
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("Maximum resident set size (kbytes): ")
        })
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(f64::NAN);
    let v = serde_json::from_str(stdout(&out).trim()).unwrap_or(Value::Null);
    (v, wall, rss_kb / 1024.0)
}

/// Evidence extraction, in this process (the build this test runs in: `--release` for the
/// optimised figure), on the forensics fixtures: median and p95 of 2,000 single extractions.
#[test]
#[ignore = "a measurement: run by hand, figures in benches/README.md"]
fn measure_evidence_extraction() {
    const RUNS: usize = 2_000;
    for name in ["phish.eml", "newsletter.eml", "lookalike.eml"] {
        let raw = forensics_fixture(name).into_bytes();
        for _ in 0..50 {
            std::hint::black_box(retractor::forensics::extract(&raw));
        }
        let mut times: Vec<f64> = (0..RUNS)
            .map(|_| {
                let start = std::time::Instant::now();
                std::hint::black_box(retractor::forensics::extract(std::hint::black_box(&raw)));
                start.elapsed().as_secs_f64() * 1e6
            })
            .collect();
        times.sort_by(f64::total_cmp);
        println!(
            "evidence extraction, {name} ({} bytes): median {:.1} µs, p95 {:.1} µs",
            raw.len(),
            times[RUNS / 2],
            times[RUNS * 95 / 100]
        );
    }
}

/// A hunt over a 1,000,000-message log (over the last 12 days, 1,000 recipients): three log
/// indicators (sender, sender domain, subject; 250 matches), then the same again (resumed:
/// nothing to read), then a URL indicator added (the log's recipients within the window
/// listed, their 1,000 empty Maildir mailboxes searched).
#[test]
#[ignore = "a measurement: run by hand, figures in benches/README.md"]
fn measure_a_hunt_over_a_million_message_log() {
    use std::io::Write;
    const ROWS: u64 = 1_000_000;
    let w = World::new("");
    let users: Vec<String> = (0..1000).map(|i| format!("u{i:04}")).collect();
    w.make_mailboxes(&users.iter().map(String::as_str).collect::<Vec<_>>());
    let log = w.path().join("big.jsonl");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&log).unwrap());
    let now = chrono::Utc::now();
    for i in 0..ROWS {
        let from = if i % 10_000 == 7 {
            "billing@evil.example".to_string()
        } else {
            format!("s{}@sender{}.example", i % 5_000, i % 2_000)
        };
        let subject = if i % 20_000 == 11 {
            "Invoice overdue".to_string()
        } else {
            format!("Weekly report {}", i % 997)
        };
        let at = now - chrono::Duration::seconds(i as i64);
        let line = serde_json::json!({
            "message_id": format!("<m{i}@gen.example>"), "from": from,
            "to": [format!("u{:04}@corp.test", i % 1000)], "subject": subject,
            "received_at": at.to_rfc3339(),
        });
        writeln!(out, "{line}").unwrap();
    }
    out.flush().unwrap();
    drop(out);
    let (_, ingest, ingest_mb) = timed(
        &w,
        &[
            "ingest",
            log.to_str().unwrap(),
            "--format",
            "jsonl",
            "--tenant",
            "corp",
        ],
    );
    println!("ingest of {ROWS} rows (not the hunt): {ingest:.1} s, {ingest_mb:.0} MB");
    for (kind, value) in [
        ("sender", "billing@evil.example"),
        ("sender-domain", "evil.example"),
        ("subject", "Invoice overdue"),
    ] {
        let out = w.run(&["ioc", "add", kind, value]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    }
    let (first, wall, mb) = timed(&w, &["hunt"]);
    let first = &first["hunt"];
    assert_eq!(
        (first["examined"].as_u64(), first["matches"].as_u64()),
        (Some(3 * ROWS), Some(250)),
        "{first}"
    );
    println!("log hunt, 3 indicators x {ROWS} rows, 250 alerts: {wall:.1} s, {mb:.0} MB");
    let (again, wall, mb) = timed(&w, &["hunt"]);
    assert_eq!(again["hunt"]["examined"].as_u64(), Some(0), "{again}");
    println!("the same hunt again (resumed, nothing new): {wall:.2} s, {mb:.0} MB");
    let out = w.run(&["ioc", "add", "url-domain", "evil-bank.example"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let (third, wall, mb) = timed(&w, &["hunt"]);
    let third = &third["hunt"];
    assert_eq!(third["mailboxes"].as_u64(), Some(1000), "{third}");
    println!(
        "with a URL-domain indicator: the window's recipients listed from the 1M-row log and \
         1,000 empty Maildir mailboxes searched: {wall:.2} s, {mb:.0} MB"
    );
}

/// A hunt in 1,000 Maildir mailboxes of 10 messages each (the phish in every tenth mailbox,
/// the look-alike in every tenth too, the newsletter in the rest, 9 plain messages each): by
/// URL domain, then by URL domain and attachment hash, then the same again (repeats).
#[test]
#[ignore = "a measurement: run by hand, figures in benches/README.md"]
fn measure_a_hunt_in_a_thousand_maildir_mailboxes() {
    const MAILBOXES: usize = 1000;
    let w = World::new("[reevaluation]\nwindow = \"520w\"\n");
    let phish = forensics_fixture("phish.eml");
    let lookalike = forensics_fixture("lookalike.eml");
    let newsletter = forensics_fixture("newsletter.eml");
    for m in 0..MAILBOXES {
        let user = format!("u{m:04}");
        let special = match m % 10 {
            0 => &phish,
            5 => &lookalike,
            _ => &newsletter,
        };
        w.deliver(&user, "", "0.M1.host", special, false, 1_796_119_200);
        for k in 1..10 {
            let text = message(
                &format!("<n{m}-{k}@corp.test>"),
                "colleague@corp.test",
                &[&format!("{user}@corp.test")],
                "Minutes",
                None,
            );
            w.deliver(
                &user,
                "",
                &format!("{k}.M1.host"),
                &text,
                true,
                1_796_119_200,
            );
        }
    }
    let out = w.run(&["ioc", "add", "url-domain", "evil-bank.example"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let (first, wall, mb) = timed(&w, &["hunt"]);
    let first = &first["hunt"];
    assert_eq!(
        (first["mailboxes"].as_u64(), first["matches"].as_u64()),
        (Some(MAILBOXES as u64), Some(1)),
        "{first}"
    );
    println!(
        "mailbox hunt by URL domain, {MAILBOXES} mailboxes, {} copies read, 1 alert naming 100 \
         mailboxes: {wall:.2} s, {mb:.0} MB",
        first["copies_read"]
    );
    let out = w.run(&["ioc", "add", "attachment-sha256", EXE_SHA]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let (second, wall, mb) = timed(&w, &["hunt"]);
    let second = &second["hunt"];
    // The new indicator reads the window; the URL domain only what arrived since (nothing).
    assert_eq!(
        (
            second["matches"].as_u64(),
            second["new_alerts"].as_u64(),
            second["mailboxes_resumed"].as_u64()
        ),
        (Some(1), Some(1), Some(MAILBOXES as u64)),
        "{second}"
    );
    println!(
        "an attachment SHA-256 added (the URL domain resumed): {} copies read: {wall:.2} s, \
         {mb:.0} MB",
        second["copies_read"]
    );
    let (third, wall, mb) = timed(&w, &["hunt"]);
    let third = &third["hunt"];
    assert_eq!(
        (
            third["mailboxes_resumed"].as_u64(),
            third["copies_read"].as_u64(),
            third["new_alerts"].as_u64()
        ),
        (Some(MAILBOXES as u64), Some(0), Some(0)),
        "{third}"
    );
    println!(
        "the same again (every mailbox resumed from its mark, nothing arrived): {} copies read: \
         {wall:.2} s, {mb:.0} MB",
        third["copies_read"]
    );
}
