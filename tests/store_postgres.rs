//! The PostgreSQL store from outside the library, on a real server: claim throughput with one
//! worker beside the SQLite store's (printed; `cargo test --test store_postgres -- --nocapture`
//! shows the figures), every item claimed and finished exactly once on both.

#[path = "common/postgres.rs"]
mod postgres;

use std::sync::{Arc, Barrier};
use std::time::Instant;

use retractor::model::{Action, ItemOutcome, ItemState, JobKind, JobStatus};
use retractor::store::{ItemFinish, NewAudit, NewItem, NewJob, PgStore, Store, StoreRoles};

const ITEMS: usize = 3_000;
/// Items claimed at once, as a worker with free slots claims them.
const BATCH: usize = 16;

fn job(store: &dyn StoreRolesDyn) -> i64 {
    let items: Vec<NewItem> = (0..ITEMS)
        .map(|i| NewItem {
            tenant: "t".into(),
            mailbox: format!("u{i}@t.test"),
            message_id: "<m@x>".into(),
            ..NewItem::default()
        })
        .collect();
    store.create(
        &NewJob {
            kind: JobKind::Retract,
            action: Action::Trash,
            initiated_by: "bench".into(),
            ssh_from: None,
            reason: None,
            target: "<m@x>".into(),
            restores_job: None,
            audit: NewAudit {
                actor: "bench".into(),
                role: "analyst".into(),
                action: "retract".into(),
                target: "<m@x>".into(),
                outcome: "queued".into(),
                ..NewAudit::default()
            },
        },
        &items,
    )
}

/// The one call the measurement needs, object-safe over both stores.
trait StoreRolesDyn {
    fn create(&self, job: &NewJob, items: &[NewItem]) -> i64;
}

impl<T: StoreRoles> StoreRolesDyn for T {
    fn create(&self, job: &NewJob, items: &[NewItem]) -> i64 {
        self.create_job(job, items).expect("create job")
    }
}

/// Claim and finish items of `job` as `worker` until none is left; the items it finished.
fn work(store: &impl StoreRoles, worker: &str, job: i64) -> Vec<i64> {
    store.register_worker(worker, "bench", 1).expect("register");
    let mut seen = Vec::new();
    loop {
        let batch = store
            .claim_items(worker, BATCH, Some(&[job]))
            .expect("claim");
        if batch.is_empty() {
            return seen;
        }
        for claimed in batch {
            seen.push(claimed.item.id);
            let finished = store
                .finish_item(&ItemFinish {
                    item: claimed.item.id,
                    worker: claimed.worker.clone(),
                    state: ItemState::Done,
                    outcome: ItemOutcome::Remediated,
                    error: None,
                    placements: Vec::new(),
                    delivery: None,
                    audit: NewAudit {
                        actor: "bench".into(),
                        role: "engine".into(),
                        action: "trash".into(),
                        target: claimed.item.mailbox.clone(),
                        outcome: "remediated".into(),
                        ..NewAudit::default()
                    },
                    acted: true,
                })
                .expect("finish");
            assert!(finished, "the claim held");
        }
    }
}

/// Claim and finish every item with one worker; items per second and the items seen.
fn drain(store: &impl StoreRoles) -> (f64, Vec<i64>) {
    let job = job(store);
    let started = Instant::now();
    let seen = work(store, "bench:1:w", job);
    let rate = seen.len() as f64 / started.elapsed().as_secs_f64();
    assert_eq!(store.job(job).expect("job").status, JobStatus::Done);
    (rate, seen)
}

/// Claimed-and-finished items per second of one job with `workers` threads at once, each
/// with a handle of its own (as separate processes or hosts hold); every item exactly once.
fn rate_with_workers<S: StoreRoles + Send + 'static>(open: impl Fn() -> S, workers: usize) -> f64 {
    let first = open();
    let job = job(&first);
    let start = Arc::new(Barrier::new(workers + 1));
    let threads: Vec<_> = (0..workers)
        .map(|n| {
            let store = open();
            let start = start.clone();
            std::thread::spawn(move || {
                let worker = format!("bench:{n}:w");
                start.wait();
                work(&store, &worker, job)
            })
        })
        .collect();
    start.wait();
    let started = Instant::now();
    let seen: Vec<i64> = threads
        .into_iter()
        .flat_map(|t| t.join().expect("worker thread"))
        .collect();
    let rate = seen.len() as f64 / started.elapsed().as_secs_f64();
    exactly_once(seen);
    assert_eq!(first.job(job).expect("job").status, JobStatus::Done);
    rate
}

/// The middle of three.
fn median_of_three(mut runs: [f64; 3]) -> f64 {
    runs.sort_by(f64::total_cmp);
    runs[1]
}

fn exactly_once(mut seen: Vec<i64>) {
    assert_eq!(seen.len(), ITEMS, "every item claimed");
    seen.sort_unstable();
    seen.dedup();
    assert_eq!(seen.len(), ITEMS, "no item claimed twice");
}

#[test]
fn one_worker_claims_and_finishes_every_item_once_on_both_stores() {
    let db = postgres::fresh_database();
    let pg = PgStore::open(&db.url.parse().expect("url"), &db.name).expect("open postgres");
    let (pg_rate, pg_seen) = drain(&pg);
    exactly_once(pg_seen);
    assert!(
        retractor::store::AuditTrail::verify_audit(&pg)
            .expect("verify")
            .ok
    );

    let dir = tempfile::tempdir().expect("tempdir");
    let sqlite = Store::open(&dir.path().join("r.db")).expect("open sqlite");
    let (sqlite_rate, sqlite_seen) = drain(&sqlite);
    exactly_once(sqlite_seen);

    eprintln!(
        "claimed and finished, 1 worker, batches of {BATCH}, {ITEMS} items: \
         PostgreSQL {pg_rate:.0}/s, SQLite {sqlite_rate:.0}/s"
    );
}

/// The figures: claimed-and-finished items per second with 1, 2 and 3 workers on
/// PostgreSQL (a fresh database each run) and 1 on SQLite, the median of three runs each.
/// `cargo test --test store_postgres -- --ignored --nocapture`.
#[test]
#[ignore = "a measurement of a few minutes; run it by name"]
fn claim_throughput_with_one_two_and_three_workers() {
    let mut line = Vec::new();
    for workers in 1..=3 {
        let runs = [(); 3].map(|_| {
            let db = postgres::fresh_database();
            let config: ::postgres::Config = db.url.parse().expect("url");
            let rate = rate_with_workers(
                || PgStore::open(&config, &db.name).expect("open postgres"),
                workers,
            );
            eprintln!("PostgreSQL, {workers} worker(s): {rate:.0} items/s");
            rate
        });
        line.push(format!(
            "PostgreSQL {workers} worker(s) {:.0}/s",
            median_of_three(runs)
        ));
    }
    let runs = [(); 3].map(|_| {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("r.db");
        let rate = rate_with_workers(|| Store::open(&path).expect("open sqlite"), 1);
        eprintln!("SQLite, 1 worker: {rate:.0} items/s");
        rate
    });
    line.push(format!("SQLite 1 worker {:.0}/s", median_of_three(runs)));
    eprintln!(
        "claimed and finished, batches of {BATCH}, {ITEMS} items, median of 3: {}",
        line.join(", ")
    );
}
