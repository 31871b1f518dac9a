//! Jobs settling, delivery counters, the one clock, the audit chain, the message log,
//! evidence and unknown stored values.

use std::time::Duration;

use super::{Subject, job_with_items, mailboxes, start};
use crate::model::{
    DeliveryState, ItemOutcome, ItemState, JobKind, JobStatus, Location, MessageRecord,
    MessageStatus, Placement,
};
use crate::store::{
    AuditTrail, EvidenceStore, ItemClaims, ItemFinish, JobQueue, MessageLog, NewAudit, NewMessage,
    RefMatch, StoreError, StoreRoles,
};

fn finish(item: i64, worker: &str, outcome: ItemOutcome) -> ItemFinish {
    let state = if outcome == ItemOutcome::Failed {
        ItemState::Failed
    } else {
        ItemState::Done
    };
    ItemFinish {
        item,
        worker: worker.into(),
        state,
        outcome,
        error: (outcome == ItemOutcome::Failed).then(|| "timeout: gave up".to_string()),
        placements: Vec::new(),
        delivery: None,
        audit: NewAudit {
            actor: "tester".into(),
            role: "engine".into(),
            action: "trash".into(),
            target: format!("item {item}"),
            outcome: outcome.as_str().into(),
            ..NewAudit::default()
        },
        acted: outcome == ItemOutcome::Remediated,
    }
}

fn record(
    message_id: &str,
    subject: &str,
    to: &[&str],
    in_reply_to: Option<&str>,
) -> MessageRecord {
    MessageRecord {
        message_id: message_id.into(),
        from: "mallory@evil.test".into(),
        to: to.iter().map(|s| s.to_string()).collect(),
        cc: Vec::new(),
        subject: subject.into(),
        received_at: start(),
        disposition: None,
        in_reply_to: in_reply_to.map(str::to_string),
        references: Vec::new(),
        size: Some(100),
        tenant: None,
        source_id: None,
    }
}

fn ingest(store: &impl StoreRoles, records: &[MessageRecord]) {
    let batch: Vec<NewMessage<'_>> = records
        .iter()
        .map(|r| NewMessage {
            record: r,
            tenant: "t",
            recipients: r.to.iter().map(|a| (a.clone(), false)).collect(),
        })
        .collect();
    store.insert_messages(&batch).expect("ingest");
}

/// A job stays running while any item is unfinished, then closes by its counts: done with
/// no failure, partial with failures and remediations, failed with failures only.
pub(super) fn a_job_settles_by_its_counts<S: Subject>() {
    for (outcomes, status) in [
        (
            &[ItemOutcome::Remediated, ItemOutcome::NotFound][..],
            JobStatus::Done,
        ),
        (
            &[ItemOutcome::Remediated, ItemOutcome::Failed][..],
            JobStatus::Partial,
        ),
        (
            &[ItemOutcome::Failed, ItemOutcome::NotFound][..],
            JobStatus::Failed,
        ),
    ] {
        let subject = S::open();
        let store = subject.store();
        let job = job_with_items(store, &mailboxes(outcomes.len()));
        let claimed = store.claim_items("host:1:a", 10, None).expect("claim");
        for (i, (c, outcome)) in claimed.iter().zip(outcomes).enumerate() {
            assert_eq!(store.job(job).expect("job").status, JobStatus::Running);
            assert!(
                store
                    .finish_item(&finish(c.item.id, "host:1:a", *outcome))
                    .expect("finish")
            );
            let counts = store.job(job).expect("job").counts;
            assert_eq!(counts.claimed as usize, outcomes.len() - i - 1);
        }
        let done = store.job(job).expect("job");
        assert_eq!(done.status, status, "{outcomes:?}");
        assert!(done.finished_at.is_some());
        let failed = outcomes
            .iter()
            .filter(|o| **o == ItemOutcome::Failed)
            .count();
        let remediated = outcomes
            .iter()
            .filter(|o| **o == ItemOutcome::Remediated)
            .count();
        assert_eq!(done.counts.matched as usize, outcomes.len());
        assert_eq!(done.counts.failed as usize, failed);
        assert_eq!(done.counts.remediated as usize, remediated);
    }
}

