//! Every view's snapshots, the keys that drive the retract tab and its dialogs, the
//! command line, and what hostile text and the mono theme look like.

use super::*;

#[test]
fn snapshots_of_every_view_at_both_sizes() {
    let d = demo();
    for (w, hh) in SIZES {
        let mut h = Harness::new(&d, w, hh);
        snap(&h, "messages");

        h.press("/");
        h.type_text("from:");
        snap(&h, "search_error");
        h.press("Esc");

        h.press("?");
        snap(&h, "help");
        h.press("Esc");

        campaign_retract_tab(&mut h);
        snap(&h, "retract_tab");
        h.press("h");
        snap(&h, "summary_tab");
        h.press("l l");
        snap(&h, "conversation_tab");
        h.press("l");
        snap(&h, "headers_tab");
        h.press("h h");

        h.press("R");
        snap(&h, "confirm_retract");
        h.press("Esc");
        // Hard-delete asks for the word.
        h.press("A A A A R");
        snap(&h, "confirm_hard_delete");
        h.press("Esc");
    }
}

#[test]
fn snapshots_of_operations_and_audit_after_a_retraction() {
    for (w, hh) in SIZES {
        let d = demo();
        let mut h = Harness::new(&d, w, hh);
        campaign_retract_tab(&mut h);
        h.press("e");
        h.type_text("INC-4711");
        h.press("Enter R y");
        assert!(h.app.running.is_empty(), "the job ran to the end");
        h.press("2");
        snap(&h, "operations");
        h.press("Enter");
        snap(&h, "operations_job_items");
        // Per-item records arrive in the order workers finish them: filter to the request.
        h.press("Esc 3 /");
        h.type_text("queued");
        h.press("Enter");
        let screen = redact_times(&h.screen());
        assert!(screen.contains("chain: verified"), "{screen}");
        assert!(screen.contains("INC-4711") || w < 100, "{screen}");
        snap_screen(&format!("audit_{w}x{hh}"), screen);
    }
}

#[test]
fn keys_drive_the_retract_tab_and_the_confirmation() {
    let d = demo();
    let mut h = Harness::new(&d, 120, 40);
    campaign_retract_tab(&mut h);
    let form = h.app.detail.as_ref().unwrap().form.as_ref().unwrap();
    assert_eq!(form.depth, 2);
    let preview = form.preview.clone().unwrap().unwrap();
    assert_eq!(preview.by_depth.len(), 3, "{preview:?}");
    let included = form.recipients.iter().filter(|r| r.included).count();
    // Space excludes the first recipient; `a` includes everyone again, then excludes all.
    h.press("Space");
    let form = h.app.detail.as_ref().unwrap().form.as_ref().unwrap();
    assert_eq!(
        form.recipients.iter().filter(|r| r.included).count(),
        included - 1
    );
    h.press("a");
    let form = h.app.detail.as_ref().unwrap().form.as_ref().unwrap();
    assert_eq!(
        form.recipients.iter().filter(|r| r.included).count(),
        included
    );
    h.press("a");
    let form = h.app.detail.as_ref().unwrap().form.as_ref().unwrap();
    assert_eq!(form.recipients.iter().filter(|r| r.included).count(), 0);
    h.press("a");
    // The dialog has Cancel focused: Enter cancels, nothing is submitted.
    h.press("R");
    assert!(matches!(h.app.overlay, Overlay::Confirm(_)));
    let out = app::update(&mut h.app, Event::Key(key("Enter")));
    assert!(out.is_empty() && matches!(h.app.overlay, Overlay::None));
    // `y` confirms: a Submit of exactly what the tab shows.
    h.press("R");
    let out = app::update(&mut h.app, Event::Key(key("y")));
    match out.as_slice() {
        [Command::Submit(Pending::Retract(spec))] => {
            assert_eq!(spec.depth, 2);
            assert_eq!(spec.recipients.len(), included);
        }
        other => panic!("expected one Submit, got {other:?}"),
    }
}

#[test]
fn hard_delete_needs_the_word_and_y_is_not_enough() {
    let d = demo();
    let mut h = Harness::new(&d, 80, 24);
    campaign_retract_tab(&mut h);
    h.press("A A A A R");
    assert!(app::update(&mut h.app, Event::Key(key("y"))).is_empty());
    assert!(
        matches!(h.app.overlay, Overlay::Confirm(_)),
        "y typed into the field"
    );
    h.press("C-c"); // not a confirmation either
    assert!(app::update(&mut h.app, Event::Key(key("Enter"))).is_empty());
    h.press("Esc R");
    let Overlay::Confirm(c) = &h.app.overlay else {
        panic!("no confirmation")
    };
    assert_eq!(
        c.word.as_ref().map(|w| w.expected),
        Some(retractor::engine::HARD_DELETE_WORD),
        "the engine's word, the one `retract --action hard-delete` asks for"
    );
    for c in "delete".chars() {
        let _ = app::update(&mut h.app, Event::Key(key(&c.to_string())));
    }
    let out = app::update(&mut h.app, Event::Key(key("Enter")));
    assert!(
        matches!(out.as_slice(), [Command::Submit(Pending::Retract(s))] if s.action == retractor::model::Action::HardDelete)
    );
}

