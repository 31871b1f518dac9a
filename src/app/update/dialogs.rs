//! Confirmation dialogs: opening one, its keys (Cancel first; an action the engine says
//! needs a typed word, hard-delete, asks for it), and what a confirmation submits.

use crossterm::event::{KeyCode, KeyEvent};

use crate::app::{App, Command, Confirm, Overlay, Pending, TypedWord, input_text, single_line};

pub(in crate::app) fn ask(app: &mut App, title: &str, lines: Vec<String>, pending: Pending) {
    ask_with_word(app, title, lines, pending, None);
}

/// Open a dialog that, with `word` (the engine's [`crate::engine::confirmation_word`]), is
/// confirmed only by typing it.
pub(in crate::app) fn ask_with_word(
    app: &mut App,
    title: &str,
    mut lines: Vec<String>,
    pending: Pending,
    word: Option<&'static str>,
) {
    if let Some(word) = word {
        lines.push(format!(
            "This cannot be undone. Type {word} and press Enter."
        ));
    }
    app.overlay = Overlay::Confirm(Box::new(Confirm {
        title: title.to_string(),
        lines,
        pending,
        ok_focused: false,
        word: word.map(|expected| TypedWord {
            expected,
            typed: single_line(""),
        }),
    }));
}

/// Keys in a confirmation dialog: Cancel has focus; `y` confirms (hard-delete: the typed word).
pub(super) fn confirm_key(app: &mut App, key: KeyEvent) -> Vec<Command> {
    let Overlay::Confirm(confirm) = &mut app.overlay else {
        return Vec::new();
    };
    if let Some(word) = confirm.word.as_mut() {
        match key.code {
            KeyCode::Esc => app.overlay = Overlay::None,
            KeyCode::Enter => {
                if input_text(&word.typed) == word.expected {
                    return confirmed(app);
                }
                app.flash = Some(format!(
                    "type the word {} to confirm, or Esc",
                    word.expected
                ));
            }
            _ => {
                word.typed.input(key);
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

pub(super) fn confirmed(app: &mut App) -> Vec<Command> {
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
