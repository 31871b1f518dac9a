//! Indicator hunts handed to the policies: a match pulls under an automatic rule once, waits
//! under a confirmation rule; the log hunt ignores look-alikes, expired indicators and old
//! mail, and one pass over the log serves indicators at different marks.

use super::*;

/// A live indicator for the hunt tests.
fn indicator(kind: crate::model::IndicatorKind, value: &str) -> crate::model::Indicator {
    crate::model::Indicator::new(kind, value, "feed", None, None).unwrap()
}

/// Log one message from `from` (delivered nowhere: the hunt reads the log only).
fn log_from(w: &World, message_id: &str, from: &str) {
    let record = MessageRecord {
        message_id: message_id.into(),
        from: from.into(),
        to: vec!["alice@corp.test".into()],
        cc: vec![],
        subject: "Hello".into(),
        received_at: Utc::now() - chrono::Duration::hours(1),
        disposition: None,
        in_reply_to: None,
        references: vec![],
        size: None,
        tenant: Some("corp".into()),
        source_id: None,
    };
    w.engine
        .store()
        .insert_messages(&[NewMessage {
            record: &record,
            tenant: "corp",
            recipients: vec![("alice@corp.test".into(), false)],
        }])
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hunt_match_pulls_under_an_automatic_rule_once() {
    let w = World::new(AUTOMATIC);
    w.deliver(&["alice", "bob"], 1);
    w.engine
        .store()
        .add_indicators(
            &[indicator(
                crate::model::IndicatorKind::SenderDomain,
                "bad.example",
            )],
            "root",
        )
        .unwrap();
    let window = Duration::from_secs(14 * 86_400);
    let first = crate::policy::hunt::hunt_log(&w.engine, window).unwrap();
    assert_eq!(
        (
            first.indicators,
            first.examined,
            first.matches,
            first.new_alerts
        ),
        (1, 1, 1, 1)
    );
    let pulled = w.decide().await;
    assert_eq!(pulled.outcome, "pulled", "{}", pulled.detail);
    let id = w.engine.store().indicators().unwrap()[0].id;
    let made = w.engine.store().job(pulled.job.expect("a job")).unwrap();
    assert_eq!(made.reason, Some(format!("ioc:ioc:{id}:1")));
    w.run(made.id).await;
    assert!(!w.in_inbox("alice") && !w.in_inbox("bob"));
    // A second hunt reads nothing new and raises nothing.
    let second = crate::policy::hunt::hunt_log(&w.engine, window).unwrap();
    assert_eq!((second.examined, second.matches), (0, 0));
    // Another indicator matching the same message: a new alert, which the already-acted
    // rail keeps from pulling a second time.
    let store = w.engine.store();
    store.remove_all_indicators().unwrap();
    store
        .add_indicators(
            &[indicator(
                crate::model::IndicatorKind::Sender,
                "HR@bad.example",
            )],
            "root",
        )
        .unwrap();
    let third = crate::policy::hunt::hunt_log(&w.engine, window).unwrap();
    assert_eq!((third.matches, third.new_alerts), (1, 1));
    let again = w.decide().await;
    assert_ne!(again.outcome, "pulled", "{}", again.detail);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hunt_match_waits_under_a_confirmation_rule() {
    let w = World::new(CONFIRM);
    w.deliver(&["alice"], 1);
    w.engine
        .store()
        .add_indicators(
            &[indicator(
                crate::model::IndicatorKind::Subject,
                "  PAYROLL ",
            )],
            "root",
        )
        .unwrap();
    let report = crate::policy::hunt::hunt_log(&w.engine, Duration::from_secs(86_400)).unwrap();
    assert_eq!(report.new_alerts, 1);
    let asked = w.decide().await;
    assert_eq!(asked.outcome, "requested", "{}", asked.detail);
    assert_eq!(asked.job, None);
    assert!(w.in_inbox("alice"), "nothing pulled before approval");
}

#[test]
fn a_hunt_ignores_look_alikes_expired_indicators_and_old_mail() {
    use crate::model::IndicatorKind::{SenderDomain, Url};
    let w = World::new(AUTOMATIC);
    log_from(&w, "<a@x>", "x@notevil.example");
    log_from(&w, "<b@x>", "y@evil.example.org");
    log_from(&w, "<c@x>", "z@login.evil.example");
    let store = w.engine.store();
    let mut expired = indicator(SenderDomain, "notevil.example");
    expired.expires_at = Some(Utc::now() - chrono::Duration::minutes(1));
    store
        .add_indicators(
            &[
                indicator(SenderDomain, "evil.example"),
                expired,
                indicator(Url, "https://evil.example/x"),
            ],
            "root",
        )
        .unwrap();
    let report = crate::policy::hunt::hunt_log(&w.engine, Duration::from_secs(86_400)).unwrap();
    // Only the subdomain of evil.example; the expired one is not hunted; a URL is not in
    // the log.
    assert_eq!(
        (
            report.indicators,
            report.not_hunted,
            report.examined,
            report.matches
        ),
        (1, 1, 3, 1)
    );
    // Mail older than the window is not read at all.
    store.remove_all_indicators().unwrap();
    store
        .add_indicators(&[indicator(SenderDomain, "evil.example")], "root")
        .unwrap();
    let narrow = crate::policy::hunt::hunt_log(&w.engine, Duration::from_secs(60)).unwrap();
    assert_eq!((narrow.examined, narrow.matches), (0, 0));
}

/// One pass serves indicators at different marks: each reads only the rows past its own, so
/// a new indicator reads the whole window and a caught-up one nothing again.
#[test]
fn one_log_pass_serves_indicators_at_different_marks() {
    use crate::model::IndicatorKind::{Sender, SenderDomain};
    let w = World::new(AUTOMATIC);
    log_from(&w, "<a@x>", "x@evil.example");
    log_from(&w, "<b@x>", "boss@evil.example");
    let store = w.engine.store();
    let day = Duration::from_secs(86_400);
    store
        .add_indicators(&[indicator(SenderDomain, "evil.example")], "root")
        .unwrap();
    let first = crate::policy::hunt::hunt_log(&w.engine, day).unwrap();
    assert_eq!((first.examined, first.matches), (2, 2));
    log_from(&w, "<c@x>", "boss@evil.example");
    store
        .add_indicators(&[indicator(Sender, "boss@evil.example")], "root")
        .unwrap();
    let second = crate::policy::hunt::hunt_log(&w.engine, day).unwrap();
    // The new indicator reads all three rows (two matches), the old one only the third.
    assert_eq!(
        (
            second.indicators,
            second.examined,
            second.matches,
            second.new_alerts
        ),
        (2, 4, 3, 3)
    );
    let third = crate::policy::hunt::hunt_log(&w.engine, day).unwrap();
    assert_eq!((third.examined, third.matches), (0, 0));
}
