//! The message log table: its columns share the width by content and priority (see
//! [`super::columns`]), the sender keeps its domain, and each row is coloured by its
//! disposition, at every size (the compact layout keeps the disposition too).

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::Span;
use ratatui::widgets::{Cell, Paragraph, Row, Table, Wrap};

use super::columns::{ColumnSpec, Cut, cut, share, spec, text_width};
use super::{Theme, block};
use crate::app::{App, MessageRow, layout};

/// The columns, in the order drawn. `ID` is the log id the CLI takes as REF; `DISPOSITION`
/// is the word the CLI and the query (`disposition:malicious`) use.
const COLUMNS: [ColumnSpec; 7] = [
    spec("ID", 2, 0, 9, false, Cut::End),
    spec("RECEIVED", 11, 16, 9, false, Cut::End),
    spec("FROM", 16, 40, 7, false, Cut::Address),
    spec("SUBJECT", 18, 0, 6, true, Cut::End),
    spec("RECIPIENTS", 16, 40, 1, false, Cut::End),
    spec("DISPOSITION", 10, 11, 8, false, Cut::End),
    spec("STATUS", 9, 26, 5, false, Cut::End),
];

/// The cells of one row, before any cut, in [`COLUMNS`] order. `mark` is `None` while nothing
/// is marked (no mark column), else whether this row is (`*` before its id).
fn cells(r: &MessageRow, compact: bool, mark: Option<bool>) -> [String; 7] {
    let id = match mark {
        None => r.id.to_string(),
        Some(true) => format!("*{}", r.id),
        Some(false) => format!(" {}", r.id),
    };
    [
        id,
        if compact {
            r.received.get(5..).unwrap_or(&r.received).to_string()
        } else {
            r.received.clone()
        },
        r.from.clone(),
        r.subject.clone(),
        format!("{} {}", r.recipient_count, r.recipients),
        r.verdict.clone(),
        r.status.clone(),
    ]
}

/// How a disposition is shown: malicious stands out, suspicious and spam warn.
fn disposition_style(theme: &Theme, disposition: &str) -> Style {
    match disposition.to_ascii_lowercase().as_str() {
        "malicious" | "phish" | "phishing" | "malware" => theme.danger,
        "suspicious" | "spam" | "bulk" => theme.warn,
        _ => theme.normal,
    }
}

/// The widths of [`COLUMNS`] for these rows in `inner` columns (0: not shown).
pub(crate) fn column_widths(rows: &[[String; 7]], inner: usize) -> Vec<usize> {
    let widest: Vec<usize> = (0..COLUMNS.len())
        .map(|c| rows.iter().map(|r| text_width(&r[c])).max().unwrap_or(0))
        .collect();
    share(&COLUMNS, &widest, inner, 1)
}

