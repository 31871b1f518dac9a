//! `cargo bench --bench graph`: retract one message from 10,000 Microsoft 365 mailboxes on the
//! Graph test server with 50 ms added to every request, in three modes: the default `[engine]`
//! (adaptive concurrency from 16), `concurrency = 512`, and the default against a server that
//! throttles above N requests in flight. Wall time, requests per item, the ratio to the bound
//! that latency and Microsoft's limits set, the default's ratio to 512, the throttled mode's
//! throughput as a share of N's allowance, and violations (must be none). See
//! benches/README.md for what each number means.

#[path = "common/cli.rs"]
mod cli;
#[path = "../tests/graph_server/mod.rs"]
mod graph_server;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

use cli::{retractor_binary, run_json};
use graph_server::{
    CLIENT_ID, CLIENT_SECRET, GraphServer, NewMessage, ServerLimit, Settings, TENANT, UserKind,
};

const MESSAGE_ID: &str = "<bench+1/a=b&c#d'e@bad.example>";
/// Dependent round trips per item: resolve the user, locate ($batch), move.
const CHAIN: f64 = 3.0;
/// Graph's global limit per app: 130,000 requests per 10 s (batched requests count each).
const GLOBAL_OPS_PER_SEC: f64 = 13_000.0;

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// One way to run the job.
struct Mode {
    name: &'static str,
    /// `concurrency = ...` in `[engine]`; `None`: the default.
    concurrency: Option<usize>,
    throttle_above: Option<usize>,
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` would run this too: skip there.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let mailboxes = env_or("RETRACTOR_BENCH_MAILBOXES", 10_000);
    let latency_ms = env_or("RETRACTOR_BENCH_LATENCY_MS", 50) as u64;
    let throttle_n = env_or("RETRACTOR_BENCH_THROTTLE_N", 64);
    let runs = env_or("RETRACTOR_BENCH_RUNS", 3);
    let wanted =
        std::env::var("RETRACTOR_BENCH_MODES").unwrap_or_else(|_| "default,512,throttled".into());
    let modes: Vec<Mode> = [
        Mode {
            name: "default",
            concurrency: None,
            throttle_above: None,
        },
        Mode {
            name: "512",
            concurrency: Some(512),
            throttle_above: None,
        },
        Mode {
            name: "throttled",
            concurrency: None,
            throttle_above: Some(throttle_n),
        },
    ]
    .into_iter()
    .filter(|m| wanted.split(',').any(|w| w.trim() == m.name))
    .collect();
    let bin = retractor_binary();
    let mut medians: Vec<(&'static str, Duration)> = Vec::new();
    let mut all_clean = true;
    for mode in &modes {
        let mut results = Vec::new();
        for run in 1..=runs {
            let r = one_run(&bin, mailboxes, latency_ms, mode);
            println!(
                "{} run {run}: wall {:.2} s (CPU: retractor {:.1} s, test server {:.1} s), {:.2} HTTP requests/item, {:.2} Graph operations/item, max in flight per mailbox {} / in all {}, throttled {}, violations {}",
                mode.name,
                r.wall.as_secs_f64(),
                r.client_cpu,
                r.server_cpu,
                r.http as f64 / mailboxes as f64,
                r.ops as f64 / mailboxes as f64,
                r.max_in_flight,
                r.max_in_flight_total,
                r.throttled,
                r.violations.len()
            );
            results.push(r);
        }
        all_clean &= results.iter().all(|r| r.violations.is_empty());
        results.sort_by_key(|r| r.wall);
        let median = &results[results.len() / 2];
        report(mode, median, mailboxes, latency_ms, runs);
        medians.push((mode.name, median.wall));
    }
    let wall_of = |name| medians.iter().find(|m| m.0 == name).map(|m| m.1);
    if let (Some(default), Some(wide)) = (wall_of("default"), wall_of("512")) {
        println!(
            "\ndefault [engine] / concurrency = 512: {:.2} s / {:.2} s = {:.2}",
            default.as_secs_f64(),
            wide.as_secs_f64(),
            default.as_secs_f64() / wide.as_secs_f64()
        );
    }
    assert!(all_clean, "the client broke Exchange Online's limits");
}

fn report(mode: &Mode, median: &RunResult, mailboxes: usize, latency_ms: u64, runs: usize) {
    let n = mailboxes as f64;
    let latency = latency_ms as f64 / 1000.0;
    let wall = median.wall.as_secs_f64();
    let concurrency = mode.concurrency.unwrap_or(16);
    println!(
        "\nGraph retract ({}): {mailboxes} mailboxes, {latency_ms} ms added latency, {}, {runs} runs",
        mode.name,
        match (mode.concurrency, mode.throttle_above) {
            (_, Some(limit)) =>
                format!("default [engine], server throttles above {limit} in flight"),
            (Some(c), None) => format!("engine concurrency {c}"),
            (None, None) => "default [engine] (adaptive from 16)".to_string(),
        }
    );
    println!(
        "  median wall             {wall:.2} s  ({:.0} items/s)",
        n / wall
    );
    let ops_per_item = median.ops as f64 / n;
    println!(
        "  requests per item       {:.2} HTTP ({ops_per_item:.2} Graph operations incl. $batch members; {} token requests in all)",
        median.http as f64 / n,
        median.tokens
    );
    if let Some(limit) = mode.throttle_above {
        // The server serves at most `limit` requests at once, each taking the latency.
        let allowance = limit as f64 / latency;
        let rate = median.served as f64 / wall;
        println!(
            "  throughput              {rate:.0} served requests/s = {:.0}% of the allowance {allowance:.0}/s ({limit} in flight / {latency_ms} ms); {} throttled",
            100.0 * rate / allowance,
            median.throttled
        );
    } else {
        // Every item waits out CHAIN round trips; at most `concurrency` items are in flight
        // (for the adaptive default: at most its ceiling, 512).
        let in_flight = if mode.concurrency.is_some() {
            concurrency
        } else {
            512
        };
        let latency_bound = CHAIN * latency * (n / in_flight as f64).max(1.0);
        let quota_bound = n * ops_per_item / GLOBAL_OPS_PER_SEC;
        let bound = latency_bound.max(quota_bound);
        println!(
            "  bound                   {bound:.2} s = max(latency: {CHAIN} round trips x {latency_ms} ms x max(1, {mailboxes} items / {in_flight} in flight) = {latency_bound:.2} s, Graph quota: {:.0} operations / 13,000 per s = {quota_bound:.2} s)",
            n * ops_per_item
        );
        println!("  ratio wall / bound      {:.2}", wall / bound);
    }
    println!(
        "  violations              {} (max {} in flight per mailbox, {} in all)",
        median.violations.len(),
        median.max_in_flight,
        median.max_in_flight_total
    );
    for v in median.violations.iter().take(10) {
        println!("    {v}");
    }
}

struct RunResult {
    wall: Duration,
    http: u64,
    ops: u64,
    tokens: u64,
    max_in_flight: usize,
    max_in_flight_total: usize,
    served: u64,
    throttled: u64,
    violations: Vec<String>,
    client_cpu: f64,
    server_cpu: f64,
}

fn one_run(bin: &Path, mailboxes: usize, latency_ms: u64, mode: &Mode) -> RunResult {
    let server = GraphServer::start(Settings {
        throttle_above: mode.throttle_above.map(|max| ServerLimit {
            max,
            retry_after_secs: 1,
        }),
        ..Settings::default()
    });
    let engine = mode
        .concurrency
        .map(|c| format!("[engine]\nconcurrency = {c}\n"))
        .unwrap_or_default();
    let recipients: Vec<String> = (0..mailboxes)
        .map(|i| format!("user{i:05}@m365.test"))
        .collect();
    for r in &recipients {
        server.add_user(r, UserKind::Member);
        server.deliver(
            r,
            "inbox",
            NewMessage {
                internet_message_id: MESSAGE_ID.into(),
                from: "hr@bad.example".into(),
                to: vec![r.clone()],
                subject: "Payroll update".into(),
                ..NewMessage::default()
            },
        );
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let secret = dir.path().join("secret");
    fs::write(&secret, CLIENT_SECRET).expect("secret");
    fs::set_permissions(&secret, fs::Permissions::from_mode(0o600)).expect("chmod");
    fs::write(
        dir.path().join("config.toml"),
        format!(
            "[store]\npath = \"retractor.db\"\n[access]\ndefault_role = \"admin\"\n{engine}\
             [tenants.m365]\nkind = \"graph\"\ntenant_id = \"{TENANT}\"\nclient_id = \"{CLIENT_ID}\"\n\
             client_secret_file = \"secret\"\nauthority_host = \"{url}\"\ngraph_endpoint = \"{url}\"\ndomains = [\"m365.test\"]\n",
            url = server.url
        ),
    )
    .expect("config");
    let log = serde_json::json!({
        "message_id": MESSAGE_ID, "from": "hr@bad.example", "to": recipients,
        "subject": "Payroll update", "received_at": "2026-11-20T10:00:00Z",
    });
    let log_path = dir.path().join("log.jsonl");
    fs::write(&log_path, log.to_string()).expect("log");
    let log_arg = log_path.to_string_lossy().into_owned();
    run_json(bin, dir.path(), &["ingest", "--format", "jsonl", &log_arg]);
    server.set_latency(Duration::from_millis(latency_ms));
    let before = server.stats();
    let (children_before, self_before) = (
        cpu_seconds(libc::RUSAGE_CHILDREN),
        cpu_seconds(libc::RUSAGE_SELF),
    );
    let t = Instant::now();
    let job = run_json(
        bin,
        dir.path(),
        &[
            "retract",
            MESSAGE_ID,
            "--action",
            "move-to-junk",
            "--yes",
            "--wait",
        ],
    )
    .1;
    let wall = t.elapsed();
    let client_cpu = cpu_seconds(libc::RUSAGE_CHILDREN) - children_before;
    let server_cpu = cpu_seconds(libc::RUSAGE_SELF) - self_before;
    assert_eq!(
        job["job"]["remediated"].as_u64(),
        Some(mailboxes as u64),
        "every mailbox remediated: {}",
        job["job"]["failed"]
    );
    let moved = recipients
        .iter()
        .filter(|r| server.copies(r).iter().all(|c| c.0 == "junkemail"))
        .count();
    assert_eq!(moved, mailboxes, "every copy in junkemail");
    let after = server.stats();
    RunResult {
        wall,
        http: after.http_requests - before.http_requests,
        ops: after.operations - before.operations,
        tokens: after.token_requests - before.token_requests,
        max_in_flight: after.max_in_flight,
        max_in_flight_total: after.max_in_flight_total,
        served: after.served - before.served,
        throttled: after.throttled - before.throttled,
        violations: server.violations(),
        client_cpu,
        server_cpu,
    }
}

/// User + system CPU seconds of this process (the test server) or of its waited-for
/// children (the `retractor` processes).
fn cpu_seconds(who: libc::c_int) -> f64 {
    // SAFETY: getrusage fills the struct it is given; a zeroed rusage is a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `usage` is a valid, writable rusage.
    if unsafe { libc::getrusage(who, &mut usage) } != 0 {
        return 0.0;
    }
    let t = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
    t(usage.ru_utime) + t(usage.ru_stime)
}