#[test]
fn stale_replies_are_dropped_and_paging_fetches_only_the_visible_window() {
    let d = demo();
    let mut h = Harness::new(&d, 120, 40);
    let old_req = h.app.messages.req;
    // A newer search is asked for; the reply to the old one must not replace its rows.
    let out = app::update(&mut h.app, Event::Key(key("/")));
    assert!(out.is_empty());
    h.app.search = app::single_line("disposition:malicious");
    let out = app::update(&mut h.app, Event::Key(key("Enter")));
    let Command::Search { req, limit, .. } = out[0].clone() else {
        panic!("{out:?}")
    };
    assert!(limit <= 3 * 40, "fetches a window, not the log: {limit}");
    let before = h.app.messages.rows.clone();
    let out = app::update(
        &mut h.app,
        Event::Page {
            req: old_req,
            offset: 0,
            total: Some(9999),
            rows: Vec::new(),
            empty_because: None,
        },
    );
    assert!(out.is_empty());
    assert_eq!(h.app.messages.rows, before);
    assert_ne!(h.app.messages.total, 9999);
    h.settle(out);
    h.settle(vec![Command::Search {
        req,
        query: "disposition:malicious".into(),
        anchor: retractor::store::PageAnchor::Offset(0),
        offset: 0,
        limit,
        count: true,
    }]);
    assert_eq!(h.app.messages.total, 1);
}

#[test]
fn quit_asks_while_this_console_runs_a_job() {
    let d = demo();
    let mut h = Harness::new(&d, 80, 24);
    h.app.running.insert(7);
    assert!(app::update(&mut h.app, Event::Key(key("q"))).is_empty());
    assert!(matches!(h.app.overlay, Overlay::Confirm(_)));
    assert_eq!(
        app::update(&mut h.app, Event::Key(key("y"))),
        vec![Command::Quit]
    );
    h.app.running.clear();
    let mut h = Harness::new(&d, 80, 24);
    assert_eq!(
        app::update(&mut h.app, Event::Key(key("q"))),
        vec![Command::Quit]
    );
}

#[test]
fn command_line_completes_and_runs() {
    let d = demo();
    let mut h = Harness::new(&d, 120, 40);
    h.press(":");
    h.type_text("op");
    h.press("Tab");
    assert_eq!(app::input_text(&h.app.command_line), "operations ");
    h.press("Enter");
    assert_eq!(h.app.view, app::View::Operations);
    h.command("fly");
    assert!(h.flash().contains("unknown command :fly"));
}

#[test]
fn the_hostile_subject_reaches_widgets_only_as_visible_escapes() {
    let d = demo();
    let mut h = Harness::new(&d, 120, 40);
    h.press("/");
    h.type_text("invoice overdue");
    h.press("Enter Enter");
    let screen = h.screen();
    assert!(
        screen.contains("Invoice \\x1b[2J\\x1b]0;pwned\\x07 overdue \\u{202e}fdp.exe"),
        "{screen}"
    );
    let t = h.render(&Theme::ansi16());
    for cell in t.backend().buffer().content() {
        assert!(
            !cell
                .symbol()
                .chars()
                .any(|c| c.is_control() || ('\u{202a}'..='\u{202e}').contains(&c)),
            "raw control character in a cell"
        );
    }
}

#[test]
fn the_mono_theme_keeps_the_selection_visible_without_colour() {
    let d = demo();
    let h = Harness::new(&d, 80, 24);
    let t = h.render(&Theme::mono());
    let buffer = t.backend().buffer();
    // Row 6 is the first data row of the table (bar, search bar 3, border, header).
    let cell = &buffer[(2, 6)];
    assert!(cell.modifier.contains(Modifier::REVERSED), "{cell:?}");
    assert_eq!(cell.fg, ratatui::style::Color::Reset);
    assert_eq!(cell.bg, ratatui::style::Color::Reset);
    let ascii = Theme::mono().with_ascii_borders();
    let t = h.render(&ascii);
    assert_eq!(t.backend().buffer()[(0, 1)].symbol(), "+");
}

/// The closing note's figure: keystrokes from the start to a confirmed retraction of the
/// campaign at depth 2: `/docusiqn` Enter (the sender's look-alike domain; the campaign is the
/// oldest of its 4 matches), `G`, `r`, `+` `+`, `R`, `y`.
#[test]
fn sixteen_keystrokes_from_start_to_a_confirmed_depth_2_retraction() {
    let d = demo();
    let mut h = Harness::new(&d, 120, 40);
    let keys = [
        "/", "d", "o", "c", "u", "s", "i", "q", "n", "Enter", "G", "r", "+", "+", "R", "y",
    ];
    let mut submitted = None;
    for (n, k) in keys.iter().enumerate() {
        let out = app::update(&mut h.app, Event::Key(key(k)));
        if let Some(Command::Submit(Pending::Retract(spec))) = out.first() {
            submitted = Some((n + 1, spec.clone()));
        }
        h.settle(out);
    }
    let (count, spec) = submitted.expect("a retraction was submitted");
    assert_eq!(count, 16);
    assert_eq!(spec.depth, 2);
    let message = d.engine.store().message(spec.message).unwrap();
    assert_eq!(message.message_id, d.campaign);
    assert!(h.flash().contains("finished"));
}
