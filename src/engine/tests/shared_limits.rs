//! The per-mailbox limit, holds and the credentials breaker: one run under load, two runs in
//! one process, two engines (two hosts) on one PostgreSQL keeping to one mailbox's limit and
//! one's `Retry-After` together, and a breaker one engine opens stopping another's items.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use super::{
    RunOptions, Scripted, Setup, engine_on, load_job, log_message, run_to_end, setup, transient,
    write_job,
};
use crate::backends::ErrorKind;
use crate::model::{Action, ItemState, JobKind};
use crate::store::{NewItem, PgStore, Store};

#[tokio::test]
async fn the_per_mailbox_limit_holds_under_load() {
    // Ten messages in each of three mailboxes, global limit 16, per-mailbox limit 2.
    let backend = Scripted {
        delay: Duration::from_millis(10),
        ..Scripted::default()
    };
    let s = setup(3, 2, backend);
    let job = load_job(s.engine.store(), "m", 10);
    let (j, _) = run_to_end(&s, job).await;
    assert_eq!(j.counts.matched, 30);
    assert_eq!(j.counts.failed, 0);
    assert_eq!(
        s.backend.max_in_flight.load(Ordering::SeqCst),
        2,
        "the limit was reached, never passed"
    );
}

#[tokio::test]
async fn two_runs_in_one_process_share_the_per_mailbox_limit() {
    // Two jobs at once in one engine (a console running two jobs): each run alone keeps to
    // two per mailbox; together they must too.
    let backend = Scripted {
        delay: Duration::from_millis(20),
        ..Scripted::default()
    };
    let s = setup(3, 2, backend);
    let first = load_job(s.engine.store(), "a", 10);
    let second = load_job(s.engine.store(), "b", 10);
    let run = |job| {
        let engine = Arc::clone(&s.engine);
        async move {
            engine
                .run(RunOptions {
                    job: Some(job),
                    follow: false,
                })
                .await
        }
    };
    let (a, b) = tokio::join!(run(first), run(second));
    let finished = a.map(|a| a.finished).unwrap_or(0) + b.map(|b| b.finished).unwrap_or(0);
    assert_eq!(finished, 60, "both jobs ran to the end");
    assert_eq!(
        s.backend.max_in_flight.load(Ordering::SeqCst),
        2,
        "the two runs together reached the per-mailbox limit and never passed it"
    );
}

/// Run `job` on `engine` to its end.
async fn run(engine: &Arc<super::Engine>, job: i64) -> u64 {
    match engine
        .run(RunOptions {
            job: Some(job),
            follow: false,
        })
        .await
    {
        Ok(summary) => summary.finished,
        Err(e) => panic!("{e}"),
    }
}

