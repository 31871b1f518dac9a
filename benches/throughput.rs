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
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use serde_json::{Value, json};

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
// The binary and how it is run

/// The release binary: Cargo builds bin targets for benches and names them in
/// `CARGO_BIN_EXE_<name>`; otherwise `target/release/retractor`, built if missing.
fn retractor_binary() -> PathBuf {
    if let Some(p) = option_env!("CARGO_BIN_EXE_retractor") {
        let p = PathBuf::from(p);
        if p.is_file() {
            return p;
        }
    }
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let p = manifest.join("target/release/retractor");
    if !p.is_file() {
        println!("building {} ...", p.display());
        let status = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
            .args(["build", "--release", "--bin", "retractor"])
            .current_dir(manifest)
            .status()
            .expect("run cargo build --release");
        assert!(status.success(), "cargo build --release failed");
    }
    p
}

/// Run `retractor --config <dir>/config.toml ARGS` with its state kept inside `dir`.
fn run(bin: &Path, dir: &Path, args: &[&str]) -> Output {
    Command::new(bin)
        .arg("--config")
        .arg(dir.join("config.toml"))
        .args(args)
        .env("XDG_STATE_HOME", dir.join("state"))
        .env("XDG_DATA_HOME", dir.join("data"))
        .env("XDG_CONFIG_HOME", dir.join("xdg-config"))
        .env_remove("SSH_CONNECTION")
        .env_remove("SSH_CLIENT")
        .stdin(Stdio::null())
        .output()
        .expect("run retractor")
}

/// Run with `--json`, require exit 0 and parse stdout.
fn run_json(bin: &Path, dir: &Path, args: &[&str]) -> (Duration, Value) {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let t = Instant::now();
    let out = run(bin, dir, &all);
    let elapsed = t.elapsed();
    assert!(
        out.status.success(),
        "retractor {args:?} failed ({}):\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let v = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "retractor {args:?} printed no JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    });
    (elapsed, v)
}

fn write_config(dir: &Path, domains: &[&str]) {
    let domains = domains
        .iter()
        .map(|d| format!("\"{d}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let config = format!(
        r#"[store]
path = "retractor.db"

[access]
default_role = "admin"

[tenants.corp]
kind = "maildir"
root = "mail"
domains = [{domains}]
quarantine_mailbox = "quarantine@corp.test"
"#
    );
    fs::create_dir_all(dir.join("mail")).expect("mail root");
    fs::write(dir.join("config.toml"), config).expect("write config");
}

fn db_size(dir: &Path) -> u64 {
    ["retractor.db", "retractor.db-wal", "retractor.db-shm"]
        .iter()
        .filter_map(|n| fs::metadata(dir.join(n)).ok())
        .map(|m| m.len())
        .sum()
}

// ---------------------------------------------------------------------------------------------
// Deterministic data

/// SplitMix64: small, fast, and the same sequence on every machine and every `rand` version.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    fn below(&mut self, n: usize) -> usize {
        (((self.next_u64() >> 11) as u128 * n as u128) >> 53) as usize
    }

    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Zipf(s = 1) over ranks `0..n`: a few items are very common, most are rare.
struct Zipf {
    cdf: Vec<f64>,
}

impl Zipf {
    fn new(n: usize) -> Zipf {
        let mut cdf = Vec::with_capacity(n);
        let mut acc = 0.0;
        for r in 1..=n {
            acc += 1.0 / r as f64;
            cdf.push(acc);
        }
        for c in &mut cdf {
            *c /= acc;
        }
        Zipf { cdf }
    }

    fn sample(&self, rng: &mut Rng) -> usize {
        let u = rng.unit();
        self.cdf.partition_point(|&c| c < u).min(self.cdf.len() - 1)
    }
}

