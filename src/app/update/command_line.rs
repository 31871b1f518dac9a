//! The `:` command line: editing and completing it, and running what it says.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::keys::{act, search_key};
use super::retract::{MAX_DEPTH, with_form};
use super::sweep::sweep_request;
use crate::app::cmdline::{self, Cmd};
use crate::app::keymap::KeyAction;
use crate::app::rows::shown;
use crate::app::{App, Awaited, Command, Focus, Tab, View, input_text, single_line};

pub(super) fn command_line_key(app: &mut App, key: KeyEvent) -> Vec<Command> {
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
            // A refused line stays open with its text, the error beside it, to be corrected.
            let refused = match cmdline::parse(&line) {
                Err(e) => Some(e),
                Ok(Cmd::Sweep(terms)) => sweep_request(app, terms).err(),
                Ok(_) => None,
            };
            if let Some(e) = refused {
                app.flash = Some(shown(&e));
                return Vec::new();
            }
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

pub(super) fn run_cmd(app: &mut App, cmd: Cmd) -> Vec<Command> {
    match cmd {
        Cmd::Quit => act(app, KeyAction::Quit),
        Cmd::Help => act(app, KeyAction::Help),
        Cmd::Messages => act(app, KeyAction::ViewMessages),
        Cmd::Operations => act(app, KeyAction::ViewOperations),
        Cmd::Audit => act(app, KeyAction::ViewAudit),
        Cmd::Retract => {
            if app
                .detail
                .as_ref()
                .is_some_and(|d| d.tab == Tab::Recipients)
            {
                act(app, KeyAction::Run)
            } else {
                act(app, KeyAction::RetractTab)
            }
        }
        Cmd::Restore => act(app, KeyAction::Restore),
        Cmd::Cancel => act(app, KeyAction::CancelJob),
        // With marks and no message open, these set how the marked messages are retracted.
        Cmd::Depth(d) if marking(app) => {
            app.marks.depth = d.min(MAX_DEPTH);
            marks_flash(app)
        }
        Cmd::SetAction(a) if marking(app) => {
            app.marks.action = a;
            marks_flash(app)
        }
        Cmd::Reason(r) if marking(app) => {
            app.marks.reason = Some(r.trim().to_string()).filter(|r| !r.is_empty());
            marks_flash(app)
        }
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
                app.sweep = Some(Awaited {
                    req,
                    request: request.clone(),
                });
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
pub(super) fn scope_to_tenant(app: &mut App, tenant: Option<String>) -> Vec<Command> {
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

/// Messages are marked and none is open: `:action`, `:depth`, `:reason` are the marks'.
fn marking(app: &App) -> bool {
    app.detail.is_none() && !app.marks.rows.is_empty()
}

/// Say what `r` will now do with the marks.
fn marks_flash(app: &mut App) -> Vec<Command> {
    let m = &app.marks;
    app.flash = Some(format!(
        "{} marked: r retracts them ({} at depth {}{})",
        m.rows.len(),
        m.action,
        m.depth,
        m.reason
            .as_ref()
            .map(|r| format!(", reason {}", shown(r)))
            .unwrap_or_default()
    ));
    Vec::new()
}
