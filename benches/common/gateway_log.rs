//! A gateway-like message log, generated deterministically (fixed seeds), and the searches
//! timed on it: shared by the `throughput` bench (SQLite) and the `search_stores` bench
//! (SQLite beside PostgreSQL), so both time the same queries on the same log.
//! See `benches/README.md`, "What each number means".
#![allow(dead_code)]

use std::fs;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

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
pub const RARE_WORD_RANK: usize = 120;
/// Rank of the word used for the "common" free-text query (~5% of rows).
pub const COMMON_WORD_RANK: usize = 12;
/// Rank (in the external sender pool) of the sender used for the `from:` query.
pub const FROM_SENDER_RANK: usize = 40;

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

pub const INTERNAL_DOMAINS: &[&str] = &["corp.test", "corp-eu.test"];
const INTERNAL_USERS: usize = 6_000;
const EXTERNAL_SENDERS: usize = 20_000;
const EXTERNAL_DOMAINS: usize = 2_000;

/// The people and words a generated log is made of.
pub struct Population {
    pub internal: Vec<String>,
    pub external: Vec<String>,
    sender_zipf: Zipf,
    /// Subject words, most common first (the Zipf rank is the index).
    pub words: Vec<&'static str>,
    word_zipf: Zipf,
}

impl Population {
    pub fn new() -> Population {
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

    pub fn subject(&self, seed: u64) -> String {
        let mut rng = Rng::new(seed ^ 0xABCD_EF01_2345_6789);
        let words = 2 + rng.below(5);
        (0..words)
            .map(|_| self.words[self.word_zipf.sample(&mut rng)])
            .collect::<Vec<_>>()
            .join(" ")
    }
}

pub fn message_id_of(i: usize) -> String {
    let h = Rng::new(i as u64 ^ 0x1D1D_1D1D).next_u64();
    format!(
        "<{h:016x}.{i}@{}>",
        MSGID_HOSTS[(h % MSGID_HOSTS.len() as u64) as usize]
    )
}

pub fn rfc3339(secs: i64) -> String {
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
pub fn generate_log(path: &Path, n: usize, now: DateTime<Utc>, pop: &Population) {
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
// The searches

/// The queries every search figure is for: a rare subject word (~0.5% of rows), a common one
/// (~5%), one sender (~0.2%), and a disposition within a week.
pub fn search_queries(pop: &Population) -> Vec<(&'static str, String)> {
    let sender = &pop.external[FROM_SENDER_RANK];
    vec![
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
    ]
}

/// One query's latency on one store.
pub struct SearchResult {
    pub label: &'static str,
    pub query: String,
    pub matches: u64,
    pub returned: usize,
    /// The log ids of the first page (newest first): two stores must agree on them.
    pub first_page: Vec<i64>,
    pub first_ms: f64,
    pub median_ms: f64,
    pub p95_ms: f64,
    pub runs: usize,
    pub count_median_ms: f64,
}

/// Time `query` on `store` in-process (`query::parse` + `Store::search`, limit 50, newest
/// first): one first run (cold pages), then `runs` timed ones; `search_count` 20 times.
pub fn time_search(
    store: &retractor::store::Store,
    label: &'static str,
    text: &str,
    runs: usize,
    now: DateTime<Utc>,
) -> SearchResult {
    let parsed = retractor::query::parse(text, now).expect("bench query parses");
    let matches = store.search_count(&parsed).expect("search_count");
    let run_once = || {
        let t = Instant::now();
        let q = retractor::query::parse(text, Utc::now()).expect("bench query parses");
        let rows = store.search(&q, 50, 0).expect("search");
        (ms(t.elapsed()), rows)
    };
    // The first run pays for cold pages; the rest are the steady state an analyst sees.
    let (first_ms, rows) = run_once();
    let mut samples: Vec<f64> = (0..runs).map(|_| run_once().0).collect();
    let mut counts: Vec<f64> = (0..runs.min(20))
        .map(|_| {
            let t = Instant::now();
            store.search_count(&parsed).expect("search_count");
            ms(t.elapsed())
        })
        .collect();
    SearchResult {
        label,
        query: text.to_string(),
        matches,
        returned: rows.len(),
        first_page: rows.iter().map(|m| m.id).collect(),
        first_ms,
        median_ms: percentile(&mut samples, 0.5),
        p95_ms: percentile(&mut samples, 0.95),
        runs,
        count_median_ms: percentile(&mut counts, 0.5),
    }
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Nearest-rank percentile (`q` in 0..=1); sorts `samples`.
pub fn percentile(samples: &mut [f64], q: f64) -> f64 {
    if samples.is_empty() {
        return f64::NAN;
    }
    samples.sort_by(f64::total_cmp);
    let rank = (q * samples.len() as f64).ceil() as usize;
    samples[rank.clamp(1, samples.len()) - 1]
}
