//! The Pending view (requests waiting for approval, and the selected one's facts) and the
//! approve / reject dialog. Every string drawn was sanitised as it entered the state.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Clear, Paragraph, Row, Table, Wrap};

use super::{Theme, block, fit};
use crate::app::pending::{ApprovalDialog, ApprovalRow};
use crate::app::{App, layout};

pub fn view(frame: &mut Frame<'_>, area: Rect, app: &App, theme: &Theme) {
    let p = &app.pending;
    let areas = layout::operations_areas(area, p.facts_open);
    let compact = area.width < layout::COMPACT_WIDTH;
    let visible = layout::table_rows(areas.jobs.height);
    let rows: Vec<Row> = p
        .rows
        .iter()
        .enumerate()
        .skip(layout::list_offset(
            p.top,
            p.selected,
            visible,
            p.rows.len(),
        ))
        .take(visible)
        .map(|(i, r)| {
            let mut cells = vec![
                Cell::from(r.id.to_string()),
                Cell::from(r.what.clone()),
                Cell::from(fit(&r.target, if compact { 18 } else { 30 })),
                Cell::from(r.mailboxes.to_string()),
                Cell::from(r.requested_by.clone()),
            ];
            if !compact {
                cells.extend([
                    Cell::from(r.rule.clone()),
                    Cell::from(r.alert.map_or("-".to_string(), |a| format!("#{a}"))),
                    Cell::from(r.expires_at.clone()),
                ]);
            }
            let style = if i == p.selected {
                theme.selected
            } else if p.seen.contains(&r.id) {
                theme.normal
            } else {
                theme.warn
            };
            Row::new(cells).style(style)
        })
        .collect();
    let (header, widths): (Vec<&str>, Vec<Constraint>) = if compact {
        (
            vec!["REQ", "ACTION", "TARGET", "MBX", "BY"],
            vec![
                Constraint::Length(4),
                Constraint::Length(22),
                Constraint::Length(19),
                Constraint::Length(4),
                Constraint::Min(8),
            ],
        )
    } else {
        (
            vec![
                "REQ",
                "ACTION",
                "TARGET",
                "MBX",
                "REQUESTED BY",
                "RULE",
                "ALERT",
                "EXPIRES",
            ],
            vec![
                Constraint::Length(4),
                Constraint::Length(24),
                Constraint::Length(31),
                Constraint::Length(4),
                Constraint::Length(14),
                Constraint::Min(8),
                Constraint::Length(6),
                Constraint::Length(16),
            ],
        )
    };
    let title = if !p.loaded {
        " Pending: reading... ".to_string()
    } else if p.rows.is_empty() {
        " Pending: no request is waiting for approval ".to_string()
    } else {
        format!(
            " Pending: {} waiting  a approve  x reject  Enter facts ",
            p.rows.len()
        )
    };
    let table = Table::new(rows, widths)
        .header(Row::new(header).style(theme.title))
        .block(block(title, theme));
    frame.render_widget(table, areas.jobs);
    if let (Some(facts_area), Some(r)) = (areas.items, p.selected_row()) {
        facts(frame, facts_area, r, theme);
    }
}

/// Everything the request says: plan per depth, what was asked, the alert, the reason.
fn facts(frame: &mut Frame<'_>, area: Rect, r: &ApprovalRow, theme: &Theme) {
    let field = |k: &str, v: String| {
        Line::from(vec![
            Span::styled(format!("{k:<13}"), theme.title),
            Span::raw(v),
        ])
    };
    let mut lines = vec![
        field("Action", r.what.clone()),
        field("Target", r.target.clone()),
        field(
            "Requested by",
            format!("{} at {} UTC", r.requested_by, r.requested_at),
        ),
        field("Expires", format!("{} UTC", r.expires_at)),
        field("Rule", r.rule.clone()),
        field(
            "Alert",
            r.alert
                .map_or("- (a job by hand)".to_string(), |a| format!("#{a}")),
        ),
        field("Reason", r.reason.clone()),
        field("Mailboxes", format!("{} reached by the plan", r.mailboxes)),
    ];
    lines.extend(r.by_depth.iter().map(|(d, m, b)| {
        field(
            &format!("  depth {d}"),
            format!("{m} messages, {b} mailboxes"),
        )
    }));
    if r.asked.is_empty() {
        lines.push(field("Asked", "every actionable recipient".into()));
    }
    lines.extend(
        r.asked
            .iter()
            .map(|(k, v)| field(&format!("Asked {k}"), v.clone())),
    );
    lines.push(field("Plan hash", r.plan_hash.clone()));
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(block(format!(" Request {} (Esc closes) ", r.id), theme)),
        area,
    );
}

/// The approve / reject dialog: what is decided, the reason field, and a refusal if any.
pub fn dialog(frame: &mut Frame<'_>, area: Rect, d: &ApprovalDialog, theme: &Theme) {
    let width = 72.min(area.width.saturating_sub(2));
    let mut lines: Vec<Line> = d.lines.iter().map(|l| Line::from(l.clone())).collect();
    if let Some(e) = &d.error {
        lines.push(Line::from(Span::styled(e.clone(), theme.error)));
    }
    let text_rows: u16 = lines
        .iter()
        .map(|l| {
            let w = l.width() as u16;
            w.div_ceil(width.saturating_sub(2).max(1)).max(1)
        })
        .sum();
    let rect = super::overlays::centered(area, width, text_rows + 5);
    frame.render_widget(Clear, rect);
    let b = block(
        Span::styled(format!(" {} ", d.title()), theme.danger),
        theme,
    );
    let inner = b.inner(rect);
    frame.render_widget(b, rect);
    let [text, _gap, input, buttons] = Layout::vertical([
        Constraint::Min(1),
        Constraint::Length(0),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(inner);
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), text);
    let label = if d.approve {
        "Reason (optional): "
    } else {
        "Reason (required): "
    };
    let [l, field] =
        Layout::horizontal([Constraint::Length(label.len() as u16), Constraint::Min(0)])
            .areas(input);
    frame.render_widget(Paragraph::new(Span::styled(label, theme.title)), l);
    frame.render_widget(&d.reason, field);
    let hint = match (d.answering.is_some(), d.approve) {
        (true, _) => Span::styled("  answering...", theme.muted),
        (false, true) => Span::styled("  [ Esc: Cancel ]   [ Enter: Approve ]", theme.normal),
        (false, false) => Span::styled("  [ Esc: Cancel ]   [ Enter: Reject ]", theme.normal),
    };
    frame.render_widget(Paragraph::new(Line::from(hint)), buttons);
}
