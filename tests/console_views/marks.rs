//! Marks in the log (`Space`, as in k9s): a mark column and count, `Esc` clears them, and `r`
//! retracts the marked messages together: one dialog naming each message and the totals per
//! depth, then one job per message.

use super::*;

use retractor::model::{Action, JobKind};

/// The log ids of the first `n` rows of the log, top down.
fn first_rows(h: &Harness, n: usize) -> Vec<i64> {
    h.app.messages.rows.iter().take(n).map(|r| r.id).collect()
}

#[test]
fn space_marks_rows_esc_clears_them() {
    let d = demo();
    let mut h = Harness::new(&d, 120, 40);
    let ids = first_rows(&h, 2);
    h.press("Space Space");
    let marked: Vec<i64> = h.app.marks.rows.keys().copied().collect();
    let mut expected = ids.clone();
    expected.sort();
    assert_eq!(marked, expected, "Space marks the row and moves down");
    let screen = h.screen();
    assert!(screen.contains("2 marked"), "{screen}");
    assert!(screen.contains(&format!("*{}", ids[0])), "{screen}");
    snap(&h, "marks_list");
    // Space again on a marked row unmarks it.
    h.press("k Space");
    assert_eq!(h.app.marks.rows.len(), 1);
    h.press("Esc");
    assert!(h.app.marks.rows.is_empty());
    assert!(h.flash().contains("marks cleared"), "{}", h.flash());
    assert!(!h.screen().contains("marked "), "the count is gone");
}

#[test]
fn r_with_marks_names_each_message_and_the_totals_then_runs_one_job_each() {
    let d = demo();
    let mut h = Harness::new(&d, 120, 40);
    let ids = first_rows(&h, 2);
    h.press("Space Space");
    h.command("action quarantine");
    h.command("reason TICKET-1");
    assert!(h.flash().contains("quarantine at depth 0"), "{}", h.flash());
    h.press("r");
    let Overlay::Confirm(c) = &h.app.overlay else {
        panic!("no dialog: {}", h.flash());
    };
    assert!(c.title.starts_with("Retract "), "{}", c.title);
    let text = c.lines.join("\n");
    for id in &ids {
        let row = &h.app.marks.rows[id];
        assert!(text.contains(&format!("{id} '{}'", row.subject)), "{text}");
        assert!(text.contains(&format!("from {}", row.from)), "{text}");
    }
    assert!(text.contains("depth 0: +"), "{text}");
    assert!(text.contains("total: "), "{text}");
    assert!(text.contains("reason: TICKET-1"), "{text}");
    let Pending::RetractMarked(specs) = &c.pending else {
        panic!("{:?}", c.pending);
    };
    let acting = specs.len();
    assert!(acting >= 1);
    assert!(specs.iter().all(|s| s.action == Action::Quarantine));
    snap(&h, "confirm_marked");
    h.press("y");
    assert!(h.app.marks.rows.is_empty(), "confirmed marks are cleared");
    assert!(h.app.running.is_empty(), "every job ran to the end");
    let jobs = h.rt.block_on(h.tasks.sample_jobs()).unwrap();
    let retracts: Vec<_> = jobs.iter().filter(|j| j.kind == JobKind::Retract).collect();
    assert_eq!(retracts.len(), acting, "one job per marked message");
    for job in retracts {
        let job = h.engine.store().job(job.id).unwrap();
        assert_eq!(job.reason.as_deref(), Some("TICKET-1"));
        assert_eq!(job.action, Action::Quarantine);
        let items = h.engine.store().job_items(job.id).unwrap();
        assert!(
            items
                .iter()
                .all(|i| i.log_message.is_none_or(|m| ids.contains(&m))),
            "acts on the marked messages only: {items:?}"
        );
    }
}

/// The figures in `benches/README.md` ("Keystrokes (issue 20)"): the demo campaign
/// quarantined at depth 2 with a ticket as reason, and two marked messages retracted together.
#[test]
fn keystrokes_to_quarantine_the_campaign_and_to_retract_two_marked() {
    let d = demo();
    let mut h = Harness::new(&d, 120, 40);
    let campaign: Vec<&str> = "/ d o c u s i q n Enter G r + + A A A e T - 1 Enter R y"
        .split(' ')
        .collect();
    let mut submitted = None;
    for (n, k) in campaign.iter().enumerate() {
        let out = app::update(&mut h.app, Event::Key(key(k)));
        if let Some(Command::Submit(Pending::Retract(spec))) = out.first() {
            submitted = Some((n + 1, spec.clone()));
        }
        h.settle(out);
    }
    let (count, spec) = submitted.expect("a retraction was submitted");
    assert_eq!(count, 24);
    assert_eq!((spec.depth, spec.action), (2, Action::Quarantine));
    assert_eq!(spec.reason.as_deref(), Some("T-1"));

    // The first two messages of the log retracted (move-to-junk, depth 0): one at a time, as
    // before marks, then marked and retracted together.
    let one_by_one = "Enter r R y Esc j Enter r R y";
    let together = "Space Space r y";
    for (keys, expected) in [(one_by_one, 10), (together, 4)] {
        let d = demo();
        let mut h = Harness::new(&d, 120, 40);
        let mut submits = 0;
        let mut count = 0;
        for k in keys.split(' ') {
            count += 1;
            let out = app::update(&mut h.app, Event::Key(key(k)));
            submits += out
                .iter()
                .filter(|c| matches!(c, Command::Submit(_)))
                .count();
            h.settle(out);
        }
        assert_eq!((count, submits), (expected, 2), "{keys}: {}", h.flash());
        let jobs = h.rt.block_on(h.tasks.sample_jobs()).unwrap();
        assert_eq!(jobs.len(), 2, "{keys}: {jobs:?}");
    }
}