/// Cancelling ends every queued item at once; a finished job cannot be cancelled again.
pub(super) fn a_cancel_is_final_and_a_second_cancel_refused<S: Subject>() {
    let subject = S::open();
    let store = subject.store();
    let job = job_with_items(store, &mailboxes(3));
    assert_eq!(
        store.cancel_job(job, &NewAudit::default()).expect("cancel"),
        3
    );
    assert!(
        store
            .claim_items("host:1:a", 10, None)
            .expect("claim")
            .is_empty()
    );
    match store.cancel_job(job, &NewAudit::default()) {
        Err(StoreError::Invalid(why)) => assert!(why.contains("already cancelled"), "{why}"),
        other => panic!("a second cancel: {other:?}"),
    }
    match store.cancel_job(job + 1000, &NewAudit::default()) {
        Err(StoreError::NotFound(_)) => {}
        other => panic!("no such job: {other:?}"),
    }
}

/// Each delivery change moves the message's totals by the difference, and its status with
/// them: partial after one of two, retracted after both, partial again after a restore.
pub(super) fn delivery_counters_follow_each_change<S: Subject>() {
    let subject = S::open();
    let store = subject.store();
    ingest(
        store,
        &[record("<m@x>", "invoice", &["a@t.test", "b@t.test"], None)],
    );
    let Ok(RefMatch::One(message)) = store.resolve_ref("<m@x>") else {
        panic!("not logged");
    };
    let job = job_with_items(store, &["a@t.test".into(), "b@t.test".into()]);
    let claimed = store.claim_items("host:1:a", 10, None).expect("claim");
    let steps = [
        ("a@t.test", DeliveryState::Retracted, MessageStatus::Partial),
        (
            "b@t.test",
            DeliveryState::Retracted,
            MessageStatus::Retracted,
        ),
    ];
    for (c, (mailbox, state, status)) in claimed.iter().zip(steps) {
        let mut f = finish(c.item.id, "host:1:a", ItemOutcome::Remediated);
        f.delivery = Some((message.id, mailbox.into(), state, Some("Trash".into())));
        assert!(store.finish_item(&f).expect("finish"));
        assert_eq!(
            store.message(message.id).expect("message").status,
            status,
            "{mailbox}"
        );
    }
    // A failure does not undo a pulled copy's state.
    let again = job_with_items(store, &["a@t.test".into()]);
    let c = &store
        .claim_items("host:1:a", 10, Some(&[again]))
        .expect("claim")[0];
    let mut f = finish(c.item.id, "host:1:a", ItemOutcome::Failed);
    f.delivery = Some((message.id, "a@t.test".into(), DeliveryState::Failed, None));
    assert!(store.finish_item(&f).expect("finish"));
    assert_eq!(
        store.message(message.id).expect("m").status,
        MessageStatus::Retracted
    );
    let restore = job_with_items(store, &["a@t.test".into()]);
    let c = &store
        .claim_items("host:1:a", 10, Some(&[restore]))
        .expect("claim")[0];
    let mut f = finish(c.item.id, "host:1:a", ItemOutcome::Restored);
    f.delivery = Some((
        message.id,
        "a@t.test".into(),
        DeliveryState::Restored,
        Some("INBOX".into()),
    ));
    assert!(store.finish_item(&f).expect("finish"));
    assert_eq!(
        store.message(message.id).expect("m").status,
        MessageStatus::Partial
    );
    let detail = store
        .message_detail(message.id, &|_| false)
        .expect("detail");
    let states: Vec<_> = detail.deliveries.iter().map(|d| d.status).collect();
    assert_eq!(states, [DeliveryState::Restored, DeliveryState::Retracted]);
    assert!(store.job(job).expect("job").status == JobStatus::Done);
}

