//! The lists' own parts: an open job's items (filter line, cursor, message and subject
//! columns) and one audit record in full. All text comes from the sanitised rows.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table, Wrap};

use super::columns::{Cut, cut};
use super::{Theme, block};
use crate::app::{App, AuditRow, AuditView, Focus, OpenJob, layout};

/// What the Operations table's M/R/F/S counts are, for its title.
pub const COUNTS_LEGEND: &str = "M/R/F/S: matched/remediated/failed/skipped";

/// The open job's items: a filter line over a table with a cursor.
pub fn job_items(frame: &mut Frame<'_>, area: Rect, app: &App, open: &OpenJob, theme: &Theme) {
    let [filter_line, table_area] = layout::items_areas(area);
    let typing = app.focus == Focus::Search;
    if typing {
        let [label, input] =
            ratatui::layout::Layout::horizontal([Constraint::Length(9), Constraint::Min(0)])
                .areas(filter_line);
        frame.render_widget(
            Paragraph::new(Span::styled(" filter: ", theme.title)),
            label,
        );
        frame.render_widget(&app.search, input);
    } else {
        let text = if open.filter.is_empty() {
            Span::styled(" / filters  j/k move  Esc closes", theme.muted)
        } else {
            Span::raw(format!(
                " filter: {}  (/ to change)",
                crate::app::shown(&open.filter)
            ))
        };
        frame.render_widget(Paragraph::new(text), filter_line);
    }
    let compact = area.width < layout::COMPACT_WIDTH;
    let visible = layout::table_rows(table_area.height);
    let shown: Vec<_> = open.visible_items().collect();
    let top = layout::list_offset(open.top, open.cursor, visible, shown.len());
    let rows: Vec<Row> = shown
        .iter()
        .enumerate()
        .skip(top)
        .take(visible)
        .map(|(n, i)| {
            let style = if n == open.cursor {
                theme.selected
            } else if i.error.is_empty() {
                theme.normal
            } else {
                theme.danger
            };
            // Cut with `…`, the mailbox keeping its domain (the columns are fixed widths).
            let mailbox = cut(&i.mailbox, if compact { 24 } else { 26 }, Cut::Address);
            let mut cells = vec![Cell::from(mailbox)];
            if !compact {
                cells.push(Cell::from(cut(&i.message, 18, Cut::End)));
            }
            cells.extend([
                Cell::from(cut(&i.subject, if compact { 18 } else { 22 }, Cut::End)),
                Cell::from(i.depth.to_string()),
                Cell::from(i.result.clone()),
            ]);
            if !compact {
                cells.push(Cell::from(format!("{} -> {}", i.from_folder, i.to_folder)));
            }
            cells.push(Cell::from(i.error.clone()));
            Row::new(cells).style(style)
        })
        .collect();
    let (header, widths): (Vec<&str>, Vec<Constraint>) = if compact {
        (
            vec!["MAILBOX", "SUBJECT", "D", "RESULT", "ERROR"],
            vec![
                Constraint::Length(24),
                Constraint::Length(18),
                Constraint::Length(1),
                Constraint::Length(14),
                Constraint::Min(8),
            ],
        )
    } else {
        (
            vec![
                "MAILBOX", "MESSAGE", "SUBJECT", "D", "RESULT", "FOLDERS", "ERROR",
            ],
            vec![
                Constraint::Length(26),
                Constraint::Length(18),
                Constraint::Length(22),
                Constraint::Length(1),
                Constraint::Length(14),
                Constraint::Length(16),
                Constraint::Min(10),
            ],
        )
    };
    let position = if shown.is_empty() { 0 } else { open.cursor + 1 };
    let of = if open.filter.is_empty() {
        format!("{} items", open.items.len())
    } else {
        format!("{} of {} items", shown.len(), open.items.len())
    };
    let table = Table::new(rows, widths)
        .header(Row::new(header).style(theme.title))
        .block(block(format!(" Job {}: {position}/{of} ", open.job), theme));
    frame.render_widget(table, table_area);
}

/// The Audit table's title: how many records are shown, and when only part of the trail
/// (or of the selection) is loaded.
pub fn audit_title(audit: &AuditView) -> String {
    let loaded = audit.rows.len();
    let shown = audit.shown();
    let total = audit.verdict.as_ref().map(|v| v.records);
    let part = match (audit.more, audit.applied.narrows_the_store(), total) {
        (true, false, Some(total)) => format!(
            "showing the newest {} of {} (since:/until: reach older ones)",
            thousands(loaded as u64),
            thousands(total)
        ),
        (true, _, _) => format!(
            "showing the newest {} that match; older ones not loaded (narrow with since:/until:)",
            thousands(loaded as u64)
        ),
        (false, _, _) => format!("{} records", thousands(loaded as u64)),
    };
    if audit.applied.words.is_empty() {
        format!(" Audit: {part} ")
    } else {
        format!(" Audit: {} match · {part} ", thousands(shown as u64))
    }
}

/// One audit record in full (`Enter`), every field it holds.
pub fn audit_record(frame: &mut Frame<'_>, area: Rect, r: &AuditRow, theme: &Theme) {
    let field = |name: &str, value: String| {
        Line::from(vec![
            Span::styled(format!("{name:<10}"), theme.title),
            Span::raw(value),
        ])
    };
    let or_dash = |s: &str| {
        if s.is_empty() {
            "-".to_string()
        } else {
            s.to_string()
        }
    };
    let actor = if r.ssh_from.is_empty() {
        r.actor.clone()
    } else {
        format!("{} (from {})", r.actor, r.ssh_from)
    };
    let lines = vec![
        field("Record", r.seq.to_string()),
        field("Time", r.at_full.clone()),
        field("Actor", actor),
        field("Role", or_dash(&r.role)),
        field("Authority", or_dash(&r.authority)),
        field("Action", r.action.clone()),
        field("Target", r.target.clone()),
        field("Reason", or_dash(&r.reason)),
        field("Outcome", r.outcome.clone()),
        field("Job", r.job.map_or("-".to_string(), |j| j.to_string())),
        field("Detail", or_dash(&r.detail)),
    ];
    let text = Paragraph::new(lines)
        .wrap(Wrap { trim: false })
        .block(block(format!(" Audit record {} (Esc back) ", r.seq), theme));
    frame.render_widget(text, area);
}

/// `12345` as `12,345`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn thousands_are_grouped() {
        assert_eq!(super::thousands(0), "0");
        assert_eq!(super::thousands(500), "500");
        assert_eq!(super::thousands(12345), "12,345");
        assert_eq!(super::thousands(1234567), "1,234,567");
    }
}