/// Subject words, most common first (the Zipf rank is the index).
const WORDS_TEXT: &str = "update meeting your account invoice report project request new review payment team order \
    notice weekly action required schedule document shared access quarterly budget approval \
    reminder policy contract delivery training password security urgent status customer \
    proposal agenda summary feedback call follow draft final signed expense travel benefits \
    payroll holiday office vendor shipment tracking confirmation receipt statement renewal \
    subscription license support ticket incident outage maintenance release notes roadmap \
    planning forecast sales marketing campaign launch product design feature demo webinar \
    invitation conference workshop survey results analysis data dashboard metrics kpi audit \
    compliance legal reviewed onboarding offboarding hiring candidate interview offer \
    promotion appraisal performance goals objectives strategy board minutes presentation \
    slides deck spreadsheet template form signature docusign voicemail fax scan printer it \
    helpdesk mailbox quota storage backup migration upgrade patch vulnerability phishing alert \
    verify suspended locked unusual activity login attempt reset expiry expires today tomorrow \
    monday friday q1 q2 q3 q4 fy26 fy27 europe emea apac americas berlin london paris tokyo \
    supplier procurement purchase quote pricing discount refund claim insurance tax filing \
    wire transfer bank details changed remittance overdue outstanding balance credit note \
    lunch party celebration anniversary birthday newsletter digest announcement reorg org \
    chart headcount capacity resourcing allocation timeline milestone deadline extension \
    escalation risk issue blocker decision memo guidelines handbook faq question answer thanks \
    welcome introduction hello congratulations farewell parking badge building facilities \
    cafeteria wellness volunteer charity donation sustainability esg diversity inclusion \
    townhall allhands offsite retreat kickoff retro sprint backlog standup sync oneonone \
    catchup coffee brainstorm ideas innovation hackathon prototype pilot rollout deployment \
    cutover freeze hotfix regression testing qa uat staging production server cluster database \
    network firewall vpn certificate domain dns sharepoint teams onedrive dropbox wetransfer \
    zoom webex calendar booking reservation flight hotel itinerary visa relocation lease rent \
    utilities electricity logistics warehouse inventory stock shortage backorder recall \
    quality defect inspection certification iso gdpr privacy consent retention archive records \
    litigation hold subpoena settlement merger acquisition diligence nda partnership alliance \
    reseller distributor channel commission bonus equity options vesting pension 401k \
    healthcare dental vision enrollment deadlines open closed pending approved rejected \
    cancelled postponed rescheduled moved confirmed tentative declined accepted forwarded fwd \
    fyi asap important confidential internal external draft2 v2 v3 revised corrected missing \
    attached enclosed link portal download upload sync2 error failed succeeded completed \
    started stopped paused resumed scheduled automatic manual monthly annual daily hourly \
    nightly batch job queue export import integration api webhook token key secret rotation \
    expired renew invoice2 po grn sow msa sla rfp rfi rfq bid tender award kickback gift card \
    voucher prize winner lottery inheritance beneficiary crypto bitcoin wallet investment \
    opportunity exclusive limited offer2 free trial upgrade2 premium plus pro enterprise";

/// Rank of the word used for the "rare" free-text query (~0.5% of rows by Zipf).
const RARE_WORD_RANK: usize = 120;
/// Rank of the word used for the "common" free-text query (~5% of rows).
const COMMON_WORD_RANK: usize = 12;
/// Rank (in the external sender pool) of the sender used for the `from:` query.
const FROM_SENDER_RANK: usize = 40;

const FIRST_TEXT: &str = "alice bob carol dave erin frank grace heidi ivan judy mallory niaj olivia peggy rupert \
    sybil trent victor walter yasmin zoe liam noah emma ava sophia mia lucas ethan amir chen \
    priya raj kenji yuki lena mateo ines oskar freya";
const LAST_TEXT: &str = "smith jones brown taylor wilson davies evans thomas johnson roberts walker wright robinson \
    thompson white hughes edwards green hall wood harris martin lewis clarke jackson clark \
    turner hill scott cooper morris ward moore king watson baker garcia mueller schmidt rossi \
    dubois tanaka kim nguyen patel";
const SYLLABLES_TEXT: &str = "ac me glo bex tra nov zen ori lum vex qua dra pol sta ter kin mar sol vir tec net cor dyn \
    flo gra hex";
const TLDS: &[&str] = &[
    "example",
    "example.com",
    "example.net",
    "example.org",
    "test",
];
const MSGID_HOSTS: &[&str] = &[
    "mail.gmail.example",
    "eu-west-1.amazonses.example",
    "prod.outlook.example",
    "mx.mailchimp.example",
    "smtp.sendgrid.example",
    "corp.test",
    "exch01.corp.test",
];
const DISPOSITIONS: &[(&str, f64)] = &[
    ("clean", 0.85),
    ("bulk", 0.06),
    ("spam", 0.05),
    ("suspicious", 0.02),
    ("malicious", 0.015),
    ("spoof", 0.005),
];

const INTERNAL_DOMAINS: &[&str] = &["corp.test", "corp-eu.test"];
const INTERNAL_USERS: usize = 6_000;
const EXTERNAL_SENDERS: usize = 20_000;
const EXTERNAL_DOMAINS: usize = 2_000;

/// The people and words a generated log is made of.
struct Population {
    internal: Vec<String>,
    external: Vec<String>,
    sender_zipf: Zipf,
    /// Subject words, most common first (the Zipf rank is the index).
    words: Vec<&'static str>,
    word_zipf: Zipf,
}