/// A delivery says whether its copy had been read and which folder it sat in before
/// anything was done: from the first placement a retract or sweep recorded for its mailbox,
/// not a later job's (which found it where the first had put it), nor a restore's.
pub(super) fn a_copy_remembers_where_it_first_was<S: Subject>() {
    let subject = S::open();
    let store = subject.store();
    ingest(
        store,
        &[record("<m@x>", "invoice", &["a@t.test", "b@t.test"], None)],
    );
    let Ok(RefMatch::One(message)) = store.resolve_ref("<m@x>") else {
        panic!("not logged");
    };
    let placed = |mailbox: &str, folder: &str, seen: bool, to: &str| Placement {
        mailbox: mailbox.into(),
        from: Location {
            folder: folder.into(),
            provider_id: format!("{folder}/1"),
            seen,
            ..Location::default()
        },
        to_mailbox: None,
        to: Some(Location {
            folder: to.into(),
            provider_id: format!("{to}/1"),
            seen,
            ..Location::default()
        }),
    };
    // The user had read a@'s copy and trashed it; the first pull moved it to Junk, a second
    // found it in Junk; a restore of b@ carries b@'s placement backwards.
    let steps = [
        (
            JobKind::Retract,
            "a@t.test",
            placed("a@t.test", "Trash", true, "Junk"),
        ),
        (
            JobKind::Sweep,
            "a@t.test",
            placed("a@t.test", "Junk", false, "Junk"),
        ),
        (
            JobKind::Restore,
            "b@t.test",
            placed("b@t.test", "Junk", false, "INBOX"),
        ),
    ];
    for (kind, mailbox, placement) in steps {
        let (mut job, items) = super::retract_job(&[mailbox.to_string()]);
        job.kind = kind;
        let id = store.create_job(&job, &items).expect("create job");
        let c = &store
            .claim_items("host:1:a", 10, Some(&[id]))
            .expect("claim")[0];
        let mut f = finish(c.item.id, "host:1:a", ItemOutcome::Remediated);
        f.placements = vec![placement];
        assert!(store.finish_item(&f).expect("finish"));
    }
    let detail = store
        .message_detail(message.id, &|_| false)
        .expect("detail");
    let seen: Vec<_> = detail
        .deliveries
        .iter()
        .map(|d| (d.recipient.as_str(), d.read, d.original_folder.as_deref()))
        .collect();
    assert_eq!(
        seen,
        [
            ("a@t.test", Some(true), Some("Trash")),
            ("b@t.test", None, None)
        ]
    );
}

/// Every stored time is the store clock's: a job's, a claim's start, an audit record's,
/// an evidence copy's; none is the host's.
pub(super) fn stored_times_come_from_the_store_clock<S: Subject>() {
    let subject = S::open();
    let store = subject.store();
    let job = job_with_items(store, &mailboxes(1));
    subject.advance(Duration::from_secs(60));
    let c = &store.claim_items("host:1:a", 1, None).expect("claim")[0];
    store
        .add_evidence(c.item.id, "t", "u0@t.test", "<m@x>", "INBOX", b"raw")
        .expect("evidence");
    subject.advance(Duration::from_secs(60));
    assert!(
        store
            .finish_item(&finish(c.item.id, "host:1:a", ItemOutcome::Remediated))
            .expect("finish")
    );
    let job = store.job(job).expect("job");
    let minute = chrono::Duration::seconds(60);
    assert_eq!(job.created_at, start());
    assert_eq!(job.started_at, Some(start() + minute));
    assert_eq!(job.finished_at, Some(start() + minute * 2));
    let evidence = store.evidence_for_item(c.item.id).expect("evidence");
    assert_eq!(evidence[0].taken_at, start() + minute);
    let audit = store.audit_entries(&Default::default()).expect("audit");
    let times: Vec<String> = audit.iter().map(|e| e.at.clone()).collect();
    let text =
        |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    assert_eq!(times, [text(start()), text(start() + minute * 2)]);
}

/// Appends chain; an intact chain verifies (in full and from a checkpoint); a record altered
/// behind the store's back is found, by number.
pub(super) fn the_audit_chain_verifies_and_shows_tampering<S: Subject>() {
    let subject = S::open();
    let store = subject.store();
    let other = subject.another_handle();
    for n in 1..=6 {
        let writer: &S::Store = if n % 2 == 0 { store } else { &other };
        let seq = writer
            .audit(&NewAudit {
                actor: "alice".into(),
                role: "analyst".into(),
                action: "retract".into(),
                target: format!("<m{n}@x>"),
                outcome: "queued".into(),
                ..NewAudit::default()
            })
            .expect("append");
        assert_eq!(seq, n);
    }
    let verdict = store.verify_audit().expect("verify");
    assert!(verdict.ok && verdict.records == 6, "{verdict:?}");
    let progress = store.verify_audit_from(None).expect("verify");
    let checkpoint = progress.checkpoint.expect("checkpoint");
    assert_eq!(checkpoint.seq, 6);

    subject.alter_audit_record(4);
    let verdict = store.verify_audit().expect("verify");
    assert!(!verdict.ok);
    assert_eq!(verdict.first_bad, Some(4), "{verdict:?}");
    assert_eq!(
        verdict.problem.as_deref(),
        Some("record 4: hash does not match its content (the record was altered)"),
        "the verdict says why"
    );
    let from = store.verify_audit_from(Some(&checkpoint)).expect("verify");
    assert!(
        from.verdict.ok,
        "records before the checkpoint are not re-read: {from:?}"
    );
}

