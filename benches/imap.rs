//! Time to retract one message from 1,000 mailboxes on a real Dovecot, and IMAP round trips
//! per item. `cargo bench --bench imap` (needs dovecot-imapd and root, like the IMAP tests);
//! `RETRACTOR_BENCH_MAILBOXES=N` and `RETRACTOR_BENCH_RUNS=N` change the size and the runs.
//! Each run starts a fresh server and seeds it (not timed); the timed part is the whole
//! `retractor retract --action move-to-junk --yes --wait` process. Round trips are the
//! commands the client sent, from the line the backend logs when the process ends.

#[path = "../tests/common/dovecot.rs"]
mod dovecot;
#[path = "../tests/common/tls.rs"]
mod tls;

use std::path::Path;
use std::process::Command;
use std::time::Instant;

const MSG: &str = "<bench-1@evil.test>";

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn retractor(home: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_retractor"))
        .arg("--config")
        .arg(home.join("config.toml"))
        .args(args)
        .env("XDG_STATE_HOME", home.join("state"))
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_CONFIG_HOME", home.join("xdg-config"))
        .env_remove("RETRACTOR_CONFIG")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run retractor")
}

/// One run: (seconds, commands sent).
fn run(mailboxes: usize) -> (f64, u64) {
    let users: Vec<String> = (0..mailboxes)
        .map(|n| format!("user{n:04}@corp.test"))
        .collect();
    let mut all: Vec<&str> = users.iter().map(String::as_str).collect();
    all.push("quarantine@corp.test");
    let server = dovecot::Dovecot::start(&all, dovecot::Options::default());
    for u in &users {
        // Each mailbox: the target and three unrelated messages.
        let mut c = server.client(u);
        for n in 0..3 {
            let raw = dovecot::message(
                &format!("<other-{n}@corp.test>"),
                "x@corp.test",
                u,
                "hi",
                "",
            );
            c.append("INBOX", "", "05-Jan-2026 10:11:12 +0000", &raw);
        }
        let raw = dovecot::message(MSG, "mallory@evil.test", u, "Invoice", "");
        c.append("INBOX", "\\Seen", "05-Jan-2026 10:11:12 +0000", &raw);
    }
    let home = tempfile::tempdir().expect("tempdir");
    let quoted: Vec<String> = users.iter().map(|u| format!("\"{u}\"")).collect();
    let config = format!(
        "[store]\npath = \"retractor.db\"\n[access]\ndefault_role = \"admin\"\n\
         [tenants.corp]\nkind = \"imap\"\ndomains = [\"corp.test\"]\nmailboxes = [{}]\n\
         quarantine_mailbox = \"quarantine@corp.test\"\n{}",
        quoted.join(", "),
        server.tenant_keys(home.path(), dovecot::ADMIN_PASSWORD)
    );
    std::fs::write(home.path().join("config.toml"), config).expect("config");
    let line = serde_json::json!({
        "message_id": MSG, "from": "mallory@evil.test", "to": users,
        "received_at": "2026-11-20T10:00:00Z", "subject": "Invoice",
    });
    let log = home.path().join("log.jsonl");
    std::fs::write(&log, line.to_string()).expect("log");
    let out = retractor(
        home.path(),
        &["ingest", "--format", "jsonl", log.to_str().expect("path")],
    );
    assert!(out.status.success(), "ingest failed");
    let started = Instant::now();
    let out = retractor(
        home.path(),
        &[
            "--json",
            "retract",
            MSG,
            "--action",
            "move-to-junk",
            "--yes",
            "--wait",
        ],
    );
    let seconds = started.elapsed().as_secs_f64();
    let job: serde_json::Value = serde_json::from_slice(&out.stdout).expect("job JSON");
    assert_eq!(
        job["job"]["remediated"].as_u64(),
        Some(mailboxes as u64),
        "not every copy moved: {job}"
    );
    let logged = std::fs::read_to_string(home.path().join("state/retractor/retractor.log"))
        .unwrap_or_default();
    let commands = logged
        .lines()
        .filter_map(|l| l.split("IMAP commands sent by this process: ").nth(1))
        .filter_map(|n| n.split_whitespace().next()?.parse::<u64>().ok())
        .sum();
    (seconds, commands)
}

fn main() {
    let mailboxes = env_usize("RETRACTOR_BENCH_MAILBOXES", 1000);
    let runs = env_usize("RETRACTOR_BENCH_RUNS", 3);
    let mut results: Vec<(f64, u64)> = (0..runs).map(|_| run(mailboxes)).collect();
    for (n, (s, c)) in results.iter().enumerate() {
        println!("run {}: {s:.2} s, {c} IMAP commands", n + 1);
    }
    results.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (median, commands) = results[results.len() / 2];
    println!(
        "retract 1 message from {mailboxes} Dovecot mailboxes: median {median:.2} s over {runs} runs \
         ({:.1} items/s); {:.1} IMAP round trips per item",
        mailboxes as f64 / median,
        commands as f64 / mailboxes as f64
    );
}