/// Two engines on one fresh PostgreSQL database, each with a store handle of its own (two
/// hosts' services), sharing `backend`; `<m@x>` logged for three mailboxes.
fn two_hosts(
    backend: &Arc<Scripted>,
) -> (
    crate::store::postgres::testdb::TestDatabase,
    tempfile::TempDir,
    Arc<super::Engine>,
    Arc<super::Engine>,
) {
    let db = crate::store::postgres::testdb::fresh_database();
    let open = || -> Arc<Store> {
        let config: ::postgres::Config = match db.url.parse() {
            Ok(c) => c,
            Err(e) => panic!("{e}"),
        };
        match PgStore::open(&config, &db.name) {
            Ok(s) => Arc::new(Store::from(s)),
            Err(e) => panic!("{e}"),
        }
    };
    let dir = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => panic!("{e}"),
    };
    let (a, b) = (open(), open());
    log_message(&a, 3);
    let first = engine_on(a, dir.path(), (3, 2), backend);
    let second = engine_on(b, dir.path(), (3, 2), backend);
    (db, dir, first, second)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_retry_after_one_host_is_told_holds_the_mailbox_for_the_other() {
    // The first host's first look at u0 is throttled for 1.5 s. The second host, which was
    // told nothing, must not send u0 anything before that has passed either.
    let backend = Arc::new(Scripted {
        request_limit: true,
        ..Scripted::default()
    });
    backend
        .failures
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(
            "u0@t.test".into(),
            vec![transient(
                ErrorKind::Throttled,
                Some(Duration::from_millis(1_500)),
            )],
        );
    let (_db, _dir, first, second) = two_hosts(&backend);
    let throttled = items_job(first.store(), "first", 0..1);
    let later = items_job(first.store(), "second", 0..1);
    let running = tokio::spawn({
        let first = Arc::clone(&first);
        async move { run(&first, throttled).await }
    });
    let calls_to_u0 = || -> Vec<std::time::Instant> {
        backend
            .calls
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter(|(m, _)| m == "u0@t.test")
            .map(|(_, at)| *at)
            .collect()
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while calls_to_u0().is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "the first host never called"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // Past the answer (the call sleeps for the backend's delay) and the hold's write.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(run(&second, later).await, 1);
    let calls = calls_to_u0();
    let throttled_at = calls[0];
    assert!(calls.len() >= 2, "{} calls", calls.len());
    for at in &calls[1..] {
        assert!(
            at.duration_since(throttled_at) >= Duration::from_millis(1_400),
            "u0 called {:?} after the throttle that asked for 1.5 s",
            at.duration_since(throttled_at)
        );
    }
    match running.await {
        Ok(finished) => assert_eq!(finished, 1),
        Err(e) => panic!("{e}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hosts_on_one_postgresql_keep_to_one_mailboxs_limit_together() {
    // Two engines with a store each on one database, as the services of two hosts: alone,
    // each keeps to two per mailbox; together they must too, for a server that limits it.
    // The backend is one object, so it counts what both send to each mailbox.
    let backend = Arc::new(Scripted {
        delay: Duration::from_millis(15),
        request_limit: true,
        ..Scripted::default()
    });
    let (_db, _dir, first, second) = two_hosts(&backend);
    let jobs = (
        load_job(first.store(), "a", 8),
        load_job(first.store(), "b", 8),
    );
    let (x, y) = tokio::join!(run(&first, jobs.0), run(&second, jobs.1));
    assert_eq!(x + y, 48, "both jobs ran to the end");
    assert_eq!(
        backend.max_in_flight.load(Ordering::SeqCst),
        2,
        "the two hosts together reached the per-mailbox limit and never passed it"
    );
    // Every turn was given back: a newcomer gets each mailbox at once.
    if let Err(e) = first.store().register_worker("host:9:late", "host", 9) {
        panic!("{e}");
    }
    for n in 0..3 {
        let turn = first
            .store()
            .take_mailbox_turn("host:9:late", "t", &format!("u{n}@t.test"));
        assert_eq!(turn.ok(), Some(crate::store::MailboxTurn::Granted), "u{n}");
    }
}

#[tokio::test]
async fn a_breaker_one_engine_opens_stops_the_items_another_engine_claims() {
    // Engine A meets refused credentials on the first job; engine B, another process on the
    // same store with a backend that would answer, must not try the second job (created
    // before the refusal) at all. A third job, created after, is tried again.
    let refusing = Scripted::default();
    refusing
        .failures
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(
            "u0@t.test".into(),
            vec![transient(ErrorKind::AuthFailed, None)],
        );
    let s: Setup = setup(6, 2, refusing);
    let store = s.engine.store();
    let one = items_job(store, "one", 0..1);
    let rest = items_job(store, "rest", 1..6);
    run(&s.engine, one).await;
    let Some(path) = store.sqlite_path() else {
        panic!("a SQLite store");
    };
    let other_store = match Store::open(path) {
        Ok(o) => Arc::new(o),
        Err(e) => panic!("{e}"),
    };
    let answering = Arc::new(Scripted::default());
    let dir = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => panic!("{e}"),
    };
    let other = engine_on(other_store, dir.path(), (6, 2), &answering);
    run(&other, rest).await;
    let calls = answering
        .calls
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .len();
    assert_eq!(
        calls, 0,
        "the other engine tried a tenant whose credentials were refused"
    );
    let items = match other.store().job_items(rest) {
        Ok(i) => i,
        Err(e) => panic!("{e}"),
    };
    assert_eq!(items.len(), 5);
    for i in &items {
        assert_eq!(i.state, ItemState::Failed, "{i:?}");
        let error = i.error.as_deref().unwrap_or_default();
        assert!(
            error.starts_with("auth-failed:") && error.contains("refused earlier in this job"),
            "{error}"
        );
    }
    // A job created after the breaker opened is tried again (the secret may be fixed).
    tokio::time::sleep(Duration::from_millis(5)).await;
    let later = items_job(other.store(), "later", 1..3);
    assert_eq!(run(&other, later).await, 2);
    let calls = answering
        .calls
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .len();
    assert!(calls >= 2, "{calls} calls for the later job");
    let done = match other.store().job_items(later) {
        Ok(i) => i,
        Err(e) => panic!("{e}"),
    };
    assert!(done.iter().all(|i| i.state == ItemState::Done), "{done:?}");
}

/// A retract job of the logged `<m@x>` in mailboxes `u{n}@t.test` for each `n` given.
fn items_job(store: &Store, tag: &str, mailboxes: std::ops::Range<usize>) -> i64 {
    let items: Vec<NewItem> = mailboxes
        .map(|n| NewItem {
            tenant: "t".into(),
            mailbox: format!("u{n}@t.test"),
            message_id: "<m@x>".into(),
            ..NewItem::default()
        })
        .collect();
    write_job(store, JobKind::Retract, Action::MoveToJunk, tag, &items)
}