/// The trail is listed by time window, actor, action (a prefix), target (a substring) and
/// limit, the same on every store; `limit` counts back from the newest record selected.
pub(super) fn audit_records_are_listed_by_filter<S: Subject>() {
    let subject = S::open();
    let store = subject.store();
    let records = [
        ("alice", "retract", "alice@t.test <m1@x>"),
        ("bob", "quarantine", "bob@t.test <m2@x>"),
        ("alice", "restore", "bob@t.test <m2@x>"),
        ("bob", "approve retract quarantine", "request 3"),
    ];
    for (actor, action, target) in records {
        store
            .audit(&NewAudit {
                actor: actor.into(),
                role: "analyst".into(),
                action: action.into(),
                target: target.into(),
                outcome: "ok".into(),
                ..NewAudit::default()
            })
            .expect("append");
        subject.advance(Duration::from_secs(60));
    }
    let seqs = |filter: crate::store::AuditFilter| -> Vec<i64> {
        store
            .audit_entries(&filter)
            .expect("list")
            .iter()
            .map(|e| e.seq)
            .collect()
    };
    let minute = chrono::Duration::seconds(60);
    use crate::store::AuditFilter as F;
    assert_eq!(seqs(F::default()), [1, 2, 3, 4]);
    assert_eq!(
        seqs(F {
            action: Some("re".into()),
            ..F::default()
        }),
        [1, 3],
        "the action is a prefix"
    );
    assert_eq!(
        seqs(F {
            action: Some("quarantine".into()),
            ..F::default()
        }),
        [2]
    );
    assert_eq!(
        seqs(F {
            target: Some("<m2@x>".into()),
            ..F::default()
        }),
        [2, 3],
        "the target is a substring"
    );
    assert_eq!(
        seqs(F {
            target: Some("BOB@".into()),
            ..F::default()
        }),
        Vec::<i64>::new(),
        "and case-sensitive"
    );
    assert_eq!(
        seqs(F {
            since: Some(start() + minute),
            until: Some(start() + minute * 2),
            ..F::default()
        }),
        [2, 3],
        "both ends of the window are inclusive"
    );
    assert_eq!(
        seqs(F {
            actor: Some("bob".into()),
            target: Some("<m2@x>".into()),
            ..F::default()
        }),
        [2]
    );
    assert_eq!(
        seqs(F {
            until: Some(start() + minute * 2),
            limit: Some(2),
            ..F::default()
        }),
        [2, 3],
        "the limit counts back from the window's end"
    );
}

/// The log finds messages by words, by field and by Message-ID, follows a reply, and merges
/// a record ingested twice.
pub(super) fn the_message_log_is_searched_and_followed<S: Subject>() {
    let subject = S::open();
    let store = subject.store();
    let root = record("<root@x>", "Quarterly invoice overdue", &["a@t.test"], None);
    let reply = record(
        "<reply@x>",
        "Re: Quarterly invoice",
        &["b@t.test"],
        Some("<root@x>"),
    );
    let other = record("<other@x>", "Lunch", &["a@t.test"], None);
    ingest(store, &[root.clone(), reply, other]);
    let mut again = root.clone();
    again.to.push("c@t.test".into());
    ingest(store, &[again]);
    assert_eq!(store.message_count().expect("count"), 3);
    let find = |q: &str| -> Vec<String> {
        let query = crate::query::parse(q, start()).expect("query");
        let mut found: Vec<String> = store
            .search(&query, 10, 0)
            .expect("search")
            .into_iter()
            .map(|m| m.message_id)
            .collect();
        found.sort();
        assert_eq!(
            store.search_count(&query).expect("count"),
            found.len() as u64,
            "{q}"
        );
        found
    };
    assert_eq!(find("invoice"), ["<reply@x>", "<root@x>"]);
    assert_eq!(find("subject:lunch"), ["<other@x>"]);
    assert_eq!(find("invoice -overdue"), ["<reply@x>"]);
    let Ok(RefMatch::One(root)) = store.resolve_ref("root@x") else {
        panic!("a REF without brackets resolves");
    };
    let deliveries = store.deliveries_of(root.id).expect("deliveries");
    assert_eq!(
        deliveries.len(),
        2,
        "the second ingest merged its new recipient"
    );
    let conversation = store.conversation(&root, 3).expect("conversation");
    let ids: Vec<_> = conversation
        .iter()
        .map(|e| (e.depth, e.message.message_id.as_str()))
        .collect();
    assert_eq!(ids, [(1, "<reply@x>")]);
    assert_eq!(store.logged_id("<root@x>", "t").expect("id"), Some(root.id));
    assert!(matches!(
        store.resolve_ref("<nothing@x>"),
        Ok(RefMatch::None)
    ));
    // An analyst's report sets the disposition, which the query then finds.
    store.set_disposition(root.id, "Clean").expect("set");
    assert_eq!(
        store
            .message(root.id)
            .expect("message")
            .disposition
            .as_deref(),
        Some("clean")
    );
    assert_eq!(find("disposition:clean"), ["<root@x>"]);
    // The mailboxes a hunt reads: each internal recipient once, within the window only.
    assert_eq!(
        store
            .mailboxes_within(Duration::from_secs(3600))
            .expect("mailboxes"),
        [
            ("t".to_string(), "a@t.test".to_string()),
            ("t".into(), "b@t.test".into()),
            ("t".into(), "c@t.test".into()),
        ]
    );
    subject.advance(Duration::from_secs(7200));
    assert!(
        store
            .mailboxes_within(Duration::from_secs(3600))
            .expect("mailboxes")
            .is_empty()
    );
    assert!(matches!(
        store.set_disposition(root.id + 1000, "clean"),
        Err(crate::store::StoreError::NotFound(_))
    ));
}