impl Population {
    fn new() -> Population {
        let mut rng = Rng::new(0x5EED_0001);
        let words: Vec<&'static str> = WORDS_TEXT.split_whitespace().collect();
        let first: Vec<&'static str> = FIRST_TEXT.split_whitespace().collect();
        let last: Vec<&'static str> = LAST_TEXT.split_whitespace().collect();
        let syllables: Vec<&'static str> = SYLLABLES_TEXT.split_whitespace().collect();
        let domains: Vec<String> = (0..EXTERNAL_DOMAINS)
            .map(|n| {
                let parts = 2 + rng.below(2);
                let name: String = (0..parts).map(|_| *rng.pick(&syllables)).collect();
                format!("{name}{n}.{}", rng.pick(TLDS))
            })
            .collect();
        let internal = (0..INTERNAL_USERS)
            .map(|n| {
                let domain = if n % 5 == 4 {
                    INTERNAL_DOMAINS[1]
                } else {
                    INTERNAL_DOMAINS[0]
                };
                format!(
                    "{}.{}{n}@{domain}",
                    first[n % first.len()],
                    last[(n / 7) % last.len()]
                )
            })
            .collect();
        let local_parts = [
            "billing",
            "noreply",
            "info",
            "support",
            "newsletter",
            "accounts",
            "hr",
            "sales",
            "security",
            "notifications",
        ];
        let external = (0..EXTERNAL_SENDERS)
            .map(|n| {
                let domain = &domains[rng.below(domains.len())];
                let local = if rng.chance(0.3) {
                    format!("{}{n}", rng.pick(&local_parts))
                } else {
                    format!("{}.{}{n}", rng.pick(&first), rng.pick(&last))
                };
                format!("{local}@{domain}")
            })
            .collect();
        Population {
            internal,
            external,
            sender_zipf: Zipf::new(EXTERNAL_SENDERS),
            word_zipf: Zipf::new(words.len()),
            words,
        }
    }

    fn subject(&self, seed: u64) -> String {
        let mut rng = Rng::new(seed ^ 0xABCD_EF01_2345_6789);
        let words = 2 + rng.below(5);
        (0..words)
            .map(|_| self.words[self.word_zipf.sample(&mut rng)])
            .collect::<Vec<_>>()
            .join(" ")
    }
}

fn message_id_of(i: usize) -> String {
    let h = Rng::new(i as u64 ^ 0x1D1D_1D1D).next_u64();
    format!(
        "<{h:016x}.{i}@{}>",
        MSGID_HOSTS[(h % MSGID_HOSTS.len() as u64) as usize]
    )
}

fn rfc3339(secs: i64) -> String {
    DateTime::from_timestamp(secs, 0)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Secs, true)
}

#[derive(Serialize)]
struct Record<'a> {
    message_id: String,
    from: &'a str,
    to: Vec<&'a str>,
    cc: Vec<&'a str>,
    subject: String,
    received_at: String,
    disposition: &'static str,
    in_reply_to: Option<String>,
    references: Vec<String>,
    size: u64,
    tenant: &'static str,
    source_id: String,
}

