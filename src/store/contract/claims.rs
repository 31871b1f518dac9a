//! Claims: exclusive, leased, fenced, retried by the store's clock.

use std::collections::HashSet;
use std::time::Duration;

use super::{LEASE, Subject, job_with_items, lease_ms, mailboxes};
use crate::model::{ItemOutcome, ItemState, JobStatus};
use crate::store::{AuditTrail, ItemClaims, ItemFinish, JobQueue, NewAudit, Requeued};

fn nobody_dead(_: &str, _: i64) -> bool {
    false
}

/// A result for `item` held by `worker`.
pub(super) fn remediated(item: i64, worker: &str) -> ItemFinish {
    ItemFinish {
        item,
        worker: worker.into(),
        state: ItemState::Done,
        outcome: ItemOutcome::Remediated,
        error: None,
        placements: Vec::new(),
        delivery: None,
        audit: NewAudit {
            actor: "tester".into(),
            role: "engine".into(),
            action: "trash".into(),
            target: format!("item {item}"),
            outcome: "remediated".into(),
            ..NewAudit::default()
        },
        acted: true,
    }
}

/// Items in the race of [`two_workers_never_claim_the_same_item`].
const ITEMS: usize = 600;

/// Two handles (two processes) claiming from one queue at once, in small batches, until it is
/// empty: every item is claimed exactly once.
pub(super) fn two_workers_never_claim_the_same_item<S: Subject>() {
    let subject = S::open();
    let job = job_with_items(subject.store(), &mailboxes(ITEMS));
    // Both start at once, so the queue is drained by both rather than by whichever came first.
    let start = std::sync::Arc::new(std::sync::Barrier::new(2));
    let claimers: Vec<_> = ["host:1:a", "host:2:b"]
        .into_iter()
        .map(|worker| {
            let store = subject.another_handle();
            let start = start.clone();
            std::thread::spawn(move || {
                store.register_worker(worker, "host", 1).expect("register");
                start.wait();
                let mut mine = Vec::new();
                loop {
                    let batch = store.claim_items(worker, 3, None).expect("claim");
                    if batch.is_empty() {
                        return mine;
                    }
                    assert!(batch.iter().all(|c| c.worker == worker));
                    mine.extend(batch.into_iter().map(|c| c.item.id));
                    // Acting on the batch takes a moment, as in a real worker; without it
                    // one handle can starve the other in SQLite's busy wait.
                    std::thread::sleep(Duration::from_millis(1));
                }
            })
        })
        .collect();
    let claimed: Vec<Vec<i64>> = claimers
        .into_iter()
        .map(|t| t.join().expect("claimer"))
        .collect();
    let all: Vec<i64> = claimed.iter().flatten().copied().collect();
    let distinct: HashSet<i64> = all.iter().copied().collect();
    assert_eq!(all.len(), ITEMS, "every item claimed once");
    assert_eq!(distinct.len(), ITEMS, "no item claimed twice");
    assert!(
        claimed.iter().all(|c| !c.is_empty()),
        "both workers took part"
    );
    let items = subject.store().job_items(job).expect("items");
    assert!(items.iter().all(|i| i.state == ItemState::Claimed));
}

/// A worker that stops heartbeating loses its claims once its lease has run out (not
/// before), and another worker takes the item over.
pub(super) fn an_expired_lease_hands_the_item_over<S: Subject>() {
    let subject = S::open();
    let store = subject.store();
    let other = subject.another_handle();
    job_with_items(store, &mailboxes(1));
    store.register_worker("host:1:a", "host", 1).expect("a");
    other.register_worker("host:2:b", "host", 2).expect("b");
    let item = store.claim_items("host:1:a", 10, None).expect("claim")[0]
        .item
        .id;

    subject.advance(LEASE / 2);
    other.heartbeat("host:2:b").expect("b beats");
    assert_eq!(
        other
            .reclaim_orphans(lease_ms(), &nobody_dead)
            .expect("reclaim"),
        0
    );
    assert!(
        store
            .claim_holds(item, "host:1:a", lease_ms())
            .expect("holds")
    );

    subject.advance(LEASE);
    other.heartbeat("host:2:b").expect("b beats");
    assert!(
        !store
            .claim_holds(item, "host:1:a", lease_ms())
            .expect("fence")
    );
    assert_eq!(
        other
            .reclaim_orphans(lease_ms(), &nobody_dead)
            .expect("reclaim"),
        1
    );
    let taken = other.claim_items("host:2:b", 10, None).expect("claim");
    assert_eq!(taken.iter().map(|c| c.item.id).collect::<Vec<_>>(), [item]);
    assert_eq!(taken[0].item.attempts, 2);
    assert!(
        other
            .claim_holds(item, "host:2:b", lease_ms())
            .expect("holds")
    );
}

