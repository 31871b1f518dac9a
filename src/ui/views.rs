//! The three views: Messages (search bar, virtualised log table, detail pane), Operations,
//! Audit.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table};

use super::{Theme, block, detail, fit};
use crate::app::{App, Focus, QueryError, layout};

pub fn messages(frame: &mut Frame<'_>, area: Rect, app: &App, theme: &Theme) {
    let [search, table, pane] =
        layout::messages_areas(area, app.width, app.height, app.detail.is_some());
    search_bar(frame, search, app, theme, "Search");
    if table.height > 0 {
        super::message_table::draw(frame, table, app, theme);
    }
    if pane.height > 0 {
        detail::pane(frame, pane, app, theme);
    }
}

/// The search bar (Messages) or the filter (Audit), with the query error marked under the
/// column it names.
fn search_bar(frame: &mut Frame<'_>, area: Rect, app: &App, theme: &Theme, title: &str) {
    let focused = app.focus == Focus::Search;
    let mut b = block(
        Span::styled(
            format!(" {title} "),
            if focused { theme.title } else { theme.normal },
        ),
        theme,
    );
    if let Some(QueryError { column, message }) = app.search_error.as_ref() {
        let pad = " ".repeat(column.saturating_sub(1));
        b = b.title_bottom(Line::from(Span::styled(
            format!("{pad}^ {message}"),
            theme.error,
        )));
    }
    let inner = b.inner(area);
    frame.render_widget(b, area);
    if focused {
        frame.render_widget(&app.search, inner);
    } else {
        let text = if title == "Search" {
            &app.messages.query
        } else {
            &app.audit.filter
        };
        let shown = if text.is_empty() {
            Span::styled("(all)  / to edit", theme.muted)
        } else {
            Span::raw(crate::app::shown(text))
        };
        frame.render_widget(Paragraph::new(shown), inner);
    }
}

pub fn operations(frame: &mut Frame<'_>, area: Rect, app: &App, theme: &Theme) {
    let ops = &app.ops;
    let layout::OperationsAreas {
        jobs: jobs_area,
        items: items_area,
    } = layout::operations_areas(area, ops.open.is_some());
    let now = ops.sampled_at;
    let compact = area.width < layout::COMPACT_WIDTH;
    let visible = layout::table_rows(jobs_area.height);
    let rows: Vec<Row> = ops
        .jobs
        .iter()
        .enumerate()
        .skip(layout::list_offset(
            ops.top,
            ops.selected,
            visible,
            ops.jobs.len(),
        ))
        .take(visible)
        .map(|(i, j)| {
            let width = if compact { 10 } else { 20 };
            let done = j.done();
            let filled = if j.matched == 0 {
                width
            } else {
                (done as usize * width / j.matched as usize).min(width)
            };
            let bar = format!("[{}{}]", "#".repeat(filled), ".".repeat(width - filled));
            let rate = now
                .and_then(|n| j.rate(n))
                .map(|r| format!("{r:.1}/s"))
                .unwrap_or_else(|| "-".into());
            let eta = now
                .and_then(|n| j.eta_secs(n))
                .map(|s| format!("{s}s"))
                .unwrap_or_else(|| "-".into());
            let throttle = j.throttle.clone().unwrap_or_else(|| "-".into());
            let counts = format!("{}/{}/{}/{}", j.matched, j.remediated, j.failed, j.skipped);
            let status_style = match j.status.as_str() {
                "done" => theme.ok,
                "failed" | "partial" => theme.danger,
                _ => theme.warn,
            };
            let mut cells = vec![
                Cell::from(j.id.to_string()),
                Cell::from(format!("{} {}", j.kind, j.action)),
                Cell::from(Span::styled(j.status.clone(), status_style)),
                Cell::from(Span::styled(bar, theme.gauge)),
                Cell::from(counts),
            ];
            if !compact {
                cells.extend([
                    Cell::from(rate),
                    Cell::from(eta),
                    Cell::from(throttle),
                    Cell::from(j.initiated_by.clone()),
                ]);
            }
            let style = if i == ops.selected && ops.open.is_none() {
                theme.selected
            } else {
                theme.normal
            };
            Row::new(cells).style(style)
        })
        .collect();
    let (header, widths): (Vec<&str>, Vec<Constraint>) = if compact {
        (
            vec!["JOB", "KIND", "STATUS", "PROGRESS", "M/R/F/S"],
            vec![
                Constraint::Length(4),
                Constraint::Length(20),
                Constraint::Length(9),
                Constraint::Length(12),
                Constraint::Min(10),
            ],
        )
    } else {
        (
            vec![
                "JOB", "KIND", "STATUS", "PROGRESS", "M/R/F/S", "RATE", "ETA", "THROTTLE", "BY",
            ],
            vec![
                Constraint::Length(4),
                Constraint::Length(24),
                Constraint::Length(9),
                Constraint::Length(22),
                Constraint::Length(12),
                Constraint::Length(8),
                Constraint::Length(6),
                Constraint::Min(10),
                Constraint::Length(10),
            ],
        )
    };
    let title = format!(
        " Operations: {} jobs  {} ",
        ops.jobs.len(),
        super::lists::COUNTS_LEGEND
    );
    let table = Table::new(rows, widths)
        .header(Row::new(header).style(theme.title))
        .block(block(title, theme));
    frame.render_widget(table, jobs_area);
    if let (Some(area), Some(open)) = (items_area, &ops.open) {
        super::lists::job_items(frame, area, app, open, theme);
    }
}

