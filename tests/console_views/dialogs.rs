//! Dialogs that never go stale or read backwards (issue 20): the quit dialog re-reads what
//! runs, the cancel-job dialog's choices say what each does, a restore asks for a reason and
//! says how many copies it restores, and `:sweep` takes a reason with no message open.

use super::*;

/// The job of `kind` the console wrote, newest first.
fn newest_job(h: &Harness, kind: retractor::model::JobKind) -> retractor::model::Job {
    let jobs = h.rt.block_on(h.tasks.sample_jobs()).unwrap();
    let id = jobs
        .iter()
        .filter(|j| j.kind == kind)
        .map(|j| j.id)
        .max()
        .unwrap_or_else(|| panic!("no {kind:?} job: {jobs:?}"));
    h.engine.store().job(id).unwrap()
}

#[test]
fn the_quit_dialog_re_reads_what_runs_while_it_is_open() {
    let d = demo();
    let mut h = Harness::new(&d, 120, 40);
    campaign_retract_tab(&mut h);
    h.press("R");
    // Confirmed and written, but not run here: the console runs the job.
    let out = app::update(&mut h.app, Event::Key(key("y")));
    let events = h.rt.block_on(h.tasks.perform(out[0].clone()));
    let Some(Event::Submitted(Ok(job))) = events.first() else {
        panic!("{events:?}");
    };
    let job = *job;
    app::update(&mut h.app, Event::Submitted(Ok(job)));
    assert!(app::update(&mut h.app, Event::Key(key("q"))).is_empty());
    let Overlay::Confirm(c) = &h.app.overlay else {
        panic!("quit did not ask");
    };
    let text = c.lines.join("\n");
    assert!(text.contains(&format!("running job(s) {job}")), "{text}");
    // The job ends while the dialog is open: it no longer names it.
    let done = h.rt.block_on(h.tasks.run_job(job));
    let more = app::update(&mut h.app, done);
    h.settle(more);
    let Overlay::Confirm(c) = &h.app.overlay else {
        panic!("the dialog closed by itself");
    };
    let text = c.lines.join("\n");
    assert!(!text.contains(&job.to_string()), "stale: {text}");
    assert!(text.contains("Nothing is running any more"), "{text}");
    assert_eq!(
        app::update(&mut h.app, Event::Key(key("y"))),
        vec![Command::Quit]
    );
}

#[test]
fn the_cancel_job_dialogs_choices_read_differently() {
    let d = demo();
    let mut h = Harness::new(&d, 120, 40);
    campaign_retract_tab(&mut h);
    h.press("R");
    let out = app::update(&mut h.app, Event::Key(key("y")));
    let events = h.rt.block_on(h.tasks.perform(out[0].clone()));
    let Some(Event::Submitted(Ok(job))) = events.first() else {
        panic!("{events:?}");
    };
    let job = *job;
    app::update(&mut h.app, Event::Submitted(Ok(job)));
    let sample = h.jobs_sample();
    h.settle(sample);
    h.press("2");
    let row = h
        .app
        .ops
        .jobs
        .iter()
        .position(|j| j.id == job)
        .expect("the job is listed");
    h.app.ops.selected = row;
    h.press("c");
    let Overlay::Confirm(c) = &h.app.overlay else {
        panic!("no dialog: {}", h.flash());
    };
    assert_eq!(c.title, "Cancel job");
    let screen = h.screen();
    assert!(screen.contains("[ Keep running ]"), "{screen}");
    assert!(screen.contains("[ y: Cancel job ]"), "{screen}");
    assert!(!screen.contains("[ Cancel ]"), "{screen}");
    // The choice that changes nothing has focus; Esc keeps it running.
    assert!(!c.ok_focused);
    h.press("Esc");
    assert!(matches!(h.app.overlay, Overlay::None));
    let status = h.engine.store().job(job).unwrap().status;
    assert!(!status.is_finished(), "{status:?}");
}

