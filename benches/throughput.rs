//! Throughput benchmark for the closing note: ingest rate, search latency, mass retraction.
//!
//! Run with `cargo bench --bench throughput` (release profile). Everything it needs is
//! generated deterministically (fixed seed) in a temporary directory; the real `retractor`
//! binary is driven the way a user or a SOAR playbook drives it. See `benches/README.md`.
//!
//! Environment knobs:
//! - `RETRACTOR_BENCH_QUICK=1`: a small smoke run (50k/10k records, 500 mailboxes, fewer runs);
//! - `RETRACTOR_BENCH_DIR=PATH`: where the temporary trees go (default: the system temp dir).
//! - `RETRACTOR_BENCH_MAILBOXES=N`: mailboxes in the retraction part (default 5,000), for
//!   scaling checks.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

#[path = "common/cli.rs"]
mod cli;
#[path = "common/gateway_log.rs"]
mod gateway_log;
use cli::{db_size, retractor_binary, run_json, write_config};
use gateway_log::{
    INTERNAL_DOMAINS, Population, RARE_WORD_RANK, SearchResult, generate_log, ms, percentile,
    search_queries, time_search,
};

/// Sizes of one bench run.
struct Plan {
    quick: bool,
    big_records: usize,
    small_records: usize,
    search_runs: usize,
    cli_runs: usize,
    mailboxes: usize,
    retract_runs: usize,
    /// Unrelated messages in each mailbox besides the one to retract.
    filler_per_mailbox: usize,
}

impl Plan {
    fn from_env() -> Plan {
        let quick = std::env::var("RETRACTOR_BENCH_QUICK").is_ok_and(|v| !v.is_empty() && v != "0");
        if quick {
            Plan {
                quick,
                big_records: 50_000,
                small_records: 10_000,
                search_runs: 20,
                cli_runs: 5,
                mailboxes: 500,
                retract_runs: 1,
                filler_per_mailbox: 3,
            }
        } else {
            Plan {
                quick,
                big_records: 1_000_000,
                small_records: 100_000,
                search_runs: 50,
                cli_runs: 20,
                mailboxes: 5_000,
                retract_runs: 3,
                filler_per_mailbox: 3,
            }
        }
    }
}

fn main() {
    let mut plan = Plan::from_env();
    if let Some(n) = std::env::var("RETRACTOR_BENCH_MAILBOXES")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|&n| n > 0)
    {
        plan.mailboxes = n;
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let bin = retractor_binary();
    let started = Instant::now();
    let now = Utc::now();
    println!(
        "retractor throughput bench: {cores} cores, binary {}{}",
        bin.display(),
        if plan.quick { " (QUICK mode)" } else { "" }
    );
    let scratch_root = std::env::var_os("RETRACTOR_BENCH_DIR").map(PathBuf::from);
    let scratch = |prefix: &str| {
        let mut b = tempfile::Builder::new();
        b.prefix(prefix);
        match &scratch_root {
            Some(root) => b.tempdir_in(root),
            None => b.tempdir(),
        }
        .expect("create a temporary directory")
    };

    // 1. Ingest: the small data point first, then the big log the searches run on.
    let small_dir = scratch("retractor-bench-ingest-small-");
    let small = ingest_bench(&bin, small_dir.path(), plan.small_records, now);
    drop(small_dir);
    let big_dir = scratch("retractor-bench-ingest-big-");
    let big = ingest_bench(&bin, big_dir.path(), plan.big_records, now);

    // 2. Search latency on the big log.
    let searches = search_bench(&bin, big_dir.path(), &big, &plan, now);
    drop(big_dir);

    // 3. One message pulled from many mailboxes, on a fresh tree each run.
    let mut retracts = Vec::new();
    for run in 0..plan.retract_runs {
        let dir = scratch("retractor-bench-retract-");
        let r = retract_bench(&bin, dir.path(), plan.mailboxes, plan.filler_per_mailbox);
        println!(
            "  retract run {}/{}: {:.2} s wall, {:.0} items/s ({} moved to .Junk)",
            run + 1,
            plan.retract_runs,
            r.wall.as_secs_f64(),
            plan.mailboxes as f64 / r.wall.as_secs_f64(),
            r.junk_files
        );
        retracts.push(r);
    }

    let total = started.elapsed();
    let results = Results {
        cores,
        quick: plan.quick,
        small,
        big,
        searches,
        retracts,
        mailboxes: plan.mailboxes,
        filler_per_mailbox: plan.filler_per_mailbox,
        total,
    };
    results.print();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-results.json");
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).expect("create target/");
    }
    let text = serde_json::to_string_pretty(&results.to_json(now)).expect("results as JSON");
    fs::write(&path, text + "\n").expect("write target/bench-results.json");
    println!("\nwritten: {}", path.display());
}

