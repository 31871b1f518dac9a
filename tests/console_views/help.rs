//! The `?` help of each view and tab (built from the keymap's per-place tables), the footer
//! hints that only name keys working where they are shown, and the `:` line's completion of
//! arguments and its refusals that keep the text.

use super::*;

#[test]
fn help_is_per_view_and_tab_and_scrolls() {
    let d = demo();
    for (w, hh) in SIZES {
        let mut h = Harness::new(&d, w, hh);
        h.press("?");
        snap(&h, "help_messages");
        let screen = h.screen();
        assert!(screen.contains("Help: Messages"), "{screen}");
        assert!(screen.contains("disposition:"), "{screen}");
        // The retract tab's keys are not offered on the list.
        assert!(!screen.contains("run the retraction"), "{screen}");
        // j scrolls the help down to its end (the :sweep grammar), any other key closes.
        h.press("G");
        let end = h.screen();
        assert!(end.contains(":sweep [ACTION]"), "{end}");
        assert!(matches!(h.app.overlay, Overlay::Help { scroll } if scroll > 0 || hh >= 40));
        h.press("x");
        assert!(matches!(h.app.overlay, Overlay::None));

        campaign_retract_tab(&mut h);
        h.press("?");
        snap(&h, "help_retract_tab");
        let screen = h.screen();
        assert!(
            screen.contains("Help: Messages, Recipients tab"),
            "{screen}"
        );
        assert!(screen.contains("run the retraction"), "{screen}");
        h.press("Esc 2 ?");
        snap(&h, "help_operations");
        let screen = h.screen();
        assert!(screen.contains("M/R/F/S copies matched"), "{screen}");
        assert!(screen.contains("cancel the job"), "{screen}");
        assert!(!screen.contains("run the retraction"), "{screen}");
        h.press("Esc 3 ?");
        snap(&h, "help_audit");
        assert!(h.screen().contains("BROKEN at record N"));
        h.press("Esc 4 ?");
        snap(&h, "help_pending");
        let screen = h.screen();
        assert!(screen.contains("approve request"), "{screen}");
        assert!(!screen.contains("include / exclude all"), "{screen}");
    }
}

#[test]
fn footer_hints_name_only_working_keys_and_fit_80_columns() {
    let d = demo();
    let mut h = Harness::new(&d, 80, 24);
    // The test backend quotes each screen line.
    let footer = |h: &Harness| {
        let screen = h.screen();
        let last = screen.lines().last().unwrap_or("").trim_matches('"');
        last.trim_end().to_string()
    };
    let list = footer(&h);
    assert!(
        list.contains("/ search") && list.contains("Enter open"),
        "{list}"
    );
    assert!(!list.contains("R run"), "{list}");
    campaign_retract_tab(&mut h);
    let tab = footer(&h);
    assert!(
        tab.contains("Space/a include") && tab.contains("R run"),
        "{tab}"
    );
    h.press("Esc 3");
    let audit = footer(&h);
    assert!(
        audit.contains("/ filter") && audit.contains("Enter record") && !audit.contains("Esc"),
        "{audit}"
    );
    h.press("2");
    let ops = footer(&h);
    assert!(ops.contains("c cancel"), "{ops}");
    // Every footer ends on a whole hint: its last word is one of the hints' labels.
    for f in [&list, &tab, &audit, &ops] {
        assert!(f.chars().count() <= 80, "{f}");
        let last = f.rsplit("  ").next().unwrap_or("");
        assert!(last.split_once(' ').is_some(), "cut mid-hint: {f}");
    }
}

#[test]
fn the_command_line_completes_arguments_and_keeps_a_refused_line() {
    let d = demo();
    let mut h = Harness::new(&d, 80, 24);
    h.press(":");
    h.type_text("sweep q");
    h.press("Tab");
    assert_eq!(app::input_text(&h.app.command_line), "sweep quarantine");
    h.type_text(" to:x@y.test");
    h.press("Enter");
    assert_eq!(h.app.focus, Focus::CommandLine, "a refused line stays open");
    assert_eq!(
        app::input_text(&h.app.command_line),
        "sweep quarantine to:x@y.test"
    );
    assert!(h.flash().contains("does not know 'to:'"), "{}", h.flash());
    snap(&h, "command_line_refused");
    // Esc leaves it; a good line runs and closes.
    h.press("Esc");
    assert_eq!(h.app.focus, Focus::List);
    h.command("audit");
    assert_eq!(h.app.view, View::Audit);
    assert_eq!(h.app.focus, Focus::List);
}
