//! `update(state, event) -> commands`: the only place the console's state changes. Pure: no
//! I/O, no clock, no awaits; engine and store work is asked for with [`Command`]s.

mod mouse;

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::cmdline::{self, Cmd};
use super::keymap::Action;
use super::layout;
use super::rows::{AuditRow, ItemRow, JobRow, MessageRow, RecipientRow, shown};
use super::{
    App, Command, Confirm, Detail, DetailData, Event, Focus, Overlay, Pending, Preview,
    RetractForm, RetractSpec, Tab, View, input_text, single_line,
};
use crate::engine::SweepRequest;
use crate::model::Action as MailAction;
use crate::store::PageAnchor;

/// The actions `A` cycles through, mildest first.
const ACTIONS: [MailAction; 5] = [
    MailAction::MoveToJunk,
    MailAction::Trash,
    MailAction::SoftDelete,
    MailAction::Quarantine,
    MailAction::HardDelete,
];

/// Deepest conversation depth the selector offers.
const MAX_DEPTH: u32 = 5;

/// Apply one event; return the work it asks for. Sets `app.dirty` when the screen may change.
pub fn update(app: &mut App, event: Event) -> Vec<Command> {
    match event {
        Event::Key(key) => {
            if key.kind != KeyEventKind::Press {
                return Vec::new();
            }
            app.dirty = true;
            on_key(app, key)
        }
        Event::Scroll(rows) => {
            // The wheel moves what the arrow keys move, and only where they would.
            let idle = matches!(app.overlay, Overlay::None)
                && matches!(app.focus, Focus::List | Focus::Detail);
            if !idle {
                return Vec::new();
            }
            app.dirty = true;
            move_by(app, rows)
        }
        Event::Click(at) => mouse::click(app, at),
        Event::Resize(w, h) => {
            app.width = w;
            app.height = h;
            app.dirty = true;
            ensure_page(app)
        }
        Event::Page {
            req,
            offset,
            total,
            rows,
        } => {
            if req != app.messages.req {
                return Vec::new(); // stale: a newer search or page was asked for
            }
            let m = &mut app.messages;
            m.loading = false;
            if let Some(total) = total {
                m.total = total;
            }
            m.page_offset = offset;
            m.rows = rows.iter().map(MessageRow::of).collect();
            if m.selected >= m.total as usize {
                m.selected = (m.total as usize).saturating_sub(1);
            }
            app.dirty = true;
            ensure_page(app)
        }
        Event::SearchFailed { req, error } => {
            if req == app.messages.req {
                app.messages.loading = false;
                app.flash = Some(format!("search failed: {}", shown(&error)));
                app.dirty = true;
            }
            Vec::new()
        }
        Event::Detail { req, result } => {
            let Some(detail) = app.detail.as_mut().filter(|d| d.req == req) else {
                return Vec::new();
            };
            app.dirty = true;
            match result {
                Ok(reply) => {
                    let recipients: Vec<RecipientRow> = reply
                        .detail
                        .deliveries
                        .iter()
                        .map(RecipientRow::of)
                        .collect();
                    let m = &reply.detail.message;
                    detail.loaded = Some(DetailData {
                        row: MessageRow::of(m),
                        message_id: shown(&m.message_id),
                        tenant: shown(&m.tenant),
                        size: m.size,
                        conversation: reply
                            .conversation
                            .iter()
                            .map(|c| (c.depth, shown(&c.message.from), shown(&c.message.subject)))
                            .collect(),
                        headers: reply
                            .headers
                            .iter()
                            .map(|(k, v)| (shown(k), shown(v)))
                            .collect(),
                    });
                    let mut reason = single_line("");
                    reason.set_placeholder_text("reason or ticket (e to edit)");
                    let mut form = RetractForm {
                        recipients,
                        cursor: 0,
                        top: 0,
                        action: MailAction::MoveToJunk,
                        depth: 0,
                        reason,
                        preview: None,
                        preview_req: 0,
                    };
                    // A reload of the same message (a job finished) refreshes states and
                    // folders but keeps what the analyst chose.
                    if let Some(kept) = detail.form.take() {
                        keep_choices(&mut form, kept);
                    }
                    detail.form = Some(form);
                    if detail.tab == Tab::Recipients {
                        return preview(app);
                    }
                }
                Err(e) => {
                    app.flash = Some(shown(&e));
                    app.detail = None;
                    app.focus = Focus::List;
                }
            }
            Vec::new()
        }
        Event::Preview { req, result } => {
            if let Some(form) = form_mut(app).filter(|f| f.preview_req == req) {
                form.preview = Some(result.map_err(|e| shown(&e)).map(|mut p| {
                    p.notes = p.notes.iter().map(|n| shown(n)).collect();
                    p
                }));
                app.dirty = true;
            }
            Vec::new()
        }
        Event::SweepPlanned { req, result } => {
            match app.sweep.take() {
                Some((awaited, request)) if awaited == req => {
                    app.dirty = true;
                    app.flash = None;
                    match result {
                        Ok(found) => ask_sweep(app, request, found),
                        Err(e) => app.flash = Some(format!("sweep: {}", shown(&e))),
                    }
                }
                other => app.sweep = other, // stale: a newer sweep was asked for
            }
            Vec::new()
        }
        Event::Jobs { jobs, at } => {
            app.ops.jobs = jobs.iter().map(JobRow::of).collect();
            app.ops.sampled_at = Some(at);
            app.ops.selected = app.ops.selected.min(app.ops.jobs.len().saturating_sub(1));
            app.ops.top = layout::list_offset(
                app.ops.top,
                app.ops.selected,
                app.jobs_visible(),
                app.ops.jobs.len(),
            );
            app.dirty = true;
            // The log table's statuses and the audit change as jobs progress; only the view
            // on screen is re-read (switching views reads the other).
            let mut out = Vec::new();
            match app.view {
                View::Messages => out.extend(refresh_page(app)),
                View::Audit => out.push(app.load_audit()),
                View::Operations => {}
            }
            if let Some((job, _, _)) = app.ops.open {
                let req = app.req();
                if let Some(open) = app.ops.open.as_mut() {
                    open.1 = req;
                }
                out.push(Command::LoadJobItems { req, job });
            }
            out
        }
        Event::JobItems { req, job, items } => {
            if let Some(open) = app.ops.open.as_mut().filter(|o| o.0 == job && o.1 == req) {
                open.2 = items.iter().map(ItemRow::of).collect();
                app.dirty = true;
            }
            Vec::new()
        }
        Event::Audit {
            req,
            entries,
            verdict,
        } => {
            if req == app.audit.req {
                // Newest first: the analyst looks for what just happened.
                app.audit.rows = entries.iter().rev().map(AuditRow::of).collect();
                app.audit.verdict = Some(verdict);
                // The window of records moved: keep the selection on a record shown.
                let shown = app.audit.shown();
                app.audit.selected = app.audit.selected.min(shown.saturating_sub(1));
                app.dirty = true;
            }
            Vec::new()
        }
        Event::Submitted(result) => {
            app.dirty = true;
            app.submitting = app.submitting.saturating_sub(1);
            match result {
                Ok(job) => {
                    app.running.insert(job);
                    app.flash = Some(format!("job {job} submitted; running"));
                }
                Err(e) => app.flash = Some(shown(&e)),
            }
            Vec::new()
        }
        Event::RestorePlanned { req, result } => super::restore::restore_planned(app, req, result),
        Event::Resumed(jobs) => {
            let list: Vec<String> = jobs.iter().map(i64::to_string).collect();
            app.running.extend(jobs);
            app.flash = Some(format!(
                "resuming job(s) {} left unfinished by an engine that stopped",
                list.join(", ")
            ));
            app.dirty = true;
            Vec::new()
        }
        Event::JobFinished(job) => {
            app.running.remove(&job);
            app.flash = Some(format!("job {job} finished"));
            app.dirty = true;
            // The open message's recipients changed state.
            let mut out = refresh_page(app);
            if let Some(id) = app.detail.as_ref().map(|d| d.id) {
                out.extend(open_detail(app, id, true));
            }
            out
        }
        Event::Fatal(_) => Vec::new(),
        Event::Notice(text) => {
            app.flash = Some(shown(&text));
            app.dirty = true;
            Vec::new()
        }
    }
}

