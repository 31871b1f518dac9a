//! Auto-pull through the real binary on a real Maildir: malformed alert lines (named by line,
//! exit 3 / 2, nothing half-written) and a burst of 1,000 alerts with the worker killed -9
//! in the middle: none lost, none acted on twice. Rules, rails, approvals and false positives
//! are tested on the engine in `src/policy/tests.rs`.

mod common;
mod graph_server;

use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

const RULES: &str = r#"
[policy]
window = "52w"

[policy.rules.phish]
when = ["phish"]
action = "quarantine"
mode = "automatic"
"#;

fn alert_line(id: &str, message_id: &str) -> String {
    serde_json::json!({"id": id, "source": "soar", "message_id": message_id,
        "classification": "phish", "status": "active"})
    .to_string()
}

fn write_alerts(w: &World, name: &str, lines: &[String]) -> String {
    let path = w.path().join(name);
    let mut f = std::fs::File::create(&path).unwrap();
    for l in lines {
        writeln!(f, "{l}").unwrap();
    }
    path.to_str().unwrap().to_string()
}

#[test]
fn malformed_alert_lines_are_named_and_the_good_ones_stored() {
    let w = World::new(RULES);
    let file = write_alerts(
        &w,
        "alerts.jsonl",
        &[
            alert_line("a1", "<m1@x>"),
            r#"{"id":"a2","source":"soar","message_id":"<m2@x>","classification":"phish","status":"gone"}"#.into(),
            "not json".into(),
            alert_line("a3", "m3@x"),
        ],
    );
    let out = w.run(&["alert", &file]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("line 2: status"), "{err}");
    assert!(err.contains("line 3: -"), "{err}");
    assert!(stdout(&out).contains("2 new, 0 repeated, 0 updated, 2 bad lines skipped"));
    // Sent again: the good lines are recognised as repeats, not stored twice.
    let (code, v) = w.json(&["alert", &file]);
    assert_eq!(code, 3);
    assert_eq!(
        (v["alerts"]["new"].as_u64(), v["alerts"]["repeat"].as_u64()),
        (Some(0), Some(2))
    );
    assert_eq!(v["alerts"]["rejected"][0]["line"], 2);
    // Nothing good at all: bad input.
    let bad = write_alerts(&w, "bad.jsonl", &["{}".into()]);
    assert_eq!(w.run(&["alert", &bad]).status.code(), Some(2));
}

