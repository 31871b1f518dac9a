//! Jobs from the console: sweeps, restores, reloads after a job, resuming, quitting while one
//! runs, and the retract tab's plan requests.

use super::*;

#[test]
fn sweep_reads_every_mailbox_asks_with_counts_and_runs() {
    let d = demo();
    let mut h = Harness::new(&d, 120, 40);
    h.app.tenants = vec!["demo".into()];
    // Nothing open and nothing named: the command says what it needs.
    h.command("sweep");
    assert!(
        h.flash().contains("needs a message open"),
        "{:?}",
        h.app.flash
    );
    // The refused line stays open to be corrected; Esc leaves it.
    assert_eq!(h.app.focus, Focus::CommandLine);
    h.press("Esc");
    // The campaign open: sweep its Message-ID through every mailbox of its tenant.
    h.press("/");
    h.type_text("disposition:malicious");
    h.press("Enter Enter");
    let recipients = h
        .app
        .detail
        .as_ref()
        .unwrap()
        .loaded
        .as_ref()
        .unwrap()
        .row
        .recipient_count;
    h.command("sweep trash");
    let Overlay::Confirm(c) = &h.app.overlay else {
        panic!("no confirmation: {:?}", h.app.flash)
    };
    assert_eq!(c.title, "Sweep (trash)");
    assert!(!c.ok_focused, "Cancel has focus");
    let text = c.lines.join("\n");
    assert!(text.contains("every mailbox of tenant demo"), "{text}");
    assert!(text.contains(&d.campaign), "{text}");
    // The external partner is not a mailbox of ours; every internal copy is found by reading
    // the mailboxes, including any the log does not list.
    let Pending::Sweep(request) = &c.pending else {
        panic!("{:?}", c.pending)
    };
    assert_eq!(request.message_ids, vec![d.campaign.clone()]);
    let copies: usize = text
        .lines()
        .find_map(|l| l.strip_suffix(" mailboxes will be acted on"))
        .and_then(|l| l.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{text}"));
    // 25 recipients, one an external partner; one bystander had already deleted it (the copy
    // is in Trash, where this sweep puts it: in the job, not moved again).
    assert_eq!(copies, recipients - 1, "{text}");
    assert!(
        text.contains("1 of these copies are already where trash puts them"),
        "{text}"
    );
    snap(&h, "confirm_sweep");
    h.press("y");
    assert!(h.app.running.is_empty(), "the job ran to the end");
    let jobs = h.rt.block_on(h.tasks.sample_jobs()).unwrap();
    let sweep = jobs
        .iter()
        .find(|j| j.kind == retractor::model::JobKind::Sweep)
        .expect("a sweep job");
    assert_eq!(sweep.counts.remediated as usize, copies, "{sweep:?}");
    assert_eq!(sweep.counts.failed, 0, "{sweep:?}");
    // A second sweep says every copy is already in Trash before anything runs.
    h.command("sweep trash");
    let Overlay::Confirm(c) = &h.app.overlay else {
        panic!("no confirmation: {:?}", h.app.flash)
    };
    let text = c.lines.join("\n");
    assert!(
        text.contains(&format!(
            "{copies} of these copies are already where trash puts them"
        )),
        "{text}"
    );
    h.press("Esc");
    // Operations lists it like any job.
    h.press("2");
    let screen = h.screen();
    assert!(
        screen
            .lines()
            .any(|l| l.contains("sweep trash") && l.contains("done")),
        "{screen}"
    );
}

/// When a job ends the open message is read again (new states and folders); what the
/// analyst chose on the retract tab stays.
#[test]
fn a_reload_after_the_job_keeps_the_analysts_choices() {
    let d = demo();
    let mut h = Harness::new(&d, 120, 40);
    campaign_retract_tab(&mut h);
    let first = h.app.detail.as_ref().unwrap().form.as_ref().unwrap();
    let excluded = first
        .recipients
        .iter()
        .position(|r| !r.external)
        .expect("an internal recipient");
    let address = first.recipients[excluded].address.clone();
    h.press("Space A e");
    h.type_text("INC-9");
    h.press("Enter R y");
    assert!(h.flash().contains("finished"), "{}", h.flash());
    let form = h.app.detail.as_ref().unwrap().form.as_ref().unwrap();
    assert_eq!(form.depth, 2);
    assert_eq!(form.action, retractor::model::Action::Trash);
    assert_eq!(app::input_text(&form.reason), "INC-9");
    let row = form
        .recipients
        .iter()
        .find(|r| r.address == address)
        .unwrap();
    assert!(!row.included, "the excluded recipient stays excluded");
    assert!(
        form.recipients
            .iter()
            .any(|r| r.included && r.state != "delivered"),
        "states were refreshed: {:?}",
        form.recipients
            .iter()
            .map(|r| r.state.as_str())
            .collect::<Vec<_>>()
    );
}

#[test]
fn u_restores_exactly_the_ticked_recipients_and_the_dialog_names_them() {
    let d = demo();
    let mut h = Harness::new(&d, 120, 40);
    campaign_retract_tab(&mut h);
    h.press("R y");
    assert!(h.flash().contains("finished"), "{}", h.flash());
    // Untick everyone, then tick one internal recipient.
    h.press("a");
    loop {
        let form = h.app.detail.as_ref().unwrap().form.as_ref().unwrap();
        if !form.recipients[form.cursor].external {
            break;
        }
        h.press("j");
    }
    h.press("Space");
    let form = h.app.detail.as_ref().unwrap().form.as_ref().unwrap();
    let ticked: Vec<String> = form
        .recipients
        .iter()
        .filter(|r| r.included)
        .map(|r| r.address.clone())
        .collect();
    assert_eq!(ticked.len(), 1);
    let others: Vec<String> = form
        .recipients
        .iter()
        .filter(|r| !r.included && !r.external)
        .map(|r| r.address.clone())
        .collect();
    assert!(!others.is_empty());

    h.press("u");
    let Overlay::Confirm(c) = &h.app.overlay else {
        panic!("no dialog: {}", h.flash());
    };
    let text = c.lines.join("\n");
    assert!(text.contains("the ticked recipients only"), "{text}");
    assert!(text.contains(&ticked[0]), "{text}");
    assert!(others.iter().all(|o| !text.contains(o.as_str())), "{text}");
    let Pending::RestoreMessage {
        items, recipients, ..
    } = &c.pending
    else {
        panic!("{:?}", c.pending);
    };
    assert_eq!(recipients, &ticked);
    assert!(
        text.contains(&format!("Restore {} pulled copies", items.len())),
        "{text}"
    );
    h.press("y");
    assert!(h.flash().contains("finished"), "{}", h.flash());

    // The restore job put back the ticked recipient's copies and nobody else's.
    let jobs = h.rt.block_on(h.tasks.sample_jobs()).unwrap();
    let restore = jobs
        .iter()
        .find(|j| j.kind == retractor::model::JobKind::Restore)
        .expect("a restore job");
    let restored = h.engine.store().job_items(restore.id).unwrap();
    assert!(!restored.is_empty());
    assert!(
        restored.iter().all(|i| i.mailbox == ticked[0]),
        "{:?}",
        restored.iter().map(|i| &i.mailbox).collect::<Vec<_>>()
    );
    // With nobody ticked, `u` refuses instead of restoring everything.
    h.press("a a");
    let form = h.app.detail.as_ref().unwrap().form.as_ref().unwrap();
    assert!(form.recipients.iter().all(|r| !r.included));
    h.press("u");
    assert!(matches!(h.app.overlay, Overlay::None));
    assert!(
        h.flash().contains("no recipient is ticked"),
        "{}",
        h.flash()
    );
}

#[test]
fn quit_asks_while_a_confirmed_submission_is_pending() {
    let d = demo();
    let mut h = Harness::new(&d, 120, 40);
    campaign_retract_tab(&mut h);
    h.press("R");
    // Confirmed, but the job is not written yet (its Submit is not carried out here).
    let out = app::update(&mut h.app, Event::Key(key("y")));
    assert!(matches!(out.as_slice(), [Command::Submit(_)]), "{out:?}");
    assert!(app::update(&mut h.app, Event::Key(key("q"))).is_empty());
    let Overlay::Confirm(c) = &h.app.overlay else {
        panic!("quit did not ask");
    };
    assert!(
        c.lines[0].contains("still being planned and written"),
        "{:?}",
        c.lines
    );
    h.press("Esc");
    // Once the submission answered (here: it failed), quitting no longer asks.
    app::update(&mut h.app, Event::Submitted(Err("gone".into())));
    assert_eq!(
        app::update(&mut h.app, Event::Key(key("q"))),
        vec![Command::Quit]
    );
}

#[test]
fn the_console_resumes_a_job_an_engine_that_stopped_left_running() {
    let d = demo();
    // A job taken on by a worker that is gone (no such process, no heartbeat).
    let mut h = Harness::new(&d, 120, 40);
    campaign_retract_tab(&mut h);
    h.press("R");
    let out = app::update(&mut h.app, Event::Key(key("y")));
    let events = h.rt.block_on(h.tasks.perform(out[0].clone()));
    let Some(Event::Submitted(Ok(job))) = events.first() else {
        panic!("{events:?}");
    };
    let job = *job;
    let store = h.engine.store();
    store.register_worker("nohost:1:gone", "nohost", 1).unwrap();
    assert!(
        !store
            .claim_items("nohost:1:gone", 2, Some(&[job]))
            .unwrap()
            .is_empty()
    );
    store.unregister_worker("nohost:1:gone").unwrap();
    assert_eq!(store.job(job).unwrap().status.as_str(), "running");

    // The next console finds it on start and runs it to the end.
    let h = Harness::new(&d, 120, 40);
    assert!(
        h.app.running.contains(&job),
        "{}",
        h.app.flash.as_deref().unwrap_or("")
    );
    assert!(h.flash().contains("resuming job(s)"), "{}", h.flash());
    h.rt.block_on(h.tasks.run_job(job));
    let status = h.engine.store().job(job).unwrap().status;
    assert!(status.is_finished(), "{status:?}");
}

#[test]
fn sweep_in_the_console_keeps_the_engines_rails_and_lists_the_copies() {
    let d = demo();
    let mut h = Harness::new(&d, 80, 24);
    h.app.tenants = vec!["demo".into()];
    // Blank filters and a date alone are refused by the engine, as for the CLI.
    for line in [
        r#"sweep trash subject:" ""#,
        r#"sweep trash from:" ""#,
        r#"sweep trash msgid:"<>""#,
    ] {
        h.command(line);
        assert!(matches!(h.app.overlay, Overlay::None), "{line}: no dialog");
        let flash = h.flash();
        assert!(flash.contains("empty"), "{line}: {flash}");
    }
    h.command("sweep trash since:30d");
    assert!(h.flash().contains("--all"), "{:?}", h.app.flash);
    // Above the cap: refused, naming the count and how to raise it.
    h.command("sweep trash since:30d all max:3");
    let flash = h.flash();
    assert!(
        flash.contains("refused") && flash.contains("max:"),
        "{flash}"
    );
    assert!(matches!(h.app.overlay, Overlay::None));
    // Within it: the dialog lists what matched, not only how much.
    h.command(r#"sweep trash subject:"DocuSign: Q4 payroll""#);
    let Overlay::Confirm(c) = &h.app.overlay else {
        panic!("no confirmation: {:?}", h.app.flash)
    };
    let text = c.lines.join("\n");
    assert!(text.contains("aaron.feld@demo.test  INBOX  <"), "{text}");
    assert!(
        text.contains(" more"),
        "the first few, then how many more: {text}"
    );
    snap(&h, "confirm_sweep_list");
    h.press("Esc");
}

/// Three quick `+` on the retract tab: the runtime's quiet moment lets only the newest plan
/// reach the engine; a stale reply that arrives after the newest never replaces its counts;
/// and the engine answers a conversation search it made lately from memory (the depth 1 and
/// 2 levels were searched for depth 3), so re-planning searches no mailbox again.
#[test]
fn a_burst_of_plan_keys_plans_once_and_shows_the_newest_counts() {
    let d = demo();
    let mut h = Harness::new(&d, 120, 40);
    h.press("/");
    h.type_text("disposition:malicious");
    h.press("Enter Enter r");
    let searches = |h: &Harness| h.engine.conversation_searches_made();
    let before = searches(&h);
    let mut asked = Vec::new();
    for _ in 0..3 {
        asked.extend(app::update(&mut h.app, Event::Key(key("+"))));
    }
    let reqs: Vec<u64> = asked
        .iter()
        .filter_map(|c| match c {
            Command::Preview { req, .. } => Some(*req),
            _ => None,
        })
        .collect();
    assert_eq!(reqs.len(), 3, "{asked:?}");
    let latest = reqs[2];
    let quiet = std::time::Duration::from_millis(150);
    let replies: Vec<Event> =
        h.rt.block_on(futures_util::future::join_all(
            asked
                .iter()
                .map(|c| h.tasks.perform_after_quiet(c.clone(), quiet)),
        ))
        .into_iter()
        .flatten()
        .collect();
    assert_eq!(
        replies.len(),
        1,
        "only the newest plan is made: {replies:?}"
    );
    assert!(matches!(replies[0], Event::Preview { req, .. } if req == latest));
    let after_burst = searches(&h);
    assert!(
        after_burst > before,
        "depth 3 searches the mailboxes for replies"
    );
    for e in replies {
        let next = app::update(&mut h.app, e);
        h.settle(next);
    }
    let newest = h
        .app
        .detail
        .as_ref()
        .unwrap()
        .form
        .as_ref()
        .unwrap()
        .preview
        .clone();
    // The older requests' replies arrive late (planned here directly): they are dropped.
    let stale: Vec<Event> =
        h.rt.block_on(futures_util::future::join_all(
            asked[..2].iter().map(|c| h.tasks.perform(c.clone())),
        ))
        .into_iter()
        .flatten()
        .collect();
    let Event::Preview {
        result: depth_one, ..
    } = &stale[0]
    else {
        panic!("{stale:?}")
    };
    assert_ne!(
        Some(depth_one.clone()),
        newest,
        "depth 1 and 3 count differently"
    );
    assert_eq!(
        searches(&h),
        after_burst,
        "depth 1 and 2 are levels of depth 3: answered from memory"
    );
    for e in stale {
        assert!(app::update(&mut h.app, e).is_empty());
    }
    let form = h.app.detail.as_ref().unwrap().form.as_ref().unwrap();
    assert_eq!(form.preview_req, latest);
    assert_eq!(form.depth, 3);
    assert_eq!(
        form.preview, newest,
        "the newest request's counts stay shown"
    );
    // Back to depth 3 after a detour: answered from memory, no second search.
    h.press("- +");
    assert_eq!(
        searches(&h),
        after_burst,
        "depth 2 and 3 were searched before"
    );
    let form = h.app.detail.as_ref().unwrap().form.as_ref().unwrap();
    assert_eq!(form.preview, newest);
}

/// `:sweep` without an action is refused as `sweep` without `--action` is: no default action,
/// no search of the mailboxes.
#[test]
fn sweep_without_an_action_is_refused_as_the_cli_refuses_it() {
    let d = demo();
    let mut h = Harness::new(&d, 120, 40);
    h.app.tenants = vec!["demo".into()];
    h.press("/");
    h.type_text("disposition:malicious");
    h.press("Enter Enter");
    h.press(":");
    h.type_text("sweep");
    let asked = app::update(&mut h.app, Event::Key(key("Enter")));
    assert!(
        !asked.iter().any(|c| matches!(c, Command::PlanSweep { .. })),
        "{asked:?}"
    );
    assert!(h.flash().contains("needs --action"), "{}", h.flash());
    assert!(h.flash().contains(":sweep ACTION"), "{}", h.flash());
    assert!(matches!(h.app.overlay, Overlay::None));
}