// ---------------------------------------------------------------------------------------------
// 1. Ingest

struct IngestResult {
    records: usize,
    jsonl_bytes: u64,
    generate: Duration,
    wall: Duration,
    db_bytes: u64,
    inserted: u64,
}

impl IngestResult {
    fn rate(&self) -> f64 {
        self.records as f64 / self.wall.as_secs_f64()
    }
}

fn ingest_bench(bin: &Path, dir: &Path, records: usize, now: DateTime<Utc>) -> IngestResult {
    write_config(dir, INTERNAL_DOMAINS);
    let pop = Population::new();
    let log = dir.join("log.jsonl");
    let t = Instant::now();
    generate_log(&log, records, now, &pop);
    let generate = t.elapsed();
    let jsonl_bytes = fs::metadata(&log).expect("log size").len();
    println!(
        "  generated {records} records ({:.0} MB) in {:.1} s; ingesting ...",
        jsonl_bytes as f64 / 1e6,
        generate.as_secs_f64()
    );
    let log_arg = log.to_str().expect("UTF-8 temp path");
    let (wall, v) = run_json(bin, dir, &["ingest", "--format", "jsonl", log_arg]);
    let report = &v["ingest"];
    assert_eq!(report["records"].as_u64(), Some(records as u64), "{v}");
    assert_eq!(report["rejected"].as_array().map(Vec::len), Some(0), "{v}");
    let inserted = report["inserted"].as_u64().unwrap_or(0);
    let result = IngestResult {
        records,
        jsonl_bytes,
        generate,
        wall,
        db_bytes: db_size(dir),
        inserted,
    };
    println!(
        "  ingest {records}: {:.1} s, {:.0} records/s, DB {:.0} MB",
        wall.as_secs_f64(),
        result.rate(),
        result.db_bytes as f64 / 1e6
    );
    result
}

// ---------------------------------------------------------------------------------------------
// 2. Search

struct CliSearch {
    query: String,
    runs: usize,
    median_ms: f64,
    p95_ms: f64,
}

struct Searches {
    library: Vec<SearchResult>,
    cli: CliSearch,
}

fn search_bench(
    bin: &Path,
    dir: &Path,
    ingest: &IngestResult,
    plan: &Plan,
    now: DateTime<Utc>,
) -> Searches {
    let pop = Population::new();
    let store = retractor::store::Store::open(&dir.join("retractor.db")).expect("open the store");
    let total = store.message_count().expect("count messages");
    assert_eq!(total, ingest.inserted, "store holds every inserted record");
    let mut library = Vec::new();
    for (label, text) in search_queries(&pop) {
        let r = time_search(&store, label, &text, plan.search_runs, now);
        println!(
            "  search {:<32} {:>7} matches ({:.2}%): median {:.2} ms, p95 {:.2} ms",
            format!("'{}'", r.query),
            r.matches,
            100.0 * r.matches as f64 / total.max(1) as f64,
            r.median_ms,
            r.p95_ms
        );
        library.push(r);
    }
    drop(store);

    // The same rare-word query as a user types it: a whole `retractor search` process.
    let query = pop.words[RARE_WORD_RANK].to_string();
    let mut samples: Vec<f64> = (0..plan.cli_runs)
        .map(|_| {
            let (wall, v) = run_json(bin, dir, &["search", "--limit", "50", &query]);
            assert!(
                v["messages"].as_array().is_some_and(|m| !m.is_empty()),
                "{v}"
            );
            ms(wall)
        })
        .collect();
    let cli = CliSearch {
        query,
        runs: plan.cli_runs,
        median_ms: percentile(&mut samples, 0.5),
        p95_ms: percentile(&mut samples, 0.95),
    };
    println!(
        "  CLI `retractor search {}`: median {:.1} ms",
        cli.query, cli.median_ms
    );
    Searches { library, cli }
}

