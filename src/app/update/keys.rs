//! Keys: where a key goes (a dialog, an input, the keymap), and what each key binding does
//! in each view.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::command_line::command_line_key;
use super::dialogs::{ask, confirm_key};
use super::navigation::{
    ensure_page, move_by, open_detail, page_len, refresh_view, select_tab, step_message, switch,
};
use super::retract::{
    ACTIONS, MAX_DEPTH, ask_retract, form_mut, on_recipients, preview, recipients_open,
};
use crate::app::keymap::KeyAction;
use crate::app::marks;
use crate::app::rows::shown;
use crate::app::{
    App, Choices, Command, Focus, OpenJob, Overlay, Pending, QueryError, Tab, View, input_text,
    single_line,
};

pub(super) fn on_key(app: &mut App, key: KeyEvent) -> Vec<Command> {
    app.flash = None;
    if let Overlay::Confirm(_) = app.overlay {
        return confirm_key(app, key);
    }
    if let Overlay::Approval(_) = app.overlay {
        return super::pending::dialog_key(app, key);
    }
    if let Overlay::Help { scroll } = app.overlay {
        return help_key(app, scroll, key);
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
    match app.keymap.action_in(app.view, &key) {
        Some(action) => act(app, action),
        None => Vec::new(),
    }
}

/// Keys on the help: the moving keys scroll it, any other key closes it.
fn help_key(app: &mut App, scroll: usize, key: KeyEvent) -> Vec<Command> {
    let max = crate::app::help::help_scroll_max(app);
    let page = usize::from(app.height.saturating_sub(2)).max(1);
    let scroll = match app.keymap.action_in(app.view, &key) {
        Some(KeyAction::Down) => scroll + 1,
        Some(KeyAction::Up) => scroll.saturating_sub(1),
        Some(KeyAction::PageDown) => scroll + page,
        Some(KeyAction::PageUp) => scroll.saturating_sub(page),
        Some(KeyAction::Top) => 0,
        Some(KeyAction::Bottom) => max,
        _ => {
            app.overlay = Overlay::None;
            return Vec::new();
        }
    };
    app.overlay = Overlay::Help {
        scroll: scroll.min(max),
    };
    Vec::new()
}

/// Keys typed into the search bar (Messages) or the filter (Audit).
pub(super) fn search_key(app: &mut App, key: KeyEvent) -> Vec<Command> {
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
                return super::lists::apply_audit_filter(app, text);
            }
            if app.view == View::Operations {
                return super::lists::filter_items(app, text);
            }
            match crate::query::parse(&text, app.now) {
                Ok(_) => {
                    app.search_error = None;
                    app.detail = None;
                    vec![app.run_search(text)]
                }
                Err(e) => {
                    app.search_error = Some(QueryError {
                        column: e.column,
                        message: shown(&e.message),
                    });
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
                    .map(|e| QueryError {
                        column: e.column,
                        message: shown(&e.message),
                    });
            }
            Vec::new()
        }
    }
}

