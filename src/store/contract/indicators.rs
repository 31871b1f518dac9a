//! Indicators: a batch stored whole, a repeat refreshed not doubled, expiry by the store's
//! clock, removal, and the hunt marks (the log's and the mailboxes') that only move forward.

use std::time::Duration;

use super::{Subject, start};
use crate::model::{Indicator, IndicatorKind};
use crate::store::{IndicatorStore, IndicatorsAdded, StoreError};

fn indicator(kind: IndicatorKind, value: &str, expires_in: Option<Duration>) -> Indicator {
    let expires_at =
        expires_in.and_then(|d| chrono::Duration::from_std(d).ok().map(|d| start() + d));
    Indicator::new(kind, value, "feed", None, expires_at).expect("a valid indicator")
}

/// Added in one batch, listed, refreshed on a repeat, expired by the store clock, removed.
pub(super) fn indicators_are_kept_refreshed_and_expire<S: Subject>() {
    let subject = S::open();
    let store = subject.store();
    let hour = Duration::from_secs(3600);
    let batch = [
        indicator(IndicatorKind::SenderDomain, "evil.example", None),
        indicator(IndicatorKind::Subject, "Invoice overdue", Some(hour)),
    ];
    assert_eq!(
        store.add_indicators(&batch, "alice").expect("add"),
        IndicatorsAdded {
            added: 2,
            refreshed: 0
        }
    );
    let listed = store.indicators().expect("list");
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0].indicator, batch[0]);
    assert_eq!(listed[1].indicator.value, "invoice overdue");
    assert_eq!(
        (listed[0].added_by.as_str(), listed[0].added_at),
        ("alice", start())
    );

    // The same (kind, value, source) again: a refresh of its classification and expiry.
    let mut again = batch[1].clone();
    again.classification = "spam".into();
    again.expires_at = None;
    assert_eq!(
        store.add_indicators(&[again], "bob").expect("again"),
        IndicatorsAdded {
            added: 0,
            refreshed: 1
        }
    );
    let listed = store.indicators().expect("list");
    assert_eq!(listed.len(), 2);
    assert_eq!(
        (
            listed[1].indicator.classification.as_str(),
            listed[1].indicator.expires_at
        ),
        ("spam", None)
    );

    // Expiry is the store clock's: an hour-long one stops counting after an hour.
    store
        .add_indicators(
            &[indicator(
                IndicatorKind::Url,
                "https://evil.example/x",
                Some(hour),
            )],
            "alice",
        )
        .expect("add expiring");
    assert_eq!(store.live_indicators().expect("live").len(), 3);
    subject.advance(hour + Duration::from_secs(1));
    let live = store.live_indicators().expect("live");
    assert_eq!(live.len(), 2);
    assert!(live.iter().all(|r| r.indicator.kind != IndicatorKind::Url));
    assert_eq!(store.indicators().expect("all").len(), 3);

    // The hunt mark moves forward only, per indicator.
    let first = listed[0].id;
    assert_eq!(store.hunted_to(first).expect("mark"), 0);
    store.set_hunted_to(first, 40).expect("set");
    store.set_hunted_to(first, 12).expect("set lower");
    assert_eq!(store.hunted_to(first).expect("mark"), 40);
    assert_eq!(store.hunted_to(listed[1].id).expect("other mark"), 0);

    // Removal by id says what went; a missing id is NotFound; --all empties the table.
    assert_eq!(
        store.remove_indicator(first).expect("remove").indicator,
        batch[0]
    );
    assert!(matches!(
        store.remove_indicator(first),
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(store.remove_all_indicators().expect("remove all"), 2);
    assert!(store.indicators().expect("empty").is_empty());
}

/// A kind this version does not know (a newer version's row) stops the read, never a guess.
pub(super) fn an_unknown_indicator_kind_stops_the_read<S: Subject>() {
    let subject = S::open();
    let store = subject.store();
    let good = indicator(IndicatorKind::Sender, "a@evil.example", None);
    store.add_indicators(&[good], "alice").expect("add");
    let id = store.indicators().expect("list")[0].id;
    subject.overwrite("indicators", "kind", id, "ip-address");
    assert!(matches!(store.indicators(), Err(StoreError::Unreadable(_))));
    assert!(matches!(
        store.live_indicators(),
        Err(StoreError::Unreadable(_))
    ));
}

/// The mailbox hunt's marks: per tenant and mailbox, never moved back, and cleared by any
/// removal (an id a removed indicator had must not inherit its marks).
pub(super) fn mailbox_hunt_marks_move_forward_and_a_removal_clears_them<S: Subject>() {
    let subject = S::open();
    let store = subject.store();
    let batch = [
        indicator(IndicatorKind::UrlDomain, "evil.example", None),
        indicator(IndicatorKind::AttachmentName, "invoice.zip", None),
    ];
    store.add_indicators(&batch, "alice").expect("add");
    let ids: Vec<i64> = store
        .indicators()
        .expect("list")
        .iter()
        .map(|r| r.id)
        .collect();
    let boxes = ["a@t.test".to_string(), "b@t.test".to_string()];
    let first = start();
    let later = first + chrono::Duration::hours(1);
    // Given in any order, kept ascending.
    let reversed: Vec<i64> = ids.iter().rev().copied().collect();
    store
        .set_mailbox_hunt_marks("t", &boxes, later, &reversed)
        .expect("mark");
    store
        .set_mailbox_hunt_marks("u", &boxes[..1], first, &ids[..1])
        .expect("mark");
    let marks = store.mailbox_hunt_marks("t").expect("marks");
    assert_eq!(marks.len(), 2);
    assert_eq!(
        (
            marks[0].mailbox.as_str(),
            marks[0].hunted_until,
            &marks[0].indicators
        ),
        ("a@t.test", later, &ids)
    );
    // An older hunt finishing late moves nothing back.
    store
        .set_mailbox_hunt_marks("t", &boxes[..1], first, &ids[..1])
        .expect("mark");
    let marks = store.mailbox_hunt_marks("t").expect("marks");
    assert_eq!((marks[0].hunted_until, &marks[0].indicators), (later, &ids));
    assert_eq!(
        store.mailbox_hunt_marks("u").expect("marks")[0].indicators,
        ids[..1]
    );
    assert!(store.mailbox_hunt_marks("v").expect("marks").is_empty());
    store.remove_indicator(ids[1]).expect("remove");
    assert!(store.mailbox_hunt_marks("t").expect("marks").is_empty());
    assert!(store.mailbox_hunt_marks("u").expect("marks").is_empty());
    store
        .set_mailbox_hunt_marks("t", &boxes, later, &ids[..1])
        .expect("mark");
    store.remove_all_indicators().expect("remove all");
    assert!(store.mailbox_hunt_marks("t").expect("marks").is_empty());
}
