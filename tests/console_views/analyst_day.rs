//! Issue 20 (the console parts): what an analyst needs is on screen at every size, moving
//! between messages takes one key, and an open message does not go stale.

use ratatui::style::Color;

use super::*;

const ALL_SIZES: [(u16, u16); 3] = [(80, 24), (120, 40), (200, 50)];

/// The screen's text lines (mono theme).
fn lines(h: &Harness) -> Vec<String> {
    let t = h.render(&Theme::mono());
    let buffer = t.backend().buffer();
    (0..buffer.area.height)
        .map(|y| {
            (0..buffer.area.width)
                .map(|x| buffer[(x, y)].symbol())
                .collect()
        })
        .collect()
}

#[test]
fn the_log_keeps_the_senders_domain_the_log_id_and_the_disposition_at_every_size() {
    let d = demo();
    for (w, hh) in ALL_SIZES {
        let mut h = Harness::new(&d, w, hh);
        let screen = h.screen();
        for header in ["ID ", "FROM", "SUBJECT", "DISPOSITION", "STATUS"] {
            assert!(screen.contains(header), "{header} at {w}x{hh}:\n{screen}");
        }
        // The external sender's domain is the indicator: cut the local part, not the domain.
        let payroll = lines(&h)
            .into_iter()
            .find(|l| l.contains("Payroll calendar"))
            .unwrap_or_else(|| panic!("the payroll row at {w}x{hh}:\n{screen}"));
        assert!(
            payroll.contains("services.example"),
            "the sender's domain at {w}x{hh}: {payroll}"
        );
        // The log id the CLI takes as REF is the row's first column.
        let selected = h.app.selected_message().unwrap().id.to_string();
        assert!(
            lines(&h)[6].starts_with(&format!("│{selected} ")),
            "{}",
            lines(&h)[6]
        );
        assert!(!screen.contains('~'), "cuts are marked with … at {w}x{hh}");

        // A malicious row is coloured, at every size (the compact layout keeps it).
        h.press("/");
        h.type_text("disposition:malicious");
        h.press("Enter");
        // The first row of the table (the search bar holds the word too).
        let y = 6;
        let x = lines(&h)[y]
            .chars()
            .collect::<Vec<_>>()
            .windows(9)
            .position(|w| w.iter().collect::<String>() == "malicious")
            .unwrap_or_else(|| panic!("malicious on row {y} at {w}x{hh}:\n{}", h.screen()));
        let t = h.render(&Theme::ansi16());
        let cell = &t.backend().buffer()[(x as u16, y as u16)];
        assert_eq!(cell.fg, Color::LightRed, "malicious stands out at {w}x{hh}");
    }
}

#[test]
fn j_and_k_in_the_detail_pane_move_to_the_next_message() {
    let d = demo();
    for (w, hh) in ALL_SIZES {
        let mut h = Harness::new(&d, w, hh);
        h.press("Enter");
        let first = h.app.detail.as_ref().unwrap().id;
        assert_eq!(h.app.focus, Focus::Detail);
        // On the Summary, j/k move the selection and open the message they land on.
        h.press("j");
        let second = h.app.selected_message().unwrap().id;
        assert_ne!(second, first);
        assert_eq!(h.app.detail.as_ref().unwrap().id, second, "{w}x{hh}");
        assert!(h.app.detail.as_ref().unwrap().loaded.is_some());
        assert!(h.screen().contains(&format!("Log id      {second}")));
        h.press("k");
        assert_eq!(h.app.detail.as_ref().unwrap().id, first);
        // From any tab, J/K do the same and keep the tab.
        h.press("r J");
        let d2 = h.app.detail.as_ref().unwrap();
        assert_eq!((d2.id, d2.tab), (second, Tab::Recipients));
        assert!(d2.form.is_some(), "the retract tab of the next message");
        // Paging past the held rows: the page's arrival opens the message.
        for _ in 0..60 {
            h.press("J");
        }
        let sel = h.app.selected_message().unwrap().id;
        assert_eq!(h.app.detail.as_ref().unwrap().id, sel, "{w}x{hh}");
        assert_eq!(h.app.messages.selected, 61);
    }
}

