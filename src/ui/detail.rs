//! The message detail pane: tabs Summary, Recipients (the retract tab), Conversation, Headers,
//! Forensics (drawn in [`super::forensics`]).

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::{Theme, block};
use crate::app::{App, Focus, RetractForm, Tab, layout};

pub fn pane(frame: &mut Frame<'_>, area: Rect, app: &App, theme: &Theme) {
    let Some(detail) = &app.detail else {
        return;
    };
    let mut tabs = vec![Span::raw(" ")];
    for tab in Tab::ALL {
        let style = if tab == detail.tab {
            theme.active_tab
        } else {
            theme.muted
        };
        tabs.push(Span::styled(tab.title(), style));
        tabs.push(Span::raw(" "));
    }
    let b = block(Line::from(tabs), theme);
    let inner = b.inner(area);
    frame.render_widget(b, area);
    if detail.tab == Tab::Forensics {
        // Its own load: the evidence is read when the tab is first opened.
        return super::forensics::tab(frame, inner, detail, theme);
    }
    let Some(data) = &detail.loaded else {
        frame.render_widget(
            Paragraph::new(Span::styled("loading...", theme.muted)),
            inner,
        );
        return;
    };
    let lines: Vec<Line> = match detail.tab {
        Tab::Summary => {
            let r = &data.row;
            let field = |k: &str, v: String| {
                Line::from(vec![
                    Span::styled(format!("{k:<12}"), theme.title),
                    Span::raw(v),
                ])
            };
            vec![
                field("Subject", r.subject.clone()),
                field("From", r.from.clone()),
                field("Received", format!("{} UTC", r.received)),
                field(
                    "Log id",
                    format!(
                        "{}  (the REF of `retractor show`, `retract`, `restore`)",
                        r.id
                    ),
                ),
                field("Message-ID", data.message_id.clone()),
                field("Tenant", data.tenant.clone()),
                field("Disposition", r.verdict.clone()),
                field("Status", r.status.clone()),
                field(
                    "Recipients",
                    format!("{}: {}", r.recipient_count, r.recipients),
                ),
                field(
                    "Size",
                    data.size.map_or("-".to_string(), |s| format!("{s} bytes")),
                ),
                field(
                    "Replies",
                    format!("{} logged replies/forwards", data.conversation.len()),
                ),
            ]
        }
        Tab::Recipients => {
            if let Some(form) = &detail.form {
                return recipients(frame, inner, app, form, theme);
            }
            Vec::new()
        }
        Tab::Headers if data.headers.is_empty() => vec![Line::from(Span::styled(
            format!("No headers: {}", data.headers_from),
            theme.muted,
        ))],
        Tab::Conversation | Tab::Headers | Tab::Forensics => {
            let rows: Vec<Line> = data
                .tab_lines(detail.tab)
                .iter()
                .flat_map(|(label, text)| cut_rows(label, text, inner.width, theme))
                .skip(detail.scroll)
                .take(usize::from(inner.height))
                .collect();
            frame.render_widget(Paragraph::new(rows), inner);
            return;
        }
    };
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
}

/// The retract tab: include boxes, states, folders, markers, action, depth, counts, reason.
fn recipients(frame: &mut Frame<'_>, area: Rect, app: &App, form: &RetractForm, theme: &Theme) {
    let [controls, counts, header, list, reason] =
        layout::recipients_areas(area, form.depth_lines());
    frame.render_widget(
        Paragraph::new(Line::from(vec![
            Span::styled("Action ", theme.title),
            Span::styled(format!("[{}]", form.action), theme.danger),
            Span::styled(" (A)   Depth ", theme.title),
            Span::raw(format!("[{}]", form.depth)),
            Span::styled(" (+/-)   R runs", theme.muted),
        ])),
        controls,
    );
    let count_lines: Vec<Line> = match &form.preview {
        None => vec![Line::from(Span::styled("counting...", theme.muted))],
        Some(Err(e)) => vec![Line::from(Span::styled(e.clone(), theme.error))],
        Some(Ok(p)) => {
            let mut lines: Vec<Line> = p.by_depth.iter().map(|d| Line::from(d.line())).collect();
            let already = if p.already_there == 0 {
                String::new()
            } else {
                format!(", {} already there", p.already_there)
            };
            lines.push(Line::from(Span::styled(
                format!(
                    "total: {} copies to do in {} mailboxes{already}{}",
                    p.actionable,
                    p.mailboxes,
                    if p.notes.is_empty() {
                        String::new()
                    } else {
                        format!("  ({} notes)", p.notes.len())
                    }
                ),
                theme.title,
            )));
            lines
        }
    };
    frame.render_widget(Paragraph::new(count_lines), counts);
    super::recipients::draw(frame, header, list, app, form, theme);
    let [label, input] =
        Layout::horizontal([Constraint::Length(8), Constraint::Min(0)]).areas(reason);
    frame.render_widget(Paragraph::new(Span::styled("Reason ", theme.title)), label);
    if app.focus == Focus::Reason {
        frame.render_widget(&form.reason, input);
    } else {
        let text = crate::app::input_text(&form.reason);
        let shown = if text.is_empty() {
            Span::styled("(none; e to edit)", theme.muted)
        } else {
            Span::raw(crate::app::shown(&text))
        };
        frame.render_widget(Paragraph::new(shown), input);
    }
}

/// A label and its text cut into rows of `width` columns where [`layout::wrap_ranges`] cuts
/// them (the count `G` scrolls by), the label in the title style.
fn cut_rows<'a>(label: &str, text: &str, width: u16, theme: &Theme) -> Vec<Line<'a>> {
    cut_styled_rows(label, text, width, theme.title, Style::default())
}

/// [`cut_rows`] with the label's and the text's styles given.
pub(super) fn cut_styled_rows<'a>(
    label: &str,
    text: &str,
    width: u16,
    label_style: Style,
    text_style: Style,
) -> Vec<Line<'a>> {
    let line = format!("{label}{text}");
    let split = label.len();
    layout::wrap_ranges(&line, width)
        .into_iter()
        .map(|r| {
            let mut spans = Vec::new();
            if r.start < split {
                spans.push(Span::styled(
                    line[r.start..split.min(r.end)].to_string(),
                    label_style,
                ));
            }
            if r.end > split {
                spans.push(Span::styled(
                    line[split.max(r.start)..r.end].to_string(),
                    text_style,
                ));
            }
            Line::from(spans)
        })
        .collect()
}