// ---------------------------------------------------------------------------------------------
// 3. Retract

const TARGET_ID: &str = "<bench-mass-phish.0001@bad-sender.example>";

struct RetractResult {
    wall: Duration,
    /// started_at..finished_at of the job as the engine recorded it.
    job_secs: Option<f64>,
    remediated: u64,
    junk_files: usize,
    setup: Duration,
}

fn mail_text(id: &str, from: &str, to: &str, subject: &str, body_len: usize) -> String {
    let mut text = format!(
        "Return-Path: <{from}>\r\nReceived: from mx.bad-sender.example by mx.corp.test; Fri, 20 Nov 2026 10:00:00 +0000\r\n\
         From: {from}\r\nTo: {to}\r\nSubject: {subject}\r\nDate: Fri, 20 Nov 2026 10:00:00 +0000\r\n\
         Message-ID: {id}\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
    );
    let line =
        "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor.\r\n";
    while text.len() < body_len {
        text.push_str(line);
    }
    text
}

fn retract_bench(bin: &Path, dir: &Path, mailboxes: usize, filler: usize) -> RetractResult {
    let t = Instant::now();
    write_config(dir, &["corp.test"]);
    let domain_dir = dir.join("mail/corp.test");
    let users: Vec<String> = (0..mailboxes).map(|n| format!("user{n:05}")).collect();
    let mtime = filetime::FileTime::from_unix_time(1_795_000_000, 0);
    for (n, user) in users.iter().enumerate() {
        let mbox = domain_dir.join(user);
        for sub in ["cur", "new", "tmp"] {
            fs::create_dir_all(mbox.join(sub)).expect("maildir");
        }
        let to = format!("{user}@corp.test");
        let deliver = |name: String, seen: bool, text: String| {
            let path = if seen {
                mbox.join("cur").join(format!("{name}:2,S"))
            } else {
                mbox.join("new").join(name)
            };
            fs::write(&path, text).expect("write message");
            filetime::set_file_mtime(&path, mtime).expect("mtime");
        };
        let phish = mail_text(
            TARGET_ID,
            "it-support@bad-sender.example",
            &to,
            "Your mailbox is over quota",
            6_000,
        );
        deliver(format!("1795000000.M{n}P1.mx"), n % 2 == 0, phish);
        for k in 0..filler {
            let id = format!("<filler.{n}.{k}@corp.test>");
            let body = mail_text(
                &id,
                "colleague@corp.test",
                &to,
                "Weekly update",
                2_000 + 3_000 * k,
            );
            deliver(format!("1794900000.M{n}_{k}P2.mx"), k % 2 == 1, body);
        }
    }
    let recipients: Vec<String> = users.iter().map(|u| format!("{u}@corp.test")).collect();
    let line = json!({
        "message_id": TARGET_ID, "from": "it-support@bad-sender.example", "to": recipients,
        "subject": "Your mailbox is over quota", "received_at": "2026-11-20T10:00:00Z",
        "disposition": "malicious", "tenant": "corp", "source_id": "gw-mass-1",
    });
    let log = dir.join("mass.jsonl");
    fs::write(&log, format!("{line}\n")).expect("write log");
    run_json(
        bin,
        dir,
        &[
            "ingest",
            "--format",
            "jsonl",
            log.to_str().expect("UTF-8 path"),
        ],
    );
    let setup = t.elapsed();

    let args = [
        "retract",
        TARGET_ID,
        "--action",
        "move-to-junk",
        "--yes",
        "--wait",
    ];
    let (wall, v) = run_json(bin, dir, &args);
    let job = &v["job"];
    assert_eq!(job["status"], "done", "{job}");
    let remediated = job["remediated"].as_u64().unwrap_or(0);
    assert_eq!(remediated, mailboxes as u64, "every copy remediated: {job}");
    let started = job["started_at"]
        .as_str()
        .and_then(|s| s.parse::<DateTime<Utc>>().ok());
    let finished = job["finished_at"]
        .as_str()
        .and_then(|s| s.parse::<DateTime<Utc>>().ok());
    let job_secs = started
        .zip(finished)
        .map(|(a, b)| (b - a).num_milliseconds() as f64 / 1e3);

    // Every copy is in .Junk, nothing else moved.
    let mut junk_files = 0;
    for user in &users {
        let mbox = domain_dir.join(user);
        let in_junk = count_files(&mbox.join(".Junk"));
        assert_eq!(in_junk, 1, "{user}: one copy in .Junk");
        junk_files += in_junk;
        let inbox = count_files(&mbox.join("cur")) + count_files(&mbox.join("new"));
        assert_eq!(
            inbox, filler,
            "{user}: the unrelated messages stay in INBOX"
        );
    }
    assert_eq!(junk_files, mailboxes);
    RetractResult {
        wall,
        job_secs,
        remediated,
        junk_files,
        setup,
    }
}

