//! Moving around: switching views and tabs, opening a message, moving cursors, and asking for
//! the page of the log (or the audit) that is on screen.

use super::retract::preview;
use crate::app::layout;
use crate::app::{App, Command, Detail, Focus, Tab, View};
use crate::store::PageAnchor;

impl App {
    /// Run a search from the first row.
    pub(in crate::app) fn run_search(&mut self, query: String) -> Command {
        let req = self.req();
        let limit = self.page_rows() * 3;
        let m = &mut self.messages;
        m.query = query.clone();
        m.req = req;
        m.loading = true;
        m.selected = 0;
        m.top = 0;
        m.rows.clear();
        m.page_offset = 0;
        Command::Search {
            req,
            query: self.scoped_query(),
            anchor: PageAnchor::Offset(0),
            offset: 0,
            limit,
            count: true,
        }
    }

    pub(in crate::app) fn load_audit(&mut self) -> Command {
        let req = self.req();
        self.audit.req = req;
        Command::LoadAudit {
            req,
            query: self.audit.applied.request(),
        }
    }
}

/// Ask for the page around the visible rows when it is not the one held.
pub(super) fn ensure_page(app: &mut App) -> Vec<Command> {
    let page = app.page_rows();
    let m = &mut app.messages;
    // Keep the selection on screen, and never leave blank lines under the last row while
    // earlier rows are hidden (the table grew: a resize, the detail pane closed).
    m.top = layout::list_offset(m.top, m.selected, page, m.total as usize);
    let held = m.page_offset..m.page_offset + m.rows.len();
    let want_end = (m.top + page).min(m.total as usize);
    let covered = held.contains(&m.top) && want_end <= held.end;
    if covered || m.total == 0 || (m.loading && m.rows.is_empty()) {
        return Vec::new();
    }
    fetch_page(app, false)
}

/// Fetch the page around the visible rows (a page before and one after, for smooth `j`/`k`).
/// Neighbouring pages are read from a held row (keyset paging), far jumps by offset from
/// whichever end is nearer: OFFSET into a 1,000,000-row log costs a scan of the skipped rows.
pub(super) fn fetch_page(app: &mut App, count: bool) -> Vec<Command> {
    let page = app.page_rows();
    let req = app.req();
    let m = &mut app.messages;
    let total = m.total as usize;
    let want = m.top.saturating_sub(page);
    let limit = page * 3;
    let held = |index: usize| index.checked_sub(m.page_offset).and_then(|i| m.rows.get(i));
    let anchor = if count {
        PageAnchor::Offset(want)
    } else if let Some(r) = want.checked_sub(1).and_then(held) {
        PageAnchor::After(r.received_ts, r.id)
    } else if let Some(r) = held(want + limit).filter(|_| want + limit < total) {
        PageAnchor::Before(r.received_ts, r.id)
    } else if want > total / 2 {
        PageAnchor::FromEnd(total.saturating_sub(want + limit))
    } else {
        PageAnchor::Offset(want)
    };
    let limit = if matches!(anchor, PageAnchor::FromEnd(_)) {
        limit.min(total.saturating_sub(want))
    } else {
        limit
    };
    m.req = req;
    m.loading = true;
    let query = app.scoped_query();
    vec![Command::Search {
        req,
        query,
        anchor,
        offset: want,
        limit,
        count,
    }]
}

/// Re-read the page on screen (statuses change as jobs run).
pub(super) fn refresh_page(app: &mut App) -> Vec<Command> {
    if app.messages.total == 0 && app.messages.rows.is_empty() {
        return Vec::new();
    }
    fetch_page(app, true)
}

pub(super) fn open_detail(app: &mut App, id: i64, keep_tab: bool) -> Vec<Command> {
    let req = app.req();
    let (tab, scroll, loaded, refreshed_at, evidence) = match (&mut app.detail, keep_tab) {
        // A reload keeps showing what it had until the answer comes (no "loading..." flash);
        // the evidence of a copy is not read again for it.
        (Some(d), true) if d.id == id => (
            d.tab,
            d.scroll,
            d.loaded.take(),
            d.refreshed_at,
            d.evidence.take(),
        ),
        _ => (Tab::Summary, 0, None, None, None),
    };
    let keep_form = app
        .detail
        .as_mut()
        .filter(|d| keep_tab && d.id == id)
        .and_then(|d| d.form.take());
    app.detail = Some(Detail {
        id,
        req,
        loaded,
        tab,
        form: None,
        scroll,
        refreshed_at,
        evidence,
    });
    if let Some(mut form) = keep_form {
        // Keep what the analyst chose; the reply refreshes states and folders.
        form.preview = None;
        if let Some(d) = app.detail.as_mut() {
            d.form = Some(form);
        }
    }
    vec![Command::LoadDetail { req, id }]
}

/// Show a tab of the open message and give the pane focus; the retract tab refreshes its counts.
pub(super) fn select_tab(app: &mut App, tab: Tab) -> Vec<Command> {
    let Some(d) = app.detail.as_mut() else {
        return Vec::new();
    };
    d.tab = tab;
    d.scroll = 0;
    app.focus = Focus::Detail;
    match tab {
        Tab::Recipients => preview(app),
        Tab::Forensics => super::pending::load_evidence(app),
        _ => Vec::new(),
    }
}

pub(super) fn switch(app: &mut App, view: View) -> Vec<Command> {
    app.view = view;
    app.focus = if view == View::Messages && app.detail.is_some() {
        Focus::Detail
    } else {
        Focus::List
    };
    match view {
        View::Audit => vec![app.load_audit()],
        View::Messages => refresh_page(app),
        View::Operations => Vec::new(),
        View::Pending => {
            app.pending.mark_seen();
            vec![Command::LoadApprovals]
        }
    }
}