#[test]
fn g_in_headers_and_conversation_keeps_the_end_on_screen() {
    let d = demo();
    for (w, hh) in ALL_SIZES {
        let mut h = Harness::new(&d, w, hh);
        campaign_retract_tab(&mut h);
        h.press("l l");
        assert_eq!(h.app.detail.as_ref().unwrap().tab, Tab::Headers);
        let last = {
            let data = h.app.detail.as_ref().unwrap().loaded.as_ref().unwrap();
            assert!(!data.headers.is_empty());
            data.headers.last().unwrap().name.clone()
        };
        h.press("G");
        let screen = h.screen();
        assert!(
            screen.contains(&format!("{last}: ")),
            "G shows the last header at {w}x{hh}:\n{screen}"
        );
        h.press("h G");
        assert_eq!(h.app.detail.as_ref().unwrap().tab, Tab::Conversation);
        let screen = h.screen();
        assert!(
            screen.contains("docusiqn") || screen.contains("DocuSign"),
            "G keeps lines of the conversation at {w}x{hh}:\n{screen}"
        );
    }
}

#[test]
fn after_a_resize_the_table_is_full_and_the_selection_visible() {
    let d = demo();
    let mut h = Harness::new(&d, 120, 40);
    h.press("G");
    let total = h.app.messages.total as usize;
    for (w, hh) in [(200, 50), (80, 24), (120, 40)] {
        let commands = app::update(&mut h.app, Event::Resize(w, hh));
        h.settle(commands);
        let page = h.app.page_rows();
        assert_eq!(
            h.app.messages.top,
            total - page,
            "no blank rows at {w}x{hh}"
        );
        let rows = lines(&h)
            .iter()
            .filter(|l| l.starts_with('│') && l[3..].starts_with(|c: char| c.is_ascii_digit()))
            .count();
        assert_eq!(rows, page, "{w}x{hh}:\n{}", h.screen());
        assert_eq!(selected_lines(&h).len(), 1, "the selection is on screen");
    }
    // The detail pane took the whole body at 80x24 and moved the selection; closing it gives
    // the table back full.
    let commands = app::update(&mut h.app, Event::Resize(80, 24));
    h.settle(commands);
    h.press("Enter k k k Esc");
    let rows = lines(&h)
        .iter()
        .filter(|l| l.starts_with('│') && l[3..].starts_with(|c: char| c.is_ascii_digit()))
        .count();
    assert_eq!(rows, h.app.page_rows(), "{}", h.screen());
}

#[test]
fn an_open_message_refreshes_when_another_console_acts_on_it() {
    let d = demo();
    let mut h = Harness::new(&d, 120, 40);
    h.press("/");
    h.type_text("disposition:malicious");
    h.press("Enter Enter");
    let status = |h: &Harness| {
        h.app
            .detail
            .as_ref()
            .and_then(|d| d.loaded.as_ref())
            .map(|l| l.row.status.clone())
            .unwrap()
    };
    assert_eq!(status(&h), "Delivered");

    // Another console (another process: the same store) pulls the campaign.
    let mut other = Harness::new(&d, 120, 40);
    campaign_retract_tab(&mut other);
    other.press("R y");
    assert!(other.app.running.is_empty());

    // The first console's next jobs sample shows the job: the open message is re-read.
    let commands = h.jobs_sample();
    h.settle(commands);
    assert_ne!(status(&h), "Delivered", "refreshed by the jobs sample");

    // And C-r re-reads it on demand (here after a restore by the other console).
    let before = status(&h);
    other.press("Esc Esc u y");
    let pulled_back = d.engine.store().jobs(20).unwrap().len();
    assert!(pulled_back >= 2);
    h.press("C-r");
    assert_ne!(status(&h), before, "C-r re-read the message");
}
