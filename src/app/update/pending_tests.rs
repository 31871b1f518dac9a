//! Pure `update()` tests of the Pending view's keys and dialog, and of the Forensics tab's
//! load-once rule: events in, state and commands out, no engine.

use chrono::{TimeZone, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::api::ApprovalAnswer;
use crate::app::{App, Command, Detail, Event, EvidenceState, Keymap, Overlay, Tab, View, update};
use crate::store::ApprovalRecord;

fn app() -> App {
    let now = Utc.with_ymd_and_hms(2026, 11, 21, 9, 0, 0).unwrap();
    App::new(Keymap::default(), 120, 40, now, "bob (responder)".into())
}

fn record(id: i64, mailboxes: u64) -> ApprovalRecord {
    let at = Utc.with_ymd_and_hms(2026, 11, 21, 8, 0, 0).unwrap();
    ApprovalRecord {
        id,
        alert: Some(7),
        revision: None,
        rule: Some("phish-confirm".into()),
        kind: "retract".into(),
        action: "trash".into(),
        target: "<campaign@evil.example>".into(),
        reason: Some("tap:abc".into()),
        request: r#"{"kind":"retract","recipients":[]}"#.into(),
        plan_hash: "f00d".into(),
        by_depth: serde_json::json!([{"depth": 0, "messages": 1, "mailboxes": mailboxes}]),
        mailboxes,
        requested_by: "alice".into(),
        created_at: at,
        expires_at: at + chrono::Duration::hours(72),
        state: "pending".into(),
        decided_by: None,
        decided_at: None,
        decision_reason: None,
        job: None,
    }
}

fn press(app: &mut App, c: char) -> Vec<Command> {
    update(
        app,
        Event::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)),
    )
}

fn code(app: &mut App, k: KeyCode) -> Vec<Command> {
    update(app, Event::Key(KeyEvent::new(k, KeyModifiers::NONE)))
}

fn typed(app: &mut App, text: &str) {
    for c in text.chars() {
        assert!(press(app, c).is_empty());
    }
}

fn dialog_error(app: &App) -> Option<String> {
    match &app.overlay {
        Overlay::Approval(d) => d.error.clone(),
        _ => panic!("no approval dialog"),
    }
}

#[test]
fn new_requests_light_the_badge_until_the_view_is_looked_at() {
    let mut a = app();
    update(&mut a, Event::Approvals(vec![record(1, 3), record(2, 5)]));
    assert_eq!(a.pending.rows.len(), 2);
    assert_eq!(a.pending.unseen(), 2, "not looked at yet");
    assert_eq!(press(&mut a, '4'), vec![Command::LoadApprovals]);
    assert_eq!(a.view, View::Pending);
    assert_eq!(a.pending.unseen(), 0);
    // Another arrives while the analyst is elsewhere: only it is new.
    press(&mut a, '1');
    update(
        &mut a,
        Event::Approvals(vec![record(1, 3), record(2, 5), record(3, 9)]),
    );
    assert_eq!(a.pending.unseen(), 1);
    // Tab cycles through the Pending view too.
    press(&mut a, '3');
    code(&mut a, KeyCode::Tab);
    assert_eq!(a.view, View::Pending);
    assert_eq!(a.pending.unseen(), 0);
}

#[test]
fn a_opens_a_dialog_naming_the_request_and_enter_answers_through_the_api() {
    let mut a = app();
    press(&mut a, '4');
    update(&mut a, Event::Approvals(vec![record(1, 3), record(2, 5)]));
    press(&mut a, 'j');
    assert_eq!(a.pending.selected, 1);
    assert!(press(&mut a, 'a').is_empty());
    let Overlay::Approval(d) = &a.overlay else {
        panic!("a opens the approve dialog");
    };
    assert!(d.approve);
    assert!(d.lines[0].contains("request 2") && d.lines[0].contains("retract trash"));
    assert!(d.lines[1].starts_with("5 mailboxes"), "{:?}", d.lines);
    // An approval's reason is optional: Enter answers at once.
    let out = code(&mut a, KeyCode::Enter);
    let [Command::AnswerApproval { req, answer }] = out.as_slice() else {
        panic!("{out:?}");
    };
    assert_eq!(
        answer,
        &ApprovalAnswer {
            id: 2,
            approve: true,
            reason: None
        }
    );
    // Keys while the answer is on its way change nothing.
    assert!(code(&mut a, KeyCode::Enter).is_empty());
    let mut settled = record(2, 5);
    settled.state = "approved".into();
    settled.job = Some(41);
    let out = update(
        &mut a,
        Event::ApprovalAnswered {
            req: *req,
            result: Ok(Box::new(settled)),
        },
    );
    assert_eq!(out, vec![Command::LoadApprovals]);
    assert!(matches!(a.overlay, Overlay::None));
    assert!(
        a.running.contains(&41),
        "the console follows the approved job"
    );
    assert_eq!(
        a.flash.as_deref(),
        Some("request 2 approved: job 41 queued; running")
    );
}

