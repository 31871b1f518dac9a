//! What only the PostgreSQL store has to show: calls from inside async runtimes, several
//! writers on one audit chain, the server's clock, the schema kept in step with SQLite's.

use std::sync::Arc;

use super::PgStore;
use super::testdb::{fresh_database, server};
use crate::store::{AuditTrail, ItemClaims, JobQueue, MessageLog, NewAudit, NewJob};

fn open() -> (super::testdb::TestDatabase, PgStore) {
    let db = fresh_database();
    let store = PgStore::open(&db.url.parse().expect("url"), &db.name).expect("open");
    (db, store)
}

fn entry(n: usize) -> NewAudit {
    NewAudit {
        actor: format!("writer{n}"),
        role: "analyst".into(),
        action: "retract".into(),
        target: format!("<m{n}@x>"),
        outcome: "queued".into(),
        ..NewAudit::default()
    }
}

/// A retract job of `<m@x>` by the tester, its items given separately.
fn retract_job() -> NewJob {
    NewJob {
        kind: crate::model::JobKind::Retract,
        action: crate::model::Action::Trash,
        initiated_by: "tester".into(),
        ssh_from: None,
        reason: None,
        target: "<m@x>".into(),
        restores_job: None,
        audit: entry(0),
    }
}

#[test]
fn the_schema_has_every_sqlite_migration_under_the_same_number() {
    assert_eq!(
        super::schema::MIGRATIONS.len(),
        crate::store::schema::MIGRATIONS.len(),
        "a SQLite migration has no PostgreSQL twin in store/postgres/schema.rs"
    );
    let (db, _store) = open();
    let version = server().psql(&db.name, "SELECT version FROM schema_version");
    assert_eq!(
        version.trim(),
        crate::store::schema::MIGRATIONS.len().to_string()
    );
    // Opening again runs nothing twice.
    PgStore::open(&db.url.parse().expect("url"), &db.name).expect("reopen");
}

#[test]
fn calls_from_inside_tokio_runtimes_do_not_panic() {
    let (_db, store) = open();
    let store = Arc::new(store);
    let multi = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .expect("runtime");
    let from_task = {
        let store = store.clone();
        multi.block_on(async move {
            tokio::spawn(async move { store.audit(&entry(1)) })
                .await
                .expect("task")
        })
    };
    assert_eq!(from_task.expect("audit from a worker task"), 1);
    let current = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let seq = current.block_on(async { store.audit(&entry(2)) });
    assert_eq!(seq.expect("audit on a current-thread runtime"), 2);
    assert!(store.verify_audit().expect("verify").ok);
}

#[test]
fn several_writers_append_to_one_chain_without_forking_it() {
    let (db, store) = open();
    const WRITERS: usize = 4;
    const EACH: usize = 40;
    let start = Arc::new(std::sync::Barrier::new(WRITERS));
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let config: ::postgres::Config = db.url.parse().expect("url");
            let name = db.name.clone();
            let start = start.clone();
            std::thread::spawn(move || {
                let store = PgStore::open(&config, &name).expect("open");
                start.wait();
                (0..EACH)
                    .map(|n| store.audit(&entry(w * EACH + n)).expect("append"))
                    .collect::<Vec<i64>>()
            })
        })
        .collect();
    let mut seqs: Vec<i64> = writers
        .into_iter()
        .flat_map(|t| t.join().expect("writer"))
        .collect();
    seqs.sort_unstable();
    let expected: Vec<i64> = (1..=(WRITERS * EACH) as i64).collect();
    assert_eq!(
        seqs, expected,
        "every append took its own place, none failed"
    );
    let verdict = store.verify_audit().expect("verify");
    assert!(verdict.ok, "{verdict:?}");
    assert_eq!(verdict.records, (WRITERS * EACH) as u64);
}

#[test]
fn stored_times_are_the_servers_by_default() {
    let (db, store) = open();
    let job = store.create_job(&retract_job(), &[]).expect("job");
    let created = store.job(job).expect("job").created_at.timestamp_millis();
    let server_now: i64 = server()
        .psql(
            &db.name,
            "SELECT (extract(epoch FROM now()) * 1000)::bigint",
        )
        .trim()
        .parse()
        .expect("server time");
    assert!(
        (0..60_000).contains(&(server_now - created)),
        "created at {created}, the server says {server_now}"
    );
    // A lease is judged by the same clock: a fresh heartbeat holds.
    store.register_worker("h:1:a", "h", 1).expect("register");
    assert_eq!(store.live_workers(10_000).expect("live"), 1);
    assert_eq!(store.message_count().expect("count"), 0);
}

