//! Limits kept together by every handle on the store: mailbox turns, holds, breakers.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::time::Duration;

use super::{Subject, job_with_items, lease_ms, mailboxes};
use crate::store::{ItemClaims, MailboxTurn, SharedLimits};

/// Hosts racing for one mailbox in the race below.
const RACERS: usize = 4;
/// Turns each racer takes, one at a time, ending each one it got.
const ROUNDS: usize = 30;
/// How long the racers may take for all their turns: a liveness bound, not a speed target
/// (a loaded CI machine once needed more than 15,000 tries for one racer's 30 turns).
const RACE_LIMIT: Duration = Duration::from_secs(120);

/// Several handles (hosts) taking and ending turns at one mailbox at once: never two
/// workers' turns at once, and each ended turn is free for the next.
pub(super) fn one_worker_at_a_time_has_a_mailboxs_turn<S: Subject>() {
    let subject = S::open();
    let workers: Vec<String> = (0..RACERS).map(|i| format!("host{i}:1:a")).collect();
    for w in &workers {
        subject
            .store()
            .register_worker(w, "host", 1)
            .expect("register");
    }
    let inside = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let start = Arc::new(std::sync::Barrier::new(RACERS));
    let racers: Vec<_> = workers
        .iter()
        .map(|worker| {
            let (store, worker) = (subject.another_handle(), worker.clone());
            let (inside, most, start) = (inside.clone(), most.clone(), start.clone());
            std::thread::spawn(move || {
                start.wait();
                let deadline = std::time::Instant::now() + RACE_LIMIT;
                let mut turns = 0;
                while turns < ROUNDS && std::time::Instant::now() < deadline {
                    match store.take_mailbox_turn(&worker, "t", "a@t.test") {
                        Ok(MailboxTurn::Granted) => {
                            most.fetch_max(inside.fetch_add(1, SeqCst) + 1, SeqCst);
                            // Asking again within one's turn is granted again.
                            assert_eq!(
                                store.take_mailbox_turn(&worker, "t", "a@t.test").ok(),
                                Some(MailboxTurn::Granted)
                            );
                            std::thread::sleep(Duration::from_millis(1));
                            inside.fetch_sub(1, SeqCst);
                            store
                                .end_mailbox_turn(&worker, "t", "a@t.test")
                                .expect("end");
                            turns += 1;
                            // A worker goes on to other mailboxes between turns here; one
                            // that asked again at once could keep the turn from the others.
                            std::thread::sleep(Duration::from_millis(1));
                        }
                        Ok(MailboxTurn::Busy { worker: other }) => {
                            assert_ne!(other, worker);
                            std::thread::sleep(Duration::from_micros(200));
                        }
                        Ok(held) => panic!("no hold was set: {held:?}"),
                        Err(e) => panic!("take: {e}"),
                    }
                }
                turns
            })
        })
        .collect();
    let turns: Vec<usize> = racers
        .into_iter()
        .map(|r| r.join().expect("racer"))
        .collect();
    assert!(
        turns.iter().all(|&n| n == ROUNDS),
        "every racer had its turns in the end: {turns:?}"
    );
    assert_eq!(most.load(SeqCst), 1, "two workers' turns at once");
    let store = subject.store();
    assert_eq!(
        store
            .take_mailbox_turn(&workers[0], "t", "a@t.test")
            .expect("take"),
        MailboxTurn::Granted
    );
    // Another worker's end leaves the turn alone.
    store
        .end_mailbox_turn(&workers[1], "t", "a@t.test")
        .expect("end");
    assert_eq!(
        store
            .take_mailbox_turn(&workers[1], "t", "a@t.test")
            .expect("take"),
        MailboxTurn::Busy {
            worker: workers[0].clone()
        }
    );
    // Other mailboxes, and the same address in another tenant, have their own turns.
    for (tenant, mailbox) in [("t", "b@t.test"), ("u", "a@t.test")] {
        assert_eq!(
            store
                .take_mailbox_turn(&workers[1], tenant, mailbox)
                .expect("take"),
            MailboxTurn::Granted
        );
    }
}

