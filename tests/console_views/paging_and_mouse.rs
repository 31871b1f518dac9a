//! Paging through the log, tenant scope, and the mouse: wheel, clicks, scrolled lists.

use super::*;

/// Keyset and from-the-end pages are the same rows as OFFSET pages, and moving through the
/// log one row at a time shows every row in order.
#[test]
fn keyset_paging_agrees_with_offsets_and_walks_the_whole_log_in_order() {
    use retractor::store::PageAnchor;
    let d = demo();
    let store = d.engine.store();
    let q = retractor::query::parse("", fixed_now()).unwrap();
    let all = store.search(&q, 1000, 0).unwrap();
    let n = all.len();
    let ids = |v: &[retractor::model::LoggedMessage]| v.iter().map(|m| m.id).collect::<Vec<_>>();
    let m = &all[99];
    let after = store
        .search_page(&q, PageAnchor::After(m.received_at.timestamp(), m.id), 10)
        .unwrap();
    assert_eq!(ids(&after), ids(&all[100..110]));
    let m = &all[110];
    let before = store
        .search_page(&q, PageAnchor::Before(m.received_at.timestamp(), m.id), 10)
        .unwrap();
    assert_eq!(ids(&before), ids(&all[100..110]));
    let end = store.search_page(&q, PageAnchor::FromEnd(5), 10).unwrap();
    assert_eq!(ids(&end), ids(&all[n - 15..n - 5]));

    // Walk down with j through the whole table at 80x24, then G and back up with k.
    let mut h = Harness::new(&d, 80, 24);
    for (i, m) in all.iter().enumerate() {
        assert_eq!(
            h.app.selected_message().map(|r| r.id),
            Some(m.id),
            "row {i}"
        );
        h.press("j");
    }
    h.press("G");
    for i in (n - 60..n).rev() {
        assert_eq!(
            h.app.selected_message().map(|r| r.id),
            Some(all[i].id),
            "row {i}"
        );
        h.press("k");
    }
}

#[test]
fn the_mouse_wheel_moves_what_the_arrows_move_and_nothing_while_typing() {
    let d = demo();
    let mut h = Harness::new(&d, 120, 40);
    let wheel = |h: &mut Harness, rows: i64| {
        let commands = app::update(&mut h.app, Event::Scroll(rows));
        h.settle(commands);
    };
    assert_eq!(h.app.messages.selected, 0);
    wheel(&mut h, 3);
    wheel(&mut h, 3);
    assert_eq!(h.app.messages.selected, 6);
    wheel(&mut h, -3);
    h.press("j");
    assert_eq!(h.app.messages.selected, 4, "wheel and j agree");
    wheel(&mut h, -100);
    assert_eq!(h.app.messages.selected, 0, "clamped at the top");
    // While the search bar has focus, the wheel does nothing (it types nothing either).
    h.press("/");
    h.app.dirty = false;
    wheel(&mut h, 3);
    assert_eq!(h.app.messages.selected, 0);
    assert!(!h.app.dirty, "nothing to redraw");
    h.press("Esc");
    // Nor under a dialog.
    h.press("?");
    wheel(&mut h, 3);
    assert_eq!(h.app.messages.selected, 0);
}

#[test]
fn tenant_scope_narrows_the_log_and_is_shown_in_the_title() {
    let d = demo();
    let mut h = Harness::new(&d, 120, 40);
    let everything = h.app.messages.total;
    assert!(everything > 300, "{everything}");
    // The runtime sets the configured tenants; a second, empty one shows the narrowing.
    h.app.tenants = vec!["demo".into(), "branch".into()];
    h.press(":");
    h.type_text("tenant b");
    h.press("Tab");
    assert_eq!(app::input_text(&h.app.command_line), "tenant branch");
    h.press("Enter");
    assert_eq!(h.app.tenant.as_deref(), Some("branch"));
    assert_eq!(h.app.messages.total, 0, "the demo's mail is all in 'demo'");
    assert!(h.screen().contains("Messages 0 of 0 · tenant branch"));
    h.command("tenant demo");
    assert_eq!(h.app.messages.total, everything);
    // The scope combines with the typed query.
    h.press("/");
    h.type_text("disposition:malicious");
    h.press("Enter");
    assert_eq!(h.app.messages.total, 1);
    assert!(h.screen().contains("Messages 1 of 1 · tenant demo"));
    // Unknown names are refused and change nothing; `:tenant` alone shows all again.
    h.command("tenant nope");
    assert!(h.flash().contains("no tenant 'nope'"));
    assert_eq!(h.app.tenant.as_deref(), Some("demo"));
    h.command("tenant");
    assert_eq!(h.app.tenant, None);
    assert_eq!(h.app.messages.total, 1, "the typed query stays");
}

