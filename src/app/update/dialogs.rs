//! Confirmation dialogs: opening one, its keys (Cancel first; an action the engine says
//! needs a typed word, hard-delete, asks for it), and what a confirmation submits.

use crossterm::event::{KeyCode, KeyEvent};

use crate::app::{
    App, Choices, Command, Confirm, Overlay, Pending, TypedWord, input_text, single_line,
};

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
        choices: None,
        reason: None,
        editing_reason: false,
    }));
}

/// Open a dialog whose reason is optional (as a retraction's) and typed here after `e`,
/// starting from `reason` (the retract tab's, when one was given); `y` does `act`.
pub(in crate::app) fn ask_with_reason(
    app: &mut App,
    title: &str,
    lines: Vec<String>,
    pending: Pending,
    reason: Option<&str>,
    act: &'static str,
) {
    let choices = Choices {
        back: "Cancel",
        act,
    };
    ask_choosing(app, title, lines, pending, choices);
    if let Overlay::Confirm(confirm) = &mut app.overlay {
        confirm.reason = Some(single_line(reason.unwrap_or("")));
    }
}

/// Open a dialog whose buttons say what each choice does.
pub(in crate::app) fn ask_choosing(
    app: &mut App,
    title: &str,
    lines: Vec<String>,
    pending: Pending,
    choices: Choices,
) {
    ask(app, title, lines, pending);
    if let Overlay::Confirm(confirm) = &mut app.overlay {
        confirm.choices = Some(choices);
    }
}

/// What the quit dialog says, read from what is running now; `None` when nothing is, so
/// quitting needs no question.
pub(in crate::app) fn quit_lines(app: &App) -> Option<Vec<String>> {
    if app.running.is_empty() && app.submitting == 0 {
        return None;
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
    Some(lines)
}

/// An open quit dialog re-reads what is running after every reply, so it never names a job
/// that has finished; once nothing runs it says so (the analyst still chooses).
pub(super) fn refresh_quit(app: &mut App) {
    let lines = quit_lines(app)
        .unwrap_or_else(|| vec!["Nothing is running any more: quitting stops no job.".to_string()]);
    if let Overlay::Confirm(confirm) = &mut app.overlay
        && matches!(confirm.pending, Pending::Quit)
        && confirm.lines != lines
    {
        confirm.lines = lines;
        app.dirty = true;
    }
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
    if let Some(reason) = confirm.reason.as_mut() {
        // As on the retract tab: `e` edits the reason, Enter or Esc ends the edit, and only
        // then do `y`/`n` answer (so a reason's letters never confirm anything).
        if confirm.editing_reason {
            match key.code {
                KeyCode::Enter | KeyCode::Esc => confirm.editing_reason = false,
                _ => {
                    reason.input(key);
                }
            }
            return Vec::new();
        }
        if key.code == KeyCode::Char('e') {
            confirm.editing_reason = true;
            return Vec::new();
        }
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
    let mut pending = confirm.pending;
    if let Some(field) = &confirm.reason {
        let typed = input_text(field);
        let typed = Some(typed.trim().to_string()).filter(|r| !r.is_empty());
        if let Pending::RestoreMessage { reason, .. }
        | Pending::RestoreJob { reason, .. }
        | Pending::Report { reason, .. } = &mut pending
        {
            *reason = typed;
        }
    }
    match pending {
        Pending::Quit => {
            app.quit = true;
            vec![Command::Quit]
        }
        Pending::RetractMarked(specs) => {
            // One job per message: the engine's retract request names one message.
            app.flash = Some(format!("submitting {} retractions...", specs.len()));
            app.submitting += specs.len();
            app.marks.rows.clear();
            specs
                .into_iter()
                .map(|spec| Command::Submit(Pending::Retract(spec)))
                .collect()
        }
        pending => {
            if matches!(
                pending,
                Pending::Retract(_) | Pending::RestoreMessage { .. }
            ) {
                app.flash = Some("submitting...".into());
            }
            // Each of these answers with `Submitted`; until then, quitting asks first.
            if !matches!(pending, Pending::CancelJob { .. } | Pending::Report { .. }) {
                app.submitting += 1;
            }
            vec![Command::Submit(pending)]
        }
    }
}