/// Message files under a Maildir folder's cur/ and new/ (or directly in `dir` for those).
fn count_files(dir: &Path) -> usize {
    let subdirs = ["cur", "new"];
    let here = dir
        .file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| subdirs.contains(&n));
    if here {
        return fs::read_dir(dir).map_or(0, |e| e.flatten().filter(|f| f.path().is_file()).count());
    }
    subdirs.iter().map(|s| count_files(&dir.join(s))).sum()
}

// ---------------------------------------------------------------------------------------------
// Results

struct Results {
    cores: usize,
    quick: bool,
    small: IngestResult,
    big: IngestResult,
    searches: Searches,
    retracts: Vec<RetractResult>,
    mailboxes: usize,
    filler_per_mailbox: usize,
    total: Duration,
}

impl Results {
    fn retract_median(&self) -> &RetractResult {
        let mut sorted: Vec<&RetractResult> = self.retracts.iter().collect();
        sorted.sort_by_key(|r| r.wall);
        sorted[(sorted.len() - 1) / 2]
    }

    fn print(&self) {
        let rule = "-".repeat(92);
        println!("\n{rule}");
        println!(
            "retractor throughput — {} cores, {}; shared machine: medians are the figures to quote",
            self.cores,
            if self.quick {
                "QUICK mode (reduced sizes)"
            } else {
                "full sizes"
            }
        );
        println!("{rule}");
        println!("INGEST (CLI `retractor ingest --format jsonl`, one run each, wall clock)");
        println!(
            "  {:>10}  {:>9}  {:>12}  {:>10}  {:>11}",
            "records", "wall s", "records/s", "JSONL MB", "DB MB"
        );
        for r in [&self.small, &self.big] {
            println!(
                "  {:>10}  {:>9.1}  {:>12.0}  {:>10.0}  {:>11.0}",
                r.records,
                r.wall.as_secs_f64(),
                r.rate(),
                r.jsonl_bytes as f64 / 1e6,
                r.db_bytes as f64 / 1e6
            );
        }
        println!(
            "\nSEARCH on the {}-record log (in-process: parse + Store::search, limit 50; warm cache)",
            self.big.records
        );
        println!(
            "  {:<24} {:<44} {:>8} {:>8} {:>8} {:>8}",
            "query", "text", "matches", "median", "p95", "first"
        );
        for s in &self.searches.library {
            println!(
                "  {:<24} {:<44} {:>8} {:>6.2}ms {:>6.2}ms {:>6.1}ms",
                s.label, s.query, s.matches, s.median_ms, s.p95_ms, s.first_ms
            );
        }
        println!(
            "  ({} runs each; `first` is the run before them. search_count medians: {})",
            self.searches.library.first().map_or(0, |s| s.runs),
            self.searches
                .library
                .iter()
                .map(|s| format!("{:.2}ms", s.count_median_ms))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let cli = &self.searches.cli;
        println!(
            "  CLI process `retractor --json search --limit 50 {}`: median {:.1} ms, p95 {:.1} ms ({} runs)",
            cli.query, cli.median_ms, cli.p95_ms, cli.runs
        );
        let m = self.retract_median();
        println!(
            "\nRETRACT one message from {} Maildir mailboxes ({} unrelated messages each), move-to-junk, --wait",
            self.mailboxes, self.filler_per_mailbox
        );
        let walls: Vec<String> = self
            .retracts
            .iter()
            .map(|r| format!("{:.2}", r.wall.as_secs_f64()))
            .collect();
        println!(
            "  runs (s): {}   median wall {:.2} s = {:.0} items/s   (engine job time {}, 1 s resolution)",
            walls.join(", "),
            m.wall.as_secs_f64(),
            self.mailboxes as f64 / m.wall.as_secs_f64(),
            m.job_secs.map_or("n/a".into(), |s| format!("{s:.2} s"))
        );
        println!(
            "  verified: {} remediated, {} files in .Junk, every INBOX kept its {} other messages",
            m.remediated, m.junk_files, self.filler_per_mailbox
        );
        println!("\ntotal bench time {:.0} s", self.total.as_secs_f64());
        println!("{rule}");
    }

    fn to_json(&self, now: DateTime<Utc>) -> Value {
        let ingest = |r: &IngestResult| {
            json!({
                "records": r.records,
                "wall_s": r.wall.as_secs_f64(),
                "records_per_s": r.rate(),
                "jsonl_bytes": r.jsonl_bytes,
                "db_bytes": r.db_bytes,
                "generate_s": r.generate.as_secs_f64(),
            })
        };
        let m = self.retract_median();
        json!({
            "generated_at": now.to_rfc3339_opts(SecondsFormat::Secs, true),
            "cores": self.cores,
            "quick": self.quick,
            "note": "shared, noisy machine: quote medians",
            "ingest": [ingest(&self.small), ingest(&self.big)],
            "search": {
                "log_records": self.big.records,
                "library": self.searches.library.iter().map(|s| json!({
                    "label": s.label,
                    "query": s.query,
                    "matches": s.matches,
                    "returned": s.returned,
                    "runs": s.runs,
                    "median_ms": s.median_ms,
                    "p95_ms": s.p95_ms,
                    "first_ms": s.first_ms,
                    "count_median_ms": s.count_median_ms,
                })).collect::<Vec<_>>(),
                "cli": {
                    "query": self.searches.cli.query,
                    "runs": self.searches.cli.runs,
                    "median_ms": self.searches.cli.median_ms,
                    "p95_ms": self.searches.cli.p95_ms,
                },
            },
            "retract": {
                "mailboxes": self.mailboxes,
                "filler_per_mailbox": self.filler_per_mailbox,
                "action": "move-to-junk",
                "runs_wall_s": self.retracts.iter().map(|r| r.wall.as_secs_f64()).collect::<Vec<_>>(),
                "runs_job_s": self.retracts.iter().map(|r| r.job_secs).collect::<Vec<_>>(),
                "runs_setup_s": self.retracts.iter().map(|r| r.setup.as_secs_f64()).collect::<Vec<_>>(),
                "median_wall_s": m.wall.as_secs_f64(),
                "median_items_per_s": self.mailboxes as f64 / m.wall.as_secs_f64(),
                "verified_junk_files": m.junk_files,
            },
            "total_s": self.total.as_secs_f64(),
        })
    }
}