pub(super) fn draw(frame: &mut Frame<'_>, area: Rect, app: &App, theme: &Theme) {
    let m = &app.messages;
    let compact = area.width < layout::COMPACT_WIDTH;
    let title = if m.total == 0 && m.loading {
        " Messages (loading) ".to_string()
    } else {
        format!(
            " Messages {} of {}{} ",
            (m.selected + 1).min(m.total as usize),
            m.total,
            app.tenant
                .as_ref()
                .map(|t| format!(" · tenant {}", crate::app::shown(t)))
                .unwrap_or_default()
        )
    };
    if let Some(reason) = m
        .empty_because
        .as_ref()
        .filter(|_| m.total == 0 && !m.loading)
    {
        // Say why nothing matched instead of an empty table (the reason is sanitised).
        let text = Paragraph::new(Span::styled(
            format!("Nothing found: {reason}."),
            theme.muted,
        ))
        .wrap(Wrap { trim: false })
        .block(block(title, theme));
        frame.render_widget(text, area);
        return;
    }
    let visible = layout::table_rows(area.height);
    let on_screen: Vec<(usize, Option<&MessageRow>)> = (m.top
        ..(m.top + visible).min(m.total as usize))
        .map(|index| {
            let row = index.checked_sub(m.page_offset).and_then(|i| m.rows.get(i));
            (index, row)
        })
        .collect();
    let texts: Vec<[String; 7]> = on_screen
        .iter()
        .filter_map(|(_, r)| {
            r.map(|r| {
                let mark = (!app.marks.rows.is_empty()).then(|| app.marks.is_marked(r.id));
                cells(r, compact, mark)
            })
        })
        .collect();
    let widths = column_widths(&texts, usize::from(area.width.saturating_sub(2)));
    let shown: Vec<usize> = (0..COLUMNS.len()).filter(|&c| widths[c] > 0).collect();
    let mut texts = texts.into_iter();
    let rows: Vec<Row> = on_screen
        .iter()
        .map(|(index, row)| {
            let Some(r) = row else {
                return Row::new(vec![Cell::from("...")]).style(theme.normal);
            };
            let text = texts.next().unwrap_or_default();
            let tone = disposition_style(theme, &r.verdict);
            let cells: Vec<Cell> = shown
                .iter()
                .map(|&c| {
                    let t = cut(&text[c], widths[c], COLUMNS[c].cut);
                    if COLUMNS[c].header == "DISPOSITION" {
                        Cell::from(Span::styled(t, tone))
                    } else {
                        Cell::from(t)
                    }
                })
                .collect();
            let style = if *index == m.selected {
                theme.selected
            } else {
                tone
            };
            Row::new(cells).style(style)
        })
        .collect();
    let header: Vec<String> = shown
        .iter()
        .map(|&c| cut(COLUMNS[c].header, widths[c], Cut::End))
        .collect();
    let constraints: Vec<Constraint> = shown
        .iter()
        .map(|&c| Constraint::Length(widths[c] as u16))
        .collect();
    let table = Table::new(rows, constraints)
        .header(Row::new(header).style(theme.title))
        .block(block(title, theme));
    frame.render_widget(table, area);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(received: &str, from: &str, subject: &str, status: &str) -> [String; 7] {
        [
            "367".into(),
            received.into(),
            from.into(),
            subject.into(),
            "5 a@demo.test, b@demo.test, c@demo.test".into(),
            "suspicious".into(),
            status.into(),
        ]
    }

    #[test]
    fn every_size_keeps_id_sender_domain_and_disposition() {
        let rows = |received: &str| {
            [
                row(
                    received,
                    "support@payroll-services.example",
                    "Payroll calendar November: action required",
                    "Delivered (Mail Retracted)",
                ),
                row(received, "kevin.doyle@demo.test", "Re: MFA", "Delivered"),
            ]
        };
        for inner in [78, 118, 198] {
            // The compact layout (under 100 columns) shows the time without the year.
            let rows = rows(if inner < 98 {
                "11-20 21:52"
            } else {
                "2026-11-20 21:52"
            });
            let w = column_widths(&rows, inner);
            let used: usize = w.iter().sum::<usize>() + w.iter().filter(|x| **x > 0).count() - 1;
            assert_eq!(used, inner, "the table uses its width at {inner}: {w:?}");
            for must in ["ID", "FROM", "SUBJECT", "DISPOSITION", "STATUS"] {
                let i = COLUMNS.iter().position(|c| c.header == must).unwrap();
                assert!(w[i] > 0, "{must} is shown at {inner}: {w:?}");
            }
            let from = cut(&rows[0][2], w[2], Cut::Address);
            assert!(from.contains("services.example"), "{from} at {inner}");
        }
        let wide = column_widths(&rows("2026-11-20 21:52"), 198);
        assert_eq!(wide[2], "support@payroll-services.example".len());
        assert_eq!(wide[6], "Delivered (Mail Retracted)".len());
        assert!(wide[4] > 0, "recipients at 200 columns");
        assert_eq!(
            column_widths(&rows("11-20 21:52"), 78)[4],
            0,
            "recipients go first at 80"
        );
    }
}