pub fn audit(frame: &mut Frame<'_>, area: Rect, app: &App, theme: &Theme) {
    let [filter, chain, table_area] = layout::audit_areas(area);
    search_bar(frame, filter, app, theme, "Filter");
    let open = app.audit.selected_row().filter(|_| app.audit.open);
    let chain_line = match &app.audit.verdict {
        None => Span::styled("chain: checking...", theme.muted),
        Some(v) if v.ok => {
            Span::styled(format!("chain: verified ({} records)", v.records), theme.ok)
        }
        // The store's problem names the record and why (hash, link, signature, cut tail).
        Some(v) => Span::styled(
            format!(
                "chain: BROKEN at record {}: {}",
                v.first_bad.map_or("?".to_string(), |n| n.to_string()),
                crate::app::shown(v.problem.as_deref().unwrap_or("no reason given"))
            ),
            theme.error,
        ),
    };
    frame.render_widget(Paragraph::new(Line::from(chain_line)), chain);
    if let Some(record) = open {
        super::lists::audit_record(frame, table_area, record, theme);
        return;
    }
    let compact = area.width < layout::COMPACT_WIDTH;
    let visible = layout::table_rows(table_area.height);
    let rows: Vec<Row> = app
        .audit
        .visible_rows()
        .enumerate()
        .skip(layout::list_offset(
            app.audit.top,
            app.audit.selected,
            visible,
            app.audit.shown(),
        ))
        .take(visible)
        .map(|(i, r)| {
            let style = if i == app.audit.selected {
                theme.selected
            } else {
                theme.normal
            };
            let mut cells = vec![
                Cell::from(r.seq.to_string()),
                Cell::from(if compact {
                    r.at[5..].to_string()
                } else {
                    r.at.clone()
                }),
                Cell::from(r.actor.clone()),
                Cell::from(r.action.clone()),
                Cell::from(fit(&r.target, 40)),
            ];
            if !compact {
                cells.push(Cell::from(r.reason.clone()));
            }
            cells.push(Cell::from(r.outcome.clone()));
            Row::new(cells).style(style)
        })
        .collect();
    let (header, widths): (Vec<&str>, Vec<Constraint>) = if compact {
        (
            vec!["#", "TIME", "ACTOR", "ACTION", "TARGET", "OUTCOME"],
            vec![
                Constraint::Length(4),
                Constraint::Length(11),
                Constraint::Length(8),
                Constraint::Length(12),
                Constraint::Min(10),
                Constraint::Length(10),
            ],
        )
    } else {
        (
            vec![
                "#", "TIME", "ACTOR", "ACTION", "TARGET", "REASON", "OUTCOME",
            ],
            vec![
                Constraint::Length(5),
                Constraint::Length(16),
                Constraint::Length(10),
                Constraint::Length(14),
                Constraint::Min(20),
                Constraint::Length(20),
                Constraint::Length(14),
            ],
        )
    };
    let table = Table::new(rows, widths)
        .header(Row::new(header).style(theme.title))
        .block(block(super::lists::audit_title(&app.audit), theme));
    frame.render_widget(table, table_area);
}
