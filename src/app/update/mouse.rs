//! Left clicks (only with `[console] mouse = true`). A click does what the keys would do to the
//! thing under the pointer and no more: it switches views and tabs, selects a row, and opens
//! what is already selected (a second click, as `Enter` would). It never answers a dialog, so a
//! stray click cannot start or confirm a retraction. Geometry comes from [`layout`], the same
//! functions `ui` draws with, so a click lands on what the analyst sees.

use ratatui::layout::{Margin, Position, Rect};

use super::{act, ensure_page, preview, select_tab, switch};
use crate::app::keymap::KeyAction;
use crate::app::{App, Command, Focus, Overlay, Tab, View, layout};

/// Apply a click at `at` (screen cells, 0-based).
pub(super) fn click(app: &mut App, at: Position) -> Vec<Command> {
    match app.overlay {
        Overlay::Confirm(_) | Overlay::Approval(_) => return Vec::new(),
        Overlay::Help { .. } => {
            app.overlay = Overlay::None;
            app.dirty = true;
            return Vec::new();
        }
        Overlay::None => {}
    }
    let [bar, body, _status] = layout::bands(Rect::new(0, 0, app.width, app.height));
    if app.focus == Focus::Search && search_area(app, body).contains(at) {
        return Vec::new(); // already typing there
    }
    app.flash = None;
    app.dirty = true;
    // Where keys went before the click: a click that only leaves an input does not also
    // open or toggle what it lands on.
    let before = app.focus;
    let mut out = leave_input(app);
    if bar.contains(at) {
        if let Some(view) = layout::view_at(at.x) {
            out.extend(switch(app, view));
        }
    } else if body.contains(at) {
        out.extend(match app.view {
            View::Messages => on_messages(app, body, at, before),
            View::Operations => on_operations(app, body, at),
            View::Audit => on_audit(app, body, at),
            View::Pending => on_pending(app, body, at),
        });
    }
    out
}

/// The search bar (Messages) or the filter (Audit); empty in Operations.
fn search_area(app: &App, body: Rect) -> Rect {
    match app.view {
        View::Messages => {
            layout::messages_areas(body, app.width, app.height, app.detail.is_some())[0]
        }
        View::Audit => layout::audit_areas(body)[0],
        View::Operations | View::Pending => Rect::default(),
    }
}

/// Clicking away from a text input leaves it as its keys would: the search and the command
/// line as `Esc` does (nothing typed is run), the reason as `Enter` does (it is kept).
fn leave_input(app: &mut App) -> Vec<Command> {
    match app.focus {
        Focus::Search | Focus::CommandLine => {
            app.focus = Focus::List;
            app.search_error = None;
            Vec::new()
        }
        Focus::Reason => {
            app.focus = Focus::Detail;
            preview(app)
        }
        Focus::List | Focus::Detail => Vec::new(),
    }
}

fn on_messages(app: &mut App, body: Rect, at: Position, before: Focus) -> Vec<Command> {
    let [search, table, pane] =
        layout::messages_areas(body, app.width, app.height, app.detail.is_some());
    if search.contains(at) {
        return act(app, KeyAction::Search);
    }
    if pane.contains(at) {
        return on_detail(app, pane, at, before);
    }
    if !table.contains(at) {
        return Vec::new();
    }
    let Some(row) = layout::table_row_at(table, at) else {
        return Vec::new();
    };
    let m = &app.messages;
    let index = m.top + row;
    if index >= m.total as usize {
        return Vec::new();
    }
    if index == m.selected && before == Focus::List {
        let already_open = app
            .selected_message()
            .zip(app.detail.as_ref())
            .is_some_and(|(r, d)| r.id == d.id);
        if already_open {
            app.focus = Focus::Detail;
            return Vec::new();
        }
        return act(app, KeyAction::Open);
    }
    app.focus = Focus::List;
    app.messages.selected = index;
    ensure_page(app)
}

fn on_detail(app: &mut App, pane: Rect, at: Position, before: Focus) -> Vec<Command> {
    app.focus = Focus::Detail;
    if at.y == pane.y {
        return match layout::tab_at(pane, at.x) {
            Some(tab) => select_tab(app, tab),
            None => Vec::new(),
        };
    }
    let Some(form) = app
        .detail
        .as_mut()
        .filter(|d| d.tab == Tab::Recipients)
        .and_then(|d| d.form.as_mut())
    else {
        return Vec::new();
    };
    let inner = pane.inner(Margin::new(1, 1));
    let [_controls, _counts, _header, list, reason] =
        layout::recipients_areas(inner, form.depth_lines());
    if reason.contains(at) {
        return act(app, KeyAction::EditReason);
    }
    if !list.contains(at) {
        return Vec::new();
    }
    let top = layout::list_offset(
        form.top,
        form.cursor,
        usize::from(list.height),
        form.recipients.len(),
    );
    let index = top + usize::from(at.y - list.y);
    if index >= form.recipients.len() {
        return Vec::new();
    }
    if index == form.cursor && before == Focus::Detail {
        return act(app, KeyAction::Toggle);
    }
    form.cursor = index;
    form.top = top;
    Vec::new()
}

fn on_operations(app: &mut App, body: Rect, at: Position) -> Vec<Command> {
    let jobs = layout::operations_areas(body, app.ops.open.is_some()).jobs;
    let Some(row) = layout::table_row_at(jobs, at) else {
        return Vec::new();
    };
    let ops = &mut app.ops;
    let top = layout::list_offset(
        ops.top,
        ops.selected,
        layout::table_rows(jobs.height),
        ops.jobs.len(),
    );
    let index = top + row;
    let Some(job) = ops.jobs.get(index).map(|j| j.id) else {
        return Vec::new();
    };
    let open = ops.open.as_ref().map(|o| o.job);
    let was_selected = index == ops.selected;
    ops.selected = index;
    ops.top = top;
    match open {
        // The items of another job are open: show this one's instead.
        Some(id) if id != job => act(app, KeyAction::Open),
        Some(_) => Vec::new(),
        None if was_selected => act(app, KeyAction::Open),
        None => Vec::new(),
    }
}

/// A click selects a request; a second click on it shows its facts (as `Enter` does).
fn on_pending(app: &mut App, body: Rect, at: Position) -> Vec<Command> {
    let list = layout::operations_areas(body, app.pending.facts_open).jobs;
    let Some(row) = layout::table_row_at(list, at) else {
        return Vec::new();
    };
    let p = &mut app.pending;
    let top = layout::list_offset(
        p.top,
        p.selected,
        layout::table_rows(list.height),
        p.rows.len(),
    );
    let index = top + row;
    if index >= p.rows.len() {
        return Vec::new();
    }
    let was_selected = index == p.selected;
    p.selected = index;
    p.top = top;
    if was_selected {
        return act(app, KeyAction::Open);
    }
    Vec::new()
}

fn on_audit(app: &mut App, body: Rect, at: Position) -> Vec<Command> {
    let [filter, _chain, table] = layout::audit_areas(body);
    if filter.contains(at) {
        return act(app, KeyAction::Search);
    }
    let Some(row) = layout::table_row_at(table, at) else {
        return Vec::new();
    };
    let a = &mut app.audit;
    let shown = a.shown();
    let top = layout::list_offset(a.top, a.selected, layout::table_rows(table.height), shown);
    let index = top + row;
    if index < shown {
        // A second click on the selected record shows it in full, as `Enter` does.
        let again = index == a.selected;
        a.selected = index;
        a.top = top;
        if again {
            return act(app, KeyAction::Open);
        }
    }
    Vec::new()
}