pub(super) fn page_len(app: &App) -> usize {
    match app.view {
        View::Messages => app.page_rows(),
        _ => usize::from(app.height.saturating_sub(8)).max(1),
    }
}

/// Move the cursor of whatever list has focus, clamped to its length.
pub(super) fn move_by(app: &mut App, delta: i64) -> Vec<Command> {
    let clamp = |pos: usize, len: usize| -> usize {
        if len == 0 {
            return 0;
        }
        (pos as i64).saturating_add(delta).clamp(0, len as i64 - 1) as usize
    };
    match app.view {
        View::Messages => {
            if app.focus == Focus::Detail {
                let scroll_max = app.detail_scroll_max();
                if let Some(d) = app.detail.as_mut() {
                    match (d.tab, d.form.as_mut()) {
                        (Tab::Recipients, Some(f)) => {
                            f.cursor = clamp(f.cursor, f.recipients.len());
                        }
                        // The Summary has nothing to scroll: j/k go to the next message, as
                        // they do in the list (one key instead of Esc j Enter).
                        (Tab::Summary, _) => return step_message(app, delta),
                        // Never past the last screenful: `G` shows the end, not a blank pane.
                        _ => d.scroll = clamp(d.scroll, scroll_max + 1),
                    }
                }
                let visible = app.recipients_visible();
                if let Some(f) = app.detail.as_mut().and_then(|d| d.form.as_mut()) {
                    f.top = layout::list_offset(f.top, f.cursor, visible, f.recipients.len());
                }
                return Vec::new();
            }
            let total = app.messages.total as usize;
            app.messages.selected = clamp(app.messages.selected, total);
            ensure_page(app)
        }
        View::Operations => {
            let visible = app.items_visible();
            if let Some(open) = app.ops.open.as_mut() {
                let len = open.visible_items().count();
                open.cursor = clamp(open.cursor, len);
                open.top = layout::list_offset(open.top, open.cursor, visible, len);
            } else {
                app.ops.selected = clamp(app.ops.selected, app.ops.jobs.len());
                app.ops.top = layout::list_offset(
                    app.ops.top,
                    app.ops.selected,
                    app.jobs_visible(),
                    app.ops.jobs.len(),
                );
            }
            Vec::new()
        }
        View::Audit => {
            let len = app.audit.shown();
            app.audit.selected = clamp(app.audit.selected, len);
            app.audit.top =
                layout::list_offset(app.audit.top, app.audit.selected, app.audit_visible(), len);
            Vec::new()
        }
        View::Pending => {
            let len = app.pending.rows.len();
            app.pending.selected = clamp(app.pending.selected, len);
            app.pending.top = layout::list_offset(
                app.pending.top,
                app.pending.selected,
                app.pending_visible(),
                len,
            );
            Vec::new()
        }
    }
}

/// Move the selection by `delta` with the detail pane open, and open the message it lands on
/// in the same tab (when its page is not held yet, the page's arrival opens it).
pub(super) fn step_message(app: &mut App, delta: i64) -> Vec<Command> {
    let Some(tab) = app.detail.as_ref().map(|d| d.tab) else {
        return Vec::new();
    };
    let total = app.messages.total as usize;
    if total == 0 {
        return Vec::new();
    }
    let to = (app.messages.selected as i64)
        .saturating_add(delta)
        .clamp(0, total as i64 - 1) as usize;
    if to == app.messages.selected {
        return Vec::new();
    }
    app.messages.selected = to;
    let mut out = ensure_page(app);
    out.extend(follow_selection(app, tab));
    out
}

/// Open the selected message in `tab` if its row is held; otherwise remember to when its page
/// arrives.
pub(super) fn follow_selection(app: &mut App, tab: Tab) -> Vec<Command> {
    let Some(id) = app.selected_message().map(|r| r.id) else {
        app.messages.follow = Some(tab);
        return Vec::new();
    };
    app.messages.follow = None;
    if app.detail.as_ref().is_some_and(|d| d.id == id) {
        return Vec::new();
    }
    let mut out = open_detail(app, id, false);
    if let Some(d) = app.detail.as_mut() {
        d.tab = tab;
    }
    match tab {
        Tab::Recipients => out.extend(preview(app)),
        Tab::Forensics => out.extend(super::pending::load_evidence(app)),
        _ => {}
    }
    out
}

/// Re-read what the view shows (`C-r`): the page and the open message, the audit trail, or
/// the open job's items. Also asked for when another process changes what is shown.
pub(super) fn refresh_view(app: &mut App) -> Vec<Command> {
    match app.view {
        View::Messages => {
            let mut out = refresh_page(app);
            if let Some(id) = app.detail.as_ref().map(|d| d.id) {
                out.extend(open_detail(app, id, true));
            }
            // Asked for by hand: the Forensics tab reads its copy again too.
            if let Some(d) = app.detail.as_mut().filter(|d| d.tab == Tab::Forensics) {
                d.evidence = None;
                out.extend(super::pending::load_evidence(app));
            }
            out
        }
        View::Audit => vec![app.load_audit()],
        View::Pending => vec![Command::LoadApprovals],
        View::Operations => match app.ops.open.as_ref().map(|o| o.job) {
            Some(job) => {
                let req = app.req();
                if let Some(open) = app.ops.open.as_mut() {
                    open.req = req;
                }
                vec![Command::LoadJobItems { req, job }]
            }
            None => Vec::new(),
        },
    }
}
