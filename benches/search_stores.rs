//! The 1,000,000-message search on both stores (issue 18): the same generated gateway log
//! ingested into SQLite with the CLI, copied into a real PostgreSQL with `retractor store
//! copy --to`, then the same queries timed in-process on each (median and p95), checked to
//! find the same messages and the same first page on both.
//!
//! `cargo bench --bench search_stores` (about 6–8 minutes on 2 cores, ~2 GB in $TMPDIR);
//! `RETRACTOR_BENCH_QUICK=1` for a 50,000-message smoke run. PostgreSQL is the tests' own
//! server (Debian's `postgresql`, `initdb` in a temporary directory, run as `postgres`,
//! default settings: `shared_buffers` 128 MB), so the bench runs where the tests run. See
//! `benches/README.md`, "search_stores".

use std::time::Instant;

use chrono::Utc;

#[path = "common/cli.rs"]
mod cli;
#[path = "common/gateway_log.rs"]
mod gateway_log;
#[path = "../tests/common/postgres.rs"]
mod postgres;

use cli::{retractor_binary, run_json, write_config};
use gateway_log::{
    INTERNAL_DOMAINS, Population, SearchResult, generate_log, search_queries, time_search,
};
use retractor::config::{PostgresStore, TeamStoreKeys};
use retractor::store::Store;

fn main() {
    let quick = std::env::var("RETRACTOR_BENCH_QUICK").is_ok_and(|v| !v.is_empty() && v != "0");
    let (records, runs) = if quick { (50_000, 20) } else { (1_000_000, 50) };
    let bin = retractor_binary();
    let now = Utc::now();
    let dir = tempfile::Builder::new()
        .prefix("retractor-bench-stores-")
        .tempdir()
        .expect("create a temporary directory");
    let dir = dir.path();
    write_config(dir, INTERNAL_DOMAINS);
    let pop = Population::new();
    let log = dir.join("log.jsonl");
    generate_log(&log, records, now, &pop);
    let log_arg = log.to_str().expect("UTF-8 temp path");
    let (ingest, v) = run_json(&bin, dir, &["ingest", "--format", "jsonl", log_arg]);
    assert_eq!(v["ingest"]["records"].as_u64(), Some(records as u64), "{v}");
    println!(
        "ingested {records} records into SQLite in {:.1} s",
        ingest.as_secs_f64()
    );

    let db = postgres::fresh_database();
    let t = Instant::now();
    let (_, copied) = run_json(
        &bin,
        dir,
        &["store", "copy", "--to", &db.url, "--sslmode", "disable"],
    );
    assert_eq!(copied["copied"]["audit"]["ok"], true, "{copied}");
    println!(
        "copied into PostgreSQL in {:.1} s (store copy --to)",
        t.elapsed().as_secs_f64()
    );

    let sqlite = Store::open(&dir.join("retractor.db")).expect("open the SQLite store");
    let team = PostgresStore::from_keys(
        TeamStoreKeys {
            url: db.url.clone(),
            password_env: None,
            password_file: None,
            password_command: None,
            sslmode: Some("disable".into()),
            ca_file: None,
        },
        dir,
    )
    .expect("the bench's database URL");
    let pg = Store::open_team(&team).expect("open the PostgreSQL store");
    // The planner's statistics, as autovacuum would have them on a store in use.
    postgres::server().psql(&db.name, "ANALYZE");
    assert_eq!(
        sqlite.message_count().expect("count"),
        pg.message_count().expect("count"),
        "both stores hold the whole log"
    );

    let mut rows = Vec::new();
    for (label, text) in search_queries(&pop) {
        let on_sqlite = time_search(&sqlite, label, &text, runs, now);
        let on_pg = time_search(&pg, label, &text, runs, now);
        assert_eq!(
            on_sqlite.matches, on_pg.matches,
            "'{text}': the same count on both stores"
        );
        assert_eq!(
            on_sqlite.first_page, on_pg.first_page,
            "'{text}': the same first page on both stores"
        );
        rows.push((on_sqlite, on_pg));
    }
    print(records, runs, &rows);
}

fn print(records: usize, runs: usize, rows: &[(SearchResult, SearchResult)]) {
    let rule = "-".repeat(100);
    println!("\n{rule}");
    println!(
        "SEARCH on the {records}-message log, both stores (in-process: parse + search, limit 50; {runs} runs; warm)"
    );
    println!(
        "  {:<24} {:<38} {:>7}  {:>17}  {:>17}",
        "query", "text", "matches", "SQLite med / p95", "PostgreSQL med / p95"
    );
    for (s, p) in rows {
        println!(
            "  {:<24} {:<38} {:>7}  {:>7.2} / {:>6.2}ms  {:>7.2} / {:>6.2}ms",
            s.label, s.query, s.matches, s.median_ms, s.p95_ms, p.median_ms, p.p95_ms
        );
    }
    println!("  count (search_count, median of 20):");
    for (s, p) in rows {
        println!(
            "  {:<24} SQLite {:>8.2} ms   PostgreSQL {:>8.2} ms",
            s.label, s.count_median_ms, p.count_median_ms
        );
    }
    println!("{rule}");
}
