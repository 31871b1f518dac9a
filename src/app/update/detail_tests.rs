//! Pure `update()` tests of what the open message shows: each recipient's read state and
//! original folder, which copy the headers were read from, and the Conversation tab's
//! descendants marked by where they were found (the log, or the mailboxes by a plan).

use chrono::{TimeZone, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::app::{
    App, Command, Detail, DetailReply, Event, HeaderLine, Keymap, PlannedDescendant, Preview, Tab,
    update,
};
use crate::engine::CopySource;
use crate::model::{Delivery, DeliveryState, LoggedMessage, MessageStatus};
use crate::store::{ConversationEntry, MessageDetail};

fn app() -> App {
    let now = Utc.with_ymd_and_hms(2026, 11, 21, 9, 0, 0).unwrap();
    App::new(Keymap::default(), 120, 40, now, "bob (responder)".into())
}

fn message(id: i64, message_id: &str, subject: &str) -> LoggedMessage {
    LoggedMessage {
        id,
        message_id: message_id.into(),
        from: "boss@bad.example".into(),
        subject: subject.into(),
        received_at: Utc.with_ymd_and_hms(2026, 11, 20, 10, 0, 0).unwrap(),
        recipients: vec!["alice@corp.test".into(), "bob@corp.test".into()],
        status: MessageStatus::Retracted,
        retracted_count: 2,
        actionable_count: 2,
        disposition: Some("malicious".into()),
        tenant: "corp".into(),
        in_reply_to: None,
        references: Vec::new(),
        size: Some(100),
        source_id: None,
    }
}

fn delivery(who: &str, read: Option<bool>, was_in: Option<&str>) -> Delivery {
    Delivery {
        recipient: who.into(),
        mailbox: who.into(),
        status: DeliveryState::Retracted,
        folder: Some(format!("quarantine@corp.test/{who}")),
        on_hold: false,
        external: false,
        read,
        original_folder: was_in.map(str::to_string),
    }
}

fn reply() -> DetailReply {
    DetailReply {
        detail: MessageDetail {
            message: message(7, "<root@bad.example>", "Urgent"),
            deliveries: vec![
                delivery("alice@corp.test", Some(true), Some("Trash")),
                delivery("bob@corp.test", Some(false), Some("INBOX")),
                delivery("carol@corp.test", None, None),
            ],
        },
        conversation: vec![ConversationEntry {
            depth: 1,
            message: message(8, "<reply@corp.test>", "Re: Urgent"),
        }],
        headers: vec![HeaderLine {
            name: "Subject".into(),
            value: "Urgent".into(),
        }],
        headers_source: Some(CopySource {
            kind: "quarantine".into(),
            mailbox: "quarantine@corp.test".into(),
            folder: "alice@corp.test".into(),
        }),
        headers_problem: None,
    }
}

fn open(a: &mut App, tab: Tab) -> Vec<Command> {
    a.detail = Some(Detail {
        id: 7,
        req: 3,
        loaded: None,
        tab,
        form: None,
        scroll: 0,
        refreshed_at: None,
        evidence: None,
    });
    a.focus = crate::app::Focus::Detail;
    update(
        a,
        Event::Detail {
            req: 3,
            result: Ok(Box::new(reply())),
        },
    )
}

fn press(a: &mut App, c: char) -> Vec<Command> {
    update(
        a,
        Event::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)),
    )
}

fn conversation(a: &App) -> Vec<(String, String)> {
    a.detail
        .as_ref()
        .and_then(|d| d.loaded.as_ref())
        .map(|d| d.tab_lines(Tab::Conversation))
        .unwrap_or_default()
}

#[test]
fn each_recipient_says_whether_it_was_read_and_where_it_was_first() {
    let mut a = app();
    open(&mut a, Tab::Summary);
    let rows = &a
        .detail
        .as_ref()
        .and_then(|d| d.form.as_ref())
        .unwrap()
        .recipients;
    let seen: Vec<(&str, &str, &str)> = rows
        .iter()
        .map(|r| (r.shown.as_str(), r.read.as_str(), r.was_in.as_str()))
        .collect();
    assert_eq!(
        seen,
        [
            ("alice@corp.test", "yes", "Trash"),
            ("bob@corp.test", "no", "INBOX"),
            ("carol@corp.test", "-", "-"),
        ]
    );
}

#[test]
fn the_headers_tab_names_the_copy_it_read() {
    let mut a = app();
    open(&mut a, Tab::Headers);
    let data = a.detail.as_ref().and_then(|d| d.loaded.as_ref()).unwrap();
    let lines = data.tab_lines(Tab::Headers);
    assert_eq!(
        lines[0],
        (
            "Copy read: ".to_string(),
            "from the quarantine copy in quarantine@corp.test alice@corp.test".to_string()
        )
    );
    assert_eq!(lines[1], ("Subject: ".to_string(), "Urgent".to_string()));
    // None readable: the tab says why (sanitised).
    let mut none = reply();
    none.headers.clear();
    none.headers_source = None;
    none.headers_problem = Some("no copy of <root@bad.example> could be read\u{1b}[2J".into());
    a.detail.as_mut().unwrap().req = 4;
    update(
        &mut a,
        Event::Detail {
            req: 4,
            result: Ok(Box::new(none)),
        },
    );
    let data = a.detail.as_ref().and_then(|d| d.loaded.as_ref()).unwrap();
    assert!(
        data.headers_from
            .starts_with("none could be read: no copy of")
    );
    assert!(
        !data.headers_from.contains('\u{1b}'),
        "{}",
        data.headers_from
    );
}

#[test]
fn the_conversation_tab_marks_descendants_found_in_the_log_and_in_the_mailboxes() {
    let mut a = app();
    open(&mut a, Tab::Recipients);
    let lines = conversation(&a);
    assert_eq!(lines[1].0, "  1 log     ");
    assert!(lines[1].1.ends_with("Re: Urgent"), "{lines:?}");
    assert!(
        lines
            .last()
            .unwrap()
            .1
            .starts_with("mailboxes not searched yet"),
        "{lines:?}"
    );
    // Depth 1: the plan reaches the logged reply and a forward only the mailboxes have.
    let out = press(&mut a, '+');
    let Some(Command::Preview { req, spec }) = out.last() else {
        panic!("+ plans again: {out:?}");
    };
    assert_eq!(spec.depth, 1);
    let descendant = |id: &str, mailboxes| PlannedDescendant {
        depth: 1,
        message_id: id.into(),
        mailboxes,
    };
    let preview = Preview {
        empty: None,
        by_depth: Vec::new(),
        actionable: 4,
        mailboxes: 3,
        already_there: 0,
        notes: Vec::new(),
        copies: Vec::new(),
        descendants: vec![
            descendant("<fwd@corp.test>\u{7}", 2),
            descendant("<reply@corp.test>", 1),
        ],
    };
    update(
        &mut a,
        Event::Preview {
            req: *req,
            result: Ok(preview),
        },
    );
    let lines = conversation(&a);
    let labels: Vec<&str> = lines.iter().map(|(l, _)| l.as_str()).collect();
    assert_eq!(
        labels,
        ["0 ", "  1 log     ", "  1 mailbox ", ""],
        "{lines:?}"
    );
    assert!(lines[2].1.starts_with("<fwd@corp.test>"), "{lines:?}");
    assert!(!lines[2].1.contains('\u{7}'), "sanitised: {lines:?}");
    assert!(lines[2].1.contains("in 2 mailboxes"), "{lines:?}");
    assert_eq!(
        lines[3].1,
        "mailboxes searched to depth 1: 1 reply or forward the log does not have"
    );
}