pub(super) fn act(app: &mut App, action: KeyAction) -> Vec<Command> {
    match action {
        KeyAction::ViewMessages => switch(app, View::Messages),
        KeyAction::ViewOperations => switch(app, View::Operations),
        KeyAction::ViewAudit => switch(app, View::Audit),
        KeyAction::ViewPending => switch(app, View::Pending),
        KeyAction::Approve => super::pending::ask_answer(app, true),
        KeyAction::Reject => super::pending::ask_answer(app, false),
        KeyAction::NextView => {
            let next = match app.view {
                View::Messages => View::Operations,
                View::Operations => View::Audit,
                View::Audit => View::Pending,
                View::Pending => View::Messages,
            };
            switch(app, next)
        }
        KeyAction::Search => {
            let text = match (app.view, &app.ops.open) {
                (View::Audit, _) => app.audit.filter.clone(),
                (View::Messages, _) => app.messages.query.clone(),
                // `/` filters the open job's items; the jobs list has nothing to search.
                (View::Operations, Some(open)) => open.filter.clone(),
                (View::Operations | View::Pending, _) => return Vec::new(),
            };
            app.search = single_line(&text);
            app.focus = Focus::Search;
            Vec::new()
        }
        KeyAction::Down => move_by(app, 1),
        KeyAction::Up => move_by(app, -1),
        KeyAction::PageDown => {
            let n = page_len(app) as i64;
            move_by(app, n)
        }
        KeyAction::PageUp => {
            let n = page_len(app) as i64;
            move_by(app, -n)
        }
        KeyAction::Top => move_by(app, i64::MIN / 2),
        KeyAction::Bottom => move_by(app, i64::MAX / 2),
        KeyAction::Open => match app.view {
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
                app.ops.open = Some(OpenJob::new(job, req));
                vec![Command::LoadJobItems { req, job }]
            }
            View::Pending => {
                app.pending.facts_open = app.pending.selected_row().is_some();
                Vec::new()
            }
            View::Audit => {
                app.audit.open = app.audit.selected_row().is_some();
                Vec::new()
            }
            _ => Vec::new(),
        },
        KeyAction::NextMessage | KeyAction::PrevMessage => {
            if app.view != View::Messages || app.detail.is_none() {
                return Vec::new();
            }
            step_message(
                app,
                if action == KeyAction::NextMessage {
                    1
                } else {
                    -1
                },
            )
        }
        KeyAction::Refresh => refresh_view(app),
        KeyAction::PrevTab | KeyAction::NextTab => {
            let Some(d) = app.detail.as_ref() else {
                return Vec::new();
            };
            let i = Tab::ALL.iter().position(|t| *t == d.tab).unwrap_or(0);
            let n = Tab::ALL.len();
            let i = if action == KeyAction::NextTab {
                (i + 1) % n
            } else {
                (i + n - 1) % n
            };
            select_tab(app, Tab::ALL[i])
        }
        KeyAction::RetractTab if marks::on_list(app) && !app.marks.rows.is_empty() => {
            marks::plan(app)
        }
        KeyAction::RetractTab => {
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
        KeyAction::Toggle if marks::on_list(app) => {
            marks::toggle(app);
            move_by(app, 1)
        }
        KeyAction::Toggle => on_recipients(app, |f| {
            if let Some(r) = f.recipients.get_mut(f.cursor).filter(|r| !r.external) {
                r.included = !r.included;
            }
        }),
        KeyAction::ToggleAll => on_recipients(app, |f| {
            let all = f
                .recipients
                .iter()
                .filter(|r| !r.external)
                .all(|r| r.included);
            for r in f.recipients.iter_mut().filter(|r| !r.external) {
                r.included = !all;
            }
        }),
        KeyAction::DepthUp => on_recipients(app, |f| f.depth = (f.depth + 1).min(MAX_DEPTH)),
        KeyAction::DepthDown => on_recipients(app, |f| f.depth = f.depth.saturating_sub(1)),
        KeyAction::CycleAction => on_recipients(app, |f| {
            let i = ACTIONS.iter().position(|a| *a == f.action).unwrap_or(0);
            f.action = ACTIONS[(i + 1) % ACTIONS.len()];
        }),
        KeyAction::EditReason => {
            if recipients_open(app) {
                app.focus = Focus::Reason;
            }
            Vec::new()
        }
        KeyAction::Run => {
            if !recipients_open(app) {
                app.flash = Some("open the retract tab first (r)".into());
                return Vec::new();
            }
            ask_retract(app);
            Vec::new()
        }
        KeyAction::Restore => super::super::restore::ask_restore(app),
        KeyAction::ReportFalseNegative => {
            super::super::report::ask(app, crate::api::ReportKind::FalseNegative);
            Vec::new()
        }
        KeyAction::ReportFalsePositive => {
            super::super::report::ask(app, crate::api::ReportKind::FalsePositive);
            Vec::new()
        }
        KeyAction::CancelJob => {
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
            let choices = Choices {
                back: "Keep running",
                act: "Cancel job",
            };
            let pending = Pending::CancelJob { job: job.id };
            super::dialogs::ask_choosing(app, "Cancel job", lines, pending, choices);
            Vec::new()
        }
        KeyAction::CommandLine => {
            app.command_line = single_line("");
            app.focus = Focus::CommandLine;
            Vec::new()
        }
        KeyAction::Help => {
            app.overlay = Overlay::Help { scroll: 0 };
            Vec::new()
        }
        KeyAction::Back if marks::on_list(app) && marks::clear(app) => Vec::new(),
        KeyAction::Back => {
            if app.view == View::Operations && app.ops.open.is_some() {
                app.ops.open = None;
            } else if app.view == View::Pending {
                app.pending.facts_open = false;
            } else if app.view == View::Audit {
                app.audit.open = false;
            } else if app.detail.is_some() && app.view == View::Messages {
                app.detail = None;
                app.focus = Focus::List;
                return ensure_page(app);
            }
            Vec::new()
        }
        KeyAction::Quit => {
            let Some(lines) = super::dialogs::quit_lines(app) else {
                app.quit = true;
                return vec![Command::Quit];
            };
            ask(app, "Quit", lines, Pending::Quit);
            Vec::new()
        }
    }
}
