//! Phish reports: recorded once, reporters counted per message, processing marked once.

use std::time::Duration;

use super::{Subject, start};
use crate::store::{NewReport, PhishReports};

fn report(id: &str, reporter: &str, original: Option<&str>) -> NewReport {
    NewReport {
        tenant: "corp".into(),
        mailbox: "abuse@corp.test".into(),
        report_id: id.into(),
        reporter: reporter.into(),
        original_message_id: original.map(str::to_string),
        format: "attached".into(),
        outcome: "reported".into(),
        detail: "attached whole".into(),
        alert: original.map(str::to_string),
    }
}

pub(super) fn a_phish_report_is_recorded_once_and_its_reporters_counted<S: Subject>() {
    let s = S::open();
    let store = s.store();
    let first = store
        .record_report(&report("<r1@x>", "alice@corp.test", Some("<p@evil>")))
        .expect("record");
    assert!(first.is_some());
    // The same report again: recognised, the stored one stands.
    let again = store
        .record_report(&report("<r1@x>", "mallory@corp.test", Some("<p@evil>")))
        .expect("record again");
    assert_eq!(again, None);
    store
        .record_report(&report("<r2@x>", "bob@corp.test", Some("<p@evil>")))
        .expect("second reporter");
    store
        .record_report(&report("<r3@x>", "bob@corp.test", Some("<p@evil>")))
        .expect("same reporter again");
    store
        .record_report(&report("<r4@x>", "carol@corp.test", None))
        .expect("unmatched");
    // A report whose sender is not known to have received the message is not a reporter.
    let mut forged = report("<r5@x>", "mallory@evil.test", Some("<p@evil>"));
    forged.outcome = "unconfirmed".into();
    store.record_report(&forged).expect("unconfirmed");
    assert_eq!(
        store.reporters_of("<p@evil>").expect("reporters"),
        vec!["alice@corp.test".to_string(), "bob@corp.test".to_string()]
    );
    assert_eq!(
        store
            .set_report_outcome("<p@evil>", "phish")
            .expect("outcome"),
        3
    );
    let stored = store
        .report("corp", "abuse@corp.test", "<r1@x>")
        .expect("read")
        .expect("recorded");
    assert_eq!(stored.reporter, "alice@corp.test");
    assert_eq!(stored.outcome, "phish");
    assert_eq!(stored.received_at, start());
    assert_eq!(stored.processed_at, None);
    s.advance(Duration::from_secs(5));
    let id = first.unwrap_or_default();
    store.mark_report_processed(id).expect("processed");
    s.advance(Duration::from_secs(5));
    store.mark_report_processed(id).expect("processed again");
    let stored = store
        .report("corp", "abuse@corp.test", "<r1@x>")
        .expect("read")
        .expect("recorded");
    assert_eq!(
        stored.processed_at,
        Some(start() + chrono::Duration::seconds(5)),
        "the first processing time stands"
    );
    let newest = store.reports(2).expect("list");
    assert_eq!(
        newest
            .iter()
            .map(|r| r.report_id.as_str())
            .collect::<Vec<_>>(),
        ["<r5@x>", "<r4@x>"]
    );
    assert!(
        store
            .report("corp", "abuse@corp.test", "<nope@x>")
            .expect("read")
            .is_none()
    );
    assert!(
        !store
            .has_active_alert("<p@evil>", "ioc-match")
            .expect("alerts")
    );
}
