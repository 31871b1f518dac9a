//! Overlays: the help (generated from the keymap, per place) and the confirmation dialog.

use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Wrap};

use super::{Theme, block};
use crate::app::{App, Confirm, help};

pub(super) fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let [v] = Layout::vertical([Constraint::Length(height.min(area.height))])
        .flex(Flex::Center)
        .areas(area);
    let [h] = Layout::horizontal([Constraint::Length(width.min(area.width))])
        .flex(Flex::Center)
        .areas(v);
    h
}

/// The help of the place the keys go to (see [`crate::app::help`]), from line `scroll`.
pub fn help(frame: &mut Frame<'_>, area: Rect, app: &App, scroll: usize, theme: &Theme) {
    let (title, lines) = help::help_lines(app);
    let inner_height = usize::from(area.height.saturating_sub(2));
    let first = scroll.min(lines.len().saturating_sub(inner_height));
    let shown: Vec<Line> = lines
        .iter()
        .skip(first)
        .take(inner_height)
        .map(|l| {
            let style = if l.heading { theme.title } else { theme.normal };
            Line::from(Span::styled(l.text.clone(), style))
        })
        .collect();
    let height = shown.len() as u16 + 2;
    let rect = centered(area, help::overlay_width(app), height);
    frame.render_widget(Clear, rect);
    frame.render_widget(Paragraph::new(shown).block(block(title, theme)), rect);
}

pub fn confirm(frame: &mut Frame<'_>, area: Rect, c: &Confirm, theme: &Theme) {
    let width = 70.min(area.width.saturating_sub(2));
    let mut lines: Vec<Line> = c
        .lines
        .iter()
        .map(|l| Line::from(Span::raw(l.clone())))
        .collect();
    lines.push(Line::from(""));
    let extra = if c.word.is_some() || c.reason.is_some() {
        2
    } else {
        1
    };
    // Count the rows each line wraps to, so a long line does not push the last ones out.
    let text_width = usize::from(width.saturating_sub(2)).max(1);
    let rows: usize = lines
        .iter()
        .map(|l| l.width().div_ceil(text_width).max(1))
        .sum();
    let height = u16::try_from(rows)
        .unwrap_or(u16::MAX)
        .saturating_add(extra + 3);
    let rect = centered(area, width, height);
    frame.render_widget(Clear, rect);
    let b = block(Span::styled(format!(" {} ", c.title), theme.danger), theme);
    let inner = b.inner(rect);
    frame.render_widget(b, rect);
    let [text, input, buttons] = Layout::vertical([
        Constraint::Min(1),
        Constraint::Length(extra - 1),
        Constraint::Length(1),
    ])
    .areas(inner);
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), text);
    if let Some(word) = &c.word {
        let [label, field] =
            Layout::horizontal([Constraint::Length(7), Constraint::Min(0)]).areas(input);
        frame.render_widget(Paragraph::new("Type: "), label);
        frame.render_widget(&word.typed, field);
    }
    if let Some(reason) = &c.reason {
        let [label, field] =
            Layout::horizontal([Constraint::Length(22), Constraint::Min(0)]).areas(input);
        let name = if c.editing_reason {
            "Reason (Enter: done):"
        } else {
            "Reason (e, optional):"
        };
        frame.render_widget(Paragraph::new(name), label);
        frame.render_widget(reason, field);
    }
    let (cancel, ok) = if c.ok_focused {
        (theme.normal, theme.button_focused)
    } else {
        (theme.button_focused, theme.normal)
    };
    let (back_label, confirm_label) = match (&c.choices, c.word.is_some()) {
        (Some(choices), _) if c.editing_reason => {
            ("[ Enter: done ]".into(), format!("[ y: {} ]", choices.act))
        }
        (Some(choices), _) => (
            format!("[ {} ]", choices.back),
            format!("[ y: {} ]", choices.act),
        ),
        (None, true) => ("[ Cancel ]".into(), "[ Enter: confirm ]".into()),
        (None, false) => ("[ Cancel ]".into(), "[ y: Confirm ]".into()),
    };
    frame.render_widget(
        Paragraph::new(Line::from(vec![
            Span::raw("  "),
            Span::styled(back_label, cancel),
            Span::raw("   "),
            Span::styled(confirm_label, ok),
        ])),
        buttons,
    );
}