#[test]
fn a_restore_says_how_many_copies_and_takes_a_reason() {
    let d = demo();
    let mut h = Harness::new(&d, 120, 40);
    campaign_retract_tab(&mut h);
    h.press("R y");
    assert!(h.flash().contains("finished"), "{}", h.flash());
    h.press("u");
    let Overlay::Confirm(c) = &h.app.overlay else {
        panic!("no dialog: {}", h.flash());
    };
    let Pending::RestoreMessage { items, .. } = &c.pending else {
        panic!("{:?}", c.pending);
    };
    let copies = items.len();
    assert!(copies > 0);
    assert_eq!(c.title, format!("Restore {copies} copies"));
    snap(&h, "confirm_restore_reason");
    // `e` edits the reason; its letters never answer the dialog (the `y` in it stays text).
    h.press("e");
    h.type_text("CHG-7 yes");
    assert!(matches!(h.app.overlay, Overlay::Confirm(_)), "still asking");
    h.press("Enter y");
    assert!(h.flash().contains("finished"), "{}", h.flash());
    let restore = newest_job(&h, retractor::model::JobKind::Restore);
    assert_eq!(restore.reason.as_deref(), Some("CHG-7 yes"));
    assert_eq!(
        h.engine.store().job_items(restore.id).unwrap().len(),
        copies
    );

    // From Operations, a job's restore says its count too, and its reason is optional.
    h.press("2");
    let pull = h
        .app
        .ops
        .jobs
        .iter()
        .position(|j| j.kind == "retract")
        .expect("the retract job");
    h.app.ops.selected = pull;
    h.press("u");
    let Overlay::Confirm(c) = &h.app.overlay else {
        panic!("no dialog: {}", h.flash());
    };
    assert!(c.title.starts_with("Restore ") && c.title.ends_with(" copies"));
    assert!(c.lines[0].contains(" copies job "), "{:?}", c.lines);
    h.press("y");
    let again = newest_job(&h, retractor::model::JobKind::Restore);
    assert_ne!(again.id, restore.id, "a second restore job");
    assert_eq!(again.reason, None, "no reason given, none recorded");
}

#[test]
fn sweep_takes_a_reason_without_an_open_message() {
    let d = demo();
    let mut h = Harness::new(&d, 120, 40);
    h.app.tenants = vec!["demo".into()];
    h.command(r#"sweep quarantine subject:"DocuSign: Q4 payroll" reason:TICKET-1"#);
    let Overlay::Confirm(c) = &h.app.overlay else {
        panic!("no confirmation: {:?}", h.app.flash)
    };
    assert!(h.app.detail.is_none(), "no message is open");
    let text = c.lines.join("\n");
    assert!(text.contains("reason: TICKET-1"), "{text}");
    let Pending::Sweep(request) = &c.pending else {
        panic!("{:?}", c.pending)
    };
    assert_eq!(request.reason.as_deref(), Some("TICKET-1"));
    h.press("y");
    let sweep = newest_job(&h, retractor::model::JobKind::Sweep);
    assert_eq!(sweep.reason.as_deref(), Some("TICKET-1"));
}

#[test]
fn f_and_shift_f_report_the_open_message_behind_a_dialog() {
    let d = demo();
    let mut h = Harness::new(&d, 120, 40);
    // Nothing open: nothing to report.
    h.press("F");
    assert!(matches!(h.app.overlay, Overlay::None));
    assert!(h.flash().contains("open a message first"), "{}", h.flash());
    h.press("/");
    h.type_text("disposition:malicious");
    h.press("Enter Enter F");
    let Overlay::Confirm(c) = &h.app.overlay else {
        panic!("no dialog: {}", h.flash());
    };
    assert_eq!(c.title, "Report false positive");
    let id = h.app.detail.as_ref().unwrap().id;
    assert!(
        c.lines[0].contains(&format!("Report {id} '")),
        "{:?}",
        c.lines
    );
    assert!(h.screen().contains("[ y: Report ]"), "{}", h.screen());
    // Esc asks nothing of the engine.
    h.press("Esc");
    assert_eq!(
        d.engine.store().message(id).unwrap().disposition.as_deref(),
        Some("malicious")
    );
    h.press("F e");
    h.type_text("CHG-3");
    h.press("Enter y");
    assert!(
        h.flash()
            .contains("reported as false positive: disposition clean"),
        "{}",
        h.flash()
    );
    assert_eq!(
        d.engine.store().message(id).unwrap().disposition.as_deref(),
        Some("clean")
    );
    let audit =
        h.rt.block_on(h.tasks.api().audit(&Default::default()))
            .unwrap();
    let report = audit
        .iter()
        .find(|a| a.action == "report")
        .expect("the report is audited");
    assert_eq!(report.target, id.to_string());
    assert_eq!(report.reason.as_deref(), Some("CHG-3"));
}