#[test]
fn x_needs_a_reason_and_a_refusal_is_shown_verbatim_in_the_dialog() {
    let mut a = app();
    press(&mut a, '4');
    update(&mut a, Event::Approvals(vec![record(1, 3)]));
    press(&mut a, 'x');
    assert!(
        code(&mut a, KeyCode::Enter).is_empty(),
        "no reason: no answer"
    );
    assert!(dialog_error(&a).is_some_and(|e| e.contains("needs a reason")));
    typed(&mut a, "  benign newsletter ");
    let out = code(&mut a, KeyCode::Enter);
    let [Command::AnswerApproval { req, answer }] = out.as_slice() else {
        panic!("{out:?}");
    };
    assert_eq!(answer.reason.as_deref(), Some("benign newsletter"));
    assert!(!answer.approve);
    let refusal = "bob may not decide their own request 1\u{1b}[2J";
    update(
        &mut a,
        Event::ApprovalAnswered {
            req: *req,
            result: Err(refusal.into()),
        },
    );
    let shown = dialog_error(&a).expect("the refusal stays in the dialog");
    assert!(shown.starts_with("bob may not decide their own request 1"));
    assert!(!shown.contains('\u{1b}'), "inert: {shown}");
    assert_eq!(a.flash.as_deref(), Some(shown.as_str()));
    // The dialog can be answered again, or left with Esc (the request keeps waiting).
    code(&mut a, KeyCode::Esc);
    assert!(matches!(a.overlay, Overlay::None));
    assert_eq!(a.pending.rows.len(), 1);
}

#[test]
fn a_and_x_outside_the_pending_view_do_not_decide_anything() {
    let mut a = app();
    update(&mut a, Event::Approvals(vec![record(1, 3)]));
    assert!(press(&mut a, 'a').is_empty());
    assert!(press(&mut a, 'x').is_empty());
    assert!(matches!(a.overlay, Overlay::None));
    // With nothing waiting, the Pending view says so instead of opening an empty dialog.
    let mut a = app();
    press(&mut a, '4');
    update(&mut a, Event::Approvals(Vec::new()));
    press(&mut a, 'a');
    assert!(matches!(a.overlay, Overlay::None));
    assert_eq!(
        a.flash.as_deref(),
        Some("no request is waiting for approval")
    );
}

#[test]
fn enter_shows_the_facts_and_esc_closes_them() {
    let mut a = app();
    press(&mut a, '4');
    update(&mut a, Event::Approvals(vec![record(1, 3)]));
    code(&mut a, KeyCode::Enter);
    assert!(a.pending.facts_open);
    code(&mut a, KeyCode::Esc);
    assert!(!a.pending.facts_open);
    assert_eq!(a.view, View::Pending);
}

fn open_detail(a: &mut App, id: i64) {
    a.detail = Some(Detail {
        id,
        req: 0,
        loaded: None,
        tab: Tab::Headers,
        form: None,
        scroll: 0,
        refreshed_at: None,
        evidence: None,
    });
    a.focus = crate::app::Focus::Detail;
}

#[test]
fn the_forensics_tab_loads_the_evidence_once_per_message() {
    let mut a = app();
    open_detail(&mut a, 12);
    let out = press(&mut a, 'l');
    let [Command::LoadEvidence { req, id: 12 }] = out.as_slice() else {
        panic!("opening Forensics asks for the evidence: {out:?}");
    };
    let req = *req;
    // Away and back while it loads: not asked again.
    press(&mut a, 'h');
    assert!(press(&mut a, 'l').is_empty());
    // A reply for another request is dropped.
    update(
        &mut a,
        Event::Evidence {
            req: req + 100,
            result: Err("stale".into()),
        },
    );
    assert_eq!(
        a.detail.as_ref().and_then(|d| d.evidence.clone()),
        Some(EvidenceState::Loading(req))
    );
    update(
        &mut a,
        Event::Evidence {
            req,
            result: Err("no copy of <a@b> could be read\u{7}".into()),
        },
    );
    let Some(EvidenceState::Failed(why)) = a.detail.as_ref().and_then(|d| d.evidence.clone())
    else {
        panic!("the api's error is kept");
    };
    assert!(why.starts_with("no copy of <a@b> could be read") && !why.contains('\u{7}'));
    press(&mut a, 'h');
    assert!(press(&mut a, 'l').is_empty(), "once per message");
    // Another message in the same tab: its own evidence.
    open_detail(&mut a, 13);
    let out = press(&mut a, 'l');
    assert!(
        matches!(out.as_slice(), [Command::LoadEvidence { id: 13, .. }]),
        "{out:?}"
    );
}