/// Write `n` records, oldest first, spread over the 90 days before `now`.
fn generate_log(path: &Path, n: usize, now: DateTime<Utc>, pop: &Population) {
    let mut rng = Rng::new(0x5EED_0002 ^ n as u64);
    let mut out = BufWriter::with_capacity(1 << 20, fs::File::create(path).expect("create log"));
    // Thread bookkeeping: each message's parent and thread root (u32::MAX: none).
    let mut parent: Vec<u32> = Vec::with_capacity(n);
    let mut root: Vec<u32> = Vec::with_capacity(n);
    let span = 90 * 86_400_i64;
    let start = now.timestamp() - span;
    for i in 0..n {
        let base = start + (i as i64 * span) / n as i64;
        let received = (base + rng.below(60) as i64).min(now.timestamp() - 1);
        let internal_sender = rng.chance(0.3);
        let from: &str = if internal_sender {
            rng.pick(&pop.internal).as_str()
        } else {
            &pop.external[pop.sender_zipf.sample(&mut rng)]
        };
        let count = match rng.below(100) {
            0..=54 => 1,
            55..=74 => 2,
            75..=86 => 3,
            87..=94 => 4,
            _ => 5,
        };
        let mut to: Vec<&str> = Vec::with_capacity(count);
        let mut cc: Vec<&str> = Vec::new();
        for k in 0..count {
            let r: &str = if internal_sender && rng.chance(0.2) {
                &pop.external[rng.below(pop.external.len())]
            } else {
                rng.pick(&pop.internal).as_str()
            };
            if k > 0 && rng.chance(0.3) {
                cc.push(r);
            } else {
                to.push(r);
            }
        }
        // ~15% are replies to a recent message.
        let (in_reply_to, references, subject, my_root) = if i > 100 && rng.chance(0.15) {
            let p = i - 1 - rng.below((i - 1).min(5_000));
            let mut chain = vec![p];
            let mut cur = p;
            while parent[cur] != u32::MAX && chain.len() < 5 {
                cur = parent[cur] as usize;
                chain.push(cur);
            }
            chain.reverse();
            let r = if root[p] == u32::MAX {
                p
            } else {
                root[p] as usize
            };
            parent.push(p as u32);
            (
                Some(message_id_of(p)),
                chain.into_iter().map(message_id_of).collect(),
                format!("Re: {}", pop.subject(r as u64)),
                r as u32,
            )
        } else {
            parent.push(u32::MAX);
            (None, Vec::new(), pop.subject(i as u64), u32::MAX)
        };
        root.push(my_root);
        let u = rng.unit();
        let mut acc = 0.0;
        let mut disposition = DISPOSITIONS[0].0;
        for (d, p) in DISPOSITIONS {
            acc += p;
            if u < acc {
                disposition = d;
                break;
            }
        }
        let size = if rng.chance(0.05) {
            100_000 + rng.below(5_000_000) as u64
        } else {
            1_500 + rng.below(60_000) as u64
        };
        let record = Record {
            message_id: message_id_of(i),
            from,
            to,
            cc,
            subject,
            received_at: rfc3339(received),
            disposition,
            in_reply_to,
            references,
            size,
            tenant: "corp",
            source_id: format!("gw-{i:08}"),
        };
        serde_json::to_writer(&mut out, &record).expect("write record");
        out.write_all(b"\n").expect("write record");
    }
    out.flush().expect("flush log");
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

struct SearchResult {
    label: &'static str,
    query: String,
    matches: u64,
    returned: usize,
    first_ms: f64,
    median_ms: f64,
    p95_ms: f64,
    runs: usize,
    count_median_ms: f64,
}

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
    let sender = &pop.external[FROM_SENDER_RANK];
    let queries: Vec<(&'static str, String)> = vec![
        (
            "free text, rare word",
            pop.words[RARE_WORD_RANK].to_string(),
        ),
        (
            "free text, common word",
            pop.words[COMMON_WORD_RANK].to_string(),
        ),
        ("from:sender", format!("from:{sender}")),
        (
            "disposition + since",
            "disposition:malicious since:7d".to_string(),
        ),
    ];
    let store = retractor::store::Store::open(&dir.join("retractor.db")).expect("open the store");
    let total = store.message_count().expect("count messages");
    assert_eq!(total, ingest.inserted, "store holds every inserted record");
    let mut library = Vec::new();
    for (label, text) in queries {
        let parsed = retractor::query::parse(&text, now).expect("bench query parses");
        let matches = store.search_count(&parsed).expect("search_count");
        let run_once = || {
            let t = Instant::now();
            let q = retractor::query::parse(&text, Utc::now()).expect("bench query parses");
            let rows = store.search(&q, 50, 0).expect("search");
            (ms(t.elapsed()), rows.len())
        };
        // The first run pays for cold pages; the rest are the steady state an analyst sees.
        let (first_ms, returned) = run_once();
        let mut samples: Vec<f64> = (0..plan.search_runs).map(|_| run_once().0).collect();
        let mut counts: Vec<f64> = (0..plan.search_runs.min(20))
            .map(|_| {
                let t = Instant::now();
                store.search_count(&parsed).expect("search_count");
                ms(t.elapsed())
            })
            .collect();
        let r = SearchResult {
            label,
            query: text,
            matches,
            returned,
            first_ms,
            median_ms: percentile(&mut samples, 0.5),
            p95_ms: percentile(&mut samples, 0.95),
            runs: plan.search_runs,
            count_median_ms: percentile(&mut counts, 0.5),
        };
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

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Nearest-rank percentile (`q` in 0..=1); sorts `samples`.
fn percentile(samples: &mut [f64], q: f64) -> f64 {
    if samples.is_empty() {
        return f64::NAN;
    }
    samples.sort_by(f64::total_cmp);
    let rank = (q * samples.len() as f64).ceil() as usize;
    samples[rank.clamp(1, samples.len()) - 1]
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