#[test]
fn clicks_switch_views_and_tabs_select_rows_and_open_the_selected_one() {
    let d = demo();
    let mut h = Harness::new(&d, 120, 40);
    // Bar (1), search bar (3), the table's border and header (2): row 3 of the log is line 9.
    h.click(Position::new(40, 9));
    assert_eq!(h.app.messages.selected, 3);
    assert!(h.app.detail.is_none(), "the first click only selects");
    assert_eq!(selected_lines(&h), vec![9]);
    h.click(Position::new(40, 9));
    let open = h.app.detail.as_ref().map(|d| d.id);
    assert_eq!(
        open,
        h.app.selected_message().map(|r| r.id),
        "a second click opens"
    );
    assert_eq!(h.app.focus, Focus::Detail);

    // The pane's tab titles switch tabs; the retract tab brings its form and counts.
    let tab = find_on_screen(&h, "Recipients ");
    h.click(tab);
    let detail = h.app.detail.as_ref().unwrap();
    assert_eq!(detail.tab, Tab::Recipients);
    let form = detail.form.as_ref().unwrap();
    assert!(form.preview.is_some(), "counts were asked for");
    let (i, who) = form
        .recipients
        .iter()
        .enumerate()
        .skip(1)
        .find(|(_, r)| !r.external)
        .map(|(i, r)| (i, r.shown.clone()))
        .expect("a second internal recipient");
    let was_included = form.recipients[i].included;
    let row = find_on_screen(&h, &format!("] {}", &who[..who.len().min(20)]));
    h.click(row);
    let form = h.app.detail.as_ref().unwrap().form.as_ref().unwrap();
    assert_eq!(form.cursor, i, "the first click moves the cursor");
    assert_eq!(form.recipients[i].included, was_included);
    h.click(row);
    let form = h.app.detail.as_ref().unwrap().form.as_ref().unwrap();
    assert_eq!(
        form.recipients[i].included, !was_included,
        "a second click toggles"
    );

    // The reason line takes the reason; clicking away keeps what was typed.
    h.click(find_on_screen(&h, "Reason "));
    assert_eq!(h.app.focus, Focus::Reason);
    h.type_text("INC-1");
    h.click(find_on_screen(&h, "Summary "));
    assert_eq!(h.app.focus, Focus::Detail);
    assert_eq!(h.app.detail.as_ref().unwrap().tab, Tab::Summary);
    let reason = &h.app.detail.as_ref().unwrap().form.as_ref().unwrap().reason;
    assert_eq!(app::input_text(reason), "INC-1");

    // A click never answers a dialog: not on the dialog, not beside it.
    h.press("r R");
    assert!(matches!(h.app.overlay, Overlay::Confirm(_)));
    for at in [
        Position::new(60, 20),
        Position::new(2, 0),
        Position::new(5, 9),
    ] {
        let asked = h.click(at);
        assert!(asked.is_empty(), "{asked:?}");
        assert!(matches!(h.app.overlay, Overlay::Confirm(_)));
    }
    h.press("Esc");

    // The view bar switches views.
    h.click(find_on_screen(&h, "2 Operations"));
    assert_eq!(h.app.view, View::Operations);
    h.click(find_on_screen(&h, "3 Audit"));
    assert_eq!(h.app.view, View::Audit);
    h.click(find_on_screen(&h, "1 Messages"));
    assert_eq!(h.app.view, View::Messages);

    // Help closes on a click; a click on the log while typing a search leaves the search
    // without running it, and selects without opening.
    h.press("?");
    h.click(Position::new(40, 9));
    assert!(matches!(h.app.overlay, Overlay::None));
    h.press("Esc");
    let query = h.app.messages.query.clone();
    h.press("/");
    h.type_text("from:nobody");
    h.click(Position::new(40, 7));
    assert_eq!(h.app.focus, Focus::List);
    assert_eq!(h.app.messages.query, query, "the typed query was not run");
    assert_eq!(h.app.messages.selected, 1);
    assert!(h.app.detail.is_none());
    // Clicking the search bar starts typing there.
    h.click(Position::new(10, 2));
    assert_eq!(h.app.focus, Focus::Search);
}

/// Lists longer than the screen keep the selection on it, and a click picks the row drawn
/// under the pointer after scrolling.
#[test]
fn audit_and_operations_scroll_with_the_selection_and_clicks_pick_the_rows_drawn() {
    let d = demo();
    let mut h = Harness::new(&d, 80, 24);
    campaign_retract_tab(&mut h);
    h.press("R y");
    h.press("3");
    let records = h.app.audit.rows.len();
    // 80x24: bar, filter (3), chain line, border, header ... border, status: 15 rows.
    let visible = 24 - 1 - 3 - 1 - 3 - 1;
    assert!(records > visible, "{records} audit records");
    h.press("G");
    assert_eq!(h.app.audit.selected, records - 1);
    let last_row_line = 24 - 3;
    assert_eq!(
        selected_lines(&h),
        vec![last_row_line as u16],
        "{}",
        h.screen()
    );
    // Moving up inside the window moves the highlight, not the rows.
    h.press("k");
    assert_eq!(selected_lines(&h), vec![last_row_line as u16 - 1]);
    h.press("j");
    let first_row_line = 1 + 3 + 1 + 2;
    h.click(Position::new(10, first_row_line));
    assert_eq!(h.app.audit.selected, records - visible);
    assert_eq!(
        selected_lines(&h),
        vec![first_row_line],
        "the list did not jump"
    );
    h.click(Position::new(10, first_row_line - 1));
    assert_eq!(
        h.app.audit.selected,
        records - visible,
        "the header is not a row"
    );
    // A second click on the selected record shows it in full, as Enter does.
    h.click(Position::new(10, first_row_line));
    assert!(h.app.audit.open, "{}", h.screen());
    h.press("Esc");
    assert!(!h.app.audit.open);

    h.press("2");
    assert!(!h.app.ops.jobs.is_empty());
    assert!(h.app.ops.open.is_none());
    h.click(Position::new(10, 3));
    let first_job = h.app.ops.jobs[0].id;
    assert_eq!(
        h.app.ops.open.as_ref().map(|o| o.job),
        Some(first_job),
        "a click on the selected job lists its items"
    );

    // At the end of the audit, a taller terminal shows more records above, never blank lines
    // under the last one.
    h.press("Esc 3 G");
    let commands = app::update(&mut h.app, Event::Resize(120, 40));
    h.settle(commands);
    assert_eq!(selected_lines(&h), vec![40 - 3], "{}", h.screen());
}
