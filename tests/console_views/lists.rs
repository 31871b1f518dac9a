//! The lists: search by prefix and why nothing matched, the Audit view's filter terms,
//! record numbers, full record, partial load and broken chain, and a job's items (message and
//! subject columns, cursor, filter) with the finished job's flash.

use super::*;

use retractor::store::NewAudit;

/// Open the input of the view (`/`) and clear it (`Ctrl-U`), ready for new text.
fn retype(h: &mut Harness, text: &str) {
    h.press("/");
    let clear = KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL);
    let commands = app::update(&mut h.app, Event::Key(clear));
    h.settle(commands);
    h.type_text(text);
    h.press("Enter");
}

/// The full record's stored time (`2026-12-02T12:49:37.536519Z`) is the real clock.
fn redact_stored_time(screen: &str) -> String {
    screen
        .lines()
        .map(|l| match l.find("Time      ") {
            Some(at) => {
                let head = &l[..at + 10];
                let tail = &l[l.rfind('│').unwrap_or(l.len())..];
                let width = l.chars().count() - head.chars().count() - tail.chars().count();
                format!("{head}{:<width$}{tail}", "<stored time>")
            }
            None => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Resize the console as the terminal would.
fn resize(h: &mut Harness, w: u16, hh: u16) {
    let commands = app::update(&mut h.app, Event::Resize(w, hh));
    h.settle(commands);
}

/// Retract the campaign at depth 2 with a ticket as the reason; the job runs to the end.
fn retract_campaign(h: &mut Harness) {
    campaign_retract_tab(h);
    h.press("e");
    h.type_text("INC-4711");
    h.press("Enter R y");
    assert!(h.app.running.is_empty(), "the job ran to the end");
}

#[test]
fn a_word_as_typed_is_a_prefix_and_an_empty_result_says_why() {
    let d = demo();
    let mut h = Harness::new(&d, 120, 40);
    h.press("/");
    h.type_text("docusiq");
    h.press("Enter");
    let m = &h.app.messages;
    assert!(m.total >= 1, "the look-alike domain by its first letters");
    assert!(
        m.rows.iter().any(|r| r.from.contains("docusiqn")),
        "{:?}",
        m.rows
    );
    assert!(
        m.rows
            .iter()
            .all(|r| r.from.contains("docusiqn") || r.recipients.contains("docusiqn")),
        "{:?}",
        m.rows
    );
    assert_eq!(m.empty_because, None);
    retype(&mut h, "docusiq zzqx");
    assert_eq!(h.app.messages.total, 0);
    let screen = h.screen();
    assert!(
        screen.contains("Nothing found: no message matches 'zzqx'."),
        "{screen}"
    );
    // The words match, the time window leaves them out.
    retype(&mut h, "docusiq until:2001-01-01");
    assert_eq!(
        h.app.messages.empty_because.as_deref(),
        Some("no message matches 'until:2001-01-01'")
    );
    retype(&mut h, "docusiq since:2026-11-20");
    let why = h.app.messages.empty_because.clone().unwrap_or_default();
    assert!(
        why.ends_with("none within the time window and filters 'since:2026-11-20'"),
        "{why}"
    );
    for (w, hh) in SIZES {
        resize(&mut h, w, hh);
        snap(&h, "search_empty_reason");
    }
}

#[test]
fn the_audit_filter_numbers_and_opens_records() {
    let d = demo();
    let mut h = Harness::new(&d, 120, 40);
    retract_campaign(&mut h);
    h.press("3");
    let all = h.app.audit.rows.len();
    assert!(all > 3, "{all} records");
    let screen = redact_times(&h.screen());
    assert!(
        screen.contains(&format!(" Audit: {all} records ")),
        "{screen}"
    );
    assert!(
        screen
            .lines()
            .any(|l| l.contains("│#") && l.contains("TIME")),
        "the record-number column:\n{screen}"
    );
    // A field term is asked of the store; the rows all hold it.
    h.press("/");
    h.type_text("target:aaron.feld actor:analyst");
    h.press("Enter");
    let rows = &h.app.audit.rows;
    assert!(!rows.is_empty() && rows.len() < all, "{}", rows.len());
    assert!(
        rows.iter()
            .all(|r| r.target.contains("aaron.feld") && r.actor == "analyst"),
        "{rows:?}"
    );
    // Free words narrow what is loaded, in any column; an unknown term is marked.
    retype(&mut h, "INC-4711");
    assert!(h.app.audit.shown() >= 1);
    assert!(
        h.app
            .audit
            .visible_rows()
            .all(|r| r.reason.contains("INC-4711")),
        "{:?}",
        h.app.audit.rows
    );
    retype(&mut h, "whom:bob");
    assert_eq!(h.app.focus, Focus::Search, "the filter stays open");
    let error = h.app.search_error.clone().expect("an error");
    assert_eq!(error.column, 1);
    assert!(
        error.message.contains("unknown filter 'whom:'"),
        "{error:?}"
    );
    h.press("Esc");
    // Enter shows the selected record in full; Esc goes back to the list.
    h.press("Enter");
    assert!(h.app.audit.open);
    let seq = h.app.audit.selected_row().map(|r| r.seq).expect("a record");
    let screen = redact_times(&h.screen());
    assert!(
        screen.contains(&format!("Audit record {seq} (Esc back)")),
        "{screen}"
    );
    for field in [
        "Record",
        "Actor",
        "Role",
        "Authority",
        "Target",
        "Reason",
        "Detail",
    ] {
        assert!(screen.contains(field), "{field}:\n{screen}");
    }
    assert!(screen.contains("INC-4711"), "{screen}");
    h.press("Esc");
    assert!(!h.app.audit.open);
    // Item records arrive in the order workers finish them: the request's record is the
    // one the snapshot shows.
    retype(&mut h, "INC-4711 queued");
    for (w, hh) in SIZES {
        resize(&mut h, w, hh);
        h.press("Enter");
        snap_screen(
            &format!("audit_record_{w}x{hh}"),
            redact_times(&redact_stored_time(&h.screen())),
        );
        h.press("Esc");
    }
}

#[test]
fn the_audit_says_when_only_part_is_loaded_and_why_a_chain_broke() {
    let d = demo();
    let mut h = Harness::new(&d, 120, 40);
    let store = d.engine.store();
    for n in 0..520 {
        store
            .audit(&NewAudit {
                actor: "analyst".into(),
                role: "admin".into(),
                action: "search".into(),
                target: format!("query {n}"),
                outcome: "ok".into(),
                ..NewAudit::default()
            })
            .unwrap();
    }
    h.press("3");
    let total = h.app.audit.verdict.as_ref().map(|v| v.records).unwrap();
    assert!(total >= 520, "{total}");
    assert_eq!(h.app.audit.rows.len(), retractor::app::AUDIT_LIMIT);
    let screen = h.screen();
    let line = match total {
        0..1000 => format!("showing the newest 500 of {total}"),
        _ => format!(
            "showing the newest 500 of {},{:03}",
            total / 1000,
            total % 1000
        ),
    };
    assert!(screen.contains(&line), "{line}:\n{screen}");
    // A time window reaches past the newest 500: the oldest records are found again.
    h.press("/");
    h.type_text("until:2h target:query");
    h.press("Enter");
    assert!(h.app.audit.rows.is_empty(), "the records are all newer");
    retype(&mut h, "target:query");
    assert!(h.app.audit.more);
    let screen = h.screen();
    assert!(
        screen.contains("showing the newest 500 that match; older ones not loaded"),
        "{screen}"
    );
    // Alter record 2 behind the store's back: the chain line says which and why.
    let db = rusqlite::Connection::open(&d.engine.config().store_path).unwrap();
    db.execute_batch(
        "DROP TRIGGER audit_no_update; UPDATE audit SET outcome = 'refused' WHERE seq = 2",
    )
    .unwrap();
    // A console started now walks the chain from its start (a running one continues from
    // the last record it found intact).
    let mut h = Harness::new(&d, 120, 40);
    h.press("3");
    let screen = h.screen();
    assert!(
        screen.contains(
            "chain: BROKEN at record 2: record 2: hash does not match its content (the record was altered)"
        ),
        "{screen}"
    );
}

#[test]
fn a_jobs_items_have_message_subject_a_cursor_and_a_filter() {
    let d = demo();
    let mut h = Harness::new(&d, 120, 40);
    retract_campaign(&mut h);
    // The finished job's flash names its counts.
    let job = h.app.ops.jobs.first().cloned().expect("the job");
    let flash = h.flash().to_string();
    assert!(
        flash.starts_with(&format!(
            "job {} finished ({}): {} matched, {} remediated, {} failed, {} skipped",
            job.id, job.status, job.matched, job.remediated, job.failed, job.skipped
        )),
        "{flash}"
    );
    h.press("2");
    let screen = h.screen();
    assert!(
        screen.contains("M/R/F/S: matched/remediated/failed/skipped"),
        "{screen}"
    );
    h.press("Enter");
    let open = h.app.ops.open.as_ref().expect("items open");
    let items = open.items.len();
    assert!(items > 3, "{items}");
    assert!(
        open.items
            .iter()
            .filter(|i| i.message == d.campaign)
            .all(|i| !i.subject.is_empty()),
        "the log has the campaign's subject: {:?}",
        open.items
    );
    assert!(open.items.iter().any(|i| i.message == d.campaign));
    let screen = h.screen();
    for header in ["MAILBOX", "MESSAGE", "SUBJECT", "RESULT", "FOLDERS"] {
        assert!(screen.contains(header), "{header}:\n{screen}");
    }
    assert!(
        screen.contains(&format!(" Job {}: 1/{items} items ", job.id)),
        "{screen}"
    );
    h.press("j j");
    assert_eq!(h.app.ops.open.as_ref().unwrap().cursor, 2);
    // `/` narrows the items to one mailbox.
    let mailbox = h.app.ops.open.as_ref().unwrap().items[0].mailbox.clone();
    h.press("/");
    h.type_text(&mailbox);
    h.press("Enter");
    let open = h.app.ops.open.as_ref().unwrap();
    let shown: Vec<_> = open.visible_items().collect();
    assert!(!shown.is_empty() && shown.len() < items, "{}", shown.len());
    assert!(shown.iter().all(|i| i.mailbox.contains(&mailbox)));
    assert_eq!(open.cursor, 0);
    for (w, hh) in SIZES {
        resize(&mut h, w, hh);
        snap(&h, "job_items_filtered");
    }
}