/// A job another session commits wakes a listener at once; after the listening session is cut (the server ends it), the listener connects again and wakes
/// once for what it may have missed, then hears new jobs again.
#[test]
fn a_job_committed_elsewhere_wakes_the_listener_also_after_its_session_is_cut() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::{Duration, Instant};

    let (db, listener) = open();
    let writer = PgStore::open(&db.url.parse().expect("url"), &db.name).expect("open");
    let wakes = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&wakes);
    assert!(
        listener
            .watch_for_work(Arc::new(move || {
                counter.fetch_add(1, Ordering::SeqCst);
            }))
            .expect("listen")
    );
    let wait_for = |n: usize, what: &str| {
        let deadline = Instant::now() + Duration::from_secs(20);
        while wakes.load(Ordering::SeqCst) < n {
            assert!(Instant::now() < deadline, "no wake for {what}");
            std::thread::sleep(Duration::from_millis(10));
        }
    };
    wait_for(1, "the first connect");
    writer.create_job(&retract_job(), &[]).expect("job");
    wait_for(2, "a job another session wrote");

    let cut = server().psql(
        &db.name,
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
         WHERE datname = current_database() AND query LIKE 'LISTEN%'",
    );
    assert_eq!(cut.trim(), "1", "the listening session was found and ended");
    wait_for(3, "the reconnect");
    writer.create_job(&retract_job(), &[]).expect("job");
    wait_for(4, "a job after the reconnect");
    drop(listener);
}

/// Progress another session writes is told with the job's id: a job written, its items
/// claimed and its end (always, however soon after the last notification); a reconnect is
/// told as "anything may have changed".
#[test]
fn a_jobs_progress_written_elsewhere_is_told_with_its_id() {
    use std::sync::Mutex;
    use std::time::{Duration, Instant};

    use crate::model::{ItemOutcome, ItemState};
    use crate::store::{ItemFinish, NewItem};

    let (db, listener) = open();
    let writer = PgStore::open(&db.url.parse().expect("url"), &db.name).expect("open");
    let heard: Arc<Mutex<Vec<Option<i64>>>> = Arc::default();
    let into = Arc::clone(&heard);
    assert!(
        listener
            .watch_progress(Arc::new(move |job| {
                into.lock().unwrap_or_else(|e| e.into_inner()).push(job);
            }))
            .expect("listen")
    );
    let wait_for = |what: Option<i64>, count: usize, why: &str| {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let n = heard
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .iter()
                .filter(|j| **j == what)
                .count();
            if n >= count {
                return;
            }
            assert!(Instant::now() < deadline, "not told {why}: {heard:?}");
            std::thread::sleep(Duration::from_millis(10));
        }
    };
    wait_for(None, 1, "the first connect");
    let job = writer
        .create_job(
            &retract_job(),
            &[NewItem {
                tenant: "t".into(),
                mailbox: "a@t.test".into(),
                message_id: "<m@x>".into(),
                ..NewItem::default()
            }],
        )
        .expect("job");
    wait_for(Some(job), 1, "the job written");
    writer.register_worker("h:1:a", "h", 1).expect("register");
    std::thread::sleep(super::listen::PROGRESS_EVERY);
    let claimed = writer.claim_items("h:1:a", 10, None).expect("claim");
    assert_eq!(claimed.len(), 1);
    wait_for(Some(job), 2, "the claim");
    // At once after the claim, within the interval: the end is told all the same.
    let finished = writer
        .finish_item(&ItemFinish {
            item: claimed[0].item.id,
            worker: "h:1:a".into(),
            state: ItemState::Done,
            outcome: ItemOutcome::Remediated,
            error: None,
            placements: Vec::new(),
            delivery: None,
            audit: entry(1),
            acted: true,
        })
        .expect("finish");
    assert!(finished);
    wait_for(Some(job), 3, "the job's end");
    let cut = server().psql(
        &db.name,
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
         WHERE datname = current_database() AND query LIKE 'LISTEN%'",
    );
    assert_eq!(cut.trim(), "1", "the listening session was found and ended");
    wait_for(None, 2, "the reconnect");
}