/// Evidence keeps the exact bytes and their SHA-256.
pub(super) fn evidence_keeps_bytes_and_digest<S: Subject>() {
    let subject = S::open();
    let store = subject.store();
    job_with_items(store, &mailboxes(1));
    let item = store.claim_items("host:1:a", 1, None).expect("claim")[0]
        .item
        .id;
    let raw = b"From: mallory@evil.test\r\nSubject: x\r\n\r\n\x00\xffbody";
    let sha = store
        .add_evidence(item, "t", "u0@t.test", "<m@x>", "INBOX", raw)
        .expect("evidence");
    // The digest of these bytes by `printf '...' | sha256sum`.
    assert_eq!(
        sha,
        "c5c4fa729966e5c441fd650db8567cff2876bc0297e89d7c3b740311f42601fe"
    );
    let records = store.evidence_for_item(item).expect("records");
    assert_eq!(records.len(), 1);
    assert_eq!(
        (records[0].sha256.as_str(), records[0].size),
        (sha.as_str(), raw.len() as u64)
    );
    assert_eq!(store.evidence_raw(records[0].id).expect("raw"), raw);
    // Found again by tenant and Message-ID (the `evidence` command's last resort), and only so.
    let by_message = store
        .evidence_for_message("t", "<m@x>")
        .expect("by message");
    assert_eq!(by_message, records);
    assert!(
        store
            .evidence_for_message("other", "<m@x>")
            .expect("other tenant")
            .is_empty()
    );
    assert!(
        store
            .evidence_for_message("t", "<n@x>")
            .expect("other id")
            .is_empty()
    );
}

/// A value this version does not know, written behind the store's back, stops the read with
/// an error naming table, column and row; claiming skips (and fails) only that item.
pub(super) fn an_unknown_stored_value_stops_the_read<S: Subject>() {
    let subject = S::open();
    let store = subject.store();
    let bad = job_with_items(store, &mailboxes(1));
    let good = job_with_items(store, &mailboxes(1));
    subject.overwrite("jobs", "action", bad, "shred-everything");
    match store.job(bad) {
        Err(StoreError::Unreadable(v)) => {
            assert_eq!((v.table, v.column, v.row), ("jobs", "action", bad));
            assert_eq!(v.value, "shred-everything");
        }
        other => panic!("an unknown action read back: {other:?}"),
    }
    let claimed = store.claim_items("host:1:a", 10, None).expect("claim");
    assert_eq!(
        claimed.iter().map(|c| c.item.job_id).collect::<Vec<_>>(),
        [good]
    );
    let item = store.job_items(good).expect("items")[0].id;
    subject.overwrite("items", "state", item, "limbo");
    match store.job_items(good) {
        Err(StoreError::Unreadable(v)) => {
            assert_eq!((v.table, v.column, v.row), ("items", "state", item))
        }
        other => panic!("an unknown state read back: {other:?}"),
    }
}
