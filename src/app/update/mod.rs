//! `update(state, event) -> commands`: the only place the console's state changes. Pure: no
//! I/O, no clock, no awaits; engine and store work is asked for with [`Command`]s.
//!
//! Terminal input is handled here and in [`keys`] (dispatch per view and focus) and [`mouse`];
//! replies from tasks in [`replies`]. The rest is split by what it changes: [`navigation`]
//! (views, tabs, paging, cursors), [`retract`] (the retract form and its live plan),
//! [`command_line`] (the `:` line), [`sweep`] (`:sweep`) and [`dialogs`] (confirmations);
//! [`lists`] the Audit and job items filters and a finished job's flash;
//! [`pending`] holds the Pending view's approvals and the Forensics tab's evidence.

mod command_line;
mod dialogs;
mod keys;
mod lists;
mod mouse;
mod navigation;
mod pending;
mod replies;
mod retract;
mod sweep;

use crossterm::event::KeyEventKind;

use super::{App, Command, Event, Focus, Overlay};

pub(super) use dialogs::{ask_with_reason, ask_with_word};
use keys::act;
use navigation::{ensure_page, move_by, select_tab, switch};
use retract::preview;

/// Apply one event; return the work it asks for. Sets `app.dirty` when the screen may change.
pub fn update(app: &mut App, event: Event) -> Vec<Command> {
    match event {
        Event::Key(key) => {
            if key.kind != KeyEventKind::Press {
                return Vec::new();
            }
            app.dirty = true;
            keys::on_key(app, key)
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
        reply => {
            let out = replies::reply(app, reply);
            dialogs::refresh_quit(app);
            out
        }
    }
}