fn worker(w: &World) -> Child {
    Command::new(env!("CARGO_BIN_EXE_retractor"))
        .arg("--config")
        .arg(w.config())
        .args(["worker", "--follow"])
        .env("XDG_STATE_HOME", w.path().join("state"))
        .env("XDG_DATA_HOME", w.path().join("data"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start worker")
}

fn report(w: &World) -> Value {
    let (code, v) = w.json(&["policy", "report", "--since", "1d"]);
    assert_eq!(code, 0, "{v}");
    v["policy_report"].clone()
}

#[test]
fn a_burst_survives_kill_9_with_nothing_lost_and_nothing_done_twice() {
    const N: usize = 1000;
    let w = World::new(RULES);
    w.make_mailboxes(&["alice", "quarantine"]);
    let mut log = Vec::new();
    let mut alerts = Vec::new();
    for i in 0..N {
        let mid = format!("<burst-{i}@bad.example>");
        let text = message(
            &mid,
            "hr@bad.example",
            &["alice@corp.test"],
            "Payroll",
            None,
        );
        w.deliver(
            "alice",
            "",
            &format!("{i}.M1.host"),
            &text,
            false,
            1_795_000_000,
        );
        log.push(log_line(
            &mid,
            "hr@bad.example",
            &["alice@corp.test"],
            "Payroll",
            None,
        ));
        alerts.push(alert_line(&format!("burst-{i}"), &mid));
    }
    assert_eq!(w.ingest_lines(&log).status.code(), Some(0));
    let mut first = worker(&w);
    let file = write_alerts(&w, "burst.jsonl", &alerts);
    let stored = w.run(&["alert", &file]);
    assert_eq!(stored.status.code(), Some(0), "{}", stderr(&stored));
    // Kill the worker with no warning once it is part-way through the decisions.
    let start = Instant::now();
    loop {
        let decided = report(&w)["decisions"].as_u64().unwrap_or(0);
        if decided >= 50 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "no decisions made"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    first.kill().expect("kill -9");
    first.wait().unwrap();
    let mid_way = report(&w)["decisions"].as_u64().unwrap();
    assert!(
        (mid_way as usize) < N,
        "killed before the end ({mid_way} decided)"
    );
    let mut second = worker(&w);
    let start = Instant::now();
    let done = loop {
        let r = report(&w);
        let (_, jobs) = w.json(&["jobs", "--limit", "5000"]);
        let jobs = jobs["jobs"].as_array().cloned().unwrap_or_default();
        let finished = jobs.iter().all(|j| j["finished_at"].is_string());
        if r["decisions"].as_u64() == Some(N as u64) && jobs.len() == N && finished {
            break (r, jobs);
        }
        assert!(start.elapsed() < Duration::from_secs(600), "stuck: {r}");
        std::thread::sleep(Duration::from_millis(200));
    };
    second.kill().unwrap();
    second.wait().unwrap();
    let (r, jobs) = done;
    assert_eq!(r["pulls"].as_u64(), Some(N as u64), "{r}");
    let mut reasons: Vec<String> = jobs.iter().map(|j| j["reason"].to_string()).collect();
    reasons.sort();
    reasons.dedup();
    assert_eq!(reasons.len(), N, "one job per alert, none twice");
    assert!(
        copies_of(&w.mailbox("alice"), "burst-").is_empty(),
        "every copy pulled"
    );
    assert_eq!(
        copies_of(&w.mailbox("quarantine"), "burst-").len(),
        N,
        "each once"
    );
    let latency = &r["alert_to_first_pull"];
    eprintln!(
        "alert -> first copy pulled over {N} alerts (Maildir, kill -9 mid-way): median {} ms, p95 {} ms",
        latency["median_ms"], latency["p95_ms"]
    );
}

/// Alerts one at a time into a running `worker --follow`: each is submitted with `retractor
/// alert` (another process, as a SOAR's script would) once the one before has been pulled, so
/// every sample is one alert's path alone: stored, noticed by the decider, decided, planned,
/// queued, claimed, first copy moved. The figure is the store's own (`policy report`:
/// receipt to the first item finished `remediated`, both on the store's clock).
fn single_alert_latency(w: &World, message_ids: &[String], label: &str) -> Value {
    let mut follower = worker(w);
    for (i, mid) in message_ids.iter().enumerate() {
        let file = write_alerts(w, "one.jsonl", &[alert_line(&format!("lat-{i}"), mid)]);
        let out = w.run(&["alert", &file]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let start = Instant::now();
        while report(w)["alert_to_first_pull"]["samples"].as_u64() < Some(i as u64 + 1) {
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "alert {i} not pulled: {}",
                report(w)
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    follower.kill().expect("stop the worker");
    follower.wait().expect("reap the worker");
    let r = report(w);
    let latency = &r["alert_to_first_pull"];
    eprintln!(
        "{label}: alert to first copy pulled over {} alerts: median {} ms, p95 {} ms",
        latency["samples"], latency["median_ms"], latency["p95_ms"]
    );
    assert_eq!(r["pulls"].as_u64(), Some(message_ids.len() as u64), "{r}");
    r
}

const LATENCY_SAMPLES: usize = 40;
/// Recipients of each alerted message: a small campaign.
const LATENCY_RECIPIENTS: usize = 5;

/// `cargo test --release --test auto_pull -- --ignored --nocapture latency_on_maildir`
#[test]
#[ignore = "a measurement: run by hand, figures in benches/README.md"]
fn latency_on_maildir() {
    let w = World::new(RULES);
    let users: Vec<String> = (0..LATENCY_RECIPIENTS)
        .map(|u| format!("user{u}"))
        .collect();
    let mut mailboxes: Vec<&str> = users.iter().map(String::as_str).collect();
    mailboxes.push("quarantine");
    w.make_mailboxes(&mailboxes);
    let to: Vec<String> = users.iter().map(|u| format!("{u}@corp.test")).collect();
    let to: Vec<&str> = to.iter().map(String::as_str).collect();
    let mut log = Vec::new();
    let mut mids = Vec::new();
    for i in 0..LATENCY_SAMPLES {
        let mid = format!("<lat-{i}@bad.example>");
        let text = message(&mid, "hr@bad.example", &to, "Payroll", None);
        for user in &users {
            w.deliver(
                user,
                "",
                &format!("{i}.M1.host"),
                &text,
                false,
                1_795_000_000,
            );
        }
        log.push(log_line(&mid, "hr@bad.example", &to, "Payroll", None));
        mids.push(mid);
    }
    assert_eq!(w.ingest_lines(&log).status.code(), Some(0));
    single_alert_latency(&w, &mids, "maildir");
}

/// The same on the Graph test server (`tests/graph_server`), every request answered after
/// 20 ms as a nearby Exchange Online would be.
/// `cargo test --release --test auto_pull -- --ignored --nocapture latency_on_graph`
#[test]
#[ignore = "a measurement: run by hand, figures in benches/README.md"]
fn latency_on_graph() {
    use graph_server::{GraphServer, NewMessage, Settings, UserKind};
    let server = GraphServer::start(Settings {
        latency: Duration::from_millis(20),
        ..Settings::default()
    });
    let w = World::new(
        "[policy]\nwindow = \"52w\"\n[policy.rules.phish]\nwhen = [\"phish\"]\n\
         action = \"move-to-junk\"\nmode = \"automatic\"\n",
    );
    let config = std::fs::read_to_string(w.config()).unwrap();
    let tenant = format!(
        "\n[tenants.m365]\n{}domains = [\"m365.test\"]\n",
        server.tenant_config(w.path())
    );
    std::fs::write(w.config(), config + &tenant).unwrap();
    let to: Vec<String> = (0..LATENCY_RECIPIENTS)
        .map(|u| format!("user{u}@m365.test"))
        .collect();
    for mailbox in &to {
        server.add_user(mailbox, UserKind::Member);
    }
    let to: Vec<&str> = to.iter().map(String::as_str).collect();
    let mut log = Vec::new();
    let mut mids = Vec::new();
    for i in 0..LATENCY_SAMPLES {
        let mid = format!("<lat-{i}@bad.example>");
        for mailbox in &to {
            server.deliver(
                mailbox,
                "inbox",
                NewMessage {
                    internet_message_id: mid.clone(),
                    from: "hr@bad.example".into(),
                    to: to.iter().map(|s| s.to_string()).collect(),
                    subject: "Payroll".into(),
                    ..NewMessage::default()
                },
            );
        }
        log.push(
            serde_json::json!({"message_id": mid, "from": "hr@bad.example", "to": to,
                "subject": "Payroll", "received_at": "2026-11-20T10:00:00Z", "tenant": "m365"})
            .to_string(),
        );
        mids.push(mid);
    }
    assert_eq!(w.ingest_lines(&log).status.code(), Some(0));
    single_alert_latency(&w, &mids, "graph (20 ms a request)");
    assert_eq!(server.violations(), Vec::<String>::new());
}