/// The old holder of a claim taken over writes nothing as the item's: its placements, its
/// requeue and its result are refused; the act it made is still audited.
pub(super) fn a_fenced_writer_is_refused<S: Subject>() {
    let subject = S::open();
    let store = subject.store();
    let job = job_with_items(store, &mailboxes(1));
    store.register_worker("host:1:a", "host", 1).expect("a");
    let item = store.claim_items("host:1:a", 1, None).expect("claim")[0]
        .item
        .id;
    subject.advance(LEASE * 2);
    store.register_worker("host:2:b", "host", 2).expect("b");
    store
        .reclaim_orphans(lease_ms(), &nobody_dead)
        .expect("reclaim");
    assert_eq!(
        store.claim_items("host:2:b", 1, None).expect("claim").len(),
        1
    );
    let audited = store
        .audit_entries(&Default::default())
        .expect("audit")
        .len();

    assert!(
        !store
            .record_placements(item, "host:1:a", &[])
            .expect("placements")
    );
    assert_eq!(
        store
            .requeue_item(item, "host:1:a", Duration::ZERO, "late")
            .expect("requeue"),
        Requeued::NotOurs
    );
    assert!(
        !store
            .finish_item(&remediated(item, "host:1:a"))
            .expect("finish")
    );
    let after = store.audit_entries(&Default::default()).expect("audit");
    assert_eq!(after.len(), audited + 1, "the late act is audited");
    assert!(
        after[audited]
            .detail
            .as_deref()
            .unwrap_or_default()
            .contains("taken over"),
        "{after:?}"
    );
    let still = &store.job_items(job).expect("items")[0];
    assert_eq!(still.state, ItemState::Claimed, "still the new holder's");

    assert!(
        store
            .finish_item(&remediated(item, "host:2:b"))
            .expect("finish")
    );
    assert_eq!(store.job(job).expect("job").status, JobStatus::Done);
}

/// A requeued item is due `retry_in` later by the store's clock, whatever the host's.
pub(super) fn a_retry_is_due_by_the_store_clock<S: Subject>() {
    let subject = S::open();
    let store = subject.store();
    job_with_items(store, &mailboxes(1));
    let item = store.claim_items("host:1:a", 1, None).expect("claim")[0]
        .item
        .id;
    let retry_in = Duration::from_millis(300);
    assert_eq!(
        store
            .requeue_item(item, "host:1:a", retry_in, "attempt 1: timeout")
            .expect("requeue"),
        Requeued::Queued
    );
    assert_eq!(
        store.pending(None).expect("pending"),
        (1, 0, Some(retry_in))
    );
    assert!(
        store
            .claim_items("host:1:a", 1, None)
            .expect("claim")
            .is_empty()
    );
    subject.advance(Duration::from_millis(299));
    assert!(
        store
            .claim_items("host:1:a", 1, None)
            .expect("claim")
            .is_empty()
    );
    subject.advance(Duration::from_millis(1));
    assert_eq!(
        store.pending(None).expect("pending"),
        (1, 0, Some(Duration::ZERO))
    );
    assert_eq!(
        store.claim_items("host:1:a", 1, None).expect("claim").len(),
        1
    );
}

/// An item given back after its job was cancelled ends `cancelled`, audited, and the job is
/// finished.
pub(super) fn a_retry_in_a_cancelled_job_ends_cancelled<S: Subject>() {
    let subject = S::open();
    let store = subject.store();
    let job = job_with_items(store, &mailboxes(2));
    let item = store.claim_items("host:1:a", 1, None).expect("claim")[0]
        .item
        .id;
    assert_eq!(
        store.cancel_job(job, &NewAudit::default()).expect("cancel"),
        1
    );
    assert_eq!(
        store
            .requeue_item(item, "host:1:a", Duration::ZERO, "attempt 1: timeout")
            .expect("requeue"),
        Requeued::Cancelled
    );
    let items = store.job_items(job).expect("items");
    assert!(
        items.iter().all(|i| i.state == ItemState::Cancelled),
        "{items:?}"
    );
    assert_eq!(items[0].error.as_deref(), Some("attempt 1: timeout"));
    let job = store.job(job).expect("job");
    assert_eq!(job.status, JobStatus::Cancelled);
    assert!(job.finished_at.is_some());
    assert!(
        store
            .claim_items("host:1:a", 10, None)
            .expect("claim")
            .is_empty()
    );
}