/// A worker that is forgotten (presumed dead, or stopped) gives its turns back with it.
pub(super) fn a_forgotten_worker_gives_its_turns_back<S: Subject>() {
    let subject = S::open();
    let store = subject.store();
    for w in ["host:1:dead", "host:2:live"] {
        store.register_worker(w, "host", 1).expect("register");
    }
    assert_eq!(
        store
            .take_mailbox_turn("host:1:dead", "t", "a@t.test")
            .expect("take"),
        MailboxTurn::Granted
    );
    let other = subject.another_handle();
    assert!(matches!(
        other
            .take_mailbox_turn("host:2:live", "t", "a@t.test")
            .expect("take"),
        MailboxTurn::Busy { .. }
    ));
    subject.advance(Duration::from_millis(lease_ms() as u64 + 1));
    other.heartbeat("host:2:live").expect("heartbeat");
    other
        .reclaim_orphans(lease_ms(), &|_, _| false)
        .expect("reclaim");
    assert_eq!(
        other
            .take_mailbox_turn("host:2:live", "t", "a@t.test")
            .expect("take"),
        MailboxTurn::Granted,
        "the dead worker's turn outlived it"
    );
    // A worker that stops cleanly takes its turns with it too.
    other.unregister_worker("host:2:live").expect("unregister");
    store
        .register_worker("host:3:new", "host", 3)
        .expect("register");
    assert_eq!(
        store
            .take_mailbox_turn("host:3:new", "t", "a@t.test")
            .expect("take"),
        MailboxTurn::Granted
    );
}

/// A hold set by one host is kept by every host, by the store's clock, and never shortened.
pub(super) fn a_mailbox_hold_is_kept_by_every_handle<S: Subject>() {
    let subject = S::open();
    let store = subject.store();
    store
        .register_worker("host:1:a", "host", 1)
        .expect("register");
    store
        .hold_mailbox("t", "a@t.test", Duration::from_secs(30))
        .expect("hold");
    // A later, shorter hold does not shorten it.
    store
        .hold_mailbox("t", "a@t.test", Duration::from_secs(5))
        .expect("hold");
    let other = subject.another_handle();
    let take = |mailbox: &str| {
        other
            .take_mailbox_turn("host:1:a", "t", mailbox)
            .expect("take")
    };
    assert_eq!(take("a@t.test"), MailboxTurn::Held(Duration::from_secs(30)));
    assert_eq!(take("b@t.test"), MailboxTurn::Granted);
    subject.advance(Duration::from_secs(20));
    assert_eq!(take("a@t.test"), MailboxTurn::Held(Duration::from_secs(10)));
    subject.advance(Duration::from_secs(10));
    assert_eq!(take("a@t.test"), MailboxTurn::Granted);
}

/// A breaker opened by one host stops the items of jobs created before it on every host; a
/// job created afterwards is tried again.
pub(super) fn a_breaker_stops_earlier_jobs_everywhere<S: Subject>() {
    let subject = S::open();
    let store = subject.store();
    let before = job_with_items(store, &mailboxes(1));
    assert_eq!(store.breaker_for_job("t", before).expect("breaker"), None);
    subject.advance(Duration::from_secs(1));
    let other = subject.another_handle();
    other
        .open_breaker("t", "credentials refused: AADSTS7000215")
        .expect("open");
    assert_eq!(
        store
            .breaker_for_job("t", before)
            .expect("breaker")
            .as_deref(),
        Some("credentials refused: AADSTS7000215")
    );
    // Another tenant's items are not stopped.
    assert_eq!(store.breaker_for_job("u", before).expect("breaker"), None);
    subject.advance(Duration::from_secs(1));
    let after = job_with_items(store, &mailboxes(1));
    assert_eq!(store.breaker_for_job("t", after).expect("breaker"), None);
    // Refused again: now it stops the new job too.
    subject.advance(Duration::from_secs(1));
    store.open_breaker("t", "refused again").expect("open");
    assert_eq!(
        other
            .breaker_for_job("t", after)
            .expect("breaker")
            .as_deref(),
        Some("refused again")
    );
}
