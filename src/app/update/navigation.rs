//! Moving around: switching views and tabs, opening a message, moving cursors, and asking for
//! the page of the log (or the audit) that is on screen.

use super::retract::preview;
use crate::app::layout;
use crate::app::{App, Command, Detail, Focus, OpenJob, Tab, View};
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
        Command::LoadAudit { req }
    }
}

/// Ask for the page around the visible rows when it is not the one held.
pub(super) fn ensure_page(app: &mut App) -> Vec<Command> {
    let page = app.page_rows();
    let m = &mut app.messages;
    // Keep the selection on screen.
    if m.selected < m.top {
        m.top = m.selected;
    } else if m.selected >= m.top + page {
        m.top = m.selected + 1 - page;
    }
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
    let (tab, scroll) = match (&app.detail, keep_tab) {
        (Some(d), true) if d.id == id => (d.tab, d.scroll),
        _ => (Tab::Summary, 0),
    };
    let keep_form = app
        .detail
        .as_mut()
        .filter(|d| keep_tab && d.id == id)
        .and_then(|d| d.form.take());
    app.detail = Some(Detail {
        id,
        req,
        loaded: None,
        tab,
        form: None,
        scroll,
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
    if tab == Tab::Recipients {
        return preview(app);
    }
    Vec::new()
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
                if let Some(d) = app.detail.as_mut() {
                    match (d.tab, d.form.as_mut()) {
                        (Tab::Recipients, Some(f)) => {
                            f.cursor = clamp(f.cursor, f.recipients.len());
                        }
                        _ => d.scroll = clamp(d.scroll, 10_000),
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
            if let Some(OpenJob { items, .. }) = &app.ops.open {
                app.ops.item_scroll = clamp(app.ops.item_scroll, items.len());
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
    }
}