impl App {
    /// Run a search from the first row.
    pub(super) fn run_search(&mut self, query: String) -> Command {
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

    pub(super) fn load_audit(&mut self) -> Command {
        let req = self.req();
        self.audit.req = req;
        Command::LoadAudit { req }
    }
}

/// Ask for the page around the visible rows when it is not the one held.
fn ensure_page(app: &mut App) -> Vec<Command> {
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
fn fetch_page(app: &mut App, count: bool) -> Vec<Command> {
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
fn refresh_page(app: &mut App) -> Vec<Command> {
    if app.messages.total == 0 && app.messages.rows.is_empty() {
        return Vec::new();
    }
    fetch_page(app, true)
}

fn form_mut(app: &mut App) -> Option<&mut RetractForm> {
    app.detail.as_mut().and_then(|d| d.form.as_mut())
}

fn on_key(app: &mut App, key: KeyEvent) -> Vec<Command> {
    app.flash = None;
    if let Overlay::Confirm(_) = app.overlay {
        return confirm_key(app, key);
    }
    if let Overlay::Help = app.overlay {
        app.overlay = Overlay::None;
        return Vec::new();
    }
    match app.focus {
        Focus::Search => return search_key(app, key),
        Focus::CommandLine => return command_line_key(app, key),
        Focus::Reason => {
            if matches!(key.code, KeyCode::Enter | KeyCode::Esc) {
                app.focus = Focus::Detail;
                return preview(app);
            }
            if let Some(form) = form_mut(app) {
                form.reason.input(key);
            }
            return Vec::new();
        }
        Focus::List | Focus::Detail => {}
    }
    match app.keymap.action(&key) {
        Some(action) => act(app, action),
        None => Vec::new(),
    }
}

/// Keys typed into the search bar (Messages) or the filter (Audit).
fn search_key(app: &mut App, key: KeyEvent) -> Vec<Command> {
    match key.code {
        KeyCode::Esc => {
            app.focus = Focus::List;
            app.search_error = None;
            Vec::new()
        }
        KeyCode::Enter => {
            let text = input_text(&app.search);
            app.focus = Focus::List;
            if app.view == View::Audit {
                app.audit.filter = text;
                app.audit.selected = 0;
                app.audit.top = 0;
                return Vec::new();
            }
            match crate::query::parse(&text, app.now) {
                Ok(_) => {
                    app.search_error = None;
                    app.detail = None;
                    vec![app.run_search(text)]
                }
                Err(e) => {
                    app.search_error = Some((e.column, shown(&e.message)));
                    app.focus = Focus::Search;
                    Vec::new()
                }
            }
        }
        // Ctrl-U clears the line, as in readline (the text area would undo instead).
        KeyCode::Char('u') if key.modifiers.contains(KeyModifiers::CONTROL) => {
            app.search = single_line("");
            app.search_error = None;
            Vec::new()
        }
        _ => {
            app.search.input(key);
            if app.view == View::Messages {
                // Inline marking as the query is typed; the search runs on Enter.
                let text = input_text(&app.search);
                app.search_error = crate::query::parse(&text, app.now)
                    .err()
                    .map(|e| (e.column, shown(&e.message)));
            }
            Vec::new()
        }
    }
}

fn command_line_key(app: &mut App, key: KeyEvent) -> Vec<Command> {
    match key.code {
        KeyCode::Esc => {
            app.focus = Focus::List;
            Vec::new()
        }
        KeyCode::Tab => {
            let line = input_text(&app.command_line);
            if let Some(done) = cmdline::complete(&line, &app.tenants) {
                app.command_line = single_line(&done);
            }
            Vec::new()
        }
        KeyCode::Enter => {
            let line = input_text(&app.command_line);
            app.command_line = single_line("");
            app.focus = if app.detail.is_some() && app.view == View::Messages {
                Focus::Detail
            } else {
                Focus::List
            };
            match cmdline::parse(&line) {
                Ok(cmd) => run_cmd(app, cmd),
                Err(e) => {
                    app.flash = Some(shown(&e));
                    Vec::new()
                }
            }
        }
        _ => {
            app.command_line.input(key);
            Vec::new()
        }
    }
}

fn run_cmd(app: &mut App, cmd: Cmd) -> Vec<Command> {
    match cmd {
        Cmd::Quit => act(app, Action::Quit),
        Cmd::Help => act(app, Action::Help),
        Cmd::Messages => act(app, Action::ViewMessages),
        Cmd::Operations => act(app, Action::ViewOperations),
        Cmd::Audit => act(app, Action::ViewAudit),
        Cmd::Retract => {
            if app
                .detail
                .as_ref()
                .is_some_and(|d| d.tab == Tab::Recipients)
            {
                act(app, Action::Run)
            } else {
                act(app, Action::RetractTab)
            }
        }
        Cmd::Restore => act(app, Action::Restore),
        Cmd::Cancel => act(app, Action::CancelJob),
        Cmd::Depth(d) => with_form(app, |f| f.depth = d.min(MAX_DEPTH)),
        Cmd::SetAction(a) => with_form(app, |f| f.action = a),
        Cmd::Reason(r) => with_form(app, |f| f.reason = single_line(&r)),
        Cmd::Search(q) => {
            app.search = single_line(&q);
            app.view = View::Messages;
            search_key(app, KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE))
        }
        Cmd::Tenant(tenant) => scope_to_tenant(app, tenant),
        Cmd::Sweep(terms) => match sweep_request(app, terms) {
            Ok(request) => {
                let req = app.req();
                app.flash = Some(format!(
                    "sweep: reading every mailbox of tenant {} ...",
                    shown(&request.tenant)
                ));
                app.sweep = Some((req, request.clone()));
                vec![Command::PlanSweep { req, request }]
            }
            Err(e) => {
                app.flash = Some(shown(&e));
                Vec::new()
            }
        },
    }
}

/// `:tenant NAME` narrows the log to one tenant; `:tenant` alone shows them all again.
fn scope_to_tenant(app: &mut App, tenant: Option<String>) -> Vec<Command> {
    if let Some(t) = &tenant
        && !app.tenants.is_empty()
        && !app.tenants.contains(t)
    {
        app.flash = Some(format!(
            "no tenant '{}' (tenants: {})",
            shown(t),
            app.tenants.join(" ")
        ));
        return Vec::new();
    }
    app.flash = Some(match &tenant {
        Some(t) => format!("tenant {} only (:tenant alone shows all)", shown(t)),
        None => "all tenants".into(),
    });
    app.tenant = tenant;
    app.view = View::Messages;
    app.detail = None;
    app.focus = Focus::List;
    let query = app.messages.query.clone();
    vec![app.run_search(query)]
}

/// The sweep a `:sweep` line asks for. Bare, it sweeps the open message's Message-ID in its
/// tenant; the action and reason default to the retract tab's.
fn sweep_request(app: &App, terms: cmdline::SweepTerms) -> Result<SweepRequest, String> {
    let open = app.detail.as_ref().and_then(|d| d.loaded.as_ref());
    let form = app.detail.as_ref().and_then(|d| d.form.as_ref());
    let mut message_ids: Vec<String> = terms.message_id.iter().cloned().collect();
    let mut tenant = terms.tenant.clone().or_else(|| app.tenant.clone());
    if terms.names_no_mail() {
        let Some(open) = open else {
            return Err(
                ":sweep needs a message open (Enter), or terms: from: subject: msgid: since:"
                    .into(),
            );
        };
        message_ids.push(open.message_id.clone());
        tenant = tenant.or_else(|| Some(open.tenant.clone()));
    }
    let tenant = match tenant {
        Some(t) => t,
        None => match app.tenants.as_slice() {
            [only] => only.clone(),
            _ => {
                return Err(format!(
                    ":sweep needs tenant:NAME (tenants: {})",
                    app.tenants.join(" ")
                ));
            }
        },
    };
    if !app.tenants.is_empty() && !app.tenants.contains(&tenant) {
        return Err(format!(
            "no tenant '{tenant}' (tenants: {})",
            app.tenants.join(" ")
        ));
    }
    let since = match &terms.since {
        Some(text) => Some(
            crate::model::when::parse_when(text, app.now)
                .map_err(|e| format!(":sweep since:{text}: {e}"))?,
        ),
        None => None,
    };
    let reason = form
        .map(|f| input_text(&f.reason))
        .filter(|r| !r.trim().is_empty());
    Ok(SweepRequest {
        tenant,
        message_ids,
        from: terms.from,
        subject: terms.subject,
        since,
        all: terms.all,
        max_items: terms.max_items,
        action: Some(
            terms
                .action
                .or(form.map(|f| f.action))
                .unwrap_or(MailAction::MoveToJunk),
        ),
        reason,
    })
}

/// The sweep's counts are in: ask before acting, as for a retraction.
fn ask_sweep(app: &mut App, request: SweepRequest, found: Preview) {
    let action = request.action.unwrap_or(MailAction::MoveToJunk);
    if found.actionable == 0 {
        app.flash = Some(format!(
            "sweep of tenant {}: nothing found{}",
            shown(&request.tenant),
            found
                .notes
                .iter()
                .map(|n| format!("; {}", shown(n)))
                .collect::<String>()
        ));
        return;
    }
    let mut looked_for: Vec<String> = request
        .message_ids
        .iter()
        .map(|m| format!("Message-ID {m}"))
        .collect();
    looked_for.extend(request.from.iter().map(|f| format!("from {f}")));
    looked_for.extend(request.subject.iter().map(|s| format!("subject '{s}'")));
    looked_for.extend(request.since.iter().map(|s| format!("since {s}")));
    let mut lines = vec![
        format!(
            "{action} in every mailbox of tenant {}",
            shown(&request.tenant)
        ),
        format!("matching {}", shown(&looked_for.join(", "))),
        format!(
            "{} copies in {} mailboxes will be acted on",
            found.actionable, found.mailboxes
        ),
    ];
    lines.extend(sweep_copy_lines(&found.copies));
    lines.extend(found.notes.iter().map(|n| shown(n)));
    lines.push(match &request.reason {
        Some(r) => format!("reason: {}", shown(r)),
        None => "no reason given (:reason TEXT with a message open)".into(),
    });
    let hard = action == MailAction::HardDelete;
    if hard {
        lines.push("This cannot be undone. Type delete and press Enter.".into());
    }
    ask(
        app,
        &format!("Sweep ({action})"),
        lines,
        Pending::Sweep(request),
    );
    if hard && let Overlay::Confirm(c) = &mut app.overlay {
        c.word = Some(single_line(""));
    }
}

/// Copies a sweep's dialog lists by name before the rest is counted ("and N more").
const SWEEP_COPIES_LISTED: usize = 8;
/// Widest a listed copy may be: one line of the 70-column dialog.
const SWEEP_COPY_WIDTH: usize = 66;

/// The first copies a sweep would act on, one line each (mailbox, folder, Message-ID), so
/// the analyst sees what matched, not only how much.
fn sweep_copy_lines(copies: &[crate::app::PlannedCopy]) -> Vec<String> {
    let mut lines: Vec<String> = copies
        .iter()
        .take(SWEEP_COPIES_LISTED)
        .map(|c| {
            let line = shown(&format!(
                "  {}  {}  {}",
                c.mailbox,
                c.folder.as_deref().unwrap_or("?"),
                c.message_id
            ));
            if line.chars().count() > SWEEP_COPY_WIDTH {
                let cut: String = line.chars().take(SWEEP_COPY_WIDTH - 1).collect();
                format!("{cut}…")
            } else {
                line
            }
        })
        .collect();
    if copies.len() > SWEEP_COPIES_LISTED {
        lines.push(format!("  and {} more", copies.len() - SWEEP_COPIES_LISTED));
    }
    lines
}

/// Carry the analyst's choices (included recipients, action, depth, reason, cursor) from a
/// form into its refreshed successor.
fn keep_choices(form: &mut RetractForm, kept: RetractForm) {
    let included: std::collections::HashMap<&str, bool> = kept
        .recipients
        .iter()
        .map(|r| (r.address.as_str(), r.included))
        .collect();
    for r in form.recipients.iter_mut().filter(|r| !r.external) {
        if let Some(choice) = included.get(r.address.as_str()) {
            r.included = *choice;
        }
    }
    form.action = kept.action;
    form.depth = kept.depth;
    form.reason = kept.reason;
    form.cursor = kept.cursor.min(form.recipients.len().saturating_sub(1));
    form.top = kept.top;
}

/// Change the retract form (when a message is open) and refresh the preview.
fn with_form(app: &mut App, change: impl FnOnce(&mut RetractForm)) -> Vec<Command> {
    match form_mut(app) {
        Some(form) => {
            change(form);
            preview(app)
        }
        None => {
            app.flash = Some("open a message first (Enter on a row)".into());
            Vec::new()
        }
    }
}

/// Ask the planner for the live counts of the retract tab.
fn preview(app: &mut App) -> Vec<Command> {
    let Some(spec) = retract_spec(app) else {
        return Vec::new();
    };
    let req = app.req();
    if let Some(form) = form_mut(app) {
        form.preview_req = req;
    }
    vec![Command::Preview { req, spec }]
}

fn retract_spec(app: &App) -> Option<RetractSpec> {
    let detail = app.detail.as_ref()?;
    let form = detail.form.as_ref()?;
    let actionable = |r: &&super::RecipientRow| !r.external;
    let recipients: Vec<String> = form
        .recipients
        .iter()
        .filter(actionable)
        .filter(|r| r.included)
        .map(|r| r.address.clone())
        .collect();
    let exclude: Vec<String> = form
        .recipients
        .iter()
        .filter(actionable)
        .filter(|r| !r.included)
        .map(|r| r.address.clone())
        .collect();
    let reason = input_text(&form.reason);
    Some(RetractSpec {
        message: detail.id,
        recipients,
        exclude,
        depth: form.depth,
        action: form.action,
        reason: (!reason.trim().is_empty()).then(|| reason.trim().to_string()),
    })
}

fn open_detail(app: &mut App, id: i64, keep_tab: bool) -> Vec<Command> {
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

fn act(app: &mut App, action: Action) -> Vec<Command> {
    match action {
        Action::ViewMessages => switch(app, View::Messages),
        Action::ViewOperations => switch(app, View::Operations),
        Action::ViewAudit => switch(app, View::Audit),
        Action::NextView => {
            let next = match app.view {
                View::Messages => View::Operations,
                View::Operations => View::Audit,
                View::Audit => View::Messages,
            };
            switch(app, next)
        }
        Action::Search => {
            if app.view == View::Operations {
                return Vec::new();
            }
            let text = if app.view == View::Audit {
                app.audit.filter.clone()
            } else {
                app.messages.query.clone()
            };
            app.search = single_line(&text);
            app.focus = Focus::Search;
            Vec::new()
        }
        Action::Down => move_by(app, 1),
        Action::Up => move_by(app, -1),
        Action::PageDown => {
            let n = page_len(app) as i64;
            move_by(app, n)
        }
        Action::PageUp => {
            let n = page_len(app) as i64;
            move_by(app, -n)
        }
        Action::Top => move_by(app, i64::MIN / 2),
        Action::Bottom => move_by(app, i64::MAX / 2),
        Action::Open => match app.view {
            View::Messages if app.focus == Focus::List => {
                let Some(id) = app.selected_message().map(|r| r.id) else {
                    return Vec::new();
                };
                app.focus = Focus::Detail;
                open_detail(app, id, false)
            }
            View::Operations => {
                let Some(job) = app.ops.jobs.get(app.ops.selected).map(|j| j.id) else {
                    return Vec::new();
                };
                let req = app.req();
                app.ops.open = Some((job, req, Vec::new()));
                app.ops.item_scroll = 0;
                vec![Command::LoadJobItems { req, job }]
            }
            _ => Vec::new(),
        },
        Action::PrevTab | Action::NextTab => {
            let Some(d) = app.detail.as_ref() else {
                return Vec::new();
            };
            let i = Tab::ALL.iter().position(|t| *t == d.tab).unwrap_or(0);
            let n = Tab::ALL.len();
            let i = if action == Action::NextTab {
                (i + 1) % n
            } else {
                (i + n - 1) % n
            };
            select_tab(app, Tab::ALL[i])
        }
        Action::RetractTab => {
            if app.view != View::Messages {
                return Vec::new();
            }
            let mut out = Vec::new();
            if app.detail.is_none() {
                let Some(id) = app.selected_message().map(|r| r.id) else {
                    return Vec::new();
                };
                out = open_detail(app, id, false);
            }
            if let Some(d) = app.detail.as_mut() {
                d.tab = Tab::Recipients;
            }
            app.focus = Focus::Detail;
            out.extend(preview(app));
            out
        }
        Action::Toggle => on_recipients(app, |f| {
            if let Some(r) = f.recipients.get_mut(f.cursor).filter(|r| !r.external) {
                r.included = !r.included;
            }
        }),
        Action::ToggleAll => on_recipients(app, |f| {
            let all = f
                .recipients
                .iter()
                .filter(|r| !r.external)
                .all(|r| r.included);
            for r in f.recipients.iter_mut().filter(|r| !r.external) {
                r.included = !all;
            }
        }),
        Action::DepthUp => on_recipients(app, |f| f.depth = (f.depth + 1).min(MAX_DEPTH)),
        Action::DepthDown => on_recipients(app, |f| f.depth = f.depth.saturating_sub(1)),
        Action::CycleAction => on_recipients(app, |f| {
            let i = ACTIONS.iter().position(|a| *a == f.action).unwrap_or(0);
            f.action = ACTIONS[(i + 1) % ACTIONS.len()];
        }),
        Action::EditReason => {
            if recipients_open(app) {
                app.focus = Focus::Reason;
            }
            Vec::new()
        }
        Action::Run => {
            if !recipients_open(app) {
                app.flash = Some("open the retract tab first (r)".into());
                return Vec::new();
            }
            ask_retract(app);
            Vec::new()
        }
        Action::Restore => super::restore::ask_restore(app),
        Action::CancelJob => {
            if app.view != View::Operations {
                return Vec::new();
            }
            let Some(job) = app.ops.jobs.get(app.ops.selected) else {
                return Vec::new();
            };
            if job.finished {
                app.flash = Some(format!("job {} has already finished", job.id));
                return Vec::new();
            }
            let lines = vec![
                format!("Cancel job {} ({} {}).", job.id, job.kind, job.action),
                format!(
                    "{} of {} items are done and stay done; the rest end cancelled.",
                    job.done(),
                    job.matched
                ),
            ];
            ask(app, "Cancel job", lines, Pending::CancelJob { job: job.id });
            Vec::new()
        }
        Action::CommandLine => {
            app.command_line = single_line("");
            app.focus = Focus::CommandLine;
            Vec::new()
        }
        Action::Help => {
            app.overlay = Overlay::Help;
            Vec::new()
        }
        Action::Back => {
            if app.view == View::Operations && app.ops.open.is_some() {
                app.ops.open = None;
            } else if app.detail.is_some() && app.view == View::Messages {
                app.detail = None;
                app.focus = Focus::List;
                return ensure_page(app);
            }
            Vec::new()
        }
        Action::Quit => {
            if app.running.is_empty() && app.submitting == 0 {
                app.quit = true;
                return vec![Command::Quit];
            }
            let mut lines = Vec::new();
            if app.submitting > 0 {
                lines.push(format!(
                    "{} confirmed request(s) are still being planned and written.",
                    app.submitting
                ));
            }
            if !app.running.is_empty() {
                let jobs: Vec<String> = app.running.iter().map(|j| j.to_string()).collect();
                lines.push(format!(
                    "This console is running job(s) {}.",
                    jobs.join(", ")
                ));
            }
            lines.push(
                "Quitting stops them here; a job already written is resumed by the next engine \
                 (the console, `retractor worker`, a `--wait`)."
                    .into(),
            );
            ask(app, "Quit", lines, Pending::Quit);
            Vec::new()
        }
    }
}

/// Show a tab of the open message and give the pane focus; the retract tab refreshes its counts.
fn select_tab(app: &mut App, tab: Tab) -> Vec<Command> {
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

fn switch(app: &mut App, view: View) -> Vec<Command> {
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

fn recipients_open(app: &App) -> bool {
    app.view == View::Messages
        && app
            .detail
            .as_ref()
            .is_some_and(|d| d.tab == Tab::Recipients && d.form.is_some())
}

/// Change the retract form when the Recipients tab is open, then refresh the counts.
fn on_recipients(app: &mut App, change: impl FnOnce(&mut RetractForm)) -> Vec<Command> {
    if !recipients_open(app) {
        return Vec::new();
    }
    if let Some(form) = form_mut(app) {
        change(form);
    }
    preview(app)
}

fn page_len(app: &App) -> usize {
    match app.view {
        View::Messages => app.page_rows(),
        _ => usize::from(app.height.saturating_sub(8)).max(1),
    }
}

/// Move the cursor of whatever list has focus, clamped to its length.
fn move_by(app: &mut App, delta: i64) -> Vec<Command> {
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
            if let Some((_, _, items)) = &app.ops.open {
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

pub(super) fn ask(app: &mut App, title: &str, lines: Vec<String>, pending: Pending) {
    app.overlay = Overlay::Confirm(Box::new(Confirm {
        title: title.to_string(),
        lines,
        pending,
        ok_focused: false,
        word: None,
    }));
}

fn ask_retract(app: &mut App) {
    let Some(spec) = retract_spec(app) else {
        return;
    };
    let Some(detail) = app.detail.as_ref() else {
        return;
    };
    let subject = detail
        .loaded
        .as_ref()
        .map(|l| l.row.subject.clone())
        .unwrap_or_default();
    let preview = detail
        .form
        .as_ref()
        .and_then(|f| f.preview.clone())
        .and_then(Result::ok);
    if spec.recipients.is_empty() {
        app.flash = Some("no recipient is included (Space / a)".into());
        return;
    }
    let mut lines = vec![
        format!("{} '{}'", spec.action, subject),
        format!(
            "{} recipient(s) included, {} excluded, depth {}",
            spec.recipients.len(),
            spec.exclude.len(),
            spec.depth
        ),
    ];
    match &preview {
        Some(p) => lines.push(format!(
            "{} copies in {} mailboxes will be acted on",
            p.actionable, p.mailboxes
        )),
        None => lines.push("counts not known yet (the preview is still running)".into()),
    }
    lines.push(match &spec.reason {
        Some(r) => format!("reason: {}", shown(r)),
        None => "no reason given (e to add one)".into(),
    });
    let hard = spec.action == MailAction::HardDelete;
    if hard {
        lines.push("This cannot be undone. Type delete and press Enter.".into());
    }
    let title = format!("Retract ({})", spec.action);
    ask(app, &title, lines, Pending::Retract(spec));
    if hard && let Overlay::Confirm(c) = &mut app.overlay {
        c.word = Some(single_line(""));
    }
}

/// Keys in a confirmation dialog: Cancel has focus; `y` confirms (hard-delete: the typed word).
fn confirm_key(app: &mut App, key: KeyEvent) -> Vec<Command> {
    let Overlay::Confirm(confirm) = &mut app.overlay else {
        return Vec::new();
    };
    if let Some(word) = confirm.word.as_mut() {
        match key.code {
            KeyCode::Esc => app.overlay = Overlay::None,
            KeyCode::Enter => {
                if input_text(word) == "delete" {
                    return confirmed(app);
                }
                app.flash = Some("type the word delete to confirm, or Esc".into());
            }
            _ => {
                word.input(key);
            }
        }
        return Vec::new();
    }
    match key.code {
        KeyCode::Char('y') | KeyCode::Char('Y') => confirmed(app),
        KeyCode::Enter if confirm.ok_focused => confirmed(app),
        KeyCode::Tab | KeyCode::BackTab | KeyCode::Left | KeyCode::Right => {
            confirm.ok_focused = !confirm.ok_focused;
            Vec::new()
        }
        KeyCode::Enter | KeyCode::Esc | KeyCode::Char('n') | KeyCode::Char('q') => {
            app.overlay = Overlay::None;
            Vec::new()
        }
        _ => Vec::new(),
    }
}

fn confirmed(app: &mut App) -> Vec<Command> {
    let Overlay::Confirm(confirm) = std::mem::take(&mut app.overlay) else {
        return Vec::new();
    };
    match confirm.pending {
        Pending::Quit => {
            app.quit = true;
            vec![Command::Quit]
        }
        pending => {
            if matches!(
                pending,
                Pending::Retract(_) | Pending::RestoreMessage { .. }
            ) {
                app.flash = Some("submitting...".into());
            }
            // Each of these answers with `Submitted`; until then, quitting asks first.
            if !matches!(pending, Pending::CancelJob { .. }) {
                app.submitting += 1;
            }
            vec![Command::Submit(pending)]
        }
    }
}
