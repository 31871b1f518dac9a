//! Drawing: pure functions of the state. Nothing here changes the state or does I/O; all text
//! drawn comes from the sanitised rows of [`crate::app`].

mod columns;
mod detail;
mod forensics;
mod lists;
mod message_table;
mod overlays;
mod pending;
mod recipients;
pub mod theme;
mod views;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use crate::app::keymap::Place;
use crate::app::{App, Focus, Overlay, View, layout};
pub use theme::Theme;

/// Draw the whole screen.
pub fn draw(frame: &mut Frame<'_>, app: &App, theme: &Theme) {
    let area = frame.area();
    let [bar, body, status] = layout::bands(area);
    view_bar(frame, bar, app, theme);
    match app.view {
        View::Messages => views::messages(frame, body, app, theme),
        View::Operations => views::operations(frame, body, app, theme),
        View::Audit => views::audit(frame, body, app, theme),
        View::Pending => pending::view(frame, body, app, theme),
    }
    status_line(frame, status, app, theme);
    match &app.overlay {
        Overlay::None => {}
        Overlay::Help { scroll } => overlays::help(frame, area, app, *scroll, theme),
        Overlay::Confirm(c) => overlays::confirm(frame, area, c, theme),
        Overlay::Approval(d) => pending::dialog(frame, area, d, theme),
    }
}

fn view_bar(frame: &mut Frame<'_>, area: Rect, app: &App, theme: &Theme) {
    let mut spans = vec![Span::styled(layout::BRAND, theme.title)];
    for (view, label) in layout::VIEW_LABELS {
        let style = if app.view == view {
            theme.active_tab
        } else {
            theme.muted
        };
        spans.push(Span::raw(" "));
        spans.push(Span::styled(label, style));
        if view == View::Pending && !app.pending.rows.is_empty() {
            // Highlighted while requests the analyst has not had on screen wait.
            let badge = if app.pending.unseen() > 0 {
                theme.warn
            } else {
                theme.muted
            };
            spans.push(Span::styled(
                format!(" [{}]", app.pending.rows.len()),
                badge,
            ));
        }
    }
    if !app.running.is_empty() {
        spans.push(Span::styled(
            format!("  [{} job(s) running]", app.running.len()),
            theme.warn,
        ));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

fn status_line(frame: &mut Frame<'_>, area: Rect, app: &App, theme: &Theme) {
    if app.focus == Focus::CommandLine {
        // A refused line stays open: its error follows the text.
        let typed = crate::app::input_text(&app.command_line).chars().count() as u16 + 2;
        let [colon, input, error] = Layout::horizontal([
            Constraint::Length(1),
            Constraint::Length(if app.flash.is_some() {
                typed
            } else {
                area.width
            }),
            Constraint::Min(0),
        ])
        .areas(area);
        frame.render_widget(Paragraph::new(":"), colon);
        frame.render_widget(&app.command_line, input);
        if let Some(text) = &app.flash {
            frame.render_widget(
                Paragraph::new(Span::styled(text.clone(), theme.warn)),
                error,
            );
        }
        return;
    }
    let line = match &app.flash {
        Some(text) => Line::from(Span::styled(text.clone(), theme.warn)),
        None => {
            let actor = format!("{} ", app.actor);
            let room = usize::from(area.width).saturating_sub(actor.chars().count());
            let hint = match app.focus {
                Focus::Search => "Enter run  Esc leave".to_string(),
                Focus::Reason => "Enter/Esc done".to_string(),
                // Only keys that do something here, whole hints that fit.
                _ => app.keymap.hints_in(Place::of(app), room),
            };
            let mut spans = vec![Span::styled(actor, theme.title)];
            let marked = app.marks.rows.len();
            if marked > 0 && app.view == View::Messages && app.focus == Focus::List {
                spans.push(Span::styled(format!("{marked} marked "), theme.warn));
                spans.push(Span::styled(
                    "Space mark  r retract marked  Esc clear  :action :depth :reason",
                    theme.muted,
                ));
            } else {
                spans.push(Span::styled(hint, theme.muted));
            }
            Line::from(spans)
        }
    };
    frame.render_widget(Paragraph::new(line), area);
}

/// A bordered block in the theme's border set.
pub(crate) fn block<'a>(title: impl Into<Line<'a>>, theme: &Theme) -> Block<'a> {
    Block::default()
        .borders(Borders::ALL)
        .border_set(theme.border)
        .title(title)
}

/// A text cut to `width` columns, with `~` marking the cut.
pub(crate) fn fit(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    let mut s: String = text.chars().take(width.saturating_sub(1)).collect();
    s.push('~');
    s
}
